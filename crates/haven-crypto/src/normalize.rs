//! Normalisation before blind indexing: values that a person would call the same must produce the
//! same bytes, or a search misses the record.
//!
//! A helpline hears a name or number over the phone and types it however the keyboard and habit
//! allow: Јовановић, Jovanović or JOVANOVIC; `064/123-4567`, `+381 64 123 4567` or
//! `00381641234567`. Each normaliser maps all spellings of one value to one canonical string. The
//! same function must be used when writing the index and when searching, so they live here, next
//! to the index, rather than in each caller.

use crate::error::PhoneError;

/// A name folded for matching: Cyrillic to Latin, diacritics and case folded, only letters and
/// digits kept (`Јовановић` → `jovanovic`).
pub fn name(s: &str) -> String {
    haven_domain::script::fold(s)
}

/// A phone number in E.164 (`+381641234567`), reading national numbers as in `default_region`
/// (a two-letter country code such as `RS`). One implementation, in
/// [`haven_domain::phone::e164`], shared with the agencies' phone channels.
pub fn phone(raw: &str, default_region: &str) -> Result<String, PhoneError> {
    haven_domain::phone::e164(raw, default_region)
}

/// An e-mail address trimmed and lower-cased.
pub fn email(s: &str) -> String {
    s.trim().to_lowercase()
}

/// An identity or document number upper-cased, without spaces, dots, hyphens or slashes.
pub fn identity_number(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '.' | '-' | '/'))
        .flat_map(char::to_uppercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_in_both_scripts_and_any_case_are_equal() {
        assert_eq!(name("Јовановић"), "jovanovic");
        assert_eq!(name("Jovanović"), "jovanovic");
        assert_eq!(name("JOVANOVIC"), "jovanovic");
        assert_eq!(name("Đorđe Љубић"), name("djordje ljubic"));
        assert_ne!(name("Jovanović"), name("Jovanovska"));
    }

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
            assert_eq!(phone(raw, "RS").unwrap(), "+381641234567", "{raw}");
        }
        // A foreign number keeps its own country code whatever the default region.
        assert_eq!(phone("+49 30 901820", "RS").unwrap(), "+4930901820");
        assert_eq!(phone("0641234567", "rs").unwrap(), "+381641234567");
    }

    #[test]
    fn bad_phones_and_regions_are_refused() {
        assert_eq!(phone("hello", "RS").unwrap_err(), PhoneError::Unparseable);
        assert_eq!(phone("", "RS").unwrap_err(), PhoneError::Unparseable);
        assert_eq!(phone("+381 1", "RS").unwrap_err(), PhoneError::Unparseable);
        // Well-formed but not in the numbering plan: too short, or no such operator prefix.
        assert_eq!(phone("+381 64 12", "RS").unwrap_err(), PhoneError::Invalid);
        assert_eq!(
            phone("099 123 4567", "RS").unwrap_err(),
            PhoneError::Invalid
        );
        assert_eq!(
            phone("0641234567", "Serbia").unwrap_err(),
            PhoneError::UnknownRegion("Serbia".to_owned())
        );
    }

    #[test]
    fn emails_and_identity_numbers_lose_their_formatting() {
        assert_eq!(
            email("  Ana.Petrovic@Example.ORG \n"),
            "ana.petrovic@example.org"
        );
        assert_eq!(identity_number("0101990 710-006"), "0101990710006");
        assert_eq!(identity_number("ab 12.34/5-6"), "AB123456");
    }
}
