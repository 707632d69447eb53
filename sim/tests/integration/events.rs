//! The partner event feed (`GET /access/sdk/v1/events`): what is recorded for grants, changes, revocations
//! and doorcodes, the cursor (oldest first, never skipping or repeating), the filters, the retention, and
//! partner isolation on a door two partners share.

use chrono::Duration;
use latchkey::api::{ApiError, EventsQuery, PartnerClient};
use latchkey::model::{
    AccessSource, AssignKeyRequest, CreateKeyRequest, EventType, EventView, ManagerInviteRequest,
    PatchAccessRequest, Role,
};

use crate::support::{MANAGER_TOKEN, Options, World, permanent};

/// Every event of `client` after `after`, walking pages of `page_size`.
async fn all_events(
    client: &PartnerClient,
    after: Option<String>,
    page_size: u32,
) -> (Vec<EventView>, String) {
    let mut query = EventsQuery { after, page_size: Some(page_size), ..EventsQuery::default() };
    let mut events = Vec::new();
    loop {
        let page = client.list_events(&query).await.expect("events page");
        assert!(page.events.len() <= page_size as usize);
        events.extend(page.events);
        query.after = Some(page.next_cursor.clone());
        if !page.has_more {
            return (events, page.next_cursor);
        }
    }
}

fn kinds(events: &[EventView]) -> Vec<(EventType, String)> {
    events.iter().map(|event| (event.event_type, event.door_uuid.clone().unwrap_or_default())).collect()
}

#[tokio::test]
async fn a_grant_a_change_and_a_revocation_are_in_the_partners_feed_in_order() {
    let world = World::start().await;
    let d = &world.p.doors;
    let user = world
        .a
        .create_user_v2(&permanent("grace@example.com", &[&d.lobby, &d.unit_4b], world.now()))
        .await
        .expect("grant");
    let granted_at = world.now();
    world.clock.advance(Duration::minutes(5));
    let end = world.now() + Duration::days(3);
    world
        .a
        .patch_access(
            &user.user_uuid,
            &d.unit_4b.uuid,
            &PatchAccessRequest { shareable: None, end_time: Some(end) },
        )
        .await
        .expect("patch");
    world.clock.advance(Duration::minutes(5));
    world.a.revoke_access(&user.user_uuid, &d.lobby.uuid).await.expect("revoke");

    let (events, _) = all_events(&world.a, None, 100).await;
    assert_eq!(
        kinds(&events),
        [
            (EventType::AccessGranted, d.lobby.uuid.clone()),
            (EventType::DoorcodeIssued, d.lobby.uuid.clone()),
            (EventType::AccessGranted, d.unit_4b.uuid.clone()),
            (EventType::DoorcodeIssued, d.unit_4b.uuid.clone()),
            (EventType::AccessChanged, d.unit_4b.uuid.clone()),
            (EventType::AccessRevoked, d.lobby.uuid.clone()),
        ]
    );
    let mut ids: Vec<&str> = events.iter().map(|event| event.id.as_str()).collect();
    assert!(ids.iter().all(|id| id.starts_with("evt_")), "{ids:?}");
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), events.len(), "every event has its own id");

    let granted = events[1].access_data().expect("access data");
    assert_eq!(granted.user.user_uuid, user.user_uuid);
    assert_eq!(granted.user.email.as_deref(), Some("grace@example.com"));
    assert_eq!(granted.source, AccessSource::Partner);
    let lobby_code =
        user.accesses.iter().find(|a| a.door_uuid == d.lobby.uuid).expect("lobby").doorcode.code.clone();
    assert!(lobby_code.is_some());
    assert_eq!(granted.access.doorcode.code, lobby_code, "doorcode.issued carries the code the API showed");
    assert_eq!(events[0].occurred_at, granted_at);
    assert_eq!(events[0].recorded_at, granted_at);

    let changed = events[4].access_data().expect("access data");
    assert_eq!(changed.access.end_time, Some(end), "access.changed shows the access as it is now");
    assert_eq!(events[4].occurred_at, granted_at + Duration::minutes(5));
    let revoked = events[5].access_data().expect("access data");
    assert_eq!(revoked.access.door_uuid, d.lobby.uuid);
    assert_eq!(revoked.access.doorcode.code, lobby_code, "access.revoked shows the access as it was");
}

