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

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day).
/// The well-known era-based algorithm (H. Hinnant, "chrono-compatible
/// low-level date algorithms").
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

/// Writes a column in the cell encoding.
#[derive(Debug)]
pub struct Encoder {
    buf: Vec<u8>,
}

impl Default for Encoder {
    fn default() -> Self {
        Self::new()
    }
}

impl Encoder {
    /// An empty column (the version byte only).
    pub fn new() -> Self {
        Self::with_capacity(64)
    }

    /// An empty column with room for `bytes` bytes.
    pub fn with_capacity(bytes: usize) -> Self {
        let mut buf = Vec::with_capacity(bytes.max(1));
        buf.push(VERSION);
        Encoder { buf }
    }

    /// Append one cell.
    pub fn push(&mut self, cell: CellRef<'_>) {
        let b = &mut self.buf;
        match cell {
            CellRef::Null => b.push(NULL),
            CellRef::Int(v) => {
                b.push(INT);
                b.extend_from_slice(&v.to_le_bytes());
            }
            CellRef::UInt(v) => {
                b.push(UINT);
                b.extend_from_slice(&v.to_le_bytes());
            }
            CellRef::Double(v) => {
                b.push(DOUBLE);
                b.extend_from_slice(&v.to_le_bytes());
            }
            CellRef::Float(v) => {
                b.push(FLOAT);
                b.extend_from_slice(&v.to_le_bytes());
            }
            CellRef::Decimal(s) => push_bytes(b, DECIMAL, s.as_bytes()),
            CellRef::Text(s) => push_bytes(b, TEXT, s.as_bytes()),
            CellRef::Bytes(s) => push_bytes(b, BYTES, s),
            CellRef::Json(s) => push_bytes(b, JSON, s.as_bytes()),
            CellRef::Date(d) => {
                b.push(DATE);
                push_date(b, d);
            }
            CellRef::Time(t) => {
                b.push(TIME);
                b.push(u8::from(t.negative));
                b.extend_from_slice(&t.hours.to_le_bytes());
                b.extend_from_slice(&[t.minutes, t.seconds]);
                b.extend_from_slice(&t.micros.to_le_bytes());
            }
            CellRef::DateTime(t) => {
                b.push(DATETIME);
                push_date(b, t.date);
                b.extend_from_slice(&[t.hour, t.minute, t.second]);
                b.extend_from_slice(&t.micros.to_le_bytes());
            }
            CellRef::Timestamp(t) => {
                b.push(TIMESTAMP);
                b.extend_from_slice(&t.seconds.to_le_bytes());
                b.extend_from_slice(&t.micros.to_le_bytes());
            }
        }
    }

    /// Bytes written so far, version byte included; a cell pushed next
    /// starts here.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether no cell has been pushed yet.
    pub fn is_empty(&self) -> bool {
        self.buf.len() == 1
    }

    /// Forget the cells from byte `len` on (an offset [`Encoder::len`]
    /// returned): take back the last cells pushed.
    pub fn truncate(&mut self, len: usize) {
        self.buf.truncate(len.max(1));
    }

    /// Append cells that are already encoded: a run of whole cells cut
    /// from another column of this version (no version byte). The caller
    /// vouches for the bytes; a decoder still checks them.
    pub fn push_encoded(&mut self, cells: &[u8]) {
        self.buf.extend_from_slice(cells);
    }

    /// The encoded column.
    pub fn finish(self) -> Vec<u8> {
        self.buf
    }
}

fn push_bytes(b: &mut Vec<u8>, tag: u8, s: &[u8]) {
    b.push(tag);
    b.extend_from_slice(&(s.len() as u32).to_le_bytes());
    b.extend_from_slice(s);
}

fn push_date(b: &mut Vec<u8>, d: Date) {
    b.extend_from_slice(&d.year.to_le_bytes());
    b.extend_from_slice(&[d.month, d.day]);
}

