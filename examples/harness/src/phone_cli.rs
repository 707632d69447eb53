//! The desktop BLE harness: `latchkey login`, `logout`, `scan`, `unlock`, `sync`, `codes`, `logs`. A QA
//! engineer's desk is the phone: the signed-in user's session and store live in the profile
//! ([`crate::profile`]), Bluetooth is btleplug (a real adapter, or the simulator's fake BlueZ when
//! `DBUS_SYSTEM_BUS_ADDRESS` names its bus).
//!
//! Output: text by default (progress on stderr for the slow steps), one JSON document on stdout with
//! `--json`. Failures exit with the codes of [`crate::exit`]; with `--json` they are also printed as
//! `{"error": {"kind", "message", "exit_code"}}`.

use std::io::Write;
use std::time::{Duration, Instant};

use latchkey::api::{ApiConfig, AuthClient, ManagerClient};
use latchkey::ble::btleplug::BtleplugTransport;
use latchkey::client::{DoorClient, Lock};
use latchkey::model::MessageKind;
use latchkey_protocol::gatt::{FLAG_LOGS_PENDING, FLAG_TIME_UNCERTAIN};
use serde_json::json;

use crate::config::{GlobalArgs, Settings};
use crate::exit::Failure;
use crate::profile::{Profile, SessionFile, required};

/// Default scan length.
const SCAN_DEFAULT: Duration = Duration::from_secs(5);

/// What `latchkey login` is told.
#[derive(Debug, clap::Args)]
pub struct LoginArgs {
    /// The user's email: a one-time code is sent there.
    #[arg(long)]
    pub email: String,
    /// The one-time code, if already received (otherwise it is asked for on the terminal).
    #[arg(long)]
    pub code: Option<String>,
    /// The partner application's client secret (or LATCHKEY_CLIENT_SECRET, or `client_secret` in the
    /// config file).
    #[arg(long)]
    pub client_secret: Option<String>,
    /// Against the simulator: read the one-time code from its outbox with this manager token.
    #[arg(long, env = "LATCHKEY_SIM_MANAGER_TOKEN", hide_env_values = true)]
    pub sim_manager_token: Option<String>,
}

/// The BLE commands.
#[derive(Debug, clap::Subcommand)]
pub enum PhoneCommand {
    /// Sign a user in (passwordless one-time code) and keep the session in the profile.
    Login(LoginArgs),
    /// Forget the session and the phone's store.
    Logout,
    /// List the Latchkey locks in range: door, signal strength, battery.
    Scan,
    /// Unlock a door (its name or uuid) over Bluetooth.
    Unlock {
        /// The door's name or uuid.
        door: String,
    },
    /// Sync a lock: carry the backend's changes down and its log up.
    Sync {
        /// The door's name or uuid.
        door: String,
    },
    /// Today's doorcodes of the signed-in user (all doors, or one).
    Codes {
        /// The door's name or uuid.
        door: Option<String>,
    },
    /// The access log of a door.
    Logs {
        /// The door's name or uuid.
        door: String,
    },
}

/// Text or JSON.
struct Out {
    json: bool,
}

impl Out {
    fn progress(&self, text: &str) {
        if !self.json {
            eprintln!("{text}");
        }
    }

    fn done(&self, text: &str, value: serde_json::Value) {
        let mut stdout = std::io::stdout().lock();
        let _ = if self.json { writeln!(stdout, "{value}") } else { writeln!(stdout, "{text}") };
    }
}

/// Runs a BLE command; returns the process exit code.
pub async fn run(command: PhoneCommand, global: &GlobalArgs) -> u8 {
    let json = global.json;
    let result = match Settings::resolve(global) {
        Ok(settings) => dispatch(command, &settings).await,
        Err(error) => Err(Failure::config(format!("{error:#}"))),
    };
    match result {
        Ok(()) => 0,
        Err(failure) => {
            if json {
                let value = json!({"error": {"kind": failure.kind, "message": failure.message, "exit_code": failure.code}});
                let _ = writeln!(std::io::stdout().lock(), "{value}");
            }
            eprintln!("error: {}", failure.message);
            failure.code
        }
    }
}

