//! The fuzz entry points (`testimony::fuzzing`) on stable, so that they
//! never rot where no nightly toolchain runs cargo-fuzz: each one over its
//! seed corpus (`fuzz/corpus/NAME/`), over every input a fuzzer ever
//! crashed it with (`fuzz/regressions/NAME/`, kept forever), then over
//! proptest's bytes, random and mutated from the seeds. An entry point
//! without seeds or without a cargo-fuzz target fails here.
//!
//! The seeds are made by our own code (the real binary's `init`, `audit
//! checkpoint` and `backup`, the library's signing and receipts, images
//! and bodies written byte by byte below): rewrite them with
//! `TESTIMONY_WRITE_FUZZ_SEEDS=1 cargo test --test fuzz_entry_points write_seeds`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use testimony::fuzzing::{self, TARGETS};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

fn files_in(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut files: Vec<(PathBuf, Vec<u8>)> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect();
    files.sort();
    files
}

fn target(name: &str) -> fn(&[u8]) {
    TARGETS.iter().find(|(n, _)| *n == name).map(|(_, f)| *f).unwrap_or_else(|| panic!("no entry point {name}"))
}

fn seeds(name: &str) -> Vec<Vec<u8>> {
    files_in(&fuzz_dir().join("corpus").join(name)).into_iter().map(|(_, b)| b).collect()
}

#[test]
fn every_entry_point_has_seeds_and_a_fuzz_target_and_nothing_else_does() {
    let manifest = std::fs::read_to_string(fuzz_dir().join("Cargo.toml")).unwrap();
    for (name, _) in TARGETS {
        let corpus = fuzz_dir().join("corpus").join(name);
        assert!(corpus.is_dir(), "entry point {name} has no seed corpus: add {}", corpus.display());
        assert!(!files_in(&corpus).is_empty(), "the seed corpus {} is empty", corpus.display());
        let source = fuzz_dir().join("fuzz_targets").join(format!("{name}.rs"));
        let text = std::fs::read_to_string(&source)
            .unwrap_or_else(|_| panic!("entry point {name} has no cargo-fuzz target {}", source.display()));
        assert!(
            text.contains(&format!("testimony::fuzzing::{name}(data)")),
            "{} calls another entry",
            source.display()
        );
        assert!(
            manifest.contains(&format!("name = \"{name}\"\npath = \"fuzz_targets/{name}.rs\"")),
            "fuzz/Cargo.toml lacks {name}"
        );
    }
    let listed = |n: &str| TARGETS.iter().any(|(t, _)| *t == n);
    for dir in ["corpus", "regressions"] {
        for entry in std::fs::read_dir(fuzz_dir().join(dir)).into_iter().flatten() {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            assert!(listed(&name), "fuzz/{dir}/{name} belongs to no entry point of testimony::fuzzing::TARGETS");
        }
    }
    for entry in std::fs::read_dir(fuzz_dir().join("fuzz_targets")).unwrap() {
        let file = entry.unwrap().file_name().to_string_lossy().into_owned();
        let name = file.trim_end_matches(".rs");
        assert!(listed(name), "fuzz/fuzz_targets/{file} belongs to no entry point of testimony::fuzzing::TARGETS");
    }
}

#[test]
fn seeds_and_every_crash_ever_found_replay_cleanly() {
    for (name, entry) in TARGETS {
        for dir in ["corpus", "regressions"] {
            for (path, bytes) in files_in(&fuzz_dir().join(dir).join(name)) {
                eprintln!("{name}: {}", path.display());
                entry(&bytes);
            }
        }
    }
}

/// Applies up to a few edits (replace, insert, delete a byte) to a seed.
fn mutate(seed: &[u8], edits: &[(prop::sample::Index, u8, u8)]) -> Vec<u8> {
    let mut bytes = seed.to_vec();
    for (at, byte, op) in edits {
        match op % 3 {
            0 if !bytes.is_empty() => {
                let i = at.index(bytes.len());
                bytes[i] = *byte;
            }
            1 => {
                let i = at.index(bytes.len() + 1);
                bytes.insert(i, *byte);
            }
            _ if !bytes.is_empty() => {
                let i = at.index(bytes.len());
                bytes.remove(i);
            }
            _ => {}
        }
    }
    bytes
}

