//! [`BtleplugTransport`]: the [`Transport`] over the operating system's Bluetooth stack through btleplug
//! (BlueZ over D-Bus on Linux, CoreBluetooth on macOS, WinRT on Windows). For the desktop harness and
//! partner backends' test rigs; phones use their native transports (bindings), which is why this module
//! sits behind the default-on `btleplug` cargo feature.
//!
//! What it does (docs/ble.md is the full text):
//! - scans with a filter on the Latchkey service ([`gatt::SERVICE_UUID`]) and identifies each lock from its
//!   manufacturer data ([`LockAdvertisement`]) without connecting; a device counts as heard only if this
//!   scan reported a signal strength for it (BlueZ keeps forgotten devices without one);
//! - connects to the loudest device advertising the lock id, discovers the GATT services once per
//!   device and keeps them ([`cache`]), learns the ATT MTU from BlueZ's `MTU` property (23 when absent);
//! - bounds every step by the caller's timeout and maps every failure to a [`TransportError`] kind
//!   (`errors`).
//!
//! Files: `errors` (btleplug/BlueZ error → [`TransportError`]), `scan` (listening to advertisements),
//! `link` ([`BtleplugLink`]), `cache` (discovered services per device).

mod cache;
mod errors;
mod link;
mod scan;

use std::sync::Arc;
use std::time::Duration;

use ::btleplug::api::{Central, CentralState, Manager as _, Peripheral as _};
use ::btleplug::platform::{Adapter, Manager};
use async_trait::async_trait;
use latchkey_protocol::gatt::{self, LockAdvertisement};
use tokio::sync::OnceCell;
use tokio::time::Instant;

pub use link::BtleplugLink;

use self::cache::ServiceCache;
use self::errors::{Step, map};
use super::transport::{Advertisement, Link, Transport, TransportError};

/// One lock heard while scanning, with everything its advertisement says (what `latchkey scan` shows).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeardLock {
    /// The lock id (its door uuid's 16 bytes).
    pub lock_id: [u8; 16],
    /// Signal strength in dBm, the loudest heard during the scan.
    pub rssi: i16,
    /// Battery level 0..=100, when the lock advertises it.
    pub battery_percent: Option<u8>,
    /// Advertisement flags ([`gatt::FLAG_LOGS_PENDING`], [`gatt::FLAG_TIME_UNCERTAIN`]).
    pub flags: u8,
    /// The device's Bluetooth address, as the platform reports it.
    pub address: String,
    /// The advertised name, if any.
    pub name: Option<String>,
}

impl HeardLock {
    fn from_parts(
        advertisement: LockAdvertisement,
        rssi: i16,
        address: String,
        name: Option<String>,
    ) -> Self {
        HeardLock {
            lock_id: advertisement.lock_id,
            rssi,
            battery_percent: advertisement.battery_percent,
            flags: advertisement.flags,
            address,
            name,
        }
    }
}

/// Tunables of [`BtleplugTransport`]; the defaults suit phones' and desktops' radios.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BtleplugSettings {
    /// After the wanted lock is first heard, how long `connect` keeps listening for a louder device
    /// advertising the same lock id. Default 200 ms.
    pub settle: Duration,
    /// How long `disconnect` waits for BlueZ to confirm. Default 2 s.
    pub disconnect_timeout: Duration,
}

impl Default for BtleplugSettings {
    fn default() -> Self {
        BtleplugSettings { settle: Duration::from_millis(200), disconnect_timeout: Duration::from_secs(2) }
    }
}

/// A [`Transport`] over btleplug. Cheap to clone (clones share the adapter and the service cache).
///
/// The adapter is opened on first use, not in [`BtleplugTransport::new`], so a transport can be built
/// before Bluetooth is available. On Linux the D-Bus system bus is the one `DBUS_SYSTEM_BUS_ADDRESS`
/// names at that moment (tests point it at a private bus with the simulator's fake BlueZ).
#[derive(Clone, Debug)]
pub struct BtleplugTransport {
    adapter: Arc<OnceCell<Adapter>>,
    cache: ServiceCache,
    settings: BtleplugSettings,
}

impl Default for BtleplugTransport {
    fn default() -> Self {
        BtleplugTransport::new()
    }
}

impl BtleplugTransport {
    /// A transport on the first Bluetooth adapter, with the default settings.
    pub fn new() -> BtleplugTransport {
        BtleplugTransport::with_settings(BtleplugSettings::default())
    }

    /// A transport with these settings.
    pub fn with_settings(settings: BtleplugSettings) -> BtleplugTransport {
        BtleplugTransport { adapter: Arc::new(OnceCell::new()), cache: ServiceCache::default(), settings }
    }

    /// The adapter, opened on first use; fails with [`TransportError::AdapterOff`] when it is powered off.
    async fn adapter(&self) -> Result<Adapter, TransportError> {
        let adapter = self
            .adapter
            .get_or_try_init(|| async {
                let manager = Manager::new().await.map_err(|error| map(Step::Adapter, error))?;
                let adapters = manager.adapters().await.map_err(|error| map(Step::Adapter, error))?;
                adapters.into_iter().next().ok_or_else(errors::no_adapter)
            })
            .await?
            .clone();
        match adapter.adapter_state().await.map_err(|error| map(Step::Adapter, error))? {
            CentralState::PoweredOff => Err(TransportError::AdapterOff),
            _ => Ok(adapter),
        }
    }

