//! Court proceedings: the proceeding and its numbers, linked cases and injured parties,
//! defendants (people, sealed by the people store) and their charges, events, property claims,
//! awards, enforcement steps, payments and state fund applications; the offences staff add; the
//! plain facts the advocacy figures are computed from; deadlines written as case tasks.
//!
//! Nothing here decides who may see what: the web layer asks `haven_domain::policy` with the
//! facts of the linked cases ([`linked_cases`], nothing decrypted) before reading anything sealed.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use haven_crypto::keys::OrgKeyring;
use haven_domain::cases::{CaseId, TaskId, Taxonomy};
use haven_domain::court::{
    AppealBy, AwardFact, AwardId, AwardSource, ChargeFact, ChargeId, ClaimDecision, ClaimFact,
    ClaimId, CourtEventId, CourtEventKind, CourtItem, DefendantId, EnforcementStep, EventFact,
    FundDecision, FundFact, Offence, OrgRole, PostponementReason, ProceedingFacts, ProceedingId,
    ProceedingKind, ProtectiveMeasure, SentenceType, Stage, VerdictOutcome, statutory_offences,
};
use haven_domain::people::PersonId;
use haven_domain::{OrgId, SecureRng, UserId};
use uuid::Uuid;

use crate::encrypted::EncryptedTable;
use crate::sealing::{open, seal};
use crate::{Db, Result, StoreError, Tx, execute, on_db};

/// The encrypted columns of the court tables, for key checks and rotation.
pub const ENCRYPTED: &[EncryptedTable] = &[
    EncryptedTable {
        table: "proceedings",
        columns: &["judge_enc"],
    },
    EncryptedTable {
        table: "proceeding_numbers",
        columns: &["number_enc"],
    },
    EncryptedTable {
        table: "proceeding_events",
        columns: &["note_enc"],
    },
    EncryptedTable {
        table: "enforcement_steps",
        columns: &["note_enc"],
    },
    EncryptedTable {
        table: "court_corrections",
        columns: &["old_enc", "reason_enc"],
    },
];

fn code_of<T: Taxonomy>(table: &'static str, column: &'static str, v: &str) -> Result<T> {
    T::parse_code(v)
        .ok_or_else(|| StoreError::corrupt(table, column, format!("unknown code {v:?}")))
}

fn opt_code<T: Taxonomy>(
    table: &'static str,
    column: &'static str,
    v: Option<String>,
) -> Result<Option<T>> {
    v.map(|v| code_of(table, column, &v)).transpose()
}

// Offences.

/// The offences a charge may name: the statutory list, then those the organisation added.
pub async fn offences(db: &Db, org: OrgId) -> Result<Vec<Offence>> {
    type R = (String, i64, i64, String, Option<i64>, Option<i64>, bool);
    let rows: Vec<R> = on_db!(db, |c| {
        sqlx::query_as(
        "SELECT code, article, paragraph, title, min_months, max_months, trafficking FROM court_offences \
         WHERE org_id = $1 ORDER BY article, paragraph"
    )
    .bind(org.0)
    .fetch_all(c)
    .await
    })?;
    let mut out = statutory_offences();
    out.extend(
        rows.into_iter()
            .map(|(code, a, p, title, min, max, t)| Offence {
                code,
                article: a as u32,
                paragraph: p as u32,
                title,
                min_months: min.map(|m| m as u32),
                max_months: max.map(|m| m as u32),
                trafficking: t,
                statutory: false,
            }),
    );
    Ok(out)
}

/// Adds an offence to the organisation's list.
pub async fn add_offence(
    tx: &mut Tx,
    org: OrgId,
    o: &Offence,
    by: UserId,
    now: DateTime<Utc>,
) -> Result<()> {
    execute!(
        tx,
        "INSERT INTO court_offences (org_id, code, article, paragraph, title, min_months, max_months, trafficking, added_by, added_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        org.0,
        &o.code,
        i64::from(o.article),
        i64::from(o.paragraph),
        &o.title,
        o.min_months.map(i64::from),
        o.max_months.map(i64::from),
        o.trafficking,
        by.0,
        now
    )?;
    Ok(())
}

// Proceedings.

/// A proceeding to record.
pub struct NewProceeding {
    /// Its id.
    pub id: ProceedingId,
    /// Its kind.
    pub kind: ProceedingKind,
    /// The court.
    pub court: Uuid,
    /// The prosecutor's office.
    pub prosecutor: Option<Uuid>,
    /// The judge's name (sealed; may be empty).
    pub judge: String,
    /// The organisation's role.
    pub org_role: OrgRole,
    /// The lawyer assigned.
    pub lawyer: Option<UserId>,
    /// The proceeding it follows from (a civil suit after a referred claim).
    pub parent: Option<ProceedingId>,
    /// When it started.
    pub opened_on: NaiveDate,
    /// Its first case number at the court (sealed).
    pub number: String,
    /// Who records it.
    pub by: UserId,
    /// Now.
    pub now: DateTime<Utc>,
}

/// A proceeding's plain facts (nothing decrypted).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ProceedingRow {
    /// Its id.
    pub id: Uuid,
    /// Its kind (code).
    pub kind: String,
    /// The court.
    pub court_id: Uuid,
    /// The prosecutor's office.
    pub prosecutor_id: Option<Uuid>,
    /// The organisation's role (code).
    pub org_role: String,
    /// The lawyer assigned.
    pub lawyer_id: Option<Uuid>,
    /// The proceeding it follows from.
    pub parent_id: Option<Uuid>,
    /// When it started.
    pub opened_on: NaiveDate,
    /// When recorded.
    pub created_at: DateTime<Utc>,
}

impl ProceedingRow {
    /// Its id.
    pub fn pid(&self) -> ProceedingId {
        ProceedingId(self.id)
    }

    /// Its kind.
    pub fn kind(&self) -> Result<ProceedingKind> {
        code_of("proceedings", "kind", &self.kind)
    }

    /// The organisation's role.
    pub fn role(&self) -> Result<OrgRole> {
        code_of("proceedings", "org_role", &self.org_role)
    }
}

const PROCEEDING_COLUMNS: &str =
    "id, kind, court_id, prosecutor_id, org_role, lawyer_id, parent_id, opened_on, created_at";

