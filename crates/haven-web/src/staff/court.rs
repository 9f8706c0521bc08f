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

use std::collections::{BTreeSet, HashMap};

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{Datelike, NaiveDate, TimeDelta, TimeZone};
use haven_domain::cases::{CaseId, FormFields, Parser, Taxonomy};
use haven_domain::court::{
    self as domain, AppealBy, AwardSource, ClaimDecision, ClaimId, CourtEventKind,
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

use super::cases::{fmt_date, parse_ctx, tz};
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

#[derive(Template)]
#[template(path = "staff/proceedings.html")]
struct ProceedingsPage<'a> {
    page: Page<'a>,
    rows: Vec<ProceedingListRow>,
    hidden: usize,
    can_edit: bool,
    can_figures: bool,
    offences: Vec<(String, String, String)>,
    offence_form: Option<FormView>,
    errors: FormErrors,
}

async fn proceedings_page(ctx: &Ctx, o: FormState) -> AppResult<Response> {
    let me = ctx.user()?;
    let tr = ctx.tr();
    let all = store::list(&ctx.state.db, me.org()).await?;
    let (shown, hidden) = visible(ctx, all).await?;
    let rows = list_rows(ctx, &shown).await?;
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
    let errors = o.errors.clone();
    render(&ProceedingsPage {
        page: ctx.page("proceedings-title"),
        rows,
        hidden,
        can_edit,
        can_figures: me.actor().can(Permission::ViewCourtFigures),
        offences,
        offence_form,
        errors,
    })
}

