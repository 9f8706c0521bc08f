//! Haven's test kit: a whole Haven on 127.0.0.1:0 with a fresh database of either backend, and a
//! client that behaves like a browser (cookies, CSRF tokens read from the page).
//!
//! Every HTTP test is a story written once and run on both backends with [`conformance!`]:
//! SQLite always, PostgreSQL when `HAVEN_TEST_DATABASE_URL` is set (each test in its own schema,
//! dropped afterwards). Without it the PostgreSQL runs are reported as ignored, with the reason.

// This crate exists to fail tests loudly: a panic here is a failed test with its reason.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use haven_domain::validate::{DisplayName, EmailAddress};
use haven_domain::{Clock, ManualClock, OsRng, Role, SystemClock, UserId};
use haven_store::Backend;
use haven_store::users::{self, NewUser, UserStatus};
use haven_web::{AppState, Settings, StartOptions};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use tokio::sync::oneshot;

pub use reqwest;
pub use tokio;

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestBackend {
    /// A fresh SQLite file in a temporary folder.
    Sqlite,
    /// A fresh schema in the PostgreSQL of `HAVEN_TEST_DATABASE_URL`.
    Postgres,
}

/// Whether the PostgreSQL half of the suite was switched on at build time.
pub const POSTGRES_ON: bool = cfg!(haven_pg);
/// Whether the browser half of the suite was switched on at build time.
pub const BROWSER_ON: bool = cfg!(haven_browser);

/// Runs an async story on SQLite and (when switched on) PostgreSQL.
///
/// ```ignore
/// haven_testkit::conformance!(async fn health_answers(backend) {
///     let app = TestApp::spawn(backend).await;
///     assert_eq!(app.client().get("/healthz").await.status, 200);
/// });
/// ```
#[macro_export]
macro_rules! conformance {
    ($(#[$meta:meta])* async fn $name:ident($backend:ident) $body:block) => {
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            async fn story($backend: $crate::TestBackend) $body
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                story($crate::TestBackend::Sqlite).await
            }
            $crate::__postgres_test! {
                async fn postgres() {
                    story($crate::TestBackend::Postgres).await
                }
            }
        }
    };
}

#[cfg(haven_pg)]
#[doc(hidden)]
#[macro_export]
macro_rules! __postgres_test {
    ($($item:tt)*) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        $($item)*
    };
}

#[cfg(not(haven_pg))]
#[doc(hidden)]
#[macro_export]
macro_rules! __postgres_test {
    ($($item:tt)*) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        #[ignore = "PostgreSQL tests are off: set HAVEN_TEST_DATABASE_URL (see README) to run them"]
        $($item)*
    };
}

/// Marks a test that needs PostgreSQL: ignored, with the reason, unless
/// `HAVEN_TEST_DATABASE_URL` was set.
#[macro_export]
macro_rules! postgres_test {
    ($($item:tt)*) => {
        $crate::__postgres_test! { $($item)* }
    };
}

/// Marks a browser test: ignored, with the reason, unless `HAVEN_TEST_BROWSER` was set.
#[cfg(haven_browser)]
#[macro_export]
macro_rules! browser_test {
    ($($item:tt)*) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        $($item)*
    };
}

/// Marks a browser test: ignored, with the reason, unless `HAVEN_TEST_BROWSER` was set.
#[cfg(not(haven_browser))]
#[macro_export]
macro_rules! browser_test {
    ($($item:tt)*) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        #[ignore = "browser tests are off: set HAVEN_TEST_BROWSER=1 (needs chromium and chromedriver; see README)"]
        $($item)*
    };
}

/// A PostgreSQL schema that is dropped when the test ends, even when it fails.
struct PgSchema {
    url: String,
    name: String,
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        let url = self.url.clone();
        let sql = format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", self.name);
        // Drop runs outside any async context we can rely on, so the schema is dropped on a
        // thread of its own with a small runtime.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                if let Ok(pool) = sqlx::postgres::PgPoolOptions::new()
                    .max_connections(1)
                    .connect(&url)
                    .await
                {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&pool).await;
                    pool.close().await;
                }
            });
        })
        .join();
    }
}

/// The PostgreSQL URL of the suite.
pub fn postgres_url() -> String {
    match std::env::var("HAVEN_TEST_DATABASE_URL") {
        Ok(v) if !v.trim().is_empty() => v,
        _ => panic!(
            "this PostgreSQL test needs HAVEN_TEST_DATABASE_URL (for example postgres://postgres@127.0.0.1/haven_test)"
        ),
    }
}

/// A fresh, empty PostgreSQL schema.
async fn new_pg_schema() -> PgSchema {
    let url = postgres_url();
    let name = format!(
        "haven_t_{}",
        uuid::Uuid::from_bytes(haven_domain::clock::random_bytes(&OsRng)).simple()
    );
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await
        .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at HAVEN_TEST_DATABASE_URL: {e}"));
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA \"{name}\"")))
        .execute(&pool)
        .await
        .unwrap_or_else(|e| panic!("cannot create a test schema: {e}"));
    pool.close().await;
    PgSchema { url, name }
}

