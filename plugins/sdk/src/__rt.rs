//! Glue called by the code the attribute macros generate. Not a public API.

use std::sync::OnceLock;

use crate::rows::EditLog;
use crate::{BatchAccess, Edit, Level, Row, RowMut, Rows};

/// The host's `log` import, as the generated bindings expose it.
pub type LogFn = fn(Level, &str);

/// An author's `init = function`.
pub type InitFn = fn(&str) -> Result<(), String>;

/// The fallback `__SLUICE_INIT` a plugin module sees through a glob import
/// when it has no `#[sluice::init]` function; a real one (an item in the
/// module) shadows it.
pub mod no_init {
    pub const __SLUICE_INIT: Option<super::InitFn> = None;
}

static LOG: OnceLock<LogFn> = OnceLock::new();
static CONFIG: OnceLock<String> = OnceLock::new();

pub fn log(level: Level, message: &str) {
    if let Some(f) = LOG.get() {
        f(level, message);
    }
}

pub fn config() -> &'static str {
    CONFIG.get().map_or("{}", String::as_str)
}

/// The exported `init`: remember the logger and config, route panic
/// messages to the host log (a panic in a wasm32-unknown-unknown guest
/// otherwise traps without a word), then run the author's init if any.
pub fn init(config: &str, logger: LogFn, user: Option<InitFn>) -> Result<(), String> {
    let _ = LOG.set(logger);
    let _ = CONFIG.set(config.to_owned());
    std::panic::set_hook(Box::new(|info| {
        log(Level::Error, &format!("panic: {info}"));
    }));
    match user {
        Some(f) => f(config),
        None => Ok(()),
    }
}

/// The exported `filter`: one verdict per row.
pub fn filter(batch: &dyn BatchAccess, f: fn(&Row) -> bool) -> Result<Vec<bool>, String> {
    let rows = Rows::new(batch);
    Ok((0..rows.len()).map(|i| f(&Row::new(&rows, i))).collect())
}

/// The exported `map`: the edits gathered over every row.
pub fn map(batch: &dyn BatchAccess, f: fn(&mut RowMut)) -> Result<Vec<Edit>, String> {
    let rows = Rows::new(batch);
    let mut log = EditLog::default();
    for i in 0..rows.len() {
        f(&mut RowMut::new(&rows, i, &mut log));
    }
    Ok(log.into_edits(&rows))
}
