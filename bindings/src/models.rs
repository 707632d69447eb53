//! The records and enums of the model as the bindings see them.
//!
//! Types without secrets are the core's own, declared here as `uniffi::remote` (same fields, no copy).
//! Types that would carry a doorcode are mirrored, with the code behind [`SecretText`], because a Kotlin
//! data class or a Swift struct prints every field in `toString()`/`description`. Instants are
//! [`Timestamp`]s (`java.time.Instant` in Kotlin, `Date` in Swift).

use std::fmt;
use std::time::SystemTime;

use latchkey::SecretString;
use latchkey::client::{Lock as CoreLock, SyncSummary as CoreSyncSummary, UnlockEvent};
use latchkey::model::{
    AccessLogEntry, AccessMethod, AccessResult, AccessView, AccessibilityType, BatteryView, BuildingView,
    CreateUserRequest, DeviceType, DeviceView, DoorType, DoorView, DoorcodeDescription, DoorcodeView,
    Granter, GranterType, GuestInviteResult, GuestView, InviteGuestRequest, InviteGuestsResponse,
    MyAccessView, PasscodeType, ResidentView, Role, UserView,
};

/// An instant in UTC.
pub type Timestamp = chrono::DateTime<chrono::Utc>;

uniffi::custom_type!(Timestamp, SystemTime, {
    remote,
    lower: |instant| SystemTime::from(instant),
    try_lift: |time| Ok(Timestamp::from(time)),
});

/// A secret (a doorcode). It crosses the FFI as a string and arrives as the app language's own small
/// `SecretText` type — a Kotlin class (`android/src/main/.../SecretText.kt`), a Swift struct
/// (`ios/Sources/Latchkey/SecretText.swift`), a Python class (`bindings/python/latchkey/secret.py`), wired
/// in `uniffi.toml` — whose `toString()`/`description`/`repr` shows `*******`; the app reads it on purpose
/// with `reveal()`. A plain value, not a Rust object: lifting a lock list costs no object handle, no
/// cleaner and no extra FFI call per doorcode.
#[derive(Clone)]
pub struct SecretText(SecretString);

impl SecretText {
    pub(crate) fn new(value: impl Into<SecretString>) -> SecretText {
        SecretText(value.into())
    }
}

uniffi::custom_type!(SecretText, String, {
    lower: |secret| secret.0.expose().to_owned(),
    try_lift: |text| Ok(SecretText(text.into())),
});

impl fmt::Display for SecretText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("*******")
    }
}

impl fmt::Debug for SecretText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretText(*******)")
    }
}

/// The kind of access.
#[uniffi::remote(Enum)]
pub enum PasscodeType {
    /// Opens until revoked or until its end; the phone gets a BLE credential.
    Permanent,
    /// A doorcode valid for one local day.
    Daily,
    /// A doorcode valid for one local day, and for 15 minutes after its first use.
    DailySingleUse,
}

/// How the granter classifies the user.
#[uniffi::remote(Enum)]
pub enum Role {
    /// A resident (doorcodes never exposed).
    Resident,
    /// Anyone else (guests, staff).
    NonResident,
}

/// A door or an elevator.
#[uniffi::remote(Enum)]
pub enum DoorType {
    /// A door.
    Door,
    /// An elevator.
    Elevator,
}

/// Whether a door is shared by the building or private to a unit.
#[uniffi::remote(Enum)]
pub enum AccessibilityType {
    /// Shared (lobby, gym).
    Communal,
    /// A unit's door.
    Private,
}

/// The hardware model of a lock.
#[uniffi::remote(Enum)]
pub enum DeviceType {
    /// M.
    M,
    /// R.
    R,
    /// R2.
    R2,
    /// C.
    C,
    /// G.
    G,
}

/// Who granted an access.
#[uniffi::remote(Enum)]
pub enum GranterType {
    /// A partner application's backend.
    Partner,
    /// A user sharing their access with a guest.
    User,
}

/// Why an access does or does not carry a doorcode.
#[uniffi::remote(Enum)]
pub enum DoorcodeDescription {
    /// A valid 7-digit doorcode is there.
    Valid,
    /// Permanent communal access granted by the property manager in a building with common doorcodes.
    CommunalDoorcodeConflict,
    /// Resident doorcodes are never exposed.
    UserHasResidentAccess,
    /// The user already has permanent guest access granted by the property manager.
    UserHasGuestAccessConflict,
}

