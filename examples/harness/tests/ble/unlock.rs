//! Unlock over btleplug: the phone opens both doors, each unlock reaches the backend's access log once.

use latchkey::client::UnlockEvent;

use crate::fixture::{World, bus};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_unlocks_over_btleplug_and_the_log_reaches_the_backend() {
    let Some(_bus) = bus().await else { return };
    let world = World::start().await;
    let (phone, grace) = world.phone("grace@example.com").await;
    let mut events = phone.unlock_events();

    phone.unlock(&world.doors[0]).await.expect("the lobby opens over btleplug");
    assert_eq!(events.recv().await.expect("event"), UnlockEvent::Started { lock_id: world.doors[0].clone() });
    assert_eq!(events.recv().await.expect("event"), UnlockEvent::Success { lock_id: world.doors[0].clone() });
    // A second visit (the resume fast path, a ticket from the first) and the other door.
    phone.unlock(&world.doors[0]).await.expect("the lobby opens again");
    phone.unlock(&world.doors[1]).await.expect("the gym opens");

    let stats = world.bluez().stats();
    assert!(stats.connects >= 3, "each unlock connects: {stats:?}");
    assert!(stats.writes >= 3 && stats.notifications >= 6, "{stats:?}");
    // The passive sync after each unlock carried the lock's log up.
    phone.sync(&world.doors[0]).await.expect("sync");
    phone.sync(&world.doors[1]).await.expect("sync");
    assert_eq!(world.ble_grants(&phone, 0, &grace).await, 2, "two lobby unlocks logged once each");
    assert_eq!(world.ble_grants(&phone, 1, &grace).await, 1);
    world.stop().await;
}
