//! Hotline contacts: the desk's records, their blind indexes, versions, escalation checks, caller
//! flags, drafts, handover notes and follow-up tasks.
//!
//! As with people, identifying values (phone, e-mail, handle, summary, notes, the reason a contact
//! was voided, the value of a checklist step, a draft, a handover note, a task's title) go in as
//! plaintext and are sealed here, bound to table, column and record. Everything a list, a count,
//! an inbox or a statistic needs is plain: line, channel, times, categories, urgency, flags.
//! Versions record who changed which fields when — never the values.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use haven_crypto::keys::OrgKeyring;
use haven_crypto::{blind, normalize};
use haven_domain::desk::{
    CallerType, Channel, ContactId, ContactInput, ContactUrgency, Direction, DraftId, FlagKind,
    HeardVia,
};
use haven_domain::people::CountryCode;
use haven_domain::{OrgId, SecureRng, UserId};
use uuid::Uuid;

use crate::audit::{audit_pending_insert, bind_pending};
use crate::encrypted::EncryptedTable;
use crate::sealing::{Json, open, seal};
use crate::{Db, Result, StoreError, Tx, execute, on_db};

/// The encrypted columns of the desk's tables, for key checks and rotation.
pub const ENCRYPTED: &[EncryptedTable] = &[
    EncryptedTable {
        table: "contacts",
        columns: &[
            "phone_enc",
            "email_enc",
            "handle_enc",
            "summary_enc",
            "notes_enc",
            "void_reason_enc",
        ],
    },
    EncryptedTable {
        table: "contact_checks",
        columns: &["value_enc"],
    },
    EncryptedTable {
        table: "contact_drafts",
        columns: &["data_enc"],
    },
    EncryptedTable {
        table: "handover_notes",
        columns: &["body_enc"],
    },
];

const T: &str = "contacts";

/// A contact to record.
#[derive(Debug, Clone)]
pub struct NewContact {
    /// Its id.
    pub id: ContactId,
    /// What the form said.
    pub input: ContactInput,
    /// The person the caller is, when recorded.
    pub person_id: Option<Uuid>,
    /// The counsellors who handled it (the recorder among them).
    pub counsellors: Vec<UserId>,
    /// Who recorded it.
    pub by: UserId,
    /// Now.
    pub now: DateTime<Utc>,
}

/// What a blind index of the desk covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum IndexKind {
    /// Phone numbers in E.164.
    Phone,
    /// E-mail addresses, folded.
    Email,
    /// Messenger and social-media handles, folded.
    Handle,
}

impl IndexKind {
    fn code(self) -> &'static str {
        match self {
            IndexKind::Phone => "phone",
            IndexKind::Email => "email",
            IndexKind::Handle => "handle",
        }
    }

    fn spec(self) -> blind::BlindIndex {
        match self {
            IndexKind::Phone => blind::PHONE,
            IndexKind::Email => blind::EMAIL,
            IndexKind::Handle => blind::NAME,
        }
    }

    /// The normalised form of a value of this kind.
    pub fn normalise(self, v: &str) -> String {
        match self {
            IndexKind::Phone => v.trim().to_owned(),
            IndexKind::Email => normalize::email(v),
            IndexKind::Handle => v.trim().trim_start_matches('@').to_lowercase(),
        }
    }
}

fn index_values(i: &ContactInput) -> BTreeSet<(IndexKind, String)> {
    let mut out = BTreeSet::new();
    for (k, v) in [
        (IndexKind::Phone, &i.phone),
        (IndexKind::Email, &i.email),
        (IndexKind::Handle, &i.handle),
    ] {
        let n = k.normalise(v);
        if !n.is_empty() {
            out.insert((k, n));
        }
    }
    out
}

struct SealedContact {
    phone: Vec<u8>,
    email: Vec<u8>,
    handle: Vec<u8>,
    summary: Vec<u8>,
    notes: Vec<u8>,
}

fn seal_contact(
    ring: &OrgKeyring,
    rng: &dyn SecureRng,
    id: ContactId,
    i: &ContactInput,
) -> Result<SealedContact> {
    Ok(SealedContact {
        phone: seal(ring, rng, T, "phone_enc", id.0, &i.phone)?,
        email: seal(ring, rng, T, "email_enc", id.0, &i.email)?,
        handle: seal(ring, rng, T, "handle_enc", id.0, &i.handle)?,
        summary: seal(ring, rng, T, "summary_enc", id.0, &i.summary)?,
        notes: seal(ring, rng, T, "notes_enc", id.0, &i.notes)?,
    })
}

fn countries_text(c: &[CountryCode]) -> String {
    c.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(",")
}

/// Replaces a contact's blind indexes and categories with those of `i` (an update; a new contact
/// writes them with its row).
async fn replace_index(
    tx: &mut Tx,
    ring: &OrgKeyring,
    org: OrgId,
    id: ContactId,
    i: &ContactInput,
) -> Result<()> {
    execute!(
        tx,
        "DELETE FROM contact_index WHERE org_id = $1 AND contact_id = $2",
        org.0,
        id.0
    )?;
    for (kind, value) in index_values(i) {
        execute!(
            tx,
            "INSERT INTO contact_index (org_id, contact_id, kind, value) VALUES ($1, $2, $3, $4)",
            org.0,
            id.0,
            kind.code(),
            ring.blind_index(kind.spec(), &value)
        )?;
    }
    execute!(
        tx,
        "DELETE FROM contact_categories WHERE org_id = $1 AND contact_id = $2",
        org.0,
        id.0
    )?;
    for code in &i.categories {
        execute!(
            tx,
            "INSERT INTO contact_categories (org_id, contact_id, code) VALUES ($1, $2, $3)",
            org.0,
            id.0,
            code.as_str()
        )?;
    }
    Ok(())
}

async fn add_counsellor(tx: &mut Tx, org: OrgId, id: ContactId, user: UserId) -> Result<()> {
    execute!(
        tx,
        "INSERT INTO contact_counsellors (org_id, contact_id, user_id) VALUES ($1, $2, $3) ON CONFLICT (org_id, contact_id, user_id) DO NOTHING",
        org.0,
        id.0,
        user.0
    )?;
    Ok(())
}

async fn add_version(
    tx: &mut Tx,
    org: OrgId,
    id: ContactId,
    version: i64,
    by: UserId,
    now: DateTime<Utc>,
    fields: &[&str],
) -> Result<()> {
    let fields = json_list(fields);
    execute!(
        tx,
        "INSERT INTO contact_versions (org_id, contact_id, version, changed_by, changed_at, fields) VALUES ($1, $2, $3, $4, $5, $6)",
        org.0,
        id.0,
        version,
        by.0,
        now,
        fields
    )?;
    Ok(())
}

