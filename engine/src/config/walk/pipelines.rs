//! The `[[pipelines]]` sections: tables, target, plugins, policies and the
//! group and snapshot settings, each mistake collected with its line.

use std::path::Path;

use super::*;

impl<'a> Walker<'a> {
    pub(super) fn pipelines(
        &mut self,
        root: &Table<'a>,
        plugins: &PluginsConfig,
        path: &Path,
        start_is_current: bool,
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
        let plugin_dir = plugins.dir.as_deref().map(|d| resolve(path, d));
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
                    // A missing file is not a config error: `sluice run`
                    // lets the pipeline wait for it, `sluice check`
                    // reports it.
                    if plugin_dir.is_none() {
                        w.error(
                            span,
                            &k,
                            format!("plugin `{plugin}` is named but there is no [plugins] dir"),
                        );
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
            let ddl = match self.string(t, &p, "ddl") {
                None if mappers.is_empty() => DdlPolicy::Apply,
                None => DdlPolicy::Halt,
                Some((v, span)) => {
                    match v.as_str() {
                        "apply" => DdlPolicy::Apply,
                        "ignore" => DdlPolicy::Ignore,
                        "halt" => DdlPolicy::Halt,
                        _ => {
                            self.error(span, &join(&p, "ddl"), format!("`{v}` is not a DDL policy; use \"apply\", \"ignore\" or \"halt\""));
                            DdlPolicy::Halt
                        }
                    }
                }
            };
            let defaults = GroupLimits::default();
            let group = GroupLimits {
                rows: self
                    .integer(t, &p, "group_max_rows", 1, 1_000_000)
                    .map_or(defaults.rows, |n| n as usize),
                bytes: self
                    .integer(t, &p, "group_max_bytes", 1, 1 << 30)
                    .map_or(defaults.bytes, |n| n as usize),
                time: self
                    .integer(t, &p, "group_max_ms", 0, 60_000)
                    .map_or(defaults.time, |n| Duration::from_millis(n as u64)),
            };
            let snapshot = match self.string(t, &p, "snapshot") {
                None if start_is_current => SnapshotMode::Initial,
                None => SnapshotMode::Never,
                Some((v, span)) => match v.as_str() {
                    "initial" => SnapshotMode::Initial,
                    "never" => SnapshotMode::Never,
                    _ => {
                        self.error(span, &join(&p, "snapshot"), format!("`{v}` is not a snapshot mode; use \"initial\" (copy existing rows first) or \"never\""));
                        SnapshotMode::Never
                    }
                },
            };
            let snapshot_chunk_rows = self
                .integer(t, &p, "snapshot_chunk_rows", 1, 1_000_000)
                .map_or(DEFAULT_CHUNK_ROWS, |n| n as usize);
            if let (Some((name, _)), Some(target)) = (name, target) {
                out.push(PipelineConfig {
                    name,
                    source_tables: tables,
                    filters,
                    mappers,
                    target,
                    target_table,
                    on_error,
                    ddl,
                    group,
                    snapshot,
                    snapshot_chunk_rows,
                });
            }
        }
        out
    }
}
