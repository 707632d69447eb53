//! Sync figures: the bytes a 10,000-entry delta takes on the sync channel, and what it costs the lock to
//! decode, verify and apply it (`Delta::decode` + `LockSyncState::apply`), then how that cost grows with the
//! number of changes and with the size of the list already on the lock.

use latchkey_protocol::crypto::{DhSecret, SigningKey};
use latchkey_protocol::sync::{
    Delta, DeltaKind, DeltaOutcome, Entry, LockSyncState, SyncChannel, SyncReport, Window, sync_messages,
};
use latchkey_protocol::unlock::{Hello, TimeStatus};

use crate::cpu::user_id;
use crate::{Effort, Figures, median, timed, us};

const LOCK: [u8; 16] = [0x4c; 16];

fn backend() -> SigningKey {
    SigningKey::from_bytes(&[7; 32]).expect("a valid fixed key")
}

fn adds(from: u32, count: u32) -> Vec<Entry> {
    (from..from + count)
        .map(|i| Entry::AddAccess {
            user_id: user_id(i),
            window: Window { not_before: 1_781_000_000, not_after: 1_790_000_000 + i },
        })
        .collect()
}

/// A lock holding `size` users, at seq 1.
fn holding(size: u32) -> LockSyncState {
    let key = backend();
    let mut state = LockSyncState::new(LOCK);
    state
        .apply(&Delta::sign(DeltaKind::Snapshot, LOCK, 1, adds(0, size), &key), &key.public_key())
        .expect("the list applies");
    state
}

/// Decode + apply of `bytes` (seq 2) on a copy of `base`; the copy is made outside the timing.
fn apply_time(base: &LockSyncState, bytes: &[u8], reps: usize) -> std::time::Duration {
    let key = backend().public_key();
    median(reps, || {
        let mut state = base.clone();
        let (applied, took) = timed(|| {
            let delta = Delta::decode(bytes).expect("decodes");
            state.apply(&delta, &key)
        });
        applied.expect("applies");
        took
    })
}

/// Measures `sync_delta_bytes_per_entry`, `sync_apply_10k_ms` and the growth figures.
pub fn measure(effort: Effort, figures: &mut Figures) -> Result<(), String> {
    let key = backend();
    let entries = 10_000u32;
    let delta = Delta::sign(DeltaKind::Incremental, LOCK, 2, adds(1_000_000, entries), &key).encode();
    let phone = DhSecret::from_bytes(&[0x0e; 32]).map_err(|e| e.to_string())?;
    let carried: usize = sync_messages(std::slice::from_ref(&delta), None, &phone.public_key())
        .map_err(|e| e.to_string())?
        .iter()
        .map(Vec::len)
        .sum();
    figures.insert(
        "sync_delta_bytes_per_entry".into(),
        (carried as f64 / f64::from(entries) * 10.0).round() / 10.0,
    );
    figures.insert("sync_delta_10k_bytes".into(), carried as f64);

    let empty = holding(0);
    let reps = effort.pick(5, 21);
    figures.insert("sync_apply_10k_ms".into(), crate::ms(apply_time(&empty, &delta, reps)));

    // Growth with the number of changes, on a lock holding 1,000 users.
    let base = holding(1_000);
    for changes in [10u32, 100, 1_000, 10_000] {
        let bytes = Delta::sign(DeltaKind::Incremental, LOCK, 2, adds(1_000_000, changes), &key).encode();
        let took = apply_time(&base, &bytes, effort.pick(9, 51));
        figures.insert(format!("sync_apply_us_changes_{changes}"), us(took));
    }
    // Growth with the list already on the lock, 10 changes each.
    let ten = Delta::sign(DeltaKind::Incremental, LOCK, 2, adds(1_000_000, 10), &key).encode();
    for size in [10u32, 1_000, 16_000] {
        let took = apply_time(&holding(size), &ten, effort.pick(9, 51));
        figures.insert(format!("sync_apply_10_changes_us_list_{size}"), us(took));
    }
    channel(effort, &phone, figures)
}

/// The sync channel: the lock's ECDH, key derivation and sealing of a report with 16 outcomes and a full
/// log batch (`sync_channel_lock_us`), and the phone's ECDH and opening of it (`sync_channel_phone_us`).
fn channel(effort: Effort, phone: &DhSecret, figures: &mut Figures) -> Result<(), String> {
    let lock = DhSecret::from_bytes(&[0x5a; 32]).map_err(|e| e.to_string())?;
    let hello = Hello {
        version: 1,
        lock_id: LOCK,
        challenge: [9; 16],
        lock_time: 1_781_000_000,
        time_status: TimeStatus::Synced,
    }
    .encode();
    let report = SyncReport {
        last_applied_seq: 16,
        lock_time: 1_781_000_000,
        time_status: TimeStatus::Synced,
        battery_percent: 80,
        outcomes: (1..=16).map(|seq| (seq, DeltaOutcome::Applied)).collect(),
        more_logs: true,
        sealed_logs: vec![0; latchkey_protocol::sync::SEALED_BATCH_MAX],
    };
    let reps = effort.pick(9, 51);
    let sealed = SyncChannel::lock(&lock, &phone.public_key(), &LOCK, &hello)
        .and_then(|channel| channel.seal_report(&report))
        .map_err(|e| e.to_string())?;
    let lock_side = median(reps, || {
        timed(|| {
            SyncChannel::lock(&lock, &phone.public_key(), &LOCK, &hello).and_then(|c| c.seal_report(&report))
        })
        .1
    });
    let phone_side = median(reps, || {
        let (opened, took) = timed(|| {
            SyncChannel::phone(phone, &lock.public_key(), &LOCK, &hello).and_then(|c| c.open_report(&sealed))
        });
        assert!(opened.is_ok(), "the report opens");
        took
    });
    figures.insert("sync_channel_lock_us".into(), us(lock_side));
    figures.insert("sync_channel_phone_us".into(), us(phone_side));
    figures.insert("sync_report_max_bytes".into(), sealed.len() as f64);
    Ok(())
}
