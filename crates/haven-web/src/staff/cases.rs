//! Cases: the list, opening a case, the case page (people, details, services, tasks, documents,
//! consent, timeline, access log) and every change made on it.
//!
//! Every handler that touches a case first asks the policy ([`gate`]): the route table has
//! already checked the permission; [`haven_domain::policy::case_access`] decides for this case
//! (restricted cases: advisors and supervisors, others by breaking the glass). Every view and
//! every change is audited, and every change also enters the case's timeline.

use std::collections::HashMap;

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use haven_crypto::keys::OrgKeyring;
use haven_domain::cases::{
    self as domain, CaseDetails, CaseId, CaseKind, CaseStatus, ClosureReason, ConsentFact,
    ConsentId, ConsentPurpose, ControlMethod, DocumentId, DocumentKind, EducationLevel,
    EscalationFacts, ExploitationType, FormFields, FoundState, IloIndicator, Industry, Line,
    MissingCategory, ParseCtx, Parser, PerpetratorRole, PersonRole, RecruitmentMethod,
    Relationship, ReturnedTo, Scope, ServiceId, ServiceKind, ServiceStatus, SexExploitationType,
    StatusChange, StatusDecider, StatusOutcome, TaskId, Taxonomy, TraffickingStatus, Urgency,
    WebsiteOrApp,
};
use haven_domain::people::{BirthYear, Gender, PersonId};
use haven_domain::policy::{CaseAccess, Permission, case_access, person_access};
use haven_domain::validate::{EmailAddress, ValidationErrors};
use haven_domain::{Language, UserId};
use haven_store::audit::{self as audit_store, AuditFilter, Outcome};
use haven_store::cases::{self, CaseSummary, NewEvent};
use haven_store::people::{self, NewPerson, Person};
use haven_store::{documents, institutions, users};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::see_other;
use crate::error::{AppError, AppResult};
use crate::i18n::Tr;
use crate::ui::{Ctx, FormErrors, Page, render};

/// A choice of a select or a group of check boxes.
pub struct Opt {
    /// The code sent.
    pub code: String,
    /// The label shown.
    pub label: String,
}

/// The choices of a taxonomy, labelled in the reader's language.
pub fn opts<T: Taxonomy>(tr: &Tr<'_>) -> Vec<Opt> {
    T::values()
        .iter()
        .map(|v| Opt {
            code: v.as_code().to_owned(),
            label: tr.t(&v.label()),
        })
        .collect()
}

/// The label of a value.
pub fn label<T: Taxonomy>(tr: &Tr<'_>, v: T) -> String {
    tr.t(&v.label())
}

/// A date written the way the language writes it.
pub fn fmt_date(d: NaiveDate, lang: Language) -> String {
    match lang {
        Language::En => d.format("%-d %b %Y").to_string(),
        Language::SrLatn | Language::SrCyrl => d.format("%-d. %-m. %Y.").to_string(),
    }
}

/// The organisation's time zone.
pub fn tz(ctx: &Ctx) -> chrono_tz::Tz {
    ctx.state
        .settings
        .org
        .time_zone
        .parse()
        .unwrap_or(chrono_tz::Europe::Belgrade)
}

/// What the form parsers need.
pub fn parse_ctx(ctx: &Ctx) -> ParseCtx {
    ParseCtx {
        now: ctx.state.now(),
        tz: tz(ctx),
    }
}

/// A time as a `datetime-local` field shows it, in the organisation's time zone.
fn local_input(ctx: &Ctx, t: Option<DateTime<Utc>>) -> String {
    t.map(|t| {
        t.with_timezone(&tz(ctx))
            .format("%Y-%m-%dT%H:%M")
            .to_string()
    })
    .unwrap_or_default()
}

fn date_input(d: Option<NaiveDate>) -> String {
    d.map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

// Access.

/// A case as the policy sees it for the person asking.
pub struct Gate {
    /// The case's plain facts.
    pub summary: CaseSummary,
    /// The policy's answer.
    pub access: CaseAccess,
    /// Until when a break-the-glass grant runs, if one does.
    pub grant_until: Option<DateTime<Utc>>,
}

/// Finds a case of the person's organisation and asks the policy about it. Another
/// organisation's case, or a malformed id, is not found.
pub async fn gate(ctx: &Ctx, id: &str) -> AppResult<Gate> {
    let me = ctx.user()?;
    let id: CaseId = id.parse().map_err(|_| AppError::NotFound)?;
    let summary = cases::summary(&ctx.state.db, me.org(), id)
        .await?
        .ok_or(AppError::NotFound)?;
    let now = ctx.state.now();
    let grant = cases::running_grant(&ctx.state.db, me.org(), id, me.user.id, now).await?;
    let access = case_access(&me.actor(), &summary.facts(), grant.is_some());
    if access == CaseAccess::Deny {
        return Err(AppError::NotFound);
    }
    Ok(Gate {
        summary,
        access,
        grant_until: grant.map(|(_, t)| t),
    })
}

/// The case if the person may open it now; otherwise the break-the-glass page (403), with the
/// refusal audited.
pub async fn require(ctx: &Ctx, id: &str) -> AppResult<Result<Gate, Response>> {
    let g = gate(ctx, id).await?;
    if g.access.allowed() {
        return Ok(Ok(g));
    }
    let me = ctx.user()?;
    ctx.audit_now(
        me.org(),
        ctx.event("case.access_refused", Outcome::Denied)
            .target("case", g.summary.id.0)
            .details(json!({ "reason": "restricted" })),
    )
    .await?;
    let mut res = break_glass_page(ctx, &g.summary, FormErrors::none(), "")?;
    *res.status_mut() = StatusCode::FORBIDDEN;
    Ok(Err(res))
}

fn via(g: &Gate) -> &'static str {
    if g.access == CaseAccess::AllowedByBreakGlass {
        "break_glass"
    } else {
        "role"
    }
}

// Break the glass.

#[derive(Template)]
#[template(path = "staff/case_break_glass.html")]
struct BreakGlassPage<'a> {
    page: Page<'a>,
    id: String,
    hours: u32,
    reason: String,
    errors: FormErrors,
}

fn break_glass_page(
    ctx: &Ctx,
    s: &CaseSummary,
    errors: FormErrors,
    reason: &str,
) -> AppResult<Response> {
    render(&BreakGlassPage {
        page: ctx.page_titled(s.number.clone()),
        id: s.id.to_string(),
        hours: ctx.state.settings.cases.break_glass_hours,
        reason: reason.to_owned(),
        errors,
    })
}

/// GET /staff/cases/{id}/break-glass.
pub async fn break_glass_form(ctx: Ctx, Path(id): Path<String>) -> AppResult<Response> {
    let g = gate(&ctx, &id).await?;
    if g.access.allowed() {
        return Ok(see_other(&format!("/staff/cases/{}", g.summary.id)));
    }
    break_glass_page(&ctx, &g.summary, FormErrors::none(), "")
}

/// POST /staff/cases/{id}/break-glass: a reason, then a grant for a few hours, audited.
pub async fn break_glass(
    ctx: Ctx,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let g = gate(&ctx, &id).await?;
    let me = ctx.user()?.clone();
    if g.access == CaseAccess::Allow {
        return Ok(see_other(&format!("/staff/cases/{}", g.summary.id)));
    }
    let mut p = Parser::new(pairs.as_slice(), parse_ctx(&ctx));
    let reason = p.required_text("reason", 1000);
    if reason.chars().count() < 10 && p.errors.is_empty() {
        p.errors
            .add_with("reason", "reason-too-short", vec![("min", "10".into())]);
    }
    if !p.errors.is_empty() {
        let mut res = break_glass_page(
            &ctx,
            &g.summary,
            FormErrors::from_validation(&ctx.tr(), &p.errors),
            &reason,
        )?;
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(res);
    }
    let ring = ctx.state.keys.get(me.org()).await?;
    let now = ctx.state.now();
    let hours = ctx.state.settings.cases.break_glass_hours;
    let until = now + TimeDelta::hours(i64::from(hours));
    let grant = ctx.state.ids().id();
    let mut tx = ctx.state.db.begin().await?;
    cases::break_glass(
        &mut tx,
        &ring,
        ctx.state.rng.as_ref(),
        me.org(),
        grant,
        g.summary.id,
        me.user.id,
        &reason,
        now,
        until,
    )
    .await?;
    let mut ev = NewEvent::new("break_glass", Some(me.user.id));
    ev.data = json!({ "hours": hours });
    event(&ctx, &mut tx, &ring, g.summary.id, ev).await?;
    ctx.audit(
        &mut tx,
        me.org(),
        ctx.event("case.break_glass", Outcome::Ok)
            .target("case", g.summary.id.0)
            .details(json!({ "grant": grant.0, "hours": hours })),
    )
    .await?;
    tx.commit().await?;
    Ok(see_other(&format!("/staff/cases/{}", g.summary.id)))
}

/// A grant as a row of the supervisors' list.
pub struct GrantRow {
    number: String,
    case_id: String,
    who: String,
    reason: String,
    granted: String,
    until: String,
    running: bool,
}

#[derive(Template)]
#[template(path = "staff/break_glass_list.html")]
struct GrantsPage<'a> {
    page: Page<'a>,
    rows: Vec<GrantRow>,
}

/// GET /staff/break-glass: the latest break-the-glass accesses, for supervisors.
pub async fn grants(ctx: Ctx) -> AppResult<Response> {
    let me = ctx.user()?;
    let ring = ctx.state.keys.get(me.org()).await?;
    let names = staff_names(&ctx).await?;
    let now = ctx.state.now();
    let rows = cases::recent_grants(&ctx.state.db, &ring, me.org(), 200)
        .await?
        .into_iter()
        .map(|g| GrantRow {
            number: g.case_number,
            case_id: g.case_id.to_string(),
            who: names.get(&g.user_id).cloned().unwrap_or_default(),
            reason: g.reason,
            granted: ctx.time(g.granted_at),
            until: ctx.time(g.expires_at),
            running: g.expires_at > now,
        })
        .collect();
    render(&GrantsPage {
        page: ctx.page("break-glass-list-title"),
        rows,
    })
}

/// The names of the organisation's staff, by account id.
pub(crate) async fn staff_names(ctx: &Ctx) -> AppResult<HashMap<UserId, String>> {
    let me = ctx.user()?;
    Ok(users::list(&ctx.state.db, me.org())
        .await?
        .into_iter()
        .map(|u| (u.id, u.display_name))
        .collect())
}

/// Staff who may advise on cases, as choices.
async fn case_staff(ctx: &Ctx) -> AppResult<Vec<(String, String)>> {
    active_staff_with(ctx, Permission::EditCases).await
}

/// Active staff whose roles grant `permission`, as (id, name) choices sorted by name.
pub(crate) async fn active_staff_with(
    ctx: &Ctx,
    permission: Permission,
) -> AppResult<Vec<(String, String)>> {
    let me = ctx.user()?;
    let mut out: Vec<(String, String)> = users::list(&ctx.state.db, me.org())
        .await?
        .into_iter()
        .filter(|u| {
            u.status == users::UserStatus::Active
                && u.roles
                    .iter()
                    .any(|r| haven_domain::policy::grants(*r, permission))
        })
        .map(|u| (u.id.to_string(), u.display_name))
        .collect();
    out.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(out)
}

/// Adds an entry to the timeline inside `tx`.
pub async fn event(
    ctx: &Ctx,
    tx: &mut haven_store::Tx,
    ring: &OrgKeyring,
    case: CaseId,
    ev: NewEvent,
) -> AppResult<()> {
    let me = ctx.user()?;
    cases::add_event(
        tx,
        ring,
        ctx.state.rng.as_ref(),
        me.org(),
        case,
        ctx.state.ids().id(),
        &ev,
        ctx.state.now(),
    )
    .await?;
    Ok(())
}

