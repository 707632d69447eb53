//! The client over real HTTP on loopback, against [`super::testing::CannedServer`]: retries, idempotency
//! keys, token caching and refresh, validation, error mapping and secrecy.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::json;

use super::testing::{Canned, CannedServer};
use super::*;
use crate::ManualClock;
use crate::model::{
    ActivateDoorRequest, CreateUserRequest, DeviceType, PageQuery, PasscodeType, PatchAccessRequest, Role,
};

const TOKEN: &str = "/v1/oauth/token";
const BUILDINGS: &str = "/access/sdk/v1/buildings";
const USERS_V1: &str = "/access/sdk/v1/users";
const SECRET: &str = "s3cr3t-client-secret";

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).expect("valid instant").to_utc()
}

fn clock() -> ManualClock {
    ManualClock::new(at("2026-11-22T09:00:00Z"))
}

fn fast(attempts: u32) -> RetryPolicy {
    RetryPolicy::new(attempts, Duration::from_millis(1), Duration::from_millis(5))
}

fn config(server: &CannedServer, clock: &ManualClock, retry: RetryPolicy) -> ApiConfig {
    ApiConfig::new(server.url())
        .with_retry(retry)
        .with_clock(clock.clone())
        .with_timeout(Duration::from_secs(5))
}

fn partner(server: &CannedServer, clock: &ManualClock, retry: RetryPolicy) -> PartnerClient {
    PartnerClient::new(config(server, clock, retry), "partner-client", SECRET).expect("client")
}

fn token(value: &str, expires_in: u64) -> Canned {
    Canned::json(200, json!({ "access_token": value, "expires_in": expires_in, "token_type": "Bearer" }))
}

fn buildings() -> Canned {
    Canned::json(
        200,
        json!({ "buildings": [
            { "uuid": "b-1", "name": "Main St", "timezone": "America/New_York", "commonDoorcodes": false }
        ] }),
    )
}

fn user(uuid: &str) -> serde_json::Value {
    json!({
        "email": "ada@example.com", "firstName": "Ada", "lastName": "Lovelace", "userUuid": uuid,
        "phone": null, "accesses": []
    })
}

fn invite() -> CreateUserRequest {
    CreateUserRequest {
        first_name: "Ada".into(),
        last_name: "Lovelace".into(),
        email: Some("ada@example.com".into()),
        phone: None,
        start_time: at("2026-11-22T10:00:00Z"),
        end_time: None,
        door_uuids: vec!["door-1".into()],
        shareable: false,
        passcode_type: PasscodeType::Permanent,
        role: Role::NonResident,
        should_notify: true,
    }
}

fn v1_created() -> Canned {
    Canned::json(200, json!({ "userUuid": "u-1", "doors": [] }))
}

#[test]
fn clients_are_send_sync_and_their_futures_send() {
    fn send_sync<T: Send + Sync + Clone + 'static>() {}
    fn send<T: Send>(_: &T) {}
    send_sync::<PartnerClient>();
    send_sync::<ManagerClient>();
    send_sync::<AuthClient>();
    send_sync::<TokenSource>();
    let client = PartnerClient::new(ApiConfig::parse("http://127.0.0.1:9").expect("url"), "id", "secret")
        .expect("client");
    send(&client.buildings());
    send(&client.create_user_v1(&invite()));
    send(&client.all_doors(None));
}

#[tokio::test]
async fn a_503_is_retried_until_success_and_the_token_is_fetched_once() {
    let server = CannedServer::start().await;
    server.script(TOKEN, [token("tok-1", 3600)]);
    server.script(
        BUILDINGS,
        [
            Canned::error(503, "unavailable", "try later").header("Retry-After", "0"),
            Canned::empty(502),
            buildings(),
        ],
    );
    let client = partner(&server, &clock(), fast(4));
    let response = client.buildings().await.expect("third attempt succeeds");
    assert_eq!(response.buildings[0].uuid, "b-1");
    assert_eq!(server.requests_to(BUILDINGS).len(), 3);
    assert_eq!(server.requests_to(TOKEN).len(), 1);
    for request in server.requests_to(BUILDINGS) {
        assert_eq!(request.header("authorization"), Some("Bearer tok-1"));
        assert_eq!(request.header("idempotency-key"), None, "GETs carry no idempotency key");
    }
}

