//! The `browser` step of `cargo xtask test`: the manager web page driven in headless Debian Chromium by
//! `sim/tests/browser/run.mjs` (playwright-core, never a downloaded browser).
//!
//! It installs what it needs when missing: Debian's `chromium` (`apt-get update && apt-get install -y
//! chromium`, only as root; otherwise it says what to run) and the pinned npm packages (`npm ci`).

use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail};

use crate::{require, root, step, target_dir};

/// Where Debian installs Chromium.
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// Installs Chromium (as root) if it is missing.
pub fn ensure_chromium() -> anyhow::Result<()> {
    if Path::new(CHROMIUM).exists() {
        return Ok(());
    }
    if !is_root() {
        bail!(
            "{CHROMIUM} is missing and this is not root: run `sudo apt-get update && sudo apt-get install -y chromium`"
        );
    }
    let mut update = Command::new("apt-get");
    update.arg("update");
    step("apt-get update", update)?;
    let mut install = Command::new("apt-get");
    install
        .args(["install", "-y", "--no-install-recommends", "chromium"])
        .env("DEBIAN_FRONTEND", "noninteractive");
    step("apt-get install chromium", install)?;
    if !Path::new(CHROMIUM).exists() {
        bail!("apt-get installed chromium but {CHROMIUM} is still missing");
    }
    Ok(())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).trim() == "0")
}

/// Installs the pinned npm packages of the browser tests if `node_modules` lacks them.
pub fn ensure_node_modules() -> anyhow::Result<()> {
    require("node", "to drive the browser tests")?;
    require("npm", "to install playwright-core for the browser tests")?;
    let dir = root().join("sim/tests/browser");
    if dir.join("node_modules/playwright-core/package.json").exists() {
        return Ok(());
    }
    let mut ci = Command::new("npm");
    ci.current_dir(&dir).args(["ci", "--no-audit", "--no-fund"]);
    step("npm ci (sim/tests/browser)", ci)
}

/// Installs what is missing, builds the `latchkey` binary and runs the browser script.
pub fn run() -> anyhow::Result<()> {
    ensure_chromium()?;
    ensure_node_modules()?;
    let mut build = crate::cargo();
    build.args(["build", "--bin", "latchkey"]);
    step("build the latchkey binary", build)?;
    let binary = target_dir().join("debug/latchkey");
    let screenshots = root().join("target/browser-screenshots");
    std::fs::create_dir_all(&screenshots).with_context(|| format!("creating {}", screenshots.display()))?;
    let mut script = Command::new("node");
    script
        .current_dir(root())
        .arg("sim/tests/browser/run.mjs")
        .env("LATCHKEY_BIN", binary)
        .env("CHROMIUM", CHROMIUM)
        .env("SCREENSHOTS", screenshots);
    step("manager web page in headless Chromium", script)
}
