//! The reviewer list at scale: 100,000 statements on one desk. Measures
//! unlocking the desk twice (from its records, decrypting every statement,
//! then from the sealed snapshot that first unlock wrote) with the index's
//! memory, then the first page of the list, a filtered page and text
//! searches, each beside its reference: one pass over the same entries
//! that only counts them (the least any list must do).
//!
//! Statements are about 4 KiB of made-up words drawn from a vocabulary of
//! 3,000 (Latin, Uyghur and Chinese), a few of them far more often than
//! the rest, as in prose: a benchmark of a dozen repeated words would
//! flatter the compressed index, uniform draws would punish it.
//! Run: `cargo bench --bench review_list` (BENCH_STATEMENTS to change 100,000).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use testimony::case::WorkflowState;
use testimony::clock::{Clock, SystemClock};
use testimony::crypto::{self, Password, Salt};
use testimony::search::{Query, SearchIndex};
use testimony::storage::{Channel, Holder, StatementRecords, Store, SubmissionRecord};

const WORDS: [&str; 12] = [
    "camp",
    "bus",
    "hospital",
    "blood",
    "ultrasound",
    "night",
    "ئۇيغۇر",
    "维吾尔",
    "brother",
    "train",
    "Ürümqi",
    "village",
];

/// 3,000 made-up words: syllables of Latin, Uyghur and Chinese, joined.
fn vocabulary() -> Vec<String> {
    const LATIN: [&str; 16] =
        ["ka", "ro", "mi", "tu", "sen", "dar", "li", "qo", "ya", "ne", "bu", "ish", "te", "gul", "an", "zhe"];
    const UYGHUR: [&str; 12] = ["قا", "ر", "مى", "تۇ", "سەن", "دا", "لى", "قو", "يا", "نې", "بۇ", "ئىش"];
    const CHINESE: [&str; 12] = ["被", "带", "到", "医", "院", "后", "来", "送", "看", "守", "所", "人"];
    (0..3000u32)
        .map(|i| {
            let pick =
                |set: &[&str], k: u32| set[((i.wrapping_mul(2654435761) >> (k * 4)) as usize) % set.len()].to_string();
            match i % 5 {
                0..=2 => (0..2 + i % 3).map(|k| pick(&LATIN, k)).collect(),
                3 => (0..2 + i % 2).map(|k| pick(&UYGHUR, k)).collect(),
                _ => (0..2).map(|k| pick(&CHINESE, k)).collect(),
            }
        })
        .collect()
}

/// The process's resident memory now, in MiB.
fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .unwrap()
        .trim()
        .trim_end_matches(" kB")
        .trim()
        .parse()
        .unwrap();
    kib / 1024.0
}

