//! Signing a user in: [`AuthClient`] (passwordless one-time code, for a partner backend or a test) and
//! [`UserSession`] (the tokens a `DoorClient` is set up with, never printed).

use std::fmt;
use std::sync::Arc;

use latchkey::SecretString;
use latchkey::api::{ApiConfig, AuthClient as CoreAuthClient, UserSession as CoreSession};

use crate::error::LatchkeyError;
use crate::models::Timestamp;
use crate::runtime::run;

/// A signed-in user's tokens. `toString()` never shows them.
#[derive(uniffi::Object)]
#[uniffi::export(Debug)]
pub struct UserSession(pub(crate) CoreSession);

impl fmt::Debug for UserSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserSession").field("expires_at", &self.0.expires_at).finish_non_exhaustive()
    }
}

#[uniffi::export]
impl UserSession {
    /// A session from tokens the partner's backend handed to the app (it signed the user in with the
    /// client secret, which never reaches the phone).
    #[uniffi::constructor]
    pub fn new(access_token: String, refresh_token: String, expires_at: Timestamp) -> Arc<UserSession> {
        Arc::new(UserSession(CoreSession {
            access_token: SecretString::new(access_token),
            refresh_token: SecretString::new(refresh_token),
            expires_at,
        }))
    }

    /// When the access token expires.
    pub fn expires_at(&self) -> Timestamp {
        self.0.expires_at
    }

    /// The access token, to hand to the app (from a partner backend). Never log it.
    pub fn access_token(&self) -> String {
        self.0.access_token.expose().to_owned()
    }

    /// The refresh token, to hand to the app (from a partner backend). Never log it.
    pub fn refresh_token(&self) -> String {
        self.0.refresh_token.expose().to_owned()
    }
}

/// The passwordless sign-in of one partner application. It holds the client secret, so it belongs on a
/// partner backend (or in tests against the simulator), never in a shipped app.
#[derive(uniffi::Object)]
pub struct AuthClient(CoreAuthClient);

#[uniffi::export]
impl AuthClient {
    /// A client of the backend at `base_url` (such as `http://127.0.0.1:8787`) for the application
    /// `client_id`.
    #[uniffi::constructor]
    pub fn new(
        base_url: String,
        client_id: String,
        client_secret: String,
    ) -> Result<Arc<AuthClient>, LatchkeyError> {
        let config = ApiConfig::parse(&base_url)?;
        Ok(Arc::new(AuthClient(CoreAuthClient::new(config, client_id, SecretString::new(client_secret))?)))
    }

    /// Emails a one-time code to `email`. A malformed address fails here (`InvalidRequest`, field
    /// `email`) and nothing is sent.
    pub async fn passwordless_start(&self, email: String) -> Result<(), LatchkeyError> {
        let client = self.0.clone();
        run(async move {
            client.passwordless_start(&email).await?;
            Ok(())
        })
        .await
    }

    /// Exchanges the one-time code the user received for a session. A wrong or expired code fails with
    /// `NotSignedIn`.
    pub async fn exchange_otp(&self, email: String, otp: String) -> Result<Arc<UserSession>, LatchkeyError> {
        let client = self.0.clone();
        run(async move { Ok(Arc::new(UserSession(client.exchange_otp(&email, otp).await?))) }).await
    }

    /// Trades the session's refresh token for a new session.
    pub async fn refresh(&self, session: Arc<UserSession>) -> Result<Arc<UserSession>, LatchkeyError> {
        let client = self.0.clone();
        run(async move { Ok(Arc::new(UserSession(client.refresh(&session.0.refresh_token).await?))) }).await
    }
}
