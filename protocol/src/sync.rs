//! Backend-signed sync: sequenced deltas of a lock's access data, and signed time tokens.
//!
//! A phone carries these bytes to a lock but cannot forge, alter, reorder or replay them: each [`Delta`]
//! is signed by the backend over `"latchkey/delta/v1" || header || entries` and names one lock and one
//! sequence number, and the lock ([`LockSyncState::apply`]) accepts only `last_applied_seq + 1` (or, for a
//! snapshot, anything newer). The lock's clock ([`LockClock`]) is set only from backend-signed
//! [`TimeToken`]s and never moves back. Fixed big-endian layouts; see docs/protocol.md §23.
//!
//! ```text
//! Delta   = header(30) || entries || signature(64)
//! header  = version u8 (=1) || kind u8 (0 incremental, 1 snapshot) || lock_id(16) || seq u64 || entry_count u32
//! entry   = tag u8 || fixed body (see Entry)
//! TimeToken = lock_id(16) || time u32 || signature(64) over "latchkey/time/v1" || lock_id || time
//! ```
//!
//! No I/O, no clock, no randomness. Applying is atomic: the new state is built aside and returned only if
//! every entry applies; the caller persists it in one write (old or new survives a power loss).

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec::Vec;
use core::fmt;

use crate::crypto::{self, PublicKey, SIGNATURE_LEN, SigningKey};
use crate::eventlog::{self, AckVerifier, MAC_LEN};
use crate::keypad::{MAX_PERMANENT_CODES, PERMANENT_CODE_LEN, PermanentCode, ZoneRule};

/// The delta format version this implementation speaks.
pub const DELTA_VERSION: u8 = 1;
/// Domain string of a delta signature.
pub const DELTA_DOMAIN: &[u8] = b"latchkey/delta/v1";
/// Domain string of a time token signature.
pub const TIME_DOMAIN: &[u8] = b"latchkey/time/v1";
/// Length of an encoded delta header.
pub const HEADER_LEN: usize = 30;
/// Length of an encoded time token.
pub const TIME_TOKEN_LEN: usize = 16 + 4 + SIGNATURE_LEN;
/// Most entries one delta may carry.
pub const MAX_ENTRIES: usize = 16_384;
/// Largest encoded delta accepted (checked before anything is allocated).
pub const MAX_DELTA_LEN: usize = 512 * 1024;
/// Most users on a lock's access list; a delta that would exceed it is refused whole.
pub const MAX_ACCESS: usize = 16_384;
/// Most revoked credential ids a lock keeps; a delta that would exceed it is refused whole.
pub const MAX_REVOKED: usize = 16_384;
/// Smallest encoded entry: a ZoneRule with one transition (tag + version + count + 8 bytes). Bounds
/// `entry_count` against the input length.
const MIN_ENTRY_LEN: usize = 11;

const TAG_ADD_ACCESS: u8 = 0x01;
const TAG_REMOVE_ACCESS: u8 = 0x02;
const TAG_REVOKE_CREDENTIAL: u8 = 0x03;
const TAG_ADD_PERMANENT_CODE: u8 = 0x04;
const TAG_REMOVE_PERMANENT_CODE: u8 = 0x05;
const TAG_ZONE_RULE: u8 = 0x06;
const TAG_TIME_TOKEN: u8 = 0x07;
const TAG_LOG_ACK: u8 = 0x08;

/// Why a delta or time token was refused. A refused input changes nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncError {
    /// Bytes do not follow the layout; `what` names the field.
    Malformed {
        /// The field that was malformed.
        what: &'static str,
    },
    /// Encoded input longer than [`MAX_DELTA_LEN`].
    TooLarge(usize),
    /// More than [`MAX_ENTRIES`] entries.
    TooManyEntries(u32),
    /// A delta version this implementation does not speak.
    UnsupportedVersion(u8),
    /// The backend signature does not verify.
    BadSignature,
    /// Signed for another lock.
    WrongLock,
    /// Not the next sequence number (reordered, replayed or skipped).
    OutOfOrder {
        /// What the lock would accept (`last_applied_seq + 1`; a snapshot may be newer).
        expected: u64,
        /// What the delta carries.
        got: u64,
    },
    /// Applying would exceed a table bound (`what` names it).
    Full {
        /// The table that would overflow.
        what: &'static str,
    },
    /// A time token older than the last one accepted.
    StaleTime {
        /// The last accepted token time.
        last: u32,
        /// The token's time.
        got: u32,
    },
}

