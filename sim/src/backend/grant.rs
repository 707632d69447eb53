//! Granting access: the one place a user is found or created by identity and given access to doors, for
//! every kind of granter (partner API, manager API, later users sharing). It applies the DAILY day rule in
//! each door's time zone, decides each door's doorcode row of the v2 table (including the three conflicts),
//! issues the codes and sends the notifications. Callers validate the request first
//! (`latchkey::model::validation`) and check which doors the granter may use.

use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use latchkey::model::{
    AccessibilityType, Channel, DoorcodeDescription, MessageKind, PasscodeType, Role, validation,
};
use rusqlite::{Connection, params};

use super::db::ts;
use super::directory::{self, AccessRecord, DoorRecord, GranterRef, UserRecord};
use super::doorcodes;
use super::error::{AppError, AppResult};
use super::events;
use super::outbox;
use super::state::new_time_ordered_uuid;

/// A grant, validated by the caller.
#[derive(Debug)]
pub struct GrantRequest {
    /// Who grants.
    pub granter: GranterRef,
    /// How notifications name the granter ("Acme Stays", "your property manager").
    pub granter_name: String,
    /// First name (used only when the user is created).
    pub first_name: String,
    /// Last name (used only when the user is created).
    pub last_name: String,
    /// Email; the identity when given.
    pub email: Option<String>,
    /// Phone; the identity when there is no email.
    pub phone: Option<String>,
    /// Requested start.
    pub start_time: DateTime<Utc>,
    /// Requested end.
    pub end_time: Option<DateTime<Utc>>,
    /// The doors, each usable by the granter.
    pub doors: Vec<DoorRecord>,
    /// Whether the user may share the access.
    pub shareable: bool,
    /// The kind of access.
    pub passcode_type: PasscodeType,
    /// RESIDENT or NON_RESIDENT.
    pub role: Role,
    /// Whether to email/text the user.
    pub should_notify: bool,
}

/// What a grant did.
#[derive(Debug)]
pub struct GrantOutcome {
    /// The user, found or created.
    pub user: UserRecord,
    /// Whether the user was created by this grant.
    pub created: bool,
    /// The accesses of this grant, one per door, in request order.
    pub accesses: Vec<AccessRecord>,
}

/// Applies a grant inside the caller's transaction.
pub fn grant(conn: &Connection, now: DateTime<Utc>, request: &GrantRequest) -> AppResult<GrantOutcome> {
    let email = request.email.as_deref().map(validation::normalized_email);
    let (user, created) = find_or_create_user(conn, now, request, email.as_deref())?;
    let granter_columns = request.granter.columns();
    // A user created just now has no accesses yet: nothing to look up.
    let manager_accesses: Vec<AccessRecord> = if request.granter == GranterRef::Manager || created {
        Vec::new()
    } else {
        directory::accesses_of(conn, &user.uuid)?
            .into_iter()
            .filter(|access| access.granter == GranterRef::Manager && access.is_current(now))
            .collect()
    };

    let mut common_code: Option<String> = None;
    let mut accesses = Vec::with_capacity(request.doors.len());
    let mut code_lines = Vec::new();
    let mut daily_days: Vec<(NaiveDate, String)> = Vec::new();
    for door in &request.doors {
        let (start_time, end_time, day) = window(request, door, now)?;
        let description = describe(conn, request, door, &manager_accesses)?;
        let mut code_slot: Option<u16> = None;
        let doorcode = if let Some(day) = day {
            daily_days.push((day, door.timezone.clone()));
            let (code, slot) = doorcodes::derive_daily(conn, door, request.passcode_type, day, now)?
                .ok_or_else(|| no_free_daily_code(door))?;
            code_slot = Some(slot);
            Some(code)
        } else if description == DoorcodeDescription::Valid {
            Some(match door.view.accessibility_type {
                AccessibilityType::Communal => {
                    let communal: Vec<&str> = request
                        .doors
                        .iter()
                        .filter(|d| d.view.accessibility_type == AccessibilityType::Communal)
                        .map(|d| d.view.uuid.as_str())
                        .collect();
                    if common_code.is_none() && !created {
                        common_code = doorcodes::existing_common_code(
                            conn,
                            &user.uuid,
                            granter_columns,
                            &communal,
                            now,
                        )?;
                    }
                    match &common_code {
                        Some(code) => code.clone(),
                        None => {
                            let code = doorcodes::random_unique(conn, &communal, now)?
                                .ok_or_else(|| no_free_code(door))?;
                            common_code = Some(code.clone());
                            code
                        }
                    }
                }
                AccessibilityType::Private => {
                    doorcodes::random_unique(conn, &[door.view.uuid.as_str()], now)?
                        .ok_or_else(|| no_free_code(door))?
                }
            })
        } else {
            None
        };
        if let Some(code) = &doorcode {
            // A DAILY code works on its door's local day, which differs between doors in different zones.
            code_lines.push(match day {
                Some(day) => format!("{}: {code} (on {day}, {})", door.view.name, door.timezone),
                None => format!("{}: {code}", door.view.name),
            });
        }
        let access = AccessRecord {
            user_uuid: user.uuid.clone(),
            door_uuid: door.view.uuid.clone(),
            granter: request.granter.clone(),
            passcode_type: request.passcode_type,
            role: request.role,
            shareable: request.shareable,
            start_time,
            end_time,
            doorcode,
            doorcode_description: description,
        };
        store(conn, &access, day, code_slot, created)?;
        events::record::access_granted(conn, now, &user, &access)?;
        accesses.push(access);
    }

    if request.should_notify {
        notify(conn, now, request, &user, created, &code_lines, &daily_days)?;
    }
    Ok(GrantOutcome { user, created, accesses })
}

