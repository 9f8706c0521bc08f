//! `haven keys`: check, rotate and replace the keys that protect identifying data.
//!
//! Every operation is recorded in each organisation's audit log (system actor, `keys.*`), with
//! counts and fingerprints only.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use haven_crypto::keys::MasterKey;
use haven_domain::{IdGen, OrgId};
use haven_store::audit::{self, AuditActor, AuditEvent, Outcome};
use haven_store::encrypted::{self, CheckDepth};
use haven_store::{keys, orgs};
use haven_web::{AppState, Settings};
use serde_json::json;

/// What to do with the keys.
#[derive(Debug, clap::Subcommand)]
pub enum KeysCommand {
    /// Decrypt every encrypted field of every organisation and report the counts; exit non-zero
    /// if any field does not open.
    Check,
    /// Make a new data key version current in every organisation and re-encrypt every field to it,
    /// in batches (each its own transaction), while Haven keeps running.
    Rotate {
        /// Rows per batch.
        #[arg(long, default_value_t = 250, value_parser = clap::value_parser!(i64).range(1..=10_000))]
        batch: i64,
    },
    /// Replace the master key: re-wrap every organisation key under a new one in one transaction,
    /// then write the new key file (mode 0600), keeping the old one beside it as
    /// master.key.old-<time>.
    RotateMaster,
}

/// Runs a keys command.
pub async fn run(settings: Settings, cmd: KeysCommand) -> Result<ExitCode, String> {
    if let KeysCommand::RotateMaster = cmd
        && std::env::var("HAVEN_MASTER_KEY").is_ok_and(|v| !v.trim().is_empty())
    {
        return Err(ENV_KEY_INSTEAD.to_owned());
    }
    let haven = super::open(settings).await?;
    let state = haven.state;
    let result = match cmd {
        KeysCommand::Check => check(&state).await,
        KeysCommand::Rotate { batch } => rotate(&state, batch).await,
        KeysCommand::RotateMaster => rotate_master(&state).await,
    };
    state.db.close().await;
    result
}

