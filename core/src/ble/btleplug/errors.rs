//! How btleplug's and BlueZ's errors become [`TransportError`]s: one place, so every step reports the
//! same kind for the same cause. The D-Bus error name is what tells causes apart on Linux (BlueZ's
//! messages are free text); it is read out of btleplug's boxed error.

use ::btleplug::Error as BtleError;

use crate::ble::TransportError;

/// The step that failed, for timeouts and messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// Reaching BlueZ and its adapter.
    Adapter,
    /// Scanning.
    Scan,
    /// Connecting (services resolved).
    Connect,
    /// Discovering the GATT services.
    Discover,
    /// Enabling notifications.
    Subscribe,
    /// Writing a packet.
    Write,
}

impl Step {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Step::Adapter => "Bluetooth adapter",
            Step::Scan => "scan",
            Step::Connect => "connect",
            Step::Discover => "service discovery",
            Step::Subscribe => "subscribe",
            Step::Write => "write",
        }
    }
}

/// The D-Bus error name and message inside a btleplug error, if it came from D-Bus.
fn dbus_error(error: &BtleError) -> Option<(String, String)> {
    #[cfg(target_os = "linux")]
    if let BtleError::Other(inner) = error
        && let Some(bluez_async::BluetoothError::DbusError(dbus)) =
            inner.downcast_ref::<bluez_async::BluetoothError>()
    {
        return Some((
            dbus.name().unwrap_or_default().to_owned(),
            dbus.message().unwrap_or_default().to_owned(),
        ));
    }
    #[cfg(not(target_os = "linux"))]
    let _ = error;
    None
}

/// Whether a btleplug error is dbus-tokio's send race ([`is_send_race_dbus`]).
pub(crate) fn is_send_race(error: &BtleError) -> bool {
    dbus_error(error).is_some_and(|(name, message)| is_send_race_dbus(&name, &message))
}

/// Whether a D-Bus error (name, message) is dbus-tokio's send race, not an answer from BlueZ: when a call
/// is queued while the connection's I/O task has been woken but has not run yet (two calls in a row from
/// different threads under load), dbus-tokio 0.7's wake-up callback reports a failure and dbus-rs turns it
/// into `Failed to send message`, although the call stays queued and goes out with the next write. Only
/// idempotent calls may be tried again on it.
pub(crate) fn is_send_race_dbus(name: &str, message: &str) -> bool {
    name == "org.freedesktop.DBus.Error.Failed" && message == "Failed to send message"
}

/// Maps a D-Bus error (name, message) of `step`.
pub(crate) fn from_dbus(step: Step, name: &str, message: &str) -> TransportError {
    match name {
        "org.bluez.Error.NotReady" => TransportError::AdapterOff,
        "org.bluez.Error.NotPermitted"
        | "org.bluez.Error.NotAuthorized"
        | "org.freedesktop.DBus.Error.AccessDenied"
        | "org.freedesktop.DBus.Error.AuthFailed" => TransportError::PermissionDenied,
        "org.bluez.Error.NotConnected" => TransportError::ConnectionLost,
        "org.freedesktop.DBus.Error.NoReply"
        | "org.freedesktop.DBus.Error.Timeout"
        | "org.freedesktop.DBus.Error.TimedOut" => TransportError::Timeout { what: step.name() },
        "org.freedesktop.DBus.Error.ServiceUnknown" | "org.freedesktop.DBus.Error.NameHasNoOwner" => {
            TransportError::Other(
                "BlueZ is not running (no org.bluez on the D-Bus system bus): start bluetoothd".to_owned(),
            )
        }
        // The device object went away: BlueZ forgot it (out of range for a while).
        "org.freedesktop.DBus.Error.UnknownObject" if matches!(step, Step::Connect | Step::Scan) => {
            TransportError::NotInRange
        }
        "org.freedesktop.DBus.Error.UnknownObject" => TransportError::ConnectionLost,
        // BlueZ's catch-all: on a connection or a write it means the radio link failed or dropped
        // ("le-connection-abort-by-local", "Not connected", an ATT error): the user can only try again.
        "org.bluez.Error.Failed" | "org.bluez.Error.InProgress"
            if matches!(step, Step::Connect | Step::Discover | Step::Subscribe | Step::Write) =>
        {
            tracing::debug!(step = step.name(), name, message, "BlueZ failed");
            TransportError::ConnectionLost
        }
        _ => TransportError::Other(format!("{} failed: {message} ({name})", step.name())),
    }
}

