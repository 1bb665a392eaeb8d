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
