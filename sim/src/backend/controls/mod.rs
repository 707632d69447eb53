//! The simulator's controls for partners' own tests (`/sim/v1/controls/...`, manager token): the clock
//! ([`clock`]: freeze, move forward, unfreeze) and injected faults per route ([`faults`]: outages and
//! latency). docs/simulator-controls.md shows them with curl.
//!
//! They change how the simulator behaves, never what it stores: nothing here touches the database.

pub mod clock;
pub mod faults;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::auth::ManagerCaller;
use super::error::{AppError, AppResult};
use super::extract::{PathIds, parse_json};
use super::state::AppState;
use clock::{ClockReading, SimClock};
use faults::{FaultRequest, FaultView, Faults};

/// The controls of one simulator.
#[derive(Debug)]
pub struct Controls {
    /// The clock every time rule reads.
    pub clock: Arc<SimClock>,
    /// Faults injected per route.
    pub faults: Faults,
}

impl Controls {
    /// Controls over a clock that follows `base`.
    pub fn new(base: Arc<dyn latchkey::Clock>) -> Controls {
        Controls { clock: Arc::new(SimClock::new(base)), faults: Faults::default() }
    }
}

/// The control routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sim/v1/controls/clock", get(read_clock))
        .route("/sim/v1/controls/clock/freeze", post(freeze))
        .route("/sim/v1/controls/clock/advance", post(advance))
        .route("/sim/v1/controls/clock/unfreeze", post(unfreeze))
        .route("/sim/v1/controls/faults", get(list_faults).post(add_fault).delete(clear_faults))
        .route("/sim/v1/controls/faults/{id}", delete(remove_fault))
}

/// The clock as the API shows it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ClockView {
    now: DateTime<Utc>,
    frozen: bool,
    /// Seconds ahead of the real time.
    offset_seconds: i64,
}

impl From<ClockReading> for ClockView {
    fn from(reading: ClockReading) -> Self {
        ClockView { now: reading.now, frozen: reading.frozen, offset_seconds: reading.offset.num_seconds() }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FreezeRequest {
    /// The instant to stop at (now if absent); not in the past.
    at: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AdvanceRequest {
    /// How far to move the clock forward, in seconds.
    seconds: i64,
}

fn clock_error(error: clock::ClockError) -> AppError {
    AppError::BadRequest(error.to_string())
}

async fn read_clock(State(state): State<AppState>, _: ManagerCaller) -> Json<ClockView> {
    Json(state.controls.clock.reading().into())
}

async fn freeze(State(state): State<AppState>, _: ManagerCaller, body: Bytes) -> AppResult<Json<ClockView>> {
    let request: FreezeRequest =
        if body.iter().all(u8::is_ascii_whitespace) { FreezeRequest::default() } else { parse_json(&body)? };
    Ok(Json(state.controls.clock.freeze(request.at).map_err(clock_error)?.into()))
}

async fn advance(State(state): State<AppState>, _: ManagerCaller, body: Bytes) -> AppResult<Json<ClockView>> {
    let request: AdvanceRequest = parse_json(&body)?;
    // Ten years is far beyond any token, code or retention window, and keeps chrono's arithmetic in range.
    if !(1..=10 * 366 * 86_400).contains(&request.seconds) {
        return Err(AppError::BadRequest(
            "seconds must be a whole number from 1 to 316224000 (ten years): the clock only moves forward"
                .into(),
        ));
    }
    let reading = state.controls.clock.advance(Duration::seconds(request.seconds)).map_err(clock_error)?;
    Ok(Json(reading.into()))
}

async fn unfreeze(State(state): State<AppState>, _: ManagerCaller) -> Json<ClockView> {
    Json(state.controls.clock.unfreeze().into())
}

#[derive(Debug, Serialize)]
struct FaultsView {
    faults: Vec<FaultView>,
}

async fn list_faults(State(state): State<AppState>, _: ManagerCaller) -> Json<FaultsView> {
    Json(FaultsView { faults: state.controls.faults.list() })
}

async fn add_fault(
    State(state): State<AppState>,
    _: ManagerCaller,
    body: Bytes,
) -> AppResult<(StatusCode, Json<FaultView>)> {
    let request: FaultRequest = parse_json(&body)?;
    Ok((StatusCode::CREATED, Json(state.controls.faults.add(request)?)))
}

async fn clear_faults(State(state): State<AppState>, _: ManagerCaller) -> StatusCode {
    state.controls.faults.clear();
    StatusCode::NO_CONTENT
}

async fn remove_fault(
    State(state): State<AppState>,
    _: ManagerCaller,
    ids: PathIds,
) -> AppResult<StatusCode> {
    let id: u64 = ids.id(0).parse().map_err(|_| AppError::BadRequest("a fault id is a number".into()))?;
    if state.controls.faults.remove(id) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AppError::NotFound(format!("no fault {id}: list them with GET /sim/v1/controls/faults")))
    }
}
