//! Test plugin: a filter that reads the environment through a WASI import.
//! Sluice gives plugins no WASI, so loading it must fail with a message
//! saying so and how to build a plugin instead.

wit_bindgen::generate!({
    path: "wit",
    world: "wasi-user",
    generate_all,
});

struct Plugin;

impl Guest for Plugin {
    fn init(_config: String) -> Result<(), String> {
        Ok(())
    }

    fn filter(batch: &sluice::plugin::types::Batch) -> Result<Vec<bool>, String> {
        let env = wasi::cli::environment::get_environment();
        Ok(vec![!env.is_empty(); batch.len() as usize])
    }
}

export!(Plugin);