#[tokio::test]
async fn the_last_5xx_is_returned_when_attempts_run_out() {
    let server = CannedServer::start().await;
    server.script(TOKEN, [token("tok-1", 3600)]);
    server.script(BUILDINGS, (0..3).map(|_| Canned::error(500, "internal", "boom")));
    let error = partner(&server, &clock(), fast(3)).buildings().await.expect_err("always 500");
    assert!(
        matches!(&error, ApiError::Server { status: 500, message, .. } if message == "boom"),
        "{error:?}"
    );
    assert_eq!(server.requests_to(BUILDINGS).len(), 3);
}

#[tokio::test]
async fn a_post_is_retried_with_the_same_idempotency_key_and_each_call_gets_its_own() {
    let server = CannedServer::start().await;
    server.script(TOKEN, [token("tok-1", 3600)]);
    server.script(
        USERS_V1,
        [Canned::empty(503), Canned::error(504, "timeout", "gateway"), v1_created(), v1_created()],
    );
    let client = partner(&server, &clock(), fast(4));
    let created = client.create_user_v1(&invite()).await.expect("third attempt succeeds");
    assert_eq!(created.user_uuid, "u-1");
    client.create_user_v1(&invite()).await.expect("second call");

    let requests = server.requests_to(USERS_V1);
    assert_eq!(requests.len(), 4);
    let keys: Vec<&str> = requests.iter().map(|r| r.header("idempotency-key").expect("key sent")).collect();
    assert_eq!(keys[0], keys[1]);
    assert_eq!(keys[1], keys[2]);
    assert_ne!(keys[2], keys[3], "a new logical call gets a new key");
    let key = uuid::Uuid::parse_str(keys[0]).expect("a uuid");
    assert_eq!(key.get_version_num(), 4);
    assert_eq!(requests[0].method, "POST");
    assert_eq!(requests[0].header("content-type"), Some("application/json"));
    assert_eq!(requests[0].json()["doorUuids"], json!(["door-1"]));
    assert_eq!(requests[0].body, requests[2].body);
}

#[tokio::test]
async fn a_400_is_not_retried_and_carries_the_server_message() {
    let server = CannedServer::start().await;
    server.script(TOKEN, [token("tok-1", 3600)]);
    server.script(USERS_V1, [Canned::error(400, "invalid_request", "door-1 is not a door you may use")]);
    let error = partner(&server, &clock(), fast(4)).create_user_v1(&invite()).await.expect_err("400");
    assert!(
        matches!(&error, ApiError::BadRequest { message, .. } if message.contains("door-1")),
        "{error:?}"
    );
    assert_eq!(error.status(), Some(400));
    assert_eq!(error.code(), Some("invalid_request"));
    assert_eq!(server.requests_to(USERS_V1).len(), 1);
}

#[tokio::test]
async fn statuses_map_to_typed_errors() {
    let server = CannedServer::start().await;
    server.script(TOKEN, [token("tok-1", 3600)]);
    server.script("/access/sdk/v1/users/nobody", [Canned::error(404, "not_found", "no user nobody")]);
    server.script(
        "/access/sdk/v1/users/u-1/doors/d-1",
        [Canned::error(409, "conflict", "busy"), Canned::error(422, "idempotency_key_reused", "other body")],
    );
    let client = partner(&server, &clock(), RetryPolicy::none());
    let error = client.get_user("nobody").await.expect_err("404");
    assert!(matches!(&error, ApiError::NotFound { message, .. } if message == "no user nobody"));
    let error = client.revoke_access("u-1", "d-1").await.expect_err("409");
    assert!(matches!(error, ApiError::Conflict { .. }));
    let error = client.revoke_access("u-1", "d-1").await.expect_err("422");
    assert!(matches!(&error, ApiError::Unprocessable { .. }));
    assert_eq!(error.code(), Some("idempotency_key_reused"));
}

