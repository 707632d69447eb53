//! `latchkey-ffi`: the UniFFI exports of the Latchkey core for Kotlin and Swift (proc macros, no UDL).
//!
//! Thin adapters only: every export delegates to `latchkey` (the core); a helper a binding needs belongs
//! in the core. Modules:
//! - `client`: `DoorClient` (the mobile facade), listeners and `Subscription`;
//! - `partner`: `PartnerClient` (users and door access); `auth`: `AuthClient`, `UserSession`;
//! - `transport`: the foreign BLE transport (`BleTransport`, `BleLink`) and its adapter to the core;
//! - `signer`: the foreign device key (`Signer`), `software_signer()`, and the adapter;
//! - `log`: the app's `LogSink`;
//! - `webhooks`: `verify_webhook` for partner backends checking the backend's webhook deliveries;
//! - `models`: records and enums; `error`: `LatchkeyError`, mapped from the core's errors in one place;
//! - `runtime`: the tokio runtime the bindings own;
//! - `android`: the JNI entry point of the Kotlin layer's `Latchkey.initialize(context)` (not a UniFFI export).
//!
//! Generate bindings in library mode from the UNSTRIPPED cdylib (`cargo xtask kotlin`, `docs/bindings.md`).

// UniFFI's generated scaffolding is `extern "C"` code with `#[no_mangle]` items (and so is the JNI entry point
// of `android`, through jni's `jni_mangle`).
#![allow(unsafe_code)]

uniffi::setup_scaffolding!("latchkey");

#[cfg(not(target_vendor = "apple"))]
mod android;
mod auth;
mod client;
mod error;
mod log;
mod models;
mod partner;
mod runtime;
mod signer;
mod transport;
mod webhooks;

pub use auth::{AuthClient, UserSession};
pub use client::{
    DoorClient, DoorClientConfig, LocksListener, ProximitySettings, Subscription, UnlockEventListener,
};
pub use error::{BluetoothErrorKind, LatchkeyError, SignerErrorKind};
pub use log::{LogLevel, LogRecord, LogSink, set_log_sink};
pub use models::{Access, Doorcode, Guest, Lock, SecretText, SyncSummary, Timestamp, User};
pub use partner::PartnerClient;
pub use signer::{Signer, p256_compressed_public_key, p256_raw_low_s_signature, software_signer};
pub use transport::{BleConnection, BleLink, BleTransport, LockAdvertisement};
pub use webhooks::{WebhookVerificationError, verify_webhook};
