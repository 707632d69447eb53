//! Sequenced, signed deltas for one lock (protocol.md §23): the door's desired state, diffed against what
//! earlier deltas already told the lock.
//!
//! The desired state of a door is:
//! - its access list: every user with a current access (not ended), with the union of their windows;
//! - the keyed hashes of the PERMANENT NON_RESIDENT doorcodes of current accesses (the digits never leave
//!   the backend);
//! - its zone rule: the building's IANA zone as UTC transitions for the next [`ZONE_RULE_DAYS`] days,
//!   re-sent once fewer than [`ZONE_RULE_REFRESH_DAYS`] of them remain;
//! - a log acknowledgement of the last ingested log entry;
//! - the high-water marks of issued DAILY and DAILY_SINGLE_USE slots for the door's local today and
//!   later days (`slots:` items), so the keypad accepts only issued slots (protocol.md §15); marks of
//!   past days are forgotten here without an entry (the lock drops them when its day turns).
//!
//! `lock_sent` records, item by item, what the issued deltas said; `lock_deltas` keeps every delta so a
//! phone (or a connected lock) can fetch all of those after the lock's `last_applied_seq`.

use std::collections::BTreeMap;
use std::str::FromStr;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Offset, TimeZone, Utc};
use latchkey::model::{PasscodeType, Role};
use latchkey_protocol::doorcode::{DailyKind, Doorcode, LocalDay};
use latchkey_protocol::keypad::{
    DAILY_SLOT_WINDOW, MAX_ZONE_TRANSITIONS, PermanentCode, Transition, ZoneRule, permanent_code_hash,
};
use latchkey_protocol::sync::{Delta, DeltaKind, Entry, LogAck, Window};
use rusqlite::{Connection, params};

use super::keys::BackendKeys;
use super::provision::{LockInfo, require_lock};
use super::unix_u32;
use crate::backend::db::ts;
use crate::backend::directory::{self, AccessRecord};
use crate::backend::error::{AppError, AppResult};

/// Days of zone transitions a rule covers from the moment it is computed.
pub const ZONE_RULE_DAYS: i64 = 400;
/// A rule is re-sent when it covers fewer days than this ahead of now.
pub const ZONE_RULE_REFRESH_DAYS: i64 = 300;

const ZONE: &str = "zone";
const ZONE_UNTIL: &str = "zone_until";
const ACK: &str = "ack";
/// Prefix of an issued-slots item: `slots:{passcode type}:{local date}`.
const SLOTS: &str = "slots:";

