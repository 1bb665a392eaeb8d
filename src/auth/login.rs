//! Signing in: password and TOTP in one form, one argon2id derivation per
//! attempt through the pool, the same answer and comparable time for an
//! unknown name, a wrong password and a wrong code. On success the personal
//! key opens the desk keys wrapped to the account, and they go into the new
//! session; the sign-in is audited before the cookie is handed out.

use std::collections::HashMap;
use std::sync::Arc;

use zeroize::Zeroizing;

use crate::audit::{Actor, Event, NewEntry, Outcome, SignInFailure};
use crate::crypto::{self, KdfParams, Password, PersonalKeys, Salt};
use crate::state::AppState;
use crate::storage::{AccountName, AccountRecord, SIGN_IN_HISTORY, SignIn};

use super::totp::TotpSecret;

/// What a sign-in attempt came to.
pub enum SignInOutcome {
    /// Signed in: the session token for the cookie.
    SignedIn(Zeroizing<String>),
    /// Wrong name, password or code: one answer for all three.
    Refused,
    /// Too many failures: wait this many seconds.
    Throttled(u64),
    /// The login queue is full, or the audit log cannot be written.
    Unavailable,
}

/// A record to derive against when the name is unknown, so that an
/// unknown name costs the same argon2id run as a known one.
pub struct Decoy {
    salt: Salt,
}

impl Decoy {
    pub fn new() -> Decoy {
        Decoy { salt: Salt::generate() }
    }
}

impl Default for Decoy {
    fn default() -> Self {
        Decoy::new()
    }
}

fn audit_failure(state: &AppState, account: Option<&AccountName>, reason: SignInFailure) -> bool {
    let entry = match account {
        Some(name) => NewEntry::by(Actor::Account(name.to_string()), Event::SignInFailed { reason }),
        None => NewEntry::by(Actor::System, Event::SignInFailed { reason }).on("unknown-account"),
    };
    state.audit.append(entry.outcome(Outcome::Denied)).is_ok()
}

/// Checks a sign-in and, on success, opens a session.
pub async fn sign_in(state: &AppState, username: &str, password: String, code: &str) -> SignInOutcome {
    let password = Zeroizing::new(password);
    let typed = username.trim().to_lowercase();
    let auth = &state.auth;
    if let Err(wait) = auth.throttle.check(&typed) {
        let known = typed.parse::<AccountName>().ok().filter(|n| matches!(state.store.account(n), Ok(Some(_))));
        let _ = audit_failure(state, known.as_ref(), SignInFailure::Throttled);
        return SignInOutcome::Throttled(wait);
    }
    let name: Option<AccountName> = typed.parse().ok();
    let record: Option<AccountRecord> = match &name {
        Some(n) => match state.store.account(n) {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "cannot read an account");
                return SignInOutcome::Unavailable;
            }
        },
        None => None,
    };
    let (salt, kdf) = match &record {
        Some(r) => (r.salt.clone(), r.kdf),
        None => (auth.decoy.salt.clone(), KdfParams::DEFAULT),
    };
    let derived = auth
        .pool
        .run(move || {
            let password = Password::new(password.to_string()).ok()?;
            PersonalKeys::derive(&password, &salt, kdf).ok()
        })
        .await;
    let keys = match derived {
        Ok(keys) => keys,
        Err(_) => return SignInOutcome::Unavailable,
    };

    let state = state.clone();
    let code = zeroize::Zeroizing::new(code.to_string());
    tokio::task::spawn_blocking(move || finish(&state, &typed, name, record, keys, &code))
        .await
        .unwrap_or(SignInOutcome::Unavailable)
}

