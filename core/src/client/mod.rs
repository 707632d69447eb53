//! [`DoorClient`]: the facade partner apps use — set up with a user session and a store path, then locks
//! (cache first), unlock with events, sync, access logs, guests and proximity unlock.
//!
//! Offline first: [`DoorClient::locks`] and [`DoorClient::unlock`] need only the store and Bluetooth, so an
//! expired user token or no network never stops a BLE unlock with a cached credential. Nothing lost: every
//! step of a sync is written to the store before the next network or BLE step (see [`DoorClient::sync`]).
//!
//! Files: `error` ([`ClientError`]), `lock` ([`Lock`]), `sync` (the sync and the passive sync),
//! `proximity` (the proximity-unlock task).
//!
//! ```no_run
//! # async fn demo(
//! #     config: latchkey::client::DoorClientConfig,
//! #     session: latchkey::api::UserSession,
//! # ) -> Result<(), latchkey::client::ClientError> {
//! use latchkey::client::DoorClient;
//!
//! let client = DoorClient::setup(config, session).await?;
//! let mut updates = client.listen_for_locks().await?;
//! while let Some(locks) = updates.recv().await {
//!     // The cache at once, then the network's answer.
//!     if let Some(lock) = locks.first() {
//!         client.unlock(&lock.id).await?;
//!     }
//! }
//! # Ok(())
//! # }
//! ```

mod error;
mod lock;
mod proximity;
mod sync;

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex as StdMutex};

use latchkey_protocol::crypto::PUBLIC_KEY_LEN;
use tokio::sync::{Mutex, broadcast, mpsc};

pub use error::ClientError;
pub use lock::Lock;
pub use proximity::ProximitySettings;
pub use sync::SyncSummary;

pub use crate::store::QuarantinedLogs;

use crate::api::{ApiConfig, ApiError, TokenSource, UserClient, UserSession};
use crate::ble::{self, Command, LockKeys, Signer, Timeouts, Transport, UnlockError, UnlockRequest};
use crate::model::{
    AccessLogEntry, GuestView, InviteGuestRequest, InviteGuestsResponse, LockView, RegisterDeviceRequest,
};
use crate::store::{CachedLock, Registration, Store, StoreVersion, StoredCredential};
use crate::time::Clock;

/// How many unlock events a slow listener may fall behind before it misses some.
const EVENT_CAPACITY: usize = 64;

/// Everything [`DoorClient::setup`] needs.
#[derive(Clone)]
pub struct DoorClientConfig {
    /// The backend (its clock is the clock of every time rule here).
    pub api: ApiConfig,
    /// The partner application's OAuth client id (to refresh the user token; no secret on the phone).
    pub client_id: String,
    /// The SQLite store file (created if missing). On phones, in keystore-protected app storage.
    pub store_path: PathBuf,
    /// How the phone reaches locks.
    pub transport: Arc<dyn Transport>,
    /// The device key.
    pub signer: Arc<dyn Signer>,
    /// BLE timeouts.
    pub timeouts: Timeouts,
    /// The device's name as the backend shows it, such as "Ana's phone".
    pub device_name: String,
}

impl fmt::Debug for DoorClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DoorClientConfig")
            .field("api", &self.api)
            .field("client_id", &self.client_id)
            .field("store_path", &self.store_path)
            .field("timeouts", &self.timeouts)
            .field("device_name", &self.device_name)
            .finish_non_exhaustive()
    }
}

/// What happened to an unlock, in order: `Started`, then one of `Success`, `Failed` or `Canceled`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UnlockEvent {
    /// An unlock began (explicit or proximity).
    Started {
        /// The lock ([`Lock::id`]).
        lock_id: String,
    },
    /// The lock opened.
    Success {
        /// The lock.
        lock_id: String,
    },
    /// The unlock failed.
    Failed {
        /// The lock.
        lock_id: String,
        /// Why, in words that say what to do.
        reason: String,
    },
    /// The caller dropped the unlock before it finished.
    Canceled {
        /// The lock.
        lock_id: String,
    },
}