/// Records a proceeding with its first number; a civil suit that follows another proceeding
/// takes over its linked cases (and so its access rule).
pub async fn create(
    tx: &mut Tx,
    ring: &OrgKeyring,
    rng: &dyn SecureRng,
    org: OrgId,
    number_id: Uuid,
    p: &NewProceeding,
) -> Result<()> {
    let judge = seal(ring, rng, "proceedings", "judge_enc", p.id.0, &p.judge)?;
    execute!(
        tx,
        "INSERT INTO proceedings (org_id, id, kind, court_id, prosecutor_id, judge_enc, org_role, lawyer_id, parent_id, opened_on, \
         created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)",
        org.0,
        p.id.0,
        p.kind.code(),
        p.court,
        p.prosecutor,
        judge,
        p.org_role.code(),
        p.lawyer.map(|u| u.0),
        p.parent.map(|x| x.0),
        p.opened_on,
        p.by.0,
        p.now
    )?;
    if !p.number.is_empty() {
        add_number(
            tx,
            ring,
            rng,
            org,
            &NewNumber {
                id: number_id,
                proceeding: p.id,
                court: p.court,
                number: p.number.clone(),
                from_on: p.opened_on,
            },
            p.by,
            p.now,
        )
        .await?;
    }
    if let Some(parent) = p.parent {
        execute!(
            tx,
            "INSERT INTO proceeding_cases (org_id, proceeding_id, case_id, linked_by, linked_at) \
             SELECT org_id, $3, case_id, $4, $5 FROM proceeding_cases WHERE org_id = $1 AND proceeding_id = $2",
            org.0,
            parent.0,
            p.id.0,
            p.by.0,
            p.now
        )?;
        execute!(
            tx,
            "INSERT INTO proceeding_parties (org_id, proceeding_id, person_id, case_id, added_at) \
             SELECT org_id, $3, person_id, case_id, $4 FROM proceeding_parties WHERE org_id = $1 AND proceeding_id = $2",
            org.0,
            parent.0,
            p.id.0,
            p.now
        )?;
    }
    Ok(())
}

/// A proceeding's plain facts, or `None` in this organisation.
pub async fn row(db: &Db, org: OrgId, id: ProceedingId) -> Result<Option<ProceedingRow>> {
    let sql = format!("SELECT {PROCEEDING_COLUMNS} FROM proceedings WHERE org_id = $1 AND id = $2");
    Ok(on_db!(db, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(org.0)
        .bind(id.0)
        .fetch_optional(c)
        .await)?)
}

/// Every proceeding of the organisation, latest first (the caller filters by access).
pub async fn list(db: &Db, org: OrgId) -> Result<Vec<ProceedingRow>> {
    let sql = format!(
        "SELECT {PROCEEDING_COLUMNS} FROM proceedings WHERE org_id = $1 ORDER BY opened_on DESC, id DESC"
    );
    Ok(on_db!(db, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(org.0)
        .fetch_all(c)
        .await)?)
}

/// The judge's name (call only after the policy allowed it).
pub async fn judge(db: &Db, ring: &OrgKeyring, org: OrgId, id: ProceedingId) -> Result<String> {
    let enc: Vec<u8> = on_db!(db, |c| sqlx::query_scalar(
        "SELECT judge_enc FROM proceedings WHERE org_id = $1 AND id = $2"
    )
    .bind(org.0)
    .bind(id.0)
    .fetch_one(c)
    .await)?;
    open(ring, "proceedings", "judge_enc", id.0, enc)
}

/// Marks a proceeding changed.
pub async fn touch(tx: &mut Tx, org: OrgId, id: ProceedingId, now: DateTime<Utc>) -> Result<()> {
    execute!(
        tx,
        "UPDATE proceedings SET updated_at = $3 WHERE org_id = $1 AND id = $2",
        org.0,
        id.0,
        now
    )?;
    Ok(())
}

// Numbers.

/// A case number of a proceeding at a court, from a date.
pub struct NewNumber {
    /// Its id.
    pub id: Uuid,
    /// The proceeding.
    pub proceeding: ProceedingId,
    /// The court that gave it.
    pub court: Uuid,
    /// The number (sealed).
    pub number: String,
    /// Since when.
    pub from_on: NaiveDate,
}

/// Records a number.
pub async fn add_number(
    tx: &mut Tx,
    ring: &OrgKeyring,
    rng: &dyn SecureRng,
    org: OrgId,
    n: &NewNumber,
    by: UserId,
    now: DateTime<Utc>,
) -> Result<()> {
    let number = seal(
        ring,
        rng,
        "proceeding_numbers",
        "number_enc",
        n.id,
        &n.number,
    )?;
    execute!(
        tx,
        "INSERT INTO proceeding_numbers (org_id, id, proceeding_id, court_id, number_enc, from_on, recorded_by, recorded_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        org.0,
        n.id,
        n.proceeding.0,
        n.court,
        number,
        n.from_on,
        by.0,
        now
    )?;
    Ok(())
}

/// A number, decrypted.
#[derive(Clone)]
pub struct Number {
    /// The court.
    pub court: Uuid,
    /// The number.
    pub number: String,
    /// Since when.
    pub from_on: NaiveDate,
}

/// The numbers of a proceeding, oldest first (call only after the policy allowed it).
pub async fn numbers(
    db: &Db,
    ring: &OrgKeyring,
    org: OrgId,
    id: ProceedingId,
) -> Result<Vec<Number>> {
    let rows: Vec<(Uuid, Uuid, Vec<u8>, NaiveDate)> = on_db!(db, |c| {
        sqlx::query_as(
        "SELECT id, court_id, number_enc, from_on FROM proceeding_numbers WHERE org_id = $1 AND proceeding_id = $2 \
         ORDER BY from_on, recorded_at"
    )
    .bind(org.0)
    .bind(id.0)
    .fetch_all(c)
    .await
    })?;
    rows.into_iter()
        .map(|(nid, court, enc, from_on)| {
            Ok(Number {
                court,
                number: open(ring, "proceeding_numbers", "number_enc", nid, enc)?,
                from_on,
            })
        })
        .collect()
}

// Linked cases and injured parties.

/// Links a case (nothing happens if it already is).
pub async fn link_case(
    tx: &mut Tx,
    org: OrgId,
    id: ProceedingId,
    case: CaseId,
    by: UserId,
    now: DateTime<Utc>,
) -> Result<bool> {
    let n = execute!(
        tx,
        "INSERT INTO proceeding_cases (org_id, proceeding_id, case_id, linked_by, linked_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (org_id, proceeding_id, case_id) DO NOTHING",
        org.0,
        id.0,
        case.0,
        by.0,
        now
    )?;
    Ok(n > 0)
}

/// Records an injured party (nothing happens if already recorded).
pub async fn add_party(
    tx: &mut Tx,
    org: OrgId,
    id: ProceedingId,
    person: PersonId,
    case: Option<CaseId>,
    now: DateTime<Utc>,
) -> Result<()> {
    execute!(
        tx,
        "INSERT INTO proceeding_parties (org_id, proceeding_id, person_id, case_id, added_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (org_id, proceeding_id, person_id) DO NOTHING",
        org.0,
        id.0,
        person.0,
        case.map(|c| c.0),
        now
    )?;
    Ok(())
}

/// The cases linked to a proceeding.
pub async fn linked_cases(db: &Db, org: OrgId, id: ProceedingId) -> Result<Vec<CaseId>> {
    let rows: Vec<Uuid> = on_db!(db, |c| {
        sqlx::query_scalar(
        "SELECT case_id FROM proceeding_cases WHERE org_id = $1 AND proceeding_id = $2 ORDER BY linked_at, case_id"
    )
    .bind(org.0)
    .bind(id.0)
    .fetch_all(c)
    .await
    })?;
    Ok(rows.into_iter().map(CaseId).collect())
}

