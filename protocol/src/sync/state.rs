//! The lock's synced state ([`LockSyncState`]) and how a verified delta applies to it, all or nothing.
//!
//! The lock accepts only `last_applied_seq + 1` (or, for a snapshot, anything newer). Applying is atomic:
//! the new state is built aside and returned only if every entry applies; the caller persists it in one
//! write (old or new survives a power loss).

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec::Vec;

use crate::crypto::PublicKey;
use crate::doorcode::{DailyKind, LocalDay};
use crate::keypad::{MAX_PERMANENT_CODES, PermanentCode, ZoneRule};

use super::SyncError;
use super::delta::{Delta, DeltaKind, Entry, LogAck, Window};
use super::time::TimeToken;

/// Most users on a lock's access list; a delta that would exceed it is refused whole.
pub const MAX_ACCESS: usize = 16_384;
/// Most revoked credential ids a lock keeps; a delta that would exceed it is refused whole.
pub const MAX_REVOKED: usize = 16_384;

/// What an applied delta changed: for the event log, the keypad and the resumption-ticket table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Applied {
    /// The seq now applied.
    pub seq: u64,
    /// Whether it was a snapshot.
    pub snapshot: bool,
    /// Users added or whose window changed.
    pub users_added: Vec<[u8; 16]>,
    /// Users whose access is gone (removed, or absent from a snapshot): drop their tickets.
    pub users_removed: Vec<[u8; 16]>,
    /// Credentials newly revoked: drop their tickets.
    pub credentials_revoked: Vec<[u8; 16]>,
    /// PERMANENT codes added or replaced: feed to the keypad.
    pub permanent_codes_added: Vec<PermanentCode>,
    /// PERMANENT code ids removed (or absent from a snapshot): revoke at the keypad.
    pub permanent_codes_removed: Vec<[u8; 16]>,
    /// The last zone rule in the delta, if any.
    pub zone_rule: Option<ZoneRule>,
    /// Time tokens carried: give each to [`LockClock::apply_time_token`](super::LockClock::apply_time_token).
    pub time_tokens: Vec<TimeToken>,
    /// Log acknowledgements carried: see [`LogAck::verifier`].
    pub log_acks: Vec<LogAck>,
    /// High-water marks of issued derived slots: give each to the keypad (`Keypad::set_issued_slots`).
    pub daily_slots_issued: Vec<(LocalDay, DailyKind, u16)>,
}

/// The lock's sync-visible state. Persist it whole, in one write, after each successful apply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockSyncState {
    lock_id: [u8; 16],
    last_applied_seq: u64,
    access: BTreeMap<[u8; 16], Window>,
    revoked: BTreeSet<[u8; 16]>,
    permanent_codes: BTreeMap<[u8; 16], PermanentCode>,
    zone_rule: Option<ZoneRule>,
}

impl LockSyncState {
    /// A freshly activated lock: nothing applied (the first delta is seq 1, or any snapshot).
    pub fn new(lock_id: [u8; 16]) -> LockSyncState {
        LockSyncState {
            lock_id,
            last_applied_seq: 0,
            access: BTreeMap::new(),
            revoked: BTreeSet::new(),
            permanent_codes: BTreeMap::new(),
            zone_rule: None,
        }
    }

    /// The last applied sequence number (0: none).
    pub fn last_applied_seq(&self) -> u64 {
        self.last_applied_seq
    }

    /// The user's window, if they have access.
    pub fn access(&self, user_id: &[u8; 16]) -> Option<Window> {
        self.access.get(user_id).copied()
    }

    /// Number of users with access.
    pub fn access_len(&self) -> usize {
        self.access.len()
    }

    /// Whether a credential has been revoked.
    pub fn is_revoked(&self, credential_id: &[u8; 16]) -> bool {
        self.revoked.contains(credential_id)
    }

