//! Virtual locks through the in-memory link: activation provisions a lock, the backend's credentials
//! unlock it in one round trip, deltas carry revocations and PERMANENT codes to offline locks (and straight
//! to connected ones), DAILY codes work on an offline keypad on the door's local day, the log reaches the
//! backend exactly once and is acknowledged, and power loss and disconnects leave a consistent lock.
//!
//! The phone side is the protocol's own `unlock::PhoneUnlock` and `sync` messages with framing,
//! driven by the small helpers below (the core flows are tested on their own).

use std::time::Duration as StdDuration;

use chrono::Duration;
use latchkey::ble::{Link, LinkStats, Transport, TransportError};
use latchkey::model::{ActivateDoorRequest, DeviceType, DoorView, PasscodeType};
use latchkey_protocol::ProtocolError;
use latchkey_protocol::credential::Credential;
use latchkey_protocol::crypto::{DhSecret, PublicKey, SigningKey};
use latchkey_protocol::eventlog::EventKind;
use latchkey_protocol::framing::{Fragmenter, Reassembler};
use latchkey_protocol::keypad::{CodeKind, DenyReason, Verdict};
use latchkey_protocol::sync::{DeltaOutcome, SyncReport, log_request, refusal, sync_messages};
use latchkey_protocol::unlock::{
    AbortReason, CHALLENGE_VALIDITY_MS, Command, Hello, Path, PhoneOutcome, PhoneStep, PhoneTicket,
    PhoneUnlock, PhoneUnlockParams, ResultCode, TimeStatus,
};
use latchkey_sim::backend::error::AppError;
use latchkey_sim::backend::lockside::{self, IngestReport, keys::random_signing_key, logs};
use latchkey_sim::backend::state::{AppState, random_bytes};
use latchkey_sim::link::{Faults, LinkModel, MemoryTransport};

use crate::support::{Contact, World, daily, permanent, phone_channel, phone_ephemeral};

const WAIT: StdDuration = StdDuration::from_secs(1);

struct Rig {
    w: World,
    state: AppState,
    transport: MemoryTransport,
}

impl Rig {
    async fn start() -> Rig {
        let w = World::start().await;
        let state = w.sim.state().clone();
        let transport = MemoryTransport::new(state.locks.clone());
        Rig { w, state, transport }
    }

    /// Activates `door` (a door of the fixture without a lock).
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

    /// Partner A invites `email` to `doors` (PERMANENT, NON_RESIDENT); returns the user uuid and the view.
    /// Invites, then lets the backend's background push run, so each invite issues its own delta (pushes
    /// coalesce changes that arrive faster than they run).
    async fn invite(&self, email: &str, doors: &[&DoorView]) -> latchkey::model::UserView {
        let user = self.w.a.create_user_v2(&permanent(email, doors, self.w.now())).await.expect("invite");
        self.state.locks.push_scheduled().expect("push");
        user
    }

    fn credential(&self, user: &str, door: &DoorView, device: &SigningKey) -> Result<Credential, AppError> {
        let now = self.w.now();
        let bytes = self.state.db.read(|conn| {
            lockside::issue_credential(
                conn,
                &self.state.lock_keys,
                user,
                &door.uuid,
                device.public_key().to_bytes(),
                now,
            )
        })?;
        Ok(Credential::decode(&bytes).expect("a credential decodes"))
    }

    fn lock_public(&self, door: &DoorView) -> PublicKey {
        let info = self
            .state
            .db
            .read(|conn| lockside::lock_info(conn, &door.uuid))
            .expect("lock info")
            .expect("provisioned");
        PublicKey::from_bytes(&info.lock_public_key).expect("lock key")
    }

    fn lock_id(door: &DoorView) -> [u8; 16] {
        lockside::lock_id(&door.uuid).expect("uuid")
    }

    /// One unlock over the link; the outcome and what the link carried.
    async fn unlock(
        &self,
        door: &DoorView,
        credential: Credential,
        device: &SigningKey,
    ) -> Result<(PhoneOutcome, LinkStats), String> {
        self.unlock_with(door, credential, device, None).await
    }

    async fn unlock_with(
        &self,
        door: &DoorView,
        credential: Credential,
        device: &SigningKey,
        ticket: Option<PhoneTicket>,
    ) -> Result<(PhoneOutcome, LinkStats), String> {
        self.unlock_stalled(door, credential, device, ticket, Duration::zero()).await
    }

    /// An unlock whose request leaves `stall` after the lock's Hello (the world's clock moves meanwhile).
    async fn unlock_stalled(
        &self,
        door: &DoorView,
        credential: Credential,
        device: &SigningKey,
        ticket: Option<PhoneTicket>,
        stall: Duration,
    ) -> Result<(PhoneOutcome, LinkStats), String> {
        let ephemeral = loop {
            if let Ok(key) = DhSecret::from_bytes(&random_bytes::<32>()) {
                break key;
            }
        };
        let mut phone = PhoneUnlock::new(PhoneUnlockParams {
            lock_id: Self::lock_id(door),
            lock_static_pub: self.lock_public(door),
            credential,
            command: Command::Unlock,
            ephemeral,
            ticket,
        });
        let mut link = self.transport.connect(Self::lock_id(door), WAIT).await.map_err(|e| e.to_string())?;
        let mut out = Fragmenter::new(link.mtu()).expect("mtu");
        let mut inbound = Reassembler::new(link.mtu()).expect("mtu");
        link.subscribe().await.map_err(|e| e.to_string())?;
        let mut message = receive(link.as_mut(), &mut inbound).await?;
        self.w.clock.advance(stall);
        loop {
            match phone.handle(&message, device).map_err(|e| e.to_string())? {
                PhoneStep::Send(request) => {
                    for packet in out.fragment(&request).expect("fragment") {
                        link.write(&packet).await.map_err(|e| e.to_string())?;
                    }
                    message = receive(link.as_mut(), &mut inbound).await?;
                }
                PhoneStep::Done(outcome) => {
                    let stats = link.stats();
                    link.disconnect().await;
                    return Ok((outcome, stats));
                }
            }
        }
    }

