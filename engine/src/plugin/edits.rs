//! Applying a mapper's edits to a batch, natively.
//!
//! Column and row indexes in edits refer to the batch as the plugin received
//! it, so drops are only marked while the edits are read and carried out
//! at the end; renames, cell sets and additions therefore never shift each
//! other's indexes. A schema edit is made once per batch (the schema is
//! shared by all its rows); row values are moved, not cloned.
//!
//! The primary key follows renames. Dropping a key column is refused: the
//! target could no longer apply updates and deletes by key.

use std::sync::Arc;

use sluice_cell::Decoder;

use super::bindings::{Edit, Image, WitOp};
use crate::change::{Op, RowChange, TableChanges, TableSchema, Value};

/// The batch after the edits, plus extra rows the mapper emitted.
#[derive(Debug)]
pub struct Mapped {
    pub batch: TableChanges,
    pub extra: Vec<TableChanges>,
}

fn decode(cells: &[u8], expected: usize) -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    Decoder::new(cells)
        .and_then(|d| d.read_all(expected, &mut out))
        .map_err(|e| format!("bad cells: {e}"))?;
    Ok(out.iter().map(|c| c.to_value()).collect())
}

fn op(o: WitOp) -> Op {
    match o {
        WitOp::Insert => Op::Insert,
        WitOp::Update => Op::Update,
        WitOp::Delete => Op::Delete,
    }
}

/// Apply `edits` to `batch`. An error is a mapper bug (bad index, bad
/// cells, a dropped key column) and is reported as the plugin's fault.
pub fn apply(mut batch: TableChanges, edits: Vec<Edit>) -> Result<Mapped, String> {
    if edits.is_empty() {
        return Ok(Mapped {
            batch,
            extra: Vec::new(),
        });
    }
    let width = batch.schema.columns.len();
    let rows = batch.rows.len();
    let mut schema: TableSchema = (*batch.schema).clone();
    let mut drop_col = vec![false; width];
    let mut drop_row = vec![false; rows];
    let mut extra = Vec::new();
    let col = |c: u32| -> Result<usize, String> {
        let c = c as usize;
        if c < width {
            Ok(c)
        } else {
            Err(format!("edit names column {c}, but the batch has {width}"))
        }
    };
    for edit in edits {
        match edit {
            Edit::SetCells(s) => {
                let c = col(s.column)?;
                let values = decode(&s.cells, rows)?;
                for (row, v) in batch.rows.iter_mut().zip(values) {
                    let img = match s.image {
                        Image::Before => &mut row.before,
                        Image::After => &mut row.after,
                    };
                    if let Some(img) = img {
                        img[c] = v;
                    }
                }
            }
            Edit::RenameColumn(r) => {
                let c = col(r.column)?;
                schema.columns[c] = r.name;
            }
            Edit::DropColumn(c) => {
                let c = col(c)?;
                if schema.key.contains(&c) {
                    return Err(format!(
                        "mapper dropped primary key column `{}`; the target applies changes by key, so key columns must stay",
                        schema.columns[c]
                    ));
                }
                drop_col[c] = true;
            }
            Edit::AddColumn(a) => {
                let before = decode(&a.before, rows)?;
                let after = decode(&a.after, rows)?;
                schema.columns.push(a.name);
                drop_col.push(false);
                for ((row, b), af) in batch.rows.iter_mut().zip(before).zip(after) {
                    if let Some(img) = &mut row.before {
                        img.push(b);
                    }
                    if let Some(img) = &mut row.after {
                        img.push(af);
                    }
                }
            }
            Edit::DropRow(r) => {
                let r = r as usize;
                if r >= rows {
                    return Err(format!("edit drops row {r}, but the batch has {rows}"));
                }
                drop_row[r] = true;
            }
            Edit::EmitRow(e) => {
                let n = e.columns.len();
                let key = e
                    .key
                    .iter()
                    .map(|k| {
                        e.columns.iter().position(|c| c == k).ok_or_else(|| {
                            format!("emitted row key `{k}` is not one of its columns")
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let op = op(e.op);
                let before = (op != Op::Insert)
                    .then(|| decode(&e.before, n))
                    .transpose()?;
                let after = (op != Op::Delete)
                    .then(|| decode(&e.after, n))
                    .transpose()?;
                extra.push(TableChanges {
                    schema: Arc::new(TableSchema {
                        database: batch.schema.database.clone(),
                        table: e.table.clone(),
                        columns: e.columns,
                        key,
                        target_table: Some(e.table),
                    }),
                    rows: vec![RowChange { op, before, after }],
                });
            }
            Edit::SetTargetTable(t) => schema.target_table = Some(t),
        }
    }
    // Carry out the drops.
    if drop_col.iter().any(|d| *d) {
        let keep: Vec<usize> = (0..schema.columns.len())
            .filter(|&c| !drop_col[c])
            .collect();
        let remap = |c: usize| {
            keep.iter()
                .position(|&k| k == c)
                .expect("key columns are never dropped")
        };
        schema.key = schema.key.iter().map(|&k| remap(k)).collect();
        schema.columns = keep
            .iter()
            .map(|&c| std::mem::take(&mut schema.columns[c]))
            .collect();
        for row in &mut batch.rows {
            for img in [&mut row.before, &mut row.after].into_iter().flatten() {
                let mut i = 0;
                img.retain(|_| {
                    let k = !drop_col[i];
                    i += 1;
                    k
                });
            }
        }
    }
    if drop_row.iter().any(|d| *d) {
        let mut i = 0;
        batch.rows.retain(|_| {
            let k = !drop_row[i];
            i += 1;
            k
        });
    }
    batch.schema = Arc::new(schema);
    Ok(Mapped { batch, extra })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::bindings::filter::sluice::plugin::types::RenameColumn;

    fn batch() -> TableChanges {
        TableChanges {
            schema: Arc::new(TableSchema {
                database: "d".into(),
                table: "t".into(),
                columns: vec!["id".into(), "name".into(), "cost".into()],
                key: vec![0],
                target_table: None,
            }),
            rows: vec![RowChange {
                op: Op::Update,
                before: Some(vec![Value::Int(1), Value::Text("a".into()), Value::Int(5)]),
                after: Some(vec![Value::Int(1), Value::Text("b".into()), Value::Int(6)]),
            }],
        }
    }

    #[test]
    fn drops_and_renames_refer_to_the_original_indexes() {
        let out = apply(
            batch(),
            vec![
                Edit::DropColumn(1),
                Edit::RenameColumn(RenameColumn {
                    column: 2,
                    name: "price".into(),
                }),
            ],
        )
        .unwrap();
        assert_eq!(out.batch.schema.columns, vec!["id", "price"]);
        assert_eq!(
            out.batch.rows[0].after.as_ref().unwrap(),
            &vec![Value::Int(1), Value::Int(6)]
        );
        assert_eq!(out.batch.schema.key, vec![0]);
    }

    #[test]
    fn dropping_a_key_column_or_a_missing_one_is_refused() {
        assert!(
            apply(batch(), vec![Edit::DropColumn(0)])
                .unwrap_err()
                .contains("primary key")
        );
        assert!(apply(batch(), vec![Edit::DropColumn(9)]).is_err());
    }
}
