//! [`LockConnection`]: the lock's GATT-like service for one connection.
//!
//! `subscribe` returns the framed Hello; `write` takes one ATT packet, reassembles it (one
//! `framing::Reassembler` per connection) and, on a whole message, dispatches it: an unlock request to
//! the connection's `unlock::LockSession`, sync messages (0x10–0x12) to a `SyncReceiver` and then to the
//! lock (whose report is sealed under the sync channel keyed by SyncEnd), a LogRequest (0x14) to the next
//! log batch, sealed under the same channel. A first fragment announcing an unlock request longer than the
//! longest valid one is refused before anything is buffered. Replies come back as framed packets. Any
//! framing or sync error closes the connection (later writes fail) and leaves the lock's state as saved.

use std::sync::{Arc, Mutex};

use latchkey_protocol::framing::{Fragmenter, Reassembler};
use latchkey_protocol::sync::{
    SyncChannel, SyncReceiver, TYPE_DELTA_CHUNK, TYPE_LOG_REQUEST, TYPE_SYNC_BEGIN, TYPE_SYNC_END,
    decode_log_request, message_type,
};
use latchkey_protocol::unlock::{FULL_REQUEST_MAX, LockSession, TYPE_FULL_REQUEST, TYPE_RESUME_REQUEST};

use super::impostor::Impostor;
use super::{LockError, VirtualLock, lock_guard};

/// One connection to a virtual lock.
#[derive(Debug)]
pub struct LockConnection {
    lock: Arc<Mutex<VirtualLock>>,
    mtu: u16,
    reassembler: Reassembler,
    fragmenter: Fragmenter,
    session: Option<LockSession>,
    /// When the session's `Hello` went out (the relay window counts from it).
    hello_at: chrono::DateTime<chrono::Utc>,
    hello: Vec<u8>,
    sync: SyncReceiver,
    /// The sync channel, once SyncEnd brought the phone's key: LogBatches are sealed under it.
    channel: Option<SyncChannel>,
    next_batch: u32,
    closed: bool,
    /// Set when the simulator answers as an impostor on this connection (see `impostor`).
    impostor: Option<Impostor>,
}

impl LockConnection {
    /// A connection at ATT MTU `mtu` (23..=517).
    pub fn new(lock: Arc<Mutex<VirtualLock>>, mtu: u16) -> Result<LockConnection, LockError> {
        Ok(LockConnection {
            lock,
            mtu,
            reassembler: Reassembler::new(mtu)?,
            fragmenter: Fragmenter::new(mtu)?,
            session: None,
            hello_at: chrono::DateTime::<chrono::Utc>::MIN_UTC,
            hello: Vec::new(),
            sync: SyncReceiver::new(),
            channel: None,
            next_batch: 1,
            closed: false,
            impostor: None,
        })
    }

    /// A connection answered by an impostor advertising the lock's id (see
    /// [`super::LockRegistry::impersonate`]): it swallows a sync and answers with forged claims sealed under
    /// a key of its own; it answers no unlock. The lock itself is never touched.
    pub fn impostor(lock: Arc<Mutex<VirtualLock>>, mtu: u16) -> Result<LockConnection, LockError> {
        Ok(LockConnection { impostor: Some(Impostor::new()?), ..LockConnection::new(lock, mtu)? })
    }

    /// The ATT MTU.
    pub fn mtu(&self) -> u16 {
        self.mtu
    }

    /// The phone subscribes: the lock starts a session and notifies its Hello (framed).
    pub fn subscribe(&mut self) -> Result<Vec<Vec<u8>>, LockError> {
        if self.closed || self.session.is_some() {
            return Err(LockError::Closed);
        }
        let started = lock_guard(&self.lock).start_session();
        let (session, hello_at) = match started {
            Ok(started) => started,
            Err(error) => {
                self.closed = true;
                return Err(error);
            }
        };
        self.hello = session.hello().to_vec();
        self.hello_at = hello_at;
        self.session = Some(session);
        let hello = self.hello.clone();
        Ok(self.fragmenter.fragment(&hello)?)
    }

