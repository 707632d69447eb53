//! The mobile facade (`latchkey::client::DoorClient`) against the in-process simulator over the in-memory
//! link: cache first, offline unlock with an expired session, unlock events and one-at-a-time, passive and
//! explicit syncs carrying revocations to offline locks, access logs, guests and proximity unlock.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use async_trait::async_trait;
use chrono::Duration;
use latchkey::ble::{Advertisement, DenyReason, Link, SoftwareSigner, Timeouts, Transport, TransportError};
use latchkey::client::{ClientError, DoorClient, DoorClientConfig, ProximitySettings, UnlockEvent};
use latchkey::model::{
    AccessMethod, AccessResult, ActivateDoorRequest, DeviceType, DoorView, InviteGuestRequest, PasscodeType,
};
use latchkey_protocol::sync::Delta;
use latchkey_sim::backend::lockside;
use latchkey_sim::link::{Faults, MemoryTransport};
use tokio::sync::broadcast;

use crate::support::{World, permanent};

/// A world, its link, and a scratch directory for phone stores.
struct Rig {
    w: World,
    transport: MemoryTransport,
    dir: Scratch,
}

impl Rig {
    async fn start() -> Rig {
        let w = World::start().await;
        let transport = MemoryTransport::new(w.sim.state().locks.clone());
        let dir = std::env::temp_dir().join(format!("latchkey-door-client-{}", uuid::Uuid::new_v4()));
        Rig { w, transport, dir: Scratch(dir) }
    }

    async fn activate(&self, door: &DoorView, serial: &str) {
        self.w
            .manager
            .activate_door(
                &door.uuid,
                &ActivateDoorRequest { serial_number: serial.into(), device_type: DeviceType::M },
            )
            .await
            .expect("activate");
    }

    /// Partner A invites `email` to `doors` (PERMANENT); returns the user's uuid. The backend's background
    /// push runs before it returns, so each invite issues its own delta (pushes coalesce changes that
    /// arrive faster than they run).
    async fn invite(&self, email: &str, doors: &[&DoorView], shareable: bool) -> String {
        let mut request = permanent(email, doors, self.w.now());
        request.shareable = shareable;
        let user = self.w.a.create_user_v2(&request).await.expect("invite").user_uuid;
        self.w.sim.state().locks.push_scheduled().expect("push");
        user
    }

    fn store(&self, name: &str) -> PathBuf {
        self.dir.0.join(format!("{name}.sqlite"))
    }

    fn config(&self, store: &str, transport: Arc<dyn Transport>) -> DoorClientConfig {
        DoorClientConfig {
            api: self.w.config(),
            client_id: self.w.p.a.client_id.clone(),
            store_path: self.store(store),
            transport,
            signer: Arc::new(SoftwareSigner::from_secret_bytes(key_for(store)).expect("key")),
            timeouts: Timeouts::default(),
            device_name: format!("{store}'s phone"),
        }
    }

    /// Signs `email` in and sets up a phone whose store is named `store`.
    async fn phone(&self, email: &str, store: &str) -> DoorClient {
        self.phone_over(email, store, Arc::new(self.transport.clone())).await
    }

    async fn phone_over(&self, email: &str, store: &str, transport: Arc<dyn Transport>) -> DoorClient {
        let (_, session) = self.w.sign_in(email).await;
        DoorClient::setup(self.config(store, transport), session).await.expect("setup")
    }

    fn lock_id(door: &DoorView) -> [u8; 16] {
        lockside::lock_id(&door.uuid).expect("uuid")
    }

    fn seq(&self, door: &DoorView) -> u64 {
        self.w.sim.state().locks.with_lock(&door.uuid, |lock| lock.last_applied_seq()).expect("lock")
    }
}

/// A scratch directory, removed on drop.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A stable device key per phone name.
fn key_for(name: &str) -> [u8; 32] {
    let mut key = [0x11u8; 32];
    for (slot, byte) in key.iter_mut().zip(name.bytes()) {
        *slot ^= byte;
    }
    key
}

/// A transport that waits before connecting: an unlock in flight for a while.
struct Slow(MemoryTransport, StdDuration);

#[async_trait]
impl Transport for Slow {
    async fn scan(&self, timeout: StdDuration) -> Result<Vec<Advertisement>, TransportError> {
        self.0.scan(timeout).await
    }

    async fn connect(
        &self,
        lock_id: [u8; 16],
        timeout: StdDuration,
    ) -> Result<Box<dyn Link>, TransportError> {
        tokio::time::sleep(self.1).await;
        self.0.connect(lock_id, timeout).await
    }
}

async fn next_event(events: &mut broadcast::Receiver<UnlockEvent>) -> UnlockEvent {
    tokio::time::timeout(StdDuration::from_secs(10), events.recv())
        .await
        .expect("an event in time")
        .expect("the channel is open")
}

fn names(locks: &[latchkey::client::Lock]) -> Vec<String> {
    locks.iter().map(|lock| lock.name.clone()).collect()
}

