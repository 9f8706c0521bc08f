//! The official register of licensed employment agencies, imported by a supervisor: upload a CSV
//! or XLSX file, confirm the column mapping (guessed from the headers, saved per source) and the
//! register's date, review the preview — malformed rows with their line numbers, certain matches
//! with their reasons, uncertain matches to confirm or reject one by one, register agencies Haven
//! did not know, and the differences since the source's last import — and confirm. Confirming
//! stores the rows, sets each agency's licence status as of the register's date and keeps its
//! history, in one transaction with the audit entry.
//!
//! Nothing typed is lost: a bad file or mapping shows the form again with the choices kept.

use std::collections::{HashMap, HashSet};

use axum::Form;
use axum::extract::{FromRequest, Multipart, Path, Request};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::NaiveDate;
use haven_domain::agencies::register::{
    self, ColumnMapping, FileFormat, ParsedRegister, RegisterDiff, RegisterField, RegisterRow,
};
use haven_domain::agencies::{Certainty, LicenceStatus, MatchReason};
use haven_domain::cases::FormFields;
use haven_store::agencies::{self, AgencyInput, AgencyMatch, AgencyRow, MatchQuery};
use haven_store::audit::Outcome;
use haven_store::register::{self as store, Completion, Import, ImportStatus, Matched, StoredRow};
use serde_json::json;
use uuid::Uuid;

use super::see_other;
use crate::error::{AppError, AppResult};
use crate::i18n::Tr;
use crate::ui::{Ctx, Page, render};

/// The largest register file accepted (the ministry's register is a few hundred rows).
pub const FILE_LIMIT: usize = 5 * 1024 * 1024;

/// Candidates shown for an uncertain match.
const CANDIDATES: usize = 3;

/// A select option: value, label, selected.
type Choice = (String, String, bool);

// ---------------------------------------------------------------------------------------------
// The index: upload form and the imports so far.
// ---------------------------------------------------------------------------------------------

struct ImportLine {
    id: Uuid,
    source: String,
    register_date: String,
    status: String,
    rows: i64,
    errors: i64,
    uploaded_at: String,
}

#[derive(askama::Template)]
#[template(path = "staff/register_index.html")]
struct IndexPage<'a> {
    page: Page<'a>,
    action: String,
    sources: Vec<Choice>,
    new_source: String,
    register_date: String,
    error: Option<String>,
    imports: Vec<ImportLine>,
    limit_mib: usize,
}

async fn index_page(
    ctx: &Ctx,
    source: &str,
    new_source: &str,
    register_date: &str,
    error: Option<String>,
) -> AppResult<Response> {
    let me = ctx.user()?;
    let tr = ctx.tr();
    let sources = store::sources(&ctx.state.db, me.org()).await?;
    let imports = store::imports(&ctx.state.db, me.org(), 50).await?;
    let mut res = render(&IndexPage {
        page: ctx.page("register-title"),
        action: format!("/staff/agencies/register?csrf={}", ctx.csrf()),
        sources: sources
            .iter()
            .map(|s| (s.id.to_string(), s.name.clone(), s.id.to_string() == source))
            .collect(),
        new_source: new_source.to_owned(),
        register_date: register_date.to_owned(),
        imports: imports
            .iter()
            .map(|i| ImportLine {
                id: i.id,
                source: i.source_name.clone(),
                register_date: show_date(ctx, i.register_date),
                status: tr.t(&format!("register-status-{}", i.status.code())),
                rows: i.row_count,
                errors: i.error_count,
                uploaded_at: ctx.time(i.uploaded_at),
            })
            .collect(),
        error: error.clone(),
        limit_mib: FILE_LIMIT / (1024 * 1024),
    })?;
    if error.is_some() {
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(res)
}

/// GET /staff/agencies/register.
pub async fn index(ctx: Ctx) -> AppResult<Response> {
    index_page(&ctx, "", "", "", None).await
}

fn show_date(ctx: &Ctx, d: NaiveDate) -> String {
    match ctx.lang {
        haven_domain::Language::En => d.format("%-d %b %Y").to_string(),
        _ => d.format("%-d. %-m. %Y.").to_string(),
    }
}

/// A date as typed: `2025-11-01` (the date picker) or `1.11.2025.`.
fn parse_form_date(s: &str) -> Option<NaiveDate> {
    register::parse_date(s)
}

struct Upload {
    fields: Vec<(String, String)>,
    file: Vec<u8>,
}

async fn read_upload(mut m: Multipart) -> AppResult<Upload> {
    let mut up = Upload {
        fields: Vec::new(),
        file: Vec::new(),
    };
    loop {
        let field = match m.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(AppError::PayloadTooLarge);
            }
            Err(_) => return Err(AppError::BadRequest),
        };
        let name = field.name().unwrap_or("").to_owned();
        if name == "file" {
            up.file = match field.bytes().await {
                Ok(b) => b.to_vec(),
                Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                    return Err(AppError::PayloadTooLarge);
                }
                Err(_) => return Err(AppError::BadRequest),
            };
        } else {
            let text = field.text().await.map_err(|_| AppError::BadRequest)?;
            up.fields.push((name, text.chars().take(500).collect()));
        }
    }
    Ok(up)
}

