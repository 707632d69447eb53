//! [`DoorClient`]: the mobile facade as the apps see it — setup, locks (cache first), lock updates and
//! unlock events through listeners, unlock, sync, access logs, guests, proximity unlock, clear. Each
//! method delegates to `latchkey::client::DoorClient`; async ones run on the SDK's runtime.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use latchkey::api::ApiConfig;
use latchkey::ble::Timeouts;
use latchkey::client::{
    DoorClient as CoreDoorClient, DoorClientConfig as CoreConfig, ProximitySettings as CoreProximity,
    UnlockEvent,
};
use latchkey::model::{AccessLogEntry, InviteGuestRequest, InviteGuestsResponse};
use tokio::sync::broadcast::error::RecvError;
use tokio::task::AbortHandle;

use crate::auth::UserSession;
use crate::error::LatchkeyError;
use crate::models::{Guest, Lock, SyncSummary};
use crate::runtime::{self, run};
use crate::signer::{ForeignSigner, Signer};
use crate::transport::{BleTransport, ForeignTransport};

/// What `DoorClient.setup` needs besides the session, the transport and the signer.
#[derive(Clone, Debug, uniffi::Record)]
pub struct DoorClientConfig {
    /// The backend, such as `https://…` (or `http://10.0.2.2:8787` for the simulator on the host of an
    /// Android emulator).
    pub base_url: String,
    /// The partner application's OAuth client id (to refresh the user token; no secret on the phone).
    pub client_id: String,
    /// The SQLite store file (created if missing), in the app's private storage.
    pub store_path: String,
    /// The device's name as the backend shows it, such as "Ana's phone".
    pub device_name: String,
    /// Scanning for a lock and connecting to it, in milliseconds.
    #[uniffi(default = 10000)]
    pub connect_timeout_ms: u64,
    /// Any one BLE packet the SDK waits for, in milliseconds.
    #[uniffi(default = 3000)]
    pub message_timeout_ms: u64,
    /// A whole BLE exchange after connecting, in milliseconds.
    #[uniffi(default = 15000)]
    pub exchange_timeout_ms: u64,
    /// One attempt of an HTTP call, in milliseconds.
    #[uniffi(default = 10000)]
    pub http_timeout_ms: u64,
}

/// How proximity unlock behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Record)]
pub struct ProximitySettings {
    /// Pause between scans, in milliseconds.
    #[uniffi(default = 1000)]
    pub interval_ms: u64,
    /// How long one scan listens, in milliseconds.
    #[uniffi(default = 2000)]
    pub scan_timeout_ms: u64,
    /// After an attempt at a lock, how long it is left alone, in milliseconds.
    #[uniffi(default = 30000)]
    pub cooldown_ms: u64,
    /// Locks heard quieter than this (dBm) are out of reach (about 3 m).
    #[uniffi(default = -75)]
    pub min_rssi: i16,
}

/// Receives the lock list: the cache at once, then the backend's answer.
#[uniffi::export(foreign)]
pub trait LocksListener: Send + Sync {
    /// A lock list (first the cache, then the backend's answer).
    fn on_locks(&self, locks: Vec<Lock>);

    /// No more lists will come (the backend answered, or the refresh failed and the cache stays).
    fn on_complete(&self);
}

/// Receives unlock events.
#[uniffi::export(foreign)]
pub trait UnlockEventListener: Send + Sync {
    /// One event: `Started`, then `Success`, `Failed` or `Canceled`.
    fn on_event(&self, event: UnlockEvent);
}

/// A running listener. `cancel()` (or closing/destroying this object) stops it; no callback comes after
/// `cancel()` returns… except one already running.
#[derive(uniffi::Object)]
pub struct Subscription(Mutex<Option<AbortHandle>>);

impl Subscription {
    fn new(task: AbortHandle) -> Arc<Subscription> {
        Arc::new(Subscription(Mutex::new(Some(task))))
    }

    fn stop(&self) {
        if let Some(task) = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take() {
            task.abort();
        }
    }
}

#[uniffi::export]
impl Subscription {
    /// Stops the listener. Idempotent.
    pub fn cancel(&self) {
        self.stop();
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.stop();
    }
}

