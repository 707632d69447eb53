//! [`VirtualLock`]: one simulated lock running the lock side of the protocol on persistent state.
//!
//! It owns the lock's decisions and its state: identity and keys from activation, the synced access data
//! (`LockSyncState`, plus the users removed from the access list, which count as revoked), the keypad,
//! the chained event log, the clock (set only by backend-signed time tokens, advanced by the simulator's
//! clock with a drift, losing power on demand), the RAM ticket table and the battery. Every change is
//! saved at once as one row (see [`super::state`]). It does not frame or carry bytes:
//! [`super::LockConnection`] does.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use latchkey::Clock;
use latchkey_protocol::credential::SKEW_SECS;
use latchkey_protocol::crypto::{DhSecret, PublicKey};
use latchkey_protocol::doorcode::LocalDay;
use latchkey_protocol::eventlog::{self, EventKind, EventLog, LogState, Lost, Record, Refusals};
use latchkey_protocol::keypad::{
    DenyReason, GuessBudget, Keypad, SingleUseEntry, Throttle, Verdict, ZoneRule,
};
use latchkey_protocol::sync::{ClockReading, Delta, LockClock, LockSyncState, TimeToken};
use latchkey_protocol::sync::{
    DeltaOutcome, LogBatch, MAX_LOG_ENTRIES_PER_BATCH, SyncChannel, SyncInbound, SyncReport, refusal,
    refusal_reason, seal_log_batch,
};
use latchkey_protocol::unlock::{
    EventOutcome, LockIdentity, LockReply, LockSession, Path, ResultCode, TicketTable, TimeStatus,
};
use rusqlite::{Connection, OptionalExtension, params};

use super::LockError;
use super::state::{ClockState, LostState, Persisted, RefusalsState};
use crate::backend::db::{Db, ts};
use crate::backend::lockside::Provisioned;

/// A simulated lock. Not `Clone`: the registry hands out one shared instance per lock.
pub struct VirtualLock {
    db: Db,
    clock: Arc<dyn Clock>,
    door_uuid: String,
    identity: LockIdentity,
    static_secret: [u8; 32],
    door_secret: [u8; 32],
    code_hash_key: [u8; 32],
    log_key: [u8; 32],
    sync: LockSyncState,
    applied: Vec<Vec<u8>>,
    removed_users: BTreeSet<[u8; 16]>,
    keypad: Keypad,
    log: EventLog,
    lock_clock: LockClock,
    anchor_ms: i64,
    drift_ppm: i32,
    last_token: Option<Vec<u8>>,
    tickets: TicketTable,
    /// The monotonic floor: the clock reading of the last save (what a power loss restarts from).
    floor: u32,
    /// Connections the lock will still start a session for (RAM, like the ticket table).
    sessions: SessionLimiter,
    battery_percent: u8,
    /// A test control: the power fails at the next save, which never reaches flash, nor any later one.
    power_cut: PowerCut,
}

/// Whether a test has cut the lock's power (see [`VirtualLock::cut_power_at_next_save`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum PowerCut {
    /// Powered.
    #[default]
    None,
    /// The next save fails.
    AtNextSave,
    /// Off: nothing is saved until the lock is loaded again (the registry's `reload_all`).
    Off,
}

impl std::fmt::Debug for VirtualLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VirtualLock")
            .field("door_uuid", &self.door_uuid)
            .field("last_applied_seq", &self.sync.last_applied_seq())
            .finish_non_exhaustive()
    }
}

/// Failed sessions a lock takes in a burst before it refuses connections (protocol.md §21, flooding).
pub const FAILED_SESSION_BURST: u32 = 10;
/// One more failed session is allowed per this many milliseconds of the lock's tick counter.
pub const FAILED_SESSION_REFILL_MS: i64 = 2_000;

