//! The audit log page, on both backends: newest first, paged, filtered, verified; and each
//! account's recent activity.

// Stories written as async functions are tests too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use haven_domain::{OrgId, Role};
use haven_store::audit::{AuditActor, AuditEvent, Outcome};
use haven_store::{Backend, execute};
use haven_testkit::reqwest::StatusCode;
use haven_testkit::{Client, Page, TestApp, conformance};
use uuid::Uuid;

/// The sequence numbers of the rows of an audit table, top to bottom.
fn seqs(page: &Page) -> Vec<i64> {
    page.text
        .split("<tr>\n    <td class=\"mono\">")
        .skip(1)
        .map(|s| s.split('<').next().unwrap().parse().unwrap())
        .collect()
}

/// The query string of the "older" link, if any.
fn older(page: &Page) -> Option<String> {
    page.text
        .split("href=\"/staff/audit?")
        .skip(1)
        .map(|s| haven_testkit::html_unescape(s.split('"').next().unwrap()))
        .find(|q| q.contains("before="))
}

async fn me(c: &Client) -> String {
    c.get("/api/v1/me").await.json()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn english(c: &Client) {
    let res = c
        .submit(
            "/staff/profile",
            "/staff/profile/language",
            &[("language", "en"), ("next", "/staff/profile")],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
}

async fn record(app: &TestApp, org: OrgId, ev: AuditEvent) {
    haven_web::ui::record_now(&app.state, org, ev)
        .await
        .unwrap();
}

conformance!(async fn the_audit_log_page_lists_filters_pages_and_verifies(backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.state.default_org;
    let (admin, _) = app.admin().await;
    english(&admin).await;
    let (counsellor, _) = app.signed_in(&[Role::Counsellor]).await;
    let counsellor_id = me(&counsellor).await;
    // Counsellors may not read the log (and the refusal is itself recorded).
    assert_eq!(counsellor.get("/staff/audit").await.status, StatusCode::FORBIDDEN);
    assert!(!counsellor.get("/staff/").await.contains("href=\"/staff/audit\""));
    let record_id = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0077);
    for _ in 0..60 {
        record(&app, org, AuditEvent::new(AuditActor::System, "case.viewed", Outcome::Ok).target("case", record_id)).await;
    }
    let (head, _) = haven_store::audit::head(&app.state.db, org).await.unwrap();

    let page = admin.get("/staff/audit").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(page.contains("<title>Audit log · Haven</title>"));
    assert!(page.contains("href=\"/staff/audit\""), "in the navigation");
    let first = seqs(&page);
    assert_eq!(first.len(), 50);
    assert_eq!(first[0], head, "newest first");
    assert!(first.windows(2).all(|w| w[0] == w[1] + 1));
    assert!(page.contains("Haven (system)") && page.contains("case.viewed"));
    // "Older" pages back by sequence number until the first entry.
    let mut seen = first.clone();
    let mut next = older(&page);
    while let Some(q) = next {
        let p = admin.get(&format!("/staff/audit?{q}")).await;
        let s = seqs(&p);
        assert!(!s.is_empty() && s[0] == *seen.last().unwrap() - 1, "{q}");
        seen.extend(s);
        next = older(&p);
        assert!(p.contains("Newest entries"));
    }
    assert_eq!(seen, (1..=head).rev().collect::<Vec<_>>());

    // Filters: by action, by staff member, by record.
    let signed = admin.get("/staff/audit?action=auth.").await;
    assert!(!seqs(&signed).is_empty());
    assert!(!signed.contains("case.viewed") && signed.contains("auth.sign_in"));
    let by_counsellor = admin.get(&format!("/staff/audit?actor={counsellor_id}")).await;
    let rows = seqs(&by_counsellor);
    assert!(rows.len() >= 2, "the sign-in and the refusal: {rows:?}");
    assert!(by_counsellor.contains("access.denied") && by_counsellor.contains("Test counsellor"));
    assert!(!by_counsellor.contains("Admin Test</td>"));
    let about = admin.get(&format!("/staff/audit?record={record_id}")).await;
    assert_eq!(seqs(&about).len(), 50);
    let q = older(&about).unwrap();
    let rest = admin.get(&format!("/staff/audit?{q}")).await;
    assert_eq!(seqs(&rest).len(), 10, "{q}: {}", rest.text);
    assert!(older(&about).unwrap().contains(&format!("record={record_id}")), "paging keeps the filter");
    let bad = admin.get("/staff/audit?record=not-an-id").await;
    assert_eq!(bad.status, StatusCode::OK);
    assert!(bad.contains("This is not a record id"), "{}", bad.text);

    // Verifying the chain says so, and is recorded.
    let res = admin.submit("/staff/audit", "/staff/audit/verify", &[]).await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(res.contains(&format!("The chain holds: {head} entries checked, up to entry {head}.")), "{}", res.text);
    let verified = admin.get("/staff/audit?action=audit.verified").await;
    assert_eq!(seqs(&verified).len(), 1);
    assert!(verified.contains("Admin Test"));

    // Supervisors read the log too; the account page shows recent activity.
    let (supervisor, _) = app.signed_in(&[Role::Supervisor]).await;
    assert_eq!(supervisor.get("/staff/audit").await.status, StatusCode::OK);
    let account = admin.get(&format!("/staff/users/{counsellor_id}")).await;
    assert!(account.contains("Recent activity") && account.contains("auth.sign_in") && account.contains("access.denied"), "{}", account.text);
    assert!(account.contains(&format!("href=\"/staff/audit?actor={counsellor_id}\"")));
});

conformance!(async fn the_verify_button_names_a_tampered_entry(backend) {
    let app = TestApp::spawn(backend).await;
    let (admin, _) = app.admin().await;
    english(&admin).await;
    // The sign-in's entries are chained (the server does so within a tenth of a second).
    haven_store::audit::sequence(&app.state.db).await.unwrap();
    let mut tx = app.state.db.begin().await.unwrap();
    match app.state.db.backend() {
        Backend::Sqlite => {
            execute!(&mut tx, "DROP TRIGGER audit_log_no_update").unwrap();
        }
        Backend::Postgres => {
            execute!(&mut tx, "DROP TRIGGER audit_log_no_update_delete ON audit_log").unwrap();
        }
    }
    execute!(&mut tx, "UPDATE audit_log SET ip = '192.0.2.1' WHERE org_id = $1 AND seq = 1", app.state.default_org.0).unwrap();
    tx.commit().await.unwrap();
    let res = admin.submit("/staff/audit", "/staff/audit/verify", &[]).await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(res.contains("The chain is broken at entry 1: its content was changed."), "{}", res.text);
    let log = haven_store::audit::list(&app.state.db, app.state.default_org, &haven_store::audit::AuditFilter { action_prefix: Some("audit.verified".into()), ..Default::default() }, 5).await.unwrap();
    assert_eq!(log[0].outcome, "failed");
    assert!(log[0].details.contains("\"seq\":1"), "{}", log[0].details);
});
