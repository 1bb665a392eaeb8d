//! Triage: what reviewers decide about a statement, in DOMAIN.md's words.
//! The workflow state is clear metadata (it drives the witness's follow-up
//! page); everything else a reviewer writes (priority, flags, labels,
//! assignment, evaluation, notes) is one document sealed to the desk and
//! the recovery key, like the statement.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

pub const STATES: [&str; 14] = [
    "received",
    "safety_screen",
    "needs_translation",
    "in_review",
    "needs_follow_up",
    "peer_review",
    "finalized",
    "referred",
    "closed",
    "duplicate",
    "withdrawn",
    "out_of_scope",
    "on_hold",
    "security_review",
];

/// States that need a short reason.
pub const NEEDS_REASON: [&str; 3] = ["security_review", "out_of_scope", "on_hold"];

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

/// A namespaced label (`act:medical:ultrasound`): a known namespace, then
/// lowercase letters, digits, `_`, `-` and further `:` parts.
pub fn valid_label(label: &str) -> bool {
    let Some((namespace, rest)) = label.split_once(':') else { return false };
    LABEL_NAMESPACES.contains(&namespace)
        && !rest.is_empty()
        && rest.len() <= 64
        && rest.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-' | ':'))
}

/// How wide the witness's consent lets a publication decision be: the
/// index in `PUBLICATION` of the widest allowed.
pub fn widest_publication_allowed(consent: &[serde_json::Value]) -> usize {
    let level = |scope: &str| -> String {
        consent
            .iter()
            .find(|r| r["scope"] == scope && r["revoked_at"].is_null())
            .and_then(|r| r["level"].as_str())
            .unwrap_or("no")
            .to_string()
    };
    let public = level("public_use");
    let named = level("identify_as") == "name";
    if public != "no" && named {
        4
    } else if public != "no" {
        3
    } else if level("aggregate_statistics") == "yes" {
        2
    } else {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn labels_must_be_namespaced() {
        assert!(valid_label("act:medical:ultrasound"));
        assert!(valid_label("year:2018"));
        assert!(!valid_label("ultrasound"));
        assert!(!valid_label("colour:red"));
        assert!(!valid_label("act:"));
        assert!(!valid_label("act:<script>"));
    }

    #[test]
    fn publication_is_never_wider_than_consent() {
        let none = vec![];
        assert_eq!(PUBLICATION[widest_publication_allowed(&none)], "do_not_publish");
        let aggregate = vec![json!({"scope": "aggregate_statistics", "level": "yes", "revoked_at": null})];
        assert_eq!(PUBLICATION[widest_publication_allowed(&aggregate)], "aggregate_only");
        let public = vec![json!({"scope": "public_use", "level": "paraphrase", "revoked_at": null})];
        assert_eq!(PUBLICATION[widest_publication_allowed(&public)], "anonymised");
        let revoked = vec![json!({"scope": "public_use", "level": "quotes", "revoked_at": "2026-11-29"})];
        assert_eq!(PUBLICATION[widest_publication_allowed(&revoked)], "do_not_publish");
        let named = vec![
            json!({"scope": "public_use", "level": "quotes", "revoked_at": null}),
            json!({"scope": "identify_as", "level": "name", "revoked_at": null}),
        ];
        assert_eq!(PUBLICATION[widest_publication_allowed(&named)], "attributed");
    }
}
