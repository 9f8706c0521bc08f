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
    let raw = raw.trim();
    // A number written with its country code is read without the default region: the library
    // otherwise strips the region's national prefix after the country code, so with region US a
    // Belgrade number `+381 11 3234567` became `+3813234567`, another number.
    let default = if raw.starts_with('+') {
        None
    } else {
        Some(region)
    };
    let number = phonenumber::parse(default, raw).map_err(|_| PhoneError::Unparseable)?;
    if !phonenumber::is_valid(&number) {
        return Err(PhoneError::Invalid);
    }
    let canonical = number.format().mode(Mode::E164).to_string();
    if canonical == raw {
        // Already read without a default region, valid, and giving itself back: the check below
        // would parse the same text again.
        return Ok(canonical);
    }
    // The canonical form must itself be read as the same valid number, or a stored number and a
    // search for it would disagree: the library reads some odd spellings (`t1234567`) as a
    // number whose E.164 form it then refuses.
    match phonenumber::parse(None, &canonical) {
        Ok(again)
            if phonenumber::is_valid(&again)
                && again.format().mode(Mode::E164).to_string() == canonical =>
        {
            Ok(canonical)
        }
        _ => Err(PhoneError::Invalid),
    }
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
    fn a_country_code_is_read_whatever_the_default_region() {
        // Found by the `phone` fuzz target: `t1234567` in RS gave +3811234567, which read again
        // with default region US lost its 1 (the US national prefix) and was refused; a Belgrade
        // landline became another number.
        assert_eq!(e164("t1234567", "RS").unwrap(), "+3811234567");
        for region in ["RS", "DE", "US", "CA", "GB"] {
            assert_eq!(
                e164("+3811234567", region).unwrap(),
                "+3811234567",
                "{region}"
            );
            assert_eq!(
                e164("+381 11 3234567", region).unwrap(),
                "+381113234567",
                "{region}"
            );
            assert_eq!(e164("+1 201 555 0123", region).unwrap(), "+12015550123");
        }
        assert_eq!(e164("00381 11 3234567", "DE").unwrap(), "+381113234567");
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
