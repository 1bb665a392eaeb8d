//! Helpers shared by the black-box tests: run the real binary, start a real
//! server on port 0, and scan directories and logs for canaries.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const PASSWORD: &str = "correct horse battery staple";

pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_testimony"))
}

/// Runs the binary to completion.
pub fn run(args: &[&str]) -> Output {
    bin().args(args).stdin(Stdio::null()).output().expect("the testimony binary runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts a command failed with exactly one line on stderr, and returns it.
pub fn assert_one_line_failure(o: &Output) -> String {
    assert!(!o.status.success(), "expected failure; stdout: {}", stdout(o));
    let err = stderr(o);
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "expected one line on stderr, got: {err:?}");
    lines[0].to_string()
}

/// Runs `testimony init` with the given paths.
pub fn init(data: &Path, admin: &str, password_file: &Path, recovery_key_out: &Path) -> Output {
    run(&[
        "init",
        "--data",
        data.to_str().unwrap(),
        "--admin",
        admin,
        "--password-file",
        password_file.to_str().unwrap(),
        "--recovery-key-out",
        recovery_key_out.to_str().unwrap(),
    ])
}

/// A scratch directory with a password file, and a data directory made by
/// the real `testimony init`.
pub struct Site {
    pub root: tempfile::TempDir,
    pub data: PathBuf,
    pub recovery_key: PathBuf,
    pub password_file: PathBuf,
    pub init_stdout: String,
}

impl Site {
    pub fn new() -> Site {
        Site::in_dir(&std::env::temp_dir())
    }

    /// A site whose scratch and data directories are inside `parent` (a
    /// small file system, for the disk-full tests).
    pub fn in_dir(parent: &Path) -> Site {
        let root = tempfile::tempdir_in(parent).unwrap();
        let password_file = root.path().join("password");
        std::fs::write(&password_file, format!("{PASSWORD}\n")).unwrap();
        let data = root.path().join("data");
        let recovery_key = root.path().join("recovery.key");
        let out = run(&[
            "init",
            "--data",
            data.to_str().unwrap(),
            "--admin",
            "ada",
            "--password-file",
            password_file.to_str().unwrap(),
            "--recovery-key-out",
            recovery_key.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "init failed: {}", stderr(&out));
        Site { data, recovery_key, password_file, init_stdout: stdout(&out), root }
    }

    pub fn data_arg(&self) -> &str {
        self.data.to_str().unwrap()
    }

    /// A file in the scratch directory with the given contents.
    pub fn file(&self, name: &str, contents: &[u8]) -> PathBuf {
        let path = self.root.path().join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }

    pub fn add_user(&self, name: &str, role: &str, with_recovery_key: bool) -> Output {
        let mut args = vec![
            "user",
            "add",
            "--data",
            self.data_arg(),
            "--name",
            name,
            "--role",
            role,
            "--password-file",
            self.password_file.to_str().unwrap(),
        ];
        if with_recovery_key {
            args.extend(["--recovery-key", self.recovery_key.to_str().unwrap()]);
        }
        run(&args)
    }

    /// Adds an account while an in-process server holds the data
    /// directory: through the library, as `user add` would, on its store.
    pub fn add_user_while_running(&self, server: &InProcess, name: &str, role: &str) -> std::process::Output {
        let password = testimony::crypto::Password::new(PASSWORD.into()).unwrap();
        let today = server.state.clock.today();
        let account = testimony::auth::accounts::prepare(
            name.parse().unwrap(),
            role.parse().unwrap(),
            &password,
            testimony::crypto::KdfParams::DEFAULT,
            today,
        )
        .unwrap();
        server.state.store.insert_account(&account.record, &[]).unwrap();
        let secret = account.totp.base32(name).unwrap();
        std::process::Output {
            status: std::os::unix::process::ExitStatusExt::from_raw(0),
            stdout: format!("totp-secret: {}\n", secret.as_str()).into_bytes(),
            stderr: Vec::new(),
        }
    }

    pub fn serve(&self, extra: &[&str]) -> Server {
        Server::serving(&self.data, extra)
    }
}

/// A running `testimony serve` (or `demo`), with its addresses and logs.
pub struct Server {
    pub child: Child,
    pub public: String,
    pub review: String,
    pub stdout_lines: Vec<String>,
    pub log: Arc<Mutex<String>>,
}

impl Server {
    /// `testimony serve` of `data`, both listeners on free loopback ports.
    pub fn serving(data: &Path, extra: &[&str]) -> Server {
        let data = data.to_str().unwrap();
        let mut args = vec!["serve", "--data", data, "--listen", "127.0.0.1:0", "--review-listen", "127.0.0.1:0"];
        args.extend_from_slice(extra);
        Server::start(&args)
    }

    pub fn start(args: &[&str]) -> Server {
        let mut child =
            bin().args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let mut stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stderr.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        let (mut public, mut review, mut lines) = (None, None, Vec::new());
        while public.is_none() || review.is_none() {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap() == 0 {
                let _ = child.wait();
                panic!("server exited before listening; log: {}", log.lock().unwrap());
            }
            let line = line.trim_end().to_string();
            if let Some(url) = line.strip_prefix("public: ") {
                public = Some(url.to_string());
            }
            if let Some(url) = line.strip_prefix("review: ") {
                review = Some(url.to_string());
            }
            lines.push(line);
        }
        // Keep draining stdout so the child never blocks on a full pipe.
        let rest = Arc::new(Mutex::new(Vec::<String>::new()));
        let rest_sink = rest.clone();
        std::thread::spawn(move || {
            for line in reader.lines().map_while(Result::ok) {
                rest_sink.lock().unwrap().push(line);
            }
        });
        Server { child, public: public.unwrap(), review: review.unwrap(), stdout_lines: lines, log }
    }

    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill").args(["-s", signal, &self.child.id().to_string()]).status().unwrap();
        assert!(status.success());
    }

    /// Sends SIGTERM and waits for a clean exit.
    pub fn stop(mut self) -> (std::process::ExitStatus, String) {
        self.signal("TERM");
        let status = wait_with_timeout(&mut self.child, Duration::from_secs(20));
        std::thread::sleep(Duration::from_millis(50));
        let log = self.log.lock().unwrap().clone();
        (status, log)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn wait_with_timeout(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let step = Duration::from_millis(20);
    let mut waited = Duration::ZERO;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(waited < limit, "process did not exit within {limit:?}");
        std::thread::sleep(step);
        waited += step;
    }
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// Every file below `dir` whose bytes contain `needle`.
pub fn files_containing(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            for entry in std::fs::read_dir(&path).unwrap() {
                stack.push(entry.unwrap().path());
            }
        } else if let Ok(bytes) = std::fs::read(&path)
            && bytes.windows(needle.len()).any(|w| w == needle)
        {
            found.push(path);
        }
    }
    found
}

pub fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// A server run inside the test process, so the test controls its clock
/// and limits; it still serves through real sockets.
pub struct InProcess {
    pub public: String,
    pub review: String,
    pub state: testimony::server::AppState,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), String>>>,
}

