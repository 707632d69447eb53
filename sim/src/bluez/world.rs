//! The fake BlueZ's state and what happens on air: which locks are exported as devices, which are
//! connected (each with its virtual lock's [`LockConnection`]), discovery, and the injected [`Faults`].
//! The D-Bus interfaces (`adapter`, `device`, `gatt`) are thin: they call in here, and everything they
//! announce goes out through [`World::emit`] as `PropertiesChanged`, as BlueZ does.
//!
//! Locking: one std mutex over [`State`], never held across an `.await` (signals are sent after it is
//! released).

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use latchkey_protocol::gatt::{FLAG_LOGS_PENDING, FLAG_TIME_UNCERTAIN, LockAdvertisement};
use zbus::Connection;
use zbus::names::InterfaceName;
use zbus::object_server::SignalEmitter;
use zbus::zvariant::Value;

use super::adapter::Adapter;
use super::device::Device;
use super::error::BluezError;
use super::gatt::{Characteristic, Descriptor, Role, Service};
use crate::locks::{LockConnection, LockRegistry, lock_guard};

/// The adapter's object path.
pub const ADAPTER_PATH: &str = "/org/bluez/hci0";
pub(crate) const ADAPTER1: &str = "org.bluez.Adapter1";
pub(crate) const DEVICE1: &str = "org.bluez.Device1";
pub(crate) const CHARACTERISTIC1: &str = "org.bluez.GattCharacteristic1";

/// Faults the fake BlueZ injects; tests (and `latchkey sim locks --bluez` flags) set them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Faults {
    /// How long `ServicesResolved` takes to become true after a connection (zero: at once).
    pub service_resolution_delay: Duration,
    /// The next this-many `Connect` calls fail with `org.bluez.Error.Failed`.
    pub fail_connects: u32,
    /// The next this-many characteristic writes fail with `org.bluez.Error.Failed` (nothing reaches the
    /// lock).
    pub fail_writes: u32,
    /// Each new connection drops once it carried this many packets (writes and notifications, the Hello
    /// included): the next packet is lost, the device reports `Connected = false`.
    pub disconnect_after_packets: Option<u32>,
}

/// What the fake BlueZ did, for tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BluezStats {
    /// Successful `Connect` calls.
    pub connects: u32,
    /// `Connect` calls refused (faults, adapter off).
    pub failed_connects: u32,
    /// Packets written by clients and handed to a lock.
    pub writes: u32,
    /// Packets notified by locks.
    pub notifications: u32,
    /// Links dropped by the fake (the disconnect fault, or a lock closing on a protocol error).
    pub dropped_links: u32,
    /// `StartDiscovery` calls.
    pub discoveries: u32,
}

/// One lock exported as a Device1.
#[derive(Debug)]
struct DeviceState {
    /// Signal strength heard in the current discovery; `None` outside discovery (BlueZ drops it).
    heard_rssi: Option<i16>,
    connected: bool,
    services_resolved: bool,
    gatt_exported: bool,
    notifying: bool,
    /// The lock side of the current connection.
    connection: Option<LockConnection>,
    /// Packets carried on the current connection.
    packets: u32,
    /// The fault limit of the current connection.
    packet_limit: Option<u32>,
    /// Bumped on each connection, so a slow resolution of an old one does nothing.
    generation: u64,
    /// The last value notified (ReadValue of the notify characteristic).
    last_value: Vec<u8>,
}

#[derive(Debug)]
struct State {
    powered: bool,
    discovery_sessions: u32,
    devices: HashMap<[u8; 16], DeviceState>,
    rssi: HashMap<[u8; 16], i16>,
    silent: HashSet<[u8; 16]>,
    faults: Faults,
    stats: BluezStats,
}

/// How loud a lock is heard unless told otherwise.
pub const DEFAULT_RSSI: i16 = -60;

/// The shared state of one fake BlueZ.
pub struct World {
    pub(crate) conn: Connection,
    pub(crate) registry: LockRegistry,
    pub(crate) mtu: u16,
    state: Mutex<State>,
}

impl std::fmt::Debug for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("World").field("mtu", &self.mtu).finish_non_exhaustive()
    }
}