/// An event and its audit entry, in `tx`.
async fn record(
    ctx: &Ctx,
    tx: &mut haven_store::Tx,
    ring: &OrgKeyring,
    case: CaseId,
    ev: NewEvent,
    action: &str,
) -> AppResult<()> {
    let me = ctx.user()?;
    let details = ev.data.clone();
    event(ctx, tx, ring, case, ev).await?;
    ctx.audit(
        tx,
        me.org(),
        ctx.event(action, Outcome::Ok)
            .target("case", case.0)
            .details(details),
    )
    .await
}

// The list.

/// A case as a row of a list: number and initials, never names.
pub struct CaseRow {
    /// Its id.
    pub id: String,
    /// Its number.
    pub number: String,
    /// Kind, translated.
    pub kind: String,
    /// 116 000 category, translated.
    pub category: String,
    /// Status, translated.
    pub status: String,
    /// Status code.
    pub status_code: &'static str,
    /// Initials of the person it is about.
    pub initials: String,
    /// Opened, formatted.
    pub opened: String,
    /// Last activity, formatted.
    pub activity: String,
    /// Restricted.
    pub restricted: bool,
    /// A closure awaits approval.
    pub closure_pending: bool,
    /// Days the child has been missing (still missing only).
    pub days_missing: Option<i64>,
    /// Escalations running, as "police_report overdue" lines with a class.
    pub escalations: Vec<(String, &'static str)>,
}

/// The initials of the primary person of each case, decrypting only the names needed.
pub async fn initials_of(
    ctx: &Ctx,
    ring: &OrgKeyring,
    cases_shown: &[CaseSummary],
) -> AppResult<HashMap<CaseId, String>> {
    let me = ctx.user()?;
    let mut out = HashMap::new();
    let Some(since) = cases_shown.iter().map(|s| s.opened_at).min() else {
        return Ok(out);
    };
    let ids: Vec<CaseId> = cases_shown.iter().map(|s| s.id).collect();
    for (case, person) in cases::primary_people(&ctx.state.db, me.org(), since).await? {
        if ids.contains(&case)
            && !out.contains_key(&case)
            && let Some(p) = people::get(&ctx.state.db, ring, me.org(), person).await?
        {
            out.insert(case, domain::initials(&p.name));
        }
    }
    Ok(out)
}

/// Rows for cases the person may open (the others are left out).
pub async fn case_rows(ctx: &Ctx, found: Vec<CaseSummary>) -> AppResult<Vec<CaseRow>> {
    let me = ctx.user()?;
    let tr = ctx.tr();
    let now = ctx.state.now();
    let granted = cases::granted_cases(&ctx.state.db, me.org(), me.user.id, now).await?;
    let actor = me.actor();
    let visible: Vec<CaseSummary> = found
        .into_iter()
        .filter(|s| case_access(&actor, &s.facts(), granted.contains(&s.id)).allowed())
        .collect();
    let ring = ctx.state.keys.get(me.org()).await?;
    let initials = initials_of(ctx, &ring, &visible).await?;
    Ok(visible
        .into_iter()
        .map(|s| {
            let escalations = escalation_rows(ctx, &s)
                .into_iter()
                .filter(|(_, c)| *c != "ok")
                .collect();
            CaseRow {
                id: s.id.to_string(),
                initials: initials.get(&s.id).cloned().unwrap_or_default(),
                kind: label(&tr, s.kind),
                category: s
                    .missing_category
                    .as_deref()
                    .and_then(MissingCategory::from_code)
                    .map(|c| label(&tr, c))
                    .unwrap_or_default(),
                status: label(&tr, s.status),
                status_code: s.status.code(),
                opened: ctx.time(s.opened_at),
                activity: ctx.time(s.last_activity_at),
                restricted: s.restricted,
                closure_pending: s.closure_request.is_some(),
                days_missing: (s.kind == CaseKind::MissingChild
                    && s.found_at.is_none()
                    && s.status.is_open())
                .then(|| (now - s.last_seen_at.unwrap_or(s.opened_at)).num_days()),
                escalations,
                number: s.number,
            }
        })
        .collect())
}

/// The escalation timers of a case as (text, urgency class).
pub fn escalation_rows(ctx: &Ctx, s: &CaseSummary) -> Vec<(String, &'static str)> {
    let tr = ctx.tr();
    let facts = EscalationFacts {
        opened_at: s.opened_at,
        open: s.status.is_open(),
        found: s.found_at.is_some(),
        police_reported_at: s.police_reported_at,
        family_contact_at: s.family_contact_at,
    };
    let now = ctx.state.now();
    domain::escalations(&facts, &ctx.state.settings.cases.rules(s.line), now)
        .into_iter()
        .map(|e| {
            let id = format!("escalation-{}-{}", e.kind.code(), e.urgency.code());
            (tr.t1(&id, "time", ctx.time(e.due_at)), e.urgency.code())
        })
        .collect()
}

/// The list's filters.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    mine: String,
    #[serde(default)]
    q: String,
}

#[derive(Template)]
#[template(path = "staff/cases.html")]
struct CasesPage<'a> {
    page: Page<'a>,
    rows: Vec<CaseRow>,
    kinds: Vec<Opt>,
    statuses: Vec<Opt>,
    kind: String,
    status: String,
    mine: bool,
    q: String,
    q_error: Option<String>,
    can_edit: bool,
}

/// GET /staff/cases.
pub async fn list(ctx: Ctx, Query(q): Query<ListQuery>) -> AppResult<Response> {
    let me = ctx.user()?;
    let tr = ctx.tr();
    let wanted = q.q.trim();
    if !wanted.is_empty() {
        // A case number leads to the case (or to breaking the glass).
        if let Ok(n) = wanted.parse::<haven_domain::numbering::CaseNumber>()
            && let Some(id) = cases::by_number(&ctx.state.db, me.org(), &n).await?
        {
            return Ok(see_other(&format!("/staff/cases/{id}")));
        }
    }
    let filter = cases::CaseFilter {
        kind: CaseKind::from_code(&q.kind),
        status: CaseStatus::from_code(&q.status),
        advisor: (!q.mine.is_empty()).then_some(me.user.id),
        ..Default::default()
    };
    let found = cases::list(&ctx.state.db, me.org(), &filter, 300).await?;
    let rows = case_rows(&ctx, found).await?;
    render(&CasesPage {
        page: ctx.page("cases-title"),
        rows,
        kinds: opts::<CaseKind>(&tr),
        statuses: opts::<CaseStatus>(&tr),
        kind: q.kind.clone(),
        status: q.status.clone(),
        mine: !q.mine.is_empty(),
        q_error: (!wanted.is_empty()).then(|| tr.t("cases-number-not-found")),
        q: wanted.to_owned(),
        can_edit: me.actor().can(Permission::EditCases),
    })
}

// Opening a case.

#[derive(Template)]
#[template(path = "staff/case_new.html")]
struct NewCasePage<'a> {
    page: Page<'a>,
    kinds: Vec<Opt>,
    lines: Vec<Opt>,
    kind: String,
    line: String,
    restricted: bool,
    summary: String,
    contact: String,
    errors: FormErrors,
}

/// The new-case form's query.
#[derive(Debug, Default, Deserialize)]
pub struct NewQuery {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    contact: String,
}

/// GET /staff/cases/new.
pub async fn new_form(ctx: Ctx, Query(q): Query<NewQuery>) -> AppResult<Response> {
    let tr = ctx.tr();
    render(&NewCasePage {
        page: ctx.page("case-new-title"),
        kinds: opts::<CaseKind>(&tr),
        lines: opts::<Line>(&tr),
        kind: q.kind,
        line: String::new(),
        restricted: false,
        summary: String::new(),
        contact: q.contact,
        errors: FormErrors::none(),
    })
}

/// Opens a case in `tx` with its first timeline entries; returns its id.
#[allow(clippy::too_many_arguments)]
async fn open_case(
    ctx: &Ctx,
    tx: &mut haven_store::Tx,
    ring: &OrgKeyring,
    kind: CaseKind,
    line: Line,
    restricted: bool,
    summary: String,
    contact: Option<Uuid>,
) -> AppResult<CaseId> {
    let me = ctx.user()?;
    let now = ctx.state.now();
    let id: CaseId = ctx.state.ids().id();
    let number = cases::create(
        tx,
        ring,
        ctx.state.rng.as_ref(),
        me.org(),
        &cases::NewCase {
            id,
            kind,
            line,
            restricted,
            lead: me.user.id,
            summary,
            details: CaseDetails::empty(kind),
            opened_by: me.user.id,
            now,
            year: cases::register_year(now, &ctx.state.settings.org.time_zone),
        },
    )
    .await?;
    let mut ev = NewEvent::new("created", Some(me.user.id));
    ev.data = json!({ "kind": kind.code(), "line": line.code(), "number": number.to_string(), "restricted": restricted });
    record(ctx, tx, ring, id, ev, "case.created").await?;
    if let Some(contact) = contact {
        cases::link_contact(tx, me.org(), id, contact, me.user.id, now).await?;
        let mut ev = NewEvent::new("contact_linked", Some(me.user.id));
        ev.ref_id = Some(contact);
        ev.data = json!({ "contact": contact });
        record(ctx, tx, ring, id, ev, "case.contact_linked").await?;
    }
    Ok(id)
}

/// POST /staff/cases/new.
pub async fn create(ctx: Ctx, Form(pairs): Form<Vec<(String, String)>>) -> AppResult<Response> {
    let me = ctx.user()?.clone();
    let form = pairs.as_slice();
    let mut p = Parser::new(form, parse_ctx(&ctx));
    let kind = p.code("kind", CaseKind::from_code);
    if kind.is_none() && p.errors.for_field("kind").is_none() {
        p.errors.add("kind", "required");
    }
    let line = p.code("line", Line::from_code);
    let restricted = p.flag("restricted");
    let summary = p.text_max("summary", 10_000);
    let contact = match form.one("contact") {
        "" => None,
        c => match haven_domain::ids::parse_uuid(c) {
            Some(u) => Some(u),
            None => {
                p.errors.add("contact", "contact-invalid");
                None
            }
        },
    };
    let contact = if contact.is_some() {
        let mut e = ValidationErrors::new();
        let known = known_contact(&ctx, contact, &mut e).await?;
        if !e.is_empty() {
            p.errors.add("contact", "contact-invalid");
        }
        known
    } else {
        None
    };
    let (Some(kind), true) = (kind, p.errors.is_empty()) else {
        let tr = ctx.tr();
        let mut res = render(&NewCasePage {
            page: ctx.page("case-new-title"),
            kinds: opts::<CaseKind>(&tr),
            lines: opts::<Line>(&tr),
            kind: form.one("kind").to_owned(),
            line: form.one("line").to_owned(),
            restricted,
            summary,
            contact: form.one("contact").to_owned(),
            errors: FormErrors::from_validation(&tr, &p.errors),
        })?;
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(res);
    };
    let ring = ctx.state.keys.get(me.org()).await?;
    let mut tx = ctx.state.db.begin().await?;
    let id = open_case(
        &ctx,
        &mut tx,
        &ring,
        kind,
        line.unwrap_or(kind.default_line()),
        restricted,
        summary,
        contact,
    )
    .await?;
    tx.commit().await?;
    Ok(see_other(&format!("/staff/cases/{id}")))
}

#[derive(Template)]
#[template(path = "staff/case_link_contact.html")]
struct LinkContactPage<'a> {
    page: Page<'a>,
    contact: String,
    case_number: String,
    kinds: Vec<Opt>,
    kind: String,
    errors: FormErrors,
}

