//! Restart persistence: a simulator on a database file, stopped and started again on the same file, keeps
//! doors, users, accesses (and their codes), the outbox, partner credentials, refresh tokens, stored
//! idempotent responses, and its token signing key (so a token issued before the restart still works).

use latchkey::api::AuthClient;
use latchkey::model::PasscodeType;

use crate::support::{Contact, Options, World, daily, permanent, wire};

struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let path = std::env::temp_dir().join(format!("latchkey-it-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&path).expect("temp dir");
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test]
async fn everything_survives_a_restart_on_the_same_file() {
    let dir = TempDir::new();
    let db = dir.0.join("sim.db").to_string_lossy().into_owned();
    let world = World::start_with(Options { db, ..Options::default() }).await;
    let d = world.p.doors.clone();

    let mut request = permanent("grace@example.com", &[&d.lobby, &d.unit_4b], world.now());
    request.phone = Some("+14155550100".into());
    world.a.create_user_v2(&request).await.expect("permanent");
    world
        .a
        .create_user_v2(&daily(
            PasscodeType::Daily,
            Contact::Phone("+14155550177"),
            &[&d.tokyo_room],
            world.now(),
        ))
        .await
        .expect("daily");
    world
        .b
        .create_user_v2(&permanent("bob@example.com", &[&d.staff_room], world.now()))
        .await
        .expect("B's grant");
    let token = world.token(&world.p.a).await;
    let key = [("Idempotency-Key", "before-restart")];
    let body = wire(&permanent("ada@example.com", &[&d.gym], world.now()));
    let stored = world.raw_with("POST", "/access/sdk/v2/users", Some(&token), Some(body.clone()), &key).await;
    assert_eq!(stored.status, 200);
    let (_, session) = world.sign_in("grace@example.com").await;

    let doors = world.a.all_doors(None).await.expect("doors");
    let users = world.a.all_users().await.expect("users");
    let b_users = world.b.all_users().await.expect("B's users");
    let outbox = world.outbox().await;
    assert_eq!(users.len(), 3);
    assert!(outbox.len() >= 4);

    let world = world.restart().await;

    assert_eq!(world.a.all_doors(None).await.expect("doors"), doors, "doors, locks and keys");
    assert_eq!(world.a.all_users().await.expect("users"), users, "users, accesses and doorcodes");
    assert_eq!(world.b.all_users().await.expect("B's users"), b_users);
    assert_eq!(world.outbox().await, outbox, "the outbox");
    let response = world.raw("GET", "/access/sdk/v1/doors", Some(&token), None).await;
    assert_eq!(response.status, 200, "a token from before the restart still verifies: {}", response.text);
    // The partner clients were rebuilt: they signed in again with the stored credentials.
    assert!(world.a.token_source().expires_at().await.is_some());
    let replay = world.raw_with("POST", "/access/sdk/v2/users", Some(&token), Some(body), &key).await;
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(replay.text, stored.text);
    let auth = AuthClient::new(world.config(), world.p.a.client_id.clone(), world.p.a.client_secret.clone())
        .expect("auth");
    auth.refresh(&session.refresh_token).await.expect("the refresh token survived");

    // And it keeps working.
    world.a.create_user_v2(&permanent("hal@example.com", &[&d.lobby], world.now())).await.expect("new grant");
    assert_eq!(world.a.all_users().await.expect("users").len(), 4);
    world.sim.stop().await.expect("stop");
}
