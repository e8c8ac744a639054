//! MySQL GTIDs: one transaction's (`uuid:23`) and sets of them
//! (`uuid:1-5:7,uuid2:1-3`, as `@@gtid_executed` prints them).
//!
//! # Why a stored set is complete
//! A set is only ever made whole: from the server's `Executed_Gtid_Set`
//! read together with a position (`SHOW MASTER STATUS`, under the
//! snapshot's lock, or at a start position), or from a stored checkpoint,
//! and then grown by every GTID read after that position, in binlog order.
//! The server's own executed set at a position is exactly that: the
//! `PREVIOUS_GTIDS` of its file plus the GTIDs before the position. So a
//! set handed to `COM_BINLOG_DUMP_GTID` names every transaction up to the
//! checkpoint, and the server sends none of them again.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// A MySQL GTID: the UUID of the server that committed the transaction and
/// its transaction number (`3e11fa47-71ca-11e1-9e33-c80aa9429562:23`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MysqlGtid {
    pub sid: [u8; 16],
    pub gno: u64,
}

pub(super) fn uuid_text(sid: &[u8; 16]) -> String {
    let h: String = sid.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

pub(crate) fn uuid_bytes(text: &str) -> Option<[u8; 16]> {
    let hex: String = text.chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 || text.len() != 36 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

impl fmt::Display for MysqlGtid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", uuid_text(&self.sid), self.gno)
    }
}

impl MysqlGtid {
    /// Parse a GTID_LOG_EVENT (type 33) payload: commit flags (u8), the
    /// server UUID (16 bytes), the transaction number (i64 LE, at least 1),
    /// then logical clock fields this reader does not need.
    pub fn from_event(payload: &[u8]) -> Result<MysqlGtid, String> {
        if payload.len() < 25 {
            return Err(format!(
                "MySQL GTID event payload has {} bytes, expected at least 25",
                payload.len()
            ));
        }
        let sid: [u8; 16] = payload[1..17].try_into().expect("16 bytes");
        let gno = i64::from_le_bytes(payload[17..25].try_into().expect("8 bytes"));
        if gno < 1 {
            return Err(format!("MySQL GTID event with transaction number {gno}"));
        }
        Ok(MysqlGtid {
            sid,
            gno: gno as u64,
        })
    }
}

/// A MySQL GTID set: per server UUID, intervals of transaction numbers
/// (`uuid:1-5:7,uuid2:1-3`), as `@@gtid_executed` prints it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MysqlGtidSet(BTreeMap<[u8; 16], Vec<(u64, u64)>>);

impl MysqlGtidSet {
    /// Add one GTID, merging it into touching intervals.
    pub fn add(&mut self, g: MysqlGtid) {
        self.insert(g.sid, g.gno, g.gno);
    }

