//! What signing in costs, and what a flood of sign-ins does.
//!
//! 1. One sign-in: the argon2id derivation (64 MiB, 3 passes) every
//!    attempt pays, and its memory. Reference: the same derivation at
//!    argon2's own defaults (19 MiB, 2 passes), to show what our choice
//!    costs.
//! 2. The pool: one worker per core, how many sign-ins a second at most.
//! 3. A login flood: 64 clients sending wrong passwords under made-up
//!    names to the real review listener for BENCH_SECONDS (10), while the
//!    administrator signs in with the right password and code. Reference:
//!    the pool's rate from (2), the most the server could ever check.
//!    Reports what the flood got back, how long the real sign-in took, and
//!    the process's peak memory.
//!
//! Run: `cargo bench --bench login_cost`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

mod report;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use report::{peak_rss_mib, row};
use testimony::clock::SystemClock;
use testimony::config::IntakeLimits;
use testimony::crypto::{KdfParams, Password, PersonalKeys, Salt};
use testimony::server::{self, AppState, Listeners};
use testimony::storage::Store;

const PASSWORD: &str = "correct horse battery staple";
const CLIENTS: usize = 64;

fn time(params: KdfParams, runs: usize) -> (f64, f64) {
    let password = Password::new(PASSWORD.into()).unwrap();
    let salt = Salt::generate();
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            PersonalKeys::derive(&password, &salt, params).unwrap();
            start.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    (times[runs / 2], times[runs - 1])
}

fn main() {
    let before = peak_rss_mib();
    let (median, worst) = time(KdfParams::DEFAULT, 9);
    let grew = peak_rss_mib() - before;
    println!("login cost: argon2id m=64 MiB t=3 p=1 (testimony)");
    println!("  one derivation: median {median:.1} ms, slowest {worst:.1} ms; peak memory grew {grew:.1} MiB");
    let (reference, reference_worst) = time(KdfParams { memory_kib: 19 * 1024, passes: 2, lanes: 1 }, 9);
    println!("reference: argon2's defaults m=19 MiB t=2: median {reference:.1} ms, slowest {reference_worst:.1} ms");
    row(
        "one sign-in's derivation (argon2id 64 MiB, t=3)",
        &format!("{median:.0} ms, {grew:.0} MiB"),
        &format!("{reference:.0} ms (argon2 defaults, 19 MiB, t=2)"),
        &format!("{:.1}× the time", median / reference),
        "100 ms to 1 s (slow for guessing, quick for a person)",
    );

    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
    let per = 4;
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..cores {
            s.spawn(|| {
                let password = Password::new(PASSWORD.into()).unwrap();
                let salt = Salt::generate();
                for _ in 0..per {
                    PersonalKeys::derive(&password, &salt, KdfParams::DEFAULT).unwrap();
                }
            });
        }
    });
    let capacity = (cores * per) as f64 / start.elapsed().as_secs_f64();
    println!("pool of {cores} workers (one per core): {capacity:.1} sign-ins per second at most");

    flood(capacity);
}

