//! Case management through the real application, on both backends: case numbers, each kind's
//! validation, documents checked by content, duplicates across scripts, merging, the access
//! policy on restricted cases (break the glass), the status workflow, escalation timers and the
//! dashboard, links to hotline contacts, services and consent.

// Stories written as async functions are tests too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::TimeDelta;
use haven_domain::Role;
use haven_store::audit::{AuditFilter, list as audit_list};
use haven_testkit::reqwest::StatusCode;
use haven_testkit::{Client, Page, TestApp, TestBackend, conformance};

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer\n%%EOF\n";
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0";
const EXE: &[u8] =
    b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff\0\0This program cannot be run in DOS mode";

/// A Haven whose sessions outlive the clock moves of these stories.
async fn app(backend: TestBackend) -> TestApp {
    TestApp::spawn_with(backend, |s| {
        s.session.idle_timeout_minutes = 24 * 60;
        s.session.absolute_lifetime_hours = 72;
    })
    .await
}

/// The ids that follow `prefix` in the page (36-character UUIDs), in order, without repeats.
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

fn title(page: &Page) -> String {
    let start = page.text.find("<title>").unwrap() + 7;
    let end = page.text[start..].find("</title>").unwrap() + start;
    page.text[start..end].to_owned()
}

/// Opens a case of `kind` and returns its id.
async fn open_case(c: &Client, kind: &str, restricted: bool) -> String {
    let mut fields = vec![
        ("kind", kind),
        ("summary", "Pozvala majka, dete nije došlo kući."),
    ];
    if restricted {
        fields.push(("restricted", "on"));
    }
    let res = c
        .submit("/staff/cases/new", "/staff/cases/new", &fields)
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "open case: {}", res.text);
    res.location()
        .trim_start_matches("/staff/cases/")
        .to_owned()
}

async fn post(c: &Client, case: &str, action: &str, fields: &[(&str, &str)]) -> Page {
    c.submit(
        &format!("/staff/cases/{case}"),
        &format!("/staff/cases/{case}/{action}"),
        fields,
    )
    .await
}

async fn upload(c: &Client, case: &str, kind: &str, name: &str, bytes: &[u8]) -> Page {
    let csrf = c.get(&format!("/staff/cases/{case}")).await.csrf();
    c.post_multipart(
        &format!("/staff/cases/{case}/documents?csrf={csrf}"),
        &[("kind", kind)],
        ("file", name, bytes.to_vec()),
    )
    .await
}

async fn add_person(c: &Client, case: &str, fields: &[(&str, &str)]) -> Page {
    post(c, case, "people", fields).await
}

