//! Blind indexes: searchable stand-ins for encrypted values.
//!
//! An encrypted column cannot be searched, and a plain hash of a name or phone number can be
//! reversed by hashing every candidate. A blind index is a keyed HMAC-SHA256 of the normalised
//! value (see [`crate::normalize`]) under a key derived from the organisation's index key, so it is
//! useless without that key, and it is deliberately truncated so that several different values
//! share each index value (the approach of CipherSweet). A lookup by index returns *candidates*;
//! the application decrypts them and keeps the true matches.
//!
//! Truncation is the trade-off. With `R` rows and `L` bits, a lookup returns about `R / 2^L` rows
//! that do not match, besides the true matches. Fewer bits mean more candidates to fetch and
//! decrypt, but a leaked database then says less about which rows hold equal values; more bits
//! mean fewer candidates but an index that is nearly a fingerprint of the value, exposing equality
//! (the same caller twice, a family sharing a surname). CipherSweet's guidance is to keep at least
//! two coincidences per index value (`R / 2^L ≥ 2`) and to count the bits of all indexes on one
//! field together, since a row can be narrowed by combining them.
//!
//! Defaults ([`DEFAULT_BITS`], and the specs below), chosen for 10⁴–10⁶ rows per organisation:
//!
//! | index               | bits | false candidates per lookup at 10⁴ / 10⁵ / 10⁶ rows |
//! |---------------------|------|-----------------------------------------------------|
//! | [`NAME`]            | 16   | 0.15 / 1.5 / 15                                     |
//! | [`PHONE`]           | 16   | 0.15 / 1.5 / 15                                     |
//! | [`EMAIL`]           | 16   | 0.15 / 1.5 / 15                                     |
//! | [`IDENTITY_NUMBER`] | 16   | 0.15 / 1.5 / 15                                     |
//!
//! Fifteen extra rows to fetch and decrypt per search is cheap; an index twice as long (32 bits)
//! would make every value in a million-row table almost unique and so reveal every repetition. Use
//! [`recommended_bits`] for a table expected to be much larger or smaller. The index name is part
//! of its key, so one spec used on several tables (a phone in contacts and in people) lets one
//! computed value search both, and changing a name or bit length means rebuilding that index.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::keys::OrgKeyring;

/// The bit length used by the default specs.
pub const DEFAULT_BITS: u16 = 16;

/// The index over folded person names (see [`crate::normalize::name`]).
pub const NAME: BlindIndex = BlindIndex::new("name", DEFAULT_BITS);
/// The index over E.164 phone numbers (see [`crate::normalize::phone`]).
pub const PHONE: BlindIndex = BlindIndex::new("phone", DEFAULT_BITS);
/// The index over normalised e-mail addresses (see [`crate::normalize::email`]).
pub const EMAIL: BlindIndex = BlindIndex::new("email", DEFAULT_BITS);
/// The index over identity document numbers (see [`crate::normalize::identity_number`]).
pub const IDENTITY_NUMBER: BlindIndex = BlindIndex::new("identity_number", DEFAULT_BITS);

/// The smallest and largest accepted lengths, in bits.
pub const BITS_RANGE: std::ops::RangeInclusive<u16> = 8..=256;

/// A blind index definition: its name (part of its key) and its length in bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BlindIndex {
    /// Stable name; the index key is derived from it.
    pub name: &'static str,
    /// Length in bits, 8..=256; values outside are clamped when computing.
    pub bits: u16,
}

impl BlindIndex {
    /// A spec named `name` of `bits` bits.
    pub const fn new(name: &'static str, bits: u16) -> Self {
        Self { name, bits }
    }

    /// The bit length actually used (clamped to [`BITS_RANGE`]).
    pub fn effective_bits(&self) -> u16 {
        self.bits.clamp(*BITS_RANGE.start(), *BITS_RANGE.end())
    }

    /// The length of an index value in bytes.
    pub fn byte_len(&self) -> usize {
        usize::from(self.effective_bits().div_ceil(8))
    }
}

impl OrgKeyring {
    /// The blind index of an already normalised value: truncated HMAC-SHA256 under the index key.
    pub fn blind_index(&self, spec: BlindIndex, normalised_value: &str) -> Vec<u8> {
        let key = self.blind_index_key(spec.name);
        // HMAC takes keys of any length; a 32-byte key cannot be refused.
        #[allow(clippy::expect_used)]
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key.bytes())
            .expect("HMAC accepts any key length");
        mac.update(normalised_value.as_bytes());
        let digest = mac.finalize().into_bytes();
        let bits = spec.effective_bits();
        let mut out: Vec<u8> = digest.iter().take(spec.byte_len()).copied().collect();
        let spare = (8 - bits % 8) % 8;
        if let Some(last) = out.last_mut() {
            *last &= 0xffu8 << spare;
        }
        out
    }
}

/// The fewest bits for which a lookup in `expected_rows` rows returns at most
/// `max_candidates_per_lookup` non-matching rows on average, clamped to 8..=64.
///
/// With `R` rows and `L` bits a lookup returns about `R / 2^L` false positives, so
/// `L = ⌈log₂(R / C)⌉` for a budget of `C`. Taking no more bits than that keeps the index as
/// ambiguous as the budget allows; a budget `C ≥ 2` also meets CipherSweet's two-coincidence
/// guidance. A budget that is not a positive number is read as "as few as possible": 64 bits.
pub fn recommended_bits(expected_rows: u64, max_candidates_per_lookup: f64) -> u16 {
    const MIN: f64 = 8.0;
    const MAX: f64 = 64.0;
    if max_candidates_per_lookup.is_nan() || max_candidates_per_lookup <= 0.0 {
        return MAX as u16;
    }
    let ratio = expected_rows as f64 / max_candidates_per_lookup;
    let bits = if ratio <= 1.0 {
        MIN
    } else {
        ratio.log2().ceil()
    };
    bits.clamp(MIN, MAX) as u16
}

