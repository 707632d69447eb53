//! The customer's side (spec: user management) as an API for the property manager, guarded by the manager
//! token: partners, buildings, doors and their activation by an installer, keys (doors grouped, assigned to
//! one partner, enabled), inviting users with a key, and the outbox of sent messages.

use std::str::FromStr;

use axum::extract::State;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use latchkey::model::BuildingView;
use latchkey::model::{
    ActivateDoorRequest, AssignKeyRequest, CreateBuildingRequest, CreateDoorRequest, CreateKeyRequest,
    CreatePartnerRequest, CreateUserRequest, DoorView, KeyView, ManagerInviteRequest, ManagerUserView,
    OutboxResponse, PartnerCredentials, PasscodeType, SetKeyDoorsRequest, validation,
};
use rusqlite::{Connection, OptionalExtension, params};

use super::auth::ManagerCaller;
use super::db::ts;
use super::directory::{self, GranterRef};
use super::error::{AppError, AppResult};
use super::events;
use super::extract::{JsonBody, PathIds};
use super::grant::{self, GrantRequest};
use super::lockside;
use super::outbox;
use super::state::{AppState, hash_secret, new_uuid, random_bytes};

/// The manager routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/manager/v1/partners", post(create_partner))
        .route("/manager/v1/buildings", post(create_building))
        .route("/manager/v1/doors", post(create_door))
        .route("/manager/v1/doors/{door}/activate", post(activate_door))
        .route("/manager/v1/keys", post(create_key))
        .route("/manager/v1/keys/{key}/partner", put(assign_key))
        .route("/manager/v1/keys/{key}/enable", post(enable_key))
        .route("/manager/v1/keys/{key}/doors", put(set_key_doors))
        .route("/manager/v1/users", post(invite_user))
        .route("/manager/v1/users/{user}", get(get_user))
        .route("/manager/v1/outbox", get(list_outbox))
}

fn check_name(field: &'static str, value: &str) -> AppResult<()> {
    validation::validate_name(field, value)
        .map_err(|_| AppError::BadRequest(format!("{field} must be 1 to 100 characters")))
}

async fn create_partner(
    State(state): State<AppState>,
    _: ManagerCaller,
    JsonBody(request): JsonBody<CreatePartnerRequest>,
) -> AppResult<Json<PartnerCredentials>> {
    check_name("name", &request.name)?;
    let uuid = new_uuid();
    let client_id = format!("lk_{}", hex::encode(random_bytes::<12>()));
    let client_secret = URL_SAFE_NO_PAD.encode(random_bytes::<32>());
    let now = state.now();
    state.db.write(|tx| {
        tx.execute(
            "INSERT INTO partners (uuid, name, client_id, client_secret_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![uuid, request.name.trim(), client_id, hash_secret(&client_secret), ts(now)],
        )
    })?;
    Ok(Json(PartnerCredentials {
        uuid,
        name: request.name.trim().into(),
        client_id,
        client_secret: client_secret.into(),
    }))
}

async fn create_building(
    State(state): State<AppState>,
    _: ManagerCaller,
    JsonBody(request): JsonBody<CreateBuildingRequest>,
) -> AppResult<Json<BuildingView>> {
    check_name("name", &request.name)?;
    if chrono_tz::Tz::from_str(&request.timezone).is_err() {
        return Err(AppError::BadRequest(format!(
            "timezone {:?} is not an IANA time zone name; use one such as America/New_York or Asia/Tokyo",
            request.timezone
        )));
    }
    let view = BuildingView {
        uuid: new_uuid(),
        name: request.name.trim().into(),
        timezone: request.timezone,
        common_doorcodes: request.common_doorcodes.unwrap_or(false),
    };
    state.db.write(|tx| {
        tx.execute(
            "INSERT INTO buildings (uuid, name, timezone, common_doorcodes) VALUES (?1, ?2, ?3, ?4)",
            params![view.uuid, view.name, view.timezone, view.common_doorcodes],
        )
    })?;
    Ok(Json(view))
}

