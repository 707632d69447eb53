//! Credentials for a user's device key at one door, and signed time tokens (protocol.md §4, §23).

use chrono::{DateTime, Duration, Utc};
use latchkey::model::Role as ModelRole;
use latchkey_protocol::credential::{CredentialBody, Flags, Role};
use latchkey_protocol::crypto::PublicKey;
use latchkey_protocol::sync::TimeToken;
use rusqlite::Connection;

use super::keys::BackendKeys;
use super::provision::require_lock;
use super::{lock_id, unix_u32};
use crate::backend::directory;
use crate::backend::error::{AppError, AppResult};
use crate::backend::state::random_bytes;

/// The longest a credential is valid from the moment it is issued; phones refresh before.
pub const MAX_CREDENTIAL_DAYS: i64 = 30;

/// Issues a 156-byte credential binding `device_pub` to `user_uuid` at `door_uuid`.
///
/// Only for a user with a current access to the door (the latest-ending one counts). The window is the
/// access window clipped to [`MAX_CREDENTIAL_DAYS`] from `now`; role and shareable come from the access;
/// privileged is never set here.
pub fn issue_credential(
    conn: &Connection,
    keys: &BackendKeys,
    user_uuid: &str,
    door_uuid: &str,
    device_pub: [u8; 33],
    now: DateTime<Utc>,
) -> AppResult<Vec<u8>> {
    let device_pub = PublicKey::from_bytes(&device_pub).map_err(|_| {
        AppError::BadRequest("devicePublicKey must be a 33-byte compressed P-256 public key".into())
    })?;
    require_lock(conn, door_uuid)?;
    let access = directory::accesses_of(conn, user_uuid)?
        .into_iter()
        .filter(|access| access.door_uuid == door_uuid && access.is_current(now))
        .max_by_key(|access| access.end_time.unwrap_or(DateTime::<Utc>::MAX_UTC))
        .ok_or_else(|| {
            AppError::Forbidden(format!("user {user_uuid} has no current access to door {door_uuid}"))
        })?;
    let cap = now + Duration::days(MAX_CREDENTIAL_DAYS);
    let not_after = access.end_time.map_or(cap, |end| end.min(cap));
    let body = CredentialBody {
        credential_id: random_bytes::<16>(),
        lock_id: lock_id(door_uuid)?,
        user_id: lock_id(user_uuid)?,
        not_before: unix_u32(access.start_time),
        not_after: unix_u32(not_after),
        role: match access.role {
            ModelRole::Resident => Role::Resident,
            ModelRole::NonResident => Role::NonResident,
        },
        flags: Flags { shareable: access.shareable, privileged: false },
        device_pub,
    };
    Ok(body.sign(keys.signing()).encode().to_vec())
}

/// An 84-byte time token for the lock of `door_uuid`, stating `now`.
pub fn time_token(keys: &BackendKeys, door_uuid: &str, now: DateTime<Utc>) -> AppResult<Vec<u8>> {
    Ok(TimeToken::sign(lock_id(door_uuid)?, unix_u32(now), keys.signing()).encode().to_vec())
}