#[tokio::test]
async fn another_user_on_an_uncleared_store_gets_the_phone_registered_and_their_own_locks() {
    let rig = Rig::start().await;
    let doors = &rig.w.p.doors;
    rig.invite("first@example.com", &[&doors.lobby, &doors.unit_4b], false).await;
    rig.invite("second@example.com", &[&doors.lobby], false).await;
    let first = rig.phone("first@example.com", "shared").await;
    assert_eq!(names(&first.fetch_locks().await.expect("fetch")), vec!["Lobby", "Unit 4B"]);
    let first_device = first.device_uuid();
    drop(first);

    // The app signs the second user in on the same store without `clear()`: the cached registration is
    // the first user's device, which the backend does not know for this user.
    let second = rig.phone("second@example.com", "shared").await;
    assert_eq!(second.device_uuid(), first_device, "set up offline-first from the cached registration");
    let fetched = second.fetch_locks().await.expect("fetch registers the device for this user");
    assert_eq!(names(&fetched), vec!["Lobby"]);
    assert!(
        fetched.iter().all(|lock| lock.has_credential),
        "credentials for this user's device: {fetched:?}"
    );
    assert_ne!(second.device_uuid(), first_device, "registered again, for the second user");
    assert_eq!(names(&second.locks().expect("cache")), vec!["Lobby"], "the first user's locks are gone");
}

#[tokio::test]
async fn locks_come_from_the_cache_first_then_fresh_and_stay_when_the_backend_is_gone() {
    let rig = Rig::start().await;
    let doors = &rig.w.p.doors;
    let user = rig.invite("cache@example.com", &[&doors.lobby, &doors.unit_4b], false).await;
    let phone = rig.phone("cache@example.com", "cache").await;
    assert!(phone.locks().expect("cache").is_empty(), "nothing cached before the first fetch");

    let fetched = phone.fetch_locks().await.expect("fetch");
    assert_eq!(names(&fetched), vec!["Lobby", "Unit 4B"]);
    assert!(fetched.iter().all(|lock| lock.has_credential), "{fetched:?}");
    assert_eq!(names(&phone.locks().expect("cache")), vec!["Lobby", "Unit 4B"]);

    rig.w.a.revoke_access(&user, &doors.unit_4b.uuid).await.expect("revoke");
    let mut updates = phone.listen_for_locks().await.expect("listen");
    assert_eq!(names(&updates.recv().await.expect("the cache")), vec!["Lobby", "Unit 4B"]);
    assert_eq!(names(&updates.recv().await.expect("fresh")), vec!["Lobby"]);
    assert!(updates.recv().await.is_none(), "then the stream ends");

    // The simulator goes away: the cache is still served, a refresh fails, and nothing is cleared.
    let Rig { w, transport, dir } = rig;
    let World { sim, clock, p, .. } = w;
    sim.stop().await.expect("stop");
    assert_eq!(names(&phone.locks().expect("cache")), vec!["Lobby"]);
    let refused = phone.fetch_locks().await.expect_err("no backend");
    assert!(matches!(refused, ClientError::Network(_)), "{refused:?}");
    let mut updates = phone.listen_for_locks().await.expect("listen");
    assert_eq!(names(&updates.recv().await.expect("the cache")), vec!["Lobby"]);
    assert!(updates.recv().await.is_none(), "a failed refresh sends nothing more");
    assert_eq!(names(&phone.locks().expect("cache")), vec!["Lobby"]);
    drop((transport, clock, p, dir));
}

#[tokio::test]
async fn an_unlock_emits_started_then_success_and_a_second_one_meanwhile_is_refused() {
    let rig = Rig::start().await;
    let lobby = rig.w.p.doors.lobby.clone();
    rig.invite("events@example.com", &[&lobby], false).await;
    let slow = Arc::new(Slow(rig.transport.clone(), StdDuration::from_millis(300)));
    let phone = rig.phone_over("events@example.com", "events", slow).await;
    phone.fetch_locks().await.expect("fetch");
    let mut events = phone.unlock_events();

    let (first, second) = tokio::join!(phone.unlock(&lobby.uuid), async {
        tokio::time::sleep(StdDuration::from_millis(50)).await;
        phone.unlock(&lobby.uuid).await
    });
    first.expect("the first unlock opens the door");
    let refused = second.expect_err("one unlock at a time");
    assert!(matches!(refused, ClientError::UnlockInProgress), "{refused:?}");
    assert_eq!(next_event(&mut events).await, UnlockEvent::Started { lock_id: lobby.uuid.clone() });
    assert_eq!(next_event(&mut events).await, UnlockEvent::Success { lock_id: lobby.uuid.clone() });
    assert!(events.try_recv().is_err(), "the refused call emits nothing");

    // An unlock dropped by its caller ends with Canceled.
    let dropped = tokio::time::timeout(StdDuration::from_millis(100), phone.unlock(&lobby.uuid)).await;
    assert!(dropped.is_err(), "timed out while connecting");
    assert_eq!(next_event(&mut events).await, UnlockEvent::Started { lock_id: lobby.uuid.clone() });
    assert_eq!(next_event(&mut events).await, UnlockEvent::Canceled { lock_id: lobby.uuid.clone() });

    // Unknown locks fail clearly, with Started then Failed.
    let unknown = phone.unlock("no-such-door").await.expect_err("unknown");
    assert!(matches!(unknown, ClientError::LockNotFound { .. }), "{unknown:?}");
    assert_eq!(next_event(&mut events).await, UnlockEvent::Started { lock_id: "no-such-door".into() });
    assert!(matches!(next_event(&mut events).await, UnlockEvent::Failed { .. }));
}

