//! Writing a group into PostgreSQL: planned multi-row statements per
//! table, then the dead letters and the bookkeeping row, then COMMIT (see
//! the module doc of `postgres` for failure and large transactions).
//!
//! The plan is the one MySQL uses (`target::plan`): collapsed by key where
//! that is provably safe, else in source order. One difference: a single
//! `INSERT ... ON CONFLICT DO UPDATE` may not touch a row twice, so an
//! ordered run of upserts is cut into statements before any key that
//! repeats; the statements then run in order, which is the source's.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use tokio_postgres::Statement;

use super::sql::{LEVELS, Param, Shape, TableSql};
use super::{PgTable, PostgresTarget, Prepared, store};
use crate::change::{RowChange, Value};
use crate::error::PipelineError;
use crate::target::plan::{Kind, Step, plan};
use crate::target::{DeadLetter, Record, Routed, describe_row, encode_key};

/// Most bytes of values one multi-row statement carries.
const MAX_STATEMENT_BYTES: usize = 4 << 20;

/// Why a write failed: the error, what was being written, and which
/// (batch, row) when it was one row.
pub(super) struct Failed {
    cause: Cause,
    what: String,
    at: Option<(usize, usize)>,
}

enum Cause {
    Pg(tokio_postgres::Error),
    /// A change that cannot be planned (an image missing).
    Plan(String),
}

fn pg(what: impl Into<String>) -> impl FnOnce(tokio_postgres::Error) -> Failed {
    let what = what.into();
    move |e| Failed {
        cause: Cause::Pg(e),
        what,
        at: None,
    }
}

/// How a group is written.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Batched,
    /// One statement per change, in source order, to find a rejected row.
    RowByRow,
}

impl PostgresTarget {
    fn failed(&mut self, f: Failed, changes: &[Routed]) -> PipelineError {
        let mut err = match &f.cause {
            Cause::Pg(e) => self.error(e, || format!("applying {}", f.what)),
            Cause::Plan(m) => {
                PipelineError::definite(format!("target `{}`: applying {}: {m}", self.name, f.what))
            }
        };
        if let Some((b, r)) = f.at {
            err.row = Some((b, r));
            err = err.with_table(|| changes[b].table.clone());
        }
        if err.is_transient() {
            self.drop_client();
        }
        err
    }

    /// The catalog's view of a target table (looked up once).
    pub(super) async fn pg_table(&mut self, table: &str) -> Result<Arc<PgTable>, PipelineError> {
        if let Some(t) = self.tables.get(table) {
            return Ok(t.clone());
        }
        let (schema, name) = self.place(table);
        let client = self.client().await?;
        let rel = format!(
            "{}.{}",
            super::sql::quote(&schema),
            super::sql::quote(&name)
        );
        let found = client
            .query_opt("SELECT to_regclass($1)::oid", &[&rel])
            .await
            .map_err(|e| self.error(&e, || format!("looking up table {rel}")))?;
        let oid: Option<u32> = found.and_then(|r| r.get(0));
        let Some(oid) = oid else {
            return Err(PipelineError::definite(format!(
                "target `{}`: table {schema}.{name} does not exist; create it (docs/targets/postgres.md has the type for each MySQL type)",
                self.name
            ))
            .with_table(|| table.to_owned()));
        };
        let client = self.client().await?;
        let cols = client
            .query(
                "SELECT a.attname::text, t.typname::text, a.atttypmod FROM pg_attribute a \
                 JOIN pg_type t ON t.oid = a.atttypid \
                 WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped",
                &[&oid],
            )
            .await
            .map_err(|e| self.error(&e, || format!("reading the columns of {rel}")))?;
        let types = cols
            .iter()
            .map(|r| (r.get::<_, String>(0), r.get::<_, String>(1)))
            .collect();
        let shapes = cols
            .iter()
            .map(|r| {
                let (col, ty, typmod): (String, String, i32) = (r.get(0), r.get(1), r.get(2));
                let shape = match ty.as_str() {
                    "bytea" => Shape::Bytea,
                    "bool" => Shape::Bool,
                    "bit" | "varbit" => Shape::Bits(u32::try_from(typmod).unwrap_or(0)),
                    _ => Shape::Plain,
                };
                (col, shape)
            })
            .collect();
        let client = self.client().await?;
        let uniques: i64 = client
            .query_one(
                "SELECT count(*) FROM pg_index WHERE indrelid = $1 AND indisunique AND NOT indisprimary",
                &[&oid],
            )
            .await
            .map_err(|e| self.error(&e, || format!("reading the indexes of {rel}")))?
            .get(0);
        let t = Arc::new(PgTable {
            schema,
            name,
            shapes,
            types,
            collapse: uniques == 0,
        });
        self.tables.insert(table.to_owned(), t.clone());
        Ok(t)
    }

