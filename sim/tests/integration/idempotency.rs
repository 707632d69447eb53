//! Idempotent POSTs: a replayed `Idempotency-Key` returns the stored response and applies nothing twice; a
//! key reused with another body is a 422; and a real retry by the client after a lost response (a faulty
//! proxy hangs up once the backend has answered) grants once and notifies once.

use std::time::Duration as StdDuration;

use chrono::Duration;

use latchkey::api::{ApiConfig, NetworkErrorKind, PartnerClient, RetryPolicy};
use latchkey::model::{MessageKind, PasscodeType};

use crate::proxy::Proxy;
use crate::support::{Contact, World, daily, permanent, wire};

const V2: &str = "/access/sdk/v2/users";

#[tokio::test]
async fn a_replayed_key_returns_the_stored_response_and_applies_nothing_twice() {
    let world = World::start().await;
    let d = &world.p.doors;
    let token = world.token(&world.p.a).await;
    let body = wire(&permanent("grace@example.com", &[&d.lobby, &d.unit_4b], world.now()));
    let key = [("Idempotency-Key", "grant-grace-1")];

    let first = world.raw_with("POST", V2, Some(&token), Some(body.clone()), &key).await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.header("idempotent-replayed"), None);
    let user_uuid = first.json()["userUuid"].as_str().expect("userUuid").to_owned();
    let outbox = world.outbox().await;
    assert_eq!(outbox.len(), 1, "one welcome email");

    let second = world.raw_with("POST", V2, Some(&token), Some(body.clone()), &key).await;
    assert_eq!(second.status, 200);
    assert_eq!(second.header("idempotent-replayed"), Some("true"));
    assert_eq!(second.text, first.text, "the very same response, doorcodes included");
    assert_eq!(second.header("content-type"), Some("application/json"));
    assert_eq!(world.outbox().await, outbox, "no second notification");
    assert_eq!(world.manager.user(&user_uuid).await.expect("user").accesses.len(), 2, "no second grant");

    // A replay works with a new token of the same partner too (callers are told apart by who they are).
    let fresh_token = world.token(&world.p.a).await;
    let third = world.raw_with("POST", V2, Some(&fresh_token), Some(body.clone()), &key).await;
    assert_eq!((third.status, third.header("idempotent-replayed")), (200, Some("true")));

    // A new key is a new request: this one does apply (the existing user is told about the access).
    let fourth =
        world.raw_with("POST", V2, Some(&token), Some(body), &[("Idempotency-Key", "grant-grace-2")]).await;
    assert_eq!((fourth.status, fourth.header("idempotent-replayed")), (200, None));
    let kinds: Vec<MessageKind> = world.outbox().await.iter().map(|m| m.kind).collect();
    assert_eq!(kinds, [MessageKind::Welcome, MessageKind::AccessGranted]);
}

#[tokio::test]
async fn a_key_reused_with_another_request_is_a_422() {
    let world = World::start().await;
    let d = &world.p.doors;
    let token = world.token(&world.p.a).await;
    let key = [("Idempotency-Key", "the-key")];
    let body = wire(&permanent("grace@example.com", &[&d.lobby], world.now()));
    assert_eq!(world.raw_with("POST", V2, Some(&token), Some(body.clone()), &key).await.status, 200);
    let outbox = world.outbox().await;

    let mut other = body.clone();
    other["doorUuids"] = serde_json::json!([d.gym.uuid]);
    for (path, body) in [(V2, other), ("/access/sdk/v1/users", body)] {
        let response = world.raw_with("POST", path, Some(&token), Some(body), &key).await;
        assert_eq!(response.status, 422, "{path}: {}", response.text);
        assert_eq!(response.json()["error"], "idempotency_key_reused");
        assert!(response.message().contains("Idempotency-Key"), "{}", response.message());
    }
    assert_eq!(world.outbox().await, outbox, "nothing applied");
    let grace = world.a.all_users().await.expect("users");
    assert_eq!(grace[0].accesses.len(), 1, "the gym was not granted");

    // Keys belong to their caller: partner B may use the same one for its own request.
    let b_token = world.token(&world.p.b).await;
    let b_body = wire(&permanent("bob@example.com", &[&d.staff_room], world.now()));
    let response = world.raw_with("POST", V2, Some(&b_token), Some(b_body), &key).await;
    assert_eq!((response.status, response.header("idempotent-replayed")), (200, None), "{}", response.text);
}

fn retrying_client(world: &World, proxy: &Proxy) -> PartnerClient {
    let config = ApiConfig::parse(&proxy.url())
        .expect("url")
        .with_clock(world.clock.clone())
        .with_retry(RetryPolicy::new(3, StdDuration::from_millis(1), StdDuration::from_millis(5)));
    PartnerClient::new(config, world.p.a.client_id.clone(), world.p.a.client_secret.clone()).expect("client")
}

