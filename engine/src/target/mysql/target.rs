//! The [`Target`] methods of the MySQL target: bookkeeping reads, schema
//! changes, and the entry points into the writer (`writer.rs`).

use mysql_async::TxOpts;
use mysql_async::prelude::Queryable;

use super::MysqlTarget;
use super::ddl::{column_definition, ddl_statements, renamed_columns};
use super::store::*;
use crate::error::PipelineError;
use crate::position::BinlogPosition;
use crate::target::{
    Capabilities, Checkpoint, DdlSupport, DeadLetter, Record, Routed, SchemaChange, Segment,
    TableDef, Target, decode_key,
};

impl Target for MysqlTarget {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            atomic_checkpoint: true,
            open_transaction: true,
            ddl: DdlSupport::Statement,
            dead_letters: true,
            snapshot_progress: true,
            verify: true,
        }
    }

    async fn prepare(&mut self) -> Result<(), PipelineError> {
        for (sql, what) in [
            (CREATE_CHECKPOINT, "sluice_checkpoint"),
            // Tables made by earlier versions held one GTID, not a state.
            (WIDEN_GTID, "sluice_checkpoint.gtid"),
            (CREATE_DEAD_LETTER, "sluice_dead_letter"),
            (CREATE_SNAPSHOT, "sluice_snapshot"),
            (CREATE_SCHEMA_HISTORY, "sluice_schema_history"),
        ] {
            let conn = self.conn().await?;
            let r = conn.query_drop(sql).await;
            r.map_err(|e| self.error(e, || format!("creating {what}")))?;
        }
        Ok(())
    }

    async fn missing_tables(
        &mut self,
        tables: &[(String, TableDef)],
        _create: bool,
    ) -> Result<Vec<String>, PipelineError> {
        // This target has no option to create tables: it only reports.
        let mut out = Vec::new();
        for (target, def) in tables {
            let (db, table) = match target.split_once('.') {
                Some((d, t)) => (Some(d), t),
                None => (None, target.as_str()),
            };
            let conn = self.conn().await?;
            let n: Result<Option<u64>, _> = conn
                .exec_first(
                    "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ?",
                    (db, table),
                )
                .await;
            match n {
                Ok(Some(0)) => out.push(format!(
                    "target `{}` has no table {target} for {}.{}; create it like the source's (SHOW CREATE TABLE)",
                    self.name, def.database, def.table
                )),
                Ok(_) => {}
                Err(e) => {
                    self.conn = None;
                    return Err(self.error(e, || format!("looking up table {target}")));
                }
            }
        }
        Ok(out)
    }

    async fn checkpoint(&mut self, pipeline: &str) -> Result<Option<Checkpoint>, PipelineError> {
        let conn = self.conn().await?;
        let row: Result<Option<(String, u64, Option<String>)>, _> = conn
            .exec_first(
                "SELECT binlog_file, binlog_pos, gtid FROM sluice_checkpoint WHERE pipeline = ?",
                (pipeline,),
            )
            .await;
        let row = match row {
            Ok(r) => r,
            Err(e) => {
                self.conn = None;
                return Err(self.error(e, || "reading the checkpoint".into()));
            }
        };
        let Some((file, pos, gtid)) = row else {
            return Ok(None);
        };
        let target = self.name.clone();
        let bad = |m: String| {
            PipelineError::definite(format!(
                "checkpoint of pipeline `{pipeline}` in target `{target}` is corrupt: {m}"
            ))
        };
        let position = BinlogPosition {
            file: crate::position::BinlogFile::new(&file).map_err(bad)?,
            pos,
        };
        let (gtid, gtid_set) = crate::target::parse_gtids(gtid.as_deref()).map_err(bad)?;
        let conn = self.conn().await?;
        type Row = (String, String, String, u64, String);
        let rows: Result<Vec<Row>, _> = conn.exec(READ_SCHEMA_HISTORY, (pipeline,)).await;
        let rows = rows.map_err(|e| {
            self.conn = None;
            self.error(e, || "reading the schema history".into())
        })?;
        let schema = rows
            .into_iter()
            .map(|(database, table, file, pos, shape)| {
                crate::target::schema_version(database, table, &file, pos, &shape)
            })
            .collect::<Result<_, _>>()
            .map_err(bad)?;
        Ok(Some(Checkpoint {
            position,
            gtid,
            gtid_set,
            schema,
            replace_schema: false,
        }))
    }

    async fn apply(
        &mut self,
        pipeline: &str,
        changes: &[Routed],
        dead: &[DeadLetter],
        checkpoint: &Checkpoint,
    ) -> Result<(), PipelineError> {
        self.apply_record(pipeline, changes, dead, Record::Checkpoint(checkpoint))
            .await
    }

    async fn apply_ddl(
        &mut self,
        pipeline: &str,
        change: &SchemaChange<'_>,
        checkpoint: &Checkpoint,
    ) -> Result<(), PipelineError> {
        for (statement, already_done) in ddl_statements(change) {
            let Some(statement) = self.dialect(change, statement).await? else {
                continue;
            };
            let conn = self.conn().await?;
            match conn.query_drop(&statement).await {
                Ok(()) => {
                    tracing::info!(target_name = %self.name, %pipeline, %statement, "schema change applied")
                }
                Err(mysql_async::Error::Server(e)) if already_done.contains(&e.code) => {
                    // Replayed after a crash between the statement and its
                    // checkpoint, or the target already had the change.
                    tracing::warn!(target_name = %self.name, %pipeline, %statement, error = %e.message, "schema change already in the target; going on");
                }
                Err(e) => {
                    self.conn = None;
                    return Err(
                        self.error(e, || format!("applying the schema change `{statement}`"))
                    );
                }
            }
        }
        // Names may now mean other columns or tables.
        self.sql.clear();
        self.collapse.clear();
        let conn = self.conn().await?;
        let result = match conn.start_transaction(TxOpts::default()).await {
            Ok(tx) => finish(tx, pipeline, &[], Record::Checkpoint(checkpoint)).await,
            Err(e) => Err((e, "START TRANSACTION".to_owned(), None)),
        };
        result.map_err(|(e, what, _)| {
            self.conn = None;
            self.error(e, || format!("writing {what}"))
        })
    }

    async fn snapshot_progress(&mut self, pipeline: &str) -> Result<Vec<Segment>, PipelineError> {
        type Row = (String, String, u32, String, u64, Option<Vec<u8>>, u64, bool);
        let conn = self.conn().await?;
        let rows: Result<Vec<Row>, _> = conn
            .exec(
                "SELECT source_db, source_table, seq, binlog_file, binlog_pos, upto_key, rows_copied, done \
                 FROM sluice_snapshot WHERE pipeline = ? ORDER BY source_db, source_table, seq",
                (pipeline,),
            )
            .await;
        let rows = match rows {
            Ok(r) => r,
            Err(e) => {
                self.conn = None;
                return Err(self.error(e, || "reading the snapshot progress".into()));
            }
        };
        let bad = |m: String| {
            PipelineError::definite(format!(
                "snapshot progress of pipeline `{pipeline}` in target `{}` (table sluice_snapshot) is corrupt: {m}; delete its rows for this pipeline to copy the tables again",
                self.name
            ))
        };
        rows.into_iter()
            .map(|(database, table, seq, file, pos, upto, rows, done)| {
                Ok(Segment {
                    position: BinlogPosition {
                        file: crate::position::BinlogFile::new(&file).map_err(bad)?,
                        pos,
                    },
                    upto: upto.as_deref().map(decode_key).transpose().map_err(bad)?,
                    database,
                    table,
                    seq,
                    rows,
                    done,
                })
            })
            .collect()
    }

    async fn apply_part(
        &mut self,
        pipeline: &str,
        changes: &[Routed],
        dead: &[DeadLetter],
    ) -> Result<(), PipelineError> {
        self.apply_open(pipeline, changes, dead, None).await
    }

    async fn abandon(&mut self) {
        if self.open {
            self.open = false;
            self.open_rows.clear();
            let rolled_back = match self.conn.as_mut() {
                Some(conn) => conn.query_drop("ROLLBACK").await.is_ok(),
                None => true,
            };
            if !rolled_back {
                self.conn = None;
            }
        }
    }

    async fn apply_chunk(
        &mut self,
        pipeline: &str,
        changes: &[Routed],
        dead: &[DeadLetter],
        segment: &Segment,
    ) -> Result<(), PipelineError> {
        self.apply_record(pipeline, changes, dead, Record::Segment(segment))
            .await
    }

    async fn forget_snapshot(&mut self, pipeline: &str) -> Result<(), PipelineError> {
        let conn = self.conn().await?;
        let r = conn
            .exec_drop(
                "DELETE FROM sluice_snapshot WHERE pipeline = ?",
                (pipeline,),
            )
            .await;
        r.map_err(|e| {
            self.conn = None;
            self.error(e, || "deleting the finished snapshot progress".into())
        })
    }

    async fn forget_checkpoint(&mut self, pipeline: &str) -> Result<(), PipelineError> {
        let conn = self.conn().await?;
        let r = async {
            let mut tx = conn.start_transaction(TxOpts::default()).await?;
            tx.exec_drop(
                "DELETE FROM sluice_checkpoint WHERE pipeline = ?",
                (pipeline,),
            )
            .await?;
            tx.exec_drop(
                "DELETE FROM sluice_snapshot WHERE pipeline = ?",
                (pipeline,),
            )
            .await?;
            tx.exec_drop(DROP_SCHEMA_HISTORY, (pipeline,)).await?;
            tx.commit().await
        }
        .await;
        r.map_err(|e| {
            self.conn = None;
            self.error(e, || "deleting the checkpoint".into())
        })
    }
}

