use alloc::vec;
use alloc::vec::Vec;

use super::*;
use crate::ProtocolError;
use crate::crypto::{DhSecret, PublicKey, TAG_LEN};
use crate::eventlog::{ENTRY_LEN, Entry, EventKind, EventLog, Record};
use crate::framing::MAX_MESSAGE;
use crate::unlock::{HELLO_LEN, Hello, TimeStatus};

const LOCK_ID: [u8; 16] = [0x11; 16];
const LOG_KEY: [u8; 32] = [0x22; 32];

fn hello() -> [u8; HELLO_LEN] {
    Hello {
        version: crate::unlock::VERSION,
        lock_id: LOCK_ID,
        challenge: [0x33; 16],
        lock_time: 1_700_000_000,
        time_status: TimeStatus::Synced,
    }
    .encode()
}

/// The phone's ephemeral key in these tests.
fn phone_secret() -> DhSecret {
    DhSecret::from_bytes(&[0x0e; 32]).expect("key")
}

fn phone_key() -> PublicKey {
    phone_secret().public_key()
}

fn entries(n: usize) -> Vec<Entry> {
    let mut log = EventLog::new(LOCK_ID, LOG_KEY);
    for i in 0..n {
        log.append(Record {
            time: 1_700_000_000 + i as u32,
            time_uncertain: i % 3 == 0,
            kind: EventKind::UNLOCK_GRANTED,
            subject: [i as u8; 16],
            detail: i as u16,
        })
        .expect("room in the log");
    }
    log.pending().to_vec()
}

fn delta_bytes(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect()
}

fn feed(messages: &[Vec<u8>]) -> Result<Option<SyncInbound>, ProtocolError> {
    let mut r = SyncReceiver::new();
    let mut last = Ok(None);
    for m in messages {
        last = r.handle(m);
        assert!(r.staged_capacity() <= MAX_SYNC_BYTES);
        if last.is_err() {
            assert_eq!(r.staged_capacity(), 0);
            return last;
        }
    }
    last
}

fn chunk(index: u8, total: u32, offset: u32, data: &[u8]) -> Vec<u8> {
    let mut m = vec![TYPE_DELTA_CHUNK, index];
    m.extend_from_slice(&total.to_be_bytes());
    m.extend_from_slice(&offset.to_be_bytes());
    m.extend_from_slice(data);
    m
}

#[test]
fn sync_round_trips_with_and_without_token() {
    let token = [0x44u8; TIME_TOKEN_LEN];
    let deltas = vec![delta_bytes(94, 1), delta_bytes(5000, 2), delta_bytes(1, 3)];
    for t in [None, Some(&token)] {
        let msgs = sync_messages(&deltas, t, &phone_key()).expect("builds");
        assert_eq!(msgs[0][0], TYPE_SYNC_BEGIN);
        let end = msgs.last().expect("SyncEnd");
        assert_eq!((end[0], end.len()), (TYPE_SYNC_END, SYNC_END_LEN));
        assert_eq!(&end[1..], &phone_key().to_bytes()[..]);
        let got = feed(&msgs).expect("accepted").expect("complete");
        assert_eq!(got.deltas, deltas);
        assert_eq!(got.time_token, t.copied());
        assert_eq!(got.phone_key, phone_key());
    }
    // Zero deltas (time token only, or just to fetch logs).
    let got = feed(&sync_messages(&[], None, &phone_key()).expect("builds")).expect("ok").expect("complete");
    assert!(got.deltas.is_empty() && got.time_token.is_none());
}

#[test]
fn a_250_kb_delta_is_chunked_within_max_message_and_reassembled_exactly() {
    let big = delta_bytes(250 * 1024, 7);
    let msgs = sync_messages(core::slice::from_ref(&big), None, &phone_key()).expect("builds");
    assert!(msgs.iter().all(|m| m.len() <= MAX_MESSAGE && !m.is_empty()));
    assert_eq!(msgs.len(), 2 + big.len().div_ceil(MAX_CHUNK_DATA));
    let mut r = SyncReceiver::new();
    let mut out = None;
    for m in &msgs {
        out = r.handle(m).expect("accepted");
        assert!(r.staged_capacity() <= big.len());
    }
    assert_eq!(out.expect("complete").deltas, vec![big]);
    assert!(r.is_finished());
    assert_eq!(r.handle(&msgs[0]), Err(ProtocolError::SessionFinished));
}

