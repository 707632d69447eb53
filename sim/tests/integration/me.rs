//! The user-scoped API (`/access/sdk/v1/me`) through `latchkey::api::UserClient`, with a user signed in
//! through partner A's app: device keys, locks with credentials that verify, sync data a virtual lock
//! accepts, log upload exactly once, access logs, and guests (partial success, listing, revoking), plus
//! the separation of partner and user tokens.

use std::time::Duration as StdDuration;

use latchkey::api::{ApiError, TokenSource, UserClient};
use latchkey::ble::{Link, Transport};
use latchkey::model::{
    AccessMethod, AccessResult, ActivateDoorRequest, DeviceType, DoorView, GranterType, InviteGuestRequest,
    LogBatchUpload, PasscodeType, RegisterDeviceRequest, SyncDataView, UploadLogsRequest,
};
use latchkey_protocol::credential::Credential;
use latchkey_protocol::crypto::SigningKey;
use latchkey_protocol::framing::{Fragmenter, Reassembler};
use latchkey_protocol::keypad::Verdict;
use latchkey_protocol::sync::{DeltaOutcome, SyncReport, log_request, sync_messages};
use latchkey_sim::backend::lockside::{self, keys::random_signing_key};
use latchkey_sim::link::MemoryTransport;
use serde_json::json;

use crate::support::{World, permanent, phone_channel, phone_ephemeral};

const WAIT: StdDuration = StdDuration::from_secs(1);

/// A world with one user invited by partner A and signed in through A's app.
struct Me {
    w: World,
    user: UserClient,
    user_uuid: String,
    token: String,
}

impl Me {
    /// Partner A invites `email` (PERMANENT, NON_RESIDENT) to `shareable` doors (shareable) and `other`
    /// doors (not shareable), then the user signs in.
    async fn start(email: &str, shareable: &[&str], other: &[&str]) -> Me {
        let w = World::start().await;
        Me::with(w, email, shareable, other).await
    }

    async fn with(w: World, email: &str, shareable: &[&str], other: &[&str]) -> Me {
        let doors = |names: &[&str]| -> Vec<DoorView> { names.iter().map(|name| door(&w, name)).collect() };
        let mut user_uuid = String::new();
        for (names, share) in [(shareable, true), (other, false)] {
            if names.is_empty() {
                continue;
            }
            let list = doors(names);
            let refs: Vec<&DoorView> = list.iter().collect();
            let mut request = permanent(email, &refs, w.now());
            request.shareable = share;
            user_uuid = w.a.create_user_v2(&request).await.expect("invite").user_uuid;
        }
        let (auth, session) = w.sign_in(email).await;
        let token = session.access_token.expose().to_owned();
        let user = UserClient::new(w.config(), auth.token_source(&session)).expect("user client");
        Me { w, user, user_uuid, token }
    }

    async fn activate(&self, name: &str, serial: &str) {
        let door = door(&self.w, name);
        self.w
            .manager
            .activate_door(
                &door.uuid,
                &ActivateDoorRequest { serial_number: serial.into(), device_type: DeviceType::M },
            )
            .await
            .expect("activate");
    }

    async fn register(&self, key: &SigningKey) -> String {
        let request = RegisterDeviceRequest {
            public_key: hex::encode(key.public_key().to_bytes()),
            name: "Phone".into(),
        };
        self.user.register_device(&request).await.expect("register").device_uuid
    }

    fn seq(&self, door: &DoorView) -> u64 {
        self.w.sim.state().locks.with_lock(&door.uuid, |lock| lock.last_applied_seq()).expect("lock")
    }

    fn enter(&self, door: &DoorView, code: &str) -> Verdict {
        self.w.sim.state().locks.with_lock(&door.uuid, |lock| lock.enter_code(code)).expect("lock")
    }

