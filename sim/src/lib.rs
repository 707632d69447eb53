//! The simulated Latchkey world, so partners (and our tests) need neither hardware nor a cloud account.
//!
//! - [`backend`]: the access backend — auth, the partner API of the spec, the user API the SDK uses, the
//!   manager API and web page, the simulator's controls — on axum and SQLite, faithful to the spec's
//!   fields, rules, status codes and notifications; and the backend's side of the lock protocol.
//! - [`locks`]: virtual locks running the lock side of the protocol on persisted state.
//! - [`link`]: the in-memory BLE link ([`link::MemoryTransport`]) joining a phone to a virtual lock.
//! - `bluez` (feature `bluez`, default on): a fake BlueZ on a private D-Bus that serves the virtual locks
//!   to btleplug and other BlueZ clients.
//! - [`server`]: running it on a socket ([`Simulator`] for tests and the demo, [`server::serve`] for
//!   `latchkey sim serve`).
//!
//! Depends on `latchkey` (the model and its validation rules, so client and server never disagree) and
//! `latchkey-protocol` (the lock protocol, both the backend's side and the locks'). Nothing here reaches a phone.

pub mod backend;
#[cfg(feature = "bluez")]
pub mod bluez;
pub mod link;
pub mod locks;
pub mod server;

pub use backend::state::BackendConfig;
pub use server::{SimConfig, Simulator};
