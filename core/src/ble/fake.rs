//! A fake in-process [`Transport`] for the flow tests: a lock running the protocol's lock side
//! ([`LockSession`]) behind a fake [`Link`] with a chosen MTU and injected faults. Test-only.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use latchkey_protocol::crypto::{DhSecret, SigningKey};
use latchkey_protocol::framing::{Fragmenter, Reassembler};
use latchkey_protocol::unlock::{LockIdentity, LockRandom, LockSession, TicketTable, TimeStatus};

use super::transport::{Link, LinkStats, Transport, TransportError};

/// What goes wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fault {
    None,
    /// `connect` never returns (ignores its timeout).
    NeverConnects,
    /// The lock never sends anything; `receive` honours its timeout.
    Silent,
    /// The lock never sends anything and `receive` ignores its timeout (hangs forever).
    Hangs,
    /// The connection drops after this many notified packets.
    DropAfterPackets(u32),
}

/// How the lock answers a whole message from the phone.
pub(crate) type Responder = Box<dyn FnMut(&mut LockState, &[u8]) -> Vec<Vec<u8>> + Send>;

/// The lock's persistent state (survives connections).
pub(crate) struct LockState {
    pub identity: LockIdentity,
    pub tickets: TicketTable,
    pub revoked: Vec<[u8; 16]>,
    pub now: u32,
    pub session: Option<LockSession>,
    pub connections: u32,
    pub disconnects: u32,
    pub last_stats: LinkStats,
    pub received: Vec<Vec<u8>>,
}

pub(crate) struct FakeLock {
    pub state: Arc<Mutex<LockState>>,
    pub mtu: u16,
    pub fault: Fault,
    responder: Arc<Mutex<Option<Responder>>>,
}

pub(crate) const LOCK_ID: [u8; 16] = [0xd0; 16];
pub(crate) const NOW: u32 = 1_800_000_000;

pub(crate) fn backend_key() -> SigningKey {
    SigningKey::from_bytes(&[0x11; 32]).expect("valid")
}

pub(crate) fn lock_static() -> DhSecret {
    DhSecret::from_bytes(&[0x33; 32]).expect("valid")
}

impl FakeLock {
    pub(crate) fn new(mtu: u16, fault: Fault) -> FakeLock {
        let identity = LockIdentity {
            lock_id: LOCK_ID,
            static_key: lock_static(),
            backend_key: backend_key().public_key(),
        };
        FakeLock {
            state: Arc::new(Mutex::new(LockState {
                identity,
                tickets: TicketTable::new(),
                revoked: Vec::new(),
                now: NOW,
                session: None,
                connections: 0,
                disconnects: 0,
                last_stats: LinkStats::default(),
                received: Vec::new(),
            })),
            mtu,
            fault,
            responder: Arc::new(Mutex::new(None)),
        }
    }

    /// Replaces the unlock lock side by `responder` (for the sync tests).
    pub(crate) fn with_responder(self, responder: Responder) -> FakeLock {
        *self.responder.lock().expect("lock") = Some(responder);
        self
    }

    pub(crate) fn state(&self) -> std::sync::MutexGuard<'_, LockState> {
        self.state.lock().expect("lock state")
    }
}

/// The default lock side: the protocol's `LockSession`.
fn unlock_side(state: &mut LockState, message: &[u8]) -> Vec<Vec<u8>> {
    let LockState { identity, tickets, revoked, now, session, .. } = state;
    let Some(session) = session.as_mut() else { return Vec::new() };
    let revoked = revoked.clone();
    let check = move |c: &[u8; 16], u: &[u8; 16]| revoked.contains(c) || revoked.contains(u);
    let reply = session.handle(identity, message, *now, &check, tickets);
    vec![reply.message]
}

#[async_trait]
impl Transport for FakeLock {
    async fn scan(&self, _timeout: Duration) -> Result<Vec<super::Advertisement>, TransportError> {
        Ok(vec![super::Advertisement { lock_id: LOCK_ID, rssi: -50 }])
    }

