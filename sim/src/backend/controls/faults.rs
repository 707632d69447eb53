//! Faults a partner's tests can inject per route: an **outage** (the route answers 503 with
//! `Retry-After`) or added **latency**, for the next N matching requests or until cleared.
//!
//! A rule targets a method (or any) and either a path pattern (`/access/sdk/v1/users/*/doors/*`: `*` or
//! `{name}` matches one segment, a final `**` any rest) or a named API area ([`Area`]). The first rule
//! that matches a request applies. The controls themselves and `/healthz` are never affected.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header::RETRY_AFTER};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::backend::error::AppError;
use crate::backend::state::AppState;

/// The longest latency a rule may add, in ms (the backend answers 408 after 30 s).
pub const MAX_LATENCY_MS: u64 = 25_000;
/// The longest `Retry-After` an outage may announce, in seconds.
pub const MAX_RETRY_AFTER_SECONDS: u64 = 3_600;

/// A named part of the API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Area {
    /// The token endpoint, `/v1/oauth/...`.
    Auth,
    /// The partner API, `/access/sdk/...` except `/access/sdk/v1/me`.
    Partner,
    /// The user-scoped API the SDK calls, `/access/sdk/v1/me...`.
    User,
    /// The manager API, `/manager/v1/...`.
    Manager,
    /// The web pages: `/manager` (not `/manager/v1`) and `/account/...`.
    Web,
}

impl Area {
    /// Whether `path` belongs to this area.
    pub fn contains(self, path: &str) -> bool {
        let under = |prefix: &str| path == prefix || path.starts_with(&format!("{prefix}/"));
        match self {
            Area::Auth => under("/v1/oauth"),
            Area::User => under("/access/sdk/v1/me"),
            Area::Partner => under("/access/sdk") && !under("/access/sdk/v1/me"),
            Area::Manager => under("/manager/v1"),
            Area::Web => (under("/manager") && !under("/manager/v1")) || under("/account"),
        }
    }
}

/// What a rule does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum FaultKind {
    /// Answer 503 with `Retry-After`, without running the request.
    Outage,
    /// Wait, then run the request normally.
    Latency,
}

/// A rule as a test posts it (`POST /sim/v1/controls/faults`).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultRequest {
    /// OUTAGE or LATENCY.
    pub kind: FaultKind,
    /// Only requests with this method (any if absent).
    pub method: Option<String>,
    /// A path pattern; give this or `area`.
    pub path: Option<String>,
    /// An API area; give this or `path`.
    pub area: Option<Area>,
    /// LATENCY: how long to wait, in ms.
    pub latency_ms: Option<u64>,
    /// OUTAGE: the `Retry-After` to announce, in seconds (default 1).
    pub retry_after_seconds: Option<u64>,
    /// How many matching requests it affects (until cleared if absent).
    pub count: Option<u32>,
}

/// A rule in force, as listed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultView {
    /// Its id, for `DELETE /sim/v1/controls/faults/{id}`.
    pub id: u64,
    /// OUTAGE or LATENCY.
    pub kind: FaultKind,
    /// The method it is limited to, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Its path pattern, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Its area, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub area: Option<Area>,
    /// LATENCY: the wait in ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    /// OUTAGE: the announced `Retry-After`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_seconds: Option<u64>,
    /// Matching requests it will still affect (absent: until cleared).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remaining: Option<u32>,
}

/// What happens to one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Effect {
    Outage { retry_after_seconds: u64 },
    Latency(Duration),
}

/// The rules in force.
#[derive(Debug, Default)]
pub struct Faults {
    rules: Mutex<Vec<FaultView>>,
    /// How many rules there are, read without the lock on every request.
    count: AtomicUsize,
    next_id: AtomicU64,
}

impl Faults {
    fn rules(&self) -> std::sync::MutexGuard<'_, Vec<FaultView>> {
        self.rules.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Checks and adds a rule.
    pub fn add(&self, request: FaultRequest) -> Result<FaultView, AppError> {
        let bad = |message: &str| Err(AppError::BadRequest(message.to_owned()));
        let method = match request.method {
            Some(method) => match Method::from_bytes(method.trim().to_ascii_uppercase().as_bytes()) {
                Ok(method) => Some(method.as_str().to_owned()),
                Err(_) => return bad("method must be an HTTP method such as GET or POST"),
            },
            None => None,
        };
        match (&request.path, request.area) {
            (Some(_), Some(_)) | (None, None) => {
                return bad(
                    "give either path (e.g. /access/sdk/v2/users) or area (auth, partner, user, manager, web)",
                );
            }
            (Some(path), None) if !path.starts_with('/') => return bad("path must start with /"),
            _ => {}
        }
        let (latency_ms, retry_after_seconds) = match request.kind {
            FaultKind::Latency => match request.latency_ms {
                Some(ms @ 1..=MAX_LATENCY_MS) if request.retry_after_seconds.is_none() => (Some(ms), None),
                Some(_) if request.retry_after_seconds.is_some() => {
                    return bad("retryAfterSeconds belongs to an OUTAGE, not a LATENCY rule");
                }
                _ => return bad("a LATENCY rule needs latencyMs from 1 to 25000"),
            },
            FaultKind::Outage => match (request.retry_after_seconds.unwrap_or(1), request.latency_ms) {
                (_, Some(_)) => return bad("latencyMs belongs to a LATENCY rule, not an OUTAGE"),
                (seconds @ 1..=MAX_RETRY_AFTER_SECONDS, None) => (None, Some(seconds)),
                _ => return bad("retryAfterSeconds must be from 1 to 3600"),
            },
        };
        if request.count == Some(0) {
            return bad("count must be at least 1 (leave it out for a rule that lasts until cleared)");
        }
        let view = FaultView {
            id: self.next_id.fetch_add(1, Ordering::Relaxed) + 1,
            kind: request.kind,
            method,
            path: request.path,
            area: request.area,
            latency_ms,
            retry_after_seconds,
            remaining: request.count,
        };
        let mut rules = self.rules();
        rules.push(view.clone());
        self.count.store(rules.len(), Ordering::Relaxed);
        Ok(view)
    }

