//! Written notifications and referrals through the real application, on both backends: writing
//! one from a case (people named only with consent, input kept on failure), gapless protocol
//! numbers, approval by a supervisor only, sending recorded by post, the reply link (receipt and
//! reply without an account, landing on the case timeline; a forged or expired link refused and
//! audited), the outcome, the dashboard's overdue reminder, and letter templates whose unknown
//! placeholders are refused at save.

// Stories written as async functions are tests too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::TimeDelta;
use haven_domain::Role;
use haven_domain::institutions::InstitutionKind;
use haven_store::audit::{AuditFilter, list as audit_list};
use haven_testkit::reqwest::StatusCode;
use haven_testkit::{Client, Page, TestApp, TestBackend, conformance};

#[path = "fixtures/mail.rs"]
mod mail;
use mail::{SmtpSink, free_port, pdftotext};

async fn app(backend: TestBackend) -> TestApp {
    TestApp::spawn_with(backend, |s| {
        s.session.idle_timeout_minutes = 24 * 60;
        s.session.absolute_lifetime_hours = 72;
        s.public_url = Some("https://haven.example.org".into());
    })
    .await
}

#[test]
fn serbian_latin_diacritics_and_cyrillic_come_back_out_of_the_pdf() {
    let text = "Latinica: šđčćž ŠĐČĆŽ — Đorđe Šćepanović, Čačak.\nЋирилица: Љ Њ Џ Ђ Ћ — Љубица Његош, Џамија, Ђурђевак, Ћуприја.";
    let bytes = haven_web::letters::render(&haven_web::letters::LetterPdf {
        organisation: "Udruženje Astra — Удружење Астра".into(),
        reference: "Naš broj: 1/2026".into(),
        subject: "Prijava — Пријава".into(),
        text: text.into(),
        signature: vec!["Marija Ćosić".into()],
        ..Default::default()
    })
    .unwrap();
    assert!(bytes.starts_with(b"%PDF-"));
    let out = pdftotext(&bytes);
    for expected in [
        "šđčćž ŠĐČĆŽ",
        "Đorđe Šćepanović, Čačak",
        "Љ Њ Џ Ђ Ћ",
        "Љубица Његош, Џамија, Ђурђевак, Ћуприја",
        "Udruženje Astra — Удружење Астра",
        "Prijava — Пријава",
        "Marija Ćosić",
    ] {
        assert!(out.contains(expected), "{expected:?} not in {out:?}");
    }
    // A long text flows onto further pages.
    let long = haven_web::letters::render(&haven_web::letters::LetterPdf {
        text: "Ђурђевак šđčćž ".repeat(2000),
        ..Default::default()
    })
    .unwrap();
    assert!(
        pdftotext(&long).matches('\u{c}').count() >= 2,
        "several pages"
    );
}

async fn institution(app: &TestApp, kind: InstitutionKind) -> String {
    haven_store::institutions::search(&app.state.db, app.state.default_org, Some(kind), "")
        .await
        .unwrap()[0]
        .id
        .to_string()
}

fn ids_after(page: &Page, prefix: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for part in page.text.split(prefix).skip(1) {
        let id: String = part.chars().take(36).collect();
        if id.len() == 36
            && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
            && !out.contains(&id)
        {
            out.push(id);
        }
    }
    out
}

