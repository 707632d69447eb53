//! Webhook endpoints of the partner API (`/access/sdk/v1/webhooks/endpoints`): what a partner registers,
//! what the backend shows of it, and the delivery log. The signing itself is `crate::webhooks`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::events::EventType;

/// An endpoint whose deliveries have failed without a success for this many days is disabled at its next
/// failure.
pub const WEBHOOK_DISABLE_AFTER_DAYS: i64 = 5;

/// How long the previous secret keeps signing after a rotation, in hours.
pub const WEBHOOK_SECRET_OVERLAP_HOURS: i64 = 24;

/// How many endpoints a partner may register.
pub const MAX_WEBHOOK_ENDPOINTS: usize = 20;

/// The longest endpoint description, in characters.
pub const MAX_WEBHOOK_DESCRIPTION: usize = 500;

/// `POST /access/sdk/v1/webhooks/endpoints`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateWebhookEndpointRequest {
    /// Where deliveries go: `https://…`, or `http://` to a loopback address in the simulator.
    pub url: String,
    /// The event types to deliver; none for every type (including types added later).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub types: Option<Vec<String>>,
    /// A note for people (up to 500 characters).
    #[serde(default)]
    pub description: String,
    /// A `whsec_` secret of your own; none lets the backend make one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// `PATCH /access/sdk/v1/webhooks/endpoints/:endpoint`: each field given replaces the stored one.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PatchWebhookEndpointRequest {
    /// A new URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// New types (an empty list is refused; omit the field to keep them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub types: Option<Vec<String>>,
    /// A new description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `true` enables a disabled endpoint again (its pending deliveries resume); `false` pauses it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

/// An endpoint as the API shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookEndpointView {
    /// Its identifier.
    pub uuid: String,
    /// Where deliveries go.
    pub url: String,
    /// The types delivered, or null for every type.
    pub types: Option<Vec<EventType>>,
    /// The note.
    pub description: String,
    /// Whether deliveries are being made.
    pub enabled: bool,
    /// Why it is disabled (by you, or after failing for 5 days), or null.
    pub disabled_reason: Option<String>,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
    /// The signing secret: only in the answers of create and rotate-secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// `GET /access/sdk/v1/webhooks/endpoints`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookEndpointsResponse {
    /// Every endpoint, oldest first.
    pub endpoints: Vec<WebhookEndpointView>,
}

/// `POST …/:endpoint/rotate-secret`: the new secret; the old one keeps signing until `previousSecretExpiresAt`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RotateWebhookSecretRequest {
    /// A `whsec_` secret of your own; none lets the backend make one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// The answer of rotate-secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RotatedWebhookSecret {
    /// The new secret.
    pub secret: String,
    /// Until when deliveries also carry a signature with the old secret.
    pub previous_secret_expires_at: DateTime<Utc>,
}

/// One delivery attempt in an endpoint's log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookAttemptView {
    /// The event delivered (`webhook-id`).
    pub event_id: String,
    /// The event's type.
    pub event_type: EventType,
    /// When the attempt was made (the simulator's clock).
    pub attempted_at: DateTime<Utc>,
    /// The endpoint's HTTP status, or null when there was no answer.
    pub status: Option<u16>,
    /// Why it failed (timeout, refused, a non-2xx status), or null on success.
    pub error: Option<String>,
    /// How long the attempt took, in milliseconds.
    pub latency_ms: u64,
    /// Whether the endpoint answered 2xx.
    pub succeeded: bool,
}

/// `GET …/:endpoint/attempts`: the newest attempts first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookAttemptsResponse {
    /// Up to the last 100 attempts.
    pub attempts: Vec<WebhookAttemptView>,
}

/// `POST …/:endpoint/replay`: one event, or every event of a time range.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReplayWebhookRequest {
    /// One event's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    /// The start of a range (events recorded at or after it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<DateTime<Utc>>,
    /// The end of a range (events recorded before it; none is now).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<DateTime<Utc>>,
}

/// The answer of replay.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplayWebhookResponse {
    /// How many deliveries were queued.
    pub queued: u64,
}
