//! SQL text for one PostgreSQL target table, values as text parameters,
//! and error classes.
//!
//! # Values
//! Every value is sent as a *text-format* parameter, and the server parses
//! it as the type of the column it goes to (the statement is prepared, so
//! the server tells the type of each parameter). Text is exact for every
//! type Sluice maps: NUMERIC keeps every digit, `timestamptz` gets an
//! explicit `+00` offset (so no session or server time zone can shift it),
//! an interval takes MySQL's negative and over-24-hour TIME, and bytea gets
//! `\x` hex. Only three column types need the value shaped for them:
//! `bytea` (hex), `bit`/`varbit` (binary digits, as many as the column
//! holds) and `boolean` (from MySQL's 0/1). Values PostgreSQL cannot hold
//! are refused here with the column named: the zero date, and a NUL byte in
//! text or JSON.

use std::error::Error;
use std::fmt::Write as _;

use bytes::BytesMut;
use tokio_postgres::types::{Format, IsNull, ToSql, Type, to_sql_checked};

use crate::change::{TableSchema, Value};
use crate::error::ErrorKind;

/// Quote an identifier: `"name"`, doubling quotes inside.
pub fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

/// `schema.table` quoted: a target table with a dot names its schema, one
/// without goes to `default_schema`.
pub fn qualified(table: &str, default_schema: &str) -> (String, String) {
    match table.split_once('.') {
        Some((s, t)) => (s.to_owned(), t.to_owned()),
        None => (default_schema.to_owned(), table.to_owned()),
    }
}

/// Multi-row statements are prepared for 1, 2, 4, ... rows up to this many.
pub const LEVELS: usize = 11;
/// The protocol's limit on parameters in one statement (a 16-bit count).
const MAX_PARAMS: usize = 65_535;

/// The statement texts for one target table and column list (never
/// formatted per row; the writer prepares each once per connection).
#[derive(Debug)]
pub struct TableSql {
    insert_head: String,
    row_marks_width: usize,
    /// ` ON CONFLICT (key) DO UPDATE SET c = EXCLUDED.c, ...` or
    /// ` ON CONFLICT DO NOTHING` when every column is in the key.
    upsert_tail: String,
    delete_head: String,
    key_cols: Vec<String>,
    /// The most rows one statement carries (a power of two).
    pub max_rows: usize,
}

impl TableSql {
    pub fn new(schema_name: &str, table: &str, schema: &TableSchema) -> Self {
        let t = format!("{}.{}", quote(schema_name), quote(table));
        let cols: Vec<String> = schema.columns.iter().map(|c| quote(c)).collect();
        let key_cols: Vec<String> = schema.key.iter().map(|&k| cols[k].clone()).collect();
        let updates: Vec<String> = cols
            .iter()
            .enumerate()
            .filter(|(i, _)| !schema.key.contains(i))
            .map(|(_, c)| format!("{c} = EXCLUDED.{c}"))
            .collect();
        let upsert_tail = if updates.is_empty() {
            " ON CONFLICT DO NOTHING".to_owned()
        } else {
            format!(
                " ON CONFLICT ({}) DO UPDATE SET {}",
                key_cols.join(", "),
                updates.join(", ")
            )
        };
        let per_row = cols.len().max(key_cols.len()).max(1);
        let fit = (MAX_PARAMS / per_row).clamp(1, 1 << (LEVELS - 1));
        TableSql {
            insert_head: format!("INSERT INTO {t} ({}) VALUES ", cols.join(", ")),
            row_marks_width: cols.len(),
            upsert_tail,
            delete_head: format!("DELETE FROM {t} WHERE "),
            key_cols,
            max_rows: 1 << fit.ilog2(),
        }
    }

    /// The upsert text for `rows` rows.
    pub fn upsert(&self, rows: usize) -> String {
        let mut s = self.insert_head.clone();
        let mut n = 0;
        for r in 0..rows {
            s.push_str(if r == 0 { "(" } else { ", (" });
            for c in 0..self.row_marks_width {
                n += 1;
                let _ = write!(s, "{}${n}", if c == 0 { "" } else { ", " });
            }
            s.push(')');
        }
        s.push_str(&self.upsert_tail);
        s
    }

    /// The delete-by-key text for `rows` keys: `k IN (...)`, or a row
    /// comparison `(a, b) IN ((..), ..)` for a composite key.
    pub fn delete(&self, rows: usize) -> String {
        let mut s = self.delete_head.clone();
        let w = self.key_cols.len();
        if w == 1 {
            let _ = write!(s, "{} IN (", self.key_cols[0]);
        } else {
            let _ = write!(s, "({}) IN (", self.key_cols.join(", "));
        }
        let mut n = 0;
        for r in 0..rows {
            if r > 0 {
                s.push_str(", ");
            }
            if w > 1 {
                s.push('(');
            }
            for c in 0..w {
                n += 1;
                let _ = write!(s, "{}${n}", if c == 0 { "" } else { ", " });
            }
            if w > 1 {
                s.push(')');
            }
        }
        s.push(')');
        s
    }
}

