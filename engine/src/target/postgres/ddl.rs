//! MySQL schema changes translated for PostgreSQL (`ddl = "apply"`).
//!
//! Translated: CREATE TABLE (columns by `types::pg_type`, NOT NULL and the
//! primary key kept; indexes, defaults and other options left out),
//! DROP TABLE, RENAME TABLE, TRUNCATE TABLE, and ALTER TABLE with ADD,
//! DROP or RENAME COLUMN clauses. Anything else is refused with the
//! statement, so the pipeline halts before it whatever its `on_error`:
//! the target must be changed by hand, then `ddl = "ignore"` lets it pass.
//!
//! # Replay
//! DDL cannot share a transaction with the checkpoint in MySQL's binlog
//! order, so a crash between the two replays the statement. Every
//! translation is harmless a second time: `IF [NOT] EXISTS` where
//! PostgreSQL has it, and for RENAME COLUMN the SQLSTATEs that mean
//! "already renamed" (42703 undefined column, 42701 duplicate column) are
//! taken as done.

use super::sql::{qualified, quote};
use super::types::pg_type;
use crate::change::DdlKind;
use crate::target::SchemaChange;

/// One statement and the SQLSTATEs that mean it was already applied.
pub type Translated = (String, &'static [&'static str]);

/// The statements that follow `change` in PostgreSQL, or why none can.
pub fn translate(
    change: &SchemaChange<'_>,
    default_schema: &str,
) -> Result<Vec<Translated>, String> {
    let ddl = change.ddl;
    let name = |i: usize| {
        let (s, t) = qualified(&change.targets[i], default_schema);
        (format!("{}.{}", quote(&s), quote(&t)), s, t)
    };
    let untranslatable = |why: &str| {
        format!(
            "cannot translate the schema change `{}` for PostgreSQL ({why}); change the target table by hand, then set ddl = \"ignore\" for the pipeline and resume",
            ddl.statement
        )
    };
    if !ddl.parsed {
        return Err(untranslatable("the statement was not understood"));
    }
    let mut out = Vec::new();
    match ddl.kind {
        DdlKind::TruncateTable => {
            for i in (0..ddl.tables.len()).filter(|&i| change.matched[i]) {
                out.push((format!("TRUNCATE TABLE {}", name(i).0), &[][..]));
            }
        }
        DdlKind::DropTable => {
            for i in (0..ddl.tables.len()).filter(|&i| change.matched[i]) {
                out.push((format!("DROP TABLE IF EXISTS {}", name(i).0), &[][..]));
            }
        }
        DdlKind::RenameTable => {
            for i in (0..ddl.tables.len())
                .step_by(2)
                .filter(|&i| change.matched[i])
            {
                let (old, old_schema, _) = name(i);
                let (_, new_schema, new_table) = name(i + 1);
                let mut at = old.clone();
                if old_schema != new_schema {
                    out.push((
                        format!(
                            "ALTER TABLE IF EXISTS {old} SET SCHEMA {}",
                            quote(&new_schema)
                        ),
                        &[][..],
                    ));
                    at = format!("{}.{}", quote(&new_schema), quote(&name(i).2));
                }
                out.push((
                    format!("ALTER TABLE IF EXISTS {at} RENAME TO {}", quote(&new_table)),
                    &[][..],
                ));
            }
        }
        DdlKind::CreateTable => {
            let body_at = ddl.spans.first().map_or(0, |s| s.end);
            let body = &ddl.statement[body_at..];
            let table = name(0).0;
            let like = body.trim_start().trim_start_matches('(').trim_start();
            if ddl.tables.len() == 2
                && like
                    .get(..4)
                    .is_some_and(|w| w.eq_ignore_ascii_case("like"))
            {
                // CREATE TABLE a LIKE b: PostgreSQL's LIKE, with its
                // defaults, constraints and indexes.
                out.push((
                    format!("CREATE TABLE {table} (LIKE {} INCLUDING ALL)", name(1).0),
                    &[][..],
                ));
            } else {
                out.push((
                    create_table(&table, body).map_err(|w| untranslatable(&w))?,
                    &[][..],
                ));
            }
        }
        DdlKind::AlterTable => {
            let rest_at = ddl.spans.first().map_or(0, |s| s.end);
            let rest = &ddl.statement[rest_at..];
            let table = name(0).0;
            for clause in split_top(rest, ',') {
                out.push(alter_clause(&table, &clause).map_err(|w| untranslatable(&w))?);
            }
        }
        DdlKind::Other => {}
    }
    Ok(out)
}

