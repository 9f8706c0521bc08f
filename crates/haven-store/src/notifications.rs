//! Written notifications and referrals: the letter (subject, body, recipient person, chosen
//! people and notes sealed), its protocol number from the gapless register, attached case
//! documents, every step with its time and actor, letter templates, the organisation's settings
//! and the reply links institutions answer through (only the token's hash is kept).
//!
//! Nothing here decides who may see what: the web layer asks the policy with the facts of the
//! case or contact a notification belongs to before reading anything sealed.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use haven_crypto::keys::OrgKeyring;
use haven_domain::cases::{CaseId, DocumentId};
use haven_domain::desk::ContactId;
use haven_domain::referrals::{
    NotificationId, Outcome, ProtocolFormat, Purpose, ReplyId, SendMethod, Status,
};
use haven_domain::{Language, OrgId, SecureRng, UserId};
use uuid::Uuid;

use crate::encrypted::EncryptedTable;
use crate::sealing::{open, seal};
use crate::{Db, Result, StoreError, Tx, counters, execute, on_db};

/// The encrypted columns of the notification tables, for key checks and rotation.
pub const ENCRYPTED: &[EncryptedTable] = &[
    EncryptedTable {
        table: "notifications",
        columns: &[
            "recipient_person_enc",
            "subject_enc",
            "body_enc",
            "people_enc",
            "failure_enc",
            "outcome_note_enc",
        ],
    },
    EncryptedTable {
        table: "notification_replies",
        columns: &["body_enc"],
    },
    EncryptedTable {
        table: "notification_reply_files",
        columns: &["name_enc", "content_enc"],
    },
];

/// The register protocol numbers are taken from.
pub const REGISTER: &str = "protocol";

/// The organisation's settings for notifications.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The format of protocol numbers.
    pub protocol_format: ProtocolFormat,
    /// The purposes whose notifications a supervisor approves before they are sent.
    pub approval: Vec<Purpose>,
    /// The letterhead of letters.
    pub letterhead: Letterhead,
    /// The line under the author's name in the signature block (a role or title), if any.
    pub signature_title: String,
}

/// The organisation's details at the head of its letters (each may be empty).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Letterhead {
    /// The postal address.
    pub address: String,
    /// The telephone.
    pub phone: String,
    /// The e-mail address.
    pub email: String,
    /// The web site.
    pub web: String,
    /// The registration number.
    pub registration: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            protocol_format: ProtocolFormat::default(),
            approval: Purpose::ALL.to_vec(),
            letterhead: Letterhead::default(),
            signature_title: String::new(),
        }
    }
}

impl Settings {
    /// Whether notifications of `purpose` need approval.
    pub fn needs_approval(&self, purpose: Purpose) -> bool {
        self.approval.contains(&purpose)
    }
}

/// The organisation's settings (the defaults until saved).
pub async fn settings(db: &Db, org: OrgId) -> Result<Settings> {
    type R = (
        String,
        String,
        String,
        String,
        String,
        String,
        String,
        String,
    );
    let row: Option<R> = on_db!(db, |c| {
        sqlx::query_as(
        "SELECT protocol_format, approval_purposes, letterhead_address, letterhead_phone, letterhead_email, \
         letterhead_web, letterhead_registration, signature_title FROM referral_settings WHERE org_id = $1"
    )
    .bind(org.0)
    .fetch_optional(c)
    .await
    })?;
    let Some((format, approval, address, phone, email, web, registration, signature_title)) = row
    else {
        return Ok(Settings::default());
    };
    Ok(Settings {
        protocol_format: ProtocolFormat::parse(&format)
            .map_err(|e| StoreError::corrupt("referral_settings", "protocol_format", e))?,
        approval: approval.split(',').filter_map(Purpose::from_code).collect(),
        letterhead: Letterhead {
            address,
            phone,
            email,
            web,
            registration,
        },
        signature_title,
    })
}

