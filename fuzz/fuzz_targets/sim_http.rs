//! The simulator's HTTP API with arbitrary requests: every route of the router (auth, partner v1/v2, user,
//! manager, web pages) with fuzzed query strings, path parameters, bodies, content types and tokens,
//! through the real axum router (extractors, JSON parsing, validation, SQLite) with `oneshot`.
//!
//! Input: length-prefixed parts: [flags, operation], query, path segment, body (where `{door}`, `{user}`,
//! `{now}`… name the world's ids). Asserts: never a panic,
//! never a 5xx: whatever a client sends is answered with a 2xx, 3xx or a 4xx that explains itself.
#![no_main]

use axum::body::Body;
use axum::http::{Method, Request, header};
use latchkey_fuzz::{messages, sim_world};
use libfuzzer_sys::fuzz_target;

/// Who calls.
#[derive(Clone, Copy)]
enum Auth {
    None,
    Manager,
    Partner,
    User,
}

/// Every route the router serves: method, path template, the caller it expects.
const OPERATIONS: &[(&str, &str, Auth)] = &[
    ("GET", "/healthz", Auth::None),
    ("POST", "/v1/oauth/token", Auth::None),
    ("POST", "/passwordless/start", Auth::None),
    ("POST", "/access/sdk/v1/users", Auth::Partner),
    ("GET", "/access/sdk/v1/users", Auth::Partner),
    ("POST", "/access/sdk/v2/users", Auth::Partner),
    ("GET", "/access/sdk/v1/users/{user}", Auth::Partner),
    ("PATCH", "/access/sdk/v1/users/{user}/doors/{door}", Auth::Partner),
    ("DELETE", "/access/sdk/v1/users/{user}/doors/{door}", Auth::Partner),
    ("GET", "/access/sdk/v1/doors", Auth::Partner),
    ("GET", "/access/sdk/v1/buildings", Auth::Partner),
    ("GET", "/access/sdk/v1/buildings/{building}/residents", Auth::Partner),
    ("POST", "/manager/v1/partners", Auth::Manager),
    ("POST", "/manager/v1/buildings", Auth::Manager),
    ("POST", "/manager/v1/doors", Auth::Manager),
    ("POST", "/manager/v1/doors/{door}/activate", Auth::Manager),
    ("POST", "/manager/v1/keys", Auth::Manager),
    ("PUT", "/manager/v1/keys/{key}/partner", Auth::Manager),
    ("POST", "/manager/v1/keys/{key}/enable", Auth::Manager),
    ("PUT", "/manager/v1/keys/{key}/doors", Auth::Manager),
    ("POST", "/manager/v1/users", Auth::Manager),
    ("GET", "/manager/v1/users/{user}", Auth::Manager),
    ("GET", "/manager/v1/outbox", Auth::Manager),
    ("POST", "/access/sdk/v1/me/devices", Auth::User),
    ("GET", "/access/sdk/v1/me/locks", Auth::User),
    ("GET", "/access/sdk/v1/me/locks/{door}/sync", Auth::User),
    ("POST", "/access/sdk/v1/me/locks/{door}/logs", Auth::User),
    ("GET", "/access/sdk/v1/me/locks/{door}/access-logs", Auth::User),
    ("POST", "/access/sdk/v1/me/guests", Auth::User),
    ("GET", "/access/sdk/v1/me/guests", Auth::User),
    ("DELETE", "/access/sdk/v1/me/guests/{user}/doors/{door}", Auth::User),
    ("GET", "/account/finalize", Auth::None),
    ("POST", "/account/finalize", Auth::None),
    ("GET", "/account/sign-in", Auth::None),
    ("POST", "/account/sign-in", Auth::None),
    ("GET", "/manager", Auth::None),
    ("GET", "/manager/style.css", Auth::None),
    ("GET", "/manager/sign-in", Auth::None),
    ("POST", "/manager/sign-in", Auth::None),
    ("POST", "/manager/sign-out", Auth::None),
    ("GET", "/manager/partners", Auth::Manager),
    ("POST", "/manager/partners", Auth::Manager),
    ("GET", "/manager/buildings", Auth::Manager),
    ("POST", "/manager/buildings", Auth::Manager),
    ("GET", "/manager/keys", Auth::Manager),
    ("POST", "/manager/keys", Auth::Manager),
    ("GET", "/manager/users", Auth::Manager),
    ("POST", "/manager/users", Auth::Manager),
    ("GET", "/manager/outbox", Auth::Manager),
];

