//! Agencies and job-offer reports: recruiters and job advertisers, their aliases and channels,
//! the name tokens that find a name among many agencies, reports from the desk and the portal,
//! what was done about an agency, and the warnings the organisation publishes.
//!
//! Names, aliases, registration and tax numbers are plain (organisations that advertise in
//! public; the portal's check and fuzzy matching read them). A channel is sealed, because it is
//! often a private person's mobile number or profile, and found through a blind index of its
//! canonical value ([`CHANNEL_INDEX`]): matching a channel is an exact lookup whose candidates are
//! decrypted and confirmed. Staff notes, everything in a report and the notes of an action are
//! sealed too.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use haven_crypto::blind::BlindIndex;
use haven_crypto::keys::OrgKeyring;
use haven_domain::agencies::{
    Certainty, Channel, ChannelKind, LicenceStatus, MatchReason, compare_names, name_key,
    name_tokens,
};
use haven_domain::desk::ContactId;
use haven_domain::{OrgId, SecureRng, UserId};
use uuid::Uuid;

use crate::encrypted::EncryptedTable;
use crate::sealing::{Json, open, seal};
use crate::{Db, Result, StoreError, Tx, execute, on_db, on_tx};

/// The encrypted columns of the agency tables, for key checks and rotation.
pub const ENCRYPTED: &[EncryptedTable] = &[
    EncryptedTable {
        table: "agencies",
        columns: &["notes_enc"],
    },
    EncryptedTable {
        table: "agency_channels",
        columns: &["value_enc"],
    },
    EncryptedTable {
        table: "job_offer_reports",
        columns: &["ad_text_enc", "ad_url_enc", "channels_enc"],
    },
    EncryptedTable {
        table: "job_offer_screenshots",
        columns: &["content_enc"],
    },
    EncryptedTable {
        table: "agency_actions",
        columns: &["note_enc"],
    },
];

/// The blind index of a channel's canonical value (with its kind). Sixteen bits, like the
/// desk's indexes: at 10⁵ agencies with a few channels each a lookup decrypts a handful of
/// coincidences, and a stolen database cannot tell which agencies share a channel.
pub const CHANNEL_INDEX: BlindIndex = BlindIndex::new("agency_channel", 16);

/// The most candidates one name token contributes to a match (a common word must not make a
/// match read every agency).
const TOKEN_CANDIDATES: i64 = 500;
/// The most candidate agencies whose names are compared one by one.
const NAME_CANDIDATES: usize = 60;

fn channel_index(ring: &OrgKeyring, c: &Channel) -> Vec<u8> {
    ring.blind_index(CHANNEL_INDEX, &format!("{}:{}", c.kind.code(), c.value))
}

/// The stable code of a licence status.
pub fn licence_code(s: LicenceStatus) -> &'static str {
    s.code()
}

/// The licence status with this code.
pub fn licence_from_code(code: &str) -> Option<LicenceStatus> {
    [
        LicenceStatus::Unknown,
        LicenceStatus::Licensed,
        LicenceStatus::NotFound,
        LicenceStatus::Revoked,
    ]
    .into_iter()
    .find(|s| s.code() == code)
}

fn list_text(v: &[String]) -> String {
    v.iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(",")
}

fn text_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

// Agencies.

/// What staff write about an agency.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgencyInput {
    /// Its name as it presents itself (any script).
    pub name: String,
    /// Its company registration number.
    pub registration_number: Option<String>,
    /// Its tax number.
    pub tax_number: Option<String>,
    /// Its addresses, one a line.
    pub addresses: String,
    /// The countries it recruits for (ISO 3166 alpha-2).
    pub countries: Vec<String>,
    /// The sectors it recruits for.
    pub sectors: Vec<String>,
    /// Staff notes (sealed).
    pub notes: String,
}

/// An agency as lists show it: nothing sealed.
#[derive(Debug, Clone, PartialEq)]
pub struct AgencyRow {
    /// Its id.
    pub id: Uuid,
    /// Its name.
    pub name: String,
    /// Its registration number.
    pub registration_number: Option<String>,
    /// Its tax number.
    pub tax_number: Option<String>,
    /// The register's verdict.
    pub licence_status: LicenceStatus,
    /// The date of that verdict.
    pub licence_as_of: Option<NaiveDate>,
    /// Whether the organisation publishes a warning about it.
    pub warning_published: bool,
    /// The public reason of that warning.
    pub warning_reason: Option<String>,
    /// When the warning is to be reviewed.
    pub warning_review_on: Option<NaiveDate>,
    /// How many job-offer reports name it.
    pub report_count: i64,
    /// When the latest report was recorded.
    pub last_report_at: Option<DateTime<Utc>>,
}

