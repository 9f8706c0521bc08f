//! The key hierarchy: master key → wrapped organisation keys → derived per-use keys.
//!
//! The master key never touches the database, so a copy of the database alone reveals nothing.
//! Each organisation's keys are random and stored only wrapped (encrypted) under the master key,
//! so replacing the master key means re-wrapping a handful of rows rather than re-encrypting every
//! field, and crypto-shredding an organisation means deleting its wrapped keys. Keys for a single
//! field or blind index are derived with HKDF on demand, so a key leaked from one field's code path
//! does not open another field, and nothing per field has to be stored.
//!
//! Index keys are separate from data keys ([`KeyPurpose`]) because field keys rotate (new data
//! key versions) while blind indexes must stay stable to remain searchable.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use haven_domain::SecureRng;
use haven_domain::clock::random_bytes;
use hkdf::Hkdf;
use sha2::{Digest, Sha256};
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::aead::{self, KEY_LEN, NONCE_LEN, TAG_LEN};
use crate::encoding;
use crate::error::{CryptoError, KeyFileError};

/// Format byte at the start of a wrapped key.
const WRAP_FORMAT: u8 = 1;
/// Length of a wrapped key: format byte, nonce, encrypted key, tag.
const WRAPPED_LEN: usize = 1 + NONCE_LEN + KEY_LEN + TAG_LEN;
/// A key file is one line; anything much longer is not a key file.
const MAX_KEY_FILE_LEN: usize = 1024;
/// Standard-alphabet base64, with or without padding, for keys from secret managers.
const BASE64_ANY_PADDING: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Derives a 32-byte key from `ikm` for the use named by `info` (HKDF-SHA256, no salt).
pub(crate) fn derive_key(ikm: &[u8; KEY_LEN], info: &[u8]) -> Zeroizing<[u8; KEY_LEN]> {
    let mut okm = Zeroizing::new([0u8; KEY_LEN]);
    // HKDF-SHA256 can expand to 255 × 32 bytes; a constant 32-byte output cannot fail.
    #[allow(clippy::expect_used)]
    Hkdf::<Sha256>::new(None, ikm)
        .expand(info, okm.as_mut_slice())
        .expect("HKDF-SHA256 always yields 32 bytes");
    okm
}

/// The root key, kept outside the database (key file or environment), that wraps all others.
pub struct MasterKey(Zeroizing<[u8; KEY_LEN]>);

impl MasterKey {
    /// A new random master key.
    pub fn generate(rng: &dyn SecureRng) -> Self {
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        rng.fill(key.as_mut_slice());
        Self(key)
    }

