//! Backend-signed time tokens and the lock clock they set.
//!
//! ```text
//! TimeToken = lock_id(16) || time u32 || signature(64) over "latchkey/time/v1" || lock_id || time
//! ```
//!
//! The lock's clock ([`LockClock`]) is set only from backend-signed [`TimeToken`]s and never moves back.

use crate::crypto::{self, PublicKey, SIGNATURE_LEN, SigningKey};

use super::{Reader, SyncError, malformed};

/// Domain string of a time token signature.
pub const TIME_DOMAIN: &[u8] = b"latchkey/time/v1";
/// Length of an encoded time token.
pub const TIME_TOKEN_LEN: usize = 16 + 4 + SIGNATURE_LEN;

/// A backend-signed statement "it is `time` (unix seconds) for lock `lock_id`".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeToken {
    /// The lock it is for.
    pub lock_id: [u8; 16],
    /// Unix seconds at signing.
    pub time: u32,
    /// ECDSA-P256-SHA256 by the backend over [`TIME_DOMAIN`] || lock_id || time BE.
    pub signature: [u8; SIGNATURE_LEN],
}

impl TimeToken {
    /// The backend signs a token (RFC 6979: deterministic).
    pub fn sign(lock_id: [u8; 16], time: u32, backend: &SigningKey) -> TimeToken {
        let signature = backend.sign(&[TIME_DOMAIN, &lock_id, &time.to_be_bytes()]);
        TimeToken { lock_id, time, signature }
    }

    /// Checks the backend signature and the lock id.
    pub fn verify(&self, backend: &PublicKey, lock_id: &[u8; 16]) -> Result<(), SyncError> {
        crypto::verify(backend, &[TIME_DOMAIN, &self.lock_id, &self.time.to_be_bytes()], &self.signature)
            .map_err(|_| SyncError::BadSignature)?;
        if !crypto::ct_eq(&self.lock_id, lock_id) {
            return Err(SyncError::WrongLock);
        }
        Ok(())
    }

    /// `lock_id(16) || time u32 BE || signature(64)`: 84 bytes.
    pub fn encode(&self) -> [u8; TIME_TOKEN_LEN] {
        let mut out = [0u8; TIME_TOKEN_LEN];
        out[..16].copy_from_slice(&self.lock_id);
        out[16..20].copy_from_slice(&self.time.to_be_bytes());
        out[20..].copy_from_slice(&self.signature);
        out
    }

    /// Parses exactly [`TIME_TOKEN_LEN`] bytes (signature not checked).
    pub fn decode(bytes: &[u8]) -> Result<TimeToken, SyncError> {
        if bytes.len() != TIME_TOKEN_LEN {
            return Err(malformed("time token length"));
        }
        Self::read(&mut Reader(bytes))
    }

    pub(super) fn read(r: &mut Reader<'_>) -> Result<TimeToken, SyncError> {
        Ok(TimeToken {
            lock_id: r.array("time token")?,
            time: r.u32("time token")?,
            signature: r.array("time token")?,
        })
    }
}

/// Most one token steps a certain clock back (a lock whose oscillator ran fast).
pub const MAX_STEP_BACK_SECS: u32 = 300;
/// A step back is also at most the lock-clock seconds since the last token divided by this: 500 ppm,
/// more than any oscillator drifts, so tokens delivered in quick succession cannot swing the clock back.
pub const STEP_BACK_DIVISOR: u32 = 2_000;

/// What the lock's clock says: a time, and whether it can be trusted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClockReading {
    /// Best estimate of unix seconds (the last token time after a power loss).
    pub time: u32,
    /// `true` after a power loss (or before any token) until a token is applied: log and policy must say so.
    pub uncertain: bool,
}

