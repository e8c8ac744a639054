//! `sluice verify`: prove a plain copy equals its source, range by range,
//! while sync runs; with `--repair`, rewrite the ranges that differ.
//!
//! # How a range is compared
//! The source table is walked in primary-key order in ranges of
//! `chunk_rows` rows (the boundaries are source keys). For each range both
//! sides compute a row count and a 64-bit XOR of per-row MD5 prefixes over
//! every source column (`CAST(... AS BINARY)`, NULLs marked, session time
//! zone UTC), so equal tables give equal sums and a differing row changes
//! the sum except with negligible probability. The last range is open at
//! the top, so rows beyond the source's last key are found too.
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

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, OptsBuilder};

use crate::change::Value;
use crate::config::{Config, PipelineConfig, TargetKind};
use crate::source::snapshot::ConsistentRead;
use crate::source::table::{SqlTable, list_tables, quote};
use crate::source::{Server, SourceError};
use crate::target::Target;
use crate::target::mysql::{MysqlTarget, quote_table};

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

/// A range of keys `(after, upto]`; `None` is open.
#[derive(Clone, Debug)]
struct Range {
    after: Option<Vec<Value>>,
    upto: Option<Vec<Value>>,
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
    let TargetKind::Mysql = tc.kind;
    let mut target = MysqlTarget::new(&p.target, &tc.url).map_err(|e| e.to_string())?;
    let mut tconn = connect_target(&tc.url).await?;
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
            let s = checksum(&mut sconn, &table, &table.quoted(), &range).await?;
            let t = checksum(&mut tconn, &table, &quote_table(&target_table), &range)
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
        for range in differing {
            if let Some(why) = compare_settled(
                server,
                &mut tconn,
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
            report
                .lines
                .push(format!("{label}: equal ({rows} rows in {ranges} ranges)"));
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
                .repair_range(
                    &p.name,
                    &target_table,
                    &table,
                    server,
                    range.after.as_deref(),
                    range.upto.as_deref(),
                )
                .await?;
            let now = compare_settled(
                server,
                &mut tconn,
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

/// A target connection with the session the writer uses.
async fn connect_target(url: &str) -> Result<Conn, String> {
    let opts = Opts::from_url(url).map_err(|e| e.to_string())?;
    let opts: Opts = OptsBuilder::from_opts(opts)
        .init(vec!["SET time_zone = '+00:00', NAMES utf8mb4"])
        .into();
    Conn::new(opts)
        .await
        .map_err(|e| format!("cannot connect to the target: {e}"))
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

/// The SQL of a row's hash: MD5 over every column as bytes and a map of
/// its NULLs (module doc).
fn row_hash(table: &SqlTable) -> String {
    let cols: Vec<String> = table.schema.columns.iter().map(|c| quote(c)).collect();
    let values: Vec<String> = cols
        .iter()
        .map(|c| format!("CAST({c} AS BINARY)"))
        .collect();
    let nulls: Vec<String> = cols.iter().map(|c| format!("ISNULL({c})")).collect();
    format!(
        "MD5(CONCAT_WS('#', {}, CONCAT({})))",
        values.join(", "),
        nulls.join(", ")
    )
}

/// Row count and XOR of per-row hashes of a key range (module doc).
async fn checksum<Q: Queryable>(
    conn: &mut Q,
    table: &SqlTable,
    quoted: &str,
    range: &Range,
) -> Result<(u64, u64), String> {
    let hash = row_hash(table);
    let (cond, params) = table.key_range(range.after.as_deref(), range.upto.as_deref());
    let sql = format!(
        "SELECT COUNT(*), COALESCE(BIT_XOR(CAST(CONV(LEFT({hash}, 16), 16, 10) AS UNSIGNED)), 0) FROM {quoted} WHERE {cond}"
    );
    let row: Option<(u64, u64)> = conn
        .exec_first(sql, params)
        .await
        .map_err(|e| format!("checksum of {quoted}: {e}"))?;
    Ok(row.unwrap_or((0, 0)))
}

/// Lag-aware comparisons (module doc), up to `rounds` of them; `None` when
/// one matched once the engine caught up, else why it still differs.
#[allow(clippy::too_many_arguments)]
async fn compare_settled(
    server: &Server,
    tconn: &mut Conn,
    target: &mut MysqlTarget,
    pipeline: &str,
    table: &SqlTable,
    target_table: &str,
    range: &Range,
    settle: Duration,
    rounds: usize,
) -> Result<Option<String>, String> {
    for round in 1..=rounds {
        let mut read = ConsistentRead::open(server).await.map_err(src)?;
        let at = read.position.clone();
        let s = checksum(read.conn(), table, &table.quoted(), range).await?;
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
        let t = checksum(tconn, table, &quote_table(target_table), range).await?;
        if s == t {
            return Ok(None);
        }
        if round == rounds {
            let first = first_differences(server, tconn, table, target_table, range).await?;
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

/// The first differing keys of a range, for the report.
async fn first_differences(
    server: &Server,
    tconn: &mut Conn,
    table: &SqlTable,
    target_table: &str,
    range: &Range,
) -> Result<String, String> {
    let hash = row_hash(table);
    let key_text = table
        .schema
        .key
        .iter()
        .map(|&k| {
            let c = &table.schema.columns[k];
            format!(
                "CONCAT('{}=', CAST({} AS BINARY))",
                c.replace('\'', "''"),
                quote(c)
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    let (cond, params) = table.key_range(range.after.as_deref(), range.upto.as_deref());
    let query = |quoted: &str| {
        format!("SELECT CONCAT_WS(', ', {key_text}), {hash} FROM {quoted} WHERE {cond}")
    };
    let mut sconn = server.connect().await.map_err(src)?;
    sconn
        .query_drop("SET time_zone = '+00:00', NAMES utf8mb4")
        .await
        .map_err(|e| e.to_string())?;
    let fetch = |rows: Vec<(Vec<u8>, String)>| -> Vec<(String, String)> {
        rows.into_iter()
            .map(|(k, h)| (String::from_utf8_lossy(&k).into_owned(), h))
            .collect()
    };
    let s: Vec<(Vec<u8>, String)> = sconn
        .exec(query(&table.quoted()), params.clone())
        .await
        .map_err(|e| e.to_string())?;
    let t: Vec<(Vec<u8>, String)> = tconn
        .exec(query(&quote_table(target_table)), params)
        .await
        .map_err(|e| e.to_string())?;
    let (s, t) = (fetch(s), fetch(t));
    let smap: std::collections::HashMap<_, _> = s.iter().cloned().collect();
    let tmap: std::collections::HashMap<_, _> = t.iter().cloned().collect();
    let mut out = Vec::new();
    for (k, h) in &s {
        match tmap.get(k) {
            None => out.push(format!("{} missing in the target", k)),
            Some(th) if th != h => out.push(format!("{} differs", k)),
            _ => {}
        }
    }
    for (k, _) in &t {
        if !smap.contains_key(k) {
            out.push(format!("{} only in the target", k));
        }
    }
    let more = out.len().saturating_sub(5);
    out.truncate(5);
    Ok(if out.is_empty() {
        String::new()
    } else if more > 0 {
        format!("; first rows: {} (and {more} more)", out.join(", "))
    } else {
        format!("; rows: {}", out.join(", "))
    })
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