    /// The statements of a routed batch (index into `statements`).
    pub(super) async fn prepared_for(&mut self, r: &Routed) -> Result<usize, PipelineError> {
        if r.schema.key.is_empty() {
            return Err(PipelineError::definite(format!(
                "table {}.{} has no primary key; Sluice applies changes by primary key, so add one to the source table",
                r.schema.database, r.schema.table
            )));
        }
        let key = (r.table.clone(), r.schema.columns.clone());
        if let Some(&i) = self.prepared.get(&key) {
            return Ok(i);
        }
        let table = self.pg_table(&r.table).await?;
        let mut shapes = Vec::with_capacity(r.schema.columns.len());
        for c in &r.schema.columns {
            match table.shapes.get(c) {
                Some(s) => shapes.push(*s),
                None => {
                    return Err(PipelineError::definite(format!(
                        "target `{}`: table {}.{} has no column `{c}`; add it, or map the column away with a mapper",
                        self.name, table.schema, table.name
                    ))
                    .with_table(|| r.table.clone()));
                }
            }
        }
        self.statements.push(Prepared {
            sql: TableSql::new(&table.schema, &table.name, &r.schema),
            table,
            shapes,
            upserts: vec![None; LEVELS],
            deletes: vec![None; LEVELS],
        });
        let i = self.statements.len() - 1;
        self.prepared.insert(key, i);
        Ok(i)
    }

    /// The prepared statement of `kind` for `rows` (a power of two).
    async fn statement(&mut self, p: usize, kind: Kind, rows: usize) -> Result<Statement, Failed> {
        let level = rows.ilog2() as usize;
        let prep = &self.statements[p];
        let cached = match kind {
            Kind::Upsert => &prep.upserts[level],
            Kind::Delete => &prep.deletes[level],
        };
        if let Some(s) = cached {
            return Ok(s.clone());
        }
        let text = match kind {
            Kind::Upsert => prep.sql.upsert(rows),
            Kind::Delete => prep.sql.delete(rows),
        };
        let what = format!(
            "preparing a statement for {}.{}",
            prep.table.schema, prep.table.name
        );
        let client = self.client.as_ref().ok_or_else(|| Failed {
            cause: Cause::Plan("the connection is gone".into()),
            what: what.clone(),
            at: None,
        })?;
        let st = client.prepare(&text).await.map_err(pg(what))?;
        let prep = &mut self.statements[p];
        match kind {
            Kind::Upsert => prep.upserts[level] = Some(st.clone()),
            Kind::Delete => prep.deletes[level] = Some(st.clone()),
        }
        Ok(st)
    }

    /// The statements of every batch of a group.
    async fn all_prepared(&mut self, changes: &[Routed]) -> Result<Vec<usize>, PipelineError> {
        let mut out = Vec::with_capacity(changes.len());
        for r in changes {
            out.push(self.prepared_for(r).await?);
        }
        Ok(out)
    }

    /// Apply in planned batches; when the target rejects a batch, again
    /// row by row in a new transaction, which names the row (or succeeds).
    pub(super) async fn apply_record(
        &mut self,
        pipeline: &str,
        changes: &[Routed],
        dead: &[DeadLetter],
        record: Record<'_>,
    ) -> Result<(), PipelineError> {
        if self.open {
            return self.apply_open(pipeline, changes, dead, Some(record)).await;
        }
        match self
            .apply_once(pipeline, changes, dead, record, Mode::Batched)
            .await
        {
            Err(e) if !e.is_transient() && e.row.is_none() => {
                tracing::debug!(target_name = %self.name, error = %e, "batch rejected; applying row by row to find the row");
                self.apply_once(pipeline, changes, dead, record, Mode::RowByRow)
                    .await
            }
            other => other,
        }
    }

