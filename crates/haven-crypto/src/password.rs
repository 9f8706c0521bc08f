//! Staff password hashing with Argon2id.
//!
//! Argon2id is memory-hard, so a stolen hash table costs an attacker memory as well as time per
//! guess; the defaults are OWASP's minimum. Hashes are stored as PHC strings, which carry their
//! own parameters, so raising the cost later only needs [`PasswordHasher::needs_rehash`] at the
//! next successful login, not a migration.
//!
//! A thread that hashes often (the server's Argon2 threads) keeps a [`Workspace`]: Argon2's
//! working memory, reused by every hash on that thread instead of allocated afresh each time.

use argon2::password_hash::{Output, ParamsString, PasswordHash, Salt, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use haven_domain::SecureRng;
use haven_domain::clock::random_bytes;

use crate::error::CryptoError;

/// Bytes of random salt per hash.
const SALT_LEN: usize = 16;
/// Bytes of hash output.
const OUTPUT_LEN: usize = 32;

/// Argon2id settings; [`Default`] is OWASP's minimum (19 MiB, 2 passes, 1 lane).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordHasher {
    m_cost_kib: u32,
    t_cost: u32,
    p_cost: u32,
}

impl Default for PasswordHasher {
    fn default() -> Self {
        Self {
            m_cost_kib: 19_456,
            t_cost: 2,
            p_cost: 1,
        }
    }
}

impl PasswordHasher {
    /// Settings with `m_cost_kib` KiB of memory, `t_cost` passes and `p_cost` lanes.
    pub fn new(m_cost_kib: u32, t_cost: u32, p_cost: u32) -> Result<Self, CryptoError> {
        let hasher = Self {
            m_cost_kib,
            t_cost,
            p_cost,
        };
        hasher.params()?;
        Ok(hasher)
    }

    /// Memory cost in KiB.
    pub fn m_cost_kib(&self) -> u32 {
        self.m_cost_kib
    }

    /// Number of passes.
    pub fn t_cost(&self) -> u32 {
        self.t_cost
    }

    /// Degree of parallelism.
    pub fn p_cost(&self) -> u32 {
        self.p_cost
    }

    fn params(&self) -> Result<Params, CryptoError> {
        Params::new(self.m_cost_kib, self.t_cost, self.p_cost, Some(OUTPUT_LEN))
            .map_err(|e| CryptoError::PasswordParams(e.to_string()))
    }

    /// Hashes `password` with a fresh 16-byte salt; the result is a PHC string.
    pub fn hash(&self, password: &str, rng: &dyn SecureRng) -> Result<String, CryptoError> {
        self.hash_in(&mut Workspace::new(), password, rng)
    }

    /// [`Self::hash`], with Argon2's memory taken from `workspace`.
    pub fn hash_in(
        &self,
        workspace: &mut Workspace,
        password: &str,
        rng: &dyn SecureRng,
    ) -> Result<String, CryptoError> {
        let hashing_failed =
            |e: argon2::password_hash::Error| CryptoError::PasswordHash(e.to_string());
        let salt =
            SaltString::encode_b64(&random_bytes::<SALT_LEN>(rng)).map_err(hashing_failed)?;
        workspace
            .hash(
                Algorithm::Argon2id,
                Version::V0x13,
                self.params()?,
                password.as_bytes(),
                salt.as_salt(),
            )
            .map(|hash| hash.to_string())
            .map_err(hashing_failed)
    }

    /// Whether `password` matches the PHC string `phc`; a malformed hash never matches.
    ///
    /// The hash's own parameters are used, so hashes made with older settings keep working.
    pub fn verify(&self, password: &str, phc: &str) -> bool {
        self.verify_in(&mut Workspace::new(), password, phc)
    }

    /// [`Self::verify`], with Argon2's memory taken from `workspace`.
    pub fn verify_in(&self, workspace: &mut Workspace, password: &str, phc: &str) -> bool {
        let Ok(hash) = PasswordHash::new(phc) else {
            return false;
        };
        let Ok(algorithm) = Algorithm::try_from(hash.algorithm) else {
            return false;
        };
        let Ok(version) = hash
            .version
            .map_or(Ok(Version::default()), Version::try_from)
        else {
            return false;
        };
        let Ok(params) = Params::try_from(&hash) else {
            return false;
        };
        let (Some(salt), Some(expected)) = (hash.salt, hash.hash) else {
            return false;
        };
        // `Output`'s equality is constant-time.
        workspace
            .hash(algorithm, version, params, password.as_bytes(), salt)
            .ok()
            .and_then(|computed| computed.hash)
            .is_some_and(|computed| computed == expected)
    }

