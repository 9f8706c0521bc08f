//! The audit log: who did what to which record, when, from where — append-only and hash-chained.
//!
//! A change writes its entry with [`append`] inside its own transaction, into `audit_pending`: a
//! change and its audit entry commit together or not at all, and appending locks nothing, so
//! changes of one organisation commit side by side (a single chain head locked until each commit
//! made every write of an organisation wait for the one before it to reach the disk).
//!
//! [`sequence`] then chains committed entries in batches, under the lock of the organisation's
//! head in `audit_heads`: it numbers them 1, 2, 3… without gaps in the order they were written,
//! hashes each over the previous entry's hash and every field of the entry, encoded canonically
//! ([`entry_bytes`], the one encoding both the sequencer and [`verify`] use), and moves them into
//! `audit_log`, which refuses updates and deletes. The server runs it a few times a second;
//! reading the log runs it first. Entries hold field names, never the values of identifying
//! fields.

use chrono::{DateTime, Utc};
use haven_crypto::audit::{AuditHash, CanonicalEncoder, GENESIS, chain_hash};
use haven_domain::{OrgId, UserId};
use uuid::Uuid;

use crate::{Db, Result, StoreError, Tx, execute, on_db, on_tx};

/// Who acted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditActor {
    /// A signed-in staff member (or one signing in).
    User(UserId),
    /// A script using a staff member's API token.
    Token(UserId),
    /// Someone not signed in.
    Anonymous,
    /// Haven itself, or an administrator at the command line.
    System,
}

impl AuditActor {
    /// The stored kind.
    pub(crate) fn kind(self) -> &'static str {
        match self {
            AuditActor::User(_) => "user",
            AuditActor::Token(_) => "token",
            AuditActor::Anonymous => "anonymous",
            AuditActor::System => "system",
        }
    }

    /// The stored id, for a user or a token's owner.
    pub(crate) fn id(self) -> Option<Uuid> {
        match self {
            AuditActor::User(u) | AuditActor::Token(u) => Some(u.0),
            AuditActor::Anonymous | AuditActor::System => None,
        }
    }
}

/// How it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Done.
    Ok,
    /// Refused by the access policy, a CSRF check, throttling.
    Denied,
    /// Attempted and failed (a wrong password, a used link).
    Failed,
}

impl Outcome {
    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Denied => "denied",
            Outcome::Failed => "failed",
        }
    }
}

/// An event to record.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    /// Who.
    pub actor: AuditActor,
    /// What (`auth.sign_in`, `user.roles_changed`, …).
    pub action: String,
    /// How it ended.
    pub outcome: Outcome,
    /// The record it concerns: its kind (`user`, `case`, …) and id.
    pub target: Option<(String, Uuid)>,
    /// The client's address.
    pub ip: Option<String>,
    /// The request id, to find the matching log lines.
    pub request_id: Option<String>,
    /// Further facts: field names changed, reasons. Never identifying values.
    pub details: serde_json::Value,
}

impl AuditEvent {
    /// An event with no target, address or details.
    pub fn new(actor: AuditActor, action: impl Into<String>, outcome: Outcome) -> Self {
        Self {
            actor,
            action: action.into(),
            outcome,
            target: None,
            ip: None,
            request_id: None,
            details: serde_json::Value::Object(Default::default()),
        }
    }

    /// The same event about a record.
    pub fn target(mut self, kind: &str, id: Uuid) -> Self {
        self.target = Some((kind.to_owned(), id));
        self
    }

    /// The same event with details.
    pub fn details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }
}

/// A recorded entry.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AuditEntry {
    /// The organisation.
    pub org_id: Uuid,
    /// Its place in the organisation's chain, from 1.
    pub seq: i64,
    /// Its id.
    pub id: Uuid,
    /// When.
    pub occurred_at: DateTime<Utc>,
    /// `user`, `token`, `anonymous` or `system`.
    pub actor_kind: String,
    /// The account, for users and tokens.
    pub actor_id: Option<Uuid>,
    /// What.
    pub action: String,
    /// `ok`, `denied` or `failed`.
    pub outcome: String,
    /// The kind of record.
    pub target_kind: Option<String>,
    /// The record.
    pub target_id: Option<Uuid>,
    /// The client's address.
    pub ip: Option<String>,
    /// The request id.
    pub request_id: Option<String>,
    /// Details, as JSON text (hashed exactly as stored).
    pub details: String,
    /// The previous entry's hash.
    pub prev_hash: Vec<u8>,
    /// This entry's hash.
    pub hash: Vec<u8>,
}

