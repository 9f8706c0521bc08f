//! A missing child in a real browser (headless Chromium over WebDriver): a counsellor opens a
//! 116 000 case, adds the child and both parents, is warned by the escalation timer, records the
//! police report, uploads the custody decision and marks the child found; a supervisor approves
//! the closure; the timeline shows every step.
//!
//! The case is opened from the case side (the hotline desk, where a 116 000 contact would open
//! it, is built separately; its "open a case" posts to the same case pages). Run with
//! `HAVEN_TEST_BROWSER=1 cargo test -p haven-web --test browser_cases`.

// Stories written as async functions are tests too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::TimeDelta;
use haven_domain::Role;
use haven_testkit::{Browser, TestApp, TestBackend};

/// Chooses an option of a select by its value.
async fn choose(b: &Browser, select: &str, value: &str) {
    b.click(&format!("{select} option[value=\"{value}\"]"))
        .await;
}

/// Sets a date-and-time field (their typing differs between locales).
async fn set_time(b: &Browser, id: &str, value: &str) {
    b.client
        .execute(
            &format!("document.getElementById('{id}').value = arguments[0];"),
            vec![serde_json::json!(value)],
        )
        .await
        .unwrap();
}

/// Waits until the page shown contains `text` (or, with `present` false, no longer does).
async fn wait_for(b: &Browser, text: &str, present: bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let src = b.source().await;
        if src.contains(text) == present {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "waited for {text:?} to be {}: {src}",
            if present { "shown" } else { "gone" }
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

async fn add_person(b: &Browser, role: &str, name: &str, year: &str) {
    b.click("#add-person summary").await;
    choose(b, "#role", role).await;
    b.type_into("#name", name).await;
    b.type_into("#birth_year", year).await;
    b.click("#add-person-submit").await;
    wait_for(b, &format!(">{name}</a>"), true).await;
}

haven_testkit::browser_test! {
    async fn a_missing_child_is_found_and_the_case_closed() {
        let app = TestApp::spawn_with(TestBackend::Sqlite, |s| {
            s.session.idle_timeout_minutes = 24 * 60;
            s.session.absolute_lifetime_hours = 72;
        })
        .await;
        let counsellor = app.add_user(&[Role::Counsellor]).await;
        let supervisor = app.add_user(&[Role::Supervisor]).await;
        let b = Browser::start(&app.base).await;
        b.sign_in_first_time(&app, &counsellor).await;

        // A mother calls 116 000: the counsellor opens a missing-child case.
        b.goto("/staff/cases/new").await;
        b.click("input[name=\"kind\"][value=\"missing_child\"]").await;
        b.type_into("#summary", "Majka javlja da otac nije vratio dete posle vikenda.").await;
        b.click("#open-case").await;
        wait_for(&b, "id=\"case-status\"", true).await;
        let case_path = b.path().await;
        assert!(case_path.starts_with("/staff/cases/"), "{case_path}");
        let title = b.client.title().await.unwrap();
        assert!(title.starts_with("116-2026-00001 · Missing child"), "{title}");

        // The child and both parents.
        add_person(&b, "missing_child", "Luka Marić", "2017").await;
        add_person(&b, "parent", "Ivana Marić", "1988").await;
        add_person(&b, "parent", "Dragan Marić", "1985").await;
        let page = b.source().await;
        assert!(page.contains("Missing child: L. M., 9"), "the headline names the child by initials");

        // Three hours later there is still no police report: the timer warns, in red.
        app.clock.advance(TimeDelta::hours(3));
        b.goto(&case_path).await;
        let warning = b.text("#escalations .overdue").await;
        assert!(warning.contains("No police report"), "{warning}");

        // The police report, with the category and when the child was last seen.
        choose(&b, "#mc_category", "parental_abduction").await;
        choose(&b, "#mc_scope", "national").await;
        set_time(&b, "mc_last_seen_at", "2026-11-27T18:00").await;
        b.type_into("#mc_police_station", "PS Zemun").await;
        set_time(&b, "mc_police_reported_at", "2026-11-28T12:10").await;
        b.type_into("#mc_police_report_number", "123/26").await;
        b.click("#save-details").await;
        wait_for(&b, "Police report recorded", true).await;
        assert!(!b.source().await.contains("No police report: it was due"));

        // The custody decision, as a PDF.
        let file = app.data_dir.path().join("resenje-o-starateljstvu.pdf");
        std::fs::write(&file, b"%PDF-1.4\n% custody decision\n%%EOF\n").unwrap();
        choose(&b, "#kind", "custody_decision").await;
        b.find("#file").await.send_keys(&file.display().to_string()).await.unwrap();
        b.click("#upload").await;
        wait_for(&b, "resenje-o-starateljstvu.pdf", true).await;

        // The next morning the child is found, safe, and back with the mother.
        app.clock.advance(TimeDelta::hours(18));
        b.goto(&case_path).await;
        set_time(&b, "mc_found_at", "2026-11-29T06:30").await;
        choose(&b, "#mc_found_state", "safe_and_well").await;
        choose(&b, "#mc_returned_to", "parent_with_custody").await;
        b.click("#save-details").await;
        wait_for(&b, "found after", true).await;

        // Closing needs a supervisor.
        choose(&b, "#reason", "child_found").await;
        b.click("#close-case").await;
        wait_for(&b, "id=\"closure-pending\"", true).await;
        b.click("form[action=\"/staff/logout\"] button").await;
        b.wait_for_path("/staff/login?signed_out=1").await;

        b.sign_in_first_time(&app, &supervisor).await;
        assert!(b.source().await.contains("Closures awaiting approval"));
        b.goto(&case_path).await;
        b.click("#approve-closure").await;
        wait_for(&b, "id=\"case-status\">Closed<", true).await;

        // The timeline holds every step.
        let timeline = b.text("#timeline-list").await;
        for step in [
            "Case 116-2026-00001 opened",
            "Missing child added: Luka Marić",
            "Parent added: Ivana Marić",
            "Parent added: Dragan Marić",
            "Escalation: no police report in time",
            "Police report recorded",
            "Document uploaded: Custody decision",
            "Child found",
            "Closure asked for: Closed (Child found)",
            "Closure approved: Closed (Child found)",
        ] {
            assert!(timeline.contains(step), "{step} in:\n{timeline}");
        }
        b.close().await;
    }
}
