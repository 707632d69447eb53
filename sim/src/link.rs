//! The in-memory BLE link: [`MemoryTransport`] implements `latchkey::ble::Transport` over the simulator's
//! [`LockRegistry`], so the phone's flows reach a virtual lock without a radio.
//!
//! It moves packets and nothing else (framing and crypto belong to the protocol and the flows), counts what
//! it moved ([`LinkStats`]), models how long that would take on air ([`LinkModel`]) and injects the faults
//! tests ask for ([`Faults`]): a lock out of range, a disconnect after N packets, dropped notifications.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use latchkey::ble::{Advertisement, Link, LinkStats, Transport, TransportError};
use latchkey_protocol::framing::{MAX_MTU, MIN_MTU};

use crate::locks::{LockConnection, LockRegistry};

/// How the link is modelled on air.
///
/// Model: every packet (one ATT write or one notification, at most `mtu − 3` bytes) costs one BLE
/// connection event, so a link that carried `p` packets took `p × connection_interval_ms`. A phone write
/// followed by the lock's notification is one application round trip ([`LinkStats::round_trips`]);
/// subscribing and the Hello are not counted as one. Radio loss, retransmission and connection setup are
/// not modelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkModel {
    /// The BLE connection interval in milliseconds (7.5 ms to 4 s on real links; phones often use 30).
    pub connection_interval_ms: u32,
    /// The negotiated ATT MTU, 23..=517.
    pub mtu: u16,
}

impl Default for LinkModel {
    fn default() -> Self {
        LinkModel { connection_interval_ms: 30, mtu: 185 }
    }
}

impl LinkModel {
    /// The modelled on-air time of what `stats` counts.
    pub fn modelled_time(&self, stats: &LinkStats) -> Duration {
        let packets = u64::from(stats.packets_sent) + u64::from(stats.packets_received);
        Duration::from_millis(packets * u64::from(self.connection_interval_ms))
    }
}

/// Faults a test injects; they apply to links connected after they are set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Faults {
    /// Drop the link once this many packets (both directions, Hello included) have been carried: the next
    /// packet is lost and every later call fails with `ConnectionLost`.
    pub disconnect_after_packets: Option<u32>,
    /// The lock's notifications never reach the phone (the lock still acts on what it receives).
    pub drop_notifications: bool,
}

#[derive(Debug, Default)]
struct Controls {
    model: LinkModel,
    faults: Faults,
    out_of_range: HashSet<[u8; 16]>,
    rssi: HashMap<[u8; 16], i16>,
    last_stats: LinkStats,
    packet_delay: Duration,
}

/// A `Transport` to the virtual locks of one simulator. Cheap to clone; clones share the test controls.
#[derive(Clone, Debug)]
pub struct MemoryTransport {
    registry: LockRegistry,
    controls: Arc<Mutex<Controls>>,
}

fn guard(controls: &Mutex<Controls>) -> MutexGuard<'_, Controls> {
    controls.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl MemoryTransport {
    /// A transport to the locks of `registry` with the default model (MTU 185, 30 ms).
    pub fn new(registry: LockRegistry) -> MemoryTransport {
        MemoryTransport { registry, controls: Arc::new(Mutex::new(Controls::default())) }
    }

    /// Sets the link model (MTU and connection interval) of later connections.
    pub fn set_model(&self, model: LinkModel) {
        guard(&self.controls).model = model;
    }

    /// The current link model.
    pub fn model(&self) -> LinkModel {
        guard(&self.controls).model
    }

    /// Sets the faults of later connections.
    pub fn set_faults(&self, faults: Faults) {
        guard(&self.controls).faults = faults;
    }

    /// Puts a lock out of range (connects fail with `NotInRange`) or back in range.
    pub fn set_out_of_range(&self, lock_id: [u8; 16], out: bool) {
        let mut controls = guard(&self.controls);
        if out {
            controls.out_of_range.insert(lock_id);
        } else {
            controls.out_of_range.remove(&lock_id);
        }
    }

    /// Sets how loud a lock is heard when scanning (default [`DEFAULT_RSSI`] dBm).
    pub fn set_rssi(&self, lock_id: [u8; 16], rssi: i16) {
        guard(&self.controls).rssi.insert(lock_id, rssi);
    }

    /// Makes later links wait this long in real time for each packet, written or received (zero, the
    /// default, waits not at all). Opt-in, for tests that need a sync to last long enough to be
    /// interrupted from outside (such as killing the process mid-sync); the [`LinkModel`] is unaffected.
    pub fn set_packet_delay(&self, delay: Duration) {
        guard(&self.controls).packet_delay = delay;
    }

    /// The stats of the most recent link, as of its last call (also after it dropped).
    pub fn last_stats(&self) -> LinkStats {
        guard(&self.controls).last_stats
    }
}

/// How loud a lock is heard unless a test says otherwise.
pub const DEFAULT_RSSI: i16 = -60;

#[async_trait]
impl Transport for MemoryTransport {
    async fn scan(&self, _timeout: Duration) -> Result<Vec<Advertisement>, TransportError> {
        let lock_ids = self.registry.lock_ids().map_err(|error| TransportError::Other(error.to_string()))?;
        let controls = guard(&self.controls);
        let mut heard: Vec<Advertisement> = lock_ids
            .into_iter()
            .filter(|lock_id| !controls.out_of_range.contains(lock_id))
            .map(|lock_id| Advertisement {
                lock_id,
                rssi: controls.rssi.get(&lock_id).copied().unwrap_or(DEFAULT_RSSI),
            })
            .collect();
        heard.sort_by_key(|advertisement| std::cmp::Reverse(advertisement.rssi));
        Ok(heard)
    }

