//! MariaDB compressed binlog events (`log_bin_compress=ON`, types 165-171).
//!
//! MariaDB compresses only the large part of an event and leaves the rest
//! as in the plain event:
//! * `QUERY_COMPRESSED` (165): the statement text after the status
//!   variables and the database name;
//! * `*_ROWS_COMPRESSED_V1` (166-168) and `*_ROWS_COMPRESSED` (169-171):
//!   the row data after the post-header, the column count and the column
//!   bitmap(s).
//!
//! The compressed part starts with one byte: bit 7 set, bits 4-6 the
//! algorithm (0 = zlib, the only one MariaDB writes), bits 0-2 the number
//! `n` (1-4) of big-endian bytes that follow with the uncompressed length;
//! then the zlib stream. [`expand`] rebuilds the plain event (type 2, 23-25
//! or 30-32) from those parts, so the rest of the reader decodes it like
//! any other. The result is checked: the inflated length must equal the
//! stated one, and an unknown algorithm or a malformed part is an error,
//! never a skipped event.

use std::io::Read;

use mysql_async::binlog::events::Event;

/// Whether `t` is a MariaDB compressed event type.
pub fn is_compressed(t: u8) -> bool {
    (165..=171).contains(&t)
}

/// The plain event a compressed one stands for.
pub fn expand(ev: &Event) -> Result<Event, String> {
    let h = ev.header();
    let t = h.event_type_raw();
    let data = ev.data();
    let (plain, split) = match t {
        165 => (2, query_split(data)?),
        166..=168 => (t - 166 + 23, rows_split(data, 8, t == 167)?),
        169..=171 => {
            let extra = u16::from_le_bytes(field(data, 8, 2)?.try_into().expect("2 bytes"));
            let post_header = 8 + usize::from(extra);
            (t - 169 + 30, rows_split(data, post_header, t == 170)?)
        }
        _ => return Err(format!("event type {t} is not a MariaDB compressed event")),
    };
    let mut body = data[..split].to_vec();
    body.extend(inflate(&data[split..])?);
    let checksum = ev.checksum();
    let size = 19 + body.len() + checksum.map_or(0, |c| c.len());
    let mut bytes = Vec::with_capacity(size);
    bytes.extend_from_slice(&h.timestamp().to_le_bytes());
    bytes.push(plain);
    bytes.extend_from_slice(&h.server_id().to_le_bytes());
    bytes.extend_from_slice(
        &u32::try_from(size)
            .map_err(|_| "event too large")?
            .to_le_bytes(),
    );
    bytes.extend_from_slice(&h.log_pos().to_le_bytes());
    bytes.extend_from_slice(&h.flags_raw().to_le_bytes());
    bytes.extend_from_slice(&body);
    // The stream already checked the original event; the rebuilt one keeps
    // its bytes in the checksum slot only to keep the layout the format
    // description announces (mysql_common does not verify it).
    if let Some(c) = checksum {
        bytes.extend_from_slice(&c);
    }
    Event::read(ev.fde(), bytes.as_slice())
        .map_err(|e| format!("rebuilt event does not parse: {e}"))
}

fn field(data: &[u8], at: usize, len: usize) -> Result<&[u8], String> {
    data.get(at..at + len)
        .ok_or_else(|| format!("compressed event too short ({} bytes)", data.len()))
}

/// Offset of the compressed statement in a QUERY_COMPRESSED event: after
/// the 13-byte post-header, the status variables and `db\0`.
fn query_split(data: &[u8]) -> Result<usize, String> {
    let db_len = usize::from(field(data, 8, 1)?[0]);
    let status_len = usize::from(u16::from_le_bytes(
        field(data, 11, 2)?.try_into().expect("2 bytes"),
    ));
    let at = 13 + status_len + db_len + 1;
    field(data, at, 1)?;
    Ok(at)
}

