//! The Swift package compiled and tested on Linux, inside the trixie root ([`super::trixie`]).
//!
//! 1. Stages `/latchkey/package` inside the root from `ios/linux/Package.swift`, the Linux module map
//!    (`ios/linux/LatchkeyFFI.modulemap`, no `Darwin`), the generated header and Swift, the Swift sources of
//!    `ios/` and the sample `examples/swift` ([`STAGED`]) — writing only files whose content changed, so SwiftPM rebuilds only what changed —
//!    and the host-built `liblatchkey_ffi.so` at `/latchkey/lib`.
//! 2. Probes whether this compiler generates the `Latchkey` module in Swift 6 language mode: Swift 6.0.3
//!    crashes (an assertion in SIL's TransferNonSendable pass on UniFFI's async foreign-trait glue), so the
//!    package is built in Swift 5 mode; the day the probe passes, the library targets are built in Swift 6
//!    mode instead, with no change here (decision 84).
//! 3. `swift build --build-tests` (SwiftPM, debug).
//! 4. Swift 6 language mode with complete concurrency checking: `Latchkey` (generated + hand-written) is
//!    type-checked (`-typecheck`; the SIL-level region checks are the pass that crashes), every other
//!    library target goes through all of Swift 6's diagnostics (`-emit-sil`), against the modules of 3.
//! 5. `swift test` against a simulator started on the host (the root shares the host's network), its URL in
//!    `LATCHKEY_SIM_URL`.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use super::trixie::{self, ProcMount};
use crate::{root, step};

/// Where the package is staged, inside the root.
const PACKAGE: &str = "latchkey/package";

/// Where the library is copied, inside the root (`ios/linux/Package.swift` links and runs it from there).
const LIBRARY_DIR: &str = "latchkey/lib";

/// The line of `ios/linux/Package.swift` that [`language_mode`] replaces once Swift 6 code generation works.
const LANGUAGE_FLAGS_LINE: &str = "let libraryLanguageFlags: [String] = []";

/// Directories of Swift sources copied into the package: (from, under the repository; to, in the package).
const STAGED: &[(&str, &str)] = &[
    ("ios/Sources/Latchkey", "Sources/Latchkey"),
    ("ios/Sources/LatchkeyPlatform", "Sources/LatchkeyPlatform"),
    ("ios/Sources/LatchkeyTesting", "Sources/LatchkeyTesting"),
    ("ios/Tests/LatchkeyTests", "Tests/LatchkeyTests"),
    ("ios/Tests/LatchkeyPlatformTests", "Tests/LatchkeyPlatformTests"),
    ("examples/swift/Sources/UnlockSample", "Sources/UnlockSample"),
];

/// Library targets besides `Latchkey` that get every Swift 6 diagnostic (step 4).
const STRICT_MODULES: &[&str] = &["LatchkeyPlatform", "LatchkeyTesting", "UnlockSample"];

/// Apple-only files not staged: `SecureEnclaveSigner.swift` imports Security and LocalAuthentication
/// unguarded (the Core Bluetooth files guard themselves with `#if canImport(CoreBluetooth)`).
const NOT_ON_LINUX: &[&str] = &["SecureEnclaveSigner.swift"];

/// The whole Linux part of the Swift step: `generated` holds uniffi-bindgen's Swift output for `library`.
pub fn run(generated: &Path, library: &Path, simulator_url: &str) -> anyhow::Result<()> {
    let root_dir = trixie::ensure()?;
    stage(&root_dir, generated, library)?;
    let _proc = ProcMount::new(&root_dir)?;
    let swift6 = language_mode(&root_dir)?;
    write_manifest(&root_dir, swift6)?;
    let package = format!("/{PACKAGE}");
    let mut build = trixie::chroot(&root_dir, "swift");
    build.args(["build", "--build-tests", "--package-path", &package]);
    step(
        &format!("swift build --build-tests (Linux, Swift {} language mode)", if swift6 { 6 } else { 5 }),
        build,
    )?;
    strict_checks(&root_dir)?;
    let mut test = trixie::chroot_env(&root_dir, &[format!("LATCHKEY_SIM_URL={simulator_url}")], "swift");
    test.args(["test", "--skip-build", "--package-path", &package]);
    step("swift test: XCTest on Linux against the simulator", test)
}

