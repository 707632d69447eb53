//! The lock's event log: chained, authenticated entries, deleted only after a backend-signed ack.
//!
//! Each entry carries the MAC of the one before it, and its own MAC is
//! `HMAC-SHA256(log_key, "latchkey/log/v1" || lock_id || body(32) || prev_mac(16))[..16]`, so the backend
//! ([`verify_chain`]) detects a dropped, reordered, inserted or altered entry. The lock keeps entries
//! until an acknowledgement signed by the backend over
//! `"latchkey/log-ack/v1" || lock_id || up_to_seq u64 BE || mac of entry up_to_seq` arrives; checking that
//! signature is the caller's [`AckVerifier`] (the backend's ECDSA key lives elsewhere in this crate).
//! When the buffer is full, new records are counted, not chained, and a [`EventKind::LOG_OVERFLOW`] gap
//! marker with the count is chained as soon as space frees: nothing disappears silently.
//!
//! Refusals cannot crowd out who came in: at most [`REFUSALS_PER_WINDOW`] refusals are chained in full
//! per [`REFUSAL_WINDOW_SECS`], later ones are counted and chained as one
//! [`EventKind::REFUSALS_COALESCED`] summary, and refusals (summaries included) never take the last
//! [`GRANT_RESERVE`] places, which stay for grants and the lock's other records.
//!
//! No I/O and no clock: the lock passes each record's time, and persists [`LogState`].

use alloc::vec::Vec;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// Bytes of an entry's body (the part before `prev_mac`).
pub const ENTRY_BODY_LEN: usize = 32;
/// Bytes of an entry MAC (truncated HMAC-SHA256).
pub const MAC_LEN: usize = 16;
/// Bytes of an encoded entry: body, `prev_mac`, `mac`.
pub const ENTRY_LEN: usize = ENTRY_BODY_LEN + 2 * MAC_LEN;
/// Most entries the lock holds unacknowledged (32 KiB of entries).
pub const LOG_CAPACITY: usize = 512;
/// `prev_mac` of the first entry a lock ever writes (after activation).
pub const GENESIS_PREV_MAC: [u8; MAC_LEN] = [0; MAC_LEN];
/// Sequence number of the first entry a lock ever writes.
pub const FIRST_SEQ: u64 = 1;
/// Places of the buffer refusals never take: kept for grants and the lock's other records.
pub const GRANT_RESERVE: usize = 128;
/// Most refusal entries (full or summaries) held: `LOG_CAPACITY - GRANT_RESERVE`.
pub const REFUSAL_SHARE: usize = LOG_CAPACITY - GRANT_RESERVE;
/// Refusals chained in full per window; later ones in the window are counted into a summary.
pub const REFUSALS_PER_WINDOW: u8 = 4;
/// Length of a refusal window.
pub const REFUSAL_WINDOW_SECS: u32 = 600;
/// Length of [`ack_message`].
pub const ACK_MESSAGE_LEN: usize = ACK_DOMAIN.len() + 16 + 8 + MAC_LEN;

const LOG_DOMAIN: &[u8] = b"latchkey/log/v1";
const ACK_DOMAIN: &[u8] = b"latchkey/log-ack/v1";
const FLAG_TIME_UNCERTAIN: u8 = 0x01;

/// What happened, as one byte. Unknown values decode as they are, for forward compatibility.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventKind(pub u8);

impl EventKind {
    /// A BLE unlock was granted (subject: user id).
    pub const UNLOCK_GRANTED: EventKind = EventKind(0x01);
    /// A BLE unlock was refused (subject: user id if known).
    pub const UNLOCK_DENIED: EventKind = EventKind(0x02);
    /// A doorcode opened the door (detail: code kind << 8 | slot; subject: access id for PERMANENT).
    pub const DOORCODE_GRANTED: EventKind = EventKind(0x10);
    /// A typed doorcode was refused (detail: reason << 8).
    pub const DOORCODE_DENIED: EventKind = EventKind(0x11);
    /// A code was typed while the keypad was locked out (detail: seconds left, saturated).
    pub const KEYPAD_LOCKED_OUT: EventKind = EventKind(0x12);
    /// A sync delta was applied (detail: up to the caller).
    pub const SYNC_APPLIED: EventKind = EventKind(0x20);
    /// The clock was set from a backend-signed time token.
    pub const CLOCK_SET: EventKind = EventKind(0x21);
    /// The lock lost power; its time is uncertain until the next time token.
    pub const POWER_LOST: EventKind = EventKind(0x22);
    /// Gap marker: records were lost because the log was full (subject: count, first and last time).
    pub const LOG_OVERFLOW: EventKind = EventKind(0x30);
    /// Refusals counted, not chained one by one (subject: count u32, first time u32, last time u32,
    /// unlock refusals u16, keypad refusals u16, saturated; detail: count, saturated).
    pub const REFUSALS_COALESCED: EventKind = EventKind(0x31);

