//! The person page: a person's record for those who may open one of the cases they are in,
//! editing it (possible duplicates shown), merging a duplicate into it, and — for supervisors —
//! who looked at it. Every view is audited (`person.viewed`).

use askama::Template;
use axum::Form;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use haven_domain::cases::{EducationLevel, FormFields};
use haven_domain::people::{Gender, PersonId};
use haven_domain::policy::{Permission, case_access};
use haven_domain::validate::ValidationErrors;
use haven_store::audit::{self as audit_store, AuditFilter, Outcome};
use haven_store::cases::{self, NewEvent};
use haven_store::people::{self, Person};
use serde_json::json;

use super::cases::{
    DupRow, Opt, label, label_gender, opts, parse_ctx, parse_person, person_gate,
    visible_duplicates,
};
use super::see_other;
use crate::error::{AppError, AppResult};
use crate::ui::{Ctx, FormErrors, Page, render};

#[derive(Template)]
#[template(path = "staff/person.html")]
struct PersonPage<'a> {
    page: Page<'a>,
    id: String,
    values: Vec<(String, String)>,
    errors: FormErrors,
    cases: Vec<(String, String, String)>,
    hidden_cases: usize,
    /// The hotline contacts whose caller is this person (id, when, line and categories), for
    /// those who read contacts; `None` for the others.
    contacts: Option<Vec<(String, String, String)>>,
    hidden_contacts: usize,
    merged_from: Vec<String>,
    duplicates: Vec<DupRow>,
    hidden_duplicates: usize,
    can_edit: bool,
    can_audit: bool,
    access_log: Vec<super::audit::AuditRow>,
    opt_gender: Vec<Opt>,
    opt_education: Vec<Opt>,
    saved: bool,
}

impl PersonPage<'_> {
    fn v(&self, name: &str) -> &str {
        self.values
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    fn err(&self, name: &str) -> Option<&str> {
        self.errors.get(name)
    }
}

fn values_of(p: &Person) -> Vec<(String, String)> {
    vec![
        ("name".into(), p.name.clone()),
        ("aliases".into(), p.aliases.join("\n")),
        (
            "birth_date".into(),
            p.birth_date
                .map(|d| d.format("%Y-%m-%d").to_string())
                .unwrap_or_default(),
        ),
        (
            "birth_year".into(),
            p.birth_year.map(|y| y.to_string()).unwrap_or_default(),
        ),
        ("gender".into(), p.gender.code().to_owned()),
        (
            "citizenship".into(),
            p.citizenship.clone().unwrap_or_default(),
        ),
        ("phones".into(), p.phones.join("\n")),
        ("emails".into(), p.emails.join("\n")),
        ("identity_numbers".into(), p.identity_numbers.join("\n")),
        ("address".into(), p.address.clone()),
        ("person_notes".into(), p.notes.clone()),
        ("languages".into(), p.languages.join(" ")),
        (
            "education".into(),
            p.education.map(|e| e.code().to_owned()).unwrap_or_default(),
        ),
    ]
}

/// The person if the policy lets the asker open them (a merged record leads to its survivor).
async fn open_person(ctx: &Ctx, id: &str) -> AppResult<Result<Person, Response>> {
    let me = ctx.user()?;
    let id: PersonId = id.parse().map_err(|_| AppError::NotFound)?;
    let access = person_gate(ctx, id).await?;
    if access == haven_domain::policy::CaseAccess::Deny {
        return Err(AppError::NotFound);
    }
    let ring = ctx.state.keys.get(me.org()).await?;
    let Some(p) = people::get(&ctx.state.db, &ring, me.org(), id).await? else {
        return Err(AppError::NotFound);
    };
    if let Some(survivor) = p.merged_into {
        return Ok(Err(see_other(&format!("/staff/people/{survivor}"))));
    }
    if !access.allowed() {
        ctx.audit_now(
            me.org(),
            ctx.event("person.access_refused", Outcome::Denied)
                .target("person", id.0),
        )
        .await?;
        return Err(AppError::Forbidden);
    }
    Ok(Ok(p))
}

