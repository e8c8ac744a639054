//! Host bindings generated from `wit/sluice.wit`, one module per world.
//! The mapper world reuses the filter world's `types` and `host` interfaces,
//! so both worlds share one `Batch` resource type and one `Host` impl.

pub mod filter {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "filter",
        // Host functions may trap the guest (a column index out of range).
        imports: { default: trappable },
        with: {
            "sluice:plugin/types.batch": crate::plugin::host::BatchRes,
        },
    });
}

pub mod mapper {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "mapper",
        imports: { default: trappable },
        with: {
            "sluice:plugin/types": super::filter::sluice::plugin::types,
            "sluice:plugin/host": super::filter::sluice::plugin::host,
        },
    });
}

pub use filter::sluice::plugin::host::Level;
pub use filter::sluice::plugin::types::{Edit, ExtraRows, Image, Value as WitValue};
