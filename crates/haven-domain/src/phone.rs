//! Phone numbers in one canonical form, E.164 (`+381641234567`).
//!
//! A helpline hears a number and types it however habit allows: `064/123-4567`,
//! `+381 64 123 4567`, `00381641234567`. Every place that compares phone numbers — the blind index
//! of a contact's phone, an agency's phone channel — must reduce them with this one function, or a
//! lookup misses the record.

use phonenumber::Mode;
use phonenumber::country;

/// A phone number that cannot be normalised to E.164.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    /// The default region is not a known two-letter country code.
    #[error("unknown default region {0:?}: expected a two-letter country code such as RS")]
    UnknownRegion(String),
    /// The text could not be read as a phone number.
    #[error("this is not a phone number")]
    Unparseable,
    /// The number was read but is not a valid number in its country's numbering plan.
    #[error("this phone number is not valid for its country")]
    Invalid,
}

impl PhoneError {
    /// A stable code, for translated messages.
    pub fn code(&self) -> &'static str {
        match self {
            PhoneError::UnknownRegion(_) => "phone_unknown_region",
            PhoneError::Unparseable => "phone_unparseable",
            PhoneError::Invalid => "phone_invalid",
        }
    }
}

/// A phone number in E.164 (`+381641234567`), reading national numbers as in `default_region`
/// (a two-letter country code such as `RS`).
pub fn e164(raw: &str, default_region: &str) -> Result<String, PhoneError> {
    let region: country::Id = default_region
        .trim()
        .to_ascii_uppercase()
        .parse()
        .map_err(|_| PhoneError::UnknownRegion(default_region.to_owned()))?;
    let number =
        phonenumber::parse(Some(region), raw.trim()).map_err(|_| PhoneError::Unparseable)?;
    if !phonenumber::is_valid(&number) {
        return Err(PhoneError::Invalid);
    }
    Ok(number.format().mode(Mode::E164).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_spellings_give_one_e164_number() {
        for raw in [
            "0641234567",
            "064 123 4567",
            "064/123-4567",
            "+381 64 123 4567",
            "00381641234567",
            " +381641234567 ",
        ] {
            assert_eq!(e164(raw, "RS").unwrap(), "+381641234567", "{raw}");
        }
        // A foreign number keeps its own country code whatever the default region.
        assert_eq!(e164("+49 30 901820", "RS").unwrap(), "+4930901820");
        assert_eq!(e164("0641234567", "rs").unwrap(), "+381641234567");
    }

    #[test]
    fn bad_phones_and_regions_are_refused() {
        assert_eq!(e164("hello", "RS").unwrap_err(), PhoneError::Unparseable);
        assert_eq!(e164("", "RS").unwrap_err(), PhoneError::Unparseable);
        assert_eq!(e164("+381 1", "RS").unwrap_err(), PhoneError::Unparseable);
        // Well-formed but not in the numbering plan: too short, or no such operator prefix.
        assert_eq!(e164("+381 64 12", "RS").unwrap_err(), PhoneError::Invalid);
        assert_eq!(e164("099 123 4567", "RS").unwrap_err(), PhoneError::Invalid);
        assert_eq!(
            e164("0641234567", "Serbia").unwrap_err(),
            PhoneError::UnknownRegion("Serbia".to_owned())
        );
        assert_eq!(PhoneError::Invalid.code(), "phone_invalid");
    }
}