/// A fresh, migrated database of either backend, without the application; the store's
/// conformance tests use it. The PostgreSQL schema is dropped when it goes out of scope.
pub struct TestDb {
    /// The database.
    pub db: haven_store::Db,
    _dir: tempfile::TempDir,
    _pg: Option<PgSchema>,
}

impl TestDb {
    /// A fresh database, migrated.
    pub async fn new(backend: TestBackend) -> TestDb {
        let t = Self::empty(backend).await;
        t.db.migrate()
            .await
            .unwrap_or_else(|e| panic!("migrate: {e}"));
        t
    }

    /// A fresh database, not migrated.
    pub async fn empty(backend: TestBackend) -> TestDb {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temporary folder: {e}"));
        let (location, pg) = match backend {
            TestBackend::Sqlite => (
                haven_store::db::DbLocation::Sqlite(dir.path().join("haven.db")),
                None,
            ),
            TestBackend::Postgres => {
                let schema = new_pg_schema().await;
                (
                    haven_store::db::DbLocation::Postgres(schema.url.clone()),
                    Some(schema),
                )
            }
        };
        let opts = haven_store::DbOptions {
            max_connections: 4,
            pg_schema: pg.as_ref().map(|p| p.name.clone()),
            ..haven_store::DbOptions::default()
        };
        let db = haven_store::Db::connect(&location, &opts)
            .await
            .unwrap_or_else(|e| panic!("connect: {e}"));
        TestDb {
            db,
            _dir: dir,
            _pg: pg,
        }
    }

    /// The PostgreSQL schema of this test (`None` on SQLite), e.g. for `pg_dump --schema`.
    pub fn pg_schema(&self) -> Option<&str> {
        self._pg.as_ref().map(|p| p.name.as_str())
    }
}

/// A running Haven for one test.
pub struct TestApp {
    /// Where it listens.
    pub addr: SocketAddr,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// Its state (database, settings, clock).
    pub state: AppState,
    /// The clock it runs on; tests move it.
    pub clock: Arc<ManualClock>,
    /// Its backend.
    pub backend: Backend,
    /// The first administrator's setup link, as printed at start.
    pub setup_link: Option<String>,
    /// The settings it was started with.
    pub settings: Settings,
    /// The data folder (SQLite database and key file).
    pub data_dir: tempfile::TempDir,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
    _pg: Option<PgSchema>,
}

/// The moment every test clock starts at.
pub fn test_epoch() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-28T09:00:00Z")
        .map(|d| d.with_timezone(&Utc))
        .unwrap_or_default()
}

/// A routine SOS-line information request by phone, as the desk would record it: for tests and
/// benchmarks that write contacts through the store.
pub fn information_request(
    phone: &str,
    summary: &str,
    started_at: DateTime<Utc>,
) -> haven_domain::desk::ContactInput {
    use haven_domain::desk::{CallerType, Channel, ContactUrgency, Direction, HeardVia};
    haven_domain::desk::ContactInput {
        line: "sos".into(),
        channel: Channel::Phone,
        direction: Direction::Inbound,
        started_at,
        duration_seconds: 120,
        caller_type: CallerType::Citizen,
        anonymous: false,
        phone: phone.into(),
        email: String::new(),
        handle: String::new(),
        language: "sr".into(),
        safe_to_call_back: true,
        confidential: false,
        heard_via: HeardVia::Unknown,
        categories: vec!["information.request".into()],
        countries: Vec::new(),
        summary: summary.into(),
        notes: String::new(),
        urgency: ContactUrgency::Routine,
        action: String::new(),
        outcome: String::new(),
        referral: String::new(),
        needs_follow_up: false,
    }
}

impl TestApp {
    /// Starts Haven with default settings.
    pub async fn spawn(backend: TestBackend) -> TestApp {
        Self::spawn_with(backend, |_| {}).await
    }

