//! Wiring: config in, running source, pipelines and metrics out.
//!
//! # Where reading starts
//! Each pipeline reads its checkpoint from its target. A pipeline without
//! one starts at the configured `start` (resolved once: `current` becomes
//! the end of the binlog now). The one binlog reader starts at the oldest of
//! these positions; each pipeline skips what ends at or before its own.
//! A MariaDB GTID start is used as such only while no pipeline has a
//! checkpoint; once any has, positions are exact file offsets.
//!
//! A pipeline with `snapshot = "initial"` and no checkpoint first copies
//! its tables' existing rows (`pipeline::snapshot`), which gives it a
//! checkpoint; only then does the reader start.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::config::Config;
pub use crate::control::Control;
use crate::http;
use crate::metrics as m;
use crate::pipeline::{Chain, Pipeline};
use crate::plugin::{Instance, Limits, PluginKind, Registry, Runtime};
use crate::position::StartFrom;
use crate::shutdown::Shutdown;
use crate::source;
use crate::status::{PluginInfo, State, Status};
use crate::target::Target;
use std::sync::Arc;

/// Transactions queued per pipeline before the reader waits.
const QUEUE: usize = 4096;
/// Binlog bytes a pipeline may hold, queued or in the group being applied,
/// before the reader waits: a slow target stalls the source, not memory.
/// Decoded rows take about three times their binlog bytes; with 16 MiB a
/// million-row transaction peaked at 142 MiB RSS, with 8 MiB at 121 MiB
/// (tests/tests/large_transaction.rs; the bound asked for is 150 MB), and
/// catch-up at 156-164 against 125-128 MiB for about 4% less throughput
/// (docs/benchmarks.md).
const QUEUE_BYTES: usize = 8 << 20;

/// Every plugin the pipelines name, with the kind they use it as.
pub fn wanted_plugins(config: &Config) -> BTreeMap<String, PluginKind> {
    let mut wanted = BTreeMap::new();
    for p in &config.pipelines {
        for f in &p.filters {
            wanted.insert(f.clone(), PluginKind::Filter);
        }
        for mp in &p.mappers {
            wanted.insert(mp.clone(), PluginKind::Mapper);
        }
    }
    wanted
}

/// Loaded plugins, and those the pipelines name whose files are missing.
pub struct Plugins {
    pub registry: Option<Registry>,
    pub missing: crate::plugin::watch::Missing,
}

/// Load the plugins (off the async runtime: compiling takes tens of ms
/// each). A plugin whose file does not exist is returned as missing, not
/// as an error: its pipelines wait for it. A file that exists but does not
/// load is an error.
pub async fn load_plugins(config: &Config) -> Result<Plugins, Vec<String>> {
    let mut wanted = wanted_plugins(config);
    let (Some(dir), false) = (config.plugin_dir(), wanted.is_empty()) else {
        return Ok(Plugins {
            registry: None,
            missing: Default::default(),
        });
    };
    let configs = config.plugins.config.clone();
    let mut missing = crate::plugin::watch::Missing::new();
    wanted.retain(|name, kind| {
        let present = dir.join(format!("{name}.wasm")).is_file();
        if !present {
            let cfg = configs
                .get(name)
                .map_or_else(|| "{}".to_owned(), |v| v.to_string());
            missing.insert(name.clone(), (*kind, cfg));
        }
        present
    });
    let limits = Limits {
        memory_bytes: (config.plugins.memory_mib as usize) << 20,
        deadline: Duration::from_millis(config.plugins.deadline_ms),
    };
    let cache = config.plugin_cache_dir();
    let registry = tokio::task::spawn_blocking(move || {
        let runtime = Runtime::new(limits, cache)
            .map_err(|e| vec![format!("cannot start the plugin runtime: {e:#}")])?;
        Registry::load(runtime, &dir, &wanted, &configs)
    })
    .await
    .map_err(|e| vec![format!("plugin loading panicked: {e}")])??;
    Ok(Plugins {
        registry: Some(registry),
        missing,
    })
}

/// Why the engine stopped on its own.
#[derive(Debug)]
pub struct EngineError(pub Vec<String>);