/// An agency with its sealed notes opened.
#[derive(Debug, Clone, PartialEq)]
pub struct Agency {
    /// The plain facts.
    pub row: AgencyRow,
    /// What staff wrote.
    pub input: AgencyInput,
    /// Who recorded it.
    pub created_by: Option<UserId>,
    /// When.
    pub created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct RowDb {
    id: Uuid,
    name: String,
    registration_number: Option<String>,
    tax_number: Option<String>,
    licence_status: String,
    licence_as_of: Option<NaiveDate>,
    warning_published: bool,
    warning_reason: Option<String>,
    warning_review_on: Option<NaiveDate>,
    report_count: i64,
    last_report_at: Option<DateTime<Utc>>,
}

impl RowDb {
    fn into_row(self) -> Result<AgencyRow> {
        Ok(AgencyRow {
            licence_status: licence_from_code(&self.licence_status).ok_or_else(|| {
                StoreError::corrupt("agencies", "licence_status", &self.licence_status)
            })?,
            id: self.id,
            name: self.name,
            registration_number: self.registration_number,
            tax_number: self.tax_number,
            licence_as_of: self.licence_as_of,
            warning_published: self.warning_published,
            warning_reason: self.warning_reason,
            warning_review_on: self.warning_review_on,
            report_count: self.report_count,
            last_report_at: self.last_report_at,
        })
    }
}

const ROW_COLUMNS: &str = "SELECT id, name, registration_number, tax_number, licence_status, licence_as_of, warning_published, warning_reason, warning_review_on, report_count, last_report_at FROM agencies";

fn clean(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// Records an agency (its name tokens too).
#[allow(clippy::too_many_arguments)]
pub async fn insert(
    tx: &mut Tx,
    ring: &OrgKeyring,
    rng: &dyn SecureRng,
    org: OrgId,
    id: Uuid,
    a: &AgencyInput,
    by: Option<UserId>,
    now: DateTime<Utc>,
) -> Result<()> {
    let notes = seal(ring, rng, "agencies", "notes_enc", id, &a.notes)?;
    execute!(
        tx,
        "INSERT INTO agencies (org_id, id, name, name_key, registration_number, tax_number, addresses, countries, sectors, notes_enc, created_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)",
        org.0,
        id,
        a.name.trim(),
        name_key(&a.name),
        clean(&a.registration_number),
        clean(&a.tax_number),
        a.addresses.trim(),
        list_text(&a.countries),
        list_text(&a.sectors),
        notes,
        by.map(|u| u.0),
        now
    )?;
    write_tokens(tx, org, id).await
}

/// Changes what staff wrote about an agency; `false` if there is no such agency.
pub async fn update(
    tx: &mut Tx,
    ring: &OrgKeyring,
    rng: &dyn SecureRng,
    org: OrgId,
    id: Uuid,
    a: &AgencyInput,
    now: DateTime<Utc>,
) -> Result<bool> {
    let notes = seal(ring, rng, "agencies", "notes_enc", id, &a.notes)?;
    let n = execute!(
        tx,
        "UPDATE agencies SET name = $3, name_key = $4, registration_number = $5, tax_number = $6, addresses = $7, \
         countries = $8, sectors = $9, notes_enc = $10, updated_at = $11 WHERE org_id = $1 AND id = $2",
        org.0,
        id,
        a.name.trim(),
        name_key(&a.name),
        clean(&a.registration_number),
        clean(&a.tax_number),
        a.addresses.trim(),
        list_text(&a.countries),
        list_text(&a.sectors),
        notes,
        now
    )?;
    if n == 1 {
        write_tokens(tx, org, id).await?;
    }
    Ok(n == 1)
}

/// Rewrites the name tokens of an agency from its name and aliases.
async fn write_tokens(tx: &mut Tx, org: OrgId, id: Uuid) -> Result<()> {
    let names: Vec<(String,)> = on_tx!(tx, |c| sqlx::query_as(
        "SELECT name FROM agencies WHERE org_id = $1 AND id = $2 \
         UNION ALL SELECT alias FROM agency_aliases WHERE org_id = $1 AND agency_id = $2"
    )
    .bind(org.0)
    .bind(id)
    .fetch_all(&mut *c)
    .await)?;
    execute!(
        tx,
        "DELETE FROM agency_name_tokens WHERE org_id = $1 AND agency_id = $2",
        org.0,
        id
    )?;
    let mut rows = BTreeSet::new();
    for (name,) in names {
        let key = name_key(&name);
        for token in name_tokens(&name) {
            rows.insert((token, key.clone()));
        }
    }
    for (token, key) in rows {
        execute!(
            tx,
            "INSERT INTO agency_name_tokens (org_id, token, agency_id, name_key) VALUES ($1, $2, $3, $4)",
            org.0,
            token,
            id,
            key
        )?;
    }
    Ok(())
}

/// One agency with its notes opened.
pub async fn get(db: &Db, ring: &OrgKeyring, org: OrgId, id: Uuid) -> Result<Option<Agency>> {
    type Extra = (String, String, String, Vec<u8>, Option<Uuid>, DateTime<Utc>);
    let Some(row) = row(db, org, id).await? else {
        return Ok(None);
    };
    let extra: Option<Extra> = on_db!(db, |c| {
        sqlx::query_as(
        "SELECT addresses, countries, sectors, notes_enc, created_by, created_at FROM agencies WHERE org_id = $1 AND id = $2"
    )
    .bind(org.0)
    .bind(id)
    .fetch_optional(c)
    .await
    })?;
    let Some((addresses, countries, sectors, notes, created_by, created_at)) = extra else {
        return Ok(None);
    };
    let notes: String = open(ring, "agencies", "notes_enc", id, notes)?;
    Ok(Some(Agency {
        input: AgencyInput {
            name: row.name.clone(),
            registration_number: row.registration_number.clone(),
            tax_number: row.tax_number.clone(),
            addresses,
            countries: text_list(&countries),
            sectors: text_list(&sectors),
            notes,
        },
        row,
        created_by: created_by.map(UserId),
        created_at,
    }))
}

/// The plain facts of one agency (nothing decrypted).
pub async fn row(db: &Db, org: OrgId, id: Uuid) -> Result<Option<AgencyRow>> {
    let sql = format!("{ROW_COLUMNS} WHERE org_id = $1 AND id = $2");
    let r: Option<RowDb> = on_db!(db, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(org.0)
        .bind(id)
        .fetch_optional(c)
        .await)?;
    r.map(RowDb::into_row).transpose()
}

/// Agencies, the most recently reported first (never reported last, by name), `limit` from
/// `offset`.
pub async fn list(db: &Db, org: OrgId, limit: i64, offset: i64) -> Result<Vec<AgencyRow>> {
    let sql = format!(
        "{ROW_COLUMNS} WHERE org_id = $1 ORDER BY (last_report_at IS NULL), last_report_at DESC, name, id LIMIT $2 OFFSET $3"
    );
    let rows: Vec<RowDb> = on_db!(db, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(org.0)
        .bind(limit)
        .bind(offset)
        .fetch_all(c)
        .await)?;
    rows.into_iter().map(RowDb::into_row).collect()
}

/// The agencies with these ids, in the order given (missing ones left out).
pub async fn rows(db: &Db, org: OrgId, ids: &[Uuid]) -> Result<Vec<AgencyRow>> {
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(r) = row(db, org, *id).await? {
            out.push(r);
        }
    }
    Ok(out)
}

/// How many agencies the organisation knows.
pub async fn count(db: &Db, org: OrgId) -> Result<i64> {
    Ok(on_db!(db, |c| sqlx::query_scalar(
        "SELECT count(*) FROM agencies WHERE org_id = $1"
    )
    .bind(org.0)
    .fetch_one(c)
    .await)?)
}

/// Sets the register's verdict about an agency as of a date.
pub async fn set_licence(
    tx: &mut Tx,
    org: OrgId,
    id: Uuid,
    status: LicenceStatus,
    as_of: Option<NaiveDate>,
    now: DateTime<Utc>,
) -> Result<bool> {
    let n = execute!(
        tx,
        "UPDATE agencies SET licence_status = $3, licence_as_of = $4, updated_at = $5 WHERE org_id = $1 AND id = $2",
        org.0,
        id,
        status.code(),
        as_of,
        now
    )?;
    Ok(n == 1)
}

// Aliases.

/// Another name of an agency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alias {
    /// Its id.
    pub id: Uuid,
    /// The name.
    pub alias: String,
}

