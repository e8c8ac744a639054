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
    op: String,
    value: String,
}

static RULE: OnceLock<Rule> = OnceLock::new();

#[sluice::init]
fn setup(_config: &str) -> Result<(), String> {
    let need = |k: &str| {
        sluice::config_value(k).ok_or_else(|| format!("filter_by needs `{k}` in its config"))
    };
    let rule = Rule {
        column: need("column")?,
        op: need("op")?,
        value: need("value")?,
    };
    if !["=", "!=", "<", "<=", ">", ">="].contains(&rule.op.as_str()) {
        return Err(format!("op `{}` is not one of = != < <= > >=", rule.op));
    }
    let _ = RULE.set(rule);
    Ok(())
}

/// A cell as text for comparing; `None` for NULL.
fn text(cell: CellRef<'_>) -> Option<String> {
    Some(match cell {
        CellRef::Null => return None,
        CellRef::Int(i) => i.to_string(),
        CellRef::UInt(u) => u.to_string(),
        CellRef::Double(f) => f.to_string(),
        CellRef::Float(f) => f.to_string(),
        CellRef::Decimal(s) | CellRef::Text(s) | CellRef::Json(s) => s.to_owned(),
        other => other.to_value().to_string().trim_matches('\'').to_owned(),
    })
}

#[sluice::filter]
pub fn filter_by(row: &Row) -> bool {
    let rule = RULE.get().expect("init ran");
    let Some(cell) = row.get(&rule.column) else {
        return true;
    };
    let Some(left) = text(cell) else {
        return false;
    };
    let order = match (left.parse::<f64>(), rule.value.parse::<f64>()) {
        (Ok(a), Ok(b)) => a.partial_cmp(&b).unwrap_or(Ordering::Less),
        _ => left.as_str().cmp(rule.value.as_str()),
    };
    match rule.op.as_str() {
        "=" => order == Ordering::Equal,
        "!=" => order != Ordering::Equal,
        "<" => order == Ordering::Less,
        "<=" => order != Ordering::Greater,
        ">" => order == Ordering::Greater,
        _ => order != Ordering::Less,
    }
}
