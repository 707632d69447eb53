use super::*;

const LOCK: [u8; 16] = [0x4c; 16];
const HASH_KEY: [u8; 32] = [0x48; 32];

/// The secret of the first vector of `tests/vectors/doorcode.json`.
fn secret() -> [u8; 32] {
    core::array::from_fn(|i| i as u8)
}

fn keypad() -> Keypad {
    Keypad::new(LOCK, secret(), HASH_KEY)
}

/// Unix seconds of a local civil time at a fixed offset.
fn at(ymd: (i32, u32, u32), h: u32, mi: u32, s: u32, offset: i32) -> u32 {
    let local =
        i64::from(LocalDay::from_ymd(ymd.0, ymd.1, ymd.2).0) * 86_400 + i64::from(h * 3600 + mi * 60 + s);
    u32::try_from(local - i64::from(offset)).expect("in range")
}

fn code(kind: DailyKind, day: (i32, u32, u32), slot: u16) -> alloc::string::String {
    alloc::format!("{}", doorcode::daily(&secret(), kind, LocalDay::from_ymd(day.0, day.1, day.2), slot))
}

fn granted(kind: CodeKind, day: (i32, u32, u32), slot: u16) -> Verdict {
    Verdict::Granted { kind, who: Holder::Slot { day: LocalDay::from_ymd(day.0, day.1, day.2), slot } }
}

fn denied(reason: DenyReason) -> Verdict {
    Verdict::Denied { reason }
}

const DAY: (i32, u32, u32) = (2026, 11, 22);
const NEXT: (i32, u32, u32) = (2026, 11, 23);

#[test]
fn accepts_the_codes_the_backend_derives() {
    let utc = ZoneRule::utc();
    let noon = at(DAY, 12, 0, 0, 0);
    let mut k = keypad();
    let day = LocalDay::from_ymd(DAY.0, DAY.1, DAY.2);
    k.set_issued_slots(day, DailyKind::Daily, DAILY_SLOT_WINDOW).expect("in the window");
    // tests/vectors/doorcode.json: DAILY 2026-11-22 slot 0 is 7945144, DAILY_SINGLE_USE slot 0 is 4024413.
    assert_eq!(k.enter("7945144", noon, &utc).0, granted(CodeKind::Daily, DAY, 0));
    assert_eq!(k.enter("4024413", noon, &utc).0, granted(CodeKind::DailySingleUse, DAY, 0));
    for slot in [1, 2, 3, DAILY_SLOT_WINDOW - 1] {
        assert_eq!(
            k.enter(&code(DailyKind::Daily, DAY, slot), noon, &utc).0,
            granted(CodeKind::Daily, DAY, slot)
        );
    }
    // A slot beyond the window is refused: the backend must never issue one.
    let beyond = code(DailyKind::Daily, DAY, DAILY_SLOT_WINDOW);
    assert_eq!(k.enter(&beyond, noon, &utc).0, denied(DenyReason::Wrong));
}

/// At a fixed-offset zone: today's code works at 23:59:59, not at 00:00:00 the next day; tomorrow's
/// code the other way round.
fn midnight_edges(offset: i32) {
    let zone = ZoneRule::fixed(offset).expect("valid");
    let last = at(DAY, 23, 59, 59, offset);
    let midnight = at(NEXT, 0, 0, 0, offset);
    let today = code(DailyKind::Daily, DAY, 0);
    let tomorrow = code(DailyKind::Daily, NEXT, 0);
    let mut k = keypad();
    assert_eq!(k.enter(&today, last, &zone).0, granted(CodeKind::Daily, DAY, 0));
    assert_eq!(k.enter(&tomorrow, last, &zone).0, denied(DenyReason::Wrong));
    assert_eq!(k.enter(&today, midnight, &zone).0, denied(DenyReason::Wrong));
    assert_eq!(k.enter(&tomorrow, midnight, &zone).0, granted(CodeKind::Daily, NEXT, 0));
}

#[test]
fn midnight_at_utc_plus_14() {
    midnight_edges(14 * 3600);
}

#[test]
fn midnight_at_utc_minus_10() {
    midnight_edges(-10 * 3600);
}

