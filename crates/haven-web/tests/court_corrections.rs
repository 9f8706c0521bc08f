//! Correcting what was recorded about a court proceeding, through the real application on both
//! backends: each kind of item corrected with the same checks as when it was recorded, a reason
//! required, the previous version kept and shown under the item, a mistaken item withdrawn (struck
//! through, left out of the figures, never deleted), only for those who may edit proceedings;
//! the list's filters and pages; the state compensation fund in the advocacy figures.

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

async fn ok(c: &Client, p: &str, action: &str, fields: &[(&str, &str)]) {
    let res = c
        .submit(
            &format!("/staff/proceedings/{p}"),
            &format!("/staff/proceedings/{p}/{action}"),
            fields,
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{action}: {}", res.text);
}

fn option(page: &Page, select: &str, label: &str) -> String {
    let start = page
        .text
        .find(&format!("<select id=\"{select}\""))
        .unwrap_or_else(|| panic!("no select {select}"));
    let end = page.text[start..].find("</select>").unwrap() + start;
    for opt in page.text[start..end].split("<option value=\"").skip(1) {
        let (value, rest) = opt.split_once('"').unwrap();
        if rest.contains(label) && !value.is_empty() {
            return value.to_owned();
        }
    }
    panic!("no option {label:?} in {select}")
}

/// The ids of the items of a kind that the page offers to correct, in page order.
fn items(page: &Page, p: &str, kind: &str) -> Vec<String> {
    let marker = format!("href=\"/staff/proceedings/{p}/corrections/{kind}/");
    page.text
        .split(&marker)
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].to_owned())
        .collect()
}

/// The text of the element with this id up to its item's end (the history shown under it).
fn under<'a>(page: &'a Page, id: &str) -> &'a str {
    let at = page
        .text
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no element {id}"));
    let rest = &page.text[at..];
    let end = rest
        .find("-correct\"")
        .or_else(|| rest.find("</tr>"))
        .unwrap_or(rest.len());
    &rest[..end]
}

