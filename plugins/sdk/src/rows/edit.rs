//! The edits a mapper builds: `RowMut` records cell changes, drops,
//! renames and emitted rows into the batch's `EditLog`, checked as they
//! are made.

use super::*;

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
