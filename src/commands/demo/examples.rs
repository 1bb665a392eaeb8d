//! The demo's example statements: a workspace worth looking at on the first
//! run. Five made-up statements, filed through the case layer as the
//! public form and assisted intake file them (so they are sealed, receipted
//! and indexed like any other), then worked on by the demo admin through
//! the same typed changes a reviewer makes, so the audit log shows real
//! work. Each record carries the `example` mark, and every page that shows
//! one says it is an example.
//!
//! The texts are invented for this demo and are about no one: short,
//! plausible, and in four scripts (Latin, Cyrillic, Arabic, Han) so that
//! search, `dir="auto"` and the language filter have something to show.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use axum::body::Bytes;
use zeroize::Zeroizing;

use crate::case::triage::Evaluation;
use crate::case::{Cases, Change, Filed, Intake, NewFile, NewStatement, Reader, WorkflowState};
use crate::clock::{Clock, Day, Timestamp};
use crate::intake::form::{self, FormValues};
use crate::intake::upload::{FileSink, SealedFile};
use crate::state::AppState;
use crate::storage::{AccountName, Holder};

/// What the demo made, to print.
pub struct Seeded {
    /// One line per example: id and what it shows.
    pub lines: Vec<String>,
    /// The receipt of the example with a reply waiting, for the witness's
    /// follow-up page.
    pub receipt: Zeroizing<String>,
}

/// Files the examples and works on them as `admin`. Takes a moment (each
/// statement is sealed and fsynced like a real one).
pub async fn seed(state: &AppState, admin: &AccountName, recovery_key: &Path) -> Result<Seeded, String> {
    let target = state.cases.intake_target().map_err(|e| e.to_string())?;
    // The photo is sealed as an upload is, cleaned copy and all.
    let sink = FileSink::start(state.store.clone(), target.recipients(), true);
    sink.send(Bytes::from(example_png())).await?;
    let photo = sink.finish().await?;
    let (state, admin, recovery_key) = (state.clone(), admin.clone(), recovery_key.to_path_buf());
    tokio::task::spawn_blocking(move || seed_blocking(&state, admin, &recovery_key, photo))
        .await
        .map_err(|e| format!("the examples could not be made: {e}"))?
}

