//! The second factor: enrolment at first sign-in, the code after the password, recovery codes.
//!
//! After the right password a session exists at the `password` stage (see
//! [`crate::auth::PendingSignIn`]), which only reaches the pages of this module and expires after
//! [`crate::auth::SECOND_FACTOR_WINDOW`]. A right code ends that session and starts a new one at
//! the `complete` stage, with a new token in the cookie: the session id changes with the
//! privilege. TOTP codes (RFC 6238: SHA-1, 6 digits, 30-second steps, one step of skew) are
//! accepted once per step; recovery codes once each.

use askama::Template;
use axum::Form;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use haven_domain::clock::random_bytes;
use haven_domain::{OrgId, UserId};
use haven_store::audit::Outcome;
use haven_store::sessions::{self, SessionStage};
use haven_store::users::{self, User};
use haven_store::{Tx, second_factor};
use serde::Deserialize;
use serde_json::json;
use totp_rs::{Algorithm, Builder, Totp};

use super::access::{start_session, with_session_cookie};
use super::see_other;
use crate::auth::{PendingSignIn, safe_next};
use crate::error::{AppError, AppResult};
use crate::secrets::{open_user_secret, recovery_code_hash, seal_user_secret};
use crate::state::AppState;
use crate::throttle;
use crate::ui::{Ctx, FormErrors, Page, render};

/// Seconds per TOTP step.
pub const STEP_SECONDS: u64 = 30;
/// Digits of a TOTP code.
pub const DIGITS: u8 = 6;
/// Bytes of a TOTP secret (160 bits, as RFC 4226 recommends).
pub const SECRET_BYTES: usize = 20;
/// How many recovery codes a person gets.
pub const RECOVERY_CODES: usize = 10;
/// The alphabet of recovery codes (Crockford's base32: no I, L, O or U, so nothing looks like
/// something else; 32 symbols, 5 bits each).
const RECOVERY_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Characters of a recovery code (50 bits).
const RECOVERY_LEN: usize = 10;

/// The TOTP of a secret with Haven's parameters.
pub fn totp(secret: &[u8]) -> AppResult<Totp> {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(DIGITS)
        .with_step_duration(STEP_SECONDS)
        .with_skew(1)
        .with_secret(secret.to_vec())
        .build()
        .map_err(|e| AppError::Internal(format!("TOTP parameters: {e}")))
}

/// Seconds since the Unix epoch.
fn unix_seconds(t: DateTime<Utc>) -> u64 {
    u64::try_from(t.timestamp()).unwrap_or(0)
}

/// The secret in base32 (RFC 4648, no padding), as authenticator apps take it.
pub fn base32(secret: &[u8]) -> String {
    data_encoding::BASE32_NOPAD.encode(secret)
}

/// Text in groups of `n` characters separated by spaces, for reading and typing.
pub fn grouped(text: &str, n: usize) -> String {
    text.as_bytes()
        .chunks(n.max(1))
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The `otpauth://` URI an authenticator app reads from the QR code.
pub fn otpauth_uri(issuer: &str, account: &str, secret_b32: &str) -> String {
    let enc = |s: &str| {
        percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
    };
    format!(
        "otpauth://totp/{}:{}?secret={secret_b32}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
        enc(issuer),
        enc(account),
        enc(issuer)
    )
}

/// A QR code of `text` as an inline SVG element (drawn here: no image service, no script).
pub fn qr_svg(text: &str) -> AppResult<String> {
    let code = qrcode::QrCode::with_error_correction_level(text, qrcode::EcLevel::M)
        .map_err(|e| AppError::Internal(format!("QR code: {e}")))?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    // The XML declaration is not allowed inside HTML, and an <svg> element there needs no
    // namespace declaration (so the page names no address at all).
    let start = svg.find("<svg").unwrap_or(0);
    Ok(svg[start..]
        .replacen(" xmlns=\"http://www.w3.org/2000/svg\"", "", 1)
        .replacen(
            "<svg ",
            "<svg role=\"img\" aria-labelledby=\"qr-title\" class=\"qr\" ",
            1,
        ))
}

/// Ten new recovery codes, each shown as `XXXXX-XXXXX`.
pub fn new_recovery_codes(state: &AppState) -> Vec<String> {
    (0..RECOVERY_CODES)
        .map(|_| {
            let bytes: [u8; RECOVERY_LEN] = random_bytes(state.rng.as_ref());
            // 256 is a multiple of 32, so the low five bits are uniform.
            let code: String = bytes
                .iter()
                .map(|b| char::from(RECOVERY_ALPHABET[usize::from(b & 31)]))
                .collect();
            format!("{}-{}", &code[..5], &code[5..])
        })
        .collect()
}

/// A recovery code as typed, reduced to its characters: case, spaces and dashes do not matter,
/// and the look-alikes of excluded characters are read as what they look like.
pub fn normalize_recovery_code(input: &str) -> String {
    input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            other => other,
        })
        .collect()
}

