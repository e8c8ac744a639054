//! Bench plugin: the `active_only` filter written by hand against
//! `wit/sluice.wit`, without the SDK: it fetches the `status` column of
//! the images it needs and walks the cell encoding itself, comparing bytes
//! in place. The plugin benchmark runs it next to the SDK version to show
//! what the SDK's row view costs (issue #4: find out why if it is over
//! 30%).

wit_bindgen::generate!({
    path: "../../../wit",
    world: "filter",
    generate_all,
});

use sluice::plugin::types::Image;
use sluice_cell::{Decoder, op};

struct Plugin;

/// The status text of each row of one column image, as byte ranges.
fn texts(column: &[u8], rows: usize) -> Result<Vec<(usize, usize)>, String> {
    let mut d = Decoder::new(column).map_err(|e| e.to_string())?;
    let mut out = Vec::with_capacity(rows);
    loop {
        let at = d.position();
        if !d.skip_cell().map_err(|e| e.to_string())? {
            break;
        }
        // TEXT is tag 6, then a u32 length (see the cell crate).
        out.push(if column[at] == 6 {
            (at + 5, d.position())
        } else {
            (0, 0)
        });
    }
    if out.len() != rows {
        return Err(format!("{} cells for {rows} rows", out.len()));
    }
    Ok(out)
}

impl Guest for Plugin {
    fn init(_config: String) -> Result<(), String> {
        Ok(())
    }

    fn filter(batch: &Batch) -> Result<Vec<bool>, String> {
        let ops = batch.ops();
        let Some(status) = batch.columns().iter().position(|c| c == "status") else {
            return Ok(vec![true; ops.len()]);
        };
        let fetch = |image| batch.column_bytes(status as u32, image);
        let after = fetch(Image::After);
        let after_texts = texts(&after, ops.len())?;
        let before = ops.contains(&op::DELETE).then(|| fetch(Image::Before));
        let before_texts = before.as_deref().map(|b| texts(b, ops.len())).transpose()?;
        Ok(ops
            .iter()
            .enumerate()
            .map(|(i, &o)| {
                let (bytes, (from, to)) = match (&before, &before_texts) {
                    (Some(b), Some(t)) if o == op::DELETE => (b.as_slice(), t[i]),
                    _ => (after.as_slice(), after_texts[i]),
                };
                &bytes[from..to] != b"discontinued"
            })
            .collect())
    }
}

export!(Plugin);