/// Offset of the compressed rows in a rows event: after the post-header,
/// the column count (length-encoded) and one bitmap, two for updates.
fn rows_split(data: &[u8], post_header: usize, update: bool) -> Result<usize, String> {
    let first = field(data, post_header, 1)?[0];
    let (width, len) = match first {
        0..=250 => (u64::from(first), 1),
        252 => (
            u64::from(u16::from_le_bytes(
                field(data, post_header + 1, 2)?.try_into().expect("2"),
            )),
            3,
        ),
        253 => {
            let b = field(data, post_header + 1, 3)?;
            (
                u64::from(b[0]) | u64::from(b[1]) << 8 | u64::from(b[2]) << 16,
                4,
            )
        }
        _ => return Err(format!("column count with prefix {first} in a rows event")),
    };
    let bitmap = usize::try_from(width.div_ceil(8)).map_err(|_| "column count too large")?;
    let at = post_header + len + bitmap * if update { 2 } else { 1 };
    field(data, at, 1)?;
    Ok(at)
}

/// Inflate one compressed part (header byte, length, zlib stream).
pub fn inflate(part: &[u8]) -> Result<Vec<u8>, String> {
    let head = *part.first().ok_or("empty compressed part")?;
    if head & 0x80 == 0 {
        return Err(format!(
            "compressed part header {head:#04x} lacks the compressed flag"
        ));
    }
    let algorithm = (head >> 4) & 0x07;
    if algorithm != 0 {
        return Err(format!(
            "compression algorithm {algorithm} is unknown (only 0, zlib, exists)"
        ));
    }
    let n = usize::from(head & 0x07);
    if !(1..=4).contains(&n) || part.len() < 1 + n {
        return Err(format!(
            "compressed part header {head:#04x} has a bad length size"
        ));
    }
    let len = part[1..1 + n]
        .iter()
        .fold(0usize, |acc, b| acc << 8 | usize::from(*b));
    let mut out = Vec::with_capacity(len);
    flate2::read::ZlibDecoder::new(&part[1 + n..])
        .take(len as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("zlib: {e}"))?;
    if out.len() != len {
        return Err(format!(
            "inflated {} bytes where the header says {len}",
            out.len()
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn part(data: &[u8], lenlen: u8) -> Vec<u8> {
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(data).unwrap();
        let mut out = vec![0x80 | lenlen];
        out.extend_from_slice(&(data.len() as u32).to_be_bytes()[4 - usize::from(lenlen)..]);
        out.extend(z.finish().unwrap());
        out
    }

    #[test]
    fn parts_inflate_and_bad_parts_are_errors() {
        let data: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
        assert_eq!(inflate(&part(&data, 2)).unwrap(), data);
        assert_eq!(inflate(&part(&data, 4)).unwrap(), data);
        let mut wrong_len = part(&data, 2);
        wrong_len[2] ^= 1;
        assert!(inflate(&wrong_len).unwrap_err().contains("header says"));
        let mut other_alg = part(&data, 2);
        other_alg[0] |= 0x10;
        assert!(inflate(&other_alg).unwrap_err().contains("algorithm 1"));
        assert!(inflate(&[0x02, 0, 1]).unwrap_err().contains("flag"));
        let truncated = part(&data, 2);
        assert!(inflate(&truncated[..truncated.len() / 2]).is_err());
    }

    #[test]
    fn rows_and_query_parts_are_found() {
        // v1 rows: 8-byte post-header, 3 columns, one bitmap byte.
        let rows = [1, 0, 0, 0, 0, 0, 0, 0, 3, 0b111, 0x80];
        assert_eq!(rows_split(&rows, 8, false).unwrap(), 10);
        // An update has two bitmaps.
        let upd = [1, 0, 0, 0, 0, 0, 0, 0, 3, 0b111, 0b111, 0x80];
        assert_eq!(rows_split(&upd, 8, true).unwrap(), 11);
        // Query: db "ab", 2 bytes of status variables.
        let mut q = vec![0; 13];
        q[8] = 2;
        q[11] = 2;
        q.extend_from_slice(&[9, 9, b'a', b'b', 0, 0x81]);
        assert_eq!(query_split(&q).unwrap(), 18);
        assert!(rows_split(&rows[..9], 8, false).is_err());
    }
}
