//! Where the one binlog reader starts (the module doc of `engine`, # Where
//! reading starts): the oldest of the pipelines' checkpoints and, for the
//! pipelines without one, the configured start.
//!
//! # MySQL GTIDs
//! When the oldest start carries a MySQL GTID set (the source has
//! `gtid_mode=ON`), the reader asks for every transaction not in it
//! (`COM_BINLOG_DUMP_GTID`) instead of a file and offset. A set names the
//! same transactions on every server of a replication topology, so the
//! same checkpoint resumes on a promoted replica; the server refuses a
//! set it has not executed (`Server::check_has`). Pipelines then skip by
//! GTID, not by position (`Pipeline::applied`).

use mysql_async::Conn;
use mysql_async::prelude::Queryable;

use crate::pipeline::Pipeline;
use crate::position::{BinlogPosition, MysqlGtidSet, StartFrom};
use crate::source::{ReadFrom, Server};
use crate::target::{Checkpoint, Target};

/// Whether the source is MySQL with `gtid_mode=ON` (MariaDB has no such
/// variable).
pub async fn mysql_gtids_on(conn: &mut Conn) -> bool {
    let row: Result<Option<(String, String)>, _> = conn
        .query_first("SHOW GLOBAL VARIABLES LIKE 'gtid_mode'")
        .await;
    matches!(row, Ok(Some((_, v))) if v.eq_ignore_ascii_case("ON"))
}

/// Where the reader starts, from the pipelines' checkpoints (`None`: the
/// pipeline has none) and the configured start resolved to a position and
/// the GTID set executed there (`None` for a GTID start). Also returns
/// the position of the start chosen, when it has one.
pub fn read_from(
    start: &StartFrom,
    checkpoints: &[Option<Checkpoint>],
    configured: Option<&(BinlogPosition, MysqlGtidSet)>,
) -> Result<(ReadFrom, Option<BinlogPosition>), String> {
    let any_checkpoint = checkpoints.iter().any(Option::is_some);
    let all_checkpoints = checkpoints.iter().all(Option::is_some);
    match (start, any_checkpoint) {
        (StartFrom::Gtid(g), false) => return Ok((ReadFrom::Gtid(g.clone()), None)),
        (StartFrom::MysqlGtids(s), false) => return Ok((ReadFrom::MysqlGtids(s.clone()), None)),
        (StartFrom::Gtid(_) | StartFrom::MysqlGtids(_), true) if !all_checkpoints => {
            return Err(
                "source.start is a GTID start, but some pipelines have checkpoints and others not; \
                 start the new pipelines from a file:pos, or remove the other checkpoints"
                    .to_owned(),
            );
        }
        _ => {}
    }
    let mut starts: Vec<(BinlogPosition, MysqlGtidSet)> = checkpoints
        .iter()
        .flatten()
        .map(|c| (c.position.clone(), c.gtid_set.clone()))
        .collect();
    if !all_checkpoints {
        starts.extend(configured.cloned());
    }
    if starts.is_empty() {
        return Err("no pipeline to start".into());
    }
    // With MySQL GTIDs the oldest start is the set inside every other: the
    // positions may belong to different servers after a failover. Without,
    // positions are one server's, and the smallest is the oldest.
    let oldest = if starts.iter().all(|(_, s)| !s.is_empty()) {
        starts
            .iter()
            .position(|(_, s)| starts.iter().all(|(_, o)| s.is_subset_of(o)))
            .ok_or_else(|| {
                let sets: Vec<String> = starts.iter().map(|(p, s)| format!("{s} (at {p})")).collect();
                format!(
                    "the pipelines' GTID sets are not one inside another, so no one start serves them all: {}. Each pipeline's set is what its target holds; reset the checkpoints of the pipelines that are ahead on another history (`sluice reset-checkpoint`)",
                    sets.join("; ")
                )
            })?
    } else {
        (0..starts.len())
            .min_by(|&a, &b| starts[a].0.cmp(&starts[b].0))
            .expect("not empty")
    };
    let (position, set) = starts.swap_remove(oldest);
    Ok(if set.is_empty() {
        (ReadFrom::Position(position.clone()), Some(position))
    } else {
        (ReadFrom::MysqlGtids(set), Some(position))
    })
}

/// On a source decoded with a schema history (keyed by one server's
/// positions), reading by GTID set is allowed only on the server the
/// checkpoint's position belongs to: the set executed at that position on
/// this server must be the checkpoint's set. On another server (a promoted
/// replica) the history's positions mean nothing: refused, never guessed.
/// A server lacking some of the set's transactions is refused first
/// (`check_has_gtids`, which opening the dump runs too).
pub async fn same_server(
    conn: &mut Conn,
    set: &MysqlGtidSet,
    position: Option<&BinlogPosition>,
) -> Result<(), String> {
    crate::source::check_has_gtids(conn, set)
        .await
        .map_err(|e| e.to_string())?;
    let Some(position) = position else {
        return Err("the source writes no row metadata, so Sluice keeps a schema history keyed by binlog position, and a GTID start without a checkpoint has none: start from \"current\", a file:pos, or a snapshot".into());
    };
    let here = crate::source::snapshot::mysql_gtids_at(conn, position)
        .await
        .unwrap_or_default();
    if here != *set {
        return Err(format!(
            "the checkpoint's position {position} is not this server's: there it follows {here}, and the checkpoint holds {set}. On a source without row metadata the schema history is keyed by the positions of the server it was read from, so moving to another server (a promoted replica) needs a new snapshot: `sluice reset-checkpoint`, then start with snapshot = \"initial\""
        ));
    }
    Ok(())
}

