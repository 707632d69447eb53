//! The manager pages and their forms. Each GET renders a page; each POST checks the session and its CSRF
//! token, calls the manager API, and either redirects back (303) or shows the page again with the form's
//! message and values.

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{NaiveDateTime, TimeZone, Utc};
use latchkey::model::{AccessibilityType, DeviceType, DoorType, Role};
use rusqlite::Connection;
use serde_json::json;

use super::html::{FormView, Rejected, STYLE, csrf_field, enum_options, esc, layout};
use super::{
    FormData, Session, call_api, end_session, same_secret, secure_html, see_other, session, start_session,
    with_cookie,
};
use crate::backend::state::AppState;

/// The manager page routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/manager", get(home))
        .route("/manager/", get(home))
        .route("/manager/style.css", get(style))
        .route("/manager/sign-in", get(sign_in_page).post(sign_in))
        .route("/manager/sign-out", axum::routing::post(sign_out))
        .route(
            "/manager/partners",
            get(|s, h, q| page(s, h, q, Page::Partners)).post(|s, h, b| submit(s, h, b, Page::Partners)),
        )
        .route(
            "/manager/buildings",
            get(|s, h, q| page(s, h, q, Page::Buildings)).post(|s, h, b| submit(s, h, b, Page::Buildings)),
        )
        .route(
            "/manager/keys",
            get(|s, h, q| page(s, h, q, Page::Keys)).post(|s, h, b| submit(s, h, b, Page::Keys)),
        )
        .route(
            "/manager/users",
            get(|s, h, q| page(s, h, q, Page::Users)).post(|s, h, b| submit(s, h, b, Page::Users)),
        )
        .route("/manager/outbox", get(|s, h, q| page(s, h, q, Page::Outbox)))
        .route("/manager/webhooks", get(|s, h, q| page(s, h, q, Page::Webhooks)))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Page {
    Partners,
    Buildings,
    Keys,
    Users,
    Outbox,
    Webhooks,
}

impl Page {
    fn path(self) -> &'static str {
        match self {
            Page::Partners => "/manager/partners",
            Page::Buildings => "/manager/buildings",
            Page::Keys => "/manager/keys",
            Page::Users => "/manager/users",
            Page::Outbox => "/manager/outbox",
            Page::Webhooks => "/manager/webhooks",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Page::Partners => "Partners",
            Page::Buildings => "Buildings and doors",
            Page::Keys => "Keys",
            Page::Users => "Users",
            Page::Outbox => "Outbox",
            Page::Webhooks => "Webhooks",
        }
    }
}

async fn style() -> Response {
    ([("content-type", "text/css; charset=utf-8"), ("cache-control", "no-cache")], STYLE).into_response()
}

async fn home(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if session(&state, &headers).is_some() {
        see_other("/manager/buildings")
    } else {
        see_other("/manager/sign-in")
    }
}

fn sign_in_html(error: Option<&str>) -> String {
    let error = error
        .map(|message| format!("<p class=\"error\" role=\"alert\" id=\"token-error\">{}</p>", esc(message)))
        .unwrap_or_default();
    let described =
        if error.is_empty() { "" } else { " aria-describedby=\"token-error\" aria-invalid=\"true\"" };
    layout(
        "Sign in",
        None,
        None,
        &format!(
            "<section class=\"card\"><form method=\"post\" action=\"/manager/sign-in\" class=\"stack\">{error}\
             <label>Manager token<input type=\"password\" name=\"token\" autocomplete=\"current-password\" required autofocus{described}></label>\
             <button>Sign in</button></form><p class=\"muted\">The simulator's <code>--manager-token</code>.</p></section>"
        ),
    )
}

async fn sign_in_page() -> Response {
    secure_html(StatusCode::OK, sign_in_html(None))
}

async fn sign_in(State(state): State<AppState>, body: Bytes) -> Response {
    let form = FormData::parse(&body);
    if !same_secret(form.get("token"), state.config.manager_token.expose()) {
        return secure_html(StatusCode::UNAUTHORIZED, sign_in_html(Some("That is not the manager token.")));
    }
    match start_session(&state) {
        Ok(cookie) => with_cookie(see_other("/manager/buildings"), &cookie),
        Err(error) => error.into_response(),
    }
}

