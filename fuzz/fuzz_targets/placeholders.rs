//! Letter templates (`haven_domain::referrals`): the placeholders an editor writes, their check,
//! the filling of a letter, and the protocol-number format.
#![no_main]

use haven_domain::referrals::{
    PLACEHOLDERS, ProtocolFormat, check_placeholders, fill, placeholders,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let found = placeholders(text);
    // Each once, trimmed; the check names exactly the unknown ones.
    for (i, p) in found.iter().enumerate() {
        assert!(!found[..i].contains(p), "{p:?} twice");
        assert_eq!(p.trim(), p);
        assert!(text.contains(p.as_str()));
    }
    let unknown = check_placeholders(text);
    let expected: Vec<String> = found
        .iter()
        .filter(|p| !PLACEHOLDERS.contains(&p.as_str()))
        .cloned()
        .collect();
    assert_eq!(unknown, expected);

    // Filling with nothing only removes text; text without a placeholder is left alone.
    let empty = fill(text, &[]);
    assert!(empty.len() <= text.len());
    if found.is_empty() {
        assert_eq!(fill(text, &[("subject", "x".into())]), text);
    }
    // Every known placeholder found is filled with its value, and values are not read as
    // templates themselves.
    let values: Vec<(&str, String)> = PLACEHOLDERS
        .iter()
        .map(|p| (*p, format!("\u{1}{p}:{{{{body}}}}\u{1}")))
        .collect();
    let filled = fill(text, &values);
    for p in found.iter().filter(|p| PLACEHOLDERS.contains(&p.as_str())) {
        assert!(
            filled.contains(&format!("\u{1}{p}:{{{{body}}}}\u{1}")),
            "{p:?} not filled"
        );
    }

    if let Ok(format) = ProtocolFormat::parse(text) {
        let n = format.number(data.len() as i64, 2026);
        assert!(!n.is_empty());
        // Only `{n}` and `{year}` are placeholders, and both are always replaced.
        assert!(!n.contains('{') && !n.contains('}'), "{text:?} gives {n:?}");
        assert_eq!(ProtocolFormat::parse(format.as_str()).as_ref(), Ok(&format));
    }
});
