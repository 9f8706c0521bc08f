//! Court proceedings: the list, recording a proceeding, the proceeding page (numbers, linked cases
//! and injured parties, defendants and their charge history, events, property claims, awards,
//! enforcement, payments, fund applications) and the advocacy figures with their drill-down and
//! CSV export.
//!
//! Access: the route table checks the permission; [`haven_domain::policy::proceeding_access`]
//! decides for each proceeding from its linked cases (a proceeding with none: those who record
//! proceedings). Another organisation's proceeding is not found; a refusal inside the
//! organisation is a 403, audited. Every view of a proceeding page (it shows defendants' names)
//! and every change is audited; the figures are aggregates and name nobody, and their drill-down
//! lists only proceedings the reader may open.

use std::collections::{BTreeSet, HashMap, HashSet};

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{Datelike, NaiveDate, TimeDelta, TimeZone};
use haven_domain::cases::{CaseId, FormFields, Parser, Taxonomy};
use haven_domain::court::{
    self as domain, AppealBy, AwardSource, ClaimDecision, ClaimId, CourtEventKind, CourtItem,
    DEFAULT_CURRENCY, DefendantId, EnforcementStep, FigureFilter, FundDecision, Offence, OrgRole,
    PostponementReason, ProceedingId, ProceedingKind, ProtectiveMeasure, SentenceType, Stage,
    VerdictOutcome,
};
use haven_domain::institutions::InstitutionKind;
use haven_domain::numbering::CaseNumber;
use haven_domain::people::{Gender, PersonId};
use haven_domain::policy::{CaseAccess, Permission, proceeding_access};
use haven_domain::validate::ValidationErrors;
use haven_domain::{OrgId, UserId};
use haven_store::audit::Outcome;
use haven_store::cases::{self, CaseSummary, NewEvent};
use haven_store::court::{self as store, ProceedingRow};
use haven_store::institutions;
use haven_store::people::{self, NewPerson};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::cases::{fmt_date, parse_ctx};
use super::institutions::localized_name;
use super::see_other;
use crate::error::{AppError, AppResult};
use crate::i18n::Tr;
use crate::ui::{Ctx, FormErrors, Page, render};

// Forms, described once and drawn by one partial.

/// One field of a form.
pub struct Field {
    /// Its name (and id: unique on the page).
    pub name: &'static str,
    /// Its label.
    pub label: String,
    /// `text`, `date`, `number`, `select`, `check`, `checks` or `textarea`.
    pub kind: &'static str,
    /// What it holds (as typed after a failed submission).
    pub value: String,
    /// Every value (multi-valued fields).
    pub values: Vec<String>,
    /// Choices: code and label.
    pub options: Vec<(String, String)>,
    /// A hint.
    pub hint: String,
    /// Its message after a failed submission.
    pub error: Option<String>,
}

impl Field {
    /// Whether the field holds `v`.
    pub fn is(&self, v: &str) -> bool {
        self.value == v
    }

    /// Whether a multi-valued field holds `v`.
    pub fn has(&self, v: &str) -> bool {
        self.values.iter().any(|x| x == v)
    }
}

/// A form.
pub struct FormView {
    /// Its id (`<id>-form`, the button `<id>-submit`).
    pub id: &'static str,
    /// Its heading.
    pub title: String,
    /// Where it posts.
    pub action: String,
    /// The button's label.
    pub submit: String,
    /// The fields.
    pub fields: Vec<Field>,
    /// Whether it failed (opened, with messages).
    pub failed: bool,
}

/// What a failed form leaves on the page: which form, its messages, what was typed.
#[derive(Default)]
pub struct FormState {
    /// The form that failed.
    pub section: &'static str,
    /// Its messages.
    pub errors: FormErrors,
    /// What was typed.
    pub kept: Vec<(String, String)>,
}

pub(crate) struct FormBuilder<'a> {
    tr: &'a Tr<'a>,
    state: &'a FormState,
    view: FormView,
}

impl<'a> FormBuilder<'a> {
    pub(crate) fn new(
        tr: &'a Tr<'a>,
        state: &'a FormState,
        id: &'static str,
        action: String,
        title: &str,
        submit: &str,
    ) -> Self {
        Self {
            tr,
            state,
            view: FormView {
                id,
                title: tr.t(title),
                action,
                submit: tr.t(submit),
                fields: Vec::new(),
                failed: state.section == id,
            },
        }
    }

    pub(crate) fn mine(&self) -> bool {
        self.view.failed
    }

    pub(crate) fn field(mut self, name: &'static str, kind: &'static str, default: &str) -> Self {
        let (value, values, error) = if self.mine() {
            let kept = self.state.kept.as_slice();
            (
                kept.one(name).to_owned(),
                kept.all(name).into_iter().map(str::to_owned).collect(),
                self.state.errors.get(name).map(str::to_owned),
            )
        } else {
            (default.to_owned(), Vec::new(), None)
        };
        self.view.fields.push(Field {
            name,
            label: self.tr.t(&format!("field-{name}")),
            kind,
            value,
            values,
            options: Vec::new(),
            hint: String::new(),
            error,
        });
        self
    }

    pub(crate) fn text(self, name: &'static str) -> Self {
        self.field(name, "text", "")
    }

    pub(crate) fn date(self, name: &'static str) -> Self {
        self.field(name, "date", "")
    }

    pub(crate) fn check(self, name: &'static str) -> Self {
        self.field(name, "check", "")
    }

    pub(crate) fn textarea(self, name: &'static str) -> Self {
        self.field(name, "textarea", "")
    }

    pub(crate) fn select(mut self, name: &'static str, options: Vec<(String, String)>) -> Self {
        self = self.field(name, "select", "");
        if let Some(f) = self.view.fields.last_mut() {
            f.options = options;
        }
        self
    }

    pub(crate) fn checks(mut self, name: &'static str, options: Vec<(String, String)>) -> Self {
        self = self.field(name, "checks", "");
        if let Some(f) = self.view.fields.last_mut() {
            f.options = options;
        }
        self
    }

    pub(crate) fn default(mut self, v: &str) -> Self {
        if !self.mine()
            && let Some(f) = self.view.fields.last_mut()
        {
            f.value = v.to_owned();
        }
        self
    }

    pub(crate) fn hint(mut self, id: &str) -> Self {
        if let Some(f) = self.view.fields.last_mut() {
            f.hint = self.tr.t(id);
        }
        self
    }

    pub(crate) fn build(self) -> FormView {
        self.view
    }
}

/// The choices of a taxonomy.
pub(crate) fn opts<T: Taxonomy>(tr: &Tr<'_>) -> Vec<(String, String)> {
    T::values()
        .iter()
        .map(|v| (v.as_code().to_owned(), tr.t(&v.label())))
        .collect()
}

/// The kinds of institution as choices.
pub(crate) fn opts_of_kinds(tr: &Tr<'_>) -> Vec<(String, String)> {
    InstitutionKind::ALL
        .into_iter()
        .map(|k| {
            (
                k.code().to_owned(),
                tr.t(&format!("institution-kind-{}", k.code())),
            )
        })
        .collect()
}

fn label<T: Taxonomy>(tr: &Tr<'_>, v: T) -> String {
    tr.t(&v.label())
}

/// A length in months as the language writes it (`3 years 6 months`).
fn duration(tr: &Tr<'_>, months: i64) -> String {
    match (months / 12, months % 12) {
        (0, m) => tr.t1("court-months", "months", m),
        (y, 0) => tr.t1("court-years", "years", y),
        (y, m) => tr.t2("court-years-months", "years", y, "months", m),
    }
}

/// An amount of money as people read it.
fn money(minor: i64, currency: &str) -> String {
    format!("{} {currency}", domain::money_text(minor))
}

/// An offence as a choice: `art. 388(1) — Trafficking in human beings`.
fn offence_label(tr: &Tr<'_>, o: &Offence) -> String {
    let title = if o.statutory {
        tr.t(&format!("offence-{}", o.code))
    } else {
        o.title.clone()
    };
    tr.t_args(
        "offence-label",
        &[
            ("article", o.article.to_string()),
            ("paragraph", o.paragraph.to_string()),
            ("title", title),
        ],
    )
}

// Access.

/// A proceeding as the policy sees it for the person asking.
pub struct Gate {
    /// Its plain facts.
    pub row: ProceedingRow,
    /// Its linked cases.
    pub cases: Vec<CaseSummary>,
    /// The policy's answer.
    pub access: CaseAccess,
}

async fn cases_with_grants(
    ctx: &Ctx,
    org: OrgId,
    ids: &[CaseId],
) -> AppResult<Vec<(CaseSummary, bool)>> {
    let me = ctx.user()?;
    let now = ctx.state.now();
    let mut out = Vec::new();
    for id in ids {
        if let Some(s) = cases::summary(&ctx.state.db, org, *id).await? {
            let grant = cases::running_grant(&ctx.state.db, org, *id, me.user.id, now)
                .await?
                .is_some();
            out.push((s, grant));
        }
    }
    Ok(out)
}

/// Finds a proceeding of the person's organisation and asks the policy about it. Another
/// organisation's proceeding, or a malformed id, is not found.
pub async fn gate(ctx: &Ctx, id: &str) -> AppResult<Gate> {
    let me = ctx.user()?;
    let id: ProceedingId = id.parse().map_err(|_| AppError::NotFound)?;
    let row = store::row(&ctx.state.db, me.org(), id)
        .await?
        .ok_or(AppError::NotFound)?;
    let linked = store::linked_cases(&ctx.state.db, me.org(), id).await?;
    let with = cases_with_grants(ctx, me.org(), &linked).await?;
    let facts: Vec<_> = with.iter().map(|(s, g)| (s.facts(), *g)).collect();
    let access = proceeding_access(&me.actor(), me.org(), &facts);
    Ok(Gate {
        row,
        cases: with.into_iter().map(|(s, _)| s).collect(),
        access,
    })
}

/// The proceeding if the person may open it now; otherwise a 403, with the refusal audited.
pub async fn require(ctx: &Ctx, id: &str) -> AppResult<Result<Gate, Response>> {
    let g = gate(ctx, id).await?;
    if g.access.allowed() {
        return Ok(Ok(g));
    }
    let me = ctx.user()?;
    ctx.audit_now(
        me.org(),
        ctx.event("proceeding.access_refused", Outcome::Denied)
            .target("proceeding", g.row.id)
            .details(json!({ "cases": g.cases.iter().map(|c| c.id.0).collect::<Vec<_>>() })),
    )
    .await?;
    Err(AppError::Forbidden)
}

macro_rules! allowed {
    ($ctx:expr, $id:expr) => {
        match require(&$ctx, &$id).await? {
            Ok(g) => g,
            Err(r) => return Ok(r),
        }
    };
}

/// Which proceedings of a list the person may open.
pub(crate) async fn visible(
    ctx: &Ctx,
    rows: Vec<ProceedingRow>,
) -> AppResult<(Vec<ProceedingRow>, usize)> {
    let me = ctx.user()?;
    let links = store::all_links(&ctx.state.db, me.org()).await?;
    let mut facts_of: HashMap<CaseId, (CaseSummary, bool)> = HashMap::new();
    let mut shown = Vec::new();
    let mut hidden = 0;
    for r in rows {
        let ids = links.get(&r.id).cloned().unwrap_or_default();
        let missing: Vec<CaseId> = ids
            .iter()
            .filter(|c| !facts_of.contains_key(c))
            .copied()
            .collect();
        for (s, g) in cases_with_grants(ctx, me.org(), &missing).await? {
            facts_of.insert(s.id, (s, g));
        }
        let facts: Vec<_> = ids
            .iter()
            .filter_map(|c| facts_of.get(c))
            .map(|(s, g)| (s.facts(), *g))
            .collect();
        if proceeding_access(&me.actor(), me.org(), &facts) == CaseAccess::Allow {
            shown.push(r);
        } else {
            hidden += 1;
        }
    }
    Ok((shown, hidden))
}

// Names of things.

async fn institution_names(ctx: &Ctx, kind: InstitutionKind) -> AppResult<Vec<(String, String)>> {
    let me = ctx.user()?;
    Ok(
        institutions::search(&ctx.state.db, me.org(), Some(kind), "")
            .await?
            .iter()
            .map(|i| (i.id.to_string(), localized_name(i, ctx.lang)))
            .collect(),
    )
}

async fn all_institution_names(ctx: &Ctx) -> AppResult<HashMap<Uuid, String>> {
    let me = ctx.user()?;
    Ok(institutions::search(&ctx.state.db, me.org(), None, "")
        .await?
        .iter()
        .map(|i| (i.id, localized_name(i, ctx.lang)))
        .collect())
}

/// The proceedings linked to a case, for its page (the reader may open the case, so they may open
/// its proceedings), and where to record a new one for it (empty if the reader may not).
pub async fn of_case(ctx: &Ctx, case: &CaseSummary) -> AppResult<(Vec<(String, String)>, String)> {
    let me = ctx.user()?;
    if !me.actor().can(Permission::ViewProceedings) {
        return Ok((Vec::new(), String::new()));
    }
    let tr = ctx.tr();
    let ids = store::of_case(&ctx.state.db, me.org(), case.id).await?;
    let names = if ids.is_empty() {
        HashMap::new()
    } else {
        all_institution_names(ctx).await?
    };
    let mut out = Vec::new();
    for id in ids {
        if let Some(r) = store::row(&ctx.state.db, me.org(), id).await? {
            out.push((
                r.id.to_string(),
                format!(
                    "{} · {} · {}",
                    r.kind().map(|k| label(&tr, k)).unwrap_or_default(),
                    names.get(&r.court_id).cloned().unwrap_or_default(),
                    fmt_date(r.opened_on, ctx.lang)
                ),
            ));
        }
    }
    let new = if me.actor().can(Permission::EditProceedings) {
        format!("/staff/proceedings/new?case={}", case.number)
    } else {
        String::new()
    };
    Ok((out, new))
}

// The list.

/// A proceeding as a row of a list: court, kind, stage, linked case numbers; never names.
pub struct ProceedingListRow {
    /// Its id.
    pub id: String,
    /// Kind.
    pub kind: String,
    /// Court.
    pub court: String,
    /// Stage reached.
    pub stage: String,
    /// Started.
    pub opened: String,
    /// Linked case numbers.
    pub cases: String,
}

async fn list_rows(ctx: &Ctx, rows: &[ProceedingRow]) -> AppResult<Vec<ProceedingListRow>> {
    let me = ctx.user()?;
    let tr = ctx.tr();
    let courts = all_institution_names(ctx).await?;
    let facts = store::all_facts(&ctx.state.db, me.org()).await?;
    let links = store::all_links(&ctx.state.db, me.org()).await?;
    let mut out = Vec::new();
    for r in rows {
        let stage = facts
            .iter()
            .find(|f| f.id == r.id)
            .map(|f| f.stage())
            .unwrap_or(Stage::Investigation);
        let mut numbers = Vec::new();
        for c in links.get(&r.id).cloned().unwrap_or_default() {
            if let Some(s) = cases::summary(&ctx.state.db, me.org(), c).await? {
                numbers.push(s.number);
            }
        }
        out.push(ProceedingListRow {
            id: r.id.to_string(),
            kind: r.kind().map(|k| label(&tr, k)).unwrap_or_default(),
            court: courts.get(&r.court_id).cloned().unwrap_or_default(),
            stage: label(&tr, stage),
            opened: fmt_date(r.opened_on, ctx.lang),
            cases: numbers.join(", "),
        });
    }
    Ok(out)
}