    async fn connect(&self, lock_id: [u8; 16], _timeout: Duration) -> Result<Box<dyn Link>, TransportError> {
        let (model, faults, out_of_range, packet_delay) = {
            let mut controls = guard(&self.controls);
            controls.last_stats = LinkStats::default();
            (controls.model, controls.faults, controls.out_of_range.contains(&lock_id), controls.packet_delay)
        };
        if out_of_range {
            return Err(TransportError::NotInRange);
        }
        if !(MIN_MTU..=MAX_MTU).contains(&model.mtu) {
            return Err(TransportError::Other(format!("MTU {} is outside 23..=517", model.mtu)));
        }
        let connection = self
            .registry
            .connect(lock_id, model.mtu)
            .map_err(|error| TransportError::Other(error.to_string()))?
            .ok_or(TransportError::NotInRange)?;
        Ok(Box::new(MemoryLink {
            connection,
            model,
            faults,
            packet_delay,
            controls: self.controls.clone(),
            stats: LinkStats::default(),
            inbox: VecDeque::new(),
            awaiting_answer: false,
            connected: true,
        }))
    }
}

/// One in-memory connection.
#[derive(Debug)]
pub struct MemoryLink {
    connection: LockConnection,
    model: LinkModel,
    faults: Faults,
    packet_delay: Duration,
    controls: Arc<Mutex<Controls>>,
    stats: LinkStats,
    inbox: VecDeque<Vec<u8>>,
    awaiting_answer: bool,
    connected: bool,
}

impl MemoryLink {
    fn carried(&self) -> u32 {
        self.stats.packets_sent + self.stats.packets_received
    }

    /// Counts one more packet; false (and the link drops) if the fault limit is reached.
    fn admit(&mut self) -> bool {
        if let Some(limit) = self.faults.disconnect_after_packets
            && self.carried() >= limit
        {
            self.connected = false;
            return false;
        }
        true
    }

    fn notify(&mut self, packets: Vec<Vec<u8>>) {
        for packet in packets {
            if !self.admit() {
                break;
            }
            self.stats.packets_received += 1;
            self.stats.bytes_received += u32::try_from(packet.len()).unwrap_or(u32::MAX);
            if self.awaiting_answer {
                self.stats.round_trips += 1;
                self.awaiting_answer = false;
            }
            if !self.faults.drop_notifications {
                self.inbox.push_back(packet);
            }
        }
        self.publish();
    }

    fn publish(&self) {
        guard(&self.controls).last_stats = self.stats;
    }

    /// The modelled on-air time of this link so far.
    pub fn modelled_time(&self) -> Duration {
        self.model.modelled_time(&self.stats)
    }
}

#[async_trait]
impl Link for MemoryLink {
    fn mtu(&self) -> u16 {
        self.model.mtu
    }

    async fn subscribe(&mut self) -> Result<(), TransportError> {
        if !self.connected {
            return Err(TransportError::ConnectionLost);
        }
        let hello = self.connection.subscribe().map_err(|error| TransportError::Other(error.to_string()))?;
        self.notify(hello);
        Ok(())
    }

    async fn write(&mut self, packet: &[u8]) -> Result<(), TransportError> {
        if !self.packet_delay.is_zero() {
            tokio::time::sleep(self.packet_delay).await;
        }
        if !self.connected || !self.admit() {
            self.publish();
            return Err(TransportError::ConnectionLost);
        }
        let max = usize::from(self.model.mtu) - 3;
        if packet.len() > max {
            return Err(TransportError::Other(format!(
                "a packet of {} bytes exceeds MTU − 3 = {max}",
                packet.len()
            )));
        }
        self.stats.packets_sent += 1;
        self.stats.bytes_sent += u32::try_from(packet.len()).unwrap_or(u32::MAX);
        self.awaiting_answer = true;
        match self.connection.write(packet) {
            Ok(replies) => {
                self.notify(replies);
                Ok(())
            }
            Err(error) => {
                // The lock closes the connection on a protocol error, as a real one would disconnect.
                tracing::debug!(%error, "virtual lock closed the connection");
                self.connected = false;
                self.publish();
                Err(TransportError::ConnectionLost)
            }
        }
    }

    async fn receive(&mut self, timeout: Duration) -> Result<Vec<u8>, TransportError> {
        match self.inbox.pop_front() {
            Some(packet) => {
                if !self.packet_delay.is_zero() {
                    tokio::time::sleep(self.packet_delay).await;
                }
                Ok(packet)
            }
            None if !self.connected => Err(TransportError::ConnectionLost),
            None => {
                // Nothing will arrive (the lock said all it had to say, or notifications are dropped):
                // like a radio, wait out the timeout before saying so.
                tokio::time::sleep(timeout).await;
                Err(TransportError::Timeout { what: "notification" })
            }
        }
    }

    fn stats(&self) -> LinkStats {
        self.stats
    }

    async fn disconnect(&mut self) {
        self.connected = false;
        self.publish();
    }
}
