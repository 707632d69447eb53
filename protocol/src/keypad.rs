//! The lock's keypad: verifies a typed 7-digit doorcode offline and says what to log.
//!
//! A [`Keypad`] holds the door's code state: the door secret (DAILY and DAILY_SINGLE_USE codes are
//! derived with [`doorcode::daily`] for slots `0..DAILY_SLOT_WINDOW` of the local day, cached per day,
//! and accepted only below the synced high-water mark of issued slots plus [`SLOT_HEADROOM`]), the
//! single-use table, the keyed hashes of PERMANENT codes, revoked daily slots, the wrong-code
//! [`Throttle`] and the yearly [`GuessBudget`]. [`Keypad::enter`] checks one code against all of them at a caller-given time and zone
//! rule and returns a [`Verdict`] and a [`KeypadEvent`] for the event log. It never reads a clock, draws
//! no randomness and keeps no digits of PERMANENT codes. `docs/protocol.md` (sections 13 to 22) is normative.

mod budget;
mod permanent;
mod throttle;
mod zone;

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec::Vec;

pub use budget::{
    BUDGET_CAPACITY, BUDGET_REFILL_PER_YEAR, GUESS_BUDGET_LEN, GuessBudget, YEAR_SECS, YEARLY_RISK_BUDGET,
};
pub use permanent::{
    MAX_PERMANENT_CODES, PERMANENT_CODE_LEN, PERMANENT_HASH_LEN, PermanentCode, permanent_code_hash,
};
pub use throttle::{
    FIRST_LOCKOUT_SECS, FREE_ATTEMPTS, MAX_GUESSES_PER_DAY, MAX_LOCKOUT_SECS, Throttle, lockout_after,
};
pub use zone::{
    MAX_OFFSET_SECS, MAX_ZONE_TRANSITIONS, Transition, ZONE_RULE_VERSION, ZoneRule, ZoneRuleError, local_day,
};

use crate::doorcode::{self, DailyKind, Doorcode, LocalDay};
use crate::eventlog::{EventKind, Record};
use permanent::{Lookup, PermanentCodes};

/// Slots per kind, door and local day the lock accepts (0..64). The backend MUST NOT issue a DAILY or
/// DAILY_SINGLE_USE code with a slot at or above this window: the lock would refuse it.
pub const DAILY_SLOT_WINDOW: u16 = 64;
/// Slots per kind and local day accepted beyond the synced high-water mark of issued slots: the codes the
/// backend may have issued since the lock's last sync (a DAILY code works at an offline lock without a
/// sync, spec §2.3). A day with no synced mark accepts slots `0..SLOT_HEADROOM`.
pub const SLOT_HEADROOM: u16 = 4;
/// Days of issued-slot high-water marks held (today, tomorrow, and a clock set back a few days).
pub const ISSUED_SLOTS_DAYS: usize = 8;
/// A DAILY_SINGLE_USE code works until this many seconds after its first use (and only on its day).
pub const SINGLE_USE_VALID_SECS: u32 = 15 * 60;
/// Entries in the single-use table: two days of the full window, so a clock set back one day still fits.
pub const SINGLE_USE_TABLE_SIZE: usize = 2 * DAILY_SLOT_WINDOW as usize;
/// Revoked daily slots held (today and tomorrow, both kinds, full window).
pub const REVOKED_DAILY_TABLE_SIZE: usize = 4 * DAILY_SLOT_WINDOW as usize;
/// Most codes a door could ever accept on one day: both full daily windows plus every PERMANENT code.
pub const MAX_VALID_CODES_PER_DAY: usize = 2 * DAILY_SLOT_WINDOW as usize + MAX_PERMANENT_CODES;

/// Which kind of code opened the door.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeKind {
    /// DAILY: any number of uses on its local day.
    Daily,
    /// DAILY_SINGLE_USE: its local day, until 15 minutes after first use.
    DailySingleUse,
    /// PERMANENT: within its validity window, until revoked.
    Permanent,
}

impl CodeKind {
    /// The byte used in log details: 1 DAILY, 2 DAILY_SINGLE_USE, 3 PERMANENT.
    pub fn tag(self) -> u8 {
        match self {
            CodeKind::Daily => 1,
            CodeKind::DailySingleUse => 2,
            CodeKind::Permanent => 3,
        }
    }
}

/// Whose code it was, as far as the lock knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Holder {
    /// A derived code: the backend maps (door, kind, day, slot) to the access.
    Slot {
        /// The local day the code belongs to.
        day: LocalDay,
        /// Its slot.
        slot: u16,
    },
    /// A PERMANENT code: the access id sync delivered with its hash.
    Access([u8; 16]),
}

