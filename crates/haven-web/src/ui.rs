//! What every staff page shares: the request context handlers extract, the layout's data, and
//! rendering.

use askama::Template;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Utc};
use haven_domain::Language;
use haven_domain::policy::Permission;
use haven_store::audit::{self, AuditActor, AuditEvent, Outcome};

use crate::auth::{CsrfSecret, CurrentUser, PendingSignIn};
use crate::error::{AppError, AppResult};
use crate::i18n::Tr;
use crate::security::mask_token;
use crate::state::AppState;

/// The request as handlers see it: the state, the language, who is asking, and the CSRF secret.
pub struct Ctx {
    /// Shared state.
    pub state: AppState,
    /// The language of the response.
    pub lang: Language,
    /// The signed-in staff member, if any.
    pub user: Option<CurrentUser>,
    /// The person half-way through signing in, if any.
    pub pending: Option<PendingSignIn>,
    /// The request path.
    pub path: String,
    /// The client's address (the proxy's `X-Forwarded-For` when `trust_proxy` is on).
    pub ip: Option<String>,
    /// The client's `User-Agent`.
    pub user_agent: Option<String>,
    /// The request id (shown on error pages, recorded in the audit log).
    pub request_id: Option<String>,
    csrf_secret: Vec<u8>,
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Ctx {
            state: state.clone(),
            lang: parts
                .extensions
                .get::<Language>()
                .copied()
                .unwrap_or(state.settings.org.language),
            user: parts.extensions.get::<CurrentUser>().cloned(),
            pending: parts.extensions.get::<PendingSignIn>().cloned(),
            path: parts.uri.path().to_owned(),
            ip: client_ip(parts, state.settings.trust_proxy),
            user_agent: parts
                .headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.chars().take(200).collect()),
            request_id: parts
                .headers
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            csrf_secret: parts
                .extensions
                .get::<CsrfSecret>()
                .map(|c| c.0.clone())
                .unwrap_or_default(),
        })
    }
}

impl Ctx {
    /// The translator.
    pub fn tr(&self) -> Tr<'_> {
        self.state.i18n.tr(self.lang)
    }

    /// A fresh CSRF token for a form on this page.
    pub fn csrf(&self) -> String {
        mask_token(&self.csrf_secret, self.state.rng.as_ref())
    }

    /// The signed-in staff member (the route table guarantees one on staff routes).
    pub fn user(&self) -> AppResult<&CurrentUser> {
        self.user.as_ref().ok_or(AppError::Forbidden)
    }

    /// An audit event by the person asking, with their address and the request id.
    pub fn event(&self, action: &str, outcome: Outcome) -> AuditEvent {
        let actor = match (&self.user, &self.pending) {
            (Some(u), _) if u.token.is_some() => AuditActor::Token(u.user.id),
            (Some(u), _) => AuditActor::User(u.user.id),
            (None, Some(p)) => AuditActor::User(p.user.id),
            (None, None) => AuditActor::Anonymous,
        };
        let mut ev = AuditEvent::new(actor, action, outcome);
        ev.ip = self.ip.clone();
        ev.request_id = self.request_id.clone();
        ev
    }

    /// Records an event in the organisation's audit log inside `tx`.
    pub async fn audit(
        &self,
        tx: &mut haven_store::Tx,
        org: haven_domain::OrgId,
        ev: AuditEvent,
    ) -> AppResult<()> {
        audit::append(tx, org, self.state.ids().uuid(), self.state.now(), &ev).await?;
        Ok(())
    }

    /// Records an event in its own transaction (for refusals, where nothing else is written).
    pub async fn audit_now(&self, org: haven_domain::OrgId, ev: AuditEvent) -> AppResult<()> {
        record_now(&self.state, org, ev).await
    }

    /// The layout data for a page titled by the message `title_id`.
    pub fn page(&self, title_id: &str) -> Page<'_> {
        self.page_titled(self.tr().t(title_id))
    }

    /// The layout data for a page with a title already translated.
    pub fn page_titled(&self, title: String) -> Page<'_> {
        let tr = self.tr();
        let nav = self
            .user
            .as_ref()
            .map(|u| nav(&tr, u, &self.path))
            .unwrap_or_default();
        let langs = Language::ALL
            .into_iter()
            .map(|l| LangChoice {
                code: l.code(),
                label: l.switch_label(),
                name: l.native_name(),
                href: format!("{}?lang={}", self.path, l.code()),
                current: l == self.lang,
            })
            .collect();
        Page {
            tr,
            title,
            csrf: self.csrf(),
            user_name: self.user.as_ref().map(|u| u.user.display_name.clone()),
            nav,
            path: self.path.clone(),
            lang: self.lang,
            langs,
        }
    }

    /// A time in the organisation's time zone, written the way the language writes it.
    pub fn time(&self, t: DateTime<Utc>) -> String {
        format_time(t, &self.state.settings.org.time_zone, self.lang)
    }
}

/// The client's address.
pub fn client_ip(parts: &Parts, trust_proxy: bool) -> Option<String> {
    if trust_proxy
        && let Some(fwd) = parts
            .headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
        && let Some(first) = fwd.split(',').next()
        && let Ok(ip) = first.trim().parse::<std::net::IpAddr>()
    {
        return Some(ip.to_string());
    }
    parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string())
}

