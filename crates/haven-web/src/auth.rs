//! Who is asking: the session cookie, the signed-in staff member, and the guards that the route
//! table puts in front of every handler.

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::TimeDelta;
use haven_crypto::tokens::token_hash;
use haven_domain::clock::random_bytes;
use haven_domain::policy::{Actor, Permission};
use haven_domain::{Language, OrgId};
use haven_store::api_tokens;
use haven_store::audit::{AuditActor, AuditEvent, Outcome};
use haven_store::sessions::{self, Session, SessionStage};
use haven_store::users::{self, User, UserStatus};

use crate::error::AppError;
use crate::security::{same_site_request, verify_token};
use crate::state::AppState;

/// A fully signed-in staff member, through a browser session or an API token.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    /// The account.
    pub user: User,
    /// The session, when the request comes from a signed-in browser.
    pub session: Option<Session>,
    /// The API token, when the request is authenticated by one.
    pub token: Option<TokenGrant>,
}

/// What an API token allows: its own permissions within its owner's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenGrant {
    /// The token's id.
    pub id: uuid::Uuid,
    /// The permissions it may use.
    pub scopes: Vec<Permission>,
    /// Whether it may only read (GET and HEAD).
    pub read_only: bool,
}

/// How long a session may stay at the `password` stage before the second factor is given.
pub const SECOND_FACTOR_WINDOW: TimeDelta = TimeDelta::minutes(5);

impl CurrentUser {
    /// The actor the policy judges.
    pub fn actor(&self) -> Actor {
        Actor {
            org_id: self.user.org_id,
            user_id: self.user.id,
            roles: self.user.roles.clone(),
        }
    }

    /// The organisation.
    pub fn org(&self) -> OrgId {
        self.user.org_id
    }
}

/// A person who gave the right password and has yet to give the second factor.
#[derive(Debug, Clone)]
pub struct PendingSignIn {
    /// The account.
    pub user: User,
    /// The session, at the `password` stage.
    pub session: Session,
}

/// The secret this request's CSRF tokens are checked against (the session's, or the
/// pre-session cookie's before sign-in).
#[derive(Debug, Clone)]
pub struct CsrfSecret(pub Vec<u8>);

/// The session cookie's name: with the `__Host-` prefix over TLS, which makes the browser insist
/// on `Secure`, `Path=/` and no `Domain` — a host-only cookie no sibling host can set or read.
pub fn session_cookie(tls: bool) -> &'static str {
    if tls {
        "__Host-haven_session"
    } else {
        "haven_session"
    }
}

/// The pre-session cookie that carries the CSRF secret of the sign-in forms.
pub fn pre_cookie(tls: bool) -> &'static str {
    if tls { "__Host-haven_pre" } else { "haven_pre" }
}

