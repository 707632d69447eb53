//! One in-memory simulator for the targets that drive the backend's router and a virtual lock: a partner,
//! a building, an activated door with its virtual lock, an enabled key, a partner token and a user token,
//! all set up through the router exactly as a customer and an app would (no shortcuts into the database).

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use latchkey::{SecretString, SystemClock};
use latchkey_sim::backend::app;
use latchkey_sim::backend::db::Db;
use latchkey_sim::backend::state::{AppState, BackendConfig};
use serde_json::{Value, json};
use tower::ServiceExt;

/// The manager API's bearer token in the fuzz world.
pub const MANAGER_TOKEN: &str = "fuzz-manager-token";

/// The identifiers the world was set up with.
#[derive(Debug, Clone)]
pub struct Ids {
    /// The partner.
    pub partner: String,
    /// Its OAuth client id.
    pub client_id: String,
    /// Its OAuth client secret.
    pub client_secret: String,
    /// The building.
    pub building: String,
    /// The activated, connected door (it has a virtual lock).
    pub door: String,
    /// The key.
    pub key: String,
    /// The invited user (with access to `door`).
    pub user: String,
    /// The user's email.
    pub email: String,
    /// A partner access token.
    pub partner_token: String,
    /// A user access token.
    pub user_token: String,
}

/// The simulator and what it holds.
#[derive(Debug)]
pub struct World {
    /// Runs the router's futures.
    pub runtime: tokio::runtime::Runtime,
    /// The backend's shared state (database, virtual locks).
    pub state: AppState,
    /// The backend as a router.
    pub router: Router,
    /// The portfolio.
    pub ids: Ids,
}

impl World {
    /// Sends one request through the router and returns the status and the body bytes.
    pub fn send(&self, request: Request<Body>) -> (StatusCode, Vec<u8>) {
        self.runtime.block_on(async {
            let response = self.router.clone().oneshot(request).await.expect("the router is infallible");
            let status = response.status();
            let body = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .map(|b| b.to_vec())
                .unwrap_or_default();
            (status, body)
        })
    }

    /// A JSON call used while setting up; panics (the world cannot be built) on anything but 200.
    fn setup(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Value {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = match body {
            Some(body) => {
                request.header(header::CONTENT_TYPE, "application/json").body(Body::from(body.to_string()))
            }
            None => request.body(Body::empty()),
        }
        .expect("a valid request");
        let (status, bytes) = self.send(request);
        assert_eq!(status, StatusCode::OK, "setting up {path}: {}", String::from_utf8_lossy(&bytes));
        serde_json::from_slice(&bytes).unwrap_or(Value::Null)
    }
}

fn text(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_else(|| panic!("field {key} in {v}")).to_owned()
}

/// The world (built once per fuzz process).
pub fn world() -> &'static World {
    static CELL: OnceLock<World> = OnceLock::new();
    CELL.get_or_init(build)
}

fn build() -> World {
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime");
    let db = Db::open(":memory:").expect("an in-memory database");
    let config =
        BackendConfig { manager_token: SecretString::new(MANAGER_TOKEN), ..BackendConfig::default() };
    let state = AppState::new(db, Arc::new(SystemClock), config).expect("the backend state");
    let router = app(state.clone());
    let empty = Ids {
        partner: String::new(),
        client_id: String::new(),
        client_secret: String::new(),
        building: String::new(),
        door: String::new(),
        key: String::new(),
        user: String::new(),
        email: "fuzz.user@example.com".into(),
        partner_token: String::new(),
        user_token: String::new(),
    };
    let mut w = World { runtime, state, router, ids: empty };
    let m = Some(MANAGER_TOKEN);
    let partner = w.setup(Method::POST, "/manager/v1/partners", m, Some(json!({"name": "Fuzz Stays"})));
    let (client_id, client_secret) = (text(&partner, "clientId"), text(&partner, "clientSecret"));
    let building = w.setup(
        Method::POST,
        "/manager/v1/buildings",
        m,
        Some(json!({"name": "Fuzz Tower", "timezone": "Europe/Paris", "commonDoorcodes": false})),
    );
    let building = text(&building, "uuid");
    let door = w.setup(
        Method::POST,
        "/manager/v1/doors",
        m,
        Some(json!({"buildingUuid": building, "name": "Lobby", "type": "DOOR",
                    "accessibilityType": "COMMUNAL", "isConnected": true})),
    );
    let door = text(&door, "uuid");
    w.setup(
        Method::POST,
        &format!("/manager/v1/doors/{door}/activate"),
        m,
        Some(json!({"serialNumber": "FZ-0001", "deviceType": "M"})),
    );
    let key =
        w.setup(Method::POST, "/manager/v1/keys", m, Some(json!({"name": "Fuzz key", "doorUuids": [door]})));
    let key = text(&key, "uuid");
    let partner_uuid = text(&partner, "uuid");
    w.setup(
        Method::PUT,
        &format!("/manager/v1/keys/{key}/partner"),
        m,
        Some(json!({"partnerUuid": partner_uuid})),
    );
    w.setup(Method::POST, &format!("/manager/v1/keys/{key}/enable"), m, None);
    let token = w.setup(
        Method::POST,
        "/v1/oauth/token",
        None,
        Some(
            json!({"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret,
                    "audience": latchkey::model::PARTNER_AUDIENCE}),
        ),
    );
    let partner_token = text(&token, "access_token");
    let email = w.ids.email.clone();
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let user = w.setup(
        Method::POST,
        "/access/sdk/v2/users",
        Some(&partner_token),
        Some(json!({"firstName": "Fuzz", "lastName": "User", "email": email, "startTime": now,
                    "doorUuids": [door], "passcodeType": "PERMANENT", "role": "RESIDENT"})),
    );
    let user = text(&user, "userUuid");
    w.setup(
        Method::POST,
        "/passwordless/start",
        None,
        Some(json!({"client_id": client_id, "client_secret": client_secret, "email": email,
                    "connection": "email", "send": "code"})),
    );
    let outbox = w.setup(Method::GET, "/manager/v1/outbox", m, None);
    let otp = outbox["messages"]
        .as_array()
        .and_then(|messages| messages.iter().rev().find_map(|m| m["content"].as_str()))
        .and_then(|content| content.split("code is ").nth(1))
        .map(|rest| rest.chars().take_while(char::is_ascii_digit).collect::<String>())
        .expect("the outbox holds the sign-in code");
    let token = w.setup(
        Method::POST,
        "/v1/oauth/token",
        None,
        Some(json!({"grant_type": latchkey::model::PASSWORDLESS_OTP_GRANT, "client_id": client_id,
                    "client_secret": client_secret, "username": email, "otp": otp, "realm": "email",
                    "scope": "openid offline_access"})),
    );
    let user_token = text(&token, "access_token");
    w.ids = Ids {
        partner: partner_uuid,
        client_id,
        client_secret,
        building,
        door,
        key,
        user,
        email,
        partner_token,
        user_token,
    };
    w
}
