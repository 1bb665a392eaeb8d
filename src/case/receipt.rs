//! Receipts: what a witness keeps to come back. 27 random digits and a
//! Damm check digit, shown in seven groups of four. Digits read the same in
//! every script the witnesses use, and the check digit catches every single
//! mistyped digit and every swap of neighbours before any lookup is made.
//!
//! The server keeps only an HMAC of the receipt (to find the case) and a
//! key derived from it (to seal replies); never the receipt.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::crypto::{Salt, WitnessIdentity, hex, random_array};

pub const DIGITS: usize = 28;

/// A receipt in memory: its 28 ASCII digits. Wiped on drop.
pub struct Receipt(Zeroizing<String>);

/// What a typed receipt turned out to be.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// Well-formed; may or may not belong to a case.
    Receipt,
    /// Wrong length or a failed check digit: a typing mistake.
    Mistyped,
}

impl Receipt {
    /// A fresh receipt from the OS CSPRNG (log2(10^27) ≈ 89.7 bits).
    pub fn generate() -> Receipt {
        let mut digits = Zeroizing::new(String::with_capacity(DIGITS));
        while digits.len() < DIGITS - 1 {
            // Rejection sampling keeps every digit uniform: bytes 250–255
            // would favour 0–5.
            for byte in random_array::<32>() {
                if byte < 250 && digits.len() < DIGITS - 1 {
                    digits.push(char::from(b'0' + byte % 10));
                }
            }
        }
        let check = damm(digits.as_bytes());
        digits.push(char::from(b'0' + check));
        Receipt(digits)
    }

    /// Reads what a witness typed: spaces, dashes and any of the digit sets
    /// they may type in (Arabic-Indic, Persian, full-width, Tibetan) are
    /// accepted.
    pub fn parse(typed: &str) -> (Option<Receipt>, Parsed) {
        let mut digits = Zeroizing::new(String::with_capacity(DIGITS));
        for c in typed.chars() {
            match ascii_digit(c) {
                Some(d) => digits.push(d),
                None if c.is_whitespace() || matches!(c, '-' | '.' | '_' | '\u{2010}'..='\u{2015}') => {}
                None => return (None, Parsed::Mistyped),
            }
            if digits.len() > DIGITS {
                return (None, Parsed::Mistyped);
            }
        }
        if digits.len() != DIGITS || damm(digits.as_bytes()) != 0 {
            return (None, Parsed::Mistyped);
        }
        (Some(Receipt(digits)), Parsed::Receipt)
    }

    /// The digits in groups of four, for display.
    pub fn grouped(&self) -> Zeroizing<String> {
        let chunks: Vec<&str> = self.0.as_bytes().chunks(4).map(|c| std::str::from_utf8(c).unwrap_or("")).collect();
        Zeroizing::new(chunks.join(" "))
    }

    pub fn digits(&self) -> &str {
        &self.0
    }

    /// The lookup hash the server stores: HMAC-SHA256 under a server key.
    pub fn lookup(&self, key: &[u8]) -> String {
        // Invariant: HMAC accepts keys of any length.
        #[allow(clippy::expect_used)]
        let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
        mac.update(b"testimony/v1/receipt-lookup\x00");
        mac.update(self.0.as_bytes());
        hex(&mac.finalize().into_bytes())
    }

    pub fn witness_identity(&self, salt: &Salt) -> WitnessIdentity {
        WitnessIdentity::derive(self.0.as_bytes(), salt)
    }
}

impl fmt::Debug for Receipt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Receipt(..)")
    }
}

fn ascii_digit(c: char) -> Option<char> {
    let zero = match c {
        '0'..='9' => '0',
        '\u{0660}'..='\u{0669}' => '\u{0660}', // Arabic-Indic
        '\u{06F0}'..='\u{06F9}' => '\u{06F0}', // Extended Arabic-Indic (Persian, Uyghur keyboards)
        '\u{FF10}'..='\u{FF19}' => '\u{FF10}', // full-width (Chinese input methods)
        '\u{0F20}'..='\u{0F29}' => '\u{0F20}', // Tibetan
        _ => return None,
    };
    char::from_digit(c as u32 - zero as u32, 10)
}

