//! Cases and the work on them: the case itself (number, kind, status, advisors, sealed summary
//! and details with their plain projection), the people in it, its timeline, services, tasks,
//! consent records, break-the-glass grants and linked hotline contacts.
//!
//! Nothing here decides who may see what: the web layer asks `haven_domain::policy` with the
//! [`CaseFacts`] read by [`facts`] (which decrypts nothing) before it reads anything sealed.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use haven_crypto::keys::OrgKeyring;
use haven_domain::cases::{
    CaseDetails, CaseId, CaseKind, CaseStatus, ClosureReason, ConsentId, ConsentPurpose,
    DocumentId, EventId, GrantId, Line, PersonRole, ServiceId, ServiceKind, ServiceStatus, TaskId,
};
use haven_domain::numbering::CaseNumber;
use haven_domain::people::PersonId;
use haven_domain::policy::CaseFacts;
use haven_domain::{OrgId, SecureRng, UserId};
use uuid::Uuid;

use crate::encrypted::EncryptedTable;
use crate::sealing::{Json, open, seal};
use crate::{Db, Result, StoreError, Tx, counters, execute, on_db};

/// The encrypted columns of the case tables, for key checks and rotation.
pub const ENCRYPTED: &[EncryptedTable] = &[
    EncryptedTable {
        table: "cases",
        columns: &["summary_enc", "details_enc"],
    },
    EncryptedTable {
        table: "case_events",
        columns: &["body_enc"],
    },
    EncryptedTable {
        table: "case_services",
        columns: &["outcome_enc"],
    },
    EncryptedTable {
        table: "case_tasks",
        columns: &["title_enc"],
    },
    EncryptedTable {
        table: "consents",
        columns: &["note_enc"],
    },
    EncryptedTable {
        table: "break_glass",
        columns: &["reason_enc"],
    },
];

/// A case to open.
pub struct NewCase {
    /// Its id.
    pub id: CaseId,
    /// Its kind.
    pub kind: CaseKind,
    /// The line whose register numbers it.
    pub line: Line,
    /// Whether only its advisors and supervisors may open it.
    pub restricted: bool,
    /// The lead advisor.
    pub lead: UserId,
    /// The situation, in the counsellor's words (sealed).
    pub summary: String,
    /// The details of its kind.
    pub details: CaseDetails,
    /// Who opens it.
    pub opened_by: UserId,
    /// Now.
    pub now: DateTime<Utc>,
    /// The year of the register: the year of `now` in the organisation's time zone.
    pub year: i32,
}

/// A closure waiting for a supervisor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClosureRequest {
    /// When it was asked for.
    pub at: DateTime<Utc>,
    /// By whom.
    pub by: Option<UserId>,
    /// The status asked for.
    pub status: CaseStatus,
    /// Why.
    pub reason: ClosureReason,
}

/// What lists, dashboards and timers need of a case: plain columns only, nothing decrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseSummary {
    /// The organisation.
    pub org_id: OrgId,
    /// The id.
    pub id: CaseId,
    /// The number.
    pub number: String,
    /// The line.
    pub line: Line,
    /// The kind.
    pub kind: CaseKind,
    /// The status.
    pub status: CaseStatus,
    /// Restricted to its advisors and supervisors.
    pub restricted: bool,
    /// The lead advisor.
    pub lead: Option<UserId>,
    /// Every advisor (the lead among them).
    pub advisors: Vec<UserId>,
    /// When opened.
    pub opened_at: DateTime<Utc>,
    /// When anything last happened.
    pub last_activity_at: DateTime<Utc>,
    /// When closed.
    pub closed_at: Option<DateTime<Utc>>,
    /// Why closed.
    pub closure_reason: Option<ClosureReason>,
    /// A closure awaiting approval.
    pub closure_request: Option<ClosureRequest>,
    /// Missing child: the 116 000 category code.
    pub missing_category: Option<String>,
    /// Missing child: last seen.
    pub last_seen_at: Option<DateTime<Utc>>,
    /// Missing child: found.
    pub found_at: Option<DateTime<Utc>>,
    /// Missing child: police report made.
    pub police_reported_at: Option<DateTime<Utc>>,
    /// Missing child: last contact with the family.
    pub family_contact_at: Option<DateTime<Utc>>,
}

impl CaseSummary {
    /// What the access policy needs.
    pub fn facts(&self) -> CaseFacts {
        CaseFacts {
            org_id: self.org_id,
            restricted: self.restricted,
            advisors: self.advisors.clone(),
        }
    }
}

/// A case, decrypted.
#[derive(Clone)]
pub struct Case {
    /// The plain facts.
    pub summary_row: CaseSummary,
    /// The situation, as recorded.
    pub summary: String,
    /// The details of its kind.
    pub details: CaseDetails,
}

impl std::fmt::Debug for Case {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Case")
            .field("id", &self.summary_row.id)
            .field("kind", &self.summary_row.kind)
            .finish_non_exhaustive()
    }
}

