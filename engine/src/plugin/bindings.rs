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

use crate::change::Op;

/// An op's code in the plugin interface (`wit/sluice.wit`: ops cross as
/// bytes).
pub fn op_code(op: Op) -> u8 {
    match op {
        Op::Insert => sluice_cell::op::INSERT,
        Op::Update => sluice_cell::op::UPDATE,
        Op::Delete => sluice_cell::op::DELETE,
    }
}

/// The op a plugin's code names, if it names one.
pub fn op_from_code(code: u8) -> Option<Op> {
    match code {
        sluice_cell::op::INSERT => Some(Op::Insert),
        sluice_cell::op::UPDATE => Some(Op::Update),
        sluice_cell::op::DELETE => Some(Op::Delete),
        _ => None,
    }
}
pub use filter::sluice::plugin::types::{
    AddColumn, Edit, ExtraRows, Image, RenameColumn, SetCells, Value as WitValue,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn op_codes_go_both_ways_and_unknown_ones_are_refused() {
        for op in [Op::Insert, Op::Update, Op::Delete] {
            assert_eq!(op_from_code(op_code(op)), Some(op));
        }
        assert_eq!(op_from_code(3), None);
    }
}
