//! API tokens for scripts, over HTTP, on both backends.

// Stories written as async functions are tests too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::TimeDelta;
use haven_domain::Role;
use haven_store::audit::{self, AuditEntry, AuditFilter};
use haven_testkit::reqwest::StatusCode;
use haven_testkit::{Client, Page, TestApp, conformance};

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

/// Creates a token on the profile page and returns the page that shows it.
async fn create(c: &Client, fields: &[(&str, &str)]) -> Page {
    c.submit("/staff/profile", "/staff/profile/tokens", fields)
        .await
}

fn shown_token(p: &Page) -> String {
    let t = p
        .input_value("token")
        .unwrap_or_else(|| panic!("no token shown: {}", p.text));
    assert!(t.starts_with("hvn_") && t.len() == 47, "{t}");
    t
}

fn bearer(t: &str) -> String {
    format!("Bearer {t}")
}

/// A script: no cookies, only the token.
async fn api_get(app: &TestApp, path: &str, token: &str) -> Page {
    app.client()
        .get_with(path, &[("authorization", &bearer(token))])
        .await
}

async fn api_post(app: &TestApp, path: &str, token: &str, body: &str) -> Page {
    let res = haven_testkit::reqwest::Client::new()
        .post(format!("{}{path}", app.base))
        .header("authorization", bearer(token))
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    Page {
        status,
        headers,
        text: res.text().await.unwrap(),
    }
}

fn token_id(profile: &Page) -> String {
    profile
        .text
        .split("/staff/profile/tokens/")
        .nth(1)
        .and_then(|s| s.split('/').next())
        .unwrap_or_else(|| panic!("no token listed: {}", profile.text))
        .to_owned()
}

conformance!(async fn a_token_works_within_its_scopes(backend) {
    let app = TestApp::spawn(backend).await;
    let (c, _) = app.signed_in(&[Role::Counsellor]).await;
    let profile = c.get("/staff/profile").await;
    // Only the person's own permissions are offered.
    assert!(profile.contains("value=\"view_institutions\"") && profile.contains("value=\"use_staff_app\""));
    assert!(!profile.contains("value=\"manage_users\""));
    assert!(profile.contains("name=\"days\" value=\"90\""), "90 days by default");

    // Mistakes are explained next to the fields, and what was typed stays.
    let bad = create(&c, &[("name", ""), ("days", "400"), ("read_only", "1")]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.contains("id=\"token_name-error\"") && bad.contains("id=\"token_days-error\"") && bad.contains("id=\"token_scopes-error\""));
    assert!(bad.contains("value=\"400\"") && bad.contains("name=\"read_only\" value=\"1\" checked"));
    let beyond = create(&c, &[("name", "backup"), ("days", "30"), ("scope", "manage_users")]).await;
    assert_eq!(beyond.status, StatusCode::UNPROCESSABLE_ENTITY, "not the person's permission");
    assert!(beyond.contains("value=\"backup\""));

    let shown = create(&c, &[("name", "directory sync"), ("days", "30"), ("scope", "view_institutions")]).await;
    assert_eq!(shown.status, StatusCode::OK, "{}", shown.text);
    let token = shown_token(&shown);
    // Shown once; only its hash is stored.
    let profile = c.get("/staff/profile").await;
    assert!(!profile.contains(&token) && profile.contains("directory sync"));
    let stored = haven_store::api_tokens::by_hash(&app.state.db, &haven_crypto::tokens::token_hash(&token)).await.unwrap().unwrap();
    assert_eq!(stored.scopes, "view_institutions");
    assert!(stored.last_used_at.is_none());

    let res = api_get(&app, "/api/v1/institutions?kind=police", &token).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert!(!res.json().as_array().unwrap().is_empty());
    assert!(res.header("set-cookie").is_none(), "a script gets no cookie");
    let stored = haven_store::api_tokens::by_hash(&app.state.db, &haven_crypto::tokens::token_hash(&token)).await.unwrap().unwrap();
    assert!(stored.last_used_at.is_some(), "last use recorded");
    assert!(!c.get("/staff/profile").await.contains("Never"), "the list shows the last use");

    // Outside its scope: refused, and recorded.
    let me = api_get(&app, "/api/v1/me", &token).await;
    assert_eq!(me.status, StatusCode::FORBIDDEN);
    assert_eq!(me.header("content-type").as_deref(), Some("application/problem+json"));
    let log = audit(&app, "access.denied").await;
    assert!(log.iter().any(|e| e.actor_kind == "token" && e.details.contains("token_scope") && e.details.contains("use_staff_app")), "{log:?}");
    assert!(has(&audit(&app, "api_token.created").await, "api_token.created", "ok", "view_institutions"));
    let doc = app.client().get("/api/openapi.json").await.json();
    assert_eq!(doc["components"]["securitySchemes"]["api_token"]["scheme"], "bearer");
});

