//! Getting in and out: one-time links (first administrator, invitations, resets), sign-in and
//! sign-out.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::TimeDelta;
use haven_crypto::tokens::{random_token, token_hash};
use haven_domain::clock::random_bytes;
use haven_domain::validate::{DisplayName, EmailAddress, new_password};
use haven_domain::{Role, ValidationErrors};
use haven_store::links::{self, LinkPurpose, LinkState, OneTimeLink};
use haven_store::sessions::{self, Session, SessionStage};
use haven_store::users::{self, NewUser, User, UserStatus};
use haven_store::{Tx, orgs, second_factor};
use serde::Deserialize;

use super::second_factor::with_next;
use super::see_other;
use crate::auth::{clear_cookie_header, cookie_header, pre_cookie, safe_next, session_cookie};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::throttle;
use crate::ui::{Ctx, FormErrors, Page, render};
use haven_store::audit::{AuditActor, Outcome};
use serde_json::json;

#[derive(Template)]
#[template(path = "staff/link_invalid.html")]
struct LinkInvalid<'a> {
    page: Page<'a>,
    reason: String,
}

#[derive(Template)]
#[template(path = "staff/setup.html")]
struct ChoosePassword<'a> {
    page: Page<'a>,
    intro: String,
    action: String,
    ask_identity: bool,
    display_name: String,
    email: String,
    submit: String,
    errors: FormErrors,
}

/// Starts a session for `user` at `stage` inside `tx` and returns the cookie value.
pub async fn start_session(
    state: &AppState,
    tx: &mut Tx,
    user: &User,
    stage: SessionStage,
    ctx: &Ctx,
) -> AppResult<String> {
    let now = state.now();
    let token = random_token(state.rng.as_ref());
    let session = Session {
        org_id: user.org_id,
        id: state.ids().uuid(),
        user_id: user.id,
        stage,
        csrf_secret: random_bytes::<32>(state.rng.as_ref()).to_vec(),
        created_at: now,
        last_seen_at: now,
        expires_at: now
            + TimeDelta::hours(i64::from(state.settings.session.absolute_lifetime_hours)),
        ended_at: None,
        end_reason: None,
        ip: ctx.ip.clone(),
        user_agent: ctx.user_agent.clone(),
    };
    sessions::insert(tx, &session, &token_hash(&token)).await?;
    Ok(token)
}

/// Adds the new session cookie (and drops the pre-session one) to a response.
pub fn with_session_cookie(state: &AppState, mut res: Response, token: &str) -> Response {
    let tls = state.settings.served_over_tls();
    let h = res.headers_mut();
    h.append(
        header::SET_COOKIE,
        cookie_header(session_cookie(tls), token, tls),
    );
    h.append(
        header::SET_COOKIE,
        clear_cookie_header(pre_cookie(tls), tls),
    );
    res
}

/// Makes a one-time link and returns its URL.
pub async fn issue_link(
    state: &AppState,
    tx: &mut Tx,
    org: haven_domain::OrgId,
    purpose: LinkPurpose,
    user: Option<haven_domain::UserId>,
    created_by: Option<haven_domain::UserId>,
) -> AppResult<String> {
    let now = state.now();
    let token = random_token(state.rng.as_ref());
    let link = OneTimeLink {
        org_id: org,
        id: state.ids().uuid(),
        purpose,
        user_id: user,
        created_by,
        created_at: now,
        expires_at: now + TimeDelta::hours(i64::from(state.settings.session.link_lifetime_hours)),
        used_at: None,
        revoked_at: None,
    };
    links::revoke_unused(tx, org, purpose, user, now).await?;
    links::insert(tx, &link, &token_hash(&token)).await?;
    Ok(format!(
        "{}/staff/link/{}",
        state.settings.public_base_url(),
        token
    ))
}

fn link_invalid(ctx: &Ctx, state: LinkState) -> AppResult<Response> {
    let tr = ctx.tr();
    let reason = match state {
        LinkState::Used => tr.t("link-used"),
        LinkState::Expired => tr.t("link-expired"),
        LinkState::Revoked | LinkState::Usable => tr.t("link-revoked"),
    };
    let mut res = render(&LinkInvalid {
        page: ctx.page("link-invalid-title"),
        reason,
    })?;
    *res.status_mut() = StatusCode::GONE;
    Ok(res)
}

fn unknown_link(ctx: &Ctx) -> AppResult<Response> {
    let mut res = render(&LinkInvalid {
        page: ctx.page("link-invalid-title"),
        reason: ctx.tr().t("link-unknown"),
    })?;
    *res.status_mut() = StatusCode::NOT_FOUND;
    Ok(res)
}

