//! Tables read with SQL instead of the binlog: the snapshot and
//! `sluice verify` read rows with `SELECT`.
//!
//! # Why the values equal the binlog's
//! A snapshot row goes through the same plugins and writer as a streamed
//! change, so it must become the very [`Value`]s the binlog decoder makes
//! for the same row. Rows are read over the binary protocol (prepared
//! statements), whose integers, floats, dates and times `mysql_common`
//! decodes with the same code as binlog rows (an unsigned value is `Int`
//! unless it exceeds `i64::MAX`, as in the binlog). What differs is fixed
//! here, by the column's declared type from `information_schema`:
//! * TIMESTAMP arrives as calendar time in the session time zone, which is
//!   set to UTC, and becomes seconds since the epoch like the binlog's.
//! * Text arrives in the connection character set (utf8mb4), so latin1
//!   columns are already converted; ENUM and SET arrive as their labels.
//! * BINARY(n) arrives padded, as the decoder pads it; BIT arrives as bytes.
//! * DECIMAL arrives as exact text.

use std::sync::Arc;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Value as My};

use crate::change::{TableSchema, Value};
use crate::source::SourceError;

/// How a column's `SELECT` value becomes a [`Value`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SelectKind {
    Number,
    Decimal,
    Year,
    Date,
    DateTime,
    Timestamp,
    Time,
    Text,
    Bytes,
}

/// A source table as `SELECT` reads it.
#[derive(Clone, Debug)]
pub struct SqlTable {
    pub schema: Arc<TableSchema>,
    kinds: Vec<SelectKind>,
    /// `information_schema.TABLES.TABLE_ROWS`: InnoDB's estimate.
    pub estimated_rows: u64,
}

/// Tables whose rows Sluice never copies.
const SYSTEM_SCHEMAS: &[&str] = &["mysql", "information_schema", "performance_schema", "sys"];

/// Every base table outside the system schemas, as (database, table),
/// sorted.
pub async fn list_tables(conn: &mut Conn) -> Result<Vec<(String, String)>, mysql_async::Error> {
    let rows: Vec<(String, String)> = conn
        .query(
            "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES \
             WHERE TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_SCHEMA, TABLE_NAME",
        )
        .await?;
    Ok(rows
        .into_iter()
        .filter(|(d, _)| !SYSTEM_SCHEMAS.contains(&d.as_str()))
        .collect())
}

/// The primary key's column names, in key order.
pub(super) async fn primary_key(
    conn: &mut Conn,
    database: &str,
    table: &str,
) -> Result<Vec<String>, mysql_async::Error> {
    conn.exec(
        "SELECT COLUMN_NAME FROM information_schema.STATISTICS \
         WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND INDEX_NAME = 'PRIMARY' ORDER BY SEQ_IN_INDEX",
        (database, table),
    )
    .await
}

impl SqlTable {
    /// Read a table's columns, types and primary key. `Ok(None)` when the
    /// table does not exist.
    pub async fn load(
        conn: &mut Conn,
        database: &str,
        table: &str,
    ) -> Result<Option<SqlTable>, mysql_async::Error> {
        let columns: Vec<(String, String, Option<String>)> = conn
            .exec(
                "SELECT COLUMN_NAME, DATA_TYPE, CHARACTER_SET_NAME FROM information_schema.COLUMNS \
                 WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
                (database, table),
            )
            .await?;
        if columns.is_empty() {
            return Ok(None);
        }
        let key_names = primary_key(conn, database, table).await?;
        let estimated_rows: Option<Option<u64>> = conn
            .exec_first(
                "SELECT TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
                (database, table),
            )
            .await?;
        let names: Vec<String> = columns.iter().map(|c| c.0.clone()).collect();
        let key = key_names
            .iter()
            .filter_map(|k| names.iter().position(|n| n == k))
            .collect();
        let kinds = columns
            .iter()
            .map(|(_, ty, cs)| select_kind(ty, cs.as_deref()))
            .collect();
        Ok(Some(SqlTable {
            schema: Arc::new(TableSchema {
                database: database.to_owned(),
                table: table.to_owned(),
                columns: names,
                key,
                target_table: None,
            }),
            kinds,
            estimated_rows: estimated_rows.flatten().unwrap_or(0),
        }))
    }

    /// `db`.`table`, quoted.
    pub fn quoted(&self) -> String {
        format!(
            "{}.{}",
            quote(&self.schema.database),
            quote(&self.schema.table)
        )
    }

