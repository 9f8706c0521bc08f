//! The JSON API of agencies: list and search, one agency, creating one, recording a job-offer
//! report about one. Same permissions, audit and sealing as the pages (`staff::agencies`).

use axum::Json;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use haven_domain::desk::ContactId;
use haven_domain::policy::contact_visible;
use haven_domain::validate::ValidationErrors;
use haven_store::agencies::{self as store, AgencyInput, AgencyRow, NewReport, ReportSource};
use haven_store::audit::Outcome;
use haven_store::contacts;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::api_desk::problem;
use crate::error::{AppError, AppResult};
use crate::staff::agencies::{RED_FLAGS, read_channel, search_agencies};
use crate::ui::Ctx;

/// An agency as lists show it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgencyOut {
    /// Its id.
    pub id: Uuid,
    /// Its name.
    pub name: String,
    /// Its registration number.
    pub registration_number: Option<String>,
    /// Its tax number.
    pub tax_number: Option<String>,
    /// `unknown`, `licensed`, `not_found` or `revoked`.
    pub licence_status: String,
    /// The date of the register's verdict.
    pub licence_as_of: Option<chrono::NaiveDate>,
    /// Whether the portal warns about it.
    pub warning_published: bool,
    /// When the warning is to be reviewed.
    pub warning_review_on: Option<chrono::NaiveDate>,
    /// How many job-offer reports name it.
    pub report_count: i64,
    /// When the latest was recorded.
    pub last_report_at: Option<chrono::DateTime<chrono::Utc>>,
}

fn out(a: &AgencyRow) -> AgencyOut {
    AgencyOut {
        id: a.id,
        name: a.name.clone(),
        registration_number: a.registration_number.clone(),
        tax_number: a.tax_number.clone(),
        licence_status: a.licence_status.code().to_owned(),
        licence_as_of: a.licence_as_of,
        warning_published: a.warning_published,
        warning_review_on: a.warning_review_on,
        report_count: a.report_count,
        last_report_at: a.last_report_at,
    }
}

/// One agency with its aliases and channels.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgencyDetailOut {
    /// The plain facts.
    pub agency: AgencyOut,
    /// Other names.
    pub aliases: Vec<String>,
    /// Channels: kind code and canonical value.
    pub channels: Vec<ChannelOut>,
    /// Staff notes.
    pub notes: String,
}

/// A channel.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChannelOut {
    /// `website`, `job_portal`, `social`, `phone` or `email`.
    pub kind: String,
    /// The canonical value.
    pub value: String,
}

/// The page of the list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// How many to skip.
    pub offset: Option<i64>,
    /// How many (at most 500).
    pub limit: Option<i64>,
}

/// Agencies, the most recently reported first.
#[utoipa::path(get, path = "/api/v1/agencies", params(ListParams), responses((status = 200, body = [AgencyOut])))]
pub async fn list(ctx: Ctx, Query(p): Query<ListParams>) -> AppResult<Json<Vec<AgencyOut>>> {
    let me = ctx.user()?;
    let rows = store::list(
        &ctx.state.db,
        me.org(),
        p.limit.unwrap_or(100).clamp(1, 500),
        p.offset.unwrap_or(0).max(0),
    )
    .await?;
    Ok(Json(rows.iter().map(out).collect()))
}

/// A search.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AgencySearchIn {
    /// A name, alias, web address, profile, phone number, e-mail, registration or tax number.
    pub q: String,
}

/// Agencies by anything typed (a POST, so the query stays out of URLs and logs).
#[utoipa::path(post, path = "/api/v1/agencies/search", request_body = AgencySearchIn, responses((status = 200, body = [AgencyOut])))]
pub async fn search(
    ctx: Ctx,
    Json(input): Json<AgencySearchIn>,
) -> AppResult<Json<Vec<AgencyOut>>> {
    let me = ctx.user()?;
    let q: String = input.q.chars().take(200).collect();
    let found = search_agencies(&ctx, &q).await?;
    ctx.audit_now(
        me.org(),
        ctx.event("agency.searched", Outcome::Ok)
            .details(json!({ "found": found.len(), "via": "api" })),
    )
    .await?;
    Ok(Json(found.iter().map(out).collect()))
}

/// One agency (audited as a view).
#[utoipa::path(get, path = "/api/v1/agencies/{id}", params(("id" = Uuid, Path, description = "The agency")), responses((status = 200, body = AgencyDetailOut), (status = 404, description = "No such agency")))]
pub async fn get(ctx: Ctx, Path(id): Path<String>) -> AppResult<Json<AgencyDetailOut>> {
    let me = ctx.user()?;
    let id: Uuid = id.parse().map_err(|_| AppError::NotFound)?;
    Ok(Json(detail(&ctx, me.org(), id).await?))
}