#[tokio::test]
async fn the_cursor_walks_every_event_once_and_an_empty_page_keeps_its_place() {
    let world = World::start().await;
    let d = &world.p.doors;
    for n in 0..4 {
        world
            .a
            .create_user_v2(&permanent(&format!("guest{n}@example.com"), &[&d.lobby], world.now()))
            .await
            .expect("grant");
    }
    let (whole, _) = all_events(&world.a, None, 100).await;
    assert_eq!(whole.len(), 8, "granted and doorcode issued for each of 4 guests");
    let (paged, cursor) = all_events(&world.a, None, 3).await;
    assert_eq!(paged, whole, "pages of 3 give the same events, once each, in the same order");

    // Polling at the end: an empty page that keeps the position.
    let page =
        world.a.list_events(&EventsQuery { after: Some(cursor.clone()), ..EventsQuery::default() }).await;
    let page = page.expect("empty page");
    assert!(page.events.is_empty() && !page.has_more);
    assert_eq!(page.next_cursor, cursor);

    // What is recorded next is exactly what the next poll returns.
    world.a.create_user_v2(&permanent("late@example.com", &[&d.gym], world.now())).await.expect("grant");
    let (next, _) = all_events(&world.a, Some(cursor), 1).await;
    assert_eq!(
        kinds(&next),
        [(EventType::AccessGranted, d.gym.uuid.clone()), (EventType::DoorcodeIssued, d.gym.uuid.clone())]
    );
}

#[tokio::test]
async fn the_feed_filters_by_type_and_door() {
    let world = World::start().await;
    let d = &world.p.doors;
    let user = world
        .a
        .create_user_v2(&permanent("grace@example.com", &[&d.lobby, &d.unit_4b], world.now()))
        .await
        .expect("grant");
    world.a.revoke_access(&user.user_uuid, &d.unit_4b.uuid).await.expect("revoke");

    let query = EventsQuery {
        types: vec![EventType::AccessGranted, EventType::AccessRevoked],
        door_uuid: Some(d.unit_4b.uuid.clone()),
        ..EventsQuery::default()
    };
    let page = world.a.list_events(&query).await.expect("filtered");
    assert_eq!(
        kinds(&page.events),
        [
            (EventType::AccessGranted, d.unit_4b.uuid.clone()),
            (EventType::AccessRevoked, d.unit_4b.uuid.clone())
        ]
    );
}

#[tokio::test]
async fn bad_feed_queries_get_errors_that_say_what_to_send() {
    let world = World::start().await;
    let token = world.token(&world.p.a).await;
    for (query, expected) in [
        ("types=access.granted,door.exploded", "unknown event type \"door.exploded\""),
        ("pageSize=0", "pageSize must be a whole number from 1 to 100"),
        ("pageSize=101", "pageSize must be a whole number from 1 to 100"),
        ("after=abc", "after must be a nextCursor"),
        ("after=-1", "after must be a nextCursor"),
        ("since=1", "since"),
    ] {
        let response = world.raw("GET", &format!("/access/sdk/v1/events?{query}"), Some(&token), None).await;
        assert_eq!(response.status, 400, "{query}: {}", response.text);
        assert!(response.message().contains(expected), "{query}: {}", response.message());
    }
    let response = world.raw("GET", "/access/sdk/v1/events", None, None).await;
    assert_eq!(response.status, 401, "the feed needs a partner token");
}

#[tokio::test]
async fn a_failed_grant_records_nothing() {
    let world = World::start().await;
    let d = &world.p.doors;
    world
        .a
        .create_user_v2(&permanent("grace@example.com", &[&d.lobby, &d.staff_room], world.now()))
        .await
        .expect_err("B's door is not A's");
    let page = world.a.list_events(&EventsQuery::default()).await.expect("events");
    assert!(page.events.is_empty(), "{:?}", kinds(&page.events));
}

/// Partner B gets the lobby too (its own key), so A and B share a door.
async fn share_the_lobby_with_b(world: &World) {
    let key = world
        .manager
        .create_key(&CreateKeyRequest {
            name: "B's lobby".into(),
            door_uuids: vec![world.p.doors.lobby.uuid.clone()],
        })
        .await
        .expect("key");
    world
        .manager
        .assign_key(&key.uuid, &AssignKeyRequest { partner_uuid: world.p.b.uuid.clone() })
        .await
        .expect("assign");
    world.manager.enable_key(&key.uuid).await.expect("enable");
}

