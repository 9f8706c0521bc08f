//! The official register of licensed employment agencies: sources with their saved column
//! mapping, imports (pending while the preview is reviewed, then done), the rows each import read
//! and the agency each row became, and every agency's register history.
//!
//! All plain: the register is a public list of companies. An import's file is kept only while it
//! is pending; confirming empties it (its rows are stored instead).

use chrono::{DateTime, NaiveDate, Utc};
use haven_domain::agencies::LicenceStatus;
use haven_domain::agencies::register::{ColumnMapping, FileFormat, RegisterRow};
use haven_domain::{IdGen, OrgId, UserId};
use uuid::Uuid;

use crate::{Db, Result, StoreError, Tx, execute, on_db, on_tx};

/// Where register files come from (the ministry's list, a regional office's…).
#[derive(Debug, Clone, PartialEq)]
pub struct Source {
    /// Its id.
    pub id: Uuid,
    /// Its name, unique in the organisation.
    pub name: String,
    /// The format of its last file.
    pub format: FileFormat,
    /// The column mapping last confirmed for it.
    pub mapping: ColumnMapping,
}

#[derive(sqlx::FromRow)]
struct SourceDb {
    id: Uuid,
    name: String,
    format: String,
    mapping: String,
}

fn format_of(table: &'static str, code: &str) -> Result<FileFormat> {
    FileFormat::from_code(code).ok_or_else(|| StoreError::corrupt(table, "format", code))
}

fn mapping_of(table: &'static str, json: &str) -> Result<ColumnMapping> {
    serde_json::from_str(json).map_err(|_| StoreError::corrupt(table, "mapping", "(json)"))
}

fn mapping_json(m: &ColumnMapping) -> Result<String> {
    serde_json::to_string(m)
        .map_err(|_| StoreError::corrupt("register_sources", "mapping", "(json)"))
}

impl SourceDb {
    fn into_source(self) -> Result<Source> {
        Ok(Source {
            format: format_of("register_sources", &self.format)?,
            mapping: mapping_of("register_sources", &self.mapping)?,
            id: self.id,
            name: self.name,
        })
    }
}

/// The organisation's register sources, by name.
pub async fn sources(db: &Db, org: OrgId) -> Result<Vec<Source>> {
    let rows: Vec<SourceDb> = on_db!(db, |c| {
        sqlx::query_as(
        "SELECT id, name, format, mapping FROM register_sources WHERE org_id = $1 ORDER BY name, id"
    )
    .bind(org.0)
    .fetch_all(c)
    .await
    })?;
    rows.into_iter().map(SourceDb::into_source).collect()
}

/// One source.
pub async fn source(db: &Db, org: OrgId, id: Uuid) -> Result<Option<Source>> {
    let row: Option<SourceDb> = on_db!(db, |c| sqlx::query_as(
        "SELECT id, name, format, mapping FROM register_sources WHERE org_id = $1 AND id = $2"
    )
    .bind(org.0)
    .bind(id)
    .fetch_optional(c)
    .await)?;
    row.map(SourceDb::into_source).transpose()
}

/// The source with this name (exact), if any.
pub async fn source_named(tx: &mut Tx, org: OrgId, name: &str) -> Result<Option<Uuid>> {
    Ok(on_tx!(tx, |c| sqlx::query_scalar(
        "SELECT id FROM register_sources WHERE org_id = $1 AND name = $2"
    )
    .bind(org.0)
    .bind(name)
    .fetch_optional(&mut *c)
    .await)?)
}

/// Records a source.
pub async fn insert_source(
    tx: &mut Tx,
    org: OrgId,
    s: &Source,
    by: UserId,
    now: DateTime<Utc>,
) -> Result<()> {
    execute!(
        tx,
        "INSERT INTO register_sources (org_id, id, name, format, mapping, created_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        org.0,
        s.id,
        s.name.trim(),
        s.format.code(),
        mapping_json(&s.mapping)?,
        by.0,
        now
    )?;
    Ok(())
}