#[derive(sqlx::FromRow)]
struct Row {
    org_id: Uuid,
    id: Uuid,
    number: String,
    line: String,
    kind: String,
    status: String,
    restricted: bool,
    lead_id: Option<Uuid>,
    opened_at: DateTime<Utc>,
    last_activity_at: DateTime<Utc>,
    closed_at: Option<DateTime<Utc>>,
    closure_reason: Option<String>,
    closure_requested_at: Option<DateTime<Utc>>,
    closure_requested_by: Option<Uuid>,
    closure_requested_status: Option<String>,
    closure_requested_reason: Option<String>,
    mc_category: Option<String>,
    mc_last_seen_at: Option<DateTime<Utc>>,
    mc_found_at: Option<DateTime<Utc>>,
    mc_police_reported_at: Option<DateTime<Utc>>,
    mc_family_contact_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "org_id, id, number, line, kind, status, restricted, lead_id, opened_at, last_activity_at, closed_at, \
    closure_reason, closure_requested_at, closure_requested_by, closure_requested_status, closure_requested_reason, \
    mc_category, mc_last_seen_at, mc_found_at, mc_police_reported_at, mc_family_contact_at";

fn corrupt(column: &'static str, v: &str) -> StoreError {
    StoreError::corrupt("cases", column, format!("unknown code {v:?}"))
}

impl Row {
    fn into_summary(self, advisors: Vec<UserId>) -> Result<CaseSummary> {
        let request = match (
            self.closure_requested_at,
            self.closure_requested_status.as_deref(),
            self.closure_requested_reason.as_deref(),
        ) {
            (Some(at), Some(st), Some(r)) => Some(ClosureRequest {
                at,
                by: self.closure_requested_by.map(UserId),
                status: CaseStatus::from_code(st)
                    .ok_or_else(|| corrupt("closure_requested_status", st))?,
                reason: ClosureReason::from_code(r)
                    .ok_or_else(|| corrupt("closure_requested_reason", r))?,
            }),
            _ => None,
        };
        Ok(CaseSummary {
            org_id: OrgId(self.org_id),
            id: CaseId(self.id),
            line: Line::from_code(&self.line).ok_or_else(|| corrupt("line", &self.line))?,
            kind: CaseKind::from_code(&self.kind).ok_or_else(|| corrupt("kind", &self.kind))?,
            status: CaseStatus::from_code(&self.status)
                .ok_or_else(|| corrupt("status", &self.status))?,
            number: self.number,
            restricted: self.restricted,
            lead: self.lead_id.map(UserId),
            advisors,
            opened_at: self.opened_at,
            last_activity_at: self.last_activity_at,
            closed_at: self.closed_at,
            closure_reason: self
                .closure_reason
                .as_deref()
                .and_then(ClosureReason::from_code),
            closure_request: request,
            missing_category: self.mc_category,
            last_seen_at: self.mc_last_seen_at,
            found_at: self.mc_found_at,
            police_reported_at: self.mc_police_reported_at,
            family_contact_at: self.mc_family_contact_at,
        })
    }
}

/// The multi-valued codes of the details, by field, for `case_codes`.
fn codes_of(details: &CaseDetails) -> Vec<(&'static str, String)> {
    fn each<T: std::fmt::Display>(out: &mut Vec<(&'static str, String)>, f: &'static str, v: &[T]) {
        out.extend(v.iter().map(|c| (f, c.to_string())));
    }
    let mut out = Vec::new();
    match details {
        CaseDetails::MissingChild(d) => each(&mut out, "country_involved", &d.countries),
        CaseDetails::Trafficking(d) => {
            each(&mut out, "exploitation", &d.exploitation);
            each(&mut out, "sex_exploitation", &d.sex_exploitation);
            each(&mut out, "control", &d.control);
            each(&mut out, "recruitment", &d.recruitment);
            each(&mut out, "recruitment_app", &d.recruitment_apps);
            each(&mut out, "exploitation_app", &d.exploitation_apps);
            for (f, p) in [
                ("recruitment_country", &d.recruited),
                ("transit_country", &d.transit),
                ("exploitation_country", &d.exploited),
            ] {
                if let Some(c) = p.country {
                    out.push((f, c.to_string()));
                }
            }
        }
        CaseDetails::LabourExploitation(d) => each(&mut out, "ilo_indicator", &d.indicators),
    }
    out.sort();
    out.dedup();
    out
}

/// Writes the plain projection of the details (the kind's columns and `case_codes`).
async fn project(tx: &mut Tx, org: OrgId, id: CaseId, details: &CaseDetails) -> Result<()> {
    let code = |c: Option<&'static str>| c.map(str::to_owned);
    match details {
        CaseDetails::MissingChild(d) => {
            execute!(
                tx,
                "UPDATE cases SET mc_category = $3, mc_scope = $4, mc_last_seen_at = $5, mc_found_at = $6, \
                 mc_found_state = $7, mc_returned_to = $8, mc_police_reported_at = $9, mc_interpol_notice = $10, \
                 mc_schengen_alert = $11 WHERE org_id = $1 AND id = $2",
                org.0,
                id.0,
                code(d.category.map(|c| c.code())),
                code(d.scope.map(|c| c.code())),
                d.last_seen_at,
                d.found_at,
                code(d.found_state.map(|c| c.code())),
                code(d.returned_to.map(|c| c.code())),
                d.police_reported_at,
                d.interpol_notice,
                d.schengen_alert
            )?;
        }
        CaseDetails::Trafficking(d) => {
            execute!(
                tx,
                "UPDATE cases SET tr_status = $3, tr_decided_by = $4, tr_identified_on = $5, tr_industry = $6, \
                 tr_relationship = $7, tr_age_when_trafficked = $8 WHERE org_id = $1 AND id = $2",
                org.0,
                id.0,
                code(d.status.map(|c| c.code())),
                code(d.decided_by.map(|c| c.code())),
                d.identified_on,
                code(d.industry.map(|c| c.code())),
                code(d.relationship.map(|c| c.code())),
                d.age_when_trafficked.map(i64::from)
            )?;
        }
        CaseDetails::LabourExploitation(d) => {
            execute!(
                tx,
                "UPDATE cases SET lx_country = $3, lx_sector = $4, lx_wages_owed_minor = $5, lx_currency = $6, \
                 lx_workers_affected = $7, lx_documents_retained = $8 WHERE org_id = $1 AND id = $2",
                org.0,
                id.0,
                d.country.map(|c| c.to_string()),
                code(d.sector.map(|c| c.code())),
                d.wages_owed_minor,
                (!d.currency.is_empty()).then(|| d.currency.clone()),
                d.workers_affected.map(i64::from),
                d.documents_retained
            )?;
        }
    }
    execute!(
        tx,
        "DELETE FROM case_codes WHERE org_id = $1 AND case_id = $2",
        org.0,
        id.0
    )?;
    for (field, value) in codes_of(details) {
        execute!(
            tx,
            "INSERT INTO case_codes (org_id, case_id, field, code) VALUES ($1, $2, $3, $4)",
            org.0,
            id.0,
            field,
            value
        )?;
    }
    Ok(())
}

/// Opens a case: takes the next number of the line's register for the year (inside `tx`, so a
/// failure leaves no hole), records the advisors and the projection of the details.
pub async fn create(
    tx: &mut Tx,
    ring: &OrgKeyring,
    rng: &dyn SecureRng,
    org: OrgId,
    c: &NewCase,
) -> Result<CaseNumber> {
    let register = format!("case:{}", c.line.code());
    let seq = counters::next(tx, org, &register, c.year).await?;
    let number = CaseNumber::new(
        c.line.number_prefix(),
        c.year,
        u32::try_from(seq).map_err(|_| StoreError::corrupt("counters", "last", seq))?,
    )
    .map_err(|e| StoreError::corrupt("counters", "last", e))?;
    let summary = seal(ring, rng, "cases", "summary_enc", c.id.0, &c.summary)?;
    let details = seal(
        ring,
        rng,
        "cases",
        "details_enc",
        c.id.0,
        &Json(c.details.clone()),
    )?;
    execute!(
        tx,
        "INSERT INTO cases (org_id, id, number, line, year, seq, kind, status, restricted, lead_id, summary_enc, details_enc, \
         opened_at, opened_by, updated_at, last_activity_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'Active', $8, $9, $10, $11, $12, $13, $12, $12)",
        org.0,
        c.id.0,
        number.to_string(),
        c.line.code(),
        i64::from(c.year),
        seq,
        c.kind.code(),
        c.restricted,
        c.lead.0,
        summary,
        details,
        c.now,
        c.opened_by.0
    )?;
    add_advisor(tx, org, c.id, c.lead, Some(c.opened_by), c.now).await?;
    project(tx, org, c.id, &c.details).await?;
    Ok(number)
}

/// Adds an advisor (nothing happens if they already are one).
pub async fn add_advisor(
    tx: &mut Tx,
    org: OrgId,
    case: CaseId,
    user: UserId,
    by: Option<UserId>,
    now: DateTime<Utc>,
) -> Result<()> {
    execute!(
        tx,
        "INSERT INTO case_advisors (org_id, case_id, user_id, added_by, added_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (org_id, case_id, user_id) DO NOTHING",
        org.0,
        case.0,
        user.0,
        by.map(|u| u.0),
        now
    )?;
    Ok(())
}

/// Removes an advisor (never the lead).
pub async fn remove_advisor(tx: &mut Tx, org: OrgId, case: CaseId, user: UserId) -> Result<bool> {
    let n = execute!(
        tx,
        "DELETE FROM case_advisors WHERE org_id = $1 AND case_id = $2 AND user_id = $3 \
         AND NOT EXISTS (SELECT 1 FROM cases WHERE org_id = $1 AND id = $2 AND lead_id = $3)",
        org.0,
        case.0,
        user.0
    )?;
    Ok(n > 0)
}

/// Makes an advisor the lead.
pub async fn set_lead(
    tx: &mut Tx,
    org: OrgId,
    case: CaseId,
    user: UserId,
    now: DateTime<Utc>,
) -> Result<()> {
    add_advisor(tx, org, case, user, None, now).await?;
    execute!(
        tx,
        "UPDATE cases SET lead_id = $3, updated_at = $4 WHERE org_id = $1 AND id = $2",
        org.0,
        case.0,
        user.0,
        now
    )?;
    Ok(())
}

/// Restricts a case to its advisors and supervisors, or lifts the restriction.
pub async fn set_restricted(
    tx: &mut Tx,
    org: OrgId,
    case: CaseId,
    restricted: bool,
    now: DateTime<Utc>,
) -> Result<()> {
    execute!(
        tx,
        "UPDATE cases SET restricted = $3, updated_at = $4 WHERE org_id = $1 AND id = $2",
        org.0,
        case.0,
        restricted,
        now
    )?;
    Ok(())
}

/// The advisors of the cases opened since `since` (a superset of a page's cases, read in one
/// query instead of one per case).
async fn advisors_since(db: &Db, org: OrgId, since: DateTime<Utc>) -> Result<Vec<(Uuid, Uuid)>> {
    Ok(on_db!(db, |c| {
        sqlx::query_as(
        "SELECT a.case_id, a.user_id FROM case_advisors a JOIN cases c ON c.org_id = a.org_id AND c.id = a.case_id \
         WHERE a.org_id = $1 AND c.opened_at >= $2 ORDER BY a.added_at, a.user_id"
    )
    .bind(org.0)
    .bind(since)
    .fetch_all(c)
    .await
    })?)
}

async fn summaries(db: &Db, org: OrgId, rows: Vec<Row>) -> Result<Vec<CaseSummary>> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let advisors = if ids.len() == 1 {
        let only: Vec<Uuid> = on_db!(db, |c| {
            sqlx::query_scalar(
            "SELECT user_id FROM case_advisors WHERE org_id = $1 AND case_id = $2 ORDER BY added_at, user_id"
        )
        .bind(org.0)
        .bind(ids[0])
        .fetch_all(c)
        .await
        })?;
        only.into_iter().map(|u| (ids[0], u)).collect()
    } else {
        match rows.iter().map(|r| r.opened_at).min() {
            Some(since) => advisors_since(db, org, since).await?,
            None => Vec::new(),
        }
    };
    rows.into_iter()
        .map(|r| {
            let mine = advisors
                .iter()
                .filter(|(c, _)| *c == r.id)
                .map(|(_, u)| UserId(*u))
                .collect();
            r.into_summary(mine)
        })
        .collect()
}

/// The plain facts of a case (nothing decrypted), or `None` in this organisation.
pub async fn summary(db: &Db, org: OrgId, id: CaseId) -> Result<Option<CaseSummary>> {
    let sql = format!("SELECT {COLUMNS} FROM cases WHERE org_id = $1 AND id = $2");
    let row: Option<Row> = on_db!(db, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(org.0)
        .bind(id.0)
        .fetch_optional(c)
        .await)?;
    match row {
        None => Ok(None),
        Some(r) => Ok(summaries(db, org, vec![r]).await?.pop()),
    }
}

/// What the access policy needs of a case, or `None` when there is no such case in `org`.
pub async fn facts(db: &Db, org: OrgId, id: CaseId) -> Result<Option<CaseFacts>> {
    Ok(summary(db, org, id).await?.map(|s| s.facts()))
}

/// A case by its number.
pub async fn by_number(db: &Db, org: OrgId, number: &CaseNumber) -> Result<Option<CaseId>> {
    let id: Option<Uuid> = on_db!(db, |c| sqlx::query_scalar(
        "SELECT id FROM cases WHERE org_id = $1 AND number = $2"
    )
    .bind(org.0)
    .bind(number.to_string())
    .fetch_optional(c)
    .await)?;
    Ok(id.map(CaseId))
}

/// A case, decrypted (call only after the policy allowed it).
pub async fn get(db: &Db, ring: &OrgKeyring, org: OrgId, id: CaseId) -> Result<Option<Case>> {
    let Some(s) = summary(db, org, id).await? else {
        return Ok(None);
    };
    let (summary_enc, details_enc): (Vec<u8>, Vec<u8>) = on_db!(db, |c| sqlx::query_as(
        "SELECT summary_enc, details_enc FROM cases WHERE org_id = $1 AND id = $2"
    )
    .bind(org.0)
    .bind(id.0)
    .fetch_one(c)
    .await)?;
    let summary: String = open(ring, "cases", "summary_enc", id.0, summary_enc)?;
    let details: Json<CaseDetails> = open(ring, "cases", "details_enc", id.0, details_enc)?;
    Ok(Some(Case {
        summary_row: s,
        summary,
        details: details.0,
    }))
}

/// Filters of the case list (applied in SQL; access is decided afterwards, case by case).
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    /// Only this kind.
    pub kind: Option<CaseKind>,
    /// Only open cases (Active, FollowUp).
    pub open_only: bool,
    /// Only this status.
    pub status: Option<CaseStatus>,
    /// Only cases this person advises.
    pub advisor: Option<UserId>,
    /// Only cases without activity since then.
    pub inactive_since: Option<DateTime<Utc>>,
    /// Only missing-child cases whose child is still missing.
    pub still_missing: bool,
}

