//! Translations (Fluent), compiled into the binary.
//!
//! Serbian Latin and English are written by hand in `i18n/<lang>/*.ftl`. Serbian Cyrillic is made
//! at start-up by transliterating the Latin resources' text — never identifiers, variables or
//! variant keys — and then laying `i18n/sr-Cyrl/*.ftl` over it, so an explicit Cyrillic
//! translation overrides the transliteration message by message.

use std::collections::HashMap;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use fluent_syntax::ast;
use haven_domain::Language;
use haven_domain::script::latin_to_cyrillic;

/// The translation files, per language, in load order.
const EN: &[&str] = &[
    include_str!("../i18n/en/common.ftl"),
    include_str!("../i18n/en/staff.ftl"),
    include_str!("../i18n/en/court.ftl"),
    include_str!("../i18n/en/portal.ftl"),
    include_str!("../i18n/en/agencies.ftl"),
    include_str!("../i18n/en/register.ftl"),
];
const SR_LATN: &[&str] = &[
    include_str!("../i18n/sr-Latn/common.ftl"),
    include_str!("../i18n/sr-Latn/staff.ftl"),
    include_str!("../i18n/sr-Latn/court.ftl"),
    include_str!("../i18n/sr-Latn/portal.ftl"),
    include_str!("../i18n/sr-Latn/agencies.ftl"),
    include_str!("../i18n/sr-Latn/register.ftl"),
];
const SR_CYRL_OVERRIDES: &[&str] = &[include_str!("../i18n/sr-Cyrl/overrides.ftl")];

/// Every language's messages.
pub struct I18n {
    bundles: HashMap<Language, FluentBundle<FluentResource>>,
}

impl std::fmt::Debug for I18n {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("I18n")
            .field("languages", &self.bundles.len())
            .finish()
    }
}

/// A translation file that does not parse.
#[derive(Debug, thiserror::Error)]
#[error("translation file for {lang} does not parse: {detail}")]
pub struct I18nError {
    lang: &'static str,
    detail: String,
}

fn bundle(lang: Language) -> FluentBundle<FluentResource> {
    let id = lang.bcp47().parse().unwrap_or_default();
    let mut b = FluentBundle::new_concurrent(vec![id]);
    // Unicode isolation marks around placeables help mixed-direction text, which Haven's three
    // languages never need, and they break copying a case number out of a page.
    b.set_use_isolating(false);
    b
}

fn resource(lang: &'static str, source: String) -> Result<FluentResource, I18nError> {
    FluentResource::try_new(source).map_err(|(_, errors)| I18nError {
        lang,
        detail: format!("{errors:?}"),
    })
}

impl I18n {
    /// Loads and checks every translation.
    pub fn load() -> Result<I18n, I18nError> {
        let mut bundles = HashMap::new();
        let mut en = bundle(Language::En);
        for src in EN {
            en.add_resource(resource("en", (*src).to_owned())?)
                .map_err(|e| I18nError {
                    lang: "en",
                    detail: format!("{e:?}"),
                })?;
        }
        let mut latn = bundle(Language::SrLatn);
        let mut cyrl = bundle(Language::SrCyrl);
        for src in SR_LATN {
            latn.add_resource(resource("sr-Latn", (*src).to_owned())?)
                .map_err(|e| I18nError {
                    lang: "sr-Latn",
                    detail: format!("{e:?}"),
                })?;
            cyrl.add_resource(resource("sr-Cyrl", transliterate_ftl(src)?)?)
                .map_err(|e| I18nError {
                    lang: "sr-Cyrl",
                    detail: format!("{e:?}"),
                })?;
        }
        for src in SR_CYRL_OVERRIDES {
            cyrl.add_resource_overriding(resource("sr-Cyrl", (*src).to_owned())?);
        }
        bundles.insert(Language::En, en);
        bundles.insert(Language::SrLatn, latn);
        bundles.insert(Language::SrCyrl, cyrl);
        Ok(I18n { bundles })
    }

    /// The translator for one language.
    pub fn tr(&self, lang: Language) -> Tr<'_> {
        Tr { lang, i18n: self }
    }

    fn format(&self, lang: Language, id: &str, args: Option<&FluentArgs<'_>>) -> String {
        let Some(bundle) = self.bundles.get(&lang) else {
            return id.to_owned();
        };
        let (msg_id, attr) = match id.split_once('.') {
            Some((m, a)) => (m, Some(a)),
            None => (id, None),
        };
        let Some(msg) = bundle.get_message(msg_id) else {
            tracing::warn!(message = id, lang = lang.code(), "missing translation");
            return id.to_owned();
        };
        let pattern = match attr {
            Some(a) => msg.get_attribute(a).map(|at| at.value()),
            None => msg.value(),
        };
        let Some(pattern) = pattern else {
            return id.to_owned();
        };
        let mut errors = Vec::new();
        let out = bundle.format_pattern(pattern, args, &mut errors);
        if !errors.is_empty() {
            tracing::warn!(
                message = id,
                lang = lang.code(),
                ?errors,
                "translation formatting error"
            );
        }
        out.into_owned()
    }

    /// Whether a message exists in a language.
    pub fn has(&self, lang: Language, id: &str) -> bool {
        self.bundles.get(&lang).is_some_and(|b| b.has_message(id))
    }

    /// The ids of every message in the hand-written files of a language (for completeness tests).
    pub fn message_ids(lang: Language) -> Vec<String> {
        let sources = match lang {
            Language::En => EN,
            Language::SrLatn | Language::SrCyrl => SR_LATN,
        };
        let mut ids = Vec::new();
        for src in sources {
            if let Ok(res) = fluent_syntax::parser::parse(*src) {
                for entry in res.body {
                    if let ast::Entry::Message(m) = entry {
                        ids.push(m.id.name.to_owned());
                    }
                }
            }
        }
        ids.sort();
        ids
    }
}

