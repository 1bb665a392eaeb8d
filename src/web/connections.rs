//! Accepting connections, with the limits a public service behind Tor needs
//! and `axum::serve` does not offer: a deadline for request headers, a
//! minimum rate for request bodies (`min_rate`), a cap on open connections
//! whose slots are taken back from the slowest when full (`slots`), and a
//! bounded graceful shutdown.
//!
//! The peer address returned by `accept` is dropped unread: no handler can
//! learn a witness's address because it never leaves this function.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use super::min_rate::MinRate;
use super::slots::{Slot, Slots};

/// Whole request headers must arrive within this time.
const HEADER_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a shutdown waits for requests in flight.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// The limits of one listener.
#[derive(Clone, Copy, Debug)]
pub struct ConnectionLimits {
    /// Open connections; when all are taken, the slowest gives way.
    pub max_connections: usize,
    /// A connection is not judged slow before it is this old.
    pub grace: Duration,
    /// Every request body must keep up this rate.
    pub min_rate: MinRate,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            max_connections: 1024,
            grace: Duration::from_secs(10),
            min_rate: MinRate::new(1024, Duration::from_secs(60)),
        }
    }
}

/// Serves `router` on `listener` until `stop` turns true, then lets
/// requests in flight finish (up to a grace period).
pub async fn serve(listener: TcpListener, router: Router, limits: ConnectionLimits, mut stop: watch::Receiver<bool>) {
    let graceful = GracefulShutdown::new();
    let per_second = limits.min_rate.min_bytes / limits.min_rate.window.as_secs().max(1);
    let slots = Slots::new(limits.max_connections, limits.grace, per_second);
    let rate = limits.min_rate;
    let router =
        router.layer(axum::middleware::map_request(move |request: Request| async move { rate.apply(request) }));
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _peer_address_never_read)) => stream,
                    Err(e) => {
                        // Out of file descriptors and the like: back off briefly.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let Some(slot) = slots.claim() else {
                    drop(stream);
                    continue;
                };
                let evicted = slot.evicted.clone();
                let service = TowerToHyperService::new(router.clone());
                let connection = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(HEADER_TIMEOUT)
                    .serve_connection(TokioIo::new(Metered { stream, slot }), service);
                let watched = graceful.watch(connection);
                tokio::spawn(async move {
                    // Given to a newcomer: dropping the connection closes it.
                    tokio::select! {
                        _ = watched => {}
                        _ = evicted.notified() => {}
                    }
                });
            }
            _ = async { let _ = stop.wait_for(|stop| *stop).await; } => break,
        }
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown()).await.is_err() {
        tracing::warn!("some requests were still running after the grace period");
    }
}

/// A connection's stream, counting the bytes it moves into its slot, so
/// the slowest connection can be found when the slots run out.
struct Metered {
    stream: TcpStream,
    slot: Slot,
}

impl AsyncRead for Metered {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        let read = buf.filled().len() - before;
        self.slot.moved(read as u64);
        polled
    }
}

impl AsyncWrite for Metered {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        // Bytes a client reads count too: a witness downloading is not idle.
        let polled = Pin::new(&mut self.stream).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = &polled {
            self.slot.moved(*n as u64);
        }
        polled
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
