//! The administration commands.

pub mod audit;
pub mod check;
pub mod demo;
pub mod keys;
pub mod serve;
pub mod user;

use std::process::ExitCode;
use std::sync::Arc;

use haven_domain::{OsRng, SystemClock};
use haven_store::db::redact_url;
use haven_web::settings::LogFormat;
use haven_web::{Haven, Settings, StartOptions};

/// Sets up logging as configured. Log lines never carry identifying data: handlers log ids and
/// routes, never names, numbers or texts.
pub fn init_logging(settings: &Settings) {
    let filter = tracing_subscriber::EnvFilter::try_new(&settings.log.level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match settings.log.format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// Starts Haven without listening (for the administration commands).
pub async fn open(settings: Settings) -> Result<Haven, String> {
    haven_web::open(
        settings,
        StartOptions {
            clock: Arc::new(SystemClock),
            rng: Arc::new(OsRng),
            master_key_env: std::env::var("HAVEN_MASTER_KEY").ok(),
            pg_schema: None,
            migrate: true,
        },
    )
    .await
    .map_err(|e| e.to_string())
}

/// `haven migrate`.
pub async fn migrate(settings: Settings) -> Result<ExitCode, String> {
    let db = haven_web::bootstrap::open_database(&settings, None, false)
        .await
        .map_err(|e| e.to_string())?;
    let before = db.migration_status().await.map_err(|e| e.to_string())?;
    if !before.unknown.is_empty() {
        return Err(format!(
            "the database has migrations this version of Haven does not know ({:?}): it was written by a newer Haven",
            before.unknown
        ));
    }
    db.migrate()
        .await
        .map_err(|e| format!("cannot migrate: {e}"))?;
    if before.pending.is_empty() {
        println!("The database schema is up to date.");
    } else {
        for (v, d) in &before.pending {
            println!("applied {v} {d}");
        }
    }
    db.close().await;
    Ok(ExitCode::SUCCESS)
}

/// `haven config`.
pub fn print_config(settings: &Settings) -> ExitCode {
    let mut shown = settings.clone();
    shown.database_url = shown.database_url.as_deref().map(redact_url);
    match toml::to_string_pretty(&shown) {
        Ok(text) => {
            println!(
                "# Effective configuration (defaults < haven.toml < HAVEN_* environment < flags)."
            );
            println!(
                "# The master key is never shown: it is read from HAVEN_MASTER_KEY or the key file."
            );
            println!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("haven: cannot print the configuration: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `haven version`.
pub fn version() {
    println!("haven {}", env!("CARGO_PKG_VERSION"));
}
