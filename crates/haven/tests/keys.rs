//! `haven keys` as an operator meets it: checks, a rotation with everything re-encrypted, a
//! damaged field, and a master key replaced.

// Stories written as async functions are tests too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::{demo, fails, haven, key_path, ok, open_db, rt, run, text};
use haven_crypto::keys::MasterKey;
use haven_domain::OrgId;
use haven_domain::people::PersonId;
use haven_store::{execute, keys, orgs, people};
use haven_testkit::Client;
use haven_testkit::reqwest::StatusCode;

/// Every person of the default organisation, decrypted with the master key in the key file,
/// by id.
async fn everyone(dir: &Path, key_file: &Path) -> Vec<(PersonId, String, Vec<String>)> {
    let db = open_db(dir).await;
    let master = MasterKey::load_file(key_file).unwrap();
    let org: OrgId = orgs::list(&db).await.unwrap()[0].id;
    let ring = keys::load_keyring(&db, &master, org).await.unwrap();
    let ids: Vec<uuid::Uuid> = haven_store::on_db!(&db, |c| sqlx::query_scalar(
        "SELECT id FROM people ORDER BY id"
    )
    .fetch_all(c)
    .await)
    .unwrap();
    let mut out = Vec::new();
    for id in ids {
        let p = people::get(&db, &ring, org, PersonId(id))
            .await
            .unwrap()
            .unwrap();
        out.push((p.id, p.name, p.phones));
    }
    db.close().await;
    out
}

#[test]
fn the_key_commands_have_help() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec!["keys", "--help"],
        vec!["keys", "check", "--help"],
        vec!["keys", "rotate", "--help"],
        vec!["keys", "rotate-master", "--help"],
    ] {
        assert!(ok(dir.path(), &args).contains("Usage:"), "{args:?}");
    }
}

#[test]
fn environment_variables_that_are_not_settings_are_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let key = "5a".repeat(32);
    let out = run(haven(dir.path())
        .arg("config")
        .env("HAVEN_MASTER_KEY", &key)
        .env(
            "HAVEN_TEST_DATABASE_URL",
            "postgres://postgres@127.0.0.1/nothing",
        )
        .env("HAVEN_TEST_BROWSER", "1"));
    assert!(out.status.success(), "{}", text(&out));
    assert!(!text(&out).contains(&key), "the key is never printed");
}

#[test]
fn rotation_re_encrypts_everything_and_old_data_still_reads() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    demo(dir, "2");
    let before = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(everyone(dir, &key_path(dir)));
    assert_eq!(before.len(), 20);
    assert!(before.iter().all(|(_, name, _)| name.ends_with("(demo)")));

    let t = ok(dir, &["keys", "check"]);
    assert!(t.contains("current data key v1"), "{t}");
    assert!(
        t.contains("people.name_enc: 20 fields (v1: 20), all open"),
        "{t}"
    );
    assert!(
        t.contains("Checked 475 encrypted field(s) in 1 organisation(s): every one opens."),
        "{t}"
    );

    let t = ok(dir, &["keys", "rotate", "--batch", "7"]);
    assert!(t.contains("data key version 2 is now current"), "{t}");
    assert!(t.contains("people: 7 rows read"), "progress per batch: {t}");
    assert!(
        t.contains("people: 20 rows read, 160 fields re-encrypted so far"),
        "{t}"
    );
    assert!(
        t.contains("475 field(s) re-encrypted under version 2"),
        "{t}"
    );

    let t = ok(dir, &["keys", "check"]);
    assert!(t.contains("current data key v2 (held: v1, v2)"), "{t}");
    assert!(
        t.contains("people.phones_enc: 20 fields (v2: 20), all open"),
        "{t}"
    );
    let after = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(everyone(dir, &key_path(dir)));
    assert_eq!(after, before, "every value reads as before");
    let t = ok(dir, &["check"]);
    assert!(
        t.contains("ok      organisation keys: 3 key(s) unwrap with this master key"),
        "{t}"
    );
    assert!(t.contains("ok      encrypted fields: 475 in 1 organisation(s), all under data keys the organisations have (v2)"), "{t}");
    assert!(t.contains("ok      audit log: "), "{t}");

    // A damaged field: `keys check` names the record; `check` sees a version nobody has.
    let victim = before[4].0;
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let db = open_db(dir).await;
        let mut tx = db.begin().await.unwrap();
        let mut bytes: Vec<u8> = haven_store::on_tx!(&mut tx, |c| sqlx::query_scalar(
            "SELECT name_enc FROM people WHERE id = $1"
        )
        .bind(victim.0)
        .fetch_one(&mut *c)
        .await)
        .unwrap();
        bytes[1..5].copy_from_slice(&9u32.to_be_bytes());
        execute!(
            &mut tx,
            "UPDATE people SET name_enc = $1 WHERE id = $2",
            bytes,
            victim.0
        )
        .unwrap();
        tx.commit().await.unwrap();
        db.close().await;
    });
    let t = fails(dir, &["keys", "check"]);
    assert!(
        t.contains(&format!("FAILED people.name_enc of record {victim}")),
        "{t}"
    );
    assert!(t.contains("1 of 475 encrypted field(s) do not open"), "{t}");
    let t = fails(dir, &["check"]);
    assert!(
        t.contains("FAILED  encrypted fields: 1 of 475 cannot be opened"),
        "{t}"
    );
}

