//! On-disk cache of compiled plugins, so a restart loads a plugin by
//! mapping machine code instead of compiling it with cranelift again.
//!
//! # Why an entry can be trusted
//! Loading compiled code is `unsafe` in wasmtime: the bytes must be what
//! `Component::serialize` produced for a compatible engine. Three checks
//! make sure they are, and any failure means "compile again", never "use":
//! * the file name carries the FNV-1a 64 hash of the plugin's `.wasm` bytes
//!   and a hash of the engine's compatibility (wasmtime version and every
//!   setting that affects code: `Engine::precompile_compatibility_hash`), so
//!   another plugin version or another engine never finds the entry;
//! * the file starts with the FNV-1a 64 hash of the rest, so a truncated or
//!   damaged file is noticed before wasmtime sees it;
//! * wasmtime itself checks its header (version, target, settings) and
//!   refuses a mismatch.
//!
//! Entries are written to a temporary name and renamed, so a reader never
//! sees half a file. A cache that cannot be written (read-only folder) only
//! costs the compile time; it is logged once.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use wasmtime::Engine;
use wasmtime::component::Component;

/// Where compiled plugins are kept, for one engine configuration.
pub struct Cache {
    dir: PathBuf,
    /// Hash of the engine's compatibility, in every file name.
    engine_tag: u64,
    /// Whether a failed write was already logged.
    warned: AtomicBool,
}

/// FNV-1a 64: stable across builds, dependency-free.
pub fn fnv64(bytes: &[u8]) -> u64 {
    let mut h = Fnv::default();
    h.write(bytes);
    h.finish()
}

/// A deterministic hasher (FNV-1a 64), also for the engine's
/// compatibility hash.
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

impl Cache {
    pub fn new(dir: PathBuf, engine: &Engine) -> Self {
        let mut h = Fnv::default();
        engine.precompile_compatibility_hash().hash(&mut h);
        Cache {
            dir,
            engine_tag: h.finish(),
            warned: AtomicBool::new(false),
        }
    }

    fn path(&self, wasm: &[u8]) -> PathBuf {
        self.dir.join(format!(
            "{:016x}-{:016x}.cwasm",
            fnv64(wasm),
            self.engine_tag
        ))
    }

    /// The compiled component for `wasm`: from the cache when a sound entry
    /// exists, else compiled and stored. Returns whether it was a hit.
    pub fn component(&self, engine: &Engine, wasm: &[u8]) -> wasmtime::Result<(Component, bool)> {
        let path = self.path(wasm);
        if let Some(component) = self.read(engine, &path) {
            return Ok((component, true));
        }
        let component = Component::new(engine, wasm)?;
        if let Err(e) = self.write(&path, &component)
            && !self.warned.swap(true, Ordering::Relaxed)
        {
            tracing::warn!(cache = %self.dir.display(), error = %e, "cannot write the compiled-plugin cache; plugins are compiled at every start");
        }
        Ok((component, false))
    }

    fn read(&self, engine: &Engine, path: &Path) -> Option<Component> {
        let data = std::fs::read(path).ok()?;
        let sound = data.len() > 8
            && u64::from_le_bytes(data[..8].try_into().expect("8 bytes")) == fnv64(&data[8..]);
        if !sound {
            tracing::warn!(entry = %path.display(), "damaged compiled-plugin cache entry; compiling again");
            return None;
        }
        // SAFETY: the bytes are what `Component::serialize` wrote for an
        // engine with the same compatibility hash (file name) and are
        // intact (checksum); wasmtime checks its own header as well.
        match unsafe { Component::deserialize(engine, &data[8..]) } {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::warn!(entry = %path.display(), error = %e, "unusable compiled-plugin cache entry; compiling again");
                None
            }
        }
    }

    fn write(&self, path: &Path, component: &Component) -> anyhow::Result<()> {
        let code = component.serialize()?;
        std::fs::create_dir_all(&self.dir)?;
        let mut data = Vec::with_capacity(code.len() + 8);
        data.extend_from_slice(&fnv64(&code).to_le_bytes());
        data.extend_from_slice(&code);
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, &data)?;
        std::fs::rename(&tmp, path)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny valid component (an empty one), compiled by the real engine.
    fn engine() -> Engine {
        let mut c = wasmtime::Config::new();
        c.wasm_component_model(true);
        Engine::new(&c).unwrap()
    }

    #[test]
    fn entries_are_reused_and_damaged_ones_rebuilt() {
        let dir = std::env::temp_dir().join(format!("sluice-cache-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let engine = engine();
        let cache = Cache::new(dir.clone(), &engine);
        // The smallest component: the component-model preamble.
        let wasm = b"\0asm\x0d\0\x01\0";
        let (_, hit) = cache.component(&engine, wasm).unwrap();
        assert!(!hit, "first load compiles");
        let (_, hit) = cache.component(&engine, wasm).unwrap();
        assert!(hit, "second load comes from the cache");
        // Flip one byte of the compiled code: noticed, compiled again, healed.
        let path = cache.path(wasm);
        let mut data = std::fs::read(&path).unwrap();
        let last = data.len() - 1;
        data[last] ^= 0xff;
        std::fs::write(&path, &data).unwrap();
        let (_, hit) = cache.component(&engine, wasm).unwrap();
        assert!(!hit, "a damaged entry is not used");
        let (_, hit) = cache.component(&engine, wasm).unwrap();
        assert!(hit, "and was rewritten");
        // Truncated to nothing.
        std::fs::write(&path, b"").unwrap();
        assert!(!cache.component(&engine, wasm).unwrap().1);
        // An engine with other settings never sees these entries.
        let mut c = wasmtime::Config::new();
        c.wasm_component_model(true);
        c.epoch_interruption(true);
        let other = Engine::new(&c).unwrap();
        assert_ne!(Cache::new(dir.clone(), &other).path(wasm), cache.path(wasm));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
