//! The audit log's hash chain, attacked on both backends: every change to any field of any
//! entry, a deleted entry (in the middle and at the end), two swapped entries, and a whole tail
//! rewritten consistently are each detected and named; and the table refuses UPDATE and DELETE.

// Stories written as async functions are tests too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{DateTime, TimeDelta, Utc};
use haven_crypto::audit::{Checkpoint, CheckpointKey, chain_hash};
use haven_crypto::keys::MasterKey;
use haven_domain::{IdGen, Language, ManualClock, OrgId, OsRng, UserId};
use haven_store::audit::{
    self, AuditActor, AuditEntry, AuditEvent, ChainBreak, CheckpointProblem, Outcome, entry_bytes,
};
use haven_store::orgs::{self, Org};
use haven_store::{Backend, Db, execute, on_db, on_tx};
use haven_testkit::{TestDb, conformance};
use sqlx::{AssertSqlSafe, Row};
use uuid::Uuid;

fn t0() -> DateTime<Utc> {
    haven_testkit::test_epoch()
}

async fn org(db: &Db, slug: &str) -> OrgId {
    let clock = ManualClock::new(t0());
    let org = Org {
        id: IdGen::new(&clock, &OsRng).id(),
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

/// Appends `n` entries of different shapes, so that every column holds values and NULLs.
async fn fill(db: &Db, org: OrgId, n: i64) {
    for i in 1..=n {
        let mut ev = match i % 3 {
            1 => AuditEvent::new(
                AuditActor::User(UserId(Uuid::from_u128(i as u128))),
                "auth.sign_in",
                Outcome::Ok,
            )
            .target("user", Uuid::from_u128(1000 + i as u128))
            .details(serde_json::json!({ "route": "/staff/login" })),
            2 => AuditEvent::new(AuditActor::System, "keys.rotated", Outcome::Ok)
                .details(serde_json::json!({ "version": i })),
            _ => AuditEvent::new(
                AuditActor::Anonymous,
                "access.csrf_refused",
                Outcome::Denied,
            ),
        };
        ev.ip = Some(format!("10.0.0.{i}"));
        ev.request_id = (i % 2 == 0).then(|| format!("req{i}abc"));
        let mut tx = db.begin().await.unwrap();
        audit::append(
            &mut tx,
            org,
            Uuid::from_u128(50_000 + i as u128),
            t0() + TimeDelta::seconds(i),
            &ev,
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
    audit::sequence(db).await.unwrap();
}

async fn drop_append_only_triggers(db: &Db) {
    let mut tx = db.begin().await.unwrap();
    match db.backend() {
        Backend::Sqlite => {
            execute!(&mut tx, "DROP TRIGGER audit_log_no_update").unwrap();
            execute!(&mut tx, "DROP TRIGGER audit_log_no_delete").unwrap();
        }
        Backend::Postgres => {
            execute!(
                &mut tx,
                "DROP TRIGGER audit_log_no_update_delete ON audit_log"
            )
            .unwrap();
        }
    }
    tx.commit().await.unwrap();
}

async fn broken_at(db: &Db, org: OrgId) -> Option<(i64, ChainBreak)> {
    audit::verify(db, org).await.unwrap().first_broken
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Outcome,
    Uuid,
    Blob,
    Time,
}

#[derive(Debug, Clone, PartialEq)]
enum Val {
    Text(Option<String>),
    Uuid(Option<Uuid>),
    Blob(Vec<u8>),
    Time(DateTime<Utc>),
    Int(i64),
}

const COLUMNS: [(&str, Kind); 13] = [
    ("id", Kind::Uuid),
    ("occurred_at", Kind::Time),
    ("actor_kind", Kind::Text),
    ("actor_id", Kind::Uuid),
    ("action", Kind::Text),
    ("outcome", Kind::Outcome),
    ("target_kind", Kind::Text),
    ("target_id", Kind::Uuid),
    ("ip", Kind::Text),
    ("request_id", Kind::Text),
    ("details", Kind::Text),
    ("prev_hash", Kind::Blob),
    ("hash", Kind::Blob),
];

async fn read(db: &Db, org: OrgId, seq: i64, column: &str, kind: Kind) -> Val {
    let sql = format!("SELECT {column} FROM audit_log WHERE org_id = $1 AND seq = $2");
    on_db!(db, |c| {
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(org.0)
            .bind(seq)
            .fetch_one(c)
            .await
            .unwrap();
        match kind {
            Kind::Text | Kind::Outcome => Val::Text(row.get(0)),
            Kind::Uuid => Val::Uuid(row.get(0)),
            Kind::Blob => Val::Blob(row.get(0)),
            Kind::Time => Val::Time(row.get(0)),
        }
    })
}

async fn write(db: &Db, org: OrgId, seq: i64, column: &str, v: &Val) {
    let sql = format!("UPDATE audit_log SET {column} = $3 WHERE org_id = $1 AND seq = $2");
    let mut tx = db.begin().await.unwrap();
    let n = on_tx!(&mut tx, |c| {
        let q = sqlx::query(AssertSqlSafe(sql)).bind(org.0).bind(seq);
        let q = match v.clone() {
            Val::Text(t) => q.bind(t),
            Val::Uuid(u) => q.bind(u),
            Val::Blob(b) => q.bind(b),
            Val::Time(t) => q.bind(t),
            Val::Int(i) => q.bind(i),
        };
        q.execute(&mut *c).await.unwrap().rows_affected()
    });
    tx.commit().await.unwrap();
    assert_eq!(n, 1, "{column} of entry {seq}");
}

/// The smallest change to a value: one character, one bit, one microsecond.
fn tweak(v: &Val, kind: Kind) -> Val {
    match (v, kind) {
        (Val::Text(Some(s)), Kind::Outcome) => {
            Val::Text(Some(if s == "ok" { "denied" } else { "ok" }.into()))
        }
        (Val::Text(Some(s)), _) => {
            let mut chars: Vec<char> = s.chars().collect();
            match chars.iter().rposition(|c| c.is_ascii_alphanumeric()) {
                Some(i) => {
                    let c = chars[i];
                    chars[i] = if c.is_ascii_digit() {
                        char::from(b'0' + (c as u8 - b'0' + 1) % 10)
                    } else if c.is_ascii_lowercase() {
                        c.to_ascii_uppercase()
                    } else {
                        c.to_ascii_lowercase()
                    };
                }
                None => chars.push('x'),
            }
            Val::Text(Some(chars.into_iter().collect()))
        }
        (Val::Text(None), _) => Val::Text(Some("x".into())),
        (Val::Uuid(Some(u)), _) => {
            let mut b = *u.as_bytes();
            b[15] ^= 1;
            Val::Uuid(Some(Uuid::from_bytes(b)))
        }
        (Val::Uuid(None), _) => Val::Uuid(Some(Uuid::from_u128(42))),
        (Val::Blob(b), _) => {
            let mut b = b.clone();
            let i = b.len() / 2;
            b[i] ^= 1;
            Val::Blob(b)
        }
        (Val::Time(t), _) => Val::Time(*t + TimeDelta::microseconds(1)),
        (Val::Int(i), _) => Val::Int(i + 1000),
    }
}

conformance!(async fn every_change_to_any_field_of_any_entry_is_detected(backend) {
    let t = TestDb::new(backend).await;
    let a = org(&t.db, "chain").await;
    let b = org(&t.db, "elsewhere").await;
    fill(&t.db, a, 6).await;
    let v = audit::verify(&t.db, a).await.unwrap();
    assert_eq!((v.entries, v.head_seq, v.first_broken), (6, 6, None));
    drop_append_only_triggers(&t.db).await;

    for seq in [1, 3, 6] {
        for (column, kind) in COLUMNS {
            let original = read(&t.db, a, seq, column, kind).await;
            let changed = tweak(&original, kind);
            assert_ne!(changed, original);
            write(&t.db, a, seq, column, &changed).await;
            let found = broken_at(&t.db, a).await;
            assert_eq!(found.map(|(s, _)| s), Some(seq), "{column} of entry {seq}: {found:?}");
            write(&t.db, a, seq, column, &original).await;
            assert_eq!(broken_at(&t.db, a).await, None, "{column} of entry {seq} restored");
        }
        // The sequence number itself.
        write(&t.db, a, seq, "seq", &Val::Int(seq + 1000)).await;
        assert_eq!(broken_at(&t.db, a).await.map(|(s, _)| s), Some(seq), "seq of entry {seq}");
        write(&t.db, a, seq + 1000, "seq", &Val::Int(seq)).await;
        // The organisation: the entry moved to another organisation's log.
        write(&t.db, a, seq, "org_id", &Val::Uuid(Some(b.0))).await;
        assert_eq!(broken_at(&t.db, a).await.map(|(s, _)| s), Some(seq), "org_id of entry {seq}");
        assert!(broken_at(&t.db, b).await.is_some(), "and it does not fit there either");
        write(&t.db, b, seq, "org_id", &Val::Uuid(Some(a.0))).await;
        assert_eq!(broken_at(&t.db, a).await, None);
    }
    // The reasons say what happened.
    write(&t.db, a, 3, "action", &Val::Text(Some("auth.sign_out".into()))).await;
    assert_eq!(broken_at(&t.db, a).await, Some((3, ChainBreak::Changed)));
});

conformance!(async fn deleted_and_swapped_entries_are_detected(backend) {
    let t = TestDb::new(backend).await;
    let middle = org(&t.db, "middle").await;
    let tail = org(&t.db, "tail").await;
    let swap = org(&t.db, "swap").await;
    for o in [middle, tail, swap] {
        fill(&t.db, o, 6).await;
    }
    drop_append_only_triggers(&t.db).await;
    let mut tx = t.db.begin().await.unwrap();
    execute!(&mut tx, "DELETE FROM audit_log WHERE org_id = $1 AND seq = 3", middle.0).unwrap();
    execute!(&mut tx, "DELETE FROM audit_log WHERE org_id = $1 AND seq = 6", tail.0).unwrap();
    tx.commit().await.unwrap();
    assert_eq!(broken_at(&t.db, middle).await, Some((3, ChainBreak::Missing { next: 4 })));
    assert_eq!(broken_at(&t.db, tail).await, Some((6, ChainBreak::TailRemoved { last: 5, head: 6 })));

    let mut tx = t.db.begin().await.unwrap();
    execute!(&mut tx, "UPDATE audit_log SET seq = -2 WHERE org_id = $1 AND seq = 2", swap.0).unwrap();
    execute!(&mut tx, "UPDATE audit_log SET seq = 2 WHERE org_id = $1 AND seq = 4", swap.0).unwrap();
    execute!(&mut tx, "UPDATE audit_log SET seq = 4 WHERE org_id = $1 AND seq = -2", swap.0).unwrap();
    tx.commit().await.unwrap();
    assert_eq!(broken_at(&t.db, swap).await, Some((2, ChainBreak::DoesNotFollow)));
});

conformance!(async fn the_log_refuses_update_and_delete(backend) {
    let t = TestDb::new(backend).await;
    let a = org(&t.db, "locked").await;
    fill(&t.db, a, 3).await;
    for sql in [
        "UPDATE audit_log SET action = 'nothing.happened' WHERE seq = 2",
        "UPDATE audit_log SET hash = prev_hash",
        "DELETE FROM audit_log WHERE seq = 3",
        "DELETE FROM audit_log",
    ] {
        let mut tx = t.db.begin().await.unwrap();
        let err = execute!(&mut tx, sql).unwrap_err();
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    if t.db.backend() == Backend::Postgres {
        let mut tx = t.db.begin().await.unwrap();
        let err = execute!(&mut tx, "TRUNCATE audit_log").unwrap_err();
        assert!(err.to_string().contains("append-only"), "{err}");
    }
    let v = audit::verify(&t.db, a).await.unwrap();
    assert_eq!((v.entries, v.first_broken), (3, None));
});

/// Rewrites an organisation's whole chain consistently after changing one entry's action: what
/// someone with write access and knowledge of the format could do.
async fn rewrite_consistently(db: &Db, org: OrgId, seq: i64, action: &str) {
    let mut entries: Vec<AuditEntry> = audit::list(db, org, &Default::default(), 1000)
        .await
        .unwrap();
    entries.reverse();
    let mut prev = haven_crypto::audit::GENESIS;
    let mut tx = db.begin().await.unwrap();
    for e in &mut entries {
        if e.seq == seq {
            e.action = action.into();
        }
        e.prev_hash = prev.to_vec();
        prev = chain_hash(&prev, &entry_bytes(e));
        e.hash = prev.to_vec();
        execute!(&mut tx, "UPDATE audit_log SET action = $3, prev_hash = $4, hash = $5 WHERE org_id = $1 AND seq = $2", org.0, e.seq, e.action.clone(), e.prev_hash.clone(), e.hash.clone()).unwrap();
    }
    execute!(
        &mut tx,
        "UPDATE audit_heads SET hash = $2 WHERE org_id = $1",
        org.0,
        prev.to_vec()
    )
    .unwrap();
    tx.commit().await.unwrap();
}

conformance!(async fn a_checkpoint_catches_a_consistent_rewrite(backend) {
    let t = TestDb::new(backend).await;
    let a = org(&t.db, "pinned").await;
    fill(&t.db, a, 4).await;
    let master = MasterKey::generate(&OsRng);
    let key = CheckpointKey::derive(&master);
    let pk = key.public_key_hex();
    let v = audit::verify(&t.db, a).await.unwrap();
    let cp = Checkpoint::create(&key, a.0, v.head_seq, &v.head_hash, "2026-11-28T10:00:00Z");
    assert_eq!(audit::check_checkpoint(&t.db, &cp, &pk).await.unwrap(), None);
    // More entries later: the checkpoint still holds.
    fill(&t.db, a, 2).await;
    assert_eq!(audit::check_checkpoint(&t.db, &cp, &pk).await.unwrap(), None);

    // Forged or altered checkpoints are refused.
    let forger = CheckpointKey::derive(&MasterKey::generate(&OsRng));
    let forged = Checkpoint::create(&forger, a.0, v.head_seq, &v.head_hash, "2026-11-28T10:00:00Z");
    assert_eq!(audit::check_checkpoint(&t.db, &forged, &pk).await.unwrap(), Some(CheckpointProblem::BadSignature));
    let mut altered = cp.clone();
    altered.seq = 3;
    assert_eq!(audit::check_checkpoint(&t.db, &altered, &pk).await.unwrap(), Some(CheckpointProblem::BadSignature));
    let beyond = Checkpoint::create(&key, a.0, 99, &v.head_hash, "2026-11-28T10:00:00Z");
    assert_eq!(audit::check_checkpoint(&t.db, &beyond, &pk).await.unwrap(), Some(CheckpointProblem::Missing(99)));

    // Someone rewrites history consistently: the chain alone looks fine, the checkpoint does not.
    drop_append_only_triggers(&t.db).await;
    rewrite_consistently(&t.db, a, 2, "auth.sign_out").await;
    assert_eq!(broken_at(&t.db, a).await, None, "a consistent rewrite passes the chain check");
    assert_eq!(audit::check_checkpoint(&t.db, &cp, &pk).await.unwrap(), Some(CheckpointProblem::HashDiffers(4)));
});

conformance!(async fn concurrent_changes_are_chained_once_each_and_a_rolled_back_one_never(backend) {
    let t = TestDb::new(backend).await;
    let a = org(&t.db, "busy").await;
    let writers = 8u128;
    let each = 25u128;
    let mut tasks = Vec::new();
    for w in 0..writers {
        let db = t.db.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..each {
                let mut ev = AuditEvent::new(AuditActor::System, "contact.created", Outcome::Ok);
                ev.ip = Some("192.0.2.7".into());
                let mut tx = db.begin().await.unwrap();
                audit::append(&mut tx, a, Uuid::from_u128(w * 1000 + i + 1), t0(), &ev).await.unwrap();
                tx.commit().await.unwrap();
            }
        }));
    }
    // Sequencers race the writers and each other: each entry is chained exactly once.
    let mut chained = 0;
    for task in tasks {
        let (s1, s2) = tokio::join!(audit::sequence(&t.db), audit::sequence(&t.db));
        chained += s1.unwrap() + s2.unwrap();
        task.await.unwrap();
    }
    // A change rolled back takes its audit entry with it.
    let mut tx = t.db.begin().await.unwrap();
    audit::append(&mut tx, a, Uuid::from_u128(999_999), t0(), &AuditEvent::new(AuditActor::System, "contact.created", Outcome::Ok)).await.unwrap();
    tx.rollback().await.unwrap();
    // An entry still waiting counts for throttling already.
    let mut tx = t.db.begin().await.unwrap();
    let mut ev = AuditEvent::new(AuditActor::Anonymous, "notification.replied", Outcome::Ok);
    ev.ip = Some("192.0.2.8".into());
    audit::append(&mut tx, a, Uuid::from_u128(888_888), t0(), &ev).await.unwrap();
    tx.commit().await.unwrap();
    let since = t0() - TimeDelta::hours(1);
    assert_eq!(audit::count_from(&t.db, "notification.replied", "192.0.2.8", since).await.unwrap(), 1);

    chained += audit::sequence(&t.db).await.unwrap();
    let total = (writers * each) as u64 + 1;
    assert_eq!(chained, total);
    assert_eq!(audit::sequence(&t.db).await.unwrap(), 0, "nothing is left waiting");
    assert_eq!(audit::count_from(&t.db, "notification.replied", "192.0.2.8", since).await.unwrap(), 1, "counted once, chained");
    assert_eq!(audit::count_from(&t.db, "contact.created", "192.0.2.7", since).await.unwrap(), (writers * each) as i64);
    let v = audit::verify(&t.db, a).await.unwrap();
    assert_eq!((v.entries, v.head_seq, v.first_broken), (total as i64, total as i64, None));
    let ids: std::collections::HashSet<Uuid> = audit::list(&t.db, a, &Default::default(), 10_000).await.unwrap().into_iter().map(|e| e.id).collect();
    assert_eq!(ids.len() as u64, total);
    assert!(!ids.contains(&Uuid::from_u128(999_999)));
});
