//! The reviewers' names for the codes of the vocabulary: workflow states,
//! priorities, safety flags, the evaluation's scales, witness roles and
//! communities, account roles, channels and consent answers. Codes are
//! what is stored, filtered on and audited; these names are what every
//! reviewer page shows. One table per vocabulary, here and nowhere else,
//! so a page cannot show `detained_self` where another says
//! "Detained (self)".
//!
//! Each table pairs a code with the id of its name in the reviewer
//! catalogue (`locales/review/en.ftl`, English only for now). The
//! witness's own wording of the same codes lives in the witness's
//! catalogues (`v-role-*`): a witness reads "I was detained myself", a
//! reviewer scanning a list "Detained (self)".
//!
//! A code missing from its table is shown as itself (a record from a newer
//! version, say): never an empty cell, never a panic.

use crate::i18n::{Message, Tr};

/// A vocabulary: each code and the message id of its name.
pub type Table = [(&'static str, &'static str)];

/// `codes` in the order of their table (unknown codes last): flags by
/// weight as DOMAIN.md lists them, not by spelling.
pub fn in_table_order(mut codes: Vec<String>, table: &[(&str, &str)]) -> Vec<String> {
    codes.sort_by_key(|code| table.iter().position(|(c, _)| c == code).unwrap_or(table.len()));
    codes
}

/// The message id of `code`'s name, if the table has it.
pub fn id_in(table: &Table, code: &str) -> Option<&'static str> {
    table.iter().find(|(c, _)| *c == code).map(|(_, id)| *id)
}

/// Looks `code` up in `table`; the code itself when it is not there.
fn name_in(t: &Tr, table: &Table, code: &str) -> String {
    id_in(table, code).map_or_else(|| code.to_string(), |id| t.t(id))
}

/// `message` with the argument `$name` the name of `code` (the code
/// itself when the table does not have it), for a sentence that names a
/// state or a publication level.
pub fn with_name(message: Message, name: &'static str, table: &Table, code: &str) -> Message {
    match id_in(table, code) {
        Some(id) => message.arg_message(name, id),
        None => message.arg(name, code),
    }
}

/// Workflow states, in `workflow`'s order (a test keeps them complete).
pub const STATES: [(&str, &str); 14] = [
    ("received", "state-received"),
    ("safety_screen", "state-safety_screen"),
    ("needs_translation", "state-needs_translation"),
    ("in_review", "state-in_review"),
    ("needs_follow_up", "state-needs_follow_up"),
    ("peer_review", "state-peer_review"),
    ("finalized", "state-finalized"),
    ("referred", "state-referred"),
    ("closed", "state-closed"),
    ("duplicate", "state-duplicate"),
    ("withdrawn", "state-withdrawn"),
    ("out_of_scope", "state-out_of_scope"),
    ("on_hold", "state-on_hold"),
    ("security_review", "state-security_review"),
];

pub const PRIORITIES: [(&str, &str); 4] =
    [("urgent", "priority-urgent"), ("high", "priority-high"), ("normal", "priority-normal"), ("low", "priority-low")];

pub const FLAGS: [(&str, &str); 9] = [
    ("risk_to_witness", "flag-risk_to_witness"),
    ("family_in_prc", "flag-family_in_prc"),
    ("transnational_repression", "flag-transnational_repression"),
    ("deportation_risk", "flag-deportation_risk"),
    ("minor_involved", "flag-minor_involved"),
    ("sexual_violence", "flag-sexual_violence"),
    ("graphic_media", "flag-graphic_media"),
    ("perpetrator_named", "flag-perpetrator_named"),
    ("insider_source", "flag-insider_source"),
];

/// How the witness knows (the form's `role`).
pub const WITNESS_ROLES: [(&str, &str); 7] = [
    ("detained_self", "witness-role-detained_self"),
    ("witnessed_others", "witness-role-witnessed_others"),
    ("family_or_friend", "witness-role-family_or_friend"),
    ("health_worker", "witness-role-health_worker"),
    ("security_worker", "witness-role-security_worker"),
    ("transplant", "witness-role-transplant"),
    ("other", "witness-role-other"),
];

/// Who was affected (the form's `community`), in the communities' own
/// words (DOMAIN.md: "camp", 法轮功学员 "practitioners").
pub const COMMUNITIES: [(&str, &str); 12] = [
    ("falun_gong", "community-falun_gong"),
    ("uyghur", "community-uyghur"),
    ("kazakh", "community-kazakh"),
    ("kyrgyz", "community-kyrgyz"),
    ("hui", "community-hui"),
    ("uzbek_other_turkic", "community-uzbek_other_turkic"),
    ("tibetan", "community-tibetan"),
    ("christian", "community-christian"),
    ("han_prisoner_of_conscience", "community-han_prisoner_of_conscience"),
    ("ordinary_prisoner", "community-ordinary_prisoner"),
    ("other", "community-other"),
    ("prefer_not", "community-prefer_not"),
];

