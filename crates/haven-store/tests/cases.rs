//! The case store on both backends: numbers without gaps even when an opening fails, the plain
//! projection of sealed details, and documents whose chunks cannot be moved unnoticed.

// Stories written as async functions are tests too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use haven_crypto::keys::{MasterKey, OrgKeyring};
use haven_domain::cases::{
    CaseDetails, CaseId, CaseKind, DocumentKind, ExploitationType, Line, TraffickingDetails,
    TraffickingStatus,
};
use haven_domain::validate::{DisplayName, EmailAddress};
use haven_domain::{IdGen, Language, ManualClock, OrgId, OsRng, Role, UserId};
use haven_store::cases::{self, NewCase};
use haven_store::documents::{self, NewDocument};
use haven_store::orgs::{self, Org};
use haven_store::users::{self, NewUser, UserStatus};
use haven_store::{Db, StoreError, execute, keys, on_db};
use haven_testkit::{TestDb, conformance, test_epoch};

async fn setup(db: &Db, clock: &ManualClock) -> (OrgId, OrgKeyring, UserId) {
    let ids = IdGen::new(clock, &OsRng);
    let master = MasterKey::generate(&OsRng);
    let org = Org {
        id: ids.id(),
        slug: "astra".into(),
        name: "Astra".into(),
        time_zone: "Europe/Belgrade".into(),
        default_language: Language::SrLatn,
        phone_region: "RS".into(),
        created_at: test_epoch(),
    };
    let user: UserId = ids.id();
    let mut tx = db.begin().await.unwrap();
    orgs::insert(&mut tx, &org).await.unwrap();
    keys::create_for_org(&mut tx, &master, org.id, test_epoch(), &OsRng)
        .await
        .unwrap();
    users::insert(
        &mut tx,
        &NewUser {
            org_id: org.id,
            id: user,
            email: EmailAddress::parse("e", "ana@example.org").unwrap(),
            display_name: DisplayName::parse("n", "Ana").unwrap(),
            language: Language::En,
            roles: vec![Role::Counsellor],
            status: UserStatus::Active,
            password_hash: None,
            now: test_epoch(),
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let ring = keys::load_keyring(db, &master, org.id).await.unwrap();
    (org.id, ring, user)
}

fn new_case(clock: &ManualClock, kind: CaseKind, user: UserId, details: CaseDetails) -> NewCase {
    NewCase {
        id: IdGen::new(clock, &OsRng).id(),
        kind,
        line: kind.default_line(),
        restricted: false,
        lead: user,
        summary: "Sažetak".into(),
        details,
        opened_by: user,
        now: test_epoch(),
        year: 2026,
    }
}

conformance!(async fn numbers_have_no_gaps_and_details_are_projected(backend) {
    let t = TestDb::new(backend).await;
    let clock = ManualClock::new(test_epoch());
    let (org, ring, user) = setup(&t.db, &clock).await;
    let mut tx = t.db.begin().await.unwrap();
    let first = cases::create(&mut tx, &ring, &OsRng, org, &new_case(&clock, CaseKind::MissingChild, user, CaseDetails::empty(CaseKind::MissingChild))).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(first.to_string(), "116-2026-00001");
    // An opening that fails after taking its number gives the number back.
    let mut tx = t.db.begin().await.unwrap();
    let lost = cases::create(&mut tx, &ring, &OsRng, org, &new_case(&clock, CaseKind::MissingChild, user, CaseDetails::empty(CaseKind::MissingChild))).await.unwrap();
    assert_eq!(lost.to_string(), "116-2026-00002");
    tx.rollback().await.unwrap();
    let details = CaseDetails::Trafficking(TraffickingDetails {
        status: Some(TraffickingStatus::PossibleVictimOfTrafficking),
        exploitation: vec![ExploitationType::ForcedLabour, ExploitationType::ForcedBegging],
        ..TraffickingDetails::default()
    });
    let mut tx = t.db.begin().await.unwrap();
    let again = cases::create(&mut tx, &ring, &OsRng, org, &new_case(&clock, CaseKind::MissingChild, user, CaseDetails::empty(CaseKind::MissingChild))).await.unwrap();
    let c = new_case(&clock, CaseKind::Trafficking, user, details.clone());
    let sos = cases::create(&mut tx, &ring, &OsRng, org, &c).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(again.to_string(), "116-2026-00002");
    assert_eq!(sos.to_string(), "SOS-2026-00001");
    assert_eq!(c.line, Line::Sos);
    // The details read back whole; their codes are in plain columns for statistics.
    let read = cases::get(&t.db, &ring, org, c.id).await.unwrap().unwrap();
    assert_eq!(read.details, details);
    assert_eq!(read.summary, "Sažetak");
    let codes: Vec<String> = on_db!(&t.db, |x| sqlx::query_scalar(
        "SELECT code FROM case_codes WHERE org_id = $1 AND case_id = $2 AND field = 'exploitation' ORDER BY code"
    )
    .bind(org.0)
    .bind(c.id.0)
    .fetch_all(x)
    .await)
    .unwrap();
    assert_eq!(codes, ["ForcedBegging", "ForcedLabour"]);
    let status: Option<String> = on_db!(&t.db, |x| sqlx::query_scalar("SELECT tr_status FROM cases WHERE org_id = $1 AND id = $2")
        .bind(org.0)
        .bind(c.id.0)
        .fetch_one(x)
        .await)
    .unwrap();
    assert_eq!(status.as_deref(), Some("PossibleVictimOfTrafficking"));
    // Another organisation's id finds nothing.
    assert!(cases::summary(&t.db, OrgId(uuid::Uuid::from_u128(7)), c.id).await.unwrap().is_none());
});

conformance!(async fn document_chunks_cannot_be_reordered_or_lost_unnoticed(backend) {
    let t = TestDb::new(backend).await;
    let clock = ManualClock::new(test_epoch());
    let (org, ring, user) = setup(&t.db, &clock).await;
    let ids = IdGen::new(&clock, &OsRng);
    let mut tx = t.db.begin().await.unwrap();
    let c = new_case(&clock, CaseKind::MissingChild, user, CaseDetails::empty(CaseKind::MissingChild));
    let case_id: CaseId = c.id;
    cases::create(&mut tx, &ring, &OsRng, org, &c).await.unwrap();
    let content: Vec<u8> = (0..(documents::CHUNK * 2 + 100)).map(|i| (i % 251) as u8).collect();
    let doc = ids.id();
    documents::insert(&mut tx, &ring, &OsRng, &ids, org, &NewDocument {
        id: doc,
        case_id,
        person_id: None,
        kind: DocumentKind::Other,
        media_type: "application/pdf",
        name: "odluka.pdf".into(),
        content: &content,
        uploaded_by: Some(user),
        now: test_epoch(),
    })
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert!(documents::content(&t.db, &ring, org, doc).await.unwrap() == content);
    let listed = documents::list(&t.db, &ring, org, case_id).await.unwrap();
    assert_eq!((listed.len(), listed[0].name.as_str(), listed[0].size_bytes), (1, "odluka.pdf", content.len() as i64));

    // Swapping the places of two chunks is noticed.
    let mut tx = t.db.begin().await.unwrap();
    execute!(&mut tx, "UPDATE document_chunks SET seq = seq + 10 WHERE org_id = $1 AND document_id = $2 AND seq < 2", org.0, doc.0).unwrap();
    execute!(&mut tx, "UPDATE document_chunks SET seq = 1 WHERE org_id = $1 AND document_id = $2 AND seq = 10", org.0, doc.0).unwrap();
    execute!(&mut tx, "UPDATE document_chunks SET seq = 0 WHERE org_id = $1 AND document_id = $2 AND seq = 11", org.0, doc.0).unwrap();
    tx.commit().await.unwrap();
    let err = documents::content(&t.db, &ring, org, doc).await.unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
    // A missing chunk is noticed.
    let mut tx = t.db.begin().await.unwrap();
    execute!(&mut tx, "DELETE FROM document_chunks WHERE org_id = $1 AND document_id = $2 AND seq = 2", org.0, doc.0).unwrap();
    tx.commit().await.unwrap();
    let err = documents::content(&t.db, &ring, org, doc).await.unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
});
