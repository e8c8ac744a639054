//! Applies routed changes to MySQL/MariaDB, one source transaction per
//! target transaction, together with the checkpoint row.
//!
//! # Failure
//! Any error drops the connection, so the server rolls the open transaction
//! back: nothing of a failed apply stays. The caller decides between retry
//! (transient) and its policy (definite), and after a transient failure
//! reads the checkpoint back, because a lost reply to COMMIT leaves the
//! outcome unknown until then.

use std::collections::HashMap;
use std::sync::Arc;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, OptsBuilder, TxOpts};

use super::sql::{TableSql, classify, param};
use crate::change::{Op, RowChange, Value};
use crate::error::{ErrorKind, PipelineError};
use crate::metrics as m;
use crate::position::{BinlogPosition, Gtid};
use crate::target::{Checkpoint, DeadLetter, Routed, Target};

const CREATE_CHECKPOINT: &str = "CREATE TABLE IF NOT EXISTS sluice_checkpoint (
    pipeline VARCHAR(255) NOT NULL PRIMARY KEY,
    binlog_file VARCHAR(512) NOT NULL,
    binlog_pos BIGINT UNSIGNED NOT NULL,
    gtid VARCHAR(255) NULL,
    updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)
) ENGINE=InnoDB";

const CREATE_DEAD_LETTER: &str = "CREATE TABLE IF NOT EXISTS sluice_dead_letter (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    pipeline VARCHAR(255) NOT NULL,
    source_table VARCHAR(512) NOT NULL,
    op VARCHAR(8) NOT NULL,
    change_json LONGTEXT NOT NULL,
    error TEXT NOT NULL,
    binlog_file VARCHAR(512) NOT NULL,
    binlog_pos BIGINT UNSIGNED NOT NULL,
    created_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    KEY (pipeline, id)
) ENGINE=InnoDB";

const WRITE_DEAD_LETTER: &str = "INSERT INTO sluice_dead_letter \
     (pipeline, source_table, op, change_json, error, binlog_file, binlog_pos) VALUES (?, ?, ?, ?, ?, ?, ?)";

const WRITE_CHECKPOINT: &str = "INSERT INTO sluice_checkpoint (pipeline, binlog_file, binlog_pos, gtid) VALUES (?, ?, ?, ?) \
     ON DUPLICATE KEY UPDATE binlog_file = VALUES(binlog_file), binlog_pos = VALUES(binlog_pos), gtid = VALUES(gtid)";

/// A MySQL target connection.
pub struct MysqlTarget {
    /// The target's name in the config, for metrics and messages.
    name: String,
    opts: Opts,
    conn: Option<Conn>,
    /// Statements per (target table, column list).
    sql: HashMap<(String, Vec<String>), Arc<TableSql>>,
}

impl MysqlTarget {
    pub fn new(name: &str, url: &str) -> Result<Self, PipelineError> {
        let opts = Opts::from_url(url)
            .map_err(|e| PipelineError::definite(format!("targets.{name}.url: {e}")))?;
        let opts: Opts = OptsBuilder::from_opts(opts)
            .init(vec![
                // TIMESTAMPs are sent as UTC; zero dates and id 0 copy as they are.
                "SET time_zone = '+00:00', sql_mode = 'NO_AUTO_VALUE_ON_ZERO,STRICT_ALL_TABLES', NAMES utf8mb4",
            ])
            .stmt_cache_size(256)
            .into();
        Ok(MysqlTarget {
            name: name.to_owned(),
            opts,
            conn: None,
            sql: HashMap::new(),
        })
    }

    fn error(&self, e: mysql_async::Error, what: impl FnOnce() -> String) -> PipelineError {
        let kind = classify(&e);
        m::target_error(
            &self.name,
            if kind == ErrorKind::Transient {
                "transient"
            } else {
                "definite"
            },
        );
        PipelineError {
            kind,
            table: None,
            position: None,
            row: None,
            message: format!("target `{}`: {}: {e}", self.name, what()),
        }
    }

    async fn conn(&mut self) -> Result<&mut Conn, PipelineError> {
        if self.conn.is_none() {
            let c = Conn::new(self.opts.clone())
                .await
                .map_err(|e| self.error(e, || "cannot connect".into()))?;
            self.conn = Some(c);
        }
        Ok(self.conn.as_mut().expect("connected above"))
    }

    fn statements(&mut self, r: &Routed) -> Result<Arc<TableSql>, PipelineError> {
        if r.schema.key.is_empty() {
            return Err(PipelineError::definite(format!(
                "table {}.{} has no primary key; Sluice applies changes by primary key, so add one to the source table",
                r.schema.database, r.schema.table
            )));
        }
        let key = (r.table.clone(), r.schema.columns.clone());
        Ok(self
            .sql
            .entry(key)
            .or_insert_with(|| Arc::new(TableSql::new(&r.table, &r.schema)))
            .clone())
    }

    async fn apply_once(
        &mut self,
        pipeline: &str,
        changes: &[Routed],
        dead: &[DeadLetter],
        cp: &Checkpoint,
    ) -> Result<(), PipelineError> {
        let sqls = changes
            .iter()
            .map(|r| self.statements(r))
            .collect::<Result<Vec<_>, _>>()?;
        let conn = self.conn().await?;
        match run_transaction(conn, pipeline, changes, &sqls, dead, cp).await {
            Ok(counts) => {
                m::target_transaction(&self.name);
                for (op, n) in [Op::Insert, Op::Update, Op::Delete].into_iter().zip(counts) {
                    if n > 0 {
                        m::target_rows(&self.name, op, n);
                    }
                }
                Ok(())
            }
            Err((e, what, at)) => {
                // Dropping the connection rolls the transaction back.
                self.conn = None;
                let mut err = self.error(e, || format!("applying {what}"));
                if let Some((b, r)) = at {
                    err.row = Some((b, r));
                    err = err.with_table(|| changes[b].table.clone());
                }
                Err(err)
            }
        }
    }
}

