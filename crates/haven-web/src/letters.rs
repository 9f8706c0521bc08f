//! Letters as PDF: the organisation's letterhead, the letter's text wrapped to the page, and the
//! signature block, set in DejaVu Sans embedded in the file (a free licence: see
//! `fonts/DejaVuSans-LICENSE.txt`), so that Serbian Latin diacritics (šđčćž) and Cyrillic
//! (Љ Њ Џ Ђ Ћ) show on every reader's machine and come back out of text extraction.
//!
//! Written with `pdf-writer` (a small, dependency-light crate from the Typst project) and
//! `ttf-parser` for glyphs and widths: text is shown as glyph ids (`Identity-H`) with a
//! `ToUnicode` map, and the font program is embedded whole, compressed. ARCHITECTURE.md says why
//! not Typst.

use std::collections::BTreeMap;

use pdf_writer::types::{CidFontType, FontFlags, SystemInfo};
use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref, Str};

/// The embedded font.
pub static FONT: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");

const PAGE_W: f32 = 595.0;
const PAGE_H: f32 = 842.0;
const MARGIN: f32 = 64.0;
const SIZE: f32 = 11.0;
const LEADING: f32 = 15.0;
const HEAD_SIZE: f32 = 15.0;

/// What a letter's PDF shows.
#[derive(Debug, Clone, Default)]
pub struct LetterPdf {
    /// The letterhead: the organisation's name.
    pub organisation: String,
    /// Lines under the name (address, e-mail, phone).
    pub letterhead_lines: Vec<String>,
    /// The protocol number and date line.
    pub reference: String,
    /// The subject.
    pub subject: String,
    /// The text.
    pub text: String,
    /// The signature block (author, role, organisation).
    pub signature: Vec<String>,
    /// A line at the foot of the last page (the reply link).
    pub footer: String,
}

/// Why a PDF could not be made.
#[derive(Debug, thiserror::Error)]
#[error("the embedded font could not be read")]
pub struct PdfError;

struct Font<'a> {
    face: ttf_parser::Face<'a>,
    scale: f32,
    used: BTreeMap<u16, char>,
}

impl Font<'_> {
    fn glyph(&mut self, c: char) -> u16 {
        let g = self.face.glyph_index(c).map(|g| g.0).unwrap_or(0);
        if g != 0 {
            self.used.entry(g).or_insert(c);
        }
        g
    }

    fn width(&self, c: char, size: f32) -> f32 {
        let g = self.face.glyph_index(c).unwrap_or(ttf_parser::GlyphId(0));
        f32::from(self.face.glyph_hor_advance(g).unwrap_or(0)) * self.scale * size / 1000.0
    }

    fn text_width(&self, s: &str, size: f32) -> f32 {
        s.chars().map(|c| self.width(c, size)).sum()
    }

    fn encode(&mut self, s: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(s.len() * 2);
        for c in s.chars() {
            out.extend_from_slice(&self.glyph(c).to_be_bytes());
        }
        out
    }
}