#[tokio::test]
async fn on_a_shared_door_each_partner_sees_only_its_own_users_events() {
    let world = World::start().await;
    share_the_lobby_with_b(&world).await;
    let lobby = &world.p.doors.lobby;
    let alice =
        world.a.create_user_v2(&permanent("alice@example.com", &[lobby], world.now())).await.expect("A");
    let bob = world.b.create_user_v2(&permanent("bob@example.com", &[lobby], world.now())).await.expect("B");
    // The same person invited by both partners: each sees its own grant.
    let both =
        world.a.create_user_v2(&permanent("both@example.com", &[lobby], world.now())).await.expect("A");
    world.b.create_user_v2(&permanent("both@example.com", &[lobby], world.now())).await.expect("B");
    world.b.revoke_access(&both.user_uuid, &lobby.uuid).await.expect("B revokes its own grant");
    // The manager grants the lobby to A's user alice and to a stranger.
    world.manager_grant("alice@example.com", &[lobby], Role::Resident, None).await;
    world.manager_grant("stranger@example.com", &[lobby], Role::Resident, None).await;

    let (a_events, _) = all_events(&world.a, None, 100).await;
    let (b_events, _) = all_events(&world.b, None, 100).await;
    let seen = |events: &[EventView]| -> Vec<(EventType, String, AccessSource)> {
        events
            .iter()
            .map(|event| {
                let data = event.access_data().expect("access data");
                (event.event_type, data.user.user_uuid, data.source)
            })
            .collect()
    };
    use AccessSource::{Manager, Partner};
    use EventType::{AccessGranted as Granted, AccessRevoked as Revoked, DoorcodeIssued as Code};
    let a_uuid = |view: &latchkey::model::UserView| view.user_uuid.clone();
    assert_eq!(
        seen(&a_events),
        [
            (Granted, a_uuid(&alice), Partner),
            (Code, a_uuid(&alice), Partner),
            (Granted, a_uuid(&both), Partner),
            (Code, a_uuid(&both), Partner),
            // The manager's grant to A's own user; its resident access shows no code, so no doorcode.issued.
            (Granted, a_uuid(&alice), Manager),
        ],
        "A sees its grants and the manager's grant to its user, nothing of B's"
    );
    assert_eq!(
        seen(&b_events),
        [
            (Granted, a_uuid(&bob), Partner),
            (Code, a_uuid(&bob), Partner),
            (Granted, a_uuid(&both), Partner),
            (Code, a_uuid(&both), Partner),
            (Revoked, a_uuid(&both), Partner),
        ],
        "B sees its own grants and revocation only: alice is not B's user"
    );
    let a_ids: Vec<&str> = a_events.iter().map(|event| event.id.as_str()).collect();
    assert!(b_events.iter().all(|event| !a_ids.contains(&event.id.as_str())), "no event is in both feeds");

    // B cannot reach A's events through the filters either.
    let filtered =
        EventsQuery { door_uuid: Some(world.p.doors.unit_4b.uuid.clone()), ..EventsQuery::default() };
    world
        .a
        .create_user_v2(&permanent("carol@example.com", &[&world.p.doors.unit_4b], world.now()))
        .await
        .expect("A");
    assert!(world.b.list_events(&filtered).await.expect("B").events.is_empty());
    assert_eq!(world.a.list_events(&filtered).await.expect("A").events.len(), 2);
}

#[tokio::test]
async fn removing_a_door_from_the_managers_key_revokes_and_tells_the_partners_of_the_user() {
    let world = World::start().await;
    let d = &world.p.doors;
    let grace =
        world.a.create_user_v2(&permanent("grace@example.com", &[&d.gym], world.now())).await.expect("A");
    let key = world
        .manager
        .create_key(&CreateKeyRequest {
            name: "Mission Control".into(),
            door_uuids: vec![d.lobby.uuid.clone(), d.unit_5c.uuid.clone()],
        })
        .await
        .expect("manager key");
    world
        .manager
        .invite_user(&ManagerInviteRequest {
            first_name: "Grace".into(),
            last_name: "Hopper".into(),
            email: "grace@example.com".into(),
            phone: None,
            key_uuid: key.uuid.clone(),
            start_time: world.now(),
            end_time: None,
            role: Role::Resident,
            passcode_type: None,
        })
        .await
        .expect("manager invite");
    let (before, cursor) = all_events(&world.a, None, 100).await;
    assert_eq!(
        kinds(&before),
        [
            (EventType::AccessGranted, d.gym.uuid.clone()),
            (EventType::DoorcodeIssued, d.gym.uuid.clone()),
            (EventType::AccessGranted, d.lobby.uuid.clone()),
            (EventType::AccessGranted, d.unit_5c.uuid.clone()),
        ]
    );

    // The manager's key loses the lobby: grace's manager access there is revoked.
    let response = world
        .raw(
            "PUT",
            &format!("/manager/v1/keys/{}/doors", key.uuid),
            Some(MANAGER_TOKEN),
            Some(serde_json::json!({ "doorUuids": [d.unit_5c.uuid] })),
        )
        .await;
    assert_eq!(response.status, 200, "{}", response.text);
    let (after, _) = all_events(&world.a, Some(cursor), 100).await;
    assert_eq!(kinds(&after), [(EventType::AccessRevoked, d.lobby.uuid.clone())]);
    let data = after[0].access_data().expect("data");
    assert_eq!(
        (data.user.user_uuid.as_str(), data.source),
        (grace.user_uuid.as_str(), AccessSource::Manager)
    );
    assert!(world.b.list_events(&EventsQuery::default()).await.expect("B").events.is_empty());
}

