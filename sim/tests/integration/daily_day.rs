//! The DAILY rule at the edges of the door's day, with the clock moved by hand: "today" and "tomorrow"
//! are the door's local dates, the window is exactly the door's local midnight to midnight (23 or 25 hours
//! on a DST change), and the code is the one an offline lock derives for that local day.

use chrono::{DateTime, Duration, Utc};
use latchkey::api::ApiError;
use latchkey::model::{AccessView, DoorView, PasscodeType};
use latchkey_protocol::doorcode::{self, DailyKind, LocalDay};

use crate::support::{Contact, World, at, daily, wire};

/// Grants a DAILY access at `door` starting at `start` to a fresh guest; returns the access.
async fn grant(
    world: &World,
    door: &DoorView,
    start: DateTime<Utc>,
    who: &str,
) -> Result<AccessView, ApiError> {
    let email = format!("{who}@example.com");
    let view =
        world.a.create_user_v2(&daily(PasscodeType::Daily, Contact::Email(&email), &[door], start)).await?;
    Ok(view.accesses.into_iter().next().expect("one access"))
}

fn window(access: &AccessView) -> (DateTime<Utc>, DateTime<Utc>) {
    (access.start_time, access.end_time.expect("a DAILY access ends"))
}

fn refused_by_the_backend(result: Result<AccessView, ApiError>, needles: &[&str]) {
    let error = result.expect_err("refused");
    assert!(
        matches!(error, ApiError::BadRequest { .. }),
        "the backend refused it, not the client: {error:?}"
    );
    let message = error.server_message().expect("message");
    for needle in needles {
        assert!(message.contains(needle), "{needle:?} in {message}");
    }
}

fn refused_by_the_client(result: Result<AccessView, ApiError>) {
    let error = result.expect_err("refused");
    assert!(matches!(error, ApiError::Validation(_)), "{error:?}");
}

#[tokio::test]
async fn in_tokyo_at_23_59_today_and_tomorrow_are_the_local_dates() {
    let world = World::start().await;
    let door = &world.p.doors.tokyo_entrance;
    world.clock.set(at("2026-06-10T14:59:00Z")); // 23:59 on the 10th in Tokyo
    let the_10th = (at("2026-06-09T15:00:00Z"), at("2026-06-10T15:00:00Z"));
    let the_11th = (at("2026-06-10T15:00:00Z"), at("2026-06-11T15:00:00Z"));

    let access = grant(&world, door, world.now(), "now").await.expect("today");
    assert_eq!(window(&access), the_10th, "today ends in a minute, at Tokyo's midnight");
    let access = grant(&world, door, at("2026-06-10T15:00:00Z"), "midnight").await.expect("tomorrow");
    assert_eq!(window(&access), the_11th);
    let access = grant(&world, door, at("2026-06-11T14:59:00Z"), "late").await.expect("tomorrow 23:59");
    assert_eq!(window(&access), the_11th, "the time on the day is not honoured");

    // The 12th in Tokyo is the day after tomorrow; somewhere at UTC+14 it is still tomorrow, so only the
    // backend, which knows the door's zone, can refuse it.
    refused_by_the_backend(
        grant(&world, door, at("2026-06-11T15:00:00Z"), "too-far").await,
        &[&door.uuid, "Asia/Tokyo", "falls on 2026-06-12", "today there is 2026-06-10"],
    );
    // Yesterday (the 9th, 23:59 there).
    refused_by_the_client(grant(&world, door, at("2026-06-09T14:59:00Z"), "yesterday").await);
    let token = world.token(&world.p.a).await;
    let body = wire(&daily(
        PasscodeType::Daily,
        Contact::Email("raw@example.com"),
        &[door],
        at("2026-06-09T14:59:00Z"),
    ));
    let response = world.raw("POST", "/access/sdk/v2/users", Some(&token), Some(body)).await;
    assert_eq!(response.status, 400);
    assert!(response.message().contains("must start today or tomorrow"), "{}", response.message());
}

#[tokio::test]
async fn in_tokyo_at_midnight_the_day_has_moved() {
    let world = World::start().await;
    let door = &world.p.doors.tokyo_room;
    world.clock.set(at("2026-06-10T15:00:00Z")); // 00:00 on the 11th in Tokyo

    // A minute ago it was the 10th there: yesterday now, though still "today" in UTC.
    refused_by_the_backend(
        grant(&world, door, at("2026-06-10T14:59:00Z"), "a-minute-ago").await,
        &["Asia/Tokyo", "falls on 2026-06-10", "today there is 2026-06-11"],
    );
    let access = grant(&world, door, world.now(), "now").await.expect("today");
    assert_eq!(window(&access), (at("2026-06-10T15:00:00Z"), at("2026-06-11T15:00:00Z")));
    let access = grant(&world, door, at("2026-06-12T14:59:00Z"), "tomorrow").await.expect("tomorrow 23:59");
    assert_eq!(window(&access), (at("2026-06-11T15:00:00Z"), at("2026-06-12T15:00:00Z")));
    refused_by_the_client(grant(&world, door, at("2026-06-12T15:00:00Z"), "too-far").await);
}

