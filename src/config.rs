//! Server configuration: command-line flags, plus an optional TOML file
//! (`--config FILE`). Flags win over the file. Unknown fields are refused,
//! and every error names the file, the line, the field and what is expected.
//! Validated once, here; the rest of the program trusts a `ServeConfig`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The smallest disk reserve the config file may set (see `validate`).
pub const MIN_DISK_RESERVE: u64 = 512 << 20;

/// The longest session the config file may set: a year. Longer is no
/// policy at all, and it keeps the expiry arithmetic (minutes and hours
/// to seconds, added to a time) far from overflowing.
pub const MAX_SESSION_HOURS: u64 = 24 * 366;

/// Every key of the config file, for `serve --help` (a test checks that
/// each field of the structs below is listed here).
pub const FILE_HELP: &str = "\
Config file keys (TOML; every key optional; unknown keys are refused):
  data = \"/var/lib/testimony\"         the data directory
  listen = \"127.0.0.1:8080\"           the public (witness) listener
  review_listen = \"127.0.0.1:8081\"    the review listener
  allow_non_loopback = false          allow addresses other than loopback
  fonts_dir = \"/usr/share/fonts/truetype/noto\"
                                      where the Arabic-script and Tibetan
                                      fonts served to witnesses are read from
                                      (Debian's fonts-noto-core)

  [intake]                            the public listener's limits
  max_submission_bytes = 1073741824   all files and fields of one submission
  max_files = 20                      files in one submission
  max_concurrent_uploads = 16         uploads at once; when all are taken,
                                      a new one takes the slowest's slot
  min_free_disk_bytes = 1073741824    below this free space new submissions
                                      are turned away (reviewers keep working;
                                      at least 512 MiB)
  idle_timeout_secs = 60              a body that sends nothing this long is cut
  min_body_bytes_per_sec = 1024       every body must keep this rate, averaged
  body_rate_window_secs = 60            over this window (408 otherwise)
  max_connections = 1024              open connections; when all are taken, a
                                      new one takes the slowest's slot
  slow_grace_secs = 10                a connection or upload is not judged
                                      slow before it is this old

  [sessions]                          reviewer sessions
  idle_minutes = 15                   signed out after this long idle
  absolute_hours = 12                 signed out this long after signing in
                                      (at most 8784, a year)

  [retention]                         none by default: nothing is deleted
  out_of_scope = 30                   days in a final state after which a
  closed = 3650                         statement is deleted whole, daily;
                                      only closed, out_of_scope, duplicate,
                                      referred and withdrawn
                                      may have a rule (see SECURITY.md)
";

/// The TOML file, as written by an operator. Every field is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// The data directory.
    pub data: Option<PathBuf>,
    /// The public (witness) listener, e.g. "127.0.0.1:8080".
    pub listen: Option<SocketAddr>,
    /// The review listener, e.g. "127.0.0.1:8081".
    pub review_listen: Option<SocketAddr>,
    /// Allow binding to addresses other than loopback. Off by default:
    /// deployments put Tor or a TLS proxy on the same host in front.
    pub allow_non_loopback: Option<bool>,
    /// Limits of the public listener.
    pub intake: Option<IntakeLimits>,
    /// Reviewer sessions.
    pub sessions: Option<SessionSettings>,
    /// Where the fonts served to witnesses are read from.
    pub fonts_dir: Option<PathBuf>,
    /// Days after which statements in final states are deleted.
    pub retention: Option<crate::retention::Retention>,
}

/// How long a reviewer's session lasts.
#[derive(Debug, Clone, Copy, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionSettings {
    /// Signed out after this long without a request.
    pub idle_minutes: u64,
    /// Signed out this long after signing in, however active.
    pub absolute_hours: u64,
}

impl Default for SessionSettings {
    fn default() -> Self {
        SessionSettings { idle_minutes: 15, absolute_hours: 12 }
    }
}

impl SessionSettings {
    pub fn lifetimes(self) -> crate::auth::session::Lifetimes {
        crate::auth::session::Lifetimes {
            idle: std::time::Duration::from_secs(self.idle_minutes.saturating_mul(60)),
            absolute: std::time::Duration::from_secs(self.absolute_hours.saturating_mul(3600)),
        }
    }
}

