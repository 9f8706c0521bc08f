//! One-time links: the first administrator's setup link, staff invitations, password resets.
//!
//! Only a hash of the link's secret is stored. A link is used by an atomic update that succeeds
//! once, before it expires and unless it was revoked; a second use finds nothing to update.

use chrono::{DateTime, Utc};
use haven_domain::{OrgId, UserId};
use uuid::Uuid;

use crate::{Db, Result, StoreError, Tx, execute, on_db};

/// What a link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    /// Creates the organisation's first administrator.
    Setup,
    /// Lets an invited person choose a password.
    Invite,
    /// Lets a person whose password an administrator reset choose a new one.
    Reset,
}

impl LinkPurpose {
    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            LinkPurpose::Setup => "setup",
            LinkPurpose::Invite => "invite",
            LinkPurpose::Reset => "reset",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        match s {
            "setup" => Ok(LinkPurpose::Setup),
            "invite" => Ok(LinkPurpose::Invite),
            "reset" => Ok(LinkPurpose::Reset),
            other => Err(StoreError::corrupt("one_time_links", "purpose", other)),
        }
    }
}

/// A one-time link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OneTimeLink {
    /// The organisation.
    pub org_id: OrgId,
    /// The link's id.
    pub id: Uuid,
    /// What it is for.
    pub purpose: LinkPurpose,
    /// The account it is for (none for the setup link).
    pub user_id: Option<UserId>,
    /// Who made it.
    pub created_by: Option<UserId>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// When it was used.
    pub used_at: Option<DateTime<Utc>>,
    /// When it was withdrawn.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Whether a link can still be used at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    /// It can.
    Usable,
    /// It was used already.
    Used,
    /// It expired.
    Expired,
    /// It was withdrawn.
    Revoked,
}

impl OneTimeLink {
    /// Whether the link can still be used.
    pub fn state(&self, now: DateTime<Utc>) -> LinkState {
        if self.used_at.is_some() {
            LinkState::Used
        } else if self.revoked_at.is_some() {
            LinkState::Revoked
        } else if self.expires_at <= now {
            LinkState::Expired
        } else {
            LinkState::Usable
        }
    }
}

#[derive(sqlx::FromRow)]
struct LinkRow {
    org_id: Uuid,
    id: Uuid,
    purpose: String,
    user_id: Option<Uuid>,
    created_by: Option<Uuid>,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    used_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

impl TryFrom<LinkRow> for OneTimeLink {
    type Error = StoreError;
    fn try_from(r: LinkRow) -> Result<Self> {
        Ok(OneTimeLink {
            org_id: OrgId(r.org_id),
            id: r.id,
            purpose: LinkPurpose::parse(&r.purpose)?,
            user_id: r.user_id.map(UserId),
            created_by: r.created_by.map(UserId),
            created_at: r.created_at,
            expires_at: r.expires_at,
            used_at: r.used_at,
            revoked_at: r.revoked_at,
        })
    }
}

/// Stores a new link; `token_hash` is the SHA-256 of the secret in the URL.
pub async fn insert(tx: &mut Tx, link: &OneTimeLink, token_hash: &[u8]) -> Result<()> {
    execute!(
        tx,
        "INSERT INTO one_time_links (org_id, id, purpose, token_hash, user_id, created_by, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        link.org_id.0,
        link.id,
        link.purpose.code(),
        token_hash,
        link.user_id.map(|u| u.0),
        link.created_by.map(|u| u.0),
        link.created_at,
        link.expires_at
    )?;
    Ok(())
}

/// The link whose secret hashes to `token_hash`, in whatever state.
pub async fn by_token(db: &Db, token_hash: &[u8]) -> Result<Option<OneTimeLink>> {
    let row: Option<LinkRow> = on_db!(db, |c| {
        sqlx::query_as(
        "SELECT org_id, id, purpose, user_id, created_by, created_at, expires_at, used_at, revoked_at \
         FROM one_time_links WHERE token_hash = $1"
    )
    .bind(token_hash)
    .fetch_optional(c)
    .await
    })?;
    row.map(OneTimeLink::try_from).transpose()
}

/// Uses a link: succeeds once, if the link is still usable at `now`. Returns whether it did.
pub async fn consume(tx: &mut Tx, org: OrgId, id: Uuid, now: DateTime<Utc>) -> Result<bool> {
    let n = execute!(
        tx,
        "UPDATE one_time_links SET used_at = $3 \
         WHERE org_id = $1 AND id = $2 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $3",
        org.0,
        id,
        now
    )?;
    Ok(n == 1)
}

/// Withdraws every unused link of a purpose (for one account, or all when `user` is `None`).
pub async fn revoke_unused(
    tx: &mut Tx,
    org: OrgId,
    purpose: LinkPurpose,
    user: Option<UserId>,
    now: DateTime<Utc>,
) -> Result<u64> {
    let n = execute!(
        tx,
        "UPDATE one_time_links SET revoked_at = $4 \
         WHERE org_id = $1 AND purpose = $2 AND used_at IS NULL AND revoked_at IS NULL \
         AND ($3 IS NULL OR user_id = $3)",
        org.0,
        purpose.code(),
        user.map(|u| u.0),
        now
    )?;
    Ok(n)
}
