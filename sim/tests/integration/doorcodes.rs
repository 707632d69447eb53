//! The v2 doorcode table, row by row, and the three conflicts with accesses the property manager granted
//! in Mission Control (`POST /manager/v1/users`).

use chrono::Duration;
use latchkey::model::{AccessView, DoorType, DoorcodeDescription, GranterType, PasscodeType, Role, UserView};

use crate::support::{Contact, World, access, at, daily, permanent};

fn code(access: &AccessView) -> &str {
    assert_eq!(access.doorcode.description, DoorcodeDescription::Valid, "{access:?}");
    let code = access.doorcode.code.as_deref().expect("a VALID doorcode has a code");
    assert!(code.len() == 7 && code.bytes().all(|b| b.is_ascii_digit()), "7 digits: {code:?}");
    code
}

fn no_code(access: &AccessView, why: DoorcodeDescription) {
    assert_eq!(access.doorcode.code, None, "{access:?}");
    assert_eq!(access.doorcode.description, why, "{access:?}");
}

#[tokio::test]
async fn v1_names_the_user_and_the_doors() {
    let world = World::start().await;
    let d = &world.p.doors;
    let response = world
        .a
        .create_user_v1(&permanent("grace@example.com", &[&d.lobby, &d.tokyo_room], world.now()))
        .await
        .expect("v1 invite");
    let names: Vec<(&str, &str, DoorType)> = response
        .doors
        .iter()
        .map(|door| (door.name.as_str(), door.building_uuid.as_str(), door.door_type))
        .collect();
    assert_eq!(
        names,
        [
            ("Lobby", world.p.buildings.ny.uuid.as_str(), DoorType::Door),
            ("Room 301", world.p.buildings.tokyo.uuid.as_str(), DoorType::Door)
        ]
    );
    assert_eq!(response.doors[0].uuid, d.lobby.uuid);
    let user = world.a.get_user(&response.user_uuid).await.expect("the invited user");
    assert_eq!(user.email.as_deref(), Some("grace@example.com"));
    assert_eq!(user.accesses.len(), 2);
}

#[tokio::test]
async fn permanent_non_resident_gets_one_communal_code_and_one_code_per_private_door() {
    let world = World::start().await;
    let d = &world.p.doors;
    let now = world.now();
    let mut request = permanent("grace@example.com", &[&d.lobby, &d.gym, &d.unit_4b, &d.unit_5c], now);
    request.end_time = Some(now + Duration::days(30));
    request.shareable = true;
    let grace = world.a.create_user_v2(&request).await.expect("grant");

    // Connected (lobby, 4B) and not connected (gym, 5C) doors alike.
    assert_eq!(grace.accesses.len(), 4);
    for access in &grace.accesses {
        assert_eq!(access.passcode_type, PasscodeType::Permanent);
        assert_eq!(access.role, Role::NonResident);
        assert!(access.shareable);
        assert_eq!(access.start_time, now);
        assert_eq!(access.end_time, Some(now + Duration::days(30)));
        assert_eq!(access.granter.granter_type, GranterType::Partner);
        assert_eq!(access.granter.uuid, world.p.a.uuid);
    }
    let common = code(access(&grace, &d.lobby));
    assert_eq!(code(access(&grace, &d.gym)), common, "one common code for all communal doors");
    let (unit_4b, unit_5c) = (code(access(&grace, &d.unit_4b)), code(access(&grace, &d.unit_5c)));
    assert_ne!(unit_4b, common);
    assert_ne!(unit_5c, common);
    assert_ne!(unit_4b, unit_5c, "a unique code for each private door");

    // The codes are the user's: reading the user back gives the same ones.
    let read_back = world.a.get_user(&grace.user_uuid).await.expect("get user");
    assert_eq!(read_back.accesses, grace.accesses);

    // Another guest gets codes of their own at the same doors.
    let ada = world
        .a
        .create_user_v2(&permanent("ada@example.com", &[&d.lobby, &d.unit_4b], now))
        .await
        .expect("grant ada");
    assert_ne!(code(access(&ada, &d.lobby)), common, "two guests never share a code at a door");
    assert_ne!(code(access(&ada, &d.unit_4b)), unit_4b);

    // A later grant of another communal door keeps the one common code.
    let hal = world.a.create_user_v2(&permanent("hal@example.com", &[&d.lobby], now)).await.expect("hal");
    let hal_common = code(access(&hal, &d.lobby)).to_owned();
    let hal = world.a.create_user_v2(&permanent("hal@example.com", &[&d.gym], now)).await.expect("hal gym");
    assert_eq!(code(access(&hal, &d.gym)), hal_common, "the common code carries over to new communal doors");
}