#[tokio::test]
async fn a_401_refreshes_the_token_once_and_the_retry_succeeds() {
    let server = CannedServer::start().await;
    server.script(TOKEN, [token("tok-1", 3600), token("tok-2", 3600)]);
    server.script(BUILDINGS, [Canned::error(401, "invalid_token", "token revoked"), buildings()]);
    // No retry budget at all: the refresh-and-retry after a 401 does not depend on it.
    let client = partner(&server, &clock(), RetryPolicy::none());
    client.buildings().await.expect("retried with a fresh token");
    let calls = server.requests_to(BUILDINGS);
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].header("authorization"), Some("Bearer tok-1"));
    assert_eq!(calls[1].header("authorization"), Some("Bearer tok-2"));
    let token_requests = server.requests_to(TOKEN);
    assert_eq!(token_requests.len(), 2);
    assert_eq!(
        token_requests[0].json(),
        json!({
            "grant_type": "client_credentials", "client_id": "partner-client", "client_secret": SECRET,
            "audience": crate::model::PARTNER_AUDIENCE
        })
    );
}

#[tokio::test]
async fn a_second_401_is_unauthorized() {
    let server = CannedServer::start().await;
    server.script(TOKEN, [token("tok-1", 3600), token("tok-2", 3600)]);
    server.script(BUILDINGS, (0..2).map(|_| Canned::error(401, "invalid_token", "token not accepted")));
    let error = partner(&server, &clock(), fast(4)).buildings().await.expect_err("401 twice");
    assert!(matches!(&error, ApiError::Unauthorized { message, .. } if message == "token not accepted"));
    assert_eq!(error.status(), Some(401));
    assert_eq!(server.requests_to(BUILDINGS).len(), 2);
    assert_eq!(server.requests_to(TOKEN).len(), 2);
}

#[tokio::test]
async fn the_token_is_cached_and_refreshed_when_less_than_a_minute_remains() {
    let server = CannedServer::start().await;
    server.script(TOKEN, [token("tok-1", 3600), token("tok-2", 3600)]);
    server.script(BUILDINGS, (0..4).map(|_| buildings()));
    let clock = clock();
    let client = partner(&server, &clock, RetryPolicy::none());
    client.buildings().await.expect("first");
    client.buildings().await.expect("second");
    assert_eq!(server.requests_to(TOKEN).len(), 1, "cached across calls");
    assert_eq!(client.token_source().expires_at().await, Some(at("2026-11-22T10:00:00Z")));

    clock.advance(chrono::Duration::seconds(3600 - 61));
    client.buildings().await.expect("61 s left: still cached");
    assert_eq!(server.requests_to(TOKEN).len(), 1);

    clock.advance(chrono::Duration::seconds(2));
    client.buildings().await.expect("59 s left: refreshed first");
    assert_eq!(server.requests_to(TOKEN).len(), 2);
    let last = server.requests_to(BUILDINGS).pop().expect("a request");
    assert_eq!(last.header("authorization"), Some("Bearer tok-2"));
}

#[tokio::test]
async fn concurrent_callers_share_one_token_fetch() {
    let server = CannedServer::start().await;
    server.script(TOKEN, [token("tok-1", 3600).delayed(Duration::from_millis(100))]);
    server.script(BUILDINGS, (0..3).map(|_| buildings()));
    let client = partner(&server, &clock(), RetryPolicy::none());
    let twin = client.clone();
    let third = client.clone();
    let (a, b, c) = tokio::join!(client.buildings(), twin.buildings(), third.buildings());
    a.expect("a");
    b.expect("b");
    c.expect("c");
    assert_eq!(server.requests_to(TOKEN).len(), 1);
}

#[tokio::test]
async fn bad_client_credentials_are_unauthorized_without_retries() {
    let server = CannedServer::start().await;
    server.script(TOKEN, [Canned::error(401, "access_denied", "Unauthorized")]);
    let error = partner(&server, &clock(), fast(4)).buildings().await.expect_err("bad credentials");
    assert!(matches!(&error, ApiError::Unauthorized { code: Some(code), .. } if code == "access_denied"));
    assert_eq!(server.requests().len(), 1, "nothing but the one token request");
}