/// The canonical bytes of an entry, which its hash covers.
pub fn entry_bytes(e: &AuditEntry) -> Vec<u8> {
    let opt_uuid = |u: Option<Uuid>| u.map(|u| u.hyphenated().to_string());
    CanonicalEncoder::new()
        .uuid("org_id", e.org_id)
        .i64("seq", e.seq)
        .uuid("id", e.id)
        .str(
            "occurred_at",
            &e.occurred_at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
        )
        .str("actor_kind", &e.actor_kind)
        .opt_str("actor_id", opt_uuid(e.actor_id).as_deref())
        .str("action", &e.action)
        .str("outcome", &e.outcome)
        .opt_str("target_kind", e.target_kind.as_deref())
        .opt_str("target_id", opt_uuid(e.target_id).as_deref())
        .opt_str("ip", e.ip.as_deref())
        .opt_str("request_id", e.request_id.as_deref())
        .str("details", &e.details)
        .finish()
}

/// The insert of a waiting entry, up to its `VALUES`: organisation, id, time, then the event's
/// fields in the order [`bind_pending!`] binds them.
macro_rules! audit_pending_insert {
    () => {
        "INSERT INTO audit_pending (org_id, id, occurred_at, actor_kind, actor_id, action, outcome, target_kind, target_id, ip, request_id, details)"
    };
}

/// Binds a waiting entry's id, time and event (eleven values, after its organisation) to a
/// query of either backend.
macro_rules! bind_pending {
    ($q:expr, $id:expr, $at:expr, $ev:expr) => {{
        let ev: &$crate::audit::AuditEvent = $ev;
        $q.bind($id)
            .bind($at)
            .bind(ev.actor.kind())
            .bind(ev.actor.id())
            .bind(ev.action.as_str())
            .bind(ev.outcome.code())
            .bind(ev.target.as_ref().map(|(k, _)| k.as_str()))
            .bind(ev.target.as_ref().map(|(_, i)| *i))
            .bind(ev.ip.as_deref())
            .bind(ev.request_id.as_deref())
            .bind(ev.details.to_string())
    }};
}

pub(crate) use {audit_pending_insert, bind_pending};

/// Records an event inside `tx`, the transaction of the change it describes: the entry commits
/// with the change or not at all. It waits in `audit_pending` until [`sequence`] numbers and
/// chains it; appending takes no lock, so changes of one organisation commit side by side.
pub async fn append(
    tx: &mut Tx,
    org: OrgId,
    id: Uuid,
    at: DateTime<Utc>,
    ev: &AuditEvent,
) -> Result<()> {
    on_tx!(tx, |c| bind_pending!(
        sqlx::query(concat!(
            audit_pending_insert!(),
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        ))
        .bind(org.0),
        id,
        at,
        ev
    )
    .execute(&mut *c)
    .await
    .map(|_| ()))?;
    Ok(())
}

/// An entry waiting to be chained.
#[derive(sqlx::FromRow)]
struct Pending {
    pid: i64,
    id: Uuid,
    occurred_at: DateTime<Utc>,
    actor_kind: String,
    actor_id: Option<Uuid>,
    action: String,
    outcome: String,
    target_kind: Option<String>,
    target_id: Option<Uuid>,
    ip: Option<String>,
    request_id: Option<String>,
    details: String,
}

/// How many waiting entries one sequencing transaction chains at most.
const BATCH: i64 = 1000;
/// Rows per multi-row statement (15 parameters each, well under both backends' limits).
const ROWS_PER_STATEMENT: usize = 250;

/// Chains every entry waiting when it is called, of every organisation, in the order they were
/// written; returns how many it chained. Safe to run from several processes at once: each
/// organisation's head is locked while its entries are chained. The server runs it a few times a
/// second ([`spawn_sequencer`]); reading the log ([`list`], [`verify`], [`head`]) and
/// [`Db::close`] run it first, so what they see is complete.
pub async fn sequence(db: &Db) -> Result<u64> {
    let orgs: Vec<Uuid> = on_db!(db, |c| sqlx::query_scalar(
        "SELECT DISTINCT org_id FROM audit_pending"
    )
    .fetch_all(c)
    .await)?;
    let mut chained = 0;
    for org in orgs {
        loop {
            let n = sequence_batch(db, OrgId(org)).await?;
            chained += n;
            if n < BATCH as u64 {
                break;
            }
        }
    }
    Ok(chained)
}

