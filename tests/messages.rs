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
