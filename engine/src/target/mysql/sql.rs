//! SQL text for one target table, value conversion, and error classes.

use mysql_async::Value as My;

use crate::change::{TableSchema, Value};
use crate::error::ErrorKind;

/// The statements for one target table and column list, built once and
/// cached by the writer (never formatted per row).
#[derive(Debug)]
pub struct TableSql {
    pub upsert: String,
    pub delete: String,
}

/// Quote an identifier; `db.table` becomes `` `db`.`table` ``.
pub fn quote_table(name: &str) -> String {
    name.split('.').map(quote).collect::<Vec<_>>().join(".")
}

fn quote(ident: &str) -> String {
    format!("`{}`", ident.replace('`', "``"))
}

impl TableSql {
    pub fn new(table: &str, schema: &TableSchema) -> Self {
        let t = quote_table(table);
        let cols: Vec<String> = schema.columns.iter().map(|c| quote(c)).collect();
        let marks = vec!["?"; cols.len()].join(", ");
        let updates: Vec<String> = cols
            .iter()
            .enumerate()
            .filter(|(i, _)| !schema.key.contains(i))
            .map(|(_, c)| format!("{c} = VALUES({c})"))
            .collect();
        let upsert = if updates.is_empty() {
            format!(
                "INSERT IGNORE INTO {t} ({}) VALUES ({marks})",
                cols.join(", ")
            )
        } else {
            format!(
                "INSERT INTO {t} ({}) VALUES ({marks}) ON DUPLICATE KEY UPDATE {}",
                cols.join(", "),
                updates.join(", ")
            )
        };
        let key: Vec<String> = schema
            .key
            .iter()
            .map(|&k| format!("{} = ?", cols[k]))
            .collect();
        let delete = format!("DELETE FROM {t} WHERE {}", key.join(" AND "));
        TableSql { upsert, delete }
    }
}

/// A Sluice value as a statement parameter. TIMESTAMPs are sent as UTC
/// calendar time; the session runs with `time_zone = '+00:00'`.
pub fn param(v: &Value) -> My {
    match v {
        Value::Null => My::NULL,
        Value::Int(i) => My::Int(*i),
        Value::UInt(u) => My::UInt(*u),
        Value::Double(f) => My::Double(*f),
        Value::Float(f) => My::Float(*f),
        Value::Decimal(s) | Value::Text(s) | Value::Json(s) => My::Bytes(s.as_bytes().to_vec()),
        Value::Bytes(b) => My::Bytes(b.clone()),
        Value::Date(d) => My::Date(d.year, d.month, d.day, 0, 0, 0, 0),
        Value::DateTime(t) => datetime(t),
        Value::Timestamp(ts) if ts.seconds == 0 && ts.micros == 0 => My::Date(0, 0, 0, 0, 0, 0, 0),
        Value::Timestamp(ts) => datetime(&ts.to_utc()),
        Value::Time(t) => My::Time(
            t.negative,
            u32::from(t.hours / 24),
            (t.hours % 24) as u8,
            t.minutes,
            t.seconds,
            t.micros,
        ),
    }
}

fn datetime(t: &sluice_cell::DateTime) -> My {
    My::Date(
        t.date.year,
        t.date.month,
        t.date.day,
        t.hour,
        t.minute,
        t.second,
        t.micros,
    )
}

/// Whether a target error can go away by retrying.
pub fn classify(e: &mysql_async::Error) -> ErrorKind {
    match e {
        mysql_async::Error::Server(s) => match s.code {
            // lock wait timeout, deadlock, too many connections, shutdown in
            // progress, connection killed, server gone / lost, read-only
            // (failover in progress)
            1205 | 1213 | 1040 | 1053 | 1927 | 2006 | 2013 | 1290 | 1836 => ErrorKind::Transient,
            _ => ErrorKind::Definite,
        },
        mysql_async::Error::Io(_) | mysql_async::Error::Driver(_) => ErrorKind::Transient,
        _ => ErrorKind::Definite,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_quote_names_and_update_only_non_key_columns() {
        let s = TableSchema {
            database: "d".into(),
            table: "t".into(),
            columns: vec!["id".into(), "na`me".into()],
            key: vec![0],
            target_table: None,
        };
        let sql = TableSql::new("o.t", &s);
        assert_eq!(
            sql.upsert,
            "INSERT INTO `o`.`t` (`id`, `na``me`) VALUES (?, ?) ON DUPLICATE KEY UPDATE `na``me` = VALUES(`na``me`)"
        );
        assert_eq!(sql.delete, "DELETE FROM `o`.`t` WHERE `id` = ?");
    }
}
