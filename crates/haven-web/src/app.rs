//! Assembling the router: the route table, the per-area middleware, and the layers every
//! request passes through.
//!
//! A request flows: request id → trace span and metrics (by matched route, never the raw path,
//! which could carry a token) → security headers → compression (only for what may be stored) →
//! panic catcher → timeout → body limit → error pages → [staff and API: session → language →
//! CSRF] → the route's access guard → the handler.

use std::sync::Arc;
use std::time::{Duration, Instant};

use askama::Template;
use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{Next, from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use haven_domain::{Language, SecureRng};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::auth::{csrf_layer, guard, language_layer, session_layer, token_layer};
use crate::error::{ErrorDetail, ErrorPage};
use crate::routes::table;
use crate::security;
use crate::state::AppState;

/// Makes request ids from the application's random generator.
#[derive(Clone)]
struct MakeId(Arc<dyn SecureRng>);

impl MakeRequestId for MakeId {
    fn make_request_id<B>(&mut self, _req: &axum::http::Request<B>) -> Option<RequestId> {
        let bytes: [u8; 8] = haven_domain::clock::random_bytes(self.0.as_ref());
        HeaderValue::from_str(&hex::encode(bytes))
            .ok()
            .map(RequestId::new)
    }
}

/// The whole application.
pub fn router(state: AppState) -> Router {
    let mut staff = Router::new();
    let mut api = Router::new();
    let mut public = Router::new();
    for route in table() {
        let access = route.spec.access;
        let st = state.clone();
        let handler = route
            .handler
            .route_layer(from_fn(move |req: Request, next: Next| {
                guard(st.clone(), access, req, next)
            }));
        if route.spec.path.starts_with("/staff") {
            staff = staff.route(route.spec.path, handler);
        } else if route.spec.path.starts_with("/api/v1") {
            api = api.route(route.spec.path, handler);
        } else {
            public = public.route(route.spec.path, handler);
        }
    }
    let signed_in_layers = |r: Router<AppState>| {
        r.layer(from_fn_with_state(state.clone(), csrf_layer))
            .layer(from_fn_with_state(state.clone(), language_layer))
            .layer(from_fn_with_state(state.clone(), session_layer))
    };
    let staff = signed_in_layers(staff);
    // The API also takes bearer tokens, resolved before (and instead of) the session.
    let api = signed_in_layers(api).layer(from_fn_with_state(state.clone(), token_layer));

    let tls = state.settings.served_over_tls();
    let timeout = Duration::from_secs(u64::from(state.settings.limits.request_timeout_seconds));
    let body_limit = state.settings.limits.body_kib as usize * 1024;
    let upload_limit = state.settings.cases.upload_limit_bytes();
    let compress = SizeAbove::new(512)
        .and(NotForContentType::GRPC)
        .and(NotForContentType::IMAGES)
        .and(
            |_status: StatusCode,
             _version: axum::http::Version,
             headers: &axum::http::HeaderMap,
             _ext: &axum::http::Extensions| { security::may_compress(headers) },
        );
    let rng = state.rng.clone();

    Router::new()
        .merge(public)
        .merge(staff)
        .merge(api)
        .fallback(fallback)
        .layer(from_fn_with_state(state.clone(), render_errors))
        .layer(from_fn(move |req: Request, next: Next| {
            limit_body(body_limit, upload_limit, req, next)
        }))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .layer(CatchPanicLayer::custom(|_| {
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }))
        .layer(CompressionLayer::new().compress_when(compress))
        .layer(from_fn(move |req: Request, next: Next| {
            security::headers(tls, req, next)
        }))
        .layer(from_fn(record_metrics))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let route = req
                .extensions()
                .get::<MatchedPath>()
                .map(|m| m.as_str().to_owned())
                .unwrap_or_else(|| "unmatched".into());
            let id = req
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-")
                .to_owned();
            tracing::info_span!("request", method = %req.method(), route = %route, request_id = %id)
        }))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeId(rng)))
        .with_state(state)
}

/// The routes that take uploaded files, with their own (larger) body limit.
pub const UPLOAD_ROUTES: &[&str] = &[
    "/staff/cases/{id}/documents",
    "/staff/agencies/register",
    REPLY_ROUTE,
    "/staff/agencies/{id}/reports/{rid}/screenshot",
];

/// An institution's reply, with files.
const REPLY_ROUTE: &str = "/reply/{token}";

/// Limits the request body: `upload` bytes (plus room for the form around the file) on the
/// upload routes, `normal` everywhere else. An institution's reply and the portal's forms with a
/// file are read to the end up to [`crate::uploads::body_cap`], so that files too large together
/// give the form back with its text. A declared length over the limit is refused at once; a body
/// that grows past it fails when read (413).
async fn limit_body(normal: usize, upload: usize, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_default();
    let limit = if route == REPLY_ROUTE {
        // Read to the end even when the files are too large together, so that the institution
        // gets its reply back with the message (`uploads`).
        crate::uploads::body_cap(upload)
    } else if UPLOAD_ROUTES.contains(&route.as_str()) {
        upload + 64 * 1024
    } else if route == crate::portal::SEND_ROUTE && crate::portal::is_upload_path(req.uri().path())
    {
        // The portal's uploads: 10 MiB of files; past that the form comes back with its text.
        crate::uploads::body_cap(crate::portal::UPLOAD_LIMIT)
    } else if route.starts_with("/{lang}") {
        // The portal's forms without files: small.
        crate::portal::FORM_LIMIT
    } else {
        normal
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    }
    let (parts, body) = req.into_parts();
    let limited = axum::body::Body::new(http_body_util::Limited::new(body, limit));
    next.run(Request::from_parts(parts, limited)).await
}