fn no_free_code(door: &DoorRecord) -> AppError {
    AppError::Conflict(format!("door {} has no free doorcode left; revoke unused accesses", door.view.uuid))
}

fn no_free_daily_code(door: &DoorRecord) -> AppError {
    AppError::Conflict(format!(
        "door {} has given out all its DAILY codes of this kind for that day (a lock accepts {} a day); \
         grant for another day",
        door.view.uuid,
        latchkey_protocol::keypad::DAILY_SLOT_WINDOW
    ))
}

fn find_or_create_user(
    conn: &Connection,
    now: DateTime<Utc>,
    request: &GrantRequest,
    email: Option<&str>,
) -> AppResult<(UserRecord, bool)> {
    let existing = match (email, request.phone.as_deref()) {
        (Some(email), _) => directory::user_by_email(conn, email)?,
        (None, Some(phone)) => directory::user_by_phone(conn, phone)?,
        (None, None) => None,
    };
    if let Some(mut user) = existing {
        if user.phone.is_none()
            && let Some(phone) = &request.phone
        {
            conn.execute("UPDATE users SET phone = ?1 WHERE uuid = ?2", params![phone, user.uuid])?;
            user.phone = Some(phone.clone());
        }
        return Ok((user, false));
    }
    let user = UserRecord {
        uuid: new_time_ordered_uuid(),
        first_name: request.first_name.trim().to_owned(),
        last_name: request.last_name.trim().to_owned(),
        email: email.map(str::to_owned),
        phone: request.phone.clone(),
    };
    conn.prepare_cached(
        "INSERT INTO users (uuid, first_name, last_name, email, phone, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![user.uuid, user.first_name, user.last_name, user.email, user.phone, ts(now)])?;
    Ok((user, true))
}

/// An access window: start, end, and for DAILY kinds the local day it covers.
type Window = (DateTime<Utc>, Option<DateTime<Utc>>, Option<NaiveDate>);

/// The access window at one door: the requested one, or for DAILY kinds the whole local day of the start
/// (which must be today or tomorrow in the door's zone).
fn window(request: &GrantRequest, door: &DoorRecord, now: DateTime<Utc>) -> AppResult<Window> {
    if !request.passcode_type.is_daily() {
        return Ok((request.start_time, request.end_time, None));
    }
    let zone = chrono_tz::Tz::from_str(&door.timezone)
        .map_err(|_| AppError::internal(format_args!("stored time zone {:?} is unknown", door.timezone)))?;
    let day =
        validation::daily_start_day(request.passcode_type, request.start_time, now, &zone, &door.timezone)
            .map_err(|error| AppError::BadRequest(format!("door {}: {error}", door.view.uuid)))?;
    let (start, end) = validation::local_day_window(day, &zone);
    Ok((start, Some(end), Some(day)))
}

/// The doorcode row of the v2 table for one door.
fn describe(
    conn: &Connection,
    request: &GrantRequest,
    door: &DoorRecord,
    manager_accesses: &[AccessRecord],
) -> AppResult<DoorcodeDescription> {
    if request.role == Role::Resident
        || manager_accesses.iter().any(|a| a.door_uuid == door.view.uuid && a.role == Role::Resident)
    {
        return Ok(DoorcodeDescription::UserHasResidentAccess);
    }
    if request.passcode_type != PasscodeType::Permanent {
        return Ok(DoorcodeDescription::Valid);
    }
    let permanent_guest =
        |a: &&AccessRecord| a.passcode_type == PasscodeType::Permanent && a.role == Role::NonResident;
    if manager_accesses.iter().filter(permanent_guest).any(|a| a.door_uuid == door.view.uuid) {
        return Ok(DoorcodeDescription::UserHasGuestAccessConflict);
    }
    if door.view.accessibility_type == AccessibilityType::Communal && door.common_doorcodes {
        for access in manager_accesses.iter().filter(|a| a.passcode_type == PasscodeType::Permanent) {
            if let Some(other) = directory::door(conn, &access.door_uuid)?
                && other.view.building_uuid == door.view.building_uuid
                && other.view.accessibility_type == AccessibilityType::Communal
            {
                return Ok(DoorcodeDescription::CommunalDoorcodeConflict);
            }
        }
    }
    Ok(DoorcodeDescription::Valid)
}

/// Replaces the access of this user, door and granter (a user `created` by this grant has none to replace).
fn store(
    conn: &Connection,
    access: &AccessRecord,
    day: Option<NaiveDate>,
    slot: Option<u16>,
    created: bool,
) -> rusqlite::Result<()> {
    let (granter_type, granter_uuid) = access.granter.columns();
    if !created {
        conn.prepare_cached(
            "DELETE FROM accesses
             WHERE user_uuid = ?1 AND door_uuid = ?2 AND granter_type = ?3 AND granter_uuid = ?4",
        )?
        .execute(params![access.user_uuid, access.door_uuid, granter_type, granter_uuid])?;
    }
    conn.prepare_cached(
        "INSERT INTO accesses (user_uuid, door_uuid, granter_type, granter_uuid, passcode_type, role, shareable,
                               start_time, end_time, doorcode, doorcode_description, code_day, code_slot)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )?
    .execute(params![
            access.user_uuid,
            access.door_uuid,
            granter_type,
            granter_uuid,
            access.passcode_type.as_str(),
            access.role.as_str(),
            access.shareable,
            ts(access.start_time),
            access.end_time.map(ts),
            access.doorcode,
            access.doorcode_description.as_str(),
            day.map(|day| day.to_string()),
            slot,
        ])?;
    Ok(())
}

