//! Recruitment agencies and the channels they advertise through: canonical forms for matching,
//! name keys that tolerate legal forms, quotes, case and script, and the reasons a match is shown
//! with (issue 7).
//!
//! A citizen reports an offer seen on `https://www.facebook.com/SomePage/` or called from
//! `+381 64 123 4567`; Haven already knows `facebook.com/somepage` and `0641234567`. Every channel
//! is reduced here to one canonical [`Channel::value`], which the store seals and indexes; matching a
//! channel is then an exact lookup. Names cannot be canonicalised that far, so [`compare_names`]
//! scores them and says why, and a human confirms the uncertain ones.

pub mod register;

use serde::{Deserialize, Serialize};

use crate::phone::{self, PhoneError};
use crate::script;

/// The kind of a channel through which an agency advertises or is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    /// A web site (its host).
    Website,
    /// An employer profile on a job portal.
    JobPortal,
    /// A social-media page or profile.
    Social,
    /// A phone number (E.164).
    Phone,
    /// An e-mail address.
    Email,
}

impl ChannelKind {
    /// Every kind, in display order.
    pub const ALL: [ChannelKind; 5] = [
        ChannelKind::Website,
        ChannelKind::JobPortal,
        ChannelKind::Social,
        ChannelKind::Phone,
        ChannelKind::Email,
    ];

    /// The stable code stored in the database and used in message keys.
    pub fn code(self) -> &'static str {
        match self {
            ChannelKind::Website => "website",
            ChannelKind::JobPortal => "job_portal",
            ChannelKind::Social => "social",
            ChannelKind::Phone => "phone",
            ChannelKind::Email => "email",
        }
    }

    /// The kind with this code.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }
}

/// A channel in canonical form: two spellings of the same page, site, number or address give equal
/// channels.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Channel {
    /// What kind of channel.
    pub kind: ChannelKind,
    /// The canonical value (see [`normalise_channel`]).
    pub value: String,
}

/// Why a text cannot be read as a channel.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChannelError {
    /// Nothing was given.
    #[error("the channel is empty")]
    Empty,
    /// The text is too long to be a channel.
    #[error("the channel is too long")]
    TooLong,
    /// The text is not a web address (no host with a dot, or characters a host cannot have).
    #[error("this is not a web address")]
    InvalidUrl,
    /// The text is not an e-mail address.
    #[error("this is not an e-mail address")]
    InvalidEmail,
    /// A social-media or job-portal address without a page or profile in it (`facebook.com/`).
    #[error("the address does not name a page or profile")]
    NoProfile,
    /// The text is not a phone number, or not a valid one.
    #[error("{0}")]
    Phone(#[from] PhoneError),
}

impl ChannelError {
    /// A stable code, for translated messages.
    pub fn code(&self) -> &'static str {
        match self {
            ChannelError::Empty => "channel_empty",
            ChannelError::TooLong => "channel_too_long",
            ChannelError::InvalidUrl => "channel_invalid_url",
            ChannelError::InvalidEmail => "channel_invalid_email",
            ChannelError::NoProfile => "channel_no_profile",
            ChannelError::Phone(e) => e.code(),
        }
    }
}

/// The longest text accepted as a channel.
pub const MAX_CHANNEL_LEN: usize = 500;

