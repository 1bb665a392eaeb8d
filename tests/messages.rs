//! Every message the pages and the form ask for exists in the English
//! catalogue: a missing one would show a witness a bare id.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use testimony::i18n::{Lang, Tr};
use testimony::intake::schema::{self, Kind, PARTS};

fn ids_in_templates() -> Vec<String> {
    let mut ids = Vec::new();
    // The witness-facing templates; those under review/ are English only.
    for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/templates")).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            continue;
        }
        let text = std::fs::read_to_string(path).unwrap();
        for marker in ["t.t(\"", "t.t1(\""] {
            for rest in text.split(marker).skip(1) {
                ids.push(rest.split('"').next().unwrap().to_string());
            }
        }
    }
    ids
}

/// String literals in the intake code that name messages (`"e-…"`,
/// `"busy-title"`, …): every literal whose prefix is a message family.
fn ids_in_code() -> Vec<String> {
    const FAMILIES: [&str; 17] = [
        "e-",
        "toolarge-",
        "toomanyfiles-",
        "busy-",
        "disklow-",
        "slow-",
        "broken-",
        "failed-",
        "throttled-",
        "receipt-",
        "answer-",
        "files-",
        "consent-",
        "withdraw-",
        "withdrawn-",
        "manifest-",
        "notfound-",
    ];
    let mut ids = Vec::new();
    for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/src/intake")).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for (i, literal) in text.split('"').enumerate() {
            let is_id = i % 2 == 1
                && FAMILIES.iter().any(|f| literal.starts_with(f))
                && literal.chars().all(|c| c.is_ascii_lowercase() || c == '-' || c == '_');
            if is_id {
                ids.push(literal.to_string());
            }
        }
    }
    ids
}

fn ids_of_the_form() -> Vec<String> {
    let mut ids = Vec::new();
    for part in PARTS.iter() {
        ids.push(format!("part-{}", part.id));
        for group in &part.groups {
            if !group.heading.is_empty() {
                ids.push(group.heading.clone());
            }
            for field in &group.fields {
                ids.push(format!("f-{}", field.base));
                if let Kind::Choice { vocab, .. } | Kind::Multi { vocab } = field.kind {
                    ids.extend(vocab.codes.iter().map(|code| format!("v-{}-{code}", vocab.id)));
                }
            }
        }
    }
    for state in testimony::review::triage::STATES {
        ids.push(format!("state-{state}"));
    }
    ids.extend(schema::METADATA_CHOICE.codes.iter().map(|c| format!("v-metadata-{c}")));
    ids
}

#[test]
fn every_message_used_exists_in_english() {
    let t = Tr::new(Lang::En);
    let mut missing: Vec<String> =
        ids_in_templates().into_iter().chain(ids_in_code()).chain(ids_of_the_form()).filter(|id| !t.has(id)).collect();
    missing.sort();
    missing.dedup();
    assert!(missing.is_empty(), "missing messages: {missing:?}");
}

#[test]
fn the_check_finds_ids_at_all() {
    assert!(ids_in_templates().len() > 50);
    assert!(ids_of_the_form().len() > 300);
    assert!(ids_in_code().iter().any(|id| id == "e-too-long"));
    assert!(ids_in_code().iter().any(|id| id == "busy-title"));
}