/// The first server of `[source] url` that answers, in list order, with
/// its index and a connection. A refused login is definite at once; only
/// servers that cannot be reached are passed over.
pub async fn connect_first(
    config: &crate::config::SourceConfig,
) -> Result<(usize, Server, Conn), String> {
    let mut down = Vec::new();
    for i in 0..config.servers() {
        let server = Server::new(&config.server(i)).map_err(|e| e.to_string())?;
        match server.connect().await {
            Ok(conn) => {
                if !down.is_empty() {
                    tracing::warn!(server = i + 1, passed_over = %down.join("; "), "reading from a later server of [source] url");
                }
                return Ok((i, server, conn));
            }
            Err(crate::source::SourceError::Disconnected(m)) if config.servers() > 1 => {
                down.push(format!("server {}: {m}", i + 1))
            }
            Err(e) => return Err(e.to_string()),
        }
    }
    Err(format!(
        "no server of [source] url answers: {}",
        down.join("; ")
    ))
}

/// Move every checkpoint read from another server of the list to this one,
/// with its schema history (`source::history::rebase`), storing each in
/// its target before anything is read. `pipelines` and `checkpoints` pair
/// up by index. `first` is this server's place in the list, for the log.
pub async fn move_checkpoints<T: Target>(
    conn: &mut Conn,
    pipelines: &mut [Pipeline<T>],
    checkpoints: &mut [Option<Checkpoint>],
    first: usize,
) -> Result<(), String> {
    for (p, cp) in pipelines.iter_mut().zip(checkpoints.iter_mut()) {
        let Some(c) = cp.as_ref().filter(|c| !c.gtid_set.is_empty()) else {
            continue;
        };
        let moved = crate::source::history::rebase::onto(conn, c)
            .await
            .map_err(|e| format!("pipeline `{}`: {e}", p.name))?;
        if let Some(moved) = moved {
            tracing::warn!(pipeline = %p.name, from = %c.position, to = %moved.position, gtid_set = %moved.gtid_set, server = first + 1, "the checkpoint and schema history move to this server of [source] url");
            p.move_checkpoint(moved.clone())
                .await
                .map_err(|e| format!("pipeline `{}`: {e}", p.name))?;
            *cp = Some(moved);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SID: &str = "3e11fa47-71ca-11e1-9e33-c80aa9429562";

    fn cp(pos: u64, set: &str) -> Option<Checkpoint> {
        let mut c = Checkpoint::at(format!("binlog.000001:{pos}").parse().unwrap());
        c.gtid_set = set.parse().unwrap();
        Some(c)
    }

    #[test]
    fn the_oldest_start_wins_and_brings_its_gtid_set() {
        let s1 = format!("{SID}:1-5");
        let s2 = format!("{SID}:1-9");
        let (from, at) =
            read_from(&StartFrom::Current, &[cp(900, &s2), cp(500, &s1)], None).unwrap();
        assert_eq!(from, ReadFrom::MysqlGtids(s1.parse().unwrap()));
        assert_eq!(
            at,
            Some("binlog.000001:500".parse().unwrap()),
            "and its position"
        );
        let from = read_from(&StartFrom::Current, &[cp(900, ""), cp(500, "")], None)
            .unwrap()
            .0;
        assert_eq!(
            from,
            ReadFrom::Position("binlog.000001:500".parse().unwrap())
        );
        // A new pipeline starts at the configured position, older here.
        let configured = (
            "binlog.000001:100".parse().unwrap(),
            format!("{SID}:1-2").parse().unwrap(),
        );
        let from = read_from(
            &StartFrom::Current,
            &[cp(900, &s2), None],
            Some(&configured),
        )
        .unwrap()
        .0;
        assert_eq!(from, ReadFrom::MysqlGtids(configured.1.clone()));
        let gtid_start = StartFrom::MysqlGtids(s1.parse().unwrap());
        assert_eq!(
            read_from(&gtid_start, &[None], None).unwrap().0,
            ReadFrom::MysqlGtids(s1.parse().unwrap())
        );
        assert!(read_from(&gtid_start, &[cp(900, &s2), None], None).is_err());
    }

    #[test]
    fn with_gtid_sets_the_set_inside_the_others_wins_whatever_the_positions() {
        // After a failover one checkpoint holds the new server's position,
        // which may be smaller than the old server's: the set decides.
        let small = format!("{SID}:1-5");
        let big = format!("{SID}:1-9");
        let (from, at) =
            read_from(&StartFrom::Current, &[cp(100, &big), cp(900, &small)], None).unwrap();
        assert_eq!(from, ReadFrom::MysqlGtids(small.parse().unwrap()));
        assert_eq!(at, Some("binlog.000001:900".parse().unwrap()));
        // Sets that are not one inside the other: no start serves both.
        let other = "4e11fa47-71ca-11e1-9e33-c80aa9429562:1-3";
        let e = read_from(
            &StartFrom::Current,
            &[cp(100, &small), cp(900, other)],
            None,
        )
        .unwrap_err();
        assert!(e.contains(&small) && e.contains(other), "{e}");
    }
}
