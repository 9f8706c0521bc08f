//! Group commit: writes that arrive together share one transaction and one sync.
//!
//! Every commit waits for the disk. On SQLite (`synchronous = FULL`) that is an `fsync` of the
//! WAL, and the one writer waits with it: on a disk that syncs in half a millisecond, no number of
//! counsellors saves more than about two thousand transactions a second, and each waits behind
//! everyone's sync. On PostgreSQL a commit is a flush of the WAL too, and each transaction also
//! costs its own start, snapshot and commit record.
//!
//! A [`GroupCommit`] lets the writes waiting at one moment share a transaction. A committing task
//! takes every write that is waiting (up to [`MAX_BATCH`]), runs them one after another inside
//! one transaction, commits once, and only then tells each caller it is done. So:
//!
//! - a write is durable when [`GroupCommit::run`] returns `Ok`, exactly as with its own
//!   transaction (the reply is sent after `COMMIT` returned);
//! - a write is all or nothing, and one that fails fails alone: the batch is rolled back, the
//!   failed write's caller gets its own error, and every other write of the batch is written
//!   again, alone (its caller builds it once more; [`GroupCommit::run`] takes a function for
//!   that). A failure is rare — the intake checks its input before it writes — so a batch
//!   costs no savepoint per write, which on PostgreSQL would be two more round trips each;
//! - if the commit itself fails, every write of the batch gets an error and none was saved.
//!
//! A write that comes alone is committed alone (on PostgreSQL, as the one statement it is,
//! without `BEGIN` and `COMMIT`), with one hop to a task more than before.
//!
//! SQLite has one committing task, which takes the writer from the same one-connection pool as
//! every other write, so other writes still queue fairly with it. PostgreSQL has several, each
//! with a connection of the pool for the length of its batch: one task would leave the
//! database's other core idle while it waits for its commit.

use sqlx::postgres::Postgres;
use sqlx::sqlite::Sqlite;
use sqlx::{Database, Executor, IntoArguments, Pool};
use tokio::sync::oneshot;

use crate::{Result, StoreError};

/// Most writes committed together. A batch holds its connection (on SQLite, the writer) for its
/// statements and one sync; 64 intakes' statements take a few milliseconds.
pub const MAX_BATCH: usize = 64;

/// One write: a statement (on SQLite, possibly a batch of statements) with its arguments bound.
pub type Write<DB> = sqlx::query::Query<'static, DB, <DB as Database>::Arguments>;

/// What a committing task tells a write's caller.
enum Answer {
    /// Saved: its transaction is committed.
    Saved,
    /// Not saved, for this reason.
    Failed(StoreError),
    /// Not saved because another write of its batch failed: to be written again, alone.
    Again,
}

struct Job<DB: Database> {
    write: Write<DB>,
    /// Written again after its batch failed: committed by itself.
    alone: bool,
    done: oneshot::Sender<Answer>,
}

/// A handle to the committing tasks; clones share them. The tasks end when the last handle is
/// dropped.
pub struct GroupCommit<DB: Database> {
    jobs: flume::Sender<Job<DB>>,
}

impl<DB: Database> Clone for GroupCommit<DB> {
    fn clone(&self) -> Self {
        Self {
            jobs: self.jobs.clone(),
        }
    }
}

impl<DB: Database> std::fmt::Debug for GroupCommit<DB> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCommit")
            .field("waiting", &self.jobs.len())
            .finish()
    }
}

/// How a backend's batch begins (implemented for SQLite and PostgreSQL).
pub trait Begin: Database {
    /// The statement that opens a batch's transaction (`None`: the backend's own `BEGIN`).
    const BEGIN: Option<&'static str>;
    /// Whether a write is one statement, which the database runs all or nothing by itself: a
    /// write that comes alone then needs no transaction around it (PostgreSQL). On SQLite a
    /// write may be several statements.
    const ONE_STATEMENT: bool;
}

impl Begin for Sqlite {
    const BEGIN: Option<&'static str> = Some(crate::db::SQLITE_BEGIN);
    const ONE_STATEMENT: bool = false;
}

impl Begin for Postgres {
    const BEGIN: Option<&'static str> = None;
    const ONE_STATEMENT: bool = true;
}

impl GroupCommit<Sqlite> {
    /// Starts the one committing task on the current Tokio runtime, writing through `writer`
    /// (the one-connection pool).
    pub fn start_sqlite(writer: Pool<Sqlite>) -> Self {
        Self::start(writer, 1)
    }
}

impl GroupCommit<Postgres> {
    /// Starts `tasks` committing tasks on the current Tokio runtime, each taking a connection
    /// from `pool` for the length of a batch.
    pub fn start_postgres(pool: Pool<Postgres>, tasks: usize) -> Self {
        Self::start(pool, tasks)
    }
}

