//! From TABLE_MAP and row events to typed [`RowChange`]s.
//!
//! # Why this is exact
//! Column names, signedness, charsets, ENUM/SET labels and the primary key
//! come from the TABLE_MAP optional metadata, which the server writes only
//! with `binlog_row_metadata=FULL` (checked at start-up, and again here: a
//! table map without column names is an error, never a guess).
//!
//! Row images are read by `rows` (each column's layout worked out once per
//! table map), or, for tables with a column type it does not read, by
//! `mysql_common`; both give `mysql_common` values, which need these
//! fix-ups (measured, DESIGN.md binlog note), all applied here in one place:
//! * signed MEDIUMINT: sign-extend 24 bits when it arrives unsigned;
//! * YEAR: arrives as the text `1900 + byte`; the byte 0 means year 0;
//! * BINARY(n): trailing zero bytes are stripped by the server; pad to n;
//! * ENUM/SET: arrive as index/bitmask; map through the metadata labels;
//! * DECIMAL and TIMESTAMP arrive as text; they become exact typed values;
//! * text needs the column charset: utf8/ascii/latin1 become `Text`, binary
//!   stays `Bytes`, and any other charset is a definite error (never
//!   mis-decoded silently).
//!
//! A decoder is cached per table id; the raw table map bytes are compared so
//! a changed definition under a reused id is never decoded with stale
//! columns.

use std::collections::HashMap;
use std::sync::Arc;

use mysql_async::Value as MyValue;
use mysql_async::binlog::events::{RowsEventData, TableMapEvent};
use mysql_async::binlog::row::BinlogRow;
use mysql_async::binlog::value::BinlogValue;
use mysql_async::consts::ColumnType;
use sluice_cell::{Date, DateTime, Time, Timestamp};

use super::facts::Facts;
use super::rows::{self, Layout};
use super::shape::TableShape;
use crate::change::{Op, RowChange, TableSchema, Value};

/// The character sets the engine can turn into text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Charset {
    /// utf8mb3, utf8mb4 and ascii: the bytes are UTF-8 already.
    Utf8,
    /// MySQL's latin1, which is Windows-1252.
    Latin1,
    /// binary: the bytes are the value.
    Binary,
}

impl Charset {
    /// The character set of this name (`information_schema` spelling).
    pub(super) fn named(name: &str, column: &str) -> Result<Charset, String> {
        match name {
            "utf8mb4" | "utf8mb3" | "utf8" | "ascii" => Ok(Charset::Utf8),
            "latin1" => Ok(Charset::Latin1),
            "binary" => Ok(Charset::Binary),
            other => Err(format!(
                "column `{column}` uses character set {other}, which Sluice cannot decode yet; convert it to utf8mb4"
            )),
        }
    }
}

/// Collation id -> character set, read from the source server's
/// `information_schema.COLLATIONS` at connect time.
#[derive(Clone, Debug, Default)]
pub struct Collations {
    names: HashMap<u16, String>,
}

impl Collations {
    pub fn new(rows: impl IntoIterator<Item = (u16, String)>) -> Self {
        Collations {
            names: rows.into_iter().collect(),
        }
    }

    pub(super) fn charset(&self, id: u16, column: &str) -> Result<Charset, String> {
        match self.names.get(&id) {
            Some(name) => Charset::named(name, column),
            None => Err(format!(
                "column `{column}` uses collation id {id}, unknown to the source server"
            )),
        }
    }
}

/// How one column's `mysql_common` value becomes a Sluice value.
#[derive(Clone, Debug)]
enum Kind {
    /// Integers and floats as they come.
    Number,
    /// Signed MEDIUMINT: sign-extend from 24 bits.
    SignedMedium,
    Year,
    Decimal,
    /// TIMESTAMP / TIMESTAMP2: seconds (and micros) since the epoch.
    Timestamp,
    Date,
    DateTime,
    Time,
    Bit,
    Enum(Vec<String>),
    Set(Vec<String>),
    /// CHAR/VARCHAR/TEXT in a text charset.
    Text(Charset),
    /// BINARY(n): pad to n bytes.
    FixedBinary(usize),
    /// VARBINARY, BLOB, GEOMETRY.
    Bytes,
    Json,
}

