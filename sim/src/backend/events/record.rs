//! Recording events: [`access_granted`], [`access_changed`] and [`access_revoked`] are the hooks the
//! grant, patch and revoke paths call inside their transaction; [`record`] stores one event for one
//! partner.

use chrono::{DateTime, Utc};
use latchkey::model::{AccessEventData, AccessSource, EventType, EventUser};
use rusqlite::{Connection, params};
use serde::Serialize;

use crate::backend::db::ts;
use crate::backend::directory::{self, AccessRecord, GranterRef, UserRecord};
use crate::backend::state::new_time_ordered_uuid;

/// Stores one event for `partner` (`door` empty for an event about no door) and queues its webhook
/// deliveries (`super::outbox`); returns its id (`evt_…`).
pub fn record(
    conn: &Connection,
    partner: &str,
    event_type: EventType,
    door: &str,
    occurred_at: DateTime<Utc>,
    recorded_at: DateTime<Utc>,
    data: &impl Serialize,
) -> rusqlite::Result<String> {
    let id = format!("evt_{}", new_time_ordered_uuid().replace('-', ""));
    let data =
        serde_json::to_string(data).map_err(|error| rusqlite::Error::ToSqlConversionFailure(error.into()))?;
    conn.prepare_cached(
        "INSERT INTO events (id, partner_uuid, event_type, door_uuid, occurred_at, recorded_at, data)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![id, partner, event_type.as_str(), door, ts(occurred_at), ts(recorded_at), data])?;
    super::outbox::enqueue(conn, partner, conn.last_insert_rowid(), event_type, recorded_at)?;
    Ok(id)
}

/// The partners that see a change to `access`: the granting partner itself (its callers have checked that
/// the door is one of its doors), or for a change by the manager or a sharing user, every partner with an
/// enabled key to the door that has granted access to that user (for a share: to the sharing user).
pub fn partners_told(conn: &Connection, access: &AccessRecord) -> rusqlite::Result<Vec<String>> {
    let whose_user = match &access.granter {
        GranterRef::Partner(partner) => return Ok(vec![partner.clone()]),
        GranterRef::Manager => access.user_uuid.as_str(),
        GranterRef::User(sharer) => sharer.as_str(),
    };
    let mut statement = conn.prepare_cached(
        "SELECT DISTINCT k.partner_uuid FROM key_doors kd JOIN keys k ON k.uuid = kd.key_uuid
         WHERE kd.door_uuid = ?1 AND k.enabled = 1 AND k.partner_uuid IS NOT NULL
           AND EXISTS (SELECT 1 FROM accesses a WHERE a.user_uuid = ?2
                       AND +a.granter_type = 'PARTNER' AND +a.granter_uuid = k.partner_uuid)
         ORDER BY k.partner_uuid",
    )?;
    let rows = statement.query_map(params![access.door_uuid, whose_user], |row| row.get(0))?;
    rows.collect()
}

/// A user as events name them.
fn event_user(user: &UserRecord) -> EventUser {
    EventUser {
        user_uuid: user.uuid.clone(),
        first_name: user.first_name.clone(),
        last_name: user.last_name.clone(),
        email: user.email.clone(),
        phone: user.phone.clone(),
    }
}

fn access_data(user: &UserRecord, access: &AccessRecord) -> AccessEventData {
    AccessEventData {
        user: event_user(user),
        access: access.view(),
        source: match access.granter {
            GranterRef::Partner(_) => AccessSource::Partner,
            GranterRef::Manager => AccessSource::Manager,
            GranterRef::User(_) => AccessSource::User,
        },
    }
}

/// Records `event_type` about `access` for every partner that sees it.
fn access_event(
    conn: &Connection,
    now: DateTime<Utc>,
    event_type: EventType,
    user: &UserRecord,
    access: &AccessRecord,
) -> rusqlite::Result<()> {
    let partners = partners_told(conn, access)?;
    if partners.is_empty() {
        return Ok(());
    }
    let data = access_data(user, access);
    for partner in &partners {
        record(conn, partner, event_type, &access.door_uuid, now, now, &data)?;
    }
    Ok(())
}

/// A grant stored `access`: `access.granted`, and `doorcode.issued` when the access shows a code.
pub fn access_granted(
    conn: &Connection,
    now: DateTime<Utc>,
    user: &UserRecord,
    access: &AccessRecord,
) -> rusqlite::Result<()> {
    access_event(conn, now, EventType::AccessGranted, user, access)?;
    if access.view().doorcode.code.is_some() {
        access_event(conn, now, EventType::DoorcodeIssued, user, access)?;
    }
    Ok(())
}

/// `access` (as it is now) was changed.
pub fn access_changed(
    conn: &Connection,
    now: DateTime<Utc>,
    user: &UserRecord,
    access: &AccessRecord,
) -> rusqlite::Result<()> {
    access_event(conn, now, EventType::AccessChanged, user, access)
}

/// `access` (as it was) is being revoked: call before deleting it, so the partners told are found while
/// the grant still stands.
pub fn access_revoked(
    conn: &Connection,
    now: DateTime<Utc>,
    user: &UserRecord,
    access: &AccessRecord,
) -> rusqlite::Result<()> {
    access_event(conn, now, EventType::AccessRevoked, user, access)
}

/// The manager's accesses from `key` at `door` are being revoked (the door leaves the key): records each
/// one's `access.revoked`. Call before the key's doors change, while partners still see the door.
pub fn key_door_revoked(
    conn: &Connection,
    now: DateTime<Utc>,
    key: &str,
    door: &str,
) -> rusqlite::Result<()> {
    let users: Vec<String> = conn
        .prepare_cached("SELECT user_uuid FROM accesses WHERE key_uuid = ?1 AND door_uuid = ?2 ORDER BY seq")?
        .query_map(params![key, door], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for user_uuid in users {
        revoke_if_any(conn, now, &user_uuid, door, &GranterRef::Manager)?;
    }
    Ok(())
}

/// Records `access.revoked` for the access of `user` to `door` granted by `granter`, if there is one:
/// for revocation paths that delete by key. Call before deleting it.
pub fn revoke_if_any(
    conn: &Connection,
    now: DateTime<Utc>,
    user_uuid: &str,
    door: &str,
    granter: &GranterRef,
) -> rusqlite::Result<()> {
    let Some(user) = directory::user(conn, user_uuid)? else { return Ok(()) };
    let access = directory::accesses_of(conn, user_uuid)?
        .into_iter()
        .find(|access| access.door_uuid == door && &access.granter == granter);
    match access {
        Some(access) => access_revoked(conn, now, &user, &access),
        None => Ok(()),
    }
}

/// The partners that see a lock-log event at `door`: for an entry naming a user, the partners with the door
/// whose user it is (or whose user shared the access); for anything else, every partner with the door.
fn partners_told_at(conn: &Connection, door: &str, user: Option<&str>) -> rusqlite::Result<Vec<String>> {
    let mut statement = conn.prepare_cached(
        "SELECT DISTINCT k.partner_uuid FROM key_doors kd JOIN keys k ON k.uuid = kd.key_uuid
         WHERE kd.door_uuid = ?1 AND k.enabled = 1 AND k.partner_uuid IS NOT NULL
           AND (?2 IS NULL
                OR EXISTS (SELECT 1 FROM accesses a WHERE a.user_uuid = ?2
                           AND +a.granter_type = 'PARTNER' AND +a.granter_uuid = k.partner_uuid)
                OR EXISTS (SELECT 1 FROM accesses s JOIN accesses p ON p.user_uuid = s.granter_uuid
                           WHERE s.user_uuid = ?2 AND +s.granter_type = 'USER'
                             AND +p.granter_type = 'PARTNER' AND +p.granter_uuid = k.partner_uuid))
         ORDER BY k.partner_uuid",
    )?;
    let rows = statement.query_map(params![door, user], |row| row.get(0))?;
    rows.collect()
}

/// Log entries of `door` just stored by the backend: `entry.granted` / `entry.denied` for access attempts,
/// `keypad.lockout`, `lock.synced`, `lock.refusals_counted`. Entries of other kinds (clock, power, overflow) record nothing.
pub fn lock_entries(
    conn: &Connection,
    now: DateTime<Utc>,
    door: &str,
    entries: &[latchkey_protocol::eventlog::Entry],
) -> crate::backend::error::AppResult<()> {
    use latchkey::model::{AccessResult, EntryEventData, LockEventData};
    use latchkey_protocol::eventlog::EventKind;

    use crate::backend::me::locks::{Attempt, classify, door_accesses};

    if entries.is_empty() {
        return Ok(());
    }
    let Some(door_record) = directory::door(conn, door)? else { return Ok(()) };
    let zone: chrono_tz::Tz = door_record.timezone.parse().map_err(|_| {
        crate::backend::error::AppError::internal(format_args!(
            "stored time zone {:?} is unknown",
            door_record.timezone
        ))
    })?;
    let accesses = door_accesses(conn, door)?;
    for entry in entries {
        let lock_time = DateTime::<Utc>::from_timestamp(entry.record.time.into(), 0).unwrap_or_default();
        let lock_data =
            LockEventData { lock_time, time_uncertain: entry.record.time_uncertain, log_seq: entry.seq };
        let door_event = match entry.record.kind {
            EventKind::KEYPAD_LOCKED_OUT => Some(EventType::KeypadLockout),
            EventKind::SYNC_APPLIED => Some(EventType::LockSynced),
            _ => None,
        };
        if let Some(event_type) = door_event {
            for partner in partners_told_at(conn, door, None)? {
                record(conn, &partner, event_type, door, lock_time, now, &lock_data)?;
            }
            continue;
        }
        if entry.record.kind == EventKind::REFUSALS_COALESCED {
            let data = refusals_counted(entry);
            for partner in partners_told_at(conn, door, None)? {
                let event_type = EventType::LockRefusalsCounted;
                record(conn, &partner, event_type, door, data.first_lock_time, now, &data)?;
            }
            continue;
        }
        let Some(Attempt { method, result, reason, subject }) =
            classify(conn, entry, &accesses, door, &zone)?
        else {
            continue;
        };
        let user = match &subject {
            Some(uuid) => directory::user(conn, uuid)?,
            None => None,
        };
        let data = EntryEventData {
            user: user.as_ref().map(event_user),
            method,
            reason,
            lock_time,
            time_uncertain: entry.record.time_uncertain,
            log_seq: entry.seq,
        };
        let event_type =
            if result == AccessResult::Granted { EventType::EntryGranted } else { EventType::EntryDenied };
        for partner in partners_told_at(conn, door, subject.as_deref())? {
            record(conn, &partner, event_type, door, lock_time, now, &data)?;
        }
    }
    Ok(())
}

/// A user's registered device was removed: records `device.removed` for every partner with an enabled key
/// to a door where it has granted the user access (an event about no door). For the device-removal paths to
/// call inside their transaction, before deleting the device row.
pub fn device_removed(
    conn: &Connection,
    now: DateTime<Utc>,
    user_uuid: &str,
    device_uuid: &str,
    device_name: &str,
) -> rusqlite::Result<()> {
    use latchkey::model::DeviceRemovedData;

    let Some(user) = directory::user(conn, user_uuid)? else { return Ok(()) };
    let partners: Vec<String> = conn
        .prepare_cached(
            "SELECT DISTINCT a.granter_uuid FROM accesses a
             WHERE a.user_uuid = ?1 AND a.granter_type = 'PARTNER'
               AND EXISTS (SELECT 1 FROM key_doors kd JOIN keys k ON k.uuid = kd.key_uuid
                           WHERE kd.door_uuid = a.door_uuid AND k.partner_uuid = a.granter_uuid AND k.enabled = 1)
             ORDER BY a.granter_uuid",
        )?
        .query_map([user_uuid], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let data = DeviceRemovedData {
        user: event_user(&user),
        device_uuid: device_uuid.to_owned(),
        device_name: device_name.to_owned(),
    };
    for partner in &partners {
        record(conn, partner, EventType::DeviceRemoved, "", now, now, &data)?;
    }
    Ok(())
}

/// The data of a `REFUSALS_COALESCED` summary entry, whose subject holds `count u32 || first_time u32 ||
/// last_time u32 || unlock u16 || keypad u16`, big-endian (protocol.md §21).
fn refusals_counted(entry: &latchkey_protocol::eventlog::Entry) -> latchkey::model::RefusalsCountedData {
    let subject = &entry.record.subject;
    let u32_at =
        |at: usize| u32::from_be_bytes([subject[at], subject[at + 1], subject[at + 2], subject[at + 3]]);
    let u16_at = |at: usize| u32::from(u16::from_be_bytes([subject[at], subject[at + 1]]));
    let time = |secs: u32| DateTime::<Utc>::from_timestamp(secs.into(), 0).unwrap_or_default();
    latchkey::model::RefusalsCountedData {
        count: u32_at(0),
        unlock_count: u16_at(12),
        keypad_count: u16_at(14),
        first_lock_time: time(u32_at(4)),
        last_lock_time: time(u32_at(8)),
        time_uncertain: entry.record.time_uncertain,
        log_seq: entry.seq,
    }
}
