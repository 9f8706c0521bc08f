//! The authorisation table: every route of the application, checked for every role, for an
//! anonymous visitor and for a member of another organisation.
//!
//! The expectations are written out here, by hand, independently of the policy module: a new
//! route fails `every_route_has_an_expectation` until someone decides who may use it, and a
//! change of the policy fails `every_route_for_everyone` until this table is changed with it.

// Stories written as async functions are tests too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;

use haven_domain::Role;
use haven_testkit::reqwest::StatusCode;
use haven_testkit::{Client, TestApp, conformance};
use haven_web::auth::Access;

/// Who may use a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    /// Anyone, without signing in.
    Public,
    /// The sign-in pages and one-time links: anyone.
    SignIn,
    /// Only someone half-way through signing in.
    SecondFactor,
    /// Signed-in staff holding one of these roles.
    Roles(&'static [Role]),
}

const ALL: &[Role] = &Role::ALL;
const ADMIN: &[Role] = &[Role::Admin];
const AUDIT: &[Role] = &[Role::Admin, Role::Supervisor];
const DIRECTORY: &[Role] = &[
    Role::Admin,
    Role::Supervisor,
    Role::Counsellor,
    Role::CaseWorker,
    Role::Lawyer,
];

const CASES: &[Role] = &[
    Role::Admin,
    Role::Supervisor,
    Role::Counsellor,
    Role::CaseWorker,
    Role::Lawyer,
];
const SUPERVISOR: &[Role] = &[Role::Supervisor];
const LEGAL: &[Role] = &[Role::Admin, Role::Supervisor, Role::Lawyer];
const FIGURES: &[Role] = &[Role::Admin, Role::Supervisor, Role::Lawyer, Role::Analyst];
const DESK: &[Role] = &[
    Role::Admin,
    Role::Supervisor,
    Role::Counsellor,
    Role::CaseWorker,
];