impl fmt::Display for SyncError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SyncError::Malformed { what } => write!(f, "malformed {what}"),
            SyncError::TooLarge(n) => write!(f, "sync input of {n} bytes exceeds the limit"),
            SyncError::TooManyEntries(n) => write!(f, "delta announces {n} entries, over the limit"),
            SyncError::UnsupportedVersion(v) => write!(f, "unsupported delta version {v}"),
            SyncError::BadSignature => f.write_str("backend signature does not verify"),
            SyncError::WrongLock => f.write_str("signed for another lock"),
            SyncError::OutOfOrder { expected, got } => write!(f, "delta seq {got}, expected {expected}"),
            SyncError::Full { what } => write!(f, "{what} would exceed its bound"),
            SyncError::StaleTime { last, got } => write!(f, "time token {got} older than accepted {last}"),
        }
    }
}

impl core::error::Error for SyncError {}

fn malformed(what: &'static str) -> SyncError {
    SyncError::Malformed { what }
}

/// A cursor over input bytes that never panics.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], SyncError> {
        if self.0.len() < n {
            return Err(malformed(what));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], SyncError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }
    fn u8(&mut self, what: &'static str) -> Result<u8, SyncError> {
        Ok(self.array::<1>(what)?[0])
    }
    fn u32(&mut self, what: &'static str) -> Result<u32, SyncError> {
        Ok(u32::from_be_bytes(self.array(what)?))
    }
    fn u64(&mut self, what: &'static str) -> Result<u64, SyncError> {
        Ok(u64::from_be_bytes(self.array(what)?))
    }
}

// ---------------------------------------------------------------------------------------------------------
// Time tokens and the lock clock
// ---------------------------------------------------------------------------------------------------------

/// A backend-signed statement "it is `time` (unix seconds) for lock `lock_id`".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeToken {
    /// The lock it is for.
    pub lock_id: [u8; 16],
    /// Unix seconds at signing.
    pub time: u32,
    /// ECDSA-P256-SHA256 by the backend over [`TIME_DOMAIN`] || lock_id || time BE.
    pub signature: [u8; SIGNATURE_LEN],
}

impl TimeToken {
    /// The backend signs a token (RFC 6979: deterministic).
    pub fn sign(lock_id: [u8; 16], time: u32, backend: &SigningKey) -> TimeToken {
        let signature = backend.sign(&[TIME_DOMAIN, &lock_id, &time.to_be_bytes()]);
        TimeToken { lock_id, time, signature }
    }

    /// Checks the backend signature and the lock id.
    pub fn verify(&self, backend: &PublicKey, lock_id: &[u8; 16]) -> Result<(), SyncError> {
        crypto::verify(backend, &[TIME_DOMAIN, &self.lock_id, &self.time.to_be_bytes()], &self.signature)
            .map_err(|_| SyncError::BadSignature)?;
        if !crypto::ct_eq(&self.lock_id, lock_id) {
            return Err(SyncError::WrongLock);
        }
        Ok(())
    }

    /// `lock_id(16) || time u32 BE || signature(64)`: 84 bytes.
    pub fn encode(&self) -> [u8; TIME_TOKEN_LEN] {
        let mut out = [0u8; TIME_TOKEN_LEN];
        out[..16].copy_from_slice(&self.lock_id);
        out[16..20].copy_from_slice(&self.time.to_be_bytes());
        out[20..].copy_from_slice(&self.signature);
        out
    }

    /// Parses exactly [`TIME_TOKEN_LEN`] bytes (signature not checked).
    pub fn decode(bytes: &[u8]) -> Result<TimeToken, SyncError> {
        if bytes.len() != TIME_TOKEN_LEN {
            return Err(malformed("time token length"));
        }
        Self::read(&mut Reader(bytes))
    }