    /// A phone sync: carries `deltas` (or every delta the backend issued, if `None`) and a fresh time token
    /// to the lock, then fetches every log batch and uploads them to the backend.
    async fn sync(&self, door: &DoorView, deltas: Option<Vec<Vec<u8>>>) -> Synced {
        let now = self.w.now();
        let deltas = match deltas {
            Some(deltas) => deltas,
            None => self
                .state
                .db
                .write(|tx| lockside::pending_deltas(tx, &self.state.lock_keys, &door.uuid, 0, now))
                .expect("deltas"),
        };
        let token = lockside::time_token(&self.state.lock_keys, &door.uuid, now).expect("token");
        let token: [u8; 84] = token.try_into().expect("84 bytes");
        let mut link = self.transport.connect(Self::lock_id(door), WAIT).await.expect("connect");
        let mut out = Fragmenter::new(link.mtu()).expect("mtu");
        let mut inbound = Reassembler::new(link.mtu()).expect("mtu");
        link.subscribe().await.expect("subscribe");
        let hello = receive(link.as_mut(), &mut inbound).await.expect("hello");
        let channel = phone_channel(self.w.sim.state(), door, &hello);
        for message in
            sync_messages(&deltas, Some(&token), &phone_ephemeral().public_key()).expect("sync messages")
        {
            for packet in out.fragment(&message).expect("fragment") {
                link.write(&packet).await.expect("write");
            }
        }
        let report = channel
            .open_report(&receive(link.as_mut(), &mut inbound).await.expect("report"))
            .expect("report");
        let mut batches = vec![(0u32, report.sealed_logs.clone())];
        let mut more = report.more_logs;
        let mut index = 1;
        while more {
            for packet in out.fragment(&log_request(index)).expect("fragment") {
                link.write(&packet).await.expect("write");
            }
            let batch = channel
                .open_log_batch_message(index, &receive(link.as_mut(), &mut inbound).await.expect("batch"))
                .expect("batch");
            batches.push((index, batch.sealed_logs));
            more = batch.more_logs;
            index += 1;
        }
        link.disconnect().await;
        Synced { report, hello, batches }
    }

    fn ingest(&self, door: &DoorView, synced: &Synced) -> Result<IngestReport, AppError> {
        self.upload(door, &synced.hello, &synced.batches)
    }

    fn upload(
        &self,
        door: &DoorView,
        hello: &[u8],
        batches: &[(u32, Vec<u8>)],
    ) -> Result<IngestReport, AppError> {
        let now = self.w.now();
        // A plain connection, not `Db::write`: a chain break keeps the verified prefix.
        self.state.db.read(|conn| logs::ingest_logs(conn, &door.uuid, hello, batches, now))
    }

    fn enter(&self, door: &DoorView, code: &str) -> Verdict {
        self.state.locks.with_lock(&door.uuid, |lock| lock.enter_code(code)).expect("lock")
    }

    fn seq(&self, door: &DoorView) -> u64 {
        self.state.locks.with_lock(&door.uuid, |lock| lock.last_applied_seq()).expect("lock")
    }
}

struct Synced {
    report: SyncReport,
    hello: Vec<u8>,
    batches: Vec<(u32, Vec<u8>)>,
}

async fn receive(link: &mut dyn Link, inbound: &mut Reassembler) -> Result<Vec<u8>, String> {
    loop {
        let packet = link.receive(WAIT).await.map_err(|e| e.to_string())?;
        if let Some(message) = inbound.push(&packet).map_err(|e| e.to_string())? {
            return Ok(message);
        }
    }
}

fn device() -> SigningKey {
    random_signing_key().1
}

#[tokio::test]
async fn activation_provisions_a_lock_and_a_credential_unlocks_it_in_one_round_trip() {
    let rig = Rig::start().await;
    let lobby = &rig.w.p.doors.lobby;
    assert!(rig.state.db.read(|conn| lockside::lock_info(conn, &lobby.uuid)).expect("read").is_some());
    assert!(rig.seq(lobby) >= 1, "the lock applied its first delta (zone rule) at activation");

    let user = rig.invite("ada@example.com", &[lobby]).await.user_uuid;
    let phone_key = device();
    let credential = rig.credential(&user, lobby, &phone_key).expect("credential");
    assert_eq!(credential.encode().len(), 156);
    assert!(!credential.body.flags.privileged);

    let (outcome, stats) = rig.unlock(lobby, credential, &phone_key).await.expect("unlock");
    assert_eq!(outcome.result, ResultCode::Granted);
    assert_eq!(outcome.time_status, TimeStatus::Synced);
    assert_eq!(stats.round_trips, 1, "one round trip after Hello: {stats:?}");
    let bytes = stats.bytes_sent + stats.bytes_received;
    assert!(bytes <= 1024, "{bytes} bytes at MTU 185");
    assert_eq!((stats.packets_sent, stats.packets_received), (2, 2), "{stats:?}");
    let model = rig.transport.model();
    eprintln!(
        "full unlock at MTU {}: {stats:?}, {bytes} ATT payload bytes, modelled {:?}",
        model.mtu,
        model.modelled_time(&stats)
    );

    // At the smallest MTU the same exchange still takes one round trip.
    rig.transport.set_model(LinkModel { connection_interval_ms: 30, mtu: 23 });
    let credential = rig.credential(&user, lobby, &phone_key).expect("credential");
    let (outcome, stats) = rig.unlock(lobby, credential, &phone_key).await.expect("unlock");
    assert_eq!(outcome.result, ResultCode::Granted);
    assert_eq!(stats.round_trips, 1);
    eprintln!("full unlock at MTU 23: {stats:?}");

    let kinds: Vec<EventKind> = rig
        .state
        .locks
        .with_lock(&lobby.uuid, |lock| lock.pending_log().iter().map(|e| e.record.kind).collect())
        .expect("lock");
    assert_eq!(kinds.iter().filter(|k| **k == EventKind::UNLOCK_GRANTED).count(), 2, "{kinds:?}");
}

