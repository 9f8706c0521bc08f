//! The public portal's records: receipt codes of anonymous submissions, the thread between the
//! visitor and the counsellor, files sent with a submission, and the pages editors write.
//!
//! A submission itself is a desk contact (`contacts`, line `portal`, channel `web_form`); what is
//! here hangs off it. Message bodies and file names and contents are sealed like every other
//! identifying value; a receipt code is kept only as a public selector (its first characters,
//! random) and an Argon2 hash of the whole code.

use chrono::{DateTime, Utc};
use haven_crypto::keys::OrgKeyring;
use haven_domain::desk::ContactId;
use haven_domain::{OrgId, SecureRng, UserId};
use uuid::Uuid;

use crate::encrypted::EncryptedTable;
use crate::sealing::{open, seal};
use crate::{Db, Result, Tx, execute, on_db, on_tx};

/// The encrypted columns of the portal's tables.
pub const ENCRYPTED: &[EncryptedTable] = &[
    EncryptedTable {
        table: "portal_messages",
        columns: &["body_enc"],
    },
    EncryptedTable {
        table: "portal_files",
        columns: &["name_enc", "content_enc"],
    },
];

/// The address of the account portal submissions are recorded by (disabled; it never signs in).
pub const SYSTEM_EMAIL: &str = "portal-visitor@system.invalid";

/// The account that records portal submissions in an organisation, created (disabled, with no
/// password) the first time it is needed.
pub async fn system_user(tx: &mut Tx, org: OrgId, id: Uuid, now: DateTime<Utc>) -> Result<UserId> {
    let found: Option<Uuid> = on_tx!(tx, |c| {
        sqlx::query_scalar("SELECT id FROM users WHERE org_id = $1 AND email_key = $2")
            .bind(org.0)
            .bind(SYSTEM_EMAIL)
            .fetch_optional(&mut *c)
            .await
    })?;
    if let Some(u) = found {
        return Ok(UserId(u));
    }
    execute!(
        tx,
        "INSERT INTO users (org_id, id, email, email_key, display_name, language, password_hash, status, created_at, updated_at) \
         VALUES ($1, $2, $3, $3, $4, $5, NULL, 'disabled', $6, $6)",
        org.0,
        id,
        SYSTEM_EMAIL,
        "Portal",
        "en",
        now
    )?;
    Ok(UserId(id))
}

/// Stores a receipt code's selector and hash for a submission.
pub async fn add_receipt(
    tx: &mut Tx,
    org: OrgId,
    contact: ContactId,
    selector: &str,
    code_hash: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    execute!(
        tx,
        "INSERT INTO portal_receipts (org_id, contact_id, selector, code_hash, created_at) VALUES ($1, $2, $3, $4, $5)",
        org.0,
        contact.0,
        selector,
        code_hash,
        now
    )?;
    Ok(())
}

/// The submission and hash a receipt selector belongs to.
pub async fn receipt(db: &Db, selector: &str) -> Result<Option<(OrgId, ContactId, String)>> {
    let row: Option<(Uuid, Uuid, String)> = on_db!(db, |c| {
        sqlx::query_as(
            "SELECT org_id, contact_id, code_hash FROM portal_receipts WHERE selector = $1",
        )
        .bind(selector)
        .fetch_optional(c)
        .await
    })?;
    Ok(row.map(|(o, c, h)| (OrgId(o), ContactId(c), h)))
}

/// Whether a submission came with a receipt code (a portal thread).
pub async fn has_receipt(db: &Db, org: OrgId, contact: ContactId) -> Result<bool> {
    let n: i64 = on_db!(db, |c| {
        sqlx::query_scalar(
            "SELECT count(*) FROM portal_receipts WHERE org_id = $1 AND contact_id = $2",
        )
        .bind(org.0)
        .bind(contact.0)
        .fetch_one(c)
        .await
    })?;
    Ok(n > 0)
}

/// Who wrote a message of a thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Author {
    /// The visitor.
    Visitor,
    /// A counsellor.
    Counsellor,
}

impl Author {
    fn code(self) -> &'static str {
        match self {
            Author::Visitor => "visitor",
            Author::Counsellor => "counsellor",
        }
    }
}

/// A message of a thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Who wrote it.
    pub author: Author,
    /// Its text.
    pub body: String,
    /// The counsellor who wrote it.
    pub by: Option<UserId>,
    /// When.
    pub at: DateTime<Utc>,
}