    /// Starts Haven with settings adjusted by `configure`.
    pub async fn spawn_with(
        backend: TestBackend,
        configure: impl FnOnce(&mut Settings),
    ) -> TestApp {
        let data_dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temporary folder: {e}"));
        let mut settings = Settings {
            data_dir: data_dir.path().join("data"),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            ..Settings::default()
        };
        let pg = match backend {
            TestBackend::Sqlite => None,
            TestBackend::Postgres => {
                let schema = new_pg_schema().await;
                settings.database_url = Some(schema.url.clone());
                settings.database.max_connections = 4;
                Some(schema)
            }
        };
        configure(&mut settings);
        let listener = tokio::net::TcpListener::bind(settings.listen)
            .await
            .unwrap_or_else(|e| panic!("bind: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("local address: {e}"));
        settings.listen = addr;
        let base = format!("http://{addr}");
        if settings.public_url.is_none() {
            settings.public_url = Some(base.clone());
        }
        let clock = Arc::new(ManualClock::new(test_epoch()));
        let haven = haven_web::open(
            settings.clone(),
            StartOptions {
                clock: clock.clone(),
                rng: Arc::new(OsRng),
                master_key_env: None,
                pg_schema: pg.as_ref().map(|p| p.name.clone()),
                migrate: true,
            },
        )
        .await
        .unwrap_or_else(|e| panic!("Haven did not start: {e}"));
        let state = haven.state.clone();
        let setup_link = haven_web::bootstrap::ensure_setup_link(&state)
            .await
            .unwrap_or_else(|e| panic!("setup link: {e}"));
        let router = haven_web::router(state.clone());
        let (tx, rx) = oneshot::channel::<()>();
        // The audit sequencer runs as in `haven serve`.
        let sequencer =
            haven_store::audit::spawn_sequencer(state.db.clone(), haven_web::AUDIT_SEQUENCE_EVERY);
        let server = tokio::spawn(async move {
            let _ = haven_web::serve(listener, router, async move {
                let _ = rx.await;
            })
            .await;
            sequencer.abort();
        });
        TestApp {
            addr,
            base,
            backend: state.db.backend(),
            state,
            clock,
            setup_link,
            settings,
            data_dir,
            shutdown: Some(tx),
            server: Some(server),
            _pg: pg,
        }
    }

    /// The PostgreSQL schema of this test (`None` on SQLite), e.g. for `pg_dump --schema`.
    pub fn pg_schema(&self) -> Option<&str> {
        self._pg.as_ref().map(|p| p.name.as_str())
    }

    /// A client with its own cookie jar, like a fresh browser, whose authenticator app reads
    /// the app's clock.
    pub fn client(&self) -> Client {
        let mut c = Client::new(&self.base);
        c.clock = Some(self.clock.clone());
        c
    }

    /// The path of the setup link (without the host).
    pub fn setup_path(&self) -> String {
        let link = self
            .setup_link
            .clone()
            .unwrap_or_else(|| panic!("no setup link was issued"));
        link.trim_start_matches(&self.base).to_owned()
    }

    /// Creates the first administrator through the setup link and returns a signed-in client.
    pub async fn admin(&self) -> (Client, TestUser) {
        let user = TestUser::new("admin@example.org", "Lampa-Kafa-Oblak-42");
        let client = self.client();
        let page = client.get(&self.setup_path()).await;
        assert_eq!(page.status, StatusCode::OK, "setup page: {}", page.text);
        let res = client
            .post_form(
                &self.setup_path(),
                &[
                    ("csrf", page.csrf().as_str()),
                    ("display_name", "Admin Test"),
                    ("email", &user.email),
                    ("password", &user.password),
                    ("password_again", &user.password),
                ],
            )
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "setup: {}", res.text);
        let done = client.complete_second_factor(&user, &res).await;
        assert_eq!(done.status, StatusCode::OK, "enrolment: {}", done.text);
        (client, user)
    }

    /// Adds an active account with these roles directly in the store (fast) and returns its
    /// credentials; sign in with [`Client::sign_in`].
    pub async fn add_user(&self, roles: &[Role]) -> TestUser {
        self.add_user_in(self.state.default_org, roles).await
    }

    /// Adds an organisation (with its keys and audit chain) to the platform.
    pub async fn add_org(&self, slug: &str) -> haven_domain::OrgId {
        let org = haven_store::orgs::Org {
            id: self.state.ids().id(),
            slug: slug.to_owned(),
            name: format!("Org {slug}"),
            time_zone: "Europe/Belgrade".into(),
            default_language: haven_domain::Language::En,
            phone_region: "RS".into(),
            created_at: self.clock.now(),
        };
        let mut tx = self.state.db.begin().await.unwrap();
        haven_store::orgs::insert(&mut tx, &org).await.unwrap();
        haven_store::keys::create_for_org(
            &mut tx,
            &self.state.keys.master(),
            org.id,
            self.clock.now(),
            self.state.rng.as_ref(),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        org.id
    }

    /// A signed-in client of another organisation on the same platform (created on first use,
    /// slug `elsewhere`), for tests that one organisation never reaches another's records.
    pub async fn signed_in_elsewhere(&self, roles: &[Role]) -> (Client, TestUser) {
        let org = match haven_store::orgs::by_slug(&self.state.db, "elsewhere")
            .await
            .unwrap()
        {
            Some(o) => o.id,
            None => self.add_org("elsewhere").await,
        };
        let mut user = self.add_user_in(org, roles).await;
        user.org = Some("elsewhere".into());
        let client = self.client();
        client.sign_in(&user).await;
        (client, user)
    }

    /// Adds an active account with these roles to an organisation.
    pub async fn add_user_in(&self, org: haven_domain::OrgId, roles: &[Role]) -> TestUser {
        let n = self.state.ids().uuid().simple().to_string();
        let user = TestUser::new(
            &format!("staff-{}@example.org", &n[20..]),
            "Tri-Zelene-Jabuke-77",
        );
        let hash = self
            .state
            .passwords
            .hasher()
            .hash(&user.password, self.state.rng.as_ref())
            .unwrap_or_else(|e| panic!("hash: {e}"));
        let mut tx = self
            .state
            .db
            .begin()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let id: UserId = self.state.ids().id();
        users::insert(
            &mut tx,
            &NewUser {
                org_id: org,
                id,
                email: EmailAddress::parse("email", &user.email)
                    .unwrap_or_else(|e| panic!("{e:?}")),
                display_name: DisplayName::parse(
                    "name",
                    &format!(
                        "Test {}",
                        roles.iter().map(|r| r.code()).collect::<Vec<_>>().join("+")
                    ),
                )
                .unwrap_or_else(|e| panic!("{e:?}")),
                language: haven_domain::Language::En,
                roles: roles.to_vec(),
                status: UserStatus::Active,
                password_hash: Some(hash),
                now: self.clock.now(),
            },
        )
        .await
        .unwrap_or_else(|e| panic!("add user: {e}"));
        tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
        user
    }

    /// A signed-in client for a new account with these roles.
    pub async fn signed_in(&self, roles: &[Role]) -> (Client, TestUser) {
        let user = self.add_user(roles).await;
        let client = self.client();
        client.sign_in(&user).await;
        (client, user)
    }

    /// Stops the server (connections in flight finish).
    pub async fn stop(mut self) {
        self.stop_inner().await;
    }

    async fn stop_inner(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
        self.state.db.close().await;
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// An account's credentials, with the second factor the test kit set up for it.
#[derive(Debug, Clone)]
pub struct TestUser {
    /// Its e-mail address.
    pub email: String,
    /// Its password.
    pub password: String,
    /// Its authenticator app (shared between clones, so a clone signs in like the original).
    pub factor: Arc<Mutex<Authenticator>>,
    /// The organisation to name at sign-in, when the platform hosts several.
    pub org: Option<String>,
}

/// What a person's phone and drawer hold: the TOTP secret, the last step used, recovery codes.
#[derive(Debug, Default)]
pub struct Authenticator {
    /// The TOTP secret, once enrolled.
    pub secret: Option<Vec<u8>>,
    /// The last time step whose code was used (each is accepted once).
    pub last_step: Option<u64>,
    /// The unused recovery codes shown at enrolment.
    pub recovery_codes: Vec<String>,
}

impl TestUser {
    /// Credentials of an account without a second factor yet.
    pub fn new(email: &str, password: &str) -> TestUser {
        TestUser {
            email: email.to_owned(),
            password: password.to_owned(),
            factor: Arc::new(Mutex::new(Authenticator::default())),
            org: None,
        }
    }

    /// The TOTP secret, once enrolled.
    pub fn totp_secret(&self) -> Option<Vec<u8>> {
        self.factor.lock().unwrap().secret.clone()
    }

    /// Takes one unused recovery code.
    pub fn take_recovery_code(&self) -> String {
        self.factor
            .lock()
            .unwrap()
            .recovery_codes
            .pop()
            .expect("no recovery codes left")
    }

    /// Forgets the second factor (after an administrator reset it).
    pub fn forget_second_factor(&self) {
        *self.factor.lock().unwrap() = Authenticator::default();
    }
}

/// Seconds per TOTP step.
pub const TOTP_STEP: u64 = 30;

/// The TOTP code of `secret` for time step `step` (SHA-1, 6 digits, 30 s), as an app shows it.
pub fn totp_code_at(secret: &[u8], step: u64) -> String {
    totp_rs::Builder::new()
        .with_secret(secret.to_vec())
        .build()
        .expect("TOTP parameters")
        .generate(step * TOTP_STEP)
        .to_string()
}

/// A browser-like HTTP client: keeps cookies, does not follow redirects (tests look at them).
#[derive(Clone)]
pub struct Client {
    inner: reqwest::Client,
    base: String,
    /// The clock the person's authenticator app reads: the app's manual clock, or the real one.
    clock: Option<Arc<ManualClock>>,
}

/// A response, read whole.
#[derive(Debug)]
pub struct Page {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body as text.
    pub text: String,
}

impl Page {
    /// The first CSRF token in the page's forms.
    pub fn csrf(&self) -> String {
        self.input_value("csrf")
            .unwrap_or_else(|| panic!("no CSRF token in the page: {}", self.text))
    }

    /// The value of the first input with this name.
    pub fn input_value(&self, name: &str) -> Option<String> {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self.text.find(&marker)? + marker.len();
        let end = self.text[start..].find('"')? + start;
        Some(html_unescape(&self.text[start..end]))
    }

    /// The `Location` header.
    pub fn location(&self) -> String {
        self.headers
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("no Location header (status {})", self.status))
            .to_owned()
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }

    /// The TOTP secret shown on the enrolment page, decoded.
    pub fn totp_secret(&self) -> Option<Vec<u8>> {
        let start = self.text.find("id=\"totp-secret\"")?;
        let from = self.text[start..].find('>')? + start + 1;
        let to = self.text[from..].find('<')? + from;
        let b32: String = self.text[from..to]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        data_encoding::BASE32_NOPAD.decode(b32.as_bytes()).ok()
    }

    /// The recovery codes shown on the page.
    pub fn recovery_codes(&self) -> Vec<String> {
        let marker = "<code class=\"recovery-code\">";
        self.text
            .split(marker)
            .skip(1)
            .filter_map(|rest| rest.split('<').next())
            .map(html_unescape)
            .collect()
    }

    /// Where the person goes next: a redirect's `Location`, or the target of the page's
    /// "continue" button (after the recovery codes).
    pub fn next_target(&self) -> String {
        if self.status.is_redirection() {
            return self.location();
        }
        let marker = "<form method=\"get\" action=\"";
        let start = self
            .text
            .find(marker)
            .unwrap_or_else(|| panic!("no continue button: {}", self.text))
            + marker.len();
        let end = self.text[start..].find('"').unwrap() + start;
        html_unescape(&self.text[start..end])
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    /// Whether the page's text contains `s`.
    pub fn contains(&self, s: &str) -> bool {
        self.text.contains(s)
    }
}

/// Undoes the HTML escaping of an attribute value (named and numeric character references).
pub fn html_unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let Some(end) = tail.find(';').filter(|e| *e <= 10) else {
            out.push('&');
            rest = &tail[1..];
            continue;
        };
        let entity = &tail[1..end];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &tail[end + 1..];
            }
            None => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

impl Client {
    /// A client for the Haven at `base`.
    pub fn new(base: &str) -> Client {
        let inner = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_else(|e| panic!("client: {e}"));
        Client {
            inner,
            base: base.to_owned(),
            clock: None,
        }
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{}", self.base, path)
        }
    }

    async fn read(res: reqwest::Response) -> Page {
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap_or_default();
        Page {
            status,
            headers,
            text,
        }
    }

    /// GET.
    pub async fn get(&self, path: &str) -> Page {
        // A GET sent on a kept-alive connection the server has just closed (as it does after
        // refusing an oversize body unread) fails before any response; browsers send such an
        // idempotent request again on a new connection, and so does this client, once.
        let res = match self.inner.get(self.url(path)).send().await {
            Err(e) if e.is_request() || e.is_connect() => {
                self.inner.get(self.url(path)).send().await
            }
            other => other,
        };
        Self::read(res.unwrap_or_else(|e| panic!("GET {path}: {e}"))).await
    }

    /// GET a binary body (a PDF, a file), failing on anything but 200.
    pub async fn get_bytes(&self, path: &str) -> Vec<u8> {
        let res = self
            .inner
            .get(self.url(path))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        assert_eq!(res.status(), reqwest::StatusCode::OK, "GET {path}");
        res.bytes()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
            .to_vec()
    }

    /// GET with extra headers.
    pub async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Page {
        let mut req = self.inner.get(self.url(path));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        Self::read(
            req.send()
                .await
                .unwrap_or_else(|e| panic!("GET {path}: {e}")),
        )
        .await
    }

    /// POST a form.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        Self::read(
            self.inner
                .post(self.url(path))
                .form(fields)
                .send()
                .await
                .unwrap_or_else(|e| panic!("POST {path}: {e}")),
        )
        .await
    }

