//! The keyring cache: every organisation's unwrapped keys, held in memory for the requests.
//!
//! At start every organisation's keys are loaded and unwrapped ([`Keyrings::load`]); a master key
//! that does not unwrap them stops Haven there. Afterwards an organisation's keyring is read again
//! from the database at most every [`RELOAD_AFTER`], and at once when a ciphertext names a data
//! key version the cached keyring does not hold ([`Keyrings::with`]). So several `haven serve`
//! processes and a `haven keys rotate` run from the command line need no restart: a process
//! still sealing under the old version for up to a minute is harmless, because old versions keep
//! opening and the background task ([`spawn_reencryption`]) moves such values to the current one.
//!
//! The unwrapped keys live only in [`OrgKeyring`]s, which zeroize them when dropped.

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use haven_crypto::keys::{MasterKey, OrgKeyring};
use haven_domain::{Clock, IdGen, OrgId};
use haven_store::audit::{self, AuditActor, AuditEvent, Outcome};
use haven_store::{Db, StoreError, encrypted, keys, orgs};

use crate::state::AppState;

/// How long a cached keyring is used before it is read again from the database.
pub const RELOAD_AFTER: TimeDelta = TimeDelta::seconds(60);

/// Rows per transaction when re-encrypting.
pub const REENCRYPT_BATCH: i64 = 250;

struct Cached {
    ring: Arc<OrgKeyring>,
    loaded_at: DateTime<Utc>,
}

/// Every organisation's keyring, cached, and the master key that unwraps them.
pub struct Keyrings {
    db: Db,
    clock: Arc<dyn Clock>,
    master: RwLock<Arc<MasterKey>>,
    key_file: Option<PathBuf>,
    rings: RwLock<HashMap<OrgId, Cached>>,
}

impl std::fmt::Debug for Keyrings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyrings")
            .field("master", &self.master().fingerprint())
            .finish_non_exhaustive()
    }
}

impl Keyrings {
    /// Loads and unwraps every organisation's keys. `key_file` is where the master key came from
    /// (`None` for `HAVEN_MASTER_KEY`): after `haven keys rotate-master` a running process finds
    /// the new key there.
    pub async fn load(
        db: Db,
        clock: Arc<dyn Clock>,
        master: MasterKey,
        key_file: Option<PathBuf>,
    ) -> Result<Keyrings, StoreError> {
        let rows = keys::rows(&db, None).await?;
        let now = clock.now();
        let mut rings = HashMap::new();
        for org in orgs::list(&db).await? {
            let ring = keys::keyring_from_rows(&master, org.id, &rows)?;
            rings.insert(
                org.id,
                Cached {
                    ring: Arc::new(ring),
                    loaded_at: now,
                },
            );
        }
        Ok(Keyrings {
            db,
            clock,
            master: RwLock::new(Arc::new(master)),
            key_file,
            rings: RwLock::new(rings),
        })
    }