/// The Damm check digit (a quasigroup of order 10): 0 for a valid number.
fn damm(digits: &[u8]) -> u8 {
    const TABLE: [[u8; 10]; 10] = [
        [0, 3, 1, 7, 5, 9, 8, 6, 4, 2],
        [7, 0, 9, 2, 1, 5, 4, 8, 6, 3],
        [4, 2, 0, 6, 8, 7, 1, 3, 5, 9],
        [1, 7, 5, 0, 9, 8, 3, 4, 2, 6],
        [6, 1, 2, 3, 0, 4, 5, 9, 7, 8],
        [3, 6, 7, 4, 2, 0, 9, 5, 8, 1],
        [5, 8, 6, 9, 7, 2, 0, 1, 3, 4],
        [8, 9, 4, 5, 3, 6, 2, 0, 1, 7],
        [9, 4, 3, 8, 6, 1, 7, 2, 0, 5],
        [2, 5, 8, 1, 4, 3, 6, 7, 9, 0],
    ];
    digits.iter().fold(0u8, |interim, d| TABLE[interim as usize][(d - b'0') as usize])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receipts_are_28_digits_in_seven_groups_and_parse_back() {
        let r = Receipt::generate();
        assert_eq!(r.digits().len(), 28);
        let shown = r.grouped();
        assert_eq!(shown.split(' ').count(), 7);
        let (back, how) = Receipt::parse(&shown);
        assert_eq!(how, Parsed::Receipt);
        assert_eq!(back.unwrap().digits(), r.digits());
    }

    #[test]
    fn every_single_typo_and_neighbour_swap_is_caught() {
        let r = Receipt::generate();
        let digits: Vec<u8> = r.digits().bytes().collect();
        for i in 0..digits.len() {
            for d in b'0'..=b'9' {
                if d == digits[i] {
                    continue;
                }
                let mut typo = digits.clone();
                typo[i] = d;
                assert_eq!(Receipt::parse(std::str::from_utf8(&typo).unwrap()).1, Parsed::Mistyped);
            }
            if i + 1 < digits.len() && digits[i] != digits[i + 1] {
                let mut swapped = digits.clone();
                swapped.swap(i, i + 1);
                assert_eq!(Receipt::parse(std::str::from_utf8(&swapped).unwrap()).1, Parsed::Mistyped);
            }
        }
    }

    #[test]
    fn digits_typed_in_other_scripts_are_understood() {
        let r = Receipt::generate();
        let arabic: String =
            r.digits().chars().map(|c| char::from_u32(0x0660 + c.to_digit(10).unwrap()).unwrap()).collect();
        let wide: String =
            r.digits().chars().map(|c| char::from_u32(0xFF10 + c.to_digit(10).unwrap()).unwrap()).collect();
        assert_eq!(Receipt::parse(&arabic).0.unwrap().digits(), r.digits());
        assert_eq!(Receipt::parse(&wide).0.unwrap().digits(), r.digits());
        assert_eq!(Receipt::parse("1234 abcd").1, Parsed::Mistyped);
    }

    #[test]
    fn lookup_is_keyed_and_the_witness_key_is_stable() {
        let r = Receipt::generate();
        assert_eq!(r.lookup(b"k1"), r.lookup(b"k1"));
        assert_ne!(r.lookup(b"k1"), r.lookup(b"k2"));
        let salt = Salt::generate();
        assert_eq!(r.witness_identity(&salt).recipient(), r.witness_identity(&salt).recipient());
        assert_ne!(r.witness_identity(&salt).recipient(), Receipt::generate().witness_identity(&salt).recipient());
        assert!(!format!("{r:?}").contains(r.digits()));
    }
}
