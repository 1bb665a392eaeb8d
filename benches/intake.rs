//! Intake throughput: durable submissions (4 KiB statement, no file) per
//! second and their latency at 64 concurrent clients, side by side with
//! two references: raw seal-and-flush without HTTP (64 threads each
//! sealing 4 KiB to the same two recipients with age, writing it to a
//! file and syncing it: the least a durable sealed intake must pay), and
//! the same clients asking `GET /healthz` of the same server (HTTP and
//! scheduling alone, nothing sealed or stored).
//! Run: `cargo bench --bench intake` (BENCH_SECONDS to change the length).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

mod report;

use std::sync::Arc;
use std::time::{Duration, Instant};

use testimony::clock::SystemClock;
use testimony::config::IntakeLimits;
use testimony::crypto::Password;
use testimony::server::{self, AppState, Listeners};
use testimony::storage::StatementRecords;
use testimony::storage::Store;

const CLIENTS: usize = 64;

async fn load(base: &str, seconds: u64, submit: bool) -> (usize, usize, Vec<Duration>) {
    let client = reqwest::Client::builder().pool_max_idle_per_host(CLIENTS).build().unwrap();
    let statement = "x".repeat(4096);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for _ in 0..CLIENTS {
        let (client, base, statement) = (client.clone(), base.to_string(), statement.clone());
        tasks.push(tokio::spawn(async move {
            let (mut ok, mut other, mut latencies) = (0usize, 0usize, Vec::new());
            while Instant::now() < deadline {
                let start = Instant::now();
                let response = if submit {
                    let form = reqwest::multipart::Form::new()
                        .text("role", "detained_self")
                        .text("consent_store", "yes")
                        .text("statement", statement.clone());
                    client.post(format!("{base}/submit")).multipart(form).send().await
                } else {
                    client.get(format!("{base}/healthz")).send().await
                };
                match response {
                    Ok(r) if r.status() == 200 => {
                        let _ = r.bytes().await;
                        ok += 1;
                    }
                    _ => other += 1,
                }
                latencies.push(start.elapsed());
            }
            (ok, other, latencies)
        }));
    }
    let (mut ok, mut other, mut all) = (0, 0, Vec::new());
    for t in tasks {
        let (o, x, l) = t.await.unwrap();
        ok += o;
        other += x;
        all.extend(l);
    }
    all.sort();
    (ok, other, all)
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len().saturating_sub(1))]
}

/// The reference: `CLIENTS` threads sealing 4 KiB to `recipients`, each
/// into a file of its own, written and synced, for `seconds`.
fn seal_and_flush(
    dir: &std::path::Path,
    recipients: &[&testimony::crypto::Recipient],
    seconds: u64,
) -> (usize, Vec<Duration>) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let statement = vec![b'x'; 4096];
    let results: Vec<(usize, Vec<Duration>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..CLIENTS)
            .map(|t| {
                let statement = &statement;
                s.spawn(move || {
                    let mut latencies = Vec::new();
                    let mut n = 0usize;
                    while Instant::now() < deadline {
                        let start = Instant::now();
                        let sealed = testimony::crypto::seal_to(statement, recipients).unwrap();
                        let path = dir.join(format!("{t}-{n}"));
                        let mut file = std::fs::File::create(&path).unwrap();
                        std::io::Write::write_all(&mut file, sealed.as_bytes()).unwrap();
                        file.sync_all().unwrap();
                        latencies.push(start.elapsed());
                        n += 1;
                    }
                    (n, latencies)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut all = Vec::new();
    let mut done = 0;
    for (n, l) in results {
        done += n;
        all.extend(l);
    }
    all.sort();
    (done, all)
}

fn main() {
    let seconds: u64 = std::env::var("BENCH_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(10);
    let scratch = tempfile::tempdir_in(std::env::var("BENCH_DIR").unwrap_or_else(|_| ".".into())).unwrap();
    let data = scratch.path().join("data");
    let password = Password::new("correct horse battery staple".into()).unwrap();
    testimony::commands::initialize(
        &data,
        &"admin".parse().unwrap(),
        &password,
        &scratch.path().join("recovery.key"),
        Arc::new(SystemClock),
    )
    .unwrap();
    let raw = {
        let store = Store::open(&data).unwrap();
        let server = store.server().unwrap();
        let desk = store.desk(&server.default_desk).unwrap().unwrap();
        let desk_recipient = desk.current_key().unwrap().recipient.clone();
        let dir = scratch.path().join("raw");
        std::fs::create_dir(&dir).unwrap();
        seal_and_flush(&dir, &[&desk_recipient, &server.recovery_recipient], seconds)
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let store = Store::open(&data).unwrap();
        let limits =
            IntakeLimits { max_concurrent_uploads: CLIENTS, min_free_disk_bytes: 0, ..IntakeLimits::default() };
        let state = AppState::new(store, Arc::new(SystemClock), limits).unwrap();
        let listeners = Listeners::bind("127.0.0.1:0".parse().unwrap(), "127.0.0.1:0".parse().unwrap()).await.unwrap();
        let base = format!("http://{}", listeners.public_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let served = tokio::spawn(server::run(state.clone(), listeners, async move {
            let _ = stopped.await;
        }));
        println!("intake: {CLIENTS} concurrent clients, {seconds} s each");
        println!("{:<44} {:>10} {:>9} {:>9} {:>9} {:>7}", "what", "per second", "p50", "p99", "max", "errors");
        let (raw_done, raw_latencies) = &raw;
        let raw_rate = *raw_done as f64 / seconds as f64;
        println!(
            "{:<44} {:>10.0} {:>9.1?} {:>9.1?} {:>9.1?} {:>7}",
            "reference: seal 4 KiB, write, fsync (no HTTP)",
            raw_rate,
            pct(raw_latencies, 0.50),
            pct(raw_latencies, 0.99),
            raw_latencies.last().copied().unwrap_or_default(),
            0
        );
        for (what, submit) in [("reference: GET /healthz", false), ("testimony: POST /submit (4 KiB, durable)", true)] {
            let (ok, other, latencies) = load(&base, seconds, submit).await;
            if submit {
                let rate = ok as f64 / seconds as f64;
                report::row(
                    "intake: 4 KiB statements, 64 clients",
                    &format!("{rate:.0}/s, p99 {:.0?}, {other} errors", pct(&latencies, 0.99)),
                    &format!("{raw_rate:.0}/s raw seal + write + fsync, no HTTP"),
                    &format!("{:.0}% of raw", 100.0 * rate / raw_rate),
                    "no error; every one durable",
                );
            }
            println!(
                "{:<44} {:>10.0} {:>9.1?} {:>9.1?} {:>9.1?} {:>7}",
                what,
                ok as f64 / seconds as f64,
                pct(&latencies, 0.50),
                pct(&latencies, 0.99),
                latencies.last().copied().unwrap_or_default(),
                other
            );
        }
        let stored = state.store.submissions().count();
        println!("submissions stored: {stored}");
        let _ = stop.send(());
        served.await.unwrap().unwrap();
    });
}
