//! Attacks on the simulator's HTTP surface, swept over every endpoint: callers of the wrong kind and forged
//! tokens, another partner's identifiers, SQL injection in every path, query and body field, and
//! oversized bodies. Each must end in a 4xx that says why, never a 5xx, never another caller's data, and
//! nothing stored.

use latchkey_sim::backend::extract::MAX_BODY_BYTES;
use serde_json::{Value, json};

use crate::support::{Raw, World, permanent, wire};

/// Who an endpoint is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Audience {
    Partner,
    User,
    Manager,
}

/// One endpoint: method, path template (`{user}`, `{door}`, `{building}`, `{key}`, `{guest}`), audience.
const ENDPOINTS: &[(&str, &str, Audience)] = &[
    ("GET", "/access/sdk/v1/doors", Audience::Partner),
    ("GET", "/access/sdk/v1/buildings", Audience::Partner),
    ("GET", "/access/sdk/v1/buildings/{building}/residents", Audience::Partner),
    ("POST", "/access/sdk/v1/users", Audience::Partner),
    ("GET", "/access/sdk/v1/users", Audience::Partner),
    ("POST", "/access/sdk/v2/users", Audience::Partner),
    ("GET", "/access/sdk/v1/users/{user}", Audience::Partner),
    ("PATCH", "/access/sdk/v1/users/{user}/doors/{door}", Audience::Partner),
    ("DELETE", "/access/sdk/v1/users/{user}/doors/{door}", Audience::Partner),
    ("POST", "/access/sdk/v1/me/devices", Audience::User),
    ("GET", "/access/sdk/v1/me/locks", Audience::User),
    ("GET", "/access/sdk/v1/me/locks/{door}/sync", Audience::User),
    ("POST", "/access/sdk/v1/me/locks/{door}/logs", Audience::User),
    ("GET", "/access/sdk/v1/me/locks/{door}/access-logs", Audience::User),
    ("POST", "/access/sdk/v1/me/guests", Audience::User),
    ("GET", "/access/sdk/v1/me/guests", Audience::User),
    ("DELETE", "/access/sdk/v1/me/guests/{guest}/doors/{door}", Audience::User),
    ("POST", "/manager/v1/partners", Audience::Manager),
    ("POST", "/manager/v1/buildings", Audience::Manager),
    ("POST", "/manager/v1/doors", Audience::Manager),
    ("POST", "/manager/v1/doors/{door}/activate", Audience::Manager),
    ("POST", "/manager/v1/keys", Audience::Manager),
    ("PUT", "/manager/v1/keys/{key}/partner", Audience::Manager),
    ("POST", "/manager/v1/keys/{key}/enable", Audience::Manager),
    ("PUT", "/manager/v1/keys/{key}/doors", Audience::Manager),
    ("POST", "/manager/v1/users", Audience::Manager),
    ("GET", "/manager/v1/users/{user}", Audience::Manager),
    ("GET", "/manager/v1/outbox", Audience::Manager),
    ("GET", "/sim/v1/controls/clock", Audience::Manager),
    ("POST", "/sim/v1/controls/clock/freeze", Audience::Manager),
    ("POST", "/sim/v1/controls/clock/advance", Audience::Manager),
    ("POST", "/sim/v1/controls/clock/unfreeze", Audience::Manager),
    ("GET", "/sim/v1/controls/faults", Audience::Manager),
    ("POST", "/sim/v1/controls/faults", Audience::Manager),
    ("DELETE", "/sim/v1/controls/faults", Audience::Manager),
    ("DELETE", "/sim/v1/controls/faults/{key}", Audience::Manager),
    ("GET", "/sim/v1/radio/advertisements", Audience::Manager),
    ("POST", "/sim/v1/radio/connections", Audience::Manager),
    ("DELETE", "/sim/v1/radio/connections/{key}", Audience::Manager),
    ("POST", "/sim/v1/radio/connections/{key}/subscribe", Audience::Manager),
    ("POST", "/sim/v1/radio/connections/{key}/write", Audience::Manager),
];

