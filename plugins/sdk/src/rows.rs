//! The per-row view of a batch, and the edits a mapper builds with it.

use std::cell::{Cell, OnceCell, RefCell};

use sluice_cell::{CellRef, Decoder, Encoder, Value};

use crate::{BatchAccess, Edit, Image, Op};

mod edit;
#[cfg(test)]
mod tests;

pub(crate) use edit::EditLog;
pub use edit::RowMut;

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