/// How an entry at a lock was attempted.
#[uniffi::remote(Enum)]
pub enum AccessMethod {
    /// A phone's BLE credential.
    Ble,
    /// A doorcode typed on the keypad.
    Doorcode,
    /// A phone's sync session.
    Sync,
    /// Anything else the lock logged.
    Other,
}

/// Whether the lock let an attempt through.
#[uniffi::remote(Enum)]
pub enum AccessResult {
    /// The lock opened.
    Granted,
    /// The lock refused.
    Denied,
}

/// What happened to an unlock, in order: `Started`, then one of `Success`, `Failed` or `Canceled`.
#[uniffi::remote(Enum)]
pub enum UnlockEvent {
    /// An unlock began (explicit or proximity).
    Started {
        /// The lock ([`Lock::id`]).
        lock_id: String,
    },
    /// The lock opened.
    Success {
        /// The lock.
        lock_id: String,
    },
    /// The unlock failed.
    Failed {
        /// The lock.
        lock_id: String,
        /// Why, in words that say what to do.
        reason: String,
    },
    /// The caller canceled the unlock before it finished.
    Canceled {
        /// The lock.
        lock_id: String,
    },
}

/// A lock's battery as last reported.
#[uniffi::remote(Record)]
pub struct BatteryView {
    /// 0 to 100.
    pub percentage: u8,
    /// When the lock last reported it.
    pub last_updated: Timestamp,
}

/// The lock installed on a door.
#[uniffi::remote(Record)]
pub struct DeviceView {
    /// The lock's serial number.
    pub serial_number: String,
    /// The hardware model.
    pub device_type: DeviceType,
    /// The battery as last reported.
    pub battery: BatteryView,
}

/// A door a partner may use.
#[uniffi::remote(Record)]
pub struct DoorView {
    /// The door's identifier.
    pub uuid: String,
    /// The door's name.
    pub name: String,
    /// Door or elevator.
    pub door_type: DoorType,
    /// The building the door is in.
    pub building_uuid: String,
    /// Communal or private.
    pub accessibility_type: AccessibilityType,
    /// Whether the lock is online (gets changes directly) or needs a phone to carry them.
    pub is_connected: bool,
    /// The installed lock, or null until an installer activates the door.
    pub device: Option<DeviceView>,
}

/// A building holding a door a partner may use.
#[uniffi::remote(Record)]
pub struct BuildingView {
    /// The building's identifier.
    pub uuid: String,
    /// Its name.
    pub name: String,
    /// The IANA time zone of its doors.
    pub timezone: String,
    /// Whether the building has common doorcodes for communal doors.
    pub common_doorcodes: bool,
}

/// A resident of a building.
#[uniffi::remote(Record)]
pub struct ResidentView {
    /// The user's identifier.
    pub user_uuid: String,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Email, or null.
    pub email: Option<String>,
    /// Phone, or null.
    pub phone: Option<String>,
    /// The building's doors this user has resident access to.
    pub door_uuids: Vec<String>,
}

/// Who granted an access.
#[uniffi::remote(Record)]
pub struct Granter {
    /// A partner or a sharing user.
    pub granter_type: GranterType,
    /// The partner's or the user's identifier.
    pub uuid: String,
}

/// The signed-in user's access to one door.
#[uniffi::remote(Record)]
pub struct MyAccessView {
    /// The kind of access.
    pub passcode_type: PasscodeType,
    /// How the granter classified the user.
    pub role: Role,
    /// Whether the user may share it with guests.
    pub shareable: bool,
    /// When it starts.
    pub start_time: Timestamp,
    /// When it ends, or null for no expiry.
    pub end_time: Option<Timestamp>,
    /// Who granted it.
    pub granter: Granter,
}

/// One entry of a lock's access log.
#[uniffi::remote(Record)]
pub struct AccessLogEntry {
    /// When it happened, by the lock's clock.
    pub time: Timestamp,
    /// Whether the lock's clock was unsure at the time.
    pub time_uncertain: bool,
    /// How entry was attempted.
    pub method: AccessMethod,
    /// Granted or denied.
    pub result: AccessResult,
    /// Why it was denied, if it was.
    pub reason: Option<String>,
    /// Who it was, when the lock could tell.
    pub user_uuid: Option<String>,
    /// Their name, when known.
    pub user_name: Option<String>,
    /// Whether it was a guest of the signed-in user.
    pub is_guest: bool,
}

