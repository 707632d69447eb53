//! `cargo xtask fuzz --seconds N`: builds the cargo-fuzz targets of `fuzz/` (nightly, libFuzzer) and runs
//! each for N seconds from a corpus kept under the target dir, seeded from the protocol test vectors.
//!
//! It installs what it needs (the nightly toolchain through rustup if missing, a pinned cargo-fuzz into the
//! target dir) and fails loudly when it cannot: a fuzz step that silently skips proves nothing. A crash fails
//! the run with the input saved and the command that replays it; crashes found become tests in
//! `protocol/tests/fuzz_regressions.rs` (or next to the decoder).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail};
use latchkey_protocol::framing;
use latchkey_protocol::sync::{LogBatch, SyncReport, log_request, sync_messages};
use latchkey_protocol::unlock::TimeStatus;
use serde_json::Value;

use crate::{root, target_dir};

/// The cargo-fuzz release this project pins.
const CARGO_FUZZ_VERSION: &str = "0.13.2";

/// Every target of `fuzz/Cargo.toml`, with the longest input libFuzzer may generate for it.
const TARGETS: &[(&str, usize)] = &[
    ("framing", 16_384),
    ("unlock_lock", 4096),
    ("unlock_phone", 4096),
    ("credential", 1024),
    ("delta", 8192),
    ("sync_lock", 16_384),
    ("sync_phone", 8192),
    ("eventlog", 8192),
    ("keypad", 1024),
    ("lock_connection", 16_384),
    ("sim_http", 4096),
];

/// What one target's run did.
struct Outcome {
    target: &'static str,
    executions: u64,
    corpus: usize,
    seconds: f64,
}

/// Builds every target, then runs each for `seconds` (only `only`, if given).
pub fn run(seconds: u32, only: Option<&str>) -> anyhow::Result<()> {
    if seconds == 0 {
        bail!("--seconds must be at least 1");
    }
    let targets: Vec<_> = TARGETS.iter().filter(|(name, _)| only.is_none_or(|o| o == *name)).collect();
    if targets.is_empty() {
        let names: Vec<_> = TARGETS.iter().map(|(name, _)| *name).collect();
        bail!("no fuzz target named {:?}; the targets are {}", only.unwrap_or_default(), names.join(", "));
    }
    let work = target_dir().join("fuzz");
    ensure_nightly()?;
    let cargo_fuzz_bin = ensure_cargo_fuzz(&work)?;
    write_seeds(&work.join("seeds")).context("could not write the seed corpora from the test vectors")?;

    let build_dir = work.join("build");
    let started = Instant::now();
    eprintln!("==> cargo +nightly fuzz build (all targets; first build takes minutes)");
    let status = Command::new("cargo")
        .current_dir(root())
        .env("PATH", path_with(&cargo_fuzz_bin))
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("CARGO")
        .args(["+nightly", "fuzz", "build", "--sanitizer", "none", "--target-dir"])
        .arg(&build_dir)
        .status()
        .context("could not start `cargo +nightly fuzz build`")?;
    if !status.success() {
        bail!("`cargo +nightly fuzz build` failed (see above): the fuzz targets must build on nightly");
    }
    eprintln!("    fuzz build: ok in {:.1} s", started.elapsed().as_secs_f64());

    let bin_dir = build_dir.join(host_triple()?).join("release");
    let mut outcomes = Vec::new();
    for (target, max_len) in targets {
        outcomes.push(run_target(&work, &bin_dir, target, *max_len, seconds)?);
    }
    eprintln!("\n{:<16} {:>12} {:>10} {:>8}  result", "target", "executions", "exec/s", "corpus");
    for o in &outcomes {
        eprintln!(
            "{:<16} {:>12} {:>10.0} {:>8}  no crash",
            o.target,
            o.executions,
            o.executions as f64 / o.seconds.max(0.001),
            o.corpus
        );
    }
    let total: u64 = outcomes.iter().map(|o| o.executions).sum();
    eprintln!("{} targets, {total} executions, 0 crashes", outcomes.len());
    Ok(())
}

