//! The second factor and sign-in throttling as staff meet them, over HTTP, on both backends.

// Stories written as async functions are tests too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::TimeDelta;
use haven_domain::{Role, UserId};
use haven_store::audit::{self, AuditEntry, AuditFilter};
use haven_testkit::reqwest::StatusCode;
use haven_testkit::{Client, Page, TOTP_STEP, TestApp, TestUser, conformance, totp_code_at};

async fn user_id(app: &TestApp, email: &str) -> UserId {
    haven_store::users::by_email(&app.state.db, app.state.default_org, email)
        .await
        .unwrap()
        .unwrap()
        .user
        .id
}

/// The audit entries whose action starts with `prefix`, newest first.
async fn audit(app: &TestApp, prefix: &str) -> Vec<AuditEntry> {
    let f = AuditFilter {
        action_prefix: Some(prefix.into()),
        ..AuditFilter::default()
    };
    audit::list(&app.state.db, app.state.default_org, &f, 500)
        .await
        .unwrap()
}

fn has(entries: &[AuditEntry], action: &str, outcome: &str, detail: &str) -> bool {
    entries
        .iter()
        .any(|e| e.action == action && e.outcome == outcome && e.details.contains(detail))
}

/// A message in Serbian (Latin), the organisation's language, which the first administrator and
/// anonymous visitors without `Accept-Language` get.
fn sr(id: &str) -> String {
    haven_web::i18n::I18n::load()
        .unwrap()
        .tr(haven_domain::Language::SrLatn)
        .t(id)
}

/// The text of the error summary, without the e-mail address typed.
fn alert(p: &Page, email: &str) -> String {
    p.text
        .split("role=\"alert\"")
        .nth(1)
        .unwrap_or("")
        .split("</div>")
        .next()
        .unwrap_or("")
        .replace(email, "")
}

/// The session cookie a response sets.
fn session_cookie(p: &Page) -> Option<String> {
    p.headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|v| v.starts_with("haven_session=") && !v.contains("Max-Age=0"))
}

async fn password_step(c: &Client, user: &TestUser) -> Page {
    let res = c
        .submit(
            "/staff/login?lang=en",
            "/staff/login",
            &[("email", &user.email), ("password", &user.password)],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    res
}

/// A code the authenticator app would not show now (the right one plus one).
fn wrong_code(user: &TestUser, c: &Client) -> String {
    let secret = user.totp_secret().unwrap();
    let right = totp_code_at(&secret, c.now_seconds() / TOTP_STEP);
    let n: u32 = right.parse().unwrap();
    format!("{:06}", (n + 1) % 1_000_000)
}

conformance!(async fn enrolment_at_first_sign_in(backend) {
    let app = TestApp::spawn(backend).await;
    let user = app.add_user(&[Role::Counsellor]).await;
    let c = app.client();
    let res = password_step(&c, &user).await;
    assert_eq!(res.location(), "/staff/enrol");
    let password_cookie = session_cookie(&res).unwrap();
    // Nothing of the application before the second factor.
    assert_eq!(c.get("/staff/").await.location(), "/staff/login/second-factor");
    assert_eq!(c.get("/api/v1/me").await.status, StatusCode::UNAUTHORIZED);

    let page = c.get("/staff/enrol").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.contains("<svg") && page.contains("class=\"qr\""), "a QR code drawn in the page");
    assert!(!page.contains("http://") && !page.contains("https://"), "no address elsewhere: {}", page.text);
    assert!(!page.contains("<img"), "no image to fetch");
    let secret = page.totp_secret().expect("the secret for typing in");
    assert_eq!(secret.len(), 20);
    let shown = page.text.split("id=\"totp-secret\"").nth(1).unwrap().split('<').next().unwrap().to_owned();
    assert!(shown.trim_start_matches(" class=\"mono\">").split(' ').all(|g| g.len() == 4), "groups of four: {shown}");
    // A reload shows the same secret, which is stored sealed.
    assert_eq!(c.get("/staff/enrol").await.totp_secret().unwrap(), secret);
    let id = user_id(&app, &user.email).await;
    let stored = haven_store::second_factor::get(&app.state.db, app.state.default_org, id).await.unwrap();
    let sealed = stored.sealed_secret.unwrap();
    assert!(!sealed.windows(secret.len()).any(|w| w == secret.as_slice()), "sealed, not plain");
    assert!(stored.enabled_at.is_none(), "pending until confirmed");

    // A wrong code is refused next to the field; the same secret stays.
    *user.factor.lock().unwrap() = haven_testkit::Authenticator { secret: Some(secret.clone()), ..Default::default() };
    let bad = c.post_form("/staff/enrol", &[("csrf", &page.csrf()), ("code", &wrong_code(&user, &c))]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.contains("id=\"code-error\""), "{}", bad.text);
    assert_eq!(bad.totp_secret().unwrap(), secret);

    // The right code: recovery codes, once, and a new session.
    let code = c.totp_code(&user).await;
    let done = c.post_form("/staff/enrol", &[("csrf", &page.csrf()), ("code", &code)]).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    let codes = done.recovery_codes();
    assert_eq!(codes.len(), 10);
    assert!(codes.iter().all(|c| c.len() == 11 && c.as_bytes()[5] == b'-'), "{codes:?}");
    assert_eq!(done.next_target(), "/staff/");
    let complete_cookie = session_cookie(&done).expect("a new session cookie");
    assert_ne!(complete_cookie, password_cookie, "the session id changes with the privilege");
    assert_eq!(c.get("/staff/").await.status, StatusCode::OK);
    // Shown once: the enrolment page is gone.
    assert_eq!(c.get("/staff/enrol").await.location(), "/staff/");
    let profile = c.get("/staff/profile").await;
    assert!(profile.contains("10 recovery codes left"), "{}", profile.text);
    assert!(!codes.iter().any(|code| profile.contains(code)));
    let log = audit(&app, "auth.").await;
    assert!(has(&log, "auth.second_factor_enrolled", "ok", ""));
    assert!(has(&log, "auth.second_factor_enrolled", "failed", "wrong_code"));
    assert!(has(&log, "auth.sign_in", "ok", "totp"));
});