/// Saves the organisation's settings.
pub async fn save_settings(
    tx: &mut Tx,
    org: OrgId,
    s: &Settings,
    now: DateTime<Utc>,
) -> Result<()> {
    let approval = s
        .approval
        .iter()
        .map(|p| p.code())
        .collect::<Vec<_>>()
        .join(",");
    execute!(
        tx,
        "INSERT INTO referral_settings (org_id, protocol_format, approval_purposes, updated_at, letterhead_address, \
         letterhead_phone, letterhead_email, letterhead_web, letterhead_registration, signature_title) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         ON CONFLICT (org_id) DO UPDATE SET protocol_format = $2, approval_purposes = $3, updated_at = $4, \
         letterhead_address = $5, letterhead_phone = $6, letterhead_email = $7, letterhead_web = $8, \
         letterhead_registration = $9, signature_title = $10",
        org.0,
        s.protocol_format.as_str(),
        approval,
        now,
        s.letterhead.address.as_str(),
        s.letterhead.phone.as_str(),
        s.letterhead.email.as_str(),
        s.letterhead.web.as_str(),
        s.letterhead.registration.as_str(),
        s.signature_title.as_str()
    )?;
    Ok(())
}

/// A notification to write.
pub struct NewNotification {
    /// Its id.
    pub id: NotificationId,
    /// The case it belongs to.
    pub case: Option<CaseId>,
    /// The contact it belongs to.
    pub contact: Option<ContactId>,
    /// Its purpose.
    pub purpose: Purpose,
    /// The recipient institution.
    pub institution: Uuid,
    /// The language of the letter.
    pub language: Language,
    /// The person at the institution it is addressed to (sealed).
    pub recipient_person: String,
    /// The subject (sealed).
    pub subject: String,
    /// The body (sealed).
    pub body: String,
    /// The people (and their chosen fields) the letter names (sealed).
    pub people: String,
    /// The deadline for an answer.
    pub deadline: Option<NaiveDate>,
    /// The case documents attached.
    pub documents: Vec<DocumentId>,
    /// Who writes it.
    pub by: UserId,
    /// Now.
    pub now: DateTime<Utc>,
    /// The id of its first step.
    pub step_id: Uuid,
}

/// A notification's plain facts (nothing decrypted).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct NotificationRow {
    /// Its id.
    pub id: Uuid,
    /// The case it belongs to.
    pub case_id: Option<Uuid>,
    /// The contact it belongs to.
    pub contact_id: Option<Uuid>,
    /// Its purpose (code).
    pub purpose: String,
    /// The recipient institution.
    pub institution_id: Uuid,
    /// The language of the letter (code).
    pub language: String,
    /// Its protocol number.
    pub protocol_number: String,
    /// The deadline.
    pub deadline_on: Option<NaiveDate>,
    /// Its status (code).
    pub status: String,
    /// How it was sent (code).
    pub send_method: Option<String>,
    /// When it was sent.
    pub sent_on: Option<NaiveDate>,
    /// The outcome (code).
    pub outcome: Option<String>,
    /// Its author.
    pub created_by: Option<Uuid>,
    /// Who approved it.
    pub approved_by: Option<Uuid>,
    /// When written.
    pub created_at: DateTime<Utc>,
    /// When last changed.
    pub updated_at: DateTime<Utc>,
}

fn code<T>(column: &'static str, v: &str, f: fn(&str) -> Option<T>) -> Result<T> {
    f(v).ok_or_else(|| StoreError::corrupt("notifications", column, format!("unknown code {v:?}")))
}