/// Reads a channel of any kind: an e-mail address (has `@`, no `/`), a phone number (only digits
/// and phone punctuation), or a web address, which is a social-media page, a job-portal employer
/// profile or a web site according to its host.
///
/// Canonical values:
/// - website: the host, lower-cased, without `www.`, scheme, port, path (`example.rs`);
/// - social: canonical host (`m.`/`www.`/`web.` dropped, `fb.com` → `facebook.com`,
///   `twitter.com` → `x.com`) and the page's path, lower-cased, without trailing slash, query or
///   fragment (`facebook.com/somepage`); `profile.php?id=N` keeps its id;
/// - job portal: the portal's host and the employer profile's path (`linkedin.com/company/acme`);
/// - phone: E.164, national numbers read in `default_region`;
/// - email: trimmed, lower-cased.
pub fn normalise_channel(raw: &str, default_region: &str) -> Result<Channel, ChannelError> {
    let text = checked(raw)?;
    let lower = text.to_lowercase();
    if let Some(address) = lower.strip_prefix("mailto:") {
        return normalise_channel_as(ChannelKind::Email, address, default_region);
    }
    if let Some(number) = lower.strip_prefix("tel:") {
        return normalise_channel_as(ChannelKind::Phone, number, default_region);
    }
    if text.contains('@') && !text.contains('/') {
        return normalise_channel_as(ChannelKind::Email, text, default_region);
    }
    if looks_like_phone(text) {
        return normalise_channel_as(ChannelKind::Phone, text, default_region);
    }
    let url = Url::parse(text)?;
    if let Some(site) = social_site(&url.host) {
        return social(site, &url);
    }
    if let Some(portal) = job_portal(&url.host) {
        return portal_profile(portal, &url);
    }
    Ok(Channel {
        kind: ChannelKind::Website,
        value: url.host,
    })
}

/// Reads a channel of a kind the user chose. A web site keeps only the host of any address; a
/// social page or job-portal profile on a site Haven does not know keeps its host and
/// lower-cased path.
pub fn normalise_channel_as(
    kind: ChannelKind,
    raw: &str,
    default_region: &str,
) -> Result<Channel, ChannelError> {
    let text = checked(raw)?;
    let value = match kind {
        ChannelKind::Phone => {
            let number = text.strip_prefix("tel:").unwrap_or(text);
            phone::e164(number, default_region)?
        }
        ChannelKind::Email => email(text)?,
        ChannelKind::Website => Url::parse(text)?.host,
        ChannelKind::Social => {
            let url = Url::parse(text)?;
            match social_site(&url.host) {
                Some(site) => return social(site, &url),
                None => generic_profile(&url)?,
            }
        }
        ChannelKind::JobPortal => {
            let url = Url::parse(text)?;
            match job_portal(&url.host) {
                Some(portal) => return portal_profile(portal, &url),
                None => generic_profile(&url)?,
            }
        }
    };
    Ok(Channel { kind, value })
}

fn checked(raw: &str) -> Result<&str, ChannelError> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(ChannelError::Empty);
    }
    if text.len() > MAX_CHANNEL_LEN {
        return Err(ChannelError::TooLong);
    }
    Ok(text)
}

fn looks_like_phone(text: &str) -> bool {
    let digits = text.chars().filter(char::is_ascii_digit).count();
    digits >= 6
        && text
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '/' | '(' | ')' | '.'))
}

fn email(text: &str) -> Result<String, ChannelError> {
    let value = text.trim().to_lowercase();
    let (local, domain) = value.rsplit_once('@').ok_or(ChannelError::InvalidEmail)?;
    let host_ok = domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && domain
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '.');
    if local.is_empty() || local.contains('@') || local.chars().any(char::is_whitespace) || !host_ok
    {
        return Err(ChannelError::InvalidEmail);
    }
    Ok(value)
}

/// A web address taken apart: canonical host, the path's segments (as written) and the query.
struct Url {
    host: String,
    segments: Vec<String>,
    query: String,
}

