//! The harness's settings for the BLE commands (`login`, `scan`, `unlock`, `sync`, `codes`, `logs`):
//! each comes from a flag, else the environment, else the config file, else a default — in that order.
//!
//! | Setting | Flag | Environment | Config file key |
//! |---|---|---|---|
//! | backend URL | `--api` | `LATCHKEY_API` | `api` |
//! | partner app's client id | `--client-id` | `LATCHKEY_CLIENT_ID` | `client_id` |
//! | partner app's client secret (sign-in only) | `--client-secret` | `LATCHKEY_CLIENT_SECRET` | `client_secret` |
//! | profile directory (session, store) | `--profile` | `LATCHKEY_PROFILE` | `profile` |
//! | scan / connect timeout | `--timeout` | `LATCHKEY_TIMEOUT` | `timeout` |
//!
//! The config file is `--config`, else `LATCHKEY_CONFIG`, else `$XDG_CONFIG_HOME/latchkey/config.toml`
//! (`~/.config/latchkey/config.toml`); a missing default file is fine, a missing named one is an error.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use serde::Deserialize;

/// The flags every BLE command takes.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct GlobalArgs {
    /// Print JSON on stdout (for scripts) instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// The config file (TOML).
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// The backend's base URL, such as http://127.0.0.1:8787 for `latchkey sim serve`.
    #[arg(long, global = true)]
    pub api: Option<String>,
    /// The partner application's OAuth client id.
    #[arg(long, global = true)]
    pub client_id: Option<String>,
    /// The directory holding the signed-in session and the phone's store.
    #[arg(long, global = true)]
    pub profile: Option<PathBuf>,
    /// How long to scan for (and connect to) a lock, such as `5s`.
    #[arg(long, global = true, value_parser = parse_duration)]
    pub timeout: Option<Duration>,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    crate::duration::parse(text)
        .ok()
        .and_then(|d| d.to_std().ok())
        .ok_or_else(|| format!("`{text}` is not a duration such as 5s, 2m"))
}

/// The config file's keys (all optional).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    api: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    profile: Option<PathBuf>,
    timeout: Option<String>,
}

/// The resolved settings.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Print JSON.
    pub json: bool,
    /// Backend URL, if configured anywhere.
    pub api: Option<String>,
    /// Client id, if configured anywhere.
    pub client_id: Option<String>,
    /// Client secret (sign-in only), if configured anywhere. Never printed.
    client_secret: Option<String>,
    /// Profile directory.
    pub profile: PathBuf,
    /// Scan and connect timeout, if configured (each command has its default).
    pub timeout: Option<Duration>,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

fn home() -> Option<PathBuf> {
    env("HOME").map(PathBuf::from)
}

fn default_config_path() -> Option<PathBuf> {
    env("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| home().map(|h| h.join(".config")))
        .map(|dir| dir.join("latchkey/config.toml"))
}

fn default_profile() -> PathBuf {
    env("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| home().map(|h| h.join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."))
        .join("latchkey")
}

fn read_file(path: &Path, named: bool) -> anyhow::Result<File> {
    match std::fs::read_to_string(path) {
        Ok(text) => toml::from_str(&text).with_context(|| {
            format!(
                "the config file {} is not valid (keys: api, client_id, client_secret, profile, timeout)",
                path.display()
            )
        }),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound && !named => Ok(File::default()),
        Err(error) => {
            Err(error).with_context(|| format!("could not read the config file {}", path.display()))
        }
    }
}

impl Settings {
    /// Resolves flags, then environment, then the config file.
    pub fn resolve(args: &GlobalArgs) -> anyhow::Result<Settings> {
        let named = args.config.clone().or_else(|| env("LATCHKEY_CONFIG").map(PathBuf::from));
        let file = match (&named, default_config_path()) {
            (Some(path), _) => read_file(path, true)?,
            (None, Some(path)) => read_file(&path, false)?,
            (None, None) => File::default(),
        };
        let timeout = match args.timeout {
            Some(timeout) => Some(timeout),
            None => match env("LATCHKEY_TIMEOUT").or(file.timeout) {
                Some(text) => Some(parse_duration(&text).map_err(anyhow::Error::msg).context("timeout")?),
                None => None,
            },
        };
        if timeout.is_some_and(|t| t.is_zero()) {
            bail!("the timeout must be more than zero");
        }
        Ok(Settings {
            json: args.json,
            api: args.api.clone().or_else(|| env("LATCHKEY_API")).or(file.api),
            client_id: args.client_id.clone().or_else(|| env("LATCHKEY_CLIENT_ID")).or(file.client_id),
            client_secret: env("LATCHKEY_CLIENT_SECRET").or(file.client_secret),
            profile: args
                .profile
                .clone()
                .or_else(|| env("LATCHKEY_PROFILE").map(PathBuf::from))
                .or(file.profile)
                .unwrap_or_else(default_profile),
            timeout,
        })
    }

    /// The client secret: `flag`, else the environment or config file.
    pub fn client_secret(&self, flag: Option<String>) -> Option<String> {
        flag.or_else(|| self.client_secret.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_named_config_file_is_read_and_flags_win_over_it() {
        let dir = std::env::temp_dir().join(format!("latchkey-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("config.toml");
        std::fs::write(&path, "api = \"http://file\"\nclient_id = \"from-file\"\ntimeout = \"3s\"\n")
            .expect("write");
        let args = GlobalArgs {
            config: Some(path.clone()),
            client_id: Some("from-flag".into()),
            ..GlobalArgs::default()
        };
        let settings = Settings::resolve(&args).expect("settings");
        assert_eq!(settings.client_id.as_deref(), Some("from-flag"));
        if std::env::var_os("LATCHKEY_API").is_none() {
            assert_eq!(settings.api.as_deref(), Some("http://file"));
        }
        if std::env::var_os("LATCHKEY_TIMEOUT").is_none() {
            assert_eq!(settings.timeout, Some(Duration::from_secs(3)));
        }
        std::fs::write(&path, "apii = \"typo\"\n").expect("write");
        let error = Settings::resolve(&args).expect_err("an unknown key is refused").to_string();
        assert!(error.contains("not valid"), "{error}");
        let missing = GlobalArgs { config: Some(dir.join("nope.toml")), ..GlobalArgs::default() };
        assert!(Settings::resolve(&missing).is_err(), "a named file must exist");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
