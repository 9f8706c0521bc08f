//! A trafficking trial in a real browser (headless Chromium over WebDriver): a lawyer records a
//! proceeding that starts under art. 388, is re-qualified to art. 184 at indictment and ends in a
//! plea agreement with the property claim referred to a civil suit; the civil suit awards
//! compensation that is partly paid; the advocacy figures count each of these.
//!
//! Run with `HAVEN_TEST_BROWSER=1 cargo test -p haven-web --test browser_court`.

// Stories written as async functions are tests too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use haven_domain::Role;
use haven_domain::institutions::InstitutionKind;
use haven_testkit::{Browser, TestApp, TestBackend};

async fn choose(b: &Browser, select: &str, value: &str) {
    b.click(&format!("{select} option[value=\"{value}\"]"))
        .await;
}

/// Chooses the first real option of a select (the one after the empty choice).
async fn choose_first(b: &Browser, select: &str) {
    b.click(&format!("{select} option:nth-child(2)")).await;
}

/// Sets a date field (typing dates differs between locales).
async fn set_date(b: &Browser, id: &str, value: &str) {
    b.client
        .execute(
            &format!("document.getElementById('{id}').value = arguments[0];"),
            vec![serde_json::json!(value)],
        )
        .await
        .unwrap();
}

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

/// Opens a form of the proceeding page.
async fn open(b: &Browser, form: &str) {
    b.click(&format!("#{form} summary")).await;
}

async fn court(app: &TestApp, name: &str) -> String {
    haven_store::institutions::search(
        &app.state.db,
        app.state.default_org,
        Some(InstitutionKind::Court),
        "",
    )
    .await
    .unwrap()
    .into_iter()
    .find(|i| i.name_en.as_deref().unwrap_or("").contains(name))
    .unwrap()
    .id
    .to_string()
}

async fn figure(b: &Browser, key: &str) -> String {
    b.text(&format!("#fig-{key} .count")).await
}

