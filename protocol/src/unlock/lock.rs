//! The lock side of one unlock exchange, as a sans-IO state machine.
//!
//! Owns the lock's decisions for one connection: it builds `Hello` from caller-given randomness and time,
//! then takes exactly one request (full or resume; after a failed resume, one full request) and returns the
//! reply to send, the event to log and the command to carry out, if any. It reads no clock, draws no
//! randomness, and keeps no state beyond the connection except through the [`TicketTable`] it is lent.
//! Revocation is asked of the lock's state through [`RevocationCheck`].
//!
//! Check order for a full request: parse → ECDH + open (else `Abort(DecryptFailed)`) → decode plaintext →
//! credential signature → door → window (±`SKEW_SECS`) → device signature → revocation → command permission.

use alloc::vec::Vec;

use super::Path;
use super::keys::{UNLOCK_LABEL, full_keys, resume_keys, resume_mac};
use super::messages::{
    AbortReason, Command, FullRequest, Hello, RequestBody, ResultBody, ResultCode, ResumeRequest,
    TYPE_FULL_REQUEST, TYPE_RESULT, TYPE_RESUME_REQUEST, TicketInfo, TimeStatus, VERSION,
};
use super::tickets::{TICKET_LIFETIME, TicketEntry, TicketTable};
use crate::credential::{SKEW_SECS, check_window};
use crate::crypto::{self, AeadKey, DhSecret, Direction, PublicKey};

/// How the lock asks its state whether a credential or its user has been revoked.
pub trait RevocationCheck {
    /// True if the credential, or every credential of the user, is revoked.
    fn is_revoked(&self, credential_id: &[u8; 16], user_id: &[u8; 16]) -> bool;
}

impl<F: Fn(&[u8; 16], &[u8; 16]) -> bool> RevocationCheck for F {
    fn is_revoked(&self, credential_id: &[u8; 16], user_id: &[u8; 16]) -> bool {
        self(credential_id, user_id)
    }
}

/// What a lock is: its door id, its static ECDH key (the phone knows the public half from the backend's lock
/// list) and the backend's public signing key (credentials must verify against it).
#[derive(Debug)]
pub struct LockIdentity {
    /// The door id.
    pub lock_id: [u8; 16],
    /// The lock's static key.
    pub static_key: DhSecret,
    /// The backend's credential-signing public key.
    pub backend_key: PublicKey,
}

/// Fresh randomness the caller draws for each connection.
#[derive(Clone, Copy, Debug)]
pub struct LockRandom {
    /// The `Hello` challenge.
    pub challenge: [u8; 16],
    /// The id of a ticket issued on this connection, if any.
    pub ticket_id: [u8; 16],
}

/// How an attempt ended, for the event log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventOutcome {
    /// A sealed result was sent with this code.
    Result(ResultCode),
    /// The lock aborted with this reason (no sealed result).
    Aborted(AbortReason),
}

/// One event for the lock's log. Identities are present only once a credential or ticket was authenticated
/// far enough to name them (after decryption or MAC check).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnlockEvent {
    /// Lock time of the decision.
    pub at: u32,
    /// Full handshake or resume.
    pub path: Path,
    /// What happened.
    pub outcome: EventOutcome,
    /// The command asked for, if it was read.
    pub command: Option<Command>,
    /// The credential, if read.
    pub credential_id: Option<[u8; 16]>,
    /// The user, if read.
    pub user_id: Option<[u8; 16]>,
}

/// What the lock must do after a message.
#[derive(Debug)]
pub struct LockReply {
    /// Bytes to send to the phone (to be framed).
    pub message: Vec<u8>,
    /// The event to append to the log.
    pub event: UnlockEvent,
    /// A command to carry out (only when the result is `Granted`).
    pub action: Option<Command>,
    /// Whether the session is over (close the connection after sending).
    pub finished: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    AwaitRequest { resume_tried: bool },
    Done,
}

