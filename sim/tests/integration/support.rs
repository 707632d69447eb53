//! The fixture every test starts from: a simulator on loopback with a [`ManualClock`], and a small
//! portfolio built through the manager API exactly as a customer would (partners, buildings in three time
//! zones, communal and private doors, keys assigned and enabled), returned as typed handles.
//!
//! Also the raw side of the tests: plain reqwest calls for what the typed client refuses to send, and
//! readers of the outbox (the users' inbox).

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use latchkey::api::{ApiConfig, AuthClient, ManagerClient, PartnerClient, RetryPolicy, UserSession};
use latchkey::model::{
    AccessView, AccessibilityType, ActivateDoorRequest, AssignKeyRequest, BuildingView,
    CreateBuildingRequest, CreateDoorRequest, CreateKeyRequest, CreatePartnerRequest, CreateUserRequest,
    DeviceType, DoorType, DoorView, KeyView, ManagerInviteRequest, ManagerUserView, MessageKind,
    OutboxMessage, PasscodeType, Role, UserView,
};
use latchkey::{ManualClock, SecretString};
use latchkey_sim::backend::ratelimit::RateLimits;
use latchkey_sim::{BackendConfig, SimConfig, Simulator};
use serde_json::Value;

/// The manager API's bearer in every test simulator.
pub const MANAGER_TOKEN: &str = "it-manager-token";

/// Where the clock stands when a world starts: 12:00 in New York (EDT), 01:00 the next day in Tokyo,
/// 06:00 the next day on Kiritimati.
pub const START: &str = "2026-06-10T16:00:00Z";

/// An instant from RFC 3339 text.
pub fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).expect("a valid RFC 3339 instant").to_utc()
}

/// A partner as the manager created it, with its credentials.
#[derive(Clone, Debug)]
pub struct Partner {
    /// The partner's identifier.
    pub uuid: String,
    /// Its display name (notifications name it).
    pub name: String,
    /// Its OAuth client id.
    pub client_id: String,
    /// Its OAuth client secret.
    pub client_secret: SecretString,
}

/// The buildings of the portfolio.
#[derive(Clone, Debug)]
pub struct Buildings {
    /// America/New_York, common doorcodes enabled.
    pub ny: BuildingView,
    /// Asia/Tokyo (UTC+9, no DST), common doorcodes off.
    pub tokyo: BuildingView,
    /// Pacific/Kiritimati (UTC+14), common doorcodes off.
    pub kiritimati: BuildingView,
}

/// The doors of the portfolio. All but `staff_room` and `mail_room` are partner A's.
#[derive(Clone, Debug)]
pub struct Doors {
    /// New York, COMMUNAL, connected, lock activated.
    pub lobby: DoorView,
    /// New York, COMMUNAL, not connected.
    pub gym: DoorView,
    /// New York, PRIVATE, connected, lock activated.
    pub unit_4b: DoorView,
    /// New York, PRIVATE, not connected.
    pub unit_5c: DoorView,
    /// Tokyo, COMMUNAL, connected.
    pub tokyo_entrance: DoorView,
    /// Tokyo, COMMUNAL, not connected.
    pub tokyo_rooftop: DoorView,
    /// Tokyo, PRIVATE, not connected.
    pub tokyo_room: DoorView,
    /// Kiritimati, COMMUNAL, not connected.
    pub kiritimati_gate: DoorView,
    /// New York, PRIVATE: partner B's only door.
    pub staff_room: DoorView,
    /// New York, COMMUNAL: in a key assigned to partner A but not enabled.
    pub mail_room: DoorView,
}

impl Doors {
    /// Partner A's doors in creation order (what `GET doors` lists for A).
    pub fn of_a(&self) -> Vec<&DoorView> {
        vec![
            &self.lobby,
            &self.gym,
            &self.unit_4b,
            &self.unit_5c,
            &self.tokyo_entrance,
            &self.tokyo_rooftop,
            &self.tokyo_room,
            &self.kiritimati_gate,
        ]
    }
}

/// The keys of the portfolio.
#[derive(Clone, Debug)]
pub struct Keys {
    /// Partner A's key to all its doors, enabled.
    pub a: KeyView,
    /// Partner B's key to the staff room, enabled.
    pub b: KeyView,
    /// A key to the mail room, assigned to partner A, never enabled.
    pub a_disabled: KeyView,
}