impl NotificationRow {
    /// Its id.
    pub fn nid(&self) -> NotificationId {
        NotificationId(self.id)
    }
    /// Its purpose.
    pub fn purpose(&self) -> Result<Purpose> {
        code("purpose", &self.purpose, Purpose::from_code)
    }
    /// Its status.
    pub fn status(&self) -> Result<Status> {
        code("status", &self.status, Status::from_code)
    }
    /// The language of the letter.
    pub fn language(&self) -> Language {
        self.language.parse().unwrap_or(Language::SrLatn)
    }
    /// How it was sent.
    pub fn method(&self) -> Option<SendMethod> {
        self.send_method.as_deref().and_then(SendMethod::from_code)
    }
    /// What came of it.
    pub fn outcome(&self) -> Option<Outcome> {
        self.outcome.as_deref().and_then(Outcome::from_code)
    }
    /// Whether it is overdue on `today`.
    pub fn overdue(&self, today: NaiveDate) -> bool {
        self.status()
            .is_ok_and(|s| s.overdue(self.deadline_on, today))
    }
}

const COLUMNS: &str = "id, case_id, contact_id, purpose, institution_id, language, protocol_number, deadline_on, status, \
     send_method, sent_on, outcome, created_by, approved_by, created_at, updated_at";

/// The letter's sealed parts, opened.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Letter {
    /// The person at the institution.
    pub recipient_person: String,
    /// The subject.
    pub subject: String,
    /// The body.
    pub body: String,
    /// The people named, with their chosen fields.
    pub people: String,
    /// Why the last sending failed.
    pub failure: String,
    /// A note on the outcome.
    pub outcome_note: String,
}

/// Writes a notification as a draft and gives it the next protocol number of the year (inside
/// the caller's transaction: a failed write leaves no hole in the register). Returns the number.
pub async fn create(
    tx: &mut Tx,
    ring: &OrgKeyring,
    rng: &dyn SecureRng,
    org: OrgId,
    format: &ProtocolFormat,
    n: &NewNotification,
) -> Result<String> {
    let id = n.id.0;
    let year = n.now.year();
    let seq = counters::next(tx, org, REGISTER, year).await?;
    let number = format.number(seq, year);
    let t = "notifications";
    let person = seal(
        ring,
        rng,
        t,
        "recipient_person_enc",
        id,
        &n.recipient_person,
    )?;
    let subject = seal(ring, rng, t, "subject_enc", id, &n.subject)?;
    let body = seal(ring, rng, t, "body_enc", id, &n.body)?;
    let people = seal(ring, rng, t, "people_enc", id, &n.people)?;
    let failure = seal(ring, rng, t, "failure_enc", id, &String::new())?;
    let note = seal(ring, rng, t, "outcome_note_enc", id, &String::new())?;
    execute!(
        tx,
        "INSERT INTO notifications (org_id, id, case_id, contact_id, purpose, institution_id, language, recipient_person_enc, \
         subject_enc, body_enc, people_enc, protocol_year, protocol_seq, protocol_number, deadline_on, status, failure_enc, \
         outcome_note_enc, created_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 'draft', $16, $17, $18, $19, $19)",
        org.0,
        id,
        n.case.map(|c| c.0),
        n.contact.map(|c| c.0),
        n.purpose.code(),
        n.institution,
        n.language.code(),
        person,
        subject,
        body,
        people,
        i64::from(year),
        seq,
        &number,
        n.deadline,
        failure,
        note,
        n.by.0,
        n.now
    )?;
    for d in &n.documents {
        execute!(
            tx,
            "INSERT INTO notification_documents (org_id, notification_id, document_id) VALUES ($1, $2, $3)",
            org.0,
            id,
            d.0
        )?;
    }
    add_step(tx, org, n.id, n.step_id, Status::Draft, Some(n.by), n.now).await?;
    Ok(number)
}

async fn add_step(
    tx: &mut Tx,
    org: OrgId,
    id: NotificationId,
    step: Uuid,
    status: Status,
    actor: Option<UserId>,
    now: DateTime<Utc>,
) -> Result<()> {
    execute!(
        tx,
        "INSERT INTO notification_steps (org_id, id, notification_id, status, actor, at) VALUES ($1, $2, $3, $4, $5, $6)",
        org.0,
        step,
        id.0,
        status.code(),
        actor.map(|u| u.0),
        now
    )?;
    Ok(())
}

