//! The per-row view of a batch, and the edits a mapper builds with it.

use std::cell::{Cell, OnceCell, RefCell};

use sluice_cell::{CellRef, Decoder, Encoder, Value};

use crate::{BatchAccess, Edit, Image, Op};

/// One column image fetched from the host: the encoded cells and where each
/// starts.
struct Column {
    bytes: Vec<u8>,
    offsets: Vec<u32>,
}

impl Column {
    fn fetch(batch: &dyn BatchAccess, column: u32, image: Image, rows: usize) -> Column {
        let bytes = batch.fetch_column(column, image);
        let mut offsets = Vec::with_capacity(rows);
        match Decoder::new(&bytes) {
            Ok(mut d) => loop {
                let at = d.position();
                match d.skip_cell() {
                    Ok(true) => offsets.push(at as u32),
                    Ok(false) => break,
                    Err(e) => panic!("host sent a bad column {column}: {e}"),
                }
            },
            Err(e) => panic!("host sent a column this SDK cannot read: {e}"),
        }
        assert_eq!(
            offsets.len(),
            rows,
            "host sent {} cells for {rows} rows",
            offsets.len()
        );
        Column { bytes, offsets }
    }

    /// The encoded cells of rows `from..to`, as raw bytes.
    fn range(&self, from: usize, to: usize) -> &[u8] {
        let at = |row: usize| {
            self.offsets
                .get(row)
                .map_or(self.bytes.len(), |&o| o as usize)
        };
        &self.bytes[at(from)..at(to)]
    }

    #[inline]
    fn cell(&self, row: usize) -> CellRef<'_> {
        match Decoder::resume(&self.bytes, self.offsets[row] as usize).next_cell() {
            Ok(Some(c)) => c,
            Ok(None) => unreachable!("offsets were checked when the column was fetched"),
            Err(e) => panic!("host sent a bad cell in row {row}: {e}"),
        }
    }
}

/// Whether two column names are equal. Names are short: up to 16 bytes
/// are compared as two (overlapping) 8-byte words, which in wasm is a few
/// instructions where `==` calls `memcmp`, the largest single cost of a
/// name lookup.
#[inline]
fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let word = |s: &[u8], at: usize| u64::from_le_bytes(s[at..at + 8].try_into().expect("8 bytes"));
    let half = |s: &[u8], at: usize| u32::from_le_bytes(s[at..at + 4].try_into().expect("4 bytes"));
    match n {
        8..=16 => word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8),
        4..=7 => half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4),
        _ => a == b,
    }
}

/// A cached name lookup: the caller's pointer and length, the name, and
/// the column index it resolved to.
struct Lookup {
    ptr: usize,
    name: String,
    index: Option<u32>,
}

/// A batch as the SDK sees it: schema once, columns fetched on first use.
pub struct Rows<'a> {
    batch: &'a dyn BatchAccess,
    columns: Vec<String>,
    ops: Vec<Op>,
    data: Vec<OnceCell<Column>>,
    lookups: RefCell<Vec<Lookup>>,
    /// Where in `lookups` the next name is probably found.
    next_lookup: Cell<usize>,
}

impl<'a> Rows<'a> {
    pub fn new(batch: &'a dyn BatchAccess) -> Self {
        let columns = batch.fetch_columns();
        let ops = batch.fetch_ops();
        let data = (0..columns.len() * 2).map(|_| OnceCell::new()).collect();
        Rows {
            batch,
            columns,
            ops,
            data,
            lookups: RefCell::new(Vec::new()),
            next_lookup: Cell::new(0),
        }
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Column names in table order.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// Index of a column by name. Resolved by string comparison once per
    /// batch and call site; afterwards a pointer match plus a compare of
    /// the name (two words for names up to 16 bytes, see `same`).
    /// A plugin asks for the same names in the same order on every row,
    /// so the entry after the last one found is tried first.
    #[inline]
    pub fn index(&self, name: &str) -> Option<u32> {
        let ptr = name.as_ptr() as usize;
        let hit = |l: &Lookup| l.ptr == ptr && same(&l.name, name);
        {
            let lookups = self.lookups.borrow();
            let next = self.next_lookup.get();
            let found = match lookups.get(next) {
                Some(l) if hit(l) => Some(next),
                _ => lookups.iter().position(hit),
            };
            if let Some(i) = found {
                self.next_lookup
                    .set(if i + 1 == lookups.len() { 0 } else { i + 1 });
                return lookups[i].index;
            }
        }
        let index = self
            .columns
            .iter()
            .position(|c| c == name)
            .map(|i| i as u32);
        self.lookups.borrow_mut().push(Lookup {
            ptr,
            name: name.to_owned(),
            index,
        });
        self.next_lookup.set(0);
        index
    }

    #[inline]
    fn column(&self, column: u32, image: Image) -> &Column {
        let slot = column as usize * 2 + usize::from(image == Image::After);
        self.data[slot].get_or_init(|| Column::fetch(self.batch, column, image, self.ops.len()))
    }

    #[inline]
    fn cell(&self, row: usize, column: u32, image: Image) -> CellRef<'_> {
        self.column(column, image).cell(row)
    }
}

