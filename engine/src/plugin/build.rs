//! `sluice plugin build DIR`: build a plugin crate for
//! `wasm32-unknown-unknown` with cargo and make each resulting core module a
//! component (the `wit-component` crate, as `wasm-tools component new`
//! does). The WIT world is embedded in the module by the SDK's bindings, so
//! no other tool is needed.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Make a core wasm module (with an embedded component-type section) into a
/// component.
pub fn componentize(module: &[u8]) -> anyhow::Result<Vec<u8>> {
    let component = wit_component::ComponentEncoder::default()
        .module(module)?
        .validate(true)
        .encode()?;
    Ok(component)
}

/// Build the crate (or workspace) at `dir` in release mode for
/// wasm32-unknown-unknown and write one `<name>.wasm` component per cdylib
/// into `out`. Returns the files written.
pub fn build(dir: &Path, out: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let manifest = dir.join("Cargo.toml");
    anyhow::ensure!(manifest.is_file(), "{} has no Cargo.toml", dir.display());
    let output = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-unknown-unknown",
            "--message-format=json-render-diagnostics",
            "--manifest-path",
        ])
        .arg(&manifest)
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| anyhow::anyhow!("cannot run cargo: {e}"))?;
    anyhow::ensure!(
        output.status.success(),
        "cargo build failed for {} (is the target installed? rustup target add wasm32-unknown-unknown)",
        dir.display()
    );
    std::fs::create_dir_all(out)?;
    let mut written = Vec::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if msg["reason"] != "compiler-artifact" {
            continue;
        }
        for file in msg["filenames"].as_array().into_iter().flatten() {
            let Some(file) = file.as_str().filter(|f| f.ends_with(".wasm")) else {
                continue;
            };
            let module = std::fs::read(file)?;
            let component = componentize(&module)
                .map_err(|e| anyhow::anyhow!("{file}: cannot make a component: {e:#}"))?;
            let stem = Path::new(file)
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("plugin");
            let dest = out.join(format!("{stem}.wasm"));
            let tmp = out.join(format!(".{stem}.wasm.tmp"));
            // Write then rename, so a watcher never sees a partial file.
            std::fs::write(&tmp, component)?;
            std::fs::rename(&tmp, &dest)?;
            written.push(dest);
        }
    }
    anyhow::ensure!(
        !written.is_empty(),
        "{} built no cdylib (.wasm); set crate-type = [\"cdylib\"]",
        dir.display()
    );
    Ok(written)
}
