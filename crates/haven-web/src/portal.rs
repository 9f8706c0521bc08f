//! The public portal: information pages, the self-check, the forms that become desk contacts,
//! and the anonymous follow-up with a receipt code.
//!
//! Safety rules every handler here keeps (ARCHITECTURE.md, "The public portal"):
//! - no cookie is ever set: the language is in the path, and forms carry a signed, time-limited
//!   token instead of a session-bound CSRF token (with the browser's `Sec-Fetch-Site`/`Origin`
//!   checked as for staff forms);
//! - no page references another origin: the quick exit goes through `/exit`, which redirects
//!   to the configured neutral site;
//! - nothing identifying in URLs or titles: receipt codes are only ever posted, never in a link;
//! - the visitor's address is used only for the in-memory rate limit, and stored with a
//!   submission only when `portal.store_addresses` is switched on.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use askama::Template;
use axum::extract::{ConnectInfo, FromRequest, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use haven_domain::desk::{
    CallerType, Channel, ContactId, ContactInput, ContactUrgency, Direction, HeardVia,
};
use haven_domain::documents::{FileType, check_upload};
use haven_domain::script::latin_to_cyrillic;
use haven_domain::{Language, OrgId, SecureRng};
use haven_store::{contacts, portal as store};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::{AppError, AppResult};
use crate::i18n::Tr;
use crate::state::AppState;
use crate::uploads;

// ---------------------------------------------------------------------------------------------
// The shield: form tokens and the in-memory rate limit.

/// How long a form token stays valid.
const TOKEN_LIFETIME: Duration = Duration::from_secs(4 * 3600);
/// The window of the rate limit.
const WINDOW: Duration = Duration::from_secs(600);

/// What the portal keeps in memory: the key of its form tokens (new at every start) and the
/// recent submissions per address. Nothing of it is ever written anywhere.
pub struct Shield {
    key: [u8; 32],
    started: Instant,
    recent: Mutex<HashMap<String, Vec<Instant>>>,
}

impl std::fmt::Debug for Shield {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shield").finish_non_exhaustive()
    }
}

/// What the rate limit says about an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pressure {
    /// Below the soft limit.
    Calm,
    /// Over the soft limit: the arithmetic challenge must be answered.
    Challenge,
    /// Over the hard limit: refused.
    Refuse,
}

impl Shield {
    /// A shield with a fresh key.
    pub fn new(rng: &dyn SecureRng) -> Self {
        Self {
            key: haven_domain::clock::random_bytes(rng),
            started: Instant::now(),
            recent: Mutex::new(HashMap::new()),
        }
    }

    fn mac(&self, data: &[u8]) -> [u8; 16] {
        // A key of one block (HMAC-SHA-256 takes any length; this one needs no fallible call).
        let mut key = [0u8; 64];
        key[..32].copy_from_slice(&self.key);
        let mut m = <Hmac<Sha256> as hmac::digest::KeyInit>::new(&key.into());
        m.update(data);
        let full = m.finalize().into_bytes();
        let mut out = [0u8; 16];
        out.copy_from_slice(&full[..16]);
        out
    }

    /// A form token: when it was issued (seconds since start) and two small numbers for the
    /// challenge, signed.
    pub fn token(&self, rng: &dyn SecureRng) -> String {
        let r: [u8; 2] = haven_domain::clock::random_bytes(rng);
        let secs = self.started.elapsed().as_secs();
        let mut data = Vec::with_capacity(26);
        data.extend_from_slice(&secs.to_be_bytes());
        data.push(r[0] % 9 + 1);
        data.push(r[1] % 9 + 1);
        let mac = self.mac(&data);
        data.extend_from_slice(&mac);
        URL_SAFE_NO_PAD.encode(data)
    }

    /// The challenge numbers of a valid, unexpired token.
    pub fn check_token(&self, token: &str) -> Option<(u8, u8)> {
        let raw = URL_SAFE_NO_PAD.decode(token.trim()).ok()?;
        if raw.len() != 26 {
            return None;
        }
        let mac = self.mac(&raw[..10]);
        if !bool::from(subtle::ConstantTimeEq::ct_eq(&mac[..], &raw[10..])) {
            return None;
        }
        let secs = u64::from_be_bytes(raw[..8].try_into().ok()?);
        let age = self.started.elapsed().as_secs().checked_sub(secs)?;
        (age <= TOKEN_LIFETIME.as_secs()).then_some((raw[8], raw[9]))
    }

