//! Court proceedings through the real application, on both backends: validation with field-level
//! messages (a verdict before the indictment, a payment larger than the award, an unknown article,
//! impossible dates), access that follows the linked cases (refusals audited, another
//! organisation never reached), deadlines that become case tasks, and the advocacy figures
//! computed from a small fixture, with their drill-down and CSV export.

// Stories written as async functions are tests too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use haven_domain::Role;
use haven_domain::institutions::InstitutionKind;
use haven_store::audit::{AuditFilter, list as audit_list};
use haven_testkit::reqwest::StatusCode;
use haven_testkit::{Client, Page, TestApp, TestBackend, conformance};

async fn app(backend: TestBackend) -> TestApp {
    TestApp::spawn_with(backend, |s| {
        s.session.idle_timeout_minutes = 24 * 60;
        s.session.absolute_lifetime_hours = 72;
    })
    .await
}

/// The id of a seeded institution whose English name contains `name`.
async fn institution(app: &TestApp, kind: InstitutionKind, name: &str) -> String {
    haven_store::institutions::search(&app.state.db, app.state.default_org, Some(kind), "")
        .await
        .unwrap()
        .into_iter()
        .find(|i| i.name_en.as_deref().unwrap_or("").contains(name))
        .unwrap()
        .id
        .to_string()
}

/// Records a proceeding and returns its id.
async fn proceeding(c: &Client, fields: &[(&str, &str)]) -> String {
    let res = c
        .submit("/staff/proceedings/new", "/staff/proceedings/new", fields)
        .await;
    assert_eq!(
        res.status,
        StatusCode::SEE_OTHER,
        "proceeding: {}",
        res.text
    );
    res.location()
        .trim_start_matches("/staff/proceedings/")
        .to_owned()
}

async fn post(c: &Client, p: &str, action: &str, fields: &[(&str, &str)]) -> Page {
    c.submit(
        &format!("/staff/proceedings/{p}"),
        &format!("/staff/proceedings/{p}/{action}"),
        fields,
    )
    .await
}

async fn ok(c: &Client, p: &str, action: &str, fields: &[(&str, &str)]) {
    let res = post(c, p, action, fields).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{action}: {}", res.text);
}

/// The value of the first `<option>` after `select id="name"` whose label contains `label`.
fn option(page: &Page, select: &str, label: &str) -> String {
    let start = page
        .text
        .find(&format!("<select id=\"{select}\""))
        .unwrap_or_else(|| panic!("no select {select}"));
    let end = page.text[start..].find("</select>").unwrap() + start;
    let part = &page.text[start..end];
    for opt in part.split("<option value=\"").skip(1) {
        let (value, rest) = opt.split_once('"').unwrap();
        if rest.contains(label) && !value.is_empty() {
            return value.to_owned();
        }
    }
    panic!("no option {label:?} in {select}: {part}")
}