/// Changes a draft's letter.
#[allow(clippy::too_many_arguments)]
pub async fn edit_draft(
    tx: &mut Tx,
    ring: &OrgKeyring,
    rng: &dyn SecureRng,
    org: OrgId,
    id: NotificationId,
    subject: &str,
    body: &str,
    now: DateTime<Utc>,
) -> Result<bool> {
    let t = "notifications";
    let s = seal(ring, rng, t, "subject_enc", id.0, &subject.to_owned())?;
    let b = seal(ring, rng, t, "body_enc", id.0, &body.to_owned())?;
    let n = execute!(
        tx,
        "UPDATE notifications SET subject_enc = $3, body_enc = $4, updated_at = $5 WHERE org_id = $1 AND id = $2 AND status = 'draft'",
        org.0,
        id.0,
        s,
        b,
        now
    )?;
    Ok(n == 1)
}

/// What a step records beside the new status.
#[derive(Debug, Clone, Default)]
pub struct StepDetails {
    /// How it was sent.
    pub method: Option<SendMethod>,
    /// When it was sent.
    pub sent_on: Option<NaiveDate>,
    /// Why sending failed (sealed).
    pub failure: Option<String>,
    /// The outcome.
    pub outcome: Option<Outcome>,
    /// A note on the outcome (sealed).
    pub outcome_note: Option<String>,
    /// Whether the actor is the approver.
    pub approves: bool,
}

/// Moves a notification from `from` to `to` and records the step; `false` when it was no longer
/// in `from` (someone else moved it first).
#[allow(clippy::too_many_arguments)]
pub async fn step(
    tx: &mut Tx,
    ring: &OrgKeyring,
    rng: &dyn SecureRng,
    org: OrgId,
    id: NotificationId,
    from: Status,
    to: Status,
    actor: Option<UserId>,
    d: &StepDetails,
    step_id: Uuid,
    now: DateTime<Utc>,
) -> Result<bool> {
    let n = execute!(
        tx,
        "UPDATE notifications SET status = $4, updated_at = $5 WHERE org_id = $1 AND id = $2 AND status = $3",
        org.0,
        id.0,
        from.code(),
        to.code(),
        now
    )?;
    if n != 1 {
        return Ok(false);
    }
    if let Some(m) = d.method {
        execute!(
            tx,
            "UPDATE notifications SET send_method = $3, sent_on = $4 WHERE org_id = $1 AND id = $2",
            org.0,
            id.0,
            m.code(),
            d.sent_on
        )?;
    }
    if let Some(f) = &d.failure {
        let f = seal(ring, rng, "notifications", "failure_enc", id.0, f)?;
        execute!(
            tx,
            "UPDATE notifications SET failure_enc = $3 WHERE org_id = $1 AND id = $2",
            org.0,
            id.0,
            f
        )?;
    }
    if let Some(o) = d.outcome {
        let note = seal(
            ring,
            rng,
            "notifications",
            "outcome_note_enc",
            id.0,
            &d.outcome_note.clone().unwrap_or_default(),
        )?;
        execute!(
            tx,
            "UPDATE notifications SET outcome = $3, outcome_note_enc = $4 WHERE org_id = $1 AND id = $2",
            org.0,
            id.0,
            o.code(),
            note
        )?;
    }
    if d.approves {
        execute!(
            tx,
            "UPDATE notifications SET approved_by = $3 WHERE org_id = $1 AND id = $2",
            org.0,
            id.0,
            actor.map(|u| u.0)
        )?;
    }
    add_step(tx, org, id, step_id, to, actor, now).await?;
    Ok(true)
}

