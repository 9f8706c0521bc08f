//! The JSON API, described by an OpenAPI document at `/api/openapi.json`.
//!
//! Every staff feature gets its API here, under `/api/v1`, behind the same route table and
//! policy as the pages. Errors are `application/problem+json` (RFC 9457).

use axum::Json;
use axum::extract::Query;
use axum::response::{IntoResponse, Response};
use haven_domain::Language;
use haven_domain::institutions::InstitutionKind;
use haven_store::{institutions, users};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::error::{AppError, AppResult};
use crate::staff::institutions::localized_name;
use crate::ui::Ctx;

/// The OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Haven API",
        description = "The JSON API of Haven's staff application. Authenticate with the staff session cookie (and send the `X-CSRF-Token` header on writes) or with an API token."
    ),
    paths(me, set_my_language, institutions, cases, case, proceedings, court_figures, crate::api_desk::create, crate::api_desk::get, crate::api_desk::update, crate::api_desk::void, crate::api_desk::search, crate::api_agencies::list, crate::api_agencies::search, crate::api_agencies::get, crate::api_agencies::create, crate::api_agencies::report),
    components(schemas(Problem, Me, LanguageIn, InstitutionOut, CaseOut, EscalationOut, ProceedingOut, FigureOut, crate::api_desk::ContactIn, crate::api_desk::ContactOut, crate::api_desk::ContactRow, crate::api_desk::VoidIn, crate::api_desk::SearchIn, crate::api_agencies::AgencyOut, crate::api_agencies::AgencyDetailOut, crate::api_agencies::ChannelOut, crate::api_agencies::AgencySearchIn, crate::api_agencies::AgencyIn, crate::api_agencies::ReportIn, crate::api_agencies::ReportOut)),
    modifiers(&ApiTokenAuth, &CommonResponses),
    security(("api_token" = []))
)]
pub struct ApiDoc;

/// Declares the API token (`Authorization: Bearer hvn_…`) as the way scripts authenticate.
struct ApiTokenAuth;

impl utoipa::Modify for ApiTokenAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme(
                "api_token",
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .bearer_format("hvn_ and 43 characters")
                        .build(),
                ),
            );
    }
}

/// An error, as every API operation answers it (RFC 9457).
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary, in the caller's language.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What to do about it.
    pub detail: String,
    /// The request id, to quote to the administrator.
    pub correlation_id: String,
}

/// Declares the answers every operation may give besides its own: a request that cannot be read
/// (400), no valid token or session (401), a refusal (403), a body too large (413); with a body,
/// one that is not JSON (415) or does not fit the schema (422); with a path parameter, no such
/// record (404). Each is an `application/problem+json` [`Problem`].
struct CommonResponses;

impl utoipa::Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::ParameterIn;
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let problem = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/problem+json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("Problem")))
                        .build(),
                )
                .build()
        };
        for item in openapi.paths.paths.values_mut() {
            for op in [&mut item.get, &mut item.post].into_iter().flatten() {
                let has_body = op.request_body.is_some();
                let has_path = op
                    .parameters
                    .iter()
                    .flatten()
                    .any(|p| p.parameter_in == ParameterIn::Path);
                let mut common = vec![
                    ("400", "A query, path or body that cannot be read"),
                    ("401", "No valid API token or session"),
                    (
                        "403",
                        "Not allowed: the role or the token's scopes lack the permission, a read-only token on a write, or a failed CSRF check",
                    ),
                    ("413", "The body is too large"),
                ];
                if has_body {
                    common.push(("415", "The body is not `application/json`"));
                    common.push(("422", "The body does not fit the schema"));
                }
                if has_path {
                    common.push(("404", "No such record, or not visible to the caller"));
                }
                for (status, description) in common {
                    op.responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert_with(|| problem(description).into());
                }
            }
        }
    }
}

/// GET /api/openapi.json.
pub async fn openapi() -> Response {
    let mut res = Json(ApiDoc::openapi()).into_response();
    res.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-cache"),
    );
    res
}

/// The signed-in staff member.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    /// The account's id.
    pub id: uuid::Uuid,
    /// The organisation's id.
    pub org_id: uuid::Uuid,
    /// The name colleagues see.
    pub display_name: String,
    /// The sign-in address.
    pub email: String,
    /// Language code (`sr-latn`, `sr-cyrl`, `en`).
    pub language: String,
    /// Role codes.
    pub roles: Vec<String>,
}

