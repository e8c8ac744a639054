//! The stretch of binlog right after a snapshot, where a change may already
//! be in the copy.
//!
//! # Why streaming after a snapshot is exact
//! A snapshot segment holds the rows of its key range as they were at its
//! consistent read's binlog position `P` (`Segment`): every transaction
//! that ends at or before `P` is in the copy, and none after. Streaming
//! starts at the smallest `P` of all segments. For each row change it
//! finds the segment of the row's primary key and applies the change only
//! if its transaction ends after that segment's `P`. Each key's target row
//! thus starts from its state at `P` and receives every later change once,
//! in order, which is exactly the source's history of that key.
//!
//! An update that moves a row to another key is a delete of the old key and
//! a write of the new one; each half follows its own key's segment, so
//! when only one half is new to the copy, only that half is applied.
//!
//! Finding the segment needs the server's key order. It is known for keys
//! of integers, DECIMAL, binary strings and temporal types; for text under
//! a collation it is not, so such a table resumes an interrupted copy only
//! if it needs no second segment (the snapshot refuses otherwise, see
//! `pipeline::snapshot`). A table copied in one segment needs no key order
//! at all: all its changes either end after its `P` or not.
//!
//! Once the stream has passed the largest `P`, every change ends after its
//! segment's position and the window is closed.

use std::cmp::Ordering;
use std::collections::HashMap;

use crate::change::{Op, RowChange, TableChanges, Value};
use crate::position::BinlogPosition;
use crate::target::Segment;

/// Snapshot segments still ahead of (or at) the stream.
#[derive(Debug, Default)]
pub struct Window {
    /// Per source database and table, its segments by `seq` (nested, so
    /// a lookup borrows the names instead of building a key).
    tables: HashMap<String, HashMap<String, Vec<Segment>>>,
    /// The largest segment position: past it, the window is closed.
    until: Option<BinlogPosition>,
}

impl Window {
    pub fn new(segments: Vec<Segment>) -> Window {
        let mut w = Window::default();
        for s in segments {
            if w.until.as_ref().is_none_or(|u| s.position > *u) {
                w.until = Some(s.position.clone());
            }
            w.tables
                .entry(s.database.clone())
                .or_default()
                .entry(s.table.clone())
                .or_default()
                .push(s);
        }
        for segs in w.tables.values_mut().flat_map(|t| t.values_mut()) {
            segs.sort_by_key(|s| s.seq);
        }
        w
    }

    /// Whether a change ending at `end` may still be in a copy.
    pub fn open_at(&self, end: &BinlogPosition) -> bool {
        self.until.as_ref().is_some_and(|u| end <= u)
    }

    /// Drop the row changes of a transaction ending at `end` that the
    /// table's copy already holds (module doc).
    pub fn filter(&self, tc: &mut TableChanges, end: &BinlogPosition) -> Result<(), String> {
        let Some(segs) = self
            .tables
            .get(&tc.schema.database)
            .and_then(|t| t.get(&tc.schema.table))
        else {
            return Ok(());
        };
        if let [only] = segs.as_slice() {
            if *end <= only.position {
                tc.rows.clear();
            }
            return Ok(());
        }
        let key = &tc.schema.key;
        let fresh = |image: &Vec<Value>| -> Result<bool, String> {
            Ok(*end > segment_of(segs, image, key)?.position)
        };
        let mut kept = Vec::with_capacity(tc.rows.len());
        for row in tc.rows.drain(..) {
            let before = row.before.as_ref().map(&fresh).transpose()?;
            let after = row.after.as_ref().map(&fresh).transpose()?;
            match (row.op, before, after) {
                (Op::Insert, _, Some(true)) | (Op::Delete, Some(true), _) => kept.push(row),
                (Op::Update, Some(true), Some(true)) => kept.push(row),
                (Op::Update, Some(true), Some(false)) => kept.push(RowChange {
                    op: Op::Delete,
                    before: row.before,
                    after: None,
                }),
                (Op::Update, Some(false), Some(true)) => kept.push(RowChange {
                    op: Op::Insert,
                    before: None,
                    after: row.after,
                }),
                _ => {}
            }
        }
        tc.rows = kept;
        Ok(())
    }
}

