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

/// A word or a quoted string of a statement.
#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Word(String),
    /// `'…'` or `"…"`, unquoted.
    Str(String),
    Punct(char),
}

fn tokens(sql: &str) -> Option<Vec<Tok>> {
    let mut out = Vec::new();
    let mut c = sql.chars().peekable();
    while let Some(ch) = c.next() {
        match ch {
            '`' => {
                let mut id = String::new();
                loop {
                    match c.next()? {
                        '`' if c.peek() == Some(&'`') => {
                            c.next();
                            id.push('`');
                        }
                        '`' => break,
                        x => id.push(x),
                    }
                }
                out.push(Tok::Word(id));
            }
            '\'' | '"' => {
                let mut s = String::new();
                loop {
                    match c.next()? {
                        '\\' => s.push(c.next()?),
                        x if x == ch && c.peek() == Some(&ch) => {
                            c.next();
                            s.push(ch);
                        }
                        x if x == ch => break,
                        x => s.push(x),
                    }
                }
                out.push(Tok::Str(s));
            }
            // Comments are rare in DDL from tools; refuse rather than skip.
            '/' | '#' => return None,
            '-' if c.peek() == Some(&'-') => return None,
            '(' | ')' | ',' | '.' | ';' | '=' => out.push(Tok::Punct(ch)),
            x if x.is_whitespace() => {}
            x => {
                let mut w = x.to_string();
                // A number keeps its decimal point: `-1.5`.
                let number = x.is_ascii_digit() || x == '-' || x == '+';
                while let Some(&d) = c.peek() {
                    if d.is_whitespace() || "`'\"(),;=".contains(d) || (d == '.' && !number) {
                        break;
                    }
                    w.push(d);
                    c.next();
                }
                out.push(Tok::Word(w));
            }
        }
    }
    Some(out)
}

/// A cursor over the tokens.
struct P {
    t: Vec<Tok>,
    i: usize,
}

impl P {
    fn peek(&self) -> Option<&Tok> {
        self.t.get(self.i)
    }
    fn kw(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(x)) if x.eq_ignore_ascii_case(w))
    }
    fn eat(&mut self, w: &str) -> bool {
        let yes = self.kw(w);
        if yes {
            self.i += 1;
        }
        yes
    }
    fn punct(&mut self, p: char) -> bool {
        let yes = self.peek() == Some(&Tok::Punct(p));
        if yes {
            self.i += 1;
        }
        yes
    }
    fn word(&mut self) -> Option<String> {
        match self.peek()? {
            Tok::Word(w) => {
                let w = w.clone();
                self.i += 1;
                Some(w)
            }
            _ => None,
        }
    }
    fn done(&self) -> bool {
        self.i >= self.t.len()
            || (self.peek() == Some(&Tok::Punct(';')) && self.i + 1 == self.t.len())
    }
    /// Skip to the `,` or `)` that ends the current item at depth 0.
    fn skip_item(&mut self) {
        let mut depth = 0;
        while let Some(t) = self.peek() {
            match t {
                Tok::Punct('(') => depth += 1,
                Tok::Punct(')') if depth == 0 => return,
                Tok::Punct(')') => depth -= 1,
                Tok::Punct(',') if depth == 0 => return,
                _ => {}
            }
            self.i += 1;
        }
    }
    /// `[db.]name`, the name only.
    fn table(&mut self) -> Option<String> {
        let first = self.word()?;
        if self.punct('.') {
            return self.word();
        }
        Some(first)
    }
}

/// Types whose binlog form the history knows, and whether they hold text.
fn known_type(t: &str) -> Option<bool> {
    Some(match t {
        "tinyint" | "smallint" | "mediumint" | "int" | "integer" | "bigint" | "decimal"
        | "numeric" | "float" | "double" | "bit" | "date" | "time" | "datetime" | "timestamp"
        | "year" | "json" | "binary" | "varbinary" | "tinyblob" | "blob" | "mediumblob"
        | "longblob" => false,
        "char" | "varchar" | "tinytext" | "text" | "mediumtext" | "longtext" | "enum" | "set" => {
            true
        }
        _ => return None,
    })
}

