//! The user-scoped API (`/access/sdk/v1/me/...`), for callers holding a user token (the passwordless
//! grant): device keys, the user's locks with credentials, sync data and log upload for offline locks,
//! access logs, and guests.
//!
//! A user sees a door only while they hold a current access to it (not ended) and the partner whose app they
//! signed in through may still use it (an enabled key assigned to that partner); anything else is a 404.

mod devices;
mod guests;
pub(super) mod locks;

use axum::Router;
use chrono::{DateTime, Utc};
use latchkey::model::PasscodeType;
use rusqlite::Connection;

use super::auth::UserCaller;
use super::directory::{self, AccessRecord, DoorRecord};
use super::error::{AppError, AppResult};
use super::state::AppState;

/// The routes of the user-scoped API.
pub fn router() -> Router<AppState> {
    Router::new().merge(devices::router()).merge(locks::router()).merge(guests::router())
}

/// The access that speaks for the user at a door when they hold several: PERMANENT before DAILY kinds, then
/// the one ending last.
fn best_access(accesses: impl IntoIterator<Item = AccessRecord>) -> Option<AccessRecord> {
    accesses.into_iter().max_by_key(|access| {
        (access.passcode_type == PasscodeType::Permanent, access.end_time.unwrap_or(DateTime::<Utc>::MAX_UTC))
    })
}

/// The user's current accesses, grouped by door (in order of first grant), on doors the caller's partner
/// may use: `(door, the best access there, every current access there)`.
fn my_doors(
    conn: &Connection,
    caller: &UserCaller,
    now: DateTime<Utc>,
) -> AppResult<Vec<(DoorRecord, AccessRecord)>> {
    let accesses: Vec<AccessRecord> = directory::accesses_of(conn, &caller.user_uuid)?
        .into_iter()
        .filter(|access| access.is_current(now))
        .collect();
    let mut door_uuids: Vec<&str> = Vec::new();
    for access in &accesses {
        if !door_uuids.contains(&access.door_uuid.as_str()) {
            door_uuids.push(&access.door_uuid);
        }
    }
    let mut doors = Vec::with_capacity(door_uuids.len());
    for door_uuid in door_uuids {
        let Some(door) = directory::visible_door(conn, &caller.partner_uuid, door_uuid)? else { continue };
        let here = accesses.iter().filter(|access| access.door_uuid == door_uuid).cloned();
        if let Some(best) = best_access(here) {
            doors.push((door, best));
        }
    }
    Ok(doors)
}

/// One door of the user ([`my_doors`]), or a 404 that says why it may be missing.
fn my_door(
    conn: &Connection,
    caller: &UserCaller,
    door_uuid: &str,
    now: DateTime<Utc>,
) -> AppResult<(DoorRecord, AccessRecord)> {
    let door = directory::visible_door(conn, &caller.partner_uuid, door_uuid)?;
    let best = best_access(
        directory::accesses_of(conn, &caller.user_uuid)?
            .into_iter()
            .filter(|access| access.door_uuid == door_uuid && access.is_current(now)),
    );
    match (door, best) {
        (Some(door), Some(access)) => Ok((door, access)),
        _ => Err(door_not_found(door_uuid)),
    }
}

fn door_not_found(door_uuid: &str) -> AppError {
    AppError::NotFound(format!(
        "door {door_uuid} not found: it must be a door you have a current access to, usable by this app \
         (list them with GET /access/sdk/v1/me/locks)"
    ))
}

/// Decodes a lowercase (or uppercase) hex field, or a 400 naming it.
fn hex_field(field: &str, value: &str) -> AppResult<Vec<u8>> {
    hex::decode(value).map_err(|_| AppError::BadRequest(format!("{field} must be a hex string: {value:?}")))
}