    /// Reads a key as written in a key file or an environment variable: 64 hex characters or
    /// base64 of 32 bytes, surrounding whitespace ignored.
    pub fn from_encoded(text: &str) -> Result<Self, CryptoError> {
        let text = text.trim();
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        if text.len() == 2 * KEY_LEN && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            hex::decode_to_slice(text, key.as_mut_slice())
                .map_err(|_| CryptoError::MasterKeyFormat)?;
            return Ok(Self(key));
        }
        let mut buf = Zeroizing::new([0u8; 2 * KEY_LEN]);
        match BASE64_ANY_PADDING.decode_slice(text, buf.as_mut_slice()) {
            Ok(KEY_LEN) => {
                key.copy_from_slice(&buf[..KEY_LEN]);
                Ok(Self(key))
            }
            _ => Err(CryptoError::MasterKeyFormat),
        }
    }

    /// The key file's content: 64 lower-case hex characters and a newline.
    pub fn encode(&self) -> Zeroizing<String> {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        // Sized up front so the string never reallocates and leaves a copy behind.
        let mut out = Zeroizing::new(String::with_capacity(2 * KEY_LEN + 1));
        for b in self.0.iter() {
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
        out.push('\n');
        out
    }

    /// A short public identifier of the key (16 hex characters), safe to show and log.
    pub fn fingerprint(&self) -> String {
        let digest = Sha256::digest(encoding::parts(&[
            b"haven/v1/master-key-fingerprint",
            self.0.as_slice(),
        ]));
        hex::encode(&digest[..8])
    }

    /// Loads the key file at `path`, refusing one that other users could read or change.
    pub fn load_file(path: impl AsRef<Path>) -> Result<Self, KeyFileError> {
        let path = path.as_ref();
        let unreadable = |source| KeyFileError::Unreadable {
            path: path.to_path_buf(),
            source,
        };
        // Checked before opening, because opening a FIFO or device could block or have effects.
        match fs::metadata(path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(KeyFileError::Missing {
                    path: path.to_path_buf(),
                });
            }
            Err(e) => return Err(unreadable(e)),
            Ok(meta) if !meta.is_file() => {
                return Err(KeyFileError::NotAFile {
                    path: path.to_path_buf(),
                });
            }
            Ok(_) => {}
        }
        let file = File::open(path).map_err(unreadable)?;
        // The mode is taken from the opened file, so a swap after the check above cannot slip
        // a different file past it.
        let meta = file.metadata().map_err(unreadable)?;
        if !meta.is_file() {
            return Err(KeyFileError::NotAFile {
                path: path.to_path_buf(),
            });
        }
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            return Err(KeyFileError::TooOpen {
                path: path.to_path_buf(),
                mode,
            });
        }
        let mut content = Zeroizing::new(Vec::with_capacity(2 * MAX_KEY_FILE_LEN));
        file.take(MAX_KEY_FILE_LEN as u64 + 1)
            .read_to_end(&mut content)
            .map_err(unreadable)?;
        let bad = || KeyFileError::BadContent {
            path: path.to_path_buf(),
        };
        if content.len() > MAX_KEY_FILE_LEN {
            return Err(bad());
        }
        let text = std::str::from_utf8(&content).map_err(|_| bad())?;
        Self::from_encoded(text).map_err(|_| bad())
    }

    /// Creates a new key file at `path` with mode 0600 and returns its key; never overwrites.
    ///
    /// The key is written to a temporary file in the same directory, flushed to disk, then
    /// hard-linked to `path` (which fails if `path` exists), so a crash leaves either no key file
    /// or a complete one, never a truncated key file that would block the next start.
    pub fn create_file(path: impl AsRef<Path>, rng: &dyn SecureRng) -> Result<Self, KeyFileError> {
        let path = path.as_ref();
        let failed = |source| KeyFileError::Create {
            path: path.to_path_buf(),
            source,
        };
        if fs::symlink_metadata(path).is_ok() {
            return Err(KeyFileError::Exists {
                path: path.to_path_buf(),
            });
        }
        let name = path.file_name().ok_or_else(|| {
            failed(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the path does not name a file",
            ))
        })?;
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let key = Self::generate(rng);
        let mut tmp_name = name.to_os_string();
        tmp_name.push(format!(".{}.tmp", hex::encode(random_bytes::<8>(rng))));
        let tmp: PathBuf = dir.join(tmp_name);

        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(failed)?;
        let linked = file
            .write_all(key.encode().as_bytes())
            .and_then(|()| file.sync_all())
            .and_then(|()| fs::hard_link(&tmp, path));
        drop(file);
        // Best effort: if this fails the leftover is a 0600 copy of the same key beside it.
        let _ = fs::remove_file(&tmp);
        match linked {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Err(KeyFileError::Exists {
                    path: path.to_path_buf(),
                });
            }
            Err(e) => return Err(failed(e)),
        }
        File::open(dir).and_then(|d| d.sync_all()).map_err(failed)?;
        Ok(key)
    }

    /// Encrypts an organisation key for storage, bound to its organisation, purpose and version.
    pub fn wrap_data_key(
        &self,
        key: &DataKey,
        org_id: Uuid,
        purpose: KeyPurpose,
        version: u32,
        rng: &dyn SecureRng,
    ) -> Result<Vec<u8>, CryptoError> {
        let kek = derive_key(&self.0, b"haven/v1/wrap");
        let nonce = random_bytes::<NONCE_LEN>(rng);
        let ct = aead::seal(
            &kek,
            &nonce,
            key.0.as_slice(),
            &wrap_aad(org_id, purpose, version),
        )?;
        let mut out = Vec::with_capacity(WRAPPED_LEN);
        out.push(WRAP_FORMAT);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    /// Decrypts a key made by [`MasterKey::wrap_data_key`] with the same binding.
    pub fn unwrap_data_key(
        &self,
        wrapped: &[u8],
        org_id: Uuid,
        purpose: KeyPurpose,
        version: u32,
    ) -> Result<DataKey, CryptoError> {
        if wrapped.len() != WRAPPED_LEN {
            return Err(CryptoError::Unwrap);
        }
        let Some((&WRAP_FORMAT, rest)) = wrapped.split_first() else {
            return Err(CryptoError::Unwrap);
        };
        let (nonce, ct) = rest.split_at(NONCE_LEN);
        let nonce: &[u8; NONCE_LEN] = nonce.try_into().map_err(|_| CryptoError::Unwrap)?;
        let kek = derive_key(&self.0, b"haven/v1/wrap");
        let plain = aead::open(&kek, nonce, ct, &wrap_aad(org_id, purpose, version))
            .map_err(|_| CryptoError::Unwrap)?;
        let bytes: [u8; KEY_LEN] = plain
            .as_slice()
            .try_into()
            .map_err(|_| CryptoError::Unwrap)?;
        Ok(DataKey(Zeroizing::new(bytes)))
    }

    /// Derives a key for another use of the master key (e.g. audit checkpoints).
    pub(crate) fn derive(&self, info: &[u8]) -> Zeroizing<[u8; KEY_LEN]> {
        derive_key(&self.0, info)
    }

    /// A key derived deterministically from the master key for the use named by `label`
    /// (HKDF-SHA256); a stand-in where no stored, wrapped organisation key exists yet.
    pub fn derive_data_key(&self, label: &str) -> DataKey {
        let info = encoding::parts(&[b"haven/v1/derived-data-key", label.as_bytes()]);
        DataKey(derive_key(&self.0, &info))
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MasterKey")
            .field("fingerprint", &self.fingerprint())
            .finish()
    }
}