/// A notification's plain facts, or `None` in this organisation.
pub async fn row(db: &Db, org: OrgId, id: NotificationId) -> Result<Option<NotificationRow>> {
    let sql = format!("SELECT {COLUMNS} FROM notifications WHERE org_id = $1 AND id = $2");
    Ok(on_db!(db, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(org.0)
        .bind(id.0)
        .fetch_optional(c)
        .await)?)
}

/// Records that a notification is about an agency (written from the agency's page).
pub async fn link_agency(tx: &mut Tx, org: OrgId, id: NotificationId, agency: Uuid) -> Result<()> {
    execute!(
        tx,
        "INSERT INTO notification_agencies (org_id, notification_id, agency_id) VALUES ($1, $2, $3)",
        org.0,
        id.0,
        agency
    )?;
    Ok(())
}

/// The agency a notification is about, when it was written from an agency's page.
pub async fn agency_of(db: &Db, org: OrgId, id: NotificationId) -> Result<Option<Uuid>> {
    Ok(on_db!(db, |c| sqlx::query_scalar(
        "SELECT agency_id FROM notification_agencies WHERE org_id = $1 AND notification_id = $2"
    )
    .bind(org.0)
    .bind(id.0)
    .fetch_optional(c)
    .await)?)
}

/// The notifications of the organisation, newest first (the caller filters by access).
pub async fn list(db: &Db, org: OrgId) -> Result<Vec<NotificationRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM notifications WHERE org_id = $1 ORDER BY created_at DESC, id DESC"
    );
    Ok(on_db!(db, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(org.0)
        .fetch_all(c)
        .await)?)
}

/// The notifications of a case, newest first.
pub async fn of_case(db: &Db, org: OrgId, case: CaseId) -> Result<Vec<NotificationRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM notifications WHERE org_id = $1 AND case_id = $2 ORDER BY created_at DESC, id DESC"
    );
    Ok(on_db!(db, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(org.0)
        .bind(case.0)
        .fetch_all(c)
        .await)?)
}

/// The notifications sent or received and still unanswered whose deadline passed before
/// `today`, the oldest deadline first.
pub async fn overdue(db: &Db, org: OrgId, today: NaiveDate) -> Result<Vec<NotificationRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM notifications WHERE org_id = $1 AND status IN ('sent', 'received') \
         AND deadline_on IS NOT NULL AND deadline_on < $2 ORDER BY deadline_on, id"
    );
    Ok(on_db!(db, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(org.0)
        .bind(today)
        .fetch_all(c)
        .await)?)
}

/// The letter (call only after the policy allowed it).
pub async fn letter(db: &Db, ring: &OrgKeyring, org: OrgId, id: NotificationId) -> Result<Letter> {
    type Row = (Vec<u8>, Vec<u8>, Vec<u8>, Vec<u8>, Vec<u8>, Vec<u8>);
    let r: Row = on_db!(db, |c| {
        sqlx::query_as(
        "SELECT recipient_person_enc, subject_enc, body_enc, people_enc, failure_enc, outcome_note_enc \
         FROM notifications WHERE org_id = $1 AND id = $2"
    )
    .bind(org.0)
    .bind(id.0)
    .fetch_one(c)
    .await
    })?;
    let t = "notifications";
    Ok(Letter {
        recipient_person: open(ring, t, "recipient_person_enc", id.0, r.0)?,
        subject: open(ring, t, "subject_enc", id.0, r.1)?,
        body: open(ring, t, "body_enc", id.0, r.2)?,
        people: open(ring, t, "people_enc", id.0, r.3)?,
        failure: open(ring, t, "failure_enc", id.0, r.4)?,
        outcome_note: open(ring, t, "outcome_note_enc", id.0, r.5)?,
    })
}

/// The case documents attached to a notification.
pub async fn documents(db: &Db, org: OrgId, id: NotificationId) -> Result<Vec<DocumentId>> {
    let ids: Vec<Uuid> = on_db!(db, |c| {
        sqlx::query_scalar(
        "SELECT document_id FROM notification_documents WHERE org_id = $1 AND notification_id = $2 ORDER BY document_id"
    )
    .bind(org.0)
    .bind(id.0)
    .fetch_all(c)
    .await
    })?;
    Ok(ids.into_iter().map(DocumentId).collect())
}

