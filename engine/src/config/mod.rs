//! The typed configuration (TOML) and its validation.
//!
//! The file is parsed into a spanned TOML tree first and then walked by hand,
//! section by section, so that *every* mistake is collected and reported at
//! once with its file, line and key (serde stops at the first). Unknown keys
//! are errors: a typo must never be silently ignored.
//!
//! ```toml
//! [source]
//! url = "mysql://repl:secret@127.0.0.1:3307"
//! server_id = 4242
//! start = "current"
//!
//! [plugins]
//! dir = "plugins.d"
//!
//! [metrics]
//! listen = "127.0.0.1:9187"
//!
//! [targets.orders]
//! kind = "mysql"
//! url = "mysql://root@127.0.0.1:3308/orders"
//!
//! [[pipelines]]
//! name = "products"
//! source_tables = ["product.product", "product.category"]
//! filters = ["active_only"]
//! mappers = ["hide_cost"]
//! target = "orders"
//! target_table = "{table}"
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::position::StartFrom;

mod walk;

pub use crate::target::TargetConfig;
pub(crate) use walk::Section;
#[cfg(feature = "target-mysql")]
pub(crate) use walk::url_check;

/// The whole configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// The file this was read from, for messages.
    pub path: PathBuf,
    pub source: SourceConfig,
    pub plugins: PluginsConfig,
    pub metrics: MetricsConfig,
    pub admin: AdminConfig,
    /// Targets by name.
    pub targets: BTreeMap<String, TargetConfig>,
    pub pipelines: Vec<PipelineConfig>,
}

/// `[source]`: the MySQL/MariaDB server whose binlog is read.
#[derive(Clone, Debug, PartialEq)]
pub struct SourceConfig {
    /// `mysql://user:password@host:port`; the user needs REPLICATION SLAVE,
    /// REPLICATION CLIENT and SELECT. The first of `urls`.
    pub url: String,
    /// Every server of the comma-separated `url`, in the order tried: a
    /// primary and the replicas that may be promoted (`source::run`, #
    /// Following a promoted server). One entry without a list.
    pub urls: Vec<String>,
    /// The replica server id the engine registers with; must be unique among
    /// the server's replicas.
    pub server_id: u32,
    /// Where to start when no pipeline has a checkpoint yet.
    pub start: StartFrom,
    /// Seconds between heartbeats the server sends on an idle stream; a read
    /// waits three of them before the connection counts as dead.
    pub heartbeat_secs: u64,
    /// TLS to the source.
    pub tls: Tls,
}

impl SourceConfig {
    /// The config of server `i` of the list alone.
    pub fn server(&self, i: usize) -> SourceConfig {
        let url = self
            .urls
            .get(i)
            .cloned()
            .unwrap_or_else(|| self.url.clone());
        SourceConfig {
            url: url.clone(),
            urls: vec![url],
            ..self.clone()
        }
    }

    /// How many servers the list names (at least one).
    pub fn servers(&self) -> usize {
        self.urls.len().max(1)
    }
}

/// TLS on the source connection, in the terms of MySQL's `--ssl-mode`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Tls {
    /// Plain TCP (or whatever the URL's `require_ssl` says).
    #[default]
    Off,
    /// Encrypted, the server's certificate not checked.
    Required,
    /// Encrypted, the certificate checked against `ca` (or the system's
    /// roots), the host name not.
    VerifyCa { ca: Option<PathBuf> },
    /// As `VerifyCa`, and the certificate must name the host connected to.
    VerifyIdentity { ca: Option<PathBuf> },
}

/// `[plugins]`: where plugins live and what they may use.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PluginsConfig {
    /// Folder of `.wasm` components, relative to the config file. `None`
    /// when the section is absent (then no pipeline may name a plugin).
    pub dir: Option<PathBuf>,
    /// Memory cap per plugin instance, in MiB.
    pub memory_mib: u64,
    /// Deadline per plugin call, in milliseconds.
    pub deadline_ms: u64,
    /// Each plugin's own config section (`[plugins.config.NAME]`), passed to
    /// its `init` as JSON.
    pub config: BTreeMap<String, serde_json::Value>,
    /// Folder for compiled plugins, relative to the config file; `None`
    /// means `plugin-cache` in the state folder ([`state_dir`]). Never
    /// inside the plugin folder.
    pub cache_dir: Option<PathBuf>,
}

