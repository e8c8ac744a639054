//! Binlog positions as types.
//!
//! A position is never a string inside the engine: `BinlogPosition` orders by
//! the numeric suffix of the file name and then by the offset, which is the
//! order the server writes them in. MariaDB GTIDs are `Gtid` values. Strings
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
/// "start reading here" and "this transaction ends here".
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BinlogPosition {
    pub file: BinlogFile,
    pub pos: u64,
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
}
