//! The sync exchange over BLE: backend-signed deltas and a time token down, the lock's event log up.
//!
//! After the lock's Hello, on the same connection and instead of an unlock request, any phone may carry a
//! sync. It cannot forge what it carries down (every delta and time token is signed by the backend, see
//! [`crate::sync`]) nor what it carries up (log entries are chained HMACs under `log_key`, see
//! [`crate::eventlog`]); the log batches are additionally sealed under a key only the lock and the backend
//! can derive, so the carrier cannot read them. See docs/protocol.md §24.
//!
//! ```text
//! 0x10 SyncBegin   phone→lock  delta_count u8 || has_time_token u8 || [time token (84)]
//! 0x11 DeltaChunk  phone→lock  delta_index u8 || total_len u32 || offset u32 || data
//! 0x12 SyncEnd     phone→lock  (no body)
//! 0x13 SyncReport  lock→phone  last_applied_seq u64 || lock_time u32 || time_status u8 || battery u8
//!                              || outcome_count u8 || outcomes || more_logs u8 || sealed batch 0
//! 0x14 LogRequest  phone→lock  batch_index u32
//! 0x15 LogBatch    lock→phone  more_logs u8 || sealed batch
//! ```
//!
//! No I/O, no clock, no randomness. Every decoder is total (never panics) and checks lengths before it
//! allocates; [`SyncReceiver`] never stages more than [`MAX_SYNC_BYTES`] of delta bytes.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes128Gcm, Nonce};
use alloc::vec::Vec;
use zeroize::Zeroize;

use crate::ProtocolError;
use crate::crypto::{self, AEAD_KEY_LEN, TAG_LEN};
use crate::eventlog::{ENTRY_LEN, Entry};
use crate::framing::MAX_MESSAGE;
use crate::sync::{MAX_DELTA_LEN, SyncError, TIME_TOKEN_LEN};
use crate::unlock::{HELLO_LEN, Hello, TimeStatus};

/// SyncBegin (phone → lock).
pub const TYPE_SYNC_BEGIN: u8 = 0x10;
/// DeltaChunk (phone → lock).
pub const TYPE_DELTA_CHUNK: u8 = 0x11;
/// SyncEnd (phone → lock).
pub const TYPE_SYNC_END: u8 = 0x12;
/// SyncReport (lock → phone).
pub const TYPE_SYNC_REPORT: u8 = 0x13;
/// LogRequest (phone → lock).
pub const TYPE_LOG_REQUEST: u8 = 0x14;
/// LogBatch (lock → phone).
pub const TYPE_LOG_BATCH: u8 = 0x15;

/// Most deltas one sync carries.
pub const MAX_DELTAS_PER_SYNC: usize = 16;
/// Most event-log entries in one sealed batch: a full report (header with 16 outcomes) plus a full sealed
/// batch is 177 + 18 + 56 × 64 = 3779 bytes, within [`MAX_MESSAGE`].
pub const MAX_LOG_ENTRIES_PER_BATCH: usize = 56;
/// Most delta bytes (sum of announced `total_len`) one sync may stage at the lock: 1 MiB. One delta may
/// still be up to [`MAX_DELTA_LEN`] (512 KiB); the lock never holds more than this in total.
pub const MAX_SYNC_BYTES: usize = 2 * MAX_DELTA_LEN;
/// Bytes of a DeltaChunk before its data: type, delta_index, total_len, offset.
pub const CHUNK_HEADER_LEN: usize = 1 + 1 + 4 + 4;
/// Most data bytes in one DeltaChunk.
pub const MAX_CHUNK_DATA: usize = MAX_MESSAGE - CHUNK_HEADER_LEN;
/// HKDF info label of the log-upload key (followed by the lock id).
pub const LOG_UPLOAD_LABEL: &[u8] = b"latchkey/log-upload/v1";
/// Nonce direction byte of a sealed log batch (distinct from the session directions 0x01 and 0x02).
pub const LOG_UPLOAD_DIRECTION: u8 = 0x03;
/// Smallest sealed batch: entry_count u16 and the tag (zero entries).
pub const SEALED_BATCH_MIN: usize = 2 + TAG_LEN;
/// Largest sealed batch.
pub const SEALED_BATCH_MAX: usize = SEALED_BATCH_MIN + MAX_LOG_ENTRIES_PER_BATCH * ENTRY_LEN;