#[tokio::test]
async fn an_offline_unlock_with_an_expired_session_and_no_backend_still_opens_the_door() {
    let rig = Rig::start().await;
    let lobby = rig.w.p.doors.lobby.clone();
    rig.invite("offline@example.com", &[&lobby], false).await;
    let phone = rig.phone("offline@example.com", "offline").await;
    phone.fetch_locks().await.expect("fetch");
    phone.unlock(&lobby.uuid).await.expect("online unlock");

    let Rig { w, transport, dir } = rig;
    let config_api = w.config();
    let client_id = w.p.a.client_id.clone();
    let (_, session) = w.sign_in("offline@example.com").await;
    let World { sim, clock, .. } = w;
    sim.stop().await.expect("stop");
    clock.advance(Duration::hours(25));
    let mut events = phone.unlock_events();
    phone.unlock(&lobby.uuid).await.expect("offline unlock with an expired token");
    assert_eq!(next_event(&mut events).await, UnlockEvent::Started { lock_id: lobby.uuid.clone() });
    assert_eq!(next_event(&mut events).await, UnlockEvent::Success { lock_id: lobby.uuid.clone() });

    // An app restarted offline: setup with the cached registration needs no network.
    drop(phone);
    let again = DoorClient::setup(
        DoorClientConfig {
            api: config_api,
            client_id,
            store_path: dir.0.join("offline.sqlite"),
            transport: Arc::new(transport.clone()),
            signer: Arc::new(SoftwareSigner::from_secret_bytes(key_for("offline")).expect("key")),
            timeouts: Timeouts::default(),
            device_name: "offline's phone".into(),
        },
        session,
    )
    .await
    .expect("offline setup");
    assert_eq!(names(&again.locks().expect("cache")), vec!["Lobby"]);
    again.unlock(&lobby.uuid).await.expect("unlock after an offline restart");
}

/// An offline lock (Tokyo rooftop) that a resident and a guest may open; the guest is then revoked by the
/// partner while the lock is offline, and still gets in until a phone carries the revocation.
async fn revoked_guest_on_an_offline_lock(rig: &Rig) -> (DoorClient, DoorClient, DoorView) {
    let rooftop = rig.w.p.doors.tokyo_rooftop.clone();
    rig.activate(&rooftop, "LK-ROOF-1").await;
    rig.invite("resident@example.com", &[&rooftop], false).await;
    let guest_uuid = rig.invite("guest@example.com", &[&rooftop], false).await;
    let resident = rig.phone("resident@example.com", "resident").await;
    let guest = rig.phone("guest@example.com", "guest").await;
    guest.fetch_locks().await.expect("guest fetch");
    guest.unlock(&rooftop.uuid).await.expect("the guest gets in");
    rig.w.a.revoke_access(&guest_uuid, &rooftop.uuid).await.expect("partner DELETE");
    guest.unlock(&rooftop.uuid).await.expect("the offline lock has not heard yet");
    (resident, guest, rooftop)
}

#[tokio::test]
async fn a_revocation_carried_by_a_phone_s_sync_denies_the_guest_at_an_offline_lock() {
    let rig = Rig::start().await;
    let (resident, guest, rooftop) = revoked_guest_on_an_offline_lock(&rig).await;
    let before = rig.seq(&rooftop);
    rig.invite("neighbour@example.com", &[&rooftop], false).await;
    let second = rig.phone("neighbour@example.com", "neighbour").await;
    second.fetch_locks().await.expect("the neighbour's phone caches the pending deltas");
    resident.fetch_locks().await.expect("resident fetch");
    let summary = resident.sync(&rooftop.uuid).await.expect("sync");
    assert!(summary.fetched, "{summary:?}");
    assert!(summary.deltas_applied >= 1, "{summary:?}");
    assert_eq!(summary.last_applied_seq, rig.seq(&rooftop));
    assert!(rig.seq(&rooftop) > before);
    assert_eq!(summary.log_uploads_pending, 0, "{summary:?}");

    let denied = guest.unlock(&rooftop.uuid).await.expect_err("revoked");
    assert!(matches!(denied, ClientError::Denied(DenyReason::Revoked)), "{denied:?}");

    // Another phone that cached the same deltas earlier carries them again: the lock applies none twice.
    let again = second.sync(&rooftop.uuid).await.expect("sync again");
    assert!(again.deltas_already_applied >= 1, "{again:?}");
    assert!(again.last_applied_seq >= summary.last_applied_seq, "{again:?}");
}

#[tokio::test]
async fn the_passive_sync_after_an_unlock_carries_a_cached_revocation() {
    let rig = Rig::start().await;
    let (resident, guest, rooftop) = revoked_guest_on_an_offline_lock(&rig).await;
    let before = rig.seq(&rooftop);
    // The fetch caches the rooftop's pending deltas; the resident then just opens the door.
    resident.fetch_locks().await.expect("resident fetch");
    resident.unlock(&rooftop.uuid).await.expect("resident unlock");
    assert!(rig.seq(&rooftop) > before, "the passive sync carried the delta");
    let denied = guest.unlock(&rooftop.uuid).await.expect_err("revoked");
    assert!(matches!(denied, ClientError::Denied(DenyReason::Revoked)), "{denied:?}");
}

