//! The genuine material of `protocol/tests/vectors/`, rebuilt with the protocol crate at start-up: the full
//! and resume exchanges (both sides' messages, the lock's ticket), the sync deltas and time token, the
//! sealed log batch and the log chain. Targets feed mutations of these and assert that only the genuine
//! bytes ever pass authentication.

use std::sync::OnceLock;

use latchkey_protocol::credential::{Credential, CredentialBody, Flags, Role};
use latchkey_protocol::crypto::{DhSecret, PublicKey, SigningKey};
use latchkey_protocol::eventlog;
use latchkey_protocol::unlock::{
    Command, LockIdentity, LockRandom, LockSession, PhoneStep, PhoneTicket, PhoneUnlock, PhoneUnlockParams,
    TicketEntry, TicketTable, TimeStatus,
};
use serde_json::Value;

const UNLOCK_FULL: &str = include_str!("../../protocol/tests/vectors/unlock_full.json");
const UNLOCK_RESUME: &str = include_str!("../../protocol/tests/vectors/unlock_resume.json");
const SYNC: &str = include_str!("../../protocol/tests/vectors/sync.json");
const SYNC_SESSION: &str = include_str!("../../protocol/tests/vectors/sync_session.json");
const KEYPAD: &str = include_str!("../../protocol/tests/vectors/keypad.json");

fn json(text: &str) -> Value {
    serde_json::from_str(text).expect("the vector files are JSON")
}

/// Hex field to bytes.
pub fn bytes(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().expect("a hex string")).expect("valid hex")
}

/// Hex field to an array.
pub fn arr<const N: usize>(v: &Value) -> [u8; N] {
    bytes(v).try_into().expect("the right length")
}

/// Number field to u32.
pub fn num(v: &Value) -> u32 {
    u32::try_from(v.as_u64().expect("a number")).expect("fits u32")
}

fn status(v: &Value) -> TimeStatus {
    if num(v) == 0 { TimeStatus::Synced } else { TimeStatus::Uncertain }
}

/// One lock session's configuration and the genuine messages exchanged in it.
#[derive(Debug)]
pub struct Exchange {
    /// Lock time.
    pub now: u32,
    /// Lock clock status.
    pub status: TimeStatus,
    /// The session's randomness.
    pub random: LockRandom,
    /// Hello as sent.
    pub hello: Vec<u8>,
    /// The phone's genuine request.
    pub request: Vec<u8>,
    /// The lock's genuine sealed result.
    pub result: Vec<u8>,
}

impl Exchange {
    /// A fresh lock session of this configuration.
    pub fn session(&self, lock_id: [u8; 16]) -> LockSession {
        LockSession::new(lock_id, self.now, self.status, self.random)
    }
}

/// Both unlock vectors, rebuilt and checked against the files.
#[derive(Debug)]
pub struct Unlock {
    /// The lock.
    pub lock: LockIdentity,
    /// The device key (the phone's signer).
    pub device: SigningKey,
    /// The credential.
    pub credential: Credential,
    /// The phone's ephemeral key of the full exchange.
    pub ephemeral: DhSecret,
    /// The command of both exchanges.
    pub command: Command,
    /// The full exchange.
    pub full: Exchange,
    /// The resume exchange (uses the ticket the full exchange issued).
    pub resume: Exchange,
    /// The lock's ticket after the full exchange.
    pub lock_ticket: TicketEntry,
    /// The phone's ticket after the full exchange.
    pub phone_ticket: PhoneTicket,
}

impl Unlock {
    /// A lock-side ticket table holding the full exchange's ticket, as the resume vector starts.
    pub fn tickets(&self) -> TicketTable {
        let mut t = TicketTable::new();
        t.insert(self.lock_ticket.clone(), self.full.now);
        t
    }

    /// Phone parameters: the full path (no ticket) or the resume path (with the ticket).
    pub fn phone_params(&self, with_ticket: bool) -> PhoneUnlockParams {
        PhoneUnlockParams {
            lock_id: self.lock.lock_id,
            lock_static_pub: self.lock.static_key.public_key(),
            credential: self.credential,
            command: self.command,
            ephemeral: self.ephemeral.clone(),
            ticket: with_ticket.then(|| self.phone_ticket.clone()),
        }
    }
}