    /// A phone sync as the SDK does it: sync data from `/me`, carried to the lock over the memory link,
    /// and the lock's log batches read back as an upload request.
    async fn phone_sync(&self, door: &DoorView) -> (SyncDataView, SyncReport, UploadLogsRequest) {
        let data = self.user.sync_data(&door.uuid, self.seq(door)).await.expect("sync data");
        let deltas: Vec<Vec<u8>> = data.deltas.iter().map(|delta| hex::decode(delta).expect("hex")).collect();
        let token: [u8; 84] = hex::decode(data.time_token.as_deref().expect("a time token"))
            .expect("hex")
            .try_into()
            .expect("84 bytes");
        let transport = MemoryTransport::new(self.w.sim.state().locks.clone());
        let lock_id = lockside::lock_id(&door.uuid).expect("uuid");
        let mut link = transport.connect(lock_id, WAIT).await.expect("connect");
        let mut out = Fragmenter::new(link.mtu()).expect("mtu");
        let mut inbound = Reassembler::new(link.mtu()).expect("mtu");
        link.subscribe().await.expect("subscribe");
        let hello = receive(link.as_mut(), &mut inbound).await;
        let channel = phone_channel(self.w.sim.state(), door, &hello);
        for message in
            sync_messages(&deltas, Some(&token), &phone_ephemeral().public_key()).expect("sync messages")
        {
            for packet in out.fragment(&message).expect("fragment") {
                link.write(&packet).await.expect("write");
            }
        }
        let report = channel.open_report(&receive(link.as_mut(), &mut inbound).await).expect("report");
        let mut batches = vec![LogBatchUpload { index: 0, sealed: hex::encode(&report.sealed_logs) }];
        let mut more = report.more_logs;
        let mut index = 1;
        while more {
            for packet in out.fragment(&log_request(index)).expect("fragment") {
                link.write(&packet).await.expect("write");
            }
            let batch = channel
                .open_log_batch_message(index, &receive(link.as_mut(), &mut inbound).await)
                .expect("batch");
            batches.push(LogBatchUpload { index, sealed: hex::encode(&batch.sealed_logs) });
            more = batch.more_logs;
            index += 1;
        }
        link.disconnect().await;
        let upload = UploadLogsRequest {
            hello: hex::encode(hello),
            batches,
            last_applied_seq: Some(report.last_applied_seq),
            battery_percent: Some(report.battery_percent),
        };
        (data, report, upload)
    }
}

fn door(w: &World, name: &str) -> DoorView {
    let d = &w.p.doors;
    match name {
        "lobby" => d.lobby.clone(),
        "gym" => d.gym.clone(),
        "unit_4b" => d.unit_4b.clone(),
        "tokyo_rooftop" => d.tokyo_rooftop.clone(),
        "tokyo_room" => d.tokyo_room.clone(),
        "staff_room" => d.staff_room.clone(),
        other => panic!("no door {other} in the fixture"),
    }
}

async fn receive(link: &mut dyn Link, inbound: &mut Reassembler) -> Vec<u8> {
    loop {
        let packet = link.receive(WAIT).await.expect("receive");
        if let Some(message) = inbound.push(&packet).expect("reassemble") {
            return message;
        }
    }
}

fn guest_request(w: &World, email: &str, doors: &[&DoorView], kind: PasscodeType) -> InviteGuestRequest {
    InviteGuestRequest {
        first_name: "Gus".into(),
        last_name: "Guest".into(),
        email: Some(email.into()),
        phone: None,
        start_time: w.now(),
        end_time: None,
        door_uuids: doors.iter().map(|door| door.uuid.clone()).collect(),
        passcode_type: kind,
    }
}

#[tokio::test]
async fn a_device_registers_once_per_key_and_a_bad_key_is_refused() {
    let me = Me::start("ana@example.com", &["lobby"], &[]).await;
    let key = random_signing_key().1;
    let first = me.register(&key).await;
    assert_eq!(me.register(&key).await, first, "the same key is the same device");
    assert_ne!(me.register(&random_signing_key().1).await, first, "another key is another device");

    for bad in ["zz", "02", &"00".repeat(33), &hex::encode(key.public_key().to_bytes())[..64]] {
        let request = RegisterDeviceRequest { public_key: bad.to_owned(), name: "Phone".into() };
        let error = me.user.register_device(&request).await.expect_err("a bad key");
        assert!(matches!(error, ApiError::BadRequest { .. }), "{bad}: {error:?}");
        assert!(error.to_string().contains("publicKey"), "{error}");
    }
}