    /// The rules in force, in the order they apply.
    pub fn list(&self) -> Vec<FaultView> {
        self.rules().clone()
    }

    /// Removes one rule; false if there is none with that id.
    pub fn remove(&self, id: u64) -> bool {
        let mut rules = self.rules();
        let before = rules.len();
        rules.retain(|rule| rule.id != id);
        self.count.store(rules.len(), Ordering::Relaxed);
        rules.len() != before
    }

    /// Removes every rule.
    pub fn clear(&self) {
        let mut rules = self.rules();
        rules.clear();
        self.count.store(0, Ordering::Relaxed);
    }

    /// The effect on a request, counting it against the rule that matched.
    fn effect(&self, method: &Method, path: &str) -> Option<Effect> {
        if self.count.load(Ordering::Relaxed) == 0 || is_exempt(path) {
            return None;
        }
        let mut rules = self.rules();
        let index = rules.iter().position(|rule| matches(rule, method, path))?;
        let rule = &mut rules[index];
        let effect = match (rule.kind, rule.latency_ms, rule.retry_after_seconds) {
            (FaultKind::Latency, Some(ms), _) => Effect::Latency(Duration::from_millis(ms)),
            (_, _, seconds) => Effect::Outage { retry_after_seconds: seconds.unwrap_or(1) },
        };
        if let Some(remaining) = &mut rule.remaining {
            *remaining = remaining.saturating_sub(1);
            if *remaining == 0 {
                rules.remove(index);
                self.count.store(rules.len(), Ordering::Relaxed);
            }
        }
        Some(effect)
    }
}

/// The controls and the health check are never faulted, so a test can always clear what it set.
fn is_exempt(path: &str) -> bool {
    path == "/healthz" || path.starts_with("/sim/")
}

fn matches(rule: &FaultView, method: &Method, path: &str) -> bool {
    if rule.method.as_deref().is_some_and(|m| m != method.as_str()) {
        return false;
    }
    match (&rule.path, rule.area) {
        (Some(pattern), _) => path_matches(pattern, path),
        (None, Some(area)) => area.contains(path),
        (None, None) => false,
    }
}

/// `*` or `{name}` matches one segment; a final `**` matches the rest (even nothing).
pub fn path_matches(pattern: &str, path: &str) -> bool {
    let mut pattern = pattern.trim_end_matches('/').split('/');
    let mut path = path.trim_end_matches('/').split('/');
    loop {
        match (pattern.next(), path.next()) {
            (Some("**"), _) => return true,
            (None, None) => return true,
            (Some(want), Some(got)) => {
                let any = want == "*" || (want.starts_with('{') && want.ends_with('}'));
                if !any && want != got {
                    return false;
                }
            }
            _ => return false,
        }
    }
}

/// The middleware: applies the first matching rule.
pub async fn layer(State(state): State<AppState>, request: Request, next: Next) -> Response {
    match state.controls.faults.effect(request.method(), request.uri().path()) {
        None => next.run(request).await,
        Some(Effect::Latency(wait)) => {
            tokio::time::sleep(wait).await;
            next.run(request).await
        }
        Some(Effect::Outage { retry_after_seconds }) => {
            let body = latchkey::model::ErrorBody::message(format!(
                "the simulator is answering 503 for this route because a test asked it to \
                 (POST /sim/v1/controls/faults); retry after {retry_after_seconds} s"
            ));
            let mut response = (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response();
            response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(retry_after_seconds));
            response
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_segments() {
        assert!(path_matches("/access/sdk/v2/users", "/access/sdk/v2/users"));
        assert!(path_matches("/access/sdk/v1/users/*/doors/{door}", "/access/sdk/v1/users/u1/doors/d1"));
        assert!(path_matches("/manager/**", "/manager/v1/outbox"));
        assert!(!path_matches("/access/sdk/v1/users", "/access/sdk/v1/users/u1"));
        assert!(!path_matches("/access/sdk/v1/users/*", "/access/sdk/v1/users"));
    }

    #[test]
    fn areas_split_the_api() {
        assert!(Area::Partner.contains("/access/sdk/v2/users"));
        assert!(!Area::Partner.contains("/access/sdk/v1/me/locks"));
        assert!(Area::User.contains("/access/sdk/v1/me/locks"));
        assert!(Area::Web.contains("/manager/sign-in") && !Area::Web.contains("/manager/v1/users"));
        assert!(Area::Auth.contains("/v1/oauth/token"));
    }

    #[test]
    fn a_counted_rule_ends_after_its_requests() {
        let faults = Faults::default();
        let rule = FaultRequest {
            kind: FaultKind::Outage,
            method: Some("post".into()),
            path: Some("/access/sdk/v2/users".into()),
            area: None,
            latency_ms: None,
            retry_after_seconds: Some(7),
            count: Some(2),
        };
        faults.add(rule).expect("valid");
        let post = Method::POST;
        assert_eq!(faults.effect(&Method::GET, "/access/sdk/v2/users"), None);
        assert_eq!(
            faults.effect(&post, "/access/sdk/v2/users"),
            Some(Effect::Outage { retry_after_seconds: 7 })
        );
        assert!(faults.effect(&post, "/access/sdk/v2/users").is_some());
        assert_eq!(faults.effect(&post, "/access/sdk/v2/users"), None);
        assert!(faults.list().is_empty());
    }
}
