//! The user's locks: `GET me/locks` (with credentials for a registered device), and for one lock the sync
//! data a phone carries to it, the log upload it carries back, and the access log.

use std::str::FromStr;

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use latchkey::model::{
    AccessLogEntry, AccessLogsResponse, AccessMethod, AccessResult, LockView, LocksResponse, MyAccessView,
    PasscodeType, SyncDataView, UploadLogsRequest, UploadLogsResponse,
};
use latchkey_protocol::credential::Credential;
use latchkey_protocol::eventlog::{Entry, EventKind};
use latchkey_protocol::sync::MAX_DELTAS_PER_SYNC;
use rusqlite::{Connection, OptionalExtension, params};

use super::devices::{device, parse_public_key};
use super::{hex_field, my_door, my_doors};
use crate::backend::auth::UserCaller;
use crate::backend::db::ts;
use crate::backend::directory::{self, AccessRecord, DoorRecord, GranterRef};
use crate::backend::error::{AppError, AppResult};
use crate::backend::extract::{JsonBody, Params, PathIds};
use crate::backend::lockside::{self, deltas::access_id};
use crate::backend::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/access/sdk/v1/me/locks", get(locks))
        .route("/access/sdk/v1/me/locks/{door}/sync", get(sync_data))
        .route("/access/sdk/v1/me/locks/{door}/logs", post(upload_logs))
        .route("/access/sdk/v1/me/locks/{door}/access-logs", get(access_logs))
}

async fn locks(
    State(state): State<AppState>,
    caller: UserCaller,
    params: Params,
) -> AppResult<Json<LocksResponse>> {
    params.only(&["deviceUuid"])?;
    let now = state.now();
    let locks = state.db.read(|conn| {
        let device_key = match params.get("deviceUuid") {
            Some(uuid) => {
                let device = device(conn, &caller.user_uuid, uuid)?.ok_or_else(|| {
                    AppError::NotFound(format!(
                        "device {uuid} not found: register it with POST /access/sdk/v1/me/devices"
                    ))
                })?;
                Some(parse_public_key(&device.public_key)?)
            }
            None => None,
        };
        let mut locks = Vec::new();
        for (door, access) in my_doors(conn, &caller, now)? {
            locks.push(lock_view(conn, &state, &caller, &door, &access, device_key, now)?);
        }
        locks.sort_by(|a, b| (&a.building_name, &a.name).cmp(&(&b.building_name, &b.name)));
        Ok::<_, AppError>(locks)
    })?;
    Ok(Json(LocksResponse { locks }))
}

fn lock_view(
    conn: &Connection,
    state: &AppState,
    caller: &UserCaller,
    door: &DoorRecord,
    access: &AccessRecord,
    device_key: Option<[u8; 33]>,
    now: DateTime<Utc>,
) -> AppResult<LockView> {
    let building_name: String =
        conn.query_row("SELECT name FROM buildings WHERE uuid = ?1", [&door.view.building_uuid], |row| {
            row.get(0)
        })?;
    let lock = lockside::lock_info(conn, &door.view.uuid)?;
    let view = access.view();
    let (credential, credential_expires_at) = match (device_key, &lock) {
        (Some(device_key), Some(_)) if access.passcode_type == PasscodeType::Permanent => {
            let bytes = lockside::issue_credential(
                conn,
                &state.lock_keys,
                &caller.user_uuid,
                &door.view.uuid,
                device_key,
                now,
            )?;
            let expires = Credential::decode(&bytes)
                .map_err(|error| AppError::internal(format_args!("issued credential: {error}")))
                .map(|credential| DateTime::<Utc>::from_timestamp(credential.body.not_after.into(), 0))?;
            (Some(hex::encode(bytes)), expires)
        }
        _ => (None, None),
    };
    Ok(LockView {
        door_uuid: door.view.uuid.clone(),
        lock_id: hex::encode(lockside::lock_id(&door.view.uuid)?),
        name: door.view.name.clone(),
        building_uuid: door.view.building_uuid.clone(),
        building_name,
        timezone: door.timezone.clone(),
        is_connected: door.view.is_connected,
        lock_public_key: lock.map(|lock| hex::encode(lock.lock_public_key)),
        battery: door.view.device.as_ref().map(|device| device.battery.clone()),
        access: MyAccessView {
            passcode_type: view.passcode_type,
            role: view.role,
            shareable: view.shareable,
            start_time: view.start_time,
            end_time: view.end_time,
            granter: view.granter,
        },
        credential,
        credential_expires_at,
        doorcode: Some(view.doorcode),
    })
}

