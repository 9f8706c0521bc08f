//! Haven's configuration, as the running system sees it.
//!
//! The binary layers the sources (defaults < `haven.toml` < `HAVEN_*` environment < flags) and
//! deserialises the result into [`Settings`]; unknown keys are refused by serde, and
//! [`Settings::validate`] refuses values that parse but make no sense, naming the key and what is
//! expected. Secrets (the master key) never live here.

use std::borrow::Cow;
use std::net::SocketAddr;
use std::path::PathBuf;

use haven_domain::Language;
use haven_store::db::{DbLocation, SyncMode};
use serde::{Deserialize, Serialize};

/// Everything Haven can be told.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Where Haven keeps its SQLite database and master key file.
    pub data_dir: PathBuf,
    /// `sqlite://PATH` or `postgres://…`; SQLite in `data_dir` when empty.
    pub database_url: Option<String>,
    /// The address Haven listens on.
    pub listen: SocketAddr,
    /// The address people use to reach Haven (`https://haven.example.org`), for links in
    /// e-mails and the setup link; `http://<listen>` when empty.
    pub public_url: Option<String>,
    /// Whether to believe `X-Forwarded-For` and `X-Forwarded-Proto` from a reverse proxy.
    pub trust_proxy: bool,
    /// The master key file; `<data_dir>/master.key` when empty. `HAVEN_MASTER_KEY` overrides it.
    pub master_key_file: Option<PathBuf>,
    /// The organisation created at first start.
    pub org: OrgSettings,
    /// Staff sessions.
    pub session: SessionSettings,
    /// Request limits.
    pub limits: LimitSettings,
    /// Database pool and durability.
    pub database: DatabaseSettings,
    /// Logging.
    pub log: LogSettings,
    /// Case management.
    pub cases: CaseSettings,
    /// The hotline desk.
    pub desk: DeskSettings,
    /// Sending letters by e-mail.
    pub smtp: SmtpSettings,
    /// The public portal.
    pub portal: PortalSettings,
}

/// How letters are sent by e-mail. Sending is off while `host` is empty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmtpSettings {
    /// The SMTP server; empty: e-mail is off and letters are recorded as sent by other means.
    pub host: String,
    /// Its port.
    pub port: u16,
    /// `tls` (implicit TLS, port 465), `starttls` (port 587) or `none` (a relay on the same
    /// machine or in tests only).
    pub tls: String,
    /// The user name, if the server wants one; the password is `HAVEN_SMTP_PASSWORD` or the
    /// file `smtp_password_file`, never this file.
    pub username: String,
    /// A file holding the password (mode 0600), read at start.
    pub password_file: Option<PathBuf>,
    /// The sender (`Astra <pisarnica@astra.rs>`).
    pub from: String,
    /// Seconds to wait for the server.
    pub timeout_seconds: u32,
    /// The largest message the server takes, in MiB (letter and attachments, before encoding);
    /// a letter whose attachments make it larger is not sent by e-mail but recorded as failed,
    /// with the reason, to be sent by post or by hand.
    pub max_message_mib: u32,
}

impl Default for SmtpSettings {
    fn default() -> Self {
        Self {
            host: String::new(),
            port: 587,
            tls: "starttls".into(),
            username: String::new(),
            password_file: None,
            from: String::new(),
            timeout_seconds: 20,
            max_message_mib: 20,
        }
    }
}

/// The public portal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PortalSettings {
    /// Where the quick exit goes (a neutral site; `/exit` redirects there).
    pub exit_url: String,
    /// The SOS hotline's number as the portal shows it; empty (the default): no number is shown.
    pub sos_number: String,
    /// Whether to keep the visitor's address in a submission's notes (for abuse handling); off.
    pub store_addresses: bool,
    /// Submissions per address in ten minutes after which the arithmetic challenge is asked.
    pub challenge_after: u32,
    /// Submissions per address in ten minutes after which requests are refused (429).
    pub refuse_after: u32,
}

impl Default for PortalSettings {
    fn default() -> Self {
        Self {
            exit_url: "https://www.google.com/search?q=weather".into(),
            sos_number: String::new(),
            store_addresses: false,
            challenge_after: 5,
            refuse_after: 30,
        }
    }
}

