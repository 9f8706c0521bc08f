//! The foundation as a user meets it, over HTTP, on both backends.

// Stories written as async functions are tests too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::TimeDelta;
use haven_domain::Role;
use haven_testkit::reqwest::StatusCode;
use haven_testkit::{TestApp, conformance};

conformance!(async fn setup_link_creates_the_first_admin_once(backend) {
    let app = TestApp::spawn(backend).await;
    let path = app.setup_path();
    let visitor = app.client();
    let page = visitor.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.contains("name=\"display_name\""));

    // A bad submission keeps what was typed (never the password) and says what to fix.
    let bad = visitor
        .post_form(&path, &[("csrf", &page.csrf()), ("display_name", "Ana K."), ("email", "not-an-address"), ("password", "short"), ("password_again", "short")])
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.contains("value=\"Ana K.\""), "name kept");
    assert!(bad.contains("value=\"not-an-address\""), "e-mail kept");
    assert!(!bad.contains("value=\"short\""), "password never shown back");
    assert!(bad.contains("id=\"email-error\"") && bad.contains("id=\"password-error\""));

    let (admin, _) = app.admin().await;
    let home = admin.get("/staff/").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.contains("Admin Test"));

    // The link is refused afterwards, with a clear page.
    let again = app.client().get(&path).await;
    assert_eq!(again.status, StatusCode::GONE);
    assert!(again.contains("već iskorišćen") || again.contains("already been used"), "{}", again.text);
    let reuse = app.client().post_form(&path, &[("csrf", "x")]).await;
    assert!(reuse.status == StatusCode::FORBIDDEN || reuse.status == StatusCode::GONE);
});

conformance!(async fn setup_link_expires(backend) {
    let app = TestApp::spawn(backend).await;
    app.clock.advance(TimeDelta::hours(25));
    let page = app.client().get_with(&app.setup_path(), &[("accept-language", "en")]).await;
    assert_eq!(page.status, StatusCode::GONE);
    assert!(page.contains("expired"), "{}", page.text);
    let unknown = app.client().get_with("/staff/link/not-a-real-token", &[("accept-language", "en")]).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert!(unknown.contains("not valid"));
});

conformance!(async fn sign_in_and_out(backend) {
    let app = TestApp::spawn(backend).await;
    let user = app.add_user(&[Role::Counsellor]).await;
    let c = app.client();
    // Anonymous visitors are sent to sign in, with the way back.
    let res = c.get("/staff/profile").await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(res.location(), "/staff/login?next=%2Fstaff%2Fprofile");

    // A wrong password and an unknown account get the same message.
    let wrong = c.submit("/staff/login?lang=en", "/staff/login", &[("email", &user.email), ("password", "not the password")]).await;
    let unknown = c.submit("/staff/login?lang=en", "/staff/login", &[("email", "nobody@example.org"), ("password", "not the password")]).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    let msg = |p: &haven_testkit::Page| p.text.split("role=\"alert\"").nth(1).unwrap_or("").split("</div>").next().unwrap_or("").replace(&user.email, "").replace("nobody@example.org", "");
    assert_eq!(msg(&wrong), msg(&unknown));
    assert!(wrong.contains(&format!("value=\"{}\"", user.email)), "e-mail kept");

    let res = c
        .submit("/staff/login", "/staff/login", &[("email", &user.email), ("password", &user.password), ("next", "/staff/profile")])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    // The password leads to the second factor (here its enrolment), carrying the way back.
    assert_eq!(res.location(), "/staff/enrol?next=%2Fstaff%2Fprofile");
    let cookie = res.headers.get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).find(|v| v.starts_with("haven_session=")).unwrap();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.contains("Path=/"), "{cookie}");
    assert_eq!(c.get("/staff/profile").await.status, StatusCode::SEE_OTHER, "not in before the second factor");
    let done = c.complete_second_factor(&user, &res).await;
    assert_eq!(done.next_target(), "/staff/profile");
    assert_eq!(c.get("/staff/profile").await.status, StatusCode::OK);

    // An open redirect is not possible through `next`.
    let c2 = app.client();
    let res = c2.submit("/staff/login", "/staff/login", &[("email", &user.email), ("password", &user.password), ("next", "https://evil.example/")]).await;
    assert_eq!(res.location(), "/staff/login/second-factor");
    assert_eq!(c2.complete_second_factor(&user, &res).await.location(), "/staff/");

    let csrf = c.get("/staff/profile").await.csrf();
    let out = c.post_form("/staff/logout", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert!(out.header("clear-site-data").unwrap().contains("cookies"));
    assert_eq!(c.get("/staff/profile").await.status, StatusCode::SEE_OTHER, "signed out");
});