    /// The master key in use.
    pub fn master(&self) -> Arc<MasterKey> {
        self.master
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// An organisation's keyring, from the cache while it is fresh.
    pub async fn get(&self, org: OrgId) -> Result<Arc<OrgKeyring>, StoreError> {
        let now = self.clock.now();
        let cached = {
            let rings = self.rings.read().unwrap_or_else(|e| e.into_inner());
            rings
                .get(&org)
                .map(|c| (c.ring.clone(), now - c.loaded_at < RELOAD_AFTER))
        };
        match cached {
            Some((ring, true)) => Ok(ring),
            Some((ring, false)) => match self.reload(org).await {
                Ok(fresh) => Ok(fresh),
                Err(e) => {
                    // A database hiccup must not stop the work: the cached keys still open
                    // everything they opened a minute ago. Try again at the next interval.
                    tracing::warn!(org = %org, error = %e, "could not reload the organisation's keys; using the cached ones");
                    self.store(org, ring.clone(), now);
                    Ok(ring)
                }
            },
            None => self.reload(org).await,
        }
    }

    fn store(&self, org: OrgId, ring: Arc<OrgKeyring>, loaded_at: DateTime<Utc>) {
        self.rings
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(org, Cached { ring, loaded_at });
    }

    /// Reads an organisation's keys from the database again, now.
    pub async fn reload(&self, org: OrgId) -> Result<Arc<OrgKeyring>, StoreError> {
        let rows = keys::rows(&self.db, Some(org)).await?;
        let ring = match keys::keyring_from_rows(&self.master(), org, &rows) {
            Err(StoreError::MasterKeyMismatch { actual, expected }) => {
                // The master key was rotated by another process: follow the key file if it now
                // holds the key the database names.
                let Some(new) = self.rotated_master(&expected) else {
                    return Err(StoreError::MasterKeyMismatch { actual, expected });
                };
                let ring = keys::keyring_from_rows(&new, org, &rows)?;
                *self.master.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(new);
                tracing::info!(fingerprint = %expected, "now using the rotated master key from the key file");
                ring
            }
            other => other?,
        };
        let ring = Arc::new(ring);
        self.store(org, ring.clone(), self.clock.now());
        Ok(ring)
    }

    fn rotated_master(&self, expected_fingerprint: &str) -> Option<MasterKey> {
        let path = self.key_file.as_ref()?;
        let key = MasterKey::load_file(path).ok()?;
        (key.fingerprint() == expected_fingerprint).then_some(key)
    }

    /// Runs `f` with an organisation's keyring; if it fails because a ciphertext names a data key
    /// version the keyring lacks (another process rotated), reloads the keyring and runs it once
    /// more.
    pub async fn with<T, F, Fut>(&self, org: OrgId, mut f: F) -> Result<T, StoreError>
    where
        F: FnMut(Arc<OrgKeyring>) -> Fut,
        Fut: Future<Output = Result<T, StoreError>>,
    {
        let ring = self.get(org).await?;
        match f(ring).await {
            Err(e) if e.unknown_key_version().is_some() => f(self.reload(org).await?).await,
            other => other,
        }
    }
}

/// Re-encrypts, in every organisation, the values still sealed under an older data key version
/// (written by a process that had not yet seen a rotation, or left by an interrupted
/// `haven keys rotate`); returns how many values it re-encrypted.
pub async fn reencrypt_stale(state: &AppState) -> Result<u64, StoreError> {
    let mut total = 0;
    for org in orgs::list(&state.db).await? {
        let ring = state.keys.reload(org.id).await?;
        let current = ring.current_version();
        let in_use = encrypted::versions_in_use(&state.db, org.id).await?;
        if in_use.keys().all(|v| *v == current) {
            continue;
        }
        let done = encrypted::reencrypt_all(
            &state.db,
            org.id,
            &ring,
            state.rng.as_ref(),
            REENCRYPT_BATCH,
            |_| {},
        )
        .await?;
        if done.reencrypted > 0 {
            let mut tx = state.db.begin().await?;
            let ids = IdGen::new(state.clock.as_ref(), state.rng.as_ref());
            audit::append(
                &mut tx,
                org.id,
                ids.uuid(),
                state.now(),
                &AuditEvent::new(AuditActor::System, "keys.reencrypted", Outcome::Ok).details(
                    serde_json::json!({
                        "version": current,
                        "fields": done.reencrypted,
                        "by": "background",
                    }),
                ),
            )
            .await?;
            tx.commit().await?;
            tracing::info!(org = %org.id, version = current, fields = done.reencrypted, "re-encrypted values left under older data key versions");
        }
        total += done.reencrypted;
    }
    Ok(total)
}

/// How often `haven serve` looks for values under older data key versions.
pub const REENCRYPT_EVERY: Duration = Duration::from_secs(5 * 60);

/// Starts the background task that runs [`reencrypt_stale`] every `every`.
pub fn spawn_reencryption(state: AppState, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        // The first tick of an interval fires at once; the first pass waits a whole period so
        // that start-up is not slowed by it.
        ticks.tick().await;
        loop {
            ticks.tick().await;
            if let Err(e) = reencrypt_stale(&state).await {
                tracing::warn!(error = %e, "background re-encryption failed; it will try again");
            }
        }
    })
}
