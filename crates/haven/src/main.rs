//! `haven`: one binary for the staff application, the public portal, the JSON API and the
//! administration commands.

mod commands;
mod config;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::SettingFlags;

/// Haven: hotline desk, case management and public portal for organisations that fight human
/// trafficking and look for missing children.
#[derive(Debug, Parser)]
#[command(name = "haven", version, propagate_version = true)]
struct Cli {
    /// A configuration file [default: ./haven.toml if present; or HAVEN_CONFIG]
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(flatten)]
    flags: SettingFlags,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run Haven (the default): migrate the database, then serve until stopped.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Check the configuration, data folder, key file, database, migrations, organisation keys,
    /// encrypted fields and audit chains; exit non-zero if anything is wrong.
    Check,
    /// Print the effective configuration (secrets hidden).
    Config,
    /// Manage staff accounts.
    #[command(subcommand)]
    User(commands::user::UserCommand),
    /// Check, rotate and replace the keys that protect identifying data.
    #[command(subcommand)]
    Keys(commands::keys::KeysCommand),
    /// Verify the audit log's hash chains and export signed checkpoints of them.
    #[command(subcommand)]
    Audit(commands::audit::AuditCommand),
    /// Fill the database with synthetic, clearly fake data for demonstrations and benchmarks.
    Demo(commands::demo::DemoArgs),
    /// Print the version and the database schema version this binary expects.
    Version,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Serve);
    if let Command::Version = command {
        commands::version();
        return ExitCode::SUCCESS;
    }
    let settings = match config::load(cli.config.as_deref(), &cli.flags) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("haven: {e}");
            return ExitCode::from(2);
        }
    };
    if let Command::Config = command {
        return commands::print_config(&settings);
    }
    commands::init_logging(&settings);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("haven: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match command {
            Command::Serve => commands::serve::run(settings).await,
            Command::Migrate => commands::migrate(settings).await,
            Command::Check => commands::check::run(settings).await,
            Command::User(cmd) => commands::user::run(settings, cmd).await,
            Command::Keys(cmd) => commands::keys::run(settings, cmd).await,
            Command::Audit(cmd) => commands::audit::run(settings, cmd).await,
            Command::Demo(args) => commands::demo::run(settings, args).await,
            Command::Config | Command::Version => Ok(ExitCode::SUCCESS),
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("haven: {e}");
            ExitCode::FAILURE
        }
    }
}