/// Adds another name to an agency.
pub async fn add_alias(
    tx: &mut Tx,
    org: OrgId,
    id: Uuid,
    agency: Uuid,
    alias: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    execute!(
        tx,
        "INSERT INTO agency_aliases (org_id, id, agency_id, alias, name_key, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        org.0,
        id,
        agency,
        alias.trim(),
        name_key(alias),
        now
    )?;
    write_tokens(tx, org, agency).await
}

/// Removes another name of an agency; `false` if it had no such alias.
pub async fn remove_alias(tx: &mut Tx, org: OrgId, agency: Uuid, id: Uuid) -> Result<bool> {
    let n = execute!(
        tx,
        "DELETE FROM agency_aliases WHERE org_id = $1 AND agency_id = $2 AND id = $3",
        org.0,
        agency,
        id
    )?;
    write_tokens(tx, org, agency).await?;
    Ok(n == 1)
}

/// The other names of an agency.
pub async fn aliases(db: &Db, org: OrgId, agency: Uuid) -> Result<Vec<Alias>> {
    let rows: Vec<(Uuid, String)> = on_db!(db, |c| {
        sqlx::query_as(
        "SELECT id, alias FROM agency_aliases WHERE org_id = $1 AND agency_id = $2 ORDER BY created_at, id"
    )
    .bind(org.0)
    .bind(agency)
    .fetch_all(c)
    .await
    })?;
    Ok(rows
        .into_iter()
        .map(|(id, alias)| Alias { id, alias })
        .collect())
}

// Channels.

/// A channel of an agency, opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredChannel {
    /// Its id.
    pub id: Uuid,
    /// The agency.
    pub agency_id: Uuid,
    /// The channel (canonical value).
    pub channel: Channel,
}

/// The agencies holding this channel: candidates of the blind index, each confirmed by
/// decrypting its value.
pub async fn channel_holders(
    db: &Db,
    ring: &OrgKeyring,
    org: OrgId,
    ch: &Channel,
) -> Result<Vec<Uuid>> {
    let rows: Vec<(Uuid, Uuid, Vec<u8>)> = on_db!(db, |c| {
        sqlx::query_as(
        "SELECT id, agency_id, value_enc FROM agency_channels WHERE org_id = $1 AND value_index = $2 AND kind = $3"
    )
    .bind(org.0)
    .bind(channel_index(ring, ch))
    .bind(ch.kind.code())
    .fetch_all(c)
    .await
    })?;
    confirm(ring, ch, rows)
}

fn confirm(ring: &OrgKeyring, ch: &Channel, rows: Vec<(Uuid, Uuid, Vec<u8>)>) -> Result<Vec<Uuid>> {
    let mut out = Vec::new();
    for (id, agency, bytes) in rows {
        let v: String = open(ring, "agency_channels", "value_enc", id, bytes)?;
        if v == ch.value && !out.contains(&agency) {
            out.push(agency);
        }
    }
    Ok(out)
}

