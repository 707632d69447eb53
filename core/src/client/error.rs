//! [`ClientError`]: every failure of the [`super::DoorClient`], each saying what to do.

use crate::api::ApiError;
use crate::ble::{DenyReason, SignerError, TransportError};
use crate::store::StoreError;

/// Why a [`super::DoorClient`] call failed. No variant carries a token, credential or key.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The client was cleared (signed out): set it up again with [`super::DoorClient::setup`].
    #[error("the door client is not set up (it was cleared): call setup again with a user session")]
    NotSetUp,
    /// Another unlock is running; only one runs at a time.
    #[error("an unlock is already in progress: wait for it to finish")]
    UnlockInProgress,
    /// The unlock was canceled by [`super::DoorClient::cancel_unlock`] before it finished.
    #[error("the unlock was canceled before it finished: start it again to open the door")]
    Canceled,
    /// The lock is not among the user's cached locks.
    #[error("lock {lock_id} is not one of your locks: refresh the lock list with fetch_locks()")]
    LockNotFound {
        /// The lock asked for.
        lock_id: String,
    },
    /// There is nothing on this phone to open the lock with.
    #[error("no credential for lock {lock_id}: {what_to_do}")]
    NoCredential {
        /// The lock asked for.
        lock_id: String,
        /// What to do about it.
        what_to_do: String,
    },
    /// The backend could not be reached or refused the call (an expired session, no network, …). Cached
    /// data is still served by the offline calls.
    #[error("the backend call failed: {0} (check the network or sign in again; cached data stays available)")]
    Network(#[from] ApiError),
    /// Bluetooth failed or the lock was out of reach.
    #[error(transparent)]
    Bluetooth(#[from] TransportError),
    /// The lock refused the credential.
    #[error("the lock refused: {0}")]
    Denied(DenyReason),
    /// The lock's answers could not be used (a wrong or forged lock, garbled messages, stale keys).
    #[error("the exchange with the lock failed: {0} (try again; if it persists, refresh the lock list)")]
    Lock(String),
    /// The device key could not sign.
    #[error(transparent)]
    Signer(#[from] SignerError),
    /// The local store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}
