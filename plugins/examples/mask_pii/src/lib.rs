//! Example mapper: mask personal data before it leaves the source.
//!
//! ```toml
//! [plugins.config.mask_pii]
//! email = ["email", "billing_email"]   # a***@example.com
//! phone = ["phone"]                    # ******1234 (last 4 digits kept)
//! ```
//!
//! Columns a table does not have are skipped; NULL stays NULL.

use std::sync::OnceLock;

use sluice::RowMut;

static COLUMNS: OnceLock<(Vec<String>, Vec<String>)> = OnceLock::new();

#[sluice::init]
fn setup(_config: &str) -> Result<(), String> {
    let (email, phone) = (sluice::config_list("email"), sluice::config_list("phone"));
    if email.is_empty() && phone.is_empty() {
        return Err("mask_pii needs `email` and/or `phone` column lists in its config".into());
    }
    let _ = COLUMNS.set((email, phone));
    Ok(())
}

#[sluice::mapper]
pub fn mask_pii(row: &mut RowMut) {
    let (email, phone) = COLUMNS.get().expect("init ran");
    for c in email {
        row.mask(c, sluice::mask::email);
    }
    for c in phone {
        row.mask(c, sluice::mask::phone);
    }
}
