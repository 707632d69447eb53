//! `POST /access/sdk/v1/me/devices`: a user registers their phone's device key (idempotent per user and key).

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use latchkey::model::{RegisterDeviceRequest, me::DeviceView, validation};
use latchkey_protocol::crypto::PublicKey;
use rusqlite::{Connection, OptionalExtension, params};

use crate::backend::auth::UserCaller;
use crate::backend::db::{get_ts, ts};
use crate::backend::error::{AppError, AppResult};
use crate::backend::extract::JsonBody;
use crate::backend::state::{AppState, new_uuid};

pub fn router() -> Router<AppState> {
    Router::new().route("/access/sdk/v1/me/devices", post(register))
}

/// A compressed P-256 key as 66 hex characters: the 33 bytes, or a 400 that says what to send.
pub fn parse_public_key(text: &str) -> AppResult<[u8; 33]> {
    let invalid = || {
        AppError::BadRequest(
            "publicKey must be a compressed P-256 public key: 33 bytes as 66 hex characters (starting 02 or 03)"
                .into(),
        )
    };
    let bytes: [u8; 33] =
        hex::decode(text).ok().and_then(|bytes| bytes.try_into().ok()).ok_or_else(invalid)?;
    PublicKey::from_bytes(&bytes).map_err(|_| invalid())?;
    Ok(bytes)
}

async fn register(
    State(state): State<AppState>,
    caller: UserCaller,
    JsonBody(request): JsonBody<RegisterDeviceRequest>,
) -> AppResult<Json<DeviceView>> {
    let key = hex::encode(parse_public_key(&request.public_key)?);
    validation::validate_name("name", &request.name)?;
    let name = request.name.trim().to_owned();
    let now = state.now();
    let view = state.db.write(|tx| {
        if let Some(existing) = device_by_key(tx, &caller.user_uuid, &key)? {
            // The same key again: the same device (a retried or repeated registration), renamed if asked.
            tx.execute("UPDATE devices SET name = ?1 WHERE uuid = ?2", params![name, existing.device_uuid])?;
            return Ok::<_, AppError>(DeviceView { name, ..existing });
        }
        let view = DeviceView { device_uuid: new_uuid(), public_key: key, name, registered_at: now };
        tx.execute(
            "INSERT INTO devices (uuid, user_uuid, public_key, name, registered_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![view.device_uuid, caller.user_uuid, view.public_key, view.name, ts(now)],
        )?;
        Ok(view)
    })?;
    Ok(Json(view))
}

fn device_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<DeviceView> {
    Ok(DeviceView {
        device_uuid: row.get(0)?,
        public_key: row.get(1)?,
        name: row.get(2)?,
        registered_at: get_ts(row, 3)?,
    })
}

fn device_by_key(conn: &Connection, user: &str, key: &str) -> rusqlite::Result<Option<DeviceView>> {
    conn.query_row(
        "SELECT uuid, public_key, name, registered_at FROM devices WHERE user_uuid = ?1 AND public_key = ?2",
        params![user, key],
        device_from_row,
    )
    .optional()
}

/// One of `user`'s devices by uuid.
pub fn device(conn: &Connection, user: &str, device_uuid: &str) -> rusqlite::Result<Option<DeviceView>> {
    conn.query_row(
        "SELECT uuid, public_key, name, registered_at FROM devices WHERE user_uuid = ?1 AND uuid = ?2",
        params![user, device_uuid],
        device_from_row,
    )
    .optional()
}