async fn sign_out(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let form = FormData::parse(&body);
    match session(&state, &headers) {
        Some(current) if same_secret(form.get("csrf"), &current.csrf) => {
            let cookie = end_session(&state, &headers);
            with_cookie(see_other("/manager/sign-in"), &cookie)
        }
        _ => see_other("/manager/sign-in"),
    }
}

async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
    which: Page,
) -> Response {
    let Some(current) = session(&state, &headers) else { return see_other("/manager/sign-in") };
    let notice = query.get("done").and_then(|done| notice(done));
    render(&state, &current, which, notice.map(str::to_owned), None, StatusCode::OK)
}

/// The fixed messages a redirect may name (never text from the query string).
fn notice(done: &str) -> Option<&'static str> {
    Some(match done {
        "building" => "Building created.",
        "door" => "Door created.",
        "activated" => "Door activated: its lock is installed.",
        "key" => "Key created. Assign it to a partner and enable it.",
        "assigned" => "Key assigned to the partner.",
        "enabled" => "Key enabled.",
        "key-doors" => "Key doors saved: a new version of the key is in effect.",
        "invited" => "User invited: the confirmation email is in the outbox.",
        _ => return None,
    })
}

fn render(
    state: &AppState,
    current: &Session,
    which: Page,
    notice: Option<String>,
    rejected: Option<&Rejected>,
    status: StatusCode,
) -> Response {
    let body = state.db.read(|conn| -> rusqlite::Result<String> {
        let mut out = String::new();
        if let Some(notice) = &notice {
            out.push_str(&format!("<p class=\"notice\" role=\"status\">{}</p>", esc(notice)));
        }
        let csrf = &current.csrf;
        match which {
            Page::Partners => partners(conn, csrf, rejected, &mut out)?,
            Page::Buildings => buildings(conn, csrf, rejected, &mut out)?,
            Page::Keys => keys(conn, csrf, rejected, &mut out)?,
            Page::Users => users(conn, csrf, rejected, &mut out)?,
            Page::Outbox => outbox(conn, &mut out)?,
            Page::Webhooks => super::webhooks::page(conn, &mut out)?,
        }
        Ok(out)
    });
    match body {
        Ok(body) => {
            secure_html(status, layout(which.title(), Some(which.path()), Some(&current.csrf), &body))
        }
        Err(error) => crate::backend::error::AppError::from(error).into_response(),
    }
}

fn rows<T>(
    conn: &Connection,
    sql: &str,
    map: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Vec<T>> {
    let mut statement = conn.prepare(sql)?;
    statement.query_map([], map)?.collect()
}

fn form_open(action: &str, id: &str, class: &str, csrf: &str) -> String {
    format!(
        "<form method=\"post\" action=\"{action}\" class=\"{class}\" id=\"{}\" novalidate>{}<input type=\"hidden\" name=\"form\" value=\"{}\">",
        esc(id),
        csrf_field(csrf),
        esc(id)
    )
}

fn partners(
    conn: &Connection,
    csrf: &str,
    rejected: Option<&Rejected>,
    out: &mut String,
) -> rusqlite::Result<()> {
    let list = rows(conn, "SELECT uuid, name, client_id FROM partners ORDER BY created_at, name", |row| {
        Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?, row.get::<_, String>(2)?))
    })?;
    out.push_str("<section class=\"card\"><h2>Partners</h2><table><thead><tr><th>Name</th><th>Client id</th><th>UUID</th></tr></thead><tbody>");
    for (uuid, name, client_id) in &list {
        out.push_str(&format!(
            "<tr><td>{}</td><td><code>{}</code></td><td><code>{}</code></td></tr>",
            esc(name),
            esc(client_id),
            esc(uuid)
        ));
    }
    if list.is_empty() {
        out.push_str("<tr><td colspan=\"3\" class=\"muted\">No partners yet.</td></tr>");
    }
    out.push_str("</tbody></table></section>");
    let f = FormView::new("partner", rejected);
    out.push_str(&format!(
        "<section class=\"card\"><h2>Create a partner</h2>{}{}{}<button>Create partner</button></form></section>",
        form_open("/manager/partners", "partner", "stack", csrf),
        f.error(),
        f.input("text", "name", "Name", "", " required maxlength=\"100\""),
    ));
    Ok(())
}