#[tokio::test]
async fn validation_failures_send_nothing() {
    let server = CannedServer::start().await;
    let clock = clock();
    let client = partner(&server, &clock, fast(4));

    let mut no_doors = invite();
    no_doors.door_uuids.clear();
    let error = client.create_user_v1(&no_doors).await.expect_err("no doors");
    assert!(matches!(error, ApiError::Validation(crate::model::ValidationError::NoDoors)));
    assert!(error.is_client_side());
    assert_eq!(error.status(), None);

    let mut daily_shared = invite();
    daily_shared.passcode_type = PasscodeType::Daily;
    daily_shared.shareable = true;
    assert!(matches!(client.create_user_v2(&daily_shared).await, Err(ApiError::Validation(_))));

    let past = PatchAccessRequest { shareable: None, end_time: Some(at("2026-11-22T08:59:59Z")) };
    let error = client.patch_access("u-1", "d-1", &past).await.expect_err("end in the past");
    assert!(matches!(error, ApiError::Validation(crate::model::ValidationError::EndNotInFuture)));

    let error = client.get_user("").await.expect_err("empty id");
    assert!(matches!(error, ApiError::InvalidArgument { .. }));
    assert!(matches!(client.revoke_access("..", "d-1").await, Err(ApiError::InvalidArgument { .. })));

    assert!(server.requests().is_empty(), "{:?}", server.requests());
}

#[tokio::test]
async fn patch_sends_end_time_even_when_null_and_delete_accepts_an_empty_body() {
    let server = CannedServer::start().await;
    server.script(TOKEN, [token("tok-1", 3600)]);
    let path = "/access/sdk/v1/users/u-1/doors/d-1";
    server.script(path, [Canned::json(200, user("u-1")), Canned::empty(200)]);
    let client = partner(&server, &clock(), RetryPolicy::none());
    let patch = PatchAccessRequest { shareable: Some(true), end_time: None };
    let user = client.patch_access("u-1", "d-1", &patch).await.expect("patched");
    assert_eq!(user.user_uuid, "u-1");
    client.revoke_access("u-1", "d-1").await.expect("revoked");
    let requests = server.requests_to(path);
    assert_eq!(requests[0].method, "PATCH");
    assert_eq!(requests[0].json(), json!({ "shareable": true, "endTime": null }));
    assert_eq!(requests[0].header("idempotency-key"), None);
    assert_eq!(requests[1].method, "DELETE");
}

#[tokio::test]
async fn ids_are_percent_encoded_as_one_segment_and_queries_are_sent() {
    let server = CannedServer::start().await;
    server.script(TOKEN, [token("tok-1", 3600)]);
    server.script("/access/sdk/v1/users/a%20b%2Fc%3F%25", [Canned::json(200, user("a b/c?%"))]);
    server.script("/access/sdk/v1/doors", [Canned::json(200, json!({ "doors": [], "nextPageToken": null }))]);
    let client = partner(&server, &clock(), RetryPolicy::none());
    client.get_user("a b/c?%").await.expect("encoded");
    let query = DoorsQuery {
        page: PageQuery { page_size: Some(10), page_token: Some("2".into()) },
        building_uuid: Some("b 1".into()),
    };
    client.list_doors(&query).await.expect("doors");
    let doors = server.requests_to("/access/sdk/v1/doors");
    assert_eq!(doors[0].query.as_deref(), Some("pageSize=10&pageToken=2&buildingUuid=b+1"));
}

#[tokio::test]
async fn a_base_url_with_a_path_prefix_keeps_it() {
    let server = CannedServer::start().await;
    server.script("/prefix/manager/v1/outbox", [Canned::json(200, json!({ "messages": [] }))]);
    let base = server.url().join("/prefix/").expect("join");
    let manager =
        ManagerClient::new(ApiConfig::new(base).with_retry(RetryPolicy::none()), "dev-manager-token")
            .expect("client");
    assert!(manager.outbox().await.expect("outbox").messages.is_empty());
}

