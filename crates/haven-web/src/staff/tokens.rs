//! API tokens of a staff member's own scripts: created and revoked on the profile page.
//!
//! A token is `hvn_` followed by 43 base64url characters (256 random bits); it is shown once and
//! only its SHA-256 is stored. Its scopes are a subset of its owner's permissions, checked again
//! on every request (so removing a role narrows the token too), and it can be read-only. The
//! token layer ([`crate::auth::token_layer`]) turns a valid `Authorization: Bearer` header into
//! the owner's identity for the JSON API.

use askama::Template;
use axum::extract::Path;
use axum::response::Response;
use chrono::TimeDelta;
use haven_crypto::tokens::{random_token, token_hash};
use haven_domain::policy::Permission;
use haven_store::api_tokens::{self, ApiToken};
use haven_store::audit::Outcome;
use serde_json::json;
use uuid::Uuid;

use super::profile::profile_page;
use super::see_other;
use crate::auth::{TOKEN_PREFIX, parse_scopes};
use crate::error::{AppError, AppResult};
use crate::ui::{Ctx, FormErrors, Page, render};

/// Days a token lasts unless told otherwise.
pub const DEFAULT_DAYS: i64 = 90;
/// The longest a token may last, in days.
pub const MAX_DAYS: i64 = 365;
/// The longest name of a token.
const MAX_NAME: usize = 80;

/// What was typed into the token form (kept when it needs fixing).
#[derive(Debug, Clone)]
pub struct TokenDraft {
    /// The name.
    pub name: String,
    /// Days until it expires, as typed.
    pub days: String,
    /// The permissions ticked.
    pub scopes: Vec<Permission>,
    /// Whether "read only" is ticked.
    pub read_only: bool,
}

impl Default for TokenDraft {
    fn default() -> Self {
        Self {
            name: String::new(),
            days: DEFAULT_DAYS.to_string(),
            scopes: Vec::new(),
            read_only: false,
        }
    }
}

/// A permission with a checkbox.
pub struct ScopeChoice {
    /// Its code.
    pub code: &'static str,
    /// Its label.
    pub label: String,
    /// Whether it is ticked.
    pub checked: bool,
}

/// The permissions a person may give their tokens: their own.
pub fn scope_choices(ctx: &Ctx, draft: &TokenDraft) -> AppResult<Vec<ScopeChoice>> {
    let actor = ctx.user()?.actor();
    let tr = ctx.tr();
    Ok(Permission::ALL
        .into_iter()
        .filter(|p| actor.can(*p))
        .map(|p| ScopeChoice {
            code: p.code(),
            label: tr.t(&format!("permission-{}", p.code())),
            checked: draft.scopes.contains(&p),
        })
        .collect())
}

/// A token as a row of the list.
pub struct TokenRow {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its permissions, translated.
    pub scopes: String,
    /// Whether it may only read.
    pub read_only: bool,
    /// When it was created.
    pub created: String,
    /// When it expires.
    pub expires: String,
    /// When it was last used.
    pub last_used: String,
    /// Where it stands, translated.
    pub status: String,
    /// Whether it still works (and so can be revoked).
    pub usable: bool,
}

/// A person's tokens as rows.
pub async fn token_rows(ctx: &Ctx) -> AppResult<Vec<TokenRow>> {
    let me = ctx.user()?;
    let now = ctx.state.now();
    let tr = ctx.tr();
    let tokens = api_tokens::list_for_user(&ctx.state.db, me.org(), me.user.id).await?;
    Ok(tokens
        .into_iter()
        .map(|t| {
            let (status, usable) = if t.revoked_at.is_some() {
                ("token-status-revoked", false)
            } else if t.expires_at <= now {
                ("token-status-expired", false)
            } else {
                ("token-status-active", true)
            };
            TokenRow {
                id: t.id.to_string(),
                scopes: parse_scopes(&t.scopes)
                    .iter()
                    .map(|p| tr.t(&format!("permission-{}", p.code())))
                    .collect::<Vec<_>>()
                    .join(", "),
                read_only: t.read_only,
                created: ctx.time(t.created_at),
                expires: ctx.time(t.expires_at),
                last_used: t
                    .last_used_at
                    .map(|u| ctx.time(u))
                    .unwrap_or_else(|| tr.t("token-never-used")),
                status: tr.t(status),
                usable,
                name: t.name,
            }
        })
        .collect())
}