/// The contact row's columns and values, `$1`…`$29` (bound by `bind_contact!`), as a literal for
/// both statements below.
macro_rules! contact_insert {
    () => {
        "INSERT INTO contacts (org_id, id, line, channel, direction, started_at, duration_seconds, caller_type, person_id, anonymous, \
     phone_enc, email_enc, handle_enc, language, safe_to_call_back, confidential, heard_via, countries, summary_enc, notes_enc, \
     urgency, action, outcome, referral, needs_follow_up, assigned_to, void_reason_enc, version, created_by, created_at, updated_by, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, 1, $28, $29, $28, $29)"
    };
}

/// On PostgreSQL a new contact's rows — the contact, its blind indexes (`$30` kinds, `$31`
/// values), categories (`$32`) and counsellors (`$33`) — as the start of one statement whose last
/// part writes version 1 (`$34`, [`contact_version_pg!`]). The child rows select from the
/// contact's `RETURNING`, so they are written after it and its foreign keys hold; the lists are
/// bound as arrays. Recording a contact costs one round trip instead of one per row.
macro_rules! contact_rows_pg {
    () => {
        concat!(
            "WITH c AS (",
            contact_insert!(),
            " RETURNING org_id, id), \
             x AS (INSERT INTO contact_index (org_id, contact_id, kind, value) \
             SELECT c.org_id, c.id, v.kind, v.value FROM c, unnest($30::text[], $31::bytea[]) AS v(kind, value)), \
             k AS (INSERT INTO contact_categories (org_id, contact_id, code) \
             SELECT c.org_id, c.id, v.code FROM c, unnest($32::text[]) AS v(code)), \
             u AS (INSERT INTO contact_counsellors (org_id, contact_id, user_id) \
             SELECT c.org_id, c.id, v.user_id FROM c, unnest($33::uuid[]) AS v(user_id))"
        )
    };
}

/// The last part of [`contact_rows_pg!`]'s statement: version 1.
macro_rules! contact_version_pg {
    () => {
        " INSERT INTO contact_versions (org_id, contact_id, version, changed_by, changed_at, fields) \
         SELECT c.org_id, c.id, 1, $28, $29, $34 FROM c"
    };
}

/// On SQLite the same rows as one batch of statements run by the connection's worker without
/// coming back between them (SQLite runs in the process, but each trip to its worker thread
/// costs, and the one writer is held meanwhile). The lists are bound as JSON: `$30` the index
/// kinds, `$31` their values in hex, `$32` the categories, `$33` the counsellors' ids in hex.
macro_rules! contact_rows_sqlite {
    () => {
        concat!(
            contact_insert!(),
            "; INSERT INTO contact_index (org_id, contact_id, kind, value) \
             SELECT $1, $2, k.value, unhex(v.value) FROM json_each($30) AS k JOIN json_each($31) AS v ON v.key = k.key; \
             INSERT INTO contact_categories (org_id, contact_id, code) SELECT $1, $2, value FROM json_each($32); \
             INSERT INTO contact_counsellors (org_id, contact_id, user_id) SELECT $1, $2, unhex(value) FROM json_each($33); \
             INSERT INTO contact_versions (org_id, contact_id, version, changed_by, changed_at, fields) \
             VALUES ($1, $2, 1, $28, $29, $34)"
        )
    };
}

/// Binds a new contact's `$1`…`$29` (see [`contact_insert!`]) to a query of either backend.
macro_rules! bind_contact {
    ($q:expr, $p:expr) => {{
        let p: &PreparedContact<'_> = $p;
        let (c, s) = (p.contact, &p.sealed);
        let i = &c.input;
        $q.bind(p.org.0)
            .bind(c.id.0)
            .bind(i.line.as_str())
            .bind(i.channel.code())
            .bind(i.direction.code())
            .bind(i.started_at)
            .bind(i.duration_seconds)
            .bind(i.caller_type.code())
            .bind(c.person_id)
            .bind(i.anonymous)
            .bind(&s.phone)
            .bind(&s.email)
            .bind(&s.handle)
            .bind(i.language.as_str())
            .bind(i.safe_to_call_back)
            .bind(i.confidential)
            .bind(i.heard_via.code())
            .bind(countries_text(&i.countries))
            .bind(&s.summary)
            .bind(&s.notes)
            .bind(i.urgency.code())
            .bind(i.action.as_str())
            .bind(i.outcome.as_str())
            .bind(i.referral.as_str())
            .bind(i.needs_follow_up)
            .bind(None::<Uuid>)
            .bind(&p.void_reason)
            .bind(c.by.0)
            .bind(c.now)
    }};
}

/// Binds `$30`…`$34` of the statements above: the lists as arrays on PostgreSQL, as JSON on
/// SQLite.
macro_rules! bind_contact_rows {
    (Postgres, $q:expr, $p:expr) => {{
        let p: &PreparedContact<'_> = $p;
        $q.bind(&p.index_kinds)
            .bind(&p.index_values)
            .bind(&p.contact.input.categories)
            .bind(&p.counsellors)
            .bind(&p.fields)
    }};
    (Sqlite, $q:expr, $p:expr) => {{
        let p: &PreparedContact<'_> = $p;
        let values: Vec<String> = p.index_values.iter().map(hex::encode).collect();
        let counsellors: Vec<String> = p.counsellors.iter().map(hex::encode).collect();
        $q.bind(json_list(&p.index_kinds))
            .bind(json_list(&values))
            .bind(json_list(&p.contact.input.categories))
            .bind(json_list(&counsellors))
            .bind(&p.fields)
    }};
}

/// A list as JSON text: a version's changed fields as the `fields` column keeps them, and the
/// lists SQLite reads with `json_each`.
fn json_list<T: serde::Serialize>(items: &[T]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".into())
}

/// A new contact sealed and indexed, ready to be written: everything that needs no database is
/// done before the write begins, so a write holds the database (on SQLite, its one writer) only
/// as long as its statements take.
pub struct PreparedContact<'a> {
    org: OrgId,
    contact: &'a NewContact,
    sealed: SealedContact,
    void_reason: Vec<u8>,
    index_kinds: Vec<&'static str>,
    index_values: Vec<Vec<u8>>,
    counsellors: Vec<Uuid>,
    fields: String,
}

/// Seals a new contact's values and works out its blind indexes and counsellors (the recorder
/// always among them, once).
pub fn prepare<'a>(
    ring: &OrgKeyring,
    rng: &dyn SecureRng,
    org: OrgId,
    c: &'a NewContact,
) -> Result<PreparedContact<'a>> {
    let i = &c.input;
    let mut counsellors: Vec<Uuid> = c
        .counsellors
        .iter()
        .chain(std::iter::once(&c.by))
        .map(|u| u.0)
        .collect();
    counsellors.sort_unstable();
    counsellors.dedup();
    let (index_kinds, index_values) = index_values(i)
        .into_iter()
        .map(|(kind, value)| (kind.code(), ring.blind_index(kind.spec(), &value)))
        .unzip();
    Ok(PreparedContact {
        org,
        contact: c,
        sealed: seal_contact(ring, rng, c.id, i)?,
        void_reason: seal(ring, rng, T, "void_reason_enc", c.id.0, &String::new())?,
        index_kinds,
        index_values,
        counsellors,
        fields: json_list(&["created"]),
    })
}

