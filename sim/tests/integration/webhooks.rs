//! Webhooks: endpoints registered through the partner API, Standard Webhooks signatures (checked with
//! `latchkey::webhooks::verify` and with the reference `standardwebhooks` package from PyPI), the durable
//! outbox and the delivery worker (order, retries driven by the simulator's clock, `Retry-After`, bounded
//! work, disabling a failing endpoint, the delivery log, replay).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{Duration, Utc};
use latchkey::api::EventsQuery;
use latchkey::model::{
    EventType, EventView, PatchAccessRequest, WebhookAttemptsResponse, WebhookEndpointView,
};
use serde_json::{Value, json};

use crate::support::{World, permanent};

/// What the test endpoint answers.
#[derive(Clone, Debug)]
enum Behaviour {
    Ok,
    Status(u16, Option<u64>),
    Slow,
    Huge,
}

/// One delivery as received.
#[derive(Clone, Debug)]
struct Received {
    headers: HashMap<String, String>,
    body: Bytes,
}

#[derive(Clone)]
struct Receiver {
    behaviour: Arc<Mutex<Behaviour>>,
    received: Arc<Mutex<Vec<Received>>>,
    url: String,
}

impl Receiver {
    async fn start(behaviour: Behaviour) -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/hooks", listener.local_addr().expect("addr"));
        let receiver = Receiver { behaviour: Arc::new(Mutex::new(behaviour)), received: Arc::default(), url };
        let app = Router::new().route("/hooks", axum::routing::post(receive)).with_state(receiver.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        receiver
    }

    fn set(&self, behaviour: Behaviour) {
        *self.behaviour.lock().expect("lock") = behaviour;
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().expect("lock").clone()
    }

    /// The distinct `webhook-id`s received, in order of first arrival.
    fn ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = Vec::new();
        for delivery in self.received() {
            let id = delivery.headers["webhook-id"].clone();
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        ids
    }

    /// Waits (host time, up to 20 s) until `count` distinct events arrived.
    async fn wait_for(&self, count: usize) {
        for _ in 0..200 {
            if self.ids().len() >= count {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("only {} of {count} events arrived: {:?}", self.ids().len(), self.ids());
    }
}

async fn receive(State(receiver): State<Receiver>, headers: HeaderMap, body: Bytes) -> Response {
    let headers = headers
        .iter()
        .map(|(name, value)| (name.as_str().to_owned(), value.to_str().unwrap_or_default().to_owned()))
        .collect();
    receiver.received.lock().expect("lock").push(Received { headers, body });
    let behaviour = receiver.behaviour.lock().expect("lock").clone();
    match behaviour {
        Behaviour::Ok => StatusCode::NO_CONTENT.into_response(),
        Behaviour::Status(status, retry_after) => {
            let mut response = StatusCode::from_u16(status).expect("status").into_response();
            if let Some(seconds) = retry_after {
                response.headers_mut().insert("retry-after", seconds.to_string().parse().expect("header"));
            }
            response
        }
        Behaviour::Slow => {
            tokio::time::sleep(std::time::Duration::from_secs(30)).await;
            StatusCode::OK.into_response()
        }
        // 16 MiB: the worker must stop reading long before the end.
        Behaviour::Huge => Response::new(Body::from(vec![b'x'; 16 << 20])),
    }
}

/// Registers an endpoint for partner A; returns it with its secret.
async fn register(world: &World, body: Value) -> WebhookEndpointView {
    let token = world.token(&world.p.a).await;
    let response = world.raw("POST", "/access/sdk/v1/webhooks/endpoints", Some(&token), Some(body)).await;
    assert_eq!(response.status, 200, "{}", response.text);
    serde_json::from_str(&response.text).expect("endpoint")
}

async fn attempts(world: &World, endpoint: &str) -> WebhookAttemptsResponse {
    let token = world.token(&world.p.a).await;
    let path = format!("/access/sdk/v1/webhooks/endpoints/{endpoint}/attempts");
    let response = world.raw("GET", &path, Some(&token), None).await;
    assert_eq!(response.status, 200, "{}", response.text);
    serde_json::from_str(&response.text).expect("attempts")
}

async fn feed(world: &World) -> Vec<EventView> {
    world.a.list_events(&EventsQuery::default()).await.expect("feed").events
}

/// Lets the worker look (it polls every 100 ms of host time).
async fn settle() {
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
}

/// Checks every delivery with the reference Python verifier; returns the ids it accepted, in order.
fn verify_with_standardwebhooks(secret: &str, deliveries: &[Received]) -> Result<Vec<String>, String> {
    let python = std::env::var("LATCHKEY_PYTHON")
        .unwrap_or_else(|_| format!("{}/../target/python/venv/bin/python", env!("CARGO_MANIFEST_DIR")));
    let messages: Vec<Value> = deliveries
        .iter()
        .map(|delivery| json!({ "headers": delivery.headers, "body": String::from_utf8_lossy(&delivery.body) }))
        .collect();
    let file = std::env::temp_dir().join(format!("latchkey-webhooks-{}.json", uuid::Uuid::new_v4()));
    std::fs::write(&file, serde_json::to_vec(&messages).expect("json")).expect("write");
    let script = "import json, sys\nfrom standardwebhooks.webhooks import Webhook\n\
                  hook = Webhook(sys.argv[2])\n\
                  print(json.dumps([hook.verify(m['body'], m['headers'])['id'] for m in json.load(open(sys.argv[1]))]))";
    let output = std::process::Command::new(&python)
        .args(["-c", script])
        .arg(&file)
        .arg(secret)
        .output()
        .unwrap_or_else(|error| {
            panic!("{python} did not start ({error}): run `cargo xtask python` once, it installs standardwebhooks")
        });
    let _ = std::fs::remove_file(&file);
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).into_owned());
    }
    Ok(serde_json::from_slice(&output.stdout).expect("ids"))
}