async fn create_door(
    State(state): State<AppState>,
    _: ManagerCaller,
    JsonBody(request): JsonBody<CreateDoorRequest>,
) -> AppResult<Json<DoorView>> {
    check_name("name", &request.name)?;
    let uuid = new_uuid();
    state.db.write(|tx| {
        let building_exists: bool = tx.query_row(
            "SELECT EXISTS(SELECT 1 FROM buildings WHERE uuid = ?1)",
            [&request.building_uuid],
            |row| row.get(0),
        )?;
        if !building_exists {
            return Err(AppError::BadRequest(format!(
                "buildingUuid {} is not a building: create it first with POST /manager/v1/buildings",
                request.building_uuid
            )));
        }
        tx.execute(
            "INSERT INTO doors (uuid, building_uuid, name, door_type, accessibility_type, is_connected, doorcode_secret)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                uuid,
                request.building_uuid,
                request.name.trim(),
                request.door_type.as_str(),
                request.accessibility_type.as_str(),
                request.is_connected,
                &random_bytes::<32>()[..],
            ],
        )?;
        Ok(())
    })?;
    Ok(Json(door_view(&state, &uuid)?))
}

fn door_view(state: &AppState, uuid: &str) -> AppResult<DoorView> {
    state
        .db
        .read(|conn| directory::door(conn, uuid))?
        .map(|door| door.view)
        .ok_or_else(|| AppError::NotFound(format!("door {uuid} not found")))
}

async fn activate_door(
    State(state): State<AppState>,
    _: ManagerCaller,
    ids: PathIds,
    JsonBody(request): JsonBody<ActivateDoorRequest>,
) -> AppResult<Json<DoorView>> {
    let door = ids.id(0);
    let serial = request.serial_number.trim();
    if serial.is_empty() || serial.len() > 64 {
        return Err(AppError::BadRequest("serialNumber must be 1 to 64 characters".into()));
    }
    let now = state.now();
    state.db.write(|tx| {
        let current: Option<Option<String>> = tx
            .query_row("SELECT serial_number FROM doors WHERE uuid = ?1", [door], |row| row.get(0))
            .optional()?;
        match current {
            None => return Err(AppError::NotFound(format!("door {door} not found"))),
            Some(Some(existing)) => {
                return Err(AppError::Conflict(format!(
                    "door {door} is already activated with lock {existing}; a door holds one lock"
                )));
            }
            Some(None) => {}
        }
        let serial_taken: bool =
            tx.query_row("SELECT EXISTS(SELECT 1 FROM doors WHERE serial_number = ?1)", [serial], |row| {
                row.get(0)
            })?;
        if serial_taken {
            return Err(AppError::Conflict(format!("lock {serial} is already installed on another door")));
        }
        tx.execute(
            "UPDATE doors SET serial_number = ?1, device_type = ?2, battery_percentage = 100,
                              battery_updated_at = ?3, lock_secret = ?4
             WHERE uuid = ?5",
            params![serial, request.device_type.as_str(), ts(now), &random_bytes::<32>()[..], door],
        )?;
        // The lock's identity and keys, and the virtual lock holding their private half, in this transaction.
        let provisioned = lockside::provision(tx, &state.lock_keys, door, now)?;
        crate::locks::install(tx, &provisioned, now).map_err(AppError::internal)?;
        Ok(())
    })?;
    Ok(Json(door_view(&state, door)?))
}

