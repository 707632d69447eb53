//! Upsert by identity: an invite finds the user by email (any case), else by phone, and adds access to
//! their account instead of creating a second one.

use chrono::Duration;
use latchkey::model::PasscodeType;

use crate::support::{Contact, World, access, daily, permanent};

#[tokio::test]
async fn the_same_email_is_the_same_user_and_access_is_added() {
    let world = World::start().await;
    let d = &world.p.doors;
    let first = world
        .a
        .create_user_v2(&permanent("grace@example.com", &[&d.lobby], world.now()))
        .await
        .expect("first");
    let mut again = permanent("Grace@Example.COM", &[&d.unit_4b], world.now());
    again.first_name = "Amazing".into();
    let second = world.a.create_user_v2(&again).await.expect("second");

    assert_eq!(second.user_uuid, first.user_uuid, "found by email, whatever its case");
    assert_eq!(second.email.as_deref(), Some("grace@example.com"));
    assert_eq!(second.first_name, "Grace", "an invite does not rename an existing user");
    let doors: Vec<&str> = second.accesses.iter().map(|a| a.door_uuid.as_str()).collect();
    assert_eq!(doors, [d.lobby.uuid.as_str(), d.unit_4b.uuid.as_str()], "access added, the old one kept");
    let v1 =
        world.a.create_user_v1(&permanent("grace@example.com", &[&d.gym], world.now())).await.expect("v1");
    assert_eq!(v1.user_uuid, first.user_uuid);
    assert_eq!(world.a.all_users().await.expect("users").len(), 1);
}

#[tokio::test]
async fn granting_the_same_door_again_replaces_the_access() {
    let world = World::start().await;
    let d = &world.p.doors;
    let now = world.now();
    world.a.create_user_v2(&permanent("grace@example.com", &[&d.unit_4b], now)).await.expect("first");
    let mut again = permanent("grace@example.com", &[&d.unit_4b], now);
    again.end_time = Some(now + Duration::days(3));
    let view = world.a.create_user_v2(&again).await.expect("again");
    assert_eq!(view.accesses.len(), 1, "one access per door: {view:?}");
    assert_eq!(access(&view, &d.unit_4b).end_time, Some(now + Duration::days(3)));
}

#[tokio::test]
async fn a_phone_only_daily_guest_is_found_by_phone() {
    let world = World::start().await;
    let d = &world.p.doors;
    let phone = "+14155550100";
    let first = world
        .a
        .create_user_v2(&daily(PasscodeType::Daily, Contact::Phone(phone), &[&d.lobby], world.now()))
        .await
        .expect("first");
    assert_eq!((first.email.as_deref(), first.phone.as_deref()), (None, Some(phone)));
    let second = world
        .a
        .create_user_v2(&daily(PasscodeType::DailySingleUse, Contact::Phone(phone), &[&d.gym], world.now()))
        .await
        .expect("second");
    assert_eq!(second.user_uuid, first.user_uuid);
    assert_eq!(second.accesses.len(), 2);
    assert_eq!(world.a.all_users().await.expect("users").len(), 1);
}

#[tokio::test]
async fn a_daily_invite_by_phone_finds_the_user_who_gave_that_phone_with_their_email() {
    let world = World::start().await;
    let d = &world.p.doors;
    let phone = "+14155550111";
    let mut request = permanent("grace@example.com", &[&d.unit_4b], world.now());
    request.phone = Some(phone.into());
    let grace = world.a.create_user_v2(&request).await.expect("permanent with phone");
    let day = world
        .a
        .create_user_v2(&daily(PasscodeType::Daily, Contact::Phone(phone), &[&d.lobby], world.now()))
        .await
        .expect("daily by phone");
    assert_eq!(day.user_uuid, grace.user_uuid);
    assert_eq!(day.email.as_deref(), Some("grace@example.com"));
    assert_eq!(day.accesses.len(), 2);
}
