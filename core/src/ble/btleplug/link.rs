//! [`BtleplugLink`]: one connection to one lock over btleplug.
//!
//! Writes go to the write characteristic as ATT Write Requests (with response): each packet is
//! acknowledged by the lock before the next is sent, which is the flow control a lock with a small
//! receive buffer needs and makes a refused write visible at once. Notifications of the notify
//! characteristic arrive on a stream opened before subscribing, so the lock's Hello (sent as soon as
//! notifications are enabled) is never missed. A disconnect reported by the platform ends a waiting
//! `receive` with [`TransportError::ConnectionLost`] at once, not after its timeout.

use std::pin::Pin;
use std::time::Duration;

use ::btleplug::api::{Central, CentralEvent, Peripheral as _, ValueNotification, WriteType};
use ::btleplug::platform::{Adapter, Peripheral};
use async_trait::async_trait;
use futures_util::{Stream, StreamExt};
use latchkey_protocol::framing::{MAX_MTU, MIN_MTU};

use super::cache::{LockCharacteristics, ServiceCache};
use super::errors::{Step, map};
use crate::ble::{Link, LinkStats, TransportError};

type Notifications = Pin<Box<dyn Stream<Item = ValueNotification> + Send>>;
type Events = Pin<Box<dyn Stream<Item = CentralEvent> + Send>>;

/// One btleplug connection. Dropping it without [`Link::disconnect`] still disconnects (in the background).
pub struct BtleplugLink {
    peripheral: Peripheral,
    characteristics: LockCharacteristics,
    cache: ServiceCache,
    notifications: Notifications,
    events: Events,
    mtu: u16,
    stats: LinkStats,
    awaiting_answer: bool,
    connected: bool,
    disconnect_timeout: Duration,
}

impl std::fmt::Debug for BtleplugLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BtleplugLink")
            .field("device", &self.peripheral.id())
            .field("mtu", &self.mtu)
            .field("connected", &self.connected)
            .finish_non_exhaustive()
    }
}

impl BtleplugLink {
    /// Wraps a connected peripheral whose characteristics are known: opens the notification and
    /// disconnect streams and learns the MTU.
    pub(crate) async fn open(
        adapter: &Adapter,
        peripheral: Peripheral,
        characteristics: LockCharacteristics,
        cache: ServiceCache,
        disconnect_timeout: Duration,
    ) -> Result<BtleplugLink, TransportError> {
        let events = adapter.events().await.map_err(|error| map(Step::Subscribe, error))?;
        let notifications = peripheral.notifications().await.map_err(|error| map(Step::Subscribe, error))?;
        // BlueZ's `MTU` property of the characteristic; btleplug says 23 when the stack does not tell.
        let mtu = peripheral.mtu().clamp(MIN_MTU, MAX_MTU);
        Ok(BtleplugLink {
            peripheral,
            characteristics,
            cache,
            notifications,
            events,
            mtu,
            stats: LinkStats::default(),
            awaiting_answer: false,
            connected: true,
            disconnect_timeout,
        })
    }

    fn lost(&mut self) -> TransportError {
        self.connected = false;
        TransportError::ConnectionLost
    }

    /// Maps a failure of `step`; a link that failed can no longer be used (the framing state is unknown).
    fn failed(&mut self, step: Step, error: ::btleplug::Error) -> TransportError {
        let error = map(step, error);
        if error == TransportError::ConnectionLost || error == TransportError::ServiceMissing {
            // The device's objects may have gone with the connection: discover again next time.
            self.cache.forget(&self.peripheral.id());
        }
        self.connected = false;
        error
    }
}

#[async_trait]
impl Link for BtleplugLink {
    fn mtu(&self) -> u16 {
        self.mtu
    }

    async fn subscribe(&mut self) -> Result<(), TransportError> {
        if !self.connected {
            return Err(TransportError::ConnectionLost);
        }
        let notify = self.characteristics.notify.clone();
        self.peripheral.subscribe(&notify).await.map_err(|error| self.failed(Step::Subscribe, error))
    }

    async fn write(&mut self, packet: &[u8]) -> Result<(), TransportError> {
        if !self.connected {
            return Err(TransportError::ConnectionLost);
        }
        let max = usize::from(self.mtu) - 3;
        if packet.len() > max {
            return Err(TransportError::Other(format!(
                "a packet of {} bytes exceeds MTU − 3 = {max}",
                packet.len()
            )));
        }
        let write = self.characteristics.write.clone();
        self.peripheral
            .write(&write, packet, WriteType::WithResponse)
            .await
            .map_err(|error| self.failed(Step::Write, error))?;
        self.stats.packets_sent += 1;
        self.stats.bytes_sent += u32::try_from(packet.len()).unwrap_or(u32::MAX);
        self.awaiting_answer = true;
        Ok(())
    }

    async fn receive(&mut self, timeout: Duration) -> Result<Vec<u8>, TransportError> {
        if !self.connected {
            return Err(TransportError::ConnectionLost);
        }
        let deadline = tokio::time::Instant::now() + timeout;
        let (device, notify) = (self.peripheral.id(), self.characteristics.notify.uuid);
        loop {
            tokio::select! {
                // Packets that arrived before a disconnect are delivered first.
                biased;
                notification = self.notifications.next() => match notification {
                    Some(notification) if notification.uuid == notify => {
                        self.stats.packets_received += 1;
                        self.stats.bytes_received +=
                            u32::try_from(notification.value.len()).unwrap_or(u32::MAX);
                        if self.awaiting_answer {
                            self.stats.round_trips += 1;
                            self.awaiting_answer = false;
                        }
                        return Ok(notification.value);
                    }
                    Some(_) => continue,
                    None => return Err(self.lost()),
                },
                event = self.events.next() => match event {
                    Some(CentralEvent::DeviceDisconnected(id)) if id == device => return Err(self.lost()),
                    Some(_) => continue,
                    None => return Err(self.lost()),
                },
                () = tokio::time::sleep_until(deadline) => {
                    return Err(TransportError::Timeout { what: "notification" });
                }
            }
        }
    }

    fn stats(&self) -> LinkStats {
        self.stats
    }

    async fn disconnect(&mut self) {
        if !std::mem::replace(&mut self.connected, false) {
            // Already lost: still tell the stack, in case it thinks otherwise (idempotent there).
            let _ = tokio::time::timeout(self.disconnect_timeout, self.peripheral.disconnect()).await;
            return;
        }
        match tokio::time::timeout(self.disconnect_timeout, self.peripheral.disconnect()).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::debug!(%error, "disconnect failed"),
            Err(_) => tracing::warn!("the Bluetooth stack did not confirm the disconnect in time"),
        }
    }
}

impl Drop for BtleplugLink {
    fn drop(&mut self) {
        if !self.connected {
            return;
        }
        // A flow dropped mid-exchange: release the connection so the lock is free for the next phone.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let (peripheral, wait) = (self.peripheral.clone(), self.disconnect_timeout);
            runtime.spawn(async move {
                let _ = tokio::time::timeout(wait, peripheral.disconnect()).await;
            });
        }
    }
}