/// Records a contact inside `tx`: sealed values, blind indexes, categories, counsellors and
/// version 1.
pub async fn insert(
    tx: &mut Tx,
    ring: &OrgKeyring,
    rng: &dyn SecureRng,
    org: OrgId,
    c: &NewContact,
) -> Result<()> {
    let p = &prepare(ring, rng, org, c)?;
    match tx {
        Tx::Postgres(t) => {
            let q = sqlx::query(concat!(contact_rows_pg!(), contact_version_pg!()));
            bind_contact_rows!(Postgres, bind_contact!(q, p), p)
                .execute(&mut **t)
                .await?;
        }
        Tx::Sqlite(t) => {
            let q = sqlx::query(contact_rows_sqlite!());
            bind_contact_rows!(Sqlite, bind_contact!(q, p), p)
                .execute(&mut **t)
                .await?;
        }
    }
    Ok(())
}

/// The intake's write: a prepared contact, the removal of the draft it was typed in (`$35`, may
/// be `None`; only the recorder's own), and its audit entry (`$36`…`$46`), all or nothing: on
/// PostgreSQL one statement, on SQLite one batch of statements. Either runs in a transaction that
/// the contacts recorded at the same moment share ([`crate::group_commit`]): one commit and one
/// sync for all of them. The contact is durable when this returns `Ok`.
pub async fn record(
    db: &Db,
    p: &PreparedContact<'_>,
    draft: Option<DraftId>,
    audit_id: Uuid,
    event: &crate::audit::AuditEvent,
) -> Result<()> {
    let draft = draft.map(|d| d.0);
    match db {
        Db::Postgres { group, .. } => {
            group
                .run(|| {
                    let q = sqlx::query::<sqlx::Postgres>(concat!(
                        contact_rows_pg!(),
                        ", d AS (DELETE FROM contact_drafts WHERE org_id = $1 AND id = $35 AND user_id = $28), \
                         a AS (",
                        audit_pending_insert!(),
                        " SELECT c.org_id, $36, $37, $38, $39, $40, $41, $42, $43, $44, $45, $46 FROM c)",
                        contact_version_pg!()
                    ));
                    let q = bind_contact_rows!(Postgres, bind_contact!(q, p), p).bind(draft);
                    bind_pending!(q, audit_id, p.contact.now, event)
                })
                .await?;
        }
        Db::Sqlite { group, .. } => {
            group
                .run(|| {
                    let q = sqlx::query::<sqlx::Sqlite>(concat!(
                        contact_rows_sqlite!(),
                        "; DELETE FROM contact_drafts WHERE org_id = $1 AND id = $35 AND user_id = $28; ",
                        audit_pending_insert!(),
                        " VALUES ($1, $36, $37, $38, $39, $40, $41, $42, $43, $44, $45, $46)"
                    ));
                    let q = bind_contact_rows!(Sqlite, bind_contact!(q, p), p).bind(draft);
                    bind_pending!(q, audit_id, p.contact.now, event)
                })
                .await?;
        }
    }
    Ok(())
}

/// A contact's plain facts: what lists, lookups and the policy need, nothing decrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactFacts {
    /// The organisation.
    pub org_id: OrgId,
    /// The id.
    pub id: ContactId,
    /// The line.
    pub line: String,
    /// The channel.
    pub channel: Channel,
    /// The direction.
    pub direction: Direction,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// Its duration in seconds.
    pub duration_seconds: i64,
    /// Who called.
    pub caller_type: CallerType,
    /// Urgency.
    pub urgency: ContactUrgency,
    /// Kept confidential.
    pub confidential: bool,
    /// Needs follow-up.
    pub needs_follow_up: bool,
    /// Categories.
    pub categories: Vec<String>,
    /// Countries (ISO codes).
    pub countries: Vec<String>,
    /// Counsellors.
    pub counsellors: Vec<UserId>,
    /// When voided.
    pub voided_at: Option<DateTime<Utc>>,
    /// The current version.
    pub version: i64,
    /// The person linked.
    pub person_id: Option<Uuid>,
    /// Language.
    pub language: String,
    /// Safe to call back.
    pub safe_to_call_back: bool,
    /// Anonymous.
    pub anonymous: bool,
    /// How they heard.
    pub heard_via: String,
    /// What was done.
    pub action: String,
    /// How it ended.
    pub outcome: String,
    /// Referred to.
    pub referral: String,
    /// Who recorded it.
    pub created_by: UserId,
    /// When recorded.
    pub created_at: DateTime<Utc>,
    /// When last changed.
    pub updated_at: DateTime<Utc>,
}

/// A contact, decrypted.
#[derive(Clone)]
pub struct Contact {
    /// Its plain facts.
    pub facts: ContactFacts,
    /// Phone (E.164).
    pub phone: String,
    /// E-mail.
    pub email: String,
    /// Handle.
    pub handle: String,
    /// Summary.
    pub summary: String,
    /// Notes.
    pub notes: String,
    /// Why it was voided.
    pub void_reason: String,
}

impl std::fmt::Debug for Contact {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Contact")
            .field("facts", &self.facts)
            .finish_non_exhaustive()
    }
}

impl Contact {
    /// The contact as the form's input (for comparing versions and for editing).
    pub fn input(&self) -> ContactInput {
        let f = &self.facts;
        ContactInput {
            line: f.line.clone(),
            channel: f.channel,
            direction: f.direction,
            started_at: f.started_at,
            duration_seconds: f.duration_seconds,
            caller_type: f.caller_type,
            anonymous: f.anonymous,
            phone: self.phone.clone(),
            email: self.email.clone(),
            handle: self.handle.clone(),
            language: f.language.clone(),
            safe_to_call_back: f.safe_to_call_back,
            confidential: f.confidential,
            heard_via: HeardVia::from_code(&f.heard_via).unwrap_or(HeardVia::Unknown),
            categories: f.categories.clone(),
            countries: f
                .countries
                .iter()
                .filter_map(|c| CountryCode::parse("countries", c).ok())
                .collect(),
            summary: self.summary.clone(),
            notes: self.notes.clone(),
            urgency: f.urgency,
            action: f.action.clone(),
            outcome: f.outcome.clone(),
            referral: f.referral.clone(),
            needs_follow_up: f.needs_follow_up,
        }
    }
}

const FACT_COLUMNS: &str = "org_id, id, line, channel, direction, started_at, duration_seconds, caller_type, urgency, confidential, \
     needs_follow_up, countries, voided_at, version, person_id, language, safe_to_call_back, anonymous, heard_via, action, outcome, \
     referral, created_by, created_at, updated_at";