#[test]
fn builder_refuses_what_the_lock_would() {
    let too_many = vec![delta_bytes(10, 0); MAX_DELTAS_PER_SYNC + 1];
    assert!(sync_messages(&too_many, None, &phone_key()).is_err());
    assert!(sync_messages(&[Vec::new()], None, &phone_key()).is_err());
    assert!(sync_messages(&[delta_bytes(MAX_DELTA_LEN + 1, 0)], None, &phone_key()).is_err());
    let three = vec![delta_bytes(MAX_DELTA_LEN, 0); 3];
    assert!(sync_messages(&three, None, &phone_key()).is_err());
    assert!(sync_messages(&three[..2], None, &phone_key()).is_ok());
}

#[test]
fn out_of_place_messages_are_refused_and_drop_everything() {
    let d = delta_bytes(10_000, 9);
    let msgs = sync_messages(&[d.clone(), d.clone()], None, &phone_key()).expect("builds");
    // msgs: begin, 3 chunks of delta 0, 3 chunks of delta 1, end.
    assert_eq!(msgs.len(), 8);
    let err = |ms: Vec<Vec<u8>>| feed(&ms).expect_err("refused");

    // Chunk before SyncBegin; SyncEnd before SyncBegin; double SyncBegin; unknown type; empty message.
    assert_eq!(err(vec![msgs[1].clone()]), ProtocolError::UnexpectedMessage { got: TYPE_DELTA_CHUNK });
    assert_eq!(err(vec![vec![TYPE_SYNC_END]]), ProtocolError::UnexpectedMessage { got: TYPE_SYNC_END });
    assert_eq!(err(vec![msgs[0].clone(), msgs[0].clone()]), ProtocolError::UnexpectedMessage { got: 0x10 });
    assert_eq!(err(vec![msgs[0].clone(), vec![0x02, 0]]), ProtocolError::UnexpectedMessage { got: 0x02 });
    assert_eq!(err(vec![msgs[0].clone(), vec![]]), ProtocolError::MessageSize(0));
    assert_eq!(err(vec![vec![0x10; MAX_MESSAGE + 1]]), ProtocolError::MessageSize(MAX_MESSAGE + 1));

    // Out of order, repeated, skipped chunks.
    err(vec![msgs[0].clone(), msgs[2].clone()]);
    err(vec![msgs[0].clone(), msgs[1].clone(), msgs[1].clone()]);
    err(vec![msgs[0].clone(), msgs[1].clone(), msgs[3].clone()]);
    // Delta 1 before delta 0 is complete; delta 1 first.
    err(vec![msgs[0].clone(), msgs[1].clone(), msgs[4].clone()]);
    err(vec![msgs[0].clone(), msgs[4].clone()]);
    // Overlapping chunk (offset one byte back), a gap (one byte forward), a changed total.
    let first_len = msgs[1].len() - CHUNK_HEADER_LEN;
    let total = d.len() as u32;
    for (off, tot) in [(first_len - 1, total), (first_len + 1, total), (first_len, total + 1)] {
        let c = chunk(0, tot, off as u32, &d[off.min(d.len() - 1)..(off + 10).min(d.len())]);
        err(vec![msgs[0].clone(), msgs[1].clone(), c]);
    }
    // Data beyond the announced total.
    err(vec![msgs[0].clone(), chunk(0, 4, 0, &[1, 2, 3, 4, 5])]);
    err(vec![msgs[0].clone(), chunk(0, 4, 0, &[1, 2]), chunk(0, 4, 2, &[3, 4, 5])]);
    // Empty chunk data, first chunk at a non-zero offset, zero total.
    err(vec![msgs[0].clone(), chunk(0, 4, 0, &[])]);
    err(vec![msgs[0].clone(), chunk(0, 4, 1, &[1])]);
    err(vec![msgs[0].clone(), chunk(0, 0, 0, &[1])]);
    // SyncEnd before all chunks; SyncEnd with a body; more deltas than announced.
    err(vec![msgs[0].clone(), msgs[1].clone(), msgs[7].clone()]);
    err(msgs[..4].iter().cloned().chain([msgs[7].clone()]).collect());
    let mut ms = msgs.clone();
    ms[7] = vec![TYPE_SYNC_END, 0];
    err(ms.clone());
    // SyncEnd without the phone key, with a cut key, or with bytes that are not a P-256 point.
    ms[7] = vec![TYPE_SYNC_END];
    err(ms.clone());
    ms[7] = msgs[7][..SYNC_END_LEN - 1].to_vec();
    err(ms.clone());
    ms[7] = [&[TYPE_SYNC_END, 0x02][..], &[0xff; 32]].concat();
    err(ms);
    let one = sync_messages(core::slice::from_ref(&d), None, &phone_key()).expect("builds");
    err(one[..4].iter().cloned().chain([chunk(1, 4, 0, &[1, 2, 3, 4])]).collect());
}