/// Everything the manager set up: plain data, valid across a simulator restart.
#[derive(Clone, Debug)]
pub struct Portfolio {
    /// "Acme Stays".
    pub a: Partner,
    /// "Beta Living".
    pub b: Partner,
    /// The buildings.
    pub buildings: Buildings,
    /// The doors.
    pub doors: Doors,
    /// The keys.
    pub keys: Keys,
}

/// How to start a world.
#[derive(Clone, Debug)]
pub struct Options {
    /// `:memory:` or a SQLite file.
    pub db: String,
    /// The lifetime of access tokens.
    pub token_ttl: Duration,
    /// The simulator's rate limits.
    pub rate_limits: RateLimits,
    /// How long one webhook delivery may take.
    pub webhook_timeout: std::time::Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            db: ":memory:".into(),
            token_ttl: Duration::hours(24),
            rate_limits: RateLimits::default(),
            webhook_timeout: std::time::Duration::from_secs(2),
        }
    }
}

/// A running simulator with the portfolio and clients for the manager and both partners.
pub struct World {
    /// The simulator.
    pub sim: Simulator,
    /// The one clock of the simulator and of every client.
    pub clock: ManualClock,
    /// The manager API.
    pub manager: ManagerClient,
    /// The portfolio.
    pub p: Portfolio,
    /// Partner A's client (no retries, so every test sees the first failure).
    pub a: PartnerClient,
    /// Partner B's client.
    pub b: PartnerClient,
    /// For raw calls.
    pub http: reqwest::Client,
    options: Options,
}

impl World {
    /// A fresh in-memory simulator with the portfolio, the clock at [`START`].
    pub async fn start() -> World {
        World::start_with(Options::default()).await
    }

    /// A simulator with these options and the portfolio, the clock at [`START`].
    pub async fn start_with(options: Options) -> World {
        let clock = ManualClock::new(at(START));
        let sim = simulator(&options, &clock).await;
        let manager = manager_client(&sim, &clock);
        let p = build_portfolio(&manager).await;
        World::assemble(sim, clock, manager, p, options)
    }

    fn assemble(
        sim: Simulator,
        clock: ManualClock,
        manager: ManagerClient,
        p: Portfolio,
        options: Options,
    ) -> World {
        let config = client_config(&sim, &clock);
        let a = PartnerClient::new(config.clone(), p.a.client_id.clone(), p.a.client_secret.clone())
            .expect("partner A client");
        let b = PartnerClient::new(config, p.b.client_id.clone(), p.b.client_secret.clone())
            .expect("partner B client");
        // Built after a latchkey client, which installs rustls's crypto provider reqwest needs.
        let http = reqwest::Client::new();
        World { sim, clock, manager, p, a, b, http, options }
    }

    /// Stops the simulator and starts a new one on the same database file, with the same clock; the
    /// clients are rebuilt for its new address.
    pub async fn restart(self) -> World {
        let World { sim, clock, p, options, .. } = self;
        sim.stop().await.expect("the simulator stops cleanly");
        let sim = simulator(&options, &clock).await;
        let manager = manager_client(&sim, &clock);
        World::assemble(sim, clock, manager, p, options)
    }

    /// The simulator's address.
    pub fn base_url(&self) -> String {
        self.sim.base_url()
    }

    /// A client configuration for this simulator: its clock, no retries.
    pub fn config(&self) -> ApiConfig {
        client_config(&self.sim, &self.clock)
    }

    /// The current instant of the world's clock.
    pub fn now(&self) -> DateTime<Utc> {
        latchkey::Clock::now(&self.clock)
    }

    /// Every message sent so far.
    pub async fn outbox(&self) -> Vec<OutboxMessage> {
        self.manager.outbox().await.expect("outbox").messages
    }

    /// The messages sent to one email address or phone number.
    pub async fn messages_to(&self, recipient: &str) -> Vec<OutboxMessage> {
        self.outbox().await.into_iter().filter(|message| message.recipient == recipient).collect()
    }