#[test]
fn a_dst_day_has_23_hours() {
    // New York: EST until 2026-03-08 07:00 UTC, then EDT.
    let spring = at((2026, 3, 8), 7, 0, 0, 0);
    let zone = ZoneRule::new(alloc::vec![
        Transition { utc_start: 0, offset_seconds: -5 * 3600 },
        Transition { utc_start: spring, offset_seconds: -4 * 3600 },
    ])
    .expect("valid");
    let dst_day = (2026, 3, 8);
    let c = code(DailyKind::Daily, dst_day, 5);
    let mut k = keypad();
    k.set_issued_slots(LocalDay::from_ymd(2026, 3, 8), DailyKind::Daily, 6).expect("in the window");
    assert_eq!(k.enter(&c, at(dst_day, 0, 0, 0, -5 * 3600) - 1, &zone).0, denied(DenyReason::Wrong));
    assert_eq!(k.enter(&c, at(dst_day, 0, 0, 0, -5 * 3600), &zone).0, granted(CodeKind::Daily, dst_day, 5));
    assert_eq!(
        k.enter(&c, at(dst_day, 23, 59, 59, -4 * 3600), &zone).0,
        granted(CodeKind::Daily, dst_day, 5)
    );
    assert_eq!(k.enter(&c, at((2026, 3, 9), 0, 0, 0, -4 * 3600), &zone).0, denied(DenyReason::Wrong));
    assert_eq!(at((2026, 3, 9), 0, 0, 0, -4 * 3600) - at(dst_day, 0, 0, 0, -5 * 3600), 23 * 3600);
}

#[test]
fn single_use_works_for_15_minutes_after_first_use() {
    let utc = ZoneRule::utc();
    let c = code(DailyKind::DailySingleUse, DAY, 7);
    let first = at(DAY, 9, 0, 0, 0);
    let mut k = keypad();
    k.set_issued_slots(LocalDay::from_ymd(DAY.0, DAY.1, DAY.2), DailyKind::DailySingleUse, 9).expect("fits");
    let ok = granted(CodeKind::DailySingleUse, DAY, 7);
    assert_eq!(k.enter(&c, first, &utc).0, ok);
    assert_eq!(k.enter(&c, first + 14 * 60 + 59, &utc).0, ok);
    assert_eq!(k.enter(&c, first + 15 * 60, &utc).0, denied(DenyReason::SingleUseSpent));
    assert_eq!(k.enter(&c, at(DAY, 23, 0, 0, 0), &utc).0, denied(DenyReason::SingleUseSpent));
    assert_eq!(
        k.single_use_entries(),
        [SingleUseEntry { day: LocalDay::from_ymd(2026, 11, 22), slot: 7, first_use: first }]
    );
    // Another single-use slot of the same day is independent.
    let other = code(DailyKind::DailySingleUse, DAY, 8);
    assert_eq!(k.enter(&other, first + 3600, &utc).0, granted(CodeKind::DailySingleUse, DAY, 8));
}

#[test]
fn single_use_table_fails_closed_and_evicts_only_past_days() {
    let utc = ZoneRule::utc();
    let noon = at(DAY, 12, 0, 0, 0);
    let c = code(DailyKind::DailySingleUse, DAY, 0);
    let day = LocalDay::from_ymd(2026, 11, 22);
    let fill = |d: LocalDay| -> Vec<SingleUseEntry> {
        (0..SINGLE_USE_TABLE_SIZE as u16)
            .map(|slot| SingleUseEntry { day: d, slot: slot + 1000, first_use: 0 })
            .collect()
    };
    // Full of entries of a later day (the clock was set back): a new code is refused, nothing forgotten.
    let mut k = keypad();
    k.set_single_use_entries(fill(LocalDay(day.0 + 1))).expect("fits");
    assert_eq!(k.enter(&c, noon, &utc).0, denied(DenyReason::SingleUseTableFull));
    assert_eq!(k.single_use_entries().len(), SINGLE_USE_TABLE_SIZE);
    // Full of entries of yesterday: they go, the new code is recorded.
    let mut k = keypad();
    k.set_single_use_entries(fill(LocalDay(day.0 - 1))).expect("fits");
    assert_eq!(k.enter(&c, noon, &utc).0, granted(CodeKind::DailySingleUse, DAY, 0));
    assert_eq!(k.single_use_entries().len(), 1);
    assert_eq!(
        keypad().set_single_use_entries(fill(day).into_iter().chain(fill(day).into_iter().take(1)).collect()),
        Err(KeypadError::SingleUseTableFull)
    );
}