/// Issues the next delta for `door_uuid` if its desired state differs from what was sent, then returns
/// every issued delta with `seq > after_seq`, in order.
pub fn pending_deltas(
    conn: &Connection,
    keys: &BackendKeys,
    door_uuid: &str,
    after_seq: u64,
    now: DateTime<Utc>,
) -> AppResult<Vec<Vec<u8>>> {
    let lock = require_lock(conn, door_uuid)?;
    let sent = sent_items(conn, door_uuid)?;
    let desired = desired_items(conn, &lock, now)?;
    let mut entries = Vec::new();
    let mut changes: Vec<(String, Option<Vec<u8>>)> = Vec::new();

    for (item, value) in &desired {
        if sent.get(item) != Some(value) {
            entries.push(add_entry(item, value)?);
            changes.push((item.clone(), Some(value.clone())));
        }
    }
    for item in sent.keys().filter(|item| is_list_item(item) && !desired.contains_key(*item)) {
        entries.push(remove_entry(item)?);
        changes.push((item.clone(), None));
    }
    let stale_marks: Vec<(String, Option<Vec<u8>>)> = sent
        .keys()
        .filter(|item| item.starts_with(SLOTS) && !desired.contains_key(*item))
        .map(|item| (item.clone(), None))
        .collect();

    let zone_until = sent.get(ZONE_UNTIL).and_then(|v| <[u8; 4]>::try_from(v.as_slice()).ok());
    let refresh_before = unix_u32(now + Duration::days(ZONE_RULE_REFRESH_DAYS));
    if zone_until.is_none_or(|until| u32::from_be_bytes(until) < refresh_before) {
        let rule = zone_rule(&lock.timezone, now)?;
        let until = unix_u32(now + Duration::days(ZONE_RULE_DAYS));
        changes.push((ZONE.into(), Some(rule.encode())));
        changes.push((ZONE_UNTIL.into(), Some(until.to_be_bytes().to_vec())));
        entries.push(Entry::ZoneRule(rule));
    }

    if let Some((last_seq, last_mac)) = super::logs::head(conn, door_uuid)? {
        let acked = sent.get(ACK).and_then(|v| v.get(..8)).and_then(|v| <[u8; 8]>::try_from(v).ok());
        if acked.is_none_or(|acked| u64::from_be_bytes(acked) < last_seq) {
            let mut value = last_seq.to_be_bytes().to_vec();
            value.extend_from_slice(&last_mac);
            changes.push((ACK.into(), Some(value)));
            entries.push(Entry::LogAck(LogAck { up_to_seq: last_seq, entry_mac: last_mac }));
        }
    }

    if !entries.is_empty() {
        changes.extend(stale_marks);
        let last: Option<i64> =
            conn.query_row("SELECT MAX(seq) FROM lock_deltas WHERE door_uuid = ?1", [door_uuid], |row| {
                row.get(0)
            })?;
        let seq = u64::try_from(last.unwrap_or(0)).map_err(AppError::internal)? + 1;
        let delta = Delta::sign(DeltaKind::Incremental, lock.lock_id, seq, entries, keys.signing());
        conn.execute(
            "INSERT INTO lock_deltas (door_uuid, seq, bytes, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![door_uuid, seq as i64, delta.encode(), ts(now)],
        )?;
        for (item, value) in changes {
            match value {
                Some(value) => conn.execute(
                    "INSERT OR REPLACE INTO lock_sent (door_uuid, item, value) VALUES (?1, ?2, ?3)",
                    params![door_uuid, item, value],
                )?,
                None => conn.execute(
                    "DELETE FROM lock_sent WHERE door_uuid = ?1 AND item = ?2",
                    params![door_uuid, item],
                )?,
            };
        }
    }

    let after = i64::try_from(after_seq).unwrap_or(i64::MAX);
    let mut statement =
        conn.prepare_cached("SELECT bytes FROM lock_deltas WHERE door_uuid = ?1 AND seq > ?2 ORDER BY seq")?;
    let rows = statement.query_map(params![door_uuid, after], |row| row.get::<_, Vec<u8>>(0))?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

fn is_list_item(item: &str) -> bool {
    item.starts_with("access:") || item.starts_with("code:")
}

fn sent_items(conn: &Connection, door_uuid: &str) -> rusqlite::Result<BTreeMap<String, Vec<u8>>> {
    let mut statement = conn.prepare_cached("SELECT item, value FROM lock_sent WHERE door_uuid = ?1")?;
    let rows = statement.query_map([door_uuid], |row| Ok((row.get(0)?, row.get(1)?)))?;
    rows.collect()
}

/// A stable 16-byte id for an access: what PERMANENT code entries (and the log events they cause) name.
pub fn access_id(access: &AccessRecord) -> [u8; 16] {
    let (granter_type, granter_uuid) = access.granter.columns();
    let digest = latchkey_protocol::crypto::sha256(&[
        b"latchkey-sim/access-id/v1",
        access.door_uuid.as_bytes(),
        b"|",
        access.user_uuid.as_bytes(),
        b"|",
        granter_type.as_bytes(),
        b"|",
        granter_uuid.as_bytes(),
    ]);
    let mut id = [0u8; 16];
    id.copy_from_slice(&digest[..16]);
    id
}

fn door_accesses(conn: &Connection, door_uuid: &str) -> AppResult<Vec<AccessRecord>> {
    let mut statement = conn
        .prepare_cached("SELECT DISTINCT user_uuid FROM accesses WHERE door_uuid = ?1 ORDER BY user_uuid")?;
    let users = statement.query_map([door_uuid], |row| row.get::<_, String>(0))?;
    let mut out = Vec::new();
    for user in users {
        out.extend(directory::accesses_of(conn, &user?)?.into_iter().filter(|a| a.door_uuid == door_uuid));
    }
    Ok(out)
}

fn desired_items(
    conn: &Connection,
    lock: &LockInfo,
    now: DateTime<Utc>,
) -> AppResult<BTreeMap<String, Vec<u8>>> {
    let mut windows: BTreeMap<String, Window> = BTreeMap::new();
    let mut items = BTreeMap::new();
    for access in door_accesses(conn, &lock.door_uuid)?.into_iter().filter(|a| a.is_current(now)) {
        let window = Window {
            not_before: unix_u32(access.start_time),
            not_after: access.end_time.map_or(u32::MAX, unix_u32),
        };
        windows
            .entry(access.user_uuid.clone())
            .and_modify(|w| {
                w.not_before = w.not_before.min(window.not_before);
                w.not_after = w.not_after.max(window.not_after);
            })
            .or_insert(window);
        if access.passcode_type == PasscodeType::Permanent
            && access.role == Role::NonResident
            && let Some(code) = access.doorcode.as_deref().and_then(Doorcode::parse)
        {
            let entry = PermanentCode {
                id: access_id(&access),
                hash: permanent_code_hash(&lock.code_hash_key, &lock.lock_id, code),
                not_before: window.not_before,
                not_after: window.not_after,
            };
            items.insert(format!("code:{}", hex::encode(entry.id)), entry.encode().to_vec());
        }
    }
    for (user, window) in windows {
        let mut value = window.not_before.to_be_bytes().to_vec();
        value.extend_from_slice(&window.not_after.to_be_bytes());
        items.insert(format!("access:{user}"), value);
    }
    items.extend(issued_slot_marks(conn, lock, now)?);
    Ok(items)
}

/// The `slots:` items: for each kind and each local day from the door's today on, how many slots the
/// backend used (`daily_slots.next_slot`, which also counts slots skipped for a collision), at most the
/// window.
fn issued_slot_marks(
    conn: &Connection,
    lock: &LockInfo,
    now: DateTime<Utc>,
) -> AppResult<Vec<(String, Vec<u8>)>> {
    let tz = chrono_tz::Tz::from_str(&lock.timezone)
        .map_err(|_| AppError::internal(format_args!("stored time zone {:?} is unknown", lock.timezone)))?;
    let today = now.with_timezone(&tz).date_naive().to_string();
    let mut statement = conn.prepare_cached(
        "SELECT kind, day, next_slot FROM daily_slots WHERE door_uuid = ?1 AND day >= ?2 ORDER BY kind, day",
    )?;
    let rows = statement.query_map(params![lock.door_uuid, today], |row| {
        Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?, row.get::<_, i64>(2)?))
    })?;
    let mut marks = Vec::new();
    for row in rows {
        let (kind, day, next_slot) = row?;
        let issued =
            u16::try_from(next_slot.clamp(0, i64::from(DAILY_SLOT_WINDOW))).map_err(AppError::internal)?;
        marks.push((format!("{SLOTS}{kind}:{day}"), issued.to_be_bytes().to_vec()));
    }
    Ok(marks)
}