#[derive(sqlx::FromRow)]
struct FactRow {
    org_id: Uuid,
    id: Uuid,
    line: String,
    channel: String,
    direction: String,
    started_at: DateTime<Utc>,
    duration_seconds: i64,
    caller_type: String,
    urgency: String,
    confidential: bool,
    needs_follow_up: bool,
    countries: String,
    voided_at: Option<DateTime<Utc>>,
    version: i64,
    person_id: Option<Uuid>,
    language: String,
    safe_to_call_back: bool,
    anonymous: bool,
    heard_via: String,
    action: String,
    outcome: String,
    referral: String,
    created_by: Uuid,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

fn bad(column: &'static str) -> StoreError {
    StoreError::Corrupt {
        table: T,
        column,
        reason: "unknown code".into(),
    }
}

async fn facts_from(db: &Db, r: FactRow) -> Result<ContactFacts> {
    let org = OrgId(r.org_id);
    let categories: Vec<String> = on_db!(db, |c| {
        sqlx::query_scalar(
            "SELECT code FROM contact_categories WHERE org_id = $1 AND contact_id = $2 ORDER BY code",
        )
        .bind(org.0)
        .bind(r.id)
        .fetch_all(c)
        .await
    })?;
    let counsellors: Vec<Uuid> = on_db!(db, |c| {
        sqlx::query_scalar(
            "SELECT user_id FROM contact_counsellors WHERE org_id = $1 AND contact_id = $2 ORDER BY user_id",
        )
        .bind(org.0)
        .bind(r.id)
        .fetch_all(c)
        .await
    })?;
    Ok(ContactFacts {
        org_id: org,
        id: ContactId(r.id),
        line: r.line,
        channel: Channel::from_code(&r.channel).ok_or_else(|| bad("channel"))?,
        direction: Direction::from_code(&r.direction).ok_or_else(|| bad("direction"))?,
        started_at: r.started_at,
        duration_seconds: r.duration_seconds,
        caller_type: CallerType::from_code(&r.caller_type).ok_or_else(|| bad("caller_type"))?,
        urgency: ContactUrgency::from_code(&r.urgency).ok_or_else(|| bad("urgency"))?,
        confidential: r.confidential,
        needs_follow_up: r.needs_follow_up,
        categories,
        countries: r
            .countries
            .split(',')
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect(),
        counsellors: counsellors.into_iter().map(UserId).collect(),
        voided_at: r.voided_at,
        version: r.version,
        person_id: r.person_id,
        language: r.language,
        safe_to_call_back: r.safe_to_call_back,
        anonymous: r.anonymous,
        heard_via: r.heard_via,
        action: r.action,
        outcome: r.outcome,
        referral: r.referral,
        created_by: UserId(r.created_by),
        created_at: r.created_at,
        updated_at: r.updated_at,
    })
}

/// A contact's plain facts.
pub async fn facts(db: &Db, org: OrgId, id: ContactId) -> Result<Option<ContactFacts>> {
    let sql = format!("SELECT {FACT_COLUMNS} FROM contacts WHERE org_id = $1 AND id = $2");
    let row: Option<FactRow> = on_db!(db, |c| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(org.0)
            .bind(id.0)
            .fetch_optional(c)
            .await
    })?;
    match row {
        Some(r) => Ok(Some(facts_from(db, r).await?)),
        None => Ok(None),
    }
}

/// A contact, decrypted.
pub async fn get(db: &Db, ring: &OrgKeyring, org: OrgId, id: ContactId) -> Result<Option<Contact>> {
    let Some(facts) = facts(db, org, id).await? else {
        return Ok(None);
    };
    type Sealed5 = (Vec<u8>, Vec<u8>, Vec<u8>, Vec<u8>, Vec<u8>, Vec<u8>);
    let (p, e, h, s, n, v): Sealed5 = on_db!(db, |c| {
        sqlx::query_as(
            "SELECT phone_enc, email_enc, handle_enc, summary_enc, notes_enc, void_reason_enc FROM contacts WHERE org_id = $1 AND id = $2",
        )
        .bind(org.0)
        .bind(id.0)
        .fetch_one(c)
        .await
    })?;
    Ok(Some(Contact {
        phone: open(ring, T, "phone_enc", id.0, p)?,
        email: open(ring, T, "email_enc", id.0, e)?,
        handle: open(ring, T, "handle_enc", id.0, h)?,
        summary: open(ring, T, "summary_enc", id.0, s)?,
        notes: open(ring, T, "notes_enc", id.0, n)?,
        void_reason: open(ring, T, "void_reason_enc", id.0, v)?,
        facts,
    }))
}

/// The names of the fields that differ between two versions of a contact.
pub fn changed_fields(a: &ContactInput, b: &ContactInput) -> Vec<&'static str> {
    let mut out = Vec::new();
    macro_rules! cmp {
        ($($f:ident),*) => { $( if a.$f != b.$f { out.push(stringify!($f)); } )* };
    }
    cmp!(
        line,
        channel,
        direction,
        started_at,
        duration_seconds,
        caller_type,
        anonymous,
        phone,
        email,
        handle,
        language,
        safe_to_call_back,
        confidential,
        heard_via,
        categories,
        countries,
        summary,
        notes,
        urgency,
        action,
        outcome,
        referral,
        needs_follow_up
    );
    out
}

/// Changes a contact to `input`, adding `by` to its counsellors and a version naming the fields
/// that changed; returns them (empty: nothing changed, nothing written).
#[allow(clippy::too_many_arguments)]
pub async fn update(
    tx: &mut Tx,
    ring: &OrgKeyring,
    rng: &dyn SecureRng,
    org: OrgId,
    before: &Contact,
    input: &ContactInput,
    by: UserId,
    now: DateTime<Utc>,
) -> Result<Vec<&'static str>> {
    let changed = changed_fields(&before.input(), input);
    if changed.is_empty() {
        return Ok(changed);
    }
    let id = before.facts.id;
    let s = seal_contact(ring, rng, id, input)?;
    let version = before.facts.version + 1;
    let n = execute!(
        tx,
        "UPDATE contacts SET line = $3, channel = $4, direction = $5, started_at = $6, duration_seconds = $7, caller_type = $8, \
         anonymous = $9, phone_enc = $10, email_enc = $11, handle_enc = $12, language = $13, safe_to_call_back = $14, confidential = $15, \
         heard_via = $16, countries = $17, summary_enc = $18, notes_enc = $19, urgency = $20, action = $21, outcome = $22, referral = $23, \
         needs_follow_up = $24, version = $25, updated_by = $26, updated_at = $27 \
         WHERE org_id = $1 AND id = $2 AND version = $28",
        org.0,
        id.0,
        input.line.as_str(),
        input.channel.code(),
        input.direction.code(),
        input.started_at,
        input.duration_seconds,
        input.caller_type.code(),
        input.anonymous,
        s.phone,
        s.email,
        s.handle,
        input.language.as_str(),
        input.safe_to_call_back,
        input.confidential,
        input.heard_via.code(),
        countries_text(&input.countries),
        s.summary,
        s.notes,
        input.urgency.code(),
        input.action.as_str(),
        input.outcome.as_str(),
        input.referral.as_str(),
        input.needs_follow_up,
        version,
        by.0,
        now,
        before.facts.version
    )?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    replace_index(tx, ring, org, id, input).await?;
    add_counsellor(tx, org, id, by).await?;
    add_version(tx, org, id, version, by, now, &changed).await?;
    Ok(changed)
}

