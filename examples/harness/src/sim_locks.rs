//! `latchkey sim locks --bluez --db <sim.db>`: serves the virtual locks of a simulator database as
//! Bluetooth LE peripherals through the fake BlueZ, on the bus `DBUS_SYSTEM_BUS_ADDRESS` names, until
//! Ctrl-C or SIGTERM. Run it beside `latchkey sim serve --db <sim.db>` (the same file): the backend and
//! the locks then form one world, and any BlueZ client (the `latchkey` BLE commands, bleak, an app under
//! test on this machine) can reach the locks.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use latchkey::SystemClock;
use latchkey_sim::backend::db::Db;
use latchkey_sim::bluez::{BluezOptions, FakeBluez, Faults};
use latchkey_sim::locks::LockRegistry;

/// What `sim locks` is told.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Serve the locks through a fake BlueZ on the D-Bus named by DBUS_SYSTEM_BUS_ADDRESS.
    #[arg(long)]
    pub bluez: bool,
    /// The simulator's SQLite file (its virtual locks).
    #[arg(long, default_value = "latchkey-sim.db")]
    pub db: String,
    /// The ATT MTU of every connection, 23..=517.
    #[arg(long, default_value_t = 185)]
    pub mtu: u16,
    /// Fault: ServicesResolved takes this long after each connection, such as `2s`.
    #[arg(long, value_parser = parse_duration)]
    pub service_delay: Option<Duration>,
    /// Fault: refuse the first N connections with org.bluez.Error.Failed.
    #[arg(long, default_value_t = 0)]
    pub fail_connects: u32,
    /// Fault: refuse the first N writes with org.bluez.Error.Failed.
    #[arg(long, default_value_t = 0)]
    pub fail_writes: u32,
    /// Fault: drop each connection after N packets (a disconnect in the middle of a message).
    #[arg(long)]
    pub disconnect_after_packets: Option<u32>,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    crate::duration::parse(text)
        .ok()
        .and_then(|d| d.to_std().ok())
        .ok_or_else(|| format!("`{text}` is not a duration such as 500ms, 2s"))
}

/// Serves until stopped.
pub async fn run(args: Args) -> anyhow::Result<()> {
    if !args.bluez {
        bail!(
            "say how to serve the locks: --bluez (a fake BlueZ on DBUS_SYSTEM_BUS_ADDRESS) is the only way so far"
        );
    }
    let db =
        Db::open(&args.db).with_context(|| format!("could not open the simulator database {}", args.db))?;
    let registry = LockRegistry::new(db, Arc::new(SystemClock));
    let count = registry.lock_ids().context("reading the virtual locks")?.len();
    let bluez = FakeBluez::start(registry, BluezOptions { bus_address: None, mtu: args.mtu }).await?;
    bluez.set_faults(Faults {
        service_resolution_delay: args.service_delay.unwrap_or_default(),
        fail_connects: args.fail_connects,
        fail_writes: args.fail_writes,
        disconnect_after_packets: args.disconnect_after_packets,
    });
    eprintln!(
        "Serving {count} virtual lock(s) of {} as BlueZ devices (MTU {}); new activations appear at the next scan. \
         Ctrl-C to stop.",
        args.db, args.mtu
    );
    wait_for_stop().await?;
    let stats = bluez.stats();
    bluez.stop().await;
    eprintln!(
        "Stopped: {} connection(s), {} packet(s) written, {} notified.",
        stats.connects, stats.writes, stats.notifications
    );
    Ok(())
}

async fn wait_for_stop() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            result = tokio::signal::ctrl_c() => result?,
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c().await?;
    Ok(())
}
