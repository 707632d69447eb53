//! Exit codes of the BLE commands, and [`Failure`]: an error with the code it exits with.
//!
//! | Code | Meaning | What to do |
//! |---|---|---|
//! | 0 | done | |
//! | 1 | anything else (a bug, a damaged file, the local store) | read the message |
//! | 2 | wrong arguments (clap) | see `--help` |
//! | 3 | not signed in, or a setting is missing | `latchkey login`, or configure it |
//! | 4 | Bluetooth unavailable: adapter off, no permission, no adapter or BlueZ | switch it on, fix access |
//! | 5 | the lock was not reached: not in range, connection lost, a step timed out | move closer, retry |
//! | 6 | the lock (or the backend) refused: access denied, revoked, no credential | check the access |
//! | 7 | the backend could not be reached or refused the call | check the network, `--api` |
//! | 8 | no such door among the user's locks | check the name or uuid (`latchkey codes` lists them) |

use std::fmt;

use latchkey::ble::TransportError;
use latchkey::client::ClientError;

/// Why a command failed, with its exit code and a machine-readable kind.
#[derive(Debug)]
pub struct Failure {
    /// The process exit code.
    pub code: u8,
    /// A stable name of the kind, for `--json`.
    pub kind: &'static str,
    /// What happened and what to do.
    pub message: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl Failure {
    fn new(code: u8, kind: &'static str, message: impl Into<String>) -> Failure {
        Failure { code, kind, message: message.into() }
    }

    /// Exit 1.
    pub fn other(error: impl fmt::Display) -> Failure {
        Failure::new(1, "failed", format!("{error:#}"))
    }

    /// Exit 3: not signed in.
    pub fn not_signed_in(message: impl Into<String>) -> Failure {
        Failure::new(3, "not_signed_in", message)
    }

    /// Exit 3: a setting is missing.
    pub fn config(message: impl Into<String>) -> Failure {
        Failure::new(3, "not_configured", message)
    }

    /// Exit 8: no such door.
    pub fn unknown_door(message: impl Into<String>) -> Failure {
        Failure::new(8, "unknown_door", message)
    }

    /// A Bluetooth failure: 4 (Bluetooth unavailable) or 5 (the lock was not reached).
    pub fn from_transport(error: TransportError) -> Failure {
        let message = error.to_string();
        match error {
            TransportError::AdapterOff => Failure::new(4, "adapter_off", message),
            TransportError::PermissionDenied => Failure::new(4, "permission_denied", message),
            TransportError::Other(_) => Failure::new(4, "bluetooth_failed", message),
            TransportError::NotInRange => Failure::new(5, "not_in_range", message),
            TransportError::ConnectionLost => Failure::new(5, "connection_lost", message),
            TransportError::ServiceMissing => Failure::new(5, "service_missing", message),
            TransportError::Timeout { .. } => Failure::new(5, "timeout", message),
        }
    }

    /// A `DoorClient` failure.
    pub fn from_client(error: ClientError) -> Failure {
        let message = error.to_string();
        match error {
            ClientError::Bluetooth(error) => Failure::from_transport(error),
            ClientError::Denied(_) => Failure::new(6, "denied", message),
            ClientError::NoCredential { .. } => Failure::new(6, "no_credential", message),
            ClientError::LockNotFound { .. } => Failure::new(8, "unknown_door", message),
            ClientError::Network(_) => Failure::new(7, "backend", message),
            ClientError::Lock(_) => Failure::new(5, "exchange_failed", message),
            ClientError::NotSetUp => Failure::new(3, "not_signed_in", message),
            _ => Failure::new(1, "failed", message),
        }
    }
}
