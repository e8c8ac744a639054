//! The `sluice` command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use sluice::config::Config;
use sluice::{engine, plugin, shutdown};

/// Rows are decoded on the source task and freed on the pipeline task;
/// glibc malloc spent about 45% of the engine's CPU on that cross-thread
/// traffic in the end-to-end benchmark (perf), mimalloc far less.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "sluice",
    version,
    about = "Binlog CDC through WebAssembly plugins into MySQL, exactly once"
)]
struct Cli {
    /// Log lines as human-readable text or as JSON objects (one per line).
    #[arg(long, value_enum, default_value = "text", global = true)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Run the pipelines until SIGINT or SIGTERM.
    Run {
        #[arg(long)]
        config: PathBuf,
    },
    /// Validate the config, connect to every server, load every plugin.
    Check {
        #[arg(long)]
        config: PathBuf,
    },
    /// Compare each plain-copy pipeline's target tables with the source,
    /// range by range, while sync runs; exit 1 on a difference.
    Verify {
        #[arg(long)]
        config: PathBuf,
        /// Only this pipeline.
        #[arg(long)]
        pipeline: Option<String>,
        /// Rewrite the differing ranges from the source (safe while sync
        /// runs).
        #[arg(long)]
        repair: bool,
        /// Rows per compared range.
        #[arg(long, default_value_t = 10_000)]
        chunk_rows: usize,
        /// Seconds to wait for the engine to pass a source position before
        /// comparing a range that differed.
        #[arg(long, default_value_t = 30)]
        settle_secs: u64,
    },
    /// Delete a pipeline's checkpoint (and snapshot progress) in its
    /// target, so that its next start copies its tables again: the way out
    /// when the source purged the binlog at the checkpoint. Stop sluice
    /// first.
    ResetCheckpoint {
        #[arg(long)]
        config: PathBuf,
        #[arg(long)]
        pipeline: String,
    },
    /// Plugin tools.
    Plugin {
        #[command(subcommand)]
        command: PluginCommand,
    },
}

#[derive(Subcommand)]
enum PluginCommand {
    /// Build a plugin crate (or workspace) for wasm32-unknown-unknown and
    /// write each plugin as a component into OUT.
    Build {
        dir: PathBuf,
        #[arg(long, default_value = "plugins.d")]
        out: PathBuf,
    },
    /// Run a plugin on sample changes (JSON lines) and print what comes
    /// out, one JSON line per change, with timings on stderr.
    Test {
        plugin: PathBuf,
        /// JSON lines: {"table":"db.t","op":"insert|update|delete","before":{..},"after":{..}}
        #[arg(long)]
        input: PathBuf,
        /// Plugin config entries key=value (the value is JSON if it parses
        /// as JSON, else a string), as `[plugins.config.NAME]` would give.
        #[arg(long = "config", value_name = "KEY=VALUE")]
        config: Vec<String>,
    },
    /// Create a plugin crate NAME (a mapper, or with --filter a filter)
    /// from a template that builds as it is.
    New {
        name: String,
        /// Make a filter instead of a mapper.
        #[arg(long)]
        filter: bool,
        /// The Sluice SDK folder (plugins/sdk of a Sluice source tree).
        #[arg(long)]
        sdk: Option<PathBuf>,
        /// Where to create the crate folder.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
}

/// Set once at start: whether stderr carries JSON lines.
static JSON_LOGS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();

/// Tell the operator why the command failed: plain text on a terminal or
/// in text mode, one JSON log line in JSON mode (so every line parses).
fn report(message: &str) {
    if JSON_LOGS.get().copied().unwrap_or(false) {
        tracing::error!("{message}");
    } else {
        eprintln!("{message}");
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    sluice::install_crypto();
    let _ = JSON_LOGS.set(matches!(cli.log_format, LogFormat::Json));
    let filter = || {
        tracing_subscriber::EnvFilter::try_from_env("SLUICE_LOG").unwrap_or_else(|_| "info".into())
    };
    match cli.log_format {
        LogFormat::Text => tracing_subscriber::fmt()
            .with_env_filter(filter())
            .with_writer(std::io::stderr)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
        LogFormat::Json => tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter())
            .with_writer(std::io::stderr)
            .init(),
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            report(&format!("cannot start the async runtime: {e}"));
            return ExitCode::FAILURE;
        }
    };
    match cli.command {
        Command::Run { config } => rt.block_on(run(config)),
        Command::Check { config } => rt.block_on(check(config)),
        Command::Verify {
            config,
            pipeline,
            repair,
            chunk_rows,
            settle_secs,
        } => rt.block_on(verify(
            config,
            sluice::verify::Options {
                pipeline,
                repair,
                chunk_rows: chunk_rows.max(1),
                settle: std::time::Duration::from_secs(settle_secs),
            },
        )),
        Command::ResetCheckpoint { config, pipeline } => {
            rt.block_on(reset_checkpoint(config, pipeline))
        }
        Command::Plugin {
            command:
                PluginCommand::New {
                    name,
                    filter,
                    sdk,
                    dir,
                },
        } => match plugin::new::new(&dir, &name, filter, sdk.as_deref()) {
            Ok(path) => {
                println!("{}", path.display());
                ExitCode::SUCCESS
            }
            Err(e) => {
                report(&format!("error: {e:#}"));
                ExitCode::FAILURE
            }
        },
        Command::Plugin {
            command:
                PluginCommand::Test {
                    plugin,
                    input,
                    config,
                },
        } => plugin_test(&plugin, &input, &config),
        Command::Plugin {
            command: PluginCommand::Build { dir, out },
        } => match plugin::build::build(&dir, &out) {
            Ok(files) => {
                for f in files {
                    println!("{}", f.display());
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                report(&format!("error: {e:#}"));
                ExitCode::FAILURE
            }
        },
    }
}

fn load(path: &std::path::Path) -> Option<Config> {
    match Config::load(path) {
        Ok(c) => Some(c),
        Err(errs) => {
            report(errs.to_string().trim_end());
            None
        }
    }
}

async fn run(path: PathBuf) -> ExitCode {
    let Some(config) = load(&path) else {
        return ExitCode::from(2);
    };
    let (trigger, sd) = shutdown::channel();
    tokio::spawn(async move {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => {
                    tracing::error!(error = %e, "cannot listen for SIGTERM");
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {},
            _ = term.recv() => {},
        }
        tracing::info!(
            "stopping: finishing the transaction in flight (a second signal exits at once)"
        );
        trigger.fire();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {},
            _ = term.recv() => {},
        }
        std::process::exit(130);
    });
    match engine::run(config, sd).await {
        Ok(()) => {
            tracing::info!("stopped cleanly");
            ExitCode::SUCCESS
        }
        Err(e) => {
            report(&format!("error: {e}"));
            ExitCode::FAILURE
        }
    }
}

