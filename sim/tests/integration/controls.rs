//! The simulator's controls for partners' own tests (`/sim/v1/controls`, docs/simulator-controls.md),
//! driven over HTTP as a partner's CI would: the clock moved forward past a door's midnight and past a
//! token's expiry, outages answered 503 with Retry-After and then cleared, latency added to a route.
//!
//! The world's own `ManualClock` never moves here: only the controls move the simulator's time.

use std::time::Instant;

use chrono::Duration;
use latchkey::model::{ActivateDoorRequest, DeviceType, PasscodeType};
use latchkey_protocol::keypad::{DenyReason, Verdict};
use serde_json::json;

use crate::support::{Contact, MANAGER_TOKEN, World, daily, permanent, wire};

/// Moves the simulator's clock forward through the controls.
async fn advance(w: &World, by: Duration) -> serde_json::Value {
    let response = w
        .raw(
            "POST",
            "/sim/v1/controls/clock/advance",
            Some(MANAGER_TOKEN),
            Some(json!({ "seconds": by.num_seconds() })),
        )
        .await;
    assert_eq!(response.status, 200, "{}", response.text);
    response.json()
}

#[tokio::test]
async fn a_daily_code_works_until_the_door_s_midnight_and_not_after_moving_the_clock() {
    let w = World::start().await;
    let rooftop = &w.p.doors.tokyo_rooftop;
    w.manager
        .activate_door(
            &rooftop.uuid,
            &ActivateDoorRequest { serial_number: "LK-CTRL-1".into(), device_type: DeviceType::M },
        )
        .await
        .expect("activate");
    // The clock starts at 16:00 UTC, 01:00 the next day in Tokyo: the code is for that Tokyo day.
    let view = w
        .a
        .create_user_v2(&daily(PasscodeType::Daily, Contact::Email("ci@example.com"), &[rooftop], w.now()))
        .await
        .expect("daily");
    let code = view.accesses[0].doorcode.code.clone().expect("a DAILY code");
    let enter = || w.sim.state().locks.with_lock(&rooftop.uuid, |lock| lock.enter_code(&code)).expect("lock");
    assert!(matches!(enter(), Verdict::Granted { .. }));

    // 23:59 in Tokyo: still the code's day.
    let clock = advance(&w, Duration::hours(22) + Duration::minutes(59)).await;
    assert_eq!(clock["now"], "2026-06-11T14:59:00Z", "{clock}");
    assert!(matches!(enter(), Verdict::Granted { .. }), "a minute before the door's midnight");
    // Past the door's midnight: the same code is refused.
    advance(&w, Duration::minutes(1)).await;
    assert_eq!(enter(), Verdict::Denied { reason: DenyReason::Wrong });
}

#[tokio::test]
async fn a_token_lapses_when_the_clock_passes_its_expiry() {
    let w = World::start().await;
    let token = w.token(&w.p.a).await;
    assert_eq!(w.raw("GET", "/access/sdk/v1/doors", Some(&token), None).await.status, 200);

    // The fixture's tokens last 24 hours.
    advance(&w, Duration::hours(24) - Duration::seconds(1)).await;
    assert_eq!(w.raw("GET", "/access/sdk/v1/doors", Some(&token), None).await.status, 200);
    advance(&w, Duration::seconds(1)).await;
    let lapsed = w.raw("GET", "/access/sdk/v1/doors", Some(&token), None).await;
    assert_eq!(lapsed.status, 401, "{}", lapsed.text);
    assert!(lapsed.text.contains("expired"), "{}", lapsed.text);
    // A new token works at the new time.
    let fresh = w.token(&w.p.a).await;
    assert_eq!(w.raw("GET", "/access/sdk/v1/doors", Some(&fresh), None).await.status, 200);
}

#[tokio::test]
async fn a_frozen_clock_stands_still_and_never_moves_back() {
    let w = World::start().await;
    let frozen = w
        .raw(
            "POST",
            "/sim/v1/controls/clock/freeze",
            Some(MANAGER_TOKEN),
            Some(json!({"at": "2026-07-01T00:00:00Z"})),
        )
        .await;
    assert_eq!(frozen.status, 200, "{}", frozen.text);
    assert_eq!(frozen.json()["frozen"], true);
    let read = w.raw("GET", "/sim/v1/controls/clock", Some(MANAGER_TOKEN), None).await.json();
    assert_eq!(read["now"], "2026-07-01T00:00:00Z");

    let back = w
        .raw(
            "POST",
            "/sim/v1/controls/clock/freeze",
            Some(MANAGER_TOKEN),
            Some(json!({"at": "2026-06-01T00:00:00Z"})),
        )
        .await;
    assert_eq!(back.status, 400);
    assert!(back.text.contains("only moves forward"), "{}", back.text);
    let negative = w
        .raw("POST", "/sim/v1/controls/clock/advance", Some(MANAGER_TOKEN), Some(json!({"seconds": -5})))
        .await;
    assert_eq!(negative.status, 400, "{}", negative.text);

    let running = w.raw("POST", "/sim/v1/controls/clock/unfreeze", Some(MANAGER_TOKEN), None).await.json();
    assert_eq!(running["frozen"], false);
    assert_eq!(running["now"], "2026-07-01T00:00:00Z", "resumes from where it stood");
}