/// Decodes the rows of one table, as described by one table map.
#[derive(Debug)]
pub struct TableDecoder {
    pub schema: Arc<TableSchema>,
    raw: Vec<u8>,
    kinds: Vec<Kind>,
    /// Every column's byte layout, when `rows` reads them all.
    layouts: Option<Vec<Layout>>,
}

impl TableDecoder {
    /// Build from a table map. `raw` is the event body, kept to notice a
    /// changed definition under the same table id. The column facts come
    /// from the table map's metadata, or, when it carries none, from
    /// `shape` (the schema history), which the table map is checked
    /// against first. With both, the metadata wins and must agree.
    pub fn new(
        tme: &TableMapEvent<'_>,
        raw: &[u8],
        collations: &Collations,
        shape: Option<&TableShape>,
    ) -> Result<Self, String> {
        let database = tme.database_name().into_owned();
        let table = tme.table_name().into_owned();
        let n = tme.columns_count() as usize;
        let facts = match (Facts::from_metadata(tme, collations)?, shape) {
            (Some(f), Some(s)) => {
                f.agrees_with(s, tme)?;
                f
            }
            (Some(f), None) => f,
            (None, Some(s)) => {
                s.check(tme)?;
                Facts::from_shape(s, tme)?
            }
            (None, None) => {
                return Err(format!(
                    "the table map of {database}.{table} carries no column names (the server has no binlog_row_metadata=FULL) and Sluice has no schema history for the table; set binlog_row_metadata=FULL on the source (MySQL 8.0.1+, MariaDB 10.5+)"
                ));
            }
        };
        let Facts {
            columns,
            key,
            unsigned,
            charsets,
            mut labels,
        } = facts;
        let mut kinds = Vec::with_capacity(n);
        let mut layouts = Some(Vec::with_capacity(n));
        for (i, name) in columns.iter().enumerate() {
            let ty = tme
                .get_column_type(i)
                .map_err(|e| format!("column `{name}` of {database}.{table}: {e}"))?
                .ok_or_else(|| format!("column `{name}` of {database}.{table} has no type"))?;
            let col_meta = tme.get_column_metadata(i).unwrap_or(&[]);
            // mysql_common indexes the metadata without checking its length
            // (a panic, found by the binlog fuzz target): a table map whose
            // metadata is short for its column type is refused here.
            let needs = metadata_bytes(ty);
            if col_meta.len() < needs {
                return Err(format!(
                    "the table map of {database}.{table} is malformed: column `{name}` of type {ty:?} has {} metadata bytes, and the type needs {needs}",
                    col_meta.len()
                ));
            }
            // DECIMAL(precision, scale): MySQL allows 1..=65 digits, scale up
            // to 30 and at most the precision; mysql_common's size
            // arithmetic overflows otherwise (found by the fuzz target).
            if ty == ColumnType::MYSQL_TYPE_NEWDECIMAL
                && (!(1..=65).contains(&col_meta[0])
                    || col_meta[1] > 30
                    || col_meta[1] > col_meta[0])
            {
                return Err(format!(
                    "the table map of {database}.{table} is malformed: column `{name}` is DECIMAL({}, {}), which no server writes",
                    col_meta[0], col_meta[1]
                ));
            }
            let (unsigned, charset) = (unsigned[i], charsets[i]);
            let layout = Layout::of(ty, col_meta, unsigned);
            layouts = layouts.and_then(|mut l| {
                l.push(layout?);
                Some(l)
            });
            let mut labels = || {
                labels[i]
                    .take()
                    .ok_or_else(|| format!("ENUM/SET column `{name}` of {database}.{table} has no labels in the table map"))
            };
            use ColumnType::*;
            let kind = match ty {
                MYSQL_TYPE_INT24 if !unsigned => Kind::SignedMedium,
                MYSQL_TYPE_TINY | MYSQL_TYPE_SHORT | MYSQL_TYPE_INT24 | MYSQL_TYPE_LONG
                | MYSQL_TYPE_LONGLONG | MYSQL_TYPE_FLOAT | MYSQL_TYPE_DOUBLE => Kind::Number,
                MYSQL_TYPE_YEAR => Kind::Year,
                MYSQL_TYPE_NEWDECIMAL => Kind::Decimal,
                MYSQL_TYPE_TIMESTAMP | MYSQL_TYPE_TIMESTAMP2 => Kind::Timestamp,
                MYSQL_TYPE_DATE | MYSQL_TYPE_NEWDATE => Kind::Date,
                MYSQL_TYPE_DATETIME | MYSQL_TYPE_DATETIME2 => Kind::DateTime,
                MYSQL_TYPE_TIME | MYSQL_TYPE_TIME2 => Kind::Time,
                MYSQL_TYPE_BIT => Kind::Bit,
                MYSQL_TYPE_ENUM => Kind::Enum(labels()?),
                MYSQL_TYPE_SET => Kind::Set(labels()?),
                MYSQL_TYPE_JSON => Kind::Json,
                MYSQL_TYPE_STRING => match charset {
                    Some(Charset::Binary) => Kind::FixedBinary(string_length(col_meta)),
                    Some(cs) => Kind::Text(cs),
                    None => Kind::Bytes,
                },
                MYSQL_TYPE_VARCHAR
                | MYSQL_TYPE_VAR_STRING
                | MYSQL_TYPE_BLOB
                | MYSQL_TYPE_TINY_BLOB
                | MYSQL_TYPE_MEDIUM_BLOB
                | MYSQL_TYPE_LONG_BLOB => match charset {
                    Some(Charset::Binary) | None => Kind::Bytes,
                    Some(cs) => Kind::Text(cs),
                },
                MYSQL_TYPE_GEOMETRY => Kind::Bytes,
                other => {
                    return Err(format!(
                        "column `{name}` of {database}.{table} has type {other:?}, which Sluice cannot decode"
                    ));
                }
            };
            kinds.push(kind);
        }
        Ok(TableDecoder {
            schema: Arc::new(TableSchema {
                database,
                table,
                columns,
                key,
                target_table: None,
            }),
            raw: raw.to_vec(),
            kinds,
            layouts,
        })
    }