    /// Counts a submission from an address and says how hard it presses.
    pub fn count(&self, addr: &str, soft: u32, hard: u32) -> Pressure {
        let now = Instant::now();
        let mut map = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 10_000 {
            map.retain(|_, v| v.last().is_some_and(|t| now.duration_since(*t) < WINDOW));
        }
        let v = map.entry(addr.to_owned()).or_default();
        v.retain(|t| now.duration_since(*t) < WINDOW);
        v.push(now);
        let n = u32::try_from(v.len()).unwrap_or(u32::MAX);
        if n > hard {
            Pressure::Refuse
        } else if n > soft {
            Pressure::Challenge
        } else {
            Pressure::Calm
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Languages, layout and content.

fn lang_of(code: &str) -> AppResult<Language> {
    Language::ALL
        .into_iter()
        .find(|l| l.code() == code)
        .ok_or(AppError::NotFound)
}

/// The pages of information, in the order the home page lists them.
pub const PAGES: &[&str] = &[
    "labour-exploitation",
    "rights-at-work",
    "legal-recruitment",
    "warning-signs",
    "what-to-do",
    "numbers",
    "contact",
    "staying-safe-online",
];

/// The seeded text of a page (Markdown; `# Title` on the first line), Latin or English.
fn seeded(slug: &str, lang: Language) -> Option<&'static str> {
    let en = lang == Language::En;
    macro_rules! page {
        ($f:literal) => {
            if en {
                include_str!(concat!("../portal/en/", $f, ".md"))
            } else {
                include_str!(concat!("../portal/sr-Latn/", $f, ".md"))
            }
        };
    }
    Some(match slug {
        "labour-exploitation" => page!("labour-exploitation"),
        "rights-at-work" => page!("rights-at-work"),
        "legal-recruitment" => page!("legal-recruitment"),
        "warning-signs" => page!("warning-signs"),
        "what-to-do" => page!("what-to-do"),
        "numbers" => page!("numbers"),
        "contact" => page!("contact"),
        "staying-safe-online" => page!("staying-safe-online"),
        _ => return None,
    })
}

/// The seeded title and Markdown of a page in a language (Cyrillic: the Latin, transliterated).
pub fn seeded_page(slug: &str, lang: Language) -> Option<(String, String)> {
    let cyr = lang == Language::SrCyrl;
    let base = if cyr { Language::SrLatn } else { lang };
    seeded(slug, base).map(|src| {
        let (t, b) = split_title(src);
        if cyr {
            (latin_to_cyrillic(&t), b.to_owned())
        } else {
            (t, b.to_owned())
        }
    })
}

/// Renders Markdown to sanitised HTML (in the domain crate, where the fuzzer drives it).
pub use haven_domain::markdown::render_markdown;

/// Splits `# Title` off a Markdown page.
fn split_title(src: &str) -> (String, &str) {
    let src = src.trim_start();
    match src.split_once('\n') {
        Some((first, rest)) if first.starts_with("# ") => (first[2..].trim().to_owned(), rest),
        _ => (String::new(), src),
    }
}

/// A page's title and Markdown body for readers: the latest published version an editor wrote
/// in that language, else (for Cyrillic) the Latin one transliterated, else the seeded text.
async fn page_source(
    state: &AppState,
    org: OrgId,
    slug: &str,
    lang: Language,
) -> AppResult<Option<(String, String, bool)>> {
    if let Some(p) = store::published_page(&state.db, org, slug, lang.code()).await? {
        return Ok(Some((p.title, p.body, false)));
    }
    let base = if lang == Language::SrCyrl {
        Language::SrLatn
    } else {
        lang
    };
    let translit = lang == Language::SrCyrl;
    if let Some(p) = store::published_page(&state.db, org, slug, base.code()).await? {
        return Ok(Some((p.title, p.body, translit)));
    }
    Ok(seeded(slug, base).map(|src| {
        let (t, b) = split_title(src);
        (t, b.to_owned(), translit)
    }))
}

/// What the layout shows.
pub struct Layout {
    lang: &'static str,
    code: &'static str,
    title: String,
    site: String,
    skip: String,
    exit: String,
    exit_hint: String,
    langs_label: String,
    langs: Vec<(&'static str, String, &'static str, bool)>,
    footer: String,
    nav: Vec<(String, String)>,
}

fn layout(state: &AppState, lang: Language, title: String, rest: &str) -> Layout {
    let tr = state.i18n.tr(lang);
    let sos = state.settings.portal.sos_number.clone();
    Layout {
        lang: lang.bcp47(),
        code: lang.code(),
        title,
        site: tr.t("portal-site"),
        skip: tr.t("portal-skip"),
        exit: tr.t("portal-exit"),
        exit_hint: tr.t("portal-exit-hint"),
        langs_label: tr.t("portal-langs"),
        langs: Language::ALL
            .into_iter()
            .map(|l| {
                (
                    l.bcp47(),
                    format!("/{}{}", l.code(), rest),
                    l.switch_label(),
                    l == lang,
                )
            })
            .collect(),
        // No number is shown until the organisation has set its own (an invented one could send
        // a person in danger to a stranger).
        footer: if sos.trim().is_empty() {
            tr.t("portal-footer-no-sos")
        } else {
            tr.t1("portal-footer", "sos", sos)
        },
        nav: vec![
            (
                format!("/{}/page/numbers", lang.code()),
                title_of(lang, "numbers"),
            ),
            (
                format!("/{}/page/staying-safe-online", lang.code()),
                title_of(lang, "staying-safe-online"),
            ),
            (
                format!("/{}/page/contact", lang.code()),
                title_of(lang, "contact"),
            ),
            (
                format!("/{}/follow-up", lang.code()),
                tr.t("portal-followup"),
            ),
        ],
    }
}

/// The seeded title of a page, for links.
fn title_of(lang: Language, slug: &str) -> String {
    let base = if lang == Language::SrCyrl {
        Language::SrLatn
    } else {
        lang
    };
    let t = seeded(slug, base)
        .map(|s| split_title(s).0)
        .unwrap_or_default();
    if lang == Language::SrCyrl {
        latin_to_cyrillic(&t)
    } else {
        t
    }
}

fn html(t: &impl Template) -> AppResult<Response> {
    let body = t.render().map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(html_response(StatusCode::OK, body))
}

fn html_response(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r
}

#[derive(Template)]
#[template(path = "portal/page.html")]
struct PageT {
    p: Layout,
    body: String,
}

/// GET /exit: the quick exit's target, so that no page links to another origin.
pub async fn exit(State(state): State<AppState>) -> Response {
    let mut r = Redirect::to(&state.settings.portal.exit_url).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// GET /: the portal's home in the language the browser prefers.
pub async fn root(headers: HeaderMap, State(state): State<AppState>) -> Response {
    let lang = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(Language::from_accept_language)
        .unwrap_or(state.settings.org.language);
    Redirect::to(&format!("/{}", lang.code())).into_response()
}

/// GET /{lang}: the home page.
pub async fn home(State(state): State<AppState>, Path(code): Path<String>) -> AppResult<Response> {
    let lang = lang_of(&code)?;
    let tr = state.i18n.tr(lang);
    let c = lang.code();
    let mut md = format!(
        "# {}\n\n{}\n\n## {}\n\n",
        tr.t("portal-home-title"),
        tr.t("portal-home-intro"),
        tr.t("portal-tools")
    );
    for (href, id) in [
        (format!("/{c}/self-check"), "portal-selfcheck"),
        (format!("/{c}/agency-check"), "portal-agency-check"),
        (format!("/{c}/send/contract-check"), "portal-form-contract"),
        (format!("/{c}/send/report"), "portal-form-report"),
        (format!("/{c}/send/question"), "portal-form-question"),
        (format!("/{c}/send/missing-child"), "portal-form-missing"),
        (format!("/{c}/follow-up"), "portal-followup"),
    ] {
        md.push_str(&format!("- [{}]({href})\n", tr.t(id)));
    }
    md.push_str(&format!("\n## {}\n\n", tr.t("portal-read")));
    for slug in PAGES {
        md.push_str(&format!("- [{}](/{c}/page/{slug})\n", title_of(lang, slug)));
    }
    // The text comes from the translations (already in the right script).
    let body = render_markdown(&md, false);
    let page = PageT {
        p: layout(&state, lang, tr.t("portal-home-title"), ""),
        body: format!("<div class=\"home\">{body}</div>"),
    };
    let mut r = html(&page)?;
    public_cache(&mut r);
    Ok(r)
}

fn public_cache(r: &mut Response) {
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
}

/// GET /{lang}/page/{slug}: a page of information.
pub async fn page(
    State(state): State<AppState>,
    Path((code, slug)): Path<(String, String)>,
) -> AppResult<Response> {
    let lang = lang_of(&code)?;
    let (title, body, translit) = page_source(&state, state.default_org, &slug, lang)
        .await?
        .ok_or(AppError::NotFound)?;
    let title = if translit {
        latin_to_cyrillic(&title)
    } else {
        title
    };
    let body = format!(
        "<h1>{}</h1>\n{}",
        askama_escape(&title),
        render_markdown(&body, translit)
    );
    let p = PageT {
        p: layout(&state, lang, title, &format!("/page/{slug}")),
        body,
    };
    let mut r = html(&p)?;
    public_cache(&mut r);
    Ok(r)
}

fn askama_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

// ---------------------------------------------------------------------------------------------
// Forms.

/// The forms of the portal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A suspicious job offer.
    Report,
    /// A contract to check (a file).
    ContractCheck,
    /// A question.
    Question,
    /// A missing child (urgent).
    MissingChild,
    /// The answers of the self-check.
    SelfCheck,
}

impl Kind {
    fn from_slug(s: &str) -> AppResult<Kind> {
        Ok(match s {
            "report" => Kind::Report,
            "contract-check" => Kind::ContractCheck,
            "question" => Kind::Question,
            "missing-child" => Kind::MissingChild,
            "self-check" => Kind::SelfCheck,
            _ => return Err(AppError::NotFound),
        })
    }

    fn slug(self) -> &'static str {
        match self {
            Kind::Report => "report",
            Kind::ContractCheck => "contract-check",
            Kind::Question => "question",
            Kind::MissingChild => "missing-child",
            Kind::SelfCheck => "self-check",
        }
    }

    fn title_id(self) -> &'static str {
        match self {
            Kind::Report => "portal-form-report",
            Kind::ContractCheck => "portal-form-contract",
            Kind::Question => "portal-form-question",
            Kind::MissingChild => "portal-form-missing",
            Kind::SelfCheck => "portal-form-selfcheck",
        }
    }