/// Voids a contact with a reason (sealed); `false` if already voided.
#[allow(clippy::too_many_arguments)]
pub async fn void(
    tx: &mut Tx,
    ring: &OrgKeyring,
    rng: &dyn SecureRng,
    org: OrgId,
    id: ContactId,
    version: i64,
    reason: &str,
    by: UserId,
    now: DateTime<Utc>,
) -> Result<bool> {
    let sealed = seal(ring, rng, T, "void_reason_enc", id.0, &reason.to_owned())?;
    let n = execute!(
        tx,
        "UPDATE contacts SET voided_at = $3, voided_by = $4, void_reason_enc = $5, version = version + 1, updated_by = $4, updated_at = $3 \
         WHERE org_id = $1 AND id = $2 AND voided_at IS NULL",
        org.0,
        id.0,
        now,
        by.0,
        sealed
    )?;
    if n > 0 {
        add_version(tx, org, id, version + 1, by, now, &["voided"]).await?;
    }
    Ok(n > 0)
}

/// Links the contact's caller to a person's record, or unlinks it (`None`); a new version that
/// changed `person`. `false` if the contact changed meanwhile (`version` is not the current one)
/// or was voided.
pub async fn set_person(
    tx: &mut Tx,
    org: OrgId,
    id: ContactId,
    version: i64,
    person: Option<Uuid>,
    by: UserId,
    now: DateTime<Utc>,
) -> Result<bool> {
    let n = execute!(
        tx,
        "UPDATE contacts SET person_id = $3, version = version + 1, updated_by = $4, updated_at = $5 \
         WHERE org_id = $1 AND id = $2 AND version = $6 AND voided_at IS NULL",
        org.0,
        id.0,
        person,
        by.0,
        now,
        version
    )?;
    if n > 0 {
        add_counsellor(tx, org, id, by).await?;
        add_version(tx, org, id, version + 1, by, now, &["person"]).await?;
    }
    Ok(n > 0)
}

/// The contacts whose caller is linked to this person, newest first (voided ones included, so
/// the record shows everything that happened; callers mark them).
pub async fn of_person(db: &Db, org: OrgId, person: Uuid, limit: i64) -> Result<Vec<ContactFacts>> {
    let sql = format!(
        "SELECT {FACT_COLUMNS} FROM contacts WHERE org_id = $1 AND person_id = $2 ORDER BY started_at DESC LIMIT $3"
    );
    let rows: Vec<FactRow> = on_db!(db, |c| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(org.0)
            .bind(person)
            .bind(limit)
            .fetch_all(c)
            .await
    })?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        out.push(facts_from(db, r).await?);
    }
    Ok(out)
}

/// Assigns a contact (a web-form submission, say) to a staff member; `false` if voided.
pub async fn assign(
    tx: &mut Tx,
    org: OrgId,
    id: ContactId,
    to: UserId,
    now: DateTime<Utc>,
) -> Result<bool> {
    let n = execute!(
        tx,
        "UPDATE contacts SET assigned_to = $3, updated_at = $4 WHERE org_id = $1 AND id = $2 AND voided_at IS NULL",
        org.0,
        id.0,
        to.0,
        now
    )?;
    Ok(n > 0)
}

/// One version of a contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    /// Its number.
    pub version: i64,
    /// Who made it.
    pub by: UserId,
    /// When.
    pub at: DateTime<Utc>,
    /// The fields it changed (`created`, `voided`, or field names).
    pub fields: Vec<String>,
}

/// A contact's versions, oldest first.
pub async fn versions(db: &Db, org: OrgId, id: ContactId) -> Result<Vec<Version>> {
    let rows: Vec<(i64, Uuid, DateTime<Utc>, String)> = on_db!(db, |c| {
        sqlx::query_as(
            "SELECT version, changed_by, changed_at, fields FROM contact_versions WHERE org_id = $1 AND contact_id = $2 ORDER BY version",
        )
        .bind(org.0)
        .bind(id.0)
        .fetch_all(c)
        .await
    })?;
    Ok(rows
        .into_iter()
        .map(|(version, by, at, fields)| Version {
            version,
            by: UserId(by),
            at,
            fields: serde_json::from_str(&fields).unwrap_or_default(),
        })
        .collect())
}

/// The contacts whose phone (E.164), e-mail or handle is `value`, newest first: the blind index
/// gives candidates, each confirmed by decrypting its own value. Voided contacts are left out.
pub async fn lookup(
    db: &Db,
    ring: &OrgKeyring,
    org: OrgId,
    kind: IndexKind,
    value: &str,
    limit: usize,
) -> Result<Vec<ContactFacts>> {
    let wanted = kind.normalise(value);
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let index = ring.blind_index(kind.spec(), &wanted);
    let column = match kind {
        IndexKind::Phone => "phone_enc",
        IndexKind::Email => "email_enc",
        IndexKind::Handle => "handle_enc",
    };
    type Candidate = (Uuid, Vec<u8>, Vec<u8>, Vec<u8>);
    let rows: Vec<Candidate> = on_db!(db, |c| {
        sqlx::query_as(
            "SELECT c.id, c.phone_enc, c.email_enc, c.handle_enc FROM contact_index i CROSS JOIN contacts c \
             WHERE c.org_id = i.org_id AND c.id = i.contact_id AND i.org_id = $1 AND i.kind = $2 AND i.value = $3 AND c.voided_at IS NULL",
        )
        .bind(org.0)
        .bind(kind.code())
        .bind(index)
        .fetch_all(c)
        .await
    })?;
    // The blind index leads (CROSS JOIN fixes SQLite's join order; PostgreSQL plans it as a
    // plain join) and there is no ORDER BY in SQL: without statistics SQLite's planner would
    // otherwise walk all contacts. The candidates are few; they are sorted once confirmed.
    let mut out = Vec::new();
    for (id, p, e, h) in rows {
        let bytes = match kind {
            IndexKind::Phone => p,
            IndexKind::Email => e,
            IndexKind::Handle => h,
        };
        let v: String = open(ring, T, column, id, bytes)?;
        if kind.normalise(&v) == wanted
            && let Some(f) = facts(db, org, ContactId(id)).await?
        {
            out.push(f);
        }
    }
    out.sort_by(|a, b| b.started_at.cmp(&a.started_at).then(b.id.cmp(&a.id)));
    out.truncate(limit);
    Ok(out)
}