/// Adds a channel to an agency. A channel already held by an agency (this one or another) is
/// not added: `Ok(Err(holder))`.
#[allow(clippy::too_many_arguments)]
pub async fn add_channel(
    tx: &mut Tx,
    ring: &OrgKeyring,
    rng: &dyn SecureRng,
    org: OrgId,
    id: Uuid,
    agency: Uuid,
    ch: &Channel,
    by: Option<UserId>,
    now: DateTime<Utc>,
) -> Result<std::result::Result<(), Uuid>> {
    let index = channel_index(ring, ch);
    let rows: Vec<(Uuid, Uuid, Vec<u8>)> = on_tx!(tx, |c| {
        sqlx::query_as(
        "SELECT id, agency_id, value_enc FROM agency_channels WHERE org_id = $1 AND value_index = $2 AND kind = $3"
    )
    .bind(org.0)
    .bind(&index)
    .bind(ch.kind.code())
    .fetch_all(&mut *c)
    .await
    })?;
    if let Some(holder) = confirm(ring, ch, rows)?.first() {
        return Ok(Err(*holder));
    }
    let value = seal(ring, rng, "agency_channels", "value_enc", id, &ch.value)?;
    execute!(
        tx,
        "INSERT INTO agency_channels (org_id, id, agency_id, kind, value_enc, value_index, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        org.0,
        id,
        agency,
        ch.kind.code(),
        value,
        index,
        by.map(|u| u.0),
        now
    )?;
    Ok(Ok(()))
}

/// Removes a channel of an agency; `false` if it had no such channel.
pub async fn remove_channel(tx: &mut Tx, org: OrgId, agency: Uuid, id: Uuid) -> Result<bool> {
    let n = execute!(
        tx,
        "DELETE FROM agency_channels WHERE org_id = $1 AND agency_id = $2 AND id = $3",
        org.0,
        agency,
        id
    )?;
    Ok(n == 1)
}

/// The channels of an agency, opened, by kind.
pub async fn channels(
    db: &Db,
    ring: &OrgKeyring,
    org: OrgId,
    agency: Uuid,
) -> Result<Vec<StoredChannel>> {
    let rows: Vec<(Uuid, String, Vec<u8>)> = on_db!(db, |c| {
        sqlx::query_as(
        "SELECT id, kind, value_enc FROM agency_channels WHERE org_id = $1 AND agency_id = $2 ORDER BY created_at, id"
    )
    .bind(org.0)
    .bind(agency)
    .fetch_all(c)
    .await
    })?;
    let mut out = Vec::with_capacity(rows.len());
    for (id, kind, bytes) in rows {
        let kind = ChannelKind::from_code(&kind)
            .ok_or_else(|| StoreError::corrupt("agency_channels", "kind", &kind))?;
        let value: String = open(ring, "agency_channels", "value_enc", id, bytes)?;
        out.push(StoredChannel {
            id,
            agency_id: agency,
            channel: Channel { kind, value },
        });
    }
    out.sort_by_key(|c| ChannelKind::ALL.iter().position(|k| *k == c.channel.kind));
    Ok(out)
}

// Matching.

/// What is known of an advertiser: a name, channels, numbers.
#[derive(Debug, Clone, Default)]
pub struct MatchQuery {
    /// The name it used (may be empty).
    pub name: String,
    /// Its channels, canonical.
    pub channels: Vec<Channel>,
    /// A registration number.
    pub registration_number: Option<String>,
    /// A tax number.
    pub tax_number: Option<String>,
}

/// An agency that may be the one asked about, with how sure and why.
#[derive(Debug, Clone)]
pub struct AgencyMatch {
    /// The agency.
    pub agency: AgencyRow,
    /// How sure.
    pub certainty: Certainty,
    /// The name score (0 when only a channel or number matched).
    pub score: f32,
    /// Why.
    pub reasons: Vec<MatchReason>,
}

/// The rank of a certainty, higher is surer.
pub fn certainty_rank(c: Certainty) -> u8 {
    match c {
        Certainty::Certain => 3,
        Certainty::Probable => 2,
        Certainty::Possible => 1,
        Certainty::None => 0,
    }
}

#[derive(Default)]
struct Found {
    certainty: u8,
    score: f32,
    reasons: Vec<MatchReason>,
}

impl Found {
    fn add(&mut self, c: Certainty, reason: MatchReason) {
        self.certainty = self.certainty.max(certainty_rank(c));
        if !self.reasons.iter().any(|r| r.code() == reason.code()) {
            self.reasons.push(reason);
        }
    }
}

fn certainty_of(rank: u8) -> Certainty {
    match rank {
        3 => Certainty::Certain,
        2 => Certainty::Probable,
        1 => Certainty::Possible,
        _ => Certainty::None,
    }
}

