//! Example mapper: fan-out. Each change is applied as it is, and also
//! becomes a change to a second table holding some of its columns.
//!
//! ```toml
//! [plugins.config.fan_out]
//! into = "product_price"        # the second target table
//! columns = ["id", "price"]     # its columns (the first is its key)
//! ```
//!
//! The extra change has the same op and the images it needs. Tables that
//! lack one of the columns are left alone.

use std::sync::OnceLock;

use sluice::RowMut;

static SETTINGS: OnceLock<(String, Vec<String>)> = OnceLock::new();

#[sluice::init]
fn setup(_config: &str) -> Result<(), String> {
    let into = sluice::config_value("into").ok_or("fan_out needs `into` in its config")?;
    let columns = sluice::config_list("columns");
    if columns.is_empty() {
        return Err("fan_out needs a non-empty `columns` list in its config".into());
    }
    let _ = SETTINGS.set((into, columns));
    Ok(())
}

#[sluice::mapper]
pub fn fan_out(row: &mut RowMut) {
    let (into, columns) = SETTINGS.get().expect("init ran");
    // The same op and images, cut down to `columns`; the first is the key.
    row.emit_columns(into, columns, &columns[..1]);
}
