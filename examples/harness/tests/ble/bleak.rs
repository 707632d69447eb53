//! An independent BlueZ client sees the virtual locks: bleak (Python, dbus-fast; not btleplug) scans the
//! fake BlueZ, connects to a lock, lists its GATT service and gets the lock's first notification.
//! `cargo xtask test` installs bleak into a venv and names its python in `LATCHKEY_BLEAK_PYTHON`.

use std::process::Command;

use latchkey_protocol::gatt::{self, LockAdvertisement};

use crate::fixture::{World, bus};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bleak_scans_the_locks_connects_and_lists_their_gatt_service() {
    let Some(_bus) = bus().await else { return };
    let Some(python) = std::env::var_os("LATCHKEY_BLEAK_PYTHON") else {
        eprintln!("skipped: LATCHKEY_BLEAK_PYTHON is not set (cargo xtask test installs bleak and sets it)");
        return;
    };
    let world = World::start().await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/ble/bleak_check.py");
    let output = tokio::task::spawn_blocking(move || Command::new(python).arg(script).output())
        .await
        .expect("join")
        .expect("python runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "bleak failed:\n{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("bleak's JSON report");

    let devices = report["devices"].as_array().expect("devices");
    assert_eq!(devices.len(), 2, "bleak hears both locks: {report}");
    let company = gatt::COMPANY_ID.to_string();
    let mut heard: Vec<[u8; 16]> = devices
        .iter()
        .map(|device| {
            assert!(
                device["service_uuids"].as_array().expect("uuids").iter().any(|u| u == gatt::SERVICE_UUID),
                "{device}"
            );
            let data =
                hex::decode(device["manufacturer_data"][&company].as_str().expect("data")).expect("hex");
            LockAdvertisement::decode(&data).expect("a Latchkey advertisement").lock_id
        })
        .collect();
    heard.sort();
    let mut expected = vec![world.lock_id(0), world.lock_id(1)];
    expected.sort();
    assert_eq!(heard, expected);

    let connected = &report["connected"];
    // (bleak learns the MTU only through AcquireWrite, which the fake does not offer; btleplug reads the
    // characteristic's `MTU` property, checked by the unlock tests.)
    let services = connected["services"].as_array().expect("services");
    let service = services.iter().find(|s| s["uuid"] == gatt::SERVICE_UUID).expect("the Latchkey service");
    let characteristics = service["characteristics"].as_array().expect("characteristics");
    let find = |uuid: &str| characteristics.iter().find(|c| c["uuid"] == uuid).expect("characteristic");
    let write = find(gatt::WRITE_CHAR_UUID);
    assert!(write["properties"].as_array().expect("props").iter().any(|p| p == "write"), "{write}");
    let notify = find(gatt::NOTIFY_CHAR_UUID);
    assert!(notify["properties"].as_array().expect("props").iter().any(|p| p == "notify"), "{notify}");
    assert!(
        notify["descriptors"].as_array().expect("descs").iter().any(|d| d == gatt::CCCD_UUID),
        "{notify}"
    );
    // The Hello (39 bytes) framed in one packet: a 3-byte header and the message.
    assert_eq!(connected["first_notification_len"], 42, "{connected}");
    world.stop().await;
}