#[tokio::test]
async fn access_logs_show_the_unlocks_after_they_reach_the_backend() {
    let rig = Rig::start().await;
    let rooftop = rig.w.p.doors.tokyo_rooftop.clone();
    rig.activate(&rooftop, "LK-ROOF-2").await;
    let user = rig.invite("logs@example.com", &[&rooftop], false).await;
    let phone = rig.phone("logs@example.com", "logs").await;
    phone.fetch_locks().await.expect("fetch");
    phone.unlock(&rooftop.uuid).await.expect("unlock");
    phone.unlock(&rooftop.uuid).await.expect("unlock");
    let summary = phone.sync(&rooftop.uuid).await.expect("sync");
    assert_eq!(summary.log_uploads_pending, 0, "{summary:?}");
    let entries = phone.access_logs(&rooftop.uuid).await.expect("access logs");
    let mine: Vec<_> = entries
        .iter()
        .filter(|entry| {
            entry.method == AccessMethod::Ble
                && entry.result == AccessResult::Granted
                && entry.user_uuid.as_deref() == Some(user.as_str())
        })
        .collect();
    assert_eq!(mine.len(), 2, "{entries:?}");
}

#[tokio::test]
async fn one_sync_carries_a_backlog_longer_than_one_session_holds() {
    let rig = Rig::start().await;
    let rooftop = rig.w.p.doors.tokyo_rooftop.clone();
    rig.activate(&rooftop, "LK-ROOF-5").await;
    rig.invite("first@example.com", &[&rooftop], false).await;
    let phone = rig.phone("first@example.com", "first").await;
    phone.fetch_locks().await.expect("fetch");
    phone.sync(&rooftop.uuid).await.expect("the lock is up to date");
    // 40 changes while nobody visits: more than two sessions' worth (16 deltas each).
    let backlog = 2 * latchkey_protocol::sync::MAX_DELTAS_PER_SYNC + 8;
    for n in 0..backlog {
        rig.invite(&format!("late{n}@example.com"), &[&rooftop], false).await;
    }
    let summary = phone.sync(&rooftop.uuid).await.expect("sync");
    // The backlog, plus the log acks the uploads between sessions earned (the backend serves deltas after
    // what the lock's uploaded log says it applied, so each session's log goes up before the next fetch).
    assert!((backlog..=backlog + 4).contains(&summary.deltas_applied), "{summary:?}");
    assert_eq!(summary.deltas_refused, 0, "{summary:?}");
    let latest = rig.phone(&format!("late{}@example.com", backlog - 1), "latest").await;
    latest.fetch_locks().await.expect("fetch");
    latest.unlock(&rooftop.uuid).await.expect("the newest access reached the lock in the same sync");
}

#[tokio::test]
async fn a_full_lock_log_reaches_the_backend_in_bounded_uploads() {
    let rig = Rig::start().await;
    let rooftop = rig.w.p.doors.tokyo_rooftop.clone();
    rig.activate(&rooftop, "LK-ROOF-3").await;
    let request = permanent("busy@example.com", &[&rooftop], rig.w.now());

    let view = rig.w.a.create_user_v2(&request).await.expect("invite");
    let code = view.accesses[0].doorcode.code.clone().expect("a PERMANENT doorcode");
    let phone = rig.phone("busy@example.com", "busy").await;
    phone.fetch_locks().await.expect("fetch");
    phone.sync(&rooftop.uuid).await.expect("the lock learns the code");
    // A busy offline door: its log fills up (512 entries, ten sealed batches, about 72 KB as hex).
    let locks = &rig.w.sim.state().locks;
    for _ in 0..latchkey_protocol::eventlog::LOG_CAPACITY {
        locks.with_lock(&rooftop.uuid, |lock| lock.enter_code(&code)).expect("lock");
    }
    let on_lock: Vec<u64> = locks
        .with_lock(&rooftop.uuid, |lock| lock.pending_log().iter().map(|e| e.seq).collect())
        .expect("lock");
    assert!(on_lock.len() >= 500, "the log is (nearly) full: {}", on_lock.len());
    let summary = phone.sync(&rooftop.uuid).await.expect("sync");
    assert_eq!(summary.log_uploads_pending, 0, "the whole backlog was uploaded: {summary:?}");
    let stored =
        rig.w.sim.state().db.read(|conn| lockside::stored_entries(conn, &rooftop.uuid)).expect("entries");
    let stored_seqs: std::collections::HashSet<u64> = stored.iter().map(|entry| entry.seq).collect();
    assert!(
        on_lock.iter().all(|seq| stored_seqs.contains(seq)),
        "every entry of the lock reached the backend"
    );
    let granted = stored
        .iter()
        .filter(|entry| entry.record.kind == latchkey_protocol::eventlog::EventKind::DOORCODE_GRANTED);
    assert!(granted.count() >= 500, "the typed codes are among them");
    let seqs: Vec<u64> = stored.iter().map(|entry| entry.seq).collect();
    assert!(seqs.windows(2).all(|pair| pair[1] == pair[0] + 1), "one unbroken chain");
}

