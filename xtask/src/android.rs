//! `cargo xtask android`: the SDK's Android platform parts (`BluetoothGattTransport`, `KeystoreSigner`,
//! `Latchkey.initialize`, android/src/main/kotlin/com/latchkey/sdk/android, and the vendored certificate verifier
//! component, android/src/main/kotlin/org/rustls/platformverifier) type-checked against the real Android framework
//! classes and run on the JVM under Robolectric, driving a virtual lock of a real simulator through the
//! Rust core.
//!
//! It installs what it needs under `<target>/android` when missing: the Kotlin compiler (npm package
//! `kotlin-compiler`, shared with the Kotlin step's cache), the jars of `android/jvm-deps/pom.xml`
//! (Robolectric, JUnit 4, JNA) and the Android framework jars (`org.robolectric:android-all` of the target
//! API for compiling, `android-all-instrumented` of the minimum and target APIs for Robolectric), all with
//! `mvn`. Robolectric then runs offline from that directory: nothing is downloaded at test time.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use crate::{cargo, require, root, step, target_dir};

/// The maven-dependency-plugin goals used to fetch jars.
const DEPENDENCY_PLUGIN: &str = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1";

/// The Android framework of the target API (35, Android 15) with its true signatures: the compile class
/// path. (API 36's Robolectric jar needs Java 21; this machine has Java 17.)
const ANDROID_ALL: (&str, &str) =
    ("org.robolectric:android-all:15-robolectric-13954326", "android-all-15-robolectric-13954326.jar");

/// The framework jars Robolectric runs the tests on: API 26 (minSdk, Android 8.0) and API 35
/// (targetSdk). The versions are the ones Robolectric's DefaultSdkProvider asks for.
const INSTRUMENTED: &[(&str, &str)] = &[
    (
        "org.robolectric:android-all-instrumented:8.0.0_r4-robolectric-r1-i7",
        "android-all-instrumented-8.0.0_r4-robolectric-r1-i7.jar",
    ),
    (
        "org.robolectric:android-all-instrumented:15-robolectric-13954326-i7",
        "android-all-instrumented-15-robolectric-13954326-i7.jar",
    ),
];

/// The Robolectric version of `android/jvm-deps/pom.xml`: its jars are fetched into `jars-<version>`. 4.17's
/// `ShadowBluetoothDevice` declares a method with `BluetoothDevice.BluetoothAddress` (API 36), so every Bluetooth
/// shadow fails to load on API 35 and below; 4.16.1 does not.
const ROBOLECTRIC: &str = "4.16.1";

/// The API levels the Robolectric tests run on, one JVM each (each loads the Rust library once).
const SDKS: &[&str] = &["26", "35"];

fn android_dir() -> PathBuf {
    target_dir().join("android")
}

/// The compiler, the jars for compiling and running, and Robolectric's framework jars.
struct Toolchain {
    kotlinc: PathBuf,
    /// kotlin-stdlib, kotlinx-coroutines, and the pom's jars.
    runtime_jars: Vec<PathBuf>,
    android_all: PathBuf,
    sdk_dir: PathBuf,
}