/// The list's filters, kept in the query string: codes, ids of courts and staff, dates and a
/// page number; never anything that names a person.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    /// The kind of proceeding.
    #[serde(default)]
    pub kind: String,
    /// A court's id.
    #[serde(default)]
    pub court: String,
    /// The stage reached.
    #[serde(default)]
    pub stage: String,
    /// The lawyer assigned (a staff member's id).
    #[serde(default)]
    pub lawyer: String,
    /// Only those with a deadline ahead (`1`).
    #[serde(default)]
    pub deadline: String,
    /// Started on or after (`YYYY-MM-DD`).
    #[serde(default)]
    pub from: String,
    /// Started on or before.
    #[serde(default)]
    pub to: String,
    /// The page, from 1.
    #[serde(default)]
    pub page: String,
}

/// Proceedings per page of the list.
pub const LIST_PAGE: usize = 25;

impl ListQuery {
    /// The filters (without the page) as a query string, each value reduced to the characters
    /// a code, an id or a date has.
    fn query_string(&self) -> String {
        let enc = |s: &str| -> String {
            s.chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect()
        };
        format!(
            "kind={}&court={}&stage={}&lawyer={}&deadline={}&from={}&to={}",
            enc(&self.kind),
            enc(&self.court),
            enc(&self.stage),
            enc(&self.lawyer),
            enc(&self.deadline),
            enc(&self.from),
            enc(&self.to)
        )
    }
}

/// The list's filter choices and paging.
pub struct ListFilters {
    /// Kinds: code and label.
    pub kinds: Vec<(String, String)>,
    /// Courts.
    pub courts: Vec<(String, String)>,
    /// Stages.
    pub stages: Vec<(String, String)>,
    /// Lawyers.
    pub lawyers: Vec<(String, String)>,
    /// "Page 2 of 3 · 60 proceedings".
    pub position: String,
    /// The previous page's link.
    pub prev: String,
    /// The next page's link.
    pub next: String,
    /// Whether any filter is set.
    pub any: bool,
}

#[derive(Template)]
#[template(path = "staff/proceedings.html")]
struct ProceedingsPage<'a> {
    page: Page<'a>,
    rows: Vec<ProceedingListRow>,
    hidden: usize,
    q: ListQuery,
    filters: ListFilters,
    can_edit: bool,
    can_figures: bool,
    offences: Vec<(String, String, String)>,
    offence_form: Option<FormView>,
    errors: FormErrors,
}

async fn proceedings_page(ctx: &Ctx, o: FormState, q: ListQuery) -> AppResult<Response> {
    let me = ctx.user()?;
    let tr = ctx.tr();
    let all = store::list(&ctx.state.db, me.org()).await?;
    let (shown, hidden) = visible(ctx, all).await?;
    // The filters; a malformed value is a field error and filters nothing.
    let mut errors = o.errors.clone();
    let mut bad = ValidationErrors::new();
    let date = |v: &str, field: &str, bad: &mut ValidationErrors| {
        if v.is_empty() {
            return None;
        }
        let d = NaiveDate::parse_from_str(v, "%Y-%m-%d").ok();
        if d.is_none() {
            bad.add(field.to_owned(), "date-invalid");
        }
        d
    };
    let from = date(&q.from, "from", &mut bad);
    let to = date(&q.to, "to", &mut bad);
    if let (Some(a), Some(b)) = (from, to)
        && a > b
    {
        bad.add("to", "period-reversed");
    }
    let kind = ProceedingKind::from_code(&q.kind);
    let stage = Stage::from_code(&q.stage);
    let court: Option<Uuid> = q.court.parse().ok();
    let lawyer: Option<Uuid> = q.lawyer.parse().ok();
    let deadline = !q.deadline.is_empty();
    let facts = store::all_facts(&ctx.state.db, me.org()).await?;
    let stage_of: HashMap<Uuid, Stage> = facts.iter().map(|f| (f.id, f.stage())).collect();
    let upcoming = if deadline {
        store::with_upcoming_deadline(&ctx.state.db, me.org(), parse_ctx(ctx).today()).await?
    } else {
        HashSet::new()
    };
    let matching: Vec<ProceedingRow> = shown
        .into_iter()
        .filter(|r| {
            kind.is_none_or(|k| r.kind == k.code())
                && court.is_none_or(|c| r.court_id == c)
                && stage.is_none_or(|s| stage_of.get(&r.id).copied() == Some(s))
                && lawyer.is_none_or(|l| r.lawyer_id == Some(l))
                && (!deadline || upcoming.contains(&r.id))
                && from.is_none_or(|d| r.opened_on >= d)
                && to.is_none_or(|d| r.opened_on <= d)
        })
        .collect();
    let total = matching.len();
    let pages = total.div_ceil(LIST_PAGE).max(1);
    let page_no = q.page.parse::<usize>().unwrap_or(1).clamp(1, pages);
    let on_page: Vec<ProceedingRow> = matching
        .into_iter()
        .skip((page_no - 1) * LIST_PAGE)
        .take(LIST_PAGE)
        .collect();
    let rows = list_rows(ctx, &on_page).await?;
    let qs = q.query_string();
    let link = |n: usize| format!("/staff/proceedings?{qs}&page={n}");
    let filters = ListFilters {
        kinds: opts::<ProceedingKind>(&tr),
        courts: institution_names(ctx, InstitutionKind::Court).await?,
        stages: opts::<Stage>(&tr),
        lawyers: super::cases::active_staff_with(ctx, Permission::EditProceedings).await?,
        position: tr.t_args(
            "proceedings-page",
            &[
                ("page", page_no.to_string()),
                ("pages", pages.to_string()),
                ("count", total.to_string()),
            ],
        ),
        prev: if page_no > 1 {
            link(page_no - 1)
        } else {
            String::new()
        },
        next: if page_no < pages {
            link(page_no + 1)
        } else {
            String::new()
        },
        any: kind.is_some()
            || court.is_some()
            || stage.is_some()
            || lawyer.is_some()
            || deadline
            || from.is_some()
            || to.is_some(),
    };
    if !bad.is_empty() {
        errors = FormErrors::from_validation(&tr, &bad);
    }
    let can_edit = me.actor().can(Permission::EditProceedings);
    let offences = store::offences(&ctx.state.db, me.org())
        .await?
        .iter()
        .map(|o| {
            let sentence = match (o.min_months, o.max_months) {
                (Some(a), Some(b)) => format!(
                    "{} – {}",
                    duration(&tr, i64::from(a)),
                    duration(&tr, i64::from(b))
                ),
                (Some(a), None) => format!("≥ {}", duration(&tr, i64::from(a))),
                (None, Some(b)) => format!("≤ {}", duration(&tr, i64::from(b))),
                (None, None) => String::new(),
            };
            (o.code.clone(), offence_label(&tr, o), sentence)
        })
        .collect();
    let offence_form = can_edit.then(|| {
        FormBuilder::new(
            &tr,
            &o,
            "offence",
            "/staff/court/offences".into(),
            "court-offence-add",
            "court-offence-add",
        )
        .field("offence_article", "number", "")
        .field("offence_paragraph", "number", "")
        .text("offence_title")
        .field("offence_min_months", "number", "")
        .field("offence_max_months", "number", "")
        .build()
    });
    let failed = !bad.is_empty();
    let mut res = render(&ProceedingsPage {
        page: ctx.page("proceedings-title"),
        rows,
        hidden,
        q,
        filters,
        can_edit,
        can_figures: me.actor().can(Permission::ViewCourtFigures),
        offences,
        offence_form,
        errors,
    })?;
    if failed {
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(res)
}

/// GET /staff/proceedings: the proceedings the reader may open, filtered and a page at a time.
pub async fn list(ctx: Ctx, Query(q): Query<ListQuery>) -> AppResult<Response> {
    proceedings_page(&ctx, FormState::default(), q).await
}

/// POST /staff/court/offences: an offence added to the organisation's list.
pub async fn add_offence(
    ctx: Ctx,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let me = ctx.user()?.clone();
    let form = pairs.as_slice();
    let mut p = Parser::new(form, parse_ctx(&ctx));
    let article = p.number("offence_article", 1, 9999);
    let paragraph = p.number("offence_paragraph", 1, 99);
    let title = p.text_max("offence_title", 300);
    let min = p.number("offence_min_months", 0, 480);
    let max = p.number("offence_max_months", 0, 480);
    let known = store::offences(&ctx.state.db, me.org()).await?;
    let parsed = domain::new_offence(article, paragraph, &title, min, max, &known);
    let offence = match (parsed, p.errors.is_empty()) {
        (Ok(o), true) => o,
        (res, _) => {
            let mut errors = p.errors;
            if let Err(e) = res {
                for fe in e.0 {
                    if errors.for_field(&fe.field).is_none() {
                        errors.0.push(fe);
                    }
                }
            }
            let o = FormState {
                section: "offence",
                errors: FormErrors::from_validation(&ctx.tr(), &errors),
                kept: form.to_vec(),
            };
            let mut res = proceedings_page(&ctx, o, ListQuery::default()).await?;
            *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            return Ok(res);
        }
    };
    let mut tx = ctx.state.db.begin().await?;
    store::add_offence(&mut tx, me.org(), &offence, me.user.id, ctx.state.now()).await?;
    ctx.audit(
        &mut tx,
        me.org(),
        ctx.event("court.offence_added", Outcome::Ok)
            .details(json!({ "offence": offence.code })),
    )
    .await?;
    tx.commit().await?;
    Ok(see_other("/staff/proceedings#offences"))
}

// Recording a proceeding.

#[derive(Template)]
#[template(path = "staff/proceeding_new.html")]
struct NewPage<'a> {
    page: Page<'a>,
    f: FormView,
    errors: FormErrors,
}

/// What the new-proceeding page may be opened with.
#[derive(Debug, Default, Deserialize)]
pub struct NewQuery {
    #[serde(default)]
    parent: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    case: String,
}

async fn new_page(ctx: &Ctx, o: FormState, q: &NewQuery) -> AppResult<Response> {
    let tr = ctx.tr();
    let courts = institution_names(ctx, InstitutionKind::Court).await?;
    let prosecutors = institution_names(ctx, InstitutionKind::Prosecutor).await?;
    let staff = super::cases::active_staff_with(ctx, Permission::EditProceedings).await?;
    let me = ctx.user()?;
    let f = FormBuilder::new(
        &tr,
        &o,
        "proceeding",
        "/staff/proceedings/new".into(),
        "proceeding-new-title",
        "proceeding-new-submit",
    )
    .select("kind", opts::<ProceedingKind>(&tr))
    .default(if q.kind.is_empty() {
        "criminal"
    } else {
        &q.kind
    })
    .select("court", courts)
    .text("court_number")
    .hint("court-number-hint")
    .date("opened_on")
    .select("prosecutor", prosecutors)
    .text("judge")
    .select("org_role", opts::<OrgRole>(&tr))
    .default("legal_representative")
    .select("lawyer", staff)
    .default(&me.user.id.to_string())
    .text("case_number")
    .default(&q.case)
    .hint("proceeding-case-hint")
    .field("parent", "hidden", &q.parent)
    .build();
    let errors = o.errors.clone();
    render(&NewPage {
        page: ctx.page("proceeding-new-title"),
        f,
        errors,
    })
}

/// GET /staff/proceedings/new.
pub async fn new_form(ctx: Ctx, Query(q): Query<NewQuery>) -> AppResult<Response> {
    new_page(&ctx, FormState::default(), &q).await
}

async fn institution_of(
    ctx: &Ctx,
    p: &mut Parser<'_, [(String, String)]>,
    form: &[(String, String)],
    field: &'static str,
    kind: InstitutionKind,
    required: bool,
) -> AppResult<Option<Uuid>> {
    let v = form.one(field);
    if v.is_empty() {
        if required {
            p.errors.add(field, "required");
        }
        return Ok(None);
    }
    let choices = institution_names(ctx, kind).await?;
    match choices.iter().find(|(id, _)| id == v) {
        Some((id, _)) => Ok(id.parse().ok()),
        None => {
            p.errors.add(field, "code-unknown");
            Ok(None)
        }
    }
}

/// A case by its number, if the person may open it; otherwise a field error.
async fn case_by_number(
    ctx: &Ctx,
    v: &str,
    field: &'static str,
    errors: &mut ValidationErrors,
) -> AppResult<Option<CaseSummary>> {
    let me = ctx.user()?;
    let Ok(number) = v.parse::<CaseNumber>() else {
        errors.add(field, "case-number-invalid");
        return Ok(None);
    };
    let Some(id) = cases::by_number(&ctx.state.db, me.org(), &number).await? else {
        errors.add(field, "case-unknown");
        return Ok(None);
    };
    let g = super::cases::gate(ctx, &id.to_string()).await;
    match g {
        Ok(g) if g.access.allowed() => Ok(Some(g.summary)),
        _ => {
            errors.add(field, "case-unknown");
            Ok(None)
        }
    }
}

/// POST /staff/proceedings/new.
pub async fn create(ctx: Ctx, Form(pairs): Form<Vec<(String, String)>>) -> AppResult<Response> {
    let me = ctx.user()?.clone();
    let form = pairs.as_slice();
    let mut p = Parser::new(form, parse_ctx(&ctx));
    let kind = p.code("kind", ProceedingKind::from_code);
    if kind.is_none() && p.errors.for_field("kind").is_none() {
        p.errors.add("kind", "required");
    }
    let court = institution_of(&ctx, &mut p, form, "court", InstitutionKind::Court, true).await?;
    let number = p.text_max("court_number", 100);
    let opened_on = p.past_date("opened_on");
    if opened_on.is_none() && p.errors.for_field("opened_on").is_none() {
        p.errors.add("opened_on", "required");
    }
    let prosecutor = institution_of(
        &ctx,
        &mut p,
        form,
        "prosecutor",
        InstitutionKind::Prosecutor,
        false,
    )
    .await?;
    let judge = p.text_max("judge", 200);
    let org_role = p.code("org_role", OrgRole::from_code);
    if org_role.is_none() && p.errors.for_field("org_role").is_none() {
        p.errors.add("org_role", "required");
    }
    let staff = super::cases::active_staff_with(&ctx, Permission::EditProceedings).await?;
    let lawyer = match form.one("lawyer") {
        "" => None,
        v => match staff.iter().find(|(id, _)| id == v) {
            Some((id, _)) => id.parse::<UserId>().ok(),
            None => {
                p.errors.add("lawyer", "code-unknown");
                None
            }
        },
    };
    let mut errors = p.errors;
    let case = match form.one("case_number") {
        "" => None,
        v => case_by_number(&ctx, v, "case_number", &mut errors).await?,
    };
    let parent = match form.one("parent") {
        "" => None,
        v => match require(&ctx, v).await {
            Ok(Ok(g)) => {
                if opened_on.is_some_and(|d| d < g.row.opened_on) {
                    errors.add("opened_on", "date-before-parent");
                }
                Some(g.row.pid())
            }
            _ => {
                errors.add("parent", "code-unknown");
                None
            }
        },
    };
    let (Some(kind), Some(court), Some(opened_on), Some(org_role), true) =
        (kind, court, opened_on, org_role, errors.is_empty())
    else {
        let o = FormState {
            section: "proceeding",
            errors: FormErrors::from_validation(&ctx.tr(), &errors),
            kept: form.to_vec(),
        };
        let q = NewQuery {
            parent: form.one("parent").to_owned(),
            ..NewQuery::default()
        };
        let mut res = new_page(&ctx, o, &q).await?;
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(res);
    };
    let ring = ctx.state.keys.get(me.org()).await?;
    let now = ctx.state.now();
    let id: ProceedingId = ctx.state.ids().id();
    let mut tx = ctx.state.db.begin().await?;
    store::create(
        &mut tx,
        &ring,
        ctx.state.rng.as_ref(),
        me.org(),
        ctx.state.ids().uuid(),
        &store::NewProceeding {
            id,
            kind,
            court,
            prosecutor,
            judge,
            org_role,
            lawyer,
            parent,
            opened_on,
            number,
            by: me.user.id,
            now,
        },
    )
    .await?;
    ctx.audit(
        &mut tx,
        me.org(),
        ctx.event("proceeding.created", Outcome::Ok)
            .target("proceeding", id.0)
            .details(json!({ "kind": kind.code(), "parent": parent.map(|x| x.0) })),
    )
    .await?;
    if let Some(case) = case {
        link(&ctx, &mut tx, id, &case).await?;
    }
    tx.commit().await?;
    Ok(see_other(&format!("/staff/proceedings/{id}")))
}