#[cfg(test)]
mod tests {
    use haven_domain::OsRng;

    use super::*;
    use crate::keys::DataKey;
    use crate::normalize;

    fn ring() -> OrgKeyring {
        OrgKeyring::new(DataKey::generate(&OsRng), 1, DataKey::generate(&OsRng))
    }

    #[test]
    fn spellings_of_one_name_share_an_index_and_other_names_do_not() {
        let ring = ring();
        let spec = BlindIndex::new("name", 64);
        let a = ring.blind_index(spec, &normalize::name("Јовановић"));
        assert_eq!(a, ring.blind_index(spec, &normalize::name("Jovanović")));
        assert_eq!(a, ring.blind_index(spec, &normalize::name("JOVANOVIC")));
        // 64 bits so that an accidental collision in the test is out of the question.
        assert_ne!(a, ring.blind_index(spec, &normalize::name("Petrović")));
        assert_ne!(a, ring.blind_index(spec, &normalize::name("Jovanovska")));
    }

    #[test]
    fn spellings_of_one_phone_share_an_index() {
        let ring = ring();
        let idx = |raw: &str| ring.blind_index(PHONE, &normalize::phone(raw, "RS").unwrap());
        let a = idx("+381 64 123 4567");
        assert_eq!(a, idx("0641234567"));
        assert_eq!(a, idx("00381641234567"));
        let wide = BlindIndex::new("phone", 64);
        assert_ne!(
            ring.blind_index(wide, "+381641234567"),
            ring.blind_index(wide, "+381641234568")
        );
    }

    #[test]
    fn index_depends_on_the_key_and_the_index_name() {
        let spec = BlindIndex::new("name", 64);
        let ring_a = ring();
        assert_ne!(
            ring_a.blind_index(spec, "jovanovic"),
            ring().blind_index(spec, "jovanovic")
        );
        assert_ne!(
            ring_a.blind_index(spec, "jovanovic"),
            ring_a.blind_index(BlindIndex::new("surname", 64), "jovanovic")
        );
    }

    #[test]
    fn truncation_keeps_exactly_the_requested_bits() {
        let ring = ring();
        let full = ring.blind_index(BlindIndex::new("n", 256), "value");
        assert_eq!(full.len(), 32);
        for bits in [8u16, 12, 16, 17, 31, 32, 64, 255] {
            let idx = ring.blind_index(BlindIndex::new("n", bits), "value");
            assert_eq!(idx.len(), usize::from(bits.div_ceil(8)), "{bits}");
            // A prefix of the full MAC, with the unused low bits of the last byte zero.
            let whole = usize::from(bits / 8);
            assert_eq!(idx[..whole], full[..whole], "{bits}");
            let spare = (8 - bits % 8) % 8;
            if spare > 0 {
                let last = idx[whole];
                assert_eq!(last & ((1u8 << spare) - 1), 0, "{bits}");
                assert_eq!(last, full[whole] & (0xff << spare), "{bits}");
            }
        }
        assert_eq!(ring.blind_index(BlindIndex::new("n", 3), "value").len(), 1);
        assert_eq!(
            ring.blind_index(BlindIndex::new("n", 999), "value").len(),
            32
        );
        assert_eq!(ring.blind_index(NAME, "value").len(), 2);
    }

    #[test]
    fn many_values_spread_over_a_short_index() {
        // With 8 bits, 2000 distinct values must collide (that is the point) yet use most buckets.
        let ring = ring();
        let spec = BlindIndex::new("n", 8);
        let buckets: std::collections::HashSet<Vec<u8>> = (0..2000)
            .map(|i| ring.blind_index(spec, &format!("person{i}")))
            .collect();
        assert!(
            buckets.len() > 200 && buckets.len() <= 256,
            "{}",
            buckets.len()
        );
    }

    #[test]
    fn recommended_bits_follows_the_coincidence_formula() {
        assert_eq!(recommended_bits(1_000_000, 1.0), 20); // 2^20 = 1_048_576
        assert_eq!(recommended_bits(1_000_000, 16.0), 16);
        assert_eq!(recommended_bits(1_000_000, 15.0), 17);
        assert_eq!(recommended_bits(1 << 20, 1.0), 20);
        assert_eq!(recommended_bits((1 << 20) + 1, 1.0), 21);
        assert_eq!(recommended_bits(100_000, 2.0), 16);
        assert_eq!(recommended_bits(10, 2.0), 8);
        assert_eq!(recommended_bits(0, 1.0), 8);
        assert_eq!(recommended_bits(u64::MAX, 0.0001), 64);
        assert_eq!(recommended_bits(1000, 0.0), 64);
        assert_eq!(recommended_bits(1000, f64::NAN), 64);
        assert_eq!(recommended_bits(1000, f64::INFINITY), 8);
        // The defaults are what the formula gives at the top of their range with 15 candidates.
        assert_eq!(recommended_bits(1_000_000, 15.3), DEFAULT_BITS);
    }
}
