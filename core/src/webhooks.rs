//! Standard Webhooks signatures (<https://www.standardwebhooks.com>): what the backend's webhook
//! deliveries carry and what a partner backend checks.
//!
//! A delivery has `webhook-id` (the event id), `webhook-timestamp` (Unix seconds) and `webhook-signature`:
//! space-separated `v1,<base64 HMAC-SHA256>` over `id.timestamp.body`, keyed with the bytes of a `whsec_`
//! secret. During a secret rotation a delivery carries one signature per valid secret, so a receiver holding
//! either verifies it. [`verify`] is what a partner calls; [`sign`] is what the simulator sends with. This
//! module does no I/O and reads no clock: `now` is an argument.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Duration, Utc};
use ring::hmac;

/// The prefix of a webhook secret.
pub const SECRET_PREFIX: &str = "whsec_";

/// How far a delivery's timestamp may be from `now`, either way, in [`verify`] (Standard Webhooks' 5 minutes).
pub const TOLERANCE_SECONDS: i64 = 5 * 60;

/// Why a delivery did not verify, or a secret is unusable. Never includes the secret or a signature.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// The secret is not `whsec_` followed by base64 of 24 to 64 bytes.
    #[error("a webhook secret is \"whsec_\" followed by the base64 of 24 to 64 random bytes")]
    SecretFormat,
    /// A required header is missing.
    #[error("the delivery has no {0} header")]
    MissingHeader(&'static str),
    /// `webhook-timestamp` is not Unix seconds.
    #[error("webhook-timestamp is not a whole number of seconds since 1970")]
    BadTimestamp,
    /// The timestamp is more than [`TOLERANCE_SECONDS`] away from now (a replayed or delayed delivery).
    #[error(
        "webhook-timestamp is more than {TOLERANCE_SECONDS} seconds away from now: refuse it as a replay"
    )]
    OutsideTolerance,
    /// No `v1` signature matches the secret.
    #[error(
        "no webhook-signature matches the secret: the body was altered, or the secret is not this endpoint's"
    )]
    NoMatchingSignature,
}

/// A webhook signing key, parsed from its `whsec_` text. Its Debug output hides the key.
#[derive(Clone)]
pub struct WebhookSecret {
    key: Vec<u8>,
}

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(redacted)")
    }
}

impl WebhookSecret {
    /// Parses `whsec_<base64 of 24..=64 bytes>`.
    pub fn parse(text: &str) -> Result<WebhookSecret, WebhookError> {
        let encoded = text.strip_prefix(SECRET_PREFIX).ok_or(WebhookError::SecretFormat)?;
        let key = STANDARD.decode(encoded).map_err(|_| WebhookError::SecretFormat)?;
        if !(24..=64).contains(&key.len()) {
            return Err(WebhookError::SecretFormat);
        }
        Ok(WebhookSecret { key })
    }

    /// A secret from 32 key bytes (the backend makes them with a CSPRNG).
    pub fn from_bytes(key: [u8; 32]) -> WebhookSecret {
        WebhookSecret { key: key.to_vec() }
    }

    /// The `whsec_` text of the secret.
    pub fn expose(&self) -> String {
        format!("{SECRET_PREFIX}{}", STANDARD.encode(&self.key))
    }

    /// `v1,<base64 HMAC-SHA256 of id.timestamp.body>`.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let key = hmac::Key::new(hmac::HMAC_SHA256, &self.key);
        let mut context = hmac::Context::with_key(&key);
        context.update(id.as_bytes());
        context.update(b".");
        context.update(timestamp.to_string().as_bytes());
        context.update(b".");
        context.update(body);
        format!("v1,{}", STANDARD.encode(context.sign().as_ref()))
    }

    fn matches(&self, id: &str, timestamp: i64, body: &[u8], signature: &str) -> bool {
        let Some(encoded) = signature.strip_prefix("v1,") else { return false };
        let Ok(tag) = STANDARD.decode(encoded) else { return false };
        let key = hmac::Key::new(hmac::HMAC_SHA256, &self.key);
        let mut message = Vec::with_capacity(id.len() + body.len() + 24);
        message.extend_from_slice(id.as_bytes());
        message.push(b'.');
        message.extend_from_slice(timestamp.to_string().as_bytes());
        message.push(b'.');
        message.extend_from_slice(body);
        hmac::verify(&key, &message, &tag).is_ok()
    }
}

/// The `webhook-signature` header for a delivery signed with every one of `secrets` (one, or two during a rotation's
/// overlap: the new one and the old one).
pub fn sign(secrets: &[&WebhookSecret], id: &str, timestamp: i64, body: &[u8]) -> String {
    secrets.iter().map(|secret| secret.sign(id, timestamp, body)).collect::<Vec<_>>().join(" ")
}

