//! Rate limiting per client, answered with 429 and `Retry-After`.
//!
//! Two token buckets per client (refilled continuously, in real time: the simulated clock of the
//! controls does not refill them):
//! - **sign-in** (`POST /v1/oauth/token`, `POST /account/sign-in`, `POST /manager/sign-in`), per client IP:
//!   what slows down guessing client secrets, one-time codes and passwords;
//! - **API** (the partner and user APIs and the web pages), per bearer token (its hash; the token itself
//!   is never kept), or per IP for requests without one.
//!
//! The manager API (`/manager/v1/...`, the customer's own administration, which setup scripts and test
//! fixtures drive in bulk), `/healthz` and the controls (`/sim/...`) are not limited.
//!
//! The limits are generous by default ([`RateLimits::default`]) so tests and the bench are not throttled;
//! `latchkey sim serve --rate-limit ... --sign-in-rate-limit ...` and [`RateLimits`] in the backend
//! configuration change them.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, RandomState};
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::{AUTHORIZATION, RETRY_AFTER};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::state::AppState;

/// One limit: a sustained rate and a burst.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Limit {
    /// Requests per second, sustained.
    pub per_second: f64,
    /// Requests allowed at once after a quiet period (the bucket's size).
    pub burst: u32,
}

/// The limits of a simulator; `None` turns one off.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateLimits {
    /// Per bearer token (or per IP without one), on every route but sign-in.
    pub api: Option<Limit>,
    /// Per client IP, on the sign-in routes.
    pub sign_in: Option<Limit>,
}

impl Default for RateLimits {
    /// API: 5,000 requests/s per token, burst 10,000. Sign-in: 20/s per IP, burst 200.
    fn default() -> Self {
        RateLimits {
            api: Some(Limit { per_second: 5_000.0, burst: 10_000 }),
            sign_in: Some(Limit { per_second: 20.0, burst: 200 }),
        }
    }
}

impl RateLimits {
    /// No limits at all (the throughput bench).
    pub fn off() -> RateLimits {
        RateLimits { api: None, sign_in: None }
    }
}

/// A client's bucket.
#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// How many buckets are kept before full ones are forgotten.
const MAX_BUCKETS: usize = 10_000;

/// The buckets of every client.
#[derive(Debug, Default)]
pub struct Limiter {
    buckets: Mutex<HashMap<(bool, u64), Bucket>>,
    hasher: RandomState,
}

impl Limiter {
    /// Takes one request from `client`'s bucket under `limit`; the wait before the next one is allowed
    /// if it is empty.
    fn take(&self, sign_in: bool, client: u64, limit: Limit, now: Instant) -> Result<(), Duration> {
        let burst = f64::from(limit.burst.max(1));
        let mut buckets = self.buckets.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if buckets.len() >= MAX_BUCKETS {
            // Forget the clients that are back to a full bucket: they lose nothing.
            buckets.retain(|_, bucket| {
                bucket.tokens + now.duration_since(bucket.updated).as_secs_f64() * limit.per_second < burst
            });
        }
        let bucket = buckets.entry((sign_in, client)).or_insert(Bucket { tokens: burst, updated: now });
        let refill = now.duration_since(bucket.updated).as_secs_f64() * limit.per_second;
        bucket.tokens = (bucket.tokens + refill).min(burst);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / limit.per_second.max(f64::MIN_POSITIVE)))
        }
    }

    fn key(&self, value: impl Hash) -> u64 {
        self.hasher.hash_one(value)
    }
}

/// Whether a request is a sign-in attempt.
fn is_sign_in(method: &Method, path: &str) -> bool {
    method == Method::POST && matches!(path, "/v1/oauth/token" | "/account/sign-in" | "/manager/sign-in")
}

/// The middleware.
pub async fn layer(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if path == "/healthz" || path.starts_with("/sim/") || path.starts_with("/manager/v1/") {
        return next.run(request).await;
    }
    let sign_in = is_sign_in(request.method(), path);
    let limits = state.config.rate_limits;
    let Some(limit) = (if sign_in { limits.sign_in } else { limits.api }) else {
        return next.run(request).await;
    };
    let ip = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip());
    let limiter = &state.limiter;
    let client = match request.headers().get(AUTHORIZATION) {
        Some(token) if !sign_in => limiter.key(("token", token.as_bytes())),
        _ => limiter.key(("ip", ip)),
    };
    match limiter.take(sign_in, client, limit, Instant::now()) {
        Ok(()) => next.run(request).await,
        Err(wait) => too_many(sign_in, limit, wait),
    }
}

fn too_many(sign_in: bool, limit: Limit, wait: Duration) -> Response {
    // Whole seconds, rounded up, at least 1: what Retry-After can say.
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let seconds = seconds.max(1);
    let who = if sign_in { "sign-in attempts from this address" } else { "requests with this token" };
    let body = latchkey::model::ErrorBody::message(format!(
        "too many {who}: the simulator allows {} a second (bursts of {}); retry after {seconds} s",
        limit.per_second, limit.burst
    ));
    let mut response = (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response();
    response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(seconds));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_refills_at_its_rate() {
        let limiter = Limiter::default();
        let limit = Limit { per_second: 2.0, burst: 3 };
        let start = Instant::now();
        for _ in 0..3 {
            assert!(limiter.take(false, 1, limit, start).is_ok());
        }
        let wait = limiter.take(false, 1, limit, start).expect_err("empty");
        assert_eq!(wait, Duration::from_millis(500));
        assert!(limiter.take(false, 2, limit, start).is_ok(), "another client has its own bucket");
        assert!(limiter.take(false, 1, limit, start + Duration::from_millis(500)).is_ok());
        assert!(limiter.take(false, 1, limit, start + Duration::from_millis(500)).is_err());
    }
}
