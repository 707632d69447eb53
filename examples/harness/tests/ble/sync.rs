//! Sync over btleplug: a revocation travels to an offline lock on a phone, the lock's log comes back.

use latchkey::ble::DenyReason;
use latchkey::client::ClientError;

use crate::fixture::{World, bus};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_carries_a_revocation_down_and_the_log_up() {
    let Some(_bus) = bus().await else { return };
    let world = World::start().await;
    let (grace, _) = world.phone("grace@example.com").await;
    let (gil, gil_uuid) = world.phone("gil@example.com").await;
    gil.unlock(&world.doors[1]).await.expect("Gil opens the gym");

    world.acme.revoke_access(&gil_uuid, &world.doors[1]).await.expect("revoke");
    // The offline lock has not heard: Gil's cached credential still opens it.
    gil.unlock(&world.doors[1]).await.expect("an offline lock keeps its list until a phone syncs");

    let summary = grace.sync(&world.doors[1]).await.expect("Grace's phone syncs the gym over btleplug");
    assert!(summary.deltas_applied >= 1, "the revocation reached the lock: {summary:?}");
    assert_eq!(summary.log_uploads_pending, 0, "the lock's log reached the backend: {summary:?}");
    let lock_seq =
        world.sim.state().locks.with_lock(&world.doors[1], |lock| lock.last_applied_seq()).expect("lock");
    assert_eq!(summary.last_applied_seq, lock_seq);

    match gil.unlock(&world.doors[1]).await {
        Err(ClientError::Denied(DenyReason::Revoked)) => {}
        other => panic!("the revoked user must be refused, got {other:?}"),
    }
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_impostor_over_bluez_cannot_make_a_phone_drop_a_revocation() {
    let Some(_bus) = bus().await else { return };
    let world = World::start().await;
    let (grace, _) = world.phone("grace@example.com").await;
    let (gil, gil_uuid) = world.phone("gil@example.com").await;
    gil.unlock(&world.doors[1]).await.expect("Gil opens the gym");
    world.acme.revoke_access(&gil_uuid, &world.doors[1]).await.expect("revoke");
    grace.fetch_locks().await.expect("Grace's phone caches the revocation");

    // An impostor answers for the gym's id on the fake BlueZ: it claims every delta applied (seq 2^63).
    let registry = world.sim.state().locks.clone();
    let gym = latchkey_sim::backend::lockside::lock_id(&world.doors[1]).expect("lock id");
    registry.impersonate(gym, true);
    let impostor_sync = grace.sync(&world.doors[1]).await;
    registry.impersonate(gym, false);

    // The real lock still gets the revocation at the next sync, and its log reaches the backend.
    let summary = grace.sync(&world.doors[1]).await.expect("Grace's phone syncs the real gym lock");
    assert!(summary.deltas_applied >= 1, "the revocation reached the lock: {summary:?}");
    assert_eq!(summary.log_uploads_pending, 0, "{summary:?}");
    match gil.unlock(&world.doors[1]).await {
        Err(ClientError::Denied(DenyReason::Revoked)) => {}
        other => panic!("the revoked user must be refused, got {other:?}"),
    }
    match impostor_sync {
        Err(ClientError::Lock(what)) => assert!(what.contains("prove it holds the lock's key"), "{what}"),
        other => panic!("the impostor's answer must be refused, got {other:?}"),
    }
    world.stop().await;
}