    async fn apply_once(
        &mut self,
        pipeline: &str,
        changes: &[Routed],
        dead: &[DeadLetter],
        record: Record<'_>,
        mode: Mode,
    ) -> Result<(), PipelineError> {
        let preps = self.all_prepared(changes).await?;
        self.client().await?;
        let result = async {
            self.simple("BEGIN").await?;
            match mode {
                Mode::Batched => self.batched(changes, &preps).await?,
                Mode::RowByRow => self.row_by_row(changes, &preps).await?,
            }
            self.bookkeeping(pipeline, dead, Some(record)).await?;
            self.simple("COMMIT").await
        }
        .await;
        match result {
            Ok(()) => {
                self.count(changes, true);
                Ok(())
            }
            Err(f) => {
                self.rollback("ROLLBACK").await;
                Err(self.failed(f, changes))
            }
        }
    }

    /// A piece of a large transaction into the open transaction (opened
    /// first), from a savepoint; with `record`, also the bookkeeping row,
    /// then COMMIT. A rejected piece goes back to the savepoint and is
    /// written row by row to name the row; the transaction stays open.
    pub(super) async fn apply_open(
        &mut self,
        pipeline: &str,
        changes: &[Routed],
        dead: &[DeadLetter],
        record: Option<Record<'_>>,
    ) -> Result<(), PipelineError> {
        let preps = match self.all_prepared(changes).await {
            Ok(p) => p,
            Err(e) => {
                self.rollback("ROLLBACK").await;
                self.open = false;
                self.open_rows.clear();
                return Err(e);
            }
        };
        self.client().await?;
        let open = self.open;
        let result = async {
            if !open {
                self.simple("BEGIN").await?;
            }
            self.simple("SAVEPOINT sluice_piece").await?;
            match self.batched(changes, &preps).await {
                Ok(()) => {}
                Err(f) if f.at.is_none() && !self.transient(&f) => {
                    self.simple("ROLLBACK TO SAVEPOINT sluice_piece").await?;
                    self.row_by_row(changes, &preps).await?;
                }
                Err(f) => return Err(f),
            }
            self.bookkeeping(pipeline, dead, record).await?;
            if record.is_some() {
                self.simple("COMMIT").await?;
            }
            Ok(())
        }
        .await;
        match result {
            Ok(()) => {
                self.open = record.is_none();
                self.count(changes, record.is_some());
                Ok(())
            }
            Err(f) => {
                let transient = self.transient(&f);
                let back = !transient
                    && self.client.as_ref().is_some_and(|c| !c.is_closed())
                    && self
                        .simple("ROLLBACK TO SAVEPOINT sluice_piece")
                        .await
                        .is_ok();
                let err = self.failed(f, changes);
                if back {
                    // At the savepoint: the pieces before are intact.
                    self.open = true;
                } else {
                    self.rollback("ROLLBACK").await;
                    self.open = false;
                    self.open_rows.clear();
                }
                Err(err)
            }
        }
    }

    fn transient(&self, f: &Failed) -> bool {
        matches!(&f.cause, Cause::Pg(e) if super::sql::classify(e) == crate::error::ErrorKind::Transient)
    }

    pub(super) async fn simple(&self, sql: &str) -> Result<(), Failed> {
        let client = self.client.as_ref().ok_or_else(|| Failed {
            cause: Cause::Plan("the connection is gone".into()),
            what: sql.to_owned(),
            at: None,
        })?;
        client.batch_execute(sql).await.map_err(pg(sql))
    }

    /// End a failed transaction; a connection that cannot is dropped.
    pub(super) async fn rollback(&mut self, sql: &str) {
        if self.simple(sql).await.is_err() {
            self.drop_client();
        }
    }

    async fn bookkeeping(
        &self,
        pipeline: &str,
        dead: &[DeadLetter],
        record: Option<Record<'_>>,
    ) -> Result<(), Failed> {
        let client = self.client.as_ref().expect("connected by the caller");
        let schema = &self.config.schema;
        store::write_dead(client, schema, pipeline, dead)
            .await
            .map_err(pg("a dead letter"))?;
        match record {
            Some(Record::Checkpoint(cp)) => store::write_checkpoint(client, schema, pipeline, cp)
                .await
                .map_err(pg("the checkpoint row")),
            Some(Record::Segment(s)) => store::write_segment(client, schema, pipeline, s)
                .await
                .map_err(pg("the snapshot progress row")),
            None => Ok(()),
        }
    }

    /// Metrics for rows written (`target::Uncommitted`).
    fn count(&mut self, changes: &[Routed], committed: bool) {
        self.open_rows.add(&self.name, changes, committed);
    }