// Caller flags.

/// A warning about a caller, attached to one of their contacts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag {
    /// The contact it was set on.
    pub contact_id: ContactId,
    /// What kind.
    pub kind: FlagKind,
    /// Until when it holds.
    pub until: DateTime<Utc>,
}

/// Sets a flag on a contact's caller.
#[allow(clippy::too_many_arguments)]
pub async fn add_flag(
    tx: &mut Tx,
    org: OrgId,
    id: Uuid,
    contact: ContactId,
    kind: FlagKind,
    until: DateTime<Utc>,
    by: UserId,
    now: DateTime<Utc>,
) -> Result<()> {
    execute!(
        tx,
        "INSERT INTO caller_flags (org_id, id, contact_id, kind, until, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        org.0,
        id,
        contact.0,
        kind.code(),
        until,
        by.0,
        now
    )?;
    Ok(())
}

/// The flags still holding at `now` on any of these contacts.
pub async fn flags_of(
    db: &Db,
    org: OrgId,
    contacts: &[ContactId],
    now: DateTime<Utc>,
) -> Result<Vec<Flag>> {
    let mut out = Vec::new();
    for c in contacts {
        let rows: Vec<(String, DateTime<Utc>)> = on_db!(db, |conn| {
            sqlx::query_as(
                "SELECT kind, until FROM caller_flags WHERE org_id = $1 AND contact_id = $2 AND until > $3 ORDER BY until DESC",
            )
            .bind(org.0)
            .bind(c.0)
            .bind(now)
            .fetch_all(conn)
            .await
        })?;
        for (kind, until) in rows {
            if let Some(kind) = FlagKind::from_code(&kind) {
                out.push(Flag {
                    contact_id: *c,
                    kind,
                    until,
                });
            }
        }
    }
    Ok(out)
}

// Escalation checklist.

/// One tick of an escalation step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// The step.
    pub step: String,
    /// Done (or undone).
    pub done: bool,
    /// A value noted with it (a report number).
    pub value: String,
    /// Who.
    pub by: UserId,
    /// When.
    pub at: DateTime<Utc>,
}

/// Records a tick of a step (every tick is kept; the latest per step counts).
#[allow(clippy::too_many_arguments)]
pub async fn add_check(
    tx: &mut Tx,
    ring: &OrgKeyring,
    rng: &dyn SecureRng,
    org: OrgId,
    id: Uuid,
    contact: ContactId,
    c: &Check,
) -> Result<()> {
    let value = seal(ring, rng, "contact_checks", "value_enc", id, &c.value)?;
    execute!(
        tx,
        "INSERT INTO contact_checks (org_id, id, contact_id, step, done, value_enc, checked_by, checked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        org.0,
        id,
        contact.0,
        c.step.as_str(),
        c.done,
        value,
        c.by.0,
        c.at
    )?;
    Ok(())
}

/// Every tick on a contact's checklist, oldest first.
pub async fn checks_of(
    db: &Db,
    ring: &OrgKeyring,
    org: OrgId,
    contact: ContactId,
) -> Result<Vec<Check>> {
    type Row = (Uuid, String, bool, Vec<u8>, Uuid, DateTime<Utc>);
    let rows: Vec<Row> = on_db!(db, |c| {
        sqlx::query_as(
            "SELECT id, step, done, value_enc, checked_by, checked_at FROM contact_checks WHERE org_id = $1 AND contact_id = $2 ORDER BY checked_at, id",
        )
        .bind(org.0)
        .bind(contact.0)
        .fetch_all(c)
        .await
    })?;
    rows.into_iter()
        .map(|(id, step, done, v, by, at)| {
            Ok(Check {
                step,
                done,
                value: open(ring, "contact_checks", "value_enc", id, v)?,
                by: UserId(by),
                at,
            })
        })
        .collect()
}

// Drafts.

/// Saves a draft of the intake form (every field, sealed as one value) for `user`; a draft of
/// someone else with this id is left alone (`false`).
#[allow(clippy::too_many_arguments)]
pub async fn save_draft(
    tx: &mut Tx,
    ring: &OrgKeyring,
    rng: &dyn SecureRng,
    org: OrgId,
    id: DraftId,
    user: UserId,
    fields: &[(String, String)],
    now: DateTime<Utc>,
) -> Result<bool> {
    let data = seal(
        ring,
        rng,
        "contact_drafts",
        "data_enc",
        id.0,
        &Json(fields.to_vec()),
    )?;
    let n = execute!(
        tx,
        "INSERT INTO contact_drafts (org_id, id, user_id, data_enc, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5) \
         ON CONFLICT (org_id, id) DO UPDATE SET data_enc = excluded.data_enc, updated_at = excluded.updated_at \
         WHERE contact_drafts.user_id = excluded.user_id",
        org.0,
        id.0,
        user.0,
        data,
        now
    )?;
    Ok(n > 0)
}

/// A draft of `user`.
pub async fn draft(
    db: &Db,
    ring: &OrgKeyring,
    org: OrgId,
    id: DraftId,
    user: UserId,
) -> Result<Option<Vec<(String, String)>>> {
    let row: Option<Vec<u8>> = on_db!(db, |c| {
        sqlx::query_scalar(
            "SELECT data_enc FROM contact_drafts WHERE org_id = $1 AND id = $2 AND user_id = $3",
        )
        .bind(org.0)
        .bind(id.0)
        .bind(user.0)
        .fetch_optional(c)
        .await
    })?;
    match row {
        Some(b) => {
            let Json(v): Json<Vec<(String, String)>> =
                open(ring, "contact_drafts", "data_enc", id.0, b)?;
            Ok(Some(v))
        }
        None => Ok(None),
    }
}

/// The drafts of `user`, newest first: id and when last saved.
pub async fn drafts_of(db: &Db, org: OrgId, user: UserId) -> Result<Vec<(DraftId, DateTime<Utc>)>> {
    let rows: Vec<(Uuid, DateTime<Utc>)> = on_db!(db, |c| {
        sqlx::query_as(
            "SELECT id, updated_at FROM contact_drafts WHERE org_id = $1 AND user_id = $2 ORDER BY updated_at DESC LIMIT 20",
        )
        .bind(org.0)
        .bind(user.0)
        .fetch_all(c)
        .await
    })?;
    Ok(rows.into_iter().map(|(i, t)| (DraftId(i), t)).collect())
}

// Handover notes.