    fn read(r: &mut Reader<'_>) -> Result<TimeToken, SyncError> {
        Ok(TimeToken {
            lock_id: r.array("time token")?,
            time: r.u32("time token")?,
            signature: r.array("time token")?,
        })
    }
}

/// What the lock's clock says: a time, and whether it can be trusted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClockReading {
    /// Best estimate of unix seconds (the last token time after a power loss).
    pub time: u32,
    /// `true` after a power loss (or before any token) until a token is applied: log and policy must say so.
    pub uncertain: bool,
}

/// The lock's clock: set only by backend-signed [`TimeToken`]s, advanced by the lock's own oscillator via
/// [`LockClock::tick`], never moved back. The phone's claimed time is never an input.
///
/// Persist `last_token_time` (a floor no token may go below); everything else may be lost with power.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LockClock {
    lock_id: [u8; 16],
    now: u32,
    last_token_time: Option<u32>,
    uncertain: bool,
}

impl LockClock {
    /// A fresh lock: no time at all, uncertain.
    pub fn new(lock_id: [u8; 16]) -> LockClock {
        LockClock { lock_id, now: 0, last_token_time: None, uncertain: true }
    }

    /// After a power loss: restore the persisted floor; the clock is uncertain until a token arrives.
    pub fn after_power_loss(lock_id: [u8; 16], last_token_time: Option<u32>) -> LockClock {
        LockClock { lock_id, now: last_token_time.unwrap_or(0), last_token_time, uncertain: true }
    }

    /// Marks the clock uncertain (the lock detected a power loss or an RTC fault).
    pub fn power_lost(&mut self) {
        self.uncertain = true;
    }

    /// Advances by `secs` measured by the lock's own oscillator (saturating).
    pub fn tick(&mut self, secs: u32) {
        self.now = self.now.saturating_add(secs);
    }

    /// The current reading.
    pub fn now(&self) -> ClockReading {
        ClockReading { time: self.now, uncertain: self.uncertain }
    }

    /// The time of the last accepted token: what the lock persists.
    pub fn last_token_time(&self) -> Option<u32> {
        self.last_token_time
    }

    /// Accepts a token only if its signature verifies for this lock and its time is not older than the
    /// last accepted token's (so a replayed old token is refused). Then the clock reads
    /// `max(token.time, current time)` when it was certain (a replayed or withheld token never moves it
    /// back), or `token.time` when it was uncertain; either way it becomes certain. Returns the new time.
    pub fn apply_time_token(&mut self, token: &TimeToken, backend: &PublicKey) -> Result<u32, SyncError> {
        token.verify(backend, &self.lock_id)?;
        if let Some(last) = self.last_token_time
            && token.time < last
        {
            return Err(SyncError::StaleTime { last, got: token.time });
        }
        self.now = if self.uncertain { token.time } else { self.now.max(token.time) };
        self.last_token_time = Some(token.time);
        self.uncertain = false;
        Ok(self.now)
    }
}

// ---------------------------------------------------------------------------------------------------------
// Delta entries
// ---------------------------------------------------------------------------------------------------------

/// A user's access window at the lock: `not_before <= now <= not_after` (inclusive, like credentials).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// First valid second (unix).
    pub not_before: u32,
    /// Last valid second (unix, inclusive).
    pub not_after: u32,
}

/// A backend log acknowledgement carried in a delta; the delta signature authenticates it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogAck {
    /// Entries up to and including this seq may be deleted.
    pub up_to_seq: u64,
    /// The MAC of entry `up_to_seq` as the backend received it.
    pub entry_mac: [u8; MAC_LEN],
}

