//! A statement's search key, held compressed: at 100,000 statements of a
//! few KiB the keys are most of the index, and LZ4 halves them or better
//! while a text search still reads every key in well under a second.
//! Compressed in memory only (and in the sealed snapshot): never written
//! anywhere in the clear.

use std::cell::RefCell;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One entry's search key, LZ4-compressed with its length in front.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SearchText(Box<[u8]>);

impl std::fmt::Debug for SearchText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the text: debug output can reach a log.
        write!(f, "SearchText({} bytes compressed)", self.0.len())
    }
}

thread_local! {
    /// Each searching thread's buffer for one key at a time.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

impl SearchText {
    pub fn new(key: &str) -> SearchText {
        if key.is_empty() {
            return SearchText::default();
        }
        SearchText(lz4_flex::block::compress_prepend_size(key.as_bytes()).into_boxed_slice())
    }

    /// Bytes held in memory.
    pub fn compressed_len(&self) -> usize {
        self.0.len()
    }

    /// Whether the key holds any of `needles` (already folded). A key that
    /// cannot be decompressed (it never can, short of a bug) matches nothing.
    pub fn contains_any(&self, needles: &[String]) -> bool {
        if self.0.is_empty() {
            return false;
        }
        SCRATCH.with(|scratch| {
            let mut key = scratch.borrow_mut();
            let Some(size) = self.0.get(..4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize) else {
                return false;
            };
            key.clear();
            key.resize(size, 0);
            match lz4_flex::block::decompress_into(&self.0[4..], &mut key) {
                Ok(n) if n == size => {
                    needles.iter().any(|needle| memchr::memmem::find(&key, needle.as_bytes()).is_some())
                }
                _ => false,
            }
        })
    }
}

impl Serialize for SearchText {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for SearchText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Bytes;
        impl<'de> Visitor<'de> for Bytes {
            type Value = SearchText;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("compressed search text")
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<SearchText, E> {
                Ok(SearchText(v.into()))
            }
            fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<SearchText, E> {
                Ok(SearchText(v.into_boxed_slice()))
            }
        }
        deserializer.deserialize_bytes(Bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_found_in_its_compressed_form() {
        let text = SearchText::new("ئۇلار بىزنى كېچىسى — they took us at night, marker-99999");
        assert!(text.contains_any(&["marker-99999".into()]));
        assert!(text.contains_any(&["nothing".into(), "كېچىسى".into()]));
        assert!(!text.contains_any(&["marker-99998".into()]));
        assert!(!SearchText::new("").contains_any(&["".into()]));
        let long = "camp hospital night ".repeat(200);
        assert!(SearchText::new(&long).compressed_len() < long.len() / 4);
    }

    #[test]
    fn it_round_trips_through_postcard_and_never_prints_its_text() {
        let text = SearchText::new("canary-in-the-index");
        let bytes = postcard::to_allocvec(&text).unwrap();
        let back: SearchText = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(back, text);
        assert!(!format!("{text:?}").contains("canary"));
    }
}
