//! The backend-signed, sequenced change set ([`Delta`]) and the changes it carries ([`Entry`]).
//!
//! Each delta is signed by the backend over `"latchkey/delta/v1" || header || entries` and names one lock
//! and one sequence number. Fixed big-endian layouts; see docs/protocol.md §23.
//!
//! ```text
//! Delta   = header(30) || entries || signature(64)
//! header  = version u8 (=1) || kind u8 (0 incremental, 1 snapshot) || lock_id(16) || seq u64 || entry_count u32
//! entry   = tag u8 || fixed body (see Entry)
//! ```

use alloc::vec::Vec;

use crate::crypto::{self, PublicKey, SIGNATURE_LEN, SigningKey};
use crate::doorcode::{DailyKind, LocalDay};
use crate::eventlog::{self, AckVerifier, MAC_LEN};
use crate::keypad::{DAILY_SLOT_WINDOW, PERMANENT_CODE_LEN, PermanentCode, ZoneRule};

use super::time::TimeToken;
use super::{Reader, SyncError, malformed};

/// The delta format version this implementation speaks.
pub const DELTA_VERSION: u8 = 1;
/// Domain string of a delta signature.
pub const DELTA_DOMAIN: &[u8] = b"latchkey/delta/v1";
/// Length of an encoded delta header.
pub const HEADER_LEN: usize = 30;
/// Most entries one delta may carry.
pub const MAX_ENTRIES: usize = 16_384;
/// Largest encoded delta accepted (checked before anything is allocated).
pub const MAX_DELTA_LEN: usize = 512 * 1024;
/// Smallest encoded entry: a DailySlotsIssued (tag + day + kind + issued). Bounds `entry_count` against
/// the input length.
const MIN_ENTRY_LEN: usize = 8;

const TAG_ADD_ACCESS: u8 = 0x01;
const TAG_REMOVE_ACCESS: u8 = 0x02;
const TAG_REVOKE_CREDENTIAL: u8 = 0x03;
const TAG_ADD_PERMANENT_CODE: u8 = 0x04;
const TAG_REMOVE_PERMANENT_CODE: u8 = 0x05;
const TAG_ZONE_RULE: u8 = 0x06;
const TAG_TIME_TOKEN: u8 = 0x07;
const TAG_LOG_ACK: u8 = 0x08;
const TAG_DAILY_SLOTS_ISSUED: u8 = 0x10;

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
    /// `0x10 || day i32 || kind u8 (1 DAILY, 2 DAILY_SINGLE_USE) || issued u16` (8 bytes): the backend
    /// issued slots `0..issued` of `kind` on the door's local `day` (`issued` ≤ 64). The keypad's
    /// high-water mark (docs/protocol.md §15).
    DailySlotsIssued {
        /// The door's local day.
        day: LocalDay,
        /// DAILY or DAILY_SINGLE_USE.
        kind: DailyKind,
        /// Slots issued: `0..issued`.
        issued: u16,
    },
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
            Entry::DailySlotsIssued { day, kind, issued } => {
                out.push(TAG_DAILY_SLOTS_ISSUED);
                out.extend_from_slice(&day.0.to_be_bytes());
                out.push(kind.byte());
                out.extend_from_slice(&issued.to_be_bytes());
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
            TAG_DAILY_SLOTS_ISSUED => {
                let day = LocalDay(i32::from_be_bytes(r.array("daily slots issued")?));
                let kind = match r.u8("daily slots issued")? {
                    1 => DailyKind::Daily,
                    2 => DailyKind::DailySingleUse,
                    _ => return Err(malformed("daily slots kind")),
                };
                let issued = u16::from_be_bytes(r.array("daily slots issued")?);
                if issued > DAILY_SLOT_WINDOW {
                    return Err(malformed("daily slots issued"));
                }
                Entry::DailySlotsIssued { day, kind, issued }
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