/// Endpoints that need no bearer token (they take credentials in the body or a form).
const OPEN_ENDPOINTS: &[(&str, &str)] = &[
    ("POST", "/v1/oauth/token"),
    ("POST", "/passwordless/start"),
    ("POST", "/account/finalize"),
    ("POST", "/account/sign-in"),
    ("POST", "/manager/sign-in"),
];

/// Classic injection strings: quotes, comments, stacked statements, UNION, LIKE wildcards.
const INJECTIONS: &[&str] = &[
    "' OR '1'='1",
    "1; DROP TABLE users;--",
    "\" OR \"\"=\"",
    "x' UNION SELECT client_secret_hash FROM partners--",
    "%' OR 1=1 --",
    "') ; DELETE FROM accesses; --",
];

/// The world with one invited, signed-in user of partner A: tokens of each kind and ids to fill templates.
struct Target {
    world: World,
    partner_token: String,
    user_token: String,
    user_uuid: String,
}

impl Target {
    async fn new() -> Target {
        let world = World::start().await;
        let grace = world
            .a
            .create_user_v2(&permanent("grace@example.com", &[&world.p.doors.lobby], world.now()))
            .await
            .expect("invite");
        let (_, session) = world.sign_in("grace@example.com").await;
        let partner_token = world.token(&world.p.a).await;
        Target {
            partner_token,
            user_token: session.access_token.expose().to_owned(),
            user_uuid: grace.user_uuid,
            world,
        }
    }

    /// The template with partner A's real identifiers (Tokyo: a building where partner B has no door).
    fn path(&self, template: &str) -> String {
        let p = &self.world.p;
        template
            .replace("{user}", &self.user_uuid)
            .replace("{door}", &p.doors.lobby.uuid)
            .replace("{building}", &p.buildings.tokyo.uuid)
            .replace("{key}", &p.keys.a.uuid)
            .replace("{guest}", &self.user_uuid)
    }

    fn token_for(&self, audience: Audience) -> String {
        match audience {
            Audience::Partner => self.partner_token.clone(),
            Audience::User => self.user_token.clone(),
            Audience::Manager => crate::support::MANAGER_TOKEN.to_owned(),
        }
    }

    /// A body for writes, none for reads.
    fn body(method: &str) -> Option<Value> {
        (method != "GET" && method != "DELETE").then(|| json!({}))
    }

    async fn send(&self, method: &str, path: &str, bearer: Option<&str>) -> Raw {
        self.world.raw(method, path, bearer, Target::body(method)).await
    }

    /// What partner A can see, to compare before and after an attack.
    async fn a_users(&self) -> String {
        format!("{:?}", self.world.a.all_users().await.expect("partner A's users"))
    }
}

/// `alg: none` with the claims of a real token and no signature.
fn unsigned(token: &str) -> String {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("a JWT");
    let header = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    format!("{header}.{payload}.")
}

fn assert_refused(response: &Raw, expected: u16, what: &str, secrets: &[&str]) {
    assert_eq!(response.status, expected, "{what}: {}", response.text);
    assert!(!response.message().is_empty(), "{what}: the error says why");
    for secret in secrets {
        assert!(!response.text.contains(secret), "{what}: the response echoes a credential");
    }
}

#[tokio::test]
async fn every_endpoint_refuses_missing_forged_and_wrong_kind_tokens() {
    let t = Target::new().await;
    let before = t.a_users().await;
    let tokens = [t.partner_token.as_str(), t.user_token.as_str()];
    for &(method, template, audience) in ENDPOINTS {
        let path = t.path(template);
        let what = |case: &str| format!("{method} {template} with {case}");
        assert_refused(&t.send(method, &path, None).await, 401, &what("no token"), &[]);
        for token in tokens {
            let response = t.send(method, &path, Some(&unsigned(token))).await;
            assert_refused(&response, 401, &what("an unsigned (alg none) token"), &tokens);
        }
        let (wrong_kind, status) = match audience {
            Audience::Partner => (vec![t.user_token.clone()], 403),
            Audience::User => (vec![t.partner_token.clone()], 403),
            Audience::Manager => (vec![t.partner_token.clone(), t.user_token.clone()], 401),
        };
        for token in wrong_kind {
            let response = t.send(method, &path, Some(&token)).await;
            assert_refused(&response, status, &what("a token of another kind"), &tokens);
        }
        if audience != Audience::Manager {
            let response = t.send(method, &path, Some(crate::support::MANAGER_TOKEN)).await;
            assert_refused(&response, 401, &what("the manager token"), &[crate::support::MANAGER_TOKEN]);
        }
        // The right kind of token reaches the endpoint: a read answers, a write refuses a body that is not
        // an object (so nothing changes). A DELETE, or a clock control that takes no body, would act, so
        // they are left out here.
        if method == "DELETE" || template.starts_with("/sim/v1/controls/clock/") {
            continue;
        }
        let body = (method != "GET").then(|| json!([]));
        let response = t.world.raw(method, &path, Some(&t.token_for(audience)), body).await;
        assert!(![401, 403].contains(&response.status), "{}: {}", what("its own token"), response.text);
    }
    assert_eq!(t.a_users().await, before, "no refused call changed anything");
}

