//! Scanning: the locks are heard with their id, battery and RSSI, loudest first; a silent lock is not.

use latchkey::ble::Transport;
use latchkey::ble::btleplug::BtleplugTransport;
use std::time::Duration;

use crate::fixture::{World, bus};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scan_hears_every_lock_with_its_battery_loudest_first() {
    let Some(_bus) = bus().await else { return };
    let world = World::start().await;
    world.bluez.set_rssi(world.lock_id(0), -80).await;
    world.bluez.set_rssi(world.lock_id(1), -45).await;
    world.sim.state().locks.with_lock(&world.doors[1], |lock| lock.set_battery_percent(42)).expect("lock");
    let transport = BtleplugTransport::new();

    let heard = transport.scan_locks(Duration::from_secs(2)).await.expect("scan");
    let ids: Vec<[u8; 16]> = heard.iter().map(|lock| lock.lock_id).collect();
    assert_eq!(ids, vec![world.lock_id(1), world.lock_id(0)], "both locks, loudest first: {heard:?}");
    assert_eq!(heard[0].rssi, -45);
    assert_eq!(heard[0].battery_percent, Some(42));
    assert_eq!(heard[1].rssi, -80);

    // The RSSI changes: the next scan hears the new order.
    world.bluez.set_rssi(world.lock_id(0), -40).await;
    let heard = transport.scan(Duration::from_secs(2)).await.expect("scan");
    assert_eq!(heard.first().map(|a| a.lock_id), Some(world.lock_id(0)), "{heard:?}");
    assert_eq!(heard.first().map(|a| a.rssi), Some(-40));

    // A lock that stops advertising is no longer heard.
    world.bluez.set_advertising(world.lock_id(1), false).await;
    let heard = transport.scan(Duration::from_secs(2)).await.expect("scan");
    assert_eq!(heard.iter().map(|a| a.lock_id).collect::<Vec<_>>(), vec![world.lock_id(0)]);
    world.stop().await;
}
