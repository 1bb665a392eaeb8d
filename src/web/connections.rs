//! Accepting connections, with the limits a public service behind Tor needs
//! and `axum::serve` does not offer: a deadline for request headers (slow
//! clients cannot hold connections open for free), a cap on open
//! connections, and a bounded graceful shutdown.
//!
//! The peer address returned by `accept` is dropped unread: no handler can
//! learn a witness's address because it never leaves this function.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

/// Whole request headers must arrive within this time.
const HEADER_TIMEOUT: Duration = Duration::from_secs(20);
/// Open connections per listener; more are closed at once.
const MAX_CONNECTIONS: usize = 1024;
/// How long a shutdown waits for requests in flight.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Serves `router` on `listener` until `stop` turns true, then lets
/// requests in flight finish (up to a grace period).
pub async fn serve(listener: TcpListener, router: Router, mut stop: watch::Receiver<bool>) {
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
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
                let Ok(permit) = slots.clone().try_acquire_owned() else {
                    drop(stream);
                    continue;
                };
                let service = TowerToHyperService::new(router.clone());
                let connection = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(HEADER_TIMEOUT)
                    .serve_connection(TokioIo::new(stream), service);
                let watched = graceful.watch(connection);
                tokio::spawn(async move {
                    let _ = watched.await;
                    drop(permit);
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
