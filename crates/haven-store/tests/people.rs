//! People and organisation keys, on both backends: identifying values go in sealed, come out
//! whole, are found however they are typed, and never through a mere index coincidence.

// Stories written as async functions are tests too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{DateTime, NaiveDate, Utc};
use haven_crypto::keys::{MasterKey, OrgKeyring};
use haven_crypto::{CryptoError, blind, normalize};
use haven_domain::people::{CountryCode, Gender, PersonId};
use haven_domain::{IdGen, Language, ManualClock, OrgId, OsRng};
use haven_store::encrypted::{self, CheckDepth};
use haven_store::orgs::{self, Org};
use haven_store::people::{self, IndexKind, NewPerson};
use haven_store::{Db, StoreError, execute, keys};
use haven_testkit::{TestDb, conformance};

fn t0() -> DateTime<Utc> {
    haven_testkit::test_epoch()
}

fn ids() -> (ManualClock, OsRng) {
    (ManualClock::new(t0()), OsRng)
}

/// An organisation with its keys, and its keyring.
async fn org_with_keys(db: &Db, master: &MasterKey, slug: &str) -> (OrgId, OrgKeyring) {
    let (clock, rng) = ids();
    let org = Org {
        id: IdGen::new(&clock, &rng).id(),
        slug: slug.into(),
        name: format!("Org {slug}"),
        time_zone: "Europe/Belgrade".into(),
        default_language: Language::SrLatn,
        phone_region: "RS".into(),
        created_at: t0(),
    };
    let mut tx = db.begin().await.unwrap();
    orgs::insert(&mut tx, &org).await.unwrap();
    keys::create_for_org(&mut tx, master, org.id, t0(), &OsRng)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let ring = keys::load_keyring(db, master, org.id).await.unwrap();
    (org.id, ring)
}

fn person(name: &str) -> NewPerson {
    let (clock, rng) = ids();
    NewPerson {
        id: IdGen::new(&clock, &rng).id(),
        name: name.into(),
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
        created_by: None,
        now: t0(),
    }
}

async fn add(db: &Db, ring: &OrgKeyring, org: OrgId, p: &NewPerson) {
    let mut tx = db.begin().await.unwrap();
    people::insert(&mut tx, ring, &OsRng, org, "RS", p)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

fn ids_of(found: &[people::Person]) -> Vec<PersonId> {
    let mut v: Vec<PersonId> = found.iter().map(|p| p.id).collect();
    v.sort();
    v
}

fn sorted(mut v: Vec<PersonId>) -> Vec<PersonId> {
    v.sort();
    v
}

conformance!(async fn a_person_round_trips_sealed(backend) {
    let t = TestDb::new(backend).await;
    let master = MasterKey::generate(&OsRng);
    let (org, ring) = org_with_keys(&t.db, &master, "astra").await;
    let (other, other_ring) = org_with_keys(&t.db, &master, "other").await;
    let mut p = person("Марија Јовановић");
    p.aliases = vec!["Maja".into(), "Marija Jovanović-Ilić".into()];
    p.birth_date = NaiveDate::from_ymd_opt(2009, 4, 17);
    p.phones = vec!["+381 64 123 4567".into(), "011/765-4321".into()];
    p.emails = vec!["Marija.J@Example.org".into()];
    p.identity_numbers = vec!["0101990710006".into(), "P 012345678".into()];
    p.address = "Bulevar oslobođenja 12, Novi Sad".into();
    p.notes = "Javila se preko prijateljice; ne zvati posle 20h.".into();
    p.gender = Gender::Feminine;
    p.citizenship = Some(CountryCode::parse("citizenship", "rs").unwrap());
    add(&t.db, &ring, org, &p).await;

    let got = people::get(&t.db, &ring, org, p.id).await.unwrap().unwrap();
    assert_eq!(got.name, "Марија Јовановић");
    assert_eq!(got.aliases, p.aliases);
    assert_eq!(got.birth_date, p.birth_date);
    assert_eq!(got.phones, p.phones);
    assert_eq!(got.emails, p.emails);
    assert_eq!(got.identity_numbers, p.identity_numbers);
    assert_eq!(got.address, p.address);
    assert_eq!(got.notes, p.notes);
    assert_eq!(got.gender, Gender::Feminine);
    assert_eq!(got.birth_year, Some(2009), "taken from the date of birth");
    assert_eq!(got.citizenship.as_deref(), Some("RS"));
    assert_eq!(got.created_at, t0());
    // Debug output never shows the identity.
    let shown = format!("{got:?} {p:?}");
    assert!(!shown.contains("Марија") && !shown.contains("381") && !shown.contains("Example"), "{shown}");

    // Another organisation neither sees the record nor could open it.
    assert!(people::get(&t.db, &other_ring, other, p.id).await.unwrap().is_none());
    assert_eq!(people::count(&t.db, org).await.unwrap(), 1);
    assert_eq!(people::count(&t.db, other).await.unwrap(), 0);

    // A person with nothing but a name still has every column sealed.
    let bare = person("Nepoznata osoba");
    add(&t.db, &ring, org, &bare).await;
    let got = people::get(&t.db, &ring, org, bare.id).await.unwrap().unwrap();
    assert!(got.aliases.is_empty() && got.phones.is_empty() && got.birth_date.is_none() && got.address.is_empty());
    let reports: Vec<_> = encrypted::check(&t.db, org, &ring, CheckDepth::Decrypt)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.table == "people")
        .collect();
    assert_eq!(reports.len(), people::ENCRYPTED.columns.len());
    for r in &reports {
        assert_eq!((r.fields, r.failed), (2, 0), "{}.{}", r.table, r.column);
        assert_eq!(r.by_version.get(&1), Some(&2));
    }
});

