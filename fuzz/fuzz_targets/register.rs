//! The agency register import: any bytes as an uploaded CSV or XLSX file, through format
//! detection, header reading, the guessed column mapping and row parsing
//! (`haven_domain::agencies::register::parse_any`).
#![no_main]

use haven_domain::agencies::register::{FileFormat, MAX_CELL_CHARS, MAX_ROWS, parse_any};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let format = FileFormat::detect(bytes);
    assert_eq!(format == FileFormat::Xlsx, bytes.starts_with(b"PK\x03\x04"));
    assert_eq!(FileFormat::from_code(format.code()), Some(format));

    let Some(parsed) = parse_any(bytes) else {
        return;
    };
    assert!(parsed.rows.len() <= MAX_ROWS);
    // A CSV file's line numbers are lines of the file; rows come out in file order.
    // Lines as an editor counts them: `\n`, `\r\n` and a lone `\r` each end one.
    let lines = bytes
        .iter()
        .enumerate()
        .filter(|&(i, b)| *b == b'\n' || (*b == b'\r' && bytes.get(i + 1) != Some(&b'\n')))
        .count()
        + 1;
    let mut previous = 0;
    for row in &parsed.rows {
        assert!(
            row.line >= 1 && row.line > previous,
            "line {} after {previous}",
            row.line
        );
        previous = row.line;
        if format == FileFormat::Csv {
            assert!(
                row.line <= lines,
                "line {} of a {lines}-line file",
                row.line
            );
        }
        assert!(!row.name.is_empty());
        assert_eq!(row.name.trim(), row.name);
        assert!(row.name.chars().count() <= MAX_CELL_CHARS);
        assert!(!row.licensed || row.revoked_on.is_none());
        for n in [&row.registration_number, &row.tax_number]
            .into_iter()
            .flatten()
        {
            assert!(!n.is_empty() && !n.chars().any(char::is_whitespace));
        }
    }
    for e in &parsed.errors {
        assert!(e.line >= 1);
        if format == FileFormat::Csv {
            assert!(
                e.line <= lines,
                "error on line {} of a {lines}-line file",
                e.line
            );
        }
    }
    // Duplicates are refused: every row's key is distinct.
    let mut keys: Vec<String> = parsed.rows.iter().map(|r| r.key()).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), parsed.rows.len());
    // The same bytes read the same way twice.
    assert_eq!(parse_any(bytes), Some(parsed));
});
