//! [`TokenSource`]: where a client's bearer token comes from, cached and refreshed.
//!
//! Three kinds: a partner token fetched with client credentials, a user token refreshed with its refresh
//! token, and a fixed token (the manager API's static token). The cached token sits behind a tokio mutex,
//! held while fetching, so concurrent callers share one fetch. A token is refreshed when less than
//! [`REFRESH_MARGIN_SECS`] seconds remain by the injected clock, and once after the backend answers 401.
//! Tokens and secrets live in [`SecretString`]s and never reach `Debug` output.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use reqwest::Method;
use tokio::sync::Mutex;

use super::ApiError;
use super::http::Http;
use crate::SecretString;
use crate::model::{PARTNER_AUDIENCE, TokenRequest, TokenResponse};

/// A token with less than this many seconds left is refreshed before use.
pub const REFRESH_MARGIN_SECS: i64 = 60;

/// Where a client's bearer token comes from. Clones share the cache.
#[derive(Clone)]
pub struct TokenSource {
    inner: Arc<Inner>,
}

struct Inner {
    grant: Grant,
    state: Mutex<State>,
}

enum Grant {
    ClientCredentials { client_id: String, client_secret: SecretString },
    User { client_id: String },
    Fixed,
}

struct State {
    access: Option<CachedToken>,
    refresh_token: Option<SecretString>,
}

struct CachedToken {
    token: SecretString,
    /// None: never expires (fixed tokens).
    expires_at: Option<DateTime<Utc>>,
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (kind, client_id) = match &self.inner.grant {
            Grant::ClientCredentials { client_id, .. } => ("client_credentials", Some(client_id)),
            Grant::User { client_id } => ("user", Some(client_id)),
            Grant::Fixed => ("fixed", None),
        };
        f.debug_struct("TokenSource")
            .field("kind", &kind)
            .field("client_id", &client_id)
            .finish_non_exhaustive()
    }
}

impl TokenSource {
    fn with(grant: Grant, access: Option<CachedToken>, refresh_token: Option<SecretString>) -> TokenSource {
        TokenSource { inner: Arc::new(Inner { grant, state: Mutex::new(State { access, refresh_token }) }) }
    }

    /// A partner-scoped token: fetched with the client-credentials grant for [`PARTNER_AUDIENCE`] on first
    /// use, cached, and fetched again before it expires. For partner backends only: the secret must never
    /// reach a phone.
    pub fn client_credentials(
        client_id: impl Into<String>,
        client_secret: impl Into<SecretString>,
    ) -> TokenSource {
        let grant =
            Grant::ClientCredentials { client_id: client_id.into(), client_secret: client_secret.into() };
        TokenSource::with(grant, None, None)
    }

    /// A user-scoped token: starts with `access_token` (valid until `expires_at`) and refreshes it with the
    /// refresh-token grant. A rotated refresh token replaces the old one; read it back with
    /// [`TokenSource::session`] to persist it.
    pub fn user(
        client_id: impl Into<String>,
        refresh_token: impl Into<SecretString>,
        access_token: impl Into<SecretString>,
        expires_at: DateTime<Utc>,
    ) -> TokenSource {
        let access = CachedToken { token: access_token.into(), expires_at: Some(expires_at) };
        TokenSource::with(
            Grant::User { client_id: client_id.into() },
            Some(access),
            Some(refresh_token.into()),
        )
    }

    /// A user-scoped token from the session [`super::AuthClient::exchange_otp`] returned.
    pub fn from_session(client_id: impl Into<String>, session: &super::UserSession) -> TokenSource {
        TokenSource::user(
            client_id,
            session.refresh_token.clone(),
            session.access_token.clone(),
            session.expires_at,
        )
    }

    /// A token that never changes and is never refreshed (such as the manager API's static token).
    pub fn fixed(token: impl Into<SecretString>) -> TokenSource {
        TokenSource::with(Grant::Fixed, Some(CachedToken { token: token.into(), expires_at: None }), None)
    }

