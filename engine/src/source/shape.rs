//! A table's shape as `information_schema` describes it: what a TABLE_MAP
//! leaves out on a server without `binlog_row_metadata` (MySQL 5.7, MariaDB
//! before 10.5): column names, signedness, character sets, ENUM/SET labels
//! and the primary key.
//!
//! # Why a shape can be trusted
//! A shape is only ever used for the binlog stretch it was proven valid for
//! (`history`), and every TABLE_MAP decoded with it is first checked
//! against it ([`TableShape::check`]): the column count, each column's type
//! and its lengths (string bytes, DECIMAL precision and scale, fractional
//! seconds, BLOB/TEXT size class, BIT width). A table changed by a DDL the
//! history missed would disagree there and stop the source loudly, naming
//! both shapes and the position. What the TABLE_MAP cannot show (a column
//! renamed or its signedness flipped with the same type) is what the
//! history itself must get right: it never guesses, it re-reads.

use mysql_async::Conn;
use mysql_async::binlog::events::TableMapEvent;
use mysql_async::consts::ColumnType;
use mysql_async::prelude::Queryable;
use serde::{Deserialize, Serialize};

/// One column: its name, its type as `information_schema.COLUMNS.COLUMN_TYPE`
/// spells it (`int(10) unsigned`, `enum('a','b')`, `varchar(20)`) and its
/// character set (`None` for non-text columns).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnShape {
    pub name: String,
    #[serde(rename = "type")]
    pub column_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charset: Option<String>,
}

/// The columns of a table in row order, and its primary key (indexes into
/// `columns`, in key order).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableShape {
    pub columns: Vec<ColumnShape>,
    pub key: Vec<usize>,
    /// The table's default character set, for columns a later statement
    /// adds without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charset: Option<String>,
}

impl ColumnShape {
    /// The type's name: `int`, `varchar`, `enum`.
    pub fn data_type(&self) -> &str {
        let t = self.column_type.trim_start();
        let end = t
            .find(|c: char| !c.is_ascii_alphanumeric() && c != '_')
            .unwrap_or(t.len());
        &t[..end]
    }

    pub fn unsigned(&self) -> bool {
        let after = self
            .column_type
            .rfind(')')
            .map_or(&self.column_type[..], |i| &self.column_type[i..]);
        after.to_ascii_lowercase().contains("unsigned")
    }

    /// The numbers in the type's parentheses: `decimal(10,2)` -> [10, 2].
    fn args(&self) -> Vec<u64> {
        let Some(open) = self.column_type.find('(') else {
            return Vec::new();
        };
        let close = self.column_type[open..]
            .find(')')
            .map_or(self.column_type.len(), |i| open + i);
        self.column_type[open + 1..close]
            .split(',')
            .filter_map(|n| n.trim().parse().ok())
            .collect()
    }

    /// The labels of an ENUM or SET column, unquoted (`''` is one `'`).
    pub fn labels(&self) -> Vec<String> {
        let Some(open) = self.column_type.find('(') else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let mut chars = self.column_type[open + 1..].chars().peekable();
        while let Some(c) = chars.next() {
            if c != '\'' {
                continue;
            }
            let mut label = String::new();
            while let Some(c) = chars.next() {
                if c == '\'' {
                    if chars.peek() == Some(&'\'') {
                        chars.next();
                        label.push('\'');
                    } else {
                        break;
                    }
                } else if c == '\\' {
                    if let Some(n) = chars.next() {
                        label.push(n);
                    }
                } else {
                    label.push(c);
                }
            }
            out.push(label);
        }
        out
    }

    /// Bytes per character of the column's character set.
    fn max_char_bytes(&self) -> u64 {
        match self.charset.as_deref() {
            Some("utf8mb4") => 4,
            Some("utf8" | "utf8mb3") => 3,
            Some("ucs2" | "utf16") => 4,
            Some("utf32") => 4,
            _ => 1,
        }
    }
}

impl TableShape {
    /// The shape of `database.table` now; `Ok(None)` when it does not exist.
    pub async fn load(
        conn: &mut Conn,
        database: &str,
        table: &str,
    ) -> Result<Option<TableShape>, mysql_async::Error> {
        let rows: Vec<(String, String, Option<String>)> = conn
            .exec(
                "SELECT COLUMN_NAME, COLUMN_TYPE, CHARACTER_SET_NAME FROM information_schema.COLUMNS \
                 WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
                (database, table),
            )
            .await?;
        if rows.is_empty() {
            return Ok(None);
        }
        let key_names = super::table::primary_key(conn, database, table).await?;
        let charset: Option<Option<String>> = conn
            .exec_first(
                "SELECT c.CHARACTER_SET_NAME FROM information_schema.TABLES t \
                 JOIN information_schema.COLLATIONS c ON c.COLLATION_NAME = t.TABLE_COLLATION \
                 WHERE t.TABLE_SCHEMA = ? AND t.TABLE_NAME = ?",
                (database, table),
            )
            .await?;
        let columns: Vec<ColumnShape> = rows
            .into_iter()
            .map(|(name, column_type, charset)| ColumnShape {
                name,
                column_type,
                charset,
            })
            .collect();
        let key = key_names
            .iter()
            .filter_map(|k| columns.iter().position(|c| &c.name == k))
            .collect();
        Ok(Some(TableShape {
            columns,
            key,
            charset: charset.flatten(),
        }))
    }

