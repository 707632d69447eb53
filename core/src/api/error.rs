//! [`ApiError`]: the one error type of the REST client, and the mapping from an HTTP status and error body
//! to it.
//!
//! This module owns the rule that no secret ever reaches an error: variants carry the server's `message`,
//! its machine-readable `error` code, the method and path of the endpoint, and descriptions of network and
//! decode failures with offending values removed. They never carry headers, tokens, client secrets, one-time
//! codes or request bodies.

use reqwest::StatusCode;
use thiserror::Error;

use super::verifier::{TlsSetupKind, setup_failure};
use crate::model::{ErrorBody, ValidationError};

/// What went wrong with a call to the access backend.
///
/// The variants tell apart a request refused before anything was sent ([`ApiError::Validation`],
/// [`ApiError::InvalidArgument`]), each status the backend uses, transport failures and responses that do
/// not match the model. HTTP variants carry the server's `message` (what to fix) and its `error` code when
/// there is one; [`ApiError::status`] gives the status as a number.
#[derive(Debug, Error)]
pub enum ApiError {
    /// The request breaks a rule of the spec; nothing was sent.
    #[error("invalid request, nothing was sent: {0}")]
    Validation(#[from] ValidationError),
    /// An argument cannot be sent at all (such as an empty identifier); nothing was sent.
    #[error("invalid argument, nothing was sent: {message}")]
    InvalidArgument {
        /// What is wrong and what to fix.
        message: String,
    },
    /// 400: the backend refused the request as invalid.
    #[error("400 Bad Request: {message}")]
    BadRequest {
        /// The server's message.
        message: String,
        /// The server's error code, such as `invalid_request`.
        code: Option<String>,
    },
    /// 401: missing, invalid or expired token, or bad client credentials at the token endpoint.
    #[error("401 Unauthorized: {message}")]
    Unauthorized {
        /// The server's message.
        message: String,
        /// The server's error code, such as `access_denied`.
        code: Option<String>,
    },
    /// 403: the wrong kind of token, a wrong or expired one-time code or refresh token, a wrong audience.
    #[error("403 Forbidden: {message}")]
    Forbidden {
        /// The server's message.
        message: String,
        /// The server's error code, such as `invalid_grant`.
        code: Option<String>,
    },
    /// 404: an unknown user, door, building or key (or no access to patch).
    #[error("404 Not Found: {message}")]
    NotFound {
        /// The server's message.
        message: String,
        /// The server's error code.
        code: Option<String>,
    },
    /// 409: the request conflicts with the backend's state (such as a key owned by another partner).
    #[error("409 Conflict: {message}")]
    Conflict {
        /// The server's message.
        message: String,
        /// The server's error code.
        code: Option<String>,
    },
    /// 422: such as an `Idempotency-Key` reused with a different body (`idempotency_key_reused`).
    #[error("422 Unprocessable Entity: {message}")]
    Unprocessable {
        /// The server's message.
        message: String,
        /// The server's error code.
        code: Option<String>,
    },
    /// 5xx, after the retries the policy allows.
    #[error("server error {status}: {message}")]
    Server {
        /// The HTTP status (500 to 599).
        status: u16,
        /// The server's message, or the status's reason phrase.
        message: String,
        /// The server's error code.
        code: Option<String>,
    },
    /// Any other non-success status.
    #[error("unexpected status {status}: {message}")]
    UnexpectedStatus {
        /// The HTTP status.
        status: u16,
        /// The server's message, or the status's reason phrase.
        message: String,
        /// The server's error code.
        code: Option<String>,
    },
    /// The backend could not be reached, or the exchange broke off, after the retries the policy allows.
    #[error("network error ({kind}) on {endpoint} after {attempts} attempt(s): {message}")]
    Network {
        /// Connect, timeout or connection lost.
        kind: NetworkErrorKind,
        /// Method and path, such as `GET /access/sdk/v1/doors`.
        endpoint: String,
        /// How many attempts were made.
        attempts: u32,
        /// The transport's description.
        message: String,
    },
    /// No HTTPS server can be trusted on this device: the platform's certificate verifier could not be set up
    /// (no root certificates on the system). Nothing was sent, and retrying will not help until the device is
    /// fixed; `http://` addresses are not affected.
    #[error("HTTPS unavailable ({kind}) on {endpoint}: {message}")]
    TlsSetup {
        /// What is missing.
        kind: TlsSetupKind,
        /// Method and path, such as `GET /access/sdk/v1/doors`.
        endpoint: String,
        /// What happened and what to do.
        message: String,
    },
    /// A body did not match the model (or a request body could not be encoded).
    #[error("could not decode the response of {endpoint}{}: {message}", status_suffix(.status))]
    Decode {
        /// Method and path, such as `GET /access/sdk/v1/doors`.
        endpoint: String,
        /// The status of the response, if there was one.
        status: Option<u16>,
        /// What did not match, with offending values left out.
        message: String,
    },
    /// The client could not be built (a base URL that cannot take paths, a TLS set-up failure).
    #[error("invalid client configuration: {message}")]
    Config {
        /// What is wrong.
        message: String,
    },
}

fn status_suffix(status: &Option<u16>) -> String {
    status.map(|status| format!(" (status {status})")).unwrap_or_default()
}

/// Which kind of transport failure an [`ApiError::Network`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NetworkErrorKind {
    /// The connection could not be established (refused, unreachable, DNS).
    Connect,
    /// The request or the connection attempt took longer than the configured timeout.
    Timeout,
    /// The connection broke off while sending the request or reading the response.
    ConnectionLost,
}