async fn open_case(c: &Client) -> String {
    let res = c
        .submit(
            "/staff/cases/new",
            "/staff/cases/new",
            &[
                ("kind", "labour_exploitation"),
                ("summary", "Radnici bez ugovora."),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    res.location()
        .trim_start_matches("/staff/cases/")
        .to_owned()
}

async fn write(c: &Client, case: &str, fields: &[(&str, &str)]) -> Page {
    let mut all = vec![("case", case)];
    all.extend_from_slice(fields);
    c.submit(
        &format!("/staff/notifications/new?case={case}"),
        "/staff/notifications/new",
        &all,
    )
    .await
}

async fn step(c: &Client, id: &str, action: &str, fields: &[(&str, &str)]) -> Page {
    c.submit(
        &format!("/staff/notifications/{id}"),
        &format!("/staff/notifications/{id}/{action}"),
        fields,
    )
    .await
}

conformance!(async fn a_notification_goes_from_draft_to_outcome_and_the_institution_replies(backend) {
    let app = app(backend).await;
    let (c, _) = app.signed_in(&[Role::Counsellor]).await;
    let (boss, _) = app.signed_in(&[Role::Supervisor]).await;
    let inspectorate = institution(&app, InstitutionKind::LabourInspectorate).await;
    let case = open_case(&c).await;
    let res = c.submit(&format!("/staff/cases/{case}"), &format!("/staff/cases/{case}/people"),
        &[("role", "beneficiary"), ("name", "Marija Petrović"), ("birth_year", "1990"), ("confirm_new", "1")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    let page = c.get(&format!("/staff/notifications/new?case={case}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    let person = ids_after(&page, "name=\"share_people\" value=\"")[0].clone();

    // Missing values are named, input is kept.
    let res = write(&c, &case, &[("purpose", "report"), ("institution", ""), ("subject", ""), ("letter_body", "Agencija Sloboda d.o.o. zapošljava bez dozvole.")]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.contains("This field is required."), "{}", res.text);
    assert!(res.contains("Agencija Sloboda d.o.o. zapošljava bez dozvole."), "input kept");
    // Naming a person without consent to sharing with the inspectorate is refused.
    let letter = [("purpose", "report"), ("institution", inspectorate.as_str()), ("recipient_person", "Inspektor Đorđe Šćepanović"),
        ("letter_language", "sr-latn"), ("subject", "Agencija bez dozvole"),
        ("letter_body", "Agencija Sloboda d.o.o. zapošljava bez dozvole."), ("deadline", "2026-12-28")];
    let mut with_person = letter.to_vec();
    with_person.push(("share_people", person.as_str()));
    with_person.push(("share_fields", "name"));
    let res = write(&c, &case, &with_person).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.contains("Consent to sharing with this institution is missing for: Marija Petrović."), "{}", res.text);
    // With consent recorded, the person's name goes into the letter.
    for purpose in ["data_processing", "sharing"] {
        let res = c.submit(&format!("/staff/cases/{case}"), &format!("/staff/cases/{case}/consents"), &[("consent_person", &person), ("purpose", purpose),
            ("consent_institution", &inspectorate), ("given", "given"), ("given_by", "person"), ("given_on", "2026-11-28")]).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    }
    let res = write(&c, &case, &with_person).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    let id = res.location().trim_start_matches("/staff/notifications/").to_owned();
    let page = c.get(&format!("/staff/notifications/{id}")).await;
    assert!(page.contains("Notification 1/2026"), "{}", page.text);
    assert!(page.contains("Marija Petrović") && page.contains("Inspektor Đorđe Šćepanović"));
    assert!(page.contains("data-status=\"draft\""));
    // The letter as PDF, with the diacritics intact.
    let pdf = c.get_bytes(&format!("/staff/notifications/{id}/letter.pdf")).await;
    let text = pdftotext(&pdf);
    assert!(text.contains("Inspektor Đorđe Šćepanović") && text.contains("Marija Petrović"), "{text}");
    assert!(text.contains("Naš broj: 1/2026"), "{text}");
    // A second one takes the next number.
    let res = write(&c, &case, &letter).await;
    let second = res.location().trim_start_matches("/staff/notifications/").to_owned();
    assert!(c.get(&format!("/staff/notifications/{second}")).await.contains("Notification 2/2026"));

    // Submitted, approved by a supervisor only.
    assert_eq!(step(&c, &id, "submit", &[]).await.status, StatusCode::SEE_OTHER);
    assert!(c.get(&format!("/staff/notifications/{id}")).await.contains("data-status=\"awaiting_approval\""));
    let csrf = c.get(&format!("/staff/notifications/{id}")).await.csrf();
    let res = c.post_form(&format!("/staff/notifications/{id}/approve"), &[("csrf", &csrf)]).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert_eq!(step(&boss, &id, "approve", &[]).await.status, StatusCode::SEE_OTHER);
    // Sent by post; the page shows the reply link once.
    let res = step(&c, &id, "send", &[("method", "post"), ("sent_on", "2026-11-30")]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "a date in the future");
    let res = step(&c, &id, "send", &[("method", "post"), ("sent_on", "2026-11-28")]).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let link = res.text.split("https://haven.example.org").nth(1).unwrap().split('<').next().unwrap().to_owned();
    assert!(link.starts_with("/reply/"), "{link}");
    assert!(c.get(&format!("/staff/notifications/{id}")).await.contains("data-status=\"sent\""));

    // The institution opens the link without an account: only the letter, receipt recorded.
    let anon = app.client();
    let page = anon.get(&link).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.contains("Agencija Sloboda d.o.o.") && page.contains("1/2026"));
    assert!(!page.contains(&case), "nothing of the case beyond the letter");
    assert!(c.get(&format!("/staff/notifications/{id}")).await.contains("data-status=\"received\""));
    // Posted from another site (a page that knows the link and tries to answer in the
    // institution's name from the reader's browser): refused, nothing recorded.
    let forged = haven_testkit::reqwest::Client::new()
        .post(format!("{}{link}", app.base))
        .header("sec-fetch-site", "cross-site")
        .form(&[("reply", "Lažni odgovor")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert!(!c.get(&format!("/staff/notifications/{id}")).await.contains("Lažni odgovor"));
    // A reply over 20 000 characters is not cut: it comes back whole, with the limit said.
    let wordy = "Odgovor inspekcije. ".repeat(1001);
    let res = anon.post_form(&link, &[("reply", wordy.as_str())]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.text);
    assert!(res.contains("Predugačko je: najviše") && res.contains(wordy.trim_end()), "{}", res.text);
    // A plain form is held whole, so a megabyte of it is refused (and nothing recorded).
    let long = "x".repeat(1024 * 1024);
    let res = anon.post_form(&link, &[("reply", long.as_str())]).await;
    assert_eq!(res.status, StatusCode::PAYLOAD_TOO_LARGE);
    let res = anon.submit(&link, &link, &[("reply", "Inspekcijski nadzor zakazan za 5. decembar.")]).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert!(res.contains("id=\"reply-done\""), "{}", res.text);
    let page = c.get(&format!("/staff/notifications/{id}")).await;
    assert!(page.contains("data-status=\"answered\"") && page.contains("Inspekcijski nadzor zakazan"));
    let case_page = c.get(&format!("/staff/cases/{case}")).await;
    assert!(case_page.contains("Institution replied to a notification"), "reply on the case timeline");

    // A forged link: a plain refusal, audited.
    let forged = anon.get("/reply/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").await;
    assert_eq!(forged.status, StatusCode::NOT_FOUND);
    assert!(forged.contains("id=\"reply-refused\""), "{}", forged.text);
    assert!(!forged.contains("1/2026"));

    // The outcome closes it.
    let res = step(&c, &id, "outcome", &[("outcome", "misdemeanour_proceedings_started"), ("outcome_note", "Prekršajni nalog izdat.")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    let page = c.get(&format!("/staff/notifications/{id}")).await;
    assert!(page.contains("Misdemeanour proceedings started") && page.contains("data-status=\"outcome_recorded\""));

    // Another one, sent and unanswered past its deadline, is overdue on the dashboard.
    let mut due_today = letter.to_vec();
    due_today.retain(|(k, _)| *k != "deadline");
    due_today.push(("deadline", "2026-11-28"));
    let res = write(&c, &case, &due_today).await;
    let third = res.location().trim_start_matches("/staff/notifications/").to_owned();
    step(&c, &third, "submit", &[]).await;
    step(&boss, &third, "approve", &[]).await;
    let res = step(&c, &third, "send", &[("method", "hand"), ("sent_on", "2026-11-28")]).await;
    assert_eq!(res.status, StatusCode::OK);
    let old_link = res.text.split("https://haven.example.org").nth(1).unwrap().split('<').next().unwrap().to_owned();
    assert!(!c.get("/staff/").await.contains("Overdue notifications"));
    app.clock.advance(TimeDelta::hours(15));
    let home = c.get("/staff/").await;
    assert!(home.contains("Overdue notifications") && home.contains("3/2026"), "{}", home.text);
    assert!(!home.contains("2/2026"), "a draft is never overdue");
    assert!(!home.contains("Marija"), "no names on the dashboard");
    app.clock.advance(TimeDelta::days(91));
    // Its link has expired by now: refused, audited.
    let expired = anon.get(&old_link).await;
    assert_eq!(expired.status, StatusCode::NOT_FOUND);
    let refusals = audit_list(&app.state.db, app.state.default_org, &AuditFilter {
        action_prefix: Some("notification.reply_link_refused".into()),
        ..Default::default()
    }, 100).await.unwrap();
    assert_eq!(refusals.len(), 2, "{refusals:?}");
});

conformance!(async fn templates_refuse_unknown_placeholders_at_save(backend) {
    let app = app(backend).await;
    let (boss, _) = app.signed_in(&[Role::Supervisor]).await;
    let page = boss.get("/staff/letter-templates?purpose=report&language=en").await;
    assert_eq!(page.status, StatusCode::OK);
    let res = boss.submit("/staff/letter-templates", "/staff/letter-templates", &[("purpose", "report"), ("letter_language", "en"),
        ("tpl_subject", "Report {{protocol_number}}"), ("tpl_body", "Dear {{recipient}}, about {{victim_name}}.")]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.contains("Unknown placeholder {{victim_name}}"), "{}", res.text);
    assert!(res.contains("about {{victim_name}}."), "input kept");
    let res = boss.submit("/staff/letter-templates", "/staff/letter-templates", &[("purpose", "report"), ("letter_language", "en"),
        ("tpl_subject", "Report {{protocol_number}}"), ("tpl_body", "Dear {{recipient}},\n\n{{body}}\n\n{{author}}")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    let page = boss.get(&res.location()).await;
    assert!(page.contains("Template saved.") && page.contains("Dear [recipient]"), "{}", page.text);
});

conformance!(async fn a_letter_is_emailed_as_pdf_and_a_failed_sending_is_retried(backend) {
    if std::env::var("HAVEN_TEST_SMTP").is_err() {
        eprintln!("skipped: set HAVEN_TEST_SMTP=1 (needs python3-aiosmtpd and poppler-utils; .ci/run does)");
        return;
    }
    let port = free_port();
    let app = TestApp::spawn_with(backend, |s| {
        s.public_url = Some("https://haven.example.org".into());
        s.smtp.host = "127.0.0.1".into();
        s.smtp.port = port;
        s.smtp.tls = "none".into();
        s.smtp.from = "Astra <pisarnica@astra.example>".into();
        s.smtp.timeout_seconds = 5;
    })
    .await;
    let (c, _) = app.signed_in(&[Role::Counsellor]).await;
    let (boss, _) = app.signed_in(&[Role::Supervisor]).await;
    let inspectorate = institution(&app, InstitutionKind::LabourInspectorate).await;
    let mut tx = app.state.db.begin().await.unwrap();
    haven_store::execute!(&mut tx, "UPDATE institutions SET email = $1 WHERE id = $2",
        "inspekcija@minrzs.example", uuid::Uuid::parse_str(&inspectorate).unwrap()).unwrap();
    tx.commit().await.unwrap();
    let case = open_case(&c).await;
    // Two documents in the case; one is chosen for the letter.
    let png: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0";
    let pdf: &[u8] = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer\n%%EOF\n";
    for (name, bytes) in [("Oglas za posao.png", png), ("Izjava radnika.pdf", pdf)] {
        let csrf = c.get(&format!("/staff/cases/{case}")).await.csrf();
        let res = c.post_multipart(&format!("/staff/cases/{case}/documents?csrf={csrf}"), &[("kind", "other")], ("file", name, bytes.to_vec())).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    }
    let form = c.get(&format!("/staff/notifications/new?case={case}")).await;
    // The checkbox just before the document's name is its own.
    let before = form.text.split("Oglas za posao.png").next().unwrap();
    let chosen = before.rsplit("name=\"attach\" value=\"").next().unwrap()[..36].to_owned();
    let res = write(&c, &case, &[("purpose", "report"), ("institution", &inspectorate), ("recipient_person", "Inspektor Đorđe Šćepanović"),
        ("letter_language", "sr-latn"), ("subject", "Agencija bez dozvole"),
        ("letter_body", "Agencija „Sloboda“ zapošljava bez dozvole. Ћирилица: Љ Њ Џ Ђ Ћ."), ("deadline", "2026-12-28"), ("attach", &chosen)]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    let id = res.location().trim_start_matches("/staff/notifications/").to_owned();
    // The letter lists its enclosure and the page links to it.
    let page = c.get(&format!("/staff/notifications/{id}")).await;
    assert!(page.contains("Prilozi:\n1. Oglas za posao.png"), "{}", page.text);
    assert!(page.contains(&format!("/staff/cases/{case}/documents/{chosen}")) && !page.contains("Izjava radnika.pdf"), "{}", page.text);
    step(&c, &id, "submit", &[]).await;
    step(&boss, &id, "approve", &[]).await;

    // The server is down: "sending failed" with the reason, nothing lost.
    let res = step(&c, &id, "send", &[("method", "email"), ("sent_on", "2026-11-28")]).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert!(res.contains("data-status=\"sending_failed\"") && res.contains("id=\"notification-failure\""), "{}", res.text);
    assert!(res.contains("Agencija „Sloboda“ zapošljava bez dozvole."), "the letter is intact");

    // Up again: the retry sends it.
    let sink = SmtpSink::start(port);
    let res = step(&c, &id, "send", &[("method", "email"), ("sent_on", "2026-11-28")]).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert!(res.contains("data-status=\"sent\""), "{}", res.text);
    let link = res.text.split("https://haven.example.org").nth(1).unwrap().split('<').next().unwrap().to_owned();
    let messages = sink.messages();
    assert_eq!(messages.len(), 1, "{messages:?}");
    let m = &messages[0];
    assert_eq!(m["rcpt_tos"][0], "inspekcija@minrzs.example");
    assert_eq!(m["from"], "Astra <pisarnica@astra.example>");
    assert_eq!(m["to"], "inspekcija@minrzs.example");
    assert_eq!(m["subject"], "1/2026 — Agencija bez dozvole");
    assert!(m["message_id"].as_str().unwrap().contains('@') && !m["date"].as_str().unwrap().is_empty());
    assert!(m["text"].as_str().unwrap().contains(&format!("https://haven.example.org{link}")), "{m}");
    let att = &m["attachments"][0];
    assert_eq!(att["filename"], "1-2026.pdf");
    assert_eq!(att["content_type"], "application/pdf");
    let text = pdftotext(&std::fs::read(att["path"].as_str().unwrap()).unwrap());
    assert!(text.contains("Inspektor Đorđe Šćepanović") && text.contains("Љ Њ Џ Ђ Ћ"), "{text}");
    assert!(text.contains("Prilozi:") && text.contains("1. Oglas za posao.png"), "the letter lists its enclosure: {text}");
    // The chosen document goes with it, byte for byte; the other one does not.
    assert_eq!(m["attachments"].as_array().unwrap().len(), 2, "{m}");
    let doc = &m["attachments"][1];
    assert_eq!(doc["filename"], "Oglas za posao.png");
    assert_eq!(doc["content_type"], "image/png");
    assert_eq!(std::fs::read(doc["path"].as_str().unwrap()).unwrap(), png);
    assert!(text.contains("Naš broj: 1/2026"), "{text}");
    // The link in the letter works.
    assert_eq!(app.client().get(&link).await.status, StatusCode::OK);
    let steps = c.get(&format!("/staff/notifications/{id}")).await;
    assert!(steps.contains("Sending failed") && steps.contains("By e-mail"), "{}", steps.text);
});

conformance!(async fn guessing_reply_links_is_throttled_and_audited(backend) {
    let app = app(backend).await;
    let anon = app.client();
    for n in 0..10 {
        let res = anon.get(&format!("/reply/guess{n:038}")).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);
        assert!(res.contains("id=\"reply-refused\""));
    }
    let res = anon.get("/reply/guess-eleven").await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
    let throttled = audit_list(&app.state.db, app.state.default_org, &AuditFilter {
        action_prefix: Some("notification.reply_link_throttled".into()),
        ..Default::default()
    }, 100).await.unwrap();
    assert_eq!(throttled.len(), 1);
});

/// The part of the home page listing the replies received, or `None` when it is not shown.
fn replies_received(home: &Page) -> Option<String> {
    home.text
        .split("id=\"replies-received\"")
        .nth(1)
        .map(|s| s.split("</div>").next().unwrap().to_owned())
}

conformance!(async fn an_institution_replies_with_files_and_the_counsellor_is_told(backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.session.idle_timeout_minutes = 24 * 60;
        s.session.absolute_lifetime_hours = 72;
        s.public_url = Some("https://haven.example.org".into());
        s.cases.upload_limit_mib = 1;
    })
    .await;
    let (c, _) = app.signed_in(&[Role::Counsellor]).await;
    let (boss, _) = app.signed_in(&[Role::Supervisor]).await;
    let (other, _) = app.signed_in(&[Role::Counsellor]).await;
    let inspectorate = institution(&app, InstitutionKind::LabourInspectorate).await;
    // A restricted case: only its advisors and supervisors open it.
    let res = c.submit("/staff/cases/new", "/staff/cases/new", &[("kind", "labour_exploitation"),
        ("summary", "Radnici bez ugovora."), ("restricted", "on")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    let case = res.location().trim_start_matches("/staff/cases/").to_owned();
    let res = write(&c, &case, &[("purpose", "report"), ("institution", &inspectorate), ("recipient_person", "Inspektor Đorđe Šćepanović"),
        ("letter_language", "sr-latn"), ("subject", "Agencija bez dozvole"),
        ("letter_body", "Agencija Sloboda d.o.o. zapošljava bez dozvole."), ("deadline", "2026-12-28")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    let id = res.location().trim_start_matches("/staff/notifications/").to_owned();
    step(&c, &id, "submit", &[]).await;
    step(&boss, &id, "approve", &[]).await;
    let res = step(&c, &id, "send", &[("method", "post"), ("sent_on", "2026-11-28")]).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let link = res.text.split("https://haven.example.org").nth(1).unwrap().split('<').next().unwrap().to_owned();
    assert!(replies_received(&c.get("/staff/").await).is_none(), "nothing received yet");

    // The institution opens the link: its receipt is on the author's home page, no names.
    let anon = app.client();
    let page = anon.get(&link).await;
    assert!(page.contains("enctype=\"multipart/form-data\"") && page.contains("name=\"files\""), "{}", page.text);
    let home = c.get("/staff/").await;
    let list = replies_received(&home).unwrap_or_else(|| panic!("{}", home.text));
    assert!(list.contains("1/2026") && list.contains(&format!("/staff/notifications/{id}")), "{list}");
    assert!(!list.contains("Šćepanović") && !list.contains("Agencija"), "no names: {list}");
    assert!(replies_received(&boss.get("/staff/").await).is_none(), "neither author nor advisor");
    // Opened: it leaves the list.
    c.get(&format!("/staff/notifications/{id}")).await;
    assert!(replies_received(&c.get("/staff/").await).is_none());

    // A file of a wrong type is refused with a clear message (in the organisation's language:
    // the institution has no account); the typed reply is kept.
    let pdf: Vec<u8> = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer\n%%EOF\n".to_vec();
    let png: Vec<u8> = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0".to_vec();
    let gif: Vec<u8> = b"GIF89a\x01\0\x01\0\0\0\0;".to_vec();
    let typed = "Inspekcijski nadzor zakazan za 5. decembar; zapisnik u prilogu.";
    let res = anon.post_multipart_files(&link, &[("reply", typed)],
        &[("files", "Zapisnik.pdf", pdf.clone()), ("files", "Slika.gif", gif)]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.text);
    assert!(res.contains("Slika.gif: mogu se priložiti samo PDF, JPEG, PNG, DOCX i ODT datoteke."), "{}", res.text);
    assert!(res.contains(typed), "the typed reply is kept");
    assert!(!res.contains("id=\"reply-done\""));
    // Files too large together (the limit is 1 MiB here): two of 0.6 MiB, and one of 2 MiB. The
    // reply comes back with the typed text and a message saying how large they were; nothing is
    // stored.
    let part = [b"%PDF-1.4\n".to_vec(), vec![b' '; 600 * 1024]].concat();
    let res = anon.post_multipart_files(&link, &[("reply", typed)],
        &[("files", "Prvi.pdf", part.clone()), ("files", "Drugi.pdf", part)]).await;
    assert_eq!(res.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", res.text);
    assert!(res.contains("Datoteke su zajedno prevelike (1,2 MiB); uz jedan odgovor može se poslati najviše 1 MiB."), "{}", res.text);
    assert!(res.contains(typed), "the typed reply is kept");
    assert!(!res.contains("id=\"reply-done\""));
    let big = [b"%PDF-1.4\n".to_vec(), vec![b' '; 2 * 1024 * 1024]].concat();
    let res = anon.post_multipart_files(&link, &[("reply", typed)], &[("files", "Velik.pdf", big)]).await;
    assert_eq!(res.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", res.text);
    assert!(res.contains("(2,1 MiB)") && res.contains(typed), "{}", res.text);
    // Far past the limit (more than four times it): refused at once, as any oversize body.
    let huge = [b"%PDF-1.4\n".to_vec(), vec![b' '; 5 * 1024 * 1024]].concat();
    let status = anon.post_multipart_checked(&link, &[("reply", typed)], ("files", "Ogroman.pdf", huge)).await;
    assert!(matches!(status, Some(413) | None), "{status:?}");
    let page = c.get(&format!("/staff/notifications/{id}")).await;
    assert!(!page.contains("id=\"replies\""), "nothing was stored: {}", page.text);

    // A PDF and a PNG: received, and the public page only says how many.
    let res = anon.post_multipart_files(&link, &[("reply", typed)],
        &[("files", "Zapisnik o nadzoru.pdf", pdf.clone()), ("files", "Fotografija.png", png.clone())]).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert!(res.contains("id=\"reply-done\"") && res.contains("Uz vaš odgovor primljene su 2 datoteke."), "{}", res.text);
    assert!(!res.contains("Zapisnik o nadzoru.pdf") && !res.contains("Fotografija.png"), "never shown back");
    let refused = audit_list(&app.state.db, app.state.default_org, &AuditFilter {
        action_prefix: Some("notification.reply_file_refused".into()),
        ..Default::default()
    }, 100).await.unwrap();
    assert_eq!(refused.len(), 3, "the GIF and the two replies too large: {refused:?}");

    // The author is told again.
    let list = replies_received(&c.get("/staff/").await).expect("the reply is on the home page");
    assert!(list.contains("1/2026"), "{list}");
    // Staff who may see the notification download the files byte for byte (audited).
    let page = c.get(&format!("/staff/notifications/{id}")).await;
    assert!(page.contains("data-status=\"answered\"") && page.contains("Zapisnik o nadzoru.pdf") && page.contains("Fotografija.png"), "{}", page.text);
    let links = ids_after(&page, &format!("/staff/notifications/{id}/reply-files/"));
    assert_eq!(links.len(), 2, "{}", page.text);
    let first = c.get_bytes(&format!("/staff/notifications/{id}/reply-files/{}", links[0])).await;
    let second = c.get_bytes(&format!("/staff/notifications/{id}/reply-files/{}", links[1])).await;
    assert!((first == pdf && second == png) || (first == png && second == pdf), "byte for byte");
    assert_eq!(boss.get_bytes(&format!("/staff/notifications/{id}/reply-files/{}", links[0])).await.len(), first.len());
    let downloads = audit_list(&app.state.db, app.state.default_org, &AuditFilter {
        action_prefix: Some("notification.reply_file_downloaded".into()),
        ..Default::default()
    }, 100).await.unwrap();
    assert_eq!(downloads.len(), 3);
    // Someone who may not open the case is told it is not found.
    let res = other.get(&format!("/staff/notifications/{id}/reply-files/{}", links[0])).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    // The files are among the case's documents too, as correspondence.
    let case_page = c.get(&format!("/staff/cases/{case}")).await;
    assert!(case_page.contains("Zapisnik o nadzoru.pdf") && case_page.contains("Fotografija.png"), "{}", case_page.text);
    let docs = ids_after(&case_page, &format!("/staff/cases/{case}/documents/"));
    assert_eq!(docs.len(), 2, "{}", case_page.text);
    let copies: Vec<Vec<u8>> = vec![
        c.get_bytes(&format!("/staff/cases/{case}/documents/{}", docs[0])).await,
        c.get_bytes(&format!("/staff/cases/{case}/documents/{}", docs[1])).await,
    ];
    assert!(copies.contains(&pdf) && copies.contains(&png));
});

/// The value of a text field as the forms render it (`name="…" type="text" value="…"`).
fn field_value(page: &Page, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" type=\"text\" value=\"");
    let start = page.text.find(&marker)? + marker.len();
    let end = page.text[start..].find('"')? + start;
    Some(haven_testkit::html_unescape(&page.text[start..end]))
}

conformance!(async fn supervisors_set_the_protocol_format_approval_letterhead_and_signature(backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.session.idle_timeout_minutes = 24 * 60;
        s.session.absolute_lifetime_hours = 72;
        s.org.name = "Udruženje Astra — Удружење Астра".into();
    })
    .await;
    let (c, _) = app.signed_in(&[Role::Counsellor]).await;
    let (boss, _) = app.signed_in(&[Role::Supervisor]).await;
    let inspectorate = institution(&app, InstitutionKind::LabourInspectorate).await;
    let page = boss.get("/staff/notifications/settings").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert_eq!(field_value(&page, "protocol_format").as_deref(), Some("{n}/{year}"));
    assert_eq!(c.get("/staff/notifications/settings").await.status, StatusCode::FORBIDDEN);

    let mut fields = vec![("protocol_format", "BR-{year}"), ("approval", "request_for_action"),
        ("letterhead_address", "Kralja Petra 12, 32000 Čačak"), ("letterhead_phone", "+381 32 123 456"),
        ("letterhead_email", "kancelarija@astra.example"), ("letterhead_web", "https://astra.example"),
        ("letterhead_registration", "28123456"), ("signature_title", "Координаторка програма")];
    // A format without {n} is refused, in the user's language, with the input kept.
    let res = boss.submit("/staff/notifications/settings", "/staff/notifications/settings", &fields).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.contains("The format must contain {n}, the number in the register."), "{}", res.text);
    assert_eq!(field_value(&res, "protocol_format").as_deref(), Some("BR-{year}"));
    assert_eq!(field_value(&res, "letterhead_address").as_deref(), Some("Kralja Petra 12, 32000 Čačak"));
    assert!(res.contains("value=\"request_for_action\" checked"), "{}", res.text);
    // A bad e-mail address too.
    fields[0] = ("protocol_format", "{n}-{year}");
    fields[4] = ("letterhead_email", "kancelarija");
    let res = boss.submit("/staff/notifications/settings", "/staff/notifications/settings", &fields).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.contains("Enter an e-mail address such as name@example.org."), "{}", res.text);
    fields[4] = ("letterhead_email", "kancelarija@astra.example");
    let res = boss.submit("/staff/notifications/settings", "/staff/notifications/settings", &fields).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    let page = boss.get(&res.location()).await;
    assert!(page.contains("id=\"settings-saved\"") && field_value(&page, "protocol_format").as_deref() == Some("{n}-{year}"), "{}", page.text);
    assert!(page.contains("value=\"request_for_action\" checked") && !page.contains("value=\"report\" checked"), "{}", page.text);
    let saved = audit_list(&app.state.db, app.state.default_org, &AuditFilter {
        action_prefix: Some("notification.settings_saved".into()),
        ..Default::default()
    }, 100).await.unwrap();
    assert_eq!(saved.len(), 1);

    // A report now needs no approval, takes the new number format, and its PDF carries the
    // letterhead and the signature block.
    let case = open_case(&c).await;
    let res = write(&c, &case, &[("purpose", "report"), ("institution", &inspectorate), ("recipient_person", "Inspektor Đorđe Šćepanović"),
        ("letter_language", "sr-latn"), ("subject", "Agencija bez dozvole"),
        ("letter_body", "Agencija Sloboda d.o.o. zapošljava bez dozvole."), ("deadline", "2026-12-28")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    let id = res.location().trim_start_matches("/staff/notifications/").to_owned();
    step(&c, &id, "submit", &[]).await;
    let page = c.get(&format!("/staff/notifications/{id}")).await;
    assert!(page.contains("Notification 1-2026") && page.contains("data-status=\"approved\""), "{}", page.text);
    let text = pdftotext(&c.get_bytes(&format!("/staff/notifications/{id}/letter.pdf")).await);
    for expected in ["Udruženje Astra — Удружење Астра", "Kralja Petra 12, 32000 Čačak",
        "Tel. +381 32 123 456 · E-pošta: kancelarija@astra.example · https://astra.example", "Matični broj 28123456",
        "Test counsellor", "Координаторка програма"] {
        assert!(text.contains(expected), "{expected:?} not in {text:?}");
    }
    // The signature block comes after the letter's text: author, title, organisation.
    let body_at = text.find("zapošljava bez dozvole").unwrap();
    let author_at = text.rfind("Test counsellor").unwrap();
    let title_at = text.find("Координаторка програма").unwrap();
    assert!(body_at < author_at && author_at < title_at, "{text}");
    assert!(text[title_at..].contains("Udruženje Astra"), "{text}");
});

conformance!(async fn a_notification_is_written_about_an_agency_from_its_page(backend) {
    let app = app(backend).await;
    let (c, _) = app.signed_in(&[Role::Counsellor]).await;
    let res = c.submit("/staff/agencies/new", "/staff/agencies/new", &[("ag_name", "Brza Zarada d.o.o.")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    let agency = res.location().trim_start_matches("/staff/agencies/").to_owned();
    let page = c.get(&format!("/staff/agencies/{agency}")).await;
    assert!(page.contains(&format!("/staff/notifications/new?agency={agency}")), "{}", page.text);
    // No case behind it: no people and no documents to choose.
    let form = c.get(&format!("/staff/notifications/new?agency={agency}")).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(!form.contains("name=\"share_people\"") && !form.contains("name=\"attach\""), "{}", form.text);
    let inspectorate = institution(&app, InstitutionKind::LabourInspectorate).await;
    let letter = [("agency", agency.as_str()), ("purpose", "report"), ("institution", inspectorate.as_str()),
        ("letter_language", "sr-latn"), ("subject", "Agencija bez dozvole"),
        ("letter_body", "Agencija Brza Zarada oglašava poslove u Nemačkoj bez dozvole."), ("deadline", "2026-12-28")];
    // Errors keep the agency and what was typed.
    let mut bad = letter.to_vec();
    bad.retain(|(k, _)| *k != "subject");
    let res = c.submit(&format!("/staff/notifications/new?agency={agency}"), "/staff/notifications/new", &bad).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.contains(&format!("value=\"{agency}\"")) && res.contains("oglašava poslove u Nemačkoj"), "{}", res.text);
    let res = c.submit(&format!("/staff/notifications/new?agency={agency}"), "/staff/notifications/new", &letter).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    let id = res.location().trim_start_matches("/staff/notifications/").to_owned();
    let page = c.get(&format!("/staff/notifications/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.contains("id=\"notification-agency\"") && page.contains("Brza Zarada d.o.o."), "{}", page.text);
    // The agency's page lists it among its actions, by protocol number.
    let page = c.get(&format!("/staff/agencies/{agency}")).await;
    let actions = page.text.split("id=\"action-list\"").nth(1).expect("the actions").split("</ul>").next().unwrap().to_owned();
    assert!(actions.contains(&format!("/staff/notifications/{id}")) && actions.contains("1/2026"), "{actions}");
    assert!(c.get("/staff/notifications").await.contains(&format!("/staff/notifications/{id}")));
    // Unknown or malformed agencies are not found; those who may not read agencies are refused.
    assert_eq!(c.get("/staff/notifications/new?agency=00000000-0000-7000-8000-000000000000").await.status, StatusCode::NOT_FOUND);
    assert_eq!(c.get("/staff/notifications/new?agency=nonsense").await.status, StatusCode::NOT_FOUND);
    let (analyst, _) = app.signed_in(&[Role::Analyst]).await;
    assert_eq!(analyst.get(&format!("/staff/notifications/{id}")).await.status, StatusCode::FORBIDDEN);
    let entries = audit_list(&app.state.db, app.state.default_org, &AuditFilter { action_prefix: Some("notification.created".into()), ..Default::default() }, 10).await.unwrap();
    assert_eq!(entries.len(), 1);
    let details: serde_json::Value = serde_json::from_str(&entries[0].details).unwrap();
    assert_eq!(details["agency"], agency.as_str());
});
