//! Kill-during-sync: a phone in a real child process (`latchkey sim phone-sync`) is SIGKILLed at random
//! points of its syncs, many times, then a clean run finishes. Nothing may be lost (every delta reaches
//! the lock, every log entry reaches the backend) and nothing may be applied twice (the lock's applied
//! deltas are exactly 1..=n once each; the backend stores each log entry once).
//!
//! The seed of the kill times is printed; rerun one with `LATCHKEY_KILL_SEED=<seed>`.
// The seed and the children's lines are printed for whoever reads a failure.
#![allow(clippy::print_stdout)]

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use latchkey::SecretString;
use latchkey::api::{ApiConfig, AuthClient, ManagerClient, PartnerClient, RetryPolicy};
use latchkey::model::{
    AccessibilityType, ActivateDoorRequest, AssignKeyRequest, CreateBuildingRequest, CreateDoorRequest,
    CreateKeyRequest, CreatePartnerRequest, CreateUserRequest, DeviceType, DoorType, MessageKind,
    PasscodeType, Role,
};
use latchkey::store::Store;
use latchkey_protocol::eventlog::{Entry, EventKind};
use latchkey_protocol::sync::Delta;
use latchkey_sim::backend::error::AppError;
use latchkey_sim::backend::lockside;
use latchkey_sim::locks::state::Persisted;
use latchkey_sim::{BackendConfig, SimConfig, Simulator};

const MANAGER_TOKEN: &str = "kill-sync-manager-token";
/// Children killed mid-run.
const KILLS: u32 = 10;
/// Kills land at a random instant in `0..window` after the child starts; the window starts here,
/// shrinks to the run time of a child that finished before its kill and grows after each kill.
const KILL_WINDOW_MS: u64 = 1200;
/// Real-time wait per packet each way (MTU 23): a sync lasts long enough to be cut inside BLE, both
/// while deltas go down and while log batches come up.
const PACKET_DELAY_MS: &str = "1";
/// Real-time wait per chunk the phone sends to the backend: the fetch and the upload last long enough
/// to be cut too (before the backend got a request, or after it answered but before the phone heard).
const API_DELAY_MS: &str = "60";

/// A scratch directory, removed on drop.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// splitmix64: a seeded, dependency-free PRNG.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

fn user(email: &str, door: &str, kind: PasscodeType) -> CreateUserRequest {
    CreateUserRequest {
        first_name: "Kill".into(),
        last_name: "Sync".into(),
        email: Some(email.into()),
        phone: None,
        start_time: Utc::now(),
        end_time: None,
        door_uuids: vec![door.into()],
        shareable: false,
        passcode_type: kind,
        role: Role::NonResident,
        should_notify: kind != PasscodeType::Permanent,
    }
}

