//! `haven check`: says what is wrong, one line each, and exits non-zero if anything is.

use std::process::ExitCode;

use haven_crypto::MasterKey;
use haven_store::db::{DbLocation, DbOptions};
use haven_store::encrypted::{self, CheckDepth};
use haven_store::{Db, audit, keys, orgs};
use haven_web::Settings;

struct Report {
    failed: usize,
}

impl Report {
    fn ok(&mut self, what: &str, detail: impl AsRef<str>) {
        println!("ok      {what}: {}", detail.as_ref());
    }
    fn fail(&mut self, what: &str, detail: impl AsRef<str>) {
        self.failed += 1;
        println!("FAILED  {what}: {}", detail.as_ref());
    }
}

/// Runs every check.
pub async fn run(settings: Settings) -> Result<ExitCode, String> {
    let mut r = Report { failed: 0 };
    r.ok("configuration", "valid");
    let location = settings.database_location();
    if let DbLocation::Sqlite(path) = &location {
        match path.parent().filter(|p| !p.as_os_str().is_empty()) {
            Some(dir) if dir.is_dir() => match haven_web::bootstrap::prepare_data_dir(dir) {
                Ok(()) => r.ok("data folder", format!("{} is writable", dir.display())),
                Err(e) => r.fail("data folder", e.to_string()),
            },
            Some(dir) => r.fail(
                "data folder",
                format!(
                    "{} does not exist: start Haven once with `haven serve`",
                    dir.display()
                ),
            ),
            None => {}
        }
    }
    let master = match std::env::var("HAVEN_MASTER_KEY")
        .ok()
        .filter(|v| !v.trim().is_empty())
    {
        Some(v) => match MasterKey::from_encoded(&v) {
            Ok(k) => {
                r.ok(
                    "master key",
                    format!("from HAVEN_MASTER_KEY, fingerprint {}", k.fingerprint()),
                );
                Some(k)
            }
            Err(e) => {
                r.fail(
                    "master key",
                    format!("HAVEN_MASTER_KEY is not a master key: {e}"),
                );
                None
            }
        },
        None => {
            let path = settings.master_key_path();
            match MasterKey::load_file(&path) {
                Ok(k) => {
                    r.ok(
                        "master key",
                        format!(
                            "{} (mode 0600), fingerprint {}",
                            path.display(),
                            k.fingerprint()
                        ),
                    );
                    Some(k)
                }
                Err(e) => {
                    r.fail("master key", e.to_string());
                    None
                }
            }
        }
    };
    if let DbLocation::Sqlite(path) = &location
        && !path.is_file()
    {
        r.fail(
            "database",
            format!(
                "no database at {}: start Haven once with `haven serve` or run `haven migrate`",
                path.display()
            ),
        );
        return Ok(finish(&r));
    }
    let opts = DbOptions {
        max_connections: 2,
        sqlite_sync: settings.database.sqlite_synchronous,
        ..DbOptions::default()
    };
    let db = match Db::connect(&location, &opts).await {
        Ok(db) => db,
        Err(e) => {
            r.fail(
                "database",
                format!(
                    "cannot open {}: {}",
                    location.redacted(),
                    e.to_string().lines().next().unwrap_or("")
                ),
            );
            return Ok(finish(&r));
        }
    };
    match db.ping().await {
        Ok(()) => r.ok(
            "database",
            format!("{} answers ({})", location.redacted(), db.backend().name()),
        ),
        Err(e) => r.fail("database", e.to_string()),
    }
    match db.integrity_problems().await {
        Ok(p) if p.is_empty() => r.ok("database integrity", "no problems"),
        Ok(p) => r.fail("database integrity", p.join("; ")),
        Err(e) => r.fail("database integrity", e.to_string()),
    }
    let current = match db.migration_status().await {
        Ok(s) if s.is_current() => {
            r.ok(
                "migrations",
                format!("{} applied, none pending", s.applied.len()),
            );
            true
        }
        Ok(s) => {
            if !s.pending.is_empty() {
                r.fail(
                    "migrations",
                    format!(
                        "{} pending: run `haven migrate` (or start `haven serve`)",
                        s.pending.len()
                    ),
                );
            }
            if !s.unknown.is_empty() {
                r.fail("migrations", format!("the database has migrations this Haven does not know ({:?}): it was written by a newer version", s.unknown));
            }
            if !s.mismatched.is_empty() {
                r.fail(
                    "migrations",
                    format!(
                        "migrations {:?} differ from what was applied or failed half-way",
                        s.mismatched
                    ),
                );
            }
            false
        }
        Err(e) => {
            r.fail("migrations", e.to_string());
            false
        }
    };
    // The checks below read tables of the current schema.
    if current {
        if let Some(master) = &master {
            check_keys(&mut r, &db, master).await;
        }
        check_audit(&mut r, &db).await;
    }
    db.close().await;
    Ok(finish(&r))
}

