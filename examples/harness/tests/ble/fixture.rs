//! The world every BLE test stands in: a simulator (backend + virtual locks, in memory), the fake BlueZ
//! serving its locks on the private bus `cargo xtask test` starts, and a phone (`DoorClient`) whose
//! transport is the real btleplug one.
//!
//! Tests share one bus and one `org.bluez` name, so they take [`bus`] (a process-wide lock) first. Without
//! `DBUS_SYSTEM_BUS_ADDRESS` they skip (plain `cargo test` has no bus); xtask always sets it.

use std::path::PathBuf;
use std::sync::Arc;

use chrono::Utc;
use latchkey::SecretString;
use latchkey::api::{ApiConfig, AuthClient, ManagerClient, PartnerClient, RetryPolicy};
use latchkey::ble::btleplug::BtleplugTransport;
use latchkey::ble::{SoftwareSigner, Timeouts};
use latchkey::client::{DoorClient, DoorClientConfig};
use latchkey::model::{
    AccessMethod, AccessResult, AccessibilityType, ActivateDoorRequest, AssignKeyRequest,
    CreateBuildingRequest, CreateDoorRequest, CreateKeyRequest, CreatePartnerRequest, CreateUserRequest,
    DeviceType, DoorType, MessageKind, PasscodeType, Role,
};
use latchkey_protocol::eventlog::EventKind;
use latchkey_sim::bluez::{BluezOptions, FakeBluez};
use latchkey_sim::{BackendConfig, SimConfig, Simulator};
use tokio::sync::{Mutex, MutexGuard};

pub const MANAGER_TOKEN: &str = "ble-test-manager-token";

static BUS: Mutex<()> = Mutex::const_new(());

/// The bus lock, or `None` (and a note on stderr) when there is no private bus to run on.
pub async fn bus() -> Option<MutexGuard<'static, ()>> {
    if std::env::var_os("DBUS_SYSTEM_BUS_ADDRESS").is_none() {
        eprintln!(
            "skipped: DBUS_SYSTEM_BUS_ADDRESS is not set. `cargo xtask test` runs the BLE tests on a private \
             dbus-daemon; by hand: `cargo xtask ble-test`"
        );
        return None;
    }
    Some(BUS.lock().await)
}

