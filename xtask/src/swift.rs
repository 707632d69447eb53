//! `cargo xtask swift-check`: the iOS SDK's Swift compiled and tested on Linux, plus the checks that need
//! no Swift toolchain — the step `cargo xtask test` runs for `ios/`.
//!
//! 1. Generates the Swift bindings, the C header and the module map from the unstripped debug cdylib (the
//!    same `uniffi-bindgen` invocation `ios/build-xcframework.sh` uses on macOS).
//! 2. Compiles `ios/tests/c/ffi_check.c` against the generated header with gcc (`-Wall -Wextra -Werror`),
//!    links it to the library and runs it: it checks the contract version and every checksum the generated
//!    Swift expects, and drives the library through the header (a software signer's key and signature, a
//!    typed error whose fields say what to fix and never hold the secret passed in, every buffer freed —
//!    under valgrind, when the machine has it).
//! 3. Parses the generated Swift, `ios/Package.swift`, `ios/Sources` and `examples/swift` with
//!    tree-sitter-swift (`ios/tests/swift_syntax.py`, which first proves on a broken snippet that it can
//!    fail): the only check of the files that need Apple frameworks.
//! 4. Checks that the GATT UUIDs of `ios/Sources/LatchkeyPlatform/LatchkeyGATT+CoreBluetooth.swift` are those of
//!    `protocol/src/gatt.rs`, and that `ios/build-xcframework.sh` refuses to run off macOS with a clear
//!    message.
//! 5. Builds the Swift package with Debian's Swift 6.0.3 in a trixie root it makes under `<target>/swift`
//!    ([`trixie`]), checks it in Swift 6 language mode with complete concurrency checking, and runs its
//!    XCTest suite against a simulator ([`package`]).

mod package;
mod trixie;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use crate::python::{bindgen, build_library, venv};
use crate::{cargo, require, root, step, target_dir};

/// The C module's name (`ffi_module_name` in bindings/uniffi.toml): `LatchkeyFFI.h`.
const HEADER: &str = "LatchkeyFFI.h";

/// Where the Swift check keeps its files.
fn swift_dir() -> PathBuf {
    target_dir().join("swift")
}

/// The whole step.
pub fn run() -> anyhow::Result<()> {
    require("gcc", "to compile the generated C header and the C check program (Debian: gcc)")?;
    let python = venv()?;
    let library = build_library()?;
    let generated = swift_dir().join("generated");
    bindgen("swift", &library, &generated)?;
    for file in [HEADER, "LatchkeyFFI.modulemap"] {
        if !generated.join(file).exists() {
            bail!("uniffi-bindgen wrote no {file} into {}", generated.display());
        }
    }
    let swift = swift_sources(&generated)?;
    check_c(&generated, &swift, &library)?;
    let mut parse = Command::new(&python);
    parse
        .current_dir(root())
        .arg("ios/tests/swift_syntax.py")
        .arg(&generated)
        .arg("ios/Package.swift")
        .arg("ios/Sources")
        .arg("examples/swift");
    step("Swift syntax (tree-sitter-swift): generated bindings, ios/, examples/swift", parse)?;
    check_gatt_uuids()?;
    check_build_script_refuses_linux()?;
    let mut simulator_binary = cargo();
    simulator_binary.args(["build", "--bin", "latchkey"]);
    step("build the latchkey binary (the simulator the Swift tests run against)", simulator_binary)?;
    let simulator = crate::kotlin::start_simulator(&swift_dir())?;
    package::run(&generated, &library, &simulator.url)
}

/// The generated Swift, concatenated (one file today).
fn swift_sources(generated: &Path) -> anyhow::Result<String> {
    let mut all = String::new();
    for entry in std::fs::read_dir(generated)? {
        let path = entry?.path();
        if path.extension().is_some_and(|extension| extension == "swift") {
            all.push_str(
                &std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?,
            );
        }
    }
    if all.is_empty() {
        bail!("uniffi-bindgen wrote no Swift into {}", generated.display());
    }
    Ok(all)
}

/// What the generated Swift checks at load time: the contract version and `(checksum function, value)`.
fn expectations(swift: &str) -> anyhow::Result<(u32, Vec<(String, u16)>)> {
    let contract = swift
        .lines()
        .find_map(|line| line.trim().strip_prefix("let bindings_contract_version = "))
        .context("the generated Swift has no `let bindings_contract_version = …`")?
        .trim()
        .parse()
        .context("the generated Swift's contract version is not a number")?;
    let mut checksums = Vec::new();
    for line in swift.lines() {
        let Some(start) = line.find("uniffi_latchkey_ffi_checksum_") else { continue };
        let rest = &line[start..];
        let Some((function, after)) = rest.split_once("()") else { continue };
        let Some(value) = after.trim().strip_prefix("!=") else { continue };
        let digits: String = value.trim().chars().take_while(char::is_ascii_digit).collect();
        checksums
            .push((function.to_owned(), digits.parse().with_context(|| format!("checksum in {line:?}"))?));
    }
    if checksums.is_empty() {
        bail!("found no `uniffi_latchkey_ffi_checksum_…() != N` checks in the generated Swift");
    }
    Ok((contract, checksums))
}