    /// The quoted column list, in table order.
    pub fn column_list(&self) -> String {
        self.schema
            .columns
            .iter()
            .map(|c| quote(c))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The quoted key columns, comma separated (for ORDER BY).
    pub fn key_list(&self) -> String {
        self.key_columns().join(", ")
    }

    fn key_columns(&self) -> Vec<String> {
        self.schema
            .key
            .iter()
            .map(|&k| quote(&self.schema.columns[k]))
            .collect()
    }

    /// A `WHERE` condition for keys strictly after `after` (when given) and
    /// at or before `upto` (when given), with its parameters.
    pub fn key_range(&self, after: Option<&[Value]>, upto: Option<&[Value]>) -> (String, Vec<My>) {
        let cols = self.key_columns();
        let mut parts = Vec::new();
        let mut params = Vec::new();
        if let Some(k) = after {
            parts.push(lexicographic(&cols, k, ">", ">", &mut params));
        }
        if let Some(k) = upto {
            parts.push(lexicographic(&cols, k, "<", "<=", &mut params));
        }
        if parts.is_empty() {
            ("TRUE".to_owned(), params)
        } else {
            (parts.join(" AND "), params)
        }
    }

    /// Read one chunk: up to `limit` rows after `after`, in key order.
    pub async fn read_chunk(
        &self,
        conn: &mut Conn,
        after: Option<&[Value]>,
        limit: usize,
    ) -> Result<Vec<Vec<Value>>, SourceError> {
        let (cond, params) = self.key_range(after, None);
        let sql = format!(
            "SELECT {} FROM {} WHERE {cond} ORDER BY {} LIMIT {limit}",
            self.column_list(),
            self.quoted(),
            self.key_list()
        );
        self.read(conn, &sql, params).await
    }

    /// Read the rows a query returns, which must select the table's columns
    /// in table order.
    pub async fn read<Q: Queryable>(
        &self,
        conn: &mut Q,
        sql: &str,
        params: Vec<My>,
    ) -> Result<Vec<Vec<Value>>, SourceError> {
        let rows: Vec<mysql_async::Row> = conn
            .exec(sql, params)
            .await
            .map_err(SourceError::from_mysql)?;
        rows.into_iter()
            .map(|row| {
                row.unwrap()
                    .into_iter()
                    .zip(&self.kinds)
                    .zip(&self.schema.columns)
                    .map(|((v, k), c)| {
                        convert(v, *k).map_err(|e| SourceError::Definite {
                            position: None,
                            message: format!("column {}.{c}: {e}", self.quoted()),
                        })
                    })
                    .collect()
            })
            .collect()
    }

    /// The key values of a row.
    pub fn key_of(&self, row: &[Value]) -> Vec<Value> {
        self.schema.key.iter().map(|&k| row[k].clone()).collect()
    }

    /// The same table seen through its key columns only: `read` with it
    /// returns key values.
    pub fn keys_only(&self) -> SqlTable {
        let key = &self.schema.key;
        SqlTable {
            schema: Arc::new(TableSchema {
                database: self.schema.database.clone(),
                table: self.schema.table.clone(),
                columns: key
                    .iter()
                    .map(|&k| self.schema.columns[k].clone())
                    .collect(),
                key: (0..key.len()).collect(),
                target_table: None,
            }),
            kinds: key.iter().map(|&k| self.kinds[k]).collect(),
            estimated_rows: 0,
        }
    }
}

/// `(c1 OP v1) OR (c1 = v1 AND c2 OP v2) ... OR (c1 = v1 AND ... AND cn LAST vn)`:
/// the row-order comparison, spelled out so every server uses the index.
fn lexicographic(
    cols: &[String],
    key: &[Value],
    op: &str,
    last: &str,
    params: &mut Vec<My>,
) -> String {
    let n = cols.len();
    let mut ors = Vec::with_capacity(n);
    for i in 0..n {
        let mut ands = Vec::with_capacity(i + 1);
        for j in 0..i {
            ands.push(format!("{} = ?", cols[j]));
            params.push(super::sql::param(&key[j]));
        }
        let op = if i + 1 == n { last } else { op };
        ands.push(format!("{} {op} ?", cols[i]));
        params.push(super::sql::param(&key[i]));
        ors.push(format!("({})", ands.join(" AND ")));
    }
    format!("({})", ors.join(" OR "))
}

pub fn quote(ident: &str) -> String {
    format!("`{}`", ident.replace('`', "``"))
}

fn select_kind(data_type: &str, charset: Option<&str>) -> SelectKind {
    match data_type {
        "tinyint" | "smallint" | "mediumint" | "int" | "integer" | "bigint" | "float"
        | "double" | "real" => SelectKind::Number,
        "decimal" | "numeric" => SelectKind::Decimal,
        "year" => SelectKind::Year,
        "date" => SelectKind::Date,
        "datetime" => SelectKind::DateTime,
        "timestamp" => SelectKind::Timestamp,
        "time" => SelectKind::Time,
        "char" | "varchar" | "tinytext" | "text" | "mediumtext" | "longtext" | "enum" | "set"
        | "json"
            if charset != Some("binary") =>
        {
            SelectKind::Text
        }
        _ => SelectKind::Bytes,
    }
}

/// A `SELECT` value (binary protocol, UTC session) as the binlog decoder
/// would produce it.
fn convert(v: My, kind: SelectKind) -> Result<Value, String> {
    use crate::change::Value as V;
    use sluice_cell::{Date, DateTime, Time, Timestamp};
    Ok(match (v, kind) {
        (My::NULL, _) => V::Null,
        (My::Int(i), SelectKind::Number | SelectKind::Year) => V::Int(i),
        (My::UInt(u), SelectKind::Number) => V::UInt(u),
        (My::Float(f), SelectKind::Number) => V::Float(f),
        (My::Double(f), SelectKind::Number) => V::Double(f),
        (My::Bytes(b), SelectKind::Decimal) => {
            V::Decimal(String::from_utf8(b).map_err(|_| "DECIMAL is not text")?)
        }
        (My::Bytes(b), SelectKind::Text) => {
            V::Text(String::from_utf8(b).map_err(|_| "text is not UTF-8 in a utf8mb4 session")?)
        }
        (My::Bytes(b), SelectKind::Bytes) => V::Bytes(b),
        (My::Date(year, month, day, ..), SelectKind::Date) => V::Date(Date { year, month, day }),
        (
            My::Date(year, month, day, hour, minute, second, micros),
            k @ (SelectKind::DateTime | SelectKind::Timestamp),
        ) => {
            let t = DateTime {
                date: Date { year, month, day },
                hour,
                minute,
                second,
                micros,
            };
            if k == SelectKind::DateTime {
                V::DateTime(t)
            } else if year == 0 {
                // The zero TIMESTAMP, which the binlog carries as 0.
                V::Timestamp(Timestamp {
                    seconds: 0,
                    micros: 0,
                })
            } else {
                V::Timestamp(Timestamp::from_utc(t))
            }
        }
        (My::Time(negative, days, h, minutes, seconds, micros), SelectKind::Time) => {
            V::Time(Time {
                negative,
                hours: (days * 24 + u32::from(h)) as u16,
                minutes,
                seconds,
                micros,
            })
        }
        (v, k) => return Err(format!("unexpected value {v:?} for a {k:?} column")),
    })
}

/// A source table's definition, for a target that creates its copy:
/// each column's name, MySQL type as `information_schema` spells it
/// (`COLUMN_TYPE`, e.g. `decimal(10,2)`, `int(10) unsigned`) and whether
/// it allows NULL, and the primary key (indexes into the columns).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableDef {
    pub database: String,
    pub table: String,
    pub columns: Vec<(String, String, bool)>,
    pub key: Vec<usize>,
}

impl TableDef {
    /// The definition of `database.table`; `Ok(None)` when it does not exist.
    pub async fn load(
        conn: &mut Conn,
        database: &str,
        table: &str,
    ) -> Result<Option<TableDef>, mysql_async::Error> {
        let columns: Vec<(String, String, String)> = conn
            .exec(
                "SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE FROM information_schema.COLUMNS \
                 WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
                (database, table),
            )
            .await?;
        if columns.is_empty() {
            return Ok(None);
        }
        let key_names = primary_key(conn, database, table).await?;
        let key = key_names
            .iter()
            .filter_map(|k| columns.iter().position(|c| &c.0 == k))
            .collect();
        Ok(Some(TableDef {
            database: database.to_owned(),
            table: table.to_owned(),
            columns: columns
                .into_iter()
                .map(|(n, t, null)| (n, t, null == "YES"))
                .collect(),
            key,
        }))
    }
}