conformance!(async fn people_are_found_across_scripts_and_spellings(backend) {
    let t = TestDb::new(backend).await;
    let master = MasterKey::generate(&OsRng);
    let (org, ring) = org_with_keys(&t.db, &master, "astra").await;
    let mut marija = person("Марија Јовановић");
    marija.aliases = vec!["Maja Ilić".into()];
    marija.phones = vec!["+381 64 123 4567".into()];
    marija.emails = vec!["Marija.J@Example.org".into()];
    marija.identity_numbers = vec!["0101990710006".into()];
    let mut petar = person("Petar Jovanović");
    petar.phones = vec!["064 765 4321".into()];
    petar.emails = vec!["petar@example.org".into()];
    let ana = person("Ana Jovanovska");
    for p in [&marija, &petar, &ana] {
        add(&t.db, &ring, org, p).await;
    }
    let by_name = |q: &'static str| {
        let db = t.db.clone();
        let ring = &ring;
        async move { ids_of(&people::find_by_name(&db, ring, org, q).await.unwrap()) }
    };
    let both = sorted(vec![marija.id, petar.id]);
    for q in ["Јовановић", "Jovanović", "Jovanovic", "JOVANOVIĆ", " jovanovic "] {
        assert_eq!(by_name(q).await, both, "{q}");
    }
    for q in ["Марија Јовановић", "Marija Jovanović", "marija jovanovic", "Jovanović Marija", "MARIJA", "Maja", "Маја Илић", "ilic"] {
        assert_eq!(by_name(q).await, vec![marija.id], "{q}");
    }
    assert_eq!(by_name("Jovanovska").await, vec![ana.id]);
    assert!(by_name("Jovanovi").await.is_empty(), "a prefix is not a name");
    assert!(by_name("Marija Petrović").await.is_empty());
    assert!(by_name("  ").await.is_empty());

    for q in ["+381 64 123 4567", "0641234567", "00381641234567", "064/123-4567", "+381641234567"] {
        let found = people::find_by_phone(&t.db, &ring, org, "RS", q).await.unwrap();
        assert_eq!(ids_of(&found), vec![marija.id], "{q}");
    }
    assert_eq!(ids_of(&people::find_by_phone(&t.db, &ring, org, "RS", "+381647654321").await.unwrap()), vec![petar.id]);
    assert!(people::find_by_phone(&t.db, &ring, org, "RS", "0641234568").await.unwrap().is_empty());

    for q in ["marija.j@example.org", "MARIJA.J@EXAMPLE.ORG", " Marija.J@Example.org "] {
        assert_eq!(ids_of(&people::find_by_email(&t.db, &ring, org, q).await.unwrap()), vec![marija.id], "{q}");
    }
    assert!(people::find_by_email(&t.db, &ring, org, "marija@example.org").await.unwrap().is_empty());
    for q in ["0101990710006", "0101990-710006", "010 1990 710 006"] {
        assert_eq!(ids_of(&people::find_by_identity_number(&t.db, &ring, org, q).await.unwrap()), vec![marija.id], "{q}");
    }
});

