//! [`PartnerClient`]: the partner REST API (users, accesses, doors, buildings, residents, events, webhook
//! endpoints) with a partner-scoped token.
//!
//! One method per endpoint plus page walkers. Requests are validated here with the rules of
//! [`crate::model::validation`] before anything is sent; sending, retrying and token handling are
//! [`super::http`]'s and [`super::tokens`]'s job.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use reqwest::Method;

use super::http::Http;
use super::{ApiConfig, ApiError, TokenSource};
use crate::SecretString;
use crate::model::validation::{validate_create_user, validate_patch};
use crate::model::{
    BuildingsResponse, CreateUserRequest, CreateUserV1Response, CreateWebhookEndpointRequest, DoorView,
    DoorsPage, EventType, EventsPage, PageQuery, PatchAccessRequest, PatchWebhookEndpointRequest,
    ReplayWebhookRequest, ReplayWebhookResponse, ResidentsResponse, RotateWebhookSecretRequest,
    RotatedWebhookSecret, UserView, UsersPage, WebhookAttemptsResponse, WebhookEndpointView,
    WebhookEndpointsResponse,
};

const SDK: [&str; 3] = ["access", "sdk", "v1"];

/// The page size [`PartnerClient::all_users`] and [`PartnerClient::all_doors`] walk with.
pub const WALK_PAGE_SIZE: u32 = 200;

/// The query of `GET /access/sdk/v1/doors`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DoorsQuery {
    /// Paging.
    pub page: PageQuery,
    /// Only the doors of this building.
    pub building_uuid: Option<String>,
}

/// The query of `GET /access/sdk/v1/events`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventsQuery {
    /// A `nextCursor` from an earlier page; none starts at the oldest event kept.
    pub after: Option<String>,
    /// Only these types; empty for every type.
    pub types: Vec<EventType>,
    /// Only the events of this door.
    pub door_uuid: Option<String>,
    /// Events per page (1 to 100; 100 when none).
    pub page_size: Option<u32>,
}

/// A client of the partner REST API. Cheap to clone; clones share the connection pool and the token.
#[derive(Clone, Debug)]
pub struct PartnerClient {
    http: Arc<Http>,
    tokens: TokenSource,
}

impl PartnerClient {
    /// A client that fetches its partner token with the client-credentials grant.
    pub fn new(
        config: ApiConfig,
        client_id: impl Into<String>,
        client_secret: impl Into<SecretString>,
    ) -> Result<PartnerClient, ApiError> {
        PartnerClient::with_token_source(config, TokenSource::client_credentials(client_id, client_secret))
    }

    /// A client with any token source (for instance one shared with another client).
    pub fn with_token_source(config: ApiConfig, tokens: TokenSource) -> Result<PartnerClient, ApiError> {
        Ok(PartnerClient { http: Arc::new(Http::new(&config)?), tokens })
    }

    /// The token source (to inspect the cached token's expiry).
    pub fn token_source(&self) -> &TokenSource {
        &self.tokens
    }

