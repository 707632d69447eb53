//! The passwordless sign-in's boundaries: a partner signs in only users it invited, the id_token is never
//! a bearer token, and grant types outside OAuth's list are a 400.

use latchkey::api::{ApiError, AuthClient};
use serde_json::json;

use crate::support::{World, permanent};

#[tokio::test]
async fn a_partner_cannot_sign_in_another_partners_user() {
    let world = World::start().await;
    world
        .a
        .create_user_v1(&permanent("grace@example.com", &[&world.p.doors.lobby], world.now()))
        .await
        .expect("invite by partner A");
    let before = world.messages_to("grace@example.com").await.len();

    let as_b = AuthClient::new(world.config(), world.p.b.client_id.clone(), world.p.b.client_secret.clone())
        .expect("auth client");
    let error = as_b.passwordless_start("grace@example.com").await.expect_err("B never invited Grace");
    assert!(matches!(error, ApiError::BadRequest { .. }), "{error:?}");
    assert_eq!(error.code(), Some("extensibility_error"));
    assert!(error.to_string().contains("access to a door of this partner"), "{error}");
    assert_eq!(world.messages_to("grace@example.com").await.len(), before, "no code was sent");
}

#[tokio::test]
async fn the_id_token_is_refused_as_a_bearer_token() {
    let world = World::start().await;
    world
        .a
        .create_user_v1(&permanent("grace@example.com", &[&world.p.doors.lobby], world.now()))
        .await
        .expect("invite");
    let auth = AuthClient::new(world.config(), world.p.a.client_id.clone(), world.p.a.client_secret.clone())
        .expect("auth client");
    auth.passwordless_start("grace@example.com").await.expect("start");
    let otp = world.last_otp("grace@example.com").await;
    let tokens = world
        .raw(
            "POST",
            "/v1/oauth/token",
            None,
            Some(json!({
                "grant_type": "http://auth0.com/oauth/grant-type/passwordless/otp",
                "client_id": world.p.a.client_id,
                "client_secret": world.p.a.client_secret.expose(),
                "username": "grace@example.com",
                "otp": otp,
                "realm": "email",
                "scope": "openid profile email offline_access",
            })),
        )
        .await;
    assert_eq!(tokens.status, 200, "{}", tokens.text);
    let id_token = tokens.json()["id_token"].as_str().expect("an id_token").to_owned();
    let access_token = tokens.json()["access_token"].as_str().expect("an access_token").to_owned();
    assert_ne!(id_token, access_token);

    let partner_token = world.token(&world.p.a).await;
    let with_partner_token = world.raw("GET", "/access/sdk/v1/doors", Some(&partner_token), None).await;
    assert_eq!(with_partner_token.status, 200);
    let with_id_token = world.raw("GET", "/access/sdk/v1/doors", Some(&id_token), None).await;
    assert_eq!(with_id_token.status, 401, "{}", with_id_token.text);
    assert!(with_id_token.message().contains("not an access token"), "{}", with_id_token.message());
}

#[tokio::test]
async fn an_unknown_grant_type_is_a_400() {
    let world = World::start().await;
    let response = world
        .raw("POST", "/v1/oauth/token", None, Some(json!({ "grant_type": "password", "username": "x" })))
        .await;
    assert_eq!(response.status, 400);
    assert_eq!(response.json()["error"], "unsupported_grant_type");
    assert!(response.message().contains("client_credentials"), "{}", response.message());
}

#[tokio::test]
async fn a_managers_user_reaches_a_partner_app_only_once_the_key_is_the_partners_and_enabled() {
    let world = World::start().await;
    let mail_room = world.p.doors.mail_room.clone();
    // Mission Control invites a resident to the mail room; the only key of the partner's holding that
    // door is not enabled yet.
    world.manager_grant("mail@example.com", &[&mail_room], latchkey::model::Role::Resident, None).await;
    let auth = AuthClient::new(world.config(), world.p.a.client_id.clone(), world.p.a.client_secret.clone())
        .expect("auth client");
    let refused = auth.passwordless_start("mail@example.com").await.expect_err("no usable key yet");
    assert_eq!(refused.code(), Some("extensibility_error"), "{refused:?}");

    world.manager.enable_key(&world.p.keys.a_disabled.uuid).await.expect("enable the partner's key");
    let (auth, session) = world.sign_in("mail@example.com").await;
    let me =
        latchkey::api::UserClient::new(world.config(), auth.token_source(&session)).expect("user client");
    let locks = me.locks(None).await.expect("the user's locks");
    assert!(locks.locks.iter().any(|lock| lock.door_uuid == mail_room.uuid), "{locks:?}");
}
