//! The Latchkey lock protocol as pure code.
//!
//! This crate owns the rules a lock and a phone must agree on byte for byte: the crypto wrappers
//! ([`crypto`]), the backend-signed credential ([`credential`]), the one-round-trip unlock handshake and its
//! resumption fast path, both sides as sans-IO state machines ([`unlock`]), BLE framing ([`framing`]) and
//! doorcode derivation ([`doorcode`]). It does no I/O
//! and never reads a clock: time is always an argument, so lock firmware could link it (`no_std` + alloc)
//! and tests can stand at any instant.
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
