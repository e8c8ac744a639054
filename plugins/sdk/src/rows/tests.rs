use std::cell::RefCell;

use super::*;
use crate::{BatchAccess, Edit, Image, Op, RowMut};

/// A batch of five updates of columns `a`, `b`, `c` whose after image
/// holds `a0`, `b0`, ... as text; it records which columns were fetched.
struct Batch {
    fetched: RefCell<Vec<(u32, Image)>>,
}

const COLUMNS: [&str; 3] = ["a", "b", "c"];

fn cell(column: u32, row: usize) -> Value {
    Value::Text(format!("{}{row}", COLUMNS[column as usize]))
}

impl BatchAccess for Batch {
    fn fetch_columns(&self) -> Vec<String> {
        COLUMNS.iter().map(|c| c.to_string()).collect()
    }
    fn fetch_ops(&self) -> Vec<Op> {
        vec![Op::Update; 5]
    }
    fn fetch_column(&self, column: u32, image: Image) -> Vec<u8> {
        self.fetched.borrow_mut().push((column, image));
        let mut e = Encoder::new();
        for row in 0..5 {
            e.push(cell(column, row).as_cell());
        }
        e.finish()
    }
}

fn decode(cells: &[u8]) -> Vec<Value> {
    let mut out = Vec::new();
    Decoder::new(cells).unwrap().read_all(5, &mut out).unwrap();
    out.iter().map(CellRef::to_value).collect()
}

fn sets(row: &mut RowMut) {
    let i = row.index;
    if i == 1 || i == 3 {
        row.set("b", Value::Int(i as i64));
    }
    if i == 3 {
        row.set_cell("b", CellRef::Text("last"));
    }
    row.set_cell("c", CellRef::Null);
}

#[test]
fn sets_keep_unchanged_rows_the_last_set_wins_and_a_fully_set_column_is_not_fetched() {
    let batch = Batch {
        fetched: RefCell::new(Vec::new()),
    };
    let edits = crate::__rt::map(&batch, sets).unwrap();
    let [
        // In the order the columns were first set.
        Edit::SetCells {
            column: 2,
            image: Image::After,
            cells: c,
        },
        Edit::SetCells {
            column: 1,
            image: Image::After,
            cells: b,
        },
    ] = &edits[..]
    else {
        panic!("unexpected edits {edits:?}");
    };
    assert_eq!(
        decode(b),
        vec![
            cell(1, 0),
            Value::Int(1),
            cell(1, 2),
            Value::Text("last".into()),
            cell(1, 4)
        ]
    );
    assert_eq!(decode(c), vec![Value::Null; 5]);
    assert_eq!(*batch.fetched.borrow(), vec![(1, Image::After)]);
}

fn emits(row: &mut RowMut) {
    let i = row.index;
    let a = row.after("a").unwrap();
    let table = if i == 4 { "other" } else { "copy" };
    let op = if i == 2 { Op::Insert } else { Op::Update };
    let before = (op != Op::Insert).then(|| vec![row.before("a").unwrap()]);
    row.emit(table, op, &["a"], &["a"], before.as_deref(), Some(&[a]));
}

#[test]
fn emitted_rows_for_one_table_travel_together_with_the_images_their_ops_need() {
    let batch = Batch {
        fetched: RefCell::new(Vec::new()),
    };
    let edits = crate::__rt::map(&batch, emits).unwrap();
    let [
        Edit::EmitRows {
            table: t1,
            ops: ops1,
            before: b1,
            after: a1,
            ..
        },
        Edit::EmitRows {
            table: t2,
            ops: ops2,
            ..
        },
    ] = &edits[..]
    else {
        panic!("unexpected edits {edits:?}");
    };
    assert_eq!((t1.as_str(), t2.as_str()), ("copy", "other"));
    assert_eq!(ops1, &[Op::Update, Op::Update, Op::Insert, Op::Update]);
    assert_eq!(ops2, &[Op::Update]);
    let cells = |b: &[u8]| {
        let mut out = Vec::new();
        let mut d = Decoder::new(b).unwrap();
        while let Some(c) = d.next_cell().unwrap() {
            out.push(c.to_value());
        }
        out
    };
    // Three updates have a before image; all four have an after image.
    assert_eq!(cells(b1), vec![cell(0, 0), cell(0, 1), cell(0, 3)]);
    assert_eq!(
        cells(a1),
        vec![cell(0, 0), cell(0, 1), cell(0, 2), cell(0, 3)]
    );
}

#[test]
fn names_compare_equal_exactly_when_they_are() {
    let names = [
        "",
        "a",
        "ab",
        "abc",
        "abcd",
        "abce",
        "price",
        "prics",
        "status",
        "statuz",
        "weight_g",
        "weight_h",
        "cost_price",
        "cost_prize",
        "created_at_utc_x",
        "created_at_utc_y",
        "a_much_longer_column_name",
        "a_much_longer_column_namf",
    ];
    for a in names {
        for b in names {
            assert_eq!(same(a, b), a == b, "{a:?} {b:?}");
        }
    }
}

fn copies(row: &mut RowMut) {
    assert!(!row.emit_columns("copy", &["c", "missing"], &["c"]));
    assert!(row.emit_columns("copy", &["c", "a"], &["c"]));
}

#[test]
fn emitted_columns_are_this_rows_cells_copied() {
    let batch = Batch {
        fetched: RefCell::new(Vec::new()),
    };
    let edits = crate::__rt::map(&batch, copies).unwrap();
    let [
        Edit::EmitRows {
            table,
            columns,
            key,
            ops,
            before,
            after,
        },
    ] = &edits[..]
    else {
        panic!("unexpected edits {edits:?}");
    };
    assert_eq!(
        (table.as_str(), &columns[..], &key[..]),
        (
            "copy",
            &["c".to_string(), "a".to_string()][..],
            &["c".to_string()][..]
        )
    );
    assert_eq!(ops, &vec![Op::Update; 5]);
    let expected: Vec<Value> = (0..5).flat_map(|r| [cell(2, r), cell(0, r)]).collect();
    for image in [before, after] {
        let mut out = Vec::new();
        Decoder::new(image).unwrap().read_all(10, &mut out).unwrap();
        assert_eq!(
            out.iter().map(CellRef::to_value).collect::<Vec<_>>(),
            expected
        );
    }
}

fn emits_without_before(row: &mut RowMut) {
    row.emit("copy", Op::Delete, &["a"], &["a"], None, None);
}

#[test]
#[should_panic(expected = "a Delete needs a before image")]
fn an_emit_without_the_image_its_op_needs_panics_with_why() {
    let batch = Batch {
        fetched: RefCell::new(Vec::new()),
    };
    let _ = crate::__rt::map(&batch, emits_without_before);
}
