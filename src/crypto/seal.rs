//! Sealing: age encryption to a set of X25519 recipients, in memory for
//! records and as a stream for files. Every sealed value is a standard age
//! file, so the stock `age` tool opens it with the right identity.

use std::fmt;
use std::io::{self, Read, Write};

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::Opener;
use super::identity::Recipient;

/// age ciphertext. Only this module creates one, so a value of this type is
/// proof that what it holds was sealed.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sealed(#[serde(with = "base64_bytes")] Vec<u8>);

impl Sealed {
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Takes bytes read back from storage. They are ciphertext because only
    /// sealed bytes are ever written there; opening them checks it again.
    pub fn from_stored(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }
}

impl fmt::Debug for Sealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sealed({} bytes)", self.0.len())
    }
}

/// Opened plaintext: wiped on drop, no `Debug` that prints it.
pub struct Plaintext(Zeroizing<Vec<u8>>);

impl Plaintext {
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Plaintext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Plaintext({} bytes)", self.0.len())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("nothing to seal to: no recipients")]
    NoRecipients,
    #[error("sealing failed: {0}")]
    Age(String),
    #[error("writing sealed data failed: {0}")]
    Io(#[from] io::Error),
}

/// Opening fails the same way for a wrong key and for damaged ciphertext as
/// far as callers are concerned; the detail is for logs, and holds no data.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("this key cannot open it")]
    NotARecipient,
    #[error("the sealed data is damaged or not age ciphertext")]
    Damaged,
}

fn encryptor(recipients: &[&Recipient]) -> Result<age::Encryptor, SealError> {
    if recipients.is_empty() {
        return Err(SealError::NoRecipients);
    }
    age::Encryptor::with_recipients(recipients.iter().map(|r| r.as_age() as &dyn age::Recipient))
        .map_err(|e| SealError::Age(e.to_string()))
}

/// Seals `plaintext` to every recipient given.
pub fn seal_to(plaintext: &[u8], recipients: &[&Recipient]) -> Result<Sealed, SealError> {
    let mut out = Vec::with_capacity(plaintext.len() + 256);
    let mut writer = encryptor(recipients)?.wrap_output(&mut out)?;
    writer.write_all(plaintext)?;
    writer.finish()?;
    Ok(Sealed(out))
}

/// Seals to one recipient (for wrapping a key to a single holder).
pub fn seal(plaintext: &[u8], recipient: &Recipient) -> Result<Sealed, SealError> {
    seal_to(plaintext, &[recipient])
}

/// Opens sealed bytes with one identity.
pub fn open(sealed: &[u8], key: &dyn Opener) -> Result<Plaintext, OpenError> {
    let decryptor = age::Decryptor::new(sealed).map_err(|_| OpenError::Damaged)?;
    let mut reader =
        decryptor.decrypt(std::iter::once(key.age_identity() as &dyn age::Identity)).map_err(|e| match e {
            age::DecryptError::NoMatchingKeys => OpenError::NotARecipient,
            _ => OpenError::Damaged,
        })?;
    let mut out = Zeroizing::new(Vec::with_capacity(sealed.len()));
    reader.read_to_end(&mut out).map_err(|_| OpenError::Damaged)?;
    Ok(Plaintext(out))
}

/// Opens a sealed stream (a stored object) for reading as plaintext, a
/// chunk at a time: the whole file never has to be in memory.
pub fn open_stream<R: Read>(sealed: R, key: &dyn Opener) -> Result<impl Read + use<R>, OpenError> {
    let decryptor = age::Decryptor::new_buffered(io::BufReader::new(sealed)).map_err(|_| OpenError::Damaged)?;
    decryptor.decrypt(std::iter::once(key.age_identity() as &dyn age::Identity)).map_err(|e| match e {
        age::DecryptError::NoMatchingKeys => OpenError::NotARecipient,
        _ => OpenError::Damaged,
    })
}

/// Streams plaintext through age into `W` (a storage object being written).
/// Must be finished: an unfinished stream is a truncated, unreadable file,
/// which is why `finish` hands back the inner writer only on success.
pub struct SealingWriter<W: Write> {
    inner: age::stream::StreamWriter<W>,
    written: u64,
}

impl<W: Write> SealingWriter<W> {
    pub fn new(output: W, recipients: &[&Recipient]) -> Result<Self, SealError> {
        let inner = encryptor(recipients)?.wrap_output(output)?;
        Ok(Self { inner, written: 0 })
    }

    /// Plaintext bytes written so far.
    pub fn plaintext_len(&self) -> u64 {
        self.written
    }

    /// Writes the last chunk and returns the inner writer, marked as
    /// holding a complete age stream.
    pub fn finish(self) -> io::Result<SealedStream<W>> {
        self.inner.finish().map(SealedStream)
    }
}

impl<W: Write> Write for SealingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A writer that has received a complete age stream. Storage commits only
/// objects in this wrapper, so an object file is always finished ciphertext.
pub struct SealedStream<W>(W);

impl<W> SealedStream<W> {
    pub(crate) fn into_inner(self) -> W {
        self.0
    }
}

/// Serde helper: bytes as standard base64 text in JSON records.
pub(crate) mod base64_bytes {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        STANDARD.decode(text.as_bytes()).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{DeskIdentity, RecoveryIdentity};

    #[test]
    fn sealed_opens_for_each_recipient_and_no_one_else() {
        let desk = DeskIdentity::generate();
        let recovery = RecoveryIdentity::generate();
        let stranger = DeskIdentity::generate();
        let sealed = seal_to(b"what happened", &[&desk.recipient(), &recovery.recipient()]).unwrap();
        assert_eq!(open(sealed.as_bytes(), &desk).unwrap().as_bytes(), b"what happened");
        assert_eq!(open(sealed.as_bytes(), &recovery).unwrap().as_bytes(), b"what happened");
        assert!(matches!(open(sealed.as_bytes(), &stranger), Err(OpenError::NotARecipient)));
    }

    #[test]
    fn sealed_bytes_do_not_contain_the_plaintext() {
        let desk = DeskIdentity::generate();
        let sealed = seal(b"CANARY-PLAINTEXT-0001", &desk.recipient()).unwrap();
        let needle = b"CANARY-PLAINTEXT-0001";
        assert!(!sealed.as_bytes().windows(needle.len()).any(|w| w == needle));
    }

    #[test]
    fn damaged_ciphertext_is_refused() {
        let desk = DeskIdentity::generate();
        let mut bytes = seal(b"abc", &desk.recipient()).unwrap().as_bytes().to_vec();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        assert!(matches!(open(&bytes, &desk), Err(OpenError::Damaged)));
    }

    #[test]
    fn streaming_matches_in_memory_sealing() {
        let desk = DeskIdentity::generate();
        let mut writer = SealingWriter::new(Vec::new(), &[&desk.recipient()]).unwrap();
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        for chunk in data.chunks(7_000) {
            writer.write_all(chunk).unwrap();
        }
        assert_eq!(writer.plaintext_len(), data.len() as u64);
        let out = writer.finish().unwrap().into_inner();
        assert_eq!(open(&out, &desk).unwrap().as_bytes(), &data[..]);
    }

    #[test]
    fn sealing_to_nobody_is_an_error() {
        assert!(matches!(seal_to(b"x", &[]), Err(SealError::NoRecipients)));
    }
}
