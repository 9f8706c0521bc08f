//! A notification in a real browser (headless Chromium over WebDriver): a counsellor writes to the
//! labour inspectorate from a hotline contact about a suspicious agency, a supervisor approves
//! it, it is e-mailed as a PDF to a local SMTP server, the inspectorate opens its link and
//! replies, the outcome "misdemeanour proceedings started" is recorded; the home page shows a
//! different notification as overdue.
//!
//! Run with `HAVEN_TEST_BROWSER=1 cargo test -p haven-web --test browser_referrals` (needs
//! chromium, chromedriver, poppler-utils and python3-aiosmtpd; `.ci/run` installs them).

// Stories written as async functions are tests too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::TimeDelta;
use haven_domain::Role;
use haven_domain::institutions::InstitutionKind;
use haven_testkit::reqwest::StatusCode;
use haven_testkit::{Browser, TestApp, TestBackend};

#[path = "fixtures/mail.rs"]
mod mail;
use mail::{SmtpSink, free_port, pdftotext};

async fn choose(b: &Browser, select: &str, value: &str) {
    b.click(&format!("{select} option[value=\"{value}\"]"))
        .await;
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

haven_testkit::browser_test! {
    async fn a_notification_to_the_labour_inspectorate_from_writing_to_outcome() {
        let port = free_port();
        let app = TestApp::spawn_with(TestBackend::Sqlite, |s| {
            s.session.idle_timeout_minutes = 24 * 60;
            s.session.absolute_lifetime_hours = 72;
            s.smtp.host = "127.0.0.1".into();
            s.smtp.port = port;
            s.smtp.tls = "none".into();
            s.smtp.from = "Astra <pisarnica@astra.example>".into();
        })
        .await;
        let sink = SmtpSink::start(port);
        let inspectorate = haven_store::institutions::search(&app.state.db, app.state.default_org, Some(InstitutionKind::LabourInspectorate), "")
            .await.unwrap()[0].id;
        let mut tx = app.state.db.begin().await.unwrap();
        haven_store::execute!(&mut tx, "UPDATE institutions SET email = $1 WHERE id = $2", "inspekcija@minrzs.example", inspectorate).unwrap();
        tx.commit().await.unwrap();
        let inspectorate = inspectorate.to_string();

        // A call about a suspicious agency, recorded at the desk.
        let (desk, _) = app.signed_in(&[Role::Counsellor]).await;
        let res = desk.submit("/staff/desk/new", "/staff/desk/new", &[
            ("line", "sos"), ("channel", "phone"), ("direction", "inbound"), ("caller_type", "citizen"),
            ("category", "labour.job_offer"), ("urgency", "routine"),
            ("summary", "Agencija Sloboda nudi posao u Nemačkoj bez ugovora"), ("do", "save"),
        ]).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
        let contact = res.location();

        // The counsellor writes the notification from the contact.
        let counsellor = app.add_user(&[Role::Counsellor]).await;
        let b = Browser::start(&app.base).await;
        b.sign_in_first_time(&app, &counsellor).await;
        b.goto(&contact).await;
        b.click("#contact-write-notification").await;
        wait_for(&b, "id=\"notification-form\"").await;
        choose(&b, "#purpose", "report").await;
        choose(&b, "#institution", &inspectorate).await;
        b.type_into("#recipient_person", "Inspektor Đorđe Šćepanović").await;
        choose(&b, "#letter_language", "sr-latn").await;
        b.type_into("#subject", "Agencija bez dozvole").await;
        b.type_into("#letter_body", "Agencija „Sloboda“ nudi posao u Nemačkoj bez dozvole za posredovanje. Молимо за инспекцијски надзор.").await;
        b.click("#notification-submit").await;
        wait_for(&b, "data-status=\"draft\"").await;
        let notification = b.path().await;
        b.click("#submit-notification").await;
        wait_for(&b, "data-status=\"awaiting_approval\"").await;

        // A supervisor approves it.
        let supervisor = app.add_user(&[Role::Supervisor]).await;
        let s = Browser::start(&app.base).await;
        s.sign_in_first_time(&app, &supervisor).await;
        s.goto(&notification).await;
        s.click("#approve-notification").await;
        wait_for(&s, "data-status=\"approved\"").await;

        // The counsellor e-mails it.
        b.goto(&notification).await;
        choose(&b, "#method", "email").await;
        b.click("#send-submit").await;
        wait_for(&b, "data-status=\"sent\"").await;
        let shown = b.text("#reply-link code").await;
        let link = format!("/reply/{}", shown.split("/reply/").nth(1).unwrap());
        let messages = sink.messages();
        assert_eq!(messages.len(), 1);
        assert_eq!(messages[0]["to"], "inspekcija@minrzs.example");
        assert_eq!(messages[0]["subject"], "1/2026 — Agencija bez dozvole");
        let pdf = std::fs::read(messages[0]["attachments"][0]["path"].as_str().unwrap()).unwrap();
        let text = pdftotext(&pdf);
        assert!(text.contains("Inspektor Đorđe Šćepanović") && text.contains("инспекцијски надзор."), "{text}");

        // The inspectorate opens its link and replies, without an account.
        let i = Browser::start(&app.base).await;
        i.goto(&link).await;
        wait_for(&i, "id=\"reply-received\"").await;
        i.type_into("#reply", "Inspekcijski nadzor obavljen; pokrenut prekršajni postupak.").await;
        // With the inspection's record attached.
        let record = std::env::temp_dir().join(format!("zapisnik-{}.pdf", std::process::id()));
        std::fs::write(&record, b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer\n%%EOF\n").unwrap();
        i.find("#files").await.send_keys(record.to_str().unwrap()).await.unwrap();
        i.click("#reply-submit").await;
        wait_for(&i, "id=\"reply-done\"").await;
        assert!(i.text("#reply-files-received").await.contains('1'));
        let _ = std::fs::remove_file(&record);

        // The counsellor sees the reply with its file and records the outcome.
        b.goto(&notification).await;
        wait_for(&b, "pokrenut prekršajni postupak").await;
        assert!(b.text("#reply-files").await.contains("zapisnik-"), "the file is listed");
        choose(&b, "#outcome", "misdemeanour_proceedings_started").await;
        b.click("#outcome-submit").await;
        wait_for(&b, "data-status=\"outcome_recorded\"").await;
        assert!(b.text("#notification-outcome").await.contains("Misdemeanour proceedings started"));

        // A different notification, sent by post with an answer due today, is overdue tomorrow.
        let (boss, _) = app.signed_in(&[Role::Supervisor]).await;
        let res = desk.submit(&format!("/staff/notifications/new?contact={}", contact.trim_start_matches("/staff/desk/contacts/")), "/staff/notifications/new", &[
            ("contact", contact.trim_start_matches("/staff/desk/contacts/")), ("purpose", "request_for_information"),
            ("institution", &inspectorate), ("letter_language", "sr-latn"), ("subject", "Zahtev za informacije"),
            ("letter_body", "Molimo podatke o agenciji."), ("deadline", "2026-11-28"),
        ]).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
        let other = res.location();
        desk.submit(&other, &format!("{other}/submit"), &[]).await;
        boss.submit(&other, &format!("{other}/approve"), &[]).await;
        let res = desk.submit(&other, &format!("{other}/send"), &[("method", "post"), ("sent_on", "2026-11-28")]).await;
        assert_eq!(res.status, StatusCode::OK);
        app.clock.advance(TimeDelta::hours(15));
        b.goto("/staff/").await;
        let overdue = b.text("#overdue-notifications").await;
        assert!(overdue.contains("2/2026") && !overdue.contains("1/2026"), "{overdue}");

        b.close().await;
        s.close().await;
        i.close().await;
    }
}