const EXPECTED: &[(&str, &str, Who)] = &[
    ("GET", "/", Who::Public),
    ("GET", "/healthz", Who::Public),
    ("GET", "/readyz", Who::Public),
    ("GET", "/metrics", Who::Public),
    ("GET", "/static/{file}", Who::Public),
    ("GET", "/api/openapi.json", Who::Public),
    ("GET", "/staff/link/{token}", Who::SignIn),
    ("POST", "/staff/link/{token}", Who::SignIn),
    ("GET", "/staff/login", Who::SignIn),
    ("POST", "/staff/login", Who::SignIn),
    ("POST", "/staff/logout", Who::SignIn),
    ("GET", "/staff/enrol", Who::SecondFactor),
    ("POST", "/staff/enrol", Who::SecondFactor),
    ("GET", "/staff/login/second-factor", Who::SecondFactor),
    ("POST", "/staff/login/second-factor", Who::SecondFactor),
    ("GET", "/staff/", Who::Roles(ALL)),
    ("GET", "/staff/profile", Who::Roles(ALL)),
    ("POST", "/staff/profile/language", Who::Roles(ALL)),
    ("POST", "/staff/profile/password", Who::Roles(ALL)),
    ("POST", "/staff/profile/recovery-codes", Who::Roles(ALL)),
    ("POST", "/staff/profile/tokens", Who::Roles(ALL)),
    ("POST", "/staff/profile/tokens/{id}/revoke", Who::Roles(ALL)),
    ("POST", "/staff/profile/sessions/{sid}/end", Who::Roles(ALL)),
    ("GET", "/staff/users", Who::Roles(ADMIN)),
    ("GET", "/staff/users/new", Who::Roles(ADMIN)),
    ("POST", "/staff/users/new", Who::Roles(ADMIN)),
    ("GET", "/staff/users/{id}", Who::Roles(ADMIN)),
    ("POST", "/staff/users/{id}/roles", Who::Roles(ADMIN)),
    ("POST", "/staff/users/{id}/disable", Who::Roles(ADMIN)),
    ("POST", "/staff/users/{id}/enable", Who::Roles(ADMIN)),
    (
        "POST",
        "/staff/users/{id}/reset-password",
        Who::Roles(ADMIN),
    ),
    (
        "POST",
        "/staff/users/{id}/reset-second-factor",
        Who::Roles(ADMIN),
    ),
    ("POST", "/staff/users/{id}/unlock", Who::Roles(ADMIN)),
    (
        "POST",
        "/staff/users/{id}/sessions/{sid}/end",
        Who::Roles(ADMIN),
    ),
    ("GET", "/staff/audit", Who::Roles(AUDIT)),
    ("POST", "/staff/audit/verify", Who::Roles(AUDIT)),
    ("GET", "/staff/institutions", Who::Roles(DIRECTORY)),
    ("GET", "/staff/cases", Who::Roles(CASES)),
    ("GET", "/staff/cases/new", Who::Roles(CASES)),
    ("POST", "/staff/cases/new", Who::Roles(CASES)),
    ("POST", "/staff/cases/from-contact", Who::Roles(CASES)),
    ("POST", "/staff/cases/link-contact", Who::Roles(CASES)),
    ("GET", "/staff/cases/{id}", Who::Roles(CASES)),
    ("POST", "/staff/cases/{id}/details", Who::Roles(CASES)),
    ("POST", "/staff/cases/{id}/team", Who::Roles(CASES)),
    ("POST", "/staff/cases/{id}/status", Who::Roles(CASES)),
    (
        "POST",
        "/staff/cases/{id}/closure/approve",
        Who::Roles(SUPERVISOR),
    ),
    (
        "POST",
        "/staff/cases/{id}/closure/reject",
        Who::Roles(SUPERVISOR),
    ),
    ("POST", "/staff/cases/{id}/notes", Who::Roles(CASES)),
    ("POST", "/staff/cases/{id}/people", Who::Roles(CASES)),
    (
        "POST",
        "/staff/cases/{id}/people/{pid}/remove",
        Who::Roles(CASES),
    ),
    ("POST", "/staff/cases/{id}/services", Who::Roles(CASES)),
    (
        "POST",
        "/staff/cases/{id}/services/{sid}",
        Who::Roles(CASES),
    ),
    ("POST", "/staff/cases/{id}/tasks", Who::Roles(CASES)),
    (
        "POST",
        "/staff/cases/{id}/tasks/{tid}/done",
        Who::Roles(CASES),
    ),
    ("POST", "/staff/cases/{id}/documents", Who::Roles(CASES)),
    (
        "GET",
        "/staff/cases/{id}/documents/{did}",
        Who::Roles(CASES),
    ),
    ("POST", "/staff/cases/{id}/consents", Who::Roles(CASES)),
    ("POST", "/staff/cases/{id}/contacts", Who::Roles(CASES)),
    ("GET", "/staff/cases/{id}/break-glass", Who::Roles(CASES)),
    ("POST", "/staff/cases/{id}/break-glass", Who::Roles(CASES)),
    ("GET", "/staff/break-glass", Who::Roles(AUDIT)),
    ("GET", "/staff/people/{id}", Who::Roles(CASES)),
    ("POST", "/staff/people/{id}", Who::Roles(CASES)),
    ("POST", "/staff/people/{id}/merge", Who::Roles(CASES)),
    ("GET", "/api/v1/me", Who::Roles(ALL)),
    ("POST", "/api/v1/me/language", Who::Roles(ALL)),
    ("GET", "/api/v1/institutions", Who::Roles(DIRECTORY)),
    ("GET", "/api/v1/cases", Who::Roles(CASES)),
    ("GET", "/api/v1/cases/{id}", Who::Roles(CASES)),
    ("GET", "/staff/proceedings", Who::Roles(CASES)),
    ("GET", "/staff/proceedings/new", Who::Roles(LEGAL)),
    ("POST", "/staff/proceedings/new", Who::Roles(LEGAL)),
    ("GET", "/staff/proceedings/{id}", Who::Roles(CASES)),
    ("POST", "/staff/proceedings/{id}/numbers", Who::Roles(LEGAL)),
    ("POST", "/staff/proceedings/{id}/cases", Who::Roles(LEGAL)),
    (
        "POST",
        "/staff/proceedings/{id}/defendants",
        Who::Roles(LEGAL),
    ),
    ("POST", "/staff/proceedings/{id}/charges", Who::Roles(LEGAL)),
    ("POST", "/staff/proceedings/{id}/events", Who::Roles(LEGAL)),
    ("POST", "/staff/proceedings/{id}/claims", Who::Roles(LEGAL)),
    (
        "POST",
        "/staff/proceedings/{id}/claims/decision",
        Who::Roles(LEGAL),
    ),
    ("POST", "/staff/proceedings/{id}/awards", Who::Roles(LEGAL)),
    (
        "POST",
        "/staff/proceedings/{id}/payments",
        Who::Roles(LEGAL),
    ),
    (
        "POST",
        "/staff/proceedings/{id}/enforcement",
        Who::Roles(LEGAL),
    ),
    ("POST", "/staff/proceedings/{id}/fund", Who::Roles(LEGAL)),
    ("POST", "/staff/court/offences", Who::Roles(LEGAL)),
    ("GET", "/staff/court/figures", Who::Roles(FIGURES)),
    ("GET", "/staff/court/figures.csv", Who::Roles(FIGURES)),
    ("GET", "/staff/court/figures/proceedings", Who::Roles(CASES)),
    ("GET", "/api/v1/proceedings", Who::Roles(CASES)),
    ("GET", "/api/v1/court/figures", Who::Roles(FIGURES)),
    ("GET", "/staff/desk", Who::Roles(DESK)),
    ("POST", "/staff/desk/handover", Who::Roles(DESK)),
    ("GET", "/staff/desk/new", Who::Roles(DESK)),
    ("POST", "/staff/desk/new", Who::Roles(DESK)),
    ("POST", "/staff/desk/draft", Who::Roles(DESK)),
    ("POST", "/staff/desk/lookup", Who::Roles(DESK)),
    ("GET", "/staff/desk/contacts", Who::Roles(DESK)),
    ("POST", "/staff/desk/search", Who::Roles(DESK)),
    ("POST", "/staff/desk/export", Who::Roles(SUPERVISOR)),
    ("GET", "/staff/desk/contacts/{id}", Who::Roles(DESK)),
    ("GET", "/staff/desk/contacts/{id}/edit", Who::Roles(DESK)),
    ("POST", "/staff/desk/contacts/{id}", Who::Roles(DESK)),
    ("POST", "/staff/desk/contacts/{id}/void", Who::Roles(DESK)),
    ("POST", "/staff/desk/contacts/{id}/checks", Who::Roles(DESK)),
    ("POST", "/staff/desk/contacts/{id}/flags", Who::Roles(DESK)),
    ("POST", "/staff/desk/contacts/{id}/tasks", Who::Roles(DESK)),
    (
        "POST",
        "/staff/desk/contacts/{id}/tasks/{tid}/done",
        Who::Roles(DESK),
    ),
    ("POST", "/staff/desk/contacts/{id}/assign", Who::Roles(DESK)),
    ("POST", "/staff/desk/contacts/{id}/person", Who::Roles(DESK)),
    ("POST", "/api/v1/contacts", Who::Roles(DESK)),
    ("POST", "/api/v1/contacts/search", Who::Roles(DESK)),
    ("GET", "/api/v1/contacts/{id}", Who::Roles(DESK)),
    ("POST", "/api/v1/contacts/{id}", Who::Roles(DESK)),
    ("POST", "/api/v1/contacts/{id}/void", Who::Roles(DESK)),
    ("GET", "/staff/notifications", Who::Roles(CASES)),
    ("GET", "/staff/notifications/new", Who::Roles(CASES)),
    ("POST", "/staff/notifications/new", Who::Roles(CASES)),
    ("GET", "/staff/notifications/{id}", Who::Roles(CASES)),
    (
        "GET",
        "/staff/notifications/{id}/letter.pdf",
        Who::Roles(CASES),
    ),
    (
        "POST",
        "/staff/notifications/{id}/submit",
        Who::Roles(CASES),
    ),
    (
        "POST",
        "/staff/notifications/{id}/approve",
        Who::Roles(SUPERVISOR),
    ),
    (
        "POST",
        "/staff/notifications/{id}/reject",
        Who::Roles(SUPERVISOR),
    ),
    ("POST", "/staff/notifications/{id}/send", Who::Roles(CASES)),
    (
        "POST",
        "/staff/notifications/{id}/outcome",
        Who::Roles(CASES),
    ),
    ("GET", "/staff/letter-templates", Who::Roles(SUPERVISOR)),
    ("POST", "/staff/letter-templates", Who::Roles(SUPERVISOR)),
    ("GET", "/staff/institutions/import", Who::Roles(AUDIT)),
    ("POST", "/staff/institutions/import", Who::Roles(AUDIT)),
    ("GET", "/staff/institutions/{id}", Who::Roles(AUDIT)),
    ("POST", "/staff/institutions/{id}", Who::Roles(AUDIT)),
    ("GET", "/reply/{token}", Who::Public),
    ("POST", "/reply/{token}", Who::Public),
    ("GET", "/exit", Who::Public),
    ("GET", "/{lang}", Who::Public),
    ("GET", "/{lang}/page/{slug}", Who::Public),
    ("GET", "/{lang}/send/{kind}", Who::Public),
    ("POST", "/{lang}/send/{kind}", Who::Public),
    ("GET", "/{lang}/self-check", Who::Public),
    ("POST", "/{lang}/self-check", Who::Public),
    ("GET", "/{lang}/follow-up", Who::Public),
    ("POST", "/{lang}/follow-up", Who::Public),
    (
        "POST",
        "/staff/desk/contacts/{id}/portal-answer",
        Who::Roles(DESK),
    ),
    (
        "GET",
        "/staff/desk/contacts/{id}/portal-files/{fid}",
        Who::Roles(DESK),
    ),
    ("GET", "/staff/portal", Who::Roles(PORTAL)),
    ("GET", "/{lang}/news", Who::Public),
    ("GET", "/{lang}/news.atom", Who::Public),
    ("GET", "/staff/portal/new", Who::Roles(PORTAL)),
    (
        "GET",
        "/staff/portal/pages/{slug}/{lang}",
        Who::Roles(PORTAL),
    ),
    (
        "POST",
        "/staff/portal/pages/{slug}/{lang}",
        Who::Roles(PORTAL),
    ),
    (
        "GET",
        "/staff/proceedings/{id}/corrections/{kind}/{tid}",
        Who::Roles(LEGAL),
    ),
    (
        "POST",
        "/staff/proceedings/{id}/corrections/{kind}/{tid}",
        Who::Roles(LEGAL),
    ),
    (
        "POST",
        "/staff/proceedings/{id}/withdrawals/{kind}/{tid}",
        Who::Roles(LEGAL),
    ),
    ("GET", "/staff/agencies", Who::Roles(CASES)),
    ("POST", "/staff/agencies/search", Who::Roles(CASES)),
    ("GET", "/staff/agencies/new", Who::Roles(DESK)),
    ("POST", "/staff/agencies/new", Who::Roles(DESK)),
    ("GET", "/staff/agencies/reports/new", Who::Roles(DESK)),
    ("POST", "/staff/agencies/reports", Who::Roles(DESK)),
    ("GET", "/staff/agencies/{id}", Who::Roles(CASES)),
    ("GET", "/staff/agencies/{id}/edit", Who::Roles(DESK)),
    ("POST", "/staff/agencies/{id}/edit", Who::Roles(DESK)),
    ("POST", "/staff/agencies/{id}/aliases", Who::Roles(DESK)),
    (
        "POST",
        "/staff/agencies/{id}/aliases/{did}/remove",
        Who::Roles(DESK),
    ),
    ("POST", "/staff/agencies/{id}/channels", Who::Roles(DESK)),
    (
        "POST",
        "/staff/agencies/{id}/channels/{did}/remove",
        Who::Roles(DESK),
    ),
    ("POST", "/staff/agencies/{id}/actions", Who::Roles(DESK)),
    ("POST", "/staff/agencies/{id}/warning", Who::Roles(AUDIT)),
    (
        "POST",
        "/staff/agencies/{id}/reports/{rid}/screenshot",
        Who::Roles(DESK),
    ),
    (
        "GET",
        "/staff/agencies/{id}/screenshots/{fid}",
        Who::Roles(CASES),
    ),
    ("GET", "/api/v1/agencies", Who::Roles(CASES)),
    ("POST", "/api/v1/agencies", Who::Roles(DESK)),
    ("POST", "/api/v1/agencies/search", Who::Roles(CASES)),
    ("GET", "/api/v1/agencies/{id}", Who::Roles(CASES)),
    ("POST", "/api/v1/agencies/{id}/reports", Who::Roles(DESK)),
    ("GET", "/{lang}/agency-check", Who::Public),
    ("POST", "/{lang}/agency-check", Who::Public),
    ("GET", "/staff/agencies/register", Who::Roles(REGISTER)),
    ("POST", "/staff/agencies/register", Who::Roles(REGISTER)),
    (
        "GET",
        "/staff/agencies/register/imports/{id}",
        Who::Roles(REGISTER),
    ),
    (
        "POST",
        "/staff/agencies/register/imports/{id}/mapping",
        Who::Roles(REGISTER),
    ),
    (
        "POST",
        "/staff/agencies/register/imports/{id}/confirm",
        Who::Roles(REGISTER),
    ),
    (
        "GET",
        "/staff/notifications/{id}/reply-files/{fid}",
        Who::Roles(CASES),
    ),
    (
        "GET",
        "/staff/notifications/settings",
        Who::Roles(SUPERVISOR),
    ),
    (
        "POST",
        "/staff/notifications/settings",
        Who::Roles(SUPERVISOR),
    ),
];