/// 64 clients guessing under made-up names; the administrator signs in
/// three seconds into it.
fn flood(capacity: f64) {
    let seconds: u64 = std::env::var("BENCH_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(10);
    let scratch = tempfile::tempdir_in(std::env::var("BENCH_DIR").unwrap_or_else(|_| ".".into())).unwrap();
    let data = scratch.path().join("data");
    let password = Password::new(PASSWORD.into()).unwrap();
    let admin = "admin";
    let initialized = testimony::commands::initialize(
        &data,
        &admin.parse().unwrap(),
        &password,
        &scratch.path().join("recovery.key"),
        Arc::new(SystemClock),
    )
    .unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let store = Store::open(&data).unwrap();
        let state = AppState::new(store, Arc::new(SystemClock), IntakeLimits::default()).unwrap();
        let listeners = Listeners::bind("127.0.0.1:0".parse().unwrap(), "127.0.0.1:0".parse().unwrap()).await.unwrap();
        let review = format!("http://{}", listeners.review_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let served = tokio::spawn(server::run(state.clone(), listeners, async move {
            let _ = stopped.await;
        }));
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(CLIENTS + 1)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let before = peak_rss_mib();
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let mut tasks = Vec::new();
        for c in 0..CLIENTS {
            let (client, review) = (client.clone(), review.clone());
            tasks.push(tokio::spawn(async move {
                let mut answers: BTreeMap<u16, usize> = BTreeMap::new();
                let mut latencies = Vec::new();
                let mut n = 0;
                while Instant::now() < deadline {
                    n += 1;
                    let form = [
                        ("username", format!("guess-{c}-{n}")),
                        // Long enough to be checked: a shorter one is
                        // refused by the policy before any derivation.
                        ("password", format!("wrong horse battery staple {n}")),
                        ("totp", "000000".into()),
                    ];
                    let start = Instant::now();
                    let status = match client.post(format!("{review}/login")).form(&form).send().await {
                        Ok(r) => {
                            let status = r.status().as_u16();
                            let _ = r.bytes().await;
                            status
                        }
                        Err(_) => 0,
                    };
                    latencies.push(start.elapsed());
                    *answers.entry(status).or_default() += 1;
                }
                (answers, latencies)
            }));
        }
        // The administrator, three seconds into the flood.
        tokio::time::sleep(Duration::from_secs(3.min(seconds / 2))).await;
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        let code = initialized.totp.code_at(admin, now).unwrap();
        let form = [("username", admin.to_string()), ("password", PASSWORD.into()), ("totp", code)];
        let start = Instant::now();
        let response = client.post(format!("{review}/login")).form(&form).send().await.unwrap();
        let admin_took = start.elapsed();
        let admin_status = response.status().as_u16();
        let signed_in = admin_status == 303 && response.headers().contains_key("set-cookie");
        // A guess at the real name and one at a made-up name, during the
        // flood: if they took clearly different times, the flood would
        // tell an attacker which names are accounts.
        let mut probes = Vec::new();
        for name in ["admin", "nobody-at-all"] {
            let form = [
                ("username", name.to_string()),
                ("password", "a wrong guess, long enough".into()),
                ("totp", "000000".into()),
            ];
            let start = Instant::now();
            let response = client.post(format!("{review}/login")).form(&form).send().await.unwrap();
            probes.push((name, response.status().as_u16(), start.elapsed()));
        }

        let mut answers: BTreeMap<u16, usize> = BTreeMap::new();
        let mut latencies = Vec::new();
        for task in tasks {
            let (a, l) = task.await.unwrap();
            for (status, n) in a {
                *answers.entry(status).or_default() += n;
            }
            latencies.extend(l);
        }
        latencies.sort();
        let total: usize = answers.values().sum();
        let p = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
        let peak = peak_rss_mib();
        println!("login flood: {CLIENTS} clients, {seconds} s, wrong passwords under made-up names");
        println!(
            "  {total} answers ({:.0}/s): {}",
            total as f64 / seconds as f64,
            answers.iter().map(|(s, n)| format!("{n} × {s}")).collect::<Vec<_>>().join(", ")
        );
        println!("  latency p50 {:.0?}, p99 {:.0?}", p(0.5), p(0.99));
        println!(
            "  the administrator's sign-in during it: {admin_status} in {admin_took:.2?} (signed in: {signed_in})"
        );
        println!("  peak memory {peak:.0} MiB (grew {:.0} MiB during the flood)", peak - before);
        for (name, status, took) in &probes {
            println!("  a wrong guess under {name:?} during it: {status} in {took:.0?}");
        }
        row(
            "login flood: 64 clients, made-up names",
            &format!(
                "{:.0} answers/s, p99 {:.1?}; the real sign-in {} in {:.2?}; peak {:.0} MiB",
                total as f64 / seconds as f64,
                p(0.99),
                if signed_in { "succeeded" } else { "FAILED" },
                admin_took,
                peak
            ),
            &format!("{capacity:.1} derivations/s (the pool, flat out)"),
            &format!("{:.0}× the derivation rate answered", total as f64 / seconds as f64 / capacity),
            "the real sign-in succeeds; memory bounded (cores × 64 MiB + queue)",
        );
        let _ = stop.send(());
        served.await.unwrap().unwrap();
    });
}
