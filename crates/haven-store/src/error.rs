//! The store's error type.
//!
//! Which error belongs where: the store returns [`StoreError`]; feature functions turn the
//! expected failures (a duplicate e-mail, a stale link) into their own variants or `Option`s, so
//! that only the unexpected reaches the web layer as an internal error.

/// What went wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be reached or refused the query.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A migration could not be applied.
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A unique key already holds this value.
    #[error("a record with the same {0} already exists")]
    Duplicate(&'static str),
    /// The record does not exist (or belongs to another organisation).
    #[error("not found")]
    NotFound,
    /// A value read from the database is not what the schema promises.
    #[error("corrupt value in {table}.{column}: {reason}")]
    Corrupt {
        /// The table.
        table: &'static str,
        /// The column.
        column: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The database URL or options are unusable.
    #[error("{0}")]
    Config(String),
}

impl StoreError {
    /// Whether this is a violation of a unique key.
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, StoreError::Database(sqlx::Error::Database(e)) if e.is_unique_violation())
    }

    /// A corrupt-value error.
    pub fn corrupt(table: &'static str, column: &'static str, reason: impl ToString) -> Self {
        StoreError::Corrupt {
            table,
            column,
            reason: reason.to_string(),
        }
    }
}

/// Maps a unique violation to [`StoreError::Duplicate`] naming `what`.
pub fn duplicate_as(what: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |e| {
        let e = StoreError::Database(e);
        if e.is_unique_violation() {
            StoreError::Duplicate(what)
        } else {
            e
        }
    }
}