impl LogAck {
    /// A verifier for `EventLog::acknowledge(up_to_seq, &[], &verifier)`: it accepts exactly the ack
    /// message for this lock, seq and entry MAC (the log builds that message from its *own* entry MAC,
    /// so a mismatch is refused). Use it only for acks taken from a delta that [`LockSyncState::apply`]
    /// accepted: the delta signature is what authenticates them.
    pub fn verifier(&self, lock_id: [u8; 16]) -> impl AckVerifier {
        let expected = eventlog::ack_message(&lock_id, self.up_to_seq, &self.entry_mac);
        move |message: &[u8], _signature: &[u8]| crypto::ct_eq(message, &expected)
    }
}

/// One change a delta carries. Wire form: a tag byte, then a fixed body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Entry {
    /// `0x01 || user_id(16) || not_before u32 || not_after u32` (25 bytes): add or replace a user's access.
    AddAccess {
        /// The user.
        user_id: [u8; 16],
        /// Their window.
        window: Window,
    },
    /// `0x02 || user_id(16)` (17 bytes).
    RemoveAccess {
        /// The user.
        user_id: [u8; 16],
    },
    /// `0x03 || credential_id(16)` (17 bytes): this credential is refused from now on.
    RevokeCredential {
        /// The credential.
        credential_id: [u8; 16],
    },
    /// `0x04 || PermanentCode::encode()` (41 bytes).
    AddPermanentCode(PermanentCode),
    /// `0x05 || id(16)` (17 bytes).
    RemovePermanentCode {
        /// The access id the code belongs to.
        id: [u8; 16],
    },
    /// `0x06 || ZoneRule::encode()` (3 + 8 × transitions bytes; self-delimiting by its count byte).
    ZoneRule(ZoneRule),
    /// `0x07 || TimeToken::encode()` (85 bytes). Applied to [`LockClock`] by the caller.
    TimeToken(TimeToken),
    /// `0x08 || up_to_seq u64 || entry_mac(16)` (25 bytes).
    LogAck(LogAck),
}

impl Entry {
    fn write(&self, out: &mut Vec<u8>) {
        match self {
            Entry::AddAccess { user_id, window } => {
                out.push(TAG_ADD_ACCESS);
                out.extend_from_slice(user_id);
                out.extend_from_slice(&window.not_before.to_be_bytes());
                out.extend_from_slice(&window.not_after.to_be_bytes());
            }
            Entry::RemoveAccess { user_id } => {
                out.push(TAG_REMOVE_ACCESS);
                out.extend_from_slice(user_id);
            }
            Entry::RevokeCredential { credential_id } => {
                out.push(TAG_REVOKE_CREDENTIAL);
                out.extend_from_slice(credential_id);
            }
            Entry::AddPermanentCode(code) => {
                out.push(TAG_ADD_PERMANENT_CODE);
                out.extend_from_slice(&code.encode());
            }
            Entry::RemovePermanentCode { id } => {
                out.push(TAG_REMOVE_PERMANENT_CODE);
                out.extend_from_slice(id);
            }
            Entry::ZoneRule(rule) => {
                out.push(TAG_ZONE_RULE);
                out.extend_from_slice(&rule.encode());
            }
            Entry::TimeToken(token) => {
                out.push(TAG_TIME_TOKEN);
                out.extend_from_slice(&token.encode());
            }
            Entry::LogAck(ack) => {
                out.push(TAG_LOG_ACK);
                out.extend_from_slice(&ack.up_to_seq.to_be_bytes());
                out.extend_from_slice(&ack.entry_mac);
            }
        }
    }

