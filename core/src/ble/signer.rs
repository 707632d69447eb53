//! The device key: the [`Signer`] trait the flows sign with, a [`SoftwareSigner`] for desktop and tests,
//! and the adapter that lets any `&dyn Signer` serve the protocol's [`DeviceSigner`].
//!
//! On phones the key lives in the platform keystore (Android Keystore / StrongBox, iOS Secure Enclave) and
//! never leaves it; the bindings implement [`Signer`] over it. Nothing here prints key material.

use std::fmt;
use std::sync::Mutex;

use latchkey_protocol::ProtocolError;
use latchkey_protocol::crypto::{PUBLIC_KEY_LEN, SECRET_KEY_LEN, SIGNATURE_LEN, SigningKey};
use latchkey_protocol::unlock::DeviceSigner;
use rand::TryRngCore;
use rand::rngs::OsRng;

/// Why the device key could not be used. Never carries key material.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignerError {
    /// There is no device key (never created, or the keystore lost it): register this device again.
    #[error("there is no device key on this phone: register the device again")]
    KeyMissing,
    /// The keystore needs the user (biometrics, passcode) and the user declined.
    #[error("the user did not confirm the use of the device key")]
    UserCanceled,
    /// Secret bytes that are not a valid P-256 key.
    #[error("the device key bytes are not a valid P-256 key")]
    InvalidKey,
    /// No randomness was available to create a key.
    #[error("the system random generator failed: {0}")]
    Randomness(String),
    /// Anything else the keystore reported.
    #[error("the device keystore failed: {0}")]
    Keystore(String),
}

/// The phone's device key.
///
/// Contract for implementations (platform keystores included):
/// - the key is P-256; [`Signer::public_key`] returns it as a 33-byte compressed SEC1 point;
/// - [`Signer::sign`] is ECDSA over SHA-256 of `message` (the signer hashes, the caller passes the whole
///   message), returned as 64 bytes `r || s`, big-endian, **low-S** (`s <= n/2`). Keystores return DER and
///   may return high-S: implementations convert to `r || s` and replace `s` by `n - s` when it is high, or
///   the lock refuses the signature.
pub trait Signer: Send + Sync {
    /// The public half, 33-byte compressed SEC1.
    fn public_key(&self) -> Result<[u8; PUBLIC_KEY_LEN], SignerError>;

    /// ECDSA-P256 over SHA-256(`message`), `r || s`, low-S.
    fn sign(&self, message: &[u8]) -> Result<[u8; SIGNATURE_LEN], SignerError>;
}

/// A device key held in process memory: for the desktop harness and tests. Phones use a keystore.
#[derive(Clone)]
pub struct SoftwareSigner {
    key: SigningKey,
}

impl SoftwareSigner {
    /// A fresh key from the operating system's random generator.
    pub fn generate() -> Result<SoftwareSigner, SignerError> {
        loop {
            let mut bytes = [0u8; SECRET_KEY_LEN];
            OsRng.try_fill_bytes(&mut bytes).map_err(|e| SignerError::Randomness(e.to_string()))?;
            // A random 32-byte string is a valid scalar except with probability ~2^-32; draw again then.
            if let Ok(signer) = SoftwareSigner::from_secret_bytes(bytes) {
                return Ok(signer);
            }
        }
    }

    /// A key from stored secret bytes (a 32-byte big-endian scalar).
    pub fn from_secret_bytes(bytes: [u8; SECRET_KEY_LEN]) -> Result<SoftwareSigner, SignerError> {
        SigningKey::from_bytes(&bytes).map(|key| SoftwareSigner { key }).map_err(|_| SignerError::InvalidKey)
    }
}

impl fmt::Debug for SoftwareSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SoftwareSigner").field("public_key", &self.key.public_key()).finish_non_exhaustive()
    }
}

