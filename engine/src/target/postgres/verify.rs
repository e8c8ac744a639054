//! `sluice verify` into PostgreSQL: both sides' rows, hashed alike in the
//! engine.
//!
//! MySQL and PostgreSQL share no checksum expression, so each range's rows
//! are read from both servers and every cell is put in one canonical text
//! form before hashing: PostgreSQL formats its values with an expression
//! per column type (`to_char` for timestamps, microseconds for intervals,
//! hex for bytea), and the source's values are formatted the same way for
//! the target column they go to (module `canon`). Floats and JSON are
//! parsed and printed again on both sides (jsonb reorders keys). A range
//! holds `chunk_rows` rows, so memory stays bounded.
//!
//! Range membership must agree on both servers, so the key may not contain
//! text columns (MySQL's collations and PostgreSQL's order text
//! differently); such tables are refused with that reason.
//!
//! # Repair
//! As for MySQL: the repair transaction first locks the pipeline's
//! checkpoint row (`SELECT ... FOR UPDATE`), which every apply writes, so
//! the target stays at its checkpoint `C`; the source is then read in a
//! consistent read at `P >= C`, the range is emptied and the source's rows
//! written. Replaying `(C, P]` afterwards ends each key at its state at
//! `P`, so no newer change is undone.

use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};

use mysql_async::Conn;

use super::sql::{Param, Shape, quote};
use super::{PgTable, PostgresTarget};
use crate::change::{Op, RowChange, Value};
use crate::source::snapshot::ConsistentRead;
use crate::source::table::SqlTable;
use crate::source::{Server, SourceError};
use crate::target::{Digest, KeyRange, RangeVerify, Repaired, Routed};

/// Canonical cells of one row (`None` is NULL).
type Canon = Vec<Option<String>>;

fn src(e: SourceError) -> String {
    e.to_string()
}

/// A source value in the canonical form of a PostgreSQL column of type
/// `ty` (the catalog's `typname`) and `shape`.
fn canon_value(v: &Value, ty: &str, shape: Shape) -> Option<String> {
    Some(match v {
        Value::Null => return None,
        Value::Int(i) if ty == "bool" => (if *i == 0 { "0" } else { "1" }).to_owned(),
        Value::UInt(u) if ty == "bool" => (if *u == 0 { "0" } else { "1" }).to_owned(),
        Value::Int(i) => i.to_string(),
        Value::UInt(u) => u.to_string(),
        Value::Float(f) => format!("{f:?}"),
        Value::Double(f) if ty == "float4" => format!("{:?}", *f as f32),
        Value::Double(f) => format!("{f:?}"),
        Value::Decimal(s) => s.clone(),
        Value::Text(s) | Value::Json(s) if ty == "json" || ty == "jsonb" => canon_json(s),
        Value::Text(s) | Value::Json(s) => s.clone(),
        Value::Bytes(b) => match shape {
            Shape::Bits(n) => {
                let digits: String = b.iter().map(|x| format!("{x:08b}")).collect();
                let keep = if n == 0 { digits.len() } else { n as usize };
                digits[digits.len().saturating_sub(keep)..].to_owned()
            }
            Shape::Bytea => b.iter().map(|x| format!("{x:02x}")).collect(),
            _ => String::from_utf8_lossy(b).into_owned(),
        },
        Value::Date(d) => d.to_string(),
        Value::DateTime(t) => t.to_string(),
        Value::Timestamp(ts) => ts.to_utc().to_string(),
        Value::Time(t) => {
            let micros = ((i64::from(t.hours) * 60 + i64::from(t.minutes)) * 60
                + i64::from(t.seconds))
                * 1_000_000
                + i64::from(t.micros);
            (if t.negative { -micros } else { micros }).to_string()
        }
    })
}

/// JSON printed again from its parsed value: object keys sorted, no
/// insignificant spaces. Text that is not JSON stays as it is.
fn canon_json(s: &str) -> String {
    serde_json::from_str::<serde_json::Value>(s).map_or_else(|_| s.to_owned(), |v| v.to_string())
}

/// The expression that reads column `c` of type `ty` in canonical form.
fn canon_expr(c: &str, ty: &str) -> String {
    let c = quote(c);
    match ty {
        "timestamp" => format!("to_char({c}, 'YYYY-MM-DD HH24:MI:SS.US')"),
        "timestamptz" => format!("to_char({c} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')"),
        "interval" | "time" => format!("(extract(epoch from {c}) * 1000000)::bigint::text"),
        "bytea" => format!("encode({c}, 'hex')"),
        "bool" => format!("CASE WHEN {c} THEN '1' ELSE '0' END"),
        _ => format!("{c}::text"),
    }
}