#[tokio::test]
async fn locks_list_the_user_s_doors_with_a_credential_that_verifies_for_the_device() {
    let me = Me::start("ana@example.com", &["lobby", "gym"], &[]).await;
    let key = random_signing_key().1;
    let device = me.register(&key).await;
    let lobby = door(&me.w, "lobby");

    let locks = me.user.locks(Some(&device)).await.expect("locks").locks;
    let names: Vec<&str> = locks.iter().map(|lock| lock.name.as_str()).collect();
    assert_eq!(names.len(), 2, "{names:?}");
    let lock = locks.iter().find(|lock| lock.door_uuid == lobby.uuid).expect("the lobby");
    assert_eq!(lock.lock_id, lobby.uuid.replace('-', ""));
    assert_eq!(lock.access.passcode_type, PasscodeType::Permanent);
    assert!(lock.access.shareable);
    assert!(lock.lock_public_key.is_some() && lock.battery.is_some(), "the lobby's lock is activated");
    let credential =
        Credential::decode(&hex::decode(lock.credential.as_deref().expect("a credential")).expect("hex"))
            .expect("decodes");
    let backend = me.w.sim.state().lock_keys.public_key();
    let now = u32::try_from(me.w.now().timestamp()).expect("u32");
    credential.verify(&backend, &lockside::lock_id(&lobby.uuid).expect("id"), now, 0).expect("verifies");
    assert_eq!(credential.body.device_pub.to_bytes(), key.public_key().to_bytes());
    assert_eq!(credential.body.user_id, lockside::lock_id(&me.user_uuid).expect("id"));
    assert_eq!(
        lock.credential_expires_at.map(|at| at.timestamp()),
        Some(i64::from(credential.body.not_after))
    );

    let gym = locks.iter().find(|lock| lock.door_uuid == door(&me.w, "gym").uuid).expect("the gym");
    assert_eq!((gym.lock_public_key.as_ref(), gym.credential.as_ref()), (None, None), "not activated");

    // Without a device: no credentials. An unknown device: 404.
    let plain = me.user.locks(None).await.expect("locks").locks;
    assert!(plain.iter().all(|lock| lock.credential.is_none()));
    let error = me.user.locks(Some("no-such-device")).await.expect_err("unknown device");
    assert!(matches!(error, ApiError::NotFound { .. }), "{error:?}");

    // Revoked by the partner: the door is gone, and its endpoints are 404.
    me.w.a.revoke_access(&me.user_uuid, &lobby.uuid).await.expect("revoke");
    let locks = me.user.locks(Some(&device)).await.expect("locks").locks;
    assert!(locks.iter().all(|lock| lock.door_uuid != lobby.uuid));
    let error = me.user.sync_data(&lobby.uuid, 0).await.expect_err("no access");
    assert!(matches!(error, ApiError::NotFound { .. }), "{error:?}");
    let error = me.user.access_logs(&door(&me.w, "staff_room").uuid).await.expect_err("not mine");
    assert!(matches!(error, ApiError::NotFound { .. }), "{error:?}");
}

#[tokio::test]
async fn sync_data_is_accepted_by_the_lock_and_an_upload_is_stored_once() {
    let me = Me::start("ana@example.com", &["tokyo_rooftop"], &[]).await;
    me.activate("tokyo_rooftop", "LK-ME-1").await;
    let rooftop = door(&me.w, "tokyo_rooftop");
    // A grant after activation: the offline lock learns it only from a phone.
    me.w.a.create_user_v2(&permanent("zed@example.com", &[&rooftop], me.w.now())).await.expect("invite");
    let before = me.seq(&rooftop);

    let (data, report, upload) = me.phone_sync(&rooftop).await;
    assert!(!data.deltas.is_empty(), "the new grant is pending for the offline lock");
    assert!(data.last_issued_seq > before);
    // Before the lock's log has reached the backend, the backend serves from seq 1: what the lock already
    // has comes back AlreadyApplied, nothing is refused.
    assert!(
        report.outcomes.iter().all(|(_, outcome)| *outcome != DeltaOutcome::Refused(0))
            && report.outcomes.iter().all(|(_, outcome)| !matches!(outcome, DeltaOutcome::Refused(_))),
        "{:?}",
        report.outcomes
    );
    assert!(report.outcomes.iter().any(|(_, outcome)| *outcome == DeltaOutcome::Applied));
    assert!(data.deltas.len() <= latchkey_protocol::sync::MAX_DELTAS_PER_SYNC);
    assert_eq!(report.last_applied_seq, data.last_issued_seq, "the lock applied every delta");
    assert_eq!(me.seq(&rooftop), data.last_issued_seq);

    let first = me.user.upload_logs(&rooftop.uuid, &upload).await.expect("upload");
    assert!(first.stored >= 1, "{first:?}");
    assert_eq!(first.duplicates, 0);
    let again = me.user.upload_logs(&rooftop.uuid, &upload).await.expect("upload again");
    assert_eq!((again.stored, again.duplicates), (0, first.stored), "nothing stored twice");
    assert_eq!(again.acknowledged_seq, first.acknowledged_seq);

    let lock = me.user.locks(None).await.expect("locks").locks.remove(0);
    let battery = lock.battery.expect("a battery");
    assert_eq!(battery.percentage, report.battery_percent);
    assert_eq!(battery.last_updated, me.w.now());

    // Nothing new since the last sync but the log ack: a sync after the lock's seq carries only that.
    let next = me.user.sync_data(&rooftop.uuid, me.seq(&rooftop)).await.expect("sync data");
    assert!(next.deltas.len() <= 1, "{next:?}");

    // A tampered batch refuses the upload.
    let mut bad = upload.clone();
    bad.batches[0].sealed = format!("00{}", &bad.batches[0].sealed[2..]);
    let error = me.user.upload_logs(&rooftop.uuid, &bad).await.expect_err("tampered");
    assert!(matches!(error, ApiError::BadRequest { .. }), "{error:?}");
}

