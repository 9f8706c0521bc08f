//! People: the first store of identifying data.
//!
//! Identifying values go in as plaintext domain values and are sealed inside these functions
//! (XChaCha20-Poly1305 under a key per column, bound to table, column and record id), so a caller
//! cannot bind a plaintext to a column by mistake: the INSERT only ever sees [`Sealed`] values.
//! Statistics-only attributes (gender, year of birth, citizenship) are plain columns.
//!
//! Searching: names, phones, e-mail addresses and identity numbers are normalised (scripts,
//! diacritics and case folded; phones to E.164) and written to `person_index` as truncated keyed
//! hashes ([`haven_crypto::blind`]). A lookup reads the candidates for one index value, decrypts
//! each and keeps only those whose own values match: the index is deliberately ambiguous, so a
//! candidate is never an answer until confirmed.

use std::collections::{BTreeSet, HashSet};
use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use haven_crypto::field::{FieldLocation, Plaintext, Sealed};
use haven_crypto::keys::OrgKeyring;
use haven_crypto::{CryptoError, blind, normalize};
use haven_domain::cases::EducationLevel;
use haven_domain::people::{BirthYear, CountryCode, Gender, PersonId};
use haven_domain::{OrgId, SecureRng, UserId};
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::encrypted::EncryptedTable;
use crate::{Db, Result, StoreError, Tx, execute, on_db};

/// The table.
const TABLE: &str = "people";

/// The encrypted columns of `people`, for key checks and rotation.
pub const ENCRYPTED: EncryptedTable = EncryptedTable {
    table: TABLE,
    columns: &[
        "name_enc",
        "aliases_enc",
        "birth_date_enc",
        "phones_enc",
        "emails_enc",
        "identity_numbers_enc",
        "address_enc",
        "notes_enc",
    ],
};

/// A person to record: identifying values in plaintext (sealed by [`insert`]) and the plain
/// attributes for statistics.
#[derive(Clone)]
pub struct NewPerson {
    /// The new record's id.
    pub id: PersonId,
    /// The full name as given.
    pub name: String,
    /// Other names the person is known by.
    pub aliases: Vec<String>,
    /// The date of birth, if known.
    pub birth_date: Option<NaiveDate>,
    /// Phone numbers as given.
    pub phones: Vec<String>,
    /// E-mail addresses as given.
    pub emails: Vec<String>,
    /// Identity and travel document numbers as given.
    pub identity_numbers: Vec<String>,
    /// The address, as free text.
    pub address: String,
    /// Notes about the person.
    pub notes: String,
    /// Gender (HTCDS).
    pub gender: Gender,
    /// The year of birth, for statistics (taken from the date of birth when only that is known).
    pub birth_year: Option<BirthYear>,
    /// Citizenship.
    pub citizenship: Option<CountryCode>,
    /// The staff member who recorded the person.
    pub created_by: Option<UserId>,
    /// Now.
    pub now: DateTime<Utc>,
}

/// A recorded person, decrypted.
#[derive(Clone, PartialEq, Eq)]
pub struct Person {
    /// The organisation.
    pub org_id: OrgId,
    /// The record's id.
    pub id: PersonId,
    /// The full name.
    pub name: String,
    /// Other names.
    pub aliases: Vec<String>,
    /// The date of birth.
    pub birth_date: Option<NaiveDate>,
    /// Phone numbers.
    pub phones: Vec<String>,
    /// E-mail addresses.
    pub emails: Vec<String>,
    /// Identity and travel document numbers.
    pub identity_numbers: Vec<String>,
    /// The address.
    pub address: String,
    /// Notes.
    pub notes: String,
    /// Gender (HTCDS).
    pub gender: Gender,
    /// The year of birth.
    pub birth_year: Option<i32>,
    /// Citizenship (ISO 3166-1 alpha-2).
    pub citizenship: Option<String>,
    /// When recorded.
    pub created_at: DateTime<Utc>,
    /// When last changed.
    pub updated_at: DateTime<Utc>,
    /// Who recorded the person.
    pub created_by: Option<UserId>,
    /// Languages spoken (ISO 639-1 codes).
    pub languages: Vec<String>,
    /// Highest level of education (HTCDS).
    pub education: Option<EducationLevel>,
    /// The record this one was merged into, when it turned out to be a duplicate.
    pub merged_into: Option<PersonId>,
}

