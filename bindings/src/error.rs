//! [`LatchkeyError`]: the one error of every export, and the one place core errors are mapped to it.
//!
//! Each variant is a kind an app can act on (show the field to fix, ask the user to sign in again, to move
//! closer, to switch Bluetooth on), with a `detail` sentence that says what to do. Nothing here carries a
//! token, a code, a key or a request body: the details are the core's messages, which are written to leave
//! secrets out. Foreign transports and signers throw this same type (a `Bluetooth` or `Signer` variant).

use latchkey::api::{ApiError, NetworkErrorKind, TlsSetupKind};
use latchkey::ble::{SignerError, TransportError};
use latchkey::client::ClientError;
use latchkey::store::StoreError;

/// Which kind of network failure a [`LatchkeyError::Network`] is.
#[uniffi::remote(Enum)]
pub enum NetworkErrorKind {
    /// The backend could not be reached (no network, refused, DNS).
    Connect,
    /// The backend did not answer in time.
    Timeout,
    /// The connection broke off midway.
    ConnectionLost,
}

/// Why no HTTPS server can be verified on this device ([`LatchkeyError::TlsSetup`]).
#[uniffi::remote(Enum)]
pub enum TlsSetupKind {
    /// The system has no root certificates the SDK can read (a minimal Linux system without its CA bundle).
    NoRootCertificates,
    /// Android: `Latchkey.initialize(context)` (package `com.latchkey.sdk.android`) was not called before the
    /// first HTTPS request.
    AndroidNotInitialized,
}

/// Which kind of Bluetooth failure a [`LatchkeyError::Bluetooth`] is. Native transports throw
/// `Bluetooth` with the kind that matches what the platform reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum BluetoothErrorKind {
    /// Bluetooth is switched off.
    AdapterOff,
    /// The app may not use Bluetooth (Android 12+: BLUETOOTH_SCAN / BLUETOOTH_CONNECT not granted).
    PermissionDenied,
    /// The lock was not heard while scanning.
    NotInRange,
    /// The link dropped.
    ConnectionLost,
    /// The device does not offer the Latchkey GATT service.
    ServiceMissing,
    /// A step did not finish in time.
    Timeout,
    /// The lock's answers could not be used (wrong or forged lock, garbled messages, stale keys).
    Protocol,
    /// Anything else the platform reported.
    Other,
}

/// Which kind of device-key failure a [`LatchkeyError::Signer`] is. Native signers throw `Signer` with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum SignerErrorKind {
    /// There is no device key (never created, or the keystore lost it).
    KeyMissing,
    /// The keystore needed the user (biometrics, passcode) and the user declined.
    UserCanceled,
    /// The key is not a valid P-256 key, or a signature came back malformed.
    InvalidKey,
    /// Anything else the keystore reported.
    Keystore,
}