impl Signer for SoftwareSigner {
    fn public_key(&self) -> Result<[u8; PUBLIC_KEY_LEN], SignerError> {
        Ok(self.key.public_key().to_bytes())
    }

    fn sign(&self, message: &[u8]) -> Result<[u8; SIGNATURE_LEN], SignerError> {
        Ok(self.key.sign(&[message]))
    }
}

/// Lets a `&dyn Signer` serve as the protocol's [`DeviceSigner`], keeping the typed [`SignerError`] that
/// the protocol's error type cannot carry (read it back with [`SignerAdapter::take_error`]).
pub struct SignerAdapter<'a> {
    signer: &'a dyn Signer,
    error: Mutex<Option<SignerError>>,
}

impl<'a> SignerAdapter<'a> {
    /// Wraps `signer`.
    pub fn new(signer: &'a dyn Signer) -> SignerAdapter<'a> {
        SignerAdapter { signer, error: Mutex::new(None) }
    }

    /// The error of the last failed signature, if any.
    pub fn take_error(&self) -> Option<SignerError> {
        self.error.lock().ok().and_then(|mut e| e.take())
    }
}

impl fmt::Debug for SignerAdapter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignerAdapter").finish_non_exhaustive()
    }
}

impl DeviceSigner for SignerAdapter<'_> {
    fn sign_unlock(&self, message: &[u8]) -> Result<[u8; SIGNATURE_LEN], ProtocolError> {
        self.signer.sign(message).map_err(|e| {
            if let Ok(mut slot) = self.error.lock() {
                *slot = Some(e);
            }
            ProtocolError::SignerFailed
        })
    }
}

#[cfg(test)]
mod tests {
    use latchkey_protocol::crypto::{PublicKey, verify};

    use super::*;

    #[test]
    fn software_signatures_verify_and_are_low_s() {
        let signer = SoftwareSigner::generate().expect("os randomness");
        let public = PublicKey::from_bytes(&signer.public_key().expect("key")).expect("valid point");
        for message in [&b""[..], b"hello", &[7u8; 300]] {
            let sig = signer.sign(message).expect("signs");
            // `verify` refuses high-S, so this also checks low-S.
            verify(&public, &[message], &sig).expect("verifies");
        }
        let other = SoftwareSigner::generate().expect("os randomness");
        assert_ne!(other.public_key(), signer.public_key());
    }

    #[test]
    fn secret_bytes_are_checked_and_never_printed() {
        assert_eq!(SoftwareSigner::from_secret_bytes([0; 32]).err(), Some(SignerError::InvalidKey));
        assert_eq!(SoftwareSigner::from_secret_bytes([0xff; 32]).err(), Some(SignerError::InvalidKey));
        let signer = SoftwareSigner::from_secret_bytes([0x42; 32]).expect("valid");
        let debug = format!("{signer:?}");
        assert!(!debug.contains("4242"), "{debug}");
        assert!(!debug.contains("66, 66"), "{debug}");
        assert!(debug.contains("public_key"));
    }

    struct Broken;
    impl Signer for Broken {
        fn public_key(&self) -> Result<[u8; 33], SignerError> {
            Err(SignerError::KeyMissing)
        }
        fn sign(&self, _: &[u8]) -> Result<[u8; 64], SignerError> {
            Err(SignerError::UserCanceled)
        }
    }

    #[test]
    fn the_adapter_keeps_the_typed_error() {
        let broken = Broken;
        let adapter = SignerAdapter::new(&broken);
        assert_eq!(adapter.sign_unlock(b"x"), Err(ProtocolError::SignerFailed));
        assert_eq!(adapter.take_error(), Some(SignerError::UserCanceled));
        assert_eq!(adapter.take_error(), None);
        let good = SoftwareSigner::from_secret_bytes([0x42; 32]).expect("valid");
        let adapter = SignerAdapter::new(&good);
        assert_eq!(adapter.sign_unlock(b"x").ok(), good.sign(b"x").ok());
    }
}