    /// Add the interval `a..=b` of `sid`, keeping intervals sorted, disjoint
    /// and not touching.
    pub(super) fn insert(&mut self, sid: [u8; 16], a: u64, b: u64) {
        let iv = self.0.entry(sid).or_default();
        // The usual case, each transaction's GTID right after the last:
        // grow the last interval in place (no sort, no allocation).
        if let Some(last) = iv.last_mut()
            && last.0 <= a
            && a <= last.1.saturating_add(1)
        {
            last.1 = last.1.max(b);
            return;
        }
        iv.push((a, b));
        iv.sort_unstable();
        let mut merged: Vec<(u64, u64)> = Vec::with_capacity(iv.len());
        for &(a, b) in iv.iter() {
            match merged.last_mut() {
                Some(last) if a <= last.1.saturating_add(1) => last.1 = last.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        *iv = merged;
    }

    pub fn contains(&self, g: &MysqlGtid) -> bool {
        self.0
            .get(&g.sid)
            .is_some_and(|iv| iv.iter().any(|&(a, b)| a <= g.gno && g.gno <= b))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Add every transaction of `other`.
    pub fn extend(&mut self, other: &MysqlGtidSet) {
        for (sid, iv) in &other.0 {
            for &(a, b) in iv {
                self.insert(*sid, a, b);
            }
        }
    }

    /// Each server UUID with its intervals (inclusive, sorted, disjoint).
    pub fn intervals(&self) -> impl Iterator<Item = (&[u8; 16], &[(u64, u64)])> {
        self.0.iter().map(|(sid, iv)| (sid, iv.as_slice()))
    }

    /// Whether every transaction of `self` is in `other`.
    pub fn is_subset_of(&self, other: &MysqlGtidSet) -> bool {
        self.0.iter().all(|(sid, iv)| {
            let theirs = other.0.get(sid).map_or(&[][..], Vec::as_slice);
            iv.iter()
                .all(|&(a, b)| theirs.iter().any(|&(x, y)| x <= a && b <= y))
        })
    }

    /// Whether `s` starts like a set (a UUID and a colon), not like a
    /// `file:pos`.
    pub fn looks_like(s: &str) -> bool {
        s.trim()
            .split_once(':')
            .is_some_and(|(u, _)| uuid_bytes(u).is_some())
    }

    /// Parse a PREVIOUS_GTIDS event (type 35) payload: the number of
    /// UUIDs (u64 LE); per UUID its 16 bytes, the number of intervals (u64
    /// LE) and each interval as start and end (u64 LE, end exclusive).
    pub fn from_previous_gtids_event(payload: &[u8]) -> Result<MysqlGtidSet, String> {
        let short = || {
            format!(
                "PREVIOUS_GTIDS payload of {} bytes is truncated",
                payload.len()
            )
        };
        let u64_at = |at: usize| -> Result<u64, String> {
            Ok(u64::from_le_bytes(
                payload
                    .get(at..at + 8)
                    .ok_or_else(short)?
                    .try_into()
                    .expect("8"),
            ))
        };
        let mut set = MysqlGtidSet::default();
        let n_sids = u64_at(0)?;
        let mut at = 8;
        for _ in 0..n_sids {
            let sid: [u8; 16] = payload
                .get(at..at + 16)
                .ok_or_else(short)?
                .try_into()
                .expect("16");
            let n = u64_at(at + 16)?;
            at += 24;
            for _ in 0..n {
                let (start, end) = (u64_at(at)?, u64_at(at + 8)?);
                if start < 1 || end <= start {
                    return Err(format!(
                        "PREVIOUS_GTIDS interval {start}..{end} is empty or invalid"
                    ));
                }
                set.insert(sid, start, end - 1);
                at += 16;
            }
        }
        Ok(set)
    }
}

impl fmt::Display for MysqlGtidSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (sid, iv)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            f.write_str(&uuid_text(sid))?;
            for &(a, b) in iv {
                if a == b {
                    write!(f, ":{a}")?;
                } else {
                    write!(f, ":{a}-{b}")?;
                }
            }
        }
        Ok(())
    }
}

impl FromStr for MysqlGtidSet {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = |part: &str| {
            format!(
                "`{part}` is not a MySQL GTID set entry like 3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5:7"
            )
        };
        let mut set = MysqlGtidSet::default();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let mut fields = part.split(':');
            let sid = fields
                .next()
                .and_then(uuid_bytes)
                .ok_or_else(|| bad(part))?;
            let mut any = false;
            for range in fields {
                let (a, b) = match range.split_once('-') {
                    Some((a, b)) => (a.parse::<u64>(), b.parse::<u64>()),
                    None => (range.parse::<u64>(), range.parse::<u64>()),
                };
                let (Ok(a), Ok(b)) = (a, b) else {
                    return Err(bad(part));
                };
                if a < 1 || b < a {
                    return Err(bad(part));
                }
                set.insert(sid, a, b);
                any = true;
            }
            if !any {
                return Err(bad(part));
            }
        }
        Ok(set)
    }
}