#[tokio::test]
async fn the_same_instant_is_today_in_new_york_and_yesterday_on_kiritimati() {
    let world = World::start().await;
    let d = &world.p.doors;
    world.clock.set(at("2026-06-10T10:00:00Z")); // 06:00 on the 10th in New York, 00:00 on the 11th on Kiritimati
    let start = at("2026-06-10T09:00:00Z");

    let lobby = grant(&world, &d.lobby, start, "ny").await.expect("today in New York");
    assert_eq!(window(&lobby), (at("2026-06-10T04:00:00Z"), at("2026-06-11T04:00:00Z")));
    refused_by_the_backend(
        grant(&world, &d.kiritimati_gate, start, "kiritimati").await,
        &["Pacific/Kiritimati", "falls on 2026-06-10", "today there is 2026-06-11"],
    );

    // One request naming both doors is refused as a whole, and nothing of it is applied.
    let outbox = world.outbox().await;
    let users = world.a.all_users().await.expect("users");
    let both = daily(
        PasscodeType::Daily,
        Contact::Email("both@example.com"),
        &[&d.lobby, &d.kiritimati_gate],
        start,
    );
    let error = world.a.create_user_v2(&both).await.expect_err("one door refuses");
    assert!(error.server_message().is_some_and(|m| m.contains(&d.kiritimati_gate.uuid)), "{error:?}");
    assert_eq!(world.outbox().await, outbox);
    assert_eq!(world.a.all_users().await.expect("users"), users);

    // Tomorrow on Kiritimati (the 12th there) runs from 10:00 UTC on the 11th to 10:00 UTC on the 12th.
    let gate = grant(&world, &d.kiritimati_gate, at("2026-06-11T10:00:00Z"), "gate").await.expect("tomorrow");
    assert_eq!(window(&gate), (at("2026-06-11T10:00:00Z"), at("2026-06-12T10:00:00Z")));
    refused_by_the_client(grant(&world, &d.kiritimati_gate, at("2026-06-12T10:00:00Z"), "gate-far").await);
}

#[tokio::test]
async fn on_dst_change_days_the_window_is_23_or_25_hours() {
    let world = World::start().await;
    let lobby = &world.p.doors.lobby;

    world.clock.set(at("2026-03-08T12:00:00Z")); // 08:00 EDT: the clocks sprang forward at 02:00
    let spring = grant(&world, lobby, world.now(), "spring").await.expect("spring forward day");
    assert_eq!(window(&spring), (at("2026-03-08T05:00:00Z"), at("2026-03-09T04:00:00Z")));
    assert_eq!(spring.end_time.expect("end") - spring.start_time, Duration::hours(23));

    world.clock.set(at("2026-10-31T16:00:00Z")); // the day before the clocks fall back
    let fall =
        grant(&world, lobby, at("2026-11-01T16:00:00Z"), "fall").await.expect("fall back day, tomorrow");
    assert_eq!(window(&fall), (at("2026-11-01T04:00:00Z"), at("2026-11-02T05:00:00Z")));
    assert_eq!(fall.end_time.expect("end") - fall.start_time, Duration::hours(25));

    let ordinary = grant(&world, lobby, world.now(), "ordinary").await.expect("an ordinary day");
    assert_eq!(window(&ordinary), (at("2026-10-31T04:00:00Z"), at("2026-11-01T04:00:00Z")));
}

fn door_secret(world: &World, door: &DoorView) -> [u8; 32] {
    let secret: Vec<u8> = world
        .sim
        .state()
        .db
        .read(|conn| {
            conn.query_row("SELECT doorcode_secret FROM doors WHERE uuid = ?1", [&door.uuid], |row| {
                row.get(0)
            })
        })
        .expect("the door's secret");
    secret.try_into().expect("32 bytes")
}

#[tokio::test]
async fn daily_codes_are_the_ones_a_lock_derives_for_its_local_day() {
    let world = World::start().await;
    let d = &world.p.doors;
    // 16:00 UTC on the 10th: still the 10th in New York, already the 11th in Tokyo.
    for (kind, lock_kind) in
        [(PasscodeType::Daily, DailyKind::Daily), (PasscodeType::DailySingleUse, DailyKind::DailySingleUse)]
    {
        let email = format!("{}@example.com", kind.as_str().to_lowercase());
        let view = world
            .a
            .create_user_v2(&daily(kind, Contact::Email(&email), &[&d.lobby, &d.tokyo_entrance], world.now()))
            .await
            .expect("grant");
        let lobby =
            doorcode::daily(&door_secret(&world, &d.lobby), lock_kind, LocalDay::from_ymd(2026, 6, 10), 0);
        let tokyo = doorcode::daily(
            &door_secret(&world, &d.tokyo_entrance),
            lock_kind,
            LocalDay::from_ymd(2026, 6, 11),
            0,
        );
        assert_eq!(view.accesses[0].doorcode.code, Some(lobby.to_string()), "{kind}: New York's day");
        assert_eq!(view.accesses[1].doorcode.code, Some(tokyo.to_string()), "{kind}: Tokyo's day");
    }
}
