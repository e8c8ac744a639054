//! Schema changes on copied tables, by the pipeline's `ddl` policy (see
//! the module doc of `pipeline`, # Schema changes).

use super::*;

impl<T: Target> Pipeline<T> {
    /// The schema change a transaction is, when it touches a copied table
    /// and is not before the checkpoint.
    pub(super) fn schema_change<'t>(&self, txn: &'t Transaction) -> Option<&'t Ddl> {
        let ddl = txn.ddl.as_ref()?;
        let done = self.applied(txn);
        // A CREATE TABLE ... LIKE concerns the new table only.
        let subjects = match ddl.kind {
            crate::change::DdlKind::CreateTable => &ddl.tables[..ddl.tables.len().min(1)],
            _ => &ddl.tables[..],
        };
        let copied = subjects
            .iter()
            .any(|(d, t)| self.tables.iter().any(|p| p.follows(d, t)));
        (copied && !done).then_some(ddl)
    }

    /// Follow a schema change by the pipeline's `ddl` policy.
    pub(super) async fn follow_ddl(
        &mut self,
        txn: &Transaction,
        ddl: &Ddl,
        shutdown: &mut Shutdown,
    ) -> Result<(), PipelineError> {
        if let Some(g) = txn.gtid {
            self.gtid.apply(g);
        }
        if let Some(g) = txn.mysql_gtid {
            self.mysql_gtid = Some(g);
            self.gtid_set.add(g);
        }
        let cp = self.checkpoint_at(txn.end.clone());
        match self.ddl {
            DdlPolicy::Halt => {
                return Err(PipelineError::definite(format!(
                    "schema change on a copied table: `{}`; this pipeline has ddl = \"halt\" (the default when it has mappers). Change the target table to match, then set ddl = \"ignore\" and resume; or set ddl = \"apply\" to run such statements on the target",
                    ddl.statement
                )));
            }
            DdlPolicy::Ignore => {
                tracing::warn!(pipeline = %self.name, statement = %ddl.statement, position = %txn.end, "schema change on a copied table ignored (ddl = \"ignore\"); the target table is not altered");
                m::pipeline_ddl(&self.name, "ignored");
                self.checkpoint = Some(cp);
            }
            DdlPolicy::Apply => {
                let change = SchemaChange {
                    ddl,
                    targets: ddl
                        .tables
                        .iter()
                        .map(|(d, t)| self.template_table(d, t))
                        .collect(),
                    matched: ddl
                        .tables
                        .iter()
                        .map(|(d, t)| self.tables.iter().any(|p| p.follows(d, t)))
                        .collect(),
                };
                let work = Work::Ddl(&change, &cp);
                if apply_with_retry(&mut self.target, &self.name, work, shutdown).await? {
                    self.stored(&cp);
                    self.checkpoint = Some(cp);
                    self.last_write = Instant::now();
                    m::pipeline_ddl(&self.name, "applied");
                }
            }
        }
        self.status
            .update(&self.name, |s| s.position = Some(txn.end.to_string()));
        Ok(())
    }
}