/// Opens a trafficking case with a beneficiary and returns its id and number.
async fn case_with_beneficiary(c: &Client, restricted: bool, name: &str) -> (String, String) {
    let mut fields = vec![
        ("kind", "trafficking"),
        ("summary", "Prevarena ponudom za posao."),
    ];
    if restricted {
        fields.push(("restricted", "on"));
    }
    let res = c
        .submit("/staff/cases/new", "/staff/cases/new", &fields)
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    let id = res
        .location()
        .trim_start_matches("/staff/cases/")
        .to_owned();
    let res = c
        .submit(
            &format!("/staff/cases/{id}"),
            &format!("/staff/cases/{id}/people"),
            &[
                ("role", "beneficiary"),
                ("name", name),
                ("confirm_new", "1"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    let page = c.get(&format!("/staff/cases/{id}")).await;
    let start = page.text.find("<title>").unwrap() + 7;
    let number: String = page.text[start..].split(' ').next().unwrap().to_owned();
    (id, number)
}

fn count_of(page: &Page, key: &str) -> String {
    let at = page
        .text
        .find(&format!("id=\"fig-{key}\" data-count=\""))
        .unwrap_or_else(|| panic!("no figure {key}"));
    let rest = &page.text[at + key.len() + 22..];
    rest[..rest.find('"').unwrap()].to_owned()
}

fn row_of<'a>(page: &'a Page, key: &str) -> &'a str {
    let at = page.text.find(&format!("id=\"fig-{key}\"")).unwrap();
    let end = page.text[at..].find("</tr>").unwrap() + at;
    &page.text[at..end]
}

conformance!(async fn validation_keeps_input_and_names_each_problem(backend) {
    let app = app(backend).await;
    let (c, _) = app.signed_in(&[Role::Lawyer]).await;
    let court = institution(&app, InstitutionKind::Court, "Higher Court in Belgrade").await;

    // Missing and impossible values on the proceeding itself.
    let res = c.submit("/staff/proceedings/new", "/staff/proceedings/new", &[
        ("kind", "criminal"),
        ("court", ""),
        ("court_number", "K 12/25"),
        ("opened_on", "2025-02-30"),
        ("org_role", "legal_representative"),
        ("case_number", "SOS-2026-09999"),
    ]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.contains("This field is required."), "{}", res.text);
    assert!(res.contains("Enter a date such as 2026-11-28."));
    assert!(res.contains("There is no case with this number that you may open."));
    assert!(res.contains("value=\"K 12/25\""), "input kept");
    let res = c.submit("/staff/proceedings/new", "/staff/proceedings/new", &[
        ("kind", "criminal"), ("court", &court), ("opened_on", "2027-01-01"), ("org_role", "observer"),
    ]).await;
    assert!(res.contains("This date is in the future."));

    let p = proceeding(&c, &[
        ("kind", "criminal"), ("court", &court), ("court_number", "K 12/25"),
        ("opened_on", "2025-01-10"), ("org_role", "legal_representative"),
    ]).await;

    // An unknown article.
    let res = post(&c, &p, "defendants", &[
        ("defendant_name", "Okrivljeni Prvi"), ("defendant_offence", "999-1"),
        ("defendant_stage", "investigation"), ("defendant_charged_on", "2025-01-10"),
    ]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.contains("Unknown article"), "{}", res.text);
    assert!(res.contains("value=\"Okrivljeni Prvi\""), "input kept");
    assert!(res.contains("id=\"defendant\" open"), "the failed form is open");
    // A date before the proceeding started.
    let res = post(&c, &p, "defendants", &[
        ("defendant_name", "Okrivljeni Prvi"), ("defendant_offence", "388-1"),
        ("defendant_stage", "investigation"), ("defendant_charged_on", "2024-12-01"),
    ]).await;
    assert!(res.contains("This is before the proceeding started."));
    ok(&c, &p, "defendants", &[
        ("defendant_name", "Okrivljeni Prvi"), ("defendant_offence", "388-1"),
        ("defendant_stage", "investigation"), ("defendant_charged_on", "2025-01-10"),
    ]).await;
    let page = c.get(&format!("/staff/proceedings/{p}")).await;
    let defendant = option(&page, "charge_defendant", "Okrivljeni Prvi");

    // A verdict before the indictment.
    let verdict = |on: &'static str| vec![
        ("event_kind", "verdict"), ("event_on", on), ("event_defendant", defendant.as_str()),
        ("event_outcome", "guilty"), ("event_sentence", "prison"), ("event_months", "36"),
    ];
    let res = post(&c, &p, "events", &verdict("2025-06-01")).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.contains("There is no indictment by this date"), "{}", res.text);
    ok(&c, &p, "charges", &[
        ("charge_defendant", &defendant), ("charge_offence", "184-1"),
        ("charge_stage", "indictment"), ("charge_on", "2025-03-01"),
    ]).await;
    // Still before the indictment's date; then after it.
    let res = post(&c, &p, "events", &verdict("2025-02-15")).await;
    assert!(res.contains("There is no indictment by this date"));
    // A charge never goes back a stage, and an unknown article is refused here too.
    let res = post(&c, &p, "charges", &[
        ("charge_defendant", &defendant), ("charge_offence", "388-1"),
        ("charge_stage", "investigation"), ("charge_on", "2025-04-01"),
    ]).await;
    assert!(res.contains("A charge cannot go back to an earlier stage"));
    let res = post(&c, &p, "charges", &[
        ("charge_defendant", &defendant), ("charge_offence", "388-99"),
        ("charge_stage", "indictment"), ("charge_on", "2025-04-01"),
    ]).await;
    assert!(res.contains("Unknown article"));
    ok(&c, &p, "events", &verdict("2025-06-01")).await;
    let page = c.get(&format!("/staff/proceedings/{p}")).await;
    assert!(page.contains("re-qualified"), "the re-qualification is shown");
    assert!(page.contains("art. 388(1) — Trafficking in human beings"));
    assert!(page.contains("art. 184(1) — Mediation in prostitution"));

    // Impossible dates on a claim.
    let res = post(&c, &p, "claims", &[("claim_filed_on", "2027-03-01"), ("claim_amount", "1000")]).await;
    assert!(res.contains("This date is in the future."));
    let res = post(&c, &p, "claims", &[("claim_filed_on", "2025-13-01"), ("claim_amount", "abc")]).await;
    assert!(res.contains("Enter a date such as 2026-11-28."));
    assert!(res.contains("Enter an amount such as 1250 or 1250.50."));

    // A payment larger than the award.
    ok(&c, &p, "awards", &[("award_source", "criminal_trial"), ("award_on", "2025-06-01"), ("award_amount", "1000")]).await;
    let page = c.get(&format!("/staff/proceedings/{p}")).await;
    let award = option(&page, "payment_award", "1000.00 RSD");
    ok(&c, &p, "payments", &[("payment_award", &award), ("payment_on", "2025-07-01"), ("payment_amount", "600")]).await;
    let res = post(&c, &p, "payments", &[("payment_award", &award), ("payment_on", "2025-08-01"), ("payment_amount", "500")]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.contains("Payments cannot exceed the award: at most 400.00 remains to be paid."), "{}", res.text);
    assert!(res.contains("value=\"500\""), "input kept");
    let res = post(&c, &p, "payments", &[("payment_award", &award), ("payment_on", "2025-05-01"), ("payment_amount", "100")]).await;
    assert!(res.contains("A payment cannot come before the award."));
    ok(&c, &p, "payments", &[("payment_award", &award), ("payment_on", "2025-08-01"), ("payment_amount", "400")]).await;

    // Messages in the user's language.
    let csrf = c.get("/staff/profile").await.csrf();
    c.post_form("/staff/profile/language", &[("csrf", &csrf), ("language", "sr-latn"), ("next", "/staff/")]).await;
    let res = post(&c, &p, "payments", &[("payment_award", &award), ("payment_on", "2025-08-02"), ("payment_amount", "1")]).await;
    assert!(res.contains("Uplate ne mogu biti veće od dosuđenog"), "{}", res.text);
    let res = post(&c, &p, "charges", &[("charge_defendant", &defendant), ("charge_offence", "1-1"), ("charge_stage", "final"), ("charge_on", "2025-09-01")]).await;
    assert!(res.contains("Nepoznat član"));
    // Statutory sentences in the reader's language: art. 388(1) is 3 to 12 years.
    let list = c.get("/staff/proceedings").await;
    assert!(list.contains("3 godine – 12 godina"), "{}", list.text);
    assert!(list.contains("6 meseci – 5 godina"));

    // A staff-added offence becomes choosable.
    let res = c.submit("/staff/proceedings", "/staff/court/offences", &[
        ("offence_article", "389"), ("offence_paragraph", "1"), ("offence_title", "Trgovina maloletnim licima radi usvojenja"),
        ("offence_min_months", "12"), ("offence_max_months", "6"),
    ]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    let res = c.submit("/staff/proceedings", "/staff/court/offences", &[
        ("offence_article", "389"), ("offence_paragraph", "1"), ("offence_title", "Trgovina maloletnim licima radi usvojenja"),
        ("offence_min_months", "12"), ("offence_max_months", "60"),
    ]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    ok(&c, &p, "charges", &[("charge_defendant", &defendant), ("charge_offence", "389-1"), ("charge_stage", "final"), ("charge_on", "2025-09-01")]).await;
});

conformance!(async fn only_those_who_may_see_a_linked_case_see_the_proceeding(backend) {
    let app = app(backend).await;
    let (advisor, _) = app.signed_in(&[Role::Counsellor]).await;
    let (other, _) = app.signed_in(&[Role::Counsellor]).await;
    let (lawyer, _) = app.signed_in(&[Role::Lawyer]).await;
    let (supervisor, _) = app.signed_in(&[Role::Supervisor]).await;
    let (analyst, _) = app.signed_in(&[Role::Analyst]).await;
    let (foreign, _) = app.signed_in_elsewhere(&[Role::Admin, Role::Supervisor]).await;
    let court = institution(&app, InstitutionKind::Court, "Higher Court in Belgrade").await;
    let (case, number) = case_with_beneficiary(&advisor, true, "Oštećena Ana Tajić").await;

    // A lawyer who may not open the restricted case cannot link it.
    let res = lawyer.submit("/staff/proceedings/new", "/staff/proceedings/new", &[
        ("kind", "criminal"), ("court", &court), ("opened_on", "2025-01-10"),
        ("org_role", "legal_representative"), ("case_number", &number),
    ]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.contains("There is no case with this number that you may open."));

    // A supervisor may.
    let p = proceeding(&supervisor, &[
        ("kind", "criminal"), ("court", &court), ("opened_on", "2025-01-10"),
        ("org_role", "legal_representative"), ("case_number", &number),
    ]).await;
    let page = advisor.get(&format!("/staff/proceedings/{p}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(advisor.get("/api/v1/proceedings").await.contains(&p));
    assert!(page.contains("Oštećena Ana Tajić"), "the beneficiary is an injured party");
    assert!(page.contains(&number));

    for (who, c) in [("other counsellor", &other), ("lawyer", &lawyer)] {
        let res = c.get(&format!("/staff/proceedings/{p}")).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{who}");
        assert!(!res.contains("Oštećena"), "{who}");
        let csrf = c.get("/staff/profile").await.csrf();
        let res = c.post_form(&format!("/staff/proceedings/{p}/claims"), &[("csrf", &csrf), ("claim_filed_on", "2025-02-01"), ("claim_amount", "100")]).await;
        assert!(res.status == StatusCode::FORBIDDEN, "{who}: {}", res.status);
        // Lists and drill-downs do not show it either.
        let list = c.get("/staff/proceedings").await;
        assert!(!list.contains(&p), "{who}");
        assert!(list.contains("proceedings-hidden"), "{who}");
        assert!(!c.get("/api/v1/proceedings").await.contains(&p), "{who}: the API follows the same rule");
    }
    assert_eq!(analyst.get(&format!("/staff/proceedings/{p}")).await.status, StatusCode::FORBIDDEN);
    assert_eq!(analyst.get("/staff/court/figures").await.status, StatusCode::OK);
    assert!(analyst.get("/staff/").await.contains("court-figures-card"));
    assert!(!other.get("/staff/").await.contains("court-figures-card"));
    assert_eq!(foreign.get(&format!("/staff/proceedings/{p}")).await.status, StatusCode::NOT_FOUND);
    let refused = audit_list(&app.state.db, app.state.default_org, &AuditFilter {
        action_prefix: Some("proceeding.access_refused".into()),
        ..Default::default()
    }, 100).await.unwrap();
    // The counsellor's post was refused by the route (no EditProceedings, audited as
    // access.denied); the other three by the proceeding's own rule.
    assert_eq!(refused.len(), 3, "each refusal is audited: {refused:?}");
    let viewed = audit_list(&app.state.db, app.state.default_org, &AuditFilter {
        action_prefix: Some("proceeding.viewed".into()),
        ..Default::default()
    }, 100).await.unwrap();
    assert!(!viewed.is_empty());

    // A proceeding linked to no case is for those who record proceedings.
    let lone = proceeding(&lawyer, &[
        ("kind", "misdemeanour"), ("court", &court), ("opened_on", "2025-03-01"), ("org_role", "observer"),
    ]).await;
    assert_eq!(lawyer.get(&format!("/staff/proceedings/{lone}")).await.status, StatusCode::OK);
    assert_eq!(other.get(&format!("/staff/proceedings/{lone}")).await.status, StatusCode::FORBIDDEN);

    // A hearing ahead is a deadline: a task on the linked case.
    ok(&supervisor, &p, "events", &[("event_kind", "hearing"), ("event_on", "2027-01-15")]).await;
    let page = advisor.get(&format!("/staff/cases/{case}")).await;
    assert!(page.contains("Court: Hearing — deadline 15 Jan 2027"), "{}", page.text);
    assert!(page.contains(&format!("href=\"/staff/proceedings/{p}\"")), "the case page lists its proceedings");
    // A hearing that was postponed needs its reason.
    let res = post(&supervisor, &p, "events", &[("event_kind", "hearing"), ("event_on", "2025-03-01")]).await;
    assert!(res.contains("Say why the hearing was postponed"));
});

conformance!(async fn figures_count_a_small_fixture(backend) {
    let app = app(backend).await;
    let (c, _) = app.signed_in(&[Role::Lawyer]).await;
    let higher = institution(&app, InstitutionKind::Court, "Higher Court in Belgrade").await;
    let basic = institution(&app, InstitutionKind::Court, "First Basic Court").await;

    // One proceeding: trafficking re-qualified into mediation at indictment, a plea agreement
    // below the minimum of the original charge, the property claim referred to a civil suit.
    let p1 = proceeding(&c, &[
        ("kind", "criminal"), ("court", &higher), ("opened_on", "2025-01-10"), ("org_role", "legal_representative"),
    ]).await;
    ok(&c, &p1, "defendants", &[
        ("defendant_name", "Okrivljeni Jedan"), ("defendant_offence", "388-1"),
        ("defendant_stage", "investigation"), ("defendant_charged_on", "2025-01-10"),
    ]).await;
    let d1 = option(&c.get(&format!("/staff/proceedings/{p1}")).await, "charge_defendant", "Okrivljeni Jedan");
    ok(&c, &p1, "charges", &[("charge_defendant", &d1), ("charge_offence", "184-1"), ("charge_stage", "indictment"), ("charge_on", "2025-03-01")]).await;
    ok(&c, &p1, "claims", &[("claim_filed_on", "2025-04-01"), ("claim_amount", "500000")]).await;
    ok(&c, &p1, "events", &[
        ("event_kind", "plea_agreement"), ("event_on", "2025-06-01"), ("event_defendant", &d1),
        ("event_sentence", "prison"), ("event_months", "12"), ("event_claim_invited", "on"),
    ]).await;
    let page = c.get(&format!("/staff/proceedings/{p1}")).await;
    let claim = option(&page, "decision_claim", "500000.00 RSD");
    ok(&c, &p1, "claims/decision", &[("decision_claim", &claim), ("decision", "referred_to_civil"), ("decision_on", "2025-06-01")]).await;
    let early = c.submit(&format!("/staff/proceedings/new?parent={p1}&kind=civil"), "/staff/proceedings/new", &[
        ("kind", "civil"), ("court", &basic), ("opened_on", "2024-07-01"), ("org_role", "legal_representative"), ("parent", &p1),
    ]).await;
    assert!(early.contains("A proceeding cannot start before the proceeding it follows from."), "{}", early.text);
    assert!(early.contains(&format!("value=\"{p1}\"")), "the parent is kept");
    let civil = c.submit(&format!("/staff/proceedings/new?parent={p1}&kind=civil"), "/staff/proceedings/new", &[
        ("kind", "civil"), ("court", &basic), ("opened_on", "2025-07-01"), ("org_role", "legal_representative"), ("parent", &p1),
    ]).await;
    assert_eq!(civil.status, StatusCode::SEE_OTHER, "{}", civil.text);
    let civil = civil.location().trim_start_matches("/staff/proceedings/").to_owned();
    ok(&c, &civil, "awards", &[("award_source", "civil_suit"), ("award_on", "2025-10-01"), ("award_amount", "300000")]).await;
    let award = option(&c.get(&format!("/staff/proceedings/{civil}")).await, "payment_award", "300000.00 RSD");
    ok(&c, &civil, "payments", &[("payment_award", &award), ("payment_on", "2025-11-01"), ("payment_amount", "100000")]).await;

    // Another: trafficking kept, a guilty verdict above the minimum, final.
    let p2 = proceeding(&c, &[
        ("kind", "criminal"), ("court", &higher), ("opened_on", "2025-02-01"), ("org_role", "observer"),
    ]).await;
    ok(&c, &p2, "defendants", &[
        ("defendant_name", "Okrivljeni Dva"), ("defendant_offence", "388-1"),
        ("defendant_stage", "indictment"), ("defendant_charged_on", "2025-02-01"),
    ]).await;
    let d2 = option(&c.get(&format!("/staff/proceedings/{p2}")).await, "charge_defendant", "Okrivljeni Dva");
    ok(&c, &p2, "events", &[
        ("event_kind", "verdict"), ("event_on", "2025-09-01"), ("event_defendant", &d2),
        ("event_outcome", "guilty"), ("event_sentence", "prison"), ("event_months", "60"),
    ]).await;
    ok(&c, &p2, "events", &[("event_kind", "final_judgment"), ("event_on", "2025-12-01")]).await;

    let page = c.get("/staff/court/figures").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(count_of(&page, "proceedings"), "2");
    assert_eq!(count_of(&page, "stage-final"), "2");
    assert_eq!(count_of(&page, "trafficking-charged"), "2");
    assert_eq!(count_of(&page, "requalified"), "1");
    assert!(row_of(&page, "requalified").contains("50.0 %"));
    assert_eq!(count_of(&page, "requalified-into-184-1"), "1");
    assert_eq!(count_of(&page, "ended"), "2");
    assert_eq!(count_of(&page, "plea"), "1");
    assert_eq!(count_of(&page, "sentence-below-minimum"), "1");
    assert_eq!(count_of(&page, "sentence-above-minimum"), "1");
    assert_eq!(count_of(&page, "claims-filed"), "1");
    assert_eq!(count_of(&page, "claims-referred"), "1");
    assert_eq!(count_of(&page, "claims-decided-in-trial"), "0");
    assert_eq!(count_of(&page, "compensation-awarded"), "1");
    assert!(row_of(&page, "compensation-awarded").contains("RSD 300000.00"));
    assert!(row_of(&page, "compensation-paid").contains("RSD 100000.00"));
    assert_eq!(count_of(&page, "compensation-fully-paid"), "0");
    // 142 days (10 Jan → 1 Jun) and 303 (1 Feb → 1 Dec): the lower middle.
    assert!(row_of(&page, "median-days-to-final").contains("142 days"));
    // No names on the figures.
    assert!(!page.contains("Okrivljeni"));

    // The proceedings behind a figure.
    let drill = c.get("/staff/court/figures/proceedings?figure=requalified&from=&to=&court=").await;
    assert_eq!(drill.status, StatusCode::OK);
    assert!(drill.contains(&p1) && !drill.contains(&p2));
    let drill = c.get("/staff/court/figures/proceedings?figure=compensation-paid").await;
    assert!(drill.contains(&p1));

    // A period and a court.
    let later = c.get("/staff/court/figures?from=2025-02-01&to=2025-12-31").await;
    assert_eq!(count_of(&later, "proceedings"), "1");
    assert_eq!(count_of(&later, "requalified"), "0");
    let basic_only = c.get(&format!("/staff/court/figures?court={basic}")).await;
    assert_eq!(count_of(&basic_only, "proceedings"), "0");
    let bad = c.get("/staff/court/figures?from=2025-13-01").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);

    // The same through the JSON API.
    let api = c.get("/api/v1/court/figures?from=2025-01-01").await;
    assert_eq!(api.status, StatusCode::OK);
    let figs: serde_json::Value = serde_json::from_str(&api.text).unwrap();
    let requalified = figs.as_array().unwrap().iter().find(|f| f["key"] == "requalified").unwrap();
    assert_eq!(requalified["count"], 1);
    assert_eq!(requalified["of"], 2);
    let listed: serde_json::Value = serde_json::from_str(&c.get("/api/v1/proceedings").await.text).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 3, "two criminal proceedings and a civil suit");

    // CSV, audited as an export.
    let csv = c.get("/staff/court/figures.csv").await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.header("content-type").unwrap().starts_with("text/csv"));
    assert!(csv.text.starts_with("figure,label,count,of,percent,amounts,median_days,proceedings\r\n"));
    assert!(csv.contains("\"requalified\",\"re-qualified out of trafficking\",\"1\",\"2\",\"50.0\""), "{}", csv.text);
    assert!(csv.contains("\"compensation-paid\",\"with any payment\",\"1\",\"1\",\"100.0\",\"RSD 100000.00\""));
    assert!(!csv.contains("Okrivljeni"));
    let exports = audit_list(&app.state.db, app.state.default_org, &AuditFilter {
        action_prefix: Some("court.figures_exported".into()),
        ..Default::default()
    }, 10).await.unwrap();
    assert_eq!(exports.len(), 1);
});