/// Limits that protect the intake from floods and the disk from filling.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct IntakeLimits {
    /// All files and fields of one submission together, in bytes.
    pub max_submission_bytes: u64,
    /// Files in one submission.
    pub max_files: usize,
    /// Submissions being received at the same time; more get a "busy" page.
    pub max_concurrent_uploads: usize,
    /// Below this much free space in the data directory, new submissions
    /// are turned away (reviewers keep working).
    pub min_free_disk_bytes: u64,
    /// A request that sends nothing for this long is dropped (slow clients).
    pub idle_timeout_secs: u64,
    /// Every request body must deliver at least this many bytes per second,
    /// averaged over `body_rate_window_secs` (1 KiB/s over a minute by
    /// default: a stalled Tor circuit that recovers is not cut, a trickle
    /// that holds a connection for hours is).
    pub min_body_bytes_per_sec: u64,
    pub body_rate_window_secs: u64,
    /// Open connections on the public listener. When all are taken, a new
    /// one takes the slot of the slowest (by bytes moved per second) that
    /// is older than `slow_grace_secs`; upload slots work the same way.
    pub max_connections: usize,
    pub slow_grace_secs: u64,
}

impl Default for IntakeLimits {
    fn default() -> Self {
        IntakeLimits {
            max_submission_bytes: 1 << 30,
            max_files: 20,
            max_concurrent_uploads: 16,
            min_free_disk_bytes: 1 << 30,
            idle_timeout_secs: 60,
            min_body_bytes_per_sec: 1024,
            body_rate_window_secs: 60,
            max_connections: 1024,
            slow_grace_secs: 10,
        }
    }
}

impl IntakeLimits {
    /// The public listener's connection limits.
    pub fn connections(&self) -> crate::web::connections::ConnectionLimits {
        crate::web::connections::ConnectionLimits {
            max_connections: self.max_connections,
            grace: std::time::Duration::from_secs(self.slow_grace_secs),
            min_rate: crate::web::min_rate::MinRate::new(
                self.min_body_bytes_per_sec,
                std::time::Duration::from_secs(self.body_rate_window_secs),
            ),
        }
    }
}

impl ConfigFile {
    pub fn load(path: &Path) -> Result<ConfigFile, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the config file {}: {}", path.display(), e.kind()))?;
        ConfigFile::parse(path, &text)
    }

    /// The file's text as read by [`ConfigFile::load`]; `path` only names
    /// it in errors.
    pub fn parse(path: &Path, text: &str) -> Result<ConfigFile, String> {
        toml::from_str(text).map_err(|e| describe_toml_error(path, text, &e))
    }
}

/// Turns toml's multi-line report into one line: file, line, field, problem.
fn describe_toml_error(path: &Path, text: &str, error: &toml::de::Error) -> String {
    let message = error.message().trim_end_matches('\n').replace('\n', " ");
    let Some(span) = error.span() else {
        return format!("config file {}: {message}", path.display());
    };
    let line_no = text[..span.start.min(text.len())].matches('\n').count() + 1;
    let line = text.lines().nth(line_no - 1).unwrap_or("");
    match line.split_once('=') {
        Some((key, _)) if !key.trim().is_empty() => {
            format!("config file {}, line {line_no}, field `{}`: {message}", path.display(), key.trim())
        }
        _ => format!("config file {}, line {line_no}: {message}", path.display()),
    }
}

/// The flags of `serve` that may also come from the file.
#[derive(Debug, Default, Clone)]
pub struct ServeFlags {
    pub data: Option<PathBuf>,
    pub listen: Option<SocketAddr>,
    pub review_listen: Option<SocketAddr>,
    pub allow_non_loopback: bool,
}

/// A checked configuration for `serve`.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub data: PathBuf,
    pub listen: SocketAddr,
    pub review_listen: SocketAddr,
    pub intake: IntakeLimits,
    pub sessions: SessionSettings,
    pub fonts_dir: PathBuf,
    pub retention: crate::retention::Retention,
}

