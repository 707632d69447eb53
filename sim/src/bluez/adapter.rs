//! `org.bluez.Adapter1` at `/org/bluez/hci0`: the properties btleplug and bleak require (an adapter
//! missing one is silently ignored by btleplug), discovery, and a writable `Powered`.

use std::collections::HashMap;
use std::sync::Arc;

use zbus::interface;
use zbus::zvariant::{ObjectPath, OwnedValue};

use super::error::BluezError;
use super::world::World;

/// The adapter.
pub struct Adapter {
    pub(crate) world: Arc<World>,
}

#[interface(name = "org.bluez.Adapter1")]
impl Adapter {
    /// Starts discovery: every advertising lock is heard (exported, or its RSSI announced).
    async fn start_discovery(&self) -> Result<(), BluezError> {
        self.world.start_discovery().await
    }

    /// Stops this client's discovery session.
    async fn stop_discovery(&self) -> Result<(), BluezError> {
        self.world.stop_discovery().await
    }

    /// Accepted and ignored: every lock advertises the Latchkey service, which is what clients filter on.
    async fn set_discovery_filter(&self, _filter: HashMap<String, OwnedValue>) -> Result<(), BluezError> {
        Ok(())
    }

    /// The filters `SetDiscoveryFilter` knows.
    fn get_discovery_filters(&self) -> Vec<String> {
        ["UUIDs", "RSSI", "Pathloss", "Transport", "DuplicateData", "Discoverable", "Pattern"]
            .map(str::to_owned)
            .to_vec()
    }

    /// Forgetting devices is not modelled.
    async fn remove_device(&self, _device: ObjectPath<'_>) -> Result<(), BluezError> {
        Err(BluezError::NotSupported("RemoveDevice is not modelled by the simulator".into()))
    }

    #[zbus(property)]
    fn address(&self) -> String {
        "0A:4C:4B:00:00:01".into()
    }

    #[zbus(property)]
    fn address_type(&self) -> String {
        "public".into()
    }

    #[zbus(property)]
    fn name(&self) -> String {
        "latchkey-sim".into()
    }

    #[zbus(property)]
    fn alias(&self) -> String {
        "latchkey-sim".into()
    }

    #[zbus(property)]
    fn class(&self) -> u32 {
        0
    }

    /// A Linux Foundation USB id, as BlueZ shows for a virtual controller.
    #[zbus(property)]
    fn modalias(&self) -> String {
        "usb:v1D6Bp0246d0540".into()
    }

    #[zbus(property)]
    fn powered(&self) -> bool {
        self.world.powered()
    }

    #[zbus(property)]
    async fn set_powered(&self, powered: bool) {
        self.world.set_powered(powered).await;
    }

    #[zbus(property)]
    fn power_state(&self) -> String {
        if self.world.powered() { "on" } else { "off" }.into()
    }

    #[zbus(property)]
    fn discoverable(&self) -> bool {
        false
    }

    #[zbus(property)]
    fn discoverable_timeout(&self) -> u32 {
        180
    }

    #[zbus(property)]
    fn pairable(&self) -> bool {
        false
    }

    #[zbus(property)]
    fn pairable_timeout(&self) -> u32 {
        0
    }

    #[zbus(property)]
    fn discovering(&self) -> bool {
        self.world.discovering()
    }

    #[zbus(property, name = "UUIDs")]
    fn uuids(&self) -> Vec<String> {
        Vec::new()
    }

    #[zbus(property)]
    fn roles(&self) -> Vec<String> {
        vec!["central".into()]
    }
}
