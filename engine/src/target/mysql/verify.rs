//! `sluice verify` into MySQL: both servers compute the same checksum.
//!
//! For each range both sides compute a row count and a 64-bit XOR of
//! per-row MD5 prefixes over every source column (`CAST(... AS BINARY)`,
//! NULLs marked, session time zone UTC on both), so equal tables give equal
//! sums and a differing row changes the sum except with negligible
//! probability. Only the digests cross the network.
//!
//! The 64 bits are two XORs of 32-bit halves, each converted from hex with
//! `CONV`: MySQL 5.7 turns a number string of 2^63 or more into an
//! integer through a double (measured: `CAST(CONV(…) AS UNSIGNED)`
//! saturates), MariaDB exactly, and 32-bit halves are exact on both.

use mysql_async::Conn;
use mysql_async::prelude::Queryable;

use super::MysqlTarget;
use super::sql::quote_table;
use crate::source::table::{SqlTable, quote};
use crate::source::{Server, SourceError};
use crate::target::{Digest, KeyRange, RangeVerify, Repaired};

fn src(e: SourceError) -> String {
    e.to_string()
}

impl RangeVerify for MysqlTarget {
    async fn source_digest(
        &mut self,
        source: &mut Conn,
        table: &SqlTable,
        _target_table: &str,
        range: &KeyRange,
    ) -> Result<Digest, String> {
        checksum(source, table, &table.quoted(), range).await
    }

    async fn target_digest(
        &mut self,
        table: &SqlTable,
        target_table: &str,
        range: &KeyRange,
    ) -> Result<Digest, String> {
        let conn = self.conn().await.map_err(|e| e.to_string())?;
        checksum(conn, table, &quote_table(target_table), range).await
    }

    async fn first_differences(
        &mut self,
        server: &Server,
        table: &SqlTable,
        target_table: &str,
        range: &KeyRange,
    ) -> Result<String, String> {
        let tconn = self.conn().await.map_err(|e| e.to_string())?;
        first_differences(server, tconn, table, target_table, range).await
    }

    async fn repair_range(
        &mut self,
        pipeline: &str,
        target_table: &str,
        table: &SqlTable,
        server: &Server,
        range: &KeyRange,
    ) -> Result<Repaired, String> {
        self.repair(
            pipeline,
            target_table,
            table,
            server,
            range.after.as_deref(),
            range.upto.as_deref(),
        )
        .await
    }
}

/// The SQL of a row's hash: MD5 over every column as bytes and a map of
/// its NULLs (module doc).
fn row_hash(table: &SqlTable) -> String {
    let cols: Vec<String> = table.schema.columns.iter().map(|c| quote(c)).collect();
    let values: Vec<String> = cols
        .iter()
        .map(|c| format!("CAST({c} AS BINARY)"))
        .collect();
    let nulls: Vec<String> = cols.iter().map(|c| format!("ISNULL({c})")).collect();
    format!(
        "MD5(CONCAT_WS('#', {}, CONCAT({})))",
        values.join(", "),
        nulls.join(", ")
    )
}

/// Row count and XOR of per-row hashes of a key range (module doc).
async fn checksum<Q: Queryable>(
    conn: &mut Q,
    table: &SqlTable,
    quoted: &str,
    range: &KeyRange,
) -> Result<(u64, u64), String> {
    let hash = row_hash(table);
    let (cond, params) = table.key_range(range.after.as_deref(), range.upto.as_deref());
    let half = |from: usize| {
        format!("COALESCE(BIT_XOR(CAST(CONV(SUBSTRING(h, {from}, 8), 16, 10) AS UNSIGNED)), 0)")
    };
    let sql = format!(
        "SELECT COUNT(*), {}, {} FROM (SELECT {hash} AS h FROM {quoted} WHERE {cond}) AS hashes",
        half(1),
        half(9)
    );
    let row: Option<(u64, u64, u64)> = conn
        .exec_first(sql, params)
        .await
        .map_err(|e| format!("checksum of {quoted}: {e}"))?;
    Ok(row.map_or((0, 0), |(n, hi, lo)| (n, (hi << 32) | lo)))
}

/// The first differing keys of a range, for the report.
async fn first_differences(
    server: &Server,
    tconn: &mut Conn,
    table: &SqlTable,
    target_table: &str,
    range: &KeyRange,
) -> Result<String, String> {
    let hash = row_hash(table);
    let key_text = table
        .schema
        .key
        .iter()
        .map(|&k| {
            let c = &table.schema.columns[k];
            format!(
                "CONCAT('{}=', CAST({} AS BINARY))",
                c.replace('\'', "''"),
                quote(c)
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    let (cond, params) = table.key_range(range.after.as_deref(), range.upto.as_deref());
    let query = |quoted: &str| {
        format!("SELECT CONCAT_WS(', ', {key_text}), {hash} FROM {quoted} WHERE {cond}")
    };
    let mut sconn = server.connect().await.map_err(src)?;
    sconn
        .query_drop("SET time_zone = '+00:00', NAMES utf8mb4")
        .await
        .map_err(|e| e.to_string())?;
    let fetch = |rows: Vec<(Vec<u8>, String)>| -> Vec<(String, String)> {
        rows.into_iter()
            .map(|(k, h)| (String::from_utf8_lossy(&k).into_owned(), h))
            .collect()
    };
    let s: Vec<(Vec<u8>, String)> = sconn
        .exec(query(&table.quoted()), params.clone())
        .await
        .map_err(|e| e.to_string())?;
    let t: Vec<(Vec<u8>, String)> = tconn
        .exec(query(&quote_table(target_table)), params)
        .await
        .map_err(|e| e.to_string())?;
    let (s, t) = (fetch(s), fetch(t));
    let smap: std::collections::HashMap<_, _> = s.iter().cloned().collect();
    let tmap: std::collections::HashMap<_, _> = t.iter().cloned().collect();
    let mut out = Vec::new();
    for (k, h) in &s {
        match tmap.get(k) {
            None => out.push(format!("{} missing in the target", k)),
            Some(th) if th != h => out.push(format!("{} differs", k)),
            _ => {}
        }
    }
    for (k, _) in &t {
        if !smap.contains_key(k) {
            out.push(format!("{} only in the target", k));
        }
    }
    let more = out.len().saturating_sub(5);
    out.truncate(5);
    Ok(if out.is_empty() {
        String::new()
    } else if more > 0 {
        format!("; first rows: {} (and {more} more)", out.join(", "))
    } else {
        format!("; rows: {}", out.join(", "))
    })
}
