//! Slow clients through real sockets: a body that trickles is cut by the
//! minimum rate, and when slow connections take every connection and
//! upload slot, an honest witness still gets through, because the slowest
//! gives way.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use reqwest::multipart::Form;
use testimony::clock::{ManualClock, Timestamp};
use testimony::config::IntakeLimits;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Small limits so the test runs in seconds: 1 KiB/s over 2 s, 8
/// connections, 2 uploads, judged after 1 s.
fn limits() -> IntakeLimits {
    IntakeLimits {
        body_rate_window_secs: 2,
        min_body_bytes_per_sec: 1024,
        max_connections: 8,
        max_concurrent_uploads: 2,
        slow_grace_secs: 1,
        ..IntakeLimits::default()
    }
}

async fn start(site: &Site) -> InProcess {
    InProcess::start(site, Arc::new(ManualClock::at(Timestamp(1_795_950_000))), limits()).await
}

/// Opens a connection and starts a submission whose body then arrives a
/// byte every `every`, until the server closes the connection. Returns
/// what the server answered, if anything.
async fn trickle(base: &str, every: Duration) -> String {
    let address = base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).await.unwrap();
    let head = format!(
        "POST /submit HTTP/1.1\r\nHost: {address}\r\nContent-Type: multipart/form-data; boundary=XyZ\r\nContent-Length: 1000000\r\n\r\n--XyZ\r\nContent-Disposition: form-data; name=\"statement\"\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let sender = tokio::spawn(async move {
        while writer.write_all(b"a").await.is_ok() {
            tokio::time::sleep(every).await;
        }
    });
    let mut answer = Vec::new();
    let _ = reader.read_to_end(&mut answer).await;
    sender.abort();
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn a_body_that_trickles_below_the_minimum_rate_is_cut() {
    let site = Site::new();
    let server = start(&site).await;
    // A byte every 300 ms is far below 1 KiB/s but never idle long enough
    // for the idle timeout (60 s): only the rate can cut it.
    let answer = tokio::time::timeout(Duration::from_secs(20), trickle(&server.public, Duration::from_millis(300)))
        .await
        .expect("the server cut the connection within a few windows");
    assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 408"), "{answer:.200}");
    server.stop().await;
}

#[tokio::test]
async fn an_honest_witness_gets_through_while_slow_clients_hold_every_slot() {
    let site = Site::new();
    let server = start(&site).await;
    // More trickling clients than connection slots (8), two of them
    // holding both upload slots. Cut, each comes back a second later. (One
    // that reconnects as fast as the network allows is held in front of
    // the server: tor's proof-of-work and stream limits, see README.)
    let mut flood = Vec::new();
    for _ in 0..10 {
        let base = server.public.clone();
        flood.push(tokio::spawn(async move {
            loop {
                trickle(&base, Duration::from_millis(400)).await;
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let form = Form::new()
        .text("role", "detained_self")
        .text("consent_store", "yes")
        .text("statement", "an honest statement sent during the flood");
    let response = tokio::time::timeout(
        Duration::from_secs(30),
        http().post(format!("{}/submit", server.public)).multipart(form).send(),
    )
    .await
    .expect("answered while the flood runs")
    .expect("the connection was accepted");
    assert_eq!(response.status(), 200, "the witness gets a receipt");
    for f in flood {
        f.abort();
    }
    server.stop().await;
}

/// Sends `head` and then `body_start` on a raw connection and reads the
/// answer, without ever finishing the body.
async fn unfinished(base: &str, boundary: &str, body_start: &[u8]) -> String {
    let address = base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).await.unwrap();
    let head = format!(
        "POST /submit HTTP/1.1\r\nHost: {address}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: 500000000\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let _ = stream.write_all(body_start).await;
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut answer))
        .await
        .expect("answered before the body ended")
        .unwrap_or(0);
    String::from_utf8_lossy(&answer[..n]).into_owned()
}

#[tokio::test]
async fn a_part_header_that_never_ends_is_refused_after_a_few_kilobytes() {
    let site = Site::new();
    let server =
        InProcess::start(&site, Arc::new(ManualClock::at(Timestamp(1_795_950_000))), IntakeLimits::default()).await;
    // The parser would hold all of it (the review held 300 MB per header).
    let mut start = b"--XyZ\r\nContent-Disposition: form-data; name=\"statement\"\r\nX-Padding: ".to_vec();
    start.extend(std::iter::repeat_n(b'p', 64 * 1024));
    let answer = unfinished(&server.public, "XyZ", &start).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer:.200}");
    // So is a preamble that never reaches the first boundary.
    let answer = unfinished(&server.public, "XyZ", &vec![b'q'; 64 * 1024]).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer:.200}");
    server.stop().await;
}

#[tokio::test]
async fn a_text_field_far_longer_than_any_legal_value_is_refused() {
    let site = Site::new();
    let server =
        InProcess::start(&site, Arc::new(ManualClock::at(Timestamp(1_795_950_000))), IntakeLimits::default()).await;
    let mut start = b"--XyZ\r\nContent-Disposition: form-data; name=\"role\"\r\n\r\n".to_vec();
    start.extend(std::iter::repeat_n(b'r', 3 << 20));
    let answer = unfinished(&server.public, "XyZ", &start).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer:.200}");
    server.stop().await;
}
