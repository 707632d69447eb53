//! Every fault the fake BlueZ injects: the flow fails with the error a user can act on, the retry
//! succeeds, and nothing is lost or applied twice (each successful unlock is in the backend's log once,
//! every delta reaches the lock once).

use std::time::Duration;

use latchkey::ble::btleplug::BtleplugTransport;
use latchkey::ble::{Timeouts, TransportError};
use latchkey::client::ClientError;
use latchkey_sim::bluez::Faults;

use crate::fixture::{World, bus, user};

fn bluetooth_error(result: Result<(), ClientError>) -> TransportError {
    match result {
        Err(ClientError::Bluetooth(error)) => error,
        other => panic!("expected a Bluetooth error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_connects_and_writes_fail_cleanly_and_the_retry_opens() {
    let Some(_bus) = bus().await else { return };
    let world = World::start().await;
    let (phone, grace) = world.phone("grace@example.com").await;
    let door = &world.doors[0];

    world.bluez().set_faults(Faults { fail_connects: 1, ..Faults::default() });
    assert_eq!(bluetooth_error(phone.unlock(door).await), TransportError::ConnectionLost);
    phone.unlock(door).await.expect("the retry opens");

    world.bluez().set_faults(Faults { fail_writes: 1, ..Faults::default() });
    assert_eq!(bluetooth_error(phone.unlock(door).await), TransportError::ConnectionLost);
    phone.unlock(door).await.expect("the retry opens");

    phone.sync(door).await.expect("sync");
    assert_eq!(world.ble_grants(&phone, 0, &grace).await, 2, "two unlocks opened, each logged once");
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_dropped_mid_message_fails_the_unlock_and_the_retry_opens() {
    let Some(_bus) = bus().await else { return };
    let world = World::start().await;
    let (phone, grace) = world.phone("grace@example.com").await;
    let door = &world.doors[0];

    // Hello (1 packet) and the first half of the full request (271 bytes, 2 packets at MTU 185): the
    // second half is lost with the link.
    world.bluez().set_faults(Faults { disconnect_after_packets: Some(2), ..Faults::default() });
    assert_eq!(bluetooth_error(phone.unlock(door).await), TransportError::ConnectionLost);
    assert_eq!(world.grants_on_lock(0), 0, "half a request opens nothing");
    world.bluez().set_faults(Faults::default());
    phone.unlock(door).await.expect("the retry opens");
    assert!(world.bluez().stats().dropped_links >= 1);

    phone.sync(door).await.expect("sync");
    assert_eq!(world.ble_grants(&phone, 0, &grace).await, 1);
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_cut_anywhere_resumes_and_applies_each_delta_once() {
    let Some(_bus) = bus().await else { return };
    let world = World::start().await;
    let (phone, grace) = world.phone("grace@example.com").await;
    let door = &world.doors[1];
    phone.unlock(door).await.expect("an unlock to put an entry in the log");
    // Work for the sync: grants and revocations, one delta each.
    for n in 0..4 {
        let email = format!("guest{n}@example.com");
        let view = world
            .acme
            .create_user_v2(&user(&email, &world.doors[1..], latchkey::model::PasscodeType::Permanent))
            .await
            .expect("grant");
        if n % 2 == 1 {
            world.acme.revoke_access(&view.user_uuid, door).await.expect("revoke");
        }
    }
    // Cut the link at every packet count until a sync gets through.
    let mut cuts = 0;
    for limit in 1..40 {
        world.bluez().set_faults(Faults { disconnect_after_packets: Some(limit), ..Faults::default() });
        match phone.sync(door).await {
            Ok(summary) => {
                assert_eq!(summary.deltas_refused, 0, "{summary:?}");
                break;
            }
            Err(ClientError::Bluetooth(TransportError::ConnectionLost)) => cuts += 1,
            Err(other) => panic!("a cut link must read as a lost connection, got {other:?}"),
        }
    }
    assert!(cuts >= 3, "the sync was cut several times ({cuts})");
    world.bluez().set_faults(Faults::default());
    let summary = phone.sync(door).await.expect("a clean sync");
    // Re-sent deltas are answered AlreadyApplied, never applied twice (a new one may acknowledge the logs).
    assert_eq!(summary.deltas_refused, 0, "{summary:?}");
    assert_eq!(summary.log_uploads_pending, 0);
    let lock_seq = world.sim.state().locks.with_lock(door, |lock| lock.last_applied_seq()).expect("lock");
    assert_eq!(summary.last_applied_seq, lock_seq);
    assert_eq!(world.ble_grants(&phone, 1, &grace).await, 1, "the unlock is logged once");
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_services_silent_locks_and_a_powered_off_adapter_say_what_happened() {
    let Some(_bus) = bus().await else { return };
    let world = World::start().await;
    world
        .acme
        .create_user_v2(&user("grace@example.com", &world.doors, latchkey::model::PasscodeType::Permanent))
        .await
        .expect("user");
    let timeouts = Timeouts { connect: Duration::from_secs(3), ..Timeouts::default() };
    let phone = world.sign_in_with("grace@example.com", BtleplugTransport::new(), timeouts).await;
    phone.fetch_locks().await.expect("locks");
    let door = &world.doors[0];

    // Services that resolve slowly but in time: the unlock waits for them.
    world
        .bluez()
        .set_faults(Faults { service_resolution_delay: Duration::from_millis(800), ..Faults::default() });
    phone.unlock(door).await.expect("slow services, in time");
    // Too slow: the step is named.
    world
        .bluez()
        .set_faults(Faults { service_resolution_delay: Duration::from_secs(5), ..Faults::default() });
    assert_eq!(
        bluetooth_error(phone.unlock(door).await),
        TransportError::Timeout { what: "service discovery" }
    );
    world.bluez().set_faults(Faults::default());
    phone.unlock(door).await.expect("the retry opens");

    // A lock that stops advertising is not in range; once it advertises again it opens.
    world.bluez().set_advertising(world.lock_id(0), false).await;
    assert_eq!(bluetooth_error(phone.unlock(door).await), TransportError::NotInRange);
    world.bluez().set_advertising(world.lock_id(0), true).await;
    phone.unlock(door).await.expect("advertising again");

    // Bluetooth switched off.
    world.bluez().set_powered(false).await;
    assert_eq!(bluetooth_error(phone.unlock(door).await), TransportError::AdapterOff);
    world.bluez().set_powered(true).await;
    phone.unlock(door).await.expect("switched on again");
    world.stop().await;
}
