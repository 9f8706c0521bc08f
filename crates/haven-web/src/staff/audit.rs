//! The audit log, for administrators and supervisors: who did what, newest first, with filters,
//! and a button that verifies the hash chain.
//!
//! The page shows what the log holds — ids, action codes, outcomes, addresses — and never the
//! identifying values of records (the log does not hold them). Reading the log is not itself
//! recorded (it would bury every other entry); verifying the chain is (`audit.verified`).

use std::collections::HashMap;

use askama::Template;
use axum::extract::Query;
use axum::response::Response;
use chrono::{DateTime, Utc};
use haven_domain::{Language, UserId, ValidationErrors};
use haven_store::audit::{self, AuditEntry, AuditFilter, Outcome, Verification};
use haven_store::users;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::error::AppResult;
use crate::i18n::Tr;
use crate::ui::{Ctx, FormErrors, Page, render};

/// Entries per page.
pub const PAGE_SIZE: i64 = 50;

/// An entry as a row of the table.
pub struct AuditRow {
    /// Its sequence number.
    pub seq: i64,
    /// When, in the organisation's time zone.
    pub time: String,
    /// Who: a staff member's name, or "Haven" or "not signed in".
    pub who: String,
    /// The action code.
    pub action: String,
    /// The outcome, translated.
    pub outcome: String,
    /// The outcome code (for styling).
    pub outcome_code: String,
    /// The kind of record it concerns.
    pub record_kind: String,
    /// The record's id.
    pub record_id: String,
    /// The client's address.
    pub address: String,
}

/// The names of the organisation's staff, by account.
pub async fn staff_names(ctx: &Ctx) -> AppResult<HashMap<Uuid, String>> {
    let me = ctx.user()?;
    Ok(users::list(&ctx.state.db, me.org())
        .await?
        .into_iter()
        .map(|u| (u.id.0, u.display_name))
        .collect())
}

/// A time with seconds, in the organisation's time zone.
fn time_with_seconds(t: DateTime<Utc>, tz: &str, lang: Language) -> String {
    let tz: chrono_tz::Tz = tz.parse().unwrap_or(chrono_tz::Europe::Belgrade);
    let local = t.with_timezone(&tz);
    match lang {
        Language::En => local.format("%-d %b %Y, %H:%M:%S").to_string(),
        Language::SrLatn | Language::SrCyrl => local.format("%-d. %-m. %Y. %H:%M:%S").to_string(),
    }
}

/// Entries as rows.
pub fn rows(ctx: &Ctx, names: &HashMap<Uuid, String>, entries: &[AuditEntry]) -> Vec<AuditRow> {
    let tr = ctx.tr();
    entries
        .iter()
        .map(|e| AuditRow {
            seq: e.seq,
            time: time_with_seconds(e.occurred_at, &ctx.state.settings.org.time_zone, ctx.lang),
            who: who(&tr, names, e),
            action: e.action.clone(),
            outcome: tr.t(&format!("audit-outcome-{}", e.outcome)),
            outcome_code: e.outcome.clone(),
            record_kind: e.target_kind.clone().unwrap_or_default(),
            record_id: e.target_id.map(|i| i.to_string()).unwrap_or_default(),
            address: e.ip.clone().unwrap_or_default(),
        })
        .collect()
}

fn who(tr: &Tr<'_>, names: &HashMap<Uuid, String>, e: &AuditEntry) -> String {
    let named = |id: Option<Uuid>| {
        id.map(|i| {
            names
                .get(&i)
                .cloned()
                .unwrap_or_else(|| tr.t1("audit-actor-unknown", "id", i.to_string()))
        })
    };
    match e.actor_kind.as_str() {
        "user" => named(e.actor_id).unwrap_or_default(),
        "token" => tr.t1(
            "audit-actor-token",
            "name",
            named(e.actor_id).unwrap_or_default(),
        ),
        "system" => tr.t("audit-actor-system"),
        _ => tr.t("audit-actor-anonymous"),
    }
}

/// The filters of the page, as typed.
#[derive(Debug, Default, Deserialize)]
pub struct AuditQuery {
    /// Actions starting with this (`auth.`).
    #[serde(default)]
    action: String,
    /// A staff member's account id.
    #[serde(default)]
    actor: String,
    /// A record's id.
    #[serde(default)]
    record: String,
    /// Only entries before this sequence number (the "older" link).
    before: Option<i64>,
}

/// A staff member to filter by.
pub struct StaffChoice {
    id: String,
    name: String,
}

/// The outcome of "Verify the chain".
pub struct VerifyResult {
    ok: bool,
    message: String,
}

