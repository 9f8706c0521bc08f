//! Documents of a case: upload (type checked by content, stored sealed) and download (only for
//! those who may open the case, always as an attachment, every time audited).

use axum::extract::{FromRequest, Multipart, Path, Request};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use haven_domain::cases::{DocumentId, DocumentKind, FormFields};
use haven_domain::documents::{check_upload, safe_file_name};
use haven_domain::people::PersonId;
use haven_domain::validate::ValidationErrors;
use haven_store::audit::Outcome;
use haven_store::cases::{self, NewEvent};
use haven_store::documents::{self, NewDocument};
use serde_json::json;

use super::cases::{event, require};
use crate::error::{AppError, AppResult};
use crate::ui::Ctx;

/// What the upload form sent.
pub(crate) struct Upload {
    pub(crate) fields: Vec<(String, String)>,
    pub(crate) name: String,
    pub(crate) content: Vec<u8>,
}

pub(crate) async fn read_upload(mut m: Multipart) -> AppResult<Upload> {
    let mut up = Upload {
        fields: Vec::new(),
        name: String::new(),
        content: Vec::new(),
    };
    loop {
        let field = match m.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(AppError::PayloadTooLarge);
            }
            Err(_) => return Err(AppError::BadRequest),
        };
        let name = field.name().unwrap_or("").to_owned();
        if name == "file" {
            up.name = safe_file_name(field.file_name().unwrap_or(""));
            up.content = match field.bytes().await {
                Ok(b) => b.to_vec(),
                Err(e) if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
                    return Err(AppError::PayloadTooLarge);
                }
                Err(_) => return Err(AppError::BadRequest),
            };
        } else {
            let text = field.text().await.map_err(|_| AppError::BadRequest)?;
            up.fields.push((name, text));
        }
    }
    Ok(up)
}

/// POST /staff/cases/{id}/documents (multipart: `kind`, `person_id`, `file`; the CSRF token in
/// the query).
pub async fn upload(ctx: Ctx, Path(id): Path<String>, req: Request) -> AppResult<Response> {
    // The case is looked up before the body is read: another organisation's case is not found,
    // whatever was sent.
    let g = match require(&ctx, &id).await? {
        Ok(g) => g,
        Err(r) => return Ok(r),
    };
    let m = Multipart::from_request(req, &ctx.state)
        .await
        .map_err(|_| AppError::BadRequest)?;
    let me = ctx.user()?.clone();
    let up = read_upload(m).await?;
    let form = up.fields.as_slice();
    let mut errors = ValidationErrors::new();
    let kind = DocumentKind::from_code(form.one("kind"));
    if kind.is_none() {
        errors.add(
            "kind",
            if form.one("kind").is_empty() {
                "required"
            } else {
                "code-unknown"
            },
        );
    }
    let person = match form.one("person_id") {
        "" => None,
        v => {
            let links = cases::people_of(&ctx.state.db, me.org(), g.summary.id).await?;
            match v
                .parse::<PersonId>()
                .ok()
                .filter(|p| links.iter().any(|l| l.person_id == *p))
            {
                Some(p) => Some(p),
                None => {
                    errors.add("person_id", "person-unknown");
                    None
                }
            }
        }
    };
    let checked = check_upload(&up.name, &up.content, kind == Some(DocumentKind::Photo));
    if let Err(refusal) = checked {
        errors.add("file", refusal.code());
        // A refused file is worth knowing about: someone may be probing the upload.
        ctx.audit_now(
            me.org(),
            ctx.event("document.refused", Outcome::Denied)
                .target("case", g.summary.id.0)
                .details(json!({ "reason": refusal.code(), "size": up.content.len() })),
        )
        .await?;
    }
    let (Some(kind), Ok(file_type), true) = (kind, checked, errors.is_empty()) else {
        let o = super::cases::FormState {
            section: "document",
            errors: crate::ui::FormErrors::from_validation(&ctx.tr(), &errors),
            kept: up.fields.clone(),
            ..Default::default()
        };
        let mut res = super::cases::case_page(&ctx, &g, "", "", o).await?;
        *res.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(res);
    };
    let ring = ctx.state.keys.get(me.org()).await?;
    let now = ctx.state.now();
    let doc: DocumentId = ctx.state.ids().id();
    let mut tx = ctx.state.db.begin().await?;
    documents::insert(
        &mut tx,
        &ring,
        ctx.state.rng.as_ref(),
        &ctx.state.ids(),
        me.org(),
        &NewDocument {
            id: doc,
            case_id: g.summary.id,
            person_id: person,
            kind,
            media_type: file_type.media_type(),
            name: up.name.clone(),
            content: &up.content,
            uploaded_by: Some(me.user.id),
            now,
        },
    )
    .await?;
    let mut ev = NewEvent::new("document_added", Some(me.user.id));
    ev.ref_id = Some(doc.0);
    ev.data = json!({ "kind": kind.code(), "media_type": file_type.media_type(), "size": up.content.len() });
    event(&ctx, &mut tx, &ring, g.summary.id, ev).await?;
    ctx.audit(
        &mut tx,
        me.org(),
        ctx.event("document.uploaded", Outcome::Ok)
            .target("case", g.summary.id.0)
            .details(json!({ "document": doc.0, "kind": kind.code(), "media_type": file_type.media_type(), "size": up.content.len() })),
    )
    .await?;
    tx.commit().await?;
    Ok(super::see_other(&format!(
        "/staff/cases/{}#documents",
        g.summary.id
    )))
}

/// The `Content-Disposition` of a download: always an attachment, with an ASCII name and the
/// full name in RFC 5987 form.
pub fn attachment(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_ ".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded = percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC);
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// GET /staff/cases/{id}/documents/{did}: the document, as a download, audited.
pub async fn download(ctx: Ctx, Path((id, did)): Path<(String, String)>) -> AppResult<Response> {
    let g = match require(&ctx, &id).await? {
        Ok(g) => g,
        Err(r) => return Ok(r),
    };
    let me = ctx.user()?;
    let did: DocumentId = did.parse().map_err(|_| AppError::NotFound)?;
    let ring = ctx.state.keys.get(me.org()).await?;
    let doc = documents::get(&ctx.state.db, &ring, me.org(), g.summary.id, did)
        .await?
        .ok_or(AppError::NotFound)?;
    let content = documents::content(&ctx.state.db, &ring, me.org(), did).await?;
    ctx.audit_now(
        me.org(),
        ctx.event("document.downloaded", Outcome::Ok)
            .target("case", g.summary.id.0)
            .details(json!({ "document": did.0, "via": if g.access == haven_domain::policy::CaseAccess::AllowedByBreakGlass { "break_glass" } else { "role" } })),
    )
    .await?;
    let mut res = content.into_response();
    let h = res.headers_mut();
    // Never rendered by the browser from Haven's origin, whatever the file holds.
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&attachment(&doc.name))
            .unwrap_or_else(|_| HeaderValue::from_static("attachment")),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox; default-src 'none'"),
    );
    Ok(res)
}