impl ServeConfig {
    pub fn resolve(flags: ServeFlags, file: ConfigFile) -> Result<ServeConfig, String> {
        let data =
            flags.data.or(file.data).ok_or("no data directory: give --data DIR (or `data` in the config file)")?;
        let listen = flags
            .listen
            .or(file.listen)
            .ok_or("no public address: give --listen ADDR (or `listen` in the config file)")?;
        let review_listen = flags
            .review_listen
            .or(file.review_listen)
            .ok_or("no review address: give --review-listen ADDR (or `review_listen` in the config file)")?;
        let allow_non_loopback = flags.allow_non_loopback || file.allow_non_loopback.unwrap_or(false);

        if listen == review_listen && listen.port() != 0 {
            return Err(format!("the public and the review listener must differ (both are {listen})"));
        }
        for (what, addr) in [("public", listen), ("review", review_listen)] {
            if !addr.ip().is_loopback() && !allow_non_loopback {
                return Err(format!(
                    "refusing to bind the {what} listener to {addr}, which is not a loopback address: \
                     put Tor or a TLS proxy on this host in front of it, or pass --allow-non-loopback"
                ));
            }
        }
        let intake = file.intake.unwrap_or_default();
        if intake.max_files == 0
            || intake.max_concurrent_uploads == 0
            || intake.idle_timeout_secs == 0
            || intake.body_rate_window_secs == 0
            || intake.max_connections == 0
        {
            return Err("[intake] max_files, max_concurrent_uploads, idle_timeout_secs, body_rate_window_secs and max_connections must be at least 1".into());
        }
        // Uploads look at the free space every 8 MiB and stop below half the
        // reserve; the records' own floor is 16 MiB. A smaller reserve would
        // let sixteen uploads between two checks reach a full disk.
        if intake.min_free_disk_bytes < MIN_DISK_RESERVE {
            return Err(format!(
                "[intake] min_free_disk_bytes must be at least {} MiB (it is {} bytes)",
                MIN_DISK_RESERVE >> 20,
                intake.min_free_disk_bytes
            ));
        }
        let sessions = file.sessions.unwrap_or_default();
        // `absolute_hours` is bounded before it is multiplied.
        if sessions.idle_minutes == 0
            || sessions.absolute_hours == 0
            || sessions.absolute_hours > MAX_SESSION_HOURS
            || sessions.idle_minutes > sessions.absolute_hours * 60
        {
            return Err(format!(
                "[sessions] idle_minutes and absolute_hours must be at least 1, idle no longer than absolute, \
                 absolute at most {MAX_SESSION_HOURS} hours (a year)"
            ));
        }
        let fonts_dir = crate::web::fonts::dir_or_default(file.fonts_dir);
        let retention = file.retention.unwrap_or_default();
        Ok(ServeConfig { data, listen, review_listen, intake, sessions, fonts_dir, retention })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_disk_reserve_too_small_to_protect_the_records_is_refused() {
        let file = load_str("[intake]\nmin_free_disk_bytes = 1000\n").unwrap();
        let err = ServeConfig::resolve(flags("127.0.0.1:1", "127.0.0.1:2"), file).unwrap_err();
        assert!(err.contains("min_free_disk_bytes must be at least 512 MiB"), "{err}");
    }

    #[test]
    fn sessions_too_long_to_count_are_refused_not_overflowed() {
        // Found while fuzzing the config file: 2^64 - 1 hours overflowed
        // `absolute_hours * 60` (a panic in debug builds; in release, a
        // wrapped number checked instead of the one written).
        for text in [
            "[sessions]\nidle_minutes = 1\nabsolute_hours = 18446744073709551615\n",
            "[sessions]\nidle_minutes = 18446744073709551615\nabsolute_hours = 307445734561825861\n",
            "[sessions]\nabsolute_hours = 8785\n",
        ] {
            let err = ServeConfig::resolve(flags("127.0.0.1:1", "127.0.0.1:2"), load_str(text).unwrap()).unwrap_err();
            assert!(err.contains("at most 8784 hours"), "{err}");
        }
        let year = load_str("[sessions]\nidle_minutes = 527040\nabsolute_hours = 8784\n").unwrap();
        assert!(ServeConfig::resolve(flags("127.0.0.1:1", "127.0.0.1:2"), year).is_ok());
    }

    #[test]
    fn serve_help_lists_every_key_of_the_file_with_its_default() {
        let sections = [
            ("intake", serde_json::to_value(IntakeLimits::default()).unwrap()),
            ("sessions", serde_json::to_value(SessionSettings::default()).unwrap()),
        ];
        for (section, defaults) in sections {
            assert!(FILE_HELP.contains(&format!("[{section}]")));
            for (key, value) in defaults.as_object().unwrap() {
                let line = format!("  {key} = {value}");
                assert!(FILE_HELP.contains(&line), "serve --help lacks `{line}`");
            }
        }
        for key in ["data", "listen", "review_listen", "allow_non_loopback"] {
            assert!(FILE_HELP.contains(&format!("  {key} = ")), "serve --help lacks {key}");
        }
        // And the listed example parses as a config file.
        let example: String = FILE_HELP
            .lines()
            .skip(1)
            .map(|l| l.split("  ").find(|p| !p.trim().is_empty()).unwrap_or("").trim())
            .filter(|l| l.contains('=') || l.starts_with('['))
            .collect::<Vec<_>>()
            .join("\n");
        load_str(&example).unwrap();
    }

    fn load_str(text: &str) -> Result<ConfigFile, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("testimony.toml");
        std::fs::write(&path, text).unwrap();
        ConfigFile::load(&path)
    }

