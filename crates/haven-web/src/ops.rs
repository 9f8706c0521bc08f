//! Operations: health, readiness, metrics, and the compiled-in static files.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::state::AppState;

/// GET /healthz: the process answers.
pub async fn healthz() -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "ok\n",
    )
        .into_response()
}

/// GET /readyz: the database answers and its schema is the one this binary expects.
pub async fn readyz(State(state): State<AppState>) -> Response {
    let text = |status, body: String| {
        (
            status,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            body,
        )
            .into_response()
    };
    if let Err(e) = state.db.ping().await {
        tracing::warn!(error = %e, "readiness: database unreachable");
        return text(
            StatusCode::SERVICE_UNAVAILABLE,
            "database unreachable\n".into(),
        );
    }
    match state.db.migration_status().await {
        Ok(s) if s.is_current() => text(StatusCode::OK, "ready\n".into()),
        Ok(s) => text(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "migrations not current: {} pending, {} unknown, {} changed\n",
                s.pending.len(),
                s.unknown.len(),
                s.mismatched.len()
            ),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "readiness: migration status unavailable");
            text(
                StatusCode::SERVICE_UNAVAILABLE,
                "migration status unavailable\n".into(),
            )
        }
    }
}

/// GET /metrics: Prometheus text format.
pub async fn metrics(State(state): State<AppState>) -> Response {
    metrics::gauge!("haven_up").set(1.0);
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}

/// A file compiled into the binary.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset {
        name: "haven.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../static/haven.css"),
    },
    Asset {
        name: "haven.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../static/haven.js"),
    },
    Asset {
        name: "portal.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../static/portal.css"),
    },
    Asset {
        name: "portal.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../static/portal.js"),
    },
    Asset {
        name: "favicon.svg",
        content_type: "image/svg+xml",
        body: include_bytes!("../static/favicon.svg"),
    },
];

/// GET /static/{file}: compiled-in files, revalidated by ETag.
pub async fn asset(Path(file): Path<String>, headers: HeaderMap) -> Response {
    let Some(asset) = ASSETS.iter().find(|a| a.name == file) else {
        return crate::error::AppError::NotFound.into_response();
    };
    let etag = format!("\"{}\"", hex::encode(&Sha256::digest(asset.body)[..12]));
    let etag_value =
        HeaderValue::from_str(&etag).unwrap_or_else(|_| HeaderValue::from_static("\"0\""));
    let cache = HeaderValue::from_static("public, max-age=3600, must-revalidate");
    if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == etag.as_bytes())
    {
        return (
            StatusCode::NOT_MODIFIED,
            [(header::ETAG, etag_value), (header::CACHE_CONTROL, cache)],
        )
            .into_response();
    }
    (
        StatusCode::OK,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.content_type),
            ),
            (header::ETAG, etag_value),
            (header::CACHE_CONTROL, cache),
        ],
        asset.body,
    )
        .into_response()
}
