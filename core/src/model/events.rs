//! Partner events: what happened at a partner's doors, as the event feed (`GET /access/sdk/v1/events`)
//! lists it. An event belongs to one partner; partners never see each other's events (docs/api.md,
//! "Events").

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::enums::wire_enum;
use super::users::AccessView;

wire_enum! {
    /// What an event reports. The wire spelling is `<object>.<what happened>`.
    EventType {
        /// An access was granted (a new grant, or a grant that replaced one for the same user, door and
        /// granter).
        AccessGranted => "access.granted",
        /// An access's end time or shareable flag was changed (`PATCH users/:user/doors/:door`).
        AccessChanged => "access.changed",
        /// An access was revoked.
        AccessRevoked => "access.revoked",
        /// A grant gave the user a doorcode the API shows (its access's `doorcode.code`).
        DoorcodeIssued => "doorcode.issued",
        /// A lock's log says a door was opened (BLE or doorcode), reported when a phone or a connected lock
        /// uploads the log.
        EntryGranted => "entry.granted",
        /// A lock's log says an attempt was refused.
        EntryDenied => "entry.denied",
        /// A lock's log says a code was typed while the keypad was locked out after repeated wrong codes.
        KeypadLockout => "keypad.lockout",
        /// A lock's log says it applied a sync (access changes reached it).
        LockSynced => "lock.synced",
        /// A lock's log counts refusals it did not log one by one: past 4 refusals in 10 minutes (wrong codes,
        /// refused unlocks, codes typed during a keypad lockout) a lock counts the rest into one summary, so
        /// a flood cannot push who came in out of its log.
        LockRefusalsCounted => "lock.refusals_counted",
        /// A user's registered phone (device key) was removed: its credentials stop being renewed.
        DeviceRemoved => "device.removed",
        /// One of your webhook endpoints was disabled after failing for [`super::WEBHOOK_DISABLE_AFTER_DAYS`]
        /// days.
        EndpointDisabled => "endpoint.disabled",
    }
}

wire_enum! {
    /// Who made an access change an event reports.
    AccessSource {
        /// This partner, through the partner API.
        Partner => "PARTNER",
        /// The property manager (manager API or web page).
        Manager => "MANAGER",
        /// A user sharing their access through this partner's app.
        User => "USER",
    }
}

/// One event of the feed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventView {
    /// The event's stable identifier (`evt_…`): the same in the feed and in every webhook delivery, the
    /// key to de-duplicate on.
    pub id: String,
    /// What happened.
    #[serde(rename = "type")]
    pub event_type: EventType,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// When the backend recorded it (for access events, the same instant as `occurredAt`).
    pub recorded_at: DateTime<Utc>,
    /// The door it concerns, or null for an event about no door (`endpoint.disabled`).
    pub door_uuid: Option<String>,
    /// The objects it concerns: an [`AccessEventData`] for `access.*` and `doorcode.issued`, an
    /// [`EntryEventData`] for `entry.*`, a [`LockEventData`] for `keypad.lockout` and `lock.synced`, a
    /// [`RefusalsCountedData`] for `lock.refusals_counted`, an
    /// [`EndpointDisabledData`] for `endpoint.disabled`.
    pub data: serde_json::Value,
}

impl EventView {
    /// The data of an access or doorcode event.
    pub fn access_data(&self) -> Option<AccessEventData> {
        serde_json::from_value(self.data.clone()).ok()
    }
}

/// The `data` of `access.*` and `doorcode.issued` events.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessEventData {
    /// The user whose access it is.
    pub user: EventUser,
    /// The access as the partner API shows it (for `access.revoked`, as it was).
    pub access: AccessView,
    /// Who made the change.
    pub source: AccessSource,
}

/// The `data` of `entry.granted` and `entry.denied`. The event's `occurredAt` is the lock's time of the
/// entry, `recordedAt` when the backend received the log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EntryEventData {
    /// The user or guest, or null when the lock's record names nobody the backend knows (a wrong code).
    pub user: Option<EventUser>,
    /// BLE or DOORCODE.
    pub method: super::AccessMethod,
    /// Why it was refused, or null.
    pub reason: Option<String>,
    /// The lock's time of the entry.
    pub lock_time: DateTime<Utc>,
    /// The lock's clock was unconfirmed (it had lost power and had no time token since).
    pub time_uncertain: bool,
    /// The entry's place in the lock's log.
    pub log_seq: u64,
}

/// The `data` of `keypad.lockout` and `lock.synced`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LockEventData {
    /// The lock's time of the entry.
    pub lock_time: DateTime<Utc>,
    /// The lock's clock was unconfirmed.
    pub time_uncertain: bool,
    /// The entry's place in the lock's log.
    pub log_seq: u64,
}

/// The `data` of `lock.refusals_counted`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefusalsCountedData {
    /// Refusals counted.
    pub count: u32,
    /// Of them, refused unlocks (BLE).
    pub unlock_count: u32,
    /// Of them, keypad refusals: wrong codes and codes typed during a lockout.
    pub keypad_count: u32,
    /// The lock's time of the first counted refusal.
    pub first_lock_time: DateTime<Utc>,
    /// The lock's time of the last counted refusal.
    pub last_lock_time: DateTime<Utc>,
    /// The lock's clock was unconfirmed for one of them.
    pub time_uncertain: bool,
    /// The summary entry's place in the lock's log.
    pub log_seq: u64,
}

/// The `data` of `device.removed`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceRemovedData {
    /// The device's owner.
    pub user: EventUser,
    /// The removed device's identifier (as `POST me/devices` answered it).
    pub device_uuid: String,
    /// The name the phone registered it with.
    pub device_name: String,
}

/// The `data` of `endpoint.disabled`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EndpointDisabledData {
    /// The endpoint, as it is now (disabled).
    pub endpoint: super::WebhookEndpointView,
    /// Why.
    pub reason: String,
}

/// A user as an event names them (the fields of `UserView` without the accesses).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventUser {
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
}

/// A page of the event feed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventsPage {
    /// The events after the request's cursor, oldest first.
    pub events: Vec<EventView>,
    /// Pass as `after` to read on: the position after the last event of this page (or the request's own
    /// position when the page is empty). Opaque.
    pub next_cursor: String,
    /// Whether more events were already waiting after this page.
    pub has_more: bool,
}

/// How many events a feed page holds when the request names no `pageSize`, and at most.
pub const EVENTS_PAGE_SIZE: u32 = 100;

/// How long the backend keeps an event, in days after it was recorded.
pub const EVENT_RETENTION_DAYS: i64 = 30;
