//! Staff accounts, for administrators: invite, change roles, disable, reset, end sessions.

use askama::Template;
use axum::Form;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::TimeDelta;
use haven_domain::validate::{DisplayName, EmailAddress};
use haven_domain::{Language, Role, UserId, ValidationErrors};
use haven_store::StoreError;
use haven_store::links::LinkPurpose;
use haven_store::second_factor;
use haven_store::sessions::{self, Session};
use haven_store::users::{self, NewUser, User, UserStatus};
use uuid::Uuid;

use super::access::issue_link;
use super::see_other;
use crate::error::{AppError, AppResult};
use crate::ui::{Ctx, FormErrors, Page, render};
use haven_store::audit::Outcome;
use serde_json::json;

/// A user as a row of the list.
pub struct UserRow {
    id: String,
    display_name: String,
    email: String,
    roles: String,
    status: String,
    status_code: &'static str,
    locked: bool,
}

#[derive(Template)]
#[template(path = "staff/users.html")]
struct UsersPage<'a> {
    page: Page<'a>,
    users: Vec<UserRow>,
}

fn role_names(ctx: &Ctx, roles: &[Role]) -> String {
    let tr = ctx.tr();
    roles
        .iter()
        .map(|r| tr.t(&format!("role-{}", r.code())))
        .collect::<Vec<_>>()
        .join(", ")
}

/// GET /staff/users.
pub async fn list(ctx: Ctx) -> AppResult<Response> {
    let me = ctx.user()?;
    let tr = ctx.tr();
    let locked = users::locked(&ctx.state.db, me.org(), ctx.state.now()).await?;
    let users = users::list(&ctx.state.db, me.org())
        .await?
        .into_iter()
        .map(|u| UserRow {
            locked: locked.contains(&u.id),
            id: u.id.to_string(),
            display_name: u.display_name.clone(),
            email: u.email.clone(),
            roles: role_names(&ctx, &u.roles),
            status: tr.t(&format!("status-{}", u.status.code())),
            status_code: u.status.code(),
        })
        .collect();
    render(&UsersPage {
        page: ctx.page("users-title"),
        users,
    })
}

/// A role with a checkbox.
pub struct RoleChoice {
    code: &'static str,
    label: String,
    checked: bool,
}

fn role_choices(ctx: &Ctx, selected: &[Role]) -> Vec<RoleChoice> {
    let tr = ctx.tr();
    Role::ALL
        .into_iter()
        .map(|r| RoleChoice {
            code: r.code(),
            label: tr.t(&format!("role-{}", r.code())),
            checked: selected.contains(&r),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "staff/user_new.html")]
struct NewUserPage<'a> {
    page: Page<'a>,
    display_name: String,
    email: String,
    language: String,
    languages: Vec<(&'static str, &'static str)>,
    roles: Vec<RoleChoice>,
    errors: FormErrors,
}

fn languages() -> Vec<(&'static str, &'static str)> {
    Language::ALL
        .into_iter()
        .map(|l| (l.code(), l.native_name()))
        .collect()
}

/// GET /staff/users/new.
pub async fn new_form(ctx: Ctx) -> AppResult<Response> {
    render(&NewUserPage {
        page: ctx.page("user-new-title"),
        display_name: String::new(),
        email: String::new(),
        language: ctx.state.settings.org.language.code().to_owned(),
        languages: languages(),
        roles: role_choices(&ctx, &[]),
        errors: FormErrors::none(),
    })
}

/// Roles from a form: every `role` field.
fn parse_roles(pairs: &[(String, String)]) -> Result<Vec<Role>, ValidationErrors> {
    let mut roles = Vec::new();
    let mut errors = ValidationErrors::new();
    for (k, v) in pairs {
        if k == "role" {
            match v.parse::<Role>() {
                Ok(r) if !roles.contains(&r) => roles.push(r),
                Ok(_) => {}
                Err(_) => errors.add("roles", "role-unknown"),
            }
        }
    }
    if roles.is_empty() && errors.is_empty() {
        errors.add("roles", "roles-required");
    }
    roles.sort();
    errors.into_result(roles)
}