/// Cases matching `f`, newest first, at most `limit`.
pub async fn list(db: &Db, org: OrgId, f: &CaseFilter, limit: i64) -> Result<Vec<CaseSummary>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM cases c WHERE org_id = $1 \
         AND ($2 IS NULL OR kind = $2) AND ($3 IS NULL OR status = $3) \
         AND ($4 = FALSE OR status IN ('Active', 'FollowUp')) \
         AND ($5 IS NULL OR EXISTS (SELECT 1 FROM case_advisors a WHERE a.org_id = c.org_id AND a.case_id = c.id AND a.user_id = $5)) \
         AND ($6 IS NULL OR last_activity_at < $6) \
         AND ($7 = FALSE OR (kind = 'missing_child' AND mc_found_at IS NULL)) \
         ORDER BY opened_at DESC, id DESC LIMIT $8"
    );
    let rows: Vec<Row> = on_db!(db, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(org.0)
        .bind(f.kind.map(|k| k.code()))
        .bind(f.status.map(|s| s.code()))
        .bind(f.open_only)
        .bind(f.advisor.map(|u| u.0))
        .bind(f.inactive_since)
        .bind(f.still_missing)
        .bind(limit)
        .fetch_all(c)
        .await)?;
    summaries(db, org, rows).await
}