    /// An unlock or keypad refusal, or a summary of them: what the log coalesces and keeps out of the
    /// [`GRANT_RESERVE`].
    pub fn is_refusal(self) -> bool {
        matches!(
            self,
            EventKind::UNLOCK_DENIED
                | EventKind::DOORCODE_DENIED
                | EventKind::KEYPAD_LOCKED_OUT
                | EventKind::REFUSALS_COALESCED
        )
    }
}

/// What the lock wants logged: an entry without its chain fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record {
    /// Lock time, unix seconds.
    pub time: u32,
    /// The lock's clock was not confirmed by a time token since it lost power.
    pub time_uncertain: bool,
    /// What happened.
    pub kind: EventKind,
    /// User, credential or access id (16 bytes), or zeros.
    pub subject: [u8; 16],
    /// Kind-specific detail.
    pub detail: u16,
}

/// One chained log entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Sequence number: [`FIRST_SEQ`], then one more per entry.
    pub seq: u64,
    /// The logged record.
    pub record: Record,
    /// MAC of the previous entry ([`GENESIS_PREV_MAC`] for the first).
    pub prev_mac: [u8; MAC_LEN],
    /// This entry's MAC.
    pub mac: [u8; MAC_LEN],
}

/// Why bytes are not an entry (or a list of entries).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// Not exactly [`ENTRY_LEN`] bytes (or not a multiple of it).
    BadLength,
    /// More than [`LOG_CAPACITY`] entries.
    TooMany,
    /// Flag bits other than `time_uncertain` set.
    BadFlags,
}

impl core::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            DecodeError::BadLength => "log entry bytes have the wrong length",
            DecodeError::TooMany => "more log entries than a lock holds",
            DecodeError::BadFlags => "log entry has unknown flag bits",
        })
    }
}

impl Record {
    /// `seq u64 || time u32 || flags u8 || kind u8 || subject(16) || detail u16`, all big-endian.
    fn body(&self, seq: u64) -> [u8; ENTRY_BODY_LEN] {
        let mut b = [0u8; ENTRY_BODY_LEN];
        b[..8].copy_from_slice(&seq.to_be_bytes());
        b[8..12].copy_from_slice(&self.time.to_be_bytes());
        b[12] = if self.time_uncertain { FLAG_TIME_UNCERTAIN } else { 0 };
        b[13] = self.kind.0;
        b[14..30].copy_from_slice(&self.subject);
        b[30..32].copy_from_slice(&self.detail.to_be_bytes());
        b
    }
}

impl Entry {
    /// The 32-byte body the MAC covers (with `prev_mac`).
    pub fn body(&self) -> [u8; ENTRY_BODY_LEN] {
        self.record.body(self.seq)
    }

    /// `body(32) || prev_mac(16) || mac(16)`: [`ENTRY_LEN`] bytes.
    pub fn encode(&self) -> [u8; ENTRY_LEN] {
        let mut out = [0u8; ENTRY_LEN];
        out[..ENTRY_BODY_LEN].copy_from_slice(&self.body());
        out[ENTRY_BODY_LEN..ENTRY_BODY_LEN + MAC_LEN].copy_from_slice(&self.prev_mac);
        out[ENTRY_BODY_LEN + MAC_LEN..].copy_from_slice(&self.mac);
        out
    }

