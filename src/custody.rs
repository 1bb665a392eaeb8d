//! Key custody: who holds which desk key. A desk identity exists on disk
//! only sealed ("wrapped") to a holder: the recovery recipient and each
//! member's personal recipient. Membership of a desk *is* holding a wrap:
//! without one, no code path can produce the desk identity.

use crate::crypto::{self, DeskIdentity, Opener, Recipient};
use crate::storage::{DeskId, DeskKeyWrap, Holder, StorageError, Store};

#[derive(Debug, thiserror::Error)]
pub enum CustodyError {
    #[error("not a holder of this desk key")]
    NotAHolder,
    #[error("the given key does not open this desk key")]
    WrongKey,
    #[error("a wrapped desk key is damaged")]
    Damaged,
    #[error("could not wrap the desk key: {0}")]
    Seal(#[from] crypto::SealError),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Seals a desk identity to one holder's recipient.
pub fn wrap(
    desk_key: &DeskIdentity,
    desk: &DeskId,
    generation: u32,
    holder: Holder,
    to: &Recipient,
) -> Result<DeskKeyWrap, CustodyError> {
    let secret = desk_key.to_secret_text();
    let sealed = crypto::seal(secrecy::ExposeSecret::expose_secret(&secret).as_bytes(), to)?;
    Ok(DeskKeyWrap { desk: desk.clone(), generation, holder, sealed })
}

/// Opens the holder's wrapped copy of a desk key with the holder's key.
pub fn unwrap(
    store: &Store,
    desk: &DeskId,
    generation: u32,
    holder: &Holder,
    key: &dyn Opener,
) -> Result<DeskIdentity, CustodyError> {
    let sealed = store.desk_key_wrap(desk, generation, holder)?.ok_or(CustodyError::NotAHolder)?;
    let plain = crypto::open(sealed.as_bytes(), key).map_err(|e| match e {
        crypto::OpenError::NotARecipient => CustodyError::WrongKey,
        crypto::OpenError::Damaged => CustodyError::Damaged,
    })?;
    let text = std::str::from_utf8(plain.as_bytes()).map_err(|_| CustodyError::Damaged)?;
    DeskIdentity::from_secret_text(text).map_err(|_| CustodyError::Damaged)
}

/// Creates a desk: a fresh key, wrapped to the recovery key and to its
/// creator (so someone can grant it onwards).
pub fn create_desk(
    store: &Store,
    id: DeskId,
    name: &str,
    creator: &crate::storage::AccountName,
    today: crate::clock::Day,
) -> Result<(crate::storage::DeskRecord, DeskIdentity), CustodyError> {
    let server = store.server()?;
    let creator_record = store.account(creator)?.ok_or(StorageError::NotFound)?;
    let key = DeskIdentity::generate();
    let desk = crate::storage::DeskRecord {
        id: id.clone(),
        name: name.to_string(),
        keys: vec![crate::storage::DeskKeyGeneration { generation: 0, recipient: key.recipient(), created: today }],
        created: today,
    };
    store.put_desk(&desk)?;
    store.put_desk_key_wrap(&wrap(&key, &id, 0, Holder::Recovery, &server.recovery_recipient)?)?;
    store.put_desk_key_wrap(&wrap(&key, &id, 0, Holder::Account(creator.clone()), &creator_record.recipient)?)?;
    Ok((desk, key))
}

/// Grants every generation the granter holds to `grantee`, using only the
/// grantee's public recipient.
pub fn grant(
    store: &Store,
    desk: &DeskId,
    granter_keys: &[(u32, std::sync::Arc<DeskIdentity>)],
    grantee: &crate::storage::AccountName,
) -> Result<(), CustodyError> {
    let record = store.account(grantee)?.ok_or(StorageError::NotFound)?;
    for (generation, key) in granter_keys {
        store.put_desk_key_wrap(&wrap(key, desk, *generation, Holder::Account(grantee.clone()), &record.recipient)?)?;
    }
    Ok(())
}

/// Removes every wrapped copy `account` holds of a desk's keys.
pub fn revoke(store: &Store, desk: &DeskId, account: &crate::storage::AccountName) -> Result<usize, CustodyError> {
    Ok(store.remove_desk_key_wraps(desk, &Holder::Account(account.clone()))?)
}

/// Starts a new generation of a desk's key for future statements, wrapped
/// to the recovery key and to every account that holds the current one.
/// Older generations stay, wrapped as before, so old statements still open.
pub fn rotate(
    store: &Store,
    desk_id: &DeskId,
    today: crate::clock::Day,
) -> Result<(u32, DeskIdentity, Vec<crate::storage::AccountName>), CustodyError> {
    let server = store.server()?;
    let mut desk = store.desk(desk_id)?.ok_or(StorageError::NotFound)?;
    let current = desk.current_key().map(|k| k.generation).ok_or(StorageError::NotFound)?;
    let holders = store.desk_holders(desk_id, current)?;
    let key = DeskIdentity::generate();
    let generation = current + 1;
    store.put_desk_key_wrap(&wrap(&key, desk_id, generation, Holder::Recovery, &server.recovery_recipient)?)?;
    let mut members = Vec::new();
    for holder in holders {
        if let Holder::Account(name) = holder
            && let Some(account) = store.account(&name)?
        {
            store.put_desk_key_wrap(&wrap(
                &key,
                desk_id,
                generation,
                Holder::Account(name.clone()),
                &account.recipient,
            )?)?;
            members.push(name);
        }
    }
    desk.keys.push(crate::storage::DeskKeyGeneration { generation, recipient: key.recipient(), created: today });
    store.put_desk(&desk)?;
    Ok((generation, key, members))
}