    /// POST a form and read the answer as bytes (a download: an export, a spreadsheet).
    pub async fn post_form_bytes(
        &self,
        path: &str,
        fields: &[(&str, &str)],
    ) -> (StatusCode, Vec<u8>) {
        let res = self
            .inner
            .post(self.url(path))
            .form(fields)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {path}: {e}"));
        let status = res.status();
        let bytes = res
            .bytes()
            .await
            .unwrap_or_else(|e| panic!("POST {path}: {e}"));
        (status, bytes.to_vec())
    }

    /// POST a JSON body with extra headers (an API call).
    pub async fn post_json(
        &self,
        path: &str,
        body: &serde_json::Value,
        headers: &[(&str, &str)],
    ) -> Page {
        let mut req = self.inner.post(self.url(path)).json(body);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        Self::read(
            req.send()
                .await
                .unwrap_or_else(|e| panic!("POST {path}: {e}")),
        )
        .await
    }

    /// POST a form with extra headers.
    pub async fn post_form_with(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Page {
        let mut req = self.inner.post(self.url(path)).form(fields);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        Self::read(
            req.send()
                .await
                .unwrap_or_else(|e| panic!("POST {path}: {e}")),
        )
        .await
    }

    /// POST a multipart form with one file (`field`, file name, content), as a browser sends an
    /// upload; the CSRF token goes in the query (`?csrf=`), as Haven's upload forms carry it.
    pub async fn post_multipart(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        file: (&str, &str, Vec<u8>),
    ) -> Page {
        let mut form = reqwest::multipart::Form::new();
        for (k, v) in fields {
            form = form.text((*k).to_owned(), (*v).to_owned());
        }
        let (field, name, bytes) = file;
        form = form.part(
            field.to_owned(),
            reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()),
        );
        Self::read(
            self.inner
                .post(self.url(path))
                .multipart(form)
                .send()
                .await
                .unwrap_or_else(|e| panic!("POST {path}: {e}")),
        )
        .await
    }

