//! [`UserClient`]: the user-scoped API (`/access/sdk/v1/me/…`) a phone calls with the signed-in user's
//! token: device key registration, locks with credentials, sync data, log upload, access logs and guests.
//!
//! One method per endpoint: sending, retrying (POSTs with one idempotency key per logical call) and the
//! refresh after a 401 are [`super::http`]'s and [`super::tokens`]'s job.

use std::sync::Arc;

use reqwest::Method;

use super::http::Http;
use super::{ApiConfig, ApiError, TokenSource};
use crate::model::validation::validate_guest_invite;
use crate::model::{
    AccessLogsResponse, GuestsResponse, InviteGuestRequest, InviteGuestsResponse, LocksResponse,
    RegisterDeviceRequest, SyncDataView, UploadLogsRequest, UploadLogsResponse, me,
};

const ME: [&str; 4] = ["access", "sdk", "v1", "me"];

/// A client of the user-scoped API. Cheap to clone (clones share the connection pool and the token);
/// `Send + Sync`.
#[derive(Clone, Debug)]
pub struct UserClient {
    http: Arc<Http>,
    tokens: TokenSource,
}

impl UserClient {
    /// A client sending the user token of `tokens` (see [`TokenSource::user`] and
    /// [`super::AuthClient::token_source`]).
    pub fn new(config: ApiConfig, tokens: TokenSource) -> Result<UserClient, ApiError> {
        Ok(UserClient { http: Arc::new(Http::new(&config)?), tokens })
    }

    /// The token source (to persist a refreshed session or inspect its expiry).
    pub fn token_source(&self) -> &TokenSource {
        &self.tokens
    }

    fn path<'a>(rest: &[&'a str]) -> Vec<&'a str> {
        ME.iter().copied().chain(rest.iter().copied()).collect()
    }

    /// `POST /access/sdk/v1/me/devices`: registers this phone's public key (idempotent: the same key
    /// returns the same device).
    pub async fn register_device(&self, request: &RegisterDeviceRequest) -> Result<me::DeviceView, ApiError> {
        let call = self.http.call(Method::POST, &Self::path(&["devices"]))?.json(request)?;
        self.http.json(call, Some(&self.tokens)).await
    }

    /// `GET /access/sdk/v1/me/locks`: the doors the user may open now. With `device_uuid` (one of the user's
    /// registered devices), PERMANENT accesses on activated doors carry a BLE credential for that device.
    pub async fn locks(&self, device_uuid: Option<&str>) -> Result<LocksResponse, ApiError> {
        let call = self.http.call(Method::GET, &Self::path(&["locks"]))?.query("deviceUuid", device_uuid);
        self.http.json(call, Some(&self.tokens)).await
    }

    /// `GET /access/sdk/v1/me/locks/:door/sync?afterSeq=`: the signed deltas after `after_seq` and a fresh
    /// time token, for the phone to carry to the lock.
    pub async fn sync_data(&self, door_uuid: &str, after_seq: u64) -> Result<SyncDataView, ApiError> {
        let call = self
            .http
            .call(Method::GET, &Self::path(&["locks", door_uuid, "sync"]))?
            .query("afterSeq", Some(after_seq));
        self.http.json(call, Some(&self.tokens)).await
    }

    /// `POST /access/sdk/v1/me/locks/:door/logs`: uploads the sealed log batches read from the lock. Safe to
    /// repeat: batches already stored come back as `duplicates`.
    pub async fn upload_logs(
        &self,
        door_uuid: &str,
        request: &UploadLogsRequest,
    ) -> Result<UploadLogsResponse, ApiError> {
        let call = self.http.call(Method::POST, &Self::path(&["locks", door_uuid, "logs"]))?.json(request)?;
        self.http.json(call, Some(&self.tokens)).await
    }

    /// `GET /access/sdk/v1/me/locks/:door/access-logs`: the entries about the user and their guests.
    pub async fn access_logs(&self, door_uuid: &str) -> Result<AccessLogsResponse, ApiError> {
        let call = self.http.call(Method::GET, &Self::path(&["locks", door_uuid, "access-logs"]))?;
        self.http.json(call, Some(&self.tokens)).await
    }

    /// `POST /access/sdk/v1/me/guests`: invites a guest to doors the user may share. The request is
    /// validated first (the rules of a partner invite with role NON_RESIDENT, not shareable); the response
    /// says door by door what was granted.
    pub async fn invite_guests(
        &self,
        request: &InviteGuestRequest,
    ) -> Result<InviteGuestsResponse, ApiError> {
        validate_guest_invite(request, self.http.clock().now())?;
        let call = self.http.call(Method::POST, &Self::path(&["guests"]))?.json(request)?;
        self.http.json(call, Some(&self.tokens)).await
    }

    /// `GET /access/sdk/v1/me/guests`: the guests the user invited, with the accesses the user granted.
    pub async fn guests(&self) -> Result<GuestsResponse, ApiError> {
        let call = self.http.call(Method::GET, &Self::path(&["guests"]))?;
        self.http.json(call, Some(&self.tokens)).await
    }

    /// `DELETE /access/sdk/v1/me/guests/:guest/doors/:door`: revokes the access the user granted a guest.
    pub async fn revoke_guest_access(&self, guest_uuid: &str, door_uuid: &str) -> Result<(), ApiError> {
        let call =
            self.http.call(Method::DELETE, &Self::path(&["guests", guest_uuid, "doors", door_uuid]))?;
        self.http.empty(call, Some(&self.tokens)).await
    }
}