/// Each message's id and the variables its pattern uses, sorted.
fn messages(source: &str) -> std::collections::BTreeMap<String, Vec<String>> {
    use fluent_syntax::ast::{Entry, Expression, InlineExpression, Pattern, PatternElement};
    fn vars(pattern: &Pattern<&str>, out: &mut Vec<String>) {
        for element in &pattern.elements {
            if let PatternElement::Placeable { expression } = element {
                expression_vars(expression, out);
            }
        }
    }
    fn expression_vars(expression: &Expression<&str>, out: &mut Vec<String>) {
        match expression {
            Expression::Inline(InlineExpression::VariableReference { id }) => out.push(id.name.to_string()),
            Expression::Inline(InlineExpression::Placeable { expression }) => expression_vars(expression, out),
            Expression::Inline(_) => {}
            Expression::Select { selector, variants } => {
                if let InlineExpression::VariableReference { id } = selector {
                    out.push(id.name.to_string());
                }
                for variant in variants {
                    vars(&variant.value, out);
                }
            }
        }
    }
    let resource = fluent_syntax::parser::parse(source).expect("every catalogue parses without errors");
    let mut found = std::collections::BTreeMap::new();
    for entry in resource.body {
        if let Entry::Message(message) = entry {
            let mut used = Vec::new();
            if let Some(pattern) = &message.value {
                vars(pattern, &mut used);
            }
            used.sort();
            used.dedup();
            found.insert(message.id.name.to_string(), used);
        }
    }
    found
}

#[test]
fn every_catalogue_has_every_id_with_the_same_variables() {
    let english = messages(testimony::i18n::SOURCES[0].1);
    let mut problems = Vec::new();
    for (lang, source) in testimony::i18n::SOURCES {
        let catalogue = messages(source);
        let missing: Vec<&String> = english.keys().filter(|id| !catalogue.contains_key(*id)).collect();
        let extra: Vec<&String> = catalogue.keys().filter(|id| !english.contains_key(*id)).collect();
        if !missing.is_empty() {
            problems.push(format!("{}: missing {missing:?}", lang.code()));
        }
        if !extra.is_empty() {
            problems.push(format!("{}: not in en.ftl {extra:?}", lang.code()));
        }
        for (id, vars) in &english {
            if let Some(theirs) = catalogue.get(id)
                && theirs != vars
            {
                problems.push(format!("{}: {id} uses {theirs:?}, en.ftl {vars:?}", lang.code()));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_translation_says_how_it_was_made_and_that_it_is_a_draft() {
    for (lang, source) in &testimony::i18n::SOURCES[1..] {
        let header: String = source.lines().take_while(|l| l.starts_with('#')).collect::<Vec<_>>().join("\n");
        assert!(header.contains("AI model") && header.contains("NOT been reviewed"), "{}: {header}", lang.code());
        let t = Tr::new(*lang);
        assert!(t.is_draft(), "{} is not reviewed: its pages must say so", lang.code());
        assert_ne!(t.t("draft-notice"), Tr::new(Lang::En).t("draft-notice"), "{} notice in its language", lang.code());
    }
    assert!(!Tr::new(Lang::En).is_draft());
}

// --- the reviewer interface ------------------------------------------------------

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The review side's source catalogue.
fn review_source() -> &'static str {
    testimony::i18n::REVIEW_SOURCES[0].1
}

fn review_templates() -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = std::fs::read_dir(format!("{ROOT}/templates/review"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "html"))
        .map(|p| (p.display().to_string(), std::fs::read_to_string(&p).unwrap()))
        .collect();
    found.sort();
    found
}

/// Every `.rs` file under `dir`, with its text.
fn rust_files(dir: &std::path::Path, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push((path.display().to_string(), std::fs::read_to_string(&path).unwrap()));
        }
    }
}

/// The code that can put words on a reviewer page: everything but the
/// witness's listener (`src/intake`, checked above against the witness
/// catalogues) and the message layer itself (its tests ask for missing ids).
fn review_code() -> Vec<(String, String)> {
    let mut files = Vec::new();
    rust_files(std::path::Path::new(&format!("{ROOT}/src")), &mut files);
    files.retain(|(path, _)| !path.contains("/src/intake/") && !path.ends_with("/src/i18n.rs"));
    files
}

/// The ids a text asks for: the first argument of `.t(`, `.t1(`, `.t2(`
/// and `Message::new(`, when it is a literal.
fn ids_asked_for(text: &str) -> Vec<(String, &'static str)> {
    let mut ids = Vec::new();
    for marker in [".t(\"", ".t1(\"", ".t2(\"", "Message::new(\""] {
        for rest in text.split(marker).skip(1) {
            ids.push((rest.split('"').next().unwrap().to_string(), marker));
        }
    }
    ids
}

