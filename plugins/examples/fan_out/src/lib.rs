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

use sluice::{Op, RowMut, Value};

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
    let image = |row: &RowMut, before: bool| -> Option<Vec<Value>> {
        columns
            .iter()
            .map(|c| {
                let cell = if before { row.before(c) } else { row.after(c) };
                cell.map(|v| v.to_value())
            })
            .collect()
    };
    let op = row.op();
    let before = (op != Op::Insert).then(|| image(row, true));
    let after = (op != Op::Delete).then(|| image(row, false));
    // A table without one of the columns: nothing to fan out.
    if before.as_ref().is_some_and(Option::is_none) || after.as_ref().is_some_and(Option::is_none) {
        return;
    }
    let names: Vec<&str> = columns.iter().map(String::as_str).collect();
    row.emit(
        into,
        op,
        &names,
        &names[..1],
        before.flatten().as_deref(),
        after.flatten().as_deref(),
    );
}