pub(super) fn key_view(conn: &Connection, uuid: &str) -> AppResult<KeyView> {
    let key: Option<(String, Option<String>, bool, u32)> = conn
        .query_row("SELECT name, partner_uuid, enabled, version FROM keys WHERE uuid = ?1", [uuid], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
        })
        .optional()?;
    let Some((name, partner_uuid, enabled, version)) = key else {
        return Err(AppError::NotFound(format!("key {uuid} not found")));
    };
    let mut statement = conn.prepare_cached(
        "SELECT kd.door_uuid FROM key_doors kd JOIN doors d ON d.uuid = kd.door_uuid WHERE kd.key_uuid = ?1 ORDER BY d.seq",
    )?;
    let door_uuids =
        statement.query_map([uuid], |row| row.get(0))?.collect::<rusqlite::Result<Vec<String>>>()?;
    Ok(KeyView { uuid: uuid.into(), name, door_uuids, partner_uuid, enabled, version })
}

async fn create_key(
    State(state): State<AppState>,
    _: ManagerCaller,
    JsonBody(request): JsonBody<CreateKeyRequest>,
) -> AppResult<Json<KeyView>> {
    check_name("name", &request.name)?;
    if request.door_uuids.is_empty() {
        return Err(AppError::BadRequest("doorUuids must name at least one door".into()));
    }
    let uuid = new_uuid();
    let view = state.db.write(|tx| {
        let mut missing = Vec::new();
        for door in &request.door_uuids {
            if directory::door(tx, door)?.is_none() {
                missing.push(door.as_str());
            }
        }
        if !missing.is_empty() {
            return Err(AppError::BadRequest(format!("invalid door UUIDs: {}", missing.join(", "))));
        }
        tx.execute(
            "INSERT INTO keys (uuid, name, enabled) VALUES (?1, ?2, 0)",
            params![uuid, request.name.trim()],
        )?;
        for door in &request.door_uuids {
            tx.execute(
                "INSERT OR IGNORE INTO key_doors (key_uuid, door_uuid) VALUES (?1, ?2)",
                params![uuid, door],
            )?;
        }
        key_view(tx, &uuid)
    })?;
    Ok(Json(view))
}

async fn assign_key(
    State(state): State<AppState>,
    _: ManagerCaller,
    ids: PathIds,
    JsonBody(request): JsonBody<AssignKeyRequest>,
) -> AppResult<Json<KeyView>> {
    let key = ids.id(0);
    let view = state.db.write(|tx| {
        let current = key_view(tx, key)?;
        let partner_exists: bool = tx.query_row(
            "SELECT EXISTS(SELECT 1 FROM partners WHERE uuid = ?1)",
            [&request.partner_uuid],
            |row| row.get(0),
        )?;
        if !partner_exists {
            return Err(AppError::BadRequest(format!(
                "partnerUuid {} is not a partner: create it with POST /manager/v1/partners",
                request.partner_uuid
            )));
        }
        match &current.partner_uuid {
            Some(owner) if owner != &request.partner_uuid => Err(AppError::Conflict(format!(
                "key {key} is already assigned to partner {owner}; a key belongs to one partner, so create a new key"
            ))),
            _ => {
                tx.execute("UPDATE keys SET partner_uuid = ?1 WHERE uuid = ?2", params![request.partner_uuid, key])?;
                key_view(tx, key)
            }
        }
    })?;
    Ok(Json(view))
}

async fn enable_key(
    State(state): State<AppState>,
    _: ManagerCaller,
    ids: PathIds,
) -> AppResult<Json<KeyView>> {
    let key = ids.id(0);
    let view = state.db.write(|tx| {
        key_view(tx, key)?;
        tx.execute("UPDATE keys SET enabled = 1 WHERE uuid = ?1", [key])?;
        key_view(tx, key)
    })?;
    Ok(Json(view))
}

/// Records that the manager's accesses of `user` to `doors` come from `key`, so a new version of the key
/// reaches them.
fn remember_key<'a>(
    conn: &Connection,
    key: &str,
    user: &str,
    doors: impl IntoIterator<Item = &'a str>,
) -> rusqlite::Result<()> {
    for door in doors {
        conn.execute(
            "UPDATE accesses SET key_uuid = ?1
             WHERE user_uuid = ?2 AND door_uuid = ?3 AND granter_type = 'MANAGER'",
            params![key, user, door],
        )?;
    }
    Ok(())
}