#[test]
fn daily_codes_can_be_revoked() {
    let utc = ZoneRule::utc();
    let noon = at(DAY, 12, 0, 0, 0);
    let day = LocalDay::from_ymd(2026, 11, 22);
    let mut k = keypad();
    k.revoke_daily(day, DailyKind::Daily, 2).expect("room");
    assert_eq!(k.enter(&code(DailyKind::Daily, DAY, 2), noon, &utc).0, denied(DenyReason::Wrong));
    assert_eq!(
        k.enter(&code(DailyKind::DailySingleUse, DAY, 2), noon, &utc).0,
        granted(CodeKind::DailySingleUse, DAY, 2)
    );
    assert_eq!(k.revoke_daily(day, DailyKind::Daily, DAILY_SLOT_WINDOW), Err(KeypadError::SlotOutsideWindow));
    assert_eq!(k.revoked_daily(), [(day, DailyKind::Daily, 2)]);
    // The day turns: yesterday's revocations are dropped.
    k.enter("0000000", at(NEXT, 0, 0, 0, 0), &utc);
    assert!(k.revoked_daily().is_empty());
}

#[test]
fn permanent_codes_are_checked_by_hash_within_their_window_until_revoked() {
    let utc = ZoneRule::utc();
    let typed = "0412345";
    let digits = Doorcode::parse(typed).expect("digits");
    let id = [0xa1; 16];
    let (from, to) = (at(DAY, 8, 0, 0, 0), at(NEXT, 8, 0, 0, 0));
    let mut k = keypad();
    let hash = permanent_code_hash(&HASH_KEY, &LOCK, digits);
    k.set_permanent(PermanentCode { id, hash, not_before: from, not_after: to }).expect("room");
    let ok = Verdict::Granted { kind: CodeKind::Permanent, who: Holder::Access(id) };
    assert_eq!(k.enter(typed, from - 1, &utc).0, denied(DenyReason::Expired));
    let (verdict, event) = k.enter(typed, from, &utc);
    assert_eq!(verdict, ok);
    assert_eq!((event.kind, event.subject, event.detail), (EventKind::DOORCODE_GRANTED, id, 0x0300));
    assert_eq!(k.enter(typed, to - 1, &utc).0, ok);
    assert_eq!(k.enter(typed, to, &utc).0, denied(DenyReason::Expired));
    // A hash under another lock's id or key does not open this lock.
    let mut other = keypad();
    let foreign = permanent_code_hash(&HASH_KEY, &[0; 16], digits);
    other
        .set_permanent(PermanentCode { id, hash: foreign, not_before: 0, not_after: u32::MAX })
        .expect("room");
    assert_eq!(other.enter(typed, from, &utc).0, denied(DenyReason::Wrong));
    assert!(k.revoke_permanent(&id));
    assert_eq!(k.enter(typed, from, &utc).0, denied(DenyReason::Wrong));
    assert_eq!(k.permanent_count(), 0);
    assert!(!alloc::format!("{k:?}").contains(typed));
}

#[test]
fn malformed_input_is_refused_and_not_counted_as_a_guess() {
    let utc = ZoneRule::utc();
    let mut k = keypad();
    for bad in
        ["", "123456", "12345678", "12a4567", " 123456", "+123456", "-123456", "１２３４５６７", "1234567\n"]
    {
        let (verdict, event) = k.enter(bad, 1_000, &utc);
        assert_eq!(verdict, denied(DenyReason::Malformed), "{bad:?}");
        assert_eq!((event.kind, event.detail), (EventKind::DOORCODE_DENIED, 0x0500));
    }
    assert_eq!(k.throttle().consecutive_failures(), 0);
}

