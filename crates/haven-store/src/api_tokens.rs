//! API tokens: bearer secrets with which a staff member's scripts call the JSON API.
//!
//! The token is shown once; only its SHA-256 is stored (it has 256 bits of entropy, so a plain
//! hash suffices, as for sessions). Each token carries the permissions it may use (a subset of its
//! owner's), whether it is read-only, and an expiry; revoking one keeps the row for the record.

use chrono::{DateTime, Utc};
use haven_domain::{OrgId, UserId};
use uuid::Uuid;

use crate::{Db, Result, Tx, execute, on_db};

/// A stored API token (without its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    /// The organisation.
    pub org_id: OrgId,
    /// The token's id.
    pub id: Uuid,
    /// Whose token.
    pub user_id: UserId,
    /// Its owner's name for it.
    pub name: String,
    /// Permission codes it may use, separated by spaces.
    pub scopes: String,
    /// Whether it may only read (GET and HEAD).
    pub read_only: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// When it was last used (to the minute).
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct Row {
    org_id: Uuid,
    id: Uuid,
    user_id: Uuid,
    name: String,
    scopes: String,
    read_only: bool,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

impl From<Row> for ApiToken {
    fn from(r: Row) -> Self {
        ApiToken {
            org_id: OrgId(r.org_id),
            id: r.id,
            user_id: UserId(r.user_id),
            name: r.name,
            scopes: r.scopes,
            read_only: r.read_only,
            created_at: r.created_at,
            expires_at: r.expires_at,
            last_used_at: r.last_used_at,
            revoked_at: r.revoked_at,
        }
    }
}

/// Stores a new token under the hash of its secret.
pub async fn insert(tx: &mut Tx, t: &ApiToken, token_hash: &[u8]) -> Result<()> {
    execute!(
        tx,
        "INSERT INTO api_tokens (org_id, id, user_id, name, token_hash, scopes, read_only, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        t.org_id.0,
        t.id,
        t.user_id.0,
        t.name.as_str(),
        token_hash,
        t.scopes.as_str(),
        t.read_only,
        t.created_at,
        t.expires_at
    )?;
    Ok(())
}

/// The token whose secret hashes to `token_hash`, revoked or not.
pub async fn by_hash(db: &Db, token_hash: &[u8]) -> Result<Option<ApiToken>> {
    let row: Option<Row> = on_db!(db, |c| {
        sqlx::query_as(
        "SELECT org_id, id, user_id, name, scopes, read_only, created_at, expires_at, last_used_at, revoked_at \
         FROM api_tokens WHERE token_hash = $1"
    )
    .bind(token_hash)
    .fetch_optional(c)
    .await
    })?;
    Ok(row.map(ApiToken::from))
}

/// An account's tokens, newest first.
pub async fn list_for_user(db: &Db, org: OrgId, user: UserId) -> Result<Vec<ApiToken>> {
    let rows: Vec<Row> = on_db!(db, |c| {
        sqlx::query_as(
        "SELECT org_id, id, user_id, name, scopes, read_only, created_at, expires_at, last_used_at, revoked_at \
         FROM api_tokens WHERE org_id = $1 AND user_id = $2 ORDER BY created_at DESC, id DESC"
    )
    .bind(org.0)
    .bind(user.0)
    .fetch_all(c)
    .await
    })?;
    Ok(rows.into_iter().map(ApiToken::from).collect())
}

/// Revokes one of `user`'s tokens; returns `false` when no such unrevoked token is theirs.
pub async fn revoke(
    tx: &mut Tx,
    org: OrgId,
    user: UserId,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<bool> {
    let n = execute!(
        tx,
        "UPDATE api_tokens SET revoked_at = $4 WHERE org_id = $1 AND user_id = $2 AND id = $3 AND revoked_at IS NULL",
        org.0,
        user.0,
        id,
        now
    )?;
    Ok(n == 1)
}

/// Records that a token was used at `now`.
pub async fn touch(tx: &mut Tx, org: OrgId, id: Uuid, now: DateTime<Utc>) -> Result<()> {
    execute!(
        tx,
        "UPDATE api_tokens SET last_used_at = $3 WHERE org_id = $1 AND id = $2",
        org.0,
        id,
        now
    )?;
    Ok(())
}
