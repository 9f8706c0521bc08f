//! Secrets of staff accounts that Haven must be able to read back (the TOTP secret) or check
//! (recovery codes), kept behind one pair of functions so their key can change in one place.
//!
//! For now the organisation's keyring is derived deterministically from the master key
//! ([`keyring`]); when stored, wrapped organisation keys exist, the body of [`keyring`] is the one
//! line to change. Sealed values are bound to `users`.`totp_secret` and the user's id, so a secret copied
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

/// The key version of the derived keyring.
const DERIVED_VERSION: u32 = 1;

/// The blind-index spec of recovery codes: the full 256-bit HMAC (they must not collide).
const RECOVERY_CODE: BlindIndex = BlindIndex::new("recovery_code", 256);

/// The keyring of an organisation's account secrets.
pub async fn keyring(state: &AppState, org: OrgId) -> AppResult<Arc<OrgKeyring>> {
    // With stored organisation keyrings this becomes `Ok(state.keys.get(org).await?)`.
    Ok(Arc::new(derived_keyring(state, org)))
}

/// The interim keyring: derived deterministically from the master key.
fn derived_keyring(state: &AppState, org: OrgId) -> OrgKeyring {
    let index = state
        .master
        .derive_data_key(&format!("account-secrets/{}/index", org.0));
    let data = state
        .master
        .derive_data_key(&format!("account-secrets/{}/data", org.0));
    OrgKeyring::new(index, DERIVED_VERSION, data)
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
    keyring(state, org)
        .await?
        .open(totp_location(user), sealed)
        .map_err(|e| AppError::Internal(format!("opening a TOTP secret: {e}")))
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
