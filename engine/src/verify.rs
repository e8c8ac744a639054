//! `sluice verify`: prove a plain copy equals its source, range by range,
//! while sync runs; with `--repair`, rewrite the ranges that differ.
//!
//! # How a range is compared
//! The source table is walked in primary-key order in ranges of
//! `chunk_rows` rows (the boundaries are source keys). For each range the
//! target computes a row count and a 64-bit digest of the source's rows
//! and of its own ([`crate::target::RangeVerify`]; each kind says how), so
//! equal tables give equal digests and a differing row changes the digest
//! except with negligible probability. The last range is open at the top,
//! so rows beyond the source's last key are found too. A target whose
//! capabilities do not include verify is explained and skipped.
//!
//! # Why lag is not reported
//! A range that differs is checked again: a consistent read of the source
//! gives its checksum at a binlog position `P`; the verifier waits until
//! the pipeline's checkpoint in the target has reached `P` (the engine has
//! applied everything up to `P`), then checksums the target. A correct
//! copy that only lagged now agrees, unless the range changed again after
//! `P`; so a range counts as different only if it differs in
//! [`RECHECKS`] such rounds in a row. A target that does not reach `P`
//! within the settle time (sync stopped) is compared as it is, and the
//! report says the checkpoint was behind.
//!
//! # Scope
//! Only pipelines without filters and mappers copy rows as they are; for
//! the others a difference would say nothing, so they are explained and
//! skipped, never reported as different.

use std::time::{Duration, Instant};

use mysql_async::Conn;
use mysql_async::prelude::Queryable;

use crate::change::Value;
use crate::config::{Config, PipelineConfig};
use crate::source::snapshot::ConsistentRead;
use crate::source::table::{SqlTable, list_tables};
use crate::source::{Server, SourceError};
use crate::target::{AnyTarget, KeyRange as Range, RangeVerify, Target};

/// Rounds a differing range is checked again before it is reported.
pub const RECHECKS: usize = 3;

/// What to verify and how.
#[derive(Clone, Debug)]
pub struct Options {
    /// Only this pipeline (all when `None`).
    pub pipeline: Option<String>,
    pub repair: bool,
    pub chunk_rows: usize,
    /// How long to wait for the engine to pass a source position.
    pub settle: Duration,
}

/// The result: lines to print and whether everything matched (or was
/// repaired).
#[derive(Debug, Default)]
pub struct Report {
    pub lines: Vec<String>,
    pub differences: usize,
    pub repaired: usize,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.differences == self.repaired
    }
}

fn src(e: SourceError) -> String {
    e.to_string()
}

/// Verify the config's pipelines (module doc).
pub async fn run(config: &Config, opts: &Options) -> Result<Report, String> {
    let server = Server::new(&config.source).map_err(src)?;
    let mut report = Report::default();
    let mut found = false;
    for p in &config.pipelines {
        if opts.pipeline.as_ref().is_some_and(|n| n != &p.name) {
            continue;
        }
        found = true;
        if !p.filters.is_empty() || !p.mappers.is_empty() {
            report.lines.push(format!(
                "pipeline `{}`: not verified: it runs plugins (filters [{}], mappers [{}]), so its target rows are not copies of the source rows and a checksum would report false differences; verify compares plain copies only",
                p.name,
                p.filters.join(", "),
                p.mappers.join(", ")
            ));
            continue;
        }
        verify_pipeline(config, p, &server, opts, &mut report).await?;
    }
    if let (Some(name), false) = (&opts.pipeline, found) {
        return Err(format!("no pipeline named `{name}` in the config"));
    }
    Ok(report)
}