#[tokio::test]
async fn partner_and_user_tokens_are_kept_apart() {
    let me = Me::start("ana@example.com", &["lobby"], &[]).await;
    let partner_token = me.w.token(&me.w.p.a).await;
    for (method, path) in [
        ("GET", "/access/sdk/v1/me/locks"),
        ("GET", "/access/sdk/v1/me/guests"),
        ("POST", "/access/sdk/v1/me/devices"),
    ] {
        let body = (method == "POST").then(|| json!({"publicKey": "02", "name": "x"}));
        let response = me.w.raw(method, path, Some(&partner_token), body).await;
        assert_eq!(response.status, 403, "{method} {path}: {}", response.text);
        assert!(response.text.contains("user-scoped token"), "{}", response.text);
    }
    let response = me.w.raw("GET", "/access/sdk/v1/users", Some(&me.token), None).await;
    assert_eq!(response.status, 403, "{}", response.text);
    let response = me.w.raw("GET", "/access/sdk/v1/me/locks", None, None).await;
    assert_eq!(response.status, 401, "{}", response.text);
    let response = me.w.raw("GET", "/access/sdk/v1/me/locks?device=1", Some(&me.token), None).await;
    assert_eq!(response.status, 400, "a typo in the query is refused: {}", response.text);
}

#[tokio::test]
async fn a_guest_invite_partly_succeeds_and_the_guest_is_listed_and_revoked() {
    let me = Me::start("ana@example.com", &["lobby"], &["gym"]).await;
    let (lobby, gym, staff) = (door(&me.w, "lobby"), door(&me.w, "gym"), door(&me.w, "staff_room"));
    let request = guest_request(&me.w, "gus@example.com", &[&lobby, &gym, &staff], PasscodeType::Permanent);
    let response = me.user.invite_guests(&request).await.expect("invite");
    let guest = response.guest_uuid.clone().expect("a guest");
    let by_door =
        |uuid: &str| response.results.iter().find(|result| result.door_uuid == uuid).expect("result");
    assert!(by_door(&lobby.uuid).granted);
    assert!(!by_door(&gym.uuid).granted);
    assert!(by_door(&gym.uuid).message.as_deref().unwrap_or("").contains("not shareable"), "{response:?}");
    assert!(!by_door(&staff.uuid).granted);
    assert!(by_door(&staff.uuid).message.as_deref().unwrap_or("").contains("not found"), "{response:?}");
    assert_eq!(response.failures().count(), 2);

    // Notified like a partner invite, naming the user who shared.
    let mail = me.w.messages_to("gus@example.com").await;
    assert!(mail.iter().any(|message| message.content.contains("Grace Hopper")), "{mail:?}");

    let guests = me.user.guests().await.expect("guests").guests;
    assert_eq!(guests.len(), 1);
    assert_eq!(guests[0].guest_uuid, guest);
    assert_eq!(guests[0].accesses.len(), 1);
    let access = &guests[0].accesses[0];
    assert_eq!(access.door_uuid, lobby.uuid);
    assert_eq!(
        (access.granter.granter_type, access.granter.uuid.as_str()),
        (GranterType::User, me.user_uuid.as_str())
    );
    assert!(!access.shareable);
    assert_eq!(access.role, latchkey::model::Role::NonResident);

    // Nothing shareable at all: every door fails, no guest.
    let none = me
        .user
        .invite_guests(&guest_request(&me.w, "other@example.com", &[&gym], PasscodeType::Permanent))
        .await
        .expect("invite");
    assert_eq!(none.guest_uuid, None);
    assert!(!none.results[0].granted);
    // Inviting yourself is refused door by door; an invalid invite fails before sending.
    let myself = me
        .user
        .invite_guests(&guest_request(&me.w, "ana@example.com", &[&lobby], PasscodeType::Permanent))
        .await;
    assert!(!myself.expect("invite").results[0].granted);
    let mut invalid = guest_request(&me.w, "gus@example.com", &[&lobby], PasscodeType::Permanent);
    invalid.email = None;
    assert!(matches!(me.user.invite_guests(&invalid).await, Err(ApiError::Validation(_))));

    me.user.revoke_guest_access(&guest, &lobby.uuid).await.expect("revoke");
    assert!(me.user.guests().await.expect("guests").guests.is_empty());
    let error = me.user.revoke_guest_access(&guest, &lobby.uuid).await.expect_err("already revoked");
    assert!(matches!(error, ApiError::NotFound { .. }), "{error:?}");
    // The partner's own access to the user is untouched, and a partner's grant cannot be revoked here.
    let error = me.user.revoke_guest_access(&me.user_uuid, &lobby.uuid).await.expect_err("not a guest");
    assert!(matches!(error, ApiError::NotFound { .. }), "{error:?}");
}