    fn flags(listen: &str, review: &str) -> ServeFlags {
        ServeFlags {
            data: Some("/tmp/x".into()),
            listen: Some(listen.parse().unwrap()),
            review_listen: Some(review.parse().unwrap()),
            allow_non_loopback: false,
        }
    }

    #[test]
    fn unknown_field_is_refused_with_file_line_and_field() {
        let err = load_str("data = \"/srv/t\"\nlisten_port = 8080\n").unwrap_err();
        assert!(err.contains("testimony.toml"), "{err}");
        assert!(err.contains("line 2"), "{err}");
        assert!(err.contains("listen_port"), "{err}");
        assert!(err.contains("expected one of"), "{err}");
        assert!(!err.contains('\n'));
    }

    #[test]
    fn wrong_value_names_the_field_and_what_is_expected() {
        let err = load_str("listen = \"localhost\"\n").unwrap_err();
        assert!(err.contains("field `listen`"), "{err}");
        assert!(err.contains("socket address"), "{err}");
    }

    #[test]
    fn flags_win_over_the_file() {
        let file =
            load_str("data = \"/from/file\"\nlisten = \"127.0.0.1:1\"\nreview_listen = \"127.0.0.1:2\"\n").unwrap();
        let config = ServeConfig::resolve(flags("127.0.0.1:3", "127.0.0.1:4"), file).unwrap();
        assert_eq!(config.data, PathBuf::from("/tmp/x"));
        assert_eq!(config.listen.port(), 3);
        let file =
            load_str("data = \"/from/file\"\nlisten = \"127.0.0.1:1\"\nreview_listen = \"127.0.0.1:2\"\n").unwrap();
        let config = ServeConfig::resolve(ServeFlags::default(), file).unwrap();
        assert_eq!(config.data, PathBuf::from("/from/file"));
        assert_eq!(config.review_listen.port(), 2);
    }

    #[test]
    fn non_loopback_needs_explicit_permission() {
        let err = ServeConfig::resolve(flags("0.0.0.0:80", "127.0.0.1:81"), ConfigFile::default()).unwrap_err();
        assert!(err.contains("--allow-non-loopback"), "{err}");
        let mut allowed = flags("0.0.0.0:80", "127.0.0.1:81");
        allowed.allow_non_loopback = true;
        assert!(ServeConfig::resolve(allowed, ConfigFile::default()).is_ok());
        assert!(ServeConfig::resolve(flags("[::1]:80", "127.0.0.1:81"), ConfigFile::default()).is_ok());
    }

    #[test]
    fn the_two_listeners_must_differ() {
        assert!(ServeConfig::resolve(flags("127.0.0.1:80", "127.0.0.1:80"), ConfigFile::default()).is_err());
    }
}