/// Posts a correction of an item with the whole form, as the browser sends it.
async fn correct(c: &Client, p: &str, kind: &str, item: &str, fields: &[(&str, &str)]) -> Page {
    let url = format!("/staff/proceedings/{p}/corrections/{kind}/{item}");
    c.submit(&url, &url, fields).await
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

/// A criminal proceeding with one defendant charged with trafficking, indicted for mediation,
/// a guilty verdict, a claim, an award partly paid, an enforcement step and a fund application.
async fn recorded(c: &Client, court: &str) -> (String, String) {
    let p = proceeding(
        c,
        &[
            ("kind", "criminal"),
            ("court", court),
            ("opened_on", "2025-01-10"),
            ("org_role", "legal_representative"),
        ],
    )
    .await;
    ok(
        c,
        &p,
        "defendants",
        &[
            ("defendant_name", "Okrivljeni Ispravka"),
            ("defendant_offence", "388-1"),
            ("defendant_stage", "investigation"),
            ("defendant_charged_on", "2025-01-10"),
        ],
    )
    .await;
    let page = c.get(&format!("/staff/proceedings/{p}")).await;
    let d = option(&page, "charge_defendant", "Okrivljeni Ispravka");
    ok(
        c,
        &p,
        "charges",
        &[
            ("charge_defendant", &d),
            ("charge_offence", "184-1"),
            ("charge_stage", "indictment"),
            ("charge_on", "2025-03-01"),
        ],
    )
    .await;
    ok(
        c,
        &p,
        "events",
        &[
            ("event_kind", "verdict"),
            ("event_on", "2025-06-01"),
            ("event_defendant", &d),
            ("event_outcome", "guilty"),
            ("event_sentence", "prison"),
            ("event_months", "36"),
            ("event_deadline", "2025-06-16"),
        ],
    )
    .await;
    ok(
        c,
        &p,
        "claims",
        &[("claim_filed_on", "2025-04-01"), ("claim_amount", "5000")],
    )
    .await;
    ok(
        c,
        &p,
        "awards",
        &[
            ("award_source", "criminal_trial"),
            ("award_on", "2025-06-01"),
            ("award_amount", "1000"),
        ],
    )
    .await;
    let page = c.get(&format!("/staff/proceedings/{p}")).await;
    let award = option(&page, "payment_award", "1000.00 RSD");
    ok(
        c,
        &p,
        "payments",
        &[
            ("payment_award", &award),
            ("payment_on", "2025-07-01"),
            ("payment_amount", "600"),
        ],
    )
    .await;
    ok(
        c,
        &p,
        "payments",
        &[
            ("payment_award", &award),
            ("payment_on", "2025-08-01"),
            ("payment_amount", "400"),
        ],
    )
    .await;
    ok(
        c,
        &p,
        "enforcement",
        &[
            ("step_award", &award),
            ("step_kind", "filed"),
            ("step_on", "2025-07-15"),
            ("step_note", "Predlog za izvršenje"),
        ],
    )
    .await;
    ok(
        c,
        &p,
        "fund",
        &[
            ("fund_applied_on", "2025-09-01"),
            ("fund_amount", "2000"),
            ("fund_decision", "pending"),
        ],
    )
    .await;
    (p, d)
}

conformance!(async fn each_kind_is_corrected_with_the_same_checks_and_its_history_kept(backend) {
    let app = app(backend).await;
    let (c, _) = app.signed_in(&[Role::Lawyer]).await;
    let court = institution(&app, InstitutionKind::Court, "Higher Court in Belgrade").await;
    let (p, d) = recorded(&c, &court).await;
    let page = c.get(&format!("/staff/proceedings/{p}")).await;
    let charges = items(&page, &p, "charge");
    assert_eq!(charges.len(), 2, "each charge can be corrected");
    let (first_charge, indictment) = (charges[0].clone(), charges[1].clone());
    let event = items(&page, &p, "event")[0].clone();
    let claim = items(&page, &p, "claim")[0].clone();
    let award = items(&page, &p, "award")[0].clone();
    let payments = items(&page, &p, "payment");
    assert_eq!(payments.len(), 2);
    let step = items(&page, &p, "step")[0].clone();
    let fund = items(&page, &p, "fund")[0].clone();

    // The form comes filled with what was recorded; a charge's page says what a re-qualification is.
    let form = c.get(&format!("/staff/proceedings/{p}/corrections/event/{event}")).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.contains("value=\"2025-06-01\"") && form.contains("value=\"36\""), "{}", form.text);
    assert!(form.contains("<option value=\"guilty\" selected>"));
    let form = c.get(&format!("/staff/proceedings/{p}/corrections/charge/{indictment}")).await;
    assert!(form.contains("id=\"requalification-note\""));
    assert!(form.contains("that is a re-qualification: record it as a new charge"));
    assert!(form.contains("<option value=\"184-1\" selected>"));
    assert_eq!(c.get(&format!("/staff/proceedings/{p}/corrections/event/{claim}")).await.status, StatusCode::NOT_FOUND, "an item of another kind");
    assert_eq!(c.get(&format!("/staff/proceedings/{p}/corrections/nothing/{event}")).await.status, StatusCode::NOT_FOUND);

    // The event: a reason is required; the corrected values are checked as when recorded.
    let verdict = |on: &'static str, months: &'static str| vec![
        ("event_kind", "verdict"), ("event_on", on), ("event_defendant", d.as_str()),
        ("event_outcome", "guilty"), ("event_sentence", "prison"), ("event_months", months),
        ("event_deadline", "2025-06-16"),
    ];
    let res = correct(&c, &p, "event", &event, &verdict("2025-06-01", "48")).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.contains("Give the reason."), "{}", res.text);
    assert!(res.contains("value=\"48\""), "what was typed is kept");
    let mut before = verdict("2025-02-15", "48");
    before.push(("correction_reason", "datum pogrešno upisan"));
    let res = correct(&c, &p, "event", &event, &before).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.contains("There is no indictment by this date"), "{}", res.text);
    let mut same = verdict("2025-06-01", "36");
    same.push(("correction_reason", "nothing"));
    assert!(correct(&c, &p, "event", &event, &same).await.contains("Nothing was changed"));
    let mut fixed = verdict("2025-06-01", "48");
    fixed.push(("correction_reason", "kazna je 4 godine"));
    let res = correct(&c, &p, "event", &event, &fixed).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    let page = c.get(&format!("/staff/proceedings/{p}")).await;
    assert!(page.contains("4 years"), "the corrected sentence is shown");
    let history = under(&page, &format!("event-{event}"));
    assert!(history.contains("kazna je 4 godine"), "{history}");
    assert!(history.contains("Length (months) was 36"), "{history}");

    // A charge: the indictment cannot move after the verdict it led to, nor back a stage.
    let charge = |stage: &'static str, on: &'static str| vec![
        ("charge_defendant", d.as_str()), ("charge_offence", "184-1"), ("charge_stage", stage), ("charge_on", on),
        ("correction_reason", "greška u datumu"),
    ];
    let res = correct(&c, &p, "charge", &indictment, &charge("indictment", "2025-07-01")).await;
    assert!(res.contains("would then come before the indictment"), "{}", res.text);
    let res = correct(&c, &p, "charge", &first_charge, &[
        ("charge_defendant", &d), ("charge_offence", "388-1"), ("charge_stage", "appeal"), ("charge_on", "2025-01-10"),
        ("correction_reason", "x"),
    ]).await;
    assert!(res.contains("would then go back a stage"), "{}", res.text);
    let res = correct(&c, &p, "charge", &first_charge, &[
        ("charge_defendant", &d), ("charge_offence", "388-99"), ("charge_stage", "investigation"), ("charge_on", "2025-01-10"),
        ("correction_reason", "x"),
    ]).await;
    assert!(res.contains("Unknown article"));
    let res = correct(&c, &p, "charge", &indictment, &charge("indictment", "2025-03-05")).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    let page = c.get(&format!("/staff/proceedings/{p}")).await;
    assert!(under(&page, &format!("charge-{indictment}")).contains("Date was 1 Mar 2025"));
    assert!(page.contains("re-qualified"), "a correction does not hide the re-qualification");

    // The claim, with its decision: not decided before it was filed.
    let res = correct(&c, &p, "claim", &claim, &[
        ("claim_filed_on", "2025-04-01"), ("claim_amount", "5000"), ("claim_currency", "RSD"),
        ("decision", "referred_to_civil"), ("decision_on", "2025-03-01"), ("correction_reason", "odluka"),
    ]).await;
    assert!(res.contains("A claim cannot be decided before it was filed."), "{}", res.text);
    let res = correct(&c, &p, "claim", &claim, &[
        ("claim_filed_on", "2025-04-01"), ("claim_amount", "5500"), ("claim_currency", "RSD"),
        ("correction_reason", "iznos"),
    ]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);

    // A payment: never more than the award; the award never less than what was paid.
    let pay = |amount: &'static str| vec![
        ("payment_award", award.as_str()), ("payment_on", "2025-07-01"), ("payment_amount", amount),
        ("correction_reason", "iznos uplate"),
    ];
    let res = correct(&c, &p, "payment", &payments[0], &pay("700")).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.contains("Payments cannot exceed the award: at most 600.00 remains to be paid."), "{}", res.text);
    let res = correct(&c, &p, "payment", &payments[0], &pay("500")).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    let res = correct(&c, &p, "award", &award, &[
        ("award_source", "criminal_trial"), ("award_on", "2025-06-01"), ("award_amount", "800"), ("award_currency", "RSD"),
        ("correction_reason", "iznos"),
    ]).await;
    assert!(res.contains("More has already been paid on this award: 900.00."), "{}", res.text);
    let res = correct(&c, &p, "award", &award, &[
        ("award_source", "criminal_trial"), ("award_on", "2025-07-05"), ("award_amount", "1000"), ("award_currency", "RSD"),
        ("correction_reason", "datum"),
    ]).await;
    assert!(res.contains("A payment on this award was recorded before this date."));
    let res = correct(&c, &p, "award", &award, &[
        ("award_source", "criminal_trial"), ("award_on", "2025-06-01"), ("award_amount", "1200"), ("award_currency", "RSD"),
        ("correction_reason", "iznos presude"),
    ]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);

    // An enforcement step and a fund application.
    let res = correct(&c, &p, "step", &step, &[
        ("step_award", &award), ("step_kind", "ordered"), ("step_on", "2024-07-15"), ("correction_reason", "datum"),
    ]).await;
    assert!(res.contains("This is before the proceeding started."));
    let res = correct(&c, &p, "step", &step, &[
        ("step_award", &award), ("step_kind", "ordered"), ("step_on", "2025-07-15"), ("step_note", "Rešenje o izvršenju"),
        ("correction_reason", "vrsta radnje"),
    ]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    let res = correct(&c, &p, "fund", &fund, &[
        ("fund_applied_on", "2025-09-01"), ("fund_amount", "2000"), ("fund_currency", "RSD"),
        ("fund_decision", "granted"), ("fund_decided_on", "2025-08-01"), ("correction_reason", "odluka"),
    ]).await;
    assert!(res.contains("A decision cannot come before the application."), "{}", res.text);
    let res = correct(&c, &p, "fund", &fund, &[
        ("fund_applied_on", "2025-09-01"), ("fund_amount", "2000"), ("fund_currency", "RSD"),
        ("fund_decision", "granted"), ("fund_decided_on", "2025-10-01"), ("fund_granted", "1500"),
        ("correction_reason", "fond je odlučio"),
    ]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);

    let page = c.get(&format!("/staff/proceedings/{p}")).await;
    assert!(under(&page, &format!("claim-{claim}")).contains("Amount claimed was 5000.00"));
    assert!(under(&page, &format!("payment-{}", payments[0])).contains("Amount paid was 600.00"));
    assert!(under(&page, &format!("award-{award}")).contains("Amount awarded was 1000.00"));
    let step_history = under(&page, &format!("step-{step}"));
    assert!(step_history.contains("vrsta radnje") && step_history.contains("Note was Predlog za izvršenje"), "{step_history}");
    assert!(under(&page, &format!("fund-{fund}")).contains("fond je odlučio"));
    assert!(page.contains("granted 1500.00 RSD"));

    // Every correction is audited, naming the fields, not their values.
    let audited = audit_list(&app.state.db, app.state.default_org, &AuditFilter {
        action_prefix: Some("proceeding.item_corrected".into()),
        ..Default::default()
    }, 100).await.unwrap();
    assert_eq!(audited.len(), 7, "one for each kind: {audited:?}");
    let all = format!("{audited:?}");
    assert!(all.contains("event_months") && !all.contains("kazna je"), "{all}");
});

