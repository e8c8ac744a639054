//! On-disk cache of compiled plugins, so a restart loads a plugin by
//! mapping machine code instead of compiling it with cranelift again.
//!
//! # The trust model (docs/plugins.md)
//! A `.wasm` file is untrusted: wasmtime checks it and runs it in the
//! sandbox. A cache entry is not: it is native code that wasmtime maps and
//! runs unchecked (`Component::deserialize` is `unsafe`). So an entry must
//! be something this process, or another run of it as the same user,
//! compiled. Whoever can only drop a `.wasm` into the plugin folder must
//! not be able to make an entry:
//! * **Place.** The cache is never inside the plugin folder (the config
//!   refuses that). By default it is `plugin-cache` in the state folder
//!   (`$XDG_STATE_HOME/sluice` or `~/.local/state/sluice`).
//! * **Ownership.** [`Cache::open`] creates the cache folder with mode 0700
//!   and refuses a folder that another user owns; a folder of ours with
//!   wider permissions is narrowed to 0700.
//! * **Authentication.** Each entry starts with an HMAC-SHA256 tag, keyed
//!   by 32 random bytes in `key` in the cache folder (mode 0600, never
//!   logged). The tag covers the SHA-256 of the `.wasm` the entry was
//!   compiled from, the engine's compatibility hash and the code, so an
//!   entry is used only for the exact plugin and engine it was made for.
//!   A checksum (the old scheme) anyone can recompute; the tag needs the
//!   key, which only the cache folder's owner can read.
//!
//! An entry that is too short, fails the tag, or that wasmtime refuses is
//! ignored and rebuilt: "compile again", never "use". Entries are written
//! to a temporary name and renamed, so a reader never sees half a file; the
//! key is linked into place, so two processes starting at once agree on
//! one. A cache that cannot be opened or written only costs the compile
//! time; it is logged once.

use std::fs;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use ring::{digest, hmac, rand::SecureRandom};
use wasmtime::Engine;
use wasmtime::component::Component;

/// Bytes of the tag in front of each entry.
const TAG_LEN: usize = 32;
/// Bytes of the MAC key.
const KEY_LEN: usize = 32;

/// Where compiled plugins are kept, for one engine configuration.
pub struct Cache {
    dir: PathBuf,
    /// Hash of the engine's compatibility, in every file name and tag.
    engine_tag: u64,
    key: hmac::Key,
    /// Whether a failed write was already logged.
    warned: AtomicBool,
}

/// FNV-1a 64: stable across builds, dependency-free. Names plugin versions
/// and engine settings; it authenticates nothing.
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

/// This process's effective user.
fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Create `dir` (mode 0700) or check an existing one: ours, and 0700.
fn own_folder(dir: &Path) -> Result<(), String> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let meta = fs::metadata(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    if meta.uid() != euid() {
        return Err(format!(
            "{} belongs to user {}, not to sluice's user {}; remove it or set [plugins] cache_dir to a folder of sluice's own",
            dir.display(),
            meta.uid(),
            euid()
        ));
    }
    if meta.mode() & 0o077 != 0 {
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
            .map_err(|e| format!("cannot restrict {} to mode 0700: {e}", dir.display()))?;
    }
    Ok(())
}

/// Read the MAC key, making it first if there is none.
fn key(dir: &Path) -> Result<hmac::Key, String> {
    let path = dir.join("key");
    if !path.exists() {
        let mut bytes = [0u8; KEY_LEN];
        ring::rand::SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| "the system random source failed".to_owned())?;
        let tmp = dir.join(format!("key.tmp{}", std::process::id()));
        let _ = fs::remove_file(&tmp);
        let written = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .and_then(|mut f| f.write_all(&bytes).and_then(|()| f.sync_all()));
        if let Err(e) = written {
            let _ = fs::remove_file(&tmp);
            return Err(format!("cannot write {}: {e}", tmp.display()));
        }
        // A link fails if the key exists: a process that started at the
        // same time made it first, and both use that one.
        let linked = fs::hard_link(&tmp, &path);
        let _ = fs::remove_file(&tmp);
        match linked {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(format!("cannot write {}: {e}", path.display())),
        }
    }
    let meta = fs::metadata(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if meta.uid() != euid() || meta.mode() & 0o077 != 0 {
        return Err(format!(
            "{} must belong to sluice's user and have mode 0600; delete it and it is made again",
            path.display()
        ));
    }
    let bytes = fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if bytes.len() != KEY_LEN {
        return Err(format!(
            "{} holds {} bytes, not {KEY_LEN}; delete it and it is made again",
            path.display(),
            bytes.len()
        ));
    }
    Ok(hmac::Key::new(hmac::HMAC_SHA256, &bytes))
}

