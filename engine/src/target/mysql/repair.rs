//! `sluice verify --repair`: rewrite one primary-key range of a target
//! table to equal the source, while the engine keeps streaming into it.
//!
//! # Why a repair cannot undo newer changes
//! The repair runs in one target transaction that first locks the
//! pipeline's checkpoint row (`SELECT … FOR UPDATE`). Every apply of the
//! engine writes that row, so no apply commits until the repair does, and
//! the target stays at its checkpoint `C` meanwhile. Only then is the
//! source read, in a consistent read at position `P`; as `C` is a position
//! the source had already written, `P >= C`. The range is rewritten to its
//! state at `P`: rows missing from the source are deleted, every source row
//! is written. After the repair commits, the engine applies the changes
//! after `C` in order; for a key in the range, replaying the changes in
//! `(C, P]` over its state at `P` ends at its last change up to `P`, which
//! is its state at `P`; the changes after `P` then apply normally. No newer
//! change is overwritten by older data, and nothing is lost.
//!
//! The rows are written by the pipeline's writer (`batched`), deletes
//! first, in order.

use std::collections::HashSet;

use mysql_async::TxOpts;
use mysql_async::prelude::Queryable;

use super::MysqlTarget;
use super::writer::batched;
use crate::change::{Op, RowChange, Value};
use crate::error::PipelineError;
use crate::position::{BinlogFile, BinlogPosition};
use crate::source::snapshot::ConsistentRead;
use crate::source::table::SqlTable;
use crate::source::{Server, SourceError};
use crate::target::encode_key;
use crate::target::{Repaired, Routed};

impl MysqlTarget {
    /// Make the rows of `target_table` with keys in `(after, upto]` equal
    /// to `source`'s (module doc).
    pub(super) async fn repair(
        &mut self,
        pipeline: &str,
        target_table: &str,
        source: &SqlTable,
        server: &Server,
        after: Option<&[Value]>,
        upto: Option<&[Value]>,
    ) -> Result<Repaired, String> {
        let fail = |e: PipelineError| e.to_string();
        let probe = Routed {
            table: target_table.to_owned(),
            schema: source.schema.clone(),
            rows: Vec::new(),
            end: BinlogPosition {
                file: BinlogFile::new("repair.000000").expect("valid name"),
                pos: 0,
            },
        };
        let (sql, _) = self.statements(&probe).await.map_err(fail)?;
        let keys = source.keys_only();
        let (cond, params) = source.key_range(after, upto);
        let name = self.name.clone();
        let conn = self.conn().await.map_err(fail)?;
        let mut tx = conn
            .start_transaction(TxOpts::default())
            .await
            .map_err(|e| format!("target `{name}`: START TRANSACTION: {e}"))?;
        tx.exec_drop(
            "SELECT pipeline FROM sluice_checkpoint WHERE pipeline = ? FOR UPDATE",
            (pipeline,),
        )
        .await
        .map_err(|e| format!("target `{name}`: locking the checkpoint of `{pipeline}`: {e}"))?;

        let src = |e: SourceError| e.to_string();
        let mut read = ConsistentRead::open(server, &[]).await.map_err(src)?;
        let rows = source
            .read(
                read.conn(),
                &format!(
                    "SELECT {} FROM {} WHERE {cond} ORDER BY {}",
                    source.column_list(),
                    source.quoted(),
                    source.key_list()
                ),
                params.clone(),
            )
            .await
            .map_err(src)?;
        drop(read);
        let present = keys
            .read(
                &mut tx,
                &format!(
                    "SELECT {} FROM {} WHERE {cond}",
                    keys.column_list(),
                    super::sql::quote_table(target_table)
                ),
                params,
            )
            .await
            .map_err(|e| format!("target `{name}`: reading the keys of {target_table}: {e}"))?;

        let in_source: HashSet<Vec<u8>> =
            rows.iter().map(|r| encode_key(&source.key_of(r))).collect();
        let width = source.schema.columns.len();
        let mut changes = Vec::new();
        for k in present
            .iter()
            .filter(|k| !in_source.contains(&encode_key(k)))
        {
            let mut image = vec![Value::Null; width];
            for (i, &col) in source.schema.key.iter().enumerate() {
                image[col] = k[i].clone();
            }
            changes.push(RowChange {
                op: Op::Delete,
                before: Some(image),
                after: None,
            });
        }
        let deleted = changes.len();
        let written = rows.len();
        changes.extend(rows.into_iter().map(|r| RowChange {
            op: Op::Insert,
            before: None,
            after: Some(r),
        }));
        let routed = [Routed {
            rows: changes,
            ..probe
        }];
        batched(&mut tx, &routed, &[(sql, false)])
            .await
            .map_err(|(e, what, _)| format!("target `{name}`: writing {what}: {e}"))?;
        tx.commit()
            .await
            .map_err(|e| format!("target `{name}`: COMMIT: {e}"))?;
        Ok(Repaired { deleted, written })
    }
}
