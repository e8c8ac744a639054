//! Sluice's own tables in a MySQL target (`sluice_checkpoint`,
//! `sluice_dead_letter`, `sluice_snapshot`) and their writes, each inside
//! the transaction of the rows it belongs to, so it is exactly as durable
//! as they are.

use mysql_async::prelude::Queryable;

use super::writer::TxError;
use crate::target::{DeadLetter, Record, encode_key};

pub(super) const CREATE_CHECKPOINT: &str = "CREATE TABLE IF NOT EXISTS sluice_checkpoint (
    pipeline VARCHAR(255) NOT NULL PRIMARY KEY,
    binlog_file VARCHAR(512) NOT NULL,
    binlog_pos BIGINT UNSIGNED NOT NULL,
    gtid VARCHAR(4096) NULL,
    updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)
) ENGINE=InnoDB";

pub(super) const WIDEN_GTID: &str = "ALTER TABLE sluice_checkpoint MODIFY gtid VARCHAR(4096) NULL";

pub(super) const CREATE_DEAD_LETTER: &str = "CREATE TABLE IF NOT EXISTS sluice_dead_letter (
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

pub(super) const WRITE_DEAD_LETTER: &str = "INSERT INTO sluice_dead_letter \
     (pipeline, source_table, op, change_json, error, binlog_file, binlog_pos) VALUES (?, ?, ?, ?, ?, ?, ?)";

pub(super) const WRITE_CHECKPOINT: &str = "INSERT INTO sluice_checkpoint (pipeline, binlog_file, binlog_pos, gtid) VALUES (?, ?, ?, ?) \
     ON DUPLICATE KEY UPDATE binlog_file = VALUES(binlog_file), binlog_pos = VALUES(binlog_pos), gtid = VALUES(gtid)";

pub(super) const CREATE_SNAPSHOT: &str = "CREATE TABLE IF NOT EXISTS sluice_snapshot (
    pipeline VARCHAR(255) NOT NULL,
    source_db VARCHAR(64) NOT NULL,
    source_table VARCHAR(64) NOT NULL,
    seq INT UNSIGNED NOT NULL,
    binlog_file VARCHAR(512) NOT NULL,
    binlog_pos BIGINT UNSIGNED NOT NULL,
    upto_key LONGBLOB NULL,
    rows_copied BIGINT UNSIGNED NOT NULL,
    done BOOLEAN NOT NULL,
    updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
    PRIMARY KEY (pipeline, source_db, source_table, seq)
) ENGINE=InnoDB";

pub(super) const WRITE_SEGMENT: &str = "INSERT INTO sluice_snapshot \
     (pipeline, source_db, source_table, seq, binlog_file, binlog_pos, upto_key, rows_copied, done) \
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE binlog_file = VALUES(binlog_file), \
     binlog_pos = VALUES(binlog_pos), upto_key = VALUES(upto_key), rows_copied = VALUES(rows_copied), done = VALUES(done)";

/// The schema history of a source without row metadata
/// (`source::history`): one row per version of a copied table, keyed by
/// the binlog position (file suffix and offset) it starts after.
pub(super) const CREATE_SCHEMA_HISTORY: &str = "CREATE TABLE IF NOT EXISTS sluice_schema_history (
    pipeline VARCHAR(255) NOT NULL,
    source_db VARCHAR(64) NOT NULL,
    source_table VARCHAR(64) NOT NULL,
    binlog_index BIGINT UNSIGNED NOT NULL,
    binlog_pos BIGINT UNSIGNED NOT NULL,
    binlog_file VARCHAR(512) NOT NULL,
    shape_json LONGTEXT NOT NULL,
    PRIMARY KEY (pipeline, source_db, source_table, binlog_index, binlog_pos)
) ENGINE=InnoDB";

pub(super) const WRITE_SCHEMA_VERSION: &str = "INSERT INTO sluice_schema_history \
     (pipeline, source_db, source_table, binlog_index, binlog_pos, binlog_file, shape_json) VALUES (?, ?, ?, ?, ?, ?, ?) \
     ON DUPLICATE KEY UPDATE shape_json = VALUES(shape_json)";

pub(super) const DROP_SCHEMA_HISTORY: &str = "DELETE FROM sluice_schema_history WHERE pipeline = ?";

pub(super) const READ_SCHEMA_HISTORY: &str = "SELECT source_db, source_table, binlog_file, binlog_pos, shape_json \
     FROM sluice_schema_history WHERE pipeline = ? ORDER BY source_db, source_table, binlog_index, binlog_pos";

/// Dead letters, the checkpoint or snapshot progress, COMMIT.
pub(super) async fn finish(
    mut tx: mysql_async::Transaction<'_>,
    pipeline: &str,
    dead: &[DeadLetter],
    record: Record<'_>,
) -> Result<(), TxError> {
    write_dead(&mut tx, pipeline, dead).await?;
    write_record(&mut tx, pipeline, record).await?;
    tx.commit()
        .await
        .map_err(|e| (e, "COMMIT".to_owned(), None))
}

pub(super) async fn write_dead<Q: Queryable>(
    tx: &mut Q,
    pipeline: &str,
    dead: &[DeadLetter],
) -> Result<(), TxError> {
    for d in dead {
        tx.exec_drop(
            WRITE_DEAD_LETTER,
            (
                pipeline,
                &d.source_table,
                d.op.as_str(),
                &d.change,
                &d.error,
                d.position.file.name(),
                d.position.pos,
            ),
        )
        .await
        .map_err(|e| (e, "a dead letter".to_owned(), None))?;
    }
    Ok(())
}

/// The checkpoint or the snapshot progress.
pub(super) async fn write_record<Q: Queryable>(
    tx: &mut Q,
    pipeline: &str,
    record: Record<'_>,
) -> Result<(), TxError> {
    match record {
        Record::Checkpoint(cp) => {
            if cp.replace_schema {
                tx.exec_drop(DROP_SCHEMA_HISTORY, (pipeline,))
                    .await
                    .map_err(|e| (e, "the old schema history".to_owned(), None))?;
            }
            for v in &cp.schema {
                let shape = serde_json::to_string(&v.shape).expect("a shape is JSON");
                tx.exec_drop(
                    WRITE_SCHEMA_VERSION,
                    (
                        pipeline,
                        &v.database,
                        &v.table,
                        v.at.file.index(),
                        v.at.pos,
                        v.at.file.name(),
                        shape,
                    ),
                )
                .await
                .map_err(|e| (e, "a schema history row".to_owned(), None))?;
            }
            let gtid = cp.gtid_text();
            tx.exec_drop(
                WRITE_CHECKPOINT,
                (pipeline, cp.position.file.name(), cp.position.pos, gtid),
            )
            .await
            .map_err(|e| (e, "the checkpoint row".to_owned(), None))?;
        }
        Record::Segment(s) => {
            let upto = s.upto.as_deref().map(encode_key);
            let params: Vec<mysql_async::Value> = vec![
                pipeline.into(),
                s.database.as_str().into(),
                s.table.as_str().into(),
                s.seq.into(),
                s.position.file.name().into(),
                s.position.pos.into(),
                upto.into(),
                s.rows.into(),
                s.done.into(),
            ];
            tx.exec_drop(WRITE_SEGMENT, params)
                .await
                .map_err(|e| (e, "the snapshot progress row".to_owned(), None))?;
        }
    }
    Ok(())
}