/// Split on `sep` outside parentheses and quotes.
fn split_top(s: &str, sep: char) -> Vec<String> {
    let (mut out, mut cur, mut depth, mut quote_ch) = (Vec::new(), String::new(), 0i32, None);
    for c in s.chars() {
        match quote_ch {
            Some(q) if c == q => quote_ch = None,
            Some(_) => {}
            None if c == '\'' || c == '"' || c == '`' => quote_ch = Some(c),
            None if c == '(' => depth += 1,
            None if c == ')' => depth -= 1,
            None if c == sep && depth == 0 => {
                out.push(std::mem::take(&mut cur));
                continue;
            }
            None => {}
        }
        cur.push(c);
    }
    if !cur.trim().is_empty() {
        out.push(cur);
    }
    out
}

/// Words of a clause: identifiers (backticks removed), parenthesized
/// groups and quoted strings kept whole.
fn words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '`' {
            chars.next();
            let mut w = String::new();
            while let Some(c) = chars.next() {
                if c == '`' {
                    if chars.peek() == Some(&'`') {
                        chars.next();
                    } else {
                        break;
                    }
                }
                w.push(c);
            }
            out.push(format!("`{w}"));
        } else if c == '(' {
            let (mut depth, mut w) = (0, String::new());
            for c in chars.by_ref() {
                w.push(c);
                depth += match c {
                    '(' => 1,
                    ')' => -1,
                    _ => 0,
                };
                if depth == 0 {
                    break;
                }
            }
            // A type's arguments stay with its name: `decimal(10,2)`.
            match out.last_mut() {
                Some(prev) if !prev.starts_with('`') => prev.push_str(&w),
                _ => out.push(w),
            }
        } else {
            let mut w = String::new();
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() || c == '(' || c == '`' {
                    break;
                }
                w.push(c);
                chars.next();
            }
            out.push(w);
        }
    }
    out
}

/// An identifier word without its quoting mark.
fn ident(w: &str) -> &str {
    w.strip_prefix('`').unwrap_or(w)
}

fn is(w: Option<&String>, kw: &str) -> bool {
    w.is_some_and(|w| !w.starts_with('`') && w.eq_ignore_ascii_case(kw))
}

/// Words that end a column's type in a column definition.
const ATTRIBUTES: &[&str] = &[
    "not",
    "null",
    "default",
    "auto_increment",
    "primary",
    "unique",
    "key",
    "comment",
    "character",
    "charset",
    "collate",
    "on",
    "generated",
    "as",
    "first",
    "after",
    "check",
    "references",
    "invisible",
    "visible",
    "constraint",
];