/// Every failure of the Latchkey SDK. `detail` always says what to do; no variant carries a secret.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum LatchkeyError {
    /// A request breaks a rule and was not sent (or the backend refused it as invalid). `field` names the
    /// request field at fault as the API spells it (`email`, `doorUuids`, `startTime`…) when known.
    #[error("invalid request: {detail}")]
    InvalidRequest {
        /// The field at fault, if known.
        field: Option<String>,
        /// What is wrong and how to fix it.
        detail: String,
    },
    /// The session is missing, expired or revoked, the sign-in code was wrong, or the client was cleared:
    /// sign in again.
    #[error("not signed in: {detail}")]
    NotSignedIn {
        /// What happened.
        detail: String,
    },
    /// The lock is not among the user's locks: refresh the list with `fetchLocks()`.
    #[error("unknown lock {lock_id}: {detail}")]
    UnknownLock {
        /// The lock asked for.
        lock_id: String,
        /// What to do.
        detail: String,
    },
    /// This phone holds nothing to open the lock with (no credential, lock not activated).
    #[error("no credential for {lock_id}: {detail}")]
    NoCredential {
        /// The lock asked for.
        lock_id: String,
        /// What to do.
        detail: String,
    },
    /// Another unlock is running; only one runs at a time.
    #[error("{detail}")]
    UnlockInProgress {
        /// What to do.
        detail: String,
    },
    /// The lock refused the credential (expired, revoked, another device…).
    #[error("the lock refused: {detail}")]
    Denied {
        /// The lock's reason, in words.
        detail: String,
    },
    /// The backend has no such user, door, building or guest (HTTP 404).
    #[error("not found: {detail}")]
    NotFound {
        /// The backend's message.
        detail: String,
    },
    /// The backend refused the call for another reason (409, 422, 5xx, an unreadable answer).
    #[error("the backend refused ({status}): {detail}")]
    Backend {
        /// The HTTP status (0 if there was no response).
        status: u16,
        /// The backend's machine-readable error code, when it sent one.
        code: Option<String>,
        /// The backend's message.
        detail: String,
    },
    /// The backend could not be reached. Cached data (locks, unlock) still works.
    #[error("network: {detail}")]
    Network {
        /// Connect, timeout or connection lost.
        kind: NetworkErrorKind,
        /// What happened.
        detail: String,
    },
    /// No HTTPS server can be verified on this device, so nothing was sent: the SDK's set-up on the device is
    /// incomplete (`kind` says what is missing; `detail` says how to fix it). Retrying will not help until it
    /// is fixed; `http://` addresses (a simulator) are not affected.
    #[error("HTTPS unavailable: {detail}")]
    TlsSetup {
        /// What is missing.
        kind: TlsSetupKind,
        /// What to fix.
        detail: String,
    },
    /// Bluetooth failed or the lock was out of reach.
    #[error("Bluetooth: {detail}")]
    Bluetooth {
        /// What kind of failure.
        kind: BluetoothErrorKind,
        /// What happened and what to do.
        detail: String,
    },
    /// The device key could not sign.
    #[error("device key: {detail}")]
    Signer {
        /// What kind of failure.
        kind: SignerErrorKind,
        /// What happened and what to do.
        detail: String,
    },
    /// The local store failed (disk full, a corrupted file).
    #[error("storage: {detail}")]
    Storage {
        /// What happened.
        detail: String,
    },
    /// A bug in the SDK or in a callback (a panic, an unexpected exception thrown by app code).
    #[error("internal error: {detail}")]
    Internal {
        /// What happened.
        detail: String,
    },
}

impl From<ApiError> for LatchkeyError {
    fn from(error: ApiError) -> LatchkeyError {
        let detail = error.to_string();
        let status = error.status().unwrap_or(0);
        let code = error.code().map(str::to_owned);
        match error {
            ApiError::Validation(rule) => {
                LatchkeyError::InvalidRequest { field: Some(rule.field().to_owned()), detail }
            }
            ApiError::InvalidArgument { .. } | ApiError::BadRequest { .. } => {
                LatchkeyError::InvalidRequest { field: None, detail }
            }
            ApiError::Config { .. } => {
                LatchkeyError::InvalidRequest { field: Some("baseUrl".into()), detail }
            }
            ApiError::Unauthorized { .. } | ApiError::Forbidden { .. } => {
                LatchkeyError::NotSignedIn { detail: format!("{detail} (sign in again)") }
            }
            ApiError::NotFound { .. } => LatchkeyError::NotFound { detail },
            ApiError::Network { kind, .. } => LatchkeyError::Network { kind, detail },
            ApiError::TlsSetup { kind, .. } => LatchkeyError::TlsSetup { kind, detail },
            ApiError::Decode { status, .. } => {
                LatchkeyError::Backend { status: status.unwrap_or(0), code: None, detail }
            }
            ApiError::Conflict { .. }
            | ApiError::Unprocessable { .. }
            | ApiError::Server { .. }
            | ApiError::UnexpectedStatus { .. } => LatchkeyError::Backend { status, code, detail },
        }
    }
}

impl From<TransportError> for LatchkeyError {
    fn from(error: TransportError) -> LatchkeyError {
        let kind = match &error {
            TransportError::AdapterOff => BluetoothErrorKind::AdapterOff,
            TransportError::PermissionDenied => BluetoothErrorKind::PermissionDenied,
            TransportError::NotInRange => BluetoothErrorKind::NotInRange,
            TransportError::ConnectionLost => BluetoothErrorKind::ConnectionLost,
            TransportError::ServiceMissing => BluetoothErrorKind::ServiceMissing,
            TransportError::Timeout { .. } => BluetoothErrorKind::Timeout,
            TransportError::Other(_) => BluetoothErrorKind::Other,
        };
        LatchkeyError::Bluetooth { kind, detail: error.to_string() }
    }
}

