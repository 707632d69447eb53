//! CPU figures of the unlock (phone and lock sides, with the protocol's sans-IO state machines, no link)
//! and of the keypad.
//!
//! Phone (`unlock_phone_cpu_us`): what runs after the lock's `Hello`: `PhoneUnlock::handle(Hello)` (HKDF,
//! ECDSA sign of the transcript with a software key, AES-GCM seal) plus `handle(UnlockResult)` (AES-GCM
//! open, decode). Not counted, because the phone does it before connecting (as `ble::unlock` does):
//! drawing the ephemeral key and its public half (`DhSecret::from_bytes`) and the ECDH with the lock's
//! static key (`PhoneUnlock::new`), together `unlock_phone_precompute_us`; nor parsing the credential and
//! the lock key, framing, the transport, or a real phone's keystore.
//!
//! Lock (`unlock_lock_cpu_us`): `LockSession::new` (Hello) plus `handle(FullRequest)`: ECDH with the static
//! key, HKDF, AES-GCM open, credential signature verify, device signature verify, revocation and access
//! lookups, ticket issue, result seal. `unlock_lock_cpu_us_resume`: the same for a `ResumeRequest` with the
//! ticket the previous unlock gave (no public-key operation).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use latchkey_protocol::credential::{CredentialBody, Flags, Role};
use latchkey_protocol::crypto::{DhSecret, PublicKey, SigningKey};
use latchkey_protocol::doorcode::{self, DailyKind, LocalDay};
use latchkey_protocol::keypad::{Keypad, Verdict, ZoneRule};
use latchkey_protocol::sync::{Delta, DeltaKind, Entry, LockSyncState, MAX_ACCESS, Window};
use latchkey_protocol::unlock::{
    Command, LockIdentity, LockRandom, LockSession, Path, PhoneStep, PhoneTicket, PhoneUnlock,
    PhoneUnlockParams, ResultCode, RevocationCheck, TicketTable, TimeStatus,
};

use crate::{Effort, Figures, median, timed, us};

const LOCK: [u8; 16] = [0x4c; 16];
const USER: [u8; 16] = [0xa1; 16];
/// 2026-06-10T16:00:00Z.
const NOW: u32 = 1_781_107_200;

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32]).expect("a valid fixed key")
}

fn dh(counter: &mut u64) -> DhSecret {
    loop {
        *counter += 1;
        let mut bytes = [0x5au8; 32];
        bytes[..8].copy_from_slice(&counter.to_be_bytes());
        if let Ok(secret) = DhSecret::from_bytes(&bytes) {
            return secret;
        }
    }
}

/// An id for the `i`-th user of an access list (never [`USER`]).
pub fn user_id(i: u32) -> [u8; 16] {
    let mut out = [0u8; 16];
    out[12..].copy_from_slice(&i.to_be_bytes());
    out
}

struct Rig {
    identity: LockIdentity,
    device: SigningKey,
    credential: latchkey_protocol::credential::Credential,
    counter: u64,
    tickets: TicketTable,
}

impl Rig {
    fn new() -> Rig {
        let backend = key(7);
        let device = key(9);
        let mut counter = 0;
        let identity =
            LockIdentity { lock_id: LOCK, static_key: dh(&mut counter), backend_key: backend.public_key() };
        let credential = CredentialBody {
            credential_id: [0xc1; 16],
            lock_id: LOCK,
            user_id: USER,
            not_before: NOW - 3600,
            not_after: NOW + 7 * 86_400,
            role: Role::Resident,
            flags: Flags::default(),
            device_pub: device.public_key(),
        }
        .sign(&backend);
        Rig { identity, device, credential, counter, tickets: TicketTable::new() }
    }

    /// One full unlock; (phone time, lock time, ephemeral precompute time).
    fn unlock(&mut self, revoked: &dyn RevocationCheck) -> (Duration, Duration, Duration) {
        let (phone, lock, precompute, _) = self.unlock_with(revoked, None);
        (phone, lock, precompute)
    }

    /// One unlock, resumed if `ticket` is given; its times and the ticket for the next visit.
    fn unlock_with(
        &mut self,
        revoked: &dyn RevocationCheck,
        ticket: Option<PhoneTicket>,
    ) -> (Duration, Duration, Duration, Option<PhoneTicket>) {
        let path = if ticket.is_some() { Path::Resume } else { Path::Full };
        let mut counter = self.counter;
        let (ephemeral, precompute) = timed(|| dh(&mut counter));
        self.counter = counter;
        let lock_static_pub: PublicKey = self.identity.static_key.public_key();
        let (mut phone, agree) = timed(|| {
            PhoneUnlock::new(PhoneUnlockParams {
                lock_id: LOCK,
                lock_static_pub,
                credential: self.credential,
                command: Command::Unlock,
                ephemeral,
                ticket,
            })
        });
        let precompute = precompute + agree;
        let random = LockRandom { challenge: [counter as u8; 16], ticket_id: user_id(counter as u32) };
        let (mut session, lock_a) = timed(|| LockSession::new(LOCK, NOW, TimeStatus::Synced, random));
        let hello = session.hello().to_vec();
        let (step, phone_a) = timed(|| phone.handle(&hello, &self.device));
        let Ok(PhoneStep::Send(request)) = step else { panic!("the phone must answer Hello: {step:?}") };
        let (reply, lock_b) =
            timed(|| session.handle(&self.identity, &request, NOW, revoked, &mut self.tickets));
        let (done, phone_b) = timed(|| phone.handle(&reply.message, &self.device));
        match done {
            Ok(PhoneStep::Done(outcome)) if outcome.result == ResultCode::Granted && outcome.path == path => {
                (phone_a + phone_b, lock_a + lock_b, precompute, outcome.ticket)
            }
            other => panic!("the bench unlock must be granted on the {path:?} path: {other:?}"),
        }
    }
}