#[tokio::test]
async fn a_credential_for_another_door_is_denied_and_no_access_means_no_credential() {
    let rig = Rig::start().await;
    let (lobby, unit) = (&rig.w.p.doors.lobby, &rig.w.p.doors.unit_4b);
    let user = rig.invite("two@example.com", &[lobby, unit]).await.user_uuid;
    let phone_key = device();
    let for_unit = rig.credential(&user, unit, &phone_key).expect("credential");
    let (outcome, _) = rig.unlock(lobby, for_unit, &phone_key).await.expect("exchange");
    assert_eq!(outcome.result, ResultCode::WrongLock);

    let stranger = rig.invite("lobby-only@example.com", &[lobby]).await.user_uuid;
    let refused = rig.credential(&stranger, unit, &phone_key).expect_err("no access to the unit");
    assert!(matches!(refused, AppError::Forbidden(_)), "{refused:?}");
}

#[tokio::test]
async fn revocation_reaches_a_connected_lock_at_once_and_an_offline_lock_through_a_sync() {
    let rig = Rig::start().await;
    let lobby = &rig.w.p.doors.lobby;
    let rooftop = &rig.w.p.doors.tokyo_rooftop;
    rig.activate(rooftop, "LK-TOKYO-1").await;
    let user = rig.invite("leaving@example.com", &[lobby, rooftop]).await.user_uuid;
    let phone_key = device();

    // Connected: the DELETE pushes the delta; the very next unlock is refused.
    let (outcome, _) =
        rig.unlock(lobby, rig.credential(&user, lobby, &phone_key).expect("c"), &phone_key).await.expect("u");
    assert_eq!(outcome.result, ResultCode::Granted);
    let lobby_credential = rig.credential(&user, lobby, &phone_key).expect("c");
    let rooftop_credential = rig.credential(&user, rooftop, &phone_key).expect("c");
    rig.w.a.revoke_access(&user, &lobby.uuid).await.expect("revoke lobby");
    let (outcome, _) = rig.unlock(lobby, lobby_credential, &phone_key).await.expect("u");
    assert_eq!(outcome.result, ResultCode::Revoked);

    // Offline: the lock still grants until a phone carries the delta there.
    rig.w.a.revoke_access(&user, &rooftop.uuid).await.expect("revoke rooftop");
    let (outcome, _) = rig.unlock(rooftop, rooftop_credential, &phone_key).await.expect("u");
    assert_eq!(outcome.result, ResultCode::Granted, "an offline lock has not heard yet");
    let synced = rig.sync(rooftop, None).await;
    assert!(
        synced.report.outcomes.iter().any(|(_, o)| *o == DeltaOutcome::Applied),
        "{:?}",
        synced.report.outcomes
    );
    let (outcome, _) = rig.unlock(rooftop, rooftop_credential, &phone_key).await.expect("u");
    assert_eq!(outcome.result, ResultCode::Revoked);
}

#[tokio::test]
async fn forged_and_reordered_deltas_are_refused_and_change_nothing() {
    let rig = Rig::start().await;
    let rooftop = &rig.w.p.doors.tokyo_rooftop;
    rig.activate(rooftop, "LK-TOKYO-2").await;
    rig.invite("first@example.com", &[rooftop]).await;
    rig.invite("second@example.com", &[rooftop]).await;
    let now = rig.w.now();
    let all = rig
        .state
        .db
        .write(|tx| lockside::pending_deltas(tx, &rig.state.lock_keys, &rooftop.uuid, 0, now))
        .expect("deltas");
    let before = rig.seq(rooftop);
    assert_eq!(all.len() as u64, before + 2, "two grants, two deltas the lock has not seen");
    let (next, after_next) = (all[before as usize].clone(), all[before as usize + 1].clone());

    let synced = rig.sync(rooftop, Some(vec![after_next.clone()])).await;
    assert_eq!(synced.report.outcomes, vec![(before + 2, DeltaOutcome::Refused(refusal::OUT_OF_ORDER))]);
    let mut forged = next.clone();
    let at = forged.len() - 70;
    forged[at] ^= 1;
    let synced = rig.sync(rooftop, Some(vec![forged])).await;
    assert_eq!(synced.report.outcomes, vec![(before + 1, DeltaOutcome::Refused(refusal::BAD_SIGNATURE))]);
    assert_eq!(rig.seq(rooftop), before, "nothing applied");

    let synced = rig.sync(rooftop, Some(vec![next.clone(), after_next.clone()])).await;
    assert_eq!(
        synced.report.outcomes,
        vec![(before + 1, DeltaOutcome::Applied), (before + 2, DeltaOutcome::Applied)]
    );
    let synced = rig.sync(rooftop, Some(vec![next, after_next])).await;
    assert_eq!(
        synced.report.outcomes,
        vec![(before + 1, DeltaOutcome::AlreadyApplied), (before + 2, DeltaOutcome::AlreadyApplied)]
    );
    assert_eq!(synced.report.last_applied_seq, before + 2);
}

