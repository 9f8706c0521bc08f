//! The TOTP second factor of staff accounts and their one-time recovery codes.
//!
//! The secret is stored sealed (the web layer encrypts it; this module only moves bytes). Each
//! time step is accepted once: [`accept_step`] moves the last accepted step forward in one
//! conditional UPDATE, so two requests racing with the same code cannot both win. Recovery codes
//! are stored as keyed hashes and spent with a conditional UPDATE for the same reason.

use chrono::{DateTime, Utc};
use haven_domain::{OrgId, UserId};
use uuid::Uuid;

use crate::{Db, Result, StoreError, Tx, execute, on_db, on_tx};

/// An account's second factor as stored.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SecondFactor {
    /// The sealed TOTP secret: pending while `enabled_at` is `None`.
    pub sealed_secret: Option<Vec<u8>>,
    /// When enrolment was confirmed.
    pub enabled_at: Option<DateTime<Utc>>,
    /// The last time step accepted.
    pub last_step: Option<i64>,
    /// The sign-in (session) a pending secret was made for and shown to.
    pub pending_session: Option<Uuid>,
}

impl SecondFactor {
    /// Whether the factor is set up.
    pub fn enabled(&self) -> bool {
        self.enabled_at.is_some() && self.sealed_secret.is_some()
    }
}

/// The stored columns: sealed secret, enabled at, last step, pending session.
type FactorRow = (
    Option<Vec<u8>>,
    Option<DateTime<Utc>>,
    Option<i64>,
    Option<Uuid>,
);

/// The second factor of an account (empty when the account does not exist).
pub async fn get(db: &Db, org: OrgId, user: UserId) -> Result<SecondFactor> {
    let row: Option<FactorRow> = on_db!(db, |c| {
        sqlx::query_as(
            "SELECT totp_secret, totp_enabled_at, totp_last_step, totp_pending_session FROM users WHERE org_id = $1 AND id = $2"
        )
        .bind(org.0)
        .bind(user.0)
        .fetch_optional(c)
        .await
    })?;
    Ok(row
        .map(
            |(sealed_secret, enabled_at, last_step, pending_session)| SecondFactor {
                sealed_secret,
                enabled_at,
                last_step,
                pending_session,
            },
        )
        .unwrap_or_default())
}

/// Stores a pending secret for enrolment, made for and shown to the sign-in `session` (replacing
/// one made for another sign-in); refuses (returns `false`) when a factor is enabled or this
/// sign-in already has one.
pub async fn set_pending(
    tx: &mut Tx,
    org: OrgId,
    user: UserId,
    session: Uuid,
    sealed: &[u8],
) -> Result<bool> {
    let n = execute!(
        tx,
        "UPDATE users SET totp_secret = $4, totp_pending_session = $3, totp_last_step = NULL \
         WHERE org_id = $1 AND id = $2 AND totp_enabled_at IS NULL \
         AND (totp_secret IS NULL OR totp_pending_session IS NULL OR totp_pending_session <> $3)",
        org.0,
        user.0,
        session,
        sealed
    )?;
    Ok(n == 1)
}

/// Confirms enrolment of the secret pending for the sign-in `session` with the step of the first
/// code; returns `false` when nothing is pending for that sign-in.
pub async fn enable(
    tx: &mut Tx,
    org: OrgId,
    user: UserId,
    session: Uuid,
    step: i64,
    now: DateTime<Utc>,
) -> Result<bool> {
    let n = execute!(
        tx,
        "UPDATE users SET totp_enabled_at = $3, totp_last_step = $4, totp_pending_session = NULL \
         WHERE org_id = $1 AND id = $2 AND totp_enabled_at IS NULL AND totp_secret IS NOT NULL \
         AND totp_pending_session = $5",
        org.0,
        user.0,
        now,
        step,
        session
    )?;
    Ok(n == 1)
}

/// Accepts a code's time step if it is later than every step accepted before; returns `false`
/// for a replayed or older step.
pub async fn accept_step(tx: &mut Tx, org: OrgId, user: UserId, step: i64) -> Result<bool> {
    let n = execute!(
        tx,
        "UPDATE users SET totp_last_step = $3 \
         WHERE org_id = $1 AND id = $2 AND totp_enabled_at IS NOT NULL \
         AND (totp_last_step IS NULL OR totp_last_step < $3)",
        org.0,
        user.0,
        step
    )?;
    Ok(n == 1)
}

/// Removes the second factor and every recovery code; the person enrols again at next sign-in.
pub async fn reset(tx: &mut Tx, org: OrgId, user: UserId) -> Result<()> {
    let n = execute!(
        tx,
        "UPDATE users SET totp_secret = NULL, totp_enabled_at = NULL, totp_last_step = NULL, \
         totp_pending_session = NULL WHERE org_id = $1 AND id = $2",
        org.0,
        user.0
    )?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    execute!(
        tx,
        "DELETE FROM recovery_codes WHERE org_id = $1 AND user_id = $2",
        org.0,
        user.0
    )?;
    Ok(())
}

/// Replaces an account's recovery codes with new ones (given as keyed hashes).
pub async fn replace_recovery_codes(
    tx: &mut Tx,
    org: OrgId,
    user: UserId,
    hashes: &[Vec<u8>],
    now: DateTime<Utc>,
) -> Result<()> {
    execute!(
        tx,
        "DELETE FROM recovery_codes WHERE org_id = $1 AND user_id = $2",
        org.0,
        user.0
    )?;
    for h in hashes {
        execute!(
            tx,
            "INSERT INTO recovery_codes (org_id, user_id, code_hash, created_at) VALUES ($1, $2, $3, $4)",
            org.0,
            user.0,
            h.as_slice(),
            now
        )?;
    }
    Ok(())
}

/// Spends a recovery code; returns `false` when it is unknown or already used.
pub async fn use_recovery_code(
    tx: &mut Tx,
    org: OrgId,
    user: UserId,
    hash: &[u8],
    now: DateTime<Utc>,
) -> Result<bool> {
    let n = execute!(
        tx,
        "UPDATE recovery_codes SET used_at = $4 \
         WHERE org_id = $1 AND user_id = $2 AND code_hash = $3 AND used_at IS NULL",
        org.0,
        user.0,
        hash,
        now
    )?;
    Ok(n == 1)
}

/// How many unused recovery codes an account has.
pub async fn recovery_codes_left(db: &Db, org: OrgId, user: UserId) -> Result<i64> {
    Ok(on_db!(db, |c| sqlx::query_scalar(
        "SELECT count(*) FROM recovery_codes WHERE org_id = $1 AND user_id = $2 AND used_at IS NULL"
    )
    .bind(org.0)
    .bind(user.0)
    .fetch_one(c)
    .await)?)
}

/// How many unused recovery codes an account has, inside a transaction.
pub async fn recovery_codes_left_tx(tx: &mut Tx, org: OrgId, user: UserId) -> Result<i64> {
    Ok(on_tx!(tx, |c| sqlx::query_scalar(
        "SELECT count(*) FROM recovery_codes WHERE org_id = $1 AND user_id = $2 AND used_at IS NULL"
    )
    .bind(org.0)
    .bind(user.0)
    .fetch_one(&mut *c)
    .await)?)
}
