//! The hotline desk in a real browser (headless Chromium over WebDriver), with the keyboard
//! only: a counsellor signs in, records a 116 000 call about a parental abduction moving with
//! Tab and typing, sees the escalation checklist and ticks a step, and finds the call again by
//! the phone number — once with JavaScript on (the lookup answers while typing) and once with it
//! off (the look-up button), which the test proves is really off. Then a contact opens a new
//! case, and another is linked to that case by its number.
//!
//! Run with `HAVEN_TEST_BROWSER=1 cargo test -p haven-web --test browser_desk`.

// Stories written as async functions are tests too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use haven_domain::Role;
use haven_testkit::{Browser, KEY_ENTER, KEY_TAB, TestApp, TestBackend};

/// The id of the focused element.
async fn focused(b: &Browser) -> String {
    let el = b.client.active_element().await.unwrap();
    el.attr("id").await.unwrap().unwrap_or_default()
}

/// Presses Tab until the element with this id has the focus (the tab order reaches it).
async fn tab_to(b: &Browser, id: &str) {
    for _ in 0..80 {
        if focused(b).await == id {
            return;
        }
        let el = b.client.active_element().await.unwrap();
        el.send_keys(KEY_TAB).await.unwrap();
    }
    panic!("Tab never reached #{id}: {}", b.source().await);
}

/// Types on the keyboard into the focused element.
async fn keys(b: &Browser, text: &str) {
    let el = b.client.active_element().await.unwrap();
    el.send_keys(text).await.unwrap();
}