/// A PostgreSQL cell read by [`canon_expr`], finished where the text alone
/// is not canonical.
fn canon_read(text: Option<&str>, ty: &str) -> Option<String> {
    let t = text?;
    Some(match ty {
        "float4" => t
            .parse::<f32>()
            .map_or_else(|_| t.to_owned(), |f| format!("{f:?}")),
        "float8" => t
            .parse::<f64>()
            .map_or_else(|_| t.to_owned(), |f| format!("{f:?}")),
        "json" | "jsonb" => canon_json(t),
        _ => t.to_owned(),
    })
}

fn row_hash(row: &Canon) -> u64 {
    // One process computes both sides, so the fixed-key SipHash of the
    // standard library gives both the same digest.
    let mut h = std::collections::hash_map::DefaultHasher::new();
    row.hash(&mut h);
    h.finish()
}

fn digest(rows: &[Canon]) -> Digest {
    (
        rows.len() as u64,
        rows.iter().fold(0, |acc, r| acc ^ row_hash(r)),
    )
}

/// The key cells of a canonical row, for the report.
fn key_text(table: &SqlTable, row: &Canon) -> String {
    table
        .schema
        .key
        .iter()
        .map(|&k| {
            format!(
                "{}={}",
                table.schema.columns[k],
                row[k].as_deref().unwrap_or("NULL")
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

impl PostgresTarget {
    /// The target table, and each source column's PostgreSQL type name and
    /// shape; refuses tables whose key holds text (module doc).
    async fn verify_table(
        &mut self,
        table: &SqlTable,
        target_table: &str,
    ) -> Result<(std::sync::Arc<PgTable>, Vec<(String, Shape)>), String> {
        let t = self
            .pg_table(target_table)
            .await
            .map_err(|e| e.to_string())?;
        let mut cols = Vec::with_capacity(table.schema.columns.len());
        for c in &table.schema.columns {
            match (t.types.get(c), t.shapes.get(c)) {
                (Some(ty), Some(shape)) => cols.push((ty.clone(), *shape)),
                _ => {
                    return Err(format!(
                        "target table {}.{} has no column `{c}`",
                        t.schema, t.name
                    ));
                }
            }
        }
        for &k in &table.schema.key {
            if matches!(
                cols[k].0.as_str(),
                "text" | "varchar" | "bpchar" | "name" | "citext"
            ) {
                return Err(format!(
                    "{}: its key column `{}` is text, which MySQL's collation and PostgreSQL order differently, so ranges would not match; verify into PostgreSQL needs keys of numbers, binary strings or temporals",
                    table.quoted(),
                    table.schema.columns[k]
                ));
            }
        }
        Ok((t, cols))
    }

    /// `WHERE` for `range` over the key columns, with its parameters.
    fn range_sql<'a>(
        table: &'a SqlTable,
        cols: &[(String, Shape)],
        range: &'a KeyRange,
    ) -> (String, Vec<Param<'a>>) {
        let key: Vec<usize> = table.schema.key.clone();
        let names = key
            .iter()
            .map(|&k| quote(&table.schema.columns[k]))
            .collect::<Vec<_>>()
            .join(", ");
        let mut parts = Vec::new();
        let mut params = Vec::new();
        for (bound, op) in [(&range.after, ">"), (&range.upto, "<=")] {
            let Some(values) = bound else { continue };
            let marks: Vec<String> = (0..key.len())
                .map(|i| format!("${}", params.len() + i + 1))
                .collect();
            parts.push(format!("({names}) {op} ({})", marks.join(", ")));
            for (i, &k) in key.iter().enumerate() {
                params.push(Param {
                    value: &values[i],
                    shape: cols[k].1,
                    column: &table.schema.columns[k],
                });
            }
        }
        let cond = if parts.is_empty() {
            "TRUE".to_owned()
        } else {
            parts.join(" AND ")
        };
        (cond, params)
    }

    /// The target rows of `range`, canonical.
    async fn target_rows(
        &mut self,
        table: &SqlTable,
        target_table: &str,
        range: &KeyRange,
    ) -> Result<Vec<Canon>, String> {
        let (t, cols) = self.verify_table(table, target_table).await?;
        let exprs: Vec<String> = table
            .schema
            .columns
            .iter()
            .zip(&cols)
            .map(|(c, (ty, _))| canon_expr(c, ty))
            .collect();
        let (cond, params) = Self::range_sql(table, &cols, range);
        let sql = format!(
            "SELECT {} FROM {}.{} WHERE {cond}",
            exprs.join(", "),
            quote(&t.schema),
            quote(&t.name)
        );
        let client = self.client().await.map_err(|e| e.to_string())?;
        let rows = client
            .query_raw(&sql, params.iter())
            .await
            .map_err(|e| format!("reading {}.{}: {e}", t.schema, t.name))?;
        use futures_util::TryStreamExt;
        let rows: Vec<tokio_postgres::Row> = rows
            .try_collect()
            .await
            .map_err(|e| format!("reading {}.{}: {e}", t.schema, t.name))?;
        Ok(rows
            .iter()
            .map(|r| {
                (0..cols.len())
                    .map(|i| canon_read(r.get::<_, Option<&str>>(i), &cols[i].0))
                    .collect()
            })
            .collect())
    }

    /// The source rows of `range`, read on `conn`, canonical for the
    /// target's columns.
    async fn source_rows(
        &mut self,
        conn: &mut Conn,
        table: &SqlTable,
        target_table: &str,
        range: &KeyRange,
    ) -> Result<(Vec<Vec<Value>>, Vec<Canon>), String> {
        let (_, cols) = self.verify_table(table, target_table).await?;
        let (cond, params) = table.key_range(range.after.as_deref(), range.upto.as_deref());
        let sql = format!(
            "SELECT {} FROM {} WHERE {cond}",
            table.column_list(),
            table.quoted()
        );
        let rows = table.read(conn, &sql, params).await.map_err(src)?;
        let canon = rows
            .iter()
            .map(|r| {
                r.iter()
                    .zip(&cols)
                    .map(|(v, (ty, shape))| canon_value(v, ty, *shape))
                    .collect()
            })
            .collect();
        Ok((rows, canon))
    }
}

impl RangeVerify for PostgresTarget {
    async fn source_digest(
        &mut self,
        source: &mut Conn,
        table: &SqlTable,
        target_table: &str,
        range: &KeyRange,
    ) -> Result<Digest, String> {
        let (_, canon) = self.source_rows(source, table, target_table, range).await?;
        Ok(digest(&canon))
    }

    async fn target_digest(
        &mut self,
        table: &SqlTable,
        target_table: &str,
        range: &KeyRange,
    ) -> Result<Digest, String> {
        Ok(digest(&self.target_rows(table, target_table, range).await?))
    }

    async fn first_differences(
        &mut self,
        server: &Server,
        table: &SqlTable,
        target_table: &str,
        range: &KeyRange,
    ) -> Result<String, String> {
        let mut conn = server.connect().await.map_err(src)?;
        use mysql_async::prelude::Queryable;
        conn.query_drop("SET time_zone = '+00:00', NAMES utf8mb4")
            .await
            .map_err(|e| e.to_string())?;
        let (_, s) = self
            .source_rows(&mut conn, table, target_table, range)
            .await?;
        let t = self.target_rows(table, target_table, range).await?;
        let by_key = |rows: &[Canon]| -> HashMap<String, u64> {
            rows.iter()
                .map(|r| (key_text(table, r), row_hash(r)))
                .collect()
        };
        let (sm, tm) = (by_key(&s), by_key(&t));
        let mut out = Vec::new();
        for (k, h) in &sm {
            match tm.get(k) {
                None => out.push(format!("{k} missing in the target")),
                Some(th) if th != h => out.push(format!("{k} differs")),
                _ => {}
            }
        }
        out.extend(
            tm.keys()
                .filter(|k| !sm.contains_key(*k))
                .map(|k| format!("{k} only in the target")),
        );
        out.sort();
        let more = out.len().saturating_sub(5);
        out.truncate(5);
        Ok(match (out.is_empty(), more) {
            (true, _) => String::new(),
            (false, 0) => format!("; rows: {}", out.join(", ")),
            (false, m) => format!("; first rows: {} (and {m} more)", out.join(", ")),
        })
    }

    async fn repair_range(
        &mut self,
        pipeline: &str,
        target_table: &str,
        table: &SqlTable,
        server: &Server,
        range: &KeyRange,
    ) -> Result<Repaired, String> {
        let (t, cols) = self.verify_table(table, target_table).await?;
        let probe = Routed {
            table: target_table.to_owned(),
            schema: table.schema.clone(),
            rows: Vec::new(),
            end: crate::position::BinlogPosition {
                file: crate::position::BinlogFile::new("repair.000000").expect("valid name"),
                pos: 0,
            },
        };
        let prep = self.prepared_for(&probe).await.map_err(|e| e.to_string())?;
        let name = self.name.clone();
        let fail = |what: &str| {
            let (name, what) = (name.clone(), what.to_owned());
            move |e: tokio_postgres::Error| format!("target `{name}`: {what}: {e}")
        };
        let schema = quote(&self.config.schema);
        self.client().await.map_err(|e| e.to_string())?;
        let result = async {
            let client = self.client.as_ref().expect("connected above");
            client.batch_execute("BEGIN").await.map_err(fail("BEGIN"))?;
            client
                .execute(
                    &format!("SELECT pipeline FROM {schema}.sluice_checkpoint WHERE pipeline = $1 FOR UPDATE"),
                    &[&pipeline],
                )
                .await
                .map_err(fail("locking the checkpoint"))?;
            let mut read = ConsistentRead::open(server, &[]).await.map_err(src)?;
            let (rows, canon) = self.source_rows(read.conn(), table, target_table, range).await?;
            drop(read);
            let in_source: HashSet<String> = canon.iter().map(|r| key_text(table, r)).collect();
            let key_exprs: Vec<String> = table
                .schema
                .key
                .iter()
                .map(|&k| canon_expr(&table.schema.columns[k], &cols[k].0))
                .collect();
            let (cond, params) = Self::range_sql(table, &cols, range);
            let client = self.client.as_ref().expect("connected above");
            let gone = client
                .query_raw(
                    &format!(
                        "DELETE FROM {}.{} WHERE {cond} RETURNING {}",
                        quote(&t.schema),
                        quote(&t.name),
                        key_exprs.join(", ")
                    ),
                    params.iter(),
                )
                .await
                .map_err(fail("emptying the range"))?;
            use futures_util::TryStreamExt;
            let gone: Vec<tokio_postgres::Row> = gone.try_collect().await.map_err(fail("emptying the range"))?;
            let deleted = gone
                .iter()
                .filter(|r| {
                    let mut full: Canon = vec![None; table.schema.columns.len()];
                    for (i, &k) in table.schema.key.iter().enumerate() {
                        full[k] = canon_read(r.get::<_, Option<&str>>(i), &cols[k].0);
                    }
                    !in_source.contains(&key_text(table, &full))
                })
                .count();
            let written = rows.len();
            let routed = [Routed {
                rows: rows
                    .into_iter()
                    .map(|r| RowChange {
                        op: Op::Insert,
                        before: None,
                        after: Some(r),
                    })
                    .collect(),
                ..probe
            }];
            self.batched(&routed, &[prep])
                .await
                .map_err(|_| format!("target `{name}`: writing the source rows of the range"))?;
            self.simple("COMMIT")
                .await
                .map_err(|_| format!("target `{name}`: COMMIT"))?;
            Ok(Repaired { deleted, written })
        }
        .await;
        if result.is_err() {
            self.rollback("ROLLBACK").await;
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_sides_print_a_value_alike() {
        use sluice_cell::{Time, Timestamp};
        let t = Time {
            negative: true,
            hours: 838,
            minutes: 59,
            seconds: 59,
            micros: 1,
        };
        assert_eq!(
            canon_value(&Value::Time(t), "interval", Shape::Plain).as_deref(),
            Some("-3020399000001")
        );
        let ts = Timestamp {
            seconds: 1,
            micros: 0,
        };
        assert_eq!(
            canon_value(&Value::Timestamp(ts), "timestamptz", Shape::Plain).as_deref(),
            Some("1970-01-01 00:00:01.000000")
        );
        assert_eq!(
            canon_value(&Value::Bytes(vec![1, 255]), "bit", Shape::Bits(9)).as_deref(),
            Some("111111111")
        );
        assert_eq!(
            canon_value(
                &Value::Text("{\"b\": 1, \"a\": [1, 2]}".into()),
                "jsonb",
                Shape::Plain
            ),
            canon_read(Some("{\"a\": [1, 2], \"b\": 1}"), "jsonb")
        );
        assert_eq!(
            canon_value(&Value::Float(-3.40282e38), "float4", Shape::Plain),
            canon_read(Some("-3.40282e+38"), "float4")
        );
    }
}
