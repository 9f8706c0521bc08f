//! The two backends behind one enum, and the macros that run one query text on either.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Connection, Postgres, Sqlite, Transaction};

use crate::group_commit::GroupCommit;
use crate::{Result, StoreError};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// Which database engine a [`Db`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

impl Backend {
    /// The backend's name for messages.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        }
    }
}

/// Where the database is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbLocation {
    /// An SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL URL.
    Postgres(String),
}

impl DbLocation {
    /// Reads a database URL: `sqlite://PATH`, `sqlite:PATH` or `postgres://…`/`postgresql://…`.
    pub fn parse(url: &str) -> Result<Self> {
        let url = url.trim();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DbLocation::Postgres(url.to_owned()));
        }
        if let Some(rest) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            let path = rest.split('?').next().unwrap_or(rest);
            if path.is_empty() || path == ":memory:" {
                return Err(StoreError::Config(
                    "database_url must name an SQLite file (sqlite://PATH); an in-memory database would lose every record at exit".into(),
                ));
            }
            return Ok(DbLocation::Sqlite(PathBuf::from(path)));
        }
        Err(StoreError::Config(
            "database_url must start with sqlite:// or postgres://".into(),
        ))
    }

    /// The backend at this location.
    pub fn backend(&self) -> Backend {
        match self {
            DbLocation::Sqlite(_) => Backend::Sqlite,
            DbLocation::Postgres(_) => Backend::Postgres,
        }
    }

    /// A description without credentials, for messages and logs.
    pub fn redacted(&self) -> String {
        match self {
            DbLocation::Sqlite(p) => format!("sqlite://{}", p.display()),
            DbLocation::Postgres(url) => redact_url(url),
        }
    }
}

/// Removes the password from a URL.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at))
            if at > scheme_end && url[scheme_end + 3..at].contains(':') =>
        {
            let userinfo = &url[scheme_end + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}://{}:***@{}", &url[..scheme_end], user, &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

/// How SQLite syncs to disk on commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SyncMode {
    /// Every commit reaches the disk before it is acknowledged: survives a crash of the process
    /// and of the machine (power loss). The default.
    #[default]
    Full,
    /// In WAL mode, survives a crash of the process but may lose the last commits on power loss.
    Normal,
}

/// Connection settings.
#[derive(Debug, Clone)]
pub struct DbOptions {
    /// Most connections a pool opens (readers, for SQLite; SQLite has one writer).
    pub max_connections: u32,
    /// SQLite's durability on commit.
    pub sqlite_sync: SyncMode,
    /// How long a statement waits for a lock before giving up.
    pub busy_timeout: Duration,
    /// How long to wait for a connection.
    pub acquire_timeout: Duration,
    /// A PostgreSQL schema to use instead of the default (the conformance suite isolates each
    /// test in its own schema).
    pub pg_schema: Option<String>,
}

impl Default for DbOptions {
    fn default() -> Self {
        Self {
            max_connections: 8,
            sqlite_sync: SyncMode::Full,
            busy_timeout: Duration::from_secs(10),
            acquire_timeout: Duration::from_secs(10),
            pg_schema: None,
        }
    }
}

/// A connection to either backend.
///
/// SQLite gets a single-connection writer pool (so writers queue in the process instead of
/// failing with `SQLITE_BUSY`, and every write transaction starts with `BEGIN IMMEDIATE`) and a
/// read-only pool for everything else; WAL mode lets readers run while the writer writes. On
/// both backends the writes that come many at a time (contacts recorded at the desk) go through
/// a [`GroupCommit`], which lets those waiting together share one transaction and one sync.
#[derive(Clone, Debug)]
pub enum Db {
    /// SQLite.
    Sqlite {
        /// Read-only connections.
        read: SqlitePool,
        /// The one connection that writes.
        write: SqlitePool,
        /// Writes that may share a transaction and a sync with others (the intake's).
        group: GroupCommit<Sqlite>,
        /// The database file.
        path: PathBuf,
    },
    /// PostgreSQL.
    Postgres {
        /// The connections.
        pool: PgPool,
        /// Writes that may share a transaction and a flush of the WAL with others (the
        /// intake's).
        group: GroupCommit<Postgres>,
    },
}

