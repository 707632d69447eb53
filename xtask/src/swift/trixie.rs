//! The Debian trixie root the Swift toolchain runs in (`<target>/swift/trixie`): made with `debootstrap` from
//! Debian's packages the first time, with Debian's `swiftlang` installed inside, then reused. Debian
//! bookworm (the CI machine) packages no Swift 6; trixie does, and its binaries run in a chroot on a bookworm
//! kernel.
//!
//! - A root is complete when its stamp file holds [`stamp_text`]; the stamp is written only after every
//!   set-up step succeeded, so a root left half-made (a failed download, a killed run) is removed and made
//!   again, and a change of [`PACKAGES`] makes a new one.
//! - `/proc` (which the Swift driver needs to find its own libraries) is mounted only while Swift runs, by a
//!   [`ProcMount`] that unmounts it when dropped: on success, on error and on panic. A mount left by a killed
//!   run is found in `/proc/mounts` and unmounted before anything else touches the root.
//! - It needs root (debootstrap, mount, chroot): CI runs as root; elsewhere the step says so.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail};

use crate::{step, target_dir};

/// The Debian release whose `swiftlang` is used (Swift 6.0.3).
const SUITE: &str = "trixie";

/// Where debootstrap downloads from.
const MIRROR: &str = "http://deb.debian.org/debian";

/// Installed inside the root: the toolchain, the C library headers it links against, and root
/// certificates (without them the SDK's HTTP client could not be built inside the root).
const PACKAGES: &[&str] = &["swiftlang", "libc6-dev", "ca-certificates"];

/// The stamp file, written last.
const STAMP: &str = ".latchkey-swift-root";

/// The root's directory.
pub fn dir() -> PathBuf {
    target_dir().join("swift").join(SUITE)
}

/// What the stamp of a complete root holds: the suite and the packages it was made with.
fn stamp_text() -> String {
    format!("debootstrap --variant=minbase {SUITE}; apt-get install {}\n", PACKAGES.join(" "))
}

