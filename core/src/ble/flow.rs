//! The plumbing every BLE flow shares: connect with a timeout, subscribe, send and receive whole framed
//! messages under a per-packet timeout and an overall deadline, and always disconnect at the end.
//!
//! A flow opens an [`Exchange`], runs its protocol over [`Exchange::send`] / [`Exchange::receive`], then
//! calls [`Exchange::close`] whatever happened (the flows do this on every path, errors included). Framing
//! errors are [`FlowError::Framing`]: the flow reports them and drops the connection, as the protocol asks.
//!
//! Cancellation: if a flow's future is dropped mid-exchange, the link is dropped without `disconnect`;
//! a [`Link`] implementation must release its connection when dropped.

use std::time::Duration;

use latchkey_protocol::ProtocolError;
use latchkey_protocol::framing::{Fragmenter, Reassembler};
use tokio::time::Instant;

use super::timeouts::Timeouts;
use super::transport::{Link, LinkStats, Transport, TransportError};

/// Why moving a message failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum FlowError {
    /// The link failed or a step timed out.
    Transport(TransportError),
    /// The lock's packets did not reassemble (or a message could not be framed).
    Framing(ProtocolError),
}

impl From<TransportError> for FlowError {
    fn from(e: TransportError) -> FlowError {
        FlowError::Transport(e)
    }
}

fn timeout_error(what: &'static str) -> TransportError {
    TransportError::Timeout { what }
}

/// Connects to `lock_id`: bounded by `timeouts.connect` even if the transport ignores its timeout argument.
async fn connect(
    transport: &dyn Transport,
    lock_id: [u8; 16],
    timeouts: &Timeouts,
) -> Result<Box<dyn Link>, TransportError> {
    match tokio::time::timeout(timeouts.connect, transport.connect(lock_id, timeouts.connect)).await {
        Ok(result) => result,
        Err(_) => Err(timeout_error("connect")),
    }
}

/// One connection to one lock with framing in both directions.
pub(crate) struct Exchange {
    link: Box<dyn Link>,
    fragmenter: Fragmenter,
    reassembler: Reassembler,
    per_message: Duration,
    deadline: Instant,
}

impl Exchange {
    /// Connects and subscribes. The exchange deadline (`timeouts.exchange`) starts once connected. On
    /// failure after connecting, the link is disconnected before returning.
    pub(crate) async fn open(
        transport: &dyn Transport,
        lock_id: [u8; 16],
        timeouts: &Timeouts,
    ) -> Result<Exchange, FlowError> {
        let mut link = connect(transport, lock_id, timeouts).await?;
        let deadline = Instant::now() + timeouts.exchange;
        let mtu = link.mtu();
        let framing = Fragmenter::new(mtu).and_then(|f| Ok((f, Reassembler::new(mtu)?)));
        let (fragmenter, reassembler) = match framing {
            Ok(pair) => pair,
            Err(e) => {
                disconnect(link.as_mut(), timeouts.per_message).await;
                return Err(FlowError::Framing(e));
            }
        };
        let mut exchange =
            Exchange { link, fragmenter, reassembler, per_message: timeouts.per_message, deadline };
        let wait = exchange.wait();
        let subscribed = match tokio::time::timeout(wait, exchange.link.subscribe()).await {
            Ok(r) => r,
            Err(_) => Err(timeout_error("subscribe")),
        };
        if let Err(e) = subscribed {
            exchange.close().await;
            return Err(e.into());
        }
        Ok(exchange)
    }

    /// How long the next step may take: the per-message timeout, cut to what is left of the deadline.
    fn wait(&self) -> Duration {
        self.per_message.min(self.deadline.saturating_duration_since(Instant::now()))
    }

    fn step_timeout(&self, what: &'static str) -> TransportError {
        if Instant::now() >= self.deadline {
            timeout_error("the whole exchange")
        } else {
            timeout_error(what)
        }
    }

    /// Waits for the next whole message. `what` names it in a timeout error ("hello", "unlock result"…).
    pub(crate) async fn receive(&mut self, what: &'static str) -> Result<Vec<u8>, FlowError> {
        loop {
            let wait = self.wait();
            if wait.is_zero() {
                return Err(self.step_timeout(what).into());
            }
            let packet = match tokio::time::timeout(wait, self.link.receive(wait)).await {
                Ok(Ok(packet)) => packet,
                Ok(Err(TransportError::Timeout { .. })) | Err(_) => {
                    return Err(self.step_timeout(what).into());
                }
                Ok(Err(e)) => return Err(e.into()),
            };
            if let Some(message) = self.reassembler.push(&packet).map_err(FlowError::Framing)? {
                return Ok(message);
            }
        }
    }

    /// Sends one whole message, fragmented at the link's MTU.
    pub(crate) async fn send(&mut self, message: &[u8]) -> Result<(), FlowError> {
        let packets = self.fragmenter.fragment(message).map_err(FlowError::Framing)?;
        for packet in packets {
            let wait = self.wait();
            if wait.is_zero() {
                return Err(self.step_timeout("write").into());
            }
            match tokio::time::timeout(wait, self.link.write(&packet)).await {
                Ok(Ok(())) => {}
                Ok(Err(TransportError::Timeout { .. })) | Err(_) => {
                    return Err(self.step_timeout("write").into());
                }
                Ok(Err(e)) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Disconnects (bounded by the per-message timeout) and returns what the link carried.
    pub(crate) async fn close(mut self) -> LinkStats {
        let stats = self.link.stats();
        disconnect(self.link.as_mut(), self.per_message).await;
        stats
    }
}

async fn disconnect(link: &mut dyn Link, wait: Duration) {
    if tokio::time::timeout(wait, link.disconnect()).await.is_err() {
        tracing::warn!("the BLE link did not confirm the disconnect in time");
    }
}