/// Checks a delivery: its headers (names in any case), its raw body exactly as received, the endpoint's
/// `whsec_` secret and the current time. `Ok` means the body was sent by the backend holding that secret,
/// unaltered, within [`TOLERANCE_SECONDS`] of `now`. De-duplicate on `webhook-id` afterwards: a delivery
/// may arrive more than once.
pub fn verify(
    headers: &HashMap<String, String>,
    body: &[u8],
    secret: &str,
    now: DateTime<Utc>,
) -> Result<(), WebhookError> {
    let secret = WebhookSecret::parse(secret)?;
    let header = |name: &'static str| {
        headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
            .ok_or(WebhookError::MissingHeader(name))
    };
    let id = header("webhook-id")?;
    let timestamp: i64 =
        header("webhook-timestamp")?.trim().parse().map_err(|_| WebhookError::BadTimestamp)?;
    let signatures = header("webhook-signature")?;
    let sent = DateTime::from_timestamp(timestamp, 0).ok_or(WebhookError::BadTimestamp)?;
    if (now - sent).abs() > Duration::seconds(TOLERANCE_SECONDS) {
        return Err(WebhookError::OutsideTolerance);
    }
    if signatures.split_whitespace().any(|signature| secret.matches(id, timestamp, body, signature)) {
        Ok(())
    } else {
        Err(WebhookError::NoMatchingSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference vector of the Standard Webhooks libraries.
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TIMESTAMP: i64 = 1_614_265_330;
    const BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    fn headers(signature: &str, timestamp: i64) -> HashMap<String, String> {
        HashMap::from([
            ("Webhook-Id".to_owned(), ID.to_owned()),
            ("webhook-timestamp".to_owned(), timestamp.to_string()),
            ("webhook-signature".to_owned(), signature.to_owned()),
        ])
    }

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, 0).expect("instant")
    }

    #[test]
    fn signs_the_reference_vector() {
        let secret = WebhookSecret::parse(SECRET).expect("secret");
        assert_eq!(secret.sign(ID, TIMESTAMP, BODY), SIGNATURE);
        assert_eq!(secret.expose(), SECRET);
    }

    #[test]
    fn verifies_a_genuine_delivery_within_the_window_only() {
        assert_eq!(verify(&headers(SIGNATURE, TIMESTAMP), BODY, SECRET, at(TIMESTAMP + 300)), Ok(()));
        assert_eq!(verify(&headers(SIGNATURE, TIMESTAMP), BODY, SECRET, at(TIMESTAMP - 300)), Ok(()));
        assert_eq!(
            verify(&headers(SIGNATURE, TIMESTAMP), BODY, SECRET, at(TIMESTAMP + 301)),
            Err(WebhookError::OutsideTolerance)
        );
    }

    #[test]
    fn refuses_an_altered_body_id_timestamp_or_another_secret() {
        let now = at(TIMESTAMP);
        assert_eq!(
            verify(&headers(SIGNATURE, TIMESTAMP), br#"{"test": 2432232315}"#, SECRET, now),
            Err(WebhookError::NoMatchingSignature)
        );
        assert_eq!(
            verify(&headers(SIGNATURE, TIMESTAMP + 1), BODY, SECRET, now),
            Err(WebhookError::NoMatchingSignature)
        );
        let mut other_id = headers(SIGNATURE, TIMESTAMP);
        other_id.insert("Webhook-Id".into(), "msg_other".into());
        assert_eq!(verify(&other_id, BODY, SECRET, now), Err(WebhookError::NoMatchingSignature));
        let other = WebhookSecret::from_bytes([7; 32]).expose();
        assert_eq!(
            verify(&headers(SIGNATURE, TIMESTAMP), BODY, &other, now),
            Err(WebhookError::NoMatchingSignature)
        );
        assert_eq!(
            verify(&headers("v2,abc", TIMESTAMP), BODY, SECRET, now),
            Err(WebhookError::NoMatchingSignature)
        );
    }

    #[test]
    fn during_a_rotation_either_secret_verifies() {
        let old = WebhookSecret::parse(SECRET).expect("old");
        let new = WebhookSecret::from_bytes([9; 32]);
        let both = sign(&[&new, &old], ID, TIMESTAMP, BODY);
        let now = at(TIMESTAMP);
        assert_eq!(verify(&headers(&both, TIMESTAMP), BODY, SECRET, now), Ok(()));
        assert_eq!(verify(&headers(&both, TIMESTAMP), BODY, &new.expose(), now), Ok(()));
    }

    #[test]
    fn bad_secrets_and_headers_say_what_is_wrong() {
        for bad in ["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_!!!", "whsec_c2hvcnQ=", ""] {
            assert_eq!(WebhookSecret::parse(bad).map(|_| ()), Err(WebhookError::SecretFormat), "{bad}");
        }
        let mut missing = headers(SIGNATURE, TIMESTAMP);
        missing.remove("webhook-signature");
        assert_eq!(
            verify(&missing, BODY, SECRET, at(TIMESTAMP)),
            Err(WebhookError::MissingHeader("webhook-signature"))
        );
        let mut bad_time = headers(SIGNATURE, TIMESTAMP);
        bad_time.insert("webhook-timestamp".into(), "yesterday".into());
        assert_eq!(verify(&bad_time, BODY, SECRET, at(TIMESTAMP)), Err(WebhookError::BadTimestamp));
        let secret = WebhookSecret::parse(SECRET).expect("secret");
        assert!(!format!("{secret:?}").contains("MfKQ"));
    }
}
