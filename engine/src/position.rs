//! Binlog positions as types.
//!
//! A position is never a string inside the engine: `BinlogPosition` orders by
//! the numeric suffix of the file name and then by the offset, which is the
//! order the server writes them in. Equality (and hashing) use exactly the
//! same two numbers, so `a == b` exactly when `a.cmp(b)` is `Equal`.
//!
//! # The base name
//! The part of the file name before the suffix (`binlog`, `mysql-bin`) is
//! kept for messages and for asking the server for a file, but it is not
//! part of a position's identity: within one server's binlog only the
//! suffix orders files. A server whose `log_bin_basename` changed starts a
//! new series whose positions cannot be compared with the old ones; Sluice
//! then asks the server for the checkpoint's file by its old name, the
//! server refuses the dump because the file does not exist (error 1236, a
//! definite source error), and the source stops with that error instead of
//! resuming at a wrong place. MariaDB GTIDs are `Gtid` values. Strings
//! appear only at the edges (config, checkpoint table, logs), parsed once.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// A binlog file name with its sequence number (`mysql-bin.000042` -> 42).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BinlogFile {
    name: String,
    index: u64,
}

impl BinlogFile {
    /// Parse a binlog file name; it must end in `.<digits>` as every server
    /// names them.
    pub fn new(name: &str) -> Result<Self, String> {
        let index = name
            .rsplit_once('.')
            .and_then(|(_, n)| n.parse::<u64>().ok())
            .ok_or_else(|| {
                format!("binlog file name `{name}` does not end in .<number> (like binlog.000003)")
            })?;
        Ok(BinlogFile {
            name: name.to_owned(),
            index,
        })
    }

    /// The file name as the server knows it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The numeric suffix.
    pub fn index(&self) -> u64 {
        self.index
    }
}

/// A point in the binlog: the byte offset `pos` in `file`. Used both for
/// "start reading here" and "this transaction ends here". Compared by file
/// suffix and offset only (module doc, # The base name).
#[derive(Clone, Debug)]
pub struct BinlogPosition {
    pub file: BinlogFile,
    pub pos: u64,
}

impl PartialEq for BinlogPosition {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for BinlogPosition {}

impl std::hash::Hash for BinlogPosition {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (self.file.index, self.pos).hash(state);
    }
}

impl Ord for BinlogPosition {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.file.index, self.pos).cmp(&(other.file.index, other.pos))
    }
}

impl PartialOrd for BinlogPosition {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for BinlogPosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file.name, self.pos)
    }
}

impl FromStr for BinlogPosition {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (file, pos) = s
            .rsplit_once(':')
            .ok_or_else(|| format!("`{s}` is not a binlog position like binlog.000003:1234"))?;
        let pos = pos
            .parse()
            .map_err(|_| format!("`{pos}` in `{s}` is not a byte offset"))?;
        Ok(BinlogPosition {
            file: BinlogFile::new(file)?,
            pos,
        })
    }
}

/// A MariaDB GTID: domain, server id and sequence number (`0-1-42`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Gtid {
    pub domain: u32,
    pub server_id: u32,
    pub sequence: u64,
}

impl fmt::Display for Gtid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}-{}", self.domain, self.server_id, self.sequence)
    }
}

impl FromStr for Gtid {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("`{s}` is not a MariaDB GTID like 0-1-42 (domain-server-sequence)");
        let mut it = s.trim().splitn(3, '-');
        let domain = it.next().and_then(|x| x.parse().ok()).ok_or_else(bad)?;
        let server_id = it.next().and_then(|x| x.parse().ok()).ok_or_else(bad)?;
        let sequence = it.next().and_then(|x| x.parse().ok()).ok_or_else(bad)?;
        Ok(Gtid {
            domain,
            server_id,
            sequence,
        })
    }
}

impl Gtid {
    /// Parse the payload of a MariaDB GTID event (type 162): sequence
    /// number (u64 LE), domain id (u32 LE), flags (u8), then optional extra
    /// bytes. The server id comes from the event header. mysql_common does
    /// not parse this event, so the engine does.
    pub fn from_mariadb_event(payload: &[u8], server_id: u32) -> Result<(Gtid, u8), String> {
        if payload.len() < 13 {
            return Err(format!(
                "MariaDB GTID event payload has {} bytes, expected at least 13",
                payload.len()
            ));
        }
        let sequence = u64::from_le_bytes(payload[0..8].try_into().expect("8 bytes"));
        let domain = u32::from_le_bytes(payload[8..12].try_into().expect("4 bytes"));
        Ok((
            Gtid {
                domain,
                server_id,
                sequence,
            },
            payload[12],
        ))
    }
}

