//! An impostor: a device that advertises a lock's id and answers a phone's sync without holding the lock's
//! keys (a simulator control, [`super::LockRegistry::impersonate`], for testing that a phone never believes
//! it). It swallows the deltas, claims to have applied every one of them and far more
//! (`last_applied_seq = 2^63`), and offers a log batch sealed under a log key it made up. It seals its
//! answers under the sync channel with a static key of its own: the best it can do without the lock's.
//! The real lock is never touched.

use latchkey_protocol::crypto::DhSecret;
use latchkey_protocol::sync::{DeltaOutcome, LogBatch, SyncChannel, SyncInbound, SyncReport, seal_log_batch};
use latchkey_protocol::unlock::{Hello, TimeStatus};

use super::LockError;
use crate::backend::state::random_bytes;

/// What the impostor claims the lock applied.
pub const CLAIMED_SEQ: u64 = 1 << 63;

/// One impostor connection's made-up keys and its channel, once SyncEnd came.
#[derive(Debug)]
pub(super) struct Impostor {
    static_key: DhSecret,
    log_key: [u8; 32],
    channel: Option<SyncChannel>,
}

impl Impostor {
    pub(super) fn new() -> Result<Impostor, LockError> {
        Ok(Impostor {
            static_key: DhSecret::from_bytes(&random_bytes::<32>())?,
            log_key: random_bytes::<32>(),
            channel: None,
        })
    }

    /// The forged report to a completed sync upload.
    pub(super) fn report(&mut self, inbound: &SyncInbound, hello: &[u8]) -> Result<Vec<u8>, LockError> {
        let parsed = Hello::decode(hello)?;
        let channel = SyncChannel::lock(&self.static_key, &inbound.phone_key, &parsed.lock_id, hello)?;
        let outcomes =
            (0..inbound.deltas.len() as u64).map(|i| (CLAIMED_SEQ - i, DeltaOutcome::Applied)).collect();
        let report = SyncReport {
            last_applied_seq: CLAIMED_SEQ,
            lock_time: parsed.lock_time,
            time_status: TimeStatus::Synced,
            battery_percent: 100,
            outcomes,
            more_logs: false,
            sealed_logs: seal_log_batch(&self.log_key, &parsed.lock_id, hello, 0, &[])?,
        };
        let message = channel.seal_report(&report)?;
        self.channel = Some(channel);
        Ok(message)
    }

    /// A forged LogBatch.
    pub(super) fn log_batch(&self, hello: &[u8], index: u32) -> Result<Vec<u8>, LockError> {
        let channel = self.channel.as_ref().ok_or_else(|| LockError::State("no sync yet".into()))?;
        let lock_id = Hello::decode(hello)?.lock_id;
        let sealed_logs = seal_log_batch(&self.log_key, &lock_id, hello, index, &[])?;
        Ok(channel.seal_log_batch_message(index, &LogBatch { more_logs: false, sealed_logs })?)
    }
}