/// The device object path of a lock: `/org/bluez/hci0/dev_XX_XX_XX_XX_XX_XX`.
pub fn device_path(lock_id: [u8; 16]) -> String {
    format!("{ADAPTER_PATH}/dev_{}", address(lock_id).replace(':', "_"))
}

/// A lock's Bluetooth address: a random static address (top two bits set) from its id's first bytes.
pub fn address(lock_id: [u8; 16]) -> String {
    let mut bytes = [0u8; 6];
    bytes.copy_from_slice(&lock_id[..6]);
    bytes[0] |= 0xC0;
    bytes.iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":")
}

pub(crate) fn service_path(lock_id: [u8; 16]) -> String {
    format!("{}/service0010", device_path(lock_id))
}

pub(crate) fn characteristic_path(lock_id: [u8; 16], role: Role) -> String {
    match role {
        Role::Write => format!("{}/char0011", service_path(lock_id)),
        Role::Notify => format!("{}/char0013", service_path(lock_id)),
    }
}

pub(crate) fn descriptor_path(lock_id: [u8; 16]) -> String {
    format!("{}/desc0015", characteristic_path(lock_id, Role::Notify))
}

fn failed(message: &str) -> BluezError {
    BluezError::Failed(message.to_owned())
}

impl World {
    pub(crate) fn new(conn: Connection, registry: LockRegistry, mtu: u16) -> World {
        World {
            conn,
            registry,
            mtu,
            state: Mutex::new(State {
                powered: true,
                discovery_sessions: 0,
                devices: HashMap::new(),
                rssi: HashMap::new(),
                silent: HashSet::new(),
                faults: Faults::default(),
                stats: BluezStats::default(),
            }),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Sends `PropertiesChanged` for `iface` at `path`.
    pub(crate) async fn emit(
        &self,
        path: &str,
        iface: &'static str,
        changed: Vec<(&str, Value<'_>)>,
        invalidated: &[&str],
    ) {
        let Ok(emitter) = SignalEmitter::new(&self.conn, path) else { return };
        let changed: HashMap<&str, Value<'_>> = changed.into_iter().collect();
        let result = zbus::fdo::Properties::properties_changed(
            &emitter,
            InterfaceName::from_static_str_unchecked(iface),
            changed,
            Cow::Borrowed(invalidated),
        )
        .await;
        if let Err(error) = result {
            tracing::debug!(%error, path, "could not send PropertiesChanged");
        }
    }

    // ---- reads for the interfaces ----

    pub(crate) fn powered(&self) -> bool {
        self.state().powered
    }

    pub(crate) fn discovering(&self) -> bool {
        self.state().discovery_sessions > 0
    }

    pub(crate) fn heard_rssi(&self, lock_id: [u8; 16]) -> Option<i16> {
        self.state().devices.get(&lock_id).and_then(|device| device.heard_rssi)
    }

    pub(crate) fn connected(&self, lock_id: [u8; 16]) -> bool {
        self.state().devices.get(&lock_id).is_some_and(|device| device.connected)
    }

    pub(crate) fn services_resolved(&self, lock_id: [u8; 16]) -> bool {
        self.state().devices.get(&lock_id).is_some_and(|device| device.services_resolved)
    }

    pub(crate) fn notifying(&self, lock_id: [u8; 16]) -> bool {
        self.state().devices.get(&lock_id).is_some_and(|device| device.notifying)
    }

    pub(crate) fn last_value(&self, lock_id: [u8; 16]) -> Vec<u8> {
        self.state().devices.get(&lock_id).map(|device| device.last_value.clone()).unwrap_or_default()
    }

    /// The manufacturer data payload a lock advertises now (battery and flags read from the lock).
    pub(crate) fn advertisement(&self, lock_id: [u8; 16]) -> Vec<u8> {
        let (battery_percent, flags) = match self.registry.get(lock_id) {
            Ok(Some(lock)) => {
                let mut lock = lock_guard(&lock);
                let mut flags = 0;
                if !lock.pending_log().is_empty() {
                    flags |= FLAG_LOGS_PENDING;
                }
                if lock.now().uncertain {
                    flags |= FLAG_TIME_UNCERTAIN;
                }
                (Some(lock.battery_percent()), flags)
            }
            _ => (None, 0),
        };
        LockAdvertisement { lock_id, battery_percent, flags }.encode().to_vec()
    }

    /// The name a lock advertises: "Latchkey " and the first 4 hex digits of its id.
    pub(crate) fn name(lock_id: [u8; 16]) -> String {
        format!("Latchkey {}", hex::encode_upper(&lock_id[..2]))
    }

    // ---- controls ----

    pub(crate) fn faults(&self) -> Faults {
        self.state().faults
    }

    pub(crate) fn set_faults(&self, faults: Faults) {
        self.state().faults = faults;
    }

    pub(crate) fn stats(&self) -> BluezStats {
        self.state().stats
    }

    /// Powers the adapter on or off (off: every link drops, discovery stops).
    pub(crate) async fn set_powered(self: &Arc<Self>, powered: bool) {
        let (changed, connected, was_discovering) = {
            let mut state = self.state();
            let changed = state.powered != powered;
            state.powered = powered;
            let was_discovering = state.discovery_sessions > 0;
            if !powered {
                state.discovery_sessions = 0;
            }
            let connected: Vec<[u8; 16]> =
                state.devices.iter().filter(|(_, d)| d.connected).map(|(id, _)| *id).collect();
            (changed, connected, was_discovering)
        };
        if !changed {
            return;
        }
        self.emit(ADAPTER_PATH, ADAPTER1, vec![("Powered", Value::from(powered))], &[]).await;
        if !powered {
            for lock_id in connected {
                self.drop_link(lock_id, false).await;
            }
            if was_discovering {
                self.emit(ADAPTER_PATH, ADAPTER1, vec![("Discovering", Value::from(false))], &[]).await;
            }
        }
    }

    /// Sets how loud a lock is heard; announced at once while discovering.
    pub(crate) async fn set_rssi(self: &Arc<Self>, lock_id: [u8; 16], rssi: i16) {
        let announce = {
            let mut state = self.state();
            state.rssi.insert(lock_id, rssi);
            let discovering = state.discovery_sessions > 0;
            let silent = state.silent.contains(&lock_id);
            match state.devices.get_mut(&lock_id) {
                Some(device) if discovering && !silent => {
                    device.heard_rssi = Some(rssi);
                    true
                }
                _ => false,
            }
        };
        if announce {
            self.emit(&device_path(lock_id), DEVICE1, vec![("RSSI", Value::from(rssi))], &[]).await;
        }
    }

    /// Stops or resumes a lock's advertising. A silent lock that is not connected disappears (BlueZ
    /// forgets it); a resumed one is heard at the next discovery (at once if discovering).
    pub(crate) async fn set_advertising(self: &Arc<Self>, lock_id: [u8; 16], advertising: bool) {
        let (remove, advertise) = {
            let mut state = self.state();
            if advertising {
                state.silent.remove(&lock_id);
                (false, state.discovery_sessions > 0)
            } else {
                state.silent.insert(lock_id);
                let remove = state.devices.get(&lock_id).is_some_and(|device| !device.connected);
                if remove {
                    state.devices.remove(&lock_id);
                }
                (remove, false)
            }
        };
        if remove {
            self.unexport(lock_id).await;
        }
        if advertise {
            self.advertise(lock_id).await;
        }
    }

    // ---- the adapter ----

    pub(crate) async fn start_discovery(self: &Arc<Self>) -> Result<(), BluezError> {
        let first = {
            let mut state = self.state();
            if !state.powered {
                return Err(BluezError::NotReady("Resource Not Ready".into()));
            }
            state.stats.discoveries += 1;
            state.discovery_sessions += 1;
            state.discovery_sessions == 1
        };
        if first {
            self.emit(ADAPTER_PATH, ADAPTER1, vec![("Discovering", Value::from(true))], &[]).await;
        }
        let lock_ids = self.registry.lock_ids().map_err(|error| failed(&error.to_string()))?;
        for lock_id in lock_ids {
            self.advertise(lock_id).await;
        }
        Ok(())
    }

    pub(crate) async fn stop_discovery(self: &Arc<Self>) -> Result<(), BluezError> {
        let forgotten = {
            let mut state = self.state();
            if state.discovery_sessions == 0 {
                return Err(failed("No discovery started"));
            }
            state.discovery_sessions -= 1;
            if state.discovery_sessions > 0 {
                return Ok(());
            }
            let mut forgotten = Vec::new();
            for (lock_id, device) in &mut state.devices {
                if !device.connected && device.heard_rssi.take().is_some() {
                    forgotten.push(*lock_id);
                }
            }
            forgotten
        };
        self.emit(ADAPTER_PATH, ADAPTER1, vec![("Discovering", Value::from(false))], &[]).await;
        for lock_id in forgotten {
            self.emit(&device_path(lock_id), DEVICE1, vec![], &["RSSI"]).await;
        }
        Ok(())
    }

    /// One advertisement of `lock_id` heard: exported as a device the first time, else its RSSI and
    /// manufacturer data are announced.
    async fn advertise(self: &Arc<Self>, lock_id: [u8; 16]) {
        let (new, rssi) = {
            let mut state = self.state();
            if state.silent.contains(&lock_id) || state.discovery_sessions == 0 {
                return;
            }
            let rssi = state.rssi.get(&lock_id).copied().unwrap_or(DEFAULT_RSSI);
            match state.devices.get_mut(&lock_id) {
                Some(device) => {
                    device.heard_rssi = Some(rssi);
                    (false, rssi)
                }
                None => {
                    state.devices.insert(
                        lock_id,
                        DeviceState {
                            heard_rssi: Some(rssi),
                            connected: false,
                            services_resolved: false,
                            gatt_exported: false,
                            notifying: false,
                            connection: None,
                            packets: 0,
                            packet_limit: None,
                            generation: 0,
                            last_value: Vec::new(),
                        },
                    );
                    (true, rssi)
                }
            }
        };
        if new {
            let device = Device { world: self.clone(), lock_id };
            if let Err(error) = self.conn.object_server().at(device_path(lock_id), device).await {
                tracing::warn!(%error, "could not export a device");
            }
        } else {
            let data: HashMap<u16, Value<'_>> = HashMap::from([(
                latchkey_protocol::gatt::COMPANY_ID,
                Value::from(self.advertisement(lock_id)),
            )]);
            self.emit(
                &device_path(lock_id),
                DEVICE1,
                vec![("RSSI", Value::from(rssi)), ("ManufacturerData", Value::from(data))],
                &[],
            )
            .await;
        }
    }