pub const SOURCE_RELIABILITY: [(&str, &str); 6] = [
    ("highly_reliable", "reliability-highly_reliable"),
    ("likely_reliable", "reliability-likely_reliable"),
    ("unsure", "reliability-unsure"),
    ("likely_unreliable", "reliability-likely_unreliable"),
    ("highly_unreliable", "reliability-highly_unreliable"),
    ("unknown", "reliability-unknown"),
];

pub const CORROBORATION: [(&str, &str); 4] = [
    ("uncorroborated", "corroboration-uncorroborated"),
    ("partially", "corroboration-partially"),
    ("corroborated", "corroboration-corroborated"),
    ("contradicted", "corroboration-contradicted"),
];

pub const VIOLATION_STATUS: [(&str, &str); 5] = [
    ("confirmed", "violation-confirmed"),
    ("likely", "violation-likely"),
    ("possible", "violation-possible"),
    ("unlikely", "violation-unlikely"),
    ("unknown", "violation-unknown"),
];

pub const VERIFICATION: [(&str, &str); 4] = [
    ("reported", "verification-reported"),
    ("partially_verified", "verification-partially_verified"),
    ("corroborated", "verification-corroborated"),
    ("documented", "verification-documented"),
];

pub const PUBLICATION: [(&str, &str); 5] = [
    ("internal_only", "publication-internal_only"),
    ("do_not_publish", "publication-do_not_publish"),
    ("aggregate_only", "publication-aggregate_only"),
    ("anonymised", "publication-anonymised"),
    ("attributed", "publication-attributed"),
];

/// Account roles (`storage::Role::as_str`).
pub const ACCOUNT_ROLES: [(&str, &str); 3] = [
    ("admin", "account-role-admin"),
    ("reviewer", "account-role-reviewer"),
    ("investigator", "account-role-investigator"),
];

/// How a statement arrived.
pub const CHANNELS: [(&str, &str); 2] = [("web", "channel-web"), ("assisted", "channel-assisted")];

/// The consent record's scopes (`documents::Scope`, snake_case).
pub const CONSENT_SCOPES: [(&str, &str); 8] = [
    ("store_and_review", "consent-scope-store_and_review"),
    ("share", "consent-scope-share"),
    ("aggregate_statistics", "consent-scope-aggregate_statistics"),
    ("public_use", "consent-scope-public_use"),
    ("testify_publicly", "consent-scope-testify_publicly"),
    ("identify_as", "consent-scope-identify_as"),
    ("contact_again", "consent-scope-contact_again"),
    ("ask_again_months", "consent-scope-ask_again_months"),
];

/// Whom a consent record is about.
pub const CONSENT_RECIPIENTS: [(&str, &str); 4] = [
    ("organization", "consent-recipient-organization"),
    ("partners", "consent-recipient-partners"),
    ("official_bodies", "consent-recipient-official_bodies"),
    ("public", "consent-recipient-public"),
];

/// The answers a consent record holds (months to ask again are numbers,
/// shown as they are).
pub const CONSENT_LEVELS: [(&str, &str); 12] = [
    ("yes", "consent-level-yes"),
    ("no", "consent-level-no"),
    ("anonymised", "consent-level-anonymised"),
    ("with_identity", "consent-level-with_identity"),
    ("paraphrase", "consent-level-paraphrase"),
    ("quotes", "consent-level-quotes"),
    ("discuss", "consent-level-discuss"),
    ("name", "consent-level-name"),
    ("pseudonym", "consent-level-pseudonym"),
    ("code", "consent-level-code"),
    ("never", "consent-level-never"),
    ("prefer_not", "consent-level-prefer_not"),
];

/// A file's metadata choice, as the witness made it.
pub const FILE_CHOICES: [(&str, &str); 2] =
    [("keep_original", "file-choice-keep_original"), ("make_clean_copy", "file-choice-make_clean_copy")];

/// Every table, for the tests that keep the catalogue and the tables in
/// step.
pub const TABLES: [&Table; 16] = [
    &STATES,
    &PRIORITIES,
    &FLAGS,
    &WITNESS_ROLES,
    &COMMUNITIES,
    &SOURCE_RELIABILITY,
    &CORROBORATION,
    &VIOLATION_STATUS,
    &VERIFICATION,
    &PUBLICATION,
    &ACCOUNT_ROLES,
    &CHANNELS,
    &CONSENT_SCOPES,
    &CONSENT_RECIPIENTS,
    &CONSENT_LEVELS,
    &FILE_CHOICES,
];

pub fn state(t: &Tr, code: &str) -> String {
    name_in(t, &STATES, code)
}

pub fn priority(t: &Tr, code: &str) -> String {
    name_in(t, &PRIORITIES, code)
}

pub fn flag(t: &Tr, code: &str) -> String {
    name_in(t, &FLAGS, code)
}

pub fn witness_role(t: &Tr, code: &str) -> String {
    name_in(t, &WITNESS_ROLES, code)
}

pub fn community(t: &Tr, code: &str) -> String {
    name_in(t, &COMMUNITIES, code)
}

