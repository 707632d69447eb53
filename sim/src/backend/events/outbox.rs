//! The webhook outbox: one `webhook_deliveries` row per event and endpoint, written in the transaction that
//! records the event (so a committed event always has its deliveries, which survive any crash), and the
//! manual replays. The delivery worker (`super::delivery`) works the rows off.

use chrono::{DateTime, Utc};
use latchkey::model::EventType;
use rusqlite::{Connection, params};

use crate::backend::db::ts;

/// Queues the delivery of event `event_seq` to every enabled endpoint of `partner` that takes its type.
pub fn enqueue(
    conn: &Connection,
    partner: &str,
    event_seq: i64,
    event_type: EventType,
    now: DateTime<Utc>,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO webhook_deliveries (endpoint_uuid, event_seq, state, attempts, next_attempt_at)
         SELECT uuid, ?2, 'PENDING', 0, ?3 FROM webhook_endpoints
         WHERE partner_uuid = ?1 AND disabled_reason IS NULL AND (types = '' OR instr(types, ?4) > 0)
         ORDER BY seq",
    )?
    .execute(params![partner, event_seq, ts(now), format!(",{},", event_type.as_str())])?;
    Ok(())
}

/// Queues again the partner's events that `endpoint` takes: the one with id `event_id`, or those recorded in
/// `[since, until)`. Returns how many were queued.
pub fn replay(
    conn: &Connection,
    endpoint: &str,
    event_id: Option<&str>,
    range: Option<(DateTime<Utc>, DateTime<Utc>)>,
    now: DateTime<Utc>,
) -> rusqlite::Result<usize> {
    let (since, until) = range.map_or((None, None), |(since, until)| (Some(ts(since)), Some(ts(until))));
    conn.prepare_cached(
        "INSERT INTO webhook_deliveries (endpoint_uuid, event_seq, state, attempts, next_attempt_at)
         SELECT w.uuid, e.seq, 'PENDING', 0, ?5 FROM events e JOIN webhook_endpoints w ON w.partner_uuid = e.partner_uuid
         WHERE w.uuid = ?1 AND (w.types = '' OR instr(w.types, ',' || e.event_type || ',') > 0)
           AND (?2 IS NULL OR e.id = ?2)
           AND (?3 IS NULL OR (e.recorded_at >= ?3 AND e.recorded_at < ?4))
         ORDER BY e.seq",
    )?
    .execute(params![endpoint, event_id, since, until, ts(now)])
}
