//! PERMANENT codes on a lock: held only as keyed hashes, each with a validity window and the id of
//! the access it belongs to, so a revocation removes exactly that access's code.
//!
//! `hash = HMAC-SHA256(code_hash_key, "latchkey/permanent-code/v1" || lock_id || 7 ASCII digits)[..16]`.
//! The lock never stores or logs the digits. Without `code_hash_key` the hashes carried in sync deltas
//! reveal nothing; a party holding the key can of course test all 10^7 codes, so the key stays on the
//! lock and in the backend.

use alloc::collections::BTreeMap;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::doorcode::Doorcode;

/// Bytes kept of the HMAC-SHA256 tag of a permanent code.
pub const PERMANENT_HASH_LEN: usize = 16;
/// Most permanent codes a lock holds; a sync that would add more is refused.
pub const MAX_PERMANENT_CODES: usize = 2_000;
/// Length of [`PermanentCode::encode`].
pub const PERMANENT_CODE_LEN: usize = 40;

const DOMAIN: &[u8] = b"latchkey/permanent-code/v1";

/// The keyed hash of a permanent code at one lock.
pub fn permanent_code_hash(
    code_hash_key: &[u8; 32],
    lock_id: &[u8; 16],
    code: Doorcode,
) -> [u8; PERMANENT_HASH_LEN] {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(code_hash_key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(DOMAIN);
    mac.update(lock_id);
    mac.update(&code.digits());
    let tag = mac.finalize().into_bytes();
    let mut out = [0u8; PERMANENT_HASH_LEN];
    out.copy_from_slice(&tag[..PERMANENT_HASH_LEN]);
    out
}

/// One permanent code as sync delivers it: valid for `not_before <= now < not_after`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PermanentCode {
    /// The access (user/access id) the code belongs to; a revocation names it.
    pub id: [u8; 16],
    /// [`permanent_code_hash`] of the code.
    pub hash: [u8; PERMANENT_HASH_LEN],
    /// First second (unix) the code is valid.
    pub not_before: u32,
    /// First second (unix) the code is no longer valid; `u32::MAX` for open-ended.
    pub not_after: u32,
}

impl PermanentCode {
    /// `id(16) || hash(16) || not_before u32 BE || not_after u32 BE`: 40 bytes.
    pub fn encode(&self) -> [u8; PERMANENT_CODE_LEN] {
        let mut out = [0u8; PERMANENT_CODE_LEN];
        out[..16].copy_from_slice(&self.id);
        out[16..32].copy_from_slice(&self.hash);
        out[32..36].copy_from_slice(&self.not_before.to_be_bytes());
        out[36..40].copy_from_slice(&self.not_after.to_be_bytes());
        out
    }

    /// Parses exactly [`PERMANENT_CODE_LEN`] bytes.
    pub fn decode(bytes: &[u8]) -> Option<PermanentCode> {
        let bytes: &[u8; PERMANENT_CODE_LEN] = bytes.try_into().ok()?;
        let mut id = [0u8; 16];
        let mut hash = [0u8; PERMANENT_HASH_LEN];
        id.copy_from_slice(&bytes[..16]);
        hash.copy_from_slice(&bytes[16..32]);
        Some(PermanentCode {
            id,
            hash,
            not_before: u32::from_be_bytes([bytes[32], bytes[33], bytes[34], bytes[35]]),
            not_after: u32::from_be_bytes([bytes[36], bytes[37], bytes[38], bytes[39]]),
        })
    }

    fn valid_at(&self, now: u32) -> bool {
        self.not_before <= now && now < self.not_after
    }
}

/// What the table says about a typed code's hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lookup {
    Valid([u8; 16]),
    OutsideWindow([u8; 16]),
    Unknown,
}