/// A step of a notification's workflow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepRow {
    /// The status it led to.
    pub status: Status,
    /// Who took it (none for an institution).
    pub actor: Option<UserId>,
    /// When.
    pub at: DateTime<Utc>,
}

/// The steps of a notification, in order.
pub async fn steps(db: &Db, org: OrgId, id: NotificationId) -> Result<Vec<StepRow>> {
    let rows: Vec<(String, Option<Uuid>, DateTime<Utc>)> = on_db!(db, |c| {
        sqlx::query_as(
        "SELECT status, actor, at FROM notification_steps WHERE org_id = $1 AND notification_id = $2 ORDER BY at, id"
    )
    .bind(org.0)
    .bind(id.0)
    .fetch_all(c)
    .await
    })?;
    rows.into_iter()
        .map(|(s, a, at)| {
            Ok(StepRow {
                status: code("status", &s, Status::from_code)?,
                actor: a.map(UserId),
                at,
            })
        })
        .collect()
}

/// A letter template: subject and body with placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// The subject.
    pub subject: String,
    /// The body.
    pub body: String,
    /// Whether the organisation saved it (else it is Haven's default).
    pub saved: bool,
}

/// The template for `purpose` in `lang` (Haven's default until the organisation saves one).
pub async fn template(db: &Db, org: OrgId, purpose: Purpose, lang: Language) -> Result<Template> {
    let row: Option<(String, String)> = on_db!(db, |c| {
        sqlx::query_as(
        "SELECT subject, body FROM letter_templates WHERE org_id = $1 AND purpose = $2 AND language = $3"
    )
    .bind(org.0)
    .bind(purpose.code())
    .bind(lang.code())
    .fetch_optional(c)
    .await
    })?;
    Ok(match row {
        Some((subject, body)) => Template {
            subject,
            body,
            saved: true,
        },
        None => {
            let (s, b) = haven_domain::referrals::default_template(lang);
            Template {
                subject: s.to_owned(),
                body: b.to_owned(),
                saved: false,
            }
        }
    })
}

/// Saves a template (the caller checked its placeholders).
#[allow(clippy::too_many_arguments)]
pub async fn save_template(
    tx: &mut Tx,
    org: OrgId,
    purpose: Purpose,
    lang: Language,
    subject: &str,
    body: &str,
    by: UserId,
    now: DateTime<Utc>,
) -> Result<()> {
    execute!(
        tx,
        "INSERT INTO letter_templates (org_id, purpose, language, subject, body, updated_by, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (org_id, purpose, language) \
         DO UPDATE SET subject = $4, body = $5, updated_by = $6, updated_at = $7",
        org.0,
        purpose.code(),
        lang.code(),
        subject,
        body,
        by.0,
        now
    )?;
    Ok(())
}