impl MysqlTarget {
    /// The statement in the target server's dialect: a `RENAME COLUMN` on a
    /// server without it (MySQL 5.7, MariaDB before 10.5) becomes `CHANGE
    /// COLUMN` with each column's definition from `SHOW CREATE TABLE`, so
    /// type, nullability, default and comment are kept. `None`: every
    /// column is renamed already (a replay after a crash).
    async fn dialect(
        &mut self,
        change: &SchemaChange<'_>,
        statement: String,
    ) -> Result<Option<String>, PipelineError> {
        self.conn().await?;
        let Some(pairs) = (!self.rename_column)
            .then(|| renamed_columns(&statement))
            .flatten()
        else {
            return Ok(Some(statement));
        };
        let table = crate::target::mysql::sql::quote_table(&change.targets[0]);
        let conn = self.conn().await?;
        let create: Result<Option<(String, String)>, _> =
            conn.query_first(format!("SHOW CREATE TABLE {table}")).await;
        let create = match create {
            Ok(c) => c.map(|c| c.1).unwrap_or_default(),
            Err(e) => {
                self.conn = None;
                return Err(self.error(e, || format!("reading SHOW CREATE TABLE {table}")));
            }
        };
        let mut clauses = Vec::new();
        for (old, new) in pairs {
            match column_definition(&create, &old) {
                Some(def) => clauses.push(format!(
                    "CHANGE COLUMN {} {} {def}",
                    crate::target::mysql::sql::quote(&old),
                    crate::target::mysql::sql::quote(&new)
                )),
                None if column_definition(&create, &new).is_some() => {}
                None => {
                    return Err(PipelineError::definite(format!(
                        "target `{}`: cannot rename column `{old}` of {table} to `{new}`: the table has neither column (the target server has no RENAME COLUMN, so Sluice sends CHANGE COLUMN with the column's definition)",
                        self.name
                    )));
                }
            }
        }
        if clauses.is_empty() {
            return Ok(None);
        }
        Ok(Some(format!("ALTER TABLE {table} {}", clauses.join(", "))))
    }
}
