//! Audit append cost under load, side by side with its reference: a bare
//! `write` + `fdatasync` of the same bytes per entry (the least any durable
//! log must pay). Run: `cargo bench --bench audit_append`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

mod report;

use std::fs::OpenOptions;
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use testimony::audit::{self, Actor, AuditLog, Event, LogFile, NewEntry};
use testimony::clock::SystemClock;
use testimony::crypto::SigningKey;

const PER_THREAD: usize = 400;

fn entry(i: usize) -> NewEntry {
    NewEntry::by(Actor::Account("reviewer".into()), Event::StatementViewed).on(format!("{i:032x}"))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

fn run_threads(threads: usize, work: Arc<dyn Fn(usize) + Send + Sync>) -> (f64, Duration, Duration) {
    let start = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let work = work.clone();
            std::thread::spawn(move || {
                let mut latencies = Vec::with_capacity(PER_THREAD);
                for i in 0..PER_THREAD {
                    let began = Instant::now();
                    work(t * PER_THREAD + i);
                    latencies.push(began.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut all: Vec<Duration> = handles.into_iter().flat_map(|h| h.join().unwrap()).collect();
    let elapsed = start.elapsed();
    all.sort();
    ((threads * PER_THREAD) as f64 / elapsed.as_secs_f64(), percentile(&all, 0.5), percentile(&all, 0.99))
}

fn main() {
    let dir = tempfile::tempdir_in(std::env::var("BENCH_DIR").unwrap_or_else(|_| ".".into())).unwrap();
    println!("audit append: {PER_THREAD} appends per thread, files in {}", dir.path().display());
    println!("{:<34} {:>8} {:>12} {:>10} {:>10}", "what", "threads", "appends/s", "p50", "p99");
    for threads in [1usize, 8, 64] {
        // testimony's log: chain, canonical JSON, group-committed fsync.
        let path = dir.path().join(format!("log-{threads}"));
        let open =
            || -> Box<dyn LogFile> { Box::new(OpenOptions::new().create(true).append(true).open(&path).unwrap()) };
        let signing = SigningKey::generate();
        let key = signing.verifying_key().to_string();
        let log = Arc::new(AuditLog::with_file(open(), open(), signing, Arc::new(SystemClock)));
        log.append(NewEntry::by(Actor::System, Event::DataDirectoryCreated { signing_key: key })).unwrap();
        let l = log.clone();
        let (rate, p50, p99) = run_threads(
            threads,
            Arc::new(move |i| {
                l.append(entry(i)).unwrap();
            }),
        );
        println!("{:<34} {:>8} {:>12.0} {:>10.2?} {:>10.2?}", "testimony AuditLog::append", threads, rate, p50, p99);
        let ours = (rate, p99);
        let summary = audit::verify_file(&path, None).unwrap();
        let bytes = std::fs::metadata(&path).unwrap().len();
        if threads == 1 {
            println!("  entry size: {} bytes on average (checkpoints included)", bytes / summary.records);
        }

        // Reference: one write + fdatasync per entry, serialized by a mutex.
        let ref_path = dir.path().join(format!("ref-{threads}"));
        let file =
            Arc::new(std::sync::Mutex::new(OpenOptions::new().create(true).append(true).open(&ref_path).unwrap()));
        let line = vec![b'x'; (bytes / summary.records) as usize];
        let (rate, p50, p99) = run_threads(
            threads,
            Arc::new(move |_| {
                let mut f = file.lock().unwrap();
                f.write_all(&line).unwrap();
                f.sync_data().unwrap();
            }),
        );
        println!(
            "{:<34} {:>8} {:>12.0} {:>10.2?} {:>10.2?}",
            "reference: write+fdatasync each", threads, rate, p50, p99
        );
        report::row(
            &format!("audit append, {threads} thread{}", if threads == 1 { "" } else { "s" }),
            &format!("{:.0}/s, p99 {:.1?}", ours.0, ours.1),
            &format!("{rate:.0}/s, p99 {p99:.1?} (write + fdatasync each)"),
            &format!("{:.2}×", ours.0 / rate),
            "every append durable before it returns",
        );
    }
}