conformance!(async fn a_withdrawn_item_stays_struck_through_and_leaves_the_figures(backend) {
    let app = app(backend).await;
    let (c, _) = app.signed_in(&[Role::Lawyer]).await;
    let (counsellor, _) = app.signed_in(&[Role::Counsellor]).await;
    let (analyst, _) = app.signed_in(&[Role::Analyst]).await;
    let court = institution(&app, InstitutionKind::Court, "Higher Court in Belgrade").await;
    let (p, _) = recorded(&c, &court).await;
    let figures = c.get("/staff/court/figures").await;
    assert_eq!(count_of(&figures, "convictions"), "1");
    assert!(row_of(&figures, "compensation-paid").contains("RSD 1000.00"));
    assert_eq!(count_of(&figures, "compensation-fully-paid"), "1");
    assert_eq!(count_of(&figures, "claims-filed"), "1");

    let page = c.get(&format!("/staff/proceedings/{p}")).await;
    let payment = items(&page, &p, "payment")[1].clone();
    let event = items(&page, &p, "event")[0].clone();
    let claim = items(&page, &p, "claim")[0].clone();
    let withdrawal = |kind: &str, item: &str| format!("/staff/proceedings/{p}/withdrawals/{kind}/{item}");
    let form = format!("/staff/proceedings/{p}/corrections/payment/{payment}");

    // Those who may not edit proceedings may not correct or withdraw.
    for who in [&counsellor, &analyst] {
        assert_eq!(who.get(&form).await.status, StatusCode::FORBIDDEN);
        let csrf = who.get("/staff/profile").await.csrf();
        let res = who.post_form(&withdrawal("payment", &payment), &[("csrf", &csrf), ("withdraw_reason", "x")]).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN);
        let res = who.post_form(&form, &[("csrf", &csrf), ("correction_reason", "x")]).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN);
    }

    // A reason is required.
    let res = c.submit(&form, &withdrawal("payment", &payment), &[("withdraw_reason", " ")]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.contains("Give the reason."));
    for (kind, item, why) in [("payment", &payment, "uneta dvaput"), ("event", &event, "pogrešan postupak"), ("claim", &claim, "nije podnet")] {
        let res = c.submit(&form, &withdrawal(kind, item), &[("withdraw_reason", why)]).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{kind}: {}", res.text);
    }
    let page = c.get(&format!("/staff/proceedings/{p}")).await;
    let line = under(&page, &format!("payment-{payment}"));
    assert!(line.contains("withdrawn") && line.contains("uneta dvaput"), "{line}");
    assert!(page.contains(&format!("id=\"event-{event}\" class=\"withdrawn\"")), "struck through");
    assert!(page.contains("400.00 RSD"), "the withdrawn payment stays on the page");
    assert!(!page.contains(&format!("/corrections/payment/{payment}")), "a withdrawn item is not corrected");
    // Withdrawn once only; a withdrawn item's correction is refused.
    let res = c.submit(&form, &withdrawal("payment", &payment), &[("withdraw_reason", "again")]).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);

    let figures = c.get("/staff/court/figures").await;
    assert_eq!(count_of(&figures, "convictions"), "0", "the withdrawn verdict is not counted");
    assert!(row_of(&figures, "compensation-paid").contains("RSD 600.00"), "{}", row_of(&figures, "compensation-paid"));
    assert_eq!(count_of(&figures, "compensation-fully-paid"), "0");
    assert_eq!(count_of(&figures, "claims-filed"), "0");
    let csv = c.get("/staff/court/figures.csv").await;
    assert!(csv.contains("\"convictions\",\"Convictions (verdicts and plea agreements)\",\"0\""), "{}", csv.text);
    // Nothing was deleted.
    let kept = haven_store::court::payments(&app.state.db, app.state.default_org, p.parse().unwrap()).await.unwrap();
    assert_eq!(kept.len(), 2);
    let audited = audit_list(&app.state.db, app.state.default_org, &AuditFilter {
        action_prefix: Some("proceeding.item_withdrawn".into()),
        ..Default::default()
    }, 100).await.unwrap();
    assert_eq!(audited.len(), 3);
    // The freed amount may be paid again.
    let page = c.get(&format!("/staff/proceedings/{p}")).await;
    let award = option(&page, "payment_award", "1000.00 RSD");
    ok(&c, &p, "payments", &[("payment_award", &award), ("payment_on", "2025-09-01"), ("payment_amount", "400")]).await;
});