/// Invite a user (or find them by email, else phone) and grant access to doors. Checked before it is sent:
/// a broken rule fails with `InvalidRequest` naming the field.
#[uniffi::remote(Record)]
pub struct CreateUserRequest {
    /// The user's first name (1 to 100 characters).
    pub first_name: String,
    /// The user's last name (1 to 100 characters).
    pub last_name: String,
    /// Required for PERMANENT; for DAILY kinds exactly one of email or phone.
    pub email: Option<String>,
    /// E.164, such as `+14155550123`.
    pub phone: Option<String>,
    /// When access starts (DAILY kinds: its local day, today or tomorrow at the door).
    pub start_time: Timestamp,
    /// When access ends; null means no expiry.
    pub end_time: Option<Timestamp>,
    /// At least one door.
    pub door_uuids: Vec<String>,
    /// Whether the user may share this access with guests (false for DAILY kinds).
    pub shareable: bool,
    /// The kind of access.
    pub passcode_type: PasscodeType,
    /// How the partner classifies the user.
    pub role: Role,
    /// Whether the backend emails/texts the user.
    pub should_notify: bool,
}

/// The signed-in user shares doors with a guest (role NON_RESIDENT, never shareable).
#[uniffi::remote(Record)]
pub struct InviteGuestRequest {
    /// The guest's first name.
    pub first_name: String,
    /// The guest's last name.
    pub last_name: String,
    /// Required for PERMANENT; for DAILY kinds exactly one of email or phone.
    pub email: Option<String>,
    /// E.164, such as `+14155550123`.
    pub phone: Option<String>,
    /// When the guest's access starts.
    pub start_time: Timestamp,
    /// When it ends; null for no expiry (PERMANENT only).
    pub end_time: Option<Timestamp>,
    /// The doors to share (each one the user has PERMANENT, shareable access to).
    pub door_uuids: Vec<String>,
    /// The kind of access the guest gets.
    pub passcode_type: PasscodeType,
}

/// The outcome of a guest invite on one door.
#[uniffi::remote(Record)]
pub struct GuestInviteResult {
    /// The door.
    pub door_uuid: String,
    /// Whether the guest got access to it.
    pub granted: bool,
    /// Why not, when `granted` is false.
    pub message: Option<String>,
}

/// The outcome of a guest invite, door by door (a partial success says which doors failed and why).
#[uniffi::remote(Record)]
pub struct InviteGuestsResponse {
    /// The guest, or null when no door was granted.
    pub guest_uuid: Option<String>,
    /// One result per requested door, in request order.
    pub results: Vec<GuestInviteResult>,
}

/// A doorcode, or why there is none. `code` prints as `*******`: call `code.reveal()` to show it.
#[derive(Clone, Debug, uniffi::Record)]
pub struct Doorcode {
    /// Seven digits, when `description` is VALID.
    pub code: Option<SecretText>,
    /// Why there is or is not a code.
    pub description: DoorcodeDescription,
}

impl From<DoorcodeView> for Doorcode {
    fn from(view: DoorcodeView) -> Doorcode {
        Doorcode { code: view.code.map(SecretText::new), description: view.description }
    }
}

/// One access of a user to one door.
#[derive(Clone, Debug, uniffi::Record)]
pub struct Access {
    /// The door.
    pub door_uuid: String,
    /// The kind of access.
    pub passcode_type: PasscodeType,
    /// Whether the user may share it.
    pub shareable: bool,
    /// When it starts (DAILY kinds: the start of the local day).
    pub start_time: Timestamp,
    /// When it ends, or null for no expiry.
    pub end_time: Option<Timestamp>,
    /// Who granted it.
    pub granter: Granter,
    /// How the granter classified the user.
    pub role: Role,
    /// The doorcode, or why there is none.
    pub doorcode: Doorcode,
}

impl From<AccessView> for Access {
    fn from(view: AccessView) -> Access {
        Access {
            door_uuid: view.door_uuid,
            passcode_type: view.passcode_type,
            shareable: view.shareable,
            start_time: view.start_time,
            end_time: view.end_time,
            granter: view.granter,
            role: view.role,
            doorcode: view.doorcode.into(),
        }
    }
}

/// A user with the accesses the caller may see.
#[derive(Clone, Debug, uniffi::Record)]
pub struct User {
    /// The user's identifier.
    pub user_uuid: String,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Email, or null for a user known only by phone.
    pub email: Option<String>,
    /// Phone, or null.
    pub phone: Option<String>,
    /// The accesses.
    pub accesses: Vec<Access>,
}