/// What a target column needs a value shaped as (module doc); read from
/// the catalog once per table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    Plain,
    Bytea,
    Bool,
    /// `bit(n)` / `varbit(n)`: `n` binary digits at most (0: unbounded).
    Bits(u32),
}

/// One value as a text parameter for a column of `shape` named `column`.
#[derive(Debug)]
pub struct Param<'a> {
    pub value: &'a Value,
    pub shape: Shape,
    pub column: &'a str,
}

/// Why a value cannot go into PostgreSQL.
#[derive(Debug)]
pub struct Unfit(pub String);

impl std::fmt::Display for Unfit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Error for Unfit {}

impl Param<'_> {
    fn unfit(&self, why: &str) -> Box<dyn Error + Sync + Send> {
        Box::new(Unfit(format!("column `{}`: {why}", self.column)))
    }

    /// The text PostgreSQL parses for this value, or why there is none.
    pub fn text<W: std::fmt::Write>(
        &self,
        out: &mut W,
    ) -> Result<(), Box<dyn Error + Sync + Send>> {
        match (self.value, self.shape) {
            (Value::Null, _) => {}
            (Value::Int(i), Shape::Bool) => {
                let _ = out.write_str(if *i == 0 { "f" } else { "t" });
            }
            (Value::UInt(u), Shape::Bool) => {
                let _ = out.write_str(if *u == 0 { "f" } else { "t" });
            }
            (Value::Int(i), _) => {
                let _ = write!(out, "{i}");
            }
            (Value::UInt(u), _) => {
                let _ = write!(out, "{u}");
            }
            (Value::Double(f), _) => {
                let _ = write!(out, "{f:?}");
            }
            (Value::Float(f), _) => {
                let _ = write!(out, "{f:?}");
            }
            (Value::Decimal(s), _) => {
                let _ = out.write_str(s);
            }
            (Value::Text(s) | Value::Json(s), _) => {
                if s.contains('\0') {
                    return Err(self.unfit(
                        "the text holds a NUL byte (0x00), which PostgreSQL text and jsonb cannot store; \
                         map the column to bytea or strip the byte with a mapper",
                    ));
                }
                let _ = out.write_str(s);
            }
            (Value::Bytes(b), Shape::Bits(n)) => {
                let mut digits = String::with_capacity(b.len() * 8);
                for byte in b {
                    let _ = write!(digits, "{byte:08b}");
                }
                let keep = if n == 0 { digits.len() } else { n as usize };
                let cut = digits.len().saturating_sub(keep);
                if digits[..cut].contains('1') {
                    return Err(self.unfit(&format!("the value has more than {n} bits")));
                }
                let _ = out.write_str(&digits[cut..]);
            }
            (Value::Bytes(b), Shape::Bytea | Shape::Plain | Shape::Bool) => {
                if self.shape == Shape::Plain {
                    // Binary into a text column: only if it is UTF-8.
                    match std::str::from_utf8(b) {
                        Ok(s) if !s.contains('\0') => {
                            let _ = out.write_str(s);
                            return Ok(());
                        }
                        _ => {
                            return Err(self.unfit(
                                "binary value for a column that is not bytea; make the column bytea",
                            ));
                        }
                    }
                }
                let _ = out.write_str("\\x");
                for byte in b {
                    let _ = write!(out, "{byte:02x}");
                }
            }
            (Value::Date(d), _) => {
                if d.year == 0 || d.month == 0 || d.day == 0 {
                    return Err(self.unfit(&format!(
                        "the date {d} has a zero part, which PostgreSQL cannot store; \
                         fix the source row or set on_error = \"dead-letter\""
                    )));
                }
                let _ = write!(out, "{d}");
            }
            (Value::DateTime(t), _) => {
                if t.date.year == 0 || t.date.month == 0 || t.date.day == 0 {
                    return Err(self.unfit(&format!(
                        "the datetime {t} has a zero date, which PostgreSQL cannot store; \
                         fix the source row or set on_error = \"dead-letter\""
                    )));
                }
                let _ = write!(out, "{t}");
            }
            (Value::Timestamp(ts), _) => {
                if ts.seconds == 0 && ts.micros == 0 {
                    return Err(self.unfit(
                        "the zero TIMESTAMP (0000-00-00 00:00:00) has no PostgreSQL value; \
                         fix the source row or set on_error = \"dead-letter\"",
                    ));
                }
                let _ = write!(out, "{}+00", ts.to_utc());
            }
            (Value::Time(t), _) => {
                let _ = write!(
                    out,
                    "{}{}:{:02}:{:02}.{:06}",
                    if t.negative { "-" } else { "" },
                    t.hours,
                    t.minutes,
                    t.seconds,
                    t.micros
                );
            }
        }
        Ok(())
    }
}

impl ToSql for Param<'_> {
    fn to_sql(&self, _: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        if matches!(self.value, Value::Null) {
            return Ok(IsNull::Yes);
        }
        // Straight into the message buffer: no string per value.
        self.text(out)?;
        Ok(IsNull::No)
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    fn encode_format(&self, _: &Type) -> Format {
        Format::Text
    }

    to_sql_checked!();
}