conformance!(async fn the_list_is_filtered_and_paged_without_names_in_the_address(backend) {
    let app = app(backend).await;
    let (c, lawyer) = app.signed_in(&[Role::Lawyer]).await;
    let (other, _) = app.signed_in(&[Role::Lawyer]).await;
    let higher = institution(&app, InstitutionKind::Court, "Higher Court in Belgrade").await;
    let basic = institution(&app, InstitutionKind::Court, "First Basic Court").await;
    let me_id = haven_store::users::by_email(&app.state.db, app.state.default_org, &lawyer.email).await.unwrap().unwrap().user.id.to_string();
    // Twenty-six misdemeanour proceedings at the basic court, one a page beyond the first.
    for day in 1..=26 {
        let on = format!("2024-03-{day:02}");
        proceeding(&other, &[("kind", "misdemeanour"), ("court", &basic), ("opened_on", &on), ("org_role", "observer")]).await;
    }
    // Two criminal ones of mine at the higher court: one indicted, with a hearing ahead.
    let a = proceeding(&c, &[("kind", "criminal"), ("court", &higher), ("opened_on", "2025-01-10"), ("org_role", "legal_representative"), ("lawyer", &me_id)]).await;
    ok(&c, &a, "defendants", &[
        ("defendant_name", "Okrivljeni Filter"), ("defendant_offence", "388-1"),
        ("defendant_stage", "indictment"), ("defendant_charged_on", "2025-02-01"),
    ]).await;
    ok(&c, &a, "events", &[("event_kind", "hearing"), ("event_on", "2027-02-01")]).await;
    let b = proceeding(&c, &[("kind", "criminal"), ("court", &higher), ("opened_on", "2025-06-10"), ("org_role", "observer"), ("lawyer", &me_id)]).await;

    let list = c.get("/staff/proceedings").await;
    assert!(list.contains("Page 1 of 2 · 28 proceedings"), "{}", list.text);
    assert!(list.contains(&a) && list.contains(&b), "latest first");
    let next = list.text.split("id=\"next-page\"").next().unwrap();
    let next = &next[next.rfind("href=\"").unwrap() + 6..];
    let next = next[..next.find('"').unwrap()].replace("&#38;", "&");
    let page2 = c.get(&next).await;
    assert!(page2.contains("Page 2 of 2"), "{next}");
    assert_eq!(page2.text.matches("<tr><td><a href=\"/staff/proceedings/").count(), 3, "the three oldest");
    assert!(!page2.contains(&a));

    let find = |q: &'static str| {
        let c = &c;
        async move { c.get(&format!("/staff/proceedings?{q}")).await }
    };
    let criminal = find("kind=criminal").await;
    assert!(criminal.contains(&a) && criminal.contains(&b) && criminal.contains("· 2 proceedings"));
    let at_basic = c.get(&format!("/staff/proceedings?court={basic}")).await;
    assert!(at_basic.contains("· 26 proceedings") && !at_basic.contains(&a));
    let indicted = find("stage=indictment").await;
    assert!(indicted.contains(&a) && !indicted.contains(&b) && indicted.contains("· 1 proceedings"), "{}", indicted.text);
    let mine = c.get(&format!("/staff/proceedings?lawyer={me_id}")).await;
    assert!(mine.contains("· 2 proceedings"));
    let ahead = find("deadline=1").await;
    assert!(ahead.contains(&a) && !ahead.contains(&b) && ahead.contains("· 1 proceedings"), "{}", ahead.text);
    let period = find("from=2025-06-01&to=2025-12-31").await;
    assert!(period.contains(&b) && !period.contains(&a) && period.contains("· 1 proceedings"));
    let none = find("kind=civil").await;
    assert!(none.contains("No proceeding matches these filters."));
    // The filters stay in the links between pages, and in the form.
    let filtered = c.get(&format!("/staff/proceedings?court={basic}&kind=misdemeanour")).await;
    assert!(filtered.contains(&format!("kind=misdemeanour&#38;court={basic}&#38;stage=&#38;lawyer=&#38;deadline=&#38;from=&#38;to=&#38;page=2")), "{}", filtered.text);
    assert!(filtered.contains("<option value=\"misdemeanour\" selected>"));
    let bad = find("from=2025-13-01").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.contains("Enter a date such as"));
});

