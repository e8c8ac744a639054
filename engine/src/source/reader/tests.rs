//! The assembler on events built from the documented layouts: a MySQL 8
//! compressed transaction (TRANSACTION_PAYLOAD, zstd) decodes like the same
//! events sent one by one, and an event the parser cannot read is a
//! definite error at a position.

use mysql_async::binlog::BinlogVersion;
use mysql_async::binlog::events::FormatDescriptionEvent;

use super::*;
use crate::change::{Op, Value};

fn event(t: u8, body: &[u8], log_pos: u32) -> Vec<u8> {
    let mut e = Vec::new();
    e.extend(1_700_000_000u32.to_le_bytes());
    e.push(t);
    e.extend(1u32.to_le_bytes());
    e.extend(((19 + body.len()) as u32).to_le_bytes());
    e.extend(log_pos.to_le_bytes());
    e.extend(0u16.to_le_bytes());
    e.extend(body);
    e
}

fn read(bytes: &[u8]) -> Event {
    Event::read(&FormatDescriptionEvent::new(BinlogVersion::Version4), bytes).unwrap()
}

fn assembler() -> Assembler {
    let mut a = Assembler::new(Arc::new(Collations::new(vec![(45, "utf8mb4".into())])));
    let mut rotate = 4u64.to_le_bytes().to_vec();
    rotate.extend(b"binlog.000007");
    assert!(
        a.handle(read(&event(ty::ROTATE, &rotate, 0)))
            .unwrap()
            .is_none()
    );
    a
}

/// BEGIN, a table map of `shop.t (id INT PRIMARY KEY, name VARCHAR(20))`
/// with full metadata, a WRITE_ROWS (v2) of two rows, XID: the events of
/// one transaction as MySQL 8 writes them inside a payload.
fn inner_events() -> Vec<u8> {
    let mut begin = vec![0u8; 13];
    begin.push(0); // empty database name
    begin.extend(b"BEGIN");
    let mut tm = vec![5, 0, 0, 0, 0, 0, 0, 0]; // table id 5, flags
    tm.extend([4]);
    tm.extend(b"shop\0");
    tm.extend([1]);
    tm.extend(b"t\0");
    tm.extend([2, 3, 15]); // 2 columns: LONG, VARCHAR
    tm.extend([2, 80, 0]); // metadata: VARCHAR max 80 bytes
    tm.extend([0b10]); // name is nullable
    tm.extend([1, 1, 0]); // SIGNEDNESS: id signed
    tm.extend([2, 1, 45]); // DEFAULT_CHARSET: utf8mb4
    tm.extend([4, 8, 2, b'i', b'd', 4, b'n', b'a', b'm', b'e']); // COLUMN_NAME
    tm.extend([8, 1, 0]); // SIMPLE_PRIMARY_KEY: column 0
    let mut rows = vec![5, 0, 0, 0, 0, 0, 1, 0, 2, 0]; // table id, STMT_END, extra len
    rows.extend([2, 0b11]); // 2 columns, both present
    rows.extend([0b00]);
    rows.extend(7i32.to_le_bytes());
    rows.extend([5]);
    rows.extend(b"hello");
    rows.extend([0b10]); // name NULL
    rows.extend(8i32.to_le_bytes());
    let xid = 99u64.to_le_bytes();
    [
        event(ty::QUERY, &begin, 0),
        event(ty::TABLE_MAP, &tm, 0),
        event(ty::WRITE_ROWS, &rows, 0),
        event(ty::XID, &xid, 0),
    ]
    .concat()
}

/// A TRANSACTION_PAYLOAD event: lenenc (field, length, value) triples,
/// the end mark, then the payload.
fn payload_event(compression: u8, uncompressed: usize, payload: &[u8], log_pos: u32) -> Vec<u8> {
    let lenenc = |n: usize| -> Vec<u8> {
        if n < 251 {
            vec![n as u8]
        } else {
            let mut v = vec![0xfc];
            v.extend((n as u16).to_le_bytes());
            v
        }
    };
    let mut body = Vec::new();
    for (field, value) in [
        (2, compression as usize),
        (3, uncompressed),
        (1, payload.len()),
    ] {
        body.extend(lenenc(field));
        body.extend(lenenc(lenenc(value).len()));
        body.extend(lenenc(value));
    }
    body.push(0);
    body.extend(payload);
    event(ty::TRANSACTION_PAYLOAD, &body, log_pos)
}

