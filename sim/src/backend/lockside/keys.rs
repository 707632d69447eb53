//! The backend's P-256 signing key for the lock protocol: created once, kept in `meta` (like the JWT key),
//! so a restart keeps every provisioned lock's trust anchor. Its public half is what locks verify against.

use latchkey_protocol::crypto::{PublicKey, SECRET_KEY_LEN, SigningKey};
use rusqlite::{Connection, OptionalExtension};

use crate::backend::state::random_bytes;

const META_KEY: &str = "lock_backend_signing_key";

/// The backend's signing key. Debug never shows the secret.
#[derive(Clone)]
pub struct BackendKeys {
    signing: SigningKey,
}

impl std::fmt::Debug for BackendKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackendKeys").field("public", &hex::encode(self.public_key().to_bytes())).finish()
    }
}

impl BackendKeys {
    /// Loads the key from `meta`, creating and storing it the first time.
    pub fn load_or_create(conn: &Connection) -> rusqlite::Result<BackendKeys> {
        let stored: Option<Vec<u8>> = conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [META_KEY], |row| row.get(0))
            .optional()?;
        if let Some(signing) = stored
            .and_then(|bytes| <[u8; SECRET_KEY_LEN]>::try_from(bytes).ok())
            .and_then(|bytes| SigningKey::from_bytes(&bytes).ok())
        {
            return Ok(BackendKeys { signing });
        }
        let (bytes, signing) = random_signing_key();
        conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
            rusqlite::params![META_KEY, &bytes[..]],
        )?;
        Ok(BackendKeys { signing })
    }

    /// The key that signs credentials, deltas, time tokens and log acks.
    pub fn signing(&self) -> &SigningKey {
        &self.signing
    }

    /// Its public half, provisioned into every lock.
    pub fn public_key(&self) -> PublicKey {
        self.signing.public_key()
    }
}

/// A fresh P-256 scalar (redrawn in the negligible case that the bytes are not one).
pub fn random_signing_key() -> ([u8; SECRET_KEY_LEN], SigningKey) {
    loop {
        let bytes = random_bytes::<SECRET_KEY_LEN>();
        if let Ok(key) = SigningKey::from_bytes(&bytes) {
            return (bytes, key);
        }
    }
}