#[test]
fn wrong_codes_lock_out_longer_and_a_valid_code_resets() {
    let utc = ZoneRule::utc();
    let t0 = at(DAY, 10, 0, 0, 0);
    let valid = code(DailyKind::Daily, DAY, 0);
    let wrong = "0000000";
    let mut k = keypad();
    for i in 0..4 {
        assert_eq!(k.enter(wrong, t0 + i, &utc).0, denied(DenyReason::Wrong));
    }
    let (verdict, event) = k.enter(wrong, t0 + 4, &utc);
    assert_eq!(verdict, denied(DenyReason::Wrong));
    assert_eq!((event.kind, event.detail), (EventKind::DOORCODE_DENIED, 0x0100));
    let until = t0 + 4 + 30;
    // While locked out even the valid code is not checked; each attempt is logged.
    let (verdict, event) = k.enter(&valid, t0 + 10, &utc);
    assert_eq!(verdict, denied(DenyReason::LockedOut { until }));
    assert_eq!((event.kind, event.detail), (EventKind::KEYPAD_LOCKED_OUT, 24));
    assert_eq!(k.enter(wrong, until, &utc).0, denied(DenyReason::Wrong));
    assert_eq!(k.enter(wrong, until + 59, &utc).0, denied(DenyReason::LockedOut { until: until + 60 }));
    assert_eq!(k.enter(wrong, until + 60, &utc).0, denied(DenyReason::Wrong));
    assert_eq!(k.enter(&valid, until + 60 + 120, &utc).0, granted(CodeKind::Daily, DAY, 0));
    assert_eq!(k.throttle().consecutive_failures(), 0);
    assert_eq!(k.enter(wrong, until + 181, &utc).0, denied(DenyReason::Wrong));
    let restored = Throttle::decode(&k.throttle().encode()).expect("round trip");
    assert_eq!(&restored, k.throttle());
}

/// Drives an attacker who types a wrong code every second for three days (and, if `holds_valid`,
/// types a valid code of their own whenever one more wrong code would start a lockout). Returns the
/// times at which a wrong code was actually checked.
fn attack(holds_valid: bool) -> Vec<u32> {
    let utc = ZoneRule::utc();
    let start = at(DAY, 0, 0, 0, 0);
    let own = "5550123";
    let mut k = keypad();
    let hash = permanent_code_hash(&HASH_KEY, &LOCK, Doorcode::parse(own).expect("digits"));
    k.set_permanent(PermanentCode { id: [1; 16], hash, not_before: 0, not_after: u32::MAX }).expect("room");
    let mut checked = Vec::new();
    for now in start..start + 3 * 86_400 {
        if holds_valid && k.throttle().consecutive_failures() + 1 == FREE_ATTEMPTS {
            k.enter(own, now, &utc);
        }
        let guess = alloc::format!("{:07}", (u64::from(now) * 7_919) % 10_000_000);
        match k.enter(&guess, now, &utc).0 {
            Verdict::Denied { reason: DenyReason::LockedOut { .. } } => {}
            Verdict::Denied { .. } => checked.push(now),
            Verdict::Granted { .. } => {} // a lucky guess; not expected with these numbers
        }
    }
    checked
}

fn max_in_any_day(times: &[u32]) -> usize {
    let mut best = 0;
    let mut lo = 0;
    for hi in 0..times.len() {
        while times[hi] - times[lo] >= 86_400 {
            lo += 1;
        }
        best = best.max(hi - lo + 1);
    }
    best
}

#[test]
fn the_throttle_enforces_the_brute_force_bound() {
    let plain = attack(false);
    assert_eq!(max_in_any_day(&plain), MAX_GUESSES_PER_DAY, "the bound is reached, never exceeded");
    let interleaved = attack(true);
    assert!(max_in_any_day(&interleaved) <= MAX_GUESSES_PER_DAY);
    assert!(interleaved.len() >= 2 * MAX_GUESSES_PER_DAY);
}

#[test]
fn events_become_log_records() {
    let utc = ZoneRule::utc();
    let noon = at(DAY, 12, 0, 0, 0);
    let mut k = keypad();
    let (_, event) = k.enter(&code(DailyKind::DailySingleUse, DAY, 3), noon, &utc);
    assert_eq!(
        (event.time, event.kind, event.subject, event.detail),
        (noon, EventKind::DOORCODE_GRANTED, [0; 16], 0x0203)
    );
    let record = event.to_record(true);
    assert!(record.time_uncertain);
    assert_eq!((record.kind, record.detail), (EventKind::DOORCODE_GRANTED, 0x0203));
}