async fn dispatch(command: PhoneCommand, settings: &Settings) -> Result<(), Failure> {
    let out = Out { json: settings.json };
    let profile = Profile::new(settings);
    match command {
        PhoneCommand::Login(args) => login(args, settings, &profile, &out).await,
        PhoneCommand::Logout => {
            let removed = profile.remove().map_err(Failure::other)?;
            out.done(
                if removed { "Signed out." } else { "Was not signed in." },
                json!({"signed_out": removed}),
            );
            Ok(())
        }
        PhoneCommand::Scan => scan(settings, &profile, &out).await,
        PhoneCommand::Unlock { door } => {
            let client = profile.door_client(settings).await?;
            let lock = find(&client, &door).await?;
            let wait = settings.timeout.unwrap_or(latchkey::ble::Timeouts::DEFAULT_CONNECT);
            out.progress(&format!(
                "Unlocking {}: looking for the lock (up to {} s)…",
                lock.name,
                wait.as_secs()
            ));
            let started = Instant::now();
            client.unlock(&lock.id).await.map_err(Failure::from_client)?;
            let seconds = started.elapsed().as_secs_f64();
            out.done(
                &format!("Unlocked {} in {seconds:.1} s.", lock.name),
                json!({"door": lock.id, "name": lock.name, "unlocked": true, "seconds": seconds}),
            );
            Ok(())
        }
        PhoneCommand::Sync { door } => {
            let client = profile.door_client(settings).await?;
            let lock = find(&client, &door).await?;
            out.progress(&format!("Syncing {}: fetching changes, then over Bluetooth…", lock.name));
            let s = client.sync(&lock.id).await.map_err(Failure::from_client)?;
            let quarantined = if s.log_uploads_quarantined > 0 {
                format!(
                    "\n{} log upload(s) refused by the backend: kept aside, they hold up nothing.",
                    s.log_uploads_quarantined
                )
            } else {
                String::new()
            };
            out.done(
                &format!(
                    "Synced {}: carried {} change(s) ({} new, {} already there, {} refused); the lock is at \
                     change #{}, battery {}%.\nRead {} log batch(es); {} uploaded, {} waiting for the network.{}",
                    lock.name,
                    s.deltas_carried,
                    s.deltas_applied,
                    s.deltas_already_applied,
                    s.deltas_refused,
                    s.last_applied_seq,
                    s.battery_percent,
                    s.log_batches_read,
                    s.log_uploads_acknowledged,
                    s.log_uploads_pending,
                    quarantined
                ),
                json!({
                    "door": lock.id, "name": lock.name, "fetched": s.fetched,
                    "deltas_carried": s.deltas_carried, "deltas_applied": s.deltas_applied,
                    "deltas_already_applied": s.deltas_already_applied, "deltas_refused": s.deltas_refused,
                    "last_applied_seq": s.last_applied_seq, "battery_percent": s.battery_percent,
                    "log_batches_read": s.log_batches_read, "log_uploads_acknowledged": s.log_uploads_acknowledged,
                    "log_uploads_pending": s.log_uploads_pending, "log_uploads_quarantined": s.log_uploads_quarantined,
                    "more_logs_on_lock": s.more_logs_on_lock,
                }),
            );
            Ok(())
        }
        PhoneCommand::Codes { door } => {
            let client = profile.door_client(settings).await?;
            out.progress("Fetching your locks and codes from the backend…");
            let locks = client.fetch_locks().await.map_err(Failure::from_client)?;
            let locks: Vec<Lock> = match door {
                Some(door) => vec![pick(&locks, &door)?],
                None => locks,
            };
            let mut text = String::new();
            let mut values = Vec::new();
            for lock in &locks {
                let (code, why) = match &lock.doorcode {
                    Some(view) => (view.code.clone(), view.description.to_string()),
                    None => (None, "no doorcode".to_owned()),
                };
                text.push_str(&format!(
                    "{:<20} {:<18} {}\n",
                    lock.name,
                    lock.access.passcode_type.to_string(),
                    code.clone().unwrap_or_else(|| format!("({why})"))
                ));
                values.push(json!({
                    "door": lock.id, "name": lock.name, "passcode_type": lock.access.passcode_type.to_string(),
                    "code": code, "description": why,
                }));
            }
            out.done(text.trim_end(), json!(values));
            Ok(())
        }
        PhoneCommand::Logs { door } => {
            let client = profile.door_client(settings).await?;
            let lock = find(&client, &door).await?;
            let entries = client.access_logs(&lock.id).await.map_err(Failure::from_client)?;
            let mut text =
                format!("Access log of {} ({} entries, newest first):\n", lock.name, entries.len());
            let mut values = Vec::new();
            for entry in &entries {
                text.push_str(&format!(
                    "{}{}  {:<8} {:<8} {}{}\n",
                    entry.time.format("%Y-%m-%d %H:%M:%S UTC"),
                    if entry.time_uncertain { "?" } else { " " },
                    entry.method.to_string(),
                    entry.result.to_string(),
                    entry.user_name.as_deref().unwrap_or("someone"),
                    entry.reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default()
                ));
                values.push(json!({
                    "time": entry.time, "time_uncertain": entry.time_uncertain, "method": entry.method.to_string(),
                    "result": entry.result.to_string(), "reason": entry.reason, "user_uuid": entry.user_uuid,
                    "user_name": entry.user_name, "is_guest": entry.is_guest,
                }));
            }
            out.done(text.trim_end(), json!({"door": lock.id, "name": lock.name, "entries": values}));
            Ok(())
        }
    }
}

