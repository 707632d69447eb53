//! The invited user's side: the welcome email links to `/account/finalize?token=…`, a signed, expiring
//! token (HMAC-SHA256 under the backend's signing key, domain-separated), where the user chooses a
//! password (stored as an argon2id PHC string, never logged); `/account/sign-in` then accepts it.

use std::collections::HashMap;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, KeyInit, Mac};
use rusqlite::{Connection, OptionalExtension, params};
use sha2::Sha256;

use super::html::{esc, layout};
use super::{FormData, secure_html};
use crate::backend::state::{AppState, random_bytes};

/// How long the welcome email's link works.
pub const FINALIZE_TTL_DAYS: i64 = 7;

/// The shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 10;

/// The account routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/account/finalize", get(finalize_page).post(finalize))
        .route("/account/sign-in", get(sign_in_page).post(sign_in))
}

fn signing_key(conn: &Connection) -> rusqlite::Result<Vec<u8>> {
    conn.prepare_cached("SELECT value FROM meta WHERE key = 'jwt_signing_key'")?
        .query_row([], |row| row.get(0))
}

fn mac(key: &[u8], user: &str, expires: i64) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(format!("latchkey account finalize v1\n{user}\n{expires}").as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// The path of the welcome email's link for `user`, valid for [`FINALIZE_TTL_DAYS`] from `now`.
pub fn finalize_link(conn: &Connection, user: &str, now: DateTime<Utc>) -> rusqlite::Result<String> {
    let key = signing_key(conn)?;
    let expires = (now + Duration::days(FINALIZE_TTL_DAYS)).timestamp();
    let token = format!("{user}.{expires}.{}", URL_SAFE_NO_PAD.encode(mac(&key, user, expires)));
    Ok(format!("/account/finalize?token={token}"))
}

/// The user a finalize token is for, or why it is refused.
fn verify(conn: &Connection, token: &str, now: DateTime<Utc>) -> Result<String, &'static str> {
    let mut parts = token.splitn(3, '.');
    let (Some(user), Some(expires), Some(signature)) = (parts.next(), parts.next(), parts.next()) else {
        return Err("This link is not valid. Open the link from your welcome email.");
    };
    let expires: i64 =
        expires.parse().map_err(|_| "This link is not valid. Open the link from your welcome email.")?;
    let key = signing_key(conn).map_err(|_| "This link cannot be checked right now.")?;
    let given = URL_SAFE_NO_PAD.decode(signature).unwrap_or_default();
    let expected = mac(&key, user, expires);
    if given.len() != expected.len()
        || given.iter().zip(&expected).fold(0u8, |acc, (a, b)| acc | (a ^ b)) != 0
    {
        return Err("This link is not valid. Open the link from your welcome email.");
    }
    if now.timestamp() >= expires {
        return Err("This link has expired. Ask your property manager to invite you again.");
    }
    Ok(user.to_owned())
}

fn page(title: &str, body: &str, status: StatusCode) -> Response {
    secure_html(status, layout(title, None, None, &format!("<section class=\"card\">{body}</section>")))
}

fn error_block(message: &str) -> String {
    format!("<p class=\"error\" role=\"alert\" id=\"form-error\">{}</p>", esc(message))
}

fn finalize_form(token: &str, name: &str, error: Option<&str>) -> String {
    let described =
        if error.is_some() { " aria-describedby=\"form-error\" aria-invalid=\"true\"" } else { "" };
    format!(
        "<p>Hi {}, choose a password for your Latch account. This is optional: your partner app works without it.</p>\
         <form method=\"post\" action=\"/account/finalize\" class=\"stack\">{}<input type=\"hidden\" name=\"token\" value=\"{}\">\
         <label>Password (at least {MIN_PASSWORD_CHARS} characters)<input type=\"password\" name=\"password\" autocomplete=\"new-password\" required minlength=\"{MIN_PASSWORD_CHARS}\" autofocus{described}></label>\
         <label>Repeat the password<input type=\"password\" name=\"confirm\" autocomplete=\"new-password\" required{described}></label>\
         <button>Set password</button></form>",
        esc(name),
        error.map(error_block).unwrap_or_default(),
        esc(token)
    )
}

fn user_name(conn: &Connection, user: &str) -> rusqlite::Result<Option<String>> {
    conn.query_row("SELECT first_name FROM users WHERE uuid = ?1", [user], |row| row.get(0)).optional()
}