/// The hotline desk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeskSettings {
    /// The lines contacts are recorded on (codes; labels `line-<code>` where translated).
    pub lines: Vec<String>,
    /// The largest note of a contact, in KiB.
    pub note_limit_kib: u32,
    /// Seconds between automatic saves of a draft.
    pub autosave_seconds: u32,
    /// The category tree: group code → full category codes (`group.category`); the tree of
    /// DOMAIN.md §3 when empty.
    pub categories: std::collections::BTreeMap<String, Vec<String>>,
    /// Escalation steps per line; the defaults of `haven_domain::desk::default_checklist` for a
    /// line not listed.
    pub checklists: std::collections::BTreeMap<String, Vec<String>>,
    /// Contacts per page of search results.
    pub page_size: u32,
}

impl Default for DeskSettings {
    fn default() -> Self {
        Self {
            lines: vec!["sos".into(), "116000".into(), "portal".into()],
            note_limit_kib: 64,
            autosave_seconds: 5,
            categories: std::collections::BTreeMap::new(),
            checklists: std::collections::BTreeMap::new(),
            page_size: 50,
        }
    }
}

impl DeskSettings {
    /// The category tree: the configured one, or the seeded one (built once, not per form).
    pub fn category_tree(&self) -> Cow<'static, [haven_domain::desk::CategoryGroup]> {
        if self.categories.is_empty() {
            return Cow::Borrowed(haven_domain::desk::default_category_tree());
        }
        self.categories
            .iter()
            .map(|(code, cats)| haven_domain::desk::CategoryGroup {
                code: code.clone(),
                categories: cats.clone(),
            })
            .collect()
    }

    /// The escalation steps of a line.
    pub fn checklist(&self, line: &str) -> Vec<String> {
        self.checklists
            .get(line)
            .cloned()
            .unwrap_or_else(|| haven_domain::desk::default_checklist(line))
    }
}

/// Case management.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CaseSettings {
    /// Whether closing a case needs a supervisor's approval.
    pub closure_needs_approval: bool,
    /// Days without activity after which the home page lists a case as quiet.
    pub inactive_after_days: u32,
    /// The largest document a person may upload, in MiB.
    pub upload_limit_mib: u32,
    /// How long a break-the-glass grant lasts, in hours.
    pub break_glass_hours: u32,
    /// Escalation timers per line (`116000`, `sos`, `portal`).
    pub escalation: std::collections::BTreeMap<String, EscalationSettings>,
}

/// The escalation timers of one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct EscalationSettings {
    /// Hours after opening by which a police report must be recorded.
    pub police_report_hours: Option<u32>,
    /// Hours the family may go without contact.
    pub family_contact_hours: Option<u32>,
}

impl Default for CaseSettings {
    fn default() -> Self {
        let mut escalation = std::collections::BTreeMap::new();
        escalation.insert(
            "116000".to_owned(),
            EscalationSettings {
                police_report_hours: Some(2),
                family_contact_hours: Some(24),
            },
        );
        Self {
            closure_needs_approval: true,
            inactive_after_days: 14,
            upload_limit_mib: 20,
            break_glass_hours: 4,
            escalation,
        }
    }
}

impl CaseSettings {
    /// The escalation rules of a line.
    pub fn rules(&self, line: haven_domain::cases::Line) -> haven_domain::cases::EscalationRules {
        let e = self
            .escalation
            .get(line.code())
            .copied()
            .unwrap_or_default();
        haven_domain::cases::EscalationRules {
            police_report_hours: e.police_report_hours,
            family_contact_hours: e.family_contact_hours,
        }
    }

    /// The upload limit in bytes.
    pub fn upload_limit_bytes(&self) -> usize {
        self.upload_limit_mib as usize * 1024 * 1024
    }
}

/// The organisation created at first start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OrgSettings {
    /// Its name.
    pub name: String,
    /// Its short name for sign-in when several organisations share a platform.
    pub slug: String,
    /// Its time zone.
    pub time_zone: String,
    /// Its default language.
    pub language: Language,
    /// The region for phone numbers typed without a country code.
    pub phone_region: String,
}

/// Staff sessions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionSettings {
    /// Minutes of inactivity after which a session ends.
    pub idle_timeout_minutes: u32,
    /// Hours after which a session ends however active it is.
    pub absolute_lifetime_hours: u32,
    /// Hours a setup link or invitation stays valid.
    pub link_lifetime_hours: u32,
}

/// Request limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitSettings {
    /// Largest request body for ordinary forms and API calls, in KiB.
    pub body_kib: u32,
    /// Seconds after which a request is abandoned.
    pub request_timeout_seconds: u32,
    /// Failed sign-ins from one address within 15 minutes after which that address is refused
    /// before any password is checked (raise it for offices behind one address, or for a
    /// scanner run against a test instance).
    pub failed_sign_ins_per_address: u32,
}