impl Url {
    fn parse(text: &str) -> Result<Url, ChannelError> {
        let mut rest = text.trim();
        if let Some(i) = rest.find("://") {
            let scheme = &rest[..i];
            if scheme.is_empty() || !scheme.chars().all(|c| c.is_ascii_alphabetic()) {
                return Err(ChannelError::InvalidUrl);
            }
            rest = &rest[i + 3..];
        } else if let Some(r) = rest.strip_prefix("//") {
            rest = r;
        }
        let (before_fragment, _) = rest.split_once('#').unwrap_or((rest, ""));
        let (before_query, query) = before_fragment
            .split_once('?')
            .unwrap_or((before_fragment, ""));
        let (authority, path) = match before_query.find('/') {
            Some(i) => (&before_query[..i], &before_query[i..]),
            None => (before_query, ""),
        };
        let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let host = host_port
            .split_once(':')
            .map_or(host_port, |(h, _)| h)
            .trim_end_matches('.')
            .to_lowercase();
        // Every leading `www.` goes (so a value read again comes back the same), but never the
        // last dot: `www.com` is a host of its own.
        let mut host = host.as_str();
        while let Some(rest) = host.strip_prefix("www.").filter(|r| r.contains('.')) {
            host = rest;
        }
        let host = host.to_owned();
        let valid = host.contains('.')
            && host.split('.').all(|label| {
                !label.is_empty()
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_alphanumeric() || c == '-')
            });
        if !valid {
            return Err(ChannelError::InvalidUrl);
        }
        let segments = path
            .split('/')
            .filter(|s| !s.trim().is_empty())
            .map(|s| s.trim().to_owned())
            .collect();
        Ok(Url {
            host,
            segments,
            query: query.to_owned(),
        })
    }

    fn query_param(&self, name: &str) -> Option<&str> {
        self.query.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            (k == name && !v.is_empty()).then_some(v)
        })
    }
}

/// The social networks Haven recognises: canonical host, and how many path segments name a page.
#[derive(Clone, Copy)]
struct Site {
    host: &'static str,
}

fn social_site(host: &str) -> Option<Site> {
    let bare = strip_subdomains(
        host,
        &["m.", "mobile.", "web.", "www.", "touch.", "mbasic."],
    );
    let canonical = match bare {
        "facebook.com" | "fb.com" | "fb.me" => "facebook.com",
        "instagram.com" | "instagr.am" => "instagram.com",
        "twitter.com" | "x.com" => "x.com",
        "tiktok.com" => "tiktok.com",
        "t.me" | "telegram.me" => "t.me",
        "vk.com" => "vk.com",
        "youtube.com" | "youtu.be" => "youtube.com",
        "ok.ru" => "ok.ru",
        "threads.net" => "threads.net",
        _ => return None,
    };
    Some(Site { host: canonical })
}

fn strip_subdomains<'a>(host: &'a str, prefixes: &[&str]) -> &'a str {
    let mut h = host;
    while let Some(rest) = prefixes.iter().find_map(|p| h.strip_prefix(p)) {
        h = rest;
    }
    h
}

fn lower_path(segments: &[String]) -> String {
    segments
        .iter()
        .map(|s| s.to_lowercase())
        .collect::<Vec<_>>()
        .join("/")
}

fn social(site: Site, url: &Url) -> Result<Channel, ChannelError> {
    let segs = &url.segments;
    let first = segs
        .first()
        .map(|s| s.to_lowercase())
        .ok_or(ChannelError::NoProfile)?;
    let keep = if site.host == "facebook.com" {
        if first == "profile.php" {
            let id = url
                .query_param("id")
                .filter(|id| id.chars().all(|c| c.is_ascii_digit()))
                .ok_or(ChannelError::NoProfile)?;
            return Ok(Channel {
                kind: ChannelKind::Social,
                value: format!("facebook.com/profile.php?id={id}"),
            });
        }
        match first.as_str() {
            // facebook.com/groups/123, facebook.com/people/Name/123, facebook.com/pages/Name/123
            "groups" => 2,
            "pages" | "people" | "p" => 3,
            _ => 1,
        }
    } else if site.host == "youtube.com" && matches!(first.as_str(), "c" | "channel" | "user") {
        2
    } else {
        1
    };
    if segs.len() < keep {
        return Err(ChannelError::NoProfile);
    }
    Ok(Channel {
        kind: ChannelKind::Social,
        value: format!("{}/{}", site.host, lower_path(&segs[..keep])),
    })
}

/// The job portals Haven recognises: canonical host, and the path prefix of an employer profile
/// with the number of segments that name the employer (`None`: the whole path).
struct Portal {
    host: &'static str,
    profile_segments: Option<usize>,
}