async fn finalize_page(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let token = query.get("token").map(String::as_str).unwrap_or_default();
    let checked = state.db.read(|conn| {
        Ok::<_, rusqlite::Error>(verify(conn, token, state.now()).map(|user| (user_name(conn, &user), user)))
    });
    match checked {
        Ok(Ok((Ok(Some(name)), _))) => {
            page("Finish your Latch account", &finalize_form(token, &name, None), StatusCode::OK)
        }
        Ok(Err(message)) => page("Finish your Latch account", &error_block(message), StatusCode::BAD_REQUEST),
        _ => page(
            "Finish your Latch account",
            &error_block("This link is not valid."),
            StatusCode::BAD_REQUEST,
        ),
    }
}

async fn finalize(State(state): State<AppState>, body: Bytes) -> Response {
    let form = FormData::parse(&body);
    let token = form.get("token");
    let (password, confirm) = (form.get("password"), form.get("confirm"));
    let now = state.now();
    let user = match state.db.read(|conn| Ok::<_, rusqlite::Error>(verify(conn, token, now))) {
        Ok(Ok(user)) => user,
        Ok(Err(message)) => {
            return page("Finish your Latch account", &error_block(message), StatusCode::BAD_REQUEST);
        }
        Err(error) => return crate::backend::error::AppError::from(error).into_response(),
    };
    let name = state.db.read(|conn| user_name(conn, &user)).ok().flatten().unwrap_or_default();
    let problem = if password.chars().count() < MIN_PASSWORD_CHARS {
        Some(format!("The password must have at least {MIN_PASSWORD_CHARS} characters."))
    } else if password.chars().count() > 256 {
        Some("The password must have at most 256 characters.".into())
    } else if password != confirm {
        Some("The two passwords differ: type the same password twice.".into())
    } else {
        None
    };
    if let Some(problem) = problem {
        return page(
            "Finish your Latch account",
            &finalize_form(token, &name, Some(&problem)),
            StatusCode::BAD_REQUEST,
        );
    }
    let hash = match hash_password(password) {
        Ok(hash) => hash,
        Err(error) => return crate::backend::error::AppError::internal(error).into_response(),
    };
    if let Err(error) = state
        .db
        .write(|tx| tx.execute("UPDATE users SET password_hash = ?1 WHERE uuid = ?2", params![hash, user]))
    {
        return crate::backend::error::AppError::from(error).into_response();
    }
    page(
        "Your Latch account is ready",
        &format!(
            "<p class=\"notice\" role=\"status\">Thanks {}, your password is set.</p><p><a href=\"/account/sign-in\">Sign in</a></p>",
            esc(&name)
        ),
        StatusCode::OK,
    )
}

/// argon2id (the crate's default parameters) with a random salt, as a PHC string.
pub fn hash_password(password: &str) -> Result<String, String> {
    let salt = SaltString::encode_b64(&random_bytes::<16>()).map_err(|error| error.to_string())?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|error| error.to_string())
}

/// Whether `password` matches a stored PHC string.
pub fn verify_password(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored)
        .is_ok_and(|hash| Argon2::default().verify_password(password.as_bytes(), &hash).is_ok())
}

fn sign_in_form(email: &str, error: Option<&str>) -> String {
    let described =
        if error.is_some() { " aria-describedby=\"form-error\" aria-invalid=\"true\"" } else { "" };
    format!(
        "<form method=\"post\" action=\"/account/sign-in\" class=\"stack\">{}\
         <label>Email<input type=\"email\" name=\"email\" value=\"{}\" autocomplete=\"username\" required autofocus{described}></label>\
         <label>Password<input type=\"password\" name=\"password\" autocomplete=\"current-password\" required{described}></label>\
         <button>Sign in</button></form>",
        error.map(error_block).unwrap_or_default(),
        esc(email)
    )
}

async fn sign_in_page() -> Response {
    page("Sign in to Latch", &sign_in_form("", None), StatusCode::OK)
}

async fn sign_in(State(state): State<AppState>, body: Bytes) -> Response {
    let form = FormData::parse(&body);
    let email = latchkey::model::validation::normalized_email(form.get("email"));
    let found: Option<(String, Option<String>)> = state
        .db
        .read(|conn| {
            conn.query_row("SELECT first_name, password_hash FROM users WHERE email = ?1", [&email], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .optional()
        })
        .ok()
        .flatten();
    // The same answer whether the email is unknown, has no password yet, or the password is wrong.
    match found {
        Some((name, Some(hash))) if verify_password(form.get("password"), &hash) => page(
            "Signed in",
            &format!("<p class=\"notice\" role=\"status\">Signed in as {}.</p>", esc(&name)),
            StatusCode::OK,
        ),
        _ => page(
            "Sign in to Latch",
            &sign_in_form(
                form.get("email"),
                Some("That email and password do not match an account with a password."),
            ),
            StatusCode::UNAUTHORIZED,
        ),
    }
}
