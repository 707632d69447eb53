//! The sync flow: carry backend-signed deltas (and a time token) down to a lock and its sealed event-log
//! batches up, on one connection, after the lock's `Hello` (docs/protocol.md §24).
//!
//! The phone is only a carrier: it cannot forge what goes down and cannot read what comes up. It keeps the
//! lock's `Hello` bytes because the backend needs them to open the sealed batches. It believes the lock's
//! report and log batches only when they open under the sync channel (ECDH of a fresh ephemeral key with the
//! lock's static key from the backend): a device that merely advertises the lock's id cannot make the phone
//! drop its pending deltas.

use latchkey_protocol::ProtocolError;
use latchkey_protocol::crypto::{DhSecret, PublicKey};
use latchkey_protocol::sync::TIME_TOKEN_LEN;
use latchkey_protocol::sync::{
    SyncChannel, SyncReport, TYPE_LOG_BATCH, TYPE_SYNC_REPORT, log_request, message_type, sync_messages,
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
    /// The lock's report: what became of each delta, its clock, its battery (opened under the sync channel,
    /// so the lock holding the lock's static key wrote it).
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
    /// The answer did not open under the sync channel: the device is not the lock the backend listed (an
    /// impostor advertising its id) or the answer was tampered with. Nothing it said is believed.
    #[error("the lock failed to prove it holds the lock's key (forged lock or tampered answer)")]
    NotAuthenticated,
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
/// `lock_id` whose static public key is `lock_public_key` (33 bytes, from the backend's lock list), then
/// fetches its sealed log batches. The connection is always closed before returning.
///
/// The whole exchange is bounded by `timeouts.exchange`: pass a longer one when carrying large deltas
/// over a small MTU.
pub async fn sync(
    transport: &dyn Transport,
    lock_id: [u8; 16],
    lock_public_key: &[u8],
    deltas: Vec<Vec<u8>>,
    time_token: Option<[u8; TIME_TOKEN_LEN]>,
    timeouts: &Timeouts,
) -> Result<SyncOutcome, SyncFlowError> {
    let lock_key = PublicKey::from_bytes(lock_public_key).map_err(|_| SyncFlowError::InvalidInput {
        what: "the lock's public key is not a P-256 key".into(),
    })?;
    let ephemeral = super::unlock::ephemeral()
        .map_err(|e| SyncFlowError::InvalidInput { what: format!("no ephemeral key: {e}") })?;
    let messages = sync_messages(&deltas, time_token.as_ref(), &ephemeral.public_key())
        .map_err(|e| SyncFlowError::InvalidInput { what: e.to_string() })?;
    let mut exchange = Exchange::open(transport, lock_id, timeouts).await?;
    let result = run(&mut exchange, lock_id, &lock_key, &ephemeral, &messages).await;
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
    lock_key: &PublicKey,
    ephemeral: &DhSecret,
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
    let channel = SyncChannel::phone(ephemeral, lock_key, &lock_id, &hello).map_err(opened)?;
    for message in messages {
        exchange.send(message).await?;
    }
    let answer = exchange.receive("sync report").await?;
    let report = match message_type(&answer) {
        Some(TYPE_SYNC_REPORT) => channel.open_report(&answer).map_err(opened)?,
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
            Some(TYPE_LOG_BATCH) => channel.open_log_batch_message(index, &answer).map_err(opened)?,
            _ => return Err(unexpected(&answer)),
        };
        more = batch.more_logs;
        batches.push((index, batch.sealed_logs));
    }
    Ok((hello, report, batches, more))
}

/// An answer that did not open (or parse) under the sync channel.
fn opened(error: ProtocolError) -> SyncFlowError {
    match error {
        ProtocolError::DecryptFailed => SyncFlowError::NotAuthenticated,
        ProtocolError::WrongLock => protocol("another lock answered"),
        other => protocol(format!("the lock's answer was not understood ({other})")),
    }
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
