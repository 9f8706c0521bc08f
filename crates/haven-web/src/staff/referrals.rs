//! Written notifications and referrals (issue 6): the list with overdue ones marked, writing one
//! from a case or a hotline contact (people and their fields chosen, consent checked), the
//! notification page (the letter as it will go out, its steps, what can be done next), submitting,
//! approving, sending (recorded by post, by hand or by fax with the date), recording the outcome,
//! the letter templates per purpose and language, and the reply link institutions answer through
//! without an account.
//!
//! Access: the route table checks the permission; a notification that belongs to a case follows
//! the case's access, one that belongs to a contact the contact's. Every view of a notification
//! page (it shows the letter) and every step is audited. Subjects, bodies and the people named
//! are sealed at rest; lists show protocol numbers, institutions and dates only.

use std::collections::HashMap;

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, Request};
use axum::http::StatusCode;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::{NaiveDate, TimeDelta};
use haven_crypto::tokens::{random_token, token_hash};
use haven_domain::cases::{
    CaseId, ConsentFact, DocumentId, DocumentKind, FormFields, Parser, missing_for_sharing,
};
use haven_domain::desk::ContactId;
use haven_domain::documents::{FileRefusal, FileType, check_upload};
use haven_domain::people::PersonId;
use haven_domain::policy::{Permission, contact_visible};
use haven_domain::referrals::{
    self as domain, NotificationId, Outcome as LetterOutcome, Purpose, ReplyId, SendMethod, Status,
    Step,
};
use haven_domain::validate::ValidationErrors;
use haven_domain::{Language, OrgId};
use haven_store::audit::Outcome;
use haven_store::cases::{self, NewEvent};
use haven_store::notifications::{self as store, NotificationRow, StepDetails};
use haven_store::{contacts, institutions, people, users};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::cases::{fmt_date, parse_ctx, tz};
use super::court::{FormBuilder, FormState, FormView, opts};
use super::institutions::localized_name;
use super::see_other;
use crate::error::{AppError, AppResult};
use crate::i18n::Tr;
use crate::ui::{Ctx, FormErrors, Page, render};
use crate::uploads;

/// How long a reply link works after the letter is sent.
pub const REPLY_LINK_DAYS: i64 = 90;

/// The longest subject and body a letter may have.
const SUBJECT_MAX: usize = 300;
const BODY_MAX: usize = 20_000;

// Access.

/// Finds a notification of the person's organisation and checks the case or contact it belongs
/// to. Another organisation's, a malformed id, or one whose contact the person may not see is
/// not found; a restricted case answers as the case does (403, audited).
pub async fn require(ctx: &Ctx, id: &str) -> AppResult<Result<NotificationRow, Response>> {
    let me = ctx.user()?;
    let id: NotificationId = id.parse().map_err(|_| AppError::NotFound)?;
    let row = store::row(&ctx.state.db, me.org(), id)
        .await?
        .ok_or(AppError::NotFound)?;
    if let Some(case) = row.case_id
        && let Err(r) = super::cases::require(ctx, &case.to_string()).await?
    {
        return Ok(Err(r));
    }
    if let Some(contact) = row.contact_id {
        let f = contacts::facts(&ctx.state.db, me.org(), ContactId(contact))
            .await?
            .ok_or(AppError::NotFound)?;
        if !contact_visible(&me.actor(), f.org_id, f.confidential, &f.counsellors) {
            return Err(AppError::NotFound);
        }
    }
    // Written about an agency alone: for those who may read about agencies.
    if row.case_id.is_none()
        && row.contact_id.is_none()
        && !me.actor().can(Permission::ViewAgencies)
    {
        return Err(AppError::NotFound);
    }
    Ok(Ok(row))
}

macro_rules! allowed {
    ($ctx:expr, $id:expr) => {
        match require(&$ctx, &$id).await? {
            Ok(r) => r,
            Err(r) => return Ok(r),
        }
    };
}

async fn institution_names(ctx: &Ctx, org: OrgId) -> AppResult<HashMap<Uuid, String>> {
    Ok(institutions::search(&ctx.state.db, org, None, "")
        .await?
        .into_iter()
        .map(|i| (i.id, localized_name(&i, ctx.lang)))
        .collect())
}

fn today(ctx: &Ctx) -> NaiveDate {
    ctx.state.now().with_timezone(&tz(ctx)).date_naive()
}

fn label_of<T: haven_domain::cases::Taxonomy>(tr: &Tr<'_>, v: T) -> String {
    tr.t(&v.label())
}

// The list.

/// A notification as a row: nothing identifying.
pub struct NotificationListRow {
    /// Its id.
    pub id: String,
    /// Its protocol number.
    pub number: String,
    /// Its purpose.
    pub purpose: String,
    /// The institution.
    pub institution: String,
    /// Its status.
    pub status: String,
    /// Its deadline.
    pub deadline: String,
    /// Whether it is overdue.
    pub overdue: bool,
}

async fn list_rows(ctx: &Ctx, rows: Vec<NotificationRow>) -> AppResult<Vec<NotificationListRow>> {
    let me = ctx.user()?;
    let tr = ctx.tr();
    let names = institution_names(ctx, me.org()).await?;
    let today = today(ctx);
    Ok(rows
        .into_iter()
        .map(|r| NotificationListRow {
            id: r.id.to_string(),
            number: r.protocol_number.clone(),
            purpose: r.purpose().map(|p| label_of(&tr, p)).unwrap_or_default(),
            institution: names.get(&r.institution_id).cloned().unwrap_or_default(),
            status: r.status().map(|s| label_of(&tr, s)).unwrap_or_default(),
            deadline: r
                .deadline_on
                .map(|d| fmt_date(d, ctx.lang))
                .unwrap_or_default(),
            overdue: r.overdue(today),
        })
        .collect())
}

#[derive(Template)]
#[template(path = "staff/notifications.html")]
struct ListPage<'a> {
    page: Page<'a>,
    rows: Vec<NotificationListRow>,
    can_templates: bool,
}

/// GET /staff/notifications.
pub async fn list(ctx: Ctx) -> AppResult<Response> {
    let me = ctx.user()?;
    let rows = store::list(&ctx.state.db, me.org()).await?;
    let mut shown = Vec::new();
    for r in rows {
        if let Ok(Ok(r)) = require(&ctx, &r.id.to_string()).await {
            shown.push(r);
        }
    }
    render(&ListPage {
        page: ctx.page("notifications-title"),
        rows: list_rows(&ctx, shown).await?,
        can_templates: me.actor().can(Permission::ApproveNotifications),
    })
}

/// The overdue notifications the person may open, for the dashboard.
pub async fn overdue_rows(ctx: &Ctx) -> AppResult<Vec<NotificationListRow>> {
    let me = ctx.user()?;
    if !me.actor().can(Permission::ViewNotifications) {
        return Ok(Vec::new());
    }
    let rows = store::overdue(&ctx.state.db, me.org(), today(ctx)).await?;
    let mut shown = Vec::new();
    for r in rows {
        if let Ok(Ok(r)) = require(ctx, &r.id.to_string()).await {
            shown.push(r);
        }
    }
    list_rows(ctx, shown).await
}

/// The notifications an institution answered or acknowledged since the person (their author or
/// an advisor of their case) last opened them, for the dashboard: numbers and institutions only.
pub async fn unseen_rows(ctx: &Ctx) -> AppResult<Vec<NotificationListRow>> {
    let me = ctx.user()?;
    if !me.actor().can(Permission::ViewNotifications) {
        return Ok(Vec::new());
    }
    let rows = store::unseen(&ctx.state.db, me.org(), me.user.id).await?;
    let mut shown = Vec::new();
    for r in rows {
        if let Ok(Ok(r)) = require(ctx, &r.id.to_string()).await {
            shown.push(r);
        }
    }
    list_rows(ctx, shown).await
}

// Writing one.

#[derive(Template)]
#[template(path = "staff/notification_new.html")]
struct NewPage<'a> {
    page: Page<'a>,
    f: FormView,
    errors: FormErrors,
}

/// What the new-notification page is opened with: the case or the contact it belongs to.
#[derive(Debug, Default, Deserialize)]
pub struct NewQuery {
    #[serde(default)]
    case: String,
    #[serde(default)]
    contact: String,
    /// An agency the notification is about, when written from the agency's page.
    #[serde(default)]
    agency: String,
}

/// The fields of a person a letter may name.
const PERSON_FIELDS: &[&str] = &["name", "birth_year", "citizenship"];