/// The mobile SDK's facade. Cheap to clone; clones share everything. `Send + Sync`.
#[derive(Clone)]
pub struct DoorClient {
    inner: Arc<Inner>,
}

impl fmt::Debug for DoorClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DoorClient").field("device_uuid", &self.inner.device_uuid()).finish_non_exhaustive()
    }
}

pub(crate) struct Inner {
    api: UserClient,
    clock: Arc<dyn Clock>,
    store: Store,
    transport: Arc<dyn Transport>,
    signer: Arc<dyn Signer>,
    timeouts: Timeouts,
    /// The backend's id of this device for the signed-in user.
    device_uuid: StdMutex<String>,
    /// The device key as registered, and the name it was registered under (to register again).
    public_key_hex: String,
    device_name: String,
    events: broadcast::Sender<UnlockEvent>,
    unlocking: Mutex<()>,
    /// Whether the unlock holding `unlocking` was started by proximity unlock (an explicit one preempts it).
    proximity_holds_unlock: AtomicBool,
    /// Wakes a running proximity unlock so it gives way to an explicit one.
    preempt_proximity: tokio::sync::Notify,
    /// Wakes the running unlock so it ends as canceled ([`DoorClient::cancel_unlock`]).
    cancel_unlock: tokio::sync::Notify,
    syncing: Mutex<()>,
    cleared: AtomicBool,
    proximity: StdMutex<Option<tokio::task::JoinHandle<()>>>,
    /// The parsed cached locks and the store version they were read at: `locks()` is called often (every
    /// screen refresh) and parses JSON otherwise.
    locks_cache: StdMutex<Option<(StoreVersion, Vec<Lock>)>>,
}

/// Registers the device key for the session's user and records the registration in the store.
async fn register(
    api: &UserClient,
    store: &Store,
    public_key_hex: &str,
    device_name: &str,
) -> Result<String, ClientError> {
    let device = api
        .register_device(&RegisterDeviceRequest {
            public_key: public_key_hex.to_owned(),
            name: device_name.to_owned(),
        })
        .await?;
    store.set_registration(&Registration {
        device_uuid: device.device_uuid.clone(),
        public_key_hex: public_key_hex.to_owned(),
    })?;
    Ok(device.device_uuid)
}

fn hex_array<const N: usize>(text: &str) -> Option<[u8; N]> {
    hex::decode(text).ok()?.try_into().ok()
}

impl DoorClient {
    /// Opens the store and registers the signer's public key with the backend once. With a registration
    /// already cached for this key, setup needs no network (an offline app start works).
    pub async fn setup(config: DoorClientConfig, session: UserSession) -> Result<DoorClient, ClientError> {
        let store = Store::open(&config.store_path)?;
        let tokens = TokenSource::from_session(config.client_id.clone(), &session);
        let clock = config.api.clock.clone();
        let api = UserClient::new(config.api, tokens)?;
        let public_key_hex = hex::encode(config.signer.public_key()?);
        let device_uuid = match store.registration()? {
            Some(registration) if registration.public_key_hex == public_key_hex => registration.device_uuid,
            _ => register(&api, &store, &public_key_hex, &config.device_name).await?,
        };
        let (events, _) = broadcast::channel(EVENT_CAPACITY);
        let inner = Inner {
            api,
            clock,
            store,
            transport: config.transport,
            signer: config.signer,
            timeouts: config.timeouts,
            device_uuid: StdMutex::new(device_uuid),
            public_key_hex,
            device_name: config.device_name,
            events,
            unlocking: Mutex::new(()),
            proximity_holds_unlock: AtomicBool::new(false),
            preempt_proximity: tokio::sync::Notify::new(),
            cancel_unlock: tokio::sync::Notify::new(),
            syncing: Mutex::new(()),
            cleared: AtomicBool::new(false),
            proximity: StdMutex::new(None),
            locks_cache: StdMutex::new(None),
        };
        Ok(DoorClient { inner: Arc::new(inner) })
    }

    /// The backend's id of this device (for the signed-in user: it changes if [`DoorClient::fetch_locks`]
    /// has to register the device again).
    pub fn device_uuid(&self) -> String {
        self.inner.device_uuid()
    }

