//! The witness side through real sockets: submitting, receipts, manifests,
//! privacy, limits, follow-up.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use testimony::storage::StatementRecords;

use common::*;
use reqwest::multipart::{Form, Part};
use testimony::clock::{ManualClock, Timestamp};
use testimony::config::IntakeLimits;
use testimony::crypto;
use testimony::storage::Store;

/// Every free-text field of the form, by name.
fn free_text_fields() -> Vec<String> {
    testimony::intake::schema::PARTS
        .iter()
        .flat_map(|p| &p.groups)
        .flat_map(|g| &g.fields)
        .filter(|f| f.is_free_text())
        .map(|f| f.name.clone())
        .collect()
}

fn minimal_form(statement: &str) -> Form {
    Form::new().text("role", "detained_self").text("consent_store", "yes").text("statement", statement.to_string())
}

fn file_part(name: &str, bytes: Vec<u8>) -> Part {
    Part::bytes(bytes).file_name(name.to_string()).mime_str("application/octet-stream").unwrap()
}

fn extract(html: &str, start: &str, end: &str) -> Option<String> {
    let from = html.find(start)? + start.len();
    let to = html[from..].find(end)? + from;
    Some(html[from..to].to_string())
}

fn receipt_of(html: &str) -> String {
    let shown = extract(html, "id=\"receipt\" dir=\"ltr\"><bdi>", "</bdi>").expect("a receipt on the page");
    shown.replace(' ', "")
}

fn sha256_cells(html: &str) -> Vec<String> {
    html.split("class=\"sha256\" dir=\"ltr\">").skip(1).map(|rest| rest[..64].to_string()).collect()
}

/// Text without Fluent's bidi isolation marks around placeables.
fn plain(text: &str) -> String {
    text.replace(['\u{2068}', '\u{2069}'], "")
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    testimony::crypto::hex(&sha2::Sha256::digest(bytes))
}

fn no_objects_left(data: &Path) {
    let partial = data.join("objects").join(".partial");
    assert_eq!(std::fs::read_dir(&partial).unwrap().count(), 0, "a partial object was left behind");
    let committed = std::fs::read_dir(data.join("objects"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name() != ".partial")
        .count();
    assert_eq!(committed, 0, "an object was committed for a refused submission");
}

#[tokio::test]
async fn canaries_never_reach_the_disk_or_the_logs_and_the_receipt_follows_the_contract() {
    let site = Site::new();
    let server = site.serve(&[]);
    let mut form = Form::new().text("role", "witnessed_others").text("consent_store", "yes");
    for (i, name) in free_text_fields().iter().enumerate() {
        // Short enough for the shortest field (20 characters); the date
        // field must hold a date.
        let value = if name == "when_edtf" { "2019~".to_string() } else { format!("CANARY{i:03}ئۇيغۇر") };
        form = form.text(name.clone(), value);
    }
    let file = b"CANARY-FILE-BYTES \x00\x01\x02 the release paper".to_vec();
    let form = form.part("attachment", file_part("CANARY-FILENAME.pdf", file.clone()));
    let response = http().post(format!("{}/submit", server.public)).multipart(form).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    let receipt = receipt_of(&html);
    assert_eq!(receipt.len(), 28);
    assert!(receipt.chars().all(|c| c.is_ascii_digit()));
    assert_eq!(sha256_cells(&html), vec![sha256_hex(&file)]);

    let (status, log) = server.stop();
    assert!(status.success());
    for canary in ["CANARY0", "CANARY1", "CANARY-FILE-BYTES", "CANARY-FILENAME", "ئۇيغۇر", receipt.as_str()] {
        assert!(files_containing(&site.data, canary.as_bytes()).is_empty(), "{canary} reached the data directory");
        assert!(!log.contains(canary), "{canary} reached the log");
    }
    // The receipt's grouped form is not stored either.
    let grouped: String =
        receipt.as_bytes().chunks(4).map(|c| std::str::from_utf8(c).unwrap()).collect::<Vec<_>>().join(" ");
    assert!(files_containing(&site.data, grouped.as_bytes()).is_empty());
}

#[tokio::test]
async fn a_statement_opens_with_the_recovery_key_and_says_everything_sent() {
    let site = Site::new();
    let server = site.serve(&[]);
    let form =
        minimal_form("I saw the buses at night").text("contact_handle", "@signal-handle").text("place1_name", "Ürümqi");
    let html =
        http().post(format!("{}/submit", server.public)).multipart(form).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("id=\"receipt\""));
    drop(server);
    let store = Store::open(&site.data).unwrap();
    let record = store.submissions().next().unwrap().unwrap();
    let recovery = crypto::read_identity_file(&site.recovery_key).unwrap();
    let statement = crypto::open(record.statement.unwrap().as_bytes(), &recovery).unwrap();
    let doc: serde_json::Value = serde_json::from_slice(statement.as_bytes()).unwrap();
    assert_eq!(doc["fields"]["statement"], "I saw the buses at night");
    assert_eq!(doc["fields"]["place1_name"], "Ürümqi");
    assert!(doc["fields"].get("contact_handle").is_none(), "contact details are sealed apart");
    let identity = crypto::open(record.identity.unwrap().as_bytes(), &recovery).unwrap();
    assert!(String::from_utf8_lossy(identity.as_bytes()).contains("@signal-handle"));
    assert_eq!(record.state, "received");
}