/// One row of a batch, read by column name.
#[derive(Clone, Copy)]
pub struct Row<'r, 'a> {
    rows: &'r Rows<'a>,
    index: usize,
}

impl<'r, 'a> Row<'r, 'a> {
    pub(crate) fn new(rows: &'r Rows<'a>, index: usize) -> Self {
        Row { rows, index }
    }

    /// What happened to this row.
    #[inline]
    pub fn op(&self) -> Op {
        self.rows.ops[self.index]
    }

    /// The table's column names, in order.
    pub fn columns(&self) -> &'r [String] {
        self.rows.columns()
    }

    /// The image the row has now: after for inserts and updates, before
    /// for deletes.
    #[inline]
    pub fn current_image(&self) -> Image {
        if self.op() == Op::Delete {
            Image::Before
        } else {
            Image::After
        }
    }

    /// A cell of the current image; `None` when the table has no such column.
    #[inline]
    pub fn get(&self, name: &str) -> Option<CellRef<'r>> {
        self.image(name, self.current_image())
    }

    /// A cell of the before image (NULL for inserts).
    #[inline]
    pub fn before(&self, name: &str) -> Option<CellRef<'r>> {
        self.image(name, Image::Before)
    }

    /// A cell of the after image (NULL for deletes).
    #[inline]
    pub fn after(&self, name: &str) -> Option<CellRef<'r>> {
        self.image(name, Image::After)
    }

    #[inline]
    fn image(&self, name: &str, image: Image) -> Option<CellRef<'r>> {
        let c = self.rows.index(name)?;
        Some(self.rows.cell(self.index, c, image))
    }

    /// The text of a text cell of the current image.
    #[inline]
    pub fn str(&self, name: &str) -> Option<&'r str> {
        match self.get(name)? {
            CellRef::Text(s) => Some(s),
            _ => None,
        }
    }

    /// The integer in a cell of the current image.
    #[inline]
    pub fn int(&self, name: &str) -> Option<i64> {
        match self.get(name)? {
            CellRef::Int(i) => Some(i),
            CellRef::UInt(u) => i64::try_from(u).ok(),
            _ => None,
        }
    }
}

/// What a mapper asked for, gathered over the rows of one batch.
#[derive(Default)]
pub(crate) struct EditLog {
    dropped: Vec<u32>,
    renamed: Vec<(u32, String)>,
    /// New cells, one entry per column image that any row set.
    sets: Vec<ColumnSet>,
    dropped_rows: Vec<u32>,
    target: Option<String>,
    /// Extra row changes for other tables (`emit`), in order; consecutive
    /// rows for the same table and columns share one entry.
    emitted: Vec<Emitted>,
    /// Column indexes of the row being emitted, kept to reuse the buffer.
    indexes: Vec<u32>,
}

/// The new cells of one column image, encoded as the rows are visited
/// (they are visited in order). Rows nobody set are copied from the
/// original column as raw bytes, a run at a time, so a column every row
/// sets never fetches the original, and no cell is held as a `Value`.
struct ColumnSet {
    column: u32,
    image: Image,
    cells: Encoder,
    /// Rows encoded so far.
    filled: usize,
    /// Where the cell of row `filled - 1` starts in `cells`.
    last: usize,
}

impl ColumnSet {
    fn set(&mut self, rows: &Rows<'_>, row: usize, cell: CellRef<'_>) {
        if self.filled == row + 1 {
            // The row was set before: the last set wins.
            self.cells.truncate(self.last);
            self.filled = row;
        }
        self.copy_original(rows, row);
        self.last = self.cells.len();
        self.cells.push(cell);
        self.filled = row + 1;
    }

    /// Copy the original cells of the rows from `filled` up to `to`.
    fn copy_original(&mut self, rows: &Rows<'_>, to: usize) {
        if self.filled < to {
            let original = rows.column(self.column, self.image);
            self.cells.push_encoded(original.range(self.filled, to));
            self.filled = to;
        }
    }
}

