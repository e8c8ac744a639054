//! SQL text for one target table, value conversion, and error classes.

use std::sync::OnceLock;

use crate::change::TableSchema;
use crate::error::ErrorKind;
pub use crate::source::sql::param;

/// Quote an identifier; `db.table` becomes `` `db`.`table` ``.
pub fn quote_table(name: &str) -> String {
    name.split('.').map(quote).collect::<Vec<_>>().join(".")
}

pub(super) fn quote(ident: &str) -> String {
    format!("`{}`", ident.replace('`', "``"))
}

/// Multi-row statements are built for 1, 2, 4, ... rows up to this many, so
/// a table has at most `2 * LEVELS` statement texts, each built once.
const LEVELS: usize = 11;
/// The server's limit on placeholders in one prepared statement.
const MAX_PLACEHOLDERS: usize = 65_535;

/// The statements for one target table and column list, built once and
/// cached by the writer (never formatted per row). Multi-row forms are made
/// lazily per power-of-two row count, so every count a batch needs is a
/// sum of cached statements.
#[derive(Debug)]
pub struct TableSql {
    /// `INSERT INTO t (cols) VALUES `, or `INSERT IGNORE ...` when every
    /// column is part of the key (nothing to update).
    insert_head: String,
    /// `(?, ?, ?)`: one row's placeholders.
    row_marks: String,
    /// ` ON DUPLICATE KEY UPDATE c = VALUES(c), ...`, or empty.
    upsert_tail: String,
    /// `DELETE FROM t WHERE `.
    delete_head: String,
    /// Quoted key column names.
    key_cols: Vec<String>,
    upserts: [OnceLock<String>; LEVELS],
    deletes: [OnceLock<String>; LEVELS],
    /// The most rows one statement may carry: a power of two that keeps the
    /// placeholders under the server's limit.
    pub max_rows: usize,
}

impl TableSql {
    pub fn new(table: &str, schema: &TableSchema) -> Self {
        let t = quote_table(table);
        let cols: Vec<String> = schema.columns.iter().map(|c| quote(c)).collect();
        let updates: Vec<String> = cols
            .iter()
            .enumerate()
            .filter(|(i, _)| !schema.key.contains(i))
            .map(|(_, c)| format!("{c} = VALUES({c})"))
            .collect();
        let (verb, upsert_tail) = if updates.is_empty() {
            ("INSERT IGNORE", String::new())
        } else {
            (
                "INSERT",
                format!(" ON DUPLICATE KEY UPDATE {}", updates.join(", ")),
            )
        };
        let per_row = cols.len().max(schema.key.len()).max(1);
        let fit = (MAX_PLACEHOLDERS / per_row).clamp(1, 1 << (LEVELS - 1));
        TableSql {
            insert_head: format!("{verb} INTO {t} ({}) VALUES ", cols.join(", ")),
            row_marks: format!("({})", vec!["?"; cols.len()].join(", ")),
            upsert_tail,
            delete_head: format!("DELETE FROM {t} WHERE "),
            key_cols: schema.key.iter().map(|&k| cols[k].clone()).collect(),
            upserts: Default::default(),
            deletes: Default::default(),
            max_rows: 1 << fit.ilog2(),
        }
    }

    /// The upsert for `rows` rows; `rows` is a power of two up to `max_rows`.
    pub fn upsert(&self, rows: usize) -> &str {
        debug_assert!(rows.is_power_of_two() && rows <= self.max_rows);
        self.upserts[rows.ilog2() as usize].get_or_init(|| {
            let marks = vec![self.row_marks.as_str(); rows].join(", ");
            format!("{}{marks}{}", self.insert_head, self.upsert_tail)
        })
    }

    /// The delete by key for `rows` keys; `rows` as for [`Self::upsert`].
    /// One key column uses `IN (...)`; a composite key ORs one equality
    /// group per row, which the optimizer reads as a set of point ranges.
    pub fn delete(&self, rows: usize) -> &str {
        debug_assert!(rows.is_power_of_two() && rows <= self.max_rows);
        self.deletes[rows.ilog2() as usize].get_or_init(|| {
            let cond = if let [k] = self.key_cols.as_slice() {
                format!("{k} IN ({})", vec!["?"; rows].join(", "))
            } else {
                let one = self
                    .key_cols
                    .iter()
                    .map(|k| format!("{k} = ?"))
                    .collect::<Vec<_>>()
                    .join(" AND ");
                vec![format!("({one})"); rows].join(" OR ")
            };
            format!("{}{cond}", self.delete_head)
        })
    }
}

/// Whether a target error can go away by retrying.
pub fn classify(e: &mysql_async::Error) -> ErrorKind {
    match e {
        mysql_async::Error::Server(s) => crate::server_error::target_kind(s.code),
        // An account whose plugin the driver does not speak: retrying
        // cannot help (the message says what to change).
        mysql_async::Error::Driver(mysql_async::DriverError::UnknownAuthPlugin { .. }) => {
            ErrorKind::Definite
        }
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
            sql.upsert(1),
            "INSERT INTO `o`.`t` (`id`, `na``me`) VALUES (?, ?) ON DUPLICATE KEY UPDATE `na``me` = VALUES(`na``me`)"
        );
        assert_eq!(
            sql.upsert(2),
            "INSERT INTO `o`.`t` (`id`, `na``me`) VALUES (?, ?), (?, ?) ON DUPLICATE KEY UPDATE `na``me` = VALUES(`na``me`)"
        );
        assert_eq!(sql.delete(1), "DELETE FROM `o`.`t` WHERE `id` IN (?)");
        assert_eq!(sql.delete(2), "DELETE FROM `o`.`t` WHERE `id` IN (?, ?)");
        assert_eq!(sql.max_rows, 1024);
    }

    #[test]
    fn composite_keys_and_wide_tables() {
        let columns: Vec<String> = (0..100).map(|i| format!("c{i}")).collect();
        let s = TableSchema {
            database: "d".into(),
            table: "t".into(),
            columns,
            key: vec![1, 0],
            target_table: None,
        };
        let sql = TableSql::new("t", &s);
        assert_eq!(
            sql.delete(2),
            "DELETE FROM `t` WHERE (`c1` = ? AND `c0` = ?) OR (`c1` = ? AND `c0` = ?)"
        );
        // 100 columns: 655 rows fit under 65535 placeholders; 512 is used.
        assert_eq!(sql.max_rows, 512);
    }
}