/// The entry of a `slots:` item.
fn issued_slots_entry(item: &str, value: &[u8]) -> AppResult<Entry> {
    let bad = || AppError::internal(format_args!("stored item {item:?}"));
    let (kind, day) = item.strip_prefix(SLOTS).and_then(|rest| rest.split_once(':')).ok_or_else(bad)?;
    let kind = match PasscodeType::parse(kind).ok_or_else(bad)? {
        PasscodeType::DailySingleUse => DailyKind::DailySingleUse,
        PasscodeType::Daily => DailyKind::Daily,
        _ => return Err(bad()),
    };
    let date = NaiveDate::from_str(day).map_err(|_| bad())?;
    let issued = u16::from_be_bytes(<[u8; 2]>::try_from(value).map_err(|_| bad())?);
    Ok(Entry::DailySlotsIssued {
        day: LocalDay::from_ymd(date.year(), date.month(), date.day()),
        kind,
        issued,
    })
}

fn add_entry(item: &str, value: &[u8]) -> AppResult<Entry> {
    if let Some(user) = item.strip_prefix("access:") {
        let bytes = <[u8; 8]>::try_from(value).map_err(|_| AppError::internal("stored access window"))?;
        let (nb, na) = bytes.split_at(4);
        let window = Window {
            not_before: u32::from_be_bytes(nb.try_into().map_err(AppError::internal)?),
            not_after: u32::from_be_bytes(na.try_into().map_err(AppError::internal)?),
        };
        return Ok(Entry::AddAccess { user_id: super::lock_id(user)?, window });
    }
    if item.starts_with(SLOTS) {
        return issued_slots_entry(item, value);
    }
    let code = PermanentCode::decode(value).ok_or_else(|| AppError::internal("stored permanent code"))?;
    Ok(Entry::AddPermanentCode(code))
}

