//! The files in deploy/ as the tools that read them see them: tor's
//! `--verify-config` on the torrc, `nginx -t` on the proxy example,
//! systemd's own exposure score for the unit, and the script that gives
//! a reviewer their onion client key.
//!
//! Needs Debian's `tor`, `nginx` and `openssl` (.ci/run installs them).
//! Where one is missing its test says it skipped, unless `CI` is set.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn deploy(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy").join(file)
}

/// Whether `tool` is installed; without it, a test skips (and fails in CI).
fn have(tool: &str) -> bool {
    let found = Command::new("sh").args(["-c", &format!("command -v {tool}")]).output().unwrap().status.success();
    if !found {
        assert!(std::env::var_os("CI").is_none(), "CI must have {tool} installed (.ci/run installs it)");
        eprintln!("skipped: no {tool} here");
    }
    found
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[test]
fn the_torrc_is_accepted_by_tor() {
    if !have("tor") {
        return;
    }
    // The same file, its directories moved into a scratch directory.
    let scratch = tempfile::tempdir().unwrap();
    let root = scratch.path();
    let torrc = std::fs::read_to_string(deploy("torrc")).unwrap();
    for needed in ["HiddenServicePoWDefensesEnabled 1", "SafeLogging 1", "SocksPort 0"] {
        assert!(torrc.lines().any(|l| l.trim() == needed), "the torrc lacks {needed}");
    }
    let moved = torrc.replace("/var/lib/tor/", &format!("{}/", root.display()));
    let data = root.join("tor-data");
    std::fs::create_dir(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).unwrap();
    let file = root.join("torrc");
    std::fs::write(&file, format!("DataDirectory {}\n{moved}", data.display())).unwrap();
    let out = Command::new("tor").args(["--verify-config", "-f"]).arg(&file).output().unwrap();
    assert!(out.status.success(), "tor --verify-config: {}", text(&out));
    assert!(text(&out).contains("Configuration was valid"), "{}", text(&out));
}

#[test]
fn the_nginx_example_is_accepted_by_nginx() {
    if !have("nginx") || !have("openssl") {
        return;
    }
    let scratch = tempfile::tempdir().unwrap();
    let root = scratch.path();
    // A throwaway certificate for both names, and as the reviewers' CA.
    let key = root.join("privkey.pem");
    let cert = root.join("fullchain.pem");
    let out = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1"])
        .args(["-subj", "/CN=submit.example.org", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(out.status.success(), "openssl: {}", text(&out));
    std::fs::copy(&cert, root.join("reviewers-ca.pem")).unwrap();
    let example = std::fs::read_to_string(deploy("nginx.conf")).unwrap();
    for needed in ["access_log off;", "Strict-Transport-Security", "client_max_body_size", "ssl_verify_client on;"] {
        assert!(example.contains(needed), "the nginx example lacks {needed}");
    }
    let site = root.join("testimony.conf");
    std::fs::write(&site, example.replace("/etc/ssl/testimony/", &format!("{}/", root.display()))).unwrap();
    let main = root.join("nginx.conf");
    std::fs::write(
        &main,
        format!(
            "pid {0}/nginx.pid;\nerror_log {0}/error.log;\nevents {{}}\nhttp {{\n    access_log off;\n    include {1};\n}}\n",
            root.display(),
            site.display()
        ),
    )
    .unwrap();
    let out = Command::new("nginx").arg("-t").arg("-p").arg(root).arg("-c").arg(&main).output().unwrap();
    assert!(out.status.success(), "nginx -t: {}", text(&out));
    assert!(text(&out).contains("syntax is ok"), "{}", text(&out));
}

#[test]
fn the_unit_keeps_systemds_exposure_score_at_2_or_lower() {
    if !have("systemd-analyze") {
        return;
    }
    let out = Command::new("systemd-analyze")
        .args(["security", "--offline=yes", "--no-pager"])
        .arg(deploy("testimony.service"))
        .output()
        .unwrap();
    let report = text(&out);
    let score: f64 = report
        .lines()
        .find_map(|l| l.split("exposure level for testimony.service:").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no overall exposure in: {report}"));
    assert!(score <= 2.0, "exposure {score}: {report}");
}

/// Runs deploy/add-reviewer-key NAME into `dir`.
fn add_reviewer_key(name: &str, dir: &Path) -> Output {
    Command::new("bash").arg(deploy("add-reviewer-key")).arg(name).arg(dir).output().unwrap()
}

#[test]
fn a_reviewers_onion_key_pair_matches_and_only_its_public_half_is_written() {
    if !have("openssl") || !have("base32") {
        return;
    }
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path().join("testimony-review");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("hostname"), "abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvwx.onion\n").unwrap();
    let out = add_reviewer_key("ada", &dir);
    assert!(out.status.success(), "{}", text(&out));
    let printed = String::from_utf8_lossy(&out.stdout).to_string();
    let private = printed
        .lines()
        .find_map(|l| l.trim().strip_prefix("private key: "))
        .expect("the private key is printed")
        .trim()
        .to_string();
    assert!(printed.contains("http://abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvwx.onion"), "{printed}");
    let auth_path = dir.join("authorized_clients").join("ada.auth");
    let auth = std::fs::read_to_string(&auth_path).unwrap();
    let public = auth.trim().strip_prefix("descriptor:x25519:").expect("tor's format").to_string();
    assert_eq!((private.len(), public.len()), (52, 52));
    assert!(public.chars().all(|c| c.is_ascii_uppercase() || ('2'..='7').contains(&c)), "{public}");
    assert_eq!(std::fs::metadata(&auth_path).unwrap().permissions().mode() & 0o777, 0o600);

    // The public half is the private half's: derive it again with openssl.
    // (PKCS#8 DER for an x25519 key is these 16 bytes, then the key.)
    let prefix = r"\x30\x2e\x02\x01\x00\x30\x05\x06\x03\x2b\x65\x6e\x04\x22\x04\x20";
    let raw = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "{{ printf '{prefix}'; printf '%s' '{private}====' | base32 -d; }} | openssl pkey -inform DER -pubout -outform DER | tail -c 32 | base32 -w0 | tr -d '='"
        ))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&raw.stdout).trim(), public, "{}", text(&raw));

    // Nothing in the directory holds the private half.
    for entry in walk(&dir) {
        let bytes = std::fs::read(&entry).unwrap();
        assert!(!String::from_utf8_lossy(&bytes).contains(&private), "{} holds the private key", entry.display());
    }

    // A second key for the same name is refused (the first would go).
    let again = add_reviewer_key("ada", &dir);
    assert!(!again.status.success() && text(&again).contains("delete it first"), "{}", text(&again));
    assert_eq!(std::fs::read_to_string(&auth_path).unwrap(), auth);
    // A name that could leave the directory is refused.
    for bad in ["../x", "Ada", "", "a b"] {
        assert!(!add_reviewer_key(bad, &dir).status.success(), "{bad:?} accepted");
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}
