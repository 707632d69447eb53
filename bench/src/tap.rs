//! Tap to open, modelled end to end: from the app's unlock call to the lock's result, on the timing rules
//! of the Bluetooth Core specification, with the protocol's messages as they really cross the in-memory
//! link (`over_air::unlock`). docs/performance.md ("The whole tap") derives each rule and cites the spec.
//!
//! The model is arithmetic over connection events:
//! - the phone is scanning; it waits for the lock's next advertising event, then connects
//!   ([`Radio::advertising_wait_ms`], [`Radio::connection_setup_ms`]);
//! - every ATT request (the MTU exchange, each discovery request, the CCCD write, each write of a
//!   protocol packet) is answered one connection event after it is sent, and the phone sends its next
//!   PDU in the event after the answer;
//! - a lock message goes out in the first event after the lock has computed it, up to
//!   [`Radio::packets_per_event`] notifications per event;
//! - the result counts at the event that carries its last packet.

use std::fmt::Write as _;
use std::time::Duration;

use latchkey_sim::link::LinkModel;

use crate::over_air::{LobbyUnlock, Sent, Side};
use crate::support::World;
use crate::{Effort, Figures};

/// Mean of advDelay, the random 0–10 ms the advertiser adds to every advertising interval.
const ADV_DELAY_MEAN_MS: f64 = 5.0;
/// T_IFS, between the advertising PDU and the CONNECT_IND that answers it.
const T_IFS_MS: f64 = 0.15;
/// transmitWindowDelay after a CONNECT_IND for a legacy advertising PDU on LE 1M.
const TRANSMIT_WINDOW_DELAY_MS: f64 = 1.25;
/// Air time of one LL data PDU of a full ATT packet at MTU 185 (189-byte LL payload, LE 1M, with the
/// empty PDU that acknowledges it and two T_IFS): about 1.9 ms.
const PACKET_EXCHANGE_MS: f64 = 1.9;
/// The most packets one side sends in one connection event: phones' controllers commonly cap it (an
/// assumption, stated in docs/performance.md).
const MAX_PACKETS_PER_EVENT: u32 = 4;
/// P-256 on the lock: cycles of one operation with the optimised Cortex-M4 assembly of
/// Emill/P256-Cortex-M4 (newAM/p256-cm4's measurement on an STM32WLE5: verify 1,225,746 cycles; an ECDH
/// is one variable-base scalar multiplication, taken as costing no more than a verify).
pub const M4_P256_OP_CYCLES: f64 = 1_225_746.0;
/// The lock MCU's clock (an nRF52840-class Cortex-M4F).
pub const M4_CLOCK_HZ: f64 = 64_000_000.0;
/// The same operation with RustCrypto's `p256` (what `latchkey-protocol` uses today) on the same MCU
/// (newAM/p256-cm4's comparison: verify 14,303,277 cycles).
pub const M4_P256_OP_CYCLES_RUSTCRYPTO: f64 = 14_303_277.0;
/// The same operation on the STM32WL's hardware public-key accelerator (PKA) (the same comparison: verify
/// 10,516,860 cycles): an accelerator is not always faster than optimised assembly.
pub const M4_P256_OP_CYCLES_PKA: f64 = 10_516_860.0;
/// nRF52840 currents at 3 V with the DC/DC converter (datasheet figures): CPU at 64 MHz from flash, and the
/// radio (the mean of receive at 1 Mbps, 4.6 mA, and transmit at 0 dBm, 4.8 mA).
pub const M4_CPU_MA: f64 = 3.2;
pub const RADIO_MA: f64 = 4.7;
/// The lock's radio-on time per connection event beyond its data packets: ramp-up, listening for the
/// phone's packet and answering it with a short or empty PDU (an assumption).
pub const EVENT_RADIO_MS: f64 = 0.6;
/// P-256 operations the lock performs per unlock (protocol/src/unlock/lock.rs): the full path runs an ECDH
/// with its static key, verifies the credential's backend signature and the device's signature; the resumed
/// path uses the ticket's symmetric secret only.
pub const LOCK_P256_OPS_FULL: u32 = 3;
pub const LOCK_P256_OPS_RESUME: u32 = 0;

/// The radio's settings for one modelled tap.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Radio {
    /// The lock's advertising interval (advInterval).
    pub adv_interval_ms: f64,
    /// The connection interval the phone chose (connInterval).
    pub connection_interval_ms: f64,
}

