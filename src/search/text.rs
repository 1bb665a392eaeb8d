//! A statement's search key, held as pieces of its desk's vocabulary.
//!
//! At 100,000 statements of a few KiB the keys are most of the index.
//! Prose repeats its words, and a desk's statements share most of theirs,
//! so each desk keeps one [`Vocabulary`] of the pieces its keys are cut
//! into (a word with the spaces and punctuation after it, or one Chinese
//! character with what follows it), and each key is the list of its
//! pieces' numbers, one to three bytes each. That holds a key in about a
//! quarter of its bytes (LZ4 managed two thirds), and a search rebuilds
//! each key by copying pieces, which is as fast as decompressing.
//!
//! Cutting is lossless: the pieces of a key, joined, are the key, so a
//! search finds exactly what it would find in the key itself, across
//! piece boundaries too. In memory only (and in the sealed snapshot):
//! never written anywhere in the clear.

use std::cell::RefCell;
use std::hash::{BuildHasher, RandomState};

use hashbrown::HashTable;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One entry's search key.
#[derive(Clone, PartialEq, Eq)]
pub enum SearchText {
    /// Folded but not yet in a desk's vocabulary: what a build or the
    /// change feed makes, until the entry is put into its desk's index.
    Folded(Box<str>),
    /// The key's pieces, as LEB128 numbers into the desk's vocabulary.
    Pieces(Box<[u8]>),
}

impl Default for SearchText {
    fn default() -> Self {
        SearchText::Pieces(Box::default())
    }
}

impl std::fmt::Debug for SearchText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the text: debug output can reach a log.
        match self {
            SearchText::Folded(key) => write!(f, "SearchText({} bytes folded)", key.len()),
            SearchText::Pieces(pieces) => write!(f, "SearchText({} bytes of pieces)", pieces.len()),
        }
    }
}

impl std::fmt::Debug for Vocabulary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the pieces: they are the desk's words.
        write!(f, "Vocabulary({} pieces)", self.ends.len())
    }
}

impl SearchText {
    pub fn new(key: &str) -> SearchText {
        SearchText::Folded(key.into())
    }

    /// Bytes held for this key (not counting the shared vocabulary).
    pub fn held_len(&self) -> usize {
        match self {
            SearchText::Folded(key) => key.len(),
            SearchText::Pieces(pieces) => pieces.len(),
        }
    }
}

thread_local! {
    /// Each searching thread's window onto one key's numbers at a time.
    static SCRATCH: RefCell<Vec<u32>> = const { RefCell::new(Vec::new()) };
}

/// The pieces a desk's keys are cut into, each once, numbered in the
/// order first seen (so the commonest words tend to get the one-byte
/// numbers). It only grows while the desk's index lives; it goes with it.
///
/// The pieces sit one after another in one string, so that spelling a key
/// reads memory in order, the common pieces (numbered first) close
/// together; scattered allocations made a search several times slower.
/// The numbers are found by a table of numbers hashed by their pieces,
/// so no piece is held twice.
#[derive(Default)]
pub struct Vocabulary {
    numbers: HashTable<u32>,
    hasher: RandomState,
    text: String,
    /// Where each piece ends in `text` (it starts where the last ended).
    ends: Vec<usize>,
}

/// Piece `n` of a vocabulary's `text` and `ends`.
fn piece_in<'a>(text: &'a str, ends: &[usize], n: u32) -> Option<&'a str> {
    let n = n as usize;
    let end = *ends.get(n)?;
    let start = if n == 0 { 0 } else { ends[n - 1] };
    text.get(start..end)
}

/// Chinese characters: each is a piece of its own (Chinese writes no
/// spaces, so a run of them would be a whole sentence, seen once).
fn is_han(c: char) -> bool {
    matches!(c, '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}' | '\u{F900}'..='\u{FAFF}' | '\u{20000}'..='\u{3134F}')
}

