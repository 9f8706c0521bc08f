//! The directory of institutions and partners.

use askama::Template;
use axum::extract::Query;
use axum::response::Response;
use haven_domain::Language;
use haven_domain::institutions::InstitutionKind;
use haven_store::institutions::{self, Institution};
use serde::Deserialize;

use crate::error::AppResult;
use crate::ui::{Ctx, Page, render};

/// An institution as a row.
pub struct InstitutionRow {
    id: String,
    name: String,
    kind: String,
    area: String,
    phone: String,
    email: String,
}

#[derive(Template)]
#[template(path = "staff/institutions.html")]
struct InstitutionsPage<'a> {
    page: Page<'a>,
    q: String,
    kind: String,
    kinds: Vec<(&'static str, String)>,
    rows: Vec<InstitutionRow>,
    total: i64,
    can_manage: bool,
}

/// The directory's filters.
#[derive(Debug, Deserialize)]
pub struct InstitutionQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    kind: String,
}

/// The institution's name in the reader's language.
pub fn localized_name(i: &Institution, lang: Language) -> String {
    match lang {
        Language::SrLatn => i.name_sr_latn.clone(),
        Language::SrCyrl => i.name_cyrillic(),
        Language::En => i.name_en.clone().unwrap_or_else(|| i.name_sr_latn.clone()),
    }
}

/// GET /staff/institutions.
pub async fn list(ctx: Ctx, Query(q): Query<InstitutionQuery>) -> AppResult<Response> {
    let me = ctx.user()?;
    let tr = ctx.tr();
    let kind = InstitutionKind::from_code(&q.kind);
    let query: String = q.q.chars().take(200).collect();
    let found = institutions::search(&ctx.state.db, me.org(), kind, &query).await?;
    let total = institutions::count(&ctx.state.db, me.org()).await?;
    let rows = found
        .iter()
        .map(|i| InstitutionRow {
            id: i.id.to_string(),
            name: localized_name(i, ctx.lang),
            kind: tr.t(&format!("institution-kind-{}", i.kind.code())),
            area: i.area.clone().unwrap_or_default(),
            phone: i.phone.clone().unwrap_or_default(),
            email: i.email.clone().unwrap_or_default(),
        })
        .collect();
    render(&InstitutionsPage {
        page: ctx.page("institutions-title"),
        q: query,
        kind: kind.map(|k| k.code().to_owned()).unwrap_or_default(),
        kinds: InstitutionKind::ALL
            .into_iter()
            .map(|k| (k.code(), tr.t(&format!("institution-kind-{}", k.code()))))
            .collect(),
        rows,
        total,
        can_manage: me
            .actor()
            .can(haven_domain::policy::Permission::ManageInstitutions),
    })
}

// Changing the directory: one institution, or many from CSV.

use axum::Form;
use axum::extract::Path;
use axum::http::StatusCode;
use haven_domain::cases::FormFields;
use haven_domain::validate::ValidationErrors;
use haven_store::audit::Outcome;
use serde_json::json;

use super::court::{FormBuilder, FormState, FormView, opts_of_kinds};
use super::see_other;
use crate::error::AppError;
use crate::ui::FormErrors;

#[derive(Template)]
#[template(path = "staff/institution.html")]
struct InstitutionPage<'a> {
    page: Page<'a>,
    f: FormView,
    errors: FormErrors,
}

async fn edit_page(ctx: &Ctx, i: &Institution, o: FormState) -> AppResult<Response> {
    let me = ctx.user()?;
    let tr = ctx.tr();
    let persons = institutions::contact_persons(&ctx.state.db, me.org(), i.id).await?;
    let s = |v: &Option<String>| v.clone().unwrap_or_default();
    let f = FormBuilder::new(
        &tr,
        &o,
        "institution",
        format!("/staff/institutions/{}", i.id),
        "institution-edit-title",
        "institution-edit-submit",
    )
    .select("inst_kind", opts_of_kinds(&tr))
    .default(i.kind.code())
    .field("inst_name_sr_latn", "text", &i.name_sr_latn)
    .field("inst_name_sr_cyrl", "text", &s(&i.name_sr_cyrl))
    .hint("institution-cyrl-hint")
    .field("inst_name_en", "text", &s(&i.name_en))
    .field("inst_area", "text", &s(&i.area))
    .field("inst_country", "text", &i.country)
    .field("inst_address", "textarea", &s(&i.address))
    .field("inst_phone", "text", &s(&i.phone))
    .field("inst_email", "text", &s(&i.email))
    .field("inst_website", "text", &s(&i.website))
    .field("inst_contact_persons", "textarea", &persons)
    .hint("institution-persons-hint")
    .field("inst_notes", "textarea", &s(&i.notes))
    .build();
    let errors = o.errors.clone();
    render(&InstitutionPage {
        page: ctx.page_titled(localized_name(i, ctx.lang)),
        f,
        errors,
    })
}

async fn find(ctx: &Ctx, id: &str) -> AppResult<Institution> {
    let me = ctx.user()?;
    let id: uuid::Uuid = id.parse().map_err(|_| AppError::NotFound)?;
    institutions::get(&ctx.state.db, me.org(), id)
        .await?
        .ok_or(AppError::NotFound)
}

/// GET /staff/institutions/{id}.
pub async fn edit_form(ctx: Ctx, Path(id): Path<String>) -> AppResult<Response> {
    let i = find(&ctx, &id).await?;
    edit_page(&ctx, &i, FormState::default()).await
}

