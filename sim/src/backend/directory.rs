//! Reading the portfolio from the database: doors (with their building's time zone and secrets), users and
//! accesses, and which doors a partner may use (those in an enabled key assigned to it).
//!
//! Every query that a partner's request runs filters by [`VISIBLE_DOORS`], so partner A never sees
//! partner B's doors, users or accesses.

use chrono::{DateTime, Utc};
use latchkey::model::{
    AccessView, AccessibilityType, BatteryView, DeviceType, DeviceView, DoorSummary, DoorType, DoorView,
    DoorcodeDescription, DoorcodeView, Granter, GranterType, ManagerAccessView, ManagerUserView,
    PasscodeType, Role, UserView,
};
use std::sync::LazyLock;

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::db::{get_enum, get_opt_ts, get_ts};

/// SQL: the door uuids partner `?1` may use.
pub const VISIBLE_DOORS: &str = "SELECT kd.door_uuid FROM key_doors kd JOIN keys k ON k.uuid = kd.key_uuid
     WHERE k.partner_uuid = ?1 AND k.enabled = 1";

/// A door with everything the backend needs to grant on it.
#[derive(Clone)]
pub struct DoorRecord {
    /// The door as the API shows it.
    pub view: DoorView,
    /// The IANA zone of its building.
    pub timezone: String,
    /// Whether its building has common doorcodes enabled.
    pub common_doorcodes: bool,
    /// The secret DAILY codes are derived from.
    pub doorcode_secret: [u8; 32],
}

impl std::fmt::Debug for DoorRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DoorRecord").field("view", &self.view).field("timezone", &self.timezone).finish()
    }
}

const DOOR_COLUMNS: &str =
    "d.uuid, d.name, d.door_type, d.building_uuid, d.accessibility_type, d.is_connected,
     d.serial_number, d.device_type, d.battery_percentage, d.battery_updated_at,
     b.timezone, b.common_doorcodes, d.doorcode_secret";

fn door_from_row(row: &Row<'_>) -> rusqlite::Result<DoorRecord> {
    let serial: Option<String> = row.get(6)?;
    let device = match serial {
        Some(serial_number) => Some(DeviceView {
            serial_number,
            device_type: get_enum(row, 7, DeviceType::parse)?,
            battery: BatteryView { percentage: row.get(8)?, last_updated: get_ts(row, 9)? },
        }),
        None => None,
    };
    let secret: Vec<u8> = row.get(12)?;
    Ok(DoorRecord {
        view: DoorView {
            uuid: row.get(0)?,
            name: row.get(1)?,
            door_type: get_enum(row, 2, DoorType::parse)?,
            building_uuid: row.get(3)?,
            accessibility_type: get_enum(row, 4, AccessibilityType::parse)?,
            is_connected: row.get(5)?,
            device,
        },
        timezone: row.get(10)?,
        common_doorcodes: row.get(11)?,
        doorcode_secret: secret.try_into().map_err(|_| {
            rusqlite::Error::FromSqlConversionFailure(
                12,
                rusqlite::types::Type::Blob,
                "door secret is not 32 bytes".into(),
            )
        })?,
    })
}

/// One door by uuid, whoever may use it.
pub fn door(conn: &Connection, uuid: &str) -> rusqlite::Result<Option<DoorRecord>> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "SELECT {DOOR_COLUMNS} FROM doors d JOIN buildings b ON b.uuid = d.building_uuid WHERE d.uuid = ?1"
        )
    });
    conn.prepare_cached(&SQL)?.query_row([uuid], door_from_row).optional()
}

/// One door by uuid if `partner` may use it: a keyed lookup of the door, then of an enabled key of the
/// partner holding it.
pub fn visible_door(conn: &Connection, partner: &str, uuid: &str) -> rusqlite::Result<Option<DoorRecord>> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "SELECT {DOOR_COLUMNS} FROM doors d JOIN buildings b ON b.uuid = d.building_uuid
             WHERE d.uuid = ?2 AND EXISTS (
                SELECT 1 FROM key_doors kd JOIN keys k ON k.uuid = kd.key_uuid
                WHERE kd.door_uuid = d.uuid AND k.partner_uuid = ?1 AND k.enabled = 1)"
        )
    });
    conn.prepare_cached(&SQL)?.query_row([partner, uuid], door_from_row).optional()
}

/// The doors `partner` may use, in creation order, optionally only those of one building.
pub fn visible_doors(
    conn: &Connection,
    partner: &str,
    building: Option<&str>,
) -> rusqlite::Result<Vec<DoorRecord>> {
    let mut statement = conn.prepare_cached(&format!(
        "SELECT {DOOR_COLUMNS} FROM doors d JOIN buildings b ON b.uuid = d.building_uuid
         WHERE d.uuid IN ({VISIBLE_DOORS}) AND (?2 IS NULL OR d.building_uuid = ?2) ORDER BY d.seq"
    ))?;
    let rows = statement.query_map(params![partner, building], door_from_row)?;
    rows.collect()
}

