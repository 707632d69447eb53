//! `sim_v2_users_rps`: the simulator on loopback with a SQLite file database, partner A's
//! `POST /access/sdk/v2/users` (PERMANENT, three doors, notified: every validation rule, doorcodes, the
//! outbox and lock deltas run), driven by 32 keep-alive HTTP/1.1 connections for a fixed time.
//!
//! Every request is a distinct valid invite (its own email); any failed request fails the run (no errors
//! is part of the figure), and the latency of each answered request gives the p50 and p99 figures.
//!
//! The server and the load generator run on their own threads so their CPU time can be told apart: the
//! simulator on a 2-worker tokio runtime (threads `sim-server`, plus the database's own threads), the load
//! generator on one thread (`load-gen`) with a single-threaded runtime. The load generator is lean on
//! purpose, as wrk or oha would be against a real server ([`raw`]): it writes each request from prebuilt
//! bytes (only the email changes) on a plain `TcpStream`, and reads the answer's status line, headers and
//! `Content-Length` body, checking that the user it asked for was created. Set
//! `LATCHKEY_BENCH_SIM_CLIENT=reqwest` to drive the same load through reqwest instead (the generator of
//! the first rounds, kept to compare).

mod raw;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use latchkey_sim::backend::ratelimit::RateLimits;

use crate::support::{Options, World, permanent, wire};
use crate::{Effort, Figures};

const CONNECTIONS: usize = 32;
/// The name of the simulator's runtime threads.
const SERVER_THREADS: &str = "sim-server";
/// The name of the load generator's thread.
const LOAD_THREAD: &str = "load-gen";
/// The name of the simulator database's group-commit writer thread (`latchkey_sim::backend::db::group`).
const WRITER_THREAD: &str = "sqlite-writer";

/// Measures `sim_v2_users_rps`: three doors without a lock (the API's rules, doorcodes, outbox, SQLite).
pub fn measure(effort: Effort, figures: &mut Figures) -> Result<(), String> {
    let run = scenario(effort, false)?;
    figures.insert("sim_v2_users_rps".into(), run.rps);
    figures.insert("sim_v2_users_latency_p50_ms".into(), run.latency_p50_ms);
    figures.insert("sim_v2_users_latency_p99_ms".into(), run.latency_p99_ms);
    if let Some(cpu) = run.cpu {
        figures.insert("sim_v2_users_cpu_us_per_request".into(), cpu.total);
        figures.insert("sim_v2_users_server_cpu_us_per_request".into(), cpu.server);
        figures.insert("sim_v2_users_load_cpu_us_per_request".into(), cpu.load);
        figures.insert("sim_v2_users_db_writer_cpu_us_per_request".into(), cpu.writer);
    }
    Ok(())
}

/// Measures `sim_v2_users_rps_with_locks`: three doors, two with an activated, connected lock, so every
/// invite also issues, signs and pushes a delta to each of those locks, which verify, apply and save it.
pub fn measure_with_locks(effort: Effort, figures: &mut Figures) -> Result<(), String> {
    figures.insert("sim_v2_users_rps_with_locks".into(), scenario(effort, true)?.rps);
    Ok(())
}

/// What one load run measured.
struct Run {
    /// Successful requests per second of the window.
    rps: f64,
    /// CPU per request over the window; None where `/proc` is missing.
    cpu: Option<CpuPerRequest>,
    /// Median time from sending a request to its whole answer, over the window, in ms (0.1 ms steps).
    latency_p50_ms: f64,
    /// 99th percentile of the same.
    latency_p99_ms: f64,
}

/// CPU time (user + system) per successful request over the window, in µs.
struct CpuPerRequest {
    /// The whole process: server and load generator.
    total: f64,
    /// Everything but the load generator's thread: the simulator's runtime, its database threads.
    server: f64,
    /// The load generator's thread.
    load: f64,
    /// The database's writer thread alone (`sqlite-writer`): the part of the server's work that runs one
    /// request after the other, so 1 s / this bounds the rate whatever the cores.
    writer: f64,
}

/// CPU time so far of the process, of the calling (load) thread and of the database writer thread.
#[derive(Clone, Copy)]
struct CpuSample {
    total: Duration,
    load: Duration,
    writer: Duration,
}

