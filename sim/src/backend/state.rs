//! [`AppState`]: what every handler shares — the database, the injected clock, the configuration and the
//! token signing key, the backend's lock-protocol key and the simulator's virtual locks.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use latchkey::{Clock, SecretString};
use rand::RngCore;
use rusqlite::OptionalExtension;

use super::auth::cache::TokenCache;
use super::controls::Controls;
use super::db::Db;
use super::lockside::BackendKeys;
use super::ratelimit::{Limiter, RateLimits};
use crate::locks::LockRegistry;

/// Settings of the simulated backend.
#[derive(Clone, Debug)]
pub struct BackendConfig {
    /// Lifetime of access tokens (partner and user).
    pub token_ttl: Duration,
    /// Lifetime of refresh tokens.
    pub refresh_token_ttl: Duration,
    /// Lifetime of a passwordless one-time code.
    pub otp_ttl: Duration,
    /// The bearer token of the manager API.
    pub manager_token: SecretString,
    /// Rate limits per client (generous by default).
    pub rate_limits: RateLimits,
    /// How long one webhook delivery may take (connecting, and reading the answer), by the host's clock.
    pub webhook_timeout: std::time::Duration,
}

impl Default for BackendConfig {
    fn default() -> Self {
        BackendConfig {
            token_ttl: Duration::hours(24),
            refresh_token_ttl: Duration::days(30),
            otp_ttl: Duration::minutes(5),
            manager_token: SecretString::new("dev-manager-token"),
            rate_limits: RateLimits::default(),
            webhook_timeout: std::time::Duration::from_secs(10),
        }
    }
}

/// Shared by every handler: one `Arc` around [`Shared`] (whose fields it derefs to), so the clone each
/// middleware layer and handler takes per request is one reference count, not one per field.
#[derive(Clone, Debug)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What [`AppState`] holds.
#[derive(Debug)]
pub struct Shared {
    /// The database.
    pub db: Db,
    /// The clock every time rule reads.
    pub clock: Arc<dyn Clock>,
    /// Settings.
    pub config: Arc<BackendConfig>,
    /// The HS256 key tokens are signed with; kept in the database so a restart keeps tokens valid.
    pub signing_key: Arc<[u8; 32]>,
    /// Access tokens already verified with [`Shared::signing_key`] (`auth::cache`).
    pub tokens: Arc<TokenCache>,
    /// The P-256 key that signs credentials, deltas and time tokens; kept in the database too.
    pub lock_keys: Arc<BackendKeys>,
    /// The virtual locks of this simulator.
    pub locks: LockRegistry,
    /// The controls of partners' tests: the clock behind [`Shared::clock`], injected faults.
    pub controls: Arc<Controls>,
    /// The rate limiter's buckets.
    pub limiter: Arc<Limiter>,
}

impl AppState {
    /// Builds the state, loading (or creating) the signing key stored in `db`.
    ///
    /// `clock` is the base of the simulator's controllable clock ([`Controls::clock`]): every time rule,
    /// and the virtual locks, read that one.
    pub fn new(db: Db, clock: Arc<dyn Clock>, config: BackendConfig) -> rusqlite::Result<AppState> {
        let controls = Arc::new(Controls::new(clock));
        let clock: Arc<dyn Clock> = controls.clock.clone();
        let signing_key = db.write(|tx| {
            let stored: Option<Vec<u8>> = tx
                .query_row("SELECT value FROM meta WHERE key = 'jwt_signing_key'", [], |row| row.get(0))
                .optional()?;
            if let Some(key) = stored.and_then(|bytes| <[u8; 32]>::try_from(bytes).ok()) {
                return Ok::<_, rusqlite::Error>(key);
            }
            let key = random_bytes::<32>();
            tx.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('jwt_signing_key', ?1)",
                [&key[..]],
            )?;
            Ok(key)
        })?;
        let lock_keys = db.write(|tx| BackendKeys::load_or_create(tx))?;
        let locks = LockRegistry::new(db.clone(), clock.clone());
        let signing_key = Arc::new(signing_key);
        Ok(AppState(Arc::new(Shared {
            db,
            clock,
            config: Arc::new(config),
            tokens: Arc::new(TokenCache::new(signing_key.clone(), latchkey::model::PARTNER_AUDIENCE)),
            signing_key,
            lock_keys: Arc::new(lock_keys),
            locks,
            controls,
            limiter: Arc::default(),
        })))
    }

    /// After an access change at `doors`, committed: their deltas are issued, and connected locks among
    /// them get them, in the background (`LockRegistry::schedule_push`), so the request does not wait for
    /// the locks. Failures are logged there, never returned: the change itself is committed, and the next
    /// push or phone sync carries it.
    pub fn push_to_connected_locks<'a>(&self, doors: impl IntoIterator<Item = &'a str>) {
        self.locks.schedule_push(&self.lock_keys, doors);
    }

    /// The current instant by the injected clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }
}

/// `N` bytes from the operating system's CSPRNG.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    rand::rng().fill_bytes(&mut bytes);
    bytes
}

/// A fresh random UUID as the wire spells it.
pub fn new_uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A fresh time-ordered UUID as the wire spells it: version 7 (RFC 9562), the creation millisecond by the
/// host's clock, then 74 random bits. For users, who are created on every invite and indexed by uuid in
/// several tables: new rows land at the end of those indexes instead of on a random page each, which is
/// what a commit writes (docs/performance.md). Still unguessable, but it shows when the user was created.
pub fn new_time_ordered_uuid() -> String {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| u64::try_from(since.as_millis()).unwrap_or(u64::MAX));
    uuid::Builder::from_unix_timestamp_millis(millis, &random_bytes::<10>()).into_uuid().to_string()
}

/// SHA-256 of a secret, for storing secrets we only need to recognize.
pub fn hash_secret(secret: &str) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(secret.as_bytes()).to_vec()
}
