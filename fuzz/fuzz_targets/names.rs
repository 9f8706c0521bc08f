//! Name normalisation and matching: the fold behind the blind index of people's names
//! (`haven_domain::script::fold`), transliteration, and agency names (`name_key`, `name_tokens`,
//! `compare_names`). The input is two names separated by a NUL byte.
#![no_main]

use haven_domain::agencies::{Certainty, compare_names, name_key, name_tokens};
use haven_domain::script::{cyrillic_to_latin, fold, latin_to_cyrillic};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (a, b) = text.split_once('\0').unwrap_or((text, ""));

    for s in [a, b] {
        // The blind index of a name and of a search for it agree: folding is idempotent, and
        // keeps only letters and digits.
        let folded = fold(s);
        assert_eq!(fold(&folded), folded, "fold of {s:?}");
        assert!(folded.chars().all(char::is_alphanumeric), "{folded:?}");
        let _ = cyrillic_to_latin(s);
        let _ = latin_to_cyrillic(s);

        let key = name_key(s);
        assert_eq!(key.trim(), key);
        assert!(!key.contains("  "), "{key:?}");
        for t in name_tokens(s) {
            assert!(!t.is_empty() && !t.contains(' '), "{t:?}");
            assert!(
                key.split(' ').any(|w| w == t),
                "token {t:?} not in key {key:?}"
            );
        }
    }

    let m = compare_names(a, b);
    assert!((0.0..=1.0).contains(&m.score), "score {}", m.score);
    assert_eq!(m.reasons.is_empty(), m.certainty == Certainty::None);
    // Matching does not depend on which name is the query.
    let r = compare_names(b, a);
    assert_eq!(m.certainty, r.certainty, "{a:?} / {b:?}");
    assert!((m.score - r.score).abs() < 1e-6, "{a:?} / {b:?}");
    // A name with any letter or digit in it matches itself, exactly.
    if !name_key(a).is_empty() {
        let same = compare_names(a, a);
        assert_eq!(same.score, 1.0, "{a:?}");
    }
});
