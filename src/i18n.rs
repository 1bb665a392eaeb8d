//! Every word a witness or a reviewer reads goes through here. Messages
//! are Fluent, compiled into the binary, in two sets of catalogues:
//!
//! - the witness's pages (`locales/<lang>.ftl`, [`Tr::new`]). The language
//!   comes from `?lang=`, else `Accept-Language`, else English; a language
//!   whose catalogue is not written yet falls back to English, page and
//!   all, so the page's `lang` always names the language its text is in;
//! - the reviewers' and administrators' pages (`locales/review/<lang>.ftl`,
//!   [`Tr::review`]): English only for now, so they can be translated later.
//!
//! A refusal that crosses layers (the case layer's, the administration's)
//! is a [`Message`], an id and its arguments, formatted by the page that
//! shows it. Its `Display` is the English text, for logs and the command
//! line.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::fmt;
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

/// Which pages a catalogue is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    /// The witness's pages, in every language of the contract.
    Witness,
    /// The reviewers' and administrators' pages: English only for now.
    Review,
}

fn bundle(lang: Lang, source: &'static str, side: Side) -> Bundle {
    // Invariant: the catalogues are compiled in and checked by the tests
    // (`every_catalogue_parses`); a broken one must stop the build's tests,
    // not a witness's page.
    #[allow(clippy::expect_used)]
    let resource = FluentResource::try_new(source.to_string()).expect("a catalogue failed to parse");
    #[allow(clippy::expect_used)]
    let id = lang.code().parse().expect("our language codes are valid BCP 47");
    let mut bundle = FluentBundle::new_concurrent(vec![id]);
    // The review pages isolate names and numbers in their markup (`<bdi>`,
    // `dir`, and `<bdi>` inside the catalogue's `-html` messages), and
    // their text is plain English without invisible marks around every
    // number; the witness's pages keep Fluent's isolation marks.
    bundle.set_use_isolating(side == Side::Witness);
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

/// The reviewer interface's catalogues: English, the source. Translations
/// of the review side are not started; one added here is a draft (see
/// [`Tr::is_draft`]) until a native speaker has reviewed it.
pub const REVIEW_SOURCES: &[(Lang, &str)] = &[(Lang::En, include_str!("../locales/review/en.ftl"))];

/// Languages whose catalogue a native speaker from the community has
/// reviewed. None yet: do not add one without that review.
const REVIEWED: &[Lang] = &[Lang::En];

fn compile(sources: &'static [(Lang, &'static str)], side: Side) -> HashMap<Lang, Bundle> {
    sources.iter().map(|(lang, source)| (*lang, bundle(*lang, source, side))).collect()
}

static CATALOGUES: LazyLock<HashMap<Lang, Bundle>> = LazyLock::new(|| compile(SOURCES, Side::Witness));
static REVIEW_CATALOGUES: LazyLock<HashMap<Lang, Bundle>> = LazyLock::new(|| compile(REVIEW_SOURCES, Side::Review));

fn catalogues(side: Side) -> &'static HashMap<Lang, Bundle> {
    match side {
        Side::Witness => &CATALOGUES,
        Side::Review => &REVIEW_CATALOGUES,
    }
}

/// The languages that have a catalogue, for the language menu.
pub fn available() -> Vec<Lang> {
    Lang::ALL.into_iter().filter(|l| CATALOGUES.contains_key(l)).collect()
}

/// One argument of a message.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Arg {
    /// Text, or a whole number (which Fluent's plural forms select on).
    Value(String),
    /// Another message of the same catalogue, formatted first: a state's
    /// or a flag's name inside a sentence.
    Message(&'static str),
}

/// A message to format later, by the page that shows it and in its
/// reader's language: an id of the reviewer catalogue and its arguments.
/// The case layer and the administration say why they refused with one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    id: &'static str,
    args: Vec<(&'static str, Arg)>,
}

impl Message {
    pub fn new(id: &'static str) -> Message {
        Message { id, args: Vec::new() }
    }

