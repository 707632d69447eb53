//! `cargo xtask bench [--quick]`: runs every figure source, merges their figures into one flat JSON object
//! (`target/bench/summary.json`, units in the names), and prints a table against the budgets of
//! docs/performance.md.
//!
//! Adding a figure from another step is one function: write `fn my_figures(ctx: &Ctx) -> anyhow::Result<Figures>`
//! that measures (or runs a tool and reads its output) and returns named figures, append it to [`SOURCES`],
//! and give each figure a row in [`BUDGETS`] if it has a budget (figures without one are listed as "info").

use std::time::Instant;

use anyhow::{Context, bail};

use crate::figures::{Ctx, Figures};

/// A source of figures: its name (for progress and errors) and the function.
type Source = (&'static str, fn(&Ctx) -> anyhow::Result<Figures>);

/// Every source, in order. Append new ones here.
const SOURCES: &[Source] = &[
    ("latchkey-bench (unlock, keypad, sync, store, simulator)", core_figures),
    ("latchkey-ffi size (release-mobile, stripped)", crate::size::bench_figures),
    ("Kotlin on the JVM (one coarse FFI call)", crate::kotlin::bench_figures),
];

/// A budget a figure must meet.
#[derive(Clone, Copy, Debug)]
enum Budget {
    /// The figure must be at most this.
    AtMost(f64),
    /// The figure must be at least this.
    AtLeast(f64),
}

/// The budgets of issue 7 (docs/performance.md). A budgeted figure that no source produced is reported as
/// "not measured".
const BUDGETS: &[(&str, Budget)] = &[
    ("unlock_round_trips", Budget::AtMost(1.0)),
    ("unlock_bytes_over_air", Budget::AtMost(1024.0)),
    ("unlock_modelled_ms_ci30", Budget::AtMost(200.0)),
    ("unlock_phone_cpu_us", Budget::AtMost(500.0)),
    ("unlock_lock_cpu_us", Budget::AtMost(1500.0)),
    ("unlock_lock_cpu_us_resume", Budget::AtMost(50.0)),
    ("doorcode_verify_us", Budget::AtMost(50.0)),
    ("sync_delta_bytes_per_entry", Budget::AtMost(48.0)),
    ("sync_apply_10k_ms", Budget::AtMost(50.0)),
    ("store_open_and_load_1k_locks_ms", Budget::AtMost(20.0)),
    ("sim_v2_users_rps", Budget::AtLeast(10_000.0)),
    // The whole tap, modelled (bench/src/tap.rs, docs/performance.md "The whole tap").
    ("tap_to_open_repeat_modelled_ms", Budget::AtMost(250.0)),
    ("tap_to_open_first_modelled_ms", Budget::AtMost(500.0)),
    // Measured by the bindings' sources (xtask/src/kotlin.rs, xtask/src/size.rs).
    ("ffi_kotlin_call_us", Budget::AtMost(20.0)),
    ("cdylib_stripped_bytes", Budget::AtMost(4_000_000.0)),
];

/// The figures of the `latchkey-bench` crate (`bench/`), built in release.
fn core_figures(ctx: &Ctx) -> anyhow::Result<Figures> {
    let out = ctx.out_dir.join("latchkey-bench.json");
    let mut command = crate::cargo();
    command.args(["run", "--release", "--quiet", "-p", "latchkey-bench", "--"]);
    if ctx.quick {
        command.arg("--quick");
    }
    command.arg("--out").arg(&out);
    let status = command.status().context("could not start cargo run -p latchkey-bench")?;
    if !status.success() {
        bail!("latchkey-bench failed");
    }
    read_figures(&out)
}

/// Reads a flat JSON object of numbers.
fn read_figures(path: &std::path::Path) -> anyhow::Result<Figures> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not a flat object of numbers", path.display()))
}

fn format_value(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 { format!("{value:.0}") } else { format!("{value:.2}") }
}

/// The table: every figure, with its budget and ok/MISSED where it has one.
fn table(figures: &Figures) -> (String, usize) {
    let mut lines = vec![format!("{:<42} {:>12} {:>10}  {}", "figure", "value", "budget", "status")];
    let mut missed = 0;
    let budget_of = |name: &str| BUDGETS.iter().find(|(n, _)| *n == name).map(|(_, b)| *b);
    let mut names: Vec<&str> = BUDGETS.iter().map(|(n, _)| *n).collect();
    names.extend(figures.keys().map(String::as_str).filter(|n| budget_of(n).is_none()));
    for name in names {
        let budget = budget_of(name);
        let (budget_text, status) = match (figures.get(name), budget) {
            (None, _) => ("".to_owned(), "not measured".to_owned()),
            (Some(_), None) => ("".to_owned(), "info".to_owned()),
            (Some(&value), Some(budget)) => {
                let (text, ok) = match budget {
                    Budget::AtMost(limit) => (format!("<= {}", format_value(limit)), value <= limit),
                    Budget::AtLeast(limit) => (format!(">= {}", format_value(limit)), value >= limit),
                };
                if !ok {
                    missed += 1;
                }
                (text, if ok { "ok" } else { "MISSED" }.to_owned())
            }
        };
        let value = figures.get(name).map(|v| format_value(*v)).unwrap_or_else(|| "-".into());
        lines.push(format!("{name:<42} {value:>12} {budget_text:>10}  {status}"));
    }
    (lines.join("\n"), missed)
}

/// Runs the benchmarks, writes `target/bench/summary.json` and prints the table on stdout.
pub fn bench(quick: bool) -> anyhow::Result<()> {
    let started = Instant::now();
    let ctx = Ctx { quick, out_dir: crate::root().join("target").join("bench") };
    std::fs::create_dir_all(&ctx.out_dir).with_context(|| format!("creating {}", ctx.out_dir.display()))?;
    let mut figures = Figures::new();
    for (name, source) in SOURCES {
        eprintln!("==> {name}");
        let step = Instant::now();
        let got = source(&ctx).with_context(|| format!("figure source failed: {name}"))?;
        eprintln!("    {} figures in {:.1} s", got.len(), step.elapsed().as_secs_f64());
        figures.extend(got);
    }
    let summary = ctx.out_dir.join("summary.json");
    std::fs::write(&summary, serde_json::to_string_pretty(&figures)? + "\n")
        .with_context(|| format!("writing {}", summary.display()))?;
    let (table, missed) = table(&figures);
    #[allow(clippy::print_stdout)]
    {
        println!("{table}");
    }
    eprintln!(
        "{} figures, {missed} budget(s) missed; wrote {} in {:.0} s",
        figures.len(),
        summary.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