#[tokio::test]
async fn access_logs_show_the_user_and_their_guests_after_keypad_entries_a_sync_and_an_upload() {
    let me = Me::start("ana@example.com", &["tokyo_rooftop"], &[]).await;
    me.activate("tokyo_rooftop", "LK-ME-2").await;
    let rooftop = door(&me.w, "tokyo_rooftop");
    // Someone else with their own access, not a guest of the user: never in the user's log.
    let stranger =
        me.w.a.create_user_v2(&permanent("zed@example.com", &[&rooftop], me.w.now())).await.expect("invite");
    let stranger_code = stranger.accesses[0].doorcode.code.clone().expect("a code");
    let guest = me
        .user
        .invite_guests(&guest_request(&me.w, "gus@example.com", &[&rooftop], PasscodeType::Daily))
        .await
        .expect("invite");
    assert!(guest.results[0].granted, "{guest:?}");
    let guest_uuid = guest.guest_uuid.expect("a guest");
    let guests = me.user.guests().await.expect("guests").guests;
    let guest_code = guests[0].accesses[0].doorcode.code.clone().expect("a DAILY code");

    // The first sync brings the PERMANENT code hashes to the offline lock.
    let (_, _, upload) = me.phone_sync(&rooftop).await;
    me.user.upload_logs(&rooftop.uuid, &upload).await.expect("upload");
    let my_code =
        me.w.a.get_user(&me.user_uuid).await.expect("user").accesses[0].doorcode.code.clone().expect("code");
    assert!(matches!(me.enter(&rooftop, &my_code), Verdict::Granted { .. }));
    assert!(matches!(me.enter(&rooftop, &guest_code), Verdict::Granted { .. }));
    assert!(matches!(me.enter(&rooftop, &stranger_code), Verdict::Granted { .. }));
    assert!(me.user.access_logs(&rooftop.uuid).await.expect("logs").entries.is_empty(), "not uploaded yet");

    let (_, _, upload) = me.phone_sync(&rooftop).await;
    me.user.upload_logs(&rooftop.uuid, &upload).await.expect("upload");
    let entries = me.user.access_logs(&rooftop.uuid).await.expect("logs").entries;
    assert_eq!(entries.len(), 2, "{entries:?}");
    assert!(
        entries
            .iter()
            .all(|entry| entry.method == AccessMethod::Doorcode && entry.result == AccessResult::Granted)
    );
    // Newest first: the guest's entry, then the user's own.
    assert_eq!(entries[0].user_uuid.as_deref(), Some(guest_uuid.as_str()));
    assert!(entries[0].is_guest);
    assert_eq!(entries[0].user_name.as_deref(), Some("Gus Guest"));
    assert_eq!(entries[1].user_uuid.as_deref(), Some(me.user_uuid.as_str()));
    assert!(!entries[1].is_guest);
    assert!(entries.iter().all(|entry| entry.user_uuid.as_deref() != Some(stranger.user_uuid.as_str())));
}

/// The client is cheap to clone and shareable across tasks.
#[test]
fn the_user_client_is_send_sync_and_clone() {
    fn assert_traits<T: Send + Sync + Clone>() {}
    assert_traits::<UserClient>();
    let _: fn(latchkey::api::ApiConfig, TokenSource) -> Result<UserClient, ApiError> = UserClient::new;
}

