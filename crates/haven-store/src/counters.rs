//! Gapless registers: case numbers per line and year, protocol numbers per year.
//!
//! The next number is taken by an upsert inside the caller's transaction. The row stays locked
//! until that transaction ends, so two cases opened at once get consecutive numbers, and a
//! creation that fails rolls its number back: the register never shows a hole.

use haven_domain::OrgId;

use crate::{Result, Tx, on_tx};

/// Takes the next number of `register` for `year`, starting at 1.
pub async fn next(tx: &mut Tx, org: OrgId, register: &str, year: i32) -> Result<i64> {
    Ok(on_tx!(tx, |c| sqlx::query_scalar(
        "INSERT INTO counters (org_id, register, year, last) VALUES ($1, $2, $3, 1) \
         ON CONFLICT (org_id, register, year) DO UPDATE SET last = counters.last + 1 \
         RETURNING last"
    )
    .bind(org.0)
    .bind(register)
    .bind(i64::from(year))
    .fetch_one(&mut *c)
    .await)?)
}
