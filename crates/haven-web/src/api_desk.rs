//! The hotline desk's JSON API: create, read, update, void and search contacts, under the same
//! route table, policy, validation and audit as the pages. Phone numbers and e-mail addresses
//! are searched by POST, never in a URL.

use axum::Json;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use haven_domain::desk::{ContactId, format_duration};
use haven_domain::validate::ValidationErrors;
use haven_store::audit::Outcome;
use haven_store::contacts::{self, Contact};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::error::{AppError, AppResult};
use crate::staff::desk as pages;
use crate::ui::Ctx;

/// A contact to record or the new state of one (the intake form's fields).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactIn {
    /// Line code (`sos`, `116000`, `portal`, or one configured).
    pub line: String,
    /// Channel code (`phone`, `email`, `web_form`, `web_chat`, `sms`, `viber`, `whatsapp`,
    /// `social_media`, `in_person`, `letter`).
    pub channel: String,
    /// `inbound` (default) or `outbound`.
    #[serde(default)]
    pub direction: Option<String>,
    /// When it started (default: now).
    #[serde(default)]
    pub started_at: Option<DateTime<Utc>>,
    /// Duration in seconds (default: since the start).
    #[serde(default)]
    pub duration_seconds: Option<i64>,
    /// Caller type code.
    pub caller_type: String,
    /// Anonymous caller.
    #[serde(default)]
    pub anonymous: bool,
    /// Phone number, in any usual spelling.
    #[serde(default)]
    pub phone: String,
    /// E-mail address.
    #[serde(default)]
    pub email: String,
    /// Messenger or social-media handle.
    #[serde(default)]
    pub handle: String,
    /// Language (ISO 639-1).
    #[serde(default)]
    pub language: String,
    /// Safe to call back.
    #[serde(default)]
    pub safe_to_call_back: bool,
    /// Kept confidential (its counsellors and supervisors only).
    #[serde(default)]
    pub confidential: bool,
    /// How the caller heard of the line.
    #[serde(default)]
    pub heard_via: Option<String>,
    /// Category codes (`missing_child.parental_abduction`).
    #[serde(default)]
    pub categories: Vec<String>,
    /// Countries involved (ISO 3166-1 alpha-2).
    #[serde(default)]
    pub countries: Vec<String>,
    /// Summary.
    #[serde(default)]
    pub summary: String,
    /// Notes (at most the configured limit, 64 KiB by default).
    #[serde(default)]
    pub notes: String,
    /// `routine` (default), `urgent`, `immediate_danger`.
    #[serde(default)]
    pub urgency: Option<String>,
    /// Action taken.
    #[serde(default)]
    pub action: String,
    /// Outcome.
    #[serde(default)]
    pub outcome: String,
    /// Referred to.
    #[serde(default)]
    pub referral: String,
    /// Needs follow-up.
    #[serde(default)]
    pub needs_follow_up: bool,
    /// The person's record the caller is (one the caller may open); `null` for none. On an
    /// update, a different value links or unlinks the person (a version of its own).
    #[serde(default)]
    pub person_id: Option<uuid::Uuid>,
}

impl ContactIn {
    fn pairs(&self, ctx: &Ctx) -> Vec<(String, String)> {
        let mut p: Vec<(String, String)> = vec![
            ("line".into(), self.line.clone()),
            ("channel".into(), self.channel.clone()),
            (
                "direction".into(),
                self.direction.clone().unwrap_or_default(),
            ),
            ("caller_type".into(), self.caller_type.clone()),
            ("phone".into(), self.phone.clone()),
            ("email".into(), self.email.clone()),
            ("handle".into(), self.handle.clone()),
            ("language".into(), self.language.clone()),
            (
                "heard_via".into(),
                self.heard_via.clone().unwrap_or_default(),
            ),
            ("countries".into(), self.countries.join(",")),
            ("summary".into(), self.summary.clone()),
            ("notes".into(), self.notes.clone()),
            ("urgency".into(), self.urgency.clone().unwrap_or_default()),
            ("action".into(), self.action.clone()),
            ("outcome".into(), self.outcome.clone()),
            ("referral".into(), self.referral.clone()),
        ];
        if let Some(t) = self.started_at {
            let local = t.with_timezone(&crate::staff::cases::tz(ctx));
            p.push((
                "started_at".into(),
                local.format("%Y-%m-%dT%H:%M:%S").to_string(),
            ));
        }
        if let Some(d) = self.duration_seconds {
            p.push((
                "duration".into(),
                if d < 0 {
                    format!("-{}", -d)
                } else {
                    format_duration(d)
                },
            ));
        }
        for (k, on) in [
            ("anonymous", self.anonymous),
            ("safe_to_call_back", self.safe_to_call_back),
            ("confidential", self.confidential),
            ("needs_follow_up", self.needs_follow_up),
        ] {
            if on {
                p.push((k.into(), "on".into()));
            }
        }
        for c in &self.categories {
            p.push(("category".into(), c.clone()));
        }
        p
    }
}

