//! Secrets of staff accounts that Haven must be able to read back (the TOTP secret) or check
//! (recovery codes), kept behind one pair of functions so their key can change in one place.
//!
//! They are sealed with the organisation's keyring, like every identifying field, and listed in
//! the store's registry of encrypted columns, so key checks and rotations cover them. Sealed
//! values are bound to `users`.`totp_secret` and the user's id, so a secret copied
//! to another account's row does not open; recovery codes are HMAC-SHA256 under a key derived
//! from the keyring's index key, over the user id and the code, so a stolen table is useless
//! without the key and a code of one person does not work for another.

use std::sync::Arc;

use haven_crypto::blind::BlindIndex;
use haven_crypto::field::FieldLocation;
use haven_crypto::keys::OrgKeyring;
use haven_domain::{OrgId, UserId};
use zeroize::Zeroizing;

use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// The blind-index spec of recovery codes: the full 256-bit HMAC (they must not collide).
const RECOVERY_CODE: BlindIndex = BlindIndex::new("recovery_code", 256);

/// The keyring of an organisation.
pub async fn keyring(state: &AppState, org: OrgId) -> AppResult<Arc<OrgKeyring>> {
    Ok(state.keys.get(org).await?)
}

fn totp_location(user: UserId) -> FieldLocation {
    FieldLocation::new("users", "totp_secret", user.0)
}

/// Encrypts an account's TOTP secret for `users`.`totp_secret`.
pub async fn seal_user_secret(
    state: &AppState,
    org: OrgId,
    user: UserId,
    bytes: &[u8],
) -> AppResult<Vec<u8>> {
    keyring(state, org)
        .await?
        .seal(totp_location(user), bytes, state.rng.as_ref())
        .map_err(|e| AppError::Internal(format!("sealing a TOTP secret: {e}")))
}

/// Decrypts an account's TOTP secret read from `users`.`totp_secret`.
pub async fn open_user_secret(
    state: &AppState,
    org: OrgId,
    user: UserId,
    sealed: &[u8],
) -> AppResult<Zeroizing<Vec<u8>>> {
    // A secret sealed under a data key version this process has not loaded yet (another process
    // rotated the keys) makes the keyring reload once and try again.
    state
        .keys
        .with(org, |ring| async move {
            ring.open(totp_location(user), sealed).map_err(|source| {
                haven_store::StoreError::Crypto {
                    table: "users",
                    column: "totp_secret",
                    record: user.0,
                    source,
                }
            })
        })
        .await
        .map_err(|e| AppError::Internal(e.to_string()))
}

/// The keyed hash under which a recovery code of `user` is stored (the code already normalised).
pub async fn recovery_code_hash(
    state: &AppState,
    org: OrgId,
    user: UserId,
    code: &str,
) -> AppResult<Vec<u8>> {
    Ok(keyring(state, org)
        .await?
        .blind_index(RECOVERY_CODE, &format!("{}:{code}", user.0)))
}