#[tokio::test]
async fn daily_codes_work_on_an_offline_keypad_on_the_door_s_local_day_only() {
    let rig = Rig::start().await;
    let rooftop = &rig.w.p.doors.tokyo_rooftop;
    rig.activate(rooftop, "LK-TOKYO-3").await;
    // 16:00 UTC is 01:00 the next day in Tokyo: the code is for that Tokyo day.
    let start = rig.w.now();
    let view = rig
        .w
        .a
        .create_user_v2(&daily(PasscodeType::Daily, Contact::Email("day@example.com"), &[rooftop], start))
        .await
        .expect("daily");
    let code = view.accesses[0].doorcode.code.clone().expect("a DAILY code");
    assert!(matches!(rig.enter(rooftop, &code), Verdict::Granted { kind: CodeKind::Daily, .. }));

    // 22:59 later it is 23:59 in Tokyo: still today. One minute later, tomorrow: wrong.
    rig.w.clock.advance(Duration::hours(22) + Duration::minutes(59));
    assert!(matches!(rig.enter(rooftop, &code), Verdict::Granted { .. }));
    rig.w.clock.advance(Duration::minutes(1));
    assert_eq!(rig.enter(rooftop, &code), Verdict::Denied { reason: DenyReason::Wrong });

    // DAILY_SINGLE_USE: works for 15 minutes after its first use, then never again.
    let view = rig
        .w
        .a
        .create_user_v2(&daily(
            PasscodeType::DailySingleUse,
            Contact::Email("once@example.com"),
            &[rooftop],
            rig.w.now(),
        ))
        .await
        .expect("single use");
    let once = view.accesses[0].doorcode.code.clone().expect("a code");
    assert!(matches!(rig.enter(rooftop, &once), Verdict::Granted { kind: CodeKind::DailySingleUse, .. }));
    rig.w.clock.advance(Duration::minutes(14) + Duration::seconds(59));
    assert!(matches!(rig.enter(rooftop, &once), Verdict::Granted { .. }));
    rig.w.clock.advance(Duration::seconds(1));
    assert_eq!(rig.enter(rooftop, &once), Verdict::Denied { reason: DenyReason::SingleUseSpent });
}

/// Issue 17 item 3: an offline keypad accepts the first `SLOT_HEADROOM` DAILY codes of a day at once (no
/// sync needed), and later ones once a sync brings the backend's count of issued slots; a slot the
/// backend never issued stays refused.
#[tokio::test]
async fn daily_codes_past_the_headroom_work_once_a_sync_brings_the_issued_slots() {
    let rig = Rig::start().await;
    let rooftop = &rig.w.p.doors.tokyo_rooftop;
    rig.activate(rooftop, "LK-TOKYO-9").await;
    let headroom = usize::from(latchkey_protocol::keypad::SLOT_HEADROOM);
    let mut codes = Vec::new();
    for n in 0..headroom + 2 {
        let guest = format!("day{n}@example.com");
        let view = rig
            .w
            .a
            .create_user_v2(&daily(PasscodeType::Daily, Contact::Email(&guest), &[rooftop], rig.w.now()))
            .await
            .expect("daily");
        codes.push(view.accesses[0].doorcode.code.clone().expect("a DAILY code"));
    }
    for code in &codes[..headroom] {
        assert!(matches!(rig.enter(rooftop, code), Verdict::Granted { kind: CodeKind::Daily, .. }));
    }
    for code in &codes[headroom..] {
        assert_eq!(rig.enter(rooftop, code), Verdict::Denied { reason: DenyReason::Wrong }, "not synced yet");
    }
    rig.sync(rooftop, None).await;
    for code in &codes {
        assert!(matches!(rig.enter(rooftop, code), Verdict::Granted { kind: CodeKind::Daily, .. }));
    }
}

#[tokio::test]
async fn a_permanent_code_works_after_a_sync_and_not_before() {
    let rig = Rig::start().await;
    let rooftop = &rig.w.p.doors.tokyo_rooftop;
    rig.activate(rooftop, "LK-TOKYO-4").await;
    let view = rig.invite("guest@example.com", &[rooftop]).await;
    let code = view.accesses[0].doorcode.code.clone().expect("a PERMANENT code");
    assert_eq!(rig.enter(rooftop, &code), Verdict::Denied { reason: DenyReason::Wrong });
    rig.sync(rooftop, None).await;
    assert!(matches!(rig.enter(rooftop, &code), Verdict::Granted { kind: CodeKind::Permanent, .. }));

    // Revoked at the backend: gone after the next sync.
    rig.w.a.revoke_access(&view.user_uuid, &rooftop.uuid).await.expect("revoke");
    assert!(matches!(rig.enter(rooftop, &code), Verdict::Granted { .. }), "offline until a sync");
    rig.sync(rooftop, None).await;
    assert_eq!(rig.enter(rooftop, &code), Verdict::Denied { reason: DenyReason::Wrong });
}

