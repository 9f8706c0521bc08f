//! Haven's cryptography: the key hierarchy, field encryption, blind indexes, normalisation,
//! password and token hashing, and audit-chain hashing.
//!
//! Key hierarchy. One 32-byte [`MasterKey`] lives outside the database (a 0600 key file or an
//! environment variable). Each organisation has random 32-byte keys of two purposes — data keys
//! (several versions, one current) and one index key — stored in the database only wrapped by the
//! master key with XChaCha20-Poly1305 and bound to the organisation, purpose and version. At run
//! time an [`OrgKeyring`] holds one organisation's unwrapped keys and derives, with HKDF-SHA256, a
//! key per table column from a data key (field encryption) and a key per blind index from the
//! index key. Field ciphertexts are bound to table, column, record id and key version; the audit
//! checkpoint signing key is derived from the master key. So a copy of the database alone reveals
//! no identity, rotating the master key re-wraps a few rows, rotating a data key re-encrypts in the
//! background without breaking search, and deleting an organisation's wrapped keys shreds its data.
//!
//! Randomness always comes from a [`haven_domain::SecureRng`] passed in, so tests control it.
//! Only RustCrypto primitives are used; nothing here is a home-made cipher.

mod aead;
pub mod audit;
pub mod blind;
mod encoding;
pub mod error;
pub mod field;
pub mod keys;
pub mod normalize;
pub mod password;
pub mod tokens;

pub use audit::{AuditHash, CanonicalEncoder, Checkpoint, CheckpointKey, GENESIS, chain_hash};
pub use blind::{BlindIndex, recommended_bits};
pub use error::{CryptoError, KeyFileError, PhoneError};
pub use field::{FieldLocation, Plaintext, Sealed};
pub use keys::{BlindIndexKey, DataKey, FieldKey, KeyPurpose, MasterKey, OrgKeyring};
pub use password::PasswordHasher;
pub use tokens::{constant_time_eq, random_token, token_hash};
