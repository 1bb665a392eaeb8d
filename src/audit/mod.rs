//! The tamper-evident audit log: typed events, a hash chain, signed
//! checkpoints, and the verifier. It lives in `DIR/audit/log`, apart from
//! sled, so that it can be copied off the host and checked independently.
//!
//! It never holds testimony, a witness's data, a receipt or an address, and
//! witness events carry the day only. Audit is not best effort: an action
//! that needs an entry fails when the entry cannot be written.

mod chain;
mod event;
pub mod export;
mod log;
mod verify;
pub mod witness;

pub use chain::{Body, Checkpoint, GENESIS, Record};
pub use event::{AFTER_A_CRASH, Actor, Event, ExportKind, KINDS, Outcome, SignInFailure};
pub use log::{
    AuditError, AuditLog, CLOCK_SLACK, DEFAULT_CHECKPOINT_EVERY, LogFile, NewEntry, Permit, When, check_clock, exists,
    log_path,
};
pub use verify::{
    Summary, Tampered, VerifyError, parse_records, read_records, read_settled, torn_write, verify_bytes, verify_file,
};
