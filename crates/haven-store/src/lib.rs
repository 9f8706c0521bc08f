//! Haven's database layer.
//!
//! Two backends, one codebase: SQLite (embedded, the default) and PostgreSQL (at scale). Every
//! query is one SQL text shared by both wherever the dialects agree — `$1` parameters,
//! `RETURNING`, `ON CONFLICT`, CTEs — and runs through [`on_db!`] or [`on_tx!`], which expand the
//! same code once per backend with that backend's native types (UUIDs as BLOB or `uuid`, times as
//! ISO text or `timestamptz`). Per-backend SQL sits side by side where the dialects differ.
//!
//! Every table carries `org_id`, and every primary, unique and foreign key includes it, so the
//! schema can be distributed and isolated by organisation.
//!
//! One module per feature, with the same names as in the other layers.

pub mod agencies;
pub mod api_tokens;
pub mod audit;
pub mod cases;
pub mod contacts;
pub mod counters;
pub mod court;
pub mod db;
pub mod documents;
pub mod encrypted;
pub mod error;
pub mod group_commit;
pub mod institutions;
pub mod keys;
pub mod links;
pub mod notifications;
pub mod orgs;
pub mod people;
pub mod portal;
pub mod register;
pub mod sealing;
pub mod second_factor;
pub mod sessions;
pub mod users;

pub use db::{Backend, Db, DbOptions, Tx};
pub use error::StoreError;

/// A store result.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