/// Gives a notification its reply link (replacing an earlier one): only the token's hash is kept.
pub async fn set_reply_link(
    tx: &mut Tx,
    org: OrgId,
    id: NotificationId,
    token_hash: &[u8],
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<()> {
    execute!(
        tx,
        "DELETE FROM reply_links WHERE org_id = $1 AND notification_id = $2",
        org.0,
        id.0
    )?;
    execute!(
        tx,
        "INSERT INTO reply_links (org_id, notification_id, token_hash, expires_at, created_at) VALUES ($1, $2, $3, $4, $5)",
        org.0,
        id.0,
        token_hash,
        expires_at,
        now
    )?;
    Ok(())
}

/// The notification a reply link's token hash belongs to, and when the link expires.
pub async fn reply_link(
    db: &Db,
    token_hash: &[u8],
) -> Result<Option<(OrgId, NotificationId, DateTime<Utc>)>> {
    let row: Option<(Uuid, Uuid, DateTime<Utc>)> = on_db!(db, |c| sqlx::query_as(
        "SELECT org_id, notification_id, expires_at FROM reply_links WHERE token_hash = $1"
    )
    .bind(token_hash)
    .fetch_optional(c)
    .await)?;
    Ok(row.map(|(o, n, e)| (OrgId(o), NotificationId(n), e)))
}

/// Records an institution's reply (sealed).
#[allow(clippy::too_many_arguments)]
pub async fn add_reply(
    tx: &mut Tx,
    ring: &OrgKeyring,
    rng: &dyn SecureRng,
    org: OrgId,
    id: NotificationId,
    reply: ReplyId,
    body: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let b = seal(
        ring,
        rng,
        "notification_replies",
        "body_enc",
        reply.0,
        &body.to_owned(),
    )?;
    execute!(
        tx,
        "INSERT INTO notification_replies (org_id, id, notification_id, body_enc, received_at) VALUES ($1, $2, $3, $4, $5)",
        org.0,
        reply.0,
        id.0,
        b,
        now
    )?;
    Ok(())
}

/// The replies to a notification, oldest first.
pub async fn replies(
    db: &Db,
    ring: &OrgKeyring,
    org: OrgId,
    id: NotificationId,
) -> Result<Vec<(DateTime<Utc>, String)>> {
    let rows: Vec<(Uuid, Vec<u8>, DateTime<Utc>)> = on_db!(db, |c| {
        sqlx::query_as(
        "SELECT id, body_enc, received_at FROM notification_replies WHERE org_id = $1 AND notification_id = $2 ORDER BY received_at, id"
    )
    .bind(org.0)
    .bind(id.0)
    .fetch_all(c)
    .await
    })?;
    rows.into_iter()
        .map(|(rid, enc, at)| {
            Ok((
                at,
                open(ring, "notification_replies", "body_enc", rid, enc)?,
            ))
        })
        .collect()
}

/// A file an institution attached to its reply (its description; the name decrypted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyFile {
    /// Its id.
    pub id: Uuid,
    /// The reply it came with.
    pub reply_id: ReplyId,
    /// The media type found in its content.
    pub media_type: String,
    /// Its size in bytes.
    pub size_bytes: i64,
    /// Its name as sent.
    pub name: String,
    /// The copy among the case's documents, when the notification belongs to a case.
    pub document_id: Option<DocumentId>,
    /// When it was received.
    pub received_at: DateTime<Utc>,
}

/// A file to store with a reply.
pub struct NewReplyFile<'a> {
    /// Its id.
    pub id: Uuid,
    /// The reply it comes with.
    pub reply_id: ReplyId,
    /// The media type found in its content.
    pub media_type: &'a str,
    /// Its name as sent.
    pub name: &'a str,
    /// Its content.
    pub content: &'a [u8],
    /// The copy filed among the case's documents, if one.
    pub document_id: Option<DocumentId>,
}

/// Stores a file of a reply, name and content sealed.
pub async fn add_reply_file(
    tx: &mut Tx,
    ring: &OrgKeyring,
    rng: &dyn SecureRng,
    org: OrgId,
    id: NotificationId,
    f: &NewReplyFile<'_>,
    now: DateTime<Utc>,
) -> Result<()> {
    let table = "notification_reply_files";
    let name_enc = seal(ring, rng, table, "name_enc", f.id, &f.name.to_owned())?;
    let content_enc = seal(ring, rng, table, "content_enc", f.id, &f.content.to_vec())?;
    execute!(
        tx,
        "INSERT INTO notification_reply_files (org_id, id, notification_id, reply_id, media_type, size_bytes, name_enc, content_enc, document_id, received_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        org.0,
        f.id,
        id.0,
        f.reply_id.0,
        f.media_type,
        i64::try_from(f.content.len()).unwrap_or(i64::MAX),
        name_enc,
        content_enc,
        f.document_id.map(|d| d.0),
        now
    )?;
    Ok(())
}

