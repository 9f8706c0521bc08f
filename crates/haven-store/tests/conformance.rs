//! The store's conformance suite: every story runs on SQLite and, when
//! `HAVEN_TEST_DATABASE_URL` is set, on PostgreSQL.

// Stories written as async functions are tests too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{DateTime, TimeDelta, Utc};
use haven_domain::validate::{DisplayName, EmailAddress};
use haven_domain::{IdGen, Language, ManualClock, OrgId, OsRng, Role, UserId};
use haven_store::links::{self, LinkPurpose, OneTimeLink};
use haven_store::orgs::{self, Org};
use haven_store::users::{self, NewUser, UserStatus};
use haven_store::{StoreError, counters, institutions, sessions};
use haven_testkit::{TestBackend, TestDb, conformance};

fn t0() -> DateTime<Utc> {
    haven_testkit::test_epoch()
}

async fn org(db: &haven_store::Db, slug: &str) -> OrgId {
    let clock = ManualClock::new(t0());
    let ids = IdGen::new(&clock, &OsRng);
    let org = Org {
        id: ids.id(),
        slug: slug.into(),
        name: format!("Org {slug}"),
        time_zone: "Europe/Belgrade".into(),
        default_language: Language::SrLatn,
        phone_region: "RS".into(),
        created_at: t0(),
    };
    let mut tx = db.begin().await.unwrap();
    orgs::insert(&mut tx, &org).await.unwrap();
    tx.commit().await.unwrap();
    org.id
}

fn new_user(org: OrgId, email: &str, roles: &[Role]) -> NewUser {
    let clock = ManualClock::new(t0());
    NewUser {
        org_id: org,
        id: IdGen::new(&clock, &OsRng).id(),
        email: EmailAddress::parse("email", email).unwrap(),
        display_name: DisplayName::parse("name", "Test Person").unwrap(),
        language: Language::En,
        roles: roles.to_vec(),
        status: UserStatus::Active,
        password_hash: Some("$argon2id$fake".into()),
        now: t0(),
    }
}

conformance!(async fn migrations_apply_and_report_current(backend) {
    let t = TestDb::empty(backend).await;
    let before = t.db.migration_status().await.unwrap();
    assert!(!before.pending.is_empty(), "a new database has pending migrations");
    t.db.migrate().await.unwrap();
    let after = t.db.migration_status().await.unwrap();
    assert!(after.is_current(), "{after:?}");
    // Applying again is a no-op.
    t.db.migrate().await.unwrap();
    assert!(t.db.migration_status().await.unwrap().is_current());
});

conformance!(async fn every_table_carries_org_id(backend) {
    let t = TestDb::new(backend).await;
    let cols = t.db.schema_columns().await.unwrap();
    let mut tables: Vec<&str> = cols.iter().map(|(t, _)| t.as_str()).collect();
    tables.dedup();
    assert!(tables.len() >= 7, "{tables:?}");
    for table in tables {
        assert!(cols.iter().any(|(t, c)| t == table && c == "org_id"), "table {table} has no org_id");
    }
});

conformance!(async fn orgs_have_unique_slugs(backend) {
    let t = TestDb::new(backend).await;
    let a = org(&t.db, "astra").await;
    assert_eq!(orgs::by_slug(&t.db, "ASTRA").await.unwrap().unwrap().id, a);
    let clock = ManualClock::new(t0());
    let dup = Org {
        id: IdGen::new(&clock, &OsRng).id(),
        slug: "astra".into(),
        name: "Other".into(),
        time_zone: "Europe/Belgrade".into(),
        default_language: Language::En,
        phone_region: "RS".into(),
        created_at: t0(),
    };
    let mut tx = t.db.begin().await.unwrap();
    assert!(matches!(orgs::insert(&mut tx, &dup).await, Err(StoreError::Duplicate("slug"))));
});

