//! The reviewer list at scale: 100,000 statements on one desk. Measures
//! unlocking the desk twice (from its records, decrypting every statement,
//! then from the sealed snapshot that first unlock wrote) with the index's
//! memory, then the first page of the list, a filtered page and text
//! searches, each beside its reference: one pass over the same entries
//! that only counts them (the least any list must do).
//!
//! Statements are about 4 KiB of made-up words (Latin, Uyghur and
//! Chinese) drawn by Zipf's law from a vocabulary of 100,000, with
//! punctuation, as in prose: a benchmark of a dozen repeated words would
//! flatter the index (it keeps each distinct word once per desk), uniform
//! draws would punish it.
//! Run: `cargo bench --bench review_list` (BENCH_STATEMENTS to change 100,000).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

mod report;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use testimony::case::WorkflowState;
use testimony::clock::{Clock, SystemClock};
use testimony::crypto::{self, Password, Salt};
use testimony::search::{Query, SearchIndex, fold};
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

/// 100,000 made-up words: the word's rank written in syllables of Latin,
/// Uyghur or Chinese, so each is distinct and the rarer ones longer.
fn vocabulary() -> Vec<String> {
    const LATIN: [&str; 16] =
        ["ka", "ro", "mi", "tu", "sen", "dar", "li", "qo", "ya", "ne", "bu", "ish", "te", "gul", "an", "zhe"];
    const UYGHUR: [&str; 12] = ["قا", "ر", "مى", "تۇ", "سەن", "دا", "لى", "قو", "يا", "نې", "بۇ", "ئىش"];
    const CHINESE: [&str; 12] = ["被", "带", "到", "医", "院", "后", "来", "送", "看", "守", "所", "人"];
    let spell = |mut n: usize, set: &[&str]| {
        let mut word = String::new();
        loop {
            word.push_str(set[n % set.len()]);
            n /= set.len();
            if n == 0 {
                break word;
            }
        }
    };
    (0..VOCABULARY)
        .map(|rank| match rank % 5 {
            0..=2 => spell(rank + 16, &LATIN),
            3 => spell(rank + 12, &UYGHUR),
            _ => spell(rank + 12, &CHINESE),
        })
        .collect()
}

/// Distinct words the statements draw on.
const VOCABULARY: usize = 100_000;

use report::rss_mib;