fn battery(percentage: Option<i64>) -> String {
    percentage.map(|p| format!("{p}%")).unwrap_or_else(|| "—".into())
}

fn buildings(
    conn: &Connection,
    csrf: &str,
    rejected: Option<&Rejected>,
    out: &mut String,
) -> rusqlite::Result<()> {
    let buildings =
        rows(conn, "SELECT uuid, name, timezone, common_doorcodes FROM buildings ORDER BY seq", |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, bool>(3)?,
            ))
        })?;
    #[allow(clippy::type_complexity)]
    let doors: Vec<(
        String,
        String,
        String,
        String,
        String,
        bool,
        Option<String>,
        Option<String>,
        Option<i64>,
    )> = rows(
        conn,
        "SELECT uuid, building_uuid, name, door_type, accessibility_type, is_connected, serial_number, device_type, battery_percentage FROM doors ORDER BY seq",
        |row| {
            Ok((
                row.get(0)?,
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
                row.get(5)?,
                row.get(6)?,
                row.get(7)?,
                row.get(8)?,
            ))
        },
    )?;
    if buildings.is_empty() {
        out.push_str(
            "<section class=\"card\"><p class=\"muted\">No buildings yet: create one below.</p></section>",
        );
    }
    for (uuid, name, timezone, common) in &buildings {
        out.push_str(&format!(
            "<section class=\"card\" aria-labelledby=\"b-{uuid}\"><h2 id=\"b-{uuid}\">{}</h2><p class=\"muted\">{} · common doorcodes {}</p>\
             <table><thead><tr><th>Door</th><th>Type</th><th>Activation</th><th>Connectivity</th><th>Battery</th></tr></thead><tbody>",
            esc(name), esc(timezone), if *common { "on" } else { "off" }
        ));
        let mut any = false;
        for (_, building, door, door_type, accessibility, connected, serial, device, pct) in &doors {
            if building != uuid {
                continue;
            }
            any = true;
            let activation = match (serial, device) {
                (Some(serial), device) => format!(
                    "<span class=\"badge on\">Activated</span> <code>{}</code> {}",
                    esc(serial),
                    esc(device.as_deref().unwrap_or(""))
                ),
                (None, _) => "<span class=\"badge off\">Not activated</span>".into(),
            };
            out.push_str(&format!(
                "<tr><td>{}</td><td>{} · {}</td><td>{activation}</td><td>{}</td><td>{}</td></tr>",
                esc(door),
                esc(door_type),
                esc(accessibility),
                if *connected {
                    "<span class=\"badge on\">Connected</span>"
                } else {
                    "<span class=\"badge off\">Offline (syncs through phones)</span>"
                },
                battery(*pct)
            ));
        }
        if !any {
            out.push_str("<tr><td colspan=\"5\" class=\"muted\">No doors yet.</td></tr>");
        }
        out.push_str("</tbody></table></section>");
    }
    let f = FormView::new("building", rejected);
    out.push_str(&format!(
        "<section class=\"card\"><h2>Create a building</h2>{}{}{}{}{}<button>Create building</button></form></section>",
        form_open("/manager/buildings", "building", "stack", csrf),
        f.error(),
        f.input("text", "name", "Name", "", " required maxlength=\"100\""),
        f.input("text", "timezone", "Time zone (IANA, e.g. America/New_York)", "America/New_York", " required"),
        f.checkbox("commonDoorcodes", "on", "Common doorcodes", false),
    ));
    let building_options: Vec<(String, String)> =
        buildings.iter().map(|(uuid, name, _, _)| (uuid.clone(), name.clone())).collect();
    let f = FormView::new("door", rejected);
    out.push_str(&format!(
        "<section class=\"card\"><h2>Create a door</h2>{}{}{}{}{}{}{}<button>Create door</button></form></section>",
        form_open("/manager/buildings", "door", "stack", csrf),
        f.error(),
        f.select("buildingUuid", "Building", &building_options, ""),
        f.input("text", "name", "Name", "", " required maxlength=\"100\""),
        f.select("type", "Type", &enum_options(&DoorType::ALL.iter().map(|t| t.as_str()).collect::<Vec<_>>()), "DOOR"),
        f.select("accessibilityType", "Accessibility", &enum_options(&AccessibilityType::ALL.iter().map(|t| t.as_str()).collect::<Vec<_>>()), "COMMUNAL"),
        f.checkbox("isConnected", "on", "Connected (online) lock", false),
    ));
    let pending: Vec<(String, String)> =
        doors.iter().filter(|d| d.6.is_none()).map(|d| (d.0.clone(), d.2.clone())).collect();
    let f = FormView::new("activate", rejected);
    out.push_str(&format!(
        "<section class=\"card\"><h2>Activate a door (installer)</h2>{}{}{}{}{}<button>Activate</button></form></section>",
        form_open("/manager/buildings", "activate", "stack", csrf),
        f.error(),
        f.select("doorUuid", "Door", &pending, ""),
        f.input("text", "serialNumber", "Lock serial number", "", " required maxlength=\"64\""),
        f.select("deviceType", "Device type", &enum_options(&DeviceType::ALL.iter().map(|t| t.as_str()).collect::<Vec<_>>()), "M"),
    ));
    Ok(())
}