#[tokio::test]
async fn a_witness_connecting_from_another_address_leaves_no_trace() {
    let site = Site::new();
    let server = site.serve(&[]);
    let client =
        reqwest::Client::builder().local_address("127.0.0.2".parse::<std::net::IpAddr>().unwrap()).build().unwrap();
    let response = client
        .post(format!("{}/submit", server.public))
        .header("User-Agent", "CANARY-UA/1.0")
        .header("X-Forwarded-For", "203.0.113.77, CANARY-XFF")
        .header("Forwarded", "for=CANARY-FWD")
        .header("X-Real-IP", "CANARY-REALIP")
        .multipart(minimal_form("statement from elsewhere"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let (_, log) = server.stop();
    for canary in ["127.0.0.2", "CANARY-UA", "CANARY-XFF", "203.0.113.77", "CANARY-FWD", "CANARY-REALIP"] {
        assert!(files_containing(&site.data, canary.as_bytes()).is_empty(), "{canary} reached the data directory");
        assert!(!log.contains(canary), "{canary} reached the log");
    }
}

#[tokio::test]
async fn a_validation_error_gives_back_everything_typed() {
    let site = Site::new();
    let server = site.serve(&[]);
    // No consent: the form must come back whole.
    let form = Form::new()
        .text("role", "family_or_friend")
        .text("role", "health_worker")
        .text("statement", "ئۇ كېچىسى ئېلىپ كېتىلدى\n第二行")
        .text("place2_facility", "camp")
        .text("when_edtf", "2018~")
        .text("consent_public", "paraphrase")
        .text("act_ultrasound", "yes")
        .text("act_ultrasound_basis", "happened_to_me")
        .text("attachment_metadata", "make_clean_copy")
        .part("attachment", file_part("release-paper.jpg", b"not really a jpeg".to_vec()));
    let response = http().post(format!("{}/submit", server.public)).multipart(form).send().await.unwrap();
    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    assert!(html.contains("We can only keep your statement if you agree"), "the problem is explained");
    assert!(html.contains("ئۇ كېچىسى ئېلىپ كېتىلدى\n第二行"), "the narrative is kept, line break and all");
    for kept in [
        r#"name="role" value="family_or_friend" checked"#,
        r#"name="role" value="health_worker" checked"#,
        r#"value="camp" selected"#,
        r#"value="2018~""#,
        r#"name="consent_public" value="paraphrase" checked"#,
        r#"name="act_ultrasound" value="yes" checked"#,
        r#"value="happened_to_me" selected"#,
    ] {
        assert!(html.contains(kept), "lost: {kept}");
    }
    assert!(html.contains("release-paper.jpg") && html.contains("choose these files again"));
    drop(server);
    no_objects_left(&site.data);
}

#[tokio::test]
async fn the_form_requires_role_consent_and_something_substantive() {
    let site = Site::new();
    let server = site.serve(&[]);
    let form = Form::new().text("consent_store", "yes");
    let response = http().post(format!("{}/submit", server.public)).multipart(form).send().await.unwrap();
    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    assert!(html.contains("Please tick at least one way you know"));
    assert!(html.contains("Please tell us something about what happened"));
    // An audio file alone is enough.
    let form = Form::new()
        .text("role", "detained_self")
        .text("consent_store", "yes")
        .part("attachment", file_part("voice.ogg", vec![7; 1000]));
    let response = http().post(format!("{}/submit", server.public)).multipart(form).send().await.unwrap();
    assert_eq!(response.status(), 200);
}

/// Sends a chunked multipart upload of up to `total` bytes over a raw
/// socket, reading the answer concurrently. Returns the status line.
fn raw_chunked_upload(base: &str, total: u64) -> String {
    let addr = base.trim_start_matches("http://");
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut reader = stream.try_clone().unwrap();
    let answer = std::thread::spawn(move || {
        let mut buf = vec![0u8; 4096];
        let mut got = Vec::new();
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
            if got.windows(4).any(|w| w == b"\r\n\r\n") {
                break;
            }
        }
        String::from_utf8_lossy(&got).lines().next().unwrap_or("").to_string()
    });
    let mut writer = stream;
    let boundary = "XBOUNDARYX";
    let head = format!(
        "POST /submit HTTP/1.1\r\nHost: {addr}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    writer.write_all(head.as_bytes()).unwrap();
    let part = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"attachment\"; filename=\"big.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    );
    let mut chunk = |data: &[u8]| -> std::io::Result<()> {
        writer.write_all(format!("{:x}\r\n", data.len()).as_bytes())?;
        writer.write_all(data)?;
        writer.write_all(b"\r\n")
    };
    let _ = chunk(part.as_bytes());
    let block = vec![0x42u8; 1 << 20];
    let mut sent = 0u64;
    while sent < total {
        if chunk(&block).is_err() {
            break; // the server closed the connection: it has answered
        }
        sent += block.len() as u64;
        if answer.is_finished() {
            break;
        }
    }
    answer.join().unwrap()
}

fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .unwrap()
        .trim()
        .trim_end_matches(" kB")
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn a_2_gib_upload_without_length_is_refused_with_413_in_flat_memory_leaving_nothing() {
    let site = Site::new();
    // A 64 MiB limit makes the refusal come early; the body keeps coming.
    let config = site.file(
        "limits.toml",
        format!(
            "data = \"{}\"\nlisten = \"127.0.0.1:0\"\nreview_listen = \"127.0.0.1:0\"\n[intake]\nmax_submission_bytes = {}\n",
            site.data_arg(),
            64 << 20
        )
        .as_bytes(),
    );
    let server = Server::start(&["serve", "--config", config.to_str().unwrap()]);
    let status = raw_chunked_upload(&server.public, 2 << 30);
    assert!(status.contains("413"), "got {status:?}");
    let peak = peak_rss_kib(server.child.id());
    eprintln!("peak memory of the server while refusing a 2 GiB upload: {peak} KiB");
    assert!(peak < 96 * 1024, "peak memory {peak} KiB while receiving a large upload");
    std::thread::sleep(Duration::from_millis(300));
    no_objects_left(&site.data);
    drop(server);
    let store = Store::open(&site.data).unwrap();
    assert_eq!(store.submissions().count(), 0);
}

#[test]
fn an_upload_cut_off_mid_file_leaves_nothing() {
    let site = Site::new();
    let server = site.serve(&[]);
    let addr = server.public.trim_start_matches("http://").to_string();
    let mut stream = TcpStream::connect(&addr).unwrap();
    let boundary = "CUTBOUNDARY";
    let head = format!(
        "POST /submit HTTP/1.1\r\nHost: {addr}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: 50000000\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).unwrap();
    let fields = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"role\"\r\n\r\ndetained_self\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"consent_store\"\r\n\r\nyes\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"attachment\"; filename=\"half.bin\"\r\n\r\n"
    );
    stream.write_all(fields.as_bytes()).unwrap();
    stream.write_all(&vec![0x33u8; 3 << 20]).unwrap();
    stream.flush().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    drop(stream); // the witness's connection drops
    std::thread::sleep(Duration::from_millis(500));
    no_objects_left(&site.data);
    drop(server);
    assert_eq!(Store::open(&site.data).unwrap().submissions().count(), 0);
}

#[tokio::test]
async fn too_many_files_are_refused_with_a_translated_413() {
    let site = Site::new();
    let server = InProcess::start(
        &site,
        Arc::new(ManualClock::at(Timestamp(1_795_950_000))),
        IntakeLimits { max_files: 2, ..IntakeLimits::default() },
    )
    .await;
    let mut form = minimal_form("x");
    for i in 0..3 {
        form = form.part("attachment", file_part(&format!("f{i}.txt"), vec![b'a'; 10]));
    }
    let response = http().post(format!("{}/submit", server.public)).multipart(form).send().await.unwrap();
    assert_eq!(response.status(), 413);
    assert!(plain(&response.text().await.unwrap()).contains("up to 2 files"));
    server.stop().await;
    no_objects_left(&site.data);
}

#[tokio::test]
async fn a_full_disk_turns_witnesses_away_while_reviewers_keep_working() {
    let site = Site::new();
    let limits = IntakeLimits { min_free_disk_bytes: u64::MAX / 2, ..IntakeLimits::default() };
    let server = InProcess::start(&site, Arc::new(ManualClock::at(Timestamp(1_795_950_000))), limits).await;
    let response = http().post(format!("{}/submit", server.public)).multipart(minimal_form("x")).send().await.unwrap();
    assert_eq!(response.status(), 503);
    assert!(response.text().await.unwrap().contains("cannot receive new statements"));
    assert_eq!(http().get(format!("{}/healthz", server.review)).send().await.unwrap().status(), 200);
    server.stop().await;
    no_objects_left(&site.data);
}

#[tokio::test]
async fn concurrent_uploads_are_bounded_and_a_stalled_one_gives_way() {
    let site = Site::new();
    let limits = IntakeLimits { max_concurrent_uploads: 1, ..IntakeLimits::default() };
    let server = InProcess::start(&site, Arc::new(ManualClock::at(Timestamp(1_795_950_000))), limits).await;
    // Hold one upload open on a raw socket, sending nothing more.
    let addr = server.public.trim_start_matches("http://").to_string();
    let mut held = TcpStream::connect(&addr).unwrap();
    held.write_all(format!("POST /submit HTTP/1.1\r\nHost: {addr}\r\nContent-Type: multipart/form-data; boundary=B\r\nContent-Length: 1000000\r\n\r\n--B\r\n").as_bytes()).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(server.state.intake.upload_slots.held(), 1);
    // The only slot is taken, by a stalled upload: a new one takes it over.
    let response = http().post(format!("{}/submit", server.public)).multipart(minimal_form("x")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    // The stalled one was told the server is busy, and its slot is gone.
    held.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut answer = String::new();
    let _ = std::io::Read::read_to_string(&mut held, &mut answer);
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer:.200}");
    assert!(answer.contains("Many people are sending"));
    assert_eq!(server.state.intake.upload_slots.held(), 0, "never more than the limit");
    server.stop().await;
}

async fn submit_and_get_receipt(base: &str, form: Form) -> (String, String) {
    let html = http().post(format!("{base}/submit")).multipart(form).send().await.unwrap().text().await.unwrap();
    (receipt_of(&html), html)
}

#[tokio::test]
async fn follow_up_shows_the_state_never_the_statement_and_takes_answers() {
    let site = Site::new();
    let clock = Arc::new(ManualClock::at(Timestamp(1_795_950_000)));
    let server = InProcess::start(&site, clock.clone(), IntakeLimits::default()).await;
    let (receipt, _) = submit_and_get_receipt(&server.public, minimal_form("CANARY-NARRATIVE of the camp")).await;
    let client = http();
    let page =
        client.post(format!("{}/followup", server.public)).form(&[("receipt", receipt.as_str())]).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Received. It is waiting to be read."));
    assert!(!html.contains("CANARY-NARRATIVE"), "the follow-up page must never show the statement");
    // Spaces and Arabic-Indic digits are accepted.
    let arabic: String = receipt.chars().map(|c| char::from_u32(0x0660 + c.to_digit(10).unwrap()).unwrap()).collect();
    let page =
        client.post(format!("{}/followup", server.public)).form(&[("receipt", arabic.as_str())]).send().await.unwrap();
    assert_eq!(page.status(), 200);

    let answered = client
        .post(format!("{}/followup/answer", server.public))
        .form(&[("receipt", receipt.as_str()), ("message", "CANARY-ANSWER I remember more")])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(answered.contains("Your message was sent") && answered.contains("CANARY-ANSWER I remember more"));
    let store = &server.state.store;
    let record = store.submissions().next().unwrap().unwrap();
    assert_eq!(record.thread.len(), 1);
    assert!(files_containing(&site.data, b"CANARY-ANSWER").is_empty());
    server.stop().await;
}

#[tokio::test]
async fn receipt_guessing_is_throttled_and_wrong_receipts_look_alike() {
    let site = Site::new();
    let clock = Arc::new(ManualClock::at(Timestamp(1_795_950_000)));
    let server = InProcess::start(&site, clock.clone(), IntakeLimits::default()).await;
    let (receipt, _) = submit_and_get_receipt(&server.public, minimal_form("x")).await;
    let client = http();
    let attempt = |r: String| {
        let client = client.clone();
        let url = format!("{}/followup", server.public);
        async move { client.post(url).form(&[("receipt", r)]).send().await.unwrap() }
    };
    // A well-formed receipt that matches no case, made with a valid check digit.
    let wrong = || testimony::intake::receipt::Receipt::generate().digits().to_string();
    // The page shows what was typed again (to correct it); apart from that
    // every wrong receipt gets the same answer.
    let typed = wrong();
    let first = attempt(typed.clone()).await;
    assert_eq!(first.status(), 404);
    let first_body = first.text().await.unwrap().replace(&typed, "TYPED");
    for _ in 1..20 {
        let typed = wrong();
        let r = attempt(typed.clone()).await;
        assert_eq!(r.status(), 404);
        let body = r.text().await.unwrap();
        assert!(body.contains(&format!("value=\"{typed}\"")), "the receipt stays in its field");
        assert_eq!(body.replace(&typed, "TYPED"), first_body, "every wrong receipt gets the same answer");
    }
    let throttled = attempt(wrong()).await;
    assert_eq!(throttled.status(), 429);
    assert!(throttled.headers().contains_key("retry-after"));
    assert!(throttled.text().await.unwrap().contains("too many attempts"));
    // Even the right receipt waits now; then it works again.
    assert_eq!(attempt(receipt.clone()).await.status(), 429);
    clock.advance(Duration::from_secs(15));
    assert_eq!(attempt(receipt.clone()).await.status(), 200);
    // A typing mistake is told apart without looking anything up.
    let mut typo: Vec<char> = receipt.chars().collect();
    typo[5] = if typo[5] == '1' { '2' } else { '1' };
    let r = attempt(typo.into_iter().collect()).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("typing mistake"));
    server.stop().await;
}

#[tokio::test]
async fn the_manifest_verifies_offline_and_a_changed_byte_fails() {
    let site = Site::new();
    let server = site.serve(&[]);
    let form = minimal_form("x").part("attachment", file_part("photo.png", b"pretend png".to_vec()));
    let (receipt, _) = submit_and_get_receipt(&server.public, form).await;
    let response = http()
        .post(format!("{}/followup/manifest", server.public))
        .form(&[("receipt", receipt.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"));
    let manifest = response.bytes().await.unwrap().to_vec();
    let file = site.file("manifest.json", &manifest);
    let key = run(&["public-key", "--data", site.data_arg()]);
    assert!(key.status.success(), "{}", stderr(&key));
    let key = stdout(&key).trim().to_string();
    assert!(key.starts_with("ed25519:"));
    let out = run(&["verify-manifest", file.to_str().unwrap(), "--public-key", &key]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains(&sha256_hex(b"pretend png")));
    for at in [10, manifest.len() / 2, manifest.len() - 5] {
        let mut changed = manifest.clone();
        changed[at] ^= 0x04;
        let bad = site.file("changed.json", &changed);
        let out = run(&["verify-manifest", bad.to_str().unwrap(), "--public-key", &key]);
        assert!(!out.status.success(), "a change at byte {at} went unnoticed");
    }
    drop(server);
}

#[tokio::test]
async fn security_headers_are_on_every_public_route_and_no_cookie_is_set() {
    let site = Site::new();
    let server = site.serve(&[]);
    let client = http();
    let mut responses = Vec::new();
    for path in ["/", "/submit", "/followup", "/healthz", "/static/style.css", "/no-such-page", "/submit?lang=ug"] {
        responses.push((path.to_string(), client.get(format!("{}{path}", server.public)).send().await.unwrap()));
    }
    responses.push((
        "POST /submit".into(),
        client.post(format!("{}/submit", server.public)).multipart(minimal_form("x")).send().await.unwrap(),
    ));
    responses.push((
        "POST /followup".into(),
        client.post(format!("{}/followup", server.public)).form(&[("receipt", "1")]).send().await.unwrap(),
    ));
    for (path, response) in responses {
        let h = response.headers();
        let csp = h.get("content-security-policy").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
        for part in ["default-src 'none'", "form-action 'self'", "frame-ancestors 'none'", "base-uri 'none'"] {
            assert!(csp.contains(part), "{path}: CSP {csp:?} lacks {part}");
        }
        assert!(!csp.contains("script-src"), "{path}: no script is ever allowed");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["cache-control"], "no-store", "{path}");
        assert!(h.contains_key("permissions-policy"), "{path}");
        assert!(!h.contains_key("set-cookie"), "{path} set a cookie");
    }
}

#[tokio::test]
async fn pages_say_their_language_and_the_choice_survives_the_post() {
    let site = Site::new();
    let server = site.serve(&[]);
    let html = http().get(format!("{}/submit?lang=en", server.public)).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("<html lang=\"en\""));
    assert!(html.contains("action=\"/submit?lang=en\""));
    assert!(html.contains("name=\"lang\" value=\"en\""));
    assert!(
        html.matches("dir=\"auto\"").count() >= free_text_fields().len(),
        "every free-text field takes any direction"
    );
    assert!(!html.contains("<script"), "the form works without JavaScript");
}

#[tokio::test]
async fn a_clean_copy_of_a_photo_drops_its_metadata_and_keeps_the_original() {
    let site = Site::new();
    let server = site.serve(&[]);
    // A JPEG with an EXIF segment holding a canary.
    let mut jpeg = vec![0xFF, 0xD8];
    let exif = b"Exif\0\0CANARY-GPS 41.1N 88.2E";
    jpeg.extend_from_slice(&[0xFF, 0xE1, 0x00, (exif.len() + 2) as u8]);
    jpeg.extend_from_slice(exif);
    jpeg.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00, 0x12, 0x34, 0xFF, 0xD9]);
    let form = minimal_form("x")
        .text("attachment_metadata", "make_clean_copy")
        .part("attachment", file_part("camp.jpg", jpeg.clone()));
    let (_, html) = submit_and_get_receipt(&server.public, form).await;
    assert_eq!(sha256_cells(&html), vec![sha256_hex(&jpeg)], "the receipt names the untouched original");
    drop(server);
    let store = Store::open(&site.data).unwrap();
    let record = store.submissions().next().unwrap().unwrap();
    let file = &record.files[0];
    let recovery = crypto::read_identity_file(&site.recovery_key).unwrap();
    let read = |id: &testimony::storage::ObjectId| {
        let mut sealed = Vec::new();
        store.objects().read(id).unwrap().read_to_end(&mut sealed).unwrap();
        crypto::open(&sealed, &recovery).unwrap().as_bytes().to_vec()
    };
    assert_eq!(read(&file.object), jpeg);
    let clean = read(file.cleaned.as_ref().expect("a cleaned copy was made"));
    assert!(!clean.windows(10).any(|w| w == b"CANARY-GPS"));
    assert!(clean.windows(2).any(|w| w == [0x12, 0x34]));
}

