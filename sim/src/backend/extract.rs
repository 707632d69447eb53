//! Request extractors that turn every malformed input into a JSON 400 saying what to fix, instead of axum's
//! plain-text rejections: [`JsonBody`] for bodies, [`Params`] for query strings, [`PathIds`] for path ids.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::StatusCode;
use axum::http::header::CONTENT_LENGTH;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use super::error::AppError;

/// The largest request body accepted, in bytes (the contract's limit, shared with the client).
pub use latchkey::model::MAX_BODY_BYTES;

/// A JSON request body. Content-Type is not required; the body must parse as `T`.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                too_large()
            } else {
                AppError::BadRequest(format!("could not read the request body: {rejection}"))
            }
        })?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// The 413 of a body over [`MAX_BODY_BYTES`] (the router's body limit refuses it before it is buffered).
pub fn too_large() -> AppError {
    AppError::PayloadTooLarge(format!(
        "the request body is larger than {MAX_BODY_BYTES} bytes: send less (split a large upload into batches)"
    ))
}

/// Middleware: a request that announces a body over [`MAX_BODY_BYTES`] (`Content-Length`) gets the JSON 413
/// before anything reads it; a chunked one is stopped by the router's `DefaultBodyLimit` as it is read.
pub async fn refuse_oversized_bodies(request: Request, next: Next) -> Response {
    let announced = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if announced.is_some_and(|length| length > MAX_BODY_BYTES as u64) {
        return too_large().into_response();
    }
    next.run(request).await
}

/// Parses a JSON body with an error message that names the problem (field, type, position).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    if bytes.len() > MAX_BODY_BYTES {
        return Err(too_large());
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(AppError::BadRequest("the request body is empty: send a JSON object".into()));
    }
    // Most bodies are valid: parse them directly, and only for a refused one pay for tracking the path.
    if let Ok(value) = serde_json::from_slice(bytes) {
        return Ok(value);
    }
    // The path names the field at fault ("startTime: input contains invalid characters").
    let invalid =
        |error: &dyn std::fmt::Display| AppError::BadRequest(format!("invalid request body: {error}"));
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| invalid(&error))?;
    deserializer.end().map_err(|error| invalid(&error))?;
    Ok(value)
}

/// Query parameters, checked against the names an endpoint knows so a typo is an error, not ignored.
#[derive(Debug, Default)]
pub struct Params(pub BTreeMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Query(map) = Query::<BTreeMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|rejection| AppError::BadRequest(format!("invalid query string: {rejection}")))?;
        Ok(Params(map))
    }
}

impl Params {
    /// Refuses any parameter not in `known`.
    pub fn only(&self, known: &[&str]) -> Result<&Self, AppError> {
        if let Some(unknown) = self.0.keys().find(|name| !known.contains(&name.as_str())) {
            return Err(AppError::BadRequest(format!(
                "unknown query parameter `{unknown}`; this endpoint takes {}",
                known.join(", ")
            )));
        }
        Ok(self)
    }

    /// A parameter's value, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
}

/// The identifiers in a path, as strings.
#[derive(Debug)]
pub struct PathIds(pub Vec<String>);

impl<S: Send + Sync> FromRequestParts<S> for PathIds {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(ids) = Path::<Vec<(String, String)>>::from_request_parts(parts, state)
            .await
            .map_err(|rejection| AppError::BadRequest(format!("invalid path: {rejection}")))?;
        Ok(PathIds(ids.into_iter().map(|(_, value)| value).collect()))
    }
}

impl PathIds {
    /// The `index`-th id of the path (0 is the first).
    pub fn id(&self, index: usize) -> &str {
        self.0.get(index).map(String::as_str).unwrap_or_default()
    }
}