// Debug output ends up in logs and panic messages: it shows the record, never the identity.
impl fmt::Debug for Person {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Person")
            .field("org_id", &self.org_id)
            .field("id", &self.id)
            .field("gender", &self.gender)
            .field("birth_year", &self.birth_year)
            .field("citizenship", &self.citizenship)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for NewPerson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewPerson")
            .field("id", &self.id)
            .field("gender", &self.gender)
            .finish_non_exhaustive()
    }
}

/// A list of texts, sealed as one JSON array.
struct TextList(Vec<String>);

impl Plaintext for TextList {
    fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(serde_json::to_vec(&self.0).unwrap_or_else(|_| b"[]".to_vec()))
    }

    fn from_bytes(bytes: &[u8]) -> std::result::Result<Self, CryptoError> {
        serde_json::from_slice(bytes)
            .map(TextList)
            .map_err(|_| CryptoError::Plaintext("a JSON list of texts"))
    }
}

/// An optional date, sealed as `YYYY-MM-DD` or as empty text when unknown (so a NULL never shows
/// which people have a known date of birth).
struct OptDate(Option<NaiveDate>);

impl Plaintext for OptDate {
    fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(
            self.0
                .map(|d| d.format("%Y-%m-%d").to_string())
                .unwrap_or_default()
                .into_bytes(),
        )
    }

    fn from_bytes(bytes: &[u8]) -> std::result::Result<Self, CryptoError> {
        let text = std::str::from_utf8(bytes).map_err(|_| CryptoError::Plaintext("a date"))?;
        if text.is_empty() {
            return Ok(OptDate(None));
        }
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map(|d| OptDate(Some(d)))
            .map_err(|_| CryptoError::Plaintext("a date"))
    }
}

fn loc(column: &'static str, id: PersonId) -> FieldLocation {
    FieldLocation::new(TABLE, column, id.0)
}

fn crypto(column: &'static str, id: PersonId) -> impl FnOnce(CryptoError) -> StoreError {
    move |source| StoreError::Crypto {
        table: TABLE,
        column,
        record: id.0,
        source,
    }
}

fn seal<T: Plaintext>(
    ring: &OrgKeyring,
    rng: &dyn SecureRng,
    column: &'static str,
    id: PersonId,
    value: &T,
) -> Result<Sealed<T>> {
    Sealed::seal(ring, loc(column, id), value, rng).map_err(crypto(column, id))
}

/// A person's identifying values, sealed: the only form the SQL below ever binds.
struct SealedPerson {
    name: Sealed<String>,
    aliases: Sealed<TextList>,
    birth_date: Sealed<OptDate>,
    phones: Sealed<TextList>,
    emails: Sealed<TextList>,
    identity_numbers: Sealed<TextList>,
    address: Sealed<String>,
    notes: Sealed<String>,
}

fn seal_person(ring: &OrgKeyring, rng: &dyn SecureRng, p: &NewPerson) -> Result<SealedPerson> {
    let list = |v: &[String]| TextList(v.iter().map(|s| s.trim().to_owned()).collect());
    Ok(SealedPerson {
        name: seal(ring, rng, "name_enc", p.id, &p.name.trim().to_owned())?,
        aliases: seal(ring, rng, "aliases_enc", p.id, &list(&p.aliases))?,
        birth_date: seal(ring, rng, "birth_date_enc", p.id, &OptDate(p.birth_date))?,
        phones: seal(ring, rng, "phones_enc", p.id, &list(&p.phones))?,
        emails: seal(ring, rng, "emails_enc", p.id, &list(&p.emails))?,
        identity_numbers: seal(
            ring,
            rng,
            "identity_numbers_enc",
            p.id,
            &list(&p.identity_numbers),
        )?,
        address: seal(ring, rng, "address_enc", p.id, &p.address.trim().to_owned())?,
        notes: seal(ring, rng, "notes_enc", p.id, &p.notes.trim().to_owned())?,
    })
}

