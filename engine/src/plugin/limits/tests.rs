//! The cap against the real engine, with a component whose core module has
//! two memories (multi-memory; no Rust toolchain emits one, so it is
//! written as text).

use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine, Store};

use super::*;

const TWO_MEMORIES: &str = r#"
(component
  (core module $m
    (memory $a 1)
    (memory $b 1)
    (func (export "grow-a") (param i32) (result i32) local.get 0 memory.grow $a)
    (func (export "grow-b") (param i32) (result i32) local.get 0 memory.grow $b))
  (core instance $i (instantiate $m))
  (func (export "grow-a") (param "pages" u32) (result s32)
    (canon lift (core func $i "grow-a")))
  (func (export "grow-b") (param "pages" u32) (result s32)
    (canon lift (core func $i "grow-b"))))
"#;

const PAGE: usize = 64 << 10;

fn instance(cap: usize) -> (Store<InstanceLimits>, wasmtime::component::Instance) {
    let mut config = Config::new();
    config.wasm_component_model(true);
    let engine = Engine::new(&config).unwrap();
    let component = Component::new(&engine, wat::parse_str(TWO_MEMORIES).unwrap()).unwrap();
    let mut store = Store::new(&engine, InstanceLimits::new(cap));
    store.limiter(|l| l);
    let instance = Linker::new(&engine)
        .instantiate(&mut store, &component)
        .unwrap();
    (store, instance)
}

fn grow(
    store: &mut Store<InstanceLimits>,
    instance: &wasmtime::component::Instance,
    which: &str,
    pages: u32,
) -> wasmtime::Result<i32> {
    let f = instance
        .get_typed_func::<(u32,), (i32,)>(&mut *store, which)
        .unwrap();
    let (r,) = f.call(&mut *store, (pages,))?;
    Ok(r)
}

/// Hardening defect 4: with a 4 MiB cap, each memory alone may reach
/// 2.6 MiB, which the per-memory cap allowed twice; the instance may not.
#[test]
fn two_memories_share_one_cap() {
    let (mut store, instance) = instance(64 * PAGE);
    assert_eq!(store.data().used(), 2 * PAGE, "both initial pages count");
    assert_eq!(grow(&mut store, &instance, "grow-a", 40).unwrap(), 1);
    assert_eq!(store.data().used(), 42 * PAGE);
    let err = grow(&mut store, &instance, "grow-b", 40).unwrap_err();
    assert!(
        format!("{err:#}").contains("past its cap of 4096 KiB"),
        "{err:#}"
    );
    assert_eq!(
        store.data().used(),
        42 * PAGE,
        "a refused growth is not counted"
    );
}

#[test]
fn growth_up_to_the_cap_is_allowed_across_memories() {
    let (mut store, instance) = instance(64 * PAGE);
    assert_eq!(grow(&mut store, &instance, "grow-a", 31).unwrap(), 1);
    assert_eq!(grow(&mut store, &instance, "grow-b", 31).unwrap(), 1);
    assert_eq!(store.data().used(), 64 * PAGE);
    assert!(
        grow(&mut store, &instance, "grow-a", 1).is_err(),
        "one page past"
    );
}
