//! The validation table of the spec: every row refused by the client before anything is sent, and refused
//! by the backend with the very same message when sent raw; and what the rules must not refuse.

use chrono::Duration;
use latchkey::api::{ApiConfig, ApiError, PartnerClient, RetryPolicy};
use latchkey::model::validation::MAX_DOORS_PER_REQUEST;
use latchkey::model::{CreateUserRequest, PasscodeType, Role, ValidationError};
use serde_json::json;

use crate::proxy::Proxy;
use crate::support::{Contact, World, daily, permanent, wire};

const EMAIL: &str = "rule@example.com";
const PHONE: &str = "+14155550123";

/// Every invalid invite of the table, with the rule it breaks.
fn invalid_invites(world: &World) -> Vec<(&'static str, CreateUserRequest, ValidationError)> {
    let now = world.now();
    let lobby = &world.p.doors.lobby;
    let permanent_ = || permanent(EMAIL, &[lobby], now);
    let daily_ = |kind| daily(kind, Contact::Email(EMAIL), &[lobby], now);
    let mut rows = Vec::new();

    let mut r = permanent_();
    r.email = None;
    r.phone = Some(PHONE.into());
    rows.push(("PERMANENT with a phone only", r, ValidationError::PermanentNeedsEmail));
    let mut r = permanent_();
    r.email = None;
    rows.push(("PERMANENT with no contact", r, ValidationError::PermanentNeedsEmail));
    let mut r = permanent_();
    r.email = None;
    r.phone = Some(PHONE.into());
    r.role = Role::Resident;
    rows.push((
        "PERMANENT RESIDENT with a phone only (role does not matter)",
        r,
        ValidationError::PermanentNeedsEmail,
    ));
    let mut r = permanent_();
    r.end_time = Some(now - Duration::minutes(1));
    rows.push(("PERMANENT ending before it starts", r, ValidationError::EndNotAfterStart));

    for kind in [PasscodeType::Daily, PasscodeType::DailySingleUse] {
        let mut r = daily_(kind);
        r.phone = Some(PHONE.into());
        rows.push(("DAILY kind with email and phone", r, ValidationError::DailyNeedsOneContact(kind)));
        let mut r = daily_(kind);
        r.email = None;
        rows.push((
            "DAILY kind with neither email nor phone",
            r,
            ValidationError::DailyNeedsOneContact(kind),
        ));
        let mut r = daily_(kind);
        r.shareable = true;
        rows.push(("shareable DAILY kind", r, ValidationError::DailyNotShareable(kind)));
        let mut r = daily_(kind);
        r.role = Role::Resident;
        r.should_notify = false;
        rows.push((
            "DAILY kind, RESIDENT, shouldNotify false",
            r,
            ValidationError::NotificationRequired(kind),
        ));
        let mut r = daily_(kind);
        r.start_time = now + Duration::days(3);
        let error = latchkey::model::validation::validate_create_user(&r, now).expect_err("out of range");
        assert!(matches!(error, ValidationError::DailyStartOutOfRange { .. }), "{error:?}");
        rows.push(("DAILY kind starting in three days", r, error));
        let mut r = daily_(kind);
        r.start_time = now - Duration::days(2);
        let error = latchkey::model::validation::validate_create_user(&r, now).expect_err("out of range");
        rows.push(("DAILY kind that started two days ago", r, error));
    }

    let mut r = permanent_();
    r.door_uuids.clear();
    rows.push(("no doors", r, ValidationError::NoDoors));
    let mut r = permanent_();
    r.door_uuids = vec![lobby.uuid.clone(); MAX_DOORS_PER_REQUEST + 1];
    rows.push(("too many doors", r, ValidationError::TooManyDoors(MAX_DOORS_PER_REQUEST + 1)));
    let mut r = permanent_();
    r.email = Some("not-an-email".into());
    rows.push(("malformed email", r, ValidationError::InvalidEmail));
    let r = daily(PasscodeType::Daily, Contact::Phone("4155550123"), &[lobby], now);
    rows.push(("phone not in E.164", r, ValidationError::InvalidPhone));
    let mut r = permanent_();
    r.first_name = "  ".into();
    rows.push(("blank first name", r, ValidationError::InvalidName { field: "firstName" }));
    rows
}

#[tokio::test]
async fn the_client_refuses_every_invalid_invite_before_sending_anything() {
    let world = World::start().await;
    // A's client goes through a counting proxy: any byte sent would show up there.
    let proxy = Proxy::start(&world.base_url(), None).await;
    let config = ApiConfig::parse(&proxy.url())
        .expect("url")
        .with_clock(world.clock.clone())
        .with_retry(RetryPolicy::none());
    let client = PartnerClient::new(config, world.p.a.client_id.clone(), world.p.a.client_secret.clone())
        .expect("client");
    let outbox_before = world.outbox().await.len();

    for (row, request, expected) in invalid_invites(&world) {
        for version in ["v1", "v2"] {
            let error = match version {
                "v1" => client.create_user_v1(&request).await.map(|_| ()),
                _ => client.create_user_v2(&request).await.map(|_| ()),
            }
            .expect_err(row);
            assert!(error.is_client_side(), "{row} ({version}): {error:?}");
            match &error {
                ApiError::Validation(found) => assert_eq!(found, &expected, "{row} ({version})"),
                other => panic!("{row} ({version}): expected a validation error, got {other:?}"),
            }
            assert_eq!(error.status(), None, "{row}: no response, no status");
            assert!(error.to_string().contains("nothing was sent"), "{row}: {error}");
        }
    }

    assert_eq!(
        proxy.requests(),
        Vec::<String>::new(),
        "nothing reached the network, not even a token request"
    );
    assert_eq!(world.outbox().await.len(), outbox_before, "nobody was notified");
    assert!(world.a.all_users().await.expect("users").is_empty(), "no user was created");
}

