//! Protocol-level tests: both machines end to end, and every attack the design names.

use alloc::vec::Vec;

use super::*;
use crate::ProtocolError;
use crate::credential::{Credential, CredentialBody, Flags, Role};
use crate::crypto::{DhSecret, SigningKey};
use crate::framing::{self, Fragmenter, Reassembler};

const LOCK_ID: [u8; 16] = [0xd0; 16];
const NOW: u32 = 1_800_000_000;

fn backend() -> SigningKey {
    SigningKey::from_bytes(&[0x11; 32]).expect("valid")
}
fn device() -> SigningKey {
    SigningKey::from_bytes(&[0x22; 32]).expect("valid")
}
fn lock_identity() -> LockIdentity {
    LockIdentity {
        lock_id: LOCK_ID,
        static_key: DhSecret::from_bytes(&[0x33; 32]).expect("valid"),
        backend_key: backend().public_key(),
    }
}

fn credential_with(f: impl FnOnce(&mut CredentialBody)) -> Credential {
    let mut body = CredentialBody {
        credential_id: [0xc1; 16],
        lock_id: LOCK_ID,
        user_id: [0xa1; 16],
        not_before: NOW - 3600,
        not_after: NOW + 7 * 86_400,
        role: Role::Resident,
        flags: Flags { shareable: false, privileged: false },
        device_pub: device().public_key(),
    };
    f(&mut body);
    body.sign(&backend())
}

fn params(
    credential: Credential,
    command: Command,
    ticket: Option<PhoneTicket>,
    eph: u8,
) -> PhoneUnlockParams {
    PhoneUnlockParams {
        lock_id: LOCK_ID,
        lock_static_pub: lock_identity().static_key.public_key(),
        credential,
        command,
        ephemeral: DhSecret::from_bytes(&[eph; 32]).expect("valid"),
        ticket,
    }
}

fn never_revoked(_: &[u8; 16], _: &[u8; 16]) -> bool {
    false
}

/// Runs one connection and counts messages each way after Hello.
struct Run {
    outcome: Result<PhoneOutcome, ProtocolError>,
    events: Vec<UnlockEvent>,
    actions: Vec<Command>,
    phone_msgs: Vec<Vec<u8>>,
    lock_msgs: Vec<Vec<u8>>,
}

fn run(
    p: PhoneUnlockParams,
    signer: &dyn DeviceSigner,
    lock: &LockIdentity,
    tickets: &mut TicketTable,
    now: u32,
    seed: u8,
    revoked: &dyn RevocationCheck,
) -> Run {
    let mut session = LockSession::new(
        lock.lock_id,
        now,
        TimeStatus::Synced,
        LockRandom { challenge: [seed; 16], ticket_id: [seed ^ 0x5a; 16] },
    );
    let mut phone = PhoneUnlock::new(p);
    let mut r = Run {
        outcome: Err(ProtocolError::SessionFinished),
        events: Vec::new(),
        actions: Vec::new(),
        phone_msgs: Vec::new(),
        lock_msgs: Vec::new(),
    };
    let mut incoming = session.hello().to_vec();
    loop {
        match phone.handle(&incoming, signer) {
            Ok(PhoneStep::Send(m)) => {
                r.phone_msgs.push(m.clone());
                let reply = session.handle(lock, &m, now, revoked, tickets);
                r.events.push(reply.event);
                r.actions.extend(reply.action);
                r.lock_msgs.push(reply.message.clone());
                incoming = reply.message;
            }
            Ok(PhoneStep::Done(o)) => {
                r.outcome = Ok(o);
                return r;
            }
            Err(e) => {
                r.outcome = Err(e);
                return r;
            }
        }
    }
}

fn full(credential: Credential, command: Command) -> (Run, TicketTable) {
    let mut tickets = TicketTable::new();
    let r = run(
        params(credential, command, None, 0x44),
        &device(),
        &lock_identity(),
        &mut tickets,
        NOW,
        1,
        &never_revoked,
    );
    (r, tickets)
}

fn result_of(r: &Run) -> ResultCode {
    r.outcome.as_ref().map(|o| o.result).expect("sealed result")
}