/// A `Set-Cookie` value for a session-lifetime, host-only, HttpOnly, SameSite=Strict cookie.
pub fn cookie_header(name: &str, value: &str, tls: bool) -> HeaderValue {
    let secure = if tls { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Strict{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// A `Set-Cookie` value that removes a cookie.
pub fn clear_cookie_header(name: &str, tls: bool) -> HeaderValue {
    let secure = if tls { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The value of a cookie in the request.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// Why a session no longer counts.
fn session_end_reason(
    s: &Session,
    idle: TimeDelta,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<&'static str> {
    if s.ended_at.is_some() {
        Some("ended")
    } else if s.stage == SessionStage::Password && s.created_at + SECOND_FACTOR_WINDOW <= now {
        Some("second_factor_timeout")
    } else if s.expires_at <= now {
        Some("expired")
    } else if s.last_seen_at + idle <= now {
        Some("idle")
    } else {
        None
    }
}

/// Finds the session and the person behind the request, ends sessions that have run out, and
/// gives anonymous visitors of the sign-in pages a pre-session cookie for their CSRF tokens.
pub async fn session_layer(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    // A request authenticated by an API token has no session and needs no CSRF secret.
    if req.extensions().get::<CurrentUser>().is_some() {
        return next.run(req).await;
    }
    let tls = state.settings.served_over_tls();
    let now = state.now();
    let idle = TimeDelta::minutes(i64::from(state.settings.session.idle_timeout_minutes));
    let mut clear_session = false;
    if let Some(token) = cookie(req.headers(), session_cookie(tls)).map(str::to_owned) {
        match resolve_session(&state, &token, idle, now).await {
            Ok(Some((session, user))) => {
                req.extensions_mut()
                    .insert(CsrfSecret(session.csrf_secret.clone()));
                match session.stage {
                    SessionStage::Complete => {
                        req.extensions_mut().insert(CurrentUser {
                            user,
                            session: Some(session),
                            token: None,
                        });
                    }
                    SessionStage::Password => {
                        req.extensions_mut().insert(PendingSignIn { user, session });
                    }
                }
            }
            Ok(None) => clear_session = true,
            Err(e) => return e.into_response(),
        }
    }
    let mut new_pre = None;
    if req.extensions().get::<CsrfSecret>().is_none() {
        let existing = cookie(req.headers(), pre_cookie(tls))
            .and_then(|v| URL_SAFE_NO_PAD.decode(v).ok())
            .filter(|v| v.len() == 32);
        let secret = match existing {
            Some(s) => s,
            None => {
                let s: [u8; 32] = random_bytes(state.rng.as_ref());
                new_pre = Some(URL_SAFE_NO_PAD.encode(s));
                s.to_vec()
            }
        };
        req.extensions_mut().insert(CsrfSecret(secret));
    }
    let mut res = next.run(req).await;
    if clear_session && !res.headers().contains_key(header::SET_COOKIE) {
        res.headers_mut().append(
            header::SET_COOKIE,
            clear_cookie_header(session_cookie(tls), tls),
        );
    }
    if let Some(pre) = new_pre
        && !res
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .any(|v| v.as_bytes().starts_with(pre_cookie(tls).as_bytes()))
    {
        res.headers_mut().append(
            header::SET_COOKIE,
            cookie_header(pre_cookie(tls), &pre, tls),
        );
    }
    res
}

async fn resolve_session(
    state: &AppState,
    token: &str,
    idle: TimeDelta,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Option<(Session, User)>, AppError> {
    let hash = token_hash(token);
    let Some((session, user)) = sessions::with_user_by_token(&state.db, &hash).await? else {
        return Ok(None);
    };
    if let Some(reason) = session_end_reason(&session, idle, now) {
        if session.ended_at.is_none() {
            let mut tx = state.db.begin().await?;
            sessions::end(&mut tx, session.org_id, session.id, reason, now).await?;
            tx.commit().await?;
        }
        return Ok(None);
    }
    if user.status != UserStatus::Active {
        let mut tx = state.db.begin().await?;
        sessions::end(&mut tx, session.org_id, session.id, "account_disabled", now).await?;
        tx.commit().await?;
        return Ok(None);
    }
    // Recording every request would make every read a write; a minute's precision is plenty
    // for an idle timeout counted in tens of minutes.
    if now - session.last_seen_at > TimeDelta::seconds(60) {
        let mut tx = state.db.begin().await?;
        sessions::touch(&mut tx, session.org_id, session.id, now).await?;
        tx.commit().await?;
    }
    Ok(Some((session, user)))
}

/// Authenticates JSON API requests that carry `Authorization: Bearer hvn_…` as the token's owner,
/// with the token's scopes. Any `Authorization` header that is not a valid token is refused with
/// 401 (and recorded) before the session layer runs: such a request never falls back to a cookie.
pub async fn token_layer(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return next.run(req).await;
    };
    let presented = value
        .to_str()
        .ok()
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(|v| v.trim().to_owned());
    let now = state.now();
    let resolved = match presented {
        Some(token) => resolve_token(&state, &token, now).await,
        None => Ok(Err(TokenRefusal::new("not_bearer"))),
    };
    match resolved {
        Err(e) => e.into_response(),
        Ok(Ok(current)) => {
            req.extensions_mut().insert(current);
            next.run(req).await
        }
        Ok(Err(refusal)) => {
            let actor = refusal
                .user
                .map(AuditActor::Token)
                .unwrap_or(AuditActor::Anonymous);
            let mut ev = refusal_event(&req, actor, "auth.token_refused", refusal.reason);
            if let Some(id) = refusal.token {
                ev = ev.target("api_token", id);
            }
            let org = refusal.org.unwrap_or(state.default_org);
            if let Err(e) = crate::ui::record_now(&state, org, ev).await {
                return e.into_response();
            }
            let mut res = AppError::Unauthorized.into_response();
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"haven\""),
            );
            res
        }
    }
}

/// Why a presented API token was refused, and what is known of it.
struct TokenRefusal {
    reason: &'static str,
    org: Option<OrgId>,
    user: Option<haven_domain::UserId>,
    token: Option<uuid::Uuid>,
}

impl TokenRefusal {
    fn new(reason: &'static str) -> Self {
        Self {
            reason,
            org: None,
            user: None,
            token: None,
        }
    }

    fn of(reason: &'static str, t: &api_tokens::ApiToken) -> Self {
        Self {
            reason,
            org: Some(t.org_id),
            user: Some(t.user_id),
            token: Some(t.id),
        }
    }
}

/// The prefix of every API token.
pub const TOKEN_PREFIX: &str = "hvn_";

async fn resolve_token(
    state: &AppState,
    token: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Result<CurrentUser, TokenRefusal>, AppError> {
    if !token.starts_with(TOKEN_PREFIX) || token.len() != TOKEN_PREFIX.len() + 43 {
        return Ok(Err(TokenRefusal::new("malformed")));
    }
    let Some(t) = api_tokens::by_hash(&state.db, &token_hash(token)).await? else {
        return Ok(Err(TokenRefusal::new("unknown")));
    };
    if t.revoked_at.is_some() {
        return Ok(Err(TokenRefusal::of("revoked", &t)));
    }
    if t.expires_at <= now {
        return Ok(Err(TokenRefusal::of("expired", &t)));
    }
    let user = match users::get(&state.db, t.org_id, t.user_id).await? {
        Some(u) if u.status == UserStatus::Active => u,
        _ => return Ok(Err(TokenRefusal::of("account_disabled", &t))),
    };
    // As for sessions, a minute's precision is plenty and spares a write per request.
    if t.last_used_at
        .is_none_or(|last| now - last > TimeDelta::seconds(60))
    {
        let mut tx = state.db.begin().await?;
        api_tokens::touch(&mut tx, t.org_id, t.id, now).await?;
        tx.commit().await?;
    }
    Ok(Ok(CurrentUser {
        user,
        session: None,
        token: Some(TokenGrant {
            id: t.id,
            scopes: parse_scopes(&t.scopes),
            read_only: t.read_only,
        }),
    }))
}

/// The permissions of a stored scope list (codes separated by spaces; unknown codes dropped).
pub fn parse_scopes(scopes: &str) -> Vec<Permission> {
    scopes
        .split_whitespace()
        .filter_map(Permission::from_code)
        .collect()
}

/// Picks the language of the response: the signed-in person's, else `?lang=`, else the
/// browser's, else the organisation's.
pub async fn language_layer(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let lang = if let Some(u) = req.extensions().get::<CurrentUser>() {
        u.user.language
    } else if let Some(u) = req.extensions().get::<PendingSignIn>() {
        u.user.language
    } else {
        query_param(req.uri().query(), "lang")
            .and_then(|l| l.parse::<Language>().ok())
            .or_else(|| {
                req.headers()
                    .get(header::ACCEPT_LANGUAGE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(Language::from_accept_language)
            })
            .unwrap_or(state.settings.org.language)
    };
    req.extensions_mut().insert(lang);
    // The error renderer sits outside this layer and reads the language from the response.
    let mut res = next.run(req).await;
    res.extensions_mut().insert(lang);
    res
}

/// One parameter of a query string.
pub fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    let query = query?;
    serde_urlencoded::from_str::<Vec<(String, String)>>(query)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// Refuses state-changing requests that do not carry this session's CSRF token or that come
/// from another site. API calls authenticated by a bearer token carry no ambient credential and
/// are not subject to it.
pub async fn csrf_layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    // Only a request the token layer authenticated is exempt: the header alone proves nothing.
    if req
        .extensions()
        .get::<CurrentUser>()
        .is_some_and(|u| u.token.is_some())
    {
        return next.run(req).await;
    }
    if !same_site_request(req.headers(), state.settings.trust_proxy) {
        return {
            let r = csrf_refusal(&state, &req, "cross_site");
            refuse_csrf(&state, r).await
        };
    }
    let Some(secret) = req.extensions().get::<CsrfSecret>().cloned() else {
        return {
            let r = csrf_refusal(&state, &req, "no_secret");
            refuse_csrf(&state, r).await
        };
    };
    let header_token = req
        .headers()
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let (req, token) = if let Some(t) = header_token {
        (req, Some(t))
    } else if is_form {
        let limit = state.settings.limits.body_kib as usize * 1024;
        let (parts, body) = req.into_parts();
        let bytes = match to_bytes(body, limit).await {
            Ok(b) => b,
            Err(_) => return AppError::PayloadTooLarge.into_response(),
        };
        let token = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
            .ok()
            .and_then(|pairs| pairs.into_iter().find(|(k, _)| k == "csrf").map(|(_, v)| v));
        (Request::from_parts(parts, Body::from(bytes)), token)
    } else {
        let token = query_param(req.uri().query(), "csrf");
        (req, token)
    };
    match token {
        Some(t) if verify_token(&t, &secret.0) => next.run(req).await,
        Some(_) => {
            let r = csrf_refusal(&state, &req, "wrong_token");
            refuse_csrf(&state, r).await
        }
        None => {
            let r = csrf_refusal(&state, &req, "missing_token");
            refuse_csrf(&state, r).await
        }
    }
}

/// What a route requires of the person asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not (health checks, static files, the public portal).
    Public,
    /// The pages of signing in and of one-time links: anyone.
    SignIn,
    /// The second-factor pages: someone who gave the right password.
    SecondFactor,
    /// A signed-in staff member holding the permission.
    Staff(Permission),
}

/// Enforces a route's [`Access`] before its handler runs; refusals of signed-in staff are
/// recorded in the audit log.
pub async fn guard(state: AppState, access: Access, req: Request, next: Next) -> Response {
    match access {
        Access::Public | Access::SignIn => next.run(req).await,
        Access::SecondFactor => {
            if req.extensions().get::<PendingSignIn>().is_some() {
                next.run(req).await
            } else if req.extensions().get::<CurrentUser>().is_some() {
                Redirect::to("/staff/").into_response()
            } else {
                // The password stage ended (or never began): start again, with no way back here.
                Redirect::to("/staff/login").into_response()
            }
        }
        Access::Staff(permission) => {
            let refusal = match req.extensions().get::<CurrentUser>() {
                None => return sign_in_required(&req),
                Some(u) => {
                    let (actor, why) = match &u.token {
                        None => (AuditActor::User(u.user.id), permission.code()),
                        Some(_) => (AuditActor::Token(u.user.id), "token_scope"),
                    };
                    let allowed = u.actor().can(permission)
                        && u.token
                            .as_ref()
                            .is_none_or(|t| t.scopes.contains(&permission));
                    let read_only_refused = u.token.as_ref().is_some_and(|t| {
                        t.read_only && !matches!(*req.method(), Method::GET | Method::HEAD)
                    });
                    if !allowed {
                        let mut ev = refusal_event(&req, actor, "access.denied", why);
                        ev.details["permission"] = permission.code().into();
                        Some((u.org(), ev))
                    } else if read_only_refused {
                        Some((
                            u.org(),
                            refusal_event(&req, actor, "access.denied", "token_read_only"),
                        ))
                    } else {
                        None
                    }
                }
            };
            match refusal {
                None => next.run(req).await,
                Some((org, ev)) => {
                    if let Err(e) = crate::ui::record_now(&state, org, ev).await {
                        return e.into_response();
                    }
                    AppError::Forbidden.into_response()
                }
            }
        }
    }
}

/// An audit event for a refused request: the route template, never the raw path.
fn refusal_event(req: &Request, actor: AuditActor, action: &str, why: &str) -> AuditEvent {
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_default();
    let mut ev = AuditEvent::new(actor, action, Outcome::Denied).details(
        serde_json::json!({ "method": req.method().as_str(), "route": route, "reason": why }),
    );
    ev.request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    ev.ip = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string());
    ev
}

/// The audit entry of a CSRF refusal, built before any await (a request is not `Sync`).
fn csrf_refusal(state: &AppState, req: &Request, why: &str) -> (OrgId, AuditEvent) {
    let (org, actor) = match (
        req.extensions().get::<CurrentUser>(),
        req.extensions().get::<PendingSignIn>(),
    ) {
        (Some(u), _) => (u.org(), AuditActor::User(u.user.id)),
        (None, Some(p)) => (p.user.org_id, AuditActor::User(p.user.id)),
        (None, None) => (state.default_org, AuditActor::Anonymous),
    };
    (org, refusal_event(req, actor, "access.csrf_refused", why))
}

async fn refuse_csrf(state: &AppState, refusal: (OrgId, AuditEvent)) -> Response {
    if let Err(e) = crate::ui::record_now(state, refusal.0, refusal.1).await {
        return e.into_response();
    }
    AppError::Csrf.into_response()
}

fn sign_in_required(req: &Request) -> Response {
    if req.uri().path().starts_with("/api/") {
        return AppError::Unauthorized.into_response();
    }
    if req.extensions().get::<PendingSignIn>().is_some() {
        return Redirect::to("/staff/login/second-factor").into_response();
    }
    let next = if *req.method() == Method::GET {
        req.uri().path()
    } else {
        "/staff/"
    };
    let target = format!(
        "/staff/login?next={}",
        percent_encoding::utf8_percent_encode(next, percent_encoding::NON_ALPHANUMERIC)
    );
    Redirect::to(&target).into_response()
}

/// A `next` target after sign-in, if it is a path inside the staff application (never an
/// address elsewhere: no open redirect).
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with("/staff/")
                && !n.starts_with("//")
                && !n.contains('\\')
                && !n.contains("://") =>
        {
            n.to_owned()
        }
        _ => "/staff/".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_targets_stay_inside() {
        assert_eq!(safe_next(Some("/staff/users")), "/staff/users");
        for bad in [
            "https://evil.example",
            "//evil.example",
            "/staff/\\evil",
            "/elsewhere",
        ] {
            assert_eq!(safe_next(Some(bad)), "/staff/", "{bad}");
        }
        assert_eq!(safe_next(None), "/staff/");
    }

    #[test]
    fn reads_cookies() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; haven_session=abc ; b=2"),
        );
        assert_eq!(cookie(&h, "haven_session"), Some("abc"));
        assert_eq!(cookie(&h, "c"), None);
    }
}
