//! Every word a witness reads goes through here. Messages are Fluent
//! (`locales/<lang>.ftl`, compiled into the binary). The language comes
//! from `?lang=`, else `Accept-Language`, else English; a language whose
//! catalogue is not written yet falls back to English, page and all, so the
//! page's `lang` always names the language its text is in.

use std::collections::HashMap;
use std::sync::LazyLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};

/// The languages of the contract. Codes are BCP 47 tags.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Lang {
    En,
    ZhHans,
    ZhHant,
    Ug,
    KkArab,
    KkCyrl,
    Bo,
}

impl Lang {
    pub const ALL: [Lang; 7] = [Lang::En, Lang::ZhHans, Lang::ZhHant, Lang::Ug, Lang::KkArab, Lang::KkCyrl, Lang::Bo];

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::ZhHans => "zh-Hans",
            Lang::ZhHant => "zh-Hant",
            Lang::Ug => "ug",
            Lang::KkArab => "kk-Arab",
            Lang::KkCyrl => "kk-Cyrl",
            Lang::Bo => "bo",
        }
    }

    /// The language's name in itself, for the language menu.
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::ZhHans => "简体中文",
            Lang::ZhHant => "繁體中文",
            Lang::Ug => "ئۇيغۇرچە",
            Lang::KkArab => "قازاقشا",
            Lang::KkCyrl => "Қазақша",
            Lang::Bo => "བོད་ཡིག",
        }
    }

    pub fn is_rtl(self) -> bool {
        matches!(self, Lang::Ug | Lang::KkArab)
    }

    pub fn from_code(code: &str) -> Option<Lang> {
        let code = code.trim();
        Lang::ALL.into_iter().find(|l| l.code().eq_ignore_ascii_case(code))
    }

    /// Maps an `Accept-Language` tag to one of ours: `zh-CN` → zh-Hans,
    /// `zh-TW` → zh-Hant, `kk` → kk-Cyrl, `ug-CN` → ug, …
    fn from_accept_tag(tag: &str) -> Option<Lang> {
        let tag = tag.trim().to_ascii_lowercase();
        if let Some(lang) = Lang::from_code(&tag) {
            return Some(lang);
        }
        let mut parts = tag.split('-');
        let primary = parts.next()?;
        let rest: Vec<&str> = parts.collect();
        match primary {
            "en" => Some(Lang::En),
            "zh" if rest.iter().any(|p| matches!(*p, "hant" | "tw" | "hk" | "mo")) => Some(Lang::ZhHant),
            "zh" => Some(Lang::ZhHans),
            "ug" => Some(Lang::Ug),
            "kk" if rest.iter().any(|p| matches!(*p, "arab" | "cn")) => Some(Lang::KkArab),
            "kk" => Some(Lang::KkCyrl),
            "bo" => Some(Lang::Bo),
            _ => None,
        }
    }
}

/// Picks the language: an explicit choice first, then the browser's list
/// in order of preference, then English. Only languages with a catalogue
/// are chosen.
pub fn negotiate(explicit: Option<&str>, accept_language: Option<&str>) -> Lang {
    if let Some(lang) = explicit.and_then(Lang::from_code).filter(|l| CATALOGUES.contains_key(l)) {
        return lang;
    }
    let mut ranked: Vec<(f32, Lang)> = accept_language
        .unwrap_or("")
        .split(',')
        .filter_map(|item| {
            let mut parts = item.split(';');
            let lang = Lang::from_accept_tag(parts.next()?)?;
            let q = parts.find_map(|p| p.trim().strip_prefix("q=").and_then(|q| q.parse::<f32>().ok())).unwrap_or(1.0);
            Some((q, lang))
        })
        .filter(|(q, lang)| *q > 0.0 && CATALOGUES.contains_key(lang))
        .collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
    ranked.first().map(|(_, l)| *l).unwrap_or(Lang::En)
}

type Bundle = FluentBundle<FluentResource>;

fn bundle(lang: Lang, source: &'static str) -> Bundle {
    // Invariant: the catalogues are compiled in and checked by the tests
    // (`every_catalogue_parses`); a broken one must stop the build's tests,
    // not a witness's page.
    #[allow(clippy::expect_used)]
    let resource = FluentResource::try_new(source.to_string()).expect("a catalogue failed to parse");
    #[allow(clippy::expect_used)]
    let id = lang.code().parse().expect("our language codes are valid BCP 47");
    let mut bundle = FluentBundle::new_concurrent(vec![id]);
    #[allow(clippy::expect_used)]
    bundle.add_resource(resource).expect("a message is defined twice");
    bundle
}

/// Every catalogue's text, compiled in. English is the source; every other
/// one is a draft until a native speaker from the community has reviewed
/// it (each file's header says how it was made), and its pages say so.
pub const SOURCES: &[(Lang, &str)] = &[
    (Lang::En, include_str!("../locales/en.ftl")),
    (Lang::ZhHans, include_str!("../locales/zh-Hans.ftl")),
    (Lang::ZhHant, include_str!("../locales/zh-Hant.ftl")),
    (Lang::Ug, include_str!("../locales/ug.ftl")),
    (Lang::KkCyrl, include_str!("../locales/kk-Cyrl.ftl")),
    (Lang::KkArab, include_str!("../locales/kk-Arab.ftl")),
    (Lang::Bo, include_str!("../locales/bo.ftl")),
];