#[test]
fn sync_begin_is_strict() {
    let token = [0u8; TIME_TOKEN_LEN];
    let mut with = vec![TYPE_SYNC_BEGIN, 0, 1];
    with.extend_from_slice(&token);
    assert!(feed(&[with.clone()]).is_ok());
    for bad in [
        vec![TYPE_SYNC_BEGIN],
        vec![TYPE_SYNC_BEGIN, 0],
        vec![TYPE_SYNC_BEGIN, 17, 0],
        vec![TYPE_SYNC_BEGIN, 0, 2],
        vec![TYPE_SYNC_BEGIN, 0, 0, 0],
        vec![TYPE_SYNC_BEGIN, 0, 1],
        with[..with.len() - 1].to_vec(),
        [with.as_slice(), &[0]].concat(),
    ] {
        assert!(feed(&[bad]).is_err());
    }
}

#[test]
fn oversized_totals_are_refused_before_staging() {
    let begin = vec![TYPE_SYNC_BEGIN, 16, 0];
    // One delta over the per-delta limit.
    let r = feed(&[begin.clone(), chunk(0, MAX_DELTA_LEN as u32 + 1, 0, &[0])]);
    assert!(r.is_err());
    let r = feed(&[begin.clone(), chunk(0, u32::MAX, 0, &[0])]);
    assert!(r.is_err());
    // Announced totals over the sync budget: two full-size deltas fit, a third is refused at its first
    // chunk, and the receiver never held more than it was sent.
    let mut rx = SyncReceiver::new();
    rx.handle(&begin).expect("begin");
    let full = MAX_DELTA_LEN as u32;
    let data = vec![0xa5u8; MAX_CHUNK_DATA];
    for index in 0..2u8 {
        let mut offset = 0u32;
        while offset < full {
            let n = (full - offset).min(MAX_CHUNK_DATA as u32) as usize;
            rx.handle(&chunk(index, full, offset, &data[..n])).expect("within budget");
            offset += n as u32;
            assert!(rx.staged_capacity() <= MAX_SYNC_BYTES);
        }
    }
    assert_eq!(rx.staged_capacity(), MAX_SYNC_BYTES);
    assert!(rx.handle(&chunk(2, 1, 0, &[0])).is_err());
    assert_eq!(rx.staged_capacity(), 0);
    // A lying total with tiny data stages only what was sent.
    let mut rx = SyncReceiver::new();
    rx.handle(&begin).expect("begin");
    rx.handle(&chunk(0, full, 0, &[1])).expect("first chunk");
    assert!(rx.staged_capacity() < 64);
}