    /// The cached locks, at once, without the network (empty before the first fetch).
    pub fn locks(&self) -> Result<Vec<Lock>, ClientError> {
        self.inner.cached_locks()
    }

    /// Fetches the locks (and this device's credentials) from the backend and replaces the cache. On
    /// failure (no network, an expired session) the error is returned and the cache is left as it was.
    /// Also, best effort: prefetches pending sync data for offline locks (so the next unlock's passive
    /// sync carries it) and uploads queued lock logs.
    pub async fn fetch_locks(&self) -> Result<Vec<Lock>, ClientError> {
        self.inner.fetch_locks().await
    }

    /// The cache at once, then the backend's answer when it arrives. A failed refresh sends nothing more
    /// (and never clears the cache); the channel then closes.
    pub async fn listen_for_locks(&self) -> Result<mpsc::Receiver<Vec<Lock>>, ClientError> {
        let cached = self.inner.cached_locks()?;
        let (sender, receiver) = mpsc::channel(2);
        // Capacity 2: this first send cannot wait.
        let _ = sender.send(cached).await;
        let inner = self.inner.clone();
        tokio::spawn(async move {
            match inner.fetch_locks().await {
                Ok(fresh) => {
                    let _ = sender.send(fresh).await;
                }
                Err(error) => tracing::info!(%error, "lock refresh failed; the cache stays"),
            }
        });
        Ok(receiver)
    }

    /// Unlock events of every unlock (explicit or proximity) from now on.
    pub fn unlock_events(&self) -> broadcast::Receiver<UnlockEvent> {
        self.inner.events.subscribe()
    }

    /// Unlocks a lock ([`Lock::id`]) with the cached credential and resumption ticket: no network needed,
    /// an expired session is fine. One at a time: a second call while one runs fails at once with
    /// [`ClientError::UnlockInProgress`]. Emits `Started` then `Success`/`Failed` (`Canceled` if this future
    /// is dropped first). After the lock answers, a short passive sync carries cached deltas down and the
    /// lock's logs up (uploading only if the network works); it never fails the unlock, and this call
    /// returns after it.
    pub async fn unlock(&self, lock_id: &str) -> Result<(), ClientError> {
        self.inner.unlock(lock_id, UnlockOrigin::Explicit).await
    }

    /// Cancels the unlock running now (explicit or proximity), wherever it is: it stops, sends `Canceled`
    /// and fails with [`ClientError::Canceled`], and the next unlock may start. A coarse cancel for callers
    /// that cannot drop the unlock's future (Swift's task cancellation does not reach it through UniFFI);
    /// an unlock that had not yet sent `Started` when this is called is not canceled. Does nothing when no
    /// unlock runs.
    pub fn cancel_unlock(&self) {
        self.inner.cancel_unlock.notify_waiters();
    }

    /// Syncs one lock: fetches pending deltas after the lock's last known seq (offline: carries what is
    /// cached), stores them, carries them and a fresh time token over BLE, stores the lock's report and
    /// sealed log batches, uploads them, and drops what the backend acknowledged. Each step is written
    /// before the next, so a process killed anywhere resumes with the next `sync`: the lock answers
    /// `AlreadyApplied` to re-sent deltas and the backend dedupes re-uploaded logs.
    pub async fn sync(&self, lock_id: &str) -> Result<SyncSummary, ClientError> {
        self.inner.check()?;
        let _guard = self.inner.syncing.lock().await;
        self.inner.sync_locked(lock_id, true).await
    }

    /// The log uploads the backend refused for good (a 4xx), oldest first: they stay in the store, are never
    /// sent again on their own and never hold up the uploads after them (see
    /// [`SyncSummary::log_uploads_quarantined`]).
    pub fn quarantined_log_uploads(&self) -> Result<Vec<QuarantinedLogs>, ClientError> {
        Ok(self.inner.store.quarantined_logs()?)
    }

    /// The access log of a lock (the user's and their guests' entries, newest first). Needs the network.
    pub async fn access_logs(&self, lock_id: &str) -> Result<Vec<AccessLogEntry>, ClientError> {
        self.inner.check()?;
        Ok(self.inner.api.access_logs(lock_id).await?.entries)
    }

