use super::*;

const LOCK: [u8; 16] = [0x11; 16];
const KEY: [u8; 32] = [0x22; 32];
const BACKEND: [u8; 32] = [0x33; 32];

fn record(time: u32, detail: u16) -> Record {
    Record { time, time_uncertain: false, kind: EventKind::DOORCODE_GRANTED, subject: [0; 16], detail }
}

fn log_with(n: u16) -> EventLog {
    let mut log = EventLog::new(LOCK, KEY);
    for i in 0..n {
        log.append(record(1_000 + u32::from(i), i)).expect("room");
    }
    log
}

/// The test stand-in for the backend's ECDSA signature: HMAC with a backend key.
fn backend_sign(message: &[u8]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&BACKEND).expect("any key");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

fn verifier() -> impl AckVerifier {
    |message: &[u8], signature: &[u8]| {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&BACKEND).expect("any key");
        mac.update(message);
        mac.verify_slice(signature).is_ok()
    }
}

fn ack_for(log: &EventLog, seq: u64) -> [u8; 32] {
    let entry = log.pending().iter().find(|e| e.seq == seq).expect("pending");
    backend_sign(&ack_message(&LOCK, seq, &entry.mac))
}

fn brk(index: usize, reason: BreakReason) -> Result<(), ChainBreak> {
    Err(ChainBreak { index, reason })
}

#[test]
fn chain_verifies_from_genesis_and_from_any_acknowledged_point() {
    let log = log_with(5);
    let entries = log.pending();
    assert_eq!(entries[0].seq, FIRST_SEQ);
    assert_eq!(entries[0].prev_mac, GENESIS_PREV_MAC);
    assert_eq!(verify_chain(entries, &KEY, &LOCK, &GENESIS_PREV_MAC), Ok(()));
    assert_eq!(verify_chain(&entries[2..], &KEY, &LOCK, &entries[1].mac), Ok(()));
    assert_eq!(verify_chain(entries, &[0x23; 32], &LOCK, &GENESIS_PREV_MAC), brk(0, BreakReason::BadMac));
    assert_eq!(verify_chain(entries, &KEY, &[0x12; 16], &GENESIS_PREV_MAC), brk(0, BreakReason::BadMac));
}

#[test]
fn drop_reorder_and_tamper_are_detected_where_they_happen() {
    let entries = log_with(5).pending().to_vec();
    let mut dropped = entries.clone();
    dropped.remove(2);
    assert_eq!(verify_chain(&dropped, &KEY, &LOCK, &GENESIS_PREV_MAC), brk(2, BreakReason::BrokenLink));
    let mut first_dropped = entries.clone();
    first_dropped.remove(0);
    assert_eq!(verify_chain(&first_dropped, &KEY, &LOCK, &GENESIS_PREV_MAC), brk(0, BreakReason::BrokenLink));
    let mut reordered = entries.clone();
    reordered.swap(1, 2);
    assert_eq!(verify_chain(&reordered, &KEY, &LOCK, &GENESIS_PREV_MAC), brk(1, BreakReason::BrokenLink));
    let mut tampered = entries.clone();
    tampered[3].record.detail ^= 1;
    assert_eq!(verify_chain(&tampered, &KEY, &LOCK, &GENESIS_PREV_MAC), brk(3, BreakReason::BadMac));
    let mut flagged = entries.clone();
    flagged[4].record.time_uncertain = true;
    assert_eq!(verify_chain(&flagged, &KEY, &LOCK, &GENESIS_PREV_MAC), brk(4, BreakReason::BadMac));
    // A correctly MAC'd entry with a skipped sequence number (e.g. a lock that lost its counter).
    let mut skipped = entries;
    let mut e = skipped[1];
    e.seq = 7;
    e.mac = entry_mac(&KEY, &LOCK, &e.body(), &e.prev_mac);
    skipped[1] = e;
    assert_eq!(verify_chain(&skipped[..2], &KEY, &LOCK, &GENESIS_PREV_MAC), brk(1, BreakReason::BadSeq));
}