/// Why a code was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DenyReason {
    /// No valid code matches (including revoked codes and codes of other days).
    Wrong,
    /// A PERMANENT code outside its validity window.
    Expired,
    /// A DAILY_SINGLE_USE code more than 15 minutes after its first use.
    SingleUseSpent,
    /// A new DAILY_SINGLE_USE code while the single-use table is full of current entries (fail closed).
    SingleUseTableFull,
    /// Too many wrong codes: nothing is checked before `until` (unix seconds).
    LockedOut {
        /// When codes are checked again.
        until: u32,
    },
    /// Not exactly 7 ASCII digits.
    Malformed,
    /// A code that is valid only within a time window (a derived code, or a PERMANENT code with an end)
    /// typed while the lock's clock is uncertain (after a power loss, until a time token): its clock is
    /// only a lower bound of the time, so it cannot tell whether the window is over.
    TimeUncertain,
    /// A granted code the lock could not record (its state did not save): the bolt stays. The lock
    /// returns it, never [`Keypad::enter`].
    NotRecorded,
}

impl DenyReason {
    /// The byte used in log details (LockedOut has its own event kind and is 6 here).
    pub fn tag(self) -> u8 {
        match self {
            DenyReason::Wrong => 1,
            DenyReason::Expired => 2,
            DenyReason::SingleUseSpent => 3,
            DenyReason::SingleUseTableFull => 4,
            DenyReason::Malformed => 5,
            DenyReason::LockedOut { .. } => 6,
            DenyReason::NotRecorded => 7,
            DenyReason::TimeUncertain => 8,
        }
    }
}

/// The keypad's answer to one typed code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Open the door.
    Granted {
        /// Which kind of code.
        kind: CodeKind,
        /// Whose code.
        who: Holder,
    },
    /// Stay locked.
    Denied {
        /// Why.
        reason: DenyReason,
    },
}

/// What the keypad asks the lock to log (every attempt produces one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeypadEvent {
    /// The attempt's time.
    pub time: u32,
    /// [`EventKind::DOORCODE_GRANTED`], [`EventKind::DOORCODE_DENIED`] or [`EventKind::KEYPAD_LOCKED_OUT`].
    pub kind: EventKind,
    /// The access id for PERMANENT codes, else zeros.
    pub subject: [u8; 16],
    /// Granted: `code kind << 8 | slot`; denied: `reason << 8 | slot`; locked out: seconds left.
    pub detail: u16,
}

impl KeypadEvent {
    fn new(verdict: &Verdict, time: u32) -> KeypadEvent {
        let (kind, subject, detail) = match *verdict {
            Verdict::Granted { kind, who } => {
                let (subject, slot) = holder_fields(who);
                (EventKind::DOORCODE_GRANTED, subject, u16::from(kind.tag()) << 8 | slot)
            }
            Verdict::Denied { reason: DenyReason::LockedOut { until } } => {
                let left = u16::try_from(until.saturating_sub(time)).unwrap_or(u16::MAX);
                (EventKind::KEYPAD_LOCKED_OUT, [0; 16], left)
            }
            Verdict::Denied { reason } => (EventKind::DOORCODE_DENIED, [0; 16], u16::from(reason.tag()) << 8),
        };
        KeypadEvent { time, kind, subject, detail }
    }

    /// The log record, with the lock's current clock confidence.
    pub fn to_record(&self, time_uncertain: bool) -> Record {
        Record {
            time: self.time,
            time_uncertain,
            kind: self.kind,
            subject: self.subject,
            detail: self.detail,
        }
    }
}

fn holder_fields(who: Holder) -> ([u8; 16], u16) {
    match who {
        Holder::Slot { slot, .. } => ([0; 16], slot.min(0xff)),
        Holder::Access(id) => (id, 0),
    }
}

/// A DAILY_SINGLE_USE code that has been used: its day, slot and first use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SingleUseEntry {
    /// The code's local day.
    pub day: LocalDay,
    /// The code's slot.
    pub slot: u16,
    /// Unix seconds of the first use.
    pub first_use: u32,
}

/// Why a sync change to the keypad was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeypadError {
    /// [`MAX_PERMANENT_CODES`] already held.
    PermanentTableFull,
    /// [`REVOKED_DAILY_TABLE_SIZE`] current revocations already held.
    RevocationTableFull,
    /// A slot outside [`DAILY_SLOT_WINDOW`].
    SlotOutsideWindow,
    /// More than [`SINGLE_USE_TABLE_SIZE`] single-use entries to restore.
    SingleUseTableFull,
}

