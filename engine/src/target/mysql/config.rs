//! `[targets.NAME]` with `kind = "mysql"`: the MySQL/MariaDB target's own
//! config section, parsed with every mistake reported (file, line, key).

use crate::config::{Section, url_check};

/// The keys this section accepts; docs/configuration.md lists exactly these.
pub const KEYS: &[&str] = &["kind", "url"];

/// A MySQL or MariaDB target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MysqlConfig {
    /// `mysql://user:password@host:port/database`. Tables without a
    /// database in their name go to this database, and Sluice keeps its
    /// own tables (`sluice_checkpoint`, ...) there.
    pub url: String,
}

/// Parse the section; `None` when it has mistakes (already reported).
pub fn parse(s: &mut Section<'_, '_, '_>) -> Option<MysqlConfig> {
    s.check_keys(KEYS);
    let url = s.required_string("url")?;
    if let Err(m) = url_check(&url, true) {
        s.error("url", m);
        return None;
    }
    Some(MysqlConfig { url })
}
