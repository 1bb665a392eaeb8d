//! The `testimony` binary: parse the command line, set up logging, run.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // Logs go to stderr without timestamps: the service manager adds its
    // own, and no line is ever written per witness request.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .without_time()
        .with_target(false)
        .with_max_level(tracing::Level::INFO)
        .init();

    let cli = testimony::cli::Cli::parse();
    match testimony::commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("testimony: {message}");
            ExitCode::FAILURE
        }
    }
}