/// Runs [`sequence`] every `every` until the task is aborted; failures are logged and retried.
pub fn spawn_sequencer(db: Db, every: std::time::Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            if let Err(e) = sequence(&db).await {
                tracing::warn!(error = %e, "chaining audit entries failed; it will try again");
            }
        }
    })
}

/// Locks the organisation's chain head for the rest of `tx` and returns it (creating it at the
/// genesis value the first time).
async fn lock_head(tx: &mut Tx, org: OrgId) -> Result<(i64, AuditHash)> {
    let head: Option<(i64, Vec<u8>)> = on_tx!(tx, |c| sqlx::query_as(
        "UPDATE audit_heads SET seq = seq WHERE org_id = $1 RETURNING seq, hash"
    )
    .bind(org.0)
    .fetch_optional(&mut *c)
    .await)?;
    let (seq, hash) = match head {
        Some(h) => h,
        None => {
            execute!(
                tx,
                "INSERT INTO audit_heads (org_id, seq, hash) VALUES ($1, 0, $2)",
                org.0,
                GENESIS.to_vec()
            )?;
            (0, GENESIS.to_vec())
        }
    };
    let hash = hash
        .as_slice()
        .try_into()
        .map_err(|_| StoreError::corrupt("audit_heads", "hash", "not 32 bytes"))?;
    Ok((seq, hash))
}

/// Chains up to [`BATCH`] waiting entries of one organisation in one transaction.
async fn sequence_batch(db: &Db, org: OrgId) -> Result<u64> {
    let mut tx = db.begin().await?;
    let (mut seq, mut prev) = lock_head(&mut tx, org).await?;
    // Read under the head's lock: a second sequencer waits above and then sees these rows gone.
    let rows: Vec<Pending> = on_tx!(&mut tx, |c| {
        sqlx::query_as(
        "SELECT pid, id, occurred_at, actor_kind, actor_id, action, outcome, target_kind, target_id, ip, request_id, details \
         FROM audit_pending WHERE org_id = $1 ORDER BY pid LIMIT $2"
    )
    .bind(org.0)
    .bind(BATCH)
    .fetch_all(&mut *c)
    .await
    })?;
    if rows.is_empty() {
        tx.rollback().await?;
        return Ok(0);
    }
    let mut entries = Vec::with_capacity(rows.len());
    for r in &rows {
        seq += 1;
        let mut e = AuditEntry {
            org_id: org.0,
            seq,
            id: r.id,
            occurred_at: r.occurred_at,
            actor_kind: r.actor_kind.clone(),
            actor_id: r.actor_id,
            action: r.action.clone(),
            outcome: r.outcome.clone(),
            target_kind: r.target_kind.clone(),
            target_id: r.target_id,
            ip: r.ip.clone(),
            request_id: r.request_id.clone(),
            details: r.details.clone(),
            prev_hash: prev.to_vec(),
            hash: Vec::new(),
        };
        prev = chain_hash(&prev, &entry_bytes(&e));
        e.hash = prev.to_vec();
        entries.push(e);
    }
    // One multi-row INSERT and one DELETE per chunk; the DELETE names each row it chained, so a
    // row committed meanwhile with a lower number waits for the next batch instead of being lost.
    macro_rules! move_rows {
        ($t:expr, $db:ty) => {{
            for (chunk, pending) in entries
                .chunks(ROWS_PER_STATEMENT)
                .zip(rows.chunks(ROWS_PER_STATEMENT))
            {
                let mut insert = sqlx::QueryBuilder::<$db>::new(
                    "INSERT INTO audit_log (org_id, seq, id, occurred_at, actor_kind, actor_id, action, outcome, target_kind, target_id, ip, request_id, details, prev_hash, hash) ",
                );
                insert.push_values(chunk, |mut b, e| {
                    b.push_bind(e.org_id)
                        .push_bind(e.seq)
                        .push_bind(e.id)
                        .push_bind(e.occurred_at)
                        .push_bind(e.actor_kind.clone())
                        .push_bind(e.actor_id)
                        .push_bind(e.action.clone())
                        .push_bind(e.outcome.clone())
                        .push_bind(e.target_kind.clone())
                        .push_bind(e.target_id)
                        .push_bind(e.ip.clone())
                        .push_bind(e.request_id.clone())
                        .push_bind(e.details.clone())
                        .push_bind(e.prev_hash.clone())
                        .push_bind(e.hash.clone());
                });
                insert.build().execute(&mut **$t).await?;
                let mut delete =
                    sqlx::QueryBuilder::<$db>::new("DELETE FROM audit_pending WHERE pid IN (");
                let mut pids = delete.separated(", ");
                for p in pending {
                    pids.push_bind(p.pid);
                }
                delete.push(")");
                delete.build().execute(&mut **$t).await?;
            }
        }};
    }
    match &mut tx {
        Tx::Sqlite(t) => move_rows!(t, sqlx::Sqlite),
        Tx::Postgres(t) => move_rows!(t, sqlx::Postgres),
    }
    execute!(
        &mut tx,
        "UPDATE audit_heads SET seq = $2, hash = $3 WHERE org_id = $1",
        org.0,
        seq,
        prev.to_vec()
    )?;
    tx.commit().await?;
    Ok(rows.len() as u64)
}

