//! The webhook delivery worker: works off the outbox (`webhook_deliveries`), one endpoint at a time in feed
//! order, at least once.
//!
//! Each endpoint gets its oldest pending delivery, and only when it is due by the simulator's clock (so
//! moving the clock drives the retry schedule); a success moves on to the next at once. So an endpoint
//! receives its events in the order they were recorded, and one that is down holds back only its own
//! deliveries: every endpoint is worked by its own task, and a slow or huge answer is cut off
//! ([`BackendConfig::webhook_timeout`], [`MAX_RESPONSE_BYTES`]). 2xx is a success; any other status, a
//! timeout, a refused connection or a redirect is a failure, retried after [`RETRY_SCHEDULE`] (±20 %
//! jitter, at least the answer's `Retry-After`), and given up (FAILED, still in the log, replayable) after
//! the last. An endpoint that fails for [`WEBHOOK_DISABLE_AFTER_DAYS`] days without a success is disabled
//! with an `endpoint.disabled` event. Every attempt is logged (`webhook_attempts`).
//!
//! The outcome of an attempt is committed after the endpoint answered: a crash in between sends that
//! delivery again after the restart (the receiver de-duplicates on `webhook-id`), never loses it.
//!
//! [`BackendConfig::webhook_timeout`]: crate::backend::state::BackendConfig::webhook_timeout

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use latchkey::model::{EndpointDisabledData, EventType, EventView, WEBHOOK_DISABLE_AFTER_DAYS};
use latchkey::webhooks::{self, WebhookSecret};
use rand::Rng;
use rusqlite::{Connection, OptionalExtension, params};

use super::endpoints::own_endpoint;
use super::feed::{EVENT_COLUMNS, event_at};
use crate::backend::db::{get_opt_ts, get_ts, ts};
use crate::backend::error::AppError;
use crate::backend::state::AppState;

/// The waits after the 1st, 2nd, … failure of a delivery, in seconds: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h,
/// 10 h (Standard Webhooks' reference schedule). After the 8th attempt fails the delivery is given up.
pub const RETRY_SCHEDULE: [i64; 7] = [5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600];

/// The longest `Retry-After` honoured, in seconds (a day).
pub const MAX_RETRY_AFTER: i64 = 24 * 3600;

/// How much of an endpoint's answer is read; the rest is dropped.
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// How many deliveries one endpoint's task makes before giving the others a turn.
const BATCH: usize = 100;

/// How often the worker looks for due deliveries (host time).
const POLL: std::time::Duration = std::time::Duration::from_millis(100);

/// One due delivery with what sending it needs.
struct Due {
    delivery: i64,
    endpoint: String,
    attempts: i64,
    url: String,
    secrets: Vec<String>,
    event: EventView,
    event_seq: i64,
}

/// What one attempt gave.
struct Outcome {
    status: Option<u16>,
    error: Option<String>,
    retry_after: Option<i64>,
    latency_ms: u64,
}

