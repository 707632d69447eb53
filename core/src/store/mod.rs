//! The phone's offline-first store (SQLite through rusqlite, bundled): cached locks and credentials,
//! resumption tickets, and the sync outbox — deltas fetched but not yet applied by their lock, and sealed
//! log batches read from a lock but not yet stored by the backend.
//!
//! One connection behind a mutex, WAL journal, and two doors in: [`Store::read`] and [`Store::write`]
//! (a transaction that commits only when its closure returns `Ok`). The typed operations below are what
//! [`crate::client::DoorClient`] uses; each is one transaction, so a process killed at any point leaves
//! the state before or after it, never half of it.
//!
//! Secrets: credentials are bearer-less (they only work with this device's key, which stays in the
//! [`crate::ble::Signer`]), but resumption-ticket secrets are shared keys. On phones, put the store file in
//! keystore-protected storage (Android: app-private storage encrypted under a Keystore key; iOS: a file
//! with `NSFileProtectionComplete`). Nothing here logs stored values, and [`StoredTicket`]'s `Debug` hides
//! the secret.

mod schema;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use chrono::{DateTime, SecondsFormat, Utc};
use latchkey_protocol::unlock::{PhoneTicket, ResumptionSecret};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

pub use schema::VERSION;

/// Why the store failed. Carries SQLite's words, never stored values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the local store failed: {0} (check free space and file permissions; `clear()` resets it)")]
pub struct StoreError(pub String);

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> StoreError {
        StoreError(error.to_string())
    }
}

/// Meta keys.
const DEVICE_UUID: &str = "device_uuid";
const DEVICE_PUBLIC_KEY: &str = "device_public_key";
const USER_ID: &str = "user_id";

/// The device registration the backend confirmed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registration {
    /// The backend's id of this device.
    pub device_uuid: String,
    /// The registered public key, 33-byte compressed SEC1 as lowercase hex.
    pub public_key_hex: String,
}

/// One cached lock: the backend's `LockView` as JSON, keyed by door.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CachedLock {
    /// The door's uuid.
    pub door_uuid: String,
    /// The id the lock advertises.
    pub lock_id: [u8; 16],
    /// The backend's view of the lock, as JSON.
    pub view_json: String,
}

/// A cached credential.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredCredential {
    /// The credential bytes.
    pub credential: Vec<u8>,
    /// When it expires (RFC 3339), if the backend said.
    pub expires_at: Option<String>,
}

impl std::fmt::Debug for StoredCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredCredential")
            .field("len", &self.credential.len())
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// A sealed log upload waiting for the backend: the `Hello` of the connection and its batches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingLogs {
    /// The outbox row.
    pub id: i64,
    /// The door.
    pub door_uuid: String,
    /// The lock's `Hello` of the connection the batches were read on.
    pub hello: Vec<u8>,
    /// `(index, sealed batch)` in order.
    pub batches: Vec<(u32, Vec<u8>)>,
    /// The lock's last applied seq in that sync's report.
    pub last_applied_seq: u64,
    /// The lock's battery in that report.
    pub battery_percent: u8,
}

/// A log upload the backend refused with a 4xx (see [`Store::quarantine_logs`]): kept for a person to look
/// at, never sent again on its own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuarantinedLogs {
    /// The outbox row.
    pub id: i64,
    /// The door.
    pub door_uuid: String,
    /// Sealed batches it holds.
    pub batch_count: usize,
    /// When it was read from the lock.
    pub read_at: String,
    /// When the backend refused it.
    pub refused_at: String,
    /// The backend's answer.
    pub refusal: String,
}

/// The phone's store. Cheap to clone; clones share the one connection. Within a process there is one
/// connection per store file: [`Store::open`] of a file that is already open shares that connection, so
/// two `DoorClient`s on one file see each other's commits at once (and [`StoreVersion`] covers both). The
/// file belongs to one process at a time (app-private storage on a phone); SQLite keeps it consistent if
/// another process writes it anyway, but this process's caches would not notice.
#[derive(Clone)]
pub struct Store {
    shared: Arc<Shared>,
}

/// What the clones of a [`Store`] (and every `Store::open` of the same file in this process) share.
struct Shared {
    conn: Mutex<Connection>,
    /// Commits made through `conn` (see [`StoreVersion`]).
    commits: AtomicU64,
}

/// The store files open in this process, by canonical path (dead entries are pruned at the next open).
static OPEN_FILES: Mutex<Vec<(PathBuf, Weak<Shared>)>> = Mutex::new(Vec::new());