/// Compiles and runs `ios/tests/c/ffi_check.c` against the generated header and the library.
fn check_c(generated: &Path, swift: &str, library: &Path) -> anyhow::Result<()> {
    let (contract, checksums) = expectations(swift)?;
    let mut include = String::new();
    for (function, value) in &checksums {
        writeln!(include, "CHECK_CHECKSUM({function}, {value})")?;
    }
    let build = swift_dir().join("c");
    std::fs::create_dir_all(&build)?;
    std::fs::write(build.join("expectations.inc"), include)?;
    let library_dir = library.parent().context("the library has no directory")?;
    let program = build.join("ffi_check");
    let mut gcc = Command::new("gcc");
    gcc.current_dir(root())
        .args([
            "-std=c11",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-D_Nonnull=",
            "-D_Nullable=",
            "-include",
            "stdbool.h",
        ])
        .arg(format!("-DEXPECTED_CONTRACT_VERSION={contract}u"))
        .arg("-I")
        .arg(generated)
        .arg("-I")
        .arg(&build)
        .arg("ios/tests/c/ffi_check.c")
        .arg("-o")
        .arg(&program)
        .arg(format!("-L{}", library_dir.display()))
        .arg("-llatchkey_ffi")
        .arg(format!("-Wl,-rpath,{}", library_dir.display()));
    step(&format!("gcc: {HEADER} and ios/tests/c/ffi_check.c ({} checksums)", checksums.len()), gcc)?;
    // Under valgrind when the machine has it: every buffer and handle the program receives is freed.
    let found =
        Command::new("valgrind").arg("--version").output().is_ok_and(|output| output.status.success());
    if found {
        let mut valgrind = Command::new("valgrind");
        valgrind
            .args(["-q", "--error-exitcode=1", "--leak-check=full", "--errors-for-leak-kinds=definite"])
            .arg(&program);
        step("C program drives liblatchkey_ffi through the generated header (valgrind: no leak)", valgrind)
    } else {
        step("C program drives liblatchkey_ffi through the generated header", Command::new(&program))
    }
}

/// The GATT UUIDs of the Swift transport are the protocol's (`protocol/src/gatt.rs`).
fn check_gatt_uuids() -> anyhow::Result<()> {
    let rust_path = root().join("protocol/src/gatt.rs");
    let swift_path = root().join("ios/Sources/LatchkeyPlatform/LatchkeyGATT+CoreBluetooth.swift");
    let swift =
        std::fs::read_to_string(&swift_path).with_context(|| format!("reading {}", swift_path.display()))?;
    let Ok(rust) = std::fs::read_to_string(&rust_path) else {
        eprintln!("    note: {} is not in this tree yet; GATT UUIDs not compared", rust_path.display());
        return Ok(());
    };
    for (rust_name, swift_name) in [
        ("SERVICE_UUID", "service"),
        ("WRITE_CHAR_UUID", "writeCharacteristic"),
        ("NOTIFY_CHAR_UUID", "notifyCharacteristic"),
    ] {
        let expected = quoted_after(&rust, &format!("pub const {rust_name}: &str = "))
            .with_context(|| format!("{rust_name} not found in {}", rust_path.display()))?;
        let actual = quoted_after(&swift, &format!("static let {swift_name} = CBUUID(string: "))
            .with_context(|| format!("LatchkeyGATT.{swift_name} not found in {}", swift_path.display()))?;
        if !expected.eq_ignore_ascii_case(&actual) {
            bail!(
                "LatchkeyGATT.{swift_name} is {actual} but protocol::gatt::{rust_name} is {expected}: fix the Swift"
            );
        }
    }
    eprintln!("    GATT UUIDs of LatchkeyGATT+CoreBluetooth.swift match protocol/src/gatt.rs");
    Ok(())
}

/// The first `"…"` after `prefix` in `text`.
fn quoted_after(text: &str, prefix: &str) -> Option<String> {
    let rest = &text[text.find(prefix)? + prefix.len()..];
    let rest = rest.strip_prefix('"')?;
    Some(rest[..rest.find('"')?].to_owned())
}

/// On Linux the XCFramework script must stop at once and say it needs macOS (not half-build anything).
fn check_build_script_refuses_linux() -> anyhow::Result<()> {
    let output = Command::new("bash")
        .current_dir(root())
        .arg("ios/build-xcframework.sh")
        .output()
        .context("could not run ios/build-xcframework.sh")?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if output.status.success() || !stderr.contains("needs macOS") {
        bail!(
            "ios/build-xcframework.sh on Linux must fail with 'needs macOS'; it exited {} saying: {stderr}",
            output.status
        );
    }
    eprintln!("    ios/build-xcframework.sh refuses to run off macOS, as documented");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expectations_reads_the_contract_version_and_checksums() -> anyhow::Result<()> {
        let swift = "    let bindings_contract_version = 30\n\
                     if (uniffi_latchkey_ffi_checksum_func_software_signer() != 4242) {\n\
                     if (uniffi_latchkey_ffi_checksum_method_doorclient_unlock() != 7) {\n";
        let (contract, checksums) = expectations(swift)?;
        assert_eq!(contract, 30);
        assert_eq!(
            checksums,
            vec![
                ("uniffi_latchkey_ffi_checksum_func_software_signer".to_owned(), 4242),
                ("uniffi_latchkey_ffi_checksum_method_doorclient_unlock".to_owned(), 7)
            ]
        );
        assert!(expectations("no checks here").is_err(), "Swift without the checks must be refused");
        Ok(())
    }

    #[test]
    fn quoted_after_finds_the_uuid() {
        let rust = r#"pub const SERVICE_UUID: &str = "4c4b0001-x";"#;
        assert_eq!(quoted_after(rust, "pub const SERVICE_UUID: &str = ").as_deref(), Some("4c4b0001-x"));
        assert_eq!(quoted_after(rust, "pub const OTHER: &str = "), None);
    }
}