/// Associated data of a wrapped key: what it belongs to, so it cannot be swapped for another.
fn wrap_aad(org_id: Uuid, purpose: KeyPurpose, version: u32) -> Vec<u8> {
    encoding::parts(&[
        b"haven/v1/wrap",
        &[WRAP_FORMAT],
        org_id.as_bytes(),
        purpose.as_str().as_bytes(),
        &version.to_be_bytes(),
    ])
}

/// What an organisation key is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyPurpose {
    /// Field encryption; rotates by adding versions.
    Data,
    /// Blind indexes; kept apart so rotating field keys leaves indexes searchable.
    Index,
}

impl KeyPurpose {
    /// A stable name, used in the wrapping binding and suitable for a database column.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Data => "data",
            Self::Index => "index",
        }
    }
}

/// A random per-organisation key (data or index), stored only wrapped by the master key.
pub struct DataKey(Zeroizing<[u8; KEY_LEN]>);

impl DataKey {
    /// A new random key.
    pub fn generate(rng: &dyn SecureRng) -> Self {
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        rng.fill(key.as_mut_slice());
        Self(key)
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey(..)")
    }
}

/// A key derived for one table column from one data key version; zeroized on drop.
pub struct FieldKey(Zeroizing<[u8; KEY_LEN]>);

impl FieldKey {
    /// The key bytes, for the cipher.
    pub(crate) fn bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

impl fmt::Debug for FieldKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FieldKey(..)")
    }
}

