//! The listener over real loopback sockets: the defects of the hand-written
//! server it replaced (a panic on a short path, headers split over two
//! segments, no keep-alive) and the limits of the module doc.

use std::sync::Arc;
use std::time::{Duration, Instant};

use metrics_exporter_prometheus::PrometheusBuilder;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::*;
use crate::status::Status;

/// A listener on a free port; dropping the guard stops it.
struct Listening {
    addr: SocketAddr,
    _stop: crate::shutdown::ShutdownTrigger,
    _control: tokio::sync::mpsc::UnboundedReceiver<crate::control::Control>,
}

async fn start(token: Option<&str>) -> Listening {
    let listener = bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (control, rx) = tokio::sync::mpsc::unbounded_channel();
    let api = Arc::new(Api {
        handle: PrometheusBuilder::new().build_recorder().handle(),
        status: Arc::new(Status::default()),
        admin_token: token.map(str::to_owned),
        control,
    });
    let (trigger, shutdown) = crate::shutdown::channel();
    tokio::spawn(serve(listener, api, shutdown));
    Listening {
        addr,
        _stop: trigger,
        _control: rx,
    }
}

/// Read one response (head and a Content-Length body) off a kept-alive
/// connection: the status code and the body.
async fn read_response(sock: &mut TcpStream) -> (u16, String) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_string();
            let len: usize = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())?
                })
                .unwrap_or(0);
            if buf.len() >= end + 4 + len {
                let code = head.split_whitespace().nth(1).unwrap().parse().unwrap();
                let body = String::from_utf8_lossy(&buf[end + 4..end + 4 + len]).to_string();
                buf.drain(..end + 4 + len);
                return (code, body);
            }
        }
        let n = tokio::time::timeout(Duration::from_secs(10), sock.read(&mut chunk))
            .await
            .expect("a response within 10 s")
            .unwrap();
        assert!(n > 0, "connection closed before a full response: {buf:?}");
        buf.extend_from_slice(&chunk[..n]);
    }
}

async fn request(addr: SocketAddr, raw: &str) -> (u16, String) {
    let mut sock = TcpStream::connect(addr).await.unwrap();
    sock.write_all(raw.as_bytes()).await.unwrap();
    read_response(&mut sock).await
}

#[tokio::test]
async fn malformed_resume_paths_are_answered_not_panicked_on() {
    let server = start(Some("t")).await;
    let addr = server.addr;
    for path in [
        "/pipelines/resume",
        "/pipelines//resume",
        "/pipelines/a/b/resume",
        "/pipelines/",
    ] {
        let (code, body) = request(addr, &format!("POST {path} HTTP/1.1\r\nHost: x\r\n\r\n")).await;
        assert_eq!(code, 404, "{path}: {body}");
        assert!(body.contains("POST /pipelines/NAME/resume"), "{body}");
    }
    let (code, _) = request(
        addr,
        "POST /pipelines/%FF/resume HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\n\r\n",
    )
    .await;
    assert_eq!(code, 400, "a name that is not UTF-8 after decoding");
    let (code, body) = request(
        addr,
        "POST /pipelines/nope/resume HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\n\r\n",
    )
    .await;
    assert_eq!((code, body.as_str()), (404, "no pipeline named `nope`\n"));
    let (code, _) = request(
        addr,
        "GET /pipelines/nope/resume HTTP/1.1\r\nHost: x\r\n\r\n",
    )
    .await;
    assert_eq!(code, 405);
    // Not HTTP at all: hyper answers 400 or closes; either way the
    // listener still serves the next client.
    let mut sock = TcpStream::connect(addr).await.unwrap();
    sock.write_all(b"garbage\r\n\r\n").await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), sock.read_to_end(&mut out))
        .await
        .expect("closed within 10 s")
        .unwrap();
    assert!(
        out.is_empty() || out.starts_with(b"HTTP/1.1 400"),
        "{out:?}"
    );
    let (code, _) = request(addr, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert_eq!(code, 200);
}

#[tokio::test]
async fn headers_split_over_segments_and_keep_alive_are_served() {
    let server = start(None).await;
    let addr = server.addr;
    let mut sock = TcpStream::connect(addr).await.unwrap();
    sock.set_nodelay(true).unwrap();
    // The old server read one segment and dropped the rest of the head.
    sock.write_all(b"POST /pipelines/p/resume HTTP/1.1\r\nHo")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    sock.write_all(b"st: x\r\nAuthorization: Bearer t\r\n\r\n")
        .await
        .unwrap();
    let (code, body) = read_response(&mut sock).await;
    assert_eq!(code, 403, "{body}");
    // The same connection serves the next requests.
    for _ in 0..3 {
        sock.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        assert_eq!(read_response(&mut sock).await, (200, "ok\n".to_owned()));
    }
    sock.write_all(b"GET /status HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let (code, body) = read_response(&mut sock).await;
    assert_eq!(code, 200);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(v["pipelines"].is_object(), "{body}");
}

#[tokio::test]
async fn oversized_heads_and_bodies_are_refused() {
    let server = start(Some("t")).await;
    let addr = server.addr;
    let big = "a".repeat(MAX_HEADER_BYTES + 1);
    let (code, _) = request(
        addr,
        &format!("GET /healthz HTTP/1.1\r\nX-Big: {big}\r\n\r\n"),
    )
    .await;
    assert_eq!(code, 431);
    let (code, _) = request(
        addr,
        &format!(
            "POST /pipelines/p/resume HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\nContent-Length: {}\r\n\r\n",
            MAX_BODY_BYTES + 1
        ),
    )
    .await;
    assert_eq!(code, 413);
}

#[tokio::test]
async fn a_client_that_trickles_its_headers_is_disconnected() {
    let server = start(None).await;
    let addr = server.addr;
    let mut sock = TcpStream::connect(addr).await.unwrap();
    let began = Instant::now();
    sock.write_all(b"GET /healthz HTTP/1.1\r\n").await.unwrap();
    let mut buf = [0u8; 1024];
    loop {
        // One header byte a second, for ever: the server must give up.
        let r = tokio::time::timeout(Duration::from_secs(1), sock.read(&mut buf)).await;
        match r {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(_)) => break, // a 408 response before the close is fine too
            Err(_) => {
                assert!(
                    began.elapsed() < HEADER_TIMEOUT + Duration::from_secs(5),
                    "still connected after {:?}",
                    began.elapsed()
                );
                let _ = sock.write_all(b"X").await;
            }
        }
    }
    assert!(began.elapsed() >= HEADER_TIMEOUT - Duration::from_millis(500));
}