#[test]
fn encoding_round_trips_and_decode_never_panics() {
    let mut log = log_with(2);
    log.append(Record {
        time: u32::MAX,
        time_uncertain: true,
        kind: EventKind(0xfe),
        subject: [0xab; 16],
        detail: u16::MAX,
    });
    let bytes = encode_entries(log.pending());
    assert_eq!(bytes.len(), 3 * ENTRY_LEN);
    assert_eq!(decode_entries(&bytes).as_deref(), Ok(log.pending()));
    assert_eq!(decode_entries(&bytes[..ENTRY_LEN + 1]), Err(DecodeError::BadLength));
    assert_eq!(decode_entries(&alloc::vec![0; ENTRY_LEN * (LOG_CAPACITY + 1)]), Err(DecodeError::TooMany));
    let mut bad_flags = bytes[..ENTRY_LEN].to_vec();
    bad_flags[12] = 0x02;
    assert_eq!(Entry::decode(&bad_flags), Err(DecodeError::BadFlags));
    assert_eq!(Entry::decode(&[]), Err(DecodeError::BadLength));
    for len in 0..200usize {
        let junk: Vec<u8> = (0..len).map(|i| (i.wrapping_mul(131) ^ len) as u8).collect();
        let _ = decode_entries(&junk);
        let _ = Entry::decode(&junk);
    }
}

#[test]
fn ack_deletes_exactly_up_to_seq() {
    let mut log = log_with(6);
    let sig = ack_for(&log, 4);
    assert_eq!(log.acknowledge(4, &sig, &verifier()), Ok(4));
    let left: Vec<u64> = log.pending().iter().map(|e| e.seq).collect();
    assert_eq!(left, [5, 6]);
    // The same ack again names no pending entry and deletes nothing.
    assert_eq!(log.acknowledge(4, &sig, &verifier()), Err(AckError::UnknownSeq));
    assert_eq!(log.pending().len(), 2);
    // The chain continues across the deletion.
    log.append(record(2_000, 9));
    let prev = log.pending()[0].prev_mac;
    assert_eq!(verify_chain(log.pending(), &KEY, &LOCK, &prev), Ok(()));
    assert_eq!(log.pending()[2].seq, 7);
}

#[test]
fn forged_or_mismatched_acks_delete_nothing() {
    let mut log = log_with(5);
    let v = verifier();
    let mac3 = log.pending()[2].mac;
    // No signature, a garbage signature, a signature by another key.
    assert_eq!(log.acknowledge(3, &[], &v), Err(AckError::BadSignature));
    assert_eq!(log.acknowledge(3, &[0u8; 32], &v), Err(AckError::BadSignature));
    let mut other = <Hmac<Sha256> as KeyInit>::new_from_slice(&[0x44; 32]).expect("any key");
    other.update(&ack_message(&LOCK, 3, &mac3));
    assert_eq!(log.acknowledge(3, &other.finalize().into_bytes(), &v), Err(AckError::BadSignature));
    // Signed, but over the wrong entry MAC (the backend holds a different entry 3), another seq, or
    // another lock.
    assert_eq!(
        log.acknowledge(3, &backend_sign(&ack_message(&LOCK, 3, &[0; 16])), &v),
        Err(AckError::BadSignature)
    );
    assert_eq!(
        log.acknowledge(3, &backend_sign(&ack_message(&LOCK, 4, &mac3)), &v),
        Err(AckError::BadSignature)
    );
    assert_eq!(
        log.acknowledge(3, &backend_sign(&ack_message(&[0x99; 16], 3, &mac3)), &v),
        Err(AckError::BadSignature)
    );
    // Sequence numbers the lock does not hold.
    assert_eq!(log.acknowledge(0, &ack_for(&log, 3), &v), Err(AckError::UnknownSeq));
    assert_eq!(log.acknowledge(6, &ack_for(&log, 3), &v), Err(AckError::UnknownSeq));
    assert_eq!(log.acknowledge(u64::MAX, &ack_for(&log, 3), &v), Err(AckError::UnknownSeq));
    assert_eq!(EventLog::new(LOCK, KEY).acknowledge(1, &[], &v), Err(AckError::UnknownSeq));
    assert_eq!(log.pending().len(), 5);
}

