//! What the form template asks of the submitted values, in words it can
//! use: labels, help, whether a box is ticked, the problem next to a field.

use crate::i18n::Tr;

use super::form::{FormValues, Problems};
use super::schema::{Field, Group, Kind, OPEN_PARTS, Part, Vocab};

/// A row of the form: a field, and for an act's checkbox the details that
/// open under it.
pub struct Row<'f> {
    pub field: &'f Field,
    pub details: Vec<&'f Field>,
}

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
            Kind::Area { max } if max >= super::schema::NARRATIVE => 7,
            _ => 4,
        }
    }

    pub fn problem_count(&self) -> usize {
        self.problems.fields.len()
    }

    /// Whether the witness gave anything for `field`.
    fn answered(&self, field: &Field) -> bool {
        self.values.all(&field.name).iter().any(|v| !v.trim().is_empty())
    }

    fn touched(&self, field: &Field) -> bool {
        self.answered(field) || self.has_problem(field)
    }

    /// A part is open when it holds what is needed, or anything the witness
    /// typed or must fix: a form shown again never hides their words.
    pub fn part_open(&self, part: &Part) -> bool {
        OPEN_PARTS.contains(&part.id) || part.groups.iter().flat_map(|g| &g.fields).any(|f| self.touched(f))
    }

    /// The same for a closed group of optional questions.
    pub fn group_open(&self, group: &Group) -> bool {
        group.fields.iter().any(|f| self.touched(f))
    }

    /// The group's fields as rows: each act with its details under it.
    pub fn rows_of<'f>(&self, group: &'f Group) -> Vec<Row<'f>> {
        let mut rows: Vec<Row<'f>> = Vec::new();
        for field in &group.fields {
            match rows.last_mut() {
                Some(row) if self.is_act_detail(field) && self.is_act(row.field) => row.details.push(field),
                _ => rows.push(Row { field, details: Vec::new() }),
            }
        }
        rows
    }

    /// Whether an act's details should be open (something in them).
    pub fn details_open(&self, row: &Row<'_>) -> bool {
        row.details.iter().any(|f| self.touched(f))
    }

    /// Every problem as (anchor, message), in the order of the page.
    pub fn problems_in_order(&self, parts: &[&Part]) -> Vec<(String, String)> {
        let mut shown = Vec::new();
        for field in parts.iter().flat_map(|p| &p.groups).flat_map(|g| &g.fields) {
            if let Some(message) = self.problem(&field.name) {
                shown.push((field.name.clone(), message));
            }
        }
        // Problems not tied to a drawn field (a file's choice), last.
        for name in self.problems.fields.keys() {
            if !shown.iter().any(|(n, _)| n == name)
                && let Some(message) = self.problem(name)
            {
                shown.push((name.clone(), message));
            }
        }
        shown
    }
}

/// A size as a witness reads it: "840 bytes", "12 KB", "2.4 MB", "1.1 GB"
/// (decimal units, one decimal below ten).
pub fn human_size(t: Tr, bytes: impl std::borrow::Borrow<u64>) -> String {
    let bytes = *bytes.borrow();
    const UNITS: [(&str, u64); 3] = [("size-gb", 1_000_000_000), ("size-mb", 1_000_000), ("size-kb", 1_000)];
    for (id, unit) in UNITS {
        if bytes >= unit {
            let value = bytes as f64 / unit as f64;
            let shown = if value < 10.0 { format!("{value:.1}") } else { format!("{value:.0}") };
            return t.t1(id, "n", shown);
        }
    }
    t.t1("size-bytes", "n", bytes)
}
