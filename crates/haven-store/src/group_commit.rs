//! Group commit for SQLite's one writer.
//!
//! With `synchronous = FULL`, every SQLite commit waits for the disk (an `fsync` of the WAL), and
//! the one writer waits with it: on a disk that syncs in half a millisecond, no number of
//! counsellors saves more than about two thousand transactions a second, and each waits behind
//! everyone's sync. A [`GroupCommit`] lets writes that arrive together share one transaction and
//! one sync. A single task takes every write that is waiting (up to [`MAX_BATCH`]), runs each in
//! its own savepoint inside one `BEGIN IMMEDIATE` transaction, commits once, and only then tells
//! each caller it is done. So:
//!
//! - a write is durable when [`GroupCommit::run`] returns `Ok`, exactly as with its own
//!   transaction (the reply is sent after `COMMIT` returned);
//! - a write is all or nothing: one that fails is rolled back to its savepoint and its caller gets
//!   its own error, while the others in the batch go on;
//! - if the commit itself fails, every write of the batch gets an error and none was saved.
//!
//! A write that comes alone is committed alone, with one hop to the task more than before. The
//! task takes the writer from the same one-connection pool as every other write, so other writes
//! still queue fairly with it.

use sqlx::sqlite::{Sqlite, SqliteArguments};
use sqlx::{Acquire, SqlitePool};
use tokio::sync::{mpsc, oneshot};

use crate::db::SQLITE_BEGIN;
use crate::{Result, StoreError};

/// Most writes committed together. A batch holds the writer for its statements and one sync;
/// 64 intakes' statements take a few milliseconds.
pub const MAX_BATCH: usize = 64;

/// One write: a statement (which may be a batch of statements) with its arguments bound.
pub type Write = sqlx::query::Query<'static, Sqlite, SqliteArguments>;

struct Job {
    write: Write,
    done: oneshot::Sender<Result<()>>,
}

/// A handle to the committing task; clones share it. The task ends when the last handle is
/// dropped.
#[derive(Clone, Debug)]
pub struct GroupCommit {
    jobs: mpsc::Sender<Job>,
}

impl GroupCommit {
    /// Starts the committing task on the current Tokio runtime, writing through `writer` (the
    /// one-connection pool).
    pub fn start(writer: SqlitePool) -> Self {
        let (jobs, rx) = mpsc::channel(4 * MAX_BATCH);
        tokio::spawn(commit_loop(writer, rx));
        Self { jobs }
    }

    /// Runs `write` in the next batch and returns once that batch is committed (the write is
    /// then on disk as far as the database's `synchronous` setting promises) or with the error
    /// that kept it from being saved.
    pub async fn run(&self, write: Write) -> Result<()> {
        let (done, result) = oneshot::channel();
        self.jobs
            .send(Job { write, done })
            .await
            .map_err(|_| StoreError::GroupCommit("the writer has stopped".into()))?;
        result
            .await
            .map_err(|_| StoreError::GroupCommit("the writer stopped before committing".into()))?
    }
}

async fn commit_loop(writer: SqlitePool, mut rx: mpsc::Receiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        commit_batch(&writer, &mut batch).await;
    }
}

/// Writes `batch` (leaving it empty) and answers every job in it, once its transaction is
/// committed or, when the batch fails, rolled back.
async fn commit_batch(writer: &SqlitePool, batch: &mut Vec<Job>) {
    let mut written = Vec::with_capacity(batch.len());
    let mut jobs = batch.drain(..);
    match write_batch(writer, &mut jobs, &mut written).await {
        Ok(()) => {
            for done in written {
                let _ = done.send(Ok(()));
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "a batch of writes could not be committed");
            for done in written.into_iter().chain(jobs.map(|j| j.done)) {
                let _ = done.send(Err(StoreError::GroupCommit(format!(
                    "the batch could not be committed: {e}"
                ))));
            }
        }
    }
}

/// Runs each job in its own savepoint of one transaction and commits it. A job that fails is
/// answered here with its own error; `written` gathers the others. On `Err` the transaction has
/// been dropped, so it is rolled back before anyone is told, and what is left in `jobs` was not
/// run.
async fn write_batch(
    writer: &SqlitePool,
    jobs: &mut std::vec::Drain<'_, Job>,
    written: &mut Vec<oneshot::Sender<Result<()>>>,
) -> std::result::Result<(), sqlx::Error> {
    let mut tx = writer.begin_with(SQLITE_BEGIN).await?;
    for job in jobs {
        written.push(job.done);
        let mut savepoint = tx.begin().await?;
        match job.write.execute(&mut *savepoint).await {
            Ok(_) => savepoint.commit().await?,
            Err(e) => {
                savepoint.rollback().await?;
                if let Some(done) = written.pop() {
                    let _ = done.send(Err(e.into()));
                }
            }
        }
    }
    tx.commit().await
}