#[test]
fn full_unlock_is_one_round_trip_and_fits_the_byte_budget() {
    let (r, tickets) = full(credential_with(|_| {}), Command::Unlock);
    let o = r.outcome.as_ref().expect("outcome");
    assert_eq!(o.result, ResultCode::Granted);
    assert_eq!(o.path, Path::Full);
    assert_eq!(o.lock_time, NOW);
    assert!(o.ticket.is_some());
    assert_eq!(tickets.len(), 1);
    assert_eq!(r.actions, [Command::Unlock]);
    // Exactly one application round trip after Hello.
    assert_eq!(r.phone_msgs.len(), 1);
    assert_eq!(r.lock_msgs.len(), 1);
    // Sizes: Hello 39, full request 271, result 44.
    assert_eq!(r.phone_msgs[0].len(), 271);
    assert_eq!(r.lock_msgs[0].len(), 44);
    let on_air: usize =
        [HELLO_LEN, 271, 44].iter().map(|&n| framing::framed_len(n, 185).expect("fits")).sum();
    assert_eq!(on_air, 42 + 275 + 47);
    assert!(on_air + 4 * framing::ATT_OVERHEAD <= 1024);
    // And through the real fragmenter/reassembler.
    let mut f = Fragmenter::new(185).expect("mtu");
    let mut re = Reassembler::new(185).expect("mtu");
    let mut bytes = 0;
    let mut packets = 0;
    for p in f.fragment(&r.phone_msgs[0]).expect("fits") {
        bytes += p.len();
        packets += 1;
        if let Some(m) = re.push(&p).expect("ordered") {
            assert_eq!(m, r.phone_msgs[0]);
        }
    }
    assert_eq!((packets, bytes), (2, 275));
}

#[test]
fn resume_unlocks_with_a_rotated_ticket_and_no_public_key_work() {
    let lock = lock_identity();
    let mut tickets = TicketTable::new();
    let first = run(
        params(credential_with(|_| {}), Command::Unlock, None, 0x44),
        &device(),
        &lock,
        &mut tickets,
        NOW,
        1,
        &never_revoked,
    );
    let t1 = first.outcome.expect("ok").ticket.expect("ticket");
    assert_eq!(t1.expires_at, NOW + TICKET_LIFETIME);
    let second = run(
        params(credential_with(|_| {}), Command::Unlock, Some(t1.clone()), 0x45),
        &device(),
        &lock,
        &mut tickets,
        NOW + 60,
        2,
        &never_revoked,
    );
    let o = second.outcome.as_ref().expect("ok");
    assert_eq!((o.result, o.path), (ResultCode::Granted, Path::Resume));
    assert_eq!(second.phone_msgs.len(), 1);
    assert_eq!(second.phone_msgs[0][0], TYPE_RESUME_REQUEST);
    assert_eq!(second.phone_msgs[0].len(), 34);
    assert_eq!(second.actions, [Command::Unlock]);
    let t2 = o.ticket.clone().expect("rotated");
    assert_ne!(t2.ticket_id, t1.ticket_id);
    assert_ne!(t2.secret, t1.secret);
    assert_eq!(t2.expires_at, t1.expires_at, "rotation never extends a ticket");
    assert_eq!(tickets.len(), 1);
    // The spent ticket is refused; the phone falls back to a full request on the same connection.
    let third = run(
        params(credential_with(|_| {}), Command::Unlock, Some(t1), 0x46),
        &device(),
        &lock,
        &mut tickets,
        NOW + 120,
        3,
        &never_revoked,
    );
    assert_eq!(third.lock_msgs[0], AbortReason::UnknownTicket.encode());
    let o = third.outcome.as_ref().expect("ok");
    assert_eq!((o.result, o.path), (ResultCode::Granted, Path::Full));
    assert_eq!(third.phone_msgs.len(), 2);
}

#[test]
fn replayed_full_request_fails_on_a_new_connection() {
    let (r, _) = full(credential_with(|_| {}), Command::Unlock);
    let captured = &r.phone_msgs[0];
    let mut tickets = TicketTable::new();
    let mut s = LockSession::new(
        LOCK_ID,
        NOW + 5,
        TimeStatus::Synced,
        LockRandom { challenge: [9; 16], ticket_id: [8; 16] },
    );
    let reply = s.handle(&lock_identity(), captured, NOW + 5, &never_revoked, &mut tickets);
    assert_eq!(reply.message, AbortReason::DecryptFailed.encode());
    assert_eq!(reply.action, None);
    assert_eq!(reply.event.outcome, EventOutcome::Aborted(AbortReason::DecryptFailed));
    assert!(tickets.is_empty());
}