/// Languages whose catalogue a native speaker from the community has
/// reviewed. None yet: do not add one without that review.
const REVIEWED: &[Lang] = &[Lang::En];

static CATALOGUES: LazyLock<HashMap<Lang, Bundle>> =
    LazyLock::new(|| SOURCES.iter().map(|(lang, source)| (*lang, bundle(*lang, source))).collect());

/// The languages that have a catalogue, for the language menu.
pub fn available() -> Vec<Lang> {
    Lang::ALL.into_iter().filter(|l| CATALOGUES.contains_key(l)).collect()
}

/// Messages in one language, for one page.
#[derive(Clone, Copy)]
pub struct Tr {
    pub lang: Lang,
}

impl Tr {
    pub fn new(lang: Lang) -> Tr {
        let lang = if CATALOGUES.contains_key(&lang) { lang } else { Lang::En };
        Tr { lang }
    }

    /// The message `id`, or its id in brackets if it is missing (a test
    /// checks that every id the templates use exists).
    pub fn t(&self, id: &str) -> String {
        self.format(id, None)
    }

    /// The message `id` with one numeric or text argument.
    pub fn t1(&self, id: &str, name: &str, value: impl ToString) -> String {
        let mut args = FluentArgs::new();
        let text = value.to_string();
        // Whole numbers go in as numbers, so Fluent's plural categories
        // ("1 minute", "5 minutes") select on them; anything else as text.
        let value = match text.parse::<i64>() {
            Ok(n) => FluentValue::from(n),
            Err(_) => FluentValue::from(text),
        };
        args.set(name, value);
        self.format(id, Some(&args))
    }

    /// Whether the message exists (for optional help texts).
    pub fn has(&self, id: &str) -> bool {
        self.bundle().has_message(id)
    }

    fn bundle(&self) -> &'static Bundle {
        // Invariant: English is always in the map, and `new` only keeps
        // languages that are.
        #[allow(clippy::expect_used)]
        CATALOGUES.get(&self.lang).or_else(|| CATALOGUES.get(&Lang::En)).expect("the English catalogue exists")
    }

    fn format(&self, id: &str, args: Option<&FluentArgs<'_>>) -> String {
        let bundle = self.bundle();
        let Some(pattern) = bundle.get_message(id).and_then(|m| m.value()) else {
            tracing::warn!(id, "missing message");
            return format!("[{id}]");
        };
        let mut errors = vec![];
        bundle.format_pattern(pattern, args, &mut errors).into_owned()
    }

    /// Whether this page's language is an unreviewed draft: every witness
    /// page then says so, in that language (`draft-notice`).
    pub fn is_draft(&self) -> bool {
        !REVIEWED.contains(&self.lang)
    }

    pub fn html_lang(&self) -> &'static str {
        self.lang.code()
    }

    pub fn is_rtl(&self) -> bool {
        self.lang.is_rtl()
    }

    /// The other languages a page can be switched to: (code, native name).
    pub fn others(&self) -> Vec<(&'static str, &'static str)> {
        available().into_iter().filter(|l| *l != self.lang).map(|l| (l.code(), l.native_name())).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalogue_parses() {
        assert!(CATALOGUES.contains_key(&Lang::En));
        assert_ne!(Tr::new(Lang::En).t("site-title"), "[site-title]");
    }

    #[test]
    fn explicit_choice_wins_then_accept_language_then_english() {
        assert_eq!(negotiate(Some("en"), Some("zh-CN")), Lang::En);
        assert_eq!(negotiate(None, None), Lang::En);
        assert_eq!(negotiate(Some("xx"), Some("fr, de;q=0.5")), Lang::En);
    }

    #[test]
    fn accept_language_tags_map_to_our_languages() {
        assert_eq!(Lang::from_accept_tag("zh-CN"), Some(Lang::ZhHans));
        assert_eq!(Lang::from_accept_tag("zh-TW"), Some(Lang::ZhHant));
        assert_eq!(Lang::from_accept_tag("zh-Hant-HK"), Some(Lang::ZhHant));
        assert_eq!(Lang::from_accept_tag("ug-CN"), Some(Lang::Ug));
        assert_eq!(Lang::from_accept_tag("kk"), Some(Lang::KkCyrl));
        assert_eq!(Lang::from_accept_tag("kk-Arab"), Some(Lang::KkArab));
        assert_eq!(Lang::from_accept_tag("bo-CN"), Some(Lang::Bo));
        assert_eq!(Lang::from_accept_tag("fr"), None);
    }

    #[test]
    fn right_to_left_scripts_are_marked() {
        assert!(Lang::Ug.is_rtl() && Lang::KkArab.is_rtl());
        assert!(!Lang::KkCyrl.is_rtl() && !Lang::Bo.is_rtl() && !Lang::En.is_rtl());
    }

    #[test]
    fn missing_messages_show_their_id() {
        assert_eq!(Tr::new(Lang::En).t("no-such-message"), "[no-such-message]");
    }
}
