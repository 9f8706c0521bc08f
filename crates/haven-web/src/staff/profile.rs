//! A staff member's own settings: language, password, second factor, API tokens, sessions.

use askama::Template;
use axum::Form;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::TimeDelta;
use haven_domain::validate::new_password;
use haven_domain::{Language, ValidationErrors};
use haven_store::{second_factor, sessions, users};
use serde::Deserialize;
use uuid::Uuid;

use super::see_other;
use super::tokens::{MAX_DAYS, ScopeChoice, TokenDraft, TokenRow, scope_choices, token_rows};
use super::users::{SessionRow, session_rows};
use crate::auth::safe_next;
use crate::error::{AppError, AppResult};
use crate::ui::{Ctx, FormErrors, Page, render};
use haven_store::audit::Outcome;
use serde_json::json;

#[derive(Template)]
#[template(path = "staff/profile.html")]
struct ProfilePage<'a> {
    page: Page<'a>,
    email: String,
    sessions: Vec<SessionRow>,
    session_action_base: &'static str,
    errors: FormErrors,
    notice: Option<String>,
    factor_since: Option<String>,
    recovery_left: i64,
    tokens: Vec<TokenRow>,
    draft: TokenDraft,
    scopes: Vec<ScopeChoice>,
    max_days: i64,
}

/// The profile page, with `errors` next to the fields of whichever form needs fixing and what
/// was typed into the token form.
pub async fn profile_page(
    ctx: &Ctx,
    errors: FormErrors,
    notice: Option<String>,
    draft: TokenDraft,
) -> AppResult<Response> {
    let me = ctx.user()?;
    let now = ctx.state.now();
    let idle_since =
        now - TimeDelta::minutes(i64::from(ctx.state.settings.session.idle_timeout_minutes));
    let open =
        sessions::list_open(&ctx.state.db, me.org(), Some(me.user.id), now, idle_since).await?;
    let factor = second_factor::get(&ctx.state.db, me.org(), me.user.id).await?;
    let recovery_left =
        second_factor::recovery_codes_left(&ctx.state.db, me.org(), me.user.id).await?;
    let failed = errors.any();
    let mut res = render(&ProfilePage {
        page: ctx.page("profile-title"),
        email: me.user.email.clone(),
        sessions: session_rows(ctx, &open),
        session_action_base: "/staff/profile/sessions",
        errors,
        notice,
        factor_since: factor
            .enabled()
            .then_some(factor.enabled_at)
            .flatten()
            .map(|t| ctx.time(t)),
        recovery_left,
        tokens: token_rows(ctx).await?,
        scopes: scope_choices(ctx, &draft)?,
        draft,
        max_days: MAX_DAYS,
    })?;
    if failed {
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(res)
}

/// The query of the profile page.
#[derive(Debug, Deserialize)]
pub struct ProfileQuery {
    saved: Option<String>,
}

/// GET /staff/profile.
pub async fn show(
    ctx: Ctx,
    axum::extract::Query(q): axum::extract::Query<ProfileQuery>,
) -> AppResult<Response> {
    let notice = q.saved.as_deref().map(|what| match what {
        "password" => ctx.tr().t("password-changed"),
        "token_revoked" => ctx.tr().t("token-revoked"),
        _ => ctx.tr().t("saved"),
    });
    profile_page(&ctx, FormErrors::none(), notice, TokenDraft::default()).await
}

/// The language switch.
#[derive(Debug, Deserialize)]
pub struct LanguageForm {
    language: String,
    next: Option<String>,
}

/// POST /staff/profile/language.
pub async fn set_language(ctx: Ctx, Form(form): Form<LanguageForm>) -> AppResult<Response> {
    let me = ctx.user()?;
    let lang: Language = form.language.parse().map_err(|_| AppError::BadRequest)?;
    let mut tx = ctx.state.db.begin().await?;
    users::set_language(&mut tx, me.org(), me.user.id, lang, ctx.state.now()).await?;
    tx.commit().await?;
    Ok(see_other(&safe_next(form.next.as_deref())))
}

/// The password change.
#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_again: String,
}

/// POST /staff/profile/password: needs the current password; ends every other session.
pub async fn change_password(ctx: Ctx, Form(form): Form<PasswordForm>) -> AppResult<Response> {
    let me = ctx.user()?.clone();
    let state = ctx.state.clone();
    let creds = users::credentials(&state.db, me.org(), me.user.id)
        .await?
        .ok_or(AppError::NotFound)?;
    let current_ok = match creds.password_hash {
        Some(h) => {
            state
                .passwords
                .verify(form.current_password.clone(), h)
                .await?
        }
        None => false,
    };
    let mut errors = ValidationErrors::new();
    if !current_ok {
        errors.add("current_password", "password-current-wrong");
    }
    if let Err(e) = new_password(&form.password, &form.password_again, &me.user.email) {
        errors.0.extend(e.0);
    }
    if !errors.is_empty() {
        return profile_page(
            &ctx,
            FormErrors::from_validation(&ctx.tr(), &errors),
            None,
            TokenDraft::default(),
        )
        .await;
    }
    let hash = state
        .passwords
        .hash(form.password, state.rng.clone())
        .await?;
    let now = state.now();
    let mut tx = state.db.begin().await?;
    users::set_password(&mut tx, me.org(), me.user.id, &hash, now).await?;
    sessions::end_all_for_user(
        &mut tx,
        me.org(),
        me.user.id,
        me.session.as_ref().map(|s| s.id),
        "password_changed",
        now,
    )
    .await?;
    ctx.audit(
        &mut tx,
        me.org(),
        ctx.event("auth.password_changed", Outcome::Ok)
            .target("user", me.user.id.0),
    )
    .await?;
    tx.commit().await?;
    Ok(see_other("/staff/profile?saved=password"))
}

/// POST /staff/profile/sessions/{sid}/end: ends one of one's own other sessions.
pub async fn end_session(ctx: Ctx, Path(sid): Path<String>) -> AppResult<Response> {
    let me = ctx.user()?;
    let sid: Uuid = sid.parse().map_err(|_| AppError::NotFound)?;
    let now = ctx.state.now();
    let idle_since =
        now - TimeDelta::minutes(i64::from(ctx.state.settings.session.idle_timeout_minutes));
    let open =
        sessions::list_open(&ctx.state.db, me.org(), Some(me.user.id), now, idle_since).await?;
    if !open.iter().any(|s| s.id == sid) {
        return Err(AppError::NotFound);
    }
    let mut tx = ctx.state.db.begin().await?;
    sessions::end(&mut tx, me.org(), sid, "ended_by_user", now).await?;
    ctx.audit(
        &mut tx,
        me.org(),
        ctx.event("session.ended", Outcome::Ok)
            .target("user", me.user.id.0)
            .details(json!({ "session": sid, "by": "self" })),
    )
    .await?;
    tx.commit().await?;
    Ok(see_other("/staff/profile"))
}
