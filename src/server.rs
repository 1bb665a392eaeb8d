//! `serve`: binds the public and the review listener, runs both until
//! SIGTERM or SIGINT, lets in-flight requests finish, then flushes storage.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::audit::{Actor, AuditLog, Event, NewEntry};
use crate::auth::AuthState;
use crate::auth::session::Lifetimes;
use crate::clock::Clock;
use crate::config::IntakeLimits;
use crate::intake::IntakeState;
use crate::search::SearchIndex;
use crate::storage::Store;
use crate::web::connections;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<Store>,
    pub audit: Arc<AuditLog>,
    pub clock: Arc<dyn Clock>,
    pub intake: Arc<IntakeState>,
    pub auth: Arc<AuthState>,
    pub search: Arc<SearchIndex>,
}

impl AppState {
    /// Opens the audit log of an open store (the store's lock makes this
    /// process its only writer).
    pub fn new(store: Store, clock: Arc<dyn Clock>, limits: IntakeLimits) -> Result<AppState, String> {
        AppState::with_sessions(store, clock, limits, Lifetimes::default())
    }

    pub fn with_sessions(
        store: Store,
        clock: Arc<dyn Clock>,
        limits: IntakeLimits,
        lifetimes: Lifetimes,
    ) -> Result<AppState, String> {
        let audit = AuditLog::open(&store, clock.clone()).map_err(|e| format!("cannot open the audit log: {e}"))?;
        Ok(AppState::from_parts(store, audit, clock, limits, lifetimes))
    }

    /// Assembles a state from an already opened audit log. The server uses
    /// [`AppState::with_sessions`]; tests use this to give it a log whose
    /// disk fails on command.
    pub fn from_parts(
        store: Store,
        audit: AuditLog,
        clock: Arc<dyn Clock>,
        limits: IntakeLimits,
        lifetimes: Lifetimes,
    ) -> AppState {
        let intake = Arc::new(IntakeState::new(limits, clock.clone()));
        let auth = Arc::new(AuthState::new(clock.clone(), lifetimes));
        AppState {
            store: Arc::new(store),
            audit: Arc::new(audit),
            clock,
            intake,
            auth,
            search: Arc::new(SearchIndex::default()),
        }
    }

    /// Moves witness events of past days into the audit log.
    pub fn release_witness_events(&self) -> Result<usize, String> {
        crate::audit::witness::release_due(&self.store, &self.audit, self.clock.today()).map_err(|e| e.to_string())
    }
}

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
    let (stop_tx, stop_rx) = watch::channel(false);
    let checkpoints = tokio::spawn(periodic_audit_work(state.clone(), stop_rx.clone()));
    let sweeper = tokio::spawn(sweep_sessions(state.clone(), stop_rx.clone()));
    let control = tokio::spawn(crate::control::serve(state.store.clone(), state.audit.clone(), stop_rx.clone()));
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let public = connections::serve(listeners.public, crate::intake::router(state.clone()), stop_rx.clone());
    let review = connections::serve(listeners.review, crate::review::router(state.clone()), stop_rx);
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

/// Every minute: ends expired sessions (auditing each) and drops the
/// decrypted index of any desk no signed-in member holds any more.
async fn sweep_sessions(state: AppState, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let state = state.clone();
                let _ = tokio::task::spawn_blocking(move || {
                    for account in state.auth.sessions.sweep() {
                        let _ = state.audit.append(NewEntry::by(Actor::Account(account.to_string()), Event::SessionExpired));
                    }
                    state.search.retain(&state.auth.sessions.live_desks());
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