/// Finds a value, made by `make`, whose blind index under `kind` equals that of `target`.
fn colliding(
    ring: &OrgKeyring,
    kind: IndexKind,
    target: &str,
    make: impl Fn(u32) -> String,
) -> String {
    let want = ring.blind_index(kind.spec(), target);
    (0..4_000_000)
        .map(make)
        .find(|v| v != target && ring.blind_index(kind.spec(), v) == want)
        .expect("a 16-bit index collides within a few hundred thousand tries")
}

conformance!(async fn an_index_coincidence_is_never_an_answer(backend) {
    let t = TestDb::new(backend).await;
    let master = MasterKey::generate(&OsRng);
    let (org, ring) = org_with_keys(&t.db, &master, "astra").await;
    assert_eq!(blind::PHONE.bits, 16, "the test relies on the default truncation");
    let mut target = person("Jelena Stanković");
    target.phones = vec!["+381641234567".into()];
    target.emails = vec!["jelena@example.org".into()];
    target.identity_numbers = vec!["0101990710006".into()];
    add(&t.db, &ring, org, &target).await;

    // A genuine false positive: another person whose values differ but whose truncated index
    // values are the same as the target's.
    let mut twin = person(&colliding(&ring, IndexKind::Name, "stankovic", |i| format!("zz{i}")));
    twin.phones = vec![colliding(&ring, IndexKind::Phone, "+381641234567", |i| format!("+38164{:07}", i % 10_000_000))];
    twin.emails = vec![colliding(&ring, IndexKind::Email, "jelena@example.org", |i| format!("x{i}@example.org"))];
    assert_eq!(people::phone_key(&twin.phones[0], "RS").as_deref(), Some(twin.phones[0].as_str()));
    add(&t.db, &ring, org, &twin).await;

    let both = sorted(vec![target.id, twin.id]);
    assert_eq!(sorted(people::candidates(&t.db, &ring, org, IndexKind::Phone, "+381641234567").await.unwrap()), both);
    assert_eq!(sorted(people::candidates(&t.db, &ring, org, IndexKind::Email, "jelena@example.org").await.unwrap()), both);
    assert_eq!(sorted(people::candidates(&t.db, &ring, org, IndexKind::Name, &normalize::name("Stanković")).await.unwrap()), both);
    assert_eq!(ids_of(&people::find_by_phone(&t.db, &ring, org, "RS", "064 123 4567").await.unwrap()), vec![target.id]);
    assert_eq!(ids_of(&people::find_by_email(&t.db, &ring, org, "jelena@example.org").await.unwrap()), vec![target.id]);
    assert_eq!(ids_of(&people::find_by_name(&t.db, &ring, org, "Станковић").await.unwrap()), vec![target.id]);
    // And the twin is found by its own values.
    assert_eq!(ids_of(&people::find_by_phone(&t.db, &ring, org, "RS", &twin.phones[0]).await.unwrap()), vec![twin.id]);

    // A forged index row pointing at someone else is a candidate, never an answer.
    let other = person("Dragan Petrović");
    add(&t.db, &ring, org, &other).await;
    let mut tx = t.db.begin().await.unwrap();
    execute!(
        &mut tx,
        "INSERT INTO person_index (org_id, person_id, kind, value) VALUES ($1, $2, $3, $4)",
        org.0,
        other.id.0,
        "identity_number",
        ring.blind_index(blind::IDENTITY_NUMBER, "0101990710006")
    )
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(sorted(people::candidates(&t.db, &ring, org, IndexKind::IdentityNumber, "0101990710006").await.unwrap()), sorted(vec![target.id, other.id]));
    assert_eq!(ids_of(&people::find_by_identity_number(&t.db, &ring, org, "0101990-710006").await.unwrap()), vec![target.id]);
});