/// Links a case and records its primary people as injured parties; the case's timeline says so.
async fn link(
    ctx: &Ctx,
    tx: &mut haven_store::Tx,
    id: ProceedingId,
    case: &CaseSummary,
) -> AppResult<()> {
    let me = ctx.user()?;
    let now = ctx.state.now();
    if !store::link_case(tx, me.org(), id, case.id, me.user.id, now).await? {
        return Ok(());
    }
    for p in cases::people_of(&ctx.state.db, me.org(), case.id).await? {
        if p.role == case.kind.primary_role() {
            store::add_party(tx, me.org(), id, p.person_id, Some(case.id), now).await?;
        }
    }
    let ring = ctx.state.keys.get(me.org()).await?;
    let mut ev = NewEvent::new("proceeding_linked", Some(me.user.id));
    ev.ref_id = Some(id.0);
    ev.data = json!({ "proceeding": id.0 });
    super::cases::event(ctx, tx, &ring, case.id, ev).await?;
    ctx.audit(
        tx,
        me.org(),
        ctx.event("proceeding.case_linked", Outcome::Ok)
            .target("proceeding", id.0)
            .details(json!({ "case": case.id.0 })),
    )
    .await
}

// The proceeding page.

/// What the page and the forms know of a proceeding: everything recorded, withdrawn items
/// included ([`Data::live`] tells which are not), and the corrections.
pub(crate) struct Data {
    offences: Vec<Offence>,
    defendants: Vec<(DefendantId, PersonId)>,
    charges: Vec<store::Charge>,
    events: Vec<store::CourtEvent>,
    claims: Vec<store::Claim>,
    awards: Vec<store::Award>,
    payments: Vec<(Uuid, store::Payment)>,
    steps: Vec<(Uuid, store::Step)>,
    funds: Vec<(Uuid, store::FundApplication)>,
    parties: Vec<(PersonId, Option<CaseId>)>,
    all: Vec<ProceedingRow>,
    corrections: Vec<store::Correction>,
    withdrawn: HashSet<Uuid>,
}

impl Data {
    /// Whether an item stands (was not withdrawn).
    fn live(&self, id: Uuid) -> bool {
        !self.withdrawn.contains(&id)
    }

    fn live_charges(&self, except: Option<Uuid>) -> Vec<domain::ChargeFact> {
        self.charges
            .iter()
            .filter(|c| self.live(c.id.0) && Some(c.id.0) != except)
            .map(|c| c.fact())
            .collect()
    }

    fn live_awards(&self) -> Vec<store::Award> {
        self.awards
            .iter()
            .filter(|a| self.live(a.id.0))
            .cloned()
            .collect()
    }
}

async fn load(ctx: &Ctx, g: &Gate) -> AppResult<Data> {
    let me = ctx.user()?;
    let db = &ctx.state.db;
    let org = me.org();
    let id = g.row.pid();
    let ring = ctx.state.keys.get(org).await?;
    let corrections = store::corrections(db, &ring, org, id).await?;
    let withdrawn = corrections
        .iter()
        .filter(|c| c.withdrawn)
        .map(|c| c.item)
        .collect();
    Ok(Data {
        offences: store::offences(db, org).await?,
        defendants: store::defendants(db, org, id).await?,
        charges: store::charges(db, org, id).await?,
        events: store::events(db, &ring, org, id).await?,
        claims: store::claims(db, org, id).await?,
        awards: store::awards(db, org, id).await?,
        payments: store::payments(db, org, id).await?,
        steps: store::steps(db, &ring, org, id).await?,
        funds: store::fund_applications(db, org, id).await?,
        parties: store::parties(db, org, id).await?,
        all: store::list(db, org).await?,
        corrections,
        withdrawn,
    })
}

/// Under a recorded item: where to correct it, whether it was withdrawn, and its history.
pub struct ItemView {
    /// The id of the item (for the page's anchors).
    pub id: String,
    /// The correction page (empty when the reader may not correct, or it is withdrawn).
    pub correct: String,
    /// "Withdrawn on … by …: reason", when withdrawn.
    pub withdrawn: Option<String>,
    /// Each earlier correction: when, who, why, what was changed from what.
    pub history: Vec<String>,
}

impl ItemView {
    /// Itself (for templates that bind it to a name).
    pub fn view(&self) -> &ItemView {
        self
    }

    /// Whether withdrawn.
    pub fn is_withdrawn(&self) -> bool {
        self.withdrawn.is_some()
    }
}

/// A charge as a row of a defendant's history.
pub struct ChargeView {
    /// The offence.
    pub offence: String,
    /// The stage.
    pub stage: String,
    /// Since when.
    pub on: String,
    /// Whether it changed the offence (a re-qualification).
    pub changed: bool,
    /// Corrections.
    pub item: ItemView,
}

/// A defendant with the history of their charges.
pub struct DefendantView {
    /// Name (identifying: shown only here).
    pub name: String,
    /// Each charge.
    pub charges: Vec<ChargeView>,
}

/// An event as a row.
pub struct EventView {
    /// Date.
    pub on: String,
    /// What.
    pub kind: String,
    /// Facts in words.
    pub facts: String,
    /// The note.
    pub note: String,
    /// Corrections.
    pub item: ItemView,
}

/// A property claim as a row.
pub struct ClaimView {
    /// Filed.
    pub on: String,
    /// Amount.
    pub amount: String,
    /// What became of it.
    pub decision: String,
    /// Corrections.
    pub item: ItemView,
}

/// A line under an award (a payment or an enforcement step), or a fund application.
pub struct LineView {
    /// In words.
    pub text: String,
    /// Corrections.
    pub item: ItemView,
}

/// An award as a row.
pub struct AwardView {
    /// Source.
    pub source: String,
    /// Date.
    pub on: String,
    /// Awarded.
    pub amount: String,
    /// Paid so far.
    pub paid: String,
    /// Whether fully paid.
    pub full: bool,
    /// Payments and enforcement steps.
    pub history: Vec<LineView>,
    /// Corrections.
    pub item: ItemView,
}

#[derive(Template)]
#[template(path = "staff/proceeding.html")]
struct ProceedingPage<'a> {
    page: Page<'a>,
    stage: String,
    facts: Vec<(String, String)>,
    numbers: Vec<(String, String, String)>,
    linked: Vec<(String, String)>,
    parties: Vec<String>,
    defendants: Vec<DefendantView>,
    events: Vec<EventView>,
    claims: Vec<ClaimView>,
    awards: Vec<AwardView>,
    funds: Vec<LineView>,
    related: Vec<(String, String)>,
    tasks: i64,
    can_edit: bool,
    civil_link: String,
    forms: Vec<FormView>,
    errors: FormErrors,
}

/// The choices the forms offer.
pub(crate) struct Choices {
    offences: Vec<(String, String)>,
    defendants: Vec<(String, String)>,
    parties: Vec<(String, String)>,
    claims: Vec<(String, String)>,
    awards: Vec<(String, String)>,
    civil: Vec<(String, String)>,
    courts: Vec<(String, String)>,
    kind: ProceedingKind,
}

async fn choices(
    ctx: &Ctx,
    g: &Gate,
    d: &Data,
    names: &HashMap<Uuid, String>,
    person_names: &HashMap<PersonId, String>,
) -> AppResult<Choices> {
    let tr = ctx.tr();
    let name_of = |pid: &PersonId| person_names.get(pid).cloned().unwrap_or_default();
    Ok(Choices {
        offences: d
            .offences
            .iter()
            .map(|o| (o.code.clone(), offence_label(&tr, o)))
            .collect(),
        defendants: d
            .defendants
            .iter()
            .map(|(dd, p)| (dd.to_string(), name_of(p)))
            .collect(),
        parties: d
            .parties
            .iter()
            .map(|(p, _)| (p.to_string(), name_of(p)))
            .collect(),
        claims: d
            .claims
            .iter()
            .filter(|c| d.live(c.id.0))
            .map(|c| {
                (
                    c.id.to_string(),
                    format!(
                        "{} · {}",
                        fmt_date(c.filed_on, ctx.lang),
                        money(c.amount, &c.currency)
                    ),
                )
            })
            .collect(),
        awards: d
            .live_awards()
            .iter()
            .map(|a| {
                (
                    a.id.to_string(),
                    format!(
                        "{} · {} · {}",
                        label(&tr, a.source),
                        fmt_date(a.awarded_on, ctx.lang),
                        money(a.amount, &a.currency)
                    ),
                )
            })
            .collect(),
        civil: d
            .all
            .iter()
            .filter(|r| r.parent_id == Some(g.row.id) && r.kind == "civil")
            .map(|r| {
                (
                    r.id.to_string(),
                    format!(
                        "{} · {}",
                        names.get(&r.court_id).cloned().unwrap_or_default(),
                        fmt_date(r.opened_on, ctx.lang)
                    ),
                )
            })
            .collect(),
        courts: institution_names(ctx, InstitutionKind::Court).await?,
        kind: g.row.kind()?,
    })
}

/// The fields of an item's form: the same when recording and when correcting (a correction also
/// shows a claim's decision, recorded with its own form).
fn item_fields<'a>(
    kind: CourtItem,
    b: FormBuilder<'a>,
    c: &Choices,
    tr: &Tr<'_>,
    correcting: bool,
) -> FormBuilder<'a> {
    match kind {
        CourtItem::Charge => b
            .select("charge_defendant", c.defendants.clone())
            .select("charge_offence", c.offences.clone())
            .hint(if correcting {
                "court-charge-correct-hint"
            } else {
                "court-charge-hint"
            })
            .select("charge_stage", opts::<Stage>(tr))
            .date("charge_on"),
        CourtItem::Event => b
            .select("event_kind", opts::<CourtEventKind>(tr))
            .date("event_on")
            .select("event_defendant", c.defendants.clone())
            .check("event_held")
            .select("event_postponement", opts::<PostponementReason>(tr))
            .check("event_victim_testified")
            .checks("event_measures", opts::<ProtectiveMeasure>(tr))
            .select("event_outcome", opts::<VerdictOutcome>(tr))
            .select("event_sentence", opts::<SentenceType>(tr))
            .field("event_months", "number", "")
            .check("event_suspended")
            .text("event_fine")
            .check("event_claim_invited")
            .select("event_appeal_by", opts::<AppealBy>(tr))
            .date("event_deadline")
            .hint("court-deadline-hint")
            .textarea("event_note"),
        CourtItem::Claim => {
            let b = b
                .select("claim_person", c.parties.clone())
                .date("claim_filed_on")
                .text("claim_amount")
                .text("claim_currency")
                .default(DEFAULT_CURRENCY);
            if correcting {
                b.select("decision", opts::<ClaimDecision>(tr))
                    .hint("court-claim-correct-decision-hint")
                    .date("decision_on")
                    .select("decision_civil", c.civil.clone())
            } else {
                b
            }
        }
        CourtItem::Award => b
            .select("award_source", opts::<AwardSource>(tr))
            .default(if c.kind == ProceedingKind::Civil {
                "civil_suit"
            } else {
                "criminal_trial"
            })
            .select("award_claim", c.claims.clone())
            .date("award_on")
            .text("award_amount")
            .text("award_currency")
            .default(DEFAULT_CURRENCY),
        CourtItem::Payment => b
            .select("payment_award", c.awards.clone())
            .date("payment_on")
            .text("payment_amount"),
        CourtItem::Step => b
            .select("step_award", c.awards.clone())
            .select("step_kind", opts::<EnforcementStep>(tr))
            .date("step_on")
            .text("step_note"),
        CourtItem::Fund => b
            .date("fund_applied_on")
            .text("fund_amount")
            .text("fund_currency")
            .default(DEFAULT_CURRENCY)
            .select("fund_decision", opts::<FundDecision>(tr))
            .default("pending")
            .date("fund_decided_on")
            .text("fund_granted")
            .hint("court-fund-granted-hint"),
    }
}