/// How long a `Hello`'s challenge stays valid at the lock: the phone's request must arrive within this
/// many milliseconds. A real unlock needs about 120 ms of radio time at a 30 ms connection interval plus
/// the phone's signature (up to about a second in a StrongBox); 5 s leaves room for both and bounds how
/// long a relay may take.
pub const CHALLENGE_VALIDITY_MS: u64 = 5_000;

/// One connection's lock-side session.
#[derive(Debug)]
pub struct LockSession {
    hello: [u8; super::messages::HELLO_LEN],
    challenge: [u8; 16],
    lock_time: u32,
    time_status: TimeStatus,
    new_ticket_id: [u8; 16],
    state: State,
}

struct Decision {
    result: ResultCode,
    ticket: Option<TicketEntry>,
}

impl LockSession {
    /// Starts a session on subscribe. `now` and `time_status` are the lock's clock; `random` is fresh.
    pub fn new(lock_id: [u8; 16], now: u32, time_status: TimeStatus, random: LockRandom) -> LockSession {
        let hello =
            Hello { version: VERSION, lock_id, challenge: random.challenge, lock_time: now, time_status };
        LockSession {
            hello: hello.encode(),
            challenge: random.challenge,
            lock_time: now,
            time_status,
            new_ticket_id: random.ticket_id,
            state: State::AwaitRequest { resume_tried: false },
        }
    }

    /// The `Hello` bytes to send first.
    pub fn hello(&self) -> &[u8] {
        &self.hello
    }

    /// Handles one message from the phone at lock time `now`, `elapsed_ms` after this session's `Hello` was
    /// sent (measured on the lock's monotonic tick counter, never its settable clock). A request later than
    /// [`CHALLENGE_VALIDITY_MS`] is refused with `Abort(ChallengeExpired)` and ends the session: the
    /// challenge is stale, whatever the request holds (docs/protocol.md §10, relay window).
    #[allow(clippy::too_many_arguments)]
    pub fn handle_within(
        &mut self,
        identity: &LockIdentity,
        message: &[u8],
        now: u32,
        elapsed_ms: u64,
        revoked: &dyn RevocationCheck,
        tickets: &mut TicketTable,
    ) -> LockReply {
        if elapsed_ms > CHALLENGE_VALIDITY_MS {
            self.state = State::Done;
            let path = if message.first() == Some(&TYPE_RESUME_REQUEST) { Path::Resume } else { Path::Full };
            return self.abort(now, path, AbortReason::ChallengeExpired, true);
        }
        self.handle(identity, message, now, revoked, tickets)
    }

    /// Handles one message from the phone at lock time `now`, with no relay window: for callers that check
    /// the challenge's age themselves (tests and vectors). A lock uses [`LockSession::handle_within`].
    pub fn handle(
        &mut self,
        identity: &LockIdentity,
        message: &[u8],
        now: u32,
        revoked: &dyn RevocationCheck,
        tickets: &mut TicketTable,
    ) -> LockReply {
        let resume_tried = match self.state {
            State::AwaitRequest { resume_tried } => resume_tried,
            State::Done => return self.abort(now, Path::Full, AbortReason::UnexpectedMessage, true),
        };
        match message.first() {
            Some(&TYPE_FULL_REQUEST) => {
                self.state = State::Done;
                self.full(identity, message, now, revoked, tickets)
            }
            Some(&TYPE_RESUME_REQUEST) if !resume_tried => {
                self.resume(identity, message, now, revoked, tickets)
            }
            _ => {
                self.state = State::Done;
                self.abort(now, Path::Full, AbortReason::UnexpectedMessage, true)
            }
        }
    }

    fn abort(&self, now: u32, path: Path, reason: AbortReason, finished: bool) -> LockReply {
        LockReply {
            message: reason.encode(),
            event: UnlockEvent {
                at: now,
                path,
                outcome: EventOutcome::Aborted(reason),
                command: None,
                credential_id: None,
                user_id: None,
            },
            action: None,
            finished,
        }
    }

