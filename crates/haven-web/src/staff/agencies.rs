//! Agencies and job-offer reports: the list (most recently reported first) and the search by any
//! name, alias, web address, phone or e-mail; the agency page with its aliases, channels, reports
//! (counted per month), actions and outcomes, and the published warning with its history; new and
//! edit forms; recording a job-offer report from a hotline or portal contact, with the matching
//! agencies proposed and their reasons.
//!
//! Access: the route table checks `ViewAgencies`, `EditAgencies` or `PublishAgencyWarnings`; a
//! report from a contact also needs the contact to be visible to the person
//! ([`haven_domain::policy::contact_visible`]). Another organisation's agency is not found. Every
//! view of an agency page, every search and every change is audited; channel values and report
//! texts never reach the audit log, URLs or titles (searches are POSTs).

use std::collections::HashMap;

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use haven_domain::agencies::{
    Certainty, Channel, ChannelKind, LicenceStatus, MatchReason, normalise_channel,
    normalise_channel_as,
};
use haven_domain::cases::{FormFields, Parser};
use haven_domain::desk::ContactId;
use haven_domain::policy::{Permission, contact_visible};
use haven_domain::validate::ValidationErrors;
use haven_domain::{OrgId, UserId};
use haven_store::agencies::{
    self as store, Action, ActionKind, AgencyInput, AgencyMatch, AgencyRow, MatchQuery, NewReport,
    ReportSource, WarningDecision,
};
use haven_store::audit::Outcome;
use haven_store::{contacts, notifications, portal as portal_store};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::cases::{fmt_date, parse_ctx};
use super::court::{FormBuilder, FormState, FormView};
use super::see_other;
use crate::error::{AppError, AppResult};
use crate::i18n::Tr;
use crate::ui::{Ctx, FormErrors, Page, render};

/// The red flags of a job offer (DOMAIN.md §3), as codes; labels are `agency-flag-<code>`. The
/// same list as the first screen of the portal's self-check.
pub const RED_FLAGS: [&str; 8] = [
    "no_contract",
    "fees",
    "unregistered_agency",
    "high_wages",
    "passport_handover",
    "deductions",
    "mobile_only",
    "urgency",
];

/// Agencies listed per page.
const PAGE_SIZE: i64 = 100;

fn region(ctx: &Ctx) -> String {
    ctx.state.settings.org.phone_region.clone()
}

/// Reads a channel typed by a person: of the kind chosen, or of the kind it looks like.
pub fn read_channel(raw: &str, kind: Option<ChannelKind>, region: &str) -> Option<Channel> {
    match kind {
        Some(k) => normalise_channel_as(k, raw, region).ok(),
        None => normalise_channel(raw, region).ok(),
    }
}

/// The label of a licence status.
pub fn licence_label(tr: &Tr<'_>, s: LicenceStatus) -> String {
    tr.t(&format!("agency-licence-{}", s.code()))
}

/// A match's reasons, translated.
pub fn reason_text(tr: &Tr<'_>, r: &MatchReason) -> String {
    match r {
        MatchReason::SameChannel(k) => tr.t1(
            "agency-reason-same_channel",
            "kind",
            tr.t(&format!("agency-channel-{}", k.code())),
        ),
        MatchReason::SimilarName { percent } => {
            tr.t1("agency-reason-similar_name", "percent", u32::from(*percent))
        }
        MatchReason::SharedWords { count } => {
            tr.t1("agency-reason-shared_words", "count", u32::from(*count))
        }
        other => tr.t(&format!("agency-reason-{}", other.code())),
    }
}

fn certainty_label(tr: &Tr<'_>, c: Certainty) -> String {
    tr.t(&format!("agency-certainty-{}", c.code()))
}

/// Finds an agency of the person's organisation, or 404.
async fn find_row(ctx: &Ctx, id: &str) -> AppResult<AgencyRow> {
    let me = ctx.user()?;
    let id: Uuid = id.parse().map_err(|_| AppError::NotFound)?;
    store::row(&ctx.state.db, me.org(), id)
        .await?
        .ok_or(AppError::NotFound)
}

// The list and the search.

/// An agency as a row of the list.
pub struct ListRow {
    id: String,
    name: String,
    licence: String,
    licence_code: &'static str,
    as_of: String,
    warning: bool,
    review_overdue: bool,
    review_on: String,
    reports: i64,
    last_report: String,
}

#[derive(Template)]
#[template(path = "staff/agencies.html")]
struct ListPage<'a> {
    page: Page<'a>,
    q: String,
    searched: bool,
    rows: Vec<ListRow>,
    total: i64,
    next: Option<i64>,
    can_edit: bool,
}

fn list_rows(ctx: &Ctx, rows: &[AgencyRow]) -> Vec<ListRow> {
    let tr = ctx.tr();
    let today = parse_ctx(ctx).today();
    rows.iter()
        .map(|a| ListRow {
            id: a.id.to_string(),
            name: a.name.clone(),
            licence: licence_label(&tr, a.licence_status),
            licence_code: a.licence_status.code(),
            as_of: a
                .licence_as_of
                .map(|d| fmt_date(d, ctx.lang))
                .unwrap_or_default(),
            warning: a.warning_published,
            review_overdue: a.warning_published && a.warning_review_on.is_some_and(|d| d < today),
            review_on: a
                .warning_review_on
                .map(|d| fmt_date(d, ctx.lang))
                .unwrap_or_default(),
            reports: a.report_count,
            last_report: a.last_report_at.map(|t| ctx.time(t)).unwrap_or_default(),
        })
        .collect()
}

/// The page of the list.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    offset: i64,
}

/// GET /staff/agencies: every agency, the most recently reported first.
pub async fn list(ctx: Ctx, Query(q): Query<ListQuery>) -> AppResult<Response> {
    let me = ctx.user()?;
    let offset = q.offset.max(0);
    let rows = store::list(&ctx.state.db, me.org(), PAGE_SIZE, offset).await?;
    let total = store::count(&ctx.state.db, me.org()).await?;
    let next = (offset + PAGE_SIZE < total).then_some(offset + PAGE_SIZE);
    render(&ListPage {
        page: ctx.page("agencies-title"),
        q: String::new(),
        searched: false,
        rows: list_rows(&ctx, &rows),
        total,
        next,
        can_edit: me.actor().can(Permission::EditAgencies),
    })
}

/// Finds agencies by anything typed: a web address, profile, phone or e-mail (through the
/// channels' blind index), a registration or tax number, or a name or alias.
pub async fn search_agencies(ctx: &Ctx, query: &str) -> AppResult<Vec<AgencyRow>> {
    let me = ctx.user()?;
    let ring = ctx.state.keys.get(me.org()).await?;
    let query = query.trim();
    if query.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = MatchQuery {
        registration_number: Some(query.to_owned()),
        tax_number: Some(query.to_owned()),
        ..MatchQuery::default()
    };
    match normalise_channel(query, &region(ctx)) {
        // Something that reads as a phone number, an address or a profile is searched as one;
        // a name that merely contains a dot is still searched as a name too.
        Ok(ch) if ch.kind != ChannelKind::Website || !query.contains(' ') => q.channels.push(ch),
        _ => {}
    }
    if q.channels.is_empty() || query.contains(' ') {
        q.name = query.to_owned();
    }
    let found = store::find_matches(&ctx.state.db, &ring, me.org(), &q, 50).await?;
    Ok(found.into_iter().map(|m| m.agency).collect())
}

