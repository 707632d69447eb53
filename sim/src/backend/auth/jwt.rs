//! Access tokens as HS256 JSON Web Tokens (RFC 7519), signed with the simulator's key.
//!
//! Only this module knows the token format; the rest of the backend sees [`Claims`].

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// Which kind of caller a token stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    /// A partner backend (client credentials).
    Partner,
    /// A user of a partner app (passwordless).
    User,
    /// An OpenID identity token: says who signed in, never accepted as a bearer token.
    Identity,
}

/// The claims of a Latchkey access token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Issuer.
    pub iss: String,
    /// The partner (partner tokens) or user (user tokens).
    pub sub: String,
    /// The audience.
    pub aud: String,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// A unique id.
    pub jti: String,
    /// Partner or user token.
    pub kind: TokenKind,
    /// The partner the token was issued through.
    pub partner: String,
    /// Granted scope, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// Why a token was refused. The message is safe to send: it never contains the token.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not three base64url parts of JSON.
    #[error("the access token is malformed")]
    Malformed,
    /// The signature does not match.
    #[error("the access token's signature is invalid")]
    BadSignature,
    /// Past its expiry.
    #[error("the access token has expired; fetch a new one")]
    Expired,
    /// For another audience.
    #[error("the access token is for another audience")]
    WrongAudience,
}

const HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

/// Signs `claims` into a compact JWT.
pub fn encode(claims: &Claims, key: &[u8]) -> String {
    let header = URL_SAFE_NO_PAD.encode(HEADER);
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default());
    let signing_input = format!("{header}.{payload}");
    let signature = URL_SAFE_NO_PAD.encode(sign(key, signing_input.as_bytes()));
    format!("{signing_input}.{signature}")
}

/// Verifies a compact JWT's signature, expiry (at `now`) and audience, and returns its claims.
pub fn decode(token: &str, key: &[u8], audience: &str, now: DateTime<Utc>) -> Result<Claims, TokenError> {
    let claims = decode_unexpired(token, key, audience)?;
    if now.timestamp() >= claims.exp {
        return Err(TokenError::Expired);
    }
    Ok(claims)
}

/// Verifies a compact JWT's signature and audience, and returns its claims: [`decode`] without the
/// expiry check, which the caller makes (the token cache, `cache.rs`, checks it on every use).
pub fn decode_unexpired(token: &str, key: &[u8], audience: &str) -> Result<Claims, TokenError> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed);
    };
    let header_json = URL_SAFE_NO_PAD.decode(header).map_err(|_| TokenError::Malformed)?;
    let header: serde_json::Value =
        serde_json::from_slice(&header_json).map_err(|_| TokenError::Malformed)?;
    if header.get("alg").and_then(|alg| alg.as_str()) != Some("HS256") {
        return Err(TokenError::BadSignature);
    }
    let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| TokenError::Malformed)?;
    let signing_input = &token[..token.rfind('.').unwrap_or(0)];
    let mut mac = mac(key);
    mac.update(signing_input.as_bytes());
    mac.verify_slice(&signature).map_err(|_| TokenError::BadSignature)?;
    let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| TokenError::Malformed)?;
    let claims: Claims = serde_json::from_slice(&payload).map_err(|_| TokenError::Malformed)?;
    if claims.aud != audience {
        return Err(TokenError::WrongAudience);
    }
    Ok(claims)
}

fn mac(key: &[u8]) -> Hmac<Sha256> {
    <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC accepts any key length")
}

fn sign(key: &[u8], input: &[u8]) -> Vec<u8> {
    let mut mac = mac(key);
    mac.update(input);
    mac.finalize().into_bytes().to_vec()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A partner token's claims expiring at `exp` (also used by the token cache's tests).
    pub(crate) fn claims(exp: i64) -> Claims {
        Claims {
            iss: "latchkey-sim".into(),
            sub: "partner-1".into(),
            aud: "aud".into(),
            iat: 0,
            exp,
            jti: "j".into(),
            kind: TokenKind::Partner,
            partner: "partner-1".into(),
            scope: None,
        }
    }

    /// The instant `seconds` after the epoch.
    pub(crate) fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, 0).expect("valid")
    }

    #[test]
    fn a_signed_token_verifies_until_it_expires() {
        let token = encode(&claims(100), b"key");
        assert_eq!(decode(&token, b"key", "aud", at(99)), Ok(claims(100)));
        assert_eq!(decode(&token, b"key", "aud", at(100)), Err(TokenError::Expired));
        assert_eq!(decode(&token, b"key", "other", at(1)), Err(TokenError::WrongAudience));
        assert_eq!(decode(&token, b"other-key", "aud", at(1)), Err(TokenError::BadSignature));
    }

    #[test]
    fn tampered_or_malformed_tokens_are_refused() {
        let token = encode(&claims(100), b"key");
        let (head, _) = token.rsplit_once('.').expect("three parts");
        let forged_payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims(10_000)).expect("json"));
        let header = head.split('.').next().expect("header");
        let forged = format!("{header}.{forged_payload}.{}", token.rsplit('.').next().expect("sig"));
        assert_eq!(decode(&forged, b"key", "aud", at(1)), Err(TokenError::BadSignature));
        assert_eq!(decode("abc", b"key", "aud", at(1)), Err(TokenError::Malformed));
        let none_alg = format!("{}.{}.", URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#), forged_payload);
        assert_eq!(decode(&none_alg, b"key", "aud", at(1)), Err(TokenError::BadSignature));
    }
}
