//! The persisted form of a virtual lock: one JSON document in one `virtual_locks` row, written with one
//! statement, so a power loss in the middle of applying a sync leaves the old state or the new one.
//!
//! The sync state is kept as the list of deltas the lock applied (re-verified and replayed on load): the
//! protocol's `LockSyncState` has no snapshot encoding, and replaying is what a lock that journals its
//! deltas would do. Keys are stored in the clear: this is a simulator's database, not a lock's secure
//! element. The resumption ticket table is RAM (protocol.md §8) and is not persisted.

use serde::{Deserialize, Serialize};

/// The lock's clock as persisted: its reading at the simulator instant `anchor_ms`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ClockState {
    /// Lock time (unix seconds) at `anchor_ms`.
    pub time: u32,
    /// Simulator time (unix milliseconds) the reading belongs to.
    pub anchor_ms: i64,
    /// Whether the lock's time is uncertain (lost power, never synced).
    pub uncertain: bool,
    /// The last accepted time token (84 bytes), if any.
    pub last_token: Option<Vec<u8>>,
    /// Oscillator error in parts per million (positive runs fast).
    pub drift_ppm: i32,
}

/// The lost-record counter of the event log.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
pub struct LostState {
    /// Records lost.
    pub count: u32,
    /// Time of the first lost record.
    pub first_time: u32,
    /// Time of the last lost record.
    pub last_time: u32,
    /// Whether any lost record had an uncertain time.
    pub time_uncertain: bool,
}

/// The event log's refusal window and the refusals counted for a summary (`eventlog::Refusals`).
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
pub struct RefusalsState {
    /// Start of the current window.
    pub window_start: u32,
    /// Refusals chained in full in the window.
    pub chained_in_window: u8,
    /// Refusals counted, not chained yet.
    pub count: u32,
    /// Time of the first counted refusal.
    pub first_time: u32,
    /// Time of the last counted refusal.
    pub last_time: u32,
    /// Counted unlock refusals.
    pub unlock: u32,
    /// Counted keypad refusals.
    pub keypad: u32,
    /// Whether any counted refusal had an uncertain time.
    pub time_uncertain: bool,
}

/// Everything a virtual lock keeps across restarts. Debug is not derived: it holds keys.
#[derive(Clone, Serialize, Deserialize)]
pub struct Persisted {
    /// The door uuid.
    pub door_uuid: String,
    /// The lock's static private key.
    pub static_secret: Vec<u8>,
    /// The backend's public key.
    pub backend_public: Vec<u8>,
    /// The door's doorcode secret.
    pub door_secret: Vec<u8>,
    /// The PERMANENT code-hash key.
    pub code_hash_key: Vec<u8>,
    /// The event-log MAC key.
    pub log_key: Vec<u8>,
    /// Every delta applied, in order.
    pub applied_deltas: Vec<Vec<u8>>,
    /// The clock.
    pub clock: ClockState,
    /// The keypad throttle (`Throttle::encode`).
    pub throttle: Vec<u8>,
    /// The keypad's yearly guessing budget (`GuessBudget::encode`); empty in states saved before it
    /// existed, which restore a full budget.
    #[serde(default)]
    pub guess_budget: Vec<u8>,
    /// The single-use table: (local day, slot, first use).
    pub single_use: Vec<(i32, u16, u32)>,
    /// The event log's pending entries (`eventlog::encode_entries`).
    pub log_entries: Vec<u8>,
    /// The next log seq.
    pub log_next_seq: u64,
    /// The MAC of the last chained entry.
    pub log_last_mac: Vec<u8>,
    /// Records lost while the log was full.
    pub log_lost: LostState,
    /// Refusals counted for a summary (absent in states saved before it existed: none).
    #[serde(default)]
    pub log_refusals: RefusalsState,
    /// Battery level, 0..=100.
    pub battery_percent: u8,
}

impl Persisted {
    /// The stored bytes.
    pub fn encode(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(self)
    }

    /// Parses stored bytes.
    pub fn decode(bytes: &[u8]) -> Result<Persisted, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}
