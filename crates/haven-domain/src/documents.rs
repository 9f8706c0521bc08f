//! Uploaded documents: what a file really is, read from its content.
//!
//! The type comes from the first bytes (and, for office documents, the ZIP entries), never from
//! the name or the browser's word: an executable is refused whatever it is called, a file whose
//! content is no allowed type is refused, and a name whose extension claims another type than
//! the content is refused too (it is how a dangerous file is usually dressed up).

/// A type of file Haven accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileType {
    /// PDF.
    Pdf,
    /// PNG image.
    Png,
    /// JPEG image.
    Jpeg,
    /// GIF image.
    Gif,
    /// WebP image.
    Webp,
    /// TIFF image (scans).
    Tiff,
    /// Word document (OOXML).
    Docx,
    /// Excel workbook (OOXML).
    Xlsx,
    /// PowerPoint presentation (OOXML).
    Pptx,
    /// OpenDocument text, spreadsheet or presentation.
    OpenDocument,
    /// Legacy Microsoft Office (Word 97–2003 and the like).
    LegacyOffice,
    /// Rich text.
    Rtf,
}

impl FileType {
    /// The media type stored with the document.
    pub fn media_type(self) -> &'static str {
        match self {
            FileType::Pdf => "application/pdf",
            FileType::Png => "image/png",
            FileType::Jpeg => "image/jpeg",
            FileType::Gif => "image/gif",
            FileType::Webp => "image/webp",
            FileType::Tiff => "image/tiff",
            FileType::Docx => {
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
            }
            FileType::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            FileType::Pptx => {
                "application/vnd.openxmlformats-officedocument.presentationml.presentation"
            }
            FileType::OpenDocument => "application/vnd.oasis.opendocument",
            FileType::LegacyOffice => "application/msword",
            FileType::Rtf => "application/rtf",
        }
    }

    /// Whether it is an image.
    pub fn is_image(self) -> bool {
        matches!(
            self,
            FileType::Png | FileType::Jpeg | FileType::Gif | FileType::Webp | FileType::Tiff
        )
    }

    /// The extensions a name of this type may have.
    pub fn extensions(self) -> &'static [&'static str] {
        match self {
            FileType::Pdf => &["pdf"],
            FileType::Png => &["png"],
            FileType::Jpeg => &["jpg", "jpeg", "jpe", "jfif"],
            FileType::Gif => &["gif"],
            FileType::Webp => &["webp"],
            FileType::Tiff => &["tif", "tiff"],
            FileType::Docx => &["docx"],
            FileType::Xlsx => &["xlsx"],
            FileType::Pptx => &["pptx"],
            FileType::OpenDocument => &["odt", "ods", "odp"],
            FileType::LegacyOffice => &["doc", "xls", "ppt"],
            FileType::Rtf => &["rtf"],
        }
    }

    /// The type a media type names, as stored.
    pub fn from_media_type(m: &str) -> Option<FileType> {
        ALL.iter().copied().find(|t| t.media_type() == m)
    }
}

const ALL: [FileType; 12] = [
    FileType::Pdf,
    FileType::Png,
    FileType::Jpeg,
    FileType::Gif,
    FileType::Webp,
    FileType::Tiff,
    FileType::Docx,
    FileType::Xlsx,
    FileType::Pptx,
    FileType::OpenDocument,
    FileType::LegacyOffice,
    FileType::Rtf,
];

/// Why a file is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileRefusal {
    /// Nothing was sent.
    Empty,
    /// A program or script.
    Executable,
    /// No type Haven accepts.
    UnknownType,
    /// The name's extension says another type than the content.
    ExtensionMismatch,
    /// Not an image where a photo was expected.
    NotAnImage,
}

impl FileRefusal {
    /// The message code.
    pub fn code(self) -> &'static str {
        match self {
            FileRefusal::Empty => "file-empty",
            FileRefusal::Executable => "file-executable",
            FileRefusal::UnknownType => "file-type-refused",
            FileRefusal::ExtensionMismatch => "file-extension-mismatch",
            FileRefusal::NotAnImage => "file-not-an-image",
        }
    }
}

fn starts(b: &[u8], magic: &[u8]) -> bool {
    b.len() >= magic.len() && &b[..magic.len()] == magic
}

fn contains(b: &[u8], needle: &[u8]) -> bool {
    b.windows(needle.len()).any(|w| w == needle)
}

/// Whether the content is a program or script of a common kind.
fn is_executable(b: &[u8]) -> bool {
    const MAGICS: [&[u8]; 8] = [
        b"MZ",               // Windows PE / DOS
        b"\x7fELF",          // Linux ELF
        b"\xfe\xed\xfa\xce", // Mach-O 32
        b"\xfe\xed\xfa\xcf", // Mach-O 64
        b"\xce\xfa\xed\xfe", // Mach-O 32, little endian
        b"\xcf\xfa\xed\xfe", // Mach-O 64, little endian
        b"\xca\xfe\xba\xbe", // Mach-O universal, Java class
        b"#!",               // scripts
    ];
    MAGICS.iter().any(|m| starts(b, m)) || starts(b, b"\0asm")
}