fn door_names(conn: &Connection) -> rusqlite::Result<Vec<(String, String)>> {
    rows(
        conn,
        "SELECT d.uuid, d.name || ' (' || b.name || ')' FROM doors d JOIN buildings b ON b.uuid = d.building_uuid ORDER BY d.seq",
        |row| Ok((row.get(0)?, row.get(1)?)),
    )
}

fn keys(
    conn: &Connection,
    csrf: &str,
    rejected: Option<&Rejected>,
    out: &mut String,
) -> rusqlite::Result<()> {
    let doors = door_names(conn)?;
    let door_name = |uuid: &str| {
        doors.iter().find(|d| d.0 == uuid).map(|d| d.1.clone()).unwrap_or_else(|| uuid.to_owned())
    };
    let partners = rows(conn, "SELECT uuid, name FROM partners ORDER BY created_at, name", |row| {
        Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
    })?;
    let keys = rows(conn, "SELECT uuid FROM keys ORDER BY seq", |row| row.get::<_, String>(0))?;
    if keys.is_empty() {
        out.push_str(
            "<section class=\"card\"><p class=\"muted\">No keys yet: create one below.</p></section>",
        );
    }
    for uuid in &keys {
        let key = crate::backend::manager::key_view(conn, uuid)
            .map_err(|error| rusqlite::Error::InvalidParameterName(error.to_string()))?;
        let partner = key
            .partner_uuid
            .as_deref()
            .map(|p| partners.iter().find(|x| x.0 == p).map(|x| x.1.clone()).unwrap_or_else(|| p.to_owned()));
        out.push_str(&format!(
            "<section class=\"card\" aria-labelledby=\"k-{uuid}\"><h2 id=\"k-{uuid}\">{} <span class=\"badge\">version {}</span> {}</h2>\
             <p>Doors: {}</p><p>Partner: {}</p><p class=\"muted\">Settings: PERMANENT access, granted with the start and end of each invite.</p>",
            esc(&key.name), key.version,
            if key.enabled { "<span class=\"badge on\">Enabled</span>" } else { "<span class=\"badge off\">Disabled</span>" },
            key.door_uuids.iter().map(|d| esc(&door_name(d))).collect::<Vec<_>>().join(", "),
            partner.map(|p| esc(&p)).unwrap_or_else(|| "<span class=\"muted\">not assigned: no partner app can unlock with it yet</span>".into()),
        ));
        if key.partner_uuid.is_none() {
            let id = format!("assign-{uuid}");
            let f = FormView::new(id.clone(), rejected);
            out.push_str(&format!(
                "{}<input type=\"hidden\" name=\"keyUuid\" value=\"{}\">{}{}<button>Assign to partner</button></form>",
                form_open("/manager/keys", &id, "inline", csrf), esc(uuid), f.error(),
                f.select("partnerUuid", "Partner (a key belongs to one partner)", &partners, ""),
            ));
        }
        if !key.enabled {
            let id = format!("enable-{uuid}");
            let f = FormView::new(id.clone(), rejected);
            out.push_str(&format!(
                "{}<input type=\"hidden\" name=\"keyUuid\" value=\"{}\">{}<button>Enable key</button></form>",
                form_open("/manager/keys", &id, "inline", csrf),
                esc(uuid),
                f.error(),
            ));
        }
        let id = format!("doors-{uuid}");
        let f = FormView::new(id.clone(), rejected);
        let mut boxes = String::new();
        for (door, name) in &doors {
            boxes.push_str(&f.checkbox("doorUuids", door, name, key.door_uuids.contains(door)));
        }
        out.push_str(&format!(
            "<details><summary>Edit doors (makes version {})</summary>{}<input type=\"hidden\" name=\"keyUuid\" value=\"{}\">{}<fieldset><legend>Doors</legend>{boxes}</fieldset><button>Save doors</button></form></details></section>",
            key.version + 1, form_open("/manager/keys", &id, "stack", csrf), esc(uuid), f.error(),
        ));
    }
    let f = FormView::new("key", rejected);
    let mut boxes = String::new();
    for (door, name) in &doors {
        boxes.push_str(&f.checkbox("doorUuids", door, name, false));
    }
    out.push_str(&format!(
        "<section class=\"card\"><h2>Create a key</h2>{}{}{}<fieldset><legend>Doors</legend>{boxes}</fieldset><button>Create key</button></form></section>",
        form_open("/manager/keys", "key", "stack", csrf), f.error(),
        f.input("text", "name", "Name", "", " required maxlength=\"100\""),
    ));
    Ok(())
}

