//! [`ManagerClient`]: the customer's manager API (partners, buildings, doors, keys, invites, the
//! notification outbox) with the manager's static bearer token.
//!
//! One method per endpoint, nothing more: sending and retrying are [`super::http`]'s job. The static token
//! is never refreshed, so a 401 is returned as [`ApiError::Unauthorized`] at once.

use std::sync::Arc;

use reqwest::Method;

use super::http::Http;
use super::{ApiConfig, ApiError, TokenSource};
use crate::SecretString;
use crate::model::{
    ActivateDoorRequest, AssignKeyRequest, BuildingView, CreateBuildingRequest, CreateDoorRequest,
    CreateKeyRequest, CreatePartnerRequest, DoorView, KeyView, ManagerInviteRequest, ManagerUserView,
    OutboxResponse, PartnerCredentials,
};

const MANAGER: [&str; 2] = ["manager", "v1"];

/// A client of the manager API. Cheap to clone.
#[derive(Clone, Debug)]
pub struct ManagerClient {
    http: Arc<Http>,
    tokens: TokenSource,
}

impl ManagerClient {
    /// A client sending `manager_token` (such as the simulator's `dev-manager-token`) as its bearer.
    pub fn new(config: ApiConfig, manager_token: impl Into<SecretString>) -> Result<ManagerClient, ApiError> {
        Ok(ManagerClient { http: Arc::new(Http::new(&config)?), tokens: TokenSource::fixed(manager_token) })
    }

    fn path<'a>(rest: &[&'a str]) -> Vec<&'a str> {
        MANAGER.iter().copied().chain(rest.iter().copied()).collect()
    }

    async fn post<T: serde::de::DeserializeOwned>(
        &self,
        path: &[&str],
        body: Option<&(impl serde::Serialize + Sync)>,
    ) -> Result<T, ApiError> {
        let mut call = self.http.call(Method::POST, &Self::path(path))?;
        if let Some(body) = body {
            call = call.json(body)?;
        }
        self.http.json(call, Some(&self.tokens)).await
    }

    /// `POST /manager/v1/partners`: a partner and its credentials (the secret is shown only here).
    pub async fn create_partner(
        &self,
        request: &CreatePartnerRequest,
    ) -> Result<PartnerCredentials, ApiError> {
        self.post(&["partners"], Some(request)).await
    }

    /// `POST /manager/v1/buildings`.
    pub async fn create_building(&self, request: &CreateBuildingRequest) -> Result<BuildingView, ApiError> {
        self.post(&["buildings"], Some(request)).await
    }

    /// `POST /manager/v1/doors`.
    pub async fn create_door(&self, request: &CreateDoorRequest) -> Result<DoorView, ApiError> {
        self.post(&["doors"], Some(request)).await
    }

    /// `POST /manager/v1/doors/:door/activate`: the installer's step, which gives the door its lock.
    pub async fn activate_door(
        &self,
        door_uuid: &str,
        request: &ActivateDoorRequest,
    ) -> Result<DoorView, ApiError> {
        self.post(&["doors", door_uuid, "activate"], Some(request)).await
    }

    /// `POST /manager/v1/keys`.
    pub async fn create_key(&self, request: &CreateKeyRequest) -> Result<KeyView, ApiError> {
        self.post(&["keys"], Some(request)).await
    }

    /// `PUT /manager/v1/keys/:key/partner`: assigns the key to a partner ([`ApiError::Conflict`] if another
    /// partner owns it).
    pub async fn assign_key(&self, key_uuid: &str, request: &AssignKeyRequest) -> Result<KeyView, ApiError> {
        let call = self.http.call(Method::PUT, &Self::path(&["keys", key_uuid, "partner"]))?.json(request)?;
        self.http.json(call, Some(&self.tokens)).await
    }

    /// `POST /manager/v1/keys/:key/enable`.
    pub async fn enable_key(&self, key_uuid: &str) -> Result<KeyView, ApiError> {
        self.post(&["keys", key_uuid, "enable"], None::<&()>).await
    }

    /// `POST /manager/v1/users`: the property manager invites a user with a key.
    pub async fn invite_user(&self, request: &ManagerInviteRequest) -> Result<ManagerUserView, ApiError> {
        self.post(&["users"], Some(request)).await
    }

    /// `GET /manager/v1/users/:user`: a user with every access, whoever granted it
    /// ([`ApiError::NotFound`] for an unknown user).
    pub async fn user(&self, user_uuid: &str) -> Result<ManagerUserView, ApiError> {
        let call = self.http.call(Method::GET, &Self::path(&["users", user_uuid]))?;
        self.http.json(call, Some(&self.tokens)).await
    }

    /// `GET /manager/v1/outbox`: every email and SMS the backend "sent", one-time codes and doorcodes
    /// included.
    pub async fn outbox(&self) -> Result<OutboxResponse, ApiError> {
        let call = self.http.call(Method::GET, &Self::path(&["outbox"]))?;
        self.http.json(call, Some(&self.tokens)).await
    }
}