    /// Parses exactly [`ENTRY_LEN`] bytes. Does not check the MAC: that is [`verify_chain`]'s job.
    pub fn decode(bytes: &[u8]) -> Result<Entry, DecodeError> {
        let b: &[u8; ENTRY_LEN] = bytes.try_into().map_err(|_| DecodeError::BadLength)?;
        if b[12] & !FLAG_TIME_UNCERTAIN != 0 {
            return Err(DecodeError::BadFlags);
        }
        let mut seq = [0u8; 8];
        seq.copy_from_slice(&b[..8]);
        let mut subject = [0u8; 16];
        subject.copy_from_slice(&b[14..30]);
        let mut prev_mac = [0u8; MAC_LEN];
        prev_mac.copy_from_slice(&b[32..48]);
        let mut mac = [0u8; MAC_LEN];
        mac.copy_from_slice(&b[48..64]);
        Ok(Entry {
            seq: u64::from_be_bytes(seq),
            record: Record {
                time: u32::from_be_bytes([b[8], b[9], b[10], b[11]]),
                time_uncertain: b[12] == FLAG_TIME_UNCERTAIN,
                kind: EventKind(b[13]),
                subject,
                detail: u16::from_be_bytes([b[30], b[31]]),
            },
            prev_mac,
            mac,
        })
    }
}

/// Encodes entries back to back.
pub fn encode_entries(entries: &[Entry]) -> Vec<u8> {
    entries.iter().flat_map(|e| e.encode()).collect()
}

/// Parses back-to-back entries: a multiple of [`ENTRY_LEN`] bytes, at most [`LOG_CAPACITY`] entries.
pub fn decode_entries(bytes: &[u8]) -> Result<Vec<Entry>, DecodeError> {
    if !bytes.len().is_multiple_of(ENTRY_LEN) {
        return Err(DecodeError::BadLength);
    }
    if bytes.len() / ENTRY_LEN > LOG_CAPACITY {
        return Err(DecodeError::TooMany);
    }
    bytes.chunks_exact(ENTRY_LEN).map(Entry::decode).collect()
}

fn mac_engine(
    log_key: &[u8; 32],
    lock_id: &[u8; 16],
    body: &[u8; ENTRY_BODY_LEN],
    prev: &[u8; MAC_LEN],
) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(log_key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(LOG_DOMAIN);
    mac.update(lock_id);
    mac.update(body);
    mac.update(prev);
    mac
}

/// `HMAC-SHA256(log_key, "latchkey/log/v1" || lock_id || body || prev_mac)`, first 16 bytes.
pub fn entry_mac(
    log_key: &[u8; 32],
    lock_id: &[u8; 16],
    body: &[u8; ENTRY_BODY_LEN],
    prev_mac: &[u8; MAC_LEN],
) -> [u8; MAC_LEN] {
    let tag = mac_engine(log_key, lock_id, body, prev_mac).finalize().into_bytes();
    let mut out = [0u8; MAC_LEN];
    out.copy_from_slice(&tag[..MAC_LEN]);
    out
}

/// Where and why a chain breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainBreak {
    /// Index (in the slice checked) of the first entry that does not verify.
    pub index: usize,
    /// What is wrong with it.
    pub reason: BreakReason,
}

/// What is wrong with the entry at a [`ChainBreak`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BreakReason {
    /// Its MAC does not match its contents: altered or forged.
    BadMac,
    /// Its `prev_mac` is not the MAC of the entry before: one was dropped, inserted or reordered.
    BrokenLink,
    /// Its sequence number is not one more than the entry before.
    BadSeq,
}

/// Checks that `entries` are authentic and form one unbroken chain starting after `expected_first_prev`
/// (the MAC of the last entry the backend already holds, or [`GENESIS_PREV_MAC`]).
pub fn verify_chain(
    entries: &[Entry],
    log_key: &[u8; 32],
    lock_id: &[u8; 16],
    expected_first_prev: &[u8; MAC_LEN],
) -> Result<(), ChainBreak> {
    let mut prev_mac = *expected_first_prev;
    let mut prev_seq: Option<u64> = None;
    for (index, e) in entries.iter().enumerate() {
        let fail = |reason| Err(ChainBreak { index, reason });
        if mac_engine(log_key, lock_id, &e.body(), &e.prev_mac).verify_truncated_left(&e.mac).is_err() {
            return fail(BreakReason::BadMac);
        }
        if e.prev_mac != prev_mac {
            return fail(BreakReason::BrokenLink);
        }
        if prev_seq.is_some_and(|p| p.checked_add(1) != Some(e.seq)) {
            return fail(BreakReason::BadSeq);
        }
        prev_mac = e.mac;
        prev_seq = Some(e.seq);
    }
    Ok(())
}

