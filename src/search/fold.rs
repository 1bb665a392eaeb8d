//! Search keys: what a statement's text and a reviewer's query are both
//! turned into, so that one finds the other whichever script each was
//! written in. Used only for matching, inside the in-memory index; nothing
//! folded is ever stored or shown (DOMAIN.md: letters stay distinct).
//!
//! A key is the text in NFC, lower-cased where a script has case, and:
//!
//! - **Chinese** in Simplified characters: each Traditional character is
//!   replaced by its Simplified form from OpenCC's character table (through
//!   the `hanconv` crate), so 醫院 and 医院 meet. Character by character,
//!   never by phrase (see below).
//! - **Uyghur** in Arabic script written in Uyghur Latin letters (ULY, the
//!   Latin alphabet of 2000; Uyghur Computer Science Association's table):
//!   ئۈرۈمچى and "Ürümchi" meet. ULY keeps every Uyghur letter apart
//!   (ە e, ې é, ى i, ھ h), so folding merges nothing the script tells apart.
//! - **Kazakh** in Arabic script (as written in China) and in Cyrillic (as
//!   in Kazakhstan) both written in one plain Latin: аурухана and اۋرۋحانا
//!   meet. The Arabic script marks front vowels once per word (the high
//!   hamza ٴ), not per letter, so the key merges the vowel pairs а/ә, о/ө,
//!   ұ/ү, ы/і that Cyrillic tells apart; и and у are the glides ي and ۋ
//!   the Arabic script spells them with. Cyrillic is always read so.
//!
//! Every letter folds on its own, never by its neighbours, so the key of a
//! piece of text is always a piece of the text's key: a query can never
//! miss text that holds it.
//!
//! Uyghur and Kazakh share most Arabic letters but read some differently
//! (ۆ is ö in Uyghur and v in Kazakh; ى is i in one and ı in the other), so
//! a statement's Arabic script is read as one or the other
//! ([`ArabicReading::of`]: letters only one of them uses, then the stated
//! language). A query is folded both ways and matches if either key does.
//!
//! Digits in Arabic-Indic and full-width forms become ASCII digits, and
//! full-width Latin letters ASCII ones; apostrophes are dropped (ULY writes
//! one where the Arabic script has a hamza, which the key drops).

use std::collections::HashMap;
use std::sync::LazyLock;

use unicode_normalization::UnicodeNormalization;

/// How the Arabic-script letters of a text are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArabicReading {
    Uyghur,
    Kazakh,
}

impl ArabicReading {
    /// Reads `text` as Kazakh when it holds more letters only Kazakh uses
    /// (the high hamza ٴ and the hamza-carrying vowels, ع, ح) than letters
    /// only Uyghur uses (ئ, ې, ۈ, خ); on a tie, as the stated `language`
    /// says (a tag or name starting with kk, Kazakh, Қазақ or قازاق);
    /// otherwise as Uyghur.
    pub fn of(text: &str, language: &str) -> ArabicReading {
        let (mut kazakh, mut uyghur) = (0usize, 0usize);
        for c in text.chars() {
            match c {
                '\u{0674}'..='\u{0678}' | 'ع' | 'ح' => kazakh += 1,
                'ئ' | 'ې' | 'ۈ' | 'خ' => uyghur += 1,
                _ => {}
            }
        }
        let stated_kazakh = {
            let l = language.trim().to_lowercase();
            l.starts_with("kk") || l.starts_with("kazak") || l.starts_with("қазақ") || l.starts_with("قازاق")
        };
        if kazakh > uyghur || (kazakh == uyghur && stated_kazakh) {
            ArabicReading::Kazakh
        } else {
            ArabicReading::Uyghur
        }
    }
}

/// The key of a statement's text, its Arabic script read as `reading`.
pub fn key(text: &str, reading: ArabicReading) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.nfc().flat_map(char::to_lowercase) {
        push_folded(&mut out, c, reading);
    }
    out
}

/// The keys of a query: its Arabic script read both ways (one key when
/// both readings give the same). An entry matches when its key holds any.
pub fn query_keys(query: &str) -> Vec<String> {
    let query = query.trim();
    if query.is_empty() {
        return Vec::new();
    }
    let mut keys = vec![key(query, ArabicReading::Uyghur)];
    let kazakh = key(query, ArabicReading::Kazakh);
    if kazakh != keys[0] {
        keys.push(kazakh);
    }
    keys
}

