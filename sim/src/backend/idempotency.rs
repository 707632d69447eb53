//! `Idempotency-Key` on POSTs: the first response to a (caller, key) is stored; the same key with the same
//! request replays it (header `Idempotent-Replayed: true`) without applying anything again; the same key
//! with a different request is a 422. A request still in progress under the key gets a 409. 5xx responses
//! are not stored, so a retry after a server failure runs again.
//!
//! Callers are told apart by their verified token's subject, not by the token itself, so a retry after a
//! token refresh still finds its stored response.

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header::CONTENT_TYPE};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::Duration;
use rusqlite::{OptionalExtension, params};
use sha2::{Digest, Sha256};

use super::auth;
use super::db::{get_ts, ts};
use super::error::AppError;
use super::extract::MAX_BODY_BYTES;
use super::state::AppState;

/// The request header.
pub const HEADER: &str = "idempotency-key";
/// The header marking a replayed response.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";
/// How long a pending entry blocks its key before it is considered abandoned (a crashed request).
const PENDING_TIMEOUT_SECONDS: i64 = 60;
/// How long a stored response is replayed; after that the key may be used afresh.
pub const RETENTION: chrono::TimeDelta = chrono::TimeDelta::hours(24);

/// Forgets stored responses older than [`RETENTION`]; returns how many. The server calls it periodically.
pub fn prune(state: &AppState) -> rusqlite::Result<usize> {
    let cutoff = state.now() - RETENTION;
    state.db.write(|tx| tx.execute("DELETE FROM idempotency WHERE created_at < ?1", [ts(cutoff)]))
}

/// An idempotency row: request hash, status and body (none while pending), creation time.
type StoredRow = (Vec<u8>, Option<u16>, Option<Vec<u8>>, chrono::DateTime<chrono::Utc>);

enum Stored {
    Replay(StatusCode, Vec<u8>),
    Mismatch,
    InProgress,
    Fresh,
}

/// The middleware.
pub async fn layer(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    let Some(key) = request.headers().get(HEADER).cloned() else {
        return next.run(request).await;
    };
    let (parts, body) = request.into_parts();
    let Some(caller) = auth::caller_identity(&state, &parts) else {
        // No valid token: untracked, the header is ignored (the auth endpoints keep their OAuth error
        // bodies; elsewhere the handler answers 401 itself).
        return next.run(Request::from_parts(parts, body)).await;
    };
    let key = match key.to_str() {
        Ok(key) if (1..=255).contains(&key.len()) => key.to_owned(),
        _ => {
            return AppError::BadRequest("Idempotency-Key must be 1 to 255 visible ASCII characters".into())
                .into_response();
        }
    };
    let bytes = match to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => bytes,
        Err(_) => return super::extract::too_large().into_response(),
    };
    let mut hasher = Sha256::new();
    hasher.update(parts.uri.path().as_bytes());
    hasher.update([0]);
    hasher.update(&bytes);
    let request_hash = hasher.finalize().to_vec();

    let stored = match claim(&state, &caller, &key, &request_hash) {
        Ok(stored) => stored,
        Err(error) => return error.into_response(),
    };
    match stored {
        Stored::Replay(status, body) => {
            let has_body = !body.is_empty();
            let mut response = (status, body).into_response();
            if has_body {
                response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            }
            response.headers_mut().insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
            return response;
        }
        Stored::Mismatch => {
            return AppError::IdempotencyKeyReused(
                "this Idempotency-Key was already used with a different request; use a new key for a new request"
                    .into(),
            )
            .into_response();
        }
        Stored::InProgress => {
            return AppError::Conflict(
                "a request with this Idempotency-Key is still in progress; retry in a moment".into(),
            )
            .into_response();
        }
        Stored::Fresh => {}
    }

    let response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    let (response_parts, response_body) = response.into_parts();
    let response_bytes = to_bytes(response_body, usize::MAX).await.unwrap_or_default();
    let status = response_parts.status;
    let saved = state.db.write(|tx| {
        if status.is_server_error() {
            tx.execute("DELETE FROM idempotency WHERE caller = ?1 AND key = ?2", params![caller, key])
        } else {
            tx.execute(
                "UPDATE idempotency SET status = ?1, body = ?2 WHERE caller = ?3 AND key = ?4",
                params![status.as_u16(), &response_bytes[..], caller, key],
            )
        }
    });
    if let Err(error) = saved {
        tracing::error!(%error, "could not store an idempotent response");
    }
    Response::from_parts(response_parts, Body::from(response_bytes))
}

/// Looks the key up and, when it is new (or abandoned), claims it as pending.
fn claim(state: &AppState, caller: &str, key: &str, request_hash: &[u8]) -> Result<Stored, AppError> {
    let now = state.now();
    Ok(state.db.write(|tx| {
        let row: Option<StoredRow> = tx
            .query_row(
                "SELECT request_hash, status, body, created_at FROM idempotency WHERE caller = ?1 AND key = ?2",
                params![caller, key],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, get_ts(row, 3)?)),
            )
            .optional()?;
        let stored = match row {
            Some((hash, _, _, _)) if hash != request_hash => Stored::Mismatch,
            Some((_, Some(status), body, _)) => Stored::Replay(
                StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
                body.unwrap_or_default(),
            ),
            Some((_, None, _, created)) if now - created < Duration::seconds(PENDING_TIMEOUT_SECONDS) => {
                Stored::InProgress
            }
            _ => {
                tx.execute(
                    "INSERT OR REPLACE INTO idempotency (caller, key, request_hash, status, body, created_at)
                     VALUES (?1, ?2, ?3, NULL, NULL, ?4)",
                    params![caller, key, request_hash, ts(now)],
                )?;
                Stored::Fresh
            }
        };
        Ok::<_, rusqlite::Error>(stored)
    })?)
}