/// `[metrics]`: the HTTP listener for Prometheus.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricsConfig {
    /// Address to listen on; loopback by default so metrics are not exposed
    /// by accident.
    pub listen: SocketAddr,
}

/// `[admin]`: the write side of the HTTP API.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AdminConfig {
    /// Bearer token for `POST /pipelines/{name}/resume`; the endpoint is
    /// disabled without one. With a token set, the process also stays up
    /// when every pipeline has halted, waiting to be resumed.
    pub token: Option<String>,
}

/// `[[pipelines]]`: which tables go through which plugins to which target.
#[derive(Clone, Debug, PartialEq)]
pub struct PipelineConfig {
    /// Unique name; it keys the checkpoint row in the target.
    pub name: String,
    /// `db.table` patterns; `*` matches any run of characters.
    pub source_tables: Vec<TablePattern>,
    /// Filter plugins (file stems in the plugin folder), applied in order.
    pub filters: Vec<String>,
    /// Mapper plugins, applied in order after the filters.
    pub mappers: Vec<String>,
    /// Name of a `[targets.NAME]` section.
    pub target: String,
    /// Target table name template; `{db}` and `{table}` expand to the source
    /// names. Defaults to `{table}`.
    pub target_table: String,
    /// What a definite error (plugin fault, row the target rejects) does.
    pub on_error: OnError,
    /// What a schema change on a matched table does.
    pub ddl: DdlPolicy,
    /// How many source transactions one target transaction may hold.
    pub group: GroupLimits,
    /// Whether existing rows are copied before streaming.
    pub snapshot: SnapshotMode,
    /// Rows per snapshot chunk (one target transaction each).
    pub snapshot_chunk_rows: usize,
}

/// Whether a pipeline copies the rows its tables already hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SnapshotMode {
    /// When the pipeline has no checkpoint yet: copy every existing row,
    /// then stream from the point the copy is consistent at. The default
    /// when `[source] start` is "current".
    Initial,
    /// Only stream. The default when `[source] start` names a position or
    /// GTID: the target is then taken to hold everything before it.
    Never,
}

/// Rows per snapshot chunk unless `snapshot_chunk_rows` says otherwise.
pub const DEFAULT_CHUNK_ROWS: usize = 5000;

/// A pipeline's policy for schema changes (DDL) on its tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DdlPolicy {
    /// Run the statement on the target, with the table name mapped. The
    /// default for plain copies (no mappers).
    Apply,
    /// Log it and go on; the target table is left as it is.
    Ignore,
    /// Stop the pipeline before the statement. The default for pipelines
    /// with mappers, whose target tables Sluice cannot know the shape of.
    Halt,
}

/// Bounds of a group: consecutive source transactions applied in one target
/// transaction. A group closes at whichever bound it reaches first, or as
/// soon as no further transaction is waiting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GroupLimits {
    /// Row changes (after the plugins).
    pub rows: usize,
    /// Binlog bytes of the rows events.
    pub bytes: usize,
    /// Time spent gathering, from the group's first transaction.
    pub time: Duration,
}

impl Default for GroupLimits {
    fn default() -> Self {
        GroupLimits {
            rows: 20_000,
            bytes: 8 << 20,
            time: Duration::from_millis(200),
        }
    }
}

/// A pipeline's policy for definite errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnError {
    /// Stop the pipeline; the checkpoint stays before the change.
    Halt,
    /// Drop the change, count it and log it, and go on.
    Skip,
    /// Store the change, the error and the position in `sluice_dead_letter`
    /// in the target, in the same transaction as the checkpoint, and go on.
    DeadLetter,
}

/// A `db.table` pattern with `*` wildcards.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TablePattern {
    pub database: String,
    pub table: String,
}