fn review_ids_used() -> Vec<(String, &'static str)> {
    let mut ids: Vec<(String, &'static str)> =
        review_templates().iter().chain(review_code().iter()).flat_map(|(_, text)| ids_asked_for(text)).collect();
    // The names of the codes (src/case/names.rs), table by table.
    for table in testimony::case::names::TABLES {
        ids.extend(table.iter().map(|(_, id)| (id.to_string(), "names")));
    }
    ids
}

#[test]
fn every_review_message_used_exists_in_the_review_catalogue() {
    let t = Tr::review(Lang::En);
    let mut missing: Vec<String> = review_ids_used().into_iter().map(|(id, _)| id).filter(|id| !t.has(id)).collect();
    missing.sort();
    missing.dedup();
    assert!(missing.is_empty(), "missing in locales/review/en.ftl: {missing:?}");
}

#[test]
fn html_messages_are_shown_as_html_and_only_they() {
    // `t`, `t1` and `t2` give text, escaped by the template: an `-html`
    // message there would show its tags.
    let wrong: Vec<String> = review_ids_used()
        .into_iter()
        .filter(|(id, marker)| id.ends_with(testimony::i18n::HTML_SUFFIX) && *marker != "Message::new(\"")
        .map(|(id, _)| id)
        .collect();
    assert!(wrong.is_empty(), "HTML messages asked for as text: {wrong:?}");
    // And markup in a catalogue is only in `-html` messages.
    for (id, _) in messages(review_source()) {
        let text = Tr::review(Lang::En).t(&id);
        if !id.ends_with(testimony::i18n::HTML_SUFFIX) {
            assert!(!text.contains('<'), "{id} has markup but is not an -html message: {text}");
        }
    }
}

#[test]
fn the_review_check_finds_ids_at_all() {
    let used = review_ids_used();
    assert!(used.len() > 300, "{}", used.len());
    for id in
        ["site-name", "list-matching", "audit-matching-all-html", "case-withdrawn", "form-expired", "state-received"]
    {
        assert!(used.iter().any(|(u, _)| u == id), "{id} not found");
    }
}

#[test]
fn the_review_catalogue_parses_without_duplicate_or_unused_ids() {
    use fluent_syntax::ast::Entry;
    let resource = fluent_syntax::parser::parse(review_source()).expect("the review catalogue parses without errors");
    let mut ids: Vec<String> = resource
        .body
        .iter()
        .filter_map(|e| if let Entry::Message(m) = e { Some(m.id.name.to_string()) } else { None })
        .collect();
    assert!(ids.len() > 300, "{}", ids.len());
    let count = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), count, "an id is defined twice");
    // Used: named as a literal somewhere in the code or the review templates
    // (message ids are never pieced together at run time on this side).
    let everything: String =
        review_templates().into_iter().chain(review_code()).map(|(_, text)| text).collect::<Vec<_>>().join("\n");
    let unused: Vec<&String> = ids.iter().filter(|id| !everything.contains(&format!("\"{id}\""))).collect();
    assert!(unused.is_empty(), "unused ids in locales/review/en.ftl: {unused:?}");
}

#[test]
fn the_review_catalogue_says_what_it_is() {
    let header: String =
        review_source().lines().take_while(|l| l.starts_with('#')).collect::<Vec<_>>().join("\n").to_lowercase();
    for needed in
        ["reviewer interface", "source catalogue", "english", "translations of the review side are not started"]
    {
        assert!(header.contains(needed), "the header does not say {needed:?}:\n{header}");
    }
    assert_eq!(testimony::i18n::REVIEW_SOURCES.len(), 1, "English only");
    assert!(!Tr::review(Lang::Ug).is_draft() && Tr::review(Lang::Ug).lang == Lang::En);
}

