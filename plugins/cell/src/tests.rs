use super::*;

#[test]
fn timestamps_round_trip_through_utc_calendar_time() {
    for seconds in [
        0,
        1,
        86_399,
        951_782_400,
        1_700_000_000,
        2_147_483_647,
        4_102_444_800,
    ] {
        let ts = Timestamp {
            seconds,
            micros: 123_456,
        };
        assert_eq!(Timestamp::from_utc(ts.to_utc()), ts, "{seconds}");
    }
    let leap = DateTime {
        date: Date {
            year: 2024,
            month: 2,
            day: 29,
        },
        hour: 12,
        minute: 0,
        second: 0,
        micros: 0,
    };
    assert_eq!(Timestamp::from_utc(leap).seconds, 1_709_208_000);
}

fn sample() -> Vec<Value> {
    vec![
        Value::Null,
        Value::Int(i64::MIN),
        Value::UInt(u64::MAX),
        Value::Double(-0.5),
        Value::Float(1.25),
        Value::Decimal("-12345678901234567890.1234567890".into()),
        Value::Text("héllo 🐟".into()),
        Value::Bytes(vec![0, 0xff, 0, 0]),
        Value::Date(Date {
            year: 0,
            month: 0,
            day: 0,
        }),
        Value::Time(Time {
            negative: true,
            hours: 838,
            minutes: 59,
            seconds: 59,
            micros: 0,
        }),
        Value::DateTime(DateTime {
            date: Date {
                year: 9999,
                month: 12,
                day: 31,
            },
            hour: 23,
            minute: 59,
            second: 59,
            micros: 999_999,
        }),
        Value::Timestamp(Timestamp {
            seconds: 2_147_483_647,
            micros: 1,
        }),
        Value::Json("{\"a\":[1,2]}".into()),
    ]
}

#[test]
fn every_value_survives_a_round_trip() {
    let values = sample();
    let mut enc = Encoder::new();
    for v in &values {
        enc.push(v.as_cell());
    }
    let bytes = enc.finish();
    let mut cells = Vec::new();
    Decoder::new(&bytes)
        .unwrap()
        .read_all(values.len(), &mut cells)
        .unwrap();
    let back: Vec<Value> = cells.iter().map(CellRef::to_value).collect();
    assert_eq!(back, values);
}

#[test]
fn a_wrong_version_a_bad_tag_and_a_short_buffer_are_refused() {
    assert_eq!(Decoder::new(&[2]).unwrap_err(), DecodeError::Version(2));
    let mut d = Decoder::new(&[VERSION, 99]).unwrap();
    assert_eq!(
        d.next_cell().unwrap_err(),
        DecodeError::Tag { tag: 99, offset: 1 }
    );
    let mut d = Decoder::new(&[VERSION, INT, 1, 2]).unwrap();
    assert_eq!(
        d.next_cell().unwrap_err(),
        DecodeError::Truncated { offset: 1 }
    );
    let mut out = Vec::new();
    let err = Decoder::new(&[VERSION, NULL])
        .unwrap()
        .read_all(2, &mut out)
        .unwrap_err();
    assert_eq!(
        err,
        DecodeError::Count {
            expected: 2,
            found: 1
        }
    );
}

#[test]
fn assign_makes_a_value_equal_to_any_cell() {
    let cells = sample();
    for from in &cells {
        for to in &cells {
            let mut v = from.clone();
            v.assign(to.as_cell());
            assert_eq!(&v, to, "{from:?} assigned {to:?}");
        }
    }
}

#[test]
fn encoded_runs_copy_and_the_last_cells_can_be_taken_back() {
    let cells = sample();
    let mut whole = Encoder::new();
    let mut starts = Vec::new();
    for v in &cells {
        starts.push(whole.len());
        whole.push(v.as_cell());
    }
    let whole = whole.finish();
    // Copy the middle as raw bytes, push a cell and take it back.
    let mut e = Encoder::new();
    e.push(cells[0].as_cell());
    e.push_encoded(&whole[starts[1]..starts[cells.len() - 1]]);
    let at = e.len();
    e.push(Value::Text("taken back".into()).as_cell());
    e.truncate(at);
    e.push(cells[cells.len() - 1].as_cell());
    assert_eq!(e.finish(), whole);
}

#[test]
fn skipping_a_cell_steps_exactly_over_what_reading_it_reads() {
    let mut e = Encoder::new();
    sample().iter().for_each(|v| e.push(v.as_cell()));
    let bytes = e.finish();
    let (mut read, mut skip) = (Decoder::new(&bytes).unwrap(), Decoder::new(&bytes).unwrap());
    while read.next_cell().unwrap().is_some() {
        assert!(skip.skip_cell().unwrap());
        assert_eq!(skip.position(), read.position());
    }
    assert!(!skip.skip_cell().unwrap());
    for cut in 1..bytes.len() {
        let mut d = Decoder::new(&bytes[..cut]).unwrap();
        let mut r = Decoder::new(&bytes[..cut]).unwrap();
        loop {
            let (s, n) = (d.skip_cell(), r.next_cell());
            assert_eq!(s.is_err(), n.is_err(), "cut at {cut}");
            if !matches!(s, Ok(true)) {
                break;
            }
        }
    }
}

#[test]
fn values_print_like_sql_literals() {
    assert_eq!(Value::Text("it's".into()).to_string(), "'it''s'");
    assert_eq!(Value::Bytes(vec![0xca, 0xfe]).to_string(), "0xCAFE");
    assert_eq!(Value::Null.to_string(), "NULL");
    assert_eq!(Value::Int(-3).to_string(), "-3");
}

#[test]
fn timestamps_convert_to_utc_calendar_time() {
    let t = Timestamp {
        seconds: 951_782_400,
        micros: 5,
    }; // 2000-02-29
    assert_eq!(t.to_string(), "2000-02-29 00:00:00.000005");
    let t = Timestamp {
        seconds: 2_147_483_647,
        micros: 0,
    };
    assert_eq!(t.to_string(), "2038-01-19 03:14:07.000000");
    assert_eq!(
        Timestamp {
            seconds: 0,
            micros: 0
        }
        .to_string(),
        "0000-00-00 00:00:00.000000"
    );
}