#[test]
fn overflow_keeps_the_oldest_and_chains_a_gap_marker() {
    let mut log = EventLog::new(LOCK, KEY);
    for i in 0..LOG_CAPACITY {
        assert!(log.append(record(i as u32, 0)).is_some());
    }
    assert_eq!(log.append(record(5_000, 1)), None);
    assert_eq!(log.append(Record { time_uncertain: true, ..record(5_010, 2) }), None);
    assert_eq!(log.append(record(5_020, 3)), None);
    assert_eq!(log.pending().len(), LOG_CAPACITY);
    assert_eq!(log.pending()[LOG_CAPACITY - 1].record.time, (LOG_CAPACITY - 1) as u32);
    assert_eq!(log.lost().count, 3);

    let all_before = log.pending().to_vec();
    let sig = ack_for(&log, 10);
    assert_eq!(log.acknowledge(10, &sig, &verifier()), Ok(10));
    assert_eq!(log.lost(), Lost::default());
    let marker = log.pending().last().expect("marker");
    assert_eq!(marker.seq, LOG_CAPACITY as u64 + 1);
    assert_eq!(marker.record.kind, EventKind::LOG_OVERFLOW);
    assert_eq!(marker.record.detail, 3);
    assert_eq!(marker.record.time, 5_000);
    assert!(marker.record.time_uncertain);
    assert_eq!(&marker.record.subject[..12], &[0, 0, 0, 3, 0, 0, 0x13, 0x88, 0, 0, 0x13, 0x9c]);
    // The backend, holding everything it got before the ack, sees an unbroken chain with the marker.
    let mut seen = all_before;
    seen.push(*marker);
    assert_eq!(verify_chain(&seen, &KEY, &LOCK, &GENESIS_PREV_MAC), Ok(()));
    assert_eq!(log.append(record(6_000, 4)), Some(LOG_CAPACITY as u64 + 2));
}

#[test]
fn state_restores_and_refuses_a_tampered_copy() {
    let mut log = log_with(4);
    let sig = ack_for(&log, 1);
    log.acknowledge(1, &sig, &verifier()).expect("ack");
    let state = log.state().clone();
    let restored = EventLog::restore(LOCK, KEY, state.clone()).expect("valid state");
    assert_eq!(restored.pending(), log.pending());
    let mut tampered = state.clone();
    tampered.entries[1].record.time += 1;
    assert_eq!(
        EventLog::restore(LOCK, KEY, tampered).err(),
        Some(ChainBreak { index: 1, reason: BreakReason::BadMac })
    );
    let mut truncated = state.clone();
    truncated.entries.pop();
    assert!(EventLog::restore(LOCK, KEY, truncated).is_err());
    let mut bad_seq = state;
    bad_seq.next_seq += 1;
    assert!(EventLog::restore(LOCK, KEY, bad_seq).is_err());
}

fn refusal(time: u32, kind: EventKind) -> Record {
    Record { time, time_uncertain: false, kind, subject: [0; 16], detail: 0 }
}

#[test]
fn refusals_in_one_window_are_chained_four_then_counted_into_one_summary() {
    let mut log = EventLog::new(LOCK, KEY);
    for i in 0..1_000u32 {
        let kind = if i % 2 == 0 { EventKind::UNLOCK_DENIED } else { EventKind::DOORCODE_DENIED };
        log.append(refusal(5_000 + i % 500, kind));
    }
    assert_eq!(log.pending().len(), usize::from(REFUSALS_PER_WINDOW));
    assert_eq!(log.refusals().count, 996);
    // A grant: the summary is chained first, then the grant, in order.
    let granted =
        Record { kind: EventKind::UNLOCK_GRANTED, subject: [7; 16], ..refusal(5_600, EventKind(0)) };
    log.append(granted).expect("a grant is chained");
    let [.., summary, last] = log.pending() else { panic!("entries") };
    assert_eq!(last.record, granted);
    assert_eq!(summary.record.kind, EventKind::REFUSALS_COALESCED);
    assert_eq!(summary.record.detail, 996);
    assert_eq!(&summary.record.subject[..4], &996u32.to_be_bytes());
    assert_eq!(
        &summary.record.subject[12..],
        &[0x01, 0xf2, 0x01, 0xf2],
        "498 unlock and 498 keypad refusals"
    );
    assert_eq!(log.refusals().count, 0);
    assert_eq!(verify_chain(log.pending(), &KEY, &LOCK, &GENESIS_PREV_MAC), Ok(()));
}

#[test]
fn endless_refusals_never_take_the_places_kept_for_grants() {
    let mut log = EventLog::new(LOCK, KEY);
    // A week of junk, one refusal a second: many windows, each with 4 full entries and a summary.
    for t in 0..7 * 86_400u32 {
        log.append(refusal(1_000_000 + t, EventKind::DOORCODE_DENIED));
    }
    let held = log.pending().iter().filter(|e| e.record.kind.is_refusal()).count();
    assert_eq!(held, REFUSAL_SHARE);
    assert!(log.refusals().count > 0, "the rest is counted, not lost");
    assert_eq!(log.lost().count, 0);
    for n in 0..GRANT_RESERVE as u32 {
        let grant = Record { kind: EventKind::DOORCODE_GRANTED, ..refusal(2_000_000 + n, EventKind(0)) };
        assert!(log.append(grant).is_some(), "grant {n} has its reserved place");
    }
    assert_eq!(log.pending().len(), LOG_CAPACITY);
}