impl core::fmt::Display for KeypadError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            KeypadError::PermanentTableFull => "the lock holds the maximum number of permanent codes",
            KeypadError::RevocationTableFull => "the lock holds the maximum number of daily revocations",
            KeypadError::SlotOutsideWindow => "daily code slot outside the lock's window",
            KeypadError::SingleUseTableFull => "too many single-use entries",
        })
    }
}

/// The derived codes of one local day: (code number, kind, slot), sorted by code.
#[derive(Clone, Debug)]
struct DailyCache {
    day: LocalDay,
    codes: Vec<(u32, CodeKind, u16)>,
}

/// The lock's doorcode state and verifier.
#[derive(Clone)]
pub struct Keypad {
    lock_id: [u8; 16],
    door_secret: [u8; 32],
    code_hash_key: [u8; 32],
    daily: Option<DailyCache>,
    revoked_daily: BTreeSet<(LocalDay, u8, u16)>,
    single_use: Vec<SingleUseEntry>,
    permanent: PermanentCodes,
    /// Synced high-water marks: slots issued per (local day, kind tag).
    issued: BTreeMap<(LocalDay, u8), u16>,
    throttle: Throttle,
    budget: GuessBudget,
}

impl core::fmt::Debug for Keypad {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Keypad")
            .field("permanent_codes", &self.permanent.len())
            .field("single_use", &self.single_use.len())
            .field("revoked_daily", &self.revoked_daily.len())
            .field("issued_slots", &self.issued)
            .field("throttle", &self.throttle)
            .field("budget", &self.budget)
            .finish_non_exhaustive()
    }
}

impl Keypad {
    /// A keypad for a lock, with the door's doorcode secret and the lock's permanent-code hash key.
    pub fn new(lock_id: [u8; 16], door_secret: [u8; 32], code_hash_key: [u8; 32]) -> Keypad {
        Keypad {
            lock_id,
            door_secret,
            code_hash_key,
            daily: None,
            revoked_daily: BTreeSet::new(),
            single_use: Vec::new(),
            permanent: PermanentCodes::default(),
            issued: BTreeMap::new(),
            throttle: Throttle::new(),
            budget: GuessBudget::full(),
        }
    }

    /// Checks one typed code at `now` (a certain clock) in the door's `zone`. Every call returns an event
    /// to log.
    pub fn enter(&mut self, code: &str, now: u32, zone: &ZoneRule) -> (Verdict, KeypadEvent) {
        self.enter_at(code, now, false, zone)
    }

    /// Checks one typed code at `now` in the door's `zone`, knowing whether the clock is uncertain (after a
    /// power loss, `now` is only a lower bound of the time): then only open-ended PERMANENT codes
    /// (`not_after = u32::MAX`, `not_before ≤ now`) can open, since no later time can have ended them;
    /// every other valid code is refused with [`DenyReason::TimeUncertain`] (docs/protocol.md §18).
    pub fn enter_at(
        &mut self,
        code: &str,
        now: u32,
        time_uncertain: bool,
        zone: &ZoneRule,
    ) -> (Verdict, KeypadEvent) {
        let verdict = self.verdict(code, now, time_uncertain, zone);
        (verdict, KeypadEvent::new(&verdict, now))
    }

    fn verdict(&mut self, code: &str, now: u32, time_uncertain: bool, zone: &ZoneRule) -> Verdict {
        if let Err(until) = self.throttle.check(now) {
            return Verdict::Denied { reason: DenyReason::LockedOut { until } };
        }
        let valid = self.valid_codes(now, zone);
        if let Err(until) = self.budget.check(now, valid) {
            return Verdict::Denied { reason: DenyReason::LockedOut { until } };
        }
        let Some(code) = Doorcode::parse(code) else {
            return Verdict::Denied { reason: DenyReason::Malformed };
        };
        let mut verdict = self.check(code, now, zone, time_uncertain);
        if time_uncertain
            && let Verdict::Granted { kind, who } = verdict
            && !(kind == CodeKind::Permanent
                && matches!(who, Holder::Access(id) if self.permanent.open_ended(&id)))
        {
            verdict = Verdict::Denied { reason: DenyReason::TimeUncertain };
        }
        match verdict {
            Verdict::Granted { .. } => self.throttle.record_success(),
            Verdict::Denied { .. } => {
                self.throttle.record_failure(now);
                self.budget.spend(now, valid);
            }
        }
        verdict
    }

