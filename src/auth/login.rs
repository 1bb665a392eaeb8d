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
use crate::i18n::Message;
use crate::state::AppState;
use crate::storage::{AccountName, AccountRecord, SIGN_IN_HISTORY, SignIn};

use super::pool::Busy;
use super::throttle::Check;
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
    // Below the disk floor nothing could be recorded: every name gets the
    // same 503 before any derivation (else a right password would answer
    // 503 and a wrong one 401, a password oracle).
    if !state.store.has_room() {
        return SignInOutcome::Unavailable;
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
    let attempt = match auth.throttle.admit(&typed, record.is_some()) {
        Ok(attempt) => attempt,
        Err(wait) => {
            let _ = audit_failure(state, record.as_ref().map(|r| &r.name), SignInFailure::Throttled);
            return SignInOutcome::Throttled(wait);
        }
    };
    let (salt, kdf) = match &record {
        Some(r) => (r.salt.clone(), r.kdf),
        None => (auth.decoy.salt.clone(), KdfParams::DEFAULT),
    };
    // A password the policy refuses (too short, too long) is never
    // derived: it is refused at once, whatever the name, so the answer's
    // time depends on the password alone. Sending it through the pool
    // would feed instant "derivations" into the pool's typical time, which
    // refusals of unknown names wait out: a flood of short passwords made
    // those refusals instant while a real account still took a derivation
    // (the login flood benchmark found it: 47 ms against 162 ms).
    let derived = match Password::new(password.to_string()) {
        Err(_) => Ok(None),
        Ok(password) => {
            let derive = move || PersonalKeys::derive(&password, &salt, kdf).ok();
            // Real accounts may use the whole login queue; names that are
            // not accounts only its spare half, and none once their shared
            // budget is spent. Refused without a derivation, they wait as
            // long as one takes.
            match (record.is_some(), attempt.check) {
                (true, _) => auth.pool.run(derive).await,
                (false, Check::Derive) => auth.pool.run_spare(derive).await,
                (false, Check::RefuseUnknown) => Err(Busy),
            }
        }
    };
    let keys = match derived {
        Ok(keys) => keys,
        // While the whole queue is taken a real account gets 503: so does
        // a name that is not one, or the answer would tell them apart.
        Err(Busy) if record.is_none() && auth.pool.is_full() => return SignInOutcome::Unavailable,
        Err(Busy) if record.is_none() => {
            tokio::time::sleep(auth.pool.typical_derivation()).await;
            None
        }
        Err(Busy) => return SignInOutcome::Unavailable,
    };

    let state = state.clone();
    let code = zeroize::Zeroizing::new(code.to_string());
    let verdict = tokio::task::spawn_blocking(move || finish(&state, name, record, keys, &code)).await;
    match verdict {
        Ok(Verdict::SignedIn(token)) => {
            attempt.succeeded();
            SignInOutcome::SignedIn(token)
        }
        Ok(Verdict::Refused) => {
            attempt.failed();
            SignInOutcome::Refused
        }
        // Not checked: the attempt is forgiven when dropped.
        Ok(Verdict::Unavailable) | Err(_) => SignInOutcome::Unavailable,
    }
}

/// What `finish` decided.
enum Verdict {
    SignedIn(Zeroizing<String>),
    Refused,
    Unavailable,
}

/// Everything after the derivation (blocking: it writes the account and
/// the audit log).
///
/// Every change to the account is applied to the record as stored, so a
/// failed sign-in never undoes an admin's disable, a TOTP reset or a
/// password change made meanwhile. Each outcome writes the records once
/// and the audit log once: a wrong password on a real account records the
/// failure in its history, a name that is not an account is counted for
/// the day, so the two cost the same (an outside review timed them apart).
/// `sign_in_succeeded` is appended only once the sign-in has been recorded
/// and nothing but handing out the session is left.
fn finish(
    state: &AppState,
    name: Option<AccountName>,
    record: Option<AccountRecord>,
    keys: Option<PersonalKeys>,
    code: &str,
) -> Verdict {
    let auth = &state.auth;
    let now = state.clock.now();
    let password_ok = match (&record, &keys) {
        (Some(record), Some(keys)) => !record.disabled && record.verifier.matches(&keys.verifier),
        _ => false,
    };
    // The code is checked, its time step stored and the sign-in remembered
    // in one write under one lock, on the record as stored: two sign-ins
    // racing with the same code cannot both pass, and a disable or password
    // change meanwhile wins.
    let checked = match (password_ok, &name, keys) {
        (true, Some(name), Some(keys)) => {
            let _guard = auth.totp_guard.lock().unwrap_or_else(|p| p.into_inner());
            let verifier = keys.verifier.clone();
            let mut must_enrol = false;
            let stored = state.store.modify_account(name, |fresh| {
                // Refused either way: a disable or a new password meanwhile
                // (the page says only that the sign-in was not right).
                if fresh.disabled || !fresh.verifier.matches(&verifier) {
                    return Err(Message::new("login-refused").into());
                }
                match &fresh.totp {
                    None => must_enrol = true,
                    Some(sealed) => {
                        let secret = crypto::open(sealed.as_bytes(), &keys.identity)
                            .ok()
                            .map(|p| TotpSecret::from_bytes(p.as_bytes()));
                        match secret.and_then(|s| s.verify(fresh.name.as_str(), code, now.0, fresh.totp_last_step)) {
                            Some(step) => fresh.totp_last_step = Some(step),
                            None => return Err(Message::new("login-refused").into()),
                        }
                    }
                }
                remember(fresh, now.to_minute(), true);
                Ok(())
            });
            match stored {
                Ok(fresh) => Some((keys, fresh, must_enrol)),
                Err(crate::storage::ModifyError::Refused(_)) => None,
                Err(e) => {
                    tracing::error!(error = %e, "cannot record a sign-in");
                    return Verdict::Unavailable;
                }
            }
        }
        _ => None,
    };

    let Some((keys, record, must_enrol)) = checked else {
        let known = record.as_ref().map(|r| &r.name);
        let recorded = match known {
            Some(name) => state
                .store
                .modify_account(name, |fresh| {
                    remember(fresh, now.to_minute(), false);
                    Ok(())
                })
                .map(drop)
                .map_err(|e| e.to_string()),
            None => state.store.count_unknown_sign_in(now.day()).map(drop).map_err(|e| e.to_string()),
        };
        if let Err(e) = recorded {
            tracing::error!(error = %e, "cannot record a failed sign-in");
        }
        if !audit_failure(state, known, SignInFailure::BadCredentials) {
            return Verdict::Unavailable;
        }
        return Verdict::Refused;
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
            return Verdict::Unavailable;
        }
    }

    // Audit last of all that can fail: no session without its entry, and
    // no entry for a sign-in that did not happen.
    let entry = NewEntry::by(Actor::Account(record.name.to_string()), Event::SignInSucceeded);
    if state.audit.append(entry).is_err() {
        return Verdict::Unavailable;
    }
    state.search.ensure(&state.store, &desks);
    Verdict::SignedIn(auth.sessions.create(record.name.clone(), record.role, desks, must_enrol))
}

fn remember(record: &mut AccountRecord, time: String, succeeded: bool) {
    record.sign_ins.push(SignIn { time, succeeded });
    let excess = record.sign_ins.len().saturating_sub(SIGN_IN_HISTORY);
    record.sign_ins.drain(..excess);
}