async fn person_page(
    ctx: &Ctx,
    p: &Person,
    values: Vec<(String, String)>,
    errors: FormErrors,
    duplicates: (Vec<DupRow>, usize),
    saved: bool,
) -> AppResult<Response> {
    let me = ctx.user()?;
    let tr = ctx.tr();
    let db = &ctx.state.db;
    let now = ctx.state.now();
    let granted = cases::granted_cases(db, me.org(), me.user.id, now).await?;
    let mut rows = Vec::new();
    let mut hidden = 0;
    for link in cases::cases_of_person(db, me.org(), p.id).await? {
        let Some(s) = cases::summary(db, me.org(), link.case_id).await? else {
            continue;
        };
        if case_access(&me.actor(), &s.facts(), granted.contains(&s.id)).allowed() {
            rows.push((
                s.id.to_string(),
                s.number.clone(),
                format!("{} · {}", label(&tr, s.kind), label(&tr, link.role)),
            ));
        } else {
            hidden += 1;
        }
    }
    let mut hidden_contacts = 0;
    let contacts = if me.actor().can(Permission::ViewContacts) {
        let mut out = Vec::new();
        for f in haven_store::contacts::of_person(db, me.org(), p.id.0, 200).await? {
            if !haven_domain::policy::contact_visible(
                &me.actor(),
                f.org_id,
                f.confidential,
                &f.counsellors,
            ) {
                hidden_contacts += 1;
                continue;
            }
            let mut what = super::desk::line_label(&tr, &f.line);
            for c in &f.categories {
                what.push_str(" · ");
                what.push_str(&super::desk::category_label(&tr, c));
            }
            if f.voided_at.is_some() {
                what.push_str(" · ");
                what.push_str(&tr.t("desk-voided"));
            }
            out.push((f.id.to_string(), ctx.time(f.started_at), what));
        }
        Some(out)
    } else {
        None
    };
    let merged = people::merged_into(db, me.org(), p.id).await?;
    let can_audit = me.actor().can(Permission::ViewAudit);
    let mut access_log = Vec::new();
    if can_audit {
        let names = super::audit::staff_names(ctx).await?;
        let mut entries = Vec::new();
        for id in std::iter::once(p.id).chain(merged.iter().copied()) {
            entries.extend(
                audit_store::list(
                    db,
                    me.org(),
                    &AuditFilter {
                        target: Some(("person".into(), id.0)),
                        ..AuditFilter::default()
                    },
                    200,
                )
                .await?,
            );
        }
        entries.sort_by_key(|e| std::cmp::Reverse(e.seq));
        access_log = super::audit::rows(ctx, &names, &entries);
    }
    render(&PersonPage {
        page: ctx.page("person-title"),
        id: p.id.to_string(),
        values,
        errors,
        cases: rows,
        hidden_cases: hidden,
        contacts,
        hidden_contacts,
        merged_from: merged.iter().map(|m| m.to_string()).collect(),
        duplicates: duplicates.0,
        hidden_duplicates: duplicates.1,
        can_edit: me.actor().can(Permission::EditCases),
        can_audit,
        access_log,
        opt_gender: Gender::ALL
            .iter()
            .map(|g| Opt {
                code: g.code().to_owned(),
                label: label_gender(&tr, *g),
            })
            .collect(),
        opt_education: opts::<EducationLevel>(&tr),
        saved,
    })
}

/// GET /staff/people/{id}: the person's record, audited as a view; possible duplicates listed.
pub async fn show(ctx: Ctx, Path(id): Path<String>) -> AppResult<Response> {
    let p = match open_person(&ctx, &id).await? {
        Ok(p) => p,
        Err(r) => return Ok(r),
    };
    let me = ctx.user()?;
    ctx.audit_now(
        me.org(),
        ctx.event("person.viewed", Outcome::Ok)
            .target("person", p.id.0),
    )
    .await?;
    let ring = ctx.state.keys.get(me.org()).await?;
    let dups = visible_duplicates(&ctx, &ring, &p.as_new(ctx.state.now())).await?;
    person_page(&ctx, &p, values_of(&p), FormErrors::none(), dups, false).await
}

