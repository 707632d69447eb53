//! The user-scoped API (`/access/sdk/v1/me/…`): what a signed-in user's phone asks for — its device key,
//! its locks with credentials, the pending sync data of a lock, log upload, access logs, and guests.
//!
//! Binary values (keys, credentials, deltas, sealed log batches) travel as lowercase hex strings.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::enums::wire_enum;

use super::{AccessView, BatteryView, DoorcodeView, Granter, PasscodeType, Role};

/// The body of `POST /access/sdk/v1/me/devices`: registers the phone's device key for the signed-in user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegisterDeviceRequest {
    /// The device's public key: a compressed P-256 point, 33 bytes as 66 lowercase hex characters.
    pub public_key: String,
    /// A human name for the device, such as "Ana's phone".
    pub name: String,
}

/// A registered device of the signed-in user (not to be confused with [`super::DeviceView`], the lock
/// installed on a door; this one is also exported as [`RegisteredDeviceView`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceView {
    /// The device's identifier (pass it as `deviceUuid` to get credentials).
    pub device_uuid: String,
    /// The device's public key, 66 lowercase hex characters.
    pub public_key: String,
    /// The device's name.
    pub name: String,
    /// When it was first registered.
    pub registered_at: DateTime<Utc>,
}

/// The signed-in user's access to one door.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MyAccessView {
    /// The kind of access.
    pub passcode_type: PasscodeType,
    /// How the granter classified the user.
    pub role: Role,
    /// Whether the user may share it with guests.
    pub shareable: bool,
    /// When it starts.
    pub start_time: DateTime<Utc>,
    /// When it ends, or null for no expiry.
    pub end_time: Option<DateTime<Utc>>,
    /// Who granted it.
    pub granter: Granter,
}

/// One lock the signed-in user may open, with what the SDK needs to reach and verify it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LockView {
    /// The door's identifier.
    pub door_uuid: String,
    /// The lock's identifier as the lock advertises it: the door uuid's 16 bytes as 32 lowercase hex.
    pub lock_id: String,
    /// The door's name.
    pub name: String,
    /// The building the door is in.
    pub building_uuid: String,
    /// The building's name.
    pub building_name: String,
    /// The IANA time zone of the door.
    pub timezone: String,
    /// Whether the lock is online (gets changes directly) or needs a phone to carry them.
    pub is_connected: bool,
    /// The lock's public key (compressed P-256, hex), or null until an installer activates the door.
    pub lock_public_key: Option<String>,
    /// The lock's battery as last reported, or null if never reported.
    pub battery: Option<BatteryView>,
    /// The user's access to this door.
    pub access: MyAccessView,
    /// A BLE credential (hex) for the device named by `deviceUuid`: only for PERMANENT access on an
    /// activated door, and only when `deviceUuid` names one of this user's registered devices.
    pub credential: Option<String>,
    /// When `credential` expires.
    pub credential_expires_at: Option<DateTime<Utc>>,
    /// The user's doorcode for this door, or why there is none (resident codes are never exposed).
    pub doorcode: Option<DoorcodeView>,
}

/// The response of `GET /access/sdk/v1/me/locks`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LocksResponse {
    /// The locks, by building then door name.
    pub locks: Vec<LockView>,
}

/// The response of `GET /access/sdk/v1/me/locks/:door/sync?afterSeq=`: what a phone carries to an offline
/// lock.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncDataView {
    /// Signed deltas (hex) issued after `afterSeq`, oldest first, at most
    /// `latchkey_protocol::sync::MAX_DELTAS_PER_SYNC` of them.
    pub deltas: Vec<String>,
    /// A signed time token (hex) for the lock's clock, or null when the door is not activated.
    pub time_token: Option<String>,
    /// The sequence number of the newest delta issued for this lock (0 when none yet).
    pub last_issued_seq: u64,
}

/// One sealed log batch read from a lock.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LogBatchUpload {
    /// The batch's index in the lock's log.
    pub index: u32,
    /// The sealed batch, hex, exactly as the lock gave it.
    pub sealed: String,
}

/// The body of `POST /access/sdk/v1/me/locks/:door/logs`: what a phone read from a lock during a sync.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UploadLogsRequest {
    /// The lock's hello of the sync session (hex), which binds the batches to it.
    pub hello: String,
    /// The sealed batches.
    pub batches: Vec<LogBatchUpload>,
    /// The newest delta sequence the lock reported as applied, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_applied_seq: Option<u64>,
    /// The lock's battery, 0 to 100, if it reported one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub battery_percent: Option<u8>,
}

