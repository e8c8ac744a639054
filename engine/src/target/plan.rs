//! Turning one target table's row changes of a group into few statements.
//!
//! Every change becomes *upserts* (the after image) and *deletes* (the
//! before image's key); an update that changes the key becomes a delete of
//! the old key and an upsert of the new one. Then one of two plans:
//!
//! * **Ordered** (always correct): the steps keep source order, and runs of
//!   the same kind are merged into one multi-row statement. MySQL applies a
//!   multi-row `INSERT ... ON DUPLICATE KEY UPDATE` row by row, in order, so
//!   a run behaves exactly like its rows one after another.
//! * **Collapsed** (when safe): only the last step per key is kept, then all
//!   deletes run before all upserts. With one step per key, steps on
//!   different keys touch different rows and commute, so the order no longer
//!   matters and the final state is the source's: the last state wins, and a
//!   delete followed by an insert of the same key comes out as the insert.
//!
//! Collapse is safe only when "different key" in Sluice means "different
//! row" in the target, and when reordering cannot trip another constraint:
//! * every key value is of a type whose equality is byte equality (integers,
//!   binary strings, temporals). Text keys compare under a collation (`'a'`
//!   equals `'A'`, trailing spaces are ignored), so they take the ordered plan;
//! * the target table has no unique index besides its primary key (the
//!   writer checks); otherwise two rows swapping a unique value would
//!   collide when reordered, so such tables take the ordered plan.

use std::collections::HashMap;

use crate::change::{Op, RowChange, Value};

/// What one step does to a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Insert or overwrite the row with this full image.
    Upsert,
    /// Delete the row with this image's key.
    Delete,
}

/// Rows to write with one kind of statement, in order.
#[derive(Debug, PartialEq)]
pub struct Step<'a> {
    pub kind: Kind,
    pub images: Vec<&'a [Value]>,
}

/// Plan the changes to one target table. `rows` are in source order; `key`
/// indexes the key columns; `collapse` says whether the target table
/// allows collapsing (no secondary unique index). Fails on a change without
/// the image it needs.
pub fn plan<'a>(
    rows: &[&'a RowChange],
    key: &[usize],
    collapse: bool,
) -> Result<Vec<Step<'a>>, String> {
    let mut steps = Vec::with_capacity(rows.len() + 1);
    for row in rows {
        match (row.op, &row.before, &row.after) {
            (Op::Insert, _, Some(after)) => steps.push((Kind::Upsert, after.as_slice())),
            (Op::Update, Some(before), Some(after)) => {
                if key.iter().any(|&k| before[k] != after[k]) {
                    steps.push((Kind::Delete, before.as_slice()));
                }
                steps.push((Kind::Upsert, after.as_slice()));
            }
            (Op::Delete, Some(before), _) => steps.push((Kind::Delete, before.as_slice())),
            _ => return Err(format!("{:?} change without the image it needs", row.op)),
        }
    }
    if collapse && let Some(collapsed) = collapsed(&steps, key) {
        return Ok(collapsed);
    }
    Ok(ordered(steps))
}

/// Merge runs of the same kind, keeping order.
fn ordered(steps: Vec<(Kind, &[Value])>) -> Vec<Step<'_>> {
    let mut out: Vec<Step<'_>> = Vec::new();
    for (kind, image) in steps {
        match out.last_mut() {
            Some(last) if last.kind == kind => last.images.push(image),
            _ => out.push(Step {
                kind,
                images: vec![image],
            }),
        }
    }
    out
}

/// The last step per key, deletes first; `None` when a key is not
/// byte-comparable.
fn collapsed<'a>(steps: &[(Kind, &'a [Value])], key: &[usize]) -> Option<Vec<Step<'a>>> {
    // Each key encoded once; the map holds the index of its last step.
    let keys = steps
        .iter()
        .map(|(_, image)| exact_key(image, key))
        .collect::<Option<Vec<_>>>()?;
    let mut last: HashMap<&[u8], usize> = HashMap::with_capacity(steps.len());
    for (i, k) in keys.iter().enumerate() {
        last.insert(k, i);
    }
    let mut deletes = Vec::new();
    let mut upserts = Vec::new();
    for (i, ((kind, image), k)) in steps.iter().zip(&keys).enumerate() {
        if last.get(k.as_slice()) == Some(&i) {
            match kind {
                Kind::Delete => deletes.push(*image),
                Kind::Upsert => upserts.push(*image),
            }
        }
    }
    let mut out = Vec::new();
    for (kind, images) in [(Kind::Delete, deletes), (Kind::Upsert, upserts)] {
        if !images.is_empty() {
            out.push(Step { kind, images });
        }
    }
    Some(out)
}