/// Saves the mapping (and format) confirmed for a source, for its next file.
pub async fn save_mapping(
    tx: &mut Tx,
    org: OrgId,
    source: Uuid,
    format: FileFormat,
    mapping: &ColumnMapping,
    now: DateTime<Utc>,
) -> Result<()> {
    execute!(
        tx,
        "UPDATE register_sources SET format = $3, mapping = $4, updated_at = $5 WHERE org_id = $1 AND id = $2",
        org.0,
        source,
        format.code(),
        mapping_json(mapping)?,
        now
    )?;
    Ok(())
}

/// Whether an import waits for confirmation or is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportStatus {
    /// Uploaded; the preview is being reviewed.
    Pending,
    /// Confirmed and applied.
    Done,
}

impl ImportStatus {
    /// The stable code.
    pub fn code(self) -> &'static str {
        match self {
            ImportStatus::Pending => "pending",
            ImportStatus::Done => "done",
        }
    }
}

/// One import of a register file.
#[derive(Debug, Clone, PartialEq)]
pub struct Import {
    /// Its id.
    pub id: Uuid,
    /// The source.
    pub source_id: Uuid,
    /// The source's name.
    pub source_name: String,
    /// Pending or done.
    pub status: ImportStatus,
    /// The file's format.
    pub format: FileFormat,
    /// The mapping chosen for this file.
    pub mapping: ColumnMapping,
    /// The date the register speaks for.
    pub register_date: NaiveDate,
    /// Rows read (done imports).
    pub row_count: i64,
    /// Rows refused (done imports).
    pub error_count: i64,
    /// Agencies created from unmatched rows.
    pub created_count: i64,
    /// Agencies licensed by this source before and absent from this file.
    pub not_found_count: i64,
    /// Who uploaded it.
    pub uploaded_by: Option<UserId>,
    /// When.
    pub uploaded_at: DateTime<Utc>,
    /// Who confirmed it.
    pub imported_by: Option<UserId>,
    /// When.
    pub imported_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct ImportDb {
    id: Uuid,
    source_id: Uuid,
    source_name: String,
    status: String,
    format: String,
    mapping: String,
    register_date: NaiveDate,
    row_count: i64,
    error_count: i64,
    created_count: i64,
    not_found_count: i64,
    uploaded_by: Option<Uuid>,
    uploaded_at: DateTime<Utc>,
    imported_by: Option<Uuid>,
    imported_at: Option<DateTime<Utc>>,
}

impl ImportDb {
    fn into_import(self) -> Result<Import> {
        Ok(Import {
            status: match self.status.as_str() {
                "pending" => ImportStatus::Pending,
                "done" => ImportStatus::Done,
                other => return Err(StoreError::corrupt("register_imports", "status", other)),
            },
            format: format_of("register_imports", &self.format)?,
            mapping: mapping_of("register_imports", &self.mapping)?,
            id: self.id,
            source_id: self.source_id,
            source_name: self.source_name,
            register_date: self.register_date,
            row_count: self.row_count,
            error_count: self.error_count,
            created_count: self.created_count,
            not_found_count: self.not_found_count,
            uploaded_by: self.uploaded_by.map(UserId),
            uploaded_at: self.uploaded_at,
            imported_by: self.imported_by.map(UserId),
            imported_at: self.imported_at,
        })
    }
}

const IMPORT_COLUMNS: &str = "SELECT i.id, i.source_id, s.name AS source_name, i.status, i.format, i.mapping, i.register_date, \
     i.row_count, i.error_count, i.created_count, i.not_found_count, i.uploaded_by, i.uploaded_at, i.imported_by, i.imported_at \
     FROM register_imports i JOIN register_sources s ON s.org_id = i.org_id AND s.id = i.source_id";

/// A file uploaded for import.
#[derive(Debug, Clone)]
pub struct NewImport {
    /// Its id.
    pub id: Uuid,
    /// The source.
    pub source_id: Uuid,
    /// The format, detected from the content.
    pub format: FileFormat,
    /// The mapping proposed (saved for the source, or guessed).
    pub mapping: ColumnMapping,
    /// The register's date.
    pub register_date: NaiveDate,
    /// The file.
    pub file: Vec<u8>,
    /// Who uploaded it.
    pub by: UserId,
    /// When.
    pub now: DateTime<Utc>,
}

/// Records an uploaded file as a pending import.
pub async fn insert_pending(tx: &mut Tx, org: OrgId, i: &NewImport) -> Result<()> {
    execute!(
        tx,
        "INSERT INTO register_imports (org_id, id, source_id, status, format, mapping, register_date, file, uploaded_by, uploaded_at) \
         VALUES ($1, $2, $3, 'pending', $4, $5, $6, $7, $8, $9)",
        org.0,
        i.id,
        i.source_id,
        i.format.code(),
        mapping_json(&i.mapping)?,
        i.register_date,
        i.file.as_slice(),
        i.by.0,
        i.now
    )?;
    Ok(())
}

/// Changes the mapping and date of a pending import; `false` if it is not pending.
pub async fn update_pending(
    tx: &mut Tx,
    org: OrgId,
    id: Uuid,
    mapping: &ColumnMapping,
    register_date: NaiveDate,
) -> Result<bool> {
    let n = execute!(
        tx,
        "UPDATE register_imports SET mapping = $3, register_date = $4 WHERE org_id = $1 AND id = $2 AND status = 'pending'",
        org.0,
        id,
        mapping_json(mapping)?,
        register_date
    )?;
    Ok(n == 1)
}

/// One import.
pub async fn import(db: &Db, org: OrgId, id: Uuid) -> Result<Option<Import>> {
    let sql = format!("{IMPORT_COLUMNS} WHERE i.org_id = $1 AND i.id = $2");
    let row: Option<ImportDb> = on_db!(db, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(org.0)
        .bind(id)
        .fetch_optional(c)
        .await)?;
    row.map(ImportDb::into_import).transpose()
}

/// The file of a pending import (empty once done).
pub async fn file(db: &Db, org: OrgId, id: Uuid) -> Result<Vec<u8>> {
    let f: Option<Vec<u8>> = on_db!(db, |c| sqlx::query_scalar(
        "SELECT file FROM register_imports WHERE org_id = $1 AND id = $2"
    )
    .bind(org.0)
    .bind(id)
    .fetch_optional(c)
    .await)?;
    Ok(f.unwrap_or_default())
}

/// The latest imports, newest first.
pub async fn imports(db: &Db, org: OrgId, limit: i64) -> Result<Vec<Import>> {
    let sql = format!(
        "{IMPORT_COLUMNS} WHERE i.org_id = $1 ORDER BY i.uploaded_at DESC, i.id DESC LIMIT $2"
    );
    let rows: Vec<ImportDb> = on_db!(db, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(org.0)
        .bind(limit)
        .fetch_all(c)
        .await)?;
    rows.into_iter().map(ImportDb::into_import).collect()
}

/// The last done import of a source confirmed before `before` (or the last of all), which an
/// import is compared with.
pub async fn previous_done(
    db: &Db,
    org: OrgId,
    source: Uuid,
    before: Option<DateTime<Utc>>,
) -> Result<Option<Import>> {
    let sql = format!(
        "{IMPORT_COLUMNS} WHERE i.org_id = $1 AND i.source_id = $2 AND i.status = 'done' AND ($3 IS NULL OR i.imported_at < $3) \
         ORDER BY i.imported_at DESC, i.id DESC LIMIT 1"
    );
    let row: Option<ImportDb> = on_db!(db, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(org.0)
        .bind(source)
        .bind(before)
        .fetch_optional(c)
        .await)?;
    row.map(ImportDb::into_import).transpose()
}

/// How a stored row found its agency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Matched {
    /// A certain match, applied without asking.
    Certain,
    /// An uncertain match a person confirmed.
    Confirmed,
    /// No match (or matches rejected): a new agency.
    Created,
}