/// The agencies that may be the one described, surest first, at most `limit`: a channel held
/// (blind index, confirmed) or a registration or tax number is certain; a name is scored by
/// [`compare_names`] against the names and aliases of the agencies that share a name token.
pub async fn find_matches(
    db: &Db,
    ring: &OrgKeyring,
    org: OrgId,
    q: &MatchQuery,
    limit: usize,
) -> Result<Vec<AgencyMatch>> {
    let mut found: HashMap<Uuid, Found> = HashMap::new();
    for ch in &q.channels {
        for agency in channel_holders(db, ring, org, ch).await? {
            found
                .entry(agency)
                .or_default()
                .add(Certainty::Certain, MatchReason::SameChannel(ch.kind));
        }
    }
    for (column, value, reason) in [
        (
            "registration_number",
            clean(&q.registration_number),
            (|| MatchReason::SameRegistrationNumber) as fn() -> MatchReason,
        ),
        ("tax_number", clean(&q.tax_number), || {
            MatchReason::SameTaxNumber
        }),
    ] {
        let Some(value) = value else { continue };
        let sql = format!("SELECT id FROM agencies WHERE org_id = $1 AND {column} = $2");
        let ids: Vec<Uuid> = on_db!(db, |c| sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(org.0)
            .bind(&value)
            .fetch_all(c)
            .await)?;
        for id in ids {
            found
                .entry(id)
                .or_default()
                .add(Certainty::Certain, reason());
        }
    }
    if !q.name.trim().is_empty() {
        let mut candidates = name_candidates(db, org, &q.name).await?;
        // The agencies already found by a channel or a number are compared by name too, so a
        // channel and a name together outrank a name alone.
        for id in found.keys() {
            if !candidates.iter().any(|(c, _)| c == id) {
                candidates.push((*id, names_of(db, org, *id).await?));
            }
        }
        for (agency, names) in candidates {
            let mut best: Option<haven_domain::agencies::NameMatch> = None;
            for n in names {
                let m = compare_names(&q.name, &n);
                if best.as_ref().is_none_or(|b| m.score > b.score) {
                    best = Some(m);
                }
            }
            let Some(m) = best else { continue };
            if certainty_rank(m.certainty) == 0 {
                continue;
            }
            let f = found.entry(agency).or_default();
            f.score = f.score.max(m.score);
            for r in m.reasons {
                f.add(m.certainty, r);
            }
        }
    }
    let mut out = Vec::with_capacity(found.len());
    for (id, f) in found {
        if f.certainty == 0 {
            continue;
        }
        if let Some(agency) = row(db, org, id).await? {
            out.push(AgencyMatch {
                agency,
                certainty: certainty_of(f.certainty),
                score: f.score,
                reasons: f.reasons,
            });
        }
    }
    out.sort_by(|a, b| {
        // Surest first; among equally sure, the one with more independent reasons (a channel
        // and a name beat a name alone), then the better name.
        certainty_rank(b.certainty)
            .cmp(&certainty_rank(a.certainty))
            .then(b.reasons.len().cmp(&a.reasons.len()))
            .then(b.score.total_cmp(&a.score))
            .then(a.agency.name.cmp(&b.agency.name))
    });
    out.truncate(limit);
    Ok(out)
}

/// The agencies sharing a name token with `name`, those sharing most first, with their names
/// and aliases.
async fn name_candidates(db: &Db, org: OrgId, name: &str) -> Result<Vec<(Uuid, Vec<String>)>> {
    let mut shared: BTreeMap<Uuid, usize> = BTreeMap::new();
    let mut tokens = name_tokens(name);
    let key = name_key(name);
    if tokens.is_empty() && !key.is_empty() {
        tokens.push(key);
    }
    for token in tokens {
        let ids: Vec<Uuid> = on_db!(db, |c| {
            sqlx::query_scalar(
            "SELECT DISTINCT agency_id FROM agency_name_tokens WHERE org_id = $1 AND token = $2 LIMIT $3"
        )
        .bind(org.0)
        .bind(&token)
        .bind(TOKEN_CANDIDATES)
        .fetch_all(c)
        .await
        })?;
        for id in ids {
            *shared.entry(id).or_default() += 1;
        }
    }
    let mut ranked: Vec<(Uuid, usize)> = shared.into_iter().collect();
    ranked.sort_by_key(|r| std::cmp::Reverse(r.1));
    ranked.truncate(NAME_CANDIDATES);
    let mut out = Vec::with_capacity(ranked.len());
    for (id, _) in ranked {
        out.push((id, names_of(db, org, id).await?));
    }
    Ok(out)
}

/// The name and aliases of an agency.
async fn names_of(db: &Db, org: OrgId, id: Uuid) -> Result<Vec<String>> {
    Ok(on_db!(db, |c| sqlx::query_scalar(
        "SELECT name FROM agencies WHERE org_id = $1 AND id = $2 \
         UNION ALL SELECT alias FROM agency_aliases WHERE org_id = $1 AND agency_id = $2"
    )
    .bind(org.0)
    .bind(id)
    .fetch_all(c)
    .await)?)
}

// Job-offer reports.

/// Where a report came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportSource {
    /// A call, message or visit at the hotline.
    Hotline,
    /// A portal submission.
    Portal,
}

impl ReportSource {
    /// The stable code.
    pub fn code(self) -> &'static str {
        match self {
            ReportSource::Hotline => "hotline",
            ReportSource::Portal => "portal",
        }
    }

    fn from_code(s: &str) -> Option<Self> {
        match s {
            "hotline" => Some(ReportSource::Hotline),
            "portal" => Some(ReportSource::Portal),
            _ => None,
        }
    }
}

/// A job-offer report to record.
#[derive(Debug, Clone)]
pub struct NewReport {
    /// Its id.
    pub id: Uuid,
    /// The agency it is about, when known.
    pub agency_id: Option<Uuid>,
    /// The contact it came from.
    pub contact_id: Option<ContactId>,
    /// Where it came from.
    pub source: ReportSource,
    /// The day it was reported.
    pub reported_on: NaiveDate,
    /// The ad's text (sealed).
    pub ad_text: String,
    /// The ad's address (sealed).
    pub ad_url: String,
    /// The channels the ad named, canonical (sealed).
    pub channels: Vec<Channel>,
    /// The name the advertiser used.
    pub agency_name: String,
    /// The destination country.
    pub destination_country: Option<String>,
    /// The job offered.
    pub job_type: Option<String>,
    /// The wage promised, in minor units of `currency` a month.
    pub wage_minor: Option<i64>,
    /// The fees asked of the worker, in minor units of `currency`.
    pub fee_minor: Option<i64>,
    /// The currency of both.
    pub currency: String,
    /// The red flags ticked (codes).
    pub red_flags: Vec<String>,
    /// Who recorded it.
    pub by: UserId,
    /// Now.
    pub now: DateTime<Utc>,
}