fn toolchain() -> anyhow::Result<Toolchain> {
    require("java", "to compile and run the Android tests (Debian: openjdk-17-jdk-headless)")?;
    let compiler = crate::kotlin::install_kotlinc()?;
    let kotlinc = compiler.join("bin/kotlinc");

    let jars = android_dir().join(format!("jars-{ROBOLECTRIC}"));
    if !jars.join(format!("robolectric-{ROBOLECTRIC}.jar")).exists() {
        require("mvn", "to fetch Robolectric, JUnit and JNA from Maven Central (Debian: maven)")?;
        let mut copy = Command::new("mvn");
        copy.current_dir(root())
            .args(["-q", "-B", "-f", "android/jvm-deps/pom.xml"])
            .arg(format!("{DEPENDENCY_PLUGIN}:copy-dependencies"))
            .arg(format!("-DoutputDirectory={}", jars.display()));
        step("mvn dependency:copy-dependencies (android/jvm-deps/pom.xml)", copy)?;
    }
    unpack_aars(&jars)?;
    let sdk_dir = android_dir().join("sdk");
    for (artifact, file) in std::iter::once(&ANDROID_ALL).chain(INSTRUMENTED) {
        if sdk_dir.join(file).exists() {
            continue;
        }
        require("mvn", "to fetch the Android framework jars from Maven Central (Debian: maven)")?;
        let mut copy = Command::new("mvn");
        copy.args(["-q", "-B", &format!("{DEPENDENCY_PLUGIN}:copy")])
            .arg(format!("-Dartifact={artifact}"))
            .arg(format!("-DoutputDirectory={}", sdk_dir.display()));
        step(&format!("mvn dependency:copy {artifact}"), copy)?;
    }

    let mut runtime_jars =
        vec![compiler.join("lib/kotlin-stdlib.jar"), compiler.join("lib/kotlinx-coroutines-core-jvm.jar")];
    let mut fetched: Vec<PathBuf> = std::fs::read_dir(&jars)?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "jar"))
        .collect();
    fetched.sort();
    runtime_jars.extend(fetched);
    let android_all = sdk_dir.join(ANDROID_ALL.1);
    for jar in runtime_jars.iter().chain(std::iter::once(&android_all)) {
        if !jar.exists() {
            bail!("{} is missing after installation", jar.display());
        }
    }
    Ok(Toolchain { kotlinc, runtime_jars, android_all, sdk_dir })
}

/// Robolectric needs androidx.test's `monitor`, published as an Android archive: puts each `.aar`'s
/// `classes.jar` beside it as `<name>.jar` (with the JDK's `jar` tool).
fn unpack_aars(jars: &Path) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(jars)? {
        let aar = entry?.path();
        if aar.extension().is_none_or(|ext| ext != "aar") || aar.with_extension("jar").exists() {
            continue;
        }
        let scratch = jars.join("aar-scratch");
        std::fs::create_dir_all(&scratch)?;
        let mut unpack = Command::new("jar");
        unpack.current_dir(&scratch).arg("xf").arg(&aar).arg("classes.jar");
        step(&format!("unpack classes.jar of {}", aar.display()), unpack)?;
        std::fs::rename(scratch.join("classes.jar"), aar.with_extension("jar"))
            .with_context(|| format!("{} holds no classes.jar", aar.display()))?;
        std::fs::remove_dir_all(&scratch)?;
    }
    Ok(())
}

/// Builds the host library and the tools, generates the Kotlin bindings and compiles the SDK's Kotlin,
/// the Android platform parts and their tests against the target API's framework; returns the classes.
fn build(toolchain: &Toolchain) -> anyhow::Result<PathBuf> {
    let mut library = cargo();
    library.args(["build", "-p", "latchkey-ffi", "--lib"]);
    step("build the latchkey-ffi cdylib (debug, unstripped)", library)?;
    let mut tools = cargo();
    tools.args(["build", "-p", "uniffi-bindgen", "-p", "latchkey-harness", "--bins"]);
    step("build uniffi-bindgen and the latchkey binary", tools)?;

    let generated = android_dir().join("generated");
    crate::kotlin::generate(&target_dir().join("debug/liblatchkey_ffi.so"), &generated)?;

    let classes = android_dir().join("classes");
    if classes.exists() {
        std::fs::remove_dir_all(&classes).with_context(|| format!("clearing {}", classes.display()))?;
    }
    let compile_path: Vec<PathBuf> = toolchain
        .runtime_jars
        .iter()
        .cloned()
        .chain(std::iter::once(toolchain.android_all.clone()))
        .collect();
    let mut kotlinc = Command::new(&toolchain.kotlinc);
    kotlinc
        .current_dir(root())
        .args(["-nowarn", "-jvm-target", "17", "-d"])
        .arg(&classes)
        .arg("-cp")
        .arg(crate::kotlin::class_path(&compile_path))
        .arg(&generated)
        .args([
            "android/src/main/kotlin",
            "android/testing/src/main/kotlin",
            "android/src/robolectricTest/kotlin",
        ]);
    step("kotlinc against android-all 35 (bindings, SDK layer, Android parts, Robolectric tests)", kotlinc)?;
    Ok(classes)
}