#[tokio::test]
async fn the_log_reaches_the_backend_exactly_once_and_acknowledged_entries_are_deleted() {
    let rig = Rig::start().await;
    let rooftop = &rig.w.p.doors.tokyo_rooftop;
    rig.activate(rooftop, "LK-TOKYO-5").await;
    for _ in 0..3 {
        rig.enter(rooftop, "12");
    }
    let first = rig.sync(rooftop, None).await;
    let report = rig.ingest(rooftop, &first).expect("ingest");
    assert!(report.stored >= 4, "three keypad events and the clock set: {report:?}");
    assert_eq!(report.duplicates, 0);

    // A phone that uploads the same batches twice stores nothing twice.
    let retry = rig.ingest(rooftop, &first).expect("ingest");
    assert_eq!((retry.stored, retry.duplicates), (0, report.stored), "{retry:?}");

    // A second sync before any ack: the lock sends its entries again; only the new ones are stored.
    let second = rig.sync(rooftop, Some(Vec::new())).await;
    let again = rig.ingest(rooftop, &second).expect("ingest");
    assert_eq!(again.duplicates, report.stored, "{again:?}");
    assert!(again.stored >= 1, "the clock set of the second sync: {again:?}");
    let stored = rig.state.db.read(|conn| logs::stored_entries(conn, &rooftop.uuid)).expect("stored");
    let seqs: Vec<u64> = stored.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>(), "each entry once, in order");

    // The next delta acknowledges the last ingested entry: the lock deletes up to it.
    let last = again.last_seq.expect("entries");
    rig.sync(rooftop, None).await;
    let pending = rig.state.locks.with_lock(&rooftop.uuid, |lock| lock.pending_log().to_vec()).expect("lock");
    assert!(pending.iter().all(|e| e.seq > last), "acknowledged entries are gone: {pending:?}");
    assert!(!pending.is_empty(), "newer entries (this sync) wait for the next ack");
}

#[tokio::test]
async fn a_tampered_or_dropped_log_batch_is_detected() {
    let rig = Rig::start().await;
    let rooftop = &rig.w.p.doors.tokyo_rooftop;
    rig.activate(rooftop, "LK-TOKYO-6").await;
    // One refusal per refusal window, so each is chained in full (protocol.md §21 coalesces bursts).
    for _ in 0..70 {
        rig.enter(rooftop, "x");
        rig.w.clock.advance(Duration::seconds(i64::from(latchkey_protocol::eventlog::REFUSAL_WINDOW_SECS)));
    }
    let synced = rig.sync(rooftop, None).await;
    assert!(synced.batches.len() >= 2, "70 entries take two batches");

    let mut tampered = synced.batches.clone();
    tampered[0].1[5] ^= 1;
    let error = rig.upload(rooftop, &synced.hello, &tampered).expect_err("tampered");
    assert!(matches!(&error, AppError::BadRequest(m) if m.contains("batch 0")), "{error:?}");

    let dropped = &synced.batches[1..];
    let error = rig.upload(rooftop, &synced.hello, dropped).expect_err("dropped");
    assert!(matches!(&error, AppError::Conflict(m) if m.contains("index 0")), "{error:?}");
    assert!(rig.state.db.read(|conn| logs::stored_entries(conn, &rooftop.uuid)).expect("read").is_empty());

    let report = rig.ingest(rooftop, &synced).expect("the whole upload");
    assert!(report.stored >= 71, "{report:?}");
}

/// Issue 17 item 4: a grant the lock cannot save never moves the bolt, on the keypad or over BLE (the
/// power fails as the lock saves it); after the power comes back the same code and credential work.
#[tokio::test]
async fn a_grant_the_lock_cannot_save_does_not_open_the_door() {
    let rig = Rig::start().await;
    let rooftop = &rig.w.p.doors.tokyo_rooftop;
    rig.activate(rooftop, "LK-TOKYO-10").await;
    let view = rig.invite("saved@example.com", &[rooftop]).await;
    let code = view.accesses[0].doorcode.code.clone().expect("code");
    rig.sync(rooftop, None).await;
    let device = device();

    rig.state.locks.with_lock(&rooftop.uuid, |lock| lock.cut_power_at_next_save()).expect("lock");
    let verdict = rig.enter(rooftop, &code);
    assert!(!matches!(verdict, Verdict::Granted { .. }), "the keypad opened without a record: {verdict:?}");
    rig.state.locks.reload_all();

    rig.state.locks.with_lock(&rooftop.uuid, |lock| lock.cut_power_at_next_save()).expect("lock");
    let credential = rig.credential(&view.user_uuid, rooftop, &device).expect("credential");
    let outcome = rig.unlock(rooftop, credential, &device).await;
    assert!(
        !matches!(&outcome, Ok((o, _)) if o.result == ResultCode::Granted),
        "BLE opened without a record: {outcome:?}"
    );
    rig.state.locks.reload_all();

    assert!(matches!(rig.enter(rooftop, &code), Verdict::Granted { .. }));
    let (outcome, _) = rig.unlock(rooftop, credential, &device).await.expect("unlock");
    assert_eq!(outcome.result, ResultCode::Granted);
}

