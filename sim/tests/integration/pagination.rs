//! Paging of `GET doors` and `GET users`: `pageSize`, `pageToken`, `nextPageToken` null on the last page,
//! the `buildingUuid` filter, and a 400 for values that cannot be pages.

use latchkey::api::{ApiError, DoorsQuery};
use latchkey::model::{AccessibilityType, DeviceType, DoorView, PageQuery};

use crate::support::{World, permanent};

fn doors_query(size: Option<u32>, token: Option<&str>, building: Option<&str>) -> DoorsQuery {
    DoorsQuery {
        page: PageQuery { page_size: size, page_token: token.map(str::to_owned) },
        building_uuid: building.map(str::to_owned),
    }
}

fn names(doors: &[DoorView]) -> Vec<&str> {
    doors.iter().map(|door| door.name.as_str()).collect()
}

#[tokio::test]
async fn doors_come_in_pages_that_end_with_a_null_token() {
    let world = World::start().await;
    let expected: Vec<&str> = world.p.doors.of_a().iter().map(|door| door.name.as_str()).collect();
    assert_eq!(expected.len(), 8);

    let everything = world.a.list_doors(&DoorsQuery::default()).await.expect("all doors");
    assert_eq!(names(&everything.doors), expected, "without pageSize every door comes back");
    assert_eq!(everything.next_page_token, None);

    let mut seen = Vec::new();
    let mut tokens = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = world.a.list_doors(&doors_query(Some(3), token.as_deref(), None)).await.expect("page");
        assert!(page.doors.len() <= 3);
        seen.extend(page.doors);
        tokens.push(page.next_page_token.clone());
        match page.next_page_token {
            Some(next) => token = Some(next),
            None => break,
        }
    }
    assert_eq!(tokens, [Some("2".to_owned()), Some("3".to_owned()), None]);
    assert_eq!(names(&seen), expected, "the pages cover every door once, in order");
    assert_eq!(world.a.all_doors(None).await.expect("walk"), everything.doors);

    let past_the_end = world.a.list_doors(&doors_query(Some(3), Some("9"), None)).await.expect("page 9");
    assert!(past_the_end.doors.is_empty() && past_the_end.next_page_token.is_none());
    let exact = world.a.list_doors(&doors_query(Some(8), None, None)).await.expect("one full page");
    assert_eq!((exact.doors.len(), exact.next_page_token), (8, None), "no empty page after a full one");
}

#[tokio::test]
async fn doors_can_be_filtered_by_building_and_carry_their_lock() {
    let world = World::start().await;
    let d = &world.p.doors;
    let ny = world.a.all_doors(Some(&world.p.buildings.ny.uuid)).await.expect("New York doors");
    assert_eq!(
        names(&ny),
        ["Lobby", "Gym", "Unit 4B", "Unit 5C"],
        "not B's staff room, not the disabled key's door"
    );
    let first = world
        .a
        .list_doors(&doors_query(Some(3), None, Some(&world.p.buildings.ny.uuid)))
        .await
        .expect("first page");
    assert_eq!((first.doors.len(), first.next_page_token.as_deref()), (3, Some("2")));
    let second = world
        .a
        .list_doors(&doors_query(Some(3), Some("2"), Some(&world.p.buildings.ny.uuid)))
        .await
        .expect("second page");
    assert_eq!(names(&second.doors), ["Unit 5C"]);
    assert_eq!(second.next_page_token, None);
    let tokyo = world.a.all_doors(Some(&world.p.buildings.tokyo.uuid)).await.expect("Tokyo doors");
    assert_eq!(names(&tokyo), ["Entrance", "Rooftop", "Room 301"]);
    let kiritimati = world.a.all_doors(Some(&world.p.buildings.kiritimati.uuid)).await.expect("Kiritimati");
    assert_eq!(names(&kiritimati), ["Gate"]);
    assert!(world.a.all_doors(Some("no-such-building")).await.expect("none").is_empty());

    let lobby = ny.iter().find(|door| door.uuid == d.lobby.uuid).expect("lobby");
    assert_eq!(lobby.accessibility_type, AccessibilityType::Communal);
    assert!(lobby.is_connected);
    let device = lobby.device.as_ref().expect("an activated lock");
    assert_eq!((device.serial_number.as_str(), device.device_type), ("LK-0001", DeviceType::M));
    assert_eq!(device.battery.percentage, 100);
    let gym = ny.iter().find(|door| door.uuid == d.gym.uuid).expect("gym");
    assert!(!gym.is_connected && gym.device.is_none(), "not activated yet: device null");
    assert_eq!(ny[2].accessibility_type, AccessibilityType::Private);

    let buildings = world.a.buildings().await.expect("buildings").buildings;
    let zones: Vec<&str> = buildings.iter().map(|b| b.timezone.as_str()).collect();
    assert_eq!(zones, ["America/New_York", "Asia/Tokyo", "Pacific/Kiritimati"]);
}