/// The host target triple (where cargo-fuzz puts the binaries), from `rustc -vV`.
fn host_triple() -> anyhow::Result<String> {
    let output = Command::new("rustc").arg("-vV").output().context("could not run `rustc -vV`")?;
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|line| line.strip_prefix("host: "))
        .map(|host| host.trim().to_owned())
        .context("`rustc -vV` printed no host triple")
}

fn path_with(dir: &Path) -> std::ffi::OsString {
    let mut paths = vec![dir.to_path_buf()];
    if let Some(existing) = std::env::var_os("PATH") {
        paths.extend(std::env::split_paths(&existing));
    }
    std::env::join_paths(paths).unwrap_or_default()
}

/// The nightly toolchain, installed through rustup if it is missing.
fn ensure_nightly() -> anyhow::Result<()> {
    let has_nightly = Command::new("rustup")
        .args(["run", "nightly", "rustc", "--version"])
        .output()
        .is_ok_and(|output| output.status.success());
    if has_nightly {
        return Ok(());
    }
    eprintln!("==> rustup toolchain install nightly (cargo-fuzz needs it)");
    let status = Command::new("rustup")
        .args(["toolchain", "install", "nightly", "--profile", "minimal"])
        .status()
        .context("fuzzing needs rustup to install the nightly toolchain, and rustup could not start")?;
    if !status.success() {
        bail!(
            "could not install the nightly toolchain (`rustup toolchain install nightly`): fuzzing needs it"
        );
    }
    Ok(())
}

/// The pinned cargo-fuzz under the target dir, installed from crates.io if missing. Returns its bin dir.
fn ensure_cargo_fuzz(work: &Path) -> anyhow::Result<PathBuf> {
    let install_root = work.join("tools");
    let bin_dir = install_root.join("bin");
    let binary = bin_dir.join("cargo-fuzz");
    let installed = Command::new(&binary)
        .arg("--version")
        .output()
        .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).contains(CARGO_FUZZ_VERSION));
    if installed {
        return Ok(bin_dir);
    }
    eprintln!("==> cargo install cargo-fuzz {CARGO_FUZZ_VERSION} (into {})", install_root.display());
    let status = Command::new("cargo")
        .args(["install", "cargo-fuzz", "--locked", "--version", CARGO_FUZZ_VERSION, "--root"])
        .arg(&install_root)
        .env("CARGO_TARGET_DIR", work.join("tools-build"))
        .env_remove("RUSTUP_TOOLCHAIN")
        .status()
        .context("could not start `cargo install cargo-fuzz`")?;
    if !status.success() {
        bail!(
            "`cargo install cargo-fuzz --version {CARGO_FUZZ_VERSION}` failed: fuzzing needs it (crates.io)"
        );
    }
    Ok(bin_dir)
}

fn run_target(
    work: &Path,
    bin_dir: &Path,
    target: &'static str,
    max_len: usize,
    seconds: u32,
) -> anyhow::Result<Outcome> {
    let corpus = work.join("corpus").join(target);
    let artifacts = work.join("artifacts").join(target);
    std::fs::create_dir_all(&corpus)?;
    std::fs::create_dir_all(&artifacts)?;
    let binary = bin_dir.join(target);
    eprintln!("==> fuzz {target} for {seconds} s");
    let started = Instant::now();
    let output = Command::new(&binary)
        .arg(&corpus)
        .arg(work.join("seeds").join(target))
        .arg(format!("-max_total_time={seconds}"))
        .arg(format!("-max_len={max_len}"))
        .arg("-timeout=30")
        .arg("-rss_limit_mb=2048")
        .arg("-print_final_stats=1")
        .arg(format!("-artifact_prefix={}/", artifacts.display()))
        .output()
        .with_context(|| format!("could not start the fuzz target {}", binary.display()))?;
    let seconds_taken = started.elapsed().as_secs_f64();
    let log = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        let tail: Vec<&str> = log.lines().rev().take(40).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        let crash = log
            .lines()
            .find_map(|line| line.split("Test unit written to ").nth(1))
            .map(str::trim)
            .unwrap_or("(no input saved)");
        bail!(
            "fuzz target {target} crashed:\n{}\n\ninput: {crash}\nreplay: {} {crash}\nthen add it as a regression test \
             (protocol/tests/fuzz_regressions.rs) and fix the decoder",
            tail.join("\n"),
            binary.display()
        );
    }
    let executions = log
        .lines()
        .find_map(|line| line.strip_prefix("stat::number_of_executed_units:"))
        .and_then(|n| n.trim().parse().ok())
        .context("libFuzzer printed no execution count")?;
    if executions == 0 {
        bail!("fuzz target {target} ran no input: the harness is broken");
    }
    let corpus_size = std::fs::read_dir(&corpus).map(|d| d.count()).unwrap_or(0);
    eprintln!("    {target}: {executions} executions in {seconds_taken:.1} s, corpus {corpus_size}");
    Ok(Outcome { target, executions, corpus: corpus_size, seconds: seconds_taken })
}

