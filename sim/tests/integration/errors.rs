//! The errors of the spec as the client surfaces them: 400 (bad parameters, unknown doors), 401 (missing,
//! invalid, expired token; bad client credentials), 403 (a user token on a partner endpoint; a wrong
//! one-time code), 404 (unknown user or door), 500 (an unexpected failure, with no internals shown).

use std::time::Duration as StdDuration;

use chrono::Duration;
use latchkey::api::{ApiConfig, ApiError, AuthClient, DoorsQuery, PartnerClient, RetryPolicy, TokenSource};
use latchkey::model::{PasscodeType, PatchAccessRequest, ValidationError};

use crate::proxy::Proxy;
use crate::support::{Contact, World, daily, permanent};

const NOBODY: &str = "00000000-0000-4000-8000-000000000000";

#[tokio::test]
async fn unknown_doors_are_a_400_that_names_them_and_changes_nothing() {
    let world = World::start().await;
    let d = &world.p.doors;
    let mut request = permanent("grace@example.com", &[&d.lobby], world.now());
    request.door_uuids.push(NOBODY.into());
    let error = world.a.create_user_v2(&request).await.expect_err("unknown door");
    assert_eq!(error.status(), Some(400), "{error:?}");
    assert!(matches!(error, ApiError::BadRequest { .. }), "{error:?}");
    let message = error.server_message().expect("a message");
    assert!(message.contains("invalid door UUIDs") && message.contains(NOBODY), "{message}");
    assert!(!message.contains(&d.lobby.uuid), "only the invalid door is named: {message}");
    assert!(world.a.all_users().await.expect("users").is_empty(), "nothing was granted");
    assert!(world.outbox().await.is_empty(), "nobody was notified");
}

#[tokio::test]
async fn missing_invalid_and_expired_tokens_are_a_401() {
    let world = World::start().await;
    let token = world.token(&world.p.a).await;
    let doors = "/access/sdk/v1/doors";

    let response = world.raw("GET", doors, None, None).await;
    assert_eq!(response.status, 401);
    assert!(response.message().contains("missing access token"), "{}", response.message());
    let response = world.raw_with("GET", doors, None, None, &[("authorization", "Basic YTpi")]).await;
    assert_eq!(response.status, 401);
    assert!(response.message().contains("Bearer"), "{}", response.message());
    let response = world.raw("GET", doors, Some("not.a.token"), None).await;
    assert_eq!(response.status, 401);
    assert!(response.message().contains("malformed"), "{}", response.message());
    // Same claims, another signature: a forged token.
    let (signed, _) = token.rsplit_once('.').expect("a JWT");
    let forged = format!("{signed}.{}", "A".repeat(43));
    let response = world.raw("GET", doors, Some(&forged), None).await;
    assert_eq!(response.status, 401);
    assert!(response.message().contains("signature"), "{}", response.message());
    assert!(!response.text.contains(signed), "the token is never echoed");

    assert_eq!(world.raw("GET", doors, Some(&token), None).await.status, 200);
    world.clock.advance(Duration::hours(24));
    for (method, path) in [("GET", doors), ("GET", "/access/sdk/v1/users"), ("POST", "/access/sdk/v2/users")]
    {
        let body = (method == "POST").then(|| {
            crate::support::wire(&permanent("late@example.com", &[&world.p.doors.lobby], world.now()))
        });
        let response = world.raw(method, path, Some(&token), body).await;
        assert_eq!(response.status, 401, "{method} {path}");
        assert!(response.message().contains("expired"), "{}", response.message());
    }
    assert!(world.a.all_users().await.expect("users").is_empty(), "the expired POST did nothing");

    // Through the client: a token that cannot be refreshed is an Unauthorized error.
    let fixed = PartnerClient::with_token_source(world.config(), TokenSource::fixed(token)).expect("client");
    let error = fixed.list_doors(&DoorsQuery::default()).await.expect_err("expired");
    assert!(matches!(error, ApiError::Unauthorized { .. }), "{error:?}");
    assert!(error.server_message().is_some_and(|message| message.contains("expired")), "{error:?}");
}

