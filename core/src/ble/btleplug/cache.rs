//! Discovered GATT services, per device, for the transport's lifetime: the first connection to a lock
//! discovers its services, later ones reuse them (btleplug keeps them on its `Peripheral` object, so the
//! object itself is kept). A link that finds them stale (the device's objects went away) forgets them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use ::btleplug::api::{Central, Characteristic, Peripheral as _};
use ::btleplug::platform::{Adapter, Peripheral, PeripheralId};
use latchkey_protocol::gatt;

use super::errors::{Step, map};
use super::{parse, service_uuid};
use crate::ble::TransportError;

/// The two characteristics of the Latchkey service.
#[derive(Clone, Debug)]
pub(crate) struct LockCharacteristics {
    /// Phone → lock writes.
    pub(crate) write: Characteristic,
    /// Lock → phone notifications.
    pub(crate) notify: Characteristic,
}

#[derive(Debug)]
struct Entry {
    peripheral: Peripheral,
    characteristics: Option<LockCharacteristics>,
}

/// The cache. Cheap to clone; clones share it.
#[derive(Clone, Debug, Default)]
pub(crate) struct ServiceCache {
    entries: Arc<Mutex<HashMap<PeripheralId, Entry>>>,
}

impl ServiceCache {
    fn entries(&self) -> MutexGuard<'_, HashMap<PeripheralId, Entry>> {
        self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The device's `Peripheral` (the cached one, which holds its discovered services).
    pub(crate) async fn peripheral(
        &self,
        adapter: &Adapter,
        id: &PeripheralId,
    ) -> Result<Peripheral, ::btleplug::Error> {
        if let Some(entry) = self.entries().get(id) {
            return Ok(entry.peripheral.clone());
        }
        let peripheral = adapter.peripheral(id).await?;
        self.entries()
            .entry(id.clone())
            .or_insert(Entry { peripheral: peripheral.clone(), characteristics: None });
        Ok(peripheral)
    }

    /// The Latchkey characteristics of a connected device: discovered on the first call, then cached.
    pub(crate) async fn characteristics(
        &self,
        peripheral: &Peripheral,
    ) -> Result<LockCharacteristics, TransportError> {
        let id = peripheral.id();
        if let Some(found) = self.entries().get(&id).and_then(|entry| entry.characteristics.clone()) {
            return Ok(found);
        }
        peripheral.discover_services().await.map_err(|error| map(Step::Discover, error))?;
        let service = service_uuid();
        let (write_uuid, notify_uuid) = (parse(gatt::WRITE_CHAR_UUID), parse(gatt::NOTIFY_CHAR_UUID));
        let characteristics = peripheral.characteristics();
        let find =
            |uuid| characteristics.iter().find(|c| c.service_uuid == service && c.uuid == uuid).cloned();
        let (Some(write), Some(notify)) = (find(write_uuid), find(notify_uuid)) else {
            return Err(TransportError::ServiceMissing);
        };
        let found = LockCharacteristics { write, notify };
        if let Some(entry) = self.entries().get_mut(&id) {
            entry.characteristics = Some(found.clone());
        }
        Ok(found)
    }

    /// Forgets a device (its objects went away, or its services changed).
    pub(crate) fn forget(&self, id: &PeripheralId) {
        self.entries().remove(id);
    }
}