/// What the content is, or why it is refused.
pub fn sniff(b: &[u8]) -> Result<FileType, FileRefusal> {
    if b.is_empty() {
        return Err(FileRefusal::Empty);
    }
    if is_executable(b) {
        return Err(FileRefusal::Executable);
    }
    if starts(b, b"%PDF-") {
        return Ok(FileType::Pdf);
    }
    if starts(b, b"\x89PNG\r\n\x1a\n") {
        return Ok(FileType::Png);
    }
    if starts(b, b"\xff\xd8\xff") {
        return Ok(FileType::Jpeg);
    }
    if starts(b, b"GIF87a") || starts(b, b"GIF89a") {
        return Ok(FileType::Gif);
    }
    if starts(b, b"RIFF") && b.len() >= 12 && &b[8..12] == b"WEBP" {
        return Ok(FileType::Webp);
    }
    if starts(b, b"II*\0") || starts(b, b"MM\0*") {
        return Ok(FileType::Tiff);
    }
    if starts(b, b"{\\rtf") {
        return Ok(FileType::Rtf);
    }
    if starts(b, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1") {
        return Ok(FileType::LegacyOffice);
    }
    if starts(b, b"PK\x03\x04") {
        // OpenDocument: the first entry is an uncompressed `mimetype` naming the type.
        if b.len() > 38
            && &b[30..38] == b"mimetype"
            && contains(
                &b[38..b.len().min(200)],
                b"application/vnd.oasis.opendocument.",
            )
        {
            return Ok(FileType::OpenDocument);
        }
        // Office Open XML: a content-types entry and the part of the application.
        if contains(b, b"[Content_Types].xml") {
            if contains(b, b"word/") {
                return Ok(FileType::Docx);
            }
            if contains(b, b"xl/") {
                return Ok(FileType::Xlsx);
            }
            if contains(b, b"ppt/") {
                return Ok(FileType::Pptx);
            }
        }
        // Any other archive may carry anything.
        return Err(FileRefusal::UnknownType);
    }
    Err(FileRefusal::UnknownType)
}

/// Checks an upload: its content must be an accepted type (an image when `image_only`), and the
/// extension of its name, when it has a known one, must agree.
pub fn check_upload(name: &str, content: &[u8], image_only: bool) -> Result<FileType, FileRefusal> {
    let t = sniff(content)?;
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let known = ALL.iter().any(|t| t.extensions().contains(&ext.as_str()));
    let dangerous = [
        "exe", "com", "bat", "cmd", "scr", "msi", "dll", "js", "vbs", "ps1", "sh", "jar", "app",
        "html", "htm", "svg", "xhtml", "hta", "lnk",
    ];
    if dangerous.contains(&ext.as_str()) || (known && !t.extensions().contains(&ext.as_str())) {
        return Err(FileRefusal::ExtensionMismatch);
    }
    if image_only && !t.is_image() {
        return Err(FileRefusal::NotAnImage);
    }
    Ok(t)
}

/// A file name safe to offer in a download: no path, no control or quoting characters, at most
/// 120 characters.
pub fn safe_file_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | '\\' | '/' | ';'))
        .take(120)
        .collect();
    // Dots and spaces in any order at the start (`. .bashrc`), spaces at the end.
    let trimmed = cleaned
        .trim_start_matches(|c: char| c == '.' || c.is_whitespace())
        .trim_end();
    if trimmed.is_empty() {
        "document".into()
    } else {
        trimmed.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

    #[test]
    fn types_come_from_content() {
        assert_eq!(sniff(b"%PDF-1.7\n"), Ok(FileType::Pdf));
        assert_eq!(sniff(PNG), Ok(FileType::Png));
        assert_eq!(sniff(b"\xff\xd8\xff\xe0\0\x10JFIF"), Ok(FileType::Jpeg));
        assert_eq!(sniff(b"MZ\x90\0\x03"), Err(FileRefusal::Executable));
        assert_eq!(sniff(b"\x7fELF\x02\x01"), Err(FileRefusal::Executable));
        assert_eq!(sniff(b"#!/bin/sh\nrm -rf /"), Err(FileRefusal::Executable));
        assert_eq!(sniff(b"<html><script>"), Err(FileRefusal::UnknownType));
        assert_eq!(sniff(b"PK\x03\x04 evil.exe"), Err(FileRefusal::UnknownType));
        assert_eq!(sniff(b""), Err(FileRefusal::Empty));
        let docx = b"PK\x03\x04....[Content_Types].xml....word/document.xml";
        assert_eq!(sniff(docx), Ok(FileType::Docx));
    }

    #[test]
    fn names_must_not_lie() {
        assert_eq!(
            check_upload("photo.jpg", b"MZ\x90\0", true),
            Err(FileRefusal::Executable)
        );
        assert_eq!(
            check_upload("photo.jpg", b"%PDF-1.4", true),
            Err(FileRefusal::ExtensionMismatch)
        );
        assert_eq!(check_upload("photo.png", PNG, true), Ok(FileType::Png));
        assert_eq!(check_upload("scan", PNG, true), Ok(FileType::Png));
        assert_eq!(
            check_upload("decision.pdf", b"%PDF-1.4", true),
            Err(FileRefusal::NotAnImage)
        );
        assert_eq!(
            check_upload("decision.pdf", b"%PDF-1.4", false),
            Ok(FileType::Pdf)
        );
        assert_eq!(
            check_upload("image.png.exe", PNG, false),
            Err(FileRefusal::ExtensionMismatch)
        );
        assert_eq!(
            check_upload("x.svg", PNG, false),
            Err(FileRefusal::ExtensionMismatch)
        );
    }

    #[test]
    fn download_names_are_tame() {
        assert_eq!(safe_file_name("../../etc/passwd"), "passwd");
        assert_eq!(safe_file_name("a\"b;c\r\n.pdf"), "abc.pdf");
        assert_eq!(safe_file_name("..."), "document");
        // Found by the `upload` fuzz target: a space after the leading dots was kept.
        assert_eq!(safe_file_name("\u{1}. d.exe"), "d.exe");
        assert_eq!(safe_file_name(". . .bashrc "), "bashrc");
        assert_eq!(safe_file_name(" . "), "document");
    }
}
