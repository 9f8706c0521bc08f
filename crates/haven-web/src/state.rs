//! The application state every handler shares.

use std::sync::Arc;

use haven_domain::{Clock, IdGen, OrgId, SecureRng};
use haven_store::Db;
use metrics_exporter_prometheus::PrometheusHandle;

use crate::i18n::I18n;
use crate::keys::Keyrings;
use crate::settings::Settings;

/// Shared, cheaply cloned state.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

/// What the state holds.
pub struct Inner {
    /// The effective configuration.
    pub settings: Settings,
    /// The database.
    pub db: Db,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// The random number generator.
    pub rng: Arc<dyn SecureRng>,
    /// Translations.
    pub i18n: I18n,
    /// The master key and every organisation's keyring (see [`crate::keys`]).
    pub keys: Keyrings,
    /// Argon2 hashing and checking (staff passwords, receipt codes), off the runtime and a few
    /// at a time.
    pub passwords: crate::passwords::Passwords,
    /// Prometheus metrics.
    pub metrics: PrometheusHandle,
    /// A hash of a random password, checked when an unknown account signs in so that the time
    /// taken does not reveal whether the account exists.
    pub dummy_password_hash: String,
    /// The organisation created at first start (the one sign-in uses when there is only one).
    pub default_org: OrgId,
    /// The portal's form-token key and in-memory rate limit.
    pub portal: crate::portal::Shield,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").finish_non_exhaustive()
    }
}

impl AppState {
    /// Wraps the parts.
    pub fn new(inner: Inner) -> Self {
        Self(Arc::new(inner))
    }

    /// An id generator over the state's clock and generator.
    pub fn ids(&self) -> IdGen<'_> {
        IdGen::new(self.0.clock.as_ref(), self.0.rng.as_ref())
    }

    /// The current time.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.0.clock.now()
    }
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}