/// The head of an organisation's chain: the last sequence number and hash, once every entry
/// waiting has been chained.
pub async fn head(db: &Db, org: OrgId) -> Result<(i64, AuditHash)> {
    sequence(db).await?;
    let mut snap = snapshot(db).await?;
    let head = head_in(&mut snap, org).await;
    snap.rollback().await?;
    head
}

/// A read-only transaction that sees one state of the database throughout, so that a chain
/// read page by page is compared with the head of the same moment while entries keep coming.
async fn snapshot(db: &Db) -> Result<Tx> {
    Ok(match db {
        Db::Sqlite { read, .. } => Tx::Sqlite(read.begin().await?),
        Db::Postgres { pool, .. } => {
            let mut t = pool.begin().await?;
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute(&mut *t)
                .await?;
            Tx::Postgres(t)
        }
    })
}

async fn head_in(tx: &mut Tx, org: OrgId) -> Result<(i64, AuditHash)> {
    let row: Option<(i64, Vec<u8>)> = on_tx!(tx, |c| sqlx::query_as(
        "SELECT seq, hash FROM audit_heads WHERE org_id = $1"
    )
    .bind(org.0)
    .fetch_optional(&mut *c)
    .await)?;
    match row {
        None => Ok((0, GENESIS)),
        Some((seq, hash)) => Ok((
            seq,
            hash.as_slice()
                .try_into()
                .map_err(|_| StoreError::corrupt("audit_heads", "hash", "not 32 bytes"))?,
        )),
    }
}

/// What [`verify`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// How many entries were checked.
    pub entries: i64,
    /// The head's sequence number.
    pub head_seq: i64,
    /// The head's hash.
    pub head_hash: AuditHash,
    /// The first entry that breaks the chain, and why; `None` when the chain holds.
    pub first_broken: Option<(i64, ChainBreak)>,
}

/// How the chain breaks at an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChainBreak {
    /// The entry is missing; `next` is the one that follows the gap.
    Missing {
        /// The sequence number found instead.
        next: i64,
    },
    /// Its previous-hash field is not the hash of the entry before it (reordered or replaced).
    DoesNotFollow,
    /// Its content does not hash to its recorded hash (changed).
    Changed,
    /// The chain ends at `last` but the head says `head`: entries were removed from the end.
    TailRemoved {
        /// The last entry present.
        last: i64,
        /// The head's sequence number.
        head: i64,
    },
    /// The last entry's hash is not the head's.
    HeadDiffers,
    /// Entries follow the one the head names: they were added outside Haven.
    AfterHead {
        /// The head's sequence number.
        head: i64,
    },
}

impl ChainBreak {
    /// A stable code for messages (`audit-break-<code>` in the translations).
    pub fn code(self) -> &'static str {
        match self {
            ChainBreak::Missing { .. } => "missing",
            ChainBreak::DoesNotFollow => "does-not-follow",
            ChainBreak::Changed => "changed",
            ChainBreak::TailRemoved { .. } => "tail-removed",
            ChainBreak::HeadDiffers => "head-differs",
            ChainBreak::AfterHead { .. } => "after-head",
        }
    }
}

impl std::fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChainBreak::Missing { next } => {
                write!(f, "the entry is missing (the next one is {next})")
            }
            ChainBreak::DoesNotFollow => {
                f.write_str("it does not follow the entry before it (previous hash differs)")
            }
            ChainBreak::Changed => f.write_str("its content was changed (hash differs)"),
            ChainBreak::TailRemoved { last, head } => write!(
                f,
                "the chain ends at entry {last} but its head says {head}: entries were removed from the end"
            ),
            ChainBreak::HeadDiffers => f.write_str("the last entry differs from the chain head"),
            ChainBreak::AfterHead { head } => write!(
                f,
                "the head says the chain ends at entry {head}, but entries follow it: they were added outside Haven"
            ),
        }
    }
}

