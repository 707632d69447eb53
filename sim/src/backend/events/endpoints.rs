//! The partner's webhook endpoints (`/access/sdk/v1/webhooks/endpoints`): register, list, read, change,
//! delete, rotate the secret, read the delivery log and replay. Validation says what to fix: a URL that
//! is not `https://` (or `http://` to a loopback address: the simulator is a local tool; a production
//! deployment would refuse plain http and any private, loopback or link-local address), an unknown event
//! type, a secret not in the `whsec_` format.

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Duration, Utc};
use latchkey::model::{
    CreateWebhookEndpointRequest, EventType, MAX_WEBHOOK_DESCRIPTION, MAX_WEBHOOK_ENDPOINTS,
    PatchWebhookEndpointRequest, ReplayWebhookRequest, ReplayWebhookResponse, RotateWebhookSecretRequest,
    RotatedWebhookSecret, WEBHOOK_SECRET_OVERLAP_HOURS, WebhookAttemptView, WebhookAttemptsResponse,
    WebhookEndpointView, WebhookEndpointsResponse,
};
use latchkey::webhooks::WebhookSecret;
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::backend::auth::PartnerCaller;
use crate::backend::db::{get_enum, get_ts, ts};
use crate::backend::error::{AppError, AppResult};
use crate::backend::extract::{JsonBody, Params, PathIds};
use crate::backend::state::{AppState, new_uuid, random_bytes};

/// The endpoint routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/access/sdk/v1/webhooks/endpoints", post(create).get(list))
        .route("/access/sdk/v1/webhooks/endpoints/{endpoint}", get(read).patch(change).delete(remove))
        .route("/access/sdk/v1/webhooks/endpoints/{endpoint}/rotate-secret", post(rotate))
        .route("/access/sdk/v1/webhooks/endpoints/{endpoint}/attempts", get(attempts))
        .route("/access/sdk/v1/webhooks/endpoints/{endpoint}/replay", post(replay))
}

/// Checks a delivery URL; the error says what an acceptable one looks like.
pub fn check_url(text: &str) -> AppResult<url::Url> {
    let bad = |why: &str| {
        AppError::BadRequest(format!(
            "url {why}: give https://… (or http:// to 127.0.0.1, [::1] or localhost, which only the simulator \
             accepts)"
        ))
    };
    if text.len() > 2048 {
        return Err(bad("is longer than 2048 characters"));
    }
    let url = url::Url::parse(text).map_err(|error| bad(&format!("is not a URL ({error})")))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("must not carry credentials (put them in no URL: verify the signature instead)"));
    }
    if url.fragment().is_some() {
        return Err(bad("must not have a #fragment"));
    }
    match (url.scheme(), url.host()) {
        ("https", Some(_)) => Ok(url),
        ("http", Some(url::Host::Ipv4(ip))) if ip.is_loopback() => Ok(url),
        ("http", Some(url::Host::Ipv6(ip))) if ip.is_loopback() => Ok(url),
        ("http", Some(url::Host::Domain("localhost"))) => Ok(url),
        ("http", _) => Err(bad("uses http to a host that is not loopback")),
        _ => Err(bad("must be https or http")),
    }
}

/// `,type,type,` from a list of type names, or an error naming the unknown one.
fn check_types(types: &[String]) -> AppResult<String> {
    if types.is_empty() {
        return Err(AppError::BadRequest(
            "types must name at least one event type; omit it to receive every type".into(),
        ));
    }
    let mut stored = String::from(",");
    for name in types {
        let known = EventType::parse(name).ok_or_else(|| {
            let all: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
            AppError::BadRequest(format!(
                "types: unknown event type {name:?}; the types are {}",
                all.join(", ")
            ))
        })?;
        stored.push_str(known.as_str());
        stored.push(',');
    }
    Ok(stored)
}

fn check_description(text: &str) -> AppResult<()> {
    if text.chars().count() > MAX_WEBHOOK_DESCRIPTION {
        return Err(AppError::BadRequest(format!(
            "description is longer than {MAX_WEBHOOK_DESCRIPTION} characters"
        )));
    }
    Ok(())
}

/// The given secret checked, or a fresh one.
fn secret_or_new(given: Option<&str>) -> AppResult<String> {
    match given {
        Some(text) => WebhookSecret::parse(text).map(|secret| secret.expose()).map_err(|error| {
            AppError::BadRequest(format!("secret: {error}; omit it to get one made for you"))
        }),
        None => Ok(WebhookSecret::from_bytes(random_bytes::<32>()).expose()),
    }
}

const COLUMNS: &str = "uuid, url, description, types, disabled_reason, created_at";