conformance!(async fn each_code_works_once(backend) {
    let app = TestApp::spawn(backend).await;
    let (_, user) = app.signed_in(&[Role::CaseWorker]).await;

    // A wrong code.
    let c = app.client();
    let res = password_step(&c, &user).await;
    assert_eq!(res.location(), "/staff/login/second-factor");
    let page = c.get("/staff/login/second-factor").await;
    let bad = c.post_form("/staff/login/second-factor", &[("csrf", &page.csrf()), ("code", &wrong_code(&user, &c))]).await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    assert!(bad.contains("id=\"code-error\"") && bad.contains("not right"), "{}", bad.text);
    assert_eq!(c.get("/staff/").await.status, StatusCode::SEE_OTHER);

    // The right one, then the same one again in another browser: refused as used.
    let code = c.totp_code(&user).await;
    let ok = c.post_form("/staff/login/second-factor", &[("csrf", &page.csrf()), ("code", &code)]).await;
    assert_eq!(ok.location(), "/staff/");
    assert_eq!(c.get("/staff/").await.status, StatusCode::OK);
    let used_step = user.factor.lock().unwrap().last_step.unwrap();

    let thief = app.client();
    password_step(&thief, &user).await;
    let page = thief.get("/staff/login/second-factor").await;
    let replay = thief.post_form("/staff/login/second-factor", &[("csrf", &page.csrf()), ("code", &code)]).await;
    assert_eq!(replay.status, StatusCode::UNAUTHORIZED);
    assert!(replay.contains("already used"), "{}", replay.text);
    // An older step, still inside the window of skew, is refused too.
    let older = totp_code_at(&user.totp_secret().unwrap(), used_step - 1);
    let res = thief.post_form("/staff/login/second-factor", &[("csrf", &page.csrf()), ("code", &older)]).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert_eq!(thief.get("/staff/").await.status, StatusCode::SEE_OTHER);

    let log = audit(&app, "auth.sign_in").await;
    assert!(has(&log, "auth.sign_in", "failed", "wrong_code"));
    assert!(has(&log, "auth.sign_in", "failed", "replayed_code"));
});

conformance!(async fn the_password_stage_expires_after_five_minutes(backend) {
    let app = TestApp::spawn(backend).await;
    let (_, user) = app.signed_in(&[Role::Lawyer]).await;
    let c = app.client();
    password_step(&c, &user).await;
    let page = c.get("/staff/login/second-factor").await;
    assert_eq!(page.status, StatusCode::OK);
    app.clock.advance(TimeDelta::minutes(5) + TimeDelta::seconds(1));
    let code = c.totp_code(&user).await;
    let res = c.post_form("/staff/login/second-factor", &[("csrf", &page.csrf()), ("code", &code)]).await;
    assert_ne!(res.status, StatusCode::OK);
    assert!(res.status != StatusCode::SEE_OTHER || res.location().starts_with("/staff/login"), "{:?}", res.headers);
    let again = c.get("/staff/login/second-factor").await;
    assert_eq!(again.location(), "/staff/login", "back to the password");
    assert!(c.get("/staff/").await.location().starts_with("/staff/login?"));
});