    /// The codes a guess at `now` could hit (docs/protocol.md §19's `V`): every PERMANENT code held and
    /// the derived slots of both kinds accepted today. What one checked wrong code costs the budget.
    pub fn valid_codes(&self, now: u32, zone: &ZoneRule) -> u64 {
        let day = zone.local_day(now);
        let derived = u64::from(self.accepted_slots(day, CodeKind::Daily))
            + u64::from(self.accepted_slots(day, CodeKind::DailySingleUse));
        self.permanent.len() as u64 + derived
    }

    /// How many slots of `kind` the lock accepts on `day`: the synced high-water mark plus
    /// [`SLOT_HEADROOM`], within [`DAILY_SLOT_WINDOW`].
    fn accepted_slots(&self, day: LocalDay, kind: CodeKind) -> u16 {
        let issued = self.issued.get(&(day, kind.tag())).copied().unwrap_or(0);
        issued.saturating_add(SLOT_HEADROOM).min(DAILY_SLOT_WINDOW)
    }

    fn check(&mut self, code: Doorcode, now: u32, zone: &ZoneRule, time_uncertain: bool) -> Verdict {
        let hash = permanent_code_hash(&self.code_hash_key, &self.lock_id, code);
        let permanent = self.permanent.lookup(&hash, now);
        if let Lookup::Valid(id) = permanent {
            return Verdict::Granted { kind: CodeKind::Permanent, who: Holder::Access(id) };
        }
        let day = self.prepare_day(now, zone);
        let mut single_use_slot = None;
        for (kind, slot) in self.daily_matches(code) {
            if slot >= self.accepted_slots(day, kind) || self.revoked_daily.contains(&(day, kind.tag(), slot))
            {
                continue;
            }
            match kind {
                CodeKind::DailySingleUse => {
                    single_use_slot.get_or_insert(slot);
                }
                _ => return Verdict::Granted { kind, who: Holder::Slot { day, slot } },
            }
        }
        if let Some(slot) = single_use_slot {
            if time_uncertain {
                // Neither recorded nor granted: the caller refuses it (TimeUncertain).
                return Verdict::Granted { kind: CodeKind::DailySingleUse, who: Holder::Slot { day, slot } };
            }
            return self.use_single(day, slot, now);
        }
        match permanent {
            Lookup::OutsideWindow(_) => Verdict::Denied { reason: DenyReason::Expired },
            _ => Verdict::Denied { reason: DenyReason::Wrong },
        }
    }

    /// Derives (once per local day) the codes of today's slots and returns today. Call it when the
    /// day turns, so the first code typed each day costs a lookup too.
    pub fn prepare_day(&mut self, now: u32, zone: &ZoneRule) -> LocalDay {
        let day = zone.local_day(now);
        if self.daily.as_ref().is_some_and(|c| c.day == day) {
            return day;
        }
        let mut codes = Vec::with_capacity(2 * usize::from(DAILY_SLOT_WINDOW));
        for (kind, daily_kind) in
            [(CodeKind::Daily, DailyKind::Daily), (CodeKind::DailySingleUse, DailyKind::DailySingleUse)]
        {
            for slot in 0..DAILY_SLOT_WINDOW {
                codes.push((doorcode::daily(&self.door_secret, daily_kind, day, slot).number(), kind, slot));
            }
        }
        codes.sort_unstable_by_key(|&(n, kind, slot)| (n, kind.tag(), slot));
        self.daily = Some(DailyCache { day, codes });
        self.revoked_daily.retain(|&(d, _, _)| d >= day);
        self.issued.retain(|&(d, _), _| d >= day);
        day
    }

    fn daily_matches(&self, code: Doorcode) -> Vec<(CodeKind, u16)> {
        let Some(cache) = &self.daily else { return Vec::new() };
        let n = code.number();
        let start = cache.codes.partition_point(|&(c, _, _)| c < n);
        cache.codes[start..].iter().take_while(|&&(c, _, _)| c == n).map(|&(_, k, s)| (k, s)).collect()
    }

    fn use_single(&mut self, day: LocalDay, slot: u16, now: u32) -> Verdict {
        let granted = Verdict::Granted { kind: CodeKind::DailySingleUse, who: Holder::Slot { day, slot } };
        if let Some(entry) = self.single_use.iter().find(|e| e.day == day && e.slot == slot) {
            // A first use after `now` means the clock went back (a power loss): count it as spent.
            return if entry.first_use <= now && now < entry.first_use.saturating_add(SINGLE_USE_VALID_SECS) {
                granted
            } else {
                Verdict::Denied { reason: DenyReason::SingleUseSpent }
            };
        }
        // Only entries of past days may go: forgetting a current one would make its code work again.
        self.single_use.retain(|e| e.day >= day);
        if self.single_use.len() >= SINGLE_USE_TABLE_SIZE {
            return Verdict::Denied { reason: DenyReason::SingleUseTableFull };
        }
        self.single_use.push(SingleUseEntry { day, slot, first_use: now });
        granted
    }

