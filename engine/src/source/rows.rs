//! Row images read straight from a rows event's bytes.
//!
//! `mysql_common` decodes a row by walking the table map's metadata again
//! for every row (column types, signedness, charsets, names), which took
//! about 30% of the reader's time in the decode benchmark. Here each
//! column's byte layout is worked out once per table map ([`Layout`]), and
//! a row is a loop over the layouts.
//!
//! # Why this is exact
//! The values are the same `mysql_common` values the general path makes,
//! then go through the same fix-ups (`decode::convert`):
//! * integers, floats, YEAR, DATE, TIMESTAMP, BIT, ENUM, SET and the string
//!   types are read here, in the layouts of the MySQL source
//!   (`Field_*::unpack`), with `mysql_common`'s choices (an unsigned BIGINT
//!   above `i64::MAX` is `UInt`, every other integer `Int`);
//! * DECIMAL, TIMESTAMP2, DATETIME2 and TIME2, whose encodings have sign
//!   and fraction subtleties, are read by `mysql_common`'s own functions;
//! * a column type not listed (MySQL's binary JSON, the pre-5.6 TIME and
//!   DATETIME) makes the whole table use the general path.
//!
//! A unit test decodes the same events both ways and compares; the golden
//! end-to-end test (`decoding.rs`) compares every type with `SELECT`.

use mysql_async::Value as MyValue;
use mysql_async::consts::ColumnType;
use mysql_common::binlog::decimal::Decimal;
use mysql_common::binlog::misc::{
    datetime_from_packed, my_datetime_packed_from_binary, my_time_packed_from_binary,
    my_timestamp_from_binary, time_from_packed,
};
use sluice_cell::Timestamp;

use crate::change::Value;

/// How one column's value is laid out in a row image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Little-endian integer of 1, 2, 3, 4 or 8 bytes.
    Int {
        bytes: u8,
        unsigned: bool,
    },
    Float,
    Double,
    /// One byte: years since 1900, 0 for year 0.
    Year,
    /// MySQL's packed decimal.
    Decimal {
        precision: u8,
        scale: u8,
    },
    /// Seconds since the epoch, 4 bytes little-endian (pre-5.6 TIMESTAMP).
    Timestamp,
    Timestamp2 {
        fsp: u8,
    },
    /// 3 bytes little-endian: day, month, year in bit fields.
    Date,
    DateTime2 {
        fsp: u8,
    },
    Time2 {
        fsp: u8,
    },
    /// Big-endian bits in this many bytes.
    Bit {
        bytes: u16,
    },
    /// The label index in 1 or 2 bytes.
    Enum {
        bytes: u8,
    },
    /// The label bitmap in this many bytes.
    Set {
        bytes: u8,
    },
    /// A little-endian length of this many bytes, then the bytes: BLOB,
    /// TEXT, GEOMETRY, VARCHAR, CHAR and BINARY.
    Prefixed {
        len_bytes: u8,
    },
}

/// The value a layout reads: still to go through `decode::convert`, or
/// final already.
pub enum Read {
    Mysql(MyValue),
    Final(Value),
}

