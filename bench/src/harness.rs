//! What the attack bench's programs share: the real `haven` binary run on a data folder (SQLite)
//! or a PostgreSQL database, started, killed and checked with its own CLI; staff accounts made
//! with `haven user add` and signed in over HTTP (password and second factor) by the test kit's
//! client; percentiles and a small random generator.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub use haven_testkit::reqwest::StatusCode;
pub use haven_testkit::{Client, TestUser};

/// The `haven` binary: `HAVEN_BIN`, or the one built beside this program.
pub fn haven_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("HAVEN_BIN").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    std::env::current_exe()
        .map(|e| e.with_file_name("haven"))
        .unwrap_or_else(|_| PathBuf::from("haven"))
}

/// A number from the environment (`_` allowed as a separator), or `default`.
pub fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").trim().parse().ok())
        .unwrap_or(default)
}

/// A Haven installation: a data folder (master key, and the SQLite database unless
/// `database_url` names a PostgreSQL one) and settings given as `HAVEN_*` variables.
#[derive(Debug, Clone)]
pub struct Instance {
    /// The folder `haven` runs in (its data folder is `haven-data/` inside).
    pub dir: PathBuf,
    /// A PostgreSQL database, or `None` for SQLite in the data folder.
    pub database_url: Option<String>,
    /// Further settings, e.g. `("HAVEN_PORTAL__REFUSE_AFTER", "1000000")`.
    pub settings: Vec<(String, String)>,
}

impl Instance {
    /// A `haven` command for this installation, with nothing inherited that would change it:
    /// every `HAVEN_*` variable of this program's environment is removed.
    pub fn command(&self) -> Command {
        let mut c = Command::new(haven_bin());
        c.current_dir(&self.dir);
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("HAVEN_") {
                c.env_remove(k);
            }
        }
        c.env("HAVEN_LOG__LEVEL", "warn");
        if let Some(u) = &self.database_url {
            c.env("HAVEN_DATABASE_URL", u);
        }
        for (k, v) in &self.settings {
            c.env(k, v);
        }
        c
    }

    /// Runs `haven ARGS` to the end: its output, `Err` with the output when it failed.
    pub fn run(&self, args: &[&str]) -> Result<String, String> {
        let out = self
            .command()
            .args(args)
            .output()
            .map_err(|e| format!("haven {args:?}: {e}"))?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if out.status.success() {
            Ok(text)
        } else {
            Err(format!("haven {args:?} exited with {}: {text}", out.status))
        }
    }

    /// Starts `haven serve` on `127.0.0.1:port` and waits until it says it is running; on a
    /// port that is taken, tries the next ones (up to ten). Its log goes to `serve.log`.
    pub fn serve(&self, port: u16) -> Result<Server, String> {
        let mut last = String::new();
        for p in port..port.saturating_add(10) {
            match self.serve_once(p) {
                Ok(s) => return Ok(s),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    fn serve_once(&self, port: u16) -> Result<Server, String> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("serve.log"))
            .map_err(|e| e.to_string())?;
        let mut child = self
            .command()
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .map_err(|e| format!("spawn haven serve: {e}"))?;
        let Some(stdout) = child.stdout.take() else {
            return Err("no stdout".into());
        };
        let haven_testkit::ServeBanner { base, setup_link } =
            haven_testkit::read_serve_banner(stdout, Duration::from_secs(180));
        let pid = child.id();
        let mut server = Server {
            child,
            base: String::new(),
            setup_link,
            pid,
        };
        match base {
            Some(b) => {
                server.base = b;
                Ok(server)
            }
            None => {
                server.kill();
                let log = std::fs::read_to_string(self.dir.join("serve.log")).unwrap_or_default();
                let tail: String = log.lines().rev().take(5).collect::<Vec<_>>().join(" | ");
                Err(format!("haven serve on port {port} did not start: {tail}"))
            }
        }
    }

    /// Invites a staff member with `haven user add` and returns the one-time link.
    pub fn invite(&self, email: &str, name: &str, roles: &[&str]) -> Result<String, String> {
        let mut args = vec!["user", "add", "--email", email, "--name", name];
        for r in roles {
            args.push("--role");
            args.push(r);
        }
        let out = self.run(&args)?;
        out.lines()
            .map(str::trim)
            .find(|l| l.starts_with("http") && l.contains("/staff/link/"))
            .map(str::to_owned)
            .ok_or_else(|| format!("no link in: {out}"))
    }
}

/// A running `haven serve`.
#[derive(Debug)]
pub struct Server {
    /// The process.
    pub child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The first administrator's setup link, on a fresh database.
    pub setup_link: Option<String>,
    /// The process id.
    pub pid: u32,
}

