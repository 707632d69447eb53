//! The typed REST client of the access backend.
//!
//! - [`PartnerClient`]: the partner API (users, accesses, doors, buildings, residents) with a partner token
//!   fetched by client credentials.
//! - [`AuthClient`]: the passwordless sign-in of users, giving a [`UserSession`].
//! - [`ManagerClient`]: the customer's manager API with its static token.
//! - [`UserClient`]: the user-scoped API (`/me`: devices, locks, sync data, logs, guests) with a user token.
//! - [`TokenSource`]: the cached, refreshed bearer token behind a client.
//! - [`ApiError`]: what went wrong, one variant per status family; [`RetryPolicy`]: how failures are retried.
//!
//! Every client is built from an [`ApiConfig`], is cheap to clone, and is `Send + Sync`. Requests are
//! validated with the rules of [`crate::model::validation`] before they are sent; transient failures
//! (connection errors, timeouts, 5xx) are retried with backoff, POSTs included, each logical POST carrying
//! one `Idempotency-Key` on all its attempts; a retried DELETE that finds nothing left to delete (its earlier
//! attempt was applied, the answer lost) succeeds. No token, secret or code ever appears in an error, a log line
//! or `Debug` output.
//!
//! ```no_run
//! # async fn demo() -> Result<(), latchkey::api::ApiError> {
//! use latchkey::api::{ApiConfig, PartnerClient};
//!
//! let config = ApiConfig::parse("http://127.0.0.1:8787")?;
//! let partner = PartnerClient::new(config, "client-id", "client-secret")?;
//! for building in partner.buildings().await?.buildings {
//!     let doors = partner.all_doors(Some(&building.uuid)).await?;
//!     println!("{}: {} doors", building.name, doors.len());
//! }
//! # Ok(())
//! # }
//! ```

mod auth;
mod error;
mod http;
mod manager;
mod partner;
mod retry;
#[cfg(test)]
mod testing;
#[cfg(test)]
mod tests;
mod tls;
mod tokens;
mod user;
mod verifier;
#[cfg(test)]
mod verifier_tests;

use std::sync::Arc;
use std::time::Duration;

pub use auth::{AuthClient, USER_SCOPE, UserSession};
pub use error::{ApiError, NetworkErrorKind};
pub use manager::ManagerClient;
pub use partner::{DoorsQuery, EventsQuery, PartnerClient, WALK_PAGE_SIZE};
pub use retry::RetryPolicy;
pub use tokens::{REFRESH_MARGIN_SECS, TokenSource};
pub use url::Url;
pub use user::UserClient;
pub use verifier::{TlsSetupKind, android_verifier_initialized};

use crate::time::{Clock, SystemClock};

/// How a client reaches the backend: where, how patiently, and by which clock.
#[derive(Clone, Debug)]
pub struct ApiConfig {
    /// The backend's address, such as `http://127.0.0.1:8787` (a path prefix is kept).
    pub base_url: Url,
    /// The limit of one attempt (connecting included). Default 10 s.
    pub timeout: Duration,
    /// How failures are retried. Default [`RetryPolicy::default`]: 4 attempts, 200 ms base, 5 s max.
    pub retry: RetryPolicy,
    /// The clock of token expiry and validation. Default the system clock.
    pub clock: Arc<dyn Clock>,
}

impl ApiConfig {
    /// The default timeout of one attempt.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

    /// Defaults for the backend at `base_url`.
    pub fn new(base_url: Url) -> ApiConfig {
        ApiConfig {
            base_url,
            timeout: ApiConfig::DEFAULT_TIMEOUT,
            retry: RetryPolicy::default(),
            clock: Arc::new(SystemClock),
        }
    }

    /// Defaults for the backend at `base_url`, parsed ([`ApiError::Config`] if it is not a URL).
    pub fn parse(base_url: &str) -> Result<ApiConfig, ApiError> {
        let url = Url::parse(base_url)
            .map_err(|error| ApiError::Config { message: format!("base URL {base_url:?}: {error}") })?;
        Ok(ApiConfig::new(url))
    }

    /// With this per-attempt timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> ApiConfig {
        self.timeout = timeout;
        self
    }

    /// With this retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> ApiConfig {
        self.retry = retry;
        self
    }

    /// With this clock (a [`crate::ManualClock`] in tests).
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> ApiConfig {
        self.clock = Arc::new(clock);
        self
    }
}