conformance!(async fn fund_applications_are_counted_in_the_figures(backend) {
    let app = app(backend).await;
    let (c, _) = app.signed_in(&[Role::Lawyer]).await;
    let (analyst, _) = app.signed_in(&[Role::Analyst]).await;
    let higher = institution(&app, InstitutionKind::Court, "Higher Court in Belgrade").await;
    let basic = institution(&app, InstitutionKind::Court, "First Basic Court").await;
    let p1 = proceeding(&c, &[("kind", "criminal"), ("court", &higher), ("opened_on", "2025-01-10"), ("org_role", "legal_representative")]).await;
    let p2 = proceeding(&c, &[("kind", "criminal"), ("court", &basic), ("opened_on", "2025-05-10"), ("org_role", "observer")]).await;
    ok(&c, &p1, "fund", &[("fund_applied_on", "2025-03-01"), ("fund_amount", "2000"), ("fund_decision", "granted"), ("fund_decided_on", "2025-04-01"), ("fund_granted", "1500")]).await;
    ok(&c, &p1, "fund", &[("fund_applied_on", "2025-03-02"), ("fund_amount", "1000"), ("fund_decision", "refused"), ("fund_decided_on", "2025-04-01")]).await;
    ok(&c, &p2, "fund", &[("fund_applied_on", "2025-06-01"), ("fund_amount", "3000"), ("fund_decision", "granted")]).await;
    ok(&c, &p2, "fund", &[("fund_applied_on", "2025-06-02"), ("fund_amount", "700")]).await;
    // A civil suit that follows the first counts with it.
    let civil = c.submit(&format!("/staff/proceedings/new?parent={p1}&kind=civil"), "/staff/proceedings/new", &[
        ("kind", "civil"), ("court", &basic), ("opened_on", "2025-07-01"), ("org_role", "legal_representative"), ("parent", &p1),
    ]).await;
    let civil = civil.location().trim_start_matches("/staff/proceedings/").to_owned();
    ok(&c, &civil, "fund", &[("fund_applied_on", "2025-08-01"), ("fund_amount", "500")]).await;
    // Validation: a granted amount only on a granted application, a decision not before the application.
    let res = c.submit(&format!("/staff/proceedings/{p1}"), &format!("/staff/proceedings/{p1}/fund"), &[
        ("fund_applied_on", "2025-03-01"), ("fund_amount", "10"), ("fund_decision", "refused"), ("fund_granted", "5"),
    ]).await;
    assert!(res.contains("Only a granted application has an amount granted."));

    let figs = analyst.get("/staff/court/figures").await;
    assert_eq!(count_of(&figs, "fund-applications"), "5");
    assert!(row_of(&figs, "fund-applications").contains("RSD 7200.00"));
    assert_eq!(count_of(&figs, "fund-granted"), "2");
    assert!(row_of(&figs, "fund-granted").contains("RSD 4500.00"), "the amount granted, else asked");
    assert!(row_of(&figs, "fund-granted").contains("40.0 %"));
    assert_eq!(count_of(&figs, "fund-refused"), "1");
    assert_eq!(count_of(&figs, "fund-pending"), "2");
    // Per court and period.
    let at_higher = c.get(&format!("/staff/court/figures?court={higher}")).await;
    assert_eq!(count_of(&at_higher, "fund-applications"), "3");
    assert_eq!(count_of(&at_higher, "fund-pending"), "1", "the civil suit's application");
    let later = c.get("/staff/court/figures?from=2025-05-01").await;
    assert_eq!(count_of(&later, "fund-applications"), "2");
    assert!(row_of(&later, "fund-granted").contains("RSD 3000.00"));
    // The proceedings behind a figure, and the CSV.
    let drill = c.get("/staff/court/figures/proceedings?figure=fund-refused").await;
    assert!(drill.contains(&p1) && !drill.contains(&p2));
    let drill = c.get("/staff/court/figures/proceedings?figure=fund-pending").await;
    assert!(drill.contains(&p1) && drill.contains(&p2));
    let csv = c.get("/staff/court/figures.csv").await;
    assert!(csv.contains("\"fund-granted\",\"granted\",\"2\",\"5\",\"40.0\",\"RSD 4500.00\""), "{}", csv.text);
    assert!(csv.contains("\"fund-applications\",\"Applications to a state compensation fund\",\"5\""));
    // The API lists them too.
    let api: serde_json::Value = serde_json::from_str(&c.get("/api/v1/court/figures").await.text).unwrap();
    let granted = api.as_array().unwrap().iter().find(|f| f["key"] == "fund-granted").unwrap();
    assert_eq!(granted["count"], 2);
});

