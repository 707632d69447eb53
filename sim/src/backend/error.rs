//! [`AppError`]: every failure a handler can return, turned into the spec's status code and a JSON
//! [`ErrorBody`] whose `message` says what to fix. Unexpected failures are logged here with their details
//! and reach the caller as a 500 with a generic message and no internals.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use latchkey::model::{ErrorBody, ValidationError};

/// A handler failure.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 400: the request breaks a rule; the message says which.
    #[error("{0}")]
    BadRequest(String),
    /// 401: missing, invalid or expired token.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: the token is valid but of the wrong kind for this endpoint.
    #[error("{0}")]
    Forbidden(String),
    /// 404: an unknown (or invisible to this caller) resource.
    #[error("{0}")]
    NotFound(String),
    /// 409: conflicts with the current state.
    #[error("{0}")]
    Conflict(String),
    /// 410: what the request points at is no longer kept (an event feed cursor past the retention).
    #[error("{0}")]
    Gone(String),
    /// 413: the request body is larger than [`super::extract::MAX_BODY_BYTES`].
    #[error("{0}")]
    PayloadTooLarge(String),
    /// 422: an Idempotency-Key reused with a different request.
    #[error("{0}")]
    IdempotencyKeyReused(String),
    /// An OAuth error of the auth endpoints: status, OAuth code, message.
    #[error("{2}")]
    OAuth(StatusCode, &'static str, String),
    /// 500: anything unexpected. Logged, never shown.
    #[error("internal error: {0}")]
    Internal(String),
}

/// What handlers return.
pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    /// 500 from any displayable cause (logged, not sent).
    pub fn internal(cause: impl std::fmt::Display) -> AppError {
        AppError::Internal(cause.to_string())
    }
}

impl From<rusqlite::Error> for AppError {
    fn from(error: rusqlite::Error) -> Self {
        AppError::internal(format_args!("database: {error}"))
    }
}

impl From<ValidationError> for AppError {
    fn from(error: ValidationError) -> Self {
        AppError::BadRequest(error.to_string())
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, body) = match self {
            AppError::BadRequest(message) => (StatusCode::BAD_REQUEST, ErrorBody::message(message)),
            AppError::Unauthorized(message) => (StatusCode::UNAUTHORIZED, ErrorBody::message(message)),
            AppError::Forbidden(message) => (StatusCode::FORBIDDEN, ErrorBody::message(message)),
            AppError::NotFound(message) => (StatusCode::NOT_FOUND, ErrorBody::message(message)),
            AppError::Conflict(message) => (StatusCode::CONFLICT, ErrorBody::message(message)),
            AppError::Gone(message) => (StatusCode::GONE, ErrorBody::message(message)),
            AppError::PayloadTooLarge(message) => {
                (StatusCode::PAYLOAD_TOO_LARGE, ErrorBody::message(message))
            }
            AppError::IdempotencyKeyReused(message) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorBody { message, error: Some("idempotency_key_reused".into()), error_description: None },
            ),
            AppError::OAuth(status, code, message) => (status, ErrorBody::oauth(code, message)),
            AppError::Internal(details) => {
                tracing::error!(%details, "unexpected failure");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    ErrorBody::message("There was an unexpected error. Contact Latch Support."),
                )
            }
        };
        (status, Json(body)).into_response()
    }
}