    fn read(r: &mut Reader<'_>) -> Result<Entry, SyncError> {
        Ok(match r.u8("entry tag")? {
            TAG_ADD_ACCESS => {
                let user_id = r.array("add access")?;
                let window = Window { not_before: r.u32("add access")?, not_after: r.u32("add access")? };
                if window.not_before > window.not_after {
                    return Err(malformed("access window"));
                }
                Entry::AddAccess { user_id, window }
            }
            TAG_REMOVE_ACCESS => Entry::RemoveAccess { user_id: r.array("remove access")? },
            TAG_REVOKE_CREDENTIAL => Entry::RevokeCredential { credential_id: r.array("revoke credential")? },
            TAG_ADD_PERMANENT_CODE => Entry::AddPermanentCode(
                PermanentCode::decode(r.take(PERMANENT_CODE_LEN, "permanent code")?)
                    .ok_or(malformed("permanent code"))?,
            ),
            TAG_REMOVE_PERMANENT_CODE => Entry::RemovePermanentCode { id: r.array("remove permanent code")? },
            TAG_ZONE_RULE => {
                let head = r.0.get(..2).ok_or(malformed("zone rule"))?;
                let len = 2 + 8 * usize::from(head[1]);
                let bytes = r.take(len, "zone rule")?;
                Entry::ZoneRule(ZoneRule::decode(bytes).map_err(|_| malformed("zone rule"))?)
            }
            TAG_TIME_TOKEN => Entry::TimeToken(TimeToken::read(r)?),
            TAG_LOG_ACK => {
                Entry::LogAck(LogAck { up_to_seq: r.u64("log ack")?, entry_mac: r.array("log ack")? })
            }
            _ => return Err(malformed("entry tag")),
        })
    }
}

// ---------------------------------------------------------------------------------------------------------
// Deltas
// ---------------------------------------------------------------------------------------------------------

/// Incremental (apply on top) or snapshot (replace the access list and PERMANENT codes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeltaKind {
    /// `0`: applies on top of `seq - 1` only.
    Incremental,
    /// `1`: replaces the access list and PERMANENT codes; accepted at any `seq > last_applied_seq`.
    Snapshot,
}

/// The signed, sequenced change set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delta {
    /// Incremental or snapshot.
    pub kind: DeltaKind,
    /// The lock it is for.
    pub lock_id: [u8; 16],
    /// Its sequence number (per lock, from 1).
    pub seq: u64,
    /// The changes, applied in order.
    pub entries: Vec<Entry>,
    /// ECDSA-P256-SHA256 by the backend over [`DELTA_DOMAIN`] || header || entries.
    pub signature: [u8; SIGNATURE_LEN],
}

fn encode_body(kind: DeltaKind, lock_id: &[u8; 16], seq: u64, entries: &[Entry]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + 25 * entries.len() + SIGNATURE_LEN);
    out.push(DELTA_VERSION);
    out.push(match kind {
        DeltaKind::Incremental => 0,
        DeltaKind::Snapshot => 1,
    });
    out.extend_from_slice(lock_id);
    out.extend_from_slice(&seq.to_be_bytes());
    // Callers keep entries.len() <= MAX_ENTRIES; the lock refuses more anyway.
    out.extend_from_slice(&u32::try_from(entries.len()).unwrap_or(u32::MAX).to_be_bytes());
    for e in entries {
        e.write(&mut out);
    }
    out
}

impl Delta {
    /// The backend builds and signs a delta.
    pub fn sign(
        kind: DeltaKind,
        lock_id: [u8; 16],
        seq: u64,
        entries: Vec<Entry>,
        backend: &SigningKey,
    ) -> Delta {
        let signature = backend.sign(&[DELTA_DOMAIN, &encode_body(kind, &lock_id, seq, &entries)]);
        Delta { kind, lock_id, seq, entries, signature }
    }