/// The bytes the backend signs to acknowledge entries up to and including `up_to_seq`:
/// `"latchkey/log-ack/v1" || lock_id || up_to_seq u64 BE || mac of that entry` (59 bytes).
pub fn ack_message(lock_id: &[u8; 16], up_to_seq: u64, entry_mac: &[u8; MAC_LEN]) -> [u8; ACK_MESSAGE_LEN] {
    let mut out = [0u8; ACK_MESSAGE_LEN];
    let (domain, rest) = out.split_at_mut(ACK_DOMAIN.len());
    domain.copy_from_slice(ACK_DOMAIN);
    rest[..16].copy_from_slice(lock_id);
    rest[16..24].copy_from_slice(&up_to_seq.to_be_bytes());
    rest[24..].copy_from_slice(entry_mac);
    out
}

/// Checks the backend's signature over an [`ack_message`]. The lock passes one that verifies ECDSA
/// with the backend's public key; any `Fn(&[u8], &[u8]) -> bool` closure works too.
pub trait AckVerifier {
    /// `true` only if `signature` is the backend's valid signature over `message`.
    fn verify(&self, message: &[u8], signature: &[u8]) -> bool;
}

impl<F: Fn(&[u8], &[u8]) -> bool> AckVerifier for F {
    fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        self(message, signature)
    }
}

/// Why an acknowledgement was refused. A refused ack deletes nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AckError {
    /// No pending entry has that sequence number (already acknowledged, or never written).
    UnknownSeq,
    /// The signature does not verify over this lock, seq and entry MAC.
    BadSignature,
}

impl core::fmt::Display for AckError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            AckError::UnknownSeq => "log acknowledgement names no pending entry",
            AckError::BadSignature => "log acknowledgement signature does not verify",
        })
    }
}

/// Records that did not fit, waiting to be summarised by a gap marker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Lost {
    /// How many records were lost.
    pub count: u32,
    /// Time of the first lost record.
    pub first_time: u32,
    /// Time of the last lost record.
    pub last_time: u32,
    /// Whether any lost record had an uncertain time.
    pub time_uncertain: bool,
}

/// The refusal window and the refusals counted but not chained yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Refusals {
    /// Start of the current window (the time of its first refusal).
    pub window_start: u32,
    /// Refusals chained in full in the current window.
    pub chained_in_window: u8,
    /// Refusals counted, waiting for a [`EventKind::REFUSALS_COALESCED`] summary.
    pub count: u32,
    /// Time of the first counted refusal.
    pub first_time: u32,
    /// Time of the last counted refusal.
    pub last_time: u32,
    /// Of the counted refusals, unlock refusals ([`EventKind::UNLOCK_DENIED`]).
    pub unlock: u32,
    /// Of the counted refusals, keypad refusals (denied codes and attempts while locked out).
    pub keypad: u32,
    /// Whether any counted refusal had an uncertain time.
    pub time_uncertain: bool,
}

/// Everything the lock persists about its log (the keys are stored with the lock's other secrets).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogState {
    /// Unacknowledged entries, oldest first.
    pub entries: Vec<Entry>,
    /// Sequence number of the next entry.
    pub next_seq: u64,
    /// MAC of the last entry written (acknowledged or not).
    pub last_mac: [u8; MAC_LEN],
    /// Records lost to a full log, not yet summarised by a gap marker.
    pub lost: Lost,
    /// The refusal window and refusals counted, not yet summarised.
    pub refusals: Refusals,
}

/// The lock's bounded log buffer.
pub struct EventLog {
    lock_id: [u8; 16],
    log_key: [u8; 32],
    state: LogState,
}

