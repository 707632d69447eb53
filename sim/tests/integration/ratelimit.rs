//! Rate limiting (issue 8 §4): sign-in attempts per client address and API calls per token get 429 with
//! `Retry-After` past their limit, other clients are not affected, and the Latchkey client waits the
//! `Retry-After` out and retries with the same `Idempotency-Key`, so the call succeeds once.

use std::time::Duration as StdDuration;

use latchkey::api::{ApiError, DoorsQuery, PartnerClient, RetryPolicy};
use latchkey::model::PARTNER_AUDIENCE;
use latchkey_sim::backend::ratelimit::{Limit, RateLimits};
use serde_json::json;

use crate::support::{Options, World, permanent};

async fn world(limits: RateLimits) -> World {
    World::start_with(Options { rate_limits: limits, ..Options::default() }).await
}

#[tokio::test]
async fn sign_in_attempts_are_limited_per_address() {
    let w = world(RateLimits { api: None, sign_in: Some(Limit { per_second: 0.2, burst: 3 }) }).await;
    let guess = json!({
        "grant_type": "client_credentials",
        "client_id": w.p.a.client_id,
        "client_secret": "guess",
        "audience": PARTNER_AUDIENCE,
    });
    for _ in 0..3 {
        let refused = w.raw("POST", "/v1/oauth/token", None, Some(guess.clone())).await;
        assert_eq!(refused.status, 401, "{}", refused.text);
    }
    let limited = w.raw("POST", "/v1/oauth/token", None, Some(guess)).await;
    assert_eq!(limited.status, 429, "{}", limited.text);
    let retry_after: u64 = limited.headers["retry-after"].to_str().expect("text").parse().expect("seconds");
    assert!((1..=5).contains(&retry_after), "{retry_after}");
    assert!(limited.text.contains("too many sign-in attempts"), "{}", limited.text);
    // The web sign-in page's form counts against the same address.
    let form = w
        .http
        .post(format!("{}/account/sign-in", w.base_url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("email=someone%40example.com&password=not+the+password")
        .send()
        .await
        .expect("answer");
    assert_eq!(form.status().as_u16(), 429);
    // The API, with a token obtained before, is not a sign-in.
    assert_eq!(w.raw("GET", "/healthz", None, None).await.status, 200);
}

#[tokio::test]
async fn api_calls_are_limited_per_token() {
    // Slow refills (one request per 10 s) so a stalled test machine cannot refill the bucket mid-test.
    let w = world(RateLimits { api: Some(Limit { per_second: 0.1, burst: 2 }), sign_in: None }).await;
    let a = w.token(&w.p.a).await;
    let b = w.token(&w.p.b).await;
    for _ in 0..2 {
        assert_eq!(w.raw("GET", "/access/sdk/v1/doors", Some(&a), None).await.status, 200);
    }
    let limited = w.raw("GET", "/access/sdk/v1/doors", Some(&a), None).await;
    assert_eq!(limited.status, 429, "{}", limited.text);
    assert_eq!(limited.headers["retry-after"], "10");
    assert!(limited.text.contains("too many requests with this token"), "{}", limited.text);
    assert_eq!(
        w.raw("GET", "/access/sdk/v1/doors", Some(&b), None).await.status,
        200,
        "B has its own budget"
    );
}

#[tokio::test]
async fn the_client_waits_out_a_429_and_retries_the_same_call_once() {
    let client = |w: &World, retry: RetryPolicy| {
        PartnerClient::new(w.config().with_retry(retry), w.p.a.client_id.clone(), w.p.a.client_secret.clone())
            .expect("client")
    };

    // Without retries the second call sees the 429 (one request per 100 s, so it cannot refill meanwhile).
    let w = world(RateLimits { api: Some(Limit { per_second: 0.01, burst: 1 }), sign_in: None }).await;
    let impatient = client(&w, RetryPolicy::none());
    impatient.list_doors(&DoorsQuery::default()).await.expect("first call");
    let error = impatient
        .create_user_v2(&permanent("impatient@example.com", &[&w.p.doors.gym], w.now()))
        .await
        .expect_err("limited");
    assert!(matches!(error, ApiError::UnexpectedStatus { status: 429, .. }), "{error:?}");
    assert!(w.messages_to("impatient@example.com").await.is_empty(), "the refused call granted nothing");

    // One request a second: a retrying client waits Retry-After (1 s, under its 3 s cap) and the invite
    // goes through, once.
    let w = world(RateLimits { api: Some(Limit { per_second: 1.0, burst: 1 }), sign_in: None }).await;
    let patient = client(&w, RetryPolicy::new(3, StdDuration::from_millis(10), StdDuration::from_secs(3)));
    patient.list_doors(&DoorsQuery::default()).await.expect("first call");
    let user = patient
        .create_user_v2(&permanent("patient@example.com", &[&w.p.doors.gym], w.now()))
        .await
        .expect("the retry succeeds");
    assert_eq!(user.accesses.len(), 1);
    let welcome = w.messages_to("patient@example.com").await;
    assert_eq!(welcome.len(), 1, "invited exactly once: {welcome:?}");
}