/// Records an event in its own transaction.
pub async fn record_now(
    state: &AppState,
    org: haven_domain::OrgId,
    ev: AuditEvent,
) -> AppResult<()> {
    let mut tx = state.db.begin().await?;
    audit::append(&mut tx, org, state.ids().uuid(), state.now(), &ev).await?;
    tx.commit().await?;
    Ok(())
}

/// A time in a time zone, written the way the language writes it.
pub fn format_time(t: DateTime<Utc>, tz: &str, lang: Language) -> String {
    let tz: chrono_tz::Tz = tz.parse().unwrap_or(chrono_tz::Europe::Belgrade);
    let local = t.with_timezone(&tz);
    match lang {
        Language::En => local.format("%-d %b %Y, %H:%M").to_string(),
        Language::SrLatn | Language::SrCyrl => local.format("%-d. %-m. %Y. %H:%M").to_string(),
    }
}

/// The data of the staff layout.
pub struct Page<'a> {
    /// The translator.
    pub tr: Tr<'a>,
    /// The page title (never identifying data).
    pub title: String,
    /// A CSRF token for the page's forms.
    pub csrf: String,
    /// The signed-in person's name.
    pub user_name: Option<String>,
    /// The navigation.
    pub nav: Vec<NavItem>,
    /// The current path.
    pub path: String,
    /// The current language.
    pub lang: Language,
    /// The language switch.
    pub langs: Vec<LangChoice>,
}

/// One entry of the navigation.
pub struct NavItem {
    /// Where it goes.
    pub href: &'static str,
    /// Its label.
    pub label: String,
    /// Whether it is the current section.
    pub current: bool,
}

/// One language of the switch.
pub struct LangChoice {
    /// The code.
    pub code: &'static str,
    /// The short label.
    pub label: &'static str,
    /// The full name.
    pub name: &'static str,
    /// The link (for visitors who are not signed in).
    pub href: String,
    /// Whether it is the current language.
    pub current: bool,
}

fn nav(tr: &Tr<'_>, user: &CurrentUser, path: &str) -> Vec<NavItem> {
    let actor = user.actor();
    let mut items = vec![("/staff/", "nav-home", Permission::UseStaffApp)];
    items.push(("/staff/desk", "nav-desk", Permission::ViewContacts));
    items.push(("/staff/cases", "nav-cases", Permission::ViewCases));
    items.push((
        "/staff/institutions",
        "nav-institutions",
        Permission::ViewInstitutions,
    ));
    items.push(("/staff/users", "nav-users", Permission::ManageUsers));
    items.push(("/staff/audit", "nav-audit", Permission::ViewAudit));
    items.push((
        "/staff/break-glass",
        "nav-break-glass",
        Permission::ViewAudit,
    ));
    items.push((
        "/staff/proceedings",
        "nav-proceedings",
        Permission::ViewProceedings,
    ));
    items.push((
        "/staff/court/figures",
        "nav-court-figures",
        Permission::ViewCourtFigures,
    ));
    items.push((
        "/staff/notifications",
        "nav-notifications",
        Permission::ViewNotifications,
    ));
    items.push(("/staff/portal", "nav-portal", Permission::EditPortal));
    items.push(("/staff/agencies", "nav-agencies", Permission::ViewAgencies));
    items.push((
        "/staff/agencies/register",
        "nav-register",
        Permission::ImportRegister,
    ));
    // The current section is the longest entry the path is under (the agency register's pages
    // are under the agencies' too).
    let current = items
        .iter()
        .map(|(href, _, _)| *href)
        .filter(|href| {
            if *href == "/staff/" {
                path == "/staff/"
            } else {
                path.starts_with(href)
            }
        })
        .max_by_key(|href| href.len());
    items
        .into_iter()
        .filter(|(_, _, p)| actor.can(*p))
        .map(|(href, label, _)| NavItem {
            href,
            label: tr.t(label),
            current: current == Some(href),
        })
        .collect()
}

/// Renders a template as an HTML response.
pub fn render(t: &impl Template) -> AppResult<Response> {
    let body = t.render()?;
    let mut res = Html(body).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    Ok(res)
}

/// A form value as typed, for showing back after an error.
pub fn kept(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("")
}

/// Translated messages for the fields of a form that needs fixing.
#[derive(Debug, Default, Clone)]
pub struct FormErrors {
    by_field: Vec<(String, String)>,
}

impl FormErrors {
    /// No errors.
    pub fn none() -> Self {
        Self::default()
    }

    /// Translates validation errors.
    pub fn from_validation(tr: &Tr<'_>, errors: &haven_domain::ValidationErrors) -> Self {
        let by_field = errors
            .0
            .iter()
            .map(|e| {
                let args: Vec<(&str, String)> =
                    e.args.iter().map(|(k, v)| (*k, v.clone())).collect();
                (
                    e.field.clone(),
                    tr.t_args(&format!("error-{}", e.code), &args),
                )
            })
            .collect();
        Self { by_field }
    }

    /// Adds a message for a field (or `""` for the whole form).
    pub fn add(&mut self, field: &str, message: String) {
        self.by_field.push((field.to_owned(), message));
    }

    /// The message for a field.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.by_field
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }

    /// Whether anything needs fixing.
    pub fn any(&self) -> bool {
        !self.by_field.is_empty()
    }

    /// Every message, for the summary at the top of the form.
    pub fn all(&self) -> &[(String, String)] {
        &self.by_field
    }
}