/// Cuts `key` into pieces: a run of letters and digits (or one Chinese
/// character), then the run of anything else after it. Joined, the
/// pieces are `key`.
fn pieces(key: &str) -> impl Iterator<Item = &str> {
    let mut rest = key;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut chars = rest.char_indices().peekable();
        let mut end = rest.len();
        // The head: one Chinese character, or a run of other letters.
        if let Some(&(_, first)) = chars.peek() {
            if is_han(first) {
                chars.next();
            } else {
                while chars.next_if(|&(_, c)| c.is_alphanumeric() && !is_han(c)).is_some() {}
            }
        }
        // The tail: what separates it from the next head.
        while chars.next_if(|&(_, c)| !c.is_alphanumeric()).is_some() {}
        if let Some(&(at, _)) = chars.peek() {
            end = at;
        }
        let (piece, after) = rest.split_at(end);
        rest = after;
        Some(piece)
    })
}

fn push_number(out: &mut Vec<u8>, mut n: u32) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// The numbers in `bytes`; None at a number cut short or too long.
fn numbers(bytes: &[u8]) -> impl Iterator<Item = Option<u32>> + '_ {
    let mut at = 0;
    std::iter::from_fn(move || {
        let &b = bytes.get(at)?;
        at += 1;
        // Most numbers are one byte: the search's whole cost is this loop.
        if b < 0x80 {
            return Some(Some(u32::from(b)));
        }
        let mut n = u32::from(b & 0x7f);
        for shift in [7, 14, 21, 28] {
            let Some(&b) = bytes.get(at) else { break };
            at += 1;
            if shift == 28 && b & 0x70 != 0 {
                break; // more than 32 bits
            }
            n |= u32::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Some(Some(n));
            }
        }
        // Cut short or too long: nothing after it can be read either.
        at = bytes.len();
        Some(None)
    })
}

impl Vocabulary {
    /// How many pieces it holds.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Bytes its pieces take (for the benchmark's account of memory).
    pub fn piece_bytes(&self) -> usize {
        self.text.len()
    }

    /// Piece number `n`.
    pub fn piece(&self, n: u32) -> Option<&str> {
        piece_in(&self.text, &self.ends, n)
    }

    /// The number of `piece`, if it has one.
    fn find(&self, piece: &str) -> Option<u32> {
        let hash = self.hasher.hash_one(piece);
        self.numbers.find(hash, |&n| self.piece(n) == Some(piece)).copied()
    }

    /// The pieces, in number order (for the snapshot).
    pub fn pieces(&self) -> impl Iterator<Item = &str> {
        (0..self.ends.len() as u32).filter_map(|n| self.piece(n))
    }

    fn number(&mut self, piece: &str) -> u32 {
        let Vocabulary { numbers, hasher, text, ends } = self;
        let hash = hasher.hash_one(piece);
        if let Some(&n) = numbers.find(hash, |&n| piece_in(text, ends, n) == Some(piece)) {
            return n;
        }
        let n = ends.len() as u32;
        // Growing the table rehashes the numbers it holds, all in `text`.
        numbers.insert_unique(hash, n, |&m| hasher.hash_one(piece_in(text, ends, m).unwrap_or_default()));
        text.push_str(piece);
        ends.push(text.len());
        n
    }

    /// Turns a folded key into pieces of this vocabulary (in place).
    pub fn settle(&mut self, text: &mut SearchText) {
        if let SearchText::Folded(key) = text {
            let mut out = Vec::with_capacity(key.len() / 4);
            for piece in pieces(key) {
                let n = self.number(piece);
                push_number(&mut out, n);
            }
            *text = SearchText::Pieces(out.into_boxed_slice());
        }
    }