fn job_portal(host: &str) -> Option<Portal> {
    let bare = strip_subdomains(host, &["m.", "www."]);
    let (canonical, profile_segments) = match bare {
        "poslovi.infostud.com" | "infostud.com" => ("poslovi.infostud.com", None),
        "helloworld.rs" => ("helloworld.rs", Some(2)),
        "poslovi.rs" => ("poslovi.rs", None),
        "joberty.rs" | "joberty.com" => ("joberty.com", Some(2)),
        "linkedin.com" => ("linkedin.com", Some(2)),
        "mojposao.net" => ("mojposao.net", None),
        "posao.hr" => ("posao.hr", None),
        "nsz.gov.rs" => ("nsz.gov.rs", None),
        h if h == "indeed.com" || h.ends_with(".indeed.com") || h.starts_with("indeed.") => {
            ("indeed.com", Some(2))
        }
        _ => return None,
    };
    Some(Portal {
        host: canonical,
        profile_segments,
    })
}

fn portal_profile(portal: Portal, url: &Url) -> Result<Channel, ChannelError> {
    // A LinkedIn person (`/in/name`) is a social profile, not an employer on a job portal.
    if portal.host == "linkedin.com"
        && url
            .segments
            .first()
            .is_some_and(|s| s.eq_ignore_ascii_case("in"))
    {
        return match url.segments.get(1) {
            Some(name) => Ok(Channel {
                kind: ChannelKind::Social,
                value: format!("linkedin.com/in/{}", name.to_lowercase()),
            }),
            None => Err(ChannelError::NoProfile),
        };
    }
    let keep = portal.profile_segments.unwrap_or(url.segments.len());
    if url.segments.is_empty() || url.segments.len() < keep {
        return Err(ChannelError::NoProfile);
    }
    Ok(Channel {
        kind: ChannelKind::JobPortal,
        value: format!("{}/{}", portal.host, lower_path(&url.segments[..keep])),
    })
}

fn generic_profile(url: &Url) -> Result<String, ChannelError> {
    if url.segments.is_empty() {
        return Err(ChannelError::NoProfile);
    }
    Ok(format!("{}/{}", url.host, lower_path(&url.segments)))
}

// ---------------------------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------------------------

/// Legal-form words removed wherever they stand (after folding; `d.o.o.` folds to `doo`).
const LEGAL_FORMS: [&str; 22] = [
    "doo",
    "dooel",
    "jdoo",
    "ad",
    "pr",
    "preduzetnik",
    "preduzetnica",
    "szr",
    "str",
    "sur",
    "sro",
    "gmbh",
    "ltd",
    "llc",
    "inc",
    "srl",
    "spa",
    "ooo",
    "bv",
    "plc",
    "oy",
    "ab",
];

/// Legal-form words that are also ordinary words (`sa` is Serbian "with"): removed only at the end.
const TRAILING_LEGAL_FORMS: [&str; 10] =
    ["sa", "ag", "kg", "od", "kd", "dd", "co", "corp", "as", "se"];

/// Multi-word legal forms spelled out.
const LEGAL_PHRASES: [&[&str]; 4] = [
    &["drustvo", "sa", "ogranicenom", "odgovornoscu"],
    &["drustvo", "s", "ogranicenom", "odgovornoscu"],
    &["akcionarsko", "drustvo"],
    &["limited", "liability", "company"],
];

/// Words too common in agency names to identify one.
const GENERIC_WORDS: [&str; 36] = [
    "agencija",
    "agencije",
    "agency",
    "zaposljavanje",
    "zaposljavanja",
    "zaposlenje",
    "za",
    "i",
    "u",
    "na",
    "sa",
    "od",
    "posredovanje",
    "posredovanja",
    "posredovanju",
    "inostranstvu",
    "inostranstvo",
    "zemlji",
    "radnika",
    "kadrova",
    "ljudske",
    "resurse",
    "the",
    "of",
    "and",
    "for",
    "in",
    "employment",
    "recruitment",
    "recruiting",
    "staffing",
    "services",
    "group",
    "international",
    "personal",
    "personalna",
];