// ---------------------------------------------------------------------------------------------------------
// Seed corpora from protocol/tests/vectors/*.json
// ---------------------------------------------------------------------------------------------------------

fn vector(name: &str) -> anyhow::Result<Value> {
    let path = root().join("protocol/tests/vectors").join(name);
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

fn hex(v: &Value) -> anyhow::Result<Vec<u8>> {
    let text = v.as_str().context("a hex string in the vectors")?;
    if !text.len().is_multiple_of(2) {
        bail!("odd-length hex in the vectors");
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).context("invalid hex in the vectors"))
        .collect()
}

/// The fuzz crate's message layout (`latchkey_fuzz::messages`): u16 length, bytes.
fn join<M: AsRef<[u8]>>(messages: &[M]) -> Vec<u8> {
    let mut out = Vec::new();
    for m in messages {
        let m = m.as_ref();
        out.extend_from_slice(&u16::try_from(m.len()).unwrap_or(u16::MAX).to_be_bytes());
        out.extend_from_slice(m);
    }
    out
}

fn with_prefix(prefix: &[u8], rest: &[u8]) -> Vec<u8> {
    [prefix, rest].concat()
}

/// The MTU field of the framing targets: `23 + value % 495`.
fn mtu_field(mtu: u16) -> [u8; 2] {
    (mtu - framing::MIN_MTU).to_be_bytes()
}

/// Phone messages as the packets a phone writes (message counters from 0).
fn packets(messages: &[Vec<u8>], mtu: u16) -> anyhow::Result<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    for (counter, m) in messages.iter().enumerate() {
        out.extend(framing::fragment(m, mtu, (counter & 0x0f) as u8).context("fragmenting a seed")?);
    }
    Ok(out)
}