#[tokio::test]
async fn users_come_in_pages_oldest_first() {
    let world = World::start().await;
    let emails: Vec<String> = (1..=5).map(|n| format!("user{n}@example.com")).collect();
    for email in &emails {
        world
            .a
            .create_user_v1(&permanent(email, &[&world.p.doors.lobby], world.now()))
            .await
            .expect("invite");
    }
    let page = |token: Option<&str>| PageQuery { page_size: Some(2), page_token: token.map(str::to_owned) };
    let first = world.a.list_users(&page(None)).await.expect("page 1");
    let second = world.a.list_users(&page(first.next_page_token.as_deref())).await.expect("page 2");
    let third = world.a.list_users(&page(second.next_page_token.as_deref())).await.expect("page 3");
    let tokens = [&first, &second, &third].map(|p| p.next_page_token.clone());
    assert_eq!(tokens, [Some("2".to_owned()), Some("3".to_owned()), None]);
    let seen: Vec<String> = [first, second, third]
        .into_iter()
        .flat_map(|page| page.users)
        .map(|user| user.email.expect("email"))
        .collect();
    assert_eq!(seen, emails);
    let everyone = world.a.list_users(&PageQuery::default()).await.expect("everyone");
    assert_eq!(everyone.users.len(), 5);
    assert_eq!(everyone.next_page_token, None);
    assert_eq!(world.a.all_users().await.expect("walk"), everyone.users);
}

#[tokio::test]
async fn values_that_cannot_be_pages_are_a_400() {
    let world = World::start().await;
    for size in [0, 1001] {
        let error = world.a.list_doors(&doors_query(Some(size), None, None)).await.expect_err("bad size");
        assert!(matches!(error, ApiError::BadRequest { .. }), "{error:?}");
        assert!(error.server_message().is_some_and(|m| m.contains("pageSize")), "{error:?}");
        let error = world
            .a
            .list_users(&PageQuery { page_size: Some(size), page_token: None })
            .await
            .expect_err("bad size");
        assert_eq!(error.status(), Some(400));
    }
    let token = world.token(&world.p.a).await;
    for query in
        ["pageSize=abc", "pageSize=-1", "pageSize=2.5", "pageToken=0", "pageToken=next", "page_size=2"]
    {
        for path in ["/access/sdk/v1/doors", "/access/sdk/v1/users"] {
            let response = world.raw("GET", &format!("{path}?{query}"), Some(&token), None).await;
            assert_eq!(response.status, 400, "{path}?{query}: {}", response.text);
            let message = response.message();
            let named = query.split('=').next().expect("name");
            assert!(message.contains(named), "{path}?{query}: {message}");
        }
    }
    let response = world.raw("GET", "/access/sdk/v1/users?buildingUuid=x", Some(&token), None).await;
    assert_eq!(response.status, 400, "users take no building filter");
}
