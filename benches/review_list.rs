//! The reviewer list at scale: 100,000 statements on one desk. Measures how
//! long unlocking (decrypting every statement into the in-memory index)
//! takes, then the first page of the list, a filtered page and a text
//! search, each beside its reference: one pass over the same entries that
//! only counts them (the least any list must do).
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
    for i in 0..n {
        let narrative: String = (0..600).map(|k| WORDS[(i * 7 + k * 13) % WORDS.len()]).collect::<Vec<_>>().join(" ");
        let doc = json!({
            "format": "testimony-statement-v1",
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
    let index = Arc::new(SearchIndex::default());
    let desks: HashMap<_, _> = HashMap::from([(desk.id.clone(), vec![(0u32, desk_key.clone())])]);
    let visible: HashSet<_> = desks.keys().cloned().collect();
    let start = Instant::now();
    runtime.block_on(async {
        index.ensure(&store, &desks);
        loop {
            let p = index.progress(&visible);
            if p.total > 0 && p.done >= p.total && p.total != 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    // The last batch lands just after the counter; wait for it.
    while index.search(&visible, &Query::default(), 0, 1).matching < n {
        std::thread::sleep(Duration::from_millis(5));
    }
    println!("unlock (decrypt all into the index): {:.2?}", start.elapsed());

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