    /// Scans for `timeout` and returns every Latchkey lock heard, loudest first, with what each advertises.
    pub async fn scan_locks(&self, timeout: Duration) -> Result<Vec<HeardLock>, TransportError> {
        let adapter = self.adapter().await?;
        let heard = scan::listen(&adapter, Instant::now() + timeout, None, self.settings.settle).await?;
        let mut locks: Vec<HeardLock> = heard.into_iter().map(|found| found.lock).collect();
        locks.sort_by_key(|lock| std::cmp::Reverse(lock.rssi));
        Ok(locks)
    }
}

#[async_trait]
impl Transport for BtleplugTransport {
    async fn scan(&self, timeout: Duration) -> Result<Vec<Advertisement>, TransportError> {
        Ok(self
            .scan_locks(timeout)
            .await?
            .into_iter()
            .map(|lock| Advertisement { lock_id: lock.lock_id, rssi: lock.rssi })
            .collect())
    }

    async fn connect(&self, lock_id: [u8; 16], timeout: Duration) -> Result<Box<dyn Link>, TransportError> {
        // End a little before the caller's own limit, so the caller sees which step was slow.
        let deadline = Instant::now() + timeout.saturating_sub(timeout / 20);
        let adapter = self.adapter().await?;
        let heard = scan::listen(&adapter, deadline, Some(lock_id), self.settings.settle).await?;
        let Some(best) = heard.into_iter().max_by_key(|found| found.lock.rssi) else {
            return Err(TransportError::NotInRange);
        };
        let peripheral =
            self.cache.peripheral(&adapter, &best.id).await.map_err(|e| map(Step::Connect, e))?;
        let step = |what: Step| TransportError::Timeout { what: what.name() };
        let mut send_races = 0;
        loop {
            match tokio::time::timeout_at(deadline, peripheral.connect()).await {
                Ok(Ok(())) => break,
                // The D-Bus client refused to hand the call over (`errors::is_send_race`), though it still
                // goes out: wait for it to connect, and only then ask again.
                Ok(Err(error)) if errors::is_send_race(&error) && send_races < SEND_RACE_RETRIES => {
                    send_races += 1;
                    tracing::debug!(send_races, "D-Bus send race on connect; waiting for the queued call");
                    let until = deadline.min(Instant::now() + SEND_RACE_WAIT);
                    while Instant::now() < until {
                        if peripheral.is_connected().await.unwrap_or(false) {
                            break;
                        }
                        tokio::time::sleep(SEND_RACE_POLL).await;
                    }
                    if peripheral.is_connected().await.unwrap_or(false) {
                        break;
                    }
                }
                Ok(Err(error)) => {
                    let _ = peripheral.disconnect().await;
                    return Err(map(Step::Connect, error));
                }
                Err(_) => {
                    // btleplug's connect also waits for the services: tell which part was slow.
                    let connected = peripheral.is_connected().await.unwrap_or(false);
                    let _ =
                        tokio::time::timeout(self.settings.disconnect_timeout, peripheral.disconnect()).await;
                    return Err(step(if connected { Step::Discover } else { Step::Connect }));
                }
            }
        }
        let opened = async {
            let characteristics =
                match tokio::time::timeout_at(deadline, self.cache.characteristics(&peripheral)).await {
                    Ok(result) => result?,
                    Err(_) => return Err(step(Step::Discover)),
                };
            BtleplugLink::open(
                &adapter,
                peripheral.clone(),
                characteristics,
                self.cache.clone(),
                self.settings.disconnect_timeout,
            )
            .await
        }
        .await;
        match opened {
            Ok(link) => Ok(Box::new(link)),
            Err(error) => {
                let _ = tokio::time::timeout(self.settings.disconnect_timeout, peripheral.disconnect()).await;
                Err(error)
            }
        }
    }
}

/// How many times a connect refused by the D-Bus client's send race is tried again; how long the queued
/// call is given to connect first, and how often that is checked.
const SEND_RACE_RETRIES: u32 = 2;
const SEND_RACE_WAIT: Duration = Duration::from_secs(1);
const SEND_RACE_POLL: Duration = Duration::from_millis(20);

/// The Latchkey service UUID, parsed.
pub(crate) fn service_uuid() -> uuid::Uuid {
    parse(gatt::SERVICE_UUID)
}

/// Parses one of the protocol's UUID constants (checked by the tests below).
pub(crate) fn parse(text: &str) -> uuid::Uuid {
    uuid::Uuid::try_parse(text).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_protocol_uuids_parse() {
        for text in [gatt::SERVICE_UUID, gatt::WRITE_CHAR_UUID, gatt::NOTIFY_CHAR_UUID, gatt::CCCD_UUID] {
            assert_eq!(parse(text).to_string(), text);
        }
    }
}
