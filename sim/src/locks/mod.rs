//! Virtual locks: simulated locks that run the lock side of `latchkey-protocol` on state persisted in the
//! simulator's database.
//!
//! - [`VirtualLock`] (`lock`): one lock's state and decisions (unlock, keypad, sync, log, clock, battery).
//! - [`LockConnection`] (`connection`): the GATT-like service of one connection (framing and dispatch).
//! - [`LockRegistry`]: the locks of one simulator, loaded by door from the database on first use, shared
//!   (`Arc<Mutex<..>>`) by connections and tests; [`LockRegistry::push_to_connected`] gives connected
//!   locks (`isConnected: true`) their pending deltas straight from the backend, in the background after
//!   [`LockRegistry::schedule_push`] (and before anyone uses such a lock, see [`LockRegistry::get`]).
//!
//! Locks are created by the backend's activation (`install`, in the activation's transaction). This
//! module never decides access rules: it only runs what the protocol crate decides.

mod connection;
mod impostor;
mod lock;
pub mod state;

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use latchkey::Clock;

pub use connection::LockConnection;
pub use impostor::CLAIMED_SEQ as IMPOSTOR_CLAIMED_SEQ;
pub use lock::{
    CONNECTION_REFUSED_DETAIL, FAILED_SESSION_BURST, FAILED_SESSION_REFILL_MS, VirtualLock, install,
};

use crate::backend::db::Db;
use crate::backend::lockside::{self, BackendKeys};

/// Why a virtual lock operation failed.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// A protocol rule refused the input (framing, sync message order, sizes).
    #[error("protocol: {0}")]
    Protocol(#[from] latchkey_protocol::ProtocolError),
    /// The connection is closed (after an error, a finished unlock, or a disconnect).
    #[error("the connection to the lock is closed")]
    Closed,
    /// The lock refuses connections for a moment: too many failed unlock attempts in a short time
    /// (`FAILED_SESSION_BURST` in a burst, then one every `FAILED_SESSION_REFILL_MS`). Try again shortly.
    #[error("the lock is refusing connections for a moment (too many attempts); try again in a few seconds")]
    Busy,
    /// The database failed.
    #[error("database: {0}")]
    Db(#[from] rusqlite::Error),
    /// The backend's side failed.
    #[error("backend: {0}")]
    Backend(#[from] crate::backend::error::AppError),
    /// Stored state is unreadable, or a message made no sense at this point.
    #[error("{0}")]
    State(String),
}

pub(crate) fn lock_guard(lock: &Mutex<VirtualLock>) -> MutexGuard<'_, VirtualLock> {
    lock.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The loaded locks, by lock id.
type LockCache = HashMap<[u8; 16], Arc<Mutex<VirtualLock>>>;

/// The virtual locks of one simulator. Cheap to clone.
#[derive(Clone)]
pub struct LockRegistry {
    db: Db,
    clock: Arc<dyn Clock>,
    locks: Arc<Mutex<LockCache>>,
    pushes: Arc<Pushes>,
    /// Lock ids whose new connections an impostor answers ([`LockRegistry::impersonate`]).
    impostors: Arc<Mutex<BTreeSet<[u8; 16]>>>,
}

/// Access changes not yet pushed to their doors' locks ([`LockRegistry::schedule_push`]).
#[derive(Default)]
struct Pushes {
    /// The doors changed since their last push, and the key that signs their deltas.
    pending: Mutex<(BTreeSet<String>, Option<Arc<BackendKeys>>)>,
    /// Held while a push runs, so whoever waits for a door's push sees it finished.
    running: Mutex<()>,
    /// Wakes [`LockRegistry::run_pushes`].
    wake: tokio::sync::Notify,
}

impl std::fmt::Debug for LockRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LockRegistry")
    }
}

impl LockRegistry {
    /// A registry over `db`, with locks whose clocks follow `clock`.
    pub fn new(db: Db, clock: Arc<dyn Clock>) -> LockRegistry {
        LockRegistry {
            db,
            clock,
            locks: Arc::new(Mutex::new(HashMap::new())),
            pushes: Arc::default(),
            impostors: Arc::default(),
        }
    }