#[tokio::test]
async fn an_outage_answers_503_with_retry_after_until_cleared() {
    let w = World::start().await;
    let token = w.token(&w.p.a).await;
    let invite = |email: &str| wire(&permanent(email, &[&w.p.doors.gym], w.now()));

    let rule = w
        .raw(
            "POST",
            "/sim/v1/controls/faults",
            Some(MANAGER_TOKEN),
            Some(json!({"kind": "OUTAGE", "method": "POST", "path": "/access/sdk/v2/users", "retryAfterSeconds": 5})),
        )
        .await;
    assert_eq!(rule.status, 201, "{}", rule.text);
    let id = rule.json()["id"].as_u64().expect("an id");

    for email in ["one@example.com", "two@example.com"] {
        let down = w.raw("POST", "/access/sdk/v2/users", Some(&token), Some(invite(email))).await;
        assert_eq!(down.status, 503, "{}", down.text);
        assert_eq!(down.headers["retry-after"], "5");
        assert!(down.text.contains("/sim/v1/controls/faults"), "{}", down.text);
    }
    // Other routes and methods are untouched, and nothing was granted while down.
    assert_eq!(w.raw("GET", "/access/sdk/v1/doors", Some(&token), None).await.status, 200);
    let users = w.raw("GET", "/access/sdk/v1/users", Some(&token), None).await.json();
    assert_eq!(users["users"].as_array().map(Vec::len), Some(0), "{users}");

    let cleared = w.raw("DELETE", &format!("/sim/v1/controls/faults/{id}"), Some(MANAGER_TOKEN), None).await;
    assert_eq!(cleared.status, 204);
    let up = w.raw("POST", "/access/sdk/v2/users", Some(&token), Some(invite("one@example.com"))).await;
    assert_eq!(up.status, 200, "{}", up.text);
}

#[tokio::test]
async fn an_outage_of_an_area_for_n_requests_ends_by_itself() {
    let w = World::start().await;
    let token = w.token(&w.p.a).await;
    let rule = w
        .raw(
            "POST",
            "/sim/v1/controls/faults",
            Some(MANAGER_TOKEN),
            Some(json!({"kind": "OUTAGE", "area": "partner", "count": 2})),
        )
        .await;
    assert_eq!(rule.status, 201, "{}", rule.text);
    assert_eq!(w.raw("GET", "/access/sdk/v1/doors", Some(&token), None).await.status, 503);
    assert_eq!(w.raw("GET", "/access/sdk/v1/users", Some(&token), None).await.status, 503);
    assert_eq!(w.raw("GET", "/access/sdk/v1/doors", Some(&token), None).await.status, 200);
    let listed = w.raw("GET", "/sim/v1/controls/faults", Some(MANAGER_TOKEN), None).await.json();
    assert_eq!(listed["faults"], json!([]));
}

#[tokio::test]
async fn latency_is_added_to_a_route() {
    let w = World::start().await;
    let token = w.token(&w.p.a).await;
    let rule = w
        .raw(
            "POST",
            "/sim/v1/controls/faults",
            Some(MANAGER_TOKEN),
            Some(json!({"kind": "LATENCY", "method": "GET", "path": "/access/sdk/v1/doors", "latencyMs": 400, "count": 1})),
        )
        .await;
    assert_eq!(rule.status, 201, "{}", rule.text);
    let listed = w.raw("GET", "/sim/v1/controls/faults", Some(MANAGER_TOKEN), None).await.json();
    assert_eq!(listed["faults"][0]["remaining"], 1, "{listed}");

    let started = Instant::now();
    let slow = w.raw("GET", "/access/sdk/v1/doors", Some(&token), None).await;
    // A lower bound only: the answer cannot come before the injected wait.
    assert!(started.elapsed() >= std::time::Duration::from_millis(400));
    assert_eq!(slow.status, 200, "the request still succeeds");
    let listed = w.raw("GET", "/sim/v1/controls/faults", Some(MANAGER_TOKEN), None).await.json();
    assert_eq!(listed["faults"], json!([]), "used up");
}

#[tokio::test]
async fn the_controls_need_the_manager_token_and_refuse_bad_rules() {
    let w = World::start().await;
    let token = w.token(&w.p.a).await;
    assert_eq!(w.raw("GET", "/sim/v1/controls/clock", None, None).await.status, 401);
    assert_eq!(w.raw("GET", "/sim/v1/controls/clock", Some(&token), None).await.status, 401);
    let advance =
        w.raw("POST", "/sim/v1/controls/clock/advance", Some(&token), Some(json!({"seconds": 60}))).await;
    assert_eq!(advance.status, 401, "a partner cannot move the clock");

    for (rule, says) in [
        (json!({"kind": "OUTAGE"}), "either path"),
        (json!({"kind": "OUTAGE", "path": "/a", "area": "partner"}), "either path"),
        (json!({"kind": "LATENCY", "area": "auth"}), "latencyMs"),
        (json!({"kind": "OUTAGE", "path": "no-slash"}), "must start with /"),
        (json!({"kind": "OUTAGE", "area": "partner", "count": 0}), "count"),
        (json!({"kind": "BREAK", "area": "partner"}), "kind"),
    ] {
        let refused = w.raw("POST", "/sim/v1/controls/faults", Some(MANAGER_TOKEN), Some(rule.clone())).await;
        assert_eq!(refused.status, 400, "{rule}: {}", refused.text);
        assert!(refused.text.contains(says), "{rule}: {}", refused.text);
    }
}
