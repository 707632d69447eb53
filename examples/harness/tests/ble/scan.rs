//! Scanning: the locks are heard with their id, battery and RSSI, loudest first; a silent lock is not.

use latchkey::ble::Transport;
use latchkey::ble::btleplug::BtleplugTransport;
use std::time::Duration;

use crate::fixture::{World, bus};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scan_hears_every_lock_with_its_battery_loudest_first() {
    let Some(_bus) = bus().await else { return };
    let world = World::start().await;
    world.bluez().set_rssi(world.lock_id(0), -80).await;
    world.bluez().set_rssi(world.lock_id(1), -45).await;
    world.sim.state().locks.with_lock(&world.doors[1], |lock| lock.set_battery_percent(42)).expect("lock");
    let transport = BtleplugTransport::new();

    let heard = transport.scan_locks(Duration::from_secs(2)).await.expect("scan");
    let ids: Vec<[u8; 16]> = heard.iter().map(|lock| lock.lock_id).collect();
    assert_eq!(ids, vec![world.lock_id(1), world.lock_id(0)], "both locks, loudest first: {heard:?}");
    assert_eq!(heard[0].rssi, -45);
    assert_eq!(heard[0].battery_percent, Some(42));
    assert_eq!(heard[1].rssi, -80);

    // The RSSI changes: the next scan hears the new order.
    world.bluez().set_rssi(world.lock_id(0), -40).await;
    let heard = transport.scan(Duration::from_secs(2)).await.expect("scan");
    assert_eq!(heard.first().map(|a| a.lock_id), Some(world.lock_id(0)), "{heard:?}");
    assert_eq!(heard.first().map(|a| a.rssi), Some(-40));

    // A lock that stops advertising is no longer heard.
    world.bluez().set_advertising(world.lock_id(1), false).await;
    let heard = transport.scan(Duration::from_secs(2)).await.expect("scan");
    assert_eq!(heard.iter().map(|a| a.lock_id).collect::<Vec<_>>(), vec![world.lock_id(0)]);
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_learns_the_mtu_from_bluez_and_hears_the_hello_first() {
    let Some(_bus) = bus().await else { return };
    let world = World::start().await;
    let transport = BtleplugTransport::new();
    let mut link = transport.connect(world.lock_id(0), Duration::from_secs(5)).await.expect("connect");
    assert_eq!(link.mtu(), 185, "the MTU property of the characteristic");
    link.subscribe().await.expect("subscribe");
    let hello = link.receive(Duration::from_secs(2)).await.expect("the lock speaks first");
    assert_eq!(hello.len(), 3 + 39, "the Hello in one framed packet");
    link.disconnect().await;
    let stats = link.stats();
    assert_eq!((stats.packets_received, stats.packets_sent), (1, 0));
    // A second connection reuses the discovered services and works the same.
    let mut link = transport.connect(world.lock_id(0), Duration::from_secs(5)).await.expect("connect again");
    link.subscribe().await.expect("subscribe");
    assert_eq!(link.receive(Duration::from_secs(2)).await.expect("hello").len(), 42);
    link.disconnect().await;
    world.stop().await;
}
