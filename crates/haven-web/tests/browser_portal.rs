//! The public portal in a real browser (headless Chromium over WebDriver): the quick exit by
//! its button and by Shift pressed three times leaves the site so that Back does not return; a
//! contract sent with JavaScript off arrives in the desk with its file, and the receipt code
//! then shows the counsellor's answer; a contract over 10 MiB gives the form back with the
//! question kept; axe-core finds no violation on any page in any language.
//!
//! Run with `HAVEN_TEST_BROWSER=1 cargo test -p haven-web --test browser_portal`. axe-core comes
//! from the npm registry: `.ci/run` unpacks `npm pack axe-core` into `~/.cache/haven-axe`
//! (or set `HAVEN_AXE_JS` to an `axe.min.js`); without it the accessibility test fails.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use haven_domain::Role;
use haven_testkit::{Browser, TestApp, TestBackend, browser_test};

const SHIFT: char = '\u{E008}';

/// The app, with the quick exit going to a neutral page it serves itself.
async fn app() -> TestApp {
    TestApp::spawn_with(TestBackend::Sqlite, |s| {
        s.portal.exit_url = "/healthz".into();
    })
    .await
}

async fn wait_path(b: &Browser, path: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while b.path().await != path {
        assert!(
            std::time::Instant::now() < deadline,
            "still on {} waiting for {path}",
            b.path().await
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

browser_test! {
    async fn the_quick_exit_leaves_and_back_does_not_return() {
        let app = app().await;
        let b = Browser::start(&app.base).await;
        // By the button.
        b.goto("/static/portal.css").await;
        b.goto("/en/page/warning-signs").await;
        b.click("#quick-exit").await;
        wait_path(&b, "/healthz").await;
        b.client.back().await.unwrap();
        wait_path(&b, "/static/portal.css").await;
        // By Shift pressed three times.
        b.goto("/sr-latn/page/what-to-do").await;
        b.find("main").await;
        let mut keys = KeyActions::new("keyboard".into());
        for _ in 0..3 {
            keys = keys
                .then(KeyAction::Down { value: SHIFT })
                .then(KeyAction::Up { value: SHIFT });
        }
        b.client.perform_actions(keys).await.unwrap();
        wait_path(&b, "/healthz").await;
        b.client.back().await.unwrap();
        wait_path(&b, "/static/portal.css").await;
        b.close().await;
        app.stop().await;
    }
}

browser_test! {
    async fn a_contract_sent_without_javascript_reaches_the_desk_and_the_code_reads_the_answer() {
        let app = app().await;
        let b = Browser::start_with(&app.base, false).await;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("contract.pdf");
        std::fs::write(
            &file,
            b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n",
        )
        .unwrap();
        b.goto("/en/send/contract-check").await;
        b.find("#file").await.send_keys(file.to_str().unwrap()).await.unwrap();
        b.type_into("#text", "Please check the hours in clause 4.").await;
        b.click("form button[type=submit]").await;
        let code = b.text(".receipt strong").await;
        assert!(code.len() >= 16, "{code}");

        // The counsellor finds it in the desk with its file and answers.
        let (staff, _) = app.signed_in(&[Role::Counsellor]).await;
        let inbox = staff.get("/staff/desk").await;
        assert_eq!(inbox.status, 200);
        let list = staff.get("/staff/desk/contacts?line=portal").await;
        let start = list.text.find("/staff/desk/contacts/").unwrap();
        let id: String = list.text[start + "/staff/desk/contacts/".len()..]
            .chars()
            .take_while(|c| c.is_ascii_hexdigit() || *c == '-')
            .collect();
        let page = staff.get(&format!("/staff/desk/contacts/{id}")).await;
        assert!(page.text.contains("contract.pdf"), "{}", page.text);
        assert!(page.text.contains("clause 4"));
        let r = staff
            .submit(
                &format!("/staff/desk/contacts/{id}"),
                &format!("/staff/desk/contacts/{id}/portal-answer"),
                &[("text", "Clause 4 asks for 70 hours a week: that is not legal.")],
            )
            .await;
        assert_eq!(r.status, 303);

        // The visitor comes back with the code.
        b.goto("/en/follow-up").await;
        b.type_into("#code", &code).await;
        b.click("form button[type=submit]").await;
        b.find(".msg-counsellor").await;
        assert!(b.source().await.contains("70 hours a week"));
        b.close().await;
        app.stop().await;
    }
}

browser_test! {
    async fn a_contract_too_large_comes_back_with_the_question_kept() {
        let app = app().await;
        let b = Browser::start_with(&app.base, false).await;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("scan.pdf");
        let mut big = b"%PDF-1.4\n".to_vec();
        big.resize(haven_web::portal::UPLOAD_LIMIT + 300 * 1024, b' ');
        std::fs::write(&file, big).unwrap();
        let question = "Is a fee of 500 euros for the visa legal?";
        b.goto("/en/send/contract-check").await;
        b.find("#file").await.send_keys(file.to_str().unwrap()).await.unwrap();
        b.type_into("#text", question).await;
        b.click("form button[type=submit]").await;
        // The browser shows the form again (no connection reset): the size said, the question
        // still in its field, ready to send with a smaller file.
        b.find(".error-summary").await;
        let page = b.source().await;
        assert!(
            page.contains("The file is too large (10.3 MiB); at most 10 MiB can be sent."),
            "{page}"
        );
        assert_eq!(
            b.find("#text").await.prop("value").await.unwrap().as_deref(),
            Some(question)
        );
        b.close().await;
        app.stop().await;
    }
}

/// axe-core's script, from the npm registry (see the module's documentation).
fn axe_source() -> String {
    let path = std::env::var("HAVEN_AXE_JS").unwrap_or_else(|_| {
        format!(
            "{}/.cache/haven-axe/package/axe.min.js",
            std::env::var("HOME").unwrap_or_default()
        )
    });
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "axe-core is missing at {path} ({e}): run `mkdir -p ~/.cache/haven-axe && cd ~/.cache/haven-axe && npm pack axe-core@4 && tar xzf axe-core-*.tgz`, or set HAVEN_AXE_JS"
        )
    })
}

browser_test! {
    async fn axe_finds_no_violation_on_any_portal_page() {
        let axe = axe_source();
        let app = app().await;
        let b = Browser::start(&app.base).await;
        let mut pages = Vec::new();
        for l in ["sr-latn", "sr-cyrl", "en"] {
            pages.push(format!("/{l}"));
            for p in haven_web::portal::PAGES {
                pages.push(format!("/{l}/page/{p}"));
            }
            for f in ["report", "contract-check", "question", "missing-child", "self-check"] {
                pages.push(format!("/{l}/send/{f}"));
            }
            pages.push(format!("/{l}/self-check"));
            pages.push(format!("/{l}/follow-up"));
            pages.push(format!("/{l}/news"));
        }
        let mut failures = Vec::new();
        for p in &pages {
            b.goto(p).await;
            b.find("main").await;
            b.client.execute(&axe, vec![]).await.unwrap();
            let res = b
                .client
                .execute_async(
                    "const done = arguments[arguments.length - 1];\
                     axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})\
                       .then(r => done(r.violations.map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))))\
                       .catch(e => done(['axe failed: ' + e]));",
                    vec![],
                )
                .await
                .unwrap();
            let violations: Vec<String> = serde_json::from_value(res).unwrap();
            if !violations.is_empty() {
                failures.push(format!("{p}: {violations:?}"));
            }
        }
        assert!(failures.is_empty(), "axe-core violations:\n{}", failures.join("\n"));
        b.close().await;
        app.stop().await;
    }
}