    fn full(
        &mut self,
        identity: &LockIdentity,
        message: &[u8],
        now: u32,
        revoked: &dyn RevocationCheck,
        tickets: &mut TicketTable,
    ) -> LockReply {
        let Ok(req) = FullRequest::decode(message) else {
            return self.abort(now, Path::Full, AbortReason::Malformed, true);
        };
        let eph = req.eph_pub.to_bytes();
        let shared = identity.static_key.agree(&req.eph_pub);
        let Ok(keys) = full_keys(&self.challenge, shared.as_bytes(), &identity.lock_id, &eph) else {
            return self.abort(now, Path::Full, AbortReason::Malformed, true);
        };
        let aad = request_aad(&self.hello, &eph);
        let Ok(plain) = keys.phone_to_lock.open(Direction::PhoneToLock, 0, &aad, req.sealed) else {
            return self.abort(now, Path::Full, AbortReason::DecryptFailed, true);
        };
        let body = match RequestBody::decode(&plain) {
            Ok(body) => body,
            Err(e) => {
                let code = match e {
                    crate::ProtocolError::UnsupportedVersion(_) => ResultCode::UnsupportedVersion,
                    _ => ResultCode::Malformed,
                };
                let event = UnlockEvent {
                    at: now,
                    path: Path::Full,
                    outcome: EventOutcome::Result(code),
                    command: None,
                    credential_id: None,
                    user_id: None,
                };
                return self.sealed(
                    &keys.lock_to_phone,
                    Decision { result: code, ticket: None },
                    event,
                    None,
                    tickets,
                    now,
                );
            }
        };
        let cred = &body.credential.body;
        let decision = self.decide_full(identity, &body, &eph, now, revoked, keys.resumption.clone());
        let event = UnlockEvent {
            at: now,
            path: Path::Full,
            outcome: EventOutcome::Result(decision.result),
            command: Some(body.command),
            credential_id: Some(cred.credential_id),
            user_id: Some(cred.user_id),
        };
        self.sealed(&keys.lock_to_phone, decision, event, Some(body.command), tickets, now)
    }

    fn decide_full(
        &self,
        identity: &LockIdentity,
        body: &RequestBody,
        eph: &[u8; 33],
        now: u32,
        revoked: &dyn RevocationCheck,
        secret: super::keys::ResumptionSecret,
    ) -> Decision {
        let cred = &body.credential.body;
        let deny = |result| Decision { result, ticket: None };
        if let Err(e) = body.credential.verify(&identity.backend_key, &identity.lock_id, now, SKEW_SECS) {
            return deny(ResultCode::from_credential_error(e));
        }
        let command = body.command.encode();
        if crypto::verify(
            &cred.device_pub,
            &[UNLOCK_LABEL, &self.hello, eph, &command],
            &body.device_signature,
        )
        .is_err()
        {
            return deny(ResultCode::BadDeviceSignature);
        }
        if revoked.is_revoked(&cred.credential_id, &cred.user_id) {
            return deny(ResultCode::Revoked);
        }
        let ticket = TicketEntry::new(
            self.new_ticket_id,
            secret,
            cred.credential_id,
            cred.user_id,
            cred.flags,
            cred.not_before,
            cred.not_after,
            cred.not_after.min(now.saturating_add(TICKET_LIFETIME)),
        );
        let result = if body.command.is_privileged() && !cred.flags.privileged {
            ResultCode::NotPermitted
        } else {
            ResultCode::Granted
        };
        Decision { result, ticket: Some(ticket) }
    }