    /// This decoder reading rows through `mysql_common` only, to compare
    /// the two paths.
    #[cfg(test)]
    pub fn general(mut self) -> Self {
        self.layouts = None;
        self
    }

    /// Whether rows are read through the layouts (`rows`).
    #[cfg(test)]
    pub fn is_direct(&self) -> bool {
        self.layouts.is_some()
    }

    /// Whether this decoder was built from exactly these table map bytes.
    pub fn is_for(&self, raw: &[u8]) -> bool {
        self.raw == raw
    }

    /// Decode every row of a rows event into `out`.
    pub fn decode_rows(
        &self,
        ev: &RowsEventData<'_>,
        tme: &TableMapEvent<'_>,
        out: &mut Vec<RowChange>,
    ) -> Result<(), String> {
        let op = match ev {
            RowsEventData::WriteRowsEvent(_) | RowsEventData::WriteRowsEventV1(_) => Op::Insert,
            RowsEventData::UpdateRowsEvent(_) | RowsEventData::UpdateRowsEventV1(_) => Op::Update,
            RowsEventData::DeleteRowsEvent(_) | RowsEventData::DeleteRowsEventV1(_) => Op::Delete,
            RowsEventData::PartialUpdateRowsEvent(_) => {
                return Err("partial JSON update rows are not supported; set binlog_row_value_options='' on the source".into());
            }
        };
        if let Some(layouts) = &self.layouts {
            return self.decode_direct(ev, layouts, op, out);
        }
        // The general path reads values with mysql_common, which panics
        // (overflows) on some malformed values (found by the binlog fuzz
        // target); a panic there is a bad row, not a dead source task.
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            for row in ev.rows(tme) {
                let (before, after) = row.map_err(|e| {
                    format!("row of {}.{}: {e}", self.schema.database, self.schema.table)
                })?;
                let before = before.map(|r| self.image(r)).transpose()?;
                let after = after.map(|r| self.image(r)).transpose()?;
                out.push(RowChange { op, before, after });
            }
            Ok(())
        }))
        .unwrap_or_else(|_| {
            Err(format!(
                "row of {}.{}: a value cannot be decoded (malformed row image)",
                self.schema.database, self.schema.table
            ))
        })
    }

    /// `decode_rows` through the layouts (`rows`).
    fn decode_direct(
        &self,
        ev: &RowsEventData<'_>,
        layouts: &[Layout],
        op: Op,
        out: &mut Vec<RowChange>,
    ) -> Result<(), String> {
        let (before, after) = (ev.columns_before_image(), ev.columns_after_image());
        for cols in [before, after].into_iter().flatten() {
            let present = cols.count_ones();
            if ev.num_columns() as usize != layouts.len() || present != layouts.len() {
                return Err(self.not_full(present));
            }
        }
        let data = ev.rows_data();
        let mut at = 0;
        while at < data.len() {
            let before = match before {
                Some(_) => Some(self.direct_image(data, &mut at, layouts)?),
                None => None,
            };
            let after = match after {
                Some(_) => Some(self.direct_image(data, &mut at, layouts)?),
                None => None,
            };
            out.push(RowChange { op, before, after });
        }
        Ok(())
    }

    /// One row image: the NULL bitmap, then each non-NULL value.
    fn direct_image(
        &self,
        data: &[u8],
        at: &mut usize,
        layouts: &[Layout],
    ) -> Result<Vec<Value>, String> {
        let where_ = || format!("{}.{}", self.schema.database, self.schema.table);
        let nulls = rows::take(data, at, layouts.len().div_ceil(8))
            .map_err(|e| format!("row of {}: {e}", where_()))?;
        let mut image = Vec::with_capacity(layouts.len());
        for (i, (layout, kind)) in layouts.iter().zip(&self.kinds).enumerate() {
            if nulls[i / 8] & (1 << (i % 8)) != 0 {
                image.push(Value::Null);
                continue;
            }
            let v = layout.read(data, at).and_then(|r| match r {
                rows::Read::Final(v) => Ok(v),
                rows::Read::Mysql(v) => convert(BinlogValue::Value(v), kind),
            });
            image.push(v.map_err(|e| {
                format!("column `{}` of {}: {e}", self.schema.columns[i], where_())
            })?);
        }
        Ok(image)
    }

    fn not_full(&self, present: usize) -> String {
        format!(
            "a row image of {}.{} has {present} of {} columns; set binlog_row_image=FULL on the source",
            self.schema.database,
            self.schema.table,
            self.kinds.len()
        )
    }

    fn image(&self, row: BinlogRow) -> Result<Vec<Value>, String> {
        if row.len() != self.kinds.len() {
            return Err(self.not_full(row.len()));
        }
        row.unwrap()
            .into_iter()
            .zip(&self.kinds)
            .zip(&self.schema.columns)
            .map(|((v, kind), name)| {
                convert(v, kind).map_err(|e| {
                    format!(
                        "column `{name}` of {}.{}: {e}",
                        self.schema.database, self.schema.table
                    )
                })
            })
            .collect()
    }
}