fn write_seeds(dir: &Path) -> anyhow::Result<()> {
    let full = vector("unlock_full.json")?;
    let resume = vector("unlock_resume.json")?;
    let framing_v = vector("framing.json")?;
    let credential = vector("credential.json")?;
    let sync = vector("sync.json")?;
    let session = vector("sync_session.json")?;
    let keypad = vector("keypad.json")?;

    let full_request = hex(&full["outputs"]["request"])?;
    let full_hello = hex(&full["outputs"]["hello"])?;
    let full_result = hex(&full["outputs"]["result"])?;
    let resume_request = hex(&resume["outputs"]["request"])?;
    let resume_hello = hex(&resume["outputs"]["hello"])?;
    let resume_result = hex(&resume["outputs"]["result"])?;
    let snapshot = hex(&sync["outputs"]["snapshot"]["encoded"])?;
    let incremental = hex(&sync["outputs"]["incremental"]["encoded"])?;
    let token = hex(&sync["outputs"]["time_token"]["encoded"])?;
    let token_array: [u8; 84] = token.clone().try_into().ok().context("a time token is 84 bytes")?;
    let sealed = hex(&session["outputs"]["sealed"])?;
    let phone_key = latchkey_protocol::crypto::DhSecret::from_bytes(&[0x0e; 32])
        .context("a fixed phone key")?
        .public_key();
    let sync_msgs = sync_messages(&[snapshot.clone(), incremental.clone()], Some(&token_array), &phone_key)
        .context("building sync messages from the vectors")?;

    let mut seeds: Vec<(&str, Vec<u8>)> = Vec::new();
    for (mtu, key) in [(23u16, "packets_mtu_23"), (185, "packets_mtu_185")] {
        let list: Vec<Vec<u8>> = framing_v["outputs"][key]
            .as_array()
            .context("framing packets")?
            .iter()
            .map(hex)
            .collect::<anyhow::Result<_>>()?;
        seeds.push(("framing", with_prefix(&mtu_field(mtu), &join(&list))));
    }
    seeds.push(("unlock_lock", with_prefix(&[0], &join(&[&full_request]))));
    seeds.push(("unlock_lock", with_prefix(&[1], &join(&[&resume_request]))));
    seeds.push(("unlock_lock", with_prefix(&[1], &join(&[&resume_request, &full_request]))));
    seeds.push(("unlock_phone", with_prefix(&[0], &join(&[&full_hello, &full_result]))));
    seeds.push(("unlock_phone", with_prefix(&[1], &join(&[&resume_hello, &resume_result]))));
    seeds.push(("unlock_phone", with_prefix(&[1], &join(&[&resume_hello[..], &[0x7f, 0x03], &full_result]))));
    seeds.push(("credential", hex(&credential["outputs"]["encoded"])?));
    seeds.push(("delta", with_prefix(&[0], &snapshot)));
    seeds.push(("delta", with_prefix(&[1], &incremental)));
    seeds.push(("delta", with_prefix(&[2], &token)));
    let mut with_logs = sync_msgs.clone();
    with_logs.push(log_request(1));
    seeds.push(("sync_lock", join(&with_logs)));
    let report = SyncReport {
        last_applied_seq: 2,
        lock_time: 1_795_300_000,
        time_status: TimeStatus::Synced,
        battery_percent: 87,
        outcomes: Vec::new(),
        more_logs: true,
        sealed_logs: sealed.clone(),
    };
    seeds.push(("sync_phone", with_prefix(&[0], &report.encode_plaintext())));
    seeds.push((
        "sync_phone",
        with_prefix(&[1], &LogBatch { more_logs: false, sealed_logs: sealed.clone() }.encode_plaintext()),
    ));
    seeds.push(("sync_phone", with_prefix(&[2], &sealed)));
    let chain: Vec<u8> = keypad["log_chain"]["entries"]
        .as_array()
        .context("log chain")?
        .iter()
        .map(|e| hex(&e["encoding"]))
        .collect::<anyhow::Result<Vec<_>>>()?
        .concat();
    seeds.push(("eventlog", chain));
    for rule in keypad["zone_rules"].as_array().context("zone rules")? {
        seeds.push(("keypad", with_prefix(&[0], &hex(&rule["encoding"])?)));
    }
    for code in keypad["permanent_codes"].as_array().context("permanent codes")? {
        seeds.push(("keypad", with_prefix(&[1], &hex(&code["encoding"])?)));
    }
    seeds.push((
        "keypad",
        with_prefix(&[2], &[0, 0, 0, 5, 0x6b, 0x49, 0xd2, 0x00, 1, 0x6b, 0x49, 0xd1, 0xf0]),
    ));
    for entry in keypad["keypad"]["entries"].as_array().context("keypad entries")? {
        let now = u32::try_from(entry["now"].as_u64().context("now")?).context("now fits u32")?;
        let code = entry["code"].as_str().context("code")?;
        seeds.push(("keypad", [&[4][..], &now.to_be_bytes(), code.as_bytes()].concat()));
    }
    let budget = latchkey_protocol::keypad::GuessBudget::full().encode();
    seeds.push(("keypad", [&[3][..], &1_800_000_000u32.to_be_bytes(), &budget].concat()));
    let mtu = 185;
    seeds.push((
        "lock_connection",
        with_prefix(&mtu_field(mtu), &join(&packets(std::slice::from_ref(&full_request), mtu)?)),
    ));
    seeds.push(("lock_connection", with_prefix(&mtu_field(23), &join(&packets(&with_logs, 23)?))));
    for (flags, op, query, segment, body) in http_seeds() {
        let head = [&[flags][..], op.as_bytes()].concat();
        seeds.push(("sim_http", join(&[&head[..], query.as_bytes(), segment.as_bytes(), body.as_bytes()])));
    }

    let _ = std::fs::remove_dir_all(dir);
    for (target, _) in TARGETS {
        std::fs::create_dir_all(dir.join(target))?;
    }
    for (i, (target, bytes)) in seeds.iter().enumerate() {
        std::fs::write(dir.join(target).join(format!("vector-{i:02}")), bytes)?;
    }
    Ok(())
}