    /// POST a multipart form with any number of files (`field`, file name, content), as a
    /// browser sends a `multiple` file input; nothing goes in the query.
    pub async fn post_multipart_files(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        files: &[(&str, &str, Vec<u8>)],
    ) -> Page {
        let mut form = reqwest::multipart::Form::new();
        for (k, v) in fields {
            form = form.text((*k).to_owned(), (*v).to_owned());
        }
        for (field, name, bytes) in files {
            form = form.part(
                (*field).to_owned(),
                reqwest::multipart::Part::bytes(bytes.clone()).file_name((*name).to_owned()),
            );
        }
        Self::read(
            self.inner
                .post(self.url(path))
                .multipart(form)
                .send()
                .await
                .unwrap_or_else(|e| panic!("POST {path}: {e}")),
        )
        .await
    }

    /// Like [`Client::post_multipart`], but returns only the status, or `None` when the server
    /// answered before the body was sent and closed the connection (a body over the limit).
    pub async fn post_multipart_checked(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        file: (&str, &str, Vec<u8>),
    ) -> Option<u16> {
        let mut form = reqwest::multipart::Form::new();
        for (k, v) in fields {
            form = form.text((*k).to_owned(), (*v).to_owned());
        }
        let (field, name, bytes) = file;
        form = form.part(
            field.to_owned(),
            reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()),
        );
        let res = self
            .inner
            .post(self.url(path))
            .multipart(form)
            .send()
            .await
            .ok()?;
        Some(res.status().as_u16())
    }

    /// POST a form and return only the status code, or `None` when the server did not answer
    /// (for crash tests, where the server dies mid-request).
    pub async fn post_form_checked(&self, path: &str, fields: &[(&str, &str)]) -> Option<u16> {
        let res = self
            .inner
            .post(self.url(path))
            .form(fields)
            .send()
            .await
            .ok()?;
        let status = res.status().as_u16();
        // The acknowledgement is the whole response, not just its first line.
        res.bytes().await.ok()?;
        Some(status)
    }

    /// Posts a form like [`Client::post_form_checked`] and returns the status with the
    /// `Location` header (empty when none): `None` when the server never answered in full.
    pub async fn post_form_located(
        &self,
        path: &str,
        fields: &[(&str, &str)],
    ) -> Option<(u16, String)> {
        let res = self
            .inner
            .post(self.url(path))
            .form(fields)
            .send()
            .await
            .ok()?;
        let status = res.status().as_u16();
        let location = res
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        res.bytes().await.ok()?;
        Some((status, location))
    }

    /// Opens `page`, takes the CSRF token from it, and posts `fields` to `action`.
    pub async fn submit(&self, page: &str, action: &str, fields: &[(&str, &str)]) -> Page {
        let csrf = self.get(page).await.csrf();
        let mut all: Vec<(&str, &str)> = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post_form(action, &all).await
    }

    /// Signs in with a password and the second factor (enrolling it at the first sign-in) and
    /// expects to land in the staff application.
    pub async fn sign_in(&self, user: &TestUser) {
        let mut fields = vec![
            ("email", user.email.as_str()),
            ("password", user.password.as_str()),
        ];
        if let Some(org) = &user.org {
            fields.push(("org", org.as_str()));
        }
        let res = self.submit("/staff/login", "/staff/login", &fields).await;
        assert_eq!(
            res.status,
            StatusCode::SEE_OTHER,
            "sign-in failed: {}",
            res.text
        );
        let done = self.complete_second_factor(user, &res).await;
        assert!(
            done.status == StatusCode::SEE_OTHER || done.status == StatusCode::OK,
            "second factor failed ({}): {}",
            done.status,
            done.text
        );
    }

    /// Seconds since the Unix epoch on the authenticator app's clock.
    pub fn now_seconds(&self) -> u64 {
        let now = match &self.clock {
            Some(c) => c.now(),
            None => SystemClock.now(),
        };
        u64::try_from(now.timestamp()).unwrap_or(0)
    }

    /// A TOTP code of `user` that was not used before, as the app would show it: the current
    /// step's, or the next one's (within the one step of skew Haven allows); when both were
    /// used, the clock moves on (the manual clock by 30 seconds; on the real clock, this waits).
    pub async fn totp_code(&self, user: &TestUser) -> String {
        let secret = user
            .totp_secret()
            .unwrap_or_else(|| panic!("{} has no second factor yet", user.email));
        loop {
            let now = self.now_seconds();
            let step = now / TOTP_STEP;
            let last = user.factor.lock().unwrap().last_step;
            let candidate = last.map_or(step, |l| step.max(l + 1));
            if candidate <= step + 1 {
                user.factor.lock().unwrap().last_step = Some(candidate);
                return totp_code_at(&secret, candidate);
            }
            match &self.clock {
                Some(c) => c.advance(chrono::TimeDelta::seconds(TOTP_STEP as i64)),
                None => {
                    let wait = (step + 1) * TOTP_STEP - now;
                    tokio::time::sleep(std::time::Duration::from_millis(wait * 1000 + 200)).await;
                }
            }
        }
    }

    /// Finishes a sign-in after the password (`after_password` is the redirect it answered
    /// with): enrols the second factor if asked to (keeping the secret and recovery codes in
    /// `user`), or gives a fresh code. Returns the last response: the recovery codes page after
    /// an enrolment, the redirect into the application otherwise.
    pub async fn complete_second_factor(&self, user: &TestUser, after_password: &Page) -> Page {
        let to = after_password.location();
        if to.starts_with("/staff/enrol") {
            let page = self.get(&to).await;
            assert_eq!(page.status, StatusCode::OK, "enrolment page: {}", page.text);
            let secret = page
                .totp_secret()
                .unwrap_or_else(|| panic!("no secret on the enrolment page: {}", page.text));
            *user.factor.lock().unwrap() = Authenticator {
                secret: Some(secret),
                ..Authenticator::default()
            };
            let code = self.totp_code(user).await;
            let next = page.input_value("next").unwrap_or_default();
            let res = self
                .post_form(
                    "/staff/enrol",
                    &[("csrf", &page.csrf()), ("code", &code), ("next", &next)],
                )
                .await;
            assert_eq!(res.status, StatusCode::OK, "enrolment: {}", res.text);
            let codes = res.recovery_codes();
            assert_eq!(codes.len(), 10, "recovery codes shown: {}", res.text);
            user.factor.lock().unwrap().recovery_codes = codes;
            res
        } else if to.starts_with("/staff/login/second-factor") {
            let page = self.get(&to).await;
            assert_eq!(
                page.status,
                StatusCode::OK,
                "second factor page: {}",
                page.text
            );
            let code = self.totp_code(user).await;
            let next = page.input_value("next").unwrap_or_default();
            self.post_form(
                "/staff/login/second-factor",
                &[("csrf", &page.csrf()), ("code", &code), ("next", &next)],
            )
            .await
        } else {
            panic!("not on the way to the second factor: {to}")
        }
    }
}