    fn resume(
        &mut self,
        identity: &LockIdentity,
        message: &[u8],
        now: u32,
        revoked: &dyn RevocationCheck,
        tickets: &mut TicketTable,
    ) -> LockReply {
        self.state = State::AwaitRequest { resume_tried: true };
        let Ok(req) = ResumeRequest::decode(message) else {
            self.state = State::Done;
            return self.abort(now, Path::Resume, AbortReason::Malformed, true);
        };
        let Some(entry) = tickets.get(&req.ticket_id, now) else {
            return self.abort(now, Path::Resume, AbortReason::UnknownTicket, false);
        };
        let Ok(keys) = resume_keys(&self.challenge, &entry.secret, &identity.lock_id, &req.ticket_id) else {
            return self.abort(now, Path::Resume, AbortReason::BadTicketMac, false);
        };
        let command = req.command.encode();
        let expected = resume_mac(&keys.mac_key, &self.hello, &req.ticket_id, &command);
        if !crypto::ct_eq(&expected, &req.mac) {
            return self.abort(now, Path::Resume, AbortReason::BadTicketMac, false);
        }
        self.state = State::Done;
        // Authentic: the ticket is spent whatever the outcome.
        let Some(entry) = tickets.take(&req.ticket_id) else {
            return self.abort(now, Path::Resume, AbortReason::UnknownTicket, true);
        };
        let deny = |result| Decision { result, ticket: None };
        let decision = if revoked.is_revoked(&entry.credential_id, &entry.user_id) {
            deny(ResultCode::Revoked)
        } else if let Err(e) = check_window(entry.not_before, entry.not_after, now, SKEW_SECS) {
            deny(ResultCode::from_credential_error(e))
        } else {
            let rotated = TicketEntry::new(
                self.new_ticket_id,
                keys.next_resumption.clone(),
                entry.credential_id,
                entry.user_id,
                entry.flags,
                entry.not_before,
                entry.not_after,
                entry.expires_at,
            );
            let result = if req.command.is_privileged() && !entry.flags.privileged {
                ResultCode::NotPermitted
            } else {
                ResultCode::Granted
            };
            Decision { result, ticket: Some(rotated) }
        };
        let event = UnlockEvent {
            at: now,
            path: Path::Resume,
            outcome: EventOutcome::Result(decision.result),
            command: Some(req.command),
            credential_id: Some(entry.credential_id),
            user_id: Some(entry.user_id),
        };
        self.sealed(&keys.lock_to_phone, decision, event, Some(req.command), tickets, now)
    }

    fn sealed(
        &mut self,
        key: &AeadKey,
        decision: Decision,
        event: UnlockEvent,
        command: Option<Command>,
        tickets: &mut TicketTable,
        now: u32,
    ) -> LockReply {
        self.state = State::Done;
        let ticket = decision.ticket.map(|t| {
            let info = TicketInfo { ticket_id: t.ticket_id, expires_at: t.expires_at };
            tickets.insert(t, now);
            info
        });
        let body = ResultBody {
            result: decision.result,
            lock_time: self.lock_time.max(now),
            time_status: self.time_status,
            ticket,
        };
        let mut message = Vec::with_capacity(1 + 27 + crypto::TAG_LEN);
        message.push(TYPE_RESULT);
        match key.seal(Direction::LockToPhone, 0, &result_aad(&self.hello), &body.encode()) {
            Ok(ct) => message.extend_from_slice(&ct),
            Err(_) => return self.abort(now, event.path, AbortReason::Malformed, true),
        }
        let action = if decision.result == ResultCode::Granted { command } else { None };
        LockReply { message, event, action, finished: true }
    }
}

/// AAD of a full request: `hello || 0x02 || eph_pub`.
pub(crate) fn request_aad(hello: &[u8], eph: &[u8; 33]) -> Vec<u8> {
    let mut aad = Vec::with_capacity(hello.len() + 34);
    aad.extend_from_slice(hello);
    aad.push(TYPE_FULL_REQUEST);
    aad.extend_from_slice(eph);
    aad
}

/// AAD of a result: `hello || 0x04`.
pub(crate) fn result_aad(hello: &[u8]) -> Vec<u8> {
    let mut aad = Vec::with_capacity(hello.len() + 1);
    aad.extend_from_slice(hello);
    aad.push(TYPE_RESULT);
    aad
}
