//! The sync of one lock (explicit and passive), written so a process killed at any step resumes cleanly:
//! fetched deltas are stored before BLE; the lock's report and sealed logs are stored (one transaction)
//! before any upload; an upload leaves the outbox only once the backend answered.

use latchkey_protocol::sync::{Delta, TIME_TOKEN_LEN};
use latchkey_protocol::sync::{MAX_DELTAS_PER_SYNC, SEALED_BATCH_MAX};

use super::{ClientError, Inner};
use crate::ble::{self, DeltaOutcome, SyncFlowError, Timeouts};
use crate::model::{LogBatchUpload, MAX_BODY_BYTES, UploadLogsRequest};

/// What one [`super::DoorClient::sync`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncSummary {
    /// Whether fresh sync data came from the backend (false: offline, the cached deltas were carried).
    pub fetched: bool,
    /// Deltas carried to the lock.
    pub deltas_carried: usize,
    /// Of those, applied now.
    pub deltas_applied: usize,
    /// Of those, already applied before (a repeat after a crash, or another phone was first).
    pub deltas_already_applied: usize,
    /// Of those, refused by the lock (they are fetched again next time).
    pub deltas_refused: usize,
    /// The lock's last applied seq after the sync.
    pub last_applied_seq: u64,
    /// The lock's battery.
    pub battery_percent: u8,
    /// Sealed log batches read from the lock.
    pub log_batches_read: usize,
    /// Log uploads the backend acknowledged during this sync (this one and any left from before).
    pub log_uploads_acknowledged: usize,
    /// Log uploads still queued (the backend could not be reached): the next sync or fetch sends them.
    pub log_uploads_pending: usize,
    /// Log uploads the backend refused during this sync (a 4xx: bytes it will never accept as they are).
    /// They are quarantined, kept in the store and never block the uploads after them.
    pub log_uploads_quarantined: usize,
    /// The lock holds more logs than one sync fetches: sync again.
    pub more_logs_on_lock: bool,
}

impl Inner {
    /// Fetches the deltas after what the phone already has for this lock (the backend sends at most
    /// [`MAX_DELTAS_PER_SYNC`] at a time) and stores them; returns the time token and the newest seq issued.
    pub(super) async fn fetch_sync_data(
        &self,
        door_uuid: &str,
    ) -> Result<(Option<[u8; TIME_TOKEN_LEN]>, u64), ClientError> {
        let applied = self.store.last_applied_seq(door_uuid)?;
        let data = self.api.sync_data(door_uuid, applied).await?;
        let deltas: Vec<(u64, Vec<u8>)> = data
            .deltas
            .iter()
            .filter_map(|text| {
                let bytes = hex::decode(text).ok()?;
                let seq = Delta::decode(&bytes).ok()?.seq;
                Some((seq, bytes))
            })
            .collect();
        self.check()?;
        self.store.add_pending_deltas(door_uuid, &deltas)?;
        let token = data.time_token.as_deref().and_then(|text| hex::decode(text).ok()?.try_into().ok());
        Ok((token, data.last_issued_seq))
    }

