//! testimony: a secure intake server for human-rights testimony.
//!
//! The map:
//!
//! ```text
//! witness ──► intake (public listener) ──► crypto::seal ──► storage
//!                  form · receipt · follow-up      age to desk + recovery
//! reviewer ─► review (review listener) ──► auth ──► custody ──► crypto::open
//!                  list · triage · replies        password → personal key
//!                                                 → unwrap desk keys
//! ```
//!
//! - `cli`, `commands`: the command line of DESIGN.md's contract.
//! - `config`: flags and the optional TOML file, validated once.
//! - `clock`: the only reader of the system time.
//! - `crypto`: age sealing, key derivation, signing; secrets as types.
//! - `custody`: desk keys wrapped to their holders; membership is a wrap.
//! - `storage`: the only module that imports sled; never sees plaintext.
//! - `auth`: accounts, passwords, TOTP (sessions come with the review side).
//! - `server`: binds both listeners, graceful shutdown.
//! - `intake`: the public listener. `review`: the review listener.
//! - `web`: headers, assets, rendering shared by both.
//!
//! Data flow of a submission: the body streams through an age encryptor
//! into a pending object; once every object is committed (fsync, rename) the
//! record is written and flushed, and only then does the witness see a
//! receipt.

pub mod administration;
pub mod audit;
pub mod auth;
pub mod backup;
pub mod case;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod config;
pub mod control;
pub mod crypto;
pub mod custody;
pub mod i18n;
pub mod intake;
pub mod review;
pub mod search;
pub mod server;
pub mod state;
pub mod storage;
pub mod web;
