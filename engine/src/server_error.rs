//! The MySQL/MariaDB server error codes Sluice decides on, by name, and
//! the one classifier of them.
//!
//! A source and a target see the same codes and must agree on what they
//! mean: a dropped connection is a reconnect on either side, never a
//! definite error, and a refusal of the statement itself is never retried
//! on the source. Codes not named here are definite on both sides: a
//! retry would fail the same way, and the pipeline's policy decides.
//! The codes are the server's (MySQL 5.7/8.0 and MariaDB share them; the
//! 2000s are the client library's, which servers also send on a kill).

use crate::error::ErrorKind;

/// `ER_TABLE_EXISTS_ERROR`: CREATE or RENAME onto a table that exists.
pub const TABLE_EXISTS: u16 = 1050;
/// `ER_CON_COUNT_ERROR`: too many connections.
pub const TOO_MANY_CONNECTIONS: u16 = 1040;
/// `ER_SERVER_SHUTDOWN`: the server is shutting down.
pub const SERVER_SHUTDOWN: u16 = 1053;
/// `ER_BAD_FIELD_ERROR`: no such column.
pub const BAD_FIELD: u16 = 1054;
/// `ER_DUP_FIELDNAME`: the column exists.
pub const DUP_FIELDNAME: u16 = 1060;
/// `ER_DUP_KEYNAME`: the index exists.
pub const DUP_KEYNAME: u16 = 1061;
/// `ER_CANT_DROP_FIELD_OR_KEY`: no such column or index to drop.
pub const CANT_DROP_FIELD_OR_KEY: u16 = 1091;
/// `ER_NO_SUCH_TABLE`.
pub const NO_SUCH_TABLE: u16 = 1146;
/// `ER_LOCK_WAIT_TIMEOUT`.
pub const LOCK_WAIT_TIMEOUT: u16 = 1205;
/// `ER_LOCK_DEADLOCK`.
pub const LOCK_DEADLOCK: u16 = 1213;
/// `ER_MASTER_FATAL_ERROR_READING_BINLOG`: the binlog asked for is gone
/// (purged) or unreadable.
pub const FATAL_READING_BINLOG: u16 = 1236;
/// `ER_OPTION_PREVENTS_STATEMENT`: `read_only` (or `super_read_only`) is on.
pub const READ_ONLY: u16 = 1290;
/// `ER_READ_ONLY_MODE` (MySQL): the server is in read-only mode.
pub const READ_ONLY_MODE: u16 = 1836;
/// `ER_CONNECTION_KILLED` (MariaDB).
pub const CONNECTION_KILLED: u16 = 1927;
/// `CR_SERVER_GONE_ERROR`.
pub const SERVER_GONE: u16 = 2006;
/// `CR_SERVER_LOST`.
pub const SERVER_LOST: u16 = 2013;

/// The connection is gone: reconnect and go on from the checkpoint.
pub fn is_disconnect(code: u16) -> bool {
    matches!(
        code,
        SERVER_SHUTDOWN | CONNECTION_KILLED | SERVER_GONE | SERVER_LOST
    )
}

/// What a target's error means: a disconnect, a busy server or a
/// read-only one (a failover in progress, or an operator) can go away, so
/// the group is retried with backoff; anything else is the statement's
/// fault and definite.
pub fn target_kind(code: u16) -> ErrorKind {
    if is_disconnect(code)
        || matches!(
            code,
            LOCK_WAIT_TIMEOUT | LOCK_DEADLOCK | TOO_MANY_CONNECTIONS | READ_ONLY | READ_ONLY_MODE
        )
    {
        ErrorKind::Transient
    } else {
        ErrorKind::Definite
    }
}

/// What the operator can do about a code, for the error message.
pub fn hint(code: u16) -> Option<&'static str> {
    match code {
        READ_ONLY | READ_ONLY_MODE => Some(
            "the server is read-only (read_only=ON, or a replica): Sluice keeps the change and retries with backoff until it can write; point the target at the primary or run SET GLOBAL read_only=OFF",
        ),
        TOO_MANY_CONNECTIONS => Some("raise max_connections on the server, or run fewer clients"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disconnects_are_transient_and_refusals_definite() {
        for c in [SERVER_SHUTDOWN, CONNECTION_KILLED, SERVER_GONE, SERVER_LOST] {
            assert!(is_disconnect(c));
            assert_eq!(target_kind(c), ErrorKind::Transient);
        }
        for c in [READ_ONLY, READ_ONLY_MODE, LOCK_DEADLOCK, LOCK_WAIT_TIMEOUT] {
            assert!(!is_disconnect(c));
            assert_eq!(target_kind(c), ErrorKind::Transient);
        }
        // Duplicate key, no such table, data too long: retrying cannot help.
        for c in [1062, NO_SUCH_TABLE, 1406, FATAL_READING_BINLOG] {
            assert_eq!(target_kind(c), ErrorKind::Definite);
        }
        assert!(hint(READ_ONLY).unwrap().contains("read_only=OFF"));
    }
}