    /// For user tokens: the current access token, refresh token and expiry (they change on refresh, so a
    /// caller that persists the session should read it back after calls). None for other kinds, or when no
    /// token is cached.
    pub async fn session(&self) -> Option<super::UserSession> {
        if !matches!(self.inner.grant, Grant::User { .. }) {
            return None;
        }
        let state = self.inner.state.lock().await;
        let access = state.access.as_ref()?;
        Some(super::UserSession {
            access_token: access.token.clone(),
            refresh_token: state.refresh_token.clone()?,
            expires_at: access.expires_at?,
        })
    }

    /// When the cached token expires: none when nothing is cached yet or the token never expires.
    pub async fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.inner.state.lock().await.access.as_ref().and_then(|access| access.expires_at)
    }

    /// Whether this source can get a new token after a 401.
    pub(crate) fn can_refresh(&self) -> bool {
        !matches!(self.inner.grant, Grant::Fixed)
    }

    /// Forgets `rejected` if it is still the cached token (another caller may have refreshed already).
    pub(crate) async fn invalidate(&self, rejected: &SecretString) {
        let mut state = self.inner.state.lock().await;
        if state.access.as_ref().is_some_and(|access| access.token == *rejected) {
            state.access = None;
        }
    }

    /// A token good for at least [`REFRESH_MARGIN_SECS`] more seconds, fetched if needed. Concurrent callers
    /// wait on the lock and share the one fetch.
    pub(crate) async fn bearer(&self, http: &Http) -> Result<SecretString, ApiError> {
        let mut state = self.inner.state.lock().await;
        let now = http.clock().now();
        if let Some(access) = &state.access {
            let fresh = access.expires_at.is_none_or(|at| now + Duration::seconds(REFRESH_MARGIN_SECS) < at);
            if fresh {
                return Ok(access.token.clone());
            }
        }
        let request = match &self.inner.grant {
            Grant::ClientCredentials { client_id, client_secret } => TokenRequest::ClientCredentials {
                client_id: client_id.clone(),
                client_secret: client_secret.clone(),
                audience: PARTNER_AUDIENCE.to_owned(),
            },
            Grant::User { client_id } => match &state.refresh_token {
                Some(refresh_token) => TokenRequest::RefreshToken {
                    client_id: client_id.clone(),
                    refresh_token: refresh_token.clone(),
                },
                None => {
                    return Err(ApiError::InvalidArgument {
                        message: "the user token expired and there is no refresh token".to_owned(),
                    });
                }
            },
            Grant::Fixed => {
                // A fixed token is cached forever and only forgotten after a 401, which is not retried.
                return state.access.as_ref().map(|access| access.token.clone()).ok_or(
                    ApiError::Unauthorized { message: "the fixed token was rejected".to_owned(), code: None },
                );
            }
        };
        tracing::debug!(kind = ?self, "fetching a token");
        let response = request_token(http, &request).await?;
        let expires_at = http.clock().now() + seconds(response.expires_in);
        if let Some(rotated) = response.refresh_token {
            state.refresh_token = Some(rotated);
        }
        let token = response.access_token;
        state.access = Some(CachedToken { token: token.clone(), expires_at: Some(expires_at) });
        Ok(token)
    }
}

/// `expires_in` seconds as a chrono duration (saturating far in the future).
pub(crate) fn seconds(secs: u64) -> Duration {
    Duration::seconds(i64::try_from(secs).unwrap_or(i64::MAX / 1000).min(100 * 365 * 24 * 3600))
}

/// `POST /v1/oauth/token`, without a bearer. Boxed: the retry loop that asks for a bearer is the same one
/// that sends this request.
pub(crate) fn request_token<'a>(
    http: &'a Http,
    request: &'a TokenRequest,
) -> Pin<Box<dyn Future<Output = Result<TokenResponse, ApiError>> + Send + 'a>> {
    Box::pin(async move {
        let call = http.call(Method::POST, &["v1", "oauth", "token"])?.json(request)?;
        http.json(call, None).await
    })
}