async fn detail(ctx: &Ctx, org: haven_domain::OrgId, id: Uuid) -> AppResult<AgencyDetailOut> {
    let ring = ctx.state.keys.get(org).await?;
    let a = store::get(&ctx.state.db, &ring, org, id)
        .await?
        .ok_or(AppError::NotFound)?;
    ctx.audit_now(
        org,
        ctx.event("agency.viewed", Outcome::Ok)
            .target("agency", id)
            .details(json!({ "via": "api" })),
    )
    .await?;
    Ok(AgencyDetailOut {
        agency: out(&a.row),
        aliases: store::aliases(&ctx.state.db, org, id)
            .await?
            .into_iter()
            .map(|x| x.alias)
            .collect(),
        channels: store::channels(&ctx.state.db, &ring, org, id)
            .await?
            .into_iter()
            .map(|c| ChannelOut {
                kind: c.channel.kind.code().to_owned(),
                value: c.channel.value,
            })
            .collect(),
        notes: a.input.notes,
    })
}

/// A new agency.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AgencyIn {
    /// Its name.
    pub name: String,
    /// Other names.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Its registration number.
    pub registration_number: Option<String>,
    /// Its tax number.
    pub tax_number: Option<String>,
    /// Web addresses, profiles, phone numbers, e-mails as typed.
    #[serde(default)]
    pub channels: Vec<String>,
    /// Countries it recruits for (ISO 3166 alpha-2).
    #[serde(default)]
    pub countries: Vec<String>,
    /// Staff notes.
    #[serde(default)]
    pub notes: String,
}

/// Records an agency; a channel another agency holds is refused (422, code
/// `agency-channel-taken`).
#[utoipa::path(post, path = "/api/v1/agencies", request_body = AgencyIn, responses((status = 201, body = AgencyDetailOut), (status = 422, description = "Field errors")))]
pub async fn create(ctx: Ctx, Json(input): Json<AgencyIn>) -> AppResult<Response> {
    let me = ctx.user()?.clone();
    let region = ctx.state.settings.org.phone_region.clone();
    let mut errors = ValidationErrors::default();
    let name = input.name.trim().to_owned();
    if name.is_empty() {
        errors.add("name", "required");
    } else if name.chars().count() > 300 {
        errors.add_with("name", "too-long", vec![("max", "300".into())]);
    }
    let mut countries = Vec::new();
    for c in &input.countries {
        match haven_domain::people::CountryCode::parse("countries", c) {
            Ok(c) => countries.push(c.as_str().to_owned()),
            Err(e) => errors.0.push(e),
        }
    }
    let ring = ctx.state.keys.get(me.org()).await?;
    let mut channels = Vec::new();
    for raw in &input.channels {
        match read_channel(raw, None, &region) {
            Some(c) => {
                if !store::channel_holders(&ctx.state.db, &ring, me.org(), &c)
                    .await?
                    .is_empty()
                {
                    errors.add("channels", "agency-channel-taken");
                }
                channels.push(c);
            }
            None => errors.add("channels", "agency-channel-invalid"),
        }
    }
    if !errors.is_empty() {
        return Ok(problem(&ctx, &errors));
    }
    let id = ctx.state.ids().uuid();
    let now = ctx.state.now();
    let rng = ctx.state.rng.as_ref();
    let mut tx = ctx.state.db.begin().await?;
    store::insert(
        &mut tx,
        &ring,
        rng,
        me.org(),
        id,
        &AgencyInput {
            name,
            registration_number: input.registration_number.clone(),
            tax_number: input.tax_number.clone(),
            countries,
            notes: input.notes.clone(),
            ..AgencyInput::default()
        },
        Some(me.user.id),
        now,
    )
    .await?;
    for a in input.aliases.iter().filter(|a| !a.trim().is_empty()) {
        let a: String = a.chars().take(300).collect();
        store::add_alias(&mut tx, me.org(), ctx.state.ids().uuid(), id, &a, now).await?;
    }
    for c in &channels {
        let _ = store::add_channel(
            &mut tx,
            &ring,
            rng,
            me.org(),
            ctx.state.ids().uuid(),
            id,
            c,
            Some(me.user.id),
            now,
        )
        .await?;
    }
    ctx.audit(
        &mut tx,
        me.org(),
        ctx.event("agency.created", Outcome::Ok)
            .target("agency", id)
            .details(json!({ "via": "api", "channels": channels.len() })),
    )
    .await?;
    tx.commit().await?;
    let body = detail(&ctx, me.org(), id).await?;
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// A job-offer report about an agency.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ReportIn {
    /// The contact it came from (must be visible to the caller).
    pub contact_id: Option<Uuid>,
    /// The name the advertiser used.
    #[serde(default)]
    pub agency_name: String,
    /// Channels the ad named, as typed (added to the agency when no other agency holds them).
    #[serde(default)]
    pub channels: Vec<String>,
    /// The ad's address.
    #[serde(default)]
    pub ad_url: String,
    /// The ad's text.
    #[serde(default)]
    pub ad_text: String,
    /// Destination country (ISO 3166 alpha-2).
    pub destination_country: Option<String>,
    /// The job offered.
    pub job_type: Option<String>,
    /// The wage promised, in minor units.
    pub wage_minor: Option<i64>,
    /// The fees asked, in minor units.
    pub fee_minor: Option<i64>,
    /// Currency of both (default EUR).
    pub currency: Option<String>,
    /// Red flag codes.
    #[serde(default)]
    pub red_flags: Vec<String>,
}