impl std::fmt::Display for EngineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.join("\n"))
    }
}

impl std::error::Error for EngineError {}

/// How one round of the engine ended.
enum Outcome {
    /// Shutdown was asked for (or every pipeline ended without error).
    Stopped,
    /// Start again from the checkpoints, as the control says.
    Next(Control),
}

/// Run until `shutdown` fires (`Ok`), the source fails definitely, or every
/// pipeline has halted (`Err`, with every reason). With `[admin] token` set,
/// halted pipelines wait to be resumed through the HTTP API instead.
///
/// # Resume
/// A resume stops every pipeline between transactions and starts the whole
/// round again: plugins are reloaded from the folder (so a fixed plugin is
/// picked up), checkpoints are read back and the reader starts at the
/// oldest. Because positions live in the targets, a restart applies nothing
/// twice and skips nothing.
pub async fn run(mut config: Config, shutdown: Shutdown) -> Result<(), EngineError> {
    let fail = |e: String| EngineError(vec![e]);
    let handle = m::install().map_err(fail)?;
    let listener = http::bind(config.metrics.listen).await.map_err(fail)?;
    tracing::info!(url = %format!("http://{}/metrics", listener.local_addr().map_err(|e| fail(e.to_string()))?), "metrics");
    let status = Arc::new(Status::default());
    let (control_tx, mut control_rx) = mpsc::unbounded_channel();
    crate::reload::watch(config.clone(), control_tx.clone(), shutdown.clone()).map_err(fail)?;
    let api = Arc::new(http::Api {
        handle,
        status: status.clone(),
        admin_token: config.admin.token.clone(),
        control: control_tx.clone(),
    });
    tokio::spawn(http::serve(listener, api, shutdown.clone()));
    loop {
        match run_round(
            &config,
            &status,
            &mut control_rx,
            &control_tx,
            shutdown.clone(),
        )
        .await?
        {
            Outcome::Stopped => return Ok(()),
            Outcome::Next(Control::Resume(name)) => {
                tracing::info!(pipeline = %name, "resuming: restarting every pipeline from its checkpoint");
            }
            Outcome::Next(Control::Replay(name)) => {
                tracing::info!(pipeline = %name, "restarting every pipeline from its checkpoint to read the lost transaction again");
                // A target that fails every large transaction is retried
                // at a pace, not in a tight loop of re-reads.
                let mut sd = shutdown.clone();
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {},
                    _ = sd.wait() => return Ok(()),
                }
            }
            Outcome::Next(Control::SourceMoved(why)) => {
                tracing::info!(reason = %why, "restarting every pipeline from its checkpoint on the new source server");
            }
            Outcome::Next(Control::PluginAppeared(name)) => {
                tracing::info!(plugin = %name, "restarting every pipeline from its checkpoint with the new plugin");
            }
            Outcome::Next(Control::Reload(new)) => {
                tracing::info!(
                    "config reloaded: restarting every pipeline from its checkpoint with the new rules"
                );
                config = *new;
            }
        }
    }
}