    /// A partner token fetched by hand (client credentials), as a partner's curl would.
    pub async fn token(&self, partner: &Partner) -> String {
        let response = self
            .raw(
                "POST",
                "/v1/oauth/token",
                None,
                Some(serde_json::json!({
                    "grant_type": "client_credentials",
                    "client_id": partner.client_id,
                    "client_secret": partner.client_secret.expose(),
                    "audience": latchkey::model::PARTNER_AUDIENCE,
                })),
            )
            .await;
        assert_eq!(response.status, 200, "token: {}", response.text);
        response.json()["access_token"].as_str().expect("access_token").to_owned()
    }

    /// A raw request: `method path`, with a bearer and a JSON body if given.
    pub async fn raw(&self, method: &str, path: &str, bearer: Option<&str>, body: Option<Value>) -> Raw {
        self.raw_with(method, path, bearer, body, &[]).await
    }

    /// A raw request with extra headers.
    pub async fn raw_with(
        &self,
        method: &str,
        path: &str,
        bearer: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Raw {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut request = self.http.request(method, format!("{}{path}", self.base_url()));
        if let Some(bearer) = bearer {
            request = request.bearer_auth(bearer);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("the simulator answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("a body");
        Raw { status, headers, text }
    }

    /// The property manager ("Mission Control") grants `email` access to `doors` with a new key.
    pub async fn manager_grant(
        &self,
        email: &str,
        doors: &[&DoorView],
        role: Role,
        end_time: Option<DateTime<Utc>>,
    ) -> ManagerUserView {
        let key = self
            .manager
            .create_key(&CreateKeyRequest {
                name: "Mission Control".into(),
                door_uuids: doors.iter().map(|door| door.uuid.clone()).collect(),
            })
            .await
            .expect("manager key");
        self.manager
            .invite_user(&ManagerInviteRequest {
                first_name: "Managed".into(),
                last_name: "Resident".into(),
                email: email.into(),
                phone: None,
                key_uuid: key.uuid,
                start_time: self.now() - Duration::days(30),
                end_time,
                role,
                passcode_type: Some(PasscodeType::Permanent),
            })
            .await
            .expect("manager invite")
    }

    /// Signs `email` in through partner A's app: passwordless start, the one-time code read from the
    /// outbox, exchanged for a session.
    pub async fn sign_in(&self, email: &str) -> (AuthClient, UserSession) {
        let auth = AuthClient::new(self.config(), self.p.a.client_id.clone(), self.p.a.client_secret.clone())
            .expect("auth client");
        auth.passwordless_start(email).await.expect("passwordless start");
        let code = self.last_otp(email).await;
        let session = auth.exchange_otp(email, code).await.expect("one-time code exchange");
        (auth, session)
    }

    /// The one-time code of the last OTP email to `email`.
    pub async fn last_otp(&self, email: &str) -> String {
        let message = self
            .messages_to(email)
            .await
            .into_iter()
            .rev()
            .find(|message| message.kind == MessageKind::Otp)
            .expect("an OTP email");
        digits_in(&message.content, 6).into_iter().next().expect("a 6-digit code in the OTP email")
    }
}

/// A raw response.
#[derive(Debug)]
pub struct Raw {
    /// The status.
    pub status: u16,
    /// The headers.
    pub headers: reqwest::header::HeaderMap,
    /// The body as text.
    pub text: String,
}

impl Raw {
    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|_| panic!("a JSON body, got {:?}", self.text))
    }

    /// The `message` of an error body (asserting it is one).
    pub fn message(&self) -> String {
        self.json()["message"]
            .as_str()
            .unwrap_or_else(|| panic!("an error body with a message, got {:?}", self.text))
            .to_owned()
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }
}

/// The 7-digit doorcodes in a message, leaving out words that hold a UUID (such as the account link,
/// whose hex may contain a run of seven digits by chance).
pub fn doorcodes_in(text: &str) -> Vec<String> {
    text.split_whitespace()
        .filter(|word| word.matches('-').count() < 4)
        .flat_map(|word| digits_in(word, 7))
        .collect()
}

/// Every run of exactly `len` ASCII digits in `text`.
pub fn digits_in(text: &str, len: usize) -> Vec<String> {
    text.split(|c: char| !c.is_ascii_digit()).filter(|run| run.len() == len).map(str::to_owned).collect()
}

/// A PERMANENT NON_RESIDENT invite of `email` to `doors`, starting now, notified, not shareable.
pub fn permanent(email: &str, doors: &[&DoorView], now: DateTime<Utc>) -> CreateUserRequest {
    CreateUserRequest {
        first_name: "Grace".into(),
        last_name: "Hopper".into(),
        email: Some(email.into()),
        phone: None,
        start_time: now,
        end_time: None,
        door_uuids: doors.iter().map(|door| door.uuid.clone()).collect(),
        shareable: false,
        passcode_type: PasscodeType::Permanent,
        role: Role::NonResident,
        should_notify: true,
    }
}

/// Who a DAILY invite goes to.
#[derive(Clone, Copy, Debug)]
pub enum Contact<'a> {
    /// By email.
    Email(&'a str),
    /// By phone.
    Phone(&'a str),
}

/// A DAILY-kind NON_RESIDENT invite to `doors` starting at `start`.
pub fn daily(
    kind: PasscodeType,
    contact: Contact<'_>,
    doors: &[&DoorView],
    start: DateTime<Utc>,
) -> CreateUserRequest {
    let (email, phone) = match contact {
        Contact::Email(email) => (Some(email.to_owned()), None),
        Contact::Phone(phone) => (None, Some(phone.to_owned())),
    };
    CreateUserRequest {
        first_name: "Day".into(),
        last_name: "Guest".into(),
        email,
        phone,
        start_time: start,
        end_time: None,
        door_uuids: doors.iter().map(|door| door.uuid.clone()).collect(),
        shareable: false,
        passcode_type: kind,
        role: Role::NonResident,
        should_notify: true,
    }
}

/// The access of `view` to `door` (asserting there is exactly one).
pub fn access<'a>(view: &'a UserView, door: &DoorView) -> &'a AccessView {
    let found: Vec<&AccessView> = view.accesses.iter().filter(|a| a.door_uuid == door.uuid).collect();
    assert_eq!(found.len(), 1, "one access to {} in {view:?}", door.name);
    found[0]
}

