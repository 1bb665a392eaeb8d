//! `testimony demo`: the one-command first look. A throwaway data directory
//! (deleted on exit), a demo admin with printed credentials, both listeners
//! on 127.0.0.1. Nothing here is protected: the recovery key sits next to
//! the data, and the credentials are on the screen.

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
    let scratch = tempfile::Builder::new()
        .prefix("testimony-demo-")
        .tempdir()
        .map_err(|e| format!("cannot make a scratch directory: {e}"))?;
    let data = scratch.path().join("data");
    let recovery = scratch.path().join("recovery.key");
    let admin: AccountName = "admin".parse()?;
    let password_text = demo_password();
    let password = Password::new(password_text.clone())?;

    let created = initialize(&data, &admin, &password, &recovery, Arc::new(SystemClock))?;
    let store = Store::open(&data).map_err(|e| e.to_string())?;

    runtime()?.block_on(async move {
        let listeners = bind_or_any(args.listen, args.review_listen).await?;
        let stop = server::termination_signal()?;
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
        println!("Open these in a browser; press Ctrl-C to stop.");
        announce(&listeners)?;
        let state = AppState::new(store, Arc::new(SystemClock), crate::config::IntakeLimits::default())?;
        let served = server::run(state, listeners, stop).await;
        drop(scratch);
        served
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
