//! The schema history: each copied table's shape as versions keyed by
//! binlog position, for a source whose TABLE_MAP events carry no column
//! names (MySQL 5.7, MariaDB before 10.5: no `binlog_row_metadata`).
//!
//! # Why every row is decoded with the shape it was written with
//! A version `(table, at, shape)` says: events after position `at` (up to
//! the next version) were written while the table had `shape`; `None`
//! means the table did not exist. A TABLE_MAP at position `p` is decoded
//! with the last version whose `at` is before `p`, and checked against it
//! first (`shape::check`). Versions come from three places, each exact:
//! * **A read at a known position.** Under the snapshot's global read lock
//!   (no DDL can run, so `information_schema` shows the table at exactly
//!   the snapshot position), or at a start position `s` followed by a scan
//!   of the binlog from `s` to the server's current end that finds no DDL
//!   on the table (so the shape read now is the shape since `s`), see
//!   `reread`.
//! * **A DDL statement in the stream**, at its end position: computed from
//!   the statement where it is understood completely (RENAME and DROP
//!   TABLE, CREATE TABLE … LIKE, and the ALTER/CREATE forms of `alter`);
//!   otherwise read from `information_schema` with the same scan proving
//!   no later DDL on the table has run since. When neither is possible the
//!   source stops with the statement and position. It never guesses.
//! * **The targets.** Every version of a pipeline's tables is stored in its
//!   target in the transaction that moves its checkpoint past the
//!   version's position (`Checkpoint::schema`), so a restart from any
//!   checkpoint finds every version after it, and decodes an old position
//!   with the shape valid there, not today's.
//!
//! A restart reads from the oldest checkpoint. The versions of each table
//! are in the target of every pipeline that copies it, up to that
//! pipeline's checkpoint; versions after the oldest checkpoint that no
//! target holds yet are made again from the stream as above.

pub mod alter;
pub mod rebase;
pub mod reread;

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::ddl::{Ddl, DdlKind};
use super::shape::TableShape;
use crate::config::TablePattern;
use crate::position::BinlogPosition;

/// One version of one table's shape.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaVersion {
    pub database: String,
    pub table: String,
    /// Events after this position have `shape`.
    #[serde(with = "position_text")]
    pub at: BinlogPosition,
    /// `None`: the table does not exist after `at`.
    pub shape: Option<TableShape>,
}

mod position_text {
    use super::BinlogPosition;
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(p: &BinlogPosition, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&p.to_string())
    }
    pub fn deserialize<'d, D: Deserializer<'d>>(d: D) -> Result<BinlogPosition, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// What following a statement needs.
#[derive(Debug, PartialEq)]
pub enum Follow {
    /// The history is up to date.
    Done,
    /// These tables must be read again from `information_schema`, proven
    /// current by a scan (`reread`).
    Reread(Vec<(String, String)>),
}

/// Every version of the tracked tables.
#[derive(Debug, Default)]
pub struct SchemaHistory {
    tracked: Vec<TablePattern>,
    /// Per table, sorted by `at`.
    versions: HashMap<(String, String), Vec<Arc<SchemaVersion>>>,
    /// Versions made since `take_fresh`, for the targets to store.
    fresh: Vec<Arc<SchemaVersion>>,
}

impl SchemaHistory {
    /// A history of the tables the patterns follow (their online schema
    /// change shadows included).
    pub fn new(tracked: Vec<TablePattern>) -> Self {
        SchemaHistory {
            tracked,
            ..SchemaHistory::default()
        }
    }

    pub fn tracks(&self, database: &str, table: &str) -> bool {
        self.tracked.iter().any(|p| p.follows(database, table))
    }

    /// Take a version that a target stored.
    pub fn load(&mut self, v: SchemaVersion) {
        self.put(Arc::new(v));
    }

    /// Record a new version; it goes to the targets with the next
    /// transaction.
    pub fn add(&mut self, v: SchemaVersion) {
        let v = Arc::new(v);
        self.put(v.clone());
        self.fresh.push(v);
    }

    fn put(&mut self, v: Arc<SchemaVersion>) {
        let list = self
            .versions
            .entry((v.database.clone(), v.table.clone()))
            .or_default();
        match list.binary_search_by(|x| x.at.cmp(&v.at)) {
            Ok(i) => list[i] = v,
            Err(i) => list.insert(i, v),
        }
    }

    /// The versions made since the last call.
    pub fn take_fresh(&mut self) -> Vec<Arc<SchemaVersion>> {
        std::mem::take(&mut self.fresh)
    }

    /// The shape of a table for an event at `position`: `Some(shape)` when
    /// a version covers it (`Some(None)`: the table did not exist), `None`
    /// when the history does not know.
    pub fn at(
        &self,
        database: &str,
        table: &str,
        position: &BinlogPosition,
    ) -> Option<Option<&TableShape>> {
        let list = self
            .versions
            .get(&(database.to_owned(), table.to_owned()))?;
        let i = list.partition_point(|v| v.at < *position);
        (i > 0).then(|| list[i - 1].shape.as_ref())
    }

    /// Whether a version of the table covers events after `position`.
    pub fn knows(&self, database: &str, table: &str, position: &BinlogPosition) -> bool {
        let next = BinlogPosition {
            file: position.file.clone(),
            pos: position.pos + 1,
        };
        self.at(database, table, &next).is_some()
    }

