//! The hotline desk when the server is killed: the real binary, a draft saved over HTTP and
//! contacts recorded by several writers, SIGKILL in the middle, a restart — the draft and every
//! acknowledged contact are there.

// Stories written as async functions are tests too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
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

struct Server {
    child: Child,
    base: String,
    setup_link: Option<String>,
}

fn serve(dir: &Path) -> Server {
    let mut child = haven(dir)
        .args(["serve", "--listen", "127.0.0.1:0"])
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
fn a_killed_server_keeps_the_draft_and_every_saved_contact() {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let user = TestUser::new("admin@example.org", "Kriza-Test-Lozinka-Pas-1");
    let mut server = serve(dir.path());
    let c = Client::new(&server.base);
    let (draft, saved) = rt.block_on(async {
        let link = server.setup_link.clone().unwrap();
        let page = c.get(&link).await;
        let pw = user.password.clone();
        let res = c
            .post_form(
                &link,
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
        let done = c.complete_second_factor(&user, &res).await;
        assert_eq!(done.status, StatusCode::OK, "{}", done.text);
        // A counsellor typing: the draft is saved on the server while the call goes on.
        let form = c.get("/staff/desk/new?line=116000").await;
        let csrf = form.csrf();
        let draft = form.input_value("draft_id").unwrap();
        let res = c
            .post_form(
                "/staff/desk/draft",
                &[
                    ("csrf", &csrf),
                    ("draft_id", &draft),
                    ("line", "116000"),
                    ("summary", "Poziv u toku, dete nestalo juce"),
                ],
            )
            .await;
        assert_eq!(res.status, StatusCode::NO_CONTENT);
        // Writers record contacts until the server dies under them.
        let mut tasks = Vec::new();
        for w in 0..3 {
            let c = c.clone();
            let csrf = csrf.clone();
            tasks.push(tokio::spawn(async move {
                let mut ok = Vec::new();
                for i in 0..1000 {
                    let summary = format!("w{w} n{i}");
                    let res = tokio::time::timeout(
                        Duration::from_secs(5),
                        c.post_form_located(
                            "/staff/desk/new",
                            &[
                                ("csrf", &csrf),
                                ("line", "sos"),
                                ("channel", "phone"),
                                ("caller_type", "citizen"),
                                ("category", "labour.job_offer"),
                                ("phone", "+381 64 555 0101"),
                                ("summary", &summary),
                                ("do", "save"),
                            ],
                        ),
                    )
                    .await;
                    match res {
                        Ok(Some((303, loc))) if loc.starts_with("/staff/desk/contacts/") => {
                            ok.push(loc)
                        }
                        _ => break,
                    }
                }
                ok
            }));
        }
        tokio::time::sleep(Duration::from_millis(1500)).await;
        // SIGKILL: no chance to flush or close anything.
        server.child.kill().unwrap();
        let mut saved = Vec::new();
        for t in tasks {
            saved.extend(t.await.unwrap());
        }
        (draft, saved)
    });
    let _ = server.child.wait();
    assert!(saved.len() > 5, "the writers wrote {}", saved.len());

    let out = haven(dir.path()).arg("check").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let server = serve(dir.path());
    let c = Client::new(&server.base);
    rt.block_on(async {
        c.sign_in(&user).await;
        let page = c.get(&format!("/staff/desk/new?draft={draft}")).await;
        assert!(
            page.contains("Poziv u toku, dete nestalo juce"),
            "the draft survived: {}",
            page.text
        );
        for loc in &saved {
            let res = c.get(loc).await;
            assert_eq!(res.status, StatusCode::OK, "{loc} lost");
        }
        // And the lookup finds them all by the number.
        let res = c
            .submit(
                "/staff/desk/new",
                "/staff/desk/lookup",
                &[("phone", "064 555 0101")],
            )
            .await;
        assert_eq!(res.status, StatusCode::OK);
    });
}