/// The JSON body of a request as the wire spells it (for raw calls).
pub fn wire(request: &CreateUserRequest) -> Value {
    serde_json::to_value(request).expect("the request serializes")
}

async fn simulator(options: &Options, clock: &ManualClock) -> Simulator {
    Simulator::start(SimConfig {
        addr: ([127, 0, 0, 1], 0).into(),
        db: options.db.clone(),
        backend: BackendConfig {
            token_ttl: options.token_ttl,
            manager_token: SecretString::new(MANAGER_TOKEN),
            rate_limits: options.rate_limits,
            webhook_timeout: options.webhook_timeout,
            ..BackendConfig::default()
        },
        clock: Arc::new(clock.clone()),
    })
    .await
    .expect("the simulator starts")
}

fn client_config(sim: &Simulator, clock: &ManualClock) -> ApiConfig {
    ApiConfig::parse(&sim.base_url())
        .expect("base URL")
        .with_clock(clock.clone())
        .with_retry(RetryPolicy::none())
}

fn manager_client(sim: &Simulator, clock: &ManualClock) -> ManagerClient {
    ManagerClient::new(client_config(sim, clock), MANAGER_TOKEN).expect("manager client")
}

async fn partner(manager: &ManagerClient, name: &str) -> Partner {
    let created =
        manager.create_partner(&CreatePartnerRequest { name: name.into() }).await.expect("create partner");
    Partner {
        uuid: created.uuid,
        name: created.name,
        client_id: created.client_id,
        client_secret: created.client_secret,
    }
}

async fn building(manager: &ManagerClient, name: &str, timezone: &str, common: bool) -> BuildingView {
    manager
        .create_building(&CreateBuildingRequest {
            name: name.into(),
            timezone: timezone.into(),
            common_doorcodes: Some(common),
        })
        .await
        .expect("create building")
}

