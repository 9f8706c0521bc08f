//! Agencies and job-offer reports through the real application, on both backends: an agency
//! created with its channels, a channel another agency holds refused with a link to it, a report
//! from a hotline contact matched by a social-media page and by a phone number in another
//! spelling, the report grouped on the agency page and the contact linked to the agency, search
//! by name, phone and address; the published warning only for those who may publish, with a
//! reason and a review date that shows as overdue; roles without the permission refused; and the
//! portal's agency check (licensed, unlicensed, warned, unknown) that leaks nothing internal.

// Stories written as async functions are tests too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{NaiveDate, TimeDelta};
use haven_domain::Role;
use haven_domain::agencies::{ChannelKind, LicenceStatus, normalise_channel_as};
use haven_store::agencies::{self as store, AgencyInput, NewReport, ReportSource, WarningDecision};
use haven_testkit::reqwest::{self, StatusCode};
use haven_testkit::{Client, TestApp, TestBackend, conformance};
use uuid::Uuid;

async fn app(backend: TestBackend) -> TestApp {
    TestApp::spawn_with(backend, |s| {
        s.session.idle_timeout_minutes = 24 * 60;
        s.session.absolute_lifetime_hours = 72;
    })
    .await
}

/// Creates an agency through the form; returns its id.
async fn new_agency(c: &Client, fields: &[(&str, &str)]) -> String {
    let res = c
        .submit("/staff/agencies/new", "/staff/agencies/new", fields)
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    let loc = res.location();
    assert!(loc.starts_with("/staff/agencies/"), "{loc}");
    loc.trim_start_matches("/staff/agencies/").to_owned()
}

