//! Hashing for the tamper-evident audit log, and signed checkpoints of its head.
//!
//! Each audit entry's hash covers the previous entry's hash, so changing, removing or reordering
//! any entry changes every hash after it and `haven audit verify` notices. The chain alone does
//! not stop someone with write access from rewriting the whole tail consistently; a [`Checkpoint`]
//! — the head hash signed with an Ed25519 key derived from the master key — exported off the
//! machine pins the chain up to that point.
//!
//! The chain of every organisation starts from [`GENESIS`], the SHA-256 of the label
//! `haven/v1/audit/genesis` (a labelled value rather than all zeroes, so it cannot be mistaken for
//! an uninitialised hash). Chains of different organisations still differ from the first entry on,
//! because each entry encodes its organisation id.

use std::fmt;

use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::encoding;
use crate::keys::MasterKey;

/// The hash of an audit entry (and of the chain up to it).
pub type AuditHash = [u8; 32];

/// The "previous hash" of an organisation's first entry: SHA-256 of `haven/v1/audit/genesis`.
pub const GENESIS: AuditHash = [
    0x8e, 0xc6, 0x74, 0x0c, 0xb3, 0xb0, 0xab, 0xbf, 0xa5, 0x48, 0x3f, 0x09, 0xa5, 0x31, 0x99, 0x30,
    0x90, 0x95, 0x29, 0x65, 0xcc, 0x86, 0x2e, 0x64, 0xb5, 0x13, 0x9f, 0x64, 0x18, 0x8b, 0x0d, 0xdf,
];

/// The hash of an entry (encoded with [`CanonicalEncoder`]) that follows `prev` in the chain.
pub fn chain_hash(prev: &AuditHash, entry: &[u8]) -> AuditHash {
    Sha256::digest(encoding::parts(&[b"haven/v1/audit/entry", prev, entry])).into()
}

/// Encodes named fields unambiguously, so the same entry hashes the same when appended and when
/// verified, and no two different entries encode alike.
///
/// Each field is its length-prefixed name, a presence byte (1, or 0 for an absent optional value)
/// and, when present, its length-prefixed value. Field order is part of the encoding: write the
/// fields in the same order in both places (one function in the store that both paths call).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CanonicalEncoder {
    buf: Vec<u8>,
}

impl CanonicalEncoder {
    /// An empty encoding.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a field holding raw bytes.
    pub fn bytes(mut self, name: &str, value: &[u8]) -> Self {
        encoding::put(&mut self.buf, name.as_bytes());
        self.buf.push(1);
        encoding::put(&mut self.buf, value);
        self
    }

    /// Adds a text field (UTF-8 bytes).
    pub fn str(self, name: &str, value: &str) -> Self {
        self.bytes(name, value.as_bytes())
    }

    /// Adds an integer field (8 bytes, big endian).
    pub fn i64(self, name: &str, value: i64) -> Self {
        self.bytes(name, &value.to_be_bytes())
    }

    /// Adds a UUID field (its 16 bytes).
    pub fn uuid(self, name: &str, value: Uuid) -> Self {
        self.bytes(name, value.as_bytes())
    }

    /// Adds an optional text field; absent and empty encode differently.
    pub fn opt_str(mut self, name: &str, value: Option<&str>) -> Self {
        match value {
            Some(v) => self.str(name, v),
            None => {
                encoding::put(&mut self.buf, name.as_bytes());
                self.buf.push(0);
                self
            }
        }
    }

    /// The encoded bytes.
    pub fn finish(self) -> Vec<u8> {
        self.buf
    }
}

/// The Ed25519 key that signs checkpoints, derived from the master key so it needs no storage.
pub struct CheckpointKey(SigningKey);

impl CheckpointKey {
    /// The checkpoint key of `master` (always the same for the same master key).
    pub fn derive(master: &MasterKey) -> Self {
        let seed = master.derive(b"haven/v1/audit/checkpoint");
        Self(SigningKey::from_bytes(&seed))
    }

    /// The public key as 64 hex characters, to be kept off the machine for verification.
    pub fn public_key_hex(&self) -> String {
        hex::encode(self.0.verifying_key().as_bytes())
    }

    /// Signs `message`; the signature as 128 hex characters.
    pub fn sign(&self, message: &[u8]) -> String {
        hex::encode(self.0.sign(message).to_bytes())
    }
}

impl fmt::Debug for CheckpointKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CheckpointKey")
            .field("public_key", &self.public_key_hex())
            .finish()
    }
}