impl Radio {
    /// Mean wait from the tap to the lock's next advertising event, the phone scanning all the time: the
    /// events are advInterval + advDelay apart and the tap falls anywhere between two.
    pub fn advertising_wait_ms(self) -> f64 {
        (self.adv_interval_ms + ADV_DELAY_MEAN_MS) / 2.0
    }

    /// From that advertising PDU to the first connection event: T_IFS, transmitWindowDelay, and a mean
    /// transmitWindowOffset of half a connection interval.
    pub fn connection_setup_ms(self) -> f64 {
        T_IFS_MS + TRANSMIT_WINDOW_DELAY_MS + self.connection_interval_ms / 2.0
    }

    /// Full packets one side fits in one connection event (at most [`MAX_PACKETS_PER_EVENT`], and what
    /// three quarters of the interval holds).
    pub fn packets_per_event(self) -> u32 {
        let fit = (self.connection_interval_ms * 0.75 / PACKET_EXCHANGE_MS).floor() as u32;
        fit.clamp(1, MAX_PACKETS_PER_EVENT)
    }
}

/// What the phone knows of the lock when the user taps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Visit {
    /// Never connected: GATT discovery, and the full unlock (no resumption ticket).
    First,
    /// Connected before: GATT handles cached, a resumption ticket held.
    Repeat,
}

/// The ATT requests before the protocol's first message, by visit: (what, requests).
pub fn gatt_requests(visit: Visit) -> Vec<(&'static str, u32)> {
    match visit {
        // Discover All Primary Services: GAP and GATT (16-bit UUIDs) in one response, the Latchkey
        // service (128-bit) in a second, then Attribute Not Found. Discover All Characteristics of each
        // of the three services: one response and the request that ends the range. Descriptors: the CCCDs
        // of Service Changed and of the notify characteristic.
        Visit::First => vec![
            ("MTU exchange", 1),
            ("primary services", 3),
            ("characteristics", 6),
            ("descriptors", 2),
            ("subscribe (CCCD write)", 1),
        ],
        // The cache is checked by reading the Database Hash (an unbonded client keeps no change-aware
        // state between connections).
        Visit::Repeat => {
            vec![("MTU exchange", 1), ("cache check (Database Hash)", 1), ("subscribe (CCCD write)", 1)]
        }
    }
}

/// One phase of a modelled tap and the time it adds.
#[derive(Clone, Debug, PartialEq)]
pub struct Phase {
    pub name: String,
    pub ms: f64,
}

/// A modelled tap: its phases, in order.
#[derive(Clone, Debug, PartialEq)]
pub struct Tap {
    pub phases: Vec<Phase>,
    /// Connection events from the first to the one carrying the result, both counted.
    pub connection_events: u32,
}

impl Tap {
    pub fn total_ms(&self) -> f64 {
        self.phases.iter().map(|phase| phase.ms).sum()
    }
}

/// Models one tap: `messages` are the protocol's messages as they crossed the link (the lock's Hello
/// first), `lock_cpu_ms` the lock's work before its answer to the phone's request. Each phase lasts from the
/// start of the connection event that ended the phase before to the start of the one carrying its own last
/// PDU; the last phase adds that event's packets' air time.
pub fn tap(radio: Radio, visit: Visit, messages: &[Sent], lock_cpu_ms: f64) -> Tap {
    let interval = radio.connection_interval_ms;
    let per_event = radio.packets_per_event();
    let mut phases = vec![
        Phase {
            name: "advertising (wait for the lock's next event)".into(),
            ms: radio.advertising_wait_ms(),
        },
        Phase { name: "connection set-up".into(), ms: radio.connection_setup_ms() },
    ];
    let mut reached = 0u32;
    let mut phase = |phases: &mut Vec<Phase>, name: String, last_event: u32| {
        phases.push(Phase { name, ms: f64::from(last_event - reached) * interval });
        reached = last_event;
    };
    // `next`: the event in which the phone can send; `trigger`: the event that carried the PDU the lock
    // answers next.
    let mut next = 0u32;
    let mut trigger = 0u32;
    for (what, requests) in gatt_requests(visit) {
        trigger = next + 2 * (requests - 1);
        let answered = trigger + 1;
        phase(&mut phases, format!("{what}: {requests} ATT request(s)"), answered);
        next = answered + 1;
    }
    let mut last_packets = 1;
    for (index, message) in messages.iter().enumerate() {
        match message.from {
            Side::Lock => {
                // The Hello needs no computing: it leaves with the CCCD write's answer.
                let cpu = if index == 0 { 0.0 } else { lock_cpu_ms };
                let first = trigger + ((cpu / interval).ceil() as u32).max(1);
                let last = first + message.packets.div_ceil(per_event) - 1;
                phase(
                    &mut phases,
                    format!("lock message {index}: {} notification(s)", message.packets),
                    last,
                );
                last_packets = message.packets - (last - first) * per_event;
                next = last + 1;
            }
            Side::Phone => {
                trigger = next + 2 * (message.packets - 1);
                phase(
                    &mut phases,
                    format!("phone message {index}: {} write request(s)", message.packets),
                    trigger,
                );
                last_packets = 1;
            }
        }
    }
    phases.push(Phase {
        name: "the last event's packets on air".into(),
        ms: f64::from(last_packets) * PACKET_EXCHANGE_MS,
    });
    Tap { phases, connection_events: reached + 1 }
}

