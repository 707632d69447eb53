//! A fake BlueZ: the simulator's virtual locks as Bluetooth LE peripherals on a private D-Bus, so the real
//! btleplug path (and any other BlueZ client, such as bleak or `busctl`) can scan for them, connect, list
//! their GATT services and run the Latchkey protocol with them. In-process, with zbus.
//!
//! It serves, as the bus name `org.bluez` on the bus `DBUS_SYSTEM_BUS_ADDRESS` names (never the real
//! system bus: [`FakeBluez::start`] refuses to run without that variable):
//! - `/` ObjectManager (GetManagedObjects, InterfacesAdded/Removed);
//! - `/org/bluez/hci0` Adapter1 (`adapter`);
//! - a Device1 per virtual lock heard in discovery (`device`), with its advertisement;
//! - the Latchkey GATT service under each device (`gatt`); writes go to the lock's
//!   [`crate::locks::LockConnection`], its answers come back as `Value` notifications.
//!
//! Faults ([`Faults`], [`FakeBluez::set_rssi`], [`FakeBluez::set_advertising`],
//! [`FakeBluez::set_powered`]) model what real radios do. Files: `world` (state and behaviour),
//! `adapter`, `device`, `gatt` (the D-Bus interfaces), `error` (`org.bluez.Error.*`).

mod adapter;
mod device;
mod error;
mod gatt;
mod world;

use std::sync::Arc;

use zbus::fdo::{ObjectManager, RequestNameFlags, RequestNameReply};

pub use error::BluezError;
pub use world::{ADAPTER_PATH, BluezStats, DEFAULT_RSSI, Faults, address, device_path};

use crate::locks::LockRegistry;
use world::World;

/// The environment variable that names the bus (D-Bus's own name for the system bus address).
pub const BUS_ADDRESS_VAR: &str = "DBUS_SYSTEM_BUS_ADDRESS";

/// How the fake BlueZ runs.
#[derive(Clone, Debug)]
pub struct BluezOptions {
    /// The bus address (`unix:path=…`). `None`: the value of `DBUS_SYSTEM_BUS_ADDRESS`.
    pub bus_address: Option<String>,
    /// The ATT MTU every connection gets (23..=517). Default 185 (what phones commonly negotiate).
    pub mtu: u16,
}

impl Default for BluezOptions {
    fn default() -> Self {
        BluezOptions { bus_address: None, mtu: 185 }
    }
}

/// Why the fake BlueZ could not start.
#[derive(Debug, thiserror::Error)]
pub enum BluezStartError {
    /// No bus was named.
    #[error(
        "DBUS_SYSTEM_BUS_ADDRESS is not set: the fake BlueZ only runs on a private bus. Start one with \
         `dbus-daemon --config-file=/usr/share/dbus-1/session.conf --address=unix:path=/tmp/lk.sock --nofork` \
         and set DBUS_SYSTEM_BUS_ADDRESS=unix:path=/tmp/lk.sock"
    )]
    NoBus,
    /// The MTU is outside 23..=517.
    #[error("MTU {0} is outside 23..=517")]
    Mtu(u16),
    /// The bus could not be reached.
    #[error("could not connect to the D-Bus at {address}: {source}")]
    Connect {
        /// The address tried.
        address: String,
        /// What went wrong.
        source: zbus::Error,
    },
    /// Someone else serves `org.bluez` there.
    #[error("another BlueZ (a real bluetoothd?) already owns org.bluez on {0}: use a private bus")]
    NameTaken(String),
    /// D-Bus failed while exporting the objects.
    #[error("D-Bus: {0}")]
    Bus(#[from] zbus::Error),
}

/// A running fake BlueZ. Cheap to clone; clones control the same one. It runs until [`FakeBluez::stop`]
/// or until every clone is dropped.
#[derive(Clone, Debug)]
pub struct FakeBluez {
    world: Arc<World>,
}

impl FakeBluez {
    /// Connects to the bus, exports the adapter and takes the name `org.bluez`. Locks appear as devices
    /// when a client starts discovery.
    pub async fn start(registry: LockRegistry, options: BluezOptions) -> Result<FakeBluez, BluezStartError> {
        if !(latchkey_protocol::framing::MIN_MTU..=latchkey_protocol::framing::MAX_MTU).contains(&options.mtu)
        {
            return Err(BluezStartError::Mtu(options.mtu));
        }
        let address = match options.bus_address {
            Some(address) => address,
            None => std::env::var(BUS_ADDRESS_VAR).map_err(|_| BluezStartError::NoBus)?,
        };
        let connect = |source| BluezStartError::Connect { address: address.clone(), source };
        let conn = zbus::connection::Builder::address(address.as_str())
            .map_err(connect)?
            .serve_at("/", ObjectManager)
            .map_err(connect)?
            .build()
            .await
            .map_err(connect)?;
        let world = Arc::new(World::new(conn.clone(), registry, options.mtu));
        world.export_adapter().await?;
        // A fake that crashed or leaked (a failed test) lets the next one take over; a real bluetoothd
        // does not allow replacement, so it is never displaced.
        let flags = RequestNameFlags::DoNotQueue
            | RequestNameFlags::ReplaceExisting
            | RequestNameFlags::AllowReplacement;
        match conn.request_name_with_flags("org.bluez", flags).await? {
            RequestNameReply::PrimaryOwner | RequestNameReply::AlreadyOwner => {}
            _ => return Err(BluezStartError::NameTaken(address)),
        }
        tracing::info!(%address, "fake BlueZ serving org.bluez");
        Ok(FakeBluez { world })
    }

    /// Sets the faults (they apply from the next call they concern).
    pub fn set_faults(&self, faults: Faults) {
        self.world.set_faults(faults);
    }

    /// The faults still armed (counters go down as they fire).
    pub fn faults(&self) -> Faults {
        self.world.faults()
    }

    /// What happened so far.
    pub fn stats(&self) -> BluezStats {
        self.world.stats()
    }

    /// Sets how loud a lock is heard (default [`DEFAULT_RSSI`]); announced at once while discovering.
    pub async fn set_rssi(&self, lock_id: [u8; 16], rssi: i16) {
        self.world.set_rssi(lock_id, rssi).await;
    }

    /// Makes a lock stop (or resume) advertising: a silent lock is no longer heard, and once it is not
    /// connected BlueZ forgets it.
    pub async fn set_advertising(&self, lock_id: [u8; 16], advertising: bool) {
        self.world.set_advertising(lock_id, advertising).await;
    }

    /// Powers the adapter off (links drop, scans fail with `NotReady`) or on.
    pub async fn set_powered(&self, powered: bool) {
        self.world.set_powered(powered).await;
    }

    /// Releases `org.bluez` and leaves the bus.
    pub async fn stop(self) {
        let _ = self.world.conn.release_name("org.bluez").await;
        let _ = self.world.conn.clone().close().await;
    }
}
