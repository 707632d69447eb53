//! Unlock flow tests over the fake lock of `fake.rs` (no simulator).

use std::time::Duration;

use latchkey_protocol::credential::{CredentialBody, Flags, Role};
use latchkey_protocol::crypto::PublicKey;

use super::fake::{FakeLock, Fault, LOCK_ID, NOW, backend_key, lock_static};
use super::*;

fn signer() -> SoftwareSigner {
    SoftwareSigner::from_secret_bytes([0x22; 32]).expect("valid")
}

fn credential_with(f: impl FnOnce(&mut CredentialBody)) -> Vec<u8> {
    let device = PublicKey::from_bytes(&signer().public_key().expect("key")).expect("point");
    let mut body = CredentialBody {
        credential_id: [0xc1; 16],
        lock_id: LOCK_ID,
        user_id: [0xa1; 16],
        not_before: NOW - 3600,
        not_after: NOW + 7 * 86_400,
        role: Role::Resident,
        flags: Flags::default(),
        device_pub: device,
    };
    f(&mut body);
    body.sign(&backend_key()).encode().to_vec()
}

fn request(credential: Vec<u8>, ticket: Option<PhoneTicket>) -> UnlockRequest {
    UnlockRequest {
        lock: LockKeys { lock_id: LOCK_ID, lock_public_key: lock_static().public_key().to_bytes() },
        credential,
        command: Command::Unlock,
        ticket,
    }
}

fn fast() -> Timeouts {
    Timeouts::default()
}

/// Every connection the fake lock saw was disconnected.
fn assert_all_disconnected(lock: &FakeLock) {
    let state = lock.state();
    assert!(state.connections > 0);
    assert_eq!(state.connections, state.disconnects, "a link was left connected");
}

#[tokio::test]
async fn granted_full_then_resume_at_mtu_23_and_185() {
    for mtu in [23u16, 185] {
        let lock = FakeLock::new(mtu, Fault::None);
        let first =
            unlock(&lock, request(credential_with(|_| {}), None), &signer(), &fast()).await.expect("granted");
        assert_eq!(first.path, Path::Full);
        assert_eq!(first.lock_time, NOW);
        assert_eq!(first.time_status, TimeStatus::Synced);
        assert_eq!(first.stats.round_trips, 1, "one round trip after Hello (mtu {mtu})");
        if mtu == 23 {
            assert!(first.stats.packets_sent > 10, "the full request is fragmented at MTU 23");
        } else {
            assert_eq!(first.stats.packets_sent, 2, "271 bytes in two packets at MTU 185");
        }
        let ticket = first.next_ticket.expect("a ticket for next time");

        let second =
            unlock(&lock, request(credential_with(|_| {}), Some(ticket.clone())), &signer(), &fast())
                .await
                .expect("granted again");
        assert_eq!(second.path, Path::Resume);
        assert_eq!(second.stats.round_trips, 1);
        assert_eq!(second.stats.packets_sent, if mtu == 23 { 2 } else { 1 });
        let next = second.next_ticket.expect("rotated ticket");
        assert_ne!(next.ticket_id, ticket.ticket_id);
        assert_all_disconnected(&lock);
        assert_eq!(lock.state().connections, 2);
    }
}

#[tokio::test]
async fn an_unknown_ticket_falls_back_to_the_full_path_on_the_same_connection() {
    let lock = FakeLock::new(185, Fault::None);
    let first =
        unlock(&lock, request(credential_with(|_| {}), None), &signer(), &fast()).await.expect("granted");
    let mut stale = first.next_ticket.expect("ticket");
    stale.ticket_id = [0x77; 16];
    let outcome = unlock(&lock, request(credential_with(|_| {}), Some(stale)), &signer(), &fast())
        .await
        .expect("granted");
    assert_eq!(outcome.path, Path::Full);
    assert_eq!(outcome.stats.round_trips, 2, "resume refused, then one full request");
    assert!(outcome.next_ticket.is_some());
    assert_eq!(lock.state().connections, 2, "no reconnection for the fallback");
    assert_all_disconnected(&lock);
}

