//! Key-to-partner gating: a partner sees and grants only the doors of enabled keys assigned to it, and
//! sees only the users and accesses it granted.

use latchkey::api::ApiError;
use latchkey::model::{AssignKeyRequest, CreateKeyRequest, PageQuery, PatchAccessRequest};

use crate::support::{World, permanent};

#[tokio::test]
async fn a_disabled_keys_doors_are_invisible_until_it_is_enabled() {
    let world = World::start().await;
    let mail_room = &world.p.doors.mail_room;
    assert!(world.p.keys.a.enabled && !world.p.keys.a_disabled.enabled);
    assert_eq!(
        world.p.keys.a_disabled.partner_uuid.as_deref(),
        Some(world.p.a.uuid.as_str()),
        "assigned, not enabled"
    );
    let doors = world.a.all_doors(None).await.expect("doors");
    assert!(doors.iter().all(|door| door.uuid != mail_room.uuid), "the disabled key's door is not listed");
    let error = world
        .a
        .create_user_v1(&permanent("grace@example.com", &[mail_room], world.now()))
        .await
        .expect_err("grant");
    assert_eq!(error.status(), Some(400));
    assert!(
        error
            .server_message()
            .is_some_and(|m| m.contains("invalid door UUIDs") && m.contains(&mail_room.uuid))
    );

    world.manager.enable_key(&world.p.keys.a_disabled.uuid).await.expect("enable");
    let doors = world.a.all_doors(None).await.expect("doors");
    assert!(doors.iter().any(|door| door.uuid == mail_room.uuid), "listed once enabled");
    world.a.create_user_v1(&permanent("grace@example.com", &[mail_room], world.now())).await.expect("grant");
}

#[tokio::test]
async fn a_partner_can_neither_see_nor_grant_another_partners_doors() {
    let world = World::start().await;
    let d = &world.p.doors;
    let a_doors = world.a.all_doors(None).await.expect("A's doors");
    assert!(a_doors.iter().all(|door| door.uuid != d.staff_room.uuid));
    let b_doors = world.b.all_doors(None).await.expect("B's doors");
    assert_eq!(b_doors.iter().map(|door| door.name.as_str()).collect::<Vec<_>>(), ["Staff Room"]);

    let error = world
        .a
        .create_user_v2(&permanent("grace@example.com", &[&d.lobby, &d.staff_room], world.now()))
        .await
        .expect_err("B's door");
    assert!(matches!(error, ApiError::BadRequest { .. }), "{error:?}");
    let message = error.server_message().expect("message");
    assert!(message.contains("invalid door UUIDs") && message.contains(&d.staff_room.uuid), "{message}");
    let error = world
        .b
        .create_user_v2(&permanent("grace@example.com", &[&d.lobby], world.now()))
        .await
        .expect_err("A's door");
    assert_eq!(error.status(), Some(400));
    assert!(
        world.a.all_users().await.expect("users").is_empty()
            && world.b.all_users().await.expect("users").is_empty()
    );

    // Residents of a building are listed only through doors the partner may use.
    let error = world.b.residents(&world.p.buildings.tokyo.uuid).await.expect_err("no door of B there");
    assert_eq!(error.status(), Some(404));
}

#[tokio::test]
async fn a_partner_cannot_see_or_touch_another_partners_users() {
    let world = World::start().await;
    let d = &world.p.doors;
    let bob = world
        .b
        .create_user_v2(&permanent("bob@example.com", &[&d.staff_room], world.now()))
        .await
        .expect("B invites bob");
    world
        .a
        .create_user_v2(&permanent("ann@example.com", &[&d.lobby], world.now()))
        .await
        .expect("A invites ann");

    let a_users = world.a.list_users(&PageQuery::default()).await.expect("A's users").users;
    assert_eq!(a_users.iter().map(|u| u.email.as_deref()).collect::<Vec<_>>(), [Some("ann@example.com")]);
    let error = world.a.get_user(&bob.user_uuid).await.expect_err("B's user");
    assert!(matches!(error, ApiError::NotFound { .. }), "{error:?}");
    let error = world
        .a
        .patch_access(&bob.user_uuid, &d.staff_room.uuid, &PatchAccessRequest::default())
        .await
        .expect_err("patch B's user");
    assert_eq!(error.status(), Some(404));
    let error = world.a.revoke_access(&bob.user_uuid, &d.staff_room.uuid).await.expect_err("revoke B's user");
    assert_eq!(error.status(), Some(404));
    assert_eq!(world.b.get_user(&bob.user_uuid).await.expect("still B's").accesses.len(), 1, "untouched");

    // One person invited by both partners is one user; each partner sees only its own accesses.
    let shared_a = world
        .a
        .create_user_v2(&permanent("bob@example.com", &[&d.unit_4b], world.now()))
        .await
        .expect("A invites bob");
    assert_eq!(shared_a.user_uuid, bob.user_uuid);
    assert_eq!(
        shared_a.accesses.iter().map(|a| a.door_uuid.as_str()).collect::<Vec<_>>(),
        [d.unit_4b.uuid.as_str()]
    );
    let seen_by_b = world.b.get_user(&bob.user_uuid).await.expect("B's view");
    assert_eq!(
        seen_by_b.accesses.iter().map(|a| a.door_uuid.as_str()).collect::<Vec<_>>(),
        [d.staff_room.uuid.as_str()]
    );
    let error =
        world.b.revoke_access(&bob.user_uuid, &d.unit_4b.uuid).await.expect_err("B revokes A's grant");
    assert_eq!(error.status(), Some(404));
    assert_eq!(world.a.get_user(&bob.user_uuid).await.expect("A's view").accesses.len(), 1);
}

#[tokio::test]
async fn a_key_owned_by_another_partner_cannot_be_assigned() {
    let world = World::start().await;
    let b_key = &world.p.keys.b;
    let error = world
        .manager
        .assign_key(&b_key.uuid, &AssignKeyRequest { partner_uuid: world.p.a.uuid.clone() })
        .await
        .expect_err("B's key to A");
    assert!(matches!(error, ApiError::Conflict { .. }), "{error:?}");
    assert!(error.server_message().is_some_and(|m| m.contains(&world.p.b.uuid)), "{error:?}");
    let again = world
        .manager
        .assign_key(&b_key.uuid, &AssignKeyRequest { partner_uuid: world.p.b.uuid.clone() })
        .await
        .expect("assigning to its owner again is fine");
    assert_eq!(again.partner_uuid.as_deref(), Some(world.p.b.uuid.as_str()));
    assert!(
        world.a.all_doors(None).await.expect("doors").iter().all(|d| d.uuid != world.p.doors.staff_room.uuid)
    );

    // A door may be in keys of two partners: each sees it through its own key.
    let shared = world
        .manager
        .create_key(&CreateKeyRequest {
            name: "Shared lobby".into(),
            door_uuids: vec![world.p.doors.lobby.uuid.clone()],
        })
        .await
        .expect("key");
    world
        .manager
        .assign_key(&shared.uuid, &AssignKeyRequest { partner_uuid: world.p.b.uuid.clone() })
        .await
        .expect("assign");
    assert_eq!(world.b.all_doors(None).await.expect("doors").len(), 1, "not before it is enabled");
    world.manager.enable_key(&shared.uuid).await.expect("enable");
    assert_eq!(world.b.all_doors(None).await.expect("doors").len(), 2);
}