async fn verify_pipeline(
    config: &Config,
    p: &PipelineConfig,
    server: &Server,
    opts: &Options,
    report: &mut Report,
) -> Result<(), String> {
    let tc = &config.targets[&p.target];
    let mut target = crate::target::build(&p.target, tc).map_err(|e| e.to_string())?;
    if !target.capabilities().verify {
        report.lines.push(format!(
            "pipeline `{}`: not verified: target `{}` (kind {}) cannot be compared with the source",
            p.name,
            p.target,
            tc.kind()
        ));
        return Ok(());
    }
    let mut sconn = server.connect().await.map_err(src)?;
    sconn
        .query_drop("SET time_zone = '+00:00', NAMES utf8mb4")
        .await
        .map_err(|e| e.to_string())?;
    let names = list_tables(&mut sconn).await.map_err(|e| e.to_string())?;
    for (db, name) in names {
        if !p.source_tables.iter().any(|pat| pat.matches(&db, &name)) {
            continue;
        }
        let Some(table) = SqlTable::load(&mut sconn, &db, &name)
            .await
            .map_err(|e| e.to_string())?
        else {
            continue;
        };
        let target_table = p
            .target_table
            .replace("{db}", &db)
            .replace("{table}", &name);
        let label = format!("pipeline `{}`: {db}.{name} -> {target_table}", p.name);
        if table.schema.key.is_empty() {
            report.lines.push(format!(
                "{label}: not verified: the table has no primary key"
            ));
            continue;
        }
        let mut differing = Vec::new();
        let mut after: Option<Vec<Value>> = None;
        let (mut ranges, mut rows) = (0, 0u64);
        loop {
            let upto = boundary(&mut sconn, &table, after.as_deref(), opts.chunk_rows).await?;
            let range = Range {
                after: after.clone(),
                upto: upto.clone(),
            };
            let s = target
                .source_digest(&mut sconn, &table, &target_table, &range)
                .await?;
            let t = target
                .target_digest(&table, &target_table, &range)
                .await
                .map_err(|e| format!("{label}: target: {e}"))?;
            ranges += 1;
            rows += s.0;
            if s != t {
                differing.push(range);
            }
            match upto {
                Some(u) => after = Some(u),
                None => break,
            }
        }
        // Check each differing range again once the engine has caught up.
        let mut confirmed = Vec::new();
        let first_seen = differing.len();
        for range in differing {
            if let Some(why) = compare_settled(
                server,
                &mut target,
                &p.name,
                &table,
                &target_table,
                &range,
                opts.settle,
                RECHECKS,
            )
            .await?
            {
                confirmed.push((range, why));
            }
        }
        if confirmed.is_empty() {
            // Ranges that differed at first only lagged: say so, since it
            // shows how far behind the target ran.
            let lagged = match first_seen {
                0 => String::new(),
                n => format!("; {n} matched once the target caught up"),
            };
            report.lines.push(format!(
                "{label}: equal ({rows} rows in {ranges} ranges{lagged})"
            ));
            continue;
        }
        report.differences += confirmed.len();
        report.lines.push(format!(
            "{label}: DIFFERENT in {} of {ranges} ranges",
            confirmed.len()
        ));
        for (range, why) in confirmed.iter().take(10) {
            report
                .lines
                .push(format!("  keys {}: {why}", describe(&table, range)));
        }
        if !opts.repair {
            continue;
        }
        for (range, _) in &confirmed {
            let done = target
                .repair_range(&p.name, &target_table, &table, server, range)
                .await?;
            let now = compare_settled(
                server,
                &mut target,
                &p.name,
                &table,
                &target_table,
                range,
                opts.settle,
                1,
            )
            .await?;
            if now.is_none() {
                report.repaired += 1;
                report.lines.push(format!(
                    "  repaired keys {}: {} rows written, {} deleted",
                    describe(&table, range),
                    done.written,
                    done.deleted
                ));
            } else {
                report.lines.push(format!(
                    "  repair of keys {} did not make it equal; run verify again",
                    describe(&table, range)
                ));
            }
        }
    }
    Ok(())
}

/// The key `chunk_rows` rows after `after` in the source, or `None` when
/// fewer rows are left (the last range is open).
async fn boundary(
    conn: &mut Conn,
    table: &SqlTable,
    after: Option<&[Value]>,
    chunk_rows: usize,
) -> Result<Option<Vec<Value>>, String> {
    let keys = table.keys_only();
    let (cond, params) = table.key_range(after, None);
    let sql = format!(
        "SELECT {} FROM {} WHERE {cond} ORDER BY {} LIMIT 1 OFFSET {}",
        keys.column_list(),
        table.quoted(),
        table.key_list(),
        chunk_rows - 1
    );
    let rows = keys.read(conn, &sql, params).await.map_err(src)?;
    Ok(rows.into_iter().next())
}

/// Lag-aware comparisons (module doc), up to `rounds` of them; `None` when
/// one matched once the engine caught up, else why it still differs.
#[allow(clippy::too_many_arguments)]
async fn compare_settled(
    server: &Server,
    target: &mut AnyTarget,
    pipeline: &str,
    table: &SqlTable,
    target_table: &str,
    range: &Range,
    settle: Duration,
    rounds: usize,
) -> Result<Option<String>, String> {
    for round in 1..=rounds {
        let mut read = ConsistentRead::open(server, &[]).await.map_err(src)?;
        let at = read.position.clone();
        let s = target
            .source_digest(read.conn(), table, target_table, range)
            .await?;
        drop(read);
        let deadline = Instant::now() + settle;
        let mut behind = None;
        loop {
            let cp = target
                .checkpoint(pipeline)
                .await
                .map_err(|e| e.to_string())?;
            match cp {
                Some(c) if c.position >= at => break,
                other if Instant::now() >= deadline => {
                    behind = Some(match other {
                        Some(c) => format!(
                            "; the target's checkpoint {} is behind the source position {at} (is sluice running?)",
                            c.position
                        ),
                        None => "; the pipeline has no checkpoint in the target".to_owned(),
                    });
                    break;
                }
                _ => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        let t = target.target_digest(table, target_table, range).await?;
        if s == t {
            return Ok(None);
        }
        if round == rounds {
            let first = target
                .first_differences(server, table, target_table, range)
                .await?;
            return Ok(Some(format!(
                "source has {} rows, target {}{}{first}",
                s.0,
                t.0,
                behind.unwrap_or_default()
            )));
        }
    }
    Ok(None)
}

/// `(after, upto]` with the key column names, for the report.
fn describe(table: &SqlTable, range: &Range) -> String {
    let names: Vec<&str> = table
        .schema
        .key
        .iter()
        .map(|&k| table.schema.columns[k].as_str())
        .collect();
    let show = |k: &Option<Vec<Value>>| match k {
        None => "…".to_owned(),
        Some(v) => v
            .iter()
            .map(|x| x.to_string())
            .collect::<Vec<_>>()
            .join(", "),
    };
    format!(
        "({}) in ({}, {}]",
        names.join(", "),
        show(&range.after),
        show(&range.upto)
    )
}
