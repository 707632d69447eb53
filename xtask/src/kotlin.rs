//! `cargo xtask kotlin`: the Kotlin SDK on the JVM, against a real simulator — the step `cargo xtask test`
//! runs for the bindings.
//!
//! It installs what it needs into `<target>/kotlin/toolchain` when missing (the npm package
//! `kotlin-compiler`, and from Maven Central with `mvn dependency:copy`: JNA, org.json, the JUnit console
//! launcher), builds the `latchkey-ffi` cdylib (debug, unstripped), generates the Kotlin bindings in
//! library mode with the in-tree `uniffi-bindgen`, compiles them with the idiomatic layer (`android/src/
//! main`), the simulator helpers (`android/testing`), the JVM tests (`android/src/test`) and the sample
//! (`examples/kotlin`) in one `kotlinc` run, starts `latchkey sim serve` on a free loopback port, runs the
//! JUnit tests, then runs the sample, and stops the simulator.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::figures::{Ctx, Figures};
use crate::{cargo, require, root, step, target_dir};

/// The npm package version of the Kotlin compiler.
const KOTLIN_COMPILER: &str = "2.4.20";

/// Maven artifacts and the jar file each becomes.
const JARS: &[(&str, &str)] = &[
    ("net.java.dev.jna:jna:5.17.0", "jna-5.17.0.jar"),
    ("org.json:json:20250517", "json-20250517.jar"),
    (
        "org.junit.platform:junit-platform-console-standalone:1.12.2",
        "junit-platform-console-standalone-1.12.2.jar",
    ),
];

/// The maven-dependency-plugin that copies them.
const DEPENDENCY_PLUGIN: &str = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy";

/// Where the Kotlin steps keep their files.
fn kotlin_dir() -> PathBuf {
    target_dir().join("kotlin")
}

/// The installed compiler and libraries.
struct Toolchain {
    kotlinc: PathBuf,
    /// kotlin-stdlib and kotlinx-coroutines-core-jvm (from the compiler's lib/), then [`JARS`].
    runtime_jars: Vec<PathBuf>,
}

/// Installs the npm package `kotlin-compiler` (once, in the Kotlin steps' cache) and makes its scripts
/// executable; returns the package's directory (`bin/kotlinc`, `lib/*.jar`). The Android step uses it too.
pub(crate) fn install_kotlinc() -> anyhow::Result<PathBuf> {
    let npm = kotlin_dir().join("toolchain/npm");
    let compiler = npm.join("node_modules/kotlin-compiler");
    if !compiler.join("bin/kotlinc").exists() {
        require("npm", "to install the Kotlin compiler (npm package kotlin-compiler)")?;
        std::fs::create_dir_all(&npm)?;
        let mut install = Command::new("npm");
        install
            .args(["install", "--no-audit", "--no-fund", "--no-save", "--prefix"])
            .arg(&npm)
            .arg(format!("kotlin-compiler@{KOTLIN_COMPILER}"));
        step("npm install kotlin-compiler", install)?;
    }
    // npm does not keep the executable bits of the package's scripts.
    for entry in std::fs::read_dir(compiler.join("bin")).context("the kotlin-compiler package has no bin/")? {
        let path = entry?.path();
        let mut chmod = Command::new("chmod");
        chmod.arg("+x").arg(&path);
        if !chmod.status().is_ok_and(|status| status.success()) {
            bail!("could not make {} executable", path.display());
        }
    }
    Ok(compiler)
}

/// Installs the Kotlin compiler and the jars if missing.
fn toolchain() -> anyhow::Result<Toolchain> {
    require("java", "to compile and run the Kotlin tests (Debian: openjdk-17-jdk-headless)")?;
    let dir = kotlin_dir().join("toolchain");
    let compiler = install_kotlinc()?;
    let kotlinc = compiler.join("bin/kotlinc");
    let jars_dir = dir.join("jars");
    for (artifact, file) in JARS {
        if jars_dir.join(file).exists() {
            continue;
        }
        require("mvn", "to fetch JNA, org.json and JUnit from Maven Central (Debian: maven)")?;
        let mut copy = Command::new("mvn");
        copy.args(["-q", "-B", "-Dstyle.color=never", DEPENDENCY_PLUGIN])
            .arg(format!("-Dartifact={artifact}"))
            .arg(format!("-DoutputDirectory={}", jars_dir.display()));
        step(&format!("mvn dependency:copy {artifact}"), copy)?;
    }
    let mut runtime_jars =
        vec![compiler.join("lib/kotlin-stdlib.jar"), compiler.join("lib/kotlinx-coroutines-core-jvm.jar")];
    runtime_jars.extend(JARS.iter().map(|(_, file)| jars_dir.join(file)));
    for jar in &runtime_jars {
        if !jar.exists() {
            bail!("{} is missing after installation", jar.display());
        }
    }
    Ok(Toolchain { kotlinc, runtime_jars })
}