    /// Invites a guest to locks the user may share. A partial success is `Ok`: the response says door by
    /// door what was granted and why not ([`InviteGuestsResponse::failures`]).
    pub async fn invite_guests(
        &self,
        request: &InviteGuestRequest,
    ) -> Result<InviteGuestsResponse, ClientError> {
        self.inner.check()?;
        Ok(self.inner.api.invite_guests(request).await?)
    }

    /// The guests the user invited.
    pub async fn guests(&self) -> Result<Vec<GuestView>, ClientError> {
        self.inner.check()?;
        Ok(self.inner.api.guests().await?.guests)
    }

    /// Revokes the access the user gave a guest to one lock. Offline locks learn of it from the next phone
    /// that syncs there.
    pub async fn revoke_guest_access(&self, guest_uuid: &str, lock_id: &str) -> Result<(), ClientError> {
        self.inner.check()?;
        Ok(self.inner.api.revoke_guest_access(guest_uuid, lock_id).await?)
    }

    /// Starts unlocking the loudest lock in range that the user may open, with the default
    /// [`ProximitySettings`]. Replaces a running proximity task.
    pub fn start_proximity_unlock(&self) -> Result<(), ClientError> {
        self.start_proximity_unlock_with(ProximitySettings::default())
    }

    /// [`DoorClient::start_proximity_unlock`] with these settings.
    pub fn start_proximity_unlock_with(&self, settings: ProximitySettings) -> Result<(), ClientError> {
        self.inner.check()?;
        let task = tokio::spawn(proximity::run(self.inner.clone(), settings));
        if let Some(old) = self.inner.proximity_slot().replace(task) {
            old.abort();
        }
        Ok(())
    }

    /// Stops proximity unlock (an unlock it already started finishes).
    pub fn stop_proximity_unlock(&self) {
        if let Some(task) = self.inner.proximity_slot().take() {
            task.abort();
        }
    }

    /// Whether proximity unlock is running.
    pub fn proximity_unlock_running(&self) -> bool {
        self.inner.proximity_slot().as_ref().is_some_and(|task| !task.is_finished())
    }

    /// Signs out: stops proximity unlock and wipes the store (locks, credentials, tickets, the sync outbox).
    /// Every later call fails with [`ClientError::NotSetUp`].
    pub fn clear(&self) -> Result<(), ClientError> {
        self.stop_proximity_unlock();
        self.inner.cleared.store(true, Ordering::SeqCst);
        self.inner.store.clear()?;
        Ok(())
    }
}

/// Emits `Canceled` if an unlock is dropped before it reported its end.
/// Who asked for an unlock: the user, or proximity unlock (which gives way to the user).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum UnlockOrigin {
    /// `DoorClient::unlock`.
    Explicit,
    /// The proximity task.
    Proximity,
}

/// Clears `proximity_holds_unlock` when the unlock it marks ends, however it ends.
struct ProximityMark<'a>(&'a AtomicBool);

impl Drop for ProximityMark<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

struct EndGuard<'a> {
    events: &'a broadcast::Sender<UnlockEvent>,
    lock_id: &'a str,
    ended: bool,
}

impl EndGuard<'_> {
    fn end(&mut self, event: UnlockEvent) {
        self.ended = true;
        let _ = self.events.send(event);
    }
}

impl Drop for EndGuard<'_> {
    fn drop(&mut self) {
        if !self.ended {
            let _ = self.events.send(UnlockEvent::Canceled { lock_id: self.lock_id.to_owned() });
        }
    }
}

impl Inner {
    fn check(&self) -> Result<(), ClientError> {
        if self.cleared.load(Ordering::SeqCst) { Err(ClientError::NotSetUp) } else { Ok(()) }
    }