impl<DB> GroupCommit<DB>
where
    DB: Database + Begin,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
{
    fn start(pool: Pool<DB>, tasks: usize) -> Self {
        let (jobs, rx) = flume::bounded(4 * MAX_BATCH * tasks.max(1));
        for _ in 0..tasks.max(1) {
            tokio::spawn(commit_loop(pool.clone(), rx.clone()));
        }
        Self { jobs }
    }

    /// Runs the write `write` builds in the next batch and returns once that batch is committed
    /// (the write is then on disk as far as the database's settings promise) or with the error
    /// that kept it from being saved. `write` is called again, at most once, if another write of
    /// the batch failed.
    pub async fn run(&self, write: impl Fn() -> Write<DB>) -> Result<()> {
        let mut answer = self.submit(write(), false).await?;
        if let Answer::Again = answer {
            answer = self.submit(write(), true).await?;
        }
        match answer {
            Answer::Saved => Ok(()),
            Answer::Failed(e) => Err(e),
            Answer::Again => Err(StoreError::GroupCommit(
                "a write committed alone was sent back".into(),
            )),
        }
    }

    async fn submit(&self, write: Write<DB>, alone: bool) -> Result<Answer> {
        let (done, answer) = oneshot::channel();
        self.jobs
            .send_async(Job { write, alone, done })
            .await
            .map_err(|_| StoreError::GroupCommit("the writer has stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::GroupCommit("the writer stopped before committing".into()))
    }
}

async fn commit_loop<DB>(pool: Pool<DB>, rx: flume::Receiver<Job<DB>>)
where
    DB: Database + Begin,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
{
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Ok(first) = rx.recv_async().await {
        batch.push(first);
        batch.extend(rx.try_iter().take(MAX_BATCH - 1));
        commit_batch(&pool, &mut batch).await;
    }
}

/// Writes `batch` (leaving it empty) and answers every job in it: those to be written alone (and
/// a job that came alone), each by itself; the others together, once their transaction is
/// committed or rolled back.
async fn commit_batch<DB>(pool: &Pool<DB>, batch: &mut Vec<Job<DB>>)
where
    DB: Database + Begin,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
{
    let (mut alone, together): (Vec<_>, Vec<_>) = batch.drain(..).partition(|j| j.alone);
    if together.len() == 1 {
        alone.extend(together);
    } else if !together.is_empty() {
        let (writes, answers): (Vec<_>, Vec<_>) =
            together.into_iter().map(|j| (j.write, j.done)).unzip();
        match write_batch(pool, writes).await {
            Ok(()) => {
                for done in answers {
                    let _ = done.send(Answer::Saved);
                }
            }
            Err(BatchError::Write { at, error }) => {
                let mut error = Some(StoreError::from(error));
                for (i, done) in answers.into_iter().enumerate() {
                    let _ = done.send(match error.take_if(|_| i == at) {
                        Some(e) => Answer::Failed(e),
                        None => Answer::Again,
                    });
                }
            }
            Err(BatchError::Commit(e)) => {
                tracing::error!(error = %e, "a batch of writes could not be committed");
                for done in answers {
                    let _ = done.send(Answer::Failed(StoreError::GroupCommit(format!(
                        "the batch could not be committed: {e}"
                    ))));
                }
            }
        }
    }
    for job in alone {
        let _ = job.done.send(match write_alone(pool, job.write).await {
            Ok(()) => Answer::Saved,
            Err(e) => Answer::Failed(e),
        });
    }
}

/// Why a batch was not saved.
enum BatchError {
    /// The write at `at` failed; the transaction was rolled back.
    Write { at: usize, error: sqlx::Error },
    /// The transaction could not be begun or committed.
    Commit(sqlx::Error),
}

/// Opens a batch's transaction.
async fn begin<DB: Begin>(
    pool: &Pool<DB>,
) -> std::result::Result<sqlx::Transaction<'static, DB>, sqlx::Error> {
    match DB::BEGIN {
        Some(begin) => pool.begin_with(begin).await,
        None => pool.begin().await,
    }
}

/// Runs `writes` one after another in one transaction and commits it. On the first that fails,
/// the transaction is rolled back (dropped, if rolling back fails) before anyone is told.
async fn write_batch<DB>(
    pool: &Pool<DB>,
    writes: Vec<Write<DB>>,
) -> std::result::Result<(), BatchError>
where
    DB: Database + Begin,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
{
    let mut tx = begin(pool).await.map_err(BatchError::Commit)?;
    for (at, write) in writes.into_iter().enumerate() {
        if let Err(e) = write.execute(&mut *tx).await {
            let _ = tx.rollback().await;
            return Err(BatchError::Write { at, error: e });
        }
    }
    tx.commit().await.map_err(BatchError::Commit)
}

/// Runs a write by itself: on PostgreSQL with no transaction around it (its one statement
/// commits by itself), so that a counsellor alone at the desk waits for no more round trips than
/// without group commit.
async fn write_alone<DB>(pool: &Pool<DB>, write: Write<DB>) -> Result<()>
where
    DB: Database + Begin,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
{
    if DB::ONE_STATEMENT {
        let mut conn = pool.acquire().await?;
        write.execute(&mut *conn).await?;
        return Ok(());
    }
    let mut tx = begin(pool).await?;
    write.execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(())
}
