//! `sluice plugin new NAME`: a plugin crate from a template that builds as
//! it is (`sluice plugin build NAME`), as a mapper (default) or a filter.
//!
//! The crate depends on the Sluice SDK by path: `--sdk`, else the SDK of the
//! Sluice source tree this binary was built from, when it is still there.

use std::path::{Path, PathBuf};

const CARGO_TOML: &str = include_str!("template/Cargo.toml.in");
const MAPPER: &str = include_str!("template/mapper.rs.in");
const FILTER: &str = include_str!("template/filter.rs.in");

/// The SDK of the source tree this binary was built from.
fn built_in_sdk() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/sdk")
}

/// Create the crate `NAME` in `parent`. `filter` picks the filter template.
pub fn new(parent: &Path, name: &str, filter: bool, sdk: Option<&Path>) -> anyhow::Result<PathBuf> {
    anyhow::ensure!(
        !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            && name.starts_with(|c: char| c.is_ascii_lowercase()),
        "plugin name `{name}`: use lower-case letters, digits and _, starting with a letter (it becomes the crate, the function and the file name)"
    );
    let sdk = match sdk {
        Some(p) => p.to_path_buf(),
        None => built_in_sdk(),
    };
    let sdk = sdk.canonicalize().map_err(|_| {
        anyhow::anyhow!(
            "no Sluice SDK at {}; pass --sdk PATH (the plugins/sdk folder of a Sluice source tree)",
            sdk.display()
        )
    })?;
    anyhow::ensure!(
        sdk.join("Cargo.toml").is_file(),
        "{} is not the Sluice SDK (no Cargo.toml)",
        sdk.display()
    );
    let dir = parent.join(name);
    anyhow::ensure!(!dir.exists(), "{} exists already", dir.display());
    std::fs::create_dir_all(dir.join("src"))?;
    let fill = |t: &str| {
        t.replace("{name}", name)
            .replace("{sdk}", &sdk.display().to_string())
    };
    std::fs::write(dir.join("Cargo.toml"), fill(CARGO_TOML))?;
    let code = if filter { FILTER } else { MAPPER };
    std::fs::write(dir.join("src/lib.rs"), fill(code))?;
    Ok(dir)
}
