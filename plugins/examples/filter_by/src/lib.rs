//! Example filter: keep the rows that match a predicate from the config,
//!
//! ```toml
//! [plugins.config.filter_by]
//! column = "status"
//! op = "!="          # = != < <= > >=
//! value = "discontinued"
//! ```
//!
//! Both sides compare as numbers when both parse as numbers (DECIMAL text
//! included), otherwise as text. NULL matches nothing, as in SQL. Rows of
//! tables without the column pass untouched.

use std::cmp::Ordering;
use std::sync::OnceLock;

use sluice::{CellRef, Row};

struct Rule {
    column: String,
    /// The orderings of cell against value that keep a row.
    keeps: [bool; 3],
    value: String,
    /// `value` as a number, when it is one: then cells compare numerically.
    number: Option<f64>,
}

static RULE: OnceLock<Rule> = OnceLock::new();

#[sluice::init]
fn setup(_config: &str) -> Result<(), String> {
    let need = |k: &str| {
        sluice::config_value(k).ok_or_else(|| format!("filter_by needs `{k}` in its config"))
    };
    let op = need("op")?;
    // Less, Equal, Greater: which of them keep the row.
    let keeps = match op.as_str() {
        "=" => [false, true, false],
        "!=" => [true, false, true],
        "<" => [true, false, false],
        "<=" => [true, true, false],
        ">" => [false, false, true],
        ">=" => [false, true, true],
        _ => return Err(format!("op `{op}` is not one of = != < <= > >=")),
    };
    let value = need("value")?;
    let rule = Rule {
        column: need("column")?,
        keeps,
        number: value.parse().ok(),
        value,
    };
    let _ = RULE.set(rule);
    Ok(())
}

/// How a cell compares with the rule's value; `None` for NULL. Text is
/// compared in place, numbers as numbers when the rule's value is one.
fn compare(cell: CellRef<'_>, rule: &Rule) -> Option<Ordering> {
    let number = |x: f64| {
        Some(match rule.number {
            Some(n) => x.partial_cmp(&n).unwrap_or(Ordering::Less),
            None => x.to_string().as_str().cmp(rule.value.as_str()),
        })
    };
    match cell {
        CellRef::Null => None,
        CellRef::Int(i) => number(i as f64),
        CellRef::UInt(u) => number(u as f64),
        CellRef::Double(f) => number(f),
        CellRef::Float(f) => number(f64::from(f)),
        CellRef::Decimal(s) | CellRef::Text(s) | CellRef::Json(s) => {
            match rule.number.map(|n| (n, s.parse::<f64>())) {
                Some((n, Ok(x))) => Some(x.partial_cmp(&n).unwrap_or(Ordering::Less)),
                // For = and != only equality matters, and texts of
                // different lengths differ without reading them.
                _ if rule.keeps[0] == rule.keeps[2] => Some(if s == rule.value {
                    Ordering::Equal
                } else {
                    Ordering::Less
                }),
                _ => Some(s.cmp(rule.value.as_str())),
            }
        }
        other => Some(
            other
                .to_value()
                .to_string()
                .trim_matches('\'')
                .cmp(rule.value.as_str()),
        ),
    }
}

#[sluice::filter]
pub fn filter_by(row: &Row) -> bool {
    let rule = RULE.get().expect("init ran");
    let Some(cell) = row.get(&rule.column) else {
        return true;
    };
    let Some(order) = compare(cell, rule) else {
        return false;
    };
    rule.keeps[(order as i8 + 1) as usize] // Less = -1, Equal = 0, Greater = 1
}