/// Refusal reason of a delta (the `reason` byte of [`DeltaOutcome::Refused`]); diagnostic only.
pub mod refusal {
    /// The delta bytes do not parse.
    pub const MALFORMED: u8 = 0x01;
    /// Larger than the delta size limit.
    pub const TOO_LARGE: u8 = 0x02;
    /// Too many entries.
    pub const TOO_MANY_ENTRIES: u8 = 0x03;
    /// Unknown delta version.
    pub const UNSUPPORTED_VERSION: u8 = 0x04;
    /// Backend signature does not verify.
    pub const BAD_SIGNATURE: u8 = 0x05;
    /// Signed for another lock.
    pub const WRONG_LOCK: u8 = 0x06;
    /// Not the next sequence number (a gap: an older one was missing).
    pub const OUT_OF_ORDER: u8 = 0x07;
    /// A table bound would be exceeded.
    pub const FULL: u8 = 0x08;
    /// A stale time token.
    pub const STALE_TIME: u8 = 0x09;
}

/// The refusal reason byte for a [`SyncError`] (see [`refusal`]).
pub fn refusal_reason(error: &SyncError) -> u8 {
    match error {
        SyncError::Malformed { .. } => refusal::MALFORMED,
        SyncError::TooLarge(_) => refusal::TOO_LARGE,
        SyncError::TooManyEntries(_) => refusal::TOO_MANY_ENTRIES,
        SyncError::UnsupportedVersion(_) => refusal::UNSUPPORTED_VERSION,
        SyncError::BadSignature => refusal::BAD_SIGNATURE,
        SyncError::WrongLock => refusal::WRONG_LOCK,
        SyncError::OutOfOrder { .. } => refusal::OUT_OF_ORDER,
        SyncError::Full { .. } => refusal::FULL,
        SyncError::StaleTime { .. } => refusal::STALE_TIME,
    }
}

fn malformed(what: &'static str) -> ProtocolError {
    ProtocolError::Malformed { what }
}

/// The first byte of a message, for dispatch (`None` for an empty message).
pub fn message_type(message: &[u8]) -> Option<u8> {
    message.first().copied()
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    let b: [u8; 4] = bytes.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(u32::from_be_bytes(b))
}

fn u64_at(bytes: &[u8], at: usize) -> Option<u64> {
    let b: [u8; 8] = bytes.get(at..at.checked_add(8)?)?.try_into().ok()?;
    Some(u64::from_be_bytes(b))
}

fn bool_byte(b: u8, what: &'static str) -> Result<bool, ProtocolError> {
    match b {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(malformed(what)),
    }
}

fn time_status_from_byte(b: u8) -> Result<TimeStatus, ProtocolError> {
    match b {
        0 => Ok(TimeStatus::Synced),
        1 => Ok(TimeStatus::Uncertain),
        _ => Err(malformed("time status")),
    }
}

// ---------------------------------------------------------------------------------------------------------
// Phone → lock: SyncBegin, DeltaChunk…, SyncEnd
// ---------------------------------------------------------------------------------------------------------