impl Layout {
    /// The layout of a column of type `ty` with table-map metadata `meta`,
    /// or `None` when only the general path can decode it.
    pub fn of(ty: ColumnType, meta: &[u8], unsigned: bool) -> Option<Layout> {
        use ColumnType::*;
        let byte = |i: usize| meta.get(i).copied();
        Some(match ty {
            MYSQL_TYPE_TINY => Layout::Int { bytes: 1, unsigned },
            MYSQL_TYPE_SHORT => Layout::Int { bytes: 2, unsigned },
            MYSQL_TYPE_INT24 => Layout::Int { bytes: 3, unsigned },
            MYSQL_TYPE_LONG => Layout::Int { bytes: 4, unsigned },
            MYSQL_TYPE_LONGLONG => Layout::Int { bytes: 8, unsigned },
            MYSQL_TYPE_FLOAT => Layout::Float,
            MYSQL_TYPE_DOUBLE => Layout::Double,
            MYSQL_TYPE_YEAR => Layout::Year,
            MYSQL_TYPE_NEWDECIMAL => Layout::Decimal {
                precision: byte(0)?,
                scale: byte(1)?,
            },
            MYSQL_TYPE_TIMESTAMP => Layout::Timestamp,
            MYSQL_TYPE_TIMESTAMP2 => Layout::Timestamp2 { fsp: byte(0)? },
            MYSQL_TYPE_DATE | MYSQL_TYPE_NEWDATE => Layout::Date,
            MYSQL_TYPE_DATETIME2 => Layout::DateTime2 { fsp: byte(0)? },
            MYSQL_TYPE_TIME2 => Layout::Time2 { fsp: byte(0)? },
            MYSQL_TYPE_BIT => {
                let bits = u16::from(byte(1)?) * 8 + u16::from(byte(0)?);
                Layout::Bit {
                    bytes: bits.div_ceil(8),
                }
            }
            MYSQL_TYPE_ENUM => match byte(1)? {
                b @ (1 | 2) => Layout::Enum { bytes: b },
                _ => return None,
            },
            MYSQL_TYPE_SET => Layout::Set { bytes: byte(1)? },
            MYSQL_TYPE_TINY_BLOB
            | MYSQL_TYPE_MEDIUM_BLOB
            | MYSQL_TYPE_LONG_BLOB
            | MYSQL_TYPE_BLOB
            | MYSQL_TYPE_GEOMETRY => match byte(0)? {
                b @ 1..=4 => Layout::Prefixed { len_bytes: b },
                _ => return None,
            },
            MYSQL_TYPE_VARCHAR | MYSQL_TYPE_VAR_STRING => {
                let max = u16::from(byte(0)?) | u16::from(byte(1)?) << 8;
                Layout::Prefixed {
                    len_bytes: if max < 256 { 1 } else { 2 },
                }
            }
            MYSQL_TYPE_STRING if meta.len() >= 2 => Layout::Prefixed {
                len_bytes: if super::decode::string_length(meta) < 256 {
                    1
                } else {
                    2
                },
            },
            _ => return None,
        })
    }