    /// The form's own fields: name, label id, kind, required.
    fn fields(self) -> &'static [(&'static str, &'static str, &'static str, bool)] {
        match self {
            Kind::Report => &[
                ("link", "portal-field-link", "text", false),
                ("agency", "portal-field-agency", "text", false),
                ("country", "portal-field-country", "text", false),
                ("text", "portal-field-text", "textarea", true),
                ("screenshot", "portal-field-screenshot", "file", false),
            ],
            Kind::ContractCheck => &[
                ("file", "portal-field-file", "file", true),
                ("text", "portal-field-question", "textarea", false),
            ],
            Kind::Question => &[("text", "portal-field-question", "textarea", true)],
            Kind::MissingChild => &[
                ("text", "portal-field-text", "textarea", true),
                ("seen", "portal-field-seen", "textarea", true),
            ],
            Kind::SelfCheck => &[("text", "portal-field-text", "textarea", false)],
        }
    }

    /// Whether the form takes files (and so the larger body limit).
    pub fn takes_files(self) -> bool {
        matches!(self, Kind::Report | Kind::ContractCheck)
    }
}

/// The largest file a visitor may send (10 MiB).
pub const UPLOAD_LIMIT: usize = 10 * 1024 * 1024;

/// The body limit of the portal's forms that take no file.
pub const FORM_LIMIT: usize = 64 * 1024;

/// The route of the forms.
pub const SEND_ROUTE: &str = "/{lang}/send/{kind}";

/// Whether a request path is one of the portal's upload forms (for the body limit).
pub fn is_upload_path(path: &str) -> bool {
    path.ends_with("/send/report") || path.ends_with("/send/contract-check")
}

const COMMON_FIELDS: &[(&str, &str, &str, bool)] = &[
    ("contact", "portal-field-contact", "text", false),
    ("safe", "portal-field-safe", "checkbox", false),
    ("safe_time", "portal-field-safe-time", "text", false),
];

/// The longest text field, in characters.
const MAX_TEXT: usize = 8000;

/// A field as the form template shows it.
pub struct FieldView {
    name: &'static str,
    label: String,
    hint: String,
    error: String,
    value: String,
    kind: &'static str,
    required: bool,
}

#[derive(Template)]
#[template(path = "portal/form.html")]
struct FormT {
    p: Layout,
    intro: String,
    urgent: String,
    errors_title: String,
    errors: Vec<(String, String)>,
    action: String,
    token: String,
    hidden: Vec<(String, String)>,
    fields: Vec<FieldView>,
    required: String,
    challenge: String,
    submit: String,
}

type Values = HashMap<String, String>;

