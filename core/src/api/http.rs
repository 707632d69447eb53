//! [`Http`]: the one place requests are sent.
//!
//! It owns the reqwest client (rustls on ring), joining the base URL with percent-encoded path segments,
//! the bearer header, the `Idempotency-Key` of POSTs (one per logical call, reused on every retry), the
//! retry loop of the [`RetryPolicy`], the one token refresh after a 401, and turning error bodies into
//! [`ApiError`]s. It knows no endpoint. It never logs headers or bodies: log lines carry the method, the
//! path, the attempt and the status only.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{ACCEPT, CONTENT_TYPE, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use url::Url;
use uuid::Uuid;

use super::retry::parse_retry_after;
use super::{ApiConfig, ApiError, RetryPolicy, TokenSource};
use crate::time::Clock;

/// The header that makes a POST safe to retry.
pub(crate) const IDEMPOTENCY_KEY: &str = "Idempotency-Key";

/// The shared transport of one client: cheap to share behind an `Arc`.
pub(crate) struct Http {
    client: reqwest::Client,
    base_url: Url,
    retry: RetryPolicy,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for Http {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Http").field("base_url", &self.base_url.as_str()).field("retry", &self.retry).finish()
    }
}

/// One logical call: method, URL and body, built before the first attempt and reused by every retry.
#[derive(Debug)]
pub(crate) struct Call {
    method: Method,
    url: Url,
    body: Option<Vec<u8>>,
}

impl Call {
    /// Appends a query parameter when it has a value.
    pub(crate) fn query(mut self, name: &str, value: Option<impl ToString>) -> Call {
        if let Some(value) = value {
            self.url.query_pairs_mut().append_pair(name, &value.to_string());
        }
        self
    }

    /// Sets a JSON body.
    pub(crate) fn json(mut self, body: &impl Serialize) -> Result<Call, ApiError> {
        let bytes = serde_json::to_vec(body).map_err(|error| ApiError::Decode {
            endpoint: self.endpoint(),
            status: None,
            message: format!("could not encode the request body: {error}"),
        })?;
        self.body = Some(bytes);
        Ok(self)
    }

    /// `METHOD /path`, for errors and logs (never the query: page tokens are noise there).
    fn endpoint(&self) -> String {
        format!("{} {}", self.method, self.url.path())
    }
}

/// A success response.
struct Success {
    status: StatusCode,
    body: Vec<u8>,
}

impl Http {
    /// Builds the reqwest client with the TLS set-up of [`super::tls`]. Needs no root certificates: the
    /// certificate verifier is made at the first HTTPS handshake ([`super::verifier`]).
    pub(crate) fn new(config: &ApiConfig) -> Result<Http, ApiError> {
        if config.base_url.cannot_be_a_base() || !matches!(config.base_url.scheme(), "http" | "https") {
            return Err(ApiError::Config {
                message: format!("base URL {} must be an http:// or https:// address", config.base_url),
            });
        }
        // Fails only when a provider is already installed, which is what we want anyway (other reqwest clients
        // of the process then use it too).
        let _ = super::tls::provider().install_default();
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .user_agent(concat!("latchkey/", env!("CARGO_PKG_VERSION")))
            .tls_backend_preconfigured(super::tls::client_config()?)
            .build()
            .map_err(|error| ApiError::Config {
                message: format!("could not build the HTTP client: {error}"),
            })?;
        Ok(Http {
            client,
            base_url: config.base_url.clone(),
            retry: config.retry,
            clock: config.clock.clone(),
        })
    }

    /// The injected clock (token expiry, validation).
    pub(crate) fn clock(&self) -> &dyn Clock {
        self.clock.as_ref()
    }

    /// A call to the base URL joined with `segments`, each percent-encoded (so an id holding `/`, `?` or
    /// `%` stays one segment). Empty, `.` and `..` segments are refused: URLs cannot carry them.
    pub(crate) fn call(&self, method: Method, segments: &[&str]) -> Result<Call, ApiError> {
        if let Some(bad) = segments.iter().find(|segment| matches!(**segment, "" | "." | "..")) {
            return Err(ApiError::InvalidArgument {
                message: format!(
                    "identifier {bad:?} cannot be used in a URL path: give a non-empty identifier"
                ),
            });
        }
        let mut url = self.base_url.clone();
        url.set_query(None);
        url.set_fragment(None);
        url.path_segments_mut()
            .map_err(|()| ApiError::Config {
                message: format!("base URL {} cannot take a path", self.base_url),
            })?
            .pop_if_empty()
            .extend(segments);
        Ok(Call { method, url, body: None })
    }

