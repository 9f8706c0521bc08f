//! The hotline desk through the real application, on both backends: recording, reading,
//! changing (versions) and voiding contacts; each validation error by name with the input kept;
//! phone lookup across spellings; caller flags that expire; the escalation checklist; drafts;
//! the inbox and handover notes; search; export only for those who may; access by organisation,
//! role and confidentiality; CSRF.

// Stories written as async functions are tests too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::TimeDelta;
use haven_domain::Role;
use haven_store::audit::{AuditFilter, list as audit_list};
use haven_testkit::reqwest::StatusCode;
use haven_testkit::{Client, TestApp, TestBackend, conformance};

async fn app(backend: TestBackend) -> TestApp {
    TestApp::spawn_with(backend, |s| {
        s.session.idle_timeout_minutes = 24 * 60;
        s.session.absolute_lifetime_hours = 72;
    })
    .await
}

const PARENTAL: &[(&str, &str)] = &[
    ("line", "116000"),
    ("channel", "phone"),
    ("direction", "inbound"),
    ("caller_type", "family_member"),
    ("phone", "+381 64 123 4567"),
    ("email", "majka.jovanovic@example.org"),
    ("category", "missing_child.parental_abduction"),
    ("countries", "RS, DE"),
    ("urgency", "urgent"),
    ("summary", "Otac odveo dete u Nemačku bez saglasnosti majke"),
    ("notes", "Majka Milica Jovanović zove iz Zemuna"),
    ("duration", "4:05"),
    ("do", "save"),
];

/// Records a contact from the intake form; returns its id.
/// Holds back the intake's writes until the transaction returned is dropped or rolled back, so
/// that those sent meanwhile pile up and are committed together (group commit). On SQLite a write
/// transaction holds the one writer; on PostgreSQL, where writers do not queue, a lock on
/// `audit_pending` (which every intake writes to) holds them.
async fn hold_writes(db: &haven_store::Db) -> haven_store::Tx {
    let mut hold = db.begin().await.unwrap();
    if hold.backend() == haven_store::Backend::Postgres {
        haven_store::execute!(&mut hold, "LOCK TABLE audit_pending IN SHARE MODE").unwrap();
    }
    hold
}

async fn record(c: &Client, fields: &[(&str, &str)]) -> String {
    let res = c.submit("/staff/desk/new", "/staff/desk/new", fields).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    let loc = res.location();
    assert!(loc.starts_with("/staff/desk/contacts/"), "{loc}");
    loc.trim_start_matches("/staff/desk/contacts/").to_owned()
}

fn with<'a>(
    base: &[(&'a str, &'a str)],
    changes: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut out: Vec<(&str, &str)> = base
        .iter()
        .filter(|(k, _)| !changes.iter().any(|(c, _)| c == k))
        .copied()
        .collect();
    out.extend_from_slice(changes);
    out
}