#[test]
fn replayed_resume_request_fails_on_a_new_connection() {
    let lock = lock_identity();
    let mut tickets = TicketTable::new();
    let first = run(
        params(credential_with(|_| {}), Command::Unlock, None, 0x44),
        &device(),
        &lock,
        &mut tickets,
        NOW,
        1,
        &never_revoked,
    );
    let t = first.outcome.expect("ok").ticket.expect("ticket");
    // Capture a resume request sent to a connection that never answers, then replay it elsewhere.
    let mut phone = PhoneUnlock::new(params(credential_with(|_| {}), Command::Unlock, Some(t), 0x45));
    let s1 = LockSession::new(
        LOCK_ID,
        NOW,
        TimeStatus::Synced,
        LockRandom { challenge: [2; 16], ticket_id: [3; 16] },
    );
    let PhoneStep::Send(captured) = phone.handle(s1.hello(), &device()).expect("request") else {
        panic!("expected a request")
    };
    let mut s2 = LockSession::new(
        LOCK_ID,
        NOW,
        TimeStatus::Synced,
        LockRandom { challenge: [4; 16], ticket_id: [5; 16] },
    );
    let reply = s2.handle(&lock, &captured, NOW, &never_revoked, &mut tickets);
    assert_eq!(reply.message, AbortReason::BadTicketMac.encode());
    assert_eq!(reply.action, None);
    assert_eq!(tickets.len(), 1, "a bad MAC does not burn the genuine ticket");
}

#[test]
fn credential_for_another_door_is_refused() {
    let (r, tickets) = full(credential_with(|b| b.lock_id = [0xee; 16]), Command::Unlock);
    assert_eq!(result_of(&r), ResultCode::WrongLock);
    assert!(r.actions.is_empty());
    assert!(tickets.is_empty());
}

#[test]
fn expired_and_not_yet_valid_credentials_are_refused() {
    let (r, _) = full(credential_with(|b| b.not_after = NOW - 121), Command::Unlock);
    assert_eq!(result_of(&r), ResultCode::Expired);
    let (r, _) = full(credential_with(|b| b.not_before = NOW + 121), Command::Unlock);
    assert_eq!(result_of(&r), ResultCode::NotYetValid);
    // Within the stated skew both still work.
    let (r, _) = full(credential_with(|b| b.not_after = NOW - 120), Command::Unlock);
    assert_eq!(result_of(&r), ResultCode::Granted);
    assert!(r.outcome.as_ref().expect("ok").ticket.as_ref().is_some_and(|t| t.expires_at == NOW - 120));
}

#[test]
fn revoked_credentials_are_refused_on_both_paths() {
    let lock = lock_identity();
    let mut tickets = TicketTable::new();
    let revoked_cred = |c: &[u8; 16], _: &[u8; 16]| *c == [0xc1; 16];
    let r = run(
        params(credential_with(|_| {}), Command::Unlock, None, 0x44),
        &device(),
        &lock,
        &mut tickets,
        NOW,
        1,
        &revoked_cred,
    );
    assert_eq!(result_of(&r), ResultCode::Revoked);
    assert!(r.actions.is_empty());
    // A ticket issued before the revocation is refused after it (user revoked), and dropped.
    let first = run(
        params(credential_with(|_| {}), Command::Unlock, None, 0x44),
        &device(),
        &lock,
        &mut tickets,
        NOW,
        1,
        &never_revoked,
    );
    let t = first.outcome.expect("ok").ticket.expect("ticket");
    let revoked_user = |_: &[u8; 16], u: &[u8; 16]| *u == [0xa1; 16];
    let r = run(
        params(credential_with(|_| {}), Command::Unlock, Some(t), 0x45),
        &device(),
        &lock,
        &mut tickets,
        NOW + 1,
        2,
        &revoked_user,
    );
    let o = r.outcome.as_ref().expect("sealed");
    assert_eq!((o.result, o.path), (ResultCode::Revoked, Path::Resume));
    assert!(o.ticket.is_none());
    assert!(tickets.is_empty());
}

