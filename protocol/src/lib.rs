//! The Latchkey lock protocol as pure code.
//!
//! This crate owns the rules a lock and a phone must agree on byte for byte: doorcode derivation today,
//! and (as the lock-protocol work lands) message types, framing and the credential checks. It does no I/O
//! and never reads a clock: time is always an argument, so lock firmware could link it (`no_std` + alloc)
//! and tests can stand at any instant.
#![no_std]

extern crate alloc;

pub mod doorcode;