/// 256 random inputs and 256 mutated seeds for one entry point.
fn generated(name: &str) {
    let entry = target(name);
    let config = Config { cases: 256, failure_persistence: None, ..Config::default() };
    let mut runner = TestRunner::new(config.clone());
    runner
        .run(&prop::collection::vec(any::<u8>(), 0..2048), |bytes| {
            entry(&bytes);
            Ok(())
        })
        .unwrap();
    let seeds = seeds(name);
    assert!(!seeds.is_empty(), "no seeds for {name}");
    let edits = prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), any::<u8>()), 1..8);
    let mut runner = TestRunner::new(config);
    runner
        .run(&(any::<prop::sample::Index>(), edits), |(which, edits)| {
            let seed: &Vec<u8> = which.get(&seeds);
            entry(&mutate(seed, &edits));
            Ok(())
        })
        .unwrap();
}

macro_rules! generated_bytes {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                generated(stringify!($name));
            }
        )*

        #[test]
        fn every_entry_point_gets_generated_bytes() {
            let here: &[&str] = &[$(stringify!($name)),*];
            for (name, _) in TARGETS {
                assert!(here.contains(name), "add {name} to generated_bytes! in tests/fuzz_entry_points.rs");
            }
        }
    };
}

mod generated_bytes {
    use super::generated;
    use testimony::fuzzing::TARGETS;
    generated_bytes!(
        multipart,
        form,
        receipt,
        lang,
        jpeg,
        png,
        audit_line,
        audit_verify,
        checkpoint,
        manifest,
        backup,
        config
    );
}

// --- The seeds ---------------------------------------------------------------

#[test]
fn write_seeds() {
    if std::env::var_os("TESTIMONY_WRITE_FUZZ_SEEDS").is_none() {
        return;
    }
    let write = |name: &str, seed: &str, bytes: &[u8]| {
        let dir = fuzz_dir().join("corpus").join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("seed-{seed}")), bytes).unwrap();
    };

    // Images: written byte by byte, then checked to be what the cleaner keeps.
    for (seed, bytes) in [("baseline", jpeg_baseline()), ("adobe-restarts", jpeg_adobe_restarts())] {
        assert!(testimony::intake::clean::clean(&bytes).is_ok(), "the {seed} JPEG seed is refused");
        write("jpeg", &format!("{seed}.jpg"), &bytes);
    }
    for (seed, bytes) in [("grey-1x1", png_grey()), ("with-text", png_with_text())] {
        assert!(testimony::intake::clean::clean(&bytes).is_ok(), "the {seed} PNG seed is refused");
        write("png", &format!("{seed}.png"), &bytes);
    }

    // Multipart: the first byte is the chunk size (0: one chunk).
    let mut whole = vec![0u8];
    whole.extend_from_slice(&multipart_body(true));
    write("multipart", "submit-with-photo", &whole);
    let mut small_chunks = vec![7u8];
    small_chunks.extend_from_slice(&multipart_body(false));
    write("multipart", "submit-text-in-7-byte-chunks", &small_chunks);
    let mut preamble = vec![0u8];
    preamble.extend_from_slice(b"a preamble\r\n");
    preamble.extend_from_slice(&multipart_body(false));
    write("multipart", "preamble", &preamble);

    // Receipts: a real one, grouped, in Arabic-Indic digits, and mistyped.
    let receipt = testimony::case::receipt::Receipt::generate();
    write("receipt", "grouped", receipt.grouped().as_bytes());
    let arabic: String =
        receipt.digits().chars().map(|c| char::from_u32(0x0660 + c.to_digit(10).unwrap()).unwrap()).collect();
    write("receipt", "arabic-indic", arabic.as_bytes());
    let mut typo = receipt.digits().to_string();
    typo.replace_range(0..1, if typo.starts_with('1') { "2" } else { "1" });
    write("receipt", "mistyped", typo.as_bytes());

    // Forms (urlencoded bodies) and queries.
    let grouped = receipt.grouped().replace(' ', "+");
    write("form", "receipt", format!("receipt={grouped}").as_bytes());
    write(
        "form",
        "answer",
        format!("receipt={grouped}&message=%E6%88%91%E5%9C%A8%E8%BF%99%E9%87%8C%0D%0Ayes").as_bytes(),
    );
    write(
        "form",
        "consent",
        format!("receipt={grouped}&consent_partners=anonymised&consent_public=no&contact_again=yes&lang=ug").as_bytes(),
    );
    write("form", "manifest-addition", format!("receipt={grouped}&addition=2").as_bytes());
    write(
        "form",
        "review-evaluation",
        b"csrf=abc&source_reliability=B&credibility=2&corroboration=partial&labels=a+b&assigned_to=ada&state=in_review",
    );
    write("form", "login", b"username=ada&password=correct+horse&totp=123456");
    write("form", "list-query", b"q=%D8%A6%DB%87&state=received&page=2&screen=overdue&files=yes");

    // Languages: the query string, a newline, then Accept-Language.
    write("lang", "explicit", b"lang=ug\nzh-CN,zh;q=0.9,en;q=0.8");
    write("lang", "encoded", b"lang=zh%2DHant&x=1\n");
    write("lang", "accept-only", b"\nkk-Arab;q=0.7, bo;q=0.9, *;q=0.1");
    write("lang", "weights", b"\nen;q=0, ug-CN;q=1.0, zh-TW;q=0.5");

    // Manifests, signed with the key the entry point trusts.
    use testimony::intake::manifest::{ADDITION_FORMAT, Addition, Digest, FORMAT, FileDigest, Manifest};
    use testimony::intake::manifest::{SignedAddition, SignedManifest};
    let key = testimony::crypto::SigningKey::from_seed(&fuzzing::MANIFEST_KEY_SEED).unwrap();
    let manifest = SignedManifest::sign(
        Manifest {
            format: FORMAT.into(),
            submission: "ab".repeat(16),
            received: "2026-11-29".into(),
            statement: Digest { bytes: 120, sha256: "00".repeat(32) },
            files: vec![FileDigest { index: 1, bytes: 5, sha256: "11".repeat(32) }],
        },
        &key,
    );
    write("manifest", "manifest.json", manifest.to_file_text().as_bytes());
    let addition = SignedAddition::sign(
        Addition {
            format: ADDITION_FORMAT.into(),
            submission: "ab".repeat(16),
            received: "2026-12-02".into(),
            sequence: 1,
            files: vec![FileDigest { index: 2, bytes: 9, sha256: "22".repeat(32) }],
        },
        &key,
    );
    write("manifest", "addition.json", addition.to_file_text().trim_end().as_bytes());

    // Config files.
    write(
        "config",
        "deploy-example.toml",
        &std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/testimony.toml")).unwrap(),
    );
    write("config", "minimal.toml", b"data = \"/srv/t\"\nlisten = \"127.0.0.1:1\"\nreview_listen = \"[::1]:2\"\n");
    write("config", "sessions.toml", b"[sessions]\nidle_minutes = 30\nabsolute_hours = 1\n[intake]\nmax_files = 3\n");

    // A real data directory: its audit log, a checkpoint and a backup.
    let site = common::Site::new();
    let checkpoint = common::run(&["audit", "checkpoint", "--data", site.data_arg()]);
    assert!(checkpoint.status.success(), "{}", common::stderr(&checkpoint));
    let backup_file = site.root.path().join("backup");
    let backup = common::run(&["backup", "--data", site.data_arg(), "--out", backup_file.to_str().unwrap()]);
    assert!(backup.status.success(), "{}", common::stderr(&backup));
    let log = std::fs::read(testimony::audit::log_path(&site.data)).unwrap();
    write("checkpoint", "checkpoint.txt", &checkpoint.stdout);
    write("audit_verify", "log", &log);
    let mut with_saved = log.clone();
    with_saved.push(0);
    with_saved.extend_from_slice(&checkpoint.stdout);
    write("audit_verify", "log-and-checkpoint", &with_saved);
    for (i, line) in log.split(|b| *b == b'\n').filter(|l| !l.is_empty()).enumerate() {
        write("audit_line", &format!("line-{i}"), line);
    }
    write("backup", "backup", &std::fs::read(&backup_file).unwrap());
}

