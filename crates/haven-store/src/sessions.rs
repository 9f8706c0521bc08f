//! Server-side staff sessions.
//!
//! The browser holds only a random token; the database holds its SHA-256, so a copy of the
//! database cannot be replayed as a cookie. A session is `password` after the password was
//! checked and `complete` after the second factor.

use chrono::{DateTime, Utc};
use haven_domain::{OrgId, UserId};
use uuid::Uuid;

use crate::users::{User, UserRoleRow, one_user, user_role_columns, user_roles_join};
use crate::{Db, Result, StoreError, Tx, execute, on_db};

/// How far a session has come through sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionStage {
    /// The password was right; the second factor is still to come.
    Password,
    /// Fully signed in.
    Complete,
}

impl SessionStage {
    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            SessionStage::Password => "password",
            SessionStage::Complete => "complete",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        match s {
            "password" => Ok(SessionStage::Password),
            "complete" => Ok(SessionStage::Complete),
            other => Err(StoreError::corrupt("sessions", "stage", other)),
        }
    }
}

/// A session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The organisation.
    pub org_id: OrgId,
    /// The session's id (not its secret).
    pub id: Uuid,
    /// Whose session.
    pub user_id: UserId,
    /// How far sign-in has come.
    pub stage: SessionStage,
    /// The secret from which this session's CSRF tokens are made.
    pub csrf_secret: Vec<u8>,
    /// When it began.
    pub created_at: DateTime<Utc>,
    /// When it was last used.
    pub last_seen_at: DateTime<Utc>,
    /// When it ends whatever happens (absolute lifetime).
    pub expires_at: DateTime<Utc>,
    /// When it was ended.
    pub ended_at: Option<DateTime<Utc>>,
    /// Why it was ended (`signed_out`, `idle`, `password_changed`, `ended_by_admin`, …).
    pub end_reason: Option<String>,
    /// The address it began from.
    pub ip: Option<String>,
    /// The browser it began in.
    pub user_agent: Option<String>,
}

/// The columns [`SessionRow`] reads, of `sessions s`; those an account also has are renamed, so a
/// session can be read beside its account ([`with_user_by_token`]).
macro_rules! session_columns {
    () => {
        "s.org_id AS session_org_id, s.id AS session_id, s.user_id, s.stage, s.csrf_secret, \
         s.created_at AS session_created_at, s.last_seen_at, s.expires_at, s.ended_at, s.end_reason, s.ip, s.user_agent"
    };
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    #[sqlx(rename = "session_org_id")]
    org_id: Uuid,
    #[sqlx(rename = "session_id")]
    id: Uuid,
    user_id: Uuid,
    stage: String,
    csrf_secret: Vec<u8>,
    #[sqlx(rename = "session_created_at")]
    created_at: DateTime<Utc>,
    last_seen_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    ended_at: Option<DateTime<Utc>>,
    end_reason: Option<String>,
    ip: Option<String>,
    user_agent: Option<String>,
}

impl TryFrom<SessionRow> for Session {
    type Error = StoreError;
    fn try_from(r: SessionRow) -> Result<Self> {
        Ok(Session {
            org_id: OrgId(r.org_id),
            id: r.id,
            user_id: UserId(r.user_id),
            stage: SessionStage::parse(&r.stage)?,
            csrf_secret: r.csrf_secret,
            created_at: r.created_at,
            last_seen_at: r.last_seen_at,
            expires_at: r.expires_at,
            ended_at: r.ended_at,
            end_reason: r.end_reason,
            ip: r.ip,
            user_agent: r.user_agent,
        })
    }
}

/// Stores a new session under the hash of its token.
pub async fn insert(tx: &mut Tx, s: &Session, token_hash: &[u8]) -> Result<()> {
    execute!(
        tx,
        "INSERT INTO sessions (org_id, id, token_hash, user_id, stage, csrf_secret, created_at, last_seen_at, expires_at, ip, user_agent) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        s.org_id.0,
        s.id,
        token_hash,
        s.user_id.0,
        s.stage.code(),
        &s.csrf_secret,
        s.created_at,
        s.last_seen_at,
        s.expires_at,
        s.ip.as_deref(),
        s.user_agent.as_deref()
    )?;
    Ok(())
}

