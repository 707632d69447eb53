//! The share kit: a user invites guests to the doors they may share, lists them and revokes them. Guest
//! accesses are granted with granter type USER and the user's uuid, role NON_RESIDENT, never shareable.

use std::str::FromStr;

use axum::extract::State;
use axum::routing::{delete, post};
use axum::{Json, Router};
use latchkey::model::{
    GuestInviteResult, GuestView, GuestsResponse, InviteGuestRequest, InviteGuestsResponse, PasscodeType,
    validation,
};
use rusqlite::{OptionalExtension, params};

use super::my_door;
use crate::backend::auth::UserCaller;
use crate::backend::directory::{self, AccessRecord, DoorRecord, GranterRef};
use crate::backend::error::{AppError, AppResult};
use crate::backend::events;
use crate::backend::extract::{JsonBody, PathIds};
use crate::backend::grant::{self, GrantRequest};
use crate::backend::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/access/sdk/v1/me/guests", post(invite).get(list))
        .route("/access/sdk/v1/me/guests/{guest}/doors/{door}", delete(revoke))
}

async fn invite(
    State(state): State<AppState>,
    caller: UserCaller,
    JsonBody(request): JsonBody<InviteGuestRequest>,
) -> AppResult<Json<InviteGuestsResponse>> {
    let now = state.now();
    validation::validate_guest_invite(&request, now)?;
    let (response, granted) = state.db.write(|tx| {
        let me = directory::user(tx, &caller.user_uuid)?
            .ok_or_else(|| AppError::Unauthorized("the signed-in user no longer exists".into()))?;
        let guest_email = request.email.as_deref().map(validation::normalized_email);
        let inviting_self = (guest_email.is_some() && guest_email == me.email)
            || (guest_email.is_none() && request.phone.is_some() && request.phone == me.phone);
        let mut results: Vec<GuestInviteResult> = Vec::new();
        let mut doors: Vec<DoorRecord> = Vec::new();
        for door_uuid in &request.door_uuids {
            if results.iter().any(|result| &result.door_uuid == door_uuid) {
                continue;
            }
            let refused = match shareable_door(tx, &caller, door_uuid, &request, inviting_self, now)? {
                Ok(door) => {
                    doors.push(door);
                    None
                }
                Err(reason) => Some(reason),
            };
            results.push(GuestInviteResult {
                door_uuid: door_uuid.clone(),
                granted: refused.is_none(),
                message: refused,
            });
        }
        if doors.is_empty() {
            return Ok::<_, AppError>((InviteGuestsResponse { guest_uuid: None, results }, doors));
        }
        let grant = GrantRequest {
            granter: GranterRef::User(caller.user_uuid.clone()),
            granter_name: format!("{} {}", me.first_name, me.last_name),
            first_name: request.first_name.clone(),
            last_name: request.last_name.clone(),
            email: request.email.clone().filter(|text| !text.trim().is_empty()),
            phone: request.phone.clone().filter(|text| !text.trim().is_empty()),
            start_time: request.start_time,
            end_time: request.end_time,
            doors: doors.clone(),
            shareable: false,
            passcode_type: request.passcode_type,
            role: latchkey::model::Role::NonResident,
            should_notify: true,
        };
        let outcome = grant::grant(tx, now, &grant)?;
        Ok((InviteGuestsResponse { guest_uuid: Some(outcome.user.uuid), results }, doors))
    })?;
    state.push_to_connected_locks(granted.iter().map(|door| door.view.uuid.as_str()));
    Ok(Json(response))
}

/// The door if the caller may share it with this guest, else why not (the per-door message).
fn shareable_door(
    conn: &rusqlite::Connection,
    caller: &UserCaller,
    door_uuid: &str,
    request: &InviteGuestRequest,
    inviting_self: bool,
    now: chrono::DateTime<chrono::Utc>,
) -> AppResult<Result<DoorRecord, String>> {
    if inviting_self {
        return Ok(Err("you cannot invite yourself as a guest".into()));
    }
    let (door, access) = match my_door(conn, caller, door_uuid, now) {
        Ok(found) => found,
        Err(AppError::NotFound(message)) => return Ok(Err(message)),
        Err(error) => return Err(error),
    };
    if access.passcode_type != PasscodeType::Permanent || !access.shareable {
        return Ok(Err(format!(
            "your access to door {door_uuid} is not shareable: only a PERMANENT access marked shareable can be \
             shared with guests"
        )));
    }
    if request.passcode_type.is_daily() {
        let zone = chrono_tz::Tz::from_str(&door.timezone).map_err(|_| {
            AppError::internal(format_args!("stored time zone {:?} is unknown", door.timezone))
        })?;
        if let Err(error) =
            validation::daily_start_day(request.passcode_type, request.start_time, now, &zone, &door.timezone)
        {
            return Ok(Err(format!("door {door_uuid}: {error}")));
        }
    }
    Ok(Ok(door))
}

async fn list(State(state): State<AppState>, caller: UserCaller) -> AppResult<Json<GuestsResponse>> {
    let now = state.now();
    let guests = state.db.read(|conn| {
        let guest_uuids: Vec<String> = {
            let mut statement = conn.prepare_cached(
                "SELECT DISTINCT user_uuid FROM accesses WHERE granter_type = 'USER' AND granter_uuid = ?1",
            )?;
            let rows = statement.query_map([&caller.user_uuid], |row| row.get(0))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let mut guests = Vec::new();
        for uuid in guest_uuids {
            let Some(user) = directory::user(conn, &uuid)? else { continue };
            let mut accesses = Vec::new();
            for access in directory::accesses_of(conn, &uuid)? {
                if mine_and_current(&access, &caller, now)
                    && directory::visible_door(conn, &caller.partner_uuid, &access.door_uuid)?.is_some()
                {
                    accesses.push(access.view());
                }
            }
            if accesses.is_empty() {
                continue;
            }
            guests.push(GuestView {
                guest_uuid: user.uuid,
                first_name: user.first_name,
                last_name: user.last_name,
                email: user.email,
                phone: user.phone,
                accesses,
            });
        }
        guests.sort_by(|a, b| (&a.last_name, &a.first_name).cmp(&(&b.last_name, &b.first_name)));
        Ok::<_, AppError>(guests)
    })?;
    Ok(Json(GuestsResponse { guests }))
}

fn mine_and_current(access: &AccessRecord, caller: &UserCaller, now: chrono::DateTime<chrono::Utc>) -> bool {
    access.granter == GranterRef::User(caller.user_uuid.clone()) && access.is_current(now)
}

async fn revoke(State(state): State<AppState>, caller: UserCaller, ids: PathIds) -> AppResult<()> {
    let (guest, door) = (ids.id(0), ids.id(1));
    let now = state.now();
    state.db.write(|tx| {
        let sharer = GranterRef::User(caller.user_uuid.clone());
        events::record::revoke_if_any(tx, now, guest, door, &sharer)?;
        let removed: Option<i64> = tx
            .query_row(
                "DELETE FROM accesses
                 WHERE user_uuid = ?1 AND door_uuid = ?2 AND granter_type = 'USER' AND granter_uuid = ?3
                 RETURNING seq",
                params![guest, door, caller.user_uuid],
                |row| row.get(0),
            )
            .optional()?;
        removed.map(|_| ()).ok_or_else(|| {
            AppError::NotFound(format!(
                "guest {guest} has no access to door {door} granted by you: list yours with GET /access/sdk/v1/me/guests"
            ))
        })
    })?;
    state.push_to_connected_locks([door]);
    Ok(())
}