/// A key derived for one blind index from the index key; zeroized on drop.
pub struct BlindIndexKey(Zeroizing<[u8; KEY_LEN]>);

impl BlindIndexKey {
    /// The key bytes, for the MAC.
    pub(crate) fn bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

impl fmt::Debug for BlindIndexKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BlindIndexKey(..)")
    }
}

/// One organisation's unwrapped keys: the index key and every data key version still in use.
pub struct OrgKeyring {
    index_key: DataKey,
    data_keys: BTreeMap<u32, DataKey>,
    current: u32,
}

impl OrgKeyring {
    /// A keyring whose only (and current) data key is `data_key` at `version`.
    pub fn new(index_key: DataKey, version: u32, data_key: DataKey) -> Self {
        Self {
            index_key,
            data_keys: BTreeMap::from([(version, data_key)]),
            current: version,
        }
    }

    /// Adds another data key version (for reading older ciphertexts); the current one is unchanged.
    pub fn add_version(&mut self, version: u32, key: DataKey) -> Result<(), CryptoError> {
        if self.data_keys.contains_key(&version) {
            return Err(CryptoError::DuplicateKeyVersion(version));
        }
        self.data_keys.insert(version, key);
        Ok(())
    }

    /// Makes `version` the one new ciphertexts are sealed with.
    pub fn set_current(&mut self, version: u32) -> Result<(), CryptoError> {
        if !self.data_keys.contains_key(&version) {
            return Err(CryptoError::UnknownKeyVersion(version));
        }
        self.current = version;
        Ok(())
    }

    /// The data key version new ciphertexts are sealed with.
    pub fn current_version(&self) -> u32 {
        self.current
    }

    /// The data key versions held, in ascending order.
    pub fn versions(&self) -> impl Iterator<Item = u32> + '_ {
        self.data_keys.keys().copied()
    }

    /// The key for `table`.`column` under data key `version`.
    pub fn field_key(
        &self,
        table: &str,
        column: &str,
        version: u32,
    ) -> Result<FieldKey, CryptoError> {
        let data_key = self
            .data_keys
            .get(&version)
            .ok_or(CryptoError::UnknownKeyVersion(version))?;
        let info = format!("haven/v1/field/{table}/{column}");
        Ok(FieldKey(derive_key(&data_key.0, info.as_bytes())))
    }

    /// The key for the blind index called `name`.
    pub fn blind_index_key(&self, name: &str) -> BlindIndexKey {
        let info = format!("haven/v1/bidx/{name}");
        BlindIndexKey(derive_key(&self.index_key.0, info.as_bytes()))
    }
}