/// Everything after the derivation (blocking: it writes the account and
/// the audit log). Every change to the account is applied to the record
/// as stored, so a failed sign-in never undoes an admin's disable, a TOTP
/// reset or a password change made meanwhile.
fn finish(
    state: &AppState,
    typed: &str,
    name: Option<AccountName>,
    record: Option<AccountRecord>,
    keys: Option<PersonalKeys>,
    code: &str,
) -> SignInOutcome {
    let auth = &state.auth;
    let now = state.clock.now();
    let password_ok = match (&record, &keys) {
        (Some(record), Some(keys)) => !record.disabled && record.verifier.matches(&keys.verifier),
        _ => false,
    };
    // The code is checked and its time step stored under one lock, on the
    // record as stored: two sign-ins racing with the same code cannot both
    // pass, and a disable or password change meanwhile wins.
    let checked = match (password_ok, &name, keys) {
        (true, Some(name), Some(keys)) => {
            let _guard = auth.totp_guard.lock().unwrap_or_else(|p| p.into_inner());
            let verifier = keys.verifier.clone();
            let mut must_enrol = false;
            let stored = state.store.modify_account(name, |fresh| {
                if fresh.disabled || !fresh.verifier.matches(&verifier) {
                    return Err("changed".into());
                }
                match &fresh.totp {
                    None => {
                        must_enrol = true;
                        Ok(())
                    }
                    Some(sealed) => {
                        let secret = crypto::open(sealed.as_bytes(), &keys.identity)
                            .ok()
                            .map(|p| TotpSecret::from_bytes(p.as_bytes()));
                        match secret.and_then(|s| s.verify(fresh.name.as_str(), code, now.0, fresh.totp_last_step)) {
                            Some(step) => {
                                fresh.totp_last_step = Some(step);
                                Ok(())
                            }
                            None => Err("wrong code".into()),
                        }
                    }
                }
            });
            match stored {
                Ok(fresh) => Some((keys, fresh, must_enrol)),
                Err(crate::storage::ModifyError::Refused(_)) => None,
                Err(crate::storage::ModifyError::Storage(e)) => {
                    tracing::error!(error = %e, "cannot record a TOTP step");
                    return SignInOutcome::Unavailable;
                }
            }
        }
        _ => None,
    };

    let Some((keys, record, must_enrol)) = checked else {
        auth.throttle.failed(typed);
        let known = record.as_ref().map(|r| &r.name);
        if let Some(name) = known
            && let Err(e) = state.store.modify_account(name, |fresh| {
                remember(fresh, now.to_rfc3339(), false);
                Ok(())
            })
        {
            tracing::error!(error = %e, "cannot record a failed sign-in");
        }
        if !audit_failure(state, known, SignInFailure::BadCredentials) {
            return SignInOutcome::Unavailable;
        }
        return SignInOutcome::Refused;
    };

    // Open every desk key wrapped to this account.
    let mut desks: HashMap<_, Vec<_>> = HashMap::new();
    match state.store.wraps_of(&record.name) {
        Ok(wraps) => {
            for wrap in wraps {
                match crypto::open(wrap.sealed.as_bytes(), &keys.identity).ok().and_then(|p| {
                    std::str::from_utf8(p.as_bytes()).ok().and_then(|t| crypto::DeskIdentity::from_secret_text(t).ok())
                }) {
                    Some(key) => desks.entry(wrap.desk).or_default().push((wrap.generation, Arc::new(key))),
                    None => tracing::warn!("a desk key wrapped to an account does not open with its key"),
                }
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot read desk keys");
            return SignInOutcome::Unavailable;
        }
    }

    // Audit first: no session without its entry.
    let entry = NewEntry::by(Actor::Account(record.name.to_string()), Event::SignInSucceeded);
    if state.audit.append(entry.clone()).is_err() {
        return SignInOutcome::Unavailable;
    }
    let remembered = state.store.modify_account(&record.name, |fresh| {
        remember(fresh, now.to_rfc3339(), true);
        Ok(())
    });
    if let Err(e) = remembered {
        tracing::error!(error = %e, "cannot record a sign-in");
        let _ = state.audit.append(entry.outcome(Outcome::Failed));
        return SignInOutcome::Unavailable;
    }
    auth.throttle.succeeded(typed);
    state.search.ensure(&state.store, &desks);
    let token = auth.sessions.create(record.name.clone(), record.role, desks, must_enrol);
    SignInOutcome::SignedIn(token)
}

fn remember(record: &mut AccountRecord, time: String, succeeded: bool) {
    record.sign_ins.push(SignIn { time, succeeded });
    let excess = record.sign_ins.len().saturating_sub(SIGN_IN_HISTORY);
    record.sign_ins.drain(..excess);
}