/// Writes a shift handover note for a line.
#[allow(clippy::too_many_arguments)]
pub async fn add_handover(
    tx: &mut Tx,
    ring: &OrgKeyring,
    rng: &dyn SecureRng,
    org: OrgId,
    id: Uuid,
    line: &str,
    body: &str,
    by: UserId,
    now: DateTime<Utc>,
) -> Result<()> {
    let sealed = seal(
        ring,
        rng,
        "handover_notes",
        "body_enc",
        id,
        &body.to_owned(),
    )?;
    execute!(
        tx,
        "INSERT INTO handover_notes (org_id, id, line, body_enc, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        org.0,
        id,
        line,
        sealed,
        by.0,
        now
    )?;
    Ok(())
}

/// The latest handover note of a line: text, author, time.
pub async fn latest_handover(
    db: &Db,
    ring: &OrgKeyring,
    org: OrgId,
    line: &str,
) -> Result<Option<(String, UserId, DateTime<Utc>)>> {
    let row: Option<(Uuid, Vec<u8>, Uuid, DateTime<Utc>)> = on_db!(db, |c| {
        sqlx::query_as(
            "SELECT id, body_enc, created_by, created_at FROM handover_notes WHERE org_id = $1 AND line = $2 ORDER BY created_at DESC, id DESC LIMIT 1",
        )
        .bind(org.0)
        .bind(line)
        .fetch_optional(c)
        .await
    })?;
    match row {
        Some((id, b, by, at)) => Ok(Some((
            open(ring, "handover_notes", "body_enc", id, b)?,
            UserId(by),
            at,
        ))),
        None => Ok(None),
    }
}

// Follow-up tasks (in `case_tasks`, with a contact instead of a case).

/// A follow-up task of a contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactTask {
    /// Its id.
    pub id: Uuid,
    /// The contact.
    pub contact_id: ContactId,
    /// What to do.
    pub title: String,
    /// By when.
    pub due_at: Option<DateTime<Utc>>,
    /// Who.
    pub assignee: Option<UserId>,
    /// When done.
    pub done_at: Option<DateTime<Utc>>,
}

/// Adds a follow-up task to a contact.
pub async fn add_task(
    tx: &mut Tx,
    ring: &OrgKeyring,
    rng: &dyn SecureRng,
    org: OrgId,
    t: &ContactTask,
    by: UserId,
    now: DateTime<Utc>,
) -> Result<()> {
    let title = seal(ring, rng, "case_tasks", "title_enc", t.id, &t.title)?;
    execute!(
        tx,
        "INSERT INTO case_tasks (org_id, id, contact_id, title_enc, due_at, assignee, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        org.0,
        t.id,
        t.contact_id.0,
        title,
        t.due_at,
        t.assignee.map(|u| u.0),
        by.0,
        now
    )?;
    Ok(())
}