/// Whether the input looks like a TOTP code (six digits, spaces allowed).
fn as_totp_code(input: &str) -> Option<String> {
    let digits: String = input.chars().filter(|c| !c.is_whitespace()).collect();
    (digits.len() == usize::from(DIGITS) && digits.bytes().all(|b| b.is_ascii_digit()))
        .then_some(digits)
}

/// Checks a TOTP code against an account's enabled secret and spends its step; `Ok(None)` when
/// the code is wrong, `Ok(Some(false))` when its step was already used.
pub async fn check_totp(
    state: &AppState,
    tx: &mut Tx,
    org: OrgId,
    user: UserId,
    code: &str,
) -> AppResult<Option<bool>> {
    let factor = second_factor::get(&state.db, org, user).await?;
    let (true, Some(sealed)) = (factor.enabled(), factor.sealed_secret.as_deref()) else {
        return Ok(None);
    };
    let secret = open_user_secret(state, org, user, sealed).await?;
    let Some(code) = as_totp_code(code) else {
        return Ok(None);
    };
    let Some(step) = totp(&secret)?.check(&code, unix_seconds(state.now())) else {
        return Ok(None);
    };
    let step = i64::try_from(step).map_err(|_| AppError::BadRequest)?;
    Ok(Some(second_factor::accept_step(tx, org, user, step).await?))
}

/// Makes ten new recovery codes for `user` inside `tx`, replacing any old ones; returns them.
pub async fn issue_recovery_codes(
    state: &AppState,
    tx: &mut Tx,
    org: OrgId,
    user: UserId,
) -> AppResult<Vec<String>> {
    let codes = new_recovery_codes(state);
    let mut hashes = Vec::with_capacity(codes.len());
    for code in &codes {
        hashes.push(recovery_code_hash(state, org, user, &normalize_recovery_code(code)).await?);
    }
    second_factor::replace_recovery_codes(tx, org, user, &hashes, state.now()).await?;
    Ok(codes)
}

/// The `next` target, carried through the second-factor pages.
#[derive(Debug, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

/// A code typed into a form.
#[derive(Debug, Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
    next: Option<String>,
}

/// A path with `next` in its query, unless it is the home page.
pub fn with_next(path: &str, next: &str) -> String {
    if next == "/staff/" {
        path.to_owned()
    } else {
        format!(
            "{path}?next={}",
            percent_encoding::utf8_percent_encode(next, percent_encoding::NON_ALPHANUMERIC)
        )
    }
}

fn pending(ctx: &Ctx) -> AppResult<&PendingSignIn> {
    ctx.pending.as_ref().ok_or(AppError::Forbidden)
}

#[derive(Template)]
#[template(path = "staff/enrol.html")]
struct EnrolPage<'a> {
    page: Page<'a>,
    qr: String,
    secret: String,
    next: String,
    errors: FormErrors,
}

