//! `org.bluez.Device1`, one per virtual lock heard: the properties btleplug requires (Address,
//! AddressType, Paired, Connected, ServicesResolved, Trusted, Blocked, LegacyPairing), the advertisement
//! (Name, UUIDs with the Latchkey service, ManufacturerData with the lock id and battery, RSSI while
//! heard), and Connect/Disconnect.

use std::collections::HashMap;
use std::sync::Arc;

use latchkey_protocol::gatt::{COMPANY_ID, SERVICE_UUID};
use zbus::interface;
use zbus::zvariant::{OwnedObjectPath, OwnedValue, Value};

use super::error::BluezError;
use super::world::{ADAPTER_PATH, World, address};

/// One lock as a device.
pub struct Device {
    pub(crate) world: Arc<World>,
    pub(crate) lock_id: [u8; 16],
}

#[interface(name = "org.bluez.Device1")]
impl Device {
    /// Connects; answers once the link is up (`ServicesResolved` follows, after the configured delay).
    async fn connect(&self) -> Result<(), BluezError> {
        self.world.connect(self.lock_id).await
    }

    /// Disconnects (idempotent).
    async fn disconnect(&self) -> Result<(), BluezError> {
        self.world.disconnect(self.lock_id).await;
        Ok(())
    }

    /// Latchkey locks need no pairing: the protocol authenticates both ends itself.
    async fn pair(&self) -> Result<(), BluezError> {
        Err(BluezError::NotSupported("Latchkey locks do not pair".into()))
    }

    async fn cancel_pairing(&self) -> Result<(), BluezError> {
        Ok(())
    }

    #[zbus(property)]
    fn address(&self) -> String {
        address(self.lock_id)
    }

    #[zbus(property)]
    fn address_type(&self) -> String {
        "random".into()
    }

    #[zbus(property)]
    fn name(&self) -> String {
        World::name(self.lock_id)
    }

    #[zbus(property)]
    fn alias(&self) -> String {
        World::name(self.lock_id)
    }

    #[zbus(property)]
    fn adapter(&self) -> OwnedObjectPath {
        OwnedObjectPath::try_from(ADAPTER_PATH).unwrap_or_default()
    }

    #[zbus(property)]
    fn paired(&self) -> bool {
        false
    }

    #[zbus(property)]
    fn bonded(&self) -> bool {
        false
    }

    #[zbus(property)]
    fn trusted(&self) -> bool {
        false
    }

    #[zbus(property)]
    fn blocked(&self) -> bool {
        false
    }

    #[zbus(property)]
    fn legacy_pairing(&self) -> bool {
        false
    }

    #[zbus(property)]
    fn connected(&self) -> bool {
        self.world.connected(self.lock_id)
    }

    #[zbus(property)]
    fn services_resolved(&self) -> bool {
        self.world.services_resolved(self.lock_id)
    }

    /// Only while the lock is heard (during discovery), as BlueZ does.
    #[zbus(property, name = "RSSI")]
    fn rssi(&self) -> zbus::fdo::Result<i16> {
        self.world
            .heard_rssi(self.lock_id)
            .ok_or_else(|| zbus::fdo::Error::Failed("No RSSI: the device is not being heard".into()))
    }

    #[zbus(property, name = "UUIDs")]
    fn uuids(&self) -> Vec<String> {
        vec![SERVICE_UUID.to_owned()]
    }

    #[zbus(property)]
    fn manufacturer_data(&self) -> HashMap<u16, OwnedValue> {
        let value = OwnedValue::try_from(Value::from(self.world.advertisement(self.lock_id)));
        value.map(|value| HashMap::from([(COMPANY_ID, value)])).unwrap_or_default()
    }
}
