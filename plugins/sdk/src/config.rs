//! Reading the plugin's config (`[plugins.config.NAME]`, handed to `init`
//! as JSON) without a JSON library in the plugin: flat objects of strings,
//! numbers, booleans and lists of strings, which is what a TOML section of
//! plugin settings becomes.

/// The value of `key` in a flat JSON object, as text: a string unescaped,
/// a number or boolean as written. `None` when the key is absent or its
/// value is an object, a list or null.
pub fn value(json: &str, key: &str) -> Option<String> {
    let rest = after_key(json, key)?;
    if let Some(s) = rest.strip_prefix('"') {
        return string(s).map(|(v, _)| v);
    }
    let end = rest.find([',', '}', ']']).unwrap_or(rest.len());
    let raw = rest[..end].trim();
    (!raw.is_empty() && raw != "null" && !raw.starts_with(['{', '['])).then(|| raw.to_owned())
}

/// The strings of a list value of `key` (`["a", "b"]`); empty when absent.
pub fn list(json: &str, key: &str) -> Vec<String> {
    let Some(mut rest) = after_key(json, key).and_then(|r| r.strip_prefix('[')) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    loop {
        rest = rest.trim_start().trim_start_matches(',').trim_start();
        match rest.strip_prefix('"').and_then(string) {
            Some((v, tail)) => {
                out.push(v);
                rest = tail;
            }
            None => return out,
        }
    }
}

/// The text after `"key":`, whitespace skipped.
fn after_key<'a>(json: &'a str, key: &str) -> Option<&'a str> {
    let quoted = format!("\"{key}\"");
    let mut from = 0;
    while let Some(i) = json[from..].find(&quoted) {
        let rest = json[from + i + quoted.len()..].trim_start();
        if let Some(v) = rest.strip_prefix(':') {
            return Some(v.trim_start());
        }
        from += i + quoted.len();
    }
    None
}

/// A JSON string body (after the opening quote): its value and the rest.
fn string(s: &str) -> Option<(String, &str)> {
    let mut out = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, &s[i + 1..])),
            '\\' => match chars.next()?.1 {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'u' => {
                    let hex: String = (0..4).filter_map(|_| chars.next().map(|c| c.1)).collect();
                    out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                }
                other => out.push(other),
            },
            c => out.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_objects_read_like_the_engine_writes_them() {
        let j = r#"{"column":"status","op":"!=","value":"dis\"continued\u00e9","n":42,"on":true,"cols":["email", "alt_email"],"nested":{"a":1}}"#;
        assert_eq!(value(j, "column").as_deref(), Some("status"));
        assert_eq!(value(j, "op").as_deref(), Some("!="));
        assert_eq!(value(j, "value").as_deref(), Some("dis\"continuedé"));
        assert_eq!(value(j, "n").as_deref(), Some("42"));
        assert_eq!(value(j, "on").as_deref(), Some("true"));
        assert_eq!(value(j, "missing"), None);
        assert_eq!(value(j, "nested"), None);
        assert_eq!(list(j, "cols"), ["email", "alt_email"]);
        assert!(list(j, "column").is_empty());
        assert!(list("{}", "cols").is_empty());
    }
}
