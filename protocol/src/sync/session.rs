//! The lock's side of the sync upload ([`SyncReceiver`]): it stages the phone's SyncBegin, DeltaChunk… and
//! SyncEnd within the limits and hands over the deltas when a well-formed sync completes. See
//! docs/protocol.md §24.

use alloc::vec::Vec;

use crate::ProtocolError;
use crate::crypto::{PUBLIC_KEY_LEN, PublicKey};
use crate::framing::MAX_MESSAGE;

use super::messages::{
    MAX_DELTAS_PER_SYNC, MAX_SYNC_BYTES, TYPE_DELTA_CHUNK, TYPE_SYNC_BEGIN, TYPE_SYNC_END, bool_byte,
    malformed, u32_at,
};
use super::{MAX_DELTA_LEN, TIME_TOKEN_LEN};

/// What a well-formed sync delivered to the lock: the deltas (as bytes, not yet decoded or verified) in
/// the order sent, and the time token if one came.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncInbound {
    /// Delta bytes, in order; decode with `sync::Delta::decode` and apply with `LockSyncState::apply`.
    pub deltas: Vec<Vec<u8>>,
    /// The time token bytes, if any; decode with `sync::TimeToken::decode`.
    pub time_token: Option<[u8; TIME_TOKEN_LEN]>,
    /// The phone's ephemeral key from SyncEnd (a valid P-256 point): the lock answers through a
    /// [`SyncChannel::lock`](super::SyncChannel::lock) keyed with it.
    pub phone_key: PublicKey,
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
                if body.len() != PUBLIC_KEY_LEN {
                    return Err(malformed("SyncEnd length"));
                }
                let phone_key = PublicKey::from_bytes(body).map_err(|_| malformed("SyncEnd phone key"))?;
                if current.is_some() || done.len() != *expected {
                    return Err(malformed("SyncEnd before every delta is complete"));
                }
                let inbound =
                    SyncInbound { deltas: core::mem::take(done), time_token: *time_token, phone_key };
                self.state = ReceiverState::Finished;
                Ok(Some(inbound))
            }
            (_, got) => Err(ProtocolError::UnexpectedMessage { got }),
        }
    }
}