async fn invite_user(
    State(state): State<AppState>,
    _: ManagerCaller,
    JsonBody(request): JsonBody<ManagerInviteRequest>,
) -> AppResult<Json<ManagerUserView>> {
    let now = state.now();
    let passcode_type = request.passcode_type.unwrap_or(PasscodeType::Permanent);
    let view = state.db.write(|tx| {
        let key = key_view(tx, &request.key_uuid).map_err(|error| match error {
            AppError::NotFound(_) => AppError::BadRequest(format!(
                "keyUuid {} is not a key: create it with POST /manager/v1/keys",
                request.key_uuid
            )),
            other => other,
        })?;
        // The manager's invite obeys the same rules as a partner's; DAILY codes go to the email.
        let as_partner_request = CreateUserRequest {
            first_name: request.first_name.clone(),
            last_name: request.last_name.clone(),
            email: Some(request.email.clone()),
            phone: if passcode_type.is_daily() { None } else { request.phone.clone() },
            start_time: request.start_time,
            end_time: request.end_time,
            door_uuids: key.door_uuids.clone(),
            shareable: false,
            passcode_type,
            role: request.role,
            should_notify: true,
        };
        validation::validate_create_user(&as_partner_request, now)?;
        if let Some(phone) = &request.phone {
            validation::validate_phone(phone)?;
        }
        let mut doors = Vec::with_capacity(key.door_uuids.len());
        for uuid in &key.door_uuids {
            doors.extend(directory::door(tx, uuid)?);
        }
        let outcome = grant::grant(
            tx,
            now,
            &GrantRequest {
                granter: GranterRef::Manager,
                granter_name: "Your property manager".into(),
                first_name: request.first_name.clone(),
                last_name: request.last_name.clone(),
                email: Some(request.email.clone()),
                phone: request.phone.clone(),
                start_time: request.start_time,
                end_time: request.end_time,
                doors,
                shareable: false,
                passcode_type,
                role: request.role,
                should_notify: true,
            },
        )?;
        // Remember which key these accesses came from, so a new version of the key reaches them.
        remember_key(tx, &key.uuid, &outcome.user.uuid, key.door_uuids.iter().map(String::as_str))?;
        Ok::<_, AppError>((directory::manager_user_view(tx, &outcome.user)?, key.door_uuids))
    })?;
    let (view, doors) = view;
    state.push_to_connected_locks(doors.iter().map(String::as_str));
    Ok(Json(view))
}

async fn get_user(
    State(state): State<AppState>,
    _: ManagerCaller,
    ids: PathIds,
) -> AppResult<Json<ManagerUserView>> {
    let user = ids.id(0);
    let view = state.db.read(|conn| {
        let record = directory::user(conn, user)?
            .ok_or_else(|| AppError::NotFound(format!("user {user} not found")))?;
        Ok::<_, AppError>(directory::manager_user_view(conn, &record)?)
    })?;
    Ok(Json(view))
}

async fn list_outbox(State(state): State<AppState>, _: ManagerCaller) -> AppResult<Json<OutboxResponse>> {
    let messages = state.db.read(outbox::list)?;
    Ok(Json(OutboxResponse { messages }))
}

/// Checks that every uuid names a door; the 400 lists the ones that do not.
fn check_doors(conn: &Connection, doors: &[String]) -> AppResult<()> {
    if doors.is_empty() {
        return Err(AppError::BadRequest("doorUuids must name at least one door".into()));
    }
    let mut missing = Vec::new();
    for door in doors {
        if directory::door(conn, door)?.is_none() {
            missing.push(door.as_str());
        }
    }
    if !missing.is_empty() {
        return Err(AppError::BadRequest(format!("invalid door UUIDs: {}", missing.join(", "))));
    }
    Ok(())
}