conformance!(async fn sessions_time_out(backend) {
    let app = TestApp::spawn(backend).await;
    let (c, _) = app.signed_in(&[Role::Counsellor]).await;
    assert_eq!(c.get("/staff/").await.status, StatusCode::OK);
    // Active use keeps the session alive within the absolute lifetime...
    for _ in 0..4 {
        app.clock.advance(TimeDelta::minutes(25));
        assert_eq!(c.get("/staff/").await.status, StatusCode::OK);
    }
    // ...and 31 idle minutes end it.
    app.clock.advance(TimeDelta::minutes(31));
    assert_eq!(c.get("/staff/").await.status, StatusCode::SEE_OTHER);

    let (c, _) = app.signed_in(&[Role::Counsellor]).await;
    for _ in 0..(12 * 60 / 20) {
        app.clock.advance(TimeDelta::minutes(20));
        let _ = c.get("/staff/").await;
    }
    assert_eq!(c.get("/staff/").await.status, StatusCode::SEE_OTHER, "absolute lifetime of 12 hours");
});

conformance!(async fn state_changes_need_a_csrf_token_from_this_site(backend) {
    let app = TestApp::spawn(backend).await;
    let (c, _) = app.signed_in(&[Role::Counsellor]).await;
    let csrf = c.get("/staff/profile").await.csrf();
    let missing = c.post_form("/staff/profile/language", &[("language", "en")]).await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    assert!(missing.contains("form"), "a clear page: {}", missing.text);
    let forged = c.post_form("/staff/profile/language", &[("csrf", "AAAA"), ("language", "en")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    // Another person's valid token does not work either.
    let (other, _) = app.signed_in(&[Role::Counsellor]).await;
    let other_csrf = other.get("/staff/profile").await.csrf();
    let foreign = c.post_form("/staff/profile/language", &[("csrf", &other_csrf), ("language", "en")]).await;
    assert_eq!(foreign.status, StatusCode::FORBIDDEN);
    // The right token from another site is refused.
    let cross = c
        .post_form_with("/staff/profile/language", &[("csrf", &csrf), ("language", "en")], &[("origin", "https://evil.example"), ("sec-fetch-site", "cross-site")])
        .await;
    assert_eq!(cross.status, StatusCode::FORBIDDEN);
    let ok = c.post_form("/staff/profile/language", &[("csrf", &csrf), ("language", "en"), ("next", "/staff/profile")]).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    assert!(c.get("/staff/profile").await.contains("My account"));
});

conformance!(async fn every_response_carries_the_security_headers(backend) {
    let app = TestApp::spawn(backend).await;
    let (c, _) = app.signed_in(&[Role::Admin]).await;
    for path in ["/staff/", "/staff/login", "/healthz", "/static/haven.css", "/no/such/page", "/api/v1/me", "/api/openapi.json"] {
        let res = c.get(path).await;
        let csp = res.header("content-security-policy").unwrap_or_default();
        assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"), "{path}: {csp}");
        assert_eq!(res.header("x-content-type-options").as_deref(), Some("nosniff"), "{path}");
        assert_eq!(res.header("referrer-policy").as_deref(), Some("no-referrer"), "{path}");
        assert!(res.header("x-request-id").is_some(), "{path}");
    }
    assert_eq!(c.get("/staff/").await.header("cache-control").as_deref(), Some("no-store"));
    assert!(c.get("/static/haven.css").await.header("cache-control").unwrap().contains("public"));
});

conformance!(async fn errors_show_nothing_internal(backend) {
    let app = TestApp::spawn(backend).await;
    let c = app.client();
    let page = c.get_with("/no/such/page", &[("accept-language", "en")]).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.contains("Page not found"));
    let api = c.get("/api/v1/nothing").await;
    assert_eq!(api.status, StatusCode::NOT_FOUND);
    assert_eq!(api.header("content-type").as_deref(), Some("application/problem+json"));
    assert_eq!(api.json()["status"], 404);
    // Unauthenticated API calls get 401 problem+json, never a redirect.
    let me = c.get("/api/v1/me").await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);
    assert_eq!(me.header("content-type").as_deref(), Some("application/problem+json"));
});

