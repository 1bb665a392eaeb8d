//! `testimony user add`: a new account, optionally a member of the default
//! desk (which needs the recovery key, to unwrap the desk key offline).

use std::sync::Arc;

use crate::audit::{Actor, AuditLog, Event, NewEntry, Outcome};
use crate::auth::accounts;
use crate::cli::UserAddArgs;
use crate::clock::{Clock, SystemClock};
use crate::crypto::{KdfParams, read_identity_file};
use crate::custody::{self, CustodyError};
use crate::storage::{Holder, Store};

use super::read_new_password;

pub fn add(args: &UserAddArgs) -> Result<(), String> {
    let password = read_new_password(&args.password_file, args.name.as_str())?;
    let store = Store::open(&args.data).map_err(|e| format!("{}: {e}", args.data.display()))?;
    if store.account(&args.name).map_err(|e| e.to_string())?.is_some() {
        return Err(format!("the account {} already exists", args.name));
    }
    let server = store.server().map_err(|e| e.to_string())?;

    // Unwrap the default desk key first: a wrong recovery key must fail
    // before anything is written.
    let desk_key = match &args.recovery_key {
        None => None,
        Some(path) => {
            let recovery = read_identity_file(path)?;
            if recovery.recipient() != server.recovery_recipient {
                return Err(format!(
                    "{} is not this data directory's recovery key (its public key differs)",
                    path.display()
                ));
            }
            let desk = store
                .desk(&server.default_desk)
                .map_err(|e| e.to_string())?
                .ok_or("the default desk record is missing")?;
            let generation = desk.current_key().ok_or("the default desk has no key")?.generation;
            let key =
                custody::unwrap(&store, &desk.id, generation, &Holder::Recovery, &recovery).map_err(|e| match e {
                    CustodyError::WrongKey => {
                        format!("{} does not open the default desk key", path.display())
                    }
                    other => other.to_string(),
                })?;
            Some((desk, generation, key))
        }
    };

    let account = accounts::prepare(args.name.clone(), args.role, &password, KdfParams::DEFAULT, SystemClock.today())?;
    let wraps = match &desk_key {
        None => vec![],
        Some((desk, generation, key)) => vec![
            custody::wrap(key, &desk.id, *generation, Holder::Account(args.name.clone()), &account.record.recipient)
                .map_err(|e| e.to_string())?,
        ],
    };
    // Audit first: no account may appear without its entry.
    let audit = AuditLog::open(&store, Arc::new(SystemClock)).map_err(|e| e.to_string())?;
    let mut entries = vec![
        NewEntry::by(Actor::System, Event::AccountCreated { role: args.role.as_str().into() }).on(args.name.as_str()),
    ];
    if let Some((desk, _, _)) = &desk_key {
        entries.push(
            NewEntry::by(Actor::System, Event::DeskGranted { account: args.name.to_string() }).on(desk.id.0.as_str()),
        );
    }
    audit.append_all(entries.clone()).map_err(|e| e.to_string())?;
    if let Err(e) = store.insert_account(&account.record, &wraps) {
        let failed = entries.into_iter().map(|entry| entry.outcome(Outcome::Failed)).collect();
        let _ = audit.append_all(failed);
        return Err(e.to_string());
    }
    audit.checkpoint().map_err(|e| e.to_string())?;

    println!(
        "added {} ({}){}",
        args.name,
        args.role.as_str(),
        if desk_key.is_some() { ", member of the default desk" } else { "" }
    );
    let name = args.name.as_str();
    let secret = account.totp.base32(name)?;
    let uri = account.totp.otpauth_uri(name)?;
    println!("totp-secret: {}", secret.as_str());
    println!("{}", uri.as_str());
    super::print_qr_if_terminal(&uri);
    Ok(())
}