async fn people_choices(ctx: &Ctx, case: Option<CaseId>) -> AppResult<Vec<(String, String)>> {
    let me = ctx.user()?;
    let Some(case) = case else {
        return Ok(Vec::new());
    };
    let ring = ctx.state.keys.get(me.org()).await?;
    let mut out = Vec::new();
    for l in cases::people_of(&ctx.state.db, me.org(), case).await? {
        if out.iter().any(|(id, _)| *id == l.person_id.to_string()) {
            continue;
        }
        if let Some(p) = people::get(&ctx.state.db, &ring, me.org(), l.person_id).await? {
            out.push((l.person_id.to_string(), p.name));
        }
    }
    Ok(out)
}

async fn document_choices(ctx: &Ctx, case: Option<CaseId>) -> AppResult<Vec<(String, String)>> {
    let me = ctx.user()?;
    let Some(case) = case else {
        return Ok(Vec::new());
    };
    let ring = ctx.state.keys.get(me.org()).await?;
    Ok(
        haven_store::documents::list(&ctx.state.db, &ring, me.org(), case)
            .await?
            .into_iter()
            .map(|d| (d.id.to_string(), d.name))
            .collect(),
    )
}

/// The case, contact or agency a new notification belongs to, checked.
async fn owner(
    ctx: &Ctx,
    case: &str,
    contact: &str,
    agency: &str,
) -> AppResult<Result<(Option<CaseId>, Option<ContactId>, Option<Uuid>), Response>> {
    let me = ctx.user()?;
    let agency = if agency.is_empty() {
        None
    } else {
        if !me.actor().can(Permission::ViewAgencies) {
            return Err(AppError::NotFound);
        }
        let id: Uuid = agency.parse().map_err(|_| AppError::NotFound)?;
        haven_store::agencies::row(&ctx.state.db, me.org(), id)
            .await?
            .ok_or(AppError::NotFound)?;
        Some(id)
    };
    let case = if case.is_empty() {
        None
    } else {
        match super::cases::require(ctx, case).await? {
            Ok(g) => Some(g.summary.id),
            Err(r) => return Ok(Err(r)),
        }
    };
    let contact = if contact.is_empty() {
        None
    } else {
        let id: ContactId = contact.parse().map_err(|_| AppError::NotFound)?;
        let f = contacts::facts(&ctx.state.db, me.org(), id)
            .await?
            .ok_or(AppError::NotFound)?;
        if !contact_visible(&me.actor(), f.org_id, f.confidential, &f.counsellors) {
            return Err(AppError::NotFound);
        }
        Some(id)
    };
    if case.is_none() && contact.is_none() && agency.is_none() {
        return Err(AppError::NotFound);
    }
    Ok(Ok((case, contact, agency)))
}

async fn new_page(
    ctx: &Ctx,
    o: FormState,
    q: &NewQuery,
    case: Option<CaseId>,
) -> AppResult<Response> {
    let me = ctx.user()?;
    let tr = ctx.tr();
    let mut insts: Vec<(String, String)> = institutions::search(&ctx.state.db, me.org(), None, "")
        .await?
        .into_iter()
        .map(|i| (i.id.to_string(), localized_name(&i, ctx.lang)))
        .collect();
    insts.sort_by(|a, b| a.1.cmp(&b.1));
    let langs = Language::ALL
        .into_iter()
        .map(|l| (l.code().to_owned(), l.native_name().to_owned()))
        .collect();
    let deadline = (today(ctx) + TimeDelta::days(30))
        .format("%Y-%m-%d")
        .to_string();
    let mut f = FormBuilder::new(
        &tr,
        &o,
        "notification",
        "/staff/notifications/new".into(),
        "notification-new-title",
        "notification-new-submit",
    )
    .select("purpose", opts::<Purpose>(&tr))
    .default("report")
    .select("institution", insts)
    .text("recipient_person")
    .select("letter_language", langs)
    .default(ctx.lang.code())
    .text("subject")
    .textarea("letter_body")
    .date("deadline")
    .default(&deadline);
    if case.is_some() {
        f = f
            .checks("share_people", people_choices(ctx, case).await?)
            .hint("notification-share-hint")
            .checks(
                "share_fields",
                PERSON_FIELDS
                    .iter()
                    .map(|x| {
                        (
                            (*x).to_owned(),
                            tr.t(&format!("notification-person-field-{x}")),
                        )
                    })
                    .collect(),
            )
            .checks("attach", document_choices(ctx, case).await?);
    }
    let f = f
        .field("case", "hidden", &q.case)
        .field("contact", "hidden", &q.contact)
        .field("agency", "hidden", &q.agency)
        .build();
    let errors = o.errors.clone();
    render(&NewPage {
        page: ctx.page("notification-new-title"),
        f,
        errors,
    })
}

/// GET /staff/notifications/new?case=…|contact=….
pub async fn new_form(ctx: Ctx, Query(q): Query<NewQuery>) -> AppResult<Response> {
    let (case, _, _) = match owner(&ctx, &q.case, &q.contact, &q.agency).await? {
        Ok(o) => o,
        Err(r) => return Ok(r),
    };
    new_page(&ctx, FormState::default(), &q, case).await
}