impl CpuSample {
    /// Reads the sample from `/proc` (Linux); None elsewhere.
    fn now() -> Option<CpuSample> {
        Some(CpuSample {
            total: stat_cpu("/proc/self/stat")?,
            load: stat_cpu("/proc/thread-self/stat")?,
            writer: threads_cpu(WRITER_THREAD),
        })
    }

    /// What was spent from `before` to `self`.
    fn since(self, before: CpuSample) -> CpuSample {
        CpuSample {
            total: self.total.saturating_sub(before.total),
            load: self.load.saturating_sub(before.load),
            writer: self.writer.saturating_sub(before.writer),
        }
    }
}

/// What the load thread saw over the window.
struct Window {
    done: u64,
    elapsed: Duration,
    /// CPU spent over the window.
    cpu: Option<CpuSample>,
    latencies_us: Vec<u64>,
}

/// What every connection sends: where, with which token, which body around the email.
struct Target {
    addr: SocketAddr,
    token: String,
    /// The request body as JSON text, split around the email.
    body: (String, String),
    /// How many doors each invite names (each answer must list as many accesses).
    doors: usize,
}

/// The email placeholder in the prebuilt body.
const EMAIL_MARK: &str = "email-mark@example.com";

fn scenario(effort: Effort, with_locks: bool) -> Result<Run, String> {
    let server = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(SERVER_THREADS)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let dir = std::env::temp_dir().join(format!("latchkey-bench-sim-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let db = dir.join("sim.sqlite").to_string_lossy().into_owned();
    let (world, target) = server.block_on(async {
        // Not throttled: one token sends every request of the load.
        let w = World::start_with(Options { db, rate_limits: RateLimits::off(), ..Options::default() }).await;
        let token = w.token(&w.p.a).await;
        let d = &w.p.doors;
        let doors =
            if with_locks { [&d.lobby, &d.gym, &d.unit_4b] } else { [&d.gym, &d.unit_5c, &d.tokyo_rooftop] };
        let json = wire(&permanent(EMAIL_MARK, &doors, w.now())).to_string();
        let (head, tail) = json.split_once(EMAIL_MARK).expect("the body holds the email");
        let target = Target {
            addr: w.sim.addr(),
            token,
            body: (head.to_owned(), tail.to_owned()),
            doors: doors.len(),
        };
        (w, target)
    });
    let warmup = Duration::from_millis(if effort.quick { 500 } else { 2000 });
    let window = Duration::from_secs(if effort.quick { 3 } else { 15 });
    let reqwest = std::env::var("LATCHKEY_BENCH_SIM_CLIENT").is_ok_and(|client| client == "reqwest");
    let load = std::thread::Builder::new()
        .name(LOAD_THREAD.into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(drive(Arc::new(target), warmup, window, reqwest))
        })
        .map_err(|e| e.to_string())?;
    let measured = load.join().map_err(|_| "the load generator panicked".to_string());
    let stopped = server.block_on(world.sim.stop()).map_err(|e| e.to_string());
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
    let mut window = measured??;
    stopped?;
    window.latencies_us.sort_unstable();
    let done = window.done;
    let per_request = |cpu: Duration| (cpu.as_secs_f64() * 1e6 / done as f64).round();
    let cpu = window.cpu.filter(|_| done > 0).map(|cpu| CpuPerRequest {
        total: per_request(cpu.total),
        server: per_request(cpu.total.saturating_sub(cpu.load)),
        load: per_request(cpu.load),
        writer: per_request(cpu.writer),
    });
    let latencies_us = &window.latencies_us;
    let percentile_ms = |p: f64| {
        let index = ((latencies_us.len() as f64 * p) as usize).min(latencies_us.len().saturating_sub(1));
        latencies_us.get(index).map_or(0.0, |us| (*us as f64 / 100.0).round() / 10.0)
    };
    Ok(Run {
        rps: (done as f64 / window.elapsed.as_secs_f64()).round(),
        cpu,
        latency_p50_ms: percentile_ms(0.50),
        latency_p99_ms: percentile_ms(0.99),
    })
}

/// Flags shared by the connections of one run.
#[derive(Default)]
struct Shared {
    stop: AtomicBool,
    counting: AtomicBool,
    done: AtomicU64,
    failed: AtomicU64,
}

/// Runs the load on this thread: every connection as a task, a warm-up, then the counted window.
async fn drive(
    target: Arc<Target>,
    warmup: Duration,
    window: Duration,
    reqwest: bool,
) -> Result<Window, String> {
    let shared = Arc::new(Shared::default());
    let mut tasks = Vec::new();
    for connection in 0..CONNECTIONS {
        let (target, shared) = (target.clone(), shared.clone());
        tasks.push(tokio::spawn(async move {
            if reqwest {
                through_reqwest(connection, &target, &shared).await
            } else {
                raw::run(connection, &target, &shared).await
            }
        }));
    }
    tokio::time::sleep(warmup).await;
    shared.counting.store(true, Ordering::Relaxed);
    let started = Instant::now();
    let cpu_before = CpuSample::now();
    tokio::time::sleep(window).await;
    shared.counting.store(false, Ordering::Relaxed);
    let elapsed = started.elapsed();
    let cpu = cpu_before.zip(CpuSample::now()).map(|(before, after)| after.since(before));
    shared.stop.store(true, Ordering::Relaxed);
    let mut errors = Vec::new();
    let mut latencies_us = Vec::new();
    for task in tasks {
        let (error, latencies) = task.await.map_err(|e| e.to_string())?;
        errors.extend(error);
        latencies_us.extend(latencies);
    }
    let failed = shared.failed.load(Ordering::Relaxed);
    if failed > 0 || !errors.is_empty() {
        return Err(format!("{failed} requests failed; first: {:?}", errors.first()));
    }
    Ok(Window { done: shared.done.load(Ordering::Relaxed), elapsed, cpu, latencies_us })
}

/// What one connection's task returns: its first error, and the latency of each request in the window.
type Connection = (Option<String>, Vec<u64>);

impl Shared {
    /// Counts one finished request (if the window is open) and returns whether to go on.
    fn record(&self, ok: bool, sent: Instant, latencies_us: &mut Vec<u64>) -> bool {
        if self.counting.load(Ordering::Relaxed) {
            if ok { &self.done } else { &self.failed }.fetch_add(1, Ordering::Relaxed);
            latencies_us.push(u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX));
        }
        !self.stop.load(Ordering::Relaxed)
    }
}