/// Every link of the organisation's proceedings to cases (for lists, filtered by access).
pub async fn all_links(db: &Db, org: OrgId) -> Result<HashMap<Uuid, Vec<CaseId>>> {
    let rows: Vec<(Uuid, Uuid)> = on_db!(db, |c| sqlx::query_as(
        "SELECT proceeding_id, case_id FROM proceeding_cases WHERE org_id = $1"
    )
    .bind(org.0)
    .fetch_all(c)
    .await)?;
    let mut out: HashMap<Uuid, Vec<CaseId>> = HashMap::new();
    for (p, c) in rows {
        out.entry(p).or_default().push(CaseId(c));
    }
    Ok(out)
}

/// The proceedings linked to a case.
pub async fn of_case(db: &Db, org: OrgId, case: CaseId) -> Result<Vec<ProceedingId>> {
    let rows: Vec<Uuid> = on_db!(db, |c| {
        sqlx::query_scalar(
        "SELECT proceeding_id FROM proceeding_cases WHERE org_id = $1 AND case_id = $2 ORDER BY linked_at"
    )
    .bind(org.0)
    .bind(case.0)
    .fetch_all(c)
    .await
    })?;
    Ok(rows.into_iter().map(ProceedingId).collect())
}

/// The injured parties of a proceeding, with the case each came from.
pub async fn parties(
    db: &Db,
    org: OrgId,
    id: ProceedingId,
) -> Result<Vec<(PersonId, Option<CaseId>)>> {
    let rows: Vec<(Uuid, Option<Uuid>)> = on_db!(db, |c| {
        sqlx::query_as(
        "SELECT person_id, case_id FROM proceeding_parties WHERE org_id = $1 AND proceeding_id = $2 ORDER BY added_at, person_id"
    )
    .bind(org.0)
    .bind(id.0)
    .fetch_all(c)
    .await
    })?;
    Ok(rows
        .into_iter()
        .map(|(p, c)| (PersonId(p), c.map(CaseId)))
        .collect())
}

// Defendants and charges.

/// Records a defendant (a person already inserted through the people store).
pub async fn add_defendant(
    tx: &mut Tx,
    org: OrgId,
    id: ProceedingId,
    defendant: DefendantId,
    person: PersonId,
    by: UserId,
    now: DateTime<Utc>,
) -> Result<()> {
    execute!(
        tx,
        "INSERT INTO proceeding_defendants (org_id, id, proceeding_id, person_id, added_by, added_at) VALUES ($1, $2, $3, $4, $5, $6)",
        org.0,
        defendant.0,
        id.0,
        person.0,
        by.0,
        now
    )?;
    Ok(())
}

/// The defendants of a proceeding, in the order recorded.
pub async fn defendants(
    db: &Db,
    org: OrgId,
    id: ProceedingId,
) -> Result<Vec<(DefendantId, PersonId)>> {
    let rows: Vec<(Uuid, Uuid)> = on_db!(db, |c| {
        sqlx::query_as(
        "SELECT id, person_id FROM proceeding_defendants WHERE org_id = $1 AND proceeding_id = $2 ORDER BY added_at, id"
    )
    .bind(org.0)
    .bind(id.0)
    .fetch_all(c)
    .await
    })?;
    Ok(rows
        .into_iter()
        .map(|(d, p)| (DefendantId(d), PersonId(p)))
        .collect())
}

/// A charge against a defendant at a stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Charge {
    /// Its id.
    pub id: ChargeId,
    /// The defendant.
    pub defendant: DefendantId,
    /// The offence's code.
    pub offence: String,
    /// The stage.
    pub stage: Stage,
    /// Since when.
    pub on: NaiveDate,
}

impl Charge {
    /// As the rules see it.
    pub fn fact(&self) -> ChargeFact {
        ChargeFact {
            defendant: self.defendant.0,
            offence: self.offence.clone(),
            stage: self.stage,
            on: self.on,
        }
    }
}

/// Records a charge (never changed afterwards: a re-qualification is another charge).
pub async fn add_charge(
    tx: &mut Tx,
    org: OrgId,
    id: ProceedingId,
    c: &Charge,
    by: UserId,
    now: DateTime<Utc>,
) -> Result<()> {
    execute!(
        tx,
        "INSERT INTO proceeding_charges (org_id, id, proceeding_id, defendant_id, offence_code, stage, charged_on, recorded_by, recorded_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        org.0,
        c.id.0,
        id.0,
        c.defendant.0,
        &c.offence,
        c.stage.code(),
        c.on,
        by.0,
        now
    )?;
    Ok(())
}

type ChargeRow = (Uuid, Uuid, Uuid, String, String, NaiveDate);

fn charge_from(r: ChargeRow) -> Result<(Uuid, Charge)> {
    Ok((
        r.1,
        Charge {
            id: ChargeId(r.0),
            defendant: DefendantId(r.2),
            offence: r.3,
            stage: code_of("proceeding_charges", "stage", &r.4)?,
            on: r.5,
        },
    ))
}

/// The charges of a proceeding in the order recorded.
pub async fn charges(db: &Db, org: OrgId, id: ProceedingId) -> Result<Vec<Charge>> {
    let rows: Vec<ChargeRow> = on_db!(db, |c| {
        sqlx::query_as(
        "SELECT id, proceeding_id, defendant_id, offence_code, stage, charged_on FROM proceeding_charges \
         WHERE org_id = $1 AND proceeding_id = $2 ORDER BY recorded_at, id"
    )
    .bind(org.0)
    .bind(id.0)
    .fetch_all(c)
    .await
    })?;
    let mut out: Vec<Charge> = rows
        .into_iter()
        .map(|r| Ok(charge_from(r)?.1))
        .collect::<Result<_>>()?;
    in_order(&mut out);
    Ok(out)
}

/// Charges in the order they applied: by date, then stage (records made in one instant have no
/// order of their own, and a defendant's charges never go back in date or stage).
fn in_order(charges: &mut [Charge]) {
    charges.sort_by_key(|c| (c.on, c.stage.rank()));
}

// Events.

/// Something that happened in a proceeding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CourtEvent {
    /// Its id.
    pub id: CourtEventId,
    /// What.
    pub kind: CourtEventKind,
    /// When.
    pub on: NaiveDate,
    /// The defendant it concerns.
    pub defendant: Option<DefendantId>,
    /// Hearing: held (or postponed).
    pub held: Option<bool>,
    /// Hearing: why postponed.
    pub postponement: Option<PostponementReason>,
    /// Hearing: whether the victim testified.
    pub victim_testified: Option<bool>,
    /// Hearing: protective measures used.
    pub measures: Vec<ProtectiveMeasure>,
    /// Verdict.
    pub outcome: Option<VerdictOutcome>,
    /// Sentence type (verdict, plea agreement).
    pub sentence: Option<SentenceType>,
    /// Sentence length in months.
    pub months: Option<i64>,
    /// Suspended.
    pub suspended: bool,
    /// A fine, minor units.
    pub fine: Option<i64>,
    /// The fine's currency.
    pub currency: Option<String>,
    /// Plea agreement: whether the injured party was invited to file a property claim.
    pub claim_invited: Option<bool>,
    /// Appeal: by whom.
    pub appeal_by: Option<AppealBy>,
    /// A deadline this event sets (next hearing, end of the appeal period).
    pub deadline: Option<NaiveDate>,
    /// A note (sealed).
    pub note: String,
}

