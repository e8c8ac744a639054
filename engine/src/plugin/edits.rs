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

use super::bindings::{Edit, ExtraRows, Image, op_from_code};
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

/// Rows a mapper emitted for another table, as a batch of their own.
fn emitted(database: &str, e: ExtraRows) -> Result<TableChanges, String> {
    let n = e.columns.len();
    let key = e
        .key
        .iter()
        .map(|k| {
            e.columns
                .iter()
                .position(|c| c == k)
                .ok_or_else(|| format!("emitted row key `{k}` is not one of its columns"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let ops = e.ops.into_iter().map(op).collect::<Result<Vec<_>, _>>()?;
    let bad = |e: sluice_cell::DecodeError| format!("bad cells: {e}");
    let (mut before, mut after) = (
        Decoder::new(&e.before).map_err(bad)?,
        Decoder::new(&e.after).map_err(bad)?,
    );
    // One image of `n` cells, read straight into the row's values.
    let image = |cells: &mut Decoder<'_>, which: &str| -> Result<Vec<Value>, String> {
        let mut values = Vec::with_capacity(n);
        for _ in 0..n {
            match cells.next_cell().map_err(bad)? {
                Some(c) => values.push(c.to_value()),
                None => return Err(format!("bad cells: the {which} images end early")),
            }
        }
        Ok(values)
    };
    let rows = ops
        .into_iter()
        .map(|op| {
            Ok(RowChange {
                op,
                before: (op != Op::Insert)
                    .then(|| image(&mut before, "before"))
                    .transpose()?,
                after: (op != Op::Delete)
                    .then(|| image(&mut after, "after"))
                    .transpose()?,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    for (cells, which) in [(&mut before, "before"), (&mut after, "after")] {
        if cells.next_cell().map_err(bad)?.is_some() {
            return Err(format!("bad cells: more {which} cells than the ops need"));
        }
    }
    Ok(TableChanges {
        schema: Arc::new(TableSchema {
            database: database.to_owned(),
            table: e.table.clone(),
            columns: e.columns,
            key,
            target_table: Some(e.table),
        }),
        rows,
    })
}

fn op(code: u8) -> Result<Op, String> {
    op_from_code(code).ok_or_else(|| {
        format!("emitted row op code {code} is not 0 (insert), 1 (update) or 2 (delete)")
    })
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
                let bad =
                    |why: String| format!("bad cells for column `{}`: {why}", schema.columns[c]);
                let mut cells = Decoder::new(&s.cells).map_err(|e| bad(e.to_string()))?;
                for row in batch.rows.iter_mut() {
                    let cell = cells
                        .next_cell()
                        .map_err(|e| bad(e.to_string()))?
                        .ok_or_else(|| bad(format!("fewer than the {rows} rows")))?;
                    let img = match s.image {
                        Image::Before => &mut row.before,
                        Image::After => &mut row.after,
                    };
                    if let Some(img) = img {
                        img[c].assign(cell);
                    }
                }
                if cells.next_cell().map_err(|e| bad(e.to_string()))?.is_some() {
                    return Err(bad(format!("more than the {rows} rows")));
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
            Edit::EmitRows(e) => {
                let rows = emitted(&batch.schema.database, e)?;
                if !rows.rows.is_empty() {
                    extra.push(rows);
                }
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
    use crate::plugin::bindings::filter::sluice::plugin::types::{RenameColumn, SetCells};

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

    fn encode(values: &[Value]) -> Vec<u8> {
        let mut e = sluice_cell::Encoder::new();
        values.iter().for_each(|v| e.push(v.as_cell()));
        e.finish()
    }

    #[test]
    fn emitted_rows_become_one_batch_with_the_images_their_ops_carry() {
        let (i, t) = (Value::Int, |s: &str| Value::Text(s.into()));
        let emit = |before: &[Value], after: &[Value]| {
            Edit::EmitRows(ExtraRows {
                table: "copy".into(),
                columns: vec!["name".into(), "id".into()],
                key: vec!["id".into()],
                ops: vec![0, 1, 2],
                before: encode(before),
                after: encode(after),
            })
        };
        // The update and the delete have before images, the insert and the
        // update after images.
        let edit = emit(
            &[t("u0"), i(2), t("d0"), i(3)],
            &[t("ins"), i(1), t("u1"), i(2)],
        );
        let out = apply(batch(), vec![edit]).unwrap();
        let [extra] = &out.extra[..] else {
            panic!("{:?}", out.extra)
        };
        assert_eq!(extra.schema.target_table.as_deref(), Some("copy"));
        assert_eq!(extra.schema.key, vec![1]);
        let images: Vec<_> = extra
            .rows
            .iter()
            .map(|r| (r.op, r.before.clone(), r.after.clone()))
            .collect();
        assert_eq!(
            images,
            vec![
                (Op::Insert, None, Some(vec![t("ins"), i(1)])),
                (
                    Op::Update,
                    Some(vec![t("u0"), i(2)]),
                    Some(vec![t("u1"), i(2)])
                ),
                (Op::Delete, Some(vec![t("d0"), i(3)]), None),
            ]
        );
        // One cell short of what the ops need.
        let short = emit(&[t("u0"), i(2), t("d0")], &[t("ins"), i(1), t("u1"), i(2)]);
        let err = apply(batch(), vec![short]).unwrap_err();
        assert!(err.contains("the before images end early"), "{err}");
        let long = emit(
            &[t("u0"), i(2), t("d0"), i(3)],
            &[t("ins"), i(1), t("u1"), i(2), i(9)],
        );
        let err = apply(batch(), vec![long]).unwrap_err();
        assert!(err.contains("more after cells than the ops need"), "{err}");
    }

    #[test]
    fn set_cells_replace_a_column_and_a_wrong_count_is_refused() {
        let set = |cells: &[Value]| {
            Edit::SetCells(SetCells {
                column: 1,
                image: Image::After,
                cells: encode(cells),
            })
        };
        let out = apply(batch(), vec![set(&[Value::Text("new".into())])]).unwrap();
        assert_eq!(
            out.batch.rows[0].after.as_ref().unwrap()[1],
            Value::Text("new".into())
        );
        assert_eq!(
            out.batch.rows[0].before.as_ref().unwrap()[1],
            Value::Text("a".into())
        );
        for cells in [&[][..], &[Value::Null, Value::Null]] {
            let err = apply(batch(), vec![set(cells)]).unwrap_err();
            assert!(err.contains("bad cells for column `name`"), "{err}");
        }
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
