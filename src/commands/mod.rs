//! One file per command. Each returns `Err(one line)` for the operator;
//! `main` prints it and exits non-zero. No message ever carries a password,
//! a key or anything a witness sent.

mod audit;
mod backup;
mod demo;
mod evidence;
mod export;
mod init;
mod purge;

pub use init::initialize;
pub mod self_check;
mod serve;
mod user;

use std::io::IsTerminal;
use std::path::Path;

use zeroize::Zeroizing;

use crate::cli::{AuditCommand, Cli, Command, UserCommand};
use crate::crypto::Password;

pub fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Init(args) => init::run(&args),
        Command::User(UserCommand::Add(args)) => user::add(&args),
        Command::Serve(args) => serve::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Audit(AuditCommand::Verify { data, checkpoint }) => audit::verify(&data, checkpoint.as_deref()),
        Command::Audit(AuditCommand::Checkpoint { data }) => audit::checkpoint(&data),
        Command::Export(args) => export::run(&args),
        Command::Backup(args) => backup::backup(&args),
        Command::Purge(args) => purge::run(&args),
        Command::Restore(args) => backup::restore(&args),
        Command::PublicKey { data } => evidence::public_key(&data),
        Command::VerifyManifest { file, public_key } => evidence::verify_manifest(&file, public_key.as_deref()),
    }
}

/// Reads a password file for `account` and applies the password policy
/// (length and strength, as on the review listener).
pub fn read_new_password(path: &Path, account: &str) -> Result<Password, String> {
    let password = read_password_file(path)?;
    crate::auth::policy::check(password.expose().to_string(), account)
        .map_err(|why| format!("the password in {}: {why}", path.display()))
}

/// Reads a password file: the password is the first line, without its line
/// end. Errors name the file, never what is in it.
pub fn read_password_file(path: &Path) -> Result<Password, String> {
    let bytes = Zeroizing::new(
        std::fs::read(path).map_err(|e| format!("cannot read the password file {}: {}", path.display(), e.kind()))?,
    );
    let text =
        std::str::from_utf8(&bytes).map_err(|_| format!("the password file {} is not UTF-8 text", path.display()))?;
    let first = text.split('\n').next().unwrap_or("");
    let first = first.strip_suffix('\r').unwrap_or(first);
    if first.is_empty() {
        return Err(format!("the password file {} is empty (the password is its first line)", path.display()));
    }
    Password::new(first.to_string()).map_err(|why| format!("the password in {}: {why}", path.display()))
}

/// Prints a QR code of `text` to stdout when it is a terminal (an
/// authenticator app can scan it straight off the screen).
fn print_qr_if_terminal(text: &str) {
    if !std::io::stdout().is_terminal() {
        return;
    }
    match qrcode::QrCode::new(text.as_bytes()) {
        Ok(code) => {
            let image = code.render::<qrcode::render::unicode::Dense1x2>().quiet_zone(true).build();
            println!("{image}");
        }
        Err(e) => tracing::warn!(error = %e, "could not draw the QR code"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_with(bytes: &[u8]) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), bytes).unwrap();
        file
    }

    #[test]
    fn password_is_the_first_line_without_its_end() {
        for content in [&b"correct horse battery\n"[..], b"correct horse battery\r\nsecond", b"correct horse battery"] {
            let f = file_with(content);
            assert_eq!(read_password_file(f.path()).unwrap().expose(), "correct horse battery");
        }
    }

    #[test]
    fn empty_or_missing_password_files_are_refused_without_echo() {
        assert!(read_password_file(file_with(b"").path()).unwrap_err().contains("empty"));
        assert!(read_password_file(file_with(b"\nsecond-line-canary").path()).unwrap_err().contains("empty"));
        let err = read_password_file(Path::new("/nonexistent/pw")).unwrap_err();
        assert!(err.contains("/nonexistent/pw"));
        let err = read_password_file(file_with(b"shortcanary\n").path()).unwrap_err();
        assert!(!err.contains("shortcanary"));
    }
}