/// Runs until the task is aborted.
pub async fn run(state: AppState) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = match reqwest::Client::builder()
        .connect_timeout(state.config.webhook_timeout)
        .timeout(state.config.webhook_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("Latchkey-Webhooks/1")
        .build()
    {
        Ok(client) => client,
        Err(error) => {
            tracing::error!(%error, "webhook deliveries are off: no HTTP client");
            return;
        }
    };
    let busy: Arc<Mutex<HashSet<String>>> = Arc::default();
    loop {
        match due_endpoints(&state) {
            Ok(endpoints) => {
                for endpoint in endpoints {
                    if !busy.lock().unwrap_or_else(|p| p.into_inner()).insert(endpoint.clone()) {
                        continue;
                    }
                    let (state, client, busy) = (state.clone(), client.clone(), busy.clone());
                    tokio::spawn(async move {
                        if let Err(error) = work_endpoint(&state, &client, &endpoint).await {
                            tracing::warn!(%error, "webhook delivery bookkeeping failed");
                        }
                        busy.lock().unwrap_or_else(|p| p.into_inner()).remove(&endpoint);
                    });
                }
            }
            Err(error) => tracing::warn!(%error, "could not read the webhook outbox"),
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The enabled endpoints whose oldest pending delivery is due.
fn due_endpoints(state: &AppState) -> rusqlite::Result<Vec<String>> {
    let now = ts(state.now());
    state.db.read(|conn| {
        let mut statement = conn.prepare_cached(
            "SELECT w.uuid FROM webhook_endpoints w
             WHERE w.disabled_reason IS NULL
               AND (SELECT d.next_attempt_at FROM webhook_deliveries d
                    WHERE d.endpoint_uuid = w.uuid AND d.state = 'PENDING' ORDER BY d.seq LIMIT 1) <= ?1",
        )?;
        let rows = statement.query_map([now], |row| row.get(0))?;
        rows.collect()
    })
}

/// Delivers the endpoint's due deliveries in order until one fails or none is due.
async fn work_endpoint(state: &AppState, client: &reqwest::Client, endpoint: &str) -> Result<(), AppError> {
    for _ in 0..BATCH {
        let now = state.now();
        let Some(due) = state.db.read(|conn| head(conn, endpoint, now))? else { return Ok(()) };
        let outcome = attempt(client, &due).await;
        let succeeded = outcome.status.is_some_and(|status| (200..300).contains(&status));
        let now = state.now();
        state.db.write(|tx| settle(tx, &due, &outcome, succeeded, now))?;
        if !succeeded {
            return Ok(());
        }
    }
    Ok(())
}

/// The endpoint's oldest pending delivery, if it is due at `now` and the endpoint is enabled.
fn head(conn: &Connection, endpoint: &str, now: DateTime<Utc>) -> rusqlite::Result<Option<Due>> {
    let mut statement = conn.prepare_cached(&format!(
        "SELECT d.seq, d.attempts, d.next_attempt_at, w.url, w.secret, w.previous_secret, w.previous_secret_until,
                d.event_seq, {EVENT_COLUMNS}
         FROM webhook_deliveries d JOIN webhook_endpoints w ON w.uuid = d.endpoint_uuid
              JOIN events e ON e.seq = d.event_seq
         WHERE d.endpoint_uuid = ?1 AND d.state = 'PENDING' AND w.disabled_reason IS NULL
         ORDER BY d.seq LIMIT 1"
    ))?;
    let found = statement
        .query_row([endpoint], |row| {
            let next: DateTime<Utc> = get_ts(row, 2)?;
            let mut secrets = vec![row.get::<_, String>(4)?];
            let previous: Option<String> = row.get(5)?;
            if let (Some(previous), Some(until)) = (previous, get_opt_ts(row, 6)?)
                && until > now
            {
                secrets.push(previous);
            }
            Ok((
                next,
                Due {
                    delivery: row.get(0)?,
                    endpoint: endpoint.to_owned(),
                    attempts: row.get(1)?,
                    url: row.get(3)?,
                    secrets,
                    event_seq: row.get(7)?,
                    event: event_at(row, 8)?,
                },
            ))
        })
        .optional()?;
    Ok(found.and_then(|(next, due)| (next <= now).then_some(due)))
}

/// Sends one delivery. The signature's timestamp is the host's clock, not the simulator's: a receiver
/// checks it against its own clock (`webhooks::TOLERANCE_SECONDS`), whatever the simulator's clock says.
async fn attempt(client: &reqwest::Client, due: &Due) -> Outcome {
    let started = Instant::now();
    let elapsed = |started: Instant| u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let body = match serde_json::to_vec(&due.event) {
        Ok(body) => body,
        Err(error) => {
            return Outcome {
                status: None,
                error: Some(format!("could not encode: {error}")),
                retry_after: None,
                latency_ms: 0,
            };
        }
    };
    let timestamp = Utc::now().timestamp();
    let secrets: Vec<WebhookSecret> =
        due.secrets.iter().filter_map(|text| WebhookSecret::parse(text).ok()).collect();
    let signature = webhooks::sign(&secrets.iter().collect::<Vec<_>>(), &due.event.id, timestamp, &body);
    let sent = client
        .post(&due.url)
        .header("content-type", "application/json")
        .header("webhook-id", &due.event.id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(body)
        .send()
        .await;
    let mut response = match sent {
        Ok(response) => response,
        Err(error) => {
            let why = if error.is_timeout() {
                "timed out".to_owned()
            } else if error.is_connect() {
                "could not connect (refused or unreachable)".to_owned()
            } else {
                "the request failed".to_owned()
            };
            return Outcome {
                status: None,
                error: Some(why),
                retry_after: None,
                latency_ms: elapsed(started),
            };
        }
    };
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|value| value.to_str().ok())
        .and_then(|text| text.trim().parse::<i64>().ok())
        .map(|seconds| seconds.clamp(0, MAX_RETRY_AFTER));
    // The answer is read to the limit (and within the timeout), never further.
    let mut read = 0usize;
    let mut error = None;
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                read += chunk.len();
                if read >= MAX_RESPONSE_BYTES {
                    break;
                }
            }
            Ok(None) => break,
            Err(failure) => {
                if failure.is_timeout() {
                    error = Some("timed out reading the answer".to_owned());
                }
                break;
            }
        }
    }
    let success = (200..300).contains(&status) && error.is_none();
    if !success && error.is_none() {
        error = Some(format!("answered {status}"));
    }
    let status = if error.as_deref() == Some("timed out reading the answer") { None } else { Some(status) };
    Outcome { status, error, retry_after, latency_ms: elapsed(started) }
}