pub fn source_reliability(t: &Tr, code: &str) -> String {
    name_in(t, &SOURCE_RELIABILITY, code)
}

pub fn corroboration(t: &Tr, code: &str) -> String {
    name_in(t, &CORROBORATION, code)
}

pub fn violation_status(t: &Tr, code: &str) -> String {
    name_in(t, &VIOLATION_STATUS, code)
}

pub fn verification(t: &Tr, code: &str) -> String {
    name_in(t, &VERIFICATION, code)
}

pub fn publication(t: &Tr, code: &str) -> String {
    name_in(t, &PUBLICATION, code)
}

pub fn account_role(t: &Tr, code: &str) -> String {
    name_in(t, &ACCOUNT_ROLES, code)
}

pub fn channel(t: &Tr, code: &str) -> String {
    name_in(t, &CHANNELS, code)
}

pub fn consent_scope(t: &Tr, code: &str) -> String {
    name_in(t, &CONSENT_SCOPES, code)
}

pub fn consent_recipient(t: &Tr, code: &str) -> String {
    name_in(t, &CONSENT_RECIPIENTS, code)
}

pub fn consent_level(t: &Tr, code: &str) -> String {
    name_in(t, &CONSENT_LEVELS, code)
}

pub fn file_choice(t: &Tr, code: &str) -> String {
    name_in(t, &FILE_CHOICES, code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::triage;
    use crate::i18n::Lang;

    fn codes<const N: usize>(table: &[(&'static str, &'static str); N]) -> Vec<&'static str> {
        table.iter().map(|(code, _)| *code).collect()
    }

    #[test]
    fn every_code_of_every_vocabulary_has_a_name_in_the_same_order() {
        let t = Tr::review(Lang::En);
        assert_eq!(codes(&STATES), triage::STATES);
        assert_eq!(codes(&PRIORITIES), triage::PRIORITIES);
        assert_eq!(codes(&FLAGS), triage::FLAGS);
        assert_eq!(codes(&SOURCE_RELIABILITY), triage::SOURCE_RELIABILITY);
        assert_eq!(codes(&CORROBORATION), triage::CORROBORATION);
        assert_eq!(codes(&VIOLATION_STATUS), triage::VIOLATION_STATUS);
        assert_eq!(codes(&VERIFICATION), triage::VERIFICATION);
        assert_eq!(codes(&PUBLICATION), triage::PUBLICATION);
        assert_eq!(codes(&WITNESS_ROLES), crate::intake::schema::ROLES.codes);
        assert_eq!(codes(&COMMUNITIES), crate::intake::schema::COMMUNITIES.codes);
        assert_eq!(codes(&FILE_CHOICES), crate::intake::schema::METADATA_CHOICE.codes);
        for role in [crate::storage::Role::Admin, crate::storage::Role::Reviewer, crate::storage::Role::Investigator] {
            assert_ne!(account_role(&t, role.as_str()), role.as_str());
        }
        use crate::case::documents::Scope;
        for scope in [
            Scope::StoreAndReview,
            Scope::Share,
            Scope::AggregateStatistics,
            Scope::PublicUse,
            Scope::TestifyPublicly,
            Scope::IdentifyAs,
            Scope::ContactAgain,
            Scope::AskAgainMonths,
        ] {
            let code = serde_json::to_value(scope).unwrap();
            let code = code.as_str().unwrap();
            assert_ne!(consent_scope(&t, code), code, "{code} has a name");
        }
    }

    #[test]
    fn every_name_is_in_the_reviewer_catalogue() {
        let t = Tr::review(Lang::En);
        for table in TABLES {
            for (code, id) in table {
                assert!(t.has(id), "{code}: no message {id}");
            }
        }
    }

    #[test]
    fn names_are_plain_words_and_unknown_codes_show_as_themselves() {
        let t = Tr::review(Lang::En);
        assert_eq!(witness_role(&t, "detained_self"), "Detained (self)");
        assert_eq!(state(&t, "needs_follow_up"), "Needs follow-up");
        assert_eq!(state(&t, "from_a_newer_version"), "from_a_newer_version");
        let flags = vec!["unheard_of".to_string(), "insider_source".into(), "risk_to_witness".into()];
        assert_eq!(in_table_order(flags, &FLAGS), ["risk_to_witness", "insider_source", "unheard_of"]);
        for (code, id) in STATES.iter().chain(&FLAGS).chain(&WITNESS_ROLES).chain(&PRIORITIES) {
            let name = t.t(id);
            assert!(!name.contains('_') && name != *code && !name.starts_with('['), "{code}: {name}");
        }
    }

    #[test]
    fn a_sentence_names_a_code_or_shows_it_as_it_is() {
        let m = with_name(Message::new("evaluation-publication"), "widest", &PUBLICATION, "internal_only");
        assert!(m.to_string().ends_with("allows up to: Internal only)"), "{m}");
        let m = with_name(Message::new("evaluation-publication"), "widest", &PUBLICATION, "newer_code");
        assert!(m.to_string().ends_with("allows up to: newer_code)"), "{m}");
    }
}