/// Database pool and durability.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSettings {
    /// Most connections in the pool.
    pub max_connections: u32,
    /// SQLite only: `full` (survives power loss) or `normal` (survives a crash of the process).
    pub sqlite_synchronous: SyncMode,
}

/// Logging.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSettings {
    /// `text` or `json`.
    pub format: LogFormat,
    /// A `tracing` filter (`info`, `haven=debug,info`).
    pub level: String,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./haven-data"),
            database_url: None,
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: None,
            trust_proxy: false,
            master_key_file: None,
            org: OrgSettings::default(),
            session: SessionSettings::default(),
            limits: LimitSettings::default(),
            database: DatabaseSettings::default(),
            log: LogSettings::default(),
            cases: CaseSettings::default(),
            desk: DeskSettings::default(),
            smtp: SmtpSettings::default(),
            portal: PortalSettings::default(),
        }
    }
}

impl Default for OrgSettings {
    fn default() -> Self {
        Self {
            name: "Haven".into(),
            slug: "haven".into(),
            time_zone: "Europe/Belgrade".into(),
            language: Language::SrLatn,
            phone_region: "RS".into(),
        }
    }
}

impl Default for SessionSettings {
    fn default() -> Self {
        Self {
            idle_timeout_minutes: 30,
            absolute_lifetime_hours: 12,
            link_lifetime_hours: 24,
        }
    }
}

impl Default for LimitSettings {
    fn default() -> Self {
        Self {
            body_kib: 1024,
            request_timeout_seconds: 30,
            failed_sign_ins_per_address: 20,
        }
    }
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            max_connections: 8,
            sqlite_synchronous: SyncMode::Full,
        }
    }
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            format: LogFormat::Text,
            level: "info".into(),
        }
    }
}

/// A configuration value that makes no sense.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration key `{key}` {problem}")]
pub struct SettingsError {
    /// The key, dotted (`session.idle_timeout_minutes`).
    pub key: &'static str,
    /// What is expected.
    pub problem: String,
}

fn bad(key: &'static str, problem: impl Into<String>) -> SettingsError {
    SettingsError {
        key,
        problem: problem.into(),
    }
}