impl Matched {
    /// The stable code.
    pub fn code(self) -> &'static str {
        match self {
            Matched::Certain => "certain",
            Matched::Confirmed => "confirmed",
            Matched::Created => "created",
        }
    }

    fn from_code(code: &str) -> Option<Self> {
        match code {
            "certain" => Some(Matched::Certain),
            "confirmed" => Some(Matched::Confirmed),
            "created" => Some(Matched::Created),
            _ => None,
        }
    }
}

/// A row of a done import, with its agency.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRow {
    /// The row as read.
    pub row: RegisterRow,
    /// The agency it became or was matched to.
    pub agency_id: Uuid,
    /// How.
    pub matched: Matched,
}

#[derive(sqlx::FromRow)]
struct StoredRowDb {
    line: i64,
    name: String,
    registration_number: Option<String>,
    tax_number: Option<String>,
    licence_number: Option<String>,
    licence_date: Option<NaiveDate>,
    revoked_on: Option<NaiveDate>,
    licensed: bool,
    address: Option<String>,
    place: Option<String>,
    agency_id: Uuid,
    matched: String,
}

/// The rows of a done import, in file order.
pub async fn rows_of(db: &Db, org: OrgId, import: Uuid) -> Result<Vec<StoredRow>> {
    let rows: Vec<StoredRowDb> = on_db!(db, |c| {
        sqlx::query_as(
        "SELECT line, name, registration_number, tax_number, licence_number, licence_date, revoked_on, licensed, \
         address, place, agency_id, matched FROM register_rows WHERE org_id = $1 AND import_id = $2 ORDER BY line"
    )
    .bind(org.0)
    .bind(import)
    .fetch_all(c)
    .await
    })?;
    rows.into_iter()
        .map(|r| {
            Ok(StoredRow {
                matched: Matched::from_code(&r.matched)
                    .ok_or_else(|| StoreError::corrupt("register_rows", "matched", &r.matched))?,
                agency_id: r.agency_id,
                row: RegisterRow {
                    line: usize::try_from(r.line).unwrap_or(0),
                    name: r.name,
                    registration_number: r.registration_number,
                    tax_number: r.tax_number,
                    licence_number: r.licence_number,
                    licence_date: r.licence_date,
                    revoked_on: r.revoked_on,
                    licensed: r.licensed,
                    address: r.address,
                    place: r.place,
                },
            })
        })
        .collect()
}