/// A token bucket of failed sessions (unlock requests refused or aborted), on the lock's tick counter
/// (never its settable clock). Granted unlocks and syncs cost nothing, so honest phones are never
/// slowed; once junk has emptied it, new connections get no Hello until it refills.
#[derive(Clone, Copy, Debug)]
struct SessionLimiter {
    tokens: u32,
    updated_ms: i64,
}

impl Default for SessionLimiter {
    fn default() -> SessionLimiter {
        SessionLimiter { tokens: FAILED_SESSION_BURST, updated_ms: i64::MIN }
    }
}

impl SessionLimiter {
    /// Refills up to `now_ms`; whether a new session may start.
    fn allows(&mut self, now_ms: i64) -> bool {
        if self.updated_ms == i64::MIN || now_ms < self.updated_ms || self.tokens == FAILED_SESSION_BURST {
            self.updated_ms = now_ms;
        }
        let refilled = (now_ms - self.updated_ms) / FAILED_SESSION_REFILL_MS;
        if refilled > 0 {
            let refilled = u32::try_from(refilled).unwrap_or(u32::MAX);
            self.tokens = self.tokens.saturating_add(refilled).min(FAILED_SESSION_BURST);
            self.updated_ms += i64::from(refilled.min(FAILED_SESSION_BURST)) * FAILED_SESSION_REFILL_MS;
        }
        self.tokens > 0
    }

    /// A session failed.
    fn charge(&mut self) {
        self.tokens = self.tokens.saturating_sub(1);
    }
}

/// Detail of an UNLOCK_DENIED entry for a connection refused before any session (rate limit): "no
/// session" (2) << 8 | 0xff.
pub const CONNECTION_REFUSED_DETAIL: u16 = 0x02ff;

/// Writes a new lock's first state (inside the activation's transaction): identity and keys from
/// `provisioned`, its first deltas and a clock set by the installer's time token at `now`.
pub fn install(conn: &Connection, provisioned: &Provisioned, now: DateTime<Utc>) -> Result<(), LockError> {
    let token = TimeToken::decode(&provisioned.time_token).map_err(|e| LockError::State(e.to_string()))?;
    let state = Persisted {
        door_uuid: provisioned.door_uuid.clone(),
        static_secret: provisioned.static_secret.to_vec(),
        backend_public: provisioned.backend_public.to_vec(),
        door_secret: provisioned.door_secret.to_vec(),
        code_hash_key: provisioned.code_hash_key.to_vec(),
        log_key: provisioned.log_key.to_vec(),
        applied_deltas: provisioned.deltas.clone(),
        clock: ClockState {
            time: token.time,
            anchor_ms: now.timestamp_millis(),
            uncertain: false,
            last_token: Some(provisioned.time_token.clone()),
            drift_ppm: 0,
        },
        throttle: Throttle::new().encode(),
        guess_budget: GuessBudget::full().encode().to_vec(),
        single_use: Vec::new(),
        log_entries: Vec::new(),
        log_next_seq: eventlog::FIRST_SEQ,
        log_last_mac: eventlog::GENESIS_PREV_MAC.to_vec(),
        log_lost: LostState::default(),
        log_refusals: RefusalsState::default(),
        battery_percent: 100,
    };
    write_row(conn, &provisioned.door_uuid, &state, now)
}

fn write_row(
    conn: &Connection,
    door_uuid: &str,
    state: &Persisted,
    now: DateTime<Utc>,
) -> Result<(), LockError> {
    let bytes = state.encode().map_err(|e| LockError::State(e.to_string()))?;
    conn.execute(
        "INSERT OR REPLACE INTO virtual_locks (door_uuid, state, updated_at) VALUES (?1, ?2, ?3)",
        params![door_uuid, bytes, ts(now)],
    )?;
    Ok(())
}

fn array<const N: usize>(bytes: &[u8], what: &str) -> Result<[u8; N], LockError> {
    bytes.try_into().map_err(|_| LockError::State(format!("stored {what} has the wrong length")))
}

fn corrupt(what: &str) -> impl Fn(String) -> LockError + '_ {
    move |e| LockError::State(format!("stored {what}: {e}"))
}