/// What a blind index covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IndexKind {
    /// Full names and each of their words, folded.
    Name,
    /// Phone numbers in E.164.
    Phone,
    /// E-mail addresses, lower-cased.
    Email,
    /// Identity numbers without separators.
    IdentityNumber,
}

impl IndexKind {
    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            IndexKind::Name => "name",
            IndexKind::Phone => "phone",
            IndexKind::Email => "email",
            IndexKind::IdentityNumber => "identity_number",
        }
    }

    /// The blind index definition (its name is part of its key).
    pub fn spec(self) -> blind::BlindIndex {
        match self {
            IndexKind::Name => blind::NAME,
            IndexKind::Phone => blind::PHONE,
            IndexKind::Email => blind::EMAIL,
            IndexKind::IdentityNumber => blind::IDENTITY_NUMBER,
        }
    }
}

/// The words of a name, folded (`Ana-Marija Јовановић` → `ana`, `marija`, `jovanovic`).
fn name_words(name: &str) -> Vec<String> {
    name.split(|c: char| c.is_whitespace() || c == '-' || c == ',')
        .map(normalize::name)
        .filter(|w| !w.is_empty())
        .collect()
}

/// The normalised form of a phone number for indexing and matching: E.164 when it can be read
/// as a number of `region`'s plan or an international one, otherwise its digits (a short or
/// unusual number can still be found the way it was typed).
pub fn phone_key(raw: &str, region: &str) -> Option<String> {
    if let Ok(e164) = normalize::phone(raw, region) {
        return Some(e164);
    }
    let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
    (!digits.is_empty()).then(|| format!("digits:{digits}"))
}

/// The normalised values a person is indexed under, by kind, without repeats.
fn index_values(p: &NewPerson, region: &str) -> BTreeSet<(IndexKind, String)> {
    let mut out = BTreeSet::new();
    for name in std::iter::once(&p.name).chain(&p.aliases) {
        let full = normalize::name(name);
        if !full.is_empty() {
            out.insert((IndexKind::Name, full));
        }
        for w in name_words(name) {
            out.insert((IndexKind::Name, w));
        }
    }
    for phone in &p.phones {
        if let Some(k) = phone_key(phone, region) {
            out.insert((IndexKind::Phone, k));
        }
    }
    for email in &p.emails {
        let e = normalize::email(email);
        if !e.is_empty() {
            out.insert((IndexKind::Email, e));
        }
    }
    for number in &p.identity_numbers {
        let n = normalize::identity_number(number);
        if !n.is_empty() {
            out.insert((IndexKind::IdentityNumber, n));
        }
    }
    out
}

/// Records a person in organisation `org`, sealing every identifying value and writing the blind
/// indexes; `phone_region` is the organisation's region for phone numbers without a country code.
pub async fn insert(
    tx: &mut Tx,
    ring: &OrgKeyring,
    rng: &dyn SecureRng,
    org: OrgId,
    phone_region: &str,
    p: &NewPerson,
) -> Result<()> {
    let sealed = seal_person(ring, rng, p)?;
    let birth_year = p
        .birth_year
        .map(BirthYear::get)
        .or_else(|| p.birth_date.map(|d| chrono::Datelike::year(&d)));
    execute!(
        tx,
        "INSERT INTO people (org_id, id, name_enc, aliases_enc, birth_date_enc, phones_enc, emails_enc, \
         identity_numbers_enc, address_enc, notes_enc, gender, birth_year, citizenship, created_at, updated_at, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14, $15)",
        org.0,
        p.id.0,
        sealed.name.as_bytes(),
        sealed.aliases.as_bytes(),
        sealed.birth_date.as_bytes(),
        sealed.phones.as_bytes(),
        sealed.emails.as_bytes(),
        sealed.identity_numbers.as_bytes(),
        sealed.address.as_bytes(),
        sealed.notes.as_bytes(),
        p.gender.code(),
        birth_year.map(i64::from),
        p.citizenship.map(|c| c.as_str().to_owned()),
        p.now,
        p.created_by.map(|u| u.0)
    )?;
    for (kind, value) in index_values(p, phone_region) {
        execute!(
            tx,
            // Two values of one person may share a truncated index value (the index is ambiguous
            // by design): one row says it.
            "INSERT INTO person_index (org_id, person_id, kind, value) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (org_id, person_id, kind, value) DO NOTHING",
            org.0,
            p.id.0,
            kind.code(),
            ring.blind_index(kind.spec(), &value)
        )?;
    }
    Ok(())
}

