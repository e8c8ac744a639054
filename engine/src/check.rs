//! `sluice check`: every problem of a config found without changing
//! anything, and what the plain-copy pipelines need from the source.

use crate::config::Config;
use crate::engine::load_plugins;
use crate::source::{self, Server};
use crate::target::Target;

/// Result of `sluice check`: every problem found.
pub async fn check(config: &Config) -> Vec<String> {
    let mut problems = Vec::new();
    match Server::new(&config.source) {
        Err(e) => problems.push(e.to_string()),
        Ok(server) => match server.connect().await {
            Err(e) => problems.push(format!("source: {e}")),
            Ok(mut conn) => match source::check_variables(&mut conn).await {
                Ok(p) => problems.extend(p),
                Err(e) => problems.push(format!("source: cannot read server variables: {e}")),
            },
        },
    }
    let mut source = match Server::new(&config.source) {
        Ok(s) => s.connect().await.ok(),
        Err(_) => None,
    };
    for (name, tc) in &config.targets {
        match crate::target::build(name, tc) {
            Ok(mut t) => {
                for pc in config.pipelines.iter().filter(|p| &p.target == name) {
                    problems.extend(crate::target::unsupported(pc, tc.kind(), t.capabilities()));
                }
                if let Err(e) = t.prepare().await {
                    problems.push(e.to_string());
                    continue;
                }
                let Some(conn) = source.as_mut() else {
                    continue;
                };
                for pc in config.pipelines.iter().filter(|p| &p.target == name) {
                    let missing = match plain_copy_tables(conn, pc).await {
                        Ok(tables) => t
                            .missing_tables(&tables, false)
                            .await
                            .map_err(|e| e.to_string()),
                        Err(e) => Err(e),
                    };
                    match missing {
                        Ok(lines) => problems.extend(
                            lines
                                .into_iter()
                                .map(|l| format!("pipeline `{}`: {l}", pc.name)),
                        ),
                        Err(e) => problems.push(format!("pipeline `{}`: {e}", pc.name)),
                    }
                }
            }
            Err(e) => problems.push(e.to_string()),
        }
    }
    match load_plugins(config).await {
        Err(errs) => problems.extend(errs),
        Ok(p) => {
            let dir = config.plugin_dir().unwrap_or_default();
            for name in p.missing.keys() {
                problems.push(format!(
                    "plugin `{name}` not found: {} does not exist (sluice run would start its pipelines only when it arrives)",
                    dir.join(format!("{name}.wasm")).display()
                ));
            }
        }
    }
    problems
}

/// The tables a plain-copy pipeline writes: every source table its
/// patterns match, with its target name (by `target_table`) and its
/// definition. A pipeline with mappers gets none: its target tables have
/// the shape its mappers give them, which only the mappers know.
pub(crate) async fn plain_copy_tables(
    conn: &mut mysql_async::Conn,
    pc: &crate::config::PipelineConfig,
) -> Result<Vec<(String, crate::target::TableDef)>, String> {
    if !pc.mappers.is_empty() {
        return Ok(Vec::new());
    }
    let read = |e: mysql_async::Error| format!("source: cannot list the tables: {e}");
    let mut out = Vec::new();
    for (db, table) in source::table::list_tables(conn).await.map_err(read)? {
        if !pc.source_tables.iter().any(|p| p.matches(&db, &table)) {
            continue;
        }
        if let Some(def) = crate::target::TableDef::load(conn, &db, &table)
            .await
            .map_err(read)?
        {
            let target = pc
                .target_table
                .replace("{db}", &db)
                .replace("{table}", &table);
            out.push((target, def));
        }
    }
    Ok(out)
}
