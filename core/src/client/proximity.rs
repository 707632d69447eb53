//! Proximity unlock: a task that scans, picks the loudest lock in range the user may open now, and
//! unlocks it, then leaves that lock alone for a cool-down. An explicit unlock wins: while one runs, the
//! task skips its turn.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::Inner;

/// How proximity unlock behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProximitySettings {
    /// Pause between scans. Default 1 s.
    pub interval: Duration,
    /// How long one scan listens. Default 2 s.
    pub scan_timeout: Duration,
    /// After an attempt at a lock (granted or not), how long it is left alone. Default 30 s.
    pub cooldown: Duration,
    /// Locks heard quieter than this (dBm) are out of reach (about 3 m). Default -75.
    pub min_rssi: i16,
}

impl Default for ProximitySettings {
    fn default() -> ProximitySettings {
        ProximitySettings {
            interval: Duration::from_secs(1),
            scan_timeout: Duration::from_secs(2),
            cooldown: Duration::from_secs(30),
            min_rssi: -75,
        }
    }
}

pub(super) async fn run(inner: Arc<Inner>, settings: ProximitySettings) {
    let mut last_attempt: HashMap<String, Instant> = HashMap::new();
    loop {
        if inner.check().is_err() {
            return;
        }
        if let Err(error) = turn(&inner, &settings, &mut last_attempt).await {
            tracing::debug!(%error, "proximity turn failed");
        }
        tokio::time::sleep(settings.interval).await;
    }
}

async fn turn(
    inner: &Inner,
    settings: &ProximitySettings,
    last_attempt: &mut HashMap<String, Instant>,
) -> Result<(), super::ClientError> {
    let mut heard = inner.transport.scan(settings.scan_timeout).await?;
    heard.sort_by_key(|advertisement| std::cmp::Reverse(advertisement.rssi));
    let openable = inner.openable()?;
    let now = Instant::now();
    let target = heard
        .iter()
        .filter(|advertisement| advertisement.rssi >= settings.min_rssi)
        .filter_map(|advertisement| openable.get(&advertisement.lock_id))
        .find(|door| last_attempt.get(*door).is_none_or(|at| now.duration_since(*at) >= settings.cooldown));
    let Some(door) = target.cloned() else {
        return Ok(());
    };
    let attempt = tokio::select! {
        result = inner.unlock(&door, super::UnlockOrigin::Proximity) => Some(result),
        // An explicit unlock preempted this one (dropping it sends `Canceled`): try again next turn.
        () = inner.preempt_proximity.notified() => None,
    };
    match attempt {
        // An explicit unlock is running or took over: it wins; try again next turn.
        None | Some(Err(super::ClientError::UnlockInProgress)) => {}
        _ => {
            last_attempt.insert(door, Instant::now());
        }
    }
    Ok(())
}