fn push_folded(out: &mut String, c: char, reading: ArabicReading) {
    match c {
        '\'' | '\u{2019}' | '\u{02BC}' => {}
        '\u{0660}'..='\u{0669}' => out.push(char::from(b'0' + (c as u32 - 0x0660) as u8)),
        '\u{06F0}'..='\u{06F9}' => out.push(char::from(b'0' + (c as u32 - 0x06F0) as u8)),
        '\u{FF10}'..='\u{FF19}' => out.push(char::from(b'0' + (c as u32 - 0xFF10) as u8)),
        '\u{FF21}'..='\u{FF3A}' => out.push(char::from(b'a' + (c as u32 - 0xFF21) as u8)),
        '\u{FF41}'..='\u{FF5A}' => out.push(char::from(b'a' + (c as u32 - 0xFF41) as u8)),
        // ULY's é, as some keyboards give it.
        'ë' => out.push('é'),
        '\u{0400}'..='\u{04FF}' => match kazakh_cyrillic(c) {
            Some(latin) => out.push_str(latin),
            None => out.push(c),
        },
        '\u{0600}'..='\u{06FF}' => {
            let latin = match reading {
                ArabicReading::Uyghur => uyghur_arabic(c),
                ArabicReading::Kazakh => kazakh_arabic(c),
            };
            match latin {
                Some(latin) => out.push_str(latin),
                None => out.push(c),
            }
        }
        '\u{3400}'..='\u{9FFF}' | '\u{F900}'..='\u{FAFF}' | '\u{20000}'..='\u{3134F}' => {
            out.push(SIMPLIFIED.get(&c).copied().unwrap_or(c))
        }
        _ => out.push(c),
    }
}

/// Traditional → Simplified, one character to one character (OpenCC's
/// TSCharacters; where it offers several, the first, its usual one).
static SIMPLIFIED: LazyLock<HashMap<char, char>> = LazyLock::new(|| {
    hanconv::Dictionary::TSCharacters
        .iter()
        .filter_map(|(traditional, simplified)| {
            let mut t = traditional.chars();
            let mut s = simplified.chars();
            match (t.next(), t.next(), s.next(), s.next()) {
                (Some(t), None, Some(s), None) if t != s => Some((t, s)),
                _ => None,
            }
        })
        .collect()
});

/// Uyghur Arabic script → ULY. The hamza carrier ئ and the hamza are
/// dropped (ULY writes nothing at the start of a word, an apostrophe
/// inside one). ک (keheh, from Persian keyboards) reads as ك.
fn uyghur_arabic(c: char) -> Option<&'static str> {
    Some(match c {
        'ا' => "a",
        'ە' => "e",
        'ب' => "b",
        'پ' => "p",
        'ت' => "t",
        'ج' => "j",
        'چ' => "ch",
        'خ' => "x",
        'د' => "d",
        'ر' => "r",
        'ز' => "z",
        'ژ' => "zh",
        'س' => "s",
        'ش' => "sh",
        'غ' => "gh",
        'ف' => "f",
        'ق' => "q",
        'ك' | 'ک' => "k",
        'گ' => "g",
        'ڭ' => "ng",
        'ل' => "l",
        'م' => "m",
        'ن' => "n",
        'ھ' => "h",
        'و' => "o",
        'ۇ' => "u",
        'ۆ' => "ö",
        'ۈ' => "ü",
        'ۋ' => "w",
        'ې' => "é",
        'ى' => "i",
        'ي' => "y",
        'ئ' | 'ء' => "",
        '،' => ",",
        '؛' => ";",
        '؟' => "?",
        _ => return None,
    })
}

