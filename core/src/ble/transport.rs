//! The [`Transport`] and [`Link`] traits: how the flows reach a lock, nothing more.
//!
//! A transport finds a lock by its id (the door uuid bytes it advertises) and connects; the link then
//! carries raw packets of at most `mtu() - 3` bytes each way (one ATT write or notification). Framing,
//! crypto and the protocol's state machines stay in `latchkey_protocol` and in the flows: a transport
//! moves bytes. Both traits are object safe (`Box<dyn Transport>`), so btleplug, the simulator's link and
//! the platform transports of the bindings swap at run time.

use std::time::Duration;

use async_trait::async_trait;

/// Why a transport step failed. Each says what happened in words a user could act on.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// Bluetooth is switched off.
    #[error("Bluetooth is off: switch it on and try again")]
    AdapterOff,
    /// The app may not use Bluetooth.
    #[error("the app has no permission to use Bluetooth: grant it in the system settings")]
    PermissionDenied,
    /// The lock was not found while scanning.
    #[error("the lock is not in range: move closer (about 3 m) and try again")]
    NotInRange,
    /// The link dropped.
    #[error("the connection to the lock was lost: try again")]
    ConnectionLost,
    /// The lock does not offer the Latchkey service.
    #[error("the device does not offer the Latchkey service: is it a Latchkey lock?")]
    ServiceMissing,
    /// A step did not finish in time.
    #[error("the lock did not answer in time ({what})")]
    Timeout {
        /// The step that timed out.
        what: &'static str,
    },
    /// Anything else the platform reported.
    #[error("Bluetooth failed: {0}")]
    Other(String),
}

/// What one link carried: the figures `cargo xtask bench` and the tests read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkStats {
    /// Packets written by the phone.
    pub packets_sent: u32,
    /// Packets notified by the lock.
    pub packets_received: u32,
    /// Bytes written by the phone (ATT payloads).
    pub bytes_sent: u32,
    /// Bytes notified by the lock (ATT payloads).
    pub bytes_received: u32,
    /// Application round trips: a phone write followed by a lock notification counts one.
    pub round_trips: u32,
}

/// One lock heard while scanning: which lock, and how loud.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Advertisement {
    /// The lock's id (its door uuid bytes), from the advertisement.
    pub lock_id: [u8; 16],
    /// Received signal strength in dBm (closer is higher, such as -45 near, -90 far).
    pub rssi: i16,
}

/// Finds and connects to locks.
#[async_trait]
pub trait Transport: Send + Sync {
    /// Scans for Latchkey locks for up to `timeout`; returns each lock heard once, loudest first.
    async fn scan(&self, timeout: Duration) -> Result<Vec<Advertisement>, TransportError>;

    /// Scans for the lock advertising `lock_id` and connects to it (services discovered).
    async fn connect(&self, lock_id: [u8; 16], timeout: Duration) -> Result<Box<dyn Link>, TransportError>;
}

/// One connection to one lock.
#[async_trait]
pub trait Link: Send {
    /// The negotiated ATT MTU (23..=517); a packet carries at most `mtu() - 3` bytes.
    fn mtu(&self) -> u16;

    /// Subscribes to the lock's notifications. The lock speaks first after this (its `Hello`).
    async fn subscribe(&mut self) -> Result<(), TransportError>;

    /// Writes one packet of at most `mtu() - 3` bytes.
    async fn write(&mut self, packet: &[u8]) -> Result<(), TransportError>;

    /// Waits for the next notified packet.
    async fn receive(&mut self, timeout: Duration) -> Result<Vec<u8>, TransportError>;

    /// What this link carried so far.
    fn stats(&self) -> LinkStats;

    /// Disconnects. Idempotent.
    async fn disconnect(&mut self);
}
