//! Latchkey: the access SDK core that partner apps and partner backends link.
//!
//! - [`model`]: the domain types of the access backend and the validation rules of the spec, shared with
//!   the simulator so client and server can never disagree on a rule.
//! - [`client`]: [`client::DoorClient`], the mobile facade (locks cache first, unlock with events, sync,
//!   access logs, guests, proximity unlock) over the store, the user API and the BLE flows.
//! - [`ble`]: the [`ble::Transport`] trait the unlock and sync flows use to reach a lock.
//! - [`api`]: the typed REST client (partner, user-auth and manager endpoints) with token handling,
//!   retries and idempotent POSTs.
//! - [`store`]: the phone's offline-first SQLite store (cached locks and credentials, tickets, the sync
//!   outbox).
//! - [`time`]: the injected clock every time rule takes.
//! - [`secret`]: a string type for tokens, codes and keys that never prints its content.
//! - [`keystore`]: platform keystores' key and signature encodings turned into the [`ble::Signer`] contract's.

pub mod api;
pub mod ble;
pub mod client;
pub mod keystore;
pub mod model;
pub mod secret;
pub mod store;
pub mod time;
pub mod webhooks;

pub use secret::SecretString;
pub use time::{Clock, ManualClock, SystemClock};