#[tokio::test]
async fn the_backend_refuses_every_invalid_invite_with_the_same_message() {
    let world = World::start().await;
    let token = world.token(&world.p.a).await;
    let outbox_before = world.outbox().await.len();

    for (row, request, expected) in invalid_invites(&world) {
        for path in ["/access/sdk/v1/users", "/access/sdk/v2/users"] {
            let response = world.raw("POST", path, Some(&token), Some(wire(&request))).await;
            assert_eq!(response.status, 400, "{row} at {path}: {}", response.text);
            assert_eq!(
                response.message(),
                expected.to_string(),
                "{row} at {path}: client and backend give the same reason"
            );
        }
    }

    assert_eq!(world.outbox().await.len(), outbox_before, "nobody was notified");
    assert!(world.a.all_users().await.expect("users").is_empty(), "no user was created");
}

#[tokio::test]
async fn malformed_bodies_get_a_400_naming_the_problem() {
    let world = World::start().await;
    let token = world.token(&world.p.a).await;
    let mut body = wire(&permanent(EMAIL, &[&world.p.doors.lobby], world.now()));
    let cases = [
        ("passcodeType", json!("WEEKLY"), "WEEKLY"),
        ("role", json!("resident"), "resident"),
        ("startTime", json!("tomorrow"), "invalid request body"),
        ("doorUuids", json!("not-a-list"), "expected a sequence"),
        ("favouriteColour", json!("blue"), "favouriteColour"),
    ];
    for (field, value, named) in cases {
        let original = body.get(field).cloned();
        body[field] = value;
        let response = world.raw("POST", "/access/sdk/v2/users", Some(&token), Some(body.clone())).await;
        assert_eq!(response.status, 400, "{field}: {}", response.text);
        assert!(response.message().contains(named), "{field}: {}", response.message());
        match original {
            Some(original) => body[field] = original,
            None => {
                body.as_object_mut().expect("object").remove(field);
            }
        }
    }
    body.as_object_mut().expect("object").remove("passcodeType");
    let response = world.raw("POST", "/access/sdk/v1/users", Some(&token), Some(body)).await;
    assert_eq!(response.status, 400);
    assert!(response.message().contains("passcodeType"), "{}", response.message());
    let response = world.raw("POST", "/access/sdk/v1/users", Some(&token), None).await;
    assert_eq!(response.status, 400);
    assert!(response.message().contains("empty"), "{}", response.message());
    assert!(world.a.all_users().await.expect("users").is_empty());
}

#[tokio::test]
async fn the_rules_refuse_only_what_they_say() {
    let world = World::start().await;
    let now = world.now();
    let lobby = &world.p.doors.lobby;

    // DAILY by phone alone, and by email alone.
    world
        .a
        .create_user_v2(&daily(PasscodeType::Daily, Contact::Phone(PHONE), &[lobby], now))
        .await
        .expect("DAILY by phone");
    world
        .a
        .create_user_v2(&daily(
            PasscodeType::DailySingleUse,
            Contact::Email("solo@example.com"),
            &[lobby],
            now,
        ))
        .await
        .expect("DAILY_SINGLE_USE by email");
    // PERMANENT with email and phone, shareable, with an end.
    let mut request = permanent("both@example.com", &[lobby], now);
    request.phone = Some("+14155550124".into());
    request.shareable = true;
    request.end_time = Some(now + Duration::days(7));
    let view = world.a.create_user_v2(&request).await.expect("PERMANENT with email and phone");
    assert_eq!(view.phone.as_deref(), Some("+14155550124"));
    assert!(view.accesses[0].shareable);
    // shouldNotify false is fine for DAILY NON_RESIDENT, and for PERMANENT RESIDENT.
    let mut request = daily(PasscodeType::Daily, Contact::Email("quiet@example.com"), &[lobby], now);
    request.should_notify = false;
    world.a.create_user_v2(&request).await.expect("quiet DAILY NON_RESIDENT");
    let mut request = permanent("quiet-resident@example.com", &[lobby], now);
    request.role = Role::Resident;
    request.should_notify = false;
    world.a.create_user_v2(&request).await.expect("quiet PERMANENT RESIDENT");
    // The DAILY start time on the day is not honoured: any time tomorrow will do.
    let mut request = daily(PasscodeType::Daily, Contact::Email("late@example.com"), &[lobby], now);
    request.start_time = now + Duration::hours(30);
    world.a.create_user_v2(&request).await.expect("DAILY tomorrow evening");

    // Sent raw, a blank email next to a phone counts as no email (partner backends send "" for absent).
    let token = world.token(&world.p.a).await;
    let mut body = wire(&daily(PasscodeType::Daily, Contact::Phone("+14155550125"), &[lobby], now));
    body["email"] = json!("");
    let response = world.raw("POST", "/access/sdk/v2/users", Some(&token), Some(body)).await;
    assert_eq!(response.status, 200, "{}", response.text);
    assert!(response.json()["email"].is_null());

    assert_eq!(world.a.all_users().await.expect("users").len(), 7);
}