/// Builds the phone's messages for one sync: SyncBegin, the DeltaChunks of each delta in order (each
/// message at most [`MAX_MESSAGE`] bytes), SyncEnd. Refuses more than [`MAX_DELTAS_PER_SYNC`] deltas, an
/// empty delta or one over [`MAX_DELTA_LEN`], and a total over [`MAX_SYNC_BYTES`]: what the lock would
/// refuse is never built. The deltas are carried as opaque bytes (the lock verifies them).
pub fn sync_messages(
    deltas: &[Vec<u8>],
    time_token: Option<&[u8; TIME_TOKEN_LEN]>,
) -> Result<Vec<Vec<u8>>, ProtocolError> {
    if deltas.len() > MAX_DELTAS_PER_SYNC {
        return Err(malformed("delta count"));
    }
    let mut total = 0usize;
    for d in deltas {
        if d.is_empty() || d.len() > MAX_DELTA_LEN {
            return Err(malformed("delta total length"));
        }
        total = total.saturating_add(d.len());
    }
    if total > MAX_SYNC_BYTES {
        return Err(malformed("sync total length"));
    }
    let mut out = Vec::new();
    let mut begin = Vec::with_capacity(3 + TIME_TOKEN_LEN);
    begin.push(TYPE_SYNC_BEGIN);
    begin.push(u8::try_from(deltas.len()).map_err(|_| malformed("delta count"))?);
    match time_token {
        Some(t) => {
            begin.push(1);
            begin.extend_from_slice(t);
        }
        None => begin.push(0),
    }
    out.push(begin);
    for (index, d) in deltas.iter().enumerate() {
        let index = u8::try_from(index).map_err(|_| malformed("delta count"))?;
        let total_len = u32::try_from(d.len()).map_err(|_| malformed("delta total length"))?;
        let mut offset = 0usize;
        for data in d.chunks(MAX_CHUNK_DATA) {
            let mut m = Vec::with_capacity(CHUNK_HEADER_LEN + data.len());
            m.push(TYPE_DELTA_CHUNK);
            m.push(index);
            m.extend_from_slice(&total_len.to_be_bytes());
            m.extend_from_slice(&u32::try_from(offset).map_err(|_| malformed("chunk offset"))?.to_be_bytes());
            m.extend_from_slice(data);
            out.push(m);
            offset += data.len();
        }
    }
    out.push(alloc::vec![TYPE_SYNC_END]);
    Ok(out)
}

/// What a well-formed sync delivered to the lock: the deltas (as bytes, not yet decoded or verified) in
/// the order sent, and the time token if one came.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncInbound {
    /// Delta bytes, in order; decode with `sync::Delta::decode` and apply with `LockSyncState::apply`.
    pub deltas: Vec<Vec<u8>>,
    /// The time token bytes, if any; decode with `sync::TimeToken::decode`.
    pub time_token: Option<[u8; TIME_TOKEN_LEN]>,
}

#[derive(Debug)]
enum ReceiverState {
    /// Waiting for SyncBegin.
    Idle,
    /// Between SyncBegin and SyncEnd.
    Receiving {
        expected: usize,
        time_token: Option<[u8; TIME_TOKEN_LEN]>,
        done: Vec<Vec<u8>>,
        /// The delta being received: its announced total and the bytes so far.
        current: Option<(usize, Vec<u8>)>,
        /// Sum of announced totals so far (bounded by [`MAX_SYNC_BYTES`]).
        announced: usize,
    },
    /// Completed or failed: every further message is refused.
    Finished,
}

/// The lock's side of the sync upload: feed it each phone message after Hello; it stages the deltas
/// within the limits and returns them when SyncEnd completes a well-formed sync.
///
/// Any error (a message out of place, a chunk out of order, overlapping or beyond its total, too many
/// deltas, a total over the limits, SyncEnd before every delta is complete) drops everything staged and
/// finishes the receiver: later messages get [`ProtocolError::SessionFinished`]. The connection SHOULD be
/// closed. A completed sync also finishes the receiver.
#[derive(Debug)]
pub struct SyncReceiver {
    state: ReceiverState,
}

impl Default for SyncReceiver {
    fn default() -> Self {
        Self::new()
    }
}

impl SyncReceiver {
    /// A receiver waiting for SyncBegin.
    pub fn new() -> Self {
        SyncReceiver { state: ReceiverState::Idle }
    }

    /// Bytes currently allocated for staged deltas (never above [`MAX_SYNC_BYTES`]).
    pub fn staged_capacity(&self) -> usize {
        match &self.state {
            ReceiverState::Receiving { done, current, .. } => {
                done.iter().map(Vec::capacity).sum::<usize>()
                    + current.as_ref().map_or(0, |(_, b)| b.capacity())
            }
            _ => 0,
        }
    }

    /// Whether the receiver is done (completed or failed).
    pub fn is_finished(&self) -> bool {
        matches!(self.state, ReceiverState::Finished)
    }

    /// Handles one phone message. `Ok(None)`: accepted, more to come. `Ok(Some(_))`: SyncEnd completed a
    /// well-formed sync. `Err(_)`: refused; the receiver is finished and holds nothing.
    pub fn handle(&mut self, message: &[u8]) -> Result<Option<SyncInbound>, ProtocolError> {
        let result = self.step(message);
        if result.is_err() {
            self.state = ReceiverState::Finished;
        }
        result
    }