    /// Sends `call` and decodes the JSON response.
    pub(crate) async fn json<T: DeserializeOwned>(
        &self,
        call: Call,
        auth: Option<&TokenSource>,
    ) -> Result<T, ApiError> {
        let success = self.execute(&call, auth).await?;
        serde_json::from_slice(&success.body)
            .map_err(|error| ApiError::decode(&call.endpoint(), Some(success.status.as_u16()), &error))
    }

    /// Sends `call` and ignores the (empty) response body.
    pub(crate) async fn empty(&self, call: Call, auth: Option<&TokenSource>) -> Result<(), ApiError> {
        self.execute(&call, auth).await.map(|_| ())
    }

    /// The retry loop.
    async fn execute(&self, call: &Call, auth: Option<&TokenSource>) -> Result<Success, ApiError> {
        let endpoint = call.endpoint();
        let idempotency_key = (call.method == Method::POST).then(|| Uuid::new_v4().to_string());
        let mut attempt: u32 = 0;
        let mut refreshed = false;
        // An earlier attempt may have been applied although its answer was lost (a broken exchange or a
        // 5xx): a DELETE then finds nothing to delete.
        let mut maybe_applied = false;
        loop {
            attempt += 1;
            let bearer = match auth {
                Some(tokens) => Some(tokens.bearer(self).await?),
                None => None,
            };
            let mut request =
                self.client.request(call.method.clone(), call.url.clone()).header(ACCEPT, "application/json");
            if let Some(bearer) = &bearer {
                // reqwest marks this header sensitive, so even its own Debug output hides it.
                request = request.bearer_auth(bearer.expose());
            }
            if let Some(key) = &idempotency_key {
                request = request.header(IDEMPOTENCY_KEY, key);
            }
            if let Some(body) = &call.body {
                request = request.header(CONTENT_TYPE, "application/json").body(body.clone());
            }
            tracing::debug!(%endpoint, attempt, "sending");

            let outcome = match request.send().await {
                Ok(response) => {
                    let status = response.status();
                    let retry_after = (status == StatusCode::SERVICE_UNAVAILABLE
                        || status == StatusCode::TOO_MANY_REQUESTS)
                        .then(|| response.headers().get(RETRY_AFTER))
                        .flatten()
                        .and_then(|value| value.to_str().ok())
                        .and_then(parse_retry_after);
                    response.bytes().await.map(|body| (status, retry_after, body.to_vec()))
                }
                Err(error) => Err(error),
            };

            let (status, retry_after, body) = match outcome {
                Ok(response) => response,
                Err(error) => {
                    let error = ApiError::from_transport(error, &endpoint, attempt);
                    if matches!(error, ApiError::TlsSetup { .. }) {
                        // The device cannot verify any server: another attempt would fail the same way.
                        return Err(error);
                    }
                    if self.retry.allows_another(attempt) {
                        maybe_applied = true;
                        tracing::debug!(%endpoint, attempt, %error, "transport failure, retrying");
                        self.pause(attempt, None).await;
                        continue;
                    }
                    return Err(error);
                }
            };
            tracing::debug!(%endpoint, attempt, status = status.as_u16(), "response");

            if status.is_success() {
                return Ok(Success { status, body });
            }
            if status == StatusCode::NOT_FOUND && call.method == Method::DELETE && maybe_applied {
                // What was to be deleted is gone, by this call's earlier attempt: the caller's goal is met.
                tracing::debug!(%endpoint, attempt, "404 on a retried DELETE: already deleted");
                return Ok(Success { status: StatusCode::NO_CONTENT, body: Vec::new() });
            }
            if status == StatusCode::UNAUTHORIZED
                && !refreshed
                && let (Some(tokens), Some(rejected)) = (auth, &bearer)
                && tokens.can_refresh()
            {
                // One refresh and one more try per logical call; it does not use up a retry attempt.
                refreshed = true;
                attempt -= 1;
                tokens.invalidate(rejected).await;
                tracing::debug!(%endpoint, "401: refreshing the token once");
                continue;
            }
            // A 429 (rate limited) is retried like a 5xx: after its Retry-After (capped at max_delay),
            // with the same Idempotency-Key, within the same attempt budget.
            if (status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS)
                && self.retry.allows_another(attempt)
            {
                maybe_applied |= status.is_server_error();
                self.pause(attempt, retry_after).await;
                continue;
            }
            return Err(ApiError::from_response(status, &body));
        }
    }

    async fn pause(&self, attempt: u32, retry_after: Option<Duration>) {
        let delay = self.retry.delay(attempt, retry_after);
        tokio::time::sleep(delay).await;
    }
}
