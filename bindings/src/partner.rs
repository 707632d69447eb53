//! [`PartnerClient`]: the partner API (users and their door access, doors, buildings, residents) for apps
//! and tools that act as a partner backend. It holds the client secret: not for shipped phone apps.

use std::sync::Arc;

use latchkey::SecretString;
use latchkey::api::{ApiConfig, PartnerClient as CorePartnerClient};
use latchkey::model::{BuildingView, CreateUserRequest, DoorView, PatchAccessRequest, ResidentView};

use crate::error::LatchkeyError;
use crate::models::{Timestamp, User};
use crate::runtime::run;

/// A client of the partner REST API with a partner token fetched (and refreshed) by client credentials.
/// Every request is checked before it is sent: a broken rule fails with `InvalidRequest` naming the field.
#[derive(uniffi::Object)]
pub struct PartnerClient(CorePartnerClient);

#[uniffi::export]
impl PartnerClient {
    /// A client of the backend at `base_url` with the partner's credentials.
    #[uniffi::constructor]
    pub fn new(
        base_url: String,
        client_id: String,
        client_secret: String,
    ) -> Result<Arc<PartnerClient>, LatchkeyError> {
        let config = ApiConfig::parse(&base_url)?;
        Ok(Arc::new(PartnerClient(CorePartnerClient::new(
            config,
            client_id,
            SecretString::new(client_secret),
        )?)))
    }

    /// Invites a user (or finds them by email, else phone) and grants access to doors; returns the user
    /// with accesses and, for non-resident roles, doorcodes (`POST /access/sdk/v2/users`).
    pub async fn create_user(&self, request: CreateUserRequest) -> Result<User, LatchkeyError> {
        let client = self.0.clone();
        run(async move { Ok(client.create_user_v2(&request).await?.into()) }).await
    }

    /// Every user this partner granted access to.
    pub async fn users(&self) -> Result<Vec<User>, LatchkeyError> {
        let client = self.0.clone();
        run(async move { Ok(client.all_users().await?.into_iter().map(User::from).collect()) }).await
    }

    /// One user (`NotFound` for an unknown one).
    pub async fn user(&self, user_uuid: String) -> Result<User, LatchkeyError> {
        let client = self.0.clone();
        run(async move { Ok(client.get_user(&user_uuid).await?.into()) }).await
    }

    /// Changes a permanent access: `shareable` (null keeps it) and its end. `end_time` null removes the
    /// expiry (the API's documented behaviour): to keep the current end, pass it again.
    pub async fn patch_access(
        &self,
        user_uuid: String,
        door_uuid: String,
        shareable: Option<bool>,
        end_time: Option<Timestamp>,
    ) -> Result<User, LatchkeyError> {
        let client = self.0.clone();
        run(async move {
            let request = PatchAccessRequest { shareable, end_time };
            Ok(client.patch_access(&user_uuid, &door_uuid, &request).await?.into())
        })
        .await
    }

    /// Revokes the access this partner granted (`NotFound` if there is none).
    pub async fn revoke_access(&self, user_uuid: String, door_uuid: String) -> Result<(), LatchkeyError> {
        let client = self.0.clone();
        run(async move { Ok(client.revoke_access(&user_uuid, &door_uuid).await?) }).await
    }

    /// Every door this partner may use (of one building, if given).
    pub async fn doors(&self, building_uuid: Option<String>) -> Result<Vec<DoorView>, LatchkeyError> {
        let client = self.0.clone();
        run(async move { Ok(client.all_doors(building_uuid.as_deref()).await?) }).await
    }

    /// The buildings holding a door this partner may use.
    pub async fn buildings(&self) -> Result<Vec<BuildingView>, LatchkeyError> {
        let client = self.0.clone();
        run(async move { Ok(client.buildings().await?.buildings) }).await
    }

    /// The residents of a building.
    pub async fn residents(&self, building_uuid: String) -> Result<Vec<ResidentView>, LatchkeyError> {
        let client = self.0.clone();
        run(async move { Ok(client.residents(&building_uuid).await?.residents) }).await
    }
}
