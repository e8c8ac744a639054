//! Schema changes in the binlog, as events of their own.
//!
//! Rows are always decoded with the columns their own TABLE_MAP event
//! carries (`binlog_row_metadata=FULL`), so a row before an `ALTER` and a row
//! after it each decode with the columns they had, even when the engine
//! restarts at a position older than the change. DDL statements themselves
//! reach the pipeline as [`Ddl`] events so that a target can follow them.
//!
//! This parser only finds which tables a statement touches; it is a small
//! tokenizer, not SQL grammar. A statement it cannot read never stops the
//! engine: it is logged and counted (`sluice_source_ddl_unparsed_total`), and
//! the rows after it still decode correctly from their table maps.

use std::ops::Range;

pub use crate::change::{Ddl, DdlKind};

/// A word of a statement and where it is (byte range).
#[derive(Debug)]
struct Token {
    text: String,
    span: Range<usize>,
}

impl std::ops::Deref for Token {
    type Target = String;
    fn deref(&self) -> &String {
        &self.text
    }
}

/// Split SQL into words: identifiers (backticks removed), `.`, `,` and `(`;
/// comments and string literals are dropped.
fn tokens(sql: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut chars = sql.char_indices().peekable();
    let end = |chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>| {
        chars.peek().map_or(sql.len(), |&(i, _)| i)
    };
    while let Some((start, c)) = chars.next() {
        match c {
            '`' => {
                let mut id = String::new();
                while let Some((_, c)) = chars.next() {
                    if c == '`' {
                        if chars.peek().map(|p| p.1) == Some('`') {
                            chars.next();
                            id.push('`');
                        } else {
                            break;
                        }
                    } else {
                        id.push(c);
                    }
                }
                let span = start..end(&mut chars);
                out.push(Token { text: id, span });
            }
            '\'' | '"' => {
                while let Some((_, d)) = chars.next() {
                    if d == '\\' {
                        chars.next();
                    } else if d == c {
                        break;
                    }
                }
            }
            '/' if chars.peek().map(|p| p.1) == Some('*') => {
                let mut prev = ' ';
                for (_, d) in chars.by_ref() {
                    if prev == '*' && d == '/' {
                        break;
                    }
                    prev = d;
                }
            }
            '-' if chars.peek().map(|p| p.1) == Some('-') => {
                for (_, d) in chars.by_ref() {
                    if d == '\n' {
                        break;
                    }
                }
            }
            '#' => {
                for (_, d) in chars.by_ref() {
                    if d == '\n' {
                        break;
                    }
                }
            }
            '.' | ',' | '(' | ')' | ';' => out.push(Token {
                text: c.to_string(),
                span: start..start + 1,
            }),
            c if c.is_whitespace() => {}
            c => {
                let mut w = c.to_string();
                while let Some(&(_, d)) = chars.peek() {
                    if d.is_whitespace() || "`.,();'\"".contains(d) {
                        break;
                    }
                    w.push(d);
                    chars.next();
                }
                let span = start..end(&mut chars);
                out.push(Token { text: w, span });
            }
        }
    }
    out
}

fn is(t: Option<&Token>, word: &str) -> bool {
    t.is_some_and(|t| t.eq_ignore_ascii_case(word))
}

/// A table a statement names, and where the name is in the statement.
type Named = ((String, String), Range<usize>);

/// Read `[db.]table` at `i`; returns it and the index after it.
fn table_name(t: &[Token], i: usize, default_db: &str) -> Option<(Named, usize)> {
    let first = t.get(i)?;
    if matches!(first.as_str(), "." | "," | "(" | ")" | ";") {
        return None;
    }
    if t.get(i + 1).map(|t| t.as_str()) == Some(".") {
        let second = t.get(i + 2)?;
        let span = first.span.start..second.span.end;
        Some((((first.text.clone(), second.text.clone()), span), i + 3))
    } else {
        Some((
            (
                (default_db.to_owned(), first.text.clone()),
                first.span.clone(),
            ),
            i + 1,
        ))
    }
}

/// Skip `IF [NOT] EXISTS`.
fn skip_if_exists(t: &[Token], mut i: usize) -> usize {
    if is(t.get(i), "IF") {
        i += 1;
        if is(t.get(i), "NOT") {
            i += 1;
        }
        if is(t.get(i), "EXISTS") {
            i += 1;
        }
    }
    i
}