/// Kazakh Arabic script (töte jazuw) → the plain Latin both Kazakh
/// scripts meet in. The high hamza ٴ only marks a front-vowel word.
fn kazakh_arabic(c: char) -> Option<&'static str> {
    Some(match c {
        'ا' | 'ٵ' => "a",
        'ە' => "e",
        'ب' => "b",
        'ۆ' => "v",
        'گ' => "g",
        'ع' => "gh",
        'د' => "d",
        'ج' => "j",
        'ز' => "z",
        'ي' => "y",
        'ك' | 'ک' => "k",
        'ق' => "q",
        'ل' => "l",
        'م' => "m",
        'ن' => "n",
        'ڭ' => "ng",
        'و' | 'ٶ' => "o",
        'پ' => "p",
        'ر' => "r",
        'س' => "s",
        'ت' => "t",
        'ۋ' => "w",
        'ۇ' | 'ٷ' => "u",
        'ف' => "f",
        'ح' | 'ھ' => "h",
        'چ' => "ch",
        'ش' => "sh",
        'ى' | 'ٸ' => "i",
        'ٴ' | 'ء' | 'ئ' => "",
        '،' => ",",
        '؛' => ";",
        '؟' => "?",
        _ => return None,
    })
}

/// Kazakh Cyrillic (lower case; the Russian letters among them) → the
/// same plain Latin. None for a Cyrillic letter Kazakh does not use.
fn kazakh_cyrillic(c: char) -> Option<&'static str> {
    Some(match c {
        'а' | 'ә' => "a",
        'б' => "b",
        'в' => "v",
        'г' => "g",
        'ғ' => "gh",
        'д' => "d",
        'е' | 'э' => "e",
        'ё' => "yo",
        'ж' => "j",
        'з' => "z",
        'и' | 'й' => "y",
        'к' => "k",
        'қ' => "q",
        'л' => "l",
        'м' => "m",
        'н' => "n",
        'ң' => "ng",
        'о' | 'ө' => "o",
        'п' => "p",
        'р' => "r",
        'с' => "s",
        'т' => "t",
        'у' => "w",
        'ұ' | 'ү' => "u",
        'ф' => "f",
        'х' | 'һ' => "h",
        'ц' => "ts",
        'ч' => "ch",
        'ш' => "sh",
        'щ' => "shch",
        'ъ' | 'ь' => "",
        'ы' | 'і' => "i",
        'ю' => "yw",
        'я' => "ya",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(query: &str, text: &str, language: &str) -> bool {
        let text_key = key(text, ArabicReading::of(text, language));
        query_keys(query).iter().any(|q| text_key.contains(q.as_str()))
    }

    /// Both ways: each word finds the other.
    fn meet(a: &str, b: &str, language: &str) {
        assert!(found(a, b, language), "{a:?} does not find {b:?}");
        assert!(found(b, a, language), "{b:?} does not find {a:?}");
    }

    #[test]
    fn simplified_and_traditional_chinese_find_each_other() {
        meet("医院", "醫院", "");
        assert!(found("医院", "他被送到醫院", ""));
        assert!(found("醫院", "他被送到医院", ""));
        assert!(found("维吾尔", "維吾爾族", ""));
        meet("劳教所", "勞教所", "");
        meet("东突厥斯坦", "東突厥斯坦", "");
        meet("台湾", "臺灣", "");
        // Character by character: a piece of a phrase is still found.
        assert!(found("乾", "乾隆", ""));
        assert!(!found("医院", "学校", ""));
    }

    #[test]
    fn uly_finds_uyghur_arabic_script_and_back() {
        meet("Ürümchi", "ئۈرۈمچى", "ug");
        assert!(found("Ürümchi", "ئۈرۈمچىدە تۇتۇلدۇم", "ug"));
        meet("lagér", "لاگېر", "ug");
        assert!(found("lagér", "لاگېردا ئۈچ يىل", "ug"));
        meet("doxtur", "دوختۇر", "ug");
        meet("qeshqer", "قەشقەر", "ug");
        meet("uyghur", "ئۇيغۇر", "ug");
        meet("sa'et", "سائەت", "ug");
        meet("ghulja", "غۇلجا", "ug");
        meet("xoten", "خوتەن", "ug");
        meet("téléfon", "تېلېفون", "ug");
        // Some keyboards give ULY's é as ë.
        assert!(found("tëlëfon", "تېلېفون", "ug"));
    }

    #[test]
    fn kazakh_cyrillic_finds_kazakh_arabic_script_and_back() {
        meet("аурухана", "اۋرۋحانا", "kk-Arab");
        assert!(found("аурухана", "اۋرۋحاناعا اپاردى", "kk-Arab"));
        meet("Алматы", "الماتى", "kk-Arab");
        assert!(found("Алматы", "الماتىدا", "kk-Arab"));
        meet("қазақ", "قازاق", "kk-Arab");
        meet("түрме", "ٴتۇرمە", "kk-Arab");
        meet("оқу", "وقۋ", "kk-Arab");
        meet("кино", "كينو", "kk-Arab");
        meet("мектеп", "مەكتەپ", "kk-Arab");
        meet("Қытай", "قىتاي", "kk-Arab");
        meet("ауыл", "اۋىل", "kk-Arab");
        meet("кісі", "ٴكىسى", "kk-Arab");
        meet("өмір", "ٶمىر", "kk-Arab");
        meet("ғалым", "عالىم", "kk-Arab");
        meet("лагерь", "لاگەر", "kk-Arab");
    }

    #[test]
    fn distinct_uyghur_letters_stay_distinct_in_the_key() {
        let uy = ArabicReading::Uyghur;
        for (a, b) in [("ھ", "ه"), ("ە", "ې"), ("ې", "ى"), ("ە", "ه"), ("ۆ", "ۈ"), ("و", "ۇ")] {
            assert_ne!(key(a, uy), key(b, uy), "{a} and {b}");
        }
        assert!(!found("تېلېفون", "تەلەفون", "ug"), "ې is not ە");
        // Plain Arabic heh is not Uyghur's ھ and is left as it is.
        assert_eq!(key("ه", uy), "ه");
    }

    #[test]
    fn the_reading_comes_from_the_letters_then_the_stated_language() {
        assert_eq!(ArabicReading::of("ٴتۇرمە", "ug"), ArabicReading::Kazakh);
        assert_eq!(ArabicReading::of("ئۈرۈمچى", "kk-Arab"), ArabicReading::Uyghur);
        assert_eq!(ArabicReading::of("قازاق", "kk-Arab"), ArabicReading::Kazakh);
        assert_eq!(ArabicReading::of("قازاق", "Қазақ тілі"), ArabicReading::Kazakh);
        assert_eq!(ArabicReading::of("قازاق", ""), ArabicReading::Uyghur);
    }

    #[test]
    fn digits_and_full_width_letters_fold_to_ascii() {
        assert!(found("2018", "٢٠١٨ يىلى", "ug"));
        meet("2018", "۲۰۱۸", "");
        assert!(found("2018", "２０１８年", ""));
        meet("abc", "ＡＢＣ", "");
    }

    #[test]
    fn a_piece_of_a_text_always_finds_the_text() {
        // The key of a piece is a piece of the key, for every script here.
        let texts = [
            "ئۇلار بىزنى كېچىسى ئېلىپ كەتتى",
            "他們把我們帶到醫院",
            "Ürümqi 2018",
            "ཁྲིད་སོང་",
            "ٴبىزدى اۋرۋحاناعا",
            "ауылдан кино",
        ];
        for text in texts {
            let whole = key(text, ArabicReading::of(text, ""));
            let chars: Vec<char> = text.chars().collect();
            for start in 0..chars.len() {
                for end in start + 1..=chars.len() {
                    let piece: String = chars[start..end].iter().collect();
                    if piece.trim().is_empty() {
                        continue;
                    }
                    let keys = query_keys(&piece);
                    assert!(keys.iter().any(|k| whole.contains(k.as_str())), "{piece:?} in {text:?}");
                }
            }
        }
    }

    #[test]
    fn tibetan_latin_and_greek_are_only_lower_cased() {
        assert_eq!(key("ΑΒΓ", ArabicReading::Uyghur), "αβγ");
        assert_eq!(key("ལྷ་ས", ArabicReading::Uyghur), "ལྷ་ས");
        assert_eq!(key("Ürümqi", ArabicReading::Uyghur), "ürümqi");
        assert_eq!(key("Ü", ArabicReading::Uyghur), key("U\u{308}", ArabicReading::Uyghur));
    }
}
