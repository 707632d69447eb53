//! The desktop harness end to end: the real `latchkey` binary signs in against the simulator, scans,
//! unlocks, syncs, reads codes and logs over btleplug and the fake BlueZ, with `--json` and exit codes;
//! settings come from flags, the environment and a config file. And `latchkey sim locks --bluez` serves a
//! simulator database's locks until SIGTERM.

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use latchkey::ble::btleplug::BtleplugTransport;
use serde_json::Value;

use crate::fixture::{MANAGER_TOKEN, Scratch, World, bus, user};

fn latchkey(world: &World, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_latchkey"));
    command
        .args(args)
        .arg("--profile")
        .arg(world.dir.0.join("profile"))
        .env("LATCHKEY_CLIENT_ID", &world.client_id)
        .env_remove("LATCHKEY_API")
        .env_remove("LATCHKEY_CONFIG")
        .env("XDG_CONFIG_HOME", world.dir.0.join("no-config"))
        .stdin(Stdio::null());
    command
}

async fn run(mut command: Command) -> Output {
    tokio::task::spawn_blocking(move || command.output()).await.expect("join").expect("latchkey runs")
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|_| {
        panic!(
            "not JSON: {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_qa_engineer_signs_in_scans_unlocks_syncs_and_reads_codes_and_logs() {
    let Some(_bus) = bus().await else { return };
    let world = World::start().await;
    world
        .acme
        .create_user_v2(&user("qa@example.com", &world.doors, latchkey::model::PasscodeType::Permanent))
        .await
        .expect("user");
    // The backend URL from a config file, the client id from the environment, the rest from flags.
    let config = world.dir.0.join("config.toml");
    std::fs::write(&config, format!("api = \"{}\"\nclient_secret = \"wrong\"\n", world.sim.base_url()))
        .expect("config");
    let config = config.to_string_lossy().into_owned();

    // Not signed in yet: exit 3, and the JSON error says so.
    let output = run(latchkey(&world, &["unlock", "Lobby", "--json", "--config", &config])).await;
    assert_eq!(output.status.code(), Some(3), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(json(&output)["error"]["kind"], "not_signed_in");

    let secret = world.client_secret.clone();
    let mut login = latchkey(
        &world,
        &[
            "login",
            "--email",
            "qa@example.com",
            "--json",
            "--config",
            &config,
            "--sim-manager-token",
            MANAGER_TOKEN,
        ],
    );
    // The flag wins over the config file's (wrong) secret.
    login.args(["--client-secret", &secret]);
    let output = run(login).await;
    assert!(output.status.success(), "login: {}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(json(&output)["locks"], 2);
    let session = std::fs::read_to_string(world.dir.0.join("profile/session.json")).expect("session file");
    assert!(session.contains("qa@example.com"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode =
            std::fs::metadata(world.dir.0.join("profile/session.json")).expect("meta").permissions().mode();
        assert_eq!(mode & 0o077, 0, "the session file is private");
    }

    world.bluez().set_rssi(world.lock_id(1), -50).await;
    let output = run(latchkey(&world, &["scan", "--json", "--timeout", "2s", "--config", &config])).await;
    assert!(output.status.success(), "scan: {}", String::from_utf8_lossy(&output.stderr));
    let heard = json(&output);
    assert_eq!(heard.as_array().map(Vec::len), Some(2), "{heard}");
    assert_eq!(heard[0]["name"], "Gym", "loudest first, named from the cache: {heard}");
    assert_eq!(heard[0]["rssi"], -50);
    assert_eq!(heard[0]["battery_percent"], 100);

    let output = run(latchkey(&world, &["unlock", "lobby", "--json", "--config", &config])).await;
    assert!(output.status.success(), "unlock: {}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(json(&output)["unlocked"], true);
    // Human output too.
    let output = run(latchkey(&world, &["unlock", "Lobby", "--config", &config])).await;
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("Unlocked Lobby"), "{output:?}");

    let output = run(latchkey(&world, &["sync", "Lobby", "--json", "--config", &config])).await;
    assert!(output.status.success(), "sync: {}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(json(&output)["log_uploads_pending"], 0);

    let output = run(latchkey(&world, &["logs", "Lobby", "--json", "--config", &config])).await;
    assert!(output.status.success(), "logs: {}", String::from_utf8_lossy(&output.stderr));
    let entries = json(&output)["entries"].as_array().cloned().unwrap_or_default();
    let grants = entries.iter().filter(|e| e["method"] == "BLE" && e["result"] == "GRANTED").count();
    assert_eq!(grants, 2, "both unlocks, once each: {entries:?}");

    let output = run(latchkey(&world, &["codes", "--json", "--config", &config])).await;
    assert!(output.status.success(), "codes: {}", String::from_utf8_lossy(&output.stderr));
    let codes = json(&output);
    assert_eq!(codes.as_array().map(Vec::len), Some(2), "{codes}");
    assert!(codes.as_array().into_iter().flatten().all(|c| c["passcode_type"] == "PERMANENT"), "{codes}");

    // A door that is not the user's: exit 8. A lock out of range: exit 5.
    let output = run(latchkey(&world, &["unlock", "Pool", "--json", "--config", &config])).await;
    assert_eq!(output.status.code(), Some(8));
    world.bluez().set_advertising(world.lock_id(0), false).await;
    let output =
        run(latchkey(&world, &["unlock", "Lobby", "--json", "--timeout", "2s", "--config", &config])).await;
    assert_eq!(output.status.code(), Some(5), "{}", String::from_utf8_lossy(&output.stdout));
    assert_eq!(json(&output)["error"]["kind"], "not_in_range");

    let output = run(latchkey(&world, &["logout", "--config", &config])).await;
    assert!(output.status.success());
    let output = run(latchkey(&world, &["sync", "Lobby", "--config", &config])).await;
    assert_eq!(output.status.code(), Some(3), "signed out");
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sim_locks_bluez_serves_a_database_until_sigterm() {
    let Some(_bus) = bus().await else { return };
    let dir = Scratch(std::env::temp_dir().join(format!("latchkey-sim-locks-{}", uuid::Uuid::new_v4())));
    std::fs::create_dir_all(&dir.0).expect("dir");
    let db = dir.0.join("sim.sqlite").to_string_lossy().into_owned();
    let world = World::build(Some(db.clone()), false).await;
    let child = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(["sim", "locks", "--bluez", "--db", &db])
        .stderr(Stdio::piped())
        .spawn()
        .expect("latchkey sim locks");
    // Wait for it to serve (its first scan may race the name request: retry briefly).
    let transport = BtleplugTransport::new();
    let mut heard = Vec::new();
    for _ in 0..20 {
        heard = transport.scan_locks(Duration::from_millis(500)).await.unwrap_or_default();
        if heard.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut ids: Vec<[u8; 16]> = heard.iter().map(|lock| lock.lock_id).collect();
    ids.sort();
    let mut expected = vec![world.lock_id(0), world.lock_id(1)];
    expected.sort();
    assert_eq!(ids, expected, "both locks of the database are served");
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill");
    assert!(status.success());
    let output =
        tokio::task::spawn_blocking(move || child.wait_with_output()).await.expect("join").expect("wait");
    assert!(output.status.success(), "stops cleanly on SIGTERM: {}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stderr).contains("Serving 2 virtual lock(s)"));
    world.stop().await;
}