/// POST /staff/notifications/new.
pub async fn create(ctx: Ctx, Form(pairs): Form<Vec<(String, String)>>) -> AppResult<Response> {
    let me = ctx.user()?.clone();
    let form = pairs.as_slice();
    let (case, contact, agency) = match owner(
        &ctx,
        form.one("case"),
        form.one("contact"),
        form.one("agency"),
    )
    .await?
    {
        Ok(o) => o,
        Err(r) => return Ok(r),
    };
    let mut p = Parser::new(form, parse_ctx(&ctx));
    let purpose = p.code("purpose", Purpose::from_code);
    if purpose.is_none() && p.errors.for_field("purpose").is_none() {
        p.errors.add("purpose", "required");
    }
    let names = institution_names(&ctx, me.org()).await?;
    let institution = match form.one("institution") {
        "" => {
            p.errors.add("institution", "required");
            None
        }
        v => match v.parse::<Uuid>().ok().filter(|u| names.contains_key(u)) {
            Some(u) => Some(u),
            None => {
                p.errors.add("institution", "code-unknown");
                None
            }
        },
    };
    let recipient_person = p.text_max("recipient_person", 200);
    let language: Language = form.one("letter_language").parse().unwrap_or(ctx.lang);
    let subject = p.required_text("subject", SUBJECT_MAX);
    let body = p.required_text("letter_body", BODY_MAX);
    let deadline = p.any_date("deadline");
    let mut errors: ValidationErrors = p.errors;
    if let Some(d) = deadline
        && d < today(&ctx)
    {
        errors.add("deadline", "notification-deadline-past");
    }
    // People and their fields: only those chosen, and only with consent to share with this
    // institution.
    let choices = people_choices(&ctx, case).await?;
    let chosen: Vec<PersonId> = form
        .all("share_people")
        .into_iter()
        .filter(|v| choices.iter().any(|(id, _)| id == v))
        .filter_map(|v| v.parse().ok())
        .collect();
    let fields: Vec<&str> = form
        .all("share_fields")
        .into_iter()
        .filter(|f| PERSON_FIELDS.contains(f))
        .collect();
    let ring = ctx.state.keys.get(me.org()).await?;
    let mut people_text = String::new();
    if !chosen.is_empty() {
        if fields.is_empty() {
            errors.add("share_fields", "notification-fields-required");
        }
        if let Some(inst) = institution {
            let records = cases::consents_of(&ctx.state.db, &ring, me.org(), &chosen).await?;
            let facts: Vec<(PersonId, Vec<ConsentFact>)> = chosen
                .iter()
                .map(|p| {
                    (
                        *p,
                        records
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
            let missing = missing_for_sharing(&facts, inst);
            if !missing.is_empty() {
                let who = missing
                    .iter()
                    .filter_map(|(p, _)| choices.iter().find(|(id, _)| *id == p.to_string()))
                    .map(|(_, n)| n.clone())
                    .collect::<Vec<_>>()
                    .join(", ");
                errors.add_with(
                    "share_people",
                    "notification-consent-missing",
                    vec![("people", who)],
                );
            }
        }
        let tr = ctx.state.i18n.tr(language);
        for pid in &chosen {
            if let Some(person) = people::get(&ctx.state.db, &ring, me.org(), *pid).await? {
                let mut parts = Vec::new();
                if fields.contains(&"name") {
                    parts.push(person.name.clone());
                }
                if fields.contains(&"birth_year")
                    && let Some(y) = person.birth_year
                {
                    parts.push(tr.t1("notification-born", "year", y));
                }
                if fields.contains(&"citizenship")
                    && let Some(c) = &person.citizenship
                {
                    parts.push(tr.t1("notification-citizen", "country", c.to_string()));
                }
                if !parts.is_empty() {
                    people_text.push_str(&parts.join(", "));
                    people_text.push('\n');
                }
            }
        }
    }
    let docs = document_choices(&ctx, case).await?;
    let attach: Vec<haven_domain::cases::DocumentId> = form
        .all("attach")
        .into_iter()
        .filter(|v| docs.iter().any(|(id, _)| id == v))
        .filter_map(|v| v.parse().ok())
        .collect();
    let (Some(purpose), Some(institution), true) = (purpose, institution, errors.is_empty()) else {
        let o = FormState {
            section: "notification",
            errors: FormErrors::from_validation(&ctx.tr(), &errors),
            kept: form.to_vec(),
        };
        let q = NewQuery {
            case: form.one("case").to_owned(),
            contact: form.one("contact").to_owned(),
            agency: form.one("agency").to_owned(),
        };
        let mut res = new_page(&ctx, o, &q, case).await?;
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(res);
    };
    let settings = store::settings(&ctx.state.db, me.org()).await?;
    let now = ctx.state.now();
    let id: NotificationId = ctx.state.ids().id();
    let mut tx = ctx.state.db.begin().await?;
    let number = store::create(
        &mut tx,
        &ring,
        ctx.state.rng.as_ref(),
        me.org(),
        &settings.protocol_format,
        &store::NewNotification {
            id,
            case,
            contact,
            purpose,
            institution,
            language,
            recipient_person,
            subject,
            body,
            people: people_text,
            deadline,
            documents: attach.clone(),
            by: me.user.id,
            now,
            step_id: ctx.state.ids().uuid(),
        },
    )
    .await?;
    ctx.audit(
        &mut tx,
        me.org(),
        ctx.event("notification.created", Outcome::Ok)
            .target("notification", id.0)
            .details(json!({
                "purpose": purpose.code(),
                "institution": institution,
                "protocol_number": number,
                "case": case.map(|c| c.0),
                "contact": contact.map(|c| c.0),
                "agency": agency,
                "people": chosen.len(),
                "fields": fields,
                "documents": attach.len(),
            })),
    )
    .await?;
    if let Some(case) = case {
        let mut ev = NewEvent::new("notification_written", Some(me.user.id));
        ev.ref_id = Some(id.0);
        ev.data = json!({ "notification": id.0, "number": number });
        super::cases::event(&ctx, &mut tx, &ring, case, ev).await?;
    }
    if let Some(agency) = agency {
        // Written about an agency: found from it, and one of the actions on its page.
        store::link_agency(&mut tx, me.org(), id, agency).await?;
        haven_store::agencies::add_action(
            &mut tx,
            &ring,
            ctx.state.rng.as_ref(),
            me.org(),
            &haven_store::agencies::Action {
                id: ctx.state.ids().uuid(),
                agency_id: agency,
                kind: haven_store::agencies::ActionKind::Notification,
                notification_id: Some(id.0),
                happened_on: today(&ctx),
                note: String::new(),
                by: Some(me.user.id),
                at: now,
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(see_other(&format!("/staff/notifications/{id}")))
}

// The notification page.

/// A step as a row.
pub struct StepView {
    status: String,
    who: String,
    at: String,
}

#[derive(Template)]
#[template(path = "staff/notification.html")]
struct NotificationPage<'a> {
    page: Page<'a>,
    id: String,
    purpose: String,
    institution: String,
    status: String,
    status_code: &'static str,
    deadline: String,
    overdue: bool,
    letter_subject: String,
    letter_text: String,
    /// The case documents sent with the letter: link, name, size.
    attachments: Vec<(String, String, String)>,
    /// The agency it is about (link, name), when written from the agency's page.
    agency: Option<(String, String)>,
    failure: String,
    outcome: String,
    outcome_note: String,
    method: String,
    sent_on: String,
    steps: Vec<StepView>,
    replies: Vec<(String, String)>,
    /// The files institutions sent with their replies: link, name, size.
    reply_files: Vec<(String, String, String)>,
    reply_link: String,
    can_submit: bool,
    can_approve: bool,
    send_form: Option<FormView>,
    outcome_form: Option<FormView>,
    errors: FormErrors,
}

/// The letter's text in its language: the template filled with the notification's values.
pub async fn letter_text(
    ctx: &Ctx,
    org: OrgId,
    row: &NotificationRow,
    letter: &store::Letter,
) -> AppResult<(String, String)> {
    let lang = row.language();
    let purpose = row.purpose()?;
    let tpl = store::template(&ctx.state.db, org, purpose, lang).await?;
    let inst = institutions::search(&ctx.state.db, org, None, "")
        .await?
        .into_iter()
        .find(|i| i.id == row.institution_id)
        .map(|i| localized_name(&i, lang))
        .unwrap_or_default();
    let author = match row.created_by {
        Some(u) => users::get(&ctx.state.db, org, haven_domain::UserId(u))
            .await?
            .map(|u| u.display_name)
            .unwrap_or_default(),
        None => String::new(),
    };
    let case_number = match row.case_id {
        Some(c) => cases::summary(&ctx.state.db, org, CaseId(c))
            .await?
            .map(|s| s.number)
            .unwrap_or_default(),
        None => String::new(),
    };
    let values = [
        ("organisation", ctx.state.settings.org.name.clone()),
        ("recipient", inst),
        ("recipient_person", letter.recipient_person.clone()),
        ("protocol_number", row.protocol_number.clone()),
        ("date", fmt_date(today(ctx), lang)),
        (
            "deadline",
            row.deadline_on
                .map(|d| fmt_date(d, lang))
                .unwrap_or_default(),
        ),
        ("case_number", case_number),
        ("people", letter.people.trim_end().to_owned()),
        ("subject", letter.subject.clone()),
        ("body", letter.body.clone()),
        ("author", author),
    ];
    let mut subject = domain::fill(&tpl.subject, &values);
    let mut text = domain::fill(&tpl.body, &values);
    if lang == Language::SrCyrl {
        subject = haven_domain::script::latin_to_cyrillic(&subject);
        text = haven_domain::script::latin_to_cyrillic(&text);
    }
    // The enclosures, listed as a letter lists them; file names stay as they are, in any script.
    let docs = attached_documents(ctx, org, row).await?;
    if !docs.is_empty() {
        let tr = ctx.state.i18n.tr(lang);
        text.push_str("\n\n");
        text.push_str(&tr.t("letter-attachments"));
        for (n, d) in docs.iter().enumerate() {
            text.push_str(&format!("\n{}. {}", n + 1, d.name));
        }
    }
    Ok((subject, text))
}

/// The case documents chosen for a notification when it was written (their descriptions; a
/// document since removed from the case is left out).
pub async fn attached_documents(
    ctx: &Ctx,
    org: OrgId,
    row: &NotificationRow,
) -> AppResult<Vec<haven_store::documents::Document>> {
    let Some(case) = row.case_id else {
        return Ok(Vec::new());
    };
    let ring = ctx.state.keys.get(org).await?;
    let mut out = Vec::new();
    for d in store::documents(&ctx.state.db, org, row.nid()).await? {
        if let Some(doc) =
            haven_store::documents::get(&ctx.state.db, &ring, org, CaseId(case), d).await?
        {
            out.push(doc);
        }
    }
    Ok(out)
}

async fn notification_page(ctx: &Ctx, row: &NotificationRow, o: FormState) -> AppResult<Response> {
    let me = ctx.user()?;
    let org = me.org();
    let tr = ctx.tr();
    let ring = ctx.state.keys.get(org).await?;
    let letter = store::letter(&ctx.state.db, &ring, org, row.nid()).await?;
    let (letter_subject, text) = letter_text(ctx, org, row, &letter).await?;
    let status = row.status()?;
    let names = super::audit::staff_names(ctx).await?;
    let steps = store::steps(&ctx.state.db, org, row.nid())
        .await?
        .into_iter()
        .map(|s| StepView {
            status: label_of(&tr, s.status),
            who: s
                .actor
                .and_then(|u| names.get(&u.0).cloned())
                .unwrap_or_else(|| tr.t("notification-by-institution")),
            at: ctx.time(s.at),
        })
        .collect();
    let replies = store::replies(&ctx.state.db, &ring, org, row.nid())
        .await?
        .into_iter()
        .map(|(at, body)| (ctx.time(at), body))
        .collect();
    let reply_files = store::reply_files(&ctx.state.db, &ring, org, row.nid())
        .await?
        .into_iter()
        .map(|f| {
            (
                format!("/staff/notifications/{}/reply-files/{}", row.id, f.id),
                f.name,
                format!("{:.1} KiB", f.size_bytes as f64 / 1024.0),
            )
        })
        .collect();
    let settings = store::settings(&ctx.state.db, org).await?;
    let purpose = row.purpose()?;
    let actor = me.actor();
    let can_write = actor.can(Permission::WriteNotifications);
    let can_send = can_write && status.after(Step::Send, true).is_ok();
    let can_outcome = can_write && status.after(Step::RecordOutcome, true).is_ok();
    let send_form = can_send.then(|| {
        FormBuilder::new(
            &tr,
            &o,
            "send",
            format!("/staff/notifications/{}/send", row.id),
            "notification-send-title",
            "notification-send-submit",
        )
        .select("method", opts::<SendMethod>(&tr))
        .default("post")
        .date("sent_on")
        .default(&today(ctx).format("%Y-%m-%d").to_string())
        .build()
    });
    let outcome_form = can_outcome.then(|| {
        FormBuilder::new(
            &tr,
            &o,
            "outcome",
            format!("/staff/notifications/{}/outcome", row.id),
            "notification-outcome-title",
            "notification-outcome-submit",
        )
        .select("outcome", opts::<LetterOutcome>(&tr))
        .textarea("outcome_note")
        .build()
    });
    let reply_link = if o.section == "reply_link" {
        o.kept.as_slice().one("link").to_owned()
    } else {
        String::new()
    };
    let errors = o.errors.clone();
    render(&NotificationPage {
        page: ctx.page_titled(tr.t1("notification-title", "number", row.protocol_number.clone())),
        id: row.id.to_string(),
        purpose: label_of(&tr, purpose),
        institution: institution_names(ctx, org)
            .await?
            .remove(&row.institution_id)
            .unwrap_or_default(),
        status: label_of(&tr, status),
        status_code: status.code(),
        deadline: row
            .deadline_on
            .map(|d| fmt_date(d, ctx.lang))
            .unwrap_or_default(),
        overdue: row.overdue(today(ctx)),
        letter_subject,
        letter_text: text,
        agency: match store::agency_of(&ctx.state.db, org, row.nid()).await? {
            Some(a) if actor.can(Permission::ViewAgencies) => {
                haven_store::agencies::row(&ctx.state.db, org, a)
                    .await?
                    .map(|r| (format!("/staff/agencies/{a}"), r.name))
            }
            _ => None,
        },
        attachments: attached_documents(ctx, org, row)
            .await?
            .into_iter()
            .map(|d| {
                (
                    format!("/staff/cases/{}/documents/{}", d.case_id, d.id),
                    d.name,
                    format!("{:.1} KiB", d.size_bytes as f64 / 1024.0),
                )
            })
            .collect(),
        failure: if status == Status::SendingFailed {
            letter.failure.clone()
        } else {
            String::new()
        },
        outcome: row.outcome().map(|x| label_of(&tr, x)).unwrap_or_default(),
        outcome_note: letter.outcome_note.clone(),
        method: row.method().map(|m| label_of(&tr, m)).unwrap_or_default(),
        sent_on: row
            .sent_on
            .map(|d| fmt_date(d, ctx.lang))
            .unwrap_or_default(),
        steps,
        replies,
        reply_files,
        reply_link,
        can_submit: can_write && status == Status::Draft,
        can_approve: actor.can(Permission::ApproveNotifications)
            && status == Status::AwaitingApproval
            && settings.needs_approval(purpose),
        send_form,
        outcome_form,
        errors,
    })
}

/// GET /staff/notifications/{id} (audited as a view).
pub async fn show(ctx: Ctx, Path(id): Path<String>) -> AppResult<Response> {
    let row = allowed!(ctx, id);
    let me = ctx.user()?;
    let mut tx = ctx.state.db.begin().await?;
    ctx.audit(
        &mut tx,
        me.org(),
        ctx.event("notification.viewed", Outcome::Ok)
            .target("notification", row.id),
    )
    .await?;
    // Opened: it leaves the person's list of replies received.
    store::mark_seen(&mut tx, me.org(), row.nid(), me.user.id).await?;
    tx.commit().await?;
    notification_page(&ctx, &row, FormState::default()).await
}

/// Takes a step: checks it is allowed from the current status, records it and audits it.
async fn take_step(
    ctx: &Ctx,
    row: &NotificationRow,
    step: Step,
    details: &StepDetails,
    action: &str,
) -> AppResult<Option<Status>> {
    let me = ctx.user()?;
    let org = me.org();
    let status = row.status()?;
    let settings = store::settings(&ctx.state.db, org).await?;
    let Ok(to) = status.after(step, settings.needs_approval(row.purpose()?)) else {
        return Ok(None);
    };
    let ring = ctx.state.keys.get(org).await?;
    let now = ctx.state.now();
    let mut tx = ctx.state.db.begin().await?;
    if !store::step(
        &mut tx,
        &ring,
        ctx.state.rng.as_ref(),
        org,
        row.nid(),
        status,
        to,
        Some(me.user.id),
        details,
        ctx.state.ids().uuid(),
        now,
    )
    .await?
    {
        return Ok(None);
    }
    ctx.audit(
        &mut tx,
        org,
        ctx.event(action, Outcome::Ok)
            .target("notification", row.id)
            .details(json!({ "from": status.code(), "to": to.code(),
                "method": details.method.map(|m| m.code()),
                "outcome": details.outcome.map(|o| o.code()) })),
    )
    .await?;
    if let Some(case) = row.case_id {
        let mut ev = NewEvent::new("notification_step", Some(me.user.id));
        ev.ref_id = Some(row.id);
        ev.data =
            json!({ "notification": row.id, "number": row.protocol_number, "status": to.code() });
        super::cases::event(ctx, &mut tx, &ring, CaseId(case), ev).await?;
    }
    tx.commit().await?;
    Ok(Some(to))
}

/// A step no longer possible (someone moved the notification first): back to its page, which
/// shows where it stands now.
fn conflict(ctx: &Ctx, id: Uuid) -> Response {
    let _ = ctx;
    see_other(&format!("/staff/notifications/{id}"))
}

/// POST /staff/notifications/{id}/submit: the draft goes to approval (or straight to approved
/// when its purpose needs none).
pub async fn submit(ctx: Ctx, Path(id): Path<String>) -> AppResult<Response> {
    let row = allowed!(ctx, id);
    match take_step(
        &ctx,
        &row,
        Step::Submit,
        &StepDetails::default(),
        "notification.submitted",
    )
    .await?
    {
        Some(_) => Ok(see_other(&format!("/staff/notifications/{}", row.id))),
        None => Ok(conflict(&ctx, row.id)),
    }
}

/// POST /staff/notifications/{id}/approve (supervisors).
pub async fn approve(ctx: Ctx, Path(id): Path<String>) -> AppResult<Response> {
    let row = allowed!(ctx, id);
    let d = StepDetails {
        approves: true,
        ..StepDetails::default()
    };
    match take_step(&ctx, &row, Step::Approve, &d, "notification.approved").await? {
        Some(_) => Ok(see_other(&format!("/staff/notifications/{}", row.id))),
        None => Ok(conflict(&ctx, row.id)),
    }
}

/// POST /staff/notifications/{id}/reject (supervisors): back to its author as a draft.
pub async fn reject(ctx: Ctx, Path(id): Path<String>) -> AppResult<Response> {
    let row = allowed!(ctx, id);
    match take_step(
        &ctx,
        &row,
        Step::Reject,
        &StepDetails::default(),
        "notification.rejected",
    )
    .await?
    {
        Some(_) => Ok(see_other(&format!("/staff/notifications/{}", row.id))),
        None => Ok(conflict(&ctx, row.id)),
    }
}

async fn failed(
    ctx: &Ctx,
    row: &NotificationRow,
    section: &'static str,
    errors: &ValidationErrors,
    form: &[(String, String)],
) -> AppResult<Response> {
    let o = FormState {
        section,
        errors: FormErrors::from_validation(&ctx.tr(), errors),
        kept: form.to_vec(),
    };
    let mut res = notification_page(ctx, row, o).await?;
    *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(res)
}

/// Makes a new reply link for a sent notification; the token is shown once (and put in the
/// e-mail), only its hash is kept.
async fn new_reply_link(ctx: &Ctx, row: &NotificationRow) -> AppResult<String> {
    let me = ctx.user()?;
    let token = random_token(ctx.state.rng.as_ref());
    let now = ctx.state.now();
    let mut tx = ctx.state.db.begin().await?;
    store::set_reply_link(
        &mut tx,
        me.org(),
        row.nid(),
        &token_hash(&token),
        now + TimeDelta::days(REPLY_LINK_DAYS),
        now,
    )
    .await?;
    ctx.audit(
        &mut tx,
        me.org(),
        ctx.event("notification.reply_link_created", Outcome::Ok)
            .target("notification", row.id),
    )
    .await?;
    tx.commit().await?;
    let base = ctx.state.settings.public_url.clone().unwrap_or_default();
    Ok(format!("{}/reply/{token}", base.trim_end_matches('/')))
}

/// POST /staff/notifications/{id}/send: recorded as sent by post, by hand or by fax on a date.
pub async fn send(
    ctx: Ctx,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let row = allowed!(ctx, id);
    let form = pairs.as_slice();
    let mut p = Parser::new(form, parse_ctx(&ctx));
    let method = p.code("method", SendMethod::from_code);
    if method.is_none() && p.errors.for_field("method").is_none() {
        p.errors.add("method", "required");
    }
    let sent_on = p.past_date("sent_on");
    if sent_on.is_none() && p.errors.for_field("sent_on").is_none() {
        p.errors.add("sent_on", "required");
    }
    let mut errors = p.errors;
    let mut to = String::new();
    if method == Some(SendMethod::Email) {
        if crate::mail::enabled(&ctx.state.settings.smtp) {
            let me = ctx.user()?;
            to = institutions::search(&ctx.state.db, me.org(), None, "")
                .await?
                .into_iter()
                .find(|i| i.id == row.institution_id)
                .and_then(|i| i.email)
                .unwrap_or_default();
            if to.is_empty() {
                errors.add("method", "notification-no-email");
            }
        } else {
            errors.add("method", "notification-email-unavailable");
        }
    }
    let (Some(method), Some(sent_on), true) = (method, sent_on, errors.is_empty()) else {
        return failed(&ctx, &row, "send", &errors, form).await;
    };
    if method == SendMethod::Email {
        return send_email(&ctx, &row, &to).await;
    }
    let d = StepDetails {
        method: Some(method),
        sent_on: Some(sent_on),
        ..StepDetails::default()
    };
    if take_step(&ctx, &row, Step::Send, &d, "notification.sent")
        .await?
        .is_none()
    {
        return Ok(conflict(&ctx, row.id));
    }
    let link = new_reply_link(&ctx, &row).await?;
    let row = store::row(&ctx.state.db, ctx.user()?.org(), row.nid())
        .await?
        .ok_or(AppError::NotFound)?;
    let o = FormState {
        section: "reply_link",
        errors: FormErrors::none(),
        kept: vec![("link".to_owned(), link)],
    };
    notification_page(&ctx, &row, o).await
}

/// E-mails the letter as PDF with a new reply link. A failure is recorded with its reason
/// ("sending failed"); sending again retries, and nothing of the letter is lost.
async fn send_email(ctx: &Ctx, row: &NotificationRow, to: &str) -> AppResult<Response> {
    let me = ctx.user()?;
    let org = me.org();
    let link = new_reply_link(ctx, row).await?;
    let pdf = letter_pdf(ctx, org, row, &link).await?;
    let ring = ctx.state.keys.get(org).await?;
    let letter = store::letter(&ctx.state.db, &ring, org, row.nid()).await?;
    let (subject, _) = letter_text(ctx, org, row, &letter).await?;
    let tr = ctx.state.i18n.tr(row.language());
    let text = tr.t_args(
        "letter-email-text",
        &[
            ("number", row.protocol_number.clone()),
            ("organisation", ctx.state.settings.org.name.clone()),
            ("link", link.clone()),
        ],
    );
    let mut attachments = Vec::new();
    for d in attached_documents(ctx, org, row).await? {
        attachments.push(crate::mail::MailAttachment {
            bytes: haven_store::documents::content(&ctx.state.db, &ring, org, d.id).await?,
            name: d.name,
            media_type: d.media_type,
        });
    }
    let outgoing = crate::mail::Outgoing {
        to: to.to_owned(),
        subject: format!("{} — {}", row.protocol_number, subject),
        text,
        pdf,
        pdf_name: pdf_name(&row.protocol_number),
        message_key: format!("{}.{}", row.id, ctx.state.ids().uuid().simple()),
        attachments,
    };
    let o = match crate::mail::send(&ctx.state.settings.smtp, &outgoing).await {
        Ok(()) => {
            let d = StepDetails {
                method: Some(SendMethod::Email),
                sent_on: Some(today(ctx)),
                ..StepDetails::default()
            };
            if take_step(ctx, row, Step::Send, &d, "notification.sent")
                .await?
                .is_none()
            {
                return Ok(conflict(ctx, row.id));
            }
            FormState {
                section: "reply_link",
                errors: FormErrors::none(),
                kept: vec![("link".to_owned(), link)],
            }
        }
        Err(reason) => {
            let d = StepDetails {
                failure: Some(reason),
                ..StepDetails::default()
            };
            if take_step(
                ctx,
                row,
                Step::SendFailed,
                &d,
                "notification.sending_failed",
            )
            .await?
            .is_none()
            {
                return Ok(conflict(ctx, row.id));
            }
            FormState::default()
        }
    };
    let row = store::row(&ctx.state.db, org, row.nid())
        .await?
        .ok_or(AppError::NotFound)?;
    notification_page(ctx, &row, o).await
}

/// POST /staff/notifications/{id}/outcome.
pub async fn outcome(
    ctx: Ctx,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let row = allowed!(ctx, id);
    let form = pairs.as_slice();
    let mut p = Parser::new(form, parse_ctx(&ctx));
    let outcome = p.code("outcome", LetterOutcome::from_code);
    if outcome.is_none() && p.errors.for_field("outcome").is_none() {
        p.errors.add("outcome", "required");
    }
    let note = p.text_max("outcome_note", 2000);
    let errors = p.errors;
    let (Some(outcome), true) = (outcome, errors.is_empty()) else {
        return failed(&ctx, &row, "outcome", &errors, form).await;
    };
    let d = StepDetails {
        outcome: Some(outcome),
        outcome_note: Some(note),
        ..StepDetails::default()
    };
    match take_step(
        &ctx,
        &row,
        Step::RecordOutcome,
        &d,
        "notification.outcome_recorded",
    )
    .await?
    {
        Some(_) => Ok(see_other(&format!("/staff/notifications/{}", row.id))),
        None => Ok(conflict(&ctx, row.id)),
    }
}

// Letter templates.

#[derive(Template)]
#[template(path = "staff/letter_templates.html")]
struct TemplatesPage<'a> {
    page: Page<'a>,
    f: FormView,
    preview: String,
    errors: FormErrors,
    saved: bool,
}

/// Which template the page shows.
#[derive(Debug, Default, Deserialize)]
pub struct TemplateQuery {
    #[serde(default)]
    purpose: String,
    #[serde(default)]
    language: String,
    #[serde(default)]
    saved: String,
}

async fn templates_page(
    ctx: &Ctx,
    o: FormState,
    purpose: Purpose,
    lang: Language,
    saved: bool,
) -> AppResult<Response> {
    let me = ctx.user()?;
    let tr = ctx.tr();
    let tpl = store::template(&ctx.state.db, me.org(), purpose, lang).await?;
    let langs = Language::ALL
        .into_iter()
        .map(|l| (l.code().to_owned(), l.native_name().to_owned()))
        .collect();
    let (subject, body) = if o.section == "template" {
        (
            o.kept.as_slice().one("tpl_subject").to_owned(),
            o.kept.as_slice().one("tpl_body").to_owned(),
        )
    } else {
        (tpl.subject.clone(), tpl.body.clone())
    };
    let sample = sample_values(ctx);
    let preview = format!(
        "{}\n\n{}",
        domain::fill(&subject, &sample),
        domain::fill(&body, &sample)
    );
    let f = FormBuilder::new(
        &tr,
        &o,
        "template",
        "/staff/letter-templates".into(),
        "letter-templates-title",
        "letter-templates-submit",
    )
    .select("purpose", opts::<Purpose>(&tr))
    .default(purpose.code())
    .select("letter_language", langs)
    .default(lang.code())
    .field("tpl_subject", "text", &tpl.subject)
    .field("tpl_body", "textarea", &tpl.body)
    .hint("letter-templates-placeholders")
    .build();
    let errors = o.errors.clone();
    render(&TemplatesPage {
        page: ctx.page("letter-templates-title"),
        f,
        preview,
        errors,
        saved,
    })
}

fn sample_values(ctx: &Ctx) -> Vec<(&'static str, String)> {
    domain::PLACEHOLDERS
        .iter()
        .map(|p| {
            let v = match *p {
                "organisation" => ctx.state.settings.org.name.clone(),
                _ => format!("[{p}]"),
            };
            (*p, v)
        })
        .collect()
}

/// GET /staff/letter-templates?purpose=…&language=….
pub async fn templates(ctx: Ctx, Query(q): Query<TemplateQuery>) -> AppResult<Response> {
    let purpose = Purpose::from_code(&q.purpose).unwrap_or(Purpose::Report);
    let lang: Language = q.language.parse().unwrap_or(ctx.lang);
    templates_page(&ctx, FormState::default(), purpose, lang, q.saved == "1").await
}

/// POST /staff/letter-templates: saved only when every placeholder is known.
pub async fn save_template(
    ctx: Ctx,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let me = ctx.user()?.clone();
    let form = pairs.as_slice();
    let mut p = Parser::new(form, parse_ctx(&ctx));
    let purpose = p.code("purpose", Purpose::from_code);
    if purpose.is_none() && p.errors.for_field("purpose").is_none() {
        p.errors.add("purpose", "required");
    }
    let lang: Option<Language> = form.one("letter_language").parse().ok();
    if lang.is_none() {
        p.errors.add("letter_language", "required");
    }
    let subject = p.required_text("tpl_subject", SUBJECT_MAX);
    let body = p.required_text("tpl_body", BODY_MAX);
    let mut errors = p.errors;
    for (field, text) in [("tpl_subject", &subject), ("tpl_body", &body)] {
        let unknown = domain::check_placeholders(text);
        if !unknown.is_empty() {
            errors.add_with(
                field,
                "template-placeholder-unknown",
                vec![
                    (
                        "names",
                        unknown
                            .iter()
                            .map(|u| format!("{{{{{u}}}}}"))
                            .collect::<Vec<_>>()
                            .join(", "),
                    ),
                    ("known", domain::PLACEHOLDERS.join(", ")),
                ],
            );
        }
    }
    let (Some(purpose), Some(lang), true) = (purpose, lang, errors.is_empty()) else {
        let o = FormState {
            section: "template",
            errors: FormErrors::from_validation(&ctx.tr(), &errors),
            kept: form.to_vec(),
        };
        let mut res = templates_page(
            &ctx,
            o,
            purpose.unwrap_or(Purpose::Report),
            lang.unwrap_or(ctx.lang),
            false,
        )
        .await?;
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(res);
    };
    let now = ctx.state.now();
    let mut tx = ctx.state.db.begin().await?;
    store::save_template(
        &mut tx,
        me.org(),
        purpose,
        lang,
        &subject,
        &body,
        me.user.id,
        now,
    )
    .await?;
    ctx.audit(
        &mut tx,
        me.org(),
        ctx.event("letter_template.saved", Outcome::Ok)
            .details(json!({ "purpose": purpose.code(), "language": lang.code() })),
    )
    .await?;
    tx.commit().await?;
    Ok(see_other(&format!(
        "/staff/letter-templates?purpose={}&language={}&saved=1",
        purpose.code(),
        lang.code()
    )))
}

// The reply link, without an account.

#[derive(Template)]
#[template(path = "reply.html")]
struct ReplyPage<'a> {
    page: Page<'a>,
    number: String,
    subject: String,
    text: String,
    done: bool,
    error: String,
    token: String,
    /// The reply as typed, kept when a file was refused.
    kept: String,
    /// How many files came with the reply just sent.
    files_received: usize,
}

#[derive(Template)]
#[template(path = "reply_refused.html")]
struct RefusedPage<'a> {
    page: Page<'a>,
}

/// Refused reply links from one address within [`REPLY_WINDOW`] after which it is refused
/// without looking at the token; and uses of links from one address in that window.
pub const REPLY_REFUSALS_LIMIT: i64 = 10;
/// Opening and replying from one address within [`REPLY_WINDOW`].
pub const REPLY_USES_LIMIT: i64 = 60;
/// The window of the reply links' throttle.
pub const REPLY_WINDOW: TimeDelta = TimeDelta::minutes(15);

/// Whether the client's address has used or guessed reply links too often lately.
async fn reply_throttled(ctx: &Ctx) -> AppResult<bool> {
    let Some(ip) = ctx.ip.as_deref() else {
        return Ok(false);
    };
    let since = ctx.state.now() - REPLY_WINDOW;
    let db = &ctx.state.db;
    let refused =
        haven_store::audit::count_from(db, "notification.reply_link_refused", ip, since).await?;
    let used = haven_store::audit::count_from(db, "notification.reply_link_opened", ip, since)
        .await?
        + haven_store::audit::count_from(db, "notification.replied", ip, since).await?
        + haven_store::audit::count_from(db, "notification.reply_file_refused", ip, since).await?;
    Ok(refused >= REPLY_REFUSALS_LIMIT || used >= REPLY_USES_LIMIT)
}

/// The notification a reply token opens, or the plain refusal page (audited).
async fn by_token(ctx: &Ctx, token: &str) -> AppResult<Result<(OrgId, NotificationRow), Response>> {
    if reply_throttled(ctx).await? {
        ctx.audit_now(
            ctx.state.default_org,
            ctx.event("notification.reply_link_throttled", Outcome::Denied),
        )
        .await?;
        let mut res = render(&RefusedPage {
            page: ctx.page("reply-refused-title"),
        })?;
        *res.status_mut() = StatusCode::TOO_MANY_REQUESTS;
        return Ok(Err(res));
    }
    let hash = token_hash(token);
    let found = store::reply_link(&ctx.state.db, &hash).await?;
    let now = ctx.state.now();
    let refuse = |reason: &'static str, org: Option<OrgId>| async move {
        let org = org.unwrap_or(ctx.state.default_org);
        ctx.audit_now(
            org,
            ctx.event("notification.reply_link_refused", Outcome::Denied)
                .details(json!({ "reason": reason })),
        )
        .await?;
        let mut res = render(&RefusedPage {
            page: ctx.page("reply-refused-title"),
        })?;
        *res.status_mut() = StatusCode::NOT_FOUND;
        AppResult::Ok(res)
    };
    let Some((org, id, expires)) = found else {
        return Ok(Err(refuse("unknown", None).await?));
    };
    if expires <= now {
        return Ok(Err(refuse("expired", Some(org)).await?));
    }
    let Some(row) = store::row(&ctx.state.db, org, id).await? else {
        return Ok(Err(refuse("unknown", Some(org)).await?));
    };
    Ok(Ok((org, row)))
}

/// What the reply page shows besides the letter.
#[derive(Default)]
struct ReplyState {
    done: bool,
    error: String,
    kept: String,
    files_received: usize,
}

async fn reply_page(
    ctx: &Ctx,
    org: OrgId,
    row: &NotificationRow,
    token: &str,
    st: ReplyState,
) -> AppResult<Response> {
    let ring = ctx.state.keys.get(org).await?;
    let letter = store::letter(&ctx.state.db, &ring, org, row.nid()).await?;
    let (subject, text) = letter_text(ctx, org, row, &letter).await?;
    render(&ReplyPage {
        page: ctx.page("reply-title"),
        number: row.protocol_number.clone(),
        subject,
        text,
        done: st.done,
        error: st.error,
        token: token.to_owned(),
        kept: st.kept,
        files_received: st.files_received,
    })
}

/// GET /reply/{token}: the letter, and a form to acknowledge receipt and reply.
pub async fn reply_form(ctx: Ctx, Path(token): Path<String>) -> AppResult<Response> {
    let (org, row) = match by_token(&ctx, &token).await? {
        Ok(x) => x,
        Err(r) => return Ok(r),
    };
    ctx.audit_now(
        org,
        ctx.event("notification.reply_link_opened", Outcome::Ok)
            .target("notification", row.id),
    )
    .await?;
    if row.status()? == Status::Sent {
        record_institution_step(&ctx, org, &row, Status::Received, None, &[]).await?;
    }
    reply_page(&ctx, org, &row, &token, ReplyState::default()).await
}

async fn record_institution_step(
    ctx: &Ctx,
    org: OrgId,
    row: &NotificationRow,
    to: Status,
    reply: Option<&str>,
    files: &[CheckedFile],
) -> AppResult<()> {
    let ring = ctx.state.keys.get(org).await?;
    let now = ctx.state.now();
    let from = row.status()?;
    // Who is told: the author and, for a case, its advisors.
    let mut told: Vec<haven_domain::UserId> = row
        .created_by
        .map(haven_domain::UserId)
        .into_iter()
        .collect();
    if let Some(case) = row.case_id
        && let Some(s) = cases::summary(&ctx.state.db, org, CaseId(case)).await?
    {
        for a in s.advisors {
            if !told.contains(&a) {
                told.push(a);
            }
        }
    }
    let mut tx = ctx.state.db.begin().await?;
    let moved = store::step(
        &mut tx,
        &ring,
        ctx.state.rng.as_ref(),
        org,
        row.nid(),
        from,
        to,
        None,
        &StepDetails::default(),
        ctx.state.ids().uuid(),
        now,
    )
    .await?;
    if let Some(text) = reply {
        let reply_id = ctx.state.ids().id::<ReplyId>();
        store::add_reply(
            &mut tx,
            &ring,
            ctx.state.rng.as_ref(),
            org,
            row.nid(),
            reply_id,
            text,
            now,
        )
        .await?;
        for f in files {
            // A case's notification: the file is filed among the case's documents as well, as
            // correspondence nobody on the staff uploaded.
            let document_id = match row.case_id {
                Some(case) => {
                    let doc: DocumentId = ctx.state.ids().id();
                    haven_store::documents::insert(
                        &mut tx,
                        &ring,
                        ctx.state.rng.as_ref(),
                        &ctx.state.ids(),
                        org,
                        &haven_store::documents::NewDocument {
                            id: doc,
                            case_id: CaseId(case),
                            person_id: None,
                            kind: DocumentKind::Correspondence,
                            media_type: f.file_type.media_type(),
                            name: f.name.clone(),
                            content: &f.content,
                            uploaded_by: None,
                            now,
                        },
                    )
                    .await?;
                    Some(doc)
                }
                None => None,
            };
            store::add_reply_file(
                &mut tx,
                &ring,
                ctx.state.rng.as_ref(),
                org,
                row.nid(),
                &store::NewReplyFile {
                    id: ctx.state.ids().uuid(),
                    reply_id,
                    media_type: f.file_type.media_type(),
                    name: &f.name,
                    content: &f.content,
                    document_id,
                },
                now,
            )
            .await?;
        }
    }
    store::mark_unseen(&mut tx, org, row.nid(), &told, now).await?;
    ctx.audit(
        &mut tx,
        org,
        ctx.event(
            if reply.is_some() {
                "notification.replied"
            } else {
                "notification.received"
            },
            Outcome::Ok,
        )
        .target("notification", row.id)
        .details(json!({ "from": from.code(), "to": if moved { to.code() } else { from.code() },
            "files": files.iter().map(|f| json!({ "media_type": f.file_type.media_type(), "size": f.content.len() })).collect::<Vec<_>>() })),
    )
    .await?;
    if let Some(case) = row.case_id {
        let kind = if reply.is_some() {
            "notification_replied"
        } else {
            "notification_received"
        };
        let mut ev = NewEvent::new(kind, None);
        ev.ref_id = Some(row.id);
        ev.data =
            json!({ "notification": row.id, "number": row.protocol_number, "files": files.len() });
        if let Some(text) = reply {
            ev.body = text.to_owned();
        }
        cases::add_event(
            &mut tx,
            &ring,
            ctx.state.rng.as_ref(),
            org,
            CaseId(case),
            ctx.state.ids().id(),
            &ev,
            now,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The most files one reply may carry.
pub const REPLY_FILES_MAX: usize = 10;

/// A file of a reply whose content was checked.
struct CheckedFile {
    name: String,
    content: Vec<u8>,
    file_type: FileType,
}

/// The types an institution may attach to a reply: PDF, JPEG, PNG and text documents.
fn reply_type_allowed(t: FileType) -> bool {
    matches!(
        t,
        FileType::Pdf | FileType::Jpeg | FileType::Png | FileType::Docx | FileType::OpenDocument
    )
}

/// What a reply sent: its fields, and its files, kept while they total at most `budget` bytes.
/// The form is multipart (with files); a plain form is taken too.
async fn read_reply(ctx: &Ctx, req: Request, budget: usize) -> AppResult<uploads::SentForm> {
    let multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if !multipart {
        // Text only: held whole, so no more than a form with files may carry.
        let bytes = axum::body::to_bytes(req.into_body(), uploads::TEXT_BUDGET)
            .await
            .map_err(|_| AppError::PayloadTooLarge)?;
        let fields: Vec<(String, String)> =
            serde_urlencoded::from_bytes(&bytes).map_err(|_| AppError::BadRequest)?;
        return Ok(uploads::SentForm {
            fields,
            ..uploads::SentForm::default()
        });
    }
    uploads::read(&ctx.state, req, &["files"], budget).await
}

/// POST /reply/{token}: the institution's reply, with files if any (multipart); it lands on the
/// case's timeline, the files among the case's documents.
pub async fn reply_submit(
    ctx: Ctx,
    Path(token): Path<String>,
    req: Request,
) -> AppResult<Response> {
    // The token in the address is the secret a forger would need; a post from another site is
    // refused all the same, as the portal's forms refuse it.
    if !crate::security::same_site_request(req.headers(), ctx.state.settings.trust_proxy) {
        return Err(AppError::Forbidden);
    }
    // The token is checked before the body is read.
    let (org, row) = match by_token(&ctx, &token).await? {
        Ok(x) => x,
        Err(r) => return Ok(r),
    };
    let limit = ctx.state.settings.cases.upload_limit_bytes();
    let sent = read_reply(&ctx, req, limit).await?;
    let text = sent.fields.as_slice().one("reply").to_owned();
    let tr = ctx.tr();
    let mut errors = Vec::new();
    let mut files = Vec::new();
    // Too long is said, not cut: the whole text comes back to be shortened.
    if text.chars().count() > BODY_MAX {
        errors.push(tr.t1("error-too-long", "max", BODY_MAX));
    }
    if let Some(size) = sent.too_large {
        ctx.audit_now(
            org,
            ctx.event("notification.reply_file_refused", Outcome::Denied)
                .target("notification", row.id)
                .details(json!({ "reason": "too-large-together", "size": size })),
        )
        .await?;
        errors.push(tr.t2(
            "reply-files-too-large",
            "size",
            uploads::mib(size, tr.lang),
            "max",
            ctx.state.settings.cases.upload_limit_mib,
        ));
    }
    if sent.files.len() > REPLY_FILES_MAX {
        errors.push(tr.t1("reply-too-many-files", "max", REPLY_FILES_MAX.to_string()));
    }
    for uploads::SentFile { name, content, .. } in sent.files {
        let checked = match check_upload(&name, &content, false) {
            Ok(t) if reply_type_allowed(t) => Ok(t),
            Ok(_) => Err("reply-file-type"),
            Err(FileRefusal::Empty) => Err("error-file-empty"),
            Err(FileRefusal::ExtensionMismatch) => Err("error-file-extension-mismatch"),
            Err(_) => Err("reply-file-type"),
        };
        match checked {
            Ok(file_type) => files.push(CheckedFile {
                name,
                content,
                file_type,
            }),
            Err(code) => {
                // A refused file is worth knowing about: someone may be probing the link.
                ctx.audit_now(
                    org,
                    ctx.event("notification.reply_file_refused", Outcome::Denied)
                        .target("notification", row.id)
                        .details(json!({ "reason": code, "size": content.len() })),
                )
                .await?;
                errors.push(tr.t1(code_message(code), "name", name));
            }
        }
    }
    if text.trim().is_empty() && files.is_empty() && errors.is_empty() {
        errors.push(tr.t("error-required"));
    }
    if !errors.is_empty() {
        let st = ReplyState {
            error: errors.join(" "),
            kept: text,
            ..ReplyState::default()
        };
        let mut res = reply_page(&ctx, org, &row, &token, st).await?;
        *res.status_mut() = if sent.too_large.is_some() {
            StatusCode::PAYLOAD_TOO_LARGE
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        return Ok(res);
    }
    let status = row.status()?;
    let to = if matches!(status, Status::Sent | Status::Received) {
        Status::Answered
    } else {
        status
    };
    record_institution_step(&ctx, org, &row, to, Some(&text), &files).await?;
    let st = ReplyState {
        done: true,
        files_received: files.len(),
        ..ReplyState::default()
    };
    reply_page(&ctx, org, &row, &token, st).await
}

/// The message of a refused reply file (each takes the file's name).
fn code_message(code: &str) -> &'static str {
    match code {
        "error-file-empty" => "reply-file-empty",
        "error-file-extension-mismatch" => "reply-file-extension-mismatch",
        _ => "reply-file-type",
    }
}

/// GET /staff/notifications/{id}/reply-files/{fid}: a file an institution sent, as a download,
/// audited. Someone who may not see the notification's case or contact is told it is not found.
pub async fn reply_file(ctx: Ctx, Path((id, fid)): Path<(String, String)>) -> AppResult<Response> {
    let row = match require(&ctx, &id).await? {
        Ok(r) => r,
        Err(_) => return Err(AppError::NotFound),
    };
    let me = ctx.user()?;
    let fid: Uuid = fid.parse().map_err(|_| AppError::NotFound)?;
    let ring = ctx.state.keys.get(me.org()).await?;
    let (name, content) = store::reply_file_content(&ctx.state.db, &ring, me.org(), row.nid(), fid)
        .await?
        .ok_or(AppError::NotFound)?;
    ctx.audit_now(
        me.org(),
        ctx.event("notification.reply_file_downloaded", Outcome::Ok)
            .target("notification", row.id)
            .details(json!({ "file": fid })),
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
        HeaderValue::from_str(&super::documents::attachment(&name))
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

// The letter as PDF.

/// The letter of a notification as PDF: letterhead, text, signature block, and the reply link
/// when one is given.
pub async fn letter_pdf(
    ctx: &Ctx,
    org: OrgId,
    row: &NotificationRow,
    reply_link: &str,
) -> AppResult<Vec<u8>> {
    let ring = ctx.state.keys.get(org).await?;
    let letter = store::letter(&ctx.state.db, &ring, org, row.nid()).await?;
    let (subject, text) = letter_text(ctx, org, row, &letter).await?;
    let tr = ctx.state.i18n.tr(row.language());
    let reference = tr.t_args(
        "letter-reference",
        &[
            ("number", row.protocol_number.clone()),
            ("date", fmt_date(today(ctx), row.language())),
        ],
    );
    let footer = if reply_link.is_empty() {
        String::new()
    } else {
        tr.t1("letter-reply-link", "link", reply_link.to_owned())
    };
    let settings = store::settings(&ctx.state.db, org).await?;
    let author = match row.created_by {
        Some(u) => users::get(&ctx.state.db, org, haven_domain::UserId(u))
            .await?
            .map(|u| u.display_name)
            .unwrap_or_default(),
        None => String::new(),
    };
    let pdf = crate::letters::LetterPdf {
        organisation: ctx.state.settings.org.name.clone(),
        letterhead_lines: letterhead_lines(&tr, &settings.letterhead),
        reference,
        subject,
        text,
        signature: signature_block(
            &author,
            &settings.signature_title,
            &ctx.state.settings.org.name,
        ),
        footer,
    };
    crate::letters::render(&pdf).map_err(|e| AppError::Internal(e.to_string()))
}

/// The letterhead's lines under the organisation's name, in the letter's language; empty
/// details are left out.
pub fn letterhead_lines(tr: &Tr<'_>, l: &store::Letterhead) -> Vec<String> {
    let mut out = Vec::new();
    if !l.address.trim().is_empty() {
        out.push(l.address.trim().to_owned());
    }
    let contact: Vec<String> = [
        ("letterhead-phone", &l.phone),
        ("letterhead-email", &l.email),
        ("letterhead-web", &l.web),
    ]
    .into_iter()
    .filter(|(_, v)| !v.trim().is_empty())
    .map(|(id, v)| tr.t1(id, "value", v.trim().to_owned()))
    .collect();
    if !contact.is_empty() {
        out.push(contact.join(" · "));
    }
    if !l.registration.trim().is_empty() {
        out.push(tr.t1(
            "letterhead-registration",
            "value",
            l.registration.trim().to_owned(),
        ));
    }
    out
}

/// The signature block: the author's name, the role or title line when one is set, the
/// organisation's name.
pub fn signature_block(author: &str, title: &str, organisation: &str) -> Vec<String> {
    [author, title, organisation]
        .into_iter()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

// The settings: protocol numbers, approval, letterhead and signature.

#[derive(Template)]
#[template(path = "staff/notification_settings.html")]
struct SettingsPage<'a> {
    page: Page<'a>,
    f: FormView,
    errors: FormErrors,
    saved: bool,
}

/// The longest letterhead line or signature title.
const LETTERHEAD_MAX: usize = 200;

/// The fields of the letterhead on the settings form.
const LETTERHEAD_FIELDS: [&str; 5] = [
    "letterhead_address",
    "letterhead_phone",
    "letterhead_email",
    "letterhead_web",
    "letterhead_registration",
];

async fn settings_page(ctx: &Ctx, o: FormState, saved: bool) -> AppResult<Response> {
    let me = ctx.user()?;
    let tr = ctx.tr();
    let s = store::settings(&ctx.state.db, me.org()).await?;
    let mut b = FormBuilder::new(
        &tr,
        &o,
        "settings",
        "/staff/notifications/settings".to_owned(),
        "notification-settings-title",
        "notification-settings-submit",
    )
    .text("protocol_format")
    .default(s.protocol_format.as_str())
    .hint("notification-settings-protocol-hint")
    .checks("approval", opts::<Purpose>(&tr));
    let failed = b.mine();
    let values = [
        s.letterhead.address.as_str(),
        s.letterhead.phone.as_str(),
        s.letterhead.email.as_str(),
        s.letterhead.web.as_str(),
        s.letterhead.registration.as_str(),
    ];
    for (name, v) in LETTERHEAD_FIELDS.into_iter().zip(values) {
        b = b.text(name).default(v);
    }
    b = b
        .text("signature_title")
        .default(&s.signature_title)
        .hint("notification-settings-signature-hint");
    let mut f = b.build();
    if !failed && let Some(x) = f.fields.iter_mut().find(|x| x.name == "approval") {
        x.values = s.approval.iter().map(|p| p.code().to_owned()).collect();
    }
    let errors = o.errors.clone();
    render(&SettingsPage {
        page: ctx.page("notification-settings-title"),
        f,
        errors,
        saved,
    })
}

/// What the settings page is opened with.
#[derive(Debug, Default, Deserialize)]
pub struct SettingsQuery {
    #[serde(default)]
    saved: String,
}

/// GET /staff/notifications/settings (supervisors).
pub async fn settings_form(ctx: Ctx, Query(q): Query<SettingsQuery>) -> AppResult<Response> {
    settings_page(&ctx, FormState::default(), q.saved == "1").await
}

/// POST /staff/notifications/settings: checked (the protocol format must contain `{n}`), saved
/// and audited; on failure the page again, with the messages and what was typed.
pub async fn save_settings(
    ctx: Ctx,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let me = ctx.user()?.clone();
    let form = pairs.as_slice();
    let mut p = Parser::new(form, parse_ctx(&ctx));
    let format = match domain::ProtocolFormat::parse(form.one("protocol_format")) {
        Ok(f) => Some(f),
        Err(domain::ProtocolFormatError::NoNumber) => {
            p.errors.add("protocol_format", "protocol-format-no-number");
            None
        }
        Err(domain::ProtocolFormatError::Shape) => {
            p.errors.add("protocol_format", "protocol-format-shape");
            None
        }
    };
    let mut approval = Vec::new();
    for v in form.all("approval") {
        match Purpose::from_code(v) {
            Some(x) if !approval.contains(&x) => approval.push(x),
            Some(_) => {}
            None => {
                if p.errors.for_field("approval").is_none() {
                    p.errors.add("approval", "code-unknown");
                }
            }
        }
    }
    let mut lines: Vec<String> = LETTERHEAD_FIELDS
        .iter()
        .map(|n| p.text_max(n, LETTERHEAD_MAX).trim().to_owned())
        .collect();
    let signature_title = p
        .text_max("signature_title", LETTERHEAD_MAX)
        .trim()
        .to_owned();
    if !lines[2].is_empty()
        && let Err(e) = haven_domain::validate::EmailAddress::parse("letterhead_email", &lines[2])
    {
        p.errors.add("letterhead_email", e.code);
    }
    let errors = p.errors;
    let (Some(protocol_format), true) = (format, errors.is_empty()) else {
        let o = FormState {
            section: "settings",
            errors: FormErrors::from_validation(&ctx.tr(), &errors),
            kept: form.to_vec(),
        };
        let mut res = settings_page(&ctx, o, false).await?;
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(res);
    };
    let registration = lines.pop().unwrap_or_default();
    let web = lines.pop().unwrap_or_default();
    let email = lines.pop().unwrap_or_default();
    let phone = lines.pop().unwrap_or_default();
    let address = lines.pop().unwrap_or_default();
    let before = store::settings(&ctx.state.db, me.org()).await?;
    let settings = store::Settings {
        protocol_format,
        approval: Purpose::ALL
            .iter()
            .copied()
            .filter(|x| approval.contains(x))
            .collect(),
        letterhead: store::Letterhead {
            address,
            phone,
            email,
            web,
            registration,
        },
        signature_title,
    };
    let now = ctx.state.now();
    let mut tx = ctx.state.db.begin().await?;
    store::save_settings(&mut tx, me.org(), &settings, now).await?;
    ctx.audit(
        &mut tx,
        me.org(),
        ctx.event("notification.settings_saved", Outcome::Ok).details(json!({
            "protocol_format": { "from": before.protocol_format.as_str(), "to": settings.protocol_format.as_str() },
            "approval": settings.approval.iter().map(|x| x.code()).collect::<Vec<_>>(),
            "letterhead_changed": before.letterhead != settings.letterhead,
            "signature_changed": before.signature_title != settings.signature_title,
        })),
    )
    .await?;
    tx.commit().await?;
    Ok(see_other("/staff/notifications/settings?saved=1"))
}

/// A file name for a protocol number (`12/2026` → `12-2026.pdf`).
pub fn pdf_name(number: &str) -> String {
    let safe: String = number
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!("{safe}.pdf")
}

/// GET /staff/notifications/{id}/letter.pdf (audited).
pub async fn pdf(ctx: Ctx, Path(id): Path<String>) -> AppResult<Response> {
    let row = allowed!(ctx, id);
    let me = ctx.user()?;
    let bytes = letter_pdf(&ctx, me.org(), &row, "").await?;
    ctx.audit_now(
        me.org(),
        ctx.event("notification.pdf_downloaded", Outcome::Ok)
            .target("notification", row.id),
    )
    .await?;
    let mut res = bytes.into_response();
    let headers = res.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/pdf"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"{}\"",
        pdf_name(&row.protocol_number)
    )) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}