#[tokio::test]
async fn events_past_the_retention_are_gone_and_an_old_cursor_says_so() {
    let world = World::start().await;
    let d = &world.p.doors;
    world.a.create_user_v2(&permanent("old@example.com", &[&d.lobby], world.now())).await.expect("grant");
    let (old, cursor) = all_events(&world.a, None, 1).await;
    assert_eq!(old.len(), 2);
    let first = old[0].id.clone();

    world.clock.advance(Duration::days(30) + Duration::minutes(1));
    world.a.create_user_v2(&permanent("new@example.com", &[&d.gym], world.now())).await.expect("grant");
    let (kept, _) = all_events(&world.a, None, 100).await;
    assert_eq!(
        kinds(&kept),
        [(EventType::AccessGranted, d.gym.uuid.clone()), (EventType::DoorcodeIssued, d.gym.uuid.clone())]
    );

    // The cursor after the last old event is still good: nothing after it was pruned.
    let (after_old, _) = all_events(&world.a, Some(cursor), 100).await;
    assert_eq!(after_old, kept);
    // A cursor before pruned events answers 410 instead of silently skipping them.
    let error = world
        .a
        .list_events(&EventsQuery { after: Some("1".into()), ..EventsQuery::default() })
        .await
        .expect_err("pruned");
    assert!(matches!(error, ApiError::UnexpectedStatus { status: 410, .. }), "{error:?}");
    assert!(error.server_message().is_some_and(|m| m.contains("30 days")), "{error:?}");
    assert!(kept.iter().all(|event| event.id != first));
}

#[tokio::test]
async fn events_survive_a_restart_of_the_simulator() {
    let dir = std::env::temp_dir().join(format!("latchkey-events-{}", uuid::Uuid::new_v4()));
    let db = dir.join("sim.sqlite").to_string_lossy().into_owned();
    let world = World::start_with(Options { db, ..Options::default() }).await;
    world
        .a
        .create_user_v2(&permanent("grace@example.com", &[&world.p.doors.lobby], world.now()))
        .await
        .expect("grant");
    let (before, cursor) = all_events(&world.a, None, 100).await;
    let world = world.restart().await;
    let (after, _) = all_events(&world.a, None, 100).await;
    assert_eq!(after, before);
    world
        .a
        .create_user_v2(&permanent("next@example.com", &[&world.p.doors.gym], world.now()))
        .await
        .expect("grant");
    let (next, _) = all_events(&world.a, Some(cursor), 100).await;
    assert_eq!(next.len(), 2, "the cursor from before the restart reads on");
    drop(world);
    let _ = std::fs::remove_dir_all(dir);
}

/// No route removes a device yet (issue 16 adds them); the recording function they will call is tested
/// directly.
#[tokio::test]
async fn a_removed_device_is_reported_to_the_partners_of_its_user_only() {
    let world = World::start().await;
    let d = &world.p.doors;
    let grace =
        world.a.create_user_v2(&permanent("grace@example.com", &[&d.lobby], world.now())).await.expect("A");
    let now = world.now();
    world
        .sim
        .state()
        .db
        .write(|tx| {
            latchkey_sim::backend::events::record::device_removed(
                tx,
                now,
                &grace.user_uuid,
                "dev-1",
                "Grace's Pixel",
            )
        })
        .expect("recorded");
    let query = EventsQuery { types: vec![EventType::DeviceRemoved], ..EventsQuery::default() };
    let events = world.a.list_events(&query).await.expect("A").events;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].door_uuid, None);
    assert_eq!(events[0].data["user"]["userUuid"], grace.user_uuid);
    assert_eq!(events[0].data["deviceName"], "Grace's Pixel");
    assert!(world.b.list_events(&query).await.expect("B").events.is_empty(), "not B's user");
}
