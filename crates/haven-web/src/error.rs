//! Errors, mapped to HTTP once.
//!
//! Which error type belongs where: the domain returns `ValidationErrors` (shown next to the
//! fields, never as an error page); the store returns `StoreError`; handlers return [`AppError`].
//! An `AppError` becomes an empty response that carries an [`ErrorPage`] marker, and the
//! `render_errors` middleware — which knows the request's language, id and path — turns it into
//! a page in the user's language or, under `/api/`, an `application/problem+json` body. Anything
//! unexpected is logged with the request id and shown as that id alone: no internals.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use haven_store::StoreError;

/// What can go wrong in a handler.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Nothing here (or nothing this person may know exists).
    #[error("not found")]
    NotFound,
    /// Not authenticated (an API call without a valid token or session).
    #[error("unauthorized")]
    Unauthorized,
    /// Signed in, but not allowed.
    #[error("forbidden")]
    Forbidden,
    /// A state-changing request without a valid CSRF token, or from another site.
    #[error("csrf check failed")]
    Csrf,
    /// The request is malformed.
    #[error("bad request")]
    BadRequest,
    /// Too many attempts; try again later.
    #[error("too many requests")]
    TooManyRequests,
    /// The request body is too large.
    #[error("payload too large")]
    PayloadTooLarge,
    /// Something unexpected; the detail goes to the log only.
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::Forbidden | AppError::Csrf => StatusCode::FORBIDDEN,
            AppError::BadRequest => StatusCode::BAD_REQUEST,
            AppError::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            AppError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The kind of page to show.
    pub fn page(&self) -> ErrorPage {
        match self {
            AppError::NotFound => ErrorPage::NotFound,
            AppError::Unauthorized => ErrorPage::Unauthorized,
            AppError::Forbidden => ErrorPage::Forbidden,
            AppError::Csrf => ErrorPage::Csrf,
            AppError::BadRequest => ErrorPage::BadRequest,
            AppError::TooManyRequests => ErrorPage::TooManyRequests,
            AppError::PayloadTooLarge => ErrorPage::PayloadTooLarge,
            AppError::Internal(_) => ErrorPage::Internal,
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => AppError::NotFound,
            other => AppError::Internal(other.to_string()),
        }
    }
}

impl From<askama::Error> for AppError {
    fn from(e: askama::Error) -> Self {
        AppError::Internal(format!("template: {e}"))
    }
}

/// The marker the error renderer looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorPage {
    /// 404.
    NotFound,
    /// 401.
    Unauthorized,
    /// 403.
    Forbidden,
    /// 403 for a failed CSRF check.
    Csrf,
    /// 400.
    BadRequest,
    /// 429.
    TooManyRequests,
    /// 413.
    PayloadTooLarge,
    /// 500.
    Internal,
}

impl ErrorPage {
    /// The message ids of the title and explanation.
    pub fn message_ids(self) -> (&'static str, &'static str) {
        match self {
            ErrorPage::NotFound => ("error-not-found-title", "error-not-found-body"),
            ErrorPage::Unauthorized => ("error-unauthorized-title", "error-unauthorized-body"),
            ErrorPage::Forbidden => ("error-forbidden-title", "error-forbidden-body"),
            ErrorPage::Csrf => ("error-csrf-title", "error-csrf-body"),
            ErrorPage::BadRequest => ("error-bad-request-title", "error-bad-request-body"),
            ErrorPage::TooManyRequests => ("error-too-many-title", "error-too-many-body"),
            ErrorPage::PayloadTooLarge => ("error-too-large-title", "error-too-large-body"),
            ErrorPage::Internal => ("error-internal-title", "error-internal-body"),
        }
    }
}

/// Details for the log that must reach the renderer (kept out of the response body).
#[derive(Debug, Clone)]
pub struct ErrorDetail(pub String);

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let mut res = self.status().into_response();
        res.extensions_mut().insert(self.page());
        if let AppError::Internal(detail) = self {
            res.extensions_mut().insert(ErrorDetail(detail));
        }
        res
    }
}

/// A handler result.
pub type AppResult<T> = Result<T, AppError>;
