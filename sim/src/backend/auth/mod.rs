//! Who is calling: the bearer-token extractors of the three kinds of caller (partner, user, manager), and
//! the issuing of access tokens. The token endpoints themselves are in [`oauth`].

pub mod cache;
pub mod jwt;
pub mod oauth;

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use chrono::Duration;
use latchkey::model::PARTNER_AUDIENCE;

use super::error::AppError;
use super::state::{AppState, new_uuid};
use jwt::{Claims, TokenKind};

/// The issuer of every simulator token.
pub const ISSUER: &str = "latchkey-sim";

/// A caller holding a valid partner-scoped token.
#[derive(Clone, Debug)]
pub struct PartnerCaller {
    /// The partner.
    pub partner_uuid: String,
}

/// A caller holding a valid user-scoped token.
#[derive(Clone, Debug)]
pub struct UserCaller {
    /// The user.
    pub user_uuid: String,
    /// The partner whose app the user signed in through.
    pub partner_uuid: String,
}

/// A caller holding the manager token.
#[derive(Clone, Copy, Debug)]
pub struct ManagerCaller;

/// The bearer token of a request, or a 401 saying how to send one.
fn bearer(parts: &Parts) -> Result<&str, AppError> {
    let header = parts.headers.get(AUTHORIZATION).ok_or_else(|| {
        AppError::Unauthorized(
            "missing access token: send the header `Authorization: Bearer <access_token>`".into(),
        )
    })?;
    let value = header
        .to_str()
        .map_err(|_| AppError::Unauthorized("the Authorization header is not valid text".into()))?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => {
            Ok(token.trim())
        }
        _ => Err(AppError::Unauthorized("the Authorization header must be `Bearer <access_token>`".into())),
    }
}

/// Verifies a bearer token and returns its claims (401 if missing, invalid, expired, or an identity token).
/// A token verified before is not checked again, only its expiry ([`cache`]).
pub fn verify(state: &AppState, token: &str) -> Result<Arc<Claims>, AppError> {
    let claims = state.tokens.decode(token, state.now()).map_err(|error| {
        AppError::Unauthorized(format!("{error}: request a new token at POST /v1/oauth/token"))
    })?;
    if claims.kind == TokenKind::Identity {
        return Err(AppError::Unauthorized(
            "an id_token says who signed in but is not an access token: send the access_token".into(),
        ));
    }
    Ok(claims)
}

/// The caller identity of a request for idempotency bookkeeping, if its token is valid.
pub fn caller_identity(state: &AppState, parts: &Parts) -> Option<String> {
    let token = bearer(parts).ok()?;
    if is_manager_token(state, token) {
        return Some("manager".into());
    }
    let claims = verify(state, token).ok()?;
    match claims.kind {
        TokenKind::Partner => Some(format!("partner:{}", claims.sub)),
        TokenKind::User => Some(format!("user:{}:{}", claims.partner, claims.sub)),
        TokenKind::Identity => None,
    }
}

impl FromRequestParts<AppState> for PartnerCaller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let claims = verify(state, bearer(parts)?)?;
        if claims.kind != TokenKind::Partner {
            return Err(AppError::Forbidden(
                "this endpoint needs a partner-scoped token (grant_type client_credentials), not a user token".into(),
            ));
        }
        Ok(PartnerCaller { partner_uuid: claims.sub.clone() })
    }
}

impl FromRequestParts<AppState> for UserCaller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let claims = verify(state, bearer(parts)?)?;
        if claims.kind != TokenKind::User {
            return Err(AppError::Forbidden(
                "this endpoint needs a user-scoped token (the passwordless grant), not a partner token"
                    .into(),
            ));
        }
        Ok(UserCaller { user_uuid: claims.sub.clone(), partner_uuid: claims.partner.clone() })
    }
}

impl FromRequestParts<AppState> for ManagerCaller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = bearer(parts)?;
        if is_manager_token(state, token) {
            Ok(ManagerCaller)
        } else {
            Err(AppError::Unauthorized(
                "invalid manager token: send `Authorization: Bearer <manager token>` (the simulator's --manager-token)"
                    .into(),
            ))
        }
    }
}

fn is_manager_token(state: &AppState, token: &str) -> bool {
    super::state::hash_secret(token) == super::state::hash_secret(state.config.manager_token.expose())
}

/// Issues an access token of `kind` for `subject` through `partner_uuid`; returns it with its lifetime.
pub fn issue_token(
    state: &AppState,
    kind: TokenKind,
    subject: &str,
    partner_uuid: &str,
    scope: Option<String>,
) -> (String, Duration) {
    let now = state.now();
    let ttl = state.config.token_ttl;
    let claims = Claims {
        iss: ISSUER.into(),
        sub: subject.into(),
        aud: PARTNER_AUDIENCE.into(),
        iat: now.timestamp(),
        exp: (now + ttl).timestamp(),
        jti: new_uuid(),
        kind,
        partner: partner_uuid.into(),
        scope,
    };
    (jwt::encode(&claims, &state.signing_key[..]), ttl)
}