/// Parse a statement that is not BEGIN/COMMIT/DML.
pub fn parse(database: &str, statement: &str) -> Ddl {
    let t = tokens(statement);
    let mut ddl = Ddl {
        database: database.to_owned(),
        statement: statement.to_owned(),
        kind: DdlKind::Other,
        tables: Vec::new(),
        spans: Vec::new(),
        parsed: true,
    };
    // Skip CREATE modifiers: OR REPLACE, TEMPORARY, ONLINE, IGNORE,
    // ALGORITHM=…, SQL SECURITY …, and DEFINER = user, whose user MySQL
    // writes as `root`@`localhost` (several tokens): skipped up to the
    // object keyword.
    let mut i = 1;
    while let Some(w) = t.get(i).map(|w| w.to_ascii_uppercase()) {
        if [
            "OR",
            "REPLACE",
            "TEMPORARY",
            "ONLINE",
            "OFFLINE",
            "IGNORE",
            "SQL",
            "SECURITY",
            "INVOKER",
        ]
        .contains(&w.as_str())
            || w.starts_with("ALGORITHM")
        {
            i += 1;
        } else if w.starts_with("DEFINER") {
            i += 1;
            while t.get(i).is_some_and(|w| {
                ![
                    "TRIGGER",
                    "VIEW",
                    "PROCEDURE",
                    "FUNCTION",
                    "EVENT",
                    "SQL",
                    "ALGORITHM",
                ]
                .iter()
                .any(|k| w.eq_ignore_ascii_case(k))
            }) {
                i += 1;
            }
        } else {
            break;
        }
    }
    let verb = t
        .first()
        .map(|w| w.to_ascii_uppercase())
        .unwrap_or_default();
    let one_table = |kind: DdlKind, i: usize, ddl: &mut Ddl| match table_name(
        &t,
        skip_if_exists(&t, i + 1),
        database,
    ) {
        Some(((name, span), next)) => {
            let create = kind == DdlKind::CreateTable;
            ddl.kind = kind;
            ddl.tables.push(name);
            ddl.spans.push(span);
            // CREATE TABLE a LIKE b, or (LIKE b): b is named too, so a
            // target maps its name as well.
            if create {
                let like = if t.get(next).map(|t| t.as_str()) == Some("(") {
                    next + 1
                } else {
                    next
                };
                if is(t.get(like), "LIKE")
                    && let Some(((other, span), _)) = table_name(&t, like + 1, database)
                {
                    ddl.tables.push(other);
                    ddl.spans.push(span);
                }
            }
        }
        None => ddl.parsed = false,
    };
    match (
        verb.as_str(),
        t.get(i).map(|w| w.to_ascii_uppercase()).as_deref(),
    ) {
        ("CREATE", Some("TABLE")) => one_table(DdlKind::CreateTable, i, &mut ddl),
        ("ALTER", Some("TABLE")) => one_table(DdlKind::AlterTable, i, &mut ddl),
        ("TRUNCATE", Some("TABLE")) => one_table(DdlKind::TruncateTable, i, &mut ddl),
        ("TRUNCATE", Some(_)) => one_table(DdlKind::TruncateTable, i - 1, &mut ddl),
        ("DROP", Some("TABLE")) => {
            ddl.kind = DdlKind::DropTable;
            let mut j = skip_if_exists(&t, i + 1);
            while let Some(((name, span), next)) = table_name(&t, j, database) {
                ddl.tables.push(name);
                ddl.spans.push(span);
                if t.get(next).map(|t| t.as_str()) != Some(",") {
                    break;
                }
                j = next + 1;
            }
            ddl.parsed = !ddl.tables.is_empty();
        }
        ("RENAME", Some("TABLE")) => {
            ddl.kind = DdlKind::RenameTable;
            let mut j = i + 1;
            while let Some((from, next)) = table_name(&t, j, database) {
                if !is(t.get(next), "TO") {
                    break;
                }
                let Some((to, after)) = table_name(&t, next + 1, database) else {
                    break;
                };
                ddl.tables.push(from.0);
                ddl.spans.push(from.1);
                ddl.tables.push(to.0);
                ddl.spans.push(to.1);
                if t.get(after).map(|t| t.as_str()) != Some(",") {
                    break;
                }
                j = after + 1;
            }
            ddl.parsed = !ddl.tables.is_empty();
        }
        (
            "CREATE" | "ALTER" | "DROP",
            Some(
                "DATABASE" | "SCHEMA" | "INDEX" | "UNIQUE" | "FULLTEXT" | "SPATIAL" | "VIEW"
                | "USER" | "ROLE" | "EVENT" | "FUNCTION" | "PROCEDURE" | "TRIGGER" | "SEQUENCE"
                | "SERVER",
            ),
        ) => {}
        (
            "GRANT" | "REVOKE" | "FLUSH" | "ANALYZE" | "OPTIMIZE" | "REPAIR" | "SET" | "INSTALL"
            | "UNINSTALL",
            _,
        ) => {}
        _ => ddl.parsed = false,
    }
    ddl
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tables(db: &str, sql: &str) -> (DdlKind, Vec<(String, String)>, bool) {
        let d = parse(db, sql);
        (d.kind, d.tables, d.parsed)
    }

    fn t(db: &str, table: &str) -> (String, String) {
        (db.to_owned(), table.to_owned())
    }

    #[test]
    fn create_like_names_both_tables() {
        let d = parse(
            "shop",
            "create /* gh-ost */ table `shop`.`_t_gho` like `shop`.`t`",
        );
        assert_eq!(d.tables, [t("shop", "_t_gho"), t("shop", "t")]);
        assert_eq!(
            d.renamed(|i| ["`x`.`g`", "`x`.`t`"][i].to_owned()),
            "create /* gh-ost */ table `x`.`g` like `x`.`t`"
        );
        let d = parse("shop", "CREATE TABLE n (LIKE t)");
        assert_eq!(d.tables, [t("shop", "n"), t("shop", "t")]);
    }

    #[test]
    fn finds_the_tables_of_common_ddl() {
        assert_eq!(
            tables("shop", "ALTER TABLE product ADD COLUMN x INT"),
            (DdlKind::AlterTable, vec![t("shop", "product")], true)
        );
        assert_eq!(
            tables(
                "shop",
                "create table if not exists `other`.`my``t` (id int)"
            ),
            (DdlKind::CreateTable, vec![t("other", "my`t")], true)
        );
        assert_eq!(
            tables(
                "shop",
                "DROP TABLE IF EXISTS a, b.c /* generated by server */"
            ),
            (DdlKind::DropTable, vec![t("shop", "a"), t("b", "c")], true)
        );
        assert_eq!(
            tables("shop", "RENAME TABLE a TO b, x.y TO x.z"),
            (
                DdlKind::RenameTable,
                vec![t("shop", "a"), t("shop", "b"), t("x", "y"), t("x", "z")],
                true
            )
        );
        assert_eq!(
            tables("shop", "TRUNCATE t"),
            (DdlKind::TruncateTable, vec![t("shop", "t")], true)
        );
        assert_eq!(
            tables("shop", "CREATE OR REPLACE TEMPORARY TABLE t (a int)").1,
            vec![t("shop", "t")]
        );
        assert_eq!(
            tables("shop", "CREATE DATABASE x"),
            (DdlKind::Other, vec![], true)
        );
        assert_eq!(
            tables("shop", "CREATE INDEX i ON t (a)"),
            (DdlKind::Other, vec![], true)
        );
    }

    #[test]
    fn table_names_can_be_replaced() {
        let d = parse(
            "shop",
            "ALTER TABLE /* x */ `shop`.product ADD COLUMN `product` INT",
        );
        assert_eq!(
            d.renamed(|_| "`replica`.`p`".into()),
            "ALTER TABLE /* x */ `replica`.`p` ADD COLUMN `product` INT"
        );
        let d = parse("shop", "RENAME TABLE a TO b, é TO x.y");
        assert_eq!(
            d.renamed(|i| format!("t{i}")),
            "RENAME TABLE t0 TO t1, t2 TO t3"
        );
    }

    #[test]
    fn definers_as_mysql_writes_them_are_skipped() {
        for sql in [
            "CREATE DEFINER=`root`@`localhost` TRIGGER db.t_ins AFTER INSERT ON db.t FOR EACH ROW SET @a = 1",
            "CREATE DEFINER = 'app'@'%' PROCEDURE p() BEGIN END",
            "CREATE ALGORITHM=UNDEFINED DEFINER=`root`@`%` SQL SECURITY DEFINER VIEW v AS SELECT 1",
            "CREATE DEFINER=CURRENT_USER EVENT e ON SCHEDULE EVERY 1 DAY DO SELECT 1",
        ] {
            let ddl = parse("db", sql);
            assert!(ddl.parsed, "{sql}");
            assert_eq!(ddl.kind, DdlKind::Other, "{sql}");
        }
    }

    #[test]
    fn a_statement_it_cannot_read_is_marked_not_parsed() {
        assert!(!parse("shop", "FROBNICATE TABLE t").parsed);
        assert!(!parse("shop", "ALTER TABLE").parsed);
    }
}