conformance!(async fn a_recovery_code_works_once(backend) {
    let app = TestApp::spawn(backend).await;
    let (_, user) = app.signed_in(&[Role::Supervisor]).await;
    let code = user.take_recovery_code();
    let c = app.client();
    password_step(&c, &user).await;
    let page = c.get("/staff/login/second-factor").await;
    // Typed in lower case with a space instead of the dash: still the code.
    let typed = code.to_lowercase().replace('-', " ");
    let res = c.post_form("/staff/login/second-factor", &[("csrf", &page.csrf()), ("code", &typed)]).await;
    assert_eq!(res.location(), "/staff/", "{}", res.text);
    assert!(c.get("/staff/profile").await.contains("9 recovery codes left"));

    let other = app.client();
    password_step(&other, &user).await;
    let page = other.get("/staff/login/second-factor").await;
    let again = other.post_form("/staff/login/second-factor", &[("csrf", &page.csrf()), ("code", &code)]).await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED);
    let log = audit(&app, "auth.").await;
    assert!(has(&log, "auth.recovery_code_used", "ok", "\"left\":9"));
    assert!(has(&log, "auth.sign_in", "failed", "wrong_recovery_code"));
});

conformance!(async fn new_recovery_codes_need_a_current_code(backend) {
    let app = TestApp::spawn(backend).await;
    let user = app.add_user(&[Role::Counsellor]).await;
    let laptop = app.client();
    laptop.sign_in(&user).await;
    let phone = app.client();
    phone.sign_in(&user).await;
    let old = user.take_recovery_code();
    let bad = laptop.submit("/staff/profile", "/staff/profile/recovery-codes", &[("totp_code", &wrong_code(&user, &laptop))]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.contains("id=\"totp_code-error\""));
    let code = laptop.totp_code(&user).await;
    let res = laptop.submit("/staff/profile", "/staff/profile/recovery-codes", &[("totp_code", &code)]).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let new_codes = res.recovery_codes();
    assert_eq!(new_codes.len(), 10);
    assert!(!new_codes.contains(&old));
    assert_eq!(res.next_target(), "/staff/profile");
    assert_eq!(laptop.get("/staff/").await.status, StatusCode::OK, "this session stays");
    assert_eq!(phone.get("/staff/").await.status, StatusCode::SEE_OTHER, "the others end");
    // The old codes no longer work.
    let c = app.client();
    password_step(&c, &user).await;
    let page = c.get("/staff/login/second-factor").await;
    let res = c.post_form("/staff/login/second-factor", &[("csrf", &page.csrf()), ("code", &old)]).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    let res = c.post_form("/staff/login/second-factor", &[("csrf", &page.csrf()), ("code", &new_codes[0])]).await;
    assert_eq!(res.location(), "/staff/");
    let log = audit(&app, "auth.recovery_codes_regenerated").await;
    assert!(has(&log, "auth.recovery_codes_regenerated", "ok", ""));
    assert!(has(&log, "auth.recovery_codes_regenerated", "failed", "wrong_code"));
});