/// Records a hotline contact about a job offer; returns its id.
async fn job_offer_call(c: &Client) -> String {
    let res = c
        .submit(
            "/staff/desk/new",
            "/staff/desk/new",
            &[
                ("line", "sos"),
                ("channel", "phone"),
                ("direction", "inbound"),
                ("caller_type", "citizen"),
                ("category", "labour.job_offer"),
                ("countries", "DE"),
                ("urgency", "routine"),
                ("summary", "Ponuda za posao u Nemačkoj preko Fejsbuka"),
                ("do", "save"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    res.location()
        .trim_start_matches("/staff/desk/contacts/")
        .to_owned()
}

async fn report(c: &Client, contact: &str, fields: &[(&str, &str)]) -> haven_testkit::Page {
    let form = c
        .get(&format!("/staff/agencies/reports/new?contact={contact}"))
        .await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.text);
    let csrf = form.csrf();
    let mut all: Vec<(&str, &str)> = vec![("csrf", csrf.as_str()), ("contact", contact)];
    all.extend_from_slice(fields);
    c.post_form("/staff/agencies/reports", &all).await
}

conformance!(async fn channels_reports_and_matches_through_the_pages(backend) {
    let app = app(backend).await;
    let (c, _) = app.signed_in(&[Role::Counsellor]).await;
    let empty = c.get("/staff/agencies").await;
    assert_eq!(empty.status, StatusCode::OK);
    assert!(empty.contains("No agency recorded yet"), "{}", empty.text);

    let global = new_agency(&c, &[
        ("ag_name", "Global Jobs d.o.o."),
        ("ag_registration_number", "21234567"),
        ("ag_countries", "DE, SK"),
        ("ag_notes", "Pozivaju noću"),
        ("ag_aliases", "Глобал Џобс"),
        ("ag_channels", "facebook.com/somepage\n0641234567"),
    ]).await;
    let page = c.get(&format!("/staff/agencies/{global}")).await;
    assert_eq!(page.status, StatusCode::OK);
    for s in ["Global Jobs d.o.o.", "facebook.com/somepage", "+381641234567", "Глобал Џобс", "21234567", "DE, SK", "Pozivaju noću", "Not checked against the register"] {
        assert!(page.contains(s), "{s} missing: {}", page.text);
    }
    // The title names the page, not the agency's channels.
    let title = page.text.split("<title>").nth(1).unwrap().split("</title>").next().unwrap();
    assert!(!title.contains("381") && !title.contains("somepage"), "{title}");

    // A channel another agency holds is refused, naming and linking that agency; the input stays.
    let other = new_agency(&c, &[("ag_name", "Druga Agencija")]).await;
    let other_page = c.get(&format!("/staff/agencies/{other}")).await;
    let res = c.post_form(&format!("/staff/agencies/{other}/channels"), &[
        ("csrf", other_page.csrf().as_str()),
        ("ch_value", "https://www.facebook.com/SomePage/"),
    ]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.text);
    assert!(res.contains("Another agency already has this channel"), "{}", res.text);
    assert!(res.contains(&format!("href=\"/staff/agencies/{global}\">Global Jobs d.o.o.</a>")), "{}", res.text);
    assert!(res.contains("value=\"https://www.facebook.com/SomePage/\""), "the input is kept: {}", res.text);
    // The same through the new-agency form.
    let res = c.submit("/staff/agencies/new", "/staff/agencies/new", &[
        ("ag_name", "Treća"),
        ("ag_channels", "+381 64 123 4567"),
    ]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.text);
    assert!(res.contains(&format!("href=\"/staff/agencies/{global}\"")), "{}", res.text);
    // An unreadable channel and a missing name are field errors, in the user's language.
    let res = c.submit("/staff/agencies/new", "/staff/agencies/new", &[("ag_name", ""), ("ag_channels", "???")]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.contains("This field is required") && res.contains("not a web address, page, phone number"), "{}", res.text);
    // A channel the other agency may have.
    let res = c.post_form(&format!("/staff/agencies/{other}/channels"), &[
        ("csrf", other_page.csrf().as_str()),
        ("ch_value", "druga-agencija.rs"),
    ]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);

    // A report from a hotline contact: the social-media page in another spelling matches.
    let contact = job_offer_call(&c).await;
    let contact_page = c.get(&format!("/staff/desk/contacts/{contact}")).await;
    assert!(contact_page.contains("id=\"contact-job-offer\""), "{}", contact_page.text);
    let fb = [("rp_channels", "https://www.facebook.com/SomePage/"), ("rp_agency_name", "Posao Nemačka"), ("do", "match")];
    let res = report(&c, &contact, &fb).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert!(res.contains(&format!("value=\"{global}\"")), "{}", res.text);
    assert!(res.contains("Certain") && res.contains("same Social media"), "{}", res.text);
    assert!(!res.contains(&format!("value=\"{other}\"")), "{}", res.text);
    // And the phone number written the international way matches the national one.
    let res = report(&c, &contact, &[("rp_channels", "+381 64 123 4567"), ("do", "match")]).await;
    assert!(res.contains(&format!("value=\"{global}\"")) && res.contains("same Phone"), "{}", res.text);
    // Saving without a choice asks for one, keeping what was typed.
    let res = report(&c, &contact, &[("rp_channels", "+381 64 123 4567"), ("rp_ad_text", "Plata 2500 EUR"), ("do", "save")]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.contains("Choose an agency") && res.contains("Plata 2500 EUR"), "{}", res.text);
    // Saved for the agency chosen.
    let res = report(&c, &contact, &[
        ("rp_channels", "https://www.facebook.com/SomePage/\n+381 64 123 4567"),
        ("rp_agency_name", "Posao Nemačka"),
        ("rp_ad_text", "Plata 2500 EUR, smeštaj obezbeđen"),
        ("rp_country", "DE"),
        ("rp_job_type", "Skladištar"),
        ("rp_wage", "2500"),
        ("rp_fee", "300"),
        ("rp_flags", "fees"),
        ("rp_flags", "mobile_only"),
        ("rp_choice", global.as_str()),
        ("do", "save"),
    ]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    assert_eq!(res.location(), format!("/staff/agencies/{global}#reports"));
    let page = c.get(&format!("/staff/agencies/{global}")).await;
    for s in ["Plata 2500 EUR, smeštaj obezbeđen", "2026-11", "Skladištar", "2500.00 EUR", "300.00 EUR", "Fees charged to the worker", "Contact only through a mobile number"] {
        assert!(page.contains(s), "{s} missing: {}", page.text);
    }
    assert!(page.contains("id=\"report-months\"") && page.contains("<td>2026-11</td><td>1</td>"), "{}", page.text);
    // The caller sends a screenshot of the ad afterwards: added to the report, sealed, checked by
    // content, one per report.
    let rid = page.text.split("/reports/").nth(1).expect("the screenshot form").split('/').next().unwrap().to_owned();
    let shot_url = format!("/staff/agencies/{global}/reports/{rid}/screenshot?csrf={}", page.csrf());
    let png: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0";
    let res = c.post_multipart(&shot_url, &[], ("file", "oglas.png", b"%PDF-1.4\n%%EOF\n".to_vec())).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "a PDF named .png is refused: {}", res.text);
    let res = c.post_multipart(&shot_url, &[], ("file", "oglas.png", png.to_vec())).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    let page = c.get(&format!("/staff/agencies/{global}")).await;
    let href = format!("/staff/agencies/{global}/screenshots/");
    let sid = page.text.split(&href).nth(1).expect("the screenshot link").split('"').next().unwrap().to_owned();
    assert_eq!(c.get_bytes(&format!("{href}{sid}")).await, png);
    let res = c.post_multipart(&shot_url, &[], ("file", "drugi.png", png.to_vec())).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "one screenshot per report");
    assert!(res.contains("already has a screenshot"), "{}", res.text);
    // Another agency's report is not found through this one.
    let res = c.post_multipart(&format!("/staff/agencies/{other}/reports/{rid}/screenshot?csrf={}", page.csrf()), &[], ("file", "oglas.png", png.to_vec())).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    // The contact names the agency it mentions.
    let contact_page = c.get(&format!("/staff/desk/contacts/{contact}")).await;
    assert!(contact_page.contains(&format!("href=\"/staff/agencies/{global}\">Global Jobs d.o.o.</a>")), "{}", contact_page.text);
    // A new agency created from a report takes its channels.
    app.clock.advance(TimeDelta::minutes(5));
    let contact2 = job_offer_call(&c).await;
    let res = report(&c, &contact2, &[
        ("rp_channels", "poslovi-nemacka.example\n+381 65 555 0101"),
        ("rp_agency_name", "Poslovi Nemačka"),
        ("rp_choice", "new"),
        ("do", "save"),
    ]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    let created = res.location().trim_start_matches("/staff/agencies/").trim_end_matches("#reports").to_owned();
    let page = c.get(&format!("/staff/agencies/{created}")).await;
    assert!(page.contains("Poslovi Nemačka") && page.contains("poslovi-nemacka.example") && page.contains("+381655550101"), "{}", page.text);

    // The list: most recently reported first, with counts.
    let list = c.get("/staff/agencies").await;
    let first = list.text.find(&format!("agency-{created}")).unwrap();
    let second = list.text.find(&format!("agency-{global}")).unwrap();
    let never = list.text.find(&format!("agency-{other}")).unwrap();
    assert!(first < second && second < never, "{}", list.text);
    // Search by phone in any spelling, by web address, by name in the other script.
    for (q, want) in [("064/123-4567", &global), ("www.druga-agencija.rs", &other), ("global jobs", &global), ("Глобал Џобс", &global), ("21234567", &global)] {
        let res = c.submit("/staff/agencies", "/staff/agencies/search", &[("q", q)]).await;
        assert_eq!(res.status, StatusCode::OK);
        assert!(res.contains(&format!("agency-{want}")), "{q}: {}", res.text);
    }
    let res = c.submit("/staff/agencies", "/staff/agencies/search", &[("q", "+381 11 000 0000")]).await;
    assert!(res.contains("No agency matches"), "{}", res.text);
    // An alias removed is gone from the page.
    let page = c.get(&format!("/staff/agencies/{global}")).await;
    let alias = page.text.split("id=\"alias-").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let res = c.post_form(&format!("/staff/agencies/{global}/aliases/{alias}/remove"), &[("csrf", page.csrf().as_str())]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert!(!c.get(&format!("/staff/agencies/{global}")).await.contains("Глобал Џобс"));
    app.stop().await;
});

conformance!(async fn warnings_need_the_permission_a_reason_and_a_review_date(backend) {
    let app = app(backend).await;
    let (counsellor, _) = app.signed_in(&[Role::Counsellor]).await;
    let id = new_agency(&counsellor, &[("ag_name", "Brza Zarada")]).await;
    let path = format!("/staff/agencies/{id}/warning");
    let page = counsellor.get(&format!("/staff/agencies/{id}")).await;
    assert!(!page.contains("id=\"warning-form\""), "no form for those who may not publish");
    let res = counsellor.post_form(&path, &[
        ("csrf", page.csrf().as_str()),
        ("w_publish", "publish"),
        ("w_reason", "Traži novac unapred"),
        ("w_review_on", "2027-01-31"),
    ]).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    // Recording reports never publishes anything.
    let contact = job_offer_call(&counsellor).await;
    let res = report(&counsellor, &contact, &[("rp_agency_name", "Brza Zarada"), ("rp_choice", id.as_str()), ("do", "save")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    assert!(counsellor.get(&format!("/staff/agencies/{id}")).await.contains("No warning is published"));

    let (supervisor, _) = app.signed_in(&[Role::Supervisor]).await;
    let page = supervisor.get(&format!("/staff/agencies/{id}")).await;
    assert!(page.contains("id=\"warning-form\""), "{}", page.text);
    let res = supervisor.post_form(&path, &[("csrf", page.csrf().as_str()), ("w_publish", "publish"), ("w_reason", ""), ("w_review_on", "")]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.contains("id=\"w_reason-error\"") && res.contains("id=\"w_review_on-error\""), "{}", res.text);
    let res = supervisor.post_form(&path, &[("csrf", page.csrf().as_str()), ("w_publish", "publish"), ("w_reason", "Traži novac unapred"), ("w_review_on", "2026-11-01")]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "a review date in the past");
    assert!(res.contains("value=\"Traži novac unapred\"") || res.contains(">Traži novac unapred</textarea>"), "input kept: {}", res.text);
    let res = supervisor.post_form(&path, &[("csrf", page.csrf().as_str()), ("w_publish", "publish"), ("w_reason", "Traži novac unapred"), ("w_review_on", "2026-12-15")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    let page = supervisor.get(&format!("/staff/agencies/{id}")).await;
    assert!(page.contains("Warning published: Traži novac unapred") && page.contains("id=\"warning-history\""), "{}", page.text);
    let list = supervisor.get("/staff/agencies").await;
    assert!(list.contains("Warning published") && !list.contains("review overdue"), "{}", list.text);
    // After the review date the list shows it overdue.
    app.clock.advance(TimeDelta::days(20));
    let (supervisor, _) = app.signed_in(&[Role::Supervisor]).await;
    let list = supervisor.get("/staff/agencies").await;
    assert!(list.contains("review overdue since"), "{}", list.text);
    // Withdrawn, with the history kept.
    let page = supervisor.get(&format!("/staff/agencies/{id}")).await;
    let res = supervisor.post_form(&path, &[("csrf", page.csrf().as_str()), ("w_publish", "withdraw"), ("w_reason", "Agencija dobila dozvolu")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    let page = supervisor.get(&format!("/staff/agencies/{id}")).await;
    assert!(page.contains("No warning is published") && page.contains("Agencija dobila dozvolu") && page.contains("Traži novac unapred"), "{}", page.text);
    app.stop().await;
});

conformance!(async fn roles_without_the_permission_are_refused(backend) {
    let app = app(backend).await;
    let (counsellor, _) = app.signed_in(&[Role::Counsellor]).await;
    let id = new_agency(&counsellor, &[("ag_name", "Vidljiva")]).await;
    for role in [Role::Analyst, Role::Fundraiser, Role::PortalEditor] {
        let (c, _) = app.signed_in(&[role]).await;
        assert_eq!(c.get("/staff/agencies").await.status, StatusCode::FORBIDDEN, "{role}");
        assert_eq!(c.get(&format!("/staff/agencies/{id}")).await.status, StatusCode::FORBIDDEN, "{role}");
    }
    // A lawyer reads but does not change.
    let (lawyer, _) = app.signed_in(&[Role::Lawyer]).await;
    let page = lawyer.get(&format!("/staff/agencies/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.contains("id=\"channel-form\""));
    let res = lawyer.post_form(&format!("/staff/agencies/{id}/channels"), &[("csrf", page.csrf().as_str()), ("ch_value", "vidljiva.rs")]).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    // Another organisation's agency is not found.
    let (foreign, _) = app.signed_in_elsewhere(&[Role::Admin, Role::Supervisor]).await;
    assert_eq!(foreign.get(&format!("/staff/agencies/{id}")).await.status, StatusCode::NOT_FOUND);
    app.stop().await;
});

conformance!(async fn the_api_lists_creates_and_records_reports(backend) {
    let app = app(backend).await;
    let (c, _) = app.signed_in(&[Role::Counsellor]).await;
    let csrf = c.get("/staff/agencies").await.csrf();
    let h = [("x-csrf-token", csrf.as_str())];
    let res = c.post_json("/api/v1/agencies", &serde_json::json!({
        "name": "Api Agencija doo", "channels": ["https://api-agencija.example/jobs", "0641234567"], "countries": ["DE"]
    }), &h).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    let id = res.json()["agency"]["id"].as_str().unwrap().to_owned();
    let dup = c.post_json("/api/v1/agencies", &serde_json::json!({"name": "Kopija", "channels": ["+381641234567"]}), &h).await;
    assert_eq!(dup.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(dup.text.contains("agency-channel-taken"), "{}", dup.text);
    let res = c.post_json(&format!("/api/v1/agencies/{id}/reports"), &serde_json::json!({
        "agency_name": "Api", "ad_text": "Oglas", "red_flags": ["fees"], "fee_minor": 30000
    }), &h).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    let list = c.get("/api/v1/agencies").await;
    assert_eq!(list.json()[0]["report_count"], 1, "{}", list.text);
    let found = c.post_json("/api/v1/agencies/search", &serde_json::json!({"q": "+381 64 123 4567"}), &h).await;
    assert_eq!(found.json()[0]["id"], id.as_str(), "{}", found.text);
    let one = c.get(&format!("/api/v1/agencies/{id}")).await;
    assert_eq!(one.json()["channels"].as_array().unwrap().len(), 2, "{}", one.text);
    let doc = c.get("/api/openapi.json").await;
    for p in ["/api/v1/agencies", "/api/v1/agencies/search", "/api/v1/agencies/{id}", "/api/v1/agencies/{id}/reports"] {
        assert!(doc.json()["paths"].get(p).is_some(), "{p} not in the OpenAPI document");
    }
    app.stop().await;
});

// The portal's agency check.

fn visitor() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn token_of(text: &str) -> String {
    let marker = "name=\"token\" value=\"";
    let start = text.find(marker).unwrap() + marker.len();
    let end = text[start..].find('"').unwrap() + start;
    haven_testkit::html_unescape(&text[start..end])
}

async fn check(v: &reqwest::Client, app: &TestApp, lang: &str, q: &str) -> (StatusCode, String) {
    let form = v
        .get(format!("{}/{lang}/agency-check", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), StatusCode::OK);
    assert!(form.headers().get("set-cookie").is_none());
    let token = token_of(&form.text().await.unwrap());
    let r = v
        .post(format!("{}/{lang}/agency-check", app.base))
        .form(&[("token", token.as_str()), ("q", q)])
        .send()
        .await
        .unwrap();
    assert!(
        r.headers().get("set-cookie").is_none(),
        "the check sets no cookie"
    );
    if r.status() == StatusCode::OK {
        assert_eq!(r.headers().get("cache-control").unwrap(), "no-store");
    }
    (r.status(), r.text().await.unwrap())
}

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// The internal values of the fixture that the public must never see.
const INTERNAL: &[&str] = &[
    "INTERNAL-NOTE-FANTOM",
    "REPORT-TEXT-SECRET",
    "oglas-tajna.example",
    "tajni.regruter@example.org",
    "+381641112299",
    "Fantom Regruter",
    "Nemački Posao Fantom",
];

conformance!(async fn the_agency_check_answers_licensed_unlicensed_warned_and_unknown(backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.portal.challenge_after = 50;
        s.portal.refuse_after = 60;
    }).await;
    let org = app.state.default_org;
    let ring = app.state.keys.get(org).await.unwrap();
    let rng = app.state.rng.as_ref();
    let now = app.state.now();
    let (_, counsellor) = app.signed_in(&[Role::Counsellor]).await;
    let user = haven_store::users::by_email(&app.state.db, org, &counsellor.email).await.unwrap().unwrap().user.id;
    let ids = app.state.ids();
    let (licensed, unlicensed, warned): (Uuid, Uuid, Uuid) = (ids.uuid(), ids.uuid(), ids.uuid());
    let mut tx = app.state.db.begin().await.unwrap();
    let add = |name: &str| AgencyInput { name: name.into(), ..AgencyInput::default() };
    store::insert(&mut tx, &ring, rng, org, licensed, &add("Posao Plus d.o.o."), None, now).await.unwrap();
    store::set_licence(&mut tx, org, licensed, LicenceStatus::Licensed, Some(d("2026-11-01")), now).await.unwrap();
    let site = normalise_channel_as(ChannelKind::Website, "https://www.posaoplus.rs/o-nama", "RS").unwrap();
    store::add_channel(&mut tx, &ring, rng, org, ids.uuid(), licensed, &site, None, now).await.unwrap().unwrap();
    let fantom = AgencyInput { name: "Fantom Regruter".into(), notes: "INTERNAL-NOTE-FANTOM".into(), ..AgencyInput::default() };
    store::insert(&mut tx, &ring, rng, org, unlicensed, &fantom, None, now).await.unwrap();
    store::add_alias(&mut tx, org, ids.uuid(), unlicensed, "Nemački Posao Fantom", now).await.unwrap();
    store::set_licence(&mut tx, org, unlicensed, LicenceStatus::NotFound, Some(d("2026-11-01")), now).await.unwrap();
    for raw in ["064 111 2233", "+381 64 111 2299", "tajni.regruter@example.org", "oglas-tajna.example"] {
        let ch = haven_domain::agencies::normalise_channel(raw, "RS").unwrap();
        store::add_channel(&mut tx, &ring, rng, org, ids.uuid(), unlicensed, &ch, None, now).await.unwrap().unwrap();
    }
    for _ in 0..3 {
        store::insert_report(&mut tx, &ring, rng, org, &NewReport {
            id: ids.uuid(), agency_id: Some(unlicensed), contact_id: None, source: ReportSource::Hotline,
            reported_on: d("2026-11-20"), ad_text: "REPORT-TEXT-SECRET".into(), ad_url: String::new(), channels: Vec::new(),
            agency_name: "Fantom".into(), destination_country: Some("DE".into()), job_type: None, wage_minor: None,
            fee_minor: None, currency: "EUR".into(), red_flags: vec!["fees".into()], by: user, now,
        }).await.unwrap();
    }
    store::insert(&mut tx, &ring, rng, org, warned, &add("Opasni Poslovi"), None, now).await.unwrap();
    store::decide_warning(&mut tx, org, &WarningDecision {
        id: ids.uuid(), agency_id: warned, published: true, reason: "Traži novac unapred za vizu.".into(),
        review_on: Some(d("2027-02-01")), by: Some(user), at: now,
    }).await.unwrap();
    tx.commit().await.unwrap();
    let mut internal: Vec<String> = INTERNAL.iter().map(|s| (*s).to_owned()).collect();
    for id in [licensed, unlicensed, warned] {
        internal.push(id.to_string());
    }
    internal.push(counsellor.email.clone());

    let v = visitor();
    // The portal's home links the check; the form works in every language.
    let home = v.get(format!("{}/en", app.base)).send().await.unwrap().text().await.unwrap();
    assert!(home.contains("href=\"/en/agency-check\""), "{home}");
    for lang in ["sr-latn", "sr-cyrl", "en"] {
        let page = v.get(format!("{}/{lang}/agency-check", app.base)).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("method=\"post\"") && page.contains("name=\"q\""), "{lang}: {page}");
    }
    let sr = v.get(format!("{}/sr-cyrl/agency-check", app.base)).send().await.unwrap().text().await.unwrap();
    assert!(sr.contains("Провери агенцију"), "{sr}");

    // Licensed, by its web address in another spelling: the register's name and date.
    let (status, text) = check(&v, &app, "en", "http://posaoplus.rs").await;
    assert_eq!(status, StatusCode::OK);
    assert!(text.contains("A licensed employment agency matches: Posao Plus d.o.o. (register as of 1 Nov 2026)"), "{text}");
    // Unlicensed, by a phone number: not in the register, and nothing else about it.
    let (_, text) = check(&v, &app, "en", "+381 64 111 2233").await;
    assert!(text.contains("is not in the register of licensed employment agencies (as of 1 Nov 2026)"), "{text}");
    for s in &internal {
        assert!(!text.contains(s.as_str()), "{s} leaked: {text}");
    }
    assert!(!text.contains(">3<") && !text.contains(" 3 "), "no report count: {text}");
    // The same by its name (shown back in the field, as typed, and nowhere else).
    let (_, text) = check(&v, &app, "en", "Fantom Regruter").await;
    assert!(text.contains("not in the register"), "{text}");
    assert_eq!(text.matches("Fantom Regruter").count(), 1, "{text}");
    for s in internal.iter().filter(|s| s.as_str() != "Fantom Regruter") {
        assert!(!text.contains(s.as_str()), "{s} leaked: {text}");
    }
    // Warned: the public reason.
    let (_, text) = check(&v, &app, "sr-latn", "Opasni Poslovi").await;
    assert!(text.contains("Objavili smo upozorenje o oglašivaču Opasni Poslovi") && text.contains("Traži novac unapred za vizu."), "{text}");
    // Unknown: nothing matched, and what to check.
    let (_, text) = check(&v, &app, "en", "Sasvim Nepoznata Firma").await;
    assert!(text.contains("We found no licensed agency and no warning") && text.contains("Never hand over your passport"), "{text}");
    // The query is never in a URL: the form posts, and GET with a query answers only the form.
    let page = v.get(format!("{}/en/agency-check?q=Fantom", app.base)).send().await.unwrap().text().await.unwrap();
    assert!(!page.contains("Fantom") && !page.contains("agency-check-answer"), "{page}");
    // A cross-site post is refused.
    let r = v.post(format!("{}/en/agency-check", app.base))
        .header("sec-fetch-site", "cross-site")
        .form(&[("q", "Fantom")]).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    app.stop().await;
});

conformance!(async fn the_agency_check_is_rate_limited(backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.portal.challenge_after = 2;
        s.portal.refuse_after = 4;
    }).await;
    let v = visitor();
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(check(&v, &app, "en", "Nepoznata").await.0);
    }
    assert_eq!(statuses.last(), Some(&StatusCode::TOO_MANY_REQUESTS), "{statuses:?}");
    // Over the soft limit the form asks the sum.
    let page = v.get(format!("{}/en/agency-check", app.base)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("name=\"answer\""), "{page}");
    app.stop().await;
});