    async fn unexport(&self, lock_id: [u8; 16]) {
        let server = self.conn.object_server();
        let _ = server.remove::<Descriptor, _>(descriptor_path(lock_id)).await;
        let _ = server.remove::<Characteristic, _>(characteristic_path(lock_id, Role::Notify)).await;
        let _ = server.remove::<Characteristic, _>(characteristic_path(lock_id, Role::Write)).await;
        let _ = server.remove::<Service, _>(service_path(lock_id)).await;
        let _ = server.remove::<Device, _>(device_path(lock_id)).await;
    }

    async fn export_gatt(self: &Arc<Self>, lock_id: [u8; 16]) {
        let server = self.conn.object_server();
        let results = [
            server.at(service_path(lock_id), Service { lock_id }).await,
            server
                .at(
                    characteristic_path(lock_id, Role::Write),
                    Characteristic { world: self.clone(), lock_id, role: Role::Write },
                )
                .await,
            server
                .at(
                    characteristic_path(lock_id, Role::Notify),
                    Characteristic { world: self.clone(), lock_id, role: Role::Notify },
                )
                .await,
            server.at(descriptor_path(lock_id), Descriptor { world: self.clone(), lock_id }).await,
        ];
        for result in results {
            if let Err(error) = result {
                tracing::warn!(%error, "could not export the GATT objects");
            }
        }
    }

