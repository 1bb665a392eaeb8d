//! `testimony init`: the key hierarchy and the first admin.
//!
//! Makes the organization recovery identity (written only to the operator's
//! file), the server signing key, the default desk (its identity stored only
//! wrapped) and the admin account (a member of that desk). Checks everything
//! it can before writing anything, and removes what it wrote if a later step
//! fails, so a failed init leaves no half-made directory behind.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use secrecy::ExposeSecret;

use crate::audit::{Actor, AuditLog, Event, NewEntry};
use crate::auth::accounts;
use crate::cli::InitArgs;
use crate::clock::{Clock, SystemClock};
use crate::crypto::{DeskIdentity, KdfParams, Password, RecoveryIdentity, SigningKey, random_hex_id};
use crate::custody;
use crate::storage::{
    AccountName, DeskId, DeskKeyGeneration, DeskRecord, Holder, InitialRecords, Role, ServerRecord, Store,
    create_private_dir, sync_dir,
};

use super::{print_qr_if_terminal, read_new_password};

pub fn run(args: &InitArgs) -> Result<(), String> {
    let password = read_new_password(&args.password_file, args.admin.as_str())?;
    let created = initialize(&args.data, &args.admin, &password, &args.recovery_key_out, Arc::new(SystemClock))?;
    println!("created the data directory {}", args.data.display());
    println!(
        "recovery key written to {}: take it offline now (paper, hardware, split among custodians); \
         the server keeps only its public half",
        args.recovery_key_out.display()
    );
    println!("recovery-recipient: {}", created.recovery_recipient);
    println!("signing-public-key: {}", created.signing_public_key);
    println!("admin: {} (member of the default desk)", args.admin);
    created.print_totp();
    Ok(())
}

/// What the operator must be shown once.
pub struct Initialized {
    pub recovery_recipient: String,
    pub signing_public_key: String,
    pub admin: AccountName,
    pub totp: crate::auth::totp::TotpSecret,
}

impl Initialized {
    pub fn print_totp(&self) {
        let name = self.admin.as_str();
        match (self.totp.base32(name), self.totp.otpauth_uri(name)) {
            (Ok(secret), Ok(uri)) => {
                println!("totp-secret: {}", secret.as_str());
                println!("{}", uri.as_str());
                print_qr_if_terminal(&uri);
            }
            _ => eprintln!("testimony: could not format the TOTP secret"),
        }
    }
}

pub fn initialize(
    data: &Path,
    admin: &AccountName,
    password: &Password,
    recovery_key_out: &Path,
    clock: Arc<dyn Clock>,
) -> Result<Initialized, String> {
    check_data_dir_is_new(data)?;
    check_recovery_key_path(data, recovery_key_out)?;

    let today = clock.today();
    let recovery = RecoveryIdentity::generate();
    let signing = SigningKey::generate();
    let desk_key = DeskIdentity::generate();
    let desk_id = DeskId(random_hex_id());
    let desk_id_text = desk_id.0.clone();
    let admin_account = accounts::prepare(admin.clone(), Role::Admin, password, KdfParams::DEFAULT, today)?;

    let wraps = vec![
        custody::wrap(&desk_key, &desk_id, 0, Holder::Recovery, &recovery.recipient()).map_err(|e| e.to_string())?,
        custody::wrap(&desk_key, &desk_id, 0, Holder::Account(admin.clone()), &admin_account.record.recipient)
            .map_err(|e| e.to_string())?,
    ];
    let initial = InitialRecords {
        server: ServerRecord {
            recovery_recipient: recovery.recipient(),
            default_desk: desk_id.clone(),
            created: today,
        },
        signing_key: &signing,
        desk: DeskRecord {
            id: desk_id,
            name: "Default desk".into(),
            keys: vec![DeskKeyGeneration { generation: 0, recipient: desk_key.recipient(), created: today }],
            created: today,
        },
        admin: admin_account.record.clone(),
        wraps,
    };

    let mut undo = Undo::new(data);
    create_private_dir(data).map_err(|e| format!("cannot create {}: {e}", data.display()))?;
    fs::set_permissions(data, fs::Permissions::from_mode(0o700))
        .map_err(|e| format!("cannot restrict {} to its owner: {e}", data.display()))?;
    write_recovery_key(recovery_key_out, &recovery, today)?;
    undo.recovery_key = Some(recovery_key_out.to_path_buf());
    let store = Store::create(data, initial).map_err(|e| format!("cannot create the data directory: {e}"))?;
    let audit = AuditLog::create(&store, clock).map_err(|e| format!("cannot create the audit log: {e}"))?;
    audit
        .append(
            NewEntry::by(Actor::System, Event::AccountCreated { role: Role::Admin.as_str().into() }).on(admin.as_str()),
        )
        .and_then(|_| audit.append(NewEntry::by(Actor::System, Event::DeskCreated).on(desk_id_text.as_str())))
        .and_then(|_| {
            audit.append(
                NewEntry::by(Actor::System, Event::DeskGranted { account: admin.to_string() })
                    .on(desk_id_text.as_str()),
            )
        })
        .and_then(|_| audit.checkpoint())
        .map_err(|e| format!("cannot write the audit log: {e}"))?;
    store.complete_init().map_err(|e| format!("cannot finish the data directory: {e}"))?;
    drop(store);
    undo.disarm();

    Ok(Initialized {
        recovery_recipient: recovery.recipient().to_string(),
        signing_public_key: signing.verifying_key().to_string(),
        admin: admin.clone(),
        totp: admin_account.totp,
    })
}