/// The permanent codes of one lock, indexed by hash (for typing) and by id (for revocation).
#[derive(Clone, Debug, Default)]
pub(crate) struct PermanentCodes {
    by_hash: BTreeMap<([u8; PERMANENT_HASH_LEN], [u8; 16]), PermanentCode>,
    by_id: BTreeMap<[u8; 16], [u8; PERMANENT_HASH_LEN]>,
}

impl PermanentCodes {
    /// Adds or replaces the code of `code.id`; `false` if the table is full.
    pub(crate) fn upsert(&mut self, code: PermanentCode) -> bool {
        if let Some(old) = self.by_id.get(&code.id) {
            self.by_hash.remove(&(*old, code.id));
        } else if self.by_id.len() >= MAX_PERMANENT_CODES {
            return false;
        }
        self.by_id.insert(code.id, code.hash);
        self.by_hash.insert((code.hash, code.id), code);
        true
    }

    /// Removes the code of access `id`; `true` if there was one.
    pub(crate) fn revoke(&mut self, id: &[u8; 16]) -> bool {
        match self.by_id.remove(id) {
            Some(hash) => self.by_hash.remove(&(hash, *id)).is_some(),
            None => false,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether the code of access `id` never ends (`not_after = u32::MAX`).
    pub(crate) fn open_ended(&self, id: &[u8; 16]) -> bool {
        self.by_id
            .get(id)
            .and_then(|hash| self.by_hash.get(&(*hash, *id)))
            .is_some_and(|code| code.not_after == u32::MAX)
    }

    pub(crate) fn lookup(&self, hash: &[u8; PERMANENT_HASH_LEN], now: u32) -> Lookup {
        let mut outside = None;
        for code in self.by_hash.range((*hash, [0u8; 16])..=(*hash, [0xffu8; 16])).map(|(_, c)| c) {
            if code.valid_at(now) {
                return Lookup::Valid(code.id);
            }
            outside.get_or_insert(code.id);
        }
        outside.map_or(Lookup::Unknown, Lookup::OutsideWindow)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_depends_on_key_lock_and_digits() {
        let code = Doorcode::parse("0012345").expect("digits");
        let h = permanent_code_hash(&[1; 32], &[2; 16], code);
        assert_ne!(h, permanent_code_hash(&[9; 32], &[2; 16], code));
        assert_ne!(h, permanent_code_hash(&[1; 32], &[3; 16], code));
        assert_ne!(h, permanent_code_hash(&[1; 32], &[2; 16], Doorcode::parse("0012346").expect("d")));
    }

    #[test]
    fn table_upserts_revokes_and_bounds() {
        let mut t = PermanentCodes::default();
        let c = PermanentCode { id: [1; 16], hash: [7; 16], not_before: 10, not_after: 20 };
        assert!(t.upsert(c));
        assert_eq!(t.lookup(&[7; 16], 9), Lookup::OutsideWindow([1; 16]));
        assert_eq!(t.lookup(&[7; 16], 10), Lookup::Valid([1; 16]));
        assert_eq!(t.lookup(&[7; 16], 20), Lookup::OutsideWindow([1; 16]));
        assert!(t.upsert(PermanentCode { not_after: 30, ..c }));
        assert_eq!(t.len(), 1);
        assert_eq!(t.lookup(&[7; 16], 25), Lookup::Valid([1; 16]));
        assert!(t.revoke(&[1; 16]));
        assert!(!t.revoke(&[1; 16]));
        assert_eq!(t.lookup(&[7; 16], 25), Lookup::Unknown);
        for i in 0..MAX_PERMANENT_CODES {
            let mut id = [0u8; 16];
            id[..8].copy_from_slice(&(i as u64).to_be_bytes());
            assert!(t.upsert(PermanentCode { id, ..c }));
        }
        assert!(!t.upsert(PermanentCode { id: [0xee; 16], ..c }));
        assert_eq!(PermanentCode::decode(&c.encode()), Some(c));
        assert_eq!(PermanentCode::decode(&[0; 39]), None);
    }
}