/// The pending secret of this sign-in, made and stored (sealed) on its first request, so a
/// reload shows the same one. A secret is shown to one sign-in only: another one (someone else
/// who knows the password, say) gets a secret of its own, which replaces it, so nobody ever sees
/// the secret that the person then confirms.
async fn pending_secret(ctx: &Ctx, p: &PendingSignIn) -> AppResult<Vec<u8>> {
    let state = &ctx.state;
    let user = &p.user;
    let factor = second_factor::get(&state.db, user.org_id, user.id).await?;
    if let (Some(sealed), Some(true)) = (
        factor.sealed_secret.as_deref(),
        factor.pending_session.map(|s| s == p.session.id),
    ) {
        return Ok(open_user_secret(state, user.org_id, user.id, sealed)
            .await?
            .to_vec());
    }
    let secret: [u8; SECRET_BYTES] = random_bytes(state.rng.as_ref());
    let sealed = seal_user_secret(state, user.org_id, user.id, &secret).await?;
    let mut tx = state.db.begin().await?;
    let stored =
        second_factor::set_pending(&mut tx, user.org_id, user.id, p.session.id, &sealed).await?;
    tx.commit().await?;
    if stored {
        Ok(secret.to_vec())
    } else {
        // Another request of this sign-in stored one first: show that one.
        let factor = second_factor::get(&state.db, user.org_id, user.id).await?;
        let sealed = factor.sealed_secret.ok_or(AppError::NotFound)?;
        Ok(open_user_secret(state, user.org_id, user.id, &sealed)
            .await?
            .to_vec())
    }
}

fn enrol_page(
    ctx: &Ctx,
    user: &User,
    secret: &[u8],
    next: String,
    errors: FormErrors,
) -> AppResult<Response> {
    let b32 = base32(secret);
    let failed = errors.any();
    let mut res = render(&EnrolPage {
        page: ctx.page("enrol-title"),
        qr: qr_svg(&otpauth_uri("Haven", &user.email, &b32))?,
        secret: grouped(&b32, 4),
        next,
        errors,
    })?;
    if failed {
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(res)
}

/// GET /staff/enrol: the QR code and secret of a new second factor, and a field for its first
/// code.
pub async fn enrol_form(ctx: Ctx, Query(q): Query<NextQuery>) -> AppResult<Response> {
    let p = pending(&ctx)?;
    let next = safe_next(q.next.as_deref());
    let factor = second_factor::get(&ctx.state.db, p.user.org_id, p.user.id).await?;
    if factor.enabled() {
        return Ok(see_other(&with_next("/staff/login/second-factor", &next)));
    }
    let secret = pending_secret(&ctx, p).await?;
    enrol_page(&ctx, &p.user, &secret, next, FormErrors::none())
}

#[derive(Template)]
#[template(path = "staff/recovery_codes.html")]
struct RecoveryCodesPage<'a> {
    page: Page<'a>,
    intro: String,
    codes: Vec<String>,
    next: String,
}

/// The page that shows new recovery codes, once.
fn recovery_codes_page(
    ctx: &Ctx,
    intro_id: &str,
    codes: Vec<String>,
    next: String,
) -> AppResult<Response> {
    render(&RecoveryCodesPage {
        page: ctx.page("recovery-codes-title"),
        intro: ctx.tr().t(intro_id),
        codes,
        next,
    })
}

/// Ends the `password`-stage session and starts a `complete` one with a new token, inside `tx`;
/// forgets the failed sign-ins and records the sign-in. Returns the new cookie value.
async fn complete_sign_in(
    ctx: &Ctx,
    tx: &mut Tx,
    p: &PendingSignIn,
    method: &str,
) -> AppResult<String> {
    let state = &ctx.state;
    let now = state.now();
    let org = p.user.org_id;
    users::clear_failed_sign_ins(tx, org, p.user.id, now).await?;
    sessions::end(tx, org, p.session.id, "rotated", now).await?;
    let token = start_session(state, tx, &p.user, SessionStage::Complete, ctx).await?;
    ctx.audit(
        tx,
        org,
        ctx.event("auth.sign_in", Outcome::Ok)
            .target("user", p.user.id.0)
            .details(json!({ "second_factor": method })),
    )
    .await?;
    Ok(token)
}