conformance!(async fn health_readiness_and_metrics(backend) {
    let app = TestApp::spawn(backend).await;
    let c = app.client();
    assert_eq!(c.get("/healthz").await.text, "ok\n");
    let ready = c.get("/readyz").await;
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.text);
    let metrics = c.get("/metrics").await;
    assert!(metrics.header("content-type").unwrap().starts_with("text/plain"));
    assert!(metrics.contains("haven_http_requests_total"), "{}", metrics.text);
    assert!(metrics.contains("route=\"/readyz\""));
});

conformance!(async fn three_languages(backend) {
    let app = TestApp::spawn(backend).await;
    let c = app.client();
    assert!(c.get("/staff/login?lang=sr-latn").await.contains(">Prijava<"));
    let cyr = c.get("/staff/login?lang=sr-cyrl").await;
    assert!(cyr.contains(">Пријава<") && cyr.contains("lang=\"sr-Cyrl\""), "{}", cyr.text);
    assert!(c.get("/staff/login?lang=en").await.contains(">Sign in<"));
    assert!(c.get_with("/staff/login", &[("accept-language", "en-GB,en;q=0.9")]).await.contains(">Sign in<"));
    // A signed-in person's own choice wins and lasts.
    let (s, _) = app.signed_in(&[Role::Counsellor]).await;
    let csrf = s.get("/staff/").await.csrf();
    s.post_form("/staff/profile/language", &[("csrf", &csrf), ("language", "sr-cyrl"), ("next", "/staff/")]).await;
    assert!(s.get("/staff/").await.contains("Почетна"));
});