/// Commits an attempt's outcome: the log, the delivery's state or next attempt, the endpoint's failure
/// streak, and disabling it (with its event) when the streak is too long.
fn settle(
    tx: &Connection,
    due: &Due,
    outcome: &Outcome,
    succeeded: bool,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    // The endpoint may have been deleted meanwhile: then there is nothing to settle.
    let Some(partner) = tx
        .query_row("SELECT partner_uuid FROM webhook_endpoints WHERE uuid = ?1", [&due.endpoint], |row| {
            row.get::<_, String>(0)
        })
        .optional()?
    else {
        return Ok(());
    };
    tx.execute(
        "INSERT INTO webhook_attempts (endpoint_uuid, event_seq, attempted_at, status, error, latency_ms, succeeded)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![due.endpoint, due.event_seq, ts(now), outcome.status, outcome.error, outcome.latency_ms as i64, succeeded],
    )?;
    let attempts = due.attempts + 1;
    if succeeded {
        tx.execute(
            "UPDATE webhook_deliveries SET state = 'SUCCEEDED', attempts = ?2 WHERE seq = ?1",
            params![due.delivery, attempts],
        )?;
        tx.execute("UPDATE webhook_endpoints SET failing_since = NULL WHERE uuid = ?1", [&due.endpoint])?;
        return Ok(());
    }
    match RETRY_SCHEDULE.get(due.attempts as usize) {
        Some(wait) => {
            let jittered = (*wait as f64 * rand::rng().random_range(0.8..1.2)) as i64;
            let wait = jittered.max(outcome.retry_after.unwrap_or(0));
            tx.execute(
                "UPDATE webhook_deliveries SET attempts = ?2, next_attempt_at = ?3 WHERE seq = ?1",
                params![due.delivery, attempts, ts(now + Duration::seconds(wait))],
            )?;
        }
        None => {
            tx.execute(
                "UPDATE webhook_deliveries SET state = 'FAILED', attempts = ?2 WHERE seq = ?1",
                params![due.delivery, attempts],
            )?;
        }
    }
    tx.execute(
        "UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, ?2) WHERE uuid = ?1",
        params![due.endpoint, ts(now)],
    )?;
    let failing_since: DateTime<Utc> = tx.query_row(
        "SELECT failing_since FROM webhook_endpoints WHERE uuid = ?1",
        [&due.endpoint],
        |row| get_ts(row, 0),
    )?;
    if now - failing_since >= Duration::days(WEBHOOK_DISABLE_AFTER_DAYS) {
        let reason = format!(
            "every delivery failed for {WEBHOOK_DISABLE_AFTER_DAYS} days (last: {}); fix the endpoint, then enable it \
             with PATCH {{\"enabled\": true}}: its pending deliveries resume",
            outcome.error.as_deref().unwrap_or("failed")
        );
        tx.execute(
            "UPDATE webhook_endpoints SET disabled_reason = ?2 WHERE uuid = ?1",
            params![due.endpoint, reason],
        )?;
        let endpoint = own_endpoint(tx, &partner, &due.endpoint)?;
        super::record::record(
            tx,
            &partner,
            EventType::EndpointDisabled,
            "",
            now,
            now,
            &EndpointDisabledData { endpoint, reason },
        )?;
    }
    Ok(())
}
