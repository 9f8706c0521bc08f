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
    paths(me, set_my_language, institutions),
    components(schemas(Me, LanguageIn, InstitutionOut)),
    modifiers(&ApiTokenAuth),
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
