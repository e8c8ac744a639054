//! Example mapper: column projection. Either keep only some columns, or
//! drop some; the primary key must stay (the host refuses to drop it).
//!
//! ```toml
//! [plugins.config.project]
//! keep = ["id", "sku", "name", "price"]   # or: drop = ["cost_price", "notes"]
//! ```

use std::sync::OnceLock;

use sluice::RowMut;

enum Projection {
    Keep(Vec<String>),
    Drop(Vec<String>),
}

static PROJECTION: OnceLock<Projection> = OnceLock::new();

#[sluice::init]
fn setup(_config: &str) -> Result<(), String> {
    let (keep, drop) = (sluice::config_list("keep"), sluice::config_list("drop"));
    let p = match (keep.is_empty(), drop.is_empty()) {
        (false, true) => Projection::Keep(keep),
        (true, false) => Projection::Drop(drop),
        _ => {
            return Err(
                "project needs exactly one of `keep` and `drop` (a list of columns)".into(),
            );
        }
    };
    let _ = PROJECTION.set(p);
    Ok(())
}

#[sluice::mapper]
pub fn project(row: &mut RowMut) {
    let columns = row.columns();
    match PROJECTION.get().expect("init ran") {
        Projection::Keep(keep) => {
            for c in columns.iter().filter(|c| !keep.contains(c)) {
                row.drop_column(c);
            }
        }
        Projection::Drop(drop) => {
            for c in drop {
                row.drop_column(c);
            }
        }
    }
}