/// A column definition: the quoted name, the PostgreSQL type with its
/// DEFAULT when that is a plain literal (a number, NULL, or a string
/// without backslashes, which both dialects read alike), NOT NULL, and
/// whether it says PRIMARY KEY.
fn column(def: &[String]) -> Result<(String, String, bool, bool), String> {
    let (Some(name), rest) = (def.first(), def.get(1..).unwrap_or(&[])) else {
        return Err("a column without a name".into());
    };
    let type_end = rest
        .iter()
        .position(|w| ATTRIBUTES.iter().any(|a| w.eq_ignore_ascii_case(a)))
        .unwrap_or(rest.len());
    let mysql_type = rest[..type_end].join(" ");
    let pg = pg_type(&mysql_type).ok_or_else(|| {
        format!(
            "column `{}` has type {mysql_type}, which has no exact PostgreSQL type",
            ident(name)
        )
    })?;
    let attrs: Vec<String> = rest[type_end..]
        .iter()
        .map(|w| w.to_ascii_lowercase())
        .collect();
    let not_null = attrs.windows(2).any(|w| w[0] == "not" && w[1] == "null");
    let mut pg = pg;
    if let Some(i) = attrs.iter().position(|w| w == "default") {
        let lit = &rest[type_end + i + 1..];
        let plain = |v: &str| {
            v.eq_ignore_ascii_case("null")
                || v.parse::<f64>().is_ok()
                || (v.len() >= 2 && v.starts_with('\'') && v.ends_with('\'') && !v.contains('\\'))
        };
        if let Some(v) = lit.first().filter(|v| plain(v)) {
            pg = format!("{pg} DEFAULT {v}");
        }
    }
    let primary = attrs.windows(2).any(|w| w[0] == "primary" && w[1] == "key");
    Ok((quote(ident(name)), pg, not_null, primary))
}

fn create_table(table: &str, body: &str) -> Result<String, String> {
    let body = body.trim_start();
    let Some(inner) = body.strip_prefix('(') else {
        return Err("CREATE TABLE without a column list (LIKE or AS SELECT)".into());
    };
    let close = {
        let mut depth = 1;
        inner
            .char_indices()
            .find(|&(_, c)| {
                depth += match c {
                    '(' => 1,
                    ')' => -1,
                    _ => 0,
                };
                depth == 0
            })
            .map(|(i, _)| i)
            .ok_or("unbalanced parentheses")?
    };
    let (mut cols, mut key) = (Vec::new(), Vec::new());
    for item in split_top(&inner[..close], ',') {
        let w = words(&item);
        let first = w.first();
        if is(first, "primary") {
            let list = w
                .iter()
                .find_map(|x| x.find('(').map(|i| &x[i..]))
                .ok_or("PRIMARY KEY without columns")?;
            for k in split_top(&list[1..list.len() - 1], ',') {
                let kw = words(&k);
                key.push(quote(ident(kw.first().ok_or("empty key column")?)));
            }
        } else if [
            "key",
            "index",
            "unique",
            "constraint",
            "foreign",
            "fulltext",
            "spatial",
            "check",
            "period",
        ]
        .iter()
        .any(|k| is(first, k))
        {
            // Indexes and constraints are not copied (module doc).
        } else {
            let (name, ty, not_null, primary) = column(&w)?;
            if primary {
                key.push(name.clone());
            }
            cols.push(format!(
                "{name} {ty}{}",
                if not_null { " NOT NULL" } else { "" }
            ));
        }
    }
    if !key.is_empty() {
        cols.push(format!("PRIMARY KEY ({})", key.join(", ")));
    }
    Ok(format!(
        "CREATE TABLE IF NOT EXISTS {table} ({})",
        cols.join(", ")
    ))
}