    /// One line per column, for messages: `id int(11), v varchar(10)`.
    pub fn describe(&self) -> String {
        self.columns
            .iter()
            .map(|c| format!("{} {}", c.name, c.column_type))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Check that a TABLE_MAP describes a table of this shape: the column
    /// count, every column's binlog type and its lengths. The error names
    /// the first difference and both shapes.
    pub fn check(&self, tme: &TableMapEvent<'_>) -> Result<(), String> {
        let n = tme.columns_count() as usize;
        let differ = |what: String| {
            let map: Vec<String> = (0..n)
                .map(|i| match tme.get_column_type(i) {
                    Ok(Some(t)) => format!("{t:?}{:?}", tme.get_column_metadata(i).unwrap_or(&[])),
                    _ => "?".to_owned(),
                })
                .collect();
            format!(
                "the table map of {}.{} does not match the schema history: {what}; the history has ({}), the binlog has ({}). \
                 A schema change Sluice did not see reached this table; Sluice stops rather than decode it with the wrong columns",
                tme.database_name(),
                tme.table_name(),
                self.describe(),
                map.join(", ")
            )
        };
        if n != self.columns.len() {
            return Err(differ(format!(
                "{n} columns in the binlog, {} in the history",
                self.columns.len()
            )));
        }
        for (i, col) in self.columns.iter().enumerate() {
            let ty = tme
                .get_column_type(i)
                .map_err(|e| e.to_string())?
                .ok_or_else(|| differ(format!("column {} has no type", col.name)))?;
            let meta = tme.get_column_metadata(i).unwrap_or(&[]);
            if let Err(why) = col.matches(ty, meta) {
                return Err(differ(format!("column `{}`: {why}", col.name)));
            }
        }
        Ok(())
    }
}

impl ColumnShape {
    /// Whether a binlog column of type `ty` with `meta` can be this column.
    fn matches(&self, ty: ColumnType, meta: &[u8]) -> Result<(), String> {
        use ColumnType::*;
        let dt = self.data_type().to_ascii_lowercase();
        let args = self.args();
        let want: &[ColumnType] = match dt.as_str() {
            "tinyint" | "bool" | "boolean" => &[MYSQL_TYPE_TINY],
            "smallint" => &[MYSQL_TYPE_SHORT],
            "mediumint" => &[MYSQL_TYPE_INT24],
            "int" | "integer" => &[MYSQL_TYPE_LONG],
            "bigint" => &[MYSQL_TYPE_LONGLONG],
            "float" => &[MYSQL_TYPE_FLOAT],
            "double" | "real" => &[MYSQL_TYPE_DOUBLE],
            "decimal" | "numeric" => &[MYSQL_TYPE_NEWDECIMAL],
            "year" => &[MYSQL_TYPE_YEAR],
            "date" => &[MYSQL_TYPE_DATE, MYSQL_TYPE_NEWDATE],
            "datetime" => &[MYSQL_TYPE_DATETIME2, MYSQL_TYPE_DATETIME],
            "timestamp" => &[MYSQL_TYPE_TIMESTAMP2, MYSQL_TYPE_TIMESTAMP],
            "time" => &[MYSQL_TYPE_TIME2, MYSQL_TYPE_TIME],
            "bit" => &[MYSQL_TYPE_BIT],
            "enum" => &[MYSQL_TYPE_ENUM],
            "set" => &[MYSQL_TYPE_SET],
            "char" | "binary" => &[MYSQL_TYPE_STRING],
            "varchar" | "varbinary" => &[MYSQL_TYPE_VARCHAR, MYSQL_TYPE_VAR_STRING],
            "tinytext" | "text" | "mediumtext" | "longtext" | "tinyblob" | "blob"
            | "mediumblob" | "longblob" => &[
                MYSQL_TYPE_BLOB,
                MYSQL_TYPE_TINY_BLOB,
                MYSQL_TYPE_MEDIUM_BLOB,
                MYSQL_TYPE_LONG_BLOB,
            ],
            "json" => &[MYSQL_TYPE_JSON],
            "geometry" | "point" | "linestring" | "polygon" | "multipoint" | "multilinestring"
            | "multipolygon" | "geometrycollection" => &[MYSQL_TYPE_GEOMETRY],
            other => return Err(format!("type {other} is unknown to the schema history")),
        };
        if !want.contains(&ty) {
            return Err(format!(
                "the history says {}, the binlog says {ty:?}",
                self.column_type
            ));
        }
        let expect = |what: &str, want: u64, got: u64| {
            if want == got {
                Ok(())
            } else {
                Err(format!(
                    "{what} is {want} for {}, the binlog says {got}",
                    self.column_type
                ))
            }
        };
        let byte = |i: usize| meta.get(i).copied().map_or(0, u64::from);
        match dt.as_str() {
            "decimal" | "numeric" => {
                let (p, s) = (
                    args.first().copied().unwrap_or(10),
                    args.get(1).copied().unwrap_or(0),
                );
                expect("the precision", p, byte(0))?;
                expect("the scale", s, byte(1))
            }
            "datetime" | "timestamp" | "time"
                if matches!(
                    ty,
                    MYSQL_TYPE_DATETIME2 | MYSQL_TYPE_TIMESTAMP2 | MYSQL_TYPE_TIME2
                ) =>
            {
                expect(
                    "the fractional seconds",
                    args.first().copied().unwrap_or(0),
                    byte(0),
                )
            }
            "varchar" | "varbinary" => expect(
                "the byte length",
                args.first().copied().unwrap_or(0) * self.max_char_bytes(),
                byte(0) | (byte(1) << 8),
            ),
            "char" | "binary" => expect(
                "the byte length",
                args.first().copied().unwrap_or(1) * self.max_char_bytes(),
                super::decode::string_length(meta) as u64,
            ),
            "tinytext" | "tinyblob" => expect("the length bytes", 1, byte(0)),
            "text" | "blob" => expect("the length bytes", 2, byte(0)),
            "mediumtext" | "mediumblob" => expect("the length bytes", 3, byte(0)),
            "longtext" | "longblob" => expect("the length bytes", 4, byte(0)),
            "bit" => expect(
                "the width",
                args.first().copied().unwrap_or(1),
                byte(1) * 8 + byte(0),
            ),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(t: &str, cs: Option<&str>) -> ColumnShape {
        ColumnShape {
            name: "c".into(),
            column_type: t.into(),
            charset: cs.map(str::to_owned),
        }
    }

    #[test]
    fn column_types_are_read_as_information_schema_spells_them() {
        assert_eq!(col("int(10) unsigned", None).data_type(), "int");
        assert!(col("int(10) unsigned", None).unsigned());
        assert!(!col("int(11)", None).unsigned());
        assert!(!col("enum('unsigned','x')", Some("utf8mb4")).unsigned());
        assert_eq!(col("decimal(10,2)", None).args(), vec![10, 2]);
        assert_eq!(
            col("enum('a','it''s','b,c')", Some("utf8mb4")).labels(),
            vec!["a", "it's", "b,c"]
        );
        assert_eq!(col("set('x','y')", Some("latin1")).labels(), vec!["x", "y"]);
    }

    #[test]
    fn lengths_are_compared_in_bytes() {
        use ColumnType::*;
        let v = col("varchar(10)", Some("utf8mb4"));
        assert!(v.matches(MYSQL_TYPE_VARCHAR, &[40, 0]).is_ok());
        assert!(v.matches(MYSQL_TYPE_VARCHAR, &[30, 0]).is_err());
        assert!(v.matches(MYSQL_TYPE_LONG, &[]).is_err());
        let d = col("decimal(12,3)", None);
        assert!(d.matches(MYSQL_TYPE_NEWDECIMAL, &[12, 3]).is_ok());
        assert!(d.matches(MYSQL_TYPE_NEWDECIMAL, &[12, 2]).is_err());
        assert!(
            col("datetime(6)", None)
                .matches(MYSQL_TYPE_DATETIME2, &[6])
                .is_ok()
        );
        assert!(
            col("datetime", None)
                .matches(MYSQL_TYPE_DATETIME2, &[3])
                .is_err()
        );
        assert!(
            col("mediumtext", Some("utf8"))
                .matches(MYSQL_TYPE_BLOB, &[3])
                .is_ok()
        );
        assert!(
            col("text", Some("utf8"))
                .matches(MYSQL_TYPE_BLOB, &[3])
                .is_err()
        );
        assert!(
            col("bit(12)", None)
                .matches(MYSQL_TYPE_BIT, &[4, 1])
                .is_ok()
        );
    }

    #[test]
    fn shapes_round_trip_through_json() {
        let s = TableShape {
            columns: vec![col("int(11)", None), col("varchar(3)", Some("latin1"))],
            key: vec![0],
            charset: Some("utf8mb4".into()),
        };
        let j = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<TableShape>(&j).unwrap(), s);
    }
}
