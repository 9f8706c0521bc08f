//! Documents of cases: stored inside the database, sealed.
//!
//! Why inside the database: a document then shares the transaction of its metadata and audit
//! entry (no orphan files, nothing acknowledged and lost), the one backup of the database holds
//! it, several `haven serve` processes on PostgreSQL see it without a shared file system, and key
//! checks and rotation reach it through the registry of encrypted columns like any other field.
//!
//! The content is sealed in chunks of [`CHUNK`] bytes, one row each, so that a key check or a
//! rotation reading a page of rows holds a bounded amount in memory. Each chunk's plaintext
//! starts with its document id and place, checked when it is opened, so chunks cannot be
//! reordered or moved between documents unnoticed; the count and size in the document row catch
//! a missing chunk.

use chrono::{DateTime, Utc};
use haven_crypto::keys::OrgKeyring;
use haven_domain::cases::{CaseId, DocumentId, DocumentKind};
use haven_domain::people::PersonId;
use haven_domain::{OrgId, SecureRng, UserId};
use uuid::Uuid;

use crate::encrypted::EncryptedTable;
use crate::sealing::{open, seal};
use crate::{Db, Result, StoreError, Tx, execute, on_db};

/// The encrypted columns of documents.
pub const ENCRYPTED: &[EncryptedTable] = &[
    EncryptedTable {
        table: "case_documents",
        columns: &["name_enc"],
    },
    EncryptedTable {
        table: "document_chunks",
        columns: &["content_enc"],
    },
];

/// Bytes of content per sealed chunk.
pub const CHUNK: usize = 128 * 1024;

/// A document to store.
pub struct NewDocument<'a> {
    /// Its id.
    pub id: DocumentId,
    /// The case.
    pub case_id: CaseId,
    /// The person it concerns, if one.
    pub person_id: Option<PersonId>,
    /// What it is.
    pub kind: DocumentKind,
    /// The media type found in its content.
    pub media_type: &'static str,
    /// The file name as uploaded.
    pub name: String,
    /// The content.
    pub content: &'a [u8],
    /// Who uploaded it (none for a file an institution sent with its reply).
    pub uploaded_by: Option<UserId>,
    /// Now.
    pub now: DateTime<Utc>,
}

/// A document's description, its name decrypted.
#[derive(Clone)]
pub struct Document {
    /// Its id.
    pub id: DocumentId,
    /// The case.
    pub case_id: CaseId,
    /// The person it concerns.
    pub person_id: Option<PersonId>,
    /// What it is.
    pub kind: DocumentKind,
    /// The media type found in its content.
    pub media_type: String,
    /// Its size in bytes.
    pub size_bytes: i64,
    /// Its name as uploaded.
    pub name: String,
    /// Who uploaded it.
    pub uploaded_by: Option<UserId>,
    /// When.
    pub uploaded_at: DateTime<Utc>,
}

fn chunk_plaintext(doc: DocumentId, seq: u32, bytes: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(20 + bytes.len());
    v.extend_from_slice(doc.0.as_bytes());
    v.extend_from_slice(&seq.to_be_bytes());
    v.extend_from_slice(bytes);
    v
}

/// Stores a document, its name and content sealed.
pub async fn insert(
    tx: &mut Tx,
    ring: &OrgKeyring,
    rng: &dyn SecureRng,
    ids: &haven_domain::IdGen<'_>,
    org: OrgId,
    d: &NewDocument<'_>,
) -> Result<()> {
    let name = seal(ring, rng, "case_documents", "name_enc", d.id.0, &d.name)?;
    let chunks: Vec<&[u8]> = d.content.chunks(CHUNK).collect();
    execute!(
        tx,
        "INSERT INTO case_documents (org_id, id, case_id, person_id, kind, media_type, size_bytes, chunks, name_enc, uploaded_by, uploaded_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        org.0,
        d.id.0,
        d.case_id.0,
        d.person_id.map(|p| p.0),
        d.kind.code(),
        d.media_type,
        i64::try_from(d.content.len()).unwrap_or(i64::MAX),
        i64::try_from(chunks.len()).unwrap_or(i64::MAX),
        name,
        d.uploaded_by.map(|u| u.0),
        d.now
    )?;
    for (seq, bytes) in chunks.into_iter().enumerate() {
        let seq =
            u32::try_from(seq).map_err(|_| StoreError::corrupt("document_chunks", "seq", seq))?;
        let id: Uuid = ids.uuid();
        let sealed = seal(
            ring,
            rng,
            "document_chunks",
            "content_enc",
            id,
            &chunk_plaintext(d.id, seq, bytes),
        )?;
        execute!(
            tx,
            "INSERT INTO document_chunks (org_id, id, document_id, seq, content_enc) VALUES ($1, $2, $3, $4, $5)",
            org.0,
            id,
            d.id.0,
            i64::from(seq),
            sealed
        )?;
    }
    Ok(())
}

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    case_id: Uuid,
    person_id: Option<Uuid>,
    kind: String,
    media_type: String,
    size_bytes: i64,
    name_enc: Vec<u8>,
    uploaded_by: Option<Uuid>,
    uploaded_at: DateTime<Utc>,
}

