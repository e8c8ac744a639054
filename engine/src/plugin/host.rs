//! What a plugin instance sees of the host: the `batch` resource and `log`.
//!
//! The batch is moved into the store's resource table for the duration of
//! one call and moved out again afterwards, so the rows are never copied to
//! hand them to a plugin; only the columns the plugin asks for are encoded.

use std::sync::Arc;

use wasmtime::Result as WResult;
use wasmtime::component::{Resource, ResourceTable};

use super::bindings::filter::sluice::plugin::{host, types};
use super::bindings::{Image, Level, WitValue, op_code};
use crate::change::{TableChanges, Value};
use sluice_cell::Encoder;

/// The rows behind a `batch` resource.
pub struct BatchRes {
    pub changes: TableChanges,
}

/// Per-store host state.
pub struct HostState {
    pub table: ResourceTable,
    pub limits: super::limits::InstanceLimits,
    /// The plugin's name, for log lines.
    pub plugin: Arc<str>,
    /// The last error the plugin logged (the SDK logs its panic message
    /// there), so a trap can say why it happened.
    pub last_error: Option<String>,
}

fn wit_value(v: &Value) -> WitValue {
    match v {
        Value::Null => WitValue::Null,
        Value::Int(i) => WitValue::Int(*i),
        Value::UInt(u) => WitValue::Uint(*u),
        Value::Double(f) => WitValue::Float(*f),
        Value::Float(f) => WitValue::Float(f64::from(*f)),
        Value::Decimal(s) => WitValue::Decimal(s.clone()),
        Value::Text(s) => WitValue::Text(s.clone()),
        Value::Bytes(b) => WitValue::Bytes(b.clone()),
        Value::Date(d) => WitValue::Temporal(d.to_string()),
        Value::Time(t) => WitValue::Temporal(t.to_string()),
        Value::DateTime(t) => WitValue::Temporal(t.to_string()),
        Value::Timestamp(t) => WitValue::Temporal(t.to_string()),
        Value::Json(s) => WitValue::Json(s.clone()),
    }
}

impl HostState {
    fn batch(&self, r: &Resource<BatchRes>) -> WResult<&TableChanges> {
        Ok(&self.table.get(r)?.changes)
    }

    fn column(&self, r: &Resource<BatchRes>, column: u32) -> WResult<(&TableChanges, usize)> {
        let b = self.batch(r)?;
        let c = column as usize;
        if c >= b.schema.columns.len() {
            wasmtime::bail!(
                "plugin asked for column {column} of {}.{}, which has {} columns",
                b.schema.database,
                b.schema.table,
                b.schema.columns.len()
            );
        }
        Ok((b, c))
    }
}

/// The cell of `column` in `image` of every row; a missing image reads as NULL.
pub fn cells(b: &TableChanges, column: usize, image: Image) -> impl Iterator<Item = &Value> {
    const NULL: &Value = &Value::Null;
    b.rows.iter().map(move |r| {
        let img = match image {
            Image::Before => &r.before,
            Image::After => &r.after,
        };
        img.as_ref().map_or(NULL, |v| &v[column])
    })
}

impl types::Host for HostState {}

impl types::HostBatch for HostState {
    fn database(&mut self, b: Resource<BatchRes>) -> WResult<String> {
        Ok(self.batch(&b)?.schema.database.clone())
    }

    fn table(&mut self, b: Resource<BatchRes>) -> WResult<String> {
        Ok(self.batch(&b)?.schema.table.clone())
    }

    fn columns(&mut self, b: Resource<BatchRes>) -> WResult<Vec<String>> {
        Ok(self.batch(&b)?.schema.columns.clone())
    }

    fn len(&mut self, b: Resource<BatchRes>) -> WResult<u32> {
        Ok(self.batch(&b)?.rows.len() as u32)
    }

    fn ops(&mut self, b: Resource<BatchRes>) -> WResult<Vec<u8>> {
        Ok(self.batch(&b)?.rows.iter().map(|r| op_code(r.op)).collect())
    }

    fn column_bytes(
        &mut self,
        b: Resource<BatchRes>,
        column: u32,
        image: Image,
    ) -> WResult<Vec<u8>> {
        let (b, c) = self.column(&b, column)?;
        let mut enc = Encoder::with_capacity(1 + b.rows.len() * 12);
        for v in cells(b, c, image) {
            enc.push(v.as_cell());
        }
        Ok(enc.finish())
    }

    fn get(
        &mut self,
        b: Resource<BatchRes>,
        row: u32,
        column: u32,
        image: Image,
    ) -> WResult<WitValue> {
        let (b, c) = self.column(&b, column)?;
        match cells(b, c, image).nth(row as usize) {
            Some(v) => Ok(wit_value(v)),
            None => wasmtime::bail!("plugin asked for row {row} of a batch of {}", b.rows.len()),
        }
    }

    fn get_column(
        &mut self,
        b: Resource<BatchRes>,
        column: u32,
        image: Image,
    ) -> WResult<Vec<WitValue>> {
        let (b, c) = self.column(&b, column)?;
        Ok(cells(b, c, image).map(wit_value).collect())
    }

    fn drop(&mut self, _b: Resource<BatchRes>) -> WResult<()> {
        // The host owns every batch and takes it back after the call; a
        // guest cannot own one, so there is nothing to drop here.
        Ok(())
    }
}

impl host::Host for HostState {
    fn log(&mut self, level: Level, message: String) -> WResult<()> {
        let plugin = &*self.plugin;
        match level {
            Level::Trace => tracing::trace!(plugin, "{message}"),
            Level::Debug => tracing::debug!(plugin, "{message}"),
            Level::Info => tracing::info!(plugin, "{message}"),
            Level::Warn => tracing::warn!(plugin, "{message}"),
            Level::Error => {
                tracing::error!(plugin, "{message}");
                self.last_error = Some(message);
            }
        }
        Ok(())
    }
}

/// The typed reads of a batch with indexes from `data` (the fuzz target
/// `host_reads`): each is answered or refused, never a panic.
pub(crate) fn fuzz_reads(batch: TableChanges, data: &[u8]) {
    use types::HostBatch;
    let mut state = HostState {
        table: ResourceTable::new(),
        limits: super::limits::InstanceLimits::new(1 << 20),
        plugin: Arc::from("fuzz"),
        last_error: None,
    };
    let res = state
        .table
        .push(BatchRes { changes: batch })
        .expect("room for one batch");
    let rep = res.rep();
    for chunk in data.chunks(9) {
        let mut b = [0u8; 9];
        b[..chunk.len()].copy_from_slice(chunk);
        let row = u32::from_le_bytes([b[1], b[2], b[3], b[4]]);
        let column = u32::from_le_bytes([b[5], b[6], b[7], b[8]]);
        let image = if b[0] & 1 == 0 {
            Image::Before
        } else {
            Image::After
        };
        let r = || Resource::<BatchRes>::new_borrow(rep);
        match b[0] >> 1 & 3 {
            0 => drop(state.get(r(), row, column, image)),
            1 => drop(state.get_column(r(), column, image)),
            2 => {
                if let Ok(cells) = state.column_bytes(r(), column, image) {
                    let mut out = Vec::new();
                    sluice_cell::Decoder::new(&cells)
                        .and_then(|d| d.read_all(3, &mut out))
                        .expect("the host's own cells decode");
                }
            }
            _ => drop(state.ops(r())),
        }
    }
}
