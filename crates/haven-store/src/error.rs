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
    /// A write shared a transaction with others (SQLite's group commit) and that transaction
    /// could not be committed, or the writer stopped: the write was not saved.
    #[error("write not saved: {0}")]
    GroupCommit(String),
    /// The database URL or options are unusable.
    #[error("{0}")]
    Config(String),
    /// An encrypted value could not be sealed or did not open (the message names the place,
    /// never the value).
    #[error("encrypted value {table}.{column} of record {record}: {source}")]
    Crypto {
        /// The table.
        table: &'static str,
        /// The column.
        column: &'static str,
        /// The row's id.
        record: uuid::Uuid,
        /// What went wrong.
        source: haven_crypto::CryptoError,
    },
    /// The organisation keys in the database were wrapped by another master key.
    #[error(
        "the master key does not match this database (fingerprint {actual}, the database expects {expected})"
    )]
    MasterKeyMismatch {
        /// The fingerprint of the master key in use.
        actual: String,
        /// The fingerprint recorded with the wrapped keys.
        expected: String,
    },
    /// An organisation has no key of this purpose.
    #[error("organisation {org} has no {purpose} key")]
    NoKey {
        /// The organisation.
        org: uuid::Uuid,
        /// `data` or `index`.
        purpose: &'static str,
    },
    /// A wrapped key names the master key in use but does not open with it: it was altered.
    #[error(
        "the {purpose} key version {version} of organisation {org} cannot be unwrapped although it names this master key: the wrapped key was altered"
    )]
    KeyUnwrap {
        /// The organisation.
        org: uuid::Uuid,
        /// `data` or `index`.
        purpose: &'static str,
        /// The key version.
        version: u32,
    },
}

impl StoreError {
    /// Whether this is a violation of a unique key.
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, StoreError::Database(sqlx::Error::Database(e)) if e.is_unique_violation())
    }

    /// The data key version named by a ciphertext that the keyring did not hold, if that is what
    /// went wrong (a newer version made by another process: reload the keyring and retry).
    pub fn unknown_key_version(&self) -> Option<u32> {
        match self {
            StoreError::Crypto {
                source: haven_crypto::CryptoError::UnknownKeyVersion(v),
                ..
            } => Some(*v),
            _ => None,
        }
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
