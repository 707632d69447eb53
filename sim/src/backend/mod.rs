//! The simulated access backend: one axum app serving auth, the partner API of the spec, the user-scoped
//! API (`/access/sdk/v1/me`) and the manager API, over one SQLite database.
//!
//! [`app`] builds the router without a socket, so tests can drive it directly; `crate::server` binds it.

pub mod auth;
pub mod controls;
pub mod db;
pub mod directory;
mod doorcodes;
pub mod error;
pub mod events;
pub mod extract;
pub mod grant;
pub mod idempotency;
pub mod lockside;
mod manager;
mod me;
pub mod outbox;
mod pagination;
mod partner;
pub mod radio;
pub mod ratelimit;
pub mod state;
pub mod web;

use std::any::Any;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router, middleware};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use error::AppError;
use state::AppState;

/// How long one request may take before the backend answers 408.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The whole backend as a router.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .merge(auth::oauth::router())
        .merge(partner::router())
        .merge(events::router())
        .merge(manager::router())
        .merge(me::router())
        .merge(web::router())
        .merge(controls::router())
        .merge(radio::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(state.clone(), idempotency::layer))
        .layer(DefaultBodyLimit::max(extract::MAX_BODY_BYTES))
        .layer(middleware::from_fn(extract::refuse_oversized_bodies))
        .layer(middleware::from_fn_with_state(state.clone(), controls::faults::layer))
        .layer(middleware::from_fn_with_state(state.clone(), ratelimit::layer))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, REQUEST_TIMEOUT))
        .layer(CatchPanicLayer::custom(panic_response))
        // One debug span per request (method, path and query, never headers or bodies) and its outcome.
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

async fn not_found() -> AppError {
    AppError::NotFound("no such endpoint: see docs/api.md for the paths the simulator serves".into())
}

async fn method_not_allowed() -> Response {
    let body = latchkey::model::ErrorBody::message("this endpoint does not accept that HTTP method");
    (StatusCode::METHOD_NOT_ALLOWED, Json(body)).into_response()
}

fn panic_response(_: Box<dyn Any + Send + 'static>) -> Response {
    AppError::internal("a handler panicked").into_response()
}
