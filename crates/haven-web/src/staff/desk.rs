//! The hotline desk: the intake screen (keyboard first, drafts saved on the server, phone lookup),
//! the contact page (versions, escalation checklist, caller flags, follow-up tasks, links to
//! cases), the inbox per line with handover notes, search and export.
//!
//! Identifying values never travel in URLs: lookups and searches by phone or e-mail are POSTed.
//! Every write and every showing of a contact's identifying data is audited; confidential
//! contacts are filtered by [`haven_domain::policy::contact_visible`] everywhere.

use std::collections::HashMap;

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, TimeDelta, Utc};
use haven_domain::cases::{CaseKind, FormFields, Parser};
use haven_domain::desk::{
    self as domain, CallerType, Channel, ContactId, ContactInput, ContactUrgency, Direction,
    DraftId, FlagKind, HeardVia,
};
use haven_domain::policy::{Permission, contact_visible};
use haven_domain::validate::ValidationErrors;
use haven_domain::{OrgId, UserId};
use haven_store::audit::Outcome;
use haven_store::contacts::{self, Contact, ContactFacts, Filter, IndexKind};
use haven_store::{cases, users};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::cases::{Opt, opts, parse_ctx};
use super::see_other;
use crate::error::{AppError, AppResult};
use crate::i18n::Tr;
use crate::ui::{Ctx, FormErrors, Page, render};

// Shared helpers.

/// The desk's rules from the settings, for the domain parser.
fn with_rules<R>(ctx: &Ctx, f: impl FnOnce(&domain::DeskRules<'_>) -> R) -> R {
    let desk = &ctx.state.settings.desk;
    let tree = desk.category_tree();
    let region = ctx.state.settings.org.phone_region.clone();
    let phone = move |raw: &str| haven_crypto::normalize::phone(raw, &region).ok();
    let rules = domain::DeskRules {
        lines: &desk.lines,
        categories: &tree,
        note_limit: desk.note_limit_kib as usize * 1024,
        phone: &phone,
    };
    f(&rules)
}

/// A phone number as the index keeps it (E.164), when it can be read.
pub fn phone_e164(ctx: &Ctx, raw: &str) -> Option<String> {
    haven_crypto::normalize::phone(raw, &ctx.state.settings.org.phone_region).ok()
}

/// The label of a category in the reader's language (its code when it has no translation).
pub fn category_label(tr: &Tr<'_>, code: &str) -> String {
    let id = domain::category_label_id(code);
    let l = tr.t(&id);
    if l == id || l.is_empty() {
        code.to_owned()
    } else {
        l
    }
}

/// The label of a line.
pub fn line_label(tr: &Tr<'_>, code: &str) -> String {
    let id = format!("line-{code}");
    let l = tr.t(&id);
    if l == id || l.is_empty() {
        code.to_owned()
    } else {
        l
    }
}

fn line_opts(ctx: &Ctx) -> Vec<Opt> {
    let tr = ctx.tr();
    ctx.state
        .settings
        .desk
        .lines
        .iter()
        .map(|l| Opt {
            code: l.clone(),
            label: line_label(&tr, l),
        })
        .collect()
}

/// Categories for the datalist: code and "Group: label".
fn category_opts(ctx: &Ctx) -> Vec<Opt> {
    let tr = ctx.tr();
    let mut out = Vec::new();
    for g in ctx.state.settings.desk.category_tree().iter() {
        let group = category_label(&tr, &g.code);
        for c in &g.categories {
            out.push(Opt {
                code: c.clone(),
                label: format!("{group}: {}", category_label(&tr, c)),
            });
        }
    }
    out
}

/// Turns what was typed into category fields into codes: a code as is, a label (or the end of
/// "Group: label") of the reader's language into its code; anything else is kept for the parser
/// to refuse.
fn resolve_categories(ctx: &Ctx, pairs: &[(String, String)]) -> Vec<(String, String)> {
    let tree = ctx.state.settings.desk.category_tree();
    let tr = ctx.tr();
    // The labels are only worked out for a value that is not a code: a form sent by the intake
    // screen holds codes, and translating every label on every save would cost more than the rest
    // of the check.
    let mut labels: Option<Vec<Opt>> = None;
    pairs
        .iter()
        .map(|(k, v)| {
            let code = v.trim();
            if k != "category" || code.is_empty() {
                return (k.clone(), v.clone());
            }
            if tree.iter().any(|g| g.categories.iter().any(|c| c == code)) {
                return (k.clone(), code.to_owned());
            }
            let t = code.to_lowercase();
            let found = labels
                .get_or_insert_with(|| category_opts(ctx))
                .iter()
                .find(|o| {
                    o.label.to_lowercase() == t || category_label(&tr, &o.code).to_lowercase() == t
                });
            (
                k.clone(),
                found.map(|o| o.code.clone()).unwrap_or_else(|| v.clone()),
            )
        })
        .collect()
}

fn fmt_local(ctx: &Ctx, t: DateTime<Utc>) -> String {
    t.with_timezone(&super::cases::tz(ctx))
        .format("%Y-%m-%dT%H:%M")
        .to_string()
}

/// Finds a contact of the person's organisation that the policy lets them see; another
/// organisation's, a confidential one of others, or a malformed id is not found.
async fn visible(ctx: &Ctx, id: &str) -> AppResult<ContactFacts> {
    let me = ctx.user()?;
    let id: ContactId = id.parse().map_err(|_| AppError::NotFound)?;
    let f = contacts::facts(&ctx.state.db, me.org(), id)
        .await?
        .ok_or(AppError::NotFound)?;
    if !contact_visible(&me.actor(), f.org_id, f.confidential, &f.counsellors) {
        return Err(AppError::NotFound);
    }
    Ok(f)
}

/// The numbers of the cases a contact is linked to.
async fn case_numbers(ctx: &Ctx, org: OrgId, id: ContactId) -> AppResult<Vec<(String, String)>> {
    let mut out = Vec::new();
    for c in cases::cases_of_contact(&ctx.state.db, org, id.0).await? {
        if let Some(s) = cases::summary(&ctx.state.db, org, c).await? {
            out.push((s.id.to_string(), s.number));
        }
    }
    Ok(out)
}

// The lookup panel.

/// An earlier contact from the same number, as the lookup shows it.
pub struct LookupRow {
    id: String,
    when: String,
    line: String,
    categories: String,
    cases: String,
}

/// A person's record the caller may be (same phone number), as the lookup shows it.
pub struct PersonHit {
    id: String,
    name: String,
    born: String,
}

/// What the lookup found.
#[derive(Default)]
pub struct Lookup {
    done: bool,
    rows: Vec<LookupRow>,
    flags: Vec<String>,
    /// People with this number whose records the counsellor may open.
    people: Vec<PersonHit>,
    /// The person the form links the caller to (`person_id`), kept across lookups.
    selected_person: String,
}

/// The people with this phone number (E.164) whose records the reader may open; merged-away
/// duplicates are left out. Staff who do not work with cases see none.
async fn people_with_phone(ctx: &Ctx, e164: &str) -> AppResult<Vec<PersonHit>> {
    let me = ctx.user()?;
    if !me.actor().can(Permission::ViewCases) {
        return Ok(Vec::new());
    }
    let ring = ctx.state.keys.get(me.org()).await?;
    let region = &ctx.state.settings.org.phone_region;
    let mut out = Vec::new();
    for p in
        haven_store::people::find_by_phone(&ctx.state.db, &ring, me.org(), region, e164).await?
    {
        if p.merged_into.is_none() && super::cases::person_gate(ctx, p.id).await?.allowed() {
            out.push(person_hit(ctx, p));
        }
    }
    Ok(out)
}

/// A person's record as the lookup and the contact page name it: name and date (or year) of
/// birth, in the reader's locale.
fn person_hit(ctx: &Ctx, p: haven_store::people::Person) -> PersonHit {
    PersonHit {
        id: p.id.to_string(),
        born: p
            .birth_date
            .map(|d| super::cases::fmt_date(d, ctx.lang))
            .or(p.birth_year.map(|y| y.to_string()))
            .unwrap_or_default(),
        name: p.name,
    }
}

/// The person the form links the caller to: empty for none; anything else must be a person the
/// reader may open, or the form says so (a guessed id reveals nothing: the message is the same
/// for a person that does not exist).
pub(crate) async fn caller_person(ctx: &Ctx, raw: &str) -> AppResult<Result<Option<Uuid>, ()>> {
    Ok(openable_person(ctx, raw).await?.map(|p| p.map(|p| p.id.0)))
}

/// [`caller_person`]'s check, giving the record itself.
async fn openable_person(
    ctx: &Ctx,
    raw: &str,
) -> AppResult<Result<Option<haven_store::people::Person>, ()>> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(Ok(None));
    }
    let me = ctx.user()?;
    let Ok(id) = raw.parse::<haven_domain::people::PersonId>() else {
        return Ok(Err(()));
    };
    if !me.actor().can(Permission::ViewCases) {
        return Ok(Err(()));
    }
    let ring = ctx.state.keys.get(me.org()).await?;
    match haven_store::people::get(&ctx.state.db, &ring, me.org(), id).await? {
        Some(p)
            if p.merged_into.is_none() && super::cases::person_gate(ctx, p.id).await?.allowed() =>
        {
            Ok(Ok(Some(p)))
        }
        _ => Ok(Err(())),
    }
}

