//! Field encryption: identifying values are encrypted in the application before they reach the
//! database, each under a key for its own table column.
//!
//! Ciphertext format, version 1 (stored as a BLOB/BYTEA):
//!
//! ```text
//! 1 byte   format version (1)
//! 4 bytes  data key version, big endian
//! 24 bytes XChaCha20 nonce, random from the SecureRng
//! n bytes  XChaCha20-Poly1305 ciphertext of the n − 16 byte plaintext, then the 16-byte tag
//! ```
//!
//! The associated data is the length-prefixed encoding of a label, the format version, table,
//! column, record id and key version. It is not stored, only recomputed from where the value is
//! read, so a ciphertext copied into another row, column or table (or relabelled with another key
//! version) fails to open instead of silently showing one person's data on another's record.
//!
//! The key version travels in the clear so that rotation needs no lookup: old rows keep opening
//! with their old key while a background job re-encrypts them under the current one.

use std::fmt;
use std::marker::PhantomData;

use haven_domain::SecureRng;
use haven_domain::clock::random_bytes;
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::aead::{self, NONCE_LEN, TAG_LEN};
use crate::encoding;
use crate::error::CryptoError;
use crate::keys::OrgKeyring;

/// The ciphertext format this build writes.
pub const FORMAT_VERSION: u8 = 1;
/// Bytes a ciphertext adds to its plaintext (header and tag).
pub const OVERHEAD: usize = 1 + 4 + NONCE_LEN + TAG_LEN;

/// Where an encrypted value lives; bound into its ciphertext.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FieldLocation {
    /// The table.
    pub table: &'static str,
    /// The column.
    pub column: &'static str,
    /// The id of the row.
    pub record: Uuid,
}

impl FieldLocation {
    /// The location of `table`.`column` in the row `record`.
    pub const fn new(table: &'static str, column: &'static str, record: Uuid) -> Self {
        Self {
            table,
            column,
            record,
        }
    }
}

/// The associated data for a value at `loc` sealed under data key `version`.
fn associated_data(loc: &FieldLocation, version: u32) -> Vec<u8> {
    encoding::parts(&[
        b"haven/v1/field",
        &[FORMAT_VERSION],
        loc.table.as_bytes(),
        loc.column.as_bytes(),
        loc.record.as_bytes(),
        &version.to_be_bytes(),
    ])
}

/// A parsed ciphertext: key version, nonce, and encrypted body with tag.
struct Parsed<'a> {
    version: u32,
    nonce: &'a [u8; NONCE_LEN],
    body: &'a [u8],
}

fn parse(ciphertext: &[u8]) -> Result<Parsed<'_>, CryptoError> {
    let (&format, rest) = ciphertext.split_first().ok_or(CryptoError::Truncated)?;
    if format != FORMAT_VERSION {
        return Err(CryptoError::UnsupportedFormat(format));
    }
    let (version, rest) = rest
        .split_first_chunk::<4>()
        .ok_or(CryptoError::Truncated)?;
    let (nonce, body) = rest
        .split_first_chunk::<NONCE_LEN>()
        .ok_or(CryptoError::Truncated)?;
    if body.len() < TAG_LEN {
        return Err(CryptoError::Truncated);
    }
    Ok(Parsed {
        version: u32::from_be_bytes(*version),
        nonce,
        body,
    })
}

/// The data key version a ciphertext was sealed with, if it is a well-formed ciphertext.
pub fn key_version(ciphertext: &[u8]) -> Option<u32> {
    parse(ciphertext).ok().map(|p| p.version)
}

impl OrgKeyring {
    /// Encrypts `plaintext` for `loc` under the current data key version.
    pub fn seal(
        &self,
        loc: FieldLocation,
        plaintext: &[u8],
        rng: &dyn SecureRng,
    ) -> Result<Vec<u8>, CryptoError> {
        let version = self.current_version();
        let key = self.field_key(loc.table, loc.column, version)?;
        let nonce = random_bytes::<NONCE_LEN>(rng);
        let body = aead::seal(
            key.bytes(),
            &nonce,
            plaintext,
            &associated_data(&loc, version),
        )?;
        let mut out = Vec::with_capacity(1 + 4 + NONCE_LEN + body.len());
        out.push(FORMAT_VERSION);
        out.extend_from_slice(&version.to_be_bytes());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// Decrypts a value sealed for `loc`, with whichever data key version it names.
    pub fn open(
        &self,
        loc: FieldLocation,
        ciphertext: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let parsed = parse(ciphertext)?;
        let key = self.field_key(loc.table, loc.column, parsed.version)?;
        aead::open(
            key.bytes(),
            parsed.nonce,
            parsed.body,
            &associated_data(&loc, parsed.version),
        )
    }
}

/// A value type that can be sealed into a [`Sealed`] column.
pub trait Plaintext: Sized {
    /// The bytes to encrypt.
    fn to_bytes(&self) -> Zeroizing<Vec<u8>>;
    /// Rebuilds the value from decrypted bytes.
    fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoError>;
}

impl Plaintext for String {
    fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(self.as_bytes().to_vec())
    }

    fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        // Checked on the borrowed bytes so a failure does not drop an unzeroized copy.
        std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|_| CryptoError::Plaintext("UTF-8 text"))
    }
}

impl Plaintext for Vec<u8> {
    fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(self.clone())
    }

    fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        Ok(bytes.to_vec())
    }
}

/// The encrypted form of a `T`, the only form in which identifying values go to the database.
///
/// A store function that takes `Sealed<String>` for a name column cannot be handed the name
/// itself, so forgetting to encrypt is a compile error rather than a leak.
pub struct Sealed<T> {
    bytes: Vec<u8>,
    _value: PhantomData<fn() -> T>,
}

impl<T: Plaintext> Sealed<T> {
    /// Encrypts `value` for `loc` under the keyring's current data key version.
    pub fn seal(
        keyring: &OrgKeyring,
        loc: FieldLocation,
        value: &T,
        rng: &dyn SecureRng,
    ) -> Result<Self, CryptoError> {
        keyring
            .seal(loc, &value.to_bytes(), rng)
            .map(Self::from_stored)
    }

    /// Decrypts the value, which must have been sealed for `loc`.
    pub fn open(&self, keyring: &OrgKeyring, loc: FieldLocation) -> Result<T, CryptoError> {
        T::from_bytes(&keyring.open(loc, &self.bytes)?)
    }
}

impl<T> Sealed<T> {
    /// Wraps ciphertext read from the database.
    pub fn from_stored(bytes: Vec<u8>) -> Self {
        Self {
            bytes,
            _value: PhantomData,
        }
    }

    /// The ciphertext, for binding to SQL.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The ciphertext, by value.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// The data key version it was sealed with, or `None` if the bytes are not a ciphertext.
    pub fn key_version(&self) -> Option<u32> {
        key_version(&self.bytes)
    }

    /// The same value sealed again under the keyring's current version (for key rotation).
    pub fn reencrypt(
        &self,
        keyring: &OrgKeyring,
        loc: FieldLocation,
        rng: &dyn SecureRng,
    ) -> Result<Self, CryptoError> {
        let plain = keyring.open(loc, &self.bytes)?;
        keyring.seal(loc, &plain, rng).map(Self::from_stored)
    }
}

impl<T> Clone for Sealed<T> {
    fn clone(&self) -> Self {
        Self::from_stored(self.bytes.clone())
    }
}

impl<T> PartialEq for Sealed<T> {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}

impl<T> Eq for Sealed<T> {}

impl<T> fmt::Debug for Sealed<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sealed({} bytes)", self.bytes.len())
    }
}

#[cfg(test)]
mod tests {
    use haven_domain::OsRng;

    use super::*;
    use crate::keys::DataKey;

    fn ring() -> OrgKeyring {
        OrgKeyring::new(DataKey::generate(&OsRng), 1, DataKey::generate(&OsRng))
    }

    fn loc() -> FieldLocation {
        FieldLocation::new("people", "full_name", Uuid::from_u128(7))
    }

    #[test]
    fn sealed_value_opens_to_the_plaintext() {
        let ring = ring();
        let ct = ring
            .seal(loc(), "Јована Јовановић".as_bytes(), &OsRng)
            .unwrap();
        assert_eq!(ct.len(), OVERHEAD + "Јована Јовановић".len());
        assert_eq!(ct[0], FORMAT_VERSION);
        assert_eq!(&ct[1..5], &1u32.to_be_bytes());
        assert_eq!(
            ring.open(loc(), &ct).unwrap().as_slice(),
            "Јована Јовановић".as_bytes()
        );
        // Empty values are sealed too (their length is all that shows).
        let empty = ring.seal(loc(), b"", &OsRng).unwrap();
        assert!(ring.open(loc(), &empty).unwrap().is_empty());
    }

    #[test]
    fn same_value_seals_differently_each_time() {
        let ring = ring();
        let a = ring.seal(loc(), b"Jovana", &OsRng).unwrap();
        let b = ring.seal(loc(), b"Jovana", &OsRng).unwrap();
        assert_ne!(a, b);
        assert!(!a.windows(6).any(|w| w == b"Jovana"));
    }