/// POST /staff/enrol: confirms the new second factor with its first code, shows the recovery
/// codes once and completes sign-in.
pub async fn enrol_submit(ctx: Ctx, Form(form): Form<CodeForm>) -> AppResult<Response> {
    let p = pending(&ctx)?.clone();
    let state = ctx.state.clone();
    let next = safe_next(form.next.as_deref());
    let org = p.user.org_id;
    let factor = second_factor::get(&state.db, org, p.user.id).await?;
    if factor.enabled() {
        return Ok(see_other(&with_next("/staff/login/second-factor", &next)));
    }
    let (Some(sealed), true) = (
        factor.sealed_secret.as_deref(),
        factor.pending_session == Some(p.session.id),
    ) else {
        // Nothing pending for this sign-in (another one replaced it): show a secret afresh.
        return Ok(see_other(&with_next("/staff/enrol", &next)));
    };
    let secret = open_user_secret(&state, org, p.user.id, sealed).await?;
    let step = match as_totp_code(&form.code) {
        Some(code) => totp(&secret)?.check(&code, unix_seconds(state.now())),
        None => None,
    };
    let Some(step) = step.and_then(|s| i64::try_from(s).ok()) else {
        ctx.audit_now(
            org,
            ctx.event("auth.second_factor_enrolled", Outcome::Failed)
                .target("user", p.user.id.0)
                .details(json!({ "reason": "wrong_code" })),
        )
        .await?;
        let mut errors = FormErrors::none();
        errors.add("code", ctx.tr().t("second-factor-code-wrong"));
        return enrol_page(&ctx, &p.user, &secret, next, errors);
    };
    let now = state.now();
    let mut tx = state.db.begin().await?;
    if !second_factor::enable(&mut tx, org, p.user.id, p.session.id, step, now).await? {
        drop(tx);
        return Ok(see_other(&with_next("/staff/enrol", &next)));
    }
    let codes = issue_recovery_codes(&state, &mut tx, org, p.user.id).await?;
    sessions::end_all_for_user(
        &mut tx,
        org,
        p.user.id,
        Some(p.session.id),
        "second_factor_changed",
        now,
    )
    .await?;
    ctx.audit(
        &mut tx,
        org,
        ctx.event("auth.second_factor_enrolled", Outcome::Ok)
            .target("user", p.user.id.0),
    )
    .await?;
    let token = complete_sign_in(&ctx, &mut tx, &p, "totp").await?;
    tx.commit().await?;
    let res = recovery_codes_page(&ctx, "recovery-codes-intro-enrolled", codes, next)?;
    Ok(with_session_cookie(&state, res, &token))
}

#[derive(Template)]
#[template(path = "staff/second_factor.html")]
struct SecondFactorPage<'a> {
    page: Page<'a>,
    next: String,
    errors: FormErrors,
}

fn second_factor_page(ctx: &Ctx, next: String, errors: FormErrors) -> AppResult<Response> {
    let failed = errors.any();
    let mut res = render(&SecondFactorPage {
        page: ctx.page("second-factor-title"),
        next,
        errors,
    })?;
    if failed {
        *res.status_mut() = StatusCode::UNAUTHORIZED;
    }
    Ok(res)
}

/// GET /staff/login/second-factor: asks for the code of the authenticator app (or a recovery
/// code).
pub async fn second_factor_form(ctx: Ctx, Query(q): Query<NextQuery>) -> AppResult<Response> {
    let p = pending(&ctx)?;
    let next = safe_next(q.next.as_deref());
    let factor = second_factor::get(&ctx.state.db, p.user.org_id, p.user.id).await?;
    if !factor.enabled() {
        return Ok(see_other(&with_next("/staff/enrol", &next)));
    }
    second_factor_page(&ctx, next, FormErrors::none())
}