#[tokio::test]
async fn tokens_are_issued_only_for_the_partner_audience() {
    let t = Target::new().await;
    let partner = &t.world.p.a;
    for audience in ["https://evil.example.com/", "", "https://rest.latchaccess.com/access/sdk/../admin"] {
        let response = t
            .world
            .raw(
                "POST",
                "/v1/oauth/token",
                None,
                Some(json!({
                    "grant_type": "client_credentials",
                    "client_id": partner.client_id,
                    "client_secret": partner.client_secret.expose(),
                    "audience": audience,
                })),
            )
            .await;
        assert!([400, 401, 403].contains(&response.status), "audience {audience:?}: {}", response.text);
        assert!(response.json().get("access_token").is_none(), "no token for audience {audience:?}");
    }
}

#[tokio::test]
async fn another_partners_identifiers_reveal_nothing_and_change_nothing() {
    let t = Target::new().await;
    let before = t.a_users().await;
    let b = t.world.token(&t.world.p.b).await;
    for &(method, template, audience) in ENDPOINTS {
        if audience != Audience::Partner || !template.contains('{') {
            continue;
        }
        let path = t.path(template);
        let response = t.world.raw(method, &path, Some(&b), Target::body(method)).await;
        assert!([400, 404].contains(&response.status), "B on {method} {template}: {}", response.text);
        // (The identifiers B sent may be echoed back; what A stored behind them may not.)
        for secret in ["grace@example.com", "Grace", "Hopper"] {
            assert!(
                !response.text.contains(secret),
                "B on {method} {template} sees A's data: {}",
                response.text
            );
        }
    }
    // B inviting someone to A's doors: refused, and the doors are not described.
    let request = permanent("mallory@example.com", &[&t.world.p.doors.lobby], t.world.now());
    let response = t.world.raw("POST", "/access/sdk/v2/users", Some(&b), Some(wire(&request))).await;
    assert_eq!(response.status, 400, "{}", response.text);
    assert!(!response.text.contains(&t.world.p.doors.lobby.name), "{}", response.text);
    // A user of partner A cannot reach a door that is only partner B's.
    let staff = &t.world.p.doors.staff_room.uuid;
    for path in [
        format!("/access/sdk/v1/me/locks/{staff}/sync"),
        format!("/access/sdk/v1/me/locks/{staff}/access-logs"),
    ] {
        let response = t.world.raw("GET", &path, Some(&t.user_token), None).await;
        assert_eq!(response.status, 404, "{path}: {}", response.text);
    }
    assert_eq!(t.a_users().await, before, "partner A's users and accesses are untouched");
}

fn encoded(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>().replace('+', "%20")
}

