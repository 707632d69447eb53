//! The typed client (`latchkey::api`) against the in-process simulator: every rule, table row and error of
//! the spec, asserted as a partner would notice it (status, message, fields, codes, notifications).
//!
//! One binary, one module per concern; every test starts its own simulator with a
//! [`latchkey::ManualClock`] (see [`support`]), so time moves only when a test moves it.

mod proxy;
mod support;

mod controls;
mod daily_day;
mod door_client;
mod doorcodes;
mod errors;
mod events;
mod idempotency;
mod isolation;
mod locks;
mod me;
mod network_faults;
mod notifications;
mod pagination;
mod patch_revoke;
mod persistence;
mod ratelimit;
mod security;
mod sign_in;
mod tokens;
mod upsert;
mod validation;
mod web;
mod webhooks;
