//! Sluice's own tables in a PostgreSQL target: the checkpoint, dead letters
//! and snapshot progress, in the target's `schema`. Each is written inside
//! the transaction of the rows it belongs to, so it is exactly as durable
//! as they are. The next SQL target can copy this file as its template:
//! three tables, and one function per read or write.

use tokio_postgres::Client;

use super::sql::quote;
use crate::position::{BinlogFile, BinlogPosition};
use crate::target::{Checkpoint, DeadLetter, Segment, decode_key, encode_key, schema_version};

/// The statements that create the tables (each idempotent), `{s}` being
/// the quoted schema.
fn creates(s: &str) -> [String; 5] {
    [
        format!(
            "CREATE TABLE IF NOT EXISTS {s}.sluice_checkpoint (
                pipeline text PRIMARY KEY,
                binlog_file text NOT NULL,
                binlog_pos bigint NOT NULL,
                gtid text NULL,
                updated_at timestamptz NOT NULL DEFAULT now())"
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS {s}.sluice_dead_letter (
                id bigserial PRIMARY KEY,
                pipeline text NOT NULL,
                source_table text NOT NULL,
                op text NOT NULL,
                change_json text NOT NULL,
                error text NOT NULL,
                binlog_file text NOT NULL,
                binlog_pos bigint NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now())"
        ),
        format!(
            "CREATE INDEX IF NOT EXISTS sluice_dead_letter_pipeline ON {s}.sluice_dead_letter (pipeline, id)"
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS {s}.sluice_snapshot (
                pipeline text NOT NULL,
                source_db text NOT NULL,
                source_table text NOT NULL,
                seq integer NOT NULL,
                binlog_file text NOT NULL,
                binlog_pos bigint NOT NULL,
                upto_key bytea NULL,
                rows_copied bigint NOT NULL,
                done boolean NOT NULL,
                updated_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (pipeline, source_db, source_table, seq))"
        ),
        // The schema history of a source without row metadata
        // (`source::history`), one row per version.
        format!(
            "CREATE TABLE IF NOT EXISTS {s}.sluice_schema_history (
                pipeline text NOT NULL,
                source_db text NOT NULL,
                source_table text NOT NULL,
                binlog_index bigint NOT NULL,
                binlog_pos bigint NOT NULL,
                binlog_file text NOT NULL,
                shape_json text NOT NULL,
                PRIMARY KEY (pipeline, source_db, source_table, binlog_index, binlog_pos))"
        ),
    ]
}

/// Create the tables that are missing.
pub async fn create(client: &Client, schema: &str) -> Result<(), (tokio_postgres::Error, String)> {
    for sql in creates(&quote(schema)) {
        client.batch_execute(&sql).await.map_err(|e| {
            (
                e,
                "creating Sluice's tables (sluice_checkpoint, sluice_dead_letter, sluice_snapshot, sluice_schema_history)"
                    .to_owned(),
            )
        })?;
    }
    Ok(())
}

/// A stored position that does not parse.
pub type Corrupt = String;

fn position(file: &str, pos: i64) -> Result<BinlogPosition, Corrupt> {
    Ok(BinlogPosition {
        file: BinlogFile::new(file)?,
        pos: u64::try_from(pos).map_err(|_| format!("negative binlog position {pos}"))?,
    })
}

