//! The staff application: one module per feature.

pub mod access;
pub mod agencies;
pub mod audit;
pub mod cases;
pub mod court;
pub mod desk;
pub mod documents;
pub mod home;
pub mod institutions;
pub mod people;
pub mod portal;
pub mod profile;
pub mod referrals;
pub mod register;
pub mod second_factor;
pub mod tokens;
pub mod users;

use axum::response::{IntoResponse, Redirect, Response};

/// Redirects after a successful form post (so a reload does not post again).
pub fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}
