//! The witness form, as data: its twelve parts, every field, its kind and
//! its limit. The template draws the form from this, validation checks
//! against it, and the sealed statement is keyed by these names, so the
//! three can never disagree. Vocabulary codes follow DOMAIN.md.
//!
//! Messages: a field's label is `f-<base>` (the name without its slot
//! number), its optional help `h-<base>`, an option `v-<vocab>-<code>`.

use std::sync::LazyLock;

/// A closed list of codes.
#[derive(Debug)]
pub struct Vocab {
    pub id: &'static str,
    pub codes: &'static [&'static str],
}

impl Vocab {
    pub fn contains(&self, code: &str) -> bool {
        self.codes.contains(&code)
    }
}

macro_rules! vocab {
    ($name:ident, $id:literal, [$($code:literal),* $(,)?]) => {
        pub static $name: Vocab = Vocab { id: $id, codes: &[$($code),*] };
    };
}

vocab!(
    ROLES,
    "role",
    [
        "detained_self",
        "witnessed_others",
        "family_or_friend",
        "health_worker",
        "security_worker",
        "transplant",
        "other"
    ]
);
vocab!(ON_BEHALF, "behalf", ["self", "behalf"]);
vocab!(
    COMMUNITIES,
    "community",
    [
        "falun_gong",
        "uyghur",
        "kazakh",
        "kyrgyz",
        "hui",
        "uzbek_other_turkic",
        "tibetan",
        "christian",
        "han_prisoner_of_conscience",
        "ordinary_prisoner",
        "other",
        "prefer_not"
    ]
);
vocab!(
    REGIONS,
    "region",
    ["xinjiang", "east_turkistan", "tibet", "inner_mongolia", "elsewhere_prc", "outside_prc", "unknown"]
);
vocab!(
    FACILITIES,
    "facility",
    [
        "police_station",
        "detention_centre",
        "camp",
        "labour_camp",
        "prison",
        "legal_education",
        "psychiatric_hospital",
        "black_jail",
        "civilian_hospital",
        "military_hospital",
        "transport",
        "other",
        "unknown"
    ]
);
vocab!(MOVED_BY, "moved", ["train", "bus", "police_vehicle", "plane", "on_foot", "unknown"]);
vocab!(BASIS, "basis", ["happened_to_me", "saw_it", "was_told"]);
vocab!(PLACE_REF, "place", ["1", "2", "3", "4", "5"]);
vocab!(BLOOD, "blood", ["small_tube", "several_tubes", "large_amount"]);
vocab!(
    MEDICAL_CONTEXT,
    "medctx",
    ["only_my_group", "no_results", "repeatedly", "mobile_vehicle", "outside_hospital", "asked_organ_health"]
);
vocab!(WAIT_UNIT, "waitunit", ["days", "weeks", "months"]);
vocab!(
    INSTITUTIONS,
    "institution",
    [
        "police",
        "state_security",
        "office_610",
        "political_legal",
        "camp_administration",
        "court",
        "civilian_hospital",
        "military_hospital",
        "red_cross_procurement",
        "neighbourhood_committee",
        "broker",
        "other"
    ]
);
vocab!(METADATA_CHOICE, "metadata", ["keep_original", "make_clean_copy"]);
vocab!(PARTNER_LEVEL, "partnerlevel", ["no", "anonymised", "with_identity"]);
vocab!(YES_NO, "yesno", ["yes", "no"]);
vocab!(PUBLIC_USE, "publicuse", ["no", "paraphrase", "quotes"]);
vocab!(TESTIFY, "testify", ["yes", "discuss", "no"]);
vocab!(IDENTIFY_AS, "identify", ["name", "pseudonym", "code"]);
vocab!(ASK_AGAIN, "askagain", ["6", "12", "24", "never"]);
vocab!(CONTACT_METHOD, "contact", ["none", "signal", "threema", "wire", "email", "organization", "in_person"]);
vocab!(FAMILY_IN_PRC, "family", ["yes", "no", "prefer_not"]);
vocab!(MINOR, "minor", ["yes", "no", "not_sure"]);

/// Acts of part 6, by group. Each becomes a checkbox plus its details.
pub static ACT_GROUPS: &[(&str, &[&str])] = &[
    (
        "detention",
        &[
            "arrest_unexplained",
            "held_without_charge",
            "incommunicado",
            "transferred",
            "moved_by_train",
            "forced_labour",
            "indoctrination",
            "forced_statements",
        ],
    ),
    (
        "medical",
        &[
            "blood_drawn",
            "blood_type",
            "urine_test",
            "chest_xray",
            "ultrasound",
            "ct_scan",
            "ecg",
            "eye_exam",
            "dna_sample",
            "biometrics",
            "tissue_typing",
            "injection",
            "gynaecological",
        ],
    ),
    (
        "ill_treatment",
        &[
            "beating",
            "electric_shock",
            "forced_postures",
            "sleep_deprivation",
            "forced_feeding",
            "isolation",
            "denied_care",
            "psychiatric_drugs",
            "threats_to_family",
            "sexual_violence",
            "forced_sterilisation",
        ],
    ),
    (
        "disappearance",
        &["taken_not_returned", "exam_not_returned", "death_in_custody", "body_incisions", "quick_cremation"],
    ),
    ("transplant", &["organ_removal", "organs_on_demand"]),
];