#[tokio::test]
async fn permanent_resident_gets_no_doorcode() {
    let world = World::start().await;
    let d = &world.p.doors;
    let mut request = permanent("resident@example.com", &[&d.lobby, &d.unit_4b, &d.unit_5c], world.now());
    request.role = Role::Resident;
    let view = world.a.create_user_v2(&request).await.expect("grant");
    assert_eq!(view.accesses.len(), 3);
    for access in &view.accesses {
        assert_eq!(access.role, Role::Resident);
        no_code(access, DoorcodeDescription::UserHasResidentAccess);
    }
}

#[tokio::test]
async fn daily_non_resident_gets_a_code_per_door_for_the_doors_local_day() {
    let world = World::start().await;
    let d = &world.p.doors;
    // 2026-06-10T16:00Z: the 10th in New York, already the 11th in Tokyo.
    let doors = [&d.lobby, &d.gym, &d.unit_4b, &d.tokyo_entrance];
    for kind in [PasscodeType::Daily, PasscodeType::DailySingleUse] {
        let email = format!("{kind}@example.com").to_lowercase();
        let view = world
            .a
            .create_user_v2(&daily(kind, Contact::Email(&email), &doors, world.now()))
            .await
            .expect("grant");
        let codes: Vec<&str> = doors.iter().map(|door| code(access(&view, door))).collect();
        let mut distinct = codes.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), codes.len(), "{kind}: a unique code for each door, communal ones too");
        for door in &doors[..3] {
            let access = access(&view, door);
            assert_eq!(access.passcode_type, kind);
            assert!(!access.shareable);
            assert_eq!(access.start_time, at("2026-06-10T04:00:00Z"), "{kind}: midnight in New York");
            assert_eq!(access.end_time, Some(at("2026-06-11T04:00:00Z")), "{kind}: the next midnight there");
        }
        let tokyo = access(&view, &d.tokyo_entrance);
        assert_eq!(tokyo.start_time, at("2026-06-10T15:00:00Z"), "{kind}: midnight of the 11th in Tokyo");
        assert_eq!(tokyo.end_time, Some(at("2026-06-11T15:00:00Z")));
    }
}

#[tokio::test]
async fn daily_kinds_for_residents_expose_no_doorcode() {
    let world = World::start().await;
    let d = &world.p.doors;
    for kind in [PasscodeType::Daily, PasscodeType::DailySingleUse] {
        let email = format!("resident-{kind}@example.com").to_lowercase();
        let mut request = daily(kind, Contact::Email(&email), &[&d.lobby, &d.unit_4b], world.now());
        request.role = Role::Resident;
        let view = world.a.create_user_v2(&request).await.expect("grant");
        for access in &view.accesses {
            no_code(access, DoorcodeDescription::UserHasResidentAccess);
            assert_eq!(access.start_time, at("2026-06-10T04:00:00Z"), "still the door's local day");
            assert_eq!(access.end_time, Some(at("2026-06-11T04:00:00Z")));
        }
    }
}

async fn partner_grant(world: &World, email: &str, doors: &[&latchkey::model::DoorView]) -> UserView {
    world.a.create_user_v2(&permanent(email, doors, world.now())).await.expect("partner grant")
}

#[tokio::test]
async fn communal_doorcode_conflict_in_a_building_with_common_doorcodes() {
    let world = World::start().await;
    let d = &world.p.doors;
    assert!(world.p.buildings.ny.common_doorcodes && !world.p.buildings.tokyo.common_doorcodes);

    // Mission Control gave the user permanent guest access to the lobby; the partner now grants the gym
    // (another communal door of that building) and a private door.
    world.manager_grant("mc@example.com", &[&d.lobby], Role::NonResident, None).await;
    let view = partner_grant(&world, "mc@example.com", &[&d.gym, &d.unit_5c]).await;
    no_code(access(&view, &d.gym), DoorcodeDescription::CommunalDoorcodeConflict);
    code(access(&view, &d.unit_5c));

    // Without common doorcodes in the building there is no such conflict.
    world.manager_grant("tokyo@example.com", &[&d.tokyo_entrance], Role::NonResident, None).await;
    let view = partner_grant(&world, "tokyo@example.com", &[&d.tokyo_rooftop]).await;
    code(access(&view, &d.tokyo_rooftop));
}