/// Breaks `text` into lines no wider than `width` (words longer than a line are cut).
fn wrap(font: &Font<'_>, text: &str, size: f32, width: f32) -> Vec<String> {
    let mut lines = Vec::new();
    for para in text.split('\n') {
        let mut line = String::new();
        for word in para.split(' ') {
            let candidate = if line.is_empty() {
                word.to_owned()
            } else {
                format!("{line} {word}")
            };
            if font.text_width(&candidate, size) <= width {
                line = candidate;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            let mut piece = String::new();
            for c in word.chars() {
                if font.text_width(&piece, size) + font.width(c, size) > width && !piece.is_empty()
                {
                    lines.push(std::mem::take(&mut piece));
                }
                piece.push(c);
            }
            line = piece;
        }
        lines.push(line);
    }
    lines
}

/// One line of output: where, how large, what.
struct Placed {
    y: f32,
    size: f32,
    text: String,
}

/// Renders a letter to PDF bytes.
pub fn render(letter: &LetterPdf) -> Result<Vec<u8>, PdfError> {
    let face = ttf_parser::Face::parse(FONT, 0).map_err(|_| PdfError)?;
    let scale = 1000.0 / f32::from(face.units_per_em());
    let mut font = Font {
        face,
        scale,
        used: BTreeMap::new(),
    };
    let width = PAGE_W - 2.0 * MARGIN;

    // Lay out every line, page by page.
    let mut pages: Vec<Vec<Placed>> = vec![Vec::new()];
    let mut y = PAGE_H - MARGIN;
    let put = |pages: &mut Vec<Vec<Placed>>, y: &mut f32, size: f32, text: String, gap: f32| {
        if *y - gap < MARGIN + LEADING {
            pages.push(Vec::new());
            *y = PAGE_H - MARGIN;
        }
        *y -= gap;
        if let Some(p) = pages.last_mut() {
            p.push(Placed { y: *y, size, text });
        }
    };
    for l in wrap(&font, &letter.organisation, HEAD_SIZE, width) {
        put(&mut pages, &mut y, HEAD_SIZE, l, HEAD_SIZE + 4.0);
    }
    for l in &letter.letterhead_lines {
        for w in wrap(&font, l, SIZE - 2.0, width) {
            put(&mut pages, &mut y, SIZE - 2.0, w, LEADING - 3.0);
        }
    }
    y -= LEADING;
    for l in wrap(&font, &letter.reference, SIZE, width) {
        put(&mut pages, &mut y, SIZE, l, LEADING);
    }
    y -= LEADING / 2.0;
    for l in wrap(&font, &letter.subject, SIZE + 1.0, width) {
        put(&mut pages, &mut y, SIZE + 1.0, l, LEADING + 2.0);
    }
    y -= LEADING / 2.0;
    for l in wrap(&font, &letter.text, SIZE, width) {
        put(&mut pages, &mut y, SIZE, l, LEADING);
    }
    y -= LEADING;
    for l in &letter.signature {
        for w in wrap(&font, l, SIZE, width) {
            put(&mut pages, &mut y, SIZE, w, LEADING);
        }
    }
    if !letter.footer.is_empty() {
        y -= LEADING;
        for l in wrap(&font, &letter.footer, SIZE - 2.0, width) {
            put(&mut pages, &mut y, SIZE - 2.0, l, LEADING - 3.0);
        }
    }

    // Write the file.
    let mut pdf = Pdf::new();
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let type0 = Ref::new(3);
    let cid = Ref::new(4);
    let descriptor = Ref::new(5);
    let file = Ref::new(6);
    let cmap = Ref::new(7);
    let first_page = 8;
    let font_name = Name(b"F1");
    let base = Name(b"DejaVuSans");
    let page_ids: Vec<Ref> = (0..pages.len())
        .map(|i| Ref::new(first_page + 2 * i as i32))
        .collect();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids(page_ids.iter().copied())
        .count(page_ids.len() as i32);
    for (i, lines) in pages.iter().enumerate() {
        let page_id = page_ids[i];
        let content_id = Ref::new(page_id.get() + 1);
        let mut page = pdf.page(page_id);
        page.media_box(Rect::new(0.0, 0.0, PAGE_W, PAGE_H));
        page.parent(tree);
        page.contents(content_id);
        page.resources().fonts().pair(font_name, type0);
        page.finish();
        let mut content = Content::new();
        for l in lines {
            let bytes = font.encode(&l.text);
            content.begin_text();
            content.set_font(font_name, l.size);
            content.next_line(MARGIN, l.y);
            content.show(Str(&bytes));
            content.end_text();
        }
        pdf.stream(content_id, &content.finish());
    }

    pdf.type0_font(type0)
        .base_font(base)
        .encoding_predefined(Name(b"Identity-H"))
        .descendant_font(cid)
        .to_unicode(cmap);
    let info = SystemInfo {
        registry: Str(b"Adobe"),
        ordering: Str(b"Identity"),
        supplement: 0,
    };
    {
        let mut c = pdf.cid_font(cid);
        c.subtype(CidFontType::Type2)
            .base_font(base)
            .system_info(info)
            .font_descriptor(descriptor)
            .cid_to_gid_map_predefined(Name(b"Identity"))
            .default_width(600.0);
        let mut w = c.widths();
        for g in font.used.keys() {
            let adv = font
                .face
                .glyph_hor_advance(ttf_parser::GlyphId(*g))
                .unwrap_or(0);
            w.consecutive(*g, [f32::from(adv) * scale]);
        }
        w.finish();
        c.finish();
    }
    let bbox = font.face.global_bounding_box();
    pdf.font_descriptor(descriptor)
        .name(base)
        .flags(FontFlags::NON_SYMBOLIC)
        .bbox(Rect::new(
            f32::from(bbox.x_min) * scale,
            f32::from(bbox.y_min) * scale,
            f32::from(bbox.x_max) * scale,
            f32::from(bbox.y_max) * scale,
        ))
        .italic_angle(0.0)
        .ascent(f32::from(font.face.ascender()) * scale)
        .descent(f32::from(font.face.descender()) * scale)
        .cap_height(f32::from(font.face.capital_height().unwrap_or(700)) * scale)
        .stem_v(80.0)
        .font_file2(file);
    let compressed = miniz_oxide::deflate::compress_to_vec_zlib(FONT, 6);
    pdf.stream(file, &compressed)
        .filter(Filter::FlateDecode)
        .pair(Name(b"Length1"), FONT.len() as i32);
    let mut map = pdf_writer::types::UnicodeCmap::new(Name(b"Haven-UTF16"), info);
    for (g, c) in &font.used {
        map.pair(*g, *c);
    }
    pdf.cmap(cmap, &map.finish());
    Ok(pdf.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_letter_is_a_pdf_with_the_font_embedded() {
        let bytes = render(&LetterPdf {
            organisation: "Astra".into(),
            subject: "Prijava".into(),
            text: "šđčćž ŠĐČĆŽ Љ Њ Џ Ђ Ћ ".repeat(200),
            ..LetterPdf::default()
        })
        .unwrap_or_default();
        assert!(bytes.starts_with(b"%PDF-"));
        assert!(bytes.len() > 100_000, "the font is embedded");
    }
}