#[tokio::test]
async fn registering_an_endpoint_says_what_to_fix() {
    let world = World::start().await;
    let token = world.token(&world.p.a).await;
    for (body, expected) in [
        (json!({ "url": "not a url" }), "url is not a URL"),
        (json!({ "url": "http://example.com/hooks" }), "http to a host that is not loopback"),
        (json!({ "url": "ftp://127.0.0.1/hooks" }), "must be https or http"),
        (json!({ "url": "https://user:pw@example.com/hooks" }), "must not carry credentials"),
        (
            json!({ "url": "https://example.com/hooks", "types": ["door.exploded"] }),
            "unknown event type \"door.exploded\"",
        ),
        (
            json!({ "url": "https://example.com/hooks", "types": [] }),
            "types must name at least one event type",
        ),
        (
            json!({ "url": "https://example.com/hooks", "secret": "hunter2" }),
            "\"whsec_\" followed by the base64",
        ),
        (json!({ "url": "https://example.com/hooks", "secret": "whsec_c2hvcnQ=" }), "24 to 64 random bytes"),
    ] {
        let response =
            world.raw("POST", "/access/sdk/v1/webhooks/endpoints", Some(&token), Some(body.clone())).await;
        assert_eq!(response.status, 400, "{body}: {}", response.text);
        assert!(response.message().contains(expected), "{body}: {}", response.message());
        assert!(!response.text.contains("hunter2"), "the refused secret is not echoed");
    }
    let created =
        register(&world, json!({ "url": "https://example.com/hooks", "description": "front desk" })).await;
    let secret = created.secret.clone().expect("the secret, once");
    assert!(secret.starts_with("whsec_"));
    assert_eq!(created.types, None, "every type");
    let listed = world.raw("GET", "/access/sdk/v1/webhooks/endpoints", Some(&token), None).await;
    assert!(listed.text.contains(&created.uuid) && !listed.text.contains(&secret), "{}", listed.text);

    // Partner B neither lists nor reaches A's endpoint.
    let b = world.token(&world.p.b).await;
    let listed = world.raw("GET", "/access/sdk/v1/webhooks/endpoints", Some(&b), None).await;
    assert!(!listed.text.contains(&created.uuid));
    for (method, suffix) in [("GET", ""), ("DELETE", ""), ("GET", "/attempts")] {
        let path = format!("/access/sdk/v1/webhooks/endpoints/{}{suffix}", created.uuid);
        assert_eq!(world.raw(method, &path, Some(&b), None).await.status, 404, "{method} {path}");
    }
}