#[tokio::test]
async fn wrong_client_credentials_are_a_401_access_denied() {
    let world = World::start().await;
    let client =
        PartnerClient::new(world.config(), world.p.a.client_id.clone(), "wrong-secret").expect("client");
    let error = client.buildings().await.expect_err("wrong secret");
    assert_eq!(error.status(), Some(401), "{error:?}");
    assert_eq!(error.code(), Some("access_denied"));
    assert!(!format!("{error} {error:?}").contains("wrong-secret"), "the secret never shows");
    let client =
        PartnerClient::new(world.config(), "lk_unknown", world.p.a.client_secret.clone()).expect("client");
    assert_eq!(client.buildings().await.expect_err("unknown client").code(), Some("access_denied"));
}

#[tokio::test]
async fn a_user_token_on_a_partner_endpoint_is_a_403() {
    let world = World::start().await;
    world
        .a
        .create_user_v1(&permanent("grace@example.com", &[&world.p.doors.lobby], world.now()))
        .await
        .expect("invite");
    let (auth, session) = world.sign_in("grace@example.com").await;

    let response = world.raw("GET", "/access/sdk/v1/doors", Some(session.access_token.expose()), None).await;
    assert_eq!(response.status, 403);
    assert!(response.message().contains("partner-scoped token"), "{}", response.message());
    let body = crate::support::wire(&permanent("ada@example.com", &[&world.p.doors.lobby], world.now()));
    let response =
        world.raw("POST", "/access/sdk/v2/users", Some(session.access_token.expose()), Some(body)).await;
    assert_eq!(response.status, 403);

    let as_user =
        PartnerClient::with_token_source(world.config(), auth.token_source(&session)).expect("client");
    let error = as_user.list_doors(&DoorsQuery::default()).await.expect_err("user token");
    assert!(matches!(error, ApiError::Forbidden { .. }), "{error:?}");
    assert_eq!(world.a.all_users().await.expect("users").len(), 1, "the user could not invite anyone");
}

#[tokio::test]
async fn sign_in_errors_say_what_went_wrong() {
    let world = World::start().await;
    world
        .a
        .create_user_v1(&permanent("grace@example.com", &[&world.p.doors.lobby], world.now()))
        .await
        .expect("invite");
    let auth = AuthClient::new(world.config(), world.p.a.client_id.clone(), world.p.a.client_secret.clone())
        .expect("auth");

    let error = auth.passwordless_start("stranger@example.com").await.expect_err("unknown email");
    assert_eq!((error.status(), error.code()), (Some(400), Some("extensibility_error")), "{error:?}");
    let error = auth.passwordless_start("not-an-email").await.expect_err("malformed");
    assert!(matches!(error, ApiError::Validation(ValidationError::InvalidEmail)), "{error:?}");

    auth.passwordless_start("grace@example.com").await.expect("start");
    let code = world.last_otp("grace@example.com").await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let error = auth.exchange_otp("grace@example.com", wrong).await.expect_err("wrong code");
    assert_eq!((error.status(), error.code()), (Some(403), Some("invalid_grant")), "{error:?}");
    auth.exchange_otp("grace@example.com", code.clone()).await.expect("the right code");
    let error = auth.exchange_otp("grace@example.com", code).await.expect_err("used twice");
    assert_eq!(error.code(), Some("invalid_grant"), "a code works once");

    auth.passwordless_start("grace@example.com").await.expect("start again");
    let code = world.last_otp("grace@example.com").await;
    world.clock.advance(Duration::minutes(6));
    let error = auth.exchange_otp("grace@example.com", code).await.expect_err("expired code");
    assert_eq!(error.code(), Some("invalid_grant"));
    assert!(error.server_message().is_some_and(|m| m.contains("expired")), "{error:?}");
}

