//! The domain model of the access backend: wire types (exactly as the spec names them) and the validation
//! rules of the spec.
//!
//! Both sides use this module: the client validates a request before sending it (fails fast, sends
//! nothing), and the simulator validates the same request with the same functions before touching its
//! database. Naming: plain types are stored or wire shapes, `…View` types are what the backend returns,
//! `…Request` types are inputs.

mod auth;
mod doors;
mod enums;
mod errors;
mod events;
mod manager;
pub mod me;
mod users;
pub mod validation;
mod webhooks;

pub use auth::*;
pub use doors::*;
pub use enums::*;
pub use errors::*;
pub use events::*;
pub use manager::*;
pub use me::*;
// `me::DeviceView` (a user's registered phone) shares its name with `doors::DeviceView` (a door's lock):
// the lock keeps the short name here, the phone is `me::DeviceView` or `RegisteredDeviceView`.
pub use doors::DeviceView;
pub use me::DeviceView as RegisteredDeviceView;
pub use users::*;
pub use validation::ValidationError;
pub use webhooks::*;

/// The audience a partner-scoped token is issued for, as the real service names it.
pub const PARTNER_AUDIENCE: &str = "https://rest.latchaccess.com/access/sdk";

/// The OAuth grant type of the passwordless one-time-code exchange.
pub const PASSWORDLESS_OTP_GRANT: &str = "http://auth0.com/oauth/grant-type/passwordless/otp";

/// The largest request body the backend accepts, in bytes (a larger one is a 413). Clients split what
/// could exceed it, such as a lock's log backlog, into several requests.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