/// How many derived codes of the local day at `now` the keypad accepts: each code of both kinds and every
/// slot of the window, typed on its own copy of the keypad (so no attempt throttles another).
fn accepted_derived_codes(k: &Keypad, now: u32, zone: &ZoneRule) -> usize {
    let day = zone.local_day(now);
    let mut accepted = 0;
    for kind in [DailyKind::Daily, DailyKind::DailySingleUse] {
        for slot in 0..DAILY_SLOT_WINDOW {
            let typed = alloc::format!("{}", doorcode::daily(&secret(), kind, day, slot));
            if matches!(k.clone().enter(&typed, now, zone).0, Verdict::Granted { .. }) {
                accepted += 1;
            }
        }
    }
    accepted
}

/// A keypad holding `count` PERMANENT codes valid for ever (none of them `own`, the attacker's code).
fn keypad_with_permanent_codes(count: u16) -> Keypad {
    let mut k = keypad();
    for i in 0..count {
        let digits = Doorcode::parse(&alloc::format!("{:07}", 1_000_000 + u32::from(i) * 7)).expect("digits");
        let hash = permanent_code_hash(&HASH_KEY, &LOCK, digits);
        let mut id = [0u8; 16];
        id[..2].copy_from_slice(&i.to_be_bytes());
        k.set_permanent(PermanentCode { id, hash, not_before: 0, not_after: u32::MAX }).expect("room");
    }
    k
}

/// The attacker at the door for a whole simulated year, typing a fresh wrong code at the first second the
/// keypad checks one (and, if `holds_valid`, their own valid code whenever one more wrong code would start
/// a lockout). Returns the number of guesses the keypad checked and how many of them opened the door.
fn year_long_attack(k: &mut Keypad, holds_valid: bool) -> (u64, u64) {
    let utc = ZoneRule::utc();
    let start = at(DAY, 0, 0, 0, 0);
    let end = start + 365 * 86_400;
    let own = "5550123";
    let hash = permanent_code_hash(&HASH_KEY, &LOCK, Doorcode::parse(own).expect("digits"));
    k.set_permanent(PermanentCode { id: [0xee; 16], hash, not_before: 0, not_after: u32::MAX })
        .expect("room");
    let (mut checked, mut hits) = (0u64, 0u64);
    let mut now = start;
    while now < end {
        if holds_valid && k.throttle().consecutive_failures() + 1 == FREE_ATTEMPTS {
            k.enter(own, now, &utc);
        }
        let guess = alloc::format!("{:07}", (u64::from(now) * 7_919 + checked) % 10_000_000);
        match k.enter(&guess, now, &utc).0 {
            Verdict::Denied { reason: DenyReason::LockedOut { until } } => now = until.max(now + 1),
            Verdict::Denied { .. } => checked += 1,
            Verdict::Granted { .. } => {
                checked += 1;
                hits += 1;
            }
        }
    }
    (checked, hits)
}

/// Issue item 3: at a door with 300 live PERMANENT codes, a year of guessing at the fastest pace the
/// keypad allows has at most a 1 % chance of hitting a valid code (union bound: each checked wrong code
/// had at most `valid codes / 10^7`), with or without the attacker interleaving their own valid code.
#[test]
fn a_year_of_guessing_at_a_door_with_300_permanent_codes_stays_under_one_percent() {
    let utc = ZoneRule::utc();
    for holds_valid in [false, true] {
        let mut k = keypad_with_permanent_codes(300);
        let noon = at(DAY, 12, 0, 0, 0);
        let valid = 300 + 1 + accepted_derived_codes(&k, noon, &utc) as u64;
        let (checked, hits) = year_long_attack(&mut k, holds_valid);
        let chance_per_million = checked * valid * 1_000_000 / 10_000_000;
        assert!(
            chance_per_million <= 10_000,
            "{checked} guesses checked in a year with {valid} valid codes ({hits} opened the door): a \
             {}.{:02} % chance (holds a valid code: {holds_valid})",
            chance_per_million / 10_000,
            chance_per_million / 100 % 100
        );
    }
}

