//! Accounts, desks and partners as the review side changes them, with no
//! HTTP in it. Every change is in the audit log before it is stored (if the
//! log cannot be written, nothing changes), account records change only by
//! compare-and-swap on the record as stored, and live sessions follow
//! (disabled accounts signed out, granted keys added, revoked keys
//! dropped). Who may ask for each change is decided by the extractors of
//! `auth::extract` before anything here runs.

use std::sync::Arc;

use crate::audit::{Actor, AuditLog, Event, NewEntry, Outcome};
use crate::auth::AuthState;
use crate::clock::Clock;
use crate::crypto::{self, DeskIdentity, KdfParams, PersonalKeys, Recipient, Salt, random_hex_id};
use crate::custody;
use crate::i18n::Message;
use crate::storage::{
    AccountName, AccountRecord, DeskId, DeskRecord, Holder, Invitation, ModifyError, Partner, Role, Store,
};

/// Why an administrative change did not happen. `Refused`'s message
/// (reviewer catalogue) is for the person asking.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Refused(Message),
    #[error("the audit log cannot be written")]
    AuditUnavailable,
    #[error("the disk is nearly full")]
    DiskFull,
    #[error("{0}")]
    Failed(String),
}

fn failed(e: impl std::fmt::Display) -> AdminError {
    AdminError::Failed(e.to_string())
}

impl From<ModifyError> for AdminError {
    fn from(e: ModifyError) -> Self {
        match e {
            ModifyError::Refused(why) => AdminError::Refused(why),
            ModifyError::Failed(detail) => AdminError::Failed(detail),
            ModifyError::Storage(crate::storage::StorageError::NotFound) => AdminError::NotFound,
            ModifyError::Storage(crate::storage::StorageError::DiskFull) => AdminError::DiskFull,
            ModifyError::Storage(e) => failed(e),
        }
    }
}

/// How long an invitation link works.
pub const INVITATION_HOURS: u64 = 72;

/// The review side's administration over one store.
#[derive(Clone)]
pub struct Administration {
    store: Arc<Store>,
    audit: Arc<AuditLog>,
    clock: Arc<dyn Clock>,
    auth: Arc<AuthState>,
}

fn by(actor: &AccountName, event: Event, object: &str) -> NewEntry {
    NewEntry::by(Actor::Account(actor.to_string()), event).on(object)
}

impl Administration {
    pub fn new(store: Arc<Store>, audit: Arc<AuditLog>, clock: Arc<dyn Clock>, auth: Arc<AuthState>) -> Self {
        Administration { store, audit, clock, auth }
    }

    fn audit_first(&self, entries: Vec<NewEntry>) -> Result<(), AdminError> {
        self.audit.append_all(entries).map_err(|_| AdminError::AuditUnavailable)
    }

    fn audit_failed(&self, entry: NewEntry) {
        if self.audit.append(entry.outcome(Outcome::Failed)).is_err() {
            tracing::error!("could not record a failed action in the audit log");
        }
    }

    /// Runs `action` after its entries are durable; records the failure
    /// if it then fails.
    fn audited<T>(
        &self,
        entries: Vec<NewEntry>,
        action: impl FnOnce() -> Result<T, AdminError>,
    ) -> Result<T, AdminError> {
        self.audit_first(entries.clone())?;
        let done = action();
        if let Err(AdminError::Failed(_)) = &done {
            for entry in entries {
                self.audit_failed(entry);
            }
        }
        done
    }

    // --- sessions ---------------------------------------------------------

    /// Ends a session (sign-out) and records it.
    pub fn sign_out(&self, token_hash: &str) {
        if let Some(account) = self.auth.sessions.end(token_hash) {
            let _ = self.audit.append(NewEntry::by(Actor::Account(account.to_string()), Event::SignedOut));
        }
    }

    /// Records sessions that ended by expiry.
    pub fn sessions_expired(&self, accounts: Vec<AccountName>) {
        for account in accounts {
            let _ = self.audit.append(NewEntry::by(Actor::Account(account.to_string()), Event::SessionExpired));
        }
    }

    // --- accounts ---------------------------------------------------------