fn iso(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// An item as its form holds it (name and value pairs; a multi-valued field repeated, an
/// unticked box and an empty field left out), or `None` if the proceeding has no such item.
fn item_values(d: &Data, kind: CourtItem, id: Uuid) -> Option<Vec<(String, String)>> {
    let mut v: Vec<(String, String)> = Vec::new();
    let mut put = |k: &str, val: String| {
        if !val.is_empty() {
            v.push((k.to_owned(), val));
        }
    };
    let on = |b: bool| if b { "on".to_owned() } else { String::new() };
    match kind {
        CourtItem::Charge => {
            let c = d.charges.iter().find(|c| c.id.0 == id)?;
            put("charge_defendant", c.defendant.to_string());
            put("charge_offence", c.offence.clone());
            put("charge_stage", c.stage.code().to_owned());
            put("charge_on", iso(c.on));
        }
        CourtItem::Event => {
            let e = d.events.iter().find(|e| e.id.0 == id)?;
            event_values(e, &mut put, on);
        }
        CourtItem::Claim => {
            let c = d.claims.iter().find(|c| c.id.0 == id)?;
            claim_values(c, &mut put);
        }
        CourtItem::Award => {
            let a = d.awards.iter().find(|a| a.id.0 == id)?;
            award_values(a, &mut put);
        }
        CourtItem::Payment => {
            let (_, p) = d.payments.iter().find(|(pid, _)| *pid == id)?;
            payment_values(p, &mut put);
        }
        CourtItem::Step => {
            let (_, s) = d.steps.iter().find(|(sid, _)| *sid == id)?;
            step_values(s, &mut put);
        }
        CourtItem::Fund => {
            let (_, f) = d.funds.iter().find(|(fid, _)| *fid == id)?;
            fund_values(f, &mut put);
        }
    }
    Some(v)
}

fn event_values(
    e: &store::CourtEvent,
    put: &mut impl FnMut(&str, String),
    on: impl Fn(bool) -> String,
) {
    put("event_kind", e.kind.code().to_owned());
    put("event_on", iso(e.on));
    put(
        "event_defendant",
        e.defendant.map(|x| x.to_string()).unwrap_or_default(),
    );
    put("event_held", on(e.held == Some(true)));
    put(
        "event_postponement",
        e.postponement
            .map(|x| x.code().to_owned())
            .unwrap_or_default(),
    );
    put(
        "event_victim_testified",
        on(e.victim_testified == Some(true)),
    );
    for m in &e.measures {
        put("event_measures", m.code().to_owned());
    }
    put(
        "event_outcome",
        e.outcome.map(|x| x.code().to_owned()).unwrap_or_default(),
    );
    put(
        "event_sentence",
        e.sentence.map(|x| x.code().to_owned()).unwrap_or_default(),
    );
    put(
        "event_months",
        e.months.map(|m| m.to_string()).unwrap_or_default(),
    );
    put("event_suspended", on(e.suspended));
    put(
        "event_fine",
        e.fine.map(domain::money_text).unwrap_or_default(),
    );
    put("event_claim_invited", on(e.claim_invited == Some(true)));
    put(
        "event_appeal_by",
        e.appeal_by.map(|x| x.code().to_owned()).unwrap_or_default(),
    );
    put("event_deadline", e.deadline.map(iso).unwrap_or_default());
    put("event_note", e.note.clone());
}

fn claim_values(c: &store::Claim, put: &mut impl FnMut(&str, String)) {
    put(
        "claim_person",
        c.person.map(|p| p.to_string()).unwrap_or_default(),
    );
    put("claim_filed_on", iso(c.filed_on));
    put("claim_amount", domain::money_text(c.amount));
    put("claim_currency", c.currency.clone());
    put(
        "decision",
        c.decision.map(|x| x.code().to_owned()).unwrap_or_default(),
    );
    put("decision_on", c.decided_on.map(iso).unwrap_or_default());
    put(
        "decision_civil",
        c.civil.map(|x| x.to_string()).unwrap_or_default(),
    );
}

fn award_values(a: &store::Award, put: &mut impl FnMut(&str, String)) {
    put("award_source", a.source.code().to_owned());
    put(
        "award_claim",
        a.claim.map(|x| x.to_string()).unwrap_or_default(),
    );
    put("award_on", iso(a.awarded_on));
    put("award_amount", domain::money_text(a.amount));
    put("award_currency", a.currency.clone());
}

fn payment_values(p: &store::Payment, put: &mut impl FnMut(&str, String)) {
    put("payment_award", p.award.to_string());
    put("payment_on", iso(p.paid_on));
    put("payment_amount", domain::money_text(p.amount));
}

fn step_values(s: &store::Step, put: &mut impl FnMut(&str, String)) {
    put("step_award", s.award.to_string());
    put("step_kind", s.step.code().to_owned());
    put("step_on", iso(s.on));
    put("step_note", s.note.clone());
}

fn fund_values(f: &store::FundApplication, put: &mut impl FnMut(&str, String)) {
    put("fund_applied_on", iso(f.applied_on));
    put("fund_amount", domain::money_text(f.amount));
    put("fund_currency", f.currency.clone());
    put("fund_decision", f.decision.code().to_owned());
    put("fund_decided_on", f.decided_on.map(iso).unwrap_or_default());
    put(
        "fund_granted",
        f.granted.map(domain::money_text).unwrap_or_default(),
    );
}

/// A value of a field as people read it: a choice by its label, a date in the reader's format.
fn shown_value(ctx: &Ctx, f: Option<&Field>, value: &str) -> String {
    if value.is_empty() {
        return "—".to_owned();
    }
    let Some(f) = f else {
        return value.to_owned();
    };
    match f.kind {
        "select" | "checks" => value
            .split(", ")
            .map(|v| {
                f.options
                    .iter()
                    .find(|(code, _)| code == v)
                    .map(|(_, l)| l.clone())
                    .unwrap_or_else(|| v.to_owned())
            })
            .collect::<Vec<_>>()
            .join(", "),
        "check" => ctx.tr().t("court-yes"),
        "date" => NaiveDate::parse_from_str(value, "%Y-%m-%d")
            .map(|d| fmt_date(d, ctx.lang))
            .unwrap_or_else(|_| value.to_owned()),
        _ => value.to_owned(),
    }
}

/// What is shown under an item: its corrections and whether it was withdrawn.
#[allow(clippy::too_many_arguments)]
fn item_view(
    ctx: &Ctx,
    d: &Data,
    kind: CourtItem,
    id: Uuid,
    can_edit: bool,
    base: &str,
    form: Option<&FormView>,
    staff: &HashMap<Uuid, String>,
) -> ItemView {
    let tr = ctx.tr();
    let who = |by: Option<UserId>| {
        by.and_then(|u| staff.get(&u.0).cloned())
            .unwrap_or_default()
    };
    let mut history = Vec::new();
    let mut withdrawn = None;
    for c in d
        .corrections
        .iter()
        .filter(|c| c.kind == kind && c.item == id)
    {
        let when = ctx.time(c.at);
        if c.withdrawn {
            withdrawn = Some(tr.t_args(
                "court-withdrawn-line",
                &[
                    ("time", when),
                    ("who", who(c.by)),
                    ("reason", c.reason.clone()),
                ],
            ));
            continue;
        }
        let changes = c
            .old
            .iter()
            .map(|(name, old)| {
                let field = form.and_then(|f| f.fields.iter().find(|x| x.name == name));
                let label = field
                    .map(|x| x.label.clone())
                    .unwrap_or_else(|| name.clone());
                tr.t2(
                    "court-correction-change",
                    "field",
                    label,
                    "old",
                    shown_value(ctx, field, old),
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        history.push(tr.t_args(
            "court-correction-line",
            &[
                ("time", when),
                ("who", who(c.by)),
                ("reason", c.reason.clone()),
                ("changes", changes),
            ],
        ));
    }
    ItemView {
        id: format!("{}-{id}", kind.code()),
        correct: if can_edit && withdrawn.is_none() {
            format!("{base}/corrections/{}/{id}", kind.code())
        } else {
            String::new()
        },
        withdrawn,
        history,
    }
}

async fn person_names(ctx: &Ctx, g: &Gate, d: &Data) -> AppResult<HashMap<PersonId, String>> {
    let me = ctx.user()?;
    let ring = ctx.state.keys.get(me.org()).await?;
    let mut out = HashMap::new();
    for pid in d
        .defendants
        .iter()
        .map(|(_, p)| *p)
        .chain(d.parties.iter().map(|(p, _)| *p))
    {
        if let Some(p) = people::get(&ctx.state.db, &ring, me.org(), pid).await? {
            out.insert(pid, p.name);
        }
    }
    let _ = g;
    Ok(out)
}

async fn proceeding_page(ctx: &Ctx, g: &Gate, o: FormState) -> AppResult<Response> {
    let me = ctx.user()?;
    let tr = ctx.tr();
    let db = &ctx.state.db;
    let org = me.org();
    let id = g.row.pid();
    let ring = ctx.state.keys.get(org).await?;
    let names = all_institution_names(ctx).await?;
    let staff = super::audit::staff_names(ctx).await?;
    let d = load(ctx, g).await?;
    let offence_text = |code: &str| {
        d.offences
            .iter()
            .find(|o| o.code == code)
            .map(|o| offence_label(&tr, o))
            .unwrap_or_else(|| code.to_owned())
    };
    let judge = store::judge(db, &ring, org, id).await?;
    let numbers = store::numbers(db, &ring, org, id).await?;
    let all_facts = store::all_facts(db, org).await?;
    let stage = all_facts
        .iter()
        .find(|f| f.id == id.0)
        .map(|f| f.stage())
        .unwrap_or(Stage::Investigation);

    let person_names = person_names(ctx, g, &d).await?;
    let name_of = |pid: &PersonId| person_names.get(pid).cloned().unwrap_or_default();
    let defendant_name: HashMap<DefendantId, String> =
        d.defendants.iter().map(|(x, p)| (*x, name_of(p))).collect();

    ctx.audit_now(
        org,
        ctx.event("proceeding.viewed", Outcome::Ok)
            .target("proceeding", id.0),
    )
    .await?;

    let kind = g.row.kind()?;
    let mut facts = vec![(tr.t("field-org_role"), label(&tr, g.row.role()?))];
    facts.push((tr.t("field-opened_on"), fmt_date(g.row.opened_on, ctx.lang)));
    if let Some(p) = g.row.prosecutor_id {
        facts.push((
            tr.t("field-prosecutor"),
            names.get(&p).cloned().unwrap_or_default(),
        ));
    }
    if !judge.is_empty() {
        facts.push((tr.t("field-judge"), judge));
    }
    if let Some(l) = g.row.lawyer_id {
        facts.push((
            tr.t("field-lawyer"),
            staff.get(&l).cloned().unwrap_or_default(),
        ));
    }

    let can_edit = me.actor().can(Permission::EditProceedings);
    let base = format!("/staff/proceedings/{id}");
    let c = choices(ctx, g, &d, &names, &person_names).await?;
    // The forms as a correction would show them, for the names and choices in the histories.
    let none = FormState::default();
    let shape = |k: CourtItem| {
        item_fields(
            k,
            FormBuilder::new(
                &tr,
                &none,
                "shape",
                String::new(),
                "court-record",
                "court-record",
            ),
            &c,
            &tr,
            true,
        )
        .build()
    };
    let shapes: HashMap<CourtItem, FormView> =
        CourtItem::ALL.iter().map(|k| (*k, shape(*k))).collect();
    let view = |k: CourtItem, item: Uuid| {
        item_view(ctx, &d, k, item, can_edit, &base, shapes.get(&k), &staff)
    };

    let defendant_views: Vec<DefendantView> = d
        .defendants
        .iter()
        .map(|(x, p)| {
            let mine: Vec<_> = d.charges.iter().filter(|c| c.defendant == *x).collect();
            let mut last_live: Option<&str> = None;
            DefendantView {
                name: name_of(p),
                charges: mine
                    .iter()
                    .map(|c| {
                        let live = d.live(c.id.0);
                        let changed =
                            live && last_live.is_some_and(|prev| prev != c.offence.as_str());
                        if live {
                            last_live = Some(c.offence.as_str());
                        }
                        ChargeView {
                            offence: offence_text(&c.offence),
                            stage: label(&tr, c.stage),
                            on: fmt_date(c.on, ctx.lang),
                            changed,
                            item: view(CourtItem::Charge, c.id.0),
                        }
                    })
                    .collect(),
            }
        })
        .collect();

    let yes_no = |b: bool| tr.t(if b { "court-yes" } else { "court-no" });
    let event_views: Vec<EventView> = d
        .events
        .iter()
        .map(|e| {
            let mut parts: Vec<String> = Vec::new();
            if let Some(x) = e.defendant {
                parts.push(defendant_name.get(&x).cloned().unwrap_or_default());
            }
            if let Some(h) = e.held {
                parts.push(tr.t(if h {
                    "hearing-held"
                } else {
                    "hearing-postponed"
                }));
            }
            if let Some(r) = e.postponement {
                parts.push(label(&tr, r));
            }
            if let Some(v) = e.victim_testified {
                parts.push(format!("{}: {}", tr.t("field-victim_testified"), yes_no(v)));
            }
            for m in &e.measures {
                parts.push(label(&tr, *m));
            }
            if let Some(v) = e.outcome {
                parts.push(label(&tr, v));
            }
            if let Some(s) = e.sentence {
                let mut t = label(&tr, s);
                if let Some(m) = e.months {
                    t.push_str(&format!(" {}", duration(&tr, m)));
                }
                if let (Some(f), Some(c)) = (e.fine, &e.currency) {
                    t.push_str(&format!(" {}", money(f, c)));
                }
                if e.suspended {
                    t.push_str(&format!(" ({})", tr.t("sentence-suspended")));
                }
                parts.push(t);
            }
            if let Some(c) = e.claim_invited {
                parts.push(format!(
                    "{}: {}",
                    tr.t("field-event_claim_invited"),
                    yes_no(c)
                ));
            }
            if let Some(a) = e.appeal_by {
                parts.push(label(&tr, a));
            }
            if let Some(x) = e.deadline {
                parts.push(tr.t1("court-deadline", "date", fmt_date(x, ctx.lang)));
            }
            EventView {
                on: fmt_date(e.on, ctx.lang),
                kind: label(&tr, e.kind),
                facts: parts.join(" · "),
                note: e.note.clone(),
                item: view(CourtItem::Event, e.id.0),
            }
        })
        .collect();

    let claim_views: Vec<ClaimView> = d
        .claims
        .iter()
        .map(|c| {
            let decision = match c.decision {
                Some(x) => {
                    let mut t = label(&tr, x);
                    if let Some(on) = c.decided_on {
                        t.push_str(&format!(", {}", fmt_date(on, ctx.lang)));
                    }
                    t
                }
                None => tr.t("claim-pending"),
            };
            ClaimView {
                on: fmt_date(c.filed_on, ctx.lang),
                amount: money(c.amount, &c.currency),
                decision,
                item: view(CourtItem::Claim, c.id.0),
            }
        })
        .collect();

    let award_views: Vec<AwardView> = d
        .awards
        .iter()
        .map(|a| {
            let mut history: Vec<(NaiveDate, LineView)> = d
                .payments
                .iter()
                .filter(|(_, p)| p.award == a.id)
                .map(|(pid, p)| {
                    (
                        p.paid_on,
                        LineView {
                            text: tr.t2(
                                "payment-line",
                                "date",
                                fmt_date(p.paid_on, ctx.lang),
                                "amount",
                                money(p.amount, &p.currency),
                            ),
                            item: view(CourtItem::Payment, *pid),
                        },
                    )
                })
                .collect();
            history.extend(
                d.steps
                    .iter()
                    .filter(|(_, s)| s.award == a.id)
                    .map(|(sid, s)| {
                        let mut t =
                            format!("{} · {}", fmt_date(s.on, ctx.lang), label(&tr, s.step));
                        if !s.note.is_empty() {
                            t.push_str(&format!(" — {}", s.note));
                        }
                        (
                            s.on,
                            LineView {
                                text: t,
                                item: view(CourtItem::Step, *sid),
                            },
                        )
                    }),
            );
            history.sort_by_key(|(x, _)| *x);
            AwardView {
                source: label(&tr, a.source),
                on: fmt_date(a.awarded_on, ctx.lang),
                amount: money(a.amount, &a.currency),
                paid: money(a.paid, &a.currency),
                full: a.paid >= a.amount,
                history: history.into_iter().map(|(_, t)| t).collect(),
                item: view(CourtItem::Award, a.id.0),
            }
        })
        .collect();

    let fund_views = d
        .funds
        .iter()
        .map(|(fid, f)| {
            let mut text = format!(
                "{} · {} · {}",
                fmt_date(f.applied_on, ctx.lang),
                money(f.amount, &f.currency),
                label(&tr, f.decision)
            );
            if let Some(on) = f.decided_on {
                text.push_str(&format!(", {}", fmt_date(on, ctx.lang)));
            }
            if let Some(gr) = f.granted {
                text.push_str(&format!(
                    " · {}",
                    tr.t1("court-fund-granted", "amount", money(gr, &f.currency))
                ));
            }
            LineView {
                text,
                item: view(CourtItem::Fund, *fid),
            }
        })
        .collect();

    // Related proceedings: the one this follows, and those that follow it.
    let mut related = Vec::new();
    for r in &d.all {
        let is_parent = g.row.parent_id == Some(r.id);
        let is_child = r.parent_id == Some(g.row.id);
        if is_parent || is_child {
            let k = r.kind().map(|k| label(&tr, k)).unwrap_or_default();
            related.push((
                r.id.to_string(),
                format!(
                    "{} · {} · {}",
                    k,
                    names.get(&r.court_id).cloned().unwrap_or_default(),
                    fmt_date(r.opened_on, ctx.lang)
                ),
            ));
        }
    }

    // The forms.
    let has_claims = !c.claims.is_empty();
    let has_awards = !c.awards.is_empty();
    let mut forms = Vec::new();
    if can_edit {
        let b = |id, path: &str, title, submit| {
            FormBuilder::new(&tr, &o, id, format!("{base}/{path}"), title, submit)
        };
        forms.push(
            b(
                "defendant",
                "defendants",
                "court-defendant-add",
                "court-defendant-add",
            )
            .text("defendant_name")
            .field("defendant_birth_year", "number", "")
            .text("defendant_citizenship")
            .select("defendant_offence", c.offences.clone())
            .select("defendant_stage", opts::<Stage>(&tr))
            .default("investigation")
            .date("defendant_charged_on")
            .build(),
        );
        if !d.defendants.is_empty() {
            forms.push(
                item_fields(
                    CourtItem::Charge,
                    b("charge", "charges", "court-charge-add", "court-charge-add"),
                    &c,
                    &tr,
                    false,
                )
                .build(),
            );
        }
        forms.push(
            item_fields(
                CourtItem::Event,
                b("event", "events", "court-event-add", "court-event-add"),
                &c,
                &tr,
                false,
            )
            .build(),
        );
        forms.push(
            item_fields(
                CourtItem::Claim,
                b("claim", "claims", "court-claim-add", "court-claim-add"),
                &c,
                &tr,
                false,
            )
            .build(),
        );
        if has_claims {
            forms.push(
                b(
                    "decision",
                    "claims/decision",
                    "court-claim-decide",
                    "court-claim-decide",
                )
                .select("decision_claim", c.claims.clone())
                .select("decision", opts::<ClaimDecision>(&tr))
                .date("decision_on")
                .text("decision_awarded")
                .hint("court-decision-awarded-hint")
                .select("decision_civil", c.civil.clone())
                .build(),
            );
        }
        forms.push(
            item_fields(
                CourtItem::Award,
                b("award", "awards", "court-award-add", "court-award-add"),
                &c,
                &tr,
                false,
            )
            .build(),
        );
        if has_awards {
            forms.push(
                item_fields(
                    CourtItem::Payment,
                    b(
                        "payment",
                        "payments",
                        "court-payment-add",
                        "court-payment-add",
                    ),
                    &c,
                    &tr,
                    false,
                )
                .build(),
            );
            forms.push(
                item_fields(
                    CourtItem::Step,
                    b("step", "enforcement", "court-step-add", "court-step-add"),
                    &c,
                    &tr,
                    false,
                )
                .build(),
            );
        }
        forms.push(
            item_fields(
                CourtItem::Fund,
                b("fund", "fund", "court-fund-add", "court-fund-add"),
                &c,
                &tr,
                false,
            )
            .build(),
        );
        forms.push(
            b("number", "numbers", "court-number-add", "court-number-add")
                .select("number_court", c.courts.clone())
                .text("number_value")
                .date("number_from")
                .build(),
        );
        forms.push(
            b("link", "cases", "court-case-link", "court-case-link")
                .text("link_case_number")
                .hint("proceeding-case-hint")
                .build(),
        );
    }
    let errors = o.errors.clone();
    let tasks = store::deadline_tasks(db, org, id).await?;
    let page_title = tr.t2(
        "proceeding-title",
        "kind",
        label(&tr, kind),
        "court",
        names.get(&g.row.court_id).cloned().unwrap_or_default(),
    );
    let mut res = render(&ProceedingPage {
        page: ctx.page_titled(page_title),
        stage: label(&tr, stage),
        facts,
        numbers: numbers
            .iter()
            .map(|n| {
                (
                    n.number.clone(),
                    names.get(&n.court).cloned().unwrap_or_default(),
                    fmt_date(n.from_on, ctx.lang),
                )
            })
            .collect(),
        linked: g
            .cases
            .iter()
            .map(|c| (c.id.to_string(), c.number.clone()))
            .collect(),
        parties: d.parties.iter().map(|(p, _)| name_of(p)).collect(),
        defendants: defendant_views,
        events: event_views,
        claims: claim_views,
        awards: award_views,
        funds: fund_views,
        related,
        tasks,
        can_edit: can_edit && kind != ProceedingKind::Civil,
        civil_link: format!("/staff/proceedings/new?parent={id}&kind=civil"),
        forms,
        errors,
    })?;
    if o.errors.any() {
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(res)
}

/// GET /staff/proceedings/{id} (audited as a view).
pub async fn show(ctx: Ctx, Path(id): Path<String>) -> AppResult<Response> {
    let g = allowed!(ctx, id);
    proceeding_page(&ctx, &g, FormState::default()).await
}

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
    };
    proceeding_page(ctx, g, o).await
}

fn back(g: &Gate, anchor: &str) -> Response {
    see_other(&format!("/staff/proceedings/{}#{anchor}", g.row.id))
}

/// An audit entry for a change of a proceeding, in `tx`, and the proceeding marked changed.
async fn changed(
    ctx: &Ctx,
    tx: &mut haven_store::Tx,
    g: &Gate,
    action: &str,
    details: serde_json::Value,
) -> AppResult<()> {
    let me = ctx.user()?;
    store::touch(tx, me.org(), g.row.pid(), ctx.state.now()).await?;
    ctx.audit(
        tx,
        me.org(),
        ctx.event(action, Outcome::Ok)
            .target("proceeding", g.row.id)
            .details(details),
    )
    .await
}

fn required<T>(p: &mut ValidationErrors, field: &str, v: &Option<T>) {
    if v.is_none() && p.for_field(field).is_none() {
        p.add(field.to_owned(), "required");
    }
}

/// A past date not before the proceeding started.
fn date_in(
    p: &mut Parser<'_, [(String, String)]>,
    g: &Gate,
    field: &'static str,
) -> Option<NaiveDate> {
    let d = p.past_date(field);
    required(&mut p.errors, field, &d);
    match d {
        Some(d) if d < g.row.opened_on => {
            p.errors.add(field, "date-before-proceeding");
            None
        }
        d => d,
    }
}

/// Like [`date_in`], but the field may be left empty.
fn optional_date_in(
    p: &mut Parser<'_, [(String, String)]>,
    g: &Gate,
    field: &'static str,
) -> Option<NaiveDate> {
    let d = p.past_date(field);
    match d {
        Some(d) if d < g.row.opened_on => {
            p.errors.add(field, "date-before-proceeding");
            None
        }
        d => d,
    }
}

fn currency(p: &mut Parser<'_, [(String, String)]>, field: &'static str) -> String {
    let c = p.text_max(field, 3).to_ascii_uppercase();
    if c.is_empty() {
        return DEFAULT_CURRENCY.to_owned();
    }
    if !domain::valid_currency(&c) {
        p.errors.add(field, "currency-invalid");
    }
    c
}

fn positive_money(p: &mut Parser<'_, [(String, String)]>, field: &'static str) -> Option<i64> {
    let m = p.money(field);
    required(&mut p.errors, field, &m);
    match m {
        Some(0) => {
            p.errors.add(field, "amount-not-positive");
            None
        }
        m => m,
    }
}

/// An offence of the organisation's list; an unknown article is a field error.
fn offence_of(
    p: &mut Parser<'_, [(String, String)]>,
    form: &[(String, String)],
    field: &'static str,
    offences: &[Offence],
) -> Option<String> {
    let v = form.one(field);
    if v.is_empty() {
        p.errors.add(field, "required");
        return None;
    }
    match offences.iter().find(|o| o.code == v) {
        Some(o) => Some(o.code.clone()),
        None => {
            p.errors.add(field, "offence-unknown");
            None
        }
    }
}

fn defendant_of(
    p: &mut Parser<'_, [(String, String)]>,
    form: &[(String, String)],
    field: &'static str,
    defendants: &[(DefendantId, PersonId)],
    needed: bool,
) -> Option<DefendantId> {
    let v = form.one(field);
    if v.is_empty() {
        if needed {
            p.errors.add(field, "required");
        }
        return None;
    }
    let found = defendants
        .iter()
        .find(|(d, _)| d.to_string() == v)
        .map(|(d, _)| *d);
    if found.is_none() {
        p.errors.add(field, "code-unknown");
    }
    found
}

/// POST /staff/proceedings/{id}/defendants: a defendant (a person, sealed) and the first charge.
pub async fn add_defendant(
    ctx: Ctx,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let g = allowed!(ctx, id);
    let me = ctx.user()?.clone();
    let form = pairs.as_slice();
    let offences = store::offences(&ctx.state.db, me.org()).await?;
    let mut p = Parser::new(form, parse_ctx(&ctx));
    let name = p.required_text("defendant_name", 200);
    let year_now = parse_ctx(&ctx).today().year();
    let birth_year = p.number(
        "defendant_birth_year",
        i64::from(year_now - 100),
        i64::from(year_now - 10),
    );
    let citizenship = p.country("defendant_citizenship");
    let offence = offence_of(&mut p, form, "defendant_offence", &offences);
    let stage = p.code("defendant_stage", Stage::from_code);
    required(&mut p.errors, "defendant_stage", &stage);
    let on = date_in(&mut p, &g, "defendant_charged_on");
    let (Some(offence), Some(stage), Some(on), true) = (offence, stage, on, p.errors.is_empty())
    else {
        return failed(&ctx, &g, "defendant", form, &p.errors).await;
    };
    let ring = ctx.state.keys.get(me.org()).await?;
    let now = ctx.state.now();
    let person = NewPerson {
        id: ctx.state.ids().id(),
        name,
        aliases: Vec::new(),
        birth_date: None,
        phones: Vec::new(),
        emails: Vec::new(),
        identity_numbers: Vec::new(),
        address: String::new(),
        notes: String::new(),
        gender: Gender::NonSpecifiedUnknown,
        birth_year: birth_year.and_then(|y| {
            haven_domain::people::BirthYear::parse("birth_year", y as i32, year_now).ok()
        }),
        citizenship,
        created_by: Some(me.user.id),
        now,
    };
    let defendant: DefendantId = ctx.state.ids().id();
    let charge = store::Charge {
        id: ctx.state.ids().id(),
        defendant,
        offence,
        stage,
        on,
    };
    let mut tx = ctx.state.db.begin().await?;
    people::insert(
        &mut tx,
        &ring,
        ctx.state.rng.as_ref(),
        me.org(),
        &ctx.state.settings.org.phone_region,
        &person,
    )
    .await?;
    ctx.audit(
        &mut tx,
        me.org(),
        ctx.event("person.created", Outcome::Ok)
            .target("person", person.id.0)
            .details(json!({ "proceeding": g.row.id })),
    )
    .await?;
    store::add_defendant(
        &mut tx,
        me.org(),
        g.row.pid(),
        defendant,
        person.id,
        me.user.id,
        now,
    )
    .await?;
    store::add_charge(&mut tx, me.org(), g.row.pid(), &charge, me.user.id, now).await?;
    changed(
        &ctx,
        &mut tx,
        &g,
        "proceeding.defendant_added",
        json!({ "defendant": defendant.0, "person": person.id.0, "offence": charge.offence, "stage": stage.code() }),
    )
    .await?;
    tx.commit().await?;
    Ok(back(&g, "defendants"))
}

// Reading the forms: the same rules whether an item is recorded or corrected (`except` is the
// item being corrected, left out of the checks against the others).

type Parsed<T> = Result<T, ValidationErrors>;

fn parse_charge(
    ctx: &Ctx,
    g: &Gate,
    d: &Data,
    form: &[(String, String)],
    except: Option<Uuid>,
) -> Parsed<store::Charge> {
    let mut p = Parser::new(form, parse_ctx(ctx));
    let defendant = defendant_of(&mut p, form, "charge_defendant", &d.defendants, true);
    let offence = offence_of(&mut p, form, "charge_offence", &d.offences);
    let stage = p.code("charge_stage", Stage::from_code);
    required(&mut p.errors, "charge_stage", &stage);
    let on = date_in(&mut p, g, "charge_on");
    if let (Some(x), Some(o), Some(s), Some(on)) = (defendant, &offence, stage, on) {
        let others = d.live_charges(except);
        let new = domain::ChargeFact {
            defendant: x.0,
            offence: o.clone(),
            stage: s,
            on,
        };
        if except.is_none() {
            domain::check_charge(&others, &new, &mut p.errors);
        } else {
            domain::check_corrected_charge(&others, &new, &mut p.errors);
            let mut all = others;
            all.push(new);
            let events: Vec<_> = d
                .events
                .iter()
                .filter(|e| d.live(e.id.0))
                .map(|e| e.fact())
                .collect();
            domain::check_events_after_indictment(&all, &events, "charge_on", &mut p.errors);
        }
    }
    let (Some(defendant), Some(offence), Some(stage), Some(on), true) =
        (defendant, offence, stage, on, p.errors.is_empty())
    else {
        return Err(p.errors);
    };
    Ok(store::Charge {
        id: except.map_or_else(|| ctx.state.ids().id(), domain::ChargeId),
        defendant,
        offence,
        stage,
        on,
    })
}

/// POST /staff/proceedings/{id}/charges: a charge at a stage; a re-qualification is a new charge.
pub async fn add_charge(
    ctx: Ctx,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let g = allowed!(ctx, id);
    let me = ctx.user()?.clone();
    let form = pairs.as_slice();
    let d = load(&ctx, &g).await?;
    let charge = match parse_charge(&ctx, &g, &d, form, None) {
        Ok(c) => c,
        Err(e) => return failed(&ctx, &g, "charge", form, &e).await,
    };
    let previous = d
        .charges
        .iter()
        .filter(|c| d.live(c.id.0))
        .rev()
        .find(|c| c.defendant == charge.defendant)
        .map(|c| c.offence.clone());
    let now = ctx.state.now();
    let mut tx = ctx.state.db.begin().await?;
    store::add_charge(&mut tx, me.org(), g.row.pid(), &charge, me.user.id, now).await?;
    changed(
        &ctx,
        &mut tx,
        &g,
        "proceeding.charge_added",
        json!({
            "defendant": charge.defendant.0,
            "offence": charge.offence,
            "stage": charge.stage.code(),
            "requalified_from": previous.filter(|p| *p != charge.offence),
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(back(&g, "defendants"))
}

fn parse_event(
    ctx: &Ctx,
    g: &Gate,
    d: &Data,
    form: &[(String, String)],
    except: Option<Uuid>,
) -> Parsed<store::CourtEvent> {
    let mut p = Parser::new(form, parse_ctx(ctx));
    let kind = p.code("event_kind", CourtEventKind::from_code);
    required(&mut p.errors, "event_kind", &kind);
    // A hearing may be scheduled ahead; everything else has happened.
    let on = if kind == Some(CourtEventKind::Hearing) {
        let x = p.any_date("event_on");
        required(&mut p.errors, "event_on", &x);
        match x {
            Some(x) if x < g.row.opened_on => {
                p.errors.add("event_on", "date-before-proceeding");
                None
            }
            x => x,
        }
    } else {
        date_in(&mut p, g, "event_on")
    };
    let per_defendant = matches!(
        kind,
        Some(CourtEventKind::Verdict | CourtEventKind::PleaAgreement)
    );
    let defendant = defendant_of(
        &mut p,
        form,
        "event_defendant",
        &d.defendants,
        per_defendant,
    );
    let held = p.flag("event_held");
    let postponement = p.code("event_postponement", PostponementReason::from_code);
    let victim_testified = p.flag("event_victim_testified");
    let measures = p.codes("event_measures", ProtectiveMeasure::from_code);
    let outcome = p.code("event_outcome", VerdictOutcome::from_code);
    let sentence = p.code("event_sentence", SentenceType::from_code);
    let months = p.number("event_months", 0, 600);
    let suspended = p.flag("event_suspended");
    let fine = p.money("event_fine");
    let claim_invited = p.flag("event_claim_invited");
    let appeal_by = p.code("event_appeal_by", AppealBy::from_code);
    let deadline = p.any_date("event_deadline");
    let note = p.text("event_note");
    let today = parse_ctx(ctx).today();
    match kind {
        // A hearing that has taken place was held, or postponed for a reason.
        Some(CourtEventKind::Hearing)
            if !held && postponement.is_none() && on.is_some_and(|x| x <= today) =>
        {
            p.errors
                .add("event_postponement", "postponement-reason-needed");
        }
        Some(CourtEventKind::Verdict) => {
            required(&mut p.errors, "event_outcome", &outcome);
            if outcome == Some(VerdictOutcome::Guilty) {
                required(&mut p.errors, "event_sentence", &sentence);
            }
        }
        Some(CourtEventKind::PleaAgreement) => {
            required(&mut p.errors, "event_sentence", &sentence);
        }
        Some(CourtEventKind::Appeal) => {
            required(&mut p.errors, "event_appeal_by", &appeal_by);
        }
        _ => {}
    }
    if matches!(
        sentence,
        Some(SentenceType::Prison | SentenceType::HouseArrest)
    ) && months.is_none()
        && p.errors.for_field("event_months").is_none()
    {
        p.errors.add("event_months", "required");
    }
    // A verdict, a plea agreement or a final judgment comes after an indictment.
    if let (Some(k), Some(on)) = (kind, on)
        && matches!(
            k,
            CourtEventKind::Verdict | CourtEventKind::PleaAgreement | CourtEventKind::FinalJudgment
        )
    {
        domain::check_after_indictment(
            &d.live_charges(None),
            defendant.map(|x| x.0),
            on,
            "event_on",
            &mut p.errors,
        );
    }
    if let (Some(x), Some(on)) = (deadline, on)
        && x < on
    {
        p.errors.add("event_deadline", "deadline-before-event");
    }
    let (Some(kind), Some(on), true) = (kind, on, p.errors.is_empty()) else {
        return Err(p.errors);
    };
    let is = |k: CourtEventKind| kind == k;
    let deadline = deadline.or(derived_deadline(kind, on, today));
    Ok(store::CourtEvent {
        id: except.map_or_else(|| ctx.state.ids().id(), domain::CourtEventId),
        kind,
        on,
        defendant,
        held: is(CourtEventKind::Hearing).then_some(held),
        postponement: postponement.filter(|_| is(CourtEventKind::Hearing) && !held),
        victim_testified: is(CourtEventKind::Hearing).then_some(victim_testified),
        measures: if is(CourtEventKind::Hearing) {
            measures
        } else {
            Vec::new()
        },
        outcome: outcome.filter(|_| is(CourtEventKind::Verdict)),
        sentence: sentence.filter(|_| {
            is(CourtEventKind::PleaAgreement)
                || (is(CourtEventKind::Verdict) && outcome == Some(VerdictOutcome::Guilty))
        }),
        months,
        suspended,
        fine,
        currency: fine.map(|_| DEFAULT_CURRENCY.to_owned()),
        claim_invited: is(CourtEventKind::PleaAgreement).then_some(claim_invited),
        appeal_by: appeal_by.filter(|_| is(CourtEventKind::Appeal)),
        deadline,
        note,
    })
}

/// The deadline an event sets when none is given: the appeal period runs 15 days from the
/// verdict; a hearing scheduled ahead is its own deadline.
fn derived_deadline(kind: CourtEventKind, on: NaiveDate, today: NaiveDate) -> Option<NaiveDate> {
    match kind {
        CourtEventKind::Verdict => Some(on + TimeDelta::days(15)),
        CourtEventKind::Hearing if on > today => Some(on),
        _ => None,
    }
}

/// Writes the deadline an event sets (a hearing ahead, the end of an appeal period) as a task on
/// each linked case, assigned to the proceeding's lawyer (else to whoever records it), with an
/// entry on the case's timeline: what happens when a lawyer records the event, and what the demo
/// data does. Nothing is written for a deadline already past. Returns how many tasks.
#[allow(clippy::too_many_arguments)]
pub async fn write_deadline_tasks(
    state: &crate::AppState,
    tx: &mut haven_store::Tx,
    ring: &haven_crypto::keys::OrgKeyring,
    org: OrgId,
    lang: haven_domain::Language,
    cases_linked: &[CaseId],
    event: &store::CourtEvent,
    lawyer: Option<UserId>,
    by: UserId,
) -> AppResult<usize> {
    let now = state.now();
    let zone: chrono_tz::Tz = state
        .settings
        .org
        .time_zone
        .parse()
        .unwrap_or(chrono_tz::Europe::Belgrade);
    let today = now.with_timezone(&zone).date_naive();
    let Some(due) = event.deadline.filter(|x| *x >= today) else {
        return Ok(0);
    };
    let tr = state.i18n.tr(lang);
    let title = tr.t2(
        "court-task-title",
        "event",
        label(&tr, event.kind),
        "date",
        fmt_date(due, lang),
    );
    let due_at = due
        .and_hms_opt(9, 0, 0)
        .and_then(|t| zone.from_local_datetime(&t).earliest())
        .map(|t| t.with_timezone(&chrono::Utc))
        .unwrap_or(now);
    let assignee = lawyer.or(Some(by));
    for case in cases_linked {
        let task = state.ids().id();
        store::add_deadline_task(
            tx,
            ring,
            state.rng.as_ref(),
            org,
            task,
            *case,
            event.id,
            &title,
            due_at,
            assignee,
            by,
            now,
        )
        .await?;
        let mut ev = NewEvent::new("task_added", Some(by));
        ev.ref_id = Some(task.0);
        ev.body = title.clone();
        cases::add_event(
            tx,
            ring,
            state.rng.as_ref(),
            org,
            *case,
            state.ids().id(),
            &ev,
            now,
        )
        .await?;
    }
    Ok(cases_linked.len())
}

/// Closes the open tasks an event's deadline put on the cases (the event withdrawn, or its date
/// corrected), each with an entry on its case's timeline. Returns how many.
async fn close_deadline_tasks(
    ctx: &Ctx,
    tx: &mut haven_store::Tx,
    ring: &haven_crypto::keys::OrgKeyring,
    event: domain::CourtEventId,
) -> AppResult<usize> {
    let me = ctx.user()?;
    let now = ctx.state.now();
    let open = store::open_deadline_tasks(&ctx.state.db, me.org(), event).await?;
    for (task, case) in &open {
        if cases::complete_task(tx, me.org(), *case, *task, me.user.id, now).await? {
            let mut ev = NewEvent::new("task_done", Some(me.user.id));
            ev.ref_id = Some(task.0);
            super::cases::event(ctx, tx, ring, *case, ev).await?;
        }
    }
    Ok(open.len())
}

/// POST /staff/proceedings/{id}/events: a hearing, plea agreement, verdict, appeal or final
/// judgment; a deadline it sets becomes a task on each linked case.
pub async fn add_event(
    ctx: Ctx,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let g = allowed!(ctx, id);
    let me = ctx.user()?.clone();
    let form = pairs.as_slice();
    let d = load(&ctx, &g).await?;
    let event = match parse_event(&ctx, &g, &d, form, None) {
        Ok(e) => e,
        Err(e) => return failed(&ctx, &g, "event", form, &e).await,
    };
    let ring = ctx.state.keys.get(me.org()).await?;
    let now = ctx.state.now();
    let mut tx = ctx.state.db.begin().await?;
    store::add_event(
        &mut tx,
        &ring,
        ctx.state.rng.as_ref(),
        me.org(),
        g.row.pid(),
        &event,
        me.user.id,
        now,
    )
    .await?;
    let linked: Vec<CaseId> = g.cases.iter().map(|c| c.id).collect();
    let tasks = write_deadline_tasks(
        &ctx.state,
        &mut tx,
        &ring,
        me.org(),
        ctx.lang,
        &linked,
        &event,
        g.row.lawyer_id.map(UserId),
        me.user.id,
    )
    .await?;
    changed(
        &ctx,
        &mut tx,
        &g,
        "proceeding.event_added",
        json!({ "event": event.id.0, "kind": event.kind.code(), "tasks": tasks }),
    )
    .await?;
    tx.commit().await?;
    Ok(back(&g, "events"))
}

fn parse_claim(
    ctx: &Ctx,
    g: &Gate,
    d: &Data,
    form: &[(String, String)],
    except: Option<Uuid>,
) -> Parsed<store::Claim> {
    let mut p = Parser::new(form, parse_ctx(ctx));
    let person = match form.one("claim_person") {
        "" => None,
        v => {
            let found = d
                .parties
                .iter()
                .find(|(pid, _)| pid.to_string() == v)
                .map(|(pid, _)| *pid);
            if found.is_none() {
                p.errors.add("claim_person", "code-unknown");
            }
            found
        }
    };
    let filed_on = date_in(&mut p, g, "claim_filed_on");
    let amount = positive_money(&mut p, "claim_amount");
    let currency = currency(&mut p, "claim_currency");
    // The decision is recorded with its own form; a correction shows it with the claim.
    let decision = p.code("decision", ClaimDecision::from_code);
    let decided_on = optional_date_in(&mut p, g, "decision_on");
    if decision.is_some() {
        required(&mut p.errors, "decision_on", &decided_on);
    } else if decided_on.is_some() {
        required(&mut p.errors, "decision", &decision);
    }
    if let (Some(f), Some(x)) = (filed_on, decided_on)
        && x < f
    {
        p.errors.add("decision_on", "decided-before-filed");
    }
    let civil = match form.one("decision_civil") {
        "" => None,
        v => {
            let found = d
                .all
                .iter()
                .find(|r| r.id.to_string() == v && r.parent_id == Some(g.row.id))
                .map(|r| r.pid());
            if found.is_none() {
                p.errors.add("decision_civil", "code-unknown");
            }
            found
        }
    };
    let (Some(filed_on), Some(amount), true) = (filed_on, amount, p.errors.is_empty()) else {
        return Err(p.errors);
    };
    Ok(store::Claim {
        id: except.map_or_else(|| ctx.state.ids().id(), ClaimId),
        person,
        filed_on,
        amount,
        currency,
        decision,
        decided_on: decided_on.filter(|_| decision.is_some()),
        civil: civil.filter(|_| decision == Some(ClaimDecision::ReferredToCivil)),
    })
}

/// POST /staff/proceedings/{id}/claims: a property claim filed.
pub async fn add_claim(
    ctx: Ctx,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let g = allowed!(ctx, id);
    let me = ctx.user()?.clone();
    let form = pairs.as_slice();
    let d = load(&ctx, &g).await?;
    let claim = match parse_claim(&ctx, &g, &d, form, None) {
        Ok(c) => c,
        Err(e) => return failed(&ctx, &g, "claim", form, &e).await,
    };
    let mut tx = ctx.state.db.begin().await?;
    store::add_claim(
        &mut tx,
        me.org(),
        g.row.pid(),
        &claim,
        me.user.id,
        ctx.state.now(),
    )
    .await?;
    changed(
        &ctx,
        &mut tx,
        &g,
        "proceeding.claim_added",
        json!({ "claim": claim.id.0 }),
    )
    .await?;
    tx.commit().await?;
    Ok(back(&g, "claims"))
}

/// POST /staff/proceedings/{id}/claims/decision: a claim decided in the criminal proceeding (an
/// award is recorded with it), referred to a civil suit, or rejected.
pub async fn decide_claim(
    ctx: Ctx,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let g = allowed!(ctx, id);
    let me = ctx.user()?.clone();
    let form = pairs.as_slice();
    let db = &ctx.state.db;
    let d = load(&ctx, &g).await?;
    let mut p = Parser::new(form, parse_ctx(&ctx));
    let claim = match form.one("decision_claim") {
        "" => {
            p.errors.add("decision_claim", "required");
            None
        }
        v => {
            let c = d
                .claims
                .iter()
                .find(|c| c.id.to_string() == v && d.live(c.id.0))
                .cloned();
            if c.is_none() {
                p.errors.add("decision_claim", "code-unknown");
            }
            c
        }
    };
    let decision = p.code("decision", ClaimDecision::from_code);
    required(&mut p.errors, "decision", &decision);
    let on = date_in(&mut p, &g, "decision_on");
    if let (Some(c), Some(on)) = (&claim, on)
        && on < c.filed_on
    {
        p.errors.add("decision_on", "decided-before-filed");
    }
    let awarded = if decision == Some(ClaimDecision::Awarded) {
        positive_money(&mut p, "decision_awarded")
    } else {
        None
    };
    let civil = match form.one("decision_civil") {
        "" => None,
        v => {
            let found = d
                .all
                .iter()
                .find(|r| r.id.to_string() == v && r.parent_id == Some(g.row.id))
                .map(|r| r.pid());
            if found.is_none() {
                p.errors.add("decision_civil", "code-unknown");
            }
            found
        }
    };
    let (Some(claim), Some(decision), Some(on), true) = (claim, decision, on, p.errors.is_empty())
    else {
        return failed(&ctx, &g, "decision", form, &p.errors).await;
    };
    let now = ctx.state.now();
    let mut tx = db.begin().await?;
    store::decide_claim(
        &mut tx,
        me.org(),
        g.row.pid(),
        claim.id,
        decision,
        on,
        civil.filter(|_| decision == ClaimDecision::ReferredToCivil),
    )
    .await?;
    if let Some(amount) = awarded {
        let award = store::Award {
            id: ctx.state.ids().id(),
            claim: Some(claim.id),
            source: AwardSource::CriminalTrial,
            awarded_on: on,
            amount,
            currency: claim.currency.clone(),
            paid: 0,
        };
        store::add_award(&mut tx, me.org(), g.row.pid(), &award, me.user.id, now).await?;
    }
    changed(
        &ctx,
        &mut tx,
        &g,
        "proceeding.claim_decided",
        json!({ "claim": claim.id.0, "decision": decision.code() }),
    )
    .await?;
    tx.commit().await?;
    Ok(back(&g, "claims"))
}

fn parse_award(
    ctx: &Ctx,
    g: &Gate,
    d: &Data,
    form: &[(String, String)],
    except: Option<Uuid>,
) -> Parsed<store::Award> {
    let mut p = Parser::new(form, parse_ctx(ctx));
    let source = p.code("award_source", AwardSource::from_code);
    required(&mut p.errors, "award_source", &source);
    let claim = match form.one("award_claim") {
        "" => None,
        v => {
            let c = d
                .claims
                .iter()
                .find(|c| c.id.to_string() == v && d.live(c.id.0))
                .map(|c| c.id);
            if c.is_none() {
                p.errors.add("award_claim", "code-unknown");
            }
            c
        }
    };
    let on = date_in(&mut p, g, "award_on");
    let amount = positive_money(&mut p, "award_amount");
    let currency = currency(&mut p, "award_currency");
    // A corrected award keeps what was paid on it possible.
    let paid = except.and_then(|x| d.awards.iter().find(|a| a.id.0 == x));
    if let (Some(a), Some(on), Some(amount)) = (paid, on, amount) {
        let first = d
            .payments
            .iter()
            .filter(|(pid, p)| p.award == a.id && d.live(*pid))
            .map(|(_, p)| p.paid_on)
            .min();
        domain::check_corrected_award(amount, on, a.paid, first, &mut p.errors);
    }
    let (Some(source), Some(on), Some(amount), true) = (source, on, amount, p.errors.is_empty())
    else {
        return Err(p.errors);
    };
    Ok(store::Award {
        id: except.map_or_else(|| ctx.state.ids().id(), domain::AwardId),
        claim,
        source,
        awarded_on: on,
        amount,
        currency,
        paid: paid.map_or(0, |a| a.paid),
    })
}

/// POST /staff/proceedings/{id}/awards: compensation awarded (a civil suit's judgment, a state
/// fund, or a criminal court's decision recorded on its own).
pub async fn add_award(
    ctx: Ctx,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let g = allowed!(ctx, id);
    let me = ctx.user()?.clone();
    let form = pairs.as_slice();
    let d = load(&ctx, &g).await?;
    let award = match parse_award(&ctx, &g, &d, form, None) {
        Ok(a) => a,
        Err(e) => return failed(&ctx, &g, "award", form, &e).await,
    };
    let mut tx = ctx.state.db.begin().await?;
    store::add_award(
        &mut tx,
        me.org(),
        g.row.pid(),
        &award,
        me.user.id,
        ctx.state.now(),
    )
    .await?;
    changed(
        &ctx,
        &mut tx,
        &g,
        "proceeding.award_added",
        json!({ "award": award.id.0, "source": award.source.code() }),
    )
    .await?;
    tx.commit().await?;
    Ok(back(&g, "compensation"))
}

fn award_of(
    p: &mut Parser<'_, [(String, String)]>,
    form: &[(String, String)],
    field: &'static str,
    awards: &[store::Award],
) -> Option<store::Award> {
    let v = form.one(field);
    if v.is_empty() {
        p.errors.add(field, "required");
        return None;
    }
    let a = awards.iter().find(|a| a.id.to_string() == v).cloned();
    if a.is_none() {
        p.errors.add(field, "code-unknown");
    }
    a
}

fn parse_payment(
    ctx: &Ctx,
    g: &Gate,
    d: &Data,
    form: &[(String, String)],
    except: Option<Uuid>,
) -> Parsed<(Uuid, store::Payment)> {
    let mut p = Parser::new(form, parse_ctx(ctx));
    let award = award_of(&mut p, form, "payment_award", &d.live_awards());
    let on = date_in(&mut p, g, "payment_on");
    if let (Some(a), Some(on)) = (&award, on)
        && on < a.awarded_on
    {
        p.errors.add("payment_on", "paid-before-award");
    }
    let amount = positive_money(&mut p, "payment_amount");
    if let (Some(a), Some(amount)) = (&award, amount) {
        // What was paid on the award before, this payment left out when it is corrected.
        let this = except
            .and_then(|x| d.payments.iter().find(|(pid, _)| *pid == x))
            .filter(|(pid, p)| p.award == a.id && d.live(*pid))
            .map_or(0, |(_, p)| p.amount);
        domain::check_payment(a.amount, a.paid - this, amount, &mut p.errors);
    }
    let (Some(award), Some(on), Some(amount), true) = (award, on, amount, p.errors.is_empty())
    else {
        return Err(p.errors);
    };
    Ok((
        except.unwrap_or_else(|| ctx.state.ids().uuid()),
        store::Payment {
            award: award.id,
            paid_on: on,
            amount,
            currency: award.currency.clone(),
        },
    ))
}

/// POST /staff/proceedings/{id}/payments: a payment on an award (never more than was awarded).
pub async fn add_payment(
    ctx: Ctx,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let g = allowed!(ctx, id);
    let me = ctx.user()?.clone();
    let form = pairs.as_slice();
    let d = load(&ctx, &g).await?;
    let (pid, payment) = match parse_payment(&ctx, &g, &d, form, None) {
        Ok(x) => x,
        Err(e) => return failed(&ctx, &g, "payment", form, &e).await,
    };
    let mut tx = ctx.state.db.begin().await?;
    store::add_payment(
        &mut tx,
        me.org(),
        pid,
        &payment,
        me.user.id,
        ctx.state.now(),
    )
    .await?;
    changed(
        &ctx,
        &mut tx,
        &g,
        "proceeding.payment_added",
        json!({ "award": payment.award.0 }),
    )
    .await?;
    tx.commit().await?;
    Ok(back(&g, "compensation"))
}

fn parse_step(
    ctx: &Ctx,
    g: &Gate,
    d: &Data,
    form: &[(String, String)],
    except: Option<Uuid>,
) -> Parsed<(Uuid, store::Step)> {
    let mut p = Parser::new(form, parse_ctx(ctx));
    let award = award_of(&mut p, form, "step_award", &d.live_awards());
    let step = p.code("step_kind", EnforcementStep::from_code);
    required(&mut p.errors, "step_kind", &step);
    let on = date_in(&mut p, g, "step_on");
    let note = p.text_max("step_note", 500);
    let (Some(award), Some(step), Some(on), true) = (award, step, on, p.errors.is_empty()) else {
        return Err(p.errors);
    };
    Ok((
        except.unwrap_or_else(|| ctx.state.ids().uuid()),
        store::Step {
            award: award.id,
            step,
            on,
            note,
        },
    ))
}

/// POST /staff/proceedings/{id}/enforcement: a step to enforce an award.
pub async fn add_step(
    ctx: Ctx,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let g = allowed!(ctx, id);
    let me = ctx.user()?.clone();
    let form = pairs.as_slice();
    let d = load(&ctx, &g).await?;
    let (sid, step) = match parse_step(&ctx, &g, &d, form, None) {
        Ok(x) => x,
        Err(e) => return failed(&ctx, &g, "step", form, &e).await,
    };
    let ring = ctx.state.keys.get(me.org()).await?;
    let mut tx = ctx.state.db.begin().await?;
    store::add_step(
        &mut tx,
        &ring,
        ctx.state.rng.as_ref(),
        me.org(),
        sid,
        &step,
        me.user.id,
        ctx.state.now(),
    )
    .await?;
    changed(
        &ctx,
        &mut tx,
        &g,
        "proceeding.enforcement_added",
        json!({ "award": step.award.0, "step": step.step.code() }),
    )
    .await?;
    tx.commit().await?;
    Ok(back(&g, "compensation"))
}

fn parse_fund(
    ctx: &Ctx,
    g: &Gate,
    form: &[(String, String)],
    except: Option<Uuid>,
) -> Parsed<(Uuid, store::FundApplication)> {
    let mut p = Parser::new(form, parse_ctx(ctx));
    let on = date_in(&mut p, g, "fund_applied_on");
    let amount = positive_money(&mut p, "fund_amount");
    let currency = currency(&mut p, "fund_currency");
    let decision = p
        .code("fund_decision", FundDecision::from_code)
        .unwrap_or(FundDecision::Pending);
    let decided_on = optional_date_in(&mut p, g, "fund_decided_on");
    if let (Some(a), Some(x)) = (on, decided_on)
        && x < a
    {
        p.errors.add("fund_decided_on", "decided-before-applied");
    }
    if decision == FundDecision::Pending && decided_on.is_some() {
        p.errors.add("fund_decision", "fund-decision-needed");
    }
    let granted = p.money("fund_granted");
    match (decision, granted) {
        (FundDecision::Granted, Some(0)) => p.errors.add("fund_granted", "amount-not-positive"),
        (FundDecision::Granted, _) => {}
        (_, Some(_)) => p.errors.add("fund_granted", "granted-not-granted"),
        (_, None) => {}
    }
    let (Some(on), Some(amount), true) = (on, amount, p.errors.is_empty()) else {
        return Err(p.errors);
    };
    Ok((
        except.unwrap_or_else(|| ctx.state.ids().uuid()),
        store::FundApplication {
            applied_on: on,
            amount,
            currency,
            decision,
            decided_on,
            // A grant with no amount of its own is what was asked.
            granted: (decision == FundDecision::Granted).then(|| granted.unwrap_or(amount)),
        },
    ))
}

/// POST /staff/proceedings/{id}/fund: an application to a state compensation fund.
pub async fn add_fund(
    ctx: Ctx,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let g = allowed!(ctx, id);
    let me = ctx.user()?.clone();
    let form = pairs.as_slice();
    let (fid, fund) = match parse_fund(&ctx, &g, form, None) {
        Ok(x) => x,
        Err(e) => return failed(&ctx, &g, "fund", form, &e).await,
    };
    let mut tx = ctx.state.db.begin().await?;
    store::add_fund_application(
        &mut tx,
        me.org(),
        g.row.pid(),
        fid,
        &fund,
        me.user.id,
        ctx.state.now(),
    )
    .await?;
    changed(
        &ctx,
        &mut tx,
        &g,
        "proceeding.fund_application_added",
        json!({ "decision": fund.decision.code() }),
    )
    .await?;
    tx.commit().await?;
    Ok(back(&g, "compensation"))
}

/// POST /staff/proceedings/{id}/numbers: the number a court gave the proceeding, from a date.
pub async fn add_number(
    ctx: Ctx,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let g = allowed!(ctx, id);
    let me = ctx.user()?.clone();
    let form = pairs.as_slice();
    let mut p = Parser::new(form, parse_ctx(&ctx));
    let court = institution_of(
        &ctx,
        &mut p,
        form,
        "number_court",
        InstitutionKind::Court,
        true,
    )
    .await?;
    let number = p.required_text("number_value", 100);
    let from = date_in(&mut p, &g, "number_from");
    let (Some(court), Some(from), true) = (court, from, p.errors.is_empty()) else {
        return failed(&ctx, &g, "number", form, &p.errors).await;
    };
    let ring = ctx.state.keys.get(me.org()).await?;
    let mut tx = ctx.state.db.begin().await?;
    store::add_number(
        &mut tx,
        &ring,
        ctx.state.rng.as_ref(),
        me.org(),
        &store::NewNumber {
            id: ctx.state.ids().uuid(),
            proceeding: g.row.pid(),
            court,
            number,
            from_on: from,
        },
        me.user.id,
        ctx.state.now(),
    )
    .await?;
    changed(
        &ctx,
        &mut tx,
        &g,
        "proceeding.number_added",
        json!({ "court": court }),
    )
    .await?;
    tx.commit().await?;
    Ok(back(&g, "numbers"))
}

/// POST /staff/proceedings/{id}/cases: links a case the person may open.
pub async fn link_case(
    ctx: Ctx,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let g = allowed!(ctx, id);
    let form = pairs.as_slice();
    let mut errors = ValidationErrors::new();
    let case = match form.one("link_case_number") {
        "" => {
            errors.add("link_case_number", "required");
            None
        }
        v => case_by_number(&ctx, v, "link_case_number", &mut errors).await?,
    };
    let Some(case) = case else {
        return failed(&ctx, &g, "link", form, &errors).await;
    };
    let mut tx = ctx.state.db.begin().await?;
    link(&ctx, &mut tx, g.row.pid(), &case).await?;
    tx.commit().await?;
    Ok(back(&g, "cases"))
}

// Corrections and withdrawals.

#[derive(Template)]
#[template(path = "staff/court_correct.html")]
struct CorrectPage<'a> {
    page: Page<'a>,
    back: String,
    charge: bool,
    item: ItemView,
    f: Option<FormView>,
    w: Option<FormView>,
    errors: FormErrors,
}

/// A recorded item: its kind, its id and its values as the form holds them.
type Item = (CourtItem, Uuid, Vec<(String, String)>);

/// The item a correction route names, with its values: the proceeding must have it.
fn item_of(d: &Data, kind: &str, item: &str) -> AppResult<Item> {
    let kind = CourtItem::from_code(kind).ok_or(AppError::NotFound)?;
    let item: Uuid = item.parse().map_err(|_| AppError::NotFound)?;
    let values = item_values(d, kind, item).ok_or(AppError::NotFound)?;
    Ok((kind, item, values))
}

#[allow(clippy::too_many_arguments)]
async fn correct_page(
    ctx: &Ctx,
    g: &Gate,
    d: &Data,
    kind: CourtItem,
    item: Uuid,
    values: Vec<(String, String)>,
    o: FormState,
) -> AppResult<Response> {
    let tr = ctx.tr();
    let names = all_institution_names(ctx).await?;
    let staff = super::audit::staff_names(ctx).await?;
    let persons = person_names(ctx, g, d).await?;
    let c = choices(ctx, g, d, &names, &persons).await?;
    let base = format!("/staff/proceedings/{}", g.row.id);
    let path = format!("{}/{item}", kind.code());
    // Opened with the item's values; after a failed submission, with what was typed.
    let prefilled = FormState {
        section: "correct",
        errors: if o.section == "correct" {
            o.errors.clone()
        } else {
            FormErrors::default()
        },
        kept: if o.section == "correct" {
            o.kept.clone()
        } else {
            prefill(ctx, d, kind, item, values)
        },
    };
    let shape = item_fields(
        kind,
        FormBuilder::new(
            &tr,
            &FormState::default(),
            "shape",
            String::new(),
            "court-record",
            "court-record",
        ),
        &c,
        &tr,
        true,
    )
    .build();
    let view = item_view(ctx, d, kind, item, true, &base, Some(&shape), &staff);
    let live = d.live(item);
    let f = live.then(|| {
        item_fields(
            kind,
            FormBuilder::new(
                &tr,
                &prefilled,
                "correct",
                format!("{base}/corrections/{path}"),
                "court-correct-title",
                "court-correct-submit",
            ),
            &c,
            &tr,
            true,
        )
        .textarea("correction_reason")
        .hint("court-correction-reason-hint")
        .build()
    });
    let w = live.then(|| {
        FormBuilder::new(
            &tr,
            &o,
            "withdraw",
            format!("{base}/withdrawals/{path}"),
            "court-withdraw-title",
            "court-withdraw-submit",
        )
        .textarea("withdraw_reason")
        .hint("court-withdraw-hint")
        .build()
    });
    let failed = o.errors.any();
    let mut res = render(&CorrectPage {
        page: ctx.page_titled(tr.t1("court-correct-page-title", "item", label(&tr, kind))),
        back: format!("{base}#{}", view.id),
        charge: kind == CourtItem::Charge,
        item: view,
        f,
        w,
        errors: o.errors,
    })?;
    if failed {
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(res)
}

/// What the correction form opens with: the recorded values, except an event's deadline when it
/// is the one the event set by itself (so that it follows a corrected date).
fn prefill(
    ctx: &Ctx,
    d: &Data,
    kind: CourtItem,
    item: Uuid,
    mut values: Vec<(String, String)>,
) -> Vec<(String, String)> {
    let today = parse_ctx(ctx).today();
    if kind == CourtItem::Event
        && let Some(e) = d.events.iter().find(|e| e.id.0 == item)
        && e.deadline.is_some()
        && e.deadline == derived_deadline(e.kind, e.on, today)
    {
        values.retain(|(k, _)| k != "event_deadline");
    }
    values
}

/// GET /staff/proceedings/{id}/corrections/{kind}/{tid}: the form to correct a recorded item,
/// filled with what was recorded, and to withdraw it.
pub async fn correct_form(
    ctx: Ctx,
    Path((id, kind, item)): Path<(String, String, String)>,
) -> AppResult<Response> {
    let g = allowed!(ctx, id);
    let d = load(&ctx, &g).await?;
    let (kind, item, values) = item_of(&d, &kind, &item)?;
    // The form shows what was recorded, names of defendants and injured parties among it.
    let me = ctx.user()?;
    ctx.audit_now(
        me.org(),
        ctx.event("proceeding.viewed", Outcome::Ok)
            .target("proceeding", g.row.id)
            .details(json!({ "correcting": kind.code(), "id": item })),
    )
    .await?;
    correct_page(&ctx, &g, &d, kind, item, values, FormState::default()).await
}

fn reason(form: &[(String, String)], field: &'static str, errors: &mut ValidationErrors) -> String {
    let r = form.one(field).trim();
    if r.is_empty() {
        errors.add(field, "reason-required");
    } else if r.chars().count() > 1000 {
        errors.add_with(field, "too-long", vec![("max", "1000".to_owned())]);
    }
    r.to_owned()
}

/// POST /staff/proceedings/{id}/corrections/{kind}/{tid}: the item corrected, checked by the
/// same rules as when it was recorded; its previous version is kept with the reason.
pub async fn correct(
    ctx: Ctx,
    Path((id, kind, item)): Path<(String, String, String)>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let g = allowed!(ctx, id);
    let me = ctx.user()?.clone();
    let form = pairs.as_slice();
    let d = load(&ctx, &g).await?;
    let (kind, item, old) = item_of(&d, &kind, &item)?;
    if !d.live(item) {
        return Err(AppError::BadRequest);
    }
    let mut errors = ValidationErrors::new();
    let why = reason(form, "correction_reason", &mut errors);
    let me_ = Some(item);
    enum New {
        Charge(store::Charge),
        Event(store::CourtEvent),
        Claim(store::Claim),
        Award(store::Award),
        Payment(Uuid, store::Payment),
        Step(Uuid, store::Step),
        Fund(Uuid, store::FundApplication),
    }
    let parsed: Parsed<New> = match kind {
        CourtItem::Charge => parse_charge(&ctx, &g, &d, form, me_).map(New::Charge),
        CourtItem::Event => parse_event(&ctx, &g, &d, form, me_).map(New::Event),
        CourtItem::Claim => parse_claim(&ctx, &g, &d, form, me_).map(New::Claim),
        CourtItem::Award => parse_award(&ctx, &g, &d, form, me_).map(New::Award),
        CourtItem::Payment => {
            parse_payment(&ctx, &g, &d, form, me_).map(|(x, p)| New::Payment(x, p))
        }
        CourtItem::Step => parse_step(&ctx, &g, &d, form, me_).map(|(x, s)| New::Step(x, s)),
        CourtItem::Fund => parse_fund(&ctx, &g, form, me_).map(|(x, f)| New::Fund(x, f)),
    };
    let parsed = match parsed {
        Ok(n) if errors.is_empty() => Some(n),
        Ok(_) => None,
        Err(e) => {
            for fe in e.0 {
                errors.0.push(fe);
            }
            None
        }
    };
    // What changed, as the form holds it.
    let mut new_values: Vec<(String, String)> = Vec::new();
    if let Some(n) = &parsed {
        let mut put = |k: &str, v: String| {
            if !v.is_empty() {
                new_values.push((k.to_owned(), v));
            }
        };
        match n {
            New::Charge(c) => {
                put("charge_defendant", c.defendant.to_string());
                put("charge_offence", c.offence.clone());
                put("charge_stage", c.stage.code().to_owned());
                put("charge_on", iso(c.on));
            }
            New::Event(e) => {
                event_values(
                    e,
                    &mut put,
                    |b| {
                        if b { "on".to_owned() } else { String::new() }
                    },
                )
            }
            New::Claim(c) => claim_values(c, &mut put),
            New::Award(a) => award_values(a, &mut put),
            New::Payment(_, p) => payment_values(p, &mut put),
            New::Step(_, s) => step_values(s, &mut put),
            New::Fund(_, f) => fund_values(f, &mut put),
        }
    }
    let tr = ctx.tr();
    let none = FormState::default();
    let names_only = item_fields(
        kind,
        FormBuilder::new(
            &tr,
            &none,
            "shape",
            String::new(),
            "court-record",
            "court-record",
        ),
        &Choices {
            offences: Vec::new(),
            defendants: Vec::new(),
            parties: Vec::new(),
            claims: Vec::new(),
            awards: Vec::new(),
            civil: Vec::new(),
            courts: Vec::new(),
            kind: g.row.kind()?,
        },
        &tr,
        true,
    )
    .build();
    let field_names: Vec<&str> = names_only.fields.iter().map(|f| f.name).collect();
    let changes = domain::changed_fields(&field_names, &old, &new_values);
    if parsed.is_some() && changes.is_empty() {
        errors.add("correction_reason", "nothing-changed");
    }
    let Some(new) = parsed.filter(|_| errors.is_empty()) else {
        let o = FormState {
            section: "correct",
            errors: FormErrors::from_validation(&tr, &errors),
            kept: form.to_vec(),
        };
        return correct_page(&ctx, &g, &d, kind, item, old, o).await;
    };
    let ring = ctx.state.keys.get(me.org()).await?;
    let rng = ctx.state.rng.as_ref();
    let org = me.org();
    let now = ctx.state.now();
    let mut tx = ctx.state.db.begin().await?;
    let mut tasks = 0;
    match &new {
        New::Charge(c) => store::update_charge(&mut tx, org, c).await?,
        New::Event(e) => {
            store::update_event(&mut tx, &ring, rng, org, e).await?;
            // A deadline moved (a hearing's date corrected): its open tasks are closed and the new
            // date is a new task, as when recorded.
            if changes
                .iter()
                .any(|(f, _)| f == "event_deadline" || f == "event_on")
            {
                close_deadline_tasks(&ctx, &mut tx, &ring, e.id).await?;
                let linked: Vec<CaseId> = g.cases.iter().map(|c| c.id).collect();
                tasks = write_deadline_tasks(
                    &ctx.state,
                    &mut tx,
                    &ring,
                    org,
                    ctx.lang,
                    &linked,
                    e,
                    g.row.lawyer_id.map(UserId),
                    me.user.id,
                )
                .await?;
            }
        }
        New::Claim(c) => store::update_claim(&mut tx, org, c).await?,
        New::Award(a) => store::update_award(&mut tx, org, a).await?,
        New::Payment(x, p) => store::update_payment(&mut tx, org, *x, p).await?,
        New::Step(x, s) => store::update_step(&mut tx, &ring, rng, org, *x, s).await?,
        New::Fund(x, f) => store::update_fund_application(&mut tx, org, *x, f).await?,
    }
    store::add_correction(
        &mut tx,
        &ring,
        rng,
        org,
        g.row.pid(),
        &store::Correction {
            id: ctx.state.ids().uuid(),
            kind,
            item,
            withdrawn: false,
            old: changes.clone(),
            reason: why,
            by: Some(me.user.id),
            at: now,
        },
    )
    .await?;
    changed(
        &ctx,
        &mut tx,
        &g,
        "proceeding.item_corrected",
        json!({
            "item": kind.code(),
            "id": item,
            "fields": changes.iter().map(|(f, _)| f.as_str()).collect::<Vec<_>>(),
            "tasks": tasks,
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(see_other(&format!(
        "/staff/proceedings/{}#{}-{item}",
        g.row.id,
        kind.code()
    )))
}

/// POST /staff/proceedings/{id}/withdrawals/{kind}/{tid}: an item recorded by mistake withdrawn,
/// with the reason: it stays on the page struck through, and the figures leave it out.
pub async fn withdraw(
    ctx: Ctx,
    Path((id, kind, item)): Path<(String, String, String)>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let g = allowed!(ctx, id);
    let me = ctx.user()?.clone();
    let form = pairs.as_slice();
    let d = load(&ctx, &g).await?;
    let (kind, item, values) = item_of(&d, &kind, &item)?;
    if !d.live(item) {
        return Err(AppError::BadRequest);
    }
    let mut errors = ValidationErrors::new();
    let why = reason(form, "withdraw_reason", &mut errors);
    if !errors.is_empty() {
        let o = FormState {
            section: "withdraw",
            errors: FormErrors::from_validation(&ctx.tr(), &errors),
            kept: form.to_vec(),
        };
        return correct_page(&ctx, &g, &d, kind, item, values, o).await;
    }
    let ring = ctx.state.keys.get(me.org()).await?;
    let now = ctx.state.now();
    let mut tx = ctx.state.db.begin().await?;
    if !store::withdraw(&mut tx, me.org(), kind, item, now).await? {
        return Err(AppError::BadRequest);
    }
    // A withdrawn event's deadline is no task any more.
    let tasks = if kind == CourtItem::Event {
        close_deadline_tasks(&ctx, &mut tx, &ring, domain::CourtEventId(item)).await?
    } else {
        0
    };
    store::add_correction(
        &mut tx,
        &ring,
        ctx.state.rng.as_ref(),
        me.org(),
        g.row.pid(),
        &store::Correction {
            id: ctx.state.ids().uuid(),
            kind,
            item,
            withdrawn: true,
            old: Vec::new(),
            reason: why,
            by: Some(me.user.id),
            at: now,
        },
    )
    .await?;
    changed(
        &ctx,
        &mut tx,
        &g,
        "proceeding.item_withdrawn",
        json!({ "item": kind.code(), "id": item, "tasks_closed": tasks }),
    )
    .await?;
    tx.commit().await?;
    Ok(see_other(&format!(
        "/staff/proceedings/{}#{}-{item}",
        g.row.id,
        kind.code()
    )))
}

// The advocacy figures.

/// The period and court of the figures.
#[derive(Debug, Default, Deserialize)]
pub struct FigureQuery {
    /// First day of the period (`YYYY-MM-DD`).
    #[serde(default)]
    pub from: String,
    /// Last day of the period.
    #[serde(default)]
    pub to: String,
    /// A court's id.
    #[serde(default)]
    pub court: String,
    /// A figure's key (drill-down).
    #[serde(default)]
    pub figure: String,
}

impl FigureQuery {
    fn filter(&self, errors: &mut ValidationErrors) -> FigureFilter {
        let date = |v: &str, field: &str, errors: &mut ValidationErrors| {
            if v.is_empty() {
                return None;
            }
            let d = NaiveDate::parse_from_str(v, "%Y-%m-%d").ok();
            if d.is_none() {
                errors.add(field.to_owned(), "date-invalid");
            }
            d
        };
        let from = date(&self.from, "from", errors);
        let to = date(&self.to, "to", errors);
        if let (Some(a), Some(b)) = (from, to)
            && a > b
        {
            errors.add("to", "period-reversed");
        }
        let court = match self.court.as_str() {
            "" => None,
            v => {
                let c = v.parse().ok();
                if c.is_none() {
                    errors.add("court", "code-unknown");
                }
                c
            }
        };
        FigureFilter { from, to, court }
    }

    fn query_string(&self) -> String {
        let enc = |s: &str| -> String {
            s.chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect()
        };
        format!(
            "from={}&to={}&court={}",
            enc(&self.from),
            enc(&self.to),
            enc(&self.court)
        )
    }
}

/// A figure as a row.
pub struct FigureRow {
    /// Key.
    pub key: String,
    /// Label.
    pub label: String,
    /// Count.
    pub count: i64,
    /// Base, when a share.
    pub of: String,
    /// Share in per cent.
    pub percent: String,
    /// Amounts.
    pub amounts: String,
    /// Another value (median days).
    pub value: String,
    /// Whether it is indented (a part of the row above).
    pub sub: bool,
}

fn figure_label(tr: &Tr<'_>, f: &domain::Figure, offences: &[Offence]) -> String {
    match (&f.arg, f.label.as_str()) {
        (Some(stage), "fig-stage") => tr.t1("fig-stage", "stage", tr.t(stage)),
        (Some(code), "fig-into") => {
            let name = offences
                .iter()
                .find(|o| &o.code == code)
                .map(|o| offence_label(tr, o))
                .unwrap_or_else(|| code.clone());
            tr.t1("fig-into", "offence", name)
        }
        _ => tr.t(&f.label),
    }
}

pub(crate) async fn compute(
    ctx: &Ctx,
    q: &FigureQuery,
) -> AppResult<(Vec<domain::Figure>, Vec<Offence>, ValidationErrors)> {
    let me = ctx.user()?;
    let mut errors = ValidationErrors::new();
    let filter = q.filter(&mut errors);
    let facts = store::all_facts(&ctx.state.db, me.org()).await?;
    let offences = store::offences(&ctx.state.db, me.org()).await?;
    let figs = domain::figures(&facts, &offences, &filter);
    Ok((figs, offences, errors))
}

#[derive(Template)]
#[template(path = "staff/court_figures.html")]
struct FiguresPage<'a> {
    page: Page<'a>,
    rows: Vec<FigureRow>,
    from: String,
    to: String,
    court: String,
    courts: Vec<(String, String)>,
    query: String,
    drill: bool,
    errors: FormErrors,
}

fn is_sub(key: &str) -> bool {
    key.starts_with("stage-")
        || key.starts_with("requalified-into-")
        || key.starts_with("sentence-")
        || (key.starts_with("claims-") && key != "claims-filed")
        || key == "compensation-paid"
        || key == "compensation-fully-paid"
        || key == "plea"
}

/// GET /staff/court/figures: the advocacy figures for a period and court.
pub async fn figures(ctx: Ctx, Query(q): Query<FigureQuery>) -> AppResult<Response> {
    let me = ctx.user()?;
    let tr = ctx.tr();
    let (figs, offences, errors) = compute(&ctx, &q).await?;
    let rows = figs
        .iter()
        .map(|f| FigureRow {
            key: f.key.clone(),
            label: figure_label(&tr, f, &offences),
            count: f.count,
            of: f.of.map(|o| o.to_string()).unwrap_or_default(),
            percent: f.percent().map(|p| format!("{p} %")).unwrap_or_default(),
            amounts: f.amounts_text(),
            value: f
                .value
                .map(|v| tr.t1("fig-days", "days", v))
                .unwrap_or_default(),
            sub: is_sub(&f.key),
        })
        .collect();
    let mut res = render(&FiguresPage {
        page: ctx.page("court-figures-title"),
        rows,
        from: q.from.clone(),
        to: q.to.clone(),
        court: q.court.clone(),
        courts: institution_names(&ctx, InstitutionKind::Court).await?,
        query: q.query_string(),
        drill: me.actor().can(Permission::ViewProceedings),
        errors: FormErrors::from_validation(&tr, &errors),
    })?;
    if !errors.is_empty() {
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(res)
}

fn csv_cell(s: &str) -> String {
    // Quote every cell; a leading formula character is neutralised for spreadsheets.
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// GET /staff/court/figures.csv: the same figures as CSV (audited as an export).
pub async fn figures_csv(ctx: Ctx, Query(q): Query<FigureQuery>) -> AppResult<Response> {
    let me = ctx.user()?;
    let tr = ctx.tr();
    let (figs, offences, errors) = compute(&ctx, &q).await?;
    if !errors.is_empty() {
        return Err(AppError::BadRequest);
    }
    let mut out = String::from("figure,label,count,of,percent,amounts,median_days,proceedings\r\n");
    for f in &figs {
        let cells = [
            f.key.clone(),
            figure_label(&tr, f, &offences),
            f.count.to_string(),
            f.of.map(|o| o.to_string()).unwrap_or_default(),
            f.percent().unwrap_or_default(),
            f.amounts_text(),
            f.value.map(|v| v.to_string()).unwrap_or_default(),
            f.proceedings.len().to_string(),
        ];
        out.push_str(
            &cells
                .iter()
                .map(|c| csv_cell(c))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push_str("\r\n");
    }
    ctx.audit_now(
        me.org(),
        ctx.event("court.figures_exported", Outcome::Ok)
            .details(json!({ "from": q.from, "to": q.to, "court": q.court })),
    )
    .await?;
    let mut res = out.into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    res.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"court-figures.csv\""),
    );
    Ok(res)
}

#[derive(Template)]
#[template(path = "staff/court_figure.html")]
struct FigurePage<'a> {
    page: Page<'a>,
    label: String,
    count: i64,
    rows: Vec<ProceedingListRow>,
    hidden: usize,
    back: String,
}

/// GET /staff/court/figures/proceedings?figure=…: the proceedings behind one figure, those the
/// reader may open.
pub async fn figure_proceedings(ctx: Ctx, Query(q): Query<FigureQuery>) -> AppResult<Response> {
    let me = ctx.user()?;
    let tr = ctx.tr();
    let (figs, offences, errors) = compute(&ctx, &q).await?;
    if !errors.is_empty() {
        return Err(AppError::BadRequest);
    }
    let fig = figs
        .iter()
        .find(|f| f.key == q.figure)
        .ok_or(AppError::NotFound)?;
    let behind: BTreeSet<Uuid> = fig.proceedings.clone();
    let all = store::list(&ctx.state.db, me.org()).await?;
    let chosen: Vec<ProceedingRow> = all.into_iter().filter(|r| behind.contains(&r.id)).collect();
    let (shown, hidden) = visible(&ctx, chosen).await?;
    let rows = list_rows(&ctx, &shown).await?;
    render(&FigurePage {
        page: ctx.page("court-figure-title"),
        label: figure_label(&tr, fig, &offences),
        count: fig.count,
        rows,
        hidden,
        back: format!("/staff/court/figures?{}", q.query_string()),
    })
}