/// The segment holding the key (columns `key`) of `image`: the first whose
/// `upto` is at or after it, else the last.
fn segment_of<'s>(
    segs: &'s [Segment],
    image: &[Value],
    key: &[usize],
) -> Result<&'s Segment, String> {
    let (last, rest) = segs.split_last().expect("at least one segment");
    for s in rest {
        let Some(upto) = &s.upto else { continue };
        match key_cmp(key.iter().map(|&i| &image[i]), upto) {
            Some(Ordering::Less | Ordering::Equal) => return Ok(s),
            Some(Ordering::Greater) => {}
            None => {
                return Err(format!(
                    "the primary key of {}.{} cannot be ordered outside the server (text under a collation, or floating point), so a snapshot copied in several parts cannot be continued exactly",
                    s.database, s.table
                ));
            }
        }
    }
    Ok(last)
}

/// Compare two primary keys in the server's order, when that order is
/// known outside the server (module doc). `a` is borrowed cell by cell, so
/// a row's key is compared without copying it out.
pub fn key_cmp<'v>(a: impl IntoIterator<Item = &'v Value>, b: &[Value]) -> Option<Ordering> {
    let mut a = a.into_iter();
    for y in b {
        let Some(x) = a.next() else {
            return Some(Ordering::Less);
        };
        match value_cmp(x, y)? {
            Ordering::Equal => {}
            other => return Some(other),
        }
    }
    Some(if a.next().is_some() {
        Ordering::Greater
    } else {
        Ordering::Equal
    })
}

fn value_cmp(a: &Value, b: &Value) -> Option<Ordering> {
    use Value as V;
    Some(match (a, b) {
        (V::Int(x), V::Int(y)) => x.cmp(y),
        (V::UInt(x), V::UInt(y)) => x.cmp(y),
        (V::Int(x), V::UInt(y)) => i128::from(*x).cmp(&i128::from(*y)),
        (V::UInt(x), V::Int(y)) => i128::from(*x).cmp(&i128::from(*y)),
        // Binary strings compare byte by byte; BINARY(n) is padded alike
        // on both sides.
        (V::Bytes(x), V::Bytes(y)) => x.cmp(y),
        (V::Date(x), V::Date(y)) => x.cmp(y),
        (V::DateTime(x), V::DateTime(y)) => x.cmp(y),
        (V::Timestamp(x), V::Timestamp(y)) => x.cmp(y),
        (V::Time(x), V::Time(y)) => time_micros(x).cmp(&time_micros(y)),
        (V::Decimal(x), V::Decimal(y)) => decimal_cmp(x, y)?,
        _ => return None,
    })
}

fn time_micros(t: &sluice_cell::Time) -> i64 {
    let m = ((i64::from(t.hours) * 60 + i64::from(t.minutes)) * 60 + i64::from(t.seconds))
        * 1_000_000
        + i64::from(t.micros);
    if t.negative { -m } else { m }
}

