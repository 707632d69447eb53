//! Everything the phone knows of BLE: the [`Transport`] trait that carries protocol messages to a lock,
//! and (as the flows land) the unlock and sync flows written once against it. btleplug, the simulator's
//! in-memory link and the native Kotlin/Swift transports are implementations of [`Transport`].

mod transport;

pub use transport::{Link, LinkStats, Transport, TransportError};
