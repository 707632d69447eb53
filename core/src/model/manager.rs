//! The customer's side (spec: user management) as the manager API takes and returns it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{AccessibilityType, DeviceType, DoorType, PasscodeType, Role};
use crate::SecretString;

/// `POST /manager/v1/partners`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreatePartnerRequest {
    /// The partner's display name.
    pub name: String,
}

/// A partner and its API credentials. The secret is returned once, at creation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PartnerCredentials {
    /// The partner's identifier.
    pub uuid: String,
    /// Its display name.
    pub name: String,
    /// The OAuth client id.
    pub client_id: String,
    /// The OAuth client secret: keep it on the partner's backend, never in an app.
    pub client_secret: SecretString,
}

/// `POST /manager/v1/buildings`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateBuildingRequest {
    /// The building's name.
    pub name: String,
    /// An IANA time zone name such as `America/New_York`.
    pub timezone: String,
    /// Whether the building has the common-doorcodes feature (default false); see
    /// [`super::BuildingView::common_doorcodes`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub common_doorcodes: Option<bool>,
}

/// `POST /manager/v1/doors`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateDoorRequest {
    /// The building the door is in.
    pub building_uuid: String,
    /// The door's name.
    pub name: String,
    /// DOOR or ELEVATOR.
    #[serde(rename = "type")]
    pub door_type: DoorType,
    /// COMMUNAL or PRIVATE.
    pub accessibility_type: AccessibilityType,
    /// Whether the lock will be online.
    pub is_connected: bool,
}

/// `POST /manager/v1/doors/:door/activate`: the installer's step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ActivateDoorRequest {
    /// The serial number printed on the lock.
    pub serial_number: String,
    /// The hardware model.
    pub device_type: DeviceType,
}

/// `POST /manager/v1/keys`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateKeyRequest {
    /// The key's name.
    pub name: String,
    /// The doors the key opens (at least one).
    pub door_uuids: Vec<String>,
}

/// `PUT /manager/v1/keys/:key/partner`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AssignKeyRequest {
    /// The one partner the key is assigned to.
    pub partner_uuid: String,
}

/// A key: a group of doors with settings, assigned to at most one partner.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyView {
    /// The key's identifier.
    pub uuid: String,
    /// Its name.
    pub name: String,
    /// The doors it opens.
    pub door_uuids: Vec<String>,
    /// The partner it is assigned to, or null.
    pub partner_uuid: Option<String>,
    /// Whether it is enabled.
    pub enabled: bool,
    /// Its version: 1 when created, one more each time its doors are edited.
    #[serde(default = "first_key_version")]
    pub version: u32,
}

fn first_key_version() -> u32 {
    1
}

/// `PUT /manager/v1/keys/:key/doors`: the key's new doors; makes a new version of the key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetKeyDoorsRequest {
    /// The doors the key opens from now on (at least one).
    pub door_uuids: Vec<String>,
}

/// `POST /manager/v1/users`: the property manager invites a user with a key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ManagerInviteRequest {
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Email (required: the confirmation email goes there).
    pub email: String,
    /// Phone, optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// The key whose doors the user gets.
    pub key_uuid: String,
    /// When access starts.
    pub start_time: DateTime<Utc>,
    /// When access ends; none is no expiry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<DateTime<Utc>>,
    /// RESIDENT or NON_RESIDENT.
    pub role: Role,
    /// The kind of access (default PERMANENT).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passcode_type: Option<PasscodeType>,
}

/// A user as the manager API returns them: every access, whoever granted it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagerUserView {
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
    /// Every access of the user.
    pub accesses: Vec<ManagerAccessView>,
}

/// One access as the manager sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagerAccessView {
    /// The door.
    pub door_uuid: String,
    /// The kind of access.
    pub passcode_type: PasscodeType,
    /// RESIDENT or NON_RESIDENT.
    pub role: Role,
    /// When it starts.
    pub start_time: DateTime<Utc>,
    /// When it ends, or null.
    pub end_time: Option<DateTime<Utc>>,
    /// `MANAGER`, `PARTNER` or `USER`.
    pub granted_by: String,
    /// The granting partner's or user's identifier (null for the manager).
    pub granter_uuid: Option<String>,
}

/// The channel of an outbox message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Channel {
    /// An email.
    Email,
    /// A text message.
    Sms,
}

/// What an outbox message is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MessageKind {
    /// "An account has been created for you" with the link to finalize it.
    Welcome,
    /// Access was added to an existing account (with its doorcodes, if any).
    AccessGranted,
    /// One or more doorcodes.
    Doorcode,
    /// A passwordless sign-in code.
    Otp,
}

/// One email or SMS the simulator "sent".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutboxMessage {
    /// Increasing with every message.
    pub id: i64,
    /// EMAIL or SMS.
    pub channel: Channel,
    /// The email address or phone number.
    pub recipient: String,
    /// What it is about.
    pub kind: MessageKind,
    /// The subject line (emails) or a short title (SMS).
    pub subject: String,
    /// The full text, doorcodes and one-time codes included: the outbox is the user's inbox.
    pub content: String,
    /// When it was sent, by the simulator's clock.
    pub sent_at: DateTime<Utc>,
}

/// The response of `GET /manager/v1/outbox`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutboxResponse {
    /// Every message, newest last.
    pub messages: Vec<OutboxMessage>,
}
