//! The event feed: `GET /access/sdk/v1/events?after=&types=&doorUuid=&pageSize=`, the partner's own
//! events oldest first.
//!
//! The cursor is the position (`events.seq`) of the last event read. Positions grow in commit order (one
//! writer; AUTOINCREMENT never gives a number twice), so reading after a cursor never skips an event
//! committed later and never repeats one. Events are kept [`EVENT_RETENTION_DAYS`] days after they were
//! recorded; a cursor older than what was pruned answers 410 rather than silently skipping.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Duration, Utc};
use latchkey::model::{EVENT_RETENTION_DAYS, EVENTS_PAGE_SIZE, EventType, EventView, EventsPage};
use rusqlite::{Connection, OptionalExtension, params};

use crate::backend::auth::PartnerCaller;
use crate::backend::db::{get_enum, get_ts, ts};
use crate::backend::error::{AppError, AppResult};
use crate::backend::extract::Params;
use crate::backend::state::AppState;

/// The feed's route.
pub fn router() -> Router<AppState> {
    Router::new().route("/access/sdk/v1/events", get(list))
}

/// What a feed request asks for.
struct FeedQuery {
    after: i64,
    /// `,type,type,` for an `instr` match, or empty for every type.
    types: String,
    door: Option<String>,
    size: u32,
}

fn parse(params: &Params) -> AppResult<FeedQuery> {
    params.only(&["after", "types", "doorUuid", "pageSize"])?;
    let after = match params.get("after") {
        None => 0,
        Some(text) => text.parse::<i64>().ok().filter(|after| *after >= 0).ok_or_else(|| {
            AppError::BadRequest(format!(
                "after must be a nextCursor from an earlier page of GET /access/sdk/v1/events, got {text:?}"
            ))
        })?,
    };
    let mut types = String::new();
    if let Some(text) = params.get("types") {
        for name in text.split(',').map(str::trim) {
            let known = EventType::parse(name).ok_or_else(|| {
                let all: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
                AppError::BadRequest(format!(
                    "types: unknown event type {name:?}; the types are {} (comma-separated)",
                    all.join(", ")
                ))
            })?;
            types.push(',');
            types.push_str(known.as_str());
        }
        types.push(',');
    }
    let size = match params.get("pageSize") {
        None => EVENTS_PAGE_SIZE,
        Some(text) => {
            text.parse::<u32>().ok().filter(|size| (1..=EVENTS_PAGE_SIZE).contains(size)).ok_or_else(
                || {
                    AppError::BadRequest(format!(
                        "pageSize must be a whole number from 1 to {EVENTS_PAGE_SIZE}, got {text:?}"
                    ))
                },
            )?
        }
    };
    Ok(FeedQuery { after, types, door: params.get("doorUuid").map(str::to_owned), size })
}

async fn list(
    State(state): State<AppState>,
    caller: PartnerCaller,
    params: Params,
) -> AppResult<Json<EventsPage>> {
    let query = parse(&params)?;
    let now = state.now();
    if state.db.read(|conn| has_expired(conn, now))? {
        state.db.write(|tx| prune(tx, now))?;
    }
    let page = state.db.read(|conn| page(conn, &caller.partner_uuid, &query))?;
    Ok(Json(page))
}

fn cutoff(now: DateTime<Utc>) -> String {
    ts(now - Duration::days(EVENT_RETENTION_DAYS))
}

/// Whether any stored event is past the retention.
fn has_expired(conn: &Connection, now: DateTime<Utc>) -> rusqlite::Result<bool> {
    conn.prepare_cached("SELECT 1 FROM events WHERE recorded_at < ?1 LIMIT 1")?
        .query_row([cutoff(now)], |_| Ok(()))
        .optional()
        .map(|found| found.is_some())
}

/// Deletes the events past the retention and remembers the last position deleted.
pub fn prune(conn: &Connection, now: DateTime<Utc>) -> rusqlite::Result<()> {
    let last: Option<i64> = conn
        .prepare_cached("SELECT MAX(seq) FROM events WHERE recorded_at < ?1")?
        .query_row([cutoff(now)], |row| row.get(0))?;
    let Some(last) = last else { return Ok(()) };
    conn.execute("DELETE FROM events WHERE recorded_at < ?1", [cutoff(now)])?;
    // Their deliveries and attempts go with them.
    for table in ["webhook_deliveries", "webhook_attempts"] {
        conn.execute(
            &format!("DELETE FROM {table} WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.seq = event_seq)"),
            [],
        )?;
    }
    conn.execute(
        "INSERT INTO meta (key, value) VALUES ('events_pruned_through', ?1)
         ON CONFLICT (key) DO UPDATE SET value = MAX(value, excluded.value)",
        [last],
    )?;
    Ok(())
}

/// SQL: the columns [`event_at`] reads, of `events e`.
pub const EVENT_COLUMNS: &str = "e.id, e.event_type, e.door_uuid, e.occurred_at, e.recorded_at, e.data";

/// The event in the [`EVENT_COLUMNS`] of `row` from column `start` on.
pub fn event_at(row: &rusqlite::Row<'_>, start: usize) -> rusqlite::Result<EventView> {
    let data: String = row.get(start + 5)?;
    let data = serde_json::from_str(&data).map_err(|error| {
        rusqlite::Error::FromSqlConversionFailure(start + 5, rusqlite::types::Type::Text, Box::new(error))
    })?;
    Ok(EventView {
        id: row.get(start)?,
        event_type: get_enum(row, start + 1, EventType::parse)?,
        door_uuid: Some(row.get::<_, String>(start + 2)?).filter(|door| !door.is_empty()),
        occurred_at: get_ts(row, start + 3)?,
        recorded_at: get_ts(row, start + 4)?,
        data,
    })
}

fn page(conn: &Connection, partner: &str, query: &FeedQuery) -> AppResult<EventsPage> {
    let pruned: Option<i64> = conn
        .query_row("SELECT value FROM meta WHERE key = 'events_pruned_through'", [], |row| row.get(0))
        .optional()?;
    if query.after > 0 && pruned.is_some_and(|pruned| query.after < pruned) {
        return Err(AppError::Gone(format!(
            "cursor {} is older than the feed keeps (events are kept {EVENT_RETENTION_DAYS} days): read again \
             without `after` to start from the oldest event kept",
            query.after
        )));
    }
    let mut statement = conn.prepare_cached(&format!(
        "SELECT e.seq, {EVENT_COLUMNS} FROM events e
             WHERE e.partner_uuid = ?1 AND e.seq > ?2
               AND (?3 = '' OR instr(?3, ',' || e.event_type || ',') > 0)
               AND (?4 IS NULL OR e.door_uuid = ?4)
             ORDER BY e.seq LIMIT ?5"
    ))?;
    let rows = statement.query_map(
        params![partner, query.after, query.types, query.door, i64::from(query.size) + 1],
        |row| Ok((row.get::<_, i64>(0)?, event_at(row, 1)?)),
    )?;
    let mut events = rows.collect::<rusqlite::Result<Vec<_>>>()?;
    let has_more = events.len() > query.size as usize;
    events.truncate(query.size as usize);
    let next_cursor = events.last().map_or(query.after, |(seq, _)| *seq).to_string();
    Ok(EventsPage { events: events.into_iter().map(|(_, event)| event).collect(), next_cursor, has_more })
}
