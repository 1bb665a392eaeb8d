//! `serve`: binds the public and the review listener, runs both until
//! SIGTERM or SIGINT, lets in-flight requests finish, then flushes storage.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::audit::{Actor, Event, NewEntry};
use crate::web::connections;

pub use crate::state::AppState;

/// How often the server appends a signed checkpoint when records were
/// written since the last one, so `audit checkpoint` is never far behind.
const CHECKPOINT_INTERVAL: Duration = Duration::from_secs(3600);

/// Two bound sockets, ready to serve.
pub struct Listeners {
    pub public: TcpListener,
    pub review: TcpListener,
}

impl Listeners {
    /// Binds both addresses. An address in use gets a one-line error naming it.
    pub async fn bind(public: SocketAddr, review: SocketAddr) -> Result<Listeners, String> {
        Ok(Listeners { public: bind_one("public", public).await?, review: bind_one("review", review).await? })
    }

    pub fn public_addr(&self) -> std::io::Result<SocketAddr> {
        self.public.local_addr()
    }

    pub fn review_addr(&self) -> std::io::Result<SocketAddr> {
        self.review.local_addr()
    }
}

async fn bind_one(what: &str, addr: SocketAddr) -> Result<TcpListener, String> {
    TcpListener::bind(addr).await.map_err(|e| {
        let why = match e.kind() {
            std::io::ErrorKind::AddrInUse => "the address is already in use".to_string(),
            std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
            std::io::ErrorKind::AddrNotAvailable => "no such address on this host".to_string(),
            _ => e.to_string(),
        };
        format!("cannot listen on {addr} for the {what} listener: {why}")
    })
}

/// Serves both listeners until `shutdown` completes, then waits for
/// in-flight requests and flushes the store.
pub async fn run(
    state: AppState,
    listeners: Listeners,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), String> {
    state
        .audit
        .append(NewEntry::by(Actor::System, Event::ServerStarted))
        .map_err(|e| format!("cannot write the audit log, so refusing to start: {e}"))?;
    state.release_witness_events().map_err(|e| format!("cannot release deferred witness events: {e}"))?;
    let cases = state.cases.clone();
    tokio::task::spawn_blocking(move || cases.finish_interrupted())
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("cannot finish the reviewers' changes a crash interrupted: {e}"))?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let checkpoints = tokio::spawn(periodic_audit_work(state.clone(), stop_rx.clone()));
    let sweeper = tokio::spawn(sweep_sessions(state.clone(), stop_rx.clone()));
    let control = tokio::spawn(crate::control::serve(state.store.clone(), state.audit.clone(), stop_rx.clone()));
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let public_limits = state.intake.limits.connections();
    let public =
        connections::serve(listeners.public, crate::intake::router(state.clone()), public_limits, stop_rx.clone());
    // Reviewers come through their own onion or proxy: the same body rate,
    // the default number of connections.
    let review_limits = connections::ConnectionLimits { min_rate: public_limits.min_rate, ..Default::default() };
    let review = connections::serve(listeners.review, crate::review::router(state.clone()), review_limits, stop_rx);
    tokio::join!(public, review);
    let _ = checkpoints.await;
    let _ = sweeper.await;
    if let Ok(Err(e)) = control.await {
        tracing::error!(error = %e, "the control socket failed");
    }

    let audited = state
        .audit
        .append(NewEntry::by(Actor::System, Event::ServerStopped))
        .and_then(|_| state.audit.checkpoint())
        .map_err(|e| format!("could not write the audit log at shutdown: {e}"));
    let flushed = state.store.flush();
    flushed.map_err(|e| format!("could not flush storage at shutdown: {e}"))?;
    audited?;
    tracing::info!("stopped; storage flushed");
    Ok(())
}

/// Every minute: ends expired sessions (auditing each), rewrites the sealed
/// index snapshots that are due, drops the decrypted index of any desk no
/// signed-in member holds any more, and once a day runs the retention
/// purge.
async fn sweep_sessions(state: AppState, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let state = state.clone();
                let _ = tokio::task::spawn_blocking(move || {
                    state.admin.sessions_expired(state.auth.sessions.sweep());
                    let live = state.auth.sessions.live_desks();
                    state.search.save_due_snapshots(&state.store, &live);
                    state.search.retain(&live);
                    match state.purge_if_a_new_day() {
                        Ok(0) => {}
                        Ok(deleted) => tracing::info!(deleted, "retention: statements past their rule deleted (tombstones in the audit log)"),
                        Err(e) => tracing::error!(error = %e, "retention: the daily purge stopped; it tries again tomorrow"),
                    }
                })
                .await;
            }
            _ = async { let _ = stop.wait_for(|stop| *stop).await; } => return,
        }
    }
}

/// Hourly: witness events of past days join the log, then a checkpoint.
async fn periodic_audit_work(state: AppState, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(CHECKPOINT_INTERVAL);
    tick.tick().await; // the first tick is immediate
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let state = state.clone();
                let done = tokio::task::spawn_blocking(move || {
                    state.release_witness_events()?;
                    state.audit.checkpoint_if_needed().map_err(|e| e.to_string())
                })
                .await;
                if !matches!(done, Ok(Ok(()))) {
                    tracing::error!("the hourly audit work failed");
                }
            }
            _ = async { let _ = stop.wait_for(|stop| *stop).await; } => return,
        }
    }
}

/// Watches SIGTERM and SIGINT (Ctrl-C) from the moment it is called, and
/// returns a future that completes on the first of them. Call it before the
/// addresses are announced: a signal that arrives between the announcement
/// and the first poll must still stop the server cleanly.
pub fn termination_signal() -> Result<impl Future<Output = ()> + Send + 'static, String> {
    use tokio::signal::unix::{SignalKind, signal};
    let watch = |kind: SignalKind| signal(kind).map_err(|e| format!("cannot watch for termination signals: {e}"));
    let mut term = watch(SignalKind::terminate())?;
    let mut int = watch(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM: finishing in-flight requests"),
            _ = int.recv() => tracing::info!("SIGINT: finishing in-flight requests"),
        }
    })
}