    fn cache(&self) -> MutexGuard<'_, LockCache> {
        self.locks.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The lock with id `lock_id` (the door uuid's bytes), loaded from the database on first use. A
    /// connected lock first gets any push still scheduled for it, so whoever uses a lock sees every access
    /// change committed before.
    pub fn get(&self, lock_id: [u8; 16]) -> Result<Option<Arc<Mutex<VirtualLock>>>, LockError> {
        self.settle(&uuid::Uuid::from_bytes(lock_id).to_string())?;
        self.loaded(lock_id)
    }

    /// The lock with id `lock_id`, without waiting for pushes.
    fn loaded(&self, lock_id: [u8; 16]) -> Result<Option<Arc<Mutex<VirtualLock>>>, LockError> {
        let mut cache = self.cache();
        if let Some(lock) = cache.get(&lock_id) {
            return Ok(Some(lock.clone()));
        }
        let door = uuid::Uuid::from_bytes(lock_id).to_string();
        let Some(lock) = VirtualLock::load(&self.db, self.clock.clone(), &door)? else {
            return Ok(None);
        };
        let lock = Arc::new(Mutex::new(lock));
        cache.insert(lock_id, lock.clone());
        Ok(Some(lock))
    }

    /// A test control: while `on`, every new connection to `lock_id` (in-memory link and fake BlueZ) is
    /// answered by an impostor advertising the lock's id without its keys (see
    /// [`LockConnection::impostor`]); the lock itself is untouched.
    pub fn impersonate(&self, lock_id: [u8; 16], on: bool) {
        let mut impostors = self.impostors.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if on {
            impostors.insert(lock_id);
        } else {
            impostors.remove(&lock_id);
        }
    }

    /// A new connection to `lock_id`: to the lock, or to an impostor while [`LockRegistry::impersonate`]
    /// is on; `None` if no lock has that id.
    pub fn connect(&self, lock_id: [u8; 16], mtu: u16) -> Result<Option<LockConnection>, LockError> {
        let Some(lock) = self.get(lock_id)? else {
            return Ok(None);
        };
        let impostor =
            self.impostors.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).contains(&lock_id);
        Ok(Some(if impostor {
            LockConnection::impostor(lock, mtu)?
        } else {
            LockConnection::new(lock, mtu)?
        }))
    }

    /// The ids of every virtual lock (activated door), in activation order.
    pub fn lock_ids(&self) -> Result<Vec<[u8; 16]>, LockError> {
        let doors: Vec<String> = self.db.read(|conn| {
            let mut statement = conn.prepare_cached("SELECT door_uuid FROM virtual_locks ORDER BY rowid")?;
            let rows = statement.query_map([], |row| row.get(0))?;
            rows.collect::<rusqlite::Result<Vec<String>>>()
        })?;
        doors.iter().map(|door| Ok(lockside::lock_id(door)?)).collect()
    }

    /// The lock of door `door_uuid`.
    pub fn by_door(&self, door_uuid: &str) -> Result<Option<Arc<Mutex<VirtualLock>>>, LockError> {
        self.get(lockside::lock_id(door_uuid)?)
    }

    /// Runs `f` on the lock of `door_uuid` (tests and the demo: `enter_code`, `power_loss`, …).
    pub fn with_lock<T>(
        &self,
        door_uuid: &str,
        f: impl FnOnce(&mut VirtualLock) -> T,
    ) -> Result<T, LockError> {
        let lock = self
            .by_door(door_uuid)?
            .ok_or_else(|| LockError::State(format!("door {door_uuid} has no virtual lock")))?;
        Ok(f(&mut lock_guard(&lock)))
    }

    /// Drops every lock from memory: the next use loads it from the database, as after a restart
    /// (RAM such as the ticket table is lost).
    pub fn reload_all(&self) {
        self.cache().clear();
    }

