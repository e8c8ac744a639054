//! What the decoder must know about each column beyond its binlog type:
//! name, signedness, character set and ENUM/SET labels, plus the primary
//! key. They come from one of two places, gathered here into one form:
//! * the TABLE_MAP's optional metadata (`binlog_row_metadata=FULL`);
//! * the schema history's [`TableShape`] on a server that writes none
//!   (MySQL 5.7), after the table map was checked against it.

use mysql_async::binlog::events::{OptionalMetaExtractor, OptionalMetadataField, TableMapEvent};
use mysql_async::consts::ColumnType;

use super::decode::{Charset, Collations};
use super::shape::TableShape;

/// One entry per column, in row order.
pub(super) struct Facts {
    pub columns: Vec<String>,
    pub key: Vec<usize>,
    pub unsigned: Vec<bool>,
    /// For character columns; `None` for the others.
    pub charsets: Vec<Option<Charset>>,
    /// For ENUM and SET columns.
    pub labels: Vec<Option<Vec<String>>>,
}

impl Facts {
    /// From the table map's metadata; `Ok(None)` when it carries no column
    /// names (the server writes no row metadata).
    pub fn from_metadata(
        tme: &TableMapEvent<'_>,
        collations: &Collations,
    ) -> Result<Option<Facts>, String> {
        let (database, table) = (tme.database_name(), tme.table_name());
        let n = tme.columns_count() as usize;
        let bad = |e: std::io::Error| format!("table map of {database}.{table}: {e}");
        let meta = OptionalMetaExtractor::new(tme.iter_optional_meta()).map_err(bad)?;
        let columns: Vec<String> = meta
            .iter_column_name()
            .map(|c| c.map(|c| c.name().into_owned()))
            .collect::<Result<_, _>>()
            .map_err(bad)?;
        if columns.is_empty() && n > 0 {
            return Ok(None);
        }
        if columns.len() != n {
            return Err(format!(
                "table map of {database}.{table} carries {} column names for {n} columns; set binlog_row_metadata=FULL on the source",
                columns.len()
            ));
        }
        let key: Vec<usize> = meta
            .iter_primary_key()
            .map(|k| k.map(|k| k as usize))
            .collect::<Result<_, _>>()
            .map_err(bad)?;
        // Labels of every ENUM and every SET column, in column order.
        let mut enums = Vec::new();
        let mut sets = Vec::new();
        for field in tme.iter_optional_meta() {
            let field = field.map_err(bad)?;
            match &field {
                OptionalMetadataField::EnumStrValue(v) => {
                    for l in v.iter_values() {
                        enums.push(
                            l.map_err(bad)?
                                .values()
                                .iter()
                                .map(|x| x.value().into_owned())
                                .collect::<Vec<_>>(),
                        );
                    }
                }
                OptionalMetadataField::SetStrValue(v) => {
                    for l in v.iter_values() {
                        sets.push(
                            l.map_err(bad)?
                                .values()
                                .iter()
                                .map(|x| x.value().into_owned())
                                .collect::<Vec<_>>(),
                        );
                    }
                }
                _ => {}
            }
        }
        let (mut enums, mut sets) = (enums.into_iter(), sets.into_iter());
        let mut signedness = meta.iter_signedness();
        let mut charset_ids = meta.iter_charset();
        let mut facts = Facts {
            columns: Vec::with_capacity(n),
            key,
            unsigned: Vec::with_capacity(n),
            charsets: Vec::with_capacity(n),
            labels: Vec::with_capacity(n),
        };
        for (i, name) in columns.into_iter().enumerate() {
            let ty = column_type(tme, i, &name)?;
            // Same walk as mysql_common: one signedness bit per numeric
            // column, one charset per character column.
            facts
                .unsigned
                .push(ty.is_numeric_type() && signedness.next().unwrap_or(false));
            facts.charsets.push(if ty.is_character_type() {
                let id = charset_ids
                    .next()
                    .transpose()
                    .map_err(|e| e.to_string())?
                    .ok_or_else(|| format!("column `{name}` of {database}.{table} has no charset; set binlog_row_metadata=FULL"))?;
                Some(collations.charset(id, &name)?)
            } else {
                None
            });
            facts.labels.push(match ty {
                ColumnType::MYSQL_TYPE_ENUM => enums.next(),
                ColumnType::MYSQL_TYPE_SET => sets.next(),
                _ => None,
            });
            facts.columns.push(name);
        }
        Ok(Some(facts))
    }

    /// From a shape the table map was checked against.
    pub fn from_shape(shape: &TableShape, tme: &TableMapEvent<'_>) -> Result<Facts, String> {
        let mut facts = Facts {
            columns: Vec::new(),
            key: shape.key.clone(),
            unsigned: Vec::new(),
            charsets: Vec::new(),
            labels: Vec::new(),
        };
        for (i, c) in shape.columns.iter().enumerate() {
            let ty = column_type(tme, i, &c.name)?;
            facts.unsigned.push(ty.is_numeric_type() && c.unsigned());
            let binary = matches!(
                c.data_type().to_ascii_lowercase().as_str(),
                "binary" | "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob"
            );
            facts.charsets.push(match &c.charset {
                _ if binary => Some(Charset::Binary),
                Some(cs) => Some(Charset::named(cs, &c.name)?),
                None => None,
            });
            facts.labels.push(
                matches!(ty, ColumnType::MYSQL_TYPE_ENUM | ColumnType::MYSQL_TYPE_SET)
                    .then(|| c.labels()),
            );
            facts.columns.push(c.name.clone());
        }
        Ok(facts)
    }

    /// With both metadata and a history: the metadata wins, and a history
    /// that disagrees on the names or the key is an error.
    pub fn agrees_with(&self, shape: &TableShape, tme: &TableMapEvent<'_>) -> Result<(), String> {
        let names: Vec<&str> = shape.columns.iter().map(|c| c.name.as_str()).collect();
        if names != self.columns.iter().map(String::as_str).collect::<Vec<_>>()
            || shape.key != self.key
        {
            return Err(format!(
                "the table map of {}.{} names the columns ({}) with key {:?}, and the schema history has ({}) with key {:?}; they must agree",
                tme.database_name(),
                tme.table_name(),
                self.columns.join(", "),
                self.key,
                shape.describe(),
                shape.key
            ));
        }
        Ok(())
    }
}

fn column_type(tme: &TableMapEvent<'_>, i: usize, name: &str) -> Result<ColumnType, String> {
    tme.get_column_type(i)
        .map_err(|e| {
            format!(
                "column `{name}` of {}.{}: {e}",
                tme.database_name(),
                tme.table_name()
            )
        })?
        .ok_or_else(|| {
            format!(
                "column `{name}` of {}.{} has no type",
                tme.database_name(),
                tme.table_name()
            )
        })
}