conformance!(async fn case_numbers_and_the_validation_of_each_kind(backend) {
    let app = app(backend).await;
    let (c, _) = app.signed_in(&[Role::Counsellor]).await;
    let missing = open_case(&c, "missing_child", false).await;
    let trafficking = open_case(&c, "trafficking", false).await;
    let labour = open_case(&c, "labour_exploitation", false).await;
    let second = open_case(&c, "missing_child", false).await;
    let page = c.get(&format!("/staff/cases/{missing}")).await;
    assert_eq!(page.status, StatusCode::OK);
    // The page is titled by the case number, never by a name.
    assert!(title(&page).starts_with("116-2026-00001 · Missing child"), "{}", title(&page));
    assert!(title(&c.get(&format!("/staff/cases/{trafficking}")).await).starts_with("SOS-2026-00001"));
    assert!(title(&c.get(&format!("/staff/cases/{labour}")).await).starts_with("SOS-2026-00002"));
    assert!(title(&c.get(&format!("/staff/cases/{second}")).await).starts_with("116-2026-00002"));

    // Missing child: found before last seen, an unknown category, an impossible date.
    let res = post(&c, &missing, "details", &[
        ("summary", "Otac odveo dete"),
        ("mc_category", "kidnapped-by-aliens"),
        ("mc_last_seen_at", "2026-11-20T10:00"),
        ("mc_found_at", "2026-11-19T10:00"),
        ("mc_custody_date", "2026-02-30"),
        ("mc_last_seen_place", "Zemun, autobuska stanica"),
    ]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.contains("The child cannot be found before they were last seen."), "{}", res.text);
    assert!(res.contains("Choose one of the values in the list."));
    assert!(res.contains("Enter a date such as 2026-11-28."));
    // What was typed is kept.
    assert!(res.contains("value=\"Zemun, autobuska stanica\""));
    assert!(res.contains("value=\"2026-11-19T10:00\""));
    // The future is refused too.
    let res = post(&c, &missing, "details", &[("mc_last_seen_at", "2027-01-05T10:00")]).await;
    assert!(res.contains("This time is in the future."));
    // Valid details are saved and shown again in the organisation's time zone.
    let res = post(&c, &missing, "details", &[
        ("summary", "Otac odveo dete u Nemačku"),
        ("mc_category", "parental_abduction"),
        ("mc_scope", "international"),
        ("mc_last_seen_at", "2026-11-20T10:00"),
        ("mc_countries", "rs, de"),
        ("mc_schengen_alert", "on"),
    ]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    let page = c.get(&format!("/staff/cases/{missing}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", &page.text[..page.text.len().min(2000)]);
    let at = page.text.find("id=\"mc_last_seen_at\"").unwrap();
    assert!(page.contains("value=\"2026-11-20T10:00\""), "{}", &page.text[at..at + 300]);
    assert!(page.contains("value=\"RS, DE\""));
    assert!(title(&page).contains("Parental abduction"));

    // Trafficking: an unknown code, an industry without forced labour, a status without its
    // decider, a formal identification without a date.
    let res = post(&c, &trafficking, "details", &[
        ("tr_status", "ActualVictimOfTrafficking"),
        ("tr_exploitation", "SexualExploitation"),
        ("tr_exploitation", "Slavery"),
        ("tr_industry", "F_Construction"),
        ("tr_formally_identified", "on"),
    ]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    for m in [
        "Choose one of the values in the list.",
        "An industry applies to forced labour",
        "Say who decided the trafficking status.",
        "Enter the date of the formal identification.",
    ] {
        assert!(res.contains(m), "{m}: {}", res.text);
    }
    let res = post(&c, &trafficking, "details", &[
        ("tr_status", "PossibleVictimOfTrafficking"),
        ("tr_decided_by", "NGO"),
        ("tr_exploitation", "ForcedLabour"),
        ("tr_industry", "F_Construction"),
        ("tr_control", "WithholdsDocuments"),
        ("tr_control", "DebtBondage"),
        ("tr_recruited_country", "RS"),
        ("tr_recruited_date", "2026-03-01"),
        ("tr_exploited_country", "DE"),
        ("tr_exploited_date", "2026-04-01"),
    ]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);

    // Labour exploitation.
    let res = post(&c, &labour, "details", &[
        ("lx_workers_affected", "0"),
        ("lx_country", "XX"),
        ("lx_wages_owed", "a lot"),
        ("lx_indicators", "debt_bondage"),
    ]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.contains("Enter a whole number from 1 to 100000."));
    assert!(res.contains("Choose a country from the list."));
    assert!(res.contains("Enter an amount such as 1250 or 1250.50."));
    let res = post(&c, &labour, "details", &[
        ("lx_workers_affected", "2"),
        ("lx_country", "SK"),
        ("lx_wages_owed", "3.400,00"),
        ("lx_currency", "EUR"),
        ("lx_indicators", "withholding_of_wages"),
        ("lx_indicators", "retention_of_identity_documents"),
        ("lx_sector", "C_Manufacturing"),
    ]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    assert!(c.get(&format!("/staff/cases/{labour}")).await.contains("value=\"3400.00\""));

    // The register's year is the organisation's: 23:30 UTC on 31 December is already 2027 in
    // Belgrade.
    app.clock.set(chrono::DateTime::parse_from_rfc3339("2026-12-31T23:30:00Z").unwrap().to_utc());
    let (c2, _) = app.signed_in(&[Role::Counsellor]).await;
    let next_year = open_case(&c2, "missing_child", false).await;
    assert!(title(&c2.get(&format!("/staff/cases/{next_year}")).await).starts_with("116-2027-00001"));
});

conformance!(async fn documents_are_checked_by_content_stored_sealed_and_downloaded_as_attachments(backend) {
    let app = TestApp::spawn_with(backend, |s| s.cases.upload_limit_mib = 1).await;
    let (c, _) = app.signed_in(&[Role::Counsellor]).await;
    let case = open_case(&c, "missing_child", false).await;
    // A "photo" that is a program, whatever its name says.
    let res = upload(&c, &case, "photo", "dete.jpg", EXE).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.contains("This file is a program or script"), "{}", res.text);
    // A PDF dressed as a JPEG: the extension lies.
    let res = upload(&c, &case, "custody_decision", "odluka.jpg", PDF).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.contains("name says another type than its content."));
    // A PDF is no photo.
    let res = upload(&c, &case, "photo", "odluka.pdf", PDF).await;
    assert!(res.contains("A photo must be an image"));
    // HTML is refused, whatever it is called.
    let res = upload(&c, &case, "other", "beleska.pdf", b"<html><script>alert(1)</script>").await;
    assert!(res.contains("The content of this file is not a PDF"));
    // Too large for this Haven (1 MiB).
    let mut big = PDF.to_vec();
    big.resize(1024 * 1024 + 100 * 1024, b' ');
    let csrf = c.get(&format!("/staff/cases/{case}")).await.csrf();
    let status = c.post_multipart_checked(&format!("/staff/cases/{case}/documents?csrf={csrf}"), &[("kind", "other")], ("file", "big.pdf", big)).await;
    // Refused at once from its declared length (the connection may close before the client
    // has sent it all).
    assert!(matches!(status, Some(413) | None), "{status:?}");
    // Accepted ones.
    let mut decision = PDF.to_vec();
    decision.extend(std::iter::repeat_n(b'x', 300 * 1024)); // three chunks
    assert_eq!(upload(&c, &case, "custody_decision", "Odluka o starateljstvu.pdf", &decision).await.status, StatusCode::SEE_OTHER);
    assert_eq!(upload(&c, &case, "photo", "dete.png", PNG).await.status, StatusCode::SEE_OTHER);
    let page = c.get(&format!("/staff/cases/{case}")).await;
    let docs = ids_after(&page, &format!("/staff/cases/{case}/documents/"));
    assert_eq!(docs.len(), 2, "{}", page.text);
    let mut pdf_id = String::new();
    for d in &docs {
        let res = c.get(&format!("/staff/cases/{case}/documents/{d}")).await;
        assert_eq!(res.status, StatusCode::OK);
        if res.header("content-disposition").unwrap().contains("Odluka") {
            pdf_id = d.clone();
        }
    }
    let res = c.get(&format!("/staff/cases/{case}/documents/{pdf_id}")).await;
    assert!(res.text.as_bytes() == decision.as_slice(), "the document comes back as it was");
    assert_eq!(res.header("content-type").as_deref(), Some("application/octet-stream"));
    assert!(res.header("content-disposition").unwrap().starts_with("attachment; filename=\"Odluka o starateljstvu.pdf\""));
    assert_eq!(res.header("x-content-type-options").as_deref(), Some("nosniff"));
    // Every download is audited, and so is every refusal.
    let org = app.state.default_org;
    let downloads = audit_list(&app.state.db, org, &AuditFilter { action_prefix: Some("document.downloaded".into()), ..Default::default() }, 10).await.unwrap();
    assert_eq!(downloads.len(), 3);
    let refused = audit_list(&app.state.db, org, &AuditFilter { action_prefix: Some("document.refused".into()), ..Default::default() }, 10).await.unwrap();
    assert_eq!(refused.len(), 4);
    // Someone of another organisation guessing the ids finds nothing.
    let (foreign, _) = app.signed_in_elsewhere(&[Role::Admin, Role::Supervisor]).await;
    assert_eq!(foreign.get(&format!("/staff/cases/{case}/documents/{pdf_id}")).await.status, StatusCode::NOT_FOUND);
    // Key checks reach every chunk.
    let ring = app.state.keys.get(org).await.unwrap();
    let report = haven_store::encrypted::check(&app.state.db, org, &ring, haven_store::encrypted::CheckDepth::Decrypt).await.unwrap();
    let chunks = report.iter().find(|r| r.table == "document_chunks").unwrap();
    assert_eq!((chunks.fields, chunks.failed), (4, 0));
});

conformance!(async fn possible_duplicates_across_scripts_phones_and_identity_numbers(backend) {
    let app = app(backend).await;
    let (c, _) = app.signed_in(&[Role::CaseWorker]).await;
    let case = open_case(&c, "trafficking", false).await;
    let res = add_person(&c, &case, &[
        ("role", "beneficiary"),
        ("name", "Јована Јовановић"),
        ("birth_year", "2008"),
        ("phones", "064 123 4567"),
        ("identity_numbers", "1234567890123"),
        ("gender", "Feminine"),
        ("citizenship", "rs"),
    ]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    let first = ids_after(&c.get(&format!("/staff/cases/{case}")).await, "/staff/people/")[0].clone();
    let count = || async { haven_store::people::count(&app.state.db, app.state.default_org).await.unwrap() };
    assert_eq!(count().await, 1);

    // The same name typed in Latin, with and without diacritics, and the same year.
    for name in ["Jovana Jovanović", "JOVANA JOVANOVIC"] {
        let res = add_person(&c, &case, &[("role", "witness"), ("name", name), ("birth_year", "2008")]).await;
        assert_eq!(res.status, StatusCode::OK);
        assert!(res.contains("This may be someone already recorded"), "{name}: {}", res.text);
        assert!(res.contains("same name and year of birth"));
        assert!(res.contains(&format!("/staff/people/{first}")));
        // Nothing was recorded, and what was typed is kept.
        assert_eq!(count().await, 1);
        assert!(res.contains(&format!("value=\"{name}\"")));
    }
    // Another year of birth: someone else.
    let res = add_person(&c, &case, &[("role", "witness"), ("name", "Jovana Jovanovic"), ("birth_year", "1975")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    // The same phone in another notation; the same identity number with separators.
    let res = add_person(&c, &case, &[("role", "parent"), ("name", "Petar Petrović"), ("phones", "+381 64 1234567")]).await;
    assert!(res.contains("same phone number"), "{}", res.text);
    let res = add_person(&c, &case, &[("role", "parent"), ("name", "Marija M."), ("identity_numbers", "1234567 890123")]).await;
    assert!(res.contains("same identity number"));
    // "Add this person instead" links the existing record in the new role.
    let res = add_person(&c, &case, &[("role", "reporting_person"), ("person_id", &first)]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    // "It is someone else" records a new person.
    let res = add_person(&c, &case, &[("role", "parent"), ("name", "Petar Petrović"), ("phones", "+381 64 1234567"), ("confirm_new", "1")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(count().await, 3);
    let page = c.get(&format!("/staff/cases/{case}")).await;
    assert!(page.contains("Reporting person"));
    // The person page shows the duplicates found by phone.
    let page = c.get(&format!("/staff/people/{first}")).await;
    assert!(page.contains("same phone number"), "{}", page.text);
    // Editing runs the same check: a new identity number shared with another record.
    assert_eq!(title(&page), "Person · Haven");
});

conformance!(async fn merging_keeps_every_link_and_the_history(backend) {
    let app = app(backend).await;
    let (c, _) = app.signed_in(&[Role::CaseWorker]).await;
    let (sup, _) = app.signed_in(&[Role::Supervisor]).await;
    let one = open_case(&c, "trafficking", false).await;
    let two = open_case(&c, "labour_exploitation", false).await;
    add_person(&c, &one, &[("role", "beneficiary"), ("name", "Милан Јовановић"), ("birth_year", "1990"), ("phones", "063 111 2222")]).await;
    let a = ids_after(&c.get(&format!("/staff/cases/{one}")).await, "/staff/people/")[0].clone();
    let res = add_person(&c, &two, &[("role", "witness"), ("name", "Milan Jovanovic"), ("birth_year", "1990"), ("phones", "065 333 4444"), ("confirm_new", "1")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let b = ids_after(&c.get(&format!("/staff/cases/{two}")).await, "/staff/people/")[0].clone();
    assert_ne!(a, b);
    // B has consent and a document in case two.
    let res = post(&c, &two, "consents", &[("consent_person", &b), ("purpose", "data_processing"), ("given", "given"), ("given_by", "person"), ("given_on", "2026-11-27")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    let csrf = c.get(&format!("/staff/cases/{two}")).await.csrf();
    let res = c.post_multipart(&format!("/staff/cases/{two}/documents?csrf={csrf}"), &[("kind", "identity_document"), ("person_id", &b)], ("file", "pasos.pdf", PDF.to_vec())).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    // Looked at B, so B has history.
    assert_eq!(sup.get(&format!("/staff/people/{b}")).await.status, StatusCode::OK);

    let page = c.get(&format!("/staff/people/{a}")).await;
    assert!(page.contains("same name and year of birth"), "{}", page.text);
    let res = c.submit(&format!("/staff/people/{a}"), &format!("/staff/people/{a}/merge"), &[("duplicate", &b)]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    // A is now in both cases; B leads to A.
    let page = c.get(&format!("/staff/people/{a}")).await;
    assert!(page.contains(&format!("/staff/cases/{one}")) && page.contains(&format!("/staff/cases/{two}")));
    assert!(page.contains("One duplicate record was merged into this one"));
    assert!(page.contains("065 333 4444") && page.contains("063 111 2222"));
    let res = c.get(&format!("/staff/people/{b}")).await;
    assert_eq!(res.location(), format!("/staff/people/{a}"));
    let case_two = c.get(&format!("/staff/cases/{two}")).await;
    assert_eq!(ids_after(&case_two, "/staff/people/"), vec![a.clone()]);
    assert!(case_two.contains("Processing of personal data"));
    assert!(case_two.contains("pasos.pdf"));
    // Found by the duplicate's phone, only the survivor answers.
    let org = app.state.default_org;
    let ring = app.state.keys.get(org).await.unwrap();
    let found = haven_store::people::find_by_phone(&app.state.db, &ring, org, "RS", "+381653334444").await.unwrap();
    assert_eq!(found.iter().map(|p| p.id.to_string()).collect::<Vec<_>>(), vec![a.clone()]);
    // B's history stays, and the supervisor sees it from A's page.
    let b_uuid: uuid::Uuid = b.parse().unwrap();
    let history = audit_list(&app.state.db, org, &AuditFilter { target: Some(("person".into(), b_uuid)), ..Default::default() }, 50).await.unwrap();
    let actions: Vec<&str> = history.iter().map(|e| e.action.as_str()).collect();
    assert!(actions.contains(&"person.created") && actions.contains(&"person.viewed") && actions.contains(&"person.merged"), "{actions:?}");
    let page = sup.get(&format!("/staff/people/{a}")).await;
    assert!(page.contains("person.merged") && page.contains("person.viewed"));
});

conformance!(async fn restricted_cases_need_the_glass_broken_and_the_grant_runs_out(backend) {
    let app = app(backend).await;
    let (advisor, _) = app.signed_in(&[Role::Counsellor]).await;
    let (other, _) = app.signed_in(&[Role::Counsellor]).await;
    let (supervisor, _) = app.signed_in(&[Role::Supervisor]).await;
    let (analyst, _) = app.signed_in(&[Role::Analyst]).await;
    let (foreign, _) = app.signed_in_elsewhere(&[Role::Admin, Role::Supervisor]).await;
    let case = open_case(&advisor, "trafficking", true).await;
    add_person(&advisor, &case, &[("role", "beneficiary"), ("name", "Ana Anić"), ("birth_year", "2001")]).await;
    assert_eq!(upload(&advisor, &case, "contract", "ugovor.pdf", PDF).await.status, StatusCode::SEE_OTHER);
    post(&advisor, &case, "notes", &[("note_text", "Trafficker knows someone at the station")]).await;
    let page = advisor.get(&format!("/staff/cases/{case}")).await;
    let person = ids_after(&page, "/staff/people/")[0].clone();
    let doc = ids_after(&page, &format!("/staff/cases/{case}/documents/"))[0].clone();
    let case_url = format!("/staff/cases/{case}");
    let doc_url = format!("/staff/cases/{case}/documents/{doc}");
    let person_url = format!("/staff/people/{person}");
    let number = title(&page).split(' ').next().unwrap().to_owned();

    // Advisor and supervisor: yes.
    for c in [&advisor, &supervisor] {
        assert_eq!(c.get(&case_url).await.status, StatusCode::OK);
        assert_eq!(c.get(&doc_url).await.status, StatusCode::OK);
        assert_eq!(c.get(&person_url).await.status, StatusCode::OK);
    }
    // Analyst: never. Another organisation guessing the ids: nothing there.
    for url in [&case_url, &doc_url, &person_url] {
        assert_eq!(analyst.get(url).await.status, StatusCode::FORBIDDEN);
        assert_eq!(foreign.get(url).await.status, StatusCode::NOT_FOUND);
    }
    // Another counsellor: the break-the-glass form, and neither the document, the person, the
    // timeline nor the case in lists.
    let res = other.get(&case_url).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert!(res.contains("break-glass-needed") && !res.contains("Trafficker knows"), "{}", res.text);
    assert!(!res.contains("Ana Anić"));
    assert_eq!(other.get(&doc_url).await.status, StatusCode::FORBIDDEN);
    assert_eq!(other.get(&person_url).await.status, StatusCode::FORBIDDEN);
    let res = post(&other, &case, "notes", &[("note_text", "x")]).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert!(!other.get("/staff/cases").await.contains(&number));
    assert!(advisor.get("/staff/cases").await.contains(&number));
    // Breaking the glass needs a reason.
    let res = other.submit(&format!("{case_url}/break-glass"), &format!("{case_url}/break-glass"), &[("reason", "x")]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.contains("Give a reason of at least 10 characters."));
    let res = other.submit(&format!("{case_url}/break-glass"), &format!("{case_url}/break-glass"), &[("reason", "Korisnica je na vezi, traži hitan smeštaj")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let res = other.get(&case_url).await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(res.contains("by breaking the glass") && res.contains("Trafficker knows"));
    assert_eq!(other.get(&doc_url).await.status, StatusCode::OK);
    assert_eq!(other.get(&person_url).await.status, StatusCode::OK);
    // Supervisors see who broke the glass and why, and who looked.
    let list = supervisor.get("/staff/break-glass").await;
    assert!(list.contains("Korisnica je na vezi") && list.contains(&number));
    let page = supervisor.get(&case_url).await;
    assert!(page.contains("Opened the case") && page.contains("case.break_glass"), "{}", page.text);
    let org = app.state.default_org;
    let case_uuid: uuid::Uuid = case.parse().unwrap();
    let views = audit_list(&app.state.db, org, &AuditFilter { target: Some(("case".into(), case_uuid)), action_prefix: Some("case.viewed".into()), ..Default::default() }, 100).await.unwrap();
    assert!(views.iter().any(|e| e.details.contains("break_glass")));
    // The API follows the same rule.
    let api = |c: &Client, path: String| {
        let c = c.clone();
        async move { c.get(&path).await }
    };
    assert_eq!(api(&other, format!("/api/v1/cases/{case}")).await.status, StatusCode::OK);
    assert_eq!(api(&foreign, format!("/api/v1/cases/{case}")).await.status, StatusCode::NOT_FOUND);
    let listed = api(&supervisor, "/api/v1/cases".into()).await.json();
    assert_eq!(listed[0]["number"], number.as_str());
    assert!(listed[0].get("summary").is_none());
    // Four hours later the grant has run out.
    app.clock.advance(TimeDelta::hours(4) + TimeDelta::minutes(1));
    assert_eq!(other.get(&case_url).await.status, StatusCode::FORBIDDEN);
    assert_eq!(other.get(&doc_url).await.status, StatusCode::FORBIDDEN);
    assert_eq!(advisor.get(&case_url).await.status, StatusCode::OK);
    assert_eq!(other.get(&format!("/api/v1/cases/{case}")).await.status, StatusCode::FORBIDDEN);
    assert_eq!(other.get("/api/v1/cases").await.json().as_array().unwrap().len(), 0);
    let refused = audit_list(&app.state.db, org, &AuditFilter { action_prefix: Some("case.access_refused".into()), ..Default::default() }, 100).await.unwrap();
    assert!(refused.len() >= 4);
});

conformance!(async fn closure_needs_a_supervisor_and_a_case_can_be_reopened(backend) {
    let app = app(backend).await;
    let (c, _) = app.signed_in(&[Role::Counsellor]).await;
    let (sup, _) = app.signed_in(&[Role::Supervisor]).await;
    let case = open_case(&c, "missing_child", false).await;
    // Closing as "child found" needs the date the child was found.
    let res = post(&c, &case, "status", &[("action", "close"), ("close_as", "Closed"), ("reason", "child_found")]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.contains("Record when the child was found"));
    post(&c, &case, "details", &[("mc_last_seen_at", "2026-11-27T18:00"), ("mc_found_at", "2026-11-28T08:00"), ("mc_found_state", "safe_and_well"), ("mc_returned_to", "parent_with_custody")]).await;
    // The counsellor asks; the case stays open until a supervisor approves.
    let res = post(&c, &case, "status", &[("action", "close"), ("close_as", "Closed"), ("reason", "child_found"), ("note", "Dete vraćeno majci")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    let page = c.get(&format!("/staff/cases/{case}")).await;
    assert!(page.contains("id=\"closure-pending\"") && page.contains(">Active<"));
    let res = post(&c, &case, "status", &[("action", "close"), ("close_as", "Closed"), ("reason", "resolved")]).await;
    assert!(res.contains("A closure already awaits"));
    assert_eq!(post(&c, &case, "closure/approve", &[]).await.status, StatusCode::FORBIDDEN);
    // The supervisor sees it on the home page and approves.
    assert!(sup.get("/staff/").await.contains("Closures awaiting approval"));
    assert_eq!(post(&sup, &case, "closure/approve", &[]).await.status, StatusCode::SEE_OTHER);
    let page = c.get(&format!("/staff/cases/{case}")).await;
    assert!(page.contains("id=\"case-status\">Closed<"), "{}", page.text);
    assert!(page.contains("Closure approved: Closed (Child found)"));
    assert!(page.contains("Dete vraćeno majci"));
    // Reopened by the counsellor.
    assert_eq!(post(&c, &case, "status", &[("action", "reopen")]).await.status, StatusCode::SEE_OTHER);
    assert!(c.get(&format!("/staff/cases/{case}")).await.contains("id=\"case-status\">Active<"));
    // A supervisor closes at once; a rejection sends a request back.
    let other = open_case(&c, "trafficking", false).await;
    post(&c, &other, "status", &[("action", "close"), ("close_as", "ClosedReferred"), ("reason", "referred")]).await;
    assert_eq!(post(&sup, &other, "closure/reject", &[("note", "Još nije upućeno")]).await.status, StatusCode::SEE_OTHER);
    let page = c.get(&format!("/staff/cases/{other}")).await;
    assert!(!page.contains("id=\"closure-pending\"") && page.contains("Closure sent back"));
    assert_eq!(post(&sup, &other, "status", &[("action", "close"), ("close_as", "ClosedReferred"), ("reason", "referred")]).await.status, StatusCode::SEE_OTHER);
    assert!(sup.get(&format!("/staff/cases/{other}")).await.contains("id=\"case-status\">Closed, referred<"));
});

conformance!(async fn escalation_timers_tasks_and_the_dashboard(backend) {
    let app = app(backend).await;
    let (c, _) = app.signed_in(&[Role::Counsellor]).await;
    let case = open_case(&c, "missing_child", false).await;
    add_person(&c, &case, &[("role", "missing_child"), ("name", "Marko Petrović"), ("birth_year", "2019")]).await;
    post(&c, &case, "details", &[("mc_category", "runaway"), ("mc_last_seen_at", "2026-11-25T09:00")]).await;
    let home = c.get("/staff/").await;
    assert!(home.contains("Missing children still missing") && home.contains("M. P."), "{}", home.text);
    assert!(home.contains("missing 3 days"));
    assert!(!home.contains("Marko Petrović"), "lists show initials only");
    let page = c.get(&format!("/staff/cases/{case}")).await;
    assert!(page.contains("Police report expected by"));
    // Three hours later without a police report: overdue, in red, on the page and the list.
    app.clock.advance(TimeDelta::hours(3));
    let page = c.get(&format!("/staff/cases/{case}")).await;
    assert!(page.contains("<li class=\"overdue\">No police report: it was due at"), "{}", page.text);
    assert!(c.get("/staff/").await.contains("No police report"));
    post(&c, &case, "details", &[("mc_category", "runaway"), ("mc_last_seen_at", "2026-11-25T09:00"), ("mc_police_station", "PS Zemun"), ("mc_police_reported_at", "2026-11-28T11:30"), ("mc_police_report_number", "123/26")]).await;
    let page = c.get(&format!("/staff/cases/{case}")).await;
    assert!(!page.contains("No police report") && page.contains("Police report recorded"));
    // A day without contact with the family; a note of a contact restarts the timer.
    app.clock.advance(TimeDelta::hours(22));
    assert!(c.get(&format!("/staff/cases/{case}")).await.contains("No contact with the family since"));
    post(&c, &case, "notes", &[("note_text", "Razgovor sa majkom"), ("family_contact", "on")]).await;
    assert!(!c.get(&format!("/staff/cases/{case}")).await.contains("No contact with the family since"));
    // A task due soon, then overdue, on the dashboard.
    let res = post(&c, &case, "tasks", &[("task_title", "Pozvati CSR Zemun"), ("task_due", "2026-11-29T12:00")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    let home = c.get("/staff/").await;
    assert!(home.contains("Pozvati CSR Zemun"), "{}", home.text);
    app.clock.advance(TimeDelta::hours(5));
    assert!(c.get("/staff/").await.contains("<li class=\"overdue\"><a href=\"/staff/cases/"));
    let tid = ids_after(&c.get(&format!("/staff/cases/{case}")).await, &format!("/staff/cases/{case}/tasks/"))[0].clone();
    assert_eq!(post(&c, &case, &format!("tasks/{tid}/done"), &[]).await.status, StatusCode::SEE_OTHER);
    assert!(!c.get("/staff/").await.contains("Pozvati CSR Zemun"));
    // Quiet cases after 14 days.
    app.clock.advance(TimeDelta::days(15));
    let (c, _) = app.signed_in(&[Role::Counsellor, Role::Supervisor]).await;
    assert!(c.get("/staff/").await.contains("Cases without activity for 14 days"));
    assert!(c.get("/staff/").await.contains("id=\"quiet-cases\""));
});

conformance!(async fn hotline_contacts_open_and_link_cases(backend) {
    let app = app(backend).await;
    let (c, _) = app.signed_in(&[Role::Counsellor]).await;
    // A contact id that names no recorded contact is refused.
    let res = c.submit("/staff/cases", "/staff/cases/from-contact", &[("contact_id", "018f1111-2222-7333-8444-555566667777"), ("kind", "missing_child")]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    let contact = &desk_contact(&c).await;
    let res = c.submit("/staff/cases", "/staff/cases/from-contact", &[("contact_id", contact), ("kind", "missing_child")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    let case = res.location().trim_start_matches("/staff/cases/").to_owned();
    let page = c.get(&format!("/staff/cases/{case}")).await;
    assert!(page.contains(&format!("Contact {contact}")) && page.contains("Contact linked"));
    let number = title(&page).split(' ').next().unwrap().to_owned();
    let another = &desk_contact(&c).await;
    let res = c.submit("/staff/cases", "/staff/cases/link-contact", &[("contact_id", another), ("case_number", &number.to_lowercase())]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert!(c.get(&format!("/staff/cases/{case}")).await.contains(&format!("Contact {another}")));
    let res = c.submit("/staff/cases", "/staff/cases/link-contact", &[("contact_id", another), ("case_number", "116-2026-09999")]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.contains("No case has this number."));
    let res = c.submit("/staff/cases", "/staff/cases/from-contact", &[("contact_id", "not-an-id"), ("kind", "missing_child")]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    // The store's one reader of links, where the desk's contact summary will be joined.
    let org = app.state.default_org;
    let linked = haven_store::cases::contacts_of(&app.state.db, org, case.parse().unwrap()).await.unwrap();
    assert_eq!(linked.len(), 2);
    // Finding a case by number from the list.
    let res = c.get(&format!("/staff/cases?q={number}")).await;
    assert_eq!(res.location(), format!("/staff/cases/{case}"));
});

conformance!(async fn services_consent_and_the_sharing_check(backend) {
    let app = app(backend).await;
    let (c, _) = app.signed_in(&[Role::CaseWorker]).await;
    let case = open_case(&c, "trafficking", false).await;
    add_person(&c, &case, &[("role", "beneficiary"), ("name", "Sara Savić"), ("birth_year", "1999")]).await;
    let page = c.get(&format!("/staff/cases/{case}")).await;
    let person = ids_after(&page, "/staff/people/")[0].clone();
    let select = page.text.split("name=\"provider_institution\"").nth(1).unwrap();
    let institution = select.split("<option value=\"").nth(2).unwrap().split('"').next().unwrap().to_owned();
    assert_eq!(institution.len(), 36, "{select}");
    let res = post(&c, &case, "services", &[("service_kind", "legal_aid"), ("service_status", "planned"), ("planned_on", "2026-12-05"), ("cost", "12.000,00"), ("cost_currency", "RSD"), ("funding_source", "Projekat A")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    let res = post(&c, &case, "services", &[("service_kind", "teleportation")]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    let page = c.get(&format!("/staff/cases/{case}")).await;
    let sid = ids_after(&page, &format!("/staff/cases/{case}/services/"))[0].clone();
    assert!(page.contains("12000.00 RSD Projekat A"));
    assert_eq!(post(&c, &case, &format!("services/{sid}"), &[("service_status", "delivered"), ("outcome", "Podneta tužba")]).await.status, StatusCode::SEE_OTHER);
    let page = c.get(&format!("/staff/cases/{case}")).await;
    assert!(page.contains("Service Legal aid and representation now Delivered") && page.contains("Podneta tužba"));
    // Sharing checks consent and says what is missing.
    let share = format!("/staff/cases/{case}?share_with={institution}");
    let res = c.get(&share).await;
    assert!(res.contains("consent is missing") && res.contains("Processing of personal data, Sharing with a named institution"), "{}", res.text);
    let res = post(&c, &case, "consents", &[("consent_person", &person), ("purpose", "sharing"), ("given", "given"), ("given_by", "person"), ("given_on", "2026-11-28")]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "sharing needs the institution");
    for purpose in ["data_processing", "sharing"] {
        let res = post(&c, &case, "consents", &[("consent_person", &person), ("purpose", purpose), ("consent_institution", &institution), ("given", "given"), ("given_by", "person"), ("given_on", "2026-11-28")]).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    }
    assert!(c.get(&share).await.contains("Everyone in the case consented"));
    // Withdrawn consent counts from then on.
    app.clock.advance(TimeDelta::minutes(5));
    post(&c, &case, "consents", &[("consent_person", &person), ("purpose", "sharing"), ("consent_institution", &institution), ("given", "withdrawn"), ("given_by", "person"), ("given_on", "2026-11-28")]).await;
    assert!(c.get(&share).await.contains("consent is missing"));
    // The timeline filters by kind.
    let notes = c.get(&format!("/staff/cases/{case}?show=services")).await;
    assert!(notes.contains("Service Legal aid") && !notes.contains("Consent recorded"));
});

/// Records a hotline contact through the desk; returns its id.
async fn desk_contact(c: &haven_testkit::Client) -> String {
    let res = c
        .submit(
            "/staff/desk/new",
            "/staff/desk/new",
            &[
                ("line", "116000"),
                ("channel", "phone"),
                ("caller_type", "family_member"),
                ("category", "missing_child.runaway"),
                ("do", "save"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    res.location()
        .trim_start_matches("/staff/desk/contacts/")
        .to_owned()
}