impl From<SignerError> for LatchkeyError {
    fn from(error: SignerError) -> LatchkeyError {
        let kind = match &error {
            SignerError::KeyMissing => SignerErrorKind::KeyMissing,
            SignerError::UserCanceled => SignerErrorKind::UserCanceled,
            SignerError::InvalidKey => SignerErrorKind::InvalidKey,
            SignerError::Randomness(_) | SignerError::Keystore(_) => SignerErrorKind::Keystore,
        };
        LatchkeyError::Signer { kind, detail: error.to_string() }
    }
}

impl From<StoreError> for LatchkeyError {
    fn from(error: StoreError) -> LatchkeyError {
        LatchkeyError::Storage { detail: error.to_string() }
    }
}

impl From<ClientError> for LatchkeyError {
    fn from(error: ClientError) -> LatchkeyError {
        let detail = error.to_string();
        match error {
            ClientError::NotSetUp => LatchkeyError::NotSignedIn { detail },
            ClientError::UnlockInProgress => LatchkeyError::UnlockInProgress { detail },
            ClientError::Canceled => LatchkeyError::Internal { detail },
            ClientError::LockNotFound { lock_id } => LatchkeyError::UnknownLock { lock_id, detail },
            ClientError::NoCredential { lock_id, .. } => LatchkeyError::NoCredential { lock_id, detail },
            ClientError::Network(api) => match LatchkeyError::from(api) {
                // Keep the client's words (they add that cached data stays available).
                LatchkeyError::Network { kind, .. } => LatchkeyError::Network { kind, detail },
                other => other,
            },
            ClientError::Bluetooth(transport) => LatchkeyError::from(transport),
            ClientError::Denied(_) => LatchkeyError::Denied { detail },
            ClientError::Lock(_) => LatchkeyError::Bluetooth { kind: BluetoothErrorKind::Protocol, detail },
            ClientError::Signer(signer) => LatchkeyError::from(signer),
            ClientError::Store(store) => LatchkeyError::from(store),
        }
    }
}

impl From<uniffi::UnexpectedUniFFICallbackError> for LatchkeyError {
    fn from(error: uniffi::UnexpectedUniFFICallbackError) -> LatchkeyError {
        LatchkeyError::Internal {
            detail: format!("an app callback threw an unexpected exception: {}", error.reason),
        }
    }
}

impl LatchkeyError {
    /// The core transport error a foreign transport meant by throwing this error.
    pub(crate) fn into_transport(self) -> TransportError {
        match self {
            LatchkeyError::Bluetooth { kind, detail } => match kind {
                BluetoothErrorKind::AdapterOff => TransportError::AdapterOff,
                BluetoothErrorKind::PermissionDenied => TransportError::PermissionDenied,
                BluetoothErrorKind::NotInRange => TransportError::NotInRange,
                BluetoothErrorKind::ConnectionLost => TransportError::ConnectionLost,
                BluetoothErrorKind::ServiceMissing => TransportError::ServiceMissing,
                BluetoothErrorKind::Timeout => TransportError::Timeout { what: "a Bluetooth step" },
                BluetoothErrorKind::Protocol | BluetoothErrorKind::Other => TransportError::Other(detail),
            },
            other => TransportError::Other(other.to_string()),
        }
    }

    /// The core signer error a foreign signer meant by throwing this error.
    pub(crate) fn into_signer(self) -> SignerError {
        match self {
            LatchkeyError::Signer { kind, detail } => match kind {
                SignerErrorKind::KeyMissing => SignerError::KeyMissing,
                SignerErrorKind::UserCanceled => SignerError::UserCanceled,
                SignerErrorKind::InvalidKey => SignerError::InvalidKey,
                SignerErrorKind::Keystore => SignerError::Keystore(detail),
            },
            other => SignerError::Keystore(other.to_string()),
        }
    }
}
