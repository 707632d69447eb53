//! Sync flow tests over the fake lock of `fake.rs`, its lock side answering with the protocol's
//! `SyncReceiver`, a `SyncReport` and two more sealed log batches.

use std::sync::{Arc, Mutex};

use latchkey_protocol::crypto::DhSecret;
use latchkey_protocol::sync::TIME_TOKEN_LEN;
use latchkey_protocol::sync::{
    LogBatch, SyncChannel, SyncInbound, SyncReceiver, decode_log_request, open_log_batch, seal_log_batch,
};

use super::fake::{FakeLock, Fault, LOCK_ID, LockState, NOW, lock_static};
use super::*;

const LOG_KEY: [u8; 32] = [0x44; 32];

/// The fake lock's static public key, as the backend would list it.
fn lock_key() -> Vec<u8> {
    lock_static().public_key().to_bytes().to_vec()
}

/// A lock that records what it received, reports, and serves `extra_batches` more batches, sealing its
/// answers under the sync channel of `static_key` (the real lock's, or an impostor's).
fn sync_lock(mtu: u16, extra_batches: u32, inbound: Arc<Mutex<Option<SyncInbound>>>) -> FakeLock {
    sync_lock_with(lock_static(), mtu, extra_batches, inbound)
}

fn sync_lock_with(
    static_key: DhSecret,
    mtu: u16,
    extra_batches: u32,
    inbound: Arc<Mutex<Option<SyncInbound>>>,
) -> FakeLock {
    let mut receiver = SyncReceiver::new();
    let mut channel = None;
    let responder = move |state: &mut LockState, message: &[u8]| -> Vec<Vec<u8>> {
        let hello = state.session.as_ref().expect("connected").hello().to_vec();
        if let Ok(index) = decode_log_request(message) {
            let sealed = seal_log_batch(&LOG_KEY, &LOCK_ID, &hello, index, &[]).expect("seals");
            let batch = LogBatch { more_logs: index < extra_batches, sealed_logs: sealed };
            let channel: &SyncChannel = channel.as_ref().expect("a report first");
            return vec![channel.seal_log_batch_message(index, &batch).expect("seals")];
        }
        match receiver.handle(message).expect("well-formed sync") {
            None => Vec::new(),
            Some(got) => {
                let outcomes = (0..got.deltas.len() as u64).map(|i| (i + 1, DeltaOutcome::Applied)).collect();
                let sealer =
                    SyncChannel::lock(&static_key, &got.phone_key, &LOCK_ID, &hello).expect("channel");
                *inbound.lock().expect("inbound") = Some(got);
                let report = SyncReport {
                    last_applied_seq: 2,
                    lock_time: NOW,
                    time_status: TimeStatus::Synced,
                    battery_percent: 87,
                    outcomes,
                    more_logs: extra_batches > 0,
                    sealed_logs: seal_log_batch(&LOG_KEY, &LOCK_ID, &hello, 0, &[]).expect("seals"),
                };
                let message = sealer.seal_report(&report).expect("seals");
                channel = Some(sealer);
                vec![message]
            }
        }
    };
    FakeLock::new(mtu, Fault::None).with_responder(Box::new(responder))
}

#[tokio::test]
async fn sync_carries_deltas_down_and_two_more_log_batches_up() {
    for mtu in [23u16, 185] {
        let inbound = Arc::new(Mutex::new(None));
        let lock = sync_lock(mtu, 2, inbound.clone());
        let deltas = vec![vec![0xaa; 5000], vec![0xbb; 40]];
        let token = [0x5c; TIME_TOKEN_LEN];
        let outcome = sync(&lock, LOCK_ID, &lock_key(), deltas.clone(), Some(token), &Timeouts::default())
            .await
            .expect("synced");

        let got = inbound.lock().expect("inbound").take().expect("the lock got the sync");
        assert_eq!(got.deltas, deltas);
        assert_eq!(got.time_token, Some(token));

        assert_eq!(outcome.hello.len(), 39);
        assert_eq!(outcome.report.last_applied_seq, 2);
        assert_eq!(outcome.report.battery_percent, 87);
        assert_eq!(outcome.report.outcomes, vec![(1, DeltaOutcome::Applied), (2, DeltaOutcome::Applied)]);
        let indices: Vec<u32> = outcome.log_batches.iter().map(|(i, _)| *i).collect();
        assert_eq!(indices, vec![0, 1, 2]);
        assert!(!outcome.logs_remaining);
        for (index, sealed) in &outcome.log_batches {
            let entries = open_log_batch(&LOG_KEY, &LOCK_ID, &outcome.hello, *index, sealed)
                .expect("the backend opens it");
            assert!(entries.is_empty());
        }
        assert_eq!(outcome.stats.round_trips, 3, "report, then one per log request (mtu {mtu})");
        let state = lock.state();
        assert_eq!((state.connections, state.disconnects), (1, 1));
    }
}