fn millis(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

/// The mobile SDK: one per signed-in user. Thread-safe; close it when the user signs out (after `clear()`)
/// or the app no longer needs it.
#[derive(uniffi::Object)]
pub struct DoorClient(CoreDoorClient);

#[uniffi::export]
impl DoorClient {
    /// Opens the store and registers the signer's public key with the backend once (later starts with
    /// the same key need no network). `transport` reaches the locks; `signer` holds the device key.
    #[uniffi::constructor]
    pub async fn setup(
        config: DoorClientConfig,
        session: Arc<UserSession>,
        transport: Arc<dyn BleTransport>,
        signer: Arc<dyn Signer>,
    ) -> Result<Arc<DoorClient>, LatchkeyError> {
        let api = ApiConfig::parse(&config.base_url)?.with_timeout(millis(config.http_timeout_ms));
        let core = CoreConfig {
            api,
            client_id: config.client_id,
            store_path: PathBuf::from(config.store_path),
            transport: Arc::new(ForeignTransport(transport)),
            signer: Arc::new(ForeignSigner(signer)),
            timeouts: Timeouts {
                connect: millis(config.connect_timeout_ms),
                per_message: millis(config.message_timeout_ms),
                exchange: millis(config.exchange_timeout_ms),
            },
            device_name: config.device_name,
        };
        let session = session.0.clone();
        run(async move { Ok(Arc::new(DoorClient(CoreDoorClient::setup(core, session).await?))) }).await
    }

    /// The backend's id of this device.
    pub fn device_uuid(&self) -> String {
        self.0.device_uuid()
    }

    /// The cached locks, at once, without the network (empty before the first fetch).
    pub fn locks(&self) -> Result<Vec<Lock>, LatchkeyError> {
        Ok(self.0.locks()?.into_iter().map(Lock::from).collect())
    }

    /// Fetches the locks and this device's credentials from the backend and replaces the cache. On
    /// failure the cache is left as it was.
    pub async fn fetch_locks(&self) -> Result<Vec<Lock>, LatchkeyError> {
        let client = self.0.clone();
        run(async move { Ok(client.fetch_locks().await?.into_iter().map(Lock::from).collect()) }).await
    }

    /// The cache at once, then the backend's answer, to `listener` (on an SDK background thread); then
    /// `on_complete`. Keep the returned subscription; cancel it to stop.
    pub async fn listen_for_locks(
        &self,
        listener: Arc<dyn LocksListener>,
    ) -> Result<Arc<Subscription>, LatchkeyError> {
        let client = self.0.clone();
        run(async move {
            let mut updates = client.listen_for_locks().await?;
            let task = tokio::spawn(async move {
                while let Some(locks) = updates.recv().await {
                    listener.on_locks(locks.into_iter().map(Lock::from).collect());
                }
                listener.on_complete();
            });
            Ok(Subscription::new(task.abort_handle()))
        })
        .await
    }

    /// Unlock events of every unlock (explicit or proximity) from now on, to `listener` (on an SDK
    /// background thread). Keep the returned subscription; cancel it to stop.
    pub fn listen_for_unlock_events(&self, listener: Arc<dyn UnlockEventListener>) -> Arc<Subscription> {
        let _runtime = runtime::enter();
        let mut events = self.0.unlock_events();
        let task = tokio::spawn(async move {
            loop {
                match events.recv().await {
                    Ok(event) => listener.on_event(event),
                    Err(RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, "an unlock event listener fell behind and missed events");
                    }
                    Err(RecvError::Closed) => return,
                }
            }
        });
        Subscription::new(task.abort_handle())
    }

    /// Unlocks a lock (`Lock.id`) with the cached credential: no network needed. One at a time: a second
    /// call while one runs fails at once with `UnlockInProgress`. Canceling the calling coroutine/task
    /// cancels the unlock (a `Canceled` event).
    pub async fn unlock(&self, lock_id: String) -> Result<(), LatchkeyError> {
        let client = self.0.clone();
        run(async move { Ok(client.unlock(&lock_id).await?) }).await
    }

    /// Cancels the unlock running now, if any: it reports `Canceled` and its call fails. Swift's
    /// `unlock(_ lock:)` calls this when its task is canceled (UniFFI's Swift bindings do not forward task
    /// cancellation); in Kotlin, canceling the coroutine is enough.
    pub fn cancel_unlock(&self) {
        self.0.cancel_unlock();
    }

    /// Syncs one lock: carries pending changes and a fresh time token to it, and its logs to the backend.
    /// Safe to interrupt at any point: the next sync resumes.
    pub async fn sync(&self, lock_id: String) -> Result<SyncSummary, LatchkeyError> {
        let client = self.0.clone();
        run(async move { Ok(client.sync(&lock_id).await?.into()) }).await
    }

    /// The access log of a lock (the user's and their guests' entries, newest first). Needs the network.
    pub async fn access_logs(&self, lock_id: String) -> Result<Vec<AccessLogEntry>, LatchkeyError> {
        let client = self.0.clone();
        run(async move { Ok(client.access_logs(&lock_id).await?) }).await
    }

    /// Invites a guest to locks the user may share. A partial success returns normally: the response says
    /// door by door what was granted and why not.
    pub async fn invite_guests(
        &self,
        request: InviteGuestRequest,
    ) -> Result<InviteGuestsResponse, LatchkeyError> {
        let client = self.0.clone();
        run(async move { Ok(client.invite_guests(&request).await?) }).await
    }

    /// The guests the user invited.
    pub async fn guests(&self) -> Result<Vec<Guest>, LatchkeyError> {
        let client = self.0.clone();
        run(async move { Ok(client.guests().await?.into_iter().map(Guest::from).collect()) }).await
    }

    /// Revokes the access the user gave a guest to one lock.
    pub async fn revoke_guest_access(
        &self,
        guest_uuid: String,
        lock_id: String,
    ) -> Result<(), LatchkeyError> {
        let client = self.0.clone();
        run(async move { Ok(client.revoke_guest_access(&guest_uuid, &lock_id).await?) }).await
    }

    /// Starts unlocking the loudest lock in range that the user may open (replacing a running proximity
    /// task). Unlock events report its attempts. Android: run it from a foreground service.
    pub fn start_proximity_unlock(&self, settings: ProximitySettings) -> Result<(), LatchkeyError> {
        let _runtime = runtime::enter();
        let settings = CoreProximity {
            interval: millis(settings.interval_ms),
            scan_timeout: millis(settings.scan_timeout_ms),
            cooldown: millis(settings.cooldown_ms),
            min_rssi: settings.min_rssi,
        };
        Ok(self.0.start_proximity_unlock_with(settings)?)
    }

    /// Stops proximity unlock (an unlock it already started finishes).
    pub fn stop_proximity_unlock(&self) {
        self.0.stop_proximity_unlock();
    }

    /// Whether proximity unlock is running.
    pub fn proximity_unlock_running(&self) -> bool {
        self.0.proximity_unlock_running()
    }

    /// Signs out: stops proximity unlock and wipes the store. Every later call fails with `NotSignedIn`.
    pub fn clear(&self) -> Result<(), LatchkeyError> {
        Ok(self.0.clear()?)
    }
}
