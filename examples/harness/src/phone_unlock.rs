//! `latchkey sim phone-unlock` (hidden): the invited user's phone unlocking a door, for the browser test.
//!
//! Like `phone-sync`, it opens its own view of the virtual locks on the simulator's SQLite file (the
//! running simulator serves the backend on `--api` from the same file) and talks to them over the
//! in-memory link. The user signs in without a password (the one-time code is read from the simulator's
//! outbox with the manager token), a `DoorClient` is set up with a fresh software key, fetches the
//! user's locks and unlocks `--door`. It prints `unlocked <door>` on success.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use latchkey::api::{ApiConfig, AuthClient, ManagerClient};
use latchkey::ble::{SoftwareSigner, Timeouts};
use latchkey::client::{DoorClient, DoorClientConfig};
use latchkey::model::MessageKind;

use crate::sim_phone::PhoneArgs;

/// What `phone-unlock` is told.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The simulator and the phone's store.
    #[command(flatten)]
    pub phone: PhoneArgs,
    /// The partner application's OAuth client id.
    #[arg(long)]
    pub client_id: String,
    /// The partner application's OAuth client secret.
    #[arg(long)]
    pub client_secret: String,
    /// The invited user's email.
    #[arg(long)]
    pub email: String,
    /// The simulator's manager token (to read the one-time code from the outbox).
    #[arg(long)]
    pub manager_token: String,
    /// The door uuid to unlock.
    #[arg(long)]
    pub door: String,
}

/// Signs the user in, sets the phone up and unlocks the door.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let api = ApiConfig::parse(&args.phone.api)?;
    let auth = AuthClient::new(api.clone(), args.client_id.clone(), args.client_secret)?;
    let manager = ManagerClient::new(api.clone(), args.manager_token)?;
    auth.passwordless_start(&args.email).await.context("passwordless start")?;
    let outbox = manager.outbox().await.context("reading the outbox")?;
    let otp_mail = outbox
        .messages
        .iter()
        .rev()
        .find(|message| message.kind == MessageKind::Otp && message.recipient == args.email)
        .context("the one-time code email was not sent")?;
    let otp: String = otp_mail.content.chars().filter(char::is_ascii_digit).take(6).collect();
    let session = auth.exchange_otp(&args.email, otp).await.context("exchanging the one-time code")?;

    let transport = args.phone.memory_transport()?;
    let config = DoorClientConfig {
        api,
        client_id: args.client_id,
        store_path: args.phone.store,
        transport: Arc::new(transport),
        signer: Arc::new(SoftwareSigner::generate().context("device key")?),
        timeouts: Timeouts { exchange: Duration::from_secs(60), ..Timeouts::default() },
        device_name: "browser-test phone".into(),
    };
    let client = DoorClient::setup(config, session).await.context("setting the phone up")?;
    let locks = client.fetch_locks().await.context("fetching the locks")?;
    anyhow::ensure!(
        locks.iter().any(|lock| lock.id == args.door),
        "the door {} is not among the user's {} locks",
        args.door,
        locks.len()
    );
    client.unlock(&args.door).await.with_context(|| format!("unlocking {}", args.door))?;
    println!("unlocked {}", args.door);
    Ok(())
}
