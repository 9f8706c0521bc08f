//! The one authenticated cipher the crate uses, XChaCha20-Poly1305, behind two small functions.
//!
//! XChaCha's 192-bit nonce is large enough to draw at random for every message without counting,
//! which is what lets stateless processes on many machines encrypt under the same key safely.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use zeroize::Zeroizing;

use crate::error::CryptoError;

/// Bytes in a key.
pub(crate) const KEY_LEN: usize = 32;
/// Bytes in an XChaCha20 nonce.
pub(crate) const NONCE_LEN: usize = 24;
/// Bytes in a Poly1305 tag.
pub(crate) const TAG_LEN: usize = 16;

/// Encrypts `msg` bound to `aad`; the result is the ciphertext followed by the tag.
pub(crate) fn seal(
    key: &[u8; KEY_LEN],
    nonce: &[u8; NONCE_LEN],
    msg: &[u8],
    aad: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    XChaCha20Poly1305::new(<&Key>::from(key))
        .encrypt(<&XNonce>::from(nonce), Payload { msg, aad })
        .map_err(|_| CryptoError::TooLong)
}

/// Decrypts and authenticates `ct` (ciphertext and tag) bound to `aad`.
pub(crate) fn open(
    key: &[u8; KEY_LEN],
    nonce: &[u8; NONCE_LEN],
    ct: &[u8],
    aad: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    XChaCha20Poly1305::new(<&Key>::from(key))
        .decrypt(<&XNonce>::from(nonce), Payload { msg: ct, aad })
        .map(Zeroizing::new)
        .map_err(|_| CryptoError::Decrypt)
}