    /// One sync; the caller holds `syncing`. `explicit`: fetch from the backend first and use the full
    /// timeouts; passive syncs carry only what is cached.
    pub(super) async fn sync_locked(
        &self,
        lock_id: &str,
        explicit: bool,
    ) -> Result<SyncSummary, ClientError> {
        let (cached, view) = self.cached_view(lock_id)?;
        // The report is believed only when it opens under the lock's static key the backend listed.
        let lock_public_key = super::lock_public_key(lock_id, &view)?;
        let mut summary = SyncSummary::default();
        let mut time_token = None;
        let mut last_issued = None;
        if explicit {
            match self.fetch_sync_data(lock_id).await {
                Ok((token, issued)) => {
                    summary.fetched = true;
                    time_token = token;
                    last_issued = Some(issued);
                }
                Err(ClientError::Network(error)) => {
                    tracing::info!(%error, "sync data not fetched; carrying the cached deltas")
                }
                Err(other) => return Err(other),
            }
        }
        let timeouts = if explicit { self.timeouts } else { passive_timeouts(&self.timeouts) };
        let mut uploaded = LogUploads::default();
        // A lock behind by more deltas than one session carries (or the backend sends at once) gets several
        // sessions in a row, as long as each one makes progress (the time token goes with the first).
        for round in 1..=MAX_SESSIONS_PER_SYNC {
            let applied_before = summary.deltas_applied;
            let ble_lock = (cached.lock_id, &lock_public_key[..]);
            let carried = self.carry_once(lock_id, ble_lock, time_token.take(), &timeouts, &mut summary);
            match carried.await {
                Ok(()) => {}
                Err(error) if round == 1 => return Err(error),
                // What the earlier sessions did is stored: report it; the next sync carries the rest.
                Err(error) => {
                    tracing::info!(%error, round, "a further sync session failed; the next sync carries the rest");
                    break;
                }
            }
            let cached_more = self.store.pending_delta_count(lock_id)? > 0;
            let backend_more = last_issued.is_some_and(|issued| issued > summary.last_applied_seq);
            if !explicit || !(cached_more || backend_more) || summary.deltas_applied == applied_before {
                break;
            }
            if !cached_more {
                // The backend serves deltas after what the lock's authenticated log says it applied: give
                // it this session's log first.
                uploaded += self.upload_pending_logs(Some(lock_id)).await;
                match self.fetch_sync_data(lock_id).await {
                    Ok((_, issued)) => last_issued = Some(issued),
                    Err(error) => {
                        tracing::info!(%error, "the next deltas were not fetched; the next sync carries them");
                        break;
                    }
                }
            }
            tracing::debug!(round, "more deltas wait for this lock: another session");
        }
        let uploads = uploaded + self.upload_pending_logs(Some(lock_id)).await;
        summary.log_uploads_acknowledged = uploads.acknowledged;
        summary.log_uploads_pending = uploads.left;
        summary.log_uploads_quarantined = uploads.quarantined;
        Ok(summary)
    }

    /// One BLE sync session: carries up to [`MAX_DELTAS_PER_SYNC`] cached deltas (and `time_token`), then
    /// stores the lock's report and sealed logs (one transaction), adding to `summary`.
    async fn carry_once(
        &self,
        lock_id: &str,
        (ble_lock_id, lock_public_key): ([u8; 16], &[u8]),
        time_token: Option<[u8; TIME_TOKEN_LEN]>,
        timeouts: &Timeouts,
        summary: &mut SyncSummary,
    ) -> Result<(), ClientError> {
        let pending = self.store.pending_deltas(lock_id, MAX_DELTAS_PER_SYNC)?;
        summary.deltas_carried += pending.len();
        let deltas = pending.into_iter().map(|(_, delta)| delta).collect();
        let transport = self.transport.as_ref();
        let outcome = ble::sync(transport, ble_lock_id, lock_public_key, deltas, time_token, timeouts)
            .await
            .map_err(|error| match error {
                SyncFlowError::Transport(error) => ClientError::Bluetooth(error),
                other => ClientError::Lock(other.to_string()),
            })?;
        let report = &outcome.report;
        let mut refused = Vec::new();
        for (seq, result) in &report.outcomes {
            match result {
                DeltaOutcome::Applied => summary.deltas_applied += 1,
                DeltaOutcome::AlreadyApplied => summary.deltas_already_applied += 1,
                DeltaOutcome::Refused(_) => {
                    summary.deltas_refused += 1;
                    refused.push(*seq);
                }
            }
        }
        summary.last_applied_seq = report.last_applied_seq;
        summary.battery_percent = report.battery_percent;
        summary.log_batches_read += outcome.log_batches.len();
        summary.more_logs_on_lock = outcome.logs_remaining;
        self.check()?;
        self.store.record_sync(
            lock_id,
            report.last_applied_seq,
            report.battery_percent,
            &refused,
            &outcome.hello,
            &outcome.log_batches,
            self.clock.now(),
        )?;
        Ok(())
    }

    /// The short sync after an unlock: skipped when another sync runs; its failures are only logged.
    pub(super) async fn passive_sync(&self, lock_id: &str) {
        let Ok(_guard) = self.syncing.try_lock() else {
            return;
        };
        if let Err(error) = self.sync_locked(lock_id, false).await {
            tracing::info!(%error, "the passive sync after the unlock failed; the next sync retries");
        }
    }