    fn step(&mut self, message: &[u8]) -> Result<Option<SyncInbound>, ProtocolError> {
        if message.is_empty() || message.len() > MAX_MESSAGE {
            return Err(ProtocolError::MessageSize(message.len()));
        }
        let ty = message[0];
        let body = &message[1..];
        match (&mut self.state, ty) {
            (ReceiverState::Finished, _) => Err(ProtocolError::SessionFinished),
            (ReceiverState::Idle, TYPE_SYNC_BEGIN) => {
                let (count, has_token, rest) = match body {
                    [count, has_token, rest @ ..] => (usize::from(*count), *has_token, rest),
                    _ => return Err(malformed("SyncBegin")),
                };
                if count > MAX_DELTAS_PER_SYNC {
                    return Err(malformed("delta count"));
                }
                let time_token = match (bool_byte(has_token, "SyncBegin time token flag")?, rest.len()) {
                    (false, 0) => None,
                    (true, TIME_TOKEN_LEN) => {
                        let mut t = [0u8; TIME_TOKEN_LEN];
                        t.copy_from_slice(rest);
                        Some(t)
                    }
                    _ => return Err(malformed("SyncBegin length")),
                };
                self.state = ReceiverState::Receiving {
                    expected: count,
                    time_token,
                    done: Vec::new(),
                    current: None,
                    announced: 0,
                };
                Ok(None)
            }
            (ReceiverState::Receiving { expected, done, current, announced, .. }, TYPE_DELTA_CHUNK) => {
                let (index, total, offset, data) = match body {
                    [index, rest @ ..] if rest.len() > 8 => (
                        usize::from(*index),
                        u32_at(rest, 0).ok_or(malformed("DeltaChunk"))?,
                        u32_at(rest, 4).ok_or(malformed("DeltaChunk"))?,
                        &rest[8..],
                    ),
                    _ => return Err(malformed("DeltaChunk")),
                };
                let total = usize::try_from(total).map_err(|_| malformed("delta total length"))?;
                let offset = usize::try_from(offset).map_err(|_| malformed("chunk offset"))?;
                // Deltas arrive one after the other: this chunk belongs to the delta in progress, or starts
                // the next one.
                if index != done.len() || index >= *expected {
                    return Err(malformed("delta index"));
                }
                match current {
                    None => {
                        if offset != 0 {
                            return Err(malformed("chunk offset"));
                        }
                        if total == 0 || total > MAX_DELTA_LEN {
                            return Err(malformed("delta total length"));
                        }
                        let budget = announced.checked_add(total).filter(|t| *t <= MAX_SYNC_BYTES);
                        *announced = budget.ok_or(malformed("sync total length"))?;
                        *current = Some((total, Vec::new()));
                    }
                    Some((t, buf)) => {
                        if total != *t {
                            return Err(malformed("delta total length"));
                        }
                        if offset != buf.len() {
                            return Err(malformed("chunk offset"));
                        }
                    }
                }
                let Some((t, buf)) = current.as_mut() else {
                    return Err(malformed("DeltaChunk"));
                };
                if data.len() > *t - buf.len() {
                    return Err(malformed("chunk beyond total length"));
                }
                buf.reserve_exact(data.len());
                buf.extend_from_slice(data);
                if buf.len() == *t
                    && let Some((_, full)) = current.take()
                {
                    done.push(full);
                }
                Ok(None)
            }
            (ReceiverState::Receiving { expected, done, current, time_token, .. }, TYPE_SYNC_END) => {
                if !body.is_empty() {
                    return Err(malformed("SyncEnd length"));
                }
                if current.is_some() || done.len() != *expected {
                    return Err(malformed("SyncEnd before every delta is complete"));
                }
                let inbound = SyncInbound { deltas: core::mem::take(done), time_token: *time_token };
                self.state = ReceiverState::Finished;
                Ok(Some(inbound))
            }
            (_, got) => Err(ProtocolError::UnexpectedMessage { got }),
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// Lock → phone: SyncReport, LogRequest, LogBatch
// ---------------------------------------------------------------------------------------------------------

/// What became of one delta at the lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeltaOutcome {
    /// `0`: applied now.
    Applied,
    /// `1`: its seq was already applied (`seq ≤ last_applied_seq`); ignored, nothing applied twice.
    AlreadyApplied,
    /// `2 || reason`: refused (see [`refusal`]); the lock's state is unchanged by it.
    Refused(u8),
}

/// Checks the structure of a sealed batch (without the key): `2 + 64 n + 16` bytes, `n` ≤ the limit.
fn check_sealed_len(sealed: &[u8]) -> Result<(), ProtocolError> {
    let n = sealed.len();
    if !(SEALED_BATCH_MIN..=SEALED_BATCH_MAX).contains(&n)
        || !(n - SEALED_BATCH_MIN).is_multiple_of(ENTRY_LEN)
    {
        return Err(malformed("sealed log batch length"));
    }
    Ok(())
}

/// The lock's answer to SyncEnd (`0x13`): its state after applying, and the first sealed log batch
/// (batch index 0).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncReport {
    /// The lock's last applied delta seq after this sync.
    pub last_applied_seq: u64,
    /// The lock's clock after this sync.
    pub lock_time: u32,
    /// Whether that clock is trusted.
    pub time_status: TimeStatus,
    /// Battery level, 0..=100 (not checked: diagnostic).
    pub battery_percent: u8,
    /// Per delta received, in order: its seq (0 if the delta did not parse) and what became of it.
    pub outcomes: Vec<(u64, DeltaOutcome)>,
    /// More log batches are waiting (ask with [`log_request`] for batch 1, 2, …).
    pub more_logs: bool,
    /// Sealed log batch 0 (see [`seal_log_batch`]).
    pub sealed_logs: Vec<u8>,
}

impl SyncReport {
    /// The wire bytes. Encodes at most [`MAX_DELTAS_PER_SYNC`] outcomes (a lock never has more); the
    /// lock seals `sealed_logs` with [`seal_log_batch`], so it fits. [`SyncReport::decode`] checks both.
    pub fn encode(&self) -> Vec<u8> {
        let outcomes = &self.outcomes[..self.outcomes.len().min(MAX_DELTAS_PER_SYNC)];
        let mut out = Vec::with_capacity(17 + outcomes.len() * 10 + 1 + self.sealed_logs.len());
        out.push(TYPE_SYNC_REPORT);
        out.extend_from_slice(&self.last_applied_seq.to_be_bytes());
        out.extend_from_slice(&self.lock_time.to_be_bytes());
        out.push(self.time_status.byte());
        out.push(self.battery_percent);
        // outcomes.len() <= MAX_DELTAS_PER_SYNC = 16, so this fits a byte.
        out.push(u8::try_from(outcomes.len()).unwrap_or(u8::MAX));
        for (seq, outcome) in outcomes {
            out.extend_from_slice(&seq.to_be_bytes());
            match outcome {
                DeltaOutcome::Applied => out.push(0),
                DeltaOutcome::AlreadyApplied => out.push(1),
                DeltaOutcome::Refused(reason) => {
                    out.push(2);
                    out.push(*reason);
                }
            }
        }
        out.push(u8::from(self.more_logs));
        out.extend_from_slice(&self.sealed_logs);
        out
    }