#[tokio::test]
async fn every_event_arrives_once_signed_and_in_feed_order() {
    let world = World::start().await;
    let d = &world.p.doors;
    let receiver = Receiver::start(Behaviour::Ok).await;
    let endpoint = register(&world, json!({ "url": receiver.url })).await;
    let secret = endpoint.secret.clone().expect("secret");

    let guest = world
        .a
        .create_user_v2(&permanent("guest@example.com", &[&d.lobby, &d.unit_4b], world.now()))
        .await
        .expect("grant");
    world.a.create_user_v2(&permanent("other@example.com", &[&d.gym], world.now())).await.expect("grant");
    let end = world.now() + Duration::days(2);
    world
        .a
        .patch_access(
            &guest.user_uuid,
            &d.unit_4b.uuid,
            &PatchAccessRequest { shareable: None, end_time: Some(end) },
        )
        .await
        .expect("patch");
    world.a.revoke_access(&guest.user_uuid, &d.lobby.uuid).await.expect("revoke");
    // Partner B's events never reach A's endpoint.
    world.b.create_user_v2(&permanent("staff@example.com", &[&d.staff_room], world.now())).await.expect("B");

    let events = feed(&world).await;
    assert_eq!(events.len(), 8);
    receiver.wait_for(events.len()).await;
    settle().await;
    let ids: Vec<String> = events.iter().map(|event| event.id.clone()).collect();
    assert_eq!(receiver.ids(), ids, "each of A's events, in feed order, and nothing else");

    let deliveries = receiver.received();
    for (delivery, event) in deliveries.iter().zip(&events) {
        latchkey::webhooks::verify(&delivery.headers, &delivery.body, &secret, Utc::now()).expect("verifies");
        let body: EventView = serde_json::from_slice(&delivery.body).expect("an event");
        assert_eq!(&body, event, "the body is the feed's event");
        assert_eq!(delivery.headers["content-type"], "application/json");
    }
    assert_eq!(
        verify_with_standardwebhooks(&secret, &deliveries).expect("standardwebhooks accepts them"),
        ids
    );

    // The reference verifier refuses an altered body and another secret.
    let mut altered = deliveries[0].clone();
    altered.body = Bytes::from(String::from_utf8_lossy(&altered.body).replace("Grace", "Mallory"));
    let error = verify_with_standardwebhooks(&secret, &[altered]).expect_err("altered");
    assert!(error.contains("WebhookVerificationError"), "{error}");
    let other = latchkey::webhooks::WebhookSecret::from_bytes([3; 32]).expose();
    assert!(verify_with_standardwebhooks(&other, &deliveries[..1]).is_err());

    let log = attempts(&world, &endpoint.uuid).await.attempts;
    assert_eq!(log.len(), 8);
    assert!(log.iter().all(|attempt| attempt.succeeded && attempt.status == Some(204)), "{log:?}");
}

#[tokio::test]
async fn an_endpoint_down_for_an_hour_gets_everything_afterwards_in_order() {
    let world = World::start().await;
    let d = &world.p.doors;
    let receiver = Receiver::start(Behaviour::Status(503, None)).await;
    let endpoint =
        register(&world, json!({ "url": receiver.url, "types": ["access.granted", "access.revoked"] })).await;
    for (n, door) in [&d.lobby, &d.unit_4b, &d.gym].into_iter().enumerate() {
        world
            .a
            .create_user_v2(&permanent(&format!("g{n}@example.com"), &[door], world.now()))
            .await
            .expect("grant");
        world.clock.advance(Duration::minutes(1));
    }
    // An hour of refusals, in five-minute steps of the simulator's clock: only the oldest delivery is tried.
    for _ in 0..12 {
        settle().await;
        world.clock.advance(Duration::minutes(5));
    }
    let during = receiver.received();
    assert!(during.len() >= 3, "retried meanwhile: {}", during.len());
    let first = &feed(&world).await[0].id;
    assert!(
        during.iter().all(|delivery| &delivery.headers["webhook-id"] == first),
        "only the oldest, in order"
    );
    let log = attempts(&world, &endpoint.uuid).await.attempts;
    assert!(
        log.iter().all(|attempt| !attempt.succeeded && attempt.error.as_deref() == Some("answered 503")),
        "{log:?}"
    );

    receiver.set(Behaviour::Ok);
    // The next retry is at most 2 h 24 min away (the schedule's 2 h plus jitter).
    world.clock.advance(Duration::hours(3));
    let granted: Vec<String> = feed(&world)
        .await
        .into_iter()
        .filter(|event| event.event_type == EventType::AccessGranted)
        .map(|event| event.id)
        .collect();
    receiver.wait_for(granted.len()).await;
    assert_eq!(receiver.ids(), granted, "everything, in feed order, only the types asked for");
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let world = World::start().await;
    let receiver = Receiver::start(Behaviour::Status(429, Some(3600))).await;
    register(&world, json!({ "url": receiver.url, "types": ["access.granted"] })).await;
    world
        .a
        .create_user_v2(&permanent("g@example.com", &[&world.p.doors.lobby], world.now()))
        .await
        .expect("grant");
    receiver.wait_for(1).await;
    receiver.set(Behaviour::Ok);
    world.clock.advance(Duration::minutes(50));
    settle().await;
    assert_eq!(receiver.received().len(), 1, "not retried before the hour the endpoint asked for");
    world.clock.advance(Duration::minutes(11));
    for _ in 0..50 {
        if receiver.received().len() == 2 {
            break;
        }
        settle().await;
    }
    assert_eq!(receiver.received().len(), 2, "retried once the hour passed");
}

