//! What kind of statement a binlog QUERY event holds, read past comments.
//! The reader stops on any DML there (a statement-based change cannot be
//! copied exactly) and treats the rest as DDL; a comment in front of an
//! UPDATE must never make it look like DDL, which would be dropped.

/// The statement's first keyword, upper-cased, after whitespace and
/// comments (`-- …`, `# …`, `/* … */`). A version comment (`/*!40000 …*/`,
/// MariaDB's `/*M!100000 …*/`) is code the server ran, so its content is
/// read as part of the statement: `/*!100000 UPDATE t … */` is an UPDATE.
/// A statement that starts with a comment must never be taken for DDL
/// (it would be dropped as one).
pub fn first_keyword(sql: &str) -> String {
    let mut rest = sql;
    loop {
        rest = rest.trim_start();
        if let Some(r) = rest
            .strip_prefix("/*!")
            .or_else(|| rest.strip_prefix("/*M!"))
        {
            // The version number, then the code.
            rest = r.trim_start_matches(|c: char| c.is_ascii_digit());
        } else if let Some(r) = rest.strip_prefix("/*") {
            rest = r.split_once("*/").map_or("", |(_, after)| after);
        } else if rest.starts_with("--") || rest.starts_with('#') {
            rest = rest.split_once('\n').map_or("", |(_, after)| after);
        } else if let Some(r) = rest.strip_prefix("*/") {
            // The end of a version comment before the keyword.
            rest = r;
        } else {
            break;
        }
    }
    rest.split(|c: char| c.is_whitespace() || c == '(' || c == '/' || c == ';')
        .next()
        .unwrap_or("")
        .to_ascii_uppercase()
}

#[cfg(test)]
mod tests {
    use super::first_keyword;

    #[test]
    fn comments_do_not_hide_a_statement_kind() {
        for (sql, want) in [
            ("UPDATE t SET a = 1", "UPDATE"),
            ("/* app */ UPDATE t SET a = 1", "UPDATE"),
            ("/*!40000 INSERT INTO t VALUES (1) */", "INSERT"),
            ("/*M!100000 DELETE FROM t */", "DELETE"),
            ("-- note\n  REPLACE INTO t VALUES (1)", "REPLACE"),
            ("# note\nINSERT INTO t VALUES (1)", "INSERT"),
            (
                "/* a */ /* b */ -- c\n/*!50001 WITH x AS (SELECT 1) UPDATE t JOIN x SET a = 2 */",
                "WITH",
            ),
            ("/*!40101 SET NAMES utf8 */", "SET"),
            ("  ALTER TABLE t ADD c INT", "ALTER"),
            ("BEGIN", "BEGIN"),
            ("INSERT(", "INSERT"),
            ("/* never closed", ""),
        ] {
            assert_eq!(first_keyword(sql), want, "{sql}");
        }
    }
}