fn check_data_dir_is_new(data: &Path) -> Result<(), String> {
    match fs::read_dir(data) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                Err(format!("refusing to initialize {}: the directory exists and is not empty", data.display()))
            } else {
                Ok(())
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let parent = data.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
            if parent.is_dir() {
                Ok(())
            } else {
                Err(format!("cannot create {}: its parent directory does not exist", data.display()))
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => {
            Err(format!("refusing to initialize {}: it exists and is not a directory", data.display()))
        }
        Err(e) => Err(format!("cannot read {}: {}", data.display(), e.kind())),
    }
}

fn check_recovery_key_path(data: &Path, out: &Path) -> Result<(), String> {
    if out.exists() {
        return Err(format!("refusing to overwrite {}: the recovery key file must be new", out.display()));
    }
    let parent = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let parent =
        parent.canonicalize().map_err(|_| format!("cannot write {}: its directory does not exist", out.display()))?;
    let data_abs = match data.canonicalize() {
        Ok(abs) => abs,
        Err(_) => std::env::current_dir().map(|cwd| cwd.join(data)).unwrap_or_else(|_| data.to_path_buf()),
    };
    if parent.starts_with(&data_abs) {
        return Err(format!(
            "refusing to write the recovery key inside the data directory ({}): it must never be on the server",
            out.display()
        ));
    }
    Ok(())
}

/// Writes the recovery identity in age-keygen's format, mode 0600, durably.
fn write_recovery_key(path: &Path, recovery: &RecoveryIdentity, today: crate::clock::Day) -> Result<(), String> {
    let fail = |e: std::io::Error| format!("cannot write the recovery key to {}: {e}", path.display());
    let mut file = fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).map_err(fail)?;
    let secret = recovery.to_secret_text();
    let contents = zeroize::Zeroizing::new(format!(
        "# testimony organization recovery key, made {today}\n\
         # Opens every statement and file. Keep it offline; never put it on the server.\n\
         # public key: {}\n{}\n",
        recovery.recipient(),
        secret.expose_secret()
    ));
    file.write_all(contents.as_bytes()).map_err(fail)?;
    file.sync_all().map_err(fail)?;
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        sync_dir(parent).map_err(fail)?;
    }
    Ok(())
}

/// Removes what a failed init created: the data directory's contents (the
/// directory itself only if init made it) and the recovery key file.
struct Undo {
    data: PathBuf,
    data_existed: bool,
    recovery_key: Option<PathBuf>,
    armed: bool,
}

impl Undo {
    fn new(data: &Path) -> Self {
        Self { data: data.to_path_buf(), data_existed: data.exists(), recovery_key: None, armed: true }
    }

    fn disarm(&mut self) {
        self.armed = false;
    }
}

impl Drop for Undo {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        if let Some(key) = &self.recovery_key {
            let _ = fs::remove_file(key);
        }
        if self.data_existed {
            if let Ok(entries) = fs::read_dir(&self.data) {
                for entry in entries.flatten() {
                    let _ = fs::remove_dir_all(entry.path()).or_else(|_| fs::remove_file(entry.path()));
                }
            }
        } else {
            let _ = fs::remove_dir_all(&self.data);
        }
    }
}