/// Issue item 3: a lock accepts only the derived slots the backend issued (plus a small headroom for codes
/// issued since its last sync), not the whole window of 64 slots per kind.
#[test]
fn a_derived_code_of_a_slot_never_issued_is_refused() {
    let utc = ZoneRule::utc();
    let noon = at(DAY, 12, 0, 0, 0);
    let mut k = keypad();
    for kind in [DailyKind::Daily, DailyKind::DailySingleUse] {
        assert_eq!(k.enter(&code(kind, DAY, 10), noon, &utc).0, denied(DenyReason::Wrong), "{kind:?}");
    }
    // With no synced mark the headroom is accepted: the first codes of a day work at an offline lock.
    assert_eq!(accepted_derived_codes(&k, noon, &utc), 2 * usize::from(SLOT_HEADROOM));
    assert_eq!(k.valid_codes(noon, &utc), 2 * u64::from(SLOT_HEADROOM));
    // Sync says slots 0..7 of today's DAILY codes were issued: slot 10 (< 7 + 4) works, 11 does not.
    let day = LocalDay::from_ymd(DAY.0, DAY.1, DAY.2);
    k.set_issued_slots(day, DailyKind::Daily, 7).expect("in the window");
    k.set_issued_slots(day, DailyKind::Daily, 2).expect("a lower mark changes nothing");
    assert_eq!(k.enter(&code(DailyKind::Daily, DAY, 10), noon, &utc).0, granted(CodeKind::Daily, DAY, 10));
    assert_eq!(k.enter(&code(DailyKind::Daily, DAY, 11), noon, &utc).0, denied(DenyReason::Wrong));
    assert_eq!(k.valid_codes(noon, &utc), 11 + 4);
    assert_eq!(
        k.set_issued_slots(day, DailyKind::Daily, DAILY_SLOT_WINDOW + 1),
        Err(KeypadError::SlotOutsideWindow)
    );
    // The next day has no mark yet; yesterday's goes when the day turns.
    let next_noon = at(NEXT, 12, 0, 0, 0);
    assert_eq!(accepted_derived_codes(&k, next_noon, &utc), 2 * usize::from(SLOT_HEADROOM));
}

/// The budget applies per door: a quiet door keeps the throttle's daily pace, a door with the most
/// PERMANENT codes gets a few dozen guesses a year, within the same 1 %.
#[test]
fn the_yearly_budget_scales_with_the_live_codes() {
    let quiet = year_long_attack(&mut keypad(), false).0;
    assert!(quiet > 8_000, "a quiet door keeps the throttle's pace: {quiet}");
    let crowded = year_long_attack(&mut keypad_with_permanent_codes(1_999), false).0;
    assert!(crowded * 2_008 <= YEARLY_RISK_BUDGET, "{crowded}");
}

/// Issue 17 item 1: while the clock is uncertain (after a power loss) only open-ended PERMANENT codes
/// open; derived codes and PERMANENT codes with an end are refused, and a single-use code whose first use
/// lies after `now` (the clock went back) counts as spent.
#[test]
fn an_uncertain_clock_opens_only_open_ended_permanent_codes() {
    let utc = ZoneRule::utc();
    let noon = at(DAY, 12, 0, 0, 0);
    let mut k = keypad();
    let set = |k: &mut Keypad, typed: &str, id: [u8; 16], not_after: u32| {
        let hash = permanent_code_hash(&HASH_KEY, &LOCK, Doorcode::parse(typed).expect("digits"));
        k.set_permanent(PermanentCode { id, hash, not_before: 0, not_after }).expect("room");
    };
    set(&mut k, "1111111", [1; 16], u32::MAX);
    set(&mut k, "2222222", [2; 16], noon + 86_400);
    let uncertain = |k: &mut Keypad, typed: &str| k.enter_at(typed, noon, true, &utc).0;
    assert_eq!(
        uncertain(&mut k, "1111111"),
        Verdict::Granted { kind: CodeKind::Permanent, who: Holder::Access([1; 16]) }
    );
    assert_eq!(uncertain(&mut k, "2222222"), denied(DenyReason::TimeUncertain));
    assert_eq!(uncertain(&mut k, &code(DailyKind::Daily, DAY, 0)), denied(DenyReason::TimeUncertain));
    let once = code(DailyKind::DailySingleUse, DAY, 1);
    assert_eq!(uncertain(&mut k, &once), denied(DenyReason::TimeUncertain));
    assert!(k.single_use_entries().is_empty(), "nothing recorded while uncertain");
    // Certain again: the same codes work.
    assert!(matches!(k.enter(&once, noon, &utc).0, Verdict::Granted { .. }));
    // The clock goes back a minute (a restart behind the first use): the code counts as spent.
    assert_eq!(k.enter(&once, noon - 60, &utc).0, denied(DenyReason::SingleUseSpent));
}