/// Whether a target error can go away by retrying: SQLSTATE classes 08
/// (connection), 40 (serialization failure, deadlock), 53 (out of
/// resources: too many connections, disk full), 57 (shut down, cannot
/// connect now), and 25006 (read-only transaction: a standby during a
/// failover); no SQLSTATE at all means the connection broke.
pub fn classify(e: &tokio_postgres::Error) -> ErrorKind {
    match e.code() {
        None if e.as_db_error().is_none() && is_value_error(e) => ErrorKind::Definite,
        None => ErrorKind::Transient,
        Some(code) => {
            let c = code.code();
            if c.starts_with("08")
                || c.starts_with("40")
                || c.starts_with("53")
                || c.starts_with("57")
                || c == "25006"
            {
                ErrorKind::Transient
            } else {
                ErrorKind::Definite
            }
        }
    }
}

/// Whether the error is a value this module refused ([`Unfit`]).
pub fn is_value_error(e: &tokio_postgres::Error) -> bool {
    let mut source = e.source();
    while let Some(s) = source {
        if s.is::<Unfit>() {
            return true;
        }
        source = s.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(cols: &[&str], key: Vec<usize>) -> TableSchema {
        TableSchema {
            database: "d".into(),
            table: "t".into(),
            columns: cols.iter().map(|c| c.to_string()).collect(),
            key,
            target_table: None,
        }
    }

    #[test]
    fn statements_quote_names_and_update_only_non_key_columns() {
        let sql = TableSql::new("public", "t", &schema(&["id", "na\"me"], vec![0]));
        assert_eq!(
            sql.upsert(2),
            "INSERT INTO \"public\".\"t\" (\"id\", \"na\"\"me\") VALUES ($1, $2), ($3, $4) \
             ON CONFLICT (\"id\") DO UPDATE SET \"na\"\"me\" = EXCLUDED.\"na\"\"me\""
        );
        assert_eq!(
            sql.delete(2),
            "DELETE FROM \"public\".\"t\" WHERE \"id\" IN ($1, $2)"
        );
        let all_key = TableSql::new("s", "t", &schema(&["a", "b"], vec![1, 0]));
        assert_eq!(
            all_key.upsert(1),
            "INSERT INTO \"s\".\"t\" (\"a\", \"b\") VALUES ($1, $2) ON CONFLICT DO NOTHING"
        );
        assert_eq!(
            all_key.delete(2),
            "DELETE FROM \"s\".\"t\" WHERE (\"b\", \"a\") IN (($1, $2), ($3, $4))"
        );
    }

    fn text(value: Value, shape: Shape) -> Result<String, String> {
        let mut s = String::new();
        Param {
            value: &value,
            shape,
            column: "c",
        }
        .text(&mut s)
        .map(|()| s)
        .map_err(|e| e.to_string())
    }

    #[test]
    fn values_become_the_text_postgres_parses_exactly() {
        use sluice_cell::{Date, DateTime, Time, Timestamp};
        assert_eq!(
            text(Value::UInt(u64::MAX), Shape::Plain).unwrap(),
            "18446744073709551615"
        );
        assert_eq!(text(Value::Int(1), Shape::Bool).unwrap(), "t");
        assert_eq!(text(Value::Double(0.1), Shape::Plain).unwrap(), "0.1");
        assert_eq!(
            text(Value::Bytes(vec![0, 0xab]), Shape::Bytea).unwrap(),
            "\\x00ab"
        );
        assert_eq!(
            text(Value::Bytes(vec![0x02, 0xff]), Shape::Bits(10)).unwrap(),
            "1011111111"
        );
        assert!(text(Value::Bytes(vec![0x04, 0xff]), Shape::Bits(10)).is_err());
        let t = Time {
            negative: true,
            hours: 838,
            minutes: 59,
            seconds: 59,
            micros: 5,
        };
        assert_eq!(
            text(Value::Time(t), Shape::Plain).unwrap(),
            "-838:59:59.000005"
        );
        let zero = Date {
            year: 0,
            month: 0,
            day: 0,
        };
        assert!(
            text(Value::Date(zero), Shape::Plain)
                .unwrap_err()
                .contains("zero")
        );
        let dt = DateTime {
            date: Date {
                year: 2024,
                month: 2,
                day: 29,
            },
            hour: 23,
            minute: 59,
            second: 58,
            micros: 999_999,
        };
        assert_eq!(
            text(Value::DateTime(dt), Shape::Plain).unwrap(),
            "2024-02-29 23:59:58.999999"
        );
        let ts = Timestamp {
            seconds: 1,
            micros: 7,
        };
        assert_eq!(
            text(Value::Timestamp(ts), Shape::Plain).unwrap(),
            "1970-01-01 00:00:01.000007+00"
        );
        assert!(
            text(Value::Text("a\0b".into()), Shape::Plain)
                .unwrap_err()
                .contains("NUL")
        );
    }
}