fn opt(v: &str) -> Option<String> {
    let v = v.trim();
    (!v.is_empty()).then(|| v.to_owned())
}

/// POST /staff/institutions/{id}.
pub async fn update(
    ctx: Ctx,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let me = ctx.user()?.clone();
    let old = find(&ctx, &id).await?;
    let form = pairs.as_slice();
    let mut errors = ValidationErrors::default();
    let kind = InstitutionKind::from_code(form.one("inst_kind"));
    if kind.is_none() {
        errors.add("inst_kind", "required");
    }
    let name = form.one("inst_name_sr_latn").to_owned();
    if name.is_empty() {
        errors.add("inst_name_sr_latn", "required");
    }
    let country = form.one("inst_country").to_ascii_uppercase();
    if country.len() != 2 || !country.chars().all(|c| c.is_ascii_alphabetic()) {
        errors.add("inst_country", "institution-country-invalid");
    }
    let email = form.one("inst_email");
    if !email.is_empty()
        && haven_domain::validate::EmailAddress::parse("inst_email", email).is_err()
    {
        errors.add("inst_email", "email-invalid");
    }
    for (field, max) in [
        ("inst_address", 500),
        ("inst_notes", 2000),
        ("inst_contact_persons", 2000),
    ] {
        if form.one(field).chars().count() > max {
            errors.add_with(field, "too-long", vec![("max", max.to_string())]);
        }
    }
    let (Some(kind), true) = (kind, errors.is_empty()) else {
        let o = FormState {
            section: "institution",
            errors: FormErrors::from_validation(&ctx.tr(), &errors),
            kept: form.to_vec(),
        };
        let mut res = edit_page(&ctx, &old, o).await?;
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(res);
    };
    let i = Institution {
        org_id: old.org_id,
        id: old.id,
        kind,
        name_sr_latn: name,
        name_sr_cyrl: opt(form.one("inst_name_sr_cyrl")),
        name_en: opt(form.one("inst_name_en")),
        area: opt(form.one("inst_area")),
        country,
        address: opt(form.one("inst_address")),
        phone: opt(form.one("inst_phone")),
        email: opt(email),
        website: opt(form.one("inst_website")),
        notes: opt(form.one("inst_notes")),
    };
    let now = ctx.state.now();
    let mut tx = ctx.state.db.begin().await?;
    institutions::update(&mut tx, &i, now).await?;
    institutions::set_contact_persons(&mut tx, me.org(), i.id, form.one("inst_contact_persons"))
        .await?;
    ctx.audit(
        &mut tx,
        me.org(),
        ctx.event("institution.updated", Outcome::Ok)
            .target("institution", i.id),
    )
    .await?;
    tx.commit().await?;
    Ok(see_other("/staff/institutions"))
}

#[derive(Template)]
#[template(path = "staff/institutions_import.html")]
struct ImportPage<'a> {
    page: Page<'a>,
    csv: String,
    problems: Vec<String>,
    columns: String,
}

/// GET /staff/institutions/import.
pub async fn import_form(ctx: Ctx) -> AppResult<Response> {
    render(&ImportPage {
        page: ctx.page("institutions-import-title"),
        csv: String::new(),
        problems: Vec::new(),
        columns: haven_domain::institutions::CSV_COLUMNS.join(","),
    })
}

/// POST /staff/institutions/import: every line is checked first; nothing is added unless all
/// are good.
pub async fn import(ctx: Ctx, Form(pairs): Form<Vec<(String, String)>>) -> AppResult<Response> {
    let me = ctx.user()?.clone();
    let csv: String = pairs
        .as_slice()
        .one("csv")
        .chars()
        .take(1_000_000)
        .collect();
    let rows = match haven_domain::institutions::parse_csv(&csv) {
        Ok(rows) => rows,
        Err(problems) => {
            let tr = ctx.tr();
            let mut res = render(&ImportPage {
                page: ctx.page("institutions-import-title"),
                csv,
                problems: problems
                    .into_iter()
                    .map(|(line, why)| {
                        tr.t2("institutions-import-problem", "line", line, "why", why)
                    })
                    .collect(),
                columns: haven_domain::institutions::CSV_COLUMNS.join(","),
            })?;
            *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            return Ok(res);
        }
    };
    let now = ctx.state.now();
    let mut tx = ctx.state.db.begin().await?;
    for r in &rows {
        let Some(kind) = r.kind else { continue };
        let i = Institution {
            org_id: me.org(),
            id: ctx.state.ids().uuid(),
            kind,
            name_sr_latn: r.name_sr_latn.clone(),
            name_sr_cyrl: opt(&r.name_sr_cyrl),
            name_en: opt(&r.name_en),
            area: opt(&r.area),
            country: r.country.clone(),
            address: opt(&r.address),
            phone: opt(&r.phone),
            email: opt(&r.email),
            website: opt(&r.website),
            notes: opt(&r.notes),
        };
        institutions::insert(&mut tx, &i, false, now).await?;
    }
    ctx.audit(
        &mut tx,
        me.org(),
        ctx.event("institution.imported", Outcome::Ok)
            .details(json!({ "count": rows.len() })),
    )
    .await?;
    tx.commit().await?;
    Ok(see_other("/staff/institutions"))
}