    /// Read one non-NULL value at `data[*at..]`, moving `at` past it.
    pub fn read(self, data: &[u8], at: &mut usize) -> Result<Read, String> {
        Ok(Read::Mysql(match self {
            Layout::Int { bytes, unsigned } => {
                let b = take(data, at, bytes as usize)?;
                let mut le = [0u8; 8];
                le[..b.len()].copy_from_slice(b);
                let raw = u64::from_le_bytes(le);
                if unsigned {
                    match i64::try_from(raw) {
                        Ok(i) => MyValue::Int(i),
                        Err(_) => MyValue::UInt(raw),
                    }
                } else {
                    // Sign-extend from the stored width.
                    let shift = 64 - 8 * u32::from(bytes);
                    MyValue::Int(((raw << shift) as i64) >> shift)
                }
            }
            Layout::Float => MyValue::Float(f32::from_le_bytes(array(take(data, at, 4)?))),
            Layout::Double => MyValue::Double(f64::from_le_bytes(array(take(data, at, 8)?))),
            Layout::Year => {
                let y = i64::from(take(data, at, 1)?[0]);
                return Ok(Read::Final(Value::Int(if y == 0 { 0 } else { 1900 + y })));
            }
            Layout::Decimal { precision, scale } => {
                let size = decimal_size(precision as usize, scale as usize);
                let b = take(data, at, size)?;
                if scale > precision || !decimal_digits_fit(b, precision as usize, scale as usize) {
                    return Err(format!(
                        "bad DECIMAL({precision}, {scale}): a digit group is out of range"
                    ));
                }
                let d = Decimal::read_bin(b, precision as usize, scale as usize, false)
                    .map_err(|e| format!("bad DECIMAL: {e}"))?;
                MyValue::Bytes(d.to_string().into_bytes())
            }
            Layout::Timestamp => {
                let secs = u32::from_le_bytes(array(take(data, at, 4)?));
                MyValue::Int(i64::from(secs))
            }
            Layout::Timestamp2 { fsp } => {
                let b = take(data, at, 4 + frac_bytes(fsp))?;
                let (seconds, micros) =
                    my_timestamp_from_binary(b, fsp).map_err(|e| format!("bad TIMESTAMP: {e}"))?;
                return Ok(Read::Final(Value::Timestamp(Timestamp {
                    seconds: i64::from(seconds),
                    micros: u32::try_from(micros).map_err(|_| "bad TIMESTAMP fraction")?,
                })));
            }
            Layout::Date => {
                let b = take(data, at, 3)?;
                let v = u32::from_le_bytes([b[0], b[1], b[2], 0]);
                MyValue::Date(
                    (v >> 9) as u16,
                    ((v >> 5) & 15) as u8,
                    (v & 31) as u8,
                    0,
                    0,
                    0,
                    0,
                )
            }
            Layout::DateTime2 { fsp } => {
                let b = take(data, at, 5 + frac_bytes(fsp))?;
                let packed = my_datetime_packed_from_binary(b, u32::from(fsp))
                    .map_err(|e| format!("bad DATETIME: {e}"))?;
                // No DATETIME is negative; mysql_common negates one, which
                // overflows at i64::MIN (found by the binlog fuzz target).
                if packed < 0 {
                    return Err("bad DATETIME: negative packed value".into());
                }
                datetime_from_packed(packed)
            }
            Layout::Time2 { fsp } => {
                let b = take(data, at, 3 + frac_bytes(fsp))?;
                let packed = my_time_packed_from_binary(b, u32::from(fsp))
                    .map_err(|e| format!("bad TIME: {e}"))?;
                if packed == i64::MIN {
                    return Err("bad TIME: packed value out of range".into());
                }
                time_from_packed(packed)
            }
            Layout::Bit { bytes } => MyValue::Bytes(take(data, at, bytes as usize)?.to_vec()),
            Layout::Enum { bytes } => {
                let b = take(data, at, bytes as usize)?;
                MyValue::Int(if bytes == 1 {
                    i64::from(b[0])
                } else {
                    i64::from(u16::from_le_bytes([b[0], b[1]]))
                })
            }
            Layout::Set { bytes } => MyValue::Bytes(take(data, at, bytes as usize)?.to_vec()),
            Layout::Prefixed { len_bytes } => {
                let b = take(data, at, len_bytes as usize)?;
                let mut le = [0u8; 4];
                le[..b.len()].copy_from_slice(b);
                let n = u32::from_le_bytes(le) as usize;
                MyValue::Bytes(take(data, at, n)?.to_vec())
            }
        }))
    }
}

/// Bytes of the fractional seconds of a temporal with `fsp` digits.
fn frac_bytes(fsp: u8) -> usize {
    (fsp as usize).div_ceil(2)
}

/// Bytes of a packed decimal: 4 per 9 digits, and fewer for the rest, on
/// each side of the point.
fn decimal_size(precision: usize, scale: usize) -> usize {
    const PARTIAL: [usize; 10] = [0, 1, 1, 2, 2, 3, 3, 4, 4, 4];
    let side = |digits: usize| digits / 9 * 4 + PARTIAL[digits % 9];
    side(precision.saturating_sub(scale)) + side(scale)
}

/// Whether every digit group of a packed decimal holds as many digits as
/// its place allows. A server never writes more; mysql_common's reader
/// overflows on it (found by the binlog fuzz target), so a group out of
/// range is a bad value, not a silently wrapped one.
fn decimal_digits_fit(b: &[u8], precision: usize, scale: usize) -> bool {
    const PARTIAL: [usize; 10] = [0, 1, 1, 2, 2, 3, 3, 4, 4, 4];
    let Some(&first) = b.first() else {
        return false;
    };
    // The sign is the top bit, set for positive; negative values are
    // stored with every bit inverted.
    let mask = if first & 0x80 != 0 { 0 } else { 0xff };
    let byte = |i: usize| {
        let v = b[i] ^ mask;
        if i == 0 { v & 0x7f } else { v }
    };
    let mut at = 0;
    let mut group = |digits: usize, bytes: usize| {
        let mut v: u64 = 0;
        for _ in 0..bytes {
            v = v << 8 | u64::from(byte(at));
            at += 1;
        }
        v < 10u64.pow(digits as u32)
    };
    let intg = precision - scale;
    let lead = group(intg % 9, PARTIAL[intg % 9]);
    let whole = (0..intg / 9 + scale / 9).all(|_| group(9, 4));
    lead && whole && group(scale % 9, PARTIAL[scale % 9])
}

