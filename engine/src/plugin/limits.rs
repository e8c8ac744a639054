//! The memory cap of one plugin instance (`[plugins] memory_mib`).
//!
//! # Why the cap holds for the instance, not per memory
//! wasmtime's stock `StoreLimits` checks each linear memory on its own, so a
//! component with four memories could take four times the cap. This limiter
//! keeps one running total for the store: every memory's creation (growth
//! from 0) and every growth adds `desired - current` bytes, and a growth
//! that would take the total past the cap is refused with an error, which
//! traps the guest at once. A store holds one plugin instance (with its
//! inner core instances), so the total is the instance's.
//!
//! Nothing ever shrinks a linear memory, and a store dies with its instance
//! (a trap drops it), so the total only goes up; it is never undercounted.
//! A growth past the memory's own declared maximum is refused before it is
//! counted (the guest sees -1), so a refused growth costs nothing.
//! Tables are capped by element count, separately: their entries are
//! host-side references, not guest bytes.

use wasmtime::ResourceLimiter;

/// Core instances, tables and memories one component may create.
const INSTANCES: usize = 16;
const TABLES: usize = 16;
const MEMORIES: usize = 4;
/// Elements per table.
const TABLE_ELEMENTS: usize = 1 << 20;

/// The limiter of one store.
#[derive(Debug)]
pub struct InstanceLimits {
    cap: usize,
    used: usize,
}

impl InstanceLimits {
    /// A limiter for an instance of at most `cap` bytes of linear memory.
    pub fn new(cap: usize) -> Self {
        InstanceLimits { cap, used: 0 }
    }

    /// Bytes of linear memory the instance holds.
    pub fn used(&self) -> usize {
        self.used
    }
}

impl ResourceLimiter for InstanceLimits {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if maximum.is_some_and(|max| desired > max) {
            return Ok(false);
        }
        let total = self.used.saturating_sub(current).saturating_add(desired);
        if total > self.cap {
            wasmtime::bail!(
                "the plugin instance's memory would grow to {} KiB in all, past its cap of {} KiB",
                total >> 10,
                self.cap >> 10
            );
        }
        self.used = total;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if maximum.is_some_and(|max| desired > max) {
            return Ok(false);
        }
        if desired > TABLE_ELEMENTS {
            wasmtime::bail!("a plugin table would grow past {TABLE_ELEMENTS} elements");
        }
        Ok(true)
    }

    fn instances(&self) -> usize {
        INSTANCES
    }

    fn tables(&self) -> usize {
        TABLES
    }

    fn memories(&self) -> usize {
        MEMORIES
    }
}

#[cfg(test)]
mod tests;