#[derive(sqlx::FromRow)]
struct PersonRow {
    org_id: Uuid,
    id: Uuid,
    name_enc: Vec<u8>,
    aliases_enc: Vec<u8>,
    birth_date_enc: Vec<u8>,
    phones_enc: Vec<u8>,
    emails_enc: Vec<u8>,
    identity_numbers_enc: Vec<u8>,
    address_enc: Vec<u8>,
    notes_enc: Vec<u8>,
    gender: String,
    birth_year: Option<i64>,
    citizenship: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    created_by: Option<Uuid>,
    languages: String,
    education: Option<String>,
    merged_into: Option<Uuid>,
}

fn open<T: Plaintext>(
    ring: &OrgKeyring,
    column: &'static str,
    id: PersonId,
    bytes: Vec<u8>,
) -> Result<T> {
    Sealed::<T>::from_stored(bytes)
        .open(ring, loc(column, id))
        .map_err(crypto(column, id))
}

impl PersonRow {
    fn open(self, ring: &OrgKeyring) -> Result<Person> {
        let id = PersonId(self.id);
        Ok(Person {
            org_id: OrgId(self.org_id),
            id,
            name: open(ring, "name_enc", id, self.name_enc)?,
            aliases: open::<TextList>(ring, "aliases_enc", id, self.aliases_enc)?.0,
            birth_date: open::<OptDate>(ring, "birth_date_enc", id, self.birth_date_enc)?.0,
            phones: open::<TextList>(ring, "phones_enc", id, self.phones_enc)?.0,
            emails: open::<TextList>(ring, "emails_enc", id, self.emails_enc)?.0,
            identity_numbers: open::<TextList>(
                ring,
                "identity_numbers_enc",
                id,
                self.identity_numbers_enc,
            )?
            .0,
            address: open(ring, "address_enc", id, self.address_enc)?,
            notes: open(ring, "notes_enc", id, self.notes_enc)?,
            gender: self
                .gender
                .parse()
                .map_err(|e| StoreError::corrupt(TABLE, "gender", e))?,
            birth_year: self
                .birth_year
                .map(|y| i32::try_from(y).map_err(|_| StoreError::corrupt(TABLE, "birth_year", y)))
                .transpose()?,
            citizenship: self.citizenship,
            created_at: self.created_at,
            updated_at: self.updated_at,
            created_by: self.created_by.map(UserId),
            languages: self
                .languages
                .split_whitespace()
                .map(str::to_owned)
                .collect(),
            education: self
                .education
                .as_deref()
                .and_then(EducationLevel::from_code),
            merged_into: self.merged_into.map(PersonId),
        })
    }
}

/// A person by id, decrypted; `None` if there is none in this organisation.
pub async fn get(db: &Db, ring: &OrgKeyring, org: OrgId, id: PersonId) -> Result<Option<Person>> {
    let row: Option<PersonRow> = on_db!(db, |c| {
        sqlx::query_as(
        "SELECT org_id, id, name_enc, aliases_enc, birth_date_enc, phones_enc, emails_enc, identity_numbers_enc, \
         address_enc, notes_enc, gender, birth_year, citizenship, created_at, updated_at, created_by, \
         languages, education, merged_into \
         FROM people WHERE org_id = $1 AND id = $2"
    )
    .bind(org.0)
    .bind(id.0)
    .fetch_optional(c)
    .await
    })?;
    row.map(|r| r.open(ring)).transpose()
}

