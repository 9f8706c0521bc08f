//! The portal's editors: pages in Markdown per language, with drafts, a preview, publication
//! and the history of every saved version. Readers see the latest published version; until a
//! page is edited they see its seeded first version.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query};
use axum::response::Response;
use haven_domain::Language;
use haven_store::audit::Outcome;
use haven_store::portal as store;
use serde::Deserialize;
use serde_json::json;

use super::see_other;
use crate::error::{AppError, AppResult};
use crate::portal::{PAGES, render_markdown, seeded_page};
use crate::ui::{Ctx, Page, render};

#[derive(Template)]
#[template(path = "staff/portal_pages.html")]
struct PagesT<'a> {
    page: Page<'a>,
    langs: Vec<&'static str>,
    rows: Vec<(String, Vec<(String, String)>)>,
}

/// GET /staff/portal: every page in every language, with its state.
pub async fn pages(ctx: Ctx) -> AppResult<Response> {
    let me = ctx.user()?;
    let tr = ctx.tr();
    let mut rows = Vec::new();
    for slug in PAGES {
        let mut cells = Vec::new();
        for l in Language::ALL {
            let h = store::page_history(&ctx.state.db, me.org(), slug, l.code()).await?;
            let state = match h.first() {
                None => tr.t("portal-editor-seeded"),
                Some(v) if v.published => tr.t("portal-editor-published"),
                Some(_) => tr.t("portal-editor-draft"),
            };
            cells.push((format!("/staff/portal/pages/{slug}/{}", l.code()), state));
        }
        rows.push(((*slug).to_owned(), cells));
    }
    render(&PagesT {
        page: ctx.page("portal-editor-title"),
        langs: Language::ALL.iter().map(|l| l.native_name()).collect(),
        rows,
    })
}

/// The query of the new-page form.
#[derive(Deserialize)]
pub struct NewPage {
    slug: String,
}

fn valid_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 60
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// GET /staff/portal/new?slug=: opens the editor of a new page.
pub async fn new_page(_ctx: Ctx, Query(q): Query<NewPage>) -> AppResult<Response> {
    if !valid_slug(&q.slug) {
        return Err(AppError::BadRequest);
    }
    Ok(see_other(&format!(
        "/staff/portal/pages/{}/{}",
        q.slug,
        Language::SrLatn.code()
    )))
}

#[derive(Template)]
#[template(path = "staff/portal_page.html")]
struct EditT<'a> {
    page: Page<'a>,
    slug: String,
    lang: &'static str,
    action: String,
    title: String,
    body: String,
    preview: String,
    history: Vec<String>,
}

fn lang_of(code: &str) -> AppResult<Language> {
    Language::ALL
        .into_iter()
        .find(|l| l.code() == code)
        .ok_or(AppError::NotFound)
}

async fn editor(
    ctx: &Ctx,
    slug: &str,
    lang: Language,
    text: Option<(String, String)>,
    preview: bool,
) -> AppResult<Response> {
    let me = ctx.user()?;
    let history = store::page_history(&ctx.state.db, me.org(), slug, lang.code()).await?;
    let tr = ctx.tr();
    let (title, body) = match text {
        Some(t) => t,
        None => match history.first() {
            Some(v) => (v.title.clone(), v.body.clone()),
            None => seeded_page(slug, lang).unwrap_or_default(),
        },
    };
    let mut lines = Vec::new();
    for v in &history {
        let who = haven_store::users::get(&ctx.state.db, me.org(), v.by)
            .await?
            .map(|u| u.display_name)
            .unwrap_or_default();
        lines.push(format!(
            "{} · {} · {}",
            ctx.time(v.at),
            who,
            if v.published {
                tr.t("portal-editor-published")
            } else {
                tr.t("portal-editor-draft")
            }
        ));
    }
    render(&EditT {
        page: ctx.page("portal-editor-title"),
        slug: slug.to_owned(),
        lang: lang.native_name(),
        action: format!("/staff/portal/pages/{slug}/{}", lang.code()),
        preview: if preview {
            render_markdown(&body, false)
        } else {
            String::new()
        },
        title,
        body,
        history: lines,
    })
}

/// GET /staff/portal/pages/{slug}/{lang}: the editor with the latest version.
pub async fn edit(ctx: Ctx, Path((slug, lang)): Path<(String, String)>) -> AppResult<Response> {
    if !valid_slug(&slug) {
        return Err(AppError::NotFound);
    }
    let lang = lang_of(&lang)?;
    editor(&ctx, &slug, lang, None, false).await
}

/// The editor's form.
#[derive(Deserialize)]
pub struct EditForm {
    title: String,
    body: String,
    #[serde(rename = "do")]
    action: String,
}

/// POST /staff/portal/pages/{slug}/{lang} (`do`: `preview`, `draft` or `publish`).
pub async fn save(
    ctx: Ctx,
    Path((slug, lang)): Path<(String, String)>,
    Form(f): Form<EditForm>,
) -> AppResult<Response> {
    if !valid_slug(&slug) {
        return Err(AppError::NotFound);
    }
    let lang = lang_of(&lang)?;
    let title = f.title.trim().to_owned();
    if title.is_empty() || title.chars().count() > 200 || f.body.len() > 200 * 1024 {
        return Err(AppError::BadRequest);
    }
    let publish = match f.action.as_str() {
        "preview" => return editor(&ctx, &slug, lang, Some((title, f.body)), true).await,
        "draft" => false,
        "publish" => true,
        _ => return Err(AppError::BadRequest),
    };
    let me = ctx.user()?;
    let mut tx = ctx.state.db.begin().await?;
    store::save_page(
        &mut tx,
        me.org(),
        ctx.state.ids().uuid(),
        &slug,
        lang.code(),
        &title,
        &f.body,
        publish,
        me.user.id,
        ctx.state.now(),
    )
    .await?;
    ctx.audit(
        &mut tx,
        me.org(),
        ctx.event(
            if publish {
                "portal.page_published"
            } else {
                "portal.page_drafted"
            },
            Outcome::Ok,
        )
        .details(json!({ "slug": slug, "language": lang.code() })),
    )
    .await?;
    tx.commit().await?;
    Ok(see_other(&format!(
        "/staff/portal/pages/{slug}/{}",
        lang.code()
    )))
}
