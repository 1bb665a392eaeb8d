//! Files a witness adds later through the receipt: each addition gets a
//! receipt page with every file's SHA-256 and its own signed proof, which
//! `testimony verify-manifest` checks like the original manifest; the case
//! page lists every addition; reviewers see which addition brought which
//! file; withdrawal leaves nothing of them; backups carry them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use common::*;
use reqwest::multipart::{Form, Part};
use testimony::case::manifest::{Evidence, SignedAddition};
use testimony::clock::{ManualClock, Timestamp};
use testimony::config::IntakeLimits;
use testimony::storage::{StatementRecords, Store};

const T0: u64 = 1_795_950_000;

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    testimony::crypto::hex(&sha2::Sha256::digest(bytes))
}

fn extract(html: &str, start: &str, end: &str) -> Option<String> {
    let from = html.find(start)? + start.len();
    let to = html[from..].find(end)? + from;
    Some(html[from..to].to_string())
}

fn receipt_of(html: &str) -> String {
    extract(html, "id=\"receipt\" dir=\"ltr\"><bdi>", "</bdi>").expect("a receipt on the page").replace(' ', "")
}

fn sha256_cells(html: &str) -> Vec<String> {
    html.split("class=\"sha256\" dir=\"ltr\">").skip(1).map(|rest| rest[..64].to_string()).collect()
}

/// Text as the browser shows it: HTML entities decoded, Fluent's bidi
/// isolation marks removed.
fn unescape(html: &str) -> String {
    html.replace(['\u{2068}', '\u{2069}'], "")
        .replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&#x2f;", "/")
        .replace("&#47;", "/")
        .replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#38;", "&")
        .replace("&amp;", "&")
}

fn statement_with_one_file() -> Form {
    Form::new()
        .text("role", "detained_self")
        .text("consent_store", "yes")
        .text("statement", "a statement")
        .part("attachment", file_part("first.txt", b"the first file".to_vec()))
}

fn file_part(name: &str, bytes: Vec<u8>) -> Part {
    Part::bytes(bytes).file_name(name.to_string()).mime_str("application/octet-stream").unwrap()
}

/// A 1x1 grey PNG, which the cleaner can make a copy of.
fn png() -> Vec<u8> {
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
            }
        }
        !crc
    }
    fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut out = (data.len() as u32).to_be_bytes().to_vec();
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        let mut covered = kind.to_vec();
        covered.extend_from_slice(data);
        out.extend_from_slice(&crc32(&covered).to_be_bytes());
        out
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    out.extend(chunk(b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0]));
    out.extend(chunk(b"IDAT", &[0x08, 0xD7, 0x63, 0x60, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01]));
    out.extend(chunk(b"IEND", &[]));
    out
}

async fn submit(base: &str) -> String {
    let html = http()
        .post(format!("{base}/submit"))
        .multipart(statement_with_one_file())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    receipt_of(&html)
}

/// Adds files through the receipt: (name, bytes, metadata choice) each.
async fn add(base: &str, receipt: &str, files: &[(&str, Vec<u8>, &str)]) -> reqwest::Response {
    let mut form = Form::new().text("receipt", receipt.to_string());
    for (name, bytes, choice) in files {
        form = form.text("attachment_metadata", choice.to_string()).part("attachment", file_part(name, bytes.clone()));
    }
    http().post(format!("{base}/followup/files")).multipart(form).send().await.unwrap()
}

async fn download(base: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    http().post(format!("{base}/followup/manifest")).form(fields).send().await.unwrap()
}

async fn case_page(base: &str, receipt: &str) -> String {
    let r = http().post(format!("{base}/followup")).form(&[("receipt", receipt)]).send().await.unwrap();
    assert_eq!(r.status(), 200);
    r.text().await.unwrap()
}

fn public_key(site: &Site) -> String {
    let out = run(&["public-key", "--data", site.data_arg()]);
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out).trim().to_string()
}

fn verify(site: &Site, name: &str, bytes: &[u8], key: &str) -> std::process::Output {
    let file = site.file(name, bytes);
    run(&["verify-manifest", file.to_str().unwrap(), "--public-key", key])
}