fn me_of(user: &haven_store::users::User) -> Me {
    Me {
        id: user.id.0,
        org_id: user.org_id.0,
        display_name: user.display_name.clone(),
        email: user.email.clone(),
        language: user.language.code().to_owned(),
        roles: user.roles.iter().map(|r| r.code().to_owned()).collect(),
    }
}

/// Who am I.
#[utoipa::path(get, path = "/api/v1/me", responses((status = 200, body = Me), (status = 401, description = "Not signed in")))]
pub async fn me(ctx: Ctx) -> AppResult<Json<Me>> {
    Ok(Json(me_of(&ctx.user()?.user)))
}

/// A language choice.
#[derive(Debug, Deserialize, ToSchema)]
pub struct LanguageIn {
    /// Language code (`sr-latn`, `sr-cyrl`, `en`).
    pub language: String,
}

/// Changes the language of one's own staff application.
#[utoipa::path(post, path = "/api/v1/me/language", request_body = LanguageIn, responses((status = 200, body = Me), (status = 400, description = "Unknown language"), (status = 401, description = "Not signed in"), (status = 403, description = "A read-only token, or one without the permission")))]
pub async fn set_my_language(ctx: Ctx, Json(body): Json<LanguageIn>) -> AppResult<Json<Me>> {
    let u = ctx.user()?;
    let language: Language = body.language.parse().map_err(|_| AppError::BadRequest)?;
    let mut tx = ctx.state.db.begin().await?;
    users::set_language(&mut tx, u.org(), u.user.id, language, ctx.state.now()).await?;
    tx.commit().await?;
    let mut user = u.user.clone();
    user.language = language;
    Ok(Json(me_of(&user)))
}

/// An institution of the directory.
#[derive(Debug, Serialize, ToSchema)]
pub struct InstitutionOut {
    /// Its id.
    pub id: uuid::Uuid,
    /// Its kind's code.
    pub kind: String,
    /// Its name in the caller's language.
    pub name: String,
    /// The area it covers.
    pub area: Option<String>,
    /// Its country (ISO 3166 alpha-2).
    pub country: String,
    /// Its phone.
    pub phone: Option<String>,
    /// Its e-mail address.
    pub email: Option<String>,
}

/// Filters of the directory.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InstitutionParams {
    /// Words to find in a name or area, in either script.
    pub q: Option<String>,
    /// A kind's code.
    pub kind: Option<String>,
}

/// The directory of institutions.
#[utoipa::path(get, path = "/api/v1/institutions", params(InstitutionParams), responses((status = 200, body = [InstitutionOut])))]
pub async fn institutions(
    ctx: Ctx,
    Query(p): Query<InstitutionParams>,
) -> AppResult<Json<Vec<InstitutionOut>>> {
    let u = ctx.user()?;
    let kind = p.kind.as_deref().and_then(InstitutionKind::from_code);
    let q: String = p.q.unwrap_or_default().chars().take(200).collect();
    let found = institutions::search(&ctx.state.db, u.org(), kind, &q).await?;
    Ok(Json(
        found
            .iter()
            .map(|i| InstitutionOut {
                id: i.id,
                kind: i.kind.code().to_owned(),
                name: localized_name(i, ctx.lang),
                area: i.area.clone(),
                country: i.country.clone(),
                phone: i.phone.clone(),
                email: i.email.clone(),
            })
            .collect(),
    ))
}

/// A running escalation timer of a case.
#[derive(Debug, Serialize, ToSchema)]
pub struct EscalationOut {
    /// `police_report` or `family_contact`.
    pub kind: String,
    /// When it runs out.
    pub due_at: chrono::DateTime<chrono::Utc>,
    /// `ok`, `due-soon` or `overdue`.
    pub urgency: String,
}