/// Organisation keys unwrap with this master key, and every encrypted field names a key version
/// its organisation has (headers only: `haven keys check` decrypts every field).
async fn check_keys(r: &mut Report, db: &Db, master: &MasterKey) {
    match keys::check_master(db, master).await {
        Ok(n) => r.ok(
            "organisation keys",
            format!("{n} key(s) unwrap with this master key"),
        ),
        Err(e) => {
            r.fail("organisation keys", e.to_string());
            return;
        }
    }
    let all = match orgs::list(db).await {
        Ok(all) => all,
        Err(e) => return r.fail("encrypted fields", e.to_string()),
    };
    let (mut fields, mut failed, mut versions) = (0u64, 0u64, std::collections::BTreeSet::new());
    for org in &all {
        let ring = match keys::load_keyring(db, master, org.id).await {
            Ok(ring) => ring,
            Err(e) => return r.fail("encrypted fields", e.to_string()),
        };
        match encrypted::check(db, org.id, &ring, CheckDepth::Headers).await {
            Ok(reports) => {
                for c in reports {
                    fields += c.fields;
                    failed += c.failed;
                    versions.extend(c.by_version.keys().copied());
                }
            }
            Err(e) => return r.fail("encrypted fields", e.to_string()),
        }
    }
    let versions: Vec<String> = versions.iter().map(|v| format!("v{v}")).collect();
    if failed == 0 {
        r.ok(
            "encrypted fields",
            format!(
                "{fields} in {} organisation(s), all under data keys the organisations have ({})",
                all.len(),
                if versions.is_empty() {
                    "none yet".to_owned()
                } else {
                    versions.join(", ")
                }
            ),
        );
    } else {
        r.fail(
            "encrypted fields",
            format!("{failed} of {fields} cannot be opened: run `haven keys check` for the list"),
        );
    }
}

/// Every organisation's audit chain holds from its first entry to its head.
async fn check_audit(r: &mut Report, db: &Db) {
    let all = match orgs::list(db).await {
        Ok(all) => all,
        Err(e) => return r.fail("audit log", e.to_string()),
    };
    let mut entries = 0;
    for org in &all {
        match audit::verify(db, org.id).await {
            Ok(v) => match v.first_broken {
                None => entries += v.entries,
                Some((seq, why)) => {
                    return r.fail(
                        "audit log",
                        format!(
                            "the chain of organisation {} is broken at entry {seq}: {why} (run `haven audit verify`)",
                            org.slug
                        ),
                    );
                }
            },
            Err(e) => return r.fail("audit log", e.to_string()),
        }
    }
    r.ok(
        "audit log",
        format!(
            "{entries} entries in {} organisation(s), every chain intact",
            all.len()
        ),
    );
}

fn finish(r: &Report) -> ExitCode {
    if r.failed == 0 {
        println!("All checks passed.");
        ExitCode::SUCCESS
    } else {
        println!("{} check(s) failed.", r.failed);
        ExitCode::FAILURE
    }
}
