//! Ingesting a lock's event log, exactly once (protocol.md §21, §24).
//!
//! A phone uploads the sealed batches a lock gave it during a sync, with the Hello of that connection.
//! The backend opens them ([`open_log_batch`]), skips entries it already holds (after checking they are
//! byte-for-byte what it stored), checks that the new ones chain on from the last stored entry
//! ([`verify_chain`]) and stores each once (`UNIQUE(door, seq)`). `lock_log_heads` then names the last
//! entry, which the next delta acknowledges (a `LogAck`), so the lock may delete what the backend holds.

use chrono::{DateTime, Utc};
use latchkey_protocol::eventlog::{self, Entry, EventKind, GENESIS_PREV_MAC, MAC_LEN, verify_chain};
use latchkey_protocol::sync::open_log_batch;
use rusqlite::{Connection, OptionalExtension, params};

use super::provision::require_lock;
use crate::backend::db::ts;
use crate::backend::error::{AppError, AppResult};

/// What one upload did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IngestReport {
    /// Entries in the upload.
    pub received: usize,
    /// Entries stored now.
    pub stored: usize,
    /// Entries the backend already held (a re-upload): not stored again.
    pub duplicates: usize,
    /// The last entry the backend holds after this upload, if any.
    pub last_seq: Option<u64>,
}

/// Opens and ingests `batches` (`(batch_index, sealed bytes)`) uploaded with the connection's `hello`.
///
/// A batch that does not open (tampered, or sealed for another hello or index) refuses the whole upload
/// (`400`). A chain break is a `409` naming the index of the first bad entry in the upload; the entries
/// before it are stored, nothing after it. (Inside `Db::write` the error rolls the prefix back too; call
/// it on a plain connection to keep the prefix.)
pub fn ingest_logs(
    conn: &Connection,
    door_uuid: &str,
    hello: &[u8],
    batches: &[(u32, Vec<u8>)],
    now: DateTime<Utc>,
) -> AppResult<IngestReport> {
    let lock = require_lock(conn, door_uuid)?;
    let mut entries = Vec::new();
    for (index, sealed) in batches {
        let opened =
            open_log_batch(&lock.log_key, &lock.lock_id, hello, *index, sealed).map_err(|error| {
                AppError::BadRequest(format!("log batch {index} of door {door_uuid} does not open: {error}"))
            })?;
        entries.extend(opened);
    }
    ingest_entries(conn, door_uuid, &entries, now)
}

/// Ingests already opened entries (what [`ingest_logs`] does after opening the batches).
pub fn ingest_entries(
    conn: &Connection,
    door_uuid: &str,
    entries: &[Entry],
    now: DateTime<Utc>,
) -> AppResult<IngestReport> {
    let lock = require_lock(conn, door_uuid)?;
    let head = head(conn, door_uuid)?;
    let (last_seq, last_mac) = head.unwrap_or((0, GENESIS_PREV_MAC));
    let mut report =
        IngestReport { received: entries.len(), last_seq: head.map(|h| h.0), ..IngestReport::default() };

    let mut first_new = 0;
    for (index, entry) in entries.iter().enumerate() {
        if entry.seq > last_seq {
            break;
        }
        let stored: Option<Vec<u8>> = conn
            .query_row(
                "SELECT entry FROM lock_log_entries WHERE door_uuid = ?1 AND seq = ?2",
                params![door_uuid, seq_sql(entry.seq)?],
                |row| row.get(0),
            )
            .optional()?;
        if stored.as_deref() != Some(&entry.encode()[..]) {
            return Err(AppError::Conflict(format!(
                "log upload of door {door_uuid}: entry index {index} (seq {}) differs from the stored entry",
                entry.seq
            )));
        }
        report.duplicates += 1;
        first_new = index + 1;
    }

    let fresh = &entries[first_new..];
    let (valid, broken) = match verify_chain(fresh, &lock.log_key, &lock.lock_id, &last_mac) {
        Ok(()) => (fresh, None),
        Err(chain_break) => (&fresh[..chain_break.index], Some(chain_break)),
    };
    for entry in valid {
        conn.execute(
            "INSERT INTO lock_log_entries (door_uuid, seq, entry, received_at) VALUES (?1, ?2, ?3, ?4)",
            params![door_uuid, seq_sql(entry.seq)?, &entry.encode()[..], ts(now)],
        )?;
        report.stored += 1;
    }
    crate::backend::events::record::lock_entries(conn, now, door_uuid, valid)?;
    if let Some(last) = valid.last() {
        conn.execute(
            "INSERT OR REPLACE INTO lock_log_heads (door_uuid, last_seq, last_mac) VALUES (?1, ?2, ?3)",
            params![door_uuid, seq_sql(last.seq)?, &last.mac[..]],
        )?;
        report.last_seq = Some(last.seq);
    }
    if let Some(chain_break) = broken {
        return Err(AppError::Conflict(format!(
            "log upload of door {door_uuid} breaks the chain at entry index {} ({:?}): {} entries before it were stored, none after",
            first_new + chain_break.index,
            chain_break.reason,
            report.stored
        )));
    }
    Ok(report)
}