#[test]
fn tickets_expire_after_a_day_and_with_the_credential() {
    let lock = lock_identity();
    let mut tickets = TicketTable::new();
    let first = run(
        params(credential_with(|_| {}), Command::Unlock, None, 0x44),
        &device(),
        &lock,
        &mut tickets,
        NOW,
        1,
        &never_revoked,
    );
    let t = first.outcome.expect("ok").ticket.expect("ticket");
    // Past expiry the phone does not even try: it goes straight to the full handshake.
    let later = NOW + TICKET_LIFETIME + 1;
    let r = run(
        params(credential_with(|_| {}), Command::Unlock, Some(t.clone()), 0x45),
        &device(),
        &lock,
        &mut tickets,
        later,
        2,
        &never_revoked,
    );
    assert_eq!(r.outcome.as_ref().expect("ok").path, Path::Full);
    // And a lock asked anyway refuses it.
    let mut tickets = TicketTable::new();
    let first = run(
        params(credential_with(|_| {}), Command::Unlock, None, 0x44),
        &device(),
        &lock,
        &mut tickets,
        NOW,
        1,
        &never_revoked,
    );
    let mut t = first.outcome.expect("ok").ticket.expect("ticket");
    t.expires_at = u32::MAX;
    let r = run(
        params(credential_with(|_| {}), Command::Unlock, Some(t), 0x45),
        &device(),
        &lock,
        &mut tickets,
        later,
        2,
        &never_revoked,
    );
    assert_eq!(r.lock_msgs[0], AbortReason::UnknownTicket.encode());
}

#[test]
fn tampered_ciphertext_and_key_are_refused() {
    let (r, _) = full(credential_with(|_| {}), Command::Unlock);
    let msg = &r.phone_msgs[0];
    for i in [1usize, 20, 34, 100, msg.len() - 1] {
        let mut s = LockSession::new(
            LOCK_ID,
            NOW,
            TimeStatus::Synced,
            LockRandom { challenge: [1; 16], ticket_id: [1 ^ 0x5a; 16] },
        );
        let mut t = msg.clone();
        t[i] ^= 0x01;
        let reply = s.handle(&lock_identity(), &t, NOW, &never_revoked, &mut TicketTable::new());
        assert!(
            reply.message == AbortReason::DecryptFailed.encode()
                || reply.message == AbortReason::Malformed.encode(),
            "byte {i}"
        );
        assert_eq!(reply.action, None);
    }
}

#[test]
fn device_signature_by_another_key_is_refused() {
    let mut tickets = TicketTable::new();
    let thief = SigningKey::from_bytes(&[0x99; 32]).expect("valid");
    let r = run(
        params(credential_with(|_| {}), Command::Unlock, None, 0x44),
        &thief,
        &lock_identity(),
        &mut tickets,
        NOW,
        1,
        &never_revoked,
    );
    assert_eq!(result_of(&r), ResultCode::BadDeviceSignature);
    assert!(r.actions.is_empty());
    assert!(tickets.is_empty());
}

#[test]
fn credential_signed_by_another_backend_is_refused() {
    let mut body = credential_with(|_| {}).body;
    body.flags.privileged = true;
    let forged = body.sign(&SigningKey::from_bytes(&[0x77; 32]).expect("valid"));
    let (r, _) = full(forged, Command::SetConfig { key: 1, value: 2 });
    assert_eq!(result_of(&r), ResultCode::BadCredentialSignature);
    assert!(r.actions.is_empty());
}

#[test]
fn unprivileged_credential_cannot_send_privileged_commands() {
    let cmd = Command::SetConfig { key: 4, value: 30 };
    let (r, _) = full(credential_with(|_| {}), cmd);
    assert_eq!(result_of(&r), ResultCode::NotPermitted);
    assert!(r.actions.is_empty());
    let (r, _) = full(credential_with(|b| b.flags.privileged = true), cmd);
    assert_eq!(result_of(&r), ResultCode::Granted);
    assert_eq!(r.actions, [cmd]);
    // The same holds on the resume path, where the privileged bit comes from the ticket.
    let lock = lock_identity();
    let mut tickets = TicketTable::new();
    let first = run(
        params(credential_with(|_| {}), Command::Unlock, None, 0x44),
        &device(),
        &lock,
        &mut tickets,
        NOW,
        1,
        &never_revoked,
    );
    let t = first.outcome.expect("ok").ticket.expect("ticket");
    let r = run(
        params(credential_with(|_| {}), cmd, Some(t), 0x45),
        &device(),
        &lock,
        &mut tickets,
        NOW,
        2,
        &never_revoked,
    );
    let o = r.outcome.as_ref().expect("sealed");
    assert_eq!((o.result, o.path), (ResultCode::NotPermitted, Path::Resume));
    assert!(r.actions.is_empty());
}

