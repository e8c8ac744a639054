//! The per-row view of a batch, and the edits a mapper builds with it.

use std::cell::{OnceCell, RefCell};
use std::collections::BTreeMap;

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
                match d.next_cell() {
                    Ok(Some(_)) => offsets.push(at as u32),
                    Ok(None) => break,
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

    fn cell(&self, row: usize) -> CellRef<'_> {
        match Decoder::resume(&self.bytes, self.offsets[row] as usize).next_cell() {
            Ok(Some(c)) => c,
            _ => unreachable!("offsets were checked when the column was fetched"),
        }
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
    /// batch and call site; afterwards a pointer match plus one memcmp.
    pub fn index(&self, name: &str) -> Option<u32> {
        let ptr = name.as_ptr() as usize;
        if let Some(l) = self
            .lookups
            .borrow()
            .iter()
            .find(|l| l.ptr == ptr && l.name == name)
        {
            return l.index;
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
        index
    }

    fn column(&self, column: u32, image: Image) -> &Column {
        let slot = column as usize * 2 + usize::from(image == Image::After);
        self.data[slot].get_or_init(|| Column::fetch(self.batch, column, image, self.ops.len()))
    }

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
    pub fn op(&self) -> Op {
        self.rows.ops[self.index]
    }

    /// The table's column names, in order.
    pub fn columns(&self) -> &'r [String] {
        self.rows.columns()
    }

    /// The image the row has now: after for inserts and updates, before
    /// for deletes.
    pub fn current_image(&self) -> Image {
        if self.op() == Op::Delete {
            Image::Before
        } else {
            Image::After
        }
    }

    /// A cell of the current image; `None` when the table has no such column.
    pub fn get(&self, name: &str) -> Option<CellRef<'r>> {
        self.image(name, self.current_image())
    }

    /// A cell of the before image (NULL for inserts).
    pub fn before(&self, name: &str) -> Option<CellRef<'r>> {
        self.image(name, Image::Before)
    }

    /// A cell of the after image (NULL for deletes).
    pub fn after(&self, name: &str) -> Option<CellRef<'r>> {
        self.image(name, Image::After)
    }

    fn image(&self, name: &str, image: Image) -> Option<CellRef<'r>> {
        let c = self.rows.index(name)?;
        Some(self.rows.cell(self.index, c, image))
    }

    /// The text of a text cell of the current image.
    pub fn str(&self, name: &str) -> Option<&'r str> {
        match self.get(name)? {
            CellRef::Text(s) => Some(s),
            _ => None,
        }
    }

    /// The integer in a cell of the current image.
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
    /// Cells set, per (column, image): (row, value), in row order.
    sets: BTreeMap<(u32, bool), Vec<(usize, Value)>>,
    dropped_rows: Vec<u32>,
    target: Option<String>,
    /// Extra row changes for other tables (`emit`), in order.
    emitted: Vec<Edit>,
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
        let c = self.known(name, "set");
        let after = self.row.current_image() == Image::After;
        self.log
            .sets
            .entry((c, after))
            .or_default()
            .push((self.row.index, value));
    }

    /// Replace a text cell of the current image by `mask` of it (see
    /// [`crate::mask`]), e.g. `row.mask("email", sluice::mask::email)`.
    /// A NULL, a non-text cell or a column the table does not have is left
    /// alone, so one mapper can serve tables with and without the column.
    pub fn mask(&mut self, name: &str, mask: fn(&str) -> String) {
        if let Some(v) = self.str(name).map(mask) {
            self.set(name, Value::Text(v));
        }
    }

    /// Drop this row change.
    pub fn drop_row(&mut self) {
        self.log.dropped_rows.push(self.row.index as u32);
    }

    /// Emit an extra row change into another target table, besides this
    /// one (fan-out): `columns` name its cells, `key` its primary key, and
    /// it carries the images its op needs (before for updates and deletes,
    /// after for inserts and updates), one value per column.
    pub fn emit(
        &mut self,
        table: &str,
        op: Op,
        columns: &[&str],
        key: &[&str],
        before: Option<&[Value]>,
        after: Option<&[Value]>,
    ) {
        let encode = |img: Option<&[Value]>| {
            let mut enc = Encoder::new();
            for v in img.unwrap_or_default() {
                enc.push(v.as_cell());
            }
            enc.finish()
        };
        self.log.emitted.push(Edit::EmitRow {
            table: table.to_owned(),
            op,
            columns: columns.iter().map(|c| c.to_string()).collect(),
            key: key.iter().map(|c| c.to_string()).collect(),
            before: encode(before),
            after: encode(after),
        });
    }

    /// Send the batch to this target table instead of the pipeline's
    /// `target_table`.
    pub fn set_table(&mut self, table: &str) {
        if self.log.target.as_deref() != Some(table) {
            self.log.target = Some(table.to_owned());
        }
    }
}

impl EditLog {
    /// The edits for the host. Cell sets become one `set-cells` per column
    /// image, holding every row (unchanged rows keep their cell).
    pub(crate) fn into_edits(self, rows: &Rows<'_>) -> Vec<Edit> {
        let mut edits = Vec::new();
        for ((column, after), sets) in self.sets {
            let image = if after { Image::After } else { Image::Before };
            let original = rows.column(column, image);
            let mut enc = Encoder::with_capacity(original.bytes.len() + 16);
            let mut sets = sets.into_iter().peekable();
            for r in 0..rows.len() {
                let mut value = None;
                while let Some((_, v)) = sets.next_if(|(row, _)| *row == r) {
                    value = Some(v); // the last set of a row wins
                }
                match &value {
                    Some(v) => enc.push(v.as_cell()),
                    None => enc.push(original.cell(r)),
                }
            }
            edits.push(Edit::SetCells {
                column,
                image,
                cells: enc.finish(),
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
        edits.extend(self.emitted);
        edits
    }
}