fn from_row(row: &Row<'_>) -> rusqlite::Result<WebhookEndpointView> {
    let types: String = row.get(3)?;
    let disabled_reason: Option<String> = row.get(4)?;
    Ok(WebhookEndpointView {
        uuid: row.get(0)?,
        url: row.get(1)?,
        description: row.get(2)?,
        types: (!types.is_empty())
            .then(|| types.split(',').filter(|t| !t.is_empty()).filter_map(EventType::parse).collect()),
        enabled: disabled_reason.is_none(),
        disabled_reason,
        created_at: get_ts(row, 5)?,
        secret: None,
    })
}

/// The partner's endpoint `uuid`, or 404.
pub fn own_endpoint(conn: &Connection, partner: &str, uuid: &str) -> AppResult<WebhookEndpointView> {
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM webhook_endpoints WHERE uuid = ?1 AND partner_uuid = ?2"
    ))?
    .query_row(params![uuid, partner], from_row)
    .optional()?
    .ok_or_else(|| {
        AppError::NotFound(format!(
            "webhook endpoint {uuid} not found: list yours with GET /access/sdk/v1/webhooks/endpoints"
        ))
    })
}

/// Every endpoint of `partner`, oldest first (also for the manager page).
pub fn endpoints_of(conn: &Connection, partner: &str) -> rusqlite::Result<Vec<WebhookEndpointView>> {
    let mut statement = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM webhook_endpoints WHERE partner_uuid = ?1 ORDER BY seq"
    ))?;
    let rows = statement.query_map([partner], from_row)?;
    rows.collect()
}

async fn create(
    State(state): State<AppState>,
    caller: PartnerCaller,
    JsonBody(request): JsonBody<CreateWebhookEndpointRequest>,
) -> AppResult<Json<WebhookEndpointView>> {
    let url = check_url(&request.url)?;
    let types = match &request.types {
        Some(types) => check_types(types)?,
        None => String::new(),
    };
    check_description(&request.description)?;
    let secret = secret_or_new(request.secret.as_deref())?;
    let now = state.now();
    let view = state.db.write(|tx| {
        let count: i64 = tx.query_row(
            "SELECT COUNT(*) FROM webhook_endpoints WHERE partner_uuid = ?1",
            [&caller.partner_uuid],
            |row| row.get(0),
        )?;
        if count as usize >= MAX_WEBHOOK_ENDPOINTS {
            return Err(AppError::Conflict(format!(
                "you have {MAX_WEBHOOK_ENDPOINTS} webhook endpoints, the most a partner may have: delete one first"
            )));
        }
        let uuid = new_uuid();
        tx.execute(
            "INSERT INTO webhook_endpoints (uuid, partner_uuid, url, description, types, secret, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![uuid, caller.partner_uuid, url.as_str(), request.description, types, secret, ts(now)],
        )?;
        own_endpoint(tx, &caller.partner_uuid, &uuid)
    })?;
    Ok(Json(WebhookEndpointView { secret: Some(secret), ..view }))
}

async fn list(
    State(state): State<AppState>,
    caller: PartnerCaller,
    params: Params,
) -> AppResult<Json<WebhookEndpointsResponse>> {
    params.only(&[])?;
    let endpoints = state.db.read(|conn| endpoints_of(conn, &caller.partner_uuid))?;
    Ok(Json(WebhookEndpointsResponse { endpoints }))
}

async fn read(
    State(state): State<AppState>,
    caller: PartnerCaller,
    ids: PathIds,
) -> AppResult<Json<WebhookEndpointView>> {
    Ok(Json(state.db.read(|conn| own_endpoint(conn, &caller.partner_uuid, ids.id(0)))?))
}

async fn change(
    State(state): State<AppState>,
    caller: PartnerCaller,
    ids: PathIds,
    JsonBody(request): JsonBody<PatchWebhookEndpointRequest>,
) -> AppResult<Json<WebhookEndpointView>> {
    let url = request.url.as_deref().map(check_url).transpose()?;
    let types = request.types.as_deref().map(check_types).transpose()?;
    if let Some(description) = &request.description {
        check_description(description)?;
    }
    let now = state.now();
    let view = state.db.write(|tx| {
        let uuid = ids.id(0);
        own_endpoint(tx, &caller.partner_uuid, uuid)?;
        tx.execute(
            "UPDATE webhook_endpoints SET url = COALESCE(?2, url), types = COALESCE(?3, types),
                                          description = COALESCE(?4, description)
             WHERE uuid = ?1",
            params![uuid, url.as_ref().map(url::Url::as_str), types, request.description],
        )?;
        match request.enabled {
            // Enabled again: the failure streak starts over; pending deliveries resume now, each with a
            // fresh retry schedule.
            Some(true) => {
                tx.execute(
                    "UPDATE webhook_deliveries SET attempts = 0, next_attempt_at = ?2
                     WHERE endpoint_uuid = ?1 AND state = 'PENDING'",
                    params![uuid, ts(now)],
                )?;
                tx.execute(
                    "UPDATE webhook_endpoints SET disabled_reason = NULL, failing_since = NULL WHERE uuid = ?1",
                    [uuid],
                )?
            }
            Some(false) => tx.execute(
                "UPDATE webhook_endpoints SET disabled_reason = 'disabled by the partner' WHERE uuid = ?1",
                [uuid],
            )?,
            None => 0,
        };
        own_endpoint(tx, &caller.partner_uuid, uuid)
    })?;
    Ok(Json(view))
}

