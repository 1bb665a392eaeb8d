//! `testimony serve`: open the data directory, bind both listeners, serve.

use std::sync::Arc;

use crate::cli::ServeArgs;
use crate::clock::{Clock, SystemClock};
use crate::config::{ConfigFile, ServeConfig, ServeFlags};
use crate::server::{self, AppState, Listeners};
use crate::storage::Store;
use crate::web::fonts::WebFonts;

pub fn run(args: ServeArgs) -> Result<(), String> {
    let file = match &args.config {
        Some(path) => ConfigFile::load(path)?,
        None => ConfigFile::default(),
    };
    let flags = ServeFlags {
        data: args.data,
        listen: args.listen,
        review_listen: args.review_listen,
        allow_non_loopback: args.allow_non_loopback,
    };
    let config = ServeConfig::resolve(flags, file)?;
    super::self_check::before_serving(&config.data, SystemClock.now())?;
    let store = Store::open(&config.data).map_err(|e| format!("{}: {e}", config.data.display()))?;

    runtime()?.block_on(async move {
        let listeners = Listeners::bind(config.listen, config.review_listen).await?;
        let stop = server::termination_signal()?;
        announce(&listeners)?;
        let mut state =
            AppState::with_sessions(store, Arc::new(SystemClock), config.intake.clone(), config.sessions.lifetimes())?;
        let fonts = WebFonts::load(&config.fonts_dir);
        fonts.report();
        state.fonts = Arc::new(fonts);
        state.retention = Arc::new(config.retention.clone());
        server::run(state, listeners, stop).await
    })
}

pub fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))
}

/// Prints the bound addresses on stdout, one per line, in a fixed format
/// that scripts and tests read (`public: http://…`, `review: http://…`).
pub fn announce(listeners: &Listeners) -> Result<(), String> {
    let public = listeners.public_addr().map_err(|e| e.to_string())?;
    let review = listeners.review_addr().map_err(|e| e.to_string())?;
    println!("public: http://{public}");
    println!("review: http://{review}");
    tracing::info!(%public, %review, "serving");
    Ok(())
}