impl InProcess {
    pub async fn start(
        site: &Site,
        clock: Arc<dyn testimony::clock::Clock>,
        limits: testimony::config::IntakeLimits,
    ) -> InProcess {
        let store = testimony::storage::Store::open(&site.data).unwrap();
        let state = testimony::server::AppState::new(store, clock, limits).unwrap();
        InProcess::start_with(state).await
    }

    pub async fn start_with(state: testimony::server::AppState) -> InProcess {
        let listeners =
            testimony::server::Listeners::bind("127.0.0.1:0".parse().unwrap(), "127.0.0.1:0".parse().unwrap())
                .await
                .unwrap();
        let public = format!("http://{}", listeners.public_addr().unwrap());
        let review = format!("http://{}", listeners.review_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(testimony::server::run(state.clone(), listeners, async move {
            let _ = stopped.await;
        }));
        InProcess { public, review, state, stop: Some(stop), task: Some(task) }
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }
}

/// A signed-in reviewer's browser, through real sockets.
pub struct Reviewer {
    pub base: String,
    pub cookie: String,
    pub client: reqwest::Client,
}

impl Reviewer {
    pub async fn sign_in(
        server: &InProcess,
        site: &Site,
        name: &str,
        secret: &str,
        clock: &testimony::clock::ManualClock,
    ) -> Reviewer {
        clock.advance(Duration::from_secs(30));
        let code = testimony::auth::totp::TotpSecret::from_base32(secret)
            .unwrap()
            .code_at(name, testimony::clock::Clock::now(clock).0)
            .unwrap();
        let client = http();
        let r = client
            .post(format!("{}/login", server.review))
            .form(&[("username", name), ("password", PASSWORD), ("totp", &code)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), reqwest::StatusCode::SEE_OTHER, "{name} signs in");
        let cookie = r.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
        let _ = site;
        Reviewer { base: server.review.clone(), cookie, client }
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(format!("{}{path}", self.base)).header("Cookie", &self.cookie).send().await.unwrap()
    }

    pub async fn csrf(&self) -> String {
        let html = self.get("/account").await.text().await.unwrap();
        let at = html.find("name=\"csrf\" value=\"").unwrap() + 19;
        html[at..at + html[at..].find('"').unwrap()].to_string()
    }

    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let csrf = self.csrf().await;
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        all.push(("csrf", &csrf));
        self.client.post(format!("{}{path}", self.base)).header("Cookie", &self.cookie).form(&all).send().await.unwrap()
    }
}

