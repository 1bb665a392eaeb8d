//! Triage: what reviewers decide about a statement, in DOMAIN.md's words.
//! The workflow state is clear metadata (it drives the witness's follow-up
//! page); everything else a reviewer writes (priority, flags, labels,
//! assignment, evaluation, notes) is one document sealed to the desk and
//! the recovery key, like the statement.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::documents::{ConsentDoc, Scope};

/// The workflow states' names, for menus (the rules are in `workflow`).
pub const STATES: [&str; 14] = super::workflow::STATE_NAMES;

pub const PRIORITIES: [&str; 4] = ["urgent", "high", "normal", "low"];

pub const FLAGS: [&str; 9] = [
    "risk_to_witness",
    "family_in_prc",
    "transnational_repression",
    "deportation_risk",
    "minor_involved",
    "sexual_violence",
    "graphic_media",
    "perpetrator_named",
    "insider_source",
];

pub const LABEL_NAMESPACES: [&str; 7] = ["community", "act", "role", "facility", "region", "year", "evidence"];

pub const SOURCE_RELIABILITY: [&str; 6] =
    ["highly_reliable", "likely_reliable", "unsure", "likely_unreliable", "highly_unreliable", "unknown"];
pub const CORROBORATION: [&str; 4] = ["uncorroborated", "partially", "corroborated", "contradicted"];
pub const VIOLATION_STATUS: [&str; 5] = ["confirmed", "likely", "possible", "unlikely", "unknown"];
pub const VERIFICATION: [&str; 4] = ["reported", "partially_verified", "corroborated", "documented"];
/// Narrowest first: a publication decision may never be wider than consent.
pub const PUBLICATION: [&str; 5] = ["internal_only", "do_not_publish", "aggregate_only", "anonymised", "attributed"];

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evaluation {
    pub source_reliability: Option<String>,
    pub source_reliability_why: String,
    pub credibility: Option<u8>,
    pub credibility_why: String,
    pub corroboration: Option<String>,
    /// Ids of the independent statements that corroborate or contradict.
    pub corroborated_by: Vec<String>,
    pub violation_status: Option<String>,
    pub verification: Option<String>,
    pub publication: Option<String>,
    pub publication_why: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Note {
    pub author: String,
    pub day: String,
    pub text: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Triage {
    pub priority: String,
    pub flags: BTreeSet<String>,
    pub labels: BTreeSet<String>,
    pub assigned_to: Option<String>,
    /// For `duplicate`: the original.
    pub duplicate_of: Option<String>,
    /// For the states that need one.
    pub state_reason: String,
    pub evaluation: Evaluation,
    pub notes: Vec<Note>,
}

impl Default for Triage {
    fn default() -> Self {
        Triage {
            priority: "normal".into(),
            flags: BTreeSet::new(),
            labels: BTreeSet::new(),
            assigned_to: None,
            duplicate_of: None,
            state_reason: String::new(),
            evaluation: Evaluation::default(),
            notes: Vec::new(),
        }
    }
}

/// A namespaced label (`act:medical:ultrasound`, `facility:看守所`,
/// `region:ئۈرۈمچى`): a known namespace, then letters of any script (in
/// NFC, lower case where the script has case), digits, `_`, `-` and further
/// `:` parts. Markup characters and spaces never pass.
pub fn valid_label(label: &str) -> bool {
    use unicode_normalization::UnicodeNormalization;
    let Some((namespace, rest)) = label.split_once(':') else { return false };
    LABEL_NAMESPACES.contains(&namespace)
        && !rest.is_empty()
        && rest.chars().count() <= 64
        && rest.nfc().eq(rest.chars())
        && rest
            .chars()
            .all(|c| (c.is_alphanumeric() && !c.is_uppercase()) || matches!(c, '_' | '-' | ':') || is_combining_mark(c))
}

/// Vowel signs and other marks that Tibetan, Arabic-script and other
/// scripts write as part of a letter (Unicode category M): a label in those
/// scripts is not a label without them.
fn is_combining_mark(c: char) -> bool {
    use unicode_normalization::char::is_combining_mark;
    is_combining_mark(c)
}

/// A label as a reviewer typed it, made canonical: NFC, lower case.
pub fn canonical_label(typed: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    typed.nfc().flat_map(char::to_lowercase).collect()
}

/// How wide the witness's consent lets a publication decision be: the
/// index in `PUBLICATION` of the widest allowed. An unanswered question
/// counts as the most protective answer.
pub fn widest_publication_allowed(consent: &ConsentDoc) -> usize {
    let public = consent.level_or_no(Scope::PublicUse, "public");
    let named = consent.level(Scope::IdentifyAs, "public") == Some("name");
    if public != "no" && named {
        4
    } else if public != "no" {
        3
    } else if consent.allows_statistics() {
        2
    } else {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::documents::ConsentRecord;

    #[test]
    fn labels_must_be_namespaced() {
        assert!(valid_label("act:medical:ultrasound"));
        assert!(valid_label("year:2018"));
        assert!(!valid_label("ultrasound"));
        assert!(!valid_label("colour:red"));
        assert!(!valid_label("act:"));
        assert!(!valid_label("act:<script>"));
        assert!(valid_label("facility:看守所"), "Chinese");
        assert!(valid_label("region:ئۈرۈمچى"), "Uyghur in Arabic script");
        assert!(valid_label("region:ལྷས"), "Tibetan letters with their stacked and vowel marks");
        assert!(valid_label(&canonical_label("community:Қазақ")), "Kazakh Cyrillic, lower-cased");
        assert!(!valid_label("community:Қазақ"), "upper case is made canonical first");
        assert!(!valid_label("act:a b") && !valid_label("act:a\"b"));
    }

    fn consent(records: &[(Scope, &str, &str, Option<&str>)]) -> ConsentDoc {
        ConsentDoc::new(
            records
                .iter()
                .map(|(scope, recipient, level, revoked)| ConsentRecord {
                    scope: *scope,
                    recipient: recipient.to_string(),
                    level: level.to_string(),
                    granted_at: "2026-11-01".into(),
                    text_version: "t".into(),
                    revoked_at: revoked.map(str::to_string),
                })
                .collect(),
        )
    }

    #[test]
    fn publication_is_never_wider_than_consent() {
        let none = consent(&[]);
        assert_eq!(PUBLICATION[widest_publication_allowed(&none)], "do_not_publish");
        let aggregate = consent(&[(Scope::AggregateStatistics, "organization", "yes", None)]);
        assert_eq!(PUBLICATION[widest_publication_allowed(&aggregate)], "aggregate_only");
        let public = consent(&[(Scope::PublicUse, "public", "paraphrase", None)]);
        assert_eq!(PUBLICATION[widest_publication_allowed(&public)], "anonymised");
        let revoked = consent(&[(Scope::PublicUse, "public", "quotes", Some("2026-11-29"))]);
        assert_eq!(PUBLICATION[widest_publication_allowed(&revoked)], "do_not_publish");
        let named =
            consent(&[(Scope::PublicUse, "public", "quotes", None), (Scope::IdentifyAs, "public", "name", None)]);
        assert_eq!(PUBLICATION[widest_publication_allowed(&named)], "attributed");
    }
}