async fn lookup(ctx: &Ctx, phone: &str, selected_person: &str) -> AppResult<Lookup> {
    let me = ctx.user()?;
    let Some(e164) = phone_e164(ctx, phone) else {
        return Ok(Lookup {
            done: true,
            selected_person: selected_person.to_owned(),
            ..Lookup::default()
        });
    };
    let ring = ctx.state.keys.get(me.org()).await?;
    let found = contacts::lookup(&ctx.state.db, &ring, me.org(), IndexKind::Phone, &e164, 20)
        .await?
        .into_iter()
        .filter(|f| contact_visible(&me.actor(), f.org_id, f.confidential, &f.counsellors))
        .collect::<Vec<_>>();
    let tr = ctx.tr();
    let now = ctx.state.now();
    let ids: Vec<ContactId> = found.iter().map(|f| f.id).collect();
    let flags = contacts::flags_of(&ctx.state.db, me.org(), &ids, now)
        .await?
        .into_iter()
        .map(|f| {
            tr.t2(
                "desk-flag-until",
                "flag",
                tr.t(&f.kind.label_id()),
                "until",
                ctx.time(f.until),
            )
        })
        .collect();
    let mut rows = Vec::new();
    for f in &found {
        let numbers = case_numbers(ctx, me.org(), f.id).await?;
        rows.push(LookupRow {
            id: f.id.to_string(),
            when: ctx.time(f.started_at),
            line: line_label(&tr, &f.line),
            categories: f
                .categories
                .iter()
                .map(|c| category_label(&tr, c))
                .collect::<Vec<_>>()
                .join(", "),
            cases: numbers
                .into_iter()
                .map(|(_, n)| n)
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    let people = people_with_phone(ctx, &e164).await?;
    ctx.audit_now(
        me.org(),
        ctx.event("contact.lookup", Outcome::Ok)
            .details(json!({ "kind": "phone", "found": rows.len(), "people": people.len() })),
    )
    .await?;
    Ok(Lookup {
        done: true,
        rows,
        flags,
        people,
        selected_person: selected_person.to_owned(),
    })
}

#[derive(Template)]
#[template(path = "staff/desk_lookup.html")]
struct LookupFragment<'a> {
    tr: Tr<'a>,
    lookup: Lookup,
}

/// POST /staff/desk/lookup: earlier contacts from a phone number (`phone`), as an HTML fragment
/// for the intake screen's script.
pub async fn lookup_fragment(
    ctx: Ctx,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let form = pairs.as_slice();
    let l = lookup(&ctx, form.one("phone"), form.one("person_id")).await?;
    render(&LookupFragment {
        tr: ctx.tr(),
        lookup: l,
    })
}

// The intake screen.

#[derive(Template)]
#[template(path = "staff/desk_new.html")]
struct IntakePage<'a> {
    page: Page<'a>,
    tr: Tr<'a>,
    action: String,
    editing: bool,
    draft_id: String,
    autosave_ms: u32,
    lines: Vec<Opt>,
    channels: Vec<Opt>,
    directions: Vec<Opt>,
    caller_types: Vec<Opt>,
    urgencies: Vec<Opt>,
    heard: Vec<Opt>,
    categories: Vec<Opt>,
    v: Values,
    lookup: Lookup,
    errors: FormErrors,
    drafts: Vec<(String, String)>,
    saved_draft: bool,
}

/// The form's values as typed.
#[derive(Default)]
pub struct Values {
    map: HashMap<String, String>,
    cats: Vec<String>,
}

impl Values {
    fn from_pairs(pairs: &[(String, String)]) -> Self {
        let mut map = HashMap::new();
        let mut cats = Vec::new();
        for (k, v) in pairs {
            if k == "category" {
                if !v.trim().is_empty() {
                    cats.push(v.clone());
                }
            } else {
                map.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        Self { map, cats }
    }

    /// A field's value.
    pub fn get(&self, k: &str) -> &str {
        self.map.get(k).map(String::as_str).unwrap_or("")
    }

    /// Whether a check box is on.
    pub fn on(&self, k: &str) -> bool {
        matches!(self.get(k), "on" | "true" | "1" | "yes")
    }

    /// The categories typed, in three fields (more when more were typed).
    pub fn cats3(&self) -> Vec<String> {
        let mut v = self.cats.clone();
        while v.len() < 3 {
            v.push(String::new());
        }
        v
    }

    fn of_contact(ctx: &Ctx, c: &Contact) -> Self {
        let i = c.input();
        let mut pairs: Vec<(String, String)> = vec![
            ("line".into(), i.line.clone()),
            ("channel".into(), i.channel.code().into()),
            ("direction".into(), i.direction.code().into()),
            ("started_at".into(), fmt_local(ctx, i.started_at)),
            (
                "duration".into(),
                domain::format_duration(i.duration_seconds),
            ),
            ("caller_type".into(), i.caller_type.code().into()),
            ("phone".into(), i.phone.clone()),
            ("email".into(), i.email.clone()),
            ("handle".into(), i.handle.clone()),
            ("language".into(), i.language.clone()),
            ("heard_via".into(), i.heard_via.code().into()),
            (
                "countries".into(),
                i.countries
                    .iter()
                    .map(|c| c.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            ("summary".into(), i.summary.clone()),
            ("notes".into(), i.notes.clone()),
            ("urgency".into(), i.urgency.code().into()),
            ("action".into(), i.action.clone()),
            ("outcome".into(), i.outcome.clone()),
            ("referral".into(), i.referral.clone()),
        ];
        for (k, on) in [
            ("anonymous", i.anonymous),
            ("safe_to_call_back", i.safe_to_call_back),
            ("confidential", i.confidential),
            ("needs_follow_up", i.needs_follow_up),
        ] {
            if on {
                pairs.push((k.into(), "on".into()));
            }
        }
        for c in &i.categories {
            pairs.push(("category".into(), c.clone()));
        }
        Self::from_pairs(&pairs)
    }
}

#[allow(clippy::too_many_arguments)]
async fn intake_page(
    ctx: &Ctx,
    action: String,
    editing: bool,
    draft_id: String,
    v: Values,
    lookup: Lookup,
    errors: FormErrors,
    saved_draft: bool,
) -> AppResult<Response> {
    let tr = ctx.tr();
    let me = ctx.user()?;
    let drafts = if editing {
        Vec::new()
    } else {
        contacts::drafts_of(&ctx.state.db, me.org(), me.user.id)
            .await?
            .into_iter()
            .filter(|(d, _)| d.to_string() != draft_id)
            .map(|(d, t)| (d.to_string(), ctx.time(t)))
            .collect()
    };
    let failed = errors.any();
    let mut res = render(&IntakePage {
        tr: ctx.tr(),
        page: ctx.page(if editing {
            "desk-edit-title"
        } else {
            "desk-new-title"
        }),
        action,
        editing,
        draft_id,
        autosave_ms: ctx.state.settings.desk.autosave_seconds.max(1) * 1000,
        lines: line_opts(ctx),
        channels: opts::<Channel>(&tr),
        directions: opts::<Direction>(&tr),
        caller_types: opts::<CallerType>(&tr),
        urgencies: opts::<ContactUrgency>(&tr),
        heard: opts::<HeardVia>(&tr),
        categories: category_opts(ctx),
        v,
        lookup,
        errors,
        drafts,
        saved_draft,
    })?;
    if failed {
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(res)
}

/// The intake form's query.
#[derive(Debug, Default, Deserialize)]
pub struct NewQuery {
    #[serde(default)]
    line: String,
    #[serde(default)]
    draft: String,
}

/// GET /staff/desk/new: the intake screen, the start time filled in; `?draft=` reopens a draft.
pub async fn new_form(ctx: Ctx, Query(q): Query<NewQuery>) -> AppResult<Response> {
    let me = ctx.user()?.clone();
    if let Ok(d) = q.draft.parse::<DraftId>() {
        let ring = ctx.state.keys.get(me.org()).await?;
        if let Some(fields) = contacts::draft(&ctx.state.db, &ring, me.org(), d, me.user.id).await?
        {
            ctx.audit_now(
                me.org(),
                ctx.event("contact.draft_opened", Outcome::Ok)
                    .target("contact_draft", d.0),
            )
            .await?;
            return intake_page(
                &ctx,
                "/staff/desk/new".into(),
                false,
                d.to_string(),
                Values::from_pairs(&fields),
                Lookup::default(),
                FormErrors::none(),
                false,
            )
            .await;
        }
    }
    let line = if ctx.state.settings.desk.lines.contains(&q.line) {
        q.line
    } else {
        ctx.state
            .settings
            .desk
            .lines
            .first()
            .cloned()
            .unwrap_or_default()
    };
    let now = ctx.state.now();
    let pairs = vec![
        ("line".to_owned(), line),
        ("channel".to_owned(), "phone".to_owned()),
        ("direction".to_owned(), "inbound".to_owned()),
        ("started_at".to_owned(), fmt_local(&ctx, now)),
        ("urgency".to_owned(), "routine".to_owned()),
        ("heard_via".to_owned(), "unknown".to_owned()),
    ];
    let draft: DraftId = ctx.state.ids().id();
    intake_page(
        &ctx,
        "/staff/desk/new".into(),
        false,
        draft.to_string(),
        Values::from_pairs(&pairs),
        Lookup::default(),
        FormErrors::none(),
        false,
    )
    .await
}

async fn save_draft_of(ctx: &Ctx, pairs: &[(String, String)]) -> AppResult<Option<DraftId>> {
    let me = ctx.user()?;
    let Ok(d) = pairs.one("draft_id").parse::<DraftId>() else {
        return Ok(None);
    };
    let fields: Vec<(String, String)> = pairs
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "csrf" | "do" | "draft_id"))
        .cloned()
        .collect();
    let ring = ctx.state.keys.get(me.org()).await?;
    let mut tx = ctx.state.db.begin().await?;
    let saved = contacts::save_draft(
        &mut tx,
        &ring,
        ctx.state.rng.as_ref(),
        me.org(),
        d,
        me.user.id,
        &fields,
        ctx.state.now(),
    )
    .await?;
    if !saved {
        return Ok(None);
    }
    ctx.audit(
        &mut tx,
        me.org(),
        ctx.event("contact.draft_saved", Outcome::Ok)
            .target("contact_draft", d.0),
    )
    .await?;
    tx.commit().await?;
    Ok(Some(d))
}

/// POST /staff/desk/draft: saves the intake form as a draft (the script calls it every few
/// seconds and after each field); 204.
pub async fn autosave(ctx: Ctx, Form(pairs): Form<Vec<(String, String)>>) -> AppResult<Response> {
    match save_draft_of(&ctx, &pairs).await? {
        Some(_) => Ok(StatusCode::NO_CONTENT.into_response()),
        None => Err(AppError::BadRequest),
    }
}

/// Checks a contact form; errors come back translated with the form's values.
fn check(ctx: &Ctx, pairs: &[(String, String)]) -> Result<ContactInput, ValidationErrors> {
    let resolved = resolve_categories(ctx, pairs);
    with_rules(ctx, |rules| {
        domain::parse_contact(resolved.as_slice(), parse_ctx(ctx), rules)
    })
}

/// Records a contact with its audit entry, and removes the draft it was typed in, all or nothing;
/// returns its id. Sealing and indexing are done before the database is touched, and the write
/// is committed together with the contacts recorded at the same moment ([`contacts::record`]).
pub async fn record_contact(
    ctx: &Ctx,
    input: ContactInput,
    draft: Option<DraftId>,
    person_id: Option<Uuid>,
) -> AppResult<ContactId> {
    let me = ctx.user()?;
    let ring = ctx.state.keys.get(me.org()).await?;
    let id: ContactId = ctx.state.ids().id();
    let escalate = domain::needs_escalation(input.urgency, &input.categories);
    let details = json!({ "line": input.line, "channel": input.channel.code(), "urgency": input.urgency.code(), "escalation": escalate, "person_linked": person_id.is_some() });
    let contact = contacts::NewContact {
        id,
        input,
        person_id,
        counsellors: vec![me.user.id],
        by: me.user.id,
        now: ctx.state.now(),
    };
    let prepared = contacts::prepare(&ring, ctx.state.rng.as_ref(), me.org(), &contact)?;
    let event = ctx
        .event("contact.created", Outcome::Ok)
        .target("contact", id.0)
        .details(details);
    contacts::record(
        &ctx.state.db,
        &prepared,
        draft,
        ctx.state.ids().uuid(),
        &event,
    )
    .await?;
    Ok(id)
}

/// POST /staff/desk/new: the intake form's buttons (`do`): `save` records the contact, `lookup`
/// shows earlier contacts from the number, `draft` saves a draft — the last two show the form
/// again with everything typed, so the screen works without JavaScript.
pub async fn create(ctx: Ctx, Form(pairs): Form<Vec<(String, String)>>) -> AppResult<Response> {
    let form = pairs.as_slice();
    let draft_id = form.one("draft_id").to_owned();
    match form.one("do") {
        "lookup" => {
            let l = lookup(&ctx, form.one("phone"), form.one("person_id")).await?;
            save_draft_of(&ctx, form).await?;
            return intake_page(
                &ctx,
                "/staff/desk/new".into(),
                false,
                draft_id,
                Values::from_pairs(form),
                l,
                FormErrors::none(),
                false,
            )
            .await;
        }
        "draft" => {
            let saved = save_draft_of(&ctx, form).await?.is_some();
            return intake_page(
                &ctx,
                "/staff/desk/new".into(),
                false,
                draft_id,
                Values::from_pairs(form),
                Lookup::default(),
                FormErrors::none(),
                saved,
            )
            .await;
        }
        _ => {}
    }
    let person = caller_person(&ctx, form.one("person_id")).await?;
    let checked = match (check(&ctx, form), person) {
        (Ok(input), Ok(person)) => Ok((input, person)),
        (Ok(_), Err(())) => Err(ValidationErrors::new()),
        (Err(e), _) => Err(e),
    };
    match checked {
        Ok((input, person)) => {
            let id = record_contact(&ctx, input, draft_id.parse().ok(), person).await?;
            Ok(see_other(&format!("/staff/desk/contacts/{id}")))
        }
        Err(mut errors) => {
            if person.is_err() {
                errors.add("person_id", "caller-person-unknown");
            }
            // The draft keeps what was typed even when the form must be fixed first.
            save_draft_of(&ctx, form).await?;
            let tr = ctx.tr();
            intake_page(
                &ctx,
                "/staff/desk/new".into(),
                false,
                draft_id,
                Values::from_pairs(form),
                Lookup::default(),
                FormErrors::from_validation(&tr, &errors),
                false,
            )
            .await
        }
    }
}

// The contact page.

/// A step of the escalation checklist as shown.
pub struct StepRow {
    code: String,
    label: String,
    done: bool,
    value: String,
    history: Vec<String>,
}

/// A version as shown.
pub struct VersionRow {
    version: i64,
    who: String,
    when: String,
    fields: String,
}

/// A task as shown.
pub struct TaskRow {
    id: String,
    title: String,
    due: String,
    who: String,
    done: bool,
    overdue: bool,
}

impl TaskRow {
    /// A contact's task as the contact page and the inbox show it.
    fn of(
        ctx: &Ctx,
        names: &HashMap<UserId, String>,
        t: contacts::ContactTask,
        now: DateTime<Utc>,
    ) -> Self {
        TaskRow {
            id: t.id.to_string(),
            due: t.due_at.map(|d| ctx.time(d)).unwrap_or_default(),
            who: t
                .assignee
                .and_then(|u| names.get(&u).cloned())
                .unwrap_or_default(),
            done: t.done_at.is_some(),
            overdue: t.done_at.is_none() && t.due_at.is_some_and(|d| d < now),
            title: t.title,
        }
    }
}

#[derive(Template)]
#[template(path = "staff/desk_contact.html")]
struct ContactPage<'a> {
    page: Page<'a>,
    id: String,
    version: i64,
    /// The person the caller is linked to, when the reader may open that record.
    person: Option<PersonHit>,
    /// Linked to a person whose record the reader may not open.
    person_hidden: bool,
    /// People with the contact's phone number the caller could be linked to.
    person_candidates: Vec<PersonHit>,
    voided: bool,
    void_reason: String,
    line: String,
    line_code: String,
    channel: String,
    direction: String,
    when: String,
    duration: String,
    caller_type: String,
    anonymous: bool,
    phone: String,
    email: String,
    handle: String,
    language: String,
    safe_to_call_back: bool,
    confidential: bool,
    heard_via: String,
    categories: Vec<String>,
    countries: String,
    summary: String,
    notes: String,
    urgency: String,
    urgency_code: String,
    action: String,
    outcome: String,
    referral: String,
    follow_up: bool,
    counsellors: String,
    escalation: bool,
    steps: Vec<StepRow>,
    versions: Vec<VersionRow>,
    flags: Vec<String>,
    flag_kinds: Vec<Opt>,
    tasks: Vec<TaskRow>,
    linked: Vec<(String, String)>,
    kinds: Vec<Opt>,
    default_kind: String,
    can_edit: bool,
    can_cases: bool,
    can_report_job_offer: bool,
    agencies: Vec<(String, String)>,
    errors: FormErrors,
    portal: bool,
    portal_thread: Vec<(String, String)>,
    portal_files: Vec<(String, String)>,
}

fn step_label(tr: &Tr<'_>, code: &str) -> String {
    let id = format!("desk-step-{code}");
    let l = tr.t(&id);
    if l == id || l.is_empty() {
        code.to_owned()
    } else {
        l
    }
}

/// Reads a contact with its sealed values opened and records the view in the audit log
/// (`via`: how, when not through the pages).
pub(crate) async fn open_contact(
    ctx: &Ctx,
    id: ContactId,
    via: Option<&str>,
) -> AppResult<contacts::Contact> {
    let me = ctx.user()?;
    let ring = ctx.state.keys.get(me.org()).await?;
    let c = contacts::get(&ctx.state.db, &ring, me.org(), id)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut event = ctx
        .event("contact.viewed", Outcome::Ok)
        .target("contact", id.0);
    if let Some(via) = via {
        event = event.details(json!({ "via": via }));
    }
    ctx.audit_now(me.org(), event).await?;
    Ok(c)
}

async fn contact_page(ctx: &Ctx, facts: &ContactFacts, errors: FormErrors) -> AppResult<Response> {
    let me = ctx.user()?;
    let ring = ctx.state.keys.get(me.org()).await?;
    let c = open_contact(ctx, facts.id, None).await?;
    let tr = ctx.tr();
    let names = super::cases::staff_names(ctx).await?;
    let name = |u: &UserId| names.get(u).cloned().unwrap_or_default();
    let f = &c.facts;
    let checks = contacts::checks_of(&ctx.state.db, &ring, me.org(), f.id).await?;
    let escalation = domain::needs_escalation(f.urgency, &f.categories) || !checks.is_empty();
    let steps = ctx
        .state
        .settings
        .desk
        .checklist(&f.line)
        .into_iter()
        .map(|code| {
            let ticks: Vec<_> = checks.iter().filter(|k| k.step == code).collect();
            let last = ticks.last();
            StepRow {
                label: step_label(&tr, &code),
                done: last.is_some_and(|k| k.done),
                value: last.map(|k| k.value.clone()).unwrap_or_default(),
                history: ticks
                    .iter()
                    .map(|k| {
                        format!(
                            "{} · {} · {}",
                            ctx.time(k.at),
                            name(&k.by),
                            if k.done {
                                tr.t("desk-step-done")
                            } else {
                                tr.t("desk-step-undone")
                            }
                        )
                    })
                    .collect(),
                code,
            }
        })
        .collect();
    let now = ctx.state.now();
    let versions = contacts::versions(&ctx.state.db, me.org(), f.id)
        .await?
        .into_iter()
        .map(|v| VersionRow {
            version: v.version,
            who: name(&v.by),
            when: ctx.time(v.at),
            fields: v.fields.join(", "),
        })
        .collect();
    let flags = contacts::flags_of(&ctx.state.db, me.org(), &[f.id], now)
        .await?
        .into_iter()
        .map(|fl| {
            tr.t2(
                "desk-flag-until",
                "flag",
                tr.t(&fl.kind.label_id()),
                "until",
                ctx.time(fl.until),
            )
        })
        .collect();
    let tasks = contacts::tasks_of(&ctx.state.db, &ring, me.org(), f.id)
        .await?
        .into_iter()
        .map(|t| TaskRow::of(ctx, &names, t, now))
        .collect();
    let default_kind = if f.categories.iter().any(|c| c.starts_with("missing_child.")) {
        "missing_child"
    } else if f.categories.iter().any(|c| c.starts_with("labour.")) {
        "labour_exploitation"
    } else {
        "trafficking"
    };
    let (person, person_hidden) = match f.person_id {
        None => (None, false),
        Some(pid) => match openable_person(ctx, &pid.to_string()).await? {
            Ok(Some(p)) => (Some(person_hit(ctx, p)), false),
            _ => (None, true),
        },
    };
    let person_candidates = match phone_e164(ctx, &c.phone) {
        Some(e164) if f.voided_at.is_none() => people_with_phone(ctx, &e164)
            .await?
            .into_iter()
            .filter(|p| person.as_ref().is_none_or(|l| l.id != p.id))
            .collect(),
        _ => Vec::new(),
    };
    render(&ContactPage {
        page: ctx.page("desk-contact-title"),
        id: f.id.to_string(),
        version: f.version,
        person,
        person_hidden,
        person_candidates,
        voided: f.voided_at.is_some(),
        void_reason: c.void_reason.clone(),
        line: line_label(&tr, &f.line),
        line_code: f.line.clone(),
        channel: tr.t(&f.channel.label_id()),
        direction: tr.t(&f.direction.label_id()),
        when: ctx.time(f.started_at),
        duration: domain::format_duration(f.duration_seconds),
        caller_type: tr.t(&f.caller_type.label_id()),
        anonymous: f.anonymous,
        phone: c.phone.clone(),
        email: c.email.clone(),
        handle: c.handle.clone(),
        language: f.language.clone(),
        safe_to_call_back: f.safe_to_call_back,
        confidential: f.confidential,
        heard_via: HeardVia::from_code(&f.heard_via)
            .map(|h| tr.t(&h.label_id()))
            .unwrap_or_default(),
        categories: f
            .categories
            .iter()
            .map(|c| category_label(&tr, c))
            .collect(),
        countries: f.countries.join(", "),
        summary: c.summary.clone(),
        notes: c.notes.clone(),
        urgency: tr.t(&f.urgency.label_id()),
        urgency_code: f.urgency.code().to_owned(),
        action: f.action.clone(),
        outcome: f.outcome.clone(),
        referral: f.referral.clone(),
        follow_up: f.needs_follow_up,
        counsellors: f
            .counsellors
            .iter()
            .map(name)
            .collect::<Vec<_>>()
            .join(", "),
        escalation,
        steps,
        versions,
        flags,
        flag_kinds: opts::<FlagKind>(&tr),
        tasks,
        linked: case_numbers(ctx, me.org(), f.id).await?,
        kinds: opts::<CaseKind>(&tr),
        default_kind: default_kind.to_owned(),
        can_edit: me.actor().can(Permission::EditContacts),
        can_cases: me.actor().can(Permission::EditCases),
        can_report_job_offer: me.actor().can(Permission::EditAgencies) && f.voided_at.is_none(),
        agencies: if me.actor().can(Permission::ViewAgencies) {
            super::agencies::mentioned_by(ctx, me.org(), f.id).await?
        } else {
            Vec::new()
        },
        errors,
        portal: haven_store::portal::has_receipt(&ctx.state.db, me.org(), f.id).await?,
        portal_thread: haven_store::portal::messages(&ctx.state.db, &ring, me.org(), f.id)
            .await?
            .into_iter()
            .map(|m| {
                let who = match m.author {
                    haven_store::portal::Author::Visitor => tr.t("portal-thread-visitor"),
                    haven_store::portal::Author::Counsellor => tr.t("portal-thread-counsellor"),
                };
                (format!("{who} · {}", ctx.time(m.at)), m.body)
            })
            .collect(),
        portal_files: haven_store::portal::files(&ctx.state.db, &ring, me.org(), f.id)
            .await?
            .into_iter()
            .map(|x| {
                (
                    format!("/staff/desk/contacts/{}/portal-files/{}", f.id, x.id),
                    format!(
                        "{} ({}, {} KiB)",
                        x.name,
                        x.media_type,
                        (x.size_bytes + 1023) / 1024
                    ),
                )
            })
            .collect(),
    })
}

/// POST /staff/desk/contacts/{id}/portal-answer (`text`): answers the visitor of a portal
/// submission; they read it with their receipt code.
pub async fn portal_answer(
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let f = visible(&ctx, &id).await?;
    let me = ctx.user()?;
    let text = form.as_slice().one("text").trim().to_owned();
    if text.is_empty() || text.chars().count() > 8000 {
        return Err(AppError::BadRequest);
    }
    if !haven_store::portal::has_receipt(&ctx.state.db, me.org(), f.id).await? {
        return Err(AppError::NotFound);
    }
    let ring = ctx.state.keys.get(me.org()).await?;
    let mut tx = ctx.state.db.begin().await?;
    haven_store::portal::add_message(
        &mut tx,
        &ring,
        ctx.state.rng.as_ref(),
        me.org(),
        ctx.state.ids().uuid(),
        f.id,
        haven_store::portal::Author::Counsellor,
        &text,
        Some(me.user.id),
        ctx.state.now(),
    )
    .await?;
    ctx.audit(
        &mut tx,
        me.org(),
        ctx.event("contact.portal_answered", Outcome::Ok)
            .target("contact", f.id.0),
    )
    .await?;
    tx.commit().await?;
    Ok(see_other(&format!("/staff/desk/contacts/{}", f.id)))
}

/// GET /staff/desk/contacts/{id}/portal-files/{fid}: a file the visitor sent, as a download
/// (never rendered inline), audited.
pub async fn portal_file(ctx: Ctx, Path((id, fid)): Path<(String, String)>) -> AppResult<Response> {
    let f = visible(&ctx, &id).await?;
    let me = ctx.user()?;
    let fid: Uuid = fid.parse().map_err(|_| AppError::NotFound)?;
    let ring = ctx.state.keys.get(me.org()).await?;
    let (media, content) =
        haven_store::portal::file_content(&ctx.state.db, &ring, me.org(), f.id, fid)
            .await?
            .ok_or(AppError::NotFound)?;
    crate::ui::record_now(
        &ctx.state,
        me.org(),
        ctx.event("contact.portal_file_read", Outcome::Ok)
            .target("contact", f.id.0),
    )
    .await?;
    let mut r = (StatusCode::OK, content).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&media)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"portal-file\""),
    );
    Ok(r)
}