    /// `header || entries || signature`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = encode_body(self.kind, &self.lock_id, self.seq, &self.entries);
        out.extend_from_slice(&self.signature);
        out
    }

    /// Parses a delta, checking the size bound and the entry count against the input length before
    /// allocating; never panics on garbage. Does *not* check the signature (see [`LockSyncState::apply`]).
    pub fn decode(bytes: &[u8]) -> Result<Delta, SyncError> {
        if bytes.len() > MAX_DELTA_LEN {
            return Err(SyncError::TooLarge(bytes.len()));
        }
        let mut r = Reader(bytes);
        let version = r.u8("delta header")?;
        if version != DELTA_VERSION {
            return Err(SyncError::UnsupportedVersion(version));
        }
        let kind = match r.u8("delta header")? {
            0 => DeltaKind::Incremental,
            1 => DeltaKind::Snapshot,
            _ => return Err(malformed("delta kind")),
        };
        let lock_id = r.array("delta header")?;
        let seq = r.u64("delta header")?;
        let count = r.u32("delta header")?;
        let n = usize::try_from(count).map_err(|_| SyncError::TooManyEntries(count))?;
        if n > MAX_ENTRIES {
            return Err(SyncError::TooManyEntries(count));
        }
        if n.saturating_mul(MIN_ENTRY_LEN) > r.0.len().saturating_sub(SIGNATURE_LEN) {
            return Err(malformed("delta entry count"));
        }
        let mut entries = Vec::with_capacity(n);
        for _ in 0..n {
            entries.push(Entry::read(&mut r)?);
        }
        let signature = r.array("delta signature")?;
        if !r.0.is_empty() {
            return Err(malformed("delta trailing bytes"));
        }
        Ok(Delta { kind, lock_id, seq, entries, signature })
    }

    /// Checks the backend signature and the lock id (not the sequence: that is the state's business).
    pub fn verify(&self, backend: &PublicKey, lock_id: &[u8; 16]) -> Result<(), SyncError> {
        if self.entries.len() > MAX_ENTRIES {
            return Err(SyncError::TooManyEntries(u32::try_from(self.entries.len()).unwrap_or(u32::MAX)));
        }
        let body = encode_body(self.kind, &self.lock_id, self.seq, &self.entries);
        crypto::verify(backend, &[DELTA_DOMAIN, &body], &self.signature)
            .map_err(|_| SyncError::BadSignature)?;
        if !crypto::ct_eq(&self.lock_id, lock_id) {
            return Err(SyncError::WrongLock);
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------------------
// The lock's sync state
// ---------------------------------------------------------------------------------------------------------

/// What an applied delta changed: for the event log, the keypad and the resumption-ticket table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Applied {
    /// The seq now applied.
    pub seq: u64,
    /// Whether it was a snapshot.
    pub snapshot: bool,
    /// Users added or whose window changed.
    pub users_added: Vec<[u8; 16]>,
    /// Users whose access is gone (removed, or absent from a snapshot): drop their tickets.
    pub users_removed: Vec<[u8; 16]>,
    /// Credentials newly revoked: drop their tickets.
    pub credentials_revoked: Vec<[u8; 16]>,
    /// PERMANENT codes added or replaced: feed to the keypad.
    pub permanent_codes_added: Vec<PermanentCode>,
    /// PERMANENT code ids removed (or absent from a snapshot): revoke at the keypad.
    pub permanent_codes_removed: Vec<[u8; 16]>,
    /// The last zone rule in the delta, if any.
    pub zone_rule: Option<ZoneRule>,
    /// Time tokens carried: give each to [`LockClock::apply_time_token`].
    pub time_tokens: Vec<TimeToken>,
    /// Log acknowledgements carried: see [`LogAck::verifier`].
    pub log_acks: Vec<LogAck>,
}

/// The lock's sync-visible state. Persist it whole, in one write, after each successful apply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockSyncState {
    lock_id: [u8; 16],
    last_applied_seq: u64,
    access: BTreeMap<[u8; 16], Window>,
    revoked: BTreeSet<[u8; 16]>,
    permanent_codes: BTreeMap<[u8; 16], PermanentCode>,
    zone_rule: Option<ZoneRule>,
}

impl LockSyncState {
    /// A freshly activated lock: nothing applied (the first delta is seq 1, or any snapshot).
    pub fn new(lock_id: [u8; 16]) -> LockSyncState {
        LockSyncState {
            lock_id,
            last_applied_seq: 0,
            access: BTreeMap::new(),
            revoked: BTreeSet::new(),
            permanent_codes: BTreeMap::new(),
            zone_rule: None,
        }
    }

    /// The last applied sequence number (0: none).
    pub fn last_applied_seq(&self) -> u64 {
        self.last_applied_seq
    }

    /// The user's window, if they have access.
    pub fn access(&self, user_id: &[u8; 16]) -> Option<Window> {
        self.access.get(user_id).copied()
    }

    /// Number of users with access.
    pub fn access_len(&self) -> usize {
        self.access.len()
    }