const ENV_KEY_INSTEAD: &str =
    "the master key comes from HAVEN_MASTER_KEY, which Haven cannot replace. To rotate it:
  1. stop Haven;
  2. write the current key to a file only you can read:
       (umask 077; printf '%s\\n' \"$HAVEN_MASTER_KEY\" > master.key)
  3. unset HAVEN_MASTER_KEY and point master_key_file (or HAVEN_MASTER_KEY_FILE) at that file;
  4. run `haven keys rotate-master`;
  5. store the new master.key's content in your secret store as HAVEN_MASTER_KEY, keep the
     master.key.old-* file with the backups made before today, and delete the other copies.";

fn store_err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

async fn record(
    state: &AppState,
    org: OrgId,
    action: &str,
    outcome: Outcome,
    details: serde_json::Value,
) -> Result<(), String> {
    let mut tx = state.db.begin().await.map_err(store_err)?;
    let ids = IdGen::new(state.clock.as_ref(), state.rng.as_ref());
    audit::append(
        &mut tx,
        org,
        ids.uuid(),
        state.now(),
        &AuditEvent::new(AuditActor::System, action, outcome).details(details),
    )
    .await
    .map_err(store_err)?;
    tx.commit().await.map_err(store_err)
}

fn versions_text(by_version: &std::collections::BTreeMap<u32, u64>) -> String {
    by_version
        .iter()
        .map(|(v, n)| format!("v{v}: {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `haven keys check`.
async fn check(state: &AppState) -> Result<ExitCode, String> {
    let mut fields = 0u64;
    let mut failed = 0u64;
    let all = orgs::list(&state.db).await.map_err(store_err)?;
    for org in &all {
        let ring = state.keys.reload(org.id).await.map_err(store_err)?;
        let held: Vec<String> = ring.versions().map(|v| format!("v{v}")).collect();
        println!(
            "organisation {}: current data key v{} (held: {})",
            org.slug,
            ring.current_version(),
            held.join(", ")
        );
        let reports = encrypted::check(&state.db, org.id, &ring, CheckDepth::Decrypt)
            .await
            .map_err(store_err)?;
        let (mut org_fields, mut org_failed) = (0u64, 0u64);
        for r in &reports {
            org_fields += r.fields;
            org_failed += r.failed;
            let state_text = if r.failed == 0 {
                "all open".to_owned()
            } else {
                format!("{} FAILED", r.failed)
            };
            println!(
                "  {}.{}: {} fields ({}), {}",
                r.table,
                r.column,
                r.fields,
                if r.by_version.is_empty() {
                    "none".to_owned()
                } else {
                    versions_text(&r.by_version)
                },
                state_text
            );
            for (id, why) in &r.failures {
                println!("    FAILED {}.{} of record {id}: {why}", r.table, r.column);
            }
            if r.failed as usize > r.failures.len() {
                println!("    … and {} more", r.failed as usize - r.failures.len());
            }
        }
        record(
            state,
            org.id,
            "keys.checked",
            if org_failed == 0 {
                Outcome::Ok
            } else {
                Outcome::Failed
            },
            json!({ "fields": org_fields, "failed": org_failed }),
        )
        .await?;
        fields += org_fields;
        failed += org_failed;
    }
    if failed == 0 {
        println!(
            "Checked {fields} encrypted field(s) in {} organisation(s): every one opens.",
            all.len()
        );
        Ok(ExitCode::SUCCESS)
    } else {
        println!(
            "{failed} of {fields} encrypted field(s) do not open. Restore them from a backup made with the same master key, or find out who changed them."
        );
        Ok(ExitCode::FAILURE)
    }
}

/// `haven keys rotate`.
async fn rotate(state: &AppState, batch: i64) -> Result<ExitCode, String> {
    let master = state.keys.master();
    for org in orgs::list(&state.db).await.map_err(store_err)? {
        let mut tx = state.db.begin().await.map_err(store_err)?;
        let version =
            keys::add_data_key_version(&mut tx, &master, org.id, state.now(), state.rng.as_ref())
                .await
                .map_err(store_err)?;
        let ids = IdGen::new(state.clock.as_ref(), state.rng.as_ref());
        audit::append(
            &mut tx,
            org.id,
            ids.uuid(),
            state.now(),
            &AuditEvent::new(AuditActor::System, "keys.rotated", Outcome::Ok)
                .details(json!({ "version": version })),
        )
        .await
        .map_err(store_err)?;
        tx.commit().await.map_err(store_err)?;
        println!(
            "organisation {}: data key version {version} is now current; re-encrypting…",
            org.slug
        );
        let ring = state.keys.reload(org.id).await.map_err(store_err)?;
        let done =
            encrypted::reencrypt_all(&state.db, org.id, &ring, state.rng.as_ref(), batch, |p| {
                println!(
                    "  {}: {} rows read, {} fields re-encrypted so far",
                    p.table, p.rows, p.reencrypted
                );
            })
            .await
            .map_err(store_err)?;
        record(
            state,
            org.id,
            "keys.reencrypted",
            Outcome::Ok,
            json!({
                "version": version,
                "fields": done.reencrypted,
                "changed_meanwhile": done.changed_meanwhile,
                "by": "rotate",
            }),
        )
        .await?;
        println!(
            "organisation {}: {} field(s) re-encrypted under version {version}{}",
            org.slug,
            done.reencrypted,
            if done.changed_meanwhile > 0 {
                format!(
                    " ({} changed meanwhile and were sealed by that change)",
                    done.changed_meanwhile
                )
            } else {
                String::new()
            }
        );
    }
    println!(
        "Done. Running Haven processes switch to the new version within a minute; anything they seal under the old one meanwhile is re-encrypted by their background task. Old versions stay in the database so that every value keeps opening."
    );
    Ok(ExitCode::SUCCESS)
}

/// A sibling of `path` whose file name gets `suffix` appended.
fn beside(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "master.key".into());
    name.push(suffix);
    path.with_file_name(name)
}

fn sync_dir(path: &Path) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::File::open(dir).and_then(|d| d.sync_all())
}

/// `haven keys rotate-master`.
///
/// Order matters for a crash at any point: the new key is first written completely to a file of
/// its own; then the database switches to it in one transaction; only then is the old file moved
/// aside and the new one put in its place. A crash before the commit leaves the old key working;
/// after it, the new key is on disk (as `master.key.new-<time>` until the final rename).
async fn rotate_master(state: &AppState) -> Result<ExitCode, String> {
    let path = state.settings.master_key_path();
    let old = state.keys.master();
    let stamp = state.now().format("%Y%m%dT%H%M%SZ").to_string();
    let new_path = beside(&path, &format!(".new-{stamp}"));
    let old_path = beside(&path, &format!(".old-{stamp}"));
    if old_path.exists() {
        return Err(format!(
            "{} already exists; wait a second and run the command again",
            old_path.display()
        ));
    }
    let new = MasterKey::create_file(&new_path, state.rng.as_ref()).map_err(store_err)?;
    let rewrapped = async {
        let mut tx = state.db.begin().await?;
        let n = keys::rewrap_all(&mut tx, &old, &new, state.rng.as_ref()).await?;
        let ids = IdGen::new(state.clock.as_ref(), state.rng.as_ref());
        for org in orgs::list(&state.db).await? {
            audit::append(
                &mut tx,
                org.id,
                ids.uuid(),
                state.now(),
                &AuditEvent::new(AuditActor::System, "keys.master_rotated", Outcome::Ok).details(
                    json!({
                        "old_fingerprint": old.fingerprint(),
                        "new_fingerprint": new.fingerprint(),
                        "keys": n,
                    }),
                ),
            )
            .await?;
        }
        tx.commit().await?;
        Ok::<usize, haven_store::StoreError>(n)
    }
    .await;
    let n = match rewrapped {
        Ok(n) => n,
        Err(e) => {
            let _ = std::fs::remove_file(&new_path);
            return Err(format!(
                "the keys could not be re-wrapped ({e}); nothing changed, the master key is still {}",
                path.display()
            ));
        }
    };
    let swapped = std::fs::hard_link(&path, &old_path)
        .and_then(|()| std::fs::rename(&new_path, &path))
        .and_then(|()| sync_dir(&path));
    if let Err(e) = swapped {
        return Err(format!(
            "the database now uses the new master key (fingerprint {}), but the key files could not be swapped ({e}): move {} to {} by hand before starting Haven",
            new.fingerprint(),
            new_path.display(),
            path.display()
        ));
    }
    println!(
        "Re-wrapped {n} organisation key(s) under a new master key (fingerprint {}).",
        new.fingerprint()
    );
    println!("    new key: {} (mode 0600)", path.display());
    println!(
        "    old key: {} (fingerprint {})",
        old_path.display(),
        old.fingerprint()
    );
    println!(
        "Back up the new key now, apart from the database. Database backups made before now open only with the old key: keep it with them, and destroy it when they expire."
    );
    println!(
        "Audit checkpoints are signed with a key derived from the master key: make a new one now with `haven audit checkpoint`."
    );
    println!(
        "Running Haven processes that read this key file pick up the new key by themselves; restart any that get the key another way."
    );
    Ok(ExitCode::SUCCESS)
}