fn multipart_body(with_photo: bool) -> Vec<u8> {
    let b = fuzzing::BOUNDARY;
    let mut out = Vec::new();
    let mut text = |name: &str, value: &str| {
        out.extend_from_slice(
            format!("--{b}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
        );
    };
    text("lang", "ug");
    text("role", "detained_self");
    text("consent_store", "yes");
    text("consent_partners", "anonymised");
    text("statement", "I was taken on 2018-05-03.\r\nمەن تۇتۇلدۇم");
    text("when_edtf", "2018-05~");
    text("act_ultrasound", "yes");
    text("attachment_metadata", "make_clean_copy");
    if with_photo {
        out.extend_from_slice(
            format!(
                "--{b}\r\nContent-Disposition: form-data; name=\"attachment\"; filename=\"photo.png\"\r\nContent-Type: image/png\r\n\r\n"
            )
            .as_bytes(),
        );
        out.extend_from_slice(&png_with_text());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{b}--\r\n").as_bytes());
    out
}

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

/// A 1x1 grey PNG (its pixels a zlib stream over two IDAT chunks).
fn png_grey() -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    for c in [
        chunk(b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0]),
        chunk(b"IDAT", &[0x08, 0xD7, 0x63, 0x60]),
        chunk(b"IDAT", &[0x00, 0x00, 0x00, 0x02, 0x00, 0x01]),
        chunk(b"IEND", &[]),
    ] {
        out.extend_from_slice(&c);
    }
    out
}