/// The agencies the last done import of a source found licensed.
pub async fn licensed_by_source(db: &Db, org: OrgId, source: Uuid) -> Result<Vec<Uuid>> {
    Ok(on_db!(db, |c| {
        sqlx::query_scalar(
        "SELECT h.agency_id FROM agency_register_history h \
         WHERE h.org_id = $1 AND h.status = 'licensed' AND h.import_id = ( \
             SELECT i.id FROM register_imports i WHERE i.org_id = $1 AND i.source_id = $2 AND i.status = 'done' \
             ORDER BY i.imported_at DESC, i.id DESC LIMIT 1) \
         ORDER BY h.agency_id"
    )
    .bind(org.0)
    .bind(source)
    .fetch_all(c)
    .await
    })?)
}

/// What a confirmed import applies.
#[derive(Debug, Clone)]
pub struct Completion {
    /// The rows read, each with its agency and how it was matched.
    pub rows: Vec<StoredRow>,
    /// Agencies licensed by this source before and absent now.
    pub not_found: Vec<Uuid>,
    /// Rows refused.
    pub error_count: i64,
    /// Agencies created.
    pub created_count: i64,
    /// Who confirmed.
    pub by: UserId,
    /// When.
    pub now: DateTime<Utc>,
}

/// Marks a pending import done and stores its rows and the register history of every agency it
/// speaks about (licensed, revoked, or not found). `false` if it was not pending (confirmed twice,
/// or by someone else meanwhile): nothing is written then. Call inside the transaction that also
/// sets the agencies' licence status.
pub async fn complete(
    tx: &mut Tx,
    ids: &IdGen<'_>,
    org: OrgId,
    import: &Import,
    c: &Completion,
) -> Result<bool> {
    let n = execute!(
        tx,
        "UPDATE register_imports SET status = 'done', file = $3, row_count = $4, error_count = $5, created_count = $6, \
         not_found_count = $7, imported_by = $8, imported_at = $9 WHERE org_id = $1 AND id = $2 AND status = 'pending'",
        org.0,
        import.id,
        Vec::<u8>::new(),
        i64::try_from(c.rows.len()).unwrap_or(i64::MAX),
        c.error_count,
        c.created_count,
        i64::try_from(c.not_found.len()).unwrap_or(i64::MAX),
        c.by.0,
        c.now
    )?;
    if n != 1 {
        return Ok(false);
    }
    for s in &c.rows {
        let r = &s.row;
        execute!(
            tx,
            "INSERT INTO register_rows (org_id, import_id, line, name, registration_number, tax_number, licence_number, \
             licence_date, revoked_on, licensed, address, place, agency_id, matched) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
            org.0,
            import.id,
            i64::try_from(r.line).unwrap_or(i64::MAX),
            r.name.as_str(),
            r.registration_number.as_deref(),
            r.tax_number.as_deref(),
            r.licence_number.as_deref(),
            r.licence_date,
            r.revoked_on,
            r.licensed,
            r.address.as_deref(),
            r.place.as_deref(),
            s.agency_id,
            s.matched.code()
        )?;
    }
    let mut history: Vec<(Uuid, LicenceStatus)> = Vec::new();
    for s in &c.rows {
        let status = if s.row.licensed {
            LicenceStatus::Licensed
        } else {
            LicenceStatus::Revoked
        };
        // Two rows matched to one agency: a licence in force wins.
        match history.iter_mut().find(|(a, _)| *a == s.agency_id) {
            Some(h) if status == LicenceStatus::Licensed => h.1 = status,
            Some(_) => {}
            None => history.push((s.agency_id, status)),
        }
    }
    for a in &c.not_found {
        if !history.iter().any(|(h, _)| h == a) {
            history.push((*a, LicenceStatus::NotFound));
        }
    }
    for (agency, status) in history {
        execute!(
            tx,
            "INSERT INTO agency_register_history (org_id, id, agency_id, import_id, source_id, status, as_of) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            org.0,
            ids.uuid(),
            agency,
            import.id,
            import.source_id,
            status.code(),
            import.register_date
        )?;
    }
    Ok(true)
}