haven_testkit::browser_test! {
    async fn a_trafficking_charge_requalified_ends_in_a_plea_and_a_civil_award_partly_paid() {
        let app = TestApp::spawn_with(TestBackend::Sqlite, |s| {
            s.session.idle_timeout_minutes = 24 * 60;
            s.session.absolute_lifetime_hours = 72;
        })
        .await;
        let lawyer = app.add_user(&[Role::Lawyer]).await;
        let higher = court(&app, "Higher Court in Belgrade").await;
        let basic = court(&app, "First Basic Court").await;
        let b = Browser::start(&app.base).await;
        b.sign_in_first_time(&app, &lawyer).await;

        // The criminal proceeding at the Higher Court.
        b.goto("/staff/proceedings").await;
        b.click("#new-proceeding").await;
        b.wait_for_path("/staff/proceedings/new").await;
        choose(&b, "#kind", "criminal").await;
        choose(&b, "#court", &higher).await;
        b.type_into("#court_number", "KTR 14/25").await;
        set_date(&b, "opened_on", "2025-01-10").await;
        b.click("#proceeding-submit").await;
        wait_for(&b, "id=\"proceeding-stage\"").await;
        let criminal = b.path().await;
        assert!(criminal.starts_with("/staff/proceedings/"), "{criminal}");

        // The defendant, first charged with trafficking during the investigation.
        open(&b, "defendant").await;
        b.type_into("#defendant_name", "Marko Okrivljeni").await;
        choose(&b, "#defendant_offence", "388-1").await;
        choose(&b, "#defendant_stage", "investigation").await;
        set_date(&b, "defendant_charged_on", "2025-01-10").await;
        b.click("#defendant-submit").await;
        wait_for(&b, "<h3>Marko Okrivljeni</h3>").await;

        // The indictment re-qualifies it as mediation in prostitution.
        open(&b, "charge").await;
        choose_first(&b, "#charge_defendant").await;
        choose(&b, "#charge_offence", "184-1").await;
        choose(&b, "#charge_stage", "indictment").await;
        set_date(&b, "charge_on", "2025-03-01").await;
        b.click("#charge-submit").await;
        wait_for(&b, "class=\"requalified\"").await;

        // The victim's property claim.
        open(&b, "claim").await;
        set_date(&b, "claim_filed_on", "2025-04-01").await;
        b.type_into("#claim_amount", "500000").await;
        b.click("#claim-submit").await;
        wait_for(&b, "500000.00 RSD").await;

        // A plea agreement: one year, the injured party invited to claim.
        open(&b, "event").await;
        choose(&b, "#event_kind", "plea_agreement").await;
        set_date(&b, "event_on", "2025-06-01").await;
        choose_first(&b, "#event_defendant").await;
        choose(&b, "#event_sentence", "prison").await;
        b.type_into("#event_months", "12").await;
        b.click("#event_claim_invited").await;
        b.click("#event-submit").await;
        wait_for(&b, "Plea agreement</strong>").await;
        assert!(b.text("#proceeding-stage").await.contains("Final"));

        // The claim is referred to a civil suit.
        open(&b, "decision").await;
        choose_first(&b, "#decision_claim").await;
        choose(&b, "#decision", "referred_to_civil").await;
        set_date(&b, "decision_on", "2025-06-01").await;
        b.click("#decision-submit").await;
        wait_for(&b, "<span class=\"item-text\">Referred to a civil suit, 1 Jun 2025</span>").await;

        // The civil suit, recorded from the criminal proceeding.
        b.click("#new-civil-suit").await;
        wait_for(&b, "id=\"proceeding-form\"").await;
        assert!(b.path().await.starts_with("/staff/proceedings/new"));
        choose(&b, "#court", &basic).await;
        set_date(&b, "opened_on", "2025-07-01").await;
        b.click("#proceeding-submit").await;
        wait_for(&b, "id=\"proceeding-stage\"").await;
        let civil = b.path().await;
        assert_ne!(civil, criminal);
        assert!(b.source().await.contains("Civil proceeding"));

        // It awards compensation, of which a third is paid.
        open(&b, "award").await;
        choose(&b, "#award_source", "civil_suit").await;
        set_date(&b, "award_on", "2025-10-01").await;
        b.type_into("#award_amount", "300000").await;
        b.click("#award-submit").await;
        wait_for(&b, "300000.00 RSD").await;
        open(&b, "payment").await;
        choose_first(&b, "#payment_award").await;
        set_date(&b, "payment_on", "2025-11-01").await;
        b.type_into("#payment_amount", "100000").await;
        b.click("#payment-submit").await;
        wait_for(&b, "paid 100000.00 RSD").await;

        // A payment beyond the award is refused next to the field.
        open(&b, "payment").await;
        choose_first(&b, "#payment_award").await;
        set_date(&b, "payment_on", "2025-11-15").await;
        b.type_into("#payment_amount", "250000").await;
        b.click("#payment-submit").await;
        wait_for(&b, "at most 200000.00 remains").await;

        // The payment was mistyped: corrected with a reason, the old amount kept under it.
        b.click("a[id^=\"payment-\"][id$=\"-correct\"]").await;
        wait_for(&b, "id=\"correct-form\"").await;
        assert!(b.source().await.contains("value=\"100000.00\""), "filled with what was recorded");
        set_date(&b, "payment_amount", "120000").await;
        b.type_into("#correction_reason", "Iznos pogrešno upisan").await;
        b.click("#correct-submit").await;
        wait_for(&b, "paid 120000.00 RSD").await;
        let page = b.source().await;
        assert!(page.contains("Iznos pogrešno upisan") && page.contains("Amount paid was 100000.00"));

        // The advocacy figures count each of these.
        b.goto("/staff/court/figures").await;
        assert_eq!(figure(&b, "proceedings").await, "1");
        assert_eq!(figure(&b, "trafficking-charged").await, "1");
        assert_eq!(figure(&b, "requalified").await, "1");
        assert_eq!(figure(&b, "requalified-into-184-1").await, "1");
        assert_eq!(figure(&b, "plea").await, "1");
        assert_eq!(figure(&b, "sentence-below-minimum").await, "1");
        assert_eq!(figure(&b, "claims-filed").await, "1");
        assert_eq!(figure(&b, "claims-referred").await, "1");
        assert_eq!(figure(&b, "claims-decided-in-trial").await, "0");
        assert_eq!(figure(&b, "compensation-awarded").await, "1");
        assert_eq!(figure(&b, "compensation-paid").await, "1");
        assert_eq!(figure(&b, "compensation-fully-paid").await, "0");
        assert!(b.text("#fig-compensation-paid .amounts").await.contains("RSD 120000.00"));
        assert!(b.text("#fig-requalified .share").await.contains("100.0"));
        assert!(!b.source().await.contains("Marko Okrivljeni"));

        // Each figure leads to the proceedings behind it.
        b.click("#fig-requalified a").await;
        wait_for(&b, "id=\"figure-label\"").await;
        let list = b.text("#proceedings-list").await;
        assert!(list.contains("Higher Court in Belgrade"), "{list}");
        b.close().await;
    }
}
