//! The schema history's statement reader: the new shape of a table after
//! `ALTER TABLE` column clauses or a `CREATE TABLE` column list, computed
//! from the statement and the shape before it, with no I/O.
//!
//! # Why it is exact or silent
//! It returns a shape only when it understood every clause of the
//! statement. Each clause it knows either changes the columns in a way it
//! can state exactly (ADD/DROP/CHANGE/MODIFY COLUMN with FIRST/AFTER, ADD
//! and DROP PRIMARY KEY), or cannot change the columns, the key or a
//! column's character set (indexes, defaults, table options such as
//! ENGINE or COMMENT). Anything else, a column type it does not know, a
//! generated column or a charset change of the table, makes it answer
//! `None`, and the history re-reads `information_schema` instead
//! (`reread`), or stops. The first TABLE_MAP after the statement is then
//! checked against the result (`shape::check`).

use crate::source::shape::{ColumnShape, TableShape};

use lex::{P, Tok, column, default_value, tokens};

/// `FIRST` or `AFTER col`: the index to put a column at in `cols`.
fn place(p: &mut P, cols: &[ColumnShape]) -> Option<Option<usize>> {
    if p.eat("FIRST") {
        return Some(Some(0));
    }
    if p.eat("AFTER") {
        let after = p.word()?;
        return Some(Some(
            cols.iter()
                .position(|c| c.name.eq_ignore_ascii_case(&after))?
                + 1,
        ));
    }
    Some(None)
}

/// Key column names, as indexes into `cols`: `(a, b)`.
fn key_list(p: &mut P, cols: &[ColumnShape]) -> Option<Vec<usize>> {
    if !p.punct('(') {
        return None;
    }
    let mut key = Vec::new();
    loop {
        let n = p.word()?;
        key.push(cols.iter().position(|c| c.name.eq_ignore_ascii_case(&n))?);
        if p.punct('(') {
            // A prefix length: part of an index, not of the row.
            p.word()?;
            p.punct(')').then_some(())?;
        }
        p.eat("ASC");
        p.eat("DESC");
        if p.punct(')') {
            return Some(key);
        }
        p.punct(',').then_some(())?;
    }
}

/// What an `ALTER TABLE` does to the table.
#[derive(Debug, PartialEq)]
pub enum Altered {
    /// The new shape, and the table's new name if the statement renames it.
    Shape(TableShape, Option<String>),
    /// Not understood.
    Unknown,
}

/// The shape after `ALTER TABLE … <clauses>`, from the shape before.
pub fn alter(statement: &str, before: &TableShape) -> Altered {
    alter_inner(statement, before).map_or(Altered::Unknown, |(s, n)| Altered::Shape(s, n))
}

fn alter_inner(statement: &str, before: &TableShape) -> Option<(TableShape, Option<String>)> {
    let mut p = P {
        t: tokens(statement)?,
        i: 0,
    };
    (p.eat("ALTER") && p.eat("TABLE")).then_some(())?;
    p.table()?;
    let mut shape = before.clone();
    let mut rename = None;
    let key_names = |s: &TableShape| -> Vec<String> {
        s.key.iter().map(|&k| s.columns[k].name.clone()).collect()
    };
    loop {
        if p.done() {
            break;
        }
        let mut keys = key_names(&shape);
        if p.eat("ADD") {
            if p.eat("CONSTRAINT") {
                // ADD CONSTRAINT [name] FOREIGN KEY|UNIQUE|CHECK …: no
                // column changes; a PRIMARY KEY one is not read.
                let kind = |p: &P| p.kw("FOREIGN") || p.kw("UNIQUE") || p.kw("CHECK");
                if !kind(&p) {
                    p.word()?;
                }
                kind(&p).then_some(())?;
                p.skip_item();
            } else if p.kw("INDEX")
                || p.kw("KEY")
                || p.kw("UNIQUE")
                || p.kw("FULLTEXT")
                || p.kw("SPATIAL")
                || p.kw("FOREIGN")
            {
                p.skip_item();
            } else if p.eat("PRIMARY") {
                p.eat("KEY");
                let key = key_list(&mut p, &shape.columns)?;
                shape.key.is_empty().then_some(())?;
                shape.key = key;
                p.skip_item();
                keys = key_names(&shape);
            } else {
                p.eat("COLUMN");
                let (col, primary) = column(&mut p, before_charset(&shape))?;
                if primary {
                    return None;
                }
                let at = place(&mut p, &shape.columns)?.unwrap_or(shape.columns.len());
                if shape
                    .columns
                    .iter()
                    .any(|c| c.name.eq_ignore_ascii_case(&col.name))
                {
                    return None;
                }
                shape.columns.insert(at, col);
            }
        } else if p.eat("DROP") {
            if p.eat("PRIMARY") {
                p.eat("KEY");
                keys.clear();
            } else if p.kw("INDEX")
                || p.kw("KEY")
                || p.kw("FOREIGN")
                || p.kw("CHECK")
                || p.kw("CONSTRAINT")
            {
                p.skip_item();
            } else {
                p.eat("COLUMN");
                let n = p.word()?;
                let i = shape
                    .columns
                    .iter()
                    .position(|c| c.name.eq_ignore_ascii_case(&n))?;
                shape.columns.remove(i);
                keys.retain(|k| !k.eq_ignore_ascii_case(&n));
            }
        } else if p.kw("CHANGE") || p.kw("MODIFY") {
            // MODIFY is CHANGE that keeps the name.
            let modify = p.eat("MODIFY");
            if !modify {
                p.eat("CHANGE");
            }
            p.eat("COLUMN");
            let old = if modify {
                match p.peek()? {
                    Tok::Word(w) => w.clone(),
                    _ => return None,
                }
            } else {
                p.word()?
            };
            let i = shape
                .columns
                .iter()
                .position(|c| c.name.eq_ignore_ascii_case(&old))?;
            let (col, primary) = column(&mut p, before_charset(&shape))?;
            if primary {
                return None;
            }
            for k in keys.iter_mut() {
                if k.eq_ignore_ascii_case(&old) {
                    *k = col.name.clone();
                }
            }
            shape.columns.remove(i);
            let at = place(&mut p, &shape.columns)?.unwrap_or(i);
            shape.columns.insert(at, col);
        } else if p.eat("ALTER") {
            p.eat("COLUMN");
            p.word()?;
            if p.eat("SET") {
                p.eat("DEFAULT").then_some(())?;
                default_value(&mut p)?;
            } else {
                (p.eat("DROP") && p.eat("DEFAULT")).then_some(())?;
            }
        } else if p.eat("RENAME") {
            if p.kw("INDEX") || p.kw("KEY") {
                p.skip_item();
            } else if p.eat("COLUMN") {
                // MySQL 8 and MariaDB 10.5: RENAME COLUMN a TO b.
                let old = p.word()?;
                p.eat("TO").then_some(())?;
                let new = p.word()?;
                let i = shape
                    .columns
                    .iter()
                    .position(|c| c.name.eq_ignore_ascii_case(&old))?;
                shape.columns[i].name = new.clone();
                for k in keys.iter_mut() {
                    if k.eq_ignore_ascii_case(&old) {
                        *k = new.clone();
                    }
                }
            } else {
                let _ = p.eat("TO") || p.eat("AS");
                rename = Some(p.table()?);
            }
        } else if p.kw("DEFAULT") || p.kw("CHARSET") || p.kw("CHARACTER") {
            // [DEFAULT] CHARSET [=] x: the charset of columns added later.
            p.eat("DEFAULT");
            if !(p.eat("CHARSET") || (p.eat("CHARACTER") && p.eat("SET"))) {
                return None;
            }
            p.punct('=');
            shape.charset = Some(p.word()?.to_ascii_lowercase());
            if p.eat("COLLATE") {
                p.punct('=');
                p.word()?;
            }
        } else if [
            "ENGINE",
            "COMMENT",
            "AUTO_INCREMENT",
            "ROW_FORMAT",
            "ALGORITHM",
            "LOCK",
            "KEY_BLOCK_SIZE",
            "STATS_PERSISTENT",
            "STATS_AUTO_RECALC",
            "PACK_KEYS",
            "CHECKSUM",
            "FORCE",
        ]
        .iter()
        .any(|w| p.kw(w))
        {
            p.skip_item();
        } else {
            return None;
        }
        shape.key = keys
            .iter()
            .map(|k| shape.columns.iter().position(|c| &c.name == k))
            .collect::<Option<_>>()?;
        if !p.punct(',') {
            p.done().then_some(())?;
        }
    }
    Some((shape, rename))
}