#[tokio::test]
async fn a_slow_or_huge_answer_is_cut_off_and_holds_back_no_other_endpoint() {
    let world = World::start().await;
    let slow = Receiver::start(Behaviour::Slow).await;
    let huge = Receiver::start(Behaviour::Huge).await;
    let good = Receiver::start(Behaviour::Ok).await;
    let slow_endpoint = register(&world, json!({ "url": slow.url })).await;
    let huge_endpoint = register(&world, json!({ "url": huge.url })).await;
    register(&world, json!({ "url": good.url })).await;
    world
        .a
        .create_user_v2(&permanent("g@example.com", &[&world.p.doors.lobby], world.now()))
        .await
        .expect("grant");
    good.wait_for(2).await;
    huge.wait_for(2).await;
    let log = attempts(&world, &huge_endpoint.uuid).await.attempts;
    assert!(
        log.iter().all(|attempt| attempt.succeeded),
        "a 2xx with a huge body is a success, read to 64 KiB: {log:?}"
    );

    // The slow endpoint's attempt times out (2 s here) and is logged as a failure.
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let log = attempts(&world, &slow_endpoint.uuid).await.attempts;
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!((log[0].status, log[0].error.as_deref(), log[0].succeeded), (None, Some("timed out"), false));
    assert!(log[0].latency_ms >= 2000 && log[0].latency_ms < 5000, "{log:?}");
}

#[tokio::test]
async fn an_endpoint_failing_for_five_days_is_disabled_with_an_event_and_can_be_enabled_again() {
    let world = World::start().await;
    // A port nobody listens on: connections are refused.
    let refused = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        format!("http://{}/hooks", listener.local_addr().expect("addr"))
    };
    let dead = register(&world, json!({ "url": refused })).await;
    let watcher = Receiver::start(Behaviour::Ok).await;
    register(&world, json!({ "url": watcher.url, "types": ["endpoint.disabled"] })).await;
    for n in 0..3 {
        world
            .a
            .create_user_v2(&permanent(&format!("g{n}@example.com"), &[&world.p.doors.lobby], world.now()))
            .await
            .expect("grant");
    }
    let path = format!("/access/sdk/v1/webhooks/endpoints/{}", dead.uuid);
    let mut disabled = None;
    for _ in 0..40 {
        settle().await;
        // A fresh token each round: the clock passes the tokens' 24 h.
        let token = world.token(&world.p.a).await;
        let view: WebhookEndpointView =
            serde_json::from_str(&world.raw("GET", &path, Some(&token), None).await.text).expect("endpoint");
        if !view.enabled {
            disabled = Some(view);
            break;
        }
        world.clock.advance(Duration::hours(4));
    }
    let disabled = disabled.expect("disabled within the loop");
    let reason = disabled.disabled_reason.expect("a reason");
    assert!(reason.contains("5 days") && reason.contains("could not connect"), "{reason}");
    watcher.wait_for(1).await;
    let events = world
        .a
        .list_events(&EventsQuery { types: vec![EventType::EndpointDisabled], ..EventsQuery::default() })
        .await
        .expect("feed")
        .events;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].data["endpoint"]["uuid"], dead.uuid);
    assert_eq!(events[0].door_uuid, None);
    let log = attempts(&world, &dead.uuid).await.attempts;
    assert!(log.iter().all(|attempt| !attempt.succeeded && attempt.status.is_none()), "{log:?}");

    // Fixed and enabled again: what was pending is delivered.
    let listener =
        tokio::net::TcpListener::bind(refused.trim_start_matches("http://").trim_end_matches("/hooks")).await;
    drop(listener);
    let fixed = Receiver::start(Behaviour::Ok).await;
    let token = world.token(&world.p.a).await;
    let response =
        world.raw("PATCH", &path, Some(&token), Some(json!({ "url": fixed.url, "enabled": true }))).await;
    assert_eq!(response.status, 200, "{}", response.text);
    fixed.wait_for(1).await;
}

