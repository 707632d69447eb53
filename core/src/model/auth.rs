//! The bodies of the auth endpoints (`POST /v1/oauth/token`, `POST /passwordless/start`), shaped like the
//! real (Auth0-based) service.

use serde::{Deserialize, Serialize};

use crate::SecretString;

/// The body of `POST /v1/oauth/token`, one variant per grant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "grant_type")]
pub enum TokenRequest {
    /// Partner-scoped, machine to machine.
    #[serde(rename = "client_credentials")]
    ClientCredentials {
        /// The partner's client id.
        client_id: String,
        /// The partner's client secret.
        client_secret: SecretString,
        /// Must be [`super::PARTNER_AUDIENCE`].
        audience: String,
    },
    /// User-scoped: exchange the one-time code the user received.
    #[serde(rename = "http://auth0.com/oauth/grant-type/passwordless/otp")]
    PasswordlessOtp {
        /// The partner's client id.
        client_id: String,
        /// The partner's client secret.
        client_secret: SecretString,
        /// The user's email.
        username: String,
        /// The one-time code.
        otp: SecretString,
        /// Always `email`.
        realm: String,
        /// `openid profile email offline_access` (the default when empty or left out).
        #[serde(default)]
        scope: String,
    },
    /// Trade a refresh token for a new access token.
    #[serde(rename = "refresh_token")]
    RefreshToken {
        /// The partner's client id.
        client_id: String,
        /// The refresh token of an earlier user-token response.
        refresh_token: SecretString,
    },
}

/// The response of `POST /v1/oauth/token`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    /// The bearer token.
    pub access_token: SecretString,
    /// Seconds until it expires.
    pub expires_in: u64,
    /// Always `Bearer`.
    pub token_type: String,
    /// For user tokens: the refresh token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<SecretString>,
    /// For user tokens: the granted scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// For user tokens: an OpenID identity token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<SecretString>,
}

/// The body of `POST /passwordless/start`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordlessStartRequest {
    /// The partner's client id.
    pub client_id: String,
    /// The partner's client secret.
    pub client_secret: SecretString,
    /// The user's email.
    pub email: String,
    /// Always `email`.
    pub connection: String,
    /// Always `code`.
    pub send: String,
}

/// The response of `POST /passwordless/start`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordlessStartResponse {
    /// The user's identifier.
    #[serde(rename = "_id")]
    pub id: String,
    /// The address the code was sent to.
    pub email: String,
    /// Whether the address was verified before.
    pub email_verified: bool,
}
