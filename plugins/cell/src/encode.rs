//! Writing a column in the cell encoding (format in the crate doc).

use super::*;

/// Writes a column in the cell encoding.
#[derive(Debug)]
pub struct Encoder {
    buf: Vec<u8>,
}

impl Default for Encoder {
    fn default() -> Self {
        Self::new()
    }
}

impl Encoder {
    /// An empty column (the version byte only).
    pub fn new() -> Self {
        Self::with_capacity(64)
    }

    /// An empty column with room for `bytes` bytes.
    pub fn with_capacity(bytes: usize) -> Self {
        let mut buf = Vec::with_capacity(bytes.max(1));
        buf.push(VERSION);
        Encoder { buf }
    }

    /// Append one cell.
    pub fn push(&mut self, cell: CellRef<'_>) {
        let b = &mut self.buf;
        match cell {
            CellRef::Null => b.push(NULL),
            CellRef::Int(v) => {
                b.push(INT);
                b.extend_from_slice(&v.to_le_bytes());
            }
            CellRef::UInt(v) => {
                b.push(UINT);
                b.extend_from_slice(&v.to_le_bytes());
            }
            CellRef::Double(v) => {
                b.push(DOUBLE);
                b.extend_from_slice(&v.to_le_bytes());
            }
            CellRef::Float(v) => {
                b.push(FLOAT);
                b.extend_from_slice(&v.to_le_bytes());
            }
            CellRef::Decimal(s) => push_bytes(b, DECIMAL, s.as_bytes()),
            CellRef::Text(s) => push_bytes(b, TEXT, s.as_bytes()),
            CellRef::Bytes(s) => push_bytes(b, BYTES, s),
            CellRef::Json(s) => push_bytes(b, JSON, s.as_bytes()),
            CellRef::Date(d) => {
                b.push(DATE);
                push_date(b, d);
            }
            CellRef::Time(t) => {
                b.push(TIME);
                b.push(u8::from(t.negative));
                b.extend_from_slice(&t.hours.to_le_bytes());
                b.extend_from_slice(&[t.minutes, t.seconds]);
                b.extend_from_slice(&t.micros.to_le_bytes());
            }
            CellRef::DateTime(t) => {
                b.push(DATETIME);
                push_date(b, t.date);
                b.extend_from_slice(&[t.hour, t.minute, t.second]);
                b.extend_from_slice(&t.micros.to_le_bytes());
            }
            CellRef::Timestamp(t) => {
                b.push(TIMESTAMP);
                b.extend_from_slice(&t.seconds.to_le_bytes());
                b.extend_from_slice(&t.micros.to_le_bytes());
            }
        }
    }

    /// Bytes written so far, version byte included; a cell pushed next
    /// starts here.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether no cell has been pushed yet.
    pub fn is_empty(&self) -> bool {
        self.buf.len() == 1
    }

    /// Forget the cells from byte `len` on (an offset [`Encoder::len`]
    /// returned): take back the last cells pushed.
    pub fn truncate(&mut self, len: usize) {
        self.buf.truncate(len.max(1));
    }

    /// Append cells that are already encoded: a run of whole cells cut
    /// from another column of this version (no version byte). The caller
    /// vouches for the bytes; a decoder still checks them.
    pub fn push_encoded(&mut self, cells: &[u8]) {
        self.buf.extend_from_slice(cells);
    }

    /// The encoded column.
    pub fn finish(self) -> Vec<u8> {
        self.buf
    }
}

fn push_bytes(b: &mut Vec<u8>, tag: u8, s: &[u8]) {
    b.push(tag);
    b.extend_from_slice(&(s.len() as u32).to_le_bytes());
    b.extend_from_slice(s);
}

fn push_date(b: &mut Vec<u8>, d: Date) {
    b.extend_from_slice(&d.year.to_le_bytes());
    b.extend_from_slice(&[d.month, d.day]);
}
