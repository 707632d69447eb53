//! The Latchkey GATT service of a lock device, as BlueZ exports a remote GATT database:
//! `…/service0010` (GattService1), `…/char0011` the write characteristic, `…/char0013` the notify
//! characteristic with its CCCD `…/desc0015` (GattDescriptor1). Clients find them by introspecting the
//! device's child nodes (`service*`, `char*`, `desc*`). Notifications are `PropertiesChanged` of `Value`.

use std::collections::HashMap;
use std::sync::Arc;

use latchkey_protocol::gatt::{CCCD_UUID, NOTIFY_CHAR_UUID, SERVICE_UUID, WRITE_CHAR_UUID};
use zbus::interface;
use zbus::zvariant::{OwnedObjectPath, OwnedValue};

use super::error::BluezError;
use super::world::{World, characteristic_path, device_path, service_path};

fn path(text: String) -> OwnedObjectPath {
    OwnedObjectPath::try_from(text).unwrap_or_default()
}

/// Which of the two characteristics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Phone → lock.
    Write,
    /// Lock → phone.
    Notify,
}

/// The Latchkey primary service.
pub struct Service {
    pub(crate) lock_id: [u8; 16],
}

#[interface(name = "org.bluez.GattService1")]
impl Service {
    #[zbus(property, name = "UUID")]
    fn uuid(&self) -> String {
        SERVICE_UUID.into()
    }

    #[zbus(property)]
    fn primary(&self) -> bool {
        true
    }

    #[zbus(property)]
    fn device(&self) -> OwnedObjectPath {
        path(device_path(self.lock_id))
    }

    #[zbus(property)]
    fn includes(&self) -> Vec<OwnedObjectPath> {
        Vec::new()
    }

    #[zbus(property)]
    fn handle(&self) -> u16 {
        0x0010
    }
}

/// One of the two characteristics.
pub struct Characteristic {
    pub(crate) world: Arc<World>,
    pub(crate) lock_id: [u8; 16],
    pub(crate) role: Role,
}

#[interface(name = "org.bluez.GattCharacteristic1")]
impl Characteristic {
    /// The last notified packet (notify characteristic); the write characteristic is not readable.
    async fn read_value(&self, _options: HashMap<String, OwnedValue>) -> Result<Vec<u8>, BluezError> {
        match self.role {
            Role::Notify => Ok(self.world.last_value(self.lock_id)),
            Role::Write => Err(BluezError::NotPermitted("Read not permitted".into())),
        }
    }

    /// One framed packet to the lock (write characteristic only).
    async fn write_value(
        &self,
        value: Vec<u8>,
        _options: HashMap<String, OwnedValue>,
    ) -> Result<(), BluezError> {
        match self.role {
            Role::Write => self.world.write(self.lock_id, &value).await,
            Role::Notify => Err(BluezError::NotPermitted("Write not permitted".into())),
        }
    }

    /// Enables notifications: the lock sends its Hello.
    async fn start_notify(&self) -> Result<(), BluezError> {
        match self.role {
            Role::Notify => self.world.start_notify(self.lock_id).await,
            Role::Write => Err(BluezError::NotSupported("Operation is not supported".into())),
        }
    }

    async fn stop_notify(&self) -> Result<(), BluezError> {
        match self.role {
            Role::Notify => self.world.stop_notify(self.lock_id).await,
            Role::Write => Err(BluezError::NotSupported("Operation is not supported".into())),
        }
    }

    #[zbus(property, name = "UUID")]
    fn uuid(&self) -> String {
        match self.role {
            Role::Write => WRITE_CHAR_UUID.into(),
            Role::Notify => NOTIFY_CHAR_UUID.into(),
        }
    }

    #[zbus(property)]
    fn service(&self) -> OwnedObjectPath {
        path(service_path(self.lock_id))
    }

    #[zbus(property)]
    fn value(&self) -> Vec<u8> {
        match self.role {
            Role::Notify => self.world.last_value(self.lock_id),
            Role::Write => Vec::new(),
        }
    }

    /// Only the notify characteristic has one.
    #[zbus(property)]
    fn notifying(&self) -> zbus::fdo::Result<bool> {
        match self.role {
            Role::Notify => Ok(self.world.notifying(self.lock_id)),
            Role::Write => Err(zbus::fdo::Error::NotSupported("no notifications".into())),
        }
    }

    #[zbus(property)]
    fn flags(&self) -> Vec<String> {
        match self.role {
            Role::Write => vec!["write".into(), "write-without-response".into()],
            Role::Notify => vec!["notify".into()],
        }
    }

    /// The negotiated ATT MTU (BlueZ 5.62+ exposes it; clients learn packet sizes from it).
    #[zbus(property, name = "MTU")]
    fn mtu(&self) -> u16 {
        self.world.mtu
    }

    #[zbus(property)]
    fn handle(&self) -> u16 {
        match self.role {
            Role::Write => 0x0011,
            Role::Notify => 0x0013,
        }
    }
}

/// The CCCD of the notify characteristic. Clients enable notifications with StartNotify, not by
/// writing it (BlueZ refuses that too).
pub struct Descriptor {
    pub(crate) world: Arc<World>,
    pub(crate) lock_id: [u8; 16],
}

#[interface(name = "org.bluez.GattDescriptor1")]
impl Descriptor {
    async fn read_value(&self, _options: HashMap<String, OwnedValue>) -> Result<Vec<u8>, BluezError> {
        Ok(if self.world.notifying(self.lock_id) { vec![0x01, 0x00] } else { vec![0x00, 0x00] })
    }

    async fn write_value(
        &self,
        _value: Vec<u8>,
        _options: HashMap<String, OwnedValue>,
    ) -> Result<(), BluezError> {
        Err(BluezError::NotPermitted("Write not permitted: use StartNotify".into()))
    }

    #[zbus(property, name = "UUID")]
    fn uuid(&self) -> String {
        CCCD_UUID.into()
    }

    #[zbus(property)]
    fn characteristic(&self) -> OwnedObjectPath {
        path(characteristic_path(self.lock_id, Role::Notify))
    }

    #[zbus(property)]
    fn value(&self) -> Vec<u8> {
        if self.world.notifying(self.lock_id) { vec![0x01, 0x00] } else { vec![0x00, 0x00] }
    }

    #[zbus(property)]
    fn flags(&self) -> Vec<String> {
        vec!["read".into()]
    }

    #[zbus(property)]
    fn handle(&self) -> u16 {
        0x0015
    }
}
