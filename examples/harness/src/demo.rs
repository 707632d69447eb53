//! `latchkey demo`: the whole partner flow against a throwaway in-process simulator, told step by step in
//! plain words. The partner steps use only the public SDK (`latchkey::api`) over real HTTP on loopback; the
//! phone steps use the mobile facade (`latchkey::client::DoorClient`) over the simulator's in-memory
//! Bluetooth link to its virtual locks, or with `--ble` over the real btleplug transport through the
//! simulator's fake BlueZ on a private D-Bus ([`ble_bus`] starts one, and reruns the demo on it, when
//! `DBUS_SYSTEM_BUS_ADDRESS` is not set). It fails (exit 1) at the first step that does not do what it should.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration as StdDuration;

use anyhow::{Context, bail, ensure};
use async_trait::async_trait;
use chrono::{Duration, Utc};
use latchkey::api::{ApiConfig, ApiError, AuthClient, ManagerClient, PartnerClient, UserSession};
use latchkey::ble::btleplug::BtleplugTransport;
use latchkey::ble::{
    Advertisement, DenyReason, Link, LinkStats, SoftwareSigner, Timeouts, Transport, TransportError,
};
use latchkey::client::{ClientError, DoorClient, DoorClientConfig, UnlockEvent};
use latchkey::model::{
    AccessMethod, AccessResult, AccessView, AccessibilityType, ActivateDoorRequest, AssignKeyRequest,
    Channel, CreateBuildingRequest, CreateDoorRequest, CreateKeyRequest, CreatePartnerRequest,
    CreateUserRequest, CreateWebhookEndpointRequest, DeviceType, DoorType, DoorView, DoorcodeDescription,
    EntryEventData, EventType, EventView, MessageKind, PasscodeType, PatchAccessRequest, Role, UserView,
};
use latchkey_protocol::keypad::{self, Verdict};

use crate::webhook_receiver::WebhookReceiver;
use latchkey_sim::bluez::{BluezOptions, FakeBluez};
use latchkey_sim::link::{LinkModel, MemoryTransport};
use latchkey_sim::locks::LockRegistry;
use latchkey_sim::{SimConfig, Simulator};
use tokio::sync::broadcast;

/// Numbers and prints the steps.
struct Narrator {
    step: usize,
}

impl Narrator {
    fn step(&mut self, text: &str) {
        self.step += 1;
        println!("\n{:>2}. {text}", self.step);
    }

    fn say(&self, text: impl AsRef<str>) {
        println!("    {}", text.as_ref());
    }
}

/// How the demo's phones reach the locks, when not over the in-memory link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Radio {
    /// btleplug through the simulator's fake BlueZ.
    Ble,
}

/// Whether `demo --ble` can run in this process.
#[derive(Debug)]
pub enum BleBus {
    /// `DBUS_SYSTEM_BUS_ADDRESS` names a bus: run here.
    Ready,
    /// No bus was configured: a private `dbus-daemon` was started and the demo ran in a child process on
    /// it, which exited with this code.
    RanChild(u8),
}