#[tokio::test]
async fn withdrawal_purges_the_statement_files_and_identity() {
    let site = Site::new();
    let server = site.serve(&[]);
    let form = minimal_form("x").text("contact_handle", "@me").part("attachment", file_part("a.txt", b"abc".to_vec()));
    let (receipt, _) = submit_and_get_receipt(&server.public, form).await;
    let client = http();
    let unconfirmed = client
        .post(format!("{}/followup/withdraw", server.public))
        .form(&[("receipt", receipt.as_str())])
        .send()
        .await
        .unwrap();
    assert!(unconfirmed.text().await.unwrap().contains("tick the box"));
    let done = client
        .post(format!("{}/followup/withdraw", server.public))
        .form(&[("receipt", receipt.as_str()), ("confirm", "yes")])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(done.contains("has been withdrawn and deleted"));
    drop(server);
    let store = Store::open(&site.data).unwrap();
    let record = store.submissions().next().unwrap().unwrap();
    assert_eq!(record.state, "withdrawn");
    assert!(
        record.statement.is_none() && record.identity.is_none() && record.manifest.is_none() && record.files.is_empty()
    );
    let objects =
        std::fs::read_dir(site.data.join("objects")).unwrap().filter(|e| e.as_ref().unwrap().file_name() != ".partial");
    for shard in objects {
        assert_eq!(std::fs::read_dir(shard.unwrap().path()).unwrap().count(), 0, "a withdrawn file is still on disk");
    }
    // The consent history stays, with everything revoked.
    assert_eq!(record.consent.len(), 2);
}

