//! Phone normalisation (`haven_domain::phone::e164`), used for the blind index of a contact's
//! phone and for agencies' phone channels: any text in any default region.
#![no_main]

use haven_domain::phone::e164;
use libfuzzer_sys::fuzz_target;

const REGIONS: [&str; 8] = ["RS", "rs", "DE", "US", "BA", "ME", "XX", ""];

fuzz_target!(
    init: {
        // The numbering plans load on first use (seconds under the sanitiser): before the clock runs.
        let _ = e164("+381641234567", "RS");
    },
    |data: &[u8]| {
        let Some((&pick, rest)) = data.split_first() else {
            return;
        };
        let Ok(raw) = std::str::from_utf8(rest) else {
            return;
        };
        let region = REGIONS[usize::from(pick) % REGIONS.len()];
        let Ok(number) = e164(raw, region) else {
            return;
        };
        // A plus and digits only. (E.164 says at most 15 digits, but libphonenumber's plan for
        // Germany accepts national numbers of up to 15 digits after the 49: 18 in all.)
        assert!(number.starts_with('+'), "{number:?}");
        assert!(number.len() <= 19 && number.len() >= 3, "{number:?}");
        assert!(
            number[1..].bytes().all(|b| b.is_ascii_digit()),
            "{number:?}"
        );
        // A normalised number normalises to itself, whatever the default region: the blind index of
        // a stored number and of a search for it agree.
        for r in ["RS", "DE", "US"] {
            assert_eq!(
                e164(&number, r).as_deref(),
                Ok(number.as_str()),
                "{raw:?} in {region}"
            );
        }
    }
);