#[derive(Template)]
#[template(path = "staff/audit.html")]
struct AuditPage<'a> {
    page: Page<'a>,
    action: String,
    actor: String,
    record: String,
    staff: Vec<StaffChoice>,
    rows: Vec<AuditRow>,
    older: Option<String>,
    newest: Option<String>,
    errors: FormErrors,
    verified: Option<VerifyResult>,
}

fn query_string(q: &AuditQuery, before: Option<i64>) -> String {
    let mut pairs: Vec<(&str, String)> = Vec::new();
    for (k, v) in [
        ("action", &q.action),
        ("actor", &q.actor),
        ("record", &q.record),
    ] {
        if !v.trim().is_empty() {
            pairs.push((k, v.trim().to_owned()));
        }
    }
    if let Some(b) = before {
        pairs.push(("before", b.to_string()));
    }
    serde_urlencoded::to_string(&pairs).unwrap_or_default()
}

async fn page(ctx: &Ctx, q: AuditQuery, verified: Option<VerifyResult>) -> AppResult<Response> {
    let me = ctx.user()?;
    let mut errors = ValidationErrors::new();
    let actor = match q.actor.trim() {
        "" => None,
        s => match s.parse::<UserId>() {
            Ok(u) => Some(u),
            Err(_) => {
                errors.add("actor", "audit-actor-invalid");
                None
            }
        },
    };
    let record = match q.record.trim() {
        "" => None,
        s => match haven_domain::ids::parse_uuid(s) {
            Some(u) => Some(u),
            None => {
                errors.add("record", "audit-record-invalid");
                None
            }
        },
    };
    let action: String = q.action.trim().chars().take(100).collect();
    let filter = AuditFilter {
        actor,
        record,
        action_prefix: (!action.is_empty()).then(|| action.clone()),
        before_seq: q.before,
        ..AuditFilter::default()
    };
    let mut entries = audit::list(&ctx.state.db, me.org(), &filter, PAGE_SIZE + 1).await?;
    let more = entries.len() as i64 > PAGE_SIZE;
    entries.truncate(PAGE_SIZE as usize);
    let names = staff_names(ctx).await?;
    let older = more
        .then(|| entries.last().map(|e| query_string(&q, Some(e.seq))))
        .flatten();
    let newest = q.before.map(|_| query_string(&q, None));
    let mut staff: Vec<StaffChoice> = names
        .iter()
        .map(|(id, name)| StaffChoice {
            id: id.to_string(),
            name: name.clone(),
        })
        .collect();
    staff.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
    render(&AuditPage {
        page: ctx.page("audit-title"),
        rows: rows(ctx, &names, &entries),
        action,
        actor: q.actor.trim().to_owned(),
        record: q.record.trim().to_owned(),
        staff,
        older,
        newest,
        errors: FormErrors::from_validation(&ctx.tr(), &errors),
        verified,
    })
}

/// GET /staff/audit.
pub async fn list(ctx: Ctx, Query(q): Query<AuditQuery>) -> AppResult<Response> {
    page(&ctx, q, None).await
}

/// The result of a verification in the reader's language.
pub fn describe(tr: &Tr<'_>, v: &Verification) -> VerifyResult {
    match &v.first_broken {
        None => VerifyResult {
            ok: true,
            message: tr.t2("audit-verify-ok", "entries", v.entries, "head", v.head_seq),
        },
        Some((seq, why)) => VerifyResult {
            ok: false,
            message: tr.t2(
                "audit-verify-broken",
                "seq",
                *seq,
                "reason",
                tr.t(&format!("audit-break-{}", why.code())),
            ),
        },
    }
}

/// POST /staff/audit/verify: recomputes the organisation's hash chain and shows the result.
pub async fn verify(ctx: Ctx) -> AppResult<Response> {
    let me = ctx.user()?.clone();
    let v = audit::verify(&ctx.state.db, me.org()).await?;
    let outcome = if v.first_broken.is_none() {
        Outcome::Ok
    } else {
        Outcome::Failed
    };
    let mut tx = ctx.state.db.begin().await?;
    ctx.audit(
        &mut tx,
        me.org(),
        ctx.event("audit.verified", outcome).details(json!({
            "entries": v.entries,
            "head": v.head_seq,
            "first_broken": v.first_broken.as_ref().map(|(seq, why)| json!({ "seq": seq, "reason": why.code() })),
        })),
    )
    .await?;
    tx.commit().await?;
    let result = describe(&ctx.tr(), &v);
    page(&ctx, AuditQuery::default(), Some(result)).await
}