    /// Every table with a version.
    pub fn tables(&self) -> Vec<(String, String)> {
        let mut t: Vec<_> = self.versions.keys().cloned().collect();
        t.sort();
        t
    }

    /// Follow a statement that ends at `end`, without I/O where the
    /// statement says enough; otherwise say what to read again.
    pub fn follow(&mut self, ddl: &Ddl, end: &BinlogPosition) -> Follow {
        let tracked = |h: &Self, (d, t): &(String, String)| h.tracks(d, t);
        if !ddl.parsed || (ddl.kind == DdlKind::Other && touches_index(&ddl.statement)) {
            // Any tracked table may have changed.
            let known: Vec<_> = self
                .tables()
                .into_iter()
                .filter(|(d, t)| self.at(d, t, end).is_some_and(|s| s.is_some()))
                .collect();
            return if known.is_empty() {
                Follow::Done
            } else {
                Follow::Reread(known)
            };
        }
        // The shape just before the statement, or as this statement left it.
        let mut now: HashMap<(String, String), Option<Option<TableShape>>> = HashMap::new();
        let before =
            |h: &Self, now: &HashMap<_, Option<Option<TableShape>>>, k: &(String, String)| {
                now.get(k)
                    .cloned()
                    .unwrap_or_else(|| h.at(&k.0, &k.1, end).map(|s| s.cloned()))
            };
        let mut reread = Vec::new();
        match ddl.kind {
            DdlKind::Other => {
                // DROP DATABASE drops every table in it.
                if let Some(db) = dropped_database(&ddl.statement) {
                    for k in self.tables().into_iter().filter(|k| k.0 == db) {
                        if before(self, &now, &k).is_some_and(|s| s.is_some()) {
                            now.insert(k, Some(None));
                        }
                    }
                }
            }
            DdlKind::TruncateTable => {}
            DdlKind::DropTable => {
                for k in ddl.tables.iter().filter(|k| tracked(self, k)) {
                    now.insert(k.clone(), Some(None));
                }
            }
            DdlKind::RenameTable => {
                for pair in ddl.tables.chunks(2) {
                    let [from, to] = pair else { continue };
                    let shape = before(self, &now, from);
                    if tracked(self, from) {
                        now.insert(from.clone(), Some(None));
                    }
                    if tracked(self, to) {
                        match shape {
                            Some(s) => {
                                now.insert(to.clone(), Some(s));
                            }
                            None => reread.push(to.clone()),
                        }
                    }
                }
            }
            DdlKind::CreateTable => {
                let new = &ddl.tables[0];
                if tracked(self, new) {
                    let shape = match ddl.tables.get(1) {
                        Some(like) => before(self, &now, like).flatten(),
                        // The database's default charset is not tracked: a
                        // text column the statement gives no charset makes
                        // it unknown, so read again.
                        None => alter::create(&ddl.statement, None),
                    };
                    match shape {
                        Some(s) => {
                            now.insert(new.clone(), Some(Some(s)));
                        }
                        None => reread.push(new.clone()),
                    }
                }
            }
            DdlKind::AlterTable => {
                let t = &ddl.tables[0];
                if tracked(self, t) {
                    match before(self, &now, t).flatten() {
                        Some(s) => match alter::alter(&ddl.statement, &s) {
                            alter::Altered::Shape(s, None) => {
                                now.insert(t.clone(), Some(Some(s)));
                            }
                            alter::Altered::Shape(s, Some(to)) => {
                                now.insert(t.clone(), Some(None));
                                let to = (t.0.clone(), to);
                                if tracked(self, &to) {
                                    now.insert(to, Some(Some(s)));
                                }
                            }
                            alter::Altered::Unknown => reread.push(t.clone()),
                        },
                        None => reread.push(t.clone()),
                    }
                }
            }
        }
        let mut keys: Vec<_> = now.into_iter().collect();
        keys.sort_by(|a, b| a.0.cmp(&b.0));
        for ((database, table), shape) in keys {
            if let Some(shape) = shape
                && !reread.contains(&(database.clone(), table.clone()))
            {
                self.add(SchemaVersion {
                    database,
                    table,
                    at: end.clone(),
                    shape,
                });
            }
        }
        if reread.is_empty() {
            Follow::Done
        } else {
            Follow::Reread(reread)
        }
    }
}

/// The database a `DROP DATABASE|SCHEMA [IF EXISTS] name` drops.
fn dropped_database(statement: &str) -> Option<String> {
    let mut w = statement.split_whitespace();
    let drop = w.next()?.eq_ignore_ascii_case("DROP");
    let what = w.next()?;
    if !drop || !(what.eq_ignore_ascii_case("DATABASE") || what.eq_ignore_ascii_case("SCHEMA")) {
        return None;
    }
    let mut name = w.next()?;
    if name.eq_ignore_ascii_case("IF") {
        w.next()?;
        name = w.next()?;
    }
    Some(
        name.trim_end_matches(';')
            .trim_matches('`')
            .replace("``", "`"),
    )
}

/// `CREATE/DROP INDEX` may add or drop the primary key.
fn touches_index(statement: &str) -> bool {
    let s = statement.to_ascii_uppercase();
    (s.contains("INDEX") || s.contains("KEY")) && s.contains("PRIMARY")
}

#[cfg(test)]
mod tests;