/// The test classes: every `*Test` class of the Android parts' package.
fn test_classes(classes: &Path) -> anyhow::Result<Vec<String>> {
    let package = "com/latchkey/sdk/android";
    let mut names: Vec<String> = std::fs::read_dir(classes.join(package))
        .with_context(|| format!("no compiled classes in {}", classes.join(package).display()))?
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter_map(|file| {
            file.strip_suffix("Test.class").map(|stem| format!("{}.{stem}Test", package.replace('/', ".")))
        })
        .collect();
    names.sort();
    if names.is_empty() {
        bail!("no *Test classes were compiled in {package}");
    }
    Ok(names)
}

/// The Rust target of 64-bit Android phones.
const ANDROID_TARGET: &str = "aarch64-linux-android";

/// A stand-in C compiler for type-checking only: it writes an empty object wherever `-o`/`-Fo` points, so the
/// build scripts of the C dependencies (ring, SQLite) finish for a target that has no C toolchain here (no NDK).
const TYPECHECK_CC: &str = r#"#!/bin/sh
prev=""
for a in "$@"; do
  if [ "$prev" = "-o" ]; then : > "$a"; fi
  case "$a" in -o?*) : > "${a#-o}";; -Fo?*) : > "${a#-Fo}";; esac
  prev="$a"
done
"#;

/// `cargo check` of the bindings for Android (`aarch64-linux-android`): the Rust that only Android builds compile
/// (the JNI hand-over to the certificate verifier, the core's check that it happened) is type-checked. The C code
/// is not compiled and nothing is linked: that needs the NDK.
fn check_android_target() -> anyhow::Result<()> {
    require("rustup", "to add the Android target's standard library (rustup target add)")?;
    let installed = Command::new("rustup").args(["target", "list", "--installed"]).output()?;
    if !String::from_utf8_lossy(&installed.stdout).lines().any(|line| line.trim() == ANDROID_TARGET) {
        let mut add = Command::new("rustup");
        add.args(["target", "add", ANDROID_TARGET]);
        step(&format!("rustup target add {ANDROID_TARGET}"), add)?;
    }
    let cc = android_dir().join("typecheck-cc");
    std::fs::create_dir_all(android_dir())?;
    std::fs::write(&cc, TYPECHECK_CC)?;
    let mut chmod = Command::new("chmod");
    chmod.arg("+x").arg(&cc);
    step("chmod +x the type-checking C compiler", chmod)?;
    let mut check = cargo();
    check
        .args(["check", "-p", "latchkey-ffi", "--lib", "--target", ANDROID_TARGET])
        .env("CC_aarch64_linux_android", &cc)
        .env("AR_aarch64_linux_android", "ar");
    step(
        &format!("cargo check -p latchkey-ffi --target {ANDROID_TARGET} (Rust only; C stubbed, no link)"),
        check,
    )
}

/// The whole step: install, build, then the JUnit 4 tests under Robolectric on each API level.
pub fn run() -> anyhow::Result<()> {
    check_android_target()?;
    let toolchain = toolchain()?;
    let classes = build(&toolchain)?;
    let tests = test_classes(&classes)?;
    let simulator = crate::kotlin::start_simulator(&android_dir())?;
    // As under Gradle, the framework jar is on the class path too: JUnit loads the test classes outside the
    // sandbox first; Robolectric's sandbox then loads every android.* class from the instrumented jar.
    let run_path: Vec<PathBuf> = std::iter::once(classes.clone())
        .chain(toolchain.runtime_jars.iter().cloned())
        .chain(std::iter::once(toolchain.android_all.clone()))
        .collect();
    for sdk in SDKS {
        let mut java = Command::new("java");
        java.current_dir(root())
            .arg(format!("-Djna.library.path={}", target_dir().join("debug").display()))
            // Latchkey.initialize loads the same library with System.loadLibrary for its JNI entry point.
            .arg(format!("-Djava.library.path={}", target_dir().join("debug").display()))
            .arg(format!("-Dlatchkey.sim.url={}", simulator.url))
            .arg("-Drobolectric.offline=true")
            .arg(format!("-Drobolectric.dependency.dir={}", toolchain.sdk_dir.display()))
            .arg(format!("-Drobolectric.enabledSdks={sdk}"))
            .arg("-cp")
            .arg(crate::kotlin::class_path(&run_path))
            .arg("org.junit.runner.JUnitCore")
            .args(&tests);
        step(&format!("Android parts under Robolectric, API {sdk} (JUnit 4) against the simulator"), java)?;
    }
    Ok(())
}