/// The pipeline's checkpoint; the outer error is the server's, the inner
/// a row that does not parse.
pub async fn checkpoint(
    client: &Client,
    schema: &str,
    pipeline: &str,
) -> Result<Result<Option<Checkpoint>, Corrupt>, tokio_postgres::Error> {
    let sql = format!(
        "SELECT binlog_file, binlog_pos, gtid FROM {}.sluice_checkpoint WHERE pipeline = $1",
        quote(schema)
    );
    let Some(row) = client.query_opt(&sql, &[&pipeline]).await? else {
        return Ok(Ok(None));
    };
    let (file, pos, gtid): (String, i64, Option<String>) = (row.get(0), row.get(1), row.get(2));
    let history = client
        .query(
            &format!(
                "SELECT source_db, source_table, binlog_file, binlog_pos, shape_json FROM {}.sluice_schema_history \
                 WHERE pipeline = $1 ORDER BY source_db, source_table, binlog_index, binlog_pos",
                quote(schema)
            ),
            &[&pipeline],
        )
        .await?;
    Ok((|| {
        let (gtid, gtid_set) = crate::target::parse_gtids(gtid.as_deref())?;
        let schema = history
            .iter()
            .map(|r| {
                let pos: i64 = r.get(3);
                let pos =
                    u64::try_from(pos).map_err(|_| format!("negative binlog position {pos}"))?;
                schema_version(
                    r.get(0),
                    r.get(1),
                    r.get::<_, &str>(2),
                    pos,
                    r.get::<_, &str>(4),
                )
            })
            .collect::<Result<_, Corrupt>>()?;
        Ok(Some(Checkpoint {
            position: position(&file, pos)?,
            gtid,
            gtid_set,
            schema,
            replace_schema: false,
        }))
    })())
}

fn pos_param(p: &BinlogPosition) -> i64 {
    // Binlog offsets are far below 2^63.
    p.pos as i64
}

/// Upsert the checkpoint row (inside the caller's transaction).
pub async fn write_checkpoint(
    client: &Client,
    schema: &str,
    pipeline: &str,
    cp: &Checkpoint,
) -> Result<(), tokio_postgres::Error> {
    let sql = format!(
        "INSERT INTO {}.sluice_checkpoint (pipeline, binlog_file, binlog_pos, gtid) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (pipeline) DO UPDATE SET binlog_file = EXCLUDED.binlog_file, \
         binlog_pos = EXCLUDED.binlog_pos, gtid = EXCLUDED.gtid, updated_at = now()",
        quote(schema)
    );
    if cp.replace_schema {
        client
            .execute(
                &format!(
                    "DELETE FROM {}.sluice_schema_history WHERE pipeline = $1",
                    quote(schema)
                ),
                &[&pipeline],
            )
            .await?;
    }
    if !cp.schema.is_empty() {
        let version = format!(
            "INSERT INTO {}.sluice_schema_history \
             (pipeline, source_db, source_table, binlog_index, binlog_pos, binlog_file, shape_json) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (pipeline, source_db, source_table, binlog_index, binlog_pos) \
             DO UPDATE SET shape_json = EXCLUDED.shape_json",
            quote(schema)
        );
        for v in &cp.schema {
            let shape = serde_json::to_string(&v.shape).expect("a shape is JSON");
            let index = v.at.file.index() as i64;
            client
                .execute(
                    &version,
                    &[
                        &pipeline,
                        &v.database,
                        &v.table,
                        &index,
                        &pos_param(&v.at),
                        &v.at.file.name(),
                        &shape,
                    ],
                )
                .await?;
        }
    }
    let gtid = cp.gtid_text();
    client
        .execute(
            &sql,
            &[
                &pipeline,
                &cp.position.file.name(),
                &pos_param(&cp.position),
                &gtid,
            ],
        )
        .await
        .map(|_| ())
}

/// Insert dead letters (inside the caller's transaction).
pub async fn write_dead(
    client: &Client,
    schema: &str,
    pipeline: &str,
    dead: &[DeadLetter],
) -> Result<(), tokio_postgres::Error> {
    if dead.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO {}.sluice_dead_letter (pipeline, source_table, op, change_json, error, binlog_file, binlog_pos) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        quote(schema)
    );
    let stmt = client.prepare(&sql).await?;
    for d in dead {
        // PostgreSQL text holds no NUL; the JSON escapes it, the error
        // message might not.
        let error = d.error.replace('\0', "\\0");
        client
            .execute(
                &stmt,
                &[
                    &pipeline,
                    &d.source_table,
                    &d.op.as_str(),
                    &d.change,
                    &error,
                    &d.position.file.name(),
                    &pos_param(&d.position),
                ],
            )
            .await?;
    }
    Ok(())
}