    // ---- a device ----

    pub(crate) async fn connect(self: &Arc<Self>, lock_id: [u8; 16]) -> Result<(), BluezError> {
        let (generation, delay) = {
            let mut state = self.state();
            if !state.powered {
                state.stats.failed_connects += 1;
                return Err(BluezError::NotReady("Resource Not Ready".into()));
            }
            if state.faults.fail_connects > 0 {
                state.faults.fail_connects -= 1;
                state.stats.failed_connects += 1;
                return Err(failed("le-connection-abort-by-local"));
            }
            if state.silent.contains(&lock_id) {
                state.stats.failed_connects += 1;
                return Err(failed("le-connection-abort-by-local"));
            }
            let (limit, delay) =
                (state.faults.disconnect_after_packets, state.faults.service_resolution_delay);
            let Some(device) = state.devices.get_mut(&lock_id) else {
                return Err(BluezError::NotConnected("Device unknown".into()));
            };
            if device.connected {
                return Ok(());
            }
            let connection = self
                .registry
                .connect(lock_id, self.mtu)
                .map_err(|error| failed(&error.to_string()))?
                .ok_or_else(|| failed("le-connection-abort-by-local"))?;
            device.connected = true;
            device.services_resolved = false;
            device.notifying = false;
            device.connection = Some(connection);
            device.packets = 0;
            device.packet_limit = limit;
            device.generation += 1;
            let generation = device.generation;
            state.stats.connects += 1;
            (generation, delay)
        };
        self.emit(&device_path(lock_id), DEVICE1, vec![("Connected", Value::from(true))], &[]).await;
        // BlueZ answers Connect once the link is up; the services resolve afterwards.
        let world = self.clone();
        tokio::spawn(async move {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            world.resolve_services(lock_id, generation).await;
        });
        Ok(())
    }