/// A column definition: `name type[(args)] [attributes…]`. `None` for
/// anything it does not fully understand.
fn column(p: &mut P, table_charset: Option<&str>) -> Option<(ColumnShape, bool)> {
    let name = p.word()?;
    let mut ty = p.word()?.to_ascii_lowercase();
    if ty == "integer" {
        ty = "int".into();
    }
    let text = known_type(&ty)?;
    let mut args = Vec::new();
    if p.punct('(') {
        loop {
            match p.peek()? {
                Tok::Word(w) if w.chars().all(|c| c.is_ascii_digit()) => args.push(w.clone()),
                Tok::Str(s) if matches!(ty.as_str(), "enum" | "set") => {
                    args.push(format!("'{}'", s.replace('\'', "''")))
                }
                _ => return None,
            }
            p.i += 1;
            if p.punct(')') {
                break;
            }
            if !p.punct(',') {
                return None;
            }
        }
    }
    let (mut unsigned, mut charset, mut primary) = (false, None::<String>, false);
    loop {
        if p.eat("UNSIGNED") || p.eat("ZEROFILL") {
            unsigned = true;
        } else if p.eat("SIGNED") || p.eat("NULL") || p.eat("AUTO_INCREMENT") {
        } else if p.eat("NOT") {
            if !p.eat("NULL") {
                return None;
            }
        } else if p.eat("CHARACTER") {
            if !p.eat("SET") {
                return None;
            }
            charset = Some(p.word()?.to_ascii_lowercase());
        } else if p.eat("CHARSET") {
            charset = Some(p.word()?.to_ascii_lowercase());
        } else if p.eat("COLLATE") {
            let c = p.word()?.to_ascii_lowercase();
            if charset.is_none() {
                charset = Some(c.split('_').next()?.to_owned());
            }
        } else if p.eat("DEFAULT") {
            default_value(p)?;
        } else if p.eat("ON") {
            if !(p.eat("UPDATE") && current_timestamp(p)) {
                return None;
            }
        } else if p.eat("COMMENT") {
            matches!(p.peek()?, Tok::Str(_)).then_some(())?;
            p.i += 1;
        } else if p.eat("PRIMARY") {
            p.eat("KEY");
            primary = true;
        } else if p.eat("UNIQUE") {
            p.eat("KEY");
        } else {
            break;
        }
    }
    let mut column_type = ty.clone();
    if !args.is_empty() {
        column_type = format!("{ty}({})", args.join(","));
    }
    if unsigned {
        column_type.push_str(" unsigned");
    }
    let charset = if text {
        Some(charset.or_else(|| table_charset.map(str::to_owned))?)
    } else {
        None
    };
    Some((
        ColumnShape {
            name,
            column_type,
            charset,
        },
        primary,
    ))
}

fn current_timestamp(p: &mut P) -> bool {
    if !(p.eat("CURRENT_TIMESTAMP") || p.eat("NOW") || p.eat("LOCALTIMESTAMP")) {
        return false;
    }
    if p.punct('(') {
        while p.peek().is_some() && !p.punct(')') {
            p.i += 1;
        }
    }
    true
}

fn default_value(p: &mut P) -> Option<()> {
    if current_timestamp(p) {
        return Some(());
    }
    match p.peek()? {
        Tok::Str(_) => p.i += 1,
        Tok::Word(w) if w.eq_ignore_ascii_case("NULL") || w.parse::<f64>().is_ok() => p.i += 1,
        Tok::Word(w) if w.starts_with('-') || w.starts_with('+') => p.i += 1,
        _ => return None,
    }
    Some(())
}

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

#[cfg(test)]
mod tests;