/// The receipt's 28 digits on a receipt page (shown in groups of four).
pub fn receipt_in(html: &str) -> String {
    let shown = html.split(r#"id="receipt" dir="ltr"><bdi>"#).nth(1).expect("a receipt on the page");
    shown[..shown.find('<').unwrap()].chars().filter(char::is_ascii_digit).collect()
}

pub fn secret_of(stdout_text: &str) -> String {
    stdout_text.lines().find_map(|l| l.strip_prefix("totp-secret: ")).unwrap().to_string()
}

/// The audit log's file, which can be switched to fail like a full disk
/// (writes go to /dev/full: ENOSPC from the kernel) or a read-only file.
#[derive(Clone)]
pub struct SwitchableLog {
    real: Arc<Mutex<std::fs::File>>,
    failing: Arc<Mutex<Option<std::fs::File>>>,
}

impl SwitchableLog {
    /// From now on, writes and syncs go to `failure`.
    pub fn fail_with(&self, failure: std::fs::File) {
        *self.failing.lock().unwrap() = Some(failure);
    }

    /// From now on, the log fails like a full disk.
    pub fn fail(&self) {
        self.fail_with(std::fs::OpenOptions::new().append(true).open("/dev/full").unwrap());
    }
}

impl testimony::audit::LogFile for SwitchableLog {
    fn append(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        use std::io::Write;
        if let Some(f) = self.failing.lock().unwrap().as_mut() {
            return f.write_all(bytes);
        }
        self.real.lock().unwrap().write_all(bytes)
    }
    fn sync(&mut self) -> std::io::Result<()> {
        if let Some(f) = self.failing.lock().unwrap().as_mut() {
            return f.sync_data();
        }
        self.real.lock().unwrap().sync_data()
    }
    fn truncate(&mut self, _len: u64) -> std::io::Result<()> {
        Ok(())
    }
}

/// A server state for `site` whose audit log can be made to fail.
pub fn state_with_switchable_log(
    site: &Site,
    clock: Arc<testimony::clock::ManualClock>,
) -> (testimony::server::AppState, SwitchableLog) {
    let log_file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(site.root.path().join("switchable-audit-log"))
        .unwrap();
    let switch = SwitchableLog { real: Arc::new(Mutex::new(log_file)), failing: Arc::new(Mutex::new(None)) };
    let store = testimony::storage::Store::open(&site.data).unwrap();
    let signing = store.signing_key().unwrap();
    let audit = testimony::audit::AuditLog::with_file(
        Box::new(switch.clone()),
        Box::new(switch.clone()),
        signing,
        clock.clone(),
    );
    let state = testimony::server::AppState::from_parts(
        store,
        audit,
        clock,
        testimony::config::IntakeLimits::default(),
        Default::default(),
    );
    (state, switch)
}

/// A small tmpfs mounted for one test (the disk-full tests): needs root, as
/// CI has. Elsewhere `mount` returns `None` and the caller says it skipped,
/// unless `CI` is set, where not being able to mount is a failure.
pub struct SmallDisk {
    pub dir: tempfile::TempDir,
}

impl SmallDisk {
    pub fn mount(mebibytes: u64) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mebibytes}m,mode=0700"), "tmpfs"])
            .arg(dir.path())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if mounted {
            return Some(SmallDisk { dir });
        }
        assert!(std::env::var_os("CI").is_none(), "CI must be able to mount a small tmpfs (run as root)");
        eprintln!("skipped: cannot mount a tmpfs here (not root?)");
        None
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Fills the disk to the last byte with a file; returns its path.
    pub fn fill(&self) -> PathBuf {
        self.fill_as("filler")
    }

    /// As [`SmallDisk::fill`], with a file of the given name (to fill what
    /// is left after an earlier fill).
    pub fn fill_as(&self, name: &str) -> PathBuf {
        let path = self.path().join(name);
        fill_with(&path);
        path
    }

    /// Fills the disk, then frees `bytes` of it again.
    pub fn fill_leaving(&self, bytes: u64) -> PathBuf {
        let path = self.fill();
        let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        let len = file.metadata().unwrap().len();
        file.set_len(len.saturating_sub(bytes)).unwrap();
        file.sync_all().unwrap();
        path
    }
}

/// Fills the disk `path` is on to the last byte, with a new file at `path`.
pub fn fill_with(path: &Path) {
    use std::io::Write;
    let mut file = std::fs::File::create(path).unwrap();
    let chunk = vec![0u8; 1 << 20];
    let mut size = chunk.len();
    // Ever smaller writes, until not one byte more fits.
    while size > 0 {
        match file.write(&chunk[..size]) {
            Ok(n) if n > 0 => {}
            _ => size /= 2,
        }
    }
    let _ = file.sync_all();
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.dir.path()).status();
    }
}

/// Makes everything in `dir` private again, as `testimony` keeps it (its
/// umask is 077). For tests that opened a store in their own process,
/// whose umask (022) leaves sled's new files readable by others, which
/// `serve` then rightly refuses.
pub fn private_again(dir: &Path) {
    let status = Command::new("chmod").args(["-R", "go-rwx"]).arg(dir).status().unwrap();
    assert!(status.success());
}

/// The sealed objects' files in a data directory (those being written,
/// under `.partial`, included), sorted.
pub fn object_files(data: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for shard in std::fs::read_dir(data.join("objects")).unwrap() {
        let shard = shard.unwrap().path();
        if shard.is_dir() {
            found.extend(std::fs::read_dir(&shard).unwrap().map(|e| e.unwrap().path()));
        }
    }
    found.sort();
    found
}
