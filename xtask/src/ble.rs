//! The BLE step of `cargo xtask test` (and `cargo xtask ble-test` alone): a private `dbus-daemon`, the BLE
//! tests over the real btleplug path and the simulator's fake BlueZ on it, bleak (an independent BlueZ
//! client, installed into a venv under the target dir) looking at the same fake, and `latchkey demo --ble`.
//!
//! The bus is private (a socket in a temp dir, the session policy): nothing touches the machine's system
//! bus or a real bluetoothd. `DBUS_SYSTEM_BUS_ADDRESS` points the tests' btleplug (and bleak) at it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::{cargo, require, step, target_dir};

/// The bleak release line the check is written against.
const BLEAK: &str = "bleak>=1,<4";

/// A `dbus-daemon` of our own, killed (by its pid) on drop.
pub struct PrivateBus {
    child: Child,
    dir: PathBuf,
    /// `unix:path=…`, for `DBUS_SYSTEM_BUS_ADDRESS`.
    pub address: String,
}

impl PrivateBus {
    /// Starts the daemon and waits until its socket accepts connections.
    pub fn start() -> anyhow::Result<PrivateBus> {
        require(
            "dbus-daemon",
            "for the BLE tests (a private D-Bus for the fake BlueZ; Debian: dbus-daemon)",
        )?;
        // A short path: unix socket paths are limited to about 100 bytes.
        let dir = std::env::temp_dir().join(format!("latchkey-ble-{}", std::process::id()));
        std::fs::create_dir_all(&dir).with_context(|| format!("could not create {}", dir.display()))?;
        let socket = dir.join("bus.sock");
        let address = format!("unix:path={}", socket.display());
        let child = Command::new("dbus-daemon")
            .args(["--config-file=/usr/share/dbus-1/session.conf", "--nofork", "--nopidfile"])
            .arg(format!("--address={address}"))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .context("could not start dbus-daemon")?;
        let bus = PrivateBus { child, dir, address };
        let started = Instant::now();
        while !socket.exists() {
            if started.elapsed() > Duration::from_secs(10) {
                bail!("dbus-daemon did not create {} within 10 s", socket.display());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(bus)
    }
}

impl Drop for PrivateBus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The python of a venv with bleak, created (and bleak installed from PyPI) on first use.
fn bleak_python() -> anyhow::Result<PathBuf> {
    require("python3", "to run bleak, the independent BlueZ client of the BLE check")?;
    let venv = target_dir().join("ble-venv");
    let python = venv.join("bin/python");
    let has_bleak = |python: &Path| {
        Command::new(python).args(["-c", "import bleak"]).output().is_ok_and(|out| out.status.success())
    };
    if python.exists() && has_bleak(&python) {
        return Ok(python);
    }
    eprintln!("==> installing bleak into {}", venv.display());
    let status = Command::new("python3").arg("-m").arg("venv").arg(&venv).status()?;
    if !status.success() {
        bail!("python3 -m venv failed: install the venv module (Debian: apt-get install python3-venv)");
    }
    let status = Command::new(&python).args(["-m", "pip", "install", "--quiet", BLEAK]).status()?;
    if !status.success() || !has_bleak(&python) {
        bail!("could not install {BLEAK} from PyPI into {}", venv.display());
    }
    Ok(python)
}

/// The BLE tests, the bleak check and `latchkey demo --ble`, on a private bus. Needs the `latchkey`
/// binary built (debug).
pub fn run() -> anyhow::Result<()> {
    let python = bleak_python()?;
    let bus = PrivateBus::start()?;
    let mut tests = cargo();
    tests
        .args(["test", "-p", "latchkey-harness", "--test", "ble", "--", "--test-threads=1"])
        .env("DBUS_SYSTEM_BUS_ADDRESS", &bus.address)
        .env("LATCHKEY_BLEAK_PYTHON", &python);
    step("BLE tests: btleplug and bleak over the fake BlueZ on a private D-Bus", tests)?;
    let mut demo = Command::new(target_dir().join("debug/latchkey"));
    demo.args(["demo", "--ble"]).env("DBUS_SYSTEM_BUS_ADDRESS", &bus.address).stdout(Stdio::null());
    step("latchkey demo --ble", demo)?;
    Ok(())
}

/// `cargo xtask ble-test`: builds the binary, then [`run`].
pub fn run_alone() -> anyhow::Result<()> {
    let mut build = cargo();
    build.args(["build", "--bin", "latchkey"]);
    step("build the latchkey binary", build)?;
    run()
}