impl std::fmt::Display for NetworkErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NetworkErrorKind::Connect => "connect",
            NetworkErrorKind::Timeout => "timeout",
            NetworkErrorKind::ConnectionLost => "connection lost",
        })
    }
}

impl ApiError {
    /// The HTTP status of the response this error comes from, or none when there was no response
    /// (validation, network, configuration).
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::BadRequest { .. } => Some(400),
            ApiError::Unauthorized { .. } => Some(401),
            ApiError::Forbidden { .. } => Some(403),
            ApiError::NotFound { .. } => Some(404),
            ApiError::Conflict { .. } => Some(409),
            ApiError::Unprocessable { .. } => Some(422),
            ApiError::Server { status, .. } | ApiError::UnexpectedStatus { status, .. } => Some(*status),
            ApiError::Decode { status, .. } => *status,
            ApiError::Validation(_)
            | ApiError::InvalidArgument { .. }
            | ApiError::Network { .. }
            | ApiError::TlsSetup { .. }
            | ApiError::Config { .. } => None,
        }
    }

    /// The server's message, for errors that come from an error response.
    pub fn server_message(&self) -> Option<&str> {
        match self {
            ApiError::BadRequest { message, .. }
            | ApiError::Unauthorized { message, .. }
            | ApiError::Forbidden { message, .. }
            | ApiError::NotFound { message, .. }
            | ApiError::Conflict { message, .. }
            | ApiError::Unprocessable { message, .. }
            | ApiError::Server { message, .. }
            | ApiError::UnexpectedStatus { message, .. } => Some(message),
            _ => None,
        }
    }

    /// The server's machine-readable error code (`invalid_grant`, `idempotency_key_reused`, …), if any.
    pub fn code(&self) -> Option<&str> {
        match self {
            ApiError::BadRequest { code, .. }
            | ApiError::Unauthorized { code, .. }
            | ApiError::Forbidden { code, .. }
            | ApiError::NotFound { code, .. }
            | ApiError::Conflict { code, .. }
            | ApiError::Unprocessable { code, .. }
            | ApiError::Server { code, .. }
            | ApiError::UnexpectedStatus { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    /// Whether the request was refused on the client side, so nothing reached the backend.
    pub fn is_client_side(&self) -> bool {
        matches!(
            self,
            ApiError::Validation(_)
                | ApiError::InvalidArgument { .. }
                | ApiError::Config { .. }
                | ApiError::TlsSetup { .. }
        )
    }

    /// The error for a non-success response: the status picks the variant, the body (if it is an
    /// [`ErrorBody`]) gives the message and code.
    pub(crate) fn from_response(status: StatusCode, body: &[u8]) -> ApiError {
        let (message, code) = match serde_json::from_slice::<ErrorBody>(body) {
            Ok(error) => (error.message, error.error),
            Err(_) => {
                let reason = status.canonical_reason().unwrap_or("unknown status");
                let message = if body.is_empty() {
                    format!("{reason} (no response body)")
                } else {
                    format!("{reason} (a {}-byte body that is not an error JSON)", body.len())
                };
                (message, None)
            }
        };
        match status.as_u16() {
            400 => ApiError::BadRequest { message, code },
            401 => ApiError::Unauthorized { message, code },
            403 => ApiError::Forbidden { message, code },
            404 => ApiError::NotFound { message, code },
            409 => ApiError::Conflict { message, code },
            422 => ApiError::Unprocessable { message, code },
            status @ 500..=599 => ApiError::Server { status, message, code },
            status => ApiError::UnexpectedStatus { status, message, code },
        }
    }

    /// A transport failure from reqwest, classified, its URL stripped.
    pub(crate) fn from_transport(error: reqwest::Error, endpoint: &str, attempts: u32) -> ApiError {
        if let Some(failure) = setup_failure(&error) {
            return ApiError::TlsSetup {
                kind: failure.kind,
                endpoint: endpoint.to_owned(),
                message: failure.message,
            };
        }
        let kind = if error.is_timeout() {
            NetworkErrorKind::Timeout
        } else if error.is_connect() {
            NetworkErrorKind::Connect
        } else {
            NetworkErrorKind::ConnectionLost
        };
        let error = error.without_url();
        let mut message = error.to_string();
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        ApiError::Network { kind, endpoint: endpoint.to_owned(), attempts, message }
    }

    /// A body that did not match the model. serde's "invalid type/value" messages quote the offending
    /// value, which may be a token or a doorcode: only what was expected, and where, is kept.
    pub(crate) fn decode(endpoint: &str, status: Option<u16>, error: &serde_json::Error) -> ApiError {
        let text = error.to_string();
        let message = if text.starts_with("invalid type") || text.starts_with("invalid value") {
            let expected = text
                .split_once(", expected ")
                .map(|(_, rest)| rest.split(" at line ").next().unwrap_or(rest))
                .unwrap_or("another value");
            format!(
                "a value of the wrong type or out of range (expected {expected}) at line {} column {}",
                error.line(),
                error.column()
            )
        } else {
            text
        };
        ApiError::Decode { endpoint: endpoint.to_owned(), status, message }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_variants_with_the_server_message() {
        let body = br#"{"message":"endTime must be after now","error":"invalid_request"}"#;
        let error = ApiError::from_response(StatusCode::BAD_REQUEST, body);
        assert!(
            matches!(&error, ApiError::BadRequest { message, .. } if message == "endTime must be after now")
        );
        assert_eq!(error.status(), Some(400));
        assert_eq!(error.code(), Some("invalid_request"));
        assert_eq!(error.server_message(), Some("endTime must be after now"));
        for (status, expected) in
            [(401, 401), (403, 403), (404, 404), (409, 409), (422, 422), (503, 503), (418, 418)]
        {
            let status = StatusCode::from_u16(status).expect("status");
            assert_eq!(ApiError::from_response(status, b"").status(), Some(expected));
        }
        assert!(matches!(
            ApiError::from_response(StatusCode::BAD_GATEWAY, b"<html>"),
            ApiError::Server { status: 502, .. }
        ));
        assert!(matches!(
            ApiError::from_response(StatusCode::IM_A_TEAPOT, b""),
            ApiError::UnexpectedStatus { status: 418, .. }
        ));
    }

    #[test]
    fn decode_errors_leave_out_the_offending_value() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Token {
            access_token: String,
        }
        let error = serde_json::from_str::<Token>(r#"{"access_token": 987654321}"#).expect_err("wrong type");
        let error = ApiError::decode("POST /v1/oauth/token", Some(200), &error);
        let text = format!("{error} {error:?}");
        assert!(!text.contains("987654321"), "{text}");
        assert!(text.contains("expected a string"), "{text}");
    }
}
