//! Human case numbers: per organisation, line and year, without gaps (`116-2026-00042`).
//!
//! The store hands out the sequence inside the transaction that creates the case, so a failed
//! creation rolls the counter back with it and users never see a hole in the register.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A case number: the line's prefix, the year the case was opened in the organisation's time zone,
/// and the case's place in that year's register.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CaseNumber {
    prefix: String,
    year: i32,
    seq: u32,
}

/// Why a case number could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaseNumberError {
    /// Not of the form `PREFIX-YEAR-NUMBER`.
    #[error("a case number looks like 116-2026-00042")]
    Shape,
    /// The prefix is empty, too long, or has characters other than letters and digits.
    #[error("the prefix of a case number has 1 to 8 letters or digits")]
    Prefix,
    /// The year is not a four-digit year.
    #[error("the year of a case number has four digits")]
    Year,
    /// The sequence is zero or too large.
    #[error("the number of a case is between 1 and 9999999")]
    Seq,
}

impl CaseNumber {
    /// The largest sequence number a register can hold in one year.
    pub const MAX_SEQ: u32 = 9_999_999;

    /// A case number from its parts, validated.
    pub fn new(prefix: &str, year: i32, seq: u32) -> Result<Self, CaseNumberError> {
        let prefix = prefix.trim().to_ascii_uppercase();
        if prefix.is_empty()
            || prefix.len() > 8
            || !prefix.chars().all(|c| c.is_ascii_alphanumeric())
        {
            return Err(CaseNumberError::Prefix);
        }
        if !(1000..=9999).contains(&year) {
            return Err(CaseNumberError::Year);
        }
        if seq == 0 || seq > Self::MAX_SEQ {
            return Err(CaseNumberError::Seq);
        }
        Ok(Self { prefix, year, seq })
    }

    /// The line's prefix (`116`, `SOS`).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The year of the register.
    pub fn year(&self) -> i32 {
        self.year
    }

    /// The place in the year's register, from 1.
    pub fn seq(&self) -> u32 {
        self.seq
    }
}

impl fmt::Display for CaseNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}-{:05}", self.prefix, self.year, self.seq)
    }
}

impl FromStr for CaseNumber {
    type Err = CaseNumberError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let mut parts = s.rsplitn(3, ['-', '/']);
        let (seq, year, prefix) = match (parts.next(), parts.next(), parts.next()) {
            (Some(seq), Some(year), Some(prefix)) => (seq, year, prefix),
            _ => return Err(CaseNumberError::Shape),
        };
        if year.len() != 4 || !year.chars().all(|c| c.is_ascii_digit()) {
            return Err(CaseNumberError::Year);
        }
        if seq.is_empty() || seq.len() > 7 || !seq.chars().all(|c| c.is_ascii_digit()) {
            return Err(CaseNumberError::Seq);
        }
        let year: i32 = year.parse().map_err(|_| CaseNumberError::Year)?;
        let seq: u32 = seq.parse().map_err(|_| CaseNumberError::Seq)?;
        CaseNumber::new(prefix, year, seq)
    }
}

impl TryFrom<String> for CaseNumber {
    type Error = CaseNumberError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<CaseNumber> for String {
    fn from(n: CaseNumber) -> String {
        n.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_with_five_digits_at_least() {
        assert_eq!(
            CaseNumber::new("116", 2026, 42).unwrap().to_string(),
            "116-2026-00042"
        );
        assert_eq!(
            CaseNumber::new("sos", 2026, 123_456).unwrap().to_string(),
            "SOS-2026-123456"
        );
    }

    #[test]
    fn parses_what_people_type() {
        let n: CaseNumber = " sos-2026-42 ".parse().unwrap();
        assert_eq!(n.to_string(), "SOS-2026-00042");
        assert_eq!(
            "116-2026-00042".parse::<CaseNumber>().unwrap().prefix(),
            "116"
        );
    }

    #[test]
    fn refuses_malformed_numbers() {
        assert_eq!("116".parse::<CaseNumber>(), Err(CaseNumberError::Shape));
        assert_eq!("116-26-1".parse::<CaseNumber>(), Err(CaseNumberError::Year));
        assert_eq!(
            "116-2026-0".parse::<CaseNumber>(),
            Err(CaseNumberError::Seq)
        );
        assert_eq!(
            "116-2026-x1".parse::<CaseNumber>(),
            Err(CaseNumberError::Seq)
        );
        assert_eq!(
            "1 6-2026-1".parse::<CaseNumber>(),
            Err(CaseNumberError::Prefix)
        );
        assert_eq!(
            "'; drop-2026-1".parse::<CaseNumber>(),
            Err(CaseNumberError::Prefix)
        );
    }
}
