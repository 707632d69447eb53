use alloc::vec;
use alloc::vec::Vec;

use super::*;
use crate::crypto::{SIGNATURE_LEN, SigningKey};
use crate::eventlog::{AckVerifier, MAC_LEN};
use crate::keypad::{MAX_PERMANENT_CODES, PermanentCode, ZoneRule};

const LOCK: [u8; 16] = [0x11; 16];
const OTHER: [u8; 16] = [0x22; 16];

fn backend() -> SigningKey {
    SigningKey::from_bytes(&[7; 32]).expect("key")
}

fn id(i: u32) -> [u8; 16] {
    let mut out = [0u8; 16];
    out[12..].copy_from_slice(&i.to_be_bytes());
    out
}

fn add(i: u32) -> Entry {
    Entry::AddAccess { user_id: id(i), window: Window { not_before: 100, not_after: 200 + i } }
}

fn delta(seq: u64, entries: Vec<Entry>) -> Delta {
    Delta::sign(DeltaKind::Incremental, LOCK, seq, entries, &backend())
}

fn all_kinds() -> Vec<Entry> {
    vec![
        add(1),
        Entry::RemoveAccess { user_id: id(2) },
        Entry::RevokeCredential { credential_id: id(3) },
        Entry::AddPermanentCode(PermanentCode {
            id: id(4),
            hash: [9; 16],
            not_before: 1,
            not_after: u32::MAX,
        }),
        Entry::RemovePermanentCode { id: id(5) },
        Entry::ZoneRule(ZoneRule::fixed(3600).expect("zone")),
        Entry::TimeToken(TimeToken::sign(LOCK, 1_700_000_000, &backend())),
        Entry::LogAck(LogAck { up_to_seq: 42, entry_mac: [6; MAC_LEN] }),
    ]
}

#[test]
fn round_trip_every_entry_kind() {
    for kind in [DeltaKind::Incremental, DeltaKind::Snapshot] {
        let d = Delta::sign(kind, LOCK, 9, all_kinds(), &backend());
        let bytes = d.encode();
        assert_eq!(Delta::decode(&bytes), Ok(d.clone()));
        assert_eq!(d.verify(&backend().public_key(), &LOCK), Ok(()));
    }
    let t = TimeToken::sign(LOCK, 5, &backend());
    assert_eq!(TimeToken::decode(&t.encode()), Ok(t));
    assert_eq!(add(0).clone(), add(0));
}

#[test]
fn applies_in_order_and_reports_changes() {
    let pk = backend().public_key();
    let mut s = LockSyncState::new(LOCK);
    let a = s.apply(&delta(1, all_kinds()), &pk).expect("apply");
    assert_eq!(s.last_applied_seq(), 1);
    assert_eq!(a.users_added, vec![id(1)]);
    assert!(a.users_removed.is_empty());
    assert_eq!(a.credentials_revoked, vec![id(3)]);
    assert_eq!(a.time_tokens.len(), 1);
    assert_eq!(a.log_acks.len(), 1);
    assert!(s.is_revoked(&id(3)));
    assert_eq!(s.access(&id(1)), Some(Window { not_before: 100, not_after: 201 }));
    assert_eq!(s.permanent_codes().count(), 1);
    assert_eq!(s.zone_rule(), Some(&ZoneRule::fixed(3600).expect("zone")));
}

fn refused(s: &mut LockSyncState, d: &Delta, want: SyncError) {
    let before = s.clone();
    assert_eq!(s.apply(d, &backend().public_key()), Err(want));
    assert_eq!(*s, before, "state must be unchanged");
}