impl VirtualLock {
    /// Loads the lock of `door_uuid` from the database, or `None` if the door has no virtual lock.
    pub fn load(db: &Db, clock: Arc<dyn Clock>, door_uuid: &str) -> Result<Option<VirtualLock>, LockError> {
        let bytes: Option<Vec<u8>> = db.read(|conn| {
            conn.query_row("SELECT state FROM virtual_locks WHERE door_uuid = ?1", [door_uuid], |row| {
                row.get(0)
            })
            .optional()
        })?;
        let Some(bytes) = bytes else {
            return Ok(None);
        };
        let p = Persisted::decode(&bytes).map_err(|e| LockError::State(e.to_string()))?;
        let lock_id =
            crate::backend::lockside::lock_id(&p.door_uuid).map_err(|e| LockError::State(e.to_string()))?;
        let static_secret = array::<32>(&p.static_secret, "static key")?;
        let backend_key =
            PublicKey::from_bytes(&p.backend_public).map_err(|e| corrupt("backend key")(e.to_string()))?;
        let identity = LockIdentity {
            lock_id,
            static_key: DhSecret::from_bytes(&static_secret)
                .map_err(|e| corrupt("static key")(e.to_string()))?,
            backend_key,
        };
        let door_secret = array::<32>(&p.door_secret, "door secret")?;
        let code_hash_key = array::<32>(&p.code_hash_key, "code hash key")?;
        let log_key = array::<32>(&p.log_key, "log key")?;

        let mut sync = LockSyncState::new(lock_id);
        let mut removed_users = BTreeSet::new();
        let mut issued_slots = Vec::new();
        for bytes in &p.applied_deltas {
            let delta = Delta::decode(bytes).map_err(|e| corrupt("delta")(e.to_string()))?;
            let applied = sync.apply(&delta, &backend_key).map_err(|e| corrupt("delta")(e.to_string()))?;
            for user in applied.users_added {
                removed_users.remove(&user);
            }
            removed_users.extend(applied.users_removed);
            issued_slots.extend(applied.daily_slots_issued);
        }

        let mut keypad = Keypad::new(lock_id, door_secret, code_hash_key);
        keypad.set_throttle(
            Throttle::decode(&p.throttle).ok_or_else(|| LockError::State("stored throttle".into()))?,
        );
        if !p.guess_budget.is_empty() {
            keypad.set_budget(
                GuessBudget::decode(&p.guess_budget)
                    .ok_or_else(|| LockError::State("stored guess budget".into()))?,
            );
        }
        keypad
            .set_single_use_entries(
                p.single_use
                    .iter()
                    .map(|&(day, slot, first_use)| SingleUseEntry { day: LocalDay(day), slot, first_use })
                    .collect(),
            )
            .map_err(|e| corrupt("single-use table")(e.to_string()))?;
        for code in sync.permanent_codes() {
            keypad.set_permanent(*code).map_err(|e| corrupt("permanent codes")(e.to_string()))?;
        }
        for (day, kind, issued) in issued_slots {
            keypad.set_issued_slots(day, kind, issued).map_err(|e| corrupt("issued slots")(e.to_string()))?;
        }

        let log = EventLog::restore(
            lock_id,
            log_key,
            LogState {
                entries: eventlog::decode_entries(&p.log_entries)
                    .map_err(|e| corrupt("log")(e.to_string()))?,
                next_seq: p.log_next_seq,
                last_mac: array::<16>(&p.log_last_mac, "log mac")?,
                lost: Lost {
                    count: p.log_lost.count,
                    first_time: p.log_lost.first_time,
                    last_time: p.log_lost.last_time,
                    time_uncertain: p.log_lost.time_uncertain,
                },
                refusals: Refusals {
                    window_start: p.log_refusals.window_start,
                    chained_in_window: p.log_refusals.chained_in_window,
                    count: p.log_refusals.count,
                    first_time: p.log_refusals.first_time,
                    last_time: p.log_refusals.last_time,
                    unlock: p.log_refusals.unlock,
                    keypad: p.log_refusals.keypad,
                    time_uncertain: p.log_refusals.time_uncertain,
                },
            },
        )
        .map_err(|e| corrupt("log chain")(format!("{e:?}")))?;

        let lock_clock = restore_clock(lock_id, &p.clock, &backend_key)?;
        Ok(Some(VirtualLock {
            db: db.clone(),
            clock,
            door_uuid: p.door_uuid,
            identity,
            static_secret,
            door_secret,
            code_hash_key,
            log_key,
            sync,
            applied: p.applied_deltas,
            removed_users,
            keypad,
            log,
            lock_clock,
            anchor_ms: p.clock.anchor_ms,
            drift_ppm: p.clock.drift_ppm,
            last_token: p.clock.last_token,
            tickets: TicketTable::new(),
            sessions: SessionLimiter::default(),
            floor: p.clock.time,
            battery_percent: p.battery_percent,
            power_cut: PowerCut::None,
        }))
    }

