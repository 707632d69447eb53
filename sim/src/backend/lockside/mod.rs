//! The backend's side of the lock protocol: what the access backend signs for locks and what it takes
//! back from them.
//!
//! - [`keys`]: the backend's P-256 signing key (credentials, deltas, time tokens), kept in `meta`.
//! - [`provision`]: a lock's identity and shared secrets, created when the manager activates a door.
//! - [`credentials`]: credentials for a user's device key, and signed time tokens.
//! - [`deltas`]: the door's desired lock state (access list, PERMANENT code hashes, zone rule, log ack),
//!   diffed against what was already issued into the next sequenced, signed delta.
//! - [`logs`]: ingesting uploaded event logs exactly once, verifying their chain.
//!
//! It owns the tables `lock_provisioning`, `lock_deltas`, `lock_sent`, `lock_log_entries` and
//! `lock_log_heads`. It never touches a virtual lock's private state (`crate::locks` does), and it serves
//! no HTTP yet: the functions take a connection so tests, the demo and later endpoints can call them.

pub mod credentials;
pub mod deltas;
pub mod keys;
pub mod logs;
pub mod provision;

pub use credentials::{issue_credential, time_token};
pub use deltas::pending_deltas;
pub use keys::BackendKeys;
pub use logs::{IngestReport, ingest_entries, ingest_logs, stored_entries};
pub use provision::{LockInfo, Provisioned, lock_info, provision};

use crate::backend::error::{AppError, AppResult};

/// A door uuid as the 16 bytes locks use for their id.
pub fn lock_id(door_uuid: &str) -> AppResult<[u8; 16]> {
    uuid::Uuid::parse_str(door_uuid)
        .map(uuid::Uuid::into_bytes)
        .map_err(|_| AppError::BadRequest(format!("{door_uuid:?} is not a door uuid")))
}

/// Unix seconds as the protocol's u32 (clamped to its range).
pub fn unix_u32(instant: chrono::DateTime<chrono::Utc>) -> u32 {
    u32::try_from(instant.timestamp().max(0)).unwrap_or(u32::MAX)
}