const PAGE: i64 = 2000;

/// Chains what is waiting, then recomputes the organisation's chain from the first entry and
/// compares it with the head, all read in one snapshot.
pub async fn verify(db: &Db, org: OrgId) -> Result<Verification> {
    sequence(db).await?;
    let mut snap = snapshot(db).await?;
    let v = verify_in(&mut snap, org).await;
    snap.rollback().await?;
    v
}

async fn verify_in(snap: &mut Tx, org: OrgId) -> Result<Verification> {
    let (head_seq, head_hash) = head_in(snap, org).await?;
    let mut expected_seq = 1i64;
    let mut prev = GENESIS;
    let mut entries = 0i64;
    loop {
        let page: Vec<AuditEntry> = on_tx!(snap, |c| {
            sqlx::query_as(
            "SELECT org_id, seq, id, occurred_at, actor_kind, actor_id, action, outcome, target_kind, target_id, ip, request_id, details, prev_hash, hash \
             FROM audit_log WHERE org_id = $1 AND seq >= $2 ORDER BY seq LIMIT $3"
        )
        .bind(org.0)
        .bind(expected_seq)
        .bind(PAGE)
        .fetch_all(&mut *c)
        .await
        })?;
        if page.is_empty() {
            break;
        }
        for e in &page {
            let broken = |reason: ChainBreak| Verification {
                entries,
                head_seq,
                head_hash,
                first_broken: Some((e.seq, reason)),
            };
            if e.seq != expected_seq {
                return Ok(Verification {
                    entries,
                    head_seq,
                    head_hash,
                    first_broken: Some((expected_seq, ChainBreak::Missing { next: e.seq })),
                });
            }
            if e.prev_hash.as_slice() != prev.as_slice() {
                return Ok(broken(ChainBreak::DoesNotFollow));
            }
            let computed = chain_hash(&prev, &entry_bytes(e));
            if e.hash.as_slice() != computed.as_slice() {
                return Ok(broken(ChainBreak::Changed));
            }
            prev = computed;
            expected_seq += 1;
            entries += 1;
        }
    }
    let last = expected_seq - 1;
    let first_broken = if last > head_seq {
        Some((head_seq + 1, ChainBreak::AfterHead { head: head_seq }))
    } else if last < head_seq {
        Some((
            last + 1,
            ChainBreak::TailRemoved {
                last,
                head: head_seq,
            },
        ))
    } else if prev != head_hash {
        Some((last, ChainBreak::HeadDiffers))
    } else {
        None
    };
    Ok(Verification {
        entries,
        head_seq,
        head_hash,
        first_broken,
    })
}

/// The entry at `seq` of an organisation's chain, if there is one.
pub async fn entry_at(db: &Db, org: OrgId, seq: i64) -> Result<Option<AuditEntry>> {
    Ok(on_db!(db, |c| {
        sqlx::query_as(
            "SELECT org_id, seq, id, occurred_at, actor_kind, actor_id, action, outcome, target_kind, target_id, ip, request_id, details, prev_hash, hash \
             FROM audit_log WHERE org_id = $1 AND seq = $2",
        )
        .bind(org.0)
        .bind(seq)
        .fetch_optional(c)
        .await
    })?)
}

/// Why a checkpoint does not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckpointProblem {
    /// The signature is not valid under the expected public key (forged, altered, or signed with
    /// another master key).
    BadSignature,
    /// The checkpoint's head is not a well-formed hash.
    Malformed,
    /// The chain has no entry at the checkpoint's sequence number (entries were removed).
    Missing(i64),
    /// The chain's entry at the checkpoint's sequence number has another hash (history was
    /// rewritten).
    HashDiffers(i64),
}

impl std::fmt::Display for CheckpointProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CheckpointProblem::BadSignature => f.write_str(
                "its signature is not valid under the key derived from this master key: it was altered, forged or made with another master key",
            ),
            CheckpointProblem::Malformed => f.write_str("its head hash is not a 32-byte hex value"),
            CheckpointProblem::Missing(seq) => {
                write!(f, "the chain has no entry {seq}: entries were removed")
            }
            CheckpointProblem::HashDiffers(seq) => write!(
                f,
                "entry {seq} of the chain has another hash than the checkpoint: the log was rewritten"
            ),
        }
    }
}