/// A case's plain facts: codes, dates and counts, never names or texts.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseOut {
    /// Its id.
    pub id: uuid::Uuid,
    /// Its number (`116-2026-00042`).
    pub number: String,
    /// `trafficking`, `missing_child` or `labour_exploitation`.
    pub kind: String,
    /// `sos`, `116000` or `portal`.
    pub line: String,
    /// HTCDS status: `Active`, `FollowUp`, `Closed`, `ClosedReferred`.
    pub status: String,
    /// Restricted to its advisors and supervisors.
    pub restricted: bool,
    /// When opened.
    pub opened_at: chrono::DateTime<chrono::Utc>,
    /// When anything last happened.
    pub last_activity_at: chrono::DateTime<chrono::Utc>,
    /// When closed.
    pub closed_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Whether a closure awaits a supervisor's approval.
    pub closure_pending: bool,
    /// For a missing child: the 116 000 category code.
    pub missing_category: Option<String>,
    /// For a missing child: when last seen.
    pub last_seen_at: Option<chrono::DateTime<chrono::Utc>>,
    /// For a missing child: when found.
    pub found_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Escalation timers still running.
    pub escalations: Vec<EscalationOut>,
}

fn case_out(ctx: &Ctx, s: &haven_store::cases::CaseSummary) -> CaseOut {
    let facts = haven_domain::cases::EscalationFacts {
        opened_at: s.opened_at,
        open: s.status.is_open(),
        found: s.found_at.is_some(),
        police_reported_at: s.police_reported_at,
        family_contact_at: s.family_contact_at,
    };
    CaseOut {
        id: s.id.0,
        number: s.number.clone(),
        kind: s.kind.code().to_owned(),
        line: s.line.code().to_owned(),
        status: s.status.code().to_owned(),
        restricted: s.restricted,
        opened_at: s.opened_at,
        last_activity_at: s.last_activity_at,
        closed_at: s.closed_at,
        closure_pending: s.closure_request.is_some(),
        missing_category: s.missing_category.clone(),
        last_seen_at: s.last_seen_at,
        found_at: s.found_at,
        escalations: haven_domain::cases::escalations(
            &facts,
            &ctx.state.settings.cases.rules(s.line),
            ctx.state.now(),
        )
        .into_iter()
        .map(|e| EscalationOut {
            kind: e.kind.code().to_owned(),
            due_at: e.due_at,
            urgency: e.urgency.code().to_owned(),
        })
        .collect(),
    }
}

/// Filters of the case list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CaseParams {
    /// A kind's code.
    pub kind: Option<String>,
    /// A status code.
    pub status: Option<String>,
    /// Only cases the caller advises (`true`).
    pub mine: Option<bool>,
}

/// The cases the caller may open, newest first (at most 300 are considered).
#[utoipa::path(get, path = "/api/v1/cases", params(CaseParams), responses((status = 200, body = [CaseOut])))]
pub async fn cases(ctx: Ctx, Query(p): Query<CaseParams>) -> AppResult<Json<Vec<CaseOut>>> {
    use haven_store::cases::{self as store, CaseFilter};
    let u = ctx.user()?;
    let filter = CaseFilter {
        kind: p
            .kind
            .as_deref()
            .and_then(haven_domain::cases::CaseKind::from_code),
        status: p
            .status
            .as_deref()
            .and_then(haven_domain::cases::CaseStatus::from_code),
        advisor: p.mine.unwrap_or(false).then_some(u.user.id),
        ..CaseFilter::default()
    };
    let found = store::list(&ctx.state.db, u.org(), &filter, 300).await?;
    let granted = store::granted_cases(&ctx.state.db, u.org(), u.user.id, ctx.state.now()).await?;
    let actor = u.actor();
    Ok(Json(
        found
            .iter()
            .filter(|s| {
                haven_domain::policy::case_access(&actor, &s.facts(), granted.contains(&s.id))
                    .allowed()
            })
            .map(|s| case_out(&ctx, s))
            .collect(),
    ))
}