fn remove_entry(item: &str) -> AppResult<Entry> {
    if let Some(user) = item.strip_prefix("access:") {
        return Ok(Entry::RemoveAccess { user_id: super::lock_id(user)? });
    }
    let id = item
        .strip_prefix("code:")
        .and_then(|id| hex::decode(id).ok())
        .and_then(|id| <[u8; 16]>::try_from(id).ok())
        .ok_or_else(|| AppError::internal(format_args!("stored item {item:?}")))?;
    Ok(Entry::RemovePermanentCode { id })
}

/// The zone rule of IANA `timezone` from `now` for [`ZONE_RULE_DAYS`] days: the offset in force now
/// (from `utc_start` 0), then each change, found to the second.
pub fn zone_rule(timezone: &str, now: DateTime<Utc>) -> AppResult<ZoneRule> {
    let tz = chrono_tz::Tz::from_str(timezone)
        .map_err(|_| AppError::internal(format_args!("stored time zone {timezone:?} is unknown")))?;
    let offset = |t: i64| -> i32 {
        match DateTime::<Utc>::from_timestamp(t, 0) {
            Some(instant) => tz.offset_from_utc_datetime(&instant.naive_utc()).fix().local_minus_utc(),
            None => 0,
        }
    };
    let start = now.timestamp().max(0);
    let end = start + ZONE_RULE_DAYS * 86_400;
    let step = 6 * 3600;
    let mut current = offset(start);
    let mut transitions = vec![Transition { utc_start: 0, offset_seconds: current }];
    let mut t = start;
    while t < end && transitions.len() < MAX_ZONE_TRANSITIONS {
        let next = t + step;
        let next_offset = offset(next);
        if next_offset != current {
            // The first second in (t, next] with the new offset.
            let (mut lo, mut hi) = (t, next);
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2;
                if offset(mid) == current { lo = mid } else { hi = mid }
            }
            transitions.push(Transition {
                utc_start: u32::try_from(hi).map_err(AppError::internal)?,
                offset_seconds: next_offset,
            });
            current = next_offset;
        }
        t = next;
    }
    ZoneRule::new(transitions).map_err(|error| AppError::internal(format_args!("zone rule: {error}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).expect("instant").to_utc()
    }

    #[test]
    fn new_york_rules_have_the_dst_changes_to_the_second() {
        let rule = zone_rule("America/New_York", at("2026-06-10T16:00:00Z")).expect("rule");
        let got: Vec<(u32, i32)> =
            rule.transitions().iter().map(|t| (t.utc_start, t.offset_seconds)).collect();
        assert_eq!(
            got,
            vec![
                (0, -4 * 3600),
                (unix_u32(at("2026-11-01T06:00:00Z")), -5 * 3600),
                (unix_u32(at("2027-03-14T07:00:00Z")), -4 * 3600),
            ]
        );
    }

    #[test]
    fn a_zone_without_changes_is_one_transition_in_a_decodable_delta() {
        let rule = zone_rule("Asia/Tokyo", at("2026-06-10T16:00:00Z")).expect("rule");
        let got: Vec<(u32, i32)> =
            rule.transitions().iter().map(|t| (t.utc_start, t.offset_seconds)).collect();
        assert_eq!(got, vec![(0, 9 * 3600)]);
        let keys = latchkey_protocol::crypto::SigningKey::from_bytes(&[7u8; 32]).expect("key");
        let delta = latchkey_protocol::sync::Delta::sign(
            latchkey_protocol::sync::DeltaKind::Incremental,
            [1u8; 16],
            1,
            vec![latchkey_protocol::sync::Entry::ZoneRule(rule)],
            &keys,
        );
        assert_eq!(latchkey_protocol::sync::Delta::decode(&delta.encode()).expect("decodes"), delta);
    }
}