async fn load_link(ctx: &Ctx, token: &str) -> AppResult<Result<OneTimeLink, Response>> {
    if token.len() > 100 {
        return Ok(Err(unknown_link(ctx)?));
    }
    let Some(link) = links::by_token(&ctx.state.db, &token_hash(token)).await? else {
        ctx.audit_now(
            ctx.state.default_org,
            ctx.event("auth.link_refused", Outcome::Failed)
                .details(json!({ "state": "unknown" })),
        )
        .await?;
        return Ok(Err(unknown_link(ctx)?));
    };
    match link.state(ctx.state.now()) {
        LinkState::Usable => Ok(Ok(link)),
        other => {
            let ev = ctx
                .event("auth.link_refused", Outcome::Failed)
                .details(json!({ "purpose": link.purpose.code(), "state": format!("{other:?}").to_lowercase() }));
            ctx.audit_now(link.org_id, ev).await?;
            Ok(Err(link_invalid(ctx, other)?))
        }
    }
}

fn choose_password_page<'a>(
    ctx: &'a Ctx,
    link: &OneTimeLink,
    token: &str,
    user: Option<&User>,
    display_name: &str,
    email: &str,
    errors: FormErrors,
) -> ChoosePassword<'a> {
    let tr = ctx.tr();
    let (title, intro, submit) = match link.purpose {
        LinkPurpose::Setup => ("setup-title", "setup-intro", "setup-submit"),
        LinkPurpose::Invite => ("invite-title", "invite-intro", "invite-submit"),
        LinkPurpose::Reset => ("reset-title", "reset-intro", "reset-submit"),
    };
    ChoosePassword {
        page: ctx.page(title),
        intro: tr.t(intro),
        action: format!("/staff/link/{token}"),
        ask_identity: link.purpose == LinkPurpose::Setup,
        display_name: user
            .map(|u| u.display_name.clone())
            .unwrap_or_else(|| display_name.to_owned()),
        email: user
            .map(|u| u.email.clone())
            .unwrap_or_else(|| email.to_owned()),
        submit: tr.t(submit),
        errors,
    }
}

/// GET /staff/link/{token}: the form of a one-time link.
pub async fn link_form(ctx: Ctx, Path(token): Path<String>) -> AppResult<Response> {
    let link = match load_link(&ctx, &token).await? {
        Ok(l) => l,
        Err(res) => return Ok(res),
    };
    let user = match link.user_id {
        Some(id) => users::get(&ctx.state.db, link.org_id, id).await?,
        None => None,
    };
    render(&choose_password_page(
        &ctx,
        &link,
        &token,
        user.as_ref(),
        "",
        "",
        FormErrors::none(),
    ))
}

/// The fields of a one-time link's form.
#[derive(Debug, Deserialize)]
pub struct LinkForm {
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_again: String,
}

