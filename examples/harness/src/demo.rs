//! `latchkey demo`: the whole partner flow against a throwaway in-process simulator, told step by step in
//! plain words. It uses only the public SDK (`latchkey::api`) over real HTTP on loopback, and fails (exit 1)
//! at the first step that does not do what it should.

use anyhow::{Context, bail, ensure};
use chrono::{Duration, Utc};
use latchkey::api::{ApiConfig, ApiError, AuthClient, ManagerClient, PartnerClient};
use latchkey::model::{
    AccessView, AccessibilityType, ActivateDoorRequest, AssignKeyRequest, Channel, CreateBuildingRequest,
    CreateDoorRequest, CreateKeyRequest, CreatePartnerRequest, CreateUserRequest, DeviceType, DoorType,
    DoorView, DoorcodeDescription, MessageKind, PasscodeType, PatchAccessRequest, Role, UserView,
};
use latchkey_sim::{SimConfig, Simulator};

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

/// Runs the demo; `Err` names the step that failed.
pub async fn run() -> anyhow::Result<()> {
    let mut out = Narrator { step: 0 };
    println!(
        "Latchkey demo: a property, a partner app's backend, and its guests, against a throwaway simulator."
    );

    out.step("Start a throwaway simulator (in memory, on a free loopback port).");
    let simulator = Simulator::start(SimConfig::default()).await.context("could not start the simulator")?;
    let config = ApiConfig::parse(&simulator.base_url())?;
    out.say(format!("Simulator listening on {}.", simulator.base_url()));
    let result = walk_through(&mut out, &config).await;
    simulator.stop().await?;
    result?;
    println!("\nDemo finished: all {} steps succeeded.", out.step);
    Ok(())
}

async fn walk_through(out: &mut Narrator, config: &ApiConfig) -> anyhow::Result<()> {
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
    auth.passwordless_start("grace@example.com").await?;
    let outbox = manager.outbox().await?;
    let otp_mail = outbox
        .messages
        .iter()
        .rev()
        .find(|message| message.kind == MessageKind::Otp && message.recipient == "grace@example.com")
        .context("the one-time code email was not sent")?;
    let otp: String = otp_mail.content.chars().filter(char::is_ascii_digit).take(6).collect();
    let session = auth.exchange_otp("grace@example.com", otp).await?;
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
    Ok(())
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