async fn sync_data(
    State(state): State<AppState>,
    caller: UserCaller,
    ids: PathIds,
    params: Params,
) -> AppResult<Json<SyncDataView>> {
    params.only(&["afterSeq"])?;
    let after_seq = match params.get("afterSeq") {
        Some(text) => text.parse::<u64>().map_err(|_| {
            AppError::BadRequest(format!(
                "afterSeq must be the lock's last applied delta sequence, a whole number: {text:?}"
            ))
        })?,
        None => 0,
    };
    let door_uuid = ids.id(0);
    let now = state.now();
    let view = state.db.write(|tx| {
        my_door(tx, &caller, door_uuid, now)?;
        // The phone's afterSeq is only as good as what it was told; never skip past what the lock's
        // authenticated log says it applied.
        let after_seq = after_seq.min(lockside::logs::authenticated_applied_seq(tx, door_uuid)?.unwrap_or(0));
        let mut deltas = lockside::pending_deltas(tx, &state.lock_keys, door_uuid, after_seq, now)?;
        deltas.truncate(MAX_DELTAS_PER_SYNC);
        let last: Option<i64> =
            tx.query_row("SELECT MAX(seq) FROM lock_deltas WHERE door_uuid = ?1", [door_uuid], |row| {
                row.get(0)
            })?;
        Ok::<_, AppError>(SyncDataView {
            deltas: deltas.iter().map(hex::encode).collect(),
            time_token: Some(hex::encode(lockside::time_token(&state.lock_keys, door_uuid, now)?)),
            last_issued_seq: last.and_then(|seq| u64::try_from(seq).ok()).unwrap_or(0),
        })
    })?;
    Ok(Json(view))
}

async fn upload_logs(
    State(state): State<AppState>,
    caller: UserCaller,
    ids: PathIds,
    JsonBody(request): JsonBody<UploadLogsRequest>,
) -> AppResult<Json<UploadLogsResponse>> {
    let door_uuid = ids.id(0);
    let hello = hex_field("hello", &request.hello)?;
    let batches = request
        .batches
        .iter()
        .map(|batch| {
            Ok((batch.index, hex_field(&format!("batches[{}].sealed", batch.index), &batch.sealed)?))
        })
        .collect::<AppResult<Vec<_>>>()?;
    if let Some(percent) = request.battery_percent
        && percent > 100
    {
        return Err(AppError::BadRequest(format!("batteryPercent must be 0 to 100, not {percent}")));
    }
    let now = state.now();
    let report = state.db.write(|tx| {
        my_door(tx, &caller, door_uuid, now)?;
        let report = lockside::ingest_logs(tx, door_uuid, &hello, &batches, now)?;
        if let Some(percent) = request.battery_percent {
            tx.execute(
                "UPDATE doors SET battery_percentage = ?1, battery_updated_at = ?2
                 WHERE uuid = ?3 AND serial_number IS NOT NULL",
                params![percent, ts(now), door_uuid],
            )?;
        }
        Ok::<_, AppError>(report)
    })?;
    if let Some(applied) = request.last_applied_seq {
        tracing::debug!(door = door_uuid, applied, "the lock reported its last applied delta");
    }
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    Ok(Json(UploadLogsResponse {
        stored: count(report.stored),
        duplicates: count(report.duplicates),
        acknowledged_seq: report.last_seq,
    }))
}

async fn access_logs(
    State(state): State<AppState>,
    caller: UserCaller,
    ids: PathIds,
) -> AppResult<Json<AccessLogsResponse>> {
    let door_uuid = ids.id(0);
    let now = state.now();
    let entries = state.db.read(|conn| {
        let (door, _) = my_door(conn, &caller, door_uuid, now)?;
        let zone = chrono_tz::Tz::from_str(&door.timezone).map_err(|_| {
            AppError::internal(format_args!("stored time zone {:?} is unknown", door.timezone))
        })?;
        let accesses = door_accesses(conn, door_uuid)?;
        let mut out = Vec::new();
        for entry in lockside::stored_entries(conn, door_uuid)?.iter().rev() {
            let Some(Attempt { method, result, reason, subject: Some(subject) }) =
                classify(conn, entry, &accesses, door_uuid, &zone)?
            else {
                continue;
            };
            let is_me = subject == caller.user_uuid;
            // A guest of the caller: someone holding (or who held, at this door) an access the caller granted.
            let is_guest = !is_me
                && accesses.iter().any(|(access, _)| {
                    access.user_uuid == subject
                        && access.granter == GranterRef::User(caller.user_uuid.clone())
                });
            if !is_me && !is_guest {
                continue;
            }
            let user = directory::user(conn, &subject)?;
            out.push(AccessLogEntry {
                time: DateTime::<Utc>::from_timestamp(entry.record.time.into(), 0).unwrap_or_default(),
                time_uncertain: entry.record.time_uncertain,
                method,
                result,
                reason,
                user_name: user.map(|user| format!("{} {}", user.first_name, user.last_name)),
                user_uuid: Some(subject),
                is_guest,
            });
        }
        Ok::<_, AppError>(out)
    })?;
    Ok(Json(AccessLogsResponse { entries }))
}