/// A door as the v1 invite response lists it.
pub fn door_summary(door: &DoorView) -> DoorSummary {
    DoorSummary {
        uuid: door.uuid.clone(),
        name: door.name.clone(),
        door_type: door.door_type,
        building_uuid: door.building_uuid.clone(),
    }
}

/// A user's own fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserRecord {
    /// Identifier.
    pub uuid: String,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Email, lowercased, if known.
    pub email: Option<String>,
    /// Phone, if known.
    pub phone: Option<String>,
}

const USER_COLUMNS: &str = "uuid, first_name, last_name, email, phone";

fn user_from_row(row: &Row<'_>) -> rusqlite::Result<UserRecord> {
    Ok(UserRecord {
        uuid: row.get(0)?,
        first_name: row.get(1)?,
        last_name: row.get(2)?,
        email: row.get(3)?,
        phone: row.get(4)?,
    })
}

/// A user by uuid.
pub fn user(conn: &Connection, uuid: &str) -> rusqlite::Result<Option<UserRecord>> {
    static SQL: LazyLock<String> =
        LazyLock::new(|| format!("SELECT {USER_COLUMNS} FROM users WHERE uuid = ?1"));
    conn.prepare_cached(&SQL)?.query_row([uuid], user_from_row).optional()
}

/// A user by (lowercased) email.
pub fn user_by_email(conn: &Connection, email: &str) -> rusqlite::Result<Option<UserRecord>> {
    static SQL: LazyLock<String> =
        LazyLock::new(|| format!("SELECT {USER_COLUMNS} FROM users WHERE email = ?1"));
    conn.prepare_cached(&SQL)?.query_row([email], user_from_row).optional()
}

/// The oldest user with this phone.
pub fn user_by_phone(conn: &Connection, phone: &str) -> rusqlite::Result<Option<UserRecord>> {
    static SQL: LazyLock<String> =
        LazyLock::new(|| format!("SELECT {USER_COLUMNS} FROM users WHERE phone = ?1 ORDER BY seq LIMIT 1"));
    conn.prepare_cached(&SQL)?.query_row([phone], user_from_row).optional()
}

/// Who granted an access, as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GranterRef {
    /// The customer's property manager (manager API or web).
    Manager,
    /// A partner, through the partner API.
    Partner(String),
    /// A user sharing their access.
    User(String),
}

impl GranterRef {
    /// The stored `(granter_type, granter_uuid)` pair.
    pub fn columns(&self) -> (&'static str, &str) {
        match self {
            GranterRef::Manager => ("MANAGER", ""),
            GranterRef::Partner(uuid) => ("PARTNER", uuid),
            GranterRef::User(uuid) => ("USER", uuid),
        }
    }
}

/// One stored access.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessRecord {
    /// The user.
    pub user_uuid: String,
    /// The door.
    pub door_uuid: String,
    /// Who granted it.
    pub granter: GranterRef,
    /// The kind.
    pub passcode_type: PasscodeType,
    /// RESIDENT or NON_RESIDENT.
    pub role: Role,
    /// Whether the user may share it.
    pub shareable: bool,
    /// Start.
    pub start_time: DateTime<Utc>,
    /// End, or none.
    pub end_time: Option<DateTime<Utc>>,
    /// The code, stored even when not exposed (resident DAILY codes reach the user by notification only).
    pub doorcode: Option<String>,
    /// Why there is or is not an exposed code.
    pub doorcode_description: DoorcodeDescription,
}

impl std::fmt::Debug for AccessRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessRecord")
            .field("user_uuid", &self.user_uuid)
            .field("door_uuid", &self.door_uuid)
            .field("granter", &self.granter)
            .field("passcode_type", &self.passcode_type)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

impl AccessRecord {
    /// Whether the access has not ended at `now`.
    pub fn is_current(&self, now: DateTime<Utc>) -> bool {
        self.end_time.is_none_or(|end| end > now)
    }

    /// The partner-API view. The code is shown only when the description is VALID.
    pub fn view(&self) -> AccessView {
        let granter = match &self.granter {
            GranterRef::User(uuid) => Granter { granter_type: GranterType::User, uuid: uuid.clone() },
            GranterRef::Partner(uuid) => Granter { granter_type: GranterType::Partner, uuid: uuid.clone() },
            GranterRef::Manager => Granter { granter_type: GranterType::Partner, uuid: String::new() },
        };
        let code = match self.doorcode_description {
            DoorcodeDescription::Valid => self.doorcode.clone(),
            _ => None,
        };
        AccessView {
            door_uuid: self.door_uuid.clone(),
            passcode_type: self.passcode_type,
            shareable: self.shareable,
            start_time: self.start_time,
            end_time: self.end_time,
            granter,
            role: self.role,
            doorcode: DoorcodeView { code, description: self.doorcode_description },
        }
    }

    /// The manager-API view.
    pub fn manager_view(&self) -> ManagerAccessView {
        let (granted_by, granter_uuid) = self.granter.columns();
        ManagerAccessView {
            door_uuid: self.door_uuid.clone(),
            passcode_type: self.passcode_type,
            role: self.role,
            start_time: self.start_time,
            end_time: self.end_time,
            granted_by: granted_by.into(),
            granter_uuid: (!granter_uuid.is_empty()).then(|| granter_uuid.to_owned()),
        }
    }
}