#[test]
fn report_and_log_messages_round_trip() {
    let h = hello();
    let sealed =
        seal_log_batch(&LOG_KEY, &LOCK_ID, &h, 0, &entries(MAX_LOG_ENTRIES_PER_BATCH)).expect("seals");
    assert_eq!(sealed.len(), SEALED_BATCH_MAX);
    let report = SyncReport {
        last_applied_seq: 42,
        lock_time: 1_700_000_123,
        time_status: TimeStatus::Uncertain,
        battery_percent: 87,
        outcomes: (0..MAX_DELTAS_PER_SYNC as u64)
            .map(|i| {
                let o = match i % 3 {
                    0 => DeltaOutcome::Applied,
                    1 => DeltaOutcome::AlreadyApplied,
                    _ => DeltaOutcome::Refused(refusal::OUT_OF_ORDER),
                };
                (40 + i, o)
            })
            .collect(),
        more_logs: true,
        sealed_logs: sealed.clone(),
    };
    let bytes = report.encode_plaintext();
    assert!(bytes.len() <= MAX_REPORT_PLAINTEXT, "{}", bytes.len());
    assert_eq!(SyncReport::decode_plaintext(&bytes), Ok(report.clone()));
    // Trailing or missing bytes and bad flags are refused.
    assert!(SyncReport::decode_plaintext(&[bytes.as_slice(), &[0]].concat()).is_err());
    assert!(SyncReport::decode_plaintext(&bytes[..bytes.len() - 1]).is_err());
    let empty = SyncReport { outcomes: Vec::new(), sealed_logs: Vec::new(), ..report.clone() };
    assert!(SyncReport::decode_plaintext(&empty.encode_plaintext()).is_err(), "batch 0 is always present");
    let mut bad = SyncReport { outcomes: Vec::new(), ..report.clone() }.encode_plaintext();
    bad[15] = 2;
    assert!(SyncReport::decode_plaintext(&bad).is_err());
    bad[15] = 1;
    bad[12] = 2;
    assert!(SyncReport::decode_plaintext(&bad).is_err());
    let mut bad =
        SyncReport { outcomes: vec![(1, DeltaOutcome::Applied)], ..report.clone() }.encode_plaintext();
    bad[23] = 3;
    assert!(SyncReport::decode_plaintext(&bad).is_err());
    let mut bad = bytes.clone();
    bad[14] = 17;
    assert!(SyncReport::decode_plaintext(&bad).is_err());

    assert_eq!(decode_log_request(&log_request(0x0102_0304)), Ok(0x0102_0304));
    assert!(decode_log_request(&[TYPE_LOG_REQUEST, 0, 0, 0]).is_err());
    assert!(decode_log_request(&[TYPE_LOG_REQUEST, 0, 0, 0, 0, 0]).is_err());
    assert!(decode_log_request(&[TYPE_LOG_BATCH, 0, 0, 0, 0]).is_err());
    assert!(decode_log_request(&[]).is_err());

    let batch = LogBatch { more_logs: false, sealed_logs: sealed };
    let enc = batch.encode_plaintext();
    assert!(enc.len() < MAX_MESSAGE - TAG_LEN);
    assert_eq!(LogBatch::decode_plaintext(&enc), Ok(batch));
    assert!(LogBatch::decode_plaintext(&[2]).is_err());
    assert!(LogBatch::decode_plaintext(&[0]).is_err());
    assert!(LogBatch::decode_plaintext(&[]).is_err());
    assert!(LogBatch::decode_plaintext(&enc[..enc.len() - 1]).is_err());
    assert_eq!(message_type(&[TYPE_LOG_BATCH, 0]), Some(TYPE_LOG_BATCH));
    assert_eq!(message_type(&[]), None);
}

#[test]
fn seal_open_round_trips_and_binds_everything() {
    let h = hello();
    for n in [0usize, 1, 2, MAX_LOG_ENTRIES_PER_BATCH] {
        let es = entries(n);
        let sealed = seal_log_batch(&LOG_KEY, &LOCK_ID, &h, 5, &es).expect("seals");
        assert_eq!(sealed.len(), SEALED_BATCH_MIN + n * ENTRY_LEN);
        assert_eq!(open_log_batch(&LOG_KEY, &LOCK_ID, &h, 5, &sealed), Ok(es));
    }
    assert!(seal_log_batch(&LOG_KEY, &LOCK_ID, &h, 0, &entries(MAX_LOG_ENTRIES_PER_BATCH + 1)).is_err());

    let es = entries(2);
    let sealed = seal_log_batch(&LOG_KEY, &LOCK_ID, &h, 1, &es).expect("seals");
    // Tampering anywhere.
    for i in 0..sealed.len() {
        let mut t = sealed.clone();
        t[i] ^= 0x01;
        assert_eq!(open_log_batch(&LOG_KEY, &LOCK_ID, &h, 1, &t), Err(ProtocolError::DecryptFailed));
    }
    assert!(open_log_batch(&LOG_KEY, &LOCK_ID, &h, 1, &sealed[..sealed.len() - 1]).is_err());
    // Wrong key, wrong hello (other challenge), wrong batch index, wrong lock.
    assert!(open_log_batch(&[0x23; 32], &LOCK_ID, &h, 1, &sealed).is_err());
    let mut h2 = h;
    h2[20] ^= 1;
    assert!(open_log_batch(&LOG_KEY, &LOCK_ID, &h2, 1, &sealed).is_err());
    assert!(open_log_batch(&LOG_KEY, &LOCK_ID, &h, 0, &sealed).is_err());
    assert!(open_log_batch(&LOG_KEY, &LOCK_ID, &h, 2, &sealed).is_err());
    assert_eq!(open_log_batch(&LOG_KEY, &[0x12; 16], &h, 1, &sealed), Err(ProtocolError::WrongLock));
    assert!(open_log_batch(&LOG_KEY, &LOCK_ID, &h[..38], 1, &sealed).is_err());
    assert_eq!(seal_log_batch(&LOG_KEY, &[0x12; 16], &h, 1, &es), Err(ProtocolError::WrongLock));
    // Same inputs, same bytes (deterministic); another batch index, other bytes.
    assert_eq!(seal_log_batch(&LOG_KEY, &LOCK_ID, &h, 1, &es).expect("seals"), sealed);
    assert_ne!(seal_log_batch(&LOG_KEY, &LOCK_ID, &h, 2, &es).expect("seals"), sealed);
}

