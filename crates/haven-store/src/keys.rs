//! Organisation keys: random per-organisation keys, stored only wrapped by the master key.
//!
//! Each organisation has one index key (blind indexes; version 1, never rotated, so the indexes
//! stay searchable) and data keys in versions (field encryption; the highest version is current).
//! A row records the fingerprint of the master key that wrapped it, so a wrong master key is named
//! as such instead of surfacing as a decryption failure somewhere later. Rotating the master key
//! re-wraps these few rows ([`rewrap_all`]); rotating a data key adds a version
//! ([`add_data_key_version`]) and leaves re-encryption to [`crate::encrypted`].

use chrono::{DateTime, Utc};
use haven_crypto::keys::{DataKey, KeyPurpose, MasterKey, OrgKeyring};
use haven_domain::{OrgId, SecureRng};
use uuid::Uuid;

use crate::{Db, Result, StoreError, Tx, execute, on_db, on_tx};

/// One stored (wrapped) key, without its key material.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct KeyRow {
    /// The organisation.
    pub org_id: Uuid,
    /// `data` or `index`.
    pub purpose: String,
    /// The version (from 1).
    pub version: i64,
    /// The key, encrypted under the master key and bound to organisation, purpose and version.
    pub wrapped: Vec<u8>,
    /// The fingerprint of the master key that wrapped it.
    pub master_fingerprint: String,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it stopped being the current version (data keys only).
    pub retired_at: Option<DateTime<Utc>>,
}

fn purpose_of(code: &str) -> Result<KeyPurpose> {
    match code {
        "data" => Ok(KeyPurpose::Data),
        "index" => Ok(KeyPurpose::Index),
        other => Err(StoreError::corrupt("org_keys", "purpose", other)),
    }
}

fn version_of(v: i64) -> Result<u32> {
    u32::try_from(v).map_err(|_| StoreError::corrupt("org_keys", "version", v))
}

async fn insert_key(
    tx: &mut Tx,
    master: &MasterKey,
    org: OrgId,
    purpose: KeyPurpose,
    version: u32,
    now: DateTime<Utc>,
    rng: &dyn SecureRng,
) -> Result<()> {
    let key = DataKey::generate(rng);
    let wrapped = master
        .wrap_data_key(&key, org.0, purpose, version, rng)
        .map_err(|e| StoreError::Config(format!("cannot wrap a new key: {e}")))?;
    execute!(
        tx,
        "INSERT INTO org_keys (org_id, purpose, version, wrapped, master_fingerprint, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        org.0,
        purpose.as_str(),
        i64::from(version),
        wrapped,
        master.fingerprint(),
        now
    )?;
    Ok(())
}

/// Makes a new organisation's keys — index key and data key version 1 — inside the transaction
/// that creates it.
pub async fn create_for_org(
    tx: &mut Tx,
    master: &MasterKey,
    org: OrgId,
    now: DateTime<Utc>,
    rng: &dyn SecureRng,
) -> Result<()> {
    insert_key(tx, master, org, KeyPurpose::Index, 1, now, rng).await?;
    insert_key(tx, master, org, KeyPurpose::Data, 1, now, rng).await
}

/// Gives keys to every organisation that has none (one created before keys existed); returns how
/// many organisations got keys.
pub async fn ensure_for_all_orgs(
    db: &Db,
    master: &MasterKey,
    now: DateTime<Utc>,
    rng: &dyn SecureRng,
) -> Result<usize> {
    let missing: Vec<Uuid> = on_db!(db, |c| sqlx::query_scalar(
        "SELECT o.org_id FROM orgs o WHERE NOT EXISTS \
         (SELECT 1 FROM org_keys k WHERE k.org_id = o.org_id) ORDER BY o.org_id"
    )
    .fetch_all(c)
    .await)?;
    for org in &missing {
        let mut tx = db.begin().await?;
        create_for_org(&mut tx, master, OrgId(*org), now, rng).await?;
        tx.commit().await?;
    }
    Ok(missing.len())
}

/// The stored keys of one organisation, or of all when `org` is `None`, by organisation,
/// purpose and version.
pub async fn rows(db: &Db, org: Option<OrgId>) -> Result<Vec<KeyRow>> {
    Ok(on_db!(db, |c| sqlx::query_as(
        "SELECT org_id, purpose, version, wrapped, master_fingerprint, created_at, retired_at \
         FROM org_keys WHERE ($1 IS NULL OR org_id = $1) ORDER BY org_id, purpose, version"
    )
    .bind(org.map(|o| o.0))
    .fetch_all(c)
    .await)?)
}

