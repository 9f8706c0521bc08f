//! The directory of institutions and partners.

use chrono::{DateTime, Utc};
use haven_domain::institutions::{InstitutionKind, SERBIAN_DEFAULTS};
use haven_domain::script::{fold, latin_to_cyrillic};
use haven_domain::{IdGen, OrgId};
use uuid::Uuid;

use crate::{Db, Result, StoreError, Tx, execute, on_db};

/// An institution in the directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Institution {
    /// The organisation whose directory it is in.
    pub org_id: OrgId,
    /// Its id.
    pub id: Uuid,
    /// Its kind.
    pub kind: InstitutionKind,
    /// Its name in Serbian, Latin script.
    pub name_sr_latn: String,
    /// Its name in Serbian, Cyrillic script, where it differs from the transliteration.
    pub name_sr_cyrl: Option<String>,
    /// Its name in English.
    pub name_en: Option<String>,
    /// The area it covers.
    pub area: Option<String>,
    /// Its country (ISO 3166 alpha-2).
    pub country: String,
    /// Its address.
    pub address: Option<String>,
    /// Its phone number.
    pub phone: Option<String>,
    /// Its e-mail address.
    pub email: Option<String>,
    /// Its web site.
    pub website: Option<String>,
    /// Notes for staff.
    pub notes: Option<String>,
}

impl Institution {
    /// The name in Cyrillic: the explicit one, or the transliteration of the Latin one.
    pub fn name_cyrillic(&self) -> String {
        self.name_sr_cyrl
            .clone()
            .unwrap_or_else(|| latin_to_cyrillic(&self.name_sr_latn))
    }

    fn search_key(&self) -> String {
        let mut key = fold(&self.name_sr_latn);
        if let Some(en) = &self.name_en {
            key.push(' ');
            key.push_str(&fold(en));
        }
        if let Some(area) = &self.area {
            key.push(' ');
            key.push_str(&fold(area));
        }
        key
    }
}

#[derive(sqlx::FromRow)]
struct InstitutionRow {
    org_id: Uuid,
    id: Uuid,
    kind: String,
    name_sr_latn: String,
    name_sr_cyrl: Option<String>,
    name_en: Option<String>,
    area: Option<String>,
    country: String,
    address: Option<String>,
    phone: Option<String>,
    email: Option<String>,
    website: Option<String>,
    notes: Option<String>,
}

impl TryFrom<InstitutionRow> for Institution {
    type Error = StoreError;
    fn try_from(r: InstitutionRow) -> Result<Self> {
        Ok(Institution {
            org_id: OrgId(r.org_id),
            id: r.id,
            kind: InstitutionKind::from_code(&r.kind)
                .ok_or_else(|| StoreError::corrupt("institutions", "kind", &r.kind))?,
            name_sr_latn: r.name_sr_latn,
            name_sr_cyrl: r.name_sr_cyrl,
            name_en: r.name_en,
            area: r.area,
            country: r.country,
            address: r.address,
            phone: r.phone,
            email: r.email,
            website: r.website,
            notes: r.notes,
        })
    }
}

/// Adds an institution.
pub async fn insert(tx: &mut Tx, i: &Institution, seeded: bool, now: DateTime<Utc>) -> Result<()> {
    execute!(
        tx,
        "INSERT INTO institutions (org_id, id, kind, name_sr_latn, name_sr_cyrl, name_en, area, country, address, phone, email, website, notes, search_key, seeded, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16)",
        i.org_id.0,
        i.id,
        i.kind.code(),
        &i.name_sr_latn,
        i.name_sr_cyrl.as_deref(),
        i.name_en.as_deref(),
        i.area.as_deref(),
        &i.country,
        i.address.as_deref(),
        i.phone.as_deref(),
        i.email.as_deref(),
        i.website.as_deref(),
        i.notes.as_deref(),
        i.search_key(),
        seeded,
        now
    )?;
    Ok(())
}

/// Fills a new organisation's directory with the Serbian defaults.
pub async fn seed_defaults(
    tx: &mut Tx,
    org: OrgId,
    ids: &IdGen<'_>,
    now: DateTime<Utc>,
) -> Result<usize> {
    for s in SERBIAN_DEFAULTS {
        let i = Institution {
            org_id: org,
            id: ids.uuid(),
            kind: s.kind,
            name_sr_latn: s.name_sr.to_owned(),
            name_sr_cyrl: None,
            name_en: Some(s.name_en.to_owned()),
            area: s.area.map(str::to_owned),
            country: "RS".to_owned(),
            address: None,
            phone: s.phone.map(str::to_owned),
            email: None,
            website: None,
            notes: None,
        };
        insert(tx, &i, true, now).await?;
    }
    Ok(SERBIAN_DEFAULTS.len())
}