    /// Adds the pieces of `other` that `keys` use; returns what each of
    /// `other`'s numbers is here ([`UNUSED`] for those left out), for
    /// [`Vocabulary::renumber`].
    pub fn absorb<'a>(&mut self, other: &Vocabulary, keys: impl Iterator<Item = &'a SearchText>) -> Vec<u32> {
        let uses = other.uses(keys);
        other.pieces().zip(uses).map(|(p, uses)| if uses > 0 { self.number(p) } else { UNUSED }).collect()
    }

    /// How many times `keys` (of this vocabulary) use each piece.
    fn uses<'a>(&self, keys: impl Iterator<Item = &'a SearchText>) -> Vec<u64> {
        let mut uses = vec![0u64; self.ends.len()];
        for key in keys {
            if let SearchText::Pieces(bytes) = key {
                for n in numbers(bytes).map_while(|n| n) {
                    if let Some(count) = uses.get_mut(n as usize) {
                        *count += 1;
                    }
                }
            }
        }
        uses
    }

    /// The pieces `keys` use, the most used first (so they get the
    /// one-byte numbers): each piece's new number by its old ([`UNUSED`]
    /// for a piece no key uses), and the old numbers in their new order.
    /// Pieces no key uses are left out: the words of a statement deleted,
    /// withdrawn or moved away must not outlive it in a snapshot.
    pub fn by_use<'a>(&self, keys: impl Iterator<Item = &'a SearchText>) -> (Vec<u32>, Vec<u32>) {
        let uses = self.uses(keys);
        let mut order: Vec<u32> = (0..self.ends.len() as u32).filter(|&n| uses[n as usize] > 0).collect();
        // Stable: pieces used alike keep the order they were first seen in.
        order.sort_by_key(|&n| std::cmp::Reverse(uses[n as usize]));
        let mut new = vec![UNUSED; self.ends.len()];
        for (to, &from) in order.iter().enumerate() {
            new[from as usize] = to as u32;
        }
        (new, order)
    }

    /// Rewrites a key of another vocabulary with `map` (from
    /// [`Vocabulary::absorb`]). None when the key holds a number `map`
    /// does not (a damaged key).
    pub fn renumber(text: &SearchText, map: &[u32]) -> Option<SearchText> {
        match text {
            SearchText::Folded(_) => Some(text.clone()),
            SearchText::Pieces(bytes) => {
                let mut out = Vec::with_capacity(bytes.len());
                for n in numbers(bytes) {
                    let to = *map.get(n? as usize)?;
                    if to == UNUSED {
                        return None;
                    }
                    push_number(&mut out, to);
                }
                Some(SearchText::Pieces(out.into_boxed_slice()))
            }
        }
    }

    /// Whether every number in `text` names one of these pieces.
    pub fn holds(&self, text: &SearchText) -> bool {
        match text {
            SearchText::Folded(_) => true,
            SearchText::Pieces(bytes) => numbers(bytes).all(|n| n.is_some_and(|n| (n as usize) < self.ends.len())),
        }
    }

    /// A vocabulary of `pieces` in this order (from a snapshot). None when
    /// a piece comes twice (a damaged or forged list).
    pub fn from_pieces<S: AsRef<str>>(pieces: impl IntoIterator<Item = S>) -> Option<Vocabulary> {
        let mut vocabulary = Vocabulary::default();
        for piece in pieces {
            let piece = piece.as_ref();
            if vocabulary.find(piece).is_some() {
                return None;
            }
            vocabulary.number(piece);
        }
        Some(vocabulary)
    }

    /// The key `text` holds, written into `out`. False when it names a
    /// piece this vocabulary lacks (never, short of a bug).
    fn spell(&self, text: &SearchText, out: &mut Vec<u8>) -> bool {
        out.clear();
        match text {
            SearchText::Folded(key) => out.extend_from_slice(key.as_bytes()),
            SearchText::Pieces(bytes) => {
                for n in numbers(bytes) {
                    match n.and_then(|n| self.piece(n)) {
                        Some(piece) => out.extend_from_slice(piece.as_bytes()),
                        None => return false,
                    }
                }
            }
        }
        true
    }

    /// The key `text` holds (for tests).
    pub fn spelled(&self, text: &SearchText) -> Option<String> {
        let mut out = Vec::new();
        self.spell(text, &mut out).then(|| String::from_utf8(out).ok()).flatten()
    }

    /// Whether the key `text` holds contains any of `needles` (already
    /// folded). For the tests' one key at a time; a search prepares its
    /// needles once ([`Vocabulary::needle`], [`Vocabulary::matches`]).
    #[cfg(test)]
    pub fn contains_any(&self, text: &SearchText, needles: &[String]) -> bool {
        let needles: Vec<Needle> = needles.iter().map(|n| self.needle(n)).collect();
        self.matches(text, &needles)
    }

    /// `needle` (a folded query key) prepared against this vocabulary:
    /// which pieces can hold it, or its start, middle and end.
    pub fn needle(&self, needle: &str) -> Needle {
        let parts = needle_parts(needle);
        let shape = match parts.as_slice() {
            [] => Shape::Nowhere,
            [whole] => Shape::Within(self.pieces_where(|p| p.contains(whole))),
            [first, middle @ .., last] => {
                let middle: Option<Vec<u32>> = middle.iter().map(|m| self.find(m)).collect();
                match middle {
                    // A middle piece no key holds: no key holds the needle.
                    None => Shape::Nowhere,
                    Some(middle) => Shape::Across {
                        first: self.pieces_where(|p| p.ends_with(first)),
                        middle,
                        last: self.pieces_where(|p| p.starts_with(last)),
                    },
                }
            }
        };
        Needle { folded: needle.into(), shape }
    }

    fn pieces_where(&self, test: impl Fn(&str) -> bool) -> PieceSet {
        let mut set = PieceSet(vec![0; self.ends.len().div_ceil(64)]);
        for (n, piece) in self.pieces().enumerate() {
            if test(piece) {
                set.0[n / 64] |= 1 << (n % 64);
            }
        }
        set
    }

    /// Whether the key `text` holds contains any of `needles`. A key that
    /// cannot be read matches nothing.
    pub fn matches(&self, text: &SearchText, needles: &[Needle]) -> bool {
        let bytes = match text {
            SearchText::Pieces(bytes) => bytes,
            // Not in the index yet (never searched so, short of a bug).
            SearchText::Folded(key) => {
                return needles.iter().any(|n| !n.folded.is_empty() && key.contains(&*n.folded));
            }
        };
        needles.iter().any(|needle| match &needle.shape {
            Shape::Nowhere => false,
            Shape::Within(set) => numbers(bytes).any(|n| n.is_some_and(|n| set.has(n))),
            Shape::Across { first, middle, last } => SCRATCH.with(|scratch| {
                // The last `span` numbers, round and round; a window is
                // looked at only when its last piece could end the needle.
                let span = middle.len() + 2;
                let mut ring = scratch.borrow_mut();
                ring.clear();
                ring.resize(span, 0);
                // `next` is where the next number goes: once `seen` reaches
                // `span`, it is also where the window's first number is.
                let (mut next, mut seen) = (0usize, 0usize);
                let wrap = |at: usize| if at >= span { at - span } else { at };
                for n in numbers(bytes) {
                    let Some(n) = n else { return false };
                    ring[next] = n;
                    next = wrap(next + 1);
                    seen += 1;
                    if seen >= span
                        && last.has(n)
                        && first.has(ring[next])
                        && middle.iter().enumerate().all(|(k, m)| ring[wrap(next + 1 + k)] == *m)
                    {
                        return true;
                    }
                }
                false
            }),
        })
    }
}

