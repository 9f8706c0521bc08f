//! `haven audit`: prove the audit log's hash chains, and export signed checkpoints of them.
//!
//! The chain alone shows that no entry was changed, removed or reordered — unless someone with
//! write access rewrote the whole tail consistently. A checkpoint kept off the machine closes that
//! gap: it is the head hash at some moment, signed with an Ed25519 key derived from the master
//! key, and `verify --checkpoint` proves the chain still holds exactly that entry.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use haven_crypto::audit::{Checkpoint, CheckpointKey};
use haven_domain::{IdGen, OrgId};
use haven_store::audit::{self, AuditActor, AuditEvent, Outcome, Verification};
use haven_store::orgs::{self, Org};
use haven_web::{AppState, Settings};
use serde_json::json;

/// What to do with the audit log.
#[derive(Debug, clap::Subcommand)]
pub enum AuditCommand {
    /// Verify every organisation's hash chain; with --checkpoint, also that the chain still
    /// holds each checkpoint's entry with that exact hash and that its signature is valid. Exits
    /// non-zero on any break.
    Verify {
        /// A checkpoint file written by `haven audit checkpoint`.
        #[arg(long, value_name = "FILE")]
        checkpoint: Option<PathBuf>,
    },
    /// Write a signed checkpoint of every organisation's chain head, as JSON, to standard output
    /// or to --out FILE. Keep it off this machine.
    Checkpoint {
        /// Where to write the checkpoints [default: standard output].
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

/// Runs an audit command.
pub async fn run(settings: Settings, cmd: AuditCommand) -> Result<ExitCode, String> {
    // Read the checkpoint first: a missing or unreadable file is the operator's mistake, not a
    // verification result, and needs no database.
    let checkpoints = match &cmd {
        AuditCommand::Verify {
            checkpoint: Some(path),
        } => Some(read_checkpoints(path)?),
        _ => None,
    };
    let haven = super::open(settings).await?;
    let state = haven.state;
    let result = match cmd {
        AuditCommand::Verify { .. } => verify(&state, checkpoints).await,
        AuditCommand::Checkpoint { out } => checkpoint(&state, out.as_deref()).await,
    };
    state.db.close().await;
    result
}

fn store_err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Reads a checkpoint file: a JSON array of checkpoints, or a single one.
pub fn read_checkpoints(path: &Path) -> Result<Vec<Checkpoint>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the checkpoint file {}: {e}", path.display()))?;
    serde_json::from_str::<Vec<Checkpoint>>(&text)
        .or_else(|_| serde_json::from_str::<Checkpoint>(&text).map(|c| vec![c]))
        .map_err(|e| {
            format!(
                "{} is not a checkpoint file written by `haven audit checkpoint`: {e}",
                path.display()
            )
        })
}

async fn record(state: &AppState, org: OrgId, ev: AuditEvent) -> Result<(), String> {
    let mut tx = state.db.begin().await.map_err(store_err)?;
    let ids = IdGen::new(state.clock.as_ref(), state.rng.as_ref());
    audit::append(&mut tx, org, ids.uuid(), state.now(), &ev)
        .await
        .map_err(store_err)?;
    tx.commit().await.map_err(store_err)
}

fn short(hash: &[u8]) -> String {
    hex::encode(hash.get(..8).unwrap_or(hash))
}

fn describe(org: &Org, v: &Verification) -> String {
    match &v.first_broken {
        None => format!(
            "organisation {}: {} entries checked, OK (head: entry {}, hash {}…)",
            org.slug,
            v.entries,
            v.head_seq,
            short(&v.head_hash)
        ),
        Some((seq, why)) => format!(
            "organisation {}: BROKEN at entry {seq}: {why} ({} entries before it are intact)",
            org.slug, v.entries
        ),
    }
}

/// `haven audit verify`.
async fn verify(
    state: &AppState,
    checkpoints: Option<Vec<Checkpoint>>,
) -> Result<ExitCode, String> {
    let all = orgs::list(&state.db).await.map_err(store_err)?;
    let public_key = CheckpointKey::derive(&state.keys.master()).public_key_hex();
    let mut failures = 0usize;
    let mut checked = 0i64;
    for org in &all {
        let v = audit::verify(&state.db, org.id).await.map_err(store_err)?;
        println!("{}", describe(org, &v));
        checked += v.entries;
        let mut cp_results = Vec::new();
        for cp in checkpoints
            .iter()
            .flatten()
            .filter(|c| c.org_id == org.id.0)
        {
            let problem = audit::check_checkpoint(&state.db, cp, &public_key)
                .await
                .map_err(store_err)?;
            match &problem {
                None => println!(
                    "organisation {}: checkpoint of entry {} (made {}) OK: the chain still holds that entry with that hash",
                    org.slug, cp.seq, cp.created_at
                ),
                Some(p) => {
                    failures += 1;
                    println!(
                        "organisation {}: checkpoint of entry {} (made {}) FAILED: {p}",
                        org.slug, cp.seq, cp.created_at
                    );
                }
            }
            cp_results.push(json!({ "seq": cp.seq, "ok": problem.is_none() }));
        }
        if v.first_broken.is_some() {
            failures += 1;
        }
        let outcome = if v.first_broken.is_none() && cp_results.iter().all(|r| r["ok"] == true) {
            Outcome::Ok
        } else {
            Outcome::Failed
        };
        record(
            state,
            org.id,
            AuditEvent::new(AuditActor::System, "audit.verified", outcome).details(json!({
                "entries": v.entries,
                "head": v.head_seq,
                "first_broken": v.first_broken.as_ref().map(|(seq, why)| json!({ "seq": seq, "reason": why.code() })),
                "checkpoints": cp_results,
                "by": "command line",
            })),
        )
        .await?;
    }
    for cp in checkpoints.iter().flatten() {
        if !all.iter().any(|o| o.id.0 == cp.org_id) {
            failures += 1;
            println!(
                "checkpoint of entry {} FAILED: it belongs to organisation {}, which this database does not have",
                cp.seq, cp.org_id
            );
        }
    }
    if failures == 0 {
        println!(
            "The audit log is intact: {checked} entries in {} organisation(s).",
            all.len()
        );
        Ok(ExitCode::SUCCESS)
    } else {
        println!(
            "The audit log FAILED verification ({failures} problem(s)). Keep a copy of the database as it is now and find out who had write access to it."
        );
        Ok(ExitCode::FAILURE)
    }
}

/// `haven audit checkpoint`.
async fn checkpoint(state: &AppState, out: Option<&Path>) -> Result<ExitCode, String> {
    let key = CheckpointKey::derive(&state.keys.master());
    let created_at = state
        .now()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut made = Vec::new();
    for org in orgs::list(&state.db).await.map_err(store_err)? {
        let v = audit::verify(&state.db, org.id).await.map_err(store_err)?;
        if let Some((seq, why)) = &v.first_broken {
            return Err(format!(
                "the audit chain of organisation {} is broken at entry {seq}: {why}; no checkpoint was made (run `haven audit verify`)",
                org.slug
            ));
        }
        let cp = Checkpoint::create(&key, org.id.0, v.head_seq, &v.head_hash, &created_at);
        made.push((org, cp));
    }
    let list: Vec<&Checkpoint> = made.iter().map(|(_, c)| c).collect();
    let text = serde_json::to_string_pretty(&list).map_err(store_err)? + "\n";
    match out {
        Some(path) => {
            std::fs::write(path, text.as_bytes())
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            println!(
                "Wrote checkpoints of {} organisation(s) to {}.",
                made.len(),
                path.display()
            );
        }
        None => print!("{text}"),
    }
    for (org, cp) in &made {
        record(
            state,
            org.id,
            AuditEvent::new(AuditActor::System, "audit.checkpoint_made", Outcome::Ok).details(
                json!({ "seq": cp.seq, "head_hash": cp.head_hash_hex, "public_key": cp.public_key_hex }),
            ),
        )
        .await?;
    }
    eprintln!(
        "Keep the checkpoints off this machine (and the public key {}): `haven audit verify --checkpoint FILE` then proves that the log still holds those entries unchanged.",
        key.public_key_hex()
    );
    Ok(ExitCode::SUCCESS)
}
