//! The notifications store on both backends: gapless protocol numbers in the configured format,
//! the letter sealed and read back, the workflow's steps timed, a step refused when someone moved
//! the notification first, overdue ones found, templates saved and defaulted, reply links found
//! by their hash only.

// Stories written as async functions are tests too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{NaiveDate, TimeDelta};
use haven_crypto::keys::MasterKey;
use haven_domain::institutions::InstitutionKind;
use haven_domain::referrals::{
    NotificationId, Outcome, ProtocolFormat, Purpose, SendMethod, Status,
};
use haven_domain::validate::{DisplayName, EmailAddress};
use haven_domain::{IdGen, Language, ManualClock, OrgId, OsRng, Role, UserId};
use haven_store::institutions::{self, Institution};
use haven_store::keys;
use haven_store::notifications::{self as store, NewNotification, Settings, StepDetails};
use haven_store::orgs::{self, Org};
use haven_store::users::{self, NewUser, UserStatus};
use haven_testkit::{TestDb, conformance, test_epoch};

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

conformance!(async fn notifications_number_seal_and_move_through_their_workflow(backend) {
    let t = TestDb::new(backend).await;
    let db = &t.db;
    let clock = ManualClock::new(test_epoch());
    let ids = IdGen::new(&clock, &OsRng);
    let master = MasterKey::generate(&OsRng);
    let now = test_epoch();
    let org = Org {
        id: ids.id(),
        slug: "astra".into(),
        name: "Astra".into(),
        time_zone: "Europe/Belgrade".into(),
        default_language: Language::SrLatn,
        phone_region: "RS".into(),
        created_at: now,
    };
    let user: UserId = ids.id();
    let inspectorate = ids.uuid();
    let mut tx = db.begin().await.unwrap();
    orgs::insert(&mut tx, &org).await.unwrap();
    keys::create_for_org(&mut tx, &master, org.id, now, &OsRng).await.unwrap();
    users::insert(&mut tx, &NewUser {
        org_id: org.id,
        id: user,
        email: EmailAddress::parse("e", "ana@example.org").unwrap(),
        display_name: DisplayName::parse("n", "Ana").unwrap(),
        language: Language::En,
        roles: vec![Role::Counsellor],
        status: UserStatus::Active,
        password_hash: None,
        now,
    }).await.unwrap();
    institutions::insert(&mut tx, &Institution {
        org_id: org.id,
        id: inspectorate,
        kind: InstitutionKind::LabourInspectorate,
        name_sr_latn: "Inspektorat za rad".into(),
        name_sr_cyrl: None,
        name_en: None,
        area: None,
        country: "RS".into(),
        address: None,
        phone: None,
        email: Some("inspekcija@example.org".into()),
        website: None,
        notes: None,
    }, false, now).await.unwrap();
    let settings = Settings {
        protocol_format: ProtocolFormat::parse("{n}/{year}").unwrap(),
        approval: vec![Purpose::Report],
        letterhead: store::Letterhead {
            address: "Bulevar kralja Aleksandra 1, 11000 Beograd".into(),
            phone: "+381 11 123 4567".into(),
            email: "kancelarija@astra.example".into(),
            web: "https://astra.example".into(),
            registration: "Matični broj 17123456".into(),
        },
        signature_title: "Koordinatorka programa".into(),
    };
    store::save_settings(&mut tx, org.id, &settings, now).await.unwrap();
    tx.commit().await.unwrap();
    let ring = keys::load_keyring(db, &master, org.id).await.unwrap();
    assert_eq!(store::settings(db, org.id).await.unwrap(), settings);
    assert!(store::settings(db, OrgId(ids.uuid())).await.unwrap().needs_approval(Purpose::SafeReturnRequest));

    let new = |id: NotificationId, deadline: &str| NewNotification {
        id,
        case: None,
        contact: None,
        purpose: Purpose::Report,
        institution: inspectorate,
        language: Language::SrLatn,
        recipient_person: "Inspektor Đorđe Šćepanović".into(),
        subject: "Agencija bez dozvole".into(),
        body: "Prijavljujemo agenciju koja zapošljava bez dozvole.".into(),
        people: String::new(),
        deadline: Some(d(deadline)),
        documents: Vec::new(),
        by: user,
        now,
        step_id: ids.uuid(),
    };
    let first: NotificationId = ids.id();
    let second: NotificationId = ids.id();
    let mut tx = db.begin().await.unwrap();
    let n1 = store::create(&mut tx, &ring, &OsRng, org.id, &settings.protocol_format, &new(first, "2026-12-01")).await.unwrap();
    tx.commit().await.unwrap();
    // A write that fails takes its number back: the register has no hole.
    let mut tx = db.begin().await.unwrap();
    store::create(&mut tx, &ring, &OsRng, org.id, &settings.protocol_format, &new(ids.id(), "2026-12-01")).await.unwrap();
    tx.rollback().await.unwrap();
    let mut tx = db.begin().await.unwrap();
    let n2 = store::create(&mut tx, &ring, &OsRng, org.id, &settings.protocol_format, &new(second, "2027-06-01")).await.unwrap();
    tx.commit().await.unwrap();
    let year = chrono::Datelike::year(&now);
    assert_eq!(n1, format!("1/{year}"));
    assert_eq!(n2, format!("2/{year}"));

    let letter = store::letter(db, &ring, org.id, first).await.unwrap();
    assert_eq!(letter.recipient_person, "Inspektor Đorđe Šćepanović");
    assert_eq!(letter.subject, "Agencija bez dozvole");

    // Through the workflow, each step timed.
    let steps = [
        (Status::Draft, Status::AwaitingApproval, StepDetails::default()),
        (Status::AwaitingApproval, Status::Approved, StepDetails { approves: true, ..StepDetails::default() }),
        (Status::Approved, Status::SendingFailed, StepDetails { failure: Some("connection refused".into()), ..StepDetails::default() }),
        (Status::SendingFailed, Status::Sent, StepDetails { method: Some(SendMethod::Post), sent_on: Some(d("2026-11-28")), ..StepDetails::default() }),
    ];
    for (i, (from, to, det)) in steps.iter().enumerate() {
        let at = now + TimeDelta::minutes(i as i64 + 1);
        let mut tx = db.begin().await.unwrap();
        assert!(store::step(&mut tx, &ring, &OsRng, org.id, first, *from, *to, Some(user), det, ids.uuid(), at).await.unwrap());
        tx.commit().await.unwrap();
    }
    // Moved by someone else first: refused.
    let mut tx = db.begin().await.unwrap();
    assert!(!store::step(&mut tx, &ring, &OsRng, org.id, first, Status::Approved, Status::Sent, Some(user), &StepDetails::default(), ids.uuid(), now).await.unwrap());
    tx.rollback().await.unwrap();
    let row = store::row(db, org.id, first).await.unwrap().unwrap();
    assert_eq!(row.status().unwrap(), Status::Sent);
    assert_eq!(row.method(), Some(SendMethod::Post));
    assert_eq!(row.approved_by, Some(user.0));
    assert_eq!(store::letter(db, &ring, org.id, first).await.unwrap().failure, "connection refused");
    let trail: Vec<Status> = store::steps(db, org.id, first).await.unwrap().into_iter().map(|s| s.status).collect();
    assert_eq!(trail, vec![Status::Draft, Status::AwaitingApproval, Status::Approved, Status::SendingFailed, Status::Sent]);

    // Overdue: sent, deadline passed; the draft with a later deadline is not.
    let overdue = store::overdue(db, org.id, d("2026-12-05")).await.unwrap();
    assert_eq!(overdue.iter().map(|r| r.id).collect::<Vec<_>>(), vec![first.0]);
    assert!(row.overdue(d("2026-12-05")));

    let mut tx = db.begin().await.unwrap();
    assert!(store::step(&mut tx, &ring, &OsRng, org.id, first, Status::Sent, Status::OutcomeRecorded, Some(user),
        &StepDetails { outcome: Some(Outcome::MisdemeanourProceedingsStarted), outcome_note: Some("Prekršajni nalog".into()), ..StepDetails::default() },
        ids.uuid(), now).await.unwrap());
    tx.commit().await.unwrap();
    assert!(store::overdue(db, org.id, d("2026-12-05")).await.unwrap().is_empty());
    let row = store::row(db, org.id, first).await.unwrap().unwrap();
    assert_eq!(row.outcome(), Some(Outcome::MisdemeanourProceedingsStarted));

    // Templates: the default until saved.
    let tpl = store::template(db, org.id, Purpose::Report, Language::En).await.unwrap();
    assert!(!tpl.saved);
    let mut tx = db.begin().await.unwrap();
    store::save_template(&mut tx, org.id, Purpose::Report, Language::En, "Report {{protocol_number}}", "Dear {{recipient}}", user, now).await.unwrap();
    tx.commit().await.unwrap();
    let tpl = store::template(db, org.id, Purpose::Report, Language::En).await.unwrap();
    assert_eq!((tpl.subject.as_str(), tpl.saved), ("Report {{protocol_number}}", true));

    // Reply links: found by the hash only; a new link replaces the old one.
    let mut tx = db.begin().await.unwrap();
    store::set_reply_link(&mut tx, org.id, first, &[1u8; 32], now, now).await.unwrap();
    store::set_reply_link(&mut tx, org.id, first, &[2u8; 32], now, now).await.unwrap();
    tx.commit().await.unwrap();
    assert!(store::reply_link(db, &[1u8; 32]).await.unwrap().is_none());
    assert_eq!(store::reply_link(db, &[2u8; 32]).await.unwrap().map(|l| l.1), Some(first));
    let mut tx = db.begin().await.unwrap();
    store::add_reply(&mut tx, &ring, &OsRng, org.id, first, ids.id(), "Primili smo vašu prijavu.", now).await.unwrap();
    tx.commit().await.unwrap();
    let replies = store::replies(db, &ring, org.id, first).await.unwrap();
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0].1, "Primili smo vašu prijavu.");
    assert_eq!(store::list(db, org.id).await.unwrap().len(), 2);
});