#[tokio::test]
async fn sync_without_logs_or_deltas_is_one_round_trip() {
    let lock = sync_lock(185, 0, Arc::new(Mutex::new(None)));
    let outcome =
        sync(&lock, LOCK_ID, &lock_key(), Vec::new(), None, &Timeouts::default()).await.expect("synced");
    assert_eq!(outcome.log_batches.len(), 1);
    assert!(outcome.report.outcomes.is_empty());
    assert_eq!(outcome.stats.round_trips, 1);
}

#[tokio::test]
async fn an_abort_or_a_bad_request_is_a_typed_error() {
    let lock = FakeLock::new(185, Fault::None)
        .with_responder(Box::new(|_: &mut LockState, _: &[u8]| vec![AbortReason::Malformed.encode()]));
    let err = sync(&lock, LOCK_ID, &lock_key(), vec![vec![1; 10]], None, &Timeouts::default())
        .await
        .expect_err("aborted");
    assert_eq!(err, SyncFlowError::LockAborted { reason: AbortReason::Malformed });
    assert_eq!(lock.state().disconnects, 1);

    let too_many = vec![vec![1u8; 10]; 17];
    let err =
        sync(&lock, LOCK_ID, &lock_key(), too_many, None, &Timeouts::default()).await.expect_err("refused");
    assert!(matches!(err, SyncFlowError::InvalidInput { .. }), "{err:?}");
    assert_eq!(lock.state().connections, 1, "nothing is sent for a bad request");
}

#[tokio::test(start_paused = true)]
async fn a_silent_lock_times_out_during_sync() {
    let lock = FakeLock::new(23, Fault::Silent);
    let err =
        sync(&lock, LOCK_ID, &lock_key(), Vec::new(), None, &Timeouts::default()).await.expect_err("timeout");
    assert_eq!(err, SyncFlowError::Transport(TransportError::Timeout { what: "hello" }));
    assert_eq!(lock.state().disconnects, 1);
}

#[tokio::test]
async fn an_impostor_s_report_is_not_believed() {
    // Same lock id, its own static key: it claims every delta applied up to 2^63.
    let impostor = DhSecret::from_bytes(&[0x77; 32]).expect("key");
    let lock = sync_lock_with(impostor, 185, 0, Arc::new(Mutex::new(None)));
    let err = sync(&lock, LOCK_ID, &lock_key(), vec![vec![1; 10]], None, &Timeouts::default())
        .await
        .expect_err("an impostor's answer");
    assert_eq!(err, SyncFlowError::NotAuthenticated);
    assert!(err.to_string().contains("prove it holds the lock's key"), "{err}");
    assert_eq!(lock.state().disconnects, 1);
}

#[tokio::test]
async fn a_lock_key_that_is_not_a_p256_key_is_refused_before_connecting() {
    let lock = sync_lock(185, 0, Arc::new(Mutex::new(None)));
    let err =
        sync(&lock, LOCK_ID, &[0x05; 33], Vec::new(), None, &Timeouts::default()).await.expect_err("bad key");
    assert!(matches!(err, SyncFlowError::InvalidInput { .. }), "{err:?}");
    assert_eq!(lock.state().connections, 0);
}
