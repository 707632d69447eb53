//! The sync exchange's wire messages over BLE: signed deltas and a time token down, the event log up.
//!
//! After the lock's Hello, on the same connection and instead of an unlock request, any phone may carry a
//! sync. It cannot forge what it carries down (every delta and time token is signed by the backend, see
//! [`super::Delta`]) nor what it carries up (log entries are chained HMACs under `log_key`, see
//! [`crate::eventlog`]); the log batches are additionally sealed ([`super::seal_log_batch`]) under a key only
//! the lock and the backend can derive, so the carrier cannot read them. See docs/protocol.md §24.
//!
//! ```text
//! 0x10 SyncBegin   phone→lock  delta_count u8 || has_time_token u8 || [time token (84)]
//! 0x11 DeltaChunk  phone→lock  delta_index u8 || total_len u32 || offset u32 || data
//! 0x12 SyncEnd     phone→lock  phone_eph_pub(33)
//! 0x13 SyncReport  lock→phone  AEAD_sync{last_applied_seq u64 || lock_time u32 || time_status u8 || battery u8
//!                              || outcome_count u8 || outcomes || more_logs u8 || sealed batch 0}
//! 0x14 LogRequest  phone→lock  batch_index u32
//! 0x15 LogBatch    lock→phone  AEAD_sync{more_logs u8 || sealed batch}
//! ```
//!
//! No I/O, no clock, no randomness. Every decoder is total (never panics) and checks lengths before it
//! allocates; [`super::SyncReceiver`] never stages more than [`MAX_SYNC_BYTES`] of delta bytes.

use alloc::vec::Vec;

use crate::ProtocolError;
use crate::crypto::{PUBLIC_KEY_LEN, PublicKey, TAG_LEN};
use crate::eventlog::ENTRY_LEN;
use crate::framing::MAX_MESSAGE;
use crate::unlock::TimeStatus;

use super::{MAX_DELTA_LEN, SyncError, TIME_TOKEN_LEN};

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
/// Most event-log entries in one sealed batch: a full report (type, 176 bytes of header with 16 outcomes,
/// a full sealed batch of 18 + 56 × 64 bytes, the channel's tag) is 1 + 176 + 3602 + 16 = 3795 bytes, within
/// [`MAX_MESSAGE`].
pub const MAX_LOG_ENTRIES_PER_BATCH: usize = 56;
/// Most delta bytes (sum of announced `total_len`) one sync may stage at the lock: 1 MiB. One delta may
/// still be up to [`MAX_DELTA_LEN`] (512 KiB); the lock never holds more than this in total.
pub const MAX_SYNC_BYTES: usize = 2 * MAX_DELTA_LEN;
/// Bytes of a DeltaChunk before its data: type, delta_index, total_len, offset.
pub const CHUNK_HEADER_LEN: usize = 1 + 1 + 4 + 4;
/// Most data bytes in one DeltaChunk.
pub const MAX_CHUNK_DATA: usize = MAX_MESSAGE - CHUNK_HEADER_LEN;
/// Length of SyncEnd: the type and the phone's ephemeral public key (compressed).
pub const SYNC_END_LEN: usize = 1 + PUBLIC_KEY_LEN;
/// Largest SyncReport plaintext: so that the sealed message (type, plaintext, tag) fits [`MAX_MESSAGE`].
pub const MAX_REPORT_PLAINTEXT: usize = MAX_MESSAGE - 1 - TAG_LEN;
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

pub(super) fn malformed(what: &'static str) -> ProtocolError {
    ProtocolError::Malformed { what }
}

/// The first byte of a message, for dispatch (`None` for an empty message).
pub fn message_type(message: &[u8]) -> Option<u8> {
    message.first().copied()
}

pub(super) fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    let b: [u8; 4] = bytes.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(u32::from_be_bytes(b))
}

fn u64_at(bytes: &[u8], at: usize) -> Option<u64> {
    let b: [u8; 8] = bytes.get(at..at.checked_add(8)?)?.try_into().ok()?;
    Some(u64::from_be_bytes(b))
}