/// Found by the `binlog` fuzz target: an event whose length field runs
/// past its bytes panics inside `mysql_common` (it unwraps the read).
/// That panic, caught where the reader reads, is a definite error at
/// the last good position, not a crashed source task.
#[test]
fn an_event_longer_than_its_bytes_is_a_definite_error_with_a_position() {
    let a = assembler();
    let mut bad = event(ty::QUERY, b"short", 0);
    bad[9..13].copy_from_slice(&1000u32.to_le_bytes());
    let fde = FormatDescriptionEvent::new(BinlogVersion::Version4);
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let panic = std::panic::catch_unwind(|| Event::read(&fde, bad.as_slice()).map(|_| ()))
        .expect_err("mysql_common panics on it");
    std::panic::set_hook(hook);
    match a.unparsable(panic) {
        SourceError::Definite {
            position: Some(p),
            message,
        } => {
            assert_eq!(p.to_string(), "binlog.000007:4");
            assert!(message.contains("cannot be parsed"), "{message}");
        }
        other => panic!("{other}"),
    }
}

#[test]
fn a_zstd_transaction_payload_decodes_to_its_transaction() {
    let inner = inner_events();
    let compressed = zstd::encode_all(inner.as_slice(), 3).unwrap();
    let mut a = assembler();
    let txn = a
        .handle(read(&payload_event(0, inner.len(), &compressed, 1234)))
        .unwrap()
        .expect("the payload holds one whole transaction");
    assert_eq!(txn.end.to_string(), "binlog.000007:1234");
    assert_eq!(txn.changes.len(), 1);
    let c = &txn.changes[0];
    assert_eq!(
        (c.schema.database.as_str(), c.schema.table.as_str()),
        ("shop", "t")
    );
    assert_eq!(c.schema.columns, ["id", "name"]);
    assert_eq!(c.schema.key, [0]);
    assert_eq!(c.rows.len(), 2);
    assert_eq!(c.rows[0].op, Op::Insert);
    assert_eq!(
        c.rows[0].after.as_deref(),
        Some(&[Value::Int(7), Value::Text("hello".into())][..])
    );
    assert_eq!(
        c.rows[1].after.as_deref(),
        Some(&[Value::Int(8), Value::Null][..])
    );

    // The same events sent one by one give the same transaction.
    let mut b = assembler();
    let mut at = 0;
    let mut plain = None;
    while at < inner.len() {
        let size = u32::from_le_bytes(inner[at + 9..at + 13].try_into().unwrap()) as usize;
        let mut e = inner[at..at + size].to_vec();
        e[13..17].copy_from_slice(&1234u32.to_le_bytes());
        plain = b.handle(read(&e)).unwrap().or(plain);
        at += size;
    }
    assert_eq!(plain.unwrap().changes, txn.changes);
}

/// The inner events sent one by one, at increasing positions.
fn one_by_one(a: &mut Assembler, events: &[u8]) -> Vec<Transaction> {
    let (mut at, mut pos, mut out) = (0, 100u32, Vec::new());
    while at < events.len() {
        let size = u32::from_le_bytes(events[at + 9..at + 13].try_into().unwrap()) as usize;
        let mut e = events[at..at + size].to_vec();
        pos += size as u32;
        e[13..17].copy_from_slice(&pos.to_le_bytes());
        out.extend(a.handle(read(&e)).unwrap());
        at += size;
    }
    out
}

#[test]
fn a_transaction_over_the_fragment_size_comes_in_pieces() {
    use crate::change::Piece;
    let inner = inner_events();
    let whole = one_by_one(&mut assembler(), &inner);
    assert_eq!(whole.len(), 1);
    assert!(whole[0].is_whole());

    let mut a = assembler();
    a.set_fragment_bytes(1);
    let pieces = one_by_one(&mut a, &inner);
    assert_eq!(pieces.len(), 2);
    // The rows so far, cut after the rows event: inside the
    // transaction, so before its end.
    assert_eq!(
        pieces[0].piece,
        Piece {
            index: 0,
            last: false
        }
    );
    assert_eq!(pieces[0].changes, whole[0].changes);
    assert!(pieces[0].bytes > 0 && pieces[0].end < whole[0].end);
    // The rest (none) ends where the transaction ends.
    assert_eq!(
        pieces[1].piece,
        Piece {
            index: 1,
            last: true
        }
    );
    assert!(pieces[1].changes.is_empty());
    assert_eq!(pieces[1].end, whole[0].end);

    // A transaction payload is not cut: it is in memory whole anyway.
    let compressed = zstd::encode_all(inner.as_slice(), 3).unwrap();
    let txn = a
        .handle(read(&payload_event(0, inner.len(), &compressed, 9000)))
        .unwrap()
        .unwrap();
    assert!(txn.is_whole());
    assert_eq!(txn.changes, whole[0].changes);
}