/// How many people the organisation has recorded.
pub async fn count(db: &Db, org: OrgId) -> Result<i64> {
    Ok(on_db!(db, |c| sqlx::query_scalar(
        "SELECT count(*) FROM people WHERE org_id = $1"
    )
    .bind(org.0)
    .fetch_one(c)
    .await)?)
}

/// The ids of the people indexed under this value: candidates, not yet matches.
pub async fn candidates(
    db: &Db,
    ring: &OrgKeyring,
    org: OrgId,
    kind: IndexKind,
    normalised: &str,
) -> Result<Vec<PersonId>> {
    let value = ring.blind_index(kind.spec(), normalised);
    let ids: Vec<Uuid> = on_db!(db, |c| {
        sqlx::query_scalar(
        "SELECT DISTINCT person_id FROM person_index WHERE org_id = $1 AND kind = $2 AND value = $3 ORDER BY person_id"
    )
    .bind(org.0)
    .bind(kind.code())
    .bind(value.clone())
    .fetch_all(c)
    .await
    })?;
    Ok(ids.into_iter().map(PersonId).collect())
}

/// Decrypts the candidates and keeps those `matches` confirms, in id order.
async fn confirmed(
    db: &Db,
    ring: &OrgKeyring,
    org: OrgId,
    ids: impl IntoIterator<Item = PersonId>,
    matches: impl Fn(&Person) -> bool,
) -> Result<Vec<Person>> {
    let ids: BTreeSet<PersonId> = ids.into_iter().collect();
    let mut out = Vec::new();
    for id in ids {
        if let Some(p) = get(db, ring, org, id).await?
            && matches(&p)
        {
            out.push(p);
        }
    }
    Ok(out)
}

/// The people with this phone number, however it is written (`064 123 4567`, `+381641234567`,
/// `00381 64 1234567`).
pub async fn find_by_phone(
    db: &Db,
    ring: &OrgKeyring,
    org: OrgId,
    phone_region: &str,
    phone: &str,
) -> Result<Vec<Person>> {
    let Some(key) = phone_key(phone, phone_region) else {
        return Ok(Vec::new());
    };
    let ids = candidates(db, ring, org, IndexKind::Phone, &key).await?;
    confirmed(db, ring, org, ids, |p| {
        p.phones
            .iter()
            .any(|x| phone_key(x, phone_region).as_deref() == Some(key.as_str()))
    })
    .await
}

/// The people with this e-mail address, in any case.
pub async fn find_by_email(
    db: &Db,
    ring: &OrgKeyring,
    org: OrgId,
    email: &str,
) -> Result<Vec<Person>> {
    let key = normalize::email(email);
    if key.is_empty() {
        return Ok(Vec::new());
    }
    let ids = candidates(db, ring, org, IndexKind::Email, &key).await?;
    confirmed(db, ring, org, ids, |p| {
        p.emails.iter().any(|x| normalize::email(x) == key)
    })
    .await
}

/// The people with this identity or document number, with or without separators.
pub async fn find_by_identity_number(
    db: &Db,
    ring: &OrgKeyring,
    org: OrgId,
    number: &str,
) -> Result<Vec<Person>> {
    let key = normalize::identity_number(number);
    if key.is_empty() {
        return Ok(Vec::new());
    }
    let ids = candidates(db, ring, org, IndexKind::IdentityNumber, &key).await?;
    confirmed(db, ring, org, ids, |p| {
        p.identity_numbers
            .iter()
            .any(|x| normalize::identity_number(x) == key)
    })
    .await
}

