//! The lock's bounded table of resumption tickets.
//!
//! Owns: at most [`TICKET_CAPACITY`] entries, least-recently-used eviction, expiry at
//! `min(credential not_after, issue time + TICKET_LIFETIME)`, and removal when a credential or user is
//! revoked. Each ticket is single use: a successful resume takes it out and the lock issues a rotated one
//! (same expiry), so a ticket id is never seen on the air twice. Lookups cost the same for 10 or 100,000
//! access-list entries: the table is independent of the access list. The table lives in RAM; after a power
//! loss phones simply fall back to the full handshake.

use alloc::vec::Vec;

use super::keys::ResumptionSecret;
use crate::credential::Flags;
use crate::crypto::ct_eq;

/// Most tickets a lock keeps.
pub const TICKET_CAPACITY: usize = 32;
/// Longest life of a ticket, seconds (24 h).
pub const TICKET_LIFETIME: u32 = 24 * 60 * 60;

/// One ticket and what the lock remembers of the credential behind it.
#[derive(Clone, Debug)]
pub struct TicketEntry {
    /// Opaque id (lock-chosen random).
    pub ticket_id: [u8; 16],
    /// Secret shared with the phone.
    pub secret: ResumptionSecret,
    /// The credential it was issued for.
    pub credential_id: [u8; 16],
    /// That credential's user.
    pub user_id: [u8; 16],
    /// That credential's flags (the privileged bit still governs commands).
    pub flags: Flags,
    /// That credential's `not_before`.
    pub not_before: u32,
    /// That credential's `not_after`.
    pub not_after: u32,
    /// Last second the ticket is accepted (lock time).
    pub expires_at: u32,
    last_used: u64,
}

impl TicketEntry {
    /// A new entry (its LRU stamp is set on insertion).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        ticket_id: [u8; 16],
        secret: ResumptionSecret,
        credential_id: [u8; 16],
        user_id: [u8; 16],
        flags: Flags,
        not_before: u32,
        not_after: u32,
        expires_at: u32,
    ) -> TicketEntry {
        TicketEntry {
            ticket_id,
            secret,
            credential_id,
            user_id,
            flags,
            not_before,
            not_after,
            expires_at,
            last_used: 0,
        }
    }
}

/// The table. Capacity is fixed at [`TICKET_CAPACITY`].
#[derive(Debug, Default)]
pub struct TicketTable {
    entries: Vec<TicketEntry>,
    stamp: u64,
}

impl TicketTable {
    /// An empty table.
    pub fn new() -> TicketTable {
        TicketTable { entries: Vec::with_capacity(TICKET_CAPACITY), stamp: 0 }
    }

    /// Number of live entries (expired ones may still count until the next insert or lookup).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Drops entries whose `expires_at` has passed at `now`.
    pub fn purge_expired(&mut self, now: u32) {
        self.entries.retain(|e| now <= e.expires_at);
    }

    /// Inserts an entry, first dropping expired ones, then the least recently used if the table is full.
    pub fn insert(&mut self, mut entry: TicketEntry, now: u32) {
        self.purge_expired(now);
        self.entries.retain(|e| e.ticket_id != entry.ticket_id);
        if self.entries.len() >= TICKET_CAPACITY
            && let Some(lru) =
                self.entries.iter().enumerate().min_by_key(|(_, e)| e.last_used).map(|(i, _)| i)
        {
            self.entries.swap_remove(lru);
        }
        self.stamp += 1;
        entry.last_used = self.stamp;
        self.entries.push(entry);
    }

    /// Looks up a live ticket (constant-time id comparison), marking it used.
    pub fn get(&mut self, ticket_id: &[u8; 16], now: u32) -> Option<&TicketEntry> {
        self.purge_expired(now);
        let i = self.entries.iter().position(|e| ct_eq(&e.ticket_id, ticket_id))?;
        self.stamp += 1;
        self.entries[i].last_used = self.stamp;
        self.entries.get(i)
    }

    /// Removes and returns a ticket.
    pub fn take(&mut self, ticket_id: &[u8; 16]) -> Option<TicketEntry> {
        let i = self.entries.iter().position(|e| ct_eq(&e.ticket_id, ticket_id))?;
        Some(self.entries.swap_remove(i))
    }

    /// Drops every ticket of a revoked credential.
    pub fn revoke_credential(&mut self, credential_id: &[u8; 16]) {
        self.entries.retain(|e| &e.credential_id != credential_id);
    }

    /// Drops every ticket of a revoked user.
    pub fn revoke_user(&mut self, user_id: &[u8; 16]) {
        self.entries.retain(|e| &e.user_id != user_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: u8, expires_at: u32) -> TicketEntry {
        TicketEntry::new(
            [id; 16],
            ResumptionSecret([id; 32]),
            [id; 16],
            [id / 2; 16],
            Flags::default(),
            0,
            u32::MAX,
            expires_at,
        )
    }

    #[test]
    fn bounded_lru_and_expiry() {
        let mut t = TicketTable::new();
        for i in 0..40u8 {
            t.insert(entry(i, 1000), 0);
            if i == 10 {
                // Touch ticket 0 so it survives eviction.
                assert!(t.get(&[0; 16], 0).is_some());
            }
            assert!(t.len() <= TICKET_CAPACITY);
        }
        assert_eq!(t.len(), TICKET_CAPACITY);
        assert!(t.get(&[0; 16], 0).is_some());
        assert!(t.get(&[1; 16], 0).is_none());
        assert!(t.get(&[39; 16], 1000).is_some());
        assert!(t.get(&[39; 16], 1001).is_none());
        assert!(t.is_empty());
    }

    #[test]
    fn revocation_drops_tickets() {
        let mut t = TicketTable::new();
        t.insert(entry(2, 100), 0);
        t.insert(entry(3, 100), 0);
        t.insert(entry(4, 100), 0);
        t.revoke_credential(&[2; 16]);
        assert!(t.get(&[2; 16], 0).is_none());
        t.revoke_user(&[1; 16]); // user of ticket 3 is [1; 16]
        assert!(t.get(&[3; 16], 0).is_none());
        assert!(t.take(&[4; 16]).is_some());
        assert!(t.is_empty());
    }
}
