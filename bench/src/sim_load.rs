//! `sim_v2_users_rps`: the simulator on loopback with a SQLite file database, partner A's
//! `POST /access/sdk/v2/users` (PERMANENT, three doors, notified: every validation rule, doorcodes, the
//! outbox and lock deltas run), driven by 32 tasks on 32 keep-alive HTTP/1.1 connections for a fixed time.
//! Every request is a distinct valid invite (its own email); any failed request fails the run (no errors
//! is part of the figure), and the latency of each answered request gives the p50 and p99 figures. Server and load generator share this
//! process's tokio runtime (one worker per core).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use latchkey_sim::backend::ratelimit::RateLimits;

use crate::support::{Options, World, permanent, wire};
use crate::{Effort, Figures};

const CONNECTIONS: usize = 32;

/// Measures `sim_v2_users_rps`: three doors without a lock (the API's rules, doorcodes, outbox, SQLite).
pub fn measure(effort: Effort, figures: &mut Figures) -> Result<(), String> {
    let run = scenario(effort, false)?;
    figures.insert("sim_v2_users_rps".into(), run.rps);
    figures.insert("sim_v2_users_latency_p50_ms".into(), run.latency_p50_ms);
    figures.insert("sim_v2_users_latency_p99_ms".into(), run.latency_p99_ms);
    if let Some(cpu) = run.cpu_us_per_request {
        figures.insert("sim_v2_users_cpu_us_per_request".into(), cpu);
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
    /// CPU time of this whole process (server and load generator, user + system) per request over the
    /// window, in µs: what a request costs whatever else the machine runs. None where `/proc` is missing.
    cpu_us_per_request: Option<f64>,
    /// Median time from sending a request to its whole answer, over the window, in ms (0.1 ms steps).
    latency_p50_ms: f64,
    /// 99th percentile of the same.
    latency_p99_ms: f64,
}

/// This process's CPU time so far (user + system), from `/proc/self/stat` (Linux).
fn process_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces) start at the state, field 3.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on every Linux target this runs on.
    Some(Duration::from_millis(ticks * 10))
}

fn scenario(effort: Effort, with_locks: bool) -> Result<Run, String> {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    let dir = std::env::temp_dir().join(format!("latchkey-bench-sim-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let db = dir.join("sim.sqlite").to_string_lossy().into_owned();
    let result = runtime.block_on(async {
        // Not throttled: one token sends every request of the load.
        let w = World::start_with(Options { db, rate_limits: RateLimits::off(), ..Options::default() }).await;
        let token = w.token(&w.p.a).await;
        let d = &w.p.doors;
        let doors =
            if with_locks { [&d.lobby, &d.gym, &d.unit_4b] } else { [&d.gym, &d.unit_5c, &d.tokyo_rooftop] };
        let now = w.now();
        let url = format!("{}/access/sdk/v2/users", w.base_url());
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(CONNECTIONS)
            .http1_only()
            .build()
            .map_err(|e| e.to_string())?;
        let warmup = Duration::from_millis(if effort.quick { 500 } else { 2000 });
        let window = Duration::from_secs(if effort.quick { 3 } else { 15 });
        let stop = Arc::new(AtomicBool::new(false));
        let counting = Arc::new(AtomicBool::new(false));
        let done = Arc::new(AtomicU64::new(0));
        let failed = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        for task in 0..CONNECTIONS {
            let (client, url, token) = (client.clone(), url.clone(), token.clone());
            let (stop, counting, done, failed) =
                (stop.clone(), counting.clone(), done.clone(), failed.clone());
            let mut body = wire(&permanent("x@example.com", &doors, now));
            tasks.push(tokio::spawn(async move {
                let mut i = 0u64;
                let mut first_error = None;
                let mut latencies_us = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    i += 1;
                    body["email"] = serde_json::Value::String(format!("load-{task}-{i}@example.com"));
                    let sent = Instant::now();
                    let response = client.post(&url).bearer_auth(&token).json(&body).send().await;
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
                    if counting.load(Ordering::Relaxed) {
                        if ok { &done } else { &failed }.fetch_add(1, Ordering::Relaxed);
                        latencies_us.push(u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX));
                    }
                }
                (first_error, latencies_us)
            }));
        }
        tokio::time::sleep(warmup).await;
        counting.store(true, Ordering::Relaxed);
        let started = Instant::now();
        let cpu_before = process_cpu();
        tokio::time::sleep(window).await;
        counting.store(false, Ordering::Relaxed);
        let elapsed = started.elapsed();
        let cpu = cpu_before.zip(process_cpu()).map(|(before, after)| after.saturating_sub(before));
        stop.store(true, Ordering::Relaxed);
        let mut errors = Vec::new();
        let mut latencies_us = Vec::new();
        for task in tasks {
            let (error, latencies) = task.await.map_err(|e| e.to_string())?;
            errors.extend(error);
            latencies_us.extend(latencies);
        }
        latencies_us.sort_unstable();
        let (done, failed) = (done.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
        w.sim.stop().await.map_err(|e| e.to_string())?;
        if failed > 0 || !errors.is_empty() {
            return Err(format!("{failed} requests failed; first: {:?}", errors.first()));
        }
        let cpu_us_per_request =
            cpu.filter(|_| done > 0).map(|cpu| (cpu.as_secs_f64() * 1e6 / done as f64).round());
        let percentile_ms = |p: f64| {
            let index = ((latencies_us.len() as f64 * p) as usize).min(latencies_us.len().saturating_sub(1));
            latencies_us.get(index).map_or(0.0, |us| (*us as f64 / 100.0).round() / 10.0)
        };
        Ok(Run {
            rps: (done as f64 / elapsed.as_secs_f64()).round(),
            cpu_us_per_request,
            latency_p50_ms: percentile_ms(0.50),
            latency_p99_ms: percentile_ms(0.99),
        })
    });
    let _ = std::fs::remove_dir_all(&dir);
    result
}
