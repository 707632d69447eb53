//! Doors and buildings as the partner API returns them, and the pagination query.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{AccessibilityType, DeviceType, DoorType};

/// A lock's battery as last reported.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatteryView {
    /// 0 to 100.
    pub percentage: u8,
    /// When the lock last reported it.
    pub last_updated: DateTime<Utc>,
}

/// The lock installed on a door.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceView {
    /// The lock's serial number.
    pub serial_number: String,
    /// The hardware model.
    #[serde(rename = "type")]
    pub device_type: DeviceType,
    /// The battery as last reported.
    pub battery: BatteryView,
}

/// A door.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DoorView {
    /// The door's identifier.
    pub uuid: String,
    /// The door's name.
    pub name: String,
    /// DOOR or ELEVATOR.
    #[serde(rename = "type")]
    pub door_type: DoorType,
    /// The building the door is in.
    pub building_uuid: String,
    /// COMMUNAL or PRIVATE.
    pub accessibility_type: AccessibilityType,
    /// Whether the lock is online (gets changes directly) or needs a phone to carry them.
    pub is_connected: bool,
    /// The installed lock, or null until an installer activates the door.
    pub device: Option<DeviceView>,
}

/// A page of `GET /access/sdk/v1/doors`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DoorsPage {
    /// The doors of this page.
    pub doors: Vec<DoorView>,
    /// The token of the next page, or null on the last page.
    pub next_page_token: Option<String>,
}

/// Paging of the list endpoints: `pageToken` defaults to `"1"`; without `pageSize` everything comes back.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageQuery {
    /// How many items per page (1 to [`MAX_PAGE_SIZE`]); none returns everything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_size: Option<u32>,
    /// The `nextPageToken` of the previous page; none is the first page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_token: Option<String>,
}

/// The largest `pageSize` the backend accepts.
pub const MAX_PAGE_SIZE: u32 = 1000;

/// A building.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildingView {
    /// The building's identifier.
    pub uuid: String,
    /// Its name.
    pub name: String,
    /// The IANA time zone of its doors, such as `America/New_York`.
    pub timezone: String,
    /// Whether the building has the common-doorcodes feature: a permanent access to its communal doors
    /// granted by the property manager makes a partner's permanent grant there report
    /// `COMMUNAL_DOORCODE_CONFLICT` instead of a code.
    pub common_doorcodes: bool,
}

/// The response of `GET /access/sdk/v1/buildings`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildingsResponse {
    /// The buildings that hold at least one door usable by the caller.
    pub buildings: Vec<BuildingView>,
}