async fn login(args: LoginArgs, settings: &Settings, profile: &Profile, out: &Out) -> Result<(), Failure> {
    let api = required(settings.api.clone(), "the backend URL", "--api", "LATCHKEY_API", "api")?;
    let client_id = required(
        settings.client_id.clone(),
        "the client id",
        "--client-id",
        "LATCHKEY_CLIENT_ID",
        "client_id",
    )?;
    let secret = required(
        settings.client_secret(args.client_secret),
        "the client secret",
        "--client-secret",
        "LATCHKEY_CLIENT_SECRET",
        "client_secret",
    )?;
    let config = ApiConfig::parse(&api).map_err(|e| Failure::config(format!("--api: {e}")))?;
    let auth = AuthClient::new(config.clone(), client_id.clone(), secret).map_err(Failure::other)?;
    let network = |e: latchkey::api::ApiError| Failure::from_client(e.into());
    auth.passwordless_start(&args.email).await.map_err(network)?;
    let code = match (args.code, args.sim_manager_token) {
        (Some(code), _) => code,
        (None, Some(token)) => {
            let manager = ManagerClient::new(config, token).map_err(Failure::other)?;
            let outbox = manager.outbox().await.map_err(network)?;
            let mail = outbox
                .messages
                .iter()
                .rev()
                .find(|m| m.kind == MessageKind::Otp && m.recipient == args.email)
                .ok_or_else(|| {
                    Failure::other("the simulator's outbox holds no one-time code for this email")
                })?;
            mail.content.chars().filter(char::is_ascii_digit).take(6).collect()
        }
        (None, None) => {
            eprint!("A one-time code was sent to {}. Code: ", args.email);
            let mut line = String::new();
            std::io::stdin().read_line(&mut line).map_err(Failure::other)?;
            line.trim().to_owned()
        }
    };
    let session = auth.exchange_otp(&args.email, code).await.map_err(network)?;
    let file = SessionFile {
        api,
        client_id,
        email: args.email.clone(),
        access_token: session.access_token.expose().to_owned(),
        refresh_token: session.refresh_token.expose().to_owned(),
        expires_at: session.expires_at,
        device_key: profile.device_key().map_err(Failure::other)?,
    };
    profile.save(&file).map_err(Failure::other)?;
    let client = profile.door_client(settings).await?;
    out.progress("Signed in; fetching your locks and credentials…");
    let locks = client.fetch_locks().await.map_err(Failure::from_client)?;
    out.done(
        &format!("Signed in as {}: {} lock(s), device {}.", args.email, locks.len(), client.device_uuid()),
        json!({"email": args.email, "locks": locks.len(), "device_uuid": client.device_uuid()}),
    );
    Ok(())
}