impl CourtEvent {
    /// As the rules and figures see it.
    pub fn fact(&self) -> EventFact {
        EventFact {
            kind: self.kind,
            on: self.on,
            defendant: self.defendant.map(|d| d.0),
            outcome: self.outcome,
            sentence: self.sentence,
            months: self.months,
            suspended: self.suspended,
        }
    }
}

/// Records an event.
#[allow(clippy::too_many_arguments)]
pub async fn add_event(
    tx: &mut Tx,
    ring: &OrgKeyring,
    rng: &dyn SecureRng,
    org: OrgId,
    id: ProceedingId,
    e: &CourtEvent,
    by: UserId,
    now: DateTime<Utc>,
) -> Result<()> {
    let note = seal(ring, rng, "proceeding_events", "note_enc", e.id.0, &e.note)?;
    let measures: Vec<&str> = e.measures.iter().map(|m| m.code()).collect();
    execute!(
        tx,
        "INSERT INTO proceeding_events (org_id, id, proceeding_id, kind, on_date, defendant_id, held, postponement, victim_testified, \
         measures, outcome, sentence, sentence_months, suspended, fine_minor, currency, claim_invited, appeal_by, deadline_on, note_enc, \
         recorded_by, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)",
        org.0,
        e.id.0,
        id.0,
        e.kind.code(),
        e.on,
        e.defendant.map(|d| d.0),
        e.held,
        e.postponement.map(|p| p.code()),
        e.victim_testified,
        measures.join(" "),
        e.outcome.map(|o| o.code()),
        e.sentence.map(|s| s.code()),
        e.months,
        e.suspended,
        e.fine,
        e.currency.as_deref(),
        e.claim_invited,
        e.appeal_by.map(|a| a.code()),
        e.deadline,
        note,
        by.0,
        now
    )?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct EventRow {
    id: Uuid,
    proceeding_id: Uuid,
    kind: String,
    on_date: NaiveDate,
    defendant_id: Option<Uuid>,
    held: Option<bool>,
    postponement: Option<String>,
    victim_testified: Option<bool>,
    measures: String,
    outcome: Option<String>,
    sentence: Option<String>,
    sentence_months: Option<i64>,
    suspended: bool,
    fine_minor: Option<i64>,
    currency: Option<String>,
    claim_invited: Option<bool>,
    appeal_by: Option<String>,
    deadline_on: Option<NaiveDate>,
}

const EVENT_COLUMNS: &str = "id, proceeding_id, kind, on_date, defendant_id, held, postponement, victim_testified, measures, outcome, \
    sentence, sentence_months, suspended, fine_minor, currency, claim_invited, appeal_by, deadline_on";

impl EventRow {
    fn into_event(self, note: String) -> Result<CourtEvent> {
        const T: &str = "proceeding_events";
        Ok(CourtEvent {
            id: CourtEventId(self.id),
            kind: code_of(T, "kind", &self.kind)?,
            on: self.on_date,
            defendant: self.defendant_id.map(DefendantId),
            held: self.held,
            postponement: opt_code(T, "postponement", self.postponement)?,
            victim_testified: self.victim_testified,
            measures: self
                .measures
                .split_whitespace()
                .map(|m| code_of(T, "measures", m))
                .collect::<Result<_>>()?,
            outcome: opt_code(T, "outcome", self.outcome)?,
            sentence: opt_code(T, "sentence", self.sentence)?,
            months: self.sentence_months,
            suspended: self.suspended,
            fine: self.fine_minor,
            currency: self.currency,
            claim_invited: self.claim_invited,
            appeal_by: opt_code(T, "appeal_by", self.appeal_by)?,
            deadline: self.deadline_on,
            note,
        })
    }
}

/// The events of a proceeding by date, with their notes (call only after the policy allowed it).
pub async fn events(
    db: &Db,
    ring: &OrgKeyring,
    org: OrgId,
    id: ProceedingId,
) -> Result<Vec<CourtEvent>> {
    let sql = format!(
        "SELECT {EVENT_COLUMNS}, note_enc FROM proceeding_events WHERE org_id = $1 AND proceeding_id = $2 ORDER BY on_date, recorded_at"
    );
    let rows: Vec<(Vec<u8>, EventRow)> = {
        #[derive(sqlx::FromRow)]
        struct WithNote {
            #[sqlx(flatten)]
            row: EventRow,
            note_enc: Vec<u8>,
        }
        let rows: Vec<WithNote> = on_db!(db, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(org.0)
            .bind(id.0)
            .fetch_all(c)
            .await)?;
        rows.into_iter().map(|w| (w.note_enc, w.row)).collect()
    };
    rows.into_iter()
        .map(|(enc, r)| {
            let note = open(ring, "proceeding_events", "note_enc", r.id, enc)?;
            r.into_event(note)
        })
        .collect()
}

// Claims, awards, payments, enforcement, fund applications.

/// A property claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// Its id.
    pub id: ClaimId,
    /// The injured party who filed it.
    pub person: Option<PersonId>,
    /// When filed.
    pub filed_on: NaiveDate,
    /// The amount claimed, minor units.
    pub amount: i64,
    /// The currency.
    pub currency: String,
    /// What became of it.
    pub decision: Option<ClaimDecision>,
    /// When decided.
    pub decided_on: Option<NaiveDate>,
    /// The civil suit it was referred to.
    pub civil: Option<ProceedingId>,
}

/// Records a claim.
pub async fn add_claim(
    tx: &mut Tx,
    org: OrgId,
    id: ProceedingId,
    c: &Claim,
    by: UserId,
    now: DateTime<Utc>,
) -> Result<()> {
    execute!(
        tx,
        "INSERT INTO property_claims (org_id, id, proceeding_id, person_id, filed_on, amount_minor, currency, decision, decided_on, \
         civil_proceeding_id, recorded_by, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        org.0,
        c.id.0,
        id.0,
        c.person.map(|p| p.0),
        c.filed_on,
        c.amount,
        &c.currency,
        c.decision.map(|d| d.code()),
        c.decided_on,
        c.civil.map(|p| p.0),
        by.0,
        now
    )?;
    Ok(())
}

/// Records the decision on a claim of the proceeding; `false` if there is no such claim.
pub async fn decide_claim(
    tx: &mut Tx,
    org: OrgId,
    id: ProceedingId,
    claim: ClaimId,
    decision: ClaimDecision,
    on: NaiveDate,
    civil: Option<ProceedingId>,
) -> Result<bool> {
    let n = execute!(
        tx,
        "UPDATE property_claims SET decision = $4, decided_on = $5, civil_proceeding_id = $6 \
         WHERE org_id = $1 AND proceeding_id = $2 AND id = $3",
        org.0,
        id.0,
        claim.0,
        decision.code(),
        on,
        civil.map(|p| p.0)
    )?;
    Ok(n > 0)
}

