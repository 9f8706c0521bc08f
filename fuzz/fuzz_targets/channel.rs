//! Agency channel normalisation (`haven_domain::agencies::normalise_channel` and
//! `normalise_channel_as`): e-mail addresses, phone numbers, web sites, social pages and job-portal
//! profiles as a counsellor or a register file writes them.
#![no_main]

use haven_domain::agencies::{
    ChannelKind, MAX_CHANNEL_LEN, normalise_channel, normalise_channel_as,
};
use libfuzzer_sys::fuzz_target;

const KINDS: [ChannelKind; 5] = [
    ChannelKind::Phone,
    ChannelKind::Email,
    ChannelKind::Website,
    ChannelKind::Social,
    ChannelKind::JobPortal,
];

fuzz_target!(
    init: {
        // The numbering plans load on first use (seconds under the sanitiser): before the clock runs.
        let _ = normalise_channel("+381641234567", "RS");
    },
    |data: &[u8]| {
        let Some((&pick, rest)) = data.split_first() else {
            return;
        };
        let Ok(raw) = std::str::from_utf8(rest) else {
            return;
        };
        let results = [
            normalise_channel(raw, "RS"),
            normalise_channel_as(KINDS[usize::from(pick) % KINDS.len()], raw, "RS"),
        ];
        for channel in results.into_iter().flatten() {
            let value = &channel.value;
            assert!(!value.is_empty());
            assert_eq!(value.trim(), value, "{raw:?}");
            assert_eq!(
                ChannelKind::from_code(channel.kind.code()),
                Some(channel.kind)
            );
            // A canonical value is canonical: read again as its kind, it comes back unchanged (the
            // duplicate check compares stored values with newly normalised ones).
            if value.len() <= MAX_CHANNEL_LEN {
                let again = normalise_channel_as(channel.kind, value, "RS");
                assert_eq!(again.as_ref(), Ok(&channel), "{raw:?}");
            }
        }
    }
);