/// A write transaction on either backend. Dropped without [`Tx::commit`], it rolls back.
pub enum Tx {
    /// SQLite.
    Sqlite(Transaction<'static, Sqlite>),
    /// PostgreSQL.
    Postgres(Transaction<'static, Postgres>),
}

/// Runs `body` with `$c` bound to the read pool of whichever backend `$db` is.
///
/// ```ignore
/// let n: i64 = on_db!(db, |c| sqlx::query_scalar("SELECT count(*) FROM users").fetch_one(c).await)?;
/// ```
#[macro_export]
macro_rules! on_db {
    ($db:expr, |$c:ident| $body:expr) => {
        match $db {
            $crate::Db::Sqlite { read, .. } => {
                let $c = read;
                $body
            }
            $crate::Db::Postgres { pool, .. } => {
                let $c = pool;
                $body
            }
        }
    };
}

/// Runs `body` with `$c` bound to the connection of the transaction `$tx` (a `&mut Tx`); use
/// `&mut *$c` for each query.
#[macro_export]
macro_rules! on_tx {
    ($tx:expr, |$c:ident| $body:expr) => {
        match $tx {
            $crate::Tx::Sqlite(t) => {
                let $c: &mut sqlx::SqliteConnection = &mut *t;
                $body
            }
            $crate::Tx::Postgres(t) => {
                let $c: &mut sqlx::PgConnection = &mut *t;
                $body
            }
        }
    };
}

/// Runs one statement with its parameters in the transaction `$tx` (a `&mut Tx`) and returns
/// `Result<u64, sqlx::Error>`: the number of rows it changed.
///
/// ```ignore
/// let n = execute!(tx, "UPDATE users SET status = $3 WHERE org_id = $1 AND id = $2", org.0, id.0, "active")?;
/// ```
#[macro_export]
macro_rules! execute {
    ($tx:expr, $sql:expr $(, $arg:expr)* $(,)?) => {
        $crate::on_tx!($tx, |c| sqlx::query($sql)
            $(.bind($arg))*
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected()))
    };
}

impl Tx {
    /// Commits; the write is durable when this returns.
    pub async fn commit(self) -> Result<()> {
        match self {
            Tx::Sqlite(t) => t.commit().await?,
            Tx::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }

    /// Rolls back.
    pub async fn rollback(self) -> Result<()> {
        match self {
            Tx::Sqlite(t) => t.rollback().await?,
            Tx::Postgres(t) => t.rollback().await?,
        }
        Ok(())
    }

    /// The backend of this transaction.
    pub fn backend(&self) -> Backend {
        match self {
            Tx::Sqlite(_) => Backend::Sqlite,
            Tx::Postgres(_) => Backend::Postgres,
        }
    }
}

/// Where the migrations stand.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MigrationStatus {
    /// Versions applied to the database.
    pub applied: Vec<i64>,
    /// Versions this binary carries that the database lacks.
    pub pending: Vec<(i64, String)>,
    /// Versions the database has that this binary does not know (a newer Haven wrote it).
    pub unknown: Vec<i64>,
    /// Versions whose text differs from what was applied, or that failed half-way.
    pub mismatched: Vec<i64>,
}

impl MigrationStatus {
    /// Whether the schema is exactly what this binary expects.
    pub fn is_current(&self) -> bool {
        self.pending.is_empty() && self.unknown.is_empty() && self.mismatched.is_empty()
    }
}

/// How a write transaction begins on SQLite: with the write lock taken at once.
pub(crate) const SQLITE_BEGIN: &str = "BEGIN IMMEDIATE";

impl Db {
    /// Opens the database (creating an SQLite file if needed); does not migrate.
    pub async fn connect(location: &DbLocation, opts: &DbOptions) -> Result<Db> {
        match location {
            DbLocation::Sqlite(path) => Self::connect_sqlite(path, opts).await,
            DbLocation::Postgres(url) => Self::connect_postgres(url, opts).await,
        }
    }