conformance!(async fn users_are_unique_per_org_and_isolated(backend) {
    let t = TestDb::new(backend).await;
    let a = org(&t.db, "a-org").await;
    let b = org(&t.db, "b-org").await;
    let mut tx = t.db.begin().await.unwrap();
    let ana = new_user(a, "Ana@Example.org", &[Role::Counsellor, Role::Admin]);
    users::insert(&mut tx, &ana).await.unwrap();
    // The same address in another organisation is another account.
    users::insert(&mut tx, &new_user(b, "ana@example.org", &[Role::Analyst])).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = t.db.begin().await.unwrap();
    let dup = users::insert(&mut tx, &new_user(a, "ANA@example.org", &[Role::Lawyer])).await;
    assert!(matches!(dup, Err(StoreError::Duplicate("email"))), "{dup:?}");
    drop(tx);

    let found = users::by_email(&t.db, a, " ana@EXAMPLE.org").await.unwrap().unwrap();
    assert_eq!(found.user.id, ana.id);
    assert_eq!(found.user.roles, vec![Role::Admin, Role::Counsellor]);
    // A guessed id from another organisation finds nothing.
    assert!(users::get(&t.db, b, ana.id).await.unwrap().is_none());
    assert_eq!(users::list(&t.db, a).await.unwrap().len(), 1);
    assert_eq!(users::count_active_admins(&t.db, a).await.unwrap(), 1);
    assert_eq!(users::count_active_admins(&t.db, b).await.unwrap(), 0);
});

conformance!(async fn case_numbers_have_no_gaps_even_under_concurrency(backend) {
    let t = TestDb::new(backend).await;
    let a = org(&t.db, "reg").await;
    // A creation that fails rolls its number back.
    let mut tx = t.db.begin().await.unwrap();
    assert_eq!(counters::next(&mut tx, a, "116", 2026).await.unwrap(), 1);
    tx.rollback().await.unwrap();
    let mut handles = Vec::new();
    for _ in 0..20 {
        let db = t.db.clone();
        handles.push(tokio::spawn(async move {
            let mut tx = db.begin().await.unwrap();
            let n = counters::next(&mut tx, a, "116", 2026).await.unwrap();
            tx.commit().await.unwrap();
            n
        }));
    }
    let mut got = Vec::new();
    for h in handles {
        got.push(h.await.unwrap());
    }
    got.sort();
    assert_eq!(got, (1..=20).collect::<Vec<i64>>());
    // Registers are separate per line and per year.
    let mut tx = t.db.begin().await.unwrap();
    assert_eq!(counters::next(&mut tx, a, "SOS", 2026).await.unwrap(), 1);
    assert_eq!(counters::next(&mut tx, a, "116", 2027).await.unwrap(), 1);
    tx.commit().await.unwrap();
});

conformance!(async fn one_time_links_work_once_and_expire(backend) {
    let t = TestDb::new(backend).await;
    let a = org(&t.db, "links").await;
    let clock = ManualClock::new(t0());
    let ids = IdGen::new(&clock, &OsRng);
    let link = OneTimeLink {
        org_id: a,
        id: ids.uuid(),
        purpose: LinkPurpose::Setup,
        user_id: None,
        created_by: None,
        created_at: t0(),
        expires_at: t0() + TimeDelta::hours(24),
        used_at: None,
        revoked_at: None,
    };
    let mut tx = t.db.begin().await.unwrap();
    links::insert(&mut tx, &link, b"hash-one").await.unwrap();
    tx.commit().await.unwrap();
    let found = links::by_token(&t.db, b"hash-one").await.unwrap().unwrap();
    assert_eq!(found.state(t0()), links::LinkState::Usable);
    assert_eq!(found.state(t0() + TimeDelta::hours(25)), links::LinkState::Expired);
    // Expired: cannot be used.
    let mut tx = t.db.begin().await.unwrap();
    assert!(!links::consume(&mut tx, a, link.id, t0() + TimeDelta::hours(25)).await.unwrap());
    // Valid: used once, and only once.
    assert!(links::consume(&mut tx, a, link.id, t0()).await.unwrap());
    assert!(!links::consume(&mut tx, a, link.id, t0()).await.unwrap());
    tx.commit().await.unwrap();
    assert_eq!(links::by_token(&t.db, b"hash-one").await.unwrap().unwrap().state(t0()), links::LinkState::Used);
    assert!(links::by_token(&t.db, b"other").await.unwrap().is_none());
});