conformance!(async fn admins_invite_colleagues_who_choose_a_password(backend) {
    let app = TestApp::spawn(backend).await;
    let (admin, _) = app.admin().await;
    // Invalid input is explained and kept.
    let bad = admin.submit("/staff/users/new", "/staff/users/new", &[("display_name", "Marko S."), ("email", "marko"), ("language", "sr-latn")]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.contains("value=\"Marko S.\"") && bad.contains("id=\"roles-error\""));

    let created = admin
        .submit("/staff/users/new", "/staff/users/new", &[("display_name", "Marko S."), ("email", "marko@example.org"), ("language", "en"), ("role", "counsellor"), ("role", "case_worker")])
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text);
    let link = created.input_value("link").expect("invitation link shown");
    assert!(link.starts_with(&app.base));
    let dup = admin
        .submit("/staff/users/new", "/staff/users/new", &[("display_name", "Marko 2"), ("email", "MARKO@example.org"), ("language", "en"), ("role", "counsellor")])
        .await;
    assert!(dup.contains("id=\"email-error\""), "duplicate address refused");

    let marko = app.client();
    let path = link.trim_start_matches(&app.base).to_owned();
    let form = marko.get(&path).await;
    assert!(form.contains("marko@example.org"));
    let weak = marko.post_form(&path, &[("csrf", &form.csrf()), ("password", "password1234"), ("password_again", "password1234")]).await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    let res = marko.post_form(&path, &[("csrf", &form.csrf()), ("password", "Vetar-Nosi-Lisce-1987"), ("password_again", "Vetar-Nosi-Lisce-1987")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    // The invitation sets the password; the second factor is set up before anything else.
    assert_eq!(res.location(), "/staff/enrol");
    assert_eq!(marko.get("/staff/").await.status, StatusCode::SEE_OTHER);
    let marko_user = haven_testkit::TestUser::new("marko@example.org", "Vetar-Nosi-Lisce-1987");
    marko.complete_second_factor(&marko_user, &res).await;
    assert_eq!(marko.get("/staff/").await.status, StatusCode::OK);
    // A counsellor may not manage staff.
    assert_eq!(marko.get("/staff/users").await.status, StatusCode::FORBIDDEN);
    let roles = marko.get("/api/v1/me").await.json()["roles"].clone();
    assert_eq!(roles, serde_json::json!(["counsellor", "case_worker"]));

    // Disabling ends the person's sessions at once.
    let list = admin.get("/staff/users").await;
    let id = list.text.split("/staff/users/").filter_map(|s| s.split('"').next()).find(|s| s.len() == 36 && list.text.contains(&format!("/staff/users/{s}\">Marko S."))).unwrap_or_else(|| panic!("{}", list.text)).to_owned();
    let res = admin.submit(&format!("/staff/users/{id}"), &format!("/staff/users/{id}/disable"), &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(marko.get("/staff/").await.status, StatusCode::SEE_OTHER);
    let again = app.client().submit("/staff/login", "/staff/login", &[("email", "marko@example.org"), ("password", "Vetar-Nosi-Lisce-1987")]).await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED);
});

conformance!(async fn the_last_admin_cannot_be_removed(backend) {
    let app = TestApp::spawn(backend).await;
    let (admin, _) = app.admin().await;
    let me = admin.get("/api/v1/me").await.json();
    let id = me["id"].as_str().unwrap().to_owned();
    let res = admin.submit(&format!("/staff/users/{id}"), &format!("/staff/users/{id}/roles"), &[("role", "counsellor")]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.contains("id=\"roles-error\""));
    let res = admin.submit(&format!("/staff/users/{id}"), &format!("/staff/users/{id}/disable"), &[]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
});

conformance!(async fn password_change_ends_other_sessions(backend) {
    let app = TestApp::spawn(backend).await;
    let user = app.add_user(&[Role::CaseWorker]).await;
    let laptop = app.client();
    laptop.sign_in(&user).await;
    let phone = app.client();
    phone.sign_in(&user).await;
    let wrong = laptop
        .submit("/staff/profile", "/staff/profile/password", &[("current_password", "nope"), ("password", "Nova-Lozinka-Za-Rad-9"), ("password_again", "Nova-Lozinka-Za-Rad-9")])
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    let ok = laptop
        .submit("/staff/profile", "/staff/profile/password", &[("current_password", &user.password), ("password", "Nova-Lozinka-Za-Rad-9"), ("password_again", "Nova-Lozinka-Za-Rad-9")])
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    assert_eq!(laptop.get("/staff/").await.status, StatusCode::OK, "this session stays");
    assert_eq!(phone.get("/staff/").await.status, StatusCode::SEE_OTHER, "the other one ended");
});

conformance!(async fn institutions_directory_searches_both_scripts(backend) {
    let app = TestApp::spawn(backend).await;
    let (c, _) = app.signed_in(&[Role::Counsellor]).await;
    let page = c.get("/staff/institutions?q=%D1%82%D1%83%D0%B6%D0%B8%D0%BB%D0%B0%D1%88%D1%82%D0%B2%D0%BE").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.contains("Public Prosecutor") || page.contains("javno tužilaštvo"), "{}", page.text);
    let api = c.get("/api/v1/institutions?kind=police").await.json();
    assert!(api.as_array().unwrap().iter().all(|i| i["kind"] == "police"));
    let (analyst, _) = app.signed_in(&[Role::Analyst]).await;
    assert_eq!(analyst.get("/staff/institutions").await.status, StatusCode::FORBIDDEN);
});

conformance!(async fn openapi_describes_the_api(backend) {
    let app = TestApp::spawn(backend).await;
    let doc = app.client().get("/api/openapi.json").await.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for route in haven_web::routes::specs() {
        if route.path.starts_with("/api/v1/") {
            assert!(doc["paths"][route.path].is_object(), "{} is not documented", route.path);
        }
    }
});

// Found by schemathesis (bench/attack/schemathesis): query filters documented as required path
// parameters, refusals and unreadable bodies missing from the document, and the extractors' own
// refusals answered as plain text instead of problems.
conformance!(async fn openapi_documents_parameters_and_errors(backend) {
    let app = TestApp::spawn(backend).await;
    let doc = app.client().get("/api/openapi.json").await.json();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let params = op["parameters"].as_array().cloned().unwrap_or_default();
            for p in &params {
                let name = p["name"].as_str().unwrap();
                let in_path = path.contains(&format!("{{{name}}}"));
                assert_eq!(p["in"] == "path", in_path, "{method} {path}: parameter {name} is in {}", p["in"]);
            }
            let mut expected = vec!["400", "401", "403"];
            if op.get("requestBody").is_some() {
                expected.extend(["415", "422"]);
            }
            if params.iter().any(|p| p["in"] == "path") {
                expected.push("404");
            }
            for status in expected {
                assert!(op["responses"][status].is_object(), "{method} {path} does not document {status}");
            }
        }
    }
    assert_eq!(doc["paths"]["/api/v1/institutions"]["get"]["parameters"][0]["in"], "query");

    let (c, _) = app.signed_in(&[Role::Counsellor]).await;
    let csrf = c.get("/staff/").await.csrf();
    let h = [("x-csrf-token", csrf.as_str())];
    let res = c.post_json("/api/v1/me/language", &serde_json::json!([]), &h).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(res.header("content-type").as_deref(), Some("application/problem+json"));
    assert_eq!(res.json()["status"], 422);
    let res = c.get("/api/v1/cases?mine=perhaps").await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert_eq!(res.header("content-type").as_deref(), Some("application/problem+json"));
});