/// Issue 17 item 1: a battery swap must not reopen what has expired or been spent. Before the power
/// fails the lock has seen a single-use code spent, a PERMANENT code and a credential expire and a DAILY
/// code's day end; after it comes back none of them opens, on the keypad or over BLE.
#[tokio::test]
async fn after_power_loss_nothing_expired_or_spent_opens_again() {
    let rig = Rig::start().await;
    let rooftop = &rig.w.p.doors.tokyo_rooftop;
    rig.activate(rooftop, "LK-TOKYO-11").await;
    let mut request = permanent("ends@example.com", &[rooftop], rig.w.now());
    request.end_time = Some(rig.w.now() + Duration::hours(2));
    let view = rig.w.a.create_user_v2(&request).await.expect("invite");
    rig.state.locks.push_scheduled().expect("push");
    let code = view.accesses[0].doorcode.code.clone().expect("a PERMANENT code");
    let mut codes = Vec::new();
    for (kind, email) in
        [(PasscodeType::Daily, "day@example.com"), (PasscodeType::DailySingleUse, "once@example.com")]
    {
        let request = daily(kind, Contact::Email(email), &[rooftop], rig.w.now());
        let view = rig.w.a.create_user_v2(&request).await.expect("daily");
        codes.push(view.accesses[0].doorcode.code.clone().expect("a derived code"));
    }
    let (day_code, once) = (codes[0].clone(), codes[1].clone());
    rig.sync(rooftop, None).await;
    let device = device();
    let credential = rig.credential(&view.user_uuid, rooftop, &device).expect("credential");
    assert!(matches!(rig.enter(rooftop, &code), Verdict::Granted { .. }));
    assert!(matches!(rig.enter(rooftop, &once), Verdict::Granted { .. }), "first use");
    assert!(matches!(rig.enter(rooftop, &day_code), Verdict::Granted { .. }));
    let (outcome, _) = rig.unlock(rooftop, credential, &device).await.expect("unlock");
    assert_eq!(outcome.result, ResultCode::Granted);

    // Three hours on (04:00 in Tokyo): the single-use code is spent, the PERMANENT access has ended.
    rig.w.clock.advance(Duration::hours(3));
    assert!(!matches!(rig.enter(rooftop, &once), Verdict::Granted { .. }));
    assert!(!matches!(rig.enter(rooftop, &code), Verdict::Granted { .. }));
    // The next Tokyo day: the DAILY code is over.
    rig.w.clock.advance(Duration::hours(21));
    assert!(!matches!(rig.enter(rooftop, &day_code), Verdict::Granted { .. }));

    // The battery is swapped.
    rig.state.locks.with_lock(&rooftop.uuid, |lock| lock.power_loss()).expect("lock");
    rig.state.locks.reload_all();
    for (what, typed) in [("single-use", &once), ("PERMANENT", &code), ("DAILY", &day_code)] {
        let verdict = rig.enter(rooftop, typed);
        assert!(!matches!(verdict, Verdict::Granted { .. }), "the {what} code opened again: {verdict:?}");
    }
    let outcome = rig.unlock(rooftop, credential, &device).await;
    assert!(
        !matches!(&outcome, Ok((o, _)) if o.result == ResultCode::Granted),
        "the expired credential opened again: {outcome:?}"
    );
}

#[tokio::test]
async fn after_power_loss_the_lock_reports_uncertain_time_until_a_token_and_keeps_its_state() {
    let rig = Rig::start().await;
    let rooftop = &rig.w.p.doors.tokyo_rooftop;
    rig.activate(rooftop, "LK-TOKYO-7").await;
    let view = rig.invite("kept@example.com", &[rooftop]).await;
    let code = view.accesses[0].doorcode.code.clone().expect("code");
    rig.sync(rooftop, None).await;
    let seq = rig.seq(rooftop);

    rig.w.clock.advance(Duration::hours(5));
    rig.state.locks.with_lock(&rooftop.uuid, |lock| lock.power_loss()).expect("lock");
    rig.state.locks.reload_all();

    let mut link = rig.transport.connect(Rig::lock_id(rooftop), WAIT).await.expect("connect");
    let mut inbound = Reassembler::new(link.mtu()).expect("mtu");
    link.subscribe().await.expect("subscribe");
    let hello = Hello::decode(&receive(link.as_mut(), &mut inbound).await.expect("hello")).expect("hello");
    link.disconnect().await;
    assert_eq!(hello.time_status, TimeStatus::Uncertain);
    assert!(
        hello.lock_time < rig.w.now().timestamp() as u32 - 3600,
        "the clock restarted from its last token"
    );

    assert_eq!(rig.seq(rooftop), seq, "synced state survived");
    assert!(matches!(rig.enter(rooftop, &code), Verdict::Granted { .. }), "PERMANENT codes survived");

    let synced = rig.sync(rooftop, None).await;
    assert_eq!(synced.report.time_status, TimeStatus::Synced);
    assert_eq!(synced.report.lock_time, rig.w.now().timestamp() as u32);
}

#[tokio::test]
async fn a_disconnect_mid_unlock_leaves_the_lock_consistent_and_a_retry_succeeds() {
    let rig = Rig::start().await;
    let lobby = &rig.w.p.doors.lobby;
    let user = rig.invite("retry@example.com", &[lobby]).await.user_uuid;
    let phone_key = device();
    let log_before = rig.state.locks.with_lock(&lobby.uuid, |lock| lock.pending_log().len()).expect("lock");

    // Hello and the first fragment of the request get through, then the link drops.
    rig.transport.set_faults(Faults { disconnect_after_packets: Some(2), ..Faults::default() });
    let error = rig.unlock(lobby, rig.credential(&user, lobby, &phone_key).expect("c"), &phone_key).await;
    let error = error.expect_err("dropped");
    assert_eq!(error, TransportError::ConnectionLost.to_string());
    let log_after = rig.state.locks.with_lock(&lobby.uuid, |lock| lock.pending_log().len()).expect("lock");
    assert_eq!(log_after, log_before, "a half-received request decided nothing");

    // Notifications lost: the lock decided, the phone never heard: it retries.
    rig.transport.set_faults(Faults { drop_notifications: true, ..Faults::default() });
    assert!(
        rig.unlock(lobby, rig.credential(&user, lobby, &phone_key).expect("c"), &phone_key).await.is_err()
    );

    rig.transport.set_faults(Faults::default());
    let (outcome, stats) = rig
        .unlock(lobby, rig.credential(&user, lobby, &phone_key).expect("c"), &phone_key)
        .await
        .expect("retry");
    assert_eq!(outcome.result, ResultCode::Granted);
    assert_eq!(stats.round_trips, 1);

    rig.transport.set_out_of_range(Rig::lock_id(lobby), true);
    let far = rig.transport.connect(Rig::lock_id(lobby), WAIT).await.err();
    assert_eq!(far, Some(TransportError::NotInRange));
}