/// An access with its DAILY code's local day (`YYYY-MM-DD`) and slot, if it has one.
pub(crate) type SlottedAccess = (AccessRecord, Option<(String, u16)>);

/// What a log entry says about an access attempt.
pub(crate) struct Attempt {
    pub(crate) method: AccessMethod,
    pub(crate) result: AccessResult,
    pub(crate) reason: Option<String>,
    /// The user the entry is about, when the backend can tell.
    pub(crate) subject: Option<String>,
}

/// Every access stored at a door (ended ones too), with its DAILY day and slot.
pub(crate) fn door_accesses(conn: &Connection, door_uuid: &str) -> AppResult<Vec<SlottedAccess>> {
    let mut out = Vec::new();
    let users: Vec<String> = {
        let mut statement =
            conn.prepare_cached("SELECT DISTINCT user_uuid FROM accesses WHERE door_uuid = ?1")?;
        let rows = statement.query_map([door_uuid], |row| row.get(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    for user in users {
        for access in directory::accesses_of(conn, &user)?.into_iter().filter(|a| a.door_uuid == door_uuid) {
            let (granter_type, granter_uuid) = access.granter.columns();
            let slot: Option<(Option<String>, Option<u16>)> = conn
                .query_row(
                    "SELECT code_day, code_slot FROM accesses
                     WHERE user_uuid = ?1 AND door_uuid = ?2 AND granter_type = ?3 AND granter_uuid = ?4",
                    params![access.user_uuid, door_uuid, granter_type, granter_uuid],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .optional()?;
            let slot = match slot {
                Some((Some(day), Some(slot))) => Some((day, slot)),
                _ => None,
            };
            out.push((access, slot));
        }
    }
    Ok(out)
}

/// An entry's method, result, reason and subject user (when the lock's record names one the backend can
/// map to a user); `None` for entries that are not access attempts (sync, clock, power, overflow).
pub(crate) fn classify(
    conn: &Connection,
    entry: &Entry,
    accesses: &[SlottedAccess],
    door_uuid: &str,
    zone: &chrono_tz::Tz,
) -> AppResult<Option<Attempt>> {
    let record = &entry.record;
    let user_of_id = |id: [u8; 16]| -> AppResult<Option<String>> {
        let uuid = uuid::Uuid::from_bytes(id).to_string();
        Ok(directory::user(conn, &uuid)?.map(|user| user.uuid))
    };
    let detail_low = record.detail & 0xff;
    let detail_high = record.detail >> 8;
    let (method, result, reason, subject) = match record.kind {
        EventKind::UNLOCK_GRANTED => {
            (AccessMethod::Ble, AccessResult::Granted, None, user_of_id(record.subject)?)
        }
        EventKind::UNLOCK_DENIED => (
            AccessMethod::Ble,
            AccessResult::Denied,
            Some(format!("the lock refused the credential (code {detail_low})")),
            user_of_id(record.subject)?,
        ),
        EventKind::DOORCODE_GRANTED => {
            let subject = match detail_high {
                // PERMANENT: the subject is the access id the sync delivered with the code's hash.
                3 => accesses
                    .iter()
                    .find(|(access, _)| access_id(access) == record.subject)
                    .map(|(access, _)| access.user_uuid.clone()),
                // DAILY kinds: (door, kind, local day, slot) names the access.
                tag @ (1 | 2) => {
                    let kind = if tag == 1 { PasscodeType::Daily } else { PasscodeType::DailySingleUse };
                    let day = DateTime::<Utc>::from_timestamp(record.time.into(), 0)
                        .map(|time| time.with_timezone(zone).date_naive().to_string());
                    accesses
                        .iter()
                        .find(|(access, slot)| {
                            access.passcode_type == kind
                                && access.door_uuid == door_uuid
                                && slot.as_ref().is_some_and(|(code_day, code_slot)| {
                                    Some(code_day) == day.as_ref() && *code_slot == detail_low
                                })
                        })
                        .map(|(access, _)| access.user_uuid.clone())
                }
                _ => None,
            };
            (AccessMethod::Doorcode, AccessResult::Granted, None, subject)
        }
        EventKind::DOORCODE_DENIED | EventKind::KEYPAD_LOCKED_OUT => {
            (AccessMethod::Doorcode, AccessResult::Denied, Some("the doorcode was refused".into()), None)
        }
        _ => return Ok(None),
    };
    Ok(Some(Attempt { method, result, reason, subject }))
}