/// POST /staff/agencies/register (multipart: `source` or `new_source`, `register_date`, `file`;
/// the CSRF token in the query): keeps the file as a pending import and shows its mapping.
pub async fn upload(ctx: Ctx, req: Request) -> AppResult<Response> {
    let me = ctx.user()?.clone();
    let m = Multipart::from_request(req, &ctx.state)
        .await
        .map_err(|_| AppError::BadRequest)?;
    let up = read_upload(m).await?;
    let form = up.fields.as_slice();
    let (source_field, new_source, date_field) = (
        form.one("source"),
        form.one("new_source"),
        form.one("register_date"),
    );
    let tr = ctx.tr();
    let fail = |code: &str| Some(tr.t(code));
    let existing = match Uuid::parse_str(source_field) {
        Ok(id) => store::source(&ctx.state.db, me.org(), id).await?,
        Err(_) => None,
    };
    let error = if existing.is_none() && new_source.is_empty() {
        fail("register-error-source")
    } else if parse_form_date(date_field).is_none() {
        fail("register-error-date")
    } else if up.file.is_empty() {
        fail("register-error-no-file")
    } else if up.file.len() > FILE_LIMIT {
        fail("register-error-too-large")
    } else {
        None
    };
    if let Some(e) = error {
        return index_page(&ctx, source_field, new_source, date_field, Some(e)).await;
    }
    let register_date = parse_form_date(date_field).ok_or(AppError::BadRequest)?;
    let format = FileFormat::detect(&up.file);
    let headers = match register::read_headers(&up.file, format) {
        Ok(h) => h,
        Err(e) => {
            let msg = tr.t1("register-error-file", "why", tr.t(e.code()));
            return index_page(&ctx, source_field, new_source, date_field, Some(msg)).await;
        }
    };
    // The source's saved mapping when the file still has those headers, else a guess.
    let mapping = match &existing {
        Some(s) if fits(&s.mapping, &headers) => s.mapping.clone(),
        _ => ColumnMapping::guess(&headers),
    };
    let now = ctx.state.now();
    let ids = ctx.state.ids();
    let mut tx = ctx.state.db.begin().await?;
    let source_id = match &existing {
        Some(s) => s.id,
        None => match store::source_named(&mut tx, me.org(), new_source).await? {
            Some(id) => id,
            None => {
                let s = store::Source {
                    id: ids.uuid(),
                    name: new_source.to_owned(),
                    format,
                    mapping: mapping.clone(),
                };
                store::insert_source(&mut tx, me.org(), &s, me.user.id, now).await?;
                s.id
            }
        },
    };
    let id = ids.uuid();
    store::insert_pending(
        &mut tx,
        me.org(),
        &store::NewImport {
            id,
            source_id,
            format,
            mapping,
            register_date,
            file: up.file,
            by: me.user.id,
            now,
        },
    )
    .await?;
    ctx.audit(
        &mut tx,
        me.org(),
        ctx.event("register.uploaded", Outcome::Ok)
            .target("register_import", id)
            .details(json!({ "format": format.code() })),
    )
    .await?;
    tx.commit().await?;
    Ok(see_other(&format!("/staff/agencies/register/imports/{id}")))
}

/// Whether every header a mapping names is among the file's headers.
fn fits(mapping: &ColumnMapping, headers: &[String]) -> bool {
    mapping.is_usable()
        && mapping
            .columns
            .values()
            .all(|h| headers.iter().any(|x| x.trim() == h.trim()))
}