/// Upsert a snapshot segment (inside the caller's transaction).
pub async fn write_segment(
    client: &Client,
    schema: &str,
    pipeline: &str,
    s: &Segment,
) -> Result<(), tokio_postgres::Error> {
    let sql = format!(
        "INSERT INTO {}.sluice_snapshot \
         (pipeline, source_db, source_table, seq, binlog_file, binlog_pos, upto_key, rows_copied, done) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (pipeline, source_db, source_table, seq) \
         DO UPDATE SET binlog_file = EXCLUDED.binlog_file, binlog_pos = EXCLUDED.binlog_pos, \
         upto_key = EXCLUDED.upto_key, rows_copied = EXCLUDED.rows_copied, done = EXCLUDED.done, updated_at = now()",
        quote(schema)
    );
    let upto = s.upto.as_deref().map(encode_key);
    let seq = s.seq as i32;
    let rows = s.rows as i64;
    client
        .execute(
            &sql,
            &[
                &pipeline,
                &s.database,
                &s.table,
                &seq,
                &s.position.file.name(),
                &pos_param(&s.position),
                &upto,
                &rows,
                &s.done,
            ],
        )
        .await
        .map(|_| ())
}

/// The pipeline's snapshot segments, by table and `seq`.
pub async fn segments(
    client: &Client,
    schema: &str,
    pipeline: &str,
) -> Result<Result<Vec<Segment>, Corrupt>, tokio_postgres::Error> {
    let sql = format!(
        "SELECT source_db, source_table, seq, binlog_file, binlog_pos, upto_key, rows_copied, done \
         FROM {}.sluice_snapshot WHERE pipeline = $1 ORDER BY source_db, source_table, seq",
        quote(schema)
    );
    let rows = client.query(&sql, &[&pipeline]).await?;
    Ok(rows
        .iter()
        .map(|r| {
            let upto: Option<Vec<u8>> = r.get(5);
            Ok(Segment {
                database: r.get(0),
                table: r.get(1),
                seq: u32::try_from(r.get::<_, i32>(2)).map_err(|_| "negative seq".to_owned())?,
                position: position(r.get(3), r.get(4))?,
                upto: upto.as_deref().map(decode_key).transpose()?,
                rows: r.get::<_, i64>(6) as u64,
                done: r.get(7),
            })
        })
        .collect())
}

/// Drop the pipeline's snapshot segments.
pub async fn forget_segments(
    client: &Client,
    schema: &str,
    pipeline: &str,
) -> Result<(), tokio_postgres::Error> {
    let sql = format!(
        "DELETE FROM {}.sluice_snapshot WHERE pipeline = $1",
        quote(schema)
    );
    client.execute(&sql, &[&pipeline]).await.map(|_| ())
}

/// Delete a pipeline's checkpoint and snapshot progress, in one transaction.
pub async fn forget_checkpoint(
    client: &Client,
    schema: &str,
    pipeline: &str,
) -> Result<(), tokio_postgres::Error> {
    let s = quote(schema);
    client.batch_execute("BEGIN").await?;
    let done = async {
        client
            .execute(
                &format!("DELETE FROM {s}.sluice_checkpoint WHERE pipeline = $1"),
                &[&pipeline],
            )
            .await?;
        client
            .execute(
                &format!("DELETE FROM {s}.sluice_snapshot WHERE pipeline = $1"),
                &[&pipeline],
            )
            .await?;
        client
            .execute(
                &format!("DELETE FROM {s}.sluice_schema_history WHERE pipeline = $1"),
                &[&pipeline],
            )
            .await?;
        client.batch_execute("COMMIT").await
    }
    .await;
    if done.is_err() {
        let _ = client.batch_execute("ROLLBACK").await;
    }
    done
}