#[test]
fn forged_wrong_lock_reordered_and_replayed_are_refused() {
    let pk = backend().public_key();
    let mut s = LockSyncState::new(LOCK);
    s.apply(&delta(1, vec![add(1)]), &pk).expect("seq 1");

    // Forged: altered entry, or signed by someone else.
    let mut forged = delta(2, vec![add(2)]);
    forged.entries[0] = add(3);
    refused(&mut s, &forged, SyncError::BadSignature);
    let mallory = SigningKey::from_bytes(&[8; 32]).expect("key");
    refused(
        &mut s,
        &Delta::sign(DeltaKind::Incremental, LOCK, 2, vec![add(2)], &mallory),
        SyncError::BadSignature,
    );
    let mut flipped = delta(2, vec![add(2)]).encode();
    flipped[40] ^= 1;
    refused(&mut s, &Delta::decode(&flipped).expect("decodes"), SyncError::BadSignature);
    // Wrong lock.
    refused(
        &mut s,
        &Delta::sign(DeltaKind::Incremental, OTHER, 2, vec![add(2)], &backend()),
        SyncError::WrongLock,
    );
    // Reordered (skip ahead) and replayed.
    refused(&mut s, &delta(3, vec![add(3)]), SyncError::OutOfOrder { expected: 2, got: 3 });
    refused(&mut s, &delta(1, vec![add(1)]), SyncError::OutOfOrder { expected: 2, got: 1 });
    // A snapshot cannot go back either.
    let old_snap = Delta::sign(DeltaKind::Snapshot, LOCK, 1, vec![], &backend());
    refused(&mut s, &old_snap, SyncError::OutOfOrder { expected: 2, got: 1 });
    // The right one still applies.
    s.apply(&delta(2, vec![add(2)]), &pk).expect("seq 2");
    assert_eq!(s.access_len(), 2);
}

#[test]
fn revocation_removes_access() {
    let pk = backend().public_key();
    let mut s = LockSyncState::new(LOCK);
    s.apply(&delta(1, vec![add(1), add(2)]), &pk).expect("1");
    let a = s
        .apply(
            &delta(
                2,
                vec![
                    Entry::RemoveAccess { user_id: id(1) },
                    Entry::RevokeCredential { credential_id: id(77) },
                ],
            ),
            &pk,
        )
        .expect("2");
    assert_eq!(a.users_removed, vec![id(1)]);
    assert_eq!(a.credentials_revoked, vec![id(77)]);
    assert_eq!(s.access(&id(1)), None);
    assert!(s.access(&id(2)).is_some());
    assert!(s.is_revoked(&id(77)));
}

#[test]
fn snapshot_replaces_and_may_skip_ahead() {
    let pk = backend().public_key();
    let mut s = LockSyncState::new(LOCK);
    s.apply(&delta(1, all_kinds()), &pk).expect("1");
    let snap = Delta::sign(DeltaKind::Snapshot, LOCK, 10, vec![add(9)], &backend());
    let a = s.apply(&snap, &pk).expect("snapshot");
    assert!(a.snapshot);
    assert_eq!(s.last_applied_seq(), 10);
    assert_eq!(s.access_len(), 1);
    assert!(s.access(&id(9)).is_some());
    assert_eq!(a.users_removed, vec![id(1)]);
    assert_eq!(a.permanent_codes_removed, vec![id(4)]);
    assert_eq!(s.permanent_codes().count(), 0);
    assert!(s.is_revoked(&id(3)), "revocations survive a snapshot");
    s.apply(&delta(11, vec![]), &pk).expect("next after snapshot");
}

