//! Partner events: the event model's storage, what records events, the partner's feed
//! (`GET /access/sdk/v1/events`), its webhook endpoints, the durable outbox of deliveries and the worker
//! that makes them.
//!
//! An event is stored once per partner that may see it (its own row, id and place in that partner's feed),
//! in the transaction of the change it reports, so a committed change always has its event and a rolled
//! back one never does. Who sees what (`record.rs`): a partner sees only events at doors of an enabled key
//! assigned to it when the event happens; of the events about a user only its own users' — accesses it
//! granted, changes by the property manager or a sharing user to users it has granted access to, their
//! entries in a lock's log; events about the door alone (a wrong code, a keypad lockout, a lock's sync) go
//! to every partner with the door. This module must not decide access: it only reports what the grant,
//! patch, revoke and log-ingest paths did.

pub mod delivery;
pub mod endpoints;
pub mod feed;
pub mod outbox;
pub mod record;

use axum::Router;

use super::state::AppState;

/// The event routes of the partner API.
pub fn router() -> Router<AppState> {
    feed::router().merge(endpoints::router())
}