    async fn resolve_services(self: &Arc<Self>, lock_id: [u8; 16], generation: u64) {
        let export = {
            let mut state = self.state();
            let Some(device) = state.devices.get_mut(&lock_id) else { return };
            if !device.connected || device.generation != generation {
                return;
            }
            !std::mem::replace(&mut device.gatt_exported, true)
        };
        if export {
            self.export_gatt(lock_id).await;
        }
        {
            let mut state = self.state();
            let Some(device) = state.devices.get_mut(&lock_id) else { return };
            if !device.connected || device.generation != generation {
                return;
            }
            device.services_resolved = true;
        }
        self.emit(&device_path(lock_id), DEVICE1, vec![("ServicesResolved", Value::from(true))], &[]).await;
    }

    /// A client disconnects.
    pub(crate) async fn disconnect(self: &Arc<Self>, lock_id: [u8; 16]) {
        self.drop_link(lock_id, false).await;
    }

    /// Ends the connection of `lock_id` (a client's Disconnect, a fault, or a lock closing).
    async fn drop_link(self: &Arc<Self>, lock_id: [u8; 16], fault: bool) {
        let (was_notifying, forget) = {
            let mut state = self.state();
            let silent = state.silent.contains(&lock_id);
            if fault {
                state.stats.dropped_links += 1;
            }
            let Some(device) = state.devices.get_mut(&lock_id) else { return };
            if !device.connected {
                return;
            }
            device.connected = false;
            device.services_resolved = false;
            device.connection = None;
            let was_notifying = std::mem::replace(&mut device.notifying, false);
            if silent {
                state.devices.remove(&lock_id);
            }
            (was_notifying, silent)
        };
        if was_notifying {
            self.emit(
                &characteristic_path(lock_id, Role::Notify),
                CHARACTERISTIC1,
                vec![("Notifying", Value::from(false))],
                &[],
            )
            .await;
        }
        self.emit(
            &device_path(lock_id),
            DEVICE1,
            vec![("Connected", Value::from(false)), ("ServicesResolved", Value::from(false))],
            &[],
        )
        .await;
        if forget {
            self.unexport(lock_id).await;
        }
    }

    // ---- the characteristics ----

    /// Counts one packet on the connection; false (and the link must drop) when the fault limit is hit.
    fn admit(device: &mut DeviceState) -> bool {
        if device.packet_limit.is_some_and(|limit| device.packets >= limit) {
            return false;
        }
        device.packets += 1;
        true
    }

    /// The client enables notifications: the lock starts a session and notifies its Hello.
    pub(crate) async fn start_notify(self: &Arc<Self>, lock_id: [u8; 16]) -> Result<(), BluezError> {
        let hello = {
            let mut state = self.state();
            let Some(device) = state.devices.get_mut(&lock_id) else {
                return Err(failed("Not connected"));
            };
            if !device.connected || !device.services_resolved {
                return Err(failed("Not connected"));
            }
            if device.notifying {
                return Ok(());
            }
            device.notifying = true;
            let Some(connection) = device.connection.as_mut() else {
                return Err(failed("Not connected"));
            };
            connection.subscribe().map_err(|error| failed(&error.to_string()))?
        };
        self.emit(
            &characteristic_path(lock_id, Role::Notify),
            CHARACTERISTIC1,
            vec![("Notifying", Value::from(true))],
            &[],
        )
        .await;
        self.notify(lock_id, hello).await;
        Ok(())
    }