#[test]
fn an_impostor_lock_learns_nothing_and_cannot_answer() {
    // The impostor knows the door id but not the lock's static key.
    let impostor =
        LockIdentity { static_key: DhSecret::from_bytes(&[0x34; 32]).expect("valid"), ..lock_identity() };
    let mut tickets = TicketTable::new();
    let r = run(
        params(credential_with(|_| {}), Command::Unlock, None, 0x44),
        &device(),
        &impostor,
        &mut tickets,
        NOW,
        1,
        &never_revoked,
    );
    assert_eq!(r.lock_msgs[0], AbortReason::DecryptFailed.encode());
    assert_eq!(r.outcome.err(), Some(ProtocolError::LockAborted(AbortReason::DecryptFailed.byte())));
    // A forged "granted" result sealed under a key the impostor made up is refused by the phone.
    let mut phone = PhoneUnlock::new(params(credential_with(|_| {}), Command::Unlock, None, 0x44));
    let s = LockSession::new(
        LOCK_ID,
        NOW,
        TimeStatus::Synced,
        LockRandom { challenge: [1; 16], ticket_id: [2; 16] },
    );
    phone.handle(s.hello(), &device()).expect("request");
    let fake_key = crate::crypto::AeadKey::from_bytes([0; 16]);
    let body = ResultBody {
        result: ResultCode::Granted,
        lock_time: NOW,
        time_status: TimeStatus::Synced,
        ticket: None,
    }
    .encode();
    let mut fake = alloc::vec![TYPE_RESULT];
    fake.extend(fake_key.seal(crate::crypto::Direction::LockToPhone, 0, s.hello(), &body).expect("seal"));
    assert_eq!(phone.handle(&fake, &device()), Err(ProtocolError::DecryptFailed));
    // A hello naming another door is refused before anything is sent.
    let mut phone = PhoneUnlock::new(params(credential_with(|_| {}), Command::Unlock, None, 0x44));
    let other = LockSession::new(
        [0xee; 16],
        NOW,
        TimeStatus::Synced,
        LockRandom { challenge: [1; 16], ticket_id: [2; 16] },
    );
    assert_eq!(phone.handle(other.hello(), &device()), Err(ProtocolError::WrongLock));
}

#[test]
fn the_lock_accepts_one_request_per_connection() {
    let (r, _) = full(credential_with(|_| {}), Command::Unlock);
    let mut s = LockSession::new(
        LOCK_ID,
        NOW,
        TimeStatus::Synced,
        LockRandom { challenge: [1; 16], ticket_id: [1 ^ 0x5a; 16] },
    );
    let mut tickets = TicketTable::new();
    let first = s.handle(&lock_identity(), &r.phone_msgs[0], NOW, &never_revoked, &mut tickets);
    assert_eq!(first.action, Some(Command::Unlock));
    assert!(first.finished);
    let again = s.handle(&lock_identity(), &r.phone_msgs[0], NOW, &never_revoked, &mut tickets);
    assert_eq!(again.message, AbortReason::UnexpectedMessage.encode());
    assert_eq!(again.action, None);
}

#[test]
fn time_status_reaches_the_phone_authenticated() {
    let mut tickets = TicketTable::new();
    let lock = lock_identity();
    let mut s = LockSession::new(
        LOCK_ID,
        NOW,
        TimeStatus::Uncertain,
        LockRandom { challenge: [7; 16], ticket_id: [8; 16] },
    );
    let mut phone = PhoneUnlock::new(params(credential_with(|_| {}), Command::Unlock, None, 0x44));
    let PhoneStep::Send(req) = phone.handle(s.hello(), &device()).expect("req") else {
        panic!("expected a request")
    };
    let reply = s.handle(&lock, &req, NOW, &never_revoked, &mut tickets);
    let PhoneStep::Done(o) = phone.handle(&reply.message, &device()).expect("done") else {
        panic!("expected the end")
    };
    assert_eq!(o.time_status, TimeStatus::Uncertain);
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
    fn mutate(&mut self, seed: &[u8]) -> Vec<u8> {
        let mut m = seed.to_vec();
        match self.next() % 4 {
            0 => {
                let len = (self.next() % 400) as usize;
                m = (0..len).map(|_| self.next() as u8).collect();
            }
            1 if !m.is_empty() => {
                let cut = (self.next() as usize) % m.len();
                m.truncate(cut);
            }
            2 => {
                for _ in 0..(self.next() % 4) {
                    m.push(self.next() as u8);
                }
            }
            _ if !m.is_empty() => {
                let i = (self.next() as usize) % m.len();
                m[i] ^= 1 << (self.next() % 8);
            }
            _ => {}
        }
        m
    }
}

