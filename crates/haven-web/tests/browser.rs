//! The first administrator's first day in a real browser (headless Chromium over WebDriver), with
//! JavaScript on and off: setup link, password, second factor, recovery codes, home, sign-out, and
//! signing in again — typing and pressing Enter where a person would.
//!
//! Run with `HAVEN_TEST_BROWSER=1 cargo test -p haven-web --test browser` (needs the Debian
//! packages chromium and chromium-driver).

// Stories written as async functions are tests too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use haven_testkit::{Browser, KEY_ENTER, TestApp, TestBackend, TestUser};

const EMAIL: &str = "ana@example.org";
const PASSWORD: &str = "Lipa-Reka-Most-Sunce-7";

async fn first_day(javascript: bool) {
    let app = TestApp::spawn(TestBackend::Sqlite).await;
    let b = Browser::start_with(&app.base, javascript).await;
    let user = TestUser::new(EMAIL, PASSWORD);

    // The setup link: name, address, password twice, Enter.
    b.goto(app.setup_link.as_deref().unwrap()).await;
    b.type_into("#display_name", "Ana Admin").await;
    b.type_into("#email", EMAIL).await;
    b.type_into("#password", PASSWORD).await;
    b.type_into("#password_again", &format!("{PASSWORD}{KEY_ENTER}"))
        .await;
    b.wait_for_path("/staff/enrol").await;

    // The second factor: a QR code drawn in the page, and the key to type into the app.
    let page = b.source().await;
    assert!(
        page.contains("<svg") && page.contains("class=\"qr\""),
        "{page}"
    );
    let key: String = b
        .text("#totp-secret")
        .await
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let secret = data_encoding::BASE32_NOPAD.decode(key.as_bytes()).unwrap();
    user.factor.lock().unwrap().secret = Some(secret);
    let code = app.client().totp_code(&user).await;
    b.type_into("#code", &format!("{code}{KEY_ENTER}")).await;

    // The recovery codes, once, and "I have saved them".
    b.find(".recovery-code").await;
    let page = b.source().await;
    assert_eq!(
        page.matches("class=\"recovery-code\"").count(),
        10,
        "{page}"
    );
    b.type_into("form[method=\"get\"] button", KEY_ENTER).await;
    b.wait_for_path("/staff/").await;
    assert!(b.source().await.contains("Ana Admin"));

    // Sign out, and in again with the password and a new code.
    b.click("form[action=\"/staff/logout\"] button").await;
    b.wait_for_path("/staff/login?signed_out=1").await;
    b.type_into("#email", EMAIL).await;
    b.type_into("#password", &format!("{PASSWORD}{KEY_ENTER}"))
        .await;
    b.wait_for_path("/staff/login/second-factor").await;
    let code = app.client().totp_code(&user).await;
    b.type_into("#code", &format!("{code}{KEY_ENTER}")).await;
    b.wait_for_path("/staff/").await;
    assert!(b.source().await.contains("Ana Admin"));
    b.close().await;
}

haven_testkit::browser_test! {
    async fn first_admin_sets_up_the_second_factor_and_signs_in_again() {
        first_day(true).await;
    }
}

haven_testkit::browser_test! {
    async fn the_same_without_javascript() {
        first_day(false).await;
    }
}