/// A headless Chromium for browser tests, driven over WebDriver by `fantoccini`: a chromedriver
/// started on a free port, a fresh profile folder, and helpers to act as a person would (typing,
/// pressing keys). Stopped when dropped.
///
/// `HAVEN_CHROMEDRIVER` and `HAVEN_CHROMIUM` override `/usr/bin/chromedriver` and
/// `/usr/bin/chromium`.
pub struct Browser {
    /// The WebDriver session.
    pub client: fantoccini::Client,
    base: String,
    driver: std::process::Child,
    _profile: tempfile::TempDir,
}

/// The WebDriver code of the Enter key.
pub const KEY_ENTER: &str = "\u{E007}";
/// The WebDriver code of the Tab key.
pub const KEY_TAB: &str = "\u{E004}";

impl Browser {
    /// A browser with JavaScript on, for the Haven at `base`.
    pub async fn start(base: &str) -> Browser {
        Self::start_with(base, true).await
    }

    /// A browser with JavaScript on or off (a managed content setting, as an organisation's
    /// policy would set it), for the Haven at `base`.
    pub async fn start_with(base: &str, javascript: bool) -> Browser {
        let driver_bin =
            std::env::var("HAVEN_CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
        let chromium =
            std::env::var("HAVEN_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap_or_else(|e| panic!("a free port: {e}"));
        // A process group of its own, so that the browser it starts can be stopped with it even
        // when a test fails half-way (see `Drop`).
        let driver = std::process::Command::new(&driver_bin)
            .process_group(0)
            .arg(format!("--port={port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {driver_bin} (install chromium-driver): {e}"));
        let webdriver = format!("http://127.0.0.1:{port}");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(
                std::time::Instant::now() < deadline,
                "chromedriver did not listen on port {port}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let profile = tempfile::tempdir().unwrap_or_else(|e| panic!("profile folder: {e}"));
        let mut prefs = serde_json::Map::new();
        if !javascript {
            prefs.insert(
                "profile.managed_default_content_settings.javascript".into(),
                serde_json::json!(2),
            );
        }
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": chromium,
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--window-size=1280,900",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
                "prefs": prefs,
            }),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = fantoccini::ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&webdriver)
            .await
            .unwrap_or_else(|e| panic!("WebDriver session: {e}"));
        Browser {
            client,
            base: base.to_owned(),
            driver,
            _profile: profile,
        }
    }

