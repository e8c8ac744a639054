//! Test plugin: a filter built for the plugin interface as it was at
//! `sluice:plugin@0.1.0`, as a plugin compiled with an older SDK is.
//! Loading it must fail with a message that names both versions and says
//! to rebuild it.

wit_bindgen::generate!({
    path: "wit",
    world: "old-interface",
    generate_all,
});

struct Plugin;

impl Guest for Plugin {
    fn init(_config: String) -> Result<(), String> {
        Ok(())
    }

    fn filter(batch: &sluice::plugin::types::Batch) -> Result<Vec<bool>, String> {
        Ok(vec![true; batch.len() as usize])
    }
}

export!(Plugin);