#[test]
fn mutated_messages_never_panic_either_side() {
    let (r, _) = full(credential_with(|_| {}), Command::Unlock);
    let lock = lock_identity();
    let cred = credential_with(|_| {});
    let eph = DhSecret::from_bytes(&[0x44; 32]).expect("valid");
    let phone = || {
        PhoneUnlock::new(PhoneUnlockParams {
            ephemeral: eph.clone(),
            ..params(cred, Command::Unlock, None, 0x01)
        })
    };
    let resume = ResumeRequest { ticket_id: [1; 16], command: Command::Unlock, mac: [2; 16] }.encode();
    let seeds =
        [r.phone_msgs[0].clone(), resume, r.lock_msgs[0].clone(), AbortReason::UnknownTicket.encode()];
    let hello_session = || {
        LockSession::new(
            LOCK_ID,
            NOW,
            TimeStatus::Synced,
            LockRandom { challenge: [1; 16], ticket_id: [2; 16] },
        )
    };
    let hello = hello_session().hello().to_vec();
    let mut rng = Rng(0x0123_4567_89ab_cdef);
    let mut tickets = TicketTable::new();
    // Lock side: mutated requests of every kind.
    for i in 0..300 {
        let m = rng.mutate(&seeds[i % seeds.len()]);
        let reply = hello_session().handle(&lock, &m, NOW, &never_revoked, &mut tickets);
        if m != r.phone_msgs[0] {
            assert_eq!(reply.action, None);
        }
        let _ = RequestBody::decode(&m);
        let _ = ResultBody::decode(&m);
        let _ = ResumeRequest::decode(&m);
        let _ = Hello::decode(&m);
        let _ = Credential::decode(&m);
    }
    // Phone side: a mutated Hello, then a mutated result or abort.
    for i in 0..60 {
        let mut p = phone();
        let h = if i % 2 == 0 { rng.mutate(&hello) } else { hello.clone() };
        if p.handle(&h, &device()).is_ok() {
            let m = rng.mutate(&seeds[2 + i % 2]);
            if let Ok(PhoneStep::Done(o)) = p.handle(&m, &device()) {
                assert_eq!(m, r.lock_msgs[0], "only the genuine result is accepted");
                assert_eq!(o.result, ResultCode::Granted);
            }
        }
    }
}

#[test]
fn a_request_later_than_the_challenge_validity_is_refused_and_one_in_time_is_granted() {
    // Relay window: the same valid request, held back by a relay for longer than the challenge lives.
    let lock = lock_identity();
    for (elapsed_ms, granted) in [(CHALLENGE_VALIDITY_MS, true), (CHALLENGE_VALIDITY_MS + 1, false)] {
        let mut tickets = TicketTable::new();
        let random = LockRandom { challenge: [3; 16], ticket_id: [4; 16] };
        let mut session = LockSession::new(LOCK_ID, NOW, TimeStatus::Synced, random);
        let mut phone = PhoneUnlock::new(params(credential_with(|_| {}), Command::Unlock, None, 0x21));
        let PhoneStep::Send(request) = phone.handle(session.hello(), &device()).expect("request") else {
            panic!("the phone answers the Hello with a request");
        };
        let reply = session.handle_within(&lock, &request, NOW, elapsed_ms, &never_revoked, &mut tickets);
        if granted {
            assert_eq!(reply.action, Some(Command::Unlock), "{elapsed_ms} ms is in time");
        } else {
            assert_eq!(reply.message, AbortReason::ChallengeExpired.encode());
            assert_eq!(reply.action, None, "a stale challenge opens nothing");
            assert_eq!(reply.event.outcome, EventOutcome::Aborted(AbortReason::ChallengeExpired));
            assert!(reply.finished, "the session ends: a retry needs a new connection");
            assert!(tickets.is_empty());
            let again = session.handle_within(&lock, &request, NOW, 0, &never_revoked, &mut tickets);
            assert_eq!(again.message, AbortReason::UnexpectedMessage.encode(), "not on this session");
            let outcome = phone.handle(&reply.message, &device());
            assert!(
                matches!(outcome, Err(ProtocolError::LockAborted(0x06))),
                "the phone learns why: {outcome:?}"
            );
        }
    }
}