/// The files of a notification's replies, oldest first (call only after the policy allowed it).
pub async fn reply_files(
    db: &Db,
    ring: &OrgKeyring,
    org: OrgId,
    id: NotificationId,
) -> Result<Vec<ReplyFile>> {
    type R = (
        Uuid,
        Uuid,
        String,
        i64,
        Vec<u8>,
        Option<Uuid>,
        DateTime<Utc>,
    );
    let rows: Vec<R> = on_db!(db, |c| {
        sqlx::query_as(
            "SELECT id, reply_id, media_type, size_bytes, name_enc, document_id, received_at FROM notification_reply_files \
             WHERE org_id = $1 AND notification_id = $2 ORDER BY received_at, id",
        )
        .bind(org.0)
        .bind(id.0)
        .fetch_all(c)
        .await
    })?;
    rows.into_iter()
        .map(|(fid, reply, media_type, size_bytes, n, doc, at)| {
            Ok(ReplyFile {
                id: fid,
                reply_id: ReplyId(reply),
                media_type,
                size_bytes,
                name: open(ring, "notification_reply_files", "name_enc", fid, n)?,
                document_id: doc.map(DocumentId),
                received_at: at,
            })
        })
        .collect()
}

/// A reply file's name and content, or `None` when the notification has no such file.
pub async fn reply_file_content(
    db: &Db,
    ring: &OrgKeyring,
    org: OrgId,
    id: NotificationId,
    file: Uuid,
) -> Result<Option<(String, Vec<u8>)>> {
    let row: Option<(Vec<u8>, Vec<u8>)> = on_db!(db, |c| {
        sqlx::query_as(
            "SELECT name_enc, content_enc FROM notification_reply_files WHERE org_id = $1 AND notification_id = $2 AND id = $3",
        )
        .bind(org.0)
        .bind(id.0)
        .bind(file)
        .fetch_optional(c)
        .await
    })?;
    let table = "notification_reply_files";
    match row {
        Some((n, b)) => Ok(Some((
            open(ring, table, "name_enc", file, n)?,
            open(ring, table, "content_enc", file, b)?,
        ))),
        None => Ok(None),
    }
}

/// Marks a notification as not yet seen by `users` since an institution's receipt or reply
/// (an earlier mark stays as it was).
pub async fn mark_unseen(
    tx: &mut Tx,
    org: OrgId,
    id: NotificationId,
    users: &[UserId],
    now: DateTime<Utc>,
) -> Result<()> {
    for u in users {
        execute!(
            tx,
            "INSERT INTO notification_unseen (org_id, notification_id, user_id, since) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (org_id, notification_id, user_id) DO NOTHING",
            org.0,
            id.0,
            u.0,
            now
        )?;
    }
    Ok(())
}

/// The person opened the notification: it leaves their list of replies received.
pub async fn mark_seen(tx: &mut Tx, org: OrgId, id: NotificationId, user: UserId) -> Result<()> {
    execute!(
        tx,
        "DELETE FROM notification_unseen WHERE org_id = $1 AND notification_id = $2 AND user_id = $3",
        org.0,
        id.0,
        user.0
    )?;
    Ok(())
}

/// The notifications with an institution's receipt or reply the person has not opened since,
/// the oldest first.
pub async fn unseen(db: &Db, org: OrgId, user: UserId) -> Result<Vec<NotificationRow>> {
    let cols = COLUMNS
        .split(", ")
        .map(|c| format!("n.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT {cols} FROM notifications n JOIN notification_unseen u ON u.org_id = n.org_id AND u.notification_id = n.id \
         WHERE n.org_id = $1 AND u.user_id = $2 ORDER BY u.since, n.id"
    );
    Ok(on_db!(db, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(org.0)
        .bind(user.0)
        .fetch_all(c)
        .await)?)
}
