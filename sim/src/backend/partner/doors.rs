//! `GET doors`, `GET buildings` and `GET buildings/:building/residents` of the partner API.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use latchkey::model::{BuildingView, BuildingsResponse, DoorsPage, ResidentView, ResidentsResponse, Role};

use crate::backend::auth::PartnerCaller;
use crate::backend::directory::{self, VISIBLE_DOORS};
use crate::backend::error::{AppError, AppResult};
use crate::backend::extract::{Params, PathIds};
use crate::backend::pagination;
use crate::backend::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/access/sdk/v1/doors", get(list_doors))
        .route("/access/sdk/v1/buildings", get(list_buildings))
        .route("/access/sdk/v1/buildings/{building}/residents", get(residents))
}

async fn list_doors(
    State(state): State<AppState>,
    caller: PartnerCaller,
    params: Params,
) -> AppResult<Json<DoorsPage>> {
    params.only(&["pageSize", "pageToken", "buildingUuid"])?;
    let page = pagination::parse(&params)?;
    let doors = state
        .db
        .read(|conn| directory::visible_doors(conn, &caller.partner_uuid, params.get("buildingUuid")))?;
    let (doors, next_page_token) = pagination::cut(doors, page);
    Ok(Json(DoorsPage { doors: doors.into_iter().map(|door| door.view).collect(), next_page_token }))
}

async fn list_buildings(
    State(state): State<AppState>,
    caller: PartnerCaller,
    params: Params,
) -> AppResult<Json<BuildingsResponse>> {
    params.only(&[])?;
    let buildings = state.db.read(|conn| {
        let mut statement = conn.prepare_cached(&format!(
            "SELECT uuid, name, timezone, common_doorcodes FROM buildings WHERE uuid IN (
                SELECT building_uuid FROM doors WHERE uuid IN ({VISIBLE_DOORS})) ORDER BY seq"
        ))?;
        let rows = statement.query_map([&caller.partner_uuid], |row| {
            Ok(BuildingView {
                uuid: row.get(0)?,
                name: row.get(1)?,
                timezone: row.get(2)?,
                common_doorcodes: row.get(3)?,
            })
        })?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
    })?;
    Ok(Json(BuildingsResponse { buildings }))
}

/// Users with current RESIDENT access (granted by the property manager or by this partner) to the
/// building's doors that this partner may use.
async fn residents(
    State(state): State<AppState>,
    caller: PartnerCaller,
    ids: PathIds,
    params: Params,
) -> AppResult<Json<ResidentsResponse>> {
    params.only(&[])?;
    let building = ids.id(0);
    let now = state.now();
    let residents = state.db.read(|conn| {
        let doors = directory::visible_doors(conn, &caller.partner_uuid, Some(building))?;
        if doors.is_empty() {
            return Ok(None);
        }
        let mut by_user: BTreeMap<(String, String, String), ResidentView> = BTreeMap::new();
        for door in &doors {
            let mut statement = conn.prepare_cached(
                "SELECT DISTINCT user_uuid FROM accesses WHERE door_uuid = ?1 AND role = ?2
                   AND (granter_type = 'MANAGER' OR (granter_type = 'PARTNER' AND granter_uuid = ?3))
                   AND start_time <= ?4 AND (end_time IS NULL OR end_time > ?4)",
            )?;
            let users = statement
                .query_map(
                    rusqlite::params![
                        door.view.uuid,
                        Role::Resident.as_str(),
                        caller.partner_uuid,
                        crate::backend::db::ts(now)
                    ],
                    |row| row.get::<_, String>(0),
                )?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            for user_uuid in users {
                let Some(user) = directory::user(conn, &user_uuid)? else { continue };
                let key = (user.last_name.clone(), user.first_name.clone(), user.uuid.clone());
                by_user
                    .entry(key)
                    .or_insert_with(|| ResidentView {
                        user_uuid: user.uuid.clone(),
                        first_name: user.first_name.clone(),
                        last_name: user.last_name.clone(),
                        email: user.email.clone(),
                        phone: user.phone.clone(),
                        door_uuids: Vec::new(),
                    })
                    .door_uuids
                    .push(door.view.uuid.clone());
            }
        }
        Ok::<_, rusqlite::Error>(Some(by_user.into_values().collect()))
    })?;
    match residents {
        Some(residents) => Ok(Json(ResidentsResponse { residents })),
        None => Err(AppError::NotFound(format!(
            "building {building} not found: it must hold at least one door of an enabled key assigned to you"
        ))),
    }
}
