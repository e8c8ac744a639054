//! The statement reader's lexer and column-definition reader: tokens, a
//! cursor over them, and one column definition read into a shape (`None`
//! for anything not understood completely, module doc of `alter`).

use crate::source::shape::ColumnShape;

/// A word or a quoted string of a statement.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Tok {
    Word(String),
    /// `'…'` or `"…"`, unquoted.
    Str(String),
    Punct(char),
}

pub(super) fn tokens(sql: &str) -> Option<Vec<Tok>> {
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
pub(super) struct P {
    pub(super) t: Vec<Tok>,
    pub(super) i: usize,
}

impl P {
    pub(super) fn peek(&self) -> Option<&Tok> {
        self.t.get(self.i)
    }
    pub(super) fn kw(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(x)) if x.eq_ignore_ascii_case(w))
    }
    pub(super) fn eat(&mut self, w: &str) -> bool {
        let yes = self.kw(w);
        if yes {
            self.i += 1;
        }
        yes
    }
    pub(super) fn punct(&mut self, p: char) -> bool {
        let yes = self.peek() == Some(&Tok::Punct(p));
        if yes {
            self.i += 1;
        }
        yes
    }
    pub(super) fn word(&mut self) -> Option<String> {
        match self.peek()? {
            Tok::Word(w) => {
                let w = w.clone();
                self.i += 1;
                Some(w)
            }
            _ => None,
        }
    }
    pub(super) fn done(&self) -> bool {
        self.i >= self.t.len()
            || (self.peek() == Some(&Tok::Punct(';')) && self.i + 1 == self.t.len())
    }
    /// Skip to the `,` or `)` that ends the current item at depth 0.
    pub(super) fn skip_item(&mut self) {
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
    pub(super) fn table(&mut self) -> Option<String> {
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
pub(super) fn column(p: &mut P, table_charset: Option<&str>) -> Option<(ColumnShape, bool)> {
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

pub(super) fn default_value(p: &mut P) -> Option<()> {
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