fn seed_blocking(
    state: &AppState,
    admin: AccountName,
    recovery_key: &Path,
    photo: SealedFile,
) -> Result<Seeded, String> {
    let cases = &state.cases;
    let target = cases.intake_target().map_err(|e| e.to_string())?;
    // The demo holds the recovery key, which opens the desk key: the admin
    // acts with it as a signed-in member would with theirs.
    let recovery = crate::crypto::read_identity_file(recovery_key)?;
    let desk_key = crate::custody::unwrap(&state.store, &target.desk, target.generation, &Holder::Recovery, &recovery)
        .map_err(|e| format!("cannot open the demo desk: {e}"))?;
    let reader =
        Reader::new(admin.clone(), [(target.desk.clone(), vec![(target.generation, Arc::new(desk_key))])].into());
    let work = Work { cases, reader: &reader };
    let today = state.clock.today();
    let mut lines = Vec::new();

    // 1. Four days old and never opened: the safety screen is overdue.
    // A clock four days behind files it as the form would have then.
    let earlier = Cases::new(state.store.clone(), state.audit.clone(), Arc::new(DaysAgo(state.clock.clone(), 4)));
    let overdue = file(
        &earlier,
        "en",
        today.plus_days(-4),
        Intake::Web,
        vec![],
        &[
            ("role", "detained_self"),
            ("on_behalf", "self"),
            ("statement_language", "English"),
            ("community", "falun_gong"),
            ("place1_region", "elsewhere_prc"),
            ("place1_facility", "detention_centre"),
            ("place1_period", "eleven days"),
            ("when_edtf", "2019-21"),
            ("act_blood_drawn", "yes"),
            ("act_blood_drawn_basis", "happened_to_me"),
            ("blood_amount", "several_tubes"),
            ("act_chest_xray", "yes"),
            ("act_ultrasound", "yes"),
            (
                "statement",
                "I practise Falun Gong. In the spring of 2019 I was held for eleven days in a district detention \
             centre. On the third day a nurse took four tubes of my blood, and I had a chest X-ray and an \
             ultrasound. The guards said it was a routine check, but the other women in my cell, who were \
             held for other reasons, were not examined. I left China last year and my visa runs out soon.",
            ),
            ("at_risk", "yes"),
            ("consent_store", "yes"),
            ("contact_again", "yes"),
        ],
    )?;
    lines.push(line(&overdue.id, "received 4 days ago, not opened: safety screen overdue; urgent (English)"));

    // 2. Arrived today: the safety screen is due in two days.
    let due = file(
        cases,
        "kk-Cyrl",
        today,
        Intake::Web,
        vec![],
        &[
            ("role", "family_or_friend"),
            ("on_behalf", "self"),
            ("statement_language", "Қазақша"),
            ("community", "kazakh"),
            ("place1_region", "xinjiang"),
            ("place1_facility", "legal_education"),
            ("when_edtf", "2019"),
            (
                "statement",
                "Менің әкем 2019 жылы «білім беру орталығына» жіберілді. Содан бері біз одан хабар алған жоқпыз. \
             Туыстарым Қытайда қалды, сондықтан атымды жазбаймын.",
            ),
            ("family_in_prc", "yes"),
            ("consent_store", "yes"),
            ("consent_aggregate", "yes"),
        ],
    )?;
    lines.push(line(&due.id, "received today: safety screen due; high, family in the PRC (Kazakh, Cyrillic)"));

    // 3. Screened and in review, assigned, labelled, with a note.
    let review = file(
        cases,
        "ug",
        today,
        Intake::Web,
        vec![],
        &[
            ("role", "family_or_friend"),
            ("on_behalf", "self"),
            ("statement_language", "ئۇيغۇرچە"),
            ("community", "uyghur"),
            ("place1_region", "east_turkistan"),
            ("place1_facility", "camp"),
            ("when_edtf", "2017"),
            (
                "statement",
                "مېنىڭ ئىنىم 2017-يىلى ساقچىلار تەرىپىدىن ئېلىپ كېتىلدى. شۇنىڭدىن بۇيان ئۇنىڭدىن ھېچقانداق خەۋەر يوق. \
             ئانام تېلېفوندا «بۇ ھەقتە سورىما» دېدى.",
            ),
            ("family_in_prc", "yes"),
            ("threats_received", "ماڭا نامەلۇم نومۇردىن تېلېفون كېلىپ، ئائىلەمنى تىلغا ئالدى."),
            ("consent_store", "yes"),
            ("consent_partners", "anonymised"),
            ("contact_again", "yes"),
        ],
    )?;
    work.read(&review.id)?;
    work.state(&review.id, WorkflowState::SafetyScreen)?;
    work.change(
        &review.id,
        Change::Triage {
            priority: "high".into(),
            flags: set(&["family_in_prc", "transnational_repression"]),
            labels: set(&["community:uyghur", "region:xinjiang", "act:disappearance:taken_not_returned"]),
            assigned_to: Some(admin.clone()),
        },
    )?;
    work.change(
        &review.id,
        Change::Note(
            "Safety screen done. No contact details given; the family is in the PRC and has been called. \
             Never contact the witness through relatives."
                .into(),
        ),
    )?;
    work.state(&review.id, WorkflowState::InReview)?;
    lines.push(line(&review.id, "in review, assigned to you, labelled, with a note; high (Uyghur, Arabic script)"));

    // 4. Needs follow-up: a reply to the witness, and the witness's answer.
    let follow_up = file(
        cases,
        "zh-Hans",
        today,
        Intake::Web,
        vec![],
        &[
            ("role", "health_worker"),
            ("on_behalf", "self"),
            ("statement_language", "中文"),
            ("place1_region", "elsewhere_prc"),
            ("place1_facility", "civilian_hospital"),
            ("when_edtf", "2016~"),
            ("act_blood_drawn", "yes"),
            ("act_blood_drawn_basis", "saw_it"),
            ("act_tissue_typing", "yes"),
            ("act_tissue_typing_basis", "saw_it"),
            ("medical_context", "repeatedly"),
            ("medical_context", "no_results"),
            (
                "statement",
                "我曾在一家医院的化验科工作。2016年前后，我们多次被要求为从看守所送来的被拘押人员抽血并做配型检查，\
             但不告诉他们结果。科里的人私下说，这些检查和移植有关。",
            ),
            ("consent_store", "yes"),
            ("consent_partners", "anonymised"),
            ("consent_aggregate", "yes"),
            ("contact_again", "yes"),
        ],
    )?;
    work.read(&follow_up.id)?;
    work.state(&follow_up.id, WorkflowState::InReview)?;
    work.change(
        &follow_up.id,
        Change::Triage {
            priority: "high".into(),
            flags: set(&["insider_source"]),
            labels: set(&["role:health_worker", "act:medical:tissue_typing", "facility:看守所"]),
            assigned_to: None,
        },
    )?;
    work.change(
        &follow_up.id,
        Change::Reply("谢谢您的陈述。您还记得那家医院在哪个城市吗？如果不方便写城市，写省份也可以。".into()),
    )?;
    work.state(&follow_up.id, WorkflowState::NeedsFollowUp)?;
    let mut case = cases
        .open_by_receipt(&follow_up.receipt)
        .map_err(|e| e.to_string())?
        .ok_or("the example receipt opens nothing")?;
    cases.answer(&mut case, "记得。我更愿意通过视频当面说，可以吗？".into()).map_err(|e| e.to_string())?;
    lines.push(line(
        &follow_up.id,
        "needs follow-up: a reply sent and a new answer from the witness; insider source (Chinese)",
    ));

    // 5. Filed by an investigator with a photo, evaluated and finalized.
    let photo = NewFile {
        slot: 0,
        name: "release-slip-example.png".into(),
        declared_type: "image/png".into(),
        metadata_choice: "make_clean_copy".into(),
        sealed: photo,
    };
    let finalized = file(
        cases,
        "en",
        today,
        Intake::Assisted { by: admin.clone() },
        vec![photo],
        &[
            ("interviewer", "Field team (example)"),
            ("interpreter", "Uyghur to English, a volunteer known to the team"),
            ("interview_setting", "A private room at a community centre"),
            ("interview_duration", "about 90 minutes"),
            ("support_person", "yes"),
            ("role", "detained_self"),
            ("on_behalf", "self"),
            ("statement_language", "English (interpreted from Uyghur)"),
            ("community", "uyghur"),
            ("place1_region", "xinjiang"),
            ("place1_facility", "camp"),
            ("place1_period", "about ten months"),
            ("when_edtf", "2018/2019"),
            ("act_blood_drawn", "yes"),
            ("act_blood_drawn_basis", "happened_to_me"),
            ("act_chest_xray", "yes"),
            ("act_eye_exam", "yes"),
            ("act_biometrics", "yes"),
            ("medical_context", "only_my_group"),
            (
                "statement",
                "In 2018 I was held in a camp for about ten months. In the first week everyone in my room had blood \
             taken, a chest X-ray and an eye scan, and we had to read into a microphone. A guard said the \
             results would go \"to the hospital\". On release I was given an appointment slip, which I kept; \
             the photo of it is attached.",
            ),
            ("consent_store", "yes"),
            ("consent_partners", "anonymised"),
            ("consent_aggregate", "yes"),
            ("consent_public", "paraphrase"),
            ("identify_as", "code"),
            ("contact_again", "yes"),
        ],
    )?;
    work.read(&finalized.id)?;
    work.state(&finalized.id, WorkflowState::InReview)?;
    work.change(
        &finalized.id,
        Change::Triage {
            priority: "normal".into(),
            flags: BTreeSet::new(),
            labels: set(&[
                "community:uyghur",
                "region:xinjiang",
                "act:medical:blood_drawn",
                "act:medical:eye_exam",
                "evidence:document",
            ]),
            assigned_to: Some(admin.clone()),
        },
    )?;
    work.change(
        &finalized.id,
        Change::Evaluation(Evaluation {
            source_reliability: Some("likely_reliable".into()),
            source_reliability_why: "Interviewed in person; consistent over two sessions.".into(),
            credibility: Some(2),
            credibility_why: "Matches the pattern of testing described by other witnesses.".into(),
            corroboration: Some("partially".into()),
            corroborated_by: vec![follow_up.id.clone()],
            violation_status: Some("likely".into()),
            verification: Some("partially_verified".into()),
            publication: Some("anonymised".into()),
            publication_why: "The witness agreed to paraphrase under a code name.".into(),
        }),
    )?;
    work.state(&finalized.id, WorkflowState::PeerReview)?;
    work.change(&finalized.id, Change::Note("Peer review: agreed. The slip's photo has a cleaned copy.".into()))?;
    work.state(&finalized.id, WorkflowState::Finalized)?;
    lines.push(line(&finalized.id, "finalized: assisted intake, a photo with a cleaned copy, an evaluation (English)"));

    Ok(Seeded { lines, receipt: follow_up.receipt.grouped() })
}