// ---------------------------------------------------------------------------------------------
// The preview.
// ---------------------------------------------------------------------------------------------

/// A row of the file and what Haven found for it.
struct RowMatch {
    row: RegisterRow,
    certain: Option<AgencyMatch>,
    candidates: Vec<AgencyMatch>,
}

struct Preview {
    parsed: ParsedRegister,
    matches: Vec<RowMatch>,
    diff: RegisterDiff,
    not_found: Vec<AgencyRow>,
}

async fn preview(ctx: &Ctx, imp: &Import, parsed: ParsedRegister) -> AppResult<Preview> {
    let org = ctx.user()?.org();
    let ring = ctx.state.keys.get(org).await?;
    let mut matches = Vec::with_capacity(parsed.rows.len());
    for row in &parsed.rows {
        let q = MatchQuery {
            name: row.name.clone(),
            channels: Vec::new(),
            registration_number: row.registration_number.clone(),
            tax_number: row.tax_number.clone(),
        };
        let found = agencies::find_matches(&ctx.state.db, &ring, org, &q, CANDIDATES).await?;
        let (certain, candidates) = match found.first() {
            Some(m) if m.certainty == Certainty::Certain => (Some(m.clone()), Vec::new()),
            _ => (
                None,
                found
                    .into_iter()
                    .filter(|m| m.certainty.needs_confirmation())
                    .collect(),
            ),
        };
        matches.push(RowMatch {
            row: row.clone(),
            certain,
            candidates,
        });
    }
    let previous = match store::previous_done(&ctx.state.db, org, imp.source_id, None).await? {
        Some(p) => store::rows_of(&ctx.state.db, org, p.id).await?,
        None => Vec::new(),
    };
    let previous: Vec<RegisterRow> = previous.into_iter().map(|s| s.row).collect();
    let diff = register::diff(&previous, &parsed.rows);
    let matched: HashSet<Uuid> = matches
        .iter()
        .filter_map(|m| m.certain.as_ref().map(|c| c.agency.id))
        .chain(
            matches
                .iter()
                .flat_map(|m| m.candidates.iter().map(|c| c.agency.id)),
        )
        .collect();
    let licensed = store::licensed_by_source(&ctx.state.db, org, imp.source_id).await?;
    let absent: Vec<Uuid> = licensed
        .into_iter()
        .filter(|a| !matched.contains(a))
        .collect();
    let not_found = agencies::rows(&ctx.state.db, org, &absent).await?;
    Ok(Preview {
        parsed,
        matches,
        diff,
        not_found,
    })
}

fn reason_text(tr: &Tr<'_>, r: &MatchReason) -> String {
    let id = format!("register-reason-{}", r.code());
    match r {
        MatchReason::SameChannel(kind) => tr.t1(&id, "kind", kind.code()),
        MatchReason::SimilarName { percent } => tr.t1(&id, "percent", i64::from(*percent)),
        MatchReason::SharedWords { count } => tr.t1(&id, "count", i64::from(*count)),
        _ => tr.t(&id),
    }
}

fn row_error_text(tr: &Tr<'_>, code: &str, detail: &str) -> String {
    tr.t1(&format!("register-row-{code}"), "detail", detail.to_owned())
}

struct ErrorLine {
    line: usize,
    why: String,
}

struct CertainLine {
    line: usize,
    name: String,
    agency_id: Uuid,
    agency_name: String,
    reasons: String,
    licensed: bool,
}

struct CandidateView {
    agency_id: Uuid,
    agency_name: String,
    certainty: String,
    reasons: String,
    chosen: bool,
}

struct UncertainLine {
    line: usize,
    name: String,
    numbers: String,
    candidates: Vec<CandidateView>,
    new_chosen: bool,
    error: bool,
}

struct PlainLine {
    line: usize,
    name: String,
    numbers: String,
    licensed: bool,
}

struct NamedAgency {
    id: Uuid,
    name: String,
}

struct DiffView {
    new_licences: Vec<PlainLine>,
    revoked: Vec<PlainLine>,
    removed: Vec<PlainLine>,
    changed: Vec<PlainLine>,
    first: bool,
}

fn numbers(r: &RegisterRow) -> String {
    [
        r.registration_number.as_deref(),
        r.tax_number.as_deref(),
        r.licence_number.as_deref(),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" · ")
}

