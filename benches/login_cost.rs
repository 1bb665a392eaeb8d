//! What one sign-in costs: the argon2id derivation (64 MiB, 3 passes) that
//! every attempt pays, its memory, and how many a pool of one worker per
//! core gets through. Reference: the same derivation at argon2's own
//! default parameters (19 MiB, 2 passes), to show what our choice costs.
//! Run: `cargo bench --bench login_cost`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

use std::time::Instant;

use testimony::crypto::{KdfParams, Password, PersonalKeys, Salt};

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .unwrap()
        .trim()
        .trim_end_matches(" kB")
        .trim()
        .parse()
        .unwrap();
    kib / 1024.0
}

fn time(params: KdfParams, runs: usize) -> (f64, f64) {
    let password = Password::new("correct horse battery staple".into()).unwrap();
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
    let after = peak_rss_mib();
    println!("login cost: argon2id m=64 MiB t=3 p=1 (testimony)");
    println!(
        "  one derivation: median {median:.1} ms, slowest {worst:.1} ms; peak memory grew {:.1} MiB",
        after - before
    );
    let (median, worst) = time(KdfParams { memory_kib: 19 * 1024, passes: 2, lanes: 1 }, 9);
    println!("reference: argon2's defaults m=19 MiB t=2: median {median:.1} ms, slowest {worst:.1} ms");

    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
    let per = 4;
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..cores {
            s.spawn(|| {
                let password = Password::new("correct horse battery staple".into()).unwrap();
                let salt = Salt::generate();
                for _ in 0..per {
                    PersonalKeys::derive(&password, &salt, KdfParams::DEFAULT).unwrap();
                }
            });
        }
    });
    let rate = (cores * per) as f64 / start.elapsed().as_secs_f64();
    println!(
        "pool of {cores} workers (one per core): {rate:.1} sign-ins per second at most; peak memory {:.0} MiB",
        peak_rss_mib()
    );
}
