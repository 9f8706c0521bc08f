//! People: victims, children, callers and the people around them.
//!
//! Only the non-identifying attributes live here, as types: gender (HTCDS codes), year of birth
//! and citizenship. They are stored in plain columns so that statistics never need to decrypt.
//! Everything that identifies a person — names, date of birth, phones, e-mail addresses, identity
//! numbers, address, notes — is encrypted by the store and never appears in these types.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::validate::FieldError;

crate::define_id!(
    /// A person recorded by the organisation.
    PersonId
);

/// Gender, with the codes of the Human Trafficking Case Data Standard (HTCDS 2.0).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Gender {
    /// Feminine.
    Feminine,
    /// Masculine.
    Masculine,
    /// Transgender feminine.
    TransgenderFeminine,
    /// Transgender masculine.
    TransgenderMasculine,
    /// Gender non-conforming.
    NonConforming,
    /// Not specified or unknown (the default when nobody said).
    #[default]
    NonSpecifiedUnknown,
}

/// A gender code that HTCDS does not define.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown gender code {0:?}: expected one of Feminine, Masculine, TransgenderFeminine, TransgenderMasculine, NonConforming, NonSpecifiedUnknown"
)]
pub struct UnknownGender(pub String);

impl Gender {
    /// Every gender, in the order forms list them.
    pub const ALL: [Gender; 6] = [
        Gender::Feminine,
        Gender::Masculine,
        Gender::TransgenderFeminine,
        Gender::TransgenderMasculine,
        Gender::NonConforming,
        Gender::NonSpecifiedUnknown,
    ];

    /// The HTCDS code, also stored in the database and used in exports.
    pub fn code(self) -> &'static str {
        match self {
            Gender::Feminine => "Feminine",
            Gender::Masculine => "Masculine",
            Gender::TransgenderFeminine => "TransgenderFeminine",
            Gender::TransgenderMasculine => "TransgenderMasculine",
            Gender::NonConforming => "NonConforming",
            Gender::NonSpecifiedUnknown => "NonSpecifiedUnknown",
        }
    }
}

impl fmt::Display for Gender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Gender {
    type Err = UnknownGender;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        Gender::ALL
            .into_iter()
            .find(|g| g.code().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownGender(s.to_owned()))
    }
}

/// The officially assigned ISO 3166-1 alpha-2 codes, sorted (for a binary search).
const ISO_3166_ALPHA2: [&str; 249] = [
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
    "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
    "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
    "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW",
];

/// A country by its ISO 3166-1 alpha-2 code (`RS`), for citizenship and places.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CountryCode([u8; 2]);

impl Serialize for CountryCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl CountryCode {
    /// Parses a country code in any case, naming `field` in the error; only officially assigned
    /// ISO 3166-1 codes are accepted.
    pub fn parse(field: &str, s: &str) -> Result<Self, FieldError> {
        let upper = s.trim().to_ascii_uppercase();
        match upper.as_bytes() {
            [a, b] if ISO_3166_ALPHA2.binary_search(&upper.as_str()).is_ok() => Ok(Self([*a, *b])),
            _ => Err(FieldError {
                field: field.into(),
                code: "country-unknown",
                args: vec![],
            }),
        }
    }

    /// The two upper-case letters.
    pub fn as_str(&self) -> &str {
        // Only ASCII letters from the table above ever get here.
        std::str::from_utf8(&self.0).unwrap_or("")
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for CountryCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        CountryCode::parse("country", &s).map_err(|_| serde::de::Error::custom("unknown country"))
    }
}

impl FromStr for CountryCode {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse("country", s)
    }
}

/// The oldest age Haven accepts for a year of birth; anything older is a typing mistake.
const OLDEST_AGE: i32 = 120;

/// A year of birth: not in the future and not more than 120 years ago.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct BirthYear(i32);

impl BirthYear {
    /// Parses a year of birth given the current year, naming `field` in the error.
    pub fn parse(field: &str, year: i32, current_year: i32) -> Result<Self, FieldError> {
        if year > current_year || year < current_year - OLDEST_AGE {
            return Err(FieldError {
                field: field.into(),
                code: "birth-year-out-of-range",
                args: vec![
                    ("min", (current_year - OLDEST_AGE).to_string()),
                    ("max", current_year.to_string()),
                ],
            });
        }
        Ok(Self(year))
    }

    /// The year.
    pub fn get(self) -> i32 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn genders_use_the_htcds_codes() {
        let codes: Vec<&str> = Gender::ALL.iter().map(|g| g.code()).collect();
        assert_eq!(
            codes,
            [
                "Feminine",
                "Masculine",
                "TransgenderFeminine",
                "TransgenderMasculine",
                "NonConforming",
                "NonSpecifiedUnknown"
            ]
        );
        for g in Gender::ALL {
            assert_eq!(g.code().parse::<Gender>().unwrap(), g);
        }
        assert_eq!("feminine".parse::<Gender>().unwrap(), Gender::Feminine);
        assert!("female".parse::<Gender>().is_err());
        assert_eq!(Gender::default(), Gender::NonSpecifiedUnknown);
    }

    #[test]
    fn the_country_table_is_sorted_and_unique() {
        assert!(ISO_3166_ALPHA2.windows(2).all(|w| w[0] < w[1]));
        assert!(
            ISO_3166_ALPHA2
                .iter()
                .all(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()))
        );
    }

    #[test]
    fn countries_are_iso_codes_in_any_case() {
        for (input, code) in [("RS", "RS"), ("rs", "RS"), (" me ", "ME"), ("Ua", "UA")] {
            assert_eq!(CountryCode::parse("c", input).unwrap().as_str(), code);
        }
        for bad in ["", "R", "SRB", "XX", "YU", "EU", "12", "Србија"] {
            let e = CountryCode::parse("citizenship", bad).unwrap_err();
            assert_eq!(
                (e.field.as_str(), e.code),
                ("citizenship", "country-unknown")
            );
        }
    }

    #[test]
    fn birth_years_are_plausible() {
        assert_eq!(BirthYear::parse("y", 2010, 2026).unwrap().get(), 2010);
        assert_eq!(BirthYear::parse("y", 2026, 2026).unwrap().get(), 2026);
        assert_eq!(BirthYear::parse("y", 1906, 2026).unwrap().get(), 1906);
        assert!(BirthYear::parse("y", 2027, 2026).is_err());
        let e = BirthYear::parse("birth_year", 1905, 2026).unwrap_err();
        assert_eq!(e.code, "birth-year-out-of-range");
        assert_eq!(e.args, vec![("min", "1906".into()), ("max", "2026".into())]);
    }
}