async fn fallback() -> Response {
    crate::error::AppError::NotFound.into_response()
}

async fn record_metrics(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let method = req.method().to_string();
    let start = Instant::now();
    let res = next.run(req).await;
    let status = res.status().as_u16().to_string();
    metrics::counter!("haven_http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status).increment(1);
    metrics::histogram!("haven_http_request_duration_seconds", "method" => method, "route" => route).record(start.elapsed().as_secs_f64());
    res
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorTemplate {
    lang: &'static str,
    title: String,
    body: String,
    correlation: Option<String>,
    correlation_text: String,
    home: &'static str,
    home_text: String,
}

/// Turns an error marker into a page in the user's language, or into problem+json under `/api/`.
async fn render_errors(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let is_api = req.uri().path().starts_with("/api/");
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_owned();
    let fallback_lang = req
        .headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(Language::from_accept_language)
        .unwrap_or(state.settings.org.language);
    let res = next.run(req).await;
    let page = match res.extensions().get::<ErrorPage>() {
        Some(p) => *p,
        None if res.status() == StatusCode::REQUEST_TIMEOUT
            && res.headers().get(header::CONTENT_TYPE).is_none() =>
        {
            ErrorPage::Internal
        }
        None if res.status() == StatusCode::PAYLOAD_TOO_LARGE
            && res.headers().get(header::CONTENT_TYPE).is_none() =>
        {
            ErrorPage::PayloadTooLarge
        }
        None if res.status() == StatusCode::INTERNAL_SERVER_ERROR
            && res.headers().get(header::CONTENT_TYPE).is_none() =>
        {
            ErrorPage::Internal
        }
        // The extractors' own refusals under /api/ (a body that is not JSON, a query that does
        // not parse): answered as problems like every other API error, not as plain text.
        None if is_api
            && res.status().is_client_error()
            && res
                .headers()
                .get(header::CONTENT_TYPE)
                .is_some_and(|v| v.as_bytes().starts_with(b"text/plain")) =>
        {
            match res.status() {
                StatusCode::NOT_FOUND => ErrorPage::NotFound,
                StatusCode::PAYLOAD_TOO_LARGE => ErrorPage::PayloadTooLarge,
                _ => ErrorPage::BadRequest,
            }
        }
        None => return res,
    };
    if let Some(ErrorDetail(detail)) = res.extensions().get::<ErrorDetail>() {
        tracing::error!(request_id = %request_id, error = %detail, "request failed");
    } else if page == ErrorPage::Internal {
        tracing::error!(request_id = %request_id, status = %res.status(), "request failed");
    }
    let lang = res
        .extensions()
        .get::<Language>()
        .copied()
        .unwrap_or(fallback_lang);
    let tr = state.i18n.tr(lang);
    let (title_id, body_id) = page.message_ids();
    let status = res.status();
    let mut headers = res.headers().clone();
    headers.remove(header::CONTENT_LENGTH);
    let correlation = (page == ErrorPage::Internal).then(|| request_id.clone());
    let mut out = if is_api {
        let body = serde_json::json!({
            "type": format!("https://haven.invalid/problems/{}", title_id.trim_start_matches("error-").trim_end_matches("-title")),
            "title": tr.t(title_id),
            "status": status.as_u16(),
            "detail": tr.t(body_id),
            "correlation_id": request_id,
        });
        let mut r = (status, body.to_string()).into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        r
    } else {
        let t = ErrorTemplate {
            lang: lang.bcp47(),
            title: tr.t(title_id),
            body: tr.t(body_id),
            correlation,
            correlation_text: tr.t("error-correlation-label"),
            home: "/staff/",
            home_text: tr.t("error-home"),
        };
        let html = t.render().unwrap_or_else(|_| tr.t(title_id));
        let mut r = (status, html).into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        r
    };
    for (name, value) in headers.iter() {
        if name != header::CONTENT_TYPE {
            out.headers_mut().append(name.clone(), value.clone());
        }
    }
    out
}

/// How often the server chains waiting audit entries ([`haven_store::audit::sequence`]): often
/// enough that the log is seconds-fresh for anyone reading the tables directly, rarely enough to
/// cost nothing when idle. Reading the log through Haven chains first and is always complete.
pub const AUDIT_SEQUENCE_EVERY: std::time::Duration = std::time::Duration::from_millis(100);

/// Serves the router on a listener until `shutdown` resolves; connections in flight finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