/// A JVM class path of `parts`.
pub(crate) fn class_path<'a>(parts: impl IntoIterator<Item = &'a PathBuf>) -> String {
    parts.into_iter().map(|part| part.display().to_string()).collect::<Vec<_>>().join(":")
}

/// Builds the cdylib, generates the Kotlin and compiles everything; returns the classes directory.
fn build(toolchain: &Toolchain) -> anyhow::Result<PathBuf> {
    let mut library = cargo();
    library.args(["build", "-p", "latchkey-ffi", "--lib"]);
    step("build the latchkey-ffi cdylib (debug, unstripped)", library)?;
    // One package per invocation, as the other steps build them, so features unify the same way and the
    // dependencies already built are reused (building them together would rebuild the shared ones).
    let mut bindgen = cargo();
    bindgen.args(["build", "-p", "uniffi-bindgen"]);
    step("build uniffi-bindgen", bindgen)?;
    let mut latchkey = cargo();
    latchkey.args(["build", "--bin", "latchkey"]);
    step("build the latchkey binary", latchkey)?;
    let generated = kotlin_dir().join("generated");
    generate(&target_dir().join("debug/liblatchkey_ffi.so"), &generated)?;
    let classes = kotlin_dir().join("classes");
    let mut sources = vec![generated.clone()];
    // The idiomatic layer only: the Android platform parts (`com.latchkey.sdk.android`) need the Android
    // framework classes and are compiled and tested by `cargo xtask android`.
    sources.extend(idiomatic_layer()?);
    sources.extend(
        ["android/testing/src/main/kotlin", "android/src/test/kotlin", "examples/kotlin/src/main/kotlin"]
            .map(|dir| root().join(dir)),
    );
    let stamp = kotlin_dir().join("classes.fingerprint");
    let fingerprint = format!("{:016x}", fingerprint(&sources, &toolchain.runtime_jars)?);
    if classes.exists() && std::fs::read_to_string(&stamp).is_ok_and(|stamped| stamped == fingerprint) {
        eprintln!("==> kotlinc: the classes are up to date (no Kotlin source or generated binding changed)");
        return Ok(classes);
    }
    let _ = std::fs::remove_file(&stamp);
    if classes.exists() {
        std::fs::remove_dir_all(&classes).with_context(|| format!("clearing {}", classes.display()))?;
    }
    let mut kotlinc = Command::new(&toolchain.kotlinc);
    kotlinc
        .current_dir(root())
        .args(["-nowarn", "-jvm-target", "17", "-d"])
        .arg(&classes)
        .arg("-cp")
        .arg(class_path(&toolchain.runtime_jars))
        .args(&sources);
    step("kotlinc (bindings, idiomatic layer, simulator helpers, tests, sample)", kotlinc)?;
    std::fs::write(&stamp, fingerprint)?;
    Ok(classes)
}

/// A hash of every file under `sources` (paths and contents, in a stable order) and of the class path: what
/// the compiled classes depend on. `kotlinc` takes 20 s or more; an unchanged fingerprint skips it.
fn fingerprint(sources: &[PathBuf], class_path: &[PathBuf]) -> anyhow::Result<u64> {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let mut files = Vec::new();
    let mut pending = sources.to_vec();
    while let Some(path) = pending.pop() {
        if path.is_dir() {
            for entry in std::fs::read_dir(&path).with_context(|| format!("listing {}", path.display()))? {
                pending.push(entry?.path());
            }
        } else {
            files.push(path);
        }
    }
    files.sort();
    // A fixed-key SipHash: the same inputs give the same value in every run.
    let mut hasher = DefaultHasher::new();
    KOTLIN_COMPILER.hash(&mut hasher);
    class_path.hash(&mut hasher);
    for file in files {
        file.hash(&mut hasher);
        std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?.hash(&mut hasher);
    }
    Ok(hasher.finish())
}

