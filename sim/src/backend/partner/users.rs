//! The partner's users endpoints: invite and grant (v1 and v2), list, get, patch and revoke access.

use axum::extract::State;
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use latchkey::model::{
    CreateUserRequest, CreateUserV1Response, PasscodeType, PatchAccessRequest, UserView, UsersPage,
    validation,
};
use rusqlite::{Connection, OptionalExtension, params};

use crate::backend::auth::PartnerCaller;
use crate::backend::db::group::{BatchMemo, MemoKey};
use crate::backend::db::ts;
use crate::backend::directory::{self, AccessRecord, DoorRecord, GranterRef, UserRecord};
use crate::backend::error::{AppError, AppResult};
use crate::backend::events;
use crate::backend::extract::{JsonBody, Params, PathIds};
use crate::backend::grant::{self, GrantOutcome, GrantRequest};
use crate::backend::pagination;
use crate::backend::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/access/sdk/v1/users", post(create_v1).get(list))
        .route("/access/sdk/v2/users", post(create_v2))
        .route("/access/sdk/v1/users/{user}", get(get_user))
        .route("/access/sdk/v1/users/{user}/doors/{door}", patch(patch_access).delete(revoke))
}

async fn create_v1(
    State(state): State<AppState>,
    caller: PartnerCaller,
    JsonBody(request): JsonBody<CreateUserRequest>,
) -> AppResult<Json<CreateUserV1Response>> {
    let (outcome, doors) = invite(state, caller, request, |_, _, outcome, doors| {
        Ok((
            outcome.user.uuid.clone(),
            doors.iter().map(|door| directory::door_summary(&door.view)).collect(),
        ))
    })
    .await?;
    Ok(Json(CreateUserV1Response { user_uuid: outcome, doors }))
}

async fn create_v2(
    State(state): State<AppState>,
    caller: PartnerCaller,
    JsonBody(request): JsonBody<CreateUserRequest>,
) -> AppResult<Json<UserView>> {
    // The view is read in the grant's own transaction: one turn of the database per request.
    let view = invite(state, caller, request, |tx, partner, outcome, _| {
        if outcome.created {
            // A new user's accesses are exactly this grant's: the partner's own, on doors it may use.
            let accesses = outcome.accesses.iter().map(AccessRecord::view).collect();
            return Ok(directory::user_view(&outcome.user, accesses));
        }
        Ok(directory::partner_user_view(tx, partner, &outcome.user)?)
    })
    .await?;
    Ok(Json(view))
}

/// Validates an invite by the spec's rules and applies it in the next group transaction
/// (`Db::write_grouped`, which may run it more than once), in which `answer` builds the response from what
/// was granted (given the partner).
async fn invite<T: Send + 'static>(
    state: AppState,
    caller: PartnerCaller,
    request: CreateUserRequest,
    answer: impl Fn(&Connection, &str, &GrantOutcome, &[DoorRecord]) -> AppResult<T> + Send + 'static,
) -> AppResult<T> {
    let now = state.now();
    validation::validate_create_user(&request, now)?;
    let partner = caller.partner_uuid;
    let (answer, doors) = state
        .db
        .write_grouped(move |tx, memo| {
            // The door catalog and the partner's name are read once per batch: no invite writes them.
            let doors = usable_doors(tx, memo, &partner, &request.door_uuids)?;
            let partner_name: String = memo.get_or_read(PartnerName(partner.clone()), || {
                tx.prepare_cached("SELECT name FROM partners WHERE uuid = ?1")?
                    .query_row([&partner], |row| row.get(0))
            })?;
            let grant = GrantRequest {
                granter: GranterRef::Partner(partner.clone()),
                granter_name: partner_name,
                first_name: request.first_name.clone(),
                last_name: request.last_name.clone(),
                email: request.email.clone(),
                phone: request.phone.clone(),
                start_time: request.start_time,
                end_time: request.end_time,
                doors,
                shareable: request.shareable,
                passcode_type: request.passcode_type,
                role: request.role,
                should_notify: request.should_notify,
            };
            let outcome = grant::grant(tx, now, &grant)?;
            let answer = answer(tx, &partner, &outcome, &grant.doors)?;
            Ok::<_, AppError>((answer, grant.doors))
        })
        .await?;
    state.push_to_connected_locks(doors.iter().map(|door| door.view.uuid.as_str()));
    Ok(answer)
}

/// A partner's name, as the invites of one batch read it once ([`BatchMemo`]).
#[derive(Hash, PartialEq, Eq)]
struct PartnerName(String);

impl MemoKey for PartnerName {
    type Value = String;
}

/// Whether a partner may use a door, and the door (`directory::visible_door`), read once per batch.
#[derive(Hash, PartialEq, Eq)]
struct VisibleDoor {
    partner: String,
    door: String,
}

impl MemoKey for VisibleDoor {
    type Value = Option<DoorRecord>;
}