/// GET /staff/proceedings.
pub async fn list(ctx: Ctx) -> AppResult<Response> {
    proceedings_page(&ctx, FormState::default()).await
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
            let mut res = proceedings_page(&ctx, o).await?;
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

/// A defendant with the history of their charges.
pub struct DefendantView {
    /// Name (identifying: shown only here).
    pub name: String,
    /// Each charge: offence, stage, date, and whether it changed the offence.
    pub charges: Vec<(String, String, String, bool)>,
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
    /// Payments and enforcement steps, in words.
    pub history: Vec<String>,
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
    claims: Vec<(String, String, String)>,
    awards: Vec<AwardView>,
    funds: Vec<String>,
    related: Vec<(String, String)>,
    tasks: i64,
    can_edit: bool,
    civil_link: String,
    forms: Vec<FormView>,
    errors: FormErrors,
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
    let offences = store::offences(db, org).await?;
    let offence_text = |code: &str| {
        offences
            .iter()
            .find(|o| o.code == code)
            .map(|o| offence_label(&tr, o))
            .unwrap_or_else(|| code.to_owned())
    };
    let judge = store::judge(db, &ring, org, id).await?;
    let numbers = store::numbers(db, &ring, org, id).await?;
    let defendants = store::defendants(db, org, id).await?;
    let charges = store::charges(db, org, id).await?;
    let events = store::events(db, &ring, org, id).await?;
    let claims = store::claims(db, org, id).await?;
    let awards = store::awards(db, org, id).await?;
    let payments = store::payments(db, org, id).await?;
    let steps = store::steps(db, &ring, org, id).await?;
    let funds = store::fund_applications(db, org, id).await?;
    let parties = store::parties(db, org, id).await?;
    let all_facts = store::all_facts(db, org).await?;
    let stage = all_facts
        .iter()
        .find(|f| f.id == id.0)
        .map(|f| f.stage())
        .unwrap_or(Stage::Investigation);

    let mut person_names: HashMap<PersonId, String> = HashMap::new();
    for pid in defendants
        .iter()
        .map(|(_, p)| *p)
        .chain(parties.iter().map(|(p, _)| *p))
    {
        if let Some(p) = people::get(db, &ring, org, pid).await? {
            person_names.insert(pid, p.name);
        }
    }
    let name_of = |pid: &PersonId| person_names.get(pid).cloned().unwrap_or_default();
    let defendant_name: HashMap<DefendantId, String> =
        defendants.iter().map(|(d, p)| (*d, name_of(p))).collect();

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

    let defendant_views: Vec<DefendantView> = defendants
        .iter()
        .map(|(d, p)| {
            let mine: Vec<_> = charges.iter().filter(|c| c.defendant == *d).collect();
            DefendantView {
                name: name_of(p),
                charges: mine
                    .iter()
                    .enumerate()
                    .map(|(i, c)| {
                        let changed = i > 0 && mine[i - 1].offence != c.offence;
                        (
                            offence_text(&c.offence),
                            label(&tr, c.stage),
                            fmt_date(c.on, ctx.lang),
                            changed,
                        )
                    })
                    .collect(),
            }
        })
        .collect();

    let yes_no = |b: bool| tr.t(if b { "court-yes" } else { "court-no" });
    let event_views: Vec<EventView> = events
        .iter()
        .map(|e| {
            let mut parts: Vec<String> = Vec::new();
            if let Some(d) = e.defendant {
                parts.push(defendant_name.get(&d).cloned().unwrap_or_default());
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
            if let Some(d) = e.deadline {
                parts.push(tr.t1("court-deadline", "date", fmt_date(d, ctx.lang)));
            }
            EventView {
                on: fmt_date(e.on, ctx.lang),
                kind: label(&tr, e.kind),
                facts: parts.join(" · "),
                note: e.note.clone(),
            }
        })
        .collect();

    let claim_views: Vec<(String, String, String)> = claims
        .iter()
        .map(|c| {
            let decision = match c.decision {
                Some(d) => {
                    let mut t = label(&tr, d);
                    if let Some(on) = c.decided_on {
                        t.push_str(&format!(", {}", fmt_date(on, ctx.lang)));
                    }
                    t
                }
                None => tr.t("claim-pending"),
            };
            (
                fmt_date(c.filed_on, ctx.lang),
                money(c.amount, &c.currency),
                decision,
            )
        })
        .collect();

    let award_views: Vec<AwardView> = awards
        .iter()
        .map(|a| {
            let mut history: Vec<(NaiveDate, String)> = payments
                .iter()
                .filter(|p| p.award == a.id)
                .map(|p| {
                    (
                        p.paid_on,
                        tr.t2(
                            "payment-line",
                            "date",
                            fmt_date(p.paid_on, ctx.lang),
                            "amount",
                            money(p.amount, &p.currency),
                        ),
                    )
                })
                .collect();
            history.extend(steps.iter().filter(|s| s.award == a.id).map(|s| {
                let mut t = format!("{} · {}", fmt_date(s.on, ctx.lang), label(&tr, s.step));
                if !s.note.is_empty() {
                    t.push_str(&format!(" — {}", s.note));
                }
                (s.on, t)
            }));
            history.sort_by_key(|(d, _)| *d);
            AwardView {
                source: label(&tr, a.source),
                on: fmt_date(a.awarded_on, ctx.lang),
                amount: money(a.amount, &a.currency),
                paid: money(a.paid, &a.currency),
                full: a.paid >= a.amount,
                history: history.into_iter().map(|(_, t)| t).collect(),
            }
        })
        .collect();

    let fund_views = funds
        .iter()
        .map(|f| {
            format!(
                "{} · {} · {}",
                fmt_date(f.applied_on, ctx.lang),
                money(f.amount, &f.currency),
                label(&tr, f.decision)
            )
        })
        .collect();

    // Related proceedings: the one this follows, and those that follow it.
    let mut related = Vec::new();
    let all = store::list(db, org).await?;
    for r in &all {
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
    let can_edit = me.actor().can(Permission::EditProceedings);
    let base = format!("/staff/proceedings/{id}");
    let offence_opts: Vec<(String, String)> = offences
        .iter()
        .map(|o| (o.code.clone(), offence_label(&tr, o)))
        .collect();
    let defendant_opts: Vec<(String, String)> = defendants
        .iter()
        .map(|(d, p)| (d.to_string(), name_of(p)))
        .collect();
    let party_opts: Vec<(String, String)> = parties
        .iter()
        .map(|(p, _)| (p.to_string(), name_of(p)))
        .collect();
    let claim_opts: Vec<(String, String)> = claims
        .iter()
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
        .collect();
    let award_opts: Vec<(String, String)> = awards
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
        .collect();
    let civil_opts: Vec<(String, String)> = all
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
        .collect();
    let courts = institution_names(ctx, InstitutionKind::Court).await?;
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
            .select("defendant_offence", offence_opts.clone())
            .select("defendant_stage", opts::<Stage>(&tr))
            .default("investigation")
            .date("defendant_charged_on")
            .build(),
        );
        if !defendants.is_empty() {
            forms.push(
                b("charge", "charges", "court-charge-add", "court-charge-add")
                    .select("charge_defendant", defendant_opts.clone())
                    .select("charge_offence", offence_opts.clone())
                    .hint("court-charge-hint")
                    .select("charge_stage", opts::<Stage>(&tr))
                    .date("charge_on")
                    .build(),
            );
        }
        forms.push(
            b("event", "events", "court-event-add", "court-event-add")
                .select("event_kind", opts::<CourtEventKind>(&tr))
                .date("event_on")
                .select("event_defendant", defendant_opts.clone())
                .check("event_held")
                .select("event_postponement", opts::<PostponementReason>(&tr))
                .check("event_victim_testified")
                .checks("event_measures", opts::<ProtectiveMeasure>(&tr))
                .select("event_outcome", opts::<VerdictOutcome>(&tr))
                .select("event_sentence", opts::<SentenceType>(&tr))
                .field("event_months", "number", "")
                .check("event_suspended")
                .text("event_fine")
                .check("event_claim_invited")
                .select("event_appeal_by", opts::<AppealBy>(&tr))
                .date("event_deadline")
                .hint("court-deadline-hint")
                .textarea("event_note")
                .build(),
        );
        forms.push(
            b("claim", "claims", "court-claim-add", "court-claim-add")
                .select("claim_person", party_opts)
                .date("claim_filed_on")
                .text("claim_amount")
                .text("claim_currency")
                .default(DEFAULT_CURRENCY)
                .build(),
        );
        if !claims.is_empty() {
            forms.push(
                b(
                    "decision",
                    "claims/decision",
                    "court-claim-decide",
                    "court-claim-decide",
                )
                .select("decision_claim", claim_opts.clone())
                .select("decision", opts::<ClaimDecision>(&tr))
                .date("decision_on")
                .text("decision_awarded")
                .hint("court-decision-awarded-hint")
                .select("decision_civil", civil_opts)
                .build(),
            );
        }
        forms.push(
            b("award", "awards", "court-award-add", "court-award-add")
                .select("award_source", opts::<AwardSource>(&tr))
                .default(if kind == ProceedingKind::Civil {
                    "civil_suit"
                } else {
                    "criminal_trial"
                })
                .select("award_claim", claim_opts)
                .date("award_on")
                .text("award_amount")
                .text("award_currency")
                .default(DEFAULT_CURRENCY)
                .build(),
        );
        if !awards.is_empty() {
            forms.push(
                b(
                    "payment",
                    "payments",
                    "court-payment-add",
                    "court-payment-add",
                )
                .select("payment_award", award_opts.clone())
                .date("payment_on")
                .text("payment_amount")
                .build(),
            );
            forms.push(
                b("step", "enforcement", "court-step-add", "court-step-add")
                    .select("step_award", award_opts)
                    .select("step_kind", opts::<EnforcementStep>(&tr))
                    .date("step_on")
                    .text("step_note")
                    .build(),
            );
        }
        forms.push(
            b("fund", "fund", "court-fund-add", "court-fund-add")
                .date("fund_applied_on")
                .text("fund_amount")
                .text("fund_currency")
                .default(DEFAULT_CURRENCY)
                .select("fund_decision", opts::<FundDecision>(&tr))
                .default("pending")
                .build(),
        );
        forms.push(
            b("number", "numbers", "court-number-add", "court-number-add")
                .select("number_court", courts)
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
        parties: parties.iter().map(|(p, _)| name_of(p)).collect(),
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

/// POST /staff/proceedings/{id}/charges: a charge at a stage; a re-qualification is a new charge.
pub async fn add_charge(
    ctx: Ctx,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let g = allowed!(ctx, id);
    let me = ctx.user()?.clone();
    let form = pairs.as_slice();
    let db = &ctx.state.db;
    let offences = store::offences(db, me.org()).await?;
    let defendants = store::defendants(db, me.org(), g.row.pid()).await?;
    let earlier = store::charges(db, me.org(), g.row.pid()).await?;
    let mut p = Parser::new(form, parse_ctx(&ctx));
    let defendant = defendant_of(&mut p, form, "charge_defendant", &defendants, true);
    let offence = offence_of(&mut p, form, "charge_offence", &offences);
    let stage = p.code("charge_stage", Stage::from_code);
    required(&mut p.errors, "charge_stage", &stage);
    let on = date_in(&mut p, &g, "charge_on");
    if let (Some(d), Some(o), Some(s), Some(on)) = (defendant, &offence, stage, on) {
        let facts: Vec<_> = earlier.iter().map(|c| c.fact()).collect();
        domain::check_charge(
            &facts,
            &domain::ChargeFact {
                defendant: d.0,
                offence: o.clone(),
                stage: s,
                on,
            },
            &mut p.errors,
        );
    }
    let (Some(defendant), Some(offence), Some(stage), Some(on), true) =
        (defendant, offence, stage, on, p.errors.is_empty())
    else {
        return failed(&ctx, &g, "charge", form, &p.errors).await;
    };
    let previous = earlier
        .iter()
        .rev()
        .find(|c| c.defendant == defendant)
        .map(|c| c.offence.clone());
    let charge = store::Charge {
        id: ctx.state.ids().id(),
        defendant,
        offence,
        stage,
        on,
    };
    let now = ctx.state.now();
    let mut tx = db.begin().await?;
    store::add_charge(&mut tx, me.org(), g.row.pid(), &charge, me.user.id, now).await?;
    changed(
        &ctx,
        &mut tx,
        &g,
        "proceeding.charge_added",
        json!({
            "defendant": defendant.0,
            "offence": charge.offence,
            "stage": stage.code(),
            "requalified_from": previous.filter(|p| *p != charge.offence),
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(back(&g, "defendants"))
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
    let db = &ctx.state.db;
    let defendants = store::defendants(db, me.org(), g.row.pid()).await?;
    let charges = store::charges(db, me.org(), g.row.pid()).await?;
    let mut p = Parser::new(form, parse_ctx(&ctx));
    let kind = p.code("event_kind", CourtEventKind::from_code);
    required(&mut p.errors, "event_kind", &kind);
    // A hearing may be scheduled ahead; everything else has happened.
    let on = if kind == Some(CourtEventKind::Hearing) {
        let d = p.any_date("event_on");
        required(&mut p.errors, "event_on", &d);
        match d {
            Some(d) if d < g.row.opened_on => {
                p.errors.add("event_on", "date-before-proceeding");
                None
            }
            d => d,
        }
    } else {
        date_in(&mut p, &g, "event_on")
    };
    let per_defendant = matches!(
        kind,
        Some(CourtEventKind::Verdict | CourtEventKind::PleaAgreement)
    );
    let defendant = defendant_of(&mut p, form, "event_defendant", &defendants, per_defendant);
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
    let today = parse_ctx(&ctx).today();
    match kind {
        // A hearing that has taken place was held, or postponed for a reason.
        Some(CourtEventKind::Hearing)
            if !held && postponement.is_none() && on.is_some_and(|d| d <= today) =>
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
        let facts: Vec<_> = charges.iter().map(|c| c.fact()).collect();
        domain::check_after_indictment(
            &facts,
            defendant.map(|d| d.0),
            on,
            "event_on",
            &mut p.errors,
        );
    }
    if let (Some(d), Some(on)) = (deadline, on)
        && d < on
    {
        p.errors.add("event_deadline", "deadline-before-event");
    }
    let (Some(kind), Some(on), true) = (kind, on, p.errors.is_empty()) else {
        return failed(&ctx, &g, "event", form, &p.errors).await;
    };
    let is = |k: CourtEventKind| kind == k;
    // The appeal period runs 15 days from the verdict unless another date is given; a hearing
    // scheduled ahead is its own deadline.
    let deadline = deadline.or(match kind {
        CourtEventKind::Verdict => Some(on + TimeDelta::days(15)),
        CourtEventKind::Hearing if on > today => Some(on),
        _ => None,
    });
    let event = store::CourtEvent {
        id: ctx.state.ids().id(),
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
    };
    let ring = ctx.state.keys.get(me.org()).await?;
    let now = ctx.state.now();
    let mut tx = db.begin().await?;
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
    let mut tasks = 0;
    if let Some(due) = deadline.filter(|d| *d >= today) {
        let tr = ctx.tr();
        let title = tr.t2(
            "court-task-title",
            "event",
            label(&tr, kind),
            "date",
            fmt_date(due, ctx.lang),
        );
        let due_at = due
            .and_hms_opt(9, 0, 0)
            .and_then(|t| tz(&ctx).from_local_datetime(&t).earliest())
            .map(|t| t.with_timezone(&chrono::Utc))
            .unwrap_or(now);
        let assignee = g.row.lawyer_id.map(UserId).or(Some(me.user.id));
        for case in &g.cases {
            let task = ctx.state.ids().id();
            store::add_deadline_task(
                &mut tx,
                &ring,
                ctx.state.rng.as_ref(),
                me.org(),
                task,
                case.id,
                event.id,
                &title,
                due_at,
                assignee,
                me.user.id,
                now,
            )
            .await?;
            let mut ev = NewEvent::new("task_added", Some(me.user.id));
            ev.ref_id = Some(task.0);
            ev.body = title.clone();
            super::cases::event(&ctx, &mut tx, &ring, case.id, ev).await?;
            tasks += 1;
        }
    }
    changed(
        &ctx,
        &mut tx,
        &g,
        "proceeding.event_added",
        json!({ "event": event.id.0, "kind": kind.code(), "tasks": tasks }),
    )
    .await?;
    tx.commit().await?;
    Ok(back(&g, "events"))
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
    let parties = store::parties(&ctx.state.db, me.org(), g.row.pid()).await?;
    let mut p = Parser::new(form, parse_ctx(&ctx));
    let person = match form.one("claim_person") {
        "" => None,
        v => {
            let found = parties
                .iter()
                .find(|(pid, _)| pid.to_string() == v)
                .map(|(pid, _)| *pid);
            if found.is_none() {
                p.errors.add("claim_person", "code-unknown");
            }
            found
        }
    };
    let filed_on = date_in(&mut p, &g, "claim_filed_on");
    let amount = positive_money(&mut p, "claim_amount");
    let currency = currency(&mut p, "claim_currency");
    let (Some(filed_on), Some(amount), true) = (filed_on, amount, p.errors.is_empty()) else {
        return failed(&ctx, &g, "claim", form, &p.errors).await;
    };
    let claim = store::Claim {
        id: ctx.state.ids().id(),
        person,
        filed_on,
        amount,
        currency,
        decision: None,
        decided_on: None,
        civil: None,
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
    let claims = store::claims(db, me.org(), g.row.pid()).await?;
    let all = store::list(db, me.org()).await?;
    let mut p = Parser::new(form, parse_ctx(&ctx));
    let claim = match form.one("decision_claim") {
        "" => {
            p.errors.add("decision_claim", "required");
            None
        }
        v => {
            let c = claims.iter().find(|c| c.id.to_string() == v).cloned();
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
            let found = all
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
    let claims = store::claims(&ctx.state.db, me.org(), g.row.pid()).await?;
    let mut p = Parser::new(form, parse_ctx(&ctx));
    let source = p.code("award_source", AwardSource::from_code);
    required(&mut p.errors, "award_source", &source);
    let claim = match form.one("award_claim") {
        "" => None,
        v => {
            let c = claims.iter().find(|c| c.id.to_string() == v).map(|c| c.id);
            if c.is_none() {
                p.errors.add("award_claim", "code-unknown");
            }
            c
        }
    };
    let on = date_in(&mut p, &g, "award_on");
    let amount = positive_money(&mut p, "award_amount");
    let currency = currency(&mut p, "award_currency");
    let (Some(source), Some(on), Some(amount), true) = (source, on, amount, p.errors.is_empty())
    else {
        return failed(&ctx, &g, "award", form, &p.errors).await;
    };
    let award = store::Award {
        id: ctx.state.ids().id(),
        claim: claim.map(|c: ClaimId| c),
        source,
        awarded_on: on,
        amount,
        currency,
        paid: 0,
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
        json!({ "award": award.id.0, "source": source.code() }),
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

/// POST /staff/proceedings/{id}/payments: a payment on an award (never more than was awarded).
pub async fn add_payment(
    ctx: Ctx,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let g = allowed!(ctx, id);
    let me = ctx.user()?.clone();
    let form = pairs.as_slice();
    let awards = store::awards(&ctx.state.db, me.org(), g.row.pid()).await?;
    let mut p = Parser::new(form, parse_ctx(&ctx));
    let award = award_of(&mut p, form, "payment_award", &awards);
    let on = date_in(&mut p, &g, "payment_on");
    if let (Some(a), Some(on)) = (&award, on)
        && on < a.awarded_on
    {
        p.errors.add("payment_on", "paid-before-award");
    }
    let amount = positive_money(&mut p, "payment_amount");
    if let (Some(a), Some(amount)) = (&award, amount) {
        domain::check_payment(a.amount, a.paid, amount, &mut p.errors);
    }
    let (Some(award), Some(on), Some(amount), true) = (award, on, amount, p.errors.is_empty())
    else {
        return failed(&ctx, &g, "payment", form, &p.errors).await;
    };
    let mut tx = ctx.state.db.begin().await?;
    store::add_payment(
        &mut tx,
        me.org(),
        ctx.state.ids().uuid(),
        &store::Payment {
            award: award.id,
            paid_on: on,
            amount,
            currency: award.currency.clone(),
        },
        me.user.id,
        ctx.state.now(),
    )
    .await?;
    changed(
        &ctx,
        &mut tx,
        &g,
        "proceeding.payment_added",
        json!({ "award": award.id.0 }),
    )
    .await?;
    tx.commit().await?;
    Ok(back(&g, "compensation"))
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
    let awards = store::awards(&ctx.state.db, me.org(), g.row.pid()).await?;
    let mut p = Parser::new(form, parse_ctx(&ctx));
    let award = award_of(&mut p, form, "step_award", &awards);
    let step = p.code("step_kind", EnforcementStep::from_code);
    required(&mut p.errors, "step_kind", &step);
    let on = date_in(&mut p, &g, "step_on");
    let note = p.text_max("step_note", 500);
    let (Some(award), Some(step), Some(on), true) = (award, step, on, p.errors.is_empty()) else {
        return failed(&ctx, &g, "step", form, &p.errors).await;
    };
    let ring = ctx.state.keys.get(me.org()).await?;
    let mut tx = ctx.state.db.begin().await?;
    store::add_step(
        &mut tx,
        &ring,
        ctx.state.rng.as_ref(),
        me.org(),
        ctx.state.ids().uuid(),
        &store::Step {
            award: award.id,
            step,
            on,
            note,
        },
        me.user.id,
        ctx.state.now(),
    )
    .await?;
    changed(
        &ctx,
        &mut tx,
        &g,
        "proceeding.enforcement_added",
        json!({ "award": award.id.0, "step": step.code() }),
    )
    .await?;
    tx.commit().await?;
    Ok(back(&g, "compensation"))
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
    let mut p = Parser::new(form, parse_ctx(&ctx));
    let on = date_in(&mut p, &g, "fund_applied_on");
    let amount = positive_money(&mut p, "fund_amount");
    let currency = currency(&mut p, "fund_currency");
    let decision = p
        .code("fund_decision", FundDecision::from_code)
        .unwrap_or(FundDecision::Pending);
    let (Some(on), Some(amount), true) = (on, amount, p.errors.is_empty()) else {
        return failed(&ctx, &g, "fund", form, &p.errors).await;
    };
    let mut tx = ctx.state.db.begin().await?;
    store::add_fund_application(
        &mut tx,
        me.org(),
        g.row.pid(),
        ctx.state.ids().uuid(),
        &store::FundApplication {
            applied_on: on,
            amount,
            currency,
            decision,
            decided_on: None,
        },
        me.user.id,
        ctx.state.now(),
    )
    .await?;
    changed(
        &ctx,
        &mut tx,
        &g,
        "proceeding.fund_application_added",
        json!({ "decision": decision.code() }),
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