/// Why an encoded column could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// The first byte is not a version this crate knows.
    Version(u8),
    /// A cell starts with an unknown tag at this byte offset.
    Tag { tag: u8, offset: usize },
    /// The buffer ends inside a cell that starts at this byte offset.
    Truncated { offset: usize },
    /// A TEXT, DECIMAL or JSON cell at this offset is not UTF-8.
    Utf8 { offset: usize },
    /// The column holds a different number of cells than expected.
    Count { expected: usize, found: usize },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Version(v) => write!(
                f,
                "cell encoding version {v} is not supported (this build reads version {VERSION})"
            ),
            DecodeError::Tag { tag, offset } => {
                write!(f, "unknown cell tag {tag} at byte {offset}")
            }
            DecodeError::Truncated { offset } => {
                write!(f, "cell at byte {offset} is cut short")
            }
            DecodeError::Utf8 { offset } => write!(f, "text cell at byte {offset} is not UTF-8"),
            DecodeError::Count { expected, found } => {
                write!(f, "expected {expected} cells, found {found}")
            }
        }
    }
}

impl std::error::Error for DecodeError {}

/// Reads the cells of an encoded column, front to back, without allocating.
#[derive(Clone, Debug)]
pub struct Decoder<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Decoder<'a> {
    /// Check the version byte and start reading.
    pub fn new(buf: &'a [u8]) -> Result<Self, DecodeError> {
        match buf.first() {
            Some(&VERSION) => Ok(Decoder { buf, pos: 1 }),
            Some(&v) => Err(DecodeError::Version(v)),
            None => Err(DecodeError::Truncated { offset: 0 }),
        }
    }

    #[inline]
    fn take(&mut self, n: usize, start: usize) -> Result<&'a [u8], DecodeError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or(DecodeError::Truncated { offset: start })?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    #[inline]
    fn array<const N: usize>(&mut self, start: usize) -> Result<[u8; N], DecodeError> {
        let s = self.take(N, start)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    #[inline]
    fn var(&mut self, start: usize) -> Result<&'a [u8], DecodeError> {
        let len = u32::from_le_bytes(self.array(start)?) as usize;
        self.take(len, start)
    }

    #[inline]
    fn str(&mut self, start: usize) -> Result<&'a str, DecodeError> {
        std::str::from_utf8(self.var(start)?).map_err(|_| DecodeError::Utf8 { offset: start })
    }

    fn date(&mut self, start: usize) -> Result<Date, DecodeError> {
        let [y0, y1, month, day] = self.array(start)?;
        Ok(Date {
            year: u16::from_le_bytes([y0, y1]),
            month,
            day,
        })
    }

    /// Byte offset of the next cell; with [`Decoder::resume`] a reader can
    /// come back to one cell without decoding the ones before it.
    #[inline]
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Continue reading `buf` at `pos`, an offset returned by
    /// [`Decoder::position`] on a decoder that checked the version.
    #[inline]
    pub fn resume(buf: &'a [u8], pos: usize) -> Self {
        Decoder { buf, pos }
    }

    /// The next cell, or `None` at the end of the column.
    #[inline]
    pub fn next_cell(&mut self) -> Result<Option<CellRef<'a>>, DecodeError> {
        let start = self.pos;
        let Some(&tag) = self.buf.get(self.pos) else {
            return Ok(None);
        };
        self.pos += 1;
        let cell = match tag {
            NULL => CellRef::Null,
            INT => CellRef::Int(i64::from_le_bytes(self.array(start)?)),
            UINT => CellRef::UInt(u64::from_le_bytes(self.array(start)?)),
            DOUBLE => CellRef::Double(f64::from_le_bytes(self.array(start)?)),
            FLOAT => CellRef::Float(f32::from_le_bytes(self.array(start)?)),
            DECIMAL => CellRef::Decimal(self.str(start)?),
            TEXT => CellRef::Text(self.str(start)?),
            BYTES => CellRef::Bytes(self.var(start)?),
            JSON => CellRef::Json(self.str(start)?),
            DATE => CellRef::Date(self.date(start)?),
            TIME => {
                let [neg, h0, h1, minutes, seconds] = self.array(start)?;
                CellRef::Time(Time {
                    negative: neg != 0,
                    hours: u16::from_le_bytes([h0, h1]),
                    minutes,
                    seconds,
                    micros: u32::from_le_bytes(self.array(start)?),
                })
            }
            DATETIME => {
                let date = self.date(start)?;
                let [hour, minute, second] = self.array(start)?;
                CellRef::DateTime(DateTime {
                    date,
                    hour,
                    minute,
                    second,
                    micros: u32::from_le_bytes(self.array(start)?),
                })
            }
            TIMESTAMP => CellRef::Timestamp(Timestamp {
                seconds: i64::from_le_bytes(self.array(start)?),
                micros: u32::from_le_bytes(self.array(start)?),
            }),
            tag => return Err(DecodeError::Tag { tag, offset: start }),
        };
        Ok(Some(cell))
    }

    /// Step over the next cell without reading it; false at the end of the
    /// column. Tags and lengths are checked as [`Decoder::next_cell`]
    /// checks them, text is not checked for UTF-8 (reading the cell does
    /// that), so finding where each cell starts costs one step per cell.
    #[inline]
    pub fn skip_cell(&mut self) -> Result<bool, DecodeError> {
        let start = self.pos;
        let Some(&tag) = self.buf.get(self.pos) else {
            return Ok(false);
        };
        self.pos += 1;
        let size = match tag {
            NULL => 0,
            INT | UINT | DOUBLE => 8,
            FLOAT | DATE => 4,
            TIME => 9,
            DATETIME => 11,
            TIMESTAMP => 12,
            DECIMAL | TEXT | BYTES | JSON => {
                self.var(start)?;
                return Ok(true);
            }
            tag => return Err(DecodeError::Tag { tag, offset: start }),
        };
        self.take(size, start)?;
        Ok(true)
    }

    /// Decode exactly `expected` cells into `out` (cleared first).
    pub fn read_all(
        mut self,
        expected: usize,
        out: &mut Vec<CellRef<'a>>,
    ) -> Result<(), DecodeError> {
        out.clear();
        out.reserve(expected);
        while let Some(cell) = self.next_cell()? {
            out.push(cell);
        }
        if out.len() != expected {
            return Err(DecodeError::Count {
                expected,
                found: out.len(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip_through_utc_calendar_time() {
        for seconds in [
            0,
            1,
            86_399,
            951_782_400,
            1_700_000_000,
            2_147_483_647,
            4_102_444_800,
        ] {
            let ts = Timestamp {
                seconds,
                micros: 123_456,
            };
            assert_eq!(Timestamp::from_utc(ts.to_utc()), ts, "{seconds}");
        }
        let leap = DateTime {
            date: Date {
                year: 2024,
                month: 2,
                day: 29,
            },
            hour: 12,
            minute: 0,
            second: 0,
            micros: 0,
        };
        assert_eq!(Timestamp::from_utc(leap).seconds, 1_709_208_000);
    }

    fn sample() -> Vec<Value> {
        vec![
            Value::Null,
            Value::Int(i64::MIN),
            Value::UInt(u64::MAX),
            Value::Double(-0.5),
            Value::Float(1.25),
            Value::Decimal("-12345678901234567890.1234567890".into()),
            Value::Text("héllo 🐟".into()),
            Value::Bytes(vec![0, 0xff, 0, 0]),
            Value::Date(Date {
                year: 0,
                month: 0,
                day: 0,
            }),
            Value::Time(Time {
                negative: true,
                hours: 838,
                minutes: 59,
                seconds: 59,
                micros: 0,
            }),
            Value::DateTime(DateTime {
                date: Date {
                    year: 9999,
                    month: 12,
                    day: 31,
                },
                hour: 23,
                minute: 59,
                second: 59,
                micros: 999_999,
            }),
            Value::Timestamp(Timestamp {
                seconds: 2_147_483_647,
                micros: 1,
            }),
            Value::Json("{\"a\":[1,2]}".into()),
        ]
    }

    #[test]
    fn every_value_survives_a_round_trip() {
        let values = sample();
        let mut enc = Encoder::new();
        for v in &values {
            enc.push(v.as_cell());
        }
        let bytes = enc.finish();
        let mut cells = Vec::new();
        Decoder::new(&bytes)
            .unwrap()
            .read_all(values.len(), &mut cells)
            .unwrap();
        let back: Vec<Value> = cells.iter().map(CellRef::to_value).collect();
        assert_eq!(back, values);
    }

    #[test]
    fn a_wrong_version_a_bad_tag_and_a_short_buffer_are_refused() {
        assert_eq!(Decoder::new(&[2]).unwrap_err(), DecodeError::Version(2));
        let mut d = Decoder::new(&[VERSION, 99]).unwrap();
        assert_eq!(
            d.next_cell().unwrap_err(),
            DecodeError::Tag { tag: 99, offset: 1 }
        );
        let mut d = Decoder::new(&[VERSION, INT, 1, 2]).unwrap();
        assert_eq!(
            d.next_cell().unwrap_err(),
            DecodeError::Truncated { offset: 1 }
        );
        let mut out = Vec::new();
        let err = Decoder::new(&[VERSION, NULL])
            .unwrap()
            .read_all(2, &mut out)
            .unwrap_err();
        assert_eq!(
            err,
            DecodeError::Count {
                expected: 2,
                found: 1
            }
        );
    }

    #[test]
    fn assign_makes_a_value_equal_to_any_cell() {
        let cells = sample();
        for from in &cells {
            for to in &cells {
                let mut v = from.clone();
                v.assign(to.as_cell());
                assert_eq!(&v, to, "{from:?} assigned {to:?}");
            }
        }
    }

    #[test]
    fn encoded_runs_copy_and_the_last_cells_can_be_taken_back() {
        let cells = sample();
        let mut whole = Encoder::new();
        let mut starts = Vec::new();
        for v in &cells {
            starts.push(whole.len());
            whole.push(v.as_cell());
        }
        let whole = whole.finish();
        // Copy the middle as raw bytes, push a cell and take it back.
        let mut e = Encoder::new();
        e.push(cells[0].as_cell());
        e.push_encoded(&whole[starts[1]..starts[cells.len() - 1]]);
        let at = e.len();
        e.push(Value::Text("taken back".into()).as_cell());
        e.truncate(at);
        e.push(cells[cells.len() - 1].as_cell());
        assert_eq!(e.finish(), whole);
    }

    #[test]
    fn skipping_a_cell_steps_exactly_over_what_reading_it_reads() {
        let mut e = Encoder::new();
        sample().iter().for_each(|v| e.push(v.as_cell()));
        let bytes = e.finish();
        let (mut read, mut skip) = (Decoder::new(&bytes).unwrap(), Decoder::new(&bytes).unwrap());
        while read.next_cell().unwrap().is_some() {
            assert!(skip.skip_cell().unwrap());
            assert_eq!(skip.position(), read.position());
        }
        assert!(!skip.skip_cell().unwrap());
        for cut in 1..bytes.len() {
            let mut d = Decoder::new(&bytes[..cut]).unwrap();
            let mut r = Decoder::new(&bytes[..cut]).unwrap();
            loop {
                let (s, n) = (d.skip_cell(), r.next_cell());
                assert_eq!(s.is_err(), n.is_err(), "cut at {cut}");
                if !matches!(s, Ok(true)) {
                    break;
                }
            }
        }
    }

    #[test]
    fn values_print_like_sql_literals() {
        assert_eq!(Value::Text("it's".into()).to_string(), "'it''s'");
        assert_eq!(Value::Bytes(vec![0xca, 0xfe]).to_string(), "0xCAFE");
        assert_eq!(Value::Null.to_string(), "NULL");
        assert_eq!(Value::Int(-3).to_string(), "-3");
    }

    #[test]
    fn timestamps_convert_to_utc_calendar_time() {
        let t = Timestamp {
            seconds: 951_782_400,
            micros: 5,
        }; // 2000-02-29
        assert_eq!(t.to_string(), "2000-02-29 00:00:00.000005");
        let t = Timestamp {
            seconds: 2_147_483_647,
            micros: 0,
        };
        assert_eq!(t.to_string(), "2038-01-19 03:14:07.000000");
        assert_eq!(
            Timestamp {
                seconds: 0,
                micros: 0
            }
            .to_string(),
            "0000-00-00 00:00:00.000000"
        );
    }
}