    async fn connect_sqlite(path: &Path, opts: &DbOptions) -> Result<Db> {
        let sync = match opts.sqlite_sync {
            SyncMode::Full => SqliteSynchronous::Full,
            SyncMode::Normal => SqliteSynchronous::Normal,
        };
        let base = SqliteConnectOptions::new()
            .filename(path)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(sync)
            .foreign_keys(true)
            .busy_timeout(opts.busy_timeout)
            .pragma("temp_store", "memory");
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .acquire_timeout(opts.acquire_timeout)
            .connect_with(base.clone().create_if_missing(true))
            .await?;
        // The writer created the file and the WAL index; readers may now open read-only.
        let read = SqlitePoolOptions::new()
            .max_connections(opts.max_connections.max(1))
            .acquire_timeout(opts.acquire_timeout)
            .connect_with(base.read_only(true))
            .await?;
        Ok(Db::Sqlite {
            read,
            group: GroupCommit::start_sqlite(write.clone()),
            write,
            path: path.to_owned(),
        })
    }

    async fn connect_postgres(url: &str, opts: &DbOptions) -> Result<Db> {
        let mut connect = PgConnectOptions::from_str(url)?;
        if let Some(schema) = &opts.pg_schema {
            connect = connect.options([("search_path", schema.as_str())]);
        }
        // One direct connection first: a pool reports only that it timed out, while a connection
        // says why (refused, unknown host, bad password).
        let probe = sqlx::PgConnection::connect_with(&connect).await?;
        probe.close().await?;
        let pool = PgPoolOptions::new()
            .max_connections(opts.max_connections.max(1))
            .acquire_timeout(opts.acquire_timeout)
            .connect_with(connect)
            .await?;
        // Up to half the connections commit the intake's batches, each only while it writes one;
        // the rest serve reads and other writes meanwhile.
        let tasks = (opts.max_connections as usize / 2).max(1);
        Ok(Db::Postgres {
            group: GroupCommit::start_postgres(pool.clone(), tasks),
            pool,
        })
    }

