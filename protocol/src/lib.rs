//! The Latchkey lock protocol as pure code.
//!
//! This crate owns the rules a lock and a phone must agree on byte for byte (the normative text is
//! `docs/protocol.md`):
//! - [`crypto`]: typed wrappers over P-256, HKDF, HMAC and AES-GCM;
//! - [`credential`]: the backend-signed credential a phone presents;
//! - [`unlock`]: the one-round-trip unlock and its resumption fast path, both sides as sans-IO state machines;
//! - [`framing`]: fragmentation and bounded reassembly over any ATT MTU; [`gatt`]: the service's UUIDs and
//!   advertisement;
//! - [`doorcode`]: DAILY and DAILY_SINGLE_USE code derivation; [`keypad`]: the lock's doorcode verifier
//!   and wrong-code throttle;
//! - [`eventlog`]: the lock's chained, MAC'd event log and its acknowledgement;
//! - the sync modules: backend-signed sequenced deltas, time tokens, and the sync exchange over BLE.
//!
//! It does no I/O and never reads a clock: time is always an argument, so lock firmware could link it
//! (`no_std` + alloc) and tests can stand at any instant.
#![no_std]

extern crate alloc;

pub mod credential;
pub mod crypto;
pub mod doorcode;
mod error;
pub mod eventlog;
pub mod framing;
pub mod gatt;
pub mod keypad;
pub mod sync;
pub mod unlock;

pub use error::ProtocolError;
