//! The typed client through a faulty network (the proxy of [`crate::proxy`]): every fault a real network
//! produces, on every kind of call. With retries, each call succeeds once and its effect happens once (one
//! grant, one email); without, it fails with the error that names the fault. Figures: 7 faults × 5 calls.

use std::time::Duration as StdDuration;

use latchkey::api::{ApiConfig, ApiError, DoorsQuery, NetworkErrorKind, PartnerClient, RetryPolicy};
use latchkey::model::{MessageKind, PatchAccessRequest};

use crate::proxy::{Fault, Proxy};
use crate::support::{World, permanent};

/// Every fault, and whether the backend applied the request before it struck.
const FAULTS: &[Fault] = &[
    Fault::HangUpAfterApply,
    Fault::ResetBeforeForward,
    Fault::GatewayUnavailable,
    Fault::BadGatewayAfterApply,
    Fault::Delay(1_500),
    Fault::SlowBody,
    Fault::PartialResponse,
];

/// The per-attempt timeout of the clients here: well under [`Fault::Delay`].
const TIMEOUT: StdDuration = StdDuration::from_millis(500);

fn client(world: &World, proxy: &Proxy, retry: RetryPolicy) -> PartnerClient {
    let config = ApiConfig::parse(&proxy.url())
        .expect("url")
        .with_clock(world.clock.clone())
        .with_timeout(TIMEOUT)
        .with_retry(retry);
    PartnerClient::new(config, world.p.a.client_id.clone(), world.p.a.client_secret.clone()).expect("client")
}

fn retrying() -> RetryPolicy {
    RetryPolicy::new(4, StdDuration::from_millis(1), StdDuration::from_millis(5))
}

/// The error a single attempt must end in under `fault`, or `None` when the call succeeds anyway.
fn expected_error(fault: Fault, error: Option<&ApiError>) -> bool {
    match (fault, error) {
        (Fault::SlowBody, None) => true,
        (Fault::HangUpAfterApply | Fault::ResetBeforeForward | Fault::PartialResponse, Some(error)) => {
            matches!(error, ApiError::Network { kind: NetworkErrorKind::ConnectionLost, attempts: 1, .. })
        }
        (Fault::GatewayUnavailable, Some(ApiError::Server { status, .. })) => *status == 503,
        (Fault::BadGatewayAfterApply, Some(ApiError::Server { status, .. })) => *status == 502,
        (Fault::Delay(_), Some(error)) => {
            matches!(error, ApiError::Network { kind: NetworkErrorKind::Timeout, attempts: 1, .. })
        }
        _ => false,
    }
}

#[tokio::test]
async fn an_invite_through_any_fault_grants_once_with_retries_and_names_the_fault_without() {
    let world = World::start().await;
    let d = &world.p.doors;
    for (n, &fault) in FAULTS.iter().enumerate() {
        // Two faults in a row, then the network heals: the third attempt gets through.
        let proxy = Proxy::with_fault(&world.base_url(), Some("POST /access/sdk/v2/users"), fault, 2).await;
        let email = format!("retry{n}@example.com");
        let view = client(&world, &proxy, retrying())
            .create_user_v2(&permanent(&email, &[&d.lobby, &d.gym], world.now()))
            .await
            .unwrap_or_else(|error| panic!("{fault:?}: the retried invite fails: {error:?}"));
        let stored = world.manager.user(&view.user_uuid).await.expect("user");
        assert_eq!(stored.accesses.len(), 2, "{fault:?}: granted once");
        let welcomes = world.messages_to(&email).await;
        assert_eq!(welcomes.len(), 1, "{fault:?}: one email: {welcomes:?}");
        assert_eq!(welcomes[0].kind, MessageKind::Welcome);

        let proxy = Proxy::with_fault(&world.base_url(), Some("POST /access/sdk/v2/users"), fault, 1).await;
        let email = format!("once{n}@example.com");
        let outcome = client(&world, &proxy, RetryPolicy::none())
            .create_user_v2(&permanent(&email, &[&d.lobby], world.now()))
            .await;
        assert!(expected_error(fault, outcome.as_ref().err()), "{fault:?} without retries: {outcome:?}");
        let applied = !world.messages_to(&email).await.is_empty();
        let reached_backend = !matches!(fault, Fault::ResetBeforeForward | Fault::GatewayUnavailable);
        assert_eq!(applied, reached_backend, "{fault:?}: applied only if the backend saw it");
    }
}

#[tokio::test]
async fn reads_patches_revokes_and_token_fetches_survive_every_fault() {
    let world = World::start().await;
    let d = &world.p.doors;
    for (n, &fault) in FAULTS.iter().enumerate() {
        let email = format!("guest{n}@example.com");
        let user = world
            .a
            .create_user_v2(&permanent(&email, &[&d.lobby, &d.gym], world.now()))
            .await
            .expect("invite");
        let end = world.now() + chrono::Duration::days(30);
        let patch = PatchAccessRequest { shareable: Some(true), end_time: Some(end) };
        let calls = [
            "POST /v1/oauth/token",
            "GET /access/sdk/v1/doors",
            "PATCH /access/sdk/v1/users/",
            "DELETE /access/sdk/v1/users/",
        ];
        for prefix in calls {
            let proxy = Proxy::with_fault(&world.base_url(), Some(prefix), fault, 2).await;
            let c = client(&world, &proxy, retrying());
            let outcome = match prefix {
                "POST /v1/oauth/token" | "GET /access/sdk/v1/doors" => {
                    c.list_doors(&DoorsQuery::default()).await.map(|page| assert_eq!(page.doors.len(), 8))
                }
                "PATCH /access/sdk/v1/users/" => {
                    c.patch_access(&user.user_uuid, &d.lobby.uuid, &patch).await.map(|view| {
                        let access =
                            view.accesses.iter().find(|a| a.door_uuid == d.lobby.uuid).expect("lobby");
                        assert!(
                            access.shareable && access.end_time == Some(end),
                            "{fault:?}: patched: {access:?}"
                        );
                    })
                }
                _ => c.revoke_access(&user.user_uuid, &d.gym.uuid).await,
            };
            outcome.unwrap_or_else(|error| panic!("{fault:?} on {prefix}: {error:?}"));
            assert!(proxy.faults() >= 1, "{fault:?} on {prefix}: the fault struck");
        }
        let stored = world.a.get_user(&user.user_uuid).await.expect("user");
        let doors: Vec<&str> = stored.accesses.iter().map(|a| a.door_uuid.as_str()).collect();
        assert_eq!(doors, [d.lobby.uuid.as_str()], "{fault:?}: the gym revoked once, the lobby kept");
    }
}
