//! What the binary's test files share: running `haven` in a data folder, and reaching the
//! SQLite file behind its back.

// Not every test file uses every helper.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use haven_store::Db;
use haven_store::db::{DbLocation, DbOptions};
use sqlx::{Connection, SqliteConnection};

/// A `haven` command run in `dir`, with nothing inherited that would change its behaviour.
pub fn haven(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_haven"));
    c.current_dir(dir)
        .env_remove("HAVEN_MASTER_KEY")
        .env_remove("HAVEN_CONFIG")
        .env("HAVEN_LOG__LEVEL", "warn");
    c
}

/// Runs a command to the end.
pub fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("run haven")
}

/// Standard output and error together.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Runs `haven ARGS` and expects it to succeed.
pub fn ok(dir: &Path, args: &[&str]) -> String {
    let out = run(haven(dir).args(args));
    assert!(out.status.success(), "haven {args:?}: {}", text(&out));
    text(&out)
}

/// Runs `haven ARGS` and expects it to fail.
pub fn fails(dir: &Path, args: &[&str]) -> String {
    let out = run(haven(dir).args(args));
    assert!(
        !out.status.success(),
        "haven {args:?} should fail: {}",
        text(&out)
    );
    text(&out)
}

/// The SQLite file of the data folder in `dir`.
pub fn db_path(dir: &Path) -> PathBuf {
    dir.join("haven-data/haven.db")
}

/// The master key file of the data folder in `dir`.
pub fn key_path(dir: &Path) -> PathBuf {
    dir.join("haven-data/master.key")
}

/// A fresh data folder with demo staff and people (the default organisation).
pub fn demo(dir: &Path, size: &str) {
    let t = ok(dir, &["demo", "--size", size]);
    assert!(t.contains(" people"), "{t}");
}

/// The database of the data folder in `dir`, opened directly.
pub async fn open_db(dir: &Path) -> Db {
    Db::connect(&DbLocation::Sqlite(db_path(dir)), &DbOptions::default())
        .await
        .unwrap()
}

/// Runs SQL on the database file directly, as someone with access to the disk could.
pub async fn tamper(dir: &Path, statements: &[&str]) {
    let url = format!("sqlite://{}", db_path(dir).display());
    let mut c = SqliteConnection::connect(&url).await.unwrap();
    for s in statements {
        sqlx::raw_sql(sqlx::AssertSqlSafe(s.to_string()))
            .execute(&mut c)
            .await
            .unwrap();
    }
    c.close().await.unwrap();
}

/// A runtime for the async parts of a test.
pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().unwrap()
}