fn field<'a>(pairs: &'a [(String, String)], name: &str) -> &'a str {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

#[derive(Template)]
#[template(path = "staff/link_created.html")]
struct LinkCreated<'a> {
    page: Page<'a>,
    explanation: String,
    link: String,
    expires: String,
    back: String,
}

/// POST /staff/users/new: creates an invited account and shows its invitation link once.
pub async fn create(ctx: Ctx, Form(pairs): Form<Vec<(String, String)>>) -> AppResult<Response> {
    let me = ctx.user()?.clone();
    let state = ctx.state.clone();
    let mut errors = ValidationErrors::new();
    let name = DisplayName::parse("display_name", field(&pairs, "display_name"))
        .map_err(|e| errors.0.push(e))
        .ok();
    let email = EmailAddress::parse("email", field(&pairs, "email"))
        .map_err(|e| errors.0.push(e))
        .ok();
    let language = field(&pairs, "language")
        .parse::<Language>()
        .map_err(|_| errors.add("language", "language-unknown"))
        .ok();
    let roles = parse_roles(&pairs).map_err(|e| errors.0.extend(e.0)).ok();
    let mut tx = state.db.begin().await?;
    let now = state.now();
    let id: UserId = state.ids().id();
    if let (Some(name), Some(email), Some(language), Some(roles)) =
        (name, email, language, roles.clone())
        && errors.is_empty()
    {
        let new = NewUser {
            org_id: me.org(),
            id,
            email,
            display_name: name,
            language,
            roles,
            status: UserStatus::Invited,
            password_hash: None,
            now,
        };
        match users::insert(&mut tx, &new).await {
            Ok(()) => {}
            Err(StoreError::Duplicate(_)) => errors.add("email", "email-taken"),
            Err(e) => return Err(e.into()),
        }
    }
    if !errors.is_empty() {
        drop(tx);
        let mut res = render(&NewUserPage {
            page: ctx.page("user-new-title"),
            display_name: field(&pairs, "display_name").to_owned(),
            email: field(&pairs, "email").to_owned(),
            language: field(&pairs, "language").to_owned(),
            languages: languages(),
            roles: role_choices(&ctx, &roles.unwrap_or_default()),
            errors: FormErrors::from_validation(&ctx.tr(), &errors),
        })?;
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(res);
    }
    let link = issue_link(
        &state,
        &mut tx,
        me.org(),
        LinkPurpose::Invite,
        Some(id),
        Some(me.user.id),
    )
    .await?;
    ctx.audit(&mut tx, me.org(), ctx.event("user.invited", Outcome::Ok).target("user", id.0).details(json!({ "roles": roles.unwrap_or_default().iter().map(|r| r.code()).collect::<Vec<_>>() }))).await?;
    tx.commit().await?;
    link_created(&ctx, "invite-created", link, &format!("/staff/users/{id}"))
}

fn link_created(ctx: &Ctx, explanation: &str, link: String, back: &str) -> AppResult<Response> {
    let expires = ctx.time(
        ctx.state.now()
            + TimeDelta::hours(i64::from(ctx.state.settings.session.link_lifetime_hours)),
    );
    render(&LinkCreated {
        page: ctx.page("link-created-title"),
        explanation: ctx.tr().t(explanation),
        link,
        expires,
        back: back.to_owned(),
    })
}

/// A session as a row.
pub struct SessionRow {
    /// The session's id.
    pub id: String,
    /// When it began.
    pub started: String,
    /// When it was last used.
    pub last_seen: String,
    /// Where from.
    pub ip: String,
    /// Which browser.
    pub browser: String,
    /// Whether it is the session of this request.
    pub current: bool,
}

/// Sessions as rows for a page.
pub fn session_rows(ctx: &Ctx, sessions: &[Session]) -> Vec<SessionRow> {
    let current = ctx
        .user
        .as_ref()
        .and_then(|u| u.session.as_ref())
        .map(|s| s.id);
    sessions
        .iter()
        .map(|s| SessionRow {
            id: s.id.to_string(),
            started: ctx.time(s.created_at),
            last_seen: ctx.time(s.last_seen_at),
            ip: s.ip.clone().unwrap_or_default(),
            browser: s.user_agent.clone().unwrap_or_default(),
            current: Some(s.id) == current,
        })
        .collect()
}