conformance!(async fn a_corrected_or_withdrawn_hearing_moves_or_closes_its_task(backend) {
    let app = app(backend).await;
    let (advisor, _) = app.signed_in(&[Role::Counsellor]).await;
    let (c, _) = app.signed_in(&[Role::Lawyer]).await;
    let court = institution(&app, InstitutionKind::Court, "Higher Court in Belgrade").await;
    let res = advisor.submit("/staff/cases/new", "/staff/cases/new", &[("kind", "trafficking"), ("summary", "Ponuda za posao.")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    let case = res.location().trim_start_matches("/staff/cases/").to_owned();
    let page = advisor.get(&format!("/staff/cases/{case}")).await;
    let start = page.text.find("<title>").unwrap() + 7;
    let number: String = page.text[start..].split(' ').next().unwrap().to_owned();
    let p = proceeding(&c, &[
        ("kind", "criminal"), ("court", &court), ("opened_on", "2025-01-10"),
        ("org_role", "legal_representative"), ("case_number", &number),
    ]).await;
    ok(&c, &p, "events", &[("event_kind", "hearing"), ("event_on", "2027-01-15")]).await;
    let event = items(&c.get(&format!("/staff/proceedings/{p}")).await, &p, "event")[0].clone();
    // Tasks on the case page (not the timeline): (all, done).
    let tasks = |page: &Page| -> (usize, usize) {
        let mut all = 0;
        let mut done = 0;
        for item in page.text.split("<li class=\"").skip(1) {
            let Some((class, rest)) = item.split_once("\">") else { continue };
            if rest.starts_with("Court: Hearing") {
                all += 1;
                done += usize::from(class == "done");
            }
        }
        (all, done)
    };
    let page = advisor.get(&format!("/staff/cases/{case}")).await;
    assert!(page.contains("Court: Hearing — deadline 15 Jan 2027"), "{}", page.text);
    assert_eq!(tasks(&page), (1, 0));

    // The hearing's date was mistyped. Its deadline was its date: the form leaves it empty so
    // that it follows the corrected date; a deadline typed before the hearing is refused.
    let form = c.get(&format!("/staff/proceedings/{p}/corrections/event/{event}")).await;
    assert!(form.contains("value=\"2027-01-15\""), "{}", form.text);
    assert!(form.contains("name=\"event_deadline\" type=\"date\" value=\"\""), "{}", form.text);
    let res = correct(&c, &p, "event", &event, &[
        ("event_kind", "hearing"), ("event_on", "2027-01-20"), ("event_deadline", "2027-01-15"), ("correction_reason", "datum"),
    ]).await;
    assert!(res.contains("The deadline cannot come before the event."), "{}", res.text);
    let res = correct(&c, &p, "event", &event, &[
        ("event_kind", "hearing"), ("event_on", "2027-01-20"), ("correction_reason", "datum ročišta"),
    ]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    let page = advisor.get(&format!("/staff/cases/{case}")).await;
    assert!(page.contains("class=\"done\">Court: Hearing — deadline 15 Jan 2027"), "{}", page.text);
    assert!(page.contains("Court: Hearing — deadline 20 Jan 2027"));
    assert_eq!(tasks(&page), (2, 1), "one open, one closed");

    // Withdrawn: no task is left open.
    let form = format!("/staff/proceedings/{p}/corrections/event/{event}");
    let res = c.submit(&form, &format!("/staff/proceedings/{p}/withdrawals/event/{event}"), &[("withdraw_reason", "pogrešan postupak")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    let page = advisor.get(&format!("/staff/cases/{case}")).await;
    assert_eq!(tasks(&page), (2, 2), "{}", page.text);
    let ahead = c.get("/staff/proceedings?deadline=1").await;
    assert!(!ahead.contains(&p), "a withdrawn hearing is no deadline ahead");
});
