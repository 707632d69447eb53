//! The manager page's webhooks view (`/manager/webhooks`): every partner's endpoints with their state and
//! the last attempts of each, read-only (partners manage their endpoints through the partner API). Never
//! shows a secret.

use rusqlite::Connection;

use super::html::esc;
use crate::backend::events::endpoints::{attempt_log, endpoints_of};

/// How many attempts the page shows per endpoint.
const ATTEMPTS_SHOWN: usize = 10;

/// Renders the view into `out`.
pub fn page(conn: &Connection, out: &mut String) -> rusqlite::Result<()> {
    let mut statement = conn.prepare("SELECT uuid, name FROM partners ORDER BY created_at, name")?;
    let partners = statement
        .query_map([], |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut any = false;
    for (partner, name) in partners {
        for endpoint in endpoints_of(conn, &partner)? {
            any = true;
            let types = endpoint.types.as_ref().map_or_else(
                || "every type".to_owned(),
                |types| types.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(", "),
            );
            let state = match &endpoint.disabled_reason {
                None => "<span class=\"badge on\">enabled</span>".to_owned(),
                Some(reason) => format!("<span class=\"badge off\">disabled</span> {}", esc(reason)),
            };
            out.push_str(&format!(
                "<section class=\"card\"><h2>{} — <code>{}</code></h2><p>{} {}</p><p class=\"muted\">{} · {}</p>\
                 <table><thead><tr><th>Attempted</th><th>Event</th><th>Status</th><th>Latency</th></tr></thead><tbody>",
                esc(&name),
                esc(&endpoint.url),
                state,
                esc(&endpoint.description),
                esc(&types),
                esc(&endpoint.uuid),
            ));
            let attempts = attempt_log(conn, &endpoint.uuid)?;
            for attempt in attempts.iter().take(ATTEMPTS_SHOWN) {
                let status = match (attempt.status, &attempt.error) {
                    (Some(status), None) => status.to_string(),
                    (_, Some(error)) => error.clone(),
                    (None, None) => "—".to_owned(),
                };
                out.push_str(&format!(
                    "<tr><td>{}</td><td>{} <code>{}</code></td><td>{}</td><td>{} ms</td></tr>",
                    esc(&attempt.attempted_at.to_rfc3339()),
                    esc(attempt.event_type.as_str()),
                    esc(&attempt.event_id),
                    esc(&status),
                    attempt.latency_ms,
                ));
            }
            if attempts.is_empty() {
                out.push_str("<tr><td colspan=\"4\" class=\"muted\">No deliveries yet.</td></tr>");
            }
            out.push_str("</tbody></table></section>");
        }
    }
    if !any {
        out.push_str(
            "<section class=\"card\"><p class=\"muted\">No webhook endpoints yet: partners register them with \
             POST /access/sdk/v1/webhooks/endpoints.</p></section>",
        );
    }
    Ok(())
}
