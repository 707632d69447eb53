//! Verified access tokens, remembered by their bytes so a token's HMAC and JSON are checked once, not on
//! every request (docs/performance.md).
//!
//! What is remembered is only what never changes for a given token: its signature (by the backend's key,
//! fixed for the life of the backend) is valid, its audience is right, and these are its claims. Expiry is
//! still checked on every use against the simulator's clock (which tests freeze and advance through
//! `/sim/v1/controls`), so a remembered token stops working at the same instant as one checked afresh.
//! The simulator has no token revocation (tokens are stateless JWTs, valid until they expire), so nothing
//! else can make a remembered verdict stale. Refused tokens are not remembered.
//!
//! The cache holds at most [`CAPACITY`] tokens and is emptied when full. It never appears in logs: its
//! `Debug` shows only how many tokens it holds.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Utc};

use super::jwt::{self, Claims, TokenError};

/// How many verified tokens are remembered.
pub const CAPACITY: usize = 4096;

/// Verifies tokens signed with one key for one audience, remembering those that verified.
pub struct TokenCache {
    key: Arc<[u8; 32]>,
    audience: &'static str,
    verified: Mutex<HashMap<Box<str>, Arc<Claims>>>,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache").field("tokens", &self.lock().len()).finish_non_exhaustive()
    }
}

impl TokenCache {
    /// An empty cache for tokens signed with `key` for `audience`.
    pub fn new(key: Arc<[u8; 32]>, audience: &'static str) -> TokenCache {
        TokenCache { key, audience, verified: Mutex::default() }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<Box<str>, Arc<Claims>>> {
        self.verified.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// [`jwt::decode`] with this cache's key and audience: the claims, or why the token is refused at `now`.
    pub fn decode(&self, token: &str, now: DateTime<Utc>) -> Result<Arc<Claims>, TokenError> {
        let known = self.lock().get(token).cloned();
        let claims = match known {
            Some(claims) => claims,
            None => {
                let claims = Arc::new(jwt::decode_unexpired(token, &self.key[..], self.audience)?);
                let mut verified = self.lock();
                if verified.len() >= CAPACITY {
                    verified.clear();
                }
                verified.insert(token.into(), claims.clone());
                claims
            }
        };
        if now.timestamp() >= claims.exp {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::auth::jwt::encode;
    use crate::backend::auth::jwt::tests::{at, claims};

    const KEY: [u8; 32] = [7; 32];

    #[test]
    fn a_remembered_token_still_expires_by_the_clock() {
        let cache = TokenCache::new(Arc::new(KEY), "aud");
        let token = encode(&claims(100), &KEY);
        assert_eq!(cache.decode(&token, at(10)).as_deref(), Ok(&claims(100)));
        assert_eq!(cache.decode(&token, at(99)).as_deref(), Ok(&claims(100)));
        assert_eq!(cache.decode(&token, at(100)), Err(TokenError::Expired));
        // The clock may go back (tests set it): the token works again, as a fresh check would say.
        assert_eq!(cache.decode(&token, at(50)).as_deref(), Ok(&claims(100)));
    }

    #[test]
    fn refused_tokens_are_refused_every_time_and_never_shown() {
        let cache = TokenCache::new(Arc::new(KEY), "aud");
        let forged = encode(&claims(100), b"another key");
        let elsewhere = encode(&Claims { aud: "other".into(), ..claims(100) }, &KEY);
        for _ in 0..2 {
            assert_eq!(cache.decode(&forged, at(1)), Err(TokenError::BadSignature));
            assert_eq!(cache.decode(&elsewhere, at(1)), Err(TokenError::WrongAudience));
        }
        assert_eq!(format!("{cache:?}"), "TokenCache { tokens: 0, .. }");
        let token = encode(&claims(100), &KEY);
        assert!(cache.decode(&token, at(1)).is_ok());
        assert_eq!(format!("{cache:?}"), "TokenCache { tokens: 1, .. }");
    }
}