/// Adds a message to a submission's thread.
#[allow(clippy::too_many_arguments)]
pub async fn add_message(
    tx: &mut Tx,
    ring: &OrgKeyring,
    rng: &dyn SecureRng,
    org: OrgId,
    id: Uuid,
    contact: ContactId,
    author: Author,
    body: &str,
    by: Option<UserId>,
    now: DateTime<Utc>,
) -> Result<()> {
    let sealed = seal(
        ring,
        rng,
        "portal_messages",
        "body_enc",
        id,
        &body.to_owned(),
    )?;
    execute!(
        tx,
        "INSERT INTO portal_messages (org_id, id, contact_id, author, body_enc, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        org.0,
        id,
        contact.0,
        author.code(),
        sealed,
        by.map(|u| u.0),
        now
    )?;
    Ok(())
}

type MessageRow = (Uuid, String, Vec<u8>, Option<Uuid>, DateTime<Utc>);

/// A submission's thread, oldest first.
pub async fn messages(
    db: &Db,
    ring: &OrgKeyring,
    org: OrgId,
    contact: ContactId,
) -> Result<Vec<Message>> {
    let rows: Vec<MessageRow> = on_db!(db, |c| {
        sqlx::query_as(
            "SELECT id, author, body_enc, created_by, created_at FROM portal_messages WHERE org_id = $1 AND contact_id = $2 ORDER BY created_at, id",
        )
        .bind(org.0)
        .bind(contact.0)
        .fetch_all(c)
        .await
    })?;
    rows.into_iter()
        .map(|(id, author, b, by, at)| {
            Ok(Message {
                author: if author == "counsellor" {
                    Author::Counsellor
                } else {
                    Author::Visitor
                },
                body: open(ring, "portal_messages", "body_enc", id, b)?,
                by: by.map(UserId),
                at,
            })
        })
        .collect()
}

/// A file sent with a submission, described.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInfo {
    /// Its id.
    pub id: Uuid,
    /// The media type found in its content.
    pub media_type: String,
    /// Its size.
    pub size_bytes: i64,
    /// Its name as sent.
    pub name: String,
}

/// Stores a file of a submission, name and content sealed.
#[allow(clippy::too_many_arguments)]
pub async fn add_file(
    tx: &mut Tx,
    ring: &OrgKeyring,
    rng: &dyn SecureRng,
    org: OrgId,
    id: Uuid,
    contact: ContactId,
    media_type: &str,
    name: &str,
    content: &[u8],
    now: DateTime<Utc>,
) -> Result<()> {
    let name_enc = seal(ring, rng, "portal_files", "name_enc", id, &name.to_owned())?;
    let content_enc = seal(
        ring,
        rng,
        "portal_files",
        "content_enc",
        id,
        &content.to_vec(),
    )?;
    execute!(
        tx,
        "INSERT INTO portal_files (org_id, id, contact_id, media_type, size_bytes, name_enc, content_enc, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        org.0,
        id,
        contact.0,
        media_type,
        i64::try_from(content.len()).unwrap_or(i64::MAX),
        name_enc,
        content_enc,
        now
    )?;
    Ok(())
}

/// The files of a submission.
pub async fn files(
    db: &Db,
    ring: &OrgKeyring,
    org: OrgId,
    contact: ContactId,
) -> Result<Vec<FileInfo>> {
    let rows: Vec<(Uuid, String, i64, Vec<u8>)> = on_db!(db, |c| {
        sqlx::query_as(
            "SELECT id, media_type, size_bytes, name_enc FROM portal_files WHERE org_id = $1 AND contact_id = $2 ORDER BY created_at, id",
        )
        .bind(org.0)
        .bind(contact.0)
        .fetch_all(c)
        .await
    })?;
    rows.into_iter()
        .map(|(id, media_type, size_bytes, n)| {
            Ok(FileInfo {
                id,
                media_type,
                size_bytes,
                name: open(ring, "portal_files", "name_enc", id, n)?,
            })
        })
        .collect()
}

