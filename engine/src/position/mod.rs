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

mod mysql_gtid;

#[cfg(test)]
use mysql_gtid::uuid_bytes;
pub use mysql_gtid::{MysqlGtid, MysqlGtidSet};

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
    /// A MySQL GTID set (`uuid:1-42`): the transactions already copied;
    /// the server sends every other one.
    MysqlGtids(MysqlGtidSet),
}

impl FromStr for StartFrom {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s == "current" {
            Ok(StartFrom::Current)
        } else if MysqlGtidSet::looks_like(s) {
            s.parse().map(StartFrom::MysqlGtids)
        } else if s.contains(':') {
            s.parse().map(StartFrom::Position)
        } else if s.contains('-') {
            s.parse().map(StartFrom::Gtid)
        } else {
            Err(format!(
                "`{s}` is not a start: use \"current\", a file:pos like \"binlog.000003:1234\", a MariaDB GTID like \"0-1-42\" or a MySQL GTID set like \"3e11fa47-71ca-11e1-9e33-c80aa9429562:1-42\""
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
        let StartFrom::MysqlGtids(set) = format!("{SID}:1-42").parse::<StartFrom>().unwrap() else {
            panic!("a MySQL GTID set start");
        };
        assert_eq!(set.to_string(), format!("{SID}:1-42"));
    }

    #[test]
    fn a_set_is_a_subset_only_when_every_interval_is_covered() {
        let set = |s: &str| s.parse::<MysqlGtidSet>().unwrap();
        let big = set(&format!("{SID}:1-10:20-30"));
        assert!(set(&format!("{SID}:2-5:21")).is_subset_of(&big));
        assert!(set("").is_subset_of(&big));
        assert!(!set(&format!("{SID}:9-11")).is_subset_of(&big));
        assert!(!set("00000000-0000-0000-0000-000000000001:1").is_subset_of(&big));
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