fn alter_clause(table: &str, clause: &str) -> Result<Translated, String> {
    let w = words(clause);
    let mut i = 0;
    let verb = w
        .first()
        .map(|v| v.to_ascii_lowercase())
        .unwrap_or_default();
    i += 1;
    let not_column = [
        "index",
        "key",
        "unique",
        "constraint",
        "primary",
        "foreign",
        "fulltext",
        "spatial",
        "partition",
        "check",
        "fulltext",
    ];
    match verb.as_str() {
        "add" => {
            if not_column.iter().any(|k| is(w.get(i), k)) {
                return Err(format!("`{}` is not ADD COLUMN", clause.trim()));
            }
            if is(w.get(i), "column") {
                i += 1;
            }
            if is(w.get(i), "if") {
                i += 3;
            }
            let (name, ty, _, _) = column(w.get(i..).unwrap_or(&[]))?;
            Ok((
                format!("ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {name} {ty}"),
                &[],
            ))
        }
        "drop" => {
            if not_column.iter().any(|k| is(w.get(i), k)) {
                return Err(format!("`{}` is not DROP COLUMN", clause.trim()));
            }
            if is(w.get(i), "column") {
                i += 1;
            }
            if is(w.get(i), "if") {
                i += 2;
            }
            let name = w.get(i).ok_or("DROP COLUMN without a name")?;
            Ok((
                format!(
                    "ALTER TABLE {table} DROP COLUMN IF EXISTS {}",
                    quote(ident(name))
                ),
                &[],
            ))
        }
        "rename" if is(w.get(i), "column") && is(w.get(i + 2), "to") => {
            let (from, to) = (
                &w[i + 1],
                w.get(i + 3).ok_or("RENAME COLUMN without a new name")?,
            );
            Ok((
                format!(
                    "ALTER TABLE {table} RENAME COLUMN {} TO {}",
                    quote(ident(from)),
                    quote(ident(to))
                ),
                &["42703", "42701"],
            ))
        }
        _ => Err(format!(
            "the clause `{}` is not ADD, DROP or RENAME COLUMN",
            clause.trim()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::change::Ddl;

    fn change(statement: &str, target: &str) -> Vec<Translated> {
        let ddl: Ddl = crate::source::ddl::parse("shop", statement);
        let n = ddl.tables.len();
        let c = SchemaChange {
            ddl: &ddl,
            targets: (0..n)
                .map(|i| {
                    if i % 2 == 0 {
                        target.to_owned()
                    } else {
                        format!("{target}_new")
                    }
                })
                .collect(),
            matched: vec![true; n],
        };
        translate(&c, "public").unwrap()
    }

    #[test]
    fn create_table_maps_types_and_keeps_the_key() {
        let out = change(
            "CREATE TABLE `p` (`id` bigint(20) unsigned NOT NULL AUTO_INCREMENT, `price` decimal(10,2) DEFAULT NULL, \
             `name` varchar(40) CHARACTER SET latin1 NOT NULL, KEY `k` (`name`), PRIMARY KEY (`id`)) ENGINE=InnoDB",
            "p",
        );
        assert_eq!(
            out[0].0,
            "CREATE TABLE IF NOT EXISTS \"public\".\"p\" (\"id\" numeric(20) NOT NULL, \"price\" numeric(10,2) DEFAULT NULL, \
             \"name\" varchar(40) NOT NULL, PRIMARY KEY (\"id\"))"
        );
    }

    #[test]
    fn alter_clauses_become_one_statement_each() {
        let out = change(
            "ALTER TABLE p ADD COLUMN note text, DROP COLUMN old, RENAME COLUMN a TO b",
            "s.p",
        );
        let sql: Vec<&str> = out.iter().map(|(s, _)| s.as_str()).collect();
        assert_eq!(
            sql,
            [
                "ALTER TABLE \"s\".\"p\" ADD COLUMN IF NOT EXISTS \"note\" text",
                "ALTER TABLE \"s\".\"p\" DROP COLUMN IF EXISTS \"old\"",
                "ALTER TABLE \"s\".\"p\" RENAME COLUMN \"a\" TO \"b\"",
            ]
        );
    }

    #[test]
    fn other_alterations_are_refused_with_the_statement() {
        let ddl = crate::source::ddl::parse("shop", "ALTER TABLE p ADD INDEX i (a)");
        let c = SchemaChange {
            ddl: &ddl,
            targets: vec!["p".into()],
            matched: vec![true],
        };
        let e = translate(&c, "public").unwrap_err();
        assert!(
            e.contains("ALTER TABLE p ADD INDEX i (a)") && e.contains("ddl = \"ignore\""),
            "{e}"
        );
    }
}
