//! The `testimony` binary: parse the command line, set up logging, run.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // Everything this process creates is for its own user only: sled's files,
    // objects, the recovery key. Set before any file is made.
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));

    // Logs go to stderr without timestamps: the service manager adds its
    // own, and no line is ever written per witness request.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .without_time()
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
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
