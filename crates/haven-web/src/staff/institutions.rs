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
    })
}