fn never_revoked(_: &[u8; 16], _: &[u8; 16]) -> bool {
    false
}

/// The unlock material (built once).
pub fn unlock() -> &'static Unlock {
    static CELL: OnceLock<Unlock> = OnceLock::new();
    CELL.get_or_init(build_unlock)
}

fn build_unlock() -> Unlock {
    let full_file = json(UNLOCK_FULL);
    let resume_file = json(UNLOCK_RESUME);
    let i = &full_file["inputs"];
    let c = &i["credential"];
    let backend = SigningKey::from_bytes(&arr(&c["backend_secret"])).expect("backend key");
    let device = SigningKey::from_bytes(&arr(&c["device_secret"])).expect("device key");
    let flags = num(&c["flags"]);
    let credential = CredentialBody {
        credential_id: arr(&c["credential_id"]),
        lock_id: arr(&c["lock_id"]),
        user_id: arr(&c["user_id"]),
        not_before: num(&c["not_before"]),
        not_after: num(&c["not_after"]),
        role: if num(&c["role"]) == 1 { Role::Resident } else { Role::NonResident },
        flags: Flags { shareable: flags & 1 != 0, privileged: flags & 2 != 0 },
        device_pub: device.public_key(),
    }
    .sign(&backend);
    let lock = LockIdentity {
        lock_id: arr(&c["lock_id"]),
        static_key: DhSecret::from_bytes(&arr(&i["lock_static_secret"])).expect("lock key"),
        backend_key: backend.public_key(),
    };
    let command = Command::decode(&bytes(&i["command"])).expect("command");
    let ephemeral = DhSecret::from_bytes(&arr(&i["phone_ephemeral_secret"])).expect("ephemeral key");
    let mut full = Exchange {
        now: num(&i["lock_time"]),
        status: status(&i["time_status"]),
        random: LockRandom { challenge: arr(&i["challenge"]), ticket_id: arr(&i["new_ticket_id"]) },
        hello: Vec::new(),
        request: Vec::new(),
        result: Vec::new(),
    };
    let mut tickets = TicketTable::new();
    let phone_ticket = {
        let mut session = full.session(lock.lock_id);
        full.hello = session.hello().to_vec();
        let mut phone = PhoneUnlock::new(PhoneUnlockParams {
            lock_id: lock.lock_id,
            lock_static_pub: lock.static_key.public_key(),
            credential,
            command,
            ephemeral: ephemeral.clone(),
            ticket: None,
        });
        let Ok(PhoneStep::Send(request)) = phone.handle(&full.hello, &device) else {
            panic!("the phone answers the vector's hello")
        };
        let reply = session.handle(&lock, &request, full.now, &never_revoked, &mut tickets);
        assert_eq!(reply.action, Some(command), "the vector's full exchange grants");
        let Ok(PhoneStep::Done(outcome)) = phone.handle(&reply.message, &device) else {
            panic!("the phone accepts the vector's result")
        };
        full.request = request;
        full.result = reply.message;
        outcome.ticket.expect("the full exchange issues a ticket")
    };
    let outputs = &full_file["outputs"];
    assert_eq!(full.request, bytes(&outputs["request"]), "harness matches unlock_full.json");
    assert_eq!(full.result, bytes(&outputs["result"]), "harness matches unlock_full.json");
    let lock_ticket =
        tickets.get(&phone_ticket.ticket_id, full.now).cloned().expect("the lock holds the ticket");

    let r = &resume_file["inputs"];
    let mut resume = Exchange {
        now: num(&r["lock_time"]),
        status: status(&r["time_status"]),
        random: LockRandom { challenge: arr(&r["challenge"]), ticket_id: arr(&r["new_ticket_id"]) },
        hello: Vec::new(),
        request: Vec::new(),
        result: Vec::new(),
    };
    {
        let mut session = resume.session(lock.lock_id);
        resume.hello = session.hello().to_vec();
        let mut phone = PhoneUnlock::new(PhoneUnlockParams {
            lock_id: lock.lock_id,
            lock_static_pub: lock.static_key.public_key(),
            credential,
            command,
            ephemeral: ephemeral.clone(),
            ticket: Some(phone_ticket.clone()),
        });
        let Ok(PhoneStep::Send(request)) = phone.handle(&resume.hello, &device) else {
            panic!("the phone answers the resume hello")
        };
        let reply = session.handle(&lock, &request, resume.now, &never_revoked, &mut tickets);
        assert_eq!(reply.action, Some(command), "the vector's resume exchange grants");
        resume.request = request;
        resume.result = reply.message;
    }
    let outputs = &resume_file["outputs"];
    assert_eq!(resume.request, bytes(&outputs["request"]), "harness matches unlock_resume.json");
    assert_eq!(resume.result, bytes(&outputs["result"]), "harness matches unlock_resume.json");
    Unlock { lock, device, credential, ephemeral, command, full, resume, lock_ticket, phone_ticket }
}