    fn persisted(&self) -> Persisted {
        let state = self.log.state();
        Persisted {
            door_uuid: self.door_uuid.clone(),
            static_secret: self.static_secret.to_vec(),
            backend_public: self.identity.backend_key.to_bytes().to_vec(),
            door_secret: self.door_secret.to_vec(),
            code_hash_key: self.code_hash_key.to_vec(),
            log_key: self.log_key.to_vec(),
            applied_deltas: self.applied.clone(),
            clock: ClockState {
                time: self.lock_clock.now().time,
                anchor_ms: self.anchor_ms,
                uncertain: self.lock_clock.now().uncertain,
                last_token: self.last_token.clone(),
                drift_ppm: self.drift_ppm,
            },
            throttle: self.keypad.throttle().encode(),
            guess_budget: self.keypad.budget().encode().to_vec(),
            single_use: self
                .keypad
                .single_use_entries()
                .iter()
                .map(|e| (e.day.0, e.slot, e.first_use))
                .collect(),
            log_entries: eventlog::encode_entries(&state.entries),
            log_next_seq: state.next_seq,
            log_last_mac: state.last_mac.to_vec(),
            log_lost: LostState {
                count: state.lost.count,
                first_time: state.lost.first_time,
                last_time: state.lost.last_time,
                time_uncertain: state.lost.time_uncertain,
            },
            log_refusals: RefusalsState {
                window_start: state.refusals.window_start,
                chained_in_window: state.refusals.chained_in_window,
                count: state.refusals.count,
                first_time: state.refusals.first_time,
                last_time: state.refusals.last_time,
                unlock: state.refusals.unlock,
                keypad: state.refusals.keypad,
                time_uncertain: state.refusals.time_uncertain,
            },
            battery_percent: self.battery_percent,
        }
    }

    /// Saves the whole state in one statement.
    pub fn save(&self) -> Result<(), LockError> {
        let state = self.persisted();
        let now = self.clock.now();
        self.db.write(|tx| write_row(tx, &self.door_uuid, &state, now))
    }

    /// A test control: the power fails in the middle of the next state change, after the lock changed its
    /// state in RAM and before it reached flash. The lock keeps answering from RAM (as a dying lock might)
    /// but saves nothing more; loading it again (the registry's `reload_all`) is the power coming back.
    pub fn cut_power_at_next_save(&mut self) {
        self.power_cut = PowerCut::AtNextSave;
    }

    /// A test control: refills the failed-session bucket, as a quiet spell would (a fuzzer drives
    /// thousands of failing sessions a second and would otherwise meet only refused connections).
    pub fn forgive_failed_sessions(&mut self) {
        self.sessions = SessionLimiter::default();
    }

    fn save_or_log(&mut self) {
        if let Err(error) = self.persist()
            && !matches!(error, LockError::Closed)
        {
            tracing::error!(door = %self.door_uuid, %error, "could not save the virtual lock");
        }
    }

