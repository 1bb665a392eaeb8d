//! `serve` through real sockets (the demo has tests/demo.rs).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::TcpListener;

use common::*;

const SECURITY_HEADERS: [(&str, &str); 5] = [
    ("content-security-policy", "default-src 'none'"),
    ("referrer-policy", "no-referrer"),
    ("x-content-type-options", "nosniff"),
    ("cache-control", "no-store"),
    ("permissions-policy", "camera=()"),
];

#[tokio::test]
async fn both_listeners_answer_healthz_with_security_headers() {
    let site = Site::new();
    let server = site.serve(&[]);
    let client = http();
    for base in [&server.public, &server.review] {
        let response = client.get(format!("{base}/healthz")).send().await.unwrap();
        assert_eq!(response.status(), 200);
        for (name, fragment) in SECURITY_HEADERS {
            let value = response.headers().get(name).map(|v| v.to_str().unwrap().to_string());
            assert!(value.as_deref().is_some_and(|v| v.contains(fragment)), "{base}: {name} = {value:?}");
        }
        assert!(response.headers().get("set-cookie").is_none());
    }
    let (status, _) = server.stop();
    assert!(status.success());
}

#[tokio::test]
async fn sigterm_stops_cleanly_and_the_data_dir_reopens() {
    let site = Site::new();
    let server = site.serve(&[]);
    let (status, log) = server.stop();
    assert!(status.success(), "exit {status:?}; log: {log}");
    assert!(log.contains("storage flushed"), "{log}");
    // The lock is released: a command can open the directory again.
    assert!(site.add_user("bo", "reviewer", false).status.success());
}

#[tokio::test]
async fn sigint_stops_cleanly_too() {
    let site = Site::new();
    let mut server = site.serve(&[]);
    server.signal("INT");
    let status = wait_with_timeout(&mut server.child, std::time::Duration::from_secs(20));
    assert!(status.success());
}

#[test]
fn a_running_server_holds_the_data_dir() {
    let site = Site::new();
    let server = site.serve(&[]);
    let line = assert_one_line_failure(&site.add_user("bo", "reviewer", false));
    assert!(line.contains("in use"), "{line}");
    let second =
        run(&["serve", "--data", site.data_arg(), "--listen", "127.0.0.1:0", "--review-listen", "127.0.0.1:0"]);
    let line = assert_one_line_failure(&second);
    assert!(line.contains("in use"), "{line}");
    drop(server);
}

#[test]
fn a_port_in_use_is_one_clear_line() {
    let site = Site::new();
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = run(&["serve", "--data", site.data_arg(), "--listen", &addr, "--review-listen", "127.0.0.1:0"]);
    let line = assert_one_line_failure(&out);
    assert!(line.contains(&addr) && line.contains("already in use"), "{line}");
}

#[test]
fn non_loopback_addresses_need_explicit_permission() {
    let site = Site::new();
    let out = run(&["serve", "--data", site.data_arg(), "--listen", "0.0.0.0:0", "--review-listen", "127.0.0.1:0"]);
    let line = assert_one_line_failure(&out);
    assert!(line.contains("--allow-non-loopback"), "{line}");
}

#[tokio::test]
async fn a_config_file_can_replace_the_flags() {
    let site = Site::new();
    let config = site.file(
        "testimony.toml",
        format!("data = \"{}\"\nlisten = \"127.0.0.1:0\"\nreview_listen = \"127.0.0.1:0\"\n", site.data_arg())
            .as_bytes(),
    );
    let server = Server::start(&["serve", "--config", config.to_str().unwrap()]);
    let response = http().get(format!("{}/healthz", server.review)).send().await.unwrap();
    assert_eq!(response.status(), 200);
}

#[test]
fn a_bad_config_file_names_the_file_the_line_and_the_field() {
    let site = Site::new();
    let config = site.file("bad.toml", format!("data = \"{}\"\nlisten = 8080\n", site.data_arg()).as_bytes());
    let out = run(&["serve", "--config", config.to_str().unwrap(), "--review-listen", "127.0.0.1:0"]);
    let line = assert_one_line_failure(&out);
    assert!(line.contains("bad.toml") && line.contains("line 2") && line.contains("`listen`"), "{line}");
    let config = site.file("typo.toml", b"dta = \"/srv\"\n");
    let line = assert_one_line_failure(&run(&["serve", "--config", config.to_str().unwrap()]));
    assert!(line.contains("unknown field `dta`") && line.contains("expected one of"), "{line}");
}

#[test]
fn serve_help_lists_every_config_section_and_key() {
    let out = run(&["serve", "--help"]);
    assert!(out.status.success());
    let help = stdout(&out);
    for key in [
        "[intake]",
        "[sessions]",
        "max_submission_bytes",
        "min_body_bytes_per_sec",
        "max_connections",
        "slow_grace_secs",
        "idle_minutes",
        "absolute_hours",
        "allow_non_loopback",
    ] {
        assert!(help.contains(key), "serve --help lacks {key}");
    }
}

#[test]
fn the_shipped_example_config_is_accepted_whole() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/testimony.toml");
    let parsed = testimony::config::ConfigFile::load(std::path::Path::new(example)).expect("the example parses");
    let intake = parsed.intake.expect("it sets [intake]");
    assert_eq!(intake.min_body_bytes_per_sec, testimony::config::IntakeLimits::default().min_body_bytes_per_sec);
    assert!(parsed.sessions.is_some());
}