/// Sends the welcome / access / doorcode messages of a grant, by the spec's rules.
fn notify(
    conn: &Connection,
    now: DateTime<Utc>,
    request: &GrantRequest,
    user: &UserRecord,
    created: bool,
    code_lines: &[String],
    daily_days: &[(NaiveDate, String)],
) -> rusqlite::Result<()> {
    let codes = if code_lines.is_empty() {
        String::new()
    } else {
        format!("\n\nYour doorcodes:\n{}", code_lines.join("\n"))
    };
    if created && let Some(email) = &user.email {
        let access_text = if request.passcode_type == PasscodeType::Permanent { codes.as_str() } else { "" };
        outbox::send(
            conn,
            now,
            Channel::Email,
            email,
            MessageKind::Welcome,
            "Welcome to Latch: your account has been created",
            &format!(
                "Hi {}, {} invited you to Latch and an account has been created for you. You can unlock your doors \
                 in your partner app right away. Optionally, finish setting up your Latch account by choosing a \
                 password: {}{access_text}",
                user.first_name,
                request.granter_name,
                super::web::account::finalize_link(conn, &user.uuid, now)?
            ),
        )?;
    } else if request.passcode_type == PasscodeType::Permanent
        && let Some(email) = &user.email
    {
        outbox::send(
            conn,
            now,
            Channel::Email,
            email,
            MessageKind::AccessGranted,
            "You have new door access",
            &format!(
                "Hi {}, {} gave you access to more doors.{codes}",
                user.first_name, request.granter_name
            ),
        )?;
    }
    let Some((day, timezone)) = daily_days.first() else { return Ok(()) };
    let validity = match request.passcode_type {
        PasscodeType::DailySingleUse => "It works once: it stops working 15 minutes after you first use it.",
        _ => "It works all day.",
    };
    let what = if daily_days.iter().all(|other| other.0 == *day && other.1 == *timezone) {
        format!("a doorcode for {day} ({timezone})")
    } else {
        "doorcodes, each for the day shown next to it".to_owned()
    };
    let content =
        format!("Hi {}, {} sent you {what}.{codes}\n\n{validity}", user.first_name, request.granter_name);
    // Email when the request named one; for a phone, email the user who owns that phone if they have an
    // email, else text the phone.
    let target = match (&request.email, &user.email, &request.phone) {
        (Some(_), Some(email), _) => Some((Channel::Email, email.clone())),
        (None, Some(email), Some(_)) if !created => Some((Channel::Email, email.clone())),
        (_, _, Some(phone)) => Some((Channel::Sms, phone.clone())),
        _ => None,
    };
    if let Some((channel, recipient)) = target {
        outbox::send(conn, now, channel, &recipient, MessageKind::Doorcode, "Your Latch doorcode", &content)?;
    }
    Ok(())
}