/// A file's media type and content.
pub async fn file_content(
    db: &Db,
    ring: &OrgKeyring,
    org: OrgId,
    contact: ContactId,
    id: Uuid,
) -> Result<Option<(String, Vec<u8>)>> {
    let row: Option<(String, Vec<u8>)> = on_db!(db, |c| {
        sqlx::query_as(
            "SELECT media_type, content_enc FROM portal_files WHERE org_id = $1 AND contact_id = $2 AND id = $3",
        )
        .bind(org.0)
        .bind(contact.0)
        .bind(id)
        .fetch_optional(c)
        .await
    })?;
    match row {
        Some((m, b)) => Ok(Some((m, open(ring, "portal_files", "content_enc", id, b)?))),
        None => Ok(None),
    }
}

/// A version of an editor's page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageVersion {
    /// Its id.
    pub id: Uuid,
    /// The page.
    pub slug: String,
    /// The language code.
    pub language: String,
    /// The title.
    pub title: String,
    /// The Markdown.
    pub body: String,
    /// Whether it was published.
    pub published: bool,
    /// Who saved it.
    pub by: UserId,
    /// When.
    pub at: DateTime<Utc>,
}

/// Saves a version of a page (a draft or a publication).
#[allow(clippy::too_many_arguments)]
pub async fn save_page(
    tx: &mut Tx,
    org: OrgId,
    id: Uuid,
    slug: &str,
    language: &str,
    title: &str,
    body: &str,
    published: bool,
    by: UserId,
    now: DateTime<Utc>,
) -> Result<()> {
    execute!(
        tx,
        "INSERT INTO portal_pages (org_id, id, slug, language, title, body, status, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        org.0,
        id,
        slug,
        language,
        title,
        body,
        if published { "published" } else { "draft" },
        by.0,
        now
    )?;
    Ok(())
}

type PageRow = (
    Uuid,
    String,
    String,
    String,
    String,
    String,
    Uuid,
    DateTime<Utc>,
);

fn page_of(r: PageRow) -> PageVersion {
    PageVersion {
        id: r.0,
        slug: r.1,
        language: r.2,
        title: r.3,
        body: r.4,
        published: r.5 == "published",
        by: UserId(r.6),
        at: r.7,
    }
}

/// Every saved version of a page in a language, newest first.
pub async fn page_history(
    db: &Db,
    org: OrgId,
    slug: &str,
    language: &str,
) -> Result<Vec<PageVersion>> {
    let rows: Vec<PageRow> = on_db!(db, |c| {
        sqlx::query_as(
            "SELECT id, slug, language, title, body, status, created_by, created_at FROM portal_pages \
             WHERE org_id = $1 AND slug = $2 AND language = $3 ORDER BY created_at DESC, id DESC",
        )
        .bind(org.0)
        .bind(slug)
        .bind(language)
        .fetch_all(c)
        .await
    })?;
    Ok(rows.into_iter().map(page_of).collect())
}

/// The version of a page in a language readers see: the latest published one.
pub async fn published_page(
    db: &Db,
    org: OrgId,
    slug: &str,
    language: &str,
) -> Result<Option<PageVersion>> {
    let row: Option<PageRow> = on_db!(db, |c| {
        sqlx::query_as(
            "SELECT id, slug, language, title, body, status, created_by, created_at FROM portal_pages \
             WHERE org_id = $1 AND slug = $2 AND language = $3 AND status = 'published' ORDER BY created_at DESC, id DESC LIMIT 1",
        )
        .bind(org.0)
        .bind(slug)
        .bind(language)
        .fetch_optional(c)
        .await
    })?;
    Ok(row.map(page_of))
}

/// The published news items of a language (pages whose address starts with `news-`), newest
/// first, the latest published version of each.
pub async fn published_news(db: &Db, org: OrgId, language: &str) -> Result<Vec<PageVersion>> {
    let rows: Vec<PageRow> = on_db!(db, |c| {
        sqlx::query_as(
            "SELECT id, slug, language, title, body, status, created_by, created_at FROM portal_pages \
             WHERE org_id = $1 AND language = $2 AND status = 'published' AND slug LIKE 'news-%' \
             ORDER BY created_at DESC, id DESC LIMIT 500",
        )
        .bind(org.0)
        .bind(language)
        .fetch_all(c)
        .await
    })?;
    let mut seen = std::collections::BTreeSet::new();
    Ok(rows
        .into_iter()
        .map(page_of)
        .filter(|p| seen.insert(p.slug.clone()))
        .collect())
}