#[tokio::test]
async fn all_users_walks_every_page() {
    let server = CannedServer::start().await;
    server.script(TOKEN, [token("tok-1", 3600)]);
    server.script(
        USERS_V1,
        [
            Canned::json(200, json!({ "users": [user("u-1"), user("u-2")], "nextPageToken": "2" })),
            Canned::json(200, json!({ "users": [user("u-3")], "nextPageToken": null })),
        ],
    );
    let users = partner(&server, &clock(), RetryPolicy::none()).all_users().await.expect("users");
    let ids: Vec<&str> = users.iter().map(|u| u.user_uuid.as_str()).collect();
    assert_eq!(ids, ["u-1", "u-2", "u-3"]);
    let requests = server.requests_to(USERS_V1);
    assert_eq!(requests[0].query.as_deref(), Some("pageSize=200"));
    assert_eq!(requests[1].query.as_deref(), Some("pageSize=200&pageToken=2"));
}

#[tokio::test]
async fn a_body_that_does_not_match_the_model_is_a_decode_error() {
    let server = CannedServer::start().await;
    server.script(TOKEN, [token("tok-1", 3600)]);
    server.script(BUILDINGS, [Canned::json(200, json!({ "buildings": "nope" }))]);
    let error = partner(&server, &clock(), RetryPolicy::none()).buildings().await.expect_err("decode");
    assert!(matches!(&error, ApiError::Decode { status: Some(200), .. }), "{error:?}");
    assert!(error.to_string().contains("GET /access/sdk/v1/buildings"), "{error}");
}

#[tokio::test]
async fn the_manager_token_is_sent_and_never_refreshed() {
    let server = CannedServer::start().await;
    server.script("/manager/v1/keys/k-1/enable", [Canned::error(401, "invalid_token", "bad manager token")]);
    server.script(
        "/manager/v1/doors/d-1/activate",
        [Canned::json(
            200,
            json!({
                "uuid": "d-1", "name": "Front", "type": "DOOR", "buildingUuid": "b-1",
                "accessibilityType": "COMMUNAL", "isConnected": true,
                "device": { "serialNumber": "SN1", "type": "M",
                            "battery": { "percentage": 90, "lastUpdated": "2026-11-22T09:00:00Z" } }
            }),
        )],
    );
    let manager =
        ManagerClient::new(config(&server, &clock(), fast(3)), "dev-manager-token").expect("client");
    let door = manager
        .activate_door(
            "d-1",
            &ActivateDoorRequest { serial_number: "SN1".into(), device_type: DeviceType::M },
        )
        .await
        .expect("activated");
    assert!(door.device.is_some());
    let error = manager.enable_key("k-1").await.expect_err("401");
    assert!(matches!(error, ApiError::Unauthorized { .. }));
    let enable = server.requests_to("/manager/v1/keys/k-1/enable");
    assert_eq!(enable.len(), 1, "a static token is not refreshed");
    assert_eq!(enable[0].header("authorization"), Some("Bearer dev-manager-token"));
    assert!(enable[0].header("idempotency-key").is_some());
    assert_eq!(enable[0].body, "");
}

#[tokio::test]
async fn passwordless_sign_in_and_user_token_refresh_with_rotation() {
    let server = CannedServer::start().await;
    server.script(
        "/passwordless/start",
        [Canned::json(200, json!({ "_id": "u-1", "email": "ada@example.com", "email_verified": true }))],
    );
    server.script(
        TOKEN,
        [
            Canned::json(
                200,
                json!({ "access_token": "user-tok-1", "refresh_token": "refresh-1", "expires_in": 86400,
                        "token_type": "Bearer", "scope": USER_SCOPE }),
            ),
            Canned::json(
                200,
                json!({ "access_token": "user-tok-2", "refresh_token": "refresh-2", "expires_in": 86400,
                        "token_type": "Bearer" }),
            ),
        ],
    );
    let clock = clock();
    let auth = AuthClient::new(config(&server, &clock, RetryPolicy::none()), "app", SECRET).expect("client");
    auth.passwordless_start("ada@example.com").await.expect("code sent");
    let session = auth.exchange_otp("ada@example.com", "123456").await.expect("session");
    assert_eq!(session.access_token.expose(), "user-tok-1");
    assert_eq!(session.expires_at, at("2026-11-23T09:00:00Z"));

    let tokens = auth.token_source(&session);
    let http = super::http::Http::new(&config(&server, &clock, RetryPolicy::none())).expect("http");
    assert_eq!(tokens.bearer(&http).await.expect("cached").expose(), "user-tok-1");
    clock.advance(chrono::Duration::hours(24));
    assert_eq!(tokens.bearer(&http).await.expect("refreshed").expose(), "user-tok-2");
    let rotated = tokens.session().await.expect("a user session");
    assert_eq!(rotated.refresh_token.expose(), "refresh-2");

    let requests = server.requests_to(TOKEN);
    assert_eq!(requests[0].json()["grant_type"], PASSWORDLESS_OTP);
    assert_eq!(requests[0].json()["otp"], "123456");
    assert_eq!(
        requests[1].json(),
        json!({ "grant_type": "refresh_token", "client_id": "app", "refresh_token": "refresh-1" })
    );
    assert!(matches!(auth.passwordless_start("not-an-email").await, Err(ApiError::Validation(_))));
    assert_eq!(server.requests().len(), 3);
}