impl Server {
    /// SIGKILL: no chance to flush, commit or close anything. Waits for the process to end.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The resident set size in KiB (`VmRSS` of `/proc/PID/status`), if the process lives.
    pub fn rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Accepts an invitation (or the setup link, with `email`): chooses the password, enrols the
/// second factor. The client is then signed in.
pub async fn accept_link(c: &Client, link: &str, user: &TestUser) -> Result<(), String> {
    let page = c.get(link).await;
    if page.status != StatusCode::OK {
        return Err(format!("link page: {}", page.status));
    }
    let csrf = page
        .input_value("csrf")
        .ok_or_else(|| "no CSRF token on the link page".to_owned())?;
    let res = c
        .post_form(
            link,
            &[
                ("csrf", &csrf),
                ("display_name", "Bench Admin"),
                ("email", &user.email),
                ("password", &user.password),
                ("password_again", &user.password),
            ],
        )
        .await;
    if res.status != StatusCode::SEE_OTHER {
        return Err(format!("choosing the password: {}", res.status));
    }
    let done = c.complete_second_factor(user, &res).await;
    if done.status != StatusCode::OK {
        return Err(format!("second factor: {}", done.status));
    }
    Ok(())
}

/// Creates `n` staff members with `roles` (`haven user add`) and signs each in with its own
/// client; their e-mail addresses are `PREFIX-1@bench.invalid`, ….
pub async fn staff(
    inst: &Instance,
    base: &str,
    prefix: &str,
    roles: &[&str],
    n: usize,
) -> Result<Vec<(Client, TestUser)>, String> {
    let mut out = Vec::new();
    for i in 1..=n {
        let email = format!("{prefix}-{i}@bench.invalid");
        let link = inst.invite(&email, &format!("Bench {prefix} {i}"), roles)?;
        let user = TestUser::new(&email, "Bench-Lozinka-Za-Test-2026");
        let c = Client::new(base);
        let path = link
            .find("/staff/link/")
            .map(|i| link[i..].to_owned())
            .unwrap_or(link);
        accept_link(&c, &path, &user).await?;
        out.push((c, user));
    }
    Ok(out)
}

/// The CSRF token of a signed-in client's session (from the desk's new-contact form).
pub async fn csrf_of(c: &Client, page: &str) -> Result<String, String> {
    let p = c.get(page).await;
    p.input_value("csrf")
        .ok_or_else(|| format!("no CSRF token on {page} ({})", p.status))
}

/// A PostgreSQL database made fresh for a run: `admin_url` names any database of the server
/// (e.g. `HAVEN_TEST_DATABASE_URL`); `name` is dropped if it exists and created. Returns its URL.
pub async fn fresh_pg_database(admin_url: &str, name: &str) -> Result<String, String> {
    use sqlx::Connection;
    let mut c = sqlx::PgConnection::connect(admin_url)
        .await
        .map_err(|e| format!("connect to {}: {e}", redact(admin_url)))?;
    for sql in [
        format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        format!("CREATE DATABASE {name}"),
    ] {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&mut c)
            .await
            .map_err(|e| e.to_string())?;
    }
    let _ = c.close().await;
    Ok(with_database(admin_url, name))
}

/// Drops a database made by [`fresh_pg_database`].
pub async fn drop_pg_database(admin_url: &str, name: &str) {
    use sqlx::Connection;
    if let Ok(mut c) = sqlx::PgConnection::connect(admin_url).await {
        let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&mut c)
        .await;
        let _ = c.close().await;
    }
}

/// `url` with its database name replaced by `name` (the query string kept).
pub fn with_database(url: &str, name: &str) -> String {
    let (main, query) = match url.split_once('?') {
        Some((m, q)) => (m, format!("?{q}")),
        None => (url, String::new()),
    };
    let start = main.find("://").map_or(0, |i| i + 3);
    let host_end = main[start..].find('/').map_or(main.len(), |i| start + i);
    format!("{}/{name}{query}", &main[..host_end])
}

/// A URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// A temporary folder for an instance, removed when dropped unless `HAVEN_BENCH_KEEP` is set.
pub fn temp_dir(prefix: &str) -> Result<tempfile::TempDir, String> {
    let mut b = tempfile::Builder::new();
    b.prefix(prefix);
    if std::env::var_os("HAVEN_BENCH_KEEP").is_some() {
        b.disable_cleanup(true);
    }
    b.tempdir().map_err(|e| e.to_string())
}

/// The `p` quantile of sorted durations (nearest rank).
pub fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Milliseconds with two decimals.
pub fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

/// A seed: `name` from the environment, or a random one (std's per-process hash keys).
pub fn seed(name: &str) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| {
            let mut h = RandomState::new().build_hasher();
            h.write_u32(std::process::id());
            h.finish() | 1
        })
}

/// xorshift64*: reproducible choices from a seed (not for anything secret).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed (0 is replaced).
    pub fn new(seed: u64) -> Rng {
        Rng(if seed == 0 {
            0x9e37_79b9_7f4a_7c15
        } else {
            seed
        })
    }

    /// The next number.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}