/// A table map of 13 columns of the types whose bytes `rows` reads,
/// with full metadata, and a WRITE_ROWS (v2) event of three rows
/// (extremes, all NULL, zeros).
fn many_types() -> (Vec<u8>, Vec<u8>) {
    let mut tm = vec![9, 0, 0, 0, 0, 0, 0, 0]; // table id 9, flags
    tm.extend([4]);
    tm.extend(b"shop\0");
    tm.extend([1]);
    tm.extend(b"m\0");
    // a TINY, b TINY UNSIGNED, c MEDIUMINT, d BIGINT UNSIGNED,
    // e DECIMAL(5,2), f TIME(3), g DATETIME(6), h TIMESTAMP(6), i BIT(17),
    // j VARCHAR(20) utf8mb4, k BINARY(16), l YEAR, m ENUM('x','yy').
    tm.extend([13, 1, 1, 9, 8, 246, 19, 18, 17, 16, 15, 254, 13, 254]);
    let meta = [5, 2, 3, 6, 6, 1, 2, 80, 0, 0xfe, 16, 0xf7, 1];
    tm.push(meta.len() as u8);
    tm.extend(meta);
    tm.extend([0xff, 0x1f]); // all nullable
    // Numeric columns a, b, c, d, e, l: b and d unsigned (MSB first).
    tm.extend([1, 1, 0b0101_0000]);
    // Character columns j, k: default utf8mb4, k binary.
    tm.extend([2, 3, 45, 1, 63]);
    let mut names = Vec::new();
    for n in b"abcdefghijklm" {
        names.extend([1, *n]);
    }
    tm.extend([4, names.len() as u8]);
    tm.extend(names);
    tm.extend([6, 6, 2, 1, b'x', 2, b'y', b'y']); // ENUM labels
    tm.extend([8, 1, 0]); // primary key: a

    let mut rows = vec![9, 0, 0, 0, 0, 0, 1, 0, 2, 0, 13, 0xff, 0x1f];
    // Row 1: extremes and negatives.
    rows.extend([0, 0]);
    rows.extend([0x80, 0xff, 0xff, 0xff, 0xff]); // a -128, b 255, c -1
    rows.extend([0xff; 8]); // d 2^64-1
    rows.extend([0x7f, 0x84, 0xd2]); // e -123.45
    rows.extend([0x7f, 0xff, 0xff, 0xff, 0x9c]); // f -00:00:00.010
    let (ym, hms) = (2026u64 * 13 + 11, (12u64 << 12) | (34 << 6) | 56);
    let dt = (((ym << 5) | 26) << 17 | hms) + 0x80_0000_0000;
    rows.extend(&dt.to_be_bytes()[3..]); // g 2026-11-26 12:34:56.789012
    rows.extend(&789_012u32.to_be_bytes()[1..]);
    rows.extend(1_700_000_000u32.to_be_bytes()); // h
    rows.extend(&123_456u32.to_be_bytes()[1..]);
    rows.extend([0x01, 0xab, 0xcd]); // i
    rows.extend([5, b'h', 0xf0, 0x9f, 0x98, 0x80]); // j h😀
    rows.extend([2, 0xab, 0x01]); // k, trailing zeros stripped
    rows.extend([0, 2]); // l year 0, m 'yy'
    // Row 2: every column NULL.
    rows.extend([0xff, 0x1f]);
    // Row 3: zeros.
    rows.extend([0, 0]);
    rows.extend([0x7f, 0, 0, 0, 0x80]); // a 127, b 0, c -8388608
    rows.extend([0; 8]);
    rows.extend([0x80, 0, 0]); // e 0.00
    rows.extend([0x80, 0, 0, 0, 0]);
    rows.extend([0x80, 0, 0, 0, 0, 0, 0, 0]);
    rows.extend([0; 7]);
    rows.extend([0, 0, 0]);
    rows.extend([0, 0, 255, 0]); // j '', k '', l 2155, m ''
    (tm, rows)
}

