//! Issuing doorcodes: random PERMANENT codes unique among the current codes of their doors, one common
//! code per user for communal doors, and DAILY / DAILY_SINGLE_USE codes derived with
//! `latchkey_protocol::doorcode::daily` from the door's secret, its local day and a per-day slot, so an
//! offline lock can derive the same code.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use latchkey::model::PasscodeType;
use latchkey_protocol::doorcode::{self, CODE_SPACE, DailyKind, LocalDay};
use latchkey_protocol::keypad::DAILY_SLOT_WINDOW;
use rand::Rng;
use rusqlite::{Connection, OptionalExtension, params};

use super::db::ts;
use super::directory::DoorRecord;

/// How many slots (or random draws) are tried before giving up on finding a free code.
const MAX_TRIES: u32 = 64;

/// Whether `code` is already a current code of `door` (for any user or granter).
/// `now` as stored ([`ts`]), formatted once by the caller for all its checks.
fn in_use(conn: &Connection, door: &str, code: &str, now: &str) -> rusqlite::Result<bool> {
    // `temp.door_codes` is the in-memory index of codes (`db/code_index.rs`).
    conn.prepare_cached(
        "SELECT EXISTS(SELECT 1 FROM temp.door_codes c JOIN accesses a ON a.seq = c.access_seq
                       WHERE c.door_uuid = ?1 AND c.doorcode = ?2 AND (a.end_time IS NULL OR a.end_time > ?3))",
    )?
    .query_row(params![door, code, now], |row| row.get(0))
}

/// A random 7-digit code not in current use at any of `doors`.
pub fn random_unique(
    conn: &Connection,
    doors: &[&str],
    now: DateTime<Utc>,
) -> rusqlite::Result<Option<String>> {
    let mut rng = rand::rng();
    let now = ts(now);
    for _ in 0..MAX_TRIES {
        let code = format!("{:07}", rng.random_range(0..CODE_SPACE));
        let mut free = true;
        for door in doors {
            if in_use(conn, door, &code, &now)? {
                free = false;
                break;
            }
        }
        if free {
            return Ok(Some(code));
        }
    }
    Ok(None)
}

/// The common code this user already holds from `granter` on communal doors, if any, and if no other
/// user holds it at any of `doors` (the communal doors about to get it): a code names one user at a door.
pub fn existing_common_code(
    conn: &Connection,
    user: &str,
    granter: (&str, &str),
    doors: &[&str],
    now: DateTime<Utc>,
) -> rusqlite::Result<Option<String>> {
    // `+` keeps SQLite on the user's index: the granter's index would scan every access of the partner
    // (docs/performance.md).
    let code: Option<String> = conn
        .prepare_cached(
            "SELECT a.doorcode FROM accesses a JOIN doors d ON d.uuid = a.door_uuid
             WHERE a.user_uuid = ?1 AND +a.granter_type = ?2 AND +a.granter_uuid = ?3
               AND a.passcode_type = 'PERMANENT' AND d.accessibility_type = 'COMMUNAL'
               AND a.doorcode IS NOT NULL AND (a.end_time IS NULL OR a.end_time > ?4)
             ORDER BY a.seq LIMIT 1",
        )?
        .query_row(params![user, granter.0, granter.1, ts(now)], |row| row.get(0))
        .optional()?;
    let Some(code) = code else { return Ok(None) };
    for door in doors {
        let taken: bool = conn
            .prepare_cached(
                "SELECT EXISTS(SELECT 1 FROM temp.door_codes c JOIN accesses a ON a.seq = c.access_seq
                               WHERE c.door_uuid = ?1 AND c.doorcode = ?2 AND a.user_uuid <> ?3
                               AND (a.end_time IS NULL OR a.end_time > ?4))",
            )?
            .query_row(params![door, code, user, ts(now)], |row| row.get(0))?;
        if taken {
            return Ok(None);
        }
    }
    Ok(Some(code))
}

/// A derived daily code: the next free slot of the door for that local day and kind.
/// Returns the code and its slot.
pub fn derive_daily(
    conn: &Connection,
    door: &DoorRecord,
    passcode_type: PasscodeType,
    day: NaiveDate,
    now: DateTime<Utc>,
) -> rusqlite::Result<Option<(String, u16)>> {
    let kind = match passcode_type {
        PasscodeType::DailySingleUse => DailyKind::DailySingleUse,
        _ => DailyKind::Daily,
    };
    let day_text = day.to_string();
    let now = ts(now);
    let local_day = LocalDay::from_ymd(day.year(), day.month(), day.day());
    let mut slot: u32 = conn
        .prepare_cached("SELECT next_slot FROM daily_slots WHERE door_uuid = ?1 AND kind = ?2 AND day = ?3")?
        .query_row(params![door.view.uuid, passcode_type.as_str(), day_text], |row| row.get(0))
        .optional()?
        .unwrap_or(0);
    for _ in 0..MAX_TRIES {
        // A lock accepts only the first DAILY_SLOT_WINDOW slots of a day: never issue beyond them.
        let this_slot = match u16::try_from(slot) {
            Ok(this_slot) if this_slot < DAILY_SLOT_WINDOW => this_slot,
            _ => return Ok(None),
        };
        let code = doorcode::daily(&door.doorcode_secret, kind, local_day, this_slot).to_string();
        slot += 1;
        if !in_use(conn, &door.view.uuid, &code, &now)? {
            conn.prepare_cached(
                "INSERT INTO daily_slots (door_uuid, kind, day, next_slot) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (door_uuid, kind, day) DO UPDATE SET next_slot = excluded.next_slot",
            )?
            .execute(params![door.view.uuid, passcode_type.as_str(), day_text, slot])?;
            return Ok(Some((code, this_slot)));
        }
    }
    Ok(None)
}