/// The lock's P-256 work in ms on the modelled Cortex-M4 ([`M4_P256_OP_CYCLES`] at [`M4_CLOCK_HZ`]).
pub fn lock_cpu_ms(p256_ops: u32) -> f64 {
    lock_cpu_ms_with(p256_ops, M4_P256_OP_CYCLES)
}

fn lock_cpu_ms_with(p256_ops: u32, cycles_per_op: f64) -> f64 {
    f64::from(p256_ops) * cycles_per_op / M4_CLOCK_HZ * 1000.0
}

/// The lock's radio-on time for a tap: [`EVENT_RADIO_MS`] per connection event plus the exchange of each
/// protocol packet.
pub fn lock_radio_on_ms(tap: &Tap, messages: &[Sent]) -> f64 {
    let packets: u32 = messages.iter().map(|message| message.packets).sum();
    f64::from(tap.connection_events) * EVENT_RADIO_MS + f64::from(packets) * PACKET_EXCHANGE_MS
}

/// The charge one unlock draws from the lock's battery, in µC (mA × ms): radio and P-256 work.
pub fn lock_charge_uc(radio_on_ms: f64, crypto_ms: f64) -> f64 {
    radio_on_ms * RADIO_MA + crypto_ms * M4_CPU_MA
}

/// The grid every tap figure is reported on.
pub const CONNECTION_INTERVALS_MS: [f64; 4] = [7.5, 15.0, 30.0, 50.0];
pub const ADVERTISING_INTERVALS_MS: [f64; 2] = [100.0, 1000.0];

/// Measures the first and the repeat unlock over the in-memory link, models the tap on the grid, and writes
/// `tap_to_open.svg` beside the figures.
pub fn measure(effort: Effort, figures: &mut Figures) -> Result<(), String> {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    let (first, repeat) = runtime.block_on(async {
        let w = World::start().await;
        let lobby = LobbyUnlock::set_up(&w, LinkModel { connection_interval_ms: 30, mtu: 185 }).await?;
        let first = lobby.unlock(None).await?;
        let ticket = first.outcome.ticket.clone().ok_or("the full unlock issued no ticket")?;
        let repeat = lobby.unlock(Some(ticket)).await?;
        w.sim.stop().await.map_err(|e| e.to_string())?;
        Ok::<_, String>((first, repeat))
    })?;
    let (first_messages, repeat_messages) = (first.messages, repeat.messages);
    let mut rows = Vec::new();
    for adv in ADVERTISING_INTERVALS_MS {
        for interval in CONNECTION_INTERVALS_MS {
            let radio = Radio { adv_interval_ms: adv, connection_interval_ms: interval };
            let first = tap(radio, Visit::First, &first_messages, lock_cpu_ms(LOCK_P256_OPS_FULL));
            let repeat = tap(radio, Visit::Repeat, &repeat_messages, lock_cpu_ms(LOCK_P256_OPS_RESUME));
            let key = format!("adv{}_ci{}", adv as u32, interval.to_string().replace('.', "_"));
            figures.insert(format!("tap_to_open_first_modelled_ms_{key}"), round(first.total_ms()));
            figures.insert(format!("tap_to_open_repeat_modelled_ms_{key}"), round(repeat.total_ms()));
            if adv == 100.0 && interval == 30.0 {
                figures.insert("tap_to_open_first_modelled_ms".into(), round(first.total_ms()));
                figures.insert("tap_to_open_repeat_modelled_ms".into(), round(repeat.total_ms()));
                figures
                    .insert("tap_to_open_first_connection_events".into(), f64::from(first.connection_events));
                figures.insert(
                    "tap_to_open_repeat_connection_events".into(),
                    f64::from(repeat.connection_events),
                );
                let radio_first = lock_radio_on_ms(&first, &first_messages);
                let radio_repeat = lock_radio_on_ms(&repeat, &repeat_messages);
                figures.insert("lock_radio_on_ms_first".into(), round(radio_first));
                figures.insert("lock_radio_on_ms_repeat".into(), round(radio_repeat));
                for (name, cycles) in [
                    ("asm", M4_P256_OP_CYCLES),
                    ("rustcrypto", M4_P256_OP_CYCLES_RUSTCRYPTO),
                    ("pka", M4_P256_OP_CYCLES_PKA),
                ] {
                    let crypto = lock_cpu_ms_with(LOCK_P256_OPS_FULL, cycles);
                    figures.insert(format!("lock_crypto_ms_full_m4_{name}"), round(crypto));
                    figures.insert(
                        format!("lock_charge_uc_first_m4_{name}"),
                        round(lock_charge_uc(radio_first, crypto)),
                    );
                }
                let resume_crypto = lock_cpu_ms(LOCK_P256_OPS_RESUME);
                figures.insert(
                    "lock_charge_uc_repeat".into(),
                    round(lock_charge_uc(radio_repeat, resume_crypto)),
                );
                for (visit, tap) in [("first", &first), ("repeat", &repeat)] {
                    eprintln!("    tap to open, {visit} visit, adv 100 ms, CI 30 ms:");
                    for phase in &tap.phases {
                        eprintln!("      {:>7.1} ms  {}", phase.ms, phase.name);
                    }
                }
            }
            rows.push((adv, interval, first.total_ms(), repeat.total_ms()));
        }
    }
    let chart = effort.out_dir.join("tap_to_open.svg");
    std::fs::create_dir_all(effort.out_dir)
        .map_err(|e| format!("creating {}: {e}", effort.out_dir.display()))?;
    std::fs::write(&chart, chart_svg(&rows))
        .map_err(|e| format!("could not write {}: {e}", chart.display()))?;
    eprintln!("    chart: {}", chart.display());
    Ok(())
}

