//! [`BluezError`]: the `org.bluez.Error.*` replies of the fake BlueZ, named as the real daemon names them
//! (clients such as btleplug and bleak tell causes apart by these names).

/// An error reply of the fake BlueZ.
#[derive(Debug, zbus::DBusError)]
#[zbus(prefix = "org.bluez.Error")]
pub enum BluezError {
    /// A D-Bus failure of the server itself.
    #[zbus(error)]
    ZBus(zbus::Error),
    /// The catch-all failure (also what BlueZ answers when a link drops or a write is refused).
    Failed(String),
    /// The adapter is powered off.
    NotReady(String),
    /// The device is not connected.
    NotConnected(String),
    /// The operation is not allowed (such as writing a CCCD directly).
    NotPermitted(String),
    /// The operation is not supported by this stand-in.
    NotSupported(String),
    /// An argument was wrong.
    InvalidArguments(String),
}
