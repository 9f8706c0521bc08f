//! Organisations: the tenants of the platform. Every other row belongs to one.

use chrono::{DateTime, Utc};
use haven_domain::{Language, OrgId};
use uuid::Uuid;

use crate::error::duplicate_as;
use crate::{Db, Result, StoreError, Tx, execute, on_db};

/// An organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Org {
    /// Its id.
    pub id: OrgId,
    /// A short, unique, URL-safe name (`astra`), used to choose the organisation at sign-in when
    /// the platform hosts more than one.
    pub slug: String,
    /// Its name.
    pub name: String,
    /// Its time zone (IANA name), in which dates are shown and registers are numbered.
    pub time_zone: String,
    /// The language of its staff application and portal unless someone chooses another.
    pub default_language: Language,
    /// The ISO 3166 region in which phone numbers without a country code are read.
    pub phone_region: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct OrgRow {
    org_id: Uuid,
    slug: String,
    name: String,
    time_zone: String,
    default_language: String,
    phone_region: String,
    created_at: DateTime<Utc>,
}

impl TryFrom<OrgRow> for Org {
    type Error = StoreError;
    fn try_from(r: OrgRow) -> Result<Org> {
        Ok(Org {
            id: OrgId(r.org_id),
            slug: r.slug,
            name: r.name,
            time_zone: r.time_zone,
            default_language: r
                .default_language
                .parse()
                .map_err(|e| StoreError::corrupt("orgs", "default_language", e))?,
            phone_region: r.phone_region,
            created_at: r.created_at,
        })
    }
}

/// Adds an organisation.
pub async fn insert(tx: &mut Tx, org: &Org) -> Result<()> {
    execute!(tx, "INSERT INTO orgs (org_id, slug, name, time_zone, default_language, phone_region, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)", org.id.0, &org.slug, &org.name, &org.time_zone, org.default_language.code(), &org.phone_region, org.created_at).map_err(duplicate_as("slug"))?;
    // Every organisation's audit chain starts at its creation.
    execute!(
        tx,
        "INSERT INTO audit_heads (org_id, seq, hash) VALUES ($1, 0, $2)",
        org.id.0,
        haven_crypto::audit::GENESIS.to_vec()
    )?;
    Ok(())
}

/// An organisation by id.
pub async fn get(db: &Db, id: OrgId) -> Result<Option<Org>> {
    let row: Option<OrgRow> = on_db!(db, |c| {
        sqlx::query_as(
        "SELECT org_id, slug, name, time_zone, default_language, phone_region, created_at FROM orgs WHERE org_id = $1"
    )
    .bind(id.0)
    .fetch_optional(c)
    .await
    })?;
    row.map(Org::try_from).transpose()
}

/// An organisation by slug.
pub async fn by_slug(db: &Db, slug: &str) -> Result<Option<Org>> {
    let row: Option<OrgRow> = on_db!(db, |c| {
        sqlx::query_as(
        "SELECT org_id, slug, name, time_zone, default_language, phone_region, created_at FROM orgs WHERE slug = $1"
    )
    .bind(slug.trim().to_ascii_lowercase())
    .fetch_optional(c)
    .await
    })?;
    row.map(Org::try_from).transpose()
}

/// Every organisation, oldest first.
pub async fn list(db: &Db) -> Result<Vec<Org>> {
    let rows: Vec<OrgRow> = on_db!(db, |c| {
        sqlx::query_as(
        "SELECT org_id, slug, name, time_zone, default_language, phone_region, created_at FROM orgs ORDER BY created_at, org_id"
    )
    .fetch_all(c)
    .await
    })?;
    rows.into_iter().map(Org::try_from).collect()
}

/// Whether `slug` is acceptable: 2 to 40 lower-case ASCII letters, digits and hyphens.
pub fn valid_slug(slug: &str) -> bool {
    (2..=40).contains(&slug.len())
        && slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !slug.starts_with('-')
        && !slug.ends_with('-')
}