/// The report recorded.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportOut {
    /// Its id.
    pub id: Uuid,
    /// The agency.
    pub agency_id: Uuid,
}

/// Records a job-offer report about an agency.
#[utoipa::path(post, path = "/api/v1/agencies/{id}/reports", request_body = ReportIn, params(("id" = Uuid, Path, description = "The agency")), responses((status = 201, body = ReportOut), (status = 404, description = "No such agency or contact"), (status = 422, description = "Field errors")))]
pub async fn report(
    ctx: Ctx,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> AppResult<Response> {
    let me = ctx.user()?.clone();
    let id: Uuid = id.parse().map_err(|_| AppError::NotFound)?;
    store::row(&ctx.state.db, me.org(), id)
        .await?
        .ok_or(AppError::NotFound)?;
    let input: ReportIn = serde_json::from_slice(&body).map_err(|_| AppError::BadRequest)?;
    let contact = match input.contact_id {
        Some(c) => {
            let f = contacts::facts(&ctx.state.db, me.org(), ContactId(c))
                .await?
                .ok_or(AppError::NotFound)?;
            if !contact_visible(&me.actor(), f.org_id, f.confidential, &f.counsellors) {
                return Err(AppError::NotFound);
            }
            Some(f.id)
        }
        None => None,
    };
    let region = ctx.state.settings.org.phone_region.clone();
    let mut errors = ValidationErrors::default();
    let mut channels = Vec::new();
    for raw in &input.channels {
        match read_channel(raw, None, &region) {
            Some(c) if !channels.contains(&c) => channels.push(c),
            Some(_) => {}
            None => errors.add("channels", "agency-channel-invalid"),
        }
    }
    for f in &input.red_flags {
        if !RED_FLAGS.contains(&f.as_str()) {
            errors.add("red_flags", "code-unknown");
        }
    }
    let country = match input
        .destination_country
        .as_deref()
        .filter(|c| !c.is_empty())
    {
        Some(c) => match haven_domain::people::CountryCode::parse("destination_country", c) {
            Ok(c) => Some(c.as_str().to_owned()),
            Err(e) => {
                errors.0.push(e);
                None
            }
        },
        None => None,
    };
    let currency = input.currency.clone().unwrap_or_else(|| "EUR".into());
    if !haven_domain::court::valid_currency(&currency) {
        errors.add("currency", "currency-invalid");
    }
    for (field, v) in [
        ("wage_minor", input.wage_minor),
        ("fee_minor", input.fee_minor),
    ] {
        if v.is_some_and(|v| v < 0) {
            errors.add(field, "money-invalid");
        }
    }
    if input.ad_text.chars().count() > 20_000 || input.ad_url.chars().count() > 2000 {
        errors.add("ad_text", "too-long");
    }
    if !errors.is_empty() {
        return Ok(problem(&ctx, &errors));
    }
    let ring = ctx.state.keys.get(me.org()).await?;
    let now = ctx.state.now();
    let rng = ctx.state.rng.as_ref();
    let report_id = ctx.state.ids().uuid();
    let today = crate::staff::cases::parse_ctx(&ctx).today();
    let mut tx = ctx.state.db.begin().await?;
    for c in &channels {
        let _ = store::add_channel(
            &mut tx,
            &ring,
            rng,
            me.org(),
            ctx.state.ids().uuid(),
            id,
            c,
            Some(me.user.id),
            now,
        )
        .await?;
    }
    store::insert_report(
        &mut tx,
        &ring,
        rng,
        me.org(),
        &NewReport {
            id: report_id,
            agency_id: Some(id),
            contact_id: contact,
            source: ReportSource::Hotline,
            reported_on: today,
            ad_text: input.ad_text.clone(),
            ad_url: input.ad_url.clone(),
            channels,
            agency_name: input.agency_name.chars().take(300).collect(),
            destination_country: country,
            job_type: input.job_type.clone().filter(|j| !j.is_empty()),
            wage_minor: input.wage_minor,
            fee_minor: input.fee_minor,
            currency,
            red_flags: input.red_flags.clone(),
            by: me.user.id,
            now,
        },
    )
    .await?;
    ctx.audit(
        &mut tx,
        me.org(),
        ctx.event("agency.report_recorded", Outcome::Ok)
            .target("agency", id)
            .details(json!({ "report": report_id, "via": "api" })),
    )
    .await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(ReportOut {
            id: report_id,
            agency_id: id,
        }),
    )
        .into_response())
}
