//! The sync flow: carry backend-signed deltas (and a time token) down to a lock and its sealed event-log
//! batches up, on one connection, after the lock's `Hello` (docs/protocol.md §24).
//!
//! The phone is only a carrier: it cannot forge what goes down and cannot read what comes up. It keeps the
//! lock's `Hello` bytes because the backend needs them to open the sealed batches. The lock's report is
//! unauthenticated status; the authoritative record is the sealed log.

use latchkey_protocol::sync::TIME_TOKEN_LEN;
use latchkey_protocol::sync::{
    LogBatch, SyncReport, TYPE_LOG_BATCH, TYPE_SYNC_REPORT, log_request, message_type, sync_messages,
};
use latchkey_protocol::unlock::{AbortReason, Hello, TYPE_ABORT, VERSION};

use super::flow::{Exchange, FlowError};
use super::timeouts::Timeouts;
use super::transport::{LinkStats, Transport, TransportError};

/// Most log batches one sync fetches (56 entries each); the rest wait for the next sync
/// ([`SyncOutcome::logs_remaining`]).
pub const MAX_LOG_BATCHES: u32 = 64;

/// What one sync carried.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncOutcome {
    /// The lock's `Hello` (39 bytes) of this connection: the backend needs it to open the sealed batches.
    pub hello: Vec<u8>,
    /// The lock's report: what became of each delta, its clock, its battery (unauthenticated status).
    pub report: SyncReport,
    /// Every sealed log batch fetched, with its index, in order: batch 0 (also in `report.sealed_logs`),
    /// then 1, 2, … Upload them with `hello`.
    pub log_batches: Vec<(u32, Vec<u8>)>,
    /// The lock still holds batches this sync did not fetch (more than [`MAX_LOG_BATCHES`]).
    pub logs_remaining: bool,
    /// What the link carried.
    pub stats: LinkStats,
}

/// Why a sync failed. None carries key material.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SyncFlowError {
    /// Bluetooth failed, the lock was out of reach, or a step timed out.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// What the phone was asked to carry cannot be sent (too many or too large deltas); nothing was sent.
    #[error("the sync data cannot be sent: {what}")]
    InvalidInput {
        /// What is wrong with it.
        what: String,
    },
    /// The lock ended the exchange without a report (unauthenticated, so informational).
    #[error("the lock aborted the sync ({reason:?})")]
    LockAborted {
        /// The lock's reason code.
        reason: AbortReason,
    },
    /// The lock's answers broke the protocol (another lock, a garbled or unexpected message).
    #[error("sync failed: {what}")]
    Protocol {
        /// What went wrong, in words.
        what: String,
    },
}

fn protocol(what: impl Into<String>) -> SyncFlowError {
    SyncFlowError::Protocol { what: what.into() }
}

impl From<FlowError> for SyncFlowError {
    fn from(e: FlowError) -> SyncFlowError {
        match e {
            FlowError::Transport(t) => SyncFlowError::Transport(t),
            FlowError::Framing(p) => protocol(format!("the lock's message was badly framed ({p})")),
        }
    }
}

/// Carries `deltas` (in order, as the backend signed them) and an optional time token to the lock
/// `lock_id`, then fetches its sealed log batches. The connection is always closed before returning.
///
/// The whole exchange is bounded by `timeouts.exchange`: pass a longer one when carrying large deltas
/// over a small MTU.
pub async fn sync(
    transport: &dyn Transport,
    lock_id: [u8; 16],
    deltas: Vec<Vec<u8>>,
    time_token: Option<[u8; TIME_TOKEN_LEN]>,
    timeouts: &Timeouts,
) -> Result<SyncOutcome, SyncFlowError> {
    let messages = sync_messages(&deltas, time_token.as_ref())
        .map_err(|e| SyncFlowError::InvalidInput { what: e.to_string() })?;
    let mut exchange = Exchange::open(transport, lock_id, timeouts).await?;
    let result = run(&mut exchange, lock_id, &messages).await;
    let stats = exchange.close().await;
    result.map(|(hello, report, log_batches, logs_remaining)| SyncOutcome {
        hello,
        report,
        log_batches,
        logs_remaining,
        stats,
    })
}

type Carried = (Vec<u8>, SyncReport, Vec<(u32, Vec<u8>)>, bool);

async fn run(
    exchange: &mut Exchange,
    lock_id: [u8; 16],
    messages: &[Vec<u8>],
) -> Result<Carried, SyncFlowError> {
    let hello = exchange.receive("hello").await?;
    let parsed =
        Hello::decode(&hello).map_err(|e| protocol(format!("the lock's hello was not understood ({e})")))?;
    if parsed.version != VERSION {
        return Err(protocol(format!("the lock speaks protocol version {}", parsed.version)));
    }
    if parsed.lock_id != lock_id {
        return Err(protocol("another lock answered"));
    }
    for message in messages {
        exchange.send(message).await?;
    }
    let answer = exchange.receive("sync report").await?;
    let report = match message_type(&answer) {
        Some(TYPE_SYNC_REPORT) => SyncReport::decode(&answer)
            .map_err(|e| protocol(format!("the lock's sync report was not understood ({e})")))?,
        _ => return Err(unexpected(&answer)),
    };
    let mut batches = vec![(0u32, report.sealed_logs.clone())];
    let mut more = report.more_logs;
    let mut index = 0u32;
    while more && index + 1 < MAX_LOG_BATCHES {
        index += 1;
        exchange.send(&log_request(index)).await?;
        let answer = exchange.receive("log batch").await?;
        let batch = match message_type(&answer) {
            Some(TYPE_LOG_BATCH) => LogBatch::decode(&answer)
                .map_err(|e| protocol(format!("the lock's log batch was not understood ({e})")))?,
            _ => return Err(unexpected(&answer)),
        };
        more = batch.more_logs;
        batches.push((index, batch.sealed_logs));
    }
    Ok((hello, report, batches, more))
}

fn unexpected(message: &[u8]) -> SyncFlowError {
    match message {
        [TYPE_ABORT, reason] => match AbortReason::from_byte(*reason) {
            Ok(reason) => SyncFlowError::LockAborted { reason },
            Err(_) => protocol(format!("the lock aborted with an unknown reason 0x{reason:02x}")),
        },
        [got, ..] => protocol(format!("unexpected message type 0x{got:02x}")),
        [] => protocol("an empty message"),
    }
}