/// The lock's clock: set only by backend-signed [`TimeToken`]s, advanced by the lock's own oscillator via
/// [`LockClock::tick`], never moved back. The phone's claimed time is never an input.
///
/// Persist `last_token_time` and the clock's reading (the **monotonic floor**, written with every state
/// change and at least hourly): after a power loss the clock restarts from the floor, never behind it,
/// and refuses tokens older than it ([`LockClock::after_power_loss_from`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LockClock {
    lock_id: [u8; 16],
    now: u32,
    last_token_time: Option<u32>,
    /// No token older than this is accepted: the reading the clock restarted from.
    floor: u32,
    /// The clock's reading when the last token set it (bounds how far the next one may step it back).
    set_at: u32,
    uncertain: bool,
}

impl LockClock {
    /// A fresh lock: no time at all, uncertain.
    pub fn new(lock_id: [u8; 16]) -> LockClock {
        LockClock { lock_id, now: 0, last_token_time: None, floor: 0, set_at: 0, uncertain: true }
    }

    /// After a power loss, knowing only the last token's time: the clock restarts there, uncertain until a
    /// token arrives.
    pub fn after_power_loss(lock_id: [u8; 16], last_token_time: Option<u32>) -> LockClock {
        LockClock::after_power_loss_from(lock_id, last_token_time, last_token_time.unwrap_or(0))
    }

    /// After a power loss, with the persisted monotonic floor (the last reading saved before the power
    /// failed): the clock restarts at `max(floor, last token time)` and is uncertain until a token arrives;
    /// a token older than that is refused ([`SyncError::StaleTime`]), so a stockpiled token can never set
    /// the clock behind what the lock had already seen.
    pub fn after_power_loss_from(lock_id: [u8; 16], last_token_time: Option<u32>, floor: u32) -> LockClock {
        let floor = floor.max(last_token_time.unwrap_or(0));
        LockClock { lock_id, now: floor, last_token_time, floor, set_at: floor, uncertain: true }
    }

    /// Marks the clock uncertain (the lock detected a power loss or an RTC fault).
    pub fn power_lost(&mut self) {
        self.uncertain = true;
    }

    /// Advances by `secs` measured by the lock's own oscillator (saturating).
    pub fn tick(&mut self, secs: u32) {
        self.now = self.now.saturating_add(secs);
    }

    /// The current reading.
    pub fn now(&self) -> ClockReading {
        ClockReading { time: self.now, uncertain: self.uncertain }
    }

    /// The time of the last accepted token: what the lock persists.
    pub fn last_token_time(&self) -> Option<u32> {
        self.last_token_time
    }

    /// Accepts a token only if its signature verifies for this lock and its time is not older than the
    /// last accepted token's (so a replayed old token is refused) nor than the floor. An uncertain clock
    /// then reads `token.time`. A certain clock moves forward to `token.time`, or, if it runs ahead of the
    /// token (a fast oscillator), steps back towards it by at most [`MAX_STEP_BACK_SECS`] and at most
    /// (seconds since the last token) / [`STEP_BACK_DIVISOR`], so a withheld token cannot swing it far.
    /// Either way it becomes certain. Returns the new time ([`LockClock::stepped_back`] says by how
    /// much it went back, for the log).
    pub fn apply_time_token(&mut self, token: &TimeToken, backend: &PublicKey) -> Result<u32, SyncError> {
        token.verify(backend, &self.lock_id)?;
        if let Some(last) = self.last_token_time
            && token.time < last
        {
            return Err(SyncError::StaleTime { last, got: token.time });
        }
        if token.time < self.floor {
            return Err(SyncError::StaleTime { last: self.floor, got: token.time });
        }
        self.now = if self.uncertain || token.time >= self.now {
            token.time
        } else {
            let elapsed = self.now.saturating_sub(self.set_at);
            let step = MAX_STEP_BACK_SECS.min(elapsed / STEP_BACK_DIVISOR);
            token.time.max(self.now - step.min(self.now))
        };
        self.set_at = self.now;
        self.last_token_time = Some(token.time);
        self.uncertain = false;
        Ok(self.now)
    }
}
