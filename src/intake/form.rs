//! What a witness typed, as submitted, and the checks on it. Values are
//! kept exactly as typed (in NFC) so that a form that fails validation
//! comes back with everything still in it; nothing is cut short silently.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value, json};
use unicode_normalization::UnicodeNormalization;
use zeroize::Zeroize;

use crate::case::documents::{ConsentRecord, Scope};
use crate::clock::Day;

use super::schema::{self, Kind};

/// The submitted values, by field name. Wiped from memory when dropped.
#[derive(Default)]
pub struct FormValues {
    values: HashMap<String, Vec<String>>,
}

impl Drop for FormValues {
    fn drop(&mut self) {
        for values in self.values.values_mut() {
            for v in values.iter_mut() {
                v.zeroize();
            }
        }
    }
}

impl std::fmt::Debug for FormValues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FormValues({} fields)", self.values.len())
    }
}

impl FormValues {
    /// Adds a submitted value for a known field (normalized to NFC, with
    /// Windows line ends made plain). Unknown names are ignored by callers.
    pub fn push(&mut self, name: &str, value: &str) {
        let mut normalized: String = value.replace("\r\n", "\n").nfc().collect();
        if normalized.is_empty() {
            return;
        }
        let entry = self.values.entry(name.to_string()).or_default();
        if entry.len() < 64 {
            entry.push(std::mem::take(&mut normalized));
        }
    }

    /// The first value of a field, or "".
    pub fn text(&self, name: &str) -> &str {
        self.values.get(name).and_then(|v| v.first()).map(String::as_str).unwrap_or("")
    }

    /// Whether a checkbox or option `code` was chosen for `name`.
    pub fn has(&self, name: &str, code: &str) -> bool {
        self.values.get(name).is_some_and(|v| v.iter().any(|x| x == code))
    }