#[tokio::test]
async fn witness_events_join_the_audit_log_after_their_day_with_the_day_only() {
    let site = Site::new();
    let clock = Arc::new(ManualClock::at(Timestamp(1_795_950_000)));
    let server = InProcess::start(&site, clock.clone(), IntakeLimits::default()).await;
    submit_and_get_receipt(&server.public, minimal_form("x")).await;
    let log_path = testimony::audit::log_path(&site.data);
    let before = std::fs::read_to_string(&log_path).unwrap();
    assert!(!before.contains("statement_received"), "not before the day is over");
    assert_eq!(server.state.release_witness_events().unwrap(), 0);
    clock.advance(Duration::from_secs(86_400));
    assert_eq!(server.state.release_witness_events().unwrap(), 1);
    let after = std::fs::read_to_string(&log_path).unwrap();
    let line = after.lines().find(|l| l.contains("statement_received")).unwrap();
    assert!(line.contains("\"time\":\"2026-11-29\"") && line.contains("\"witness\""), "{line}");
    server.stop().await;
    assert!(run(&["audit", "verify", "--data", site.data_arg()]).status.success());
}

#[tokio::test]
async fn the_offline_export_equals_what_was_submitted_with_or_without_the_server() {
    let site = Site::new();
    let server = site.serve(&[]);
    let file = (0..5000u32).map(|i| (i % 251) as u8).collect::<Vec<u8>>();
    let form = minimal_form("ئۇ كېچىسى — the narrative, exactly")
        .text("contact_handle", "@witness")
        .part("attachment", file_part("scan.pdf", file.clone()));
    submit_and_get_receipt(&server.public, form).await;
    // While the server runs: records come through its control socket.
    let running_out = site.root.path().join("export-running");
    let out = run(&[
        "export",
        "--data",
        site.data_arg(),
        "--recovery-key",
        site.recovery_key.to_str().unwrap(),
        "--out",
        running_out.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("exported 1 statements and 1 files"));
    let (status, _) = server.stop();
    assert!(status.success());
    // And with the server stopped.
    let stopped_out = site.root.path().join("export-stopped");
    let out = run(&[
        "export",
        "--data",
        site.data_arg(),
        "--recovery-key",
        site.recovery_key.to_str().unwrap(),
        "--out",
        stopped_out.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    for dir in [&running_out, &stopped_out] {
        assert_eq!(mode_of(dir), 0o700);
        let case = std::fs::read_dir(dir).unwrap().next().unwrap().unwrap().path();
        let doc: serde_json::Value =
            serde_json::from_slice(&std::fs::read(case.join("statement.json")).unwrap()).unwrap();
        assert_eq!(doc["statement"]["fields"]["statement"], "ئۇ كېچىسى — the narrative, exactly");
        assert_eq!(doc["identity"]["fields"]["contact_handle"], "@witness");
        assert_eq!(doc["statement"]["files"][0]["name"], "scan.pdf");
        assert_eq!(std::fs::read(case.join("file-1-original.bin")).unwrap(), file);
        assert_eq!(mode_of(&case.join("file-1-original.bin")), 0o600);
    }
    // A wrong recovery key exports nothing.
    let other = Site::new();
    let bad_out = site.root.path().join("export-bad");
    let out = run(&[
        "export",
        "--data",
        site.data_arg(),
        "--recovery-key",
        other.recovery_key.to_str().unwrap(),
        "--out",
        bad_out.to_str().unwrap(),
    ]);
    let line = assert_one_line_failure(&out);
    assert!(line.contains("not this data directory's recovery key"), "{line}");
    assert!(!bad_out.exists(), "nothing is written with a wrong key");
    let log = std::fs::read_to_string(testimony::audit::log_path(&site.data)).unwrap();
    assert!(log.matches("\"offline\"").count() >= 2, "each export is audited, running or not");
    assert!(run(&["audit", "verify", "--data", site.data_arg()]).status.success());
}

#[tokio::test]
async fn a_backup_taken_while_serving_restores_into_a_working_data_directory() {
    let site = Site::new();
    let server = site.serve(&[]);
    let file = (0..30_000u32).map(|i| (i % 241) as u8).collect::<Vec<u8>>();
    let form = minimal_form("backed up statement").part("attachment", file_part("doc.bin", file.clone()));
    let (receipt, _) = submit_and_get_receipt(&server.public, form).await;
    let backup = site.root.path().join("backup.tb");
    let out = run(&["backup", "--data", site.data_arg(), "--out", backup.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(mode_of(&backup), 0o600);
    let bytes = std::fs::read(&backup).unwrap();
    for canary in ["backed up statement", receipt.as_str()] {
        assert!(!bytes.windows(canary.len()).any(|w| w == canary.as_bytes()), "{canary} is in the backup in clear");
    }
    server.stop();

    let restored = site.root.path().join("restored");
    let out = run(&["restore", "--from", backup.to_str().unwrap(), "--data", restored.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(run(&["audit", "verify", "--data", restored.to_str().unwrap()]).status.success());
    let log = std::fs::read_to_string(testimony::audit::log_path(&restored)).unwrap();
    assert!(log.contains("backup_taken"));
    {
        let store = Store::open(&restored).unwrap();
        let record = store.submissions().next().unwrap().unwrap();
        let recovery = crypto::read_identity_file(&site.recovery_key).unwrap();
        let mut sealed = Vec::new();
        store.objects().read(&record.files[0].object).unwrap().read_to_end(&mut sealed).unwrap();
        assert_eq!(crypto::open(&sealed, &recovery).unwrap().as_bytes(), &file[..]);
    }
    private_again(&restored);
    // The restored directory serves, and the witness's receipt still works.
    let again = Server::serving(&restored, &[]);
    let page =
        http().post(format!("{}/followup", again.public)).form(&[("receipt", receipt.as_str())]).send().await.unwrap();
    assert_eq!(page.status(), 200);
    drop(again);

    // A cut-off backup is refused and leaves nothing.
    let cut = site.file("cut.tb", &bytes[..bytes.len() / 2]);
    let broken = site.root.path().join("broken");
    let out = run(&["restore", "--from", cut.to_str().unwrap(), "--data", broken.to_str().unwrap()]);
    let line = assert_one_line_failure(&out);
    assert!(line.contains("damaged or cut short"), "{line}");
    assert!(!broken.exists());
    // And a backup of a stopped server works too.
    let offline = site.root.path().join("offline.tb");
    assert!(run(&["backup", "--data", site.data_arg(), "--out", offline.to_str().unwrap()]).status.success());
}

#[tokio::test]
async fn stored_files_carry_the_day_not_the_time_of_the_upload() {
    use std::os::unix::fs::MetadataExt;
    let site = Site::new();
    let server = site.serve(&[]);
    submit_and_get_receipt(&server.public, minimal_form("x").part("attachment", file_part("a.bin", vec![1; 100])))
        .await;
    drop(server);
    let objects = site.data.join("objects");
    let mut seen = 0;
    for shard in std::fs::read_dir(&objects).unwrap().map(|e| e.unwrap()).filter(|e| e.file_name() != ".partial") {
        for file in std::fs::read_dir(shard.path()).unwrap() {
            let meta = file.unwrap().metadata().unwrap();
            assert_eq!(meta.mtime() % 86_400, 0, "an object's modification time is the start of its day");
            seen += 1;
        }
    }
    assert_eq!(seen, 1);
}