    /// Uploads queued logs (of one door, or all), oldest first. An upload the backend refuses with a 4xx
    /// (other than an expired session or a rate limit) is quarantined and the next one goes on; any other
    /// failure (network, 5xx) stops the uploads, which stay queued for the next sync or fetch.
    pub(super) async fn upload_pending_logs(&self, door_uuid: Option<&str>) -> LogUploads {
        let Ok(pending) = self.store.pending_logs(door_uuid) else {
            return LogUploads::default();
        };
        let total = pending.len();
        let mut done = LogUploads::default();
        'uploads: for upload in pending {
            // A full lock log is ten sealed batches, more than one request body may carry: send the
            // batches in order, a few per request (the backend continues its chain from what it stored, and
            // counts a repeated entry as a duplicate), and acknowledge the upload once all are stored.
            for batches in upload.batches.chunks(BATCHES_PER_UPLOAD) {
                let request = UploadLogsRequest {
                    hello: hex::encode(&upload.hello),
                    batches: batches
                        .iter()
                        .map(|(index, sealed)| LogBatchUpload { index: *index, sealed: hex::encode(sealed) })
                        .collect(),
                    last_applied_seq: Some(upload.last_applied_seq),
                    battery_percent: Some(upload.battery_percent),
                };
                match self.api.upload_logs(&upload.door_uuid, &request).await {
                    Ok(_) => {}
                    Err(error) if refused_for_good(&error) => {
                        tracing::warn!(%error, door = %upload.door_uuid, "the backend refused a log upload; it is quarantined");
                        if self
                            .store
                            .quarantine_logs(upload.id, &error.to_string(), self.clock.now())
                            .is_err()
                        {
                            break 'uploads;
                        }
                        done.quarantined += 1;
                        continue 'uploads;
                    }
                    Err(error) => {
                        tracing::info!(%error, "log upload failed; it stays queued");
                        break 'uploads;
                    }
                }
            }
            if self.store.ack_logs(upload.id).is_err() {
                break;
            }
            done.acknowledged += 1;
        }
        done.left = total - done.acknowledged - done.quarantined;
        done
    }
}

/// What [`Inner::upload_pending_logs`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct LogUploads {
    /// Acknowledged by the backend.
    pub acknowledged: usize,
    /// Refused for good, now quarantined.
    pub quarantined: usize,
    /// Still queued.
    pub left: usize,
}

impl std::ops::Add for LogUploads {
    type Output = LogUploads;

    /// Two rounds of uploads: what the later one left is what is left.
    fn add(self, later: LogUploads) -> LogUploads {
        LogUploads {
            acknowledged: self.acknowledged + later.acknowledged,
            quarantined: self.quarantined + later.quarantined,
            left: later.left,
        }
    }
}

impl std::ops::AddAssign for LogUploads {
    fn add_assign(&mut self, later: LogUploads) {
        *self = *self + later;
    }
}

/// Whether the backend refused an upload in a way that retrying the same bytes can never fix: a 4xx other
/// than an expired session (401), a timeout (408) or a rate limit (429), or a request the client refused to
/// send.
fn refused_for_good(error: &crate::api::ApiError) -> bool {
    error.is_client_side()
        || error.status().is_some_and(|s| (400..500).contains(&s) && ![401, 408, 429].contains(&s))
}

/// Sealed log batches per upload request: as many as fit [`MAX_BODY_BYTES`] as hex, with room for the rest
/// of the request (8 of 3,602 bytes each).
const BATCHES_PER_UPLOAD: usize = (MAX_BODY_BYTES - 1024) / (2 * SEALED_BATCH_MAX + 64);

/// Most BLE sessions one explicit sync opens to carry a long backlog (16 deltas each).
const MAX_SESSIONS_PER_SYNC: usize = 8;

/// A passive sync waits less: it must not hold the user up.
fn passive_timeouts(timeouts: &Timeouts) -> Timeouts {
    Timeouts {
        connect: timeouts.connect.min(std::time::Duration::from_secs(3)),
        per_message: timeouts.per_message,
        exchange: timeouts.exchange.min(std::time::Duration::from_secs(8)),
    }
}
