//! A full disk, on a real (small) file system: the witness is turned away
//! with a clear 503, nothing acknowledged is lost, and once space is freed
//! everything works again without a restart.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use reqwest::multipart::Form;
use testimony::auth::totp::TotpSecret;
use testimony::clock::{Clock, ManualClock, Timestamp};
use testimony::config::IntakeLimits;
use testimony::storage::StatementRecords;

const T0: u64 = 1_795_950_000;

async fn submit(server: &InProcess, text: &str) -> (reqwest::StatusCode, String) {
    let form =
        Form::new().text("role", "detained_self").text("consent_store", "yes").text("statement", text.to_string());
    let r = http().post(format!("{}/submit?lang=en", server.public)).multipart(form).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

async fn sign_in(server: &InProcess, secret: &str, clock: &ManualClock) -> reqwest::StatusCode {
    clock.advance(Duration::from_secs(30));
    let code = TotpSecret::from_base32(secret).unwrap().code_at("ada", clock.now().0).unwrap();
    http()
        .post(format!("{}/login", server.review))
        .form(&[("username", "ada"), ("password", PASSWORD), ("totp", &code)])
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn after_the_disk_fills_and_space_is_freed_everything_works_again_without_a_restart() {
    let Some(disk) = SmallDisk::mount(64) else { return };
    let site = Site::in_dir(disk.path());
    let secret = secret_of(&site.init_stdout);
    let clock = Arc::new(ManualClock::at(Timestamp(T0)));
    // No intake reserve: only the store's own floor stands between the
    // record database and a full disk, as when something else fills it.
    let limits = IntakeLimits { min_free_disk_bytes: 0, ..IntakeLimits::default() };
    let server = InProcess::start(&site, clock.clone(), limits).await;
    let reviewer = Reviewer::sign_in(&server, &site, "ada", &secret, &clock).await;

    let (status, _) = submit(&server, "the first statement, before the disk filled").await;
    assert_eq!(status, 200);
    let first = server.state.store.submissions().next().unwrap().unwrap().id;

    let filler = disk.fill();
    for i in 0..10 {
        let long = format!("a statement while the disk is full, number {i}: {}", "words ".repeat(700));
        let (status, page) = submit(&server, &long).await;
        assert_eq!(status, 503, "a clear refusal, not a server error");
        assert!(page.contains("lang=\"en\""));
    }
    // The record store itself refuses before its database meets the full
    // disk (which would break it until a restart).
    let today = server.state.clock.today();
    assert!(matches!(server.state.store.count_unknown_sign_in(today), Err(testimony::storage::StorageError::DiskFull)));
    assert_eq!(sign_in(&server, &secret, &clock).await, 503, "nothing can be recorded");
    assert_eq!(reviewer.get("/").await.status(), 200, "a signed-in reviewer still reads the list");

    std::fs::remove_file(&filler).unwrap();
    let (status, _) = submit(&server, "a statement after space was freed").await;
    assert_eq!(status, 200, "submissions work again by themselves");
    assert_eq!(sign_in(&server, &secret, &clock).await, 303, "and sign-ins");
    assert_eq!(reviewer.get(&format!("/submissions/{first}")).await.status(), 200, "and audited reads");
    assert_eq!(server.state.store.submissions().count(), 2, "nothing acknowledged was lost, nothing refused was kept");
    server.stop().await;
}

#[tokio::test]
async fn a_sign_in_that_cannot_be_recorded_is_never_audited_as_succeeded() {
    let Some(disk) = SmallDisk::mount(64) else { return };
    let site = Site::in_dir(disk.path());
    let secret = secret_of(&site.init_stdout);
    let clock = Arc::new(ManualClock::at(Timestamp(T0)));
    let server = InProcess::start(&site, clock.clone(), IntakeLimits::default()).await;
    // Between the audit log's floor (8 MiB) and the records' (16 MiB): the
    // log could take the entry, the account record cannot be written.
    let filler = disk.fill_leaving(12 << 20);
    let log = site.data.join("audit").join("log");
    let before = std::fs::read_to_string(&log).unwrap();
    assert_eq!(sign_in(&server, &secret, &clock).await, 503);
    let after = std::fs::read_to_string(&log).unwrap();
    assert!(!after[before.len()..].contains("sign_in_succeeded"), "{}", &after[before.len()..]);
    std::fs::remove_file(&filler).unwrap();
    assert_eq!(sign_in(&server, &secret, &clock).await, 303);
    assert!(std::fs::read_to_string(&log).unwrap().contains("sign_in_succeeded"));
    server.stop().await;
}

/// Sends `fields` and then one file of `size` bytes to `path` (with its
/// `?lang=`) over a raw connection, a MiB at a time, calling
/// `meanwhile(sent)` after each MiB; returns the status and the page. The
/// server may answer before the file is all sent (and close): the answer
/// is read as it comes.
async fn upload(
    server: &InProcess,
    path: &str,
    fields: &[(&str, &str)],
    size: u64,
    mut meanwhile: impl FnMut(u64) + Send + 'static,
) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let boundary = "----faults-boundary";
    let mut head = String::new();
    for (name, value) in fields {
        head += &format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n");
    }
    head += &format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"attachment\"; filename=\"video.mp4\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    );
    let tail = format!("\r\n--{boundary}--\r\n");
    let length = head.len() as u64 + size + tail.len() as u64;
    let address = server.public.trim_start_matches("http://").to_string();
    let stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let (mut read, mut write) = stream.into_split();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {length}\r\n\r\n{head}"
    );
    let writer = tokio::spawn(async move {
        write.write_all(request.as_bytes()).await?;
        let chunk: Vec<u8> = (0..1u32 << 20).map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8).collect();
        let mut sent = 0;
        while sent < size {
            let n = chunk.len().min((size - sent) as usize);
            write.write_all(&chunk[..n]).await?;
            sent += n as u64;
            meanwhile(sent);
        }
        write.write_all(tail.as_bytes()).await?;
        std::io::Result::Ok(())
    });
    let mut answer = Vec::new();
    let _ = read.read_to_end(&mut answer).await;
    writer.abort();
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, answer)
}