/// A report read back.
#[derive(Debug, Clone)]
pub struct Report {
    /// What was recorded.
    pub report: NewReport,
    /// Whether it has a screenshot.
    pub screenshot: Option<Uuid>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct SealedChannel {
    kind: String,
    value: String,
}

/// Records a report, counts it on its agency and links the contact to the agency.
pub async fn insert_report(
    tx: &mut Tx,
    ring: &OrgKeyring,
    rng: &dyn SecureRng,
    org: OrgId,
    r: &NewReport,
) -> Result<()> {
    const T: &str = "job_offer_reports";
    let channels: Vec<SealedChannel> = r
        .channels
        .iter()
        .map(|c| SealedChannel {
            kind: c.kind.code().to_owned(),
            value: c.value.clone(),
        })
        .collect();
    let ad_text = seal(ring, rng, T, "ad_text_enc", r.id, &r.ad_text)?;
    let ad_url = seal(ring, rng, T, "ad_url_enc", r.id, &r.ad_url)?;
    let channels = seal(ring, rng, T, "channels_enc", r.id, &Json(channels))?;
    execute!(
        tx,
        "INSERT INTO job_offer_reports (org_id, id, agency_id, contact_id, source, reported_on, ad_text_enc, ad_url_enc, channels_enc, \
         agency_name, destination_country, job_type, wage_minor, fee_minor, currency, red_flags, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
        org.0,
        r.id,
        r.agency_id,
        r.contact_id.map(|c| c.0),
        r.source.code(),
        r.reported_on,
        ad_text,
        ad_url,
        channels,
        r.agency_name.trim(),
        r.destination_country.as_deref(),
        r.job_type.as_deref(),
        r.wage_minor,
        r.fee_minor,
        &r.currency,
        r.red_flags.join(","),
        r.by.0,
        r.now
    )?;
    if let Some(agency) = r.agency_id {
        count_report(tx, org, agency, r.now).await?;
        if let Some(contact) = r.contact_id {
            link_contact(tx, org, contact, agency).await?;
        }
    }
    Ok(())
}

async fn count_report(tx: &mut Tx, org: OrgId, agency: Uuid, now: DateTime<Utc>) -> Result<()> {
    execute!(
        tx,
        "UPDATE agencies SET report_count = report_count + 1, last_report_at = $3 WHERE org_id = $1 AND id = $2",
        org.0,
        agency,
        now
    )?;
    Ok(())
}

/// Stores a report's screenshot (sealed whole).
#[allow(clippy::too_many_arguments)]
pub async fn add_screenshot(
    tx: &mut Tx,
    ring: &OrgKeyring,
    rng: &dyn SecureRng,
    org: OrgId,
    id: Uuid,
    report: Uuid,
    media_type: &str,
    content: &[u8],
) -> Result<()> {
    let sealed = seal(
        ring,
        rng,
        "job_offer_screenshots",
        "content_enc",
        id,
        &content.to_vec(),
    )?;
    execute!(
        tx,
        "INSERT INTO job_offer_screenshots (org_id, id, report_id, media_type, size_bytes, content_enc) VALUES ($1, $2, $3, $4, $5, $6)",
        org.0,
        id,
        report,
        media_type,
        i64::try_from(content.len()).unwrap_or(i64::MAX),
        sealed
    )?;
    Ok(())
}

/// The screenshot of a report of an agency: media type and content.
pub async fn screenshot(
    db: &Db,
    ring: &OrgKeyring,
    org: OrgId,
    agency: Uuid,
    id: Uuid,
) -> Result<Option<(String, Vec<u8>)>> {
    let row: Option<(String, Vec<u8>)> = on_db!(db, |c| {
        sqlx::query_as(
        "SELECT s.media_type, s.content_enc FROM job_offer_screenshots s JOIN job_offer_reports r ON r.org_id = s.org_id AND r.id = s.report_id \
         WHERE s.org_id = $1 AND r.agency_id = $2 AND s.id = $3"
    )
    .bind(org.0)
    .bind(agency)
    .bind(id)
    .fetch_optional(c)
    .await
    })?;
    let Some((media_type, bytes)) = row else {
        return Ok(None);
    };
    let content: Vec<u8> = open(ring, "job_offer_screenshots", "content_enc", id, bytes)?;
    Ok(Some((media_type, content)))
}

#[derive(sqlx::FromRow)]
struct ReportDb {
    id: Uuid,
    agency_id: Option<Uuid>,
    contact_id: Option<Uuid>,
    source: String,
    reported_on: NaiveDate,
    ad_text_enc: Vec<u8>,
    ad_url_enc: Vec<u8>,
    channels_enc: Vec<u8>,
    agency_name: String,
    destination_country: Option<String>,
    job_type: Option<String>,
    wage_minor: Option<i64>,
    fee_minor: Option<i64>,
    currency: String,
    red_flags: String,
    created_by: Option<Uuid>,
    created_at: DateTime<Utc>,
}

/// The reports about an agency, newest first.
pub async fn reports_of(
    db: &Db,
    ring: &OrgKeyring,
    org: OrgId,
    agency: Uuid,
) -> Result<Vec<Report>> {
    const T: &str = "job_offer_reports";
    let rows: Vec<ReportDb> = on_db!(db, |c| {
        sqlx::query_as(
        "SELECT id, agency_id, contact_id, source, reported_on, ad_text_enc, ad_url_enc, channels_enc, agency_name, destination_country, \
         job_type, wage_minor, fee_minor, currency, red_flags, created_by, created_at FROM job_offer_reports \
         WHERE org_id = $1 AND agency_id = $2 ORDER BY reported_on DESC, created_at DESC, id DESC"
    )
    .bind(org.0)
    .bind(agency)
    .fetch_all(c)
    .await
    })?;
    let shots: Vec<(Uuid, Uuid)> = on_db!(db, |c| {
        sqlx::query_as(
        "SELECT s.report_id, s.id FROM job_offer_screenshots s JOIN job_offer_reports r ON r.org_id = s.org_id AND r.id = s.report_id \
         WHERE s.org_id = $1 AND r.agency_id = $2"
    )
    .bind(org.0)
    .bind(agency)
    .fetch_all(c)
    .await
    })?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let id = r.id;
        let Json(channels): Json<Vec<SealedChannel>> =
            open(ring, T, "channels_enc", id, r.channels_enc)?;
        out.push(Report {
            screenshot: shots.iter().find(|(rid, _)| *rid == id).map(|(_, s)| *s),
            report: NewReport {
                id,
                agency_id: r.agency_id,
                contact_id: r.contact_id.map(ContactId),
                source: ReportSource::from_code(&r.source)
                    .ok_or_else(|| StoreError::corrupt(T, "source", &r.source))?,
                reported_on: r.reported_on,
                ad_text: open(ring, T, "ad_text_enc", id, r.ad_text_enc)?,
                ad_url: open(ring, T, "ad_url_enc", id, r.ad_url_enc)?,
                channels: channels
                    .into_iter()
                    .filter_map(|c| {
                        ChannelKind::from_code(&c.kind).map(|kind| Channel {
                            kind,
                            value: c.value,
                        })
                    })
                    .collect(),
                agency_name: r.agency_name,
                destination_country: r.destination_country,
                job_type: r.job_type,
                wage_minor: r.wage_minor,
                fee_minor: r.fee_minor,
                currency: r.currency,
                red_flags: text_list(&r.red_flags),
                by: UserId(r.created_by.unwrap_or_default()),
                now: r.created_at,
            },
        });
    }
    Ok(out)
}

