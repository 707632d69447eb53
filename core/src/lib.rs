//! Latchkey: the access SDK core that partner apps and partner backends link.
//!
//! - [`model`]: the domain types of the access backend and the validation rules of the spec, shared with
//!   the simulator so client and server can never disagree on a rule.
//! - [`ble`]: the [`ble::Transport`] trait the unlock and sync flows use to reach a lock.
//! - [`api`]: the typed REST client (partner, user-auth and manager endpoints) with token handling,
//!   retries and idempotent POSTs.
//! - [`time`]: the injected clock every time rule takes.
//! - [`secret`]: a string type for tokens, codes and keys that never prints its content.

pub mod api;
pub mod ble;
pub mod model;
pub mod secret;
pub mod time;

pub use secret::SecretString;
pub use time::{Clock, ManualClock, SystemClock};
