//! `cargo xtask …`: the project's automation, so a fresh machine needs nothing but Rust.
//!
//! - `test`: everything CI checks — formatting, clippy, unit and integration tests, doc tests, and the
//!   curl walkthrough of the simulator's HTTP API through the real `latchkey` binary, the browser tests,
//!   the Kotlin tests on the JVM (`kotlin`), a short fuzz run and the API conformance check.
//! - `kotlin`: the Kotlin bindings generated, compiled and tested on the JVM against a simulator.
//! - `size`: the stripped release-mobile library against its 4 MB budget.
//! - `fuzz`: the cargo-fuzz targets of `fuzz/` (a short run is part of `test`).
//! - `conformance`: docs/openapi.yaml against the running simulator, with schemathesis (part of `test`).
//! - `android`: the Android platform parts (BLE transport, keystore signer) under Robolectric; run by `test`.
//! - `doc-paths`: every path a README or docs/architecture.md names exists (`doc_paths.rs`; part of `test`).
//! - `swift-check`: the iOS SDK's Swift built and tested on Linux in a Debian trixie root, and the checks
//!   that need no toolchain (`swift.rs`); `python`: the Python bindings'
//!   tests against the simulator (`python.rs`). Both also run in `test`.

mod android;
mod bench;
mod ble;
mod browser;
mod conformance;
mod doc_paths;
mod figures;
mod fuzz;
mod kotlin;
mod python;
mod size;
mod swift;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "xtask", about = "Latchkey project automation")]
struct Cli {
    #[command(subcommand)]
    command: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// Run the whole test suite (what CI runs).
    Test {
        /// Skip `cargo fmt --check` and clippy.
        #[arg(long)]
        no_lint: bool,
    },
    /// Only the BLE step: a private dbus-daemon, the btleplug and bleak tests over the fake BlueZ, demo --ble.
    BleTest,
    /// Only the browser step: the manager web page in headless Chromium (installs Chromium and npm packages).
    Browser,
    /// Run the benchmarks: `target/bench/summary.json` and a table against the budgets (docs/performance.md).
    Bench {
        /// Fewer iterations: under a minute once built.
        #[arg(long)]
        quick: bool,
    },
    /// Run every cargo-fuzz target of `fuzz/` for N seconds each (installs nightly and cargo-fuzz if missing).
    Fuzz {
        /// Seconds per target.
        #[arg(long, default_value_t = 60)]
        seconds: u32,
        /// Only this target.
        #[arg(long)]
        target: Option<String>,
    },
    /// Check docs/openapi.yaml against the running simulator: route table and schemathesis.
    Conformance,
    /// Only the Kotlin step: bindings generated, compiled and tested on the JVM against a simulator.
    Kotlin,
    /// The size of the shipped library (release-mobile cdylib, stripped) against its budget.
    Size,
    /// Only the Android step: BluetoothGattTransport and KeystoreSigner under Robolectric against a simulator.
    Android,
    /// Only the iOS step: the Swift package built and its XCTest suite run on Linux (in a Debian trixie root
    /// under target/swift, made on first use), the generated C header with gcc, the Swift syntax, the GATT
    /// UUIDs (docs/ios.md).
    SwiftCheck,
    /// Only the Python bindings: pytest against the simulator, with the QA sample (bindings/python).
    Python,
    /// Only the map check: every path a README or docs/architecture.md names exists.
    DocPaths,
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Task::Test { no_lint } => test(no_lint),
        Task::BleTest => ble::run_alone(),
        Task::Browser => browser::run(),
        Task::Bench { quick } => bench::bench(quick),
        Task::Fuzz { seconds, target } => fuzz::run(seconds, target.as_deref()),
        Task::Conformance => conformance::run(),
        Task::Kotlin => kotlin::run(),
        Task::Size => size::run(),
        Task::Android => android::run(),
        Task::SwiftCheck => swift::run(),
        Task::Python => python::run(),
        Task::DocPaths => doc_paths::run(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Where cargo puts build output: `CARGO_TARGET_DIR` when set, else `target/` in the workspace.
fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root().join(dir),
        None => root().join("target"),
    }
}

fn cargo() -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command.current_dir(root());
    command
}

/// Runs one step, printing its name and duration; fails with the step's name.
fn step(name: &str, mut command: Command) -> anyhow::Result<()> {
    eprintln!("==> {name}");
    let started = Instant::now();
    let status = command.status().with_context(|| format!("could not start: {name}"))?;
    eprintln!(
        "    {name}: {} in {:.1} s",
        if status.success() { "ok" } else { "FAILED" },
        started.elapsed().as_secs_f64()
    );
    if !status.success() {
        bail!("step failed: {name}");
    }
    Ok(())
}

fn require(tool: &str, why: &str) -> anyhow::Result<()> {
    let found = Command::new(tool).arg("--version").output().is_ok_and(|output| output.status.success());
    if !found {
        bail!(
            "`{tool}` is needed {why} but was not found on PATH; install it (Debian: apt-get install {tool})"
        );
    }
    Ok(())
}

/// Seconds each fuzz target runs in `cargo xtask test` (`cargo xtask fuzz --seconds N` for longer runs).
const FUZZ_SECONDS_IN_TEST: u32 = 10;

fn test(no_lint: bool) -> anyhow::Result<()> {
    let started = Instant::now();
    require("curl", "for the HTTP walkthrough of the simulator")?;
    require("python3", "to read JSON in the HTTP walkthrough")?;
    if !no_lint {
        let mut fmt = cargo();
        fmt.args(["fmt", "--all", "--check"]);
        step("cargo fmt --check", fmt)?;
        let mut clippy = cargo();
        clippy.args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]);
        step("cargo clippy", clippy)?;
    }
    eprintln!("==> doc paths");
    doc_paths::run()?;
    // The webhook tests verify deliveries with the reference `standardwebhooks` package of this venv.
    let python = python::venv()?;
    let mut tests = cargo();
    tests.args(["test", "--workspace", "--all-targets"]).env("LATCHKEY_PYTHON", &python);
    step("unit and integration tests", tests)?;
    let mut doc = cargo();
    doc.args(["test", "--workspace", "--doc"]);
    step("doc tests", doc)?;
    // The shipped library compiles features out of its bundled SQLite (size::SQLITE_FLAGS): the core's own
    // tests, the store's among them, run against that SQLite too (in a target dir of their own, so the
    // flags do not rebuild the main one).
    let mut phone_sqlite = cargo();
    phone_sqlite
        .args(["test", "-p", "latchkey", "--lib"])
        .env("LIBSQLITE3_FLAGS", size::SQLITE_FLAGS)
        .env("CARGO_TARGET_DIR", target_dir().join("phone-sqlite"));
    step("core tests against the phone library's SQLite build", phone_sqlite)?;
    let mut build = cargo();
    build.args(["build", "--bin", "latchkey"]);
    step("build the latchkey binary", build)?;
    let mut walkthrough = Command::new("bash");
    walkthrough
        .current_dir(root())
        .arg("sim/tests/curl/walkthrough.sh")
        .env("LATCHKEY_BIN", target_dir().join("debug/latchkey"));
    step("curl walkthrough of the simulator API", walkthrough)?;
    ble::run()?;
    browser::run()?;
    kotlin::run()?;
    android::run()?;
    swift::run()?;
    python::run()?;
    fuzz::run(FUZZ_SECONDS_IN_TEST, None)?;
    conformance::run()?;
    eprintln!("all tests passed in {:.0} s", started.elapsed().as_secs_f64());
    Ok(())
}
