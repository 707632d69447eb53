//! The auth endpoints, shaped like the real (Auth0-based) service: `POST /v1/oauth/token` (client
//! credentials, passwordless one-time code, refresh token) and `POST /passwordless/start`.
//!
//! Client secrets, one-time codes and refresh tokens are stored only as SHA-256 hashes.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header::CONTENT_TYPE};
use axum::routing::post;
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use latchkey::SecretString;
use latchkey::model::{
    Channel, MessageKind, PARTNER_AUDIENCE, PasswordlessStartRequest, PasswordlessStartResponse,
    TokenRequest, TokenResponse, validation,
};
use rand::Rng;
use rusqlite::{OptionalExtension, params};

use super::issue_token;
use super::jwt::TokenKind;
use crate::backend::db::{get_ts, ts};
use crate::backend::directory::VISIBLE_DOORS;
use crate::backend::error::{AppError, AppResult};
use crate::backend::extract::parse_json;
use crate::backend::outbox;
use crate::backend::state::{AppState, hash_secret, random_bytes};

/// Wrong one-time codes allowed before the code is void.
const MAX_OTP_ATTEMPTS: i64 = 5;

/// The auth routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/v1/oauth/token", post(token)).route("/passwordless/start", post(passwordless_start))
}

fn denied(message: impl Into<String>) -> AppError {
    AppError::OAuth(StatusCode::UNAUTHORIZED, "access_denied", message.into())
}

fn invalid_request(message: impl Into<String>) -> AppError {
    AppError::OAuth(StatusCode::BAD_REQUEST, "invalid_request", message.into())
}

fn invalid_grant(message: impl Into<String>) -> AppError {
    AppError::OAuth(StatusCode::FORBIDDEN, "invalid_grant", message.into())
}

/// Reads a JSON or form-encoded body into a JSON value (Auth0 accepts both).
fn body_value(headers: &HeaderMap, body: &Bytes) -> AppResult<serde_json::Value> {
    let is_form = headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/x-www-form-urlencoded"));
    if is_form {
        let map: serde_json::Map<String, serde_json::Value> = url::form_urlencoded::parse(body)
            .map(|(key, value)| (key.into_owned(), serde_json::Value::String(value.into_owned())))
            .collect();
        return Ok(serde_json::Value::Object(map));
    }
    parse_json(body).map_err(|error| invalid_request(error.to_string()))
}