#[tokio::test]
async fn a_rotated_secret_and_the_old_one_both_verify_during_the_overlap_and_replay_sends_again() {
    let world = World::start().await;
    let receiver = Receiver::start(Behaviour::Ok).await;
    let endpoint = register(&world, json!({ "url": receiver.url, "types": ["access.granted"] })).await;
    let old = endpoint.secret.clone().expect("secret");
    let token = world.token(&world.p.a).await;
    let rotate = format!("/access/sdk/v1/webhooks/endpoints/{}/rotate-secret", endpoint.uuid);
    let rotated = world.raw("POST", &rotate, Some(&token), Some(json!({}))).await;
    assert_eq!(rotated.status, 200, "{}", rotated.text);
    let new = rotated.json()["secret"].as_str().expect("secret").to_owned();
    world
        .a
        .create_user_v2(&permanent("g@example.com", &[&world.p.doors.lobby], world.now()))
        .await
        .expect("grant");
    receiver.wait_for(1).await;
    let deliveries = receiver.received();
    assert_eq!(verify_with_standardwebhooks(&old, &deliveries).expect("old secret").len(), 1);
    assert_eq!(verify_with_standardwebhooks(&new, &deliveries).expect("new secret").len(), 1);

    // Replay of one event, then after the overlap only the new secret signs.
    world.clock.advance(Duration::hours(25));
    let token = world.token(&world.p.a).await;
    let event = feed(&world).await[0].id.clone();
    let replay = format!("/access/sdk/v1/webhooks/endpoints/{}/replay", endpoint.uuid);
    let response = world.raw("POST", &replay, Some(&token), Some(json!({ "eventId": event }))).await;
    assert_eq!((response.status, response.json()["queued"].as_u64()), (200, Some(1)), "{}", response.text);
    for _ in 0..50 {
        if receiver.received().len() == 2 {
            break;
        }
        settle().await;
    }
    let again = receiver.received();
    assert_eq!(again.len(), 2);
    assert_eq!(again[1].headers["webhook-id"], event, "the same id: receivers de-duplicate on it");
    assert!(verify_with_standardwebhooks(&old, &again[1..]).is_err(), "the old secret expired");
    verify_with_standardwebhooks(&new, &again[1..]).expect("new secret");
    let response = world.raw("POST", &replay, Some(&token), Some(json!({ "eventId": "evt_nope" }))).await;
    assert_eq!(response.status, 404);
    let response = world.raw("POST", &replay, Some(&token), Some(json!({}))).await;
    assert_eq!(response.status, 400);
    assert!(response.message().contains("eventId"), "{}", response.message());
}

#[tokio::test]
async fn the_manager_page_shows_each_partners_endpoints_and_their_deliveries_without_secrets() {
    let world = World::start().await;
    let receiver = Receiver::start(Behaviour::Status(500, None)).await;
    let endpoint = register(
        &world,
        json!({ "url": receiver.url, "description": "front desk", "types": ["access.granted"] }),
    )
    .await;
    world
        .a
        .create_user_v2(&permanent("g@example.com", &[&world.p.doors.lobby], world.now()))
        .await
        .expect("grant");
    receiver.wait_for(1).await;
    settle().await;

    let http =
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let signed_in = http
        .post(format!("{}/manager/sign-in", world.base_url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={}", crate::support::MANAGER_TOKEN))
        .send()
        .await
        .expect("sign in");
    let cookie = signed_in.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .split(';')
        .next()
        .expect("pair")
        .to_owned();
    let page = http
        .get(format!("{}/manager/webhooks", world.base_url()))
        .header("cookie", cookie)
        .send()
        .await
        .expect("page");
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("html");
    for expected in
        ["Acme Stays", receiver.url.as_str(), "front desk", "access.granted", "answered 500", "enabled"]
    {
        assert!(html.contains(expected), "{expected} missing: {html}");
    }
    assert!(!html.contains(endpoint.secret.as_deref().expect("secret")), "no secret on the page");
}