#[derive(Template)]
#[template(path = "staff/token_created.html")]
struct TokenCreated<'a> {
    page: Page<'a>,
    token: String,
    expires: String,
}

/// POST /staff/profile/tokens: creates a token and shows it, once.
pub async fn create(
    ctx: Ctx,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let me = ctx.user()?.clone();
    let state = ctx.state.clone();
    let field = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    };
    let actor = me.actor();
    let mut errors = FormErrors::none();
    let tr = ctx.tr();
    let name = field("name");
    if name.is_empty() || name.chars().count() > MAX_NAME {
        errors.add("token_name", tr.t("token-name-invalid"));
    }
    let days = match field("days").parse::<i64>() {
        Ok(d) if (1..=MAX_DAYS).contains(&d) => Some(d),
        _ => {
            errors.add("token_days", tr.t("token-days-invalid"));
            None
        }
    };
    let mut scopes = Vec::new();
    let mut unknown = false;
    for (k, v) in &pairs {
        if k == "scope" {
            match Permission::from_code(v) {
                Some(p) if actor.can(p) => {
                    if !scopes.contains(&p) {
                        scopes.push(p);
                    }
                }
                _ => unknown = true,
            }
        }
    }
    if unknown {
        errors.add("token_scopes", tr.t("token-scope-not-yours"));
    } else if scopes.is_empty() {
        errors.add("token_scopes", tr.t("token-scopes-required"));
    }
    let read_only = pairs.iter().any(|(k, _)| k == "read_only");
    let (false, Some(days)) = (errors.any(), days) else {
        let draft = TokenDraft {
            name,
            days: field("days"),
            scopes,
            read_only,
        };
        return profile_page(&ctx, errors, None, draft).await;
    };
    scopes.sort_by_key(|p| Permission::ALL.iter().position(|q| q == p));
    let now = state.now();
    let secret = format!("{TOKEN_PREFIX}{}", random_token(state.rng.as_ref()));
    let token = ApiToken {
        org_id: me.org(),
        id: state.ids().uuid(),
        user_id: me.user.id,
        name,
        scopes: scopes
            .iter()
            .map(|p| p.code())
            .collect::<Vec<_>>()
            .join(" "),
        read_only,
        created_at: now,
        expires_at: now + TimeDelta::days(days),
        last_used_at: None,
        revoked_at: None,
    };
    let mut tx = state.db.begin().await?;
    api_tokens::insert(&mut tx, &token, &token_hash(&secret)).await?;
    ctx.audit(
        &mut tx,
        me.org(),
        ctx.event("api_token.created", Outcome::Ok)
            .target("api_token", token.id)
            .details(json!({
                "scopes": scopes.iter().map(|p| p.code()).collect::<Vec<_>>(),
                "read_only": read_only,
                "days": days,
            })),
    )
    .await?;
    tx.commit().await?;
    render(&TokenCreated {
        page: ctx.page("token-created-title"),
        token: secret,
        expires: ctx.time(token.expires_at),
    })
}

/// POST /staff/profile/tokens/{id}/revoke: one's own token stops working at once.
pub async fn revoke(ctx: Ctx, Path(id): Path<String>) -> AppResult<Response> {
    let me = ctx.user()?.clone();
    let state = ctx.state.clone();
    let id: Uuid = id.parse().map_err(|_| AppError::NotFound)?;
    let mut tx = state.db.begin().await?;
    if !api_tokens::revoke(&mut tx, me.org(), me.user.id, id, state.now()).await? {
        drop(tx);
        ctx.audit_now(
            me.org(),
            ctx.event("api_token.revoked", Outcome::Denied)
                .target("api_token", id)
                .details(json!({ "reason": "not_own_or_not_active" })),
        )
        .await?;
        return Err(AppError::NotFound);
    }
    ctx.audit(
        &mut tx,
        me.org(),
        ctx.event("api_token.revoked", Outcome::Ok)
            .target("api_token", id),
    )
    .await?;
    tx.commit().await?;
    Ok(see_other("/staff/profile?saved=token_revoked"))
}
