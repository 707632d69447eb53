//! The notification outbox: every email and SMS the backend "sends" is stored here and can be read back
//! through `GET /manager/v1/outbox`. It stands in for the user's inbox, so it holds codes in clear text —
//! it is never logged.

use chrono::{DateTime, Utc};
use latchkey::model::{Channel, MessageKind, OutboxMessage};
use rusqlite::{Connection, params};

use super::db::{get_ts, ts};

/// Stores one message as sent at `now`.
pub fn send(
    conn: &Connection,
    now: DateTime<Utc>,
    channel: Channel,
    recipient: &str,
    kind: MessageKind,
    subject: &str,
    content: &str,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO outbox (channel, recipient, kind, subject, content, sent_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![wire(&channel), recipient, wire(&kind), subject, content, ts(now)])?;
    Ok(())
}

/// Every message, newest last.
pub fn list(conn: &Connection) -> rusqlite::Result<Vec<OutboxMessage>> {
    let mut statement = conn
        .prepare("SELECT id, channel, recipient, kind, subject, content, sent_at FROM outbox ORDER BY id")?;
    let rows = statement.query_map([], |row| {
        Ok(OutboxMessage {
            id: row.get(0)?,
            channel: from_wire(row, 1)?,
            recipient: row.get(2)?,
            kind: from_wire(row, 3)?,
            subject: row.get(4)?,
            content: row.get(5)?,
            sent_at: get_ts(row, 6)?,
        })
    })?;
    rows.collect()
}

/// The wire spelling of a serde enum (`EMAIL`, `DOORCODE`, …).
fn wire<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value).ok().and_then(|value| value.as_str().map(str::to_owned)).unwrap_or_default()
}

fn from_wire<T: serde::de::DeserializeOwned>(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<T> {
    let text: String = row.get(index)?;
    serde_json::from_value(serde_json::Value::String(text)).map_err(|error| {
        rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, Box::new(error))
    })
}