/// Attributes a person reads (the rest are codes, classes, URLs).
const READ_ATTRIBUTES: [&str; 6] = ["title", "aria-label", "placeholder", "alt", "data-label", "label"];

/// Words left in a template: letters in a text node or in an attribute a
/// person reads, once template tags and expressions (`{{ t.t("…") }}`) and
/// HTML entities are taken out. Everything else (`·`, `#`, punctuation) may
/// stay literal.
fn english_in(template: &str) -> Vec<String> {
    // Template tags, expressions and comments out.
    let mut html = String::new();
    let mut rest = template;
    while let Some(start) = rest.find(['{']) {
        html.push_str(&rest[..start]);
        let after = &rest[start..];
        let close = match after.get(..2) {
            Some("{{") => "}}",
            Some("{%") => "%}",
            Some("{#") => "#}",
            _ => {
                html.push('{');
                rest = &after[1..];
                continue;
            }
        };
        let end = after.find(close).expect("a template tag is closed");
        rest = &after[end + 2..];
    }
    html.push_str(rest);
    // Entities out.
    let mut text = String::new();
    let mut chars = html.as_str();
    while let Some(at) = chars.find('&') {
        text.push_str(&chars[..at]);
        let after = &chars[at..];
        match after.find(';') {
            Some(end) if end < 10 && after[1..end].chars().all(|c| c.is_ascii_alphanumeric() || c == '#') => {
                chars = &after[end + 1..];
            }
            _ => {
                text.push('&');
                chars = &after[1..];
            }
        }
    }
    text.push_str(chars);
    // Text nodes and the attributes people read.
    let mut words = Vec::new();
    let mut rest = text.as_str();
    loop {
        let (node, tag) = match rest.find('<') {
            Some(at) => (&rest[..at], Some(&rest[at..])),
            None => (rest, None),
        };
        if node.chars().any(|c| c.is_ascii_alphabetic()) {
            words.push(node.trim().to_string());
        }
        let Some(tag) = tag else { break };
        let end = tag.find('>').expect("a tag is closed");
        let inside = &tag[1..end];
        for name in READ_ATTRIBUTES {
            for value in inside.split(&format!(" {name}=\"")).skip(1) {
                let value = value.split('"').next().unwrap();
                if value.chars().any(|c| c.is_ascii_alphabetic()) {
                    words.push(format!("{name}=\"{value}\""));
                }
            }
        }
        rest = &tag[end + 1..];
    }
    words
}

#[test]
fn the_english_check_finds_a_literal_word() {
    assert_eq!(english_in("<p>{{ t.t(\"x\") }} · <b>Hello</b></p>"), ["Hello"]);
    assert_eq!(english_in("<a href=\"/x\" title=\"Open it\">{{ n }}</a>"), ["title=\"Open it\""]);
    assert_eq!(english_in("<td data-label=\"Name\">{{ a }}</td>"), ["data-label=\"Name\""]);
    assert_eq!(english_in("{% if x %}<p>page {{ n }}</p>{% endif %}"), ["page"]);
    assert!(english_in("{% if a %}<span class=\"badge you\">{{ t.t(\"you\") }}</span>{% endif %}").is_empty());
    assert!(english_in("<p>{{ a }} &middot; {{ b }}, #{{ c }} (&#8230;)</p>").is_empty());
    assert!(english_in("<option value=\"reviewer\">{{ names::account_role(t, \"reviewer\") }}</option>").is_empty());
}

#[test]
fn no_english_is_left_in_the_review_templates() {
    let templates = review_templates();
    assert!(templates.len() >= 13, "{}", templates.len());
    let mut problems = Vec::new();
    for (path, text) in &templates {
        for word in english_in(text) {
            problems.push(format!("{path}: {word}"));
        }
    }
    assert!(problems.is_empty(), "English left in the review templates:\n{}", problems.join("\n"));
}