fn users(
    conn: &Connection,
    csrf: &str,
    rejected: Option<&Rejected>,
    out: &mut String,
) -> rusqlite::Result<()> {
    let doors = door_names(conn)?;
    let users = rows(
        conn,
        "SELECT uuid, first_name, last_name, email, password_hash IS NOT NULL FROM users ORDER BY seq",
        |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, Option<String>>(3)?,
                row.get::<_, bool>(4)?,
            ))
        },
    )?;
    out.push_str("<section class=\"card\"><h2>Users and their accesses</h2><table><thead><tr><th>User</th><th>Email</th><th>Account</th><th>Accesses</th></tr></thead><tbody>");
    for (uuid, first, last, email, finalized) in &users {
        let accesses = {
            let mut statement = conn.prepare(
                "SELECT a.door_uuid, a.granter_type, a.role, a.passcode_type, a.start_time, a.end_time, k.name, k.version
                 FROM accesses a LEFT JOIN keys k ON k.uuid = a.key_uuid WHERE a.user_uuid = ?1 ORDER BY a.seq",
            )?;
            statement
                .query_map([uuid], |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                        row.get::<_, String>(3)?,
                        row.get::<_, String>(4)?,
                        row.get::<_, Option<String>>(5)?,
                        row.get::<_, Option<String>>(6)?,
                        row.get::<_, Option<u32>>(7)?,
                    ))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?
        };
        let list = accesses
            .iter()
            .map(|(door, granter, role, kind, start, end, key, version)| {
                let name =
                    doors.iter().find(|d| &d.0 == door).map(|d| d.1.clone()).unwrap_or_else(|| door.clone());
                let via = match (key, version) {
                    (Some(key), Some(version)) => format!(" via key {} v{version}", esc(key)),
                    _ => String::new(),
                };
                format!(
                    "<li>{} — {} {} by {}{via}; {} → {}</li>",
                    esc(&name),
                    esc(kind),
                    esc(role),
                    esc(granter),
                    esc(start),
                    esc(end.as_deref().unwrap_or("no end"))
                )
            })
            .collect::<String>();
        out.push_str(&format!(
            "<tr><td>{} {}</td><td>{}</td><td>{}</td><td><ul>{}</ul></td></tr>",
            esc(first),
            esc(last),
            esc(email.as_deref().unwrap_or("—")),
            if *finalized { "password set" } else { "invited" },
            if list.is_empty() { "<li class=\"muted\">none</li>".into() } else { list }
        ));
    }
    if users.is_empty() {
        out.push_str("<tr><td colspan=\"4\" class=\"muted\">No users yet.</td></tr>");
    }
    out.push_str("</tbody></table></section>");
    let keys = rows(conn, "SELECT uuid, name || ' (v' || version || ')' FROM keys ORDER BY seq", |row| {
        Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
    })?;
    let f = FormView::new("invite", rejected);
    out.push_str(&format!(
        "<section class=\"card\"><h2>Invite a user</h2>{}{}{}{}{}{}{}{}{}<p class=\"muted\">Times are UTC. Every invite sends the confirmation email.</p><button>Invite user</button></form></section>",
        form_open("/manager/users", "invite", "stack", csrf), f.error(),
        f.input("text", "firstName", "First name", "", " required maxlength=\"100\" autocomplete=\"off\""),
        f.input("text", "lastName", "Last name", "", " required maxlength=\"100\" autocomplete=\"off\""),
        f.input("email", "email", "Email", "", " required autocomplete=\"off\""),
        f.select("keyUuid", "Key", &keys, ""),
        f.input("datetime-local", "startTime", "Start (UTC)", "", " required"),
        f.input("datetime-local", "endTime", "End (UTC, optional)", "", ""),
        f.select("role", "Role", &enum_options(&Role::ALL.iter().map(|r| r.as_str()).collect::<Vec<_>>()), "NON_RESIDENT"),
    ));
    Ok(())
}

