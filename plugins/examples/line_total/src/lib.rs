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

use sluice::{CellRef, RowMut};

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
/// 64-bit arithmetic when the numbers fit (wasm has no 128-bit
/// instructions, so 128-bit division is a slow library call), 128-bit
/// otherwise.
pub fn times(decimal: &str, n: i128) -> Option<String> {
    let (neg, digits) = match decimal.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, decimal),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if int.len() + frac.len() == 0 {
        return None;
    }
    let (mut small, mut big) = (0u64, None::<i128>);
    for b in int.bytes().chain(frac.bytes()) {
        if !b.is_ascii_digit() {
            return None;
        }
        let d = b - b'0';
        big = match big {
            None => match small.checked_mul(10).and_then(|v| v.checked_add(d.into())) {
                Some(v) => {
                    small = v;
                    None
                }
                None => Some(i128::from(small) * 10 + i128::from(d)),
            },
            Some(v) => Some(v.checked_mul(10)?.checked_add(d.into())?),
        };
    }
    let unscaled = big.unwrap_or(i128::from(small));
    let narrow = i64::try_from(unscaled).ok().zip(i64::try_from(n).ok());
    let mut product = match narrow.and_then(|(a, b)| a.checked_mul(b)) {
        Some(p) => i128::from(p),
        None => unscaled.checked_mul(n)?,
    };
    if neg {
        product = -product;
    }
    // The digits of |product|, least significant first, padded to at least
    // one digit before the point.
    let mut buf = [b'0'; 48];
    let mut len = 0;
    let mut push = |d: u8| {
        buf[len] = b'0' + d;
        len += 1;
    };
    match u64::try_from(product.unsigned_abs()) {
        Ok(mut small) => {
            while small > 0 {
                push((small % 10) as u8);
                small /= 10;
            }
        }
        Err(_) => {
            let mut big = product.unsigned_abs();
            while big > 0 {
                push((big % 10) as u8);
                big /= 10;
            }
        }
    }
    let scale = frac.len();
    let len = len.max(scale + 1);
    let mut out = String::with_capacity(len + 2);
    if product < 0 {
        out.push('-');
    }
    for i in (0..len).rev() {
        out.push(char::from(buf[i]));
        if i == scale && scale > 0 {
            out.push('.');
        }
    }
    Some(out)
}

#[sluice::mapper]
pub fn line_total(row: &mut RowMut) {
    let [price, quantity, into] = COLUMNS.get().expect("init ran");
    let qty = match row.get(quantity) {
        Some(CellRef::Int(i)) => Some(i128::from(i)),
        Some(CellRef::UInt(u)) => Some(i128::from(u)),
        _ => None,
    };
    match (row.get(price), qty) {
        // DECIMAL from the binlog; decimal text too (`sluice plugin test`).
        (Some(CellRef::Decimal(p) | CellRef::Text(p)), Some(q)) => {
            let total = times(p, q)
                .unwrap_or_else(|| panic!("`{p}` x {q}: not a decimal, or over 38 digits"));
            row.set_cell(into, CellRef::Decimal(&total));
        }
        _ => row.set_cell(into, CellRef::Null),
    }
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
        assert_eq!(times("5.", 3).as_deref(), Some("15"));
        assert_eq!(times("-0", 3).as_deref(), Some("0"));
        assert_eq!(times("99999999999999999999999999999999999999", 9), None);
        assert_eq!(times("1e5", 2), None);
        assert_eq!(times("", 2), None);
        assert_eq!(times("-", 2), None);
    }
}
