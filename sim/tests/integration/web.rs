//! The customer's manager web page (issue 9) driven through its HTML forms, as a browser without
//! JavaScript would: sign in with the manager token (session cookie), post every form with the CSRF token
//! read from the page, from an empty simulator to an invited user, who then opens the door through the
//! SDK (`DoorClient` over the in-memory link).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use latchkey::api::{ApiConfig, AuthClient, ManagerClient, RetryPolicy};
use latchkey::ble::{SoftwareSigner, Timeouts};
use latchkey::client::{DoorClient, DoorClientConfig, UnlockEvent};
use latchkey::model::MessageKind;
use latchkey::{ManualClock, SecretString};
use latchkey_sim::link::MemoryTransport;
use latchkey_sim::{BackendConfig, SimConfig, Simulator};

use crate::support::{MANAGER_TOKEN, START, at, digits_in};

/// An empty simulator, a manager API client (for reading the outbox) and a browser-like HTTP client.
struct Site {
    sim: Simulator,
    clock: ManualClock,
    manager: ManagerClient,
    http: reqwest::Client,
    cookie: String,
}

/// A page as the browser got it.
struct Page {
    status: u16,
    location: Option<String>,
    set_cookie: Option<String>,
    html: String,
}

impl Site {
    async fn start() -> Site {
        let clock = ManualClock::new(at(START));
        let sim = Simulator::start(SimConfig {
            addr: ([127, 0, 0, 1], 0).into(),
            db: ":memory:".into(),
            backend: BackendConfig {
                manager_token: SecretString::new(MANAGER_TOKEN),
                ..BackendConfig::default()
            },
            clock: Arc::new(clock.clone()),
        })
        .await
        .expect("the simulator starts");
        let manager = ManagerClient::new(config(&sim, &clock), MANAGER_TOKEN).expect("manager client");
        // Built after a latchkey client, which installs rustls's crypto provider reqwest needs.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("http client");
        Site { sim, clock, manager, http, cookie: String::new() }
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Page {
        let request =
            if self.cookie.is_empty() { request } else { request.header("cookie", self.cookie.as_str()) };
        let response = request.send().await.expect("the simulator answers");
        let header = |name: &str| {
            response.headers().get(name).and_then(|value| value.to_str().ok()).map(str::to_owned)
        };
        let (status, location, set_cookie) =
            (response.status().as_u16(), header("location"), header("set-cookie"));
        let html = response.text().await.expect("a body");
        Page { status, location, set_cookie, html }
    }

    async fn get(&self, path: &str) -> Page {
        let page = self.send(self.http.get(format!("{}{path}", self.sim.base_url()))).await;
        assert_eq!(page.status, 200, "GET {path}: {}", page.html);
        page
    }

    async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
        self.send(
            self.http
                .post(format!("{}{path}", self.sim.base_url()))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body),
        )
        .await
    }

    /// Posts a form of the page at `path` with the CSRF token read from that page; expects the redirect
    /// back with `done` and returns the page it leads to.
    async fn submit(&self, path: &str, fields: &[(&str, &str)], done: &str) -> Page {
        let csrf = csrf(&self.get(path).await.html);
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        let posted = self.post(path, &all).await;
        assert_eq!(posted.status, 303, "POST {path} {fields:?}: {}", posted.html);
        let location = posted.location.expect("a redirect");
        assert_eq!(location, format!("{path}?done={done}"));
        self.get(&location).await
    }
}

fn config(sim: &Simulator, clock: &ManualClock) -> ApiConfig {
    ApiConfig::parse(&sim.base_url())
        .expect("base URL")
        .with_clock(clock.clone())
        .with_retry(RetryPolicy::none())
}

/// The text after `marker` up to the next `end`.
fn after<'a>(html: &'a str, marker: &str, end: char) -> &'a str {
    let start = html.find(marker).unwrap_or_else(|| panic!("{marker:?} in the page: {html}")) + marker.len();
    let rest = &html[start..];
    &rest[..rest.find(end).expect("the end of the value")]
}

/// The session's CSRF token embedded in the page's forms.
fn csrf(html: &str) -> String {
    after(html, "name=\"csrf\" value=\"", '"').to_owned()
}

/// The `(value, text)` options of the select named `name`.
fn options(html: &str, name: &str) -> Vec<(String, String)> {
    let marker = format!("<select name=\"{name}\"");
    let mut start = html.find(&marker).unwrap_or_else(|| panic!("select {name} in the page: {html}"));
    let end = start + html[start..].find("</select>").expect("the end of the select");
    let mut found = Vec::new();
    while let Some(at) = html[start..end].find("<option value=\"") {
        let value_at = start + at + "<option value=\"".len();
        let value = &html[value_at..value_at + html[value_at..].find('"').expect("value")];
        let text_at = value_at + html[value_at..].find('>').expect("option text") + 1;
        let text = &html[text_at..text_at + html[text_at..].find('<').expect("option end")];
        found.push((value.to_owned(), text.to_owned()));
        start = text_at;
    }
    found
}