/// Every literal call that names its arguments, in templates and code:
/// (id, argument names, where). `.t("id")` passes none, `.t1("id", "a", …)`
/// one, `.t2("id", "a", …, "b", …)` two.
fn calls_with_arguments() -> Vec<(String, Vec<String>, String)> {
    let mut files = Vec::new();
    rust_files(std::path::Path::new(&format!("{ROOT}/src")), &mut files);
    for dir in ["templates", "templates/review"] {
        for entry in std::fs::read_dir(format!("{ROOT}/{dir}")).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "html") {
                files.push((path.display().to_string(), std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    /// The call's arguments after the id, split at its own commas (not
    /// those inside nested calls or string literals), up to its `)`.
    fn arguments(call: &str) -> Vec<String> {
        let (mut depth, mut quoted, mut escaped) = (0, false, false);
        let (mut args, mut current) = (Vec::new(), String::new());
        for c in call.chars() {
            if quoted {
                current.push(c);
                match c {
                    _ if escaped => escaped = false,
                    '\\' => escaped = true,
                    '"' => quoted = false,
                    _ => {}
                }
                continue;
            }
            match c {
                '"' => quoted = true,
                '(' => depth += 1,
                ')' if depth == 0 => break,
                ')' => depth -= 1,
                ',' if depth == 0 => {
                    args.push(current.trim().to_string());
                    current.clear();
                    continue;
                }
                _ => {}
            }
            current.push(c);
        }
        args.push(current.trim().to_string());
        args
    }
    let mut calls = Vec::new();
    for (path, text) in &files {
        if path.ends_with("/src/i18n.rs") {
            continue; // the layer's own tests ask for missing ids on purpose
        }
        for (marker, names) in [(".t(\"", 0usize), (".t1(\"", 1), (".t2(\"", 2)] {
            for rest in text.split(marker).skip(1) {
                let id = rest.split('"').next().unwrap().to_string();
                // After `id"`: `)` for t, `, "name", value)` for t1 and
                // `, "name", value, "name2", value2)` for t2.
                let args = arguments(&rest[id.len() + 1..]);
                let taken: Vec<String> =
                    (0..names).filter_map(|i| args.get(1 + 2 * i)).map(|a| a.trim_matches('"').to_string()).collect();
                calls.push((id, taken, path.clone()));
            }
        }
    }
    calls
}

#[test]
fn every_argument_a_call_passes_is_a_variable_of_its_message_in_every_catalogue() {
    let witness: Vec<(Lang, std::collections::BTreeMap<String, Vec<String>>)> =
        testimony::i18n::SOURCES.iter().map(|(lang, source)| (*lang, messages(source))).collect();
    let review = messages(review_source());
    let calls = calls_with_arguments();
    assert!(calls.iter().any(|(_, args, _)| args.len() == 2), "the check sees two-argument calls");
    assert!(calls.iter().any(|(_, args, _)| args.len() == 1), "the check sees one-argument calls");
    let mut problems = Vec::new();
    for (id, args, path) in &calls {
        let mut catalogues: Vec<(&str, &Vec<String>)> = Vec::new();
        if let Some(vars) = review.get(id) {
            catalogues.push(("review/en", vars));
        }
        for (lang, catalogue) in &witness {
            if let Some(vars) = catalogue.get(id) {
                catalogues.push((lang.code(), vars));
            }
        }
        for (name, vars) in catalogues {
            let missing: Vec<&String> = args.iter().filter(|a| !vars.contains(a)).collect();
            let unfilled: Vec<&String> = vars.iter().filter(|v| !args.contains(v)).collect();
            if !missing.is_empty() {
                problems.push(format!("{path}: {id} is given {missing:?}, which {name} never uses"));
            }
            if !unfilled.is_empty() {
                problems.push(format!("{path}: {id} in {name} needs {unfilled:?}, which the call does not give"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
