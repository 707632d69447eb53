//! `latchkey`: the desktop CLI. `latchkey demo` walks through the whole partner flow against a throwaway
//! simulator; `latchkey sim serve` runs the simulated backend for partners' own apps and tests.
// Printing to stdout is this program's job.
#![allow(clippy::print_stdout)]

mod demo;
mod duration;
mod phone_sync;
mod phone_unlock;
mod sim_phone;

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
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the guided demo against a throwaway in-process simulator; exits 0 only if every step succeeds.
    Demo,
    /// The simulated access backend and locks.
    Sim {
        #[command(subcommand)]
        command: SimCommand,
    },
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
    let result = runtime.block_on(async {
        match cli.command {
            Command::Demo => demo::run().await,
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
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
}