    fn pending(&self) -> MutexGuard<'_, (BTreeSet<String>, Option<Arc<BackendKeys>>)> {
        self.pushes.pending.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn running(&self) -> MutexGuard<'_, ()> {
        self.pushes.running.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// After an access change at `doors`, committed: schedules [`LockRegistry::push_to_connected`] for
    /// them without waiting for it. [`LockRegistry::run_pushes`] runs it in the background, coalescing
    /// the changes of many requests into one delta per door; [`LockRegistry::get`] runs it first for a
    /// lock still waiting for one. So a request never waits for locks, and nobody sees a connected lock
    /// that missed a change committed before they looked.
    pub fn schedule_push<'a>(&self, keys: &Arc<BackendKeys>, doors: impl IntoIterator<Item = &'a str>) {
        let mut pending = self.pending();
        pending.0.extend(doors.into_iter().map(str::to_owned));
        pending.1.get_or_insert_with(|| keys.clone());
        drop(pending);
        self.pushes.wake.notify_one();
    }

    /// Runs every scheduled push now; returns how many deltas connected locks applied.
    pub fn push_scheduled(&self) -> Result<usize, LockError> {
        let _running = self.running();
        let (doors, keys) = {
            let mut pending = self.pending();
            (std::mem::take(&mut pending.0), pending.1.clone())
        };
        match keys {
            Some(keys) if !doors.is_empty() => {
                self.push_to_connected(&keys, doors.iter().map(String::as_str))
            }
            _ => Ok(0),
        }
    }

    /// Runs the push scheduled for `door`, if any, and waits for one in progress.
    fn settle(&self, door: &str) -> Result<(), LockError> {
        let _running = self.running();
        let keys = {
            let mut pending = self.pending();
            if !pending.0.remove(door) {
                return Ok(());
            }
            pending.1.clone()
        };
        if let Some(keys) = keys {
            self.push_to_connected(&keys, [door])?;
        }
        Ok(())
    }

    /// Runs scheduled pushes as they come, forever (the simulator spawns it and aborts it on stop).
    pub async fn run_pushes(self) {
        loop {
            self.pushes.wake.notified().await;
            let registry = self.clone();
            match tokio::task::spawn_blocking(move || registry.push_scheduled()).await {
                Ok(Ok(_)) => {}
                Ok(Err(error)) => tracing::warn!(%error, "could not push deltas to connected locks"),
                Err(error) => tracing::warn!(%error, "the push task failed"),
            }
        }
    }

    /// After an access change at the `changed` doors: issues the next delta of each provisioned one whose
    /// desired state changed (so an offline lock learns it from the next phone that syncs there), and applies the pending
    /// deltas of connected locks (`isConnected: true`) at once. Returns how many deltas connected locks
    /// applied. Runs in the background after [`LockRegistry::schedule_push`].
    pub fn push_to_connected<'a>(
        &self,
        keys: &BackendKeys,
        changed: impl IntoIterator<Item = &'a str>,
    ) -> Result<usize, LockError> {
        let changed: Vec<&str> = changed.into_iter().collect();
        // Only the doors of the change, and only those with a provisioned lock.
        let doors: Vec<(String, bool)> = self.db.read(|conn| {
            let mut statement = conn.prepare_cached(
                "SELECT d.uuid, d.is_connected FROM doors d
                 JOIN lock_provisioning p ON p.door_uuid = d.uuid WHERE d.uuid = ?1",
            )?;
            let mut doors = Vec::with_capacity(changed.len());
            for door in &changed {
                doors.extend(
                    statement
                        .query_map([door], |row| Ok((row.get(0)?, row.get(1)?)))?
                        .collect::<rusqlite::Result<Vec<_>>>()?,
                );
            }
            Ok::<_, rusqlite::Error>(doors)
        })?;
        let mut applied = 0;
        for (door, connected) in doors {
            let now = self.clock.now();
            let lock = if connected { self.loaded(lockside::lock_id(&door)?)? } else { None };
            let Some(lock) = lock else {
                self.db.write(|tx| lockside::pending_deltas(tx, keys, &door, u64::MAX, now))?;
                continue;
            };
            let after = lock_guard(&lock).last_applied_seq();
            let deltas = self.db.write(|tx| lockside::pending_deltas(tx, keys, &door, after, now))?;
            let mut lock = lock_guard(&lock);
            for delta in deltas {
                if lock.apply_delta(&delta) == latchkey_protocol::sync::DeltaOutcome::Applied {
                    applied += 1;
                }
            }
        }
        Ok(applied)
    }
}