async fn scan(settings: &Settings, profile: &Profile, out: &Out) -> Result<(), Failure> {
    let wait = settings.timeout.unwrap_or(SCAN_DEFAULT);
    out.progress(&format!("Scanning for Latchkey locks for {} s…", wait.as_secs()));
    let heard = BtleplugTransport::new().scan_locks(wait).await.map_err(Failure::from_transport)?;
    // Door names from the signed-in user's cache, when there is one (no network needed).
    let known: Vec<Lock> = match profile.load() {
        Ok(Some(_)) => match profile.door_client(settings).await {
            Ok(client) => client.locks().unwrap_or_default(),
            Err(_) => Vec::new(),
        },
        _ => Vec::new(),
    };
    let mut text = format!("{} lock(s) in range:\n", heard.len());
    let mut values = Vec::new();
    for lock in &heard {
        let door = uuid::Uuid::from_bytes(lock.lock_id).to_string();
        let name = known.iter().find(|k| k.id == door).map(|k| k.name.clone());
        let battery = lock.battery_percent.map_or("?".to_owned(), |b| format!("{b}%"));
        let mut notes = Vec::new();
        if lock.flags & FLAG_LOGS_PENDING != 0 {
            notes.push("logs waiting");
        }
        if lock.flags & FLAG_TIME_UNCERTAIN != 0 {
            notes.push("clock unsure");
        }
        text.push_str(&format!(
            "{door}  {:<16} {:>4} dBm  battery {battery:<4} {}\n",
            name.clone().unwrap_or_else(|| "(not yours)".into()),
            lock.rssi,
            notes.join(", ")
        ));
        values.push(json!({
            "door": door, "name": name, "rssi": lock.rssi, "battery_percent": lock.battery_percent,
            "logs_pending": lock.flags & FLAG_LOGS_PENDING != 0,
            "time_uncertain": lock.flags & FLAG_TIME_UNCERTAIN != 0, "address": lock.address,
        }));
    }
    out.done(text.trim_end(), json!(values));
    Ok(())
}

/// The user's lock named by `door` (uuid, advertised id or name), from the cache, else the backend.
async fn find(client: &DoorClient, door: &str) -> Result<Lock, Failure> {
    let cached = client.locks().map_err(Failure::from_client)?;
    if let Ok(lock) = pick(&cached, door) {
        return Ok(lock);
    }
    let fresh = client.fetch_locks().await.map_err(Failure::from_client)?;
    pick(&fresh, door)
}

fn pick(locks: &[Lock], door: &str) -> Result<Lock, Failure> {
    if let Some(lock) =
        locks.iter().find(|l| l.id.eq_ignore_ascii_case(door) || l.lock_id.eq_ignore_ascii_case(door))
    {
        return Ok(lock.clone());
    }
    let named: Vec<&Lock> = locks.iter().filter(|l| l.name.eq_ignore_ascii_case(door)).collect();
    match named.as_slice() {
        [lock] => Ok((*lock).clone()),
        [] => Err(Failure::unknown_door(format!(
            "no door \"{door}\" among your {} lock(s): {}",
            locks.len(),
            locks.iter().map(|l| l.name.as_str()).collect::<Vec<_>>().join(", ")
        ))),
        several => Err(Failure::unknown_door(format!(
            "{} doors are named \"{door}\": use the uuid ({})",
            several.len(),
            several.iter().map(|l| l.id.as_str()).collect::<Vec<_>>().join(", ")
        ))),
    }
}
