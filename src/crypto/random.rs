//! Randomness from the operating system's CSPRNG, and nothing else.
//!
//! Every key, salt, id and receipt comes from here. There is no fallback: if
//! the OS cannot give us randomness the process must not go on, so a failure
//! panics rather than returning a weaker value.

/// `N` bytes from the OS CSPRNG.
pub fn random_array<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    // Invariant: getrandom only fails when the kernel has no entropy source at
    // all; continuing with zeros would make every key guessable.
    #[allow(clippy::expect_used)]
    getrandom::fill(&mut out).expect("the operating system's random source failed");
    out
}

/// A random 128-bit identifier as 32 lowercase hex digits: record ids, desk
/// ids and object names. Unguessable, and says nothing about time or order.
pub fn random_hex_id() -> String {
    hex(&random_array::<16>())
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(DIGITS[(byte >> 4) as usize] as char);
        out.push(DIGITS[(byte & 0x0f) as usize] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_hex_and_distinct() {
        let a = random_hex_id();
        let b = random_hex_id();
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_ne!(a, b);
    }

    #[test]
    fn hex_encodes_every_nibble() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
    }
}
