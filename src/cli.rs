//! The command line, exactly as DESIGN.md's contract names it. Parsing only;
//! `commands` does the work.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::storage::{AccountName, Role};

#[derive(Debug, Parser)]
#[command(name = "testimony", version, about = "A secure intake server for human-rights testimony")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a data directory: keys, the default desk and its first admin.
    Init(InitArgs),
    /// Manage accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Run the public and the review listener.
    #[command(after_help = crate::config::FILE_HELP)]
    Serve(ServeArgs),
    /// A throwaway server on 127.0.0.1 with a demo admin: the first look.
    Demo(DemoArgs),
    /// Check or print the tamper-evident audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Offline: decrypt every statement and file with the recovery key.
    Export(ExportArgs),
    /// A consistent copy (ciphertext only) of the data directory.
    Backup(BackupArgs),
    /// Restore a backup into a new (or empty) data directory.
    Restore(RestoreArgs),
    /// Delete the statements the retention rules say are due, or (with
    /// --dry-run) list them. The server does this itself once a day.
    Purge(PurgeArgs),
    /// Print the server's public signing key (to publish, and to check
    /// evidence manifests and audit checkpoints with).
    PublicKey {
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
    },
    /// Check a witness's evidence manifest, or the proof of files added
    /// later, offline; says which it is; exit 0 when genuine.
    VerifyManifest {
        /// The manifest file (testimony-manifest-….json).
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// The organization's published key (ed25519:…); without it, the
        /// key named in the file is used and printed for you to compare.
        #[arg(long, value_name = "KEY")]
        public_key: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The data directory to create (must not exist, or be empty).
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,
    /// Name of the first admin account.
    #[arg(long, value_name = "NAME")]
    pub admin: AccountName,
    /// File whose first line is the admin's password.
    #[arg(long, value_name = "FILE")]
    pub password_file: PathBuf,
    /// Where to write the organization recovery key (created 0600; keep it
    /// offline, never on this server).
    #[arg(long, value_name = "FILE")]
    pub recovery_key_out: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add an account and print its TOTP secret.
    Add(UserAddArgs),
}

#[derive(Debug, Args)]
pub struct UserAddArgs {
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,
    #[arg(long, value_name = "NAME")]
    pub name: AccountName,
    #[arg(long, value_name = "admin|reviewer|investigator")]
    pub role: Role,
    /// File whose first line is the new account's password.
    #[arg(long, value_name = "FILE")]
    pub password_file: PathBuf,
    /// The organization recovery key: also make the account a member of the
    /// default desk.
    #[arg(long, value_name = "FILE")]
    pub recovery_key: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// A TOML file with any of the keys listed below; flags win over it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// The public (witness) listener, e.g. 127.0.0.1:8080.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// The review listener, e.g. 127.0.0.1:8081.
    #[arg(long, value_name = "ADDR")]
    pub review_listen: Option<SocketAddr>,
    /// Allow listening on addresses other than loopback.
    #[arg(long)]
    pub allow_non_loopback: bool,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The public listener (a free port is chosen if this one is taken).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// The review listener (a free port is chosen if this one is taken).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8081")]
    pub review_listen: SocketAddr,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the hash chain and signatures; exit 0 when intact.
    Verify {
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        /// A checkpoint saved elsewhere (`-` for standard input): also check
        /// that the log still extends it.
        #[arg(long, value_name = "FILE")]
        checkpoint: Option<PathBuf>,
    },
    /// Sign a checkpoint of the log's current head, append it to the log
    /// and print it, to keep off the server.
    Checkpoint {
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,
    #[arg(long, value_name = "FILE")]
    pub recovery_key: PathBuf,
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The data directory to back up (the server may be running).
    #[arg(long, value_name = "DIR", required_unless_present = "verify")]
    pub data: Option<PathBuf>,
    /// The backup file to write (created 0600; never overwritten).
    #[arg(long, value_name = "FILE", required_unless_present = "verify")]
    pub out: Option<PathBuf>,
    /// Instead: check a backup file (no keys or data directory needed) and
    /// print what it holds; exit non-zero if it is damaged.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["data", "out"])]
    pub verify: Option<PathBuf>,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("mode").required(true).args(["dry_run", "apply"])))]
pub struct PurgeArgs {
    /// The data directory (the server must be stopped).
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,
    /// The config file whose [retention] section holds the rules
    /// (default: /etc/testimony/testimony.toml, if there is one).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// List what is due and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Delete what is due, each with its tombstone in the audit log.
    #[arg(long)]
    pub apply: bool,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    #[arg(long, value_name = "FILE")]
    pub from: PathBuf,
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,
}