/// Emitted rows for one table, encoded as they come.
struct Emitted {
    table: String,
    columns: Vec<String>,
    key: Vec<String>,
    ops: Vec<Op>,
    before: Encoder,
    after: Encoder,
}

impl Emitted {
    fn holds<C: AsRef<str>, K: AsRef<str>>(&self, table: &str, columns: &[C], key: &[K]) -> bool {
        same(&self.table, table)
            && self.columns.len() == columns.len()
            && self
                .columns
                .iter()
                .zip(columns)
                .all(|(o, c)| same(o, c.as_ref()))
            && self.key.len() == key.len()
            && self.key.iter().zip(key).all(|(o, k)| same(o, k.as_ref()))
    }
}

/// One row of a batch, readable like [`Row`] and editable.
pub struct RowMut<'r, 'a> {
    row: Row<'r, 'a>,
    log: &'r mut EditLog,
}

impl<'r, 'a> std::ops::Deref for RowMut<'r, 'a> {
    type Target = Row<'r, 'a>;
    fn deref(&self) -> &Self::Target {
        &self.row
    }
}

impl<'r, 'a> RowMut<'r, 'a> {
    pub(crate) fn new(rows: &'r Rows<'a>, index: usize, log: &'r mut EditLog) -> Self {
        RowMut {
            row: Row::new(rows, index),
            log,
        }
    }

    fn known(&self, name: &str, what: &str) -> u32 {
        self.row
            .rows
            .index(name)
            .unwrap_or_else(|| panic!("{what}: the table has no column `{name}`"))
    }

    /// Drop a column from the batch (every row: columns belong to the table).
    /// Does nothing if the table has no such column.
    pub fn drop_column(&mut self, name: &str) {
        if let Some(c) = self.row.rows.index(name)
            && !self.log.dropped.contains(&c)
        {
            self.log.dropped.push(c);
        }
    }

    /// Rename a column of the batch. Does nothing if the table has no such
    /// column.
    pub fn rename_column(&mut self, from: &str, to: &str) {
        if let Some(c) = self.row.rows.index(from)
            && !self.log.renamed.iter().any(|(rc, _)| *rc == c)
        {
            self.log.renamed.push((c, to.to_owned()));
        }
    }

    /// Set a cell of the current image (after for inserts and updates, before
    /// for deletes). Panics if the table has no such column.
    pub fn set(&mut self, name: &str, value: Value) {
        self.set_cell(name, value.as_cell());
    }

    /// [`RowMut::set`] from a borrowed cell, e.g.
    /// `row.set_cell("code", CellRef::Text(&buf))`: nothing is allocated to
    /// hold it, the cell is encoded straight into the column's edit.
    pub fn set_cell(&mut self, name: &str, cell: CellRef<'_>) {
        let column = self.known(name, "set");
        let image = self.row.current_image();
        let rows = self.row.rows;
        let sets = &mut self.log.sets;
        let at = match sets
            .iter()
            .position(|s| s.column == column && s.image == image)
        {
            Some(at) => at,
            None => {
                sets.push(ColumnSet {
                    column,
                    image,
                    cells: Encoder::with_capacity(rows.len() * 16 + 1),
                    filled: 0,
                    last: 0,
                });
                sets.len() - 1
            }
        };
        sets[at].set(rows, self.row.index, cell);
    }

    /// Replace a text cell of the current image by `mask` of it (see
    /// [`crate::mask`]), e.g. `row.mask("email", sluice::mask::email)`.
    /// A NULL, a non-text cell or a column the table does not have is left
    /// alone, so one mapper can serve tables with and without the column.
    pub fn mask(&mut self, name: &str, mask: fn(&str) -> String) {
        if let Some(v) = self.str(name).map(mask) {
            self.set_cell(name, CellRef::Text(&v));
        }
    }

    /// Drop this row change.
    pub fn drop_row(&mut self) {
        self.log.dropped_rows.push(self.row.index as u32);
    }