fn before_charset(s: &TableShape) -> Option<&str> {
    s.charset.as_deref()
}

/// The shape a `CREATE TABLE name (columns…) [options]` makes, the table's
/// default charset being `charset` unless the statement sets one.
pub fn create(statement: &str, database_charset: Option<&str>) -> Option<TableShape> {
    let mut p = P {
        t: tokens(statement)?,
        i: 0,
    };
    (p.eat("CREATE") && p.eat("TABLE")).then_some(())?;
    if p.eat("IF") {
        (p.eat("NOT") && p.eat("EXISTS")).then_some(())?;
    }
    p.table()?;
    p.punct('(').then_some(())?;
    // The table's own charset comes after the column list: find it first.
    let mut depth = 1;
    let mut j = p.i;
    while depth > 0 {
        match p.t.get(j)? {
            Tok::Punct('(') => depth += 1,
            Tok::Punct(')') => depth -= 1,
            _ => {}
        }
        j += 1;
    }
    let mut charset = database_charset.map(str::to_owned);
    let mut q = P {
        t: p.t.clone(),
        i: j,
    };
    while !q.done() {
        if q.eat("CHARSET") || (q.eat("CHARACTER") && q.eat("SET")) {
            q.punct('=');
            charset = Some(q.word()?.to_ascii_lowercase());
        } else if q.eat("COLLATE") {
            q.punct('=');
            let c = q.word()?.to_ascii_lowercase();
            charset = Some(c.split('_').next()?.to_owned());
        } else if q.eat("AS") || q.eat("SELECT") || q.eat("LIKE") || q.eat("PARTITION") {
            return None;
        } else {
            q.i += 1;
        }
    }
    let mut shape = TableShape {
        columns: Vec::new(),
        key: Vec::new(),
        charset: charset.clone(),
    };
    loop {
        if p.eat("PRIMARY") {
            p.eat("KEY");
            shape.key.is_empty().then_some(())?;
            shape.key = key_list(&mut p, &shape.columns)?;
            p.skip_item();
        } else if p.kw("INDEX")
            || p.kw("KEY")
            || p.kw("UNIQUE")
            || p.kw("FULLTEXT")
            || p.kw("SPATIAL")
            || p.kw("FOREIGN")
            || p.kw("CONSTRAINT")
            || p.kw("CHECK")
        {
            // CONSTRAINT name PRIMARY KEY would set the key: not read.
            if p.kw("CONSTRAINT") {
                return None;
            }
            p.skip_item();
        } else {
            let (col, primary) = column(&mut p, charset.as_deref())?;
            if primary {
                shape.key.is_empty().then_some(())?;
                shape.key = vec![shape.columns.len()];
            }
            shape.columns.push(col);
        }
        if p.punct(')') {
            break;
        }
        p.punct(',').then_some(())?;
    }
    Some(shape)
}

mod lex;
#[cfg(test)]
mod tests;