fn outbox(conn: &Connection, out: &mut String) -> rusqlite::Result<()> {
    let messages = crate::backend::outbox::list(conn)?;
    out.push_str("<section class=\"card\"><table><thead><tr><th>#</th><th>To</th><th>Kind</th><th>Message</th><th>Sent</th></tr></thead><tbody>");
    for message in messages.iter().rev() {
        out.push_str(&format!(
            "<tr><td>{}</td><td>{} {}</td><td>{}</td><td><strong>{}</strong><pre>{}</pre></td><td>{}</td></tr>",
            message.id, esc(&format!("{:?}", message.channel)), esc(&message.recipient), esc(&format!("{:?}", message.kind)),
            esc(&message.subject), esc(&message.content), esc(&message.sent_at.to_rfc3339()),
        ));
    }
    if messages.is_empty() {
        out.push_str("<tr><td colspan=\"5\" class=\"muted\">Nothing sent yet.</td></tr>");
    }
    out.push_str("</tbody></table></section>");
    Ok(())
}

/// A `datetime-local` value (UTC) as RFC 3339, or a message.
fn utc_time(field: &str, value: &str) -> Result<String, String> {
    let parsed = NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S"))
        .map_err(|_| format!("{field} must be a date and time such as 2026-06-10T09:00"))?;
    Ok(Utc.from_utc_datetime(&parsed).to_rfc3339())
}