/// Compare two exact decimal texts (`-12.50`) by value.
fn decimal_cmp(a: &str, b: &str) -> Option<Ordering> {
    let parse = |s: &str| -> Option<(bool, String, String)> {
        let (neg, digits) = match s.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, s),
        };
        let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
        if !int.bytes().chain(frac.bytes()).all(|c| c.is_ascii_digit()) {
            return None;
        }
        let int = int.trim_start_matches('0').to_owned();
        let frac = frac.trim_end_matches('0').to_owned();
        let zero = int.is_empty() && frac.is_empty();
        Some((neg && !zero, int, frac))
    };
    let (an, ai, af) = parse(a)?;
    let (bn, bi, bf) = parse(b)?;
    let magnitude = ai
        .len()
        .cmp(&bi.len())
        .then_with(|| ai.cmp(&bi))
        .then_with(|| af.cmp(&bf));
    Some(match (an, bn) {
        (false, false) => magnitude,
        (true, true) => magnitude.reverse(),
        (false, true) => Ordering::Greater,
        (true, false) => Ordering::Less,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::change::TableSchema;
    use std::sync::Arc;

    fn pos(p: u64) -> BinlogPosition {
        BinlogPosition {
            file: crate::position::BinlogFile::new("binlog.000001").unwrap(),
            pos: p,
        }
    }

    fn seg(seq: u32, at: u64, upto: Option<i64>, done: bool) -> Segment {
        Segment {
            database: "d".into(),
            table: "t".into(),
            seq,
            position: pos(at),
            upto: upto.map(|k| vec![Value::Int(k)]),
            rows: 0,
            done,
        }
    }

    fn changes(rows: Vec<RowChange>) -> TableChanges {
        TableChanges {
            schema: Arc::new(TableSchema {
                database: "d".into(),
                table: "t".into(),
                columns: vec!["id".into(), "v".into()],
                key: vec![0],
                target_table: None,
            }),
            rows,
        }
    }

    fn img(k: i64) -> Option<Vec<Value>> {
        Some(vec![Value::Int(k), Value::Text("x".into())])
    }

    #[test]
    fn each_key_takes_only_the_changes_after_its_segment() {
        // Keys up to 100 were copied at 1000, the rest at 2000.
        let w = Window::new(vec![
            seg(0, 1000, Some(100), false),
            seg(1, 2000, None, true),
        ]);
        let row = |op, before, after| RowChange { op, before, after };
        let mut tc = changes(vec![
            row(Op::Insert, None, img(5)),
            row(Op::Insert, None, img(500)),
            row(Op::Delete, img(100), None),
            // Moves key 50 (first segment) to 700 (second segment).
            row(Op::Update, img(50), img(700)),
        ]);
        w.filter(&mut tc, &pos(1500)).unwrap();
        assert_eq!(
            tc.rows,
            vec![
                row(Op::Insert, None, img(5)),
                row(Op::Delete, img(100), None),
                row(Op::Delete, img(50), None),
            ]
        );
        let mut tc = changes(vec![row(Op::Insert, None, img(500))]);
        w.filter(&mut tc, &pos(2500)).unwrap();
        assert_eq!(tc.rows.len(), 1);
        assert!(w.open_at(&pos(2000)));
        assert!(!w.open_at(&pos(2001)));
    }

    #[test]
    fn a_table_copied_in_one_piece_needs_no_key_order() {
        let mut s = seg(0, 1000, None, true);
        s.upto = Some(vec![Value::Text("zz".into())]);
        let w = Window::new(vec![s]);
        let text = |k: &str| Some(vec![Value::Text(k.into()), Value::Null]);
        let mut tc = changes(vec![RowChange {
            op: Op::Insert,
            before: None,
            after: text("a"),
        }]);
        w.filter(&mut tc, &pos(900)).unwrap();
        assert!(tc.rows.is_empty());
    }

    #[test]
    fn keys_compare_in_server_order() {
        use Ordering::*;
        assert_eq!(decimal_cmp("-1.50", "-1.5"), Some(Equal));
        assert_eq!(decimal_cmp("-2", "-10"), Some(Greater));
        assert_eq!(decimal_cmp("10.01", "9.99"), Some(Greater));
        assert_eq!(decimal_cmp("-0.00", "0"), Some(Equal));
        assert_eq!(decimal_cmp("0.001", "0.01"), Some(Less));
        assert_eq!(
            key_cmp(&[Value::Int(-1)], &[Value::UInt(u64::MAX)]),
            Some(Less)
        );
        assert_eq!(
            key_cmp(
                &[Value::Int(1), Value::Bytes(vec![1, 0])],
                &[Value::Int(1), Value::Bytes(vec![1])]
            ),
            Some(Greater)
        );
        assert_eq!(
            key_cmp(&[Value::Text("a".into())], &[Value::Text("B".into())]),
            None
        );
    }
}