/// Declared byte length of a CHAR/BINARY column from its table map
/// metadata, packed as mysql_common reads it (the real type's high bits
/// carry the length's bits 8-9; a zero first byte means a plain u16).
pub(super) fn string_length(meta: &[u8]) -> usize {
    match meta {
        [0, b1, ..] => usize::from(*b1) << 8,
        [b0, b1, ..] if (b0 & 0x30) != 0x30 => {
            *b1 as usize | ((((*b0 & 0x30) ^ 0x30) as usize) << 4)
        }
        [_, b1, ..] => *b1 as usize,
        _ => 0,
    }
}

/// Table-map metadata bytes a column type has (MySQL's
/// `Table_map_log_event` layout), which the value readers index.
fn metadata_bytes(ty: ColumnType) -> usize {
    use ColumnType::*;
    match ty {
        MYSQL_TYPE_VARCHAR
        | MYSQL_TYPE_VAR_STRING
        | MYSQL_TYPE_STRING
        | MYSQL_TYPE_NEWDECIMAL
        | MYSQL_TYPE_BIT
        | MYSQL_TYPE_ENUM
        | MYSQL_TYPE_SET => 2,
        MYSQL_TYPE_TINY_BLOB
        | MYSQL_TYPE_MEDIUM_BLOB
        | MYSQL_TYPE_LONG_BLOB
        | MYSQL_TYPE_BLOB
        | MYSQL_TYPE_GEOMETRY
        | MYSQL_TYPE_JSON
        | MYSQL_TYPE_VECTOR
        | MYSQL_TYPE_FLOAT
        | MYSQL_TYPE_DOUBLE
        | MYSQL_TYPE_TIMESTAMP2
        | MYSQL_TYPE_DATETIME2
        | MYSQL_TYPE_TIME2 => 1,
        _ => 0,
    }
}

