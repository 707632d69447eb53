//! [`Timeouts`]: how long the BLE flows wait for each step before they give up.

use std::time::Duration;

/// How long a flow waits. Every wait of a flow is bounded by one of these, so a silent or hung lock always
/// ends in [`super::TransportError::Timeout`] and never in a hang.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// Scanning for the lock and connecting to it (services discovered). Default 10 s.
    pub connect: Duration,
    /// Any one packet the flow waits for (and any one write). Default 3 s.
    pub per_message: Duration,
    /// Everything after the connection is up: subscribe, every message each way, until the last answer.
    /// Default 15 s.
    pub exchange: Duration,
}

impl Timeouts {
    /// Default connect timeout.
    pub const DEFAULT_CONNECT: Duration = Duration::from_secs(10);
    /// Default per-message timeout.
    pub const DEFAULT_PER_MESSAGE: Duration = Duration::from_secs(3);
    /// Default whole-exchange timeout.
    pub const DEFAULT_EXCHANGE: Duration = Duration::from_secs(15);
}

impl Default for Timeouts {
    fn default() -> Timeouts {
        Timeouts {
            connect: Timeouts::DEFAULT_CONNECT,
            per_message: Timeouts::DEFAULT_PER_MESSAGE,
            exchange: Timeouts::DEFAULT_EXCHANGE,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documented_ones() {
        let t = Timeouts::default();
        assert_eq!(t.connect, Duration::from_secs(10));
        assert_eq!(t.per_message, Duration::from_secs(3));
        assert_eq!(t.exchange, Duration::from_secs(15));
    }
}