/// One round: check the source, load plugins, start pipelines and the
/// reader, and wait for them.
async fn run_round(
    config: &Config,
    status: &Arc<Status>,
    control: &mut mpsc::UnboundedReceiver<Control>,
    control_tx: &mpsc::UnboundedSender<Control>,
    outer: Shutdown,
) -> Result<Outcome, EngineError> {
    let fail = |e: String| EngineError(vec![e]);
    // The round's own shutdown: fired by the outer one, or by a resume.
    let (trigger, shutdown) = crate::shutdown::channel();
    {
        let (trigger, mut outer) = (trigger.clone(), outer.clone());
        tokio::spawn(async move {
            outer.wait().await;
            trigger.fire();
        });
    }
    let mut outer = outer;

    // Refuse a source whose binlog Sluice cannot use before touching any target.
    let (first, server, mut conn) = crate::start::connect_first(&config.source)
        .await
        .map_err(fail)?;
    let problems = source::check_variables(&mut conn)
        .await
        .map_err(|e| fail(format!("source: cannot read server variables: {e}")))?;
    if !problems.is_empty() {
        return Err(EngineError(problems));
    }
    let mysql_gtids = crate::start::mysql_gtids_on(&mut conn).await;
    if config.source.servers() > 1 && !mysql_gtids {
        return Err(fail(format!(
            "[source] url lists {} servers, but server {} has no MySQL GTIDs (gtid_mode=ON): a binlog position names a place in one server's binlog only, so Sluice cannot follow a promoted server without them. Turn on gtid_mode and enforce_gtid_consistency, or list one server",
            config.source.servers(),
            first + 1
        )));
    }
    let row_metadata = source::has_row_metadata(&mut conn)
        .await
        .map_err(|e| fail(format!("source: cannot read server variables: {e}")))?;

    let plugins = load_plugins(config).await.map_err(EngineError)?;
    let registry = plugins.registry.map(Arc::new);
    if let (Some(reg), Some(dir)) = (&registry, config.plugin_dir()) {
        crate::plugin::watch::spawn(
            reg.clone(),
            dir,
            status.clone(),
            plugins.missing.clone(),
            control_tx.clone(),
            shutdown.clone(),
        )
        .map_err(fail)?;
    }

    // Build the pipelines and read their checkpoints.
    let mut pipelines = Vec::new();
    let mut checkpoints = Vec::new();
    let mut waiting = 0;
    for pc in &config.pipelines {
        let absent: Vec<&String> = pc
            .filters
            .iter()
            .chain(&pc.mappers)
            .filter(|n| plugins.missing.contains_key(*n))
            .collect();
        if !absent.is_empty() {
            // Not started: it waits for its plugins (the watcher restarts
            // the round when they arrive), and says so in /status, /readyz.
            let dir = config.plugin_dir().unwrap_or_default();
            let why = absent
                .iter()
                .map(|n| {
                    format!(
                        "plugin `{n}`: no {}",
                        dir.join(format!("{n}.wasm")).display()
                    )
                })
                .collect::<Vec<_>>()
                .join("; ");
            tracing::warn!(pipeline = %pc.name, waiting_for = %why, "pipeline waits for its plugins; copy them into the plugin folder (write a temp file, then rename)");
            status.add_pipeline(&pc.name, Vec::new());
            status.update(&pc.name, |s| {
                s.state = State::Waiting;
                s.error = Some(format!("waiting for {why}"));
            });
            waiting += 1;
            continue;
        }
        let tc = &config.targets[&pc.target];
        let target = crate::target::build(&pc.target, tc).map_err(|e| fail(e.to_string()))?;
        let lacking = crate::target::unsupported(pc, tc.kind(), target.capabilities());
        if !lacking.is_empty() {
            return Err(EngineError(lacking));
        }
        let mut target = target;
        // Tables a plain copy writes that the target lacks: created when the
        // target is set to, else said once here (the first write would
        // fail on them). A target that is down is retried by the writer.
        match crate::check::plain_copy_tables(&mut conn, pc).await {
            Ok(tables) => match target.missing_tables(&tables, true).await {
                Ok(lines) => {
                    for line in lines {
                        tracing::warn!(pipeline = %pc.name, "{line}");
                    }
                }
                Err(e) => {
                    tracing::warn!(pipeline = %pc.name, error = %e, "cannot check the target tables")
                }
            },
            Err(e) => return Err(fail(format!("pipeline `{}`: {e}", pc.name))),
        }
        let instance = |name: &String| {
            let reg = registry.as_ref().expect("plugins named, so loaded");
            Instance::new(reg.runtime.clone(), reg.plugins[name].clone())
        };
        let chain = Chain {
            filters: pc.filters.iter().map(instance).collect(),
            mappers: pc.mappers.iter().map(instance).collect(),
        };
        let plugins = chain
            .filters
            .iter()
            .chain(&chain.mappers)
            .map(|i| PluginInfo {
                name: i.handle.name.to_string(),
                kind: i.handle.kind.as_str(),
                version: i.handle.current.load().version.clone(),
                loaded_at: crate::status::unix_now(),
            })
            .collect();
        m::register(
            &pc.name,
            &pc.target,
            &pc.filters
                .iter()
                .chain(&pc.mappers)
                .cloned()
                .collect::<Vec<_>>(),
        );
        status.add_pipeline(&pc.name, plugins);
        let mut p = Pipeline::new(pc, chain, target, status.clone());
        let mut cp = p
            .start()
            .await
            .map_err(|e| fail(format!("pipeline `{}`: {e}", pc.name)))?;
        if p.needs_snapshot() {
            // Copy the existing rows first (pipeline::snapshot); streaming
            // then starts where the copy is consistent.
            let mut sd = shutdown.clone();
            match p.snapshot(&server, &mut sd).await {
                Ok(Some(c)) => cp = Some(c),
                Ok(None) => return Ok(Outcome::Stopped),
                Err(e) => return Err(fail(format!("pipeline `{}`: {e}", pc.name))),
            }
        }
        tracing::info!(pipeline = %pc.name, checkpoint = ?cp.as_ref().map(|c| c.position.to_string()), "pipeline ready");
        checkpoints.push(cp);
        pipelines.push(p);
    }

    if pipelines.is_empty() {
        // Every pipeline waits for a plugin: nothing to read for yet.
        tracing::info!("every pipeline waits for plugins; not reading the binlog yet");
        let mut outer = outer;
        tokio::select! {
            Some(ctl) = control.recv() => return Ok(Outcome::Next(ctl)),
            _ = outer.wait() => return Ok(Outcome::Stopped),
        }
    }

    // A checkpoint read from another server of the list (the primary
    // failed over) moves here with its schema history first; with row
    // metadata the GTID set alone says where to go on.
    if !row_metadata && mysql_gtids {
        crate::start::move_checkpoints(&mut conn, &mut pipelines, &mut checkpoints, first)
            .await
            .map_err(fail)?;
    }

    // Where the reader starts (module doc, and `start`).
    let configured = match &config.source.start {
        StartFrom::Current => {
            let (p, set) = server
                .current_position()
                .await
                .map_err(|e| fail(e.to_string()))?;
            Some((p, set))
        }
        StartFrom::Position(p) => {
            let set = if mysql_gtids {
                source::snapshot::mysql_gtids_at(&mut conn, p)
                    .await
                    .map_err(|e| fail(format!("source.start {p}: {e}")))?
            } else {
                Default::default()
            };
            Some((p.clone(), set))
        }
        StartFrom::Gtid(_) | StartFrom::MysqlGtids(_) => None,
    };
    let (from, from_position) =
        crate::start::read_from(&config.source.start, &checkpoints, configured.as_ref())
            .map_err(fail)?;
    if config.source.servers() > 1 && !matches!(from, source::ReadFrom::MysqlGtids(_)) {
        return Err(fail(format!(
            "[source] url lists several servers, but reading starts at {from}, a position without a GTID set (a checkpoint stored before gtid_mode was on): it names a place in one server's binlog only. List one server until the checkpoints carry GTID sets"
        )));
    }
    if !row_metadata && let source::ReadFrom::MysqlGtids(set) = &from {
        crate::start::same_server(&mut conn, set, from_position.as_ref())
            .await
            .map_err(fail)?;
    }
    if let Some((start, set)) = &configured {
        for p in &mut pipelines {
            p.start_after(start.clone());
            p.start_gtid_set(set);
        }
    }
    match &config.source.start {
        StartFrom::Gtid(state) => {
            for p in &mut pipelines {
                p.start_gtid(state);
            }
        }
        StartFrom::MysqlGtids(set) => {
            for p in &mut pipelines {
                p.start_gtid_set(set);
            }
        }
        _ => {}
    }

    // A source without row metadata decodes with a schema history
    // (`source::history`), made from what the targets stored and, for the
    // tables it does not cover at `from`, read now.
    let history = if row_metadata {
        None
    } else {
        let tracked = config
            .pipelines
            .iter()
            .flat_map(|p| p.source_tables.clone())
            .collect();
        let stored = checkpoints.iter().flatten().flat_map(|c| c.schema.iter());
        let h = source::initial_history(&mut conn, tracked, stored, from_position.as_ref())
            .await
            .map_err(|e| fail(e.to_string()))?;
        Some(Arc::new(std::sync::Mutex::new(h)))
    };

    let mut tasks = JoinSet::new();
    let mut outputs = Vec::new();
    for p in pipelines {
        let (tx, rx) = mpsc::channel(QUEUE);
        outputs.push(source::Output {
            pipeline: p.name.clone(),
            tx,
            budget: Arc::new(tokio::sync::Semaphore::new(QUEUE_BYTES)),
            budget_bytes: QUEUE_BYTES,
        });
        let name = p.name.clone();
        let sd = shutdown.clone();
        tasks.spawn(async move { (name, p.run(rx, sd).await) });
    }
    let mut source = tokio::spawn(source::run(
        config.source.clone(),
        first,
        from,
        history,
        outputs,
        status.clone(),
        shutdown.clone(),
    ));

    let waits_for_resume = config.admin.token.is_some();
    let mut halted = Vec::new();
    let mut running = tasks.len();
    let mut next = None;
    let mut source_ended = None;
    // With pipelines halted (and an operator who may resume them) or
    // waiting for plugins, the round stays up for the control that
    // restarts it.
    while running > 0
        || (((waits_for_resume && !halted.is_empty()) || waiting > 0) && !outer.is_fired())
    {
        tokio::select! {
            Some(joined) = tasks.join_next(), if running > 0 => {
                running -= 1;
                match joined {
                    Ok((name, Ok(()))) => status.update(&name, |s| s.state = State::Stopped),
                    // Transient out of a pipeline: its work in flight is
                    // lost and must be read again (pipeline module doc).
                    Ok((name, Err(e))) if e.is_transient() => {
                        tracing::warn!(pipeline = %name, error = %e, "pipeline restarts from its checkpoint");
                        if next.is_none() {
                            trigger.fire();
                            next = Some(Control::Replay(name));
                        }
                    }
                    Ok((name, Err(e))) => {
                        tracing::error!(pipeline = %name, error = %e, "pipeline halted");
                        status.update(&name, |s| {
                            s.state = State::Halted;
                            s.error = Some(e.to_string());
                        });
                        halted.push(format!("pipeline `{name}` halted: {e}"));
                    }
                    Err(e) => halted.push(format!("a pipeline task panicked: {e}")),
                }
            }
            // The source moved to another server under a schema history:
            // stop the pipelines between transactions and start again,
            // so the history moves before anything of the new server is
            // decoded (what was queued is read again from there).
            ended = &mut source, if source_ended.is_none() => {
                if let Ok(Err(source::SourceError::Moved(why))) = &ended
                    && next.is_none()
                {
                    tracing::warn!(reason = %why, "the source moved to another server; stopping the pipelines between transactions to move their checkpoints");
                    trigger.fire();
                    next = Some(Control::SourceMoved(why.clone()));
                }
                source_ended = Some(ended);
            }
            Some(ctl) = control.recv(), if next.is_none() => {
                // Stop the running pipelines between transactions, then start over.
                trigger.fire();
                next = Some(ctl);
            }
            _ = outer.wait(), if running == 0 => {}
        }
        if next.is_some() && running == 0 {
            break;
        }
    }
    // Every pipeline has ended: by shutdown, or halted. A source that is
    // still reading has nobody to read for; stopping it loses nothing
    // (positions live in the targets).
    let ended = match source_ended {
        Some(ended) => ended,
        None => {
            if !source.is_finished() {
                source.abort();
            }
            source.await
        }
    };
    match ended {
        Err(e) if e.is_cancelled() => {}
        Ok(Ok(())) => {}
        // The pipelines ended on their own first (they had applied all
        // that was queued): start again all the same.
        Ok(Err(source::SourceError::Moved(why))) => {
            if next.is_none() && halted.is_empty() {
                next = Some(Control::SourceMoved(why));
            }
        }
        Ok(Err(e)) => halted.push(format!("source stopped: {e}")),
        Err(e) => halted.push(format!("source task panicked: {e}")),
    }
    if let Some(ctl) = next {
        return Ok(Outcome::Next(ctl));
    }
    if halted.is_empty() {
        Ok(Outcome::Stopped)
    } else {
        Err(EngineError(halted))
    }
}
