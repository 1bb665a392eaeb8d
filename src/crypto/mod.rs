//! Everything that turns plaintext into ciphertext and back, derives keys, or
//! signs. Secrets are types here: identities, passwords and opened plaintext
//! wipe themselves on drop and have no `Debug` that prints them.
//!
//! This module never touches the disk; `storage` never sees plaintext. The
//! only way to produce a [`Sealed`] value is to seal something here.

mod identity;
mod password;
mod random;
mod seal;
mod signing;

pub use identity::{DeskIdentity, Recipient, RecoveryIdentity, read_identity_file};
pub use password::{KdfParams, LoginVerifier, Password, PersonalIdentity, PersonalKeys, Salt, WitnessIdentity};
pub use random::{hex, random_array, random_hex_id};
pub use seal::{
    OpenError, Plaintext, SealError, Sealed, SealedStream, SealingWriter, open, open_stream, seal, seal_to,
};
pub use signing::{SigningKey, VerifyingKey};

/// An age identity that can open sealed values: a desk key, the recovery
/// key, or a personal key. Implemented only by this module's secret types.
pub trait Opener {
    #[doc(hidden)]
    fn age_identity(&self) -> &age::x25519::Identity;
}
