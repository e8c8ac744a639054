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
use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::de::{DeTable, DeValue};

use crate::position::StartFrom;

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
    /// REPLICATION CLIENT and SELECT.
    pub url: String,
    /// The replica server id the engine registers with; must be unique among
    /// the server's replicas.
    pub server_id: u32,
    /// Where to start when no pipeline has a checkpoint yet.
    pub start: StartFrom,
    /// Seconds between heartbeats the server sends on an idle stream; a read
    /// waits three of them before the connection counts as dead.
    pub heartbeat_secs: u64,
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

/// The kinds of target this build knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetKind {
    Mysql,
}

/// `[targets.NAME]`.
#[derive(Clone, Debug, PartialEq)]
pub struct TargetConfig {
    pub kind: TargetKind,
    /// `mysql://user:password@host:port/database`; tables without a database
    /// in their name go to this database.
    pub url: String,
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
    fn parse(s: &str) -> Result<Self, String> {
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
pub const SOURCE_KEYS: &[&str] = &["url", "server_id", "start", "heartbeat_secs"];
pub const PLUGINS_KEYS: &[&str] = &["dir", "memory_mib", "deadline_ms", "config"];
pub const METRICS_KEYS: &[&str] = &["listen"];
pub const TARGET_KEYS: &[&str] = &["kind", "url"];
pub const PIPELINE_KEYS: &[&str] = &[
    "name",
    "source_tables",
    "filters",
    "mappers",
    "target",
    "target_table",
    "on_error",
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
        let mut w = Walker {
            file: path,
            text,
            check_files,
            errors: Vec::new(),
        };
        let (root, parse_errors) = DeTable::parse_recoverable(text);
        for e in parse_errors {
            let at = e.span().unwrap_or(0..0);
            w.error(at, "", format!("TOML syntax: {}", e.message()));
        }
        let config = w.config(root.get_ref(), path);
        if w.errors.is_empty() {
            Ok(config)
        } else {
            Err(ConfigErrors(w.errors))
        }
    }

    /// The plugin folder, resolved against the config file's folder.
    pub fn plugin_dir(&self) -> Option<PathBuf> {
        self.plugins.dir.as_ref().map(|d| {
            if d.is_absolute() {
                d.clone()
            } else {
                self.path.parent().unwrap_or(Path::new(".")).join(d)
            }
        })
    }
}

struct Walker<'a> {
    file: &'a Path,
    text: &'a str,
    check_files: bool,
    errors: Vec<ConfigError>,
}

type Table<'a> = DeTable<'a>;

impl<'a> Walker<'a> {
    fn error(&mut self, span: Range<usize>, key: &str, message: impl Into<String>) {
        let start = span.start.min(self.text.len());
        let line = self.text[..start].matches('\n').count() + 1;
        self.errors.push(ConfigError {
            file: self.file.to_owned(),
            line,
            key: key.to_owned(),
            message: message.into(),
        });
    }

    fn check_keys(&mut self, t: &Table<'_>, path: &str, allowed: &[&str]) {
        for k in t.keys() {
            if !allowed.contains(&k.get_ref().as_ref()) {
                let key = join(path, k.get_ref());
                self.error(
                    k.span(),
                    &key,
                    format!("unknown key; expected one of: {}", allowed.join(", ")),
                );
            }
        }
    }

