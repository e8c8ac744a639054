//! Example mapper: a computed column, exact. `into = price × quantity`,
//! where `price` is a DECIMAL (exact text, never a float) and `quantity` an
//! integer; the result keeps the price's scale.
//!
//! ```toml
//! [plugins.config.line_total]
//! price = "unit_price"
//! quantity = "qty"
//! into = "line_total"      # a DECIMAL column of the table
//! ```
//!
//! Rows whose price or quantity is NULL get NULL. A product too large for
//! 38 digits fails the call (the pipeline's `on_error` decides).

use std::sync::OnceLock;

use sluice::{CellRef, RowMut, Value};

static COLUMNS: OnceLock<[String; 3]> = OnceLock::new();

#[sluice::init]
fn setup(_config: &str) -> Result<(), String> {
    let need = |k: &str| {
        sluice::config_value(k).ok_or_else(|| format!("line_total needs `{k}` in its config"))
    };
    let _ = COLUMNS.set([need("price")?, need("quantity")?, need("into")?]);
    Ok(())
}

/// `decimal` × `n`, exactly, as decimal text with the same scale.
pub fn times(decimal: &str, n: i128) -> Option<String> {
    let (neg, digits) = match decimal.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, decimal),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let unscaled: i128 = format!("{int}{frac}").parse().ok()?;
    let mut product = unscaled.checked_mul(n)?;
    if neg {
        product = -product;
    }
    let sign = if product < 0 { "-" } else { "" };
    let abs = product.unsigned_abs().to_string();
    let scale = frac.len();
    if scale == 0 {
        return Some(format!("{sign}{abs}"));
    }
    let padded = format!("{abs:0>width$}", width = scale + 1);
    let (i, f) = padded.split_at(padded.len() - scale);
    Some(format!("{sign}{i}.{f}"))
}

#[sluice::mapper]
pub fn line_total(row: &mut RowMut) {
    let [price, quantity, into] = COLUMNS.get().expect("init ran");
    let qty = match row.get(quantity) {
        Some(CellRef::Int(i)) => Some(i128::from(i)),
        Some(CellRef::UInt(u)) => Some(i128::from(u)),
        _ => None,
    };
    let total = match (row.get(price), qty) {
        // DECIMAL from the binlog; decimal text too (`sluice plugin test`).
        (Some(CellRef::Decimal(p) | CellRef::Text(p)), Some(q)) => Value::Decimal(
            times(p, q).unwrap_or_else(|| panic!("`{p}` x {q}: not a decimal, or over 38 digits")),
        ),
        _ => Value::Null,
    };
    row.set(into, total);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_products() {
        assert_eq!(times("19.99", 3).as_deref(), Some("59.97"));
        assert_eq!(times("-0.05", 7).as_deref(), Some("-0.35"));
        assert_eq!(times("0.10", 0).as_deref(), Some("0.00"));
        assert_eq!(times("12", -2).as_deref(), Some("-24"));
        assert_eq!(
            times("99999999999999999999.9999999999", 3).as_deref(),
            Some("299999999999999999999.9999999997")
        );
    }
}