type ClaimRow = (
    Uuid,
    Option<Uuid>,
    NaiveDate,
    i64,
    String,
    Option<String>,
    Option<NaiveDate>,
    Option<Uuid>,
);

/// The claims of a proceeding.
pub async fn claims(db: &Db, org: OrgId, id: ProceedingId) -> Result<Vec<Claim>> {
    let rows: Vec<ClaimRow> = on_db!(db, |c| {
        sqlx::query_as(
        "SELECT id, person_id, filed_on, amount_minor, currency, decision, decided_on, civil_proceeding_id FROM property_claims \
         WHERE org_id = $1 AND proceeding_id = $2 ORDER BY filed_on, recorded_at"
    )
    .bind(org.0)
    .bind(id.0)
    .fetch_all(c)
    .await
    })?;
    rows.into_iter()
        .map(|r| {
            Ok(Claim {
                id: ClaimId(r.0),
                person: r.1.map(PersonId),
                filed_on: r.2,
                amount: r.3,
                currency: r.4,
                decision: opt_code("property_claims", "decision", r.5)?,
                decided_on: r.6,
                civil: r.7.map(ProceedingId),
            })
        })
        .collect()
}

/// Compensation awarded, with what has been paid of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Award {
    /// Its id.
    pub id: AwardId,
    /// The claim it decides.
    pub claim: Option<ClaimId>,
    /// Where it comes from.
    pub source: AwardSource,
    /// When awarded.
    pub awarded_on: NaiveDate,
    /// The amount, minor units.
    pub amount: i64,
    /// The currency.
    pub currency: String,
    /// Paid so far, minor units.
    pub paid: i64,
}

/// Records an award.
pub async fn add_award(
    tx: &mut Tx,
    org: OrgId,
    id: ProceedingId,
    a: &Award,
    by: UserId,
    now: DateTime<Utc>,
) -> Result<()> {
    execute!(
        tx,
        "INSERT INTO compensation_awards (org_id, id, proceeding_id, claim_id, source, awarded_on, amount_minor, currency, recorded_by, recorded_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        org.0,
        a.id.0,
        id.0,
        a.claim.map(|c| c.0),
        a.source.code(),
        a.awarded_on,
        a.amount,
        &a.currency,
        by.0,
        now
    )?;
    Ok(())
}

type AwardRow = (
    Uuid,
    Uuid,
    Option<Uuid>,
    String,
    NaiveDate,
    i64,
    String,
    Option<i64>,
);

const AWARD_SELECT: &str = "SELECT a.id, a.proceeding_id, a.claim_id, a.source, a.awarded_on, a.amount_minor, a.currency, \
    (SELECT CAST(sum(p.amount_minor) AS BIGINT) FROM compensation_payments p WHERE p.org_id = a.org_id AND p.award_id = a.id \
    AND p.withdrawn_at IS NULL) \
    FROM compensation_awards a";

fn award_from(r: AwardRow) -> Result<(Uuid, Award)> {
    Ok((
        r.1,
        Award {
            id: AwardId(r.0),
            claim: r.2.map(ClaimId),
            source: code_of("compensation_awards", "source", &r.3)?,
            awarded_on: r.4,
            amount: r.5,
            currency: r.6,
            paid: r.7.unwrap_or(0),
        },
    ))
}

/// The awards of a proceeding with what was paid of each.
pub async fn awards(db: &Db, org: OrgId, id: ProceedingId) -> Result<Vec<Award>> {
    let sql = format!(
        "{AWARD_SELECT} WHERE a.org_id = $1 AND a.proceeding_id = $2 ORDER BY a.awarded_on, a.recorded_at"
    );
    let rows: Vec<AwardRow> = on_db!(db, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(org.0)
        .bind(id.0)
        .fetch_all(c)
        .await)?;
    rows.into_iter().map(|r| Ok(award_from(r)?.1)).collect()
}

/// A payment on an award.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    /// The award.
    pub award: AwardId,
    /// When paid.
    pub paid_on: NaiveDate,
    /// How much, minor units.
    pub amount: i64,
    /// The currency.
    pub currency: String,
}

/// Records a payment.
pub async fn add_payment(
    tx: &mut Tx,
    org: OrgId,
    payment_id: Uuid,
    p: &Payment,
    by: UserId,
    now: DateTime<Utc>,
) -> Result<()> {
    execute!(
        tx,
        "INSERT INTO compensation_payments (org_id, id, award_id, paid_on, amount_minor, currency, recorded_by, recorded_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        org.0,
        payment_id,
        p.award.0,
        p.paid_on,
        p.amount,
        &p.currency,
        by.0,
        now
    )?;
    Ok(())
}

/// The payments on the awards of a proceeding, by date, each with its id (withdrawn ones too:
/// [`withdrawn`] tells which).
pub async fn payments(db: &Db, org: OrgId, id: ProceedingId) -> Result<Vec<(Uuid, Payment)>> {
    let rows: Vec<(Uuid, Uuid, NaiveDate, i64, String)> = on_db!(db, |c| {
        sqlx::query_as(
        "SELECT p.id, p.award_id, p.paid_on, p.amount_minor, p.currency FROM compensation_payments p \
         JOIN compensation_awards a ON a.org_id = p.org_id AND a.id = p.award_id \
         WHERE p.org_id = $1 AND a.proceeding_id = $2 ORDER BY p.paid_on, p.recorded_at"
    )
    .bind(org.0)
    .bind(id.0)
    .fetch_all(c)
    .await
    })?;
    Ok(rows
        .into_iter()
        .map(|(pid, a, on, amount, currency)| {
            (
                pid,
                Payment {
                    award: AwardId(a),
                    paid_on: on,
                    amount,
                    currency,
                },
            )
        })
        .collect())
}

/// A step to enforce an award.
#[derive(Clone)]
pub struct Step {
    /// The award.
    pub award: AwardId,
    /// What.
    pub step: EnforcementStep,
    /// When.
    pub on: NaiveDate,
    /// A note (sealed).
    pub note: String,
}

/// Records an enforcement step.
#[allow(clippy::too_many_arguments)]
pub async fn add_step(
    tx: &mut Tx,
    ring: &OrgKeyring,
    rng: &dyn SecureRng,
    org: OrgId,
    step_id: Uuid,
    s: &Step,
    by: UserId,
    now: DateTime<Utc>,
) -> Result<()> {
    let note = seal(ring, rng, "enforcement_steps", "note_enc", step_id, &s.note)?;
    execute!(
        tx,
        "INSERT INTO enforcement_steps (org_id, id, award_id, step, on_date, note_enc, recorded_by, recorded_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        org.0,
        step_id,
        s.award.0,
        s.step.code(),
        s.on,
        note,
        by.0,
        now
    )?;
    Ok(())
}