/// Issue 17 item 4: between two real unlocks, 10,000 junk connections (each a garbage unlock request) and
/// wrong keypresses. Both unlocks reach the backend with the user who came in.
#[tokio::test]
async fn a_flood_of_junk_between_two_unlocks_keeps_both_in_the_log() {
    use latchkey_protocol::eventlog::EventKind;
    let rig = Rig::start().await;
    let rooftop = rig.w.p.doors.tokyo_rooftop.clone();
    rig.activate(&rooftop, "LK-ROOF-9").await;
    let first_user = rig.invite("first@example.com", &[&rooftop], false).await;
    let second_user = rig.invite("second@example.com", &[&rooftop], false).await;
    let first = rig.phone("first@example.com", "first").await;
    let second = rig.phone("second@example.com", "second").await;
    for phone in [&first, &second] {
        phone.fetch_locks().await.expect("fetch");
    }
    first.sync(&rooftop.uuid).await.expect("the lock knows both users");
    first.unlock(&rooftop.uuid).await.expect("the first real unlock");

    let locks = &rig.w.sim.state().locks;
    let lock = locks.by_door(&rooftop.uuid).expect("lock").expect("a virtual lock");
    let mut junk = vec![0x02u8];
    junk.extend((0..270u32).map(|i| (i * 31 % 251) as u8));
    let framed =
        latchkey_protocol::framing::Fragmenter::new(185).expect("mtu").fragment(&junk).expect("frames");
    for n in 0..10_000 {
        if n % 2 == 0 {
            // A junk connection: subscribe (or be refused), then a garbage request.
            let mut connection =
                latchkey_sim::locks::LockConnection::new(lock.clone(), 185).expect("connection");
            if connection.subscribe().is_ok() {
                for packet in &framed {
                    if connection.write(packet).is_err() {
                        break;
                    }
                }
            }
        } else {
            locks.with_lock(&rooftop.uuid, |lock| lock.enter_code("0000000")).expect("keypad");
        }
        rig.w.clock.advance(Duration::milliseconds(500));
    }
    rig.w.clock.advance(Duration::minutes(5));
    second.unlock(&rooftop.uuid).await.expect("the second real unlock, after the flood");

    let summary = first.sync(&rooftop.uuid).await.expect("sync");
    assert_eq!(summary.log_uploads_pending, 0, "{summary:?}");
    let stored =
        rig.w.sim.state().db.read(|conn| lockside::stored_entries(conn, &rooftop.uuid)).expect("entries");
    let granted_to: Vec<[u8; 16]> = stored
        .iter()
        .filter(|entry| entry.record.kind == EventKind::UNLOCK_GRANTED)
        .map(|entry| entry.record.subject)
        .collect();
    let ids = [lockside::lock_id(&first_user).expect("uuid"), lockside::lock_id(&second_user).expect("uuid")];
    assert_eq!(granted_to, ids, "both unlocks, in order, with who came in ({} entries stored)", stored.len());
    // Every junk attempt is accounted for: a few in full, the rest counted in summaries.
    let refusals: u64 = stored
        .iter()
        .map(|entry| match entry.record.kind {
            EventKind::REFUSALS_COALESCED => {
                u64::from(u32::from_be_bytes(entry.record.subject[..4].try_into().expect("four bytes")))
            }
            kind if kind.is_refusal() => 1,
            _ => 0,
        })
        .sum();
    assert_eq!(refusals, 10_000, "every junk attempt counted");
    assert!(stored.len() < 200, "the junk took {} entries", stored.len());
}

#[tokio::test]
async fn guests_are_invited_with_per_lock_results_listed_and_revoked() {
    let rig = Rig::start().await;
    let doors = &rig.w.p.doors;
    rig.invite("host@example.com", &[&doors.lobby], true).await;
    rig.invite("host@example.com", &[&doors.unit_4b], false).await;
    let host = rig.phone("host@example.com", "host").await;
    let response = host
        .invite_guests(&InviteGuestRequest {
            first_name: "Gus".into(),
            last_name: "Guest".into(),
            email: Some("gus@example.com".into()),
            phone: None,
            start_time: rig.w.now(),
            end_time: Some(rig.w.now() + Duration::days(2)),
            door_uuids: vec![doors.lobby.uuid.clone(), doors.unit_4b.uuid.clone()],
            passcode_type: PasscodeType::Permanent,
        })
        .await
        .expect("a partial success is Ok");
    let guest_uuid = response.guest_uuid.clone().expect("a guest");
    assert_eq!(response.results.len(), 2);
    assert!(response.results[0].granted, "{response:?}");
    let failures: Vec<_> = response.failures().collect();
    assert_eq!(failures.len(), 1, "{response:?}");
    assert_eq!(failures[0].door_uuid, doors.unit_4b.uuid);
    assert!(failures[0].message.as_deref().is_some_and(|m| !m.is_empty()), "{response:?}");

    let guests = host.guests().await.expect("guests");
    assert_eq!(guests.len(), 1);
    assert_eq!(guests[0].accesses.len(), 1);
    assert_eq!(guests[0].accesses[0].door_uuid, doors.lobby.uuid);

    host.revoke_guest_access(&guest_uuid, &doors.lobby.uuid).await.expect("revoke");
    let left: usize = host.guests().await.expect("guests").iter().map(|g| g.accesses.len()).sum();
    assert_eq!(left, 0);
}

#[tokio::test]
async fn proximity_unlock_opens_the_loudest_permitted_lock_and_stops_when_stopped() {
    let rig = Rig::start().await;
    let doors = rig.w.p.doors.clone();
    rig.activate(&doors.tokyo_rooftop, "LK-ROOF-3").await;
    rig.invite("near@example.com", &[&doors.lobby, &doors.unit_4b], false).await;
    // The loudest lock is one this user may not open; then the unit; the lobby is farther.
    rig.transport.set_rssi(Rig::lock_id(&doors.tokyo_rooftop), -40);
    rig.transport.set_rssi(Rig::lock_id(&doors.unit_4b), -55);
    rig.transport.set_rssi(Rig::lock_id(&doors.lobby), -70);
    let phone = rig.phone("near@example.com", "near").await;
    phone.fetch_locks().await.expect("fetch");
    let mut events = phone.unlock_events();
    phone
        .start_proximity_unlock_with(ProximitySettings {
            interval: StdDuration::from_millis(20),
            scan_timeout: StdDuration::from_millis(10),
            cooldown: StdDuration::from_secs(60),
            min_rssi: -75,
        })
        .expect("start");
    assert!(phone.proximity_unlock_running());
    assert_eq!(next_event(&mut events).await, UnlockEvent::Started { lock_id: doors.unit_4b.uuid.clone() });
    assert_eq!(next_event(&mut events).await, UnlockEvent::Success { lock_id: doors.unit_4b.uuid.clone() });
    phone.stop_proximity_unlock();
    assert!(!phone.proximity_unlock_running());
    // Running on, it would open the lobby next (the unit is cooling down); stopped, nothing happens.
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    assert!(events.try_recv().is_err(), "nothing after stop");
    // And a manual clear signs out.
    phone.clear().expect("clear");
    assert!(matches!(phone.locks(), Err(ClientError::NotSetUp)));
}