async fn remove(State(state): State<AppState>, caller: PartnerCaller, ids: PathIds) -> AppResult<()> {
    state.db.write(|tx| {
        let uuid = ids.id(0);
        own_endpoint(tx, &caller.partner_uuid, uuid)?;
        tx.execute("DELETE FROM webhook_deliveries WHERE endpoint_uuid = ?1", [uuid])?;
        tx.execute("DELETE FROM webhook_attempts WHERE endpoint_uuid = ?1", [uuid])?;
        tx.execute("DELETE FROM webhook_endpoints WHERE uuid = ?1", [uuid])?;
        Ok::<_, AppError>(())
    })
}

async fn rotate(
    State(state): State<AppState>,
    caller: PartnerCaller,
    ids: PathIds,
    JsonBody(request): JsonBody<RotateWebhookSecretRequest>,
) -> AppResult<Json<RotatedWebhookSecret>> {
    let secret = secret_or_new(request.secret.as_deref())?;
    let until = state.now() + Duration::hours(WEBHOOK_SECRET_OVERLAP_HOURS);
    state.db.write(|tx| {
        let uuid = ids.id(0);
        own_endpoint(tx, &caller.partner_uuid, uuid)?;
        tx.execute(
            "UPDATE webhook_endpoints SET previous_secret = secret, previous_secret_until = ?2, secret = ?3
             WHERE uuid = ?1",
            params![uuid, ts(until), secret],
        )?;
        Ok::<_, AppError>(())
    })?;
    Ok(Json(RotatedWebhookSecret { secret, previous_secret_expires_at: until }))
}

async fn attempts(
    State(state): State<AppState>,
    caller: PartnerCaller,
    ids: PathIds,
    params: Params,
) -> AppResult<Json<WebhookAttemptsResponse>> {
    params.only(&[])?;
    let attempts = state.db.read(|conn| {
        own_endpoint(conn, &caller.partner_uuid, ids.id(0))?;
        Ok::<_, AppError>(attempt_log(conn, ids.id(0))?)
    })?;
    Ok(Json(WebhookAttemptsResponse { attempts }))
}

/// The last 100 attempts at `endpoint`, newest first (also for the manager page).
pub fn attempt_log(conn: &Connection, endpoint: &str) -> rusqlite::Result<Vec<WebhookAttemptView>> {
    let mut statement = conn.prepare_cached(
        "SELECT e.id, e.event_type, a.attempted_at, a.status, a.error, a.latency_ms, a.succeeded
         FROM webhook_attempts a JOIN events e ON e.seq = a.event_seq
         WHERE a.endpoint_uuid = ?1 ORDER BY a.seq DESC LIMIT 100",
    )?;
    let rows = statement.query_map([endpoint], |row| {
        Ok(WebhookAttemptView {
            event_id: row.get(0)?,
            event_type: get_enum(row, 1, EventType::parse)?,
            attempted_at: get_ts(row, 2)?,
            status: row.get(3)?,
            error: row.get(4)?,
            latency_ms: row.get::<_, i64>(5)?.try_into().unwrap_or(0),
            succeeded: row.get(6)?,
        })
    })?;
    rows.collect()
}

async fn replay(
    State(state): State<AppState>,
    caller: PartnerCaller,
    ids: PathIds,
    JsonBody(request): JsonBody<ReplayWebhookRequest>,
) -> AppResult<Json<ReplayWebhookResponse>> {
    let now = state.now();
    let range: Option<(DateTime<Utc>, DateTime<Utc>)> =
        match (&request.event_id, request.since, request.until) {
            (Some(_), None, None) => None,
            (None, Some(since), until) => {
                let until = until.unwrap_or(now);
                if until <= since {
                    return Err(AppError::BadRequest("until must be after since".into()));
                }
                Some((since, until))
            }
            _ => {
                return Err(AppError::BadRequest(
                    "give either eventId (one event) or since (and optionally until) for a time range".into(),
                ));
            }
        };
    let queued = state.db.write(|tx| {
        let endpoint = own_endpoint(tx, &caller.partner_uuid, ids.id(0))?;
        let queued = super::outbox::replay(tx, &endpoint.uuid, request.event_id.as_deref(), range, now)?;
        if queued == 0 && request.event_id.is_some() {
            return Err(AppError::NotFound(format!(
                "event {} not found among your events of a type this endpoint takes",
                request.event_id.as_deref().unwrap_or_default()
            )));
        }
        Ok(queued)
    })?;
    Ok(Json(ReplayWebhookResponse { queued: queued as u64 }))
}
