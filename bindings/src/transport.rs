//! The BLE transport apps implement natively ([`BleTransport`], [`BleLink`]: Android `BluetoothGatt`, iOS
//! Core Bluetooth, or the simulator's HTTP radio in tests) and the adapters that let the core's unlock and
//! sync flows use them as a `latchkey::ble::Transport`.
//!
//! A transport only moves bytes: it scans for the Latchkey service, connects to the lock advertising a
//! lock id, negotiates the MTU, subscribes to notifications, writes packets and hands notified packets
//! back. Framing, crypto and the protocol stay in Rust. Times cross the FFI as milliseconds.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use latchkey::ble::{Advertisement, Link, LinkStats, Transport, TransportError};

use crate::error::LatchkeyError;

/// One lock heard while scanning.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct LockAdvertisement {
    /// The 16-byte lock id the lock advertises (the door uuid's bytes).
    pub lock_id: Vec<u8>,
    /// Received signal strength in dBm (closer is higher: -45 near, -90 far).
    pub rssi: i16,
}

/// Finds and connects to Latchkey locks. Implemented by the app's platform layer (the SDK ships
/// `BluetoothGattTransport` on Android and `CoreBluetoothTransport` on iOS).
///
/// Methods are called from SDK background threads, never the main thread; an implementation that must
/// touch main-thread-only APIs posts to the main thread itself. Failures are thrown as
/// `LatchkeyError.Bluetooth` with the kind that matches (`NotInRange`, `AdapterOff`, `PermissionDenied`…).
#[uniffi::export(rust, foreign)]
#[async_trait]
pub trait BleTransport: Send + Sync {
    /// Scans for Latchkey locks for up to `timeout_ms`; returns each lock heard once, loudest first.
    async fn scan(&self, timeout_ms: u64) -> Result<Vec<LockAdvertisement>, LatchkeyError>;

    /// Scans for the lock advertising `lock_id` (16 bytes), connects to it, discovers its services and
    /// negotiates the MTU, all within `timeout_ms`.
    async fn connect(&self, lock_id: Vec<u8>, timeout_ms: u64) -> Result<Arc<BleConnection>, LatchkeyError>;
}

/// What [`BleTransport::connect`] returns: the app's [`BleLink`], wrapped (`BleConnection(link)`).
///
/// The wrapper exists because UniFFI 0.32 cannot return a foreign trait object from an async foreign
/// method (`Arc<dyn BleLink>` fails its lifetime bound); a concrete object can be returned.
#[derive(uniffi::Object)]
pub struct BleConnection(Arc<dyn BleLink>);

#[uniffi::export]
impl BleConnection {
    /// Wraps the app's link to one lock.
    #[uniffi::constructor]
    pub fn new(link: Arc<dyn BleLink>) -> Arc<BleConnection> {
        Arc::new(BleConnection(link))
    }
}

/// One connection to one lock: the lock's GATT service with one characteristic written by the phone and
/// notified by the lock.
#[uniffi::export(rust, foreign)]
#[async_trait]
pub trait BleLink: Send + Sync {
    /// The negotiated ATT MTU (23..=517); a packet carries at most `mtu - 3` bytes.
    fn mtu(&self) -> u16;

    /// Subscribes to the lock's notifications (the lock speaks first after this, with its Hello).
    async fn subscribe(&self) -> Result<(), LatchkeyError>;

    /// Writes one packet of at most `mtu - 3` bytes (a write with response).
    async fn write(&self, packet: Vec<u8>) -> Result<(), LatchkeyError>;

    /// The next notified packet, in order, waiting at most `timeout_ms` (then throw `Bluetooth` with kind
    /// `Timeout`). Notifications that arrive before this call must be queued, not dropped.
    async fn receive(&self, timeout_ms: u64) -> Result<Vec<u8>, LatchkeyError>;

    /// Disconnects. Idempotent; never throws.
    async fn disconnect(&self);
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// A [`BleTransport`] serving the core's flows.
pub(crate) struct ForeignTransport(pub(crate) Arc<dyn BleTransport>);

#[async_trait]
impl Transport for ForeignTransport {
    async fn scan(&self, timeout: Duration) -> Result<Vec<Advertisement>, TransportError> {
        let heard = self.0.scan(millis(timeout)).await.map_err(LatchkeyError::into_transport)?;
        heard
            .into_iter()
            .map(|advertisement| {
                let lock_id = <[u8; 16]>::try_from(advertisement.lock_id.as_slice()).map_err(|_| {
                    TransportError::Other(format!(
                        "the transport reported a lock id of {} bytes; lock ids are 16 bytes",
                        advertisement.lock_id.len()
                    ))
                })?;
                Ok(Advertisement { lock_id, rssi: advertisement.rssi })
            })
            .collect()
    }

    async fn connect(&self, lock_id: [u8; 16], timeout: Duration) -> Result<Box<dyn Link>, TransportError> {
        let connection =
            self.0.connect(lock_id.to_vec(), millis(timeout)).await.map_err(LatchkeyError::into_transport)?;
        let link = connection.0.clone();
        let mtu = link.mtu();
        if !(23..=517).contains(&mtu) {
            link.disconnect().await;
            return Err(TransportError::Other(format!(
                "the transport reported MTU {mtu}; it must be 23..=517"
            )));
        }
        Ok(Box::new(ForeignLink { link, mtu, stats: LinkStats::default(), awaiting_answer: false }))
    }
}

/// A [`BleLink`] serving the core's flows, counting what it carries.
struct ForeignLink {
    link: Arc<dyn BleLink>,
    mtu: u16,
    stats: LinkStats,
    awaiting_answer: bool,
}

fn len32(bytes: &[u8]) -> u32 {
    u32::try_from(bytes.len()).unwrap_or(u32::MAX)
}

#[async_trait]
impl Link for ForeignLink {
    fn mtu(&self) -> u16 {
        self.mtu
    }

    async fn subscribe(&mut self) -> Result<(), TransportError> {
        self.link.subscribe().await.map_err(LatchkeyError::into_transport)
    }

    async fn write(&mut self, packet: &[u8]) -> Result<(), TransportError> {
        self.link.write(packet.to_vec()).await.map_err(LatchkeyError::into_transport)?;
        self.stats.packets_sent += 1;
        self.stats.bytes_sent += len32(packet);
        self.awaiting_answer = true;
        Ok(())
    }

    async fn receive(&mut self, timeout: Duration) -> Result<Vec<u8>, TransportError> {
        let packet = self.link.receive(millis(timeout)).await.map_err(LatchkeyError::into_transport)?;
        self.stats.packets_received += 1;
        self.stats.bytes_received += len32(&packet);
        if self.awaiting_answer {
            self.stats.round_trips += 1;
            self.awaiting_answer = false;
        }
        Ok(packet)
    }

    fn stats(&self) -> LinkStats {
        self.stats
    }

    async fn disconnect(&mut self) {
        self.link.disconnect().await;
    }
}