/// One connection through reqwest (`LATCHKEY_BENCH_SIM_CLIENT=reqwest`).
async fn through_reqwest(connection: usize, target: &Target, shared: &Shared) -> Connection {
    let client = match reqwest::Client::builder().pool_max_idle_per_host(1).http1_only().build() {
        Ok(client) => client,
        Err(error) => return (Some(error.to_string()), Vec::new()),
    };
    let url = format!("http://{}/access/sdk/v2/users", target.addr);
    let mut first_error = None;
    let mut latencies_us = Vec::new();
    for i in 0u64.. {
        let body = format!("{}load-{connection}-{i}@example.com{}", target.body.0, target.body.1);
        let sent = Instant::now();
        let response = client
            .post(&url)
            .bearer_auth(&target.token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await;
        let ok = match response {
            Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
            Ok(r) => {
                let status = r.status();
                let text = r.text().await.unwrap_or_default();
                first_error.get_or_insert(format!("{status}: {text}"));
                false
            }
            Err(e) => {
                first_error.get_or_insert(e.to_string());
                false
            }
        };
        if !shared.record(ok, sent, &mut latencies_us) {
            break;
        }
    }
    (first_error, latencies_us)
}

/// CPU time so far of this process's threads named `name`, from `/proc/self/task` (zero if none).
fn threads_cpu(name: &str) -> Duration {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return Duration::ZERO };
    tasks
        .filter_map(|task| {
            let path = task.ok()?.path();
            let comm = std::fs::read_to_string(path.join("comm")).ok()?;
            (comm.trim_end() == name).then(|| stat_cpu(path.join("stat")))?
        })
        .sum()
}

/// utime + stime of a `/proc/…/stat` file.
fn stat_cpu(path: impl AsRef<std::path::Path>) -> Option<Duration> {
    let stat = std::fs::read_to_string(path).ok()?;
    // Fields after the command name (which may hold spaces) start at the state, field 3.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on every Linux target this runs on.
    Some(Duration::from_millis(ticks * 10))
}
