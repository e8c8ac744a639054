//! Decode benchmark helper: read the binlog of a live server from one
//! position to another with Sluice's own reader (the path `sluice run`
//! uses: dump connection, event grouping, row decoding into Sluice values),
//! no pipeline, no target. Prints the rows and transactions decoded.
//! `bench/decode.py` runs it and measures its CPU time.
//!
//!     decode URL FROM TO        (FROM and TO as binlog.000001:4)

use std::time::Duration;

use sluice::config::{SourceConfig, Tls};
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
    let mut reader = server
        .open_stream(&ReadFrom::Position(from), 9002, 1, Duration::from_secs(30))
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
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
