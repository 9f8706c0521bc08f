//! Starting Haven: the data folder, the master key, the database, the first organisation and
//! the first administrator's setup link. Shared by `haven serve`, the admin commands and the
//! testkit, so tests start exactly what users start.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use haven_crypto::error::KeyFileError;
use haven_crypto::keys::MasterKey;
use haven_crypto::password::PasswordHasher;
use haven_domain::{Clock, OrgId, SecureRng};
use haven_store::db::{DbLocation, DbOptions};
use haven_store::links::LinkPurpose;
use haven_store::orgs::{self, Org};
use haven_store::{Db, StoreError, institutions, users};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::i18n::{I18n, I18nError};
use crate::keys::Keyrings;
use crate::settings::{Settings, SettingsError};
use crate::state::{AppState, Inner};

/// Why Haven cannot start; each says in one sentence what is wrong.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A configuration value makes no sense.
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// The data folder cannot be used.
    #[error("the data folder {path} cannot be used: {reason}")]
    DataDir {
        /// The folder.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The master key cannot be used.
    #[error(transparent)]
    KeyFile(#[from] KeyFileError),
    /// The master key in the environment is malformed.
    #[error("HAVEN_MASTER_KEY is not a master key: {0}")]
    KeyEnv(String),
    /// The key file is missing but the database holds data encrypted under some key.
    #[error(
        "the master key file {0} is missing, but the database already holds data: restore the key file from your backup (a new key could not read anything)"
    )]
    KeyMissing(PathBuf),
    /// The database cannot be opened.
    #[error("cannot open the database at {location}: {reason}")]
    Database {
        /// Where (without credentials).
        location: String,
        /// Why.
        reason: String,
    },
    /// The migrations failed.
    #[error("cannot bring the database schema up to date: {0}")]
    Migrate(String),
    /// The translations are broken (a build problem).
    #[error(transparent)]
    I18n(#[from] I18nError),
    /// Something failed in the store while setting up.
    #[error("database error while starting: {0}")]
    Store(#[from] StoreError),
    /// The organisation keys cannot be used with this master key (the message says why in one
    /// sentence: "the master key does not match this database (fingerprint …, the database
    /// expects …)").
    #[error(transparent)]
    Keys(StoreError),
    /// The operating system refused to start the password-hashing threads.
    #[error("cannot start the password-hashing threads: {0}")]
    Threads(String),
}

/// What starting needs besides the settings.
pub struct StartOptions {
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// The random generator.
    pub rng: Arc<dyn SecureRng>,
    /// The master key from the environment (`HAVEN_MASTER_KEY`), overriding the key file.
    pub master_key_env: Option<String>,
    /// A PostgreSQL schema (for test isolation).
    pub pg_schema: Option<String>,
    /// Whether to apply pending migrations (`haven serve` does; `haven check` does not).
    pub migrate: bool,
}

/// A started Haven.
pub struct Haven {
    /// The state handlers share.
    pub state: AppState,
}

/// Makes sure the data folder exists (mode 0700) and is writable.
pub fn prepare_data_dir(dir: &Path) -> Result<(), StartError> {
    let err = |reason: String| StartError::DataDir {
        path: dir.to_owned(),
        reason,
    };
    if !dir.exists() {
        std::fs::create_dir_all(dir).map_err(|e| err(e.to_string()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                .map_err(|e| err(e.to_string()))?;
        }
    }
    if !dir.is_dir() {
        return Err(err("it is not a folder".into()));
    }
    let probe = dir.join(".haven-write-test");
    std::fs::write(&probe, b"ok").map_err(|e| err(format!("it is not writable ({e})")))?;
    std::fs::remove_file(&probe).map_err(|e| err(format!("it is not writable ({e})")))?;
    Ok(())
}

/// Opens the database and, if asked, migrates it.
pub async fn open_database(
    settings: &Settings,
    pg_schema: Option<String>,
    migrate: bool,
) -> Result<Db, StartError> {
    let location = settings.database_location();
    let opts = DbOptions {
        max_connections: settings.database.max_connections,
        sqlite_sync: settings.database.sqlite_synchronous,
        pg_schema,
        ..DbOptions::default()
    };
    if let DbLocation::Sqlite(path) = &location
        && let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
    {
        prepare_data_dir(parent)?;
    }
    if let DbLocation::Sqlite(path) = &location {
        create_private_file(path).map_err(|e| StartError::DataDir {
            path: path.clone(),
            reason: e.to_string(),
        })?;
    }
    let db = Db::connect(&location, &opts)
        .await
        .map_err(|e| StartError::Database {
            location: location.redacted(),
            reason: one_line(&e.to_string()),
        })?;
    if migrate {
        db.migrate()
            .await
            .map_err(|e| StartError::Migrate(one_line(&e.to_string())))?;
    }
    Ok(db)
}

/// Creates an empty file readable only by its owner, if it does not exist yet. SQLite gives its
/// WAL and shared-memory files the permissions of the database file, so all three stay private.
fn create_private_file(path: &Path) -> std::io::Result<()> {
    if path.exists() {
        return Ok(());
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

fn one_line(s: &str) -> String {
    s.lines().next().unwrap_or(s).trim().to_owned()
}

/// Loads the master key: from the environment, from the key file, or — on a database that holds
/// no organisation yet — from a new key file created with mode 0600.
pub fn load_master_key(
    settings: &Settings,
    env: Option<&str>,
    database_is_new: bool,
    rng: &dyn SecureRng,
) -> Result<MasterKey, StartError> {
    if let Some(v) = env.filter(|v| !v.trim().is_empty()) {
        return MasterKey::from_encoded(v).map_err(|e| StartError::KeyEnv(e.to_string()));
    }
    let path = settings.master_key_path();
    if path.exists() {
        return Ok(MasterKey::load_file(&path)?);
    }
    if !database_is_new {
        return Err(StartError::KeyMissing(path));
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        prepare_data_dir(parent)?;
    }
    Ok(MasterKey::create_file(&path, rng)?)
}

fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            // Several apps in one test process share one recorder; only the first installs it.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// Starts everything but the listener.
pub async fn open(settings: Settings, opts: StartOptions) -> Result<Haven, StartError> {
    settings.validate()?;
    let db = open_database(&settings, opts.pg_schema.clone(), opts.migrate).await?;
    let existing = orgs::list(&db).await?;
    let master = load_master_key(
        &settings,
        opts.master_key_env.as_deref(),
        existing.is_empty(),
        opts.rng.as_ref(),
    )?;
    let i18n = I18n::load()?;
    let passwords = crate::passwords::Passwords::per_core(PasswordHasher::default())
        .map_err(|e| StartError::Threads(e.to_string()))?;
    let dummy_password_hash = passwords
        .hasher()
        .hash("haven: no such account", opts.rng.as_ref())
        .map_err(|e| StartError::KeyEnv(e.to_string()))?;
    // Refuse a wrong master key before anything is written with it.
    haven_store::keys::check_master(&db, &master)
        .await
        .map_err(StartError::Keys)?;
    let default_org = match existing.first() {
        Some(org) => org.id,
        None => {
            create_first_org(
                &db,
                &settings,
                &master,
                opts.clock.as_ref(),
                opts.rng.as_ref(),
            )
            .await?
        }
    };
    // Organisations made before organisation keys existed get theirs now.
    haven_store::keys::ensure_for_all_orgs(&db, &master, opts.clock.now(), opts.rng.as_ref())
        .await?;
    let key_file = opts
        .master_key_env
        .as_deref()
        .is_none_or(|v| v.trim().is_empty())
        .then(|| settings.master_key_path());
    let keys = Keyrings::load(db.clone(), opts.clock.clone(), master, key_file)
        .await
        .map_err(StartError::Keys)?;
    let portal = crate::portal::Shield::new(opts.rng.as_ref());
    let state = AppState::new(Inner {
        portal,
        settings,
        db,
        clock: opts.clock,
        rng: opts.rng,
        i18n,
        keys,
        passwords,
        metrics: metrics_handle(),
        dummy_password_hash,
        default_org,
    });
    Ok(Haven { state })
}

async fn create_first_org(
    db: &Db,
    settings: &Settings,
    master: &MasterKey,
    clock: &dyn Clock,
    rng: &dyn SecureRng,
) -> Result<OrgId, StartError> {
    let ids = haven_domain::IdGen::new(clock, rng);
    let now = clock.now();
    let org = Org {
        id: ids.id(),
        slug: settings.org.slug.clone(),
        name: settings.org.name.clone(),
        time_zone: settings.org.time_zone.clone(),
        default_language: settings.org.language,
        phone_region: settings.org.phone_region.clone(),
        created_at: now,
    };
    let mut tx = db.begin().await?;
    orgs::insert(&mut tx, &org).await?;
    haven_store::keys::create_for_org(&mut tx, master, org.id, now, rng).await?;
    institutions::seed_defaults(&mut tx, org.id, &ids, now).await?;
    tx.commit().await?;
    tracing::info!(org = %org.id, "created the organisation");
    Ok(org.id)
}

/// While the default organisation has no active administrator, issues a fresh setup link (and
/// withdraws earlier ones) at every start, so a lost link is replaced by restarting Haven.
pub async fn ensure_setup_link(state: &AppState) -> Result<Option<String>, StartError> {
    if users::count_active_admins(&state.db, state.default_org).await? > 0 {
        return Ok(None);
    }
    let mut tx = state.db.begin().await?;
    let link = crate::staff::access::issue_link(
        state,
        &mut tx,
        state.default_org,
        LinkPurpose::Setup,
        None,
        None,
    )
    .await
    .map_err(|e| StartError::Store(StoreError::Config(e.to_string())))?;
    tx.commit().await?;
    Ok(Some(link))
}