/// POST /staff/link/{token}: uses a one-time link.
pub async fn link_submit(
    ctx: Ctx,
    Path(token): Path<String>,
    Form(form): Form<LinkForm>,
) -> AppResult<Response> {
    let state = ctx.state.clone();
    let link = match load_link(&ctx, &token).await? {
        Ok(l) => l,
        Err(res) => return Ok(res),
    };
    let existing = match link.user_id {
        Some(id) => users::get(&state.db, link.org_id, id).await?,
        None => None,
    };
    let mut errors = ValidationErrors::new();
    let mut name = None;
    let mut email = None;
    if link.purpose == LinkPurpose::Setup {
        match DisplayName::parse("display_name", &form.display_name) {
            Ok(n) => name = Some(n),
            Err(e) => errors.0.push(e),
        }
        match EmailAddress::parse("email", &form.email) {
            Ok(e) => email = Some(e),
            Err(e) => errors.0.push(e),
        }
    }
    let email_for_check = existing
        .as_ref()
        .map(|u| u.email.clone())
        .unwrap_or_else(|| form.email.clone());
    if let Err(e) = new_password(&form.password, &form.password_again, &email_for_check) {
        errors.0.extend(e.0);
    }
    if !errors.is_empty() {
        let fe = FormErrors::from_validation(&ctx.tr(), &errors);
        let mut res = render(&choose_password_page(
            &ctx,
            &link,
            &token,
            existing.as_ref(),
            &form.display_name,
            &form.email,
            fe,
        ))?;
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(res);
    }
    let hash = state
        .passwords
        .hash(form.password, state.rng.clone())
        .await?;
    let now = state.now();
    let mut tx = state.db.begin().await?;
    if !links::consume(&mut tx, link.org_id, link.id, now).await? {
        drop(tx);
        return link_invalid(&ctx, LinkState::Used);
    }
    let user = match (link.purpose, existing) {
        (LinkPurpose::Setup, _) => {
            let (Some(name), Some(email)) = (name, email) else {
                return Err(AppError::BadRequest);
            };
            let new = NewUser {
                org_id: link.org_id,
                id: state.ids().id(),
                email,
                display_name: name,
                language: ctx.lang,
                roles: vec![Role::Admin],
                status: UserStatus::Active,
                password_hash: Some(hash),
                now,
            };
            users::insert(&mut tx, &new).await?;
            User {
                org_id: new.org_id,
                id: new.id,
                email: new.email.to_string(),
                display_name: new.display_name.to_string(),
                language: new.language,
                status: UserStatus::Active,
                roles: new.roles,
                created_at: now,
                updated_at: now,
            }
        }
        (LinkPurpose::Invite | LinkPurpose::Reset, Some(user)) => {
            if user.status == UserStatus::Disabled {
                drop(tx);
                return link_invalid(&ctx, LinkState::Revoked);
            }
            users::set_password(&mut tx, user.org_id, user.id, &hash, now).await?;
            // An administrator's link is their word that this person may try again.
            users::clear_failed_sign_ins(&mut tx, user.org_id, user.id, now).await?;
            sessions::end_all_for_user(
                &mut tx,
                user.org_id,
                user.id,
                None,
                "password_changed",
                now,
            )
            .await?;
            user
        }
        (_, None) => {
            drop(tx);
            return link_invalid(&ctx, LinkState::Revoked);
        }
    };
    // A link sets a password, nothing more: the second factor (or its enrolment) still follows.
    let token = start_session(&state, &mut tx, &user, SessionStage::Password, &ctx).await?;
    let action = match link.purpose {
        LinkPurpose::Setup => "auth.setup_completed",
        LinkPurpose::Invite => "auth.invitation_accepted",
        LinkPurpose::Reset => "auth.password_reset",
    };
    let mut ev = ctx.event(action, Outcome::Ok).target("user", user.id.0);
    ev.actor = AuditActor::User(user.id);
    ctx.audit(&mut tx, user.org_id, ev).await?;
    tx.commit().await?;
    let target = second_factor_target(&state, &user, "/staff/").await?;
    Ok(with_session_cookie(&state, see_other(&target), &token))
}

/// Where a person goes after the password: the second factor, or its enrolment if they have none.
async fn second_factor_target(state: &AppState, user: &User, next: &str) -> AppResult<String> {
    let factor = second_factor::get(&state.db, user.org_id, user.id).await?;
    let path = if factor.enabled() {
        "/staff/login/second-factor"
    } else {
        "/staff/enrol"
    };
    Ok(with_next(path, next))
}

#[derive(Template)]
#[template(path = "staff/login.html")]
struct Login<'a> {
    page: Page<'a>,
    notice: Option<String>,
    ask_org: bool,
    org: String,
    email: String,
    next: String,
    errors: FormErrors,
}

/// The query of the sign-in page.
#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
    signed_out: Option<String>,
}

async fn several_orgs(state: &AppState) -> AppResult<bool> {
    Ok(orgs::list(&state.db).await?.len() > 1)
}

/// GET /staff/login.
pub async fn login_form(ctx: Ctx, Query(q): Query<LoginQuery>) -> AppResult<Response> {
    if ctx.user.is_some() {
        return Ok(see_other(&safe_next(q.next.as_deref())));
    }
    let notice = q.signed_out.as_ref().map(|_| ctx.tr().t("signed-out"));
    render(&Login {
        page: ctx.page("sign-in"),
        notice,
        ask_org: several_orgs(&ctx.state).await?,
        org: String::new(),
        email: String::new(),
        next: safe_next(q.next.as_deref()),
        errors: FormErrors::none(),
    })
}

/// The sign-in form.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    org: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

/// The sign-in page again, with the one message every refused sign-in gets (wrong address,
/// wrong password, locked account, wrong second factor alike), and what was typed but the
/// password.
pub async fn sign_in_refused(ctx: &Ctx, form: Option<&LoginForm>) -> AppResult<Response> {
    let tr = ctx.tr();
    let mut errors = FormErrors::none();
    errors.add(
        "",
        format!("{} {}", tr.t("sign-in-failed"), tr.t("sign-in-paused-hint")),
    );
    let mut res = render(&Login {
        page: ctx.page("sign-in"),
        notice: None,
        ask_org: several_orgs(&ctx.state).await?,
        org: form.map(|f| f.org.clone()).unwrap_or_default(),
        email: form.map(|f| f.email.clone()).unwrap_or_default(),
        next: safe_next(form.and_then(|f| f.next.as_deref())),
        errors,
    })?;
    *res.status_mut() = StatusCode::UNAUTHORIZED;
    Ok(res)
}