#[tokio::test]
async fn guest_access_conflict_after_a_manager_granted_permanent_guest_access() {
    let world = World::start().await;
    let d = &world.p.doors;
    world.manager_grant("guest@example.com", &[&d.unit_4b, &d.tokyo_entrance], Role::NonResident, None).await;
    let view = partner_grant(&world, "guest@example.com", &[&d.unit_4b, &d.unit_5c, &d.tokyo_entrance]).await;
    no_code(access(&view, &d.unit_4b), DoorcodeDescription::UserHasGuestAccessConflict);
    no_code(access(&view, &d.tokyo_entrance), DoorcodeDescription::UserHasGuestAccessConflict);
    code(access(&view, &d.unit_5c));

    // A day code is not a permanent one: no conflict.
    let day = world
        .a
        .create_user_v2(&daily(
            PasscodeType::Daily,
            Contact::Email("guest@example.com"),
            &[&d.unit_4b],
            world.now(),
        ))
        .await
        .expect("daily");
    code(access(&day, &d.unit_4b));
}

#[tokio::test]
async fn resident_access_conflict_after_a_manager_granted_resident_access() {
    let world = World::start().await;
    let d = &world.p.doors;
    world.manager_grant("res@example.com", &[&d.unit_4b], Role::Resident, None).await;
    let view = partner_grant(&world, "res@example.com", &[&d.unit_4b, &d.unit_5c]).await;
    no_code(access(&view, &d.unit_4b), DoorcodeDescription::UserHasResidentAccess);
    code(access(&view, &d.unit_5c));

    let day = world
        .a
        .create_user_v2(&daily(
            PasscodeType::DailySingleUse,
            Contact::Email("res@example.com"),
            &[&d.unit_4b],
            world.now(),
        ))
        .await
        .expect("daily");
    no_code(access(&day, &d.unit_4b), DoorcodeDescription::UserHasResidentAccess);
}

#[tokio::test]
async fn an_ended_manager_access_is_no_conflict() {
    let world = World::start().await;
    let d = &world.p.doors;
    let end = world.now() + Duration::hours(1);
    world.manager_grant("former@example.com", &[&d.unit_4b, &d.lobby], Role::Resident, Some(end)).await;
    world.clock.advance(Duration::hours(2));
    let view = partner_grant(&world, "former@example.com", &[&d.unit_4b, &d.gym]).await;
    code(access(&view, &d.unit_4b));
    code(access(&view, &d.gym));
}

#[tokio::test]
async fn a_carried_over_common_code_never_duplicates_another_guests_code_at_a_door() {
    let world = World::start().await;
    let d = &world.p.doors;
    let hal = partner_grant(&world, "hal@example.com", &[&d.lobby]).await;
    let common = code(access(&hal, &d.lobby)).to_owned();
    let ann = partner_grant(&world, "ann@example.com", &[&d.tokyo_entrance]).await;
    // The one-in-ten-million chance, made certain: Ann's code at the Tokyo entrance is Hal's common code.
    world
        .sim
        .state()
        .db
        .write(|tx| {
            tx.execute(
                "UPDATE accesses SET doorcode = ?1 WHERE user_uuid = ?2 AND door_uuid = ?3",
                [&common, &ann.user_uuid, &d.tokyo_entrance.uuid],
            )
        })
        .expect("set the code");

    let hal = partner_grant(&world, "hal@example.com", &[&d.tokyo_entrance, &d.tokyo_rooftop]).await;
    let entrance = code(access(&hal, &d.tokyo_entrance));
    assert_ne!(entrance, common, "Ann already holds that code at the entrance");
    assert_eq!(
        code(access(&hal, &d.tokyo_rooftop)),
        entrance,
        "still one code for the request's communal doors"
    );
    assert_eq!(code(access(&hal, &d.lobby)), common, "the lobby keeps its code");
}

#[tokio::test]
async fn a_door_gives_out_no_more_daily_codes_a_day_than_its_lock_accepts() {
    let world = World::start().await;
    let lobby = &world.p.doors.lobby;
    let window = usize::from(latchkey_protocol::keypad::DAILY_SLOT_WINDOW);
    let mut codes = std::collections::HashSet::new();
    for guest in 0..window {
        let email = format!("guest{guest}@example.com");
        let mut request = daily(PasscodeType::Daily, Contact::Email(&email), &[lobby], world.now());
        request.should_notify = false;
        let view = world.a.create_user_v2(&request).await.expect("within the lock's window");
        codes.insert(access(&view, lobby).doorcode.code.clone().expect("a code"));
    }
    assert_eq!(codes.len(), window, "every guest got a different code");

    let request =
        daily(PasscodeType::Daily, Contact::Email("one-too-many@example.com"), &[lobby], world.now());
    let error = world.a.create_user_v2(&request).await.expect_err("past the lock's window");
    assert_eq!(error.status(), Some(409), "{error}");
    assert!(error.to_string().contains("DAILY codes"), "{error}");
    let single_use =
        daily(PasscodeType::DailySingleUse, Contact::Email("single@example.com"), &[lobby], world.now());
    world.a.create_user_v2(&single_use).await.expect("the other kind has its own window");
}