#[tokio::test]
async fn unknown_users_and_doors_are_a_404() {
    let world = World::start().await;
    let d = &world.p.doors;
    let grace = world
        .a
        .create_user_v1(&permanent("grace@example.com", &[&d.lobby], world.now()))
        .await
        .expect("invite")
        .user_uuid;

    let error = world.a.get_user(NOBODY).await.expect_err("unknown user");
    assert!(matches!(error, ApiError::NotFound { .. }), "{error:?}");
    assert!(error.server_message().is_some_and(|m| m.contains(NOBODY)), "{error:?}");
    let error =
        world.a.patch_access(NOBODY, &d.lobby.uuid, &PatchAccessRequest::default()).await.expect_err("patch");
    assert_eq!(error.status(), Some(404));
    let error = world.a.revoke_access(NOBODY, &d.lobby.uuid).await.expect_err("revoke");
    assert_eq!(error.status(), Some(404));
    let error = world.a.revoke_access(&grace, NOBODY).await.expect_err("unknown door");
    assert_eq!(error.status(), Some(404));
    assert!(error.server_message().is_some_and(|m| m.contains("door")), "{error:?}");
    let error = world.a.residents(NOBODY).await.expect_err("unknown building");
    assert_eq!(error.status(), Some(404));

    // An identifier that cannot be a URL segment never leaves the client.
    let error = world.a.get_user("").await.expect_err("empty id");
    assert!(matches!(error, ApiError::InvalidArgument { .. }) && error.is_client_side(), "{error:?}");

    let token = world.token(&world.p.a).await;
    let response = world.raw("GET", "/access/sdk/v1/nothing-here", Some(&token), None).await;
    assert_eq!(response.status, 404);
    assert!(!response.message().is_empty());
    let response = world.raw("PUT", "/access/sdk/v1/users", Some(&token), None).await;
    assert_eq!(response.status, 405);
    assert!(!response.message().is_empty());
}

#[tokio::test]
async fn an_unexpected_failure_is_a_500_that_shows_no_internals_and_applies_nothing() {
    let world = World::start().await;
    let d = &world.p.doors;
    // Break the database behind the API's back: the New York building's zone becomes unknown.
    world
        .sim
        .state()
        .db
        .write(|tx| {
            tx.execute(
                "UPDATE buildings SET timezone = 'Mars/Olympus' WHERE uuid = ?1",
                [&world.p.buildings.ny.uuid],
            )
        })
        .expect("corrupt the zone");
    let request = daily(PasscodeType::Daily, Contact::Email("grace@example.com"), &[&d.lobby], world.now());

    let error = world.a.create_user_v2(&request).await.expect_err("500");
    assert!(matches!(error, ApiError::Server { status: 500, .. }), "{error:?}");
    let message = error.server_message().expect("message");
    assert!(message.contains("Contact Latch Support"), "{message}");
    assert!(!message.contains("Mars") && !message.contains("zone"), "no internals: {message}");

    // With retries the client tries again (same Idempotency-Key: a 500 is not stored, so each attempt
    // really runs), then gives up with the last 500.
    let proxy = Proxy::start(&world.base_url(), None).await;
    let config = ApiConfig::parse(&proxy.url())
        .expect("url")
        .with_clock(world.clock.clone())
        .with_retry(RetryPolicy::new(3, StdDuration::from_millis(1), StdDuration::from_millis(5)));
    let retrying = PartnerClient::new(config, world.p.a.client_id.clone(), world.p.a.client_secret.clone())
        .expect("client");
    let error = retrying.create_user_v2(&request).await.expect_err("still 500");
    assert_eq!(error.status(), Some(500));
    let attempts =
        proxy.requests().iter().filter(|line| line.starts_with("POST /access/sdk/v2/users")).count();
    assert_eq!(attempts, 3, "{:?}", proxy.requests());
    assert!(world.a.all_users().await.expect("users").is_empty(), "nothing was granted");
    assert!(world.outbox().await.is_empty(), "nobody was notified");
}