/// The session whose token hashes to `token_hash`, ended or not.
pub async fn by_token(db: &Db, token_hash: &[u8]) -> Result<Option<Session>> {
    let row: Option<SessionRow> = on_db!(db, |c| {
        sqlx::query_as(concat!(
            "SELECT ",
            session_columns!(),
            " FROM sessions s WHERE s.token_hash = $1"
        ))
        .bind(token_hash)
        .fetch_optional(c)
        .await
    })?;
    row.map(Session::try_from).transpose()
}

#[derive(sqlx::FromRow)]
struct SessionUserRow {
    #[sqlx(flatten)]
    session: SessionRow,
    #[sqlx(flatten)]
    account: UserRoleRow,
}

/// The session whose token hashes to `token_hash`, ended or not, with its account and the
/// account's roles, in one read: every signed-in request checks both. `None` when there is no
/// such session or its account is gone.
pub async fn with_user_by_token(db: &Db, token_hash: &[u8]) -> Result<Option<(Session, User)>> {
    let rows: Vec<SessionUserRow> = on_db!(db, |c| {
        sqlx::query_as(concat!(
            "SELECT ",
            session_columns!(),
            ", ",
            user_role_columns!(),
            " FROM sessions s JOIN users u ON u.org_id = s.org_id AND u.id = s.user_id ",
            user_roles_join!(),
            " WHERE s.token_hash = $1"
        ))
        .bind(token_hash)
        .fetch_all(c)
        .await
    })?;
    let (sessions, accounts): (Vec<SessionRow>, Vec<UserRoleRow>) =
        rows.into_iter().map(|r| (r.session, r.account)).unzip();
    let Some(session) = sessions.into_iter().next() else {
        return Ok(None);
    };
    let session = Session::try_from(session)?;
    Ok(one_user(accounts)?.map(|u| (session, u.user)))
}

/// Records that the session was used at `now`.
pub async fn touch(tx: &mut Tx, org: OrgId, id: Uuid, now: DateTime<Utc>) -> Result<()> {
    execute!(
        tx,
        "UPDATE sessions SET last_seen_at = $3 WHERE org_id = $1 AND id = $2 AND ended_at IS NULL",
        org.0,
        id,
        now
    )?;
    Ok(())
}

/// Moves a session to a further stage of sign-in.
pub async fn set_stage(tx: &mut Tx, org: OrgId, id: Uuid, stage: SessionStage) -> Result<()> {
    execute!(
        tx,
        "UPDATE sessions SET stage = $3 WHERE org_id = $1 AND id = $2",
        org.0,
        id,
        stage.code()
    )?;
    Ok(())
}

/// Ends one session; returns whether it was still open.
pub async fn end(
    tx: &mut Tx,
    org: OrgId,
    id: Uuid,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<bool> {
    let n = execute!(
        tx,
        "UPDATE sessions SET ended_at = $3, end_reason = $4 WHERE org_id = $1 AND id = $2 AND ended_at IS NULL",
        org.0,
        id,
        now,
        reason
    )?;
    Ok(n == 1)
}

/// Ends every open session of an account, except `keep` if given; returns how many.
pub async fn end_all_for_user(
    tx: &mut Tx,
    org: OrgId,
    user: UserId,
    keep: Option<Uuid>,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<u64> {
    let n = execute!(
        tx,
        "UPDATE sessions SET ended_at = $4, end_reason = $5 \
         WHERE org_id = $1 AND user_id = $2 AND ended_at IS NULL AND ($3 IS NULL OR id <> $3)",
        org.0,
        user.0,
        keep,
        now,
        reason
    )?;
    Ok(n)
}

/// The open sessions of an account (or of everyone, when `user` is `None`) that have not run out
/// by `now`, newest first.
pub async fn list_open(
    db: &Db,
    org: OrgId,
    user: Option<UserId>,
    now: DateTime<Utc>,
    idle_since: DateTime<Utc>,
) -> Result<Vec<Session>> {
    let rows: Vec<SessionRow> = on_db!(db, |c| {
        sqlx::query_as(concat!(
            "SELECT ",
            session_columns!(),
            " FROM sessions s WHERE s.org_id = $1 AND ($2 IS NULL OR s.user_id = $2) AND s.ended_at IS NULL \
             AND s.expires_at > $3 AND s.last_seen_at > $4 ORDER BY s.last_seen_at DESC"
        ))
    .bind(org.0)
    .bind(user.map(|u| u.0))
    .bind(now)
    .bind(idle_since)
    .fetch_all(c)
    .await
    })?;
    rows.into_iter().map(Session::try_from).collect()
}
