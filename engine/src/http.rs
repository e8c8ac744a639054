//! The one HTTP listener: metrics, health, status and the admin API.
//!
//! * `GET /metrics`: Prometheus text.
//! * `GET /healthz`: 200 while the process runs.
//! * `GET /readyz`: 200 when the source is connected and every pipeline
//!   streams, else 503 with every reason.
//! * `GET /status`: JSON, each pipeline's state, error, position, lag, rows
//!   and plugins.
//! * `POST /pipelines/{name}/resume`: resume a halted pipeline after the
//!   cause was fixed. Disabled unless `[admin] token` is set; requires that
//!   token as `Authorization: Bearer ...`.
//!
//! Small on purpose: one request per connection, no keep-alive, requests up
//! to 8 KiB.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use metrics_exporter_prometheus::PrometheusHandle;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::control::Control;
use crate::metrics as m;
use crate::shutdown::Shutdown;
use crate::status::{State, Status};

/// What the listener serves from.
pub struct Api {
    pub handle: PrometheusHandle,
    pub status: Arc<Status>,
    pub admin_token: Option<String>,
    /// Resume requests for the engine.
    pub control: mpsc::UnboundedSender<Control>,
}

/// Bind the listener.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, String> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen for HTTP on {addr}: {e}; change [metrics] listen"))
}

/// Serve until shutdown.
pub async fn serve(listener: TcpListener, api: Arc<Api>, mut shutdown: Shutdown) {
    loop {
        let (mut sock, _) = tokio::select! {
            r = listener.accept() => match r {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "HTTP listener accept failed");
                    continue;
                }
            },
            _ = shutdown.wait() => return,
        };
        let api = api.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 8192];
            let n = match tokio::time::timeout(Duration::from_secs(5), sock.read(&mut buf)).await {
                Ok(Ok(n)) => n,
                _ => return,
            };
            let (code, ctype, body) = respond(&Request::parse(&buf[..n]), &api);
            let head = format!(
                "HTTP/1.1 {code}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = sock.write_all(head.as_bytes()).await;
            let _ = sock.write_all(body.as_bytes()).await;
            let _ = sock.shutdown().await;
        });
    }
}

/// The parts of a request the API looks at.
struct Request {
    method: String,
    path: String,
    bearer: Option<String>,
}

impl Request {
    fn parse(raw: &[u8]) -> Request {
        let text = String::from_utf8_lossy(raw);
        let mut lines = text.lines();
        let mut first = lines.next().unwrap_or("").split_whitespace();
        let method = first.next().unwrap_or("").to_owned();
        let path = first.next().unwrap_or("/").to_owned();
        let bearer = lines
            .take_while(|l| !l.is_empty())
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("authorization"))
            .and_then(|(_, v)| {
                v.trim()
                    .strip_prefix("Bearer ")
                    .map(|t| t.trim().to_owned())
            });
        Request {
            method,
            path,
            bearer,
        }
    }
}

/// Compare without an early exit, so timing does not leak the token.
fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

type Response = (&'static str, &'static str, String);

fn text(code: &'static str, body: impl Into<String>) -> Response {
    (code, "text/plain", body.into())
}

fn respond(req: &Request, api: &Api) -> Response {
    match (req.method.as_str(), req.path.as_str()) {
        ("GET", "/metrics") => {
            for (pipeline, age) in api.status.checkpoint_ages() {
                m::checkpoint_age(&pipeline, age);
            }
            ("200 OK", "text/plain; version=0.0.4", api.handle.render())
        }
        ("GET", "/healthz") => text("200 OK", "ok\n"),
        ("GET", "/readyz") => match api.status.not_ready() {
            None => text("200 OK", "ready\n"),
            Some(why) => text("503 Service Unavailable", format!("{why}\n")),
        },
        ("GET", "/status") => match serde_json::to_string_pretty(&api.status.snapshot()) {
            Ok(json) => ("200 OK", "application/json", json),
            Err(e) => text("500 Internal Server Error", format!("{e}\n")),
        },
        ("POST", path) if path.starts_with("/pipelines/") && path.ends_with("/resume") => {
            let name = &path["/pipelines/".len()..path.len() - "/resume".len()];
            resume(req, api, name)
        }
        _ => text(
            "404 Not Found",
            "not found; try /metrics, /healthz, /readyz, /status or POST /pipelines/NAME/resume\n",
        ),
    }
}

fn resume(req: &Request, api: &Api, name: &str) -> Response {
    let Some(token) = &api.admin_token else {
        return text(
            "403 Forbidden",
            "the admin API is disabled; set [admin] token in the config to enable it\n",
        );
    };
    if !req.bearer.as_deref().is_some_and(|b| same_token(b, token)) {
        return text(
            "401 Unauthorized",
            "send the [admin] token as `Authorization: Bearer <token>`\n",
        );
    }
    let snapshot = api.status.snapshot();
    match snapshot.pipelines.get(name).map(|p| p.state) {
        None => text("404 Not Found", format!("no pipeline named `{name}`\n")),
        Some(State::Halted) => match api.control.send(Control::Resume(name.to_owned())) {
            Ok(()) => text(
                "202 Accepted",
                format!("resuming pipeline `{name}` from its checkpoint\n"),
            ),
            Err(_) => text("503 Service Unavailable", "the engine is shutting down\n"),
        },
        Some(state) => text(
            "409 Conflict",
            format!("pipeline `{name}` is {}, not halted\n", state.as_str()),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_parse_method_path_and_bearer_token() {
        let r = Request::parse(
            b"POST /pipelines/p/resume HTTP/1.1\r\nHost: x\r\nauthorization: Bearer abc \r\n\r\n",
        );
        assert_eq!(
            (r.method.as_str(), r.path.as_str(), r.bearer.as_deref()),
            ("POST", "/pipelines/p/resume", Some("abc"))
        );
        assert!(Request::parse(b"GET / HTTP/1.1\r\n\r\n").bearer.is_none());
        assert!(same_token("abc", "abc") && !same_token("abc", "abd") && !same_token("abc", "ab"));
    }
}