#[tokio::test]
async fn sync_data_after_a_false_seq_still_returns_the_revocation_the_lock_lacks() {
    let me = Me::start("ana@example.com", &["tokyo_rooftop"], &[]).await;
    me.activate("tokyo_rooftop", "LK-ME-2").await;
    let rooftop = door(&me.w, "tokyo_rooftop");
    let zed =
        me.w.a.create_user_v2(&permanent("zed@example.com", &[&rooftop], me.w.now())).await.expect("invite");
    let (_, _, upload) = me.phone_sync(&rooftop).await;
    me.user.upload_logs(&rooftop.uuid, &upload).await.expect("the lock's log reaches the backend");
    let applied = me.seq(&rooftop);

    // Zed is revoked while the lock is offline; a phone that was told the lock applied seq 2^63 (an
    // impostor's claim) asks for the deltas after it.
    me.w.a.revoke_access(&zed.user_uuid, &rooftop.uuid).await.expect("revoke");
    let data = me.user.sync_data(&rooftop.uuid, 1 << 63).await.expect("sync data");
    let seqs: Vec<u64> = data
        .deltas
        .iter()
        .map(|delta| {
            latchkey_protocol::sync::Delta::decode(&hex::decode(delta).expect("hex")).expect("delta").seq
        })
        .collect();
    assert!(
        seqs.first() == Some(&(applied + 1)),
        "the backend serves from the lock's logged seq {applied}: {seqs:?}"
    );
    assert_eq!(seqs.last().copied(), Some(data.last_issued_seq), "{seqs:?}");
}

#[tokio::test]
async fn wrong_codes_and_a_keypad_lockout_are_door_events_naming_no_user() {
    use latchkey::api::EventsQuery;
    use latchkey::model::{EntryEventData, EventType, RefusalsCountedData};

    let me = Me::start("kim@example.com", &["tokyo_rooftop"], &[]).await;
    me.activate("tokyo_rooftop", "LK-ME-EV").await;
    let rooftop = door(&me.w, "tokyo_rooftop");
    let (_, _, upload) = me.phone_sync(&rooftop).await;
    me.user.upload_logs(&rooftop.uuid, &upload).await.expect("upload");
    // Wrong codes until the keypad locks out, then one more while it is locked out.
    for _ in 0..9 {
        assert!(!matches!(me.enter(&rooftop, "0000001"), Verdict::Granted { .. }));
    }
    let (_, _, upload) = me.phone_sync(&rooftop).await;
    me.user.upload_logs(&rooftop.uuid, &upload).await.expect("upload");

    let types = vec![EventType::EntryDenied, EventType::KeypadLockout, EventType::LockRefusalsCounted];
    let events =
        me.w.a.list_events(&EventsQuery { types, ..EventsQuery::default() }).await.expect("feed").events;
    let denied: Vec<_> = events.iter().filter(|event| event.event_type == EventType::EntryDenied).collect();
    // The lock logs the first 4 refusals of a 10-minute window one by one (protocol.md §21) and counts the
    // rest, the codes typed during the lockout among them, into one summary: 4 entry.denied events and one
    // lock.refusals_counted for the other 5 codes, all typed at the keypad.
    let lockouts = events.iter().filter(|event| event.event_type == EventType::KeypadLockout).count();
    let counted: Vec<RefusalsCountedData> = events
        .iter()
        .filter(|event| event.event_type == EventType::LockRefusalsCounted)
        .map(|event| serde_json::from_value(event.data.clone()).expect("counted data"))
        .collect();
    assert_eq!((denied.len(), lockouts, counted.len()), (4, 0, 1), "{events:?}");
    assert_eq!(
        (counted[0].count, counted[0].keypad_count, counted[0].unlock_count),
        (5, 5, 0),
        "{counted:?}"
    );
    let data: EntryEventData = serde_json::from_value(denied[0].data.clone()).expect("data");
    assert_eq!((data.user, data.method), (None, AccessMethod::Doorcode), "a wrong code names nobody");
    // Partner A sees them because the door is its; no user is involved.
    assert!(events.iter().all(|event| event.door_uuid.as_deref() == Some(rooftop.uuid.as_str())));
    let seqs: Vec<u64> = events.iter().map(|event| event.data["logSeq"].as_u64().expect("logSeq")).collect();
    assert!(seqs.windows(2).all(|pair| pair[0] < pair[1]), "in the lock's order: {seqs:?}");
}