/// Valid requests for the `sim_http` target (flags 0: the caller's own token, JSON); `{door}`, `{now}`…
/// are replaced by the fuzz world's ids.
fn http_seeds() -> Vec<(u8, &'static str, &'static str, &'static str, &'static str)> {
    let invite = r#"{"firstName":"Ada","lastName":"Guest","email":"ada@example.com","startTime":"{now}","doorUuids":["{door}"],"passcodeType":"PERMANENT","role":"NON_RESIDENT"}"#;
    let daily = r#"{"firstName":"Dan","lastName":"Day","phone":"+14155550100","startTime":"{now}","doorUuids":["{door}"],"passcodeType":"DAILY","role":"NON_RESIDENT"}"#;
    vec![
        (0, "GET /healthz", "", "", ""),
        (
            0,
            "POST /v1/oauth/token",
            "",
            "",
            r#"{"grant_type":"client_credentials","client_id":"{client_id}","client_secret":"{client_secret}","audience":"https://rest.latchaccess.com/access/sdk"}"#,
        ),
        (
            0,
            "POST /passwordless/start",
            "",
            "",
            r#"{"client_id":"{client_id}","client_secret":"{client_secret}","email":"{email}","connection":"email","send":"code"}"#,
        ),
        (0, "POST /access/sdk/v1/users", "", "", invite),
        (0, "POST /access/sdk/v2/users", "", "", daily),
        (0, "GET /access/sdk/v1/users", "pageSize=2&pageToken=1", "", ""),
        (0, "GET /access/sdk/v1/users/{user}", "", "", ""),
        (0, "PATCH /access/sdk/v1/users/{user}/doors/{door}", "", "", r#"{"shareable":true,"endTime":null}"#),
        (0, "GET /access/sdk/v1/doors", "pageSize=1&buildingUuid=x", "", ""),
        (0, "GET /access/sdk/v1/buildings/{building}/residents", "", "", ""),
        (
            0,
            "POST /manager/v1/buildings",
            "",
            "",
            r#"{"name":"B","timezone":"Asia/Tokyo","commonDoorcodes":true}"#,
        ),
        (
            0,
            "POST /manager/v1/doors",
            "",
            "",
            r#"{"buildingUuid":"{building}","name":"D","type":"ELEVATOR","accessibilityType":"PRIVATE","isConnected":true}"#,
        ),
        (0, "PUT /manager/v1/keys/{key}/doors", "", "", r#"{"doorUuids":["{door}"]}"#),
        (
            0,
            "POST /manager/v1/users",
            "",
            "",
            r#"{"firstName":"Rosa","lastName":"R","email":"rosa@example.com","keyUuid":"{key}","startTime":"{now}","role":"RESIDENT"}"#,
        ),
        (
            0,
            "POST /access/sdk/v1/me/devices",
            "",
            "",
            r#"{"publicKey":"036b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296","name":"phone"}"#,
        ),
        (0, "GET /access/sdk/v1/me/locks", "deviceUuid=x", "", ""),
        (0, "GET /access/sdk/v1/me/locks/{door}/sync", "afterSeq=0", "", ""),
        (
            0,
            "POST /access/sdk/v1/me/locks/{door}/logs",
            "",
            "",
            r#"{"hello":"01","batches":[{"index":0,"sealed":"00"}],"lastAppliedSeq":1,"batteryPercent":50}"#,
        ),
        (
            0,
            "POST /access/sdk/v1/me/guests",
            "",
            "",
            r#"{"firstName":"Gus","lastName":"G","email":"gus@example.com","startTime":"{now}","doorUuids":["{door}"],"passcodeType":"PERMANENT"}"#,
        ),
        (1, "DELETE /access/sdk/v1/me/guests/{user}/doors/{door}", "", "nobody", ""),
        (8, "POST /manager/sign-in", "", "", "token=fuzz-manager-token"),
        (8, "POST /account/sign-in", "", "", "email={email}&password=x"),
    ]
}