    fn proximity_slot(&self) -> std::sync::MutexGuard<'_, Option<tokio::task::JoinHandle<()>>> {
        self.proximity.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn cached_locks(&self) -> Result<Vec<Lock>, ClientError> {
        self.check()?;
        // The version first: a commit after it makes the next call read again.
        let version = self.store.version();
        let mut cache = self.locks_cache.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((cached_at, locks)) = cache.as_ref()
            && *cached_at == version
        {
            return Ok(locks.clone());
        }
        let (cached, _) = self.store.cached_locks()?;
        let with_credentials = self.store.doors_with_credentials()?;
        let locks: Vec<Lock> = cached
            .into_iter()
            .filter_map(|lock| {
                let view: LockView = serde_json::from_str(&lock.view_json).ok()?;
                let has_credential = with_credentials.contains(&lock.door_uuid);
                Some(Lock::from_view(view, has_credential))
            })
            .collect();
        *cache = Some((version, locks.clone()));
        Ok(locks)
    }

    /// The cached view of one lock.
    fn cached_view(&self, lock_id: &str) -> Result<(CachedLock, LockView), ClientError> {
        let (cached, _) = self.store.cached_locks()?;
        let lock = cached
            .into_iter()
            .find(|lock| lock.door_uuid == lock_id)
            .ok_or_else(|| ClientError::LockNotFound { lock_id: lock_id.to_owned() })?;
        let view: LockView = serde_json::from_str(&lock.view_json).map_err(|e| {
            ClientError::Store(crate::store::StoreError(format!("cached lock unreadable: {e}")))
        })?;
        Ok((lock, view))
    }

    fn device_uuid(&self) -> String {
        self.device_uuid.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    async fn fetch_locks(&self) -> Result<Vec<Lock>, ClientError> {
        self.check()?;
        let response = match self.api.locks(Some(&self.device_uuid())).await {
            // The backend does not know this device for the signed-in user: another user set up on this
            // store without `clear()`, or the device was removed. Register it for this user, then fetch.
            Err(ApiError::NotFound { .. }) => {
                self.check()?;
                let device_uuid =
                    register(&self.api, &self.store, &self.public_key_hex, &self.device_name).await?;
                *self.device_uuid.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) =
                    device_uuid.clone();
                self.api.locks(Some(&device_uuid)).await?
            }
            fetched => fetched?,
        };
        let mut rows = Vec::with_capacity(response.locks.len());
        for view in &response.locks {
            let Some(lock_id) = hex_array::<16>(&view.lock_id) else {
                tracing::warn!(door = %view.door_uuid, "a lock with an unreadable lock id was skipped");
                continue;
            };
            let credential =
                view.credential.as_deref().and_then(|text| hex::decode(text).ok()).map(|bytes| {
                    StoredCredential {
                        credential: bytes,
                        expires_at: view.credential_expires_at.map(|at| at.to_rfc3339()),
                    }
                });
            let view_json = serde_json::to_string(view)
                .map_err(|e| ClientError::Store(crate::store::StoreError(e.to_string())))?;
            rows.push((CachedLock { door_uuid: view.door_uuid.clone(), lock_id, view_json }, credential));
        }
        self.check()?;
        self.store.replace_locks(&rows, self.clock.now())?;
        // Best effort: what offline locks are waiting for, and logs still queued.
        for view in &response.locks {
            if view.lock_public_key.is_some()
                && !view.is_connected
                && let Err(error) = self.fetch_sync_data(&view.door_uuid).await
            {
                tracing::info!(door = %view.door_uuid, %error, "prefetching sync data failed");
                break;
            }
        }
        self.upload_pending_logs(None).await;
        self.cached_locks()
    }