    fn path<'a>(rest: &[&'a str]) -> Vec<&'a str> {
        SDK.iter().copied().chain(rest.iter().copied()).collect()
    }

    /// `POST /access/sdk/v1/users`: invites a user (or finds them) and grants access; the response names
    /// the user and the doors. The request is validated first.
    pub async fn create_user_v1(
        &self,
        request: &CreateUserRequest,
    ) -> Result<CreateUserV1Response, ApiError> {
        validate_create_user(request, self.http.clock().now())?;
        let call = self.http.call(Method::POST, &Self::path(&["users"]))?.json(request)?;
        self.http.json(call, Some(&self.tokens)).await
    }

    /// `POST /access/sdk/v2/users`: like v1, but returns the user with accesses and (for non-resident
    /// roles) doorcodes. The request is validated first.
    pub async fn create_user_v2(&self, request: &CreateUserRequest) -> Result<UserView, ApiError> {
        validate_create_user(request, self.http.clock().now())?;
        let call = self.http.call(Method::POST, &["access", "sdk", "v2", "users"])?.json(request)?;
        self.http.json(call, Some(&self.tokens)).await
    }

    /// `GET /access/sdk/v1/users`: one page of the users this partner granted access to.
    pub async fn list_users(&self, page: &PageQuery) -> Result<UsersPage, ApiError> {
        let call = self
            .http
            .call(Method::GET, &Self::path(&["users"]))?
            .query("pageSize", page.page_size)
            .query("pageToken", page.page_token.as_deref());
        self.http.json(call, Some(&self.tokens)).await
    }

    /// Every user, walking the pages.
    pub async fn all_users(&self) -> Result<Vec<UserView>, ApiError> {
        let mut users = Vec::new();
        let mut page = PageQuery { page_size: Some(WALK_PAGE_SIZE), page_token: None };
        loop {
            let result = self.list_users(&page).await?;
            users.extend(result.users);
            match next_page(&page, result.next_page_token, "GET /access/sdk/v1/users")? {
                Some(token) => page.page_token = Some(token),
                None => return Ok(users),
            }
        }
    }

    /// `GET /access/sdk/v1/users/:user`.
    pub async fn get_user(&self, user_uuid: &str) -> Result<UserView, ApiError> {
        let call = self.http.call(Method::GET, &Self::path(&["users", user_uuid]))?;
        self.http.json(call, Some(&self.tokens)).await
    }

    /// `PATCH /access/sdk/v1/users/:user/doors/:door`: changes shareability and the end of a permanent
    /// access. `end_time: None` removes the expiry (the spec's quirk): to keep the current end, send it
    /// again. An `end_time` not after now fails here and nothing is sent (the backend also checks it is
    /// after the access's start).
    pub async fn patch_access(
        &self,
        user_uuid: &str,
        door_uuid: &str,
        request: &PatchAccessRequest,
    ) -> Result<UserView, ApiError> {
        // The access's start is not known here; the backend checks it.
        validate_patch(request.end_time, DateTime::<Utc>::MIN_UTC, self.http.clock().now())?;
        let call = self
            .http
            .call(Method::PATCH, &Self::path(&["users", user_uuid, "doors", door_uuid]))?
            .json(request)?;
        self.http.json(call, Some(&self.tokens)).await
    }

    /// `DELETE /access/sdk/v1/users/:user/doors/:door`: revokes the access this partner granted.
    pub async fn revoke_access(&self, user_uuid: &str, door_uuid: &str) -> Result<(), ApiError> {
        let call = self.http.call(Method::DELETE, &Self::path(&["users", user_uuid, "doors", door_uuid]))?;
        self.http.empty(call, Some(&self.tokens)).await
    }

    /// `GET /access/sdk/v1/doors`: one page of the doors enabled for this partner.
    pub async fn list_doors(&self, query: &DoorsQuery) -> Result<DoorsPage, ApiError> {
        let call = self
            .http
            .call(Method::GET, &Self::path(&["doors"]))?
            .query("pageSize", query.page.page_size)
            .query("pageToken", query.page.page_token.as_deref())
            .query("buildingUuid", query.building_uuid.as_deref());
        self.http.json(call, Some(&self.tokens)).await
    }

    /// Every door (of one building, if given), walking the pages.
    pub async fn all_doors(&self, building_uuid: Option<&str>) -> Result<Vec<DoorView>, ApiError> {
        let mut doors = Vec::new();
        let mut query = DoorsQuery {
            page: PageQuery { page_size: Some(WALK_PAGE_SIZE), page_token: None },
            building_uuid: building_uuid.map(str::to_owned),
        };
        loop {
            let result = self.list_doors(&query).await?;
            doors.extend(result.doors);
            match next_page(&query.page, result.next_page_token, "GET /access/sdk/v1/doors")? {
                Some(token) => query.page.page_token = Some(token),
                None => return Ok(doors),
            }
        }
    }

    /// `GET /access/sdk/v1/buildings`: the buildings holding a door usable by this partner.
    pub async fn buildings(&self) -> Result<BuildingsResponse, ApiError> {
        let call = self.http.call(Method::GET, &Self::path(&["buildings"]))?;
        self.http.json(call, Some(&self.tokens)).await
    }

    /// `GET /access/sdk/v1/buildings/:building/residents`.
    pub async fn residents(&self, building_uuid: &str) -> Result<ResidentsResponse, ApiError> {
        let call = self.http.call(Method::GET, &Self::path(&["buildings", building_uuid, "residents"]))?;
        self.http.json(call, Some(&self.tokens)).await
    }

    /// `GET /access/sdk/v1/events`: one page of this partner's events after `query.after`, oldest first.
    /// Read on with the page's `nextCursor`; an empty page's cursor is the same position, so polling with
    /// it never skips or repeats an event.
    pub async fn list_events(&self, query: &EventsQuery) -> Result<EventsPage, ApiError> {
        let types = (!query.types.is_empty())
            .then(|| query.types.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(","));
        let call = self
            .http
            .call(Method::GET, &Self::path(&["events"]))?
            .query("after", query.after.as_deref())
            .query("types", types.as_deref())
            .query("doorUuid", query.door_uuid.as_deref())
            .query("pageSize", query.page_size);
        self.http.json(call, Some(&self.tokens)).await
    }

    /// `POST /access/sdk/v1/webhooks/endpoints`: registers an endpoint; the answer holds its secret (the
    /// only answer that does).
    pub async fn create_webhook_endpoint(
        &self,
        request: &CreateWebhookEndpointRequest,
    ) -> Result<WebhookEndpointView, ApiError> {
        let call = self.http.call(Method::POST, &Self::path(&["webhooks", "endpoints"]))?.json(request)?;
        self.http.json(call, Some(&self.tokens)).await
    }

    /// `GET /access/sdk/v1/webhooks/endpoints`: every endpoint of this partner, without secrets.
    pub async fn list_webhook_endpoints(&self) -> Result<WebhookEndpointsResponse, ApiError> {
        let call = self.http.call(Method::GET, &Self::path(&["webhooks", "endpoints"]))?;
        self.http.json(call, Some(&self.tokens)).await
    }

    /// `PATCH /access/sdk/v1/webhooks/endpoints/:endpoint`: changes the fields given (`enabled: true`
    /// enables a disabled endpoint again).
    pub async fn patch_webhook_endpoint(
        &self,
        endpoint_uuid: &str,
        request: &PatchWebhookEndpointRequest,
    ) -> Result<WebhookEndpointView, ApiError> {
        let call = self
            .http
            .call(Method::PATCH, &Self::path(&["webhooks", "endpoints", endpoint_uuid]))?
            .json(request)?;
        self.http.json(call, Some(&self.tokens)).await
    }

    /// `DELETE /access/sdk/v1/webhooks/endpoints/:endpoint`.
    pub async fn delete_webhook_endpoint(&self, endpoint_uuid: &str) -> Result<(), ApiError> {
        let call = self.http.call(Method::DELETE, &Self::path(&["webhooks", "endpoints", endpoint_uuid]))?;
        self.http.empty(call, Some(&self.tokens)).await
    }

    /// `POST …/:endpoint/rotate-secret`: a new secret; the old one keeps signing for 24 hours.
    pub async fn rotate_webhook_secret(
        &self,
        endpoint_uuid: &str,
        request: &RotateWebhookSecretRequest,
    ) -> Result<RotatedWebhookSecret, ApiError> {
        let path = Self::path(&["webhooks", "endpoints", endpoint_uuid, "rotate-secret"]);
        let call = self.http.call(Method::POST, &path)?.json(request)?;
        self.http.json(call, Some(&self.tokens)).await
    }

    /// `GET …/:endpoint/attempts`: the delivery log, newest first.
    pub async fn webhook_attempts(&self, endpoint_uuid: &str) -> Result<WebhookAttemptsResponse, ApiError> {
        let call = self
            .http
            .call(Method::GET, &Self::path(&["webhooks", "endpoints", endpoint_uuid, "attempts"]))?;
        self.http.json(call, Some(&self.tokens)).await
    }

    /// `POST …/:endpoint/replay`: queues one event, or a time range of events, again.
    pub async fn replay_webhooks(
        &self,
        endpoint_uuid: &str,
        request: &ReplayWebhookRequest,
    ) -> Result<ReplayWebhookResponse, ApiError> {
        let path = Self::path(&["webhooks", "endpoints", endpoint_uuid, "replay"]);
        let call = self.http.call(Method::POST, &path)?.json(request)?;
        self.http.json(call, Some(&self.tokens)).await
    }
}

/// The token of the next page, refusing a server that hands back the token it was just given (which would
/// loop forever).
fn next_page(current: &PageQuery, next: Option<String>, endpoint: &str) -> Result<Option<String>, ApiError> {
    match next {
        Some(token) if current.page_token.as_deref() == Some(token.as_str()) => Err(ApiError::Decode {
            endpoint: endpoint.to_owned(),
            status: Some(200),
            message: format!("nextPageToken {token:?} repeats the token of the page it came with"),
        }),
        next => Ok(next),
    }
}
