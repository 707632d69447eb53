//! Cold start of the phone's store: open the SQLite file (WAL, migrations checked) holding 1,000 cached
//! locks with credentials, read them and parse each cached `LockView`, as `DoorClient::locks()` does after
//! `DoorClient::setup`. "Cold" is a new `Store` each time; the OS page cache stays warm.

use chrono::{DateTime, Utc};
use latchkey::model::LockView;
use latchkey::store::{CachedLock, Store, StoredCredential};

use crate::{Effort, Figures, median, timed};

fn view(i: u32, door_uuid: &str, lock_id: &str) -> String {
    serde_json::json!({
        "doorUuid": door_uuid,
        "lockId": lock_id,
        "name": format!("Unit {i}"),
        "buildingUuid": "6a1c8e52-f3b0-4d7e-9a2b-5c8d1e4f7a0b",
        "buildingName": "The Grand",
        "timezone": "America/New_York",
        "isConnected": false,
        "lockPublicKey": "02d42cc195b0383f9cf0fdf6f2f7401f3a537d87143ed06a2e74c367bad841ae1e",
        "battery": {"percentage": 87, "lastUpdated": "2026-06-10T16:00:00Z"},
        "access": {
            "passcodeType": "PERMANENT",
            "role": "NON_RESIDENT",
            "shareable": false,
            "startTime": "2026-06-01T00:00:00Z",
            "endTime": null,
            "granter": {"type": "PARTNER", "uuid": "0e5a4c1f-8b7d-4e2a-9c3b-1d2e3f4a5b6c"}
        },
        "credential": null,
        "credentialExpiresAt": "2026-06-17T16:00:00Z",
        "doorcode": {"code": "1234567", "description": "VALID"}
    })
    .to_string()
}

/// Measures `store_open_and_load_1k_locks_ms`.
pub fn measure(effort: Effort, figures: &mut Figures) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("latchkey-bench-store-{}", uuid::Uuid::new_v4()));
    let path = dir.join("client.sqlite");
    let rows: Vec<(CachedLock, Option<StoredCredential>)> = (0..1000u32)
        .map(|i| {
            let door_uuid = uuid::Uuid::new_v4();
            let lock_id = door_uuid.simple().to_string();
            let lock = CachedLock {
                door_uuid: door_uuid.to_string(),
                lock_id: *door_uuid.as_bytes(),
                view_json: view(i, &door_uuid.to_string(), &lock_id),
            };
            (lock, Some(StoredCredential { credential: vec![0xc1; 156], expires_at: None }))
        })
        .collect();
    let fetched: DateTime<Utc> = DateTime::from_timestamp(1_781_107_200, 0).ok_or("time")?;
    {
        let store = Store::open(&path).map_err(|e| e.to_string())?;
        store.replace_locks(&rows, fetched).map_err(|e| e.to_string())?;
    }
    let mut failure = None;
    let took = median(effort.pick(15, 51), || {
        let (loaded, took) = timed(|| -> Result<usize, String> {
            let store = Store::open(&path).map_err(|e| e.to_string())?;
            let (cached, _) = store.cached_locks().map_err(|e| e.to_string())?;
            let with_credentials = store.doors_with_credentials().map_err(|e| e.to_string())?;
            let mut locks = Vec::with_capacity(cached.len());
            for lock in cached {
                let view: LockView = serde_json::from_str(&lock.view_json).map_err(|e| e.to_string())?;
                locks.push((view, with_credentials.contains(&lock.door_uuid)));
            }
            Ok(locks.len())
        });
        match loaded {
            Ok(1000) => {}
            Ok(other) => failure = Some(format!("{other} locks loaded, 1000 expected")),
            Err(e) => failure = Some(e),
        }
        took
    });
    let _ = std::fs::remove_dir_all(&dir);
    if let Some(failure) = failure {
        return Err(failure);
    }
    figures.insert("store_open_and_load_1k_locks_ms".into(), crate::ms(took));
    Ok(())
}
