//! The customer's manager web page (spec: user management) at `/manager`, and the invited user's account
//! pages at `/account`: plain server-rendered HTML, no JavaScript needed.
//!
//! - Signing in posts the manager token once; the page then holds a random session id in an `HttpOnly`,
//!   `SameSite=Strict` cookie (stored hashed in `web_sessions`), and every form carries the session's CSRF
//!   token, compared in constant time.
//! - Every form goes through the manager API itself (in process, with the manager token), so the web page
//!   obeys exactly the rules of the API; a rejected form is shown again with the API's message next to it
//!   and everything the user typed.
//! - Every response carries a strict Content-Security-Policy (no scripts, styles only from `/manager/style.css`).

pub mod account;
mod html;
mod pages;
mod webhooks;

use axum::Router;
use axum::body::Body;
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, Method, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Duration;
use rusqlite::{OptionalExtension, params};
use tower::ServiceExt;

use super::db::ts;
use super::error::AppError;
use super::state::{AppState, hash_secret, random_bytes};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "lk_manager_session";

/// How long a manager session lasts.
pub const SESSION_TTL_HOURS: i64 = 8;

/// The web routes.
pub fn router() -> Router<AppState> {
    pages::router().merge(account::router())
}

/// Headers of every HTML response: no caching, no framing, no scripts, no referrer.
pub fn secure_html(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        "content-security-policy",
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    response
}

/// A 303 to `location`.
pub fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert("location", value);
    }
    response
}

/// A signed-in manager session.
#[derive(Clone, Debug)]
pub struct Session {
    /// The token every form of this session must carry.
    pub csrf: String,
}

fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// The session of a request, if its cookie names a live one.
pub fn session(state: &AppState, headers: &HeaderMap) -> Option<Session> {
    let id = cookie_value(headers, SESSION_COOKIE)?;
    let now = ts(state.now());
    state
        .db
        .read(|conn| {
            conn.query_row(
                "SELECT csrf_token FROM web_sessions WHERE token_hash = ?1 AND expires_at > ?2",
                params![hash_secret(id), now],
                |row| row.get::<_, String>(0),
            )
            .optional()
        })
        .ok()
        .flatten()
        .map(|csrf| Session { csrf })
}

/// Starts a session; returns the `Set-Cookie` value.
pub fn start_session(state: &AppState) -> Result<String, AppError> {
    let id = URL_SAFE_NO_PAD.encode(random_bytes::<32>());
    let csrf = URL_SAFE_NO_PAD.encode(random_bytes::<32>());
    let now = state.now();
    state.db.write(|tx| {
        tx.execute("DELETE FROM web_sessions WHERE expires_at <= ?1", [ts(now)])?;
        tx.execute(
            "INSERT INTO web_sessions (token_hash, csrf_token, expires_at) VALUES (?1, ?2, ?3)",
            params![hash_secret(&id), csrf, ts(now + Duration::hours(SESSION_TTL_HOURS))],
        )
    })?;
    Ok(format!(
        "{SESSION_COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}",
        SESSION_TTL_HOURS * 3600
    ))
}

/// Ends the request's session; returns the `Set-Cookie` value that clears the cookie.
pub fn end_session(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(id) = cookie_value(headers, SESSION_COOKIE) {
        let hash = hash_secret(id);
        if let Err(error) =
            state.db.write(|tx| tx.execute("DELETE FROM web_sessions WHERE token_hash = ?1", [hash]))
        {
            tracing::warn!(%error, "could not end a web session");
        }
    }
    format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
}

/// Adds a `Set-Cookie` header.
pub fn with_cookie(mut response: Response, cookie: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(SET_COOKIE, value);
    }
    response
}

/// Equal in constant time (for tokens).
pub fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (hash_secret(a), hash_secret(b));
    a.iter().zip(b.iter()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The fields of an `application/x-www-form-urlencoded` body, in order (repeated names repeat).
#[derive(Clone, Debug, Default)]
pub struct FormData(pub Vec<(String, String)>);

impl FormData {
    /// Parses a form body.
    pub fn parse(bytes: &[u8]) -> FormData {
        FormData(url::form_urlencoded::parse(bytes).into_owned().collect())
    }

    /// The first value of `name`, or "".
    pub fn get(&self, name: &str) -> &str {
        self.0.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str()).unwrap_or_default()
    }

    /// Every value of `name`.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0.iter().filter(|(key, _)| key == name).map(|(_, value)| value.clone()).collect()
    }

    /// Whether a checkbox `name` was checked.
    pub fn checked(&self, name: &str) -> bool {
        self.0.iter().any(|(key, _)| key == name)
    }
}

/// Calls the manager API in process with the manager token: the JSON answer, or the API's message.
pub async fn call_api(
    state: &AppState,
    method: Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> Result<serde_json::Value, String> {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header(AUTHORIZATION, format!("Bearer {}", state.config.manager_token.expose()))
        .header(CONTENT_TYPE, "application/json")
        .body(Body::from(body.map(|value| value.to_string()).unwrap_or_default()))
        .map_err(|error| error.to_string())?;
    let response = super::manager::router()
        .with_state(state.clone())
        .oneshot(request)
        .await
        .map_err(|error| error.to_string())?;
    let status = response.status();
    let bytes =
        axum::body::to_bytes(response.into_body(), 1 << 20).await.map_err(|error| error.to_string())?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    if status.is_success() {
        Ok(value)
    } else {
        Err(value
            .get("message")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("the request was refused")
            .to_owned())
    }
}
