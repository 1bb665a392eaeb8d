//! testimony: a secure intake server for human-rights testimony.
//!
//! The map:
//!
//! ```text
//! witness ──► intake (public listener) ─┐
//!               parse · render           │     ┌─► crypto: age sealing, keys
//!                                        ├──► case ──┤
//! reviewer ─► review (review listener) ─┘   the life   └─► storage (traits; sled + files)
//!               parse · render              of a            │ change feed
//!               auth::extract: who may act  statement       ▼
//!                                           audit first   search: the reviewers' index
//! ```
//!
//! - `cli`, `commands`: the command line of DESIGN.md's contract.
//! - `config`: flags and the optional TOML file, validated once.
//! - `clock`: the only reader of the system time.
//! - `crypto`: age sealing, key derivation, signing; secrets as types.
//! - `custody`: desk keys wrapped to their holders; membership is a wrap.
//! - `storage`: the only module that imports sled; never sees plaintext.
//!   Statement records change by compare-and-swap on a version, and every
//!   committed change is published on its change feed.
//! - `case`: the life of a statement, no HTTP: filing, typed changes, the
//!   witness's follow-up, moves, and every release of content (only
//!   against an audit permit).
//! - `administration`: accounts, desks and partners, audited first, no HTTP.
//! - `auth`: accounts, passwords, TOTP, sessions, and the extractors that
//!   decide who may act (signed in, admin, CSRF, statement, desk).
//! - `audit`: typed events, the hash chain, checkpoints, verify.
//! - `search`: the reviewers' in-memory index, fed by the change feed.
//! - `state`: what every handler can reach; `server`: binds both listeners.
//! - `intake`: the public listener. `review`: the review listener. Both
//!   parse, call `case` or `administration`, and render.
//! - `web`: headers, assets, rendering shared by both.
//!
//! Data flow of a submission: the body streams through an age encryptor
//! into a pending object; once every object is committed (fsync, rename)
//! the case layer writes the record and flushes, and only then does the
//! witness see a receipt. The store then publishes the new record, and
//! every signed-in reviewer of its desk sees it in the list.

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
#[doc(hidden)]
pub mod fuzzing;
pub mod i18n;
pub mod intake;
pub mod retention;
pub mod review;
pub mod search;
pub mod server;
pub mod state;
pub mod storage;
pub mod web;