impl From<UserView> for User {
    fn from(view: UserView) -> User {
        User {
            user_uuid: view.user_uuid,
            first_name: view.first_name,
            last_name: view.last_name,
            email: view.email,
            phone: view.phone,
            accesses: view.accesses.into_iter().map(Access::from).collect(),
        }
    }
}

/// A guest the signed-in user invited, with the accesses the user granted them.
#[derive(Clone, Debug, uniffi::Record)]
pub struct Guest {
    /// The guest's identifier.
    pub guest_uuid: String,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Email, or null.
    pub email: Option<String>,
    /// Phone, or null.
    pub phone: Option<String>,
    /// The current accesses the user granted this guest.
    pub accesses: Vec<Access>,
}

impl From<GuestView> for Guest {
    fn from(view: GuestView) -> Guest {
        Guest {
            guest_uuid: view.guest_uuid,
            first_name: view.first_name,
            last_name: view.last_name,
            email: view.email,
            phone: view.phone,
            accesses: view.accesses.into_iter().map(Access::from).collect(),
        }
    }
}

/// One lock the user may open, as the app shows it.
#[derive(Clone, Debug, uniffi::Record)]
pub struct Lock {
    /// The lock's id for every `DoorClient` call: the door's uuid.
    pub id: String,
    /// The id the lock advertises over BLE (the door uuid's 16 bytes as 32 lowercase hex).
    pub lock_id: String,
    /// The door's name.
    pub name: String,
    /// The building's uuid.
    pub building_uuid: String,
    /// The building's name.
    pub building_name: String,
    /// The door's IANA time zone.
    pub timezone: String,
    /// Whether the lock is online (changes reach it without a phone).
    pub is_connected: bool,
    /// The battery as last reported.
    pub battery: Option<BatteryView>,
    /// The user's access (kind, role, shareable, window, granter).
    pub access: MyAccessView,
    /// Whether this phone holds a credential for the lock (it can unlock offline).
    pub has_credential: bool,
    /// When that credential expires.
    pub credential_expires_at: Option<Timestamp>,
    /// The user's doorcode, or why there is none.
    pub doorcode: Option<Doorcode>,
}

impl From<CoreLock> for Lock {
    fn from(lock: CoreLock) -> Lock {
        Lock {
            id: lock.id,
            lock_id: lock.lock_id,
            name: lock.name,
            building_uuid: lock.building_uuid,
            building_name: lock.building_name,
            timezone: lock.timezone,
            is_connected: lock.is_connected,
            battery: lock.battery,
            access: lock.access,
            has_credential: lock.has_credential,
            credential_expires_at: lock.credential_expires_at,
            doorcode: lock.doorcode.map(Doorcode::from),
        }
    }
}

/// What one `sync` did.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct SyncSummary {
    /// Whether fresh sync data came from the backend (false: offline, the cached deltas were carried).
    pub fetched: bool,
    /// Deltas carried to the lock.
    pub deltas_carried: u32,
    /// Of those, applied now.
    pub deltas_applied: u32,
    /// Of those, already applied before.
    pub deltas_already_applied: u32,
    /// Of those, refused by the lock (fetched again next time).
    pub deltas_refused: u32,
    /// The lock's last applied change after the sync.
    pub last_applied_seq: u64,
    /// The lock's battery, 0 to 100.
    pub battery_percent: u8,
    /// Sealed log batches read from the lock.
    pub log_batches_read: u32,
    /// Log uploads the backend acknowledged during this sync.
    pub log_uploads_acknowledged: u32,
    /// Log uploads still queued (the backend could not be reached): the next sync or fetch sends them.
    pub log_uploads_pending: u32,
    /// The lock holds more logs than one sync fetches: sync again.
    pub more_logs_on_lock: bool,
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl From<CoreSyncSummary> for SyncSummary {
    fn from(summary: CoreSyncSummary) -> SyncSummary {
        SyncSummary {
            fetched: summary.fetched,
            deltas_carried: count(summary.deltas_carried),
            deltas_applied: count(summary.deltas_applied),
            deltas_already_applied: count(summary.deltas_already_applied),
            deltas_refused: count(summary.deltas_refused),
            last_applied_seq: summary.last_applied_seq,
            battery_percent: summary.battery_percent,
            log_batches_read: count(summary.log_batches_read),
            log_uploads_acknowledged: count(summary.log_uploads_acknowledged),
            log_uploads_pending: count(summary.log_uploads_pending),
            more_logs_on_lock: summary.more_logs_on_lock,
        }
    }
}
