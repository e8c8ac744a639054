//! The one HTTP listener: metrics, health, status and the admin API
//! (the routes are in [`routes`]).
//!
//! # Why this is safe to expose
//! Requests are parsed by hyper, not by hand: a request whose headers
//! arrive over several TCP segments is read whole, connections are kept
//! alive, and a malformed request line gets hyper's 400. Around it, this
//! module sets the limits a listener facing an untrusted network needs:
//!
//! * **Slow clients.** The headers of every request, including the next
//!   one on a kept-alive connection, must arrive within
//!   [`HEADER_TIMEOUT`]; a client that trickles them (slowloris) is
//!   disconnected, and it holds one task and one connection slot until then.
//! * **Large headers.** hyper buffers at most [`MAX_HEADER_BYTES`] while it
//!   reads the head; a larger head gets 431 and the connection closes.
//! * **Large bodies.** No route takes a body larger than [`MAX_BODY_BYTES`];
//!   a larger declared body gets 413 before it is read.
//! * **Many clients.** At most [`MAX_CONNECTIONS`] connections are served at
//!   once; more are closed at accept, so the engine's memory does not grow
//!   with the number of clients.
//!
//! A handler never panics on input: names come from the router's path
//! parameters (an empty or undecodable name is a 404 or 400, not a slice),
//! and the fuzz target `http` (fuzz/) feeds arbitrary bytes through
//! [`serve_connection`] to check it.

pub mod routes;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

pub use routes::Api;

use crate::shutdown::Shutdown;

/// Time a client has to send a request's headers.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest request head (request line and headers) read.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;
/// The largest request body accepted.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Connections served at once.
pub const MAX_CONNECTIONS: usize = 256;

/// Bind the listener.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, String> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen for HTTP on {addr}: {e}; change [metrics] listen"))
}

/// Serve until shutdown.
pub async fn serve(listener: TcpListener, api: Arc<Api>, mut shutdown: Shutdown) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let sock = tokio::select! {
            r = listener.accept() => match r {
                Ok((sock, _)) => sock,
                Err(e) => {
                    tracing::warn!(error = %e, "HTTP listener accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.wait() => return,
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tracing::warn!(
                limit = MAX_CONNECTIONS,
                "HTTP connection refused: too many open connections"
            );
            continue;
        };
        let api = api.clone();
        let mut shutdown = shutdown.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = serve_connection(sock, api) => {}
                _ = shutdown.wait() => {}
            }
            drop(slot);
        });
    }
}

/// Serve one connection (any byte stream) until the client closes it, a
/// limit closes it, or an error does.
pub async fn serve_connection<I>(io: I, api: Arc<Api>)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = TowerToHyperService::new(routes::router(api));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .max_buf_size(MAX_HEADER_BYTES)
        .keep_alive(true);
    if let Err(e) = http.serve_connection(TokioIo::new(io), service).await {
        tracing::debug!(error = %e, "HTTP connection ended with an error");
    }
}

#[cfg(test)]
mod tests;
