//! `testimony demo`: the one-command first look. A throwaway data directory
//! (deleted on exit: Ctrl-C, SIGTERM or SIGHUP), a demo admin with printed
//! credentials, a handful of made-up example statements to look at (see
//! `examples`), both listeners on 127.0.0.1. Nothing here is protected:
//! the recovery key sits next to the data, and the credentials are on the
//! screen.

mod examples;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use crate::cli::DemoArgs;
use crate::clock::SystemClock;
use crate::crypto::{Password, random_array};
use crate::server::{self, AppState, Listeners};
use crate::storage::{AccountName, Store};

use super::init::initialize;
use super::serve::{announce, runtime};

pub fn run(args: DemoArgs) -> Result<(), String> {
    for addr in [args.listen, args.review_listen] {
        if !addr.ip().is_loopback() {
            return Err(format!("the demo listens on loopback only; {addr} is not"));
        }
    }
    runtime()?.block_on(async move {
        // Watched before anything is made: a signal that comes while the
        // demo sets up still ends in a clean stop that deletes everything.
        let stop = stop_signal()?;
        let scratch = tempfile::Builder::new()
            .prefix("testimony-demo-")
            .tempdir()
            .map_err(|e| format!("cannot make a scratch directory: {e}"))?;
        let data = scratch.path().join("data");
        let recovery = scratch.path().join("recovery.key");
        let admin: AccountName = "admin".parse()?;
        let password_text = demo_password();
        let password = Password::new(password_text.clone()).map_err(|why| why.to_string())?;

        let created = initialize(&data, &admin, &password, &recovery, Arc::new(SystemClock))?;
        let store = Store::open(&data).map_err(|e| e.to_string())?;
        let state = AppState::new(store, Arc::new(SystemClock), crate::config::IntakeLimits::default())?;
        state.fonts.report();
        let seeded = examples::seed(&state, &admin, &recovery).await?;
        let listeners = bind_or_any(args.listen, args.review_listen).await?;
        println!();
        println!("=== testimony demo: NOTHING HERE IS PROTECTED ===");
        println!("Throwaway data in {} (deleted when you stop the demo).", scratch.path().display());
        println!("The recovery key is beside it, and the credentials are printed below:");
        println!("never put real testimony into a demo.");
        println!();
        println!("username: {admin}");
        println!("password: {password_text}");
        created.print_totp();
        println!("recovery key: {}", recovery.display());
        println!();
        println!("Example statements, made up for the demo (every page marks them \"Example\"):");
        for line in &seeded.lines {
            println!("  {line}");
        }
        println!("example receipt: {}", seeded.receipt.as_str());
        println!("  (enter it at /followup on the public address below to see what a witness sees)");
        println!();
        println!("Open these in a browser; press Ctrl-C to stop.");
        announce(&listeners)?;
        let served = server::run(state, listeners, stop).await;
        drop(scratch);
        served
    })
}

/// SIGTERM, SIGINT (Ctrl-C) and SIGHUP (the terminal was closed): the demo
/// stops cleanly on each and its throwaway directory is deleted.
fn stop_signal() -> Result<impl Future<Output = ()> + Send + 'static, String> {
    use tokio::signal::unix::{SignalKind, signal};
    let termination = server::termination_signal()?;
    let mut hangup = signal(SignalKind::hangup()).map_err(|e| format!("cannot watch for termination signals: {e}"))?;
    Ok(async move {
        tokio::select! {
            _ = termination => {}
            _ = hangup.recv() => tracing::info!("SIGHUP: stopping the demo"),
        }
    })
}

/// Tries the requested ports; if either is taken, lets the OS pick both.
async fn bind_or_any(public: SocketAddr, review: SocketAddr) -> Result<Listeners, String> {
    match Listeners::bind(public, review).await {
        Ok(listeners) => Ok(listeners),
        Err(why) => {
            eprintln!("testimony: {why}; using free ports instead");
            let any = |a: SocketAddr| SocketAddr::new(a.ip(), 0);
            Listeners::bind(any(public), any(review)).await
        }
    }
}

/// 20 characters from a 32-letter alphabet without look-alikes: 100 bits,
/// in groups of five for reading off the screen.
fn demo_password() -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijkmnpqrstuvwxyz23456789";
    random_array::<20>()
        .iter()
        .map(|b| ALPHABET[(b & 31) as usize] as char)
        .collect::<Vec<_>>()
        .chunks(5)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}
