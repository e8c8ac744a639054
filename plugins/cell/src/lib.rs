//! The Sluice value model and its cell encoding.
//!
//! This crate is shared by the engine (host) and the guest SDK, so both sides
//! of the plugin boundary agree on every byte without a second definition.
//!
//! # Why a cell encoding
//! Copying a WIT `list<value>` into a guest costs one allocation per string
//! and ~15-20 ns per value (DESIGN.md, ABI note). A plugin instead fetches a
//! whole column as one `list<u8>`: a version byte, then one cell per row.
//! Decoding is a forward scan with no allocation (`CellRef` borrows from the
//! buffer).
//!
//! # Format, version 1
//! ```text
//! column := VERSION(u8 = 1) cell*
//! cell   := tag(u8) payload
//!   0 NULL        -
//!   1 INT         i64 LE
//!   2 UINT        u64 LE
//!   3 DOUBLE      f64 LE
//!   4 FLOAT       f32 LE
//!   5 DECIMAL     len(u32 LE) ascii      exact decimal text, e.g. "-12.50"
//!   6 TEXT        len(u32 LE) utf8
//!   7 BYTES       len(u32 LE) bytes
//!   8 DATE        year(u16) month(u8) day(u8)
//!   9 TIME        negative(u8) hours(u16) minutes(u8) seconds(u8) micros(u32)
//!  10 DATETIME    year(u16) month(u8) day(u8) hour(u8) minute(u8) second(u8) micros(u32)
//!  11 TIMESTAMP   seconds since the epoch, UTC (i64) micros(u32)
//!  12 JSON        len(u32 LE) utf8
//! ```
//! All integers are little-endian. A decoder must reject any other version
//! byte or tag: the encoding is part of the plugin ABI.
#![forbid(unsafe_code)]

use std::fmt;

mod decode;
mod encode;
#[cfg(test)]
mod tests;

pub use decode::{DecodeError, Decoder};
pub use encode::Encoder;

/// Op codes: how the plugin interface says what happened to a row.
pub mod op {
    pub const INSERT: u8 = 0;
    pub const UPDATE: u8 = 1;
    pub const DELETE: u8 = 2;
}

/// The encoding version this crate reads and writes.
pub const VERSION: u8 = 1;

const NULL: u8 = 0;
const INT: u8 = 1;
const UINT: u8 = 2;
const DOUBLE: u8 = 3;
const FLOAT: u8 = 4;
const DECIMAL: u8 = 5;
const TEXT: u8 = 6;
const BYTES: u8 = 7;
const DATE: u8 = 8;
const TIME: u8 = 9;
const DATETIME: u8 = 10;
const TIMESTAMP: u8 = 11;
const JSON: u8 = 12;

/// A calendar date as MySQL stores it; the zero date is `0000-00-00`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Date {
    pub year: u16,
    pub month: u8,
    pub day: u8,
}

/// A MySQL TIME: a signed duration up to 838:59:59.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Time {
    pub negative: bool,
    pub hours: u16,
    pub minutes: u8,
    pub seconds: u8,
    pub micros: u32,
}

/// A MySQL DATETIME (no time zone).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DateTime {
    pub date: Date,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
    pub micros: u32,
}

/// A MySQL TIMESTAMP: an instant, seconds and microseconds since the epoch
/// (UTC), exactly as the binlog carries it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timestamp {
    pub seconds: i64,
    pub micros: u32,
}

/// One cell, owned. This is the engine's value model.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    UInt(u64),
    Double(f64),
    Float(f32),
    /// Exact decimal text; never converted through a float.
    Decimal(String),
    Text(String),
    Bytes(Vec<u8>),
    Date(Date),
    Time(Time),
    DateTime(DateTime),
    Timestamp(Timestamp),
    Json(String),
}