    /// Adds or replaces (by `code.id`) a PERMANENT code delivered by sync.
    pub fn set_permanent(&mut self, code: PermanentCode) -> Result<(), KeypadError> {
        self.permanent.upsert(code).then_some(()).ok_or(KeypadError::PermanentTableFull)
    }

    /// Removes the PERMANENT code of access `id`; `true` if the lock had one.
    pub fn revoke_permanent(&mut self, id: &[u8; 16]) -> bool {
        self.permanent.revoke(id)
    }

    /// Number of PERMANENT codes held.
    pub fn permanent_count(&self) -> usize {
        self.permanent.len()
    }

    /// Records the synced high-water mark of `kind` on `day`: the backend issued slots `0..issued`. The
    /// lock then accepts slots below `issued + SLOT_HEADROOM`. A mark never goes down (a lower one changes
    /// nothing); marks of past days are dropped when the day turns, and only the latest
    /// [`ISSUED_SLOTS_DAYS`] days are held.
    pub fn set_issued_slots(
        &mut self,
        day: LocalDay,
        kind: DailyKind,
        issued: u16,
    ) -> Result<(), KeypadError> {
        if issued > DAILY_SLOT_WINDOW {
            return Err(KeypadError::SlotOutsideWindow);
        }
        let tag = match kind {
            DailyKind::Daily => CodeKind::Daily.tag(),
            DailyKind::DailySingleUse => CodeKind::DailySingleUse.tag(),
        };
        if let Some(today) = self.daily.as_ref().map(|c| c.day)
            && day < today
        {
            return Ok(());
        }
        let mark = self.issued.entry((day, tag)).or_insert(0);
        *mark = (*mark).max(issued);
        while self.issued.len() > 2 * ISSUED_SLOTS_DAYS {
            self.issued.pop_first();
        }
        Ok(())
    }

    /// Refuses a derived code from now on (an access revoked before its day ended). Revocations of
    /// past days are dropped when the day turns.
    pub fn revoke_daily(&mut self, day: LocalDay, kind: DailyKind, slot: u16) -> Result<(), KeypadError> {
        if slot >= DAILY_SLOT_WINDOW {
            return Err(KeypadError::SlotOutsideWindow);
        }
        let kind = match kind {
            DailyKind::Daily => CodeKind::Daily,
            DailyKind::DailySingleUse => CodeKind::DailySingleUse,
        };
        if let Some(today) = self.daily.as_ref().map(|c| c.day) {
            self.revoked_daily.retain(|&(d, _, _)| d >= today);
        }
        if self.revoked_daily.len() >= REVOKED_DAILY_TABLE_SIZE {
            return Err(KeypadError::RevocationTableFull);
        }
        self.revoked_daily.insert((day, kind.tag(), slot));
        Ok(())
    }

    /// The revoked derived codes held, to persist after every change (restore with
    /// [`Keypad::revoke_daily`]).
    pub fn revoked_daily(&self) -> Vec<(LocalDay, DailyKind, u16)> {
        self.revoked_daily
            .iter()
            .map(|&(day, tag, slot)| {
                let kind =
                    if tag == CodeKind::Daily.tag() { DailyKind::Daily } else { DailyKind::DailySingleUse };
                (day, kind, slot)
            })
            .collect()
    }

    /// The throttle state, to persist after every attempt.
    pub fn throttle(&self) -> &Throttle {
        &self.throttle
    }

    /// Restores a persisted throttle state.
    pub fn set_throttle(&mut self, throttle: Throttle) {
        self.throttle = throttle;
    }

    /// The yearly guessing budget, to persist after every attempt.
    pub fn budget(&self) -> &GuessBudget {
        &self.budget
    }

    /// Restores a persisted guessing budget.
    pub fn set_budget(&mut self, budget: GuessBudget) {
        self.budget = budget;
    }

    /// The single-use table, to persist after every grant of a DAILY_SINGLE_USE code.
    pub fn single_use_entries(&self) -> &[SingleUseEntry] {
        &self.single_use
    }

    /// Restores a persisted single-use table.
    pub fn set_single_use_entries(&mut self, entries: Vec<SingleUseEntry>) -> Result<(), KeypadError> {
        if entries.len() > SINGLE_USE_TABLE_SIZE {
            return Err(KeypadError::SingleUseTableFull);
        }
        self.single_use = entries;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