/// Checks a signed checkpoint against the chain: its signature under `expected_public_key_hex`,
/// and that the chain holds the checkpoint's entry with exactly that hash. Together with
/// [`verify`], this catches a log rewritten consistently after the checkpoint was taken.
pub async fn check_checkpoint(
    db: &Db,
    checkpoint: &haven_crypto::Checkpoint,
    expected_public_key_hex: &str,
) -> Result<Option<CheckpointProblem>> {
    if !checkpoint.verify_with(expected_public_key_hex) {
        return Ok(Some(CheckpointProblem::BadSignature));
    }
    let Some(head) = checkpoint.head() else {
        return Ok(Some(CheckpointProblem::Malformed));
    };
    if checkpoint.seq == 0 {
        // The empty chain: its head is the genesis value.
        return Ok((head != GENESIS).then_some(CheckpointProblem::HashDiffers(0)));
    }
    match entry_at(db, OrgId(checkpoint.org_id), checkpoint.seq).await? {
        None => Ok(Some(CheckpointProblem::Missing(checkpoint.seq))),
        Some(e) if e.hash.as_slice() != head.as_slice() => {
            Ok(Some(CheckpointProblem::HashDiffers(checkpoint.seq)))
        }
        Some(_) => Ok(None),
    }
}

/// Filters for reading the log.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only entries about this record.
    pub target: Option<(String, Uuid)>,
    /// Only entries about the record with this id, of whatever kind.
    pub record: Option<Uuid>,
    /// Only entries by this account.
    pub actor: Option<UserId>,
    /// Only actions starting with this prefix (`auth.`).
    pub action_prefix: Option<String>,
    /// Only entries before this sequence number (for paging back).
    pub before_seq: Option<i64>,
}

/// Entries, newest first (what is waiting is chained first, so the list is complete).
pub async fn list(db: &Db, org: OrgId, f: &AuditFilter, limit: i64) -> Result<Vec<AuditEntry>> {
    sequence(db).await?;
    let like = f
        .action_prefix
        .as_ref()
        .map(|p| format!("{}%", p.replace('%', "").replace('_', "\\_")));
    Ok(on_db!(db, |c| {
        sqlx::query_as(
        "SELECT org_id, seq, id, occurred_at, actor_kind, actor_id, action, outcome, target_kind, target_id, ip, request_id, details, prev_hash, hash \
         FROM audit_log WHERE org_id = $1 \
         AND ($2 IS NULL OR target_kind = $2) AND ($3 IS NULL OR target_id = $3) \
         AND ($4 IS NULL OR actor_id = $4) AND ($5 IS NULL OR action LIKE $5 ESCAPE '\\') \
         AND ($6 IS NULL OR seq < $6) AND ($8 IS NULL OR target_id = $8) \
         ORDER BY seq DESC LIMIT $7"
    )
    .bind(org.0)
    .bind(f.target.as_ref().map(|(k, _)| k.clone()))
    .bind(f.target.as_ref().map(|(_, i)| *i))
    .bind(f.actor.map(|a| a.0))
    .bind(like)
    .bind(f.before_seq)
    .bind(limit)
    .bind(f.record)
    .fetch_all(c)
    .await
    })?)
}

/// How many failed sign-ins came from `ip` since `since`, across organisations (per-address
/// throttling that every Haven process sharing the database sees alike).
pub async fn failed_sign_ins_from(db: &Db, ip: &str, since: DateTime<Utc>) -> Result<i64> {
    Ok(on_db!(db, |c| {
        sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM audit_log WHERE action = 'auth.sign_in' AND outcome = 'failed' AND ip = $1 AND occurred_at > $2) \
              + (SELECT count(*) FROM audit_pending WHERE action = 'auth.sign_in' AND outcome = 'failed' AND ip = $1 AND occurred_at > $2)"
    )
    .bind(ip)
    .bind(since)
    .fetch_one(c)
    .await
    })?)
}

/// How many entries of `action` came from address `ip` since `since` (throttling of public
/// links).
pub async fn count_from(db: &Db, action: &str, ip: &str, since: DateTime<Utc>) -> Result<i64> {
    Ok(on_db!(db, |c| {
        sqlx::query_scalar(
            "SELECT (SELECT count(*) FROM audit_log WHERE action = $1 AND ip = $2 AND occurred_at > $3) \
                  + (SELECT count(*) FROM audit_pending WHERE action = $1 AND ip = $2 AND occurred_at > $3)",
        )
        .bind(action)
        .bind(ip)
        .bind(since)
        .fetch_one(c)
        .await
    })?)
}