/// Replaces the summary and details (sealed afresh) and their projection.
#[allow(clippy::too_many_arguments)]
pub async fn update_details(
    tx: &mut Tx,
    ring: &OrgKeyring,
    rng: &dyn SecureRng,
    org: OrgId,
    id: CaseId,
    summary: &str,
    details: &CaseDetails,
    now: DateTime<Utc>,
) -> Result<()> {
    let s = seal(ring, rng, "cases", "summary_enc", id.0, &summary.to_owned())?;
    let d = seal(
        ring,
        rng,
        "cases",
        "details_enc",
        id.0,
        &Json(details.clone()),
    )?;
    let n = execute!(
        tx,
        "UPDATE cases SET summary_enc = $3, details_enc = $4, updated_at = $5, last_activity_at = $5 WHERE org_id = $1 AND id = $2",
        org.0,
        id.0,
        s,
        d,
        now
    )?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    project(tx, org, id, details).await
}

/// Records that something happened in the case at `now` (the last activity only moves forward).
pub async fn touch(tx: &mut Tx, org: OrgId, id: CaseId, now: DateTime<Utc>) -> Result<()> {
    execute!(
        tx,
        "UPDATE cases SET last_activity_at = $3 WHERE org_id = $1 AND id = $2 AND last_activity_at < $3",
        org.0,
        id.0,
        now
    )?;
    Ok(())
}

/// Records a contact with the missing child's family (it restarts that escalation timer).
pub async fn set_family_contact(
    tx: &mut Tx,
    org: OrgId,
    id: CaseId,
    at: DateTime<Utc>,
) -> Result<()> {
    execute!(
        tx,
        "UPDATE cases SET mc_family_contact_at = $3 WHERE org_id = $1 AND id = $2",
        org.0,
        id.0,
        at
    )?;
    Ok(())
}

/// Sets the status (a closed status with its reason; an open one clears both), ending any
/// pending closure request.
pub async fn set_status(
    tx: &mut Tx,
    org: OrgId,
    id: CaseId,
    status: CaseStatus,
    reason: Option<ClosureReason>,
    now: DateTime<Utc>,
) -> Result<()> {
    let closed_at = (!status.is_open()).then_some(now);
    execute!(
        tx,
        "UPDATE cases SET status = $3, closure_reason = $4, closed_at = $5, updated_at = $6, last_activity_at = $6, \
         closure_requested_at = NULL, closure_requested_by = NULL, closure_requested_status = NULL, closure_requested_reason = NULL \
         WHERE org_id = $1 AND id = $2",
        org.0,
        id.0,
        status.code(),
        reason.filter(|_| !status.is_open()).map(|r| r.code()),
        closed_at,
        now
    )?;
    Ok(())
}

/// Asks for a closure that a supervisor must approve.
pub async fn request_closure(
    tx: &mut Tx,
    org: OrgId,
    id: CaseId,
    r: &ClosureRequest,
) -> Result<()> {
    execute!(
        tx,
        "UPDATE cases SET closure_requested_at = $3, closure_requested_by = $4, closure_requested_status = $5, \
         closure_requested_reason = $6, last_activity_at = $3 WHERE org_id = $1 AND id = $2",
        org.0,
        id.0,
        r.at,
        r.by.map(|u| u.0),
        r.status.code(),
        r.reason.code()
    )?;
    Ok(())
}

/// Withdraws a pending closure request (rejected).
pub async fn clear_closure_request(
    tx: &mut Tx,
    org: OrgId,
    id: CaseId,
    now: DateTime<Utc>,
) -> Result<()> {
    execute!(
        tx,
        "UPDATE cases SET closure_requested_at = NULL, closure_requested_by = NULL, closure_requested_status = NULL, \
         closure_requested_reason = NULL, last_activity_at = $3 WHERE org_id = $1 AND id = $2",
        org.0,
        id.0,
        now
    )?;
    Ok(())
}

/// How many cases the organisation has.
pub async fn count(db: &Db, org: OrgId) -> Result<i64> {
    Ok(on_db!(db, |c| sqlx::query_scalar(
        "SELECT count(*) FROM cases WHERE org_id = $1"
    )
    .bind(org.0)
    .fetch_one(c)
    .await)?)
}

// People in cases.

/// A person's role in a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CasePerson {
    /// The case.
    pub case_id: CaseId,
    /// The person.
    pub person_id: PersonId,
    /// The role.
    pub role: PersonRole,
    /// For suspected perpetrators: their roles in the process (HTCDS codes).
    pub perpetrator_roles: Vec<String>,
    /// When added.
    pub added_at: DateTime<Utc>,
}

/// Adds a person to a case in a role (again is a no-op).
#[allow(clippy::too_many_arguments)]
pub async fn add_person(
    tx: &mut Tx,
    org: OrgId,
    case: CaseId,
    person: PersonId,
    role: PersonRole,
    perpetrator_roles: &[String],
    by: Option<UserId>,
    now: DateTime<Utc>,
) -> Result<bool> {
    let n = execute!(
        tx,
        "INSERT INTO case_people (org_id, case_id, person_id, role, perpetrator_roles, added_by, added_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (org_id, case_id, person_id, role) DO NOTHING",
        org.0,
        case.0,
        person.0,
        role.code(),
        perpetrator_roles.join(" "),
        by.map(|u| u.0),
        now
    )?;
    Ok(n > 0)
}