/// POST /staff/login/second-factor: checks the code; right, completes sign-in with a new session.
pub async fn second_factor_submit(ctx: Ctx, Form(form): Form<CodeForm>) -> AppResult<Response> {
    let p = pending(&ctx)?.clone();
    let state = ctx.state.clone();
    let next = safe_next(form.next.as_deref());
    let org = p.user.org_id;
    if throttle::address_blocked(&ctx).await? {
        throttle::record_address_refusal(&ctx, org, "second_factor").await?;
        return Err(AppError::TooManyRequests);
    }
    let factor = second_factor::get(&state.db, org, p.user.id).await?;
    if !factor.enabled() {
        return Ok(see_other(&with_next("/staff/enrol", &next)));
    }
    let now = state.now();
    let mut tx = state.db.begin().await?;
    if users::sign_in_throttle(&state.db, org, p.user.id)
        .await?
        .locked_at(now)
    {
        return refuse_locked(&ctx, tx, &p).await;
    }
    let (accepted, method, reason) = if as_totp_code(&form.code).is_some() {
        match check_totp(&state, &mut tx, org, p.user.id, &form.code).await? {
            Some(true) => (true, "totp", ""),
            Some(false) => (false, "totp", "replayed_code"),
            None => (false, "totp", "wrong_code"),
        }
    } else {
        let code = normalize_recovery_code(&form.code);
        let hash = recovery_code_hash(&state, org, p.user.id, &code).await?;
        let used = !code.is_empty()
            && second_factor::use_recovery_code(&mut tx, org, p.user.id, &hash, now).await?;
        (used, "recovery_code", "wrong_recovery_code")
    };
    if accepted {
        if method == "recovery_code" {
            let left = second_factor::recovery_codes_left_tx(&mut tx, org, p.user.id).await?;
            ctx.audit(
                &mut tx,
                org,
                ctx.event("auth.recovery_code_used", Outcome::Ok)
                    .target("user", p.user.id.0)
                    .details(json!({ "left": left })),
            )
            .await?;
        }
        let token = complete_sign_in(&ctx, &mut tx, &p, method).await?;
        tx.commit().await?;
        return Ok(with_session_cookie(&state, see_other(&next), &token));
    }
    let lock = throttle::count_failure(&ctx, &mut tx, org, p.user.id).await?;
    ctx.audit(
        &mut tx,
        org,
        ctx.event("auth.sign_in", Outcome::Failed)
            .target("user", p.user.id.0)
            .details(json!({ "stage": "second_factor", "reason": reason })),
    )
    .await?;
    if lock.is_some() {
        sessions::end(&mut tx, org, p.session.id, "account_locked", now).await?;
        tx.commit().await?;
        return super::access::sign_in_refused(&ctx, None).await;
    }
    tx.commit().await?;
    let mut errors = FormErrors::none();
    let message = if reason == "replayed_code" {
        "second-factor-code-used"
    } else {
        "second-factor-code-wrong"
    };
    errors.add("code", ctx.tr().t(message));
    second_factor_page(&ctx, next, errors)
}

/// Refuses the second factor of a locked account: the half-finished sign-in ends and the person
/// sees the sign-in page with the same message as for any refused sign-in.
async fn refuse_locked(ctx: &Ctx, mut tx: Tx, p: &PendingSignIn) -> AppResult<Response> {
    let org = p.user.org_id;
    sessions::end(
        &mut tx,
        org,
        p.session.id,
        "account_locked",
        ctx.state.now(),
    )
    .await?;
    ctx.audit(
        &mut tx,
        org,
        ctx.event("auth.sign_in", Outcome::Failed)
            .target("user", p.user.id.0)
            .details(json!({ "stage": "second_factor", "reason": "account_locked" })),
    )
    .await?;
    tx.commit().await?;
    super::access::sign_in_refused(ctx, None).await
}

/// The regeneration of recovery codes.
#[derive(Debug, Deserialize)]
pub struct RegenerateForm {
    #[serde(default)]
    totp_code: String,
}