/// POST /staff/agencies/search (`q`): agencies by anything typed (a POST, so that a phone
/// number searched for stays out of URLs and logs).
pub async fn search(ctx: Ctx, Form(pairs): Form<Vec<(String, String)>>) -> AppResult<Response> {
    let me = ctx.user()?;
    let query: String = pairs.as_slice().one("q").chars().take(200).collect();
    let found = search_agencies(&ctx, &query).await?;
    ctx.audit_now(
        me.org(),
        ctx.event("agency.searched", Outcome::Ok)
            .details(json!({ "found": found.len() })),
    )
    .await?;
    let total = store::count(&ctx.state.db, me.org()).await?;
    render(&ListPage {
        page: ctx.page("agencies-title"),
        q: query,
        searched: true,
        rows: list_rows(&ctx, &found),
        total,
        next: None,
        can_edit: me.actor().can(Permission::EditAgencies),
    })
}

// New and edit.

#[derive(Template)]
#[template(path = "staff/agency_form.html")]
struct AgencyFormPage<'a> {
    page: Page<'a>,
    back: String,
    f: FormView,
    errors: FormErrors,
    taken: Vec<(String, String)>,
}

fn agency_form(
    ctx: &Ctx,
    o: &FormState,
    action: String,
    title: &str,
    a: &AgencyInput,
    new: bool,
) -> FormView {
    let tr = ctx.tr();
    let mut b = FormBuilder::new(&tr, o, "agency", action, title, "agency-save")
        .field("ag_name", "text", &a.name)
        .field(
            "ag_registration_number",
            "text",
            a.registration_number.as_deref().unwrap_or(""),
        )
        .field(
            "ag_tax_number",
            "text",
            a.tax_number.as_deref().unwrap_or(""),
        )
        .field("ag_addresses", "textarea", &a.addresses)
        .field("ag_countries", "text", &a.countries.join(", "))
        .hint("agency-countries-hint")
        .field("ag_sectors", "text", &a.sectors.join(", "))
        .field("ag_notes", "textarea", &a.notes)
        .hint("agency-notes-hint");
    if new {
        b = b
            .field("ag_aliases", "textarea", "")
            .hint("agency-aliases-hint")
            .field("ag_channels", "textarea", "")
            .hint("agency-channels-hint");
    }
    b.build()
}

/// Reads the agency form, collecting every problem.
fn read_agency(ctx: &Ctx, form: &[(String, String)]) -> (AgencyInput, ValidationErrors) {
    let mut p = Parser::new(form, parse_ctx(ctx));
    let name = p.required_text("ag_name", 300);
    let registration_number = p.text_max("ag_registration_number", 40);
    let tax_number = p.text_max("ag_tax_number", 40);
    let addresses = p.text_max("ag_addresses", 2000);
    let countries = p
        .countries("ag_countries")
        .into_iter()
        .map(|c| c.as_str().to_owned())
        .collect();
    let sectors = p
        .text_max("ag_sectors", 500)
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let notes = p.text_max("ag_notes", 5000);
    let opt = |s: String| (!s.is_empty()).then_some(s);
    (
        AgencyInput {
            name,
            registration_number: opt(registration_number),
            tax_number: opt(tax_number),
            addresses,
            countries,
            sectors,
            notes,
        },
        p.errors,
    )
}

/// GET /staff/agencies/new.
pub async fn new_form(ctx: Ctx) -> AppResult<Response> {
    let o = FormState::default();
    let f = agency_form(
        &ctx,
        &o,
        "/staff/agencies/new".into(),
        "agency-new-title",
        &AgencyInput::default(),
        true,
    );
    render(&AgencyFormPage {
        page: ctx.page("agency-new-title"),
        back: "/staff/agencies".into(),
        f,
        errors: FormErrors::none(),
        taken: Vec::new(),
    })
}

fn lines(v: &str) -> Vec<&str> {
    v.lines().map(str::trim).filter(|l| !l.is_empty()).collect()
}

/// POST /staff/agencies/new: an agency with its aliases and channels; a channel another agency
/// holds refuses the whole form, naming that agency.
pub async fn create(ctx: Ctx, Form(pairs): Form<Vec<(String, String)>>) -> AppResult<Response> {
    let me = ctx.user()?.clone();
    let form = pairs.as_slice();
    let (input, mut errors) = read_agency(&ctx, form);
    let aliases: Vec<String> = lines(form.one("ag_aliases"))
        .into_iter()
        .map(|a| a.chars().take(300).collect())
        .collect();
    let mut channels = Vec::new();
    for raw in lines(form.one("ag_channels")) {
        match read_channel(raw, None, &region(&ctx)) {
            Some(c) if !channels.contains(&c) => channels.push(c),
            Some(_) => {}
            None => {
                if errors.for_field("ag_channels").is_none() {
                    errors.add("ag_channels", "agency-channel-invalid");
                }
            }
        }
    }
    let ring = ctx.state.keys.get(me.org()).await?;
    let mut taken = Vec::new();
    for c in &channels {
        for holder in store::channel_holders(&ctx.state.db, &ring, me.org(), c).await? {
            if let Some(r) = store::row(&ctx.state.db, me.org(), holder).await? {
                taken.push((format!("/staff/agencies/{}", r.id), r.name));
            }
        }
    }
    if !taken.is_empty() {
        errors.add("ag_channels", "agency-channel-taken");
    }
    if !errors.is_empty() {
        let tr = ctx.tr();
        let o = FormState {
            section: "agency",
            errors: FormErrors::from_validation(&tr, &errors),
            kept: form.to_vec(),
        };
        let f = agency_form(
            &ctx,
            &o,
            "/staff/agencies/new".into(),
            "agency-new-title",
            &input,
            true,
        );
        let mut res = render(&AgencyFormPage {
            page: ctx.page("agency-new-title"),
            back: "/staff/agencies".into(),
            f,
            errors: o.errors.clone(),
            taken,
        })?;
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(res);
    }
    let id = ctx.state.ids().uuid();
    let now = ctx.state.now();
    let mut tx = ctx.state.db.begin().await?;
    store::insert(
        &mut tx,
        &ring,
        ctx.state.rng.as_ref(),
        me.org(),
        id,
        &input,
        Some(me.user.id),
        now,
    )
    .await?;
    for a in &aliases {
        store::add_alias(&mut tx, me.org(), ctx.state.ids().uuid(), id, a, now).await?;
    }
    for c in &channels {
        // Checked above; a channel added by someone else in between is simply not added twice.
        let _ = store::add_channel(
            &mut tx,
            &ring,
            ctx.state.rng.as_ref(),
            me.org(),
            ctx.state.ids().uuid(),
            id,
            c,
            Some(me.user.id),
            now,
        )
        .await?;
    }
    ctx.audit(
        &mut tx,
        me.org(),
        ctx.event("agency.created", Outcome::Ok)
            .target("agency", id)
            .details(json!({ "aliases": aliases.len(), "channels": channels.len() })),
    )
    .await?;
    tx.commit().await?;
    Ok(see_other(&format!("/staff/agencies/{id}")))
}

