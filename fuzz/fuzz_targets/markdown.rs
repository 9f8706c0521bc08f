//! The portal's Markdown rendering (`haven_domain::markdown::render_markdown`): whatever an
//! editor writes, the HTML that comes out carries only harmless tags and attributes.
#![no_main]

use haven_domain::markdown::render_markdown;
use libfuzzer_sys::fuzz_target;

/// Tags the sanitiser may let through (a subset of ammonia's defaults that Markdown produces).
const TAGS: &[&str] = &[
    "a",
    "p",
    "br",
    "hr",
    "em",
    "strong",
    "del",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "img",
    "sup",
];
const ATTRIBUTES: &[&str] = &["href", "rel", "src", "alt", "title", "start", "align"];

fuzz_target!(|data: &[u8]| {
    let Some((&flag, rest)) = data.split_first() else {
        return;
    };
    let Ok(src) = std::str::from_utf8(rest) else {
        return;
    };
    let html = render_markdown(src, flag & 1 == 1);
    check(&html, src);
});

/// Every `<` opens a known tag whose attributes are known and double-quoted (the serialiser's
/// form), and none is an event handler, a style or a script URL.
fn check(html: &str, src: &str) {
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        let after = &rest[open + 1..];
        let body = after.strip_prefix('/').unwrap_or(after);
        let name_len = body
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(body.len());
        let name = &body[..name_len];
        assert!(
            TAGS.contains(&name),
            "tag {name:?} in {html:?} from {src:?}"
        );
        let mut attrs = &body[name_len..];
        loop {
            attrs = attrs.trim_start();
            if let Some(r) = attrs.strip_prefix("/>").or_else(|| attrs.strip_prefix('>')) {
                rest = r;
                break;
            }
            let (attr, value_and_rest) = attrs.split_once("=\"").unwrap_or_else(|| {
                panic!("malformed attributes {attrs:?} in {html:?} from {src:?}")
            });
            let (value, tail) = value_and_rest
                .split_once('"')
                .unwrap_or_else(|| panic!("unterminated attribute in {html:?} from {src:?}"));
            assert!(
                ATTRIBUTES.contains(&attr),
                "attribute {attr:?} in {html:?} from {src:?}"
            );
            let v = value
                .chars()
                .filter(|c| !c.is_whitespace() && !c.is_control())
                .collect::<String>()
                .to_ascii_lowercase();
            if attr == "href" || attr == "src" {
                for scheme in ["javascript:", "vbscript:", "data:", "&#"] {
                    assert!(!v.starts_with(scheme), "{attr}={value:?} from {src:?}");
                }
            }
            attrs = tail;
        }
    }
}