impl core::fmt::Debug for EventLog {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("EventLog")
            .field("pending", &self.state.entries.len())
            .field("next_seq", &self.state.next_seq)
            .field("lost", &self.state.lost.count)
            .finish_non_exhaustive()
    }
}

impl EventLog {
    /// An empty log, as after activation.
    pub fn new(lock_id: [u8; 16], log_key: [u8; 32]) -> EventLog {
        let state = LogState {
            entries: Vec::new(),
            next_seq: FIRST_SEQ,
            last_mac: GENESIS_PREV_MAC,
            lost: Lost::default(),
            refusals: Refusals::default(),
        };
        EventLog { lock_id, log_key, state }
    }

    /// Reloads persisted state, refusing entries that do not chain or do not end at `last_mac`.
    pub fn restore(lock_id: [u8; 16], log_key: [u8; 32], state: LogState) -> Result<EventLog, ChainBreak> {
        if let Some(first) = state.entries.first() {
            verify_chain(&state.entries, &log_key, &lock_id, &first.prev_mac)?;
        }
        let broken = ChainBreak { index: state.entries.len(), reason: BreakReason::BrokenLink };
        match state.entries.last() {
            Some(last) if last.mac != state.last_mac => return Err(broken),
            Some(last) if last.seq.checked_add(1) != Some(state.next_seq) => {
                return Err(ChainBreak { reason: BreakReason::BadSeq, ..broken });
            }
            _ if state.entries.len() > LOG_CAPACITY => return Err(broken),
            _ => {}
        }
        Ok(EventLog { lock_id, log_key, state })
    }

    /// The state to persist after every change.
    pub fn state(&self) -> &LogState {
        &self.state
    }

    /// Entries not yet acknowledged, oldest first: what a sync uploads.
    pub fn pending(&self) -> &[Entry] {
        &self.state.entries
    }

    /// Records lost to a full log and not yet chained into a gap marker.
    pub fn lost(&self) -> Lost {
        self.state.lost
    }

    /// Refusals counted and not yet chained into a summary.
    pub fn refusals(&self) -> Refusals {
        self.state.refusals
    }

    /// Chains `record`; returns its sequence number, or `None` if it was not chained: a refusal counted
    /// for a [`EventKind::REFUSALS_COALESCED`] summary, or any record while the log is full (counted in
    /// [`EventLog::lost`] and reported by a gap marker once an ack frees space).
    pub fn append(&mut self, record: Record) -> Option<u64> {
        self.flush_lost();
        if record.kind.is_refusal() {
            return self.append_refusal(record);
        }
        // The summary of earlier refusals goes first, so the chain keeps the order of events.
        self.flush_refusals();
        if self.state.lost.count > 0 || self.state.entries.len() >= LOG_CAPACITY {
            let lost = &mut self.state.lost;
            if lost.count == 0 {
                lost.first_time = record.time;
            }
            lost.count = lost.count.saturating_add(1);
            lost.last_time = record.time;
            lost.time_uncertain |= record.time_uncertain;
            return None;
        }
        Some(self.chain(record))
    }

    /// Deletes the entries up to and including `up_to_seq` if `signature` is the backend's signature
    /// over [`ack_message`] for that entry's MAC; returns how many were deleted. Refused acks delete
    /// nothing. Then chains a gap marker if records were lost.
    pub fn acknowledge(
        &mut self,
        up_to_seq: u64,
        signature: &[u8],
        verifier: &impl AckVerifier,
    ) -> Result<usize, AckError> {
        let first = self.state.entries.first().map(|e| e.seq).ok_or(AckError::UnknownSeq)?;
        let index = up_to_seq.checked_sub(first).and_then(|i| usize::try_from(i).ok());
        let entry = index.and_then(|i| self.state.entries.get(i)).ok_or(AckError::UnknownSeq)?;
        if entry.seq != up_to_seq {
            return Err(AckError::UnknownSeq);
        }
        if !verifier.verify(&ack_message(&self.lock_id, up_to_seq, &entry.mac), signature) {
            return Err(AckError::BadSignature);
        }
        let count = index.map_or(0, |i| i + 1);
        self.state.entries.drain(..count);
        self.flush_lost();
        self.flush_refusals();
        Ok(count)
    }

