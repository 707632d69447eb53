//! `verify_webhook`: checks a Standard Webhooks delivery for a JVM or Python partner backend, delegating to
//! `latchkey::webhooks::verify`.

use std::collections::HashMap;

use latchkey::webhooks::{self, WebhookError};

use crate::models::Timestamp;

/// Why a webhook delivery was refused. The message says what is wrong; it never holds the secret.
#[derive(Debug, thiserror::Error, uniffi::Error)]
#[uniffi(flat_error)]
pub enum WebhookVerificationError {
    /// The secret is not `whsec_` followed by the base64 of 24 to 64 bytes.
    #[error("{0}")]
    SecretFormat(String),
    /// `webhook-id`, `webhook-timestamp` or `webhook-signature` is missing.
    #[error("{0}")]
    MissingHeader(String),
    /// `webhook-timestamp` is not Unix seconds.
    #[error("{0}")]
    BadTimestamp(String),
    /// The timestamp is more than 5 minutes from `now`: refuse it as a replay.
    #[error("{0}")]
    OutsideTolerance(String),
    /// No signature matches the secret: the body was altered or the secret is another endpoint's.
    #[error("{0}")]
    NoMatchingSignature(String),
}

impl From<WebhookError> for WebhookVerificationError {
    fn from(error: WebhookError) -> Self {
        let message = error.to_string();
        match error {
            WebhookError::SecretFormat => WebhookVerificationError::SecretFormat(message),
            WebhookError::MissingHeader(_) => WebhookVerificationError::MissingHeader(message),
            WebhookError::BadTimestamp => WebhookVerificationError::BadTimestamp(message),
            WebhookError::OutsideTolerance => WebhookVerificationError::OutsideTolerance(message),
            WebhookError::NoMatchingSignature => WebhookVerificationError::NoMatchingSignature(message),
        }
    }
}

/// Checks a webhook delivery: its headers (names in any case), its raw body exactly as received, the
/// endpoint's `whsec_` secret and the current time. Returns normally when the backend holding that secret
/// sent this body within 5 minutes of `now`; de-duplicate on `webhook-id` afterwards.
#[uniffi::export]
pub fn verify_webhook(
    headers: HashMap<String, String>,
    body: Vec<u8>,
    secret: String,
    now: Timestamp,
) -> Result<(), WebhookVerificationError> {
    Ok(webhooks::verify(&headers, &body, &secret, now)?)
}