/// GET /staff/agencies/{id}/edit.
pub async fn edit_form(ctx: Ctx, Path(id): Path<String>) -> AppResult<Response> {
    let me = ctx.user()?;
    let row = find_row(&ctx, &id).await?;
    let ring = ctx.state.keys.get(me.org()).await?;
    let a = store::get(&ctx.state.db, &ring, me.org(), row.id)
        .await?
        .ok_or(AppError::NotFound)?;
    ctx.audit_now(
        me.org(),
        ctx.event("agency.viewed", Outcome::Ok)
            .target("agency", row.id)
            .details(json!({ "via": "edit" })),
    )
    .await?;
    let o = FormState::default();
    let f = agency_form(
        &ctx,
        &o,
        format!("/staff/agencies/{}/edit", row.id),
        "agency-edit-title",
        &a.input,
        false,
    );
    render(&AgencyFormPage {
        page: ctx.page("agency-edit-title"),
        back: format!("/staff/agencies/{}", row.id),
        f,
        errors: FormErrors::none(),
        taken: Vec::new(),
    })
}

/// POST /staff/agencies/{id}/edit.
pub async fn update(
    ctx: Ctx,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let me = ctx.user()?.clone();
    let row = find_row(&ctx, &id).await?;
    let form = pairs.as_slice();
    let (input, errors) = read_agency(&ctx, form);
    if !errors.is_empty() {
        let tr = ctx.tr();
        let o = FormState {
            section: "agency",
            errors: FormErrors::from_validation(&tr, &errors),
            kept: form.to_vec(),
        };
        let f = agency_form(
            &ctx,
            &o,
            format!("/staff/agencies/{}/edit", row.id),
            "agency-edit-title",
            &input,
            false,
        );
        let mut res = render(&AgencyFormPage {
            page: ctx.page("agency-edit-title"),
            back: format!("/staff/agencies/{}", row.id),
            f,
            errors: o.errors.clone(),
            taken: Vec::new(),
        })?;
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(res);
    }
    let ring = ctx.state.keys.get(me.org()).await?;
    let mut tx = ctx.state.db.begin().await?;
    store::update(
        &mut tx,
        &ring,
        ctx.state.rng.as_ref(),
        me.org(),
        row.id,
        &input,
        ctx.state.now(),
    )
    .await?;
    ctx.audit(
        &mut tx,
        me.org(),
        ctx.event("agency.updated", Outcome::Ok)
            .target("agency", row.id),
    )
    .await?;
    tx.commit().await?;
    Ok(see_other(&format!("/staff/agencies/{}", row.id)))
}

// The agency page.

/// A report as the agency page shows it.
pub struct ReportView {
    id: String,
    when: String,
    source: String,
    name: String,
    ad_text: String,
    ad_url: String,
    channels: Vec<String>,
    country: String,
    job_type: String,
    wage: String,
    fee: String,
    flags: Vec<String>,
    contact: String,
    screenshot: String,
}

/// An action as the agency page shows it.
pub struct ActionView {
    when: String,
    kind: String,
    notification: Option<(String, String)>,
    note: String,
    who: String,
}

/// A warning decision as the agency page shows it.
pub struct WarningView {
    when: String,
    published: bool,
    reason: String,
    review_on: String,
    who: String,
}

#[derive(Template)]
#[template(path = "staff/agency.html")]
struct AgencyPage<'a> {
    page: Page<'a>,
    id: String,
    name: String,
    licence: String,
    licence_code: &'static str,
    as_of: String,
    registration_number: String,
    tax_number: String,
    addresses: String,
    countries: String,
    sectors: String,
    notes: String,
    aliases: Vec<(String, String)>,
    channels: Vec<(String, String, String)>,
    months: Vec<(String, i64)>,
    reports: Vec<ReportView>,
    actions: Vec<ActionView>,
    warning: bool,
    warning_reason: String,
    review_on: String,
    review_overdue: bool,
    warnings: Vec<WarningView>,
    contacts: usize,
    /// What each import of the official register said: register date, verdict, source, and
    /// the import's page for those who import.
    register: Vec<(String, String, String, Option<String>)>,
    /// May write a notification about the agency.
    can_notify: bool,
    alias_form: Option<FormView>,
    channel_form: Option<FormView>,
    action_form: Option<FormView>,
    warning_form: Option<FormView>,
    errors: FormErrors,
    taken: Vec<(String, String)>,
}

fn money(minor: Option<i64>, currency: &str) -> String {
    minor
        .map(|m| format!("{} {currency}", haven_domain::court::money_text(m)))
        .unwrap_or_default()
}