fn plain(r: &RegisterRow) -> PlainLine {
    PlainLine {
        line: r.line,
        name: r.name.clone(),
        numbers: numbers(r),
        licensed: r.licensed,
    }
}

fn diff_view(d: &RegisterDiff, first: bool) -> DiffView {
    DiffView {
        new_licences: d.new_licences.iter().map(plain).collect(),
        revoked: d.revoked.iter().map(plain).collect(),
        removed: d.removed.iter().map(plain).collect(),
        changed: d.changed.iter().map(|(_, now)| plain(now)).collect(),
        first,
    }
}

struct DoneRow {
    line: usize,
    name: String,
    agency_id: Uuid,
    matched: String,
    licensed: bool,
}

#[derive(askama::Template)]
#[template(path = "staff/register_import.html")]
struct ImportPage<'a> {
    page: Page<'a>,
    id: Uuid,
    source: String,
    pending: bool,
    register_date: String,
    register_date_shown: String,
    format: String,
    /// Field code, label, options (header, selected).
    fields: Vec<(String, String, Vec<Choice>)>,
    mapping_error: Option<String>,
    confirm_error: Option<String>,
    has_preview: bool,
    row_count: usize,
    errors: Vec<ErrorLine>,
    certain: Vec<CertainLine>,
    uncertain: Vec<UncertainLine>,
    unmatched: Vec<PlainLine>,
    not_found: Vec<NamedAgency>,
    diff: DiffView,
    done_rows: Vec<DoneRow>,
    counts: (i64, i64, i64, i64),
    imported_at: String,
}

/// What the mapping form holds: the chosen header per field and the date as typed.
struct MappingChoice {
    mapping: ColumnMapping,
    date: String,
}

#[allow(clippy::too_many_arguments)]
async fn import_page(
    ctx: &Ctx,
    imp: &Import,
    choice: &MappingChoice,
    mapping_error: Option<String>,
    confirm_error: Option<String>,
    decisions: &HashMap<usize, String>,
    missing: &HashSet<usize>,
    status: StatusCode,
) -> AppResult<Response> {
    let org = ctx.user()?.org();
    let tr = ctx.tr();
    let file = store::file(&ctx.state.db, org, imp.id).await?;
    let headers = register::read_headers(&file, imp.format).unwrap_or_default();
    let fields = RegisterField::ALL
        .iter()
        .map(|f| {
            let chosen = choice.mapping.get(*f).unwrap_or("");
            let mut opts: Vec<Choice> = vec![(
                String::new(),
                tr.t("register-not-in-file"),
                chosen.is_empty(),
            )];
            opts.extend(
                headers
                    .iter()
                    .filter(|h| !h.is_empty())
                    .map(|h| (h.clone(), h.clone(), h == chosen)),
            );
            (
                f.code().to_owned(),
                tr.t(&format!("register-field-{}", f.code())),
                opts,
            )
        })
        .collect();
    let mut page = ImportPage {
        page: ctx.page("register-import-title"),
        id: imp.id,
        source: imp.source_name.clone(),
        pending: imp.status == ImportStatus::Pending,
        register_date: choice.date.clone(),
        register_date_shown: show_date(ctx, imp.register_date),
        format: imp.format.code().to_uppercase(),
        fields,
        mapping_error,
        confirm_error,
        has_preview: false,
        row_count: 0,
        errors: Vec::new(),
        certain: Vec::new(),
        uncertain: Vec::new(),
        unmatched: Vec::new(),
        not_found: Vec::new(),
        diff: diff_view(&RegisterDiff::default(), true),
        done_rows: Vec::new(),
        counts: (
            imp.row_count,
            imp.error_count,
            imp.created_count,
            imp.not_found_count,
        ),
        imported_at: imp.imported_at.map(|t| ctx.time(t)).unwrap_or_default(),
    };
    if imp.status == ImportStatus::Done {
        let rows = store::rows_of(&ctx.state.db, org, imp.id).await?;
        let previous =
            match store::previous_done(&ctx.state.db, org, imp.source_id, imp.imported_at).await? {
                Some(p) => Some(store::rows_of(&ctx.state.db, org, p.id).await?),
                None => None,
            };
        let current: Vec<RegisterRow> = rows.iter().map(|s| s.row.clone()).collect();
        let before: Vec<RegisterRow> = previous
            .as_ref()
            .map(|p| p.iter().map(|s| s.row.clone()).collect())
            .unwrap_or_default();
        page.diff = diff_view(&register::diff(&before, &current), previous.is_none());
        page.done_rows = rows
            .iter()
            .map(|s: &StoredRow| DoneRow {
                line: s.row.line,
                name: s.row.name.clone(),
                agency_id: s.agency_id,
                matched: tr.t(&format!("register-matched-{}", s.matched.code())),
                licensed: s.row.licensed,
            })
            .collect();
        page.has_preview = true;
        page.row_count = rows.len();
        return render(&page);
    }
    if page.mapping_error.is_none() {
        match register::parse(&file, imp.format, &choice.mapping) {
            Err(e) => page.mapping_error = Some(mapping_error_text(&tr, &e)),
            Ok(parsed) => {
                let first = store::previous_done(&ctx.state.db, org, imp.source_id, None)
                    .await?
                    .is_none();
                let p = preview(ctx, imp, parsed).await?;
                fill_preview(ctx, &mut page, &p, decisions, missing, first);
            }
        }
    }
    let mut res = render(&page)?;
    *res.status_mut() = status;
    Ok(res)
}