/// A running `haven serve` and its address.
struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(dir: &Path) -> Server {
    let mut child = haven(dir)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut base = None;
    while Instant::now() < deadline {
        let Some(Ok(line)) = lines.next() else { break };
        if let Some(rest) = line.strip_prefix("Haven is running at ") {
            base = Some(rest.trim_end_matches("/staff/").to_owned());
            break;
        }
    }
    std::thread::spawn(move || for _ in lines {});
    Server {
        child,
        base: base.expect("haven serve printed its URL"),
    }
}

#[test]
fn a_new_master_key_replaces_the_old_one() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    demo(dir, "1");
    let before = rt().block_on(everyone(dir, &key_path(dir)));
    let old_text = std::fs::read_to_string(key_path(dir)).unwrap();
    let old = MasterKey::from_encoded(&old_text).unwrap();

    // From the environment the key cannot be replaced; Haven says what to do instead.
    let out = run(haven(dir)
        .args(["keys", "rotate-master"])
        .env("HAVEN_MASTER_KEY", old_text.trim()));
    assert!(!out.status.success());
    let t = text(&out);
    assert!(
        t.contains("the master key comes from HAVEN_MASTER_KEY")
            && t.contains("haven keys rotate-master")
            && t.contains("master_key_file"),
        "{t}"
    );
    assert_eq!(
        std::fs::read_to_string(key_path(dir)).unwrap(),
        old_text,
        "nothing changed"
    );

    let t = ok(dir, &["keys", "rotate-master"]);
    assert!(
        t.contains("Re-wrapped 2 organisation key(s) under a new master key"),
        "{t}"
    );
    let new_text = std::fs::read_to_string(key_path(dir)).unwrap();
    let new = MasterKey::from_encoded(&new_text).unwrap();
    assert_ne!(new.fingerprint(), old.fingerprint());
    assert!(
        t.contains(&new.fingerprint()) && t.contains(&old.fingerprint()),
        "{t}"
    );
    assert_eq!(
        std::fs::metadata(key_path(dir))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    let mut kept: Vec<PathBuf> = std::fs::read_dir(dir.join("haven-data"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("master.key.")
        })
        .collect();
    assert_eq!(
        kept.len(),
        1,
        "only the old key is kept beside the new one: {kept:?}"
    );
    let old_file = kept.pop().unwrap();
    assert!(
        old_file
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("master.key.old-")
    );
    assert_eq!(std::fs::read_to_string(&old_file).unwrap(), old_text);

    // Restarted with the new key, everything works and reads as before.
    assert_eq!(rt().block_on(everyone(dir, &key_path(dir))), before);
    ok(dir, &["keys", "check"]);
    let t = ok(dir, &["check"]);
    assert!(
        t.contains(&format!("fingerprint {}", new.fingerprint())),
        "{t}"
    );
    let server = serve(dir);
    rt().block_on(async {
        assert_eq!(
            Client::new(&server.base).get("/readyz").await.status,
            StatusCode::OK
        );
    });
    drop(server);
    let t = ok(dir, &["audit", "verify"]);
    assert!(t.contains("The audit log is intact"), "{t}");

    // The old key no longer opens this database: one sentence with both fingerprints.
    let expected = format!(
        "haven: the master key does not match this database (fingerprint {}, the database expects {})",
        old.fingerprint(),
        new.fingerprint()
    );
    let out = run(haven(dir)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("HAVEN_MASTER_KEY", old_text.trim()));
    assert!(!out.status.success());
    assert_eq!(text(&out).trim(), expected);
    std::fs::copy(&old_file, key_path(dir)).unwrap();
    let t = fails(dir, &["keys", "check"]);
    assert_eq!(t.trim(), expected);
    let t = fails(dir, &["check"]);
    assert!(
        t.contains("FAILED  organisation keys: the master key does not match this database"),
        "{t}"
    );
}
