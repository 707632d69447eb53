//! `latchkey-bench`: measures the figures of docs/performance.md and writes them as one flat JSON object
//! (`--out PATH`, names carry their unit). `cargo xtask bench` runs it, merges its figures with those of
//! other steps, compares them with the budgets and prints the table.
//!
//! Usage: `latchkey-bench [--quick] --out PATH`. Progress goes to stderr; nothing is printed on stdout.

mod cpu;
mod over_air;
mod sim_load;
mod store;
mod sync;
mod tap;

#[allow(dead_code, missing_docs, clippy::all)]
#[path = "../../sim/tests/integration/support.rs"]
mod support;

/// The allocator the simulator ships with in the `latchkey` CLI (mimalloc, SQLite's allocations included),
/// so the simulator figures measure it as partners run it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// The named figures measured so far (name with unit → value).
pub type Figures = BTreeMap<String, f64>;

/// How hard to try: `--quick` keeps the whole run under a minute.
#[derive(Clone, Copy, Debug)]
pub struct Effort {
    /// `--quick` was given.
    pub quick: bool,
    /// Where files besides the figures go (charts): the folder of `--out`.
    pub out_dir: &'static std::path::Path,
}

impl Effort {
    /// `quick` iterations under `--quick`, else `full`.
    pub fn pick(self, quick: usize, full: usize) -> usize {
        if self.quick { quick } else { full }
    }
}

/// Runs `sample` `n` times (after `n / 10 + 1` warm-up runs) and returns the median of what it reports.
pub fn median(n: usize, mut sample: impl FnMut() -> Duration) -> Duration {
    for _ in 0..n / 10 + 1 {
        sample();
    }
    let mut samples: Vec<Duration> = (0..n.max(1)).map(|_| sample()).collect();
    samples.sort_unstable();
    samples[samples.len() / 2]
}

/// Times one call of `f`.
pub fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let started = Instant::now();
    let value = f();
    (value, started.elapsed())
}

/// Microseconds as f64, rounded to 0.1.
pub fn us(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e7).round() / 10.0
}

/// Milliseconds as f64, rounded to 0.01.
pub fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e5).round() / 100.0
}

fn main() -> ExitCode {
    let mut quick = false;
    let mut only = None;
    let mut out = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => quick = true,
            "--out" => out = args.next().map(PathBuf::from),
            "--only" => only = args.next(),
            other => {
                eprintln!(
                    "unknown argument {other:?}; usage: latchkey-bench [--quick] [--only STEP] --out PATH"
                );
                return ExitCode::FAILURE;
            }
        }
    }
    let Some(out) = out else {
        eprintln!("usage: latchkey-bench [--quick] [--only STEP] --out PATH");
        return ExitCode::FAILURE;
    };
    // Leaked once: the folder lives as long as the process, and `Effort` stays `Copy`.
    let out_dir: &'static std::path::Path =
        Box::leak(out.parent().map(std::path::Path::to_path_buf).unwrap_or_default().into_boxed_path());
    match run(Effort { quick, out_dir }, only.as_deref(), &out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("bench failed: {error}");
            ExitCode::FAILURE
        }
    }
}

/// One measuring step: its `--only` name, what it measures, and the function.
type Step = (&'static str, &'static str, fn(Effort, &mut Figures) -> Result<(), String>);

const STEPS: [Step; 7] = [
    ("link", "unlock over the in-memory link", over_air::measure),
    ("tap", "tap to open, modelled end to end", tap::measure),
    ("cpu", "unlock and keypad CPU", cpu::measure),
    ("sync", "sync deltas", sync::measure),
    ("store", "phone store cold start", store::measure),
    ("sim", "simulator POST v2 users", sim_load::measure),
    ("sim-locks", "simulator POST v2 users, doors with connected locks", sim_load::measure_with_locks),
];

fn run(effort: Effort, only: Option<&str>, out: &std::path::Path) -> Result<(), String> {
    let mut figures = Figures::new();
    if let Some(only) = only
        && !STEPS.iter().any(|(key, ..)| *key == only)
    {
        return Err(format!("no step {only:?}; steps: link, tap, cpu, sync, store, sim, sim-locks"));
    }
    for (key, name, step) in STEPS {
        if only.is_some_and(|only| only != key) {
            continue;
        }
        eprintln!("--> {name}");
        let started = Instant::now();
        step(effort, &mut figures)?;
        eprintln!("    {:.1} s", started.elapsed().as_secs_f64());
    }
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("creating {parent:?}: {e}"))?;
    }
    let json = serde_json::to_string_pretty(&figures).map_err(|e| e.to_string())?;
    std::fs::write(out, json + "\n").map_err(|e| format!("writing {out:?}: {e}"))?;
    Ok(())
}
