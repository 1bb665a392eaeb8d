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