pub(super) fn bool_byte(b: u8, what: &'static str) -> Result<bool, ProtocolError> {
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
/// message at most [`MAX_MESSAGE`] bytes), SyncEnd carrying `phone_key` (the phone's fresh ephemeral key for
/// the [`SyncChannel`](super::SyncChannel)). Refuses more than [`MAX_DELTAS_PER_SYNC`] deltas, an
/// empty delta or one over [`MAX_DELTA_LEN`], and a total over [`MAX_SYNC_BYTES`]: what the lock would
/// refuse is never built. The deltas are carried as opaque bytes (the lock verifies them).
pub fn sync_messages(
    deltas: &[Vec<u8>],
    time_token: Option<&[u8; TIME_TOKEN_LEN]>,
    phone_key: &PublicKey,
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
    let mut end = Vec::with_capacity(SYNC_END_LEN);
    end.push(TYPE_SYNC_END);
    end.extend_from_slice(&phone_key.to_bytes());
    out.push(end);
    Ok(out)
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
pub(super) fn check_sealed_len(sealed: &[u8]) -> Result<(), ProtocolError> {
    let n = sealed.len();
    if !(SEALED_BATCH_MIN..=SEALED_BATCH_MAX).contains(&n)
        || !(n - SEALED_BATCH_MIN).is_multiple_of(ENTRY_LEN)
    {
        return Err(malformed("sealed log batch length"));
    }
    Ok(())
}

/// The lock's answer to SyncEnd (`0x13`, sealed by the sync channel): its state after applying, and the
/// first sealed log batch (batch index 0).
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
    /// Sealed log batch 0 (see [`seal_log_batch`](super::seal_log_batch)).
    pub sealed_logs: Vec<u8>,
}

impl SyncReport {
    /// The report's plaintext, which [`SyncChannel::seal_report`](super::SyncChannel::seal_report) seals
    /// into the `0x13` message: `last_applied_seq u64 || lock_time u32 || time_status u8 || battery u8 ||
    /// outcome_count u8 || outcomes || more_logs u8 || sealed batch 0`. Encodes at most
    /// [`MAX_DELTAS_PER_SYNC`] outcomes (a lock never has more); the lock seals `sealed_logs` with
    /// [`seal_log_batch`](super::seal_log_batch), so it fits. [`SyncReport::decode_plaintext`] checks both.
    pub fn encode_plaintext(&self) -> Vec<u8> {
        let outcomes = &self.outcomes[..self.outcomes.len().min(MAX_DELTAS_PER_SYNC)];
        let mut out = Vec::with_capacity(16 + outcomes.len() * 10 + 1 + self.sealed_logs.len());
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

    /// Parses a report's plaintext, refusing more than [`MAX_DELTAS_PER_SYNC`] outcomes, unknown outcome or
    /// flag bytes, more than [`MAX_REPORT_PLAINTEXT`] bytes and a sealed batch of impossible length.
    pub fn decode_plaintext(bytes: &[u8]) -> Result<SyncReport, ProtocolError> {
        if bytes.len() > MAX_REPORT_PLAINTEXT {
            return Err(ProtocolError::MessageSize(bytes.len()));
        }
        let short = || malformed("SyncReport");
        let last_applied_seq = u64_at(bytes, 0).ok_or_else(short)?;
        let lock_time = u32_at(bytes, 8).ok_or_else(short)?;
        let time_status = time_status_from_byte(*bytes.get(12).ok_or_else(short)?)?;
        let battery_percent = *bytes.get(13).ok_or_else(short)?;
        let count = usize::from(*bytes.get(14).ok_or_else(short)?);
        if count > MAX_DELTAS_PER_SYNC {
            return Err(malformed("SyncReport outcome count"));
        }
        let mut at = 15usize;
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

/// LogBatch (`0x15`, sealed by the sync channel): the lock's answer to a LogRequest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogBatch {
    /// More batches wait after this one.
    pub more_logs: bool,
    /// The sealed batch (see [`seal_log_batch`](super::seal_log_batch)).
    pub sealed_logs: Vec<u8>,
}

impl LogBatch {
    /// The batch's plaintext, which [`SyncChannel::seal_log_batch`](super::SyncChannel::seal_log_batch_message)
    /// seals into the `0x15` message: `more_logs u8 || sealed batch`.
    pub fn encode_plaintext(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 + self.sealed_logs.len());
        out.push(u8::from(self.more_logs));
        out.extend_from_slice(&self.sealed_logs);
        out
    }

    /// Parses a LogBatch plaintext, refusing a bad flag and a sealed batch of impossible length.
    pub fn decode_plaintext(bytes: &[u8]) -> Result<LogBatch, ProtocolError> {
        match bytes {
            [more, sealed @ ..] => {
                let more_logs = bool_byte(*more, "LogBatch more_logs")?;
                check_sealed_len(sealed)?;
                Ok(LogBatch { more_logs, sealed_logs: sealed.to_vec() })
            }
            [] => Err(malformed("LogBatch")),
        }
    }
}
