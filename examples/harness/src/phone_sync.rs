//! `latchkey sim phone-sync` (hidden): a phone in its own process, for the kill-during-sync test.
//!
//! It opens its own view of the virtual locks on the simulator's SQLite file (the parent's simulator
//! serves the backend on `--api` from the same file; WAL and a busy timeout make two processes safe),
//! connects to them over the in-memory link, sets up a `DoorClient` on a persistent store and syncs one
//! lock `--rounds` times. The test kills it (SIGKILL) anywhere in that, then starts it again on the same
//! files: nothing may be lost and nothing applied twice.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::sim_phone::PhoneArgs;
use anyhow::Context;
use latchkey::SecretString;
use latchkey::api::{ApiConfig, UserSession};
use latchkey::ble::{SoftwareSigner, Timeouts};
use latchkey::client::{DoorClient, DoorClientConfig};
use latchkey_sim::link::LinkModel;
use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The `--session` file: who the phone is.
#[derive(Debug, Deserialize)]
pub struct SessionFile {
    /// The partner application's OAuth client id.
    pub client_id: String,
    /// The user's access token.
    pub access_token: String,
    /// The user's refresh token.
    pub refresh_token: String,
    /// When the access token expires.
    pub expires_at: chrono::DateTime<chrono::Utc>,
    /// The device key (32 bytes as hex): the same on every run, as a phone's keystore key.
    pub device_key: String,
}

/// What `phone-sync` is told.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The simulator and the phone's store.
    #[command(flatten)]
    pub phone: PhoneArgs,
    /// A JSON file: client_id, access_token, refresh_token, expires_at, device_key (hex).
    #[arg(long)]
    pub session: PathBuf,
    /// The door uuid of the lock to sync.
    #[arg(long)]
    pub lock: String,
    /// How many syncs in a row.
    #[arg(long, default_value_t = 1)]
    pub rounds: u32,
    /// The link's ATT MTU.
    #[arg(long, default_value_t = 185)]
    pub mtu: u16,
    /// Real-time wait for each BLE packet, either way, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub packet_delay_ms: u64,
    /// Real-time wait before each chunk the phone sends to the backend (through a local proxy), in
    /// milliseconds, so the network steps of a sync (fetch, upload) last long enough to be cut too.
    #[arg(long, default_value_t = 0)]
    pub api_delay_ms: u64,
}

/// A local TCP proxy to `upstream` that waits `delay` before forwarding each chunk the phone sends.
/// Returns its base URL.
async fn slow_proxy(upstream: &str, delay: Duration) -> anyhow::Result<String> {
    let url = url::Url::parse(upstream).context("--api must be a URL")?;
    let target = format!(
        "{}:{}",
        url.host_str().context("--api has no host")?,
        url.port_or_known_default().context("--api has no port")?
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((inbound, _)) = listener.accept().await {
            let target = target.clone();
            tokio::spawn(async move {
                let Ok(outbound) = tokio::net::TcpStream::connect(&target).await else {
                    return;
                };
                let (mut from_phone, mut to_phone) = inbound.into_split();
                let (mut from_backend, mut to_backend) = outbound.into_split();
                let up = async {
                    let mut buffer = vec![0u8; 16 * 1024];
                    loop {
                        let n = from_phone.read(&mut buffer).await.unwrap_or(0);
                        if n == 0 {
                            break;
                        }
                        tokio::time::sleep(delay).await;
                        if to_backend.write_all(&buffer[..n]).await.is_err() {
                            break;
                        }
                    }
                    let _ = to_backend.shutdown().await;
                };
                let down = async {
                    let _ = tokio::io::copy(&mut from_backend, &mut to_phone).await;
                    let _ = to_phone.shutdown().await;
                };
                tokio::join!(up, down);
            });
        }
    });
    Ok(format!("http://{addr}"))
}

/// Sets the phone up and syncs `rounds` times, printing one line per sync.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.session)
        .with_context(|| format!("could not read the session file {}", args.session.display()))?;
    let file: SessionFile = serde_json::from_str(&text).context("the session file is not valid")?;
    let key: [u8; 32] = hex::decode(&file.device_key)
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .context("device_key must be 32 bytes of hex")?;

    let transport = args.phone.memory_transport()?;
    transport.set_model(LinkModel { mtu: args.mtu, ..LinkModel::default() });
    transport.set_packet_delay(Duration::from_millis(args.packet_delay_ms));

    let session = UserSession {
        access_token: SecretString::new(file.access_token),
        refresh_token: SecretString::new(file.refresh_token),
        expires_at: file.expires_at,
    };
    let api = if args.api_delay_ms == 0 {
        args.phone.api.clone()
    } else {
        slow_proxy(&args.phone.api, Duration::from_millis(args.api_delay_ms)).await?
    };
    let config = DoorClientConfig {
        api: ApiConfig::parse(&api)?,
        client_id: file.client_id,
        store_path: args.phone.store,
        transport: Arc::new(transport),
        signer: Arc::new(SoftwareSigner::from_secret_bytes(key).context("device key")?),
        timeouts: Timeouts { exchange: Duration::from_secs(60), ..Timeouts::default() },
        device_name: "kill-sync phone".into(),
    };
    let client = DoorClient::setup(config, session).await?;
    if !client.locks()?.iter().any(|lock| lock.id == args.lock) {
        client.fetch_locks().await?;
    }
    for round in 1..=args.rounds {
        let summary = client.sync(&args.lock).await?;
        println!(
            "round {round}: carried {} applied {} already {} refused {} last_applied_seq {} \
             log_batches {} uploads_acked {} uploads_pending {}",
            summary.deltas_carried,
            summary.deltas_applied,
            summary.deltas_already_applied,
            summary.deltas_refused,
            summary.last_applied_seq,
            summary.log_batches_read,
            summary.log_uploads_acknowledged,
            summary.log_uploads_pending,
        );
    }
    Ok(())
}
