//! Where the settings come from: defaults < `haven.toml` < `HAVEN_*` environment < flags.

use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use haven_web::Settings;
use serde::Serialize;

/// Settings given as flags (highest precedence); only those set are applied.
#[derive(Debug, Default, Clone, Serialize, clap::Args)]
pub struct SettingFlags {
    /// The data folder [default: ./haven-data]
    #[arg(long, global = true, value_name = "DIR")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    /// sqlite://PATH or postgres://… [default: SQLite in the data folder]
    #[arg(long, global = true, value_name = "URL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    /// The address to listen on [default: 127.0.0.1:8080]
    #[arg(long, global = true, value_name = "ADDR")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    /// The address people use to reach Haven, e.g. https://haven.example.org
    #[arg(long, global = true, value_name = "URL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
}

/// Environment variables that are not settings: secrets read separately, and the test suite's.
const NOT_SETTINGS: &[&str] = &["master_key", "config", "test_database_url", "test_browser"];

/// Loads the settings; the error is one sentence that names the key and what is expected.
pub fn load(config_file: Option<&Path>, flags: &SettingFlags) -> Result<Settings, String> {
    let mut figment = Figment::from(Serialized::defaults(Settings::default()));
    let explicit = config_file
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os("HAVEN_CONFIG").map(PathBuf::from));
    match explicit {
        Some(path) => {
            if !path.is_file() {
                return Err(format!(
                    "the configuration file {} does not exist",
                    path.display()
                ));
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        None => {
            if Path::new("haven.toml").is_file() {
                figment = figment.merge(Toml::file_exact("haven.toml"));
            }
        }
    }
    figment = figment
        .merge(
            Env::prefixed("HAVEN_")
                .split("__")
                // The key arrives as written in the environment (HAVEN_MASTER_KEY → MASTER_KEY):
                // compare without regard to case.
                .filter(|k| {
                    !NOT_SETTINGS
                        .iter()
                        .any(|n| k.as_str().eq_ignore_ascii_case(n))
                }),
        )
        .merge(Serialized::defaults(flags));
    let settings: Settings = figment.extract().map_err(describe)?;
    settings.validate().map_err(|e| e.to_string())?;
    Ok(settings)
}

fn describe(error: figment::Error) -> String {
    let mut parts = Vec::new();
    for e in error {
        let key = e.path.join(".");
        let source = e.metadata.as_ref().map(|m| {
            let name = m.name.to_string();
            match &m.source {
                Some(figment::Source::File(p)) => format!("{name} {}", p.display()),
                _ => name,
            }
        });
        let what = match &e.kind {
            figment::error::Kind::UnknownField(field, expected) => {
                let full = if key.ends_with(field.as_str()) {
                    key.clone()
                } else {
                    join_key(&key, field)
                };
                format!(
                    "unknown key `{full}`; expected one of: {}",
                    expected.join(", ")
                )
            }
            other => {
                if key.is_empty() {
                    other.to_string()
                } else {
                    format!("configuration key `{key}`: {other}")
                }
            }
        };
        parts.push(match source {
            Some(s) => format!("{what} (from {s})"),
            None => what,
        });
    }
    parts.join("; ")
}

fn join_key(path: &str, field: &str) -> String {
    if path.is_empty() {
        field.to_owned()
    } else {
        format!("{path}.{field}")
    }
}
