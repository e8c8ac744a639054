//! Walking the spanned TOML tree section by section, collecting every
//! mistake with its line and key instead of stopping at the first.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::de::{DeTable, DeValue};

use super::*;

mod pipelines;

/// Validate config text (see [`Config::load`] and [`Config::parse`]).
pub(super) fn validate(path: &Path, text: &str, check_files: bool) -> Result<Config, ConfigErrors> {
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
        let start_is_current = source.start == StartFrom::Current;
        let pipelines = self.pipelines(root, &plugins, path, start_is_current);
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
            urls: Vec::new(),
            server_id: default_server_id(),
            start: StartFrom::Current,
            heartbeat_secs: default_heartbeat_secs(),
            tls: Tls::Off,
        };
        let Some(t) = self.section(root, "", "source") else {
            if root.get("source").is_none() {
                self.error(0..0, "source", "the [source] section is required");
            }
            return out;
        };
        let span = root.get("source").map(|v| v.span()).unwrap_or(0..0);
        self.check_keys(t, "source", SOURCE_KEYS);
        if let Some((list, s)) = self.required_string(t, span, "source", "url") {
            // A comma-separated list: a primary and its promotable replicas.
            let urls: Vec<String> = list.split(',').map(|u| u.trim().to_owned()).collect();
            let bad: Vec<String> = urls
                .iter()
                .enumerate()
                .filter_map(|(i, u)| {
                    url_check(u, false).err().map(|m| match urls.len() {
                        1 => m,
                        // The URL itself may hold a password: named by place.
                        _ => format!("server {} of the list: {m}", i + 1),
                    })
                })
                .collect();
            if bad.is_empty() {
                out.url = urls[0].clone();
                out.urls = urls;
            } else {
                self.error(s, "source.url", bad.join("; "));
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
        let ca = self.string(t, "source", "tls_ca").map(|(p, span)| {
            let path = resolve(self.file, Path::new(&p));
            if self.check_files && !path.is_file() {
                self.error(span, "source.tls_ca", format!("no file {}; give the PEM file of the CA that signed the source's certificate", path.display()));
            }
            path
        });
        out.tls = match self.string(t, "source", "tls") {
            None => Tls::Off,
            Some((mode, span)) => match mode.as_str() {
                "off" => Tls::Off,
                "required" => Tls::Required,
                "verify-ca" => Tls::VerifyCa { ca: ca.clone() },
                "verify-identity" => Tls::VerifyIdentity { ca: ca.clone() },
                _ => {
                    self.error(span, "source.tls", format!("`{mode}` is not a TLS mode; use \"off\", \"required\", \"verify-ca\" or \"verify-identity\""));
                    Tls::Off
                }
            },
        };
        if ca.is_some() && !matches!(out.tls, Tls::VerifyCa { .. } | Tls::VerifyIdentity { .. }) {
            let span = t.get("tls_ca").map_or(0..0, |v| v.span());
            self.error(
                span,
                "source.tls_ca",
                "is used only with tls = \"verify-ca\" or \"verify-identity\"",
            );
        }
        out
    }

    fn plugins(&mut self, root: &Table<'a>) -> PluginsConfig {
        let mut out = PluginsConfig {
            dir: None,
            memory_mib: default_memory_mib(),
            deadline_ms: default_deadline_ms(),
            config: BTreeMap::new(),
            cache_dir: None,
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
        if let Some((d, span)) = self.string(t, "plugins", "cache_dir") {
            let cache = PathBuf::from(d);
            // Whoever may drop a .wasm into the plugin folder must not be
            // able to drop native code into the cache (docs/plugins.md).
            if let Some(plugins) = &out.dir
                && super::resolve(self.file, &cache).starts_with(super::resolve(self.file, plugins))
            {
                self.error(
                    span,
                    "plugins.cache_dir",
                    "must not be inside the plugin folder (the cache holds native code); leave it unset for the state folder, or name a folder only sluice's user can write",
                );
            }
            out.cache_dir = Some(cache);
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
            let Some((kind, kind_span)) = self.required_string(tt, v.span(), &path, "kind") else {
                continue;
            };
            let mut section = Section {
                w: self,
                t: tt,
                span: v.span(),
                path: path.clone(),
            };
            // Each target folder parses the rest of its own section.
            match crate::target::parse_config(&kind, &mut section) {
                Some(Some(c)) => {
                    out.insert(name.get_ref().to_string(), c);
                }
                Some(None) => {}
                None => self.error(
                    kind_span,
                    &join(&path, "kind"),
                    format!(
                        "unknown target kind `{kind}`; this build supports: {}",
                        crate::target::KINDS.join(", ")
                    ),
                ),
            }
        }
        out
    }
}

/// One table of the config file, handed to the code that owns it (each
/// target folder parses its own `[targets.NAME]` section). Mistakes are
/// collected with their line and key like every other.
pub struct Section<'w, 'a, 't> {
    w: &'w mut Walker<'a>,
    t: &'t Table<'a>,
    /// The whole section, for a missing key.
    span: Range<usize>,
    /// `targets.NAME`, for messages.
    pub path: String,
}

impl Section<'_, '_, '_> {
    /// Report every key not in `allowed`.
    pub fn check_keys(&mut self, allowed: &[&str]) {
        self.w.check_keys(self.t, &self.path, allowed);
    }

    pub fn string(&mut self, key: &str) -> Option<String> {
        self.w.string(self.t, &self.path, key).map(|(s, _)| s)
    }

    pub fn required_string(&mut self, key: &str) -> Option<String> {
        self.w
            .required_string(self.t, self.span.clone(), &self.path, key)
            .map(|(s, _)| s)
    }

    pub fn bool(&mut self, key: &str) -> Option<bool> {
        let v = self.t.get(key)?;
        match v.get_ref() {
            DeValue::Boolean(b) => Some(*b),
            _ => {
                self.w
                    .error(v.span(), &join(&self.path, key), "must be true or false");
                None
            }
        }
    }

    /// Report a mistake in the value of `key` (or in the section, when the
    /// key is absent).
    pub fn error(&mut self, key: &str, message: impl Into<String>) {
        let span = self.t.get(key).map_or(self.span.clone(), |v| v.span());
        self.w.error(span, &join(&self.path, key), message);
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
pub(crate) fn url_check(url: &str, needs_db: bool) -> Result<(), String> {
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