/// The partner whose client credentials these are, or 401 `access_denied`.
fn authenticate_client(state: &AppState, client_id: &str, client_secret: &SecretString) -> AppResult<String> {
    let found: Option<(String, Vec<u8>)> = state.db.read(|conn| {
        conn.query_row(
            "SELECT uuid, client_secret_hash FROM partners WHERE client_id = ?1",
            [client_id],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()
    })?;
    match found {
        Some((partner_uuid, hash)) if hash == hash_secret(client_secret.expose()) => Ok(partner_uuid),
        _ => Err(denied("Unauthorized: unknown client_id or wrong client_secret")),
    }
}

async fn token(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult<Json<TokenResponse>> {
    let value = body_value(&headers, &body)?;
    let grant_type = value.get("grant_type").and_then(|grant| grant.as_str()).unwrap_or_default();
    const GRANTS: [&str; 3] =
        ["client_credentials", latchkey::model::PASSWORDLESS_OTP_GRANT, "refresh_token"];
    if !GRANTS.contains(&grant_type) {
        return Err(AppError::OAuth(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            format!("grant_type must be one of {}", GRANTS.join(", ")),
        ));
    }
    let request: TokenRequest = serde_json::from_value(value)
        .map_err(|error| invalid_request(format!("invalid token request: {error}")))?;
    let response = match request {
        TokenRequest::ClientCredentials { client_id, client_secret, audience } => {
            let partner_uuid = authenticate_client(&state, &client_id, &client_secret)?;
            if audience != PARTNER_AUDIENCE {
                return Err(AppError::OAuth(
                    StatusCode::FORBIDDEN,
                    "access_denied",
                    format!("Service not found: {audience}; the audience is {PARTNER_AUDIENCE}"),
                ));
            }
            let (access_token, ttl) =
                issue_token(&state, TokenKind::Partner, &partner_uuid, &partner_uuid, None);
            TokenResponse {
                access_token: access_token.into(),
                expires_in: ttl.num_seconds().max(0) as u64,
                token_type: "Bearer".into(),
                refresh_token: None,
                scope: None,
                id_token: None,
            }
        }
        TokenRequest::PasswordlessOtp { client_id, client_secret, username, otp, realm, scope } => {
            let partner_uuid = authenticate_client(&state, &client_id, &client_secret)?;
            if realm != "email" {
                return Err(invalid_request("realm must be \"email\""));
            }
            let email = validation::normalized_email(&username);
            let user_uuid = redeem_one_time_code(&state, &partner_uuid, &email, &otp)?;
            user_session(&state, &user_uuid, &partner_uuid, &email, Some(scope))?
        }
        TokenRequest::RefreshToken { client_id, refresh_token } => {
            let now = state.now();
            let found: Option<(String, String, chrono::DateTime<chrono::Utc>)> = state.db.read(|conn| {
                conn.query_row(
                    "SELECT r.user_uuid, r.partner_uuid, r.expires_at FROM refresh_tokens r
                     JOIN partners p ON p.uuid = r.partner_uuid
                     WHERE r.token_hash = ?1 AND p.client_id = ?2",
                    params![hash_secret(refresh_token.expose()), client_id],
                    |row| Ok((row.get(0)?, row.get(1)?, get_ts(row, 2)?)),
                )
                .optional()
            })?;
            let Some((user_uuid, partner_uuid, expires_at)) = found else {
                return Err(invalid_grant("Unknown or invalid refresh token."));
            };
            if expires_at <= now {
                return Err(invalid_grant("The refresh token has expired: sign the user in again."));
            }
            let (access_token, ttl) = issue_token(
                &state,
                TokenKind::User,
                &user_uuid,
                &partner_uuid,
                Some("openid profile email offline_access".into()),
            );
            TokenResponse {
                access_token: access_token.into(),
                expires_in: ttl.num_seconds().max(0) as u64,
                token_type: "Bearer".into(),
                refresh_token: None,
                scope: Some("openid profile email offline_access".into()),
                id_token: None,
            }
        }
    };
    Ok(Json(response))
}

/// Checks a one-time code (single use, expiring, at most [`MAX_OTP_ATTEMPTS`] tries) and returns the user.
///
/// Failed attempts are counted and committed, so the refusal itself is durable.
fn redeem_one_time_code(
    state: &AppState,
    partner_uuid: &str,
    email: &str,
    otp: &SecretString,
) -> AppResult<String> {
    let now = state.now();
    state.db.write(|tx| -> rusqlite::Result<AppResult<String>> {
        let stored: Option<(String, Vec<u8>, chrono::DateTime<chrono::Utc>, i64)> = tx
            .query_row(
                "SELECT partner_uuid, code_hash, expires_at, attempts FROM one_time_codes WHERE email = ?1",
                [email],
                |row| Ok((row.get(0)?, row.get(1)?, get_ts(row, 2)?, row.get(3)?)),
            )
            .optional()?;
        let Some((code_partner, code_hash, expires_at, attempts)) = stored else {
            return Ok(Err(invalid_grant("Wrong email or verification code.")));
        };
        if code_partner != partner_uuid {
            return Ok(Err(invalid_grant("Wrong email or verification code.")));
        }
        if expires_at <= now || attempts >= MAX_OTP_ATTEMPTS {
            tx.execute("DELETE FROM one_time_codes WHERE email = ?1", [email])?;
            return Ok(Err(invalid_grant(
                "The verification code has expired or was tried too often: start again with POST /passwordless/start",
            )));
        }
        if code_hash != hash_secret(otp.expose()) {
            tx.execute("UPDATE one_time_codes SET attempts = attempts + 1 WHERE email = ?1", [email])?;
            return Ok(Err(invalid_grant("Wrong email or verification code.")));
        }
        tx.execute("DELETE FROM one_time_codes WHERE email = ?1", [email])?;
        let user: Option<String> =
            tx.query_row("SELECT uuid FROM users WHERE email = ?1", [email], |row| row.get(0)).optional()?;
        Ok(user.ok_or_else(|| {
            AppError::OAuth(StatusCode::BAD_REQUEST, "extensibility_error", "UNAUTHORIZED: unknown user".into())
        }))
    })?
}

/// Issues a user's access token, a stored refresh token and an identity token.
fn user_session(
    state: &AppState,
    user_uuid: &str,
    partner_uuid: &str,
    email: &str,
    scope: Option<String>,
) -> AppResult<TokenResponse> {
    let scope = scope
        .filter(|scope| !scope.is_empty())
        .unwrap_or_else(|| "openid profile email offline_access".into());
    let (access_token, ttl) =
        issue_token(state, TokenKind::User, user_uuid, partner_uuid, Some(scope.clone()));
    let (id_token, _) =
        issue_token(state, TokenKind::Identity, user_uuid, partner_uuid, Some(format!("email:{email}")));
    let refresh_token = URL_SAFE_NO_PAD.encode(random_bytes::<32>());
    let expires_at = state.now() + state.config.refresh_token_ttl;
    state.db.write(|tx| {
        tx.execute(
            "INSERT INTO refresh_tokens (token_hash, user_uuid, partner_uuid, expires_at) VALUES (?1, ?2, ?3, ?4)",
            params![hash_secret(&refresh_token), user_uuid, partner_uuid, ts(expires_at)],
        )
    })?;
    Ok(TokenResponse {
        access_token: access_token.into(),
        expires_in: ttl.num_seconds().max(0) as u64,
        token_type: "Bearer".into(),
        refresh_token: Some(refresh_token.into()),
        scope: Some(scope),
        id_token: Some(id_token.into()),
    })
}

async fn passwordless_start(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult<Json<PasswordlessStartResponse>> {
    let value = body_value(&headers, &body)?;
    let request: PasswordlessStartRequest = serde_json::from_value(value)
        .map_err(|error| invalid_request(format!("invalid passwordless request: {error}")))?;
    let partner_uuid = authenticate_client(&state, &request.client_id, &request.client_secret)?;
    if request.connection != "email" || request.send != "code" {
        return Err(AppError::OAuth(
            StatusCode::BAD_REQUEST,
            "bad.connection",
            "connection must be \"email\" and send must be \"code\"".into(),
        ));
    }
    if validation::validate_email(&request.email).is_err() {
        return Err(AppError::OAuth(
            StatusCode::BAD_REQUEST,
            "bad.email",
            "email is not a valid address".into(),
        ));
    }
    let email = validation::normalized_email(&request.email);
    let code = format!("{:06}", rand::rng().random_range(0..1_000_000u32));
    let now = state.now();
    let expires_at = now + state.config.otp_ttl;
    let user_uuid = state.db.write(|tx| -> AppResult<AppResult<String>> {
        // A partner signs in only users with an access to one of its doors (an enabled key assigned to
        // it), whoever granted it: its own invites, the property manager's, guests shared in its app. It
        // must not mint tokens for users of doors it cannot use.
        let user: Option<String> = tx
            .query_row(
                &format!(
                    "SELECT u.uuid FROM users u WHERE u.email = ?2 AND EXISTS(
                         SELECT 1 FROM accesses a
                         WHERE a.user_uuid = u.uuid AND a.door_uuid IN ({VISIBLE_DOORS}))"
                ),
                params![partner_uuid, email],
                |row| row.get(0),
            )
            .optional()?;
        let Some(user_uuid) = user else {
            return Ok(Err(AppError::OAuth(
                StatusCode::BAD_REQUEST,
                "extensibility_error",
                "UNAUTHORIZED: no user with this email has access to a door of this partner; invite the user first (POST /access/sdk/v1/users)".into(),
            )));
        };
        tx.execute(
            "INSERT OR REPLACE INTO one_time_codes (email, partner_uuid, code_hash, expires_at, attempts)
             VALUES (?1, ?2, ?3, ?4, 0)",
            params![email, partner_uuid, hash_secret(&code), ts(expires_at)],
        )?;
        outbox::send(
            tx,
            now,
            Channel::Email,
            &email,
            MessageKind::Otp,
            "Your Latch sign-in code",
            &format!(
                "Your sign-in code is {code}. It expires in {} minutes. If you did not ask for it, ignore this email.",
                state.config.otp_ttl.num_minutes()
            ),
        )?;
        Ok(Ok(user_uuid))
    })??;
    Ok(Json(PasswordlessStartResponse { id: user_uuid, email, email_verified: false }))
}
