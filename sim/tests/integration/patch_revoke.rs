//! PATCH of a permanent access (the spec's quirk: no `endTime` means no expiry) and DELETE (revoke).

use chrono::Duration;
use latchkey::api::ApiError;
use latchkey::model::{PasscodeType, PatchAccessRequest, ValidationError};
use serde_json::json;

use crate::support::{Contact, World, access, daily, permanent};

#[tokio::test]
async fn patch_without_end_time_removes_the_expiry() {
    let world = World::start().await;
    let d = &world.p.doors;
    let now = world.now();
    let mut request = permanent("grace@example.com", &[&d.unit_4b, &d.lobby], now);
    request.end_time = Some(now + Duration::days(30));
    let grace = world.a.create_user_v2(&request).await.expect("grant");
    let (user, door) = (grace.user_uuid.as_str(), d.unit_4b.uuid.as_str());

    let view = world
        .a
        .patch_access(user, door, &PatchAccessRequest { shareable: Some(true), end_time: None })
        .await
        .expect("patch");
    let patched = access(&view, &d.unit_4b);
    assert_eq!(patched.end_time, None, "no endTime: no expiry");
    assert!(patched.shareable);
    assert_eq!(patched.start_time, now, "the start is kept");
    assert_eq!(patched.doorcode, access(&grace, &d.unit_4b).doorcode, "the doorcode is kept");
    assert_eq!(access(&view, &d.lobby).end_time, Some(now + Duration::days(30)), "other doors untouched");

    let end = now + Duration::days(10);
    let view = world
        .a
        .patch_access(user, door, &PatchAccessRequest { shareable: None, end_time: Some(end) })
        .await
        .expect("patch");
    assert_eq!(access(&view, &d.unit_4b).end_time, Some(end));
    assert!(access(&view, &d.unit_4b).shareable, "omitted shareable is kept");

    // Raw, with `endTime` left out of the body altogether.
    let token = world.token(&world.p.a).await;
    let path = format!("/access/sdk/v1/users/{user}/doors/{door}");
    let response = world.raw("PATCH", &path, Some(&token), Some(json!({ "shareable": false }))).await;
    assert_eq!(response.status, 200, "{}", response.text);
    let body = response.json();
    let raw_access =
        body["accesses"].as_array().expect("accesses").iter().find(|a| a["doorUuid"] == door).expect("4B");
    assert!(raw_access["endTime"].is_null(), "{raw_access}");
    assert_eq!(raw_access["shareable"], false);
    let read_back = world.a.get_user(user).await.expect("get");
    assert_eq!(access(&read_back, &d.unit_4b).end_time, None);
}

#[tokio::test]
async fn patch_with_an_end_in_the_past_is_refused() {
    let world = World::start().await;
    let d = &world.p.doors;
    let now = world.now();
    let grace =
        world.a.create_user_v2(&permanent("grace@example.com", &[&d.unit_4b], now)).await.expect("grant");
    let (user, door) = (grace.user_uuid.as_str(), d.unit_4b.uuid.as_str());

    for end in [now - Duration::minutes(1), now] {
        let error = world
            .a
            .patch_access(user, door, &PatchAccessRequest { shareable: Some(true), end_time: Some(end) })
            .await
            .expect_err("end not in the future");
        assert!(matches!(error, ApiError::Validation(ValidationError::EndNotInFuture)), "{error:?}");
        let token = world.token(&world.p.a).await;
        let response = world
            .raw(
                "PATCH",
                &format!("/access/sdk/v1/users/{user}/doors/{door}"),
                Some(&token),
                Some(json!({ "endTime": end })),
            )
            .await;
        assert_eq!(response.status, 400, "{}", response.text);
        assert_eq!(response.message(), ValidationError::EndNotInFuture.to_string());
    }
    assert_eq!(world.a.get_user(user).await.expect("get").accesses, grace.accesses, "nothing changed");

    // After now but before the access starts: only the backend knows the start.
    let later = now + Duration::days(10);
    let mut request = permanent("ada@example.com", &[&d.unit_4b], later);
    request.start_time = later;
    let ada = world.a.create_user_v2(&request).await.expect("future grant");
    let error = world
        .a
        .patch_access(
            &ada.user_uuid,
            door,
            &PatchAccessRequest { shareable: None, end_time: Some(now + Duration::days(5)) },
        )
        .await
        .expect_err("end before start");
    assert!(matches!(error, ApiError::BadRequest { .. }), "{error:?}");
    assert!(error.server_message().is_some_and(|m| m.contains("startTime")), "{error:?}");
}

#[tokio::test]
async fn patch_of_a_daily_access_or_of_a_door_without_access_is_a_404() {
    let world = World::start().await;
    let d = &world.p.doors;
    let day = world
        .a
        .create_user_v2(&daily(
            PasscodeType::Daily,
            Contact::Email("day@example.com"),
            &[&d.lobby],
            world.now(),
        ))
        .await
        .expect("daily");
    let error = world
        .a
        .patch_access(&day.user_uuid, &d.lobby.uuid, &PatchAccessRequest::default())
        .await
        .expect_err("daily");
    assert!(matches!(error, ApiError::NotFound { .. }), "{error:?}");
    assert!(error.server_message().is_some_and(|m| m.contains("PERMANENT")), "{error:?}");

    for door in [&d.gym, &d.staff_room] {
        let error = world
            .a
            .patch_access(&day.user_uuid, &door.uuid, &PatchAccessRequest::default())
            .await
            .expect_err("no access there");
        assert_eq!(error.status(), Some(404), "{}: {error:?}", door.name);
    }
    assert_eq!(world.a.get_user(&day.user_uuid).await.expect("get").accesses, day.accesses);
}

#[tokio::test]
async fn delete_revokes_with_an_empty_200_then_404() {
    let world = World::start().await;
    let d = &world.p.doors;
    let grace = world
        .a
        .create_user_v2(&permanent("grace@example.com", &[&d.lobby, &d.unit_4b, &d.unit_5c], world.now()))
        .await
        .expect("grant");
    let user = grace.user_uuid.as_str();

    world.a.revoke_access(user, &d.unit_4b.uuid).await.expect("revoke 4B");
    let after = world.a.get_user(user).await.expect("get");
    let doors: Vec<&str> = after.accesses.iter().map(|a| a.door_uuid.as_str()).collect();
    assert_eq!(doors, [d.lobby.uuid.as_str(), d.unit_5c.uuid.as_str()]);
    let error = world.a.revoke_access(user, &d.unit_4b.uuid).await.expect_err("twice");
    assert!(matches!(error, ApiError::NotFound { .. }), "{error:?}");
    let error = world
        .a
        .patch_access(user, &d.unit_4b.uuid, &PatchAccessRequest::default())
        .await
        .expect_err("patch a revoked access");
    assert_eq!(error.status(), Some(404));

    let token = world.token(&world.p.a).await;
    let response = world
        .raw("DELETE", &format!("/access/sdk/v1/users/{user}/doors/{}", d.unit_5c.uuid), Some(&token), None)
        .await;
    assert_eq!(response.status, 200);
    assert_eq!(response.text, "", "an empty body");

    world.a.revoke_access(user, &d.lobby.uuid).await.expect("revoke the last");
    let error = world.a.get_user(user).await.expect_err("no access left");
    assert_eq!(error.status(), Some(404));
    assert!(world.a.all_users().await.expect("users").is_empty(), "no longer this partner's user");
    let everything = world.manager.user(user).await.expect("the account itself stays");
    assert!(everything.accesses.is_empty());
}
