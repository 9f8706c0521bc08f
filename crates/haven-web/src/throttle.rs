//! Throttling of failed sign-ins: per account (consecutive failures lock it for a while, the lock
//! doubling each time) and per client address (too many failures from one address in a window
//! refuse further attempts before any password is checked).
//!
//! Both count in the database, so every Haven process sharing it sees the same numbers: the
//! account's failures on its `users` row, the address's failures in the audit log.

use chrono::{DateTime, TimeDelta, Utc};
use haven_domain::{OrgId, UserId};
use haven_store::audit::{AuditActor, Outcome, failed_sign_ins_from};
use haven_store::{Tx, users};
use serde_json::json;

use crate::error::AppResult;
use crate::ui::Ctx;

/// Consecutive failures that lock an account.
pub const FAILURES_PER_LOCK: i64 = 5;
/// How long the first lock lasts; each further lock lasts twice as long as the one before.
pub const FIRST_LOCK: TimeDelta = TimeDelta::minutes(15);
/// The longest lock.
pub const LONGEST_LOCK: TimeDelta = TimeDelta::hours(24);
/// The window in which an address's failures are counted.
pub const ADDRESS_WINDOW: TimeDelta = TimeDelta::minutes(15);

/// How long to lock an account after its `failures`-th consecutive failure, if at all: after 5,
/// 15 minutes; after 10, 30; after 15, an hour; … at most 24 hours.
pub fn lock_duration(failures: i64) -> Option<TimeDelta> {
    if failures <= 0 || failures % FAILURES_PER_LOCK != 0 {
        return None;
    }
    let doublings = (failures / FAILURES_PER_LOCK - 1).min(16) as u32;
    let minutes = FIRST_LOCK.num_minutes().saturating_mul(1i64 << doublings);
    Some(TimeDelta::minutes(minutes.min(LONGEST_LOCK.num_minutes())))
}

/// Whether the client's address has failed too often lately to be let try again: more than
/// `limits.failed_sign_ins_per_address` failures (20 by default) within [`ADDRESS_WINDOW`].
pub async fn address_blocked(ctx: &Ctx) -> AppResult<bool> {
    let Some(ip) = ctx.ip.as_deref() else {
        return Ok(false);
    };
    let since = ctx.state.now() - ADDRESS_WINDOW;
    let limit = i64::from(ctx.state.settings.limits.failed_sign_ins_per_address);
    Ok(failed_sign_ins_from(&ctx.state.db, ip, since).await? > limit)
}

/// Records an address refusal in the audit log (in its own transaction).
pub async fn record_address_refusal(ctx: &Ctx, org: OrgId, stage: &str) -> AppResult<()> {
    ctx.audit_now(
        org,
        ctx.event("auth.sign_in", Outcome::Denied)
            .details(json!({ "reason": "address_throttled", "stage": stage })),
    )
    .await
}

/// Counts a failed sign-in of an existing account inside `tx`, locking it (and recording
/// `auth.account_locked`) when the failures reach the next threshold; returns the new lock.
pub async fn count_failure(
    ctx: &Ctx,
    tx: &mut Tx,
    org: OrgId,
    user: UserId,
) -> AppResult<Option<DateTime<Utc>>> {
    let failures = users::record_failed_sign_in(tx, org, user).await?;
    let Some(duration) = lock_duration(failures) else {
        return Ok(None);
    };
    let until = ctx.state.now() + duration;
    users::lock(tx, org, user, until).await?;
    let mut ev = ctx
        .event("auth.account_locked", Outcome::Ok)
        .target("user", user.0)
        .details(json!({ "failures": failures, "minutes": duration.num_minutes() }));
    ev.actor = AuditActor::System;
    ctx.audit(tx, org, ev).await?;
    Ok(Some(until))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_double_and_are_capped() {
        assert_eq!(lock_duration(0), None);
        assert_eq!(lock_duration(4), None);
        assert_eq!(lock_duration(5), Some(TimeDelta::minutes(15)));
        assert_eq!(lock_duration(6), None);
        assert_eq!(lock_duration(10), Some(TimeDelta::minutes(30)));
        assert_eq!(lock_duration(15), Some(TimeDelta::minutes(60)));
        assert_eq!(lock_duration(35), Some(TimeDelta::minutes(960)));
        assert_eq!(lock_duration(40), Some(TimeDelta::hours(24)));
        assert_eq!(lock_duration(5000), Some(TimeDelta::hours(24)));
    }
}