fn main() {
    let n: usize = std::env::var("BENCH_STATEMENTS").ok().and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let scratch = tempfile::tempdir_in(std::env::var("BENCH_DIR").unwrap_or_else(|_| ".".into())).unwrap();
    let data = scratch.path().join("data");
    let recovery_path = scratch.path().join("recovery.key");
    let password = Password::new("correct horse battery staple".into()).unwrap();
    testimony::commands::initialize(&data, &"admin".parse().unwrap(), &password, &recovery_path, Arc::new(SystemClock))
        .unwrap();
    let store = Arc::new(Store::open(&data).unwrap());
    let server = store.server().unwrap();
    let recovery = crypto::read_identity_file(&recovery_path).unwrap();
    let desk_key =
        Arc::new(testimony::custody::unwrap(&store, &server.default_desk, 0, &Holder::Recovery, &recovery).unwrap());
    let desk = store.desk(&server.default_desk).unwrap().unwrap();
    let desk_recipient = desk.current_key().unwrap().recipient.clone();

    let start = Instant::now();
    let today = SystemClock.today();
    let vocabulary = vocabulary();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..n {
        let narrative: String = (0..520)
            .map(|k| {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                // One word in twelve from the fixed list, the searches' targets.
                // The rest Zipf-like, as in prose: a few words very often.
                let u = (seed >> 11) as f64 / (1u64 << 53) as f64;
                if k % 12 == 0 {
                    WORDS[(i * 7 + k / 12) % WORDS.len()]
                } else {
                    &vocabulary[(u.powi(3) * vocabulary.len() as f64) as usize]
                }
            })
            .collect::<Vec<_>>()
            .join(" ");
        let doc = json!({
            "format": "testimony-statement-v1",
            "submission": format!("{i:032x}"),
            "received": today.to_string(),
            "channel": "web",
            "form_language": if i % 4 == 0 { "ug" } else { "en" },
            "fields": {
                "statement": format!("{narrative} marker-{i}"),
                "role": [if i % 2 == 0 { "detained_self" } else { "family_or_friend" }],
                "community": [if i % 3 == 0 { "uyghur" } else { "tibetan" }],
            },
            "files": [],
        });
        let sealed =
            crypto::seal_to(doc.to_string().as_bytes(), &[&desk_recipient, &server.recovery_recipient]).unwrap();
        let record = SubmissionRecord {
            id: format!("{i:032x}"),
            desk: desk.id.clone(),
            key_generation: 0,
            received: today,
            state: if i % 5 == 0 { WorkflowState::InReview } else { WorkflowState::Received },
            channel: Channel::Web,
            statement: Some(sealed.clone()),
            identity: None,
            consent: vec![],
            manifest: Some(sealed),
            additions: vec![],
            files: vec![],
            witness_salt: Salt::generate(),
            witness_recipient: desk_recipient.clone(),
            thread: vec![],
            triage: None,
            filed_by: None,
            version: 0,
            example: false,
        };
        store.insert_submission(&record, &format!("lookup-{i}"), None).unwrap();
    }
    println!("review list: {n} statements of about 4 KiB on one desk (stored in {:.0?})", start.elapsed());

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let desks: HashMap<_, _> = HashMap::from([(desk.id.clone(), vec![(0u32, desk_key.clone())])]);
    let visible: HashSet<_> = desks.keys().cloned().collect();
    let snapshot = data.join("index").join(format!("{}.sealed", desk.id.0));
    let unlock = |what: &str| {
        let before = rss_mib();
        let index = Arc::new(SearchIndex::default());
        let start = Instant::now();
        runtime.block_on(async {
            index.ensure(&store, &desks);
            loop {
                let p = index.progress(&visible);
                if p.total > 0 && p.done >= p.total && p.total != 1 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        });
        // The last batch lands just after the counter; wait for it.
        for waited in 0.. {
            let listed = index.search(&visible, &Query::default(), 0, 1).matching;
            if listed >= n {
                break;
            }
            assert!(waited < 5000, "only {listed} of {n} listed: {:?}", index.progress(&visible));
            std::thread::sleep(Duration::from_millis(2));
        }
        let took = start.elapsed();
        println!(
            "unlock {what:<38} {:>8.2?}  decrypted {:>7}  index memory {:>6.0} MiB (resident, after minus before)",
            took,
            index.decrypted_in_builds(),
            rss_mib() - before
        );
        index
    };
    let first = unlock("from the records (no snapshot)");
    // The first unlock writes the sealed snapshot on its thread; wait.
    while !snapshot.exists() {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    println!("sealed snapshot: {:.0} MiB on disk", std::fs::metadata(&snapshot).unwrap().len() as f64 / 1048576.0);
    drop(first);
    let index = unlock("from the sealed snapshot");
    println!("targets: unlock from the snapshot under 2 s, index under 250 MiB at 100,000 statements");

    let time = |q: &Query| {
        let mut runs: Vec<Duration> = (0..7)
            .map(|_| {
                let t = Instant::now();
                let page = index.search(&visible, q, 0, 50);
                assert!(page.entries.len() <= 50);
                t.elapsed()
            })
            .collect();
        runs.sort();
        (runs[3], index.search(&visible, q, 0, 50).matching)
    };
    println!("{:<46} {:>10} {:>9}", "what", "median", "matching");
    let cases = [
        ("list, first page, no filter", Query::default()),
        (
            "list filtered: state in_review, community uyghur",
            Query { state: "in_review".into(), community: "uyghur".into(), ..Query::default() },
        ),
        ("search: a word in every statement (camp)", Query { text: "camp".into(), ..Query::default() }),
        ("search: a rare marker (marker-99999)", Query { text: "marker-99999".into(), ..Query::default() }),
        ("search: Uyghur word (ئۇيغۇر)", Query { text: "ئۇيغۇر".into(), ..Query::default() }),
        ("search: Traditional for Simplified (維吾爾)", Query { text: "維吾爾".into(), ..Query::default() }),
    ];
    for (what, q) in cases {
        let (median, matching) = time(&q);
        println!("{what:<46} {:>10.1?} {matching:>9}", median);
    }
    let ids: Vec<String> = (0..n).map(|i| format!("{i:032x}")).collect();
    let t = Instant::now();
    let counted = ids.iter().filter(|id| id.ends_with('0')).count();
    println!("{:<46} {:>10.1?} {counted:>9}", "reference: one pass counting the ids", t.elapsed());
}