impl Cache {
    /// Open the cache in `dir`: create or check the folder, and read or
    /// make its key. An error says why the cache cannot be used.
    pub fn open(dir: PathBuf, engine: &Engine) -> Result<Self, String> {
        own_folder(&dir)?;
        let key = key(&dir)?;
        let mut h = Fnv::default();
        engine.precompile_compatibility_hash().hash(&mut h);
        Ok(Cache {
            dir,
            engine_tag: h.finish(),
            key,
            warned: AtomicBool::new(false),
        })
    }

    fn path(&self, wasm_digest: &[u8]) -> PathBuf {
        let mut name = String::with_capacity(40);
        for b in &wasm_digest[..8] {
            name.push_str(&format!("{b:02x}"));
        }
        self.dir
            .join(format!("{name}-{:016x}.cwasm", self.engine_tag))
    }

    /// What the tag covers, in front of the code.
    fn context(&self, wasm_digest: &[u8]) -> hmac::Context {
        let mut ctx = hmac::Context::with_key(&self.key);
        ctx.update(wasm_digest);
        ctx.update(&self.engine_tag.to_le_bytes());
        ctx
    }

    /// The compiled component for `wasm`: from the cache when an authentic
    /// entry exists, else compiled and stored. Returns whether it was a hit.
    pub fn component(&self, engine: &Engine, wasm: &[u8]) -> wasmtime::Result<(Component, bool)> {
        let wasm_digest = digest::digest(&digest::SHA256, wasm);
        let path = self.path(wasm_digest.as_ref());
        if let Some(component) = self.read(engine, wasm_digest.as_ref(), &path) {
            return Ok((component, true));
        }
        let component = Component::new(engine, wasm)?;
        if let Err(e) = self.write(wasm_digest.as_ref(), &path, &component)
            && !self.warned.swap(true, Ordering::Relaxed)
        {
            tracing::warn!(cache = %self.dir.display(), error = %e, "cannot write the compiled-plugin cache; plugins are compiled at every start");
        }
        Ok((component, false))
    }

    fn read(&self, engine: &Engine, wasm_digest: &[u8], path: &Path) -> Option<Component> {
        let data = fs::read(path).ok()?;
        let authentic = data.len() > TAG_LEN && {
            let mut ctx = self.context(wasm_digest);
            ctx.update(&data[TAG_LEN..]);
            let tag = ctx.sign();
            // Constant time, like hmac::verify.
            tag.as_ref()
                .iter()
                .zip(&data[..TAG_LEN])
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
        };
        if !authentic {
            tracing::warn!(entry = %path.display(), "damaged or forged compiled-plugin cache entry (its tag does not verify); compiling again");
            return None;
        }
        // SAFETY: the tag proves the bytes are what `Component::serialize`
        // wrote, in this cache, for this exact plugin and an engine with the
        // same compatibility hash; only the folder's owner holds the key.
        // wasmtime checks its own header as well.
        match unsafe { Component::deserialize(engine, &data[TAG_LEN..]) } {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::warn!(entry = %path.display(), error = %e, "unusable compiled-plugin cache entry; compiling again");
                None
            }
        }
    }

    fn write(&self, wasm_digest: &[u8], path: &Path, component: &Component) -> anyhow::Result<()> {
        let code = component.serialize()?;
        let mut ctx = self.context(wasm_digest);
        ctx.update(&code);
        let mut data = Vec::with_capacity(code.len() + TAG_LEN);
        data.extend_from_slice(ctx.sign().as_ref());
        data.extend_from_slice(&code);
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?
            .write_all(&data)?;
        fs::rename(&tmp, path)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