/// A contact with its identifying values (every read is audited).
#[derive(Debug, Serialize, ToSchema)]
pub struct ContactOut {
    /// Id.
    pub id: uuid::Uuid,
    /// Line code.
    pub line: String,
    /// Channel code.
    pub channel: String,
    /// Direction code.
    pub direction: String,
    /// Start.
    pub started_at: DateTime<Utc>,
    /// Duration in seconds.
    pub duration_seconds: i64,
    /// Caller type code.
    pub caller_type: String,
    /// Anonymous.
    pub anonymous: bool,
    /// Phone (E.164).
    pub phone: String,
    /// E-mail.
    pub email: String,
    /// Handle.
    pub handle: String,
    /// Language.
    pub language: String,
    /// Safe to call back.
    pub safe_to_call_back: bool,
    /// Confidential.
    pub confidential: bool,
    /// How they heard.
    pub heard_via: String,
    /// Category codes.
    pub categories: Vec<String>,
    /// Countries.
    pub countries: Vec<String>,
    /// Summary.
    pub summary: String,
    /// Notes.
    pub notes: String,
    /// Urgency code.
    pub urgency: String,
    /// Action taken.
    pub action: String,
    /// Outcome.
    pub outcome: String,
    /// Referral.
    pub referral: String,
    /// Needs follow-up.
    pub needs_follow_up: bool,
    /// The person's record the caller is linked to.
    pub person_id: Option<uuid::Uuid>,
    /// Current version.
    pub version: i64,
    /// When voided.
    pub voided_at: Option<DateTime<Utc>>,
    /// Numbers of the linked cases.
    pub cases: Vec<String>,
}

/// A contact as a search lists it: plain facts only.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContactRow {
    /// Id.
    pub id: uuid::Uuid,
    /// Line code.
    pub line: String,
    /// Channel code.
    pub channel: String,
    /// Start.
    pub started_at: DateTime<Utc>,
    /// Category codes.
    pub categories: Vec<String>,
    /// Urgency code.
    pub urgency: String,
    /// Voided.
    pub voided: bool,
}

/// Why a contact was voided.
#[derive(Debug, Deserialize, ToSchema)]
pub struct VoidIn {
    /// The reason (required).
    pub reason: String,
}

/// Search filters (all optional; the same as the search page).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchIn {
    /// From this day (`YYYY-MM-DD`).
    #[serde(default)]
    pub from: String,
    /// Up to this day.
    #[serde(default)]
    pub to: String,
    /// Line code.
    #[serde(default)]
    pub line: String,
    /// Channel code.
    #[serde(default)]
    pub channel: String,
    /// A category or group code.
    #[serde(default)]
    pub category: String,
    /// A counsellor's account id.
    #[serde(default)]
    pub counsellor: String,
    /// Urgency code.
    #[serde(default)]
    pub urgency: String,
    /// A country involved.
    #[serde(default)]
    pub country: String,
    /// A case number.
    #[serde(default)]
    pub case_number: String,
    /// Exact phone number (blind index).
    #[serde(default)]
    pub phone: String,
    /// Exact e-mail address (blind index).
    #[serde(default)]
    pub email: String,
    /// Page number from 0.
    #[serde(default)]
    pub page: i64,
}

pub(crate) fn problem(ctx: &Ctx, errors: &ValidationErrors) -> Response {
    let tr = ctx.tr();
    let list: Vec<serde_json::Value> = errors
        .0
        .iter()
        .map(|e| {
            let args: Vec<(&str, String)> = e.args.iter().map(|(k, v)| (*k, v.clone())).collect();
            json!({ "field": e.field, "code": e.code, "message": tr.t_args(&format!("error-{}", e.code), &args) })
        })
        .collect();
    let mut res = (
        StatusCode::UNPROCESSABLE_ENTITY,
        Json(json!({ "type": "about:blank", "title": "Unprocessable Content", "status": 422, "errors": list })),
    )
        .into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    res
}