/// Returns the root, making it first when missing or incomplete.
pub fn ensure() -> anyhow::Result<PathBuf> {
    let dir = dir();
    let started = Instant::now();
    unmount_stale(&dir)?;
    let stamp = dir.join(STAMP);
    if std::fs::read_to_string(&stamp).is_ok_and(|text| text == stamp_text()) {
        eprintln!("    reusing the Swift root {} (delete it to make a new one)", dir.display());
        return Ok(dir);
    }
    require_root()?;
    if dir.exists() {
        eprintln!("    {} is incomplete or out of date: making it again", dir.display());
        std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    install_debootstrap()?;
    std::fs::create_dir_all(dir.parent().context("the root has no parent directory")?)?;
    let mut debootstrap = Command::new("debootstrap");
    debootstrap.args(["--variant=minbase", SUITE]).arg(&dir).arg(MIRROR);
    step(&format!("debootstrap --variant=minbase {SUITE} {}", dir.display()), debootstrap)?;
    {
        let _proc = ProcMount::new(&dir)?;
        let mut install = chroot(&dir, "apt-get");
        install.args(["install", "-y", "--no-install-recommends"]).args(PACKAGES);
        step(&format!("apt-get install {} (inside the root)", PACKAGES.join(" ")), install)?;
    }
    // Only the package lists could be dropped to save space; they are small next to the toolchain.
    std::fs::write(&stamp, stamp_text()).with_context(|| format!("writing {}", stamp.display()))?;
    eprintln!("    made the Swift root in {:.0} s", started.elapsed().as_secs_f64());
    Ok(dir)
}

/// `program` run inside `root` with a clean environment.
pub fn chroot(root: &Path, program: &str) -> Command {
    chroot_env(root, &[], program)
}

/// `program` run inside `root` with a clean environment plus `env` (`NAME=value`).
pub fn chroot_env(root: &Path, env: &[String], program: &str) -> Command {
    let mut command = Command::new("chroot");
    command
        .arg(root)
        .args(["/usr/bin/env", "-i", "HOME=/root", "LANG=C.UTF-8", "DEBIAN_FRONTEND=noninteractive"])
        .arg("PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin")
        .args(env)
        .arg(program);
    command
}

/// `/proc` mounted inside a root for as long as this value lives.
pub struct ProcMount {
    target: PathBuf,
}

impl ProcMount {
    /// Mounts `proc` on `root/proc`.
    pub fn new(root: &Path) -> anyhow::Result<Self> {
        let target = root.join("proc");
        std::fs::create_dir_all(&target)?;
        let status = Command::new("mount")
            .args(["-t", "proc", "proc"])
            .arg(&target)
            .status()
            .context("could not run mount")?;
        if !status.success() {
            bail!("could not mount /proc on {} (mount exited {status}; it needs root)", target.display());
        }
        Ok(Self { target })
    }
}

impl Drop for ProcMount {
    fn drop(&mut self) {
        if let Err(error) = unmount(&self.target) {
            eprintln!("warning: {error:#}");
        }
    }
}

/// Unmounts `target`, lazily if a process still holds it.
fn unmount(target: &Path) -> anyhow::Result<()> {
    if Command::new("umount").arg(target).status().is_ok_and(|status| status.success()) {
        return Ok(());
    }
    if Command::new("umount").arg("-l").arg(target).status().is_ok_and(|status| status.success()) {
        return Ok(());
    }
    bail!("could not unmount {}: unmount it by hand (umount -l {0})", target.display())
}

/// Unmounts what a killed run left mounted inside `root` (its `/proc`).
fn unmount_stale(root: &Path) -> anyhow::Result<()> {
    let Ok(root) = root.canonicalize() else { return Ok(()) };
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    for point in mounted_under(&mounts, &root) {
        eprintln!("    unmounting {} left by an earlier run", point.display());
        unmount(&point)?;
    }
    Ok(())
}

/// The mount points of `/proc/mounts` text at or under `root`, deepest first.
fn mounted_under(mounts: &str, root: &Path) -> Vec<PathBuf> {
    let mut points: Vec<PathBuf> = mounts
        .lines()
        .filter_map(|line| line.split_whitespace().nth(1))
        .map(|point| PathBuf::from(point.replace("\\040", " ")))
        .filter(|point| point.starts_with(root))
        .collect();
    points.sort_by_key(|point| std::cmp::Reverse(point.components().count()));
    points
}

/// debootstrap, mount and chroot need root.
fn require_root() -> anyhow::Result<()> {
    let output = Command::new("id").arg("-u").output().context("could not run `id -u`")?;
    if String::from_utf8_lossy(&output.stdout).trim() != "0" {
        bail!(
            "making the Swift root ({}) needs root (debootstrap, mount, chroot): run `cargo xtask swift-check` \
             as root once (CI runs as root), or with sudo",
            dir().display()
        );
    }
    Ok(())
}

/// Installs Debian's `debootstrap` when missing.
fn install_debootstrap() -> anyhow::Result<()> {
    let found = ["/usr/sbin/debootstrap", "/usr/bin/debootstrap"].iter().any(|path| Path::new(path).exists());
    if found {
        return Ok(());
    }
    if !Path::new("/usr/bin/apt-get").exists() {
        bail!(
            "debootstrap is needed to make the Swift root and this machine has no apt-get: install debootstrap"
        );
    }
    let mut update = Command::new("apt-get");
    update.args(["update", "-q"]);
    step("apt-get update", update)?;
    let mut install = Command::new("apt-get");
    install.args(["install", "-y", "-q", "debootstrap"]).env("DEBIAN_FRONTEND", "noninteractive");
    step("apt-get install debootstrap", install)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_mounts_left_inside_the_root_deepest_first() {
        let mounts = "proc /proc proc rw 0 0\n\
                      proc /w/target/swift/trixie/proc proc rw 0 0\n\
                      sysfs /w/target/swift/trixie/proc/sys/fs/binfmt_misc binfmt_misc rw 0 0\n\
                      tmpfs /w/target/swift/trixie-other tmpfs rw 0 0\n";
        assert_eq!(
            mounted_under(mounts, Path::new("/w/target/swift/trixie")),
            vec![
                PathBuf::from("/w/target/swift/trixie/proc/sys/fs/binfmt_misc"),
                PathBuf::from("/w/target/swift/trixie/proc"),
            ]
        );
        assert!(mounted_under(mounts, Path::new("/elsewhere")).is_empty());
    }

    #[test]
    fn the_stamp_names_every_package() {
        for package in PACKAGES {
            assert!(stamp_text().contains(package), "{package} missing from the stamp");
        }
    }
}
