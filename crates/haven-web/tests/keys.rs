//! Organisation keys in a running Haven, on both backends: keys made with the organisation,
//! a keyring cache that follows rotations made by other processes, and a wrong master key
//! refused at start.

// Stories written as async functions are tests too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use chrono::TimeDelta;
use haven_crypto::keys::MasterKey;
use haven_domain::OsRng;
use haven_domain::people::{Gender, PersonId};
use haven_store::people::{self, NewPerson};
use haven_store::{Db, encrypted, keys};
use haven_testkit::{TestApp, conformance};
use haven_web::{StartError, StartOptions};

fn person(app: &TestApp, name: &str, phone: &str) -> NewPerson {
    NewPerson {
        id: app.state.ids().id(),
        name: name.into(),
        aliases: Vec::new(),
        birth_date: None,
        phones: vec![phone.into()],
        emails: Vec::new(),
        identity_numbers: Vec::new(),
        address: String::new(),
        notes: String::new(),
        gender: Gender::Feminine,
        birth_year: None,
        citizenship: None,
        created_by: None,
        now: app.state.now(),
    }
}

async fn insert(app: &TestApp, ring: &haven_crypto::OrgKeyring, p: &NewPerson) {
    let mut tx = app.state.db.begin().await.unwrap();
    people::insert(&mut tx, ring, &OsRng, app.state.default_org, "RS", p)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

/// What another process does in `haven keys rotate`: a new current data key version.
async fn rotate_elsewhere(app: &TestApp) -> haven_crypto::OrgKeyring {
    let master = app.state.keys.master();
    let org = app.state.default_org;
    let mut tx = app.state.db.begin().await.unwrap();
    keys::add_data_key_version(&mut tx, &master, org, app.state.now(), &OsRng)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    keys::load_keyring(&app.state.db, &master, org)
        .await
        .unwrap()
}

async fn read(app: &TestApp, id: PersonId) -> people::Person {
    let db: Db = app.state.db.clone();
    let org = app.state.default_org;
    app.state
        .keys
        .with(org, |ring| {
            let db = db.clone();
            async move { people::get(&db, &ring, org, id).await }
        })
        .await
        .unwrap()
        .unwrap()
}

conformance!(async fn the_keyring_follows_rotations_made_by_another_process(backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.state.default_org;
    let ring1 = app.state.keys.get(org).await.unwrap();
    assert_eq!(ring1.current_version(), 1, "the first organisation got keys at creation");
    let early = person(&app, "Ivana Marković", "+381 63 111 2222");
    insert(&app, &ring1, &early).await;

    // Another process rotates. This one keeps its cached keyring for up to a minute...
    let ring2 = rotate_elsewhere(&app).await;
    assert_eq!(app.state.keys.get(org).await.unwrap().current_version(), 1);
    app.clock.advance(TimeDelta::seconds(61));
    // ...and then reads the keys again.
    assert_eq!(app.state.keys.get(org).await.unwrap().current_version(), 2);
    drop(ring2);

    // A value sealed under a version this process has not seen yet is read at once: the unknown
    // version makes it reload.
    let ring3 = rotate_elsewhere(&app).await;
    let late = person(&app, "Jasmina Todorović", "+381 65 333 4444");
    insert(&app, &ring3, &late).await;
    assert_eq!(app.state.keys.get(org).await.unwrap().current_version(), 2, "still cached");
    assert_eq!(read(&app, late.id).await.name, "Jasmina Todorović");
    assert_eq!(app.state.keys.get(org).await.unwrap().current_version(), 3);

    // Something this process sealed with a stale keyring is moved on by the background task.
    let stale = person(&app, "Snežana Lukić", "+381 66 555 6666");
    insert(&app, &ring1, &stale).await;
    let before = encrypted::versions_in_use(&app.state.db, org).await.unwrap();
    assert_eq!(before.get(&1), Some(&16), "{before:?}");
    assert_eq!(haven_web::keys::reencrypt_stale(&app.state).await.unwrap(), 16);
    let after = encrypted::versions_in_use(&app.state.db, org).await.unwrap();
    assert_eq!(after.into_iter().collect::<Vec<_>>(), [(3, 24)]);
    assert_eq!(read(&app, early.id).await.name, "Ivana Marković");
    assert_eq!(haven_web::keys::reencrypt_stale(&app.state).await.unwrap(), 0, "nothing left");
    let log = haven_store::audit::list(&app.state.db, org, &haven_store::audit::AuditFilter { action_prefix: Some("keys.".into()), ..Default::default() }, 10).await.unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!((log[0].action.as_str(), log[0].actor_kind.as_str()), ("keys.reencrypted", "system"));
    assert!(log[0].details.contains("\"fields\":16"), "{}", log[0].details);
});

conformance!(async fn a_master_key_that_does_not_match_stops_haven(backend) {
    let app = TestApp::spawn(backend).await;
    let start = |key: String| {
        let settings = app.settings.clone();
        let schema = app.pg_schema().map(str::to_owned);
        let clock = app.clock.clone();
        async move {
            haven_web::open(settings, StartOptions {
                clock,
                rng: Arc::new(OsRng),
                master_key_env: Some(key),
                pg_schema: schema,
                migrate: true,
            })
            .await
        }
    };
    let right = MasterKey::load_file(app.settings.master_key_path()).unwrap();
    let wrong = MasterKey::generate(&OsRng);
    match start(wrong.encode().to_string()).await {
        Err(e @ StartError::Keys(_)) => assert_eq!(
            e.to_string(),
            format!("the master key does not match this database (fingerprint {}, the database expects {})", wrong.fingerprint(), right.fingerprint())
        ),
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("Haven started with the wrong master key"),
    }
    // The right key, given through the environment instead of the file, works.
    let again = start(right.encode().to_string()).await.unwrap();
    assert_eq!(again.state.keys.master().fingerprint(), right.fingerprint());
    assert_eq!(again.state.keys.get(app.state.default_org).await.unwrap().current_version(), 1);
});

conformance!(async fn a_running_haven_follows_a_master_key_rotated_elsewhere(backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.state.default_org;
    let someone = person(&app, "Tijana Perić", "+381 60 777 8888");
    insert(&app, &app.state.keys.get(org).await.unwrap(), &someone).await;
    let old = app.state.keys.master();
    // What `haven keys rotate-master` does: the new key in a file of its own, the database
    // re-wrapped, then the new file put in place of the old.
    let path = app.settings.master_key_path();
    let new_path = path.with_file_name("master.key.new-test");
    let new = MasterKey::create_file(&new_path, &OsRng).unwrap();
    let mut tx = app.state.db.begin().await.unwrap();
    keys::rewrap_all(&mut tx, &old, &new, &OsRng).await.unwrap();
    tx.commit().await.unwrap();
    // Before the file is swapped the database names a key this process cannot find: it keeps
    // working with the keys it has.
    app.clock.advance(TimeDelta::seconds(61));
    assert_eq!(app.state.keys.get(org).await.unwrap().current_version(), 1);
    assert_eq!(app.state.keys.master().fingerprint(), old.fingerprint());
    assert_eq!(read(&app, someone.id).await.name, "Tijana Perić");
    // Once the key file holds the new key, the next reload takes it from there.
    std::fs::rename(&new_path, &path).unwrap();
    app.clock.advance(TimeDelta::seconds(61));
    assert_eq!(app.state.keys.get(org).await.unwrap().current_version(), 1);
    assert_eq!(app.state.keys.master().fingerprint(), new.fingerprint());
    assert_eq!(read(&app, someone.id).await.name, "Tijana Perić");
});