    pub(crate) async fn stop_notify(self: &Arc<Self>, lock_id: [u8; 16]) -> Result<(), BluezError> {
        let was = {
            let mut state = self.state();
            let Some(device) = state.devices.get_mut(&lock_id) else { return Ok(()) };
            std::mem::replace(&mut device.notifying, false)
        };
        if !was {
            return Err(failed("No notify session started"));
        }
        self.emit(
            &characteristic_path(lock_id, Role::Notify),
            CHARACTERISTIC1,
            vec![("Notifying", Value::from(false))],
            &[],
        )
        .await;
        Ok(())
    }

    /// The client writes one packet to the write characteristic.
    pub(crate) async fn write(self: &Arc<Self>, lock_id: [u8; 16], packet: &[u8]) -> Result<(), BluezError> {
        enum Outcome {
            Replies(Vec<Vec<u8>>),
            Drop(BluezError),
        }
        let outcome = {
            let mut state = self.state();
            if state.faults.fail_writes > 0 {
                state.faults.fail_writes -= 1;
                return Err(failed("Operation failed with ATT error: 0x0e"));
            }
            let Some(device) = state.devices.get_mut(&lock_id) else {
                return Err(failed("Not connected"));
            };
            if !device.connected {
                return Err(failed("Not connected"));
            }
            if packet.len() > usize::from(self.mtu) - 3 {
                return Err(BluezError::InvalidArguments(format!(
                    "a value of {} bytes does not fit the MTU {}",
                    packet.len(),
                    self.mtu
                )));
            }
            if !Self::admit(device) {
                Outcome::Drop(failed("Not connected"))
            } else {
                let result = device.connection.as_mut().map(|connection| connection.write(packet));
                match result {
                    Some(Ok(replies)) => {
                        state.stats.writes += 1;
                        Outcome::Replies(replies)
                    }
                    Some(Err(error)) => {
                        // A real lock drops the link on a protocol error.
                        tracing::debug!(%error, "virtual lock closed the connection");
                        state.stats.writes += 1;
                        Outcome::Drop(failed("Not connected"))
                    }
                    None => Outcome::Drop(failed("Not connected")),
                }
            }
        };
        match outcome {
            Outcome::Replies(replies) => {
                self.notify(lock_id, replies).await;
                Ok(())
            }
            Outcome::Drop(error) => {
                self.drop_link(lock_id, true).await;
                Err(error)
            }
        }
    }

    /// Notifies the lock's packets, one `PropertiesChanged` of `Value` each, while the link lasts.
    async fn notify(self: &Arc<Self>, lock_id: [u8; 16], packets: Vec<Vec<u8>>) {
        for packet in packets {
            let admitted = {
                let mut state = self.state();
                let admitted = match state.devices.get_mut(&lock_id) {
                    Some(device) if device.connected && device.notifying => {
                        if Self::admit(device) {
                            device.last_value = packet.clone();
                            Some(true)
                        } else {
                            Some(false)
                        }
                    }
                    _ => None,
                };
                if admitted == Some(true) {
                    state.stats.notifications += 1;
                }
                admitted
            };
            match admitted {
                Some(true) => {
                    self.emit(
                        &characteristic_path(lock_id, Role::Notify),
                        CHARACTERISTIC1,
                        vec![("Value", Value::from(packet))],
                        &[],
                    )
                    .await;
                }
                Some(false) => {
                    self.drop_link(lock_id, true).await;
                    return;
                }
                None => return,
            }
        }
    }

    /// Exports the adapter object.
    pub(crate) async fn export_adapter(self: &Arc<Self>) -> zbus::Result<()> {
        self.conn.object_server().at(ADAPTER_PATH, Adapter { world: self.clone() }).await?;
        Ok(())
    }
}
