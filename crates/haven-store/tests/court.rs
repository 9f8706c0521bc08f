//! The court store on both backends: a proceeding and its sealed values read back, charges in the
//! order they applied whatever the order of recording, payments summed per award, the plain facts
//! of the figures (a civil suit following its criminal proceeding), and another organisation
//! never reached.

// Stories written as async functions are tests too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::NaiveDate;
use haven_crypto::keys::MasterKey;
use haven_domain::court::{
    AwardSource, CourtEventKind, CourtItem, DefendantId, FigureFilter, OrgRole, ProceedingId,
    ProceedingKind, ProtectiveMeasure, Stage, figures,
};
use haven_domain::institutions::InstitutionKind;
use haven_domain::people::Gender;
use haven_domain::validate::{DisplayName, EmailAddress};
use haven_domain::{IdGen, Language, ManualClock, OrgId, OsRng, Role, UserId};
use haven_store::court as store;
use haven_store::institutions::{self, Institution};
use haven_store::orgs::{self, Org};
use haven_store::people::{self, NewPerson};
use haven_store::users::{self, NewUser, UserStatus};
use haven_store::{keys, on_db};
use haven_testkit::{TestDb, conformance, test_epoch};

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

conformance!(async fn proceedings_read_back_in_order_and_as_plain_facts(backend) {
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
    let court = ids.uuid();
    let mut tx = db.begin().await.unwrap();
    orgs::insert(&mut tx, &org).await.unwrap();
    keys::create_for_org(&mut tx, &master, org.id, now, &OsRng).await.unwrap();
    users::insert(&mut tx, &NewUser {
        org_id: org.id,
        id: user,
        email: EmailAddress::parse("e", "ana@example.org").unwrap(),
        display_name: DisplayName::parse("n", "Ana").unwrap(),
        language: Language::En,
        roles: vec![Role::Lawyer],
        status: UserStatus::Active,
        password_hash: None,
        now,
    }).await.unwrap();
    institutions::insert(&mut tx, &Institution {
        org_id: org.id,
        id: court,
        kind: InstitutionKind::Court,
        name_sr_latn: "Viši sud u Kragujevcu".into(),
        name_sr_cyrl: None,
        name_en: None,
        area: None,
        country: "RS".into(),
        address: None,
        phone: None,
        email: None,
        website: None,
        notes: None,
    }, false, now).await.unwrap();
    tx.commit().await.unwrap();
    let ring = keys::load_keyring(db, &master, org.id).await.unwrap();

    let criminal: ProceedingId = ids.id();
    let civil: ProceedingId = ids.id();
    let new = |id, kind, parent, opened_on: &str, number: &str| store::NewProceeding {
        id,
        kind,
        court,
        prosecutor: None,
        judge: "Sudija Radoslava Kvrgić".into(),
        org_role: OrgRole::LegalRepresentative,
        lawyer: Some(user),
        parent,
        opened_on: d(opened_on),
        number: number.into(),
        by: user,
        now,
    };
    let person = NewPerson {
        id: ids.id(),
        name: "Okrivljeni Zvrčko".into(),
        aliases: Vec::new(),
        birth_date: None,
        phones: Vec::new(),
        emails: Vec::new(),
        identity_numbers: Vec::new(),
        address: String::new(),
        notes: String::new(),
        gender: Gender::NonSpecifiedUnknown,
        birth_year: None,
        citizenship: None,
        created_by: Some(user),
        now,
    };
    let defendant: DefendantId = ids.id();
    let mut tx = db.begin().await.unwrap();
    store::create(&mut tx, &ring, &OsRng, org.id, ids.uuid(), &new(criminal, ProceedingKind::Criminal, None, "2025-01-10", "K 7/25")).await.unwrap();
    store::create(&mut tx, &ring, &OsRng, org.id, ids.uuid(), &new(civil, ProceedingKind::Civil, Some(criminal), "2025-07-01", "P 9/25")).await.unwrap();
    people::insert(&mut tx, &ring, &OsRng, org.id, "RS", &person).await.unwrap();
    store::add_defendant(&mut tx, org.id, criminal, defendant, person.id, user, now).await.unwrap();
    // Recorded in one instant, the later charge first: read back in the order they applied.
    for (offence, stage, on) in [("184-1", Stage::Indictment, "2025-03-01"), ("388-1", Stage::Investigation, "2025-01-10")] {
        store::add_charge(&mut tx, org.id, criminal, &store::Charge { id: ids.id(), defendant, offence: offence.into(), stage, on: d(on) }, user, now).await.unwrap();
    }
    let event = store::CourtEvent {
        id: ids.id(),
        kind: CourtEventKind::Hearing,
        on: d("2025-04-01"),
        defendant: None,
        held: Some(true),
        postponement: None,
        victim_testified: Some(true),
        measures: vec![ProtectiveMeasure::VideoLink, ProtectiveMeasure::WithoutDefendant],
        outcome: None,
        sentence: None,
        months: None,
        suspended: false,
        fine: None,
        currency: None,
        claim_invited: None,
        appeal_by: None,
        deadline: None,
        note: "Svedočila iza paravana".into(),
    };
    store::add_event(&mut tx, &ring, &OsRng, org.id, criminal, &event, user, now).await.unwrap();
    let plea = store::CourtEvent { id: ids.id(), kind: CourtEventKind::PleaAgreement, on: d("2025-06-01"), defendant: Some(defendant), note: String::new(), measures: Vec::new(), held: None, victim_testified: None, ..event.clone() };
    store::add_event(&mut tx, &ring, &OsRng, org.id, criminal, &plea, user, now).await.unwrap();
    let award = store::Award { id: ids.id(), claim: None, source: AwardSource::CivilSuit, awarded_on: d("2025-10-01"), amount: 30_000_000, currency: "RSD".into(), paid: 0 };
    store::add_award(&mut tx, org.id, civil, &award, user, now).await.unwrap();
    for amount in [5_000_000, 2_500_000] {
        store::add_payment(&mut tx, org.id, ids.uuid(), &store::Payment { award: award.id, paid_on: d("2025-11-01"), amount, currency: "RSD".into() }, user, now).await.unwrap();
    }
    tx.commit().await.unwrap();

    // Sealed values read back; the judge is not in clear in the row.
    assert_eq!(store::judge(db, &ring, org.id, criminal).await.unwrap(), "Sudija Radoslava Kvrgić");
    let numbers = store::numbers(db, &ring, org.id, criminal).await.unwrap();
    assert_eq!(numbers.len(), 1);
    assert_eq!(numbers[0].number, "K 7/25");
    let raw: Vec<u8> = on_db!(db, |c| sqlx::query_scalar("SELECT judge_enc FROM proceedings WHERE org_id = $1 AND id = $2")
        .bind(org.id.0).bind(criminal.0).fetch_one(c).await).unwrap();
    assert!(!raw.windows(6).any(|w| w == b"Sudija"));
    let events = store::events(db, &ring, org.id, criminal).await.unwrap();
    assert_eq!(events[0], event);
    // Charges in the order they applied.
    let charges = store::charges(db, org.id, criminal).await.unwrap();
    assert_eq!(charges.iter().map(|c| c.offence.as_str()).collect::<Vec<_>>(), ["388-1", "184-1"]);
    // Payments summed per award, on both backends.
    let awards = store::awards(db, org.id, civil).await.unwrap();
    assert_eq!(awards[0].paid, 7_500_000);
    // The civil suit follows its proceeding; the figures count its award with it.
    let facts = store::all_facts(db, org.id).await.unwrap();
    assert_eq!(facts.len(), 2);
    let civil_facts = facts.iter().find(|f| f.id == civil.0).unwrap();
    assert_eq!(civil_facts.parent, Some(criminal.0));
    let criminal_facts = facts.iter().find(|f| f.id == criminal.0).unwrap();
    assert_eq!(criminal_facts.stage(), Stage::Final);
    assert_eq!(criminal_facts.charges[0].offence, "388-1");
    let offences = store::offences(db, org.id).await.unwrap();
    let figs = figures(&facts, &offences, &FigureFilter::default());
    let get = |k: &str| figs.iter().find(|f| f.key == k).unwrap().clone();
    assert_eq!(get("requalified").count, 1);
    assert_eq!(get("plea").count, 1);
    assert_eq!(get("compensation-paid").amounts["RSD"], 7_500_000);
    // Another organisation sees none of it.
    assert!(store::all_facts(db, OrgId(ids.uuid())).await.unwrap().is_empty());
    assert!(store::row(db, OrgId(ids.uuid()), criminal).await.unwrap().is_none());

    // A correction keeps the old values and the reason sealed; a withdrawn payment and plea
    // agreement stay in the tables and leave the facts.
    let payments = store::payments(db, org.id, civil).await.unwrap();
    let mut tx = db.begin().await.unwrap();
    let mut corrected = plea.clone();
    corrected.months = Some(14);
    store::update_event(&mut tx, &ring, &OsRng, org.id, &corrected).await.unwrap();
    let correction = store::Correction {
        id: ids.uuid(),
        kind: CourtItem::Event,
        item: plea.id.0,
        withdrawn: false,
        old: vec![("event_months".into(), "12".into())],
        reason: "Kazna pogrešno upisana (Zvrčko)".into(),
        by: Some(user),
        at: now,
    };
    store::add_correction(&mut tx, &ring, &OsRng, org.id, criminal, &correction).await.unwrap();
    assert!(store::withdraw(&mut tx, org.id, CourtItem::Payment, payments[0].0, now).await.unwrap());
    assert!(!store::withdraw(&mut tx, org.id, CourtItem::Payment, payments[0].0, now).await.unwrap(), "once");
    assert!(store::withdraw(&mut tx, org.id, CourtItem::Event, plea.id.0, now).await.unwrap());
    tx.commit().await.unwrap();
    let kept = store::corrections(db, &ring, org.id, criminal).await.unwrap();
    assert_eq!(kept, vec![correction]);
    let raw: Vec<u8> = on_db!(db, |c| sqlx::query_scalar("SELECT reason_enc FROM court_corrections WHERE org_id = $1")
        .bind(org.id.0).fetch_one(c).await).unwrap();
    assert!(!raw.windows(6).any(|w| w == b"Kazna "), "the reason is sealed");
    assert_eq!(store::events(db, &ring, org.id, criminal).await.unwrap()[1].months, Some(14));
    assert_eq!(store::payments(db, org.id, civil).await.unwrap().len(), 2, "nothing deleted");
    assert_eq!(store::awards(db, org.id, civil).await.unwrap()[0].paid, payments[1].1.amount, "the withdrawn payment is not summed");
    let facts = store::all_facts(db, org.id).await.unwrap();
    let criminal_facts = facts.iter().find(|f| f.id == criminal.0).unwrap();
    assert!(criminal_facts.events.iter().all(|e| e.kind != CourtEventKind::PleaAgreement));
    // The key check covers the corrections' sealed columns.
    let reports = haven_store::encrypted::check(db, org.id, &ring, haven_store::encrypted::CheckDepth::Decrypt).await.unwrap();
    let mine: Vec<_> = reports.iter().filter(|r| r.table == "court_corrections").collect();
    assert_eq!(mine.len(), 2);
    assert!(mine.iter().all(|r| r.fields == 1 && r.failed == 0), "{mine:?}");
});