    /// The PERMANENT codes, by access id.
    pub fn permanent_codes(&self) -> impl Iterator<Item = &PermanentCode> {
        self.permanent_codes.values()
    }

    /// The current zone rule, if one was synced.
    pub fn zone_rule(&self) -> Option<&ZoneRule> {
        self.zone_rule.as_ref()
    }

    /// Verifies and applies a delta, all or nothing. Order of checks: signature ([`SyncError::BadSignature`]),
    /// lock ([`SyncError::WrongLock`]), sequence ([`SyncError::OutOfOrder`]: incremental must be exactly
    /// `last_applied_seq + 1`, snapshot any larger seq), then bounds ([`SyncError::Full`]). On any error
    /// `self` is untouched. The new state is built aside and swapped in at the end; the caller must
    /// persist it in a single write so a power loss leaves the old or the new state, never a mix.
    pub fn apply(&mut self, delta: &Delta, backend: &PublicKey) -> Result<Applied, SyncError> {
        delta.verify(backend, &self.lock_id)?;
        let expected = self
            .last_applied_seq
            .checked_add(1)
            .ok_or(SyncError::OutOfOrder { expected: u64::MAX, got: delta.seq })?;
        let in_order = match delta.kind {
            DeltaKind::Incremental => delta.seq == expected,
            DeltaKind::Snapshot => delta.seq >= expected,
        };
        if !in_order {
            return Err(SyncError::OutOfOrder { expected, got: delta.seq });
        }

        let mut next = self.clone();
        let mut applied =
            Applied { seq: delta.seq, snapshot: delta.kind == DeltaKind::Snapshot, ..Applied::default() };
        if delta.kind == DeltaKind::Snapshot {
            next.access.clear();
            next.permanent_codes.clear();
        }
        for entry in &delta.entries {
            match entry {
                Entry::AddAccess { user_id, window } => {
                    next.access.insert(*user_id, *window);
                    applied.users_added.push(*user_id);
                }
                Entry::RemoveAccess { user_id } => {
                    if next.access.remove(user_id).is_some() {
                        applied.users_removed.push(*user_id);
                    }
                }
                Entry::RevokeCredential { credential_id } => {
                    if next.revoked.insert(*credential_id) {
                        applied.credentials_revoked.push(*credential_id);
                    }
                }
                Entry::AddPermanentCode(code) => {
                    next.permanent_codes.insert(code.id, *code);
                    applied.permanent_codes_added.push(*code);
                }
                Entry::RemovePermanentCode { id } => {
                    if next.permanent_codes.remove(id).is_some() {
                        applied.permanent_codes_removed.push(*id);
                    }
                }
                Entry::ZoneRule(rule) => {
                    next.zone_rule = Some(rule.clone());
                    applied.zone_rule = Some(rule.clone());
                }
                Entry::TimeToken(token) => applied.time_tokens.push(*token),
                Entry::LogAck(ack) => applied.log_acks.push(*ack),
                Entry::DailySlotsIssued { day, kind, issued } => {
                    applied.daily_slots_issued.push((*day, *kind, *issued));
                }
            }
        }
        if next.access.len() > MAX_ACCESS {
            return Err(SyncError::Full { what: "access list" });
        }
        if next.revoked.len() > MAX_REVOKED {
            return Err(SyncError::Full { what: "revoked credentials" });
        }
        if next.permanent_codes.len() > MAX_PERMANENT_CODES {
            return Err(SyncError::Full { what: "permanent codes" });
        }
        if delta.kind == DeltaKind::Snapshot {
            // Report what the snapshot dropped, so the keypad and ticket table follow.
            applied.users_removed.extend(self.access.keys().filter(|u| !next.access.contains_key(*u)));
            applied
                .permanent_codes_removed
                .extend(self.permanent_codes.keys().filter(|id| !next.permanent_codes.contains_key(*id)));
        }
        next.last_applied_seq = delta.seq;
        *self = next;
        Ok(applied)
    }
}