    /// Opens a path of the Haven (or a whole URL).
    pub async fn goto(&self, path: &str) {
        let url = if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        };
        self.client
            .goto(&url)
            .await
            .unwrap_or_else(|e| panic!("open {path}: {e}"));
    }

    /// The path (and query) of the page shown.
    pub async fn path(&self) -> String {
        let url = self
            .client
            .current_url()
            .await
            .unwrap_or_else(|e| panic!("current URL: {e}"));
        match url.query() {
            Some(q) if !q.is_empty() => format!("{}?{q}", url.path()),
            _ => url.path().to_owned(),
        }
    }

    /// The page's HTML as the browser has it.
    pub async fn source(&self) -> String {
        self.client
            .source()
            .await
            .unwrap_or_else(|e| panic!("page source: {e}"))
    }

    /// The element matching a CSS selector, waiting up to 10 seconds for it.
    pub async fn find(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(std::time::Duration::from_secs(10))
            .for_element(fantoccini::Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css}: {e}"))
    }

    /// The text of the element matching a CSS selector.
    pub async fn text(&self, css: &str) -> String {
        self.find(css)
            .await
            .text()
            .await
            .unwrap_or_else(|e| panic!("text of {css}: {e}"))
    }

    /// Types into the field matching a CSS selector, as a person at the keyboard would (keys
    /// such as [`KEY_ENTER`] may end the text).
    pub async fn type_into(&self, css: &str, keys: &str) {
        self.find(css)
            .await
            .send_keys(keys)
            .await
            .unwrap_or_else(|e| panic!("type into {css}: {e}"));
    }

    /// Clicks the element matching a CSS selector.
    pub async fn click(&self, css: &str) {
        self.find(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    /// Waits until the page shown has this path (up to 10 seconds).
    pub async fn wait_for_path(&self, path: &str) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let now = self.path().await;
            if now == path {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "expected {path}, still at {now}: {}",
                self.source().await
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// Runs `source` in every page this browser opens from now on, before any of the page's
    /// own scripts (Chrome DevTools' `Page.addScriptToEvaluateOnNewDocument`, through
    /// chromedriver): for hooks that watch what a page does.
    pub async fn on_every_page(&self, source: &str) {
        self.client
            .issue_cmd(Cdp {
                cmd: "Page.addScriptToEvaluateOnNewDocument",
                params: serde_json::json!({ "source": source }),
            })
            .await
            .unwrap_or_else(|e| panic!("install a script for every page: {e}"));
    }

    /// Ends the session and stops the driver.
    pub async fn close(mut self) {
        let client = self.client.clone();
        let _ = client.close().await;
        self.stop_processes();
    }
}

impl Browser {
    /// Signs a staff member in for the first time, as a person would: password, enrolment of
    /// the second factor from the key shown on the page, recovery codes, home page.
    pub async fn sign_in_first_time(&self, app: &TestApp, user: &TestUser) {
        let b = self;
        b.goto("/staff/login").await;
        b.type_into("#email", &user.email).await;
        b.type_into("#password", &format!("{}{KEY_ENTER}", user.password))
            .await;
        b.wait_for_path("/staff/enrol").await;
        let key: String = b
            .text("#totp-secret")
            .await
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        let secret = data_encoding::BASE32_NOPAD.decode(key.as_bytes()).unwrap();
        user.factor.lock().unwrap().secret = Some(secret);
        let code = app.client().totp_code(user).await;
        b.type_into("#code", &format!("{code}{KEY_ENTER}")).await;
        b.find(".recovery-code").await;
        b.type_into("form[method=\"get\"] button", KEY_ENTER).await;
        b.wait_for_path("/staff/").await;
    }
    /// Stops chromedriver and every browser process it started (its process group).
    fn stop_processes(&mut self) {
        let _ = std::process::Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.driver.id())])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// A Chrome DevTools command sent through chromedriver's `goog/cdp/execute` endpoint.
#[derive(Debug)]
struct Cdp {
    cmd: &'static str,
    params: serde_json::Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        let body = serde_json::json!({ "cmd": self.cmd, "params": self.params });
        (http::Method::POST, Some(body.to_string()))
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        self.stop_processes();
    }
}

