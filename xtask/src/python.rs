//! `cargo xtask python`: the Python bindings against a real simulator — the step `cargo xtask test` runs for
//! them — and the Python tools of the other steps (one venv).
//!
//! It creates a venv under `<target>/python/venv` with the pinned [`PACKAGES`] (pytest; tree-sitter and
//! tree-sitter-swift for the Swift syntax check) when missing or when the pins change, builds the
//! `latchkey-ffi` cdylib (debug, unstripped), `uniffi-bindgen` and the `latchkey` binary, generates the
//! Python bindings in library mode, assembles the importable package in `<target>/python/site/latchkey`
//! (`bindings/python/latchkey/` + the generated `_generated.py` + `liblatchkey_ffi.so`) and runs
//! `bindings/python/tests` with pytest; the tests start `latchkey sim serve` themselves on a free port and
//! run the QA sample `examples/python/unlock_qa.py`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use crate::{cargo, require, root, step, target_dir};

/// The pinned PyPI packages of the venv.
/// `standardwebhooks` is the reference verifier the simulator's webhook tests check deliveries with
/// (`LATCHKEY_PYTHON`, sim/tests/integration/webhooks.rs).
pub const PACKAGES: &[&str] =
    &["pytest==8.4.2", "tree-sitter==0.25.2", "tree-sitter-swift==0.7.4", "standardwebhooks==1.1.0"];

/// Where the Python steps keep their files.
fn python_dir() -> PathBuf {
    target_dir().join("python")
}

/// The venv's `python`, creating the venv and installing [`PACKAGES`] when missing or changed.
pub fn venv() -> anyhow::Result<PathBuf> {
    require("python3", "for the Python bindings' tests and the Swift syntax check")?;
    let dir = python_dir().join("venv");
    let python = dir.join("bin/python");
    let marker = dir.join("latchkey-pins.txt");
    let pins = PACKAGES.join("\n");
    if python.exists() && std::fs::read_to_string(&marker).is_ok_and(|installed| installed == pins) {
        return Ok(python);
    }
    if !python.exists() {
        let mut create = Command::new("python3");
        create.args(["-m", "venv"]).arg(&dir);
        step("python3 -m venv (Debian: apt-get install python3-venv if this fails)", create)?;
    }
    let mut install = Command::new(&python);
    install.args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check"]).args(PACKAGES);
    step(&format!("pip install {}", PACKAGES.join(" ")), install)?;
    std::fs::write(&marker, pins).with_context(|| format!("writing {}", marker.display()))?;
    Ok(python)
}

/// Builds the unstripped debug cdylib and `uniffi-bindgen`; returns the library's path.
///
/// Two cargo runs, as the Kotlin step does: built together, the bindgen's `uniffi/cli` feature would be
/// unified into the library's build, which then differs from (and rebuilds over) the Kotlin step's.
pub fn build_library() -> anyhow::Result<PathBuf> {
    let mut library = cargo();
    library.args(["build", "-p", "latchkey-ffi", "--lib"]);
    step("build the latchkey-ffi cdylib (debug, unstripped)", library)?;
    let mut bindgen = cargo();
    bindgen.args(["build", "-p", "uniffi-bindgen", "--bins"]);
    step("build uniffi-bindgen", bindgen)?;
    Ok(target_dir().join("debug/liblatchkey_ffi.so"))
}

/// Runs `uniffi-bindgen generate --language <language>` on the UNSTRIPPED `library` into `out` (emptied).
pub fn bindgen(language: &str, library: &Path, out: &Path) -> anyhow::Result<()> {
    if out.exists() {
        std::fs::remove_dir_all(out).with_context(|| format!("clearing {}", out.display()))?;
    }
    let mut bindgen = Command::new(target_dir().join("debug/uniffi-bindgen"));
    bindgen
        .current_dir(root())
        .args(["generate", "--no-format", "--language", language, "--library"])
        .arg(library)
        .arg("--out-dir")
        .arg(out);
    step(&format!("uniffi-bindgen generate --language {language}"), bindgen)
}

/// Assembles the importable package `<target>/python/site/latchkey`; returns the site directory.
fn assemble(library: &Path) -> anyhow::Result<PathBuf> {
    let generated = python_dir().join("generated");
    bindgen("python", library, &generated)?;
    let site = python_dir().join("site");
    let package = site.join("latchkey");
    if package.exists() {
        std::fs::remove_dir_all(&package).with_context(|| format!("clearing {}", package.display()))?;
    }
    std::fs::create_dir_all(&package)?;
    let sources = root().join("bindings/python/latchkey");
    for entry in std::fs::read_dir(&sources).with_context(|| format!("reading {}", sources.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|extension| extension == "py") {
            let name = path.file_name().context("a file without a name")?;
            std::fs::copy(&path, package.join(name))?;
        }
    }
    let module = generated.join("latchkey.py");
    if !module.exists() {
        bail!("uniffi-bindgen wrote no latchkey.py into {}", generated.display());
    }
    std::fs::copy(&module, package.join("_generated.py"))?;
    let name = library.file_name().context("the library path has no file name")?;
    std::fs::copy(library, package.join(name))?;
    Ok(site)
}

/// The whole step: venv, build, assemble, pytest against simulators the tests start.
pub fn run() -> anyhow::Result<()> {
    let python = venv()?;
    let library = build_library()?;
    let mut harness = cargo();
    harness.args(["build", "--bin", "latchkey"]);
    step("build the latchkey binary", harness)?;
    let site = assemble(&library)?;
    let mut pytest = Command::new(&python);
    // Run from the site directory: `python -m pytest` puts the working directory first on sys.path, so
    // the assembled package is imported, never the sources in bindings/python/latchkey.
    pytest
        .current_dir(&site)
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
        .arg(root().join("bindings/python/tests"))
        .env("PYTHONPATH", &site)
        .env("LATCHKEY_BIN", target_dir().join("debug/latchkey"));
    step("Python bindings: pytest against the simulator (incl. examples/python)", pytest)?;
    eprintln!("    the Python package is in {} (put it on PYTHONPATH)", site.display());
    Ok(())
}