    /// Whether `phc` was made with weaker settings than these (or is not an Argon2id hash), so it
    /// should be replaced by a fresh hash after the next successful login.
    pub fn needs_rehash(&self, phc: &str) -> bool {
        let Ok(hash) = PasswordHash::new(phc) else {
            return true;
        };
        if Algorithm::try_from(hash.algorithm).ok() != Some(Algorithm::Argon2id)
            || hash.version != Some(Version::V0x13.into())
        {
            return true;
        }
        let Ok(params) = Params::try_from(&hash) else {
            return true;
        };
        let mut salt = [0u8; 64];
        let salt_len = hash
            .salt
            .and_then(|s| s.decode_b64(&mut salt).ok())
            .map_or(0, <[u8]>::len);
        params.m_cost() < self.m_cost_kib
            || params.t_cost() < self.t_cost
            || params.p_cost() < self.p_cost
            || hash.hash.map_or(0, |h| h.len()) < OUTPUT_LEN
            || salt_len < SALT_LEN
    }
}

/// Argon2's working memory (19 MiB with the default settings), kept between hashes.
///
/// Hashing allocates this much each time otherwise, and the system allocator keeps much of what
/// was freed in the arena of the thread that freed it: a server hashing on a few threads held
/// two or three such blocks per thread. A workspace is allocated once, grows to the largest
/// settings it has served, and is overwritten with zeros after every use, so nothing derived from
/// a password stays in it between hashes.
#[derive(Debug, Default)]
pub struct Workspace {
    blocks: Vec<Block>,
}

impl Workspace {
    /// An empty workspace; its memory is allocated by the first hash.
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes of memory held.
    pub fn bytes(&self) -> usize {
        self.blocks.len() * Block::SIZE
    }

    /// What [`argon2::PasswordHasher::hash_password`] computes (the same PHC result), in this
    /// workspace's memory.
    fn hash<'a>(
        &mut self,
        algorithm: Algorithm,
        version: Version,
        params: Params,
        password: &[u8],
        salt: Salt<'a>,
    ) -> argon2::password_hash::Result<PasswordHash<'a>> {
        let mut salt_bytes = [0u8; 64];
        let salt_bytes = salt.decode_b64(&mut salt_bytes)?;
        let needed = params.block_count();
        if self.blocks.len() < needed {
            self.blocks.resize(needed, Block::default());
        }
        let output_len = params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
        let argon2 = Argon2::new(algorithm, version, params.clone());
        let memory = &mut self.blocks[..needed];
        let output = Output::init_with(output_len, |out| {
            Ok(argon2.hash_password_into_with_memory(password, salt_bytes, out, &mut *memory)?)
        });
        memory.iter_mut().for_each(zeroize::Zeroize::zeroize);
        Ok(PasswordHash {
            algorithm: algorithm.ident(),
            version: Some(version.into()),
            params: ParamsString::try_from(&params)?,
            salt: Some(salt),
            hash: Some(output?),
        })
    }
}

#[cfg(test)]
mod tests {
    use argon2::{PasswordHasher as _, PasswordVerifier as _};
    use haven_domain::OsRng;

    use super::*;

    /// Cheap settings so the tests run quickly; the algorithm is the same.
    fn cheap() -> PasswordHasher {
        PasswordHasher::new(1024, 1, 1).unwrap()
    }

    #[test]
    fn default_hash_is_argon2id_with_owasp_parameters_and_verifies() {
        let hasher = PasswordHasher::default();
        let phc = hasher.hash("correct horse battery staple", &OsRng).unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(hasher.verify("correct horse battery staple", &phc));
        assert!(!hasher.verify("correct horse battery stapl", &phc));
        assert!(!hasher.needs_rehash(&phc));
    }

    #[test]
    fn same_password_gets_a_different_salt_each_time() {
        let hasher = cheap();
        let a = hasher.hash("lozinka", &OsRng).unwrap();
        let b = hasher.hash("lozinka", &OsRng).unwrap();
        assert_ne!(a, b);
        assert!(hasher.verify("lozinka", &a) && hasher.verify("lozinka", &b));
        assert!(!hasher.verify("Lozinka", &a));
        assert!(!hasher.verify("", &a));
    }

