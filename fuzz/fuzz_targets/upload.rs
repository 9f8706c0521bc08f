//! Uploaded-file type detection (`haven_domain::documents::sniff`, `check_upload`) and the file
//! name offered in downloads (`safe_file_name`): documents and screenshots are judged by their
//! bytes, never by the name or the browser's word. The input is a file name, a NUL byte, the
//! content; the name's first byte says whether only images are accepted.
#![no_main]

use haven_domain::documents::{FileRefusal, FileType, check_upload, safe_file_name, sniff};
use libfuzzer_sys::fuzz_target;

const EXECUTABLE: [&[u8]; 9] = [
    b"MZ",
    b"\x7fELF",
    b"\xfe\xed\xfa\xce",
    b"\xfe\xed\xfa\xcf",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",
    b"#!",
    b"\0asm",
];

fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|b| *b == 0).unwrap_or(data.len());
    let name = String::from_utf8_lossy(&data[..split]);
    let content = data.get(split + 1..).unwrap_or(&[]);
    let image_only = data.first().is_some_and(|b| b & 1 == 1);

    let sniffed = sniff(content);
    if EXECUTABLE.iter().any(|m| content.starts_with(m)) {
        assert_eq!(sniffed, Err(FileRefusal::Executable));
    }
    if content.is_empty() {
        assert_eq!(sniffed, Err(FileRefusal::Empty));
    }
    if let Ok(t) = sniffed {
        assert_eq!(FileType::from_media_type(t.media_type()), Some(t));
        assert!(!t.extensions().is_empty());
    }

    let checked = check_upload(&name, content, image_only);
    if let Ok(t) = checked {
        assert_eq!(sniffed, Ok(t));
        assert!(!image_only || t.is_image(), "{t:?} accepted as an image");
        let ext = name
            .rsplit_once('.')
            .map(|(_, e)| e.trim().to_ascii_lowercase());
        for bad in ["exe", "js", "html", "htm", "svg", "sh", "bat", "hta"] {
            assert_ne!(ext.as_deref(), Some(bad), "{name:?} accepted");
        }
    } else if let Err(e) = sniffed {
        assert_eq!(checked, Err(e));
    }

    let safe = safe_file_name(&name);
    assert!(!safe.is_empty() && safe.chars().count() <= 120, "{safe:?}");
    assert!(!safe.starts_with('.'), "{safe:?}");
    assert!(
        !safe
            .chars()
            .any(|c| c.is_control() || matches!(c, '"' | '\\' | '/' | ';')),
        "{safe:?}"
    );
    assert_eq!(safe_file_name(&safe), safe);
});