/// The words of a name, folded (Cyrillic to Latin, diacritics, case), with quotes dropped and
/// other punctuation as separators; abbreviations with dots (`d.o.o.`, `a.d.`) become one word.
fn folded_words(name: &str) -> Vec<String> {
    let latin = script::cyrillic_to_latin(name);
    let mut words = Vec::new();
    for chunk in latin
        .split(|c: char| !(c.is_alphanumeric() || c == '.' || is_quote(c) || unicode_combining(c)))
    {
        let parts: Vec<&str> = chunk.split('.').filter(|p| !p.is_empty()).collect();
        let abbreviation = parts.len() > 1 && parts.iter().all(|p| p.chars().count() <= 2);
        if abbreviation {
            let joined: String = parts.concat();
            push_folded(&mut words, &joined);
        } else {
            for p in parts {
                push_folded(&mut words, p);
            }
        }
    }
    merge_single_letters(words)
}

/// Runs of single-letter words become one word: `d. o. o.` → `doo`, `Z & M` → `zm`.
fn merge_single_letters(words: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(words.len());
    let mut run = String::new();
    let mut run_len = 0;
    for w in words {
        if w.chars().count() == 1 {
            run.push_str(&w);
            run_len += 1;
            continue;
        }
        flush_run(&mut out, &mut run, &mut run_len);
        out.push(w);
    }
    flush_run(&mut out, &mut run, &mut run_len);
    out
}

fn flush_run(out: &mut Vec<String>, run: &mut String, run_len: &mut usize) {
    if *run_len > 0 {
        out.push(std::mem::take(run));
    }
    *run_len = 0;
}

fn push_folded(words: &mut Vec<String>, part: &str) {
    let f = script::fold(part);
    if !f.is_empty() {
        words.push(f);
    }
}

fn is_quote(c: char) -> bool {
    matches!(
        c,
        '"' | '\''
            | '`'
            | '´'
            | '‘'
            | '’'
            | '‚'
            | '‛'
            | '“'
            | '”'
            | '„'
            | '‟'
            | '«'
            | '»'
            | '‹'
            | '›'
    )
}

fn unicode_combining(c: char) -> bool {
    ('\u{0300}'..='\u{036F}').contains(&c)
}

fn strip_legal_forms(words: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(words.len());
    let mut i = 0;
    'outer: while i < words.len() {
        for phrase in LEGAL_PHRASES {
            if words.len() >= i + phrase.len()
                && phrase
                    .iter()
                    .zip(&words[i..])
                    .all(|(p, w)| *p == w.as_str())
            {
                i += phrase.len();
                continue 'outer;
            }
        }
        if !LEGAL_FORMS.contains(&words[i].as_str()) {
            out.push(words[i].clone());
        }
        i += 1;
    }
    while out.len() > 1
        && out
            .last()
            .is_some_and(|w| TRAILING_LEGAL_FORMS.contains(&w.as_str()))
    {
        out.pop();
    }
    if out.is_empty() { words } else { out }
}

/// The key two spellings of one business name share: folded (Cyrillic to Latin, diacritics,
/// case), quotes and punctuation removed, legal-form words (d.o.o., doo, a.d., pr, preduzetnik,
/// s.r.o., GmbH, Ltd, LLC, …) removed, single spaces between words.
///
/// `name_key("Агенција „Посао“ д.о.о.") == name_key("AGENCIJA POSAO DOO") == "agencija posao"`.
pub fn name_key(name: &str) -> String {
    strip_legal_forms(folded_words(name)).join(" ")
}

/// The distinct words of [`name_key`] without words common to all agency names (agencija,
/// zapošljavanje, za, i, posredovanje, …): the keys under which candidates are looked up.
pub fn name_tokens(name: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for w in strip_legal_forms(folded_words(name)) {
        if !GENERIC_WORDS.contains(&w.as_str()) && !out.contains(&w) {
            out.push(w);
        }
    }
    out
}

/// How sure a match is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Certainty {
    /// The same agency: applied without asking.
    Certain,
    /// Very likely the same agency: a human confirms.
    Probable,
    /// Perhaps the same agency: a human confirms.
    Possible,
    /// Not a match.
    None,
}