const ACCESS_COLUMNS: &str =
    "a.user_uuid, a.door_uuid, a.granter_type, a.granter_uuid, a.passcode_type, a.role,
     a.shareable, a.start_time, a.end_time, a.doorcode, a.doorcode_description";

fn access_from_row(row: &Row<'_>) -> rusqlite::Result<AccessRecord> {
    let granter_type: String = row.get(2)?;
    let granter_uuid: String = row.get(3)?;
    let granter = match granter_type.as_str() {
        "PARTNER" => GranterRef::Partner(granter_uuid),
        "USER" => GranterRef::User(granter_uuid),
        _ => GranterRef::Manager,
    };
    Ok(AccessRecord {
        user_uuid: row.get(0)?,
        door_uuid: row.get(1)?,
        granter,
        passcode_type: get_enum(row, 4, PasscodeType::parse)?,
        role: get_enum(row, 5, Role::parse)?,
        shareable: row.get(6)?,
        start_time: get_ts(row, 7)?,
        end_time: get_opt_ts(row, 8)?,
        doorcode: row.get(9)?,
        doorcode_description: get_enum(row, 10, DoorcodeDescription::parse)?,
    })
}

/// Every access of a user, in grant order.
pub fn accesses_of(conn: &Connection, user: &str) -> rusqlite::Result<Vec<AccessRecord>> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!("SELECT {ACCESS_COLUMNS} FROM accesses a WHERE a.user_uuid = ?1 ORDER BY a.seq")
    });
    let mut statement = conn.prepare_cached(&SQL)?;
    let rows = statement.query_map([user], access_from_row)?;
    rows.collect()
}

/// The accesses of a user that `partner` may see: granted by that partner (or by users sharing through its
/// app) on doors it may still use.
pub fn partner_accesses_of(
    conn: &Connection,
    partner: &str,
    user: &str,
) -> rusqlite::Result<Vec<AccessRecord>> {
    // Keyed lookups only: the user's accesses (their index), then for each a key of the partner holding
    // the door, and for a shared access one access of the sharer granted by the partner (the sharer's
    // index). An `IN (SELECT …)` over the partner's accesses would build the set of every user the
    // partner ever granted, on every call (docs/performance.md).
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "SELECT {ACCESS_COLUMNS} FROM accesses a
             WHERE a.user_uuid = ?2
               AND EXISTS (SELECT 1 FROM key_doors kd JOIN keys k ON k.uuid = kd.key_uuid
                           WHERE kd.door_uuid = a.door_uuid AND k.partner_uuid = ?1 AND k.enabled = 1)
               AND ((a.granter_type = 'PARTNER' AND a.granter_uuid = ?1)
                 OR (a.granter_type = 'USER' AND EXISTS (
                       SELECT 1 FROM accesses p
                       WHERE p.user_uuid = a.granter_uuid
                         AND +p.granter_type = 'PARTNER' AND +p.granter_uuid = ?1)))
             ORDER BY a.seq"
        )
    });
    let mut statement = conn.prepare_cached(&SQL)?;
    let rows = statement.query_map([partner, user], access_from_row)?;
    rows.collect()
}

/// The partner-API view of a user: their fields and the accesses `partner` may see.
pub fn partner_user_view(conn: &Connection, partner: &str, user: &UserRecord) -> rusqlite::Result<UserView> {
    let accesses = partner_accesses_of(conn, partner, &user.uuid)?;
    Ok(user_view(user, accesses.iter().map(AccessRecord::view).collect()))
}

/// A user with the given accesses.
pub fn user_view(user: &UserRecord, accesses: Vec<AccessView>) -> UserView {
    UserView {
        email: user.email.clone(),
        first_name: user.first_name.clone(),
        last_name: user.last_name.clone(),
        user_uuid: user.uuid.clone(),
        phone: user.phone.clone(),
        accesses,
    }
}

/// The manager-API view of a user: every access.
pub fn manager_user_view(conn: &Connection, user: &UserRecord) -> rusqlite::Result<ManagerUserView> {
    let accesses = accesses_of(conn, &user.uuid)?;
    Ok(ManagerUserView {
        user_uuid: user.uuid.clone(),
        first_name: user.first_name.clone(),
        last_name: user.last_name.clone(),
        email: user.email.clone(),
        phone: user.phone.clone(),
        accesses: accesses.iter().map(AccessRecord::manager_view).collect(),
    })
}

/// The users `partner` has granted access to (on doors it may still use), in order of first appearance.
pub fn partner_users(conn: &Connection, partner: &str) -> rusqlite::Result<Vec<UserRecord>> {
    let mut statement = conn.prepare_cached(&format!(
        "SELECT {USER_COLUMNS} FROM users WHERE uuid IN (
            SELECT a.user_uuid FROM accesses a
            WHERE a.granter_type = 'PARTNER' AND a.granter_uuid = ?1 AND a.door_uuid IN ({VISIBLE_DOORS}))
         ORDER BY seq"
    ))?;
    let rows = statement.query_map([partner], user_from_row)?;
    rows.collect()
}