/// The new number of a piece left out (no key uses it): never written
/// into a key, since no key names the piece.
pub const UNUSED: u32 = u32::MAX;

/// A folded query key prepared against one vocabulary.
pub struct Needle {
    folded: Box<str>,
    shape: Shape,
}

enum Shape {
    /// Nothing can hold it.
    Nowhere,
    /// It lies inside one piece: any of these.
    Within(PieceSet),
    /// It crosses pieces: the end of one of `first`, then exactly the
    /// `middle` pieces, then the start of one of `last`.
    Across { first: PieceSet, middle: Vec<u32>, last: PieceSet },
}

/// A set of piece numbers, a bit each.
struct PieceSet(Vec<u64>);

impl PieceSet {
    fn has(&self, n: u32) -> bool {
        self.0.get(n as usize / 64).is_some_and(|w| w & (1 << (n % 64)) != 0)
    }
}

/// Whether [`pieces`] cuts between `before` and `after`, whatever comes
/// around them: a new piece starts at a letter or digit after anything
/// that is not one, and before and after every Chinese character.
fn cuts_between(before: char, after: char) -> bool {
    after.is_alphanumeric() && (!before.is_alphanumeric() || is_han(before) || is_han(after))
}

/// `needle` cut where any key holding it is cut: every occurrence of it
/// in a key starts inside one piece, takes the middle parts as whole
/// pieces, and ends inside another (one part: inside a single piece).
fn needle_parts(needle: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut previous: Option<char> = None;
    for (at, c) in needle.char_indices() {
        if let Some(before) = previous
            && cuts_between(before, c)
        {
            parts.push(&needle[start..at]);
            start = at;
        }
        previous = Some(c);
    }
    if start < needle.len() {
        parts.push(&needle[start..]);
    }
    parts
}

impl Serialize for SearchText {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            SearchText::Pieces(bytes) => serializer.serialize_bytes(bytes),
            // The index settles every key as it takes it in; a folded one
            // here is a bug, and it must not reach a file whatever it is.
            SearchText::Folded(_) => Err(serde::ser::Error::custom("a search key not yet in its desk's vocabulary")),
        }
    }
}

