//! The device key apps supply ([`Signer`]: Android Keystore / StrongBox, the iOS Secure Enclave), a
//! software signer for desktop and tests ([`software_signer`]), and the adapter to the core's
//! `latchkey::ble::Signer`.

use std::sync::Arc;

use latchkey::ble::{Signer as CoreSigner, SignerError, SoftwareSigner};

use crate::error::LatchkeyError;

/// A compressed SEC1 P-256 point.
const PUBLIC_KEY_LEN: usize = 33;
/// `r || s`, 32 bytes each.
const SIGNATURE_LEN: usize = 64;

/// The phone's device key: P-256, kept in the platform keystore so it never leaves the hardware.
///
/// - `public_key()`: the public key as a 33-byte compressed SEC1 point (`0x02`/`0x03` then x).
/// - `sign(message)`: ECDSA over SHA-256 of `message` (the signer hashes: Android `SHA256withECDSA`,
///   iOS `.ecdsaSignatureMessageX962SHA256`), returned as 64 bytes `r || s`, big-endian, low-S
///   (`s <= n/2`). Keystores return DER and may return high-S: convert, and replace `s` by `n - s` when
///   it is high, or the lock refuses the signature.
///
/// Called from SDK background threads, once per unlock. Throw `LatchkeyError.Signer` with kind
/// `UserCanceled` if the user declined a biometric prompt, `KeyMissing` if the key is gone.
#[uniffi::export(rust, foreign)]
pub trait Signer: Send + Sync {
    /// The public key, 33-byte compressed SEC1.
    fn public_key(&self) -> Result<Vec<u8>, LatchkeyError>;

    /// ECDSA-P256 over SHA-256(`message`), 64 bytes `r || s`, low-S.
    fn sign(&self, message: Vec<u8>) -> Result<Vec<u8>, LatchkeyError>;
}

/// A key held in process memory, for the desktop, tests and the simulator. Phones use a keystore signer.
struct Software(SoftwareSigner);

impl Signer for Software {
    fn public_key(&self) -> Result<Vec<u8>, LatchkeyError> {
        Ok(self.0.public_key()?.to_vec())
    }

    fn sign(&self, message: Vec<u8>) -> Result<Vec<u8>, LatchkeyError> {
        Ok(self.0.sign(&message)?.to_vec())
    }
}

/// A fresh device key held in memory (for desktop apps, tests and the simulator; it is lost when the
/// process ends, so the device registers again next time). Phones use a keystore-backed `Signer`.
#[uniffi::export]
pub fn software_signer() -> Result<Arc<dyn Signer>, LatchkeyError> {
    Ok(Arc::new(Software(SoftwareSigner::generate()?)))
}

/// The 33-byte compressed SEC1 point of a P-256 public key as a keystore exports it: X.509
/// `SubjectPublicKeyInfo` DER (Android `PublicKey.getEncoded()`), a 65-byte uncompressed SEC1 point (Apple
/// `SecKeyCopyExternalRepresentation`), or already compressed. For native `Signer`s' `public_key()`. Throws
/// `Signer(InvalidKey)` saying what is wrong (another curve, a point off the curve, a wrong length).
#[uniffi::export]
pub fn p256_compressed_public_key(encoded: Vec<u8>) -> Result<Vec<u8>, LatchkeyError> {
    latchkey::keystore::compressed_public_key(&encoded).map(|key| key.to_vec()).map_err(invalid_key)
}

/// 64 bytes `r || s` with low S from a DER ECDSA P-256 signature (what Android `SHA256withECDSA` and Apple
/// `.ecdsaSignatureMessageX962SHA256` return). For native `Signer`s' `sign()`. Throws `Signer(InvalidKey)` saying
/// what is wrong with a malformed or out-of-range signature.
#[uniffi::export]
pub fn p256_raw_low_s_signature(der: Vec<u8>) -> Result<Vec<u8>, LatchkeyError> {
    latchkey::keystore::raw_low_s_signature(&der).map(|raw| raw.to_vec()).map_err(invalid_key)
}

fn invalid_key(error: latchkey::keystore::KeyEncodingError) -> LatchkeyError {
    LatchkeyError::Signer { kind: crate::error::SignerErrorKind::InvalidKey, detail: error.to_string() }
}

/// A [`Signer`] serving the core's flows, checking the lengths the contract fixes.
pub(crate) struct ForeignSigner(pub(crate) Arc<dyn Signer>);

impl CoreSigner for ForeignSigner {
    fn public_key(&self) -> Result<[u8; PUBLIC_KEY_LEN], SignerError> {
        let key = self.0.public_key().map_err(LatchkeyError::into_signer)?;
        key.try_into().map_err(|_| SignerError::InvalidKey)
    }

    fn sign(&self, message: &[u8]) -> Result<[u8; SIGNATURE_LEN], SignerError> {
        let signature = self.0.sign(message.to_vec()).map_err(LatchkeyError::into_signer)?;
        signature.try_into().map_err(|_| SignerError::InvalidKey)
    }
}