/// The value of the option of select `name` whose text starts with `text`.
fn option(html: &str, name: &str, text: &str) -> String {
    options(html, name)
        .into_iter()
        .find(|(_, shown)| shown.starts_with(text))
        .unwrap_or_else(|| panic!("an option {text:?} in select {name}: {html}"))
        .0
}

async fn next_event(events: &mut tokio::sync::broadcast::Receiver<UnlockEvent>) -> UnlockEvent {
    tokio::time::timeout(StdDuration::from_secs(10), events.recv())
        .await
        .expect("an event in time")
        .expect("the channel is open")
}

/// A scratch directory, removed on drop.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test]
async fn the_whole_customer_setup_through_the_web_page_then_the_user_opens_the_door_with_the_sdk() {
    let mut site = Site::start().await;

    // Signed out, the page sends to the sign-in form; a wrong token is refused; the right one sets the
    // session cookie.
    let home = site.send(site.http.get(format!("{}/manager", site.sim.base_url()))).await;
    assert_eq!((home.status, home.location.as_deref()), (303, Some("/manager/sign-in")));
    let wrong = site.post("/manager/sign-in", &[("token", "not-the-token")]).await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.html.contains("That is not the manager token."), "{}", wrong.html);
    assert!(wrong.set_cookie.is_none());
    let signed_in = site.post("/manager/sign-in", &[("token", MANAGER_TOKEN)]).await;
    assert_eq!((signed_in.status, signed_in.location.as_deref()), (303, Some("/manager/buildings")));
    let cookie = signed_in.set_cookie.expect("the session cookie");
    assert!(cookie.starts_with("lk_manager_session=") && cookie.contains("HttpOnly"), "{cookie}");
    site.cookie = cookie.split(';').next().expect("name=value").to_owned();
    let empty = site.get("/manager/buildings").await;
    assert!(empty.html.contains("No buildings yet"), "{}", empty.html);

    // A partner: its credentials are shown once on the page.
    let partners = site.get("/manager/partners").await;
    let created = site
        .post(
            "/manager/partners",
            &[("csrf", &csrf(&partners.html)), ("form", "partner"), ("name", "Acme Stays")],
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.html);
    let client_id = after(&created.html, "client_id: ", ' ').to_owned();
    let client_secret = after(&created.html, "client_secret: ", '<').to_owned();
    assert!(!client_id.is_empty() && !client_secret.is_empty(), "{}", created.html);

    // A rejected building keeps the message in place and everything typed.
    let buildings = site.get("/manager/buildings").await;
    let rejected = site
        .post(
            "/manager/buildings",
            &[
                ("csrf", &csrf(&buildings.html)),
                ("form", "building"),
                ("name", "Harbor View"),
                ("timezone", "Mars/Olympus_Mons"),
                ("commonDoorcodes", "on"),
            ],
        )
        .await;
    assert_eq!(rejected.status, 400, "{}", rejected.html);
    assert!(rejected.html.contains("id=\"building-error\""), "{}", rejected.html);
    assert!(rejected.html.contains("is not an IANA time zone name"), "{}", rejected.html);
    assert!(rejected.html.contains("name=\"name\" value=\"Harbor View\""), "{}", rejected.html);
    assert!(rejected.html.contains("name=\"timezone\" value=\"Mars/Olympus_Mons\""), "{}", rejected.html);
    assert!(rejected.html.contains("name=\"commonDoorcodes\" value=\"on\" checked"), "{}", rejected.html);
    assert!(site.get("/manager/buildings").await.html.contains("No buildings yet"));

    // A form without the CSRF token is refused and changes nothing.
    let forged = site
        .post(
            "/manager/buildings",
            &[("form", "building"), ("name", "Forged Tower"), ("timezone", "America/New_York")],
        )
        .await;
    assert_eq!(forged.status, 403, "{}", forged.html);
    assert!(forged.html.contains("CSRF"), "{}", forged.html);
    let after_forged = site.get("/manager/buildings").await;
    assert!(after_forged.html.contains("No buildings yet"), "{}", after_forged.html);
    assert!(!after_forged.html.contains("Forged Tower"));

    // Building, door, activation by the installer.
    let page = site
        .submit(
            "/manager/buildings",
            &[("form", "building"), ("name", "Harbor View"), ("timezone", "America/New_York")],
            "building",
        )
        .await;
    assert!(page.html.contains("Building created."), "{}", page.html);
    let building = option(&page.html, "buildingUuid", "Harbor View");
    let page = site
        .submit(
            "/manager/buildings",
            &[
                ("form", "door"),
                ("buildingUuid", &building),
                ("name", "Lobby"),
                ("type", "DOOR"),
                ("accessibilityType", "COMMUNAL"),
                ("isConnected", "on"),
            ],
            "door",
        )
        .await;
    assert!(page.html.contains("Not activated"), "{}", page.html);
    let door = option(&page.html, "doorUuid", "Lobby");
    let page = site
        .submit(
            "/manager/buildings",
            &[("form", "activate"), ("doorUuid", &door), ("serialNumber", "LK-WEB-1"), ("deviceType", "M")],
            "activated",
        )
        .await;
    assert!(page.html.contains("Activated</span> <code>LK-WEB-1</code>"), "{}", page.html);
    assert!(options(&page.html, "doorUuid").is_empty(), "no door left to activate");

    // A key to the door, assigned to the partner, enabled.
    let page = site
        .submit("/manager/keys", &[("form", "key"), ("name", "Front key"), ("doorUuids", &door)], "key")
        .await;
    assert!(page.html.contains("not assigned: no partner app can unlock with it yet"), "{}", page.html);
    let key = after(&page.html, "id=\"assign-", '"').to_owned();
    let partner = option(&page.html, "partnerUuid", "Acme Stays");
    let assign = format!("assign-{key}");
    let page = site
        .submit(
            "/manager/keys",
            &[("form", &assign), ("keyUuid", &key), ("partnerUuid", &partner)],
            "assigned",
        )
        .await;
    assert!(page.html.contains("<p>Partner: Acme Stays</p>"), "{}", page.html);
    let enable = format!("enable-{key}");
    let page = site.submit("/manager/keys", &[("form", &enable), ("keyUuid", &key)], "enabled").await;
    assert!(page.html.contains("<span class=\"badge on\">Enabled</span>"), "{}", page.html);

    // The invite: a PERMANENT access from yesterday, and the confirmation email.
    let email = "grace@example.com";
    let users = site.get("/manager/users").await;
    assert_eq!(option(&users.html, "keyUuid", "Front key"), key);
    let page = site
        .submit(
            "/manager/users",
            &[
                ("form", "invite"),
                ("firstName", "Grace"),
                ("lastName", "Hopper"),
                ("email", email),
                ("keyUuid", &key),
                ("startTime", "2026-06-09T09:00"),
                ("endTime", ""),
                ("role", "NON_RESIDENT"),
            ],
            "invited",
        )
        .await;
    assert!(page.html.contains("Grace Hopper"), "{}", page.html);
    assert!(page.html.contains("PERMANENT"), "{}", page.html);
    assert!(page.html.contains("via key Front key v1"), "{}", page.html);
    let outbox = site.get("/manager/outbox").await;
    assert!(outbox.html.contains(email), "{}", outbox.html);

    // The user's side: passwordless sign-in through the partner's app, then the door opens.
    let auth = AuthClient::new(
        config(&site.sim, &site.clock),
        client_id.clone(),
        SecretString::new(client_secret.as_str()),
    )
    .expect("auth client");
    auth.passwordless_start(email).await.expect("passwordless start");
    let otp = site
        .manager
        .outbox()
        .await
        .expect("outbox")
        .messages
        .into_iter()
        .rev()
        .find(|message| message.recipient == email && message.kind == MessageKind::Otp)
        .expect("an OTP email");
    let code = digits_in(&otp.content, 6).into_iter().next().expect("a 6-digit code");
    let session = auth.exchange_otp(email, code).await.expect("one-time code exchange");

    let dir = Scratch(std::env::temp_dir().join(format!("latchkey-web-{}", uuid::Uuid::new_v4())));
    let transport = MemoryTransport::new(site.sim.state().locks.clone());
    let phone = DoorClient::setup(
        DoorClientConfig {
            api: config(&site.sim, &site.clock),
            client_id,
            store_path: dir.0.join("grace.sqlite"),
            transport: Arc::new(transport),
            signer: Arc::new(SoftwareSigner::from_secret_bytes([0x42; 32]).expect("key")),
            timeouts: Timeouts::default(),
            device_name: "Grace's phone".into(),
        },
        session,
    )
    .await
    .expect("setup");
    let locks = phone.fetch_locks().await.expect("fetch locks");
    assert_eq!(locks.iter().map(|lock| lock.name.as_str()).collect::<Vec<_>>(), vec!["Lobby"]);
    assert!(locks[0].has_credential, "{locks:?}");
    let mut events = phone.unlock_events();
    phone.unlock(&door).await.expect("the door granted on the web page opens");
    assert_eq!(next_event(&mut events).await, UnlockEvent::Started { lock_id: door.clone() });
    assert_eq!(next_event(&mut events).await, UnlockEvent::Success { lock_id: door.clone() });
    drop(phone);
    site.sim.stop().await.expect("stop");
}