/// GET /staff/desk/contacts/{id}: the contact, audited as a view.
pub async fn show(ctx: Ctx, Path(id): Path<String>) -> AppResult<Response> {
    let f = visible(&ctx, &id).await?;
    contact_page(&ctx, &f, FormErrors::none()).await
}

/// Links the contact's caller to a person (or unlinks, `None`): a new version, audited. The
/// person must already have been checked with [`caller_person`].
pub async fn link_person(ctx: &Ctx, f: &ContactFacts, person: Option<Uuid>) -> AppResult<bool> {
    let me = ctx.user()?;
    if f.person_id == person {
        return Ok(true);
    }
    let mut tx = ctx.state.db.begin().await?;
    let done = contacts::set_person(
        &mut tx,
        me.org(),
        f.id,
        f.version,
        person,
        me.user.id,
        ctx.state.now(),
    )
    .await?;
    if done {
        ctx.audit(
            &mut tx,
            me.org(),
            ctx.event(
                if person.is_some() {
                    "contact.person_linked"
                } else {
                    "contact.person_unlinked"
                },
                Outcome::Ok,
            )
            .target("contact", f.id.0),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(done)
}

/// POST /staff/desk/contacts/{id}/person: links the caller to a person found by the contact's
/// phone number (`person_id`), or unlinks them (empty). `version` guards against a change made
/// meanwhile by someone else.
pub async fn set_person(
    ctx: Ctx,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let f = visible(&ctx, &id).await?;
    let form = pairs.as_slice();
    let stale = form.one("version").parse::<i64>().ok() != Some(f.version);
    let person = caller_person(&ctx, form.one("person_id")).await?;
    let mut errors = ValidationErrors::new();
    if f.voided_at.is_some() {
        return Err(AppError::BadRequest);
    }
    match person {
        Err(()) => errors.add("person_id", "caller-person-unknown"),
        Ok(_) if stale => errors.add("person_id", "contact-changed"),
        Ok(p) => {
            if link_person(&ctx, &f, p).await? {
                return Ok(see_other(&format!(
                    "/staff/desk/contacts/{}#caller-record",
                    f.id
                )));
            }
            errors.add("person_id", "contact-changed");
        }
    }
    let tr = ctx.tr();
    let f = visible(&ctx, &id).await?;
    let mut res = contact_page(&ctx, &f, FormErrors::from_validation(&tr, &errors)).await?;
    *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(res)
}

/// GET /staff/desk/contacts/{id}/edit: the contact in the intake form.
pub async fn edit_form(ctx: Ctx, Path(id): Path<String>) -> AppResult<Response> {
    let f = visible(&ctx, &id).await?;
    let c = open_contact(&ctx, f.id, None).await?;
    intake_page(
        &ctx,
        format!("/staff/desk/contacts/{}", f.id),
        true,
        String::new(),
        Values::of_contact(&ctx, &c),
        Lookup::default(),
        FormErrors::none(),
        false,
    )
    .await
}

/// Changes a contact the person may see; returns the changed fields.
pub async fn change_contact(
    ctx: &Ctx,
    f: &ContactFacts,
    input: &ContactInput,
) -> AppResult<Vec<&'static str>> {
    let me = ctx.user()?;
    if f.voided_at.is_some() {
        return Err(AppError::BadRequest);
    }
    let ring = ctx.state.keys.get(me.org()).await?;
    let before = contacts::get(&ctx.state.db, &ring, me.org(), f.id)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut tx = ctx.state.db.begin().await?;
    let changed = contacts::update(
        &mut tx,
        &ring,
        ctx.state.rng.as_ref(),
        me.org(),
        &before,
        input,
        me.user.id,
        ctx.state.now(),
    )
    .await?;
    if !changed.is_empty() {
        ctx.audit(
            &mut tx,
            me.org(),
            ctx.event("contact.updated", Outcome::Ok)
                .target("contact", f.id.0)
                .details(json!({ "fields": changed })),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(changed)
}

/// POST /staff/desk/contacts/{id}: changes the contact; a new version names the fields.
pub async fn update(
    ctx: Ctx,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let f = visible(&ctx, &id).await?;
    let form = pairs.as_slice();
    match check(&ctx, form) {
        Ok(input) => {
            change_contact(&ctx, &f, &input).await?;
            Ok(see_other(&format!("/staff/desk/contacts/{}", f.id)))
        }
        Err(errors) => {
            let tr = ctx.tr();
            intake_page(
                &ctx,
                format!("/staff/desk/contacts/{}", f.id),
                true,
                String::new(),
                Values::from_pairs(form),
                Lookup::default(),
                FormErrors::from_validation(&tr, &errors),
                false,
            )
            .await
        }
    }
}

/// Voids a contact with a reason; `Err` names the field problem.
pub async fn void_contact(
    ctx: &Ctx,
    f: &ContactFacts,
    reason: &str,
) -> AppResult<Result<(), ValidationErrors>> {
    let me = ctx.user()?;
    let mut errors = ValidationErrors::new();
    if reason.trim().is_empty() {
        errors.add("reason", "required");
    } else if reason.chars().count() > 1000 {
        errors.add_with("reason", "too-long", vec![("max", "1000".into())]);
    }
    if f.voided_at.is_some() {
        errors.add("reason", "desk-already-voided");
    }
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    let ring = ctx.state.keys.get(me.org()).await?;
    let mut tx = ctx.state.db.begin().await?;
    contacts::void(
        &mut tx,
        &ring,
        ctx.state.rng.as_ref(),
        me.org(),
        f.id,
        f.version,
        reason.trim(),
        me.user.id,
        ctx.state.now(),
    )
    .await?;
    ctx.audit(
        &mut tx,
        me.org(),
        ctx.event("contact.voided", Outcome::Ok)
            .target("contact", f.id.0),
    )
    .await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// POST /staff/desk/contacts/{id}/void: voids the contact with a reason (never deleted).
pub async fn void(
    ctx: Ctx,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let f = visible(&ctx, &id).await?;
    match void_contact(&ctx, &f, pairs.as_slice().one("reason")).await? {
        Ok(()) => Ok(see_other(&format!("/staff/desk/contacts/{}", f.id))),
        Err(errors) => {
            let tr = ctx.tr();
            let mut res = contact_page(&ctx, &f, FormErrors::from_validation(&tr, &errors)).await?;
            *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(res)
        }
    }
}

/// POST /staff/desk/contacts/{id}/checks: ticks (or unticks) a step of the escalation checklist
/// (`step`, `done`, optional `value`), with the time; every tick is kept.
pub async fn tick(
    ctx: Ctx,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let f = visible(&ctx, &id).await?;
    let me = ctx.user()?;
    let form = pairs.as_slice();
    let step = form.one("step");
    let mut errors = ValidationErrors::new();
    if !ctx
        .state
        .settings
        .desk
        .checklist(&f.line)
        .iter()
        .any(|s| s == step)
    {
        errors.add("step", "code-unknown");
    }
    let value = form.one("value");
    if value.chars().count() > 200 {
        errors.add_with("value", "too-long", vec![("max", "200".into())]);
    }
    if !errors.is_empty() {
        let tr = ctx.tr();
        let mut res = contact_page(&ctx, &f, FormErrors::from_validation(&tr, &errors)).await?;
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(res);
    }
    let done = matches!(form.one("done"), "on" | "true" | "1" | "yes");
    let ring = ctx.state.keys.get(me.org()).await?;
    let now = ctx.state.now();
    let mut tx = ctx.state.db.begin().await?;
    contacts::add_check(
        &mut tx,
        &ring,
        ctx.state.rng.as_ref(),
        me.org(),
        ctx.state.ids().uuid(),
        f.id,
        &contacts::Check {
            step: step.to_owned(),
            done,
            value: value.to_owned(),
            by: me.user.id,
            at: now,
        },
    )
    .await?;
    ctx.audit(
        &mut tx,
        me.org(),
        ctx.event("contact.escalation_step", Outcome::Ok)
            .target("contact", f.id.0)
            .details(json!({ "step": step, "done": done })),
    )
    .await?;
    tx.commit().await?;
    Ok(see_other(&format!(
        "/staff/desk/contacts/{}#checklist",
        f.id
    )))
}

/// POST /staff/desk/contacts/{id}/flags: flags the caller (`kind`, `days`) until a time.
pub async fn flag(
    ctx: Ctx,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let f = visible(&ctx, &id).await?;
    let me = ctx.user()?;
    let form = pairs.as_slice();
    let mut p = Parser::new(form, parse_ctx(&ctx));
    let kind = p.code("kind", FlagKind::from_code);
    let days = p.number("days", 1, 366);
    if kind.is_none() && p.errors.for_field("kind").is_none() {
        p.errors.add("kind", "required");
    }
    let (Some(kind), true) = (kind, p.errors.is_empty()) else {
        let tr = ctx.tr();
        let mut res = contact_page(&ctx, &f, FormErrors::from_validation(&tr, &p.errors)).await?;
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(res);
    };
    let now = ctx.state.now();
    let until = domain::flag_until(now, days.unwrap_or(30));
    let mut tx = ctx.state.db.begin().await?;
    contacts::add_flag(
        &mut tx,
        me.org(),
        ctx.state.ids().uuid(),
        f.id,
        kind,
        until,
        me.user.id,
        now,
    )
    .await?;
    ctx.audit(
        &mut tx,
        me.org(),
        ctx.event("contact.caller_flagged", Outcome::Ok)
            .target("contact", f.id.0)
            .details(json!({ "kind": kind.code(), "until": until })),
    )
    .await?;
    tx.commit().await?;
    Ok(see_other(&format!("/staff/desk/contacts/{}", f.id)))
}

/// POST /staff/desk/contacts/{id}/assign: the person takes the contact (a web-form submission
/// nobody has taken yet leaves the inbox's "unassigned" count).
pub async fn assign(ctx: Ctx, Path(id): Path<String>) -> AppResult<Response> {
    let f = visible(&ctx, &id).await?;
    let me = ctx.user()?;
    let mut tx = ctx.state.db.begin().await?;
    if contacts::assign(&mut tx, me.org(), f.id, me.user.id, ctx.state.now()).await? {
        ctx.audit(
            &mut tx,
            me.org(),
            ctx.event("contact.assigned", Outcome::Ok)
                .target("contact", f.id.0),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(see_other(&format!("/staff/desk/contacts/{}", f.id)))
}

/// POST /staff/desk/contacts/{id}/tasks: a follow-up task (`title`, `due_at`, `assignee`).
pub async fn add_task(
    ctx: Ctx,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let f = visible(&ctx, &id).await?;
    let me = ctx.user()?;
    let form = pairs.as_slice();
    let mut p = Parser::new(form, parse_ctx(&ctx));
    let title = p.required_text("title", 500);
    let due = p.any_time("due_at");
    let assignee = match form.one("assignee") {
        "" => Some(me.user.id),
        v => match v.parse::<Uuid>() {
            Ok(u) => Some(UserId(u)),
            Err(_) => {
                p.errors.add("assignee", "code-unknown");
                None
            }
        },
    };
    if let Some(a) = assignee
        && users::get(&ctx.state.db, me.org(), a).await?.is_none()
    {
        p.errors.add("assignee", "code-unknown");
    }
    if !p.errors.is_empty() {
        let tr = ctx.tr();
        let mut res = contact_page(&ctx, &f, FormErrors::from_validation(&tr, &p.errors)).await?;
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(res);
    }
    let ring = ctx.state.keys.get(me.org()).await?;
    let now = ctx.state.now();
    let tid = ctx.state.ids().uuid();
    let mut tx = ctx.state.db.begin().await?;
    contacts::add_task(
        &mut tx,
        &ring,
        ctx.state.rng.as_ref(),
        me.org(),
        &contacts::ContactTask {
            id: tid,
            contact_id: f.id,
            title,
            due_at: due,
            assignee,
            done_at: None,
        },
        me.user.id,
        now,
    )
    .await?;
    ctx.audit(
        &mut tx,
        me.org(),
        ctx.event("contact.task_added", Outcome::Ok)
            .target("contact", f.id.0)
            .details(json!({ "task": tid })),
    )
    .await?;
    tx.commit().await?;
    Ok(see_other(&format!("/staff/desk/contacts/{}", f.id)))
}

/// POST /staff/desk/contacts/{id}/tasks/{tid}/done.
pub async fn task_done(ctx: Ctx, Path((id, tid)): Path<(String, String)>) -> AppResult<Response> {
    let f = visible(&ctx, &id).await?;
    let me = ctx.user()?;
    let tid: Uuid = tid.parse().map_err(|_| AppError::NotFound)?;
    let mut tx = ctx.state.db.begin().await?;
    if !contacts::complete_task(&mut tx, me.org(), f.id, tid, me.user.id, ctx.state.now()).await? {
        return Err(AppError::NotFound);
    }
    ctx.audit(
        &mut tx,
        me.org(),
        ctx.event("contact.task_done", Outcome::Ok)
            .target("contact", f.id.0)
            .details(json!({ "task": tid })),
    )
    .await?;
    tx.commit().await?;
    Ok(see_other(&format!("/staff/desk/contacts/{}", f.id)))
}

// The inbox.

/// One line in the inbox.
pub struct LineBox {
    code: String,
    label: String,
    counts: contacts::LineCounts,
    handover: Option<(String, String, String)>,
    follow_up: Vec<ListRow>,
    /// Open tasks due within a day or overdue, with the contact each belongs to.
    tasks: Vec<(String, TaskRow)>,
}

#[derive(Template)]
#[template(path = "staff/desk_inbox.html")]
struct InboxPage<'a> {
    page: Page<'a>,
    lines: Vec<LineBox>,
    can_edit: bool,
    can_export: bool,
    errors: FormErrors,
}

/// A contact in a list.
pub struct ListRow {
    id: String,
    when: String,
    line: String,
    channel: String,
    categories: String,
    urgency: String,
    urgency_code: String,
    voided: bool,
    cases: String,
}

async fn list_rows(ctx: &Ctx, list: &[ContactFacts]) -> AppResult<Vec<ListRow>> {
    let tr = ctx.tr();
    let mut out = Vec::new();
    for f in list {
        out.push(ListRow {
            id: f.id.to_string(),
            when: ctx.time(f.started_at),
            line: line_label(&tr, &f.line),
            channel: tr.t(&f.channel.label_id()),
            categories: f
                .categories
                .iter()
                .map(|c| category_label(&tr, c))
                .collect::<Vec<_>>()
                .join(", "),
            urgency: tr.t(&f.urgency.label_id()),
            urgency_code: f.urgency.code().to_owned(),
            voided: f.voided_at.is_some(),
            cases: case_numbers(ctx, f.org_id, f.id)
                .await?
                .into_iter()
                .map(|(_, n)| n)
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    Ok(out)
}

async fn inbox_page(ctx: &Ctx, errors: FormErrors) -> AppResult<Response> {
    let me = ctx.user()?;
    let ring = ctx.state.keys.get(me.org()).await?;
    let tr = ctx.tr();
    let now = ctx.state.now();
    let names = super::cases::staff_names(ctx).await?;
    let mut lines = Vec::new();
    for l in &ctx.state.settings.desk.lines {
        let counts =
            contacts::line_counts(&ctx.state.db, me.org(), l, now, now + TimeDelta::hours(24))
                .await?;
        let handover = contacts::latest_handover(&ctx.state.db, &ring, me.org(), l)
            .await?
            .map(|(text, by, at)| {
                (
                    text,
                    names.get(&by).cloned().unwrap_or_default(),
                    ctx.time(at),
                )
            });
        let follow: Vec<ContactFacts> = contacts::search(
            &ctx.state.db,
            me.org(),
            &Filter {
                line: Some(l.clone()),
                follow_up: true,
                ..Filter::default()
            },
            20,
            0,
        )
        .await?
        .into_iter()
        .filter(|f| contact_visible(&me.actor(), f.org_id, f.confidential, &f.counsellors))
        .collect();
        let mut tasks = Vec::new();
        for t in contacts::open_tasks_of_line(
            &ctx.state.db,
            &ring,
            me.org(),
            l,
            now + TimeDelta::hours(24),
            50,
        )
        .await?
        {
            let Some(f) = contacts::facts(&ctx.state.db, me.org(), t.contact_id).await? else {
                continue;
            };
            if !contact_visible(&me.actor(), f.org_id, f.confidential, &f.counsellors) {
                continue;
            }
            tasks.push((t.contact_id.to_string(), TaskRow::of(ctx, &names, t, now)));
        }
        lines.push(LineBox {
            code: l.clone(),
            label: line_label(&tr, l),
            counts,
            handover,
            follow_up: list_rows(ctx, &follow).await?,
            tasks,
        });
    }
    ctx.audit_now(me.org(), ctx.event("desk.inbox_viewed", Outcome::Ok))
        .await?;
    let failed = errors.any();
    let mut res = render(&InboxPage {
        page: ctx.page("desk-inbox-title"),
        lines,
        can_edit: me.actor().can(Permission::EditContacts),
        can_export: me.actor().can(Permission::ExportContacts),
        errors,
    })?;
    if failed {
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(res)
}

/// GET /staff/desk: the inbox per line with counts and the latest handover note.
pub async fn inbox(ctx: Ctx) -> AppResult<Response> {
    inbox_page(&ctx, FormErrors::none()).await
}

/// POST /staff/desk/handover: a shift handover note for a line (`line`, `body`).
pub async fn handover(ctx: Ctx, Form(pairs): Form<Vec<(String, String)>>) -> AppResult<Response> {
    let me = ctx.user()?;
    let form = pairs.as_slice();
    let mut p = Parser::new(form, parse_ctx(&ctx));
    let body = p.required_text("body", 10_000);
    let line = form.one("line").to_owned();
    if !ctx.state.settings.desk.lines.contains(&line) {
        p.errors.add("line", "code-unknown");
    }
    if !p.errors.is_empty() {
        let tr = ctx.tr();
        return inbox_page(&ctx, FormErrors::from_validation(&tr, &p.errors)).await;
    }
    let ring = ctx.state.keys.get(me.org()).await?;
    let id = ctx.state.ids().uuid();
    let mut tx = ctx.state.db.begin().await?;
    contacts::add_handover(
        &mut tx,
        &ring,
        ctx.state.rng.as_ref(),
        me.org(),
        id,
        &line,
        &body,
        me.user.id,
        ctx.state.now(),
    )
    .await?;
    ctx.audit(
        &mut tx,
        me.org(),
        ctx.event("desk.handover_written", Outcome::Ok)
            .target("handover_note", id)
            .details(json!({ "line": line })),
    )
    .await?;
    tx.commit().await?;
    Ok(see_other("/staff/desk"))
}

// Search and export.

#[derive(Template)]
#[template(path = "staff/desk_search.html")]
struct SearchPage<'a> {
    page: Page<'a>,
    v: Values,
    lines: Vec<Opt>,
    channels: Vec<Opt>,
    urgencies: Vec<Opt>,
    categories: Vec<Opt>,
    counsellors: Vec<Opt>,
    rows: Vec<ListRow>,
    searched: bool,
    page_no: i64,
    prev: i64,
    next: Option<i64>,
    can_export: bool,
    errors: FormErrors,
}

/// Reads the search form into a filter; phone and e-mail become the ids their blind index and
/// confirmation give.
pub async fn filter_of(
    ctx: &Ctx,
    form: &[(String, String)],
) -> AppResult<Result<Filter, ValidationErrors>> {
    let me = ctx.user()?;
    let mut p = Parser::new(form, parse_ctx(ctx));
    let tz = super::cases::tz(ctx);
    let day = |d: Option<chrono::NaiveDate>| {
        d.and_then(|d| d.and_hms_opt(0, 0, 0))
            .and_then(|n| n.and_local_timezone(tz).earliest())
            .map(|t| t.with_timezone(&Utc))
    };
    let from = day(p.any_date("from"));
    let to = day(p.any_date("to")).map(|t| t + TimeDelta::days(1));
    let line = match form.one("line") {
        "" => None,
        l if ctx.state.settings.desk.lines.iter().any(|x| x == l) => Some(l.to_owned()),
        _ => {
            p.errors.add("line", "code-unknown");
            None
        }
    };
    let channel = p.code("channel", Channel::from_code);
    let urgency = p.code("urgency", ContactUrgency::from_code);
    let category = match form.one("category") {
        "" => None,
        c => {
            let tree = ctx.state.settings.desk.category_tree();
            if tree
                .iter()
                .any(|g| g.code == c || g.categories.iter().any(|x| x == c))
            {
                Some(c.to_owned())
            } else {
                p.errors
                    .add_with("category", "category-unknown", vec![("code", c.to_owned())]);
                None
            }
        }
    };
    let counsellor = match form.one("counsellor") {
        "" => None,
        v => match v.parse::<Uuid>() {
            Ok(u) => Some(UserId(u)),
            Err(_) => {
                p.errors.add("counsellor", "code-unknown");
                None
            }
        },
    };
    let country = p.country("country").map(|c| c.as_str().to_owned());
    let case_id = match form.one("case_number") {
        "" => None,
        n => match n.parse::<haven_domain::numbering::CaseNumber>() {
            Ok(n) => match cases::by_number(&ctx.state.db, me.org(), &n).await? {
                Some(c) => Some(c.0),
                None => {
                    p.errors.add("case_number", "case-number-unknown");
                    None
                }
            },
            Err(_) => {
                p.errors.add("case_number", "case-number-unknown");
                None
            }
        },
    };
    let mut ids: Option<Vec<ContactId>> = None;
    let ring = ctx.state.keys.get(me.org()).await?;
    if !form.one("phone").is_empty() {
        match phone_e164(ctx, form.one("phone")) {
            Some(e) => {
                let found =
                    contacts::lookup(&ctx.state.db, &ring, me.org(), IndexKind::Phone, &e, 10_000)
                        .await?;
                ids = Some(found.into_iter().map(|f| f.id).collect());
            }
            None => p.errors.add("phone", "phone-invalid"),
        }
    }
    if !form.one("email").is_empty() {
        let found = contacts::lookup(
            &ctx.state.db,
            &ring,
            me.org(),
            IndexKind::Email,
            form.one("email"),
            10_000,
        )
        .await?;
        let e: Vec<ContactId> = found.into_iter().map(|f| f.id).collect();
        ids = Some(match ids {
            Some(prev) => prev.into_iter().filter(|i| e.contains(i)).collect(),
            None => e,
        });
    }
    if !p.errors.is_empty() {
        return Ok(Err(p.errors));
    }
    Ok(Ok(Filter {
        from,
        to,
        line,
        channel,
        category,
        counsellor,
        urgency,
        country,
        case_id,
        ids,
        follow_up: matches!(form.one("follow_up"), "on" | "true" | "1"),
        include_voided: matches!(form.one("voided"), "on" | "true" | "1"),
    }))
}

/// The visible contacts of a filter: a page of them, and whether more follow.
pub async fn visible_page(
    ctx: &Ctx,
    f: &Filter,
    page: i64,
    size: i64,
) -> AppResult<(Vec<ContactFacts>, bool)> {
    let me = ctx.user()?;
    // The policy filters after the query; read in chunks until the page is full.
    let mut out = Vec::new();
    let mut skipped = 0;
    let mut offset = 0;
    let want_skip = page * size;
    loop {
        let chunk = contacts::search(&ctx.state.db, me.org(), f, 500, offset).await?;
        let n = chunk.len() as i64;
        for c in chunk {
            if !contact_visible(&me.actor(), c.org_id, c.confidential, &c.counsellors) {
                continue;
            }
            if skipped < want_skip {
                skipped += 1;
                continue;
            }
            if out.len() as i64 == size {
                return Ok((out, true));
            }
            out.push(c);
        }
        if n < 500 {
            return Ok((out, false));
        }
        offset += 500;
    }
}

async fn search_page(ctx: &Ctx, form: &[(String, String)], searched: bool) -> AppResult<Response> {
    let me = ctx.user()?;
    let tr = ctx.tr();
    let page_no = form.one("page").parse::<i64>().unwrap_or(0).max(0);
    let (rows, next, errors) = if searched {
        match filter_of(ctx, form).await? {
            Ok(f) => {
                let size = i64::from(ctx.state.settings.desk.page_size.max(1));
                let (list, more) = visible_page(ctx, &f, page_no, size).await?;
                ctx.audit_now(
                    me.org(),
                    ctx.event("contact.searched", Outcome::Ok).details(json!({
                        "by_phone": !form.one("phone").is_empty(),
                        "by_email": !form.one("email").is_empty(),
                        "results": list.len(),
                    })),
                )
                .await?;
                (
                    list_rows(ctx, &list).await?,
                    more.then_some(page_no + 1),
                    FormErrors::none(),
                )
            }
            Err(e) => (Vec::new(), None, FormErrors::from_validation(&tr, &e)),
        }
    } else {
        (Vec::new(), None, FormErrors::none())
    };
    let counsellors = users::list(&ctx.state.db, me.org())
        .await?
        .into_iter()
        .map(|u| Opt {
            code: u.id.to_string(),
            label: u.display_name,
        })
        .collect();
    let failed = errors.any();
    let mut res = render(&SearchPage {
        page: ctx.page("desk-search-title"),
        v: Values::from_pairs(form),
        lines: line_opts(ctx),
        channels: opts::<Channel>(&tr),
        urgencies: opts::<ContactUrgency>(&tr),
        categories: category_opts(ctx),
        counsellors,
        rows,
        searched,
        page_no,
        prev: (page_no - 1).max(0),
        next,
        can_export: me.actor().can(Permission::ExportContacts),
        errors,
    })?;
    if failed {
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(res)
}

/// GET /staff/desk/contacts: the search form, and results for filters in the query (never a
/// phone number or an e-mail address: those are POSTed).
pub async fn search(ctx: Ctx, Query(q): Query<Vec<(String, String)>>) -> AppResult<Response> {
    let q: Vec<(String, String)> = q
        .into_iter()
        .filter(|(k, _)| k != "phone" && k != "email")
        .collect();
    let searched = !q.is_empty();
    search_page(&ctx, &q, searched).await
}

/// POST /staff/desk/search: the same search with a phone number or e-mail address.
pub async fn search_post(
    ctx: Ctx,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    search_page(&ctx, &pairs, true).await
}

const EXPORT_COLUMNS: [&str; 14] = [
    "id",
    "line",
    "channel",
    "direction",
    "started_at",
    "duration_seconds",
    "caller_type",
    "categories",
    "countries",
    "urgency",
    "needs_follow_up",
    "confidential",
    "voided",
    "cases",
];

/// POST /staff/desk/export: the contacts of a search as CSV or XLSX (`format`), plain facts only
/// (no phone, e-mail, summary or notes), for those who may export; audited.
pub async fn export(ctx: Ctx, Form(pairs): Form<Vec<(String, String)>>) -> AppResult<Response> {
    let me = ctx.user()?;
    let form = pairs.as_slice();
    let f = match filter_of(&ctx, form).await? {
        Ok(f) => f,
        Err(_) => return search_page(&ctx, form, true).await,
    };
    let (list, _) = visible_page(&ctx, &f, 0, 100_000).await?;
    let mut rows: Vec<[String; 14]> = Vec::with_capacity(list.len());
    for c in &list {
        let numbers = case_numbers(&ctx, me.org(), c.id)
            .await?
            .into_iter()
            .map(|(_, n)| n)
            .collect::<Vec<_>>()
            .join(" ");
        rows.push([
            c.id.to_string(),
            c.line.clone(),
            c.channel.code().into(),
            c.direction.code().into(),
            c.started_at.to_rfc3339(),
            c.duration_seconds.to_string(),
            c.caller_type.code().into(),
            c.categories.join(" "),
            c.countries.join(" "),
            c.urgency.code().into(),
            c.needs_follow_up.to_string(),
            c.confidential.to_string(),
            c.voided_at.is_some().to_string(),
            numbers,
        ]);
    }
    let xlsx = form.one("format") == "xlsx";
    ctx.audit_now(
        me.org(),
        ctx.event("contact.exported", Outcome::Ok).details(json!({
            "format": if xlsx { "xlsx" } else { "csv" },
            "rows": rows.len(),
        })),
    )
    .await?;
    let mut headers = HeaderMap::new();
    let body = if xlsx {
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ),
        );
        headers.insert(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_static("attachment; filename=\"contacts.xlsx\""),
        );
        xlsx_bytes(&rows).map_err(|e| AppError::Internal(e.to_string()))?
    } else {
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/csv; charset=utf-8"),
        );
        headers.insert(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_static("attachment; filename=\"contacts.csv\""),
        );
        csv_bytes(&rows)
    };
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok((headers, body).into_response())
}

fn csv_field(v: &str) -> String {
    // A leading = + - @ would be a formula in a spreadsheet.
    let v = if v.starts_with(['=', '+', '-', '@']) && v.parse::<f64>().is_err() {
        format!("'{v}")
    } else {
        v.to_owned()
    };
    if v.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v
    }
}

fn csv_bytes(rows: &[[String; 14]]) -> Vec<u8> {
    let mut out = String::new();
    out.push_str(&EXPORT_COLUMNS.join(","));
    out.push_str("\r\n");
    for r in rows {
        out.push_str(&r.iter().map(|v| csv_field(v)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    out.into_bytes()
}

fn xlsx_bytes(rows: &[[String; 14]]) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (c, h) in EXPORT_COLUMNS.iter().enumerate() {
        sheet.write_string(0, c as u16, *h)?;
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            if c == 5 {
                sheet.write_number(r as u32 + 1, c as u16, v.parse::<f64>().unwrap_or(0.0))?;
            } else {
                sheet.write_string(r as u32 + 1, c as u16, v)?;
            }
        }
    }
    book.save_to_buffer()
}
