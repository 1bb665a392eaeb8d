//! What the form template asks of the submitted values, in words it can
//! use: labels, help, whether a box is ticked, the problem next to a field.

use crate::i18n::Tr;

use super::form::{FormValues, Problems};
use super::schema::{Field, Group, Kind, Part, Vocab};

pub struct FormView<'a> {
    pub t: Tr,
    pub values: &'a FormValues,
    pub problems: &'a Problems,
}

impl FormView<'_> {
    pub fn part_title(&self, part: &Part) -> String {
        self.t.t(&format!("part-{}", part.id))
    }

    pub fn part_intro(&self, part: &Part) -> Option<String> {
        let id = format!("part-{}-intro", part.id);
        self.t.has(&id).then(|| self.t.t(&id))
    }

    pub fn group_heading(&self, group: &Group) -> String {
        if group.heading.is_empty() {
            return String::new();
        }
        match group.slot {
            Some(n) => self.t.t1(&group.heading, "n", n),
            None => self.t.t(&group.heading),
        }
    }

    pub fn label(&self, field: &Field) -> String {
        self.t.t(&format!("f-{}", field.base))
    }

    pub fn help(&self, field: &Field) -> Option<String> {
        let id = format!("h-{}", field.base);
        self.t.has(&id).then(|| self.t.t(&id))
    }

    pub fn option(&self, vocab: &Vocab, code: &str) -> String {
        self.t.t(&format!("v-{}-{code}", vocab.id))
    }

    pub fn value(&self, field: &Field) -> &str {
        self.values.text(&field.name)
    }

    pub fn checked(&self, field: &Field, code: &str) -> bool {
        self.values.has(&field.name, code)
    }

    pub fn problem(&self, field_name: &str) -> Option<String> {
        self.problems.fields.get(field_name).map(|(id, n)| self.t.t1(id, "max", n))
    }

    pub fn has_problem(&self, field: &Field) -> bool {
        self.problems.fields.contains_key(&field.name)
    }

    /// An act's own checkbox (drawn as the head of its row).
    pub fn is_act(&self, field: &Field) -> bool {
        matches!(field.kind, Kind::Check) && field.name.starts_with("act_")
    }

    /// One of the details that follow an act's checkbox.
    pub fn is_act_detail(&self, field: &Field) -> bool {
        field.base.starts_with("act_") && !self.is_act(field) || field.name == "blood_amount"
    }

    /// How to draw a field: "text", "area", "radio", "select", "checkboxes"
    /// or "check".
    pub fn input_kind(&self, field: &Field) -> &'static str {
        match field.kind {
            Kind::Text { .. } => "text",
            Kind::Area { .. } => "area",
            Kind::Choice { menu: true, .. } => "select",
            Kind::Choice { menu: false, .. } => "radio",
            Kind::Multi { .. } => "checkboxes",
            Kind::Check => "check",
        }
    }

    /// The options of a choice field: (code, label, chosen).
    pub fn options(&self, field: &Field) -> Vec<(&'static str, String, bool)> {
        match field.kind {
            Kind::Choice { vocab, .. } | Kind::Multi { vocab } => {
                vocab.codes.iter().map(|code| (*code, self.option(vocab, code), self.checked(field, code))).collect()
            }
            _ => Vec::new(),
        }
    }

    /// Free-text fields are read in any script: `dir="auto"` on each.
    pub fn rows(&self, field: &Field) -> usize {
        match field.kind {
            Kind::Area { max } if max >= super::schema::NARRATIVE => 14,
            _ => 4,
        }
    }

    pub fn metadata_selected(&self, slot: usize, code: &str) -> bool {
        self.values.metadata_choice(slot) == code
    }

    pub fn problem_count(&self) -> usize {
        self.problems.fields.len()
    }
}
