//! The crate's errors.
//!
//! Messages never contain key material or the identifying values being processed (a phone
//! number, a name), because errors end up in logs; they name only what went wrong and, for the
//! key file, the path so that an operator can act on it.

use std::io;
use std::path::PathBuf;

/// A failure to encrypt, decrypt, unwrap or hash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// The text given as a master key is neither 64 hex characters nor base64 of 32 bytes.
    #[error("a master key must be 64 hexadecimal characters or the base64 encoding of 32 bytes")]
    MasterKeyFormat,
    /// A wrapped data key did not open: wrong master key, wrong binding, or altered bytes.
    #[error(
        "the data key could not be unwrapped: the master key is wrong or the wrapped key was altered"
    )]
    Unwrap,
    /// A field ciphertext is shorter than its fixed header and tag.
    #[error("the ciphertext is truncated")]
    Truncated,
    /// A field ciphertext starts with a format version this build does not know.
    #[error("the ciphertext has unsupported format version {0}")]
    UnsupportedFormat(u8),
    /// The data key version named by a ciphertext is not in the keyring.
    #[error("the ciphertext was sealed with data key version {0}, which the keyring does not hold")]
    UnknownKeyVersion(u32),
    /// The authentication tag did not verify.
    #[error(
        "the ciphertext failed authentication: it was altered or belongs to another field or record"
    )]
    Decrypt,
    /// The AEAD refused the input (only for inputs far larger than any field).
    #[error("the value is too long to encrypt")]
    TooLong,
    /// A decrypted value is not of the expected type.
    #[error("the decrypted value is not valid {0}")]
    Plaintext(&'static str),
    /// A key version was added twice to a keyring.
    #[error("data key version {0} is already in the keyring")]
    DuplicateKeyVersion(u32),
    /// The Argon2 parameters are outside what the algorithm accepts.
    #[error("invalid Argon2 parameters: {0}")]
    PasswordParams(String),
    /// Argon2 refused to hash the password (e.g. absurdly long input).
    #[error("the password could not be hashed: {0}")]
    PasswordHash(String),
}

/// A failure to load or create the master key file.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// No file at the path.
    #[error("key file {} does not exist", path.display())]
    Missing {
        /// The path that was tried.
        path: PathBuf,
    },
    /// The path exists but is a directory, socket or other non-regular file.
    #[error("key file {} is not a regular file", path.display())]
    NotAFile {
        /// The path that was tried.
        path: PathBuf,
    },
    /// Group or other users have some access to the file.
    #[error(
        "key file {} is accessible to other users (mode {mode:04o}); run chmod 600 on it",
        path.display()
    )]
    TooOpen {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The file exists but could not be opened or read.
    #[error("key file {} could not be read: {source}", path.display())]
    Unreadable {
        /// The key file.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
    /// The file does not hold a master key in the expected format.
    #[error(
        "key file {} does not hold a master key (expected 64 hexadecimal characters)",
        path.display()
    )]
    BadContent {
        /// The key file.
        path: PathBuf,
    },
    /// Creating a new key file would overwrite an existing one.
    #[error("key file {} already exists; refusing to overwrite it", path.display())]
    Exists {
        /// The key file.
        path: PathBuf,
    },
    /// The new key file could not be written.
    #[error("key file {} could not be created: {source}", path.display())]
    Create {
        /// The key file.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
}

/// A phone number that cannot be normalised to E.164 (defined next to the normaliser, in the domain).
pub use haven_domain::phone::PhoneError;