/// The requested doors (duplicates dropped, order kept), or 400 naming every door the partner cannot use.
fn usable_doors(
    conn: &Connection,
    memo: &BatchMemo,
    partner: &str,
    uuids: &[String],
) -> AppResult<Vec<DoorRecord>> {
    let mut doors: Vec<DoorRecord> = Vec::with_capacity(uuids.len());
    let mut invalid = Vec::new();
    for uuid in uuids {
        if doors.iter().any(|door| &door.view.uuid == uuid) {
            continue;
        }
        let visible = memo
            .get_or_read(VisibleDoor { partner: partner.to_owned(), door: uuid.clone() }, || {
                directory::visible_door(conn, partner, uuid)
            })?;
        match visible {
            Some(door) => doors.push(door),
            None => invalid.push(uuid.as_str()),
        }
    }
    if !invalid.is_empty() {
        return Err(AppError::BadRequest(format!(
            "invalid door UUIDs: {}. A partner can use a door only through an enabled key assigned to it; \
             list yours with GET /access/sdk/v1/doors",
            invalid.join(", ")
        )));
    }
    Ok(doors)
}

async fn list(
    State(state): State<AppState>,
    caller: PartnerCaller,
    params: Params,
) -> AppResult<Json<UsersPage>> {
    params.only(&["pageSize", "pageToken"])?;
    let page = pagination::parse(&params)?;
    let users = state.db.read(|conn| {
        let users = directory::partner_users(conn, &caller.partner_uuid)?;
        let (users, next) = pagination::cut(users, page);
        let views = users
            .iter()
            .map(|user| directory::partner_user_view(conn, &caller.partner_uuid, user))
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok::<_, rusqlite::Error>(UsersPage { users: views, next_page_token: next })
    })?;
    Ok(Json(users))
}

fn user_not_found(user: &str) -> AppError {
    AppError::NotFound(format!(
        "user {user} not found: check the user identifier (it must be a user you invited)"
    ))
}

/// A user the partner has granted access to, with the accesses it may see.
fn partner_user(conn: &Connection, partner: &str, user_uuid: &str) -> AppResult<(UserRecord, UserView)> {
    let user = directory::user(conn, user_uuid)?.ok_or_else(|| user_not_found(user_uuid))?;
    let view = directory::partner_user_view(conn, partner, &user)?;
    if view.accesses.is_empty() {
        return Err(user_not_found(user_uuid));
    }
    Ok((user, view))
}

async fn get_user(
    State(state): State<AppState>,
    caller: PartnerCaller,
    ids: PathIds,
) -> AppResult<Json<UserView>> {
    let (_, view) = state.db.read(|conn| partner_user(conn, &caller.partner_uuid, ids.id(0)))?;
    Ok(Json(view))
}

/// The partner's own access of `user` to `door`, or 404 explaining which identifier is wrong.
fn own_access(conn: &Connection, partner: &str, user: &str, door: &str) -> AppResult<AccessRecord> {
    partner_user(conn, partner, user)?;
    if directory::visible_door(conn, partner, door)?.is_none() {
        return Err(AppError::NotFound(format!(
            "door {door} not found: check the door identifier (it must be a door of an enabled key assigned to you)"
        )));
    }
    directory::partner_accesses_of(conn, partner, user)?
        .into_iter()
        .find(|access| access.door_uuid == door && access.granter == GranterRef::Partner(partner.to_owned()))
        .ok_or_else(|| AppError::NotFound(format!("user {user} has no access to door {door} granted by you")))
}

async fn patch_access(
    State(state): State<AppState>,
    caller: PartnerCaller,
    ids: PathIds,
    JsonBody(request): JsonBody<PatchAccessRequest>,
) -> AppResult<Json<UserView>> {
    let (user, door) = (ids.id(0), ids.id(1));
    let now = state.now();
    let view = state.db.write(|tx| {
        let access = own_access(tx, &caller.partner_uuid, user, door)?;
        if access.passcode_type != PasscodeType::Permanent {
            return Err(AppError::NotFound(format!(
                "user {user} has no permanent access to door {door}: only PERMANENT access can be patched"
            )));
        }
        validation::validate_patch(request.end_time, access.start_time, now)?;
        tx.execute(
            "UPDATE accesses SET shareable = ?1, end_time = ?2
             WHERE user_uuid = ?3 AND door_uuid = ?4 AND granter_type = 'PARTNER' AND granter_uuid = ?5",
            params![
                request.shareable.unwrap_or(access.shareable),
                request.end_time.map(ts),
                user,
                door,
                caller.partner_uuid
            ],
        )?;
        let (record, view) = partner_user(tx, &caller.partner_uuid, user)?;
        let changed = own_access(tx, &caller.partner_uuid, user, door)?;
        events::record::access_changed(tx, now, &record, &changed)?;
        Ok(view)
    })?;
    state.push_to_connected_locks([door]);
    Ok(Json(view))
}

async fn revoke(State(state): State<AppState>, caller: PartnerCaller, ids: PathIds) -> AppResult<()> {
    let (user, door) = (ids.id(0), ids.id(1));
    let now = state.now();
    state.db.write(|tx| {
        let access = own_access(tx, &caller.partner_uuid, user, door)?;
        let (record, _) = partner_user(tx, &caller.partner_uuid, user)?;
        events::record::access_revoked(tx, now, &record, &access)?;
        let removed: Option<i64> = tx
            .query_row(
                "DELETE FROM accesses
                 WHERE user_uuid = ?1 AND door_uuid = ?2 AND granter_type = 'PARTNER' AND granter_uuid = ?3
                 RETURNING seq",
                params![user, door, caller.partner_uuid],
                |row| row.get(0),
            )
            .optional()?;
        removed.map(|_| ()).ok_or_else(|| user_not_found(user))
    })?;
    state.push_to_connected_locks([door]);
    Ok(())
}