impl Certainty {
    /// Every certainty, surest first.
    pub const ALL: [Certainty; 4] = [
        Certainty::Certain,
        Certainty::Probable,
        Certainty::Possible,
        Certainty::None,
    ];

    /// The stable code.
    pub fn code(self) -> &'static str {
        match self {
            Certainty::Certain => "certain",
            Certainty::Probable => "probable",
            Certainty::Possible => "possible",
            Certainty::None => "none",
        }
    }

    /// The certainty with this code.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.code() == code)
    }

    /// 3 for certain down to 0 for none, to compare and sort.
    pub fn rank(self) -> u8 {
        match self {
            Certainty::Certain => 3,
            Certainty::Probable => 2,
            Certainty::Possible => 1,
            Certainty::None => 0,
        }
    }

    /// Whether a human must confirm a match of this certainty before it is applied.
    pub fn needs_confirmation(self) -> bool {
        matches!(self, Certainty::Probable | Certainty::Possible)
    }
}

/// Why two records are thought to be the same agency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchReason {
    /// The same company registration number (matični broj).
    SameRegistrationNumber,
    /// The same tax number (PIB).
    SameTaxNumber,
    /// The same channel of this kind (exact canonical value).
    SameChannel(ChannelKind),
    /// The same name, ignoring only case, spacing and quotes.
    SameName,
    /// The same name once legal-form words are removed.
    SameNameIgnoringLegalForm,
    /// The same name written in the other script (or with and without diacritics).
    SameNameAcrossScripts,
    /// Similar names (edit distance), in percent.
    SimilarName {
        /// Similarity, 0–100.
        percent: u8,
    },
    /// Names sharing distinctive words.
    SharedWords {
        /// How many.
        count: u8,
    },
}

impl MatchReason {
    /// The stable code, for translated explanations (the numbers are arguments).
    pub fn code(&self) -> &'static str {
        match self {
            MatchReason::SameRegistrationNumber => "same_registration_number",
            MatchReason::SameTaxNumber => "same_tax_number",
            MatchReason::SameChannel(_) => "same_channel",
            MatchReason::SameName => "same_name",
            MatchReason::SameNameIgnoringLegalForm => "same_name_ignoring_legal_form",
            MatchReason::SameNameAcrossScripts => "same_name_across_scripts",
            MatchReason::SimilarName { .. } => "similar_name",
            MatchReason::SharedWords { .. } => "shared_words",
        }
    }

    /// How sure this reason alone makes a match.
    pub fn certainty(&self) -> Certainty {
        match self {
            MatchReason::SameRegistrationNumber
            | MatchReason::SameTaxNumber
            | MatchReason::SameName
            | MatchReason::SameNameAcrossScripts => Certainty::Certain,
            // A shared phone or page is strong evidence but a person's mobile can front several
            // names; a human confirms.
            MatchReason::SameChannel(_) | MatchReason::SameNameIgnoringLegalForm => {
                Certainty::Probable
            }
            MatchReason::SimilarName { percent } if *percent >= SIMILAR_PROBABLE => {
                Certainty::Probable
            }
            MatchReason::SimilarName { .. } | MatchReason::SharedWords { .. } => {
                Certainty::Possible
            }
        }
    }
}

/// The certainty of a match given all its reasons: the surest reason wins.
pub fn certainty_of(reasons: &[MatchReason]) -> Certainty {
    reasons
        .iter()
        .map(MatchReason::certainty)
        .max_by_key(|c| c.rank())
        .unwrap_or(Certainty::None)
}

/// Similarity (percent) at or above which names are a possible match.
pub const SIMILAR_POSSIBLE: u8 = 80;
/// Similarity (percent) at or above which names are a probable match.
pub const SIMILAR_PROBABLE: u8 = 92;

/// How well two names match, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NameMatch {
    /// 0 (nothing in common) to 1 (the same name).
    pub score: f32,
    /// How sure the match is.
    pub certainty: Certainty,
    /// Why (empty when there is no match).
    pub reasons: Vec<MatchReason>,
}