/// A MySQL GTID: the UUID of the server that committed the transaction and
/// its transaction number (`3e11fa47-71ca-11e1-9e33-c80aa9429562:23`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MysqlGtid {
    pub sid: [u8; 16],
    pub gno: u64,
}

fn uuid_text(sid: &[u8; 16]) -> String {
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

fn uuid_bytes(text: &str) -> Option<[u8; 16]> {
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
    fn insert(&mut self, sid: [u8; 16], a: u64, b: u64) {
        let iv = self.0.entry(sid).or_default();
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

/// A MariaDB GTID state: the last GTID of each replication domain, as
/// `@@gtid_binlog_pos` and `@slave_connect_state` spell it (`0-1-42,1-2-7`).
/// A server with several domains (multi-source, or sessions setting
/// `gtid_domain_id`) orders transactions only within a domain, so a resume
/// point needs one GTID per domain, not just the last one seen.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GtidState(BTreeMap<u32, Gtid>);

impl GtidState {
    /// Record `gtid` as its domain's latest.
    pub fn apply(&mut self, gtid: Gtid) {
        self.0.insert(gtid.domain, gtid);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The GTID of one domain.
    pub fn get(&self, domain: u32) -> Option<&Gtid> {
        self.0.get(&domain)
    }
}

impl fmt::Display for GtidState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for g in self.0.values() {
            if !first {
                f.write_str(",")?;
            }
            first = false;
            write!(f, "{g}")?;
        }
        Ok(())
    }
}

impl FromStr for GtidState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let mut state = GtidState::default();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let g: Gtid = part.parse()?;
            if state.0.contains_key(&g.domain) {
                return Err(format!(
                    "`{s}` names domain {} twice; a GTID state has one GTID per domain",
                    g.domain
                ));
            }
            state.apply(g);
        }
        Ok(state)
    }
}

/// Where the engine reads from when a pipeline has no checkpoint yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StartFrom {
    /// The end of the binlog when the engine starts.
    Current,
    /// A given file and offset.
    Position(BinlogPosition),
    /// A MariaDB GTID state (one GTID per domain, `0-1-42,1-2-7`): start
    /// right after those transactions.
    Gtid(GtidState),
}