/// The demo admin at work on the examples: each change is checked,
/// audited and stored as a reviewer's would be.
struct Work<'a> {
    cases: &'a Cases,
    reader: &'a Reader,
}

impl Work<'_> {
    fn change(&self, id: &str, change: Change) -> Result<(), String> {
        // Authorized afresh each time, so each change starts from the
        // statement as stored (the audit entry names the state it left).
        let statement = self.cases.authorize(self.reader.clone(), id).map_err(|e| e.to_string())?;
        self.cases.change(&statement, change).map(|_| ()).map_err(|e| format!("an example change failed: {e}"))
    }

    fn state(&self, id: &str, to: WorkflowState) -> Result<(), String> {
        self.change(id, Change::State { to, reason: String::new(), duplicate_of: None })
    }

    /// Opens the statement as a reviewer does (audited first).
    fn read(&self, id: &str) -> Result<(), String> {
        let statement = self.cases.authorize(self.reader.clone(), id).map_err(|e| e.to_string())?;
        let permit = self.cases.permit_view(&statement).map_err(|e| e.to_string())?;
        self.cases.view(&statement, &permit).map(|_| ()).map_err(|e| e.to_string())
    }
}

/// Files one example from form answers, checked as the form checks them.
fn file(
    cases: &Cases,
    form_language: &'static str,
    day: Day,
    intake: Intake,
    files: Vec<NewFile>,
    answers: &[(&str, &str)],
) -> Result<Filed, String> {
    let mut values = FormValues::default();
    for (name, value) in answers {
        values.push(name, value);
    }
    let problems = form::validate(&values, files.len());
    if !problems.is_empty() {
        return Err(format!("an example statement does not pass the form's checks: {:?}", problems.fields));
    }
    let (fields, identity_fields) = form::documents(&values);
    let statement =
        NewStatement { fields, identity_fields, consent: form::consent_records(&values, day), files, form_language };
    let target = cases.intake_target().map_err(|e| e.to_string())?;
    cases.file_example(target, statement, intake).map_err(|e| format!("an example could not be filed: {e}"))
}