/// The `.kt` files of the idiomatic Kotlin layer (`com.latchkey.sdk`, without its `android` subpackage).
fn idiomatic_layer() -> anyhow::Result<Vec<PathBuf>> {
    let dir = root().join("android/src/main/kotlin/com/latchkey/sdk");
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&dir).with_context(|| format!("listing {}", dir.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|ext| ext == "kt") {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Generates Kotlin from the UNSTRIPPED cdylib `library` into `out` (emptied first).
pub fn generate(library: &Path, out: &Path) -> anyhow::Result<()> {
    if out.exists() {
        std::fs::remove_dir_all(out).with_context(|| format!("clearing {}", out.display()))?;
    }
    let mut bindgen = Command::new(target_dir().join("debug/uniffi-bindgen"));
    bindgen
        .current_dir(root())
        .args(["generate", "--no-format", "--language", "kotlin", "--library"])
        .arg(library)
        .arg("--out-dir")
        .arg(out);
    step("uniffi-bindgen generate --language kotlin", bindgen)
}

/// A simulator child process, killed on drop.
pub(crate) struct Simulator {
    child: Child,
    /// Its base URL.
    pub(crate) url: String,
}

impl Drop for Simulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `latchkey sim serve` (in memory) on a free loopback port, logging to `log_dir`, and waits until it
/// answers (the Kotlin and Android steps share it).
pub(crate) fn start_simulator(log_dir: &Path) -> anyhow::Result<Simulator> {
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let log = log_dir.join("simulator.log");
    let child = Command::new(target_dir().join("debug/latchkey"))
        .args(["sim", "serve", "--db", ":memory:", "--addr"])
        .arg(format!("127.0.0.1:{port}"))
        .env("LATCHKEY_MANAGER_TOKEN", "dev-manager-token")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?)
        .spawn()
        .context("could not start `latchkey sim serve`")?;
    let simulator = Simulator { child, url: format!("http://127.0.0.1:{port}") };
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(30) {
        if healthy(port) {
            return Ok(simulator);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("the simulator did not answer /healthz within 30 s; see {}", log.display())
}

fn healthy(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else { return false };
    let request = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    let mut answer = String::new();
    stream.write_all(request.as_bytes()).is_ok()
        && stream.read_to_string(&mut answer).is_ok()
        && answer.starts_with("HTTP/1.1 200")
}

/// `java` with the native library, the simulator's address and the class path.
fn java(toolchain: &Toolchain, classes: &Path, library_dir: &Path, simulator: &Simulator) -> Command {
    let mut path = vec![classes.to_path_buf()];
    path.extend(toolchain.runtime_jars.iter().cloned());
    let mut java = Command::new("java");
    java.current_dir(root())
        .arg(format!("-Djna.library.path={}", library_dir.display()))
        .arg(format!("-Dlatchkey.sim.url={}", simulator.url))
        .arg("-cp")
        .arg(class_path(&path));
    java
}

/// The whole step: install, build, test on the JVM, run the sample.
pub fn run() -> anyhow::Result<()> {
    let toolchain = toolchain()?;
    let classes = build(&toolchain)?;
    let simulator = start_simulator(&kotlin_dir())?;
    let library_dir = target_dir().join("debug");
    let mut tests = java(&toolchain, &classes, &library_dir, &simulator);
    tests
        .args(["org.junit.platform.console.ConsoleLauncher", "execute", "--disable-banner"])
        .args(["--disable-ansi-colors", "--details=tree", "--fail-if-no-tests", "--scan-class-path"])
        .arg(&classes);
    step("Kotlin tests on the JVM (JUnit) against the simulator", tests)?;
    let mut sample = java(&toolchain, &classes, &library_dir, &simulator);
    sample.arg("com.latchkey.sample.UnlockSampleKt").arg(&simulator.url);
    step("Kotlin sample (examples/kotlin) against the simulator", sample)?;
    Ok(())
}

/// The bench JVM's heap limit, the size of an ordinary Android app's heap (`dalvik.vm.heapgrowthlimit`,
/// device-specific, commonly 192–512 MB).
const BENCH_HEAP: &str = "256m";

/// `ffi_kotlin_call_us`: `DoorClient.locks()` from Kotlin on the JVM, with the release-mobile library that
/// `cargo xtask size` built (the one phones ship, unstripped).
pub fn bench_figures(ctx: &Ctx) -> anyhow::Result<Figures> {
    let toolchain = toolchain()?;
    let classes = build(&toolchain)?;
    let library_dir = crate::size::build_release()?;
    let simulator = start_simulator(&kotlin_dir())?;
    // Calls timed one by one, and the warm-up (ms) before them.
    let (calls, warm_up_ms) = if ctx.quick { ("10000", "3000") } else { ("50000", "6000") };
    let output = java(&toolchain, &classes, &library_dir, &simulator)
        // A phone app's heap, not the JVM's default quarter of this machine's memory (6 GB): with that
        // much room, JNA's per-call structures pile up until G1 pauses for 100 ms at a time and the median
        // call wanders between 13 and 24 us from run to run (docs/performance.md).
        .arg(format!("-Xmx{BENCH_HEAP}"))
        .arg("com.latchkey.sdk.bench.FfiCallBenchKt")
        .arg(&simulator.url)
        .arg(calls)
        .arg(warm_up_ms)
        .stderr(Stdio::inherit())
        .output()
        .context("could not run the Kotlin call benchmark")?;
    if !output.status.success() {
        bail!("the Kotlin call benchmark failed");
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let last = stdout.lines().last().context("the Kotlin call benchmark printed nothing")?;
    serde_json::from_str(last).with_context(|| format!("the Kotlin call benchmark printed {last:?}"))
}