/// The same with what a cleaner drops: text, a profile, a trailer.
fn png_with_text() -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    for c in [
        chunk(b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0]),
        chunk(b"gAMA", &[0, 0, 0xB1, 0x8F]),
        chunk(b"tEXt", b"Comment\0taken at the camp"),
        chunk(b"iCCP", b"phone\0\0xx"),
        chunk(b"IDAT", &[0x08, 0xD7, 0x63, 0x60, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01]),
        chunk(b"IEND", &[]),
    ] {
        out.extend_from_slice(&c);
    }
    out.extend_from_slice(b"appended");
    out
}

fn segment(marker: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0xFF, marker];
    out.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

fn jpeg_tables() -> Vec<u8> {
    let mut dqt = vec![0x00];
    dqt.extend((1..=64).map(|i| i as u8));
    let mut dht = vec![0x00, 1];
    dht.extend(std::iter::repeat_n(0, 15));
    dht.push(0);
    [segment(0xDB, &dqt), segment(0xC4, &dht)].concat()
}

/// A baseline 8x8 grey JPEG with JFIF, Exif and a comment to drop.
fn jpeg_baseline() -> Vec<u8> {
    [
        vec![0xFF, 0xD8],
        segment(0xE0, b"JFIF\0\x01\x02\x00\x00\x01\x00\x01\x00\x00"),
        segment(0xE1, b"Exif\0\0MM\0*GPS"),
        segment(0xFE, b"a comment"),
        jpeg_tables(),
        segment(0xC0, &[8, 0, 8, 0, 8, 1, 1, 0x11, 0]),
        segment(0xDA, &[1, 1, 0, 0, 0x3F, 0]),
        vec![0x12, 0x34, 0xFF, 0x00, 0x56],
        vec![0xFF, 0xD9],
        b"trailing bytes".to_vec(),
    ]
    .concat()
}

/// A progressive JPEG with an Adobe segment, restart markers, fill bytes
/// and two scans.
fn jpeg_adobe_restarts() -> Vec<u8> {
    [
        vec![0xFF, 0xD8],
        segment(0xEE, b"Adobe\x00\x64\x80\x00\x00\x00\x01"),
        jpeg_tables(),
        segment(0xC2, &[8, 0, 1, 0, 1, 1, 1, 0x11, 0]),
        segment(0xDD, &[0, 1]),
        segment(0xDA, &[1, 1, 0, 0, 0x3F, 0]),
        vec![0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56, 0xFF, 0xFF, 0xD1, 0x78],
        vec![0xFF, 0xFF],
        segment(0xDA, &[1, 1, 0, 0, 0x3F, 0x10]),
        vec![0x9A],
        vec![0xFF, 0xD9],
    ]
    .concat()
}

/// The seeds that stand for a valid input are still accepted to the end
/// (a format change that made them stale would leave the fuzzers at the
/// door).
#[test]
fn valid_seeds_are_still_accepted_to_the_end() {
    let seed = |name: &str, file: &str| std::fs::read(fuzz_dir().join("corpus").join(name).join(file)).unwrap();
    let backup = seed("backup", "seed-backup");
    assert!(testimony::backup::read(&backup[..], testimony::backup::Check::Everything).is_ok());
    let log = seed("audit_verify", "seed-log");
    let checkpoint =
        testimony::audit::export::from_text(&String::from_utf8(seed("checkpoint", "seed-checkpoint.txt")).unwrap())
            .unwrap();
    assert!(testimony::audit::verify_bytes(&log, Some(&checkpoint)).is_ok());
    let key = testimony::crypto::SigningKey::from_seed(&fuzzing::MANIFEST_KEY_SEED).unwrap().verifying_key();
    for file in ["seed-manifest.json", "seed-addition.json"] {
        assert!(testimony::intake::manifest::Evidence::verify(&seed("manifest", file), Some(&key)).is_ok(), "{file}");
    }
    for (name, file) in [
        ("jpeg", "seed-baseline.jpg"),
        ("jpeg", "seed-adobe-restarts.jpg"),
        ("png", "seed-grey-1x1.png"),
        ("png", "seed-with-text.png"),
    ] {
        assert!(testimony::intake::clean::clean(&seed(name, file)).is_ok(), "{file}");
    }
    let grouped = String::from_utf8(seed("receipt", "seed-grouped")).unwrap();
    assert!(testimony::case::receipt::Receipt::parse(&grouped).0.is_some());
    let config = String::from_utf8(seed("config", "seed-minimal.toml")).unwrap();
    let file = testimony::config::ConfigFile::parse(Path::new("minimal.toml"), &config).unwrap();
    assert!(testimony::config::ServeConfig::resolve(Default::default(), file).is_ok());
}