#[derive(Template)]
#[template(path = "staff/user.html")]
struct UserPage<'a> {
    page: Page<'a>,
    user_id: String,
    display_name: String,
    email: String,
    status: String,
    status_code: &'static str,
    created: String,
    roles: Vec<RoleChoice>,
    sessions: Vec<SessionRow>,
    session_action_base: String,
    is_me: bool,
    errors: FormErrors,
    notice: Option<String>,
    rows: Vec<super::audit::AuditRow>,
    can_audit: bool,
    factor_since: Option<String>,
    locked_until: Option<String>,
}

/// How many of an account's latest audit entries its page shows.
const RECENT_ACTIVITY: i64 = 20;

async fn load_user(ctx: &Ctx, id: &str) -> AppResult<User> {
    let me = ctx.user()?;
    let id: UserId = id.parse().map_err(|_| AppError::NotFound)?;
    users::get(&ctx.state.db, me.org(), id)
        .await?
        .ok_or(AppError::NotFound)
}

async fn user_page(
    ctx: &Ctx,
    user: &User,
    errors: FormErrors,
    notice: Option<String>,
) -> AppResult<Response> {
    let me = ctx.user()?;
    let now = ctx.state.now();
    let idle_since =
        now - TimeDelta::minutes(i64::from(ctx.state.settings.session.idle_timeout_minutes));
    let open = sessions::list_open(&ctx.state.db, me.org(), Some(user.id), now, idle_since).await?;
    let activity = haven_store::audit::list(
        &ctx.state.db,
        me.org(),
        &haven_store::audit::AuditFilter {
            actor: Some(user.id),
            ..Default::default()
        },
        RECENT_ACTIVITY,
    )
    .await?;
    let names = super::audit::staff_names(ctx).await?;
    let status = errors.any();
    let factor = second_factor::get(&ctx.state.db, me.org(), user.id).await?;
    let throttle = users::sign_in_throttle(&ctx.state.db, me.org(), user.id).await?;
    let mut res = render(&UserPage {
        factor_since: factor
            .enabled()
            .then_some(factor.enabled_at)
            .flatten()
            .map(|t| ctx.time(t)),
        locked_until: throttle
            .locked_until
            .filter(|_| throttle.locked_at(now))
            .map(|t| ctx.time(t)),
        page: ctx.page("user-title"),
        user_id: user.id.to_string(),
        display_name: user.display_name.clone(),
        email: user.email.clone(),
        status: ctx.tr().t(&format!("status-{}", user.status.code())),
        status_code: user.status.code(),
        created: ctx.time(user.created_at),
        roles: role_choices(ctx, &user.roles),
        sessions: session_rows(ctx, &open),
        session_action_base: format!("/staff/users/{}/sessions", user.id),
        is_me: user.id == me.user.id,
        errors,
        notice,
        rows: super::audit::rows(ctx, &names, &activity),
        can_audit: me.actor().can(haven_domain::policy::Permission::ViewAudit),
    })?;
    if status {
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(res)
}

/// The query of a staff account's page.
#[derive(Debug, serde::Deserialize)]
pub struct UserQuery {
    done: Option<String>,
}

/// GET /staff/users/{id}.
pub async fn show(
    ctx: Ctx,
    Path(id): Path<String>,
    axum::extract::Query(q): axum::extract::Query<UserQuery>,
) -> AppResult<Response> {
    let user = load_user(&ctx, &id).await?;
    let notice = match q.done.as_deref() {
        Some("second_factor_reset") => Some(ctx.tr().t("user-second-factor-was-reset")),
        Some("unlocked") => Some(ctx.tr().t("user-was-unlocked")),
        _ => None,
    };
    user_page(&ctx, &user, FormErrors::none(), notice).await
}

/// POST /staff/users/{id}/reset-second-factor: removes the person's second factor and recovery
/// codes and ends all their sessions; at their next sign-in, after the password, they enrol again.
pub async fn reset_second_factor(ctx: Ctx, Path(id): Path<String>) -> AppResult<Response> {
    let user = load_user(&ctx, &id).await?;
    let me = ctx.user()?;
    let now = ctx.state.now();
    let mut tx = ctx.state.db.begin().await?;
    let ended = super::second_factor::reset(&mut tx, me.org(), user.id, now).await?;
    ctx.audit(
        &mut tx,
        me.org(),
        ctx.event("auth.second_factor_reset", Outcome::Ok)
            .target("user", user.id.0)
            .details(json!({ "sessions_ended": ended })),
    )
    .await?;
    tx.commit().await?;
    Ok(see_other(&format!(
        "/staff/users/{}?done=second_factor_reset",
        user.id
    )))
}

/// POST /staff/users/{id}/unlock: lifts a lock caused by failed sign-ins.
pub async fn unlock(ctx: Ctx, Path(id): Path<String>) -> AppResult<Response> {
    let user = load_user(&ctx, &id).await?;
    let me = ctx.user()?;
    let mut tx = ctx.state.db.begin().await?;
    let was_locked =
        users::clear_failed_sign_ins(&mut tx, me.org(), user.id, ctx.state.now()).await?;
    ctx.audit(
        &mut tx,
        me.org(),
        ctx.event("auth.account_unlocked", Outcome::Ok)
            .target("user", user.id.0)
            .details(json!({ "was_locked": was_locked })),
    )
    .await?;
    tx.commit().await?;
    Ok(see_other(&format!(
        "/staff/users/{}?done=unlocked",
        user.id
    )))
}

/// POST /staff/users/{id}/roles.
pub async fn set_roles(
    ctx: Ctx,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let user = load_user(&ctx, &id).await?;
    let me = ctx.user()?;
    let roles = match parse_roles(&pairs) {
        Ok(r) => r,
        Err(e) => {
            return user_page(
                &ctx,
                &user,
                FormErrors::from_validation(&ctx.tr(), &e),
                None,
            )
            .await;
        }
    };
    if user.has_role(Role::Admin)
        && !roles.contains(&Role::Admin)
        && last_admin(&ctx, &user).await?
    {
        let mut e = ValidationErrors::new();
        e.add("roles", "last-admin");
        return user_page(
            &ctx,
            &user,
            FormErrors::from_validation(&ctx.tr(), &e),
            None,
        )
        .await;
    }
    let mut tx = ctx.state.db.begin().await?;
    users::set_roles(&mut tx, me.org(), user.id, &roles, ctx.state.now()).await?;
    let before: Vec<&str> = user.roles.iter().map(|r| r.code()).collect();
    let after: Vec<&str> = roles.iter().map(|r| r.code()).collect();
    ctx.audit(
        &mut tx,
        me.org(),
        ctx.event("user.roles_changed", Outcome::Ok)
            .target("user", user.id.0)
            .details(json!({ "before": before, "after": after })),
    )
    .await?;
    tx.commit().await?;
    Ok(see_other(&format!("/staff/users/{}", user.id)))
}

async fn last_admin(ctx: &Ctx, user: &User) -> AppResult<bool> {
    Ok(user.status == UserStatus::Active
        && user.has_role(Role::Admin)
        && users::count_active_admins(&ctx.state.db, user.org_id).await? <= 1)
}

/// POST /staff/users/{id}/disable: the account can no longer sign in; its sessions end.
pub async fn disable(ctx: Ctx, Path(id): Path<String>) -> AppResult<Response> {
    let user = load_user(&ctx, &id).await?;
    let me = ctx.user()?;
    if user.id == me.user.id || last_admin(&ctx, &user).await? {
        let mut e = ValidationErrors::new();
        e.add(
            "",
            if user.id == me.user.id {
                "cannot-disable-self"
            } else {
                "last-admin"
            },
        );
        return user_page(
            &ctx,
            &user,
            FormErrors::from_validation(&ctx.tr(), &e),
            None,
        )
        .await;
    }
    let now = ctx.state.now();
    let mut tx = ctx.state.db.begin().await?;
    users::set_status(&mut tx, me.org(), user.id, UserStatus::Disabled, now).await?;
    sessions::end_all_for_user(&mut tx, me.org(), user.id, None, "account_disabled", now).await?;
    haven_store::links::revoke_unused(&mut tx, me.org(), LinkPurpose::Invite, Some(user.id), now)
        .await?;
    haven_store::links::revoke_unused(&mut tx, me.org(), LinkPurpose::Reset, Some(user.id), now)
        .await?;
    ctx.audit(
        &mut tx,
        me.org(),
        ctx.event("user.disabled", Outcome::Ok)
            .target("user", user.id.0),
    )
    .await?;
    tx.commit().await?;
    Ok(see_other(&format!("/staff/users/{}", user.id)))
}

/// POST /staff/users/{id}/enable.
pub async fn enable(ctx: Ctx, Path(id): Path<String>) -> AppResult<Response> {
    let user = load_user(&ctx, &id).await?;
    let me = ctx.user()?;
    if user.status == UserStatus::Disabled {
        let creds = users::credentials(&ctx.state.db, me.org(), user.id).await?;
        let status = if creds.and_then(|c| c.password_hash).is_some() {
            UserStatus::Active
        } else {
            UserStatus::Invited
        };
        let mut tx = ctx.state.db.begin().await?;
        users::set_status(&mut tx, me.org(), user.id, status, ctx.state.now()).await?;
        ctx.audit(
            &mut tx,
            me.org(),
            ctx.event("user.enabled", Outcome::Ok)
                .target("user", user.id.0),
        )
        .await?;
        tx.commit().await?;
    }
    Ok(see_other(&format!("/staff/users/{}", user.id)))
}

/// POST /staff/users/{id}/reset-password: a one-time link with which the person chooses a new
/// password. The old password stops working only when the new one is chosen.
pub async fn reset_password(ctx: Ctx, Path(id): Path<String>) -> AppResult<Response> {
    let user = load_user(&ctx, &id).await?;
    let me = ctx.user()?.clone();
    if user.status == UserStatus::Disabled {
        return Err(AppError::NotFound);
    }
    let purpose = if user.status == UserStatus::Invited {
        LinkPurpose::Invite
    } else {
        LinkPurpose::Reset
    };
    let mut tx = ctx.state.db.begin().await?;
    let link = issue_link(
        &ctx.state,
        &mut tx,
        me.org(),
        purpose,
        Some(user.id),
        Some(me.user.id),
    )
    .await?;
    ctx.audit(
        &mut tx,
        me.org(),
        ctx.event("user.password_link_issued", Outcome::Ok)
            .target("user", user.id.0)
            .details(json!({ "purpose": purpose.code() })),
    )
    .await?;
    tx.commit().await?;
    let explanation = if purpose == LinkPurpose::Invite {
        "invite-created"
    } else {
        "reset-created"
    };
    link_created(
        &ctx,
        explanation,
        link,
        &format!("/staff/users/{}", user.id),
    )
}

/// POST /staff/users/{id}/sessions/{sid}/end.
pub async fn end_session(ctx: Ctx, Path((id, sid)): Path<(String, String)>) -> AppResult<Response> {
    let user = load_user(&ctx, &id).await?;
    let me = ctx.user()?;
    let sid: Uuid = sid.parse().map_err(|_| AppError::NotFound)?;
    let now = ctx.state.now();
    let idle_since =
        now - TimeDelta::minutes(i64::from(ctx.state.settings.session.idle_timeout_minutes));
    let open = sessions::list_open(&ctx.state.db, me.org(), Some(user.id), now, idle_since).await?;
    if !open.iter().any(|s| s.id == sid) {
        return Err(AppError::NotFound);
    }
    let mut tx = ctx.state.db.begin().await?;
    sessions::end(&mut tx, me.org(), sid, "ended_by_admin", now).await?;
    ctx.audit(
        &mut tx,
        me.org(),
        ctx.event("session.ended", Outcome::Ok)
            .target("user", user.id.0)
            .details(json!({ "session": sid, "by": "admin" })),
    )
    .await?;
    tx.commit().await?;
    Ok(see_other(&format!("/staff/users/{}", user.id)))
}
