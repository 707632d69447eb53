//! Listening to advertisements: start a scan filtered on the Latchkey service, read each device's
//! manufacturer data as a [`LockAdvertisement`], and keep the loudest reading per device.
//!
//! A device counts only if this scan reported a signal strength for it: BlueZ also lists devices it
//! heard earlier (without an RSSI), which may be long gone.

use std::collections::HashMap;
use std::time::Duration;

use ::btleplug::api::{Central, CentralEvent, Peripheral as _, ScanFilter};
use ::btleplug::platform::{Adapter, PeripheralId};
use futures_util::StreamExt;
use latchkey_protocol::gatt::{ACCEPTED_COMPANY_IDS, LockAdvertisement};
use tokio::time::Instant;

use super::errors::{Step, map};
use super::{HeardLock, service_uuid};
use crate::ble::TransportError;

/// One device heard advertising a lock.
#[derive(Clone, Debug)]
pub(crate) struct Found {
    /// The platform's id of the device.
    pub(crate) id: PeripheralId,
    /// What it advertised, and how loud.
    pub(crate) lock: HeardLock,
}

/// Scans until `deadline` (or, with `want`, until `settle` after that lock was first heard) and returns
/// each device heard advertising a Latchkey lock (only `want` if given), loudest reading per device.
pub(crate) async fn listen(
    adapter: &Adapter,
    deadline: Instant,
    want: Option<[u8; 16]>,
    settle: Duration,
) -> Result<Vec<Found>, TransportError> {
    // Subscribe before starting the scan, or the first advertisements are missed.
    let mut events = adapter.events().await.map_err(|error| map(Step::Scan, error))?;
    adapter
        .start_scan(ScanFilter { services: vec![service_uuid()] })
        .await
        .map_err(|error| map(Step::Scan, error))?;
    let mut heard: HashMap<PeripheralId, Found> = HashMap::new();
    let mut stop_at = deadline;
    let outcome = loop {
        let event = match tokio::time::timeout_at(stop_at, events.next()).await {
            Ok(Some(event)) => event,
            Ok(None) | Err(_) => break Ok(()),
        };
        let id = match event {
            CentralEvent::StateUpdate(::btleplug::api::CentralState::PoweredOff) => {
                break Err(TransportError::AdapterOff);
            }
            CentralEvent::DeviceDiscovered(id)
            | CentralEvent::DeviceUpdated(id)
            | CentralEvent::RssiUpdate { id, .. }
            | CentralEvent::ManufacturerDataAdvertisement { id, .. }
            | CentralEvent::ServicesAdvertisement { id, .. } => id,
            _ => continue,
        };
        let Some(found) = read(adapter, &id).await else { continue };
        if want.is_some_and(|lock_id| lock_id != found.lock.lock_id) {
            continue;
        }
        if want.is_some() && heard.is_empty() {
            stop_at = stop_at.min(Instant::now() + settle);
        }
        match heard.get_mut(&id) {
            Some(known) if known.lock.rssi >= found.lock.rssi => {}
            _ => {
                heard.insert(id, found);
            }
        }
    };
    if let Err(error) = adapter.stop_scan().await {
        tracing::debug!(%error, "stopping the scan failed");
    }
    outcome?;
    Ok(heard.into_values().collect())
}

/// Reads a device's advertisement; `None` if it is not a Latchkey lock or was not heard in this scan.
async fn read(adapter: &Adapter, id: &PeripheralId) -> Option<Found> {
    let peripheral = adapter.peripheral(id).await.ok()?;
    let properties = peripheral.properties().await.ok()??;
    let rssi = properties.rssi?;
    let advertisement = ACCEPTED_COMPANY_IDS
        .iter()
        .find_map(|company| properties.manufacturer_data.get(company))
        .and_then(|bytes| LockAdvertisement::decode(bytes).ok())?;
    let name = properties.local_name.or(properties.advertisement_name);
    Some(Found {
        id: id.clone(),
        lock: HeardLock::from_parts(advertisement, rssi, properties.address.to_string(), name),
    })
}
