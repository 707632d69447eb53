//! The harness's signed-in phone: a profile directory with `session.json` (backend URL, client id, email,
//! the user's tokens and the device key; mode 0600) and `store.sqlite` (the `DoorClient` store, as on a
//! phone). `latchkey login` writes it, the BLE commands read it, `latchkey logout` removes it.
//!
//! The device key is kept across sign-ins (a phone keeps its keystore key), so the backend sees one
//! device. An access token about to expire is refreshed (refresh-token grant, no client secret) and the
//! file rewritten before a `DoorClient` is set up.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use chrono::{DateTime, Utc};
use latchkey::SecretString;
use latchkey::api::{ApiConfig, AuthClient, REFRESH_MARGIN_SECS, UserSession};
use latchkey::ble::btleplug::BtleplugTransport;
use latchkey::ble::{SoftwareSigner, Timeouts};
use latchkey::client::{DoorClient, DoorClientConfig};
use serde::{Deserialize, Serialize};

use crate::config::Settings;
use crate::exit::Failure;

/// `session.json`. Debug is not derived: it holds tokens and a key.
#[derive(Clone, Serialize, Deserialize)]
pub struct SessionFile {
    /// The backend's base URL.
    pub api: String,
    /// The partner application's client id.
    pub client_id: String,
    /// Who signed in.
    pub email: String,
    /// The user's access token.
    pub access_token: String,
    /// The user's refresh token.
    pub refresh_token: String,
    /// When the access token expires.
    pub expires_at: DateTime<Utc>,
    /// The device key, 32 bytes of hex.
    pub device_key: String,
}

/// The profile's files.
pub struct Profile {
    dir: PathBuf,
}

impl Profile {
    /// The profile of these settings.
    pub fn new(settings: &Settings) -> Profile {
        Profile { dir: settings.profile.clone() }
    }

    fn session_path(&self) -> PathBuf {
        self.dir.join("session.json")
    }

    /// The phone's store.
    pub fn store_path(&self) -> PathBuf {
        self.dir.join("store.sqlite")
    }

    /// The saved session, if signed in.
    pub fn load(&self) -> anyhow::Result<Option<SessionFile>> {
        let path = self.session_path();
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(Some(serde_json::from_str(&text).with_context(|| {
                format!("{} is damaged: run `latchkey logout` and sign in again", path.display())
            })?)),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(error).with_context(|| format!("could not read {}", path.display())),
        }
    }

    /// Writes the session (owner-only permissions).
    pub fn save(&self, session: &SessionFile) -> anyhow::Result<()> {
        std::fs::create_dir_all(&self.dir)
            .with_context(|| format!("could not create {}", self.dir.display()))?;
        let path = self.session_path();
        let temp = self.dir.join("session.json.tmp");
        write_private(&temp, serde_json::to_string_pretty(session)?.as_bytes())?;
        std::fs::rename(&temp, &path).with_context(|| format!("could not write {}", path.display()))?;
        Ok(())
    }

    /// The device key of an earlier sign-in, or a fresh one.
    pub fn device_key(&self) -> anyhow::Result<String> {
        if let Some(session) = self.load().ok().flatten() {
            return Ok(session.device_key);
        }
        let signer_bytes: [u8; 32] = loop {
            let bytes: [u8; 32] = rand_bytes()?;
            if SoftwareSigner::from_secret_bytes(bytes).is_ok() {
                break bytes;
            }
        };
        Ok(hex::encode(signer_bytes))
    }

    /// Removes the session and the store (the device key goes too).
    pub fn remove(&self) -> anyhow::Result<bool> {
        let mut removed = false;
        for path in [self.session_path(), self.store_path()] {
            match std::fs::remove_file(&path) {
                Ok(()) => removed = true,
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                Err(error) => {
                    return Err(error).with_context(|| format!("could not remove {}", path.display()));
                }
            }
        }
        Ok(removed)
    }

    /// The signed-in session, refreshed if it is about to expire.
    pub async fn session(&self) -> Result<SessionFile, Failure> {
        let Some(mut file) = self.load().map_err(Failure::other)? else {
            return Err(Failure::not_signed_in(format!(
                "not signed in (no {}): run `latchkey login --email <you>` first",
                self.session_path().display()
            )));
        };
        if file.expires_at - Utc::now() < chrono::Duration::seconds(REFRESH_MARGIN_SECS) {
            let api = ApiConfig::parse(&file.api).map_err(Failure::other)?;
            // The refresh-token grant needs no client secret.
            let auth = AuthClient::new(api, file.client_id.clone(), "").map_err(Failure::other)?;
            let fresh =
                auth.refresh(&SecretString::new(file.refresh_token.clone())).await.map_err(|error| {
                    Failure::not_signed_in(format!(
                        "the session could not be renewed ({error}): sign in again"
                    ))
                })?;
            file.access_token = fresh.access_token.expose().to_owned();
            file.refresh_token = fresh.refresh_token.expose().to_owned();
            file.expires_at = fresh.expires_at;
            self.save(&file).map_err(Failure::other)?;
        }
        Ok(file)
    }

    /// A `DoorClient` for the signed-in user over btleplug.
    pub async fn door_client(&self, settings: &Settings) -> Result<DoorClient, Failure> {
        let file = self.session().await?;
        let key: [u8; 32] =
            hex::decode(&file.device_key).ok().and_then(|bytes| bytes.try_into().ok()).ok_or_else(|| {
                Failure::other(anyhow::anyhow!(
                    "the device key in the session file is damaged: sign in again"
                ))
            })?;
        let config = DoorClientConfig {
            api: ApiConfig::parse(&file.api).map_err(Failure::other)?,
            client_id: file.client_id.clone(),
            store_path: self.store_path(),
            transport: Arc::new(BtleplugTransport::new()),
            signer: Arc::new(SoftwareSigner::from_secret_bytes(key).map_err(Failure::other)?),
            timeouts: Timeouts {
                connect: settings.timeout.unwrap_or(Timeouts::DEFAULT_CONNECT),
                ..Timeouts::default()
            },
            device_name: format!("latchkey harness ({})", file.email),
        };
        let session = UserSession {
            access_token: SecretString::new(file.access_token),
            refresh_token: SecretString::new(file.refresh_token),
            expires_at: file.expires_at,
        };
        DoorClient::setup(config, session).await.map_err(Failure::from_client)
    }
}

fn rand_bytes() -> anyhow::Result<[u8; 32]> {
    use rand::TryRngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.try_fill_bytes(&mut bytes).context("the system random generator failed")?;
    Ok(bytes)
}

fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).with_context(|| format!("could not write {}", path.display()))?;
    file.write_all(bytes).with_context(|| format!("could not write {}", path.display()))?;
    Ok(())
}

/// Fails unless `value` is set, naming where to set it.
pub fn required(
    value: Option<String>,
    what: &str,
    flag: &str,
    env: &str,
    key: &str,
) -> Result<String, Failure> {
    value.ok_or_else(|| {
        Failure::config(format!(
            "{what} is not configured: pass {flag}, set {env}, or put `{key} = \"…\"` in the config file"
        ))
    })
}
