//! [`AuthClient`]: the user-scoped (passwordless) sign-in of the auth endpoints, run by a partner backend.
//!
//! `POST /passwordless/start` sends a one-time code to the user's email; `POST /v1/oauth/token` with the
//! otp grant exchanges it for a [`UserSession`], and with the refresh-token grant renews it. This module
//! holds the client secret and so belongs on partner backends, never in an app. Partner (client
//! credentials) tokens are [`super::TokenSource`]'s job.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use reqwest::Method;

use super::http::Http;
use super::tokens::{request_token, seconds};
use super::{ApiConfig, ApiError, TokenSource};
use crate::SecretString;
use crate::model::validation::validate_email;
use crate::model::{PasswordlessStartRequest, PasswordlessStartResponse, TokenRequest, TokenResponse};

/// The scope asked for with the one-time code: `offline_access` brings a refresh token.
pub const USER_SCOPE: &str = "openid profile email offline_access";

/// A signed-in user's tokens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserSession {
    /// The user-scoped bearer token (what the mobile SDK is set up with).
    pub access_token: SecretString,
    /// Trades for a new access token; keep it on the partner backend.
    pub refresh_token: SecretString,
    /// When `access_token` expires, by the client's clock.
    pub expires_at: DateTime<Utc>,
}

/// The passwordless sign-in of one partner application. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AuthClient {
    http: Arc<Http>,
    client_id: String,
    client_secret: SecretString,
}

impl AuthClient {
    /// A client for the partner application `client_id`.
    pub fn new(
        config: ApiConfig,
        client_id: impl Into<String>,
        client_secret: impl Into<SecretString>,
    ) -> Result<AuthClient, ApiError> {
        Ok(AuthClient {
            http: Arc::new(Http::new(&config)?),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
        })
    }

    /// The partner application's client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// `POST /passwordless/start`: emails a one-time code to `email`. An unknown email is refused by the
    /// backend with 400 `extensibility_error`; a malformed one fails here and nothing is sent.
    pub async fn passwordless_start(&self, email: &str) -> Result<PasswordlessStartResponse, ApiError> {
        validate_email(email)?;
        let request = PasswordlessStartRequest {
            client_id: self.client_id.clone(),
            client_secret: self.client_secret.clone(),
            email: email.to_owned(),
            connection: "email".to_owned(),
            send: "code".to_owned(),
        };
        let call = self.http.call(Method::POST, &["passwordless", "start"])?.json(&request)?;
        self.http.json(call, None).await
    }

    /// Exchanges the one-time code the user received for a session. A wrong or expired code is
    /// [`ApiError::Forbidden`] with code `invalid_grant`.
    pub async fn exchange_otp(
        &self,
        email: &str,
        otp: impl Into<SecretString>,
    ) -> Result<UserSession, ApiError> {
        validate_email(email)?;
        let request = TokenRequest::PasswordlessOtp {
            client_id: self.client_id.clone(),
            client_secret: self.client_secret.clone(),
            username: email.to_owned(),
            otp: otp.into(),
            realm: "email".to_owned(),
            scope: USER_SCOPE.to_owned(),
        };
        let response = request_token(&self.http, &request).await?;
        self.session(response, None)
    }

    /// Trades a refresh token for a new session (the refresh token is kept when the backend does not rotate
    /// it). A revoked or unknown one is [`ApiError::Forbidden`] with code `invalid_grant`.
    pub async fn refresh(&self, refresh_token: &SecretString) -> Result<UserSession, ApiError> {
        let request = TokenRequest::RefreshToken {
            client_id: self.client_id.clone(),
            refresh_token: refresh_token.clone(),
        };
        let response = request_token(&self.http, &request).await?;
        self.session(response, Some(refresh_token))
    }

    /// A [`TokenSource`] that keeps `session` fresh, for clients of the user-scoped endpoints.
    pub fn token_source(&self, session: &UserSession) -> TokenSource {
        TokenSource::from_session(self.client_id.clone(), session)
    }

    fn session(
        &self,
        response: TokenResponse,
        previous: Option<&SecretString>,
    ) -> Result<UserSession, ApiError> {
        let expires_at = self.http.clock().now() + seconds(response.expires_in);
        let refresh_token =
            response.refresh_token.or_else(|| previous.cloned()).ok_or_else(|| ApiError::Decode {
                endpoint: "POST /v1/oauth/token".to_owned(),
                status: Some(200),
                message: "the token response has no refresh_token".to_owned(),
            })?;
        Ok(UserSession { access_token: response.access_token, refresh_token, expires_at })
    }
}