/// Unwraps one stored key, naming a master-key mismatch as such.
fn unwrap_row(master: &MasterKey, row: &KeyRow) -> Result<(KeyPurpose, u32, DataKey)> {
    let purpose = purpose_of(&row.purpose)?;
    let version = version_of(row.version)?;
    let actual = master.fingerprint();
    if row.master_fingerprint != actual {
        return Err(StoreError::MasterKeyMismatch {
            actual,
            expected: row.master_fingerprint.clone(),
        });
    }
    let key = master
        .unwrap_data_key(&row.wrapped, row.org_id, purpose, version)
        .map_err(|_| StoreError::KeyUnwrap {
            org: row.org_id,
            purpose: purpose.as_str(),
            version,
        })?;
    Ok((purpose, version, key))
}

/// Builds an organisation's keyring from its stored keys: the index key, every data key version,
/// the highest current.
pub fn keyring_from_rows(master: &MasterKey, org: OrgId, rows: &[KeyRow]) -> Result<OrgKeyring> {
    let mut index = None;
    let mut data = Vec::new();
    for row in rows.iter().filter(|r| r.org_id == org.0) {
        match unwrap_row(master, row)? {
            (KeyPurpose::Index, v, k) => {
                if index.as_ref().is_none_or(|(iv, _)| v > *iv) {
                    index = Some((v, k));
                }
            }
            (KeyPurpose::Data, v, k) => data.push((v, k)),
        }
    }
    let (_, index_key) = index.ok_or(StoreError::NoKey {
        org: org.0,
        purpose: "index",
    })?;
    data.sort_by_key(|(v, _)| *v);
    let (current, current_key) = data.pop().ok_or(StoreError::NoKey {
        org: org.0,
        purpose: "data",
    })?;
    let mut ring = OrgKeyring::new(index_key, current, current_key);
    for (v, k) in data {
        ring.add_version(v, k)
            .map_err(|_| StoreError::corrupt("org_keys", "version", v))?;
    }
    Ok(ring)
}

/// Loads and unwraps one organisation's keyring.
pub async fn load_keyring(db: &Db, master: &MasterKey, org: OrgId) -> Result<OrgKeyring> {
    let rows = rows(db, Some(org)).await?;
    keyring_from_rows(master, org, &rows)
}

/// Checks that `master` unwraps every stored key; the first that does not is the error.
pub async fn check_master(db: &Db, master: &MasterKey) -> Result<usize> {
    let rows = rows(db, None).await?;
    for row in &rows {
        unwrap_row(master, row)?;
    }
    Ok(rows.len())
}

/// Adds a new data key version to an organisation and makes it current (the previous current
/// version is marked retired now); returns the new version. Ciphertexts under older versions keep
/// opening; [`crate::encrypted::reencrypt_all`] moves them to the new one.
pub async fn add_data_key_version(
    tx: &mut Tx,
    master: &MasterKey,
    org: OrgId,
    now: DateTime<Utc>,
    rng: &dyn SecureRng,
) -> Result<u32> {
    let last: Option<i64> = on_tx!(tx, |c| sqlx::query_scalar(
        "SELECT max(version) FROM org_keys WHERE org_id = $1 AND purpose = 'data'"
    )
    .bind(org.0)
    .fetch_one(&mut *c)
    .await)?;
    let next = version_of(last.unwrap_or(0))?
        .checked_add(1)
        .ok_or_else(|| StoreError::corrupt("org_keys", "version", "no versions left"))?;
    execute!(
        tx,
        "UPDATE org_keys SET retired_at = $2 WHERE org_id = $1 AND purpose = 'data' AND retired_at IS NULL",
        org.0,
        now
    )?;
    insert_key(tx, master, org, KeyPurpose::Data, next, now, rng).await?;
    Ok(next)
}

/// Re-wraps every stored key of every organisation from `old` to `new`, inside `tx`; returns how
/// many keys were re-wrapped. The keys themselves do not change, so no field is re-encrypted.
pub async fn rewrap_all(
    tx: &mut Tx,
    old: &MasterKey,
    new: &MasterKey,
    rng: &dyn SecureRng,
) -> Result<usize> {
    let rows: Vec<KeyRow> = on_tx!(tx, |c| sqlx::query_as(
        "SELECT org_id, purpose, version, wrapped, master_fingerprint, created_at, retired_at \
         FROM org_keys ORDER BY org_id, purpose, version"
    )
    .fetch_all(&mut *c)
    .await)?;
    let new_fingerprint = new.fingerprint();
    for row in &rows {
        let (purpose, version, key) = unwrap_row(old, row)?;
        let wrapped = new
            .wrap_data_key(&key, row.org_id, purpose, version, rng)
            .map_err(|e| StoreError::Config(format!("cannot wrap a key: {e}")))?;
        execute!(
            tx,
            "UPDATE org_keys SET wrapped = $4, master_fingerprint = $5 \
             WHERE org_id = $1 AND purpose = $2 AND version = $3",
            row.org_id,
            row.purpose.clone(),
            row.version,
            wrapped,
            new_fingerprint.clone()
        )?;
    }
    Ok(rows.len())
}