    #[test]
    fn malformed_hashes_never_verify() {
        let hasher = cheap();
        let good = hasher.hash("pw", &OsRng).unwrap();
        for bad in [
            "",
            "pw",
            "$argon2id$",
            "$argon2id$v=19$m=1024,t=1,p=1$",
            "$bcrypt$v=19$m=1024,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaA",
            &good[..good.len() - 4],
        ] {
            assert!(!hasher.verify("pw", bad), "{bad}");
            assert!(hasher.needs_rehash(bad), "{bad}");
        }
    }

    #[test]
    fn weaker_stored_parameters_need_a_rehash() {
        let old = cheap().hash("pw", &OsRng).unwrap();
        let strong = PasswordHasher::default();
        // Still verifies with the stronger settings configured, and asks to be upgraded.
        assert!(strong.verify("pw", &old));
        assert!(strong.needs_rehash(&old));
        assert!(!cheap().needs_rehash(&old));
        assert!(PasswordHasher::new(1024, 2, 1).unwrap().needs_rehash(&old));
        assert!(PasswordHasher::new(1024, 1, 2).unwrap().needs_rehash(&old));
        assert!(!PasswordHasher::new(512, 1, 1).unwrap().needs_rehash(&old));

        let argon2i = Argon2::new(
            Algorithm::Argon2i,
            Version::V0x13,
            Params::new(1024, 1, 1, None).unwrap(),
        )
        .hash_password(b"pw", &SaltString::encode_b64(&[7u8; 16]).unwrap())
        .unwrap()
        .to_string();
        assert!(strong.verify("pw", &argon2i));
        assert!(strong.needs_rehash(&argon2i));
    }

    /// A reused workspace gives exactly the PHC string the crate's own `hash_password` gives, for
    /// each algorithm and version, one after another in the same (dirty) memory, and the crate
    /// verifies what the workspace made and the other way round.
    #[test]
    fn a_reused_workspace_hashes_exactly_as_the_crate_does() {
        let mut workspace = Workspace::new();
        let salt = SaltString::encode_b64(&[7u8; 16]).unwrap();
        let cases = [
            (Algorithm::Argon2id, Version::V0x13, 1024, 2, 1, "lozinka"),
            (
                Algorithm::Argon2id,
                Version::V0x13,
                2048,
                1,
                2,
                "druga lozinka",
            ),
            (Algorithm::Argon2i, Version::V0x13, 1024, 1, 1, "lozinka"),
            (Algorithm::Argon2d, Version::V0x10, 512, 3, 1, ""),
            (Algorithm::Argon2id, Version::V0x13, 1024, 2, 1, "lozinka"),
        ];
        for (algorithm, version, m, t, p, password) in cases {
            let params = Params::new(m, t, p, Some(OUTPUT_LEN)).unwrap();
            let expected = Argon2::new(algorithm, version, params.clone())
                .hash_password(password.as_bytes(), &salt)
                .unwrap()
                .to_string();
            let ours = workspace
                .hash(
                    algorithm,
                    version,
                    params,
                    password.as_bytes(),
                    salt.as_salt(),
                )
                .unwrap()
                .to_string();
            assert_eq!(
                ours, expected,
                "{algorithm:?} {version:?} m={m} t={t} p={p}"
            );
            let parsed = PasswordHash::new(&ours).unwrap();
            assert!(
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            );
            assert!(cheap().verify_in(&mut workspace, password, &expected));
            assert!(!cheap().verify_in(&mut workspace, "x", &expected));
        }
        assert_eq!(
            workspace.bytes(),
            2048 * 1024,
            "grown to the largest, not more"
        );
    }

    #[test]
    fn a_workspace_holds_nothing_between_hashes() {
        let mut workspace = Workspace::new();
        cheap().hash_in(&mut workspace, "lozinka", &OsRng).unwrap();
        assert_eq!(workspace.bytes(), 1024 * 1024);
        assert!(
            workspace
                .blocks
                .iter()
                .all(|b| b.as_ref().iter().all(|w| *w == 0)),
            "the memory is wiped after the hash"
        );
    }

    #[test]
    fn invalid_parameters_are_refused() {
        assert!(matches!(
            PasswordHasher::new(1024, 0, 1),
            Err(CryptoError::PasswordParams(_))
        ));
        assert!(matches!(
            PasswordHasher::new(4, 1, 1),
            Err(CryptoError::PasswordParams(_))
        ));
    }
}