const PASSWORDLESS_OTP: &str = crate::model::PASSWORDLESS_OTP_GRANT;

#[tokio::test]
async fn errors_and_debug_output_never_show_tokens_or_secrets() {
    let server = CannedServer::start().await;
    server.script(TOKEN, [token("tok-very-secret-1", 3600), token("tok-very-secret-2", 3600)]);
    server.script(BUILDINGS, (0..2).map(|_| Canned::error(401, "invalid_token", "token not accepted")));
    server.script("/passwordless/start", [Canned::error(400, "extensibility_error", "UNAUTHORIZED")]);
    let clock = clock();
    let client = partner(&server, &clock, RetryPolicy::none());
    let error = client.buildings().await.expect_err("401");
    let auth = AuthClient::new(config(&server, &clock, RetryPolicy::none()), "app", SECRET).expect("client");
    let otp_error = auth.passwordless_start("ghost@example.com").await.expect_err("unknown email");
    let session = UserSession {
        access_token: "tok-very-secret-3".into(),
        refresh_token: "refresh-very-secret".into(),
        expires_at: at("2026-11-23T00:00:00Z"),
    };
    let texts = [
        format!("{error} {error:?}"),
        format!("{otp_error} {otp_error:?}"),
        format!("{client:?} {:?}", client.token_source()),
        format!("{auth:?}"),
        format!("{session:?} {:?}", auth.token_source(&session)),
        format!("{:?}", ManagerClient::new(config(&server, &clock, RetryPolicy::none()), "mgr-very-secret")),
    ];
    for text in texts {
        for secret in [SECRET, "tok-very-secret", "refresh-very-secret", "mgr-very-secret"] {
            assert!(!text.contains(secret), "{secret} leaked in {text}");
        }
    }
}

#[tokio::test]
async fn connection_refused_is_a_network_error_after_the_configured_attempts() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let base = Url::parse(&format!("http://{addr}")).expect("url");
    let manager =
        ManagerClient::new(ApiConfig::new(base).with_retry(fast(3)), "dev-manager-token").expect("client");
    let error = manager.outbox().await.expect_err("nothing listens");
    match &error {
        ApiError::Network { kind, attempts, endpoint, .. } => {
            assert_eq!(*kind, NetworkErrorKind::Connect, "{error}");
            assert_eq!(*attempts, 3);
            assert_eq!(endpoint, "GET /manager/v1/outbox");
        }
        other => panic!("expected a network error, got {other:?}"),
    }
    assert_eq!(error.status(), None);
}

#[tokio::test]
async fn a_slow_server_is_a_timeout() {
    let server = CannedServer::start().await;
    server.script("/manager/v1/outbox", (0..2).map(|_| Canned::empty(200).delayed(Duration::from_secs(5))));
    let config = ApiConfig::new(server.url()).with_retry(fast(2)).with_timeout(Duration::from_millis(100));
    let error =
        ManagerClient::new(config, "dev-manager-token").expect("client").outbox().await.expect_err("slow");
    assert!(
        matches!(error, ApiError::Network { kind: NetworkErrorKind::Timeout, attempts: 2, .. }),
        "{error:?}"
    );
    assert_eq!(server.requests().len(), 2);
}