fn mapping_error_text(tr: &Tr<'_>, e: &register::RegisterError) -> String {
    match e {
        register::RegisterError::MissingColumn(f) => tr.t1(
            "register-error-missing-column",
            "field",
            tr.t(&format!("register-field-{}", f.code())),
        ),
        other => tr.t1("register-error-file", "why", tr.t(other.code())),
    }
}

fn fill_preview(
    ctx: &Ctx,
    page: &mut ImportPage<'_>,
    p: &Preview,
    decisions: &HashMap<usize, String>,
    missing: &HashSet<usize>,
    first: bool,
) {
    let tr = ctx.tr();
    let reasons = |m: &AgencyMatch| {
        m.reasons
            .iter()
            .map(|r| reason_text(&tr, r))
            .collect::<Vec<_>>()
            .join("; ")
    };
    page.has_preview = true;
    page.row_count = p.parsed.rows.len();
    page.errors = p
        .parsed
        .errors
        .iter()
        .map(|e| ErrorLine {
            line: e.line,
            why: row_error_text(&tr, e.code, &e.detail),
        })
        .collect();
    for m in &p.matches {
        if let Some(c) = &m.certain {
            page.certain.push(CertainLine {
                line: m.row.line,
                name: m.row.name.clone(),
                agency_id: c.agency.id,
                agency_name: c.agency.name.clone(),
                reasons: reasons(c),
                licensed: m.row.licensed,
            });
        } else if m.candidates.is_empty() {
            page.unmatched.push(plain(&m.row));
        } else {
            let decided = decisions.get(&m.row.line).map(String::as_str).unwrap_or("");
            page.uncertain.push(UncertainLine {
                line: m.row.line,
                name: m.row.name.clone(),
                numbers: numbers(&m.row),
                candidates: m
                    .candidates
                    .iter()
                    .map(|c| CandidateView {
                        agency_id: c.agency.id,
                        agency_name: c.agency.name.clone(),
                        certainty: tr.t(&format!("register-certainty-{}", c.certainty.code())),
                        reasons: reasons(c),
                        chosen: decided == c.agency.id.to_string(),
                    })
                    .collect(),
                new_chosen: decided == "new",
                error: missing.contains(&m.row.line),
            });
        }
    }
    page.not_found = p
        .not_found
        .iter()
        .map(|a| NamedAgency {
            id: a.id,
            name: a.name.clone(),
        })
        .collect();
    page.diff = diff_view(&p.diff, first);
}

async fn pending_or_done(ctx: &Ctx, id: &str) -> AppResult<Import> {
    let org = ctx.user()?.org();
    let id = Uuid::parse_str(id).map_err(|_| AppError::NotFound)?;
    store::import(&ctx.state.db, org, id)
        .await?
        .ok_or(AppError::NotFound)
}