#[tokio::test]
async fn files_added_through_the_receipt_get_a_receipt_page_with_their_hashes_and_a_signed_proof() {
    let site = Site::new();
    let clock = Arc::new(ManualClock::at(Timestamp(T0)));
    let server = InProcess::start(&site, clock.clone(), IntakeLimits::default()).await;
    let today = server.state.clock.today().to_string();
    let receipt = submit(&server.public).await;

    let photo = png();
    let note = b"a letter from the detention centre".to_vec();
    let response = add(
        &server.public,
        &receipt,
        &[("photo <b>1</b>.png", photo.clone(), "make_clean_copy"), ("letter.txt", note.clone(), "make_clean_copy")],
    )
    .await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    let text = unescape(&html);

    // Each file's SHA-256, as the test computes it, in order, in <code>.
    assert_eq!(sha256_cells(&html), vec![sha256_hex(&photo), sha256_hex(&note)]);
    // Names isolated and escaped; the index continues after the one file
    // sent with the statement.
    assert!(!html.contains("<b>1</b>"), "a file name is escaped");
    assert!(text.contains("2. <bdi>photo <b>1</b>.png</bdi>"), "{text}");
    assert!(html.contains("3. <bdi>letter.txt</bdi>"), "{html}");
    // Whether a copy without hidden information was made, and why not.
    assert!(text.contains("A copy without place and time information was also made."), "{text}");
    assert!(text.contains("but this file is not a JPEG or PNG photo"), "{text}");
    assert!(text.contains("Addition 1") && text.contains(&today), "{text}");

    // The signed proof: shown as text, and the same bytes to download.
    let shown = unescape(&extract(&html, "<pre class=\"manifest-text\" dir=\"ltr\">", "</pre>").expect("the proof"));
    assert!(html.contains("<input type=\"hidden\" name=\"addition\" value=\"1\">"), "{html}");
    let response = download(&server.public, &[("receipt", receipt.as_str()), ("addition", "1")]).await;
    assert_eq!(response.status(), 200);
    let disposition = response.headers()["content-disposition"].to_str().unwrap().to_string();
    assert!(disposition.starts_with("attachment") && disposition.contains("addition-1"), "{disposition}");
    let proof = response.bytes().await.unwrap().to_vec();
    assert_eq!(shown.as_bytes(), &proof[..]);
    let parsed: serde_json::Value = serde_json::from_slice(&proof).unwrap();
    let addition = &parsed["addition"];
    assert_eq!(addition["format"], "testimony-evidence-addition-v1");
    assert_eq!(addition["sequence"], 1);
    assert_eq!(addition["received"], today.as_str(), "the day only, never the time");
    let indices: Vec<u64> =
        addition["files"].as_array().unwrap().iter().map(|f| f["index"].as_u64().unwrap()).collect();
    assert_eq!(indices, vec![2, 3]);

    // The real binary checks it offline, says what it checked, and refuses
    // any changed byte.
    let key = public_key(&site);
    let out = verify(&site, "addition-1.json", &proof, &key);
    assert!(out.status.success(), "{}", stderr(&out));
    let said = stdout(&out);
    assert!(said.starts_with("valid: addition 1 (testimony-evidence-addition-v1)"), "{said}");
    assert!(said.contains(&sha256_hex(&photo)) && said.contains(&sha256_hex(&note)), "{said}");
    for at in [10, proof.len() / 2, proof.len() - 5] {
        let mut changed = proof.clone();
        changed[at] ^= 0x04;
        let out = verify(&site, "changed.json", &changed, &key);
        assert!(!out.status.success(), "a change at byte {at} went unnoticed");
        assert!(stderr(&out).contains("NOT VALID"), "{}", stderr(&out));
    }

    // Without `addition`, the statement's own manifest, as before.
    let response = download(&server.public, &[("receipt", receipt.as_str())]).await;
    let manifest = response.bytes().await.unwrap().to_vec();
    let out = verify(&site, "manifest.json", &manifest, &key);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("valid: evidence manifest (testimony-evidence-manifest-v1)"));
    assert!(stdout(&out).contains(&sha256_hex(b"the first file")));
    // An addition that does not exist is said so.
    let missing = download(&server.public, &[("receipt", receipt.as_str()), ("addition", "7")]).await;
    assert_eq!(missing.status(), 200);
    assert!(missing.text().await.unwrap().contains("There is no such proof to download."));
    server.stop().await;
}