/// The enforcement steps on the awards of a proceeding, each with its id (call only after the
/// policy allowed it).
pub async fn steps(
    db: &Db,
    ring: &OrgKeyring,
    org: OrgId,
    id: ProceedingId,
) -> Result<Vec<(Uuid, Step)>> {
    let rows: Vec<(Uuid, Uuid, String, NaiveDate, Vec<u8>)> = on_db!(db, |c| sqlx::query_as(
        "SELECT s.id, s.award_id, s.step, s.on_date, s.note_enc FROM enforcement_steps s \
         JOIN compensation_awards a ON a.org_id = s.org_id AND a.id = s.award_id \
         WHERE s.org_id = $1 AND a.proceeding_id = $2 ORDER BY s.on_date, s.recorded_at"
    )
    .bind(org.0)
    .bind(id.0)
    .fetch_all(c)
    .await)?;
    rows.into_iter()
        .map(|(sid, award, step, on, enc)| {
            Ok((
                sid,
                Step {
                    award: AwardId(award),
                    step: code_of("enforcement_steps", "step", &step)?,
                    on,
                    note: open(ring, "enforcement_steps", "note_enc", sid, enc)?,
                },
            ))
        })
        .collect()
}

/// An application to a state compensation fund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FundApplication {
    /// When applied.
    pub applied_on: NaiveDate,
    /// The amount asked, minor units.
    pub amount: i64,
    /// The currency.
    pub currency: String,
    /// Its state.
    pub decision: FundDecision,
    /// When decided.
    pub decided_on: Option<NaiveDate>,
    /// What was granted, minor units.
    pub granted: Option<i64>,
}

/// Records a fund application.
pub async fn add_fund_application(
    tx: &mut Tx,
    org: OrgId,
    id: ProceedingId,
    app_id: Uuid,
    f: &FundApplication,
    by: UserId,
    now: DateTime<Utc>,
) -> Result<()> {
    execute!(
        tx,
        "INSERT INTO fund_applications (org_id, id, proceeding_id, applied_on, amount_minor, currency, decision, decided_on, granted_minor, \
         recorded_by, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        org.0,
        app_id,
        id.0,
        f.applied_on,
        f.amount,
        &f.currency,
        f.decision.code(),
        f.decided_on,
        f.granted,
        by.0,
        now
    )?;
    Ok(())
}

type FundRow = (
    Uuid,
    NaiveDate,
    i64,
    String,
    String,
    Option<NaiveDate>,
    Option<i64>,
);

/// The fund applications of a proceeding, each with its id.
pub async fn fund_applications(
    db: &Db,
    org: OrgId,
    id: ProceedingId,
) -> Result<Vec<(Uuid, FundApplication)>> {
    let rows: Vec<FundRow> = on_db!(db, |c| {
        sqlx::query_as(
            "SELECT id, applied_on, amount_minor, currency, decision, decided_on, granted_minor FROM fund_applications \
         WHERE org_id = $1 AND proceeding_id = $2 ORDER BY applied_on, recorded_at",
        )
        .bind(org.0)
        .bind(id.0)
        .fetch_all(c)
        .await
    })?;
    rows.into_iter()
        .map(
            |(fid, on, amount, currency, decision, decided_on, granted)| {
                Ok((
                    fid,
                    FundApplication {
                        applied_on: on,
                        amount,
                        currency,
                        decision: code_of("fund_applications", "decision", &decision)?,
                        decided_on,
                        granted,
                    },
                ))
            },
        )
        .collect()
}

// Deadlines as case tasks.

/// Writes a deadline of a proceeding as a task of a linked case, naming the event it comes from.
#[allow(clippy::too_many_arguments)]
pub async fn add_deadline_task(
    tx: &mut Tx,
    ring: &OrgKeyring,
    rng: &dyn SecureRng,
    org: OrgId,
    task: TaskId,
    case: CaseId,
    event: CourtEventId,
    title: &str,
    due: DateTime<Utc>,
    assignee: Option<UserId>,
    by: UserId,
    now: DateTime<Utc>,
) -> Result<()> {
    let title = seal(
        ring,
        rng,
        "case_tasks",
        "title_enc",
        task.0,
        &title.to_owned(),
    )?;
    execute!(
        tx,
        "INSERT INTO case_tasks (org_id, id, case_id, title_enc, due_at, assignee, created_by, created_at, proceeding_event_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        org.0,
        task.0,
        case.0,
        title,
        due,
        assignee.map(|u| u.0),
        by.0,
        now,
        event.0
    )?;
    Ok(())
}

/// How many case tasks came from events of this proceeding.
pub async fn deadline_tasks(db: &Db, org: OrgId, id: ProceedingId) -> Result<i64> {
    Ok(on_db!(db, |c| {
        sqlx::query_scalar(
        "SELECT count(*) FROM case_tasks t JOIN proceeding_events e ON e.org_id = t.org_id AND e.id = t.proceeding_event_id \
         WHERE t.org_id = $1 AND e.proceeding_id = $2"
    )
    .bind(org.0)
    .bind(id.0)
    .fetch_one(c)
    .await
    })?)
}

// The figures' facts.

/// Every proceeding of the organisation as plain facts, for the advocacy figures (nothing
/// decrypted, so it needs no key and names nobody).
pub async fn all_facts(db: &Db, org: OrgId) -> Result<Vec<ProceedingFacts>> {
    let procs = list(db, org).await?;
    let charge_rows: Vec<ChargeRow> = on_db!(db, |c| {
        sqlx::query_as(
        "SELECT id, proceeding_id, defendant_id, offence_code, stage, charged_on FROM proceeding_charges \
         WHERE org_id = $1 AND withdrawn_at IS NULL ORDER BY recorded_at, id"
    )
    .bind(org.0)
    .fetch_all(c)
    .await
    })?;
    let sql = format!(
        "SELECT {EVENT_COLUMNS} FROM proceeding_events WHERE org_id = $1 AND withdrawn_at IS NULL ORDER BY on_date, recorded_at"
    );
    let event_rows: Vec<EventRow> = on_db!(db, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(org.0)
        .fetch_all(c)
        .await)?;
    let claim_rows: Vec<(Uuid, i64, String, Option<String>)> = on_db!(db, |c| {
        sqlx::query_as(
        "SELECT proceeding_id, amount_minor, currency, decision FROM property_claims WHERE org_id = $1 AND withdrawn_at IS NULL \
         ORDER BY filed_on, recorded_at"
    )
    .bind(org.0)
    .fetch_all(c)
    .await
    })?;
    let sql = format!(
        "{AWARD_SELECT} WHERE a.org_id = $1 AND a.withdrawn_at IS NULL ORDER BY a.awarded_on, a.recorded_at"
    );
    let award_rows: Vec<AwardRow> = on_db!(db, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(org.0)
        .fetch_all(c)
        .await)?;
    let fund_rows: Vec<(Uuid, i64, String, String, Option<i64>)> = on_db!(db, |c| {
        sqlx::query_as(
            "SELECT proceeding_id, amount_minor, currency, decision, granted_minor FROM fund_applications \
             WHERE org_id = $1 AND withdrawn_at IS NULL ORDER BY applied_on, recorded_at",
        )
        .bind(org.0)
        .fetch_all(c)
        .await
    })?;

    let mut out: Vec<ProceedingFacts> = Vec::with_capacity(procs.len());
    let mut at: HashMap<Uuid, usize> = HashMap::new();
    for p in procs {
        at.insert(p.id, out.len());
        out.push(ProceedingFacts {
            id: p.id,
            kind: p.kind()?,
            court: Some(p.court_id),
            parent: p.parent_id,
            opened_on: p.opened_on,
            charges: Vec::new(),
            events: Vec::new(),
            claims: Vec::new(),
            awards: Vec::new(),
            funds: Vec::new(),
        });
    }
    let mut by_proceeding: HashMap<Uuid, Vec<Charge>> = HashMap::new();
    for r in charge_rows {
        let (p, c) = charge_from(r)?;
        by_proceeding.entry(p).or_default().push(c);
    }
    for (p, mut charges) in by_proceeding {
        in_order(&mut charges);
        if let Some(i) = at.get(&p) {
            out[*i].charges = charges.iter().map(Charge::fact).collect();
        }
    }
    for r in event_rows {
        let p = r.proceeding_id;
        let e = r.into_event(String::new())?;
        if let Some(i) = at.get(&p) {
            out[*i].events.push(e.fact());
        }
    }
    for (p, amount, currency, decision) in claim_rows {
        if let Some(i) = at.get(&p) {
            out[*i].claims.push(ClaimFact {
                amount,
                currency,
                decision: opt_code("property_claims", "decision", decision)?,
            });
        }
    }
    for r in award_rows {
        let (p, a) = award_from(r)?;
        if let Some(i) = at.get(&p) {
            out[*i].awards.push(AwardFact {
                source: a.source,
                amount: a.amount,
                currency: a.currency,
                paid: a.paid,
            });
        }
    }
    for (p, amount, currency, decision, granted) in fund_rows {
        if let Some(i) = at.get(&p) {
            out[*i].funds.push(FundFact {
                amount,
                currency,
                decision: code_of("fund_applications", "decision", &decision)?,
                granted,
            });
        }
    }
    Ok(out)
}