/// xorshift64*: a tiny deterministic PRNG for property-style tests.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

#[test]
fn garbage_and_mutations_never_panic_or_overstage() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let token = [0x55u8; TIME_TOKEN_LEN];
    let good = sync_messages(&[delta_bytes(9000, 1), delta_bytes(300, 2)], Some(&token), &phone_key())
        .expect("builds");
    let h = hello();
    let sealed = seal_log_batch(&LOG_KEY, &LOCK_ID, &h, 0, &entries(3)).expect("seals");
    let report = SyncReport {
        last_applied_seq: 1,
        lock_time: 2,
        time_status: TimeStatus::Synced,
        battery_percent: 3,
        outcomes: vec![(1, DeltaOutcome::Applied), (2, DeltaOutcome::Refused(5))],
        more_logs: false,
        sealed_logs: sealed.clone(),
    }
    .encode_plaintext();
    let batch = LogBatch { more_logs: true, sealed_logs: sealed.clone() }.encode_plaintext();
    let mutate = |rng: &mut Rng, base: &[u8]| -> Vec<u8> {
        let mut m = if rng.next().is_multiple_of(4) {
            let len = (rng.next() % 200) as usize;
            (0..len).map(|_| rng.next() as u8).collect()
        } else {
            base.to_vec()
        };
        if !m.is_empty() && !rng.next().is_multiple_of(3) {
            let i = (rng.next() as usize) % m.len();
            m[i] ^= 1 << (rng.next() % 8);
        }
        if !m.is_empty() && rng.next().is_multiple_of(5) {
            let cut = (rng.next() as usize) % m.len();
            m.truncate(cut);
        }
        m
    };
    for _ in 0..5_000 {
        let mut r = SyncReceiver::new();
        for m in &good {
            let m = if rng.next().is_multiple_of(6) { mutate(&mut rng, m) } else { m.clone() };
            let _ = r.handle(&m);
            assert!(r.staged_capacity() <= MAX_SYNC_BYTES);
        }
        let _ = SyncReport::decode_plaintext(&mutate(&mut rng, &report));
        let _ = LogBatch::decode_plaintext(&mutate(&mut rng, &batch));
        let _ = decode_log_request(&mutate(&mut rng, &log_request(7)));
        let s = mutate(&mut rng, &sealed);
        let _ = open_log_batch(&LOG_KEY, &LOCK_ID, &h, 0, &s);
        let hh = mutate(&mut rng, &h);
        let _ = open_log_batch(&LOG_KEY, &LOCK_ID, &hh, 0, &sealed);
    }
}

#[test]
fn refusal_reasons_map_every_sync_error() {
    use crate::sync::SyncError;
    let all = [
        SyncError::Malformed { what: "x" },
        SyncError::TooLarge(1),
        SyncError::TooManyEntries(1),
        SyncError::UnsupportedVersion(2),
        SyncError::BadSignature,
        SyncError::WrongLock,
        SyncError::OutOfOrder { expected: 2, got: 3 },
        SyncError::Full { what: "x" },
        SyncError::StaleTime { last: 2, got: 1 },
    ];
    let codes: Vec<u8> = all.iter().map(refusal_reason).collect();
    assert_eq!(codes, (1..=9).collect::<Vec<u8>>());
}

/// The lock's static key in these tests, and an impostor's.
const LOCK_STATIC: [u8; 32] = [0x5a; 32];
const IMPOSTOR_STATIC: [u8; 32] = [0x6b; 32];

