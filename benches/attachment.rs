//! A 1 GiB attachment streamed into `POST /submit` (the real binary, on
//! loopback), side by side with its reference: the stock `age` tool
//! encrypting the same file to disk (and `sync` on its file, since the
//! server syncs an upload before it answers). Reports throughput and the server's
//! peak memory. Target: at least 70% of age's throughput, under 64 MiB.
//! Run: `cargo bench --bench attachment` (BENCH_MIB to change the size;
//! needs `age` installed and about 3 × the size free in BENCH_DIR).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

mod report;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Instant;

fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .unwrap()
        .trim()
        .trim_end_matches(" kB")
        .trim()
        .parse()
        .unwrap()
}

fn main() {
    let mib: u64 = std::env::var("BENCH_MIB").ok().and_then(|s| s.parse().ok()).unwrap_or(1024);
    let scratch = tempfile::tempdir_in(std::env::var("BENCH_DIR").unwrap_or_else(|_| ".".into())).unwrap();
    let bin = env!("CARGO_BIN_EXE_testimony");
    let data = scratch.path().join("data");
    let key = scratch.path().join("recovery.key");
    let pw = scratch.path().join("pw");
    std::fs::write(&pw, "correct horse battery staple\n").unwrap();
    let out = Command::new(bin)
        .args([
            "init",
            "--data",
            data.to_str().unwrap(),
            "--admin",
            "admin",
            "--password-file",
            pw.to_str().unwrap(),
            "--recovery-key-out",
            key.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let recipient = std::fs::read_to_string(&key)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("# public key: ").map(str::to_string))
        .unwrap();

    // The file: pseudo-random bytes, so nothing compresses.
    let input = scratch.path().join("input.bin");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&input).unwrap());
        let mut x: u64 = 0x9E3779B97F4A7C15;
        let mut block = vec![0u8; 1 << 20];
        for _ in 0..mib {
            for chunk in block.chunks_mut(8) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                chunk.copy_from_slice(&x.to_le_bytes());
            }
            f.write_all(&block).unwrap();
        }
    }
    let bytes = mib << 20;
    println!("attachment: {mib} MiB");

    // Reference: stock age to disk.
    let start = Instant::now();
    let status = Command::new("age")
        .args(["-r", &recipient, "-o", scratch.path().join("ref.age").to_str().unwrap(), input.to_str().unwrap()])
        .status()
        .expect("the stock `age` tool (apt-get install age)");
    assert!(status.success());
    // To disk, as ours is: our upload is synced before it is answered, so
    // age's file is synced too (else the page cache flatters it, by a
    // factor that changes from run to run).
    let synced = Command::new("sync").arg(scratch.path().join("ref.age")).status().unwrap();
    assert!(synced.success());
    let age_secs = start.elapsed().as_secs_f64();
    std::fs::remove_file(scratch.path().join("ref.age")).unwrap();

    // testimony: the real server, a limit above the file's size.
    let config = scratch.path().join("c.toml");
    std::fs::write(
        &config,
        format!(
            "data = \"{}\"\nlisten = \"127.0.0.1:0\"\nreview_listen = \"127.0.0.1:0\"\n[intake]\nmax_submission_bytes = {}\nmin_free_disk_bytes = 536870912\n",
            data.display(),
            bytes + (16 << 20)
        ),
    )
    .unwrap();
    let mut server = Command::new(bin)
        .args(["serve", "--config", config.to_str().unwrap()])
        .stdout(Stdio::piped())
        // Inherited: a server that will not start says why.
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let public = lines.next().unwrap().unwrap().trim_start_matches("public: http://").to_string();
    let _ = lines.next();
    let baseline = peak_rss_kib(server.id());

    let boundary = "BENCHBOUNDARY";
    let head = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"role\"\r\n\r\ndetained_self\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"consent_store\"\r\n\r\nyes\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"attachment\"; filename=\"big.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    );
    let tail = format!("\r\n--{boundary}--\r\n");
    let length = head.len() as u64 + bytes + tail.len() as u64;
    let start = Instant::now();
    let mut stream = TcpStream::connect(&public).unwrap();
    write!(stream, "POST /submit HTTP/1.1\r\nHost: {public}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n{head}").unwrap();
    let mut file = std::fs::File::open(&input).unwrap();
    std::io::copy(&mut file, &mut stream).unwrap();
    stream.write_all(tail.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let ours_secs = start.elapsed().as_secs_f64();
    assert!(response.starts_with("HTTP/1.1 200"), "{}", &response[..response.len().min(200)]);
    let peak = peak_rss_kib(server.id());
    let _ = server.kill();
    let _ = server.wait();

    let rate = |secs: f64| bytes as f64 / (1 << 20) as f64 / secs;
    println!("{:<52} {:>9.1} MiB/s", "reference: stock age -r … -o file, then sync", rate(age_secs));
    println!(
        "{:<52} {:>9.1} MiB/s ({:.0}% of age)",
        "testimony: POST /submit, sealed and durable",
        rate(ours_secs),
        100.0 * age_secs / ours_secs
    );
    println!(
        "server peak memory: {:.1} MiB (idle after start: {:.1} MiB)",
        peak as f64 / 1024.0,
        baseline as f64 / 1024.0
    );
    report::row(
        &format!("upload: one {mib} MiB file into POST /submit"),
        &format!("{:.0} MiB/s; server peak {:.0} MiB", rate(ours_secs), peak as f64 / 1024.0),
        &format!("{:.0} MiB/s stock age to disk (file synced)", rate(age_secs)),
        &format!("{:.0}% of age", 100.0 * age_secs / ours_secs),
        "at least 70% of age; peak under 64 MiB",
    );
}