#[test]
fn bounds_are_enforced_atomically() {
    let mut s = LockSyncState::new(LOCK);
    let codes: Vec<Entry> = (0..=MAX_PERMANENT_CODES as u32)
        .map(|i| {
            Entry::AddPermanentCode(PermanentCode { id: id(i), hash: [1; 16], not_before: 0, not_after: 9 })
        })
        .collect();
    refused(&mut s, &delta(1, codes), SyncError::Full { what: "permanent codes" });
    let too_many: Vec<Entry> =
        (0..=MAX_ENTRIES as u32).map(|i| Entry::RemoveAccess { user_id: id(i) }).collect();
    let d = delta(1, too_many);
    refused(&mut s, &d, SyncError::TooManyEntries(MAX_ENTRIES as u32 + 1));
    assert_eq!(Delta::decode(&d.encode()), Err(SyncError::TooManyEntries(MAX_ENTRIES as u32 + 1)));
    assert_eq!(Delta::decode(&vec![0u8; MAX_DELTA_LEN + 1]), Err(SyncError::TooLarge(MAX_DELTA_LEN + 1)));
    // A huge announced count with few bytes is refused before allocating.
    let mut lie = delta(1, vec![]).encode();
    lie[26..30].copy_from_slice(&16_000u32.to_be_bytes());
    assert_eq!(Delta::decode(&lie), Err(SyncError::Malformed { what: "delta entry count" }));
}

#[test]
fn garbage_never_panics() {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let valid = Delta::sign(DeltaKind::Incremental, LOCK, 1, all_kinds(), &backend()).encode();
    let pk = backend().public_key();
    for round in 0..3_000 {
        let mut bytes = if round % 2 == 0 {
            let len = (next() % 600) as usize;
            (0..len).map(|_| next() as u8).collect::<Vec<u8>>()
        } else {
            valid.clone()
        };
        if !bytes.is_empty() {
            for _ in 0..(next() % 4 + 1) {
                let i = (next() as usize) % bytes.len();
                bytes[i] = next() as u8;
            }
            if round % 3 == 0 {
                bytes.truncate((next() as usize) % bytes.len());
            }
        }
        if let Ok(d) = Delta::decode(&bytes) {
            let mut s = LockSyncState::new(LOCK);
            let _ = s.apply(&d, &pk);
        }
        let _ = TimeToken::decode(&bytes);
    }
}

#[test]
fn time_token_is_monotonic_and_per_lock() {
    let pk = backend().public_key();
    let mut clock = LockClock::new(LOCK);
    assert!(clock.now().uncertain);
    assert_eq!(clock.apply_time_token(&TimeToken::sign(LOCK, 1_000, &backend()), &pk), Ok(1_000));
    assert_eq!(clock.now(), ClockReading { time: 1_000, uncertain: false });
    clock.tick(60);
    // Replaying the same token does not move the clock back.
    assert_eq!(clock.apply_time_token(&TimeToken::sign(LOCK, 1_000, &backend()), &pk), Ok(1_060));
    // An older token is refused outright.
    let before = clock;
    assert_eq!(
        clock.apply_time_token(&TimeToken::sign(LOCK, 999, &backend()), &pk),
        Err(SyncError::StaleTime { last: 1_000, got: 999 })
    );
    // Another lock's token, and a forged one, are refused.
    assert_eq!(
        clock.apply_time_token(&TimeToken::sign(OTHER, 5_000, &backend()), &pk),
        Err(SyncError::WrongLock)
    );
    let mut forged = TimeToken::sign(LOCK, 5_000, &backend());
    forged.time = 6_000;
    assert_eq!(clock.apply_time_token(&forged, &pk), Err(SyncError::BadSignature));
    assert_eq!(clock, before);
    // Power loss: uncertain until a token arrives; the persisted floor still refuses old tokens.
    let mut clock = LockClock::after_power_loss(LOCK, clock.last_token_time());
    assert_eq!(clock.now(), ClockReading { time: 1_000, uncertain: true });
    assert!(clock.apply_time_token(&TimeToken::sign(LOCK, 500, &backend()), &pk).is_err());
    assert_eq!(clock.apply_time_token(&TimeToken::sign(LOCK, 2_000, &backend()), &pk), Ok(2_000));
    assert!(!clock.now().uncertain);
    clock.power_lost();
    assert!(clock.now().uncertain);
    // Issue 17 item 1: with the persisted floor (the last reading saved, 9,000), the clock restarts
    // there, not at the last token (2,000), and a stockpiled token from before the floor is refused.
    let mut clock = LockClock::after_power_loss_from(LOCK, Some(2_000), 9_000);
    assert_eq!(clock.now(), ClockReading { time: 9_000, uncertain: true });
    assert_eq!(
        clock.apply_time_token(&TimeToken::sign(LOCK, 5_000, &backend()), &pk),
        Err(SyncError::StaleTime { last: 9_000, got: 5_000 })
    );
    assert!(clock.now().uncertain);
    assert_eq!(clock.apply_time_token(&TimeToken::sign(LOCK, 9_500, &backend()), &pk), Ok(9_500));
}

