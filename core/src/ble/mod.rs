//! Everything the phone knows of BLE: the [`Transport`] trait that carries protocol messages to a lock,
//! and the flows written once against it: [`unlock()`] and [`sync()`]. btleplug, the simulator's
//! in-memory link and the native Kotlin/Swift transports are implementations of [`Transport`]; the device
//! key is behind [`Signer`].
//!
//! Files: `transport` (the traits), `timeouts` ([`Timeouts`]), `signer` ([`Signer`], [`SoftwareSigner`]),
//! `flow` (connect, framed send/receive, deadlines, always disconnect), `unlock` (the unlock flow), `sync` (the sync flow),
//! `btleplug` ([`btleplug::BtleplugTransport`], the desktop transport; cargo feature `btleplug`, on by default).

#[cfg(feature = "btleplug")]
pub mod btleplug;
mod flow;
mod signer;
mod sync;
mod timeouts;
mod transport;
mod unlock;

#[cfg(test)]
mod fake;
#[cfg(test)]
mod sync_tests;
#[cfg(test)]
mod tests;

pub use latchkey_protocol::sync::{DeltaOutcome, SyncReport};
pub use latchkey_protocol::unlock::{AbortReason, Command, Path, PhoneTicket, TimeStatus};
pub use signer::{Signer, SignerAdapter, SignerError, SoftwareSigner};
pub use sync::{MAX_LOG_BATCHES, SyncFlowError, SyncOutcome, sync};
pub use timeouts::Timeouts;
pub use transport::{Advertisement, Link, LinkStats, Transport, TransportError};
pub use unlock::{DenyReason, LockKeys, UnlockError, UnlockOutcome, UnlockRequest, unlock};