/// POST /staff/login: checks the password; right, starts a session at the `password` stage and
/// sends the person to the second factor (or to its enrolment).
pub async fn login_submit(ctx: Ctx, Form(form): Form<LoginForm>) -> AppResult<Response> {
    let state = ctx.state.clone();
    // Before any password is checked: an address that failed too often lately is refused.
    if throttle::address_blocked(&ctx).await? {
        throttle::record_address_refusal(&ctx, state.default_org, "password").await?;
        return Err(AppError::TooManyRequests);
    }
    let ask_org = several_orgs(&state).await?;
    let org = if ask_org {
        orgs::by_slug(&state.db, &form.org).await?.map(|o| o.id)
    } else {
        Some(state.default_org)
    };
    let creds = match org {
        Some(org) => users::by_email(&state.db, org, &form.email).await?,
        None => None,
    };
    // The same Argon2 work is done whether or not the account exists (or is locked), so the time
    // taken does not tell an attacker which addresses have accounts.
    let hash = creds
        .as_ref()
        .and_then(|c| c.password_hash.clone())
        .unwrap_or_else(|| state.dummy_password_hash.clone());
    let password_ok = state.passwords.verify(form.password.clone(), hash).await?;
    let now = state.now();
    let locked = match &creds {
        Some(c) => users::sign_in_throttle(&state.db, c.user.org_id, c.user.id)
            .await?
            .locked_at(now),
        None => false,
    };
    let user = match creds {
        Some(c)
            if password_ok
                && !locked
                && c.password_hash.is_some()
                && c.user.status == UserStatus::Active =>
        {
            c.user
        }
        _ => {
            let (org_for_log, reason, who) = match (&org, &creds) {
                (None, _) => (state.default_org, "unknown_organisation", None),
                (Some(o), None) => (*o, "unknown_account", None),
                (Some(o), Some(c)) if locked => (*o, "account_locked", Some(c.user.id)),
                (Some(o), Some(c)) if !password_ok || c.password_hash.is_none() => {
                    (*o, "wrong_password", Some(c.user.id))
                }
                (Some(o), Some(c)) => (
                    *o,
                    if c.user.status == UserStatus::Disabled {
                        "account_disabled"
                    } else {
                        "not_activated"
                    },
                    Some(c.user.id),
                ),
            };
            let mut tx = state.db.begin().await?;
            let mut ev = ctx
                .event("auth.sign_in", Outcome::Failed)
                .details(json!({ "stage": "password", "reason": reason }));
            if let Some(id) = who {
                ev = ev.target("user", id.0);
                if reason == "wrong_password" {
                    throttle::count_failure(&ctx, &mut tx, org_for_log, id).await?;
                }
            }
            ctx.audit(&mut tx, org_for_log, ev).await?;
            tx.commit().await?;
            return sign_in_refused(&ctx, Some(&form)).await;
        }
    };
    let mut tx = state.db.begin().await?;
    let token = start_session(&state, &mut tx, &user, SessionStage::Password, &ctx).await?;
    let mut ev = ctx
        .event("auth.password_accepted", Outcome::Ok)
        .target("user", user.id.0);
    ev.actor = AuditActor::User(user.id);
    ctx.audit(&mut tx, user.org_id, ev).await?;
    tx.commit().await?;
    let target = second_factor_target(&state, &user, &safe_next(form.next.as_deref())).await?;
    Ok(with_session_cookie(&state, see_other(&target), &token))
}

/// POST /staff/logout: ends the session and asks the browser to forget everything of the site.
pub async fn logout(ctx: Ctx) -> AppResult<Response> {
    let state = &ctx.state;
    let tls = state.settings.served_over_tls();
    let session = ctx
        .user
        .as_ref()
        .and_then(|u| u.session.as_ref())
        .or(ctx.pending.as_ref().map(|p| &p.session));
    if let Some(s) = session {
        let mut tx = state.db.begin().await?;
        sessions::end(&mut tx, s.org_id, s.id, "signed_out", state.now()).await?;
        ctx.audit(
            &mut tx,
            s.org_id,
            ctx.event("auth.sign_out", Outcome::Ok)
                .target("user", s.user_id.0),
        )
        .await?;
        tx.commit().await?;
    }
    let mut res = see_other("/staff/login?signed_out=1");
    let h = res.headers_mut();
    h.append(
        header::SET_COOKIE,
        clear_cookie_header(session_cookie(tls), tls),
    );
    h.insert(
        "clear-site-data",
        HeaderValue::from_static("\"cache\", \"cookies\", \"storage\""),
    );
    Ok(res.into_response())
}