impl Settings {
    /// Refuses values that parse but cannot work.
    pub fn validate(&self) -> Result<(), SettingsError> {
        if let Some(url) = &self.database_url {
            DbLocation::parse(url).map_err(|e| bad("database_url", format!("is invalid: {e}")))?;
        }
        if let Some(url) = &self.public_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(bad("public_url", "must start with http:// or https://"));
        }
        if self.org.name.trim().is_empty() {
            return Err(bad("org.name", "must not be empty"));
        }
        if !haven_store::orgs::valid_slug(&self.org.slug) {
            return Err(bad(
                "org.slug",
                "must be 2 to 40 lower-case letters, digits or hyphens",
            ));
        }
        if self.org.time_zone.parse::<chrono_tz::Tz>().is_err() {
            return Err(bad(
                "org.time_zone",
                format!(
                    "must be an IANA time zone such as Europe/Belgrade, not {:?}",
                    self.org.time_zone
                ),
            ));
        }
        if self.org.phone_region.len() != 2
            || !self
                .org
                .phone_region
                .chars()
                .all(|c| c.is_ascii_uppercase())
        {
            return Err(bad(
                "org.phone_region",
                "must be a two-letter ISO 3166 country code in capitals, such as RS",
            ));
        }
        if !(5..=24 * 60).contains(&self.session.idle_timeout_minutes) {
            return Err(bad(
                "session.idle_timeout_minutes",
                "must be between 5 and 1440",
            ));
        }
        if !(1..=72).contains(&self.session.absolute_lifetime_hours) {
            return Err(bad(
                "session.absolute_lifetime_hours",
                "must be between 1 and 72",
            ));
        }
        if !(1..=24 * 14).contains(&self.session.link_lifetime_hours) {
            return Err(bad(
                "session.link_lifetime_hours",
                "must be between 1 and 336",
            ));
        }
        if !(16..=1024 * 1024).contains(&self.limits.body_kib) {
            return Err(bad("limits.body_kib", "must be between 16 and 1048576"));
        }
        if !(1..=512).contains(&self.cases.upload_limit_mib) {
            return Err(bad("cases.upload_limit_mib", "must be between 1 and 512"));
        }
        if self.desk.lines.is_empty()
            || self.desk.lines.iter().any(|l| {
                l.is_empty()
                    || l.len() > 20
                    || !l
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            })
        {
            return Err(bad(
                "desk.lines",
                "must list at least one line, each a code of letters, digits, - or _",
            ));
        }
        if !(1..=1024).contains(&self.desk.note_limit_kib) {
            return Err(bad("desk.note_limit_kib", "must be between 1 and 1024"));
        }
        if !(1..=300).contains(&self.desk.autosave_seconds) {
            return Err(bad("desk.autosave_seconds", "must be between 1 and 300"));
        }
        if !["tls", "starttls", "none"].contains(&self.smtp.tls.as_str()) {
            return Err(bad("smtp.tls", "must be tls, starttls or none"));
        }
        if !self.smtp.host.is_empty() && self.smtp.from.is_empty() {
            return Err(bad("smtp.from", "must be set when smtp.host is"));
        }
        if !(1..=1000).contains(&self.desk.page_size) {
            return Err(bad("desk.page_size", "must be between 1 and 1000"));
        }
        if self.desk.categories.iter().any(|(g, cats)| {
            cats.is_empty() || cats.iter().any(|c| !c.starts_with(&format!("{g}.")))
        }) {
            return Err(bad(
                "desk.categories",
                "each group must list its categories as group.category codes",
            ));
        }
        if !(1..=72).contains(&self.cases.break_glass_hours) {
            return Err(bad("cases.break_glass_hours", "must be between 1 and 72"));
        }
        if !(1..=365).contains(&self.cases.inactive_after_days) {
            return Err(bad(
                "cases.inactive_after_days",
                "must be between 1 and 365",
            ));
        }
        for (line, e) in &self.cases.escalation {
            if haven_domain::cases::Line::from_code(line).is_none() {
                return Err(bad(
                    "cases.escalation",
                    format!("names an unknown line {line:?}: expected sos, 116000 or portal"),
                ));
            }
            for h in [e.police_report_hours, e.family_contact_hours]
                .into_iter()
                .flatten()
            {
                if !(1..=24 * 30).contains(&h) {
                    return Err(bad("cases.escalation", "hours must be between 1 and 720"));
                }
            }
        }
        if !(1..=3600).contains(&self.limits.request_timeout_seconds) {
            return Err(bad(
                "limits.request_timeout_seconds",
                "must be between 1 and 3600",
            ));
        }
        if !(1..=1000).contains(&self.database.max_connections) {
            return Err(bad(
                "database.max_connections",
                "must be between 1 and 1000",
            ));
        }
        if tracing_filter_ok(&self.log.level).is_err() {
            return Err(bad(
                "log.level",
                "must be a log filter such as info or haven=debug,info",
            ));
        }
        Ok(())
    }

    /// Where the database is.
    pub fn database_location(&self) -> DbLocation {
        match &self.database_url {
            Some(url) => DbLocation::parse(url)
                .unwrap_or_else(|_| DbLocation::Sqlite(self.data_dir.join("haven.db"))),
            None => DbLocation::Sqlite(self.data_dir.join("haven.db")),
        }
    }

    /// The master key file.
    pub fn master_key_path(&self) -> PathBuf {
        self.master_key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("master.key"))
    }

    /// The address people use to reach Haven, without a trailing slash.
    pub fn public_base_url(&self) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("http://{}", self.listen),
        }
    }

    /// Whether Haven is reached over TLS (so cookies get `Secure`).
    pub fn served_over_tls(&self) -> bool {
        self.public_base_url().starts_with("https://")
    }
}

fn tracing_filter_ok(s: &str) -> Result<(), ()> {
    let valid = !s.trim().is_empty()
        && s.split(',').all(|part| {
            let level = part
                .rsplit('=')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            let target_ok = part.split('=').next().is_some_and(|t| {
                t.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':' || c == '-')
            });
            target_ok
                && (!part.contains('=')
                    || ["trace", "debug", "info", "warn", "error", "off"].contains(&level.as_str()))
        });
    if valid { Ok(()) } else { Err(()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        Settings::default().validate().unwrap();
    }

    #[test]
    fn bad_values_name_their_key() {
        let mut s = Settings::default();
        s.org.time_zone = "Mars/Olympus".into();
        assert_eq!(s.validate().unwrap_err().key, "org.time_zone");
        let mut s = Settings::default();
        s.session.idle_timeout_minutes = 0;
        assert_eq!(
            s.validate().unwrap_err().key,
            "session.idle_timeout_minutes"
        );
        let s = Settings {
            database_url: Some("mysql://x".into()),
            ..Settings::default()
        };
        assert_eq!(s.validate().unwrap_err().key, "database_url");
    }
}