    /// Chains the summary of the refusals counted so far, if there is room: the lock calls it before it
    /// seals its log for an upload, so the backend learns of them.
    pub fn flush_refusals(&mut self) {
        let r = self.state.refusals;
        if r.count == 0 || !self.refusal_fits() {
            return;
        }
        let saturated = |n: u32| u16::try_from(n).unwrap_or(u16::MAX);
        let mut subject = [0u8; 16];
        subject[..4].copy_from_slice(&r.count.to_be_bytes());
        subject[4..8].copy_from_slice(&r.first_time.to_be_bytes());
        subject[8..12].copy_from_slice(&r.last_time.to_be_bytes());
        subject[12..14].copy_from_slice(&saturated(r.unlock).to_be_bytes());
        subject[14..16].copy_from_slice(&saturated(r.keypad).to_be_bytes());
        self.chain(Record {
            time: r.first_time,
            time_uncertain: r.time_uncertain,
            kind: EventKind::REFUSALS_COALESCED,
            subject,
            detail: saturated(r.count),
        });
        self.state.refusals = Refusals {
            window_start: r.window_start,
            chained_in_window: r.chained_in_window,
            ..Refusals::default()
        };
    }

    /// Whether one more refusal entry may be chained: nothing lost waiting, and the refusal share not
    /// used up (the last [`GRANT_RESERVE`] places stay free for grants).
    fn refusal_fits(&self) -> bool {
        let held = self.state.entries.iter().filter(|e| e.record.kind.is_refusal()).count();
        self.state.lost.count == 0 && held < REFUSAL_SHARE && self.state.entries.len() < LOG_CAPACITY
    }

    /// A refusal: chained in full while its window has room, else counted for a summary.
    fn append_refusal(&mut self, record: Record) -> Option<u64> {
        let r = self.state.refusals;
        let window_over =
            record.time < r.window_start || record.time >= r.window_start.saturating_add(REFUSAL_WINDOW_SECS);
        if window_over {
            self.flush_refusals();
            self.state.refusals.window_start = record.time;
            self.state.refusals.chained_in_window = 0;
        }
        let r = &mut self.state.refusals;
        if r.count == 0 && r.chained_in_window < REFUSALS_PER_WINDOW && self.refusal_fits() {
            self.state.refusals.chained_in_window += 1;
            return Some(self.chain(record));
        }
        let r = &mut self.state.refusals;
        if r.count == 0 {
            r.first_time = record.time;
        }
        r.count = r.count.saturating_add(1);
        r.last_time = record.time;
        r.time_uncertain |= record.time_uncertain;
        if record.kind == EventKind::UNLOCK_DENIED {
            r.unlock = r.unlock.saturating_add(1);
        } else {
            r.keypad = r.keypad.saturating_add(1);
        }
        None
    }

    /// Chains the gap marker for lost records, if any and if there is room.
    fn flush_lost(&mut self) {
        let lost = self.state.lost;
        if lost.count == 0 || self.state.entries.len() >= LOG_CAPACITY {
            return;
        }
        let mut subject = [0u8; 16];
        subject[..4].copy_from_slice(&lost.count.to_be_bytes());
        subject[4..8].copy_from_slice(&lost.first_time.to_be_bytes());
        subject[8..12].copy_from_slice(&lost.last_time.to_be_bytes());
        self.chain(Record {
            time: lost.first_time,
            time_uncertain: lost.time_uncertain,
            kind: EventKind::LOG_OVERFLOW,
            subject,
            detail: u16::try_from(lost.count).unwrap_or(u16::MAX),
        });
        self.state.lost = Lost::default();
    }

    fn chain(&mut self, record: Record) -> u64 {
        let seq = self.state.next_seq;
        let prev_mac = self.state.last_mac;
        let mac = entry_mac(&self.log_key, &self.lock_id, &record.body(seq), &prev_mac);
        self.state.entries.push(Entry { seq, record, prev_mac, mac });
        self.state.next_seq = seq.saturating_add(1);
        self.state.last_mac = mac;
        seq
    }
}

#[cfg(test)]
mod tests;
