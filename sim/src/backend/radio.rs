//! The radio: the simulator's virtual locks over HTTP on loopback, so a BLE transport written in any
//! language (the Kotlin and Swift transports of the bindings' tests, Python, C) reaches the real lock code
//! with real packets, exactly as the in-memory link (`crate::link`) does in Rust.
//!
//! - `GET /sim/v1/radio/advertisements`: every virtual lock, as a scan would hear it (lock id, door, RSSI);
//! - `POST /sim/v1/radio/connections` `{lockId, mtu}`: connects (`404` if no lock advertises that id);
//! - `POST …/connections/{id}/subscribe`: the lock's notified packets in answer (its Hello);
//! - `POST …/connections/{id}/write` `{packet}`: one ATT write; the packets the lock notifies in answer;
//! - `DELETE …/connections/{id}`: disconnects.
//!
//! Packets are base64 (standard alphabet, padded); lock ids are 32 lowercase hex characters. The radio
//! is a test control of the simulator, guarded by the manager token like the manager API. It moves
//! packets and nothing else: framing and protocol are `LockConnection`'s (the lock side) and the phone's.
//! A lock that closes the connection (a protocol error, a finished unlock) answers later writes with 409.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Extension, Json, Router};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use latchkey_protocol::framing::{MAX_MTU, MIN_MTU};
use serde::{Deserialize, Serialize};

use super::auth::ManagerCaller;
use super::error::{AppError, AppResult};
use super::extract::{JsonBody, PathIds};
use super::state::{AppState, new_uuid};
use crate::link::DEFAULT_RSSI;
use crate::locks::LockConnection;

/// The most connections held at once; connecting beyond it drops the oldest (a client that never
/// disconnects cannot grow the simulator's memory without bound).
pub const MAX_CONNECTIONS: usize = 64;

/// The MTU of a connection that does not ask for one (a common phone value).
pub const DEFAULT_MTU: u16 = 185;

/// One open connection: its id and the lock's side of it.
type Open = (String, Arc<Mutex<LockConnection>>);

/// The open connections, oldest first.
#[derive(Clone, Default)]
struct Radio {
    connections: Arc<Mutex<VecDeque<Open>>>,
}

impl Radio {
    fn table(&self) -> MutexGuard<'_, VecDeque<Open>> {
        self.connections.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn get(&self, id: &str) -> AppResult<Arc<Mutex<LockConnection>>> {
        self.table()
            .iter()
            .find(|(known, _)| known == id)
            .map(|(_, connection)| connection.clone())
            .ok_or_else(|| {
                AppError::NotFound(format!(
                    "no radio connection {id}: connect first (it may have been dropped)"
                ))
            })
    }
}

/// The radio routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sim/v1/radio/advertisements", get(advertisements))
        .route("/sim/v1/radio/connections", post(connect))
        .route("/sim/v1/radio/connections/{connection}", delete(disconnect))
        .route("/sim/v1/radio/connections/{connection}/subscribe", post(subscribe))
        .route("/sim/v1/radio/connections/{connection}/write", post(write))
        .layer(Extension(Radio::default()))
}

/// One lock heard.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct AdvertisementView {
    lock_id: String,
    door_uuid: String,
    rssi: i16,
}

#[derive(Debug, Serialize)]
struct AdvertisementsResponse {
    advertisements: Vec<AdvertisementView>,
}

async fn advertisements(
    State(state): State<AppState>,
    _: ManagerCaller,
) -> AppResult<Json<AdvertisementsResponse>> {
    let ids = state.locks.lock_ids().map_err(AppError::internal)?;
    let advertisements = ids
        .into_iter()
        .map(|id| AdvertisementView {
            lock_id: hex::encode(id),
            door_uuid: uuid::Uuid::from_bytes(id).to_string(),
            rssi: DEFAULT_RSSI,
        })
        .collect();
    Ok(Json(AdvertisementsResponse { advertisements }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ConnectRequest {
    lock_id: String,
    #[serde(default)]
    mtu: Option<u16>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ConnectResponse {
    connection_id: String,
    mtu: u16,
}

async fn connect(
    State(state): State<AppState>,
    Extension(radio): Extension<Radio>,
    _: ManagerCaller,
    JsonBody(request): JsonBody<ConnectRequest>,
) -> AppResult<Json<ConnectResponse>> {
    let lock_id: [u8; 16] =
        hex::decode(&request.lock_id).ok().and_then(|bytes| bytes.try_into().ok()).ok_or_else(|| {
            AppError::BadRequest(
                "lockId must be 32 hex characters (the 16-byte lock id a lock advertises)".into(),
            )
        })?;
    let mtu = request.mtu.unwrap_or(DEFAULT_MTU);
    if !(MIN_MTU..=MAX_MTU).contains(&mtu) {
        return Err(AppError::BadRequest(format!("mtu must be {MIN_MTU} to {MAX_MTU}; got {mtu}")));
    }
    let lock = state.locks.get(lock_id).map_err(AppError::internal)?.ok_or_else(|| {
        AppError::NotFound(format!("no lock advertises {}: it is not in range", request.lock_id))
    })?;
    let connection = LockConnection::new(lock, mtu).map_err(AppError::internal)?;
    let connection_id = new_uuid();
    let mut table = radio.table();
    while table.len() >= MAX_CONNECTIONS {
        table.pop_front();
    }
    table.push_back((connection_id.clone(), Arc::new(Mutex::new(connection))));
    Ok(Json(ConnectResponse { connection_id, mtu }))
}

#[derive(Debug, Serialize)]
struct PacketsResponse {
    packets: Vec<String>,
}

fn packets(packets: Vec<Vec<u8>>) -> Json<PacketsResponse> {
    Json(PacketsResponse { packets: packets.iter().map(|packet| STANDARD.encode(packet)).collect() })
}

fn closed(error: impl std::fmt::Display) -> AppError {
    AppError::Conflict(format!("the lock closed the connection ({error}): connect again"))
}

fn lock(connection: &Mutex<LockConnection>) -> MutexGuard<'_, LockConnection> {
    connection.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn subscribe(
    Extension(radio): Extension<Radio>,
    _: ManagerCaller,
    ids: PathIds,
) -> AppResult<Json<PacketsResponse>> {
    let connection = radio.get(ids.id(0))?;
    let hello = lock(&connection).subscribe().map_err(closed)?;
    Ok(packets(hello))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WriteRequest {
    packet: String,
}

async fn write(
    Extension(radio): Extension<Radio>,
    _: ManagerCaller,
    ids: PathIds,
    JsonBody(request): JsonBody<WriteRequest>,
) -> AppResult<Json<PacketsResponse>> {
    let connection = radio.get(ids.id(0))?;
    let packet = STANDARD
        .decode(&request.packet)
        .map_err(|error| AppError::BadRequest(format!("packet must be standard base64: {error}")))?;
    let mut connection = lock(&connection);
    let max = usize::from(connection.mtu()) - 3;
    if packet.len() > max {
        return Err(AppError::BadRequest(format!(
            "a packet of {} bytes exceeds MTU - 3 = {max}",
            packet.len()
        )));
    }
    let replies = connection.write(&packet).map_err(closed)?;
    Ok(packets(replies))
}

async fn disconnect(Extension(radio): Extension<Radio>, _: ManagerCaller, ids: PathIds) -> StatusCode {
    radio.table().retain(|(known, _)| known != ids.id(0));
    StatusCode::NO_CONTENT
}