    async fn connect(&self, lock_id: [u8; 16], timeout: Duration) -> Result<Box<dyn Link>, TransportError> {
        if self.fault == Fault::NeverConnects {
            std::future::pending::<()>().await;
        }
        if lock_id != LOCK_ID {
            tokio::time::sleep(timeout).await;
            return Err(TransportError::NotInRange);
        }
        let mut state = self.state();
        state.connections += 1;
        let seed = state.connections as u8;
        state.session = Some(LockSession::new(
            LOCK_ID,
            state.now,
            TimeStatus::Synced,
            LockRandom { challenge: [seed; 16], ticket_id: [seed ^ 0x5a; 16] },
        ));
        Ok(Box::new(FakeLink {
            state: self.state.clone(),
            responder: self.responder.clone(),
            mtu: self.mtu,
            fault: self.fault,
            outbox: VecDeque::new(),
            fragmenter: Fragmenter::new(self.mtu).expect("mtu"),
            reassembler: Reassembler::new(self.mtu).expect("mtu"),
            stats: LinkStats::default(),
            awaiting_answer: false,
            connected: true,
            closed: false,
        }))
    }
}

struct FakeLink {
    state: Arc<Mutex<LockState>>,
    responder: Arc<Mutex<Option<Responder>>>,
    mtu: u16,
    fault: Fault,
    outbox: VecDeque<Vec<u8>>,
    fragmenter: Fragmenter,
    reassembler: Reassembler,
    stats: LinkStats,
    awaiting_answer: bool,
    connected: bool,
    closed: bool,
}

impl FakeLink {
    fn notify(&mut self, message: &[u8]) {
        if matches!(self.fault, Fault::Silent | Fault::Hangs) {
            return;
        }
        self.outbox.extend(self.fragmenter.fragment(message).expect("fits"));
    }
}

#[async_trait]
impl Link for FakeLink {
    fn mtu(&self) -> u16 {
        self.mtu
    }

    async fn subscribe(&mut self) -> Result<(), TransportError> {
        let hello = {
            let state = self.state.lock().expect("lock state");
            state.session.as_ref().map(|s| s.hello().to_vec())
        };
        if let Some(hello) = hello {
            self.notify(&hello);
        }
        Ok(())
    }

    async fn write(&mut self, packet: &[u8]) -> Result<(), TransportError> {
        if !self.connected {
            return Err(TransportError::ConnectionLost);
        }
        assert!(packet.len() <= usize::from(self.mtu) - 3, "packet larger than the MTU allows");
        self.stats.packets_sent += 1;
        self.stats.bytes_sent += packet.len() as u32;
        self.awaiting_answer = true;
        if let Some(message) = self.reassembler.push(packet).expect("phone frames correctly") {
            let replies = {
                let mut state = self.state.lock().expect("lock state");
                state.received.push(message.clone());
                let mut responder = self.responder.lock().expect("responder");
                match responder.as_mut() {
                    Some(r) => r(&mut state, &message),
                    None => unlock_side(&mut state, &message),
                }
            };
            for reply in replies {
                self.notify(&reply);
            }
        }
        Ok(())
    }

    async fn receive(&mut self, timeout: Duration) -> Result<Vec<u8>, TransportError> {
        if !self.connected {
            return Err(TransportError::ConnectionLost);
        }
        if let Fault::DropAfterPackets(n) = self.fault
            && self.stats.packets_received >= n
        {
            self.connected = false;
            return Err(TransportError::ConnectionLost);
        }
        match self.outbox.pop_front() {
            Some(packet) => {
                self.stats.packets_received += 1;
                self.stats.bytes_received += packet.len() as u32;
                if self.awaiting_answer {
                    self.stats.round_trips += 1;
                    self.awaiting_answer = false;
                }
                Ok(packet)
            }
            None if self.fault == Fault::Hangs => std::future::pending().await,
            None => {
                tokio::time::sleep(timeout).await;
                Err(TransportError::Timeout { what: "notification" })
            }
        }
    }

    fn stats(&self) -> LinkStats {
        self.stats
    }

    async fn disconnect(&mut self) {
        if !self.closed {
            self.closed = true;
            let mut state = self.state.lock().expect("lock state");
            state.disconnects += 1;
            state.last_stats = self.stats;
            state.session = None;
        }
        self.connected = false;
        self.outbox.clear();
    }
}