#[tokio::test]
async fn denials_say_why() {
    let cases: [(Vec<u8>, DenyReason); 3] = [
        (credential_with(|b| b.not_after = NOW - 86_400), DenyReason::Expired),
        (credential_with(|b| b.not_before = NOW + 86_400), DenyReason::NotYetValid),
        (credential_with(|b| b.lock_id = [0xee; 16]), DenyReason::WrongLock),
    ];
    for (credential, want) in cases {
        let lock = FakeLock::new(185, Fault::None);
        let err = unlock(&lock, request(credential, None), &signer(), &fast()).await.expect_err("denied");
        match &err {
            UnlockError::Denied { reason, lock_time, next_ticket, .. } => {
                assert_eq!(*reason, want);
                assert_eq!(*lock_time, NOW);
                assert!(next_ticket.is_none());
            }
            other => panic!("expected a denial, got {other:?}"),
        }
        assert!(err.to_string().starts_with("the lock refused: "), "{err}");
        assert_all_disconnected(&lock);
    }

    let lock = FakeLock::new(185, Fault::None);
    lock.state().revoked.push([0xc1; 16]);
    let err =
        unlock(&lock, request(credential_with(|_| {}), None), &signer(), &fast()).await.expect_err("denied");
    assert!(matches!(err, UnlockError::Denied { reason: DenyReason::Revoked, .. }), "{err:?}");
    assert_eq!(err.to_string(), "the lock refused: the access was revoked");

    let lock = FakeLock::new(185, Fault::None);
    let other_device = SoftwareSigner::from_secret_bytes([0x23; 32]).expect("valid");
    let err = unlock(&lock, request(credential_with(|_| {}), None), &other_device, &fast())
        .await
        .expect_err("denied");
    assert!(matches!(err, UnlockError::Denied { reason: DenyReason::WrongDevice, .. }), "{err:?}");

    let lock = FakeLock::new(185, Fault::None);
    let mut req = request(credential_with(|_| {}), None);
    req.command = Command::SetConfig { key: 1, value: 2 };
    let err = unlock(&lock, req, &signer(), &fast()).await.expect_err("denied");
    assert!(
        matches!(err, UnlockError::Denied { reason: DenyReason::NotPermitted, next_ticket: Some(_), .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_stale_lock_key_is_an_abort_and_a_wrong_lock_is_refused() {
    let lock = FakeLock::new(185, Fault::None);
    let mut req = request(credential_with(|_| {}), None);
    req.lock.lock_public_key = backend_key().public_key().to_bytes();
    let err = unlock(&lock, req, &signer(), &fast()).await.expect_err("aborted");
    assert_eq!(err, UnlockError::LockAborted { reason: AbortReason::DecryptFailed });
    assert_all_disconnected(&lock);

    let mut req = request(credential_with(|_| {}), None);
    req.credential.truncate(100);
    let err = unlock(&lock, req, &signer(), &fast()).await.expect_err("bad input");
    assert!(matches!(err, UnlockError::Protocol { .. }), "{err:?}");
    assert_eq!(lock.state().connections, 1, "bad local data fails before connecting");
}

#[tokio::test(start_paused = true)]
async fn a_silent_lock_times_out_and_is_disconnected() {
    let lock = FakeLock::new(23, Fault::Silent);
    let started = tokio::time::Instant::now();
    let err =
        unlock(&lock, request(credential_with(|_| {}), None), &signer(), &fast()).await.expect_err("timeout");
    assert_eq!(err, UnlockError::Transport(TransportError::Timeout { what: "hello" }));
    assert!(started.elapsed() <= Duration::from_secs(4));
    assert_all_disconnected(&lock);
}

#[tokio::test(start_paused = true)]
async fn a_hung_link_still_times_out() {
    let lock = FakeLock::new(23, Fault::Hangs);
    let err =
        unlock(&lock, request(credential_with(|_| {}), None), &signer(), &fast()).await.expect_err("timeout");
    assert_eq!(err, UnlockError::Transport(TransportError::Timeout { what: "hello" }));
    assert_all_disconnected(&lock);

    let lock = FakeLock::new(23, Fault::NeverConnects);
    let started = tokio::time::Instant::now();
    let err =
        unlock(&lock, request(credential_with(|_| {}), None), &signer(), &fast()).await.expect_err("timeout");
    assert_eq!(err, UnlockError::Transport(TransportError::Timeout { what: "connect" }));
    assert_eq!(started.elapsed(), Duration::from_secs(10));
    assert_eq!(lock.state().connections, 0);
}

#[tokio::test(start_paused = true)]
async fn the_whole_exchange_has_a_deadline() {
    let lock = FakeLock::new(23, Fault::Silent);
    let t = Timeouts { exchange: Duration::from_secs(2), ..Timeouts::default() };
    let err =
        unlock(&lock, request(credential_with(|_| {}), None), &signer(), &t).await.expect_err("timeout");
    assert_eq!(err, UnlockError::Transport(TransportError::Timeout { what: "the whole exchange" }));
}

#[tokio::test]
async fn a_drop_mid_message_is_connection_lost() {
    // At MTU 23 Hello is 3 packets and the result 3 more: drop after the first packet of the result.
    let lock = FakeLock::new(23, Fault::DropAfterPackets(4));
    let err =
        unlock(&lock, request(credential_with(|_| {}), None), &signer(), &fast()).await.expect_err("lost");
    assert_eq!(err, UnlockError::Transport(TransportError::ConnectionLost));
    assert_all_disconnected(&lock);
    assert_eq!(lock.state().last_stats.packets_received, 4);

    let lock = FakeLock::new(23, Fault::DropAfterPackets(1));
    let err =
        unlock(&lock, request(credential_with(|_| {}), None), &signer(), &fast()).await.expect_err("lost");
    assert_eq!(err, UnlockError::Transport(TransportError::ConnectionLost));
    assert_all_disconnected(&lock);
}

#[tokio::test]
async fn a_failing_signer_is_a_signer_error() {
    struct Refuses;
    impl Signer for Refuses {
        fn public_key(&self) -> Result<[u8; 33], SignerError> {
            Err(SignerError::UserCanceled)
        }
        fn sign(&self, _: &[u8]) -> Result<[u8; 64], SignerError> {
            Err(SignerError::UserCanceled)
        }
    }
    let lock = FakeLock::new(185, Fault::None);
    let err =
        unlock(&lock, request(credential_with(|_| {}), None), &Refuses, &fast()).await.expect_err("signer");
    assert_eq!(err, UnlockError::Signer(SignerError::UserCanceled));
    assert_all_disconnected(&lock);
}

#[test]
fn errors_and_tickets_print_no_secrets() {
    let ticket = PhoneTicket {
        lock_id: LOCK_ID,
        ticket_id: [1; 16],
        expires_at: 5,
        secret: latchkey_protocol::unlock::ResumptionSecret::from_bytes([0xab; 32]),
    };
    let err = UnlockError::Denied {
        reason: DenyReason::NotPermitted,
        lock_time: 1,
        time_status: TimeStatus::Synced,
        next_ticket: Some(ticket),
    };
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("171, 171") && !shown.to_lowercase().contains("abab"), "{shown}");
}

#[test]
fn the_flow_futures_are_send() {
    fn assert_send<T: Send>(_: &T) {}
    let lock = FakeLock::new(185, Fault::None);
    let signer = signer();
    let timeouts = Timeouts::default();
    let unlocking = unlock(&lock, request(credential_with(|_| {}), None), &signer, &timeouts);
    assert_send(&unlocking);
    let lock_key = super::fake::lock_static().public_key().to_bytes();
    let syncing = sync(&lock, LOCK_ID, &lock_key, Vec::new(), None, &timeouts);
    assert_send(&syncing);
}