    fn section<'t>(&mut self, t: &'t Table<'a>, path: &str, key: &str) -> Option<&'t Table<'a>> {
        let v = t.get(key)?;
        match v.get_ref() {
            DeValue::Table(s) => Some(s),
            _ => {
                self.error(v.span(), &join(path, key), "must be a table");
                None
            }
        }
    }

    fn string(&mut self, t: &Table<'_>, path: &str, key: &str) -> Option<(String, Range<usize>)> {
        let v = t.get(key)?;
        match v.get_ref() {
            DeValue::String(s) => Some((s.to_string(), v.span())),
            _ => {
                self.error(v.span(), &join(path, key), "must be a string");
                None
            }
        }
    }

    fn required_string(
        &mut self,
        t: &Table<'_>,
        span: Range<usize>,
        path: &str,
        key: &str,
    ) -> Option<(String, Range<usize>)> {
        if t.get(key).is_none() {
            self.error(span, &join(path, key), "is required");
            return None;
        }
        self.string(t, path, key)
    }

    fn integer(&mut self, t: &Table<'_>, path: &str, key: &str, min: i64, max: i64) -> Option<i64> {
        let v = t.get(key)?;
        let n = match v.get_ref() {
            DeValue::Integer(i) => {
                i64::from_str_radix(&i.as_str().replace('_', ""), i.radix()).ok()
            }
            _ => None,
        };
        match n {
            Some(n) if (min..=max).contains(&n) => Some(n),
            _ => {
                self.error(
                    v.span(),
                    &join(path, key),
                    format!("must be an integer from {min} to {max}"),
                );
                None
            }
        }
    }

    fn strings(&mut self, t: &Table<'_>, path: &str, key: &str) -> Vec<(String, Range<usize>)> {
        let Some(v) = t.get(key) else {
            return Vec::new();
        };
        let DeValue::Array(items) = v.get_ref() else {
            self.error(v.span(), &join(path, key), "must be a list of strings");
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            match item.get_ref() {
                DeValue::String(s) => out.push((s.to_string(), item.span())),
                _ => self.error(
                    item.span(),
                    &format!("{}[{i}]", join(path, key)),
                    "must be a string",
                ),
            }
        }
        out
    }

    fn config(&mut self, root: &Table<'a>, path: &Path) -> Config {
        self.check_keys(root, "", ROOT_KEYS);
        let source = self.source(root);
        let plugins = self.plugins(root);
        let metrics = self.metrics(root);
        let admin = self.admin(root);
        let targets = self.targets(root);
        let pipelines = self.pipelines(root, &plugins, path);
        Config {
            path: path.to_owned(),
            source,
            plugins,
            metrics,
            admin,
            targets,
            pipelines,
        }
    }

    fn source(&mut self, root: &Table<'a>) -> SourceConfig {
        let mut out = SourceConfig {
            url: String::new(),
            server_id: default_server_id(),
            start: StartFrom::Current,
            heartbeat_secs: default_heartbeat_secs(),
        };
        let Some(t) = self.section(root, "", "source") else {
            if root.get("source").is_none() {
                self.error(0..0, "source", "the [source] section is required");
            }
            return out;
        };
        let span = root.get("source").map(|v| v.span()).unwrap_or(0..0);
        self.check_keys(t, "source", SOURCE_KEYS);
        if let Some((url, s)) = self.required_string(t, span, "source", "url") {
            match url_check(&url, false) {
                Ok(()) => out.url = url,
                Err(m) => self.error(s, "source.url", m),
            }
        }
        if let Some(n) = self.integer(t, "source", "server_id", 1, u32::MAX as i64) {
            out.server_id = n as u32;
        }
        if let Some(n) = self.integer(t, "source", "heartbeat_secs", 1, 60) {
            out.heartbeat_secs = n as u64;
        }
        if let Some((s, span)) = self.string(t, "source", "start") {
            match s.parse() {
                Ok(start) => out.start = start,
                Err(m) => self.error(span, "source.start", m),
            }
        }
        out
    }

    fn plugins(&mut self, root: &Table<'a>) -> PluginsConfig {
        let mut out = PluginsConfig {
            dir: None,
            memory_mib: default_memory_mib(),
            deadline_ms: default_deadline_ms(),
            config: BTreeMap::new(),
        };
        let Some(t) = self.section(root, "", "plugins") else {
            return out;
        };
        let span = root.get("plugins").map(|v| v.span()).unwrap_or(0..0);
        self.check_keys(t, "plugins", PLUGINS_KEYS);
        out.dir = self
            .required_string(t, span, "plugins", "dir")
            .map(|(d, _)| PathBuf::from(d));
        if let Some(n) = self.integer(t, "plugins", "memory_mib", 1, 4096) {
            out.memory_mib = n as u64;
        }
        if let Some(n) = self.integer(t, "plugins", "deadline_ms", 1, 60_000) {
            out.deadline_ms = n as u64;
        }
        if let Some(c) = self.section(t, "plugins", "config") {
            for (name, v) in c.iter() {
                let key = format!("plugins.config.{}", name.get_ref());
                match v.get_ref() {
                    DeValue::Table(_) => {
                        out.config
                            .insert(name.get_ref().to_string(), to_json(v.get_ref()));
                    }
                    _ => self.error(v.span(), &key, "must be a table of the plugin's settings"),
                }
            }
        }
        out
    }

    fn metrics(&mut self, root: &Table<'a>) -> MetricsConfig {
        let mut out = MetricsConfig {
            listen: default_listen(),
        };
        let Some(t) = self.section(root, "", "metrics") else {
            return out;
        };
        self.check_keys(t, "metrics", METRICS_KEYS);
        if let Some((s, span)) = self.string(t, "metrics", "listen") {
            match s.parse() {
                Ok(a) => out.listen = a,
                Err(_) => self.error(
                    span,
                    "metrics.listen",
                    format!("`{s}` is not an address like 127.0.0.1:9187"),
                ),
            }
        }
        out
    }

    fn admin(&mut self, root: &Table<'a>) -> AdminConfig {
        let mut out = AdminConfig::default();
        let Some(t) = self.section(root, "", "admin") else {
            return out;
        };
        self.check_keys(t, "admin", ADMIN_KEYS);
        if let Some((token, span)) = self.string(t, "admin", "token") {
            if token.len() < 16 {
                self.error(
                    span,
                    "admin.token",
                    "must be at least 16 characters; generate one with `openssl rand -hex 24`",
                );
            } else {
                out.token = Some(token);
            }
        }
        out
    }

    fn targets(&mut self, root: &Table<'a>) -> BTreeMap<String, TargetConfig> {
        let mut out = BTreeMap::new();
        let Some(t) = self.section(root, "", "targets") else {
            return out;
        };
        for (name, v) in t.iter() {
            let path = format!("targets.{}", name.get_ref());
            let DeValue::Table(tt) = v.get_ref() else {
                self.error(v.span(), &path, "must be a table with kind and url");
                continue;
            };
            self.check_keys(tt, &path, TARGET_KEYS);
            let kind = match self.required_string(tt, v.span(), &path, "kind") {
                Some((k, _)) if k == "mysql" => Some(TargetKind::Mysql),
                Some((k, span)) => {
                    self.error(
                        span,
                        &join(&path, "kind"),
                        format!("unknown target kind `{k}`; this build supports: mysql"),
                    );
                    None
                }
                None => None,
            };
            let url = match self.required_string(tt, v.span(), &path, "url") {
                Some((u, span)) => match url_check(&u, true) {
                    Ok(()) => Some(u),
                    Err(m) => {
                        self.error(span, &join(&path, "url"), m);
                        None
                    }
                },
                None => None,
            };
            if let (Some(kind), Some(url)) = (kind, url) {
                out.insert(name.get_ref().to_string(), TargetConfig { kind, url });
            }
        }
        out
    }

    fn pipelines(
        &mut self,
        root: &Table<'a>,
        plugins: &PluginsConfig,
        path: &Path,
    ) -> Vec<PipelineConfig> {
        let mut out = Vec::new();
        let Some(v) = root.get("pipelines") else {
            self.error(
                0..0,
                "pipelines",
                "at least one [[pipelines]] entry is required",
            );
            return out;
        };
        let DeValue::Array(items) = v.get_ref() else {
            self.error(
                v.span(),
                "pipelines",
                "must be an array of tables ([[pipelines]])",
            );
            return out;
        };
        let plugin_dir = plugins.dir.as_ref().map(|d| {
            if d.is_absolute() {
                d.clone()
            } else {
                path.parent().unwrap_or(Path::new(".")).join(d)
            }
        });
        let mut names = Vec::<String>::new();
        for (i, item) in items.iter().enumerate() {
            let p = format!("pipelines[{i}]");
            let DeValue::Table(t) = item.get_ref() else {
                self.error(item.span(), &p, "must be a table");
                continue;
            };
            self.check_keys(t, &p, PIPELINE_KEYS);
            let name = self.required_string(t, item.span(), &p, "name");
            if let Some((n, span)) = &name {
                if names.contains(n) {
                    self.error(
                        span.clone(),
                        &join(&p, "name"),
                        format!("pipeline name `{n}` is used twice"),
                    );
                }
                names.push(n.clone());
            }
            let mut tables = Vec::new();
            if t.get("source_tables").is_none() {
                self.error(item.span(), &join(&p, "source_tables"), "is required");
            }
            for (j, (s, span)) in self.strings(t, &p, "source_tables").into_iter().enumerate() {
                match TablePattern::parse(&s) {
                    Ok(tp) => tables.push(tp),
                    Err(m) => self.error(span, &format!("{p}.source_tables[{j}]"), m),
                }
            }
            let chain = |w: &mut Self, key: &str| -> Vec<String> {
                let list = w.strings(t, &p, key);
                let mut names = Vec::new();
                for (j, (plugin, span)) in list.into_iter().enumerate() {
                    let k = format!("{p}.{key}[{j}]");
                    match &plugin_dir {
                        None => w.error(
                            span,
                            &k,
                            format!("plugin `{plugin}` is named but there is no [plugins] dir"),
                        ),
                        Some(dir) => {
                            let file = dir.join(format!("{plugin}.wasm"));
                            if w.check_files && !file.is_file() {
                                w.error(
                                    span,
                                    &k,
                                    format!(
                                        "plugin `{plugin}` not found: {} does not exist",
                                        file.display()
                                    ),
                                );
                            }
                        }
                    }
                    names.push(plugin);
                }
                names
            };
            let filters = chain(self, "filters");
            let mappers = chain(self, "mappers");
            // Checked against every declared target, valid or not, so a bad
            // target URL is reported once, not again as an unknown target.
            let declared: Vec<&str> = root
                .get("targets")
                .and_then(|v| match v.get_ref() {
                    DeValue::Table(t) => Some(t.keys().map(|k| k.get_ref().as_ref()).collect()),
                    _ => None,
                })
                .unwrap_or_default();
            let target = match self.required_string(t, item.span(), &p, "target") {
                Some((tn, span)) if !declared.contains(&tn.as_str()) => {
                    let known = &declared;
                    self.error(
                        span,
                        &join(&p, "target"),
                        format!(
                            "unknown target `{tn}`; defined targets: [{}]",
                            known.join(", ")
                        ),
                    );
                    None
                }
                other => other.map(|(t, _)| t),
            };
            let target_table = match self.string(t, &p, "target_table") {
                Some((tt, span)) => {
                    let rest = tt.replace("{db}", "").replace("{table}", "");
                    if rest.contains('{') || rest.contains('}') || tt.is_empty() {
                        self.error(
                            span,
                            &join(&p, "target_table"),
                            "only {db} and {table} may appear in braces",
                        );
                    }
                    tt
                }
                None => default_target_table(),
            };
            let on_error = match self.string(t, &p, "on_error") {
                None => OnError::Halt,
                Some((v, span)) => {
                    match v.as_str() {
                        "halt" => OnError::Halt,
                        "skip" => OnError::Skip,
                        "dead-letter" => OnError::DeadLetter,
                        _ => {
                            self.error(span, &join(&p, "on_error"), format!("`{v}` is not a policy; use \"halt\", \"skip\" or \"dead-letter\""));
                            OnError::Halt
                        }
                    }
                }
            };
            if let (Some((name, _)), Some(target)) = (name, target) {
                out.push(PipelineConfig {
                    name,
                    source_tables: tables,
                    filters,
                    mappers,
                    target,
                    target_table,
                    on_error,
                });
            }
        }
        out
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// A light check of a mysql URL: scheme, host, and a database when needed.
fn url_check(url: &str, needs_db: bool) -> Result<(), String> {
    let opts = mysql_async::Opts::from_url(url).map_err(|e| {
        format!(
            "not a mysql:// URL ({e}); write mysql://user:password@host:port{}",
            if needs_db { "/database" } else { "" }
        )
    })?;
    if needs_db && opts.db_name().is_none() {
        return Err("the URL names no database; add /database at the end".into());
    }
    Ok(())
}

fn to_json(v: &DeValue<'_>) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        DeValue::String(s) => J::String(s.to_string()),
        DeValue::Integer(i) => {
            i64::from_str_radix(&i.as_str().replace('_', ""), i.radix()).map_or(J::Null, J::from)
        }
        DeValue::Float(f) => f.as_str().parse::<f64>().map_or(J::Null, J::from),
        DeValue::Boolean(b) => J::Bool(*b),
        DeValue::Datetime(d) => J::String(d.to_string()),
        DeValue::Array(a) => J::Array(a.iter().map(|x| to_json(x.get_ref())).collect()),
        DeValue::Table(t) => J::Object(
            t.iter()
                .map(|(k, v)| (k.get_ref().to_string(), to_json(v.get_ref())))
                .collect(),
        ),
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
    fn the_configuration_doc_lists_exactly_the_keys_the_parser_accepts() {
        let doc = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/configuration.md"),
        )
        .unwrap();
        let sections = [
            ("[source]", SOURCE_KEYS),
            ("[plugins]", PLUGINS_KEYS),
            ("[metrics]", METRICS_KEYS),
            ("[admin]", ADMIN_KEYS),
            ("[targets.NAME]", TARGET_KEYS),
            ("[[pipelines]]", PIPELINE_KEYS),
        ];
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
            let Some((_, doc_keys)) = documented.iter().find(|(h, _)| h == section) else {
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