/// Statement `i`'s narrative (`seed` carries on from the last).
fn narrative(i: usize, vocabulary: &[String], seed: &mut u64) -> String {
    (0..520)
        .map(|k| {
            *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            // One word in twelve from the fixed list, the searches' targets.
            // The rest Zipf-like, as in prose: a few words very often.
            let u = (*seed >> 11) as f64 / (1u64 << 53) as f64;
            let word = if k % 12 == 0 {
                WORDS[(i * 7 + k / 12) % WORDS.len()]
            } else {
                // Zipf's law (exponent 1): rank r drawn with weight 1/r.
                let rank = ((VOCABULARY as f64).powf(u) as usize).saturating_sub(1);
                &vocabulary[rank.min(VOCABULARY - 1)]
            };
            // Punctuation as in prose: a comma, a full stop, a new line.
            let after = match *seed >> 60 {
                0 => ", ",
                1 => ". ",
                2 if k % 7 == 0 => ".\n",
                _ => " ",
            };
            format!("{word}{after}")
        })
        .collect::<String>()
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
        let narrative = narrative(i, &vocabulary, &mut seed);
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
            state_since: None,
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
        let memory = rss_mib() - before;
        println!(
            "unlock {what:<38} {:>8.2?}  decrypted {:>7}  index memory {:>6.0} MiB (resident, after minus before)",
            took,
            index.decrypted_in_builds(),
            memory
        );
        let (entries, keys, pieces, piece_bytes) = index.size(&desk.id).unwrap();
        println!(
            "  {entries} entries; search keys {:.0} MiB; vocabulary {pieces} pieces, {:.1} MiB",
            keys as f64 / 1048576.0,
            piece_bytes as f64 / 1048576.0
        );
        (index, took, memory)
    };
    let (first, from_records, _) = unlock("from the records (no snapshot)");
    // The first unlock writes the sealed snapshot on its thread; wait.
    while !snapshot.exists() {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    let snapshot_mib = std::fs::metadata(&snapshot).unwrap().len() as f64 / 1048576.0;
    println!("sealed snapshot: {snapshot_mib:.0} MiB on disk");
    drop(first);
    let (index, from_snapshot, memory) = unlock("from the sealed snapshot");
    println!("targets: unlock from the snapshot under 2 s, index under 250 MiB at 100,000 statements");
    report::row(
        &format!("unlock a desk of {n} statements"),
        &format!("{from_snapshot:.2?} from the sealed snapshot ({snapshot_mib:.0} MiB)"),
        &format!("{from_records:.1?} decrypting every statement"),
        &format!("{:.0}× faster", from_records.as_secs_f64() / from_snapshot.as_secs_f64()),
        "under 2 s",
    );

    // The reference for searching: the same statements' keys held whole,
    // in the clear, one string each (the simplest index there is).
    let before = rss_mib();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let plain: Vec<String> = (0..n)
        .map(|i| {
            let text = format!("{} marker-{i}", narrative(i, &vocabulary, &mut seed));
            let language = if i % 4 == 0 { "ug" } else { "en" };
            fold::key(&text, fold::ArabicReading::of(&text, language))
        })
        .collect();
    let plain_memory = rss_mib() - before;
    println!("reference: the keys held whole in the clear, {plain_memory:.0} MiB");
    report::row(
        &format!("the index's memory at {n} statements"),
        &format!("{memory:.0} MiB resident"),
        &format!("{plain_memory:.0} MiB for the search keys alone, held whole"),
        &format!("{:.0}%", 100.0 * memory / plain_memory),
        "under 250 MiB",
    );

    let median = |f: &dyn Fn() -> usize| {
        let mut runs: Vec<(Duration, usize)> = (0..7)
            .map(|_| {
                let t = Instant::now();
                let found = f();
                (t.elapsed(), found)
            })
            .collect();
        runs.sort();
        runs[3]
    };
    println!("{:<46} {:>10} {:>9} {:>10}", "what", "median", "matching", "reference");
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
        ("search: a two-word phrase (hospital blood)", Query { text: "hospital blood".into(), ..Query::default() }),
    ];
    // The list's reference: what the least list must do, one pass over a
    // plain array of the same statements' states, communities and days,
    // keeping the newest 50 that match.
    let plain_rows: Vec<(u8, u8, u32)> =
        (0..n).map(|i| (u8::from(i % 5 == 0), u8::from(i % 3 == 0), (n - i) as u32)).collect();
    for (what, q) in cases {
        let (took, matching) = median(&|| {
            let page = index.search(&visible, &q, 0, 50);
            assert!(page.entries.len() <= 50);
            page.matching
        });
        let (reference, _) = if q.text.is_empty() {
            let (state, community) = (q.state == "in_review", q.community == "uyghur");
            median(&|| {
                let mut hits: Vec<&(u8, u8, u32)> =
                    plain_rows.iter().filter(|(s, c, _)| (!state || *s == 1) && (!community || *c == 1)).collect();
                let found = hits.len();
                if found > 50 {
                    hits.select_nth_unstable_by_key(49, |(_, _, day)| std::cmp::Reverse(*day));
                }
                std::hint::black_box(&hits[..found.min(50)]);
                found
            })
        } else {
            // A search's: one pass over the keys held whole.
            let needles = fold::query_keys(&q.text);
            median(&|| {
                plain
                    .iter()
                    .filter(|key| needles.iter().any(|n| memchr::memmem::find(key.as_bytes(), n.as_bytes()).is_some()))
                    .count()
            })
        };
        println!("{what:<46} {:>10.1?} {matching:>9} {:>10.1?}", took, reference);
        report::row(
            what,
            &format!("{took:.1?}, {matching} found"),
            &format!(
                "{reference:.1?} {}",
                if q.text.is_empty() { "one pass over a plain array" } else { "one pass over the keys held whole" }
            ),
            &format!("{:.1}×", took.as_secs_f64() / reference.as_secs_f64()),
            "under 1 s",
        );
    }
}