#[test]
fn row_bytes_read_directly_equal_mysql_commons_reading() {
    let (tm, rows) = many_types();
    let collations = Collations::new(vec![(45, "utf8mb4".into()), (63, "binary".into())]);
    let tm_ev = read(&event(ty::TABLE_MAP, &tm, 0));
    let Some(EventData::TableMapEvent(tme)) = tm_ev.read_data().unwrap() else {
        panic!("table map")
    };
    let direct = TableDecoder::new(&tme, tm_ev.data(), &collations, None).unwrap();
    assert!(direct.is_direct(), "every column has a layout");
    let general = TableDecoder::new(&tme, tm_ev.data(), &collations, None)
        .unwrap()
        .general();
    let rows_ev = read(&event(ty::WRITE_ROWS, &rows, 0));
    let Some(EventData::RowsEvent(re)) = rows_ev.read_data().unwrap() else {
        panic!("rows event")
    };
    let (mut a, mut b) = (Vec::new(), Vec::new());
    direct.decode_rows(&re, &tme, &mut a).unwrap();
    general.decode_rows(&re, &tme, &mut b).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.len(), 3);
    let r1 = a[0].after.as_ref().unwrap();
    use sluice_cell::{Date, DateTime, Time, Timestamp};
    assert_eq!(
        r1[..5],
        [
            Value::Int(-128),
            Value::Int(255),
            Value::Int(-1),
            Value::UInt(u64::MAX),
            Value::Decimal("-123.45".into())
        ]
    );
    assert_eq!(
        r1[5],
        Value::Time(Time {
            negative: true,
            hours: 0,
            minutes: 0,
            seconds: 0,
            micros: 10_000
        })
    );
    assert_eq!(
        r1[6],
        Value::DateTime(DateTime {
            date: Date {
                year: 2026,
                month: 11,
                day: 26
            },
            hour: 12,
            minute: 34,
            second: 56,
            micros: 789_012
        })
    );
    assert_eq!(
        r1[7],
        Value::Timestamp(Timestamp {
            seconds: 1_700_000_000,
            micros: 123_456
        })
    );
    let mut uuid = vec![0xab, 0x01];
    uuid.resize(16, 0);
    assert_eq!(
        r1[8..],
        [
            Value::Bytes(vec![0x01, 0xab, 0xcd]),
            Value::Text("h😀".into()),
            Value::Bytes(uuid),
            Value::Int(0),
            Value::Text("yy".into())
        ]
    );
    assert!(
        a[1].after
            .as_ref()
            .unwrap()
            .iter()
            .all(|v| *v == Value::Null)
    );
    let r3 = a[2].after.as_ref().unwrap();
    assert_eq!(r3[2], Value::Int(-8_388_608));
    assert_eq!(r3[4], Value::Decimal("0.00".into()));
    assert_eq!(r3[10], Value::Bytes(vec![0; 16]));
    assert_eq!(r3[11], Value::Int(2155));

    // A row cut short is an error naming the table, on both paths.
    let cut = read(&event(ty::WRITE_ROWS, &rows[..rows.len() - 3], 0));
    let Some(EventData::RowsEvent(re)) = cut.read_data().unwrap() else {
        panic!("rows event")
    };
    let err = direct.decode_rows(&re, &tme, &mut Vec::new()).unwrap_err();
    assert!(err.contains("shop.m"), "{err}");
}

#[test]
fn damaged_payloads_stop_with_an_error_naming_the_position() {
    let inner = inner_events();
    let compressed = zstd::encode_all(inner.as_slice(), 3).unwrap();
    // Cut inside the compressed stream.
    let cut = &compressed[..compressed.len() / 2];
    let err = assembler()
        .handle(read(&payload_event(0, inner.len(), cut, 500)))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("transaction payload") && err.contains("binlog.000007:500"),
        "{err}"
    );
    // Uncompressed (type 255) but with a truncated last event.
    let err = assembler()
        .handle(read(&payload_event(
            255,
            inner.len() - 3,
            &inner[..inner.len() - 3],
            600,
        )))
        .unwrap_err()
        .to_string();
    assert!(err.contains("truncated event"), "{err}");
    // An unknown compression type.
    let err = assembler()
        .handle(read(&payload_event(7, inner.len(), &inner, 700)))
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown compression type"), "{err}");
}