impl<'de> Deserialize<'de> for SearchText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Bytes;
        impl<'de> Visitor<'de> for Bytes {
            type Value = SearchText;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a search key's pieces")
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<SearchText, E> {
                Ok(SearchText::Pieces(v.into()))
            }
            fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<SearchText, E> {
                Ok(SearchText::Pieces(v.into_boxed_slice()))
            }
        }
        deserializer.deserialize_bytes(Bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEYS: [&str; 7] = [
        "ular bizni kéchisi — they took us at night, marker-99999",
        "被带到医院后来送看守所 维吾尔 camp, camp; camp.",
        "ལྷ་ས་ནས་ བོད་ལྗོངས།",
        "  leading spaces and trailing  ",
        "",
        "123 456-789 ١٢٣",
        "a\u{301}b\u{200d}c 𠀀𠀁 x",
    ];

    #[test]
    fn the_pieces_of_a_key_joined_are_the_key() {
        for key in KEYS {
            assert_eq!(pieces(key).collect::<String>(), key);
            let mut vocabulary = Vocabulary::default();
            let mut text = SearchText::new(key);
            vocabulary.settle(&mut text);
            assert!(matches!(text, SearchText::Pieces(_)));
            assert_eq!(vocabulary.spelled(&text).as_deref(), Some(key));
        }
        assert_eq!(pieces("camp, bus 被带").collect::<Vec<_>>(), ["camp, ", "bus ", "被", "带"]);
    }

    #[test]
    fn a_key_is_found_across_its_pieces_and_nothing_else_is() {
        let mut vocabulary = Vocabulary::default();
        let mut text = SearchText::new(KEYS[0]);
        vocabulary.settle(&mut text);
        for needle in ["marker-99999", "kéchisi", "took us at", "s at ni", "ar biz", KEYS[0]] {
            assert!(vocabulary.contains_any(&text, &[needle.into()]), "{needle}");
        }
        assert!(vocabulary.contains_any(&text, &["nothing".into(), "night".into()]));
        assert!(!vocabulary.contains_any(&text, &["marker-99998".into()]));
        assert!(!vocabulary.contains_any(&SearchText::default(), &["".into()]));
    }

    /// Every piece of every key, and pieces of one key looked for in
    /// another: found exactly when the key, spelled out, holds it.
    #[test]
    fn a_needle_is_found_exactly_where_the_spelled_key_holds_it() {
        let mut vocabulary = Vocabulary::default();
        let mut texts: Vec<SearchText> = KEYS.iter().map(|k| SearchText::new(k)).collect();
        for text in &mut texts {
            vocabulary.settle(text);
        }
        let mut checked = 0;
        for source in KEYS {
            let bounds: Vec<usize> = source.char_indices().map(|(i, _)| i).chain([source.len()]).collect();
            for (a, &start) in bounds.iter().enumerate() {
                for &end in &bounds[a + 1..] {
                    let needle = &source[start..end];
                    for (text, key) in texts.iter().zip(KEYS) {
                        assert_eq!(
                            vocabulary.contains_any(text, &[needle.into()]),
                            key.contains(needle),
                            "{needle:?} in {key:?}"
                        );
                        checked += 1;
                    }
                }
            }
        }
        assert!(checked > 10_000, "{checked}");
    }

    proptest::proptest! {
        /// Made-up keys from a small alphabet of the kinds of character
        /// the cutting treats differently, and made-up needles.
        #[test]
        fn a_needle_matches_as_the_key_would(
            key in "[ab被带 ,.\\n1ལ་]{0,40}",
            needles in proptest::collection::vec("[ab被带 ,.1ལ་]{1,6}", 1..4),
        ) {
            let mut vocabulary = Vocabulary::default();
            let mut other = SearchText::new("a ab, 被带 1.");
            vocabulary.settle(&mut other);
            let mut text = SearchText::new(&key);
            vocabulary.settle(&mut text);
            for needle in &needles {
                proptest::prop_assert_eq!(
                    vocabulary.contains_any(&text, std::slice::from_ref(needle)),
                    key.contains(needle.as_str()),
                    "{:?} in {:?}", needle, key
                );
            }
        }
    }

    #[test]
    fn a_repetitive_key_takes_a_fraction_of_its_bytes() {
        let long = "camp hospital night ".repeat(200);
        let mut vocabulary = Vocabulary::default();
        let mut text = SearchText::new(&long);
        vocabulary.settle(&mut text);
        assert_eq!(vocabulary.len(), 3);
        assert_eq!(text.held_len(), 600, "one byte a word");
    }

    #[test]
    fn keys_move_between_vocabularies_unchanged() {
        let (mut a, mut b) = (Vocabulary::default(), Vocabulary::default());
        let mut in_b: Vec<SearchText> = KEYS.iter().rev().map(|k| SearchText::new(k)).collect();
        for text in &mut in_b {
            b.settle(text);
        }
        let mut first = SearchText::new("night bus camp");
        a.settle(&mut first);
        let map = a.absorb(&b, in_b.iter());
        for (text, key) in in_b.iter().zip(KEYS.iter().rev()) {
            let moved = Vocabulary::renumber(text, &map).unwrap();
            assert!(a.holds(&moved));
            assert_eq!(a.spelled(&moved).as_deref(), Some(*key));
        }
        assert_eq!(a.spelled(&first).as_deref(), Some("night bus camp"));
        // A number past the map is refused, not guessed.
        assert!(Vocabulary::renumber(&SearchText::Pieces(vec![0x7f].into()), &[]).is_none());
        assert!(!b.holds(&SearchText::Pieces(vec![0xff, 0xff, 0x7f].into())));
        assert!(!b.holds(&SearchText::Pieces(vec![0x80].into())), "a number cut short");
    }

    #[test]
    fn the_most_used_pieces_are_numbered_first() {
        let mut vocabulary = Vocabulary::default();
        let mut keys: Vec<SearchText> =
            ["rare once camp", "camp camp night", "night camp"].iter().map(|k| SearchText::new(k)).collect();
        for key in &mut keys {
            vocabulary.settle(key);
        }
        let (new, order) = vocabulary.by_use(keys.iter());
        let ordered: Vec<&str> = order.iter().map(|&n| vocabulary.piece(n).unwrap()).collect();
        // A piece only a key no longer held used is left out.
        let (_, kept) = vocabulary.by_use(keys[1..].iter());
        let kept: Vec<&str> = kept.iter().map(|&n| vocabulary.piece(n).unwrap()).collect();
        assert_eq!(kept, ["camp ", "camp", "night", "night "], "no rare, no once");
        // Used twice each, then once each; ties in the order first seen.
        assert_eq!(ordered, ["camp", "camp ", "rare ", "once ", "night", "night "]);
        let renumbered = Vocabulary::from_pieces(ordered).unwrap();
        for (key, text) in keys.iter().zip(["rare once camp", "camp camp night", "night camp"]) {
            let moved = Vocabulary::renumber(key, &new).unwrap();
            assert_eq!(renumbered.spelled(&moved).as_deref(), Some(text));
        }
    }

    #[test]
    fn numbers_round_trip_at_every_length() {
        for n in [0, 1, 127, 128, 16_383, 16_384, 2_097_151, 2_097_152, u32::MAX] {
            let mut out = Vec::new();
            push_number(&mut out, n);
            assert_eq!(numbers(&out).collect::<Vec<_>>(), [Some(n)]);
        }
        assert_eq!(numbers(&[0xff; 6]).next(), Some(None), "longer than any u32");
    }

    #[test]
    fn a_vocabulary_with_a_piece_twice_is_refused() {
        let vocabulary = Vocabulary::from_pieces(["a ", "b", "被"]).unwrap();
        assert_eq!(vocabulary.pieces().collect::<Vec<_>>(), ["a ", "b", "被"]);
        assert!(Vocabulary::from_pieces(["a ", "a "]).is_none());
    }

    #[test]
    fn it_round_trips_through_postcard_and_never_prints_its_text() {
        let mut vocabulary = Vocabulary::default();
        let mut text = SearchText::new("canary-in-the-index");
        assert!(postcard::to_allocvec(&text).is_err(), "a folded key never reaches a file");
        assert!(!format!("{text:?}").contains("canary"));
        vocabulary.settle(&mut text);
        let bytes = postcard::to_allocvec(&text).unwrap();
        let back: SearchText = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(back, text);
        assert!(!format!("{text:?}").contains("canary"));
    }
}