/// The people known by this name or these names, in either script, with or without diacritics,
/// in any case: the whole name (`Јована Јовановић` = `jovana jovanovic`), one of its words
/// (`Jovanović`), or several of its words in any order (`Jovanović Jovana`). Aliases count.
pub async fn find_by_name(
    db: &Db,
    ring: &OrgKeyring,
    org: OrgId,
    name: &str,
) -> Result<Vec<Person>> {
    let full = normalize::name(name);
    let words: Vec<String> = name_words(name);
    if full.is_empty() {
        return Ok(Vec::new());
    }
    let mut ids: HashSet<PersonId> = candidates(db, ring, org, IndexKind::Name, &full)
        .await?
        .into_iter()
        .collect();
    if words.len() > 1 {
        let mut common: Option<HashSet<PersonId>> = None;
        for w in &words {
            let these: HashSet<PersonId> = candidates(db, ring, org, IndexKind::Name, w)
                .await?
                .into_iter()
                .collect();
            common = Some(match common {
                None => these,
                Some(c) => c.intersection(&these).copied().collect(),
            });
        }
        ids.extend(common.unwrap_or_default());
    }
    confirmed(db, ring, org, ids, |p| {
        let names = std::iter::once(&p.name).chain(&p.aliases);
        let mut known_words: HashSet<String> = HashSet::new();
        for n in names {
            if normalize::name(n) == full {
                return true;
            }
            known_words.extend(name_words(n));
        }
        !words.is_empty() && words.iter().all(|w| known_words.contains(w))
    })
    .await
}

/// The statistics-only attributes set on the person page: languages (ISO 639-1 codes) and
/// education.
pub async fn set_profile(
    tx: &mut Tx,
    org: OrgId,
    id: PersonId,
    languages: &[String],
    education: Option<EducationLevel>,
) -> Result<()> {
    execute!(
        tx,
        "UPDATE people SET languages = $3, education = $4 WHERE org_id = $1 AND id = $2",
        org.0,
        id.0,
        languages.join(" "),
        education.map(|e| e.code())
    )?;
    Ok(())
}

/// Replaces a person's identifying values and plain attributes with `p` (whose `id` names the
/// record), sealing everything afresh and rewriting the blind indexes.
pub async fn update(
    tx: &mut Tx,
    ring: &OrgKeyring,
    rng: &dyn SecureRng,
    org: OrgId,
    phone_region: &str,
    p: &NewPerson,
) -> Result<()> {
    let sealed = seal_person(ring, rng, p)?;
    let birth_year = p
        .birth_year
        .map(BirthYear::get)
        .or_else(|| p.birth_date.map(|d| chrono::Datelike::year(&d)));
    let n = execute!(
        tx,
        "UPDATE people SET name_enc = $3, aliases_enc = $4, birth_date_enc = $5, phones_enc = $6, emails_enc = $7, \
         identity_numbers_enc = $8, address_enc = $9, notes_enc = $10, gender = $11, birth_year = $12, citizenship = $13, \
         updated_at = $14 WHERE org_id = $1 AND id = $2",
        org.0,
        p.id.0,
        sealed.name.as_bytes(),
        sealed.aliases.as_bytes(),
        sealed.birth_date.as_bytes(),
        sealed.phones.as_bytes(),
        sealed.emails.as_bytes(),
        sealed.identity_numbers.as_bytes(),
        sealed.address.as_bytes(),
        sealed.notes.as_bytes(),
        p.gender.code(),
        birth_year.map(i64::from),
        p.citizenship.map(|c| c.as_str().to_owned()),
        p.now
    )?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    execute!(
        tx,
        "DELETE FROM person_index WHERE org_id = $1 AND person_id = $2",
        org.0,
        p.id.0
    )?;
    for (kind, value) in index_values(p, phone_region) {
        execute!(
            tx,
            // Two values of one person may share a truncated index value (the index is ambiguous
            // by design): one row says it.
            "INSERT INTO person_index (org_id, person_id, kind, value) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (org_id, person_id, kind, value) DO NOTHING",
            org.0,
            p.id.0,
            kind.code(),
            ring.blind_index(kind.spec(), &value)
        )?;
    }
    Ok(())
}