/// Marks a contact's task done.
pub async fn complete_task(
    tx: &mut Tx,
    org: OrgId,
    contact: ContactId,
    id: Uuid,
    by: UserId,
    now: DateTime<Utc>,
) -> Result<bool> {
    let n = execute!(
        tx,
        "UPDATE case_tasks SET done_at = $4, done_by = $5 WHERE org_id = $1 AND contact_id = $2 AND id = $3 AND done_at IS NULL",
        org.0,
        contact.0,
        id,
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

/// The tasks of a contact.
pub async fn tasks_of(
    db: &Db,
    ring: &OrgKeyring,
    org: OrgId,
    contact: ContactId,
) -> Result<Vec<ContactTask>> {
    let rows: Vec<TaskRow> = on_db!(db, |c| {
        sqlx::query_as(
            "SELECT id, contact_id, title_enc, due_at, assignee, done_at FROM case_tasks WHERE org_id = $1 AND contact_id = $2 \
             ORDER BY done_at IS NOT NULL, due_at IS NULL, due_at, created_at, id",
        )
        .bind(org.0)
        .bind(contact.0)
        .fetch_all(c)
        .await
    })?;
    rows.into_iter().map(|r| task_of(ring, r)).collect()
}

// Queues and search.

/// The counts of one line for the inbox.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineCounts {
    /// Contacts that need follow-up.
    pub follow_up: i64,
    /// Open tasks due within the day.
    pub tasks_due: i64,
    /// Open tasks past their due time.
    pub tasks_overdue: i64,
    /// Web-form submissions nobody has taken.
    pub unassigned_web: i64,
}

/// A task row opened: its title decrypted.
fn task_of(ring: &OrgKeyring, r: TaskRow) -> Result<ContactTask> {
    let (id, contact, title, due_at, assignee, done_at) = r;
    Ok(ContactTask {
        id,
        contact_id: ContactId(contact),
        title: open(ring, "case_tasks", "title_enc", id, title)?,
        due_at,
        assignee: assignee.map(UserId),
        done_at,
    })
}

/// The open tasks of a line's contacts that are due before `until` (overdue ones first), with
/// the contact each belongs to; voided contacts left out. The caller filters by visibility.
pub async fn open_tasks_of_line(
    db: &Db,
    ring: &OrgKeyring,
    org: OrgId,
    line: &str,
    until: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<ContactTask>> {
    let rows: Vec<TaskRow> = on_db!(db, |c| {
        sqlx::query_as(
            "SELECT t.id, t.contact_id, t.title_enc, t.due_at, t.assignee, t.done_at \
             FROM case_tasks t JOIN contacts c ON c.org_id = t.org_id AND c.id = t.contact_id \
             WHERE t.org_id = $1 AND c.line = $2 AND t.done_at IS NULL AND c.voided_at IS NULL AND t.due_at <= $3 \
             ORDER BY t.due_at, t.id LIMIT $4",
        )
        .bind(org.0)
        .bind(line)
        .bind(until)
        .bind(limit)
        .fetch_all(c)
        .await
    })?;
    rows.into_iter().map(|r| task_of(ring, r)).collect()
}

/// The inbox counts of a line at `now` (`soon`: the end of "due").
pub async fn line_counts(
    db: &Db,
    org: OrgId,
    line: &str,
    now: DateTime<Utc>,
    soon: DateTime<Utc>,
) -> Result<LineCounts> {
    let (follow_up, unassigned_web): (i64, i64) = on_db!(db, |c| {
        sqlx::query_as(
            "SELECT count(*) FILTER (WHERE needs_follow_up), count(*) FILTER (WHERE channel = 'web_form' AND assigned_to IS NULL AND needs_follow_up) \
             FROM contacts WHERE org_id = $1 AND line = $2 AND voided_at IS NULL",
        )
        .bind(org.0)
        .bind(line)
        .fetch_one(c)
        .await
    })?;
    let (due, overdue): (i64, i64) = on_db!(db, |c| {
        sqlx::query_as(
            "SELECT count(*) FILTER (WHERE t.due_at >= $3 AND t.due_at <= $4), count(*) FILTER (WHERE t.due_at < $3) \
             FROM case_tasks t JOIN contacts c ON c.org_id = t.org_id AND c.id = t.contact_id \
             WHERE t.org_id = $1 AND c.line = $2 AND t.done_at IS NULL AND c.voided_at IS NULL",
        )
        .bind(org.0)
        .bind(line)
        .bind(now)
        .bind(soon)
        .fetch_one(c)
        .await
    })?;
    Ok(LineCounts {
        follow_up,
        tasks_due: due,
        tasks_overdue: overdue,
        unassigned_web,
    })
}

/// Filters of a search; empty ones do not filter.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Started at or after.
    pub from: Option<DateTime<Utc>>,
    /// Started before.
    pub to: Option<DateTime<Utc>>,
    /// Line.
    pub line: Option<String>,
    /// Channel.
    pub channel: Option<Channel>,
    /// Category (a full code, or a group code for the whole group).
    pub category: Option<String>,
    /// A counsellor.
    pub counsellor: Option<UserId>,
    /// Urgency.
    pub urgency: Option<ContactUrgency>,
    /// A country involved.
    pub country: Option<String>,
    /// Linked to this case.
    pub case_id: Option<Uuid>,
    /// Only these contacts (from a blind-index lookup).
    pub ids: Option<Vec<ContactId>>,
    /// Only those needing follow-up.
    pub follow_up: bool,
    /// Voided ones too.
    pub include_voided: bool,
}

/// Contacts matching `f`, newest first, `limit` from `offset` (the caller filters by the access
/// policy and asks for one more than it shows to know whether there is a next page).
pub async fn search(
    db: &Db,
    org: OrgId,
    f: &Filter,
    limit: i64,
    offset: i64,
) -> Result<Vec<ContactFacts>> {
    if let Some(ids) = &f.ids
        && ids.is_empty()
    {
        return Ok(Vec::new());
    }
    let mut sql = format!("SELECT {FACT_COLUMNS} FROM contacts c WHERE org_id = $1");
    // Every optional filter is a fixed clause with its own parameter; values are always bound.
    sql.push_str(" AND ($2 IS NULL OR started_at >= $2) AND ($3 IS NULL OR started_at < $3)");
    sql.push_str(" AND ($4 IS NULL OR line = $4) AND ($5 IS NULL OR channel = $5) AND ($6 IS NULL OR urgency = $6)");
    sql.push_str(" AND ($7 IS NULL OR EXISTS (SELECT 1 FROM contact_categories k WHERE k.org_id = c.org_id AND k.contact_id = c.id AND (k.code = $7 OR k.code LIKE $7 || '.%')))");
    sql.push_str(" AND ($8 IS NULL OR EXISTS (SELECT 1 FROM contact_counsellors u WHERE u.org_id = c.org_id AND u.contact_id = c.id AND u.user_id = $8))");
    sql.push_str(" AND ($9 IS NULL OR (',' || countries || ',') LIKE ('%,' || $9 || ',%'))");
    sql.push_str(" AND ($10 IS NULL OR EXISTS (SELECT 1 FROM case_contacts l WHERE l.org_id = c.org_id AND l.contact_id = c.id AND l.case_id = $10))");
    if !f.include_voided {
        sql.push_str(" AND voided_at IS NULL");
    }
    if f.follow_up {
        sql.push_str(" AND needs_follow_up");
    }
    if f.ids.is_some() {
        sql.push_str(" AND id = ANY_IDS");
    }
    sql.push_str(" ORDER BY started_at DESC, id DESC LIMIT $11 OFFSET $12");
    let ids: Vec<Uuid> = f
        .ids
        .as_ref()
        .map(|v| v.iter().map(|i| i.0).collect())
        .unwrap_or_default();
    let rows: Vec<FactRow> = match db {
        Db::Sqlite { read, .. } => {
            let sql = sql.replace(
                "id = ANY_IDS",
                &format!(
                    "id IN ({})",
                    (0..ids.len())
                        .map(|i| format!("${}", 13 + i))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
            let mut q = sqlx::query_as::<_, FactRow>(sqlx::AssertSqlSafe(sql));
            q = bind_filters_sqlite(q, org, f, limit, offset);
            for i in &ids {
                q = q.bind(*i);
            }
            q.fetch_all(read).await?
        }
        Db::Postgres { pool, .. } => {
            let sql = sql
                .replace("id = ANY_IDS", "id = ANY($13)")
                .replace("$2 IS NULL", "$2::timestamptz IS NULL")
                .replace("$3 IS NULL", "$3::timestamptz IS NULL")
                .replace("$4 IS NULL", "$4::text IS NULL")
                .replace("$5 IS NULL", "$5::text IS NULL")
                .replace("$6 IS NULL", "$6::text IS NULL")
                .replace("$7 IS NULL", "$7::text IS NULL")
                .replace("$8 IS NULL", "$8::uuid IS NULL")
                .replace("$9 IS NULL", "$9::text IS NULL")
                .replace("$10 IS NULL", "$10::uuid IS NULL");
            let mut q = sqlx::query_as::<_, FactRow>(sqlx::AssertSqlSafe(sql))
                .bind(org.0)
                .bind(f.from)
                .bind(f.to)
                .bind(f.line.clone())
                .bind(f.channel.map(|c| c.code()))
                .bind(f.urgency.map(|c| c.code()))
                .bind(f.category.clone())
                .bind(f.counsellor.map(|u| u.0))
                .bind(f.country.clone())
                .bind(f.case_id)
                .bind(limit)
                .bind(offset);
            if f.ids.is_some() {
                q = q.bind(ids.clone());
            }
            q.fetch_all(pool).await?
        }
    };
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        out.push(facts_from(db, r).await?);
    }
    Ok(out)
}

type SqliteQ<'q> = sqlx::query::QueryAs<'q, sqlx::Sqlite, FactRow, sqlx::sqlite::SqliteArguments>;

fn bind_filters_sqlite<'q>(
    q: SqliteQ<'q>,
    org: OrgId,
    f: &Filter,
    limit: i64,
    offset: i64,
) -> SqliteQ<'q> {
    q.bind(org.0)
        .bind(f.from)
        .bind(f.to)
        .bind(f.line.clone())
        .bind(f.channel.map(|c| c.code()))
        .bind(f.urgency.map(|c| c.code()))
        .bind(f.category.clone())
        .bind(f.counsellor.map(|u| u.0))
        .bind(f.country.clone())
        .bind(f.case_id)
        .bind(limit)
        .bind(offset)
}

/// How many contacts an organisation has (for the demo and the benchmark).
pub async fn count(db: &Db, org: OrgId) -> Result<i64> {
    Ok(on_db!(db, |c| {
        sqlx::query_scalar("SELECT count(*) FROM contacts WHERE org_id = $1")
            .bind(org.0)
            .fetch_one(c)
            .await
    })?)
}
