//! Haven's web layer: the staff application, the public portal and the JSON API, served by axum.
//!
//! Server-rendered HTML first (askama templates checked at compile time); every form works with
//! JavaScript off. One module per feature, with the same names as in the other layers; the route
//! table in [`routes`] is the single list of what can be reached and by whom.

pub mod api;
pub mod api_agencies;
pub mod api_desk;
pub mod app;
pub mod auth;
pub mod bootstrap;
pub mod error;
pub mod i18n;
pub mod keys;
pub mod letters;
pub mod mail;
pub mod ops;
pub mod passwords;
pub mod portal;
pub mod routes;
pub mod secrets;
pub mod security;
pub mod settings;
pub mod staff;
pub mod state;
pub mod throttle;
pub mod ui;
pub mod uploads;

pub use app::{AUDIT_SEQUENCE_EVERY, router, serve};
pub use bootstrap::{Haven, StartError, StartOptions, open};
pub use settings::Settings;
pub use state::AppState;