impl TablePattern {
    pub(crate) fn parse(s: &str) -> Result<Self, String> {
        match s.split_once('.') {
            Some((d, t)) if !d.is_empty() && !t.is_empty() && !t.contains('.') => {
                Ok(TablePattern {
                    database: d.to_owned(),
                    table: t.to_owned(),
                })
            }
            _ => Err(format!(
                "`{s}` is not a table pattern: write database.table, `*` allowed (\"shop.*\")"
            )),
        }
    }

    /// Whether `database.table` matches.
    pub fn matches(&self, database: &str, table: &str) -> bool {
        glob(&self.database, database) && glob(&self.table, table)
    }

    /// Whether a pipeline follows `database.table`: it matches, or it is
    /// the shadow table an online schema change tool builds for a table
    /// that matches (gh-ost `_t_gho` and `_t_del`, pt-online-schema-change
    /// `_t_new` and `_t_old`). Following the shadow too, rows and DDL, is
    /// what lets the final `RENAME TABLE t TO _t_del, _t_gho TO t` land
    /// in the target as it did in the source: the target's shadow holds
    /// what the source's held.
    pub fn follows(&self, database: &str, table: &str) -> bool {
        self.matches(database, table)
            || table
                .strip_prefix('_')
                .and_then(|t| {
                    ["_gho", "_del", "_new", "_old"]
                        .iter()
                        .find_map(|s| t.strip_suffix(s))
                })
                .is_some_and(|base| !base.is_empty() && self.matches(database, base))
    }
}

impl fmt::Display for TablePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.database, self.table)
    }
}

/// `*`-only glob match.
fn glob(pattern: &str, s: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == s,
        Some((head, rest)) => {
            let Some(s) = s.strip_prefix(head) else {
                return false;
            };
            if rest.is_empty() {
                return true;
            }
            (0..=s.len())
                .filter(|&i| s.is_char_boundary(i))
                .any(|i| glob(rest, &s[i..]))
        }
    }
}

/// One mistake in a config file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub file: PathBuf,
    pub line: usize,
    pub key: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: `{}`: {}",
            self.file.display(),
            self.line,
            self.key,
            self.message
        )
    }
}

/// Every mistake found in a config file.
#[derive(Clone, Debug)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} problem(s) in the config:", self.0.len())?;
        for e in &self.0 {
            writeln!(f, "  {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// The keys each section accepts; `docs/configuration.md` documents
/// exactly these (a test checks it).
pub const ROOT_KEYS: &[&str] = &[
    "source",
    "plugins",
    "metrics",
    "admin",
    "targets",
    "pipelines",
];
pub const ADMIN_KEYS: &[&str] = &["token"];
pub const SOURCE_KEYS: &[&str] = &[
    "url",
    "server_id",
    "start",
    "heartbeat_secs",
    "tls",
    "tls_ca",
];
pub const PLUGINS_KEYS: &[&str] = &["dir", "memory_mib", "deadline_ms", "config", "cache_dir"];
pub const METRICS_KEYS: &[&str] = &["listen"];
pub const PIPELINE_KEYS: &[&str] = &[
    "name",
    "source_tables",
    "filters",
    "mappers",
    "target",
    "target_table",
    "on_error",
    "ddl",
    "group_max_rows",
    "group_max_bytes",
    "group_max_ms",
    "snapshot",
    "snapshot_chunk_rows",
];

const fn default_server_id() -> u32 {
    4242
}
const fn default_heartbeat_secs() -> u64 {
    1
}
const fn default_memory_mib() -> u64 {
    64
}
const fn default_deadline_ms() -> u64 {
    100
}
fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 9187))
}
fn default_target_table() -> String {
    "{table}".to_owned()
}

