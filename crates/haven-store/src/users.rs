//! Staff accounts and their roles.

use chrono::{DateTime, Utc};
use haven_domain::validate::{DisplayName, EmailAddress};
use haven_domain::{Language, OrgId, Role, UserId};
use uuid::Uuid;

use crate::error::duplicate_as;
use crate::{Db, Result, StoreError, Tx, execute, on_db, on_tx};

/// Where an account stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserStatus {
    /// Invited; no password chosen yet.
    Invited,
    /// May sign in.
    Active,
    /// May not sign in; every session ended.
    Disabled,
}

impl UserStatus {
    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            UserStatus::Invited => "invited",
            UserStatus::Active => "active",
            UserStatus::Disabled => "disabled",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        match s {
            "invited" => Ok(UserStatus::Invited),
            "active" => Ok(UserStatus::Active),
            "disabled" => Ok(UserStatus::Disabled),
            other => Err(StoreError::corrupt("users", "status", other)),
        }
    }
}

/// A staff account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The organisation.
    pub org_id: OrgId,
    /// The account.
    pub id: UserId,
    /// The sign-in address.
    pub email: String,
    /// The name colleagues see.
    pub display_name: String,
    /// The language of the staff application for this person.
    pub language: Language,
    /// Where the account stands.
    pub status: UserStatus,
    /// Roles, sorted.
    pub roles: Vec<Role>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl User {
    /// Whether the account holds `role`.
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

/// An account with its password hash, for signing in.
#[derive(Debug, Clone)]
pub struct UserCredentials {
    /// The account.
    pub user: User,
    /// The Argon2id hash (PHC string), if a password was chosen.
    pub password_hash: Option<String>,
}

/// A new account.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// The organisation.
    pub org_id: OrgId,
    /// The new account's id.
    pub id: UserId,
    /// The sign-in address.
    pub email: EmailAddress,
    /// The name colleagues see.
    pub display_name: DisplayName,
    /// The language of the staff application.
    pub language: Language,
    /// Roles.
    pub roles: Vec<Role>,
    /// `Invited` until the person chooses a password, `Active` when created with one.
    pub status: UserStatus,
    /// The password hash, for accounts created active.
    pub password_hash: Option<String>,
    /// Now.
    pub now: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct UserRow {
    org_id: Uuid,
    id: Uuid,
    email: String,
    display_name: String,
    language: String,
    status: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    password_hash: Option<String>,
}

impl UserRow {
    fn into_user(self, roles: Vec<Role>) -> Result<UserCredentials> {
        Ok(UserCredentials {
            user: User {
                org_id: OrgId(self.org_id),
                id: UserId(self.id),
                email: self.email,
                display_name: self.display_name,
                language: self
                    .language
                    .parse()
                    .map_err(|e| StoreError::corrupt("users", "language", e))?,
                status: UserStatus::parse(&self.status)?,
                roles,
                created_at: self.created_at,
                updated_at: self.updated_at,
            },
            password_hash: self.password_hash,
        })
    }
}

fn parse_roles(rows: Vec<(Uuid, String)>) -> Result<Vec<(Uuid, Role)>> {
    rows.into_iter()
        .map(|(u, r)| {
            r.parse::<Role>()
                .map(|role| (u, role))
                .map_err(|e| StoreError::corrupt("user_roles", "role", e))
        })
        .collect()
}

/// Adds an account with its roles.
pub async fn insert(tx: &mut Tx, new: &NewUser) -> Result<()> {
    on_tx!(tx, |c| {
        sqlx::query(
            "INSERT INTO users (org_id, id, email, email_key, display_name, language, password_hash, status, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
        )
        .bind(new.org_id.0)
        .bind(new.id.0)
        .bind(new.email.as_str())
        .bind(new.email.canonical())
        .bind(new.display_name.as_str())
        .bind(new.language.code())
        .bind(new.password_hash.as_deref())
        .bind(new.status.code())
        .bind(new.now)
        .execute(&mut *c)
        .await
        .map_err(duplicate_as("email"))?;
        for role in &new.roles {
            sqlx::query("INSERT INTO user_roles (org_id, user_id, role) VALUES ($1, $2, $3)")
                .bind(new.org_id.0)
                .bind(new.id.0)
                .bind(role.code())
                .execute(&mut *c)
                .await?;
        }
        Ok::<(), StoreError>(())
    })
}

/// Replaces an account's roles.
pub async fn set_roles(
    tx: &mut Tx,
    org: OrgId,
    id: UserId,
    roles: &[Role],
    now: DateTime<Utc>,
) -> Result<()> {
    on_tx!(tx, |c| {
        sqlx::query("DELETE FROM user_roles WHERE org_id = $1 AND user_id = $2")
            .bind(org.0)
            .bind(id.0)
            .execute(&mut *c)
            .await?;
        for role in roles {
            sqlx::query("INSERT INTO user_roles (org_id, user_id, role) VALUES ($1, $2, $3)")
                .bind(org.0)
                .bind(id.0)
                .bind(role.code())
                .execute(&mut *c)
                .await?;
        }
        sqlx::query("UPDATE users SET updated_at = $3 WHERE org_id = $1 AND id = $2")
            .bind(org.0)
            .bind(id.0)
            .bind(now)
            .execute(&mut *c)
            .await?;
        Ok::<(), StoreError>(())
    })
}

/// Sets the password hash and makes the account active.
pub async fn set_password(
    tx: &mut Tx,
    org: OrgId,
    id: UserId,
    hash: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let n = execute!(
        tx,
        "UPDATE users SET password_hash = $3, status = CASE WHEN status = 'invited' THEN 'active' ELSE status END, updated_at = $4 \
         WHERE org_id = $1 AND id = $2",
        org.0,
        id.0,
        hash,
        now
    )?;
    if n == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

/// Sets where an account stands.
pub async fn set_status(
    tx: &mut Tx,
    org: OrgId,
    id: UserId,
    status: UserStatus,
    now: DateTime<Utc>,
) -> Result<()> {
    let n = execute!(
        tx,
        "UPDATE users SET status = $3, updated_at = $4 WHERE org_id = $1 AND id = $2",
        org.0,
        id.0,
        status.code(),
        now
    )?;
    if n == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

/// Sets an account's language.
pub async fn set_language(
    tx: &mut Tx,
    org: OrgId,
    id: UserId,
    language: Language,
    now: DateTime<Utc>,
) -> Result<()> {
    execute!(
        tx,
        "UPDATE users SET language = $3, updated_at = $4 WHERE org_id = $1 AND id = $2",
        org.0,
        id.0,
        language.code(),
        now
    )?;
    Ok(())
}

/// An account and its roles in one read (one row per role, one row with no role for an account
/// without any): every request's session check reads it, so it is one round trip, not two.
macro_rules! user_with_roles {
    ($filter:literal) => {
        concat!(
            "SELECT ",
            $crate::users::user_role_columns!(),
            " FROM users u ",
            $crate::users::user_roles_join!(),
            " ",
            $filter
        )
    };
}

/// The columns [`UserRoleRow`] reads, of `users u` and `user_roles r`.
macro_rules! user_role_columns {
    () => {
        "u.org_id, u.id, u.email, u.display_name, u.language, u.status, u.created_at, u.updated_at, \
         u.password_hash, r.role"
    };
}

/// The account's roles beside `users u`, one row each (one row with no role when it has none).
macro_rules! user_roles_join {
    () => {
        "LEFT JOIN user_roles r ON r.org_id = u.org_id AND r.user_id = u.id"
    };
}

pub(crate) use {user_role_columns, user_roles_join};

/// One row of an account read with its roles.
#[derive(sqlx::FromRow)]
pub(crate) struct UserRoleRow {
    #[sqlx(flatten)]
    user: UserRow,
    role: Option<String>,
}

/// The account in rows of [`UserRoleRow`], with every role it has.
pub(crate) fn one_user(
    rows: impl IntoIterator<Item = UserRoleRow>,
) -> Result<Option<UserCredentials>> {
    let mut roles = Vec::new();
    let mut account = None;
    for row in rows {
        if let Some(role) = row.role {
            roles.push(
                role.parse::<Role>()
                    .map_err(|e| StoreError::corrupt("user_roles", "role", e))?,
            );
        }
        account.get_or_insert(row.user);
    }
    roles.sort();
    account.map(|a| a.into_user(roles)).transpose()
}

/// An account by id, with its password hash.
pub async fn credentials(db: &Db, org: OrgId, id: UserId) -> Result<Option<UserCredentials>> {
    let rows: Vec<UserRoleRow> = on_db!(db, |c| {
        sqlx::query_as(user_with_roles!("WHERE u.org_id = $1 AND u.id = $2"))
            .bind(org.0)
            .bind(id.0)
            .fetch_all(c)
            .await
    })?;
    one_user(rows)
}

/// An account by id.
pub async fn get(db: &Db, org: OrgId, id: UserId) -> Result<Option<User>> {
    Ok(credentials(db, org, id).await?.map(|c| c.user))
}

/// An account by sign-in address (compared without regard to case), with its password hash.
pub async fn by_email(db: &Db, org: OrgId, email: &str) -> Result<Option<UserCredentials>> {
    let rows: Vec<UserRoleRow> = on_db!(db, |c| {
        sqlx::query_as(user_with_roles!("WHERE u.org_id = $1 AND u.email_key = $2"))
            .bind(org.0)
            .bind(email.trim().to_lowercase())
            .fetch_all(c)
            .await
    })?;
    one_user(rows)
}

/// Every account of the organisation, by name.
pub async fn list(db: &Db, org: OrgId) -> Result<Vec<User>> {
    let rows: Vec<UserRow> = on_db!(db, |c| {
        sqlx::query_as(
        "SELECT org_id, id, email, display_name, language, status, created_at, updated_at, NULL AS password_hash FROM users \
         WHERE org_id = $1 ORDER BY display_name, email"
    )
    .bind(org.0)
    .fetch_all(c)
    .await
    })?;
    let roles: Vec<(Uuid, String)> = on_db!(db, |c| sqlx::query_as(
        "SELECT user_id, role FROM user_roles WHERE org_id = $1"
    )
    .bind(org.0)
    .fetch_all(c)
    .await)?;
    let roles = parse_roles(roles)?;
    rows.into_iter()
        .map(|row| {
            let mut mine: Vec<Role> = roles
                .iter()
                .filter(|(u, _)| *u == row.id)
                .map(|(_, r)| *r)
                .collect();
            mine.sort();
            row.into_user(mine).map(|c| c.user)
        })
        .collect()
}

/// How many active accounts hold the admin role.
pub async fn count_active_admins(db: &Db, org: OrgId) -> Result<i64> {
    Ok(on_db!(db, |c| {
        sqlx::query_scalar(
        "SELECT count(*) FROM users u JOIN user_roles r ON r.org_id = u.org_id AND r.user_id = u.id \
         WHERE u.org_id = $1 AND u.status = 'active' AND r.role = 'admin'"
    )
    .bind(org.0)
    .fetch_one(c)
    .await
    })?)
}

/// How many accounts the organisation has, in any state.
pub async fn count(db: &Db, org: OrgId) -> Result<i64> {
    Ok(on_db!(db, |c| sqlx::query_scalar(
        "SELECT count(*) FROM users WHERE org_id = $1"
    )
    .bind(org.0)
    .fetch_one(c)
    .await)?)
}

/// Where an account stands with failed sign-ins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SignInThrottle {
    /// Consecutive failed sign-ins (password or second factor) since the last success.
    pub failed_sign_ins: i64,
    /// Until when the account refuses sign-ins, if it was locked.
    pub locked_until: Option<DateTime<Utc>>,
}

impl SignInThrottle {
    /// Whether the account is locked at `now`.
    pub fn locked_at(&self, now: DateTime<Utc>) -> bool {
        self.locked_until.is_some_and(|t| t > now)
    }
}

/// The failed sign-ins and lock of an account (defaults when the account does not exist).
pub async fn sign_in_throttle(db: &Db, org: OrgId, id: UserId) -> Result<SignInThrottle> {
    let row: Option<(i64, Option<DateTime<Utc>>)> = on_db!(db, |c| sqlx::query_as(
        "SELECT failed_sign_ins, locked_until FROM users WHERE org_id = $1 AND id = $2"
    )
    .bind(org.0)
    .bind(id.0)
    .fetch_optional(c)
    .await)?;
    Ok(row
        .map(|(failed_sign_ins, locked_until)| SignInThrottle {
            failed_sign_ins,
            locked_until,
        })
        .unwrap_or_default())
}

/// Counts one more failed sign-in; returns the number of consecutive failures.
pub async fn record_failed_sign_in(tx: &mut Tx, org: OrgId, id: UserId) -> Result<i64> {
    let n: Option<i64> = on_tx!(tx, |c| {
        sqlx::query_scalar(
        "UPDATE users SET failed_sign_ins = failed_sign_ins + 1 WHERE org_id = $1 AND id = $2 RETURNING failed_sign_ins"
    )
    .bind(org.0)
    .bind(id.0)
    .fetch_optional(&mut *c)
    .await
    })?;
    n.ok_or(StoreError::NotFound)
}

/// Locks an account until `until`.
pub async fn lock(tx: &mut Tx, org: OrgId, id: UserId, until: DateTime<Utc>) -> Result<()> {
    execute!(
        tx,
        "UPDATE users SET locked_until = $3 WHERE org_id = $1 AND id = $2",
        org.0,
        id.0,
        until
    )?;
    Ok(())
}

/// Forgets the failed sign-ins and any lock (after a successful sign-in, or an administrator's
/// unlock); returns whether the account was locked at `now`.
pub async fn clear_failed_sign_ins(
    tx: &mut Tx,
    org: OrgId,
    id: UserId,
    now: DateTime<Utc>,
) -> Result<bool> {
    let locked_until: Option<Option<DateTime<Utc>>> = on_tx!(tx, |c| sqlx::query_scalar(
        "SELECT locked_until FROM users WHERE org_id = $1 AND id = $2"
    )
    .bind(org.0)
    .bind(id.0)
    .fetch_optional(&mut *c)
    .await)?;
    execute!(
        tx,
        "UPDATE users SET failed_sign_ins = 0, locked_until = NULL WHERE org_id = $1 AND id = $2",
        org.0,
        id.0
    )?;
    Ok(locked_until.flatten().is_some_and(|t| t > now))
}

/// The accounts locked at `now`.
pub async fn locked(db: &Db, org: OrgId, now: DateTime<Utc>) -> Result<Vec<UserId>> {
    let ids: Vec<Uuid> = on_db!(db, |c| {
        sqlx::query_scalar(
        "SELECT id FROM users WHERE org_id = $1 AND locked_until IS NOT NULL AND locked_until > $2"
    )
    .bind(org.0)
    .bind(now)
    .fetch_all(c)
    .await
    })?;
    Ok(ids.into_iter().map(UserId).collect())
}
