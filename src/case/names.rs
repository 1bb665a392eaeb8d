//! The reviewers' names for the codes of the vocabulary: workflow states,
//! priorities, safety flags, the evaluation's scales, witness roles and
//! communities, account roles, channels and consent answers. Codes are
//! what is stored, filtered on and audited; these names are what every
//! reviewer page shows. One table per vocabulary, here and nowhere else,
//! so a page cannot show `detained_self` where another says
//! "Detained (self)".
//!
//! English only, like the rest of the review side. The witness's own
//! wording of the same codes lives in the locales (`v-role-*`): a witness
//! reads "I was detained myself", a reviewer scanning a list "Detained
//! (self)".
//!
//! A code missing from its table is shown as itself (a record from a newer
//! version, say): never an empty cell, never a panic.

/// `codes` in the order of their table (unknown codes last): flags by
/// weight as DOMAIN.md lists them, not by spelling.
pub fn in_table_order(mut codes: Vec<String>, table: &[(&str, &str)]) -> Vec<String> {
    codes.sort_by_key(|code| table.iter().position(|(c, _)| c == code).unwrap_or(table.len()));
    codes
}

/// Looks `code` up in `table`; the code itself when it is not there.
fn name_in<'a>(table: &[(&str, &'static str)], code: &'a str) -> &'a str {
    table.iter().find(|(c, _)| *c == code).map_or(code, |(_, name)| name)
}

/// Workflow states, in `workflow`'s order (a test keeps them complete).
pub const STATES: [(&str, &str); 14] = [
    ("received", "Received"),
    ("safety_screen", "Safety screen"),
    ("needs_translation", "Needs translation"),
    ("in_review", "In review"),
    ("needs_follow_up", "Needs follow-up"),
    ("peer_review", "Peer review"),
    ("finalized", "Finalized"),
    ("referred", "Referred"),
    ("closed", "Closed"),
    ("duplicate", "Duplicate"),
    ("withdrawn", "Withdrawn"),
    ("out_of_scope", "Out of scope"),
    ("on_hold", "On hold"),
    ("security_review", "Security review"),
];

pub const PRIORITIES: [(&str, &str); 4] =
    [("urgent", "Urgent"), ("high", "High"), ("normal", "Normal"), ("low", "Low")];

pub const FLAGS: [(&str, &str); 9] = [
    ("risk_to_witness", "Risk to witness"),
    ("family_in_prc", "Family in the PRC"),
    ("transnational_repression", "Transnational repression"),
    ("deportation_risk", "Deportation risk"),
    ("minor_involved", "Minor involved"),
    ("sexual_violence", "Sexual violence"),
    ("graphic_media", "Graphic media"),
    ("perpetrator_named", "Perpetrator named"),
    ("insider_source", "Insider source"),
];

/// How the witness knows (the form's `role`).
pub const WITNESS_ROLES: [(&str, &str); 7] = [
    ("detained_self", "Detained (self)"),
    ("witnessed_others", "Detained with others (saw them)"),
    ("family_or_friend", "Family or friend"),
    ("health_worker", "Health worker"),
    ("security_worker", "Police, security or camp staff"),
    ("transplant", "Transplant recipient or arranger"),
    ("other", "Other (journalist, researcher, intermediary)"),
];

/// Who was affected (the form's `community`), in the communities' own
/// words (DOMAIN.md: "camp", 法轮功学员 "practitioners").
pub const COMMUNITIES: [(&str, &str); 12] = [
    ("falun_gong", "Falun Gong practitioners"),
    ("uyghur", "Uyghur"),
    ("kazakh", "Kazakh"),
    ("kyrgyz", "Kyrgyz"),
    ("hui", "Hui"),
    ("uzbek_other_turkic", "Uzbek or other Turkic Muslim"),
    ("tibetan", "Tibetan"),
    ("christian", "Christian"),
    ("han_prisoner_of_conscience", "Han Chinese prisoner of conscience"),
    ("ordinary_prisoner", "Ordinary or death-row prisoner"),
    ("other", "Other"),
    ("prefer_not", "Prefers not to say"),
];

pub const SOURCE_RELIABILITY: [(&str, &str); 6] = [
    ("highly_reliable", "Highly reliable"),
    ("likely_reliable", "Likely reliable"),
    ("unsure", "Unsure"),
    ("likely_unreliable", "Likely unreliable"),
    ("highly_unreliable", "Highly unreliable"),
    ("unknown", "Unknown"),
];

pub const CORROBORATION: [(&str, &str); 4] = [
    ("uncorroborated", "Uncorroborated"),
    ("partially", "Partially corroborated"),
    ("corroborated", "Corroborated"),
    ("contradicted", "Contradicted"),
];

pub const VIOLATION_STATUS: [(&str, &str); 5] = [
    ("confirmed", "Confirmed"),
    ("likely", "Likely"),
    ("possible", "Possible"),
    ("unlikely", "Unlikely"),
    ("unknown", "Unknown"),
];

pub const VERIFICATION: [(&str, &str); 4] = [
    ("reported", "Reported"),
    ("partially_verified", "Partially verified"),
    ("corroborated", "Corroborated"),
    ("documented", "Documented"),
];