/// How many slots the repeatable groups have (no JavaScript: fixed slots).
pub const PLACE_SLOTS: usize = 5;
pub const PERSON_SLOTS: usize = 3;

/// Limits, in characters.
pub const SHORT: usize = 300;
pub const MEDIUM: usize = 5_000;
pub const NARRATIVE: usize = 100_000;

#[derive(Debug)]
pub enum Kind {
    /// One line of free text.
    Text { max: usize },
    /// Several lines of free text.
    Area { max: usize },
    /// One code from a list (radio buttons or a menu).
    Choice { vocab: &'static Vocab, menu: bool },
    /// Any codes from a list (checkboxes).
    Multi { vocab: &'static Vocab },
    /// One yes box.
    Check,
}

#[derive(Debug)]
pub struct Field {
    pub name: String,
    /// The name without the slot number: the key of its messages.
    pub base: String,
    /// 1-based slot of a repeatable group.
    pub slot: Option<usize>,
    pub kind: Kind,
}

impl Field {
    pub fn max_chars(&self) -> usize {
        match self.kind {
            Kind::Text { max } | Kind::Area { max } => max,
            _ => 64,
        }
    }

    pub fn is_free_text(&self) -> bool {
        matches!(self.kind, Kind::Text { .. } | Kind::Area { .. })
    }
}

/// A group of fields inside a part, drawn as one fieldset.
#[derive(Debug)]
pub struct Group {
    /// Message id of the group's heading (may be empty for none).
    pub heading: String,
    pub slot: Option<usize>,
    pub fields: Vec<Field>,
    /// Optional questions drawn closed (a `<details>` under the heading)
    /// inside an open part, so the part shows only what is needed first.
    pub more: bool,
}

#[derive(Debug)]
pub struct Part {
    pub id: &'static str,
    pub groups: Vec<Group>,
}

fn field(name: &str, kind: Kind) -> Field {
    Field { name: name.into(), base: name.into(), slot: None, kind }
}

fn slotted(prefix: &str, slot: usize, rest: &str, kind: Kind) -> Field {
    Field { name: format!("{prefix}{slot}_{rest}"), base: format!("{prefix}_{rest}"), slot: Some(slot), kind }
}

fn group(heading: &str, fields: Vec<Field>) -> Group {
    Group { heading: heading.into(), slot: None, fields, more: false }
}

/// A group of optional questions, drawn closed under its heading.
fn more(heading: &str, fields: Vec<Field>) -> Group {
    Group { more: true, ..group(heading, fields) }
}

fn act_fields(code: &str) -> Vec<Field> {
    let mut fields = vec![
        Field { name: format!("act_{code}"), base: format!("act_{code}"), slot: None, kind: Kind::Check },
        Field {
            name: format!("act_{code}_basis"),
            base: "act_basis".into(),
            slot: None,
            kind: Kind::Choice { vocab: &BASIS, menu: true },
        },
        Field { name: format!("act_{code}_times"), base: "act_times".into(), slot: None, kind: Kind::Text { max: 40 } },
        Field {
            name: format!("act_{code}_where"),
            base: "act_where".into(),
            slot: None,
            kind: Kind::Choice { vocab: &PLACE_REF, menu: true },
        },
        Field { name: format!("act_{code}_who"), base: "act_who".into(), slot: None, kind: Kind::Text { max: SHORT } },
    ];
    if code == "blood_drawn" {
        fields.push(field("blood_amount", Kind::Choice { vocab: &BLOOD, menu: true }));
    }
    fields
}

fn build() -> Vec<Part> {
    let mut parts = vec![Part {
        id: "how",
        groups: vec![
            group("", vec![field("role", Kind::Multi { vocab: &ROLES })]),
            more(
                "g-how-more",
                vec![
                    field("role_other", Kind::Text { max: SHORT }),
                    field("on_behalf", Kind::Choice { vocab: &ON_BEHALF, menu: false }),
                    field("statement_language", Kind::Text { max: 100 }),
                    field("interview_languages", Kind::Text { max: SHORT }),
                ],
            ),
        ],
    }];

    parts.push(Part {
        id: "who",
        groups: vec![group(
            "",
            vec![
                field("community", Kind::Multi { vocab: &COMMUNITIES }),
                field("community_other", Kind::Text { max: SHORT }),
            ],
        )],
    });

    parts.push(Part {
        id: "where",
        groups: (1..=PLACE_SLOTS)
            .map(|i| Group {
                heading: "g-place".into(),
                more: false,
                slot: Some(i),
                fields: vec![
                    slotted("place", i, "region", Kind::Choice { vocab: &REGIONS, menu: true }),
                    slotted("place", i, "name", Kind::Text { max: SHORT }),
                    slotted("place", i, "facility", Kind::Choice { vocab: &FACILITIES, menu: true }),
                    slotted("place", i, "facility_name", Kind::Text { max: SHORT }),
                    slotted("place", i, "period", Kind::Text { max: SHORT }),
                    slotted("place", i, "moved_by", Kind::Choice { vocab: &MOVED_BY, menu: true }),
                ],
            })
            .collect(),
    });

    parts.push(Part {
        id: "when",
        groups: vec![group(
            "",
            vec![field("when_edtf", Kind::Text { max: 100 }), field("when_words", Kind::Area { max: MEDIUM })],
        )],
    });

    let mut what: Vec<Group> = ACT_GROUPS
        .iter()
        .map(|(group_id, codes)| Group {
            heading: format!("g-acts-{group_id}"),
            more: false,
            slot: None,
            fields: codes.iter().flat_map(|code| act_fields(code)).collect(),
        })
        .collect();
    what.push(group("g-medical-context", vec![field("medical_context", Kind::Multi { vocab: &MEDICAL_CONTEXT })]));
    what.push(group(
        "g-transplant",
        vec![
            field("wait_time", Kind::Text { max: 20 }),
            field("wait_unit", Kind::Choice { vocab: &WAIT_UNIT, menu: true }),
            field("transplant_hospital", Kind::Text { max: SHORT }),
            field("transplant_city", Kind::Text { max: SHORT }),
            field("transplant_year", Kind::Text { max: 20 }),
            field("transplant_price", Kind::Text { max: 100 }),
            field("transplant_broker", Kind::Text { max: SHORT }),
            field("donor_told", Kind::Area { max: MEDIUM }),
        ],
    ));
    parts.push(Part { id: "what", groups: what });

    parts.push(Part {
        id: "people",
        groups: (1..=PERSON_SLOTS)
            .map(|i| Group {
                heading: "g-person".into(),
                more: false,
                slot: Some(i),
                fields: vec![
                    slotted("person", i, "name_latin", Kind::Text { max: SHORT }),
                    slotted("person", i, "name_chinese", Kind::Text { max: SHORT }),
                    slotted("person", i, "name_native", Kind::Text { max: SHORT }),
                    slotted("person", i, "relationship", Kind::Text { max: SHORT }),
                    slotted("person", i, "last_seen_when", Kind::Text { max: SHORT }),
                    slotted("person", i, "last_seen_where", Kind::Text { max: SHORT }),
                    slotted("person", i, "what_happened", Kind::Area { max: MEDIUM }),
                    slotted("person", i, "reference", Kind::Text { max: SHORT }),
                ],
            })
            .collect(),
    });

    parts.push(Part {
        id: "responsible",
        groups: vec![group(
            "",
            vec![
                field("institution", Kind::Multi { vocab: &INSTITUTIONS }),
                field("named_individuals", Kind::Area { max: MEDIUM }),
            ],
        )],
    });

    parts.push(Part {
        id: "statement",
        groups: vec![group(
            "",
            vec![
                field("statement", Kind::Area { max: NARRATIVE }),
                field("prefer_person", Kind::Check),
                // Files come on the next page, under the receipt: a witness
                // with only files says so here.
                field("files_next", Kind::Check),
            ],
        )],
    });

    // Part 10 (files) is drawn by the template itself: file inputs are not
    // text fields. Their metadata choices and the links are fields.
    parts.push(Part { id: "files", groups: vec![group("", vec![field("links", Kind::Area { max: MEDIUM })])] });

    parts.push(Part {
        id: "consent",
        groups: vec![
            group("", vec![field("consent_store", Kind::Check)]),
            more(
                "g-consent-sharing",
                vec![
                    field("consent_partners", Kind::Choice { vocab: &PARTNER_LEVEL, menu: false }),
                    field("consent_official", Kind::Choice { vocab: &PARTNER_LEVEL, menu: false }),
                    field("consent_aggregate", Kind::Choice { vocab: &YES_NO, menu: false }),
                    field("consent_public", Kind::Choice { vocab: &PUBLIC_USE, menu: false }),
                ],
            ),
            more(
                "g-consent-identity",
                vec![
                    field("testify_publicly", Kind::Choice { vocab: &TESTIFY, menu: false }),
                    field("identify_as", Kind::Choice { vocab: &IDENTIFY_AS, menu: false }),
                    field("never_publish", Kind::Area { max: MEDIUM }),
                ],
            ),
            more(
                "g-consent-contact",
                vec![
                    field("contact_again", Kind::Choice { vocab: &YES_NO, menu: false }),
                    field("contact_for", Kind::Text { max: SHORT }),
                    field("ask_again", Kind::Choice { vocab: &ASK_AGAIN, menu: false }),
                ],
            ),
        ],
    });

    parts.push(Part {
        id: "safety",
        groups: vec![group(
            "",
            vec![
                field("contact_method", Kind::Choice { vocab: &CONTACT_METHOD, menu: false }),
                field("contact_handle", Kind::Text { max: SHORT }),
                field("safe_times", Kind::Text { max: SHORT }),
                field("code_word", Kind::Text { max: 100 }),
                field("family_in_prc", Kind::Choice { vocab: &FAMILY_IN_PRC, menu: false }),
                field("threats_received", Kind::Area { max: MEDIUM }),
                field("at_risk", Kind::Check),
                // Under 18 at the time, or a child among the people
                // described: "yes" sets the minor_involved flag on arrival.
                field("minor_involved", Kind::Choice { vocab: &MINOR, menu: false }),
                field("safety_notes", Kind::Area { max: MEDIUM }),
            ],
        )],
    });
    // What is needed comes first (how you know, the witness's own words,
    // consent), then safety, then the optional detail in the order of
    // DOMAIN.md. A usability review found the narrative 8th and the
    // required consent 10th.
    const ORDER: [&str; 11] =
        ["how", "statement", "consent", "safety", "who", "where", "when", "what", "people", "responsible", "files"];
    parts.sort_by_key(|p| ORDER.iter().position(|id| *id == p.id).unwrap_or(ORDER.len()));
    parts
}

/// The parts open when the form is first shown: what is needed.
pub const OPEN_PARTS: [&str; 3] = ["how", "statement", "consent"];

/// The form's parts, built once.
pub static PARTS: LazyLock<Vec<Part>> = LazyLock::new(build);

/// What assisted intake adds (an investigator filing on a witness's
/// behalf). Never accepted from the public form.
pub static ASSISTED: LazyLock<Part> = LazyLock::new(|| Part {
    id: "assisted",
    groups: vec![group(
        "",
        vec![
            field("interviewer", Kind::Text { max: SHORT }),
            field("interpreter", Kind::Text { max: SHORT }),
            field("interview_setting", Kind::Text { max: SHORT }),
            field("interview_duration", Kind::Text { max: 100 }),
            field("support_person", Kind::Choice { vocab: &YES_NO, menu: false }),
        ],
    )],
});

/// Looks a field of the public form up by its submitted name.
pub fn find(name: &str) -> Option<&'static Field> {
    PARTS.iter().flat_map(|p| &p.groups).flat_map(|g| &g.fields).find(|f| f.name == name)
}

/// Looks a field up in the public form or the assisted-intake part.
pub fn find_any(name: &str) -> Option<&'static Field> {
    find(name).or_else(|| ASSISTED.groups.iter().flat_map(|g| &g.fields).find(|f| f.name == name))
}