async fn submit(State(state): State<AppState>, headers: HeaderMap, body: Bytes, which: Page) -> Response {
    let Some(current) = session(&state, &headers) else { return see_other("/manager/sign-in") };
    let form = FormData::parse(&body);
    if !same_secret(form.get("csrf"), &current.csrf) {
        return secure_html(
            StatusCode::FORBIDDEN,
            layout(
                "Form expired",
                None,
                Some(&current.csrf),
                "<p class=\"error\" role=\"alert\">This form's security token is missing or stale (CSRF check). Go back, reload the page and submit again.</p>",
            ),
        );
    }
    let id = form.get("form").to_owned();
    let key = form.get("keyUuid").to_owned();
    let outcome: Result<(&str, Option<String>), String> = async {
        match (which, id.as_str()) {
            (Page::Partners, "partner") => {
                let created = call_api(&state, Method::POST, "/manager/v1/partners", Some(json!({ "name": form.get("name") }))).await?;
                let text = format!(
                    "Partner {} created. Give the partner these credentials now; the secret is not shown again. client_id: {} client_secret: {}",
                    created["name"].as_str().unwrap_or_default(), created["clientId"].as_str().unwrap_or_default(), created["clientSecret"].as_str().unwrap_or_default()
                );
                Ok(("", Some(text)))
            }
            (Page::Buildings, "building") => call_api(&state, Method::POST, "/manager/v1/buildings", Some(json!({
                "name": form.get("name"), "timezone": form.get("timezone").trim(), "commonDoorcodes": form.checked("commonDoorcodes") }))).await.map(|_| ("building", None)),
            (Page::Buildings, "door") => {
                if form.get("buildingUuid").is_empty() { return Err("Create a building first, then choose it here.".into()); }
                call_api(&state, Method::POST, "/manager/v1/doors", Some(json!({
                "buildingUuid": form.get("buildingUuid"), "name": form.get("name"), "type": form.get("type"),
                "accessibilityType": form.get("accessibilityType"), "isConnected": form.checked("isConnected") }))).await.map(|_| ("door", None))
            }
            (Page::Buildings, "activate") => {
                let door = form.get("doorUuid");
                if door.is_empty() { return Err("Choose a door that is not activated yet.".into()); }
                call_api(&state, Method::POST, &format!("/manager/v1/doors/{}/activate", urlencode(door)), Some(json!({
                "serialNumber": form.get("serialNumber"), "deviceType": form.get("deviceType") }))).await.map(|_| ("activated", None))
            }
            (Page::Keys, "key") => call_api(&state, Method::POST, "/manager/v1/keys", Some(json!({
                "name": form.get("name"), "doorUuids": form.all("doorUuids") }))).await.map(|_| ("key", None)),
            (Page::Keys, form_id) if form_id.starts_with("assign-") => {
                if form.get("partnerUuid").is_empty() { return Err("Create a partner first, then choose it here.".into()); }
                call_api(&state, Method::PUT, &format!("/manager/v1/keys/{}/partner", urlencode(&key)), Some(json!({ "partnerUuid": form.get("partnerUuid") }))).await.map(|_| ("assigned", None))
            }
            (Page::Keys, form_id) if form_id.starts_with("enable-") =>
                call_api(&state, Method::POST, &format!("/manager/v1/keys/{}/enable", urlencode(&key)), None).await.map(|_| ("enabled", None)),
            (Page::Keys, form_id) if form_id.starts_with("doors-") => call_api(&state, Method::PUT, &format!("/manager/v1/keys/{}/doors", urlencode(&key)), Some(json!({
                "doorUuids": form.all("doorUuids") }))).await.map(|_| ("key-doors", None)),
            (Page::Users, "invite") => {
                if form.get("keyUuid").is_empty() { return Err("Create a key first, then choose it here.".into()); }
                let start = utc_time("Start", form.get("startTime"))?;
                let end = if form.get("endTime").trim().is_empty() { None } else { Some(utc_time("End", form.get("endTime"))?) };
                let mut body = json!({ "firstName": form.get("firstName"), "lastName": form.get("lastName"), "email": form.get("email").trim(),
                    "keyUuid": form.get("keyUuid"), "startTime": start, "role": form.get("role") });
                if let Some(end) = end { body["endTime"] = json!(end); }
                call_api(&state, Method::POST, "/manager/v1/users", Some(body)).await.map(|_| ("invited", None))
            }
            _ => Err("Unknown form: reload the page.".into()),
        }
    }
    .await;
    match outcome {
        Ok((_, Some(text))) => render(&state, &current, which, Some(text), None, StatusCode::OK),
        Ok((done, None)) => see_other(&format!("{}?done={done}", which.path())),
        Err(message) => {
            let mut values: HashMap<String, Vec<String>> = HashMap::new();
            for (name, value) in &form.0 {
                if name != "csrf" {
                    values.entry(name.clone()).or_default().push(value.clone());
                }
            }
            let rejected = Rejected { form: id, message, values };
            render(&state, &current, which, None, Some(&rejected), StatusCode::BAD_REQUEST)
        }
    }
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}
