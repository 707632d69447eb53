//! Backend-signed sync and the BLE sync exchange that carries it.
//!
//! A phone carries backend-signed deltas and time tokens to a lock but cannot forge, alter, reorder or
//! replay them, and carries the lock's event log back sealed so it cannot read it. Modules:
//! `delta` (the signed, sequenced change set and its entries), `time` (time tokens and the lock clock),
//! `state` (the lock's synced state and how a delta applies to it), `messages` (the sync exchange's wire
//! messages), `session` (the lock's receiver of a sync upload), `channel` (the lock → phone messages sealed
//! under a key only the real lock derives), `log_batch` (log batches sealed for the backend).
//! Everything is re-exported here. `docs/protocol.md` §23 and §24 are normative.
//!
//! No I/O, no clock, no randomness. Every decoder is total (never panics) and checks lengths before it
//! allocates.

use core::fmt;

mod channel;
mod delta;
mod log_batch;
mod messages;
mod session;
mod state;
mod time;

#[cfg(test)]
mod session_tests;
#[cfg(test)]
mod tests;

pub use channel::{SYNC_LABEL, SyncChannel, sync_channel_key};
pub use delta::{
    DELTA_DOMAIN, DELTA_VERSION, Delta, DeltaKind, Entry, HEADER_LEN, LogAck, MAX_DELTA_LEN, MAX_ENTRIES,
    Window,
};
pub use log_batch::{LOG_UPLOAD_DIRECTION, LOG_UPLOAD_LABEL, log_batch_key, open_log_batch, seal_log_batch};
pub use messages::{
    CHUNK_HEADER_LEN, DeltaOutcome, LogBatch, MAX_CHUNK_DATA, MAX_DELTAS_PER_SYNC, MAX_LOG_ENTRIES_PER_BATCH,
    MAX_REPORT_PLAINTEXT, MAX_SYNC_BYTES, SEALED_BATCH_MAX, SEALED_BATCH_MIN, SYNC_END_LEN, SyncReport,
    TYPE_DELTA_CHUNK, TYPE_LOG_BATCH, TYPE_LOG_REQUEST, TYPE_SYNC_BEGIN, TYPE_SYNC_END, TYPE_SYNC_REPORT,
    decode_log_request, log_request, message_type, refusal, refusal_reason, sync_messages,
};
pub use session::{SyncInbound, SyncReceiver};
pub use state::{Applied, LockSyncState, MAX_ACCESS, MAX_REVOKED};
pub use time::{
    ClockReading, LockClock, MAX_STEP_BACK_SECS, STEP_BACK_DIVISOR, TIME_DOMAIN, TIME_TOKEN_LEN, TimeToken,
};

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