pub const PUBLICATION: [(&str, &str); 5] = [
    ("internal_only", "Internal only"),
    ("do_not_publish", "Do not publish"),
    ("aggregate_only", "Aggregate only"),
    ("anonymised", "Anonymised"),
    ("attributed", "Attributed"),
];

/// Account roles (`storage::Role::as_str`).
pub const ACCOUNT_ROLES: [(&str, &str); 3] =
    [("admin", "Administrator"), ("reviewer", "Reviewer"), ("investigator", "Investigator")];

/// How a statement arrived.
pub const CHANNELS: [(&str, &str); 2] = [("web", "Web form"), ("assisted", "Assisted intake")];

/// The consent record's scopes (`documents::Scope`, snake_case).
pub const CONSENT_SCOPES: [(&str, &str); 8] = [
    ("store_and_review", "Store and review"),
    ("share", "Share"),
    ("aggregate_statistics", "Aggregate statistics"),
    ("public_use", "Public use"),
    ("testify_publicly", "Testify publicly"),
    ("identify_as", "Identify as"),
    ("contact_again", "Contact again"),
    ("ask_again_months", "Ask again (months)"),
];

/// Whom a consent record is about.
pub const CONSENT_RECIPIENTS: [(&str, &str); 4] = [
    ("organization", "This organization"),
    ("partners", "Partners"),
    ("official_bodies", "Official bodies (UN, prosecutors)"),
    ("public", "The public"),
];

/// The answers a consent record holds (months to ask again are numbers,
/// shown as they are).
pub const CONSENT_LEVELS: [(&str, &str); 12] = [
    ("yes", "Yes"),
    ("no", "No"),
    ("anonymised", "Anonymised only"),
    ("with_identity", "With identity"),
    ("paraphrase", "Paraphrase only"),
    ("quotes", "Quotes allowed"),
    ("discuss", "Contact me to discuss"),
    ("name", "By name"),
    ("pseudonym", "By pseudonym"),
    ("code", "By a code"),
    ("never", "Never"),
    ("prefer_not", "Prefers not to say"),
];

/// A file's metadata choice, as the witness made it.
pub const FILE_CHOICES: [(&str, &str); 2] =
    [("keep_original", "Keep the original as evidence"), ("make_clean_copy", "Make a cleaned copy")];

pub fn state(code: &str) -> &str {
    name_in(&STATES, code)
}

pub fn priority(code: &str) -> &str {
    name_in(&PRIORITIES, code)
}

pub fn flag(code: &str) -> &str {
    name_in(&FLAGS, code)
}

pub fn witness_role(code: &str) -> &str {
    name_in(&WITNESS_ROLES, code)
}

pub fn community(code: &str) -> &str {
    name_in(&COMMUNITIES, code)
}

pub fn source_reliability(code: &str) -> &str {
    name_in(&SOURCE_RELIABILITY, code)
}

pub fn corroboration(code: &str) -> &str {
    name_in(&CORROBORATION, code)
}

pub fn violation_status(code: &str) -> &str {
    name_in(&VIOLATION_STATUS, code)
}

pub fn verification(code: &str) -> &str {
    name_in(&VERIFICATION, code)
}

pub fn publication(code: &str) -> &str {
    name_in(&PUBLICATION, code)
}

pub fn account_role(code: &str) -> &str {
    name_in(&ACCOUNT_ROLES, code)
}

pub fn channel(code: &str) -> &str {
    name_in(&CHANNELS, code)
}

pub fn consent_scope(code: &str) -> &str {
    name_in(&CONSENT_SCOPES, code)
}

pub fn consent_recipient(code: &str) -> &str {
    name_in(&CONSENT_RECIPIENTS, code)
}

pub fn consent_level(code: &str) -> &str {
    name_in(&CONSENT_LEVELS, code)
}

pub fn file_choice(code: &str) -> &str {
    name_in(&FILE_CHOICES, code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::triage;

    fn codes<const N: usize>(table: &[(&'static str, &'static str); N]) -> Vec<&'static str> {
        table.iter().map(|(code, _)| *code).collect()
    }

    #[test]
    fn every_code_of_every_vocabulary_has_a_name_in_the_same_order() {
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
            assert_ne!(account_role(role.as_str()), role.as_str());
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
            assert_ne!(consent_scope(code), code, "{code} has a name");
        }
    }

    #[test]
    fn names_are_plain_words_and_unknown_codes_show_as_themselves() {
        assert_eq!(witness_role("detained_self"), "Detained (self)");
        assert_eq!(state("needs_follow_up"), "Needs follow-up");
        assert_eq!(state("from_a_newer_version"), "from_a_newer_version");
        let flags = vec!["unheard_of".to_string(), "insider_source".into(), "risk_to_witness".into()];
        assert_eq!(in_table_order(flags, &FLAGS), ["risk_to_witness", "insider_source", "unheard_of"]);
        for (code, name) in STATES.iter().chain(&FLAGS).chain(&WITNESS_ROLES).chain(&PRIORITIES) {
            assert!(!name.contains('_') && name != code, "{code}: {name}");
        }
    }
}
