//! The `haven` binary as an operator meets it: commands, configuration errors, start-up failures,
//! and a crash in the middle of writes.

// Stories written as async functions are tests too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use haven_testkit::reqwest::StatusCode;
use haven_testkit::{Client, TestUser};

fn haven(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_haven"));
    c.current_dir(dir)
        .env_remove("HAVEN_MASTER_KEY")
        .env_remove("HAVEN_CONFIG")
        .env("HAVEN_LOG__LEVEL", "warn");
    c
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("run haven")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A running `haven serve` and the URL and setup link it printed.
struct Server {
    child: Child,
    base: String,
    setup_link: Option<String>,
}

fn serve(dir: &Path, extra: &[&str]) -> Server {
    let mut child = haven(dir)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn haven serve");
    let stdout = child.stdout.take().expect("stdout");
    let haven_testkit::ServeBanner { base, setup_link } =
        haven_testkit::read_serve_banner(stdout, Duration::from_secs(60));
    Server {
        child,
        base: base.expect("haven serve printed its URL"),
        setup_link,
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn every_command_has_help() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["migrate", "--help"],
        vec!["check", "--help"],
        vec!["config", "--help"],
        vec!["user", "--help"],
        vec!["user", "add", "--help"],
        vec!["user", "list", "--help"],
        vec!["user", "disable", "--help"],
        vec!["user", "reset-second-factor", "--help"],
        vec!["demo", "--help"],
        vec!["version", "--help"],
    ] {
        let out = run(haven(dir.path()).args(&args));
        assert!(out.status.success(), "{args:?}: {}", text(&out));
        assert!(text(&out).contains("Usage:"), "{args:?}");
    }
    let v = run(haven(dir.path()).arg("version"));
    assert!(text(&v).starts_with("haven "));
}

#[test]
fn bad_configuration_is_refused_with_the_key_name() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(haven(dir.path())
        .arg("check")
        .env("HAVEN_SESSION__IDLE_TIMEOUT_MINUTES", "soon"));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("session.idle_timeout_minutes"),
        "{}",
        text(&out)
    );

    std::fs::write(
        dir.path().join("haven.toml"),
        "listen = \"127.0.0.1:8080\"\nlisten_port = 3\n",
    )
    .unwrap();
    let out = run(haven(dir.path()).arg("serve"));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("unknown key `listen_port`"),
        "{}",
        text(&out)
    );
    assert_eq!(
        text(&out).trim().lines().count(),
        1,
        "one sentence: {}",
        text(&out)
    );

    std::fs::write(
        dir.path().join("haven.toml"),
        "[org]\ntime_zone = \"Mars/Olympus\"\n",
    )
    .unwrap();
    let out = run(haven(dir.path()).arg("serve"));
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("org.time_zone"), "{}", text(&out));

    // Flags beat the environment, which beats the file.
    std::fs::write(
        dir.path().join("haven.toml"),
        "listen = \"127.0.0.1:7001\"\n",
    )
    .unwrap();
    let out = run(haven(dir.path())
        .arg("config")
        .env("HAVEN_LISTEN", "127.0.0.1:7002"));
    assert!(text(&out).contains("127.0.0.1:7002"), "{}", text(&out));
    let out = run(haven(dir.path())
        .args(["config", "--listen", "127.0.0.1:7003"])
        .env("HAVEN_LISTEN", "127.0.0.1:7002"));
    assert!(text(&out).contains("127.0.0.1:7003"), "{}", text(&out));
}

#[test]
fn the_test_suites_own_variables_are_not_settings() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(haven(dir.path())
        .arg("config")
        .env("HAVEN_TEST_BROWSER", "1")
        .env("HAVEN_TEST_DATABASE_URL", "postgres://x@y/z"));
    assert!(out.status.success(), "{}", text(&out));
    let out = run(haven(dir.path())
        .arg("config")
        .env("HAVEN_NOT_A_SETTING", "1"));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("unknown key `not_a_setting`"),
        "{}",
        text(&out)
    );
}

#[test]
fn config_never_prints_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(haven(dir.path()).args([
        "config",
        "--database-url",
        "postgres://haven:s3cret-pw@db.example/haven",
    ]));
    assert!(out.status.success());
    assert!(!text(&out).contains("s3cret-pw"), "{}", text(&out));
    assert!(text(&out).contains("postgres://haven:***@db.example/haven"));
}

#[test]
fn unreachable_postgres_stops_with_one_sentence() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(haven(dir.path()).args([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--database-url",
        "postgres://postgres@127.0.0.1:1/nothing",
    ]));
    assert!(!out.status.success());
    let t = text(&out);
    assert!(
        t.contains("cannot open the database at postgres://postgres@127.0.0.1:1/nothing"),
        "{t}"
    );
    assert_eq!(t.trim().lines().count(), 1, "{t}");
}

