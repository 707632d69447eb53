//! The JSON body of every error response.

use serde::{Deserialize, Serialize};

/// Every error response of the backend: a human-readable `message` that says what to fix, and for the auth
/// endpoints the OAuth `error` code and `error_description` too.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What went wrong and what to fix.
    pub message: String,
    /// A machine-readable code (OAuth errors, `idempotency_key_reused`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The OAuth description, same text as `message`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}

impl ErrorBody {
    /// A plain error with a message.
    pub fn message(message: impl Into<String>) -> ErrorBody {
        ErrorBody { message: message.into(), error: None, error_description: None }
    }

    /// An OAuth-style error: `error` code plus the same text as `message` and `error_description`.
    pub fn oauth(code: impl Into<String>, message: impl Into<String>) -> ErrorBody {
        let message = message.into();
        ErrorBody { error: Some(code.into()), error_description: Some(message.clone()), message }
    }
}
