//! The routes of the HTTP listener.
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
//! Anything else is a 404 that lists the routes (405 for a known path with
//! another method). Handlers only read the shared status and send a
//! [`Control`] message, so a request can neither block the engine nor
//! change it except through the admin token.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::sync::mpsc;
use tower_http::limit::RequestBodyLimitLayer;

use super::MAX_BODY_BYTES;
use crate::control::Control;
use crate::metrics as m;
use crate::status::{State as PipelineState, Status};

/// What the listener serves from.
pub struct Api {
    pub handle: PrometheusHandle,
    pub status: Arc<Status>,
    pub admin_token: Option<String>,
    /// Resume requests for the engine.
    pub control: mpsc::UnboundedSender<Control>,
}

/// The router, with the body limit applied to every route.
pub fn router(api: Arc<Api>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { text(StatusCode::OK, "ok\n") }))
        .route("/readyz", get(readyz))
        .route("/status", get(status))
        .route("/pipelines/{name}/resume", post(resume))
        .fallback(|| async { not_found() })
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .with_state(api)
}

fn not_found() -> Response {
    text(
        StatusCode::NOT_FOUND,
        "not found; try /metrics, /healthz, /readyz, /status or POST /pipelines/NAME/resume\n",
    )
}

fn text(code: StatusCode, body: impl Into<String>) -> Response {
    (
        code,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body.into(),
    )
        .into_response()
}

async fn metrics(State(api): State<Arc<Api>>) -> Response {
    for (pipeline, age) in api.status.checkpoint_ages() {
        m::checkpoint_age(&pipeline, age);
    }
    // Lag as of now, so it rises on a frozen source with nothing to apply.
    for (pipeline, lag) in api.status.lags() {
        m::lag(&pipeline, lag);
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        api.handle.render(),
    )
        .into_response()
}

async fn readyz(State(api): State<Arc<Api>>) -> Response {
    match api.status.not_ready() {
        None => text(StatusCode::OK, "ready\n"),
        Some(why) => text(StatusCode::SERVICE_UNAVAILABLE, format!("{why}\n")),
    }
}

async fn status(State(api): State<Arc<Api>>) -> Response {
    match serde_json::to_string_pretty(&api.status.snapshot()) {
        Ok(json) => ([(header::CONTENT_TYPE, "application/json")], json).into_response(),
        Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")),
    }
}

/// The token of `Authorization: Bearer <token>`, if the header has one.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    value.trim().strip_prefix("Bearer ").map(str::trim)
}

/// Compare without an early exit, so timing does not leak the token.
fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

async fn resume(
    State(api): State<Arc<Api>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    if name.is_empty() {
        return not_found();
    }
    let Some(token) = &api.admin_token else {
        return text(
            StatusCode::FORBIDDEN,
            "the admin API is disabled; set [admin] token in the config to enable it\n",
        );
    };
    if !bearer(&headers).is_some_and(|b| same_token(b, token)) {
        return text(
            StatusCode::UNAUTHORIZED,
            "send the [admin] token as `Authorization: Bearer <token>`\n",
        );
    }
    let snapshot = api.status.snapshot();
    match snapshot.pipelines.get(&name).map(|p| p.state) {
        None => text(
            StatusCode::NOT_FOUND,
            format!("no pipeline named `{name}`\n"),
        ),
        Some(PipelineState::Halted) => match api.control.send(Control::Resume(name.clone())) {
            Ok(()) => text(
                StatusCode::ACCEPTED,
                format!("resuming pipeline `{name}` from its checkpoint\n"),
            ),
            Err(_) => text(
                StatusCode::SERVICE_UNAVAILABLE,
                "the engine is shutting down\n",
            ),
        },
        Some(state) => text(
            StatusCode::CONFLICT,
            format!("pipeline `{name}` is {}, not halted\n", state.as_str()),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_are_read_and_compared_whole() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer(&h), None);
        h.insert(header::AUTHORIZATION, "Bearer abc ".parse().unwrap());
        assert_eq!(bearer(&h), Some("abc"));
        h.insert(header::AUTHORIZATION, "Basic abc".parse().unwrap());
        assert_eq!(bearer(&h), None);
        assert!(same_token("abc", "abc") && !same_token("abc", "abd") && !same_token("abc", "ab"));
    }
}