async fn agency_page(
    ctx: &Ctx,
    row: &AgencyRow,
    o: FormState,
    taken: Vec<(String, String)>,
) -> AppResult<Response> {
    let me = ctx.user()?;
    let org = me.org();
    let db = &ctx.state.db;
    let ring = ctx.state.keys.get(org).await?;
    let a = store::get(db, &ring, org, row.id)
        .await?
        .ok_or(AppError::NotFound)?;
    let tr = ctx.tr();
    let names: HashMap<UserId, String> = super::cases::staff_names(ctx).await?;
    let who = |u: &Option<UserId>| u.and_then(|u| names.get(&u).cloned()).unwrap_or_default();
    let today = parse_ctx(ctx).today();
    let reports = store::reports_of(db, &ring, org, row.id)
        .await?
        .into_iter()
        .map(|r| {
            let n = &r.report;
            ReportView {
                id: n.id.to_string(),
                when: fmt_date(n.reported_on, ctx.lang),
                source: tr.t(&format!("agency-source-{}", n.source.code())),
                name: n.agency_name.clone(),
                ad_text: n.ad_text.clone(),
                ad_url: n.ad_url.clone(),
                channels: n.channels.iter().map(|c| c.value.clone()).collect(),
                country: n.destination_country.clone().unwrap_or_default(),
                job_type: n.job_type.clone().unwrap_or_default(),
                wage: money(n.wage_minor, &n.currency),
                fee: money(n.fee_minor, &n.currency),
                flags: n
                    .red_flags
                    .iter()
                    .map(|f| tr.t(&format!("agency-flag-{f}")))
                    .collect(),
                contact: n.contact_id.map(|c| c.to_string()).unwrap_or_default(),
                screenshot: r
                    .screenshot
                    .map(|s| format!("/staff/agencies/{}/screenshots/{s}", row.id))
                    .unwrap_or_default(),
            }
        })
        .collect();
    let protocol: HashMap<Uuid, String> = notifications::list(db, org)
        .await?
        .into_iter()
        .map(|n| (n.id, n.protocol_number))
        .collect();
    let actions = store::actions_of(db, &ring, org, row.id)
        .await?
        .into_iter()
        .map(|x| ActionView {
            when: fmt_date(x.happened_on, ctx.lang),
            kind: tr.t(&format!("agency-action-{}", x.kind.code())),
            notification: x.notification_id.map(|n| {
                (
                    format!("/staff/notifications/{n}"),
                    protocol.get(&n).cloned().unwrap_or_default(),
                )
            }),
            note: x.note,
            who: who(&x.by),
        })
        .collect();
    let warnings = store::warnings_of(db, org, row.id)
        .await?
        .into_iter()
        .map(|w| WarningView {
            when: ctx.time(w.at),
            published: w.published,
            reason: w.reason,
            review_on: w
                .review_on
                .map(|d| fmt_date(d, ctx.lang))
                .unwrap_or_default(),
            who: who(&w.by),
        })
        .collect();
    let can_edit = me.actor().can(Permission::EditAgencies);
    let can_publish = me.actor().can(Permission::PublishAgencyWarnings);
    let alias_form = can_edit.then(|| {
        FormBuilder::new(
            &tr,
            &o,
            "alias",
            format!("/staff/agencies/{}/aliases", row.id),
            "agency-alias-add",
            "agency-alias-add",
        )
        .text("al_name")
        .build()
    });
    let kinds: Vec<(String, String)> = ChannelKind::ALL
        .into_iter()
        .map(|k| {
            (
                k.code().to_owned(),
                tr.t(&format!("agency-channel-{}", k.code())),
            )
        })
        .collect();
    let channel_form = can_edit.then(|| {
        FormBuilder::new(
            &tr,
            &o,
            "channel",
            format!("/staff/agencies/{}/channels", row.id),
            "agency-channel-add",
            "agency-channel-add",
        )
        .select("ch_kind", kinds.clone())
        .hint("agency-channel-kind-hint")
        .text("ch_value")
        .build()
    });
    let notification_opts: Vec<(String, String)> = {
        let mut v: Vec<(Uuid, String)> = protocol.iter().map(|(k, v)| (*k, v.clone())).collect();
        v.sort_by(|a, b| b.1.cmp(&a.1));
        v.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
    };
    let action_form = can_edit.then(|| {
        FormBuilder::new(
            &tr,
            &o,
            "action",
            format!("/staff/agencies/{}/actions", row.id),
            "agency-action-add",
            "agency-action-add",
        )
        .select(
            "act_kind",
            ActionKind::ALL
                .into_iter()
                .map(|k| {
                    (
                        k.code().to_owned(),
                        tr.t(&format!("agency-action-{}", k.code())),
                    )
                })
                .collect(),
        )
        .select("act_notification", notification_opts.clone())
        .hint("agency-action-notification-hint")
        .date("act_on")
        .textarea("act_note")
        .build()
    });
    let warning_form = can_publish.then(|| {
        FormBuilder::new(
            &tr,
            &o,
            "warning",
            format!("/staff/agencies/{}/warning", row.id),
            "agency-warning-decide",
            "agency-warning-decide",
        )
        .select(
            "w_publish",
            vec![
                ("publish".to_owned(), tr.t("agency-warning-publish")),
                ("withdraw".to_owned(), tr.t("agency-warning-withdraw")),
            ],
        )
        .default(if row.warning_published {
            "withdraw"
        } else {
            "publish"
        })
        .textarea("w_reason")
        .hint("agency-warning-reason-hint")
        .date("w_review_on")
        .build()
    });
    let channels = store::channels(db, &ring, org, row.id)
        .await?
        .into_iter()
        .map(|c| {
            (
                c.id.to_string(),
                tr.t(&format!("agency-channel-{}", c.channel.kind.code())),
                c.channel.value,
            )
        })
        .collect();
    let errors = o.errors.clone();
    let page = AgencyPage {
        page: ctx.page_titled(tr.t("agency-title")),
        id: row.id.to_string(),
        name: row.name.clone(),
        licence: licence_label(&tr, row.licence_status),
        licence_code: row.licence_status.code(),
        as_of: row
            .licence_as_of
            .map(|d| fmt_date(d, ctx.lang))
            .unwrap_or_default(),
        registration_number: row.registration_number.clone().unwrap_or_default(),
        tax_number: row.tax_number.clone().unwrap_or_default(),
        addresses: a.input.addresses.clone(),
        countries: a.input.countries.join(", "),
        sectors: a.input.sectors.join(", "),
        notes: a.input.notes.clone(),
        can_notify: me
            .actor()
            .can(haven_domain::policy::Permission::WriteNotifications),
        register: haven_store::register::history_of(db, org, row.id)
            .await?
            .into_iter()
            .map(|h| {
                (
                    fmt_date(h.as_of, ctx.lang),
                    licence_label(&tr, h.status),
                    h.source_name,
                    me.actor()
                        .can(haven_domain::policy::Permission::ImportRegister)
                        .then(|| format!("/staff/agencies/register/imports/{}", h.import_id)),
                )
            })
            .collect(),
        aliases: store::aliases(db, org, row.id)
            .await?
            .into_iter()
            .map(|x| (x.id.to_string(), x.alias))
            .collect(),
        channels,
        months: store::monthly_counts(db, org, row.id).await?,
        reports,
        actions,
        warning: row.warning_published,
        warning_reason: row.warning_reason.clone().unwrap_or_default(),
        review_on: row
            .warning_review_on
            .map(|d| fmt_date(d, ctx.lang))
            .unwrap_or_default(),
        review_overdue: row.warning_published && row.warning_review_on.is_some_and(|d| d < today),
        warnings,
        contacts: store::contacts_of(db, org, row.id).await?.len(),
        alias_form,
        channel_form,
        action_form,
        warning_form,
        errors,
        taken,
    };
    let failed = o.section;
    let mut res = render(&page)?;
    if !failed.is_empty() {
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(res)
}

/// GET /staff/agencies/{id}.
pub async fn show(ctx: Ctx, Path(id): Path<String>) -> AppResult<Response> {
    let me = ctx.user()?;
    let row = find_row(&ctx, &id).await?;
    ctx.audit_now(
        me.org(),
        ctx.event("agency.viewed", Outcome::Ok)
            .target("agency", row.id),
    )
    .await?;
    agency_page(&ctx, &row, FormState::default(), Vec::new()).await
}

async fn refused(
    ctx: &Ctx,
    row: &AgencyRow,
    section: &'static str,
    errors: &ValidationErrors,
    form: &[(String, String)],
    taken: Vec<(String, String)>,
) -> AppResult<Response> {
    let o = FormState {
        section,
        errors: FormErrors::from_validation(&ctx.tr(), errors),
        kept: form.to_vec(),
    };
    agency_page(ctx, row, o, taken).await
}

/// POST /staff/agencies/{id}/aliases (`al_name`).
pub async fn add_alias(
    ctx: Ctx,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let me = ctx.user()?.clone();
    let row = find_row(&ctx, &id).await?;
    let form = pairs.as_slice();
    let mut p = Parser::new(form, parse_ctx(&ctx));
    let alias = p.required_text("al_name", 300);
    if !p.errors.is_empty() {
        return refused(&ctx, &row, "alias", &p.errors, form, Vec::new()).await;
    }
    let now = ctx.state.now();
    let mut tx = ctx.state.db.begin().await?;
    store::add_alias(
        &mut tx,
        me.org(),
        ctx.state.ids().uuid(),
        row.id,
        &alias,
        now,
    )
    .await?;
    ctx.audit(
        &mut tx,
        me.org(),
        ctx.event("agency.alias_added", Outcome::Ok)
            .target("agency", row.id),
    )
    .await?;
    tx.commit().await?;
    Ok(see_other(&format!("/staff/agencies/{}#aliases", row.id)))
}

/// POST /staff/agencies/{id}/aliases/{did}/remove.
pub async fn remove_alias(
    ctx: Ctx,
    Path((id, aid)): Path<(String, String)>,
) -> AppResult<Response> {
    let me = ctx.user()?.clone();
    let row = find_row(&ctx, &id).await?;
    let aid: Uuid = aid.parse().map_err(|_| AppError::NotFound)?;
    let mut tx = ctx.state.db.begin().await?;
    if !store::remove_alias(&mut tx, me.org(), row.id, aid).await? {
        return Err(AppError::NotFound);
    }
    ctx.audit(
        &mut tx,
        me.org(),
        ctx.event("agency.alias_removed", Outcome::Ok)
            .target("agency", row.id),
    )
    .await?;
    tx.commit().await?;
    Ok(see_other(&format!("/staff/agencies/{}#aliases", row.id)))
}

/// POST /staff/agencies/{id}/channels (`ch_kind` optional, `ch_value`): a channel, refused when
/// it cannot be read or another agency holds it (the message names and links that agency).
pub async fn add_channel(
    ctx: Ctx,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let me = ctx.user()?.clone();
    let row = find_row(&ctx, &id).await?;
    let form = pairs.as_slice();
    let mut errors = ValidationErrors::default();
    let kind = ChannelKind::from_code(form.one("ch_kind"));
    let raw = form.one("ch_value");
    if raw.is_empty() {
        errors.add("ch_value", "required");
    }
    let channel = if raw.is_empty() {
        None
    } else {
        let c = read_channel(raw, kind, &region(&ctx));
        if c.is_none() {
            errors.add("ch_value", "agency-channel-invalid");
        }
        c
    };
    let Some(channel) = channel.filter(|_| errors.is_empty()) else {
        return refused(&ctx, &row, "channel", &errors, form, Vec::new()).await;
    };
    let ring = ctx.state.keys.get(me.org()).await?;
    let now = ctx.state.now();
    let mut tx = ctx.state.db.begin().await?;
    let added = store::add_channel(
        &mut tx,
        &ring,
        ctx.state.rng.as_ref(),
        me.org(),
        ctx.state.ids().uuid(),
        row.id,
        &channel,
        Some(me.user.id),
        now,
    )
    .await?;
    if let Err(holder) = added {
        tx.rollback().await?;
        let mut errors = ValidationErrors::default();
        errors.add("ch_value", "agency-channel-taken");
        let taken = match store::row(&ctx.state.db, me.org(), holder).await? {
            Some(h) => vec![(format!("/staff/agencies/{}", h.id), h.name)],
            None => Vec::new(),
        };
        ctx.audit_now(
            me.org(),
            ctx.event("agency.channel_refused", Outcome::Denied)
                .target("agency", row.id)
                .details(json!({ "kind": channel.kind.code(), "held_by": holder })),
        )
        .await?;
        return refused(&ctx, &row, "channel", &errors, form, taken).await;
    }
    ctx.audit(
        &mut tx,
        me.org(),
        ctx.event("agency.channel_added", Outcome::Ok)
            .target("agency", row.id)
            .details(json!({ "kind": channel.kind.code() })),
    )
    .await?;
    tx.commit().await?;
    Ok(see_other(&format!("/staff/agencies/{}#channels", row.id)))
}

/// POST /staff/agencies/{id}/channels/{did}/remove.
pub async fn remove_channel(
    ctx: Ctx,
    Path((id, cid)): Path<(String, String)>,
) -> AppResult<Response> {
    let me = ctx.user()?.clone();
    let row = find_row(&ctx, &id).await?;
    let cid: Uuid = cid.parse().map_err(|_| AppError::NotFound)?;
    let mut tx = ctx.state.db.begin().await?;
    if !store::remove_channel(&mut tx, me.org(), row.id, cid).await? {
        return Err(AppError::NotFound);
    }
    ctx.audit(
        &mut tx,
        me.org(),
        ctx.event("agency.channel_removed", Outcome::Ok)
            .target("agency", row.id),
    )
    .await?;
    tx.commit().await?;
    Ok(see_other(&format!("/staff/agencies/{}#channels", row.id)))
}

/// POST /staff/agencies/{id}/actions: a notification sent about the agency or an outcome.
pub async fn add_action(
    ctx: Ctx,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let me = ctx.user()?.clone();
    let row = find_row(&ctx, &id).await?;
    let form = pairs.as_slice();
    let mut p = Parser::new(form, parse_ctx(&ctx));
    let kind = p.code("act_kind", ActionKind::from_code);
    let on = p.past_date("act_on");
    let note = p.text_max("act_note", 2000);
    let mut errors = p.errors;
    if kind.is_none() && errors.for_field("act_kind").is_none() {
        errors.add("act_kind", "required");
    }
    if on.is_none() && errors.for_field("act_on").is_none() {
        errors.add("act_on", "required");
    }
    let notification = match form.one("act_notification") {
        "" => None,
        v => {
            let n = v.parse::<Uuid>().ok();
            let known = match n {
                Some(n) => notifications::list(&ctx.state.db, me.org())
                    .await?
                    .iter()
                    .any(|x| x.id == n),
                None => false,
            };
            if !known {
                errors.add("act_notification", "code-unknown");
            }
            n.filter(|_| known)
        }
    };
    if kind == Some(ActionKind::Notification)
        && notification.is_none()
        && errors.for_field("act_notification").is_none()
    {
        errors.add("act_notification", "agency-action-notification-needed");
    }
    let (Some(kind), Some(on), true) = (kind, on, errors.is_empty()) else {
        return refused(&ctx, &row, "action", &errors, form, Vec::new()).await;
    };
    let ring = ctx.state.keys.get(me.org()).await?;
    let action = Action {
        id: ctx.state.ids().uuid(),
        agency_id: row.id,
        kind,
        notification_id: notification,
        happened_on: on,
        note,
        by: Some(me.user.id),
        at: ctx.state.now(),
    };
    let mut tx = ctx.state.db.begin().await?;
    store::add_action(&mut tx, &ring, ctx.state.rng.as_ref(), me.org(), &action).await?;
    ctx.audit(
        &mut tx,
        me.org(),
        ctx.event("agency.action_recorded", Outcome::Ok)
            .target("agency", row.id)
            .details(json!({ "kind": kind.code(), "notification": notification })),
    )
    .await?;
    tx.commit().await?;
    Ok(see_other(&format!("/staff/agencies/{}#actions", row.id)))
}

/// POST /staff/agencies/{id}/warning (`w_publish`, `w_reason`, `w_review_on`): publishes or
/// withdraws the portal's warning; only with `PublishAgencyWarnings`, always with a reason, and
/// a review date when publishing. Every decision is kept.
pub async fn warning(
    ctx: Ctx,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let me = ctx.user()?.clone();
    let row = find_row(&ctx, &id).await?;
    let form = pairs.as_slice();
    let mut p = Parser::new(form, parse_ctx(&ctx));
    let publish = match form.one("w_publish") {
        "publish" => Some(true),
        "withdraw" => Some(false),
        _ => None,
    };
    let reason = p.required_text("w_reason", 1000);
    let review_on = p.any_date("w_review_on");
    let today = parse_ctx(&ctx).today();
    let mut errors = p.errors;
    if publish.is_none() {
        errors.add("w_publish", "required");
    }
    if publish == Some(true) {
        match review_on {
            None if errors.for_field("w_review_on").is_none() => {
                errors.add("w_review_on", "required");
            }
            Some(d) if d <= today => errors.add("w_review_on", "agency-review-in-past"),
            _ => {}
        }
    }
    let (Some(published), true) = (publish, errors.is_empty()) else {
        return refused(&ctx, &row, "warning", &errors, form, Vec::new()).await;
    };
    let d = WarningDecision {
        id: ctx.state.ids().uuid(),
        agency_id: row.id,
        published,
        reason,
        review_on: review_on.filter(|_| published),
        by: Some(me.user.id),
        at: ctx.state.now(),
    };
    let mut tx = ctx.state.db.begin().await?;
    store::decide_warning(&mut tx, me.org(), &d).await?;
    ctx.audit(
        &mut tx,
        me.org(),
        ctx.event(
            if published {
                "agency.warning_published"
            } else {
                "agency.warning_withdrawn"
            },
            Outcome::Ok,
        )
        .target("agency", row.id),
    )
    .await?;
    tx.commit().await?;
    Ok(see_other(&format!("/staff/agencies/{}#warning", row.id)))
}

/// GET /staff/agencies/{id}/screenshots/{fid}: a report's screenshot, as an attachment.
/// POST /staff/agencies/{id}/reports/{rid}/screenshot: a screenshot of the ad (JPEG or PNG,
/// checked by content, sealed) added to a report that has none, e.g. one the caller sent by
/// message after the call.
pub async fn add_report_screenshot(
    ctx: Ctx,
    Path((id, rid)): Path<(String, String)>,
    req: axum::extract::Request,
) -> AppResult<Response> {
    use axum::extract::FromRequest;
    // The agency and the report are looked up before the body is read.
    let me = ctx.user()?.clone();
    let row = find_row(&ctx, &id).await?;
    let rid: Uuid = rid.parse().map_err(|_| AppError::NotFound)?;
    let ring = ctx.state.keys.get(me.org()).await?;
    let report = store::reports_of(&ctx.state.db, &ring, me.org(), row.id)
        .await?
        .into_iter()
        .find(|r| r.report.id == rid)
        .ok_or(AppError::NotFound)?;
    let m = axum::extract::Multipart::from_request(req, &ctx.state)
        .await
        .map_err(|_| AppError::BadRequest)?;
    let up = super::documents::read_upload(m).await?;
    let mut errors = ValidationErrors::new();
    let limit = ctx.state.settings.cases.upload_limit_bytes();
    let checked = if report.screenshot.is_some() {
        Err("agency-screenshot-exists")
    } else if up.content.len() > limit {
        Err("agency-screenshot-too-large")
    } else {
        match haven_domain::documents::check_upload(&up.name, &up.content, true) {
            Ok(t) => Ok(t),
            Err(refusal) => Err(refusal.code()),
        }
    };
    let file_type = match checked {
        Ok(t) => t,
        Err(code) => {
            errors.add("screenshot", code);
            ctx.audit_now(
                me.org(),
                ctx.event("agency.screenshot_refused", Outcome::Denied)
                    .target("agency", row.id)
                    .details(json!({ "reason": code, "size": up.content.len() })),
            )
            .await?;
            let o = FormState {
                section: "screenshot",
                errors: FormErrors::from_validation(&ctx.tr(), &errors),
                kept: Vec::new(),
            };
            let mut res = agency_page(&ctx, &row, o, Vec::new()).await?;
            *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            return Ok(res);
        }
    };
    let sid = ctx.state.ids().uuid();
    let mut tx = ctx.state.db.begin().await?;
    store::add_screenshot(
        &mut tx,
        &ring,
        ctx.state.rng.as_ref(),
        me.org(),
        sid,
        rid,
        file_type.media_type(),
        &up.content,
    )
    .await?;
    ctx.audit(
        &mut tx,
        me.org(),
        ctx.event("agency.screenshot_added", Outcome::Ok)
            .target("agency", row.id)
            .details(
                json!({ "report": rid, "screenshot": sid, "media_type": file_type.media_type() }),
            ),
    )
    .await?;
    tx.commit().await?;
    Ok(see_other(&format!("/staff/agencies/{}#reports", row.id)))
}

/// GET /staff/agencies/{id}/screenshots/{sid}: a report's screenshot, as a download (audited).
pub async fn screenshot(ctx: Ctx, Path((id, sid)): Path<(String, String)>) -> AppResult<Response> {
    let me = ctx.user()?;
    let row = find_row(&ctx, &id).await?;
    let sid: Uuid = sid.parse().map_err(|_| AppError::NotFound)?;
    let ring = ctx.state.keys.get(me.org()).await?;
    let (media_type, content) = store::screenshot(&ctx.state.db, &ring, me.org(), row.id, sid)
        .await?
        .ok_or(AppError::NotFound)?;
    ctx.audit_now(
        me.org(),
        ctx.event("agency.screenshot_downloaded", Outcome::Ok)
            .target("agency", row.id)
            .details(json!({ "screenshot": sid, "media_type": media_type })),
    )
    .await?;
    let ext = if media_type == "image/png" {
        "png"
    } else {
        "jpg"
    };
    let mut res = content.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"screenshot.{ext}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

// Job-offer reports.

/// A proposed agency on the report form.
pub struct CandidateView {
    id: String,
    name: String,
    certainty: String,
    certainty_code: &'static str,
    reasons: String,
    licence: String,
    reports: i64,
}

#[derive(Template)]
#[template(path = "staff/agency_report.html")]
struct ReportPage<'a> {
    page: Page<'a>,
    contact: String,
    f: FormView,
    errors: FormErrors,
    matched: bool,
    candidates: Vec<CandidateView>,
    choice: String,
    screenshot: bool,
    taken: Vec<(String, String)>,
}

/// The contact a report comes from.
#[derive(Debug, Deserialize)]
pub struct ReportQuery {
    #[serde(default)]
    contact: String,
}

/// A contact the person may see, or 404.
async fn visible_contact(ctx: &Ctx, id: &str) -> AppResult<contacts::ContactFacts> {
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

fn report_form(ctx: &Ctx, o: &FormState, defaults: &[(String, String)]) -> FormView {
    let tr = ctx.tr();
    let d = |k: &str| defaults.one(k).to_owned();
    let flags: Vec<(String, String)> = RED_FLAGS
        .iter()
        .map(|c| ((*c).to_owned(), tr.t(&format!("agency-flag-{c}"))))
        .collect();
    FormBuilder::new(
        &tr,
        o,
        "report",
        "/staff/agencies/reports".into(),
        "agency-report-title",
        "agency-report-save",
    )
    .field("rp_agency_name", "text", &d("rp_agency_name"))
    .field("rp_channels", "textarea", &d("rp_channels"))
    .hint("agency-report-channels-hint")
    .field("rp_registration_number", "text", "")
    .field("rp_ad_url", "text", &d("rp_ad_url"))
    .field("rp_ad_text", "textarea", &d("rp_ad_text"))
    .field("rp_country", "text", "")
    .hint("agency-report-country-hint")
    .text("rp_job_type")
    .text("rp_wage")
    .text("rp_fee")
    .field("rp_currency", "text", "EUR")
    .checks("rp_flags", flags)
    .build()
}

/// What the portal's report form wrote into the contact's notes, as the report's fields.
fn from_portal_notes(notes: &str, summary: &str) -> Vec<(String, String)> {
    let mut out = vec![("rp_ad_text".to_owned(), summary.to_owned())];
    for line in notes.lines() {
        if let Some(v) = line.strip_prefix("Agency/employer: ") {
            out.push(("rp_agency_name".into(), v.trim().to_owned()));
        } else if let Some(v) = line.strip_prefix("Link: ") {
            out.push(("rp_ad_url".into(), v.trim().to_owned()));
            out.push(("rp_channels".into(), v.trim().to_owned()));
        }
    }
    out
}

async fn has_screenshot(ctx: &Ctx, org: OrgId, contact: ContactId) -> AppResult<bool> {
    let ring = ctx.state.keys.get(org).await?;
    Ok(portal_store::files(&ctx.state.db, &ring, org, contact)
        .await?
        .iter()
        .any(|f| f.media_type.starts_with("image/")))
}

/// GET /staff/agencies/reports/new?contact=…: the job-offer form of a contact (fields a portal
/// submission already holds are filled in).
pub async fn report_form_page(ctx: Ctx, Query(q): Query<ReportQuery>) -> AppResult<Response> {
    let me = ctx.user()?;
    let f = visible_contact(&ctx, &q.contact).await?;
    let c = super::desk::open_contact(&ctx, f.id, Some("job_offer_report")).await?;
    let defaults = if portal_store::has_receipt(&ctx.state.db, me.org(), f.id).await? {
        from_portal_notes(&c.notes, &c.summary)
    } else {
        Vec::new()
    };
    let o = FormState::default();
    let form = report_form(&ctx, &o, &defaults);
    render(&ReportPage {
        page: ctx.page("agency-report-title"),
        contact: f.id.to_string(),
        f: form,
        errors: FormErrors::none(),
        matched: false,
        candidates: Vec::new(),
        choice: String::new(),
        screenshot: has_screenshot(&ctx, me.org(), f.id).await?,
        taken: Vec::new(),
    })
}

/// A report's fields read from the form.
struct ReportInput {
    agency_name: String,
    channels: Vec<Channel>,
    registration_number: String,
    ad_url: String,
    ad_text: String,
    country: Option<String>,
    job_type: String,
    wage: Option<i64>,
    fee: Option<i64>,
    currency: String,
    flags: Vec<String>,
}

fn read_report(ctx: &Ctx, form: &[(String, String)]) -> (ReportInput, ValidationErrors) {
    let mut p = Parser::new(form, parse_ctx(ctx));
    let agency_name = p.text_max("rp_agency_name", 300);
    let registration_number = p.text_max("rp_registration_number", 40);
    let ad_url = p.text_max("rp_ad_url", 2000);
    let ad_text = p.text_max("rp_ad_text", 20_000);
    let country = p.country("rp_country").map(|c| c.as_str().to_owned());
    let job_type = p.text_max("rp_job_type", 200);
    let wage = p.money("rp_wage");
    let fee = p.money("rp_fee");
    let currency = form.one("rp_currency").to_ascii_uppercase();
    let mut errors = p.errors;
    let currency = if currency.is_empty() {
        "EUR".to_owned()
    } else {
        if !haven_domain::court::valid_currency(&currency) {
            errors.add("rp_currency", "currency-invalid");
        }
        currency
    };
    let mut flags = Vec::new();
    for f in form.all("rp_flags") {
        match RED_FLAGS.iter().find(|c| **c == f) {
            Some(c) if !flags.iter().any(|x: &String| x == c) => flags.push((*c).to_owned()),
            Some(_) => {}
            None => errors.add("rp_flags", "code-unknown"),
        }
    }
    let mut channels = Vec::new();
    for raw in lines(form.one("rp_channels")) {
        match read_channel(raw, None, &region(ctx)) {
            Some(c) if !channels.contains(&c) => channels.push(c),
            Some(_) => {}
            None => {
                if errors.for_field("rp_channels").is_none() {
                    errors.add("rp_channels", "agency-channel-invalid");
                }
            }
        }
    }
    if agency_name.is_empty() && channels.is_empty() && ad_text.is_empty() && ad_url.is_empty() {
        errors.add("rp_agency_name", "agency-report-empty");
    }
    (
        ReportInput {
            agency_name,
            channels,
            registration_number,
            ad_url,
            ad_text,
            country,
            job_type,
            wage,
            fee,
            currency,
            flags,
        },
        errors,
    )
}

async fn candidates(ctx: &Ctx, r: &ReportInput) -> AppResult<Vec<AgencyMatch>> {
    let me = ctx.user()?;
    let ring = ctx.state.keys.get(me.org()).await?;
    let reg = (!r.registration_number.is_empty()).then(|| r.registration_number.clone());
    let q = MatchQuery {
        name: r.agency_name.clone(),
        channels: r.channels.clone(),
        registration_number: reg.clone(),
        tax_number: reg,
    };
    Ok(store::find_matches(&ctx.state.db, &ring, me.org(), &q, 10).await?)
}

fn candidate_views(tr: &Tr<'_>, found: &[AgencyMatch]) -> Vec<CandidateView> {
    found
        .iter()
        .map(|m| CandidateView {
            id: m.agency.id.to_string(),
            name: m.agency.name.clone(),
            certainty: certainty_label(tr, m.certainty),
            certainty_code: m.certainty.code(),
            reasons: m
                .reasons
                .iter()
                .map(|r| reason_text(tr, r))
                .collect::<Vec<_>>()
                .join("; "),
            licence: licence_label(tr, m.agency.licence_status),
            reports: m.agency.report_count,
        })
        .collect()
}

/// POST /staff/agencies/reports: `do=match` proposes the agencies that match, with their
/// reasons; `do=save` records the report for the agency chosen (`rp_choice`: an agency's id,
/// `new` to create one from the report with its channels, or `none`).
pub async fn report(ctx: Ctx, Form(pairs): Form<Vec<(String, String)>>) -> AppResult<Response> {
    let me = ctx.user()?.clone();
    let form = pairs.as_slice();
    let facts = visible_contact(&ctx, form.one("contact")).await?;
    let (input, mut errors) = read_report(&ctx, form);
    let found = if errors.is_empty() {
        candidates(&ctx, &input).await?
    } else {
        Vec::new()
    };
    let choice = form.one("rp_choice").to_owned();
    let saving = form.one("do") == "save";
    let mut taken = Vec::new();
    let chosen: Option<Option<Uuid>> = match choice.as_str() {
        _ if !saving => None,
        "" => {
            errors.add("rp_choice", "agency-report-choose");
            None
        }
        "none" => Some(None),
        "new" => {
            if input.agency_name.is_empty() {
                errors.add("rp_agency_name", "agency-report-name-needed");
            }
            let ring = ctx.state.keys.get(me.org()).await?;
            for c in &input.channels {
                for holder in store::channel_holders(&ctx.state.db, &ring, me.org(), c).await? {
                    if let Some(r) = store::row(&ctx.state.db, me.org(), holder).await? {
                        taken.push((format!("/staff/agencies/{}", r.id), r.name));
                    }
                }
            }
            if !taken.is_empty() {
                errors.add("rp_channels", "agency-channel-taken");
            }
            Some(None)
        }
        id => match id.parse::<Uuid>() {
            Ok(id) if store::row(&ctx.state.db, me.org(), id).await?.is_some() => Some(Some(id)),
            _ => {
                errors.add("rp_choice", "code-unknown");
                None
            }
        },
    };
    let screenshot_available = has_screenshot(&ctx, me.org(), facts.id).await?;
    let Some(agency) = chosen.filter(|_| errors.is_empty()) else {
        let tr = ctx.tr();
        let o = FormState {
            section: "report",
            errors: FormErrors::from_validation(&tr, &errors),
            kept: form.to_vec(),
        };
        let f = report_form(&ctx, &o, &[]);
        let mut res = render(&ReportPage {
            page: ctx.page("agency-report-title"),
            contact: facts.id.to_string(),
            f,
            errors: o.errors.clone(),
            matched: true,
            candidates: candidate_views(&tr, &found),
            choice,
            screenshot: screenshot_available,
            taken,
        })?;
        if !errors.is_empty() {
            *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        }
        return Ok(res);
    };
    let ring = ctx.state.keys.get(me.org()).await?;
    let now = ctx.state.now();
    let rng = ctx.state.rng.as_ref();
    let source = if portal_store::has_receipt(&ctx.state.db, me.org(), facts.id).await? {
        ReportSource::Portal
    } else {
        ReportSource::Hotline
    };
    let shot = if screenshot_available && form.one("rp_screenshot") == "on" {
        let files = portal_store::files(&ctx.state.db, &ring, me.org(), facts.id).await?;
        match files.iter().find(|f| f.media_type.starts_with("image/")) {
            Some(f) => {
                portal_store::file_content(&ctx.state.db, &ring, me.org(), facts.id, f.id).await?
            }
            None => None,
        }
    } else {
        None
    };
    let mut tx = ctx.state.db.begin().await?;
    let agency_id = match agency {
        Some(id) => Some(id),
        None if choice == "new" => {
            let id = ctx.state.ids().uuid();
            let reg =
                (!input.registration_number.is_empty()).then(|| input.registration_number.clone());
            store::insert(
                &mut tx,
                &ring,
                rng,
                me.org(),
                id,
                &AgencyInput {
                    name: input.agency_name.clone(),
                    registration_number: reg,
                    countries: input.country.iter().cloned().collect(),
                    ..AgencyInput::default()
                },
                Some(me.user.id),
                now,
            )
            .await?;
            ctx.audit(
                &mut tx,
                me.org(),
                ctx.event("agency.created", Outcome::Ok)
                    .target("agency", id)
                    .details(
                        json!({ "from": "job_offer_report", "channels": input.channels.len() }),
                    ),
            )
            .await?;
            Some(id)
        }
        None => None,
    };
    // The channels of the report that its agency does not hold yet are added to it (a channel
    // another agency holds stays with that agency).
    let mut added = 0;
    if let Some(a) = agency_id {
        for c in &input.channels {
            if store::add_channel(
                &mut tx,
                &ring,
                rng,
                me.org(),
                ctx.state.ids().uuid(),
                a,
                c,
                Some(me.user.id),
                now,
            )
            .await?
            .is_ok()
            {
                added += 1;
            }
        }
    }
    let report_id = ctx.state.ids().uuid();
    let today = parse_ctx(&ctx).today();
    store::insert_report(
        &mut tx,
        &ring,
        rng,
        me.org(),
        &NewReport {
            id: report_id,
            agency_id,
            contact_id: Some(facts.id),
            source,
            reported_on: today,
            ad_text: input.ad_text.clone(),
            ad_url: input.ad_url.clone(),
            channels: input.channels.clone(),
            agency_name: input.agency_name.clone(),
            destination_country: input.country.clone(),
            job_type: (!input.job_type.is_empty()).then(|| input.job_type.clone()),
            wage_minor: input.wage,
            fee_minor: input.fee,
            currency: input.currency.clone(),
            red_flags: input.flags.clone(),
            by: me.user.id,
            now,
        },
    )
    .await?;
    if let Some((media_type, content)) = &shot {
        store::add_screenshot(
            &mut tx,
            &ring,
            rng,
            me.org(),
            ctx.state.ids().uuid(),
            report_id,
            media_type,
            content,
        )
        .await?;
    }
    let mut ev = ctx
        .event("agency.report_recorded", Outcome::Ok)
        .details(json!({
            "report": report_id,
            "contact": facts.id.0,
            "source": source.code(),
            "channels_added": added,
            "screenshot": shot.is_some(),
        }));
    if let Some(a) = agency_id {
        ev = ev.target("agency", a);
    }
    ctx.audit(&mut tx, me.org(), ev).await?;
    tx.commit().await?;
    Ok(match agency_id {
        Some(a) => see_other(&format!("/staff/agencies/{a}#reports")),
        None => see_other(&format!("/staff/desk/contacts/{}", facts.id)),
    })
}

/// The agencies a contact mentions, as links for the contact page.
pub async fn mentioned_by(
    ctx: &Ctx,
    org: OrgId,
    contact: ContactId,
) -> AppResult<Vec<(String, String)>> {
    Ok(store::of_contact(&ctx.state.db, org, contact)
        .await?
        .into_iter()
        .map(|(id, name)| (format!("/staff/agencies/{id}"), name))
        .collect())
}

/// A date typed in a form, for the API.
pub fn date_of(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}