    #[test]
    fn ciphertext_moved_to_another_place_does_not_open() {
        let ring = ring();
        let ct = ring.seal(loc(), b"+381641234567", &OsRng).unwrap();
        let elsewhere = [
            FieldLocation::new("people", "full_name", Uuid::from_u128(8)),
            FieldLocation::new("people", "phone", Uuid::from_u128(7)),
            FieldLocation::new("contacts", "full_name", Uuid::from_u128(7)),
        ];
        for other in elsewhere {
            assert_eq!(
                ring.open(other, &ct).unwrap_err(),
                CryptoError::Decrypt,
                "{other:?}"
            );
        }
    }

    #[test]
    fn another_organisations_keyring_cannot_open() {
        let ct = ring().seal(loc(), b"secret", &OsRng).unwrap();
        assert_eq!(ring().open(loc(), &ct).unwrap_err(), CryptoError::Decrypt);
    }

    #[test]
    fn flipping_any_byte_makes_it_fail() {
        let ring = ring();
        let ct = ring.seal(loc(), b"Jovanovic", &OsRng).unwrap();
        for i in 0..ct.len() {
            for bit in [0x01, 0x80] {
                let mut bad = ct.clone();
                bad[i] ^= bit;
                assert!(ring.open(loc(), &bad).is_err(), "byte {i} bit {bit:#x}");
            }
        }
    }

    #[test]
    fn malformed_ciphertexts_give_distinct_errors() {
        let ring = ring();
        let ct = ring.seal(loc(), b"x", &OsRng).unwrap();
        assert_eq!(ring.open(loc(), &[]).unwrap_err(), CryptoError::Truncated);
        assert_eq!(
            ring.open(loc(), &ct[..OVERHEAD - 1]).unwrap_err(),
            CryptoError::Truncated
        );
        assert_eq!(
            ring.open(loc(), &ct[..3]).unwrap_err(),
            CryptoError::Truncated
        );
        let mut bad = ct.clone();
        bad[0] = 2;
        assert_eq!(
            ring.open(loc(), &bad).unwrap_err(),
            CryptoError::UnsupportedFormat(2)
        );
        let mut bad = ct.clone();
        bad[1..5].copy_from_slice(&9u32.to_be_bytes());
        assert_eq!(
            ring.open(loc(), &bad).unwrap_err(),
            CryptoError::UnknownKeyVersion(9)
        );
    }

    #[test]
    fn rotation_keeps_old_ciphertexts_readable_and_reencrypts_to_current() {
        let mut ring = ring();
        let old =
            Sealed::<String>::seal(&ring, loc(), &"Marija Petrović".to_owned(), &OsRng).unwrap();
        assert_eq!(old.key_version(), Some(1));

        ring.add_version(2, DataKey::generate(&OsRng)).unwrap();
        ring.set_current(2).unwrap();
        assert_eq!(old.open(&ring, loc()).unwrap(), "Marija Petrović");

        let new = old.reencrypt(&ring, loc(), &OsRng).unwrap();
        assert_eq!(new.key_version(), Some(2));
        assert_ne!(new, old);
        assert_eq!(new.open(&ring, loc()).unwrap(), "Marija Petrović");

        let fresh = Sealed::<String>::seal(&ring, loc(), &"x".to_owned(), &OsRng).unwrap();
        assert_eq!(fresh.key_version(), Some(2));
    }

    #[test]
    fn sealed_round_trips_through_storage_and_hides_in_debug() {
        let ring = ring();
        let sealed = Sealed::<String>::seal(&ring, loc(), &"Ana".to_owned(), &OsRng).unwrap();
        let stored = sealed.as_bytes().to_vec();
        let read = Sealed::<String>::from_stored(stored);
        assert_eq!(read.open(&ring, loc()).unwrap(), "Ana");
        assert_eq!(
            format!("{read:?}"),
            format!("Sealed({} bytes)", OVERHEAD + 3)
        );

        let bytes = Sealed::<Vec<u8>>::seal(&ring, loc(), &vec![0, 255, 7], &OsRng).unwrap();
        assert_eq!(bytes.open(&ring, loc()).unwrap(), vec![0, 255, 7]);

        // Bytes that are not UTF-8 do not open as a String.
        let as_text = Sealed::<String>::from_stored(bytes.into_bytes());
        assert_eq!(
            as_text.open(&ring, loc()).unwrap_err(),
            CryptoError::Plaintext("UTF-8 text")
        );
        assert_eq!(
            Sealed::<String>::from_stored(vec![1, 2]).key_version(),
            None
        );
    }
}