fn plugin_test(plugin: &std::path::Path, input: &std::path::Path, config: &[String]) -> ExitCode {
    let run = || -> anyhow::Result<plugin::sample::Report> {
        let mut map = serde_json::Map::new();
        for entry in config {
            let (k, v) = entry
                .split_once('=')
                .ok_or_else(|| anyhow::anyhow!("--config {entry}: use KEY=VALUE"))?;
            let v =
                serde_json::from_str(v).unwrap_or_else(|_| serde_json::Value::String(v.to_owned()));
            map.insert(k.to_owned(), v);
        }
        let text = std::fs::read_to_string(input)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", input.display()))?;
        plugin::sample::run(plugin, &text, serde_json::Value::Object(map))
    };
    match run() {
        Ok(r) => {
            for line in &r.lines {
                println!("{line}");
            }
            eprintln!(
                "{} changes in, {} out, {} batches; {:.1} us in the plugin chain ({:.0} ns per change in)",
                r.rows_in,
                r.lines.len(),
                r.batches,
                r.took.as_secs_f64() * 1e6,
                r.took.as_secs_f64() * 1e9 / r.rows_in.max(1) as f64
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            report(&format!("error: {e:#}"));
            ExitCode::FAILURE
        }
    }
}

async fn check(path: PathBuf) -> ExitCode {
    let Some(config) = load(&path) else {
        return ExitCode::from(2);
    };
    let problems = sluice::check::check(&config).await;
    if problems.is_empty() {
        println!("{}: ok", path.display());
        ExitCode::SUCCESS
    } else {
        let mut text = format!("{} problem(s):", problems.len());
        for p in problems {
            text.push_str(&format!("\n  {p}"));
        }
        report(&text);
        ExitCode::FAILURE
    }
}

async fn verify(path: PathBuf, opts: sluice::verify::Options) -> ExitCode {
    let Some(config) = load(&path) else {
        return ExitCode::from(2);
    };
    match sluice::verify::run(&config, &opts).await {
        Ok(report) => {
            for line in &report.lines {
                println!("{line}");
            }
            if report.ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            report(&format!("error: {e}"));
            ExitCode::from(2)
        }
    }
}

async fn reset_checkpoint(path: PathBuf, pipeline: String) -> ExitCode {
    let Some(config) = load(&path) else {
        return ExitCode::from(2);
    };
    let Some(p) = config.pipelines.iter().find(|p| p.name == pipeline) else {
        report(&format!(
            "error: no pipeline named `{pipeline}` in {}",
            path.display()
        ));
        return ExitCode::from(2);
    };
    let done = async {
        use sluice::target::Target;
        let mut target = sluice::target::build(&p.target, &config.targets[&p.target])?;
        target.prepare().await?;
        let old = target.checkpoint(&pipeline).await?;
        target.forget_checkpoint(&pipeline).await?;
        Ok::<_, sluice::error::PipelineError>(old)
    }
    .await;
    match done {
        Ok(old) => {
            match old {
                Some(cp) => println!(
                    "pipeline `{pipeline}`: checkpoint {} deleted from target `{}`",
                    cp.position, p.target
                ),
                None => println!(
                    "pipeline `{pipeline}`: target `{}` held no checkpoint",
                    p.target
                ),
            }
            println!(
                "its next start copies its tables again if it has snapshot = \"initial\" (the default with [source] start = \"current\"); afterwards, `sluice verify --repair` removes rows the source deleted meanwhile"
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            report(&format!("error: {e}"));
            ExitCode::from(2)
        }
    }
}
