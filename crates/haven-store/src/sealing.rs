//! Sealing and opening one value of one column of one row: the helpers every store of
//! identifying data shares, so that each binds ciphertexts to its own table, column and record.

use haven_crypto::CryptoError;
use haven_crypto::field::{FieldLocation, Plaintext, Sealed};
use haven_crypto::keys::OrgKeyring;
use haven_domain::SecureRng;
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::{Result, StoreError};

/// Seals `value` for `table`.`column` of row `id`.
pub fn seal<T: Plaintext>(
    ring: &OrgKeyring,
    rng: &dyn SecureRng,
    table: &'static str,
    column: &'static str,
    id: Uuid,
    value: &T,
) -> Result<Vec<u8>> {
    Sealed::seal(ring, FieldLocation::new(table, column, id), value, rng)
        .map(Sealed::into_bytes)
        .map_err(|source| StoreError::Crypto {
            table,
            column,
            record: id,
            source,
        })
}

/// Opens a value sealed for `table`.`column` of row `id`.
pub fn open<T: Plaintext>(
    ring: &OrgKeyring,
    table: &'static str,
    column: &'static str,
    id: Uuid,
    bytes: Vec<u8>,
) -> Result<T> {
    Sealed::<T>::from_stored(bytes)
        .open(ring, FieldLocation::new(table, column, id))
        .map_err(|source| StoreError::Crypto {
            table,
            column,
            record: id,
            source,
        })
}

/// A value sealed as JSON.
pub struct Json<T>(pub T);

impl<T: Serialize + DeserializeOwned> Plaintext for Json<T> {
    fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(serde_json::to_vec(&self.0).unwrap_or_else(|_| b"null".to_vec()))
    }

    fn from_bytes(bytes: &[u8]) -> std::result::Result<Self, CryptoError> {
        serde_json::from_slice(bytes)
            .map(Json)
            .map_err(|_| CryptoError::Plaintext("a JSON value of the expected shape"))
    }
}
