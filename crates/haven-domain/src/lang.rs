//! The languages of the staff application and the portal.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A language Haven speaks. Serbian comes in both of its scripts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum Language {
    /// Serbian, Latin script (the default).
    #[default]
    #[serde(rename = "sr-latn")]
    SrLatn,
    /// Serbian, Cyrillic script.
    #[serde(rename = "sr-cyrl")]
    SrCyrl,
    /// English.
    #[serde(rename = "en")]
    En,
}

/// A language code Haven does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown language {0:?}: expected one of sr-latn, sr-cyrl, en")]
pub struct UnknownLanguage(pub String);

impl Language {
    /// Every language, in the order the language switch shows them.
    pub const ALL: [Language; 3] = [Language::SrLatn, Language::SrCyrl, Language::En];

    /// The code used in paths, forms and configuration (`sr-latn`, `sr-cyrl`, `en`).
    pub fn code(self) -> &'static str {
        match self {
            Language::SrLatn => "sr-latn",
            Language::SrCyrl => "sr-cyrl",
            Language::En => "en",
        }
    }

    /// The BCP 47 tag for the `lang` attribute (`sr-Latn`, `sr-Cyrl`, `en`).
    pub fn bcp47(self) -> &'static str {
        match self {
            Language::SrLatn => "sr-Latn",
            Language::SrCyrl => "sr-Cyrl",
            Language::En => "en",
        }
    }

    /// The short label of the language switch, in the language itself.
    pub fn switch_label(self) -> &'static str {
        match self {
            Language::SrLatn => "SR",
            Language::SrCyrl => "ЋИР",
            Language::En => "EN",
        }
    }

    /// The language's name, in the language itself.
    pub fn native_name(self) -> &'static str {
        match self {
            Language::SrLatn => "Srpski (latinica)",
            Language::SrCyrl => "Српски (ћирилица)",
            Language::En => "English",
        }
    }

    /// The best match for an `Accept-Language` header, if any language in it is one of ours.
    pub fn from_accept_language(header: &str) -> Option<Language> {
        let mut best: Option<(f32, Language)> = None;
        for part in header.split(',') {
            let mut pieces = part.trim().split(';');
            let tag = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = pieces
                .find_map(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .and_then(|q| q.parse::<f32>().ok())
                })
                .unwrap_or(1.0);
            let lang = if tag.starts_with("sr-cyrl") {
                Some(Language::SrCyrl)
            } else if tag.starts_with("sr") || tag.starts_with("hr") || tag.starts_with("bs") {
                Some(Language::SrLatn)
            } else if tag.starts_with("en") {
                Some(Language::En)
            } else {
                None
            };
            if let Some(lang) = lang
                && q > 0.0
                && best.is_none_or(|(bq, _)| q > bq)
            {
                best = Some((q, lang));
            }
        }
        best.map(|(_, l)| l)
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Language {
    type Err = UnknownLanguage;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "sr-latn" | "sr" | "sr-latn-rs" => Ok(Language::SrLatn),
            "sr-cyrl" | "sr-cyrl-rs" => Ok(Language::SrCyrl),
            "en" | "en-gb" | "en-us" => Ok(Language::En),
            _ => Err(UnknownLanguage(s.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for l in Language::ALL {
            assert_eq!(l.code().parse::<Language>().unwrap(), l);
            assert_eq!(l.bcp47().parse::<Language>().unwrap(), l);
        }
        assert!("de".parse::<Language>().is_err());
    }

    #[test]
    fn accept_language_picks_highest_quality() {
        assert_eq!(
            Language::from_accept_language("de-DE,en;q=0.8,sr-Latn;q=0.9"),
            Some(Language::SrLatn)
        );
        assert_eq!(
            Language::from_accept_language("sr-Cyrl-RS"),
            Some(Language::SrCyrl)
        );
        assert_eq!(Language::from_accept_language("fr"), None);
        assert_eq!(
            Language::from_accept_language("en-GB,en;q=0.9"),
            Some(Language::En)
        );
    }
}
