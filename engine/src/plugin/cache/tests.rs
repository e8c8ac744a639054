//! The cache against the real engine: reuse, damage, forgery, and the
//! folder's and key's permissions.

use super::*;

fn engine() -> Engine {
    let mut c = wasmtime::Config::new();
    c.wasm_component_model(true);
    Engine::new(&c).unwrap()
}

/// The smallest component: the component-model preamble.
const EMPTY: &[u8] = b"\0asm\x0d\0\x01\0";
/// Another valid component: the preamble and a custom section named `a`.
const OTHER: &[u8] = b"\0asm\x0d\0\x01\0\x00\x02\x01a";

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sluice-cache-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    dir
}

fn entry(cache: &Cache, wasm: &[u8]) -> PathBuf {
    cache.path(digest::digest(&digest::SHA256, wasm).as_ref())
}

#[test]
fn entries_are_reused_and_damaged_ones_rebuilt() {
    let dir = scratch("reuse");
    let engine = engine();
    let cache = Cache::open(dir.clone(), &engine).unwrap();
    let (_, hit) = cache.component(&engine, EMPTY).unwrap();
    assert!(!hit, "first load compiles");
    let (_, hit) = cache.component(&engine, EMPTY).unwrap();
    assert!(hit, "second load comes from the cache");
    // Flip one byte of the compiled code: noticed, compiled again, healed.
    let path = entry(&cache, EMPTY);
    let mut data = fs::read(&path).unwrap();
    let last = data.len() - 1;
    data[last] ^= 0xff;
    fs::write(&path, &data).unwrap();
    assert!(
        !cache.component(&engine, EMPTY).unwrap().1,
        "a damaged entry is not used"
    );
    assert!(
        cache.component(&engine, EMPTY).unwrap().1,
        "and was rewritten"
    );
    fs::write(&path, b"").unwrap();
    assert!(
        !cache.component(&engine, EMPTY).unwrap().1,
        "truncated to nothing"
    );
    // An engine with other settings never sees these entries.
    let mut c = wasmtime::Config::new();
    c.wasm_component_model(true);
    c.epoch_interruption(true);
    let other = Engine::new(&c).unwrap();
    assert_ne!(
        entry(&Cache::open(dir.clone(), &other).unwrap(), EMPTY),
        path
    );
    let _ = fs::remove_dir_all(&dir);
}

/// The attack of hardening defect 3: whoever can write the cache file
/// rewrites an entry and recomputes its checksum. Without the key the tag
/// cannot be made, so the entry is refused (the old FNV-checked cache
/// loaded it).
#[test]
fn an_entry_forged_without_the_key_is_never_loaded() {
    let dir = scratch("forged");
    let engine = engine();
    let cache = Cache::open(dir.clone(), &engine).unwrap();
    cache.component(&engine, EMPTY).unwrap();
    let path = entry(&cache, EMPTY);
    let code = fs::read(&path).unwrap()[TAG_LEN..].to_vec();
    // The old format: FNV-1a 64 of the code, then the code.
    let mut forged = fnv64(&code).to_le_bytes().to_vec();
    forged.extend_from_slice(&code);
    fs::write(&path, &forged).unwrap();
    assert!(!cache.component(&engine, EMPTY).unwrap().1);
    // A tag made with another key (another user's cache) is refused too.
    let elsewhere = scratch("forged-elsewhere");
    let theirs = Cache::open(elsewhere.clone(), &engine).unwrap();
    theirs.component(&engine, EMPTY).unwrap();
    fs::copy(entry(&theirs, EMPTY), &path).unwrap();
    assert!(!cache.component(&engine, EMPTY).unwrap().1);
    // An authentic entry of one plugin, put under another plugin's name.
    cache.component(&engine, OTHER).unwrap();
    fs::copy(entry(&cache, EMPTY), entry(&cache, OTHER)).unwrap();
    assert!(!cache.component(&engine, OTHER).unwrap().1);
    // The same key is read back by a second open: entries survive restarts.
    let again = Cache::open(dir.clone(), &engine).unwrap();
    assert!(again.component(&engine, OTHER).unwrap().1);
    let _ = fs::remove_dir_all(&dir);
    let _ = fs::remove_dir_all(&elsewhere);
}

#[test]
fn the_folder_is_0700_and_the_key_0600() {
    let dir = scratch("modes");
    let engine = engine();
    Cache::open(dir.clone(), &engine).unwrap();
    let mode = |p: &Path| fs::metadata(p).unwrap().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join("key")), 0o600);
    assert_eq!(fs::read(dir.join("key")).unwrap().len(), KEY_LEN);
    // A folder of ours opened up by someone is narrowed again.
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
    Cache::open(dir.clone(), &engine).unwrap();
    assert_eq!(mode(&dir), 0o700);
    // A key others can read is refused, with the way out.
    fs::set_permissions(dir.join("key"), fs::Permissions::from_mode(0o644)).unwrap();
    let err = Cache::open(dir.clone(), &engine).err().unwrap();
    assert!(
        err.contains("mode 0600") && err.contains("delete it"),
        "{err}"
    );
    fs::remove_file(dir.join("key")).unwrap();
    Cache::open(dir.clone(), &engine).unwrap();
    let _ = fs::remove_dir_all(&dir);
}
