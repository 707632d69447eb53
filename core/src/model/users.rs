//! Users and their accesses: the bodies of `POST v1|v2/users`, `GET users`, `PATCH` and the user views.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{DoorType, DoorcodeDescription, GranterType, PasscodeType, Role};

/// The body of `POST /access/sdk/v1/users` and `POST /access/sdk/v2/users`: invite a user (or find them by
/// email, else phone) and grant access to doors.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateUserRequest {
    /// The user's first name.
    pub first_name: String,
    /// The user's last name.
    pub last_name: String,
    /// Required for PERMANENT; for DAILY kinds exactly one of `email` or `phone`. An empty string counts
    /// as absent.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "blank_as_none")]
    pub email: Option<String>,
    /// E.164, such as `+14155550123`. An empty string counts as absent.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "blank_as_none")]
    pub phone: Option<String>,
    /// When access starts. For DAILY kinds only its calendar day in the door's time zone counts, and that
    /// day must be today or tomorrow there.
    pub start_time: DateTime<Utc>,
    /// When access ends; none means no expiry. Ignored for DAILY kinds (they end with the local day).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<DateTime<Utc>>,
    /// At least one door, each usable by the partner through an enabled key assigned to it.
    pub door_uuids: Vec<String>,
    /// Whether the user may share this access with guests. Must be false for DAILY kinds.
    #[serde(default)]
    pub shareable: bool,
    /// The kind of access.
    pub passcode_type: PasscodeType,
    /// How the partner classifies the user. Decides whether v2 exposes doorcodes.
    pub role: Role,
    /// Whether Latch emails/texts the user (welcome and doorcode messages). Defaults to true.
    #[serde(default = "default_true")]
    pub should_notify: bool,
}

fn default_true() -> bool {
    true
}

/// Reads an optional string where `null`, `""` and blanks all mean "not given" (many partner backends
/// send empty strings for absent fields).
fn blank_as_none<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    let value: Option<String> = Option::deserialize(deserializer)?;
    Ok(value.filter(|text| !text.trim().is_empty()))
}

/// A door as the v1 invite response lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DoorSummary {
    /// The door's identifier.
    pub uuid: String,
    /// The door's name.
    pub name: String,
    /// DOOR or ELEVATOR.
    #[serde(rename = "type")]
    pub door_type: DoorType,
    /// The building the door is in.
    pub building_uuid: String,
}

/// The response of `POST /access/sdk/v1/users`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateUserV1Response {
    /// The invited (or found) user.
    pub user_uuid: String,
    /// The doors of this grant.
    pub doors: Vec<DoorSummary>,
}

/// Who granted an access.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Granter {
    /// PARTNER or USER.
    #[serde(rename = "type")]
    pub granter_type: GranterType,
    /// The partner's or the sharing user's identifier.
    pub uuid: String,
}

/// A doorcode result in a v2 access: a code, or the reason there is none.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DoorcodeView {
    /// Seven digits, or null when `description` is not VALID.
    pub code: Option<String>,
    /// Why there is or is not a code.
    pub description: DoorcodeDescription,
}

impl std::fmt::Debug for DoorcodeView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DoorcodeView")
            .field("code", &self.code.as_ref().map(|_| "*******"))
            .field("description", &self.description)
            .finish()
    }
}

/// One access of a user to one door.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessView {
    /// The door.
    pub door_uuid: String,
    /// The kind of access.
    pub passcode_type: PasscodeType,
    /// Whether the user may share it.
    pub shareable: bool,
    /// When it starts (for DAILY kinds: the start of the local day).
    pub start_time: DateTime<Utc>,
    /// When it ends, or null for no expiry (for DAILY kinds: the end of the local day).
    pub end_time: Option<DateTime<Utc>>,
    /// Who granted it.
    pub granter: Granter,
    /// How the granter classified the user.
    pub role: Role,
    /// The doorcode, or why there is none.
    pub doorcode: DoorcodeView,
}

/// A user with accesses: the response of `POST v2/users`, `PATCH`, and `GET users/:user`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    /// Email, or null for a user known only by phone.
    pub email: Option<String>,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// The user's identifier.
    pub user_uuid: String,
    /// Phone, or null.
    pub phone: Option<String>,
    /// The accesses this caller may see.
    pub accesses: Vec<AccessView>,
}

/// The body of `PATCH /access/sdk/v1/users/:user/doors/:door`.
///
/// An omitted `endTime` means *no expiry*, exactly like an explicit null (the spec's documented quirk): to
/// keep the current end, send it again. The client always sends `endTime`, null or not, so the intent is
/// visible on the wire.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PatchAccessRequest {
    /// New shareability; omitted keeps the current value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shareable: Option<bool>,
    /// New end; null or omitted removes the expiry.
    #[serde(default)]
    pub end_time: Option<DateTime<Utc>>,
}

/// A page of `GET /access/sdk/v1/users`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsersPage {
    /// The users of this page, oldest first.
    pub users: Vec<UserView>,
    /// The token of the next page, or null on the last page.
    pub next_page_token: Option<String>,
}

/// A resident of a building, as `GET buildings/:building/residents` lists them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
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
    /// The building's doors (visible to the caller) this user has resident access to.
    pub door_uuids: Vec<String>,
}

/// The response of `GET /access/sdk/v1/buildings/:building/residents`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResidentsResponse {
    /// Residents, by last then first name.
    pub residents: Vec<ResidentView>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_contacts_count_as_absent_and_unknown_fields_are_refused() {
        let body = r#"{"firstName":"A","lastName":"B","email":"","phone":"+14155550123",
            "startTime":"2026-11-22T10:00:00Z","doorUuids":["d"],"passcodeType":"DAILY","role":"NON_RESIDENT"}"#;
        let request: CreateUserRequest = serde_json::from_str(body).expect("valid body");
        assert_eq!(request.email, None);
        assert_eq!(request.phone.as_deref(), Some("+14155550123"));
        assert!(request.should_notify, "shouldNotify defaults to true");
        let typo = body.replace("doorUuids", "doorUUIDs");
        let error = serde_json::from_str::<CreateUserRequest>(&typo).expect_err("unknown field");
        assert!(error.to_string().contains("doorUUIDs"), "{error}");
    }
}
