//! Test plugin: a mapper that writes its own version into column `stamp`.
//! The version is the 12 bytes `stamp-v00001` in the data segment; the hot
//! reload test makes versions 2, 3, ... by replacing those bytes in the
//! compiled file, so each file is a distinct plugin version that says which
//! one it is.

use sluice::{RowMut, Value};

static VERSION: &[u8; 12] = b"stamp-v00001";

#[sluice::mapper]
pub fn version_stamp(row: &mut RowMut) {
    // Read through black_box so the bytes stay data, not folded into code.
    let v = std::hint::black_box(VERSION);
    row.set(
        "stamp",
        Value::Text(String::from_utf8_lossy(v).into_owned()),
    );
}