/// One case's plain facts (audited as a view; a restricted case needs the glass broken in the
/// staff application first).
#[utoipa::path(get, path = "/api/v1/cases/{id}", params(("id" = uuid::Uuid, Path, description = "The case")), responses((status = 200, body = CaseOut), (status = 403, description = "Restricted: break the glass first"), (status = 404, description = "No such case")))]
pub async fn case(
    ctx: Ctx,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> AppResult<Json<CaseOut>> {
    let g = crate::staff::cases::gate(&ctx, &id).await?;
    let u = ctx.user()?;
    let allowed = g.access.allowed();
    let ev = if allowed {
        ctx.event("case.viewed", haven_store::audit::Outcome::Ok)
            .details(serde_json::json!({ "via": "api" }))
    } else {
        ctx.event("case.access_refused", haven_store::audit::Outcome::Denied)
            .details(serde_json::json!({ "reason": "restricted" }))
    };
    ctx.audit_now(u.org(), ev.target("case", g.summary.id.0))
        .await?;
    if !allowed {
        return Err(AppError::Forbidden);
    }
    Ok(Json(case_out(&ctx, &g.summary)))
}

/// A court proceeding's plain facts (no names, numbers or notes).
#[derive(Debug, Serialize, ToSchema)]
pub struct ProceedingOut {
    /// Its id.
    pub id: uuid::Uuid,
    /// `criminal`, `misdemeanour` or `civil`.
    pub kind: String,
    /// The court (an institution of the directory).
    pub court_id: uuid::Uuid,
    /// The proceeding it follows from (a civil suit after a referred claim).
    pub parent_id: Option<uuid::Uuid>,
    /// The stage reached.
    pub stage: String,
    /// When it started.
    pub opened_on: chrono::NaiveDate,
    /// The linked cases.
    pub cases: Vec<uuid::Uuid>,
}

/// The proceedings the caller may open, by the rule of the pages (their linked cases).
#[utoipa::path(get, path = "/api/v1/proceedings", responses((status = 200, body = [ProceedingOut])))]
pub async fn proceedings(ctx: Ctx) -> AppResult<Json<Vec<ProceedingOut>>> {
    use haven_store::court as store;
    let u = ctx.user()?;
    let all = store::list(&ctx.state.db, u.org()).await?;
    let (shown, _) = crate::staff::court::visible(&ctx, all).await?;
    let facts = store::all_facts(&ctx.state.db, u.org()).await?;
    let links = store::all_links(&ctx.state.db, u.org()).await?;
    Ok(Json(
        shown
            .iter()
            .map(|r| ProceedingOut {
                id: r.id,
                kind: r.kind.clone(),
                court_id: r.court_id,
                parent_id: r.parent_id,
                stage: facts
                    .iter()
                    .find(|f| f.id == r.id)
                    .map(|f| f.stage().code())
                    .unwrap_or("investigation")
                    .to_owned(),
                opened_on: r.opened_on,
                cases: links
                    .get(&r.id)
                    .map(|c| c.iter().map(|c| c.0).collect())
                    .unwrap_or_default(),
            })
            .collect(),
    ))
}

/// One advocacy figure.
#[derive(Debug, Serialize, ToSchema)]
pub struct FigureOut {
    /// The figure's stable key (`requalified`, `plea`, `compensation-paid`…).
    pub key: String,
    /// The count.
    pub count: i64,
    /// What the count is a share of, when it is one.
    pub of: Option<i64>,
    /// Amounts per currency, in minor units.
    pub amounts: std::collections::BTreeMap<String, i64>,
    /// The median in days (`median-days-to-final`).
    pub median_days: Option<i64>,
}

/// Filters of the figures.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FigureParams {
    /// First day of the period (`YYYY-MM-DD`), by the first charge.
    pub from: Option<String>,
    /// Last day of the period.
    pub to: Option<String>,
    /// A court's id.
    pub court: Option<String>,
}

/// The advocacy figures for a period and court: aggregates only.
#[utoipa::path(get, path = "/api/v1/court/figures", params(FigureParams), responses((status = 200, body = [FigureOut]), (status = 400, description = "A malformed date or court")))]
pub async fn court_figures(
    ctx: Ctx,
    Query(p): Query<FigureParams>,
) -> AppResult<Json<Vec<FigureOut>>> {
    let q = crate::staff::court::FigureQuery {
        from: p.from.unwrap_or_default(),
        to: p.to.unwrap_or_default(),
        court: p.court.unwrap_or_default(),
        figure: String::new(),
    };
    let (figs, _, errors) = crate::staff::court::compute(&ctx, &q).await?;
    if !errors.is_empty() {
        return Err(AppError::BadRequest);
    }
    Ok(Json(
        figs.into_iter()
            .map(|f| FigureOut {
                key: f.key,
                count: f.count,
                of: f.of,
                amounts: f.amounts,
                median_days: f.value,
            })
            .collect(),
    ))
}