/// The error, what was being written, and which (batch, row) if a row.
type TxError = (mysql_async::Error, String, Option<(usize, usize)>);

/// One target transaction: every row, then the checkpoint, then COMMIT.
/// Returns the rows written per op (insert, update, delete).
async fn run_transaction(
    conn: &mut Conn,
    pipeline: &str,
    changes: &[Routed],
    sqls: &[Arc<TableSql>],
    dead: &[DeadLetter],
    cp: &Checkpoint,
) -> Result<[u64; 3], TxError> {
    let mut tx = conn
        .start_transaction(TxOpts::default())
        .await
        .map_err(|e| (e, "START TRANSACTION".to_owned(), None))?;
    let mut counts = [0u64; 3];
    for (b, (r, sql)) in changes.iter().zip(sqls).enumerate() {
        for (i, row) in r.rows.iter().enumerate() {
            apply_row(&mut tx, sql, &r.schema.key, row)
                .await
                .map_err(|e| (e, describe_row(r, row), Some((b, i))))?;
            counts[row.op as usize] += 1;
        }
    }
    for d in dead {
        tx.exec_drop(
            WRITE_DEAD_LETTER,
            (
                pipeline,
                &d.source_table,
                d.op.as_str(),
                &d.change,
                &d.error,
                cp.position.file.name(),
                cp.position.pos,
            ),
        )
        .await
        .map_err(|e| (e, "a dead letter".to_owned(), None))?;
    }
    let gtid = cp.gtid.map(|g| g.to_string());
    tx.exec_drop(
        WRITE_CHECKPOINT,
        (pipeline, cp.position.file.name(), cp.position.pos, gtid),
    )
    .await
    .map_err(|e| (e, "the checkpoint row".to_owned(), None))?;
    tx.commit()
        .await
        .map_err(|e| (e, "COMMIT".to_owned(), None))?;
    Ok(counts)
}

/// The key of a row, for messages.
fn describe_row(r: &Routed, row: &RowChange) -> String {
    let image = row.current().or(row.before.as_ref()).or(row.after.as_ref());
    let key: Vec<String> = r
        .schema
        .key
        .iter()
        .map(|&k| {
            let v = image.map_or(&Value::Null, |img| &img[k]);
            format!("{}={}", r.schema.columns[k], short(v))
        })
        .collect();
    format!(
        "{} row ({}) in {}",
        row.op.as_str(),
        key.join(", "),
        r.table
    )
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 60 {
        format!("{}…", &s[..s.floor_char_boundary(60)])
    } else {
        s
    }
}

async fn apply_row(
    tx: &mut mysql_async::Transaction<'_>,
    sql: &TableSql,
    key: &[usize],
    row: &RowChange,
) -> Result<(), mysql_async::Error> {
    let key_params = |img: &Vec<Value>| -> Vec<mysql_async::Value> {
        key.iter().map(|&k| param(&img[k])).collect()
    };
    let all_params =
        |img: &Vec<Value>| -> Vec<mysql_async::Value> { img.iter().map(param).collect() };
    match (row.op, &row.before, &row.after) {
        (Op::Insert, _, Some(after)) => tx.exec_drop(&sql.upsert, all_params(after)).await,
        (Op::Update, Some(before), Some(after)) => {
            if key.iter().any(|&k| before[k] != after[k]) {
                tx.exec_drop(&sql.delete, key_params(before)).await?;
            }
            tx.exec_drop(&sql.upsert, all_params(after)).await
        }
        (Op::Delete, Some(before), _) => tx.exec_drop(&sql.delete, key_params(before)).await,
        _ => Err(mysql_async::Error::Other(
            format!("{:?} change without the image it needs", row.op).into(),
        )),
    }
}

impl Target for MysqlTarget {
    async fn prepare(&mut self) -> Result<(), PipelineError> {
        for (sql, what) in [
            (CREATE_CHECKPOINT, "sluice_checkpoint"),
            (CREATE_DEAD_LETTER, "sluice_dead_letter"),
        ] {
            let conn = self.conn().await?;
            let r = conn.query_drop(sql).await;
            r.map_err(|e| self.error(e, || format!("creating {what}")))?;
        }
        Ok(())
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
        let bad = |m: String| {
            PipelineError::definite(format!(
                "checkpoint of pipeline `{pipeline}` in target `{}` is corrupt: {m}",
                self.name
            ))
        };
        let position = BinlogPosition {
            file: crate::position::BinlogFile::new(&file).map_err(bad)?,
            pos,
        };
        let gtid = gtid.map(|g| g.parse::<Gtid>()).transpose().map_err(bad)?;
        Ok(Some(Checkpoint { position, gtid }))
    }

    async fn apply(
        &mut self,
        pipeline: &str,
        changes: &[Routed],
        dead: &[DeadLetter],
        checkpoint: &Checkpoint,
    ) -> Result<(), PipelineError> {
        self.apply_once(pipeline, changes, dead, checkpoint).await
    }
}