fn convert(v: BinlogValue<'_>, kind: &Kind) -> Result<Value, String> {
    let v = match v {
        BinlogValue::Value(v) => v,
        BinlogValue::Jsonb(_) => {
            return match MyValue::try_from(v).map_err(|e| e.to_string())? {
                MyValue::Bytes(b) => String::from_utf8(b)
                    .map(Value::Json)
                    .map_err(|_| "JSON is not UTF-8".to_string()),
                other => Err(format!("unexpected JSON value {other:?}")),
            };
        }
        BinlogValue::JsonDiff(_) => return Err("partial JSON updates are not supported".into()),
    };
    Ok(match (v, kind) {
        (MyValue::NULL, _) => Value::Null,
        (MyValue::Int(i), Kind::SignedMedium) if i >= 0x80_0000 => Value::Int(i - 0x100_0000),
        (MyValue::Int(i), Kind::Number | Kind::SignedMedium) => Value::Int(i),
        (MyValue::UInt(u), Kind::Number) => Value::UInt(u),
        (MyValue::Float(f), Kind::Number) => Value::Float(f),
        (MyValue::Double(f), Kind::Number) => Value::Double(f),
        (MyValue::Bytes(b), Kind::Year) => {
            let y: i64 = std::str::from_utf8(&b)
                .ok()
                .and_then(|s| s.parse().ok())
                .ok_or("bad YEAR")?;
            Value::Int(if y == 1900 { 0 } else { y })
        }
        (MyValue::Bytes(b), Kind::Decimal) => {
            Value::Decimal(String::from_utf8(b).map_err(|_| "bad DECIMAL")?)
        }
        (MyValue::Int(secs), Kind::Timestamp) => Value::Timestamp(Timestamp {
            seconds: secs,
            micros: 0,
        }),
        (MyValue::Bytes(b), Kind::Timestamp) => {
            let s = std::str::from_utf8(&b).map_err(|_| "bad TIMESTAMP")?;
            let (secs, micros) = s.split_once('.').unwrap_or((s, "0"));
            Value::Timestamp(Timestamp {
                seconds: secs.parse().map_err(|_| "bad TIMESTAMP seconds")?,
                micros: micros.parse().map_err(|_| "bad TIMESTAMP micros")?,
            })
        }
        (MyValue::Date(year, month, day, ..), Kind::Date) => Value::Date(Date { year, month, day }),
        (MyValue::Date(year, month, day, hour, minute, second, micros), Kind::DateTime) => {
            Value::DateTime(DateTime {
                date: Date { year, month, day },
                hour,
                minute,
                second,
                micros,
            })
        }
        (MyValue::Time(negative, days, h, minutes, seconds, micros), Kind::Time) => {
            Value::Time(Time {
                negative,
                hours: (days * 24 + h as u32) as u16,
                minutes,
                seconds,
                micros,
            })
        }
        (MyValue::Bytes(b), Kind::Bit | Kind::Bytes) => Value::Bytes(b),
        (MyValue::Bytes(mut b), Kind::FixedBinary(n)) => {
            if b.len() < *n {
                b.resize(*n, 0);
            }
            Value::Bytes(b)
        }
        (MyValue::Bytes(b), Kind::Text(cs)) => Value::Text(text(b, *cs)?),
        (MyValue::Bytes(b), Kind::Json) => {
            Value::Json(String::from_utf8(b).map_err(|_| "JSON is not UTF-8")?)
        }
        (MyValue::Int(i), Kind::Enum(labels)) => match i {
            0 => Value::Text(String::new()),
            i => Value::Text(
                labels
                    .get(i as usize - 1)
                    .cloned()
                    .ok_or_else(|| format!("ENUM index {i} has no label"))?,
            ),
        },
        (MyValue::Bytes(b), Kind::Set(labels)) => {
            let mut bits: u64 = 0;
            for (i, byte) in b.iter().enumerate().take(8) {
                bits |= u64::from(*byte) << (8 * i);
            }
            let mut s = String::new();
            for (i, label) in labels.iter().enumerate() {
                if bits & (1 << i) != 0 {
                    if !s.is_empty() {
                        s.push(',');
                    }
                    s.push_str(label);
                }
            }
            Value::Text(s)
        }
        (other, kind) => return Err(format!("unexpected value {other:?} for a {kind:?} column")),
    })
}

