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
                        change: capped(change_json(schema, row).to_string()),
                        error: message.clone(),
                        position: position.clone(),
                    });
                }
            }
        }
        Ok(())
    }
}

/// Largest change JSON a dead letter stores whole. A larger one (a row with
/// a huge BLOB) is replaced by its size and its first bytes, so that the
/// dead letter itself still fits the target's packet limit: setting a row
/// aside must not fail for the reason the row failed.
const DEAD_LETTER_CHANGE_BYTES: usize = 1 << 20;

fn capped(change: String) -> String {
    if change.len() <= DEAD_LETTER_CHANGE_BYTES {
        return change;
    }
    let mut head = 64 << 10;
    while !change.is_char_boundary(head) {
        head -= 1;
    }
    serde_json::json!({
        "truncated": true,
        "bytes": change.len(),
        "head": &change[..head],
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn huge_changes_are_capped_as_valid_json() {
        let small = "{\"a\":1}".to_owned();
        assert_eq!(super::capped(small.clone()), small);
        let big = format!("{{\"a\":\"{}\"}}", "é".repeat(1 << 20));
        let capped = super::capped(big.clone());
        let v: serde_json::Value = serde_json::from_str(&capped).unwrap();
        assert_eq!(v["bytes"], big.len());
        assert!(capped.len() < 200 << 10);
    }
}