/// The next `n` bytes.
pub fn take<'a>(data: &'a [u8], at: &mut usize, n: usize) -> Result<&'a [u8], String> {
    let end = at
        .checked_add(n)
        .filter(|&e| e <= data.len())
        .ok_or_else(|| {
            format!(
                "row image ends early: {n} bytes wanted at byte {at} of {}",
                data.len()
            )
        })?;
    let b = &data[*at..end];
    *at = end;
    Ok(b)
}

fn array<const N: usize>(b: &[u8]) -> [u8; N] {
    b.try_into().expect("taken with this length")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(layout: Layout, bytes: &[u8]) -> MyValue {
        let mut at = 0;
        match layout.read(bytes, &mut at).unwrap() {
            Read::Mysql(v) => {
                assert_eq!(at, bytes.len(), "{layout:?} read every byte");
                v
            }
            Read::Final(v) => panic!("{layout:?} gave a final value {v:?}"),
        }
    }

    #[test]
    fn integers_sign_extend_from_their_width() {
        let int = |bytes, unsigned| Layout::Int { bytes, unsigned };
        assert_eq!(read(int(3, false), &[0xff, 0xff, 0xff]), MyValue::Int(-1));
        assert_eq!(read(int(3, false), &[0, 0, 0x80]), MyValue::Int(-8_388_608));
        assert_eq!(
            read(int(3, true), &[0xff, 0xff, 0xff]),
            MyValue::Int(16_777_215)
        );
        assert_eq!(read(int(1, false), &[0x80]), MyValue::Int(-128));
        assert_eq!(
            read(int(8, true), &[0xff; 8]),
            MyValue::UInt(u64::MAX),
            "above i64::MAX stays unsigned"
        );
        assert_eq!(read(int(8, false), &[0xff; 8]), MyValue::Int(-1));
    }

    #[test]
    fn decimal_digit_groups_out_of_range_are_refused() {
        // DECIMAL(5,2) 123.45: 0x80 | 1, 23 in one byte, 45 in one byte.
        assert!(decimal_digits_fit(&[0x81, 23, 45], 5, 2));
        // -123.45: every bit inverted.
        assert!(decimal_digits_fit(&[!0x81, !23, !45], 5, 2));
        // 99 in the one-digit leading place of DECIMAL(4,3)... and a 4-byte
        // group over 999999999.
        assert!(!decimal_digits_fit(&[0x80 | 99, 0, 0], 3, 2));
        assert!(!decimal_digits_fit(&[0xbb, 0x9a, 0xca, 0x00], 9, 0));
        assert!(decimal_digits_fit(&[0xbb, 0x9a, 0xc9, 0xff], 9, 0));
    }

    #[test]
    fn decimal_sizes_follow_the_packed_format() {
        // DECIMAL(5,2): 3 integer digits (2 bytes), 2 fraction digits (1).
        assert_eq!(decimal_size(5, 2), 3);
        // DECIMAL(30,10): 20 integer digits (4 + 4 + 1), 10 fraction (4 + 1).
        assert_eq!(decimal_size(30, 10), 14);
        assert_eq!(decimal_size(65, 0), 29);
    }

    #[test]
    fn a_short_image_is_an_error_not_a_panic() {
        let mut at = 0;
        let err = Layout::Prefixed { len_bytes: 2 }
            .read(&[10, 0, 1, 2], &mut at)
            .err()
            .unwrap();
        assert!(err.contains("ends early"), "{err}");
    }
}
