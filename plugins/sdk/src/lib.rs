//! Write Sluice plugins as one function with one attribute.
//!
//! ```ignore
//! use sluice::Row;
//!
//! #[sluice::filter]
//! fn active_only(row: &Row) -> bool {
//!     row.str("status") != Some("discontinued")
//! }
//! ```
//!
//! ```ignore
//! use sluice::RowMut;
//!
//! #[sluice::mapper]
//! fn hide_cost(row: &mut RowMut) {
//!     row.drop_column("cost_price");
//!     row.rename_column("name", "product_name");
//! }
//! ```
//!
//! A plugin that needs settings adds, in the same module,
//!
//! ```ignore
//! #[sluice::init]
//! fn setup(config: &str) -> Result<(), String> { /* parse the JSON */ Ok(()) }
//! ```
//!
//! which runs once with the plugin's `[plugins.config.NAME]` section as JSON;
//! an `Err` refuses the plugin with that message.
//!
//! Build with `sluice plugin build DIR`; the result is a component for the
//! `filter` or `mapper` world of `wit/sluice.wit`.
//!
//! # What the SDK does for you
//! The host keeps each batch (rows of one table) in its own memory. The SDK
//! fetches a column only when your function first reads it, as one buffer
//! in the cell encoding, and reads cells straight out of that buffer. Column
//! names are resolved to indexes once per batch: after the first row, a
//! lookup is a pointer comparison plus one short string check. A mapper's
//! per-row calls are turned into a short list of edits that the host applies
//! natively.

#[doc(hidden)]
pub mod __rt;
mod config;
pub mod mask;
mod rows;

pub use rows::{Row, RowMut, Rows};
pub use sluice_cell::{CellRef, Date, DateTime, Time, Timestamp, Value};
pub use sluice_sdk_macros::{filter, init, mapper};

#[doc(hidden)]
pub use wit_bindgen as __wit_bindgen;

/// What happened to a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Insert,
    Update,
    Delete,
}

impl Op {
    /// This op's code in the plugin interface.
    #[doc(hidden)]
    #[inline]
    pub fn code(self) -> u8 {
        match self {
            Op::Insert => sluice_cell::op::INSERT,
            Op::Update => sluice_cell::op::UPDATE,
            Op::Delete => sluice_cell::op::DELETE,
        }
    }

    /// The op an interface code names; panics on a code no host sends.
    #[doc(hidden)]
    #[inline]
    pub fn from_code(code: u8) -> Op {
        match code {
            sluice_cell::op::INSERT => Op::Insert,
            sluice_cell::op::UPDATE => Op::Update,
            sluice_cell::op::DELETE => Op::Delete,
            other => panic!("host sent op code {other}, which this SDK does not know"),
        }
    }
}

/// Which image of a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Image {
    Before,
    After,
}

/// Log levels of the host's `log` import.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

/// Write a line to the engine's log, tagged with this plugin's name.
pub fn log(level: Level, message: &str) {
    __rt::log(level, message);
}

/// The plugin's config section as JSON text ("{}" when it has none).
pub fn config() -> &'static str {
    __rt::config()
}

/// A setting of the plugin's config: a string, or a number or boolean as
/// written; `None` when absent. Read in `#[sluice::init]` to validate it.
pub fn config_value(key: &str) -> Option<String> {
    config::value(config(), key)
}

/// A list-of-strings setting of the plugin's config; empty when absent.
pub fn config_list(key: &str) -> Vec<String> {
    config::list(config(), key)
}

/// How the SDK reads a batch; implemented by the generated bindings.
#[doc(hidden)]
pub trait BatchAccess {
    fn fetch_columns(&self) -> Vec<String>;
    fn fetch_ops(&self) -> Vec<Op>;
    fn fetch_column(&self, column: u32, image: Image) -> Vec<u8>;
}

/// An edit for the host, mirroring the WIT `edit` variant.
#[doc(hidden)]
#[derive(Clone, Debug, PartialEq)]
pub enum Edit {
    SetCells {
        column: u32,
        image: Image,
        cells: Vec<u8>,
    },
    RenameColumn {
        column: u32,
        name: String,
    },
    DropColumn(u32),
    AddColumn {
        name: String,
        before: Vec<u8>,
        after: Vec<u8>,
    },
    DropRow(u32),
    EmitRows {
        table: String,
        columns: Vec<String>,
        key: Vec<String>,
        ops: Vec<Op>,
        before: Vec<u8>,
        after: Vec<u8>,
    },
    SetTargetTable(String),
}
