//! `sluice plugin test PLUGIN.wasm --input changes.jsonl [--config k=v]`:
//! run one plugin on sample changes, outside any pipeline, and print what
//! comes out, with timings.
//!
//! Input: one change per line, the JSON that Sluice writes for a change
//! (`sluice_dead_letter.change_json`) plus the table:
//! `{"table": "shop.product", "op": "update", "before": {...}, "after": {...}}`,
//! optionally `"key": ["id"]` (default: `id` when there is such a column,
//! else the first). Column order is the order in the line. Consecutive
//! lines of one table with the same columns make one batch, as in a
//! pipeline. JSON numbers become integers or doubles, strings text, `true`
//! and `false` 1 and 0.
//!
//! The plugin runs exactly as in a pipeline: the same runtime limits, `init`
//! with the config, the same chain semantics (a rejected update becomes a
//! delete), the same edits applied by the host.

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use serde::de::{Deserializer, MapAccess, Visitor};

use super::{Instance, Limits, PluginHandle, PluginKind, Runtime};
use crate::change::change_json;
use crate::change::{Op, RowChange, TableChanges, TableSchema, Value};
use crate::pipeline::Chain;

/// A JSON object that keeps its keys in the order they were written.
struct Ordered(Vec<(String, serde_json::Value)>);

impl<'de> serde::Deserialize<'de> for Ordered {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Ordered;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of column names to values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Ordered, A::Error> {
                let mut out = Vec::new();
                while let Some(entry) = m.next_entry()? {
                    out.push(entry);
                }
                Ok(Ordered(out))
            }
        }
        d.deserialize_map(V)
    }
}

#[derive(serde::Deserialize)]
struct Line {
    table: String,
    op: String,
    before: Option<Ordered>,
    after: Option<Ordered>,
    key: Option<Vec<String>>,
}

fn value(j: &serde_json::Value) -> Result<Value, String> {
    use serde_json::Value as J;
    Ok(match j {
        J::Null => Value::Null,
        J::Bool(b) => Value::Int(i64::from(*b)),
        J::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => Value::Int(i),
            (_, Some(u), _) => Value::UInt(u),
            (_, _, Some(f)) => Value::Double(f),
            _ => return Err(format!("number {n} is out of range")),
        },
        J::String(s) => Value::Text(s.clone()),
        other => {
            return Err(format!(
                "{other} is not a column value (use a string for JSON)"
            ));
        }
    })
}