    /// Parses a report, refusing a wrong type, more than [`MAX_DELTAS_PER_SYNC`] outcomes, unknown outcome
    /// or flag bytes, a message over [`MAX_MESSAGE`] and a sealed batch of impossible length.
    pub fn decode(bytes: &[u8]) -> Result<SyncReport, ProtocolError> {
        if bytes.is_empty() || bytes.len() > MAX_MESSAGE {
            return Err(ProtocolError::MessageSize(bytes.len()));
        }
        if bytes[0] != TYPE_SYNC_REPORT {
            return Err(ProtocolError::UnexpectedMessage { got: bytes[0] });
        }
        let short = || malformed("SyncReport");
        let last_applied_seq = u64_at(bytes, 1).ok_or_else(short)?;
        let lock_time = u32_at(bytes, 9).ok_or_else(short)?;
        let time_status = time_status_from_byte(*bytes.get(13).ok_or_else(short)?)?;
        let battery_percent = *bytes.get(14).ok_or_else(short)?;
        let count = usize::from(*bytes.get(15).ok_or_else(short)?);
        if count > MAX_DELTAS_PER_SYNC {
            return Err(malformed("SyncReport outcome count"));
        }
        let mut at = 16usize;
        let mut outcomes = Vec::with_capacity(count);
        for _ in 0..count {
            let seq = u64_at(bytes, at).ok_or_else(short)?;
            let outcome = match bytes.get(at + 8).ok_or_else(short)? {
                0 => DeltaOutcome::Applied,
                1 => DeltaOutcome::AlreadyApplied,
                2 => {
                    at += 1;
                    DeltaOutcome::Refused(*bytes.get(at + 8).ok_or_else(short)?)
                }
                _ => return Err(malformed("SyncReport outcome")),
            };
            at += 9;
            outcomes.push((seq, outcome));
        }
        let more_logs = bool_byte(*bytes.get(at).ok_or_else(short)?, "SyncReport more_logs")?;
        let sealed = bytes.get(at + 1..).ok_or_else(short)?;
        check_sealed_len(sealed)?;
        Ok(SyncReport {
            last_applied_seq,
            lock_time,
            time_status,
            battery_percent,
            outcomes,
            more_logs,
            sealed_logs: sealed.to_vec(),
        })
    }
}

/// LogRequest (`0x14 || batch_index u32`, 5 bytes): the phone asks for the next batch.
pub fn log_request(batch_index: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(5);
    out.push(TYPE_LOG_REQUEST);
    out.extend_from_slice(&batch_index.to_be_bytes());
    out
}

/// Parses a LogRequest (exactly 5 bytes). The lock answers only `batch_index` = previous + 1 (see §24).
pub fn decode_log_request(bytes: &[u8]) -> Result<u32, ProtocolError> {
    match bytes.first() {
        None => Err(ProtocolError::MessageSize(0)),
        Some(&TYPE_LOG_REQUEST) if bytes.len() == 5 => u32_at(bytes, 1).ok_or(malformed("LogRequest")),
        Some(&TYPE_LOG_REQUEST) => Err(malformed("LogRequest length")),
        Some(&got) => Err(ProtocolError::UnexpectedMessage { got }),
    }
}

/// LogBatch (`0x15 || more_logs u8 || sealed batch`): the lock's answer to a LogRequest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogBatch {
    /// More batches wait after this one.
    pub more_logs: bool,
    /// The sealed batch (see [`seal_log_batch`]).
    pub sealed_logs: Vec<u8>,
}