impl Row {
    fn open(self, ring: &OrgKeyring) -> Result<Document> {
        Ok(Document {
            id: DocumentId(self.id),
            case_id: CaseId(self.case_id),
            person_id: self.person_id.map(PersonId),
            kind: DocumentKind::from_code(&self.kind)
                .ok_or_else(|| StoreError::corrupt("case_documents", "kind", &self.kind))?,
            media_type: self.media_type,
            size_bytes: self.size_bytes,
            name: open(ring, "case_documents", "name_enc", self.id, self.name_enc)?,
            uploaded_by: self.uploaded_by.map(UserId),
            uploaded_at: self.uploaded_at,
        })
    }
}

const COLUMNS: &str = "SELECT id, case_id, person_id, kind, media_type, size_bytes, name_enc, uploaded_by, uploaded_at FROM case_documents";

/// The documents of a case, newest first.
pub async fn list(db: &Db, ring: &OrgKeyring, org: OrgId, case: CaseId) -> Result<Vec<Document>> {
    let sql =
        format!("{COLUMNS} WHERE org_id = $1 AND case_id = $2 ORDER BY uploaded_at DESC, id DESC");
    let rows: Vec<Row> = on_db!(db, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(org.0)
        .bind(case.0)
        .fetch_all(c)
        .await)?;
    rows.into_iter().map(|r| r.open(ring)).collect()
}

/// One document of a case (its description), or `None`.
pub async fn get(
    db: &Db,
    ring: &OrgKeyring,
    org: OrgId,
    case: CaseId,
    id: DocumentId,
) -> Result<Option<Document>> {
    let sql = format!("{COLUMNS} WHERE org_id = $1 AND case_id = $2 AND id = $3");
    let row: Option<Row> = on_db!(db, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(org.0)
        .bind(case.0)
        .bind(id.0)
        .fetch_optional(c)
        .await)?;
    row.map(|r| r.open(ring)).transpose()
}

/// The content of a document, decrypted and checked whole.
pub async fn content(db: &Db, ring: &OrgKeyring, org: OrgId, id: DocumentId) -> Result<Vec<u8>> {
    let (size, count): (i64, i64) = on_db!(db, |c| sqlx::query_as(
        "SELECT size_bytes, chunks FROM case_documents WHERE org_id = $1 AND id = $2"
    )
    .bind(org.0)
    .bind(id.0)
    .fetch_optional(c)
    .await)?
    .ok_or(StoreError::NotFound)?;
    let rows: Vec<(Uuid, i64, Vec<u8>)> = on_db!(db, |c| {
        sqlx::query_as(
        "SELECT id, seq, content_enc FROM document_chunks WHERE org_id = $1 AND document_id = $2 ORDER BY seq"
    )
    .bind(org.0)
    .bind(id.0)
    .fetch_all(c)
    .await
    })?;
    if i64::try_from(rows.len()).unwrap_or(-1) != count {
        return Err(StoreError::corrupt(
            "document_chunks",
            "seq",
            "a chunk is missing",
        ));
    }
    let mut out = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    for (n, (chunk_id, seq, bytes)) in rows.into_iter().enumerate() {
        let plain: Vec<u8> = open(ring, "document_chunks", "content_enc", chunk_id, bytes)?;
        let expected = chunk_plaintext(id, u32::try_from(n).unwrap_or(u32::MAX), &[]);
        if seq != n as i64 || plain.len() < 20 || plain[..20] != expected[..] {
            return Err(StoreError::corrupt(
                "document_chunks",
                "content_enc",
                "a chunk is out of place",
            ));
        }
        out.extend_from_slice(&plain[20..]);
    }
    if i64::try_from(out.len()).unwrap_or(-1) != size {
        return Err(StoreError::corrupt(
            "case_documents",
            "size_bytes",
            "the content has another size",
        ));
    }
    Ok(out)
}