/// The entries the backend holds for a door, in order (tests and, later, the logs endpoint).
pub fn stored_entries(conn: &Connection, door_uuid: &str) -> AppResult<Vec<Entry>> {
    let mut statement =
        conn.prepare_cached("SELECT entry FROM lock_log_entries WHERE door_uuid = ?1 ORDER BY seq")?;
    let rows = statement.query_map([door_uuid], |row| row.get::<_, Vec<u8>>(0))?;
    let mut out = Vec::new();
    for bytes in rows {
        out.push(
            eventlog::Entry::decode(&bytes?).map_err(|error| AppError::internal(format_args!("{error}")))?,
        );
    }
    Ok(out)
}

fn seq_sql(seq: u64) -> AppResult<i64> {
    i64::try_from(seq).map_err(|_| AppError::BadRequest(format!("log seq {seq} is out of range")))
}

/// The lock's last applied delta seq as its authenticated log says it: the last ingested `SYNC_APPLIED`
/// entry carries the seq modulo 2^16 in `detail` (protocol.md §21), read as the largest issued seq with
/// those low bits. `None` before any such entry. The backend serves sync data after
/// `min(afterSeq, this)`, so a phone told a false seq (by an impostor, or a bug) still gets every delta the
/// lock has not applied.
pub fn authenticated_applied_seq(conn: &Connection, door_uuid: &str) -> AppResult<Option<u64>> {
    let mut statement =
        conn.prepare_cached("SELECT entry FROM lock_log_entries WHERE door_uuid = ?1 ORDER BY seq DESC")?;
    let mut rows = statement.query([door_uuid])?;
    let mut low = None;
    while let Some(row) = rows.next()? {
        let entry = eventlog::Entry::decode(&row.get::<_, Vec<u8>>(0)?)
            .map_err(|error| AppError::internal(format_args!("{error}")))?;
        if entry.record.kind == EventKind::SYNC_APPLIED {
            low = Some(u64::from(entry.record.detail));
            break;
        }
    }
    let Some(low) = low else {
        return Ok(None);
    };
    let issued: Option<i64> =
        conn.query_row("SELECT MAX(seq) FROM lock_deltas WHERE door_uuid = ?1", [door_uuid], |row| {
            row.get(0)
        })?;
    let issued = issued.and_then(|seq| u64::try_from(seq).ok()).unwrap_or(0);
    Ok(issued.checked_sub(issued.wrapping_sub(low) % (1 << 16)).filter(|seq| *seq > 0))
}

/// The last ingested log entry of a door: its seq and MAC (the head of the chain the backend holds).
pub(crate) fn head(conn: &Connection, door_uuid: &str) -> AppResult<Option<(u64, [u8; MAC_LEN])>> {
    let head: Option<(i64, Vec<u8>)> = conn
        .query_row("SELECT last_seq, last_mac FROM lock_log_heads WHERE door_uuid = ?1", [door_uuid], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .optional()?;
    head.map(|(seq, mac)| {
        Ok((
            u64::try_from(seq).map_err(AppError::internal)?,
            mac.try_into().map_err(|_| AppError::internal("stored log mac is not 16 bytes"))?,
        ))
    })
    .transpose()
}