    /// Every table's changes as planned statements, tables one after
    /// another in order of first appearance.
    pub(super) async fn batched(
        &mut self,
        changes: &[Routed],
        preps: &[usize],
    ) -> Result<(), Failed> {
        let mut order: Vec<(usize, Vec<&RowChange>)> = Vec::new();
        let mut slot: HashMap<usize, usize> = HashMap::new();
        for (b, r) in changes.iter().enumerate() {
            let i = *slot.entry(preps[b]).or_insert_with(|| {
                order.push((b, Vec::new()));
                order.len() - 1
            });
            order[i].1.extend(&r.rows);
        }
        for (first, rows) in order {
            let r = &changes[first];
            let p = preps[first];
            let collapse = self.statements[p].table.collapse;
            let steps = plan(&rows, &r.schema.key, collapse).map_err(|m| Failed {
                cause: Cause::Plan(m),
                what: format!("changes to {}", r.table),
                at: None,
            })?;
            for step in &steps {
                self.run_step(p, &r.schema.key, &r.schema.columns, step)
                    .await
                    .map_err(|mut f| {
                        f.what = format!(
                            "{} {} into {}",
                            step.images.len(),
                            match step.kind {
                                Kind::Upsert => "upserts",
                                Kind::Delete => "deletes",
                            },
                            r.table
                        );
                        f
                    })?;
            }
        }
        Ok(())
    }

    /// Every change as its own statements, in source order.
    async fn row_by_row(&mut self, changes: &[Routed], preps: &[usize]) -> Result<(), Failed> {
        for (b, r) in changes.iter().enumerate() {
            for (i, row) in r.rows.iter().enumerate() {
                let steps = plan(&[row], &r.schema.key, false).map_err(|m| Failed {
                    cause: Cause::Plan(m),
                    what: describe_row(r, row),
                    at: Some((b, i)),
                })?;
                for step in &steps {
                    self.run_step(preps[b], &r.schema.key, &r.schema.columns, step)
                        .await
                        .map_err(|mut f| {
                            f.what = describe_row(r, row);
                            f.at = Some((b, i));
                            f
                        })?;
                }
            }
        }
        Ok(())
    }

    /// One step as statements of the largest power-of-two row count that
    /// fits the row and byte limits, cut before a repeated key (module doc).
    async fn run_step(
        &mut self,
        p: usize,
        key: &[usize],
        columns: &[String],
        step: &Step<'_>,
    ) -> Result<(), Failed> {
        let max_rows = self.statements[p].sql.max_rows;
        let mut rest = step.images.as_slice();
        let mut seen: HashSet<Vec<u8>> = HashSet::new();
        while !rest.is_empty() {
            let (mut fit, mut bytes) = (0, 0);
            seen.clear();
            while fit < rest.len() && fit < max_rows && (fit == 0 || bytes < MAX_STATEMENT_BYTES) {
                if step.kind == Kind::Upsert && step.images.len() > 1 {
                    let k: Vec<Value> = key.iter().map(|&k| rest[fit][k].clone()).collect();
                    if !seen.insert(encode_key(&k)) {
                        break;
                    }
                }
                bytes += rest[fit].iter().map(value_size).sum::<usize>();
                fit += 1;
            }
            let n = 1 << fit.ilog2();
            let (chunk, tail) = rest.split_at(n);
            let st = self.statement(p, step.kind, n).await?;
            let shapes = &self.statements[p].shapes;
            let mut params: Vec<Param<'_>> = Vec::with_capacity(n * columns.len());
            for image in chunk {
                match step.kind {
                    Kind::Upsert => params.extend(image.iter().enumerate().map(|(c, v)| Param {
                        value: v,
                        shape: shapes[c],
                        column: &columns[c],
                    })),
                    Kind::Delete => params.extend(key.iter().map(|&c| Param {
                        value: &image[c],
                        shape: shapes[c],
                        column: &columns[c],
                    })),
                }
            }
            let client = self.client.as_ref().expect("connected by the caller");
            client
                .execute_raw(&st, params.iter())
                .await
                .map_err(pg(String::new()))?;
            rest = tail;
        }
        Ok(())
    }
}

/// Rough bytes a value takes in a statement.
fn value_size(v: &Value) -> usize {
    match v {
        Value::Text(s) | Value::Decimal(s) | Value::Json(s) => s.len(),
        Value::Bytes(b) => b.len() * 2,
        _ => 8,
    }
}