fn text(b: Vec<u8>, cs: Charset) -> Result<String, String> {
    match cs {
        Charset::Utf8 => {
            String::from_utf8(b).map_err(|_| "text is not valid UTF-8 for its utf8 charset".into())
        }
        Charset::Latin1 => Ok(b.into_iter().map(cp1252).collect()),
        Charset::Binary => Err("binary data in a text column".into()),
    }
}

/// MySQL's latin1 is Windows-1252; the five bytes it leaves undefined map
/// to the same code points, as MySQL does.
fn cp1252(b: u8) -> char {
    const HIGH: [u16; 32] = [
        0x20AC, 0x81, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
        0x2039, 0x0152, 0x8D, 0x017D, 0x8F, 0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013,
        0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x9D, 0x017E, 0x0178,
    ];
    match b {
        0x80..=0x9F => char::from_u32(u32::from(HIGH[(b - 0x80) as usize])).unwrap_or('\u{FFFD}'),
        _ => char::from(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixups_turn_mysql_common_output_into_exact_values() {
        let v = |x, k: &Kind| convert(BinlogValue::Value(x), k).unwrap();
        assert_eq!(
            v(MyValue::Int(0xFF_FFFF), &Kind::SignedMedium),
            Value::Int(-1)
        );
        assert_eq!(
            v(MyValue::Int(-8_388_608), &Kind::SignedMedium),
            Value::Int(-8_388_608)
        );
        assert_eq!(
            v(MyValue::Bytes(b"1900".to_vec()), &Kind::Year),
            Value::Int(0)
        );
        assert_eq!(
            v(MyValue::Bytes(b"2155".to_vec()), &Kind::Year),
            Value::Int(2155)
        );
        assert_eq!(
            v(MyValue::Bytes(vec![1, 0xab]), &Kind::FixedBinary(4)),
            Value::Bytes(vec![1, 0xab, 0, 0])
        );
        let labels = vec!["a".to_string(), "b".to_string(), "c".to_string()];
        assert_eq!(
            v(MyValue::Int(2), &Kind::Enum(labels.clone())),
            Value::Text("b".into())
        );
        assert_eq!(
            v(MyValue::Bytes(vec![0b101]), &Kind::Set(labels)),
            Value::Text("a,c".into())
        );
        assert_eq!(
            v(
                MyValue::Bytes(b"1700000000.000123".to_vec()),
                &Kind::Timestamp
            ),
            Value::Timestamp(Timestamp {
                seconds: 1_700_000_000,
                micros: 123
            })
        );
        assert_eq!(
            v(
                MyValue::Bytes(vec![b'a', 0xE9, 0x80]),
                &Kind::Text(Charset::Latin1)
            ),
            Value::Text("aé€".into())
        );
        assert!(
            convert(
                BinlogValue::Value(MyValue::Bytes(vec![0xff])),
                &Kind::Text(Charset::Utf8)
            )
            .is_err()
        );
    }

    #[test]
    fn char_length_is_read_from_the_packed_metadata() {
        // BINARY(16): real type 254 (0xfe), length 16.
        assert_eq!(string_length(&[0xfe, 16]), 16);
        // CHAR(100) utf8mb4 = 400 bytes: the high bits of the length live in byte 0.
        assert_eq!(string_length(&[0xee, 0x90]), 400);
    }
}
