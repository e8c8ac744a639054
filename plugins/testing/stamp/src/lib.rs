//! Test plugin: a mapper that sets column `stamp` of every row to the
//! `value` of its config section (`[plugins.config.stamp] value = "..."`),
//! read once by `#[sluice::init]`. A config without `value` is refused.

use std::sync::OnceLock;

use sluice::{RowMut, Value};

static STAMP: OnceLock<String> = OnceLock::new();

#[sluice::init]
fn setup(config: &str) -> Result<(), String> {
    // The config is JSON like {"value":"v1"}; plugins get no serde here to
    // stay small, so read the one string by hand.
    let value = config
        .split_once("\"value\"")
        .and_then(|(_, rest)| rest.split('"').nth(1))
        .ok_or_else(|| format!("config needs a string `value`, got {config}"))?;
    let _ = STAMP.set(value.to_owned());
    Ok(())
}

#[sluice::mapper]
pub fn stamp(row: &mut RowMut) {
    let value = STAMP.get().cloned().unwrap_or_default();
    row.set("stamp", Value::Text(value));
}