/// GET /staff/agencies/register/imports/{id}: the mapping and the preview (pending), or what the
/// import did (done).
pub async fn show(ctx: Ctx, Path(id): Path<String>) -> AppResult<Response> {
    let imp = pending_or_done(&ctx, &id).await?;
    let me = ctx.user()?.clone();
    ctx.audit_now(
        me.org(),
        ctx.event("register.viewed", Outcome::Ok)
            .target("register_import", imp.id),
    )
    .await?;
    let choice = MappingChoice {
        mapping: imp.mapping.clone(),
        date: imp.register_date.format("%Y-%m-%d").to_string(),
    };
    import_page(
        &ctx,
        &imp,
        &choice,
        None,
        None,
        &HashMap::new(),
        &HashSet::new(),
        StatusCode::OK,
    )
    .await
}

fn mapping_from_form(form: &[(String, String)]) -> ColumnMapping {
    let mut m = ColumnMapping::default();
    for f in RegisterField::ALL {
        m.set(f, form.one(&format!("map_{}", f.code())));
    }
    m
}

/// POST /staff/agencies/register/imports/{id}/mapping: changes the mapping and the date; a
/// mapping the file does not fit, or a bad date, shows the form again with the choices kept.
pub async fn save_mapping(
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let imp = pending_or_done(&ctx, &id).await?;
    let org = ctx.user()?.org();
    let tr = ctx.tr();
    let choice = MappingChoice {
        mapping: mapping_from_form(&form),
        date: form.as_slice().one("register_date").to_owned(),
    };
    if imp.status != ImportStatus::Pending {
        return Ok(see_other(&format!(
            "/staff/agencies/register/imports/{}",
            imp.id
        )));
    }
    let file = store::file(&ctx.state.db, org, imp.id).await?;
    let date = parse_form_date(&choice.date);
    let problem = match (date, register::parse(&file, imp.format, &choice.mapping)) {
        (None, _) => Some(tr.t("register-error-date")),
        (_, Err(e)) => Some(mapping_error_text(&tr, &e)),
        (Some(_), Ok(_)) => None,
    };
    let (Some(date), None) = (date, problem.clone()) else {
        return import_page(
            &ctx,
            &imp,
            &choice,
            problem,
            None,
            &HashMap::new(),
            &HashSet::new(),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let mut tx = ctx.state.db.begin().await?;
    store::update_pending(&mut tx, org, imp.id, &choice.mapping, date).await?;
    ctx.audit(
        &mut tx,
        org,
        ctx.event("register.mapping_changed", Outcome::Ok)
            .target("register_import", imp.id),
    )
    .await?;
    tx.commit().await?;
    Ok(see_other(&format!(
        "/staff/agencies/register/imports/{}",
        imp.id
    )))
}

/// POST /staff/agencies/register/imports/{id}/confirm: applies the import. Every uncertain match
/// needs a decision (`decide_<line>`: an agency id among its candidates, or `new`); without one,
/// the preview is shown again with the decisions made so far.
pub async fn confirm(
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let imp = pending_or_done(&ctx, &id).await?;
    let me = ctx.user()?.clone();
    let org = me.org();
    let tr = ctx.tr();
    let back = format!("/staff/agencies/register/imports/{}", imp.id);
    if imp.status != ImportStatus::Pending {
        return Ok(see_other(&back));
    }
    let choice = MappingChoice {
        mapping: imp.mapping.clone(),
        date: imp.register_date.format("%Y-%m-%d").to_string(),
    };
    let file = store::file(&ctx.state.db, org, imp.id).await?;
    let parsed = match register::parse(&file, imp.format, &imp.mapping) {
        Ok(p) => p,
        Err(e) => {
            let msg = mapping_error_text(&tr, &e);
            return import_page(
                &ctx,
                &imp,
                &choice,
                Some(msg),
                None,
                &HashMap::new(),
                &HashSet::new(),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let error_count = i64::try_from(parsed.errors.len()).unwrap_or(i64::MAX);
    let p = preview(&ctx, &imp, parsed).await?;
    let decisions: HashMap<usize, String> = p
        .matches
        .iter()
        .map(|m| {
            let v = form.as_slice().one(&format!("decide_{}", m.row.line));
            (m.row.line, v.to_owned())
        })
        .filter(|(_, v)| !v.is_empty())
        .collect();
    let mut missing = HashSet::new();
    // Each row with the agency it is (and that agency's licence date), or none for a new one.
    type Known = Option<(Uuid, Option<NaiveDate>)>;
    let mut resolved: Vec<(RegisterRow, Known, Matched)> = Vec::new();
    for m in &p.matches {
        if let Some(c) = &m.certain {
            resolved.push((
                m.row.clone(),
                Some((c.agency.id, c.agency.licence_as_of)),
                Matched::Certain,
            ));
        } else if m.candidates.is_empty() {
            resolved.push((m.row.clone(), None, Matched::Created));
        } else {
            match decisions.get(&m.row.line).map(String::as_str) {
                Some("new") => resolved.push((m.row.clone(), None, Matched::Created)),
                Some(v) => match m.candidates.iter().find(|c| c.agency.id.to_string() == v) {
                    Some(c) => resolved.push((
                        m.row.clone(),
                        Some((c.agency.id, c.agency.licence_as_of)),
                        Matched::Confirmed,
                    )),
                    None => {
                        missing.insert(m.row.line);
                    }
                },
                None => {
                    missing.insert(m.row.line);
                }
            }
        }
    }
    let refuse = if p.parsed.rows.is_empty() {
        Some(tr.t("register-error-nothing"))
    } else if !missing.is_empty() {
        Some(tr.t1("register-error-undecided", "count", missing.len()))
    } else {
        None
    };
    if let Some(msg) = refuse {
        return import_page(
            &ctx,
            &imp,
            &choice,
            None,
            Some(msg),
            &decisions,
            &missing,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let ring = ctx.state.keys.get(org).await?;
    let now = ctx.state.now();
    let ids = ctx.state.ids();
    let date = imp.register_date;
    // A register older than what an agency's status already says does not move it back.
    let newer = |as_of: Option<NaiveDate>| as_of.is_none_or(|d| d <= date);
    let mut tx = ctx.state.db.begin().await?;
    let mut stored = Vec::with_capacity(resolved.len());
    let mut created = 0i64;
    for (row, agency, matched) in resolved {
        let status = if row.licensed {
            LicenceStatus::Licensed
        } else {
            LicenceStatus::Revoked
        };
        let agency_id = match agency {
            Some((id, as_of)) => {
                if matched == Matched::Confirmed {
                    store::fill_numbers(
                        &mut tx,
                        org,
                        id,
                        row.registration_number.as_deref(),
                        row.tax_number.as_deref(),
                    )
                    .await?;
                }
                if newer(as_of) {
                    agencies::set_licence(&mut tx, org, id, status, Some(date), now).await?;
                }
                id
            }
            None => {
                let id = ids.uuid();
                let input = AgencyInput {
                    name: row.name.clone(),
                    registration_number: row.registration_number.clone(),
                    tax_number: row.tax_number.clone(),
                    addresses: [row.address.as_deref(), row.place.as_deref()]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join(", "),
                    countries: Vec::new(),
                    sectors: Vec::new(),
                    notes: String::new(),
                };
                agencies::insert(
                    &mut tx,
                    &ring,
                    ctx.state.rng.as_ref(),
                    org,
                    id,
                    &input,
                    Some(me.user.id),
                    now,
                )
                .await?;
                agencies::set_licence(&mut tx, org, id, status, Some(date), now).await?;
                created += 1;
                id
            }
        };
        stored.push(StoredRow {
            row,
            agency_id,
            matched,
        });
    }
    for a in &p.not_found {
        if newer(a.licence_as_of) {
            agencies::set_licence(&mut tx, org, a.id, LicenceStatus::NotFound, Some(date), now)
                .await?;
        }
    }
    let completion = Completion {
        rows: stored,
        not_found: p.not_found.iter().map(|a| a.id).collect(),
        error_count,
        created_count: created,
        by: me.user.id,
        now,
    };
    if !store::complete(&mut tx, &ids, org, &imp, &completion).await? {
        tx.rollback().await?;
        return Ok(see_other(&back));
    }
    store::save_mapping(&mut tx, org, imp.source_id, imp.format, &imp.mapping, now).await?;
    ctx.audit(
        &mut tx,
        org,
        ctx.event("register.imported", Outcome::Ok)
            .target("register_import", imp.id)
            .details(json!({
                "rows": completion.rows.len(),
                "errors": error_count,
                "created": created,
                "not_found": completion.not_found.len(),
                "new_licences": p.diff.new_licences.len(),
                "revoked": p.diff.revoked.len(),
                "removed": p.diff.removed.len(),
            })),
    )
    .await?;
    tx.commit().await?;
    Ok(see_other(&back))
}