#[allow(clippy::too_many_arguments)]
fn form_page(
    state: &AppState,
    lang: Language,
    kind: Kind,
    values: &Values,
    errors: &[(&'static str, String)],
    challenge: Option<(u8, u8)>,
    token: String,
    intro_override: Option<String>,
    urgent_override: Option<String>,
) -> AppResult<Response> {
    let tr = state.i18n.tr(lang);
    let fields = kind
        .fields()
        .iter()
        .chain(COMMON_FIELDS)
        .map(|(name, label, k, required)| FieldView {
            name,
            label: tr.t(label),
            hint: if *name == "contact" {
                tr.t("portal-field-contact-hint")
            } else {
                String::new()
            },
            error: errors
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, e)| e.clone())
                .unwrap_or_default(),
            value: if *k == "file" {
                if *name == "screenshot" {
                    "image/jpeg,image/png".into()
                } else {
                    "application/pdf,image/jpeg,image/png".into()
                }
            } else {
                values.get(*name).cloned().unwrap_or_default()
            },
            kind: k,
            required: *required,
        })
        .collect();
    let hidden = if kind == Kind::SelfCheck {
        values
            .iter()
            .filter(|(k, _)| k.starts_with("q-"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    } else {
        Vec::new()
    };
    let urgent = match (kind, urgent_override) {
        (_, Some(u)) => u,
        (Kind::MissingChild, None) => ammonia::clean(&tr.t("portal-missing-urgent")),
        _ => String::new(),
    };
    let t = FormT {
        p: layout(
            state,
            lang,
            tr.t(kind.title_id()),
            &format!("/send/{}", kind.slug()),
        ),
        intro: intro_override.unwrap_or_else(|| tr.t(&format!("{}-intro", kind.title_id()))),
        urgent,
        errors_title: tr.t("portal-errors-title"),
        errors: errors
            .iter()
            .map(|(n, e)| ((*n).to_owned(), e.clone()))
            .collect(),
        action: format!("/{}/send/{}", lang.code(), kind.slug()),
        token,
        hidden,
        fields,
        required: tr.t("portal-required"),
        challenge: challenge
            .map(|(a, b)| tr.t2("portal-challenge", "a", u32::from(a), "b", u32::from(b)))
            .unwrap_or_default(),
        submit: tr.t("portal-submit"),
    };
    let body = t.render().map_err(|e| AppError::Internal(e.to_string()))?;
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(html_response(status, body))
}

fn address(
    req_headers: &HeaderMap,
    conn: Option<&ConnectInfo<SocketAddr>>,
    trust_proxy: bool,
) -> String {
    if trust_proxy
        && let Some(first) = req_headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
        && let Ok(ip) = first.trim().parse::<std::net::IpAddr>()
    {
        return ip.to_string();
    }
    conn.map(|c| c.0.ip().to_string()).unwrap_or_default()
}

fn pressure(state: &AppState, addr: &str, add: bool) -> Pressure {
    let s = &state.settings.portal;
    state
        .portal
        .level(addr, s.challenge_after, s.refuse_after, add)
}

impl Shield {
    /// The pressure of an address, counting this request when `add`.
    pub fn level(&self, addr: &str, soft: u32, hard: u32, add: bool) -> Pressure {
        if add {
            return self.count(addr, soft, hard);
        }
        let now = Instant::now();
        let map = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        let n = map
            .get(addr)
            .map(|v| {
                v.iter()
                    .filter(|t| now.duration_since(**t) < WINDOW)
                    .count()
            })
            .unwrap_or(0);
        let n = u32::try_from(n).unwrap_or(u32::MAX);
        if n >= hard {
            Pressure::Refuse
        } else if n >= soft {
            Pressure::Challenge
        } else {
            Pressure::Calm
        }
    }
}

fn too_many(state: &AppState, lang: Language) -> AppResult<Response> {
    let tr = state.i18n.tr(lang);
    let t = MessageT {
        p: layout(state, lang, tr.t("portal-limit-title"), ""),
        paragraphs: vec![tr.t("portal-limit-body")],
        ..MessageT::empty()
    };
    let body = t.render().map_err(|e| AppError::Internal(e.to_string()))?;
    let mut r = html_response(StatusCode::TOO_MANY_REQUESTS, body);
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("600"));
    Ok(r)
}

/// GET /{lang}/send/{kind}: a form.
pub async fn form(
    State(state): State<AppState>,
    Path((code, kind)): Path<(String, String)>,
    req: Request,
) -> AppResult<Response> {
    let lang = lang_of(&code)?;
    let kind = Kind::from_slug(&kind)?;
    let addr = address(
        req.headers(),
        req.extensions().get::<ConnectInfo<SocketAddr>>(),
        state.settings.trust_proxy,
    );
    let token = state.portal.token(state.rng.as_ref());
    let challenge = match pressure(&state, &addr, false) {
        Pressure::Calm => None,
        _ => state.portal.check_token(&token),
    };
    form_page(
        &state,
        lang,
        kind,
        &Values::new(),
        &[],
        challenge,
        token,
        None,
        None,
    )
}

fn refuse_cross_site(state: &AppState, headers: &HeaderMap) -> AppResult<()> {
    if crate::security::same_site_request(headers, state.settings.trust_proxy) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// POST /{lang}/send/{kind}: a submission (multipart; files on the upload forms).
pub async fn send(
    State(state): State<AppState>,
    Path((code, kind)): Path<(String, String)>,
    req: Request,
) -> AppResult<Response> {
    let lang = lang_of(&code)?;
    let kind = Kind::from_slug(&kind)?;
    refuse_cross_site(&state, req.headers())?;
    let addr = address(
        req.headers(),
        req.extensions().get::<ConnectInfo<SocketAddr>>(),
        state.settings.trust_proxy,
    );
    // An address over the hard limit is refused before its body is read (it may be tens of MiB).
    let level = pressure(&state, &addr, true);
    if level == Pressure::Refuse {
        return too_many(&state, lang);
    }
    // Files over 10 MiB together are not kept (`too_large`); the text is.
    let sent = uploads::read(&state, req, &["file", "screenshot"], UPLOAD_LIMIT).await?;
    let mut values = Values::new();
    for (name, text) in sent.fields {
        if name.len() <= 40 && values.len() < 64 {
            values.insert(name, text);
        }
    }
    let files = sent.files;
    let tr = state.i18n.tr(lang);
    let v = |k: &str| values.get(k).map(|s| s.trim()).unwrap_or("");
    let retry = |errors: Vec<(&'static str, String)>, challenge: bool| {
        let token = state.portal.token(state.rng.as_ref());
        let ch = if challenge {
            state.portal.check_token(&token)
        } else {
            None
        };
        form_page(&state, lang, kind, &values, &errors, ch, token, None, None)
    };
    let Some((a, b)) = state.portal.check_token(v("token")) else {
        return retry(
            vec![("text", tr.t("portal-error-expired"))],
            level == Pressure::Challenge,
        );
    };
    // A filled honeypot: a robot. It is told "thank you" and nothing is recorded.
    if !v("website").is_empty() {
        return sent_page(&state, lang, None);
    }
    if level == Pressure::Challenge
        && v("answer").parse::<u32>().ok() != Some(u32::from(a) + u32::from(b))
    {
        return retry(vec![("answer", tr.t("portal-error-challenge"))], true);
    }
    let mut errors: Vec<(&'static str, String)> = Vec::new();
    if let Some(size) = sent.too_large {
        // The text is kept; the file is asked for again, smaller.
        let field = kind
            .fields()
            .iter()
            .find(|(_, _, k, _)| *k == "file")
            .map_or("file", |(name, ..)| *name);
        errors.push((
            field,
            tr.t2(
                "portal-error-file-too-large",
                "size",
                uploads::mib(size, lang),
                "max",
                UPLOAD_LIMIT / (1024 * 1024),
            ),
        ));
        let mut res = retry(errors, level == Pressure::Challenge)?;
        *res.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
        return Ok(res);
    }
    for (name, _, k, required) in kind.fields().iter().chain(COMMON_FIELDS) {
        if *k == "file" {
            continue;
        }
        let val = v(name);
        if *required && val.is_empty() {
            errors.push((name, tr.t("portal-error-required")));
        } else if val.chars().count() > MAX_TEXT {
            errors.push((name, tr.t("portal-error-too-long")));
        }
    }
    let mut accepted: Vec<(FileType, &uploads::SentFile)> = Vec::new();
    for f in &files {
        let image_only = f.field == "screenshot";
        match check_upload(&f.name, &f.content, image_only) {
            Ok(t) if matches!(t, FileType::Pdf | FileType::Jpeg | FileType::Png) => {
                accepted.push((t, f));
            }
            _ => {
                let field: &'static str = if image_only { "screenshot" } else { "file" };
                errors.push((field, tr.t("portal-error-file")));
            }
        }
    }
    if kind == Kind::ContractCheck && files.iter().all(|f| f.field != "file") {
        errors.push(("file", tr.t("portal-error-file-missing")));
    }
    if !errors.is_empty() {
        return retry(errors, level == Pressure::Challenge);
    }
    let code = record(&state, lang, kind, &values, &accepted, &addr).await?;
    sent_page(&state, lang, Some(code))
}

/// A new receipt code: 20 characters from an alphabet without look-alikes (about 98 bits).
fn receipt_code(rng: &dyn SecureRng) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTVWXYZ23456789";
    let mut out = String::with_capacity(20);
    while out.len() < 20 {
        let bytes: [u8; 32] = haven_domain::clock::random_bytes(rng);
        for b in bytes {
            // Rejection sampling: no bias towards the first letters.
            if usize::from(b) < 240 && out.len() < 20 {
                out.push(char::from(ALPHABET[usize::from(b) % ALPHABET.len()]));
            }
        }
    }
    out
}

/// A code as typed (spaces, dashes, lower case) in its stored form.
fn normalise_code(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

fn grouped(code: &str) -> String {
    code.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

/// Records a submission as a desk contact on the `portal` line with its files and receipt.
async fn record(
    state: &AppState,
    lang: Language,
    kind: Kind,
    values: &Values,
    files: &[(FileType, &uploads::SentFile)],
    addr: &str,
) -> AppResult<String> {
    let v = |k: &str| values.get(k).map(|s| s.trim()).unwrap_or("").to_owned();
    let org = state.default_org;
    let ring = state.keys.get(org).await?;
    let now = state.now();
    let ids = state.ids();
    let id: ContactId = ids.id();
    let mut notes = Vec::new();
    for (name, label) in [
        ("link", "Link"),
        ("agency", "Agency/employer"),
        ("country", "Country"),
        ("seen", "Last seen"),
        ("contact", "Contact"),
        ("safe_time", "Safe time"),
    ] {
        let val = v(name);
        if !val.is_empty() {
            notes.push(format!("{label}: {val}"));
        }
    }
    let answers: Vec<String> = values
        .keys()
        .filter(|k| k.starts_with("q-"))
        .map(|k| k[2..].to_owned())
        .collect();
    if !answers.is_empty() {
        let mut answers = answers;
        answers.sort();
        notes.push(format!("Self-check warning signs: {}", answers.join(", ")));
    }
    if state.settings.portal.store_addresses && !addr.is_empty() {
        notes.push(format!("Address: {addr}"));
    }
    let categories = match kind {
        Kind::Report => vec!["labour.job_offer".to_owned()],
        Kind::ContractCheck | Kind::SelfCheck => vec!["labour.rights".to_owned()],
        Kind::Question => vec!["information.request".to_owned()],
        Kind::MissingChild => Vec::new(),
    };
    let contact = v("contact");
    // A phone number or an e-mail address the visitor leaves goes where the desk keeps them
    // (sealed, behind the blind index), so that the lookup finds this submission when the same
    // person calls; anything else they wrote stays in the sealed notes.
    let (phone, email) =
        match haven_crypto::normalize::phone(&contact, &state.settings.org.phone_region) {
            Ok(e164) if !contact.is_empty() => (e164, String::new()),
            _ if haven_domain::validate::EmailAddress::parse("contact", &contact).is_ok() => {
                (String::new(), contact.clone())
            }
            _ => (String::new(), String::new()),
        };
    let input = ContactInput {
        line: "portal".into(),
        channel: Channel::WebForm,
        direction: Direction::Inbound,
        started_at: now,
        duration_seconds: 0,
        caller_type: CallerType::Anonymous,
        anonymous: contact.is_empty(),
        phone,
        email,
        handle: String::new(),
        language: if lang == Language::En { "en" } else { "sr" }.into(),
        safe_to_call_back: v("safe") == "yes",
        confidential: false,
        heard_via: HeardVia::Internet,
        categories,
        countries: Vec::new(),
        summary: format!("[{}] {}", kind.slug(), v("text")),
        notes: notes.join("\n"),
        urgency: if kind == Kind::MissingChild {
            ContactUrgency::Urgent
        } else {
            ContactUrgency::Routine
        },
        action: String::new(),
        outcome: String::new(),
        referral: String::new(),
        needs_follow_up: true,
    };
    let code = receipt_code(state.rng.as_ref());
    let hash = state
        .passwords
        .hash(code.clone(), state.rng.clone())
        .await?;
    let mut tx = state.db.begin().await?;
    let by = store::system_user(&mut tx, org, ids.uuid(), now).await?;
    contacts::insert(
        &mut tx,
        &ring,
        state.rng.as_ref(),
        org,
        &contacts::NewContact {
            id,
            input,
            person_id: None,
            counsellors: Vec::new(),
            by,
            now,
        },
    )
    .await?;
    store::add_receipt(&mut tx, org, id, &code[..8], &hash, now).await?;
    for (t, f) in files {
        store::add_file(
            &mut tx,
            &ring,
            state.rng.as_ref(),
            org,
            ids.uuid(),
            id,
            t.media_type(),
            &f.name,
            &f.content,
            now,
        )
        .await?;
    }
    tx.commit().await?;
    metrics::counter!("haven_portal_submissions_total", "form" => kind.slug()).increment(1);
    Ok(code)
}

#[derive(Template)]
#[template(path = "portal/message.html")]
struct MessageT {
    p: Layout,
    paragraphs: Vec<String>,
    code: String,
    thread: Vec<(&'static str, String, String)>,
    add_action: String,
    token: String,
    code_value: String,
    add_label: String,
    add_submit: String,
    links: Vec<(String, String)>,
}

impl MessageT {
    fn empty() -> Self {
        MessageT {
            p: Layout {
                lang: "",
                code: "",
                title: String::new(),
                site: String::new(),
                skip: String::new(),
                exit: String::new(),
                exit_hint: String::new(),
                langs_label: String::new(),
                langs: Vec::new(),
                footer: String::new(),
                nav: Vec::new(),
            },
            paragraphs: Vec::new(),
            code: String::new(),
            thread: Vec::new(),
            add_action: String::new(),
            token: String::new(),
            code_value: String::new(),
            add_label: String::new(),
            add_submit: String::new(),
            links: Vec::new(),
        }
    }
}

fn sent_page(state: &AppState, lang: Language, code: Option<String>) -> AppResult<Response> {
    let tr = state.i18n.tr(lang);
    let mut paragraphs = vec![tr.t("portal-sent-next")];
    if code.is_some() {
        paragraphs.push(tr.t("portal-sent-code"));
    }
    let t = MessageT {
        p: layout(state, lang, tr.t("portal-sent-title"), ""),
        paragraphs,
        code: code.as_deref().map(grouped).unwrap_or_default(),
        links: vec![(
            format!("/{}/follow-up", lang.code()),
            tr.t("portal-followup"),
        )],
        ..MessageT::empty()
    };
    html(&t)
}

// ---------------------------------------------------------------------------------------------
// Follow-up with the receipt code.

/// GET /{lang}/follow-up: asks for the receipt code.
pub async fn follow_up_form(
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> AppResult<Response> {
    let lang = lang_of(&code)?;
    follow_up_page(&state, lang, None, StatusCode::OK)
}

#[derive(Template)]
#[template(path = "portal/followup.html")]
struct FollowUpT {
    p: Layout,
    intro: String,
    error: String,
    label: String,
    token: String,
    action: String,
    submit: String,
}

fn follow_up_page(
    state: &AppState,
    lang: Language,
    error: Option<String>,
    status: StatusCode,
) -> AppResult<Response> {
    let tr = state.i18n.tr(lang);
    let t = FollowUpT {
        p: layout(state, lang, tr.t("portal-followup"), "/follow-up"),
        intro: tr.t("portal-followup-intro"),
        error: error.unwrap_or_default(),
        label: tr.t("portal-field-code"),
        token: state.portal.token(state.rng.as_ref()),
        action: format!("/{}/follow-up", lang.code()),
        submit: tr.t("portal-followup"),
    };
    let body = t.render().map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(html_response(status, body))
}

async fn read_form(state: &AppState, req: Request) -> AppResult<Values> {
    let axum::Form(v): axum::Form<Vec<(String, String)>> = axum::Form::from_request(req, state)
        .await
        .map_err(|_| AppError::BadRequest)?;
    Ok(v.into_iter().take(16).collect())
}

/// The submission a receipt code opens, checked against its Argon2 hash.
async fn open_receipt(state: &AppState, code: &str) -> AppResult<Option<(OrgId, ContactId)>> {
    let code = normalise_code(code);
    if code.len() != 20 {
        return Ok(None);
    }
    let Some((org, contact, hash)) = store::receipt(&state.db, &code[..8]).await? else {
        // The same work as a real check, so that timing does not tell whether a selector exists.
        let _ = state
            .passwords
            .verify(code, state.dummy_password_hash.clone())
            .await?;
        return Ok(None);
    };
    Ok(state
        .passwords
        .verify(code, hash)
        .await?
        .then_some((org, contact)))
}

/// POST /{lang}/follow-up (`code`, and `text` to add information): the thread of a submission.
pub async fn follow_up(
    State(state): State<AppState>,
    Path(code): Path<String>,
    req: Request,
) -> AppResult<Response> {
    let lang = lang_of(&code)?;
    refuse_cross_site(&state, req.headers())?;
    let addr = address(
        req.headers(),
        req.extensions().get::<ConnectInfo<SocketAddr>>(),
        state.settings.trust_proxy,
    );
    let values = read_form(&state, req).await?;
    if pressure(&state, &addr, true) == Pressure::Refuse {
        return too_many(&state, lang);
    }
    let tr = state.i18n.tr(lang);
    let v = |k: &str| values.get(k).map(|s| s.trim()).unwrap_or("").to_owned();
    if state.portal.check_token(&v("token")).is_none() {
        return follow_up_page(
            &state,
            lang,
            Some(tr.t("portal-error-expired")),
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    let Some((org, contact)) = open_receipt(&state, &v("code")).await? else {
        return follow_up_page(
            &state,
            lang,
            Some(tr.t("portal-error-code")),
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    };
    let ring = state.keys.get(org).await?;
    let mut paragraphs = Vec::new();
    let text = v("text");
    if !text.is_empty() {
        if text.chars().count() > MAX_TEXT {
            paragraphs.push(tr.t("portal-error-too-long"));
        } else {
            let mut tx = state.db.begin().await?;
            store::add_message(
                &mut tx,
                &ring,
                state.rng.as_ref(),
                org,
                state.ids().uuid(),
                contact,
                store::Author::Visitor,
                &text,
                None,
                state.now(),
            )
            .await?;
            tx.commit().await?;
            paragraphs.push(tr.t("portal-added"));
        }
    }
    let messages = store::messages(&state.db, &ring, org, contact).await?;
    if !messages
        .iter()
        .any(|m| m.author == store::Author::Counsellor)
    {
        paragraphs.push(tr.t("portal-thread-none"));
    }
    let thread = messages
        .into_iter()
        .map(|m| match m.author {
            store::Author::Visitor => ("visitor", tr.t("portal-thread-you"), m.body),
            store::Author::Counsellor => ("counsellor", tr.t("portal-thread-counsellor"), m.body),
        })
        .collect();
    let t = MessageT {
        p: layout(&state, lang, tr.t("portal-thread-title"), "/follow-up"),
        paragraphs,
        thread,
        add_action: format!("/{}/follow-up", lang.code()),
        token: state.portal.token(state.rng.as_ref()),
        code_value: normalise_code(&v("code")),
        add_label: tr.t("portal-add-label"),
        add_submit: tr.t("portal-add-submit"),
        ..MessageT::empty()
    };
    html(&t)
}

/// Used by tests and the desk: the translator of a language.
pub fn tr(state: &AppState, lang: Language) -> Tr<'_> {
    state.i18n.tr(lang)
}

// ---------------------------------------------------------------------------------------------
// The self-check (DOMAIN.md §3): the job-offer red flags and the ILO indicators of forced
// labour, one screen per group; the answers travel in the form from screen to screen and are
// stored nowhere unless the visitor sends them.

/// The groups of questions: title id and question codes (labels `portal-q-<code>`).
pub const SELF_CHECK: &[(&str, &[&str])] = &[
    (
        "portal-g-offer",
        &[
            "no_contract",
            "fees",
            "unregistered_agency",
            "high_wages",
            "passport_handover",
            "deductions",
            "mobile_only",
            "urgency",
        ],
    ),
    (
        "portal-g-freedom",
        &["documents", "movement", "isolation", "deception"],
    ),
    ("portal-g-money", &["wages", "debt"]),
    (
        "portal-g-treatment",
        &[
            "violence",
            "threats",
            "conditions",
            "overtime",
            "vulnerability",
        ],
    ),
];

#[derive(Template)]
#[template(path = "portal/selfcheck.html")]
struct SelfCheckT {
    p: Layout,
    intro: String,
    action: String,
    hidden: Vec<(String, String)>,
    group: String,
    questions: Vec<(String, String)>,
    submit: String,
}

fn self_check_step(
    state: &AppState,
    lang: Language,
    step: usize,
    answers: &Values,
) -> AppResult<Response> {
    let tr = state.i18n.tr(lang);
    let (group, codes) = SELF_CHECK[step];
    let mut hidden: Vec<(String, String)> = answers
        .iter()
        .filter(|(k, _)| k.starts_with("q-"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    hidden.sort();
    hidden.push(("step".into(), (step + 1).to_string()));
    let t = SelfCheckT {
        p: layout(state, lang, tr.t("portal-selfcheck"), "/self-check"),
        intro: format!(
            "{} ({}/{})",
            tr.t("portal-selfcheck-intro"),
            step + 1,
            SELF_CHECK.len()
        ),
        action: format!("/{}/self-check", lang.code()),
        hidden,
        group: tr.t(group),
        questions: codes
            .iter()
            .map(|c| (format!("q-{c}"), tr.t(&format!("portal-q-{c}"))))
            .collect(),
        submit: tr.t("portal-selfcheck-next"),
    };
    html(&t)
}

/// GET /{lang}/self-check: the first screen.
pub async fn self_check_start(
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> AppResult<Response> {
    let lang = lang_of(&code)?;
    self_check_step(&state, lang, 0, &Values::new())
}

/// POST /{lang}/self-check: the next screen, or the result after the last.
pub async fn self_check_next(
    State(state): State<AppState>,
    Path(code): Path<String>,
    req: Request,
) -> AppResult<Response> {
    let lang = lang_of(&code)?;
    refuse_cross_site(&state, req.headers())?;
    let axum::Form(pairs): axum::Form<Vec<(String, String)>> =
        axum::Form::from_request(req, &state)
            .await
            .map_err(|_| AppError::BadRequest)?;
    let known: Vec<String> = SELF_CHECK
        .iter()
        .flat_map(|(_, c)| c.iter().map(|c| format!("q-{c}")))
        .collect();
    let mut answers = Values::new();
    let mut step = 0usize;
    for (k, v) in pairs.into_iter().take(64) {
        if k == "step" {
            step = v.parse().unwrap_or(0);
        } else if known.contains(&k) && v == "yes" {
            answers.insert(k, v);
        }
    }
    if step < SELF_CHECK.len() {
        return self_check_step(&state, lang, step, &answers);
    }
    let tr = state.i18n.tr(lang);
    let mut signs: Vec<String> = known
        .iter()
        .filter(|k| answers.contains_key(*k))
        .map(|k| askama_escape(&tr.t(&format!("portal-{k}"))))
        .collect();
    let (intro, urgent) = if signs.is_empty() {
        (tr.t("portal-selfcheck-none"), String::new())
    } else {
        let items: String = signs.drain(..).map(|s| format!("<li>{s}</li>")).collect();
        (
            if state.settings.portal.sos_number.trim().is_empty() {
                tr.t("portal-selfcheck-todo-no-sos")
            } else {
                tr.t1(
                    "portal-selfcheck-todo",
                    "sos",
                    state.settings.portal.sos_number.clone(),
                )
            },
            format!(
                "<p>{}</p><ul>{items}</ul>",
                askama_escape(&tr.t("portal-selfcheck-some"))
            ),
        )
    };
    let token = state.portal.token(state.rng.as_ref());
    let mut r = form_page(
        &state,
        lang,
        Kind::SelfCheck,
        &answers,
        &[],
        None,
        token,
        Some(intro),
        Some(urgent),
    )?;
    *r.status_mut() = StatusCode::OK;
    Ok(r)
}

// ---------------------------------------------------------------------------------------------
// News: pages whose address starts with `news-`, listed newest first, and their Atom feed.

fn xml_escape(s: &str) -> String {
    askama_escape(s).replace('\'', "&apos;")
}

/// GET /{lang}/news: the published news items.
pub async fn news(State(state): State<AppState>, Path(code): Path<String>) -> AppResult<Response> {
    let lang = lang_of(&code)?;
    let tr = state.i18n.tr(lang);
    let items = store::published_news(&state.db, state.default_org, lang.code()).await?;
    let mut body = format!("<h1>{}</h1>\n<ul>\n", askama_escape(&tr.t("portal-news")));
    for p in &items {
        body.push_str(&format!(
            "<li><a href=\"/{}/page/{}\">{}</a> · {}</li>\n",
            lang.code(),
            p.slug,
            askama_escape(&p.title),
            p.at.format("%Y-%m-%d")
        ));
    }
    body.push_str(&format!(
        "</ul>\n<p><a href=\"/{}/news.atom\">Atom</a></p>",
        lang.code()
    ));
    let page = PageT {
        p: layout(&state, lang, tr.t("portal-news"), "/news"),
        body,
    };
    let mut r = html(&page)?;
    public_cache(&mut r);
    Ok(r)
}

/// GET /{lang}/news.atom: the news as an Atom feed (links relative to the site's public URL).
pub async fn news_feed(
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> AppResult<Response> {
    let lang = lang_of(&code)?;
    let tr = state.i18n.tr(lang);
    let items = store::published_news(&state.db, state.default_org, lang.code()).await?;
    let base = state
        .settings
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", state.settings.listen));
    let base = base.trim_end_matches('/');
    let updated = items
        .first()
        .map(|p| p.at)
        .unwrap_or_else(|| state.now())
        .to_rfc3339();
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:lang=\"{}\">\n<title>{}</title>\n<id>{base}/{}/news</id>\n<link href=\"{base}/{}/news\"/>\n<updated>{updated}</updated>\n",
        lang.bcp47(),
        xml_escape(&format!(
            "{} · {}",
            tr.t("portal-site"),
            tr.t("portal-news")
        )),
        lang.code(),
        lang.code(),
    );
    for p in &items {
        xml.push_str(&format!(
            "<entry>\n<title>{}</title>\n<id>{base}/{}/page/{}</id>\n<link href=\"{base}/{}/page/{}\"/>\n<updated>{}</updated>\n<author><name>{}</name></author>\n<content type=\"html\">{}</content>\n</entry>\n",
            xml_escape(&p.title),
            lang.code(),
            p.slug,
            lang.code(),
            p.slug,
            p.at.to_rfc3339(),
            xml_escape(&tr.t("portal-site")),
            xml_escape(&render_markdown(&p.body, false)),
        ));
    }
    xml.push_str("</feed>\n");
    let mut r = (StatusCode::OK, xml).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/atom+xml; charset=utf-8"),
    );
    public_cache(&mut r);
    Ok(r)
}

// ---------------------------------------------------------------------------------------------
// The agency check: a visitor types a name, a web address or a phone number and learns whether
// a licensed agency matches (as of the register's date), whether the organisation published a
// warning, or that nothing matched, and what to check before accepting an offer.
//
// What it never shows: report counts, staff notes, channels other than what was typed, ids,
// or anything about an advertiser the register and the published warnings do not already say
// in public. An advertiser Haven knows only from reports is answered like an unknown one. The
// query is posted (never in a URL) and recorded nowhere.

/// One answer of the agency check.
pub struct CheckAnswer {
    kind: &'static str,
    text: String,
    reason: String,
}

#[derive(Template)]
#[template(path = "portal/agency_check.html")]
struct AgencyCheckT {
    p: Layout,
    intro: String,
    label: String,
    hint: String,
    value: String,
    error: String,
    token: String,
    action: String,
    submit: String,
    challenge: String,
    answered: bool,
    answers: Vec<CheckAnswer>,
    nothing: String,
    tips_title: String,
    tips: Vec<String>,
}

fn agency_check_page(
    state: &AppState,
    lang: Language,
    value: &str,
    error: Option<String>,
    challenge: bool,
    answers: Option<Vec<CheckAnswer>>,
) -> AppResult<Response> {
    let tr = state.i18n.tr(lang);
    let token = state.portal.token(state.rng.as_ref());
    let challenge = if challenge {
        state
            .portal
            .check_token(&token)
            .map(|(a, b)| tr.t2("portal-challenge", "a", u32::from(a), "b", u32::from(b)))
            .unwrap_or_default()
    } else {
        String::new()
    };
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let t = AgencyCheckT {
        p: layout(state, lang, tr.t("portal-agency-check"), "/agency-check"),
        intro: tr.t("portal-agency-check-intro"),
        label: tr.t("portal-agency-check-label"),
        hint: tr.t("portal-agency-check-hint"),
        value: value.to_owned(),
        error: error.unwrap_or_default(),
        token,
        action: format!("/{}/agency-check", lang.code()),
        submit: tr.t("portal-agency-check-submit"),
        challenge,
        answered: answers.is_some(),
        nothing: tr.t("portal-agency-check-nothing"),
        answers: answers.unwrap_or_default(),
        tips_title: tr.t("portal-agency-check-tips"),
        tips: crate::staff::agencies::RED_FLAGS
            .iter()
            .map(|c| tr.t(&format!("portal-agency-tip-{c}")))
            .collect(),
    };
    let body = t.render().map_err(|e| AppError::Internal(e.to_string()))?;
    let mut r = html_response(status, body);
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

/// GET /{lang}/agency-check: the question.
pub async fn agency_check_form(
    State(state): State<AppState>,
    Path(code): Path<String>,
    req: Request,
) -> AppResult<Response> {
    let lang = lang_of(&code)?;
    let addr = address(
        req.headers(),
        req.extensions().get::<ConnectInfo<SocketAddr>>(),
        state.settings.trust_proxy,
    );
    let challenge = pressure(&state, &addr, false) != Pressure::Calm;
    agency_check_page(&state, lang, "", None, challenge, None)
}

/// What the public may learn about what was typed.
pub async fn agency_answers(
    state: &AppState,
    lang: Language,
    query: &str,
) -> AppResult<Vec<CheckAnswer>> {
    use haven_domain::agencies::{Certainty, LicenceStatus, normalise_channel};
    use haven_store::agencies::{self as agencies, MatchQuery};
    let tr = state.i18n.tr(lang);
    let org = state.default_org;
    let ring = state.keys.get(org).await?;
    let q = match normalise_channel(query, &state.settings.org.phone_region) {
        Ok(ch) => MatchQuery {
            channels: vec![ch],
            ..MatchQuery::default()
        },
        Err(_) => MatchQuery {
            name: query.to_owned(),
            registration_number: Some(query.to_owned()),
            tax_number: Some(query.to_owned()),
            ..MatchQuery::default()
        },
    };
    let found = agencies::find_matches(&state.db, &ring, org, &q, 5).await?;
    let date = |d: Option<chrono::NaiveDate>| {
        d.map(|d| crate::staff::cases::fmt_date(d, lang))
            .unwrap_or_else(|| tr.t("portal-agency-date-unknown"))
    };
    let mut out = Vec::new();
    for m in found {
        // Only sure matches speak: a possible one might name the wrong organisation.
        if !matches!(m.certainty, Certainty::Certain | Certainty::Probable) {
            continue;
        }
        let a = &m.agency;
        let mut said = false;
        match a.licence_status {
            LicenceStatus::Licensed => {
                out.push(CheckAnswer {
                    kind: "licensed",
                    text: tr.t2(
                        "portal-agency-licensed",
                        "name",
                        a.name.clone(),
                        "date",
                        date(a.licence_as_of),
                    ),
                    reason: String::new(),
                });
                said = true;
            }
            LicenceStatus::NotFound | LicenceStatus::Revoked => {
                let id = if a.licence_status == LicenceStatus::Revoked {
                    "portal-agency-revoked"
                } else {
                    "portal-agency-not-licensed"
                };
                out.push(CheckAnswer {
                    kind: "unlicensed",
                    text: tr.t1(id, "date", date(a.licence_as_of)),
                    reason: String::new(),
                });
                said = true;
            }
            LicenceStatus::Unknown => {}
        }
        if a.warning_published {
            out.push(CheckAnswer {
                kind: "warning",
                text: if said {
                    tr.t("portal-agency-warning")
                } else {
                    tr.t1("portal-agency-warning-named", "name", a.name.clone())
                },
                reason: a.warning_reason.clone().unwrap_or_default(),
            });
        }
        if out.len() >= 4 {
            break;
        }
    }
    Ok(out)
}

/// POST /{lang}/agency-check (`q`): the answer.
pub async fn agency_check(
    State(state): State<AppState>,
    Path(code): Path<String>,
    req: Request,
) -> AppResult<Response> {
    let lang = lang_of(&code)?;
    refuse_cross_site(&state, req.headers())?;
    let addr = address(
        req.headers(),
        req.extensions().get::<ConnectInfo<SocketAddr>>(),
        state.settings.trust_proxy,
    );
    let values = read_form(&state, req).await?;
    let level = pressure(&state, &addr, true);
    if level == Pressure::Refuse {
        return too_many(&state, lang);
    }
    let tr = state.i18n.tr(lang);
    let v = |k: &str| values.get(k).map(|s| s.trim()).unwrap_or("").to_owned();
    let query: String = v("q").chars().take(200).collect();
    let challenged = level == Pressure::Challenge;
    let Some((a, b)) = state.portal.check_token(&v("token")) else {
        return agency_check_page(
            &state,
            lang,
            &query,
            Some(tr.t("portal-error-expired")),
            challenged,
            None,
        );
    };
    // A filled honeypot: a robot. It learns nothing.
    if !v("website").is_empty() {
        return agency_check_page(&state, lang, "", None, false, Some(Vec::new()));
    }
    if challenged && v("answer").parse::<u32>().ok() != Some(u32::from(a) + u32::from(b)) {
        return agency_check_page(
            &state,
            lang,
            &query,
            Some(tr.t("portal-error-challenge")),
            true,
            None,
        );
    }
    if query.chars().count() < 3 {
        return agency_check_page(
            &state,
            lang,
            &query,
            Some(tr.t("portal-agency-check-short")),
            challenged,
            None,
        );
    }
    let answers = agency_answers(&state, lang, &query).await?;
    agency_check_page(&state, lang, &query, None, challenged, Some(answers))
}