    /// Saves, unless a test cut the power: then nothing reaches flash and the lock goes dark
    /// ([`LockError::Closed`]: its connection drops).
    fn persist(&mut self) -> Result<(), LockError> {
        match self.power_cut {
            PowerCut::None => {
                self.save()?;
                self.floor = self.floor.max(self.lock_clock.now().time);
                Ok(())
            }
            PowerCut::AtNextSave | PowerCut::Off => {
                self.power_cut = PowerCut::Off;
                Err(LockError::Closed)
            }
        }
    }

    /// The door uuid.
    pub fn door_uuid(&self) -> &str {
        &self.door_uuid
    }

    /// The lock id (the door uuid's bytes).
    pub fn lock_id(&self) -> [u8; 16] {
        self.identity.lock_id
    }

    /// The key the lock checks deltas and time tokens with (the backend's public key).
    pub fn backend_key(&self) -> &PublicKey {
        &self.identity.backend_key
    }

    /// The last applied delta seq.
    pub fn last_applied_seq(&self) -> u64 {
        self.sync.last_applied_seq()
    }

    /// The synced access data (read-only).
    pub fn sync_state(&self) -> &LockSyncState {
        &self.sync
    }

    /// The event log entries not yet acknowledged by the backend.
    pub fn pending_log(&self) -> &[eventlog::Entry] {
        self.log.pending()
    }

    /// Battery level, 0..=100.
    pub fn battery_percent(&self) -> u8 {
        self.battery_percent
    }

    /// Sets the battery level (test control).
    pub fn set_battery_percent(&mut self, percent: u8) {
        self.battery_percent = percent.min(100);
        self.save_or_log();
    }

    /// Sets the oscillator error in ppm (test control); the clock is brought up to date first.
    pub fn set_drift_ppm(&mut self, ppm: i32) {
        self.advance();
        self.drift_ppm = ppm;
        self.save_or_log();
    }

    /// The lock's clock now, advanced by its own oscillator since the last reading.
    pub fn now(&mut self) -> ClockReading {
        self.advance();
        self.lock_clock.now()
    }

    fn advance(&mut self) {
        let now_ms = self.clock.now().timestamp_millis();
        let elapsed = now_ms - self.anchor_ms;
        if elapsed < 0 {
            self.anchor_ms = now_ms;
            return;
        }
        let rate = 1_000_000 + i64::from(self.drift_ppm);
        let secs = elapsed * rate / 1_000_000 / 1000;
        if secs > 0 {
            self.lock_clock.tick(u32::try_from(secs).unwrap_or(u32::MAX));
            self.anchor_ms += secs * 1000 * 1_000_000 / rate.max(1);
        }
    }

    /// Loses power: the clock restarts, uncertain, from its monotonic floor (the reading of the last save,
    /// never behind the last token), the ticket table (RAM) is emptied, and a POWER_LOST event is logged.
    /// What was saved before stays.
    pub fn power_loss(&mut self) {
        self.advance();
        self.lock_clock = LockClock::after_power_loss_from(
            self.identity.lock_id,
            self.lock_clock.last_token_time(),
            self.floor,
        );
        self.anchor_ms = self.clock.now().timestamp_millis();
        self.tickets = TicketTable::new();
        self.record(EventKind::POWER_LOST, [0; 16], 0);
        self.save_or_log();
    }

    fn record(&mut self, kind: EventKind, subject: [u8; 16], detail: u16) {
        let now = self.lock_clock.now();
        self.log.append(Record { time: now.time, time_uncertain: now.uncertain, kind, subject, detail });
    }

    fn zone(&self) -> ZoneRule {
        self.sync.zone_rule().cloned().unwrap_or_else(ZoneRule::utc)
    }