/// How many proceedings the organisation follows.
pub async fn count(db: &Db, org: OrgId) -> Result<i64> {
    Ok(on_db!(db, |c| sqlx::query_scalar(
        "SELECT count(*) FROM proceedings WHERE org_id = $1"
    )
    .bind(org.0)
    .fetch_one(c)
    .await)?)
}

// Corrections and withdrawals.

/// Writes a corrected charge over the recorded one (the web layer keeps the previous version
/// with [`add_correction`]).
pub async fn update_charge(tx: &mut Tx, org: OrgId, c: &Charge) -> Result<()> {
    execute!(
        tx,
        "UPDATE proceeding_charges SET defendant_id = $3, offence_code = $4, stage = $5, charged_on = $6 \
         WHERE org_id = $1 AND id = $2",
        org.0,
        c.id.0,
        c.defendant.0,
        &c.offence,
        c.stage.code(),
        c.on
    )?;
    Ok(())
}

/// Writes a corrected event over the recorded one, its note sealed again.
pub async fn update_event(
    tx: &mut Tx,
    ring: &OrgKeyring,
    rng: &dyn SecureRng,
    org: OrgId,
    e: &CourtEvent,
) -> Result<()> {
    let note = seal(ring, rng, "proceeding_events", "note_enc", e.id.0, &e.note)?;
    let measures: Vec<&str> = e.measures.iter().map(|m| m.code()).collect();
    execute!(
        tx,
        "UPDATE proceeding_events SET kind = $3, on_date = $4, defendant_id = $5, held = $6, postponement = $7, victim_testified = $8, \
         measures = $9, outcome = $10, sentence = $11, sentence_months = $12, suspended = $13, fine_minor = $14, currency = $15, \
         claim_invited = $16, appeal_by = $17, deadline_on = $18, note_enc = $19 WHERE org_id = $1 AND id = $2",
        org.0,
        e.id.0,
        e.kind.code(),
        e.on,
        e.defendant.map(|d| d.0),
        e.held,
        e.postponement.map(|p| p.code()),
        e.victim_testified,
        measures.join(" "),
        e.outcome.map(|o| o.code()),
        e.sentence.map(|s| s.code()),
        e.months,
        e.suspended,
        e.fine,
        e.currency.as_deref(),
        e.claim_invited,
        e.appeal_by.map(|a| a.code()),
        e.deadline,
        note
    )?;
    Ok(())
}

/// Writes a corrected claim (its decision included) over the recorded one.
pub async fn update_claim(tx: &mut Tx, org: OrgId, c: &Claim) -> Result<()> {
    execute!(
        tx,
        "UPDATE property_claims SET person_id = $3, filed_on = $4, amount_minor = $5, currency = $6, decision = $7, decided_on = $8, \
         civil_proceeding_id = $9 WHERE org_id = $1 AND id = $2",
        org.0,
        c.id.0,
        c.person.map(|p| p.0),
        c.filed_on,
        c.amount,
        &c.currency,
        c.decision.map(|d| d.code()),
        c.decided_on,
        c.civil.map(|p| p.0)
    )?;
    Ok(())
}

/// Writes a corrected award over the recorded one.
pub async fn update_award(tx: &mut Tx, org: OrgId, a: &Award) -> Result<()> {
    execute!(
        tx,
        "UPDATE compensation_awards SET claim_id = $3, source = $4, awarded_on = $5, amount_minor = $6, currency = $7 \
         WHERE org_id = $1 AND id = $2",
        org.0,
        a.id.0,
        a.claim.map(|c| c.0),
        a.source.code(),
        a.awarded_on,
        a.amount,
        &a.currency
    )?;
    Ok(())
}

/// Writes a corrected payment over the recorded one.
pub async fn update_payment(tx: &mut Tx, org: OrgId, payment_id: Uuid, p: &Payment) -> Result<()> {
    execute!(
        tx,
        "UPDATE compensation_payments SET award_id = $3, paid_on = $4, amount_minor = $5, currency = $6 WHERE org_id = $1 AND id = $2",
        org.0,
        payment_id,
        p.award.0,
        p.paid_on,
        p.amount,
        &p.currency
    )?;
    Ok(())
}

/// Writes a corrected enforcement step over the recorded one, its note sealed again.
pub async fn update_step(
    tx: &mut Tx,
    ring: &OrgKeyring,
    rng: &dyn SecureRng,
    org: OrgId,
    step_id: Uuid,
    s: &Step,
) -> Result<()> {
    let note = seal(ring, rng, "enforcement_steps", "note_enc", step_id, &s.note)?;
    execute!(
        tx,
        "UPDATE enforcement_steps SET award_id = $3, step = $4, on_date = $5, note_enc = $6 WHERE org_id = $1 AND id = $2",
        org.0,
        step_id,
        s.award.0,
        s.step.code(),
        s.on,
        note
    )?;
    Ok(())
}

/// Writes a corrected fund application over the recorded one.
pub async fn update_fund_application(
    tx: &mut Tx,
    org: OrgId,
    app_id: Uuid,
    f: &FundApplication,
) -> Result<()> {
    execute!(
        tx,
        "UPDATE fund_applications SET applied_on = $3, amount_minor = $4, currency = $5, decision = $6, decided_on = $7, granted_minor = $8 \
         WHERE org_id = $1 AND id = $2",
        org.0,
        app_id,
        f.applied_on,
        f.amount,
        &f.currency,
        f.decision.code(),
        f.decided_on,
        f.granted
    )?;
    Ok(())
}