#[tokio::test]
async fn a_request_held_back_past_the_challenge_validity_is_refused() {
    let rig = Rig::start().await;
    let lobby = &rig.w.p.doors.lobby;
    let user = rig.invite("relayed@example.com", &[lobby]).await.user_uuid;
    let phone_key = device();
    let window = Duration::milliseconds(i64::try_from(CHALLENGE_VALIDITY_MS).expect("small"));
    // A relay that holds the request back a moment longer than the challenge lives: refused, logged.
    let credential = rig.credential(&user, lobby, &phone_key).expect("c");
    let error = rig
        .unlock_stalled(lobby, credential, &phone_key, None, window + Duration::milliseconds(1))
        .await
        .expect_err("stale challenge");
    assert_eq!(error, ProtocolError::LockAborted(AbortReason::ChallengeExpired.byte()).to_string());
    let last = rig.state.locks.with_lock(&lobby.uuid, |lock| *lock.pending_log().last().expect("an entry"));
    let last = last.expect("lock");
    assert_eq!(last.record.kind, EventKind::UNLOCK_DENIED, "the refusal is in the lock's log");
    // The same phone, answering within the window: granted.
    let credential = rig.credential(&user, lobby, &phone_key).expect("c");
    let (outcome, _) =
        rig.unlock_stalled(lobby, credential, &phone_key, None, window).await.expect("in time");
    assert_eq!(outcome.result, ResultCode::Granted);
}

#[tokio::test]
async fn a_repeat_visit_resumes_with_a_ticket_in_fewer_bytes() {
    let rig = Rig::start().await;
    let lobby = &rig.w.p.doors.lobby;
    let user = rig.invite("regular@example.com", &[lobby]).await.user_uuid;
    let phone_key = device();
    let credential = rig.credential(&user, lobby, &phone_key).expect("c");
    let (full, full_stats) = rig.unlock(lobby, credential, &phone_key).await.expect("full");
    let ticket = full.ticket.clone().expect("a ticket");
    let (resumed, stats) =
        rig.unlock_with(lobby, credential, &phone_key, Some(ticket)).await.expect("resume");
    assert_eq!((resumed.result, resumed.path), (ResultCode::Granted, Path::Resume));
    assert_eq!(stats.round_trips, 1);
    let (full_bytes, bytes) =
        (full_stats.bytes_sent + full_stats.bytes_received, stats.bytes_sent + stats.bytes_received);
    assert!(bytes < full_bytes, "resume {bytes} < full {full_bytes}");
    eprintln!("resume at MTU 185: {stats:?}, {bytes} ATT payload bytes (full: {full_bytes})");

    // The ticket table is RAM: after a restart of the lock the phone falls back to the full handshake.
    rig.state.locks.reload_all();
    let ticket = resumed.ticket.expect("rotated ticket");
    let (after, _) = rig.unlock_with(lobby, credential, &phone_key, Some(ticket)).await.expect("fallback");
    assert_eq!((after.result, after.path), (ResultCode::Granted, Path::Full));
}

#[tokio::test]
async fn patching_the_end_time_reaches_a_connected_lock_at_once() {
    let rig = Rig::start().await;
    let lobby = &rig.w.p.doors.lobby;
    let user = rig.invite("shortened@example.com", &[lobby]).await.user_uuid;
    let phone_key = device();
    let credential = rig.credential(&user, lobby, &phone_key).expect("credential without an end");
    let end = rig.w.now() + Duration::hours(1);
    rig.w
        .a
        .patch_access(
            &user,
            &lobby.uuid,
            &latchkey::model::PatchAccessRequest { shareable: None, end_time: Some(end) },
        )
        .await
        .expect("patch");
    let (outcome, _) = rig.unlock(lobby, credential, &phone_key).await.expect("u");
    assert_eq!(outcome.result, ResultCode::Granted, "still within the new window");
    rig.w.clock.advance(Duration::hours(1) + Duration::minutes(3));
    let (outcome, _) = rig.unlock(lobby, credential, &phone_key).await.expect("u");
    assert_eq!(outcome.result, ResultCode::Revoked, "the synced window ended, whatever the credential says");
}

#[tokio::test]
async fn a_drifting_clock_is_pulled_forward_by_the_next_time_token() {
    let rig = Rig::start().await;
    let rooftop = &rig.w.p.doors.tokyo_rooftop;
    rig.activate(rooftop, "LK-TOKYO-8").await;
    rig.state.locks.with_lock(&rooftop.uuid, |lock| lock.set_drift_ppm(-100)).expect("lock");
    rig.w.clock.advance(Duration::days(10));
    let lock_time = rig.state.locks.with_lock(&rooftop.uuid, |lock| lock.now().time).expect("lock");
    let behind = rig.w.now().timestamp() - i64::from(lock_time);
    assert!((85..=87).contains(&behind), "100 ppm slow for 10 days is 86.4 s behind, got {behind}");
    let synced = rig.sync(rooftop, None).await;
    assert_eq!(i64::from(synced.report.lock_time), rig.w.now().timestamp());
}