/// The sync vectors: backend key, lock id, the two genuine deltas and the time token.
#[derive(Debug)]
pub struct Sync {
    /// The backend's signing key (targets re-sign fuzzed deltas with it to reach the apply logic).
    pub backend: SigningKey,
    /// Its public key.
    pub backend_pub: PublicKey,
    /// The lock.
    pub lock_id: [u8; 16],
    /// Snapshot delta bytes.
    pub snapshot: Vec<u8>,
    /// Incremental delta bytes.
    pub incremental: Vec<u8>,
    /// Time token bytes.
    pub time_token: Vec<u8>,
}

/// The sync material (built once).
pub fn sync() -> &'static Sync {
    static CELL: OnceLock<Sync> = OnceLock::new();
    CELL.get_or_init(|| {
        let f = json(SYNC);
        let backend = SigningKey::from_bytes(&arr(&f["inputs"]["backend_secret"])).expect("backend key");
        Sync {
            backend_pub: backend.public_key(),
            backend,
            lock_id: arr(&f["inputs"]["lock_id"]),
            snapshot: bytes(&f["outputs"]["snapshot"]["encoded"]),
            incremental: bytes(&f["outputs"]["incremental"]["encoded"]),
            time_token: bytes(&f["outputs"]["time_token"]["encoded"]),
        }
    })
}

/// The sync-session vector: a sealed log batch and what opens it.
#[derive(Debug)]
pub struct LogUpload {
    /// The lock's log key.
    pub log_key: [u8; 32],
    /// The lock.
    pub lock_id: [u8; 16],
    /// The hello the batch is bound to.
    pub hello: Vec<u8>,
    /// Its batch index.
    pub batch_index: u32,
    /// The genuine sealed batch.
    pub sealed: Vec<u8>,
}

/// The log-upload material (built once).
pub fn log_upload() -> &'static LogUpload {
    static CELL: OnceLock<LogUpload> = OnceLock::new();
    CELL.get_or_init(|| {
        let f = json(SYNC_SESSION);
        LogUpload {
            log_key: arr(&f["inputs"]["log_key"]),
            lock_id: arr(&f["inputs"]["lock_id"]),
            hello: bytes(&f["inputs"]["hello"]),
            batch_index: num(&f["inputs"]["batch_index"]),
            sealed: bytes(&f["outputs"]["sealed"]),
        }
    })
}

/// The keypad vector's log chain and door secret.
#[derive(Debug)]
pub struct Keypad {
    /// The door's doorcode secret.
    pub door_secret: [u8; 32],
    /// The log key of the chain.
    pub log_key: [u8; 32],
    /// The lock of the chain.
    pub lock_id: [u8; 16],
    /// The genuine chain, from genesis.
    pub chain: Vec<eventlog::Entry>,
}

/// The keypad material (built once).
pub fn keypad() -> &'static Keypad {
    static CELL: OnceLock<Keypad> = OnceLock::new();
    CELL.get_or_init(|| {
        let f = json(KEYPAD);
        let chain = f["log_chain"]["entries"]
            .as_array()
            .expect("entries")
            .iter()
            .map(|e| eventlog::Entry::decode(&bytes(&e["encoding"])).expect("a vector entry decodes"))
            .collect();
        Keypad {
            door_secret: arr(&f["keypad"]["door_secret"]),
            log_key: arr(&f["log_chain"]["log_key"]),
            lock_id: arr(&f["log_chain"]["lock_id"]),
            chain,
        }
    })
}