    /// The phone writes one packet; returns the packets the lock notifies in answer (often none).
    pub fn write(&mut self, packet: &[u8]) -> Result<Vec<Vec<u8>>, LockError> {
        if self.closed {
            return Err(LockError::Closed);
        }
        if announces_oversized_unlock(packet) {
            self.closed = true;
            return Err(LockError::State(format!(
                "an unlock request announced longer than {FULL_REQUEST_MAX} bytes"
            )));
        }
        let message = match self.reassembler.push(packet) {
            Ok(Some(message)) => message,
            Ok(None) => return Ok(Vec::new()),
            Err(error) => {
                self.closed = true;
                return Err(error.into());
            }
        };
        match self.dispatch(&message) {
            Ok(Some(reply)) => Ok(self.fragmenter.fragment(&reply)?),
            Ok(None) => Ok(Vec::new()),
            Err(error) => {
                self.closed = true;
                Err(error)
            }
        }
    }

    fn dispatch(&mut self, message: &[u8]) -> Result<Option<Vec<u8>>, LockError> {
        let session = self.session.as_mut().ok_or(LockError::Closed)?;
        match message_type(message) {
            Some(TYPE_FULL_REQUEST | TYPE_RESUME_REQUEST | TYPE_LOG_REQUEST) if self.impostor.is_some() => {
                match (self.impostor.as_ref(), decode_log_request(message)) {
                    (Some(impostor), Ok(index)) => Ok(Some(impostor.log_batch(&self.hello, index)?)),
                    _ => Err(LockError::State("an impostor cannot answer an unlock".into())),
                }
            }
            Some(TYPE_FULL_REQUEST | TYPE_RESUME_REQUEST) => {
                let reply = lock_guard(&self.lock).handle_unlock(session, self.hello_at, message)?;
                if reply.finished {
                    self.closed = true;
                }
                Ok(Some(reply.message))
            }
            Some(TYPE_SYNC_BEGIN | TYPE_DELTA_CHUNK | TYPE_SYNC_END) => match self.sync.handle(message)? {
                Some(inbound) if self.impostor.is_some() => match self.impostor.as_mut() {
                    Some(impostor) => Ok(Some(impostor.report(&inbound, &self.hello)?)),
                    None => Err(LockError::Closed),
                },
                Some(inbound) => {
                    let (report, channel) = lock_guard(&self.lock).handle_sync(&inbound, &self.hello)?;
                    self.channel = Some(channel);
                    Ok(Some(report))
                }
                None => Ok(None),
            },
            Some(TYPE_LOG_REQUEST) => {
                let index = decode_log_request(message)?;
                let channel = self
                    .channel
                    .as_ref()
                    .ok_or_else(|| LockError::State("log batch requested before the sync report".into()))?;
                if index != self.next_batch {
                    return Err(LockError::State(format!(
                        "log batch {index} requested, {} expected",
                        self.next_batch
                    )));
                }
                self.next_batch += 1;
                Ok(Some(lock_guard(&self.lock).log_batch_message(channel, &self.hello, index)?))
            }
            other => Err(LockError::State(format!("unexpected message type {other:?}"))),
        }
    }
}

/// Whether `packet` is the first fragment of an unlock request (full or resume) announcing more than the
/// longest valid one (`FULL_REQUEST_MAX`): refused before the framing layer allocates for it, so an
/// unauthenticated peer makes the lock hold at most that much for an unlock (protocol.md §9).
fn announces_oversized_unlock(packet: &[u8]) -> bool {
    match packet {
        [header, hi, lo, kind, ..] if header & 0x80 != 0 => {
            matches!(*kind, TYPE_FULL_REQUEST | TYPE_RESUME_REQUEST)
                && usize::from(u16::from_be_bytes([*hi, *lo])) > FULL_REQUEST_MAX
        }
        _ => false,
    }
}