conformance!(async fn records_reads_changes_and_voids_a_contact_with_versions(backend) {
    let app = app(backend).await;
    let (c, _) = app.signed_in(&[Role::Counsellor]).await;
    let form = c.get("/staff/desk/new?line=116000").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.contains("accesskey=\"s\"") && form.contains("list=\"category-list\"") && form.contains("name=\"started_at\""));
    assert!(form.input_value("started_at").is_some_and(|v| !v.is_empty()), "the start time is filled in");
    let id = record(&c, PARENTAL).await;
    let page = c.get(&format!("/staff/desk/contacts/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    for s in ["+381641234567", "majka.jovanovic@example.org", "Parental abduction", "Otac odveo dete", "4:05", "RS, DE", "Urgent"] {
        assert!(page.contains(s), "{s} missing: {}", page.text);
    }
    // A missing child opens the 116 000 checklist.
    assert!(page.contains("id=\"checklist\"") && page.contains("Police report made?") && page.contains("Custody decision?"));
    // The title names no identity.
    let title = page.text.split("<title>").nth(1).unwrap().split("</title>").next().unwrap();
    assert!(!title.contains("381") && !title.contains("Jovanović"), "{title}");
    // A change: version 2 names the fields, never their values.
    let changed = with(PARENTAL, &[("summary", "Dete je kod oca u Minhenu"), ("urgency", "immediate_danger")]);
    let res = c.submit(&format!("/staff/desk/contacts/{id}/edit"), &format!("/staff/desk/contacts/{id}"), &changed).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    let page = c.get(&format!("/staff/desk/contacts/{id}")).await;
    assert!(page.contains("Dete je kod oca u Minhenu") && page.contains("Immediate danger"));
    assert!(page.contains("<td>2</td>") && page.contains("summary, urgency"), "{}", page.text);
    // Saving the same again writes no version.
    c.submit(&format!("/staff/desk/contacts/{id}/edit"), &format!("/staff/desk/contacts/{id}"), &changed).await;
    assert!(!c.get(&format!("/staff/desk/contacts/{id}")).await.contains("<td>3</td>"));
    // Audited: created, viewed, updated; entries carry field names, not values.
    let org = app.state.default_org;
    let uuid = id.parse().unwrap();
    let history = audit_list(&app.state.db, org, &AuditFilter { target: Some(("contact".into(), uuid)), ..Default::default() }, 50).await.unwrap();
    let actions: Vec<&str> = history.iter().map(|e| e.action.as_str()).collect();
    assert!(actions.contains(&"contact.created") && actions.contains(&"contact.viewed") && actions.contains(&"contact.updated"), "{actions:?}");
    let dump = format!("{history:?}");
    assert!(!dump.contains("Minhen") && !dump.contains("381641234567"));
    // Voiding needs a reason; a voided contact stays, marked, and cannot be changed.
    let res = c.submit(&format!("/staff/desk/contacts/{id}"), &format!("/staff/desk/contacts/{id}/void"), &[("reason", "")]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.contains("This field is required."));
    let res = c.submit(&format!("/staff/desk/contacts/{id}"), &format!("/staff/desk/contacts/{id}/void"), &[("reason", "Uneto dvaput")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let page = c.get(&format!("/staff/desk/contacts/{id}")).await;
    assert!(page.contains("id=\"voided\"") && page.contains("Uneto dvaput") && page.contains("voided"));
    let res = c.submit(&format!("/staff/desk/contacts/{id}"), &format!("/staff/desk/contacts/{id}"), &changed).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    let n = haven_store::contacts::count(&app.state.db, org).await.unwrap();
    assert_eq!(n, 1, "never deleted");
});

conformance!(async fn each_bad_field_is_named_and_the_input_kept(backend) {
    let app = app(backend).await;
    let (c, _) = app.signed_in(&[Role::Counsellor]).await;
    let big = "x".repeat(64 * 1024 + 1);
    let cases: Vec<(&str, &str, &str)> = vec![
        ("started_at", "2026-02-30T10:00", "Enter a date and time such as"),
        ("duration", "-3", "The duration cannot be negative."),
        ("category", "missing_child.teleported", "There is no category"),
        ("phone", "12ab-not-a-phone", "This phone number cannot be read"),
        ("notes", &big, "Notes can be at most 64 KiB."),
    ];
    for (field, value, message) in &cases {
        let fields = with(PARENTAL, &[(field, value)]);
        let res = c.submit("/staff/desk/new", "/staff/desk/new", &fields).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{field}");
        assert!(res.contains(message), "{field}: {}", res.text);
        assert!(res.contains(&format!("id=\"{field}-error\"")), "{field} has its own message");
        // Everything else typed is kept.
        assert!(res.contains("Otac odveo dete u Nemačku") && res.contains("majka.jovanovic@example.org"), "{field}");
    }
    // All at once, in Serbian.
    c.submit("/staff/profile", "/staff/profile/language", &[("language", "sr-Latn"), ("next", "/staff/")]).await;
    let mut all = PARENTAL.to_vec();
    all.retain(|(k, _)| !cases.iter().any(|(f, _, _)| f == k));
    for (f, v, _) in &cases {
        all.push((f, v));
    }
    let res = c.submit("/staff/desk/new", "/staff/desk/new", &all).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    for m in ["Trajanje ne može biti negativno.", "Ne postoji kategorija", "Ovaj broj telefona se ne može pročitati", "Beleške mogu imati najviše 64 KiB."] {
        assert!(res.contains(m), "{m}");
    }
    assert_eq!(haven_store::contacts::count(&app.state.db, app.state.default_org).await.unwrap(), 0);
    // A category may also be typed as its label.
    let id = record(&c, &with(PARENTAL, &[("category", "Otmica od strane roditelja")])).await;
    assert!(c.get(&format!("/staff/desk/contacts/{id}")).await.contains("Otmica od strane roditelja"));
});

conformance!(async fn lookup_by_phone_across_spellings_with_cases_and_expiring_flags(backend) {
    let app = app(backend).await;
    let (c, _) = app.signed_in(&[Role::Counsellor]).await;
    let first = record(&c, PARENTAL).await;
    record(&c, &with(PARENTAL, &[("phone", "+381 63 000 1111"), ("summary", "Drugi broj")])).await;
    // The same number typed the local way finds it (and only it).
    let res = c.submit("/staff/desk/new", "/staff/desk/lookup", &[("phone", "064/123-4567")]).await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(res.contains(&format!("/staff/desk/contacts/{first}")), "{}", res.text);
    assert!(res.contains("Parental abduction") && res.contains("116 000"), "{}", res.text);
    assert_eq!(res.text.matches("/staff/desk/contacts/").count(), 1);
    // Linked cases show in the lookup.
    let opened = c.submit(&format!("/staff/desk/contacts/{first}"), "/staff/cases/from-contact", &[("contact_id", &first), ("kind", "missing_child")]).await;
    assert_eq!(opened.status, StatusCode::SEE_OTHER, "{}", opened.text);
    let case_page = c.get(&opened.location()).await;
    assert!(case_page.contains("Parental abduction"), "the case shows the contact's summary");
    let res = c.submit("/staff/desk/new", "/staff/desk/lookup", &[("phone", "0641234567")]).await;
    assert!(res.contains("116-"), "{}", res.text);
    // Flags: shown until they expire.
    let res = c.submit(&format!("/staff/desk/contacts/{first}"), &format!("/staff/desk/contacts/{first}/flags"), &[("kind", "do_not_call_back"), ("days", "1")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let res = c.submit("/staff/desk/new", "/staff/desk/lookup", &[("phone", "+381641234567")]).await;
    assert!(res.contains("Do not call back until"), "{}", res.text);
    app.clock.advance(TimeDelta::hours(20));
    let res = c.submit("/staff/desk/new", "/staff/desk/lookup", &[("phone", "+381641234567")]).await;
    assert!(res.contains("Do not call back until"), "still holds after 20 hours");
    app.clock.advance(TimeDelta::hours(5));
    let res = c.submit("/staff/desk/new", "/staff/desk/lookup", &[("phone", "+381641234567")]).await;
    assert!(!res.contains("Do not call back") && res.contains(&first));
    // Without JavaScript: the form's own button, the input kept.
    let res = c.submit("/staff/desk/new", "/staff/desk/new", &with(PARENTAL, &[("do", "lookup"), ("phone", "064 123 45 67"), ("summary", "Ponovo zove")])).await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(res.contains("Earlier contacts from this number") && res.contains(&first) && res.contains("Ponovo zove"));
    // A number nobody called from.
    let res = c.submit("/staff/desk/new", "/staff/desk/lookup", &[("phone", "+381 11 222 3333")]).await;
    assert!(res.contains("No earlier contact from this number."));
});

conformance!(async fn escalation_steps_are_ticked_with_their_time(backend) {
    let app = app(backend).await;
    let (c, _) = app.signed_in(&[Role::Counsellor]).await;
    let id = record(&c, PARENTAL).await;
    let path = format!("/staff/desk/contacts/{id}");
    let res = c.submit(&path, &format!("{path}/checks"), &[("step", "police_report"), ("done", "on")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    app.clock.advance(TimeDelta::minutes(7));
    c.submit(&path, &format!("{path}/checks"), &[("step", "police_report_number"), ("done", "on"), ("value", "KU-1234/26")]).await;
    let res = c.submit(&path, &format!("{path}/checks"), &[("step", "teleport"), ("done", "on")]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    let page = c.get(&path).await;
    assert!(page.contains("KU-1234/26") && page.text.matches("· done").count() >= 2, "{}", page.text);
    // A routine information request has no checklist.
    let other = record(&c, &with(PARENTAL, &[("line", "sos"), ("category", "information.request"), ("urgency", "routine")])).await;
    assert!(!c.get(&format!("/staff/desk/contacts/{other}")).await.contains("id=\"checklist\""));
    // Immediate danger on the SOS line opens its own steps.
    let danger = record(&c, &with(PARENTAL, &[("line", "sos"), ("category", "trafficking.forced_labour"), ("urgency", "immediate_danger")])).await;
    assert!(c.get(&format!("/staff/desk/contacts/{danger}")).await.contains("Person in a safe place?"));
});

conformance!(async fn drafts_are_kept_on_the_server_for_their_author(backend) {
    let app = app(backend).await;
    let (c, _) = app.signed_in(&[Role::Counsellor]).await;
    let form = c.get("/staff/desk/new").await;
    let draft = form.input_value("draft_id").unwrap();
    let res = c.post_form("/staff/desk/draft", &[("csrf", &form.csrf()), ("draft_id", &draft), ("summary", "Poziv prekinut"), ("phone", "0641234567")]).await;
    assert_eq!(res.status, StatusCode::NO_CONTENT);
    let page = c.get(&format!("/staff/desk/new?draft={draft}")).await;
    assert!(page.contains("Poziv prekinut") && page.contains("0641234567"));
    assert!(c.get("/staff/desk/new").await.contains(&format!("?draft={draft}")), "unfinished drafts are listed");
    // Nobody else opens it, nor removes it by saving a contact under its id.
    let (other, _) = app.signed_in(&[Role::Counsellor]).await;
    assert!(!other.get(&format!("/staff/desk/new?draft={draft}")).await.contains("Poziv prekinut"));
    record(&other, &with(PARENTAL, &[("draft_id", &draft)])).await;
    assert!(c.get(&format!("/staff/desk/new?draft={draft}")).await.contains("Poziv prekinut"), "another counsellor's save left the draft alone");
    // Saving the contact removes the draft.
    record(&c, &with(PARENTAL, &[("draft_id", &draft)])).await;
    assert!(!c.get("/staff/desk/new").await.contains(&format!("?draft={draft}")));
    // The JS-off button saves a draft too.
    let form = c.get("/staff/desk/new").await;
    let draft = form.input_value("draft_id").unwrap();
    let res = c.post_form("/staff/desk/new", &[("csrf", &form.csrf()), ("draft_id", &draft), ("do", "draft"), ("summary", "Bez skripte")]).await;
    assert!(res.contains("Draft saved.") && res.contains("Bez skripte"));
});

conformance!(async fn inbox_counts_handover_and_tasks_per_line(backend) {
    let app = app(backend).await;
    let (c, me) = app.signed_in(&[Role::Counsellor]).await;
    let _ = me;
    let id = record(&c, &with(PARENTAL, &[("line", "sos"), ("category", "labour.job_offer"), ("needs_follow_up", "on")])).await;
    record(&c, &with(PARENTAL, &[("line", "sos"), ("channel", "web_form"), ("needs_follow_up", "on"), ("category", "labour.rights")])).await;
    let path = format!("/staff/desk/contacts/{id}");
    let res = c.submit(&path, &format!("{path}/tasks"), &[("title", "Pozvati inspekciju rada"), ("due_at", "2026-11-28T10:00")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    app.clock.advance(TimeDelta::hours(20));
    let inbox = c.get("/staff/desk").await;
    assert_eq!(inbox.status, StatusCode::OK);
    let count = |id: &str| inbox.text.split(&format!("id=\"{id}\"")).nth(1).unwrap().split("<strong>").nth(1).unwrap().split("</strong>").next().unwrap().to_owned();
    assert_eq!(count("count-sos-follow-up"), "2");
    assert_eq!(count("count-sos-web"), "1");
    assert_eq!(count("count-sos-overdue"), "1");
    assert_eq!(count("count-116000-follow-up"), "0");
    // The tasks themselves are listed per line, overdue ones marked, each leading to its contact.
    let table = inbox.text.split("id=\"tasks-sos\"").nth(1).expect("the line's task list").split("</table>").next().unwrap().to_owned();
    assert!(table.contains("Pozvati inspekciju rada") && table.contains("overdue") && table.contains(&format!("/staff/desk/contacts/{id}#tasks")), "{table}");
    assert!(!inbox.contains("id=\"tasks-116000\""), "no tasks on the other line");
    // A confidential contact's task is listed only for those who may see the contact.
    let (other, _) = app.signed_in(&[Role::Counsellor]).await;
    let secret = record(&other, &with(PARENTAL, &[("line", "sos"), ("confidential", "on")])).await;
    let spath = format!("/staff/desk/contacts/{secret}");
    let res = other.submit(&spath, &format!("{spath}/tasks"), &[("title", "Tajni zadatak"), ("due_at", "2026-11-28T09:00")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    assert!(other.get("/staff/desk").await.contains("Tajni zadatak"));
    assert!(!c.get("/staff/desk").await.contains("Tajni zadatak"));
    // Taking the web form leaves the "unassigned" count.
    let r = c.get("/staff/desk/contacts?channel=web_form").await;
    let web = r.text.split("/staff/desk/contacts/").nth(1).unwrap()[..36].to_owned();
    assert_eq!(c.submit(&format!("/staff/desk/contacts/{web}"), &format!("/staff/desk/contacts/{web}/assign"), &[]).await.status, StatusCode::SEE_OTHER);
    let after = c.get("/staff/desk").await;
    assert!(after.text.split("id=\"count-sos-web\"").nth(1).unwrap().contains("<strong>0</strong>"));
    let res = c.submit("/staff/desk", "/staff/desk/handover", &[("line", "sos"), ("body", "Čekamo povratni poziv inspekcije")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert!(c.get("/staff/desk").await.contains("Čekamo povratni poziv inspekcije"));
    let res = c.submit("/staff/desk", "/staff/desk/handover", &[("line", "sos"), ("body", "")]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Done tasks leave the count.
    let page = c.get(&path).await;
    let tid = page.text.split(&format!("{path}/tasks/")).nth(1).unwrap()[..36].to_owned();
    assert_eq!(c.submit(&path, &format!("{path}/tasks/{tid}/done"), &[]).await.status, StatusCode::SEE_OTHER);
    let inbox = c.get("/staff/desk").await;
    assert!(inbox.text.split("id=\"count-sos-overdue\"").nth(1).unwrap().starts_with(" class=\"overdue\">Tasks overdue: <strong>1</strong>"), "only the confidential contact's task is left: {}", inbox.text);
    assert!(!inbox.contains("Pozvati inspekciju rada"), "a done task leaves the list");
});

conformance!(async fn a_contact_with_two_categories_and_three_kinds_of_detail_keeps_every_row(backend) {
    // On PostgreSQL a new contact's rows (the contact, its blind indexes, categories, counsellors,
    // version 1) go in one statement; each must land, and be found by each.
    let app = app(backend).await;
    let (c, counsellor) = app.signed_in(&[Role::Counsellor]).await;
    let mut fields = with(PARENTAL, &[("handle", "@majka_zemun")]);
    fields.push(("category", "trafficking.forced_labour"));
    let id = record(&c, &fields).await;
    let page = c.get(&format!("/staff/desk/contacts/{id}")).await;
    for s in ["Parental abduction", "Forced labour", "+381641234567", "majka.jovanovic@example.org", "@majka_zemun"] {
        assert!(page.contains(s), "{s} missing: {}", page.text);
    }
    for q in ["category=missing_child", "category=trafficking"] {
        let r = c.get(&format!("/staff/desk/contacts?{q}")).await;
        assert!(r.contains(&id), "{q}: {}", r.text);
    }
    for (k, v) in [("phone", "+381 64 123 4567"), ("email", "majka.jovanovic@example.org")] {
        let r = c.submit("/staff/desk/contacts", "/staff/desk/search", &[(k, v)]).await;
        assert!(r.contains(&id), "by {k}: {}", r.text);
    }
    let me = haven_store::users::by_email(&app.state.db, app.state.default_org, &counsellor.email).await.unwrap().unwrap();
    let r = c.get(&format!("/staff/desk/contacts?counsellor={}", me.user.id.0)).await;
    assert!(r.contains(&id), "the recorder is its counsellor");
    let cid = id.parse().unwrap();
    let facts = haven_store::contacts::facts(&app.state.db, app.state.default_org, cid).await.unwrap().unwrap();
    assert_eq!(facts.counsellors, vec![me.user.id], "the recorder is its counsellor once");
    let mut cats = facts.categories.clone();
    cats.sort();
    assert_eq!(cats, ["missing_child.parental_abduction", "trafficking.forced_labour"]);
    let versions = haven_store::contacts::versions(&app.state.db, app.state.default_org, cid).await.unwrap();
    assert_eq!(versions.len(), 1, "version 1 only");
});

conformance!(async fn contacts_saved_at_the_same_moment_are_each_saved_with_their_audit_entry(backend) {
    // The intakes that wait to be written together share one transaction and one sync (group
    // commit). Hold the writes back while they are sent, so that they pile up: each must still
    // be answered only once saved, be saved once, and keep its own audit entry.
    let app = app(backend).await;
    let (c, _) = app.signed_in(&[Role::Counsellor]).await;
    let hold = hold_writes(&app.state.db).await;
    let mut saves = Vec::new();
    for i in 0..24 {
        let c = c.clone();
        saves.push(tokio::spawn(async move {
            let summary = format!("Poziv broj {i} o ponudi za posao");
            (i, record(&c, &with(PARENTAL, &[("summary", &summary)])).await)
        }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    hold.rollback().await.unwrap();
    let mut ids = std::collections::BTreeSet::new();
    for save in saves {
        let (i, id) = save.await.unwrap();
        let page = c.get(&format!("/staff/desk/contacts/{id}")).await;
        assert!(page.contains(&format!("Poziv broj {i} o ponudi")), "contact {i} reads back: {}", page.text);
        assert!(ids.insert(id), "each intake is its own contact");
    }
    assert_eq!(ids.len(), 24);
    let org = app.state.default_org;
    for id in &ids {
        let entries = audit_list(&app.state.db, org, &AuditFilter { target: Some(("contact".into(), id.parse().unwrap())), ..Default::default() }, 10).await.unwrap();
        let created = entries.iter().filter(|e| e.action == "contact.created").count();
        assert_eq!(created, 1, "one contact.created entry for {id}");
    }
});

conformance!(async fn a_write_that_fails_among_others_saves_none_of_itself_and_all_of_them(backend) {
    // A contact naming a counsellor who does not exist fails after its contact row and blind
    // indexes were written. Sent while others are waiting to be written with it (in the same
    // transaction), none of its rows may stay, its caller gets the database's refusal, and every
    // other contact is saved.
    use haven_domain::UserId;
    use haven_store::audit::{AuditActor, AuditEvent};
    use haven_store::contacts::{self, IndexKind, NewContact};
    let app = app(backend).await;
    let (_, counsellor) = app.signed_in(&[Role::Counsellor]).await;
    let org = app.state.default_org;
    let by = haven_store::users::by_email(&app.state.db, org, &counsellor.email).await.unwrap().unwrap().user.id;
    let ring = app.state.keys.get(org).await.unwrap();
    let save = |summary: String, counsellors: Vec<UserId>| {
        let (db, ring, rng) = (app.state.db.clone(), ring.clone(), app.state.rng.clone());
        let contact = NewContact { id: app.state.ids().id(), input: haven_testkit::information_request("+381641112233", &summary, haven_testkit::test_epoch()), person_id: None, counsellors, by, now: app.state.now() };
        let audit_id = app.state.ids().uuid();
        tokio::spawn(async move {
            let p = contacts::prepare(&ring, rng.as_ref(), org, &contact).unwrap();
            let event = AuditEvent::new(AuditActor::User(by), "contact.created", haven_store::audit::Outcome::Ok).target("contact", contact.id.0);
            (contact.id, contacts::record(&db, &p, None, audit_id, &event).await)
        })
    };
    let hold = hold_writes(&app.state.db).await;
    let mut good = vec![save("prvi".into(), vec![by])];
    // The first writes are taken alone while the writes are held (one by each committing task:
    // SQLite has one, PostgreSQL one for every two connections); the rest then wait together.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    for i in 0..5 {
        good.push(save(format!("pre {i}"), vec![by]));
    }
    let bad = save("nepostojeći savetnik".into(), vec![by, app.state.ids().id()]);
    for i in 0..5 {
        good.push(save(format!("posle {i}"), vec![by]));
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    hold.rollback().await.unwrap();
    let (bad_id, refused) = bad.await.unwrap();
    match refused {
        Err(haven_store::StoreError::Database(_)) => {}
        other => panic!("the bad write gets the database's refusal, got {other:?}"),
    }
    assert!(contacts::facts(&app.state.db, org, bad_id).await.unwrap().is_none(), "no row of the bad contact stays");
    for g in good {
        let (id, saved) = g.await.unwrap();
        saved.unwrap();
        assert!(contacts::get(&app.state.db, &ring, org, id).await.unwrap().is_some(), "every other contact is saved");
    }
    let found = contacts::lookup(&app.state.db, &ring, org, IndexKind::Phone, "+381641112233", 50).await.unwrap();
    assert_eq!(found.len(), 11, "the bad contact left no blind index behind");
});

conformance!(async fn search_filters_and_exports_for_those_who_may(backend) {
    let app = app(backend).await;
    let (c, counsellor) = app.signed_in(&[Role::Counsellor]).await;
    let a = record(&c, PARENTAL).await;
    let b = record(&c, &with(PARENTAL, &[("line", "sos"), ("channel", "viber"), ("phone", "+381 63 000 1111"), ("email", ""), ("category", "labour.job_offer"), ("countries", "AT"), ("urgency", "routine")])).await;
    let get = |q: &str| {
        let c = c.clone();
        let url = format!("/staff/desk/contacts?{q}");
        async move { c.get(&url).await }
    };
    let r = get("line=sos").await;
    assert!(r.contains(&b) && !r.contains(&a));
    let r = get("category=missing_child").await;
    assert!(r.contains(&a) && !r.contains(&b), "a group finds its categories");
    let r = get("channel=viber&country=AT").await;
    assert!(r.contains(&b) && !r.contains(&a));
    let r = get("urgency=urgent").await;
    assert!(r.contains(&a) && !r.contains(&b));
    let me = haven_store::users::by_email(&app.state.db, app.state.default_org, &counsellor.email).await.unwrap().unwrap();
    let r = get(&format!("counsellor={}", me.user.id.0)).await;
    assert!(r.contains(&a) && r.contains(&b));
    let r = get("from=2000-01-01&to=2000-01-02").await;
    assert!(!r.contains(&a) && r.contains("No contact matches."));
    let r = get("category=nonsense").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    // A phone number or e-mail address never goes into a URL: they are posted.
    let r = c.submit("/staff/desk/contacts", "/staff/desk/search", &[("phone", "064 123 4567")]).await;
    assert!(r.contains(&a) && !r.contains(&b), "{}", r.text);
    let r = c.submit("/staff/desk/contacts", "/staff/desk/search", &[("email", "MAJKA.jovanovic@example.org")]).await;
    assert!(r.contains(&a) && !r.contains(&b));
    let r = get("line=sos&phone=0641234567").await;
    assert!(r.contains(&b), "a phone in the query is ignored");
    // By case number.
    let opened = c.submit(&format!("/staff/desk/contacts/{b}"), "/staff/cases/from-contact", &[("contact_id", &b), ("kind", "labour_exploitation")]).await;
    let case_page = c.get(&opened.location()).await;
    let number = case_page.text.split("<title>").nth(1).unwrap().split(' ').next().unwrap().to_owned();
    let r = get(&format!("case_number={number}")).await;
    assert!(r.contains(&b) && !r.contains(&a), "{number}");
    // Export: not for counsellors; supervisors get CSV and XLSX, audited, without identities.
    let r = c.submit("/staff/desk/contacts", "/staff/desk/export", &[("format", "csv")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let (sup, _) = app.signed_in(&[Role::Supervisor]).await;
    let r = sup.submit("/staff/desk/contacts", "/staff/desk/export", &[("format", "csv"), ("line", "116000")]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.header("content-type").unwrap().starts_with("text/csv"));
    assert!(r.text.starts_with("id,line,channel") && r.contains(&a) && !r.contains(&b));
    assert!(!r.contains("381641234567") && !r.contains("Otac odveo"));
    let r = sup.submit("/staff/desk/contacts", "/staff/desk/export", &[("format", "xlsx")]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.header("content-type").unwrap().contains("spreadsheetml"));
    let exports = audit_list(&app.state.db, app.state.default_org, &AuditFilter { action_prefix: Some("contact.exported".into()), ..Default::default() }, 10).await.unwrap();
    assert_eq!(exports.len(), 2);
});

conformance!(async fn access_by_organisation_role_confidentiality_and_csrf(backend) {
    let app = app(backend).await;
    let (c, _) = app.signed_in(&[Role::Counsellor]).await;
    let open = record(&c, PARENTAL).await;
    let secret = record(&c, &with(PARENTAL, &[("confidential", "on"), ("phone", "+381 65 777 8888")])).await;
    // Another counsellor sees the open contact, not the confidential one (not even by lookup).
    let (other, _) = app.signed_in(&[Role::Counsellor]).await;
    assert_eq!(other.get(&format!("/staff/desk/contacts/{open}")).await.status, StatusCode::OK);
    assert_eq!(other.get(&format!("/staff/desk/contacts/{secret}")).await.status, StatusCode::NOT_FOUND);
    let r = other.submit("/staff/desk/new", "/staff/desk/lookup", &[("phone", "065 777 8888")]).await;
    assert!(!r.contains(&secret) && r.contains("No earlier contact"));
    assert!(!other.get("/staff/desk/contacts?line=116000").await.contains(&secret));
    let r = other.submit(&format!("/staff/desk/contacts/{open}"), "/staff/cases/from-contact", &[("contact_id", &secret), ("kind", "missing_child")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "a hidden contact cannot be linked either");
    // An administrator does not; a supervisor does.
    let (admin, _) = app.signed_in(&[Role::Admin]).await;
    assert_eq!(admin.get(&format!("/staff/desk/contacts/{secret}")).await.status, StatusCode::NOT_FOUND);
    let (sup, _) = app.signed_in(&[Role::Supervisor]).await;
    assert_eq!(sup.get(&format!("/staff/desk/contacts/{secret}")).await.status, StatusCode::OK);
    // Roles without the desk.
    let (analyst, _) = app.signed_in(&[Role::Analyst]).await;
    assert_eq!(analyst.get("/staff/desk").await.status, StatusCode::FORBIDDEN);
    assert_eq!(analyst.get(&format!("/staff/desk/contacts/{open}")).await.status, StatusCode::FORBIDDEN);
    let (lawyer, _) = app.signed_in(&[Role::Lawyer]).await;
    assert_eq!(lawyer.get("/staff/desk/new").await.status, StatusCode::FORBIDDEN);
    // Another organisation finds nothing.
    let (foreign, _) = app.signed_in_elsewhere(&[Role::Supervisor, Role::Counsellor]).await;
    assert_eq!(foreign.get(&format!("/staff/desk/contacts/{open}")).await.status, StatusCode::NOT_FOUND);
    let r = foreign.submit("/staff/desk/new", "/staff/desk/lookup", &[("phone", "+381641234567")]).await;
    assert!(!r.contains(&open));
    // CSRF: a post without the token is refused and records nothing.
    let res = c.post_form("/staff/desk/new", PARENTAL).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let res = c.post_form("/staff/desk/draft", &[("summary", "x")]).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert_eq!(haven_store::contacts::count(&app.state.db, app.state.default_org).await.unwrap(), 2);
});

conformance!(async fn the_json_api_creates_reads_updates_voids_and_searches(backend) {
    let app = app(backend).await;
    let (c, _) = app.signed_in(&[Role::Counsellor]).await;
    let csrf = c.get("/staff/desk/new").await.csrf();
    let h = [("x-csrf-token", csrf.as_str())];
    let body = serde_json::json!({
        "line": "116000", "channel": "phone", "caller_type": "family_member",
        "phone": "064/123-4567", "categories": ["missing_child.parental_abduction"],
        "countries": ["RS", "DE"], "summary": "Otac odveo dete", "duration_seconds": 245,
    });
    let res = c.post_json("/api/v1/contacts", &body, &h).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    let out = res.json();
    let id = out["id"].as_str().unwrap().to_owned();
    assert_eq!(out["phone"], "+381641234567");
    assert_eq!(out["duration_seconds"], 245);
    assert_eq!(out["version"], 1);
    // Each bad field is named, with a message.
    let bad = serde_json::json!({
        "line": "116000", "channel": "phone", "caller_type": "family_member",
        "phone": "nope", "categories": ["x.y"], "duration_seconds": -5, "notes": "x".repeat(70_000),
    });
    let res = c.post_json("/api/v1/contacts", &bad, &h).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.header("content-type").unwrap().starts_with("application/problem+json"));
    let fields: Vec<String> = res.json()["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap().to_owned()).collect();
    for f in ["phone", "category", "duration", "notes"] {
        assert!(fields.contains(&f.to_owned()), "{f}: {fields:?}");
    }
    // Read, update (version 2), void, search.
    let res = c.get(&format!("/api/v1/contacts/{id}")).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.json()["summary"], "Otac odveo dete");
    let mut changed = body.clone();
    changed["urgency"] = "immediate_danger".into();
    let res = c.post_json(&format!("/api/v1/contacts/{id}"), &changed, &h).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert_eq!(res.json()["version"], 2);
    let res = c.post_json("/api/v1/contacts/search", &serde_json::json!({ "phone": "+381 64 123 4567" }), &h).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.json().as_array().unwrap().len(), 1);
    let res = c.post_json(&format!("/api/v1/contacts/{id}/void"), &serde_json::json!({ "reason": "" }), &h).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    let res = c.post_json(&format!("/api/v1/contacts/{id}/void"), &serde_json::json!({ "reason": "Test" }), &h).await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(res.json()["voided_at"].is_string());
    // Another organisation finds nothing; the OpenAPI document lists the paths.
    let (foreign, _) = app.signed_in_elsewhere(&[Role::Supervisor]).await;
    assert_eq!(foreign.get(&format!("/api/v1/contacts/{id}")).await.status, StatusCode::NOT_FOUND);
    let doc = app.client().get("/api/openapi.json").await;
    for p in ["/api/v1/contacts", "/api/v1/contacts/{id}", "/api/v1/contacts/{id}/void", "/api/v1/contacts/search"] {
        assert!(doc.contains(&format!("\"{p}\"")), "{p}");
    }
});

/// The first `/staff/people/{id}` link of a page.
fn first_person(page: &str) -> String {
    let at = page.find("/staff/people/").expect("a person link") + "/staff/people/".len();
    page[at..at + 36].to_owned()
}

/// Opens a case and records a person in it with this phone; returns the person's id.
async fn person_with_phone(c: &Client, restricted: bool, name: &str, phone: &str) -> String {
    let mut fields = vec![
        ("kind", "missing_child"),
        ("summary", "Dete nije došlo kući."),
    ];
    if restricted {
        fields.push(("restricted", "on"));
    }
    let res = c
        .submit("/staff/cases/new", "/staff/cases/new", &fields)
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    let case = res.location();
    let res = c
        .submit(
            &case,
            &format!("{case}/people"),
            &[
                ("role", "parent"),
                ("name", name),
                ("phones", phone),
                ("confirm_new", "1"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    first_person(&c.get(&case).await.text)
}

conformance!(async fn the_caller_is_linked_to_a_person_found_by_phone(backend) {
    let app = app(backend).await;
    let (c, _) = app.signed_in(&[Role::Counsellor]).await;
    let (other, _) = app.signed_in(&[Role::Counsellor]).await;
    let milica = person_with_phone(&c, false, "Milica Jovanović", "+381 64 123 4567").await;
    // Someone else's restricted case: its person is never offered to, nor linkable by, `other`.
    let hidden = person_with_phone(&c, true, "Skrivena Osoba", "064 123 4567").await;

    // The lookup offers the people with the number, the first choice being "not linked".
    let res = c.submit("/staff/desk/new", "/staff/desk/lookup", &[("phone", "064/123-4567")]).await;
    assert!(res.contains("Milica Jovanović") && res.contains(&format!("value=\"{milica}\"")), "{}", res.text);
    assert!(res.contains("Skrivena Osoba"), "the case's own advisor sees both");
    let res = other.submit("/staff/desk/new", "/staff/desk/lookup", &[("phone", "064/123-4567")]).await;
    assert!(res.contains("Milica Jovanović"), "{}", res.text);
    assert!(!res.contains("Skrivena") && !res.contains(&hidden), "a restricted case's person stays hidden");

    // A person the counsellor may not open, or no person at all, is refused with the input kept.
    for bad in [hidden.as_str(), "00000000-0000-7000-8000-000000000000", "nonsense"] {
        let res = other.submit("/staff/desk/new", "/staff/desk/new", &with(PARENTAL, &[("person_id", bad), ("summary", "Zove ponovo zbog deteta")])).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert!(res.contains("This person&#39;s record cannot be linked") || res.contains("This person's record cannot be linked"), "{}", res.text);
        assert!(res.contains("Zove ponovo zbog deteta"), "the input is kept");
    }

    // Saved with the person: the contact shows the record, the record lists the contact.
    let id = record(&other, &with(PARENTAL, &[("person_id", &milica)])).await;
    let page = other.get(&format!("/staff/desk/contacts/{id}")).await;
    assert!(page.contains("id=\"caller-person-linked\"") && page.contains(&format!("/staff/people/{milica}")), "{}", page.text);
    let person = other.get(&format!("/staff/people/{milica}")).await;
    assert!(person.contains("Hotline contacts with this person") && person.contains(&format!("/staff/desk/contacts/{id}")), "{}", person.text);

    // Unlinking makes a version; a stale form (old version) is refused and changes nothing.
    let res = other.submit(&format!("/staff/desk/contacts/{id}"), &format!("/staff/desk/contacts/{id}/person"), &[("version", "1"), ("person_id", "")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    let page = other.get(&format!("/staff/desk/contacts/{id}")).await;
    assert!(page.contains("id=\"caller-person-none\""), "{}", page.text);
    assert!(page.contains("person"), "the version names the field");
    let res = other.submit(&format!("/staff/desk/contacts/{id}"), &format!("/staff/desk/contacts/{id}/person"), &[("version", "1"), ("person_id", &milica)]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.contains("Someone changed this contact meanwhile"), "{}", res.text);
    // Linked again from the contact page, where the people with its number are offered.
    let page = other.get(&format!("/staff/desk/contacts/{id}")).await;
    assert!(page.contains("id=\"caller-link-form\"") && !page.contains(&hidden), "{}", page.text);
    let res = other.submit(&format!("/staff/desk/contacts/{id}"), &format!("/staff/desk/contacts/{id}/person"), &[("version", "2"), ("person_id", &milica)]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    let entries = audit_list(&app.state.db, app.state.default_org, &AuditFilter { action_prefix: Some("contact.person_linked".into()), ..AuditFilter::default() }, 10).await.unwrap();
    assert_eq!(entries.len(), 1);
    // The person page of someone outside the restricted case does not list its contacts either.
    let res = other.submit(&format!("/staff/desk/contacts/{id}"), &format!("/staff/desk/contacts/{id}/person"), &[("version", "3"), ("person_id", &hidden)]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.contains("id=\"caller-person-linked\""), "the earlier link stays");

    // The JSON API takes and returns the link, with the same check.
    let csrf = other.get("/staff/desk/new").await.csrf();
    let h = [("x-csrf-token", csrf.as_str())];
    let body = serde_json::json!({
        "line": "116000", "channel": "phone", "caller_type": "family_member",
        "phone": "064/123-4567", "categories": ["missing_child.parental_abduction"], "person_id": milica,
    });
    let res = other.post_json("/api/v1/contacts", &body, &h).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    assert_eq!(res.json()["person_id"], milica.as_str());
    let mut body = body;
    body["person_id"] = serde_json::json!(hidden);
    let res = other.post_json("/api/v1/contacts", &body, &h).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.text);
    assert!(res.text.contains("person_id"), "{}", res.text);
});