    /// With the argument `$name`: text, or a number.
    pub fn arg(mut self, name: &'static str, value: impl ToString) -> Message {
        self.args.push((name, Arg::Value(value.to_string())));
        self
    }

    /// With the argument `$name` the message `id` of the same catalogue.
    pub fn arg_message(mut self, name: &'static str, id: &'static str) -> Message {
        self.args.push((name, Arg::Message(id)));
        self
    }

    pub fn id(&self) -> &'static str {
        self.id
    }
}

/// The English text (logs, the command line, `#[error]` texts); a page
/// formats the message with its own [`Tr`].
impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&Tr::review(Lang::En).message(self))
    }
}

impl std::error::Error for Message {}

/// HTML made by [`Tr::markup`]: a template shows it with `|safe`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Markup(String);

impl Markup {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Markup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `text` with the five characters HTML gives a meaning escaped.
fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

/// The suffix of the ids whose text is HTML (a `<bdi>`, a `<span id>`
/// around a count); only [`Tr::markup`] shows them as HTML.
pub const HTML_SUFFIX: &str = "-html";

/// Messages in one language, for one page: the witness's catalogue
/// ([`Tr::new`]) or the reviewers' ([`Tr::review`]).
#[derive(Clone, Copy)]
pub struct Tr {
    pub lang: Lang,
    side: Side,
}

impl Tr {
    /// The witness's messages in `lang` (English if it has no catalogue).
    pub fn new(lang: Lang) -> Tr {
        Tr::of(Side::Witness, lang)
    }

    /// The reviewers' messages in `lang` (English if it has no catalogue,
    /// which is every other language for now).
    pub fn review(lang: Lang) -> Tr {
        Tr::of(Side::Review, lang)
    }

    fn of(side: Side, lang: Lang) -> Tr {
        let lang = if catalogues(side).contains_key(&lang) { lang } else { Lang::En };
        Tr { lang, side }
    }

    pub fn side(&self) -> Side {
        self.side
    }

    /// The message `id`, or its id in brackets if it is missing (a test
    /// checks that every id the templates use exists).
    pub fn t(&self, id: &str) -> String {
        self.format(id, &[], false)
    }

    /// The message `id` with one numeric or text argument.
    pub fn t1(&self, id: &str, name: &str, value: impl ToString) -> String {
        self.format(id, &[(name, Arg::Value(value.to_string()))], false)
    }

    /// The message `id` with two arguments.
    pub fn t2(&self, id: &str, name: &str, value: impl ToString, name2: &str, value2: impl ToString) -> String {
        self.format(id, &[(name, Arg::Value(value.to_string())), (name2, Arg::Value(value2.to_string()))], false)
    }

    /// A [`Message`] as text (escaped by the template like any text).
    /// Takes one by reference or by value (templates build them inline).
    pub fn message(&self, message: impl Borrow<Message>) -> String {
        let message = message.borrow();
        self.format(message.id, &Self::args_of(message), false)
    }

    /// A [`Message`] as HTML: the catalogue's own markup for ids ending in
    /// [`HTML_SUFFIX`], every argument escaped; any other message escaped
    /// whole. Safe to show unescaped either way.
    pub fn markup(&self, message: impl Borrow<Message>) -> Markup {
        let message = message.borrow();
        if message.id.ends_with(HTML_SUFFIX) {
            Markup(self.format(message.id, &Self::args_of(message), true))
        } else {
            Markup(escape_html(&self.message(message)))
        }
    }

    fn args_of(message: &Message) -> Vec<(&str, Arg)> {
        message.args.iter().map(|(name, arg)| (*name, arg.clone())).collect()
    }

    /// Whether the message exists (for optional help texts).
    pub fn has(&self, id: &str) -> bool {
        self.bundle().has_message(id)
    }

    fn bundle(&self) -> &'static Bundle {
        // Invariant: English is in both maps, and `of` only keeps
        // languages that are.
        let map = catalogues(self.side);
        #[allow(clippy::expect_used)]
        map.get(&self.lang).or_else(|| map.get(&Lang::En)).expect("the English catalogue exists")
    }

