//! The registry of encrypted columns, and the work done over all of them: checking that every
//! field opens (`haven keys check`) and re-encrypting fields still under an older data key
//! version (`haven keys rotate` and the background task of `haven serve`).
//!
//! A feature that stores identifying data declares its table here ([`TABLES`]); from then on key
//! checks and rotations cover it without further code. The registry names tables and columns as
//! constants, which is what lets the SQL below be built at run time: no name in it ever comes from
//! input.

use std::collections::BTreeMap;

use haven_crypto::field::{FieldLocation, key_version};
use haven_crypto::keys::OrgKeyring;
use haven_domain::{OrgId, SecureRng};
use sqlx::{AssertSqlSafe, Row};
use uuid::Uuid;

use crate::{Db, Result, StoreError, on_db, on_tx};

/// A table with encrypted columns: its name, and the columns that hold ciphertexts. The table's
/// primary key is `(org_id, id)`; the columns are BLOB/BYTEA, sealed for `(table, column, id)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncryptedTable {
    /// The table.
    pub table: &'static str,
    /// Its encrypted columns.
    pub columns: &'static [&'static str],
}

/// Every table with encrypted columns. Add a feature's table here when it stores identities.
pub const TABLES: &[EncryptedTable] = &[
    crate::people::ENCRYPTED,
    crate::cases::ENCRYPTED[0],
    crate::cases::ENCRYPTED[1],
    crate::cases::ENCRYPTED[2],
    crate::cases::ENCRYPTED[3],
    crate::cases::ENCRYPTED[4],
    crate::cases::ENCRYPTED[5],
    crate::documents::ENCRYPTED[0],
    crate::documents::ENCRYPTED[1],
    // The second factor's secret of staff accounts (pending or enabled).
    EncryptedTable {
        table: "users",
        columns: &["totp_secret"],
    },
    crate::court::ENCRYPTED[0],
    crate::court::ENCRYPTED[1],
    crate::court::ENCRYPTED[2],
    crate::court::ENCRYPTED[3],
    crate::contacts::ENCRYPTED[0],
    crate::contacts::ENCRYPTED[1],
    crate::contacts::ENCRYPTED[2],
    crate::contacts::ENCRYPTED[3],
    crate::notifications::ENCRYPTED[0],
    crate::notifications::ENCRYPTED[1],
    crate::portal::ENCRYPTED[0],
    crate::portal::ENCRYPTED[1],
    // The previous versions of corrected court records, and the reasons.
    crate::court::ENCRYPTED[4],
    crate::agencies::ENCRYPTED[0],
    crate::agencies::ENCRYPTED[1],
    crate::agencies::ENCRYPTED[2],
    crate::agencies::ENCRYPTED[3],
    crate::agencies::ENCRYPTED[4],
    // The files institutions attach to their replies.
    crate::notifications::ENCRYPTED[2],
];

/// What a scan of one column found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ColumnReport {
    /// The table.
    pub table: &'static str,
    /// The column.
    pub column: &'static str,
    /// How many values it holds.
    pub fields: u64,
    /// How many values each data key version sealed.
    pub by_version: BTreeMap<u32, u64>,
    /// Values that failed (record id and why), at most [`MAX_FAILURES`] of them.
    pub failures: Vec<(Uuid, String)>,
    /// How many values failed in all.
    pub failed: u64,
}

/// The most failures a report lists one by one.
pub const MAX_FAILURES: usize = 20;

/// Rows read per query while scanning.
const SCAN_PAGE: i64 = 500;

/// How thoroughly to check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckDepth {
    /// Every value is decrypted and authenticated.
    Decrypt,
    /// Only each ciphertext's header is read: format and a key version the keyring holds.
    Headers,
}

/// One page of a table: ids and the values of its encrypted columns.
type Page = Vec<(Uuid, Vec<Option<Vec<u8>>>)>;

async fn read_page(
    db: &Db,
    org: OrgId,
    t: &EncryptedTable,
    after: Uuid,
    limit: i64,
) -> Result<Page> {
    let sql = format!(
        "SELECT id, {} FROM {} WHERE org_id = $1 AND id > $2 ORDER BY id LIMIT $3",
        t.columns.join(", "),
        t.table
    );
    let n = t.columns.len();
    on_db!(db, |c| {
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(org.0)
            .bind(after)
            .bind(limit)
            .fetch_all(c)
            .await?;
        let mut page = Vec::with_capacity(rows.len());
        for row in rows {
            let id: Uuid = row.try_get(0)?;
            let mut values = Vec::with_capacity(n);
            for i in 1..=n {
                values.push(row.try_get::<Option<Vec<u8>>, _>(i)?);
            }
            page.push((id, values));
        }
        Ok::<Page, StoreError>(page)
    })
}

