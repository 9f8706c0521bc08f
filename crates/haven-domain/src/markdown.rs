//! Markdown written by editors (the portal's information pages) rendered to HTML that is safe to
//! put in a page: raw HTML in the source becomes text, and the result goes through a sanitiser
//! that keeps only harmless tags and attributes. Pure: the web layer calls it and the fuzzer
//! drives it (`fuzz/fuzz_targets/markdown.rs`).

use crate::script::latin_to_cyrillic;

/// Renders Markdown to sanitised HTML; for Serbian Cyrillic the text (never link targets or
/// code) is transliterated from the Latin.
pub fn render_markdown(src: &str, cyrillic: bool) -> String {
    use pulldown_cmark::{Event, Options, Parser, html};
    let parser = Parser::new_ext(src, Options::ENABLE_TABLES).map(|e| match e {
        Event::Text(t) if cyrillic => Event::Text(latin_to_cyrillic(&t).into()),
        // Raw HTML is never passed through: it becomes text.
        Event::Html(h) | Event::InlineHtml(h) => Event::Text(h),
        other => other,
    });
    let mut out = String::new();
    html::push_html(&mut out, parser);
    ammonia::Builder::default()
        .link_rel(Some("noreferrer"))
        .clean(&out)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_html_and_script_links_never_reach_the_page() {
        let html = render_markdown(
            "<script>alert(1)</script>\n\n[x](javascript:alert(1)) <img src=x onerror=alert(1)>",
            false,
        );
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(!html.contains("javascript:"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
    }

    #[test]
    fn cyrillic_text_is_transliterated_but_links_are_not() {
        let html = render_markdown("[Pomoc](https://example.org/pomoc)", true);
        assert!(
            html.contains("href=\"https://example.org/pomoc\""),
            "{html}"
        );
        assert!(html.contains("Помоц"), "{html}");
    }
}