impl Person {
    /// The person as input for [`update`], changed at `now`.
    pub fn as_new(&self, now: DateTime<Utc>) -> NewPerson {
        NewPerson {
            id: self.id,
            name: self.name.clone(),
            aliases: self.aliases.clone(),
            birth_date: self.birth_date,
            phones: self.phones.clone(),
            emails: self.emails.clone(),
            identity_numbers: self.identity_numbers.clone(),
            address: self.address.clone(),
            notes: self.notes.clone(),
            gender: self.gender,
            birth_year: self
                .birth_year
                .and_then(|y| BirthYear::parse("birth_year", y, y).ok()),
            citizenship: self
                .citizenship
                .as_deref()
                .and_then(|c| CountryCode::parse("citizenship", c).ok()),
            created_by: self.created_by,
            now,
        }
    }
}

/// Why two records may be the same person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DuplicateReason {
    /// The same name (in any script and spelling) and the same year of birth (or one unknown).
    NameAndBirthYear,
    /// The same phone number.
    Phone,
    /// The same identity number.
    IdentityNumber,
    /// The same e-mail address.
    Email,
}

impl DuplicateReason {
    /// The stable code.
    pub fn code(self) -> &'static str {
        match self {
            DuplicateReason::NameAndBirthYear => "name_birth_year",
            DuplicateReason::Phone => "phone",
            DuplicateReason::IdentityNumber => "identity_number",
            DuplicateReason::Email => "email",
        }
    }
}

/// Records that may be the same person as `p` (other than `p.id` itself), with the reasons,
/// confirmed after decryption like every lookup.
pub async fn possible_duplicates(
    db: &Db,
    ring: &OrgKeyring,
    org: OrgId,
    phone_region: &str,
    p: &NewPerson,
) -> Result<Vec<(Person, Vec<DuplicateReason>)>> {
    let mut found: Vec<(Person, Vec<DuplicateReason>)> = Vec::new();
    let mut note = |person: Person, why: DuplicateReason| {
        if person.id == p.id || person.merged_into.is_some() {
            return;
        }
        match found.iter_mut().find(|(q, _)| q.id == person.id) {
            Some((_, reasons)) => {
                if !reasons.contains(&why) {
                    reasons.push(why);
                }
            }
            None => found.push((person, vec![why])),
        }
    };
    let year = p
        .birth_year
        .map(BirthYear::get)
        .or_else(|| p.birth_date.map(|d| chrono::Datelike::year(&d)));
    if !normalize::name(&p.name).is_empty() {
        for q in find_by_name(db, ring, org, &p.name).await? {
            let same_name = normalize::name(&q.name) == normalize::name(&p.name)
                || q.aliases
                    .iter()
                    .any(|a| normalize::name(a) == normalize::name(&p.name));
            let years_agree = match (year, q.birth_year) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            };
            if same_name && years_agree {
                note(q, DuplicateReason::NameAndBirthYear);
            }
        }
    }
    for phone in &p.phones {
        for q in find_by_phone(db, ring, org, phone_region, phone).await? {
            note(q, DuplicateReason::Phone);
        }
    }
    for number in &p.identity_numbers {
        for q in find_by_identity_number(db, ring, org, number).await? {
            note(q, DuplicateReason::IdentityNumber);
        }
    }
    for email in &p.emails {
        for q in find_by_email(db, ring, org, email).await? {
            note(q, DuplicateReason::Email);
        }
    }
    for (_, reasons) in &mut found {
        reasons.sort();
    }
    Ok(found)
}

fn union(into: &mut Vec<String>, from: &[String], key: impl Fn(&str) -> String) {
    for v in from {
        let k = key(v);
        if !v.trim().is_empty() && !into.iter().any(|x| key(x) == k) {
            into.push(v.clone());
        }
    }
}