    /// Someone types `code` on the keypad: checked at the lock's own time and zone rule, logged, saved.
    /// A grant opens the door only once it is saved: if the save fails the bolt stays
    /// ([`DenyReason::NotRecorded`]).
    pub fn enter_code(&mut self, code: &str) -> Verdict {
        let now = self.now();
        let zone = self.zone();
        let (verdict, event) = self.keypad.enter_at(code, now.time, now.uncertain, &zone);
        self.log.append(event.to_record(now.uncertain));
        match self.persist() {
            Ok(()) => verdict,
            Err(error) => {
                if !matches!(error, LockError::Closed) {
                    tracing::error!(door = %self.door_uuid, %error, "could not save the virtual lock");
                }
                match verdict {
                    Verdict::Granted { .. } => Verdict::Denied { reason: DenyReason::NotRecorded },
                    denied => denied,
                }
            }
        }
    }

    /// Applies one delta the backend pushed (a connected lock) and saves.
    pub fn apply_delta(&mut self, bytes: &[u8]) -> DeltaOutcome {
        self.advance();
        let (_, outcome) = self.apply_one(bytes);
        self.save_or_log();
        outcome
    }

    fn apply_one(&mut self, bytes: &[u8]) -> (u64, DeltaOutcome) {
        let delta = match Delta::decode(bytes) {
            Ok(delta) => delta,
            Err(error) => return (0, DeltaOutcome::Refused(refusal_reason(&error))),
        };
        if let Err(error) = delta.verify(&self.identity.backend_key, &self.identity.lock_id) {
            return (delta.seq, DeltaOutcome::Refused(refusal_reason(&error)));
        }
        if delta.seq <= self.sync.last_applied_seq() {
            return (delta.seq, DeltaOutcome::AlreadyApplied);
        }
        let applied = match self.sync.apply(&delta, &self.identity.backend_key) {
            Ok(applied) => applied,
            Err(error) => return (delta.seq, DeltaOutcome::Refused(refusal_reason(&error))),
        };
        self.applied.push(bytes.to_vec());
        for user in &applied.users_added {
            self.removed_users.remove(user);
        }
        for user in &applied.users_removed {
            self.removed_users.insert(*user);
            self.tickets.revoke_user(user);
        }
        for credential in &applied.credentials_revoked {
            self.tickets.revoke_credential(credential);
        }
        for code in &applied.permanent_codes_added {
            if let Err(error) = self.keypad.set_permanent(*code) {
                tracing::warn!(?error, "virtual lock could not store a PERMANENT code");
            }
        }
        for id in &applied.permanent_codes_removed {
            self.keypad.revoke_permanent(id);
        }
        for &(day, kind, issued) in &applied.daily_slots_issued {
            if let Err(error) = self.keypad.set_issued_slots(day, kind, issued) {
                tracing::warn!(?error, "virtual lock could not store issued daily slots");
            }
        }
        for token in &applied.time_tokens {
            self.apply_token(token);
        }
        for ack in &applied.log_acks {
            if let Err(error) = self.log.acknowledge(ack.up_to_seq, &[], &ack.verifier(self.identity.lock_id))
            {
                tracing::debug!(?error, seq = ack.up_to_seq, "log ack not applied");
            }
        }
        self.record(EventKind::SYNC_APPLIED, [0; 16], (delta.seq & 0xffff) as u16);
        (delta.seq, DeltaOutcome::Applied)
    }

    /// Applies a time token and logs CLOCK_SET with the seconds the clock went back (0 when it moved
    /// forward or was uncertain), saturated to u16.
    fn apply_token(&mut self, token: &TimeToken) -> bool {
        let before = self.lock_clock.now();
        match self.lock_clock.apply_time_token(token, &self.identity.backend_key) {
            Ok(now) => {
                self.last_token = Some(token.encode().to_vec());
                let back = if before.uncertain { 0 } else { before.time.saturating_sub(now) };
                self.record(EventKind::CLOCK_SET, [0; 16], u16::try_from(back).unwrap_or(u16::MAX));
                true
            }
            Err(error) => {
                tracing::debug!(?error, "time token refused");
                false
            }
        }
    }