    /// Whether a credential has been revoked.
    pub fn is_revoked(&self, credential_id: &[u8; 16]) -> bool {
        self.revoked.contains(credential_id)
    }

    /// The PERMANENT codes, by access id.
    pub fn permanent_codes(&self) -> impl Iterator<Item = &PermanentCode> {
        self.permanent_codes.values()
    }

    /// The current zone rule, if one was synced.
    pub fn zone_rule(&self) -> Option<&ZoneRule> {
        self.zone_rule.as_ref()
    }

    /// Verifies and applies a delta, all or nothing. Order of checks: signature ([`SyncError::BadSignature`]),
    /// lock ([`SyncError::WrongLock`]), sequence ([`SyncError::OutOfOrder`]: incremental must be exactly
    /// `last_applied_seq + 1`, snapshot any larger seq), then bounds ([`SyncError::Full`]). On any error
    /// `self` is untouched. The new state is built aside and swapped in at the end; the caller must
    /// persist it in a single write so a power loss leaves the old or the new state, never a mix.
    pub fn apply(&mut self, delta: &Delta, backend: &PublicKey) -> Result<Applied, SyncError> {
        delta.verify(backend, &self.lock_id)?;
        let expected = self
            .last_applied_seq
            .checked_add(1)
            .ok_or(SyncError::OutOfOrder { expected: u64::MAX, got: delta.seq })?;
        let in_order = match delta.kind {
            DeltaKind::Incremental => delta.seq == expected,
            DeltaKind::Snapshot => delta.seq >= expected,
        };
        if !in_order {
            return Err(SyncError::OutOfOrder { expected, got: delta.seq });
        }

        let mut next = self.clone();
        let mut applied =
            Applied { seq: delta.seq, snapshot: delta.kind == DeltaKind::Snapshot, ..Applied::default() };
        if delta.kind == DeltaKind::Snapshot {
            next.access.clear();
            next.permanent_codes.clear();
        }
        for entry in &delta.entries {
            match entry {
                Entry::AddAccess { user_id, window } => {
                    next.access.insert(*user_id, *window);
                    applied.users_added.push(*user_id);
                }
                Entry::RemoveAccess { user_id } => {
                    if next.access.remove(user_id).is_some() {
                        applied.users_removed.push(*user_id);
                    }
                }
                Entry::RevokeCredential { credential_id } => {
                    if next.revoked.insert(*credential_id) {
                        applied.credentials_revoked.push(*credential_id);
                    }
                }
                Entry::AddPermanentCode(code) => {
                    next.permanent_codes.insert(code.id, *code);
                    applied.permanent_codes_added.push(*code);
                }
                Entry::RemovePermanentCode { id } => {
                    if next.permanent_codes.remove(id).is_some() {
                        applied.permanent_codes_removed.push(*id);
                    }
                }
                Entry::ZoneRule(rule) => {
                    next.zone_rule = Some(rule.clone());
                    applied.zone_rule = Some(rule.clone());
                }
                Entry::TimeToken(token) => applied.time_tokens.push(*token),
                Entry::LogAck(ack) => applied.log_acks.push(*ack),
            }
        }
        if next.access.len() > MAX_ACCESS {
            return Err(SyncError::Full { what: "access list" });
        }
        if next.revoked.len() > MAX_REVOKED {
            return Err(SyncError::Full { what: "revoked credentials" });
        }
        if next.permanent_codes.len() > MAX_PERMANENT_CODES {
            return Err(SyncError::Full { what: "permanent codes" });
        }
        if delta.kind == DeltaKind::Snapshot {
            // Report what the snapshot dropped, so the keypad and ticket table follow.
            applied.users_removed.extend(self.access.keys().filter(|u| !next.access.contains_key(*u)));
            applied
                .permanent_codes_removed
                .extend(self.permanent_codes.keys().filter(|id| !next.permanent_codes.contains_key(*id)));
        }
        next.last_applied_seq = delta.seq;
        *self = next;
        Ok(applied)
    }
}

#[cfg(test)]
mod tests;