/// One cell, borrowed from an encoded column.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum CellRef<'a> {
    Null,
    Int(i64),
    UInt(u64),
    Double(f64),
    Float(f32),
    Decimal(&'a str),
    Text(&'a str),
    Bytes(&'a [u8]),
    Date(Date),
    Time(Time),
    DateTime(DateTime),
    Timestamp(Timestamp),
    Json(&'a str),
}

impl Value {
    /// Borrow this value as a cell.
    pub fn as_cell(&self) -> CellRef<'_> {
        match self {
            Value::Null => CellRef::Null,
            Value::Int(v) => CellRef::Int(*v),
            Value::UInt(v) => CellRef::UInt(*v),
            Value::Double(v) => CellRef::Double(*v),
            Value::Float(v) => CellRef::Float(*v),
            Value::Decimal(v) => CellRef::Decimal(v),
            Value::Text(v) => CellRef::Text(v),
            Value::Bytes(v) => CellRef::Bytes(v),
            Value::Date(v) => CellRef::Date(*v),
            Value::Time(v) => CellRef::Time(*v),
            Value::DateTime(v) => CellRef::DateTime(*v),
            Value::Timestamp(v) => CellRef::Timestamp(*v),
            Value::Json(v) => CellRef::Json(v),
        }
    }

    /// Whether this is SQL NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Make this value equal to `cell`, reusing this value's text or byte
    /// buffer when both are of the same kind, so replacing a column of
    /// strings allocates nothing when the new ones fit.
    pub fn assign(&mut self, cell: CellRef<'_>) {
        match (&mut *self, cell) {
            (Value::Text(s), CellRef::Text(t))
            | (Value::Decimal(s), CellRef::Decimal(t))
            | (Value::Json(s), CellRef::Json(t)) => {
                if s != t {
                    s.clear();
                    s.push_str(t);
                }
            }
            (Value::Bytes(b), CellRef::Bytes(t)) => {
                if b != t {
                    b.clear();
                    b.extend_from_slice(t);
                }
            }
            (slot, cell) => *slot = cell.to_value(),
        }
    }
}

impl CellRef<'_> {
    /// Copy this cell into an owned value.
    pub fn to_value(&self) -> Value {
        match *self {
            CellRef::Null => Value::Null,
            CellRef::Int(v) => Value::Int(v),
            CellRef::UInt(v) => Value::UInt(v),
            CellRef::Double(v) => Value::Double(v),
            CellRef::Float(v) => Value::Float(v),
            CellRef::Decimal(v) => Value::Decimal(v.to_owned()),
            CellRef::Text(v) => Value::Text(v.to_owned()),
            CellRef::Bytes(v) => Value::Bytes(v.to_owned()),
            CellRef::Date(v) => Value::Date(v),
            CellRef::Time(v) => Value::Time(v),
            CellRef::DateTime(v) => Value::DateTime(v),
            CellRef::Timestamp(v) => Value::Timestamp(v),
            CellRef::Json(v) => Value::Json(v.to_owned()),
        }
    }

    /// The text of a TEXT, DECIMAL or JSON cell.
    pub fn as_str(&self) -> Option<&str> {
        match *self {
            CellRef::Text(s) | CellRef::Decimal(s) | CellRef::Json(s) => Some(s),
            _ => None,
        }
    }

    /// Whether this is SQL NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, CellRef::Null)
    }
}

/// SQL-literal-like text, for messages: `NULL`, `42`, `'text'`, `0xCAFE`.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("NULL"),
            Value::Int(v) => write!(f, "{v}"),
            Value::UInt(v) => write!(f, "{v}"),
            Value::Double(v) => write!(f, "{v}"),
            Value::Float(v) => write!(f, "{v}"),
            Value::Decimal(v) => f.write_str(v),
            Value::Text(v) | Value::Json(v) => write!(f, "'{}'", v.replace('\'', "''")),
            Value::Bytes(v) => {
                f.write_str("0x")?;
                v.iter().try_for_each(|b| write!(f, "{b:02X}"))
            }
            Value::Date(v) => write!(f, "'{v}'"),
            Value::Time(v) => write!(f, "'{v}'"),
            Value::DateTime(v) => write!(f, "'{v}'"),
            Value::Timestamp(v) => write!(f, "'{v}'"),
        }
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.negative { "-" } else { "" };
        write!(
            f,
            "{sign}{:02}:{:02}:{:02}.{:06}",
            self.hours, self.minutes, self.seconds, self.micros
        )
    }
}

impl fmt::Display for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {:02}:{:02}:{:02}.{:06}",
            self.date, self.hour, self.minute, self.second, self.micros
        )
    }
}

impl Timestamp {
    /// The instant a UTC calendar time names (the inverse of [`to_utc`]).
    ///
    /// [`to_utc`]: Timestamp::to_utc
    pub fn from_utc(t: DateTime) -> Timestamp {
        let days = days_from_civil(i64::from(t.date.year), t.date.month, t.date.day);
        Timestamp {
            seconds: days * 86_400
                + i64::from(t.hour) * 3600
                + i64::from(t.minute) * 60
                + i64::from(t.second),
            micros: t.micros,
        }
    }

    /// The same instant as a UTC calendar time.
    pub fn to_utc(self) -> DateTime {
        let days = self.seconds.div_euclid(86_400);
        let secs = self.seconds.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        DateTime {
            date: Date {
                year: year as u16,
                month,
                day,
            },
            hour: (secs / 3600) as u8,
            minute: (secs % 3600 / 60) as u8,
            second: (secs % 60) as u8,
            micros: self.micros,
        }
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The zero TIMESTAMP is stored as 0 seconds; MySQL shows it as the
        // zero datetime, not as 1970-01-01.
        if self.seconds == 0 && self.micros == 0 {
            return f.write_str("0000-00-00 00:00:00.000000");
        }
        self.to_utc().fmt(f)
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (the inverse of
/// `civil_from_days`).
fn days_from_civil(year: i64, month: u8, day: u8) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day).
/// The well-known era-based algorithm (H. Hinnant, "chrono-compatible
/// low-level date algorithms").
fn civil_from_days(days: i64) -> (i64, u8, u8) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}