/// Transliterates the text of a Fluent resource from Serbian Latin to Cyrillic, leaving ids,
/// variables, functions and variant keys alone.
fn transliterate_ftl(src: &str) -> Result<String, I18nError> {
    let mut res = fluent_syntax::parser::parse(src.to_owned()).map_err(|(_, e)| I18nError {
        lang: "sr-Latn",
        detail: format!("{e:?}"),
    })?;
    for entry in &mut res.body {
        match entry {
            ast::Entry::Message(m) => {
                if let Some(p) = &mut m.value {
                    pattern(p);
                }
                for a in &mut m.attributes {
                    pattern(&mut a.value);
                }
            }
            ast::Entry::Term(t) => {
                pattern(&mut t.value);
                for a in &mut t.attributes {
                    pattern(&mut a.value);
                }
            }
            _ => {}
        }
    }
    return Ok(fluent_syntax::serializer::serialize(&res));

    fn pattern(p: &mut ast::Pattern<String>) {
        for el in &mut p.elements {
            match el {
                ast::PatternElement::TextElement { value } => *value = latin_to_cyrillic(value),
                ast::PatternElement::Placeable { expression } => expr(expression),
            }
        }
    }
    fn expr(e: &mut ast::Expression<String>) {
        match e {
            ast::Expression::Select { variants, .. } => {
                for v in variants {
                    pattern(&mut v.value);
                }
            }
            ast::Expression::Inline(inline) => inline_expr(inline),
        }
    }
    fn inline_expr(e: &mut ast::InlineExpression<String>) {
        match e {
            ast::InlineExpression::StringLiteral { value } => *value = latin_to_cyrillic(value),
            ast::InlineExpression::Placeable { expression } => expr(expression),
            _ => {}
        }
    }
}

/// Translates into one language; templates call [`Tr::t`].
#[derive(Clone, Copy)]
pub struct Tr<'a> {
    /// The language.
    pub lang: Language,
    i18n: &'a I18n,
}

impl std::fmt::Debug for Tr<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tr").field("lang", &self.lang).finish()
    }
}

impl<'a> Tr<'a> {
    /// The message `id` (or `id.attribute`).
    pub fn t(&self, id: &str) -> String {
        self.i18n.format(self.lang, id, None)
    }

    /// The message `id` with one argument.
    pub fn t1(&self, id: &str, name: &str, value: impl ToFluent) -> String {
        let mut args = FluentArgs::new();
        args.set(name.to_owned(), value.to_fluent());
        self.i18n.format(self.lang, id, Some(&args))
    }

    /// The message `id` with two arguments.
    pub fn t2(&self, id: &str, n1: &str, v1: impl ToFluent, n2: &str, v2: impl ToFluent) -> String {
        let mut args = FluentArgs::new();
        args.set(n1.to_owned(), v1.to_fluent());
        args.set(n2.to_owned(), v2.to_fluent());
        self.i18n.format(self.lang, id, Some(&args))
    }

    /// The message `id` with any arguments.
    pub fn t_args(&self, id: &str, args: &[(&str, String)]) -> String {
        let mut fa = FluentArgs::new();
        for (k, v) in args {
            fa.set((*k).to_owned(), FluentValue::from(v.clone()));
        }
        self.i18n.format(self.lang, id, Some(&fa))
    }

    /// The language.
    pub fn lang(&self) -> Language {
        self.lang
    }
}

/// A value that can be an argument of a message.
pub trait ToFluent {
    /// The Fluent value.
    fn to_fluent(&self) -> FluentValue<'static>;
}

impl ToFluent for str {
    fn to_fluent(&self) -> FluentValue<'static> {
        FluentValue::from(self.to_owned())
    }
}
impl ToFluent for String {
    fn to_fluent(&self) -> FluentValue<'static> {
        FluentValue::from(self.clone())
    }
}
impl<T: ToFluent + ?Sized> ToFluent for &T {
    fn to_fluent(&self) -> FluentValue<'static> {
        (**self).to_fluent()
    }
}
macro_rules! to_fluent_number {
    ($($t:ty),*) => {$(
        impl ToFluent for $t {
            fn to_fluent(&self) -> FluentValue<'static> {
                FluentValue::from(*self)
            }
        }
    )*};
}
to_fluent_number!(i32, i64, u32, u64, usize);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_loads_and_cyrillic_is_transliterated() {
        let i18n = I18n::load().unwrap();
        assert_eq!(i18n.tr(Language::SrLatn).t("sign-in"), "Prijava");
        assert_eq!(i18n.tr(Language::SrCyrl).t("sign-in"), "Пријава");
        assert_eq!(i18n.tr(Language::En).t("sign-in"), "Sign in");
    }

    #[test]
    fn placeables_are_not_transliterated() {
        let i18n = I18n::load().unwrap();
        let s = i18n
            .tr(Language::SrCyrl)
            .t1("error-correlation", "id", "req-abc");
        assert!(s.contains("req-abc"), "{s}");
    }

    #[test]
    fn english_and_serbian_define_the_same_messages() {
        let en = I18n::message_ids(Language::En);
        let sr = I18n::message_ids(Language::SrLatn);
        let only_en: Vec<_> = en.iter().filter(|i| !sr.contains(i)).collect();
        let only_sr: Vec<_> = sr.iter().filter(|i| !en.contains(i)).collect();
        assert!(
            only_en.is_empty() && only_sr.is_empty(),
            "only en: {only_en:?}; only sr: {only_sr:?}"
        );
    }
}