conformance!(async fn a_ciphertext_moved_elsewhere_does_not_open(backend) {
    let t = TestDb::new(backend).await;
    let master = MasterKey::generate(&OsRng);
    let (org, ring) = org_with_keys(&t.db, &master, "astra").await;
    let mut a = person("Milena Đorđević");
    a.emails = vec!["milena@example.org".into()];
    let b = person("Zoran Ilić");
    add(&t.db, &ring, org, &a).await;
    add(&t.db, &ring, org, &b).await;
    // A's name copied onto B's row.
    let mut tx = t.db.begin().await.unwrap();
    execute!(&mut tx, "UPDATE people SET name_enc = (SELECT name_enc FROM people WHERE org_id = $1 AND id = $2) WHERE org_id = $1 AND id = $3", org.0, a.id.0, b.id.0).unwrap();
    tx.commit().await.unwrap();
    match people::get(&t.db, &ring, org, b.id).await {
        Err(StoreError::Crypto { table: "people", column: "name_enc", record, source: CryptoError::Decrypt }) => assert_eq!(record, b.id.0),
        other => panic!("expected a decryption failure, got {other:?}"),
    }
    // A's e-mail list moved into A's own phone column.
    let mut tx = t.db.begin().await.unwrap();
    execute!(&mut tx, "UPDATE people SET phones_enc = emails_enc WHERE org_id = $1 AND id = $2", org.0, a.id.0).unwrap();
    tx.commit().await.unwrap();
    assert!(matches!(people::get(&t.db, &ring, org, a.id).await, Err(StoreError::Crypto { column: "phones_enc", source: CryptoError::Decrypt, .. })));
    // The key check finds both, naming the records.
    let reports = encrypted::check(&t.db, org, &ring, CheckDepth::Decrypt).await.unwrap();
    let failures: Vec<(&str, uuid::Uuid)> = reports.iter().flat_map(|r| r.failures.iter().map(move |(id, _)| (r.column, *id))).collect();
    assert_eq!(failures.len(), 2, "{failures:?}");
    assert!(failures.contains(&("name_enc", b.id.0)) && failures.contains(&("phones_enc", a.id.0)));
    // The fast check reads only headers, which are intact.
    let fast = encrypted::check(&t.db, org, &ring, CheckDepth::Headers).await.unwrap();
    assert!(fast.iter().all(|r| r.failed == 0));
});