/// The response of `POST /access/sdk/v1/me/locks/:door/logs`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadLogsResponse {
    /// Log entries stored now.
    pub stored: u32,
    /// Log entries the backend already held (an upload repeated after a crash): not stored twice.
    pub duplicates: u32,
    /// The newest delta sequence the backend now knows the lock applied, if any.
    pub acknowledged_seq: Option<u64>,
}

wire_enum! {
    /// How an entry at a lock was attempted.
    AccessMethod {
        /// A phone's BLE credential.
        Ble => "BLE",
        /// A doorcode typed on the keypad.
        Doorcode => "DOORCODE",
        /// A phone's sync session.
        Sync => "SYNC",
        /// Anything else the lock logged.
        Other => "OTHER",
    }
}

wire_enum! {
    /// Whether the lock let the attempt through.
    AccessResult {
        /// The lock opened.
        Granted => "GRANTED",
        /// The lock refused.
        Denied => "DENIED",
    }
}

/// One entry of a lock's access log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessLogEntry {
    /// When it happened, by the lock's clock.
    pub time: DateTime<Utc>,
    /// Whether the lock's clock was unsure at the time (not set since power-up).
    pub time_uncertain: bool,
    /// How entry was attempted.
    pub method: AccessMethod,
    /// Granted or denied.
    pub result: AccessResult,
    /// Why it was denied (the lock's reason), if it was.
    pub reason: Option<String>,
    /// Who it was, when the lock could tell.
    pub user_uuid: Option<String>,
    /// Their name, when known.
    pub user_name: Option<String>,
    /// Whether it was a guest of the signed-in user.
    pub is_guest: bool,
}

/// The response of `GET /access/sdk/v1/me/locks/:door/access-logs`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessLogsResponse {
    /// Entries about the user and the guests they invited, newest first.
    pub entries: Vec<AccessLogEntry>,
}

/// The body of `POST /access/sdk/v1/me/guests`: the signed-in user shares doors with a guest. The role is
/// always NON_RESIDENT and the guest's access is never shareable.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InviteGuestRequest {
    /// The guest's first name.
    pub first_name: String,
    /// The guest's last name.
    pub last_name: String,
    /// Required for PERMANENT; for DAILY kinds exactly one of `email` or `phone`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// E.164, such as `+14155550123`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// When the guest's access starts.
    pub start_time: DateTime<Utc>,
    /// When it ends; null for no expiry (PERMANENT only).
    #[serde(default)]
    pub end_time: Option<DateTime<Utc>>,
    /// The doors to share (each must be one the user has PERMANENT, shareable access to).
    pub door_uuids: Vec<String>,
    /// The kind of access the guest gets.
    pub passcode_type: PasscodeType,
}

/// The outcome of an invite on one door.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GuestInviteResult {
    /// The door.
    pub door_uuid: String,
    /// Whether the guest got access to it.
    pub granted: bool,
    /// Why not, when `granted` is false.
    pub message: Option<String>,
}

/// The response of `POST /access/sdk/v1/me/guests`: per-door results, so a partial success says which doors
/// failed and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InviteGuestsResponse {
    /// The guest, or null when no door was granted.
    pub guest_uuid: Option<String>,
    /// One result per requested door, in request order.
    pub results: Vec<GuestInviteResult>,
}

impl InviteGuestsResponse {
    /// The results of doors that were not granted.
    pub fn failures(&self) -> impl Iterator<Item = &GuestInviteResult> {
        self.results.iter().filter(|result| !result.granted)
    }
}

/// A guest the signed-in user invited, with the accesses the user granted them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GuestView {
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
    /// The current accesses the signed-in user granted this guest (granter type USER).
    pub accesses: Vec<AccessView>,
}

/// The response of `GET /access/sdk/v1/me/guests`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GuestsResponse {
    /// The guests, by last then first name.
    pub guests: Vec<GuestView>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_camel_case_and_optional_fields_may_be_omitted() {
        let upload: UploadLogsRequest =
            serde_json::from_str(r#"{"hello":"00","batches":[{"index":0,"sealed":"ab"}]}"#).expect("upload");
        assert_eq!(upload.last_applied_seq, None);
        assert_eq!(upload.battery_percent, None);
        let json = serde_json::to_value(RegisterDeviceRequest { public_key: "02".into(), name: "n".into() })
            .expect("json");
        assert_eq!(json["publicKey"], "02");
        assert_eq!(serde_json::to_string(&AccessMethod::Doorcode).expect("json"), "\"DOORCODE\"");
    }
}