/// Removes a person's role from a case.
pub async fn remove_person(
    tx: &mut Tx,
    org: OrgId,
    case: CaseId,
    person: PersonId,
    role: PersonRole,
) -> Result<bool> {
    let n = execute!(
        tx,
        "DELETE FROM case_people WHERE org_id = $1 AND case_id = $2 AND person_id = $3 AND role = $4",
        org.0,
        case.0,
        person.0,
        role.code()
    )?;
    Ok(n > 0)
}

type PersonLinkRow = (Uuid, Uuid, String, String, DateTime<Utc>);

fn person_links(rows: Vec<PersonLinkRow>) -> Vec<CasePerson> {
    rows.into_iter()
        .filter_map(|(c, p, role, perp, at)| {
            Some(CasePerson {
                case_id: CaseId(c),
                person_id: PersonId(p),
                role: PersonRole::from_code(&role)?,
                perpetrator_roles: perp.split_whitespace().map(str::to_owned).collect(),
                added_at: at,
            })
        })
        .collect()
}

/// The people of a case, in the order they were added.
pub async fn people_of(db: &Db, org: OrgId, case: CaseId) -> Result<Vec<CasePerson>> {
    let rows: Vec<PersonLinkRow> = on_db!(db, |c| sqlx::query_as(
        "SELECT case_id, person_id, role, perpetrator_roles, added_at FROM case_people \
         WHERE org_id = $1 AND case_id = $2 ORDER BY added_at, person_id, role"
    )
    .bind(org.0)
    .bind(case.0)
    .fetch_all(c)
    .await)?;
    Ok(person_links(rows))
}

/// The cases a person is in, with their roles.
pub async fn cases_of_person(db: &Db, org: OrgId, person: PersonId) -> Result<Vec<CasePerson>> {
    let rows: Vec<PersonLinkRow> = on_db!(db, |c| sqlx::query_as(
        "SELECT case_id, person_id, role, perpetrator_roles, added_at FROM case_people \
         WHERE org_id = $1 AND person_id = $2 ORDER BY added_at, case_id, role"
    )
    .bind(org.0)
    .bind(person.0)
    .fetch_all(c)
    .await)?;
    Ok(person_links(rows))
}

/// The people in the primary role (beneficiary, missing child) of the cases opened since
/// `since`, first added first.
pub async fn primary_people(
    db: &Db,
    org: OrgId,
    since: DateTime<Utc>,
) -> Result<Vec<(CaseId, PersonId)>> {
    let rows: Vec<(Uuid, Uuid)> = on_db!(db, |c| {
        sqlx::query_as(
        "SELECT p.case_id, p.person_id FROM case_people p JOIN cases c ON c.org_id = p.org_id AND c.id = p.case_id \
         WHERE p.org_id = $1 AND p.role IN ('beneficiary', 'missing_child') AND c.opened_at >= $2 \
         ORDER BY p.added_at, p.person_id"
    )
    .bind(org.0)
    .bind(since)
    .fetch_all(c)
    .await
    })?;
    Ok(rows
        .into_iter()
        .map(|(c, p)| (CaseId(c), PersonId(p)))
        .collect())
}

// The timeline.

/// Something to add to a case's timeline.
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// What happened (`note`, `status_changed`, `person_added`, …).
    pub kind: &'static str,
    /// Who did it.
    pub actor: Option<UserId>,
    /// The record it concerns (a person, service, task, document).
    pub ref_id: Option<Uuid>,
    /// Codes and ids describing it (never identifying values).
    pub data: serde_json::Value,
    /// Text, sealed (a note); empty when there is none.
    pub body: String,
}

impl NewEvent {
    /// An event without record, data or text.
    pub fn new(kind: &'static str, actor: Option<UserId>) -> Self {
        Self {
            kind,
            actor,
            ref_id: None,
            data: serde_json::json!({}),
            body: String::new(),
        }
    }
}

/// An entry of the timeline, decrypted.
#[derive(Clone)]
pub struct Event {
    /// Its id.
    pub id: EventId,
    /// When.
    pub at: DateTime<Utc>,
    /// What.
    pub kind: String,
    /// Who.
    pub actor: Option<UserId>,
    /// About what record.
    pub ref_id: Option<Uuid>,
    /// Codes and ids.
    pub data: serde_json::Value,
    /// The text.
    pub body: String,
}

/// Adds an entry to the timeline and records the activity.
#[allow(clippy::too_many_arguments)]
pub async fn add_event(
    tx: &mut Tx,
    ring: &OrgKeyring,
    rng: &dyn SecureRng,
    org: OrgId,
    case: CaseId,
    id: EventId,
    e: &NewEvent,
    now: DateTime<Utc>,
) -> Result<()> {
    let body = seal(ring, rng, "case_events", "body_enc", id.0, &e.body)?;
    execute!(
        tx,
        "INSERT INTO case_events (org_id, id, case_id, at, kind, actor_id, ref_id, data, body_enc) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        org.0,
        id.0,
        case.0,
        now,
        e.kind,
        e.actor.map(|u| u.0),
        e.ref_id,
        e.data.to_string(),
        body
    )?;
    touch(tx, org, case, now).await
}

/// The timeline of a case, newest first.
pub async fn events(db: &Db, ring: &OrgKeyring, org: OrgId, case: CaseId) -> Result<Vec<Event>> {
    type EventRow = (
        Uuid,
        DateTime<Utc>,
        String,
        Option<Uuid>,
        Option<Uuid>,
        String,
        Vec<u8>,
    );
    let rows: Vec<EventRow> = on_db!(db, |c| sqlx::query_as(
        "SELECT id, at, kind, actor_id, ref_id, data, body_enc FROM case_events \
         WHERE org_id = $1 AND case_id = $2 ORDER BY at DESC, id DESC"
    )
    .bind(org.0)
    .bind(case.0)
    .fetch_all(c)
    .await)?;
    rows.into_iter()
        .map(|(id, at, kind, actor, ref_id, data, body)| {
            Ok(Event {
                id: EventId(id),
                at,
                kind,
                actor: actor.map(UserId),
                ref_id,
                data: serde_json::from_str(&data).unwrap_or_default(),
                body: open(ring, "case_events", "body_enc", id, body)?,
            })
        })
        .collect()
}

// Break the glass.

/// A break-the-glass grant.
#[derive(Clone)]
pub struct Grant {
    /// Its id.
    pub id: GrantId,
    /// The case.
    pub case_id: CaseId,
    /// The case's number.
    pub case_number: String,
    /// Who broke the glass.
    pub user_id: UserId,
    /// Why, in their words.
    pub reason: String,
    /// When.
    pub granted_at: DateTime<Utc>,
    /// Until when.
    pub expires_at: DateTime<Utc>,
}