conformance!(async fn organisation_keys_rotate_and_rewrap(backend) {
    let t = TestDb::new(backend).await;
    let master = MasterKey::generate(&OsRng);
    let (org, ring) = org_with_keys(&t.db, &master, "astra").await;
    let rows = keys::rows(&t.db, Some(org)).await.unwrap();
    assert_eq!(rows.iter().map(|r| (r.purpose.as_str(), r.version)).collect::<Vec<_>>(), [("data", 1), ("index", 1)]);
    assert!(rows.iter().all(|r| r.master_fingerprint == master.fingerprint() && r.wrapped.len() == 73));

    let mut people_added = Vec::new();
    for i in 0..7 {
        let mut p = person(&format!("Osoba Broj{i}"));
        p.phones = vec![format!("+38164555{i:04}")];
        add(&t.db, &ring, org, &p).await;
        people_added.push(p);
    }

    // A wrong master key is named as such, with both fingerprints.
    let wrong = MasterKey::generate(&OsRng);
    let err = keys::load_keyring(&t.db, &wrong, org).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("the master key does not match this database (fingerprint {}, the database expects {})", wrong.fingerprint(), master.fingerprint())
    );
    assert!(matches!(keys::check_master(&t.db, &wrong).await, Err(StoreError::MasterKeyMismatch { .. })));
    assert_eq!(keys::check_master(&t.db, &master).await.unwrap(), 2);

    // Rotation: version 2 becomes current, version 1 is retired but still opens.
    let mut tx = t.db.begin().await.unwrap();
    assert_eq!(keys::add_data_key_version(&mut tx, &master, org, t0(), &OsRng).await.unwrap(), 2);
    tx.commit().await.unwrap();
    let rows = keys::rows(&t.db, Some(org)).await.unwrap();
    let v1 = rows.iter().find(|r| r.purpose == "data" && r.version == 1).unwrap();
    assert_eq!(v1.retired_at, Some(t0()));
    let ring2 = keys::load_keyring(&t.db, &master, org).await.unwrap();
    assert_eq!(ring2.current_version(), 2);
    assert_eq!(ring2.versions().collect::<Vec<_>>(), [1, 2]);
    assert_eq!(encrypted::versions_in_use(&t.db, org).await.unwrap().into_iter().collect::<Vec<_>>(), [(1, 56)]);
    let before = people::get(&t.db, &ring2, org, people_added[3].id).await.unwrap().unwrap();
    // The old keyring cannot read what the new version seals: it says which version it lacks.
    let mut fresh = person("Nova Osoba");
    fresh.phones = vec!["+381641110000".into()];
    add(&t.db, &ring2, org, &fresh).await;
    assert_eq!(people::get(&t.db, &ring, org, fresh.id).await.unwrap_err().unknown_key_version(), Some(2));

    // Re-encryption in small batches moves everything to version 2; nothing changes for readers.
    let mut batches = 0;
    let done = encrypted::reencrypt_all(&t.db, org, &ring2, &OsRng, 3, |_| batches += 1).await.unwrap();
    assert_eq!(done.reencrypted, 56);
    assert!(batches >= 3, "{batches} batches");
    assert_eq!(encrypted::versions_in_use(&t.db, org).await.unwrap().into_iter().collect::<Vec<_>>(), [(2, 64)]);
    assert_eq!(people::get(&t.db, &ring2, org, people_added[3].id).await.unwrap().unwrap(), before);
    // Blind indexes did not change: lookups still work.
    assert_eq!(ids_of(&people::find_by_phone(&t.db, &ring2, org, "RS", "064 5550003").await.unwrap()), vec![people_added[3].id]);
    // A second pass has nothing to do.
    assert_eq!(encrypted::reencrypt_all(&t.db, org, &ring2, &OsRng, 3, |_| {}).await.unwrap().reencrypted, 0);

    // Master rotation re-wraps the rows; the keys, and so the data, stay the same.
    let new_master = MasterKey::generate(&OsRng);
    let mut tx = t.db.begin().await.unwrap();
    assert_eq!(keys::rewrap_all(&mut tx, &master, &new_master, &OsRng).await.unwrap(), 3);
    tx.commit().await.unwrap();
    assert!(matches!(keys::load_keyring(&t.db, &master, org).await, Err(StoreError::MasterKeyMismatch { .. })));
    let ring3 = keys::load_keyring(&t.db, &new_master, org).await.unwrap();
    assert_eq!(people::get(&t.db, &ring3, org, people_added[3].id).await.unwrap().unwrap(), before);

    // An altered wrapped key is reported as altered, not as a wrong master key.
    let mut tx = t.db.begin().await.unwrap();
    let mut wrapped = keys::rows(&t.db, Some(org)).await.unwrap()[0].wrapped.clone();
    wrapped[40] ^= 1;
    execute!(&mut tx, "UPDATE org_keys SET wrapped = $2 WHERE org_id = $1 AND purpose = 'data' AND version = 1", org.0, wrapped).unwrap();
    tx.commit().await.unwrap();
    assert!(matches!(keys::load_keyring(&t.db, &new_master, org).await, Err(StoreError::KeyUnwrap { purpose: "data", version: 1, .. })));
});

conformance!(async fn organisations_without_keys_get_them(backend) {
    let t = TestDb::new(backend).await;
    let master = MasterKey::generate(&OsRng);
    let (clock, rng) = ids();
    let org = Org {
        id: IdGen::new(&clock, &rng).id(),
        slug: "old".into(),
        name: "Made before keys".into(),
        time_zone: "Europe/Belgrade".into(),
        default_language: Language::SrLatn,
        phone_region: "RS".into(),
        created_at: t0(),
    };
    let mut tx = t.db.begin().await.unwrap();
    orgs::insert(&mut tx, &org).await.unwrap();
    tx.commit().await.unwrap();
    assert!(matches!(keys::load_keyring(&t.db, &master, org.id).await, Err(StoreError::NoKey { purpose: "index", .. })));
    assert_eq!(keys::ensure_for_all_orgs(&t.db, &master, t0(), &OsRng).await.unwrap(), 1);
    assert_eq!(keys::ensure_for_all_orgs(&t.db, &master, t0(), &OsRng).await.unwrap(), 0);
    assert_eq!(keys::load_keyring(&t.db, &master, org.id).await.unwrap().current_version(), 1);
});