/// Waits until the page shown contains `text`.
async fn wait_for(b: &Browser, text: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let src = b.source().await;
        if src.contains(text) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "waited for {text:?}: {src}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

async fn app() -> TestApp {
    TestApp::spawn_with(TestBackend::Sqlite, |s| {
        s.session.idle_timeout_minutes = 24 * 60;
        s.session.absolute_lifetime_hours = 72;
    })
    .await
}

async fn record_a_parental_abduction(javascript: bool) {
    let app = app().await;
    let user = app.add_user(&[Role::Counsellor]).await;
    let b = Browser::start_with(&app.base, javascript).await;
    b.sign_in_first_time(&app, &user).await;
    // Scripts run exactly when they should.
    b.goto("/staff/desk").await;
    let src = b.source().await;
    assert_eq!(
        src.contains("data-js=\"on\""),
        javascript,
        "JavaScript is {}",
        if javascript { "on" } else { "off" }
    );

    // From the inbox to a new 116 000 contact, by keyboard.
    tab_to(&b, "new-116000").await;
    keys(&b, KEY_ENTER).await;
    b.wait_for_path("/staff/desk/new?line=116000").await;
    assert_eq!(
        focused(&b).await,
        "line",
        "the form starts at its first field"
    );
    let started = b
        .find("#started_at")
        .await
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(!started.is_empty(), "the start time is filled in");
    tab_to(&b, "phone").await;
    keys(&b, "064 123 4567").await;
    if javascript {
        // The lookup answers while typing: nobody called from this number yet.
        wait_for(&b, "No earlier contact from this number.").await;
    }
    tab_to(&b, "caller_type").await;
    keys(&b, "Family").await;
    tab_to(&b, "category-1").await;
    keys(&b, "missing_child.parental_abduction").await;
    tab_to(&b, "urgency").await;
    keys(&b, "Urgent").await;
    tab_to(&b, "countries").await;
    keys(&b, "RS, DE").await;
    tab_to(&b, "summary").await;
    keys(&b, "Otac odveo dete u Nemačku").await;
    tab_to(&b, "save").await;
    keys(&b, KEY_ENTER).await;

    // The contact, with the 116 000 escalation checklist.
    b.find("#checklist").await;
    let path = b.path().await;
    assert!(path.starts_with("/staff/desk/contacts/"), "{path}");
    let id = path.trim_start_matches("/staff/desk/contacts/").to_owned();
    let src = b.source().await;
    assert!(
        src.contains("Parental abduction")
            && src.contains("+381641234567")
            && src.contains("Family member")
            && src.contains("Urgent"),
        "{src}"
    );
    assert!(
        src.contains("Police report made?")
            && src.contains("Custody decision?")
            && src.contains("Other country involved?")
    );
    // Tick the police report, with Space and Enter.
    tab_to(&b, "done-police_report").await;
    keys(&b, " ").await;
    tab_to(&b, "tick-police_report").await;
    keys(&b, KEY_ENTER).await;
    wait_for(&b, "· done").await;
    assert!(b.source().await.contains("class=\"done\""));

    // Found again by the number, typed another way.
    b.goto("/staff/desk/new").await;
    tab_to(&b, "phone").await;
    keys(&b, "+381 64 1234567").await;
    if javascript {
        wait_for(&b, &format!("/staff/desk/contacts/{id}")).await;
    }
    tab_to(&b, "lookup-button").await;
    keys(&b, KEY_ENTER).await;
    wait_for(&b, "Earlier contacts from this number").await;
    let src = b.source().await;
    assert!(
        src.contains(&format!("/staff/desk/contacts/{id}")) && src.contains("Parental abduction"),
        "{src}"
    );
    // Nothing identifying went into a URL.
    assert!(!b.path().await.contains("641234567"));
    b.close().await;
    app.stop().await;
}

haven_testkit::browser_test! {
    async fn a_parental_abduction_recorded_with_the_keyboard() {
        record_a_parental_abduction(true).await;
    }
}

haven_testkit::browser_test! {
    async fn the_same_with_javascript_off() {
        record_a_parental_abduction(false).await;
    }
}

haven_testkit::browser_test! {
    async fn a_contact_opens_a_case_and_another_is_linked_by_number() {
        let app = app().await;
        let user = app.add_user(&[Role::Counsellor]).await;
        let b = Browser::start(&app.base).await;
        b.sign_in_first_time(&app, &user).await;
        let mut ids = Vec::new();
        for phone in ["064 123 4567", "063 765 4321"] {
            b.goto("/staff/desk/new?line=116000").await;
            tab_to(&b, "phone").await;
            keys(&b, phone).await;
            tab_to(&b, "caller_type").await;
            keys(&b, "Family").await;
            tab_to(&b, "category-1").await;
            keys(&b, "missing_child.runaway").await;
            tab_to(&b, "save").await;
            keys(&b, KEY_ENTER).await;
            b.find("#checklist").await;
            ids.push(b.path().await.trim_start_matches("/staff/desk/contacts/").to_owned());
        }
        // The first contact opens a new case (a missing child, chosen from its category).
        b.goto(&format!("/staff/desk/contacts/{}", ids[0])).await;
        tab_to(&b, "open-case").await;
        keys(&b, KEY_ENTER).await;
        b.find("#case-status").await;
        let case_path = b.path().await;
        assert!(case_path.starts_with("/staff/cases/"), "{case_path}");
        let title = b.client.title().await.unwrap();
        assert!(title.starts_with("116-"), "{title}");
        let number = title.split(' ').next().unwrap().to_owned();
        assert!(b.source().await.contains("Runaway"), "the case shows the contact's summary");
        // The second is linked to it by its number.
        b.goto(&format!("/staff/desk/contacts/{}", ids[1])).await;
        tab_to(&b, "case_number").await;
        keys(&b, &number).await;
        tab_to(&b, "link-case").await;
        keys(&b, KEY_ENTER).await;
        b.wait_for_path(&case_path).await;
        let src = b.source().await;
        assert!(src.contains(&ids[0]) && src.contains(&ids[1]), "both contacts on the case");
        // Both contacts name the case.
        for id in &ids {
            b.goto(&format!("/staff/desk/contacts/{id}")).await;
            wait_for(&b, &format!(">{number}</a>")).await;
        }
        b.close().await;
        app.stop().await;
    }
}