fn line(id: &str, what: &str) -> String {
    format!("{}…  {what}", &id[..12])
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// A clock some days behind another, to file an example that arrived
/// earlier (days only: no witness's time is ever kept finer).
struct DaysAgo(Arc<dyn Clock>, u64);

impl Clock for DaysAgo {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.now().0.saturating_sub(self.1 * 86_400))
    }
}

/// A small PNG drawn here: a grey card with a darker band, standing in for
/// a photographed document, with a made-up text chunk of the kind cameras
/// and editors write, so the cleaned copy has something to leave out.
fn example_png() -> Vec<u8> {
    const WIDTH: u32 = 64;
    const HEIGHT: u32 = 40;
    let mut pixels = Vec::new();
    for y in 0..HEIGHT {
        pixels.push(0); // filter: none
        for x in 0..WIDTH {
            let band = (14..22).contains(&y) && (8..56).contains(&x);
            let shade = if band { 0x55 } else { 0xd8 };
            pixels.extend([shade, shade, shade]);
        }
    }
    let mut header = Vec::new();
    header.extend(WIDTH.to_be_bytes());
    header.extend(HEIGHT.to_be_bytes());
    header.extend([8, 2, 0, 0, 0]); // 8-bit RGB, no interlace
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png_chunk(&mut png, b"IHDR", &header);
    png_chunk(&mut png, b"tEXt", b"Comment\0EXAMPLE made by testimony demo; not a real photograph");
    png_chunk(&mut png, b"IDAT", &zlib_stored(&pixels));
    png_chunk(&mut png, b"IEND", &[]);
    png
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend((data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend(crc.to_be_bytes());
}

/// A zlib stream of stored (uncompressed) blocks: valid, and small enough
/// for a picture this size.
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = data.chunks(0xFFFF).collect();
    for (i, block) in blocks.iter().enumerate() {
        out.push(u8::from(i + 1 == blocks.len()));
        let len = block.len() as u16;
        out.extend(len.to_le_bytes());
        out.extend((!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in data {
        a = (a + u32::from(byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    out.extend(((b << 16) | a).to_be_bytes());
    out
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_photo_is_a_png_the_cleaner_accepts_and_strips() {
        let png = example_png();
        let cleaned = crate::intake::clean::clean(&png).expect("a valid PNG");
        assert!(cleaned.len() < png.len(), "the text chunk is left out");
        assert!(!cleaned.windows(7).any(|w| w == b"EXAMPLE"));
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926, "the standard check value");
    }
}