    pub fn all(&self, name: &str) -> &[String] {
        self.values.get(name).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Nothing was typed or chosen (a hidden `lang` field does not count).
    pub fn is_empty(&self) -> bool {
        self.values.keys().all(|k| k == "lang")
    }

    /// The metadata choice for file slot `i` (0-based), default: keep.
    /// The choice for the file in `slot`: its own, or, when one choice was
    /// given for several files (one input that takes many), the last one
    /// given; without any, the original is kept untouched.
    pub fn metadata_choice(&self, slot: usize) -> &str {
        let choices = self.all(schema::ATTACHMENT_METADATA);
        choices.get(slot).or(choices.last()).map(String::as_str).unwrap_or("keep_original")
    }

    fn non_blank(&self, name: &str) -> bool {
        !self.text(name).trim().is_empty()
    }
}

/// Problems found, by field (message id, optional number) and for the form.
#[derive(Debug, Default)]
pub struct Problems {
    pub fields: BTreeMap<String, (&'static str, usize)>,
}

impl Problems {
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    fn add(&mut self, field: &str, message: &'static str, n: usize) {
        self.fields.entry(field.to_string()).or_insert((message, n));
    }
}

/// Checks the values against the schema and the three requirements of the
/// form: how the witness knows, consent to store and review, and at least
/// one substantive item (narrative, a checked act, a file, or the wish to
/// tell a person).
pub fn validate(values: &FormValues, files_sent: usize) -> Problems {
    let mut problems = Problems::default();
    for part in schema::PARTS.iter().chain(std::iter::once(&*schema::ASSISTED)) {
        for group in &part.groups {
            for field in &group.fields {
                for value in values.all(&field.name) {
                    let ok = match &field.kind {
                        Kind::Text { max } | Kind::Area { max } => {
                            let n = value.chars().count();
                            if n > *max {
                                problems.add(&field.name, "e-too-long", *max);
                            }
                            true
                        }
                        Kind::Choice { vocab, .. } | Kind::Multi { vocab } => vocab.contains(value),
                        Kind::Check => value == "yes",
                    };
                    if !ok {
                        problems.add(&field.name, "e-invalid-choice", 0);
                    }
                }
                if matches!(field.kind, Kind::Text { .. } | Kind::Choice { .. } | Kind::Check | Kind::Area { .. })
                    && values.all(&field.name).len() > 1
                {
                    problems.add(&field.name, "e-invalid-choice", 0);
                }
            }
        }
    }
    for choice in values.all(schema::ATTACHMENT_METADATA) {
        if !schema::METADATA_CHOICE.contains(choice) {
            problems.add("attachment", "e-invalid-choice", 0);
        }
    }
    if values.all("role").is_empty() {
        problems.add("role", "e-role-required", 0);
    }
    if !values.has("consent_store", "yes") {
        problems.add("consent_store", "e-consent-required", 0);
    }
    let any_act = schema::act_codes().any(|code| values.has(&format!("act_{code}"), "yes"));
    let substantive = values.non_blank("statement")
        || any_act
        || files_sent > 0
        || values.has("prefer_person", "yes")
        || values.has("files_next", "yes");
    if !substantive {
        problems.add("statement", "e-substantive-required", 0);
    }
    if values.non_blank("when_edtf") && !looks_like_edtf(values.text("when_edtf").trim()) {
        problems.add("when_edtf", "e-edtf", 0);
    }
    problems
}

/// Accepts the EDTF forms the form explains: `2018`, `2018-05`,
/// `2018-05-03`, seasons `2018-21`…`2018-24`, a trailing `~` (about) or `?`
/// (unsure) or `%`, and intervals `2017/2019` (either side may be `..`).
pub fn looks_like_edtf(text: &str) -> bool {
    fn date(d: &str) -> bool {
        let d = d.trim_end_matches(['~', '?', '%']);
        if d == ".." || d.is_empty() {
            return !d.is_empty();
        }
        let parts: Vec<&str> = d.split('-').collect();
        let all_digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit() || b == b'X');
        match parts.as_slice() {
            [y] => all_digits(y, 4),
            [y, m] => all_digits(y, 4) && all_digits(m, 2),
            [y, m, day] => all_digits(y, 4) && all_digits(m, 2) && all_digits(day, 2),
            _ => false,
        }
    }
    match text.split_once('/') {
        Some((a, b)) => date(a) && date(b),
        None => date(text),
    }
}

/// Fields holding identity, contact and safety details (S2/S3 about the
/// witness and the people they name). Sealed apart from the statement so
/// that a withdrawal can delete them outright.
pub fn is_identity_field(name: &str) -> bool {
    (name.starts_with("person") && (name.contains("_name_") || name.ends_with("_reference")))
        || matches!(
            name,
            "contact_method"
                | "contact_handle"
                | "safe_times"
                | "code_word"
                | "family_in_prc"
                | "threats_received"
                | "minor_involved"
                | "safety_notes"
        )
}

/// The consent answers of the form, as records (DOMAIN.md part 11):
/// scope, recipient, level. Storage and review is always recorded (yes or
/// no). A question the witness left blank is *not* recorded: it stays
/// unanswered, and everything that reads consent treats an unanswered
/// question as the most protective answer (no sharing, no publication, a
/// code name, no contact).
pub fn consent_records(values: &FormValues, today: Day) -> Vec<ConsentRecord> {
    let store = if values.has("consent_store", "yes") { "yes" } else { "no" };
    let answered = [
        (Scope::Share, "partners", "consent_partners"),
        (Scope::Share, "official_bodies", "consent_official"),
        (Scope::AggregateStatistics, "organization", "consent_aggregate"),
        (Scope::PublicUse, "public", "consent_public"),
        (Scope::TestifyPublicly, "organization", "testify_publicly"),
        (Scope::IdentifyAs, "public", "identify_as"),
        (Scope::ContactAgain, "organization", "contact_again"),
        (Scope::AskAgainMonths, "organization", "ask_again"),
    ]
    .into_iter()
    .filter(|(_, _, field)| !values.text(field).is_empty())
    .map(|(scope, recipient, field)| (scope, recipient, values.text(field).to_string()));
    std::iter::once((Scope::StoreAndReview, "organization", store.to_string()))
        .chain(answered)
        .map(|(scope, recipient, level)| ConsentRecord {
            scope,
            recipient: recipient.to_string(),
            level,
            granted_at: today.to_string(),
            text_version: CONSENT_TEXT_VERSION.to_string(),
            revoked_at: None,
        })
        .collect()
}

/// Raise when the consent wording changes, so every record says which
/// wording the witness agreed to.
pub const CONSENT_TEXT_VERSION: &str = "consent-en-2026-11";

/// Splits the values into the statement document and the identity document
/// (see [`is_identity_field`]), both as JSON objects of field → value(s).
pub fn documents(values: &FormValues) -> (Map<String, Value>, Map<String, Value>) {
    let mut statement = Map::new();
    let mut identity = Map::new();
    let mut names: Vec<&String> = values.values.keys().collect();
    names.sort();
    for name in names {
        if schema::find_any(name).is_none() {
            continue;
        }
        let vals = values.all(name);
        let value = match schema::find_any(name).map(|f| &f.kind) {
            Some(Kind::Multi { .. }) => json!(vals),
            _ => json!(vals.first()),
        };
        if is_identity_field(name) {
            identity.insert(name.clone(), value);
        } else {
            statement.insert(name.clone(), value);
        }
    }
    (statement, identity)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_consent_questions_stay_unanswered() {
        let values = form(&[("consent_store", "yes"), ("consent_partners", "anonymised")]);
        let records = consent_records(&values, Day::from_civil(2026, 11, 29).unwrap());
        let scopes: Vec<(Scope, &str, &str)> =
            records.iter().map(|r| (r.scope, r.recipient.as_str(), r.level.as_str())).collect();
        assert_eq!(
            scopes,
            vec![(Scope::StoreAndReview, "organization", "yes"), (Scope::Share, "partners", "anonymised")],
            "no identify_as=code, no contact_again=no: unanswered is not an answer"
        );
        let doc = crate::case::documents::ConsentDoc::new(records);
        assert_eq!(doc.level(Scope::ContactAgain, "organization"), None);
        assert_eq!(doc.sharing("official_bodies"), crate::case::documents::Sharing::No, "read as the most protective");
    }

    fn form(pairs: &[(&str, &str)]) -> FormValues {
        let mut v = FormValues::default();
        for (k, val) in pairs {
            v.push(k, val);
        }
        v
    }

    #[test]
    fn the_three_requirements_are_enforced() {
        let problems = validate(&form(&[]), 0);
        for f in ["role", "consent_store", "statement"] {
            assert!(problems.fields.contains_key(f), "{f}");
        }
        let ok = form(&[("role", "detained_self"), ("consent_store", "yes"), ("statement", "I was taken")]);
        assert!(validate(&ok, 0).is_empty());
        let with_file = form(&[("role", "other"), ("consent_store", "yes")]);
        assert!(validate(&with_file, 1).is_empty());
        let with_act = form(&[("role", "other"), ("consent_store", "yes"), ("act_ultrasound", "yes")]);
        assert!(validate(&with_act, 0).is_empty());
        let blank = form(&[("role", "other"), ("consent_store", "yes"), ("statement", "   \n ")]);
        assert!(validate(&blank, 0).fields.contains_key("statement"));
    }

    #[test]
    fn limits_are_in_characters_and_values_are_kept() {
        let uyghur = "ئ".repeat(300);
        let v = form(&[("role", "other"), ("consent_store", "yes"), ("statement", "x"), ("place1_name", &uyghur)]);
        assert!(validate(&v, 0).is_empty(), "300 Uyghur letters are 300 characters");
        let long = "ئ".repeat(301);
        let v = form(&[("role", "other"), ("consent_store", "yes"), ("statement", "x"), ("place1_name", &long)]);
        assert_eq!(validate(&v, 0).fields.get("place1_name").map(|p| p.0), Some("e-too-long"));
        assert_eq!(v.text("place1_name"), long, "an over-long value is kept so the witness can shorten it");
    }

    #[test]
    fn unknown_codes_are_refused() {
        let v = form(&[("role", "emperor"), ("consent_store", "yes"), ("statement", "x")]);
        assert_eq!(validate(&v, 0).fields.get("role").map(|p| p.0), Some("e-invalid-choice"));
    }

    #[test]
    fn text_is_stored_in_nfc() {
        let v = form(&[("statement", "e\u{301}")]);
        assert_eq!(v.text("statement"), "\u{e9}");
    }

    #[test]
    fn edtf_forms_from_the_help_text_are_accepted() {
        for ok in ["2018", "2018~", "2018-05", "2018-21", "2017/2019", "2018-05-03?", "../2019", "201X"] {
            assert!(looks_like_edtf(ok), "{ok}");
        }
        for bad in ["spring 2018", "18", "2018/05/03", ""] {
            assert!(!looks_like_edtf(bad), "{bad}");
        }
    }

    #[test]
    fn identity_details_are_split_from_the_statement() {
        let v = form(&[
            ("statement", "x"),
            ("contact_handle", "@me"),
            ("person1_name_latin", "A"),
            ("person1_relationship", "son"),
            ("minor_involved", "yes"),
        ]);
        let (statement, identity) = documents(&v);
        assert!(statement.contains_key("statement") && statement.contains_key("person1_relationship"));
        assert!(identity.contains_key("contact_handle") && identity.contains_key("person1_name_latin"));
        assert!(identity.contains_key("minor_involved"), "a safety answer (S3), sealed apart");
        assert!(!statement.contains_key("contact_handle"));
    }
}