/// What `haven serve` printed when it started: its address and, on a fresh data folder, the
/// one-time setup link.
#[derive(Debug, Clone, Default)]
pub struct ServeBanner {
    /// `http://127.0.0.1:PORT`, without `/staff/`.
    pub base: Option<String>,
    /// The setup link, when there was no administrator yet.
    pub setup_link: Option<String>,
}

/// Reads the start-up lines of a `haven serve` child's standard output until it says how to stop
/// it (or `within` passes, or the output ends), then keeps draining the output on a thread so the
/// child never blocks on a full pipe.
pub fn read_serve_banner(
    stdout: std::process::ChildStdout,
    within: std::time::Duration,
) -> ServeBanner {
    use std::io::BufRead;
    let mut lines = std::io::BufReader::new(stdout).lines();
    let mut banner = ServeBanner::default();
    let deadline = std::time::Instant::now() + within;
    while std::time::Instant::now() < deadline {
        let Some(Ok(line)) = lines.next() else { break };
        if let Some(rest) = line.strip_prefix("Haven is running at ") {
            banner.base = Some(rest.trim_end_matches("/staff/").to_owned());
        }
        if line.trim_start().starts_with("http") && line.contains("/staff/link/") {
            banner.setup_link = Some(line.trim().to_owned());
        }
        if line.starts_with("Stop it with") {
            break;
        }
    }
    std::thread::spawn(move || for _ in lines {});
    banner
}