#[tokio::test]
async fn a_retry_after_a_lost_response_grants_once_and_notifies_once() {
    let world = World::start().await;
    let d = &world.p.doors;
    let proxy = Proxy::start(&world.base_url(), Some("POST /access/sdk/v2/users")).await;
    let client = retrying_client(&world, &proxy);

    let view = client
        .create_user_v2(&permanent("grace@example.com", &[&d.lobby, &d.unit_4b], world.now()))
        .await
        .expect("the retry succeeds");
    assert_eq!(proxy.faults(), 1, "the first answer was lost");
    let posts =
        proxy.requests().into_iter().filter(|line| line.starts_with("POST /access/sdk/v2/users")).count();
    assert_eq!(posts, 2, "one retry");

    let messages = world.messages_to("grace@example.com").await;
    assert_eq!(messages.len(), 1, "one welcome email, not a second 'new access' one: {messages:?}");
    assert_eq!(messages[0].kind, MessageKind::Welcome);
    let everything = world.manager.user(&view.user_uuid).await.expect("user");
    assert_eq!(everything.accesses.len(), 2, "granted once");
    assert_eq!(
        world.a.get_user(&view.user_uuid).await.expect("get"),
        view,
        "the codes the caller got are the user's"
    );

    // Without retries the same fault is a network error, and the grant happened anyway: that is why the
    // key matters.
    let proxy = Proxy::start(&world.base_url(), Some("POST /access/sdk/v2/users")).await;
    let config = ApiConfig::parse(&proxy.url())
        .expect("url")
        .with_clock(world.clock.clone())
        .with_retry(RetryPolicy::none());
    let once = PartnerClient::new(config, world.p.a.client_id.clone(), world.p.a.client_secret.clone())
        .expect("client");
    let error = once
        .create_user_v2(&daily(PasscodeType::Daily, Contact::Phone("+14155550100"), &[&d.lobby], world.now()))
        .await
        .expect_err("lost response");
    assert!(
        matches!(
            error,
            latchkey::api::ApiError::Network { kind: NetworkErrorKind::ConnectionLost, attempts: 1, .. }
        ),
        "{error:?}"
    );
    assert_eq!(world.messages_to("+14155550100").await.len(), 1, "applied although the caller saw an error");
}

#[tokio::test]
async fn a_retried_daily_invite_texts_the_code_once() {
    let world = World::start().await;
    let proxy = Proxy::start(&world.base_url(), Some("POST /access/sdk/v2/users")).await;
    let client = retrying_client(&world, &proxy);
    let phone = "+14155550199";
    let view = client
        .create_user_v2(&daily(
            PasscodeType::DailySingleUse,
            Contact::Phone(phone),
            &[&world.p.doors.gym],
            world.now(),
        ))
        .await
        .expect("the retry succeeds");
    assert_eq!(proxy.faults(), 1);
    let texts = world.messages_to(phone).await;
    assert_eq!(texts.len(), 1, "{texts:?}");
    let code = view.accesses[0].doorcode.code.as_deref().expect("a code");
    assert!(texts[0].content.contains(code), "the texted code is the one returned");
}

#[tokio::test]
async fn stored_responses_are_forgotten_after_a_day() {
    let world = World::start().await;
    let token = world.token(&world.p.a).await;
    let body = wire(&permanent("grace@example.com", &[&world.p.doors.lobby], world.now()));
    let headers = [("Idempotency-Key", "day-old-key")];
    let first =
        world.raw_with("POST", "/access/sdk/v1/users", Some(&token), Some(body.clone()), &headers).await;
    assert_eq!(first.status, 200);

    world.clock.advance(Duration::hours(25));
    // The fixture's own setup POSTs carried keys too; all of them are older than a day now.
    let pruned = latchkey_sim::backend::idempotency::prune(world.sim.state()).expect("prune");
    assert!(pruned >= 1, "the day-old key must be pruned");
    assert_eq!(latchkey_sim::backend::idempotency::prune(world.sim.state()).expect("prune"), 0);
    let token = world.token(&world.p.a).await;
    let again = world.raw_with("POST", "/access/sdk/v1/users", Some(&token), Some(body), &headers).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.header("idempotent-replayed"), None, "a day-old key runs afresh");
}

/// Found by schemathesis (docs/reliability.md): the auth endpoints answered a malformed key with a plain
/// 400 instead of their OAuth error body. Requests without a valid token are untracked and ignore the key.
#[tokio::test]
async fn a_malformed_key_is_refused_only_where_keys_are_tracked() {
    let world = World::start().await;
    let long = "k".repeat(256);
    let headers = [("Idempotency-Key", long.as_str())];
    let body = serde_json::json!({"grant_type": "client_credentials", "client_id": world.p.a.client_id,
        "client_secret": "wrong", "audience": latchkey::model::PARTNER_AUDIENCE});
    let response = world.raw_with("POST", "/v1/oauth/token", None, Some(body), &headers).await;
    assert_eq!(response.status, 401, "{}", response.text);
    assert_eq!(response.json()["error"], "access_denied", "the OAuth error body: {}", response.text);

    let token = world.token(&world.p.a).await;
    let body = wire(&permanent("grace@example.com", &[&world.p.doors.lobby], world.now()));
    let response = world.raw_with("POST", V2, Some(&token), Some(body), &headers).await;
    assert_eq!(response.status, 400, "{}", response.text);
    assert!(response.message().contains("Idempotency-Key"), "{}", response.message());
}
