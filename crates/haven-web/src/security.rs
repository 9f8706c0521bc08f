//! Response headers every page gets, and the CSRF tokens of every form.

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use haven_domain::SecureRng;
use haven_domain::clock::random_bytes;
use subtle::ConstantTimeEq;

/// The content security policy: nothing inline, nothing from another origin.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; manifest-src 'self'";

/// Adds the security headers to every response; responses that did not choose their own
/// caching are marked `no-store`.
pub async fn headers(tls: bool, req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    set(h, header::CONTENT_SECURITY_POLICY, CSP);
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::REFERRER_POLICY, "no-referrer");
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(
        h,
        HeaderName::from_static("permissions-policy"),
        "camera=(), microphone=(), geolocation=(), payment=(), usb=(), browsing-topics=()",
    );
    set(
        h,
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    set(
        h,
        HeaderName::from_static("cross-origin-resource-policy"),
        "same-origin",
    );
    set(
        h,
        HeaderName::from_static("x-permitted-cross-domain-policies"),
        "none",
    );
    if tls {
        set(
            h,
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=63072000; includeSubDomains",
        );
    }
    if !h.contains_key(header::CACHE_CONTROL) {
        set(h, header::CACHE_CONTROL, "no-store");
    }
    res
}

fn set(h: &mut HeaderMap, name: HeaderName, value: &'static str) {
    h.insert(name, HeaderValue::from_static(value));
}

/// Whether a response may be compressed: never one marked `no-store`, because a compressed
/// page that holds a secret next to attacker-chosen text leaks the secret through its length
/// (BREACH). Staff pages are all `no-store`; static files and public pages compress.
pub fn may_compress(headers: &HeaderMap) -> bool {
    headers
        .get(header::CACHE_CONTROL)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| !v.contains("no-store"))
}

/// A CSRF token for a form: a fresh random pad and the secret masked with it, so the token
/// differs on every page (no fixed secret for a compression side channel to find).
pub fn mask_token(secret: &[u8], rng: &dyn SecureRng) -> String {
    let pad: [u8; 32] = random_bytes(rng);
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(&pad);
    out.extend(secret.iter().take(32).zip(pad.iter()).map(|(s, p)| s ^ p));
    URL_SAFE_NO_PAD.encode(out)
}

/// Whether `token` was made by [`mask_token`] from `secret`.
pub fn verify_token(token: &str, secret: &[u8]) -> bool {
    let Ok(raw) = URL_SAFE_NO_PAD.decode(token.trim()) else {
        return false;
    };
    if raw.len() != 64 || secret.len() != 32 {
        return false;
    }
    let unmasked: Vec<u8> = raw[32..]
        .iter()
        .zip(raw[..32].iter())
        .map(|(m, p)| m ^ p)
        .collect();
    unmasked.ct_eq(secret).into()
}

/// Whether a state-changing request comes from a page of this site, judged by the browser's own
/// `Sec-Fetch-Site` and `Origin` headers (absent in non-browser clients, which the token check
/// still covers).
pub fn same_site_request(headers: &HeaderMap, trust_proxy: bool) -> bool {
    let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if let Some(site) = fetch_site
        && !(site == "same-origin" || site == "none")
    {
        return false;
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    if origin == "null" {
        // Haven's own `Referrer-Policy: no-referrer` makes browsers send `Origin: null` with
        // every form they post (Fetch standard, "append a request Origin header"); the browser's
        // `Sec-Fetch-Site`, checked above, then says where the request comes from. Without it
        // (or from a sandboxed frame, which says cross-site), "null" is refused.
        return fetch_site.is_some();
    }
    let host = if trust_proxy {
        headers
            .get("x-forwarded-host")
            .or_else(|| headers.get(header::HOST))
    } else {
        headers.get(header::HOST)
    };
    let Some(host) = host.and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let origin_host = origin
        .split_once("://")
        .map(|(_, rest)| rest)
        .unwrap_or(origin);
    origin_host.eq_ignore_ascii_case(host)
}

#[cfg(test)]
mod tests {
    use super::*;
    use haven_domain::OsRng;

    #[test]
    fn tokens_verify_and_differ() {
        let secret = [7u8; 32];
        let a = mask_token(&secret, &OsRng);
        let b = mask_token(&secret, &OsRng);
        assert_ne!(a, b);
        assert!(verify_token(&a, &secret));
        assert!(verify_token(&b, &secret));
        assert!(!verify_token(&a, &[8u8; 32]));
        assert!(!verify_token("", &secret));
        assert!(!verify_token("not base64!", &secret));
    }

    #[test]
    fn cross_site_requests_are_recognised() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        assert!(same_site_request(&h, false));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:8080"),
        );
        assert!(same_site_request(&h, false));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://evil.example"),
        );
        assert!(!same_site_request(&h, false));
        // "null" alone proves nothing; with the browser's word that it is same-origin (what a
        // no-referrer policy leads to), it is a form of this site.
        h.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(!same_site_request(&h, false));
        h.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        assert!(same_site_request(&h, false));
        h.remove(header::ORIGIN);
        h.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(!same_site_request(&h, false));
        h.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(!same_site_request(&h, false));
    }
}