    /// Emit an extra row change into another target table, besides this
    /// one (fan-out): `columns` name its cells, `key` its primary key, and
    /// it carries the images its op needs (before for updates and deletes,
    /// after for inserts and updates), one cell per column, for example
    /// `row.before("id")` or `value.as_cell()`. Panics when an image the op
    /// needs is missing or has the wrong number of cells.
    pub fn emit<C: AsRef<str>, K: AsRef<str>>(
        &mut self,
        table: &str,
        op: Op,
        columns: &[C],
        key: &[K],
        before: Option<&[CellRef<'_>]>,
        after: Option<&[CellRef<'_>]>,
    ) {
        let before = checked(table, op, columns.len(), before, op != Op::Insert, "before");
        let after = checked(table, op, columns.len(), after, op != Op::Delete, "after");
        let e = self.emitting(table, columns, key);
        e.ops.push(op);
        for (cells, enc) in [(before, &mut e.before), (after, &mut e.after)] {
            for &cell in cells.unwrap_or_default() {
                enc.push(cell);
            }
        }
    }

    /// Emit this change, cut down to `columns` of this row, into another
    /// target table with primary key `key`: the same op, and the images it
    /// needs. The cells are copied as they are, without decoding them.
    /// Returns false, emitting nothing, when the table lacks one of the
    /// columns.
    pub fn emit_columns<C: AsRef<str>, K: AsRef<str>>(
        &mut self,
        table: &str,
        columns: &[C],
        key: &[K],
    ) -> bool {
        let rows = self.row.rows;
        let mut indexes = std::mem::take(&mut self.log.indexes);
        indexes.clear();
        for c in columns {
            match rows.index(c.as_ref()) {
                Some(i) => indexes.push(i),
                None => {
                    self.log.indexes = indexes;
                    return false;
                }
            }
        }
        let (row, op) = (self.row.index, self.row.op());
        let e = self.emitting(table, columns, key);
        e.ops.push(op);
        for (image, needed, enc) in [
            (Image::Before, op != Op::Insert, &mut e.before),
            (Image::After, op != Op::Delete, &mut e.after),
        ] {
            if needed {
                for &c in &indexes {
                    enc.push_encoded(rows.column(c, image).range(row, row + 1));
                }
            }
        }
        self.log.indexes = indexes;
        true
    }

    /// The emitted rows to add to: the last ones if they are for the same
    /// table, columns and key, else a new entry.
    fn emitting<C: AsRef<str>, K: AsRef<str>>(
        &mut self,
        table: &str,
        columns: &[C],
        key: &[K],
    ) -> &mut Emitted {
        let emitted = &mut self.log.emitted;
        if !emitted.last().is_some_and(|e| e.holds(table, columns, key)) {
            emitted.push(Emitted {
                table: table.to_owned(),
                columns: columns.iter().map(|c| c.as_ref().to_owned()).collect(),
                key: key.iter().map(|c| c.as_ref().to_owned()).collect(),
                ops: Vec::new(),
                before: Encoder::new(),
                after: Encoder::new(),
            });
        }
        emitted.last_mut().expect("pushed above")
    }

    /// Send the batch to this target table instead of the pipeline's
    /// `target_table`.
    pub fn set_table(&mut self, table: &str) {
        if self.log.target.as_deref() != Some(table) {
            self.log.target = Some(table.to_owned());
        }
    }
}

/// The image an emitted row's op needs (`None` when it needs none);
/// panics, naming the table, when it is missing or the wrong size.
fn checked<'c, 'v>(
    table: &str,
    op: Op,
    columns: usize,
    image: Option<&'c [CellRef<'v>]>,
    needed: bool,
    which: &str,
) -> Option<&'c [CellRef<'v>]> {
    let cells = match (needed, image) {
        (false, _) => return None,
        (true, None) => panic!("emit into `{table}`: a {op:?} needs a {which} image"),
        (true, Some(cells)) => cells,
    };
    assert_eq!(
        cells.len(),
        columns,
        "emit into `{table}`: the {which} image has {} cells for {columns} columns",
        cells.len()
    );
    Some(cells)
}

impl EditLog {
    /// The edits for the host: one `set-cells` per column image that any
    /// row set (holding every row; unchanged rows keep their cell), one
    /// `emit-rows` per run of emitted rows for the same table.
    pub(crate) fn into_edits(self, rows: &Rows<'_>) -> Vec<Edit> {
        let mut edits = Vec::new();
        for mut set in self.sets {
            set.copy_original(rows, rows.len());
            edits.push(Edit::SetCells {
                column: set.column,
                image: set.image,
                cells: set.cells.finish(),
            });
        }
        edits.extend(
            self.renamed
                .into_iter()
                .map(|(column, name)| Edit::RenameColumn { column, name }),
        );
        edits.extend(self.dropped.into_iter().map(Edit::DropColumn));
        edits.extend(self.dropped_rows.into_iter().map(Edit::DropRow));
        edits.extend(self.target.map(Edit::SetTargetTable));
        edits.extend(self.emitted.into_iter().map(|e| Edit::EmitRows {
            table: e.table,
            columns: e.columns,
            key: e.key,
            ops: e.ops,
            before: e.before.finish(),
            after: e.after.finish(),
        }));
        edits
    }
}

#[cfg(test)]
mod tests {
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
}