/// POST /staff/profile/recovery-codes: new recovery codes (the old ones stop working), with a
/// current code of the authenticator app; ends the account's other sessions.
pub async fn regenerate_recovery_codes(
    ctx: Ctx,
    Form(form): Form<RegenerateForm>,
) -> AppResult<Response> {
    let me = ctx.user()?.clone();
    let state = ctx.state.clone();
    let org = me.org();
    let now = state.now();
    let mut tx = state.db.begin().await?;
    let locked = users::sign_in_throttle(&state.db, org, me.user.id)
        .await?
        .locked_at(now);
    let checked = if locked {
        None
    } else {
        check_totp(&state, &mut tx, org, me.user.id, &form.totp_code).await?
    };
    if checked != Some(true) {
        let reason = match checked {
            _ if locked => "account_locked",
            Some(false) => "replayed_code",
            _ => "wrong_code",
        };
        if !locked {
            throttle::count_failure(&ctx, &mut tx, org, me.user.id).await?;
        }
        ctx.audit(
            &mut tx,
            org,
            ctx.event("auth.recovery_codes_regenerated", Outcome::Failed)
                .target("user", me.user.id.0)
                .details(json!({ "reason": reason })),
        )
        .await?;
        tx.commit().await?;
        let mut errors = FormErrors::none();
        let message = match reason {
            "account_locked" => "second-factor-locked",
            "replayed_code" => "second-factor-code-used",
            _ => "second-factor-code-wrong",
        };
        errors.add("totp_code", ctx.tr().t(message));
        return super::profile::profile_page(&ctx, errors, None, Default::default()).await;
    }
    users::clear_failed_sign_ins(&mut tx, org, me.user.id, now).await?;
    let codes = issue_recovery_codes(&state, &mut tx, org, me.user.id).await?;
    sessions::end_all_for_user(
        &mut tx,
        org,
        me.user.id,
        me.session.as_ref().map(|s| s.id),
        "second_factor_changed",
        now,
    )
    .await?;
    ctx.audit(
        &mut tx,
        org,
        ctx.event("auth.recovery_codes_regenerated", Outcome::Ok)
            .target("user", me.user.id.0),
    )
    .await?;
    tx.commit().await?;
    recovery_codes_page(
        &ctx,
        "recovery-codes-intro-regenerated",
        codes,
        "/staff/profile".into(),
    )
}

/// Removes an account's second factor and recovery codes and ends all its sessions, inside `tx`;
/// the person enrols again at their next sign-in, after their password. Used by administrators
/// and by `haven user reset-second-factor`.
pub async fn reset(tx: &mut Tx, org: OrgId, user: UserId, now: DateTime<Utc>) -> AppResult<u64> {
    second_factor::reset(tx, org, user).await?;
    Ok(sessions::end_all_for_user(tx, org, user, None, "second_factor_reset", now).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6238_sha1_vectors() {
        // RFC 6238, appendix B: the 20-byte ASCII secret "12345678901234567890", 8 digits there;
        // the last six digits are the 6-digit codes.
        let t = totp(b"12345678901234567890").unwrap();
        assert_eq!(t.generate(59).to_string(), "287082");
        assert_eq!(t.generate(1_111_111_109).to_string(), "081804");
        assert_eq!(t.check("287082", 59), Some(1));
        assert_eq!(t.check("287082", 59 + 30), Some(1), "one step of skew");
        assert_eq!(t.check("287082", 59 + 60), None);
    }

    #[test]
    fn recovery_codes_normalise() {
        assert_eq!(normalize_recovery_code(" abcde-fgh2k "), "ABCDEFGH2K");
        assert_eq!(normalize_recovery_code("o0 il"), "0011");
        assert_eq!(grouped("ABCDEFGHIJ", 4), "ABCD EFGH IJ");
        assert_eq!(as_totp_code("123 456").as_deref(), Some("123456"));
        assert_eq!(as_totp_code("12345"), None);
        assert_eq!(as_totp_code("+12345"), None);
    }

    #[test]
    fn otpauth_uri_names_the_parameters() {
        let uri = otpauth_uri("Haven", "ana@example.org", "ABCD");
        assert_eq!(
            uri,
            "otpauth://totp/Haven:ana%40example%2Eorg?secret=ABCD&issuer=Haven&algorithm=SHA1&digits=6&period=30"
        );
        let svg = qr_svg(&uri).unwrap();
        assert!(svg.starts_with("<svg role=\"img\""), "{svg}");
        assert!(!svg.contains("<?xml") && !svg.contains("http"));
    }
}