conformance!(async fn a_read_only_token_may_not_write(backend) {
    let app = TestApp::spawn(backend).await;
    let (c, _) = app.signed_in(&[Role::CaseWorker]).await;
    let ro = shown_token(&create(&c, &[("name", "reader"), ("days", "7"), ("scope", "use_staff_app"), ("read_only", "1")]).await);
    let rw = shown_token(&create(&c, &[("name", "writer"), ("days", "7"), ("scope", "use_staff_app")]).await);
    assert_eq!(api_get(&app, "/api/v1/me", &ro).await.status, StatusCode::OK);
    let refused = api_post(&app, "/api/v1/me/language", &ro, r#"{"language":"en"}"#).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(has(&audit(&app, "access.denied").await, "access.denied", "denied", "token_read_only"));
    // A token that may write needs no CSRF token: it carries no ambient credential.
    let done = api_post(&app, "/api/v1/me/language", &rw, r#"{"language":"en"}"#).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    assert_eq!(done.json()["language"], "en");
});

conformance!(async fn revoked_expired_and_unknown_tokens_get_401(backend) {
    let app = TestApp::spawn(backend).await;
    let (c, user) = app.signed_in(&[Role::Counsellor]).await;
    let token = shown_token(&create(&c, &[("name", "short"), ("days", "1"), ("scope", "use_staff_app")]).await);
    assert_eq!(api_get(&app, "/api/v1/me", &token).await.status, StatusCode::OK);

    // Unknown and malformed tokens.
    for bad in ["hvn_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "abc", ""] {
        let res = api_get(&app, "/api/v1/me", bad).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{bad}");
        assert_eq!(res.header("content-type").as_deref(), Some("application/problem+json"));
        assert!(res.header("www-authenticate").unwrap().starts_with("Bearer"));
    }
    // A bad token next to a good session cookie does not fall back to the session.
    assert_eq!(c.get("/api/v1/me").await.status, StatusCode::OK);
    let mixed = c.get_with("/api/v1/me", &[("authorization", "Bearer hvn_not-a-token")]).await;
    assert_eq!(mixed.status, StatusCode::UNAUTHORIZED);
    let basic = c.get_with("/api/v1/me", &[("authorization", "Basic YTpi")]).await;
    assert_eq!(basic.status, StatusCode::UNAUTHORIZED);

    // Expired.
    app.clock.advance(TimeDelta::hours(25));
    assert_eq!(api_get(&app, "/api/v1/me", &token).await.status, StatusCode::UNAUTHORIZED);

    // Revoked.
    let c = app.client();
    c.sign_in(&user).await;
    let token = shown_token(&create(&c, &[("name", "to revoke"), ("days", "30"), ("scope", "use_staff_app")]).await);
    assert_eq!(api_get(&app, "/api/v1/me", &token).await.status, StatusCode::OK);
    let profile = c.get("/staff/profile").await;
    let id = token_id(&profile);
    let res = c.post_form(&format!("/staff/profile/tokens/{id}/revoke"), &[("csrf", &profile.csrf())]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(api_get(&app, "/api/v1/me", &token).await.status, StatusCode::UNAUTHORIZED);

    let log = audit(&app, "auth.token_refused").await;
    for reason in ["unknown", "malformed", "not_bearer", "expired", "revoked"] {
        assert!(has(&log, "auth.token_refused", "denied", &format!("\"reason\":\"{reason}\"")), "{reason}: {log:?}");
    }
    assert!(has(&audit(&app, "api_token.revoked").await, "api_token.revoked", "ok", ""));
});

conformance!(async fn a_disabled_persons_tokens_stop_working(backend) {
    let app = TestApp::spawn(backend).await;
    let (admin, _) = app.admin().await;
    let (c, user) = app.signed_in(&[Role::Counsellor]).await;
    let token = shown_token(&create(&c, &[("name", "script"), ("days", "30"), ("scope", "use_staff_app")]).await);
    assert_eq!(api_get(&app, "/api/v1/me", &token).await.status, StatusCode::OK);
    let id = haven_store::users::by_email(&app.state.db, app.state.default_org, &user.email).await.unwrap().unwrap().user.id;
    let res = admin.submit(&format!("/staff/users/{id}"), &format!("/staff/users/{id}/disable"), &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(api_get(&app, "/api/v1/me", &token).await.status, StatusCode::UNAUTHORIZED);
    assert!(has(&audit(&app, "auth.token_refused").await, "auth.token_refused", "denied", "account_disabled"));
});

conformance!(async fn only_its_owner_can_revoke_a_token(backend) {
    let app = TestApp::spawn(backend).await;
    let (owner, _) = app.signed_in(&[Role::Counsellor]).await;
    let token = shown_token(&create(&owner, &[("name", "mine"), ("days", "30"), ("scope", "use_staff_app")]).await);
    let id = token_id(&owner.get("/staff/profile").await);
    let (other, _) = app.signed_in(&[Role::Admin]).await;
    let page = other.get("/staff/profile").await;
    let res = other.post_form(&format!("/staff/profile/tokens/{id}/revoke"), &[("csrf", &page.csrf())]).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert_eq!(api_get(&app, "/api/v1/me", &token).await.status, StatusCode::OK, "still works");
    assert!(has(&audit(&app, "api_token.revoked").await, "api_token.revoked", "denied", "not_own"));
    // Nor can a script revoke it: token routes are for the signed-in owner only.
    let res = haven_testkit::reqwest::Client::new()
        .post(format!("{}/staff/profile/tokens/{id}/revoke", app.base))
        .header("authorization", bearer(&token))
        .send()
        .await
        .unwrap();
    assert_ne!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(api_get(&app, "/api/v1/me", &token).await.status, StatusCode::OK);
});