/// A scratch directory, removed on drop.
pub struct Scratch(pub PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The world of one test.
pub struct World {
    pub sim: Simulator,
    bluez: Option<FakeBluez>,
    pub config: ApiConfig,
    pub manager: ManagerClient,
    pub acme: PartnerClient,
    pub auth: AuthClient,
    pub client_id: String,
    pub client_secret: String,
    /// Two offline doors with activated locks: the phone's user has PERMANENT access to both.
    pub doors: Vec<String>,
    pub dir: Scratch,
}

pub fn user(email: &str, doors: &[String], kind: PasscodeType) -> CreateUserRequest {
    CreateUserRequest {
        first_name: "Ble".into(),
        last_name: "Test".into(),
        email: Some(email.into()),
        phone: None,
        start_time: Utc::now() - chrono::Duration::minutes(5),
        end_time: None,
        door_uuids: doors.to_vec(),
        shareable: false,
        passcode_type: kind,
        role: Role::NonResident,
        should_notify: kind != PasscodeType::Permanent,
    }
}

impl World {
    /// Starts the simulator with a portfolio (two offline doors with locks, a partner with a key to them)
    /// and the fake BlueZ.
    pub async fn start() -> World {
        World::build(None, true).await
    }

    /// [`World::start`] with the simulator on the SQLite file `db` (else in memory), and the fake BlueZ
    /// in this process only if `bluez`.
    pub async fn build(db: Option<String>, bluez: bool) -> World {
        let dir = Scratch(std::env::temp_dir().join(format!("latchkey-ble-{}", uuid::Uuid::new_v4())));
        std::fs::create_dir_all(&dir.0).expect("scratch dir");
        let sim = Simulator::start(SimConfig {
            db: db.unwrap_or_else(|| SimConfig::default().db),
            backend: BackendConfig {
                manager_token: SecretString::new(MANAGER_TOKEN),
                ..BackendConfig::default()
            },
            ..SimConfig::default()
        })
        .await
        .expect("the simulator starts");
        let config = ApiConfig::parse(&sim.base_url()).expect("url").with_retry(RetryPolicy::none());
        let manager = ManagerClient::new(config.clone(), MANAGER_TOKEN).expect("manager");
        let partner = manager
            .create_partner(&CreatePartnerRequest { name: "Acme Stays".into() })
            .await
            .expect("partner");
        let building = manager
            .create_building(&CreateBuildingRequest {
                name: "Harbor View".into(),
                timezone: "America/New_York".into(),
                common_doorcodes: Some(false),
            })
            .await
            .expect("building");
        let mut doors = Vec::new();
        for (index, name) in ["Lobby", "Gym"].into_iter().enumerate() {
            let door = manager
                .create_door(&CreateDoorRequest {
                    building_uuid: building.uuid.clone(),
                    name: name.into(),
                    door_type: DoorType::Door,
                    accessibility_type: AccessibilityType::Communal,
                    is_connected: false,
                })
                .await
                .expect("door");
            manager
                .activate_door(
                    &door.uuid,
                    &ActivateDoorRequest {
                        serial_number: format!("LK-BLE-{index}"),
                        device_type: DeviceType::M,
                    },
                )
                .await
                .expect("activate");
            doors.push(door.uuid);
        }
        let key = manager
            .create_key(&CreateKeyRequest { name: "Acme key".into(), door_uuids: doors.clone() })
            .await
            .expect("key");
        manager
            .assign_key(&key.uuid, &AssignKeyRequest { partner_uuid: partner.uuid.clone() })
            .await
            .expect("assign");
        manager.enable_key(&key.uuid).await.expect("enable");
        let acme =
            PartnerClient::new(config.clone(), partner.client_id.clone(), partner.client_secret.clone())
                .expect("partner client");
        let auth = AuthClient::new(config.clone(), partner.client_id.clone(), partner.client_secret.clone())
            .expect("auth");
        let bluez = if bluez {
            Some(
                FakeBluez::start(sim.state().locks.clone(), BluezOptions::default())
                    .await
                    .expect("the fake BlueZ starts on the private bus"),
            )
        } else {
            None
        };
        World {
            sim,
            bluez,
            config,
            manager,
            acme,
            auth,
            client_id: partner.client_id,
            client_secret: partner.client_secret.expose().to_owned(),
            doors,
            dir,
        }
    }

    /// The in-process fake BlueZ.
    pub fn bluez(&self) -> &FakeBluez {
        self.bluez.as_ref().expect("this world runs the fake BlueZ in-process")
    }

    /// The lock id (door uuid bytes) of door `index`.
    pub fn lock_id(&self, index: usize) -> [u8; 16] {
        *uuid::Uuid::parse_str(&self.doors[index]).expect("door uuid").as_bytes()
    }

    /// Invites `email` (PERMANENT, both doors), signs them in and sets up their phone over btleplug.
    pub async fn phone(&self, email: &str) -> (DoorClient, String) {
        let view =
            self.acme.create_user_v2(&user(email, &self.doors, PasscodeType::Permanent)).await.expect("user");
        let client = self.sign_in(email, BtleplugTransport::new()).await;
        client.fetch_locks().await.expect("the phone fetches its locks");
        (client, view.user_uuid)
    }

    /// Signs `email` in (one-time code from the outbox) and sets up a phone with `transport`.
    pub async fn sign_in(&self, email: &str, transport: BtleplugTransport) -> DoorClient {
        self.sign_in_with(email, transport, Timeouts::default()).await
    }

    /// [`World::sign_in`] with these BLE timeouts.
    pub async fn sign_in_with(
        &self,
        email: &str,
        transport: BtleplugTransport,
        timeouts: Timeouts,
    ) -> DoorClient {
        self.auth.passwordless_start(email).await.expect("passwordless start");
        let outbox = self.manager.outbox().await.expect("outbox");
        let otp_mail = outbox
            .messages
            .into_iter()
            .rev()
            .find(|message| message.recipient == email && message.kind == MessageKind::Otp)
            .expect("an OTP email");
        let otp: String = otp_mail.content.chars().filter(char::is_ascii_digit).take(6).collect();
        let session = self.auth.exchange_otp(email, otp).await.expect("sign in");
        let config = DoorClientConfig {
            api: self.config.clone(),
            client_id: self.client_id.clone(),
            store_path: self.dir.0.join(format!("{email}.sqlite")),
            transport: Arc::new(transport),
            signer: Arc::new(SoftwareSigner::generate().expect("key")),
            timeouts,
            device_name: format!("{email}'s phone"),
        };
        DoorClient::setup(config, session).await.expect("setup")
    }

    /// The BLE unlocks the backend's access log of door `index` holds for `user_uuid`.
    pub async fn ble_grants(&self, client: &DoorClient, index: usize, user_uuid: &str) -> usize {
        client
            .access_logs(&self.doors[index])
            .await
            .expect("access logs")
            .iter()
            .filter(|entry| {
                entry.method == AccessMethod::Ble
                    && entry.result == AccessResult::Granted
                    && entry.user_uuid.as_deref() == Some(user_uuid)
            })
            .count()
    }

    /// BLE grants still on lock `index`, not yet acknowledged by the backend.
    pub fn grants_on_lock(&self, index: usize) -> usize {
        self.sim
            .state()
            .locks
            .with_lock(&self.doors[index], |lock| {
                lock.pending_log()
                    .iter()
                    .filter(|entry| entry.record.kind == EventKind::UNLOCK_GRANTED)
                    .count()
            })
            .expect("lock")
    }

    /// Stops the fake BlueZ and the simulator.
    pub async fn stop(self) {
        if let Some(bluez) = self.bluez {
            bluez.stop().await;
        }
        self.sim.stop().await.expect("the simulator stops");
    }
}