/// Percent-encodes everything but unreserved characters, so any fuzzed bytes make a valid URI.
fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A query string from fuzzed bytes: `&` and `=` kept as separators, the rest encoded.
fn query(bytes: &[u8]) -> String {
    bytes
        .split(|&b| b == b'&')
        .map(|pair| pair.splitn(2, |&b| b == b'=').map(encode).collect::<Vec<_>>().join("="))
        .collect::<Vec<_>>()
        .join("&")
}

fuzz_target!(|data: &[u8]| {
    let parts = messages(data);
    let Some(head) = parts.first() else { return };
    // The header is a flags byte, then the operation: "METHOD /path/template" (how the seeds name it), or
    // any byte picking one by index.
    let Some((&flags, op)) = head.split_first() else { return };
    let index = OPERATIONS
        .iter()
        .position(|(method, template, _)| op == format!("{method} {template}").as_bytes())
        .unwrap_or_else(|| usize::from(op.first().copied().unwrap_or(0)) % OPERATIONS.len());
    let w = sim_world::world();
    let (method, template, auth) = OPERATIONS[index];
    let segment = parts.get(2).map(|s| encode(s));
    let ids = &w.ids;
    let mut path = template.to_owned();
    for (name, id) in
        [("{user}", &ids.user), ("{door}", &ids.door), ("{building}", &ids.building), ("{key}", &ids.key)]
    {
        // Flag bit 0: the first parameter is fuzzed instead of a real id.
        let value = match (&segment, flags & 1 == 1 && path.contains(name)) {
            (Some(s), true) if !s.is_empty() => s.clone(),
            _ => id.clone(),
        };
        path = path.replacen(name, &value, 1);
    }
    if let Some(q) = parts.get(1).filter(|q| !q.is_empty()) {
        path = format!("{path}?{}", query(q));
    }
    // Flag bits 1-2: the right token, none, another caller's token, or garbage.
    let token = match ((flags >> 1) & 3, auth) {
        (0, Auth::Manager) => Some(sim_world::MANAGER_TOKEN.to_owned()),
        (0, Auth::Partner) => Some(ids.partner_token.clone()),
        (0, Auth::User) => Some(ids.user_token.clone()),
        (0, Auth::None) | (1, _) => None,
        (2, Auth::User) => Some(ids.partner_token.clone()),
        (2, _) => Some(ids.user_token.clone()),
        _ => Some(String::from_utf8_lossy(parts.get(2).copied().unwrap_or_default()).into_owned()),
    };
    // Flag bits 3-4: JSON, form, none or a fuzzed content type.
    let content_type = match (flags >> 3) & 3 {
        0 => Some("application/json".to_owned()),
        1 => Some("application/x-www-form-urlencoded".to_owned()),
        2 => None,
        _ => Some(String::from_utf8_lossy(parts.get(1).copied().unwrap_or_default()).into_owned()),
    };
    // Placeholders in a UTF-8 body name the world's real ids, so seeds can be valid requests.
    let body = parts.get(3).map(|b| b.to_vec()).unwrap_or_default();
    let body = match String::from_utf8(body) {
        Ok(text) => text
            .replace("{door}", &ids.door)
            .replace("{user}", &ids.user)
            .replace("{building}", &ids.building)
            .replace("{key}", &ids.key)
            .replace("{partner}", &ids.partner)
            .replace("{client_id}", &ids.client_id)
            .replace("{client_secret}", &ids.client_secret)
            .replace("{email}", &ids.email)
            .replace("{now}", &chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .into_bytes(),
        Err(error) => error.into_bytes(),
    };
    let mut request =
        Request::builder().method(Method::from_bytes(method.as_bytes()).expect("a method")).uri(&path);
    if let Some(token) = token {
        // Flag bit 5: the manager web's session cookie instead of a bearer header.
        if flags & 0x20 != 0 {
            request = request.header(header::COOKIE, format!("lk_manager_session={token}"));
        } else {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
    }
    if let Some(ct) = content_type {
        request = request.header(header::CONTENT_TYPE, ct);
    }
    // A header value the builder refuses (control characters) is not a request a server can receive.
    let Ok(request) = request.body(Body::from(body)) else { return };
    let (status, bytes) = w.send(request);
    assert!(
        !status.is_server_error(),
        "{method} {path} answered {status}: {}",
        String::from_utf8_lossy(&bytes)
    );
});
