//! Fuzz entry points: one function per parser of untrusted input, each
//! taking raw bytes and calling the same code the server or the command
//! line runs on what arrives from outside, then checking what can be
//! checked cheaply about the answer. A panic is a finding.
//!
//! Two drivers call them: the cargo-fuzz targets in `fuzz/` (nightly,
//! coverage-guided) and `tests/fuzz_entry_points.rs` (stable: the seed
//! corpus, every crash kept in `fuzz/regressions/`, and proptest bytes), so
//! the targets cannot rot. [`TARGETS`] lists them; each has a directory of
//! seeds `fuzz/corpus/NAME/` and a target `fuzz/fuzz_targets/NAME.rs`.
//!
//! Nothing here writes to the file system or the network: bodies, logs
//! and backups are read from memory, as the real readers allow.

use std::convert::Infallible;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;

use crate::audit::{self, Record, export};
use crate::backup::{self, Check};
use crate::case::manifest::Evidence;
use crate::case::receipt::{DIGITS, Parsed, Receipt};
use crate::config::{ConfigFile, ServeConfig, ServeFlags};
use crate::crypto::SigningKey;
use crate::i18n::{self, Lang, Tr};
use crate::intake::clean;
use crate::intake::form::{self, FormValues};
use crate::intake::part_heads::HeadGuard;
use crate::intake::{WitnessLang, followup, schema, submit};

/// An entry point: raw bytes in, a panic when something is wrong.
pub type Entry = fn(&[u8]);

/// Every entry point, by the name of its fuzz target and corpus directory.
pub const TARGETS: &[(&str, Entry)] = &[
    ("multipart", multipart),
    ("form", form),
    ("receipt", receipt),
    ("lang", lang),
    ("jpeg", jpeg),
    ("png", png),
    ("audit_line", audit_line),
    ("audit_verify", audit_verify),
    ("checkpoint", checkpoint),
    ("manifest", manifest),
    ("backup", backup),
    ("config", config),
];

/// The boundary of the multipart bodies [`multipart`] reads.
pub const BOUNDARY: &str = "fuzzB0undary";

/// The seed of the key [`manifest`] trusts, so that seeds signed with it
/// reach the end of verification with a trusted key.
pub const MANIFEST_KEY_SEED: [u8; 32] = [0x5A; 32];

/// One current-thread runtime for the async parsers, made once: the
/// multipart reader and axum's extractors are async but do no I/O here.
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    // Invariant: a current-thread runtime without I/O or timers only fails
    // to build when the process cannot make one at all.
    #[allow(clippy::expect_used)]
    RUNTIME
        .get_or_init(|| tokio::runtime::Builder::new_current_thread().build().expect("a tokio runtime"))
        .block_on(future)
}

