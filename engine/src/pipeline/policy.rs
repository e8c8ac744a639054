//! Definite errors under the pipeline's `on_error` policy: a rejected row
//! or a plugin fault is set aside (skipped or dead-lettered) and the rest of
//! the group is written again (see the module doc, # Definite errors).

use super::*;

impl<T: Target> Pipeline<T> {
    /// Set aside the row the target rejected (`e.row`) by the pipeline's
    /// policy, so the rest can be written again.
    pub(super) fn set_aside_row(
        &self,
        group: &mut Group,
        e: PipelineError,
    ) -> Result<(), PipelineError> {
        let (b, r) = e.row.expect("a rejected row");
        let row = group.routed[b].rows.remove(r);
        let (schema, end) = (group.routed[b].schema.clone(), group.routed[b].end.clone());
        let err = e.at(&end);
        self.set_aside(
            err,
            &schema,
            1,
            std::slice::from_ref(&row),
            &end,
            &mut group.dead,
        )
    }

    /// Apply the pipeline's policy to changes a definite error hit: halt
    /// returns the error; skip logs and counts them; dead-letter adds them
    /// to `dead`, which is written with the transaction's checkpoint.
    pub(super) fn set_aside(
        &self,
        err: PipelineError,
        schema: &TableSchema,
        n: u64,
        rows: &[RowChange],
        position: &BinlogPosition,
        dead: &mut Vec<DeadLetter>,
    ) -> Result<(), PipelineError> {
        match self.on_error {
            OnError::Halt => return Err(err),
            OnError::Skip => {
                tracing::warn!(pipeline = %self.name, rows = n, error = %err, "changes skipped (on_error = \"skip\")");
                m::pipeline_rows(&self.name, "skipped", n);
            }
            OnError::DeadLetter => {
                tracing::warn!(pipeline = %self.name, rows = n, error = %err, "changes dead-lettered (on_error = \"dead-letter\")");
                m::pipeline_rows(&self.name, "dead_lettered", n);
                let message = err.to_string();
                for row in rows {
                    dead.push(DeadLetter {
                        source_table: format!("{}.{}", schema.database, schema.table),
                        op: row.op,
                        change: change_json(schema, row).to_string(),
                        error: message.clone(),
                        position: position.clone(),
                    });
                }
            }
        }
        Ok(())
    }
}