/// Who may import the official register of agencies.
const REGISTER: &[Role] = &[Role::Admin, Role::Supervisor];

/// Who may edit the portal's pages.
const PORTAL: &[Role] = &[Role::Admin, Role::PortalEditor];

fn expected(method: &str, path: &str) -> Who {
    EXPECTED
        .iter()
        .find(|(m, p, _)| *m == method && *p == path)
        .map(|(_, _, w)| *w)
        .unwrap_or_else(|| {
            panic!("no expectation for {method} {path}: add it to EXPECTED in tests/authz.rs")
        })
}

#[test]
fn every_route_has_an_expectation() {
    let routes: BTreeSet<(String, String)> = haven_web::routes::specs()
        .iter()
        .map(|r| (r.method.to_string(), r.path.to_owned()))
        .collect();
    let table: BTreeSet<(String, String)> = EXPECTED
        .iter()
        .map(|(m, p, _)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    let unlisted: Vec<_> = routes.difference(&table).collect();
    let stale: Vec<_> = table.difference(&routes).collect();
    assert!(
        unlisted.is_empty(),
        "routes without an expectation in tests/authz.rs: {unlisted:?}"
    );
    assert!(
        stale.is_empty(),
        "expectations for routes that no longer exist: {stale:?}"
    );
    // The route table's declared access agrees with the expectation.
    for spec in haven_web::routes::specs() {
        let want = expected(spec.method.as_str(), spec.path);
        match (spec.access, want) {
            (Access::Public, Who::Public)
            | (Access::SignIn, Who::SignIn)
            | (Access::SecondFactor, Who::SecondFactor) => {}
            (Access::Staff(p), Who::Roles(roles)) => {
                for role in Role::ALL {
                    assert_eq!(
                        haven_domain::policy::grants(role, p),
                        roles.contains(&role),
                        "{} {}: the policy and this table disagree about {role}",
                        spec.method,
                        spec.path
                    );
                }
            }
            (got, want) => panic!(
                "{} {}: declared {got:?}, expected {want:?}",
                spec.method, spec.path
            ),
        }
    }
}

/// A concrete URL for a route, with its parameters filled with records of the home organisation.
fn url(path: &str, user_id: &str) -> String {
    path.replace("{file}", "haven.css")
        .replace("{token}", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
        .replace("{id}", user_id)
        .replace("{sid}", "018f0000-0000-7000-8000-000000000000")
        .replace("{pid}", "018f0000-0000-7000-8000-000000000001")
        .replace("{tid}", "018f0000-0000-7000-8000-000000000002")
        .replace("{did}", "018f0000-0000-7000-8000-000000000003")
        .replace("{fid}", "018f0000-0000-7000-8000-000000000004")
        .replace("{lang}", "en")
        .replace("{slug}", "numbers")
        .replace("{kind}", "question")
}

async fn request(c: &Client, csrf: &str, method: &str, url: &str) -> haven_testkit::Page {
    if method == "GET" {
        c.get(url).await
    } else {
        c.post_form_with(url, &[("csrf", csrf)], &[("x-csrf-token", csrf)])
            .await
    }
}

fn is_sign_in_redirect(p: &haven_testkit::Page) -> bool {
    p.status == StatusCode::SEE_OTHER && p.location().starts_with("/staff/login")
}

conformance!(async fn every_route_for_everyone(backend) {
    let app = TestApp::spawn(backend).await;
    let (_admin, _) = app.admin().await;
    // The record the routes with an {id} point at: an account of the home organisation.
    let target = app.add_user(&[Role::Counsellor]).await;
    let target_id = haven_store::users::by_email(&app.state.db, app.state.default_org, &target.email)
        .await
        .unwrap()
        .unwrap()
        .user
        .id
        .to_string();

    let mut actors: Vec<(String, Client, Option<Role>)> = Vec::new();
    for role in Role::ALL {
        let (c, _) = app.signed_in(&[role]).await;
        actors.push((role.code().to_owned(), c, Some(role)));
    }
    let anonymous = app.client();
    let (foreign, _) = app.signed_in_elsewhere(&[Role::Admin, Role::Supervisor]).await;

    let mut checked = 0;
    for spec in haven_web::routes::specs() {
        let method = spec.method.as_str();
        if spec.path == "/staff/logout" {
            continue; // it ends the session that the rest of the table needs; tested below
        }
        let who = expected(method, spec.path);
        let u = url(spec.path, &target_id);
        let is_api = spec.path.starts_with("/api/v1");

        // Anonymous visitors.
        let csrf = anonymous.get("/staff/login").await.csrf();
        let res = request(&anonymous, &csrf, method, &u).await;
        match who {
            // The guard lets everyone through; what the handler answers (a failed sign-in is 401)
            // is its own business.
            Who::Public | Who::SignIn => assert_ne!(res.status, StatusCode::FORBIDDEN, "anonymous {method} {u}"),
            Who::SecondFactor => assert!(is_sign_in_redirect(&res), "anonymous {method} {u}: {}", res.status),
            Who::Roles(_) if is_api => assert_eq!(res.status, StatusCode::UNAUTHORIZED, "anonymous {method} {u}"),
            Who::Roles(_) => assert!(is_sign_in_redirect(&res), "anonymous {method} {u}: {} {:?}", res.status, res.header("location")),
        }
        checked += 1;

        // Every role of the home organisation.
        for (name, c, role) in &actors {
            let csrf = c.get("/staff/profile").await.csrf();
            let res = request(c, &csrf, method, &u).await;
            match who {
                Who::Roles(allowed) if allowed.contains(&role.unwrap()) => assert!(
                    ![StatusCode::FORBIDDEN, StatusCode::UNAUTHORIZED].contains(&res.status) && !is_sign_in_redirect(&res),
                    "{name} may {method} {u} but got {}",
                    res.status
                ),
                Who::Roles(_) => assert_eq!(res.status, StatusCode::FORBIDDEN, "{name} must not {method} {u}"),
                Who::SecondFactor => assert!(
                    res.status == StatusCode::SEE_OTHER && res.location() == "/staff/",
                    "{name} {method} {u}: {}",
                    res.status
                ),
                Who::Public | Who::SignIn => assert_ne!(res.status, StatusCode::FORBIDDEN, "{name} {method} {u}"),
            }
            checked += 1;
        }

        // An administrator and supervisor of another organisation: may use the route in their
        // own organisation, but a record of this one is not found, never shown or changed.
        if spec.path.contains("{id}") {
            let csrf = foreign.get("/staff/profile").await.csrf();
            let res = request(&foreign, &csrf, method, &u).await;
            assert_eq!(res.status, StatusCode::NOT_FOUND, "another organisation {method} {u}");
            checked += 1;
        }
    }
    assert!(checked > 300, "checked {checked} combinations");

    // Sign-out is for anyone; for an anonymous visitor it simply leads to the sign-in page.
    let csrf = anonymous.get("/staff/login").await.csrf();
    let res = anonymous.post_form("/staff/logout", &[("csrf", &csrf)]).await;
    assert!(is_sign_in_redirect(&res));

    // Every refusal of a signed-in person is in the audit log.
    let denied = haven_store::audit::list(
        &app.state.db,
        app.state.default_org,
        &haven_store::audit::AuditFilter { action_prefix: Some("access.denied".into()), ..Default::default() },
        10_000,
    )
    .await
    .unwrap();
    let expected_refusals: usize = EXPECTED
        .iter()
        .filter_map(|(_, _, w)| match w {
            Who::Roles(allowed) => Some(Role::ALL.iter().filter(|r| !allowed.contains(r)).count()),
            _ => None,
        })
        .sum();
    assert_eq!(denied.len(), expected_refusals);
});
