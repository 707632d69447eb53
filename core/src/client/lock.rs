//! [`Lock`]: the small public view of one of the user's locks, built from the cached `LockView`.

use chrono::{DateTime, Utc};

use crate::model::{BatteryView, DoorcodeView, LockView, MyAccessView};

/// One lock the user may open, as the app shows it. `Debug` never shows the doorcode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lock {
    /// The lock's id for every [`super::DoorClient`] call: the door's uuid.
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
    pub credential_expires_at: Option<DateTime<Utc>>,
    /// The user's doorcode, or why there is none.
    pub doorcode: Option<DoorcodeView>,
}

impl Lock {
    pub(crate) fn from_view(view: LockView, has_credential: bool) -> Lock {
        Lock {
            id: view.door_uuid,
            lock_id: view.lock_id,
            name: view.name,
            building_uuid: view.building_uuid,
            building_name: view.building_name,
            timezone: view.timezone,
            is_connected: view.is_connected,
            battery: view.battery,
            access: view.access,
            has_credential,
            credential_expires_at: view.credential_expires_at,
            doorcode: view.doorcode,
        }
    }

    /// Whether the access window covers `now`.
    pub fn access_open_at(&self, now: DateTime<Utc>) -> bool {
        self.access.start_time <= now && self.access.end_time.is_none_or(|end| now < end)
    }
}