/// The directory, filtered by kind and by words typed in any script (each word must appear in a
/// name or the area), sorted by kind and name.
pub async fn search(
    db: &Db,
    org: OrgId,
    kind: Option<InstitutionKind>,
    query: &str,
) -> Result<Vec<Institution>> {
    let rows: Vec<InstitutionRow> = on_db!(db, |c| {
        sqlx::query_as(
        "SELECT org_id, id, kind, name_sr_latn, name_sr_cyrl, name_en, area, country, address, phone, email, website, notes \
         FROM institutions WHERE org_id = $1 AND ($2 IS NULL OR kind = $2) ORDER BY name_sr_latn"
    )
    .bind(org.0)
    .bind(kind.map(InstitutionKind::code))
    .fetch_all(c)
    .await
    })?;
    let words: Vec<String> = query
        .split_whitespace()
        .map(fold)
        .filter(|w| !w.is_empty())
        .collect();
    let mut found = Vec::new();
    for row in rows {
        let i = Institution::try_from(row)?;
        let key = i.search_key();
        if words.iter().all(|w| key.contains(w.as_str())) {
            found.push(i);
        }
    }
    found.sort_by_key(|i| InstitutionKind::ALL.iter().position(|k| *k == i.kind));
    Ok(found)
}

/// How many institutions the directory holds.
pub async fn count(db: &Db, org: OrgId) -> Result<i64> {
    Ok(on_db!(db, |c| sqlx::query_scalar(
        "SELECT count(*) FROM institutions WHERE org_id = $1"
    )
    .bind(org.0)
    .fetch_one(c)
    .await)?)
}

/// One institution of the organisation.
pub async fn get(db: &Db, org: OrgId, id: Uuid) -> Result<Option<Institution>> {
    let row: Option<InstitutionRow> = on_db!(db, |c| {
        sqlx::query_as(
        "SELECT org_id, id, kind, name_sr_latn, name_sr_cyrl, name_en, area, country, address, phone, email, website, notes \
         FROM institutions WHERE org_id = $1 AND id = $2"
    )
    .bind(org.0)
    .bind(id)
    .fetch_optional(c)
    .await
    })?;
    row.map(Institution::try_from).transpose()
}

/// Changes an institution (everything but its id and organisation).
pub async fn update(tx: &mut Tx, i: &Institution, now: DateTime<Utc>) -> Result<bool> {
    let n = execute!(
        tx,
        "UPDATE institutions SET kind = $3, name_sr_latn = $4, name_sr_cyrl = $5, name_en = $6, area = $7, country = $8, \
         address = $9, phone = $10, email = $11, website = $12, notes = $13, search_key = $14, updated_at = $15 \
         WHERE org_id = $1 AND id = $2",
        i.org_id.0,
        i.id,
        i.kind.code(),
        &i.name_sr_latn,
        i.name_sr_cyrl.as_deref(),
        i.name_en.as_deref(),
        i.area.as_deref(),
        &i.country,
        i.address.as_deref(),
        i.phone.as_deref(),
        i.email.as_deref(),
        i.website.as_deref(),
        i.notes.as_deref(),
        i.search_key(),
        now
    )?;
    Ok(n == 1)
}

/// The contact persons at an institution (one a line: name, role, phone, e-mail).
pub async fn contact_persons(db: &Db, org: OrgId, id: Uuid) -> Result<String> {
    let v: Option<Option<String>> = on_db!(db, |c| sqlx::query_scalar(
        "SELECT contact_persons FROM institutions WHERE org_id = $1 AND id = $2"
    )
    .bind(org.0)
    .bind(id)
    .fetch_optional(c)
    .await)?;
    Ok(v.flatten().unwrap_or_default())
}

/// Sets the contact persons at an institution.
pub async fn set_contact_persons(tx: &mut Tx, org: OrgId, id: Uuid, persons: &str) -> Result<()> {
    execute!(
        tx,
        "UPDATE institutions SET contact_persons = $3 WHERE org_id = $1 AND id = $2",
        org.0,
        id,
        persons
    )?;
    Ok(())
}
