//! `haven audit` as an operator meets it: the chain verified, a tampered or truncated log
//! named, and signed checkpoints that catch even a consistent rewrite.

// Stories written as async functions are tests too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;

use common::{demo, fails, haven, key_path, ok, open_db, rt, run, tamper};
use haven_crypto::audit::{Checkpoint, CheckpointKey, chain_hash};
use haven_crypto::keys::MasterKey;
use haven_domain::OsRng;
use haven_store::{execute, orgs};

#[test]
fn the_audit_commands_have_help() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec!["audit", "--help"],
        vec!["audit", "verify", "--help"],
        vec!["audit", "checkpoint", "--help"],
    ] {
        assert!(ok(dir.path(), &args).contains("Usage:"), "{args:?}");
    }
}

#[test]
fn audit_verify_passes_and_then_names_the_tampered_entry() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    demo(dir, "1");
    ok(dir, &["keys", "check"]);
    ok(dir, &["keys", "rotate"]);
    let t = ok(dir, &["audit", "verify"]);
    assert!(t.contains("entries checked, OK (head: entry "), "{t}");
    assert!(t.contains("The audit log is intact"), "{t}");
    let t = ok(dir, &["check"]);
    assert!(
        t.contains("ok      audit log: ") && t.contains("every chain intact"),
        "{t}"
    );

    // Someone with access to the file changes one entry's details.
    rt().block_on(tamper(
        dir,
        &[
            "DROP TRIGGER audit_log_no_update",
            "UPDATE audit_log SET details = '{\"version\":1}' WHERE seq = 2",
        ],
    ));
    let t = fails(dir, &["audit", "verify"]);
    assert!(
        t.contains("BROKEN at entry 2: its content was changed (hash differs)"),
        "{t}"
    );
    assert!(t.contains("FAILED verification"), "{t}");
    let t = fails(dir, &["check"]);
    assert!(
        t.contains("FAILED  audit log: the chain of organisation")
            && t.contains("is broken at entry 2"),
        "{t}"
    );

    // Deleting the newest entries is noticed too.
    let dir2 = tempfile::tempdir().unwrap();
    let dir2 = dir2.path();
    demo(dir2, "1");
    ok(dir2, &["keys", "check"]);
    ok(dir2, &["keys", "check"]);
    rt().block_on(tamper(
        dir2,
        &[
            "DROP TRIGGER audit_log_no_delete",
            "DELETE FROM audit_log WHERE seq = (SELECT max(seq) FROM audit_log)",
        ],
    ));
    let t = fails(dir2, &["audit", "verify"]);
    assert!(
        t.contains("BROKEN at entry 2: the chain ends at entry 1 but its head says 2"),
        "{t}"
    );
}

/// Rewrites the whole audit chain consistently after changing one entry: the chain check alone
/// cannot tell, a checkpoint can.
async fn rewrite_history(dir: &Path) {
    tamper(dir, &["DROP TRIGGER audit_log_no_update"]).await;
    let db = open_db(dir).await;
    let org = orgs::list(&db).await.unwrap()[0].id;
    let mut entries = haven_store::audit::list(&db, org, &Default::default(), 10_000)
        .await
        .unwrap();
    entries.reverse();
    let mut prev = haven_crypto::audit::GENESIS;
    let mut tx = db.begin().await.unwrap();
    for e in &mut entries {
        if e.seq == 1 {
            e.action = "keys.checked_by_nobody".into();
        }
        e.prev_hash = prev.to_vec();
        prev = chain_hash(&prev, &haven_store::audit::entry_bytes(e));
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
    db.close().await;
}

#[test]
fn checkpoints_round_trip_and_forgeries_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    demo(dir, "1");
    ok(dir, &["keys", "check"]);
    ok(dir, &["keys", "check"]);
    let cp_file = dir.join("checkpoint.json");
    let t = ok(
        dir,
        &["audit", "checkpoint", "--out", cp_file.to_str().unwrap()],
    );
    assert!(t.contains("Wrote checkpoints of 1 organisation(s)"), "{t}");
    let cps: Vec<Checkpoint> =
        serde_json::from_str(&std::fs::read_to_string(&cp_file).unwrap()).unwrap();
    assert_eq!(cps.len(), 1);
    assert_eq!(cps[0].seq, 2);
    assert!(cps[0].verify());
    // The checkpoint is signed by the key derived from this master key.
    let master = MasterKey::load_file(key_path(dir)).unwrap();
    assert!(cps[0].verify_with(&CheckpointKey::derive(&master).public_key_hex()));
    // Printed to standard output by default, as JSON only.
    let out = run(haven(dir).args(["audit", "checkpoint"]));
    assert!(out.status.success());
    let printed: Vec<Checkpoint> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed[0].org_id, cps[0].org_id);

    // More activity later; the checkpoint still holds.
    ok(dir, &["keys", "check"]);
    let t = ok(
        dir,
        &["audit", "verify", "--checkpoint", cp_file.to_str().unwrap()],
    );
    assert!(
        t.contains("checkpoint of entry 2")
            && t.contains("OK: the chain still holds that entry with that hash"),
        "{t}"
    );

    // An edited checkpoint, and one signed with someone else's key, are refused.
    let forged_file = dir.join("forged.json");
    let mut edited = cps[0].clone();
    edited.seq = 1;
    std::fs::write(&forged_file, serde_json::to_string(&edited).unwrap()).unwrap();
    let t = fails(
        dir,
        &[
            "audit",
            "verify",
            "--checkpoint",
            forged_file.to_str().unwrap(),
        ],
    );
    assert!(t.contains("FAILED: its signature is not valid"), "{t}");
    let other = CheckpointKey::derive(&MasterKey::generate(&OsRng));
    let head = cps[0].head().unwrap();
    let resigned = Checkpoint::create(&other, cps[0].org_id, cps[0].seq, &head, &cps[0].created_at);
    assert!(resigned.verify(), "self-consistent");
    std::fs::write(
        &forged_file,
        serde_json::to_string(&vec![resigned]).unwrap(),
    )
    .unwrap();
    let t = fails(
        dir,
        &[
            "audit",
            "verify",
            "--checkpoint",
            forged_file.to_str().unwrap(),
        ],
    );
    assert!(t.contains("FAILED: its signature is not valid"), "{t}");
    let t = fails(
        dir,
        &["audit", "verify", "--checkpoint", "no-such-file.json"],
    );
    assert!(
        t.contains("cannot read the checkpoint file no-such-file.json"),
        "{t}"
    );

    // History rewritten consistently: the chain alone looks intact, the checkpoint says otherwise.
    rt().block_on(rewrite_history(dir));
    let t = ok(dir, &["audit", "verify"]);
    assert!(t.contains("The audit log is intact"), "{t}");
    let t = fails(
        dir,
        &["audit", "verify", "--checkpoint", cp_file.to_str().unwrap()],
    );
    assert!(t.contains("checkpoint of entry 2") && t.contains("FAILED: entry 2 of the chain has another hash than the checkpoint: the log was rewritten"), "{t}");
}
