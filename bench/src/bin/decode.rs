//! Decode benchmark helper: read the binlog of a live server from one
//! position to another with Sluice's own reader (the path `sluice run`
//! uses: dump connection, event grouping, row decoding into Sluice values),
//! no pipeline, no target. Prints the rows and transactions decoded.
//! `bench/decode.py` runs it and measures its CPU time.
//!
//!     decode URL FROM TO        (FROM and TO as binlog.000001:4)
//!
//! On a server without row metadata (MySQL 5.7) it keeps a schema history
//! of every table, read at FROM, as `sluice run` would.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use sluice::config::{SourceConfig, TablePattern, Tls};
use sluice::position::{BinlogPosition, StartFrom};
use sluice::source::{ReadFrom, Server};

/// The allocator `sluice` itself uses.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    sluice::install_crypto();
    let args: Vec<String> = std::env::args().collect();
    let [_, url, from, to] = args.as_slice() else {
        anyhow::bail!("usage: decode URL FROM TO");
    };
    let from: BinlogPosition = from.parse().map_err(anyhow::Error::msg)?;
    let to: BinlogPosition = to.parse().map_err(anyhow::Error::msg)?;
    let config = SourceConfig {
        url: url.clone(),
        urls: vec![url.clone()],
        server_id: 9002,
        start: StartFrom::Position(from.clone()),
        heartbeat_secs: 1,
        tls: Tls::Off,
    };
    let server = Server::new(&config).map_err(|e| anyhow::anyhow!("{e}"))?;
    // A server without row metadata (MySQL 5.7) decodes with a schema
    // history, read at FROM as `sluice run` does: part of the cost.
    let mut conn = server.connect().await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let history = if sluice::source::has_row_metadata(&mut conn).await? {
        None
    } else {
        let every = TablePattern {
            database: "*".into(),
            table: "*".into(),
        };
        let h = sluice::source::initial_history(
            &mut conn,
            vec![every],
            std::iter::empty(),
            Some(&from),
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        Some(Arc::new(Mutex::new(h)))
    };
    let reader = server
        .open_stream(&ReadFrom::Position(from), 9002, 1, Duration::from_secs(30))
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut reader = match history {
        Some(h) => reader.with_history(h, server.clone()),
        None => reader,
    };
    let (mut rows, mut txns) = (0u64, 0u64);
    loop {
        let txn = reader
            .next_transaction()
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        txns += 1;
        rows += txn.changes.iter().map(|c| c.rows.len() as u64).sum::<u64>();
        if txn.end >= to {
            break;
        }
    }
    println!("{rows} {txns}");
    Ok(())
}