impl Config {
    /// Read and validate a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigErrors(vec![ConfigError {
                file: path.to_owned(),
                line: 0,
                key: String::new(),
                message: format!("cannot read the file: {e}"),
            }])
        })?;
        Config::validate(path, &text, true)
    }

    /// Validate config text without looking at the file system; `path` is
    /// used for messages.
    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigErrors> {
        Config::validate(path, text, false)
    }

    /// Validate config text; with `check_files`, every plugin named must
    /// exist in the plugin folder (resolved against `path`'s folder).
    fn validate(path: &Path, text: &str, check_files: bool) -> Result<Config, ConfigErrors> {
        walk::validate(path, text, check_files)
    }

    /// Where compiled plugins are cached: `cache_dir` resolved against the
    /// config file's folder, or `plugin-cache` in the state folder; `None`
    /// when there is no state folder (no `HOME`): plugins are compiled at
    /// every start.
    pub fn plugin_cache_dir(&self) -> Option<PathBuf> {
        match &self.plugins.cache_dir {
            Some(d) => Some(resolve(&self.path, d)),
            None => state_dir().map(|d| d.join("plugin-cache")),
        }
    }

    /// The plugin folder, resolved against the config file's folder.
    pub fn plugin_dir(&self) -> Option<PathBuf> {
        self.plugins.dir.as_deref().map(|d| resolve(&self.path, d))
    }
}