fn link_contact_error(
    ctx: &Ctx,
    form: &[(String, String)],
    errors: &ValidationErrors,
) -> AppResult<Response> {
    let tr = ctx.tr();
    let mut res = render(&LinkContactPage {
        page: ctx.page("case-link-contact-title"),
        contact: form.one("contact_id").to_owned(),
        case_number: form.one("case_number").to_owned(),
        kinds: opts::<CaseKind>(&tr),
        kind: form.one("kind").to_owned(),
        errors: FormErrors::from_validation(&tr, errors),
    })?;
    *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(res)
}

fn contact_id(form: &[(String, String)], errors: &mut ValidationErrors) -> Option<Uuid> {
    let v = form.one("contact_id");
    let parsed = haven_domain::ids::parse_uuid(v);
    if parsed.is_none() {
        errors.add(
            "contact_id",
            if v.is_empty() {
                "required"
            } else {
                "contact-invalid"
            },
        );
    }
    parsed
}

/// A contact id that names a hotline contact of the person's organisation they may see.
async fn known_contact(
    ctx: &Ctx,
    contact: Option<Uuid>,
    errors: &mut ValidationErrors,
) -> AppResult<Option<Uuid>> {
    let Some(id) = contact else {
        return Ok(None);
    };
    let me = ctx.user()?;
    let facts =
        haven_store::contacts::facts(&ctx.state.db, me.org(), haven_domain::desk::ContactId(id))
            .await?;
    match facts {
        Some(f)
            if haven_domain::policy::contact_visible(
                &me.actor(),
                f.org_id,
                f.confidential,
                &f.counsellors,
            ) =>
        {
            Ok(Some(id))
        }
        _ => {
            errors.add("contact_id", "contact-invalid");
            Ok(None)
        }
    }
}

/// POST /staff/cases/from-contact: opens a case from a hotline contact (`contact_id`, `kind`,
/// optional `line`) and links the contact; for the desk's "Save & open case".
pub async fn from_contact(
    ctx: Ctx,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let me = ctx.user()?.clone();
    let form = pairs.as_slice();
    let mut p = Parser::new(form, parse_ctx(&ctx));
    let kind = p.code("kind", CaseKind::from_code);
    if kind.is_none() && p.errors.for_field("kind").is_none() {
        p.errors.add("kind", "required");
    }
    let line = p.code("line", Line::from_code);
    let restricted = p.flag("restricted");
    let contact = contact_id(form, &mut p.errors);
    let contact = known_contact(&ctx, contact, &mut p.errors).await?;
    let (Some(kind), Some(contact), true) = (kind, contact, p.errors.is_empty()) else {
        return link_contact_error(&ctx, form, &p.errors);
    };
    let ring = ctx.state.keys.get(me.org()).await?;
    let mut tx = ctx.state.db.begin().await?;
    let id = open_case(
        &ctx,
        &mut tx,
        &ring,
        kind,
        line.unwrap_or(kind.default_line()),
        restricted,
        String::new(),
        Some(contact),
    )
    .await?;
    tx.commit().await?;
    Ok(see_other(&format!("/staff/cases/{id}")))
}

/// POST /staff/cases/link-contact: links a hotline contact (`contact_id`) to the case with this
/// number (`case_number`); for the desk's "Link to case…".
pub async fn link_contact_by_number(
    ctx: Ctx,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let me = ctx.user()?.clone();
    let form = pairs.as_slice();
    let mut errors = ValidationErrors::new();
    let contact = contact_id(form, &mut errors);
    let contact = known_contact(&ctx, contact, &mut errors).await?;
    let case = match form
        .one("case_number")
        .parse::<haven_domain::numbering::CaseNumber>()
    {
        Ok(n) => cases::by_number(&ctx.state.db, me.org(), &n).await?,
        Err(_) => None,
    };
    if case.is_none() {
        errors.add("case_number", "case-number-unknown");
    }
    let (Some(contact), Some(case), true) = (contact, case, errors.is_empty()) else {
        return link_contact_error(&ctx, form, &errors);
    };
    link_contact_to(&ctx, &case.to_string(), contact).await
}

/// POST /staff/cases/{id}/contacts: links a hotline contact (`contact_id`) to this case.
pub async fn link_contact(
    ctx: Ctx,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    if let Err(r) = require(&ctx, &id).await? {
        return Ok(r);
    }
    let mut errors = ValidationErrors::new();
    let contact = contact_id(&pairs, &mut errors);
    let Some(contact) = known_contact(&ctx, contact, &mut errors).await? else {
        return link_contact_error(&ctx, &pairs, &errors);
    };
    link_contact_to(&ctx, &id, contact).await
}

async fn link_contact_to(ctx: &Ctx, id: &str, contact: Uuid) -> AppResult<Response> {
    let g = match require(ctx, id).await? {
        Ok(g) => g,
        Err(r) => return Ok(r),
    };
    let me = ctx.user()?;
    let ring = ctx.state.keys.get(me.org()).await?;
    let mut tx = ctx.state.db.begin().await?;
    if cases::link_contact(
        &mut tx,
        me.org(),
        g.summary.id,
        contact,
        me.user.id,
        ctx.state.now(),
    )
    .await?
    {
        let mut ev = NewEvent::new("contact_linked", Some(me.user.id));
        ev.ref_id = Some(contact);
        ev.data = json!({ "contact": contact });
        record(ctx, &mut tx, &ring, g.summary.id, ev, "case.contact_linked").await?;
    }
    tx.commit().await?;
    Ok(see_other(&format!("/staff/cases/{}", g.summary.id)))
}

// The case page.

/// A person of the case as a row.
pub struct PersonRow {
    id: String,
    name: String,
    role: String,
    role_code: &'static str,
    details: String,
}

/// A possible duplicate shown while adding a person.
pub struct DupRow {
    /// The person's id.
    pub id: String,
    /// Their name (shown only to those who may open them).
    pub name: String,
    /// Their year of birth.
    pub birth_year: String,
    /// Why they may be the same, translated.
    pub reasons: String,
}

/// A service as a row.
pub struct ServiceRow {
    id: String,
    kind: String,
    status: String,
    status_code: &'static str,
    provider: String,
    dates: String,
    cost: String,
    outcome: String,
}

/// A task as a row.
pub struct TaskRow {
    id: String,
    title: String,
    due: String,
    assignee: String,
    urgency: &'static str,
    done: bool,
}

/// A document as a row.
pub struct DocRow {
    id: String,
    kind: String,
    name: String,
    media_type: String,
    size: String,
    uploaded: String,
}

/// A consent record as a row.
pub struct ConsentRow {
    person: String,
    purpose: String,
    institution: String,
    given: bool,
    given_by: String,
    date: String,
    evidence: String,
    note: String,
}

/// An entry of the timeline as shown.
pub struct TimelineRow {
    /// When.
    pub time: String,
    /// Its group (for filtering and styling).
    pub group: &'static str,
    /// What happened.
    pub text: String,
    /// Its text (a note).
    pub body: String,
    /// Who.
    pub who: String,
    /// Urgency class for escalations.
    pub css: &'static str,
}

/// What a failed form leaves on the page.
#[derive(Default)]
pub struct FormState {
    /// The form that failed.
    pub section: &'static str,
    /// Its messages.
    pub errors: FormErrors,
    /// What was typed.
    pub kept: Vec<(String, String)>,
    /// Possible duplicates of a person being added.
    pub duplicates: Vec<DupRow>,
    /// How many possible duplicates the person may not see.
    pub hidden_duplicates: usize,
}