/// The key as bytes, when equality of the values is equality of the bytes.
fn exact_key(image: &[Value], key: &[usize]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(key.len() * 9);
    for &k in key {
        match &image[k] {
            Value::Int(i) => {
                out.push(b'i');
                out.extend_from_slice(&i.to_le_bytes());
            }
            Value::UInt(u) => {
                out.push(b'u');
                out.extend_from_slice(&u.to_le_bytes());
            }
            Value::Bytes(b) => {
                out.push(b'b');
                out.extend_from_slice(&(b.len() as u64).to_le_bytes());
                out.extend_from_slice(b);
            }
            v @ (Value::Date(_) | Value::DateTime(_) | Value::Timestamp(_) | Value::Time(_)) => {
                let text = v.to_string();
                out.push(b't');
                out.extend_from_slice(&(text.len() as u64).to_le_bytes());
                out.extend_from_slice(text.as_bytes());
            }
            // Text and DECIMAL compare by collation or numerically, floats
            // are not exact, NULL is no key.
            _ => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ins(id: i64, v: &str) -> RowChange {
        RowChange {
            op: Op::Insert,
            before: None,
            after: Some(vec![Value::Int(id), Value::Text(v.into())]),
        }
    }
    fn upd(id0: i64, id1: i64, v: &str) -> RowChange {
        RowChange {
            op: Op::Update,
            before: Some(vec![Value::Int(id0), Value::Text("?".into())]),
            after: Some(vec![Value::Int(id1), Value::Text(v.into())]),
        }
    }
    fn del(id: i64) -> RowChange {
        RowChange {
            op: Op::Delete,
            before: Some(vec![Value::Int(id), Value::Text("?".into())]),
            after: None,
        }
    }
    fn shape(steps: &[Step<'_>]) -> Vec<(Kind, Vec<String>)> {
        steps
            .iter()
            .map(|s| {
                (
                    s.kind,
                    s.images
                        .iter()
                        .map(|i| format!("{}{}", i[0], i[1]))
                        .collect(),
                )
            })
            .collect()
    }

    #[test]
    fn ordered_plan_merges_runs_and_keeps_order() {
        let rows = [
            ins(1, "a"),
            ins(2, "b"),
            del(1),
            upd(2, 3, "c"),
            ins(1, "d"),
        ];
        let refs: Vec<&RowChange> = rows.iter().collect();
        let s = plan(&refs, &[0], false).unwrap();
        assert_eq!(
            shape(&s),
            vec![
                (Kind::Upsert, vec!["1'a'".into(), "2'b'".into()]),
                (Kind::Delete, vec!["1'?'".into(), "2'?'".into()]),
                (Kind::Upsert, vec!["3'c'".into(), "1'd'".into()]),
            ]
        );
    }

    #[test]
    fn collapse_keeps_the_last_state_per_key() {
        // 1: inserted, deleted, inserted again -> upsert d.
        // 2: inserted, then its key moved to 3 -> delete 2, upsert 3.
        // 4: updated twice -> the last update.
        // 5: inserted then deleted -> a delete (harmless when absent).
        let rows = [
            ins(1, "a"),
            ins(2, "b"),
            del(1),
            upd(2, 3, "c"),
            ins(1, "d"),
            upd(4, 4, "x"),
            upd(4, 4, "y"),
            ins(5, "e"),
            del(5),
        ];
        let refs: Vec<&RowChange> = rows.iter().collect();
        let s = plan(&refs, &[0], true).unwrap();
        assert_eq!(
            shape(&s),
            vec![
                (Kind::Delete, vec!["2'?'".into(), "5'?'".into()]),
                (
                    Kind::Upsert,
                    vec!["3'c'".into(), "1'd'".into(), "4'y'".into()]
                ),
            ]
        );
    }

    #[test]
    fn text_keys_are_never_collapsed() {
        let rows = [ins(1, "a"), del(1)];
        let refs: Vec<&RowChange> = rows.iter().collect();
        // Key on the text column: the ordered plan, even when allowed.
        let s = plan(&refs, &[1], true).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].kind, Kind::Upsert);
    }

    #[test]
    fn a_change_without_its_image_is_an_error() {
        let bad = RowChange {
            op: Op::Update,
            before: None,
            after: Some(vec![Value::Int(1), Value::Null]),
        };
        assert!(plan(&[&bad], &[0], true).is_err());
    }
}