async fn out(ctx: &Ctx, c: &Contact) -> AppResult<ContactOut> {
    let me = ctx.user()?;
    let f = &c.facts;
    let mut cases = Vec::new();
    for id in haven_store::cases::cases_of_contact(&ctx.state.db, me.org(), f.id.0).await? {
        if let Some(s) = haven_store::cases::summary(&ctx.state.db, me.org(), id).await? {
            cases.push(s.number);
        }
    }
    Ok(ContactOut {
        id: f.id.0,
        line: f.line.clone(),
        channel: f.channel.code().into(),
        direction: f.direction.code().into(),
        started_at: f.started_at,
        duration_seconds: f.duration_seconds,
        caller_type: f.caller_type.code().into(),
        anonymous: f.anonymous,
        phone: c.phone.clone(),
        email: c.email.clone(),
        handle: c.handle.clone(),
        language: f.language.clone(),
        safe_to_call_back: f.safe_to_call_back,
        confidential: f.confidential,
        heard_via: f.heard_via.clone(),
        categories: f.categories.clone(),
        countries: f.countries.clone(),
        summary: c.summary.clone(),
        notes: c.notes.clone(),
        urgency: f.urgency.code().into(),
        action: f.action.clone(),
        outcome: f.outcome.clone(),
        referral: f.referral.clone(),
        needs_follow_up: f.needs_follow_up,
        person_id: f.person_id,
        version: f.version,
        voided_at: f.voided_at,
        cases,
    })
}

async fn read(ctx: &Ctx, id: ContactId) -> AppResult<ContactOut> {
    let c = crate::staff::desk::open_contact(ctx, id, Some("api")).await?;
    out(ctx, &c).await
}

async fn visible(ctx: &Ctx, id: &str) -> AppResult<contacts::ContactFacts> {
    let me = ctx.user()?;
    let id: ContactId = id.parse().map_err(|_| AppError::NotFound)?;
    let f = contacts::facts(&ctx.state.db, me.org(), id)
        .await?
        .ok_or(AppError::NotFound)?;
    if !haven_domain::policy::contact_visible(&me.actor(), f.org_id, f.confidential, &f.counsellors)
    {
        return Err(AppError::NotFound);
    }
    Ok(f)
}

fn check(
    ctx: &Ctx,
    input: &ContactIn,
) -> Result<haven_domain::desk::ContactInput, ValidationErrors> {
    let pairs = input.pairs(ctx);
    let rules_ctx = crate::staff::cases::parse_ctx(ctx);
    let desk = &ctx.state.settings.desk;
    let tree = desk.category_tree();
    let region = ctx.state.settings.org.phone_region.clone();
    let phone = move |raw: &str| haven_crypto::normalize::phone(raw, &region).ok();
    let rules = haven_domain::desk::DeskRules {
        lines: &desk.lines,
        categories: &tree,
        note_limit: desk.note_limit_kib as usize * 1024,
        phone: &phone,
    };
    haven_domain::desk::parse_contact(pairs.as_slice(), rules_ctx, &rules)
}

/// Records a contact.
#[utoipa::path(post, path = "/api/v1/contacts", request_body = ContactIn, responses((status = 201, body = ContactOut), (status = 422, description = "Field errors: `errors` lists field, code and message")))]
pub async fn create(ctx: Ctx, Json(input): Json<ContactIn>) -> AppResult<Response> {
    let person = person_of(&ctx, &input).await?;
    match (check(&ctx, &input), person) {
        (Ok(i), Ok(person)) => {
            let id = pages::record_contact(&ctx, i, None, person).await?;
            let body = read(&ctx, id).await?;
            Ok((StatusCode::CREATED, Json(body)).into_response())
        }
        (checked, person) => Ok(problem(&ctx, &with_person_error(checked.err(), person))),
    }
}

/// The person named by `person_id`, checked as the intake form checks it.
async fn person_of(ctx: &Ctx, input: &ContactIn) -> AppResult<Result<Option<uuid::Uuid>, ()>> {
    let raw = input.person_id.map(|p| p.to_string()).unwrap_or_default();
    pages::caller_person(ctx, &raw).await
}

fn with_person_error(
    errors: Option<ValidationErrors>,
    person: Result<Option<uuid::Uuid>, ()>,
) -> ValidationErrors {
    let mut errors = errors.unwrap_or_default();
    if person.is_err() {
        errors.add("person_id", "caller-person-unknown");
    }
    errors
}