/// Which state of the store a reader saw: it changes with every commit to the store's file in this process.
/// Equal versions mean the same content, so what was derived from the store may be reused —
/// `DoorClient::locks()` caches its parsed locks by it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreVersion(u64);

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Store")
    }
}

fn ts(instant: DateTime<Utc>) -> String {
    instant.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn seq_i64(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

fn get_u64(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<u64> {
    let value: i64 = row.get(index)?;
    Ok(u64::try_from(value).unwrap_or(0))
}

fn blob<const N: usize>(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<[u8; N]> {
    let bytes: Vec<u8> = row.get(index)?;
    bytes.try_into().map_err(|_| {
        rusqlite::Error::FromSqlConversionFailure(
            index,
            rusqlite::types::Type::Blob,
            format!("expected {N} bytes").into(),
        )
    })
}

impl Store {
    /// Opens (creating if needed) the store file at `path`, in WAL mode, and migrates it. If this process
    /// has the file open already, the new `Store` shares that connection.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let mut dir = path.parent().unwrap_or(Path::new("")).to_path_buf();
        if dir.as_os_str().is_empty() {
            dir = PathBuf::from(".");
        }
        std::fs::create_dir_all(&dir).map_err(|e| StoreError(format!("creating {dir:?}: {e}")))?;
        let file_name = path.file_name().ok_or_else(|| StoreError(format!("{path:?} names no file")))?;
        let canonical = std::fs::canonicalize(&dir)
            .map_err(|e| StoreError(format!("resolving {dir:?}: {e}")))?
            .join(file_name);
        let mut open_files = OPEN_FILES.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        open_files.retain(|(_, shared)| shared.strong_count() > 0);
        if let Some(shared) =
            open_files.iter().find(|(open, _)| *open == canonical).and_then(|(_, s)| s.upgrade())
        {
            return Ok(Store { shared });
        }
        let conn = Connection::open(&canonical)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // FULL: a commit survives power loss, not just a killed process.
        conn.pragma_update(None, "synchronous", "FULL")?;
        let store = Store::init(conn)?;
        open_files.push((canonical, Arc::downgrade(&store.shared)));
        Ok(store)
    }

    /// A throwaway in-memory store (tests, or an app that wants no persistence).
    pub fn open_in_memory() -> Result<Store, StoreError> {
        Store::init(Connection::open_in_memory()?)
    }

    fn init(mut conn: Connection) -> Result<Store, StoreError> {
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        schema::migrate(&mut conn)?;
        Ok(Store { shared: Arc::new(Shared { conn: Mutex::new(conn), commits: AtomicU64::new(0) }) })
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        self.shared.conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `f` on the connection for reads.
    pub fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T, StoreError>) -> Result<T, StoreError> {
        f(&self.lock())
    }

    /// Runs `f` inside a transaction that commits only if `f` returns `Ok`.
    pub fn write<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        let value = f(&tx)?;
        tx.commit()?;
        // Still under the connection's mutex: no reader sees the new content with the old version.
        self.shared.commits.fetch_add(1, Ordering::Relaxed);
        Ok(value)
    }

    /// The version of the store's content now. Read it before reading the data it tags: a commit after it
    /// gives a newer version.
    pub fn version(&self) -> StoreVersion {
        StoreVersion(self.shared.commits.load(Ordering::Relaxed))
    }

    /// Deletes everything (sign-out).
    pub fn clear(&self) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute_batch(
                "DELETE FROM meta; DELETE FROM locks; DELETE FROM credentials; DELETE FROM tickets;
                 DELETE FROM lock_state; DELETE FROM pending_deltas; DELETE FROM log_batches;
                 DELETE FROM log_uploads;",
            )?;
            Ok(())
        })
    }

    // ---- meta ----

    /// The confirmed device registration, if any.
    pub fn registration(&self) -> Result<Option<Registration>, StoreError> {
        self.read(|conn| {
            let uuid = meta_get(conn, DEVICE_UUID)?;
            let key = meta_get(conn, DEVICE_PUBLIC_KEY)?;
            Ok(uuid
                .zip(key)
                .map(|(device_uuid, public_key_hex)| Registration { device_uuid, public_key_hex }))
        })
    }

    /// Records the device registration. Replacing another one drops the credentials and resumption tickets:
    /// they were issued for the registration they replace (its user and its key).
    pub fn set_registration(&self, registration: &Registration) -> Result<(), StoreError> {
        self.write(|tx| {
            if meta_get(tx, DEVICE_UUID)?.is_some_and(|previous| previous != registration.device_uuid) {
                tx.execute_batch("DELETE FROM credentials; DELETE FROM tickets;")?;
            }
            meta_set(tx, DEVICE_UUID, &registration.device_uuid)?;
            meta_set(tx, DEVICE_PUBLIC_KEY, &registration.public_key_hex)
        })
    }

    /// The signed-in user's id, if recorded.
    pub fn user_id(&self) -> Result<Option<String>, StoreError> {
        self.read(|conn| meta_get(conn, USER_ID))
    }

    /// Records the signed-in user's id.
    pub fn set_user_id(&self, user_id: &str) -> Result<(), StoreError> {
        self.write(|tx| meta_set(tx, USER_ID, user_id))
    }

    // ---- locks and credentials ----

    /// Replaces the lock cache with a fresh list and its credentials, in one transaction. Credentials and
    /// tickets of doors no longer listed are dropped; the sync outbox is kept (nothing lost).
    pub fn replace_locks(
        &self,
        locks: &[(CachedLock, Option<StoredCredential>)],
        fetched_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute("DELETE FROM locks", [])?;
            let at = ts(fetched_at);
            for (position, (lock, credential)) in locks.iter().enumerate() {
                tx.execute(
                    "INSERT OR REPLACE INTO locks (door_uuid, lock_id, position, view_json, fetched_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![lock.door_uuid, lock.lock_id.as_slice(), position as i64, lock.view_json, at],
                )?;
                match credential {
                    Some(c) => tx.execute(
                        "INSERT OR REPLACE INTO credentials (door_uuid, credential, expires_at)
                         VALUES (?1, ?2, ?3)",
                        params![lock.door_uuid, c.credential, c.expires_at],
                    )?,
                    None => tx.execute("DELETE FROM credentials WHERE door_uuid = ?1", [&lock.door_uuid])?,
                };
            }
            for table in ["credentials", "tickets"] {
                tx.execute(
                    &format!("DELETE FROM {table} WHERE door_uuid NOT IN (SELECT door_uuid FROM locks)"),
                    [],
                )?;
            }
            Ok(())
        })
    }

    /// The cached locks in the backend's order, and when they were fetched.
    pub fn cached_locks(&self) -> Result<(Vec<CachedLock>, Option<DateTime<Utc>>), StoreError> {
        self.read(|conn| {
            let mut statement = conn
                .prepare("SELECT door_uuid, lock_id, view_json, fetched_at FROM locks ORDER BY position")?;
            let mut fetched_at = None;
            let rows = statement.query_map([], |row| {
                Ok((
                    CachedLock {
                        door_uuid: row.get(0)?,
                        lock_id: blob::<16>(row, 1)?,
                        view_json: row.get(2)?,
                    },
                    row.get::<_, String>(3)?,
                ))
            })?;
            let mut locks = Vec::new();
            for row in rows {
                let (lock, at) = row?;
                fetched_at = DateTime::parse_from_rfc3339(&at).ok().map(|t| t.to_utc());
                locks.push(lock);
            }
            Ok((locks, fetched_at))
        })
    }

    /// The cached credential of a door.
    pub fn credential(&self, door_uuid: &str) -> Result<Option<StoredCredential>, StoreError> {
        self.read(|conn| {
            Ok(conn
                .query_row(
                    "SELECT credential, expires_at FROM credentials WHERE door_uuid = ?1",
                    [door_uuid],
                    |row| Ok(StoredCredential { credential: row.get(0)?, expires_at: row.get(1)? }),
                )
                .optional()?)
        })
    }

    /// The doors that have a cached credential.
    pub fn doors_with_credentials(&self) -> Result<Vec<String>, StoreError> {
        self.read(|conn| {
            let mut statement = conn.prepare("SELECT door_uuid FROM credentials")?;
            let doors = statement.query_map([], |row| row.get(0))?.collect::<Result<Vec<String>, _>>()?;
            Ok(doors)
        })
    }

    // ---- tickets ----

    /// Takes (reads and deletes, in one transaction) the resumption ticket of a door: a ticket is spent by
    /// the attempt that carries it, whatever happens.
    pub fn take_ticket(&self, door_uuid: &str) -> Result<Option<PhoneTicket>, StoreError> {
        self.write(|tx| {
            let ticket = tx
                .query_row(
                    "SELECT lock_id, ticket_id, expires_at, secret FROM tickets WHERE door_uuid = ?1",
                    [door_uuid],
                    |row| {
                        Ok(PhoneTicket {
                            lock_id: blob::<16>(row, 0)?,
                            ticket_id: blob::<16>(row, 1)?,
                            expires_at: row.get(2)?,
                            secret: ResumptionSecret::from_bytes(blob::<32>(row, 3)?),
                        })
                    },
                )
                .optional()?;
            tx.execute("DELETE FROM tickets WHERE door_uuid = ?1", [door_uuid])?;
            Ok(ticket)
        })
    }

    /// Stores the ticket for the next visit to a door (replacing any).
    pub fn put_ticket(&self, door_uuid: &str, ticket: &PhoneTicket) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                "INSERT OR REPLACE INTO tickets (door_uuid, lock_id, ticket_id, expires_at, secret)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    door_uuid,
                    ticket.lock_id.as_slice(),
                    ticket.ticket_id.as_slice(),
                    ticket.expires_at,
                    ticket.secret.as_bytes().as_slice()
                ],
            )?;
            Ok(())
        })
    }

    // ---- sync outbox ----

    /// The lock's last applied delta seq as the phone last learned it (0 if never synced).
    pub fn last_applied_seq(&self, door_uuid: &str) -> Result<u64, StoreError> {
        self.read(|conn| {
            Ok(conn
                .query_row(
                    "SELECT last_applied_seq FROM lock_state WHERE door_uuid = ?1",
                    [door_uuid],
                    |row| get_u64(row, 0),
                )
                .optional()?
                .unwrap_or(0))
        })
    }

    /// Stores deltas fetched from the backend (`(seq, bytes)`); a seq already stored is replaced, one the
    /// lock already applied (by the phone's knowledge) is skipped.
    pub fn add_pending_deltas(&self, door_uuid: &str, deltas: &[(u64, Vec<u8>)]) -> Result<(), StoreError> {
        self.write(|tx| {
            let applied = last_applied_in(tx, door_uuid)?;
            for (seq, delta) in deltas {
                if *seq > applied {
                    tx.execute(
                        "INSERT OR REPLACE INTO pending_deltas (door_uuid, seq, delta) VALUES (?1, ?2, ?3)",
                        params![door_uuid, seq_i64(*seq), delta],
                    )?;
                }
            }
            Ok(())
        })
    }

    /// Up to `limit` pending deltas of a door, lowest seq first.
    pub fn pending_deltas(&self, door_uuid: &str, limit: usize) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        self.read(|conn| {
            let mut statement = conn.prepare(
                "SELECT seq, delta FROM pending_deltas WHERE door_uuid = ?1 ORDER BY seq LIMIT ?2",
            )?;
            let rows = statement
                .query_map(params![door_uuid, limit as i64], |row| Ok((get_u64(row, 0)?, row.get(1)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
    }

    /// How many deltas wait for a door.
    pub fn pending_delta_count(&self, door_uuid: &str) -> Result<u64, StoreError> {
        self.read(|conn| {
            Ok(conn.query_row(
                "SELECT COUNT(*) FROM pending_deltas WHERE door_uuid = ?1",
                [door_uuid],
                |row| get_u64(row, 0),
            )?)
        })
    }

    /// Records what one BLE sync brought back, in one transaction: the lock's state (deltas up to
    /// `last_applied_seq` leave the outbox, as do `refused` ones: they are fetched again from the backend
    /// after the lock's seq) and its sealed log batches, queued for upload. Returns the upload's id.
    #[allow(clippy::too_many_arguments)]
    pub fn record_sync(
        &self,
        door_uuid: &str,
        last_applied_seq: u64,
        battery_percent: u8,
        refused: &[u64],
        hello: &[u8],
        batches: &[(u32, Vec<u8>)],
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        self.write(|tx| {
            let at = ts(now);
            tx.execute(
                "INSERT INTO lock_state (door_uuid, last_applied_seq, battery_percent, synced_at)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (door_uuid) DO UPDATE SET last_applied_seq = ?2, battery_percent = ?3, synced_at = ?4",
                params![door_uuid, seq_i64(last_applied_seq), battery_percent, at],
            )?;
            tx.execute(
                "DELETE FROM pending_deltas WHERE door_uuid = ?1 AND seq <= ?2",
                params![door_uuid, seq_i64(last_applied_seq)],
            )?;
            for seq in refused {
                tx.execute(
                    "DELETE FROM pending_deltas WHERE door_uuid = ?1 AND seq = ?2",
                    params![door_uuid, seq_i64(*seq)],
                )?;
            }
            tx.execute(
                "INSERT INTO log_uploads (door_uuid, hello, last_applied_seq, battery_percent, read_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![door_uuid, hello, seq_i64(last_applied_seq), battery_percent, at],
            )?;
            let id = tx.last_insert_rowid();
            for (index, sealed) in batches {
                tx.execute(
                    "INSERT INTO log_batches (upload_id, idx, sealed) VALUES (?1, ?2, ?3)",
                    params![id, index, sealed],
                )?;
            }
            Ok(id)
        })
    }

    /// The log uploads waiting for the backend (of one door, or all), oldest first; quarantined ones are
    /// left out.
    pub fn pending_logs(&self, door_uuid: Option<&str>) -> Result<Vec<PendingLogs>, StoreError> {
        self.read(|conn| {
            let mut statement = conn.prepare(
                "SELECT id, door_uuid, hello, last_applied_seq, battery_percent FROM log_uploads
                 WHERE refused_at IS NULL AND (?1 IS NULL OR door_uuid = ?1) ORDER BY id",
            )?;
            let mut uploads = statement
                .query_map([door_uuid], |row| {
                    Ok(PendingLogs {
                        id: row.get(0)?,
                        door_uuid: row.get(1)?,
                        hello: row.get(2)?,
                        batches: Vec::new(),
                        last_applied_seq: get_u64(row, 3)?,
                        battery_percent: row.get(4)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            let mut batches =
                conn.prepare("SELECT idx, sealed FROM log_batches WHERE upload_id = ?1 ORDER BY idx")?;
            for upload in &mut uploads {
                upload.batches = batches
                    .query_map([upload.id], |row| Ok((row.get(0)?, row.get(1)?)))?
                    .collect::<Result<Vec<_>, _>>()?;
            }
            Ok(uploads)
        })
    }

    /// Quarantines an upload the backend refused with a 4xx: it stays stored (nothing is lost) with when and
    /// why, leaves [`Store::pending_logs`] and is listed by [`Store::quarantined_logs`].
    pub fn quarantine_logs(&self, id: i64, refusal: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                "UPDATE log_uploads SET refused_at = ?2, refusal = ?3 WHERE id = ?1",
                params![id, ts(now), refusal],
            )?;
            Ok(())
        })
    }

    /// The quarantined log uploads, oldest first.
    pub fn quarantined_logs(&self) -> Result<Vec<QuarantinedLogs>, StoreError> {
        self.read(|conn| {
            let mut statement = conn.prepare(
                "SELECT u.id, u.door_uuid, COUNT(b.idx), u.read_at, u.refused_at, u.refusal
                 FROM log_uploads u LEFT JOIN log_batches b ON b.upload_id = u.id
                 WHERE u.refused_at IS NOT NULL GROUP BY u.id ORDER BY u.id",
            )?;
            let rows = statement
                .query_map([], |row| {
                    Ok(QuarantinedLogs {
                        id: row.get(0)?,
                        door_uuid: row.get(1)?,
                        batch_count: usize::try_from(row.get::<_, i64>(2)?).unwrap_or(0),
                        read_at: row.get(3)?,
                        refused_at: row.get(4)?,
                        refusal: row.get(5)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
    }

    /// Drops an upload the backend acknowledged as stored.
    pub fn ack_logs(&self, id: i64) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute("DELETE FROM log_uploads WHERE id = ?1", [id])?;
            Ok(())
        })
    }
}

fn meta_get(conn: &Connection, key: &str) -> Result<Option<String>, StoreError> {
    Ok(conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |row| row.get(0)).optional()?)
}

fn meta_set(tx: &Transaction<'_>, key: &str, value: &str) -> Result<(), StoreError> {
    tx.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)", params![key, value])?;
    Ok(())
}

fn last_applied_in(conn: &Connection, door_uuid: &str) -> Result<u64, StoreError> {
    Ok(conn
        .query_row("SELECT last_applied_seq FROM lock_state WHERE door_uuid = ?1", [door_uuid], |row| {
            get_u64(row, 0)
        })
        .optional()?
        .unwrap_or(0))
}

#[cfg(test)]
mod tests;