/// One input line as a schema and a row change.
pub(crate) fn parse(line: &str) -> Result<(TableSchema, RowChange), String> {
    let l: Line = serde_json::from_str(line).map_err(|e| e.to_string())?;
    let (database, table) = l
        .table
        .split_once('.')
        .ok_or_else(|| format!("table `{}` is not db.table", l.table))?;
    let op = match l.op.as_str() {
        "insert" => Op::Insert,
        "update" => Op::Update,
        "delete" => Op::Delete,
        other => return Err(format!("op `{other}` is not insert, update or delete")),
    };
    let (need_before, need_after) = (op != Op::Insert, op != Op::Delete);
    if need_before != l.before.is_some() || need_after != l.after.is_some() {
        return Err(format!(
            "an {} has {}",
            l.op,
            match op {
                Op::Insert => "`after` only",
                Op::Update => "`before` and `after`",
                Op::Delete => "`before` only",
            }
        ));
    }
    let first = l.after.as_ref().or(l.before.as_ref()).expect("one image");
    let columns: Vec<String> = first.0.iter().map(|(c, _)| c.clone()).collect();
    if columns.is_empty() {
        return Err("a row needs at least one column".into());
    }
    let image = |img: &Option<Ordered>| -> Result<Option<Vec<Value>>, String> {
        let Some(img) = img else { return Ok(None) };
        let names: Vec<&String> = img.0.iter().map(|(c, _)| c).collect();
        if names != columns.iter().collect::<Vec<_>>() {
            return Err("`before` and `after` must name the same columns in the same order".into());
        }
        img.0
            .iter()
            .map(|(c, v)| value(v).map_err(|e| format!("column {c}: {e}")))
            .collect::<Result<_, _>>()
            .map(Some)
    };
    let (before, after) = (image(&l.before)?, image(&l.after)?);
    let key_names = l.key.unwrap_or_else(|| {
        vec![if columns.iter().any(|c| c == "id") {
            "id".into()
        } else {
            columns[0].clone()
        }]
    });
    let key = key_names
        .iter()
        .map(|k| {
            columns
                .iter()
                .position(|c| c == k)
                .ok_or_else(|| format!("key column `{k}` is not in the row"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let schema = TableSchema {
        database: database.to_owned(),
        table: table.to_owned(),
        columns,
        key,
        target_table: None,
    };
    Ok((schema, RowChange { op, before, after }))
}

/// What a run produced.
pub struct Report {
    /// One JSON line per change out.
    pub lines: Vec<String>,
    pub rows_in: usize,
    pub batches: usize,
    /// Time inside the plugin chain (calls and edits), all batches.
    pub took: Duration,
}

/// Run the plugin at `path` with `config` (JSON) on the changes in `input`.
pub fn run(path: &Path, input: &str, config: serde_json::Value) -> anyhow::Result<Report> {
    let name = path
        .file_stem()
        .and_then(|s| s.to_str())
        .ok_or_else(|| anyhow::anyhow!("{}: no file name", path.display()))?;
    let runtime = Runtime::new(
        Limits {
            memory_bytes: 64 << 20,
            deadline: Duration::from_millis(100),
        },
        None,
    )?;
    let loaded = runtime
        .load(name, path, config.to_string())
        .map_err(anyhow::Error::msg)?;
    runtime
        .validate(name, &loaded)
        .map_err(anyhow::Error::msg)?;
    let kind = loaded.kind();
    let handle = Arc::new(PluginHandle {
        name: Arc::from(name),
        kind,
        current: ArcSwap::from_pointee(loaded),
    });
    let instance = Instance::new(runtime, handle);
    let mut chain = match kind {
        PluginKind::Filter => Chain {
            filters: vec![instance],
            mappers: Vec::new(),
        },
        PluginKind::Mapper => Chain {
            filters: Vec::new(),
            mappers: vec![instance],
        },
    };
    // Batches of consecutive lines with the same table and columns.
    let mut batches: Vec<TableChanges> = Vec::new();
    let mut rows_in = 0;
    for (n, line) in input
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let (schema, row) =
            parse(line).map_err(|e| anyhow::anyhow!("input line {}: {e}", n + 1))?;
        rows_in += 1;
        match batches.last_mut() {
            Some(b) if *b.schema == schema => b.rows.push(row),
            _ => batches.push(TableChanges {
                schema: Arc::new(schema),
                rows: vec![row],
            }),
        }
    }
    let mut report = Report {
        lines: Vec::new(),
        rows_in,
        batches: batches.len(),
        took: Duration::ZERO,
    };
    for batch in batches {
        chain.pin();
        let started = Instant::now();
        let out = chain.run("plugin-test", batch).map_err(|e| {
            anyhow::anyhow!("plugin `{}` failed ({}): {}", e.plugin, e.kind, e.message)
        })?;
        report.took += started.elapsed();
        for b in out {
            let table = b
                .schema
                .target_table
                .clone()
                .unwrap_or_else(|| format!("{}.{}", b.schema.database, b.schema.table));
            for row in &b.rows {
                let mut j = change_json(&b.schema, row);
                j["table"] = serde_json::Value::String(table.clone());
                report.lines.push(j.to_string());
            }
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    /// Found by the `jsonl` fuzz target: an empty image panicked while the
    /// default key was picked.
    #[test]
    fn an_image_without_columns_is_an_error() {
        let e = super::parse(r#"{"table":"shop.p","op":"insert","after":{}}"#).unwrap_err();
        assert!(e.contains("at least one column"), "{e}");
        crate::fuzz::jsonl(br#"{"table":"shop.p","op":"insert","after":{}}"#);
    }

    use super::*;

    #[test]
    fn lines_parse_with_their_column_order_and_key() {
        let (s, r) = parse(r#"{"table":"shop.p","op":"update","before":{"sku":"a","qty":1},"after":{"sku":"a","qty":2.5},"key":["sku"]}"#).unwrap();
        assert_eq!(s.columns, ["sku", "qty"]);
        assert_eq!(s.key, [0]);
        assert_eq!(r.after.unwrap()[1], Value::Double(2.5));
        let (s, _) =
            parse(r#"{"table":"shop.p","op":"insert","after":{"name":"x","id":7}}"#).unwrap();
        assert_eq!(s.key, [1], "id is the default key");
        for bad in [
            r#"{"table":"p","op":"insert","after":{"id":1}}"#,
            r#"{"table":"s.p","op":"upsert","after":{"id":1}}"#,
            r#"{"table":"s.p","op":"update","after":{"id":1}}"#,
            r#"{"table":"s.p","op":"update","before":{"id":1},"after":{"id":1,"x":2}}"#,
            r#"{"table":"s.p","op":"insert","after":{"id":[1]}}"#,
            r#"{"table":"s.p","op":"insert","after":{"id":1},"key":["nope"]}"#,
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
