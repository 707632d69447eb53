//! Token expiry and refresh, with the clock moved by hand: the partner client replaces an expired token
//! without the caller noticing, a raw request with the old token gets a 401, and user tokens are renewed
//! with their refresh token.

use chrono::Duration;
use latchkey::ManualClock;
use latchkey::api::{ApiConfig, ApiError, DoorsQuery, PartnerClient, REFRESH_MARGIN_SECS, RetryPolicy};

use crate::support::{Options, START, World, at, permanent};

const TTL_MINUTES: i64 = 10;

async fn short_lived() -> World {
    World::start_with(Options { token_ttl: Duration::minutes(TTL_MINUTES), ..Options::default() }).await
}

#[tokio::test]
async fn an_expired_partner_token_is_replaced_without_the_caller_noticing() {
    let world = short_lived().await;
    let old_token = world.token(&world.p.a).await;
    assert_eq!(world.a.all_doors(None).await.expect("doors").len(), 8);
    let first_expiry = world.a.token_source().expires_at().await.expect("a cached token");
    assert_eq!(first_expiry, at(START) + Duration::minutes(TTL_MINUTES));

    world.clock.advance(Duration::minutes(TTL_MINUTES + 1));
    let response = world.raw("GET", "/access/sdk/v1/doors", Some(&old_token), None).await;
    assert_eq!(response.status, 401);
    assert!(response.message().contains("expired"), "{}", response.message());

    let view = world
        .a
        .create_user_v2(&permanent("grace@example.com", &[&world.p.doors.lobby], world.now()))
        .await
        .expect("the client fetched a new token and the call succeeded");
    assert_eq!(view.accesses.len(), 1);
    let second_expiry = world.a.token_source().expires_at().await.expect("a cached token");
    assert_eq!(second_expiry, world.now() + Duration::minutes(TTL_MINUTES));

    // Within the refresh margin the token is renewed before it expires.
    world.clock.advance(Duration::minutes(TTL_MINUTES) - Duration::seconds(REFRESH_MARGIN_SECS / 2));
    world.a.all_users().await.expect("users");
    assert!(world.a.token_source().expires_at().await.expect("cached") > second_expiry);
}

#[tokio::test]
async fn a_401_makes_the_client_fetch_a_new_token_once_and_retry() {
    let world = short_lived().await;
    // This client's clock stands still while the backend's moves on: it believes its token is fresh.
    let lagging = ManualClock::new(at(START));
    let config =
        ApiConfig::parse(&world.base_url()).expect("url").with_clock(lagging).with_retry(RetryPolicy::none());
    let client = PartnerClient::new(config, world.p.a.client_id.clone(), world.p.a.client_secret.clone())
        .expect("client");
    client.list_doors(&DoorsQuery::default()).await.expect("first token");
    world.clock.advance(Duration::hours(1));
    let page = client.list_doors(&DoorsQuery::default()).await.expect("refreshed after the 401");
    assert_eq!(page.doors.len(), 8);
}

#[tokio::test]
async fn user_tokens_are_renewed_with_the_refresh_token() {
    let world = short_lived().await;
    world
        .a
        .create_user_v2(&permanent("grace@example.com", &[&world.p.doors.lobby], world.now()))
        .await
        .expect("invite");
    let (auth, session) = world.sign_in("grace@example.com").await;
    assert_eq!(session.expires_at, world.now() + Duration::minutes(TTL_MINUTES));
    // A valid user token on a partner endpoint is a 403; an expired one is a 401.
    let doors = "/access/sdk/v1/doors";
    assert_eq!(world.raw("GET", doors, Some(session.access_token.expose()), None).await.status, 403);
    world.clock.advance(Duration::minutes(TTL_MINUTES + 1));
    assert_eq!(world.raw("GET", doors, Some(session.access_token.expose()), None).await.status, 401);

    let renewed = auth.refresh(&session.refresh_token).await.expect("refresh");
    assert_ne!(renewed.access_token, session.access_token);
    assert_eq!(renewed.refresh_token, session.refresh_token, "kept when the backend does not rotate it");
    assert_eq!(renewed.expires_at, world.now() + Duration::minutes(TTL_MINUTES));
    assert_eq!(
        world.raw("GET", doors, Some(renewed.access_token.expose()), None).await.status,
        403,
        "valid again"
    );

    // A client holding the old session refreshes by itself before calling.
    let source = auth.token_source(&session);
    let client = PartnerClient::with_token_source(world.config(), source.clone()).expect("client");
    let error =
        client.list_doors(&DoorsQuery::default()).await.expect_err("a user token on a partner endpoint");
    assert!(matches!(error, ApiError::Forbidden { .. }), "refreshed, so 403 and not 401: {error:?}");
    let current = source.session().await.expect("a user session");
    assert_ne!(current.access_token, session.access_token);
    assert_eq!(current.expires_at, world.now() + Duration::minutes(TTL_MINUTES));

    let error = auth.refresh(&"not-a-refresh-token".into()).await.expect_err("unknown");
    assert_eq!((error.status(), error.code()), (Some(403), Some("invalid_grant")));
    world.clock.advance(Duration::days(31));
    let error = auth.refresh(&session.refresh_token).await.expect_err("expired refresh token");
    assert_eq!(error.code(), Some("invalid_grant"));
    assert!(error.server_message().is_some_and(|m| m.contains("expired")), "{error:?}");
}