#[tokio::test]
async fn a_second_addition_is_numbered_2_continues_the_files_and_the_case_page_lists_both() {
    let site = Site::new();
    let server = site.serve(&[]);
    let receipt = submit(&server.public).await;
    let first = [("one.txt", b"one".to_vec(), "keep_original"), ("two.txt", b"two".to_vec(), "keep_original")];
    assert_eq!(add(&server.public, &receipt, &first).await.status(), 200);
    let response = add(&server.public, &receipt, &[("three.txt", b"three".to_vec(), "keep_original")]).await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(unescape(&html).contains("Kept exactly as you sent it."));
    assert!(html.contains("4. <bdi>three.txt</bdi>"), "{html}");
    assert_eq!(sha256_cells(&html), vec![sha256_hex(b"three")]);

    let proof = download(&server.public, &[("receipt", receipt.as_str()), ("addition", "2")])
        .await
        .bytes()
        .await
        .unwrap()
        .to_vec();
    let key = public_key(&site);
    let out = verify(&site, "addition-2.json", &proof, &key);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("valid: addition 2 "), "{}", stdout(&out));
    assert!(stdout(&out).contains(&format!("file 4: 5 bytes, sha256 {}", sha256_hex(b"three"))), "{}", stdout(&out));

    // The case page lists both additions, with every hash and a download
    // of each proof.
    let page = case_page(&server.public, &receipt).await;
    let text = unescape(&page);
    assert!(text.contains("Addition 1") && text.contains("Addition 2"), "{text}");
    assert_eq!(sha256_cells(&page), vec![sha256_hex(b"one"), sha256_hex(b"two"), sha256_hex(b"three")]);
    assert!(page.contains("3. <bdi>two.txt</bdi>"), "{page}");
    for n in ["1", "2"] {
        assert!(page.contains(&format!("<input type=\"hidden\" name=\"addition\" value=\"{n}\">")), "{page}");
    }

    // A backup carries the additions (records are copied whole).
    let backup = site.root.path().join("backup.tb");
    let (data, out_path) = (site.data_arg().to_string(), backup.clone());
    let out =
        tokio::task::spawn_blocking(move || run(&["backup", "--data", &data, "--out", out_path.to_str().unwrap()]))
            .await
            .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let (status, _) = server.stop();
    assert!(status.success());
    let restored = site.root.path().join("restored");
    let out = run(&["restore", "--from", backup.to_str().unwrap(), "--data", restored.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let store = Store::open(&restored).unwrap();
    let record = store.submissions().next().unwrap().unwrap();
    assert_eq!(record.additions.len(), 2);
    let recovery = testimony::crypto::read_identity_file(&site.recovery_key).unwrap();
    let opened = testimony::crypto::open(record.additions[1].as_bytes(), &recovery).unwrap();
    assert_eq!(opened.as_bytes(), &proof[..], "the restored proof is the one the witness holds");
    let Ok(Evidence::Addition(SignedAddition { addition, .. })) = Evidence::verify(opened.as_bytes(), None) else {
        panic!("the restored proof verifies");
    };
    assert_eq!(addition.sequence, 2);
    drop(store);
    // So does the offline export.
    let exported = site.root.path().join("exported");
    let out = run(&[
        "export",
        "--data",
        restored.to_str().unwrap(),
        "--recovery-key",
        site.recovery_key.to_str().unwrap(),
        "--out",
        exported.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(exported.join(&record.id).join("statement.json")).unwrap()).unwrap();
    let sequences: Vec<u64> =
        doc["additions"].as_array().unwrap().iter().map(|a| a["addition"]["sequence"].as_u64().unwrap()).collect();
    assert_eq!(sequences, vec![1, 2]);
}

#[tokio::test]
async fn withdrawal_leaves_nothing_of_the_additions() {
    let site = Site::new();
    let clock = Arc::new(ManualClock::at(Timestamp(T0)));
    let server = InProcess::start(&site, clock.clone(), IntakeLimits::default()).await;
    let receipt = submit(&server.public).await;
    let content = b"CANARY-ADDED-CONTENT of the interrogation".to_vec();
    let name = "CANARY-ADDED-NAME.txt";
    let response = add(&server.public, &receipt, &[(name, content.clone(), "keep_original")]).await;
    assert_eq!(response.status(), 200);
    assert_eq!(sha256_cells(&response.text().await.unwrap()), vec![sha256_hex(&content)]);
    let id = server.state.store.submissions().next().unwrap().unwrap().id;
    let before = server.state.store.submission(&id).unwrap().unwrap();
    assert_eq!((before.additions.len(), before.files.len()), (1, 2));
    let canaries = [name.as_bytes().to_vec(), content.clone(), sha256_hex(&content).into_bytes()];
    for canary in &canaries {
        assert!(files_containing(&site.data, canary).is_empty(), "a canary of the addition is on disk in clear");
    }

    let done = http()
        .post(format!("{}/followup/withdraw", server.public))
        .form(&[("receipt", receipt.as_str()), ("confirm", "yes")])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(done.contains("has been withdrawn and deleted"));
    let after = server.state.store.submission(&id).unwrap().unwrap();
    assert!(after.additions.is_empty(), "the proofs of the additions are purged");
    assert!(after.files.is_empty() && after.thread.is_empty() && after.manifest.is_none());
    let page = case_page(&server.public, &receipt).await;
    assert!(!page.contains("class=\"sha256\"") && !page.contains(name), "{page}");
    let gone = download(&server.public, &[("receipt", receipt.as_str()), ("addition", "1")]).await;
    assert_eq!(gone.headers()["content-type"].to_str().unwrap(), "text/html; charset=utf-8");
    assert!(gone.text().await.unwrap().contains("there is no proof to download"));
    server.stop().await;

    // Nothing of the files is left in the objects, and no canary anywhere.
    let objects =
        std::fs::read_dir(site.data.join("objects")).unwrap().filter(|e| e.as_ref().unwrap().file_name() != ".partial");
    for shard in objects {
        assert_eq!(std::fs::read_dir(shard.unwrap().path()).unwrap().count(), 0, "a withdrawn file is still on disk");
    }
    for canary in &canaries {
        assert!(files_containing(&site.data, canary).is_empty(), "a canary of the addition is on disk in clear");
    }
}

#[tokio::test]
async fn the_reviewer_sees_each_added_file_with_its_hash_its_addition_and_its_day() {
    let site = Site::new();
    let ada_secret = secret_of(&site.init_stdout);
    let clock = Arc::new(ManualClock::at(Timestamp(T0)));
    let server = InProcess::start(&site, clock.clone(), IntakeLimits::default()).await;
    let receipt = submit(&server.public).await;
    let first_day = server.state.clock.today().to_string();
    let one = [("one.txt", b"added one".to_vec(), "keep_original")];
    assert_eq!(add(&server.public, &receipt, &one).await.status(), 200);
    clock.advance(std::time::Duration::from_secs(86_400));
    let second_day = server.state.clock.today().to_string();
    assert_ne!(first_day, second_day);
    let two = [("two.txt", b"added two".to_vec(), "keep_original")];
    assert_eq!(add(&server.public, &receipt, &two).await.status(), 200);

    let id = server.state.store.submissions().next().unwrap().unwrap().id;
    let ada = Reviewer::sign_in(&server, &site, "ada", &ada_secret, &clock).await;
    let page = ada.get(&format!("/submissions/{id}")).await.text().await.unwrap();
    let hashes: Vec<String> =
        page.split("<code class=\"sha256\" dir=\"ltr\">").skip(1).map(|rest| rest[..64].to_string()).collect();
    assert_eq!(hashes, vec![sha256_hex(b"the first file"), sha256_hex(b"added one"), sha256_hex(b"added two")]);
    let received: Vec<String> = page
        .split("<td class=\"received-with\" data-label=\"Received\"><bdi>")
        .skip(1)
        .map(|rest| unescape(&rest[..rest.find("</bdi>").unwrap()]))
        .collect();
    assert_eq!(
        received,
        vec![
            "with the statement".to_string(),
            format!("addition 1 · {first_day}"),
            format!("addition 2 · {second_day}"),
        ]
    );

    // Moved to another desk, the proofs are sealed anew with the rest: the
    // new desk reads them, the old desk's key no longer does, and the
    // witness still does.
    ada.post("/desks", &[("name", "Second desk")]).await;
    let second = server.state.store.desks().unwrap().into_iter().find(|d| d.name == "Second desk").unwrap().id;
    let r = ada.post(&format!("/submissions/{id}/move"), &[("desk", &second.0)]).await;
    assert_eq!(r.status(), reqwest::StatusCode::SEE_OTHER);
    let moved = server.state.store.submission(&id).unwrap().unwrap();
    assert_eq!(moved.desk, second);
    let recovery = testimony::crypto::read_identity_file(&site.recovery_key).unwrap();
    let default_desk = server.state.store.server().unwrap().default_desk;
    let old_key = testimony::custody::unwrap(
        &server.state.store,
        &default_desk,
        0,
        &testimony::storage::Holder::Recovery,
        &recovery,
    )
    .unwrap();
    assert_eq!(moved.additions.len(), 2);
    assert!(moved.additions.iter().all(|a| testimony::crypto::open(a.as_bytes(), &old_key).is_err()));
    let page = ada.get(&format!("/submissions/{id}")).await.text().await.unwrap();
    assert!(page.contains(&format!("addition 2 · {second_day}")), "{page}");
    let witness = case_page(&server.public, &receipt).await;
    assert!(unescape(&witness).contains("Addition 2"));
    assert!(witness.contains(&sha256_hex(b"added two")));
    server.stop().await;
}