#[tokio::test]
async fn an_explicit_unlock_wins_over_a_proximity_unlock_in_flight() {
    let rig = Rig::start().await;
    let doors = rig.w.p.doors.clone();
    rig.invite("both@example.com", &[&doors.lobby, &doors.unit_4b], false).await;
    rig.transport.set_rssi(Rig::lock_id(&doors.unit_4b), -50);
    rig.transport.set_rssi(Rig::lock_id(&doors.lobby), -70);
    let phone = rig.phone("both@example.com", "both").await;
    phone.fetch_locks().await.expect("fetch");
    let mut events = phone.unlock_events();
    // The proximity attempt's link never delivers the lock's answers: it hangs until preempted.
    rig.transport.set_faults(Faults { disconnect_after_packets: None, drop_notifications: true });
    phone
        .start_proximity_unlock_with(ProximitySettings {
            interval: StdDuration::from_millis(20),
            scan_timeout: StdDuration::from_millis(10),
            cooldown: StdDuration::from_secs(60),
            min_rssi: -75,
        })
        .expect("start");
    assert_eq!(next_event(&mut events).await, UnlockEvent::Started { lock_id: doors.unit_4b.uuid.clone() });
    rig.transport.set_faults(Faults::default());

    phone.unlock(&doors.lobby.uuid).await.expect("the explicit unlock takes over");
    assert_eq!(next_event(&mut events).await, UnlockEvent::Canceled { lock_id: doors.unit_4b.uuid.clone() });
    assert_eq!(next_event(&mut events).await, UnlockEvent::Started { lock_id: doors.lobby.uuid.clone() });
    assert_eq!(next_event(&mut events).await, UnlockEvent::Success { lock_id: doors.lobby.uuid.clone() });
    phone.stop_proximity_unlock();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_concurrent_calls_from_many_threads_neither_deadlock_nor_fail() {
    let rig = Rig::start().await;
    let doors = &rig.w.p.doors;
    rig.invite("busy@example.com", &[&doors.lobby, &doors.unit_4b], true).await;
    let phone = Arc::new(rig.phone("busy@example.com", "busy").await);
    phone.fetch_locks().await.expect("fetch");
    let (lobby, unit) = (doors.lobby.uuid.clone(), doors.unit_4b.uuid.clone());
    let runtime = tokio::runtime::Handle::current();
    // 100 calls of every kind: 50 from tasks of the runtime, 50 from plain OS threads blocking on it.
    let call = move |phone: Arc<DoorClient>, n: usize, lobby: String, unit: String| async move {
        let door = if n.is_multiple_of(2) { lobby } else { unit };
        let outcome = match n % 6 {
            0 => phone.unlock(&door).await.map(|()| "unlock"),
            1 => phone.sync(&door).await.map(|_| "sync"),
            2 => phone.fetch_locks().await.map(|_| "fetch"),
            3 => phone.access_logs(&door).await.map(|_| "access logs"),
            4 => phone.guests().await.map(|_| "guests"),
            _ => phone.locks().map(|_| "locks"),
        };
        (n, outcome)
    };
    let mut tasks = Vec::new();
    for n in 0..50 {
        tasks.push(tokio::spawn(call(phone.clone(), n, lobby.clone(), unit.clone())));
    }
    let threads: Vec<_> = (50..100)
        .map(|n| {
            let (runtime, phone, lobby, unit) = (runtime.clone(), phone.clone(), lobby.clone(), unit.clone());
            std::thread::spawn(move || runtime.block_on(call(phone, n, lobby, unit)))
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(
            tokio::time::timeout(StdDuration::from_secs(60), task).await.expect("no deadlock").expect("task"),
        );
    }
    for thread in threads {
        outcomes
            .push(tokio::task::spawn_blocking(move || thread.join().expect("thread")).await.expect("join"));
    }
    let (mut succeeded, mut in_progress) = (0, 0);
    for (n, outcome) in outcomes {
        match outcome {
            Ok(_) => succeeded += 1,
            Err(ClientError::UnlockInProgress) => in_progress += 1,
            Err(error) => panic!("call {n} failed with an undocumented error: {error:?}"),
        }
    }
    assert_eq!(succeeded + in_progress, 100);
    assert!(succeeded >= 100 - 17, "only unlocks may be refused while another runs: {in_progress} refused");
    phone.unlock(&lobby).await.expect("the client still works afterwards");
}

#[tokio::test]
async fn a_lock_losing_power_anywhere_in_a_sync_keeps_its_old_or_its_new_state() {
    let rig = Rig::start().await;
    let rooftop = rig.w.p.doors.tokyo_rooftop.clone();
    rig.activate(&rooftop, "LK-ROOF-4").await;
    for n in 0..3 {
        rig.invite(&format!("tenant{n}@example.com"), &[&rooftop], false).await;
    }
    let phone = rig.phone("tenant0@example.com", "tenant0").await;
    phone.fetch_locks().await.expect("fetch");
    let state = rig.w.sim.state();
    let flash = |door: &str| {
        // The power comes back: the lock is what its flash holds.
        state.locks.reload_all();
        state.locks.with_lock(door, |lock| lock.sync_state().clone()).expect("lock")
    };
    let (old, key) = state
        .locks
        .with_lock(&rooftop.uuid, |lock| (lock.sync_state().clone(), *lock.backend_key()))
        .expect("lock");
    // Every state the lock may be in: the old one, and the one after each delta in order.
    let now = rig.w.now();
    let deltas = state
        .db
        .write(|tx| {
            lockside::pending_deltas(tx, &state.lock_keys, &rooftop.uuid, old.last_applied_seq(), now)
        })
        .expect("deltas");
    let mut states = vec![old];
    for bytes in &deltas {
        let mut next = states.last().expect("a state").clone();
        next.apply(&Delta::decode(bytes).expect("a delta"), &key).expect("applies");
        states.push(next);
    }
    assert!(states.len() >= 4, "three invites, three deltas at least: {}", deltas.len());

    // The power fails as the lock saves what the sync changed, the link cut after 1, 2, … packets.
    for cut in 1..=8u32 {
        rig.transport.set_faults(Faults { disconnect_after_packets: Some(cut), drop_notifications: false });
        state.locks.with_lock(&rooftop.uuid, |lock| lock.cut_power_at_next_save()).expect("lock");
        let _ = phone.sync(&rooftop.uuid).await;
        rig.transport.set_faults(Faults::default());
        let after = flash(&rooftop.uuid);
        assert!(states.contains(&after), "cut {cut}: seq {} is not a whole state", after.last_applied_seq());
        assert_eq!(&after, &states[0], "cut {cut}: nothing reached flash, so nothing was applied");
    }
    // The power holds: the phone carries every delta again and the lock ends in the newest state.
    let summary = phone.sync(&rooftop.uuid).await.expect("sync");
    assert_eq!(summary.deltas_refused, 0, "{summary:?}");
    assert_eq!(
        summary.deltas_applied as usize,
        deltas.len(),
        "none was taken as applied before: {summary:?}"
    );
    assert_eq!(&flash(&rooftop.uuid), states.last().expect("newest"), "{summary:?}");
    for n in 0..3 {
        let tenant = rig.phone(&format!("tenant{n}@example.com"), &format!("tenant{n}b")).await;
        tenant.fetch_locks().await.expect("fetch");
        tenant.unlock(&rooftop.uuid).await.expect("every tenant's access reached the lock");
    }
}

#[tokio::test]
async fn a_sync_cut_anywhere_and_restarted_loses_nothing_and_applies_nothing_twice() {
    let rig = Rig::start().await;
    let (_resident, guest, rooftop) = revoked_guest_on_an_offline_lock(&rig).await;
    let resident_uuid = rig.invite("resident@example.com", &[&rooftop], false).await;
    let phone = rig.phone("resident@example.com", "resident").await;
    phone.fetch_locks().await.expect("fetch");
    phone.unlock(&rooftop.uuid).await.expect("the resident's one unlock");
    drop(phone);
    // A phone that restarts (a fresh client over the same store file) before every attempt, and whose
    // link drops after 1, 2, … packets: each cut lands on another step of the sync.
    for cut in 1..=8u32 {
        let phone = rig.phone("resident@example.com", "resident").await;
        rig.transport.set_faults(Faults { disconnect_after_packets: Some(cut), drop_notifications: false });
        let _ = phone.sync(&rooftop.uuid).await;
        rig.transport.set_faults(Faults::default());
    }
    let phone = rig.phone("resident@example.com", "resident").await;
    let summary = phone.sync(&rooftop.uuid).await.expect("the sync after the cuts");
    assert_eq!(summary.log_uploads_pending, 0, "{summary:?}");
    assert_eq!(summary.deltas_refused, 0, "{summary:?}");
    let denied = guest.unlock(&rooftop.uuid).await.expect_err("revoked");
    assert!(matches!(denied, ClientError::Denied(DenyReason::Revoked)), "{denied:?}");

    // The resident's unlock was read from the lock and uploaded again and again: stored once.
    let entries = phone.access_logs(&rooftop.uuid).await.expect("access logs");
    let grants = entries
        .iter()
        .filter(|entry| entry.method == AccessMethod::Ble && entry.result == AccessResult::Granted)
        .filter(|entry| entry.user_uuid.as_deref() == Some(resident_uuid.as_str()))
        .count();
    assert_eq!(grants, 1, "{entries:?}");
}

#[tokio::test]
async fn an_impostor_advertising_the_lock_cannot_make_a_phone_drop_a_revocation() {
    let rig = Rig::start().await;
    let (resident, guest, rooftop) = revoked_guest_on_an_offline_lock(&rig).await;
    resident.fetch_locks().await.expect("the resident's phone caches the revocation");
    let before = rig.seq(&rooftop);

    // An impostor advertises the rooftop's id, swallows the sync and claims every delta applied (seq 2^63).
    let registry = rig.w.sim.state().locks.clone();
    registry.impersonate(Rig::lock_id(&rooftop), true);
    let impostor_sync = resident.sync(&rooftop.uuid).await;
    registry.impersonate(Rig::lock_id(&rooftop), false);
    assert_eq!(rig.seq(&rooftop), before, "the impostor never reached the lock");

    // The real lock still gets the revocation at the next sync, and its log reaches the backend.
    let summary = resident.sync(&rooftop.uuid).await.expect("the real lock syncs");
    assert!(summary.deltas_applied >= 1, "the revocation reached the real lock: {summary:?}");
    assert_eq!(summary.last_applied_seq, rig.seq(&rooftop));
    assert_eq!(summary.log_uploads_pending, 0, "{summary:?}");
    let denied = guest.unlock(&rooftop.uuid).await.expect_err("revoked");
    assert!(matches!(denied, ClientError::Denied(DenyReason::Revoked)), "{denied:?}");

    // The impostor's sync failed, saying why; nothing it claimed was believed.
    match impostor_sync {
        Err(ClientError::Lock(what)) => assert!(what.contains("prove it holds the lock's key"), "{what}"),
        other => panic!("the impostor's answer must be refused, got {other:?}"),
    }
}

#[tokio::test]
async fn a_log_upload_the_backend_refuses_is_quarantined_and_blocks_no_later_upload() {
    let rig = Rig::start().await;
    let (resident, _guest, rooftop) = revoked_guest_on_an_offline_lock(&rig).await;
    resident.fetch_locks().await.expect("resident fetch");
    // A bogus upload waits first in the resident's outbox (what an impostor could queue before the sync
    // channel): the backend can never open it.
    let store = latchkey::store::Store::open(&rig.store("resident")).expect("store");
    let mut hello = vec![1u8];
    hello.extend_from_slice(&Rig::lock_id(&rooftop));
    hello.extend_from_slice(&[0x55; 22]);
    store
        .record_sync(&rooftop.uuid, 0, 50, &[], &hello, &[(0, vec![0u8; 18])], rig.w.now())
        .expect("a bogus upload is queued");

    let stored = || {
        let state = rig.w.sim.state();
        state.db.read(|conn| lockside::stored_entries(conn, &rooftop.uuid)).expect("entries").len()
    };
    let before = stored();

    let summary = resident.sync(&rooftop.uuid).await.expect("sync");
    assert_eq!(summary.log_uploads_pending, 0, "the real log went up past the bogus one: {summary:?}");
    assert!(stored() > before, "the lock's entries of this sync reached the backend");
    assert_eq!(summary.log_uploads_quarantined, 1, "{summary:?}");
    let quarantined = resident.quarantined_log_uploads().expect("listed");
    assert_eq!(quarantined.len(), 1, "kept, not lost: {quarantined:?}");
    assert_eq!((quarantined[0].door_uuid.as_str(), quarantined[0].batch_count), (rooftop.uuid.as_str(), 1));
    assert!(quarantined[0].refusal.contains("does not open"), "{quarantined:?}");
    // A later sync does not send the quarantined upload again.
    let again = resident.sync(&rooftop.uuid).await.expect("sync again");
    assert_eq!((again.log_uploads_pending, again.log_uploads_quarantined), (0, 0), "{again:?}");
}

#[tokio::test]
async fn a_guests_unlock_reaches_the_partners_event_feed_with_the_locks_time_once_the_log_is_uploaded() {
    use latchkey::api::EventsQuery;
    use latchkey::model::{EntryEventData, EventType};

    let rig = Rig::start().await;
    let rooftop = rig.w.p.doors.tokyo_rooftop.clone();
    rig.activate(&rooftop, "LK-ROOF-EV").await;
    let user = rig.invite("entry@example.com", &[&rooftop], false).await;
    let phone = rig.phone("entry@example.com", "entry").await;
    phone.fetch_locks().await.expect("fetch");
    let query = EventsQuery { types: vec![EventType::EntryGranted], ..EventsQuery::default() };
    let unlocked_at = rig.w.now();
    phone.unlock(&rooftop.uuid).await.expect("unlock");
    rig.w.clock.advance(Duration::minutes(10));
    phone.sync(&rooftop.uuid).await.expect("sync uploads the log");

    let entries = rig.w.a.list_events(&query).await.expect("feed").events;
    assert_eq!(entries.len(), 1, "{entries:?}");
    let data: EntryEventData = serde_json::from_value(entries[0].data.clone()).expect("entry data");
    assert_eq!(data.user.as_ref().map(|u| u.user_uuid.as_str()), Some(user.as_str()));
    assert_eq!(data.method, AccessMethod::Ble);
    assert_eq!(entries[0].door_uuid.as_deref(), Some(rooftop.uuid.as_str()));
    assert_eq!(entries[0].occurred_at, data.lock_time, "occurredAt is the lock's time");
    assert!((data.lock_time - unlocked_at).num_seconds().abs() <= 5, "{} vs {unlocked_at}", data.lock_time);
    // The phone's passive sync after the unlock uploaded the log at once: recorded then, by the backend's clock.
    assert!(entries[0].recorded_at >= unlocked_at && entries[0].recorded_at <= rig.w.now());
    let synced = rig
        .w
        .a
        .list_events(&EventsQuery { types: vec![EventType::LockSynced], ..EventsQuery::default() })
        .await
        .expect("feed")
        .events;
    assert!(!synced.is_empty(), "the lock logged the sync it applied");
    // Partner B has no access to the rooftop: nothing.
    assert!(rig.w.b.list_events(&EventsQuery::default()).await.expect("B").events.is_empty());
}
