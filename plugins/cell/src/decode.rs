//! Reading a column in the cell encoding: a forward scan that borrows
//! from the buffer and rejects any version byte or tag it does not know.

use super::*;

/// Why an encoded column could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// The first byte is not a version this crate knows.
    Version(u8),
    /// A cell starts with an unknown tag at this byte offset.
    Tag { tag: u8, offset: usize },
    /// The buffer ends inside a cell that starts at this byte offset.
    Truncated { offset: usize },
    /// A TEXT, DECIMAL or JSON cell at this offset is not UTF-8.
    Utf8 { offset: usize },
    /// The column holds a different number of cells than expected.
    Count { expected: usize, found: usize },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Version(v) => write!(
                f,
                "cell encoding version {v} is not supported (this build reads version {VERSION})"
            ),
            DecodeError::Tag { tag, offset } => {
                write!(f, "unknown cell tag {tag} at byte {offset}")
            }
            DecodeError::Truncated { offset } => {
                write!(f, "cell at byte {offset} is cut short")
            }
            DecodeError::Utf8 { offset } => write!(f, "text cell at byte {offset} is not UTF-8"),
            DecodeError::Count { expected, found } => {
                write!(f, "expected {expected} cells, found {found}")
            }
        }
    }
}

impl std::error::Error for DecodeError {}

/// Reads the cells of an encoded column, front to back, without allocating.
#[derive(Clone, Debug)]
pub struct Decoder<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Decoder<'a> {
    /// Check the version byte and start reading.
    pub fn new(buf: &'a [u8]) -> Result<Self, DecodeError> {
        match buf.first() {
            Some(&VERSION) => Ok(Decoder { buf, pos: 1 }),
            Some(&v) => Err(DecodeError::Version(v)),
            None => Err(DecodeError::Truncated { offset: 0 }),
        }
    }

    #[inline]
    fn take(&mut self, n: usize, start: usize) -> Result<&'a [u8], DecodeError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or(DecodeError::Truncated { offset: start })?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    #[inline]
    fn array<const N: usize>(&mut self, start: usize) -> Result<[u8; N], DecodeError> {
        let s = self.take(N, start)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    #[inline]
    fn var(&mut self, start: usize) -> Result<&'a [u8], DecodeError> {
        let len = u32::from_le_bytes(self.array(start)?) as usize;
        self.take(len, start)
    }

    #[inline]
    fn str(&mut self, start: usize) -> Result<&'a str, DecodeError> {
        std::str::from_utf8(self.var(start)?).map_err(|_| DecodeError::Utf8 { offset: start })
    }

    fn date(&mut self, start: usize) -> Result<Date, DecodeError> {
        let [y0, y1, month, day] = self.array(start)?;
        Ok(Date {
            year: u16::from_le_bytes([y0, y1]),
            month,
            day,
        })
    }

    /// Byte offset of the next cell; with [`Decoder::resume`] a reader can
    /// come back to one cell without decoding the ones before it.
    #[inline]
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Continue reading `buf` at `pos`, an offset returned by
    /// [`Decoder::position`] on a decoder that checked the version.
    #[inline]
    pub fn resume(buf: &'a [u8], pos: usize) -> Self {
        Decoder { buf, pos }
    }

    /// The next cell, or `None` at the end of the column.
    #[inline]
    pub fn next_cell(&mut self) -> Result<Option<CellRef<'a>>, DecodeError> {
        let start = self.pos;
        let Some(&tag) = self.buf.get(self.pos) else {
            return Ok(None);
        };
        self.pos += 1;
        let cell = match tag {
            NULL => CellRef::Null,
            INT => CellRef::Int(i64::from_le_bytes(self.array(start)?)),
            UINT => CellRef::UInt(u64::from_le_bytes(self.array(start)?)),
            DOUBLE => CellRef::Double(f64::from_le_bytes(self.array(start)?)),
            FLOAT => CellRef::Float(f32::from_le_bytes(self.array(start)?)),
            DECIMAL => CellRef::Decimal(self.str(start)?),
            TEXT => CellRef::Text(self.str(start)?),
            BYTES => CellRef::Bytes(self.var(start)?),
            JSON => CellRef::Json(self.str(start)?),
            DATE => CellRef::Date(self.date(start)?),
            TIME => {
                let [neg, h0, h1, minutes, seconds] = self.array(start)?;
                CellRef::Time(Time {
                    negative: neg != 0,
                    hours: u16::from_le_bytes([h0, h1]),
                    minutes,
                    seconds,
                    micros: u32::from_le_bytes(self.array(start)?),
                })
            }
            DATETIME => {
                let date = self.date(start)?;
                let [hour, minute, second] = self.array(start)?;
                CellRef::DateTime(DateTime {
                    date,
                    hour,
                    minute,
                    second,
                    micros: u32::from_le_bytes(self.array(start)?),
                })
            }
            TIMESTAMP => CellRef::Timestamp(Timestamp {
                seconds: i64::from_le_bytes(self.array(start)?),
                micros: u32::from_le_bytes(self.array(start)?),
            }),
            tag => return Err(DecodeError::Tag { tag, offset: start }),
        };
        Ok(Some(cell))
    }

    /// Step over the next cell without reading it; false at the end of the
    /// column. Tags and lengths are checked as [`Decoder::next_cell`]
    /// checks them, text is not checked for UTF-8 (reading the cell does
    /// that), so finding where each cell starts costs one step per cell.
    #[inline]
    pub fn skip_cell(&mut self) -> Result<bool, DecodeError> {
        let start = self.pos;
        let Some(&tag) = self.buf.get(self.pos) else {
            return Ok(false);
        };
        self.pos += 1;
        let size = match tag {
            NULL => 0,
            INT | UINT | DOUBLE => 8,
            FLOAT | DATE => 4,
            TIME => 9,
            DATETIME => 11,
            TIMESTAMP => 12,
            DECIMAL | TEXT | BYTES | JSON => {
                self.var(start)?;
                return Ok(true);
            }
            tag => return Err(DecodeError::Tag { tag, offset: start }),
        };
        self.take(size, start)?;
        Ok(true)
    }

    /// Decode exactly `expected` cells into `out` (cleared first).
    pub fn read_all(
        mut self,
        expected: usize,
        out: &mut Vec<CellRef<'a>>,
    ) -> Result<(), DecodeError> {
        out.clear();
        out.reserve(expected);
        while let Some(cell) = self.next_cell()? {
            out.push(cell);
        }
        if out.len() != expected {
            return Err(DecodeError::Count {
                expected,
                found: out.len(),
            });
        }
        Ok(())
    }
}