/// Every act code, in form order.
pub fn act_codes() -> impl Iterator<Item = &'static str> {
    ACT_GROUPS.iter().flat_map(|(_, codes)| codes.iter().copied())
}

/// Fields that are not free text but choices, with the metadata choice of
/// each file slot (`attachment_metadata`, once per slot, in slot order).
pub const ATTACHMENT_METADATA: &str = "attachment_metadata";

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn field_names_are_unique() {
        let mut seen = HashSet::new();
        for part in PARTS.iter() {
            for group in &part.groups {
                for field in &group.fields {
                    assert!(seen.insert(field.name.clone()), "duplicate field {}", field.name);
                }
            }
        }
        assert!(seen.contains("statement"));
        assert!(seen.len() > 250);
    }

    #[test]
    fn twelve_parts_with_the_briefing_and_files_drawn_by_the_template() {
        // Part 1 (before you start) is the briefing; the other eleven are here.
        assert_eq!(PARTS.len(), 11);
    }
}

#[cfg(test)]
mod order {
    use super::*;

    #[test]
    fn what_is_needed_comes_first() {
        let ids: Vec<&str> = PARTS.iter().map(|p| p.id).collect();
        assert_eq!(&ids[..3], &OPEN_PARTS);
        assert_eq!(ids.len(), 11);
    }
}