/// `dir` as written in the config file at `config_path`: relative paths
/// are relative to the file's folder.
/// The process's own state folder: `$XDG_STATE_HOME/sluice`, else
/// `$HOME/.local/state/sluice`. The plugin cache creates it with mode 0700
/// and refuses it when another user owns it.
pub fn state_dir() -> Option<PathBuf> {
    let nonempty = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
    nonempty("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| nonempty("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .map(|d| d.join("sluice"))
}

fn resolve(config_path: &Path, dir: &Path) -> PathBuf {
    if dir.is_absolute() {
        dir.to_owned()
    } else {
        config_path.parent().unwrap_or(Path::new(".")).join(dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_whole_names() {
        let p = TablePattern::parse("shop.prod*").unwrap();
        assert!(p.matches("shop", "product"));
        assert!(!p.matches("shop", "category"));
        assert!(!p.matches("shop2", "product"));
        assert!(TablePattern::parse("*.*").unwrap().matches("a", "b"));
        let p = TablePattern::parse("shop.product").unwrap();
        for shadow in [
            "_product_gho",
            "_product_del",
            "_product_new",
            "_product_old",
        ] {
            assert!(p.follows("shop", shadow) && !p.matches("shop", shadow));
        }
        for other in ["_product_ghc", "product_gho", "__gho", "_category_gho"] {
            assert!(!p.follows("shop", other), "{other}");
        }
        assert!(!p.follows("shop2", "_product_gho"));
        assert!(
            TablePattern::parse("shop.*_log")
                .unwrap()
                .matches("shop", "a_log")
        );
        assert!(
            !TablePattern::parse("shop.*_log")
                .unwrap()
                .matches("shop", "a_logs")
        );
        assert!(TablePattern::parse("product").is_err());
    }

    #[test]
    fn a_minimal_config_gets_its_defaults() {
        let text = r#"
[source]
url = "mysql://root@127.0.0.1:3307"
[targets.t]
kind = "mysql"
url = "mysql://root@127.0.0.1:3308/db"
[[pipelines]]
name = "p"
source_tables = ["a.b"]
target = "t"
"#;
        let c = Config::parse(Path::new("x.toml"), text).unwrap();
        assert_eq!(c.source.server_id, 4242);
        assert_eq!(c.source.start, StartFrom::Current);
        assert_eq!(c.metrics.listen.to_string(), "127.0.0.1:9187");
        assert_eq!(c.pipelines[0].target_table, "{table}");
        assert!(c.plugins.dir.is_none());
    }

    #[test]
    fn a_source_url_list_keeps_its_order_and_names_a_bad_entry() {
        let text = |url: &str| {
            format!(
                "[source]\nurl = \"{url}\"\n[targets.t]\nkind = \"mysql\"\nurl = \"mysql://root@127.0.0.1:3308/db\"\n[[pipelines]]\nname = \"p\"\nsource_tables = [\"a.b\"]\ntarget = \"t\"\n"
            )
        };
        let c = Config::parse(
            Path::new("x.toml"),
            &text("mysql://r@db1:3306, mysql://r@db2:3306"),
        )
        .unwrap();
        assert_eq!(c.source.url, "mysql://r@db1:3306");
        assert_eq!(c.source.urls, ["mysql://r@db1:3306", "mysql://r@db2:3306"]);
        assert_eq!(c.source.servers(), 2);
        assert_eq!(c.source.server(1).url, "mysql://r@db2:3306");
        assert_eq!(c.source.server(1).urls, ["mysql://r@db2:3306"]);
        let e = Config::parse(
            Path::new("x.toml"),
            &text("mysql://r@db1:3306,mysqx://r:hunter2@db2:3306"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("source.url")
                && e.contains("server 2 of the list")
                && !e.contains("hunter2"),
            "{e}"
        );
    }

    #[test]
    fn the_configuration_doc_lists_exactly_the_keys_the_parser_accepts() {
        let doc = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/configuration.md"),
        )
        .unwrap();
        let mut sections = vec![
            ("[source]".to_owned(), SOURCE_KEYS),
            ("[plugins]".to_owned(), PLUGINS_KEYS),
            ("[metrics]".to_owned(), METRICS_KEYS),
            ("[admin]".to_owned(), ADMIN_KEYS),
            ("[[pipelines]]".to_owned(), PIPELINE_KEYS),
        ];
        // One section per target kind this build has.
        for (kind, keys) in crate::target::KEYS {
            sections.push((format!("[targets.NAME] kind = \"{kind}\""), keys));
        }
        let mut documented: Vec<(String, Vec<String>)> = Vec::new();
        for line in doc.lines() {
            if let Some(h) = line.strip_prefix("## ") {
                documented.push((h.trim_matches('`').to_owned(), Vec::new()));
            } else if let Some(rest) = line.strip_prefix("| `")
                && let (Some((key, _)), Some(last)) = (rest.split_once('`'), documented.last_mut())
            {
                last.1.push(key.to_owned());
            }
        }
        for (section, keys) in sections {
            let Some((_, doc_keys)) = documented.iter().find(|(h, _)| *h == section) else {
                panic!("docs/configuration.md has no `## {section}` section");
            };
            let mut want: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
            let mut got = doc_keys.clone();
            want.sort();
            got.sort();
            assert_eq!(got, want, "keys documented for {section}");
        }
    }

    #[test]
    fn url_errors_never_show_the_password() {
        let text = r#"
[source]
url = "mysql://u:hunter2@127.0.0.1:notaport"
[targets.t]
kind = "mysql"
url = "mysql://u:hunter2@127.0.0.1:1/db?ssl-mode=bogus"
[[pipelines]]
name = "p"
source_tables = ["a.b"]
target = "t"
"#;
        let errs = Config::parse(Path::new("x.toml"), text).unwrap_err().0;
        assert_eq!(errs.len(), 2, "{errs:?}");
        for e in errs {
            assert!(!e.to_string().contains("hunter2"), "{e}");
        }
    }

    #[test]
    fn every_example_config_parses() {
        let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
        let mut seen = 0;
        for entry in std::fs::read_dir(&examples).unwrap() {
            let file = entry.unwrap().path().join("sluice.toml");
            if file.is_file() {
                let text = std::fs::read_to_string(&file).unwrap();
                if let Err(e) = Config::parse(&file, &text) {
                    panic!("{e}");
                }
                seen += 1;
            }
        }
        assert!(
            seen >= 1,
            "no example configs found in {}",
            examples.display()
        );
    }

    #[test]
    fn every_mistake_is_reported_with_its_line_and_key() {
        let text = r#"[source]
url = "mysql://root@127.0.0.1:3307"
server_idd = 7
[targets.t]
kind = "mysql"
url = "mysql://root@127.0.0.1:3308/db"
[[pipelines]]
name = "p"
source_tables = ["a.b"]
target = "nope"
filters = ["x"]
"#;
        let errs = Config::parse(Path::new("x.toml"), text).unwrap_err().0;
        let got: Vec<(usize, &str)> = errs.iter().map(|e| (e.line, e.key.as_str())).collect();
        assert_eq!(
            got,
            vec![
                (3, "source.server_idd"),
                (11, "pipelines[0].filters[0]"),
                (10, "pipelines[0].target")
            ],
            "{errs:?}"
        );
    }
}
