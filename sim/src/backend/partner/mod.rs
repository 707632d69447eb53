//! The partner API of the spec (`/access/sdk/...`), for callers holding a partner-scoped token. A partner
//! sees and grants only on doors of enabled keys assigned to it.

mod doors;
mod users;

use axum::Router;

use super::state::AppState;

/// The partner routes.
pub fn router() -> Router<AppState> {
    Router::new().merge(users::router()).merge(doors::router())
}
