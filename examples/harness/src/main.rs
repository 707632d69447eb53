//! `latchkey`: the desktop CLI. `latchkey demo` walks through the whole partner flow against a throwaway
//! simulator (`--ble`: its phones over btleplug and the fake BlueZ); `latchkey sim serve` runs the simulated
//! backend for partners' own apps and tests, `latchkey sim locks --bluez` its locks as BLE peripherals; the
//! BLE harness (`login`, `scan`, `unlock`, `sync`, `codes`, `logs`) is a desktop phone for QA (docs/ble.md).
// Printing to stdout is this program's job.
#![allow(clippy::print_stdout)]

mod config;
mod demo;
mod duration;
mod exit;
mod phone_cli;
mod phone_sync;
mod phone_unlock;
mod profile;
mod sim_locks;
mod sim_phone;
mod webhook_receiver;

/// mimalloc for every allocation of the process, SQLite's and libdbus's included (the `override` feature):
/// the simulator's request path spent a tenth of its time in glibc's allocator (docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use latchkey::{SecretString, SystemClock};
use latchkey_sim::backend::ratelimit::{Limit, RateLimits};
use latchkey_sim::{BackendConfig, SimConfig};

/// Latchkey: the access SDK for Latch-style smart locks — demo, simulator and test harness.
#[derive(Debug, Parser)]
#[command(name = "latchkey", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    global: config::GlobalArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the guided demo against a throwaway in-process simulator; exits 0 only if every step succeeds.
    Demo {
        /// The phones use real Bluetooth code: btleplug through the simulator's fake BlueZ on a private
        /// D-Bus (started for the demo when DBUS_SYSTEM_BUS_ADDRESS is not set).
        #[arg(long)]
        ble: bool,
    },
    /// The simulated access backend and locks.
    Sim {
        #[command(subcommand)]
        command: SimCommand,
    },
    #[command(flatten)]
    Phone(phone_cli::PhoneCommand),
}

#[derive(Debug, Subcommand)]
enum SimCommand {
    /// Serve the simulated backend (auth, partner API, manager API) until Ctrl-C.
    Serve {
        /// The address to listen on.
        #[arg(long, default_value = "127.0.0.1:8787")]
        addr: SocketAddr,
        /// The SQLite database file, or `:memory:` for a throwaway one.
        #[arg(long, default_value = "latchkey-sim.db")]
        db: String,
        /// Lifetime of access tokens, such as `24h`, `15m` or `90s`.
        #[arg(long, default_value = "24h", value_parser = duration::parse)]
        token_ttl: chrono::Duration,
        /// The bearer token of the manager API.
        #[arg(
            long,
            env = "LATCHKEY_MANAGER_TOKEN",
            default_value = "dev-manager-token",
            hide_env_values = true
        )]
        manager_token: String,
        /// Requests a second allowed per bearer token (bursts of twice that); 0 turns the limit off.
        #[arg(long, default_value_t = 5000.0)]
        rate_limit: f64,
        /// Sign-in attempts a second allowed per client address (bursts of ten times that); 0 turns the
        /// limit off.
        #[arg(long, default_value_t = 20.0)]
        sign_in_rate_limit: f64,
    },
    /// Serve the virtual locks of a simulator database as Bluetooth LE peripherals until Ctrl-C.
    Locks(sim_locks::Args),
    /// A phone in its own process syncing one virtual lock of a running simulator (the kill-during-sync
    /// test's child; not for users).
    #[command(hide = true)]
    PhoneSync(phone_sync::Args),
    /// The invited user's phone signing in without a password and unlocking one virtual lock of a
    /// running simulator (the browser test's last step; not for users).
    #[command(hide = true)]
    PhoneUnlock(phone_unlock::Args),
}

/// A rate limit of `per_second` with bursts of `burst_factor` times that; none for 0 or less.
fn limit(per_second: f64, burst_factor: f64) -> Option<Limit> {
    (per_second > 0.0)
        .then(|| Limit { per_second, burst: (per_second * burst_factor).ceil().max(1.0) as u32 })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: could not start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result: Result<(), anyhow::Error> = runtime.block_on(async {
        match cli.command {
            Command::Demo { ble: false } => demo::run(None).await,
            Command::Demo { ble: true } => match demo::ble_bus()? {
                demo::BleBus::Ready => demo::run(Some(demo::Radio::Ble)).await,
                demo::BleBus::RanChild(code) => Err(Exit(code).into()),
            },
            Command::Phone(command) => match phone_cli::run(command, &cli.global).await {
                0 => Ok(()),
                code => Err(Exit(code).into()),
            },
            Command::Sim { command: SimCommand::Locks(args) } => {
                init_logging();
                sim_locks::run(args).await
            }
            Command::Sim {
                command:
                    SimCommand::Serve { addr, db, token_ttl, manager_token, rate_limit, sign_in_rate_limit },
            } => {
                init_logging();
                let config = SimConfig {
                    addr,
                    db,
                    backend: BackendConfig {
                        token_ttl,
                        manager_token: SecretString::new(manager_token),
                        rate_limits: RateLimits {
                            api: limit(rate_limit, 2.0),
                            sign_in: limit(sign_in_rate_limit, 10.0),
                        },
                        ..BackendConfig::default()
                    },
                    clock: Arc::new(SystemClock),
                };
                latchkey_sim::server::serve(config).await
            }
            Command::Sim { command: SimCommand::PhoneSync(args) } => phone_sync::run(args).await,
            Command::Sim { command: SimCommand::PhoneUnlock(args) } => phone_unlock::run(args).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // The message was printed already; only the code is left to give.
        Err(error) if error.is::<Exit>() => {
            ExitCode::from(error.downcast_ref::<Exit>().map_or(1, |exit| exit.0))
        }
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// A command that printed its own outcome and exits with this code.
#[derive(Debug)]
struct Exit(u8);

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit code {}", self.0)
    }
}

impl std::error::Error for Exit {}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
}
