//! The agencies store on both backends: names and aliases found through their tokens across
//! scripts, channels sealed and found through the blind index in any spelling, a channel held
//! twice refused, registration numbers certain, reports counted per agency and month, actions
//! and warnings read back with their history, and nothing of a channel or a note in clear.

// Stories written as async functions are tests too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::NaiveDate;
use haven_crypto::keys::MasterKey;
use haven_domain::agencies::{Certainty, LicenceStatus, MatchReason, normalise_channel};
use haven_domain::validate::{DisplayName, EmailAddress};
use haven_domain::{IdGen, Language, ManualClock, OsRng, Role, UserId};
use haven_store::agencies::{
    self as store, Action, ActionKind, AgencyInput, MatchQuery, NewReport, ReportSource,
    WarningDecision,
};
use haven_store::keys;
use haven_store::orgs::{self, Org};
use haven_store::users::{self, NewUser, UserStatus};
use haven_testkit::{TestDb, conformance, test_epoch};
use uuid::Uuid;

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

conformance!(async fn agencies_match_by_channel_number_and_name(backend) {
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
    let mut tx = db.begin().await.unwrap();
    orgs::insert(&mut tx, &org).await.unwrap();
    keys::create_for_org(&mut tx, &master, org.id, now, &OsRng).await.unwrap();
    let user: UserId = ids.id();
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
    tx.commit().await.unwrap();
    let ring = keys::load_keyring(db, &master, org.id).await.unwrap();
    let o = org.id;
    let ch = |raw: &str| normalise_channel(raw, "RS").unwrap();

    let (global, other): (Uuid, Uuid) = (ids.uuid(), ids.uuid());
    let mut tx = db.begin().await.unwrap();
    store::insert(&mut tx, &ring, &OsRng, o, global, &AgencyInput {
        name: "Global Jobs d.o.o.".into(),
        registration_number: Some("21234567".into()),
        countries: vec!["DE".into(), "SK".into()],
        notes: "Beleška: vlasnik Petar Petrović".into(),
        ..AgencyInput::default()
    }, None, now).await.unwrap();
    store::add_alias(&mut tx, o, ids.uuid(), global, "Глобал Џобс", now).await.unwrap();
    store::insert(&mut tx, &ring, &OsRng, o, other, &AgencyInput { name: "Posao Odmah".into(), ..AgencyInput::default() }, None, now).await.unwrap();
    for raw in ["facebook.com/somepage", "0641234567"] {
        store::add_channel(&mut tx, &ring, &OsRng, o, ids.uuid(), global, &ch(raw), None, now).await.unwrap().unwrap();
    }
    // The same channel, written otherwise, is refused for another agency, naming the holder.
    let again = store::add_channel(&mut tx, &ring, &OsRng, o, ids.uuid(), other, &ch("https://www.facebook.com/SomePage/"), None, now).await.unwrap();
    assert_eq!(again, Err(global));
    tx.commit().await.unwrap();

    let a = store::get(db, &ring, o, global).await.unwrap().unwrap();
    assert_eq!(a.input.notes, "Beleška: vlasnik Petar Petrović");
    assert_eq!(a.input.countries, vec!["DE".to_owned(), "SK".to_owned()]);
    assert_eq!(a.row.licence_status, LicenceStatus::Unknown);
    let chans: Vec<String> = store::channels(db, &ring, o, global).await.unwrap().into_iter().map(|c| c.channel.value).collect();
    assert!(chans.contains(&"facebook.com/somepage".to_owned()) && chans.contains(&"+381641234567".to_owned()), "{chans:?}");

    // By channel: certain.
    for raw in ["https://www.facebook.com/SomePage/", "+381 64 123 4567"] {
        let m = store::find_matches(db, &ring, o, &MatchQuery { channels: vec![ch(raw)], ..MatchQuery::default() }, 5).await.unwrap();
        assert_eq!(m.len(), 1, "{raw}");
        assert_eq!(m[0].agency.id, global);
        assert_eq!(m[0].certainty, Certainty::Certain);
        assert!(matches!(m[0].reasons[0], MatchReason::SameChannel(_)), "{:?}", m[0].reasons);
    }
    // By registration number: certain.
    let m = store::find_matches(db, &ring, o, &MatchQuery { registration_number: Some("21234567".into()), ..MatchQuery::default() }, 5).await.unwrap();
    assert_eq!((m.len(), m[0].agency.id, m[0].certainty), (1, global, Certainty::Certain));
    // By name, through the alias in the other script and without the legal form.
    for name in ["GLOBAL JOBS", "Global Jobs doo", "Глобал Џобс"] {
        let m = store::find_matches(db, &ring, o, &MatchQuery { name: name.into(), ..MatchQuery::default() }, 5).await.unwrap();
        assert_eq!(m.first().map(|m| m.agency.id), Some(global), "{name}: {m:?}");
        assert_ne!(m[0].certainty, Certainty::None);
    }
    // Nothing in common: nothing proposed.
    let m = store::find_matches(db, &ring, o, &MatchQuery { name: "Sasvim Drugačije".into(), channels: vec![ch("+381 11 222 3333")], ..MatchQuery::default() }, 5).await.unwrap();
    assert!(m.is_empty(), "{m:?}");

    // Reports: counted on the agency, per month, sealed.
    let mut tx = db.begin().await.unwrap();
    for (day, text) in [("2026-10-03", "Prvi oglas"), ("2026-11-20", "Drugi oglas"), ("2026-11-25", "Treći oglas")] {
        store::insert_report(&mut tx, &ring, &OsRng, o, &NewReport {
            id: ids.uuid(), agency_id: Some(global), contact_id: None, source: ReportSource::Portal,
            reported_on: d(day), ad_text: text.into(), ad_url: "https://www.facebook.com/SomePage/posts/1".into(),
            channels: vec![ch("0641234567")], agency_name: "Global".into(), destination_country: Some("DE".into()),
            job_type: Some("Skladištar".into()), wage_minor: Some(250_000), fee_minor: Some(30_000), currency: "EUR".into(),
            red_flags: vec!["fees".into(), "urgency".into()], by: user, now,
        }).await.unwrap();
    }
    tx.commit().await.unwrap();
    let reports = store::reports_of(db, &ring, o, global).await.unwrap();
    assert_eq!(reports.len(), 3);
    assert_eq!(reports[0].report.ad_text, "Treći oglas");
    assert_eq!(reports[0].report.channels[0].value, "+381641234567");
    assert_eq!(reports[0].report.red_flags, vec!["fees".to_owned(), "urgency".to_owned()]);
    assert_eq!(store::monthly_counts(db, o, global).await.unwrap(), vec![("2026-11".to_owned(), 2), ("2026-10".to_owned(), 1)]);
    let row = store::row(db, o, global).await.unwrap().unwrap();
    assert_eq!(row.report_count, 3);
    assert_eq!(store::list(db, o, 10, 0).await.unwrap()[0].id, global, "the reported agency first");

    // Actions and the warning with its history.
    let mut tx = db.begin().await.unwrap();
    store::add_action(&mut tx, &ring, &OsRng, o, &Action {
        id: ids.uuid(), agency_id: global, kind: ActionKind::Inspection, notification_id: None,
        happened_on: d("2026-11-26"), note: "Inspektor Đorđe utvrdio rad bez dozvole".into(), by: None, at: now,
    }).await.unwrap();
    store::decide_warning(&mut tx, o, &WarningDecision {
        id: ids.uuid(), agency_id: global, published: true, reason: "Naplaćuje posredovanje".into(),
        review_on: Some(d("2027-01-31")), by: None, at: now,
    }).await.unwrap();
    store::decide_warning(&mut tx, o, &WarningDecision {
        id: ids.uuid(), agency_id: global, published: false, reason: "Dobila dozvolu".into(),
        review_on: None, by: None, at: now + chrono::TimeDelta::hours(1),
    }).await.unwrap();
    store::set_licence(&mut tx, o, global, LicenceStatus::Licensed, Some(d("2026-11-27")), now).await.unwrap();
    tx.commit().await.unwrap();
    let actions = store::actions_of(db, &ring, o, global).await.unwrap();
    assert_eq!((actions[0].kind, actions[0].note.as_str()), (ActionKind::Inspection, "Inspektor Đorđe utvrdio rad bez dozvole"));
    let w = store::warnings_of(db, o, global).await.unwrap();
    assert_eq!(w.iter().map(|w| w.published).collect::<Vec<_>>(), vec![false, true]);
    let row = store::row(db, o, global).await.unwrap().unwrap();
    assert!(!row.warning_published && row.warning_reason.is_none());
    assert_eq!((row.licence_status, row.licence_as_of), (LicenceStatus::Licensed, Some(d("2026-11-27"))));
});