fn withdraw_sql(kind: CourtItem) -> &'static str {
    match kind {
        CourtItem::Event => {
            "UPDATE proceeding_events SET withdrawn_at = $3 WHERE org_id = $1 AND id = $2 AND withdrawn_at IS NULL"
        }
        CourtItem::Charge => {
            "UPDATE proceeding_charges SET withdrawn_at = $3 WHERE org_id = $1 AND id = $2 AND withdrawn_at IS NULL"
        }
        CourtItem::Claim => {
            "UPDATE property_claims SET withdrawn_at = $3 WHERE org_id = $1 AND id = $2 AND withdrawn_at IS NULL"
        }
        CourtItem::Award => {
            "UPDATE compensation_awards SET withdrawn_at = $3 WHERE org_id = $1 AND id = $2 AND withdrawn_at IS NULL"
        }
        CourtItem::Payment => {
            "UPDATE compensation_payments SET withdrawn_at = $3 WHERE org_id = $1 AND id = $2 AND withdrawn_at IS NULL"
        }
        CourtItem::Step => {
            "UPDATE enforcement_steps SET withdrawn_at = $3 WHERE org_id = $1 AND id = $2 AND withdrawn_at IS NULL"
        }
        CourtItem::Fund => {
            "UPDATE fund_applications SET withdrawn_at = $3 WHERE org_id = $1 AND id = $2 AND withdrawn_at IS NULL"
        }
    }
}

/// Marks an item withdrawn (recorded by mistake): it stays, and the figures leave it out.
/// `false` if it was withdrawn already.
pub async fn withdraw(
    tx: &mut Tx,
    org: OrgId,
    kind: CourtItem,
    item: Uuid,
    now: DateTime<Utc>,
) -> Result<bool> {
    let n = execute!(tx, withdraw_sql(kind), org.0, item, now)?;
    Ok(n > 0)
}

/// A correction or withdrawal of a recorded item: the previous version of what changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Correction {
    /// Its id.
    pub id: Uuid,
    /// The kind of item.
    pub kind: CourtItem,
    /// The item.
    pub item: Uuid,
    /// Withdrawn (rather than corrected).
    pub withdrawn: bool,
    /// The fields changed, each with its old value (as the form held it).
    pub old: Vec<(String, String)>,
    /// Why (sealed).
    pub reason: String,
    /// Who.
    pub by: Option<UserId>,
    /// When.
    pub at: DateTime<Utc>,
}

/// Keeps a correction (the old values and the reason sealed).
pub async fn add_correction(
    tx: &mut Tx,
    ring: &OrgKeyring,
    rng: &dyn SecureRng,
    org: OrgId,
    proceeding: ProceedingId,
    c: &Correction,
) -> Result<()> {
    let fields: Vec<&str> = c.old.iter().map(|(f, _)| f.as_str()).collect();
    let old = serde_json::to_string(&c.old)
        .map_err(|e| StoreError::corrupt("court_corrections", "old_enc", e.to_string()))?;
    let old = seal(ring, rng, "court_corrections", "old_enc", c.id, &old)?;
    let reason = seal(
        ring,
        rng,
        "court_corrections",
        "reason_enc",
        c.id,
        &c.reason,
    )?;
    execute!(
        tx,
        "INSERT INTO court_corrections (org_id, id, proceeding_id, item_kind, item_id, action, fields, old_enc, reason_enc, \
         corrected_by, corrected_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        org.0,
        c.id,
        proceeding.0,
        c.kind.code(),
        c.item,
        if c.withdrawn {
            "withdrawn"
        } else {
            "corrected"
        },
        fields.join(" "),
        old,
        reason,
        c.by.map(|u| u.0),
        c.at
    )?;
    Ok(())
}

/// The corrections and withdrawals of a proceeding's items, oldest first (call only after the
/// policy allowed it).
pub async fn corrections(
    db: &Db,
    ring: &OrgKeyring,
    org: OrgId,
    id: ProceedingId,
) -> Result<Vec<Correction>> {
    type R = (
        Uuid,
        String,
        Uuid,
        String,
        Vec<u8>,
        Vec<u8>,
        Option<Uuid>,
        DateTime<Utc>,
    );
    let rows: Vec<R> = on_db!(db, |c| {
        sqlx::query_as(
            "SELECT id, item_kind, item_id, action, old_enc, reason_enc, corrected_by, corrected_at FROM court_corrections \
             WHERE org_id = $1 AND proceeding_id = $2 ORDER BY corrected_at, id",
        )
        .bind(org.0)
        .bind(id.0)
        .fetch_all(c)
        .await
    })?;
    rows.into_iter()
        .map(|(cid, kind, item, action, old, reason, by, at)| {
            let old: String = open(ring, "court_corrections", "old_enc", cid, old)?;
            let old: Vec<(String, String)> = serde_json::from_str(&old)
                .map_err(|e| StoreError::corrupt("court_corrections", "old_enc", e.to_string()))?;
            Ok(Correction {
                id: cid,
                kind: code_of("court_corrections", "item_kind", &kind)?,
                item,
                withdrawn: action == "withdrawn",
                old,
                reason: open(ring, "court_corrections", "reason_enc", cid, reason)?,
                by: by.map(UserId),
                at,
            })
        })
        .collect()
}

/// The proceedings with a deadline (a hearing ahead, an appeal period running) on or after
/// `today`, withdrawn events left out.
pub async fn with_upcoming_deadline(
    db: &Db,
    org: OrgId,
    today: NaiveDate,
) -> Result<std::collections::HashSet<Uuid>> {
    let rows: Vec<Uuid> = on_db!(db, |c| {
        sqlx::query_scalar(
            "SELECT DISTINCT proceeding_id FROM proceeding_events WHERE org_id = $1 AND withdrawn_at IS NULL \
             AND (deadline_on >= $2 OR (kind = 'hearing' AND on_date >= $2))",
        )
        .bind(org.0)
        .bind(today)
        .fetch_all(c)
        .await
    })?;
    Ok(rows.into_iter().collect())
}

/// The open tasks written for an event's deadline: each task and its case.
pub async fn open_deadline_tasks(
    db: &Db,
    org: OrgId,
    event: CourtEventId,
) -> Result<Vec<(TaskId, CaseId)>> {
    let rows: Vec<(Uuid, Uuid)> = on_db!(db, |c| {
        sqlx::query_as(
            "SELECT id, case_id FROM case_tasks WHERE org_id = $1 AND proceeding_event_id = $2 AND done_at IS NULL \
             ORDER BY created_at, id",
        )
        .bind(org.0)
        .bind(event.0)
        .fetch_all(c)
        .await
    })?;
    Ok(rows
        .into_iter()
        .map(|(t, c)| (TaskId(t), CaseId(c)))
        .collect())
}