conformance!(async fn sessions_end_together_when_asked(backend) {
    let t = TestDb::new(backend).await;
    let a = org(&t.db, "sess").await;
    let user = new_user(a, "s@example.org", &[Role::Counsellor]);
    let mut tx = t.db.begin().await.unwrap();
    users::insert(&mut tx, &user).await.unwrap();
    let clock = ManualClock::new(t0());
    let ids = IdGen::new(&clock, &OsRng);
    let mut made = Vec::new();
    for i in 0..3u8 {
        let s = sessions::Session {
            org_id: a,
            id: ids.uuid(),
            user_id: user.id,
            stage: sessions::SessionStage::Complete,
            csrf_secret: vec![i; 32],
            created_at: t0(),
            last_seen_at: t0(),
            expires_at: t0() + TimeDelta::hours(12),
            ended_at: None,
            end_reason: None,
            ip: Some("127.0.0.1".into()),
            user_agent: None,
        };
        sessions::insert(&mut tx, &s, &[i; 32]).await.unwrap();
        made.push(s);
    }
    tx.commit().await.unwrap();
    let open = sessions::list_open(&t.db, a, Some(user.id), t0(), t0() - TimeDelta::minutes(30)).await.unwrap();
    assert_eq!(open.len(), 3);
    let mut tx = t.db.begin().await.unwrap();
    let ended = sessions::end_all_for_user(&mut tx, a, user.id, Some(made[0].id), "password_changed", t0()).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(ended, 2);
    let open = sessions::list_open(&t.db, a, Some(user.id), t0(), t0() - TimeDelta::minutes(30)).await.unwrap();
    assert_eq!(open.iter().map(|s| s.id).collect::<Vec<_>>(), vec![made[0].id]);
    let s1 = sessions::by_token(&t.db, &[1u8; 32]).await.unwrap().unwrap();
    assert_eq!(s1.end_reason.as_deref(), Some("password_changed"));
    let _: UserId = user.id;
});

conformance!(async fn institutions_are_found_in_either_script(backend) {
    let t = TestDb::new(backend).await;
    let a = org(&t.db, "inst").await;
    let clock = ManualClock::new(t0());
    let ids = IdGen::new(&clock, &OsRng);
    let mut tx = t.db.begin().await.unwrap();
    let n = institutions::seed_defaults(&mut tx, a, &ids, t0()).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(institutions::count(&t.db, a).await.unwrap(), n as i64);
    for query in ["tužilaštvo", "тужилаштво", "TUZILASTVO"] {
        let found = institutions::search(&t.db, a, None, query).await.unwrap();
        assert!(found.len() >= 3, "{query}: {}", found.len());
        assert!(found.iter().all(|i| i.kind == haven_domain::institutions::InstitutionKind::Prosecutor), "{query}");
    }
    let police = institutions::search(&t.db, a, Some(haven_domain::institutions::InstitutionKind::Police), "").await.unwrap();
    assert!(police.iter().any(|i| i.phone.as_deref() == Some("192")));
    assert!(institutions::search(&t.db, a, None, "nonexistent words").await.unwrap().is_empty());
});

haven_testkit::postgres_test! {
/// Both backends, migrated from empty, expose the same tables and columns.
async fn both_backends_have_the_same_schema() {
    let sqlite = TestDb::new(TestBackend::Sqlite).await;
    let pg = TestDb::new(TestBackend::Postgres).await;
    let a = sqlite.db.schema_columns().await.unwrap();
    let b = pg.db.schema_columns().await.unwrap();
    let only_sqlite: Vec<_> = a.iter().filter(|c| !b.contains(c)).collect();
    let only_pg: Vec<_> = b.iter().filter(|c| !a.contains(c)).collect();
    assert!(only_sqlite.is_empty() && only_pg.is_empty(), "only in SQLite: {only_sqlite:?}; only in PostgreSQL: {only_pg:?}");
}
}