#[test]
fn an_unwritable_data_folder_stops_with_one_sentence() {
    let dir = tempfile::tempdir().unwrap();
    // /proc refuses new folders even to root, so this holds whoever runs the tests.
    let out = run(haven(dir.path()).args([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        "/proc/haven-data",
    ]));
    assert!(!out.status.success());
    let t = text(&out);
    assert!(
        t.contains("the data folder /proc/haven-data cannot be used"),
        "{t}"
    );
    assert_eq!(t.trim().lines().count(), 1, "{t}");
}

#[test]
fn a_key_file_readable_by_others_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(haven(dir.path()).arg("migrate"));
    assert!(out.status.success(), "{}", text(&out));
    let out = run(haven(dir.path()).args(["user", "list"]));
    assert!(out.status.success(), "{}", text(&out));
    let key = dir.path().join("haven-data/master.key");
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        std::fs::metadata(dir.path().join("haven-data/haven.db"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    assert_eq!(
        std::fs::metadata(dir.path().join("haven-data"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o700
    );
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = run(haven(dir.path()).args(["serve", "--listen", "127.0.0.1:0"]));
    assert!(!out.status.success());
    let t = text(&out);
    assert!(t.contains("master.key") && t.contains("0644"), "{t}");
    assert_eq!(t.trim().lines().count(), 1, "{t}");
    let out = run(haven(dir.path()).arg("check"));
    assert!(!out.status.success());
    assert!(text(&out).contains("FAILED  master key"), "{}", text(&out));
    // A missing key with data in the database is refused, never silently replaced.
    std::fs::remove_file(&key).unwrap();
    let out = run(haven(dir.path()).args(["serve", "--listen", "127.0.0.1:0"]));
    assert!(!out.status.success());
    assert!(
        text(&out).contains("restore the key file"),
        "{}",
        text(&out)
    );
}

#[test]
fn check_reports_a_fresh_folder_and_passes_after_start() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(haven(dir.path()).arg("check"));
    assert!(!out.status.success(), "nothing there yet: {}", text(&out));
    assert!(text(&out).contains("FAILED"));
    let out = run(haven(dir.path()).args(["user", "list"]));
    assert!(out.status.success(), "{}", text(&out));
    let out = run(haven(dir.path()).arg("check"));
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("All checks passed."));
}

#[test]
fn check_of_a_database_not_migrated_names_the_migrations_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("haven-data");
    std::fs::create_dir(&data).unwrap();
    std::fs::set_permissions(&data, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    // An SQLite file that exists but was never migrated (a start that stopped early).
    std::fs::write(data.join("haven.db"), b"").unwrap();
    let out = run(haven(dir.path()).arg("check"));
    assert!(!out.status.success());
    let t = text(&out);
    assert!(
        t.contains("FAILED  migrations:") && t.contains("pending"),
        "{t}"
    );
    // No audit log exists yet: nothing can be "left waiting" in it.
    assert!(!t.contains("audit"), "{t}");
}

#[test]
fn a_fresh_start_prints_a_setup_link_that_works_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(dir.path(), &[]);
    let link = server.setup_link.clone().expect("a setup link is printed");
    assert!(link.starts_with(&server.base));
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let c = Client::new(&server.base);
        assert_eq!(c.get("/healthz").await.status, StatusCode::OK);
        let page = c.get(&link).await;
        assert_eq!(page.status, StatusCode::OK);
        let res = c
            .post_form(
                &link,
                &[
                    ("csrf", &page.csrf()),
                    ("display_name", "First Admin"),
                    ("email", "first@example.org"),
                    ("password", "Prvi-Admin-Na-Liniji-1"),
                    ("password_again", "Prvi-Admin-Na-Liniji-1"),
                ],
            )
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER);
        // The binary runs on the real clock: the code comes from the secret on the page, as
        // an authenticator app would compute it.
        let admin = TestUser::new("first@example.org", "Prvi-Admin-Na-Liniji-1");
        let done = c.complete_second_factor(&admin, &res).await;
        assert_eq!(done.status, StatusCode::OK, "{}", done.text);
        assert_eq!(c.get("/staff/").await.status, StatusCode::OK);
        assert_eq!(
            Client::new(&server.base).get(&link).await.status,
            StatusCode::GONE
        );
    });
    drop(server);
    // Once an administrator exists, no setup link is printed.
    let server = serve(dir.path(), &[]);
    assert!(server.setup_link.is_none());
}

#[test]
fn users_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(haven(dir.path()).args([
        "user",
        "add",
        "--email",
        "ana@example.org",
        "--name",
        "Ana K.",
        "--role",
        "counsellor",
        "--role",
        "supervisor",
    ]));
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("/staff/link/"));
    let out = run(haven(dir.path()).args([
        "user",
        "add",
        "--email",
        "ana@example.org",
        "--name",
        "Ana",
        "--role",
        "admin",
    ]));
    assert!(!out.status.success());
    let out = run(haven(dir.path()).args([
        "user",
        "add",
        "--email",
        "x@example.org",
        "--name",
        "X",
        "--role",
        "root",
    ]));
    assert!(!out.status.success());
    assert!(text(&out).contains("unknown role"), "{}", text(&out));
    let out = run(haven(dir.path()).args(["user", "list"]));
    assert!(
        text(&out).contains("ana@example.org")
            && text(&out).contains("invited")
            && text(&out).contains("supervisor,counsellor"),
        "{}",
        text(&out)
    );
    let out =
        run(haven(dir.path()).args(["user", "reset-second-factor", "--email", "ana@example.org"]));
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("Reset the second factor"),
        "{}",
        text(&out)
    );
    let out = run(haven(dir.path()).args([
        "user",
        "reset-second-factor",
        "--email",
        "nobody@example.org",
    ]));
    assert!(!out.status.success());
    let out = run(haven(dir.path()).args(["user", "disable", "--email", "ana@example.org"]));
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&run(haven(dir.path()).args(["user", "list"]))).contains("disabled"));
}