    /// Starts an unlock/sync session for a new connection: a fresh challenge at the lock's time.
    /// Starts a session (its `Hello`), with the instant it started on the lock's tick counter (the
    /// simulator's clock: a test moving it shows a stale challenge).
    ///
    /// After [`FAILED_SESSION_BURST`] failed sessions in a burst, one more per
    /// [`FAILED_SESSION_REFILL_MS`]: a refused connection gets no Hello ([`LockError::Busy`]) and is
    /// logged as a refusal (coalesced with the others), so junk costs the lock neither crypto nor log
    /// space.
    pub(super) fn start_session(&mut self) -> Result<(LockSession, DateTime<Utc>), LockError> {
        if !self.sessions.allows(self.clock.now().timestamp_millis()) {
            self.advance();
            self.record(EventKind::UNLOCK_DENIED, [0; 16], CONNECTION_REFUSED_DETAIL);
            self.save_or_log();
            return Err(LockError::Busy);
        }
        let now = self.now();
        let random = latchkey_protocol::unlock::LockRandom {
            challenge: crate::backend::state::random_bytes::<16>(),
            ticket_id: crate::backend::state::random_bytes::<16>(),
        };
        Ok((LockSession::new(self.identity.lock_id, now.time, status(now), random), self.clock.now()))
    }

    /// Handles an unlock request on `session` (started at `hello_at`), logs the event and saves. A grant
    /// is answered (and the bolt moves) only once it is saved: if the save fails the lock sends nothing
    /// and the connection closes.
    pub(super) fn handle_unlock(
        &mut self,
        session: &mut LockSession,
        hello_at: DateTime<Utc>,
        message: &[u8],
    ) -> Result<LockReply, LockError> {
        let elapsed_ms = u64::try_from((self.clock.now() - hello_at).num_milliseconds()).unwrap_or(0);
        let now = self.now();
        let sync = &self.sync;
        let removed = &self.removed_users;
        // Revoked: the credential id was revoked, the user was removed from the access list, or the user's
        // synced access ended (a PATCH of endTime) more than the credential skew ago.
        let revoked = |credential: &[u8; 16], user: &[u8; 16]| {
            sync.is_revoked(credential)
                || removed.contains(user)
                || sync.access(user).is_some_and(|w| now.time > w.not_after.saturating_add(SKEW_SECS))
        };
        let reply =
            session.handle_within(&self.identity, message, now.time, elapsed_ms, &revoked, &mut self.tickets);
        let event = reply.event;
        let granted = event.outcome == EventOutcome::Result(ResultCode::Granted);
        let code = match event.outcome {
            EventOutcome::Result(result) => u16::from(result.byte()),
            EventOutcome::Aborted(reason) => 0x80 | u16::from(reason.byte()),
        };
        let path = match event.path {
            Path::Full => 0u16,
            Path::Resume => 1,
        };
        let subject = event.user_id.or(event.credential_id).unwrap_or([0; 16]);
        self.record(
            if granted { EventKind::UNLOCK_GRANTED } else { EventKind::UNLOCK_DENIED },
            subject,
            path << 8 | code,
        );
        if granted {
            self.persist()?;
        } else {
            self.sessions.charge();
            self.save_or_log();
        }
        Ok(reply)
    }