fn small_report(h: &[u8]) -> SyncReport {
    SyncReport {
        last_applied_seq: 7,
        lock_time: 1_700_000_000,
        time_status: TimeStatus::Synced,
        battery_percent: 90,
        outcomes: vec![(7, DeltaOutcome::Applied)],
        more_logs: true,
        sealed_logs: seal_log_batch(&LOG_KEY, &LOCK_ID, h, 0, &entries(2)).expect("seals"),
    }
}

#[test]
fn the_real_lock_s_sealed_report_and_batches_open_at_the_phone() {
    let h = hello();
    let lock_static = DhSecret::from_bytes(&LOCK_STATIC).expect("key");
    let lock = SyncChannel::lock(&lock_static, &phone_key(), &LOCK_ID, &h).expect("lock side");
    let phone = SyncChannel::phone(&phone_secret(), &lock_static.public_key(), &LOCK_ID, &h).expect("phone");
    let report = small_report(&h);
    let message = lock.seal_report(&report).expect("seals");
    assert_eq!(message[0], TYPE_SYNC_REPORT);
    assert_eq!(message.len(), 1 + report.encode_plaintext().len() + TAG_LEN);
    assert_eq!(phone.open_report(&message), Ok(report));
    let batch = LogBatch {
        more_logs: false,
        sealed_logs: seal_log_batch(&LOG_KEY, &LOCK_ID, &h, 1, &[]).expect("s"),
    };
    let message = lock.seal_log_batch_message(1, &batch).expect("seals");
    assert_eq!(phone.open_log_batch_message(1, &message), Ok(batch.clone()));
    // A batch answered for another index, a batch in place of the report and the reverse are refused.
    assert_eq!(phone.open_log_batch_message(2, &message), Err(ProtocolError::DecryptFailed));
    assert!(phone.open_report(&message).is_err());
    assert!(lock.seal_log_batch_message(0, &batch).is_err());
    assert!(phone.open_log_batch_message(0, &message).is_err());
}

#[test]
fn an_impostor_lock_cannot_seal_a_report_the_phone_believes() {
    let h = hello();
    let lock_static = DhSecret::from_bytes(&LOCK_STATIC).expect("key");
    let phone = SyncChannel::phone(&phone_secret(), &lock_static.public_key(), &LOCK_ID, &h).expect("phone");
    // The impostor advertises the lock's id and answers with its own key: it claims seq 2^63.
    let impostor = DhSecret::from_bytes(&IMPOSTOR_STATIC).expect("key");
    let forged = SyncReport { last_applied_seq: 1 << 63, ..small_report(&h) };
    let sealed = SyncChannel::lock(&impostor, &phone_key(), &LOCK_ID, &h).expect("s").seal_report(&forged);
    assert_eq!(phone.open_report(&sealed.expect("seals")), Err(ProtocolError::DecryptFailed));
    // The old unsealed layout (type byte then the plaintext) is refused as well.
    let plain = [&[TYPE_SYNC_REPORT][..], &forged.encode_plaintext()].concat();
    assert_eq!(phone.open_report(&plain), Err(ProtocolError::DecryptFailed));
    // A report the real lock sealed on another connection (other hello) or for another phone key is refused.
    let mut other_hello = h;
    other_hello[20] ^= 1;
    let lock_other = SyncChannel::lock(&lock_static, &phone_key(), &LOCK_ID, &other_hello).expect("s");
    assert!(phone.open_report(&lock_other.seal_report(&forged).expect("s")).is_err());
    let other_phone = DhSecret::from_bytes(&[0x0f; 32]).expect("key").public_key();
    let lock_for_other = SyncChannel::lock(&lock_static, &other_phone, &LOCK_ID, &h).expect("s");
    assert!(phone.open_report(&lock_for_other.seal_report(&forged).expect("s")).is_err());
    // Tampering anywhere in a real report is refused.
    let real = SyncChannel::lock(&lock_static, &phone_key(), &LOCK_ID, &h).expect("s");
    let message = real.seal_report(&small_report(&h)).expect("seals");
    for i in 1..message.len() {
        let mut t = message.clone();
        t[i] ^= 0x01;
        assert_eq!(phone.open_report(&t), Err(ProtocolError::DecryptFailed));
    }
    // A hello naming another lock gives no channel.
    assert_eq!(
        SyncChannel::phone(&phone_secret(), &lock_static.public_key(), &[0x12; 16], &h).map(|_| ()),
        Err(ProtocolError::WrongLock)
    );
}