impl fmt::Debug for OrgKeyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OrgKeyring")
            .field("versions", &self.data_keys.keys().collect::<Vec<_>>())
            .field("current", &self.current)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use haven_domain::OsRng;

    use super::*;

    fn org() -> Uuid {
        Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001)
    }

    #[test]
    fn encoded_key_round_trips_in_hex_and_base64() {
        let key = MasterKey::generate(&OsRng);
        let encoded = key.encode();
        assert_eq!(encoded.len(), 65);
        assert!(encoded.ends_with('\n'));
        let back = MasterKey::from_encoded(&format!("  {}  ", encoded.as_str())).unwrap();
        assert_eq!(back.0, key.0);

        let b64 = base64::engine::general_purpose::STANDARD.encode(key.0.as_slice());
        assert_eq!(MasterKey::from_encoded(&b64).unwrap().0, key.0);
        let unpadded = b64.trim_end_matches('=');
        assert_eq!(MasterKey::from_encoded(unpadded).unwrap().0, key.0);
        let upper = encoded.trim().to_uppercase();
        assert_eq!(MasterKey::from_encoded(&upper).unwrap().0, key.0);
    }

    #[test]
    fn malformed_keys_are_refused() {
        for bad in [
            "",
            "abc",
            &"0".repeat(63),
            &"0".repeat(66),
            &"g".repeat(64),
            // base64 of 31 and 33 bytes
            &base64::engine::general_purpose::STANDARD.encode([1u8; 31]),
            &base64::engine::general_purpose::STANDARD.encode([1u8; 33]),
        ] {
            assert_eq!(
                MasterKey::from_encoded(bad).unwrap_err(),
                CryptoError::MasterKeyFormat,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn fingerprint_is_short_stable_and_key_specific() {
        let a = MasterKey::from_encoded(&"11".repeat(32)).unwrap();
        let b = MasterKey::from_encoded(&"12".repeat(32)).unwrap();
        assert_eq!(a.fingerprint().len(), 16);
        assert_eq!(
            a.fingerprint(),
            MasterKey::from_encoded(&"11".repeat(32))
                .unwrap()
                .fingerprint()
        );
        assert_ne!(a.fingerprint(), b.fingerprint());
        assert!(!"11".repeat(32).contains(&a.fingerprint()));
    }

    #[test]
    fn debug_output_does_not_contain_key_bytes() {
        let key = MasterKey::from_encoded(&"ab".repeat(32)).unwrap();
        let shown = format!("{key:?}");
        assert!(!shown.contains("abab"), "{shown}");
        assert!(!shown.contains("171"), "{shown}"); // 0xab as a decimal byte
        assert!(shown.contains(&key.fingerprint()));
        assert_eq!(format!("{:?}", DataKey::generate(&OsRng)), "DataKey(..)");
    }

    #[test]
    fn wrapped_key_unwraps_only_with_the_same_master_key_and_binding() {
        let master = MasterKey::generate(&OsRng);
        let data = DataKey::generate(&OsRng);
        let wrapped = master
            .wrap_data_key(&data, org(), KeyPurpose::Data, 3, &OsRng)
            .unwrap();
        assert_eq!(wrapped.len(), WRAPPED_LEN);
        let back = master
            .unwrap_data_key(&wrapped, org(), KeyPurpose::Data, 3)
            .unwrap();
        assert_eq!(back.0, data.0);

        let other_master = MasterKey::generate(&OsRng);
        assert_eq!(
            other_master
                .unwrap_data_key(&wrapped, org(), KeyPurpose::Data, 3)
                .unwrap_err(),
            CryptoError::Unwrap
        );
        let other_org = Uuid::from_u128(2);
        for (org_id, purpose, version) in [
            (other_org, KeyPurpose::Data, 3),
            (org(), KeyPurpose::Index, 3),
            (org(), KeyPurpose::Data, 4),
        ] {
            assert_eq!(
                master
                    .unwrap_data_key(&wrapped, org_id, purpose, version)
                    .unwrap_err(),
                CryptoError::Unwrap
            );
        }
        for i in 0..wrapped.len() {
            let mut tampered = wrapped.clone();
            tampered[i] ^= 0x01;
            assert_eq!(
                master
                    .unwrap_data_key(&tampered, org(), KeyPurpose::Data, 3)
                    .unwrap_err(),
                CryptoError::Unwrap,
                "byte {i}"
            );
        }
        assert_eq!(
            master
                .unwrap_data_key(&wrapped[..40], org(), KeyPurpose::Data, 3)
                .unwrap_err(),
            CryptoError::Unwrap
        );
    }

    #[test]
    fn derived_keys_differ_by_field_version_and_index_name() {
        let mut ring = OrgKeyring::new(DataKey::generate(&OsRng), 1, DataKey::generate(&OsRng));
        ring.add_version(2, DataKey::generate(&OsRng)).unwrap();
        let a = ring.field_key("people", "name", 1).unwrap();
        assert_eq!(a.0, ring.field_key("people", "name", 1).unwrap().0);
        assert_ne!(a.0, ring.field_key("people", "phone", 1).unwrap().0);
        assert_ne!(a.0, ring.field_key("contacts", "name", 1).unwrap().0);
        assert_ne!(a.0, ring.field_key("people", "name", 2).unwrap().0);
        assert_eq!(
            ring.field_key("people", "name", 9).unwrap_err(),
            CryptoError::UnknownKeyVersion(9)
        );
        assert_ne!(
            ring.blind_index_key("name").0,
            ring.blind_index_key("phone").0
        );
    }

    #[test]
    fn derived_data_keys_are_stable_and_label_specific() {
        let master = MasterKey::from_encoded(&"11".repeat(32)).unwrap();
        let a = master.derive_data_key("org/1/data");
        assert_eq!(a.0, master.derive_data_key("org/1/data").0);
        assert_ne!(a.0, master.derive_data_key("org/2/data").0);
        let other = MasterKey::from_encoded(&"12".repeat(32)).unwrap();
        assert_ne!(a.0, other.derive_data_key("org/1/data").0);
    }

    #[test]
    fn keyring_versions_are_managed_explicitly() {
        let mut ring = OrgKeyring::new(DataKey::generate(&OsRng), 1, DataKey::generate(&OsRng));
        assert_eq!(
            ring.add_version(1, DataKey::generate(&OsRng)).unwrap_err(),
            CryptoError::DuplicateKeyVersion(1)
        );
        assert_eq!(
            ring.set_current(2).unwrap_err(),
            CryptoError::UnknownKeyVersion(2)
        );
        ring.add_version(2, DataKey::generate(&OsRng)).unwrap();
        assert_eq!(ring.current_version(), 1);
        ring.set_current(2).unwrap();
        assert_eq!(ring.current_version(), 2);
        assert_eq!(ring.versions().collect::<Vec<_>>(), [1, 2]);
    }

    #[test]
    fn key_file_is_created_private_and_loads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let key = MasterKey::create_file(&path, &OsRng).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(MasterKey::load_file(&path).unwrap().0, key.0);
        // Nothing else (no temporary copy) is left in the directory.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);

        let again = MasterKey::create_file(&path, &OsRng).unwrap_err();
        assert!(matches!(again, KeyFileError::Exists { .. }), "{again}");
        assert_eq!(MasterKey::load_file(&path).unwrap().0, key.0);
    }

    #[test]
    fn key_file_readable_by_others_is_refused_with_a_clear_message() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        MasterKey::create_file(&path, &OsRng).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let err = MasterKey::load_file(&path).unwrap_err();
        assert!(
            matches!(err, KeyFileError::TooOpen { mode: 0o644, .. }),
            "{err:?}"
        );
        let msg = err.to_string();
        assert!(msg.contains(&path.display().to_string()), "{msg}");
        assert!(msg.contains("0644") && msg.contains("chmod 600"), "{msg}");

        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        assert!(matches!(
            MasterKey::load_file(&path).unwrap_err(),
            KeyFileError::TooOpen { mode: 0o640, .. }
        ));
    }

    #[test]
    fn key_file_errors_are_distinct() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.key");
        assert!(matches!(
            MasterKey::load_file(&missing).unwrap_err(),
            KeyFileError::Missing { .. }
        ));
        assert!(matches!(
            MasterKey::load_file(dir.path()).unwrap_err(),
            KeyFileError::NotAFile { .. }
        ));

        let garbage = dir.path().join("garbage.key");
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&garbage)
            .unwrap();
        f.write_all(b"not a key\n").unwrap();
        let err = MasterKey::load_file(&garbage).unwrap_err();
        assert!(matches!(err, KeyFileError::BadContent { .. }), "{err:?}");
        assert!(!err.to_string().contains("not a key"));

        let nested = dir.path().join("no-such-dir").join("master.key");
        assert!(matches!(
            MasterKey::create_file(&nested, &OsRng).unwrap_err(),
            KeyFileError::Create { .. }
        ));
    }
}