/// Issue 17 item 5: a lock whose oscillator runs fast is pulled back by the next time token, by a bounded
/// step (at most 300 s, and at most 500 ppm of the time since the last token, so tokens delivered one
/// after the other cannot swing it back), and each step is logged with its size.
#[tokio::test]
async fn a_fast_clock_is_pulled_back_by_bounded_steps_and_each_step_is_logged() {
    let rig = Rig::start().await;
    let rooftop = &rig.w.p.doors.tokyo_rooftop;
    rig.activate(rooftop, "LK-TOKYO-12").await;
    rig.state.locks.with_lock(&rooftop.uuid, |lock| lock.set_drift_ppm(1_000)).expect("lock");
    rig.w.clock.advance(Duration::days(10));
    let ahead = |synced: &Synced| i64::from(synced.report.lock_time) - rig.w.now().timestamp();
    // 1,000 ppm fast for 10 days: 864 s ahead. The first token steps it back by the cap, 300 s.
    let first = rig.sync(rooftop, None).await;
    assert_eq!(ahead(&first), 864 - 300, "the first token steps the fast clock back by 300 s");
    rig.state.locks.with_lock(&rooftop.uuid, |lock| lock.set_drift_ppm(0)).expect("lock");
    // A second token at once moves it no further (0 s since the last one).
    let second = rig.sync(rooftop, None).await;
    assert_eq!(ahead(&second), 864 - 300);
    // A day later: 86,400 / 2,000 = 43 s more.
    rig.w.clock.advance(Duration::days(1));
    let third = rig.sync(rooftop, None).await;
    assert_eq!(ahead(&third), 864 - 300 - 43);
    let steps: Vec<u16> = rig
        .state
        .locks
        .with_lock(&rooftop.uuid, |lock| {
            let log = lock.pending_log();
            log.iter().filter(|e| e.record.kind == EventKind::CLOCK_SET).map(|e| e.record.detail).collect()
        })
        .expect("lock");
    assert!(steps.ends_with(&[300, 0, 43]), "each step logged with the seconds it went back: {steps:?}");
}

/// Issue 17 item 5: an unauthenticated peer cannot make the lock buffer more for an unlock request than the
/// longest valid one: a first fragment announcing a 4 KiB unlock request closes the connection at once.
#[tokio::test]
async fn an_oversized_unlock_request_is_refused_before_it_is_buffered() {
    let rig = Rig::start().await;
    let rooftop = &rig.w.p.doors.tokyo_rooftop;
    rig.activate(rooftop, "LK-TOKYO-13").await;
    let lock = rig.state.locks.by_door(&rooftop.uuid).expect("lock").expect("a virtual lock");
    let mut connection = latchkey_sim::locks::LockConnection::new(lock, 185).expect("connection");
    connection.subscribe().expect("hello");
    // First fragment (0x80), total 4096, then a full-request type byte and junk.
    let mut first = vec![0x80, 0x10, 0x00, 0x02];
    first.extend([0x5a; 178]);
    assert!(connection.write(&first).is_err(), "the lock started buffering a 4 KiB unlock request");
    assert!(connection.write(&[0x01, 0x5a]).is_err(), "the connection stays closed");
}

#[tokio::test]
async fn the_core_phone_flows_unlock_and_sync_over_the_memory_link() {
    use latchkey::ble::{self, Signer, SoftwareSigner, Timeouts, UnlockError, UnlockRequest};

    let rig = Rig::start().await;
    let rooftop = &rig.w.p.doors.tokyo_rooftop;
    rig.activate(rooftop, "LK-TOKYO-9").await;
    let user = rig.invite("core@example.com", &[rooftop]).await.user_uuid;
    let signer = SoftwareSigner::generate().expect("signer");
    let device_pub = signer.public_key().expect("public key");
    let now = rig.w.now();
    let credential = rig
        .state
        .db
        .read(|conn| {
            lockside::issue_credential(conn, &rig.state.lock_keys, &user, &rooftop.uuid, device_pub, now)
        })
        .expect("credential");
    let info =
        rig.state.db.read(|conn| lockside::lock_info(conn, &rooftop.uuid)).expect("read").expect("lock");
    let request = UnlockRequest {
        lock: ble::LockKeys { lock_id: info.lock_id, lock_public_key: info.lock_public_key },
        credential,
        command: Command::Unlock,
        ticket: None,
    };
    let timeouts = Timeouts::default();
    let granted = ble::unlock(&rig.transport, request.clone(), &signer, &timeouts).await.expect("granted");
    assert_eq!(granted.stats.round_trips, 1);

    rig.w.a.revoke_access(&user, &rooftop.uuid).await.expect("revoke");
    let deltas = rig
        .state
        .db
        .write(|tx| lockside::pending_deltas(tx, &rig.state.lock_keys, &rooftop.uuid, 0, now))
        .expect("deltas");
    let token: [u8; 84] = lockside::time_token(&rig.state.lock_keys, &rooftop.uuid, now)
        .expect("token")
        .try_into()
        .expect("84");
    let synced =
        ble::sync(&rig.transport, info.lock_id, &info.lock_public_key, deltas, Some(token), &timeouts)
            .await
            .expect("sync");
    let report = rig.upload(rooftop, &synced.hello, &synced.log_batches).expect("ingest");
    assert!(report.stored >= 2, "the unlock and the sync are logged: {report:?}");

    let denied = ble::unlock(&rig.transport, request, &signer, &timeouts).await.expect_err("revoked");
    assert!(matches!(denied, UnlockError::Denied { reason: ble::DenyReason::Revoked, .. }), "{denied:?}");
}

#[tokio::test]
async fn scanning_hears_activated_locks_in_range_loudest_first() {
    let rig = Rig::start().await;
    let activated: Vec<[u8; 16]> = rig.state.locks.lock_ids().expect("lock ids");
    assert!(activated.len() >= 2, "the fixture activates at least two locks");
    let (near, far) = (activated[0], activated[1]);
    rig.transport.set_rssi(near, -40);
    rig.transport.set_rssi(far, -85);
    let heard = rig.transport.scan(WAIT).await.expect("scan");
    assert_eq!(heard.len(), activated.len());
    assert_eq!(heard[0].lock_id, near);
    assert!(heard.windows(2).all(|pair| pair[0].rssi >= pair[1].rssi), "{heard:?}");

    rig.transport.set_out_of_range(near, true);
    let heard = rig.transport.scan(WAIT).await.expect("scan");
    assert!(heard.iter().all(|advertisement| advertisement.lock_id != near));
}
