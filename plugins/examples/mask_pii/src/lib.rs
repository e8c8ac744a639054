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

use sluice::{RowMut, Value};

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

/// `ann@example.com` -> `a***@example.com`; text without `@` -> `***`.
pub fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".to_owned(),
    }
}

/// Every character but the last four digits becomes `*`.
pub fn mask_phone(phone: &str) -> String {
    let digits: Vec<char> = phone.chars().filter(char::is_ascii_digit).collect();
    let keep = digits.len().saturating_sub(4);
    let tail: String = digits[keep..].iter().collect();
    format!("{}{tail}", "*".repeat(keep))
}

#[sluice::mapper]
pub fn mask_pii(row: &mut RowMut) {
    let (email, phone) = COLUMNS.get().expect("init ran");
    for (columns, mask) in [
        (email, mask_email as fn(&str) -> String),
        (phone, mask_phone),
    ] {
        for c in columns {
            if let Some(v) = row.str(c).map(mask) {
                row.set(c, Value::Text(v));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks() {
        assert_eq!(mask_email("ann@example.com"), "a***@example.com");
        assert_eq!(mask_email("nobody"), "***");
        assert_eq!(mask_phone("+49 (30) 1234-5678"), "********5678");
        assert_eq!(mask_phone("12"), "12");
    }
}