    /// The one formatter of both catalogues. `html`: the arguments are
    /// escaped, the pattern's own text is kept as written (markup).
    fn format(&self, id: &str, args: &[(&str, Arg)], html: bool) -> String {
        let bundle = self.bundle();
        let Some(pattern) = bundle.get_message(id).and_then(|m| m.value()) else {
            tracing::warn!(id, "missing message");
            return format!("[{id}]");
        };
        let mut fluent_args = FluentArgs::new();
        for (name, arg) in args {
            let text = match arg {
                Arg::Value(text) => text.clone(),
                Arg::Message(id) => self.format(id, &[], false),
            };
            // Whole numbers go in as numbers, so Fluent's plural categories
            // ("1 minute", "5 minutes") select on them; anything else as
            // text ("007" stays text: it would come out as "7").
            let value = match text.parse::<i64>() {
                Ok(n) if n.to_string() == text => FluentValue::from(n),
                _ if html => FluentValue::from(escape_html(&text)),
                _ => FluentValue::from(text),
            };
            fluent_args.set(name.to_string(), value);
        }
        let mut errors = vec![];
        let args = if args.is_empty() { None } else { Some(&fluent_args) };
        bundle.format_pattern(pattern, args, &mut errors).into_owned()
    }

    /// Whether this page's language is an unreviewed draft: every witness
    /// page then says so, in that language (`draft-notice`). The review
    /// side is English, its source, only.
    pub fn is_draft(&self) -> bool {
        match self.side {
            Side::Witness => !REVIEWED.contains(&self.lang),
            Side::Review => self.lang != Lang::En,
        }
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
        assert_eq!(Tr::review(Lang::En).t("no-such-message"), "[no-such-message]");
        assert_eq!(Tr::review(Lang::En).message(Message::new("no-such-message")), "[no-such-message]");
    }

    #[test]
    fn the_review_side_is_english_for_every_language_for_now() {
        assert!(REVIEW_CATALOGUES.contains_key(&Lang::En));
        for lang in Lang::ALL {
            let t = Tr::review(lang);
            assert_eq!(t.lang, Lang::En);
            assert!(!t.is_draft());
            assert_eq!(t.side(), Side::Review);
        }
        assert_eq!(Tr::review(Lang::En).t("site-name"), "testimony review");
        // The two sides are separate catalogues.
        assert!(!Tr::new(Lang::En).has("site-name"));
        assert!(!Tr::review(Lang::En).has("site-title"));
    }

    #[test]
    fn review_messages_have_no_isolation_marks_and_plural_forms() {
        let t = Tr::review(Lang::En);
        let one = t.message(Message::new("list-matching").arg("count", 1).arg("page", 1).arg("pages", 2));
        let many = t.message(Message::new("list-matching").arg("count", 40).arg("page", 1).arg("pages", 2));
        assert_eq!(one, "1 statement · page 1 of 2");
        assert_eq!(many, "40 statements · page 1 of 2");
        assert_eq!(t.t1("accounts-now-enabled", "name", "007"), "007 is enabled again.", "not a number");
    }

    #[test]
    fn markup_escapes_arguments_and_plain_messages() {
        let t = Tr::review(Lang::En);
        let html = t.markup(Message::new("partners-added-html").arg("name", "<b>&"));
        assert_eq!(html.as_str(), "<bdi>&lt;b&gt;&amp;</bdi> can now receive case bundles.");
        let plain = t.markup(Message::new("accounts-now-enabled").arg("name", "<i>"));
        assert_eq!(plain.as_str(), "&lt;i&gt; is enabled again.");
    }

    #[test]
    fn a_message_argument_can_be_another_message() {
        let m = Message::new("case-state-needs-sharing-consent").arg_message("state", "state-referred");
        assert!(m.to_string().starts_with("\u{201c}Referred\u{201d} means passing"), "{m}");
    }
}