/// Whether `signature_hex` is a valid Ed25519 signature of `message` by `public_key_hex`.
pub fn verify_checkpoint(public_key_hex: &str, message: &[u8], signature_hex: &str) -> bool {
    let Some(public_key) = decode_hex::<32>(public_key_hex) else {
        return false;
    };
    let Some(signature) = decode_hex::<64>(signature_hex) else {
        return false;
    };
    let Ok(key) = VerifyingKey::from_bytes(&public_key) else {
        return false;
    };
    key.verify_strict(message, &Signature::from_bytes(&signature))
        .is_ok()
}

fn decode_hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    let mut out = [0u8; N];
    hex::decode_to_slice(text, &mut out).ok()?;
    Some(out)
}

/// A signed statement that an organisation's audit chain had `head_hash_hex` at `seq`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The organisation whose chain this is.
    pub org_id: Uuid,
    /// The sequence number of the entry whose hash is the head.
    pub seq: i64,
    /// That entry's chain hash, hex.
    pub head_hash_hex: String,
    /// When the checkpoint was made, RFC 3339.
    pub created_at: String,
    /// The signing key's public half, hex.
    pub public_key_hex: String,
    /// The Ed25519 signature of [`Checkpoint::signed_message`], hex.
    pub signature_hex: String,
}

impl Checkpoint {
    /// A checkpoint of `head` at `seq`, signed with `key`.
    pub fn create(
        key: &CheckpointKey,
        org_id: Uuid,
        seq: i64,
        head: &AuditHash,
        created_at: &str,
    ) -> Self {
        let mut checkpoint = Self {
            org_id,
            seq,
            head_hash_hex: hex::encode(head),
            created_at: created_at.to_owned(),
            public_key_hex: key.public_key_hex(),
            signature_hex: String::new(),
        };
        checkpoint.signature_hex = key.sign(&checkpoint.signed_message());
        checkpoint
    }

    /// The bytes that are signed: every field but the signature, canonically encoded.
    pub fn signed_message(&self) -> Vec<u8> {
        CanonicalEncoder::new()
            .str("kind", "haven/v1/audit/checkpoint")
            .uuid("org_id", self.org_id)
            .i64("seq", self.seq)
            .str("head_hash", &self.head_hash_hex)
            .str("created_at", &self.created_at)
            .str("public_key", &self.public_key_hex)
            .finish()
    }

    /// The head hash as bytes, if it is well-formed.
    pub fn head(&self) -> Option<AuditHash> {
        decode_hex::<32>(&self.head_hash_hex)
    }

    /// Whether the signature matches the key named in the checkpoint itself.
    ///
    /// This proves only that the file is intact: anyone can sign a forged checkpoint with a key of
    /// their own. Against tampering, use [`Checkpoint::verify_with`] and the key kept elsewhere.
    pub fn verify(&self) -> bool {
        self.head().is_some()
            && verify_checkpoint(
                &self.public_key_hex,
                &self.signed_message(),
                &self.signature_hex,
            )
    }