/// `POST /submit` and `POST /followup/files`: the first byte says how the
/// body is cut into chunks (0: whole; n: n bytes each), the rest is the
/// body, sent with `boundary=` [`BOUNDARY`]. It goes through the part-header
/// guard and axum's multipart reader (multer) exactly as a request does,
/// and is read part by part as `submit::receive` reads it: text fields
/// capped as there, into [`FormValues`], then validated against the schema
/// and turned into the documents that would be sealed; files are read to
/// their end and, like a file the witness wants a cleaned copy of, cleaned.
///
/// Checked: the guard gives the same verdict however the body is cut.
pub fn multipart(data: &[u8]) {
    let Some((&cut, body)) = data.split_first() else { return };
    let size = if cut == 0 { body.len().max(1) } else { usize::from(cut) };

    let mut whole = HeadGuard::new(BOUNDARY);
    let mut chunked = HeadGuard::new(BOUNDARY);
    let in_one = whole.feed(body).is_ok();
    let in_pieces = body.chunks(size).all(|c| chunked.feed(c).is_ok());
    assert_eq!(in_one, in_pieces, "the part-header guard depends on how the body is cut ({size}-byte chunks)");

    let chunks: Vec<Result<Bytes, Infallible>> = body.chunks(size).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
    let request = Request::post("/submit")
        .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={BOUNDARY}"))
        .body(Body::from_stream(futures_util::stream::iter(chunks)));
    let Ok(request) = request else { return };
    block_on(async {
        let Ok(mut multipart) = submit::open_multipart_anyway(request).await else { return };
        let mut values = FormValues::default();
        let (mut parts, mut files) = (0usize, 0usize);
        while let Ok(Some(mut field)) = multipart.next_field().await {
            parts += 1;
            if parts > submit::MAX_PARTS {
                return;
            }
            let name = field.name().unwrap_or("").to_string();
            if name == "attachment" {
                let _name: String = field.file_name().unwrap_or("").chars().take(255).collect();
                let _type: String = field.content_type().unwrap_or("").chars().take(100).collect();
                let mut file = Vec::new();
                while let Ok(Some(chunk)) = field.chunk().await {
                    file.extend_from_slice(&chunk);
                }
                files += 1;
                if values.metadata_choice(files - 1) == "make_clean_copy" {
                    check_cleaning(&file);
                }
            } else {
                let (cap, keep) = submit::text_field_cap(schema::find, &name);
                let mut bytes = Vec::new();
                let mut sent = 0usize;
                while let Ok(Some(chunk)) = field.chunk().await {
                    sent += chunk.len();
                    if sent > cap + submit::TEXT_FIELD_SLACK {
                        return;
                    }
                    let room = cap.saturating_sub(bytes.len());
                    bytes.extend_from_slice(&chunk[..chunk.len().min(room)]);
                }
                if keep {
                    values.push(&name, &String::from_utf8_lossy(&bytes));
                }
            }
        }
        let _problems = form::validate(&values, files);
        let _documents = form::documents(&values);
        if let Some(day) = crate::clock::Day::from_civil(2026, 11, 29) {
            let _consent = form::consent_records(&values, day);
        }
    });
}

/// The urlencoded forms: every witness form of `/followup` through axum's
/// `Form` as its handler receives it (and the consent answers checked
/// against their vocabularies), and the review side's decoding (sign-in,
/// signed-in forms and the triage parsing on them, list and audit queries).
pub fn form(data: &[u8]) {
    fn post(data: &[u8]) -> Option<Request> {
        Request::post("/followup")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(data.to_vec()))
            .ok()
    }
    block_on(async {
        use axum::Form;
        if let Some(r) = post(data)
            && let Ok(Form(consent)) = Form::<followup::ConsentForm>::from_request(r, &()).await
        {
            let _ = consent.changes();
        }
        if let Some(r) = post(data) {
            let _ = Form::<followup::ReceiptForm>::from_request(r, &()).await;
        }
        if let Some(r) = post(data) {
            let _ = Form::<followup::AnswerForm>::from_request(r, &()).await;
        }
        if let Some(r) = post(data) {
            let _ = Form::<followup::WithdrawForm>::from_request(r, &()).await;
        }
        if let Some(r) = post(data) {
            let _ = Form::<followup::ManifestForm>::from_request(r, &()).await;
        }
        crate::review::decode_for_fuzzing(data).await;
    });
}

/// A receipt as a witness types it (`Receipt::parse`).
///
/// Checked: a receipt and its verdict agree; one that parses is 28 ASCII
/// digits, and its grouped display parses back to the same receipt.
pub fn receipt(data: &[u8]) {
    let typed = String::from_utf8_lossy(data);
    match Receipt::parse(&typed) {
        (Some(receipt), Parsed::Receipt) => {
            let digits = receipt.digits();
            assert!(digits.len() == DIGITS && digits.bytes().all(|b| b.is_ascii_digit()), "a receipt of {digits:?}");
            let (back, how) = Receipt::parse(&receipt.grouped());
            assert_eq!(how, Parsed::Receipt, "a receipt's display does not parse");
            assert_eq!(back.as_ref().map(Receipt::digits), Some(digits), "a receipt's display is another receipt");
        }
        (None, Parsed::Mistyped) => {}
        (r, how) => panic!("receipt {:?} with verdict {how:?}", r.is_some()),
    }
}