#[test]
fn demo_fills_a_fresh_database_and_says_how_to_sign_in() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(haven(dir.path()).args(["demo", "--size", "2"]));
    assert!(out.status.success(), "{}", text(&out));
    let t = text(&out);
    assert!(
        t.contains("8 staff accounts") && t.contains("40 institutions"),
        "{t}"
    );
    assert!(
        t.contains("admin@demo.haven.invalid") && t.contains("password: "),
        "{t}"
    );
    let password = t
        .split("password: ")
        .nth(1)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .trim()
        .to_owned();
    // The printed credentials work.
    let server = serve(dir.path(), &[]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let c = Client::new(&server.base);
        // The first sign-in sets up the second factor.
        c.sign_in(&TestUser::new("counsellor@demo.haven.invalid", &password))
            .await;
        assert_eq!(c.get("/staff/").await.status, StatusCode::OK);
    });
    drop(server);
    // Real staff are never mixed with demo data without being asked.
    run(haven(dir.path()).args([
        "user",
        "add",
        "--email",
        "real@example.org",
        "--name",
        "Real",
        "--role",
        "admin",
    ]));
    let out = run(haven(dir.path()).args(["demo"]));
    assert!(!out.status.success());
    assert!(text(&out).contains("--yes"));
}

/// Kills `haven serve` with SIGKILL while it is writing, many times; every acknowledged write is
/// there afterwards and `haven check` passes.
#[test]
fn sigkill_during_writes_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut acknowledged: Vec<String> = Vec::new();
    let admin_user = TestUser::new("admin@example.org", "Kriza-Test-Lozinka-Pas-1");
    for round in 0..5 {
        let mut server = serve(dir.path(), &[]);
        let base = server.base.clone();
        let admin = Client::new(&base);
        rt.block_on(async {
            if let Some(link) = &server.setup_link {
                let page = admin.get(link).await;
                let pw = admin_user.password.clone();
                let res = admin
                    .post_form(
                        link,
                        &[
                            ("csrf", &page.csrf()),
                            ("display_name", "Admin"),
                            ("email", "admin@example.org"),
                            ("password", &pw),
                            ("password_again", &pw),
                        ],
                    )
                    .await;
                assert_eq!(res.status, StatusCode::SEE_OTHER);
                let done = admin.complete_second_factor(&admin_user, &res).await;
                assert_eq!(done.status, StatusCode::OK, "{}", done.text);
            } else {
                // Password and a fresh TOTP code, computed from the secret shown at enrolment.
                admin.sign_in(&admin_user).await;
            }
            let csrf = admin.get("/staff/users/new").await.csrf();
            // Writers run until the server dies under them.
            let mut tasks = Vec::new();
            for w in 0..4 {
                let c = admin.clone();
                let csrf = csrf.clone();
                tasks.push(tokio::spawn(async move {
                    let mut ok = Vec::new();
                    for i in 0..1000 {
                        let email = format!("r{round}w{w}n{i}@example.org");
                        let res = tokio::time::timeout(
                            Duration::from_secs(5),
                            c.post_form_checked(
                                "/staff/users/new",
                                &[
                                    ("csrf", &csrf),
                                    ("display_name", "Crash Test"),
                                    ("email", &email),
                                    ("language", "en"),
                                    ("role", "counsellor"),
                                ],
                            ),
                        )
                        .await;
                        match res {
                            Ok(Some(200)) => ok.push(email),
                            _ => break,
                        }
                    }
                    ok
                }));
            }
            tokio::time::sleep(Duration::from_millis(400 + 150 * round)).await;
            // SIGKILL: no chance to flush or close anything.
            server.child.kill().unwrap();
            for t in tasks {
                acknowledged.extend(t.await.unwrap());
            }
        });
        let _ = server.child.wait();
        let out = run(haven(dir.path()).arg("check"));
        assert!(out.status.success(), "after kill {round}: {}", text(&out));
    }
    assert!(
        acknowledged.len() > 20,
        "the writers wrote: {}",
        acknowledged.len()
    );
    let out = run(haven(dir.path()).args(["user", "list"]));
    let listed = text(&out);
    let missing: Vec<&String> = acknowledged
        .iter()
        .filter(|e| !listed.contains(e.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged writes lost: {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
}