    /// Whether the checkpoint is intact and signed by `expected_public_key_hex`.
    pub fn verify_with(&self, expected_public_key_hex: &str) -> bool {
        match (
            decode_hex::<32>(expected_public_key_hex),
            decode_hex::<32>(&self.public_key_hex),
        ) {
            (Some(expected), Some(actual)) => expected == actual && self.verify(),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use haven_domain::OsRng;

    use super::*;

    fn entry(seq: i64, action: &str, details: Option<&str>) -> Vec<u8> {
        CanonicalEncoder::new()
            .uuid("org_id", Uuid::from_u128(1))
            .i64("seq", seq)
            .str("time", "2026-03-01T10:00:00.000000Z")
            .str("actor", "user:42")
            .str("action", action)
            .opt_str("details", details)
            .finish()
    }

    #[test]
    fn genesis_is_the_hash_of_its_label() {
        let expected: AuditHash = Sha256::digest(b"haven/v1/audit/genesis").into();
        assert_eq!(GENESIS, expected);
    }

    #[test]
    fn chain_hash_depends_on_every_byte_and_on_the_previous_hash() {
        let e = entry(1, "case.view", Some("case 2026-0001"));
        let h = chain_hash(&GENESIS, &e);
        assert_eq!(h, chain_hash(&GENESIS, &e));
        for i in 0..e.len() {
            let mut changed = e.clone();
            changed[i] ^= 0x01;
            assert_ne!(chain_hash(&GENESIS, &changed), h, "byte {i}");
        }
        assert_ne!(chain_hash(&h, &e), h);
        let mut other_prev = GENESIS;
        other_prev[31] ^= 1;
        assert_ne!(chain_hash(&other_prev, &e), h);
    }

    #[test]
    fn canonical_encoding_is_unambiguous() {
        let a = CanonicalEncoder::new().str("a", "bc").str("d", "").finish();
        let b = CanonicalEncoder::new().str("a", "b").str("cd", "").finish();
        assert_ne!(a, b);
        assert_ne!(entry(1, "x", None), entry(1, "x", Some("")));
        assert_ne!(entry(1, "x", None), entry(2, "x", None));
        assert_eq!(entry(1, "x", Some("y")), entry(1, "x", Some("y")));
    }

    fn signed() -> (CheckpointKey, Checkpoint) {
        let key = CheckpointKey::derive(&MasterKey::generate(&OsRng));
        let head = chain_hash(&GENESIS, &entry(1, "login", None));
        let cp = Checkpoint::create(&key, Uuid::from_u128(1), 1, &head, "2026-03-01T10:00:00Z");
        (key, cp)
    }

    #[test]
    fn checkpoint_verifies_and_survives_json() {
        let (key, cp) = signed();
        assert!(cp.verify());
        assert!(cp.verify_with(&key.public_key_hex()));
        assert!(cp.verify_with(&key.public_key_hex().to_uppercase()));
        let json = serde_json::to_string(&cp).unwrap();
        let back: Checkpoint = serde_json::from_str(&json).unwrap();
        assert_eq!(back, cp);
        assert!(back.verify());
        assert_eq!(
            back.head(),
            Some(chain_hash(&GENESIS, &entry(1, "login", None)))
        );
    }

    #[test]
    fn tampered_checkpoint_fails() {
        let (key, cp) = signed();
        let pk = key.public_key_hex();

        let mut t = cp.clone();
        t.seq = 2;
        assert!(!t.verify() && !t.verify_with(&pk));

        let mut t = cp.clone();
        t.head_hash_hex = hex::encode(GENESIS);
        assert!(!t.verify() && !t.verify_with(&pk));

        let mut t = cp.clone();
        t.org_id = Uuid::from_u128(2);
        assert!(!t.verify());

        let mut t = cp.clone();
        t.created_at = "2026-03-02T10:00:00Z".to_owned();
        assert!(!t.verify());

        let mut t = cp.clone();
        t.signature_hex = "00".repeat(64);
        assert!(!t.verify());

        let mut t = cp.clone();
        t.signature_hex = "zz".to_owned();
        assert!(!t.verify());
    }

    #[test]
    fn a_checkpoint_re_signed_with_another_key_fails_against_the_expected_key() {
        let (key, cp) = signed();
        let forger = CheckpointKey::derive(&MasterKey::generate(&OsRng));
        let head = cp.head().unwrap();
        let mut forged = Checkpoint::create(&forger, cp.org_id, 5, &head, &cp.created_at);
        // Self-consistent, so verify() alone cannot tell...
        assert!(forged.verify());
        // ...but the key kept off the machine can.
        assert!(!forged.verify_with(&key.public_key_hex()));
        // And swapping in the expected public key breaks the signature.
        forged.public_key_hex = key.public_key_hex();
        assert!(!forged.verify());
        assert!(!cp.verify_with("not hex"));
    }

    #[test]
    fn checkpoint_key_is_derived_deterministically_from_the_master_key() {
        let master = MasterKey::from_encoded(&"5a".repeat(32)).unwrap();
        let a = CheckpointKey::derive(&master);
        let b = CheckpointKey::derive(&MasterKey::from_encoded(&"5a".repeat(32)).unwrap());
        assert_eq!(a.public_key_hex(), b.public_key_hex());
        assert_eq!(a.public_key_hex().len(), 64);
        assert_ne!(
            a.public_key_hex(),
            CheckpointKey::derive(&MasterKey::generate(&OsRng)).public_key_hex()
        );
        let sig = a.sign(b"message");
        assert_eq!(sig.len(), 128);
        assert!(verify_checkpoint(&a.public_key_hex(), b"message", &sig));
        assert!(!verify_checkpoint(&a.public_key_hex(), b"messagf", &sig));
        assert!(!format!("{a:?}").contains("5a5a"));
    }
}