/// How many reports about an agency each month (`YYYY-MM`), newest first.
pub async fn monthly_counts(db: &Db, org: OrgId, agency: Uuid) -> Result<Vec<(String, i64)>> {
    let days: Vec<NaiveDate> = on_db!(db, |c| sqlx::query_scalar(
        "SELECT reported_on FROM job_offer_reports WHERE org_id = $1 AND agency_id = $2"
    )
    .bind(org.0)
    .bind(agency)
    .fetch_all(c)
    .await)?;
    let mut months: BTreeMap<String, i64> = BTreeMap::new();
    for d in days {
        *months.entry(d.format("%Y-%m").to_string()).or_default() += 1;
    }
    Ok(months.into_iter().rev().collect())
}

// Contacts that mention agencies.

/// Links a contact to an agency it mentions (again is a no-op).
pub async fn link_contact(tx: &mut Tx, org: OrgId, contact: ContactId, agency: Uuid) -> Result<()> {
    execute!(
        tx,
        "INSERT INTO contact_agencies (org_id, contact_id, agency_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        org.0,
        contact.0,
        agency
    )?;
    Ok(())
}

/// The agencies a contact mentions: id and name.
pub async fn of_contact(db: &Db, org: OrgId, contact: ContactId) -> Result<Vec<(Uuid, String)>> {
    Ok(on_db!(db, |c| {
        sqlx::query_as(
        "SELECT a.id, a.name FROM contact_agencies l JOIN agencies a ON a.org_id = l.org_id AND a.id = l.agency_id \
         WHERE l.org_id = $1 AND l.contact_id = $2 ORDER BY a.name"
    )
    .bind(org.0)
    .bind(contact.0)
    .fetch_all(c)
    .await
    })?)
}

/// The contacts that mention an agency.
pub async fn contacts_of(db: &Db, org: OrgId, agency: Uuid) -> Result<Vec<ContactId>> {
    let ids: Vec<Uuid> = on_db!(db, |c| sqlx::query_scalar(
        "SELECT contact_id FROM contact_agencies WHERE org_id = $1 AND agency_id = $2"
    )
    .bind(org.0)
    .bind(agency)
    .fetch_all(c)
    .await)?;
    Ok(ids.into_iter().map(ContactId).collect())
}

// Actions and outcomes.

/// What was done about an agency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionKind {
    /// A written notification was sent about it.
    Notification,
    /// An inspection took place.
    Inspection,
    /// Misdemeanour proceedings were started.
    Misdemeanour,
    /// It was struck off the register.
    Deregistration,
    /// Something else.
    Other,
}

impl ActionKind {
    /// Every kind.
    pub const ALL: [ActionKind; 5] = [
        ActionKind::Notification,
        ActionKind::Inspection,
        ActionKind::Misdemeanour,
        ActionKind::Deregistration,
        ActionKind::Other,
    ];