#[tokio::test]
async fn sql_injection_anywhere_is_only_data() {
    let t = Target::new().await;
    let before = t.a_users().await;
    for injection in INJECTIONS {
        let id = encoded(injection);
        for &(method, template, audience) in ENDPOINTS {
            if !template.contains('{') {
                continue;
            }
            let path = template
                .replace("{user}", &id)
                .replace("{door}", &id)
                .replace("{building}", &id)
                .replace("{key}", &id)
                .replace("{guest}", &id);
            let response = t.send(method, &path, Some(&t.token_for(audience))).await;
            // Disconnecting a radio connection is idempotent: an unknown id is a 204 with nothing done.
            let idempotent_delete = method == "DELETE" && template.starts_with("/sim/v1/radio/");
            assert!(
                (400..500).contains(&response.status) || (idempotent_delete && response.status == 204),
                "{method} {template} with {injection:?} in the path: {} {}",
                response.status,
                response.text
            );
        }
        for query in [format!("buildingUuid={id}"), format!("pageToken={id}"), format!("pageSize={id}")] {
            let path = format!("/access/sdk/v1/doors?{query}");
            let response = t.send("GET", &path, Some(&t.partner_token)).await;
            assert!(response.status < 500, "{path}: {}", response.text);
            if response.status == 200 {
                assert!(
                    response.json()["doors"].as_array().is_some_and(Vec::is_empty),
                    "{path} matched doors"
                );
            }
        }
    }
    assert_eq!(t.a_users().await, before, "nothing was deleted or changed");

    // In a body, an injection is just a name: stored and returned byte for byte.
    // Two of them fit in a name (at most 100 characters).
    let name = format!("{} {}", INJECTIONS[0], INJECTIONS[1]);
    let mut request = permanent("bobby@example.com", &[&t.world.p.doors.gym], t.world.now());
    request.first_name = name.clone();
    let created = t.world.a.create_user_v2(&request).await.expect("a name with quotes is a valid name");
    let fetched = t.world.a.get_user(&created.user_uuid).await.expect("get");
    assert_eq!(fetched.first_name, name);
    let response = t
        .world
        .raw(
            "POST",
            "/manager/v1/buildings",
            Some(crate::support::MANAGER_TOKEN),
            Some(json!({
                "name": name, "timezone": "Europe/Paris", "commonDoorcodes": false
            })),
        )
        .await;
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.json()["name"], name);
    let users = t.world.a.all_users().await.expect("users");
    assert_eq!(users.len(), 2, "grace and the new user, nobody else: {users:?}");
}

#[tokio::test]
async fn oversized_bodies_are_refused_with_a_413_on_every_endpoint() {
    let t = Target::new().await;
    let before = t.a_users().await;
    let huge = json!({ "firstName": "x".repeat(MAX_BODY_BYTES) });
    let writes = ENDPOINTS
        .iter()
        .filter(|(method, ..)| *method != "GET" && *method != "DELETE")
        .map(|&(method, template, audience)| (method, t.path(template), Some(t.token_for(audience))))
        .chain(OPEN_ENDPOINTS.iter().map(|&(method, path)| (method, path.to_owned(), None)));
    for (method, path, token) in writes {
        let response = t.world.raw(method, &path, token.as_deref(), Some(huge.clone())).await;
        assert_eq!(response.status, 413, "{method} {path}: {}", response.text);
        assert!(response.message().contains("larger than"), "{method} {path}: {}", response.text);
    }
    // A chunked body announces no length: it is stopped as it is read.
    let status = post_chunked(&t.world.base_url(), "/access/sdk/v2/users", &t.partner_token).await;
    assert!(status.starts_with("HTTP/1.1 413"), "a chunked oversized body: {status}");
    assert_eq!(t.a_users().await, before, "nothing was stored");
}

/// POSTs a body of more than [`MAX_BODY_BYTES`] spaces in 1 KiB chunks (`Transfer-Encoding: chunked`, no
/// `Content-Length`) over a plain socket; returns the response's status line.
async fn post_chunked(base_url: &str, path: &str, token: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = base_url.trim_start_matches("http://");
    let mut socket = tokio::net::TcpStream::connect(address).await.expect("connect");
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    socket.write_all(head.as_bytes()).await.expect("write the head");
    let chunk = format!("400\r\n{}\r\n", " ".repeat(1024));
    for _ in 0..=MAX_BODY_BYTES / 1024 {
        // The server may answer and close before the whole body is sent.
        if socket.write_all(chunk.as_bytes()).await.is_err() {
            break;
        }
    }
    let _ = socket.write_all(b"0\r\n\r\n").await;
    let mut response = Vec::new();
    let _ = socket.read_to_end(&mut response).await;
    String::from_utf8_lossy(&response).lines().next().unwrap_or_default().to_owned()
}
