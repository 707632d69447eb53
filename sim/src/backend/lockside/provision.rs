//! Provisioning a lock when the manager activates its door: the lock's static key pair and the secrets it
//! shares with the backend (log key, PERMANENT code-hash key; the door secret already exists). The backend
//! keeps the public key and the shared secrets in `lock_provisioning`; the private material is handed to the
//! caller once ([`Provisioned`]), to be installed in the (virtual) lock in the same transaction.

use chrono::{DateTime, Utc};
use latchkey_protocol::crypto::{DhSecret, SECRET_KEY_LEN};
use rusqlite::{Connection, OptionalExtension, params};

use super::keys::BackendKeys;
use super::{lock_id, time_token};
use crate::backend::db::ts;
use crate::backend::directory;
use crate::backend::error::{AppError, AppResult};
use crate::backend::state::random_bytes;

/// What a freshly provisioned lock must hold. Debug hides the secrets.
#[derive(Clone)]
pub struct Provisioned {
    /// The door uuid.
    pub door_uuid: String,
    /// The lock id (the door uuid's bytes).
    pub lock_id: [u8; 16],
    /// The lock's static private key (ECDH in the full unlock).
    pub static_secret: [u8; SECRET_KEY_LEN],
    /// The event-log MAC key.
    pub log_key: [u8; 32],
    /// The PERMANENT code-hash key.
    pub code_hash_key: [u8; 32],
    /// The door's doorcode secret (DAILY codes).
    pub door_secret: [u8; 32],
    /// The backend's public key, compressed.
    pub backend_public: [u8; 33],
    /// The deltas issued so far (the first carries the zone rule and the current access list).
    pub deltas: Vec<Vec<u8>>,
    /// A time token for the installer to set the lock's clock.
    pub time_token: Vec<u8>,
}

impl std::fmt::Debug for Provisioned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provisioned").field("door_uuid", &self.door_uuid).finish_non_exhaustive()
    }
}

/// What the backend knows of a provisioned lock. Debug hides the secrets.
#[derive(Clone)]
pub struct LockInfo {
    /// The door uuid.
    pub door_uuid: String,
    /// The lock id.
    pub lock_id: [u8; 16],
    /// The lock's static public key, compressed (phones need it for the full unlock).
    pub lock_public_key: [u8; 33],
    /// The event-log MAC key.
    pub log_key: [u8; 32],
    /// The PERMANENT code-hash key.
    pub code_hash_key: [u8; 32],
    /// The door's doorcode secret.
    pub door_secret: [u8; 32],
    /// The building's IANA zone.
    pub timezone: String,
    /// Whether the lock is online (gets deltas straight from the backend).
    pub is_connected: bool,
}

impl std::fmt::Debug for LockInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LockInfo").field("door_uuid", &self.door_uuid).finish_non_exhaustive()
    }
}

/// Creates the lock's keys for `door_uuid` and issues its first delta. Run inside the activation's
/// transaction; refuses a door that is already provisioned.
pub fn provision(
    conn: &Connection,
    keys: &BackendKeys,
    door_uuid: &str,
    now: DateTime<Utc>,
) -> AppResult<Provisioned> {
    let id = lock_id(door_uuid)?;
    let door = directory::door(conn, door_uuid)?
        .ok_or_else(|| AppError::NotFound(format!("door {door_uuid} not found")))?;
    let (static_secret, public) = loop {
        let bytes = random_bytes::<SECRET_KEY_LEN>();
        if let Ok(secret) = DhSecret::from_bytes(&bytes) {
            break (bytes, secret.public_key().to_bytes());
        }
    };
    let log_key = random_bytes::<32>();
    let code_hash_key = random_bytes::<32>();
    conn.execute(
        "INSERT INTO lock_provisioning (door_uuid, lock_public_key, log_key, code_hash_key, provisioned_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![door_uuid, &public[..], &log_key[..], &code_hash_key[..], ts(now)],
    )?;
    let deltas = super::pending_deltas(conn, keys, door_uuid, 0, now)?;
    Ok(Provisioned {
        door_uuid: door_uuid.to_owned(),
        lock_id: id,
        static_secret,
        log_key,
        code_hash_key,
        door_secret: door.doorcode_secret,
        backend_public: keys.public_key().to_bytes(),
        deltas,
        time_token: time_token(keys, door_uuid, now)?,
    })
}

fn blob<const N: usize>(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<[u8; N]> {
    let bytes: Vec<u8> = row.get(index)?;
    bytes.try_into().map_err(|_| {
        rusqlite::Error::FromSqlConversionFailure(
            index,
            rusqlite::types::Type::Blob,
            "wrong key length".into(),
        )
    })
}

/// The provisioning of `door_uuid`, or `None` if its lock was never activated.
pub fn lock_info(conn: &Connection, door_uuid: &str) -> AppResult<Option<LockInfo>> {
    let Some(door) = directory::door(conn, door_uuid)? else {
        return Ok(None);
    };
    let keys = conn
        .query_row(
            "SELECT lock_public_key, log_key, code_hash_key FROM lock_provisioning WHERE door_uuid = ?1",
            [door_uuid],
            |row| Ok((blob::<33>(row, 0)?, blob::<32>(row, 1)?, blob::<32>(row, 2)?)),
        )
        .optional()?;
    let Some((lock_public_key, log_key, code_hash_key)) = keys else {
        return Ok(None);
    };
    Ok(Some(LockInfo {
        door_uuid: door_uuid.to_owned(),
        lock_id: lock_id(door_uuid)?,
        lock_public_key,
        log_key,
        code_hash_key,
        door_secret: door.doorcode_secret,
        timezone: door.timezone,
        is_connected: door.view.is_connected,
    }))
}

/// Like [`lock_info`], but a door without a lock is a 404 that says to activate it.
pub fn require_lock(conn: &Connection, door_uuid: &str) -> AppResult<LockInfo> {
    lock_info(conn, door_uuid)?.ok_or_else(|| {
        AppError::NotFound(format!(
            "door {door_uuid} has no provisioned lock: activate it with POST /manager/v1/doors/{door_uuid}/activate"
        ))
    })
}