/// One contact (audited as a view).
#[utoipa::path(get, path = "/api/v1/contacts/{id}", params(("id" = uuid::Uuid, Path, description = "The contact")), responses((status = 200, body = ContactOut), (status = 404, description = "No such contact, or not visible")))]
pub async fn get(ctx: Ctx, Path(id): Path<String>) -> AppResult<Json<ContactOut>> {
    let f = visible(&ctx, &id).await?;
    Ok(Json(read(&ctx, f.id).await?))
}

/// Replaces a contact's fields; a new version names those that changed.
#[utoipa::path(post, path = "/api/v1/contacts/{id}", request_body = ContactIn, params(("id" = uuid::Uuid, Path, description = "The contact")), responses((status = 200, body = ContactOut), (status = 422, description = "Field errors")))]
pub async fn update(
    ctx: Ctx,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> AppResult<Response> {
    // The contact is found (or not) before the body is read: another organisation learns
    // nothing from the answer.
    let f = visible(&ctx, &id).await?;
    let input: ContactIn = serde_json::from_slice(&body).map_err(|_| AppError::BadRequest)?;
    let person = person_of(&ctx, &input).await?;
    match (check(&ctx, &input), person) {
        (Ok(i), Ok(person)) => {
            pages::change_contact(&ctx, &f, &i).await?;
            if person != f.person_id {
                // The change above made a new version; the link is made on top of it.
                let now = contacts::facts(&ctx.state.db, f.org_id, f.id)
                    .await?
                    .ok_or(AppError::NotFound)?;
                pages::link_person(&ctx, &now, person).await?;
            }
            Ok(Json(read(&ctx, f.id).await?).into_response())
        }
        (checked, person) => Ok(problem(&ctx, &with_person_error(checked.err(), person))),
    }
}

/// Voids a contact with a reason (contacts are never deleted).
#[utoipa::path(post, path = "/api/v1/contacts/{id}/void", request_body = VoidIn, params(("id" = uuid::Uuid, Path, description = "The contact")), responses((status = 200, body = ContactOut), (status = 422, description = "No reason, or already voided")))]
pub async fn void(
    ctx: Ctx,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> AppResult<Response> {
    let f = visible(&ctx, &id).await?;
    let input: VoidIn = serde_json::from_slice(&body).map_err(|_| AppError::BadRequest)?;
    match pages::void_contact(&ctx, &f, &input.reason).await? {
        Ok(()) => Ok(Json(read(&ctx, f.id).await?).into_response()),
        Err(e) => Ok(problem(&ctx, &e)),
    }
}

/// Contacts matching the filters, newest first, a page of at most the configured size (50).
#[utoipa::path(post, path = "/api/v1/contacts/search", request_body = SearchIn, responses((status = 200, body = [ContactRow]), (status = 422, description = "Field errors")))]
pub async fn search(ctx: Ctx, Json(input): Json<SearchIn>) -> AppResult<Response> {
    let me = ctx.user()?;
    let form: Vec<(String, String)> = [
        ("from", &input.from),
        ("to", &input.to),
        ("line", &input.line),
        ("channel", &input.channel),
        ("category", &input.category),
        ("counsellor", &input.counsellor),
        ("urgency", &input.urgency),
        ("country", &input.country),
        ("case_number", &input.case_number),
        ("phone", &input.phone),
        ("email", &input.email),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.clone()))
    .collect();
    let f = match pages::filter_of(&ctx, &form).await? {
        Ok(f) => f,
        Err(e) => return Ok(problem(&ctx, &e)),
    };
    let size = i64::from(ctx.state.settings.desk.page_size.max(1));
    let (list, _) = pages::visible_page(&ctx, &f, input.page.max(0), size).await?;
    ctx.audit_now(
        me.org(),
        ctx.event("contact.searched", Outcome::Ok)
            .details(json!({ "via": "api", "results": list.len() })),
    )
    .await?;
    Ok(Json(
        list.into_iter()
            .map(|c| ContactRow {
                id: c.id.0,
                line: c.line,
                channel: c.channel.code().into(),
                started_at: c.started_at,
                categories: c.categories,
                urgency: c.urgency.code().into(),
                voided: c.voided_at.is_some(),
            })
            .collect::<Vec<_>>(),
    )
    .into_response())
}