#[derive(Template)]
#[template(path = "staff/case.html")]
struct CasePage<'a> {
    page: Page<'a>,
    id: String,
    kind: &'static str,
    kind_label: String,
    status_code: &'static str,
    status_label: String,
    open: bool,
    restricted: bool,
    headline: String,
    by_break_glass: Option<String>,
    closure_pending: Option<String>,
    can_edit: bool,
    can_approve: bool,
    can_audit: bool,
    advisors: Vec<(String, String, bool)>,
    staff: Vec<(String, String)>,
    escalations: Vec<(String, &'static str)>,
    people: Vec<PersonRow>,
    case_people: Vec<(String, String)>,
    services: Vec<ServiceRow>,
    tasks: Vec<TaskRow>,
    documents: Vec<DocRow>,
    consents: Vec<ConsentRow>,
    timeline: Vec<TimelineRow>,
    filter: String,
    filters: Vec<(&'static str, String)>,
    access_log: Vec<super::audit::AuditRow>,
    share: Option<(String, Vec<String>)>,
    share_with: String,
    institutions: Vec<(String, String)>,
    o: FormState,
    values: Vec<(String, String)>,
    upload_action: String,
    opt_category: Vec<Opt>,
    opt_scope: Vec<Opt>,
    opt_found_state: Vec<Opt>,
    opt_returned_to: Vec<Opt>,
    opt_tr_status: Vec<Opt>,
    opt_decider: Vec<Opt>,
    opt_exploitation: Vec<Opt>,
    opt_industry: Vec<Opt>,
    opt_sex: Vec<Opt>,
    opt_control: Vec<Opt>,
    opt_recruitment: Vec<Opt>,
    opt_apps: Vec<Opt>,
    opt_relationship: Vec<Opt>,
    opt_ilo: Vec<Opt>,
    opt_role: Vec<Opt>,
    opt_perp: Vec<Opt>,
    opt_gender: Vec<Opt>,
    opt_education: Vec<Opt>,
    opt_service: Vec<Opt>,
    opt_service_status: Vec<Opt>,
    opt_doc_kind: Vec<Opt>,
    opt_purpose: Vec<Opt>,
    opt_closure: Vec<Opt>,
    opt_close_as: Vec<Opt>,
    opt_given_by: Vec<Opt>,
    proceedings: Vec<(String, String)>,
    new_proceeding: String,
}

impl CasePage<'_> {
    /// The value of a field: what was typed if its form failed, else the stored value.
    fn v(&self, name: &str) -> &str {
        self.values
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    /// Whether a check box or multi-valued choice holds `code`.
    fn checked(&self, name: &str, code: &str) -> bool {
        self.values.iter().any(|(k, v)| k == name && v == code)
    }

    /// The message for a field of the form that failed.
    fn err(&self, name: &str) -> Option<&str> {
        self.o.errors.get(name)
    }

    /// What was typed in a field of another form (person, service, task, consent, note).
    fn k(&self, name: &str) -> &str {
        self.o
            .kept
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    /// Whether a field of a failed form held `code`.
    fn kc(&self, name: &str, code: &str) -> bool {
        self.o.kept.iter().any(|(k, v)| k == name && v == code)
    }
}

/// The details as form values (dates and times in the organisation's time zone).
fn details_values(ctx: &Ctx, summary: &str, d: &CaseDetails) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = vec![("summary".into(), summary.to_owned())];
    let mut put = |k: &str, val: String| {
        if !val.is_empty() {
            v.push((k.to_owned(), val));
        }
    };
    let flag = |b: bool| if b { "on".to_owned() } else { String::new() };
    match d {
        CaseDetails::MissingChild(m) => {
            put(
                "mc_category",
                m.category.map(|c| c.code().to_owned()).unwrap_or_default(),
            );
            put(
                "mc_scope",
                m.scope.map(|c| c.code().to_owned()).unwrap_or_default(),
            );
            put("mc_last_seen_at", local_input(ctx, m.last_seen_at));
            put("mc_last_seen_place", m.last_seen_place.clone());
            put("mc_description", m.description.clone());
            put("mc_custody_court", m.custody_court.clone());
            put("mc_custody_date", date_input(m.custody_date));
            put("mc_custody_number", m.custody_number.clone());
            put("mc_police_station", m.police_station.clone());
            put(
                "mc_police_reported_at",
                local_input(ctx, m.police_reported_at),
            );
            put("mc_police_report_number", m.police_report_number.clone());
            put("mc_interpol_notice", flag(m.interpol_notice));
            put("mc_schengen_alert", flag(m.schengen_alert));
            put(
                "mc_countries",
                m.countries
                    .iter()
                    .map(|c| c.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            );
            put("mc_partners_asked", m.partners_asked.clone());
            put("mc_found_at", local_input(ctx, m.found_at));
            put(
                "mc_found_state",
                m.found_state
                    .map(|c| c.code().to_owned())
                    .unwrap_or_default(),
            );
            put(
                "mc_returned_to",
                m.returned_to
                    .map(|c| c.code().to_owned())
                    .unwrap_or_default(),
            );
        }
        CaseDetails::Trafficking(t) => {
            put(
                "tr_status",
                t.status.map(|c| c.code().to_owned()).unwrap_or_default(),
            );
            put(
                "tr_decided_by",
                t.decided_by
                    .map(|c| c.code().to_owned())
                    .unwrap_or_default(),
            );
            put("tr_formally_identified", flag(t.formally_identified));
            put("tr_identified_on", date_input(t.identified_on));
            for c in &t.exploitation {
                put("tr_exploitation", c.code().to_owned());
            }
            put(
                "tr_industry",
                t.industry.map(|c| c.code().to_owned()).unwrap_or_default(),
            );
            for c in &t.sex_exploitation {
                put("tr_sex_exploitation", c.code().to_owned());
            }
            for c in &t.control {
                put("tr_control", c.code().to_owned());
            }
            for c in &t.recruitment {
                put("tr_recruitment", c.code().to_owned());
            }
            for c in &t.recruitment_apps {
                put("tr_recruitment_apps", c.code().to_owned());
            }
            for c in &t.exploitation_apps {
                put("tr_exploitation_apps", c.code().to_owned());
            }
            put(
                "tr_relationship",
                t.relationship
                    .map(|c| c.code().to_owned())
                    .unwrap_or_default(),
            );
            put(
                "tr_age_when_trafficked",
                t.age_when_trafficked
                    .map(|a| a.to_string())
                    .unwrap_or_default(),
            );
            for (prefix, place) in [
                ("tr_recruited", &t.recruited),
                ("tr_transit", &t.transit),
                ("tr_exploited", &t.exploited),
            ] {
                put(
                    &format!("{prefix}_country"),
                    place.country.map(|c| c.to_string()).unwrap_or_default(),
                );
                put(&format!("{prefix}_place"), place.place.clone());
                put(&format!("{prefix}_date"), date_input(place.date));
            }
        }
        CaseDetails::LabourExploitation(l) => {
            put("lx_employer", l.employer.clone());
            put("lx_agency", l.agency.clone());
            put(
                "lx_country",
                l.country.map(|c| c.to_string()).unwrap_or_default(),
            );
            put(
                "lx_sector",
                l.sector.map(|c| c.code().to_owned()).unwrap_or_default(),
            );
            for c in &l.indicators {
                put("lx_indicators", c.code().to_owned());
            }
            put(
                "lx_wages_owed",
                l.wages_owed_minor
                    .map(|m| format!("{}.{:02}", m / 100, m % 100))
                    .unwrap_or_default(),
            );
            put("lx_currency", l.currency.clone());
            put("lx_documents_retained", flag(l.documents_retained));
            put(
                "lx_workers_affected",
                l.workers_affected
                    .map(|n| n.to_string())
                    .unwrap_or_default(),
            );
        }
    }
    v
}

fn money(minor: i64, currency: &str) -> String {
    format!("{}.{:02} {currency}", minor / 100, minor % 100)
}

/// The timeline groups a reader can filter by.
const GROUPS: [&str; 9] = [
    "notes",
    "status",
    "people",
    "services",
    "tasks",
    "documents",
    "contacts",
    "escalations",
    "views",
];

fn group_of(kind: &str) -> &'static str {
    match kind {
        "note" => "notes",
        "escalated" => "escalations",
        "created" | "status_changed" | "closure_requested" | "closure_approved"
        | "closure_rejected" | "details_updated" | "police_report" | "child_found"
        | "team_changed" | "break_glass" | "consent_recorded" => "status",
        "person_added" | "person_removed" => "people",
        "service_added" | "service_updated" => "services",
        "task_added" | "task_done" => "tasks",
        "document_added" => "documents",
        "contact_linked" => "contacts",
        _ => "status",
    }
}

/// Shows the case page (the caller has been allowed by the policy).
pub async fn case_page(
    ctx: &Ctx,
    g: &Gate,
    filter: &str,
    share_with: &str,
    o: FormState,
) -> AppResult<Response> {
    let me = ctx.user()?;
    // Every showing of the case is a view, also after a form that needs fixing.
    ctx.audit_now(
        me.org(),
        ctx.event("case.viewed", Outcome::Ok)
            .target("case", g.summary.id.0)
            .details(json!({ "via": via(g) })),
    )
    .await?;
    let tr = ctx.tr();
    let org = me.org();
    let db = &ctx.state.db;
    let ring = ctx.state.keys.get(org).await?;
    let s = &g.summary;
    let case = cases::get(db, &ring, org, s.id)
        .await?
        .ok_or(AppError::NotFound)?;
    let names = staff_names(ctx).await?;
    let name_of = |u: Option<UserId>| u.and_then(|u| names.get(&u).cloned()).unwrap_or_default();
    let now = ctx.state.now();

    // People.
    let links = cases::people_of(db, org, s.id).await?;
    let mut persons: HashMap<PersonId, Person> = HashMap::new();
    for l in &links {
        if !persons.contains_key(&l.person_id)
            && let Some(p) = people::get(db, &ring, org, l.person_id).await?
        {
            persons.insert(l.person_id, p);
        }
    }
    let person_name = |id: PersonId| persons.get(&id).map(|p| p.name.clone()).unwrap_or_default();
    let today = now.with_timezone(&tz(ctx)).date_naive();
    let people_rows: Vec<PersonRow> = links
        .iter()
        .map(|l| {
            let p = persons.get(&l.person_id);
            let mut details = Vec::new();
            if let Some(p) = p {
                if let Some(y) = p.birth_year {
                    details.push(tr.t1("person-age", "age", domain::age_in(y, today)));
                }
                details.push(label_gender(&tr, p.gender));
                if let Some(c) = &p.citizenship {
                    details.push(c.clone());
                }
            }
            if !l.perpetrator_roles.is_empty() {
                details.push(
                    l.perpetrator_roles
                        .iter()
                        .filter_map(|c| PerpetratorRole::from_code(c))
                        .map(|r| label(&tr, r))
                        .collect::<Vec<_>>()
                        .join(", "),
                );
            }
            PersonRow {
                id: l.person_id.to_string(),
                name: person_name(l.person_id),
                role: label(&tr, l.role),
                role_code: l.role.code(),
                details: details.join(" · "),
            }
        })
        .collect();
    let mut case_people: Vec<(String, String)> = Vec::new();
    for l in &links {
        if !case_people
            .iter()
            .any(|(id, _)| *id == l.person_id.to_string())
        {
            case_people.push((l.person_id.to_string(), person_name(l.person_id)));
        }
    }

    // Headline: the primary person by initials, age, how long missing.
    let primary = links.iter().find(|l| l.role == s.kind.primary_role());
    let mut headline = Vec::new();
    if let Some(l) = primary
        && let Some(p) = persons.get(&l.person_id)
    {
        let mut who = domain::initials(&p.name);
        if let Some(y) = p.birth_year {
            who = format!("{who}, {}", domain::age_in(y, today));
        }
        headline.push(format!("{}: {who}", label(&tr, l.role)));
    }
    if let CaseDetails::MissingChild(m) = &case.details {
        if m.found_at.is_none() {
            let since = m.last_seen_at.unwrap_or(s.opened_at);
            headline.push(tr.t1("case-missing-days", "days", (now - since).num_days()));
        } else if let Some(d) = m.time_to_resolution() {
            headline.push(tr.t1("case-found-after-days", "days", d.num_days()));
        }
        if let Some(t) = m.last_seen_at {
            headline.push(tr.t1("case-last-seen", "time", ctx.time(t)));
        }
    }

    // Services.
    let insts: Vec<(String, String)> = institutions::search(db, org, None, "")
        .await?
        .iter()
        .map(|i| {
            (
                i.id.to_string(),
                super::institutions::localized_name(i, ctx.lang),
            )
        })
        .collect();
    let inst_name = |id: Option<Uuid>| {
        id.and_then(|id| {
            insts
                .iter()
                .find(|(i, _)| *i == id.to_string())
                .map(|(_, n)| n.clone())
        })
        .unwrap_or_default()
    };
    let services: Vec<ServiceRow> = cases::services(db, &ring, org, s.id)
        .await?
        .into_iter()
        .map(|sv| ServiceRow {
            id: sv.id.to_string(),
            kind: label(&tr, sv.kind),
            status: label(&tr, sv.status),
            status_code: sv.status.code(),
            provider: if sv.provider_institution.is_some() {
                inst_name(sv.provider_institution)
            } else {
                name_of(sv.provider_user)
            },
            dates: [sv.planned_on, sv.started_on, sv.ended_on]
                .iter()
                .map(|d| {
                    d.map(|d| fmt_date(d, ctx.lang))
                        .unwrap_or_else(|| "–".into())
                })
                .collect::<Vec<_>>()
                .join(" / "),
            cost: sv
                .cost_minor
                .map(|c| {
                    format!(
                        "{} {}",
                        money(c, sv.currency.as_deref().unwrap_or("")),
                        sv.funding_source
                    )
                })
                .unwrap_or_default(),
            outcome: sv.outcome,
        })
        .collect();

    // Tasks.
    let tasks: Vec<TaskRow> = cases::tasks(db, &ring, org, s.id)
        .await?
        .into_iter()
        .map(|t| TaskRow {
            id: t.id.to_string(),
            title: t.title,
            due: t.due_at.map(|d| ctx.time(d)).unwrap_or_default(),
            assignee: name_of(t.assignee),
            urgency: match (t.done_at, t.due_at) {
                (None, Some(d)) => Urgency::of(d, now, TimeDelta::hours(4)).code(),
                _ => "ok",
            },
            done: t.done_at.is_some(),
        })
        .collect();

    // Documents.
    let docs = documents::list(db, &ring, org, s.id).await?;
    let documents_rows: Vec<DocRow> = docs
        .iter()
        .map(|d| DocRow {
            id: d.id.to_string(),
            kind: label(&tr, d.kind),
            name: d.name.clone(),
            media_type: d.media_type.clone(),
            size: format!("{:.1} KiB", d.size_bytes as f64 / 1024.0),
            uploaded: format!("{} · {}", ctx.time(d.uploaded_at), name_of(d.uploaded_by)),
        })
        .collect();

    // Consent.
    let person_ids: Vec<PersonId> = case_people
        .iter()
        .filter_map(|(id, _)| id.parse().ok())
        .collect();
    let consent_records = cases::consents_of(db, &ring, org, &person_ids).await?;
    let consents: Vec<ConsentRow> = consent_records
        .iter()
        .map(|c| ConsentRow {
            person: person_name(c.person_id),
            purpose: label(&tr, c.purpose),
            institution: inst_name(c.institution_id),
            given: c.given,
            given_by: tr.t(&format!("consent-given-by-{}", c.given_by)),
            date: fmt_date(c.given_on, ctx.lang),
            evidence: c
                .evidence
                .and_then(|e| docs.iter().find(|d| d.id == e))
                .map(|d| d.name.clone())
                .unwrap_or_default(),
            note: c.note.clone(),
        })
        .collect();
    let share = match haven_domain::ids::parse_uuid(share_with) {
        Some(inst) => {
            let facts: Vec<(PersonId, Vec<ConsentFact>)> = person_ids
                .iter()
                .map(|p| {
                    (
                        *p,
                        consent_records
                            .iter()
                            .filter(|c| c.person_id == *p)
                            .map(|c| ConsentFact {
                                purpose: c.purpose,
                                institution: c.institution_id,
                                given: c.given,
                                recorded_at: c.recorded_at,
                            })
                            .collect(),
                    )
                })
                .collect();
            let missing = domain::missing_for_sharing(&facts, inst)
                .into_iter()
                .map(|(p, purposes)| {
                    format!(
                        "{}: {}",
                        person_name(p),
                        purposes
                            .iter()
                            .map(|x| label(&tr, *x))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })
                .collect();
            Some((inst_name(Some(inst)), missing))
        }
        None => None,
    };

    // Timeline.
    let can_audit = me.actor().can(Permission::ViewAudit);
    let mut items: Vec<(DateTime<Utc>, TimelineRow)> = Vec::new();
    for e in cases::events(db, &ring, org, s.id).await? {
        let text = timeline_text(&tr, &e.kind, &e.data, &person_name, e.ref_id);
        items.push((
            e.at,
            TimelineRow {
                time: ctx.time(e.at),
                group: group_of(&e.kind),
                text,
                body: e.body,
                who: name_of(e.actor),
                css: "",
            },
        ));
    }
    // Linked contacts come through the one function that reads them, with the desk's summary.
    for c in cases::contacts_of(db, org, s.id).await? {
        items.push((
            c.linked_at,
            TimelineRow {
                time: ctx.time(c.linked_at),
                group: "contacts",
                text: format!(
                    "{} · {}",
                    tr.t1("timeline-contact", "id", c.contact_id.to_string()),
                    tr.t_args(
                        "timeline-contact-summary",
                        &[
                            ("when", ctx.time(c.started_at)),
                            ("line", super::desk::line_label(&tr, &c.line)),
                            (
                                "categories",
                                c.categories
                                    .iter()
                                    .map(|k| super::desk::category_label(&tr, k))
                                    .collect::<Vec<_>>()
                                    .join(", "),
                            ),
                        ],
                    )
                ),
                body: String::new(),
                who: name_of(c.linked_by),
                css: "",
            },
        ));
    }
    let mut access_log = Vec::new();
    if can_audit {
        let entries = audit_store::list(
            db,
            org,
            &AuditFilter {
                target: Some(("case".into(), s.id.0)),
                ..AuditFilter::default()
            },
            300,
        )
        .await?;
        let audit_names = super::audit::staff_names(ctx).await?;
        for e in entries.iter().filter(|e| {
            (e.action == "case.viewed" || e.action == "document.downloaded")
                && e.actor_id != Some(me.user.id.0)
        }) {
            let who = e
                .actor_id
                .and_then(|a| audit_names.get(&a).cloned())
                .unwrap_or_default();
            items.push((
                e.occurred_at,
                TimelineRow {
                    time: ctx.time(e.occurred_at),
                    group: "views",
                    text: tr.t(&format!("timeline-{}", e.action.replace('.', "-"))),
                    body: String::new(),
                    who,
                    css: "",
                },
            ));
        }
        access_log = super::audit::rows(ctx, &audit_names, &entries);
    }
    items.sort_by_key(|i| std::cmp::Reverse(i.0));
    let filter = if GROUPS.contains(&filter) { filter } else { "" };
    let timeline = items
        .into_iter()
        .map(|(_, r)| r)
        .filter(|r| filter.is_empty() || r.group == filter)
        .collect();

    let values = if o.section == "details" {
        o.kept.clone()
    } else {
        details_values(ctx, &case.summary, &case.details)
    };
    let closure_pending = s.closure_request.as_ref().map(|r| {
        tr.t_args(
            "case-closure-pending",
            &[
                ("status", label(&tr, r.status)),
                ("reason", label(&tr, r.reason)),
                ("who", name_of(r.by)),
                ("time", ctx.time(r.at)),
            ],
        )
    });
    let mut title = format!("{} · {}", s.number, label(&tr, s.kind));
    if let Some(c) = s
        .missing_category
        .as_deref()
        .and_then(MissingCategory::from_code)
    {
        title = format!("{title} · {}", label(&tr, c));
    }
    let actor = me.actor();
    let mut advisors: Vec<(String, String, bool)> = s
        .advisors
        .iter()
        .map(|u| (u.to_string(), name_of(Some(*u)), Some(*u) == s.lead))
        .collect();
    advisors.sort_by(|a, b| b.2.cmp(&a.2).then(a.1.cmp(&b.1)));
    let (proceedings, new_proceeding) = super::court::of_case(ctx, s).await?;
    let res = render(&CasePage {
        page: ctx.page_titled(title),
        id: s.id.to_string(),
        kind: s.kind.code(),
        kind_label: label(&tr, s.kind),
        status_code: s.status.code(),
        status_label: label(&tr, s.status),
        open: s.status.is_open(),
        restricted: s.restricted,
        headline: headline.join(" · "),
        by_break_glass: g
            .grant_until
            .filter(|_| g.access == CaseAccess::AllowedByBreakGlass)
            .map(|t| ctx.time(t)),
        closure_pending,
        can_edit: actor.can(Permission::EditCases),
        can_approve: actor.can(Permission::ApproveClosure),
        can_audit,
        advisors,
        staff: case_staff(ctx).await?,
        escalations: escalation_rows(ctx, s),
        people: people_rows,
        case_people,
        services,
        tasks,
        documents: documents_rows,
        consents,
        timeline,
        filter: filter.to_owned(),
        filters: GROUPS
            .iter()
            .filter(|g| **g != "views" || can_audit)
            .map(|g| (*g, tr.t(&format!("timeline-group-{g}"))))
            .collect(),
        access_log,
        share,
        share_with: share_with.to_owned(),
        institutions: insts.clone(),
        values,
        upload_action: format!("/staff/cases/{}/documents?csrf={}", s.id, ctx.csrf()),
        opt_category: opts::<MissingCategory>(&tr),
        opt_scope: opts::<Scope>(&tr),
        opt_found_state: opts::<FoundState>(&tr),
        opt_returned_to: opts::<ReturnedTo>(&tr),
        opt_tr_status: opts::<TraffickingStatus>(&tr),
        opt_decider: opts::<StatusDecider>(&tr),
        opt_exploitation: opts::<ExploitationType>(&tr),
        opt_industry: opts::<Industry>(&tr),
        opt_sex: opts::<SexExploitationType>(&tr),
        opt_control: opts::<ControlMethod>(&tr),
        opt_recruitment: opts::<RecruitmentMethod>(&tr),
        opt_apps: opts::<WebsiteOrApp>(&tr),
        opt_relationship: opts::<Relationship>(&tr),
        opt_ilo: opts::<IloIndicator>(&tr),
        opt_role: opts::<PersonRole>(&tr),
        opt_perp: opts::<PerpetratorRole>(&tr),
        opt_gender: Gender::ALL
            .iter()
            .map(|g| Opt {
                code: g.code().to_owned(),
                label: label_gender(&tr, *g),
            })
            .collect(),
        opt_education: opts::<EducationLevel>(&tr),
        opt_service: opts::<ServiceKind>(&tr),
        opt_service_status: opts::<ServiceStatus>(&tr),
        opt_doc_kind: opts::<DocumentKind>(&tr),
        opt_purpose: opts::<ConsentPurpose>(&tr),
        opt_closure: opts::<ClosureReason>(&tr),
        opt_close_as: [CaseStatus::Closed, CaseStatus::ClosedReferred]
            .iter()
            .map(|c| Opt {
                code: c.code().to_owned(),
                label: label(&tr, *c),
            })
            .collect(),
        opt_given_by: ["person", "parent", "guardian"]
            .iter()
            .map(|c| Opt {
                code: (*c).to_owned(),
                label: tr.t(&format!("consent-given-by-{c}")),
            })
            .collect(),
        o,
        proceedings,
        new_proceeding,
    })?;
    Ok(res)
}

/// The label of a gender.
pub fn label_gender(tr: &Tr<'_>, g: Gender) -> String {
    tr.t(&format!("gender-{}", g.code()))
}

fn timeline_text(
    tr: &Tr<'_>,
    kind: &str,
    data: &serde_json::Value,
    person_name: &dyn Fn(PersonId) -> String,
    ref_id: Option<Uuid>,
) -> String {
    let s = |k: &str| {
        data.get(k)
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_owned()
    };
    let lab = |id: Option<String>| id.map(|i| tr.t(&i)).unwrap_or_default();
    let id = format!("timeline-{kind}");
    match kind {
        "status_changed" | "closure_requested" | "closure_approved" => tr.t_args(
            &id,
            &[
                (
                    "status",
                    lab(CaseStatus::from_code(&s("to")).map(|v| v.label_id())),
                ),
                (
                    "reason",
                    lab(ClosureReason::from_code(&s("reason")).map(|v| v.label_id())),
                ),
            ],
        ),
        "person_added" | "person_removed" => tr.t_args(
            &id,
            &[
                (
                    "role",
                    lab(PersonRole::from_code(&s("role")).map(|v| v.label_id())),
                ),
                (
                    "name",
                    ref_id.map(|p| person_name(PersonId(p))).unwrap_or_default(),
                ),
            ],
        ),
        "service_added" | "service_updated" => tr.t_args(
            &id,
            &[
                (
                    "service",
                    lab(ServiceKind::from_code(&s("service")).map(|v| v.label_id())),
                ),
                (
                    "status",
                    lab(ServiceStatus::from_code(&s("status")).map(|v| v.label_id())),
                ),
            ],
        ),
        "document_added" => tr.t1(
            &id,
            "kind",
            lab(DocumentKind::from_code(&s("kind")).map(|v| v.label_id())),
        ),
        "consent_recorded" => tr.t_args(
            &id,
            &[
                (
                    "purpose",
                    lab(ConsentPurpose::from_code(&s("purpose")).map(|v| v.label_id())),
                ),
                (
                    "given",
                    if data.get("given").and_then(|v| v.as_bool()).unwrap_or(false) {
                        "given".into()
                    } else {
                        "withdrawn".into()
                    },
                ),
            ],
        ),
        "created" => tr.t1(&id, "number", s("number")),
        "escalated" => tr.t(&format!("timeline-escalated-{}", s("escalation"))),
        "break_glass" => tr.t1(
            &id,
            "hours",
            data.get("hours").and_then(|v| v.as_i64()).unwrap_or(0),
        ),
        _ => tr.t(&id),
    }
}

/// The case page's query.
#[derive(Debug, Default, Deserialize)]
pub struct CaseQuery {
    #[serde(default)]
    show: String,
    #[serde(default)]
    share_with: String,
}

/// GET /staff/cases/{id}: the case page (audited as a view by [`case_page`]).
pub async fn show(
    ctx: Ctx,
    Path(id): Path<String>,
    Query(q): Query<CaseQuery>,
) -> AppResult<Response> {
    let g = match require(&ctx, &id).await? {
        Ok(g) => g,
        Err(r) => return Ok(r),
    };
    record_escalations(&ctx, &g.summary).await?;
    case_page(&ctx, &g, &q.show, &q.share_with, FormState::default()).await
}

/// Enters each escalation timer that ran out into the timeline, once, at the time it ran out,
/// so the case's history keeps the warning after the deadline is met.
async fn record_escalations(ctx: &Ctx, s: &CaseSummary) -> AppResult<()> {
    let facts = EscalationFacts {
        opened_at: s.opened_at,
        open: s.status.is_open(),
        found: s.found_at.is_some(),
        police_reported_at: s.police_reported_at,
        family_contact_at: s.family_contact_at,
    };
    let now = ctx.state.now();
    let overdue: Vec<_> = domain::escalations(&facts, &ctx.state.settings.cases.rules(s.line), now)
        .into_iter()
        .filter(|e| e.urgency == Urgency::Overdue)
        .collect();
    if overdue.is_empty() {
        return Ok(());
    }
    let me = ctx.user()?;
    let ring = ctx.state.keys.get(me.org()).await?;
    let known = cases::events(&ctx.state.db, &ring, me.org(), s.id).await?;
    let mut tx = ctx.state.db.begin().await?;
    let mut any = false;
    for e in overdue {
        let due = e.due_at.to_rfc3339();
        let recorded = known.iter().any(|k| {
            k.kind == "escalated"
                && k.data.get("escalation").and_then(|v| v.as_str()) == Some(e.kind.code())
                && k.data.get("due").and_then(|v| v.as_str()) == Some(due.as_str())
        });
        if !recorded {
            let mut ev = NewEvent::new("escalated", None);
            ev.data = json!({ "escalation": e.kind.code(), "due": due });
            cases::add_event(
                &mut tx,
                &ring,
                ctx.state.rng.as_ref(),
                me.org(),
                s.id,
                ctx.state.ids().id(),
                &ev,
                e.due_at,
            )
            .await?;
            any = true;
        }
    }
    if any {
        tx.commit().await?;
    }
    Ok(())
}

/// Shows the case page again after a failed form (422), audited as a view like any other.
async fn failed(
    ctx: &Ctx,
    g: &Gate,
    section: &'static str,
    form: &[(String, String)],
    errors: &ValidationErrors,
) -> AppResult<Response> {
    let o = FormState {
        section,
        errors: FormErrors::from_validation(&ctx.tr(), errors),
        kept: form.to_vec(),
        ..FormState::default()
    };
    let mut res = case_page(ctx, g, "", "", o).await?;
    *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(res)
}

fn back(g: &Gate, anchor: &str) -> Response {
    see_other(&format!("/staff/cases/{}#{anchor}", g.summary.id))
}

macro_rules! allowed {
    ($ctx:expr, $id:expr) => {
        match require(&$ctx, &$id).await? {
            Ok(g) => g,
            Err(r) => return Ok(r),
        }
    };
}

// Changes.

/// POST /staff/cases/{id}/details: the summary and the details of the case's kind.
pub async fn update_details(
    ctx: Ctx,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let g = allowed!(ctx, id);
    let me = ctx.user()?.clone();
    let form = pairs.as_slice();
    let mut p = Parser::new(form, parse_ctx(&ctx));
    let summary = p.text_max("summary", 10_000);
    let mut errors = p.errors;
    let details = match domain::parse_details(g.summary.kind, form, parse_ctx(&ctx)) {
        Ok(d) => Some(d),
        Err(e) => {
            errors.0.extend(e.0);
            None
        }
    };
    let (Some(details), true) = (details, errors.is_empty()) else {
        return failed(&ctx, &g, "details", form, &errors).await;
    };
    let ring = ctx.state.keys.get(me.org()).await?;
    let old = cases::get(&ctx.state.db, &ring, me.org(), g.summary.id)
        .await?
        .ok_or(AppError::NotFound)?;
    let now = ctx.state.now();
    let mut tx = ctx.state.db.begin().await?;
    cases::update_details(
        &mut tx,
        &ring,
        ctx.state.rng.as_ref(),
        me.org(),
        g.summary.id,
        &summary,
        &details,
        now,
    )
    .await?;
    record(
        &ctx,
        &mut tx,
        &ring,
        g.summary.id,
        NewEvent::new("details_updated", Some(me.user.id)),
        "case.updated",
    )
    .await?;
    if let (CaseDetails::MissingChild(before), CaseDetails::MissingChild(after)) =
        (&old.details, &details)
    {
        if before.police_reported_at.is_none() && after.police_reported_at.is_some() {
            record(
                &ctx,
                &mut tx,
                &ring,
                g.summary.id,
                NewEvent::new("police_report", Some(me.user.id)),
                "case.police_report",
            )
            .await?;
        }
        if before.found_at.is_none() && after.found_at.is_some() {
            record(
                &ctx,
                &mut tx,
                &ring,
                g.summary.id,
                NewEvent::new("child_found", Some(me.user.id)),
                "case.child_found",
            )
            .await?;
        }
    }
    tx.commit().await?;
    Ok(back(&g, "details"))
}

/// POST /staff/cases/{id}/team: `op` = `add`, `remove` or `lead` (with `user`), `restrict` or
/// `unrestrict`.
pub async fn team(
    ctx: Ctx,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let g = allowed!(ctx, id);
    let me = ctx.user()?.clone();
    let form = pairs.as_slice();
    let op = form.one("op");
    let now = ctx.state.now();
    let staff = case_staff(&ctx).await?;
    let user = form.one("user");
    let mut errors = ValidationErrors::new();
    let user_id = match op {
        "add" | "remove" | "lead" => match staff.iter().find(|(id, _)| id == user) {
            Some((id, _)) => id.parse::<UserId>().ok(),
            None => {
                errors.add("user", "advisor-unknown");
                None
            }
        },
        "restrict" | "unrestrict" => None,
        _ => {
            errors.add("op", "code-unknown");
            None
        }
    };
    if !errors.is_empty() {
        return failed(&ctx, &g, "team", form, &errors).await;
    }
    let ring = ctx.state.keys.get(me.org()).await?;
    let mut tx = ctx.state.db.begin().await?;
    let case = g.summary.id;
    match (op, user_id) {
        ("add", Some(u)) => {
            cases::add_advisor(&mut tx, me.org(), case, u, Some(me.user.id), now).await?
        }
        ("lead", Some(u)) => cases::set_lead(&mut tx, me.org(), case, u, now).await?,
        ("remove", Some(u)) => {
            if !cases::remove_advisor(&mut tx, me.org(), case, u).await? {
                drop(tx);
                errors.add("user", "advisor-is-lead");
                return failed(&ctx, &g, "team", form, &errors).await;
            }
        }
        ("restrict", _) => cases::set_restricted(&mut tx, me.org(), case, true, now).await?,
        ("unrestrict", _) => cases::set_restricted(&mut tx, me.org(), case, false, now).await?,
        _ => return Err(AppError::BadRequest),
    }
    let mut ev = NewEvent::new("team_changed", Some(me.user.id));
    ev.data = json!({ "op": op, "user": user_id.map(|u| u.0) });
    record(&ctx, &mut tx, &ring, case, ev, "case.team_changed").await?;
    tx.commit().await?;
    Ok(back(&g, "team"))
}

/// POST /staff/cases/{id}/status: `action` = `follow_up`, `active`, `close` (with `close_as`
/// and `reason`) or `reopen`; an optional `note`.
pub async fn status(
    ctx: Ctx,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let g = allowed!(ctx, id);
    let me = ctx.user()?.clone();
    let form = pairs.as_slice();
    let mut p = Parser::new(form, parse_ctx(&ctx));
    let note = p.text("note");
    let change = match form.one("action") {
        "follow_up" => Some(StatusChange::FollowUp),
        "active" => Some(StatusChange::BackToActive),
        "reopen" => Some(StatusChange::Reopen),
        "close" => {
            let to = p
                .code("close_as", CaseStatus::from_code)
                .unwrap_or(CaseStatus::Closed);
            let reason = p.code("reason", ClosureReason::from_code);
            if reason.is_none() && p.errors.for_field("reason").is_none() {
                p.errors.add("reason", "required");
            }
            reason.map(|r| StatusChange::Close(to, r))
        }
        _ => {
            p.errors.add("action", "code-unknown");
            None
        }
    };
    let s = &g.summary;
    let outcome = change.and_then(|c| {
        domain::change_status(
            s.status,
            s.closure_request.is_some(),
            c,
            ctx.state.settings.cases.closure_needs_approval,
            me.actor().can(Permission::ApproveClosure),
            (s.kind == CaseKind::MissingChild).then_some(s.found_at.is_some()),
        )
        .map_err(|e| p.errors.add("action", e.code()))
        .ok()
    });
    let (Some(outcome), true) = (outcome, p.errors.is_empty()) else {
        return failed(&ctx, &g, "status", form, &p.errors).await;
    };
    let ring = ctx.state.keys.get(me.org()).await?;
    let now = ctx.state.now();
    let mut tx = ctx.state.db.begin().await?;
    let reason = match change {
        Some(StatusChange::Close(_, r)) => Some(r),
        _ => None,
    };
    match outcome {
        StatusOutcome::Now(to) => {
            cases::set_status(&mut tx, me.org(), s.id, to, reason, now).await?;
            let mut ev = NewEvent::new("status_changed", Some(me.user.id));
            ev.data = json!({ "from": s.status.code(), "to": to.code(), "reason": reason.map(|r| r.code()) });
            ev.body = note;
            let action = if change == Some(StatusChange::Reopen) {
                "case.reopened"
            } else {
                "case.status_changed"
            };
            record(&ctx, &mut tx, &ring, s.id, ev, action).await?;
        }
        StatusOutcome::AwaitsApproval(to, r) => {
            cases::request_closure(
                &mut tx,
                me.org(),
                s.id,
                &cases::ClosureRequest {
                    at: now,
                    by: Some(me.user.id),
                    status: to,
                    reason: r,
                },
            )
            .await?;
            let mut ev = NewEvent::new("closure_requested", Some(me.user.id));
            ev.data = json!({ "to": to.code(), "reason": r.code() });
            ev.body = note;
            record(&ctx, &mut tx, &ring, s.id, ev, "case.closure_requested").await?;
        }
    }
    tx.commit().await?;
    Ok(back(&g, "status"))
}

/// POST /staff/cases/{id}/closure/approve (supervisors).
pub async fn approve_closure(
    ctx: Ctx,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    decide_closure(ctx, id, pairs, true).await
}

/// POST /staff/cases/{id}/closure/reject (supervisors).
pub async fn reject_closure(
    ctx: Ctx,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    decide_closure(ctx, id, pairs, false).await
}

async fn decide_closure(
    ctx: Ctx,
    id: String,
    pairs: Vec<(String, String)>,
    approve: bool,
) -> AppResult<Response> {
    let g = allowed!(ctx, id);
    let me = ctx.user()?.clone();
    let form = pairs.as_slice();
    let mut p = Parser::new(form, parse_ctx(&ctx));
    let note = p.text("note");
    let Some(request) = g.summary.closure_request.clone() else {
        p.errors.add("action", "closure-not-pending");
        return failed(&ctx, &g, "status", form, &p.errors).await;
    };
    if !p.errors.is_empty() {
        return failed(&ctx, &g, "status", form, &p.errors).await;
    }
    let ring = ctx.state.keys.get(me.org()).await?;
    let now = ctx.state.now();
    let mut tx = ctx.state.db.begin().await?;
    let case = g.summary.id;
    if approve {
        cases::set_status(
            &mut tx,
            me.org(),
            case,
            request.status,
            Some(request.reason),
            now,
        )
        .await?;
        let mut ev = NewEvent::new("closure_approved", Some(me.user.id));
        ev.data = json!({ "to": request.status.code(), "reason": request.reason.code(), "requested_by": request.by.map(|u| u.0) });
        ev.body = note;
        record(&ctx, &mut tx, &ring, case, ev, "case.closure_approved").await?;
    } else {
        cases::clear_closure_request(&mut tx, me.org(), case, now).await?;
        let mut ev = NewEvent::new("closure_rejected", Some(me.user.id));
        ev.body = note;
        record(&ctx, &mut tx, &ring, case, ev, "case.closure_rejected").await?;
    }
    tx.commit().await?;
    Ok(back(&g, "status"))
}

/// POST /staff/cases/{id}/notes: a note (sealed); for a missing child, "contact with the
/// family" restarts that escalation timer.
pub async fn add_note(
    ctx: Ctx,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let g = allowed!(ctx, id);
    let me = ctx.user()?.clone();
    let form = pairs.as_slice();
    let mut p = Parser::new(form, parse_ctx(&ctx));
    let text = p.required_text("note_text", 10_000);
    let family = p.flag("family_contact");
    if !p.errors.is_empty() {
        return failed(&ctx, &g, "note", form, &p.errors).await;
    }
    let ring = ctx.state.keys.get(me.org()).await?;
    let now = ctx.state.now();
    let mut tx = ctx.state.db.begin().await?;
    if family {
        cases::set_family_contact(&mut tx, me.org(), g.summary.id, now).await?;
    }
    let mut ev = NewEvent::new("note", Some(me.user.id));
    ev.data = json!({ "family_contact": family });
    ev.body = text;
    record(&ctx, &mut tx, &ring, g.summary.id, ev, "case.note_added").await?;
    tx.commit().await?;
    Ok(back(&g, "timeline"))
}

/// A person's values from a form (the case's "add a person" and the person page).
pub fn parse_person(
    form: &[(String, String)],
    pctx: ParseCtx,
    id: PersonId,
    created_by: Option<UserId>,
) -> Result<(NewPerson, Vec<String>, Option<EducationLevel>), ValidationErrors> {
    let mut p = Parser::new(form, pctx);
    let name = p.required_text("name", 200);
    let lines = |p: &mut Parser<'_, [(String, String)]>, field: &str| -> Vec<String> {
        p.text(field)
            .lines()
            .map(|l| l.trim().to_owned())
            .filter(|l| !l.is_empty())
            .collect()
    };
    let aliases = lines(&mut p, "aliases");
    let phones = lines(&mut p, "phones");
    let emails = lines(&mut p, "emails");
    for e in &emails {
        if EmailAddress::parse("emails", e).is_err() && p.errors.for_field("emails").is_none() {
            p.errors.add("emails", "email-invalid");
        }
    }
    let identity_numbers = lines(&mut p, "identity_numbers");
    let birth_date = p.past_date("birth_date");
    let year_now = chrono::Datelike::year(&pctx.today());
    let birth_year = p
        .number("birth_year", i64::from(year_now - 120), i64::from(year_now))
        .and_then(|y| BirthYear::parse("birth_year", y as i32, year_now).ok());
    if let (Some(d), Some(y)) = (birth_date, birth_year)
        && chrono::Datelike::year(&d) != y.get()
    {
        p.errors.add("birth_year", "birth-year-differs");
    }
    let gender = match form.one("gender") {
        "" => Gender::NonSpecifiedUnknown,
        g => g.parse::<Gender>().unwrap_or_else(|_| {
            p.errors.add("gender", "code-unknown");
            Gender::NonSpecifiedUnknown
        }),
    };
    let citizenship = p.country("citizenship");
    let address = p.text_max("address", 500);
    let notes = p.text("person_notes");
    let languages: Vec<String> = form
        .one("languages")
        .split([',', ' ', ';'])
        .map(|l| l.trim().to_ascii_lowercase())
        .filter(|l| !l.is_empty())
        .collect();
    if languages
        .iter()
        .any(|l| l.len() != 2 || !l.chars().all(|c| c.is_ascii_lowercase()))
    {
        p.errors.add("languages", "languages-invalid");
    }
    let education = p.code("education", EducationLevel::from_code);
    let person = NewPerson {
        id,
        name,
        aliases,
        birth_date,
        phones,
        emails,
        identity_numbers,
        address,
        notes,
        gender,
        birth_year: birth_year.or_else(|| {
            birth_date.and_then(|d| {
                BirthYear::parse("birth_year", chrono::Datelike::year(&d), year_now).ok()
            })
        }),
        citizenship,
        created_by,
        now: pctx.now,
    };
    p.errors.into_result((person, languages, education))
}

/// Possible duplicates of `p` that the person asking may see, and how many they may not.
pub async fn visible_duplicates(
    ctx: &Ctx,
    ring: &OrgKeyring,
    p: &NewPerson,
) -> AppResult<(Vec<DupRow>, usize)> {
    let me = ctx.user()?;
    let tr = ctx.tr();
    let found = people::possible_duplicates(
        &ctx.state.db,
        ring,
        me.org(),
        &ctx.state.settings.org.phone_region,
        p,
    )
    .await?;
    let mut rows = Vec::new();
    let mut hidden = 0;
    for (q, reasons) in found {
        if person_gate(ctx, q.id).await?.allowed() {
            rows.push(DupRow {
                id: q.id.to_string(),
                name: q.name.clone(),
                birth_year: q.birth_year.map(|y| y.to_string()).unwrap_or_default(),
                reasons: reasons
                    .iter()
                    .map(|r| tr.t(&format!("duplicate-reason-{}", r.code())))
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        } else {
            hidden += 1;
        }
    }
    Ok((rows, hidden))
}

/// The policy's answer for a person: through the cases they are in.
pub async fn person_gate(ctx: &Ctx, id: PersonId) -> AppResult<CaseAccess> {
    let me = ctx.user()?;
    let now = ctx.state.now();
    let mut facts = Vec::new();
    for link in cases::cases_of_person(&ctx.state.db, me.org(), id).await? {
        if let Some(f) = cases::facts(&ctx.state.db, me.org(), link.case_id).await? {
            let grant =
                cases::running_grant(&ctx.state.db, me.org(), link.case_id, me.user.id, now)
                    .await?
                    .is_some();
            facts.push((f, grant));
        }
    }
    Ok(person_access(&me.actor(), me.org(), &facts))
}

/// POST /staff/cases/{id}/people: adds a person in a role — an existing one (`person_id`), or a
/// new one from the form's fields after possible duplicates were shown (`confirm_new`).
pub async fn add_person(
    ctx: Ctx,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let g = allowed!(ctx, id);
    let me = ctx.user()?.clone();
    let form = pairs.as_slice();
    let mut errors = ValidationErrors::new();
    let role = PersonRole::from_code(form.one("role"));
    if role.is_none() {
        errors.add(
            "role",
            if form.one("role").is_empty() {
                "required"
            } else {
                "code-unknown"
            },
        );
    }
    let perp: Vec<String> = form
        .all("perpetrator_roles")
        .into_iter()
        .filter(|c| PerpetratorRole::from_code(c).is_some())
        .map(str::to_owned)
        .collect();
    let ring = ctx.state.keys.get(me.org()).await?;
    let now = ctx.state.now();
    let existing = match form.one("person_id") {
        "" => None,
        v => {
            let pid: Option<PersonId> = v.parse().ok();
            let found = match pid {
                Some(pid) => people::get(&ctx.state.db, &ring, me.org(), pid).await?,
                None => None,
            };
            match found {
                Some(p) if p.merged_into.is_none() && person_gate(&ctx, p.id).await?.allowed() => {
                    Some(p.id)
                }
                _ => {
                    errors.add("person_id", "person-unknown");
                    None
                }
            }
        }
    };
    let new = if existing.is_none() && errors.for_field("person_id").is_none() {
        match parse_person(
            form,
            parse_ctx(&ctx),
            ctx.state.ids().id(),
            Some(me.user.id),
        ) {
            Ok(p) => Some(p),
            Err(e) => {
                errors.0.extend(e.0);
                None
            }
        }
    } else {
        None
    };
    let Some(role) = role.filter(|_| errors.is_empty()) else {
        return failed(&ctx, &g, "person", form, &errors).await;
    };
    if let Some((p, _, _)) = &new
        && form.one("confirm_new").is_empty()
    {
        let (duplicates, hidden) = visible_duplicates(&ctx, &ring, p).await?;
        if !duplicates.is_empty() || hidden > 0 {
            let o = FormState {
                section: "person",
                kept: form.to_vec(),
                duplicates,
                hidden_duplicates: hidden,
                ..FormState::default()
            };
            return case_page(&ctx, &g, "", "", o).await;
        }
    }
    let mut tx = ctx.state.db.begin().await?;
    let person_id = match (existing, new) {
        (Some(pid), _) => pid,
        (None, Some((p, languages, education))) => {
            people::insert(
                &mut tx,
                &ring,
                ctx.state.rng.as_ref(),
                me.org(),
                &ctx.state.settings.org.phone_region,
                &p,
            )
            .await?;
            people::set_profile(&mut tx, me.org(), p.id, &languages, education).await?;
            ctx.audit(
                &mut tx,
                me.org(),
                ctx.event("person.created", Outcome::Ok)
                    .target("person", p.id.0)
                    .details(json!({ "case": g.summary.id.0 })),
            )
            .await?;
            p.id
        }
        (None, None) => return Err(AppError::BadRequest),
    };
    let perp = if role == PersonRole::SuspectedPerpetrator {
        perp
    } else {
        Vec::new()
    };
    if cases::add_person(
        &mut tx,
        me.org(),
        g.summary.id,
        person_id,
        role,
        &perp,
        Some(me.user.id),
        now,
    )
    .await?
    {
        let mut ev = NewEvent::new("person_added", Some(me.user.id));
        ev.ref_id = Some(person_id.0);
        ev.data = json!({ "role": role.code(), "person": person_id.0 });
        record(&ctx, &mut tx, &ring, g.summary.id, ev, "case.person_added").await?;
    }
    tx.commit().await?;
    Ok(back(&g, "people"))
}

/// POST /staff/cases/{id}/people/{pid}/remove: removes a person's role (`role`) from the case.
pub async fn remove_person(
    ctx: Ctx,
    Path((id, pid)): Path<(String, String)>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let g = allowed!(ctx, id);
    let me = ctx.user()?.clone();
    let person: PersonId = pid.parse().map_err(|_| AppError::NotFound)?;
    let role = PersonRole::from_code(pairs.as_slice().one("role")).ok_or(AppError::BadRequest)?;
    let ring = ctx.state.keys.get(me.org()).await?;
    let mut tx = ctx.state.db.begin().await?;
    if !cases::remove_person(&mut tx, me.org(), g.summary.id, person, role).await? {
        return Err(AppError::NotFound);
    }
    let mut ev = NewEvent::new("person_removed", Some(me.user.id));
    ev.ref_id = Some(person.0);
    ev.data = json!({ "role": role.code(), "person": person.0 });
    record(
        &ctx,
        &mut tx,
        &ring,
        g.summary.id,
        ev,
        "case.person_removed",
    )
    .await?;
    tx.commit().await?;
    Ok(back(&g, "people"))
}

async fn case_person(
    ctx: &Ctx,
    g: &Gate,
    v: &str,
    field: &str,
    errors: &mut ValidationErrors,
) -> AppResult<Option<PersonId>> {
    if v.is_empty() {
        return Ok(None);
    }
    let me = ctx.user()?;
    let links = cases::people_of(&ctx.state.db, me.org(), g.summary.id).await?;
    match v
        .parse::<PersonId>()
        .ok()
        .filter(|p| links.iter().any(|l| l.person_id == *p))
    {
        Some(p) => Ok(Some(p)),
        None => {
            errors.add(field, "person-unknown");
            Ok(None)
        }
    }
}

async fn institution(
    ctx: &Ctx,
    v: &str,
    field: &str,
    errors: &mut ValidationErrors,
) -> AppResult<Option<Uuid>> {
    if v.is_empty() {
        return Ok(None);
    }
    let me = ctx.user()?;
    let found = institutions::search(&ctx.state.db, me.org(), None, "").await?;
    match haven_domain::ids::parse_uuid(v).filter(|u| found.iter().any(|i| i.id == *u)) {
        Some(u) => Ok(Some(u)),
        None => {
            errors.add(field, "institution-unknown");
            Ok(None)
        }
    }
}

/// POST /staff/cases/{id}/services: plans or records a service.
pub async fn add_service(
    ctx: Ctx,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let g = allowed!(ctx, id);
    let me = ctx.user()?.clone();
    let form = pairs.as_slice();
    let mut p = Parser::new(form, parse_ctx(&ctx));
    let kind = p.code("service_kind", ServiceKind::from_code);
    if kind.is_none() && p.errors.for_field("service_kind").is_none() {
        p.errors.add("service_kind", "required");
    }
    let status = p
        .code("service_status", ServiceStatus::from_code)
        .unwrap_or(ServiceStatus::Planned);
    let planned_on = p.any_date("planned_on");
    let started_on = p.past_date("started_on");
    let ended_on = p.past_date("ended_on");
    if let (Some(a), Some(b)) = (started_on, ended_on)
        && b < a
    {
        p.errors.add("ended_on", "ended-before-started");
    }
    let cost = p.money("cost");
    let currency = form.one("cost_currency").to_ascii_uppercase();
    if !currency.is_empty()
        && (currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_uppercase()))
    {
        p.errors.add("cost_currency", "currency-invalid");
    }
    let funding = p.text_max("funding_source", 200);
    let outcome = p.text("outcome");
    let mut errors = p.errors;
    let person = case_person(
        &ctx,
        &g,
        form.one("service_person"),
        "service_person",
        &mut errors,
    )
    .await?;
    let provider_institution = institution(
        &ctx,
        form.one("provider_institution"),
        "provider_institution",
        &mut errors,
    )
    .await?;
    let staff = case_staff(&ctx).await?;
    let provider_user = match form.one("provider_user") {
        "" => None,
        v => match staff.iter().find(|(id, _)| id == v) {
            Some((id, _)) => id.parse::<UserId>().ok(),
            None => {
                errors.add("provider_user", "advisor-unknown");
                None
            }
        },
    };
    let (Some(kind), true) = (kind, errors.is_empty()) else {
        return failed(&ctx, &g, "service", form, &errors).await;
    };
    let ring = ctx.state.keys.get(me.org()).await?;
    let now = ctx.state.now();
    let service = cases::Service {
        id: ctx.state.ids().id(),
        case_id: g.summary.id,
        person_id: person,
        kind,
        status,
        provider_institution,
        provider_user,
        planned_on,
        started_on,
        ended_on,
        cost_minor: cost,
        currency: cost.map(|_| {
            if currency.is_empty() {
                "EUR".to_owned()
            } else {
                currency
            }
        }),
        funding_source: funding,
        outcome,
    };
    let mut tx = ctx.state.db.begin().await?;
    cases::save_service(
        &mut tx,
        &ring,
        ctx.state.rng.as_ref(),
        me.org(),
        &service,
        Some(me.user.id),
        now,
    )
    .await?;
    let mut ev = NewEvent::new("service_added", Some(me.user.id));
    ev.ref_id = Some(service.id.0);
    ev.data = json!({ "service": kind.code(), "status": status.code(), "support_plan_type": kind.support_plan_type().code() });
    record(&ctx, &mut tx, &ring, g.summary.id, ev, "case.service_added").await?;
    tx.commit().await?;
    Ok(back(&g, "services"))
}

/// POST /staff/cases/{id}/services/{sid}: moves a service on (`service_status`, `outcome`).
pub async fn update_service(
    ctx: Ctx,
    Path((id, sid)): Path<(String, String)>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let g = allowed!(ctx, id);
    let me = ctx.user()?.clone();
    let sid: ServiceId = sid.parse().map_err(|_| AppError::NotFound)?;
    let ring = ctx.state.keys.get(me.org()).await?;
    let mut service = cases::services(&ctx.state.db, &ring, me.org(), g.summary.id)
        .await?
        .into_iter()
        .find(|s| s.id == sid)
        .ok_or(AppError::NotFound)?;
    let form = pairs.as_slice();
    let mut p = Parser::new(form, parse_ctx(&ctx));
    let status = p.code("service_status", ServiceStatus::from_code);
    let outcome = p.text("outcome");
    let (Some(status), true) = (status, p.errors.is_empty()) else {
        if p.errors.is_empty() {
            p.errors.add("service_status", "required");
        }
        return failed(&ctx, &g, "service", form, &p.errors).await;
    };
    let now = ctx.state.now();
    let today = now.with_timezone(&tz(&ctx)).date_naive();
    if status == ServiceStatus::InProgress && service.started_on.is_none() {
        service.started_on = Some(today);
    }
    if matches!(status, ServiceStatus::Delivered | ServiceStatus::Cancelled)
        && service.ended_on.is_none()
    {
        service.ended_on = Some(today);
    }
    service.status = status;
    if !outcome.is_empty() {
        service.outcome = outcome;
    }
    let mut tx = ctx.state.db.begin().await?;
    cases::save_service(
        &mut tx,
        &ring,
        ctx.state.rng.as_ref(),
        me.org(),
        &service,
        Some(me.user.id),
        now,
    )
    .await?;
    let mut ev = NewEvent::new("service_updated", Some(me.user.id));
    ev.ref_id = Some(sid.0);
    ev.data = json!({ "service": service.kind.code(), "status": status.code() });
    record(
        &ctx,
        &mut tx,
        &ring,
        g.summary.id,
        ev,
        "case.service_updated",
    )
    .await?;
    tx.commit().await?;
    Ok(back(&g, "services"))
}

/// POST /staff/cases/{id}/tasks: a task with a due time and an assignee.
pub async fn add_task(
    ctx: Ctx,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let g = allowed!(ctx, id);
    let me = ctx.user()?.clone();
    let form = pairs.as_slice();
    let mut p = Parser::new(form, parse_ctx(&ctx));
    let title = p.required_text("task_title", 300);
    let due = p.any_time("task_due");
    let staff = case_staff(&ctx).await?;
    let assignee = match form.one("task_assignee") {
        "" => Some(me.user.id),
        v => match staff.iter().find(|(id, _)| id == v) {
            Some((id, _)) => id.parse::<UserId>().ok(),
            None => {
                p.errors.add("task_assignee", "advisor-unknown");
                None
            }
        },
    };
    if !p.errors.is_empty() {
        return failed(&ctx, &g, "task", form, &p.errors).await;
    }
    let ring = ctx.state.keys.get(me.org()).await?;
    let now = ctx.state.now();
    let task = cases::Task {
        id: ctx.state.ids().id(),
        case_id: g.summary.id,
        title,
        due_at: due,
        assignee,
        done_at: None,
    };
    let mut tx = ctx.state.db.begin().await?;
    cases::add_task(
        &mut tx,
        &ring,
        ctx.state.rng.as_ref(),
        me.org(),
        &task,
        Some(me.user.id),
        now,
    )
    .await?;
    let mut ev = NewEvent::new("task_added", Some(me.user.id));
    ev.ref_id = Some(task.id.0);
    ev.body = task.title.clone();
    record(&ctx, &mut tx, &ring, g.summary.id, ev, "case.task_added").await?;
    tx.commit().await?;
    Ok(back(&g, "tasks"))
}

/// POST /staff/cases/{id}/tasks/{tid}/done.
pub async fn task_done(ctx: Ctx, Path((id, tid)): Path<(String, String)>) -> AppResult<Response> {
    let g = allowed!(ctx, id);
    let me = ctx.user()?.clone();
    let tid: TaskId = tid.parse().map_err(|_| AppError::NotFound)?;
    let ring = ctx.state.keys.get(me.org()).await?;
    let now = ctx.state.now();
    let mut tx = ctx.state.db.begin().await?;
    if !cases::complete_task(&mut tx, me.org(), g.summary.id, tid, me.user.id, now).await? {
        return Err(AppError::NotFound);
    }
    let mut ev = NewEvent::new("task_done", Some(me.user.id));
    ev.ref_id = Some(tid.0);
    record(&ctx, &mut tx, &ring, g.summary.id, ev, "case.task_done").await?;
    tx.commit().await?;
    Ok(back(&g, "tasks"))
}

/// POST /staff/cases/{id}/consents: consent given or withdrawn by a person of the case.
pub async fn add_consent(
    ctx: Ctx,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let g = allowed!(ctx, id);
    let me = ctx.user()?.clone();
    let form = pairs.as_slice();
    let mut p = Parser::new(form, parse_ctx(&ctx));
    let purpose = p.code("purpose", ConsentPurpose::from_code);
    if purpose.is_none() && p.errors.for_field("purpose").is_none() {
        p.errors.add("purpose", "required");
    }
    let given = match form.one("given") {
        "given" => Some(true),
        "withdrawn" => Some(false),
        _ => {
            p.errors.add("given", "required");
            None
        }
    };
    let given_by = form.one("given_by");
    if !["person", "parent", "guardian"].contains(&given_by) {
        p.errors.add("given_by", "required");
    }
    let given_on = p.past_date("given_on");
    if given_on.is_none() && p.errors.for_field("given_on").is_none() {
        p.errors.add("given_on", "required");
    }
    let note = p.text("consent_note");
    let mut errors = p.errors;
    let person = case_person(
        &ctx,
        &g,
        form.one("consent_person"),
        "consent_person",
        &mut errors,
    )
    .await?;
    if person.is_none() && errors.for_field("consent_person").is_none() {
        errors.add("consent_person", "required");
    }
    let inst = institution(
        &ctx,
        form.one("consent_institution"),
        "consent_institution",
        &mut errors,
    )
    .await?;
    if purpose == Some(ConsentPurpose::Sharing)
        && inst.is_none()
        && errors.for_field("consent_institution").is_none()
    {
        errors.add("consent_institution", "required");
    }
    let me_org = me.org();
    let ring = ctx.state.keys.get(me_org).await?;
    let evidence = match form.one("evidence") {
        "" => None,
        v => {
            let docs = documents::list(&ctx.state.db, &ring, me_org, g.summary.id).await?;
            match v
                .parse::<DocumentId>()
                .ok()
                .filter(|d| docs.iter().any(|x| x.id == *d))
            {
                Some(d) => Some(d),
                None => {
                    errors.add("evidence", "document-unknown");
                    None
                }
            }
        }
    };
    let (Some(purpose), Some(given), Some(person), Some(given_on), true) =
        (purpose, given, person, given_on, errors.is_empty())
    else {
        return failed(&ctx, &g, "consent", form, &errors).await;
    };
    let now = ctx.state.now();
    let consent = cases::Consent {
        id: ctx.state.ids().id::<ConsentId>(),
        person_id: person,
        case_id: Some(g.summary.id),
        purpose,
        institution_id: inst.filter(|_| purpose == ConsentPurpose::Sharing),
        given,
        given_by: given_by.to_owned(),
        given_on,
        evidence,
        note,
        recorded_at: now,
        recorded_by: Some(me.user.id),
    };
    let mut tx = ctx.state.db.begin().await?;
    cases::record_consent(&mut tx, &ring, ctx.state.rng.as_ref(), me_org, &consent).await?;
    let mut ev = NewEvent::new("consent_recorded", Some(me.user.id));
    ev.ref_id = Some(person.0);
    ev.data = json!({ "purpose": purpose.code(), "given": given, "person": person.0 });
    record(
        &ctx,
        &mut tx,
        &ring,
        g.summary.id,
        ev,
        "case.consent_recorded",
    )
    .await?;
    tx.commit().await?;
    Ok(back(&g, "consent"))
}
