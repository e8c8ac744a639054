//! Example mapper: rename columns and the target table.
//!
//! ```toml
//! [plugins.config.rename]
//! columns = ["name:product_name", "price:list_price"]   # from:to
//! table = "catalog_item"                                  # optional
//! ```
//!
//! Columns a table does not have are skipped.

use std::sync::OnceLock;

use sluice::RowMut;

/// Column renames (from, to), and the target table if any.
struct Settings {
    columns: Vec<(String, String)>,
    table: Option<String>,
}

static SETTINGS: OnceLock<Settings> = OnceLock::new();

#[sluice::init]
fn setup(_config: &str) -> Result<(), String> {
    let mut pairs = Vec::new();
    for entry in sluice::config_list("columns") {
        let (from, to) = entry
            .split_once(':')
            .ok_or_else(|| format!("rename: `{entry}` is not from:to"))?;
        pairs.push((from.to_owned(), to.to_owned()));
    }
    let table = sluice::config_value("table");
    if pairs.is_empty() && table.is_none() {
        return Err("rename needs `columns` (from:to) and/or `table` in its config".into());
    }
    let _ = SETTINGS.set(Settings {
        columns: pairs,
        table,
    });
    Ok(())
}

#[sluice::mapper]
pub fn rename(row: &mut RowMut) {
    let settings = SETTINGS.get().expect("init ran");
    for (from, to) in &settings.columns {
        row.rename_column(from, to);
    }
    if let Some(t) = &settings.table {
        row.set_table(t);
    }
}