/// The page a refused witness gets is entirely in their language.
fn assert_refused_in_uyghur(status: u16, page: &str) {
    assert_eq!(status, 503, "{page}");
    assert!(page.contains(r#"<html lang="ug" dir="rtl">"#), "{page}");
    assert!(page.contains("ھازىرچە يېڭى بايان قوبۇل قىلالمايمىز"), "the Uyghur text of the refusal: {page}");
    assert!(!page.contains("We cannot receive new statements"), "no English: {page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_witness_whose_upload_runs_the_disk_out_is_told_in_their_language_and_nothing_else_is_lost() {
    let Some(disk) = SmallDisk::mount(128) else { return };
    let site = Site::in_dir(disk.path());
    let secret = secret_of(&site.init_stdout);
    let clock = Arc::new(ManualClock::at(Timestamp(T0)));
    let limits = IntakeLimits { min_free_disk_bytes: 24 << 20, ..IntakeLimits::default() };
    let server = InProcess::start(&site, clock.clone(), limits).await;
    let reviewer = Reviewer::sign_in(&server, &site, "ada", &secret, &clock).await;

    // Statements acknowledged before the disk fills, one with a file; the
    // last is a Uyghur witness's, who will add a video through the receipt.
    let photo: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
    let mut receipt = String::new();
    for (i, lang) in ["en", "en", "ug"].into_iter().enumerate() {
        let mut form = Form::new()
            .text("role", "detained_self")
            .text("consent_store", "yes")
            .text("statement", format!("acknowledged statement {i}"));
        if i == 0 {
            form = form.part("attachment", reqwest::multipart::Part::bytes(photo.clone()).file_name("p.png"));
        }
        let r = http().post(format!("{}/submit?lang={lang}", server.public)).multipart(form).send().await.unwrap();
        assert_eq!(r.status(), 200);
        receipt = receipt_in(&r.text().await.unwrap());
    }
    let acknowledged: Vec<_> = server.state.store.submissions().map(|r| r.unwrap()).collect();
    let objects = object_files(&site.data);
    assert_eq!(objects.len(), 1);
    let partial = site.data.join("objects").join(".partial");
    // The refused upload's partial file is removed and its space given
    // back (the sealing thread ends a moment after the answer, and the
    // kernel frees the space a moment after that).
    let given_back = |free: u64| {
        let (partial, store) = (partial.clone(), server.state.store.clone());
        async move {
            for _ in 0..100 {
                let emptied = std::fs::read_dir(&partial).unwrap().count() == 0;
                if emptied && store.free_space().unwrap() + (1 << 20) >= free {
                    return true;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            false
        }
    };

    // 1. The upload itself runs the disk down: 30 MiB free, a 64 MiB file.
    let statement = [("role", "detained_self"), ("consent_store", "yes"), ("statement", "what I saw, with a video")];
    let filler = disk.fill_leaving(30 << 20);
    let free = server.state.store.free_space().unwrap();
    let (status, page) = upload(&server, "/submit?lang=ug", &statement, 64 << 20, |_| {}).await;
    assert_refused_in_uyghur(status, &page);
    assert!(given_back(free).await, "the refused upload's partial file is removed, its space given back");
    // The same through the receipt (the form's own way to send files).
    let followup = [("receipt", receipt.as_str())];
    let (status, page) = upload(&server, "/followup/files?lang=ug", &followup, 64 << 20, |_| {}).await;
    assert_refused_in_uyghur(status, &page);
    assert!(given_back(free).await, "the refused upload's partial file is removed, its space given back");

    // 2. Something else fills the disk to the last byte while a witness
    //    uploads: the sealing thread meets a real ENOSPC. First the same
    //    30 MiB free again, whatever the record database has written
    //    meanwhile (under a loaded CI it wrote enough to leave the upload
    //    refused at the door, below the floor, before the disk could fill).
    std::fs::remove_file(&filler).unwrap();
    let filler = disk.fill_leaving(30 << 20);
    let free = server.state.store.free_space().unwrap();
    let second_filler = disk.path().join("filler2");
    let (path, filled) = (second_filler.clone(), Arc::new(std::sync::atomic::AtomicBool::new(false)));
    let done = filled.clone();
    let (status, page) = upload(&server, "/followup/files?lang=ug", &followup, 64 << 20, move |sent| {
        if sent == 4 << 20 {
            fill_with(&path);
            done.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    })
    .await;
    assert!(filled.load(std::sync::atomic::Ordering::SeqCst), "the disk was filled during the upload: {status} {page}");
    assert_refused_in_uyghur(status, &page);
    assert!(given_back(0).await, "the refused upload's partial file is removed");
    assert_eq!(object_files(&site.data), objects, "nothing of a refused upload is kept");

    // While the disk is full (what the upload had taken too, now), the
    // signed-in reviewer still reads pages;
    // opening a statement needs an audit entry, which cannot be written:
    // a clear 503, not an error and not a sign-out.
    let third_filler = disk.fill_as("filler3");
    assert_eq!(reviewer.get("/").await.status(), 200);
    assert_eq!(reviewer.get("/account").await.status(), 200);
    assert_eq!(reviewer.get(&format!("/submissions/{}", acknowledged[0].id)).await.status(), 503);

    // Once space is freed, every acknowledged statement is there, whole.
    std::fs::remove_file(&second_filler).unwrap();
    std::fs::remove_file(&third_filler).unwrap();
    assert!(given_back(free).await, "the space the refused uploads took is given back");
    for record in &acknowledged {
        let page = reviewer.get(&format!("/submissions/{}", record.id)).await;
        assert_eq!(page.status(), 200);
        let page = page.text().await.unwrap();
        assert!(page.contains("acknowledged statement"), "{page}");
    }
    let with_file = acknowledged.iter().find(|r| !r.files.is_empty()).unwrap();
    let download = reviewer.get(&format!("/submissions/{}/files/1", with_file.id)).await;
    assert_eq!(download.status(), 200);
    assert_eq!(download.bytes().await.unwrap().to_vec(), photo, "the file, byte for byte");
    // And the reviewer keeps working: a state change.
    let changed = reviewer.post(&format!("/submissions/{}/state", with_file.id), &[("state", "in_review")]).await;
    assert_eq!(changed.status(), 303);
    let stored = server.state.store.submission(&with_file.id).unwrap().unwrap();
    assert_eq!(stored.state.to_string(), "in_review");
    assert_eq!(server.state.store.submissions().count(), 3, "nothing refused was kept");
    for record in &acknowledged {
        let now = server.state.store.submission(&record.id).unwrap().unwrap();
        assert_eq!(now.files.len(), record.files.len(), "no file was added by a refused upload");
    }
    server.stop().await;
    std::fs::remove_file(&filler).unwrap();
    let out = run(&["audit", "verify", "--data", site.data_arg()]);
    assert!(out.status.success(), "{}", stderr(&out));
}