/// The phone process: `latchkey sim phone-sync` on the shared files.
fn phone(api: &str, dir: &Path, door: &str, rounds: u32, delay_ms: &str, api_delay_ms: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(["sim", "phone-sync", "--api", api, "--lock", door, "--mtu", "23"])
        .arg("--sim-db")
        .arg(dir.join("sim.sqlite"))
        .arg("--store")
        .arg(dir.join("phone.sqlite"))
        .arg("--session")
        .arg(dir.join("session.json"))
        .args([
            "--rounds",
            &rounds.to_string(),
            "--packet-delay-ms",
            delay_ms,
            "--api-delay-ms",
            api_delay_ms,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the latchkey binary starts")
}

fn output_of(child: &mut Child) -> (String, String) {
    let mut out = String::new();
    let mut err = String::new();
    if let Some(stdout) = child.stdout.as_mut() {
        let _ = stdout.read_to_string(&mut out);
    }
    if let Some(stderr) = child.stderr.as_mut() {
        let _ = stderr.read_to_string(&mut err);
    }
    (out, err)
}

/// Every log entry the lock held when looked at, by seq.
type Seen = BTreeMap<u64, Entry>;

/// Adds the entries the lock holds now to `seen`.
fn observe(sim: &Simulator, door: &str, seen: &mut Seen) {
    let entries = sim.state().locks.with_lock(door, |lock| lock.pending_log().to_vec()).expect("the lock");
    for entry in entries {
        let known = seen.entry(entry.seq).or_insert(entry);
        assert_eq!(*known, entry, "log entry {} changed on the lock", entry.seq);
    }
}

fn is_keypad(kind: EventKind) -> bool {
    [EventKind::DOORCODE_GRANTED, EventKind::DOORCODE_DENIED, EventKind::KEYPAD_LOCKED_OUT].contains(&kind)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_phone_killed_anywhere_in_a_sync_loses_nothing_and_applies_nothing_twice() {
    let seed = std::env::var("LATCHKEY_KILL_SEED")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or_else(|| Utc::now().timestamp_nanos_opt().unwrap_or(7).unsigned_abs());
    println!("kill-during-sync seed: {seed} (rerun with LATCHKEY_KILL_SEED={seed})");
    let mut rng = Rng(seed);

    let dir = Scratch(std::env::temp_dir().join(format!("latchkey-kill-sync-{}-{seed}", std::process::id())));
    std::fs::create_dir_all(&dir.0).expect("scratch dir");
    let sim = Simulator::start(SimConfig {
        db: dir.0.join("sim.sqlite").to_string_lossy().into_owned(),
        backend: BackendConfig {
            manager_token: SecretString::new(MANAGER_TOKEN),
            ..BackendConfig::default()
        },
        ..SimConfig::default()
    })
    .await
    .expect("the simulator starts");
    let api = sim.base_url();
    let config = ApiConfig::parse(&api).expect("url").with_retry(RetryPolicy::none());

    // The portfolio: a partner, a building, an offline door with an activated lock, a key to it.
    let manager = ManagerClient::new(config.clone(), MANAGER_TOKEN).expect("manager");
    let partner =
        manager.create_partner(&CreatePartnerRequest { name: "Acme Stays".into() }).await.expect("partner");
    let building = manager
        .create_building(&CreateBuildingRequest {
            name: "Harbor View".into(),
            timezone: "America/New_York".into(),
            common_doorcodes: Some(true),
        })
        .await
        .expect("building");
    let door = manager
        .create_door(&CreateDoorRequest {
            building_uuid: building.uuid.clone(),
            name: "Gym".into(),
            door_type: DoorType::Door,
            accessibility_type: AccessibilityType::Communal,
            is_connected: false,
        })
        .await
        .expect("door");
    let door = manager
        .activate_door(
            &door.uuid,
            &ActivateDoorRequest { serial_number: "LK-KILL-1".into(), device_type: DeviceType::M },
        )
        .await
        .expect("activate");
    let key = manager
        .create_key(&CreateKeyRequest { name: "Acme key".into(), door_uuids: vec![door.uuid.clone()] })
        .await
        .expect("key");
    manager
        .assign_key(&key.uuid, &AssignKeyRequest { partner_uuid: partner.uuid.clone() })
        .await
        .expect("assign");
    manager.enable_key(&key.uuid).await.expect("enable");
    let acme = PartnerClient::new(config.clone(), partner.client_id.clone(), partner.client_secret.clone())
        .expect("partner client");

    // The phone's user (PERMANENT), signed in passwordless, and DAILY guests with their codes.
    let email = "phone@example.com";
    acme.create_user_v2(&user(email, &door.uuid, PasscodeType::Permanent)).await.expect("user");
    let mut codes = Vec::new();
    for guest in 0..3 {
        let view = acme
            .create_user_v2(&user(&format!("guest{guest}@example.com"), &door.uuid, PasscodeType::Daily))
            .await
            .expect("guest");
        codes.push(view.accesses[0].doorcode.code.clone().unwrap_or_else(|| "0000000".into()));
    }
    let auth = AuthClient::new(config.clone(), partner.client_id.clone(), partner.client_secret.clone())
        .expect("auth");
    auth.passwordless_start(email).await.expect("passwordless start");
    let otp_mail = manager
        .outbox()
        .await
        .expect("outbox")
        .messages
        .into_iter()
        .rev()
        .find(|message| message.recipient == email && message.kind == MessageKind::Otp)
        .expect("an OTP email");
    let otp = otp_mail
        .content
        .split(|c: char| !c.is_ascii_digit())
        .find(|run| run.len() == 6)
        .expect("a 6-digit code")
        .to_owned();
    let session = auth.exchange_otp(email, otp).await.expect("sign in");
    let session_file = serde_json::json!({
        "client_id": partner.client_id,
        "access_token": session.access_token.expose(),
        "refresh_token": session.refresh_token.expose(),
        "expires_at": session.expires_at,
        "device_key": hex::encode([0x42u8; 32]),
    });
    std::fs::write(dir.0.join("session.json"), session_file.to_string()).expect("session file");

    let locks = &sim.state().locks;
    let mut seen = BTreeMap::new();
    let mut typed = 0usize;
    let mut churned: Vec<String> = Vec::new();
    // Work for the phone: partner grants and revokes (one pending delta each) and keypad entries.
    let mut make_work = async |round: u32, typed: &mut usize, seen: &mut Seen| {
        for grant in 0..2 {
            let view = acme
                .create_user_v2(&user(
                    &format!("churn{round}-{grant}@example.com"),
                    &door.uuid,
                    PasscodeType::Permanent,
                ))
                .await
                .expect("grant");
            if let Some(previous) = churned.pop() {
                acme.revoke_access(&previous, &door.uuid).await.expect("revoke");
            }
            churned.push(view.user_uuid);
        }
        for _ in 0..2 {
            for code in &codes {
                locks.with_lock(&door.uuid, |lock| lock.enter_code(code)).expect("keypad");
                *typed += 1;
            }
        }
        observe(&sim, &door.uuid, seen);
    };
    for round in 0..3 {
        make_work(round, &mut typed, &mut seen).await;
    }

    let mut window = KILL_WINDOW_MS;
    for kill in 0..KILLS {
        make_work(100 + kill, &mut typed, &mut seen).await;
        let wait = rng.next() % window;
        let started = Instant::now();
        let mut child = phone(&api, &dir.0, &door.uuid, 2, PACKET_DELAY_MS, API_DELAY_MS);
        tokio::time::sleep(Duration::from_millis(wait)).await;
        let finished = child.try_wait().expect("try_wait").is_some();
        let _ = child.kill(); // SIGKILL on Unix
        let status = child.wait().expect("wait");
        let (out, err) = output_of(&mut child);
        println!(
            "kill {kill} at {wait} ms ({} ms): {} | {}",
            started.elapsed().as_millis(),
            if finished { "had finished" } else { "killed" },
            out.trim().replace('\n', " / ")
        );
        assert!(!finished || status.success(), "the phone failed on its own:\n{out}\n{err}");
        // Aim the next kill inside a run: shrink to a run that finished, grow after a kill.
        window = if finished {
            u64::try_from(started.elapsed().as_millis()).unwrap_or(window).clamp(50, window)
        } else {
            (window * 5 / 4).min(2 * KILL_WINDOW_MS)
        };
        // The child wrote the lock's row: forget the parent's copy.
        locks.reload_all();
        observe(&sim, &door.uuid, &mut seen);
        let lock_seq = locks.with_lock(&door.uuid, |lock| lock.last_applied_seq()).expect("lock");
        let store = Store::open(&dir.0.join("phone.sqlite")).expect("the phone's store");
        let phone_seq = store.last_applied_seq(&door.uuid).expect("seq");
        let uploads = store.pending_logs(Some(&door.uuid)).expect("logs").len();
        println!(
            "    lock seq {lock_seq}; phone: seq {phone_seq}, pending deltas {}, pending uploads {uploads}{}",
            store.pending_delta_count(&door.uuid).expect("deltas"),
            match (lock_seq > phone_seq, uploads > 0) {
                (true, _) => " (the lock is ahead of what the phone recorded)",
                (false, true) => " (cut before the backend acknowledged the upload)",
                (false, false) => "",
            }
        );
    }

    // A clean run to the end (no delay): the first sync resumes, the next ones carry what is left (16
    // deltas a sync at most) and the acks of what was uploaded.
    let started = Instant::now();
    let mut child = phone(&api, &dir.0, &door.uuid, 6, "0", "0");
    let status = tokio::task::spawn_blocking(move || {
        let status = child.wait().expect("wait");
        (status, output_of(&mut child))
    })
    .await
    .expect("join");
    let (status, (out, err)) = status;
    println!("clean run ({} ms): {}", started.elapsed().as_millis(), out.trim().replace('\n', " / "));
    assert!(status.success(), "the clean phone run failed:\n{out}\n{err}");
    locks.reload_all();
    observe(&sim, &door.uuid, &mut seen);

    // The lock: every issued delta applied, exactly once, in order.
    let door_uuid = door.uuid.clone();
    let (issued, stored, ack, row) = sim
        .state()
        .db
        .read(|conn| {
            let mut statement =
                conn.prepare("SELECT bytes FROM lock_deltas WHERE door_uuid = ?1 ORDER BY seq")?;
            let issued = statement
                .query_map([&door_uuid], |row| row.get::<_, Vec<u8>>(0))?
                .collect::<Result<Vec<_>, _>>()?;
            let stored = lockside::stored_entries(conn, &door_uuid)?;
            let ack: Vec<u8> = conn.query_row(
                "SELECT value FROM lock_sent WHERE door_uuid = ?1 AND item = 'ack'",
                [&door_uuid],
                |row| row.get(0),
            )?;
            let row: Vec<u8> = conn.query_row(
                "SELECT state FROM virtual_locks WHERE door_uuid = ?1",
                [&door_uuid],
                |row| row.get(0),
            )?;
            Ok::<_, AppError>((issued, stored, ack, row))
        })
        .expect("the simulator database");
    let last_issued = issued.len() as u64;
    assert!(last_issued > 15, "plenty of deltas were pending: {last_issued}");
    let applied = Persisted::decode(&row).expect("the lock's row").applied_deltas;
    let applied_seqs: Vec<u64> =
        applied.iter().map(|bytes| Delta::decode(bytes).expect("an applied delta").seq).collect();
    assert_eq!(applied_seqs, (1..=last_issued).collect::<Vec<_>>(), "each delta applied once, in order");
    assert_eq!(applied, issued, "the lock applied exactly what the backend issued");
    let lock_seq = locks.with_lock(&door.uuid, |lock| lock.last_applied_seq()).expect("lock");
    assert_eq!(lock_seq, last_issued, "the lock's last applied seq is the backend's last issued seq");

    // The backend: each log entry stored once, 1..=n without a gap, and every entry the lock ever held.
    let stored_seqs: Vec<u64> = stored.iter().map(|entry| entry.seq).collect();
    let head = stored_seqs.len() as u64;
    assert_eq!(stored_seqs, (1..=head).collect::<Vec<_>>(), "log entries 1..=n, unique, no gap");
    for (seq, entry) in &seen {
        let stored_entry = stored
            .get(usize::try_from(*seq).expect("seq") - 1)
            .unwrap_or_else(|| panic!("log entry {seq} never reached the backend"));
        assert_eq!(stored_entry, entry, "log entry {seq} stored as the lock wrote it");
    }
    let keypad = stored.iter().filter(|entry| is_keypad(entry.record.kind)).count();
    assert_eq!(keypad, typed, "every keypad entry reached the backend, once");

    // The lock's log: what the backend acknowledged (and the lock applied) is gone, the rest follows it.
    let acked = u64::from_be_bytes(ack[..8].try_into().expect("8 bytes"));
    let max_keypad =
        seen.values().filter(|entry| is_keypad(entry.record.kind)).map(|entry| entry.seq).max().unwrap_or(0);
    assert!(acked >= max_keypad, "the keypad entries were acknowledged: ack {acked}, last {max_keypad}");
    let pending: Vec<u64> =
        locks.with_lock(&door.uuid, |lock| lock.pending_log().iter().map(|e| e.seq).collect()).expect("lock");
    assert!(pending.iter().all(|seq| *seq > acked), "no acknowledged entry left on the lock: {pending:?}");
    if let Some(first) = pending.first() {
        assert_eq!(*first, acked + 1, "nothing after the ack was dropped: {pending:?}");
    }
    assert_eq!(pending.last().copied().unwrap_or(acked), head, "the backend holds what the lock logged");

    // The phone: nothing left in its outbox.
    let store = Store::open(&dir.0.join("phone.sqlite")).expect("the phone's store");
    assert_eq!(store.pending_delta_count(&door.uuid).expect("deltas"), 0, "no pending deltas");
    assert!(store.pending_logs(Some(&door.uuid)).expect("logs").is_empty(), "no pending log uploads");
    assert_eq!(store.last_applied_seq(&door.uuid).expect("seq"), last_issued);
    drop(store);
    sim.stop().await.expect("stop");
}