/// Copies everything the package needs into the root; writes only what changed and removes stale files.
fn stage(root_dir: &Path, generated: &Path, library: &Path) -> anyhow::Result<()> {
    let package = root_dir.join(PACKAGE);
    let mut files: Vec<(PathBuf, PathBuf)> = vec![
        (
            root().join("ios/linux/LatchkeyFFI.modulemap"),
            package.join("Sources/LatchkeyFFI/module.modulemap"),
        ),
        (generated.join("LatchkeyFFI.h"), package.join("Sources/LatchkeyFFI/LatchkeyFFI.h")),
        (generated.join("LatchkeyFFI.swift"), package.join("Sources/Latchkey/LatchkeyFFI.swift")),
        (library.to_path_buf(), root_dir.join(LIBRARY_DIR).join("liblatchkey_ffi.so")),
    ];
    for (from, to) in STAGED {
        let from = root().join(from);
        for entry in std::fs::read_dir(&from).with_context(|| format!("reading {}", from.display()))? {
            let path = entry?.path();
            let name = path.file_name().context("a file without a name")?.to_owned();
            let apple_only = NOT_ON_LINUX.iter().any(|file| name == *file);
            if path.extension().is_some_and(|extension| extension == "swift") && !apple_only {
                files.push((path, package.join(to).join(name)));
            }
        }
    }
    for staged in ["Sources", "Tests"] {
        remove_unlisted(&package.join(staged), &files)?;
    }
    for (from, to) in &files {
        copy_if_changed(from, to)?;
    }
    Ok(())
}

/// Removes the files under `dir` that are not destinations of `files` (a source deleted in the repository).
fn remove_unlisted(dir: &Path, files: &[(PathBuf, PathBuf)]) -> anyhow::Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Ok(()) };
    for entry in entries {
        let path = entry?.path();
        if path.is_dir() {
            remove_unlisted(&path, files)?;
        } else if !files.iter().any(|(_, to)| *to == path) {
            std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
        }
    }
    Ok(())
}

/// Copies `from` to `to` unless `to` already holds the same bytes (its modification time then stays).
fn copy_if_changed(from: &Path, to: &Path) -> anyhow::Result<()> {
    let content = std::fs::read(from).with_context(|| format!("reading {}", from.display()))?;
    if std::fs::read(to).is_ok_and(|existing| existing == content) {
        return Ok(());
    }
    std::fs::create_dir_all(to.parent().context("a destination without a directory")?)?;
    std::fs::write(to, content).with_context(|| format!("writing {}", to.display()))
}

/// Whether this compiler generates the `Latchkey` module in Swift 6 mode: `false` when it crashes (a known
/// compiler bug, decision 84); an ordinary compile error in Swift 6 mode fails the step.
fn language_mode(root_dir: &Path) -> anyhow::Result<bool> {
    let mut probe = trixie::chroot(root_dir, "swiftc");
    probe
        .args(["-emit-sil", "-wmo", "-parse-as-library", "-o", "/dev/null", "-swift-version", "6"])
        .args(["-module-name", "Latchkey", "-I"])
        .arg(format!("/{PACKAGE}/Sources/LatchkeyFFI"))
        .args(module_sources(root_dir, "Latchkey")?);
    eprintln!("==> probe: does swiftc generate the Latchkey module in Swift 6 language mode?");
    let output = probe.output().context("could not run swiftc inside the Swift root")?;
    let text = String::from_utf8_lossy(&output.stderr);
    let outcome = probe_outcome(output.status.success(), &text);
    match outcome {
        ProbeOutcome::Works => {
            eprintln!(
                "    Swift 6 code generation works with this compiler: the library targets are built in Swift 6 \
                 mode (decision 84 can be retired)"
            );
            Ok(true)
        }
        ProbeOutcome::CompilerCrash(line) => {
            eprintln!(
                "    Swift 6 code generation still crashes this compiler ({line}): building in Swift 5 mode, \
                 type-checking in Swift 6 mode (decision 84)"
            );
            Ok(false)
        }
        ProbeOutcome::Errors => {
            bail!("the Latchkey module does not compile in Swift 6 language mode:\n{text}")
        }
    }
}

/// What the Swift 6 probe found.
#[derive(Debug, PartialEq, Eq)]
enum ProbeOutcome {
    Works,
    /// The compiler crashed: the first line naming the failed assertion or signal.
    CompilerCrash(String),
    Errors,
}

fn probe_outcome(success: bool, stderr: &str) -> ProbeOutcome {
    if success {
        return ProbeOutcome::Works;
    }
    let crash = stderr.lines().find(|line| {
        line.contains("Assertion")
            || line.contains("due to signal")
            || line.contains("Please submit a bug report")
    });
    match crash {
        Some(line) => {
            let pass = stderr.lines().find(|line| line.contains("While running pass")).unwrap_or(line);
            ProbeOutcome::CompilerCrash(pass.trim().chars().take(160).collect())
        }
        None => ProbeOutcome::Errors,
    }
}