/// Makes sure `demo --ble` has a bus (btleplug reads `DBUS_SYSTEM_BUS_ADDRESS` when it starts).
pub fn ble_bus() -> anyhow::Result<BleBus> {
    if std::env::var_os("DBUS_SYSTEM_BUS_ADDRESS").is_some() {
        return Ok(BleBus::Ready);
    }
    let dir = std::env::temp_dir().join(format!("latchkey-demo-bus-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let socket = dir.join("bus.sock");
    let address = format!("unix:path={}", socket.display());
    let mut daemon = std::process::Command::new("dbus-daemon")
        .args(["--config-file=/usr/share/dbus-1/session.conf", "--nofork", "--nopidfile"])
        .arg(format!("--address={address}"))
        .spawn()
        .context(
            "demo --ble needs `dbus-daemon` (Debian: apt-get install dbus-daemon) for its private bus",
        )?;
    let started = std::time::Instant::now();
    while !socket.exists() && started.elapsed() < StdDuration::from_secs(10) {
        std::thread::sleep(StdDuration::from_millis(20));
    }
    println!("Started a private D-Bus for the fake BlueZ at {address}.");
    let status = std::env::current_exe().context("where is this program?").and_then(|exe| {
        std::process::Command::new(exe)
            .args(["demo", "--ble"])
            .env("DBUS_SYSTEM_BUS_ADDRESS", &address)
            .status()
            .context("could not rerun the demo on the private bus")
    });
    let _ = daemon.kill();
    let _ = daemon.wait();
    let _ = std::fs::remove_dir_all(&dir);
    Ok(BleBus::RanChild(status?.code().and_then(|code| u8::try_from(code).ok()).unwrap_or(1)))
}

/// Runs the demo; `Err` names the step that failed.
pub async fn run(radio: Option<Radio>) -> anyhow::Result<()> {
    let mut out = Narrator { step: 0 };
    println!(
        "Latchkey demo: a property, a partner app's backend, and its guests, against a throwaway simulator."
    );

    out.step("Start a throwaway simulator (in memory, on a free loopback port).");
    let simulator = Simulator::start(SimConfig::default()).await.context("could not start the simulator")?;
    let config = ApiConfig::parse(&simulator.base_url())?;
    out.say(format!("Simulator listening on {}.", simulator.base_url()));
    let bluez = match radio {
        Some(Radio::Ble) => {
            let bluez = FakeBluez::start(simulator.state().locks.clone(), BluezOptions::default())
                .await
                .context("could not start the fake BlueZ")?;
            out.say("Its locks are BLE peripherals of a fake BlueZ on a private D-Bus; phones use btleplug.");
            Some(bluez)
        }
        None => None,
    };
    let result = walk_through(&mut out, &config, &simulator, radio).await;
    if let Some(bluez) = bluez {
        bluez.stop().await;
    }
    simulator.stop().await?;
    result?;
    println!("\nDemo finished: all {} steps succeeded.", out.step);
    Ok(())
}

async fn walk_through(
    out: &mut Narrator,
    config: &ApiConfig,
    simulator: &Simulator,
    radio: Option<Radio>,
) -> anyhow::Result<()> {
    let manager = ManagerClient::new(config.clone(), "dev-manager-token")?;

    out.step("The customer registers the partner \"Acme Stays\" (manager API).");
    let partner = manager.create_partner(&CreatePartnerRequest { name: "Acme Stays".into() }).await?;
    out.say(format!(
        "Partner {} gets client id {} and a client secret for its backend.",
        partner.uuid, partner.client_id
    ));

    out.step("The customer sets up the building \"Harbor View\" in New York with four doors.");
    let building = manager
        .create_building(&CreateBuildingRequest {
            name: "Harbor View".into(),
            timezone: "America/New_York".into(),
            common_doorcodes: Some(false),
        })
        .await?;
    let mut doors = Vec::new();
    for (name, accessibility, connected) in [
        ("Lobby", AccessibilityType::Communal, true),
        ("Gym", AccessibilityType::Communal, false),
        ("Unit 4B", AccessibilityType::Private, false),
        ("Unit 5C", AccessibilityType::Private, false),
    ] {
        let door = manager
            .create_door(&CreateDoorRequest {
                building_uuid: building.uuid.clone(),
                name: name.into(),
                door_type: DoorType::Door,
                accessibility_type: accessibility,
                is_connected: connected,
            })
            .await?;
        out.say(format!("{name}: {accessibility}, {}", if connected { "online" } else { "offline" }));
        doors.push(door);
    }

    out.step("An installer activates the locks of the lobby and unit 4B.");
    for (index, serial) in [(0, "LK-M-0001"), (2, "LK-M-0002")] {
        let door = manager
            .activate_door(
                &doors[index].uuid,
                &ActivateDoorRequest { serial_number: serial.into(), device_type: DeviceType::M },
            )
            .await?;
        let device = door.device.context("an activated door must carry its device")?;
        out.say(format!(
            "{}: lock {} at {}% battery",
            door.name, device.serial_number, device.battery.percentage
        ));
    }

    out.step("The customer groups three doors in a key, assigns it to Acme Stays and enables it.");
    let key_doors: Vec<String> = doors[..3].iter().map(|door| door.uuid.clone()).collect();
    let key =
        manager.create_key(&CreateKeyRequest { name: "Guest access".into(), door_uuids: key_doors }).await?;
    manager.assign_key(&key.uuid, &AssignKeyRequest { partner_uuid: partner.uuid.clone() }).await?;
    let key = manager.enable_key(&key.uuid).await?;
    ensure!(
        key.enabled && key.partner_uuid.as_deref() == Some(partner.uuid.as_str()),
        "the key is not enabled"
    );
    out.say(format!(
        "Key \"{}\" opens {} doors; unit 5C stays out of the partner's reach.",
        key.name,
        key.door_uuids.len()
    ));

    out.step("Acme's backend signs in with its client credentials and lists the doors it may use.");
    let acme = PartnerClient::new(config.clone(), partner.client_id.clone(), partner.client_secret.clone())?;
    let visible = acme.all_doors(None).await?;
    for door in &visible {
        out.say(format!("{} ({})", door.name, door.uuid));
    }
    ensure!(visible.len() == 3, "the partner should see exactly the three doors of its key");
    let (lobby, gym, unit) = (&visible[0], &visible[1], &visible[2]);

    out.step("Acme registers a webhook endpoint for its guests' entries (a small HTTP server on loopback).");
    let receiver = WebhookReceiver::start().await?;
    let endpoint = acme
        .create_webhook_endpoint(&CreateWebhookEndpointRequest {
            url: receiver.url.clone(),
            types: Some(vec![EventType::EntryGranted.as_str().to_owned()]),
            description: "Acme's front desk".into(),
            secret: None,
        })
        .await?;
    let secret = endpoint.secret.clone().context("the new endpoint's secret")?;
    out.say(format!(
        "Endpoint {} at {}, for entry.granted; deliveries are signed with its whsec_ secret.",
        endpoint.uuid, endpoint.url
    ));

    let now = Utc::now();
    out.step("Invite Grace (v1, PERMANENT, non-resident) to the lobby, the gym and unit 4B.");
    let grace = invite(
        PasscodeType::Permanent,
        Role::NonResident,
        "Grace",
        Some("grace@example.com"),
        None,
        &[lobby, gym, unit],
    );
    let v1 = acme.create_user_v1(&grace).await?;
    out.say(format!("Grace is user {}; access to {} doors.", v1.user_uuid, v1.doors.len()));

    out.step("Invite Grace again through v2: she is found by email, and the response carries her doorcodes.");
    let view = acme.create_user_v2(&grace).await?;
    ensure!(view.user_uuid == v1.user_uuid, "the same email must find the same user");
    show_codes(out, &view, &visible);
    let code_of = |door: &DoorView| access_to(&view, door).and_then(|access| access.doorcode.code.clone());
    ensure!(
        code_of(lobby).is_some() && code_of(lobby) == code_of(gym),
        "communal doors share one common code"
    );
    ensure!(code_of(unit).is_some() && code_of(unit) != code_of(lobby), "a private door has its own code");

    out.step("Send a day guest a DAILY code for the lobby by text message (v2).");
    let day_guest =
        invite(PasscodeType::Daily, Role::NonResident, "Dan", None, Some("+12125550147"), &[lobby]);
    let view = acme.create_user_v2(&day_guest).await?;
    show_codes(out, &view, &visible);
    let access = access_to(&view, lobby).context("the daily access is missing")?;
    ensure!(access.doorcode.description == DoorcodeDescription::Valid, "a daily guest gets a valid code");
    out.say(format!(
        "Valid for the whole local day in New York: {} to {}.",
        access.start_time.format("%Y-%m-%d %H:%M UTC"),
        access.end_time.map(|end| end.format("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or_default()
    ));

    out.step("Send a cleaner a DAILY_SINGLE_USE code for unit 4B by email (v2).");
    let cleaner = invite(
        PasscodeType::DailySingleUse,
        Role::NonResident,
        "Carla",
        Some("carla@example.com"),
        None,
        &[unit],
    );
    let view = acme.create_user_v2(&cleaner).await?;
    show_codes(out, &view, &visible);
    out.say("It stops working 15 minutes after its first use.");

    out.step("Invite a resident (v2, PERMANENT, RESIDENT): resident doorcodes are never exposed.");
    let resident =
        invite(PasscodeType::Permanent, Role::Resident, "Rosa", Some("rosa@example.com"), None, &[unit]);
    let view = acme.create_user_v2(&resident).await?;
    show_codes(out, &view, &visible);
    let access = access_to(&view, unit).context("the resident access is missing")?;
    ensure!(
        access.doorcode.code.is_none()
            && access.doorcode.description == DoorcodeDescription::UserHasResidentAccess,
        "a resident's code must not be exposed"
    );

    out.step("Try an invalid invite: PERMANENT access without an email.");
    let mut broken =
        invite(PasscodeType::Permanent, Role::NonResident, "Pat", None, Some("+12125550148"), &[lobby]);
    broken.email = None;
    match acme.create_user_v1(&broken).await {
        Err(ApiError::Validation(rule)) => out.say(format!("Refused before sending anything: {rule}.")),
        other => bail!("expected a validation error, got {other:?}"),
    }

    out.step("Try a door outside the partner's keys: the backend refuses it.");
    let mut outside =
        invite(PasscodeType::Permanent, Role::NonResident, "Pat", Some("pat@example.com"), None, &[lobby]);
    outside.door_uuids = vec![doors[3].uuid.clone()];
    match acme.create_user_v1(&outside).await {
        Err(ApiError::BadRequest { message, .. }) => out.say(format!("400 Bad Request: {message}")),
        other => bail!("expected 400 for a door of no key of the partner, got {other:?}"),
    }

    out.step("Grace's stay is extended to 30 days from now (PATCH with endTime).");
    let end = now + Duration::days(30);
    let view = acme
        .patch_access(
            &v1.user_uuid,
            &unit.uuid,
            &PatchAccessRequest { shareable: Some(false), end_time: Some(end) },
        )
        .await?;
    let patched = access_to(&view, unit).context("the patched access is missing")?;
    ensure!(patched.end_time.is_some() && !patched.shareable, "the end and shareability must be updated");
    out.say(format!(
        "Unit 4B access now ends {}.",
        patched.end_time.map(|end| end.format("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or_default()
    ));

    out.step("PATCH again without endTime: the access no longer expires (the spec's documented quirk).");
    let view = acme.patch_access(&v1.user_uuid, &unit.uuid, &PatchAccessRequest::default()).await?;
    ensure!(
        access_to(&view, unit).is_some_and(|access| access.end_time.is_none()),
        "endTime must be cleared"
    );
    out.say("Unit 4B access: no end.");

    out.step("Revoke Grace's access to unit 4B (DELETE), and read her user back.");
    acme.revoke_access(&v1.user_uuid, &unit.uuid).await?;
    let view = acme.get_user(&v1.user_uuid).await?;
    ensure!(access_to(&view, unit).is_none(), "the revoked access must be gone");
    out.say(format!("Grace keeps {} doors: the lobby and the gym.", view.accesses.len()));
    match acme.revoke_access(&v1.user_uuid, &unit.uuid).await {
        Err(ApiError::NotFound { .. }) => out.say("Revoking it again: 404 Not Found, as the spec says."),
        other => bail!("expected 404 for a second revoke, got {other:?}"),
    }

    out.step("Grace signs in to the partner app without a password (passwordless one-time code).");
    let auth = AuthClient::new(config.clone(), partner.client_id.clone(), partner.client_secret.clone())?;
    let session = sign_in(&auth, &manager, "grace@example.com").await?;
    out.say(format!(
        "The code arrived by email; Grace's app now holds a user token valid until {} (and a refresh token).",
        session.expires_at.format("%Y-%m-%d %H:%M UTC")
    ));

    out.step("Everything the backend sent, from the outbox (stands in for email and SMS).");
    let outbox = manager.outbox().await?;
    for message in &outbox.messages {
        let channel = match message.channel {
            Channel::Email => "Email",
            Channel::Sms => "SMS",
        };
        out.say(format!("{channel} to {}: {}", message.recipient, message.subject));
    }
    ensure!(
        outbox.messages.iter().any(|m| m.kind == MessageKind::Welcome && m.recipient == "grace@example.com"),
        "Grace must have received the welcome email"
    );
    ensure!(
        outbox.messages.iter().any(|m| m.kind == MessageKind::Doorcode && m.recipient == "+12125550147"),
        "the day guest must have received the code by SMS"
    );

    let scene = Scene {
        config,
        manager: &manager,
        auth: &auth,
        acme: &acme,
        client_id: &partner.client_id,
        locks: simulator.state().locks.clone(),
        lobby,
        unit,
        grace: &v1.user_uuid,
        radio,
        webhooks: tokio::sync::Mutex::new(receiver),
        webhook_secret: &secret,
    };
    phones(out, &scene).await
}

/// What the phone steps need from the partner steps.
struct Scene<'a> {
    config: &'a ApiConfig,
    manager: &'a ManagerClient,
    auth: &'a AuthClient,
    acme: &'a PartnerClient,
    client_id: &'a str,
    /// The running simulator's virtual locks.
    locks: LockRegistry,
    /// Online, activated; Grace has PERMANENT access.
    lobby: &'a DoorView,
    /// Offline, activated; Rosa (resident) has PERMANENT access.
    unit: &'a DoorView,
    /// Grace's user uuid.
    grace: &'a str,
    /// How the phones reach the locks.
    radio: Option<Radio>,
    /// Acme's webhook endpoint (entry.granted) and its secret.
    webhooks: tokio::sync::Mutex<WebhookReceiver>,
    webhook_secret: &'a str,
}

/// The phone steps: the mobile facade (`DoorClient`) over the simulator's in-memory Bluetooth link.
async fn phones(out: &mut Narrator, scene: &Scene<'_>) -> anyhow::Result<()> {
    let (lobby, unit) = (scene.lobby, scene.unit);
    let rig = PhoneRig::new(scene.locks.clone(), scene.radio);

    out.step("Grace's phone: she signs in without a password, and the app sets up the door client.");
    let grace = rig.set_up(scene, "grace@example.com", "Grace").await?;
    out.say("The one-time code came from the outbox; the app gives the session to DoorClient::setup with a");
    out.say(match scene.radio {
        None => {
            "device key (a software signer), a local store and Bluetooth (the simulator's in-memory link)."
        }
        Some(Radio::Ble) => {
            "device key (a software signer), a local store and Bluetooth (btleplug, via BlueZ)."
        }
    });
    out.say(format!("The backend registered the phone's public key as device {}.", grace.device_uuid()));

    out.step("Grace's app lists her locks cache first: the cache at once, then the backend's answer.");
    let mut updates = grace.listen_for_locks().await?;
    let cached = updates.recv().await.context("the cache must come first")?;
    out.say(format!("From the cache, at once: {} locks (a new phone has cached nothing yet).", cached.len()));
    let fresh = updates.recv().await.context("the backend's list must follow")?;
    for lock in &fresh {
        out.say(format!(
            "From the backend: {} ({}; {})",
            lock.name,
            if lock.is_connected { "online" } else { "offline" },
            if lock.has_credential {
                "this phone holds a credential, it opens it even offline"
            } else {
                "no lock installed yet"
            }
        ));
    }
    let names =
        |locks: &[latchkey::client::Lock]| locks.iter().map(|lock| lock.name.clone()).collect::<Vec<_>>();
    ensure!(names(&grace.locks()?) == names(&fresh), "the cache must now hold the backend's list");
    ensure!(
        fresh.iter().any(|lock| lock.id == lobby.uuid && lock.has_credential),
        "Grace's phone must hold a credential for the lobby"
    );
    out.say("Cached now: the next app start shows them at once, even without the network.");

    out.step("Grace taps \"Unlock\" on the lobby: her phone opens it over Bluetooth.");
    let mut events = grace.unlock_events();
    let first_link = rig.transport.link_count();
    grace.unlock(&lobby.uuid).await.context("Grace's phone must open the lobby")?;
    let started = next_event(&mut events).await?;
    ensure!(
        started == UnlockEvent::Started { lock_id: lobby.uuid.clone() },
        "expected Started, got {started:?}"
    );
    out.say("Unlock event: Started.");
    let ended = next_event(&mut events).await?;
    ensure!(ended == UnlockEvent::Success { lock_id: lobby.uuid.clone() }, "expected Success, got {ended:?}");
    out.say("Unlock event: Success. The lobby door opens.");
    let stats = rig.transport.stats_of(first_link).context("the unlock must have used a link")?;
    match rig.transport.model {
        Some(model) => out.say(format!(
            "The link: {} round trip(s), {} bytes sent and {} received, about {} ms on air (modelled).",
            stats.round_trips,
            stats.bytes_sent,
            stats.bytes_received,
            model.modelled_time(&stats).as_millis()
        )),
        None => out.say(format!(
            "The link (btleplug over D-Bus): {} round trip(s), {} bytes sent and {} received.",
            stats.round_trips, stats.bytes_sent, stats.bytes_received
        )),
    }

    out.step(
        "Acme's webhook endpoint receives Grace's entry, signed, once her phone uploads the lock's log.",
    );
    let delivery = scene.webhooks.lock().await.next(std::time::Duration::from_secs(20)).await?;
    latchkey::webhooks::verify(&delivery.headers, &delivery.body, scene.webhook_secret, Utc::now())
        .context("the delivery must verify with the endpoint's secret")?;
    let event: EventView = serde_json::from_slice(&delivery.body).context("the delivery is an event")?;
    let entry: EntryEventData = serde_json::from_value(event.data.clone()).context("an entry's data")?;
    ensure!(
        event.event_type == EventType::EntryGranted
            && event.door_uuid.as_deref() == Some(lobby.uuid.as_str())
            && entry.user.as_ref().is_some_and(|user| user.user_uuid == scene.grace),
        "expected Grace's entry at the lobby, got {event:?}"
    );
    out.say(format!(
        "Webhook {}: entry.granted at the lobby for {} by {} at {} (lock time); signature verified.",
        event.id,
        entry.user.as_ref().map(|user| format!("{} {}", user.first_name, user.last_name)).unwrap_or_default(),
        entry.method,
        entry.lock_time.to_rfc3339()
    ));

    out.step(
        "A guest types her DAILY code on the keypad of unit 4B, an offline lock; a wrong code is refused.",
    );
    let wendy = invite(PasscodeType::Daily, Role::NonResident, "Wendy", None, Some("+12125550149"), &[unit]);
    let view = scene.acme.create_user_v2(&wendy).await?;
    let code = access_to(&view, unit)
        .and_then(|access| access.doorcode.code.clone())
        .context("the daily guest must get a code")?;
    out.say(format!(
        "Acme sends Wendy the DAILY code {code} by SMS. The lock has no network: it checks the code itself."
    ));
    match scene.locks.with_lock(&unit.uuid, |lock| lock.enter_code(&code))? {
        Verdict::Granted { kind: keypad::CodeKind::Daily, .. } => {
            out.say(format!("Wendy types {code}: granted, the door opens."))
        }
        other => bail!("Wendy's daily code must open unit 4B, got {other:?}"),
    }
    let wrong: String = code
        .chars()
        .map(|digit| digit.to_digit(10).and_then(|d| char::from_digit((d + 1) % 10, 10)).unwrap_or('0'))
        .collect();
    match scene.locks.with_lock(&unit.uuid, |lock| lock.enter_code(&wrong))? {
        Verdict::Denied { reason: keypad::DenyReason::Wrong } => {
            out.say(format!("Someone types {wrong}: refused, the door stays locked."))
        }
        other => bail!("a wrong code must be refused, got {other:?}"),
    }

    out.step("Gil, a guest with PERMANENT access to unit 4B, signs in on his phone and opens the door.");
    let gil_request =
        invite(PasscodeType::Permanent, Role::NonResident, "Gil", Some("gil@example.com"), None, &[unit]);
    let gil_uuid = scene.acme.create_user_v2(&gil_request).await?.user_uuid;
    let gil = rig.set_up(scene, "gil@example.com", "Gil").await?;
    gil.fetch_locks().await?;
    gil.unlock(&unit.uuid).await.context("Gil's phone must open unit 4B")?;
    out.say("Gil's phone: unlock succeeded.");

    out.step("Acme revokes Gil's access to unit 4B. The lock is offline and has not heard yet.");
    scene.acme.revoke_access(&gil_uuid, &unit.uuid).await?;
    out.say("The backend removed the access at once (DELETE).");
    gil.unlock(&unit.uuid).await.context("an offline lock keeps yesterday's list until a phone syncs it")?;
    out.say("Gil's phone still opens the door: the lock's list is only as fresh as its last sync.");

    out.step(
        "Rosa, a resident of unit 4B, opens her app; her phone syncs the lock and carries the revocation.",
    );
    let rosa = rig.set_up(scene, "rosa@example.com", "Rosa").await?;
    rosa.fetch_locks().await?;
    let summary = rosa.sync(&unit.uuid).await.context("Rosa's phone must sync unit 4B")?;
    ensure!(summary.deltas_applied >= 1, "the revocation must reach the lock: {summary:?}");
    ensure!(summary.log_uploads_pending == 0, "the lock's log must reach the backend: {summary:?}");
    out.say(format!(
        "Carried {} signed change(s): {} the lock already had, {} new (the revocation); it is now at change #{}.",
        summary.deltas_carried, summary.deltas_already_applied, summary.deltas_applied, summary.last_applied_seq
    ));
    out.say(format!(
        "On the way back it read {} sealed log batch(es) from the lock and uploaded them to the backend.",
        summary.log_batches_read
    ));

    out.step("Gil tries again: unit 4B now refuses his phone.");
    match gil.unlock(&unit.uuid).await {
        Err(ClientError::Denied(DenyReason::Revoked)) => {
            out.say("Gil's phone: refused, his access was revoked. The door stays locked.");
        }
        other => bail!("the revoked guest must be refused, got {other:?}"),
    }

    out.step("The locks' logs reach the backend: Grace's phone syncs the lobby and reads its access log.");
    let summary = grace.sync(&lobby.uuid).await.context("Grace's phone must sync the lobby")?;
    ensure!(summary.log_uploads_pending == 0, "the lobby's log must reach the backend: {summary:?}");
    let entries = grace.access_logs(&lobby.uuid).await?;
    for entry in &entries {
        out.say(format!(
            "{}: {} by {} ({})",
            entry.time.format("%Y-%m-%d %H:%M:%S UTC"),
            entry.result,
            entry.user_name.as_deref().unwrap_or("someone"),
            entry.method
        ));
    }
    ensure!(
        entries.iter().any(|entry| entry.method == AccessMethod::Ble
            && entry.result == AccessResult::Granted
            && entry.user_uuid.as_deref() == Some(scene.grace)),
        "Grace's unlock must be in the lobby's access log"
    );
    out.say("Grace's Bluetooth unlock is there, read from the lock and uploaded by her phone.");
    drop((grace, gil, rosa));
    Ok(())
}

/// Signs `email` in without a password: the one-time code is read from the simulator's outbox.
async fn sign_in(auth: &AuthClient, manager: &ManagerClient, email: &str) -> anyhow::Result<UserSession> {
    auth.passwordless_start(email).await?;
    let outbox = manager.outbox().await?;
    let otp_mail = outbox
        .messages
        .iter()
        .rev()
        .find(|message| message.kind == MessageKind::Otp && message.recipient == email)
        .context("the one-time code email was not sent")?;
    let otp: String = otp_mail.content.chars().filter(char::is_ascii_digit).take(6).collect();
    Ok(auth.exchange_otp(email, otp).await?)
}

async fn next_event(events: &mut broadcast::Receiver<UnlockEvent>) -> anyhow::Result<UnlockEvent> {
    Ok(tokio::time::timeout(StdDuration::from_secs(5), events.recv())
        .await
        .context("no unlock event in time")??)
}

/// The phones' Bluetooth and their stores (in a scratch directory, removed on drop).
struct PhoneRig {
    transport: Metered,
    dir: PathBuf,
}

impl PhoneRig {
    fn new(locks: LockRegistry, radio: Option<Radio>) -> PhoneRig {
        let (inner, model): (Arc<dyn Transport>, Option<LinkModel>) = match radio {
            None => {
                let memory = MemoryTransport::new(locks);
                let model = memory.model();
                (Arc::new(memory), Some(model))
            }
            Some(Radio::Ble) => (Arc::new(BtleplugTransport::new()), None),
        };
        PhoneRig {
            transport: Metered { inner, model, links: Arc::default() },
            dir: std::env::temp_dir().join(format!("latchkey-demo-{}", uuid::Uuid::new_v4())),
        }
    }

    /// Signs `email` in and sets up a phone with a fresh device key.
    async fn set_up(&self, scene: &Scene<'_>, email: &str, owner: &str) -> anyhow::Result<DoorClient> {
        let session = sign_in(scene.auth, scene.manager, email).await?;
        let config = DoorClientConfig {
            api: scene.config.clone(),
            client_id: scene.client_id.to_owned(),
            store_path: self.dir.join(format!("{}.sqlite", owner.to_lowercase())),
            transport: Arc::new(self.transport.clone()),
            signer: Arc::new(SoftwareSigner::generate()?),
            timeouts: Timeouts::default(),
            device_name: format!("{owner}'s phone"),
        };
        Ok(DoorClient::setup(config, session).await?)
    }
}

impl Drop for PhoneRig {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The simulator's link, keeping what each connection carried (the unlock's figures survive the passive
/// sync that follows it on a second connection).
#[derive(Clone)]
struct Metered {
    inner: Arc<dyn Transport>,
    /// The in-memory link's model (none over a real stack).
    model: Option<LinkModel>,
    links: Arc<Mutex<Vec<Arc<Mutex<LinkStats>>>>>,
}

impl Metered {
    fn link_count(&self) -> usize {
        self.links.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    fn stats_of(&self, index: usize) -> Option<LinkStats> {
        let links = self.links.lock().unwrap_or_else(PoisonError::into_inner);
        links.get(index).map(|slot| *slot.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

#[async_trait]
impl Transport for Metered {
    async fn scan(&self, timeout: StdDuration) -> Result<Vec<Advertisement>, TransportError> {
        self.inner.scan(timeout).await
    }

    async fn connect(
        &self,
        lock_id: [u8; 16],
        timeout: StdDuration,
    ) -> Result<Box<dyn Link>, TransportError> {
        let link = self.inner.connect(lock_id, timeout).await?;
        let slot = Arc::new(Mutex::new(link.stats()));
        self.links.lock().unwrap_or_else(PoisonError::into_inner).push(slot.clone());
        Ok(Box::new(MeteredLink { link, slot }))
    }
}

struct MeteredLink {
    link: Box<dyn Link>,
    slot: Arc<Mutex<LinkStats>>,
}

impl MeteredLink {
    fn note(&self) {
        *self.slot.lock().unwrap_or_else(PoisonError::into_inner) = self.link.stats();
    }
}

#[async_trait]
impl Link for MeteredLink {
    fn mtu(&self) -> u16 {
        self.link.mtu()
    }

    async fn subscribe(&mut self) -> Result<(), TransportError> {
        let result = self.link.subscribe().await;
        self.note();
        result
    }

    async fn write(&mut self, packet: &[u8]) -> Result<(), TransportError> {
        let result = self.link.write(packet).await;
        self.note();
        result
    }

    async fn receive(&mut self, timeout: StdDuration) -> Result<Vec<u8>, TransportError> {
        let result = self.link.receive(timeout).await;
        self.note();
        result
    }

    fn stats(&self) -> LinkStats {
        self.link.stats()
    }

    async fn disconnect(&mut self) {
        self.link.disconnect().await;
        self.note();
    }
}

fn invite(
    passcode_type: PasscodeType,
    role: Role,
    first_name: &str,
    email: Option<&str>,
    phone: Option<&str>,
    doors: &[&DoorView],
) -> CreateUserRequest {
    CreateUserRequest {
        first_name: first_name.into(),
        last_name: "Example".into(),
        email: email.map(str::to_owned),
        phone: phone.map(str::to_owned),
        start_time: Utc::now(),
        end_time: None,
        door_uuids: doors.iter().map(|door| door.uuid.clone()).collect(),
        shareable: false,
        passcode_type,
        role,
        should_notify: true,
    }
}

fn access_to<'a>(user: &'a UserView, door: &DoorView) -> Option<&'a AccessView> {
    user.accesses.iter().find(|access| access.door_uuid == door.uuid)
}

fn show_codes(out: &Narrator, user: &UserView, doors: &[DoorView]) {
    for access in &user.accesses {
        let door =
            doors.iter().find(|door| door.uuid == access.door_uuid).map_or("?", |door| door.name.as_str());
        let code = access.doorcode.code.as_deref().unwrap_or("no code");
        out.say(format!("{door}: {} {code} ({})", access.passcode_type, access.doorcode.description));
    }
}