/// Grants `user` access to a restricted case until `expires_at`, with the reason sealed.
#[allow(clippy::too_many_arguments)]
pub async fn break_glass(
    tx: &mut Tx,
    ring: &OrgKeyring,
    rng: &dyn SecureRng,
    org: OrgId,
    id: GrantId,
    case: CaseId,
    user: UserId,
    reason: &str,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<()> {
    let reason = seal(
        ring,
        rng,
        "break_glass",
        "reason_enc",
        id.0,
        &reason.to_owned(),
    )?;
    execute!(
        tx,
        "INSERT INTO break_glass (org_id, id, case_id, user_id, reason_enc, granted_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        org.0,
        id.0,
        case.0,
        user.0,
        reason,
        now,
        expires_at
    )?;
    Ok(())
}

/// The grant of `user` for `case` still running at `now`, if any (the one that runs longest).
pub async fn running_grant(
    db: &Db,
    org: OrgId,
    case: CaseId,
    user: UserId,
    now: DateTime<Utc>,
) -> Result<Option<(GrantId, DateTime<Utc>)>> {
    let row: Option<(Uuid, DateTime<Utc>)> = on_db!(db, |c| {
        sqlx::query_as(
        "SELECT id, expires_at FROM break_glass WHERE org_id = $1 AND case_id = $2 AND user_id = $3 AND expires_at > $4 \
         ORDER BY expires_at DESC LIMIT 1"
    )
    .bind(org.0)
    .bind(case.0)
    .bind(user.0)
    .bind(now)
    .fetch_optional(c)
    .await
    })?;
    Ok(row.map(|(id, t)| (GrantId(id), t)))
}

/// The cases `user` holds a running grant for.
pub async fn granted_cases(
    db: &Db,
    org: OrgId,
    user: UserId,
    now: DateTime<Utc>,
) -> Result<Vec<CaseId>> {
    let ids: Vec<Uuid> = on_db!(db, |c| {
        sqlx::query_scalar(
        "SELECT DISTINCT case_id FROM break_glass WHERE org_id = $1 AND user_id = $2 AND expires_at > $3"
    )
    .bind(org.0)
    .bind(user.0)
    .bind(now)
    .fetch_all(c)
    .await
    })?;
    Ok(ids.into_iter().map(CaseId).collect())
}

/// The latest grants of the organisation, newest first (for supervisors).
pub async fn recent_grants(
    db: &Db,
    ring: &OrgKeyring,
    org: OrgId,
    limit: i64,
) -> Result<Vec<Grant>> {
    type GrantRow = (
        Uuid,
        Uuid,
        String,
        Uuid,
        Vec<u8>,
        DateTime<Utc>,
        DateTime<Utc>,
    );
    let rows: Vec<GrantRow> = on_db!(db, |c| {
        sqlx::query_as(
        "SELECT g.id, g.case_id, c.number, g.user_id, g.reason_enc, g.granted_at, g.expires_at FROM break_glass g \
         JOIN cases c ON c.org_id = g.org_id AND c.id = g.case_id WHERE g.org_id = $1 ORDER BY g.granted_at DESC, g.id DESC LIMIT $2"
    )
    .bind(org.0)
    .bind(limit)
    .fetch_all(c)
    .await
    })?;
    rows.into_iter()
        .map(|(id, case, number, user, reason, at, until)| {
            Ok(Grant {
                id: GrantId(id),
                case_id: CaseId(case),
                case_number: number,
                user_id: UserId(user),
                reason: open(ring, "break_glass", "reason_enc", id, reason)?,
                granted_at: at,
                expires_at: until,
            })
        })
        .collect()
}

// Services.

/// A service planned or delivered.
#[derive(Clone)]
pub struct Service {
    /// Its id.
    pub id: ServiceId,
    /// The case.
    pub case_id: CaseId,
    /// For whom.
    pub person_id: Option<PersonId>,
    /// What.
    pub kind: ServiceKind,
    /// Where it stands.
    pub status: ServiceStatus,
    /// The institution that provides it, if not the organisation itself.
    pub provider_institution: Option<Uuid>,
    /// The staff member who provides it.
    pub provider_user: Option<UserId>,
    /// When planned for.
    pub planned_on: Option<NaiveDate>,
    /// When started.
    pub started_on: Option<NaiveDate>,
    /// When ended.
    pub ended_on: Option<NaiveDate>,
    /// Cost in minor units.
    pub cost_minor: Option<i64>,
    /// Currency of the cost.
    pub currency: Option<String>,
    /// Funding source (a project or donor, as named).
    pub funding_source: String,
    /// Outcome, in the worker's words (sealed).
    pub outcome: String,
}

/// Records a service (new, or replacing one with the same id).
pub async fn save_service(
    tx: &mut Tx,
    ring: &OrgKeyring,
    rng: &dyn SecureRng,
    org: OrgId,
    s: &Service,
    by: Option<UserId>,
    now: DateTime<Utc>,
) -> Result<()> {
    let outcome = seal(
        ring,
        rng,
        "case_services",
        "outcome_enc",
        s.id.0,
        &s.outcome,
    )?;
    execute!(
        tx,
        "INSERT INTO case_services (org_id, id, case_id, person_id, kind, support_plan_type, status, provider_institution_id, \
         provider_user_id, planned_on, started_on, ended_on, cost_minor, currency, funding_source, outcome_enc, created_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $18) \
         ON CONFLICT (org_id, id) DO UPDATE SET person_id = excluded.person_id, kind = excluded.kind, \
         support_plan_type = excluded.support_plan_type, status = excluded.status, \
         provider_institution_id = excluded.provider_institution_id, provider_user_id = excluded.provider_user_id, \
         planned_on = excluded.planned_on, started_on = excluded.started_on, ended_on = excluded.ended_on, \
         cost_minor = excluded.cost_minor, currency = excluded.currency, funding_source = excluded.funding_source, \
         outcome_enc = excluded.outcome_enc, updated_at = excluded.updated_at",
        org.0,
        s.id.0,
        s.case_id.0,
        s.person_id.map(|p| p.0),
        s.kind.code(),
        s.kind.support_plan_type().code(),
        s.status.code(),
        s.provider_institution,
        s.provider_user.map(|u| u.0),
        s.planned_on,
        s.started_on,
        s.ended_on,
        s.cost_minor,
        s.currency.clone(),
        s.funding_source.clone(),
        outcome,
        by.map(|u| u.0),
        now
    )?;
    Ok(())
}

/// The services of a case, oldest first.
pub async fn services(
    db: &Db,
    ring: &OrgKeyring,
    org: OrgId,
    case: CaseId,
) -> Result<Vec<Service>> {
    #[derive(sqlx::FromRow)]
    struct ServiceRow {
        id: Uuid,
        person_id: Option<Uuid>,
        kind: String,
        status: String,
        provider_institution_id: Option<Uuid>,
        provider_user_id: Option<Uuid>,
        planned_on: Option<NaiveDate>,
        started_on: Option<NaiveDate>,
        ended_on: Option<NaiveDate>,
        cost_minor: Option<i64>,
        currency: Option<String>,
        funding_source: String,
        outcome_enc: Vec<u8>,
    }
    let rows: Vec<ServiceRow> = on_db!(db, |c| {
        sqlx::query_as(
        "SELECT id, person_id, kind, status, provider_institution_id, provider_user_id, planned_on, started_on, ended_on, \
         cost_minor, currency, funding_source, outcome_enc FROM case_services WHERE org_id = $1 AND case_id = $2 ORDER BY created_at, id"
    )
    .bind(org.0)
    .bind(case.0)
    .fetch_all(c)
    .await
    })?;
    rows.into_iter()
        .map(|r| {
            Ok(Service {
                id: ServiceId(r.id),
                case_id: case,
                person_id: r.person_id.map(PersonId),
                kind: ServiceKind::from_code(&r.kind)
                    .ok_or_else(|| StoreError::corrupt("case_services", "kind", &r.kind))?,
                status: ServiceStatus::from_code(&r.status)
                    .ok_or_else(|| StoreError::corrupt("case_services", "status", &r.status))?,
                provider_institution: r.provider_institution_id,
                provider_user: r.provider_user_id.map(UserId),
                planned_on: r.planned_on,
                started_on: r.started_on,
                ended_on: r.ended_on,
                cost_minor: r.cost_minor,
                currency: r.currency,
                funding_source: r.funding_source,
                outcome: open(ring, "case_services", "outcome_enc", r.id, r.outcome_enc)?,
            })
        })
        .collect()
}

// Tasks.

/// A task of a case.
#[derive(Clone)]
pub struct Task {
    /// Its id.
    pub id: TaskId,
    /// The case.
    pub case_id: CaseId,
    /// What to do (sealed: it may name people).
    pub title: String,
    /// By when.
    pub due_at: Option<DateTime<Utc>>,
    /// Who does it.
    pub assignee: Option<UserId>,
    /// When done.
    pub done_at: Option<DateTime<Utc>>,
}

/// Adds a task.
pub async fn add_task(
    tx: &mut Tx,
    ring: &OrgKeyring,
    rng: &dyn SecureRng,
    org: OrgId,
    t: &Task,
    by: Option<UserId>,
    now: DateTime<Utc>,
) -> Result<()> {
    let title = seal(ring, rng, "case_tasks", "title_enc", t.id.0, &t.title)?;
    execute!(
        tx,
        "INSERT INTO case_tasks (org_id, id, case_id, title_enc, due_at, assignee, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        org.0,
        t.id.0,
        t.case_id.0,
        title,
        t.due_at,
        t.assignee.map(|u| u.0),
        by.map(|u| u.0),
        now
    )?;
    Ok(())
}

/// Marks a task of `case` done; `false` if there is no such open task.
pub async fn complete_task(
    tx: &mut Tx,
    org: OrgId,
    case: CaseId,
    id: TaskId,
    by: UserId,
    now: DateTime<Utc>,
) -> Result<bool> {
    let n = execute!(
        tx,
        "UPDATE case_tasks SET done_at = $4, done_by = $5 WHERE org_id = $1 AND case_id = $2 AND id = $3 AND done_at IS NULL",
        org.0,
        case.0,
        id.0,
        now,
        by.0
    )?;
    Ok(n > 0)
}

type TaskRow = (
    Uuid,
    Uuid,
    Vec<u8>,
    Option<DateTime<Utc>>,
    Option<Uuid>,
    Option<DateTime<Utc>>,
);

fn tasks_from(ring: &OrgKeyring, rows: Vec<TaskRow>) -> Result<Vec<Task>> {
    rows.into_iter()
        .map(|(id, case, title, due, assignee, done)| {
            Ok(Task {
                id: TaskId(id),
                case_id: CaseId(case),
                title: open(ring, "case_tasks", "title_enc", id, title)?,
                due_at: due,
                assignee: assignee.map(UserId),
                done_at: done,
            })
        })
        .collect()
}

/// The tasks of a case: open ones first by due time, then done ones.
pub async fn tasks(db: &Db, ring: &OrgKeyring, org: OrgId, case: CaseId) -> Result<Vec<Task>> {
    let rows: Vec<TaskRow> = on_db!(db, |c| {
        sqlx::query_as(
        "SELECT id, case_id, title_enc, due_at, assignee, done_at FROM case_tasks WHERE org_id = $1 AND case_id = $2 \
         ORDER BY done_at IS NOT NULL, due_at IS NULL, due_at, created_at, id"
    )
    .bind(org.0)
    .bind(case.0)
    .fetch_all(c)
    .await
    })?;
    tasks_from(ring, rows)
}

/// The open tasks assigned to `user` that are due before `until` (or have no due time), soonest
/// first, with their cases (the caller filters them by the access policy).
pub async fn tasks_due(
    db: &Db,
    ring: &OrgKeyring,
    org: OrgId,
    user: UserId,
    until: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<Task>> {
    let rows: Vec<TaskRow> = on_db!(db, |c| {
        sqlx::query_as(
        "SELECT id, case_id, title_enc, due_at, assignee, done_at FROM case_tasks WHERE org_id = $1 AND assignee = $2 \
         AND case_id IS NOT NULL AND done_at IS NULL AND (due_at IS NULL OR due_at <= $3) ORDER BY due_at IS NULL, due_at, created_at LIMIT $4"
    )
    .bind(org.0)
    .bind(user.0)
    .bind(until)
    .bind(limit)
    .fetch_all(c)
    .await
    })?;
    tasks_from(ring, rows)
}

// Consent.

/// A consent record: given or withdrawn, for a purpose.
#[derive(Clone)]
pub struct Consent {
    /// Its id.
    pub id: ConsentId,
    /// Whose consent.
    pub person_id: PersonId,
    /// The case it was recorded in.
    pub case_id: Option<CaseId>,
    /// For what.
    pub purpose: ConsentPurpose,
    /// For sharing: with which institution.
    pub institution_id: Option<Uuid>,
    /// Given (true) or withdrawn (false).
    pub given: bool,
    /// Who gave it: `person`, `parent`, `guardian`.
    pub given_by: String,
    /// On what date.
    pub given_on: NaiveDate,
    /// A document that proves it.
    pub evidence: Option<DocumentId>,
    /// Notes (sealed).
    pub note: String,
    /// When recorded.
    pub recorded_at: DateTime<Utc>,
    /// By which staff member.
    pub recorded_by: Option<UserId>,
}

/// Records consent given or withdrawn.
pub async fn record_consent(
    tx: &mut Tx,
    ring: &OrgKeyring,
    rng: &dyn SecureRng,
    org: OrgId,
    c: &Consent,
) -> Result<()> {
    let note = seal(ring, rng, "consents", "note_enc", c.id.0, &c.note)?;
    execute!(
        tx,
        "INSERT INTO consents (org_id, id, person_id, case_id, purpose, institution_id, given, given_by, given_on, \
         evidence_document_id, note_enc, recorded_by, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        org.0,
        c.id.0,
        c.person_id.0,
        c.case_id.map(|x| x.0),
        c.purpose.code(),
        c.institution_id,
        c.given,
        c.given_by.clone(),
        c.given_on,
        c.evidence.map(|d| d.0),
        note,
        c.recorded_by.map(|u| u.0),
        c.recorded_at
    )?;
    Ok(())
}

/// Every consent record of these people, newest first.
pub async fn consents_of(
    db: &Db,
    ring: &OrgKeyring,
    org: OrgId,
    people: &[PersonId],
) -> Result<Vec<Consent>> {
    #[derive(sqlx::FromRow)]
    struct ConsentRow {
        id: Uuid,
        person_id: Uuid,
        case_id: Option<Uuid>,
        purpose: String,
        institution_id: Option<Uuid>,
        given: bool,
        given_by: String,
        given_on: NaiveDate,
        evidence_document_id: Option<Uuid>,
        note_enc: Vec<u8>,
        recorded_by: Option<Uuid>,
        recorded_at: DateTime<Utc>,
    }
    let mut out = Vec::new();
    for p in people {
        let rows: Vec<ConsentRow> = on_db!(db, |c| {
            sqlx::query_as(
            "SELECT id, person_id, case_id, purpose, institution_id, given, given_by, given_on, evidence_document_id, note_enc, \
             recorded_by, recorded_at FROM consents WHERE org_id = $1 AND person_id = $2 ORDER BY recorded_at DESC, id DESC"
        )
        .bind(org.0)
        .bind(p.0)
        .fetch_all(c)
        .await
        })?;
        for r in rows {
            out.push(Consent {
                id: ConsentId(r.id),
                person_id: PersonId(r.person_id),
                case_id: r.case_id.map(CaseId),
                purpose: ConsentPurpose::from_code(&r.purpose)
                    .ok_or_else(|| StoreError::corrupt("consents", "purpose", &r.purpose))?,
                institution_id: r.institution_id,
                given: r.given,
                given_by: r.given_by,
                given_on: r.given_on,
                evidence: r.evidence_document_id.map(DocumentId),
                note: open(ring, "consents", "note_enc", r.id, r.note_enc)?,
                recorded_by: r.recorded_by.map(UserId),
                recorded_at: r.recorded_at,
            });
        }
    }
    out.sort_by_key(|c| std::cmp::Reverse(c.recorded_at));
    Ok(out)
}

// Hotline contacts.

/// Links a hotline contact to a case (again is a no-op); `true` if newly linked.
pub async fn link_contact(
    tx: &mut Tx,
    org: OrgId,
    case: CaseId,
    contact: Uuid,
    by: UserId,
    now: DateTime<Utc>,
) -> Result<bool> {
    let n = execute!(
        tx,
        "INSERT INTO case_contacts (org_id, case_id, contact_id, linked_by, linked_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (org_id, case_id, contact_id) DO NOTHING",
        org.0,
        case.0,
        contact,
        by.0,
        now
    )?;
    Ok(n > 0)
}

/// A hotline contact linked to a case, as the timeline shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkedContact {
    /// The contact's id (a record of the hotline desk).
    pub contact_id: Uuid,
    /// When it was linked.
    pub linked_at: DateTime<Utc>,
    /// Who linked it.
    pub linked_by: Option<UserId>,
    /// When the contact started.
    pub started_at: DateTime<Utc>,
    /// Its line.
    pub line: String,
    /// Its channel.
    pub channel: String,
    /// Its categories' codes.
    pub categories: Vec<String>,
    /// Whether it was voided.
    pub voided: bool,
}

/// The contacts linked to a case, newest first, with the desk's plain summary of each (date,
/// line, channel, categories; nothing decrypted). The one place the case timeline reads
/// contacts.
pub async fn contacts_of(db: &Db, org: OrgId, case: CaseId) -> Result<Vec<LinkedContact>> {
    type Row = (
        Uuid,
        DateTime<Utc>,
        Option<Uuid>,
        DateTime<Utc>,
        String,
        String,
        Option<DateTime<Utc>>,
    );
    let rows: Vec<Row> = on_db!(db, |c| {
        sqlx::query_as(
        "SELECT l.contact_id, l.linked_at, l.linked_by, c.started_at, c.line, c.channel, c.voided_at FROM case_contacts l \
         JOIN contacts c ON c.org_id = l.org_id AND c.id = l.contact_id \
         WHERE l.org_id = $1 AND l.case_id = $2 ORDER BY l.linked_at DESC, l.contact_id"
    )
    .bind(org.0)
    .bind(case.0)
    .fetch_all(c)
    .await
    })?;
    let mut out = Vec::with_capacity(rows.len());
    for (contact_id, linked_at, by, started_at, line, channel, voided) in rows {
        let categories: Vec<String> = on_db!(db, |c| {
            sqlx::query_scalar(
                "SELECT code FROM contact_categories WHERE org_id = $1 AND contact_id = $2 ORDER BY code",
            )
            .bind(org.0)
            .bind(contact_id)
            .fetch_all(c)
            .await
        })?;
        out.push(LinkedContact {
            contact_id,
            linked_at,
            linked_by: by.map(UserId),
            started_at,
            line,
            channel,
            categories,
            voided: voided.is_some(),
        });
    }
    Ok(out)
}

/// The cases a contact is linked to.
pub async fn cases_of_contact(db: &Db, org: OrgId, contact: Uuid) -> Result<Vec<CaseId>> {
    let ids: Vec<Uuid> = on_db!(db, |c| {
        sqlx::query_scalar(
        "SELECT case_id FROM case_contacts WHERE org_id = $1 AND contact_id = $2 ORDER BY linked_at"
    )
    .bind(org.0)
    .bind(contact)
    .fetch_all(c)
    .await
    })?;
    Ok(ids.into_iter().map(CaseId).collect())
}

/// The year of a register for an instant, in a time zone.
pub fn register_year(now: DateTime<Utc>, tz: &str) -> i32 {
    let tz: chrono_tz::Tz = tz.parse().unwrap_or(chrono_tz::Europe::Belgrade);
    now.with_timezone(&tz).year()
}