fn round(ms: f64) -> f64 {
    crate::ms(Duration::from_secs_f64(ms / 1000.0))
}

/// A grouped bar chart: for each advertising interval, the first and repeat tap at each connection
/// interval, with the budgets drawn as lines.
fn chart_svg(rows: &[(f64, f64, f64, f64)]) -> String {
    const WIDTH: f64 = 760.0;
    const HEIGHT: f64 = 380.0;
    const LEFT: f64 = 60.0;
    const BOTTOM: f64 = 320.0;
    const TOP: f64 = 40.0;
    let max = rows.iter().map(|row| row.2.max(row.3)).fold(500.0, f64::max) * 1.1;
    let y = |ms: f64| BOTTOM - (ms / max) * (BOTTOM - TOP);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="{LEFT}" y="22" font-size="15" font-weight="bold">Tap to open, modelled (ms): first visit and repeat visit</text>
"##
    );
    for tick in (0..=(max as u32)).step_by(250) {
        let ty = y(f64::from(tick));
        let _ = writeln!(
            svg,
            r##"<line x1="{LEFT}" x2="{WIDTH}" y1="{ty:.1}" y2="{ty:.1}" stroke="#eee"/><text x="{:.1}" y="{:.1}" text-anchor="end">{tick}</text>"##,
            LEFT - 6.0,
            ty + 4.0
        );
    }
    let group_width = (WIDTH - LEFT - 20.0) / rows.len() as f64;
    for (index, (adv, interval, first, repeat)) in rows.iter().enumerate() {
        let x = LEFT + 10.0 + index as f64 * group_width;
        let bar = group_width * 0.35;
        for (offset, value, colour) in [(0.0, first, "#c0504d"), (bar, repeat, "#4f81bd")] {
            let _ = writeln!(
                svg,
                r##"<rect x="{:.1}" y="{:.1}" width="{bar:.1}" height="{:.1}" fill="{colour}"><title>{value:.0} ms</title></rect><text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="10">{value:.0}</text>"##,
                x + offset,
                y(*value),
                BOTTOM - y(*value),
                x + offset + bar / 2.0,
                y(*value) - 3.0
            );
        }
        let _ = writeln!(
            svg,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="middle">CI {interval}</text><text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#555">adv {adv}</text>"##,
            x + bar,
            BOTTOM + 16.0,
            x + bar,
            BOTTOM + 30.0
        );
    }
    for (budget, label) in [(500.0, "first-visit budget 500 ms"), (250.0, "repeat budget 250 ms")] {
        let by = y(budget);
        let _ = writeln!(
            svg,
            r##"<line x1="{LEFT}" x2="{WIDTH}" y1="{by:.1}" y2="{by:.1}" stroke="#333" stroke-dasharray="6 4"/><text x="{:.1}" y="{:.1}" text-anchor="end" fill="#333">{label}</text>"##,
            WIDTH - 4.0,
            by - 4.0
        );
    }
    let _ = write!(
        svg,
        r##"<rect x="{LEFT}" y="{:.1}" width="12" height="12" fill="#c0504d"/><text x="{:.1}" y="{:.1}">first visit (discovery, full unlock)</text>
<rect x="330" y="{:.1}" width="12" height="12" fill="#4f81bd"/><text x="348" y="{:.1}">repeat visit (cached GATT, resumption ticket)</text>
</svg>
"##,
        HEIGHT - 24.0,
        LEFT + 18.0,
        HEIGHT - 14.0,
        HEIGHT - 24.0,
        HEIGHT - 14.0
    );
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unlock_messages(request_packets: u32) -> Vec<Sent> {
        vec![
            Sent { from: Side::Lock, packets: 1 },
            Sent { from: Side::Phone, packets: request_packets },
            Sent { from: Side::Lock, packets: 1 },
        ]
    }

    #[test]
    fn a_repeat_tap_at_30_ms_is_the_wait_the_set_up_and_eight_connection_events() {
        let radio = Radio { adv_interval_ms: 100.0, connection_interval_ms: 30.0 };
        let tap = tap(radio, Visit::Repeat, &unlock_messages(1), 0.0);
        // MTU exchange (events 0-1), hash read (2-3), CCCD write and Hello (4-5), request (6), result (7).
        assert_eq!(tap.connection_events, 8);
        assert!((tap.total_ms() - (52.5 + 0.15 + 1.25 + 15.0 + 7.0 * 30.0 + 1.9)).abs() < 1e-9, "{tap:?}");
    }

    #[test]
    fn each_extra_write_costs_two_events_and_slow_lock_crypto_delays_the_result() {
        let radio = Radio { adv_interval_ms: 100.0, connection_interval_ms: 30.0 };
        let one = tap(radio, Visit::Repeat, &unlock_messages(1), 0.0);
        let two = tap(radio, Visit::Repeat, &unlock_messages(2), 0.0);
        assert_eq!(two.connection_events, one.connection_events + 2);
        let slow = tap(radio, Visit::Repeat, &unlock_messages(1), 61.0);
        assert_eq!(
            slow.connection_events,
            one.connection_events + 2,
            "61 ms of crypto spans three intervals"
        );
    }

    #[test]
    fn a_first_visit_discovers_before_subscribing() {
        let radio = Radio { adv_interval_ms: 100.0, connection_interval_ms: 30.0 };
        let first = tap(radio, Visit::First, &unlock_messages(2), 0.0);
        let repeat = tap(radio, Visit::Repeat, &unlock_messages(2), 0.0);
        // 13 ATT requests against 3 before the Hello.
        assert_eq!(first.connection_events, repeat.connection_events + 20);
    }

    #[test]
    fn short_intervals_carry_fewer_packets_per_event() {
        assert_eq!(Radio { adv_interval_ms: 100.0, connection_interval_ms: 7.5 }.packets_per_event(), 2);
        assert_eq!(Radio { adv_interval_ms: 100.0, connection_interval_ms: 30.0 }.packets_per_event(), 4);
    }

    /// The model must assume every packet the protocol really sends: the messages it is given are recorded
    /// from the link, and their packets add up to what the link counted.
    #[test]
    fn the_model_carries_every_packet_the_link_counted() {
        let runtime = tokio::runtime::Runtime::new().expect("a runtime");
        runtime.block_on(async {
            let w = World::start().await;
            let lobby = LobbyUnlock::set_up(&w, LinkModel { connection_interval_ms: 30, mtu: 185 })
                .await
                .expect("set up");
            let first = lobby.unlock(None).await.expect("full unlock");
            let ticket = first.outcome.ticket.clone().expect("a ticket");
            let repeat = lobby.unlock(Some(ticket)).await.expect("resumed unlock");
            for recorded in [&first, &repeat] {
                let by = |side| {
                    recorded.messages.iter().filter(|m| m.from == side).map(|m| m.packets).sum::<u32>()
                };
                assert_eq!(by(Side::Phone), recorded.stats.packets_sent);
                assert_eq!(by(Side::Lock), recorded.stats.packets_received);
                assert_eq!(recorded.stats.round_trips, 1, "the model assumes one application round trip");
                assert_eq!(recorded.messages.len(), 3, "Hello, request, result: {:?}", recorded.messages);
            }
            w.sim.stop().await.expect("stop");
        });
    }
}