/// The lock's view of an access list of `n` users (plus the unlocking user), with the same checks as the
/// simulator's virtual lock: revoked credential, or access window over.
fn check_over(state: &LockSyncState) -> impl Fn(&[u8; 16], &[u8; 16]) -> bool + '_ {
    move |credential: &[u8; 16], user: &[u8; 16]| {
        state.is_revoked(credential) || state.access(user).is_some_and(|w| NOW > w.not_after)
    }
}

fn synced_state(n: u32) -> LockSyncState {
    let backend = key(7);
    let window = Window { not_before: NOW - 86_400, not_after: NOW + 86_400 };
    let mut entries: Vec<Entry> = (0..n).map(|i| Entry::AddAccess { user_id: user_id(i), window }).collect();
    entries.push(Entry::AddAccess { user_id: USER, window });
    entries.extend((0..n.min(1000)).map(|i| Entry::RevokeCredential { credential_id: user_id(i) }));
    let mut state = LockSyncState::new(LOCK);
    state
        .apply(&Delta::sign(DeltaKind::Snapshot, LOCK, 1, entries, &backend), &backend.public_key())
        .expect("the access list applies");
    state
}

/// Measures the unlock CPU figures, their growth with the access list, and the keypad.
pub fn measure(effort: Effort, figures: &mut Figures) -> Result<(), String> {
    let mut rig = Rig::new();
    let n = effort.pick(200, 2000);

    let state = synced_state(10);
    let check = check_over(&state);
    let phone = median(n, || rig.unlock(&check).0);
    let lock = median(n, || rig.unlock(&check).1);
    let eph = median(n, || rig.unlock(&check).2);
    figures.insert("unlock_phone_cpu_us".into(), us(phone));
    figures.insert("unlock_lock_cpu_us".into(), us(lock));
    figures.insert("unlock_phone_precompute_us".into(), us(eph));
    // The fast path: each resumed unlock spends the ticket the one before it was given.
    let mut ticket = rig.unlock_with(&check, None).3;
    let lock_resume = median(n, || {
        let (_, lock, _, next) = rig.unlock_with(&check, ticket.take());
        ticket = next;
        lock
    });
    figures.insert("unlock_lock_cpu_us_resume".into(), us(lock_resume));

    // Growth with the lock's access list. `LockSyncState` caps the list at MAX_ACCESS (16,384), so the
    // 100,000-entry point is measured on the same structures (BTreeMap/BTreeSet) the state uses.
    let growth_n = effort.pick(100, 500);
    for size in [10u32, 1_000, 100_000] {
        let lock = if size as usize <= MAX_ACCESS {
            let state = synced_state(size);
            let check = check_over(&state);
            median(growth_n, || rig.unlock(&check).1)
        } else {
            let window = Window { not_before: NOW - 86_400, not_after: NOW + 86_400 };
            let mut access: BTreeMap<[u8; 16], Window> = (0..size).map(|i| (user_id(i), window)).collect();
            access.insert(USER, window);
            let revoked: BTreeSet<[u8; 16]> = (0..1000).map(user_id).collect();
            let check = |credential: &[u8; 16], user: &[u8; 16]| {
                revoked.contains(credential) || access.get(user).is_some_and(|w| NOW > w.not_after)
            };
            median(growth_n, || rig.unlock(&check).1)
        };
        figures.insert(format!("unlock_lock_cpu_us_access_{size}"), us(lock));
    }

    // The keypad: one valid DAILY code typed at noon UTC.
    let secret = [0x33u8; 32];
    let mut keypad = Keypad::new(LOCK, secret, [0x48; 32]);
    let zone = ZoneRule::utc();
    let noon = NOW - 4 * 3600;
    let day = LocalDay(i32::try_from(noon / 86_400).map_err(|e| e.to_string())?);
    let code = doorcode::daily(&secret, DailyKind::Daily, day, 3).to_string();
    let (verdict, _) = keypad.enter(&code, noon, &zone);
    if !matches!(verdict, Verdict::Granted { .. }) {
        return Err(format!("the bench doorcode was not accepted: {verdict:?}"));
    }
    let batch = 100u32;
    let per_batch = median(effort.pick(200, 2000), || {
        timed(|| {
            for _ in 0..batch {
                std::hint::black_box(keypad.enter(std::hint::black_box(&code), noon, &zone));
            }
        })
        .1
    });
    figures.insert("doorcode_verify_us".into(), us(per_batch / batch));
    // The first code of a day also builds that day's code table.
    let first = median(effort.pick(50, 500), || {
        let mut fresh = Keypad::new(LOCK, secret, [0x48; 32]);
        timed(|| std::hint::black_box(fresh.enter(std::hint::black_box(&code), noon, &zone))).1
    });
    figures.insert("doorcode_verify_first_of_day_us".into(), us(first));
    Ok(())
}
