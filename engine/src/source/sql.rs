//! Sluice values as MySQL statement parameters. The source sends keys in
//! its snapshot and verify reads with these; the MySQL target, which speaks
//! the same protocol, sends its rows with them too. Kept with the source so
//! that the source builds without any target.

use mysql_async::Value as My;

use crate::change::Value;

/// A Sluice value as a statement parameter. TIMESTAMPs are sent as UTC
/// calendar time; the session runs with `time_zone = '+00:00'`.
pub fn param(v: &Value) -> My {
    match v {
        Value::Null => My::NULL,
        Value::Int(i) => My::Int(*i),
        Value::UInt(u) => My::UInt(*u),
        Value::Double(f) => My::Double(*f),
        Value::Float(f) => My::Float(*f),
        Value::Decimal(s) | Value::Text(s) | Value::Json(s) => My::Bytes(s.as_bytes().to_vec()),
        Value::Bytes(b) => My::Bytes(b.clone()),
        Value::Date(d) => My::Date(d.year, d.month, d.day, 0, 0, 0, 0),
        Value::DateTime(t) => datetime(t),
        Value::Timestamp(ts) if ts.seconds == 0 && ts.micros == 0 => My::Date(0, 0, 0, 0, 0, 0, 0),
        Value::Timestamp(ts) => datetime(&ts.to_utc()),
        Value::Time(t) => My::Time(
            t.negative,
            u32::from(t.hours / 24),
            (t.hours % 24) as u8,
            t.minutes,
            t.seconds,
            t.micros,
        ),
    }
}

fn datetime(t: &sluice_cell::DateTime) -> My {
    My::Date(
        t.date.year,
        t.date.month,
        t.date.day,
        t.hour,
        t.minute,
        t.second,
        t.micros,
    )
}