#[test]
fn log_ack_verifier_accepts_only_its_own_message() {
    let ack = LogAck { up_to_seq: 7, entry_mac: [3; MAC_LEN] };
    let v = ack.verifier(LOCK);
    assert!(v.verify(&crate::eventlog::ack_message(&LOCK, 7, &[3; MAC_LEN]), &[]));
    assert!(!v.verify(&crate::eventlog::ack_message(&LOCK, 7, &[4; MAC_LEN]), &[]));
    assert!(!v.verify(&crate::eventlog::ack_message(&OTHER, 7, &[3; MAC_LEN]), &[]));
    assert!(!v.verify(&crate::eventlog::ack_message(&LOCK, 8, &[3; MAC_LEN]), &[]));
}

#[test]
fn ten_thousand_additions_are_compact_and_one_apply() {
    let entries: Vec<Entry> = (0..10_000).map(add).collect();
    let d = delta(1, entries);
    let bytes = d.encode();
    assert!(bytes.len() <= 10_000 * 48, "{} bytes", bytes.len());
    assert_eq!(bytes.len(), HEADER_LEN + 10_000 * 25 + SIGNATURE_LEN);
    let mut s = LockSyncState::new(LOCK);
    let decoded = Delta::decode(&bytes).expect("decode");
    let a = s.apply(&decoded, &backend().public_key()).expect("one call");
    assert_eq!(a.users_added.len(), 10_000);
    assert_eq!(s.access_len(), 10_000);
}

#[test]
fn a_delta_holding_only_a_fixed_offset_zone_rule_decodes() {
    // The smallest entry: a one-transition ZoneRule (11 bytes), as a zone without DST (Tokyo) gives.
    let only_zone = delta(1, vec![Entry::ZoneRule(ZoneRule::fixed(9 * 3600).expect("zone"))]);
    let decoded = Delta::decode(&only_zone.encode()).expect("a valid delta");
    assert_eq!(decoded, only_zone);
}

/// Issue 17 item 5: a certain clock that runs ahead of a fresh token steps back, bounded by
/// `MAX_STEP_BACK_SECS` and by 500 ppm of the time since the last token.
#[test]
fn a_fast_clock_steps_back_by_a_bounded_amount() {
    let pk = backend().public_key();
    let mut clock = LockClock::new(LOCK);
    assert_eq!(clock.apply_time_token(&TimeToken::sign(LOCK, 1_000_000, &backend()), &pk), Ok(1_000_000));
    clock.tick(1_000_000 + 900); // 11.6 days by a fast oscillator: 900 s ahead of the true 2,000,000.
    assert_eq!(
        clock.apply_time_token(&TimeToken::sign(LOCK, 2_000_000, &backend()), &pk),
        Ok(2_000_900 - MAX_STEP_BACK_SECS)
    );
    // At once again: no time has passed since the last token, so no step.
    assert_eq!(
        clock.apply_time_token(&TimeToken::sign(LOCK, 2_000_001, &backend()), &pk),
        Ok(2_000_900 - MAX_STEP_BACK_SECS)
    );
    clock.tick(20_000); // 10 s of allowance (20,000 / 2,000).
    let before = clock.now().time;
    assert_eq!(clock.apply_time_token(&TimeToken::sign(LOCK, 2_000_002, &backend()), &pk), Ok(before - 10));
}