/// Merges the record `duplicate` into `survivor`: the survivor keeps its values and gains the
/// duplicate's name (as an alias), aliases, phones, e-mail addresses and identity numbers, and
/// whatever it lacked; every link of the duplicate (roles in cases, documents, services, consent)
/// moves to the survivor; the duplicate stays, marked as merged, with its own history, and no
/// longer answers lookups.
#[allow(clippy::too_many_arguments)]
pub async fn merge(
    tx: &mut Tx,
    ring: &OrgKeyring,
    rng: &dyn SecureRng,
    org: OrgId,
    phone_region: &str,
    survivor: &Person,
    duplicate: &Person,
    now: DateTime<Utc>,
) -> Result<()> {
    let mut n = survivor.as_new(now);
    union(
        &mut n.aliases,
        std::slice::from_ref(&duplicate.name),
        normalize::name,
    );
    union(&mut n.aliases, &duplicate.aliases, normalize::name);
    n.aliases
        .retain(|a| normalize::name(a) != normalize::name(&n.name));
    union(&mut n.phones, &duplicate.phones, |x| {
        phone_key(x, phone_region).unwrap_or_else(|| x.to_owned())
    });
    union(&mut n.emails, &duplicate.emails, normalize::email);
    union(
        &mut n.identity_numbers,
        &duplicate.identity_numbers,
        normalize::identity_number,
    );
    if n.birth_date.is_none() {
        n.birth_date = duplicate.birth_date;
    }
    if n.address.is_empty() {
        n.address = duplicate.address.clone();
    }
    if !duplicate.notes.is_empty() && n.notes != duplicate.notes {
        n.notes = if n.notes.is_empty() {
            duplicate.notes.clone()
        } else {
            format!("{}\n\n{}", n.notes, duplicate.notes)
        };
    }
    if n.gender == Gender::NonSpecifiedUnknown {
        n.gender = duplicate.gender;
    }
    if n.birth_year.is_none() {
        n.birth_year = duplicate
            .birth_year
            .and_then(|y| BirthYear::parse("birth_year", y, y).ok());
    }
    if n.citizenship.is_none() {
        n.citizenship = duplicate
            .citizenship
            .as_deref()
            .and_then(|c| CountryCode::parse("citizenship", c).ok());
    }
    update(tx, ring, rng, org, phone_region, &n).await?;
    let mut languages = survivor.languages.clone();
    union(&mut languages, &duplicate.languages, str::to_owned);
    set_profile(
        tx,
        org,
        survivor.id,
        &languages,
        survivor.education.or(duplicate.education),
    )
    .await?;
    let (s, d) = (survivor.id.0, duplicate.id.0);
    // Roles in cases: a role the survivor already has in that case is not doubled.
    execute!(
        tx,
        "INSERT INTO case_people (org_id, case_id, person_id, role, perpetrator_roles, added_by, added_at) \
         SELECT org_id, case_id, $3, role, perpetrator_roles, added_by, added_at FROM case_people \
         WHERE org_id = $1 AND person_id = $2 ON CONFLICT (org_id, case_id, person_id, role) DO NOTHING",
        org.0,
        d,
        s
    )?;
    execute!(
        tx,
        "DELETE FROM case_people WHERE org_id = $1 AND person_id = $2",
        org.0,
        d
    )?;
    for sql in [
        "UPDATE case_documents SET person_id = $3 WHERE org_id = $1 AND person_id = $2",
        "UPDATE case_services SET person_id = $3 WHERE org_id = $1 AND person_id = $2",
        "UPDATE consents SET person_id = $3 WHERE org_id = $1 AND person_id = $2",
        // A caller linked to the duplicate is the same caller of the record that stays.
        "UPDATE contacts SET person_id = $3 WHERE org_id = $1 AND person_id = $2",
    ] {
        execute!(tx, sql, org.0, d, s)?;
    }
    execute!(
        tx,
        "DELETE FROM person_index WHERE org_id = $1 AND person_id = $2",
        org.0,
        d
    )?;
    execute!(
        tx,
        "UPDATE people SET merged_into = $3, merged_at = $4 WHERE org_id = $1 AND id = $2",
        org.0,
        d,
        s,
        now
    )?;
    Ok(())
}

/// The records merged into `id`.
pub async fn merged_into(db: &Db, org: OrgId, id: PersonId) -> Result<Vec<PersonId>> {
    let ids: Vec<Uuid> = on_db!(db, |c| sqlx::query_scalar(
        "SELECT id FROM people WHERE org_id = $1 AND merged_into = $2 ORDER BY id"
    )
    .bind(org.0)
    .bind(id.0)
    .fetch_all(c)
    .await)?;
    Ok(ids.into_iter().map(PersonId).collect())
}