    /// Applies a whole sync (time token first, then each delta in order), saves once, and builds the report
    /// with the first sealed log batch, sealed under the sync channel keyed by the phone's key from SyncEnd
    /// (returned for the LogBatches of this connection).
    pub(super) fn handle_sync(
        &mut self,
        inbound: &SyncInbound,
        hello: &[u8],
    ) -> Result<(Vec<u8>, SyncChannel), LockError> {
        let channel =
            SyncChannel::lock(&self.identity.static_key, &inbound.phone_key, &self.identity.lock_id, hello)?;
        self.advance();
        if let Some(token) = &inbound.time_token {
            match TimeToken::decode(token) {
                Ok(token) => {
                    self.apply_token(&token);
                }
                Err(error) => tracing::debug!(?error, "malformed time token"),
            }
        }
        let outcomes: Vec<(u64, DeltaOutcome)> =
            inbound.deltas.iter().map(|bytes| self.apply_one(bytes)).collect();
        if outcomes.iter().any(|(_, o)| *o == DeltaOutcome::Refused(refusal::BAD_SIGNATURE)) {
            tracing::warn!(door = %self.door_uuid, "a sync carried a delta with a bad signature");
        }
        // Refusals counted so far go up with this upload, as one summary entry.
        self.log.flush_refusals();
        self.persist()?;
        let now = self.lock_clock.now();
        let (more_logs, sealed_logs) = self.log_batch(hello, 0)?;
        let report = SyncReport {
            last_applied_seq: self.sync.last_applied_seq(),
            lock_time: now.time,
            time_status: status(now),
            battery_percent: self.battery_percent,
            outcomes,
            more_logs,
            sealed_logs,
        };
        Ok((channel.seal_report(&report)?, channel))
    }

    /// Batch `index` of the pending log, sealed for the backend, as a LogBatch message sealed by the
    /// connection's sync channel.
    pub(super) fn log_batch_message(
        &self,
        channel: &SyncChannel,
        hello: &[u8],
        index: u32,
    ) -> Result<Vec<u8>, LockError> {
        let (more_logs, sealed_logs) = self.log_batch(hello, index)?;
        Ok(channel.seal_log_batch_message(index, &LogBatch { more_logs, sealed_logs })?)
    }

    fn log_batch(&self, hello: &[u8], index: u32) -> Result<(bool, Vec<u8>), LockError> {
        let pending = self.log.pending();
        let start = (index as usize).saturating_mul(MAX_LOG_ENTRIES_PER_BATCH).min(pending.len());
        let end = (start + MAX_LOG_ENTRIES_PER_BATCH).min(pending.len());
        let sealed =
            seal_log_batch(&self.log_key, &self.identity.lock_id, hello, index, &pending[start..end])?;
        Ok((end < pending.len(), sealed))
    }
}

fn status(now: ClockReading) -> TimeStatus {
    if now.uncertain { TimeStatus::Uncertain } else { TimeStatus::Synced }
}

fn restore_clock(lock_id: [u8; 16], state: &ClockState, backend: &PublicKey) -> Result<LockClock, LockError> {
    let token = state
        .last_token
        .as_deref()
        .map(TimeToken::decode)
        .transpose()
        .map_err(|e| corrupt("time token")(e.to_string()))?;
    let base = token.map(|t| t.time);
    if state.uncertain {
        // The saved reading is the monotonic floor: the clock never restarts behind it.
        return Ok(LockClock::after_power_loss_from(lock_id, base, state.time));
    }
    let mut clock = LockClock::after_power_loss(lock_id, None);
    if let Some(token) = &token {
        clock.apply_time_token(token, backend).map_err(|e| corrupt("time token")(e.to_string()))?;
    }
    clock.tick(state.time.saturating_sub(base.unwrap_or(0)));
    Ok(clock)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_sessions_empty_the_bucket_which_refills_one_per_interval() {
        let mut limiter = SessionLimiter::default();
        let t0 = 1_000_000;
        for _ in 0..FAILED_SESSION_BURST {
            assert!(limiter.allows(t0));
            limiter.charge();
        }
        assert!(!limiter.allows(t0), "the burst is spent");
        assert!(!limiter.allows(t0 + FAILED_SESSION_REFILL_MS - 1));
        assert!(limiter.allows(t0 + FAILED_SESSION_REFILL_MS), "one more after an interval");
        limiter.charge();
        assert!(!limiter.allows(t0 + FAILED_SESSION_REFILL_MS));
        // Honest sessions are never charged: a long quiet spell refills the whole burst, no more.
        assert!(limiter.allows(t0 + 1_000 * FAILED_SESSION_REFILL_MS));
        assert_eq!(limiter.tokens, FAILED_SESSION_BURST);
    }
}