conformance!(async fn an_admin_reset_means_enrolling_again_after_the_password(backend) {
    let app = TestApp::spawn(backend).await;
    let (admin, _) = app.admin().await;
    let user = app.add_user(&[Role::Counsellor]).await;
    let c = app.client();
    c.sign_in(&user).await;
    let id = user_id(&app, &user.email).await;
    let page = admin.get(&format!("/staff/users/{id}")).await;
    assert!(page.contains(&format!("/staff/users/{id}/reset-second-factor")), "{}", page.text);
    let res = admin.submit(&format!("/staff/users/{id}"), &format!("/staff/users/{id}/reset-second-factor"), &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert!(admin.get(&res.location()).await.contains(&sr("user-second-factor-was-reset")));
    assert_eq!(c.get("/staff/").await.status, StatusCode::SEE_OTHER, "all their sessions ended");

    // Nobody reaches the enrolment without the password.
    let stranger = app.client();
    assert_eq!(stranger.get("/staff/enrol").await.location(), "/staff/login");
    let old_secret = user.totp_secret().unwrap();
    user.forget_second_factor();
    let res = password_step(&c, &user).await;
    assert_eq!(res.location(), "/staff/enrol");
    c.complete_second_factor(&user, &res).await;
    assert_ne!(user.totp_secret().unwrap(), old_secret, "a new secret");
    assert_eq!(c.get("/staff/").await.status, StatusCode::OK);
    let log = audit(&app, "auth.second_factor_reset").await;
    assert!(log.iter().any(|e| e.outcome == "ok" && e.target_id == Some(id.0)));
});

conformance!(async fn a_password_reset_link_does_not_bypass_the_second_factor(backend) {
    let app = TestApp::spawn(backend).await;
    let (admin, _) = app.admin().await;
    let user = app.add_user(&[Role::CaseWorker]).await;
    app.client().sign_in(&user).await;
    let id = user_id(&app, &user.email).await;
    let created = admin.submit(&format!("/staff/users/{id}"), &format!("/staff/users/{id}/reset-password"), &[]).await;
    let link = created.input_value("link").unwrap();
    let path = link.trim_start_matches(&app.base).to_owned();
    let c = app.client();
    let form = c.get(&path).await;
    let res = c.post_form(&path, &[("csrf", &form.csrf()), ("password", "Novi-Dan-Nova-Lozinka-5"), ("password_again", "Novi-Dan-Nova-Lozinka-5")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(res.location(), "/staff/login/second-factor");
    assert_eq!(c.get("/staff/").await.location(), "/staff/login/second-factor");
    assert_eq!(c.get("/staff/profile").await.status, StatusCode::SEE_OTHER);
    let done = c.complete_second_factor(&user, &res).await;
    assert_eq!(done.location(), "/staff/");
    assert_eq!(c.get("/staff/").await.status, StatusCode::OK);
});

conformance!(async fn five_failures_lock_an_account_quietly(backend) {
    let app = TestApp::spawn(backend).await;
    let (admin, _) = app.admin().await;
    let user = app.add_user(&[Role::Counsellor]).await;
    app.client().sign_in(&user).await;
    let c = app.client();
    let unknown = c.submit("/staff/login?lang=en", "/staff/login", &[("email", "nobody@example.org"), ("password", "not the password")]).await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    for _ in 0..5 {
        let wrong = c.submit("/staff/login?lang=en", "/staff/login", &[("email", &user.email), ("password", "not the password")]).await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
        assert_eq!(alert(&wrong, &user.email), alert(&unknown, "nobody@example.org"));
    }
    // Locked: even the right password is refused, in the same words as an unknown account.
    let locked = c.submit("/staff/login?lang=en", "/staff/login", &[("email", &user.email), ("password", &user.password)]).await;
    assert_eq!(locked.status, StatusCode::UNAUTHORIZED);
    assert_eq!(alert(&locked, &user.email), alert(&unknown, "nobody@example.org"));
    assert!(locked.contains(&format!("value=\"{}\"", user.email)), "the address is kept");
    let log = audit(&app, "auth.").await;
    let id = user_id(&app, &user.email).await;
    assert!(log.iter().any(|e| e.action == "auth.account_locked" && e.target_id == Some(id.0)));
    assert!(has(&log, "auth.sign_in", "failed", "account_locked"));

    // The administrators see it and can lift it.
    let home = admin.get("/staff/").await;
    assert!(home.contains("id=\"locked-notice\""), "{}", home.text);
    let list = admin.get("/staff/users").await;
    assert!(list.contains("status-locked") && list.contains(&format!("/staff/users/{id}/unlock")), "{}", list.text);
    let res = admin.submit("/staff/users", &format!("/staff/users/{id}/unlock"), &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert!(!admin.get("/staff/").await.contains("id=\"locked-notice\""));
    assert!(has(&audit(&app, "auth.account_unlocked").await, "auth.account_unlocked", "ok", "\"was_locked\":true"));
    c.sign_in(&user).await;
    assert_eq!(c.get("/staff/").await.status, StatusCode::OK);

    // Locks double: ten failures in all lock for 30 minutes; the first lock ends by itself.
    let other = app.add_user(&[Role::Lawyer]).await;
    let c = app.client();
    for _ in 0..5 {
        c.submit("/staff/login", "/staff/login", &[("email", &other.email), ("password", "wrong")]).await;
    }
    app.clock.advance(TimeDelta::minutes(16));
    for _ in 0..5 {
        c.submit("/staff/login", "/staff/login", &[("email", &other.email), ("password", "wrong")]).await;
    }
    let oid = user_id(&app, &other.email).await;
    let t = haven_store::users::sign_in_throttle(&app.state.db, app.state.default_org, oid).await.unwrap();
    assert_eq!(t.failed_sign_ins, 10);
    assert_eq!(t.locked_until.unwrap(), haven_domain::Clock::now(app.clock.as_ref()) + TimeDelta::minutes(30));
});

conformance!(async fn wrong_second_factor_codes_count_too(backend) {
    let app = TestApp::spawn(backend).await;
    let (_, user) = app.signed_in(&[Role::Counsellor]).await;
    let c = app.client();
    password_step(&c, &user).await;
    let page = c.get("/staff/login/second-factor").await;
    for i in 0..5 {
        let res = c.post_form("/staff/login/second-factor", &[("csrf", &page.csrf()), ("code", &wrong_code(&user, &c))]).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    // The fifth locked the account and ended the half-finished sign-in.
    assert_eq!(c.get("/staff/login/second-factor").await.location(), "/staff/login");
    let again = app.client();
    let res = again.submit("/staff/login", "/staff/login", &[("email", &user.email), ("password", &user.password)]).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert!(!audit(&app, "auth.account_locked").await.is_empty());
});

conformance!(async fn an_address_with_many_failures_is_refused_for_a_while(backend) {
    let app = TestApp::spawn(backend).await;
    let user = app.add_user(&[Role::Counsellor]).await;
    let c = app.client();
    for i in 0..21 {
        let res = c.submit("/staff/login", "/staff/login", &[("email", &format!("guess{i}@example.org")), ("password", "guess")]).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    // Now even the right password is not checked.
    let res = c.submit("/staff/login?lang=en", "/staff/login", &[("email", &user.email), ("password", &user.password)]).await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(res.contains(&sr("error-too-many-title")), "{}", res.text);
    assert!(has(&audit(&app, "auth.sign_in").await, "auth.sign_in", "denied", "address_throttled"));
    app.clock.advance(TimeDelta::minutes(16));
    c.sign_in(&user).await;
    assert_eq!(c.get("/staff/").await.status, StatusCode::OK);
});

conformance!(async fn the_address_limit_is_a_setting(backend) {
    let app = TestApp::spawn_with(backend, |s| s.limits.failed_sign_ins_per_address = 3).await;
    let user = app.add_user(&[Role::Counsellor]).await;
    let c = app.client();
    for i in 0..4 {
        let res = c.submit("/staff/login", "/staff/login", &[("email", &format!("guess{i}@example.org")), ("password", "guess")]).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let res = c.submit("/staff/login", "/staff/login", &[("email", &user.email), ("password", &user.password)]).await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS, "refused after 3 + 1");
});

conformance!(async fn a_pending_secret_is_shown_to_one_sign_in_only(backend) {
    let app = TestApp::spawn(backend).await;
    let user = app.add_user(&[Role::Counsellor]).await;
    // Someone else who knows the password signs in first and looks at the enrolment page...
    let intruder = app.client();
    password_step(&intruder, &user).await;
    let seen = intruder.get("/staff/enrol").await;
    let seen_secret = seen.totp_secret().unwrap();
    // ...the person then gets a secret of their own, which the intruder never saw.
    let c = app.client();
    let res = password_step(&c, &user).await;
    let page = c.get("/staff/enrol").await;
    let own = page.totp_secret().unwrap();
    assert_ne!(own, seen_secret);
    assert_eq!(c.get("/staff/enrol").await.totp_secret().unwrap(), own, "a reload shows the same");
    // The intruder's secret no longer enrols anything.
    let intruder_user = TestUser::new(&user.email, &user.password);
    intruder_user.factor.lock().unwrap().secret = Some(seen_secret);
    let code = intruder.totp_code(&intruder_user).await;
    let tried = intruder.post_form("/staff/enrol", &[("csrf", &seen.csrf()), ("code", &code)]).await;
    assert_eq!(tried.location(), "/staff/enrol");
    assert_eq!(intruder.get("/staff/").await.status, StatusCode::SEE_OTHER);
    c.complete_second_factor(&user, &res).await;
    assert_eq!(user.totp_secret().unwrap(), own);
    assert_eq!(c.get("/staff/").await.status, StatusCode::OK);
});
