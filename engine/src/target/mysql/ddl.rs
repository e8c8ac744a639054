//! Schema changes on a MySQL target: the source's own statement, table
//! names mapped, so every column and option is kept. A replay after a crash
//! between a statement and its checkpoint is harmless: the server error
//! codes that mean "already done" are listed with each statement and taken
//! as done.

use super::sql::quote_table;
use crate::change::DdlKind;
use crate::server_error as code;
use crate::target::SchemaChange;

/// The statements that follow a schema change on the target, each with the
/// server error codes that mean "already done" (tolerated, so a replay
/// after a crash between the statement and its checkpoint goes on).
pub(super) fn ddl_statements(change: &SchemaChange<'_>) -> Vec<(String, &'static [u16])> {
    let ddl = change.ddl;
    let name = |i: usize| quote_table(&change.targets[i]);
    match ddl.kind {
        // One table, named in the statement: the statement with the name
        // mapped, so every column and option is kept.
        DdlKind::CreateTable => vec![(ddl.renamed(name), &[code::TABLE_EXISTS])],
        DdlKind::AlterTable => vec![(
            ddl.renamed(name),
            &[
                code::DUP_FIELDNAME,
                code::DUP_KEYNAME,
                code::CANT_DROP_FIELD_OR_KEY,
                code::BAD_FIELD,
            ],
        )],
        DdlKind::TruncateTable => vec![(ddl.renamed(name), &[])],
        // Several tables, perhaps not all copied: only the copied ones.
        DdlKind::DropTable => (0..ddl.tables.len())
            .filter(|&i| change.matched[i])
            .map(|i| (format!("DROP TABLE IF EXISTS {}", name(i)), &[][..]))
            .collect(),
        DdlKind::RenameTable => (0..ddl.tables.len())
            .step_by(2)
            .filter(|&i| change.matched[i])
            .map(|i| {
                let stmt = format!("RENAME TABLE {} TO {}", name(i), name(i + 1));
                (stmt, &[code::TABLE_EXISTS, code::NO_SUCH_TABLE][..])
            })
            .collect(),
        DdlKind::Other => Vec::new(),
    }
}

/// Whether the server understands `ALTER TABLE … RENAME COLUMN` (MySQL 8.0,
/// MariaDB 10.5 and later), from `@@version`.
pub(super) fn supports_rename_column(version: &str) -> bool {
    let mut n = version
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|p| p.parse::<u32>().ok());
    let (major, minor) = (n.next().unwrap_or(0), n.next().unwrap_or(0));
    if version.to_ascii_lowercase().contains("mariadb") {
        (major, minor) >= (10, 5)
    } else {
        major >= 8
    }
}

/// The `(old, new)` names of an `ALTER TABLE t RENAME COLUMN a TO b[, …]`
/// that does nothing else; `None` for any other statement.
pub(super) fn renamed_columns(statement: &str) -> Option<Vec<(String, String)>> {
    let ident = |w: &str| -> Option<String> {
        let w = w.trim();
        match w.strip_prefix('`').and_then(|r| r.strip_suffix('`')) {
            Some(inner) if !inner.contains('`') => Some(inner.to_owned()),
            Some(_) => None,
            None if !w.is_empty()
                && w.chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == '$') =>
            {
                Some(w.to_owned())
            }
            None => None,
        }
    };
    let words: Vec<&str> = statement.split_whitespace().collect();
    if words.len() < 3
        || !words[0].eq_ignore_ascii_case("ALTER")
        || !words[1].eq_ignore_ascii_case("TABLE")
    {
        return None;
    }
    let rest = words[3..].join(" ");
    let mut out = Vec::new();
    for clause in rest.trim_end_matches(';').split(',') {
        let w: Vec<&str> = clause.split_whitespace().collect();
        match w.as_slice() {
            [r, c, a, t, b]
                if r.eq_ignore_ascii_case("RENAME")
                    && c.eq_ignore_ascii_case("COLUMN")
                    && t.eq_ignore_ascii_case("TO") =>
            {
                out.push((ident(a)?, ident(b)?));
            }
            _ => return None,
        }
    }
    (!out.is_empty()).then_some(out)
}

/// A column's definition after its name, as `SHOW CREATE TABLE` prints
/// it (`int(11) DEFAULT NULL`): what `CHANGE COLUMN` needs to keep it.
pub(super) fn column_definition(show_create: &str, column: &str) -> Option<String> {
    let name = format!("`{}`", column.replace('`', "``"));
    show_create.lines().find_map(|line| {
        line.trim_start()
            .strip_prefix(&name)
            .filter(|rest| rest.starts_with(' '))
            .map(|rest| rest.trim().trim_end_matches(',').to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rename_column_becomes_change_column_where_it_is_missing() {
        assert!(!supports_rename_column("5.7.29-log"));
        assert!(supports_rename_column("8.0.36"));
        assert!(supports_rename_column("10.11.6-MariaDB-0+deb12u1-log"));
        assert!(!supports_rename_column("10.4.32-MariaDB"));
        assert_eq!(
            renamed_columns(
                "ALTER TABLE `db`.`t` RENAME COLUMN a TO `a 2`, RENAME COLUMN `b` TO c"
            ),
            None,
            "a name with a space is not read"
        );
        assert_eq!(
            renamed_columns("ALTER TABLE `t_copy` RENAME COLUMN a TO a2, rename column `b` to c"),
            Some(vec![("a".into(), "a2".into()), ("b".into(), "c".into())])
        );
        assert_eq!(
            renamed_columns("ALTER TABLE t RENAME COLUMN a TO b, ADD c INT"),
            None
        );
        let create = "CREATE TABLE `t` (\n  `id` int(11) NOT NULL,\n  `a` int(11) DEFAULT NULL COMMENT 'x, y',\n  `ab` int(11) NOT NULL,\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB";
        assert_eq!(
            column_definition(create, "a").as_deref(),
            Some("int(11) DEFAULT NULL COMMENT 'x, y'")
        );
        assert_eq!(column_definition(create, "nope"), None);
    }
}
