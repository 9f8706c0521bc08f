//! Bearer secrets: session ids, one-time links, API tokens.
//!
//! A token is shown once (in a cookie, a link, an API response) and only its SHA-256 is stored, so
//! a copy of the database cannot be replayed as a login. A plain hash suffices because the token
//! has 256 bits of entropy; a slow password hash would only add latency to every request.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use haven_domain::SecureRng;
use haven_domain::clock::random_bytes;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A new random token: 32 bytes as unpadded base64url (43 characters, safe in URLs and cookies).
pub fn random_token(rng: &dyn SecureRng) -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<32>(rng))
}

/// The SHA-256 of a token, the form in which it is stored and looked up.
pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Compares two byte strings in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

#[cfg(test)]
mod tests {
    use haven_domain::OsRng;

    use super::*;

    #[test]
    fn tokens_are_43_url_safe_characters_and_distinct() {
        let a = random_token(&OsRng);
        let b = random_token(&OsRng);
        assert_eq!(a.len(), 43);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'),
            "{a}"
        );
        assert_ne!(a, b);
        assert_eq!(URL_SAFE_NO_PAD.decode(&a).unwrap().len(), 32);
    }

    #[test]
    fn token_hash_is_sha256() {
        assert_eq!(
            hex::encode(token_hash("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_ne!(token_hash("abc"), token_hash("abd"));
    }

    #[test]
    fn constant_time_eq_compares_contents_and_lengths() {
        assert!(constant_time_eq(b"same", b"same"));
        assert!(constant_time_eq(b"", b""));
        assert!(!constant_time_eq(b"same", b"samf"));
        assert!(!constant_time_eq(b"same", b"sam"));
    }
}