/// Writes the staged `Package.swift`: `ios/linux/Package.swift`, with Swift 6 flags for the library targets
/// when `swift6`.
fn write_manifest(root_dir: &Path, swift6: bool) -> anyhow::Result<()> {
    let template_path = root().join("ios/linux/Package.swift");
    let template = std::fs::read_to_string(&template_path)
        .with_context(|| format!("reading {}", template_path.display()))?;
    if !template.contains(LANGUAGE_FLAGS_LINE) {
        bail!("{} must hold the line `{LANGUAGE_FLAGS_LINE}` (xtask replaces it)", template_path.display());
    }
    let manifest = if swift6 {
        template
            .replace(LANGUAGE_FLAGS_LINE, r#"let libraryLanguageFlags: [String] = ["-swift-version", "6"]"#)
    } else {
        template
    };
    let path = root_dir.join(PACKAGE).join("Package.swift");
    if std::fs::read_to_string(&path).is_ok_and(|existing| existing == manifest) {
        return Ok(());
    }
    std::fs::write(&path, manifest).with_context(|| format!("writing {}", path.display()))
}

/// Swift 6 language mode and complete concurrency checking over the library targets (step 4 of the module
/// doc), against the modules `swift build` produced.
fn strict_checks(root_dir: &Path) -> anyhow::Result<()> {
    let modules = format!("/{PACKAGE}/.build/debug/Modules");
    let ffi = format!("/{PACKAGE}/Sources/LatchkeyFFI");
    let strict = ["-swift-version", "6", "-strict-concurrency=complete", "-warnings-as-errors"];
    let mut latchkey = trixie::chroot(root_dir, "swiftc");
    latchkey
        .arg("-typecheck")
        .args(strict)
        .args(["-module-name", "Latchkey", "-I", &ffi])
        .args(module_sources(root_dir, "Latchkey")?);
    step(
        "Swift 6 mode, complete concurrency checking: type-check Latchkey (generated + ios/Sources)",
        latchkey,
    )?;
    for module in STRICT_MODULES {
        let mut check = trixie::chroot(root_dir, "swiftc");
        check
            .args(["-emit-sil", "-wmo", "-parse-as-library", "-o", "/dev/null"])
            .args(strict)
            .args(["-module-name", module, "-I", &ffi, "-I", &modules])
            .args(module_sources(root_dir, module)?);
        step(&format!("Swift 6 mode, every diagnostic (SIL included): {module}"), check)?;
    }
    Ok(())
}

/// The staged Swift files of `module`, as paths inside the root.
fn module_sources(root_dir: &Path, module: &str) -> anyhow::Result<Vec<String>> {
    let dir = root_dir.join(PACKAGE).join("Sources").join(module);
    let mut sources = Vec::new();
    for entry in std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if name.ends_with(".swift") {
            sources.push(format!("/{PACKAGE}/Sources/{module}/{name}"));
        }
    }
    sources.sort();
    if sources.is_empty() {
        bail!("no Swift sources staged in {}", dir.display());
    }
    Ok(sources)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_compiler_crash_is_told_apart_from_compile_errors() {
        let crash = "swift-frontend: SILType.h:114: Assertion `ty->isLegalSILType()' failed.\n\
                     4.\tWhile running pass #20583 SILFunctionTransform \"TransferNonSendable\" on SILFunction\n";
        assert_eq!(
            probe_outcome(false, crash),
            ProbeOutcome::CompilerCrash(
                "4.\tWhile running pass #20583 SILFunctionTransform \"TransferNonSendable\" on SILFunction"
                    .into()
            )
        );
        let errors = "/latchkey/package/Sources/Latchkey/Streams.swift:3:1: error: capture of 'x' with \
                      non-sendable type";
        assert_eq!(probe_outcome(false, errors), ProbeOutcome::Errors);
        assert_eq!(probe_outcome(true, ""), ProbeOutcome::Works);
    }

    #[test]
    fn staging_writes_only_changed_files_and_removes_stale_ones() -> anyhow::Result<()> {
        let dir = std::env::temp_dir().join(format!("xtask-swift-stage-{}", std::process::id()));
        let from = dir.join("from.swift");
        let to = dir.join("Sources/M/to.swift");
        let stale = dir.join("Sources/M/stale.swift");
        std::fs::create_dir_all(stale.parent().context("parent")?)?;
        std::fs::write(&from, "let a = 1")?;
        std::fs::write(&stale, "let gone = 1")?;
        copy_if_changed(&from, &to)?;
        let written = std::fs::metadata(&to)?.modified()?;
        std::thread::sleep(std::time::Duration::from_millis(20));
        copy_if_changed(&from, &to)?;
        assert_eq!(std::fs::metadata(&to)?.modified()?, written, "an unchanged file must not be rewritten");
        remove_unlisted(&dir.join("Sources"), &[(from.clone(), to.clone())])?;
        assert!(to.exists() && !stale.exists(), "only the stale file goes");
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }
}