/// `PUT /manager/v1/keys/{key}/doors`: a new version of the key with these doors. Partner visibility
/// follows at once (it derives from `key_doors`); users invited with the key keep their account and
/// settings: they lose the removed doors and get the added ones (no email), and the locks of every door
/// touched get their deltas.
async fn set_key_doors(
    State(state): State<AppState>,
    _: ManagerCaller,
    ids: PathIds,
    JsonBody(request): JsonBody<SetKeyDoorsRequest>,
) -> AppResult<Json<KeyView>> {
    let (view, touched) =
        state.db.write(|tx| new_key_version(tx, state.now(), ids.id(0), &request.door_uuids))?;
    state.push_to_connected_locks(touched.iter().map(String::as_str));
    Ok(Json(view))
}

/// The work of [`set_key_doors`] inside a transaction: the new view and the doors whose access changed.
pub(super) fn new_key_version(
    tx: &Connection,
    now: chrono::DateTime<chrono::Utc>,
    key: &str,
    doors: &[String],
) -> AppResult<(KeyView, Vec<String>)> {
    let current = key_view(tx, key)?;
    check_doors(tx, doors)?;
    let mut wanted: Vec<String> = Vec::new();
    for door in doors {
        if !wanted.contains(door) {
            wanted.push(door.clone());
        }
    }
    let removed: Vec<String> =
        current.door_uuids.iter().filter(|door| !wanted.contains(door)).cloned().collect();
    let added: Vec<String> =
        wanted.iter().filter(|door| !current.door_uuids.contains(door)).cloned().collect();
    if removed.is_empty() && added.is_empty() {
        return Ok((current, Vec::new()));
    }
    for door in &removed {
        events::record::key_door_revoked(tx, now, key, door)?;
    }
    tx.execute("DELETE FROM key_doors WHERE key_uuid = ?1", [key])?;
    for door in &wanted {
        tx.execute("INSERT INTO key_doors (key_uuid, door_uuid) VALUES (?1, ?2)", params![key, door])?;
    }
    tx.execute("UPDATE keys SET version = version + 1 WHERE uuid = ?1", [key])?;
    for door in &removed {
        tx.execute("DELETE FROM accesses WHERE key_uuid = ?1 AND door_uuid = ?2", params![key, door])?;
    }
    if !added.is_empty() {
        // One representative access per user of this key carries the invite's settings.
        let mut statement = tx.prepare(
            "SELECT a.user_uuid, MIN(a.seq) FROM accesses a WHERE a.key_uuid = ?1 GROUP BY a.user_uuid ORDER BY 2",
        )?;
        let users = statement
            .query_map([key], |row| row.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<String>>>()?;
        let mut door_records = Vec::with_capacity(added.len());
        for door in &added {
            door_records.extend(directory::door(tx, door)?);
        }
        for user_uuid in users {
            let Some(user) = directory::user(tx, &user_uuid)? else { continue };
            let Some(model) = directory::accesses_of(tx, &user_uuid)?.into_iter().find(|access| {
                access.granter == GranterRef::Manager && current.door_uuids.contains(&access.door_uuid)
            }) else {
                continue;
            };
            let outcome = grant::grant(
                tx,
                now,
                &GrantRequest {
                    granter: GranterRef::Manager,
                    granter_name: "Your property manager".into(),
                    first_name: user.first_name.clone(),
                    last_name: user.last_name.clone(),
                    email: user.email.clone(),
                    phone: if user.email.is_some() { None } else { user.phone.clone() },
                    start_time: model.start_time,
                    end_time: model.end_time,
                    doors: door_records.clone(),
                    shareable: model.shareable,
                    passcode_type: model.passcode_type,
                    role: model.role,
                    should_notify: false,
                },
            )?;
            remember_key(
                tx,
                key,
                &user_uuid,
                outcome.accesses.iter().map(|access| access.door_uuid.as_str()),
            )?;
        }
    }
    let mut touched = removed;
    touched.extend(added);
    Ok((key_view(tx, key)?, touched))
}