/// One entry of an agency's register history.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEntry {
    /// The register's date.
    pub as_of: NaiveDate,
    /// What it said.
    pub status: LicenceStatus,
    /// The source's name.
    pub source_name: String,
    /// The import.
    pub import_id: Uuid,
}

/// What every import said about an agency, newest register date first.
pub async fn history_of(db: &Db, org: OrgId, agency: Uuid) -> Result<Vec<HistoryEntry>> {
    let rows: Vec<(NaiveDate, String, String, Uuid)> = on_db!(db, |c| sqlx::query_as(
        "SELECT h.as_of, h.status, s.name, h.import_id FROM agency_register_history h \
         JOIN register_sources s ON s.org_id = h.org_id AND s.id = h.source_id \
         WHERE h.org_id = $1 AND h.agency_id = $2 ORDER BY h.as_of DESC, h.id DESC"
    )
    .bind(org.0)
    .bind(agency)
    .fetch_all(c)
    .await)?;
    rows.into_iter()
        .map(|(as_of, status, source_name, import_id)| {
            Ok(HistoryEntry {
                status: LicenceStatus::from_code(&status).ok_or_else(|| {
                    StoreError::corrupt("agency_register_history", "status", &status)
                })?,
                as_of,
                source_name,
                import_id,
            })
        })
        .collect()
}

/// Fills in an agency's registration and tax numbers from the register where Haven had none
/// (after a person confirmed that a register row is that agency), so the next import matches it
/// by number without asking again. Numbers already recorded are never overwritten.
pub async fn fill_numbers(
    tx: &mut Tx,
    org: OrgId,
    agency: Uuid,
    registration_number: Option<&str>,
    tax_number: Option<&str>,
) -> Result<()> {
    execute!(
        tx,
        "UPDATE agencies SET registration_number = COALESCE(registration_number, $3), tax_number = COALESCE(tax_number, $4) \
         WHERE org_id = $1 AND id = $2",
        org.0,
        agency,
        registration_number,
        tax_number
    )?;
    Ok(())
}