impl FromStr for StartFrom {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s == "current" {
            Ok(StartFrom::Current)
        } else if s.contains(':') {
            s.parse().map(StartFrom::Position)
        } else if s.contains('-') {
            s.parse().map(StartFrom::Gtid)
        } else {
            Err(format!(
                "`{s}` is not a start: use \"current\", a file:pos like \"binlog.000003:1234\" or a MariaDB GTID like \"0-1-42\""
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_order_by_file_number_then_offset() {
        let a: BinlogPosition = "binlog.000009:900".parse().unwrap();
        let b: BinlogPosition = "binlog.000010:4".parse().unwrap();
        let c: BinlogPosition = "binlog.000010:5".parse().unwrap();
        assert!(a < b && b < c);
        assert_eq!(c.to_string(), "binlog.000010:5");
    }

    #[test]
    fn starts_parse_and_bad_ones_say_what_is_expected() {
        assert_eq!("current".parse::<StartFrom>().unwrap(), StartFrom::Current);
        let StartFrom::Gtid(state) = "0-1-42".parse::<StartFrom>().unwrap() else {
            panic!("a GTID start");
        };
        assert_eq!(
            state.get(0),
            Some(&Gtid {
                domain: 0,
                server_id: 1,
                sequence: 42
            })
        );
        assert!(matches!(
            "mysql-bin.000003:1234".parse::<StartFrom>().unwrap(),
            StartFrom::Position(_)
        ));
        assert!(
            "yesterday"
                .parse::<StartFrom>()
                .unwrap_err()
                .contains("current")
        );
        assert!("binlog:12".parse::<StartFrom>().is_err());
    }

    const SID: &str = "3e11fa47-71ca-11e1-9e33-c80aa9429562";

    #[test]
    fn mysql_gtid_events_and_sets_parse_from_bytes_and_text() {
        // GTID_LOG_EVENT: flags, UUID, gno, then logical clock fields.
        let sid = uuid_bytes(SID).unwrap();
        let mut p = vec![1u8];
        p.extend(sid);
        p.extend(23i64.to_le_bytes());
        p.extend([2]);
        p.extend(7i64.to_le_bytes());
        p.extend(8i64.to_le_bytes());
        let g = MysqlGtid::from_event(&p).unwrap();
        assert_eq!(g.to_string(), format!("{SID}:23"));
        assert!(MysqlGtid::from_event(&p[..20]).is_err());
        let mut zero = p.clone();
        zero[17..25].copy_from_slice(&0i64.to_le_bytes());
        assert!(MysqlGtid::from_event(&zero).is_err());

        // PREVIOUS_GTIDS: 1 UUID with intervals [1,6) and [7,8), end exclusive.
        let mut prev = 1u64.to_le_bytes().to_vec();
        prev.extend(sid);
        prev.extend(2u64.to_le_bytes());
        for n in [1u64, 6, 7, 8] {
            prev.extend(n.to_le_bytes());
        }
        let mut set = MysqlGtidSet::from_previous_gtids_event(&prev).unwrap();
        assert_eq!(set.to_string(), format!("{SID}:1-5:7"));
        assert!(MysqlGtidSet::from_previous_gtids_event(&prev[..40]).is_err());
        // Adding 6 joins the intervals; text round-trips.
        set.add(MysqlGtid { sid, gno: 6 });
        assert_eq!(set.to_string(), format!("{SID}:1-7"));
        assert!(set.contains(&MysqlGtid { sid, gno: 7 }));
        assert!(!set.contains(&MysqlGtid { sid, gno: 8 }));
        let text = format!("{SID}:1-3:5, 00000000-0000-0000-0000-000000000001:9");
        let parsed: MysqlGtidSet = text.parse().unwrap();
        assert_eq!(
            parsed.to_string(),
            format!("00000000-0000-0000-0000-000000000001:9,{SID}:1-3:5")
        );
        assert_eq!(parsed.to_string().parse::<MysqlGtidSet>().unwrap(), parsed);
        for bad in [
            SID.to_string(),
            format!("{SID}:0"),
            format!("{SID}:5-3"),
            "nope:1".into(),
        ] {
            assert!(bad.parse::<MysqlGtidSet>().is_err(), "{bad}");
        }
    }

    #[test]
    fn gtid_states_keep_one_gtid_per_domain() {
        let mut s: GtidState = "1-2-7, 0-1-42".parse().unwrap();
        assert_eq!(s.to_string(), "0-1-42,1-2-7");
        s.apply("1-3-8".parse().unwrap());
        s.apply("5-1-1".parse().unwrap());
        assert_eq!(s.to_string(), "0-1-42,1-3-8,5-1-1");
        assert!(
            "0-1-1,0-2-2"
                .parse::<GtidState>()
                .unwrap_err()
                .contains("twice")
        );
        assert!("0-1".parse::<GtidState>().is_err());
        assert!("".parse::<GtidState>().unwrap().is_empty());
    }

    #[test]
    fn mariadb_gtid_event_payload_is_decoded() {
        let mut p = 77u64.to_le_bytes().to_vec();
        p.extend_from_slice(&3u32.to_le_bytes());
        p.push(1);
        let (g, flags) = Gtid::from_mariadb_event(&p, 9).unwrap();
        assert_eq!(g.to_string(), "3-9-77");
        assert_eq!(flags, 1);
        assert!(Gtid::from_mariadb_event(&p[..12], 9).is_err());
    }

    #[test]
    fn equality_and_order_agree_whatever_the_base_name() {
        let p = |s: &str| s.parse::<BinlogPosition>().unwrap();
        let (a, b) = (p("mysql-bin.000007:120"), p("binlog.000007:120"));
        assert_eq!(a.cmp(&b), Ordering::Equal);
        assert_eq!(a, b, "Eq agrees with Ord");
        let hash = |x: &BinlogPosition| {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            x.hash(&mut h);
            h.finish()
        };
        assert_eq!(hash(&a), hash(&b), "Hash agrees with Eq");
        let c = p("binlog.000007:121");
        assert!(a < c && a != c);
        assert!(p("binlog.000008:4") > c);
    }
}