    /// The backend.
    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite { .. } => Backend::Sqlite,
            Db::Postgres { .. } => Backend::Postgres,
        }
    }

    /// The SQLite file, for the SQLite backend.
    pub fn sqlite_path(&self) -> Option<&Path> {
        match self {
            Db::Sqlite { path, .. } => Some(path),
            Db::Postgres { .. } => None,
        }
    }

    /// Starts a write transaction. On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`),
    /// so a transaction that reads before it writes can never fail half-way for want of the lock.
    pub async fn begin(&self) -> Result<Tx> {
        Ok(match self {
            Db::Sqlite { write, .. } => Tx::Sqlite(write.begin_with(SQLITE_BEGIN).await?),
            Db::Postgres { pool, .. } => Tx::Postgres(pool.begin().await?),
        })
    }

    /// Applies every pending migration.
    pub async fn migrate(&self) -> Result<()> {
        match self {
            Db::Sqlite { write, .. } => SQLITE_MIGRATIONS.run(write).await?,
            Db::Postgres { pool, .. } => POSTGRES_MIGRATIONS.run(pool).await?,
        }
        Ok(())
    }

    fn migrator(&self) -> &'static Migrator {
        match self {
            Db::Sqlite { .. } => &SQLITE_MIGRATIONS,
            Db::Postgres { .. } => &POSTGRES_MIGRATIONS,
        }
    }

    /// Compares the migrations this binary carries with those applied to the database.
    pub async fn migration_status(&self) -> Result<MigrationStatus> {
        let exists = self.has_table("_sqlx_migrations").await?;
        let applied: Vec<(i64, bool, Vec<u8>)> = if exists {
            on_db!(self, |c| sqlx::query_as(
                "SELECT version, success, checksum FROM _sqlx_migrations ORDER BY version"
            )
            .fetch_all(c)
            .await)?
        } else {
            Vec::new()
        };
        let mut status = MigrationStatus::default();
        for m in self
            .migrator()
            .iter()
            .filter(|m| m.migration_type.is_up_migration())
        {
            match applied.iter().find(|(v, _, _)| *v == m.version) {
                None => status.pending.push((m.version, m.description.to_string())),
                Some((_, success, checksum)) => {
                    if !success || checksum.as_slice() != &*m.checksum {
                        status.mismatched.push(m.version);
                    }
                }
            }
        }
        for (v, _, _) in &applied {
            status.applied.push(*v);
            if !self.migrator().iter().any(|m| m.version == *v) {
                status.unknown.push(*v);
            }
        }
        Ok(status)
    }

    /// Whether the table exists (in the current schema on PostgreSQL).
    async fn has_table(&self, name: &str) -> Result<bool> {
        Ok(match self {
            Db::Sqlite { read, .. } => {
                sqlx::query_scalar(
                    "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = $1",
                )
                .bind(name)
                .fetch_one(read)
                .await?
            }
            Db::Postgres { pool, .. } => {
                sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
                    .bind(name)
                    .fetch_one(pool)
                    .await?
            }
        })
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<()> {
        let _: i32 = on_db!(self, |c| sqlx::query_scalar("SELECT 1").fetch_one(c).await)?;
        Ok(())
    }

    /// SQLite's own consistency check (`PRAGMA integrity_check`); `Ok(vec![])` when sound, the
    /// problems otherwise. PostgreSQL needs no such check and returns no problems.
    pub async fn integrity_problems(&self) -> Result<Vec<String>> {
        match self {
            Db::Sqlite { read, .. } => {
                let rows: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
                    .fetch_all(read)
                    .await?;
                Ok(rows.into_iter().filter(|r| r != "ok").collect())
            }
            Db::Postgres { .. } => Ok(Vec::new()),
        }
    }

    /// The tables and their columns, sorted, without the migration bookkeeping; the schema test
    /// compares these between backends.
    pub async fn schema_columns(&self) -> Result<Vec<(String, String)>> {
        let mut cols: Vec<(String, String)> = match self {
            Db::Sqlite { read, .. } => {
                sqlx::query_as(
                    "SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p \
                     WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '_sqlx_migrations'",
                )
                .fetch_all(read)
                .await?
            }
            Db::Postgres { pool, .. } => {
                sqlx::query_as(
                    "SELECT table_name::text, column_name::text FROM information_schema.columns \
                     WHERE table_schema = current_schema() AND table_name <> '_sqlx_migrations'",
                )
                .fetch_all(pool)
                .await?
            }
        };
        cols.sort();
        Ok(cols)
    }

    /// Chains the audit entries still waiting ([`crate::audit::sequence`]), then closes every
    /// connection (SQLite checkpoints its WAL).
    pub async fn close(&self) {
        // A database not migrated (yet) has no log to chain, and nothing to warn about.
        let sequenced = match self.has_table("audit_pending").await {
            Ok(true) => crate::audit::sequence(self).await.map(drop),
            Ok(false) => Ok(()),
            Err(e) => Err(e),
        };
        if let Err(e) = sequenced {
            tracing::warn!(error = %e, "audit entries left waiting; the next start chains them");
        }
        match self {
            Db::Sqlite { read, write, .. } => {
                read.close().await;
                write.close().await;
            }
            Db::Postgres { pool, .. } => pool.close().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_locations() {
        assert_eq!(
            DbLocation::parse("sqlite://./haven-data/haven.db").unwrap(),
            DbLocation::Sqlite(PathBuf::from("./haven-data/haven.db"))
        );
        assert_eq!(
            DbLocation::parse("postgres://u:p@h/db").unwrap().backend(),
            Backend::Postgres
        );
        assert!(DbLocation::parse("mysql://x").is_err());
        assert!(DbLocation::parse("sqlite::memory:").is_err());
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact_url("postgres://haven:s3cret@db:5432/haven"),
            "postgres://haven:***@db:5432/haven"
        );
        assert_eq!(redact_url("postgres://db/haven"), "postgres://db/haven");
        assert_eq!(
            redact_url("postgres://haven@db/haven"),
            "postgres://haven@db/haven"
        );
    }
}