    /// Makes an invitation and returns its token (shown once).
    pub fn invite(&self, admin: &AccountName, name: AccountName, role: Role) -> Result<String, AdminError> {
        if self.store.account(&name).map_err(failed)?.is_some() {
            return Err(AdminError::Refused(Message::new("admin-account-exists").arg("name", &name)));
        }
        let token =
            base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, crypto::random_array::<32>());
        let invitation = Invitation {
            name: name.clone(),
            role,
            invited_by: admin.clone(),
            expires: self.clock.now().0 + INVITATION_HOURS * 3600,
        };
        let entry = by(admin, Event::AccountInvited { role: role.as_str().into() }, name.as_str());
        self.audited(vec![entry], || self.store.put_invitation(&token_hash(&token), &invitation).map_err(failed))?;
        Ok(token)
    }

    /// Creates an invited account once its TOTP code is confirmed.
    pub fn activate(&self, token: &str, record: AccountRecord) -> Result<(), AdminError> {
        let name = record.name.clone();
        let entry = by(&name, Event::AccountActivated, name.as_str());
        self.audited(vec![entry], || self.store.insert_account(&record, &[]).map_err(failed))?;
        if let Err(e) = self.store.remove_invitation(&token_hash(token)) {
            tracing::error!(error = %e, "could not remove a used invitation");
        }
        Ok(())
    }

    /// Disables an enabled account (ending its sessions) or enables a
    /// disabled one. Returns whether it is now disabled.
    pub fn toggle_disabled(&self, admin: &AccountName, name: &AccountName) -> Result<bool, AdminError> {
        if name == admin {
            return Err(AdminError::Refused(Message::new("admin-cannot-disable-self")));
        }
        let current = self.store.account(name).map_err(failed)?.ok_or(AdminError::NotFound)?;
        let disable = !current.disabled;
        let event = if disable { Event::AccountDisabled } else { Event::AccountEnabled };
        self.audited(vec![by(admin, event, name.as_str())], || {
            self.store.modify_account(name, |record| {
                record.disabled = disable;
                Ok(())
            })?;
            Ok(())
        })?;
        if disable {
            self.auth.sessions.end_all_of(name);
        }
        Ok(disable)
    }

    /// Forgets an account's TOTP secret: it enrols a new one at its next
    /// sign-in. Its sessions end.
    pub fn reset_totp(&self, admin: &AccountName, name: &AccountName) -> Result<(), AdminError> {
        self.store.account(name).map_err(failed)?.ok_or(AdminError::NotFound)?;
        self.audited(vec![by(admin, Event::TotpReset, name.as_str())], || {
            self.store.modify_account(name, |record| {
                record.totp = None;
                record.totp_last_step = None;
                Ok(())
            })?;
            Ok(())
        })?;
        self.auth.sessions.end_all_of(name);
        Ok(())
    }

    /// Stores a newly confirmed TOTP secret for an account that had to
    /// enrol again, and lifts its session's restriction.
    pub fn enrol_totp(
        &self,
        account: &AccountName,
        secret: &[u8],
        step: u64,
        token_hash: &str,
    ) -> Result<(), AdminError> {
        let recipient = self.store.account(account).map_err(failed)?.ok_or(AdminError::NotFound)?.recipient;
        let sealed = crypto::seal(secret, &recipient).map_err(failed)?;
        self.audited(vec![by(account, Event::TotpEnrolled, account.as_str())], || {
            self.store.modify_account(account, |record| {
                if record.recipient != recipient {
                    return Err(Message::new("admin-password-changed-meanwhile").into());
                }
                record.totp = Some(sealed.clone());
                record.totp_last_step = Some(step);
                Ok(())
            })?;
            Ok(())
        })?;
        self.auth.sessions.enrolled(token_hash);
        Ok(())
    }

    /// A password change: the new personal key gets every desk key and the
    /// TOTP secret, in one transaction on the record as stored, and the
    /// account's other sessions end. `old` must match the stored verifier.
    pub fn change_password(
        &self,
        account: &AccountName,
        old: &PersonalKeys,
        new: &PersonalKeys,
        new_salt: Salt,
        keep_session: &str,
    ) -> Result<(), AdminError> {
        let entry = by(account, Event::PasswordChanged, account.as_str());
        self.audited(vec![entry], || {
            let recipient = new.identity.recipient();
            let wraps_now = self.store.wraps_of(account).map_err(failed)?;
            self.store.modify_account_and_wraps(account, |record| {
                if !old.verifier.matches(&record.verifier) {
                    return Err(Message::new("account-current-password-wrong").into());
                }
                let mut wraps = Vec::new();
                for wrap in &wraps_now {
                    let key = open_wrap(&wrap.sealed, &old.identity).map_err(ModifyError::Failed)?;
                    let holder = Holder::Account(record.name.clone());
                    wraps.push(
                        custody::wrap(&key, &wrap.desk, wrap.generation, holder, &recipient)
                            .map_err(ModifyError::failed)?,
                    );
                }
                if let Some(sealed) = &record.totp {
                    let secret = crypto::open(sealed.as_bytes(), &old.identity).map_err(ModifyError::failed)?;
                    record.totp = Some(crypto::seal(secret.as_bytes(), &recipient).map_err(ModifyError::failed)?);
                }
                record.salt = new_salt.clone();
                record.kdf = KdfParams::DEFAULT;
                record.verifier = new.verifier.clone();
                record.recipient = recipient.clone();
                Ok(wraps)
            })?;
            Ok(())
        })?;
        self.auth.sessions.end_others_of(account, keep_session);
        Ok(())
    }

    // --- desks ------------------------------------------------------------

    /// Creates a desk whose first member is its creator.
    pub fn create_desk(&self, admin: &AccountName, name: &str) -> Result<DeskRecord, AdminError> {
        let id = DeskId(random_hex_id());
        // The desk and its first member's key exist only once their
        // entries are in the log.
        let entries = vec![
            by(admin, Event::DeskCreated, &id.0),
            by(admin, Event::DeskGranted { account: admin.to_string() }, &id.0),
        ];
        let (desk, key) = self.audited(entries, || {
            custody::create_desk(&self.store, id.clone(), name, admin, self.clock.today()).map_err(failed)
        })?;
        self.auth.sessions.add_desk_key(admin, &desk.id, 0, Arc::new(key));
        Ok(desk)
    }

    /// Grants every generation of a desk key the granter holds to `grantee`.
    pub fn grant(
        &self,
        granter: &AccountName,
        desk: &DeskId,
        keys: &[(u32, Arc<DeskIdentity>)],
        grantee: &AccountName,
    ) -> Result<(), AdminError> {
        if self.store.account(grantee).map_err(failed)?.is_none() {
            return Err(AdminError::Refused(Message::new("admin-no-such-account")));
        }
        let entry = by(granter, Event::DeskGranted { account: grantee.to_string() }, &desk.0);
        self.audited(vec![entry], || custody::grant(&self.store, desk, keys, grantee).map_err(failed))?;
        for (generation, key) in keys {
            self.auth.sessions.add_desk_key(grantee, desk, *generation, key.clone());
        }
        Ok(())
    }

    /// Takes a desk away from `member`; with `rotate`, future statements
    /// are sealed to a new key generation the member never had. Returns
    /// whether the key was rotated.
    pub fn revoke(
        &self,
        by_whom: &AccountName,
        desk: &DeskId,
        member: &AccountName,
        rotate: bool,
    ) -> Result<bool, AdminError> {
        let record = self.store.desk(desk).map_err(failed)?.ok_or(AdminError::NotFound)?;
        let entry = by(by_whom, Event::DeskRevoked { account: member.to_string() }, &desk.0);
        self.audited(vec![entry], || custody::revoke(&self.store, desk, member).map_err(failed))?;
        self.auth.sessions.forget_desk(member, desk);
        if !rotate {
            return Ok(false);
        }
        let Some(generation) = record.current_key().map(|k| k.generation + 1) else { return Ok(false) };
        let entry = by(by_whom, Event::DeskKeyRotated { generation }, &desk.0);
        let (generation, key, members) =
            self.audited(vec![entry], || custody::rotate(&self.store, desk, self.clock.today()).map_err(failed))?;
        let key = Arc::new(key);
        for m in members {
            self.auth.sessions.add_desk_key(&m, desk, generation, key.clone());
        }
        Ok(true)
    }

    // --- partners ---------------------------------------------------------

    /// Registers an organization case bundles may be sealed to.
    pub fn add_partner(&self, admin: &AccountName, name: String, recipient: Recipient) -> Result<Partner, AdminError> {
        let partner = Partner { id: random_hex_id(), name, recipient, added: self.clock.today() };
        let entry = by(admin, Event::SettingsChanged { setting: "partners".into() }, &partner.id);
        self.audited(vec![entry], || self.store.put_partner(&partner).map_err(failed))?;
        Ok(partner)
    }
}

/// Invitations are stored under a hash of their token.
pub fn token_hash(token: &str) -> String {
    use sha2::Digest;
    crypto::hex(&sha2::Sha256::digest(token.as_bytes()))
}

/// Opens a desk key wrapped to a personal key.
fn open_wrap(sealed: &crypto::Sealed, key: &dyn crypto::Opener) -> Result<DeskIdentity, String> {
    let plain = crypto::open(sealed.as_bytes(), key).map_err(|e| e.to_string())?;
    let text = std::str::from_utf8(plain.as_bytes()).map_err(|_| "a desk key is damaged".to_string())?;
    DeskIdentity::from_secret_text(text).map_err(|e| e.to_string())
}