    /// The stable code.
    pub fn code(self) -> &'static str {
        match self {
            ActionKind::Notification => "notification",
            ActionKind::Inspection => "inspection",
            ActionKind::Misdemeanour => "misdemeanour",
            ActionKind::Deregistration => "deregistration",
            ActionKind::Other => "other",
        }
    }

    /// The kind with this code.
    pub fn from_code(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == s)
    }
}

/// An action recorded on an agency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    /// Its id.
    pub id: Uuid,
    /// The agency.
    pub agency_id: Uuid,
    /// What.
    pub kind: ActionKind,
    /// The notification sent, for [`ActionKind::Notification`].
    pub notification_id: Option<Uuid>,
    /// When it happened.
    pub happened_on: NaiveDate,
    /// A note (sealed).
    pub note: String,
    /// Who recorded it.
    pub by: Option<UserId>,
    /// When.
    pub at: DateTime<Utc>,
}

/// Records an action on an agency.
pub async fn add_action(
    tx: &mut Tx,
    ring: &OrgKeyring,
    rng: &dyn SecureRng,
    org: OrgId,
    a: &Action,
) -> Result<()> {
    let note = seal(ring, rng, "agency_actions", "note_enc", a.id, &a.note)?;
    execute!(
        tx,
        "INSERT INTO agency_actions (org_id, id, agency_id, kind, notification_id, happened_on, note_enc, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        org.0,
        a.id,
        a.agency_id,
        a.kind.code(),
        a.notification_id,
        a.happened_on,
        note,
        a.by.map(|u| u.0),
        a.at
    )?;
    Ok(())
}

/// The actions recorded on an agency, latest first.
pub async fn actions_of(
    db: &Db,
    ring: &OrgKeyring,
    org: OrgId,
    agency: Uuid,
) -> Result<Vec<Action>> {
    type R = (
        Uuid,
        String,
        Option<Uuid>,
        NaiveDate,
        Vec<u8>,
        Option<Uuid>,
        DateTime<Utc>,
    );
    let rows: Vec<R> = on_db!(db, |c| {
        sqlx::query_as(
        "SELECT id, kind, notification_id, happened_on, note_enc, created_by, created_at FROM agency_actions \
         WHERE org_id = $1 AND agency_id = $2 ORDER BY happened_on DESC, created_at DESC, id DESC"
    )
    .bind(org.0)
    .bind(agency)
    .fetch_all(c)
    .await
    })?;
    rows.into_iter()
        .map(|(id, kind, notification_id, happened_on, note, by, at)| {
            Ok(Action {
                id,
                agency_id: agency,
                kind: ActionKind::from_code(&kind)
                    .ok_or_else(|| StoreError::corrupt("agency_actions", "kind", &kind))?,
                notification_id,
                happened_on,
                note: open(ring, "agency_actions", "note_enc", id, note)?,
                by: by.map(UserId),
                at,
            })
        })
        .collect()
}

// Published warnings.

/// A decision about the published warning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WarningDecision {
    /// Its id.
    pub id: Uuid,
    /// The agency.
    pub agency_id: Uuid,
    /// Published (true) or withdrawn (false).
    pub published: bool,
    /// The public reason (the portal shows it) or why it was withdrawn.
    pub reason: String,
    /// When to review it.
    pub review_on: Option<NaiveDate>,
    /// Who decided.
    pub by: Option<UserId>,
    /// When.
    pub at: DateTime<Utc>,
}

/// Records a decision and makes it the agency's current warning.
pub async fn decide_warning(tx: &mut Tx, org: OrgId, d: &WarningDecision) -> Result<bool> {
    let n = execute!(
        tx,
        "UPDATE agencies SET warning_published = $3, warning_reason = $4, warning_review_on = $5, updated_at = $6 WHERE org_id = $1 AND id = $2",
        org.0,
        d.agency_id,
        d.published,
        d.published.then_some(d.reason.as_str()),
        d.review_on.filter(|_| d.published),
        d.at
    )?;
    if n != 1 {
        return Ok(false);
    }
    execute!(
        tx,
        "INSERT INTO agency_warnings (org_id, id, agency_id, published, reason, review_on, decided_by, decided_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        org.0,
        d.id,
        d.agency_id,
        d.published,
        &d.reason,
        d.review_on,
        d.by.map(|u| u.0),
        d.at
    )?;
    Ok(true)
}

/// Every warning decision about an agency, latest first.
pub async fn warnings_of(db: &Db, org: OrgId, agency: Uuid) -> Result<Vec<WarningDecision>> {
    type R = (
        Uuid,
        bool,
        String,
        Option<NaiveDate>,
        Option<Uuid>,
        DateTime<Utc>,
    );
    let rows: Vec<R> = on_db!(db, |c| sqlx::query_as(
        "SELECT id, published, reason, review_on, decided_by, decided_at FROM agency_warnings \
         WHERE org_id = $1 AND agency_id = $2 ORDER BY decided_at DESC, id DESC"
    )
    .bind(org.0)
    .bind(agency)
    .fetch_all(c)
    .await)?;
    Ok(rows
        .into_iter()
        .map(
            |(id, published, reason, review_on, by, at)| WarningDecision {
                id,
                agency_id: agency,
                published,
                reason,
                review_on,
                by: by.map(UserId),
                at,
            },
        )
        .collect())
}