/// POST /staff/people/{id}: changes the record; possible duplicates are shown with the result.
pub async fn update(
    ctx: Ctx,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let p = match open_person(&ctx, &id).await? {
        Ok(p) => p,
        Err(r) => return Ok(r),
    };
    let me = ctx.user()?.clone();
    let ring = ctx.state.keys.get(me.org()).await?;
    match parse_person(&pairs, parse_ctx(&ctx), p.id, p.created_by) {
        Err(errors) => {
            let dups = (Vec::new(), 0);
            let mut res = person_page(
                &ctx,
                &p,
                pairs.clone(),
                FormErrors::from_validation(&ctx.tr(), &errors),
                dups,
                false,
            )
            .await?;
            *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(res)
        }
        Ok((new, languages, education)) => {
            let mut tx = ctx.state.db.begin().await?;
            people::update(
                &mut tx,
                &ring,
                ctx.state.rng.as_ref(),
                me.org(),
                &ctx.state.settings.org.phone_region,
                &new,
            )
            .await?;
            people::set_profile(&mut tx, me.org(), p.id, &languages, education).await?;
            ctx.audit(
                &mut tx,
                me.org(),
                ctx.event("person.updated", Outcome::Ok)
                    .target("person", p.id.0),
            )
            .await?;
            tx.commit().await?;
            let updated = people::get(&ctx.state.db, &ring, me.org(), p.id)
                .await?
                .ok_or(AppError::NotFound)?;
            let dups = visible_duplicates(&ctx, &ring, &new).await?;
            person_page(
                &ctx,
                &updated,
                values_of(&updated),
                FormErrors::none(),
                dups,
                true,
            )
            .await
        }
    }
}

/// POST /staff/people/{id}/merge: merges the record `duplicate` into this one, keeping every
/// link and the history of both.
pub async fn merge(
    ctx: Ctx,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let survivor = match open_person(&ctx, &id).await? {
        Ok(p) => p,
        Err(r) => return Ok(r),
    };
    let me = ctx.user()?.clone();
    let dup_id = pairs.as_slice().one("duplicate").to_owned();
    let duplicate = match open_person(&ctx, &dup_id).await {
        Ok(Ok(p)) if p.id != survivor.id => p,
        _ => {
            let mut errors = ValidationErrors::new();
            errors.add("duplicate", "person-unknown");
            let ring = ctx.state.keys.get(me.org()).await?;
            let dups = visible_duplicates(&ctx, &ring, &survivor.as_new(ctx.state.now())).await?;
            let mut res = person_page(
                &ctx,
                &survivor,
                values_of(&survivor),
                FormErrors::from_validation(&ctx.tr(), &errors),
                dups,
                false,
            )
            .await?;
            *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            return Ok(res);
        }
    };
    let ring = ctx.state.keys.get(me.org()).await?;
    let now = ctx.state.now();
    let affected = cases::cases_of_person(&ctx.state.db, me.org(), duplicate.id).await?;
    let mut tx = ctx.state.db.begin().await?;
    people::merge(
        &mut tx,
        &ring,
        ctx.state.rng.as_ref(),
        me.org(),
        &ctx.state.settings.org.phone_region,
        &survivor,
        &duplicate,
        now,
    )
    .await?;
    let details = json!({ "survivor": survivor.id.0, "duplicate": duplicate.id.0 });
    ctx.audit(
        &mut tx,
        me.org(),
        ctx.event("person.merged", Outcome::Ok)
            .target("person", survivor.id.0)
            .details(details.clone()),
    )
    .await?;
    ctx.audit(
        &mut tx,
        me.org(),
        ctx.event("person.merged", Outcome::Ok)
            .target("person", duplicate.id.0)
            .details(details.clone()),
    )
    .await?;
    let mut seen = Vec::new();
    for link in affected {
        if seen.contains(&link.case_id) {
            continue;
        }
        seen.push(link.case_id);
        let mut ev = NewEvent::new("person_merged", Some(me.user.id));
        ev.ref_id = Some(survivor.id.0);
        ev.data = details.clone();
        cases::add_event(
            &mut tx,
            &ring,
            ctx.state.rng.as_ref(),
            me.org(),
            link.case_id,
            ctx.state.ids().id(),
            &ev,
            now,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(see_other(&format!("/staff/people/{}", survivor.id)))
}