async fn door(
    manager: &ManagerClient,
    building: &BuildingView,
    name: &str,
    accessibility_type: AccessibilityType,
    connected: bool,
    lock: Option<(&str, DeviceType)>,
) -> DoorView {
    let created = manager
        .create_door(&CreateDoorRequest {
            building_uuid: building.uuid.clone(),
            name: name.into(),
            door_type: DoorType::Door,
            accessibility_type,
            is_connected: connected,
        })
        .await
        .expect("create door");
    match lock {
        Some((serial, device_type)) => manager
            .activate_door(&created.uuid, &ActivateDoorRequest { serial_number: serial.into(), device_type })
            .await
            .expect("activate door"),
        None => created,
    }
}

async fn key(
    manager: &ManagerClient,
    name: &str,
    doors: &[&DoorView],
    partner: &Partner,
    enable: bool,
) -> KeyView {
    let key = manager
        .create_key(&CreateKeyRequest {
            name: name.into(),
            door_uuids: doors.iter().map(|door| door.uuid.clone()).collect(),
        })
        .await
        .expect("create key");
    let key = manager
        .assign_key(&key.uuid, &AssignKeyRequest { partner_uuid: partner.uuid.clone() })
        .await
        .expect("assign key");
    if enable { manager.enable_key(&key.uuid).await.expect("enable key") } else { key }
}

async fn build_portfolio(manager: &ManagerClient) -> Portfolio {
    use AccessibilityType::{Communal, Private};
    let a = partner(manager, "Acme Stays").await;
    let b = partner(manager, "Beta Living").await;
    let ny = building(manager, "Harbor View", "America/New_York", true).await;
    let tokyo = building(manager, "Shibuya House", "Asia/Tokyo", false).await;
    let kiritimati = building(manager, "Line Islands Lodge", "Pacific/Kiritimati", false).await;
    let doors = Doors {
        lobby: door(manager, &ny, "Lobby", Communal, true, Some(("LK-0001", DeviceType::M))).await,
        gym: door(manager, &ny, "Gym", Communal, false, None).await,
        unit_4b: door(manager, &ny, "Unit 4B", Private, true, Some(("LK-0002", DeviceType::R2))).await,
        unit_5c: door(manager, &ny, "Unit 5C", Private, false, None).await,
        tokyo_entrance: door(manager, &tokyo, "Entrance", Communal, true, None).await,
        tokyo_rooftop: door(manager, &tokyo, "Rooftop", Communal, false, None).await,
        tokyo_room: door(manager, &tokyo, "Room 301", Private, false, None).await,
        kiritimati_gate: door(manager, &kiritimati, "Gate", Communal, false, None).await,
        staff_room: door(manager, &ny, "Staff Room", Private, false, None).await,
        mail_room: door(manager, &ny, "Mail Room", Communal, false, None).await,
    };
    let keys = Keys {
        a: key(manager, "Acme key", &doors.of_a(), &a, true).await,
        b: key(manager, "Beta key", &[&doors.staff_room], &b, true).await,
        a_disabled: key(manager, "Mail key", &[&doors.mail_room], &a, false).await,
    };
    Portfolio { a, b, buildings: Buildings { ny, tokyo, kiritimati }, doors, keys }
}

/// The ephemeral key the hand-written phone syncs of these tests put in SyncEnd.
pub fn phone_ephemeral() -> latchkey_protocol::crypto::DhSecret {
    latchkey_protocol::crypto::DhSecret::from_bytes(&[0x3c; 32]).expect("key")
}

/// The phone's sync channel with the lock of `door` on the connection that sent `hello`: the lock's
/// static public key as the backend lists it, and [`phone_ephemeral`].
pub fn phone_channel(
    state: &latchkey_sim::backend::state::AppState,
    door: &DoorView,
    hello: &[u8],
) -> latchkey_protocol::sync::SyncChannel {
    let info = state
        .db
        .read(|conn| latchkey_sim::backend::lockside::lock_info(conn, &door.uuid))
        .expect("read")
        .expect("an activated lock");
    let lock_key = latchkey_protocol::crypto::PublicKey::from_bytes(&info.lock_public_key).expect("key");
    latchkey_protocol::sync::SyncChannel::phone(&phone_ephemeral(), &lock_key, &info.lock_id, hello)
        .expect("channel")
}