/// Compares a name with a candidate's: same name (ignoring case, spacing, quotes), the same in
/// the other script, the same without legal form, similar (edit distance on the name keys), or
/// sharing distinctive words.
pub fn compare_names(query: &str, candidate: &str) -> NameMatch {
    let surface = |s: &str| -> String {
        s.split(|c: char| c.is_whitespace() || is_quote(c))
            .filter(|w| !w.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
    };
    let none = NameMatch {
        score: 0.0,
        certainty: Certainty::None,
        reasons: Vec::new(),
    };
    let (qs, cs) = (surface(query), surface(candidate));
    if qs.is_empty() || cs.is_empty() {
        return none;
    }
    let single = |reason: MatchReason, score: f32| NameMatch {
        score,
        certainty: reason.certainty(),
        reasons: vec![reason],
    };
    if qs == cs {
        return single(MatchReason::SameName, 1.0);
    }
    let (qw, cw) = (folded_words(query), folded_words(candidate));
    if qw == cw {
        return single(MatchReason::SameNameAcrossScripts, 1.0);
    }
    let (qk, ck) = (name_key(query), name_key(candidate));
    if qk == ck {
        return single(MatchReason::SameNameIgnoringLegalForm, 0.95);
    }
    let mut reasons = Vec::new();
    let (qt, ct) = (name_tokens(query), name_tokens(candidate));
    // Similarity of the distinctive words, so that a long shared "Agencija za zapošljavanje" does
    // not make Alfa and Omega look alike; names of generic words only compare whole keys.
    let (qd, cd) = if qt.is_empty() || ct.is_empty() {
        (qk.clone(), ck.clone())
    } else {
        (qt.join(" "), ct.join(" "))
    };
    let similarity = similarity(&qd, &cd).max(similarity(&sorted_words(&qd), &sorted_words(&cd)));
    let percent = (similarity * 100.0).floor().clamp(0.0, 100.0) as u8;
    if percent >= SIMILAR_POSSIBLE {
        reasons.push(MatchReason::SimilarName { percent });
    }
    let shared = qt.iter().filter(|t| ct.contains(t)).count();
    let union = qt.len() + ct.len() - shared;
    let jaccard = if union == 0 {
        0.0
    } else {
        shared as f32 / union as f32
    };
    if shared > 0 {
        reasons.push(MatchReason::SharedWords {
            count: u8::try_from(shared).unwrap_or(u8::MAX),
        });
    }
    if reasons.is_empty() {
        return NameMatch {
            score: similarity.max(jaccard) * 0.5,
            ..none
        };
    }
    NameMatch {
        score: similarity.max(jaccard).min(0.94),
        certainty: certainty_of(&reasons),
        reasons,
    }
}

fn sorted_words(key: &str) -> String {
    let mut words: Vec<&str> = key.split(' ').collect();
    words.sort_unstable();
    words.join(" ")
}

/// 1 − (Levenshtein distance / length of the longer), on characters.
fn similarity(a: &str, b: &str) -> f32 {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let longest = a.len().max(b.len());
    if longest == 0 {
        return 1.0;
    }
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        current[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    1.0 - previous[b.len()] as f32 / longest as f32
}

/// What the official register says about an agency, as of the register's date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LicenceStatus {
    /// Never checked against a register.
    Unknown,
    /// In the register with a licence in force.
    Licensed,
    /// Not in the register (or no longer in it).
    NotFound,
    /// In the register with its licence revoked.
    Revoked,
}

impl LicenceStatus {
    /// Every status.
    pub const ALL: [LicenceStatus; 4] = [
        LicenceStatus::Unknown,
        LicenceStatus::Licensed,
        LicenceStatus::NotFound,
        LicenceStatus::Revoked,
    ];

    /// The stable code stored in the database.
    pub fn code(self) -> &'static str {
        match self {
            LicenceStatus::Unknown => "unknown",
            LicenceStatus::Licensed => "licensed",
            LicenceStatus::NotFound => "not_found",
            LicenceStatus::Revoked => "revoked",
        }
    }

    /// The status with this code.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }
}

#[cfg(test)]
mod tests;