/// Checks every encrypted value of one organisation against its keyring.
pub async fn check(
    db: &Db,
    org: OrgId,
    ring: &OrgKeyring,
    depth: CheckDepth,
) -> Result<Vec<ColumnReport>> {
    let known: Vec<u32> = ring.versions().collect();
    let mut reports = Vec::new();
    for t in TABLES {
        let mut cols: Vec<ColumnReport> = t
            .columns
            .iter()
            .map(|c| ColumnReport {
                table: t.table,
                column: c,
                ..ColumnReport::default()
            })
            .collect();
        let mut after = Uuid::nil();
        loop {
            let page = read_page(db, org, t, after, SCAN_PAGE).await?;
            let Some((last, _)) = page.last() else { break };
            after = *last;
            for (id, values) in &page {
                for (report, value) in cols.iter_mut().zip(values) {
                    let Some(bytes) = value else { continue };
                    report.fields += 1;
                    let problem = match key_version(bytes) {
                        None => Some("not a ciphertext of a known format".to_owned()),
                        Some(v) => {
                            *report.by_version.entry(v).or_default() += 1;
                            match depth {
                                CheckDepth::Headers if known.contains(&v) => None,
                                CheckDepth::Headers => Some(format!(
                                    "sealed with data key version {v}, which the organisation does not have"
                                )),
                                CheckDepth::Decrypt => ring
                                    .open(FieldLocation::new(t.table, report.column, *id), bytes)
                                    .err()
                                    .map(|e| e.to_string()),
                            }
                        }
                    };
                    if let Some(why) = problem {
                        report.failed += 1;
                        if report.failures.len() < MAX_FAILURES {
                            report.failures.push((*id, why));
                        }
                    }
                }
            }
        }
        reports.append(&mut cols);
    }
    Ok(reports)
}

/// What one batch of re-encryption did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Rows read.
    pub rows: u64,
    /// Values re-encrypted under the current version.
    pub reencrypted: u64,
    /// Values left alone because someone changed them while the batch ran (they were sealed
    /// afresh by that change).
    pub changed_meanwhile: u64,
    /// The last row id of the batch, where the next batch starts.
    pub last: Option<Uuid>,
}

/// Re-encrypts, under the keyring's current version, every value in up to `limit` rows of `t`
/// after `after` that an older version sealed, in one transaction of its own. A value is only
/// replaced if it still holds the ciphertext that was read, so a concurrent change is never
/// overwritten.
pub async fn reencrypt_batch(
    db: &Db,
    org: OrgId,
    ring: &OrgKeyring,
    rng: &dyn SecureRng,
    t: &EncryptedTable,
    after: Uuid,
    limit: i64,
) -> Result<BatchOutcome> {
    let current = ring.current_version();
    let page = read_page(db, org, t, after, limit).await?;
    let mut out = BatchOutcome {
        rows: page.len() as u64,
        last: page.last().map(|(id, _)| *id),
        ..BatchOutcome::default()
    };
    let mut changes: Vec<(Uuid, &'static str, Vec<u8>, Vec<u8>)> = Vec::new();
    for (id, values) in page {
        for (column, value) in t.columns.iter().zip(values) {
            let Some(old) = value else { continue };
            if key_version(&old) == Some(current) {
                continue;
            }
            let loc = FieldLocation::new(t.table, column, id);
            let plain = ring.open(loc, &old).map_err(|source| StoreError::Crypto {
                table: t.table,
                column,
                record: id,
                source,
            })?;
            let new = ring
                .seal(loc, &plain, rng)
                .map_err(|source| StoreError::Crypto {
                    table: t.table,
                    column,
                    record: id,
                    source,
                })?;
            changes.push((id, column, old, new));
        }
    }
    if changes.is_empty() {
        return Ok(out);
    }
    let mut tx = db.begin().await?;
    for (id, column, old, new) in changes {
        let sql = format!(
            "UPDATE {} SET {column} = $3 WHERE org_id = $1 AND id = $2 AND {column} = $4",
            t.table
        );
        let n = on_tx!(&mut tx, |c| sqlx::query(AssertSqlSafe(sql))
            .bind(org.0)
            .bind(id)
            .bind(new)
            .bind(old)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected()))?;
        if n == 1 {
            out.reencrypted += 1;
        } else {
            out.changed_meanwhile += 1;
        }
    }
    tx.commit().await?;
    Ok(out)
}

/// Progress of a whole re-encryption, reported after each batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// The table being worked on.
    pub table: &'static str,
    /// Rows of that table read so far.
    pub rows: u64,
    /// Values re-encrypted so far, in every table.
    pub reencrypted: u64,
    /// Values left alone because they changed meanwhile, in every table.
    pub changed_meanwhile: u64,
}

/// Re-encrypts every value of one organisation that an older data key version sealed, table by
/// table in batches of `batch` rows (each its own transaction), calling `progress` after each.
pub async fn reencrypt_all(
    db: &Db,
    org: OrgId,
    ring: &OrgKeyring,
    rng: &dyn SecureRng,
    batch: i64,
    mut progress: impl FnMut(&Progress),
) -> Result<Progress> {
    let mut total = Progress::default();
    for t in TABLES {
        total.table = t.table;
        total.rows = 0;
        let mut after = Uuid::nil();
        loop {
            let b = reencrypt_batch(db, org, ring, rng, t, after, batch).await?;
            total.rows += b.rows;
            total.reencrypted += b.reencrypted;
            total.changed_meanwhile += b.changed_meanwhile;
            match b.last {
                Some(last) => after = last,
                None => break,
            }
            progress(&total);
        }
    }
    Ok(total)
}

/// How many values each data key version sealed, over every encrypted column of one organisation
/// (without decrypting).
pub async fn versions_in_use(db: &Db, org: OrgId) -> Result<BTreeMap<u32, u64>> {
    let mut out = BTreeMap::new();
    for t in TABLES {
        let mut after = Uuid::nil();
        loop {
            let page = read_page(db, org, t, after, SCAN_PAGE).await?;
            let Some((last, _)) = page.last() else { break };
            after = *last;
            for (_, values) in &page {
                for bytes in values.iter().flatten() {
                    if let Some(v) = key_version(bytes) {
                        *out.entry(v).or_default() += 1;
                    }
                }
            }
        }
    }
    Ok(out)
}