impl LogBatch {
    /// The wire bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(2 + self.sealed_logs.len());
        out.push(TYPE_LOG_BATCH);
        out.push(u8::from(self.more_logs));
        out.extend_from_slice(&self.sealed_logs);
        out
    }

    /// Parses a LogBatch, refusing a wrong type, a bad flag and a sealed batch of impossible length.
    pub fn decode(bytes: &[u8]) -> Result<LogBatch, ProtocolError> {
        match bytes {
            [] => Err(ProtocolError::MessageSize(0)),
            [TYPE_LOG_BATCH, more, sealed @ ..] => {
                let more_logs = bool_byte(*more, "LogBatch more_logs")?;
                check_sealed_len(sealed)?;
                Ok(LogBatch { more_logs, sealed_logs: sealed.to_vec() })
            }
            [TYPE_LOG_BATCH, ..] => Err(malformed("LogBatch")),
            [got, ..] => Err(ProtocolError::UnexpectedMessage { got: *got }),
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// Sealed log batches
// ---------------------------------------------------------------------------------------------------------

/// Checks the hello is 39 well-formed bytes naming `lock_id`.
fn check_hello(lock_id: &[u8; 16], hello: &[u8]) -> Result<(), ProtocolError> {
    if hello.len() != HELLO_LEN {
        return Err(malformed("hello length"));
    }
    let parsed = Hello::decode(hello)?;
    if !crypto::ct_eq(&parsed.lock_id, lock_id) {
        return Err(ProtocolError::WrongLock);
    }
    Ok(())
}

/// The batch key: `HKDF-SHA256(salt = hello, ikm = log_key, info = "latchkey/log-upload/v1" || lock_id)`,
/// 16 bytes. Exposed for test vectors and the backend; the hello must be 39 bytes naming `lock_id`.
pub fn log_batch_key(
    log_key: &[u8; 32],
    lock_id: &[u8; 16],
    hello: &[u8],
) -> Result<[u8; AEAD_KEY_LEN], ProtocolError> {
    check_hello(lock_id, hello)?;
    let mut key = [0u8; AEAD_KEY_LEN];
    crypto::hkdf_sha256(hello, log_key, &[LOG_UPLOAD_LABEL, lock_id], &mut key)?;
    Ok(key)
}

fn batch_cipher_parts(batch_index: u32, hello: &[u8]) -> ([u8; 12], Vec<u8>) {
    let mut nonce = [0u8; 12];
    nonce[0] = LOG_UPLOAD_DIRECTION;
    nonce[4..].copy_from_slice(&u64::from(batch_index).to_be_bytes());
    let mut aad = Vec::with_capacity(hello.len() + 4);
    aad.extend_from_slice(hello);
    aad.extend_from_slice(&batch_index.to_be_bytes());
    (nonce, aad)
}

/// Seals up to [`MAX_LOG_ENTRIES_PER_BATCH`] entries for the backend: AES-128-GCM under
/// [`log_batch_key`], nonce `0x03 || 00 00 00 || batch_index u64`, AAD `hello || batch_index u32`,
/// plaintext `entry_count u16 || entries (64 bytes each)`. The lock MUST seal each batch index at most
/// once per connection (the key is per hello), so a nonce never covers two different plaintexts.
pub fn seal_log_batch(
    log_key: &[u8; 32],
    lock_id: &[u8; 16],
    hello: &[u8],
    batch_index: u32,
    entries: &[Entry],
) -> Result<Vec<u8>, ProtocolError> {
    if entries.len() > MAX_LOG_ENTRIES_PER_BATCH {
        return Err(malformed("log batch entry count"));
    }
    let mut key = log_batch_key(log_key, lock_id, hello)?;
    let cipher = Aes128Gcm::new(&key.into());
    key.zeroize();
    let (nonce, aad) = batch_cipher_parts(batch_index, hello);
    let mut plaintext = Vec::with_capacity(2 + entries.len() * ENTRY_LEN);
    // entries.len() <= 56 fits a u16.
    plaintext.extend_from_slice(&u16::try_from(entries.len()).unwrap_or(u16::MAX).to_be_bytes());
    for e in entries {
        plaintext.extend_from_slice(&e.encode());
    }
    cipher
        .encrypt(&Nonce::from(nonce), Payload { msg: &plaintext, aad: &aad })
        .map_err(|_| malformed("AEAD plaintext length"))
}

/// Opens a sealed batch (the backend, or a test): authenticates it for this log key, lock, hello and
/// batch index, then parses the entries. Does not verify the entry chain: that is
/// `eventlog::verify_chain`'s job, against what the backend already holds.
pub fn open_log_batch(
    log_key: &[u8; 32],
    lock_id: &[u8; 16],
    hello: &[u8],
    batch_index: u32,
    sealed: &[u8],
) -> Result<Vec<Entry>, ProtocolError> {
    check_sealed_len(sealed)?;
    let mut key = log_batch_key(log_key, lock_id, hello)?;
    let cipher = Aes128Gcm::new(&key.into());
    key.zeroize();
    let (nonce, aad) = batch_cipher_parts(batch_index, hello);
    let plaintext = cipher
        .decrypt(&Nonce::from(nonce), Payload { msg: sealed, aad: &aad })
        .map_err(|_| ProtocolError::DecryptFailed)?;
    let (count, body) = match plaintext.as_slice() {
        [a, b, body @ ..] => (usize::from(u16::from_be_bytes([*a, *b])), body),
        _ => return Err(malformed("log batch")),
    };
    if count > MAX_LOG_ENTRIES_PER_BATCH || body.len() != count * ENTRY_LEN {
        return Err(malformed("log batch entry count"));
    }
    body.chunks_exact(ENTRY_LEN).map(|c| Entry::decode(c).map_err(|_| malformed("log entry"))).collect()
}

#[cfg(test)]
mod tests;
