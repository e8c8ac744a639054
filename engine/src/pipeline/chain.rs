//! A pipeline's plugin chain: filters, then mappers, on one batch.
//!
//! # Filter verdicts
//! A filter judges the image a row has now (after for inserts and updates,
//! before for deletes). A rejected insert or delete is dropped. A rejected
//! update becomes a delete by its before-image key: the row has left the
//! set the pipeline copies (a product that became `discontinued`), so it
//! must leave the target too. Deleting a row the target never had is a
//! no-op, so this is right whatever the row's earlier history.

use crate::change::{Op, RowChange, TableChanges};
use crate::metrics as m;
use crate::plugin::edits;
use crate::plugin::instance::Fault;
use crate::plugin::{Instance, PluginFailure};

/// Filters and mappers, in config order.
pub struct Chain {
    pub filters: Vec<Instance>,
    pub mappers: Vec<Instance>,
}

/// A plugin failed, or a mapper's edits made no sense.
#[derive(Debug)]
pub struct ChainError {
    pub plugin: String,
    pub kind: crate::plugin::instance::Fault,
    pub message: String,
}

impl From<PluginFailure> for ChainError {
    fn from(f: PluginFailure) -> Self {
        ChainError {
            plugin: f.plugin.to_string(),
            kind: f.kind,
            message: f.message,
        }
    }
}

impl Chain {
    /// Pin every plugin's version for the next transaction.
    pub fn pin(&mut self) {
        for i in self.filters.iter_mut().chain(&mut self.mappers) {
            i.pin();
        }
    }

    /// Run the chain on one batch. Returns the batches to apply (the mapped
    /// batch and any extra rows mappers emitted); empty when every row was
    /// dropped.
    pub fn run(
        &mut self,
        pipeline: &str,
        mut batch: TableChanges,
    ) -> Result<Vec<TableChanges>, ChainError> {
        for f in &mut self.filters {
            let before = batch.rows.len();
            let (b, keep) = f.filter(batch)?;
            batch = apply_verdicts(b, &keep);
            m::pipeline_rows(pipeline, "dropped", (before - batch.rows.len()) as u64);
            if batch.rows.is_empty() {
                return Ok(Vec::new());
            }
        }
        let mut extra = Vec::new();
        for mp in &mut self.mappers {
            let name = mp.handle.name.to_string();
            let (b, e) = mp.map(batch)?;
            let mapped = edits::apply(b, e).map_err(|message| {
                m::plugin_error(&name, Fault::BadOutput.as_str());
                ChainError {
                    plugin: name,
                    kind: Fault::BadOutput,
                    message,
                }
            })?;
            batch = mapped.batch;
            extra.extend(mapped.extra);
        }
        m::pipeline_rows(pipeline, "kept", batch.rows.len() as u64);
        let mut out = Vec::with_capacity(1 + extra.len());
        if !batch.rows.is_empty() {
            out.push(batch);
        }
        out.extend(extra);
        Ok(out)
    }
}

/// Keep what a filter kept; rejected updates become deletes (module doc).
fn apply_verdicts(mut batch: TableChanges, keep: &[bool]) -> TableChanges {
    let rows = std::mem::take(&mut batch.rows);
    batch.rows = rows
        .into_iter()
        .zip(keep)
        .filter_map(|(row, &k)| match (k, row.op) {
            (true, _) => Some(row),
            (false, Op::Update) => Some(RowChange {
                op: Op::Delete,
                before: row.before,
                after: None,
            }),
            (false, _) => None,
        })
        .collect();
    batch
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::change::{TableSchema, Value};

    #[test]
    fn a_rejected_update_becomes_a_delete_and_other_rejections_vanish() {
        let row = |op, v: i64| RowChange {
            op,
            before: (op != Op::Insert).then(|| vec![Value::Int(v)]),
            after: (op != Op::Delete).then(|| vec![Value::Int(v + 100)]),
        };
        let batch = TableChanges {
            schema: Arc::new(TableSchema {
                database: "d".into(),
                table: "t".into(),
                columns: vec!["id".into()],
                key: vec![0],
                target_table: None,
            }),
            rows: vec![
                row(Op::Insert, 1),
                row(Op::Update, 2),
                row(Op::Delete, 3),
                row(Op::Update, 4),
            ],
        };
        let out = apply_verdicts(batch, &[false, false, false, true]);
        assert_eq!(out.rows.len(), 2);
        assert_eq!(out.rows[0].op, Op::Delete);
        assert_eq!(out.rows[0].before, Some(vec![Value::Int(2)]));
        assert_eq!(out.rows[1].op, Op::Update);
    }
}