    async fn unlock(&self, lock_id: &str, origin: UnlockOrigin) -> Result<(), ClientError> {
        self.check()?;
        let guard = match self.unlocking.try_lock() {
            Ok(guard) => guard,
            // An explicit unlock wins over proximity: the proximity attempt is canceled (its `Canceled`
            // event is sent) and this one takes its place.
            Err(_)
                if origin == UnlockOrigin::Explicit && self.proximity_holds_unlock.load(Ordering::SeqCst) =>
            {
                self.preempt_proximity.notify_waiters();
                tokio::time::timeout(self.timeouts.exchange, self.unlocking.lock())
                    .await
                    .map_err(|_| ClientError::UnlockInProgress)?
            }
            Err(_) => return Err(ClientError::UnlockInProgress),
        };
        let mark = (origin == UnlockOrigin::Proximity).then(|| {
            self.proximity_holds_unlock.store(true, Ordering::SeqCst);
            ProximityMark(&self.proximity_holds_unlock)
        });
        // Listening for `cancel_unlock` from before `Started`: a cancel after the event always lands.
        let canceled = self.cancel_unlock.notified();
        tokio::pin!(canceled);
        canceled.as_mut().enable();
        let _ = self.events.send(UnlockEvent::Started { lock_id: lock_id.to_owned() });
        let mut end = EndGuard { events: &self.events, lock_id, ended: false };
        let result = tokio::select! {
            biased;
            () = &mut canceled => Err(ClientError::Canceled),
            result = self.unlock_once(lock_id) => result,
        };
        match &result {
            Ok(()) => end.end(UnlockEvent::Success { lock_id: lock_id.to_owned() }),
            Err(ClientError::Canceled) => end.end(UnlockEvent::Canceled { lock_id: lock_id.to_owned() }),
            Err(error) => {
                end.end(UnlockEvent::Failed { lock_id: lock_id.to_owned(), reason: error.to_string() })
            }
        }
        drop(mark);
        drop(guard);
        if result.is_ok() {
            self.passive_sync(lock_id).await;
        }
        result
    }

    async fn unlock_once(&self, lock_id: &str) -> Result<(), ClientError> {
        let (cached, view) = self.cached_view(lock_id)?;
        let lock_public_key = lock_public_key(lock_id, &view)?;
        let credential = self.store.credential(lock_id)?.ok_or_else(|| ClientError::NoCredential {
            lock_id: lock_id.to_owned(),
            what_to_do:
                "this access has no phone credential (only PERMANENT access on an activated lock has one); \
                         fetch_locks() online to get it, or use the doorcode"
                    .into(),
        })?;
        let ticket = self.store.take_ticket(lock_id)?;
        let request = UnlockRequest {
            lock: LockKeys { lock_id: cached.lock_id, lock_public_key },
            credential: credential.credential,
            command: Command::Unlock,
            ticket,
        };
        match ble::unlock(self.transport.as_ref(), request, self.signer.as_ref(), &self.timeouts).await {
            Ok(outcome) => {
                if let Some(ticket) = &outcome.next_ticket {
                    self.store.put_ticket(lock_id, ticket)?;
                }
                Ok(())
            }
            Err(UnlockError::Denied { reason, next_ticket, .. }) => {
                if let Some(ticket) = &next_ticket {
                    self.store.put_ticket(lock_id, ticket)?;
                }
                Err(ClientError::Denied(reason))
            }
            Err(UnlockError::Transport(error)) => Err(ClientError::Bluetooth(error)),
            Err(UnlockError::Signer(error)) => Err(ClientError::Signer(error)),
            Err(other) => Err(ClientError::Lock(other.to_string())),
        }
    }

    /// The doors the user may open now with this phone, by id.
    fn openable(&self) -> Result<HashMap<[u8; 16], String>, ClientError> {
        let now = self.clock.now();
        let (cached, _) = self.store.cached_locks()?;
        let mut by_id = HashMap::new();
        for lock in self.cached_locks()? {
            if lock.has_credential
                && lock.access_open_at(now)
                && let Some(row) = cached.iter().find(|row| row.door_uuid == lock.id)
            {
                by_id.insert(row.lock_id, lock.id);
            }
        }
        Ok(by_id)
    }
}

/// The lock's static public key from the cached lock view: the unlock encrypts to it and the sync believes
/// only answers sealed under it. A door without an activated lock has none.
fn lock_public_key(lock_id: &str, view: &LockView) -> Result<[u8; PUBLIC_KEY_LEN], ClientError> {
    view.lock_public_key.as_deref().and_then(hex_array::<PUBLIC_KEY_LEN>).ok_or_else(|| {
        ClientError::NoCredential {
            lock_id: lock_id.to_owned(),
            what_to_do:
                "the door has no activated lock yet: ask the building to activate it, then fetch_locks()"
                    .into(),
        }
    })
}
