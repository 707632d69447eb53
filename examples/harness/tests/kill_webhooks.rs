//! SIGKILL of the simulator in the middle of webhook deliveries: a real `latchkey sim serve` child on a
//! database file is killed three times while it delivers a burst of events to a loopback endpoint, and
//! restarted on the same file each time. Every event must still arrive (at least once; de-duplicated by
//! `webhook-id`, in feed order), each verifying with its `whsec_` secret.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use chrono::Utc;
use latchkey::api::{ApiConfig, EventsQuery, ManagerClient, PartnerClient, RetryPolicy};
use latchkey::model::{
    AccessibilityType, AssignKeyRequest, CreateBuildingRequest, CreateDoorRequest, CreateKeyRequest,
    CreatePartnerRequest, CreateUserRequest, CreateWebhookEndpointRequest, DoorType, PasscodeType, Role,
};

const MANAGER_TOKEN: &str = "kill-webhooks-manager-token";
const GUESTS: usize = 20;

type Log = Arc<Mutex<Vec<(HashMap<String, String>, Bytes)>>>;

struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A `latchkey sim serve` child, killed (SIGKILL) when dropped.
struct Sim(Child);

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(addr: &str, db: &str) -> Sim {
    let child = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(["sim", "serve", "--addr", addr, "--db", db, "--manager-token", MANAGER_TOKEN])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("latchkey sim serve starts");
    let started = Instant::now();
    while std::net::TcpStream::connect(addr).is_err() {
        assert!(started.elapsed() < Duration::from_secs(20), "the simulator did not listen on {addr}");
        std::thread::sleep(Duration::from_millis(20));
    }
    Sim(child)
}

async fn receive(State(log): State<Log>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let headers = headers
        .iter()
        .map(|(name, value)| (name.as_str().to_owned(), value.to_str().unwrap_or_default().to_owned()))
        .collect();
    log.lock().expect("lock").push((headers, body));
    // Slow enough that the kills land while deliveries are in flight.
    tokio::time::sleep(Duration::from_millis(30)).await;
    StatusCode::OK
}

fn distinct_ids(log: &Log) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for (headers, _) in log.lock().expect("lock").iter() {
        let id = headers["webhook-id"].clone();
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    ids
}

async fn wait_for(log: &Log, count: usize, within: Duration) {
    let started = Instant::now();
    while distinct_ids(log).len() < count {
        assert!(started.elapsed() < within, "only {} of {count} events arrived", distinct_ids(log).len());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_simulator_killed_mid_delivery_loses_no_webhook() {
    let dir = Scratch(std::env::temp_dir().join(format!("latchkey-kill-webhooks-{}", std::process::id())));
    std::fs::create_dir_all(&dir.0).expect("scratch");
    let db = dir.0.join("sim.sqlite").to_string_lossy().into_owned();
    let addr = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
        probe.local_addr().expect("addr").to_string()
    };
    let mut sim = serve(&addr, &db);

    let log: Log = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/hooks", listener.local_addr().expect("addr"));
    let app = Router::new().route("/hooks", axum::routing::post(receive)).with_state(log.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let config = ApiConfig::parse(&format!("http://{addr}")).expect("url").with_retry(RetryPolicy::none());
    let manager = ManagerClient::new(config.clone(), MANAGER_TOKEN).expect("manager");
    let partner =
        manager.create_partner(&CreatePartnerRequest { name: "Acme Stays".into() }).await.expect("partner");
    let building = manager
        .create_building(&CreateBuildingRequest {
            name: "Harbor View".into(),
            timezone: "America/New_York".into(),
            common_doorcodes: Some(false),
        })
        .await
        .expect("building");
    let door = manager
        .create_door(&CreateDoorRequest {
            building_uuid: building.uuid.clone(),
            name: "Lobby".into(),
            door_type: DoorType::Door,
            accessibility_type: AccessibilityType::Private,
            is_connected: false,
        })
        .await
        .expect("door");
    let key = manager
        .create_key(&CreateKeyRequest { name: "Acme key".into(), door_uuids: vec![door.uuid.clone()] })
        .await
        .expect("key");
    manager
        .assign_key(&key.uuid, &AssignKeyRequest { partner_uuid: partner.uuid.clone() })
        .await
        .expect("assign");
    manager.enable_key(&key.uuid).await.expect("enable");
    let client = PartnerClient::new(config.clone(), partner.client_id.clone(), partner.client_secret.clone())
        .expect("partner client");
    let endpoint = client
        .create_webhook_endpoint(&CreateWebhookEndpointRequest {
            url,
            types: None,
            description: "kill test".into(),
            secret: None,
        })
        .await
        .expect("endpoint");
    let secret = endpoint.secret.expect("secret");

    for n in 0..GUESTS {
        client
            .create_user_v2(&CreateUserRequest {
                first_name: "Guest".into(),
                last_name: format!("{n}"),
                email: Some(format!("guest{n}@example.com")),
                phone: None,
                start_time: Utc::now(),
                end_time: None,
                door_uuids: vec![door.uuid.clone()],
                shareable: false,
                passcode_type: PasscodeType::Permanent,
                role: Role::NonResident,
                should_notify: false,
            })
            .await
            .expect("invite");
    }
    let total = GUESTS * 2;

    // Three kills, each after a few more deliveries arrived, each followed by a restart on the same file.
    for (kill, after) in [5, 15, 25].into_iter().enumerate() {
        wait_for(&log, after, Duration::from_secs(30)).await;
        drop(sim);
        let before = distinct_ids(&log).len();
        assert!(before < total, "kill {kill} came after everything was delivered ({before})");
        sim = serve(&addr, &db);
    }
    wait_for(&log, total, Duration::from_secs(60)).await;

    let client =
        PartnerClient::new(config, partner.client_id, partner.client_secret).expect("partner client");
    let feed: Vec<String> = client
        .list_events(&EventsQuery::default())
        .await
        .expect("feed")
        .events
        .into_iter()
        .map(|event| event.id)
        .collect();
    assert_eq!(feed.len(), total);
    assert_eq!(distinct_ids(&log), feed, "every event, in feed order, none lost");
    for (headers, body) in log.lock().expect("lock").iter() {
        latchkey::webhooks::verify(headers, body, &secret, Utc::now()).expect("each delivery verifies");
    }
    drop(sim);
}