/// Maps a btleplug error of `step`.
pub(crate) fn map(step: Step, error: BtleError) -> TransportError {
    if let Some((name, message)) = dbus_error(&error) {
        return from_dbus(step, &name, &message);
    }
    match error {
        BtleError::PermissionDenied => TransportError::PermissionDenied,
        BtleError::DeviceNotFound => TransportError::NotInRange,
        BtleError::NotConnected => TransportError::ConnectionLost,
        BtleError::NoSuchCharacteristic | BtleError::UnexpectedCharacteristic => {
            TransportError::ServiceMissing
        }
        BtleError::NoAdapterAvailable => no_adapter(),
        BtleError::TimedOut(_) => TransportError::Timeout { what: step.name() },
        other => {
            let text = other.to_string();
            if text.contains("Service discovery timed out") {
                TransportError::Timeout { what: Step::Discover.name() }
            } else {
                TransportError::Other(format!("{} failed: {text}", step.name()))
            }
        }
    }
}

/// No adapter at all.
pub(crate) fn no_adapter() -> TransportError {
    TransportError::Other(
        "no Bluetooth adapter found: plug one in (or check that bluetoothd sees it: `bluetoothctl list`)"
            .to_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_d_bus_clients_own_send_failure_counts_as_the_send_race() {
        assert!(is_send_race_dbus("org.freedesktop.DBus.Error.Failed", "Failed to send message"));
        assert!(!is_send_race_dbus("org.freedesktop.DBus.Error.Failed", "Read/write failed"));
        assert!(!is_send_race_dbus("org.bluez.Error.Failed", "Failed to send message"));
        assert!(!is_send_race_dbus("org.bluez.Error.Failed", "le-connection-abort-by-local"));
    }

    #[test]
    fn bluez_error_names_map_to_kinds_a_user_can_act_on() {
        assert_eq!(
            from_dbus(Step::Scan, "org.bluez.Error.NotReady", "Resource Not Ready"),
            TransportError::AdapterOff
        );
        assert_eq!(
            from_dbus(Step::Scan, "org.bluez.Error.NotPermitted", ""),
            TransportError::PermissionDenied
        );
        assert_eq!(
            from_dbus(Step::Connect, "org.freedesktop.DBus.Error.AccessDenied", ""),
            TransportError::PermissionDenied
        );
        assert_eq!(
            from_dbus(Step::Connect, "org.bluez.Error.Failed", "le-connection-abort-by-local"),
            TransportError::ConnectionLost
        );
        assert_eq!(from_dbus(Step::Write, "org.bluez.Error.Failed", "x"), TransportError::ConnectionLost);
        assert_eq!(
            from_dbus(Step::Connect, "org.freedesktop.DBus.Error.UnknownObject", ""),
            TransportError::NotInRange
        );
        assert_eq!(
            from_dbus(Step::Write, "org.freedesktop.DBus.Error.NoReply", ""),
            TransportError::Timeout { what: "write" }
        );
        let TransportError::Other(text) =
            from_dbus(Step::Adapter, "org.freedesktop.DBus.Error.ServiceUnknown", "")
        else {
            panic!("BlueZ missing is not a radio error");
        };
        assert!(text.contains("bluetoothd"), "{text}");
        let TransportError::Other(text) =
            from_dbus(Step::Scan, "org.bluez.Error.InvalidArguments", "bad filter")
        else {
            panic!("an unknown error keeps its text");
        };
        assert!(text.contains("bad filter") && text.contains("scan"), "{text}");
    }

    #[test]
    fn btleplug_errors_map_too() {
        assert_eq!(map(Step::Connect, BtleError::DeviceNotFound), TransportError::NotInRange);
        assert_eq!(map(Step::Write, BtleError::NotConnected), TransportError::ConnectionLost);
        assert_eq!(
            map(Step::Connect, BtleError::TimedOut(std::time::Duration::from_secs(1))),
            TransportError::Timeout { what: "connect" }
        );
        #[cfg(target_os = "linux")]
        {
            let dbus = dbus::Error::new_custom("org.bluez.Error.NotReady", "Resource Not Ready");
            let error = BtleError::Other(Box::new(bluez_async::BluetoothError::DbusError(dbus)));
            assert_eq!(map(Step::Scan, error), TransportError::AdapterOff);
        }
    }
}