/// The witness's language: the part before the first newline is the query
/// string (`?lang=`…), the rest the `Accept-Language` header. Through the
/// `WitnessLang` extractor as a request reaches it, and `negotiate` as
/// text.
///
/// Checked: the answer is a language of the contract, and a code that
/// names one names it again.
pub fn lang(data: &[u8]) {
    let (query, accept) = match data.iter().position(|b| *b == b'\n') {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    let query_text = String::from_utf8_lossy(query);
    let accept_text = String::from_utf8_lossy(accept);
    for explicit in [None, Some(query_text.as_ref())] {
        let chosen = i18n::negotiate(explicit, Some(&accept_text));
        assert!(Lang::ALL.contains(&chosen));
    }
    if let Some(lang) = Lang::from_code(&query_text) {
        assert_eq!(Lang::from_code(lang.code()), Some(lang));
    }
    let mut request = Request::get(format!("/submit?{query_text}"));
    if let Ok(value) = axum::http::HeaderValue::from_bytes(accept) {
        request = request.header(header::ACCEPT_LANGUAGE, value);
    }
    let Ok(request) = request.body(()) else { return };
    let (mut parts, ()) = request.into_parts();
    let Ok(WitnessLang(t)) = block_on(WitnessLang::from_request_parts(&mut parts, &()));
    assert!(Lang::ALL.contains(&t.lang));
    assert_eq!(t.html_lang(), Tr::new(t.lang).html_lang());
}

/// The cleaner on a JPEG (the bytes after its start-of-image marker).
pub fn jpeg(data: &[u8]) {
    let mut bytes = vec![0xFF, 0xD8];
    if data.starts_with(&bytes) {
        bytes.clear();
    }
    bytes.extend_from_slice(data);
    check_cleaning(&bytes);
}

/// The cleaner on a PNG (the bytes after its signature).
pub fn png(data: &[u8]) {
    const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
    let mut bytes = SIGNATURE.to_vec();
    if data.starts_with(SIGNATURE) {
        bytes.clear();
    }
    bytes.extend_from_slice(data);
    check_cleaning(&bytes);
}

/// Checked: a cleaned copy is never larger than the file, is itself
/// accepted by the cleaner, and comes out of it unchanged.
fn check_cleaning(bytes: &[u8]) {
    let Ok(copy) = clean::clean(bytes) else { return };
    assert!(copy.len() <= bytes.len(), "a cleaned copy of {} bytes grew to {}", bytes.len(), copy.len());
    match clean::clean(&copy) {
        Ok(again) => assert!(again[..] == copy[..], "cleaning a cleaned copy changed it"),
        Err(e) => panic!("a cleaned copy is refused by the cleaner: {e}"),
    }
}

/// Audit log lines, one per line of input, as the verifier and the audit
/// page read them (`serde_json` into `Record`, `parse_records`).
///
/// Checked: a line that parses re-encodes to a canonical line that parses
/// to the same record and re-encodes to itself.
pub fn audit_line(data: &[u8]) {
    for line in data.split(|b| *b == b'\n') {
        let Ok(record) = serde_json::from_slice::<Record>(line) else { continue };
        let canonical = record.to_line();
        match serde_json::from_str::<Record>(&canonical) {
            Ok(back) => {
                assert!(back == record, "a record's canonical line reads back as another record");
                assert_eq!(back.to_line(), canonical, "a record's canonical line is not canonical");
            }
            Err(e) => panic!("a record's canonical line does not parse: {e}"),
        }
        let _ = record.expected_hash();
    }
    let _ = audit::parse_records(data);
}

/// `audit verify`: the log is everything before the first NUL byte; after
/// it, if present, a saved checkpoint in its text form (`--checkpoint`).
///
/// Checked: a log called intact is intact without the saved checkpoint
/// too, has as many records as lines, and stops being intact when any one
/// of its bytes changes (a sample of up to 64 of them).
pub fn audit_verify(data: &[u8]) {
    let (log, saved) = match data.iter().position(|b| *b == 0) {
        Some(at) => (&data[..at], export::from_text(&String::from_utf8_lossy(&data[at + 1..])).ok()),
        None => (data, None),
    };
    let plain = audit::verify_bytes(log, None);
    if let Some(cp) = &saved
        && audit::verify_bytes(log, Some(cp)).is_ok()
    {
        assert!(plain.is_ok(), "intact with a saved checkpoint, tampered without one");
    }
    let Ok(summary) = plain else { return };
    let lines = log.iter().filter(|b| **b == b'\n').count() as u64;
    assert_eq!(summary.records, lines, "an intact log's record count");
    assert_eq!(audit::parse_records(log).len() as u64, lines);
    let step = (log.len() / 64).max(1);
    for at in (0..log.len()).step_by(step) {
        let mut changed = log.to_vec();
        changed[at] ^= 0x01;
        assert!(audit::verify_bytes(&changed, None).is_err(), "byte {at} of an intact log changed unnoticed");
    }
}

/// A checkpoint's text form, as `audit verify --checkpoint FILE` reads it.
///
/// Checked: a checkpoint that reads prints as text that reads back to
/// it, and keeps its signature (or lack of one) through the round trip.
pub fn checkpoint(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let Ok(cp) = export::from_text(&text) else { return };
    let printed = export::to_text(&cp);
    let back = export::from_text(&printed);
    assert!(back.as_ref() == Ok(&cp), "a checkpoint's text reads back as {back:?}");
    if let Ok(key) = cp.key.parse::<crate::crypto::VerifyingKey>() {
        assert_eq!(cp.is_signed_by(&key), back.is_ok_and(|b| b.is_signed_by(&key)));
    }
}

/// `verify-manifest FILE [--public-key KEY]`: an evidence manifest or an
/// addition's proof, with no key, and with the key of [`MANIFEST_KEY_SEED`].
///
/// Checked: what verifies with a trusted key verifies without one as the
/// same document, and only the exact canonical bytes (with or without the
/// final newline) verify at all.
pub fn manifest(data: &[u8]) {
    let Ok(key) = SigningKey::from_seed(&MANIFEST_KEY_SEED) else { return };
    let open = Evidence::verify(data, None);
    let trusted = Evidence::verify(data, Some(&key.verifying_key()));
    if let Ok(evidence) = &trusted {
        assert!(open.as_ref().ok() == Some(evidence), "valid with a trusted key, not without");
    }
    let Ok(evidence) = open else { return };
    let text = match &evidence {
        Evidence::Manifest(m) => m.to_file_text(),
        Evidence::Addition(a) => a.to_file_text(),
    };
    let bare = text.trim_end_matches('\n');
    assert!(data == text.as_bytes() || data == bare.as_bytes(), "a manifest verified that is not its canonical bytes");
}

/// `backup --verify FILE` and what `restore` checks before writing: the
/// reader over the bytes, with and without the audit chain inside.
///
/// Checked: a backup that passes every check passes the hashes alone, with
/// the same contents.
pub fn backup(data: &[u8]) {
    let everything = backup::read(data, Check::Everything);
    let hashes = backup::read(data, Check::Hashes);
    if let Err(e) = &everything {
        let _ = e.to_string();
    }
    if let Ok(all) = everything {
        match hashes {
            Ok(some) => {
                assert_eq!(
                    (all.records, all.objects, all.object_bytes),
                    (some.records, some.objects, some.object_bytes)
                );
                assert_eq!((all.audit_bytes, &all.sha256), (some.audit_bytes, &some.sha256));
            }
            Err(e) => panic!("a backup passes every check but not its hashes: {e}"),
        }
    }
}

/// `serve --config FILE`: the file's text read as `ConfigFile::load` reads
/// it, resolved as `serve` resolves it (from the file alone, and with
/// every flag given), and the limits and lifetimes made from it.
///
/// Checked: an error is one line; a configuration that resolves can be
/// turned into what the server runs with.
pub fn config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let path = Path::new("testimony.toml");
    let flags = ServeFlags {
        data: Some("/var/lib/testimony".into()),
        listen: Some(std::net::SocketAddr::from(([127, 0, 0, 1], 8080))),
        review_listen: Some(std::net::SocketAddr::from(([127, 0, 0, 1], 8081))),
        allow_non_loopback: false,
    };
    for flags in [ServeFlags::default(), flags] {
        let file = match ConfigFile::parse(path, text) {
            Ok(file) => file,
            Err(e) => {
                assert!(!e.contains('\n'), "a config error of more than one line: {e:?}");
                return;
            }
        };
        match ServeConfig::resolve(flags, file) {
            Ok(config) => {
                let _ = config.sessions.lifetimes();
                let _ = config.intake.connections();
                let clock = Arc::new(crate::clock::ManualClock::at(crate::clock::Timestamp(1_800_000_000)));
                let _ = crate::intake::IntakeState::new(config.intake.clone(), clock);
            }
            Err(e) => assert!(!e.contains('\n'), "a config error of more than one line: {e:?}"),
        }
    }
}
