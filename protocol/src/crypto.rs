//! Thin typed wrappers over the RustCrypto primitives the protocol uses, and nothing else.
//!
//! - ECDSA P-256 with SHA-256 ([`SigningKey`], [`verify`]): fixed 64-byte `r || s` signatures, always low-S
//!   when we sign, and high-S rejected when we verify (no malleable twins). Signing is RFC 6979 deterministic.
//! - ECDH P-256 ([`DhSecret`]): the shared secret is the 32-byte x-coordinate (SEC1 / NIST SP 800-56A).
//! - HKDF-SHA256 ([`hkdf_sha256`]), HMAC-SHA256 ([`hmac_sha256`]) and domain-separated SHA-256 ([`hash`]).
//! - AES-128-GCM ([`AeadKey`]) with deterministic nonces `direction || 0x000000 || counter_be64`.
//!
//! AES-128 rather than AES-256: the P-256 handshake gives ~128-bit security, so a 256-bit AEAD key buys
//! nothing; AES-128 is what BLE SoCs accelerate in hardware (the link layer itself is AES-128-CCM) and it is
//! faster in software on small lock CPUs. Deterministic nonces are safe because every session key is fresh
//! (derived from a fresh challenge) and each (key, direction, counter) seals at most one message.
//!
//! Public keys travel as 33-byte compressed SEC1 points. This module never reads a clock or draws randomness:
//! secret keys are built from caller-supplied bytes. `Debug` of secret types prints no key material.

use aes_gcm::aead::{Aead, KeyInit as AeadKeyInit, Payload};
use aes_gcm::{Aes128Gcm, Nonce};
use alloc::vec::Vec;
use core::fmt;
use hkdf::Hkdf;
use hmac::{Hmac, KeyInit, Mac};
use p256::ecdsa::signature::hazmat::{PrehashSigner, PrehashVerifier};
use p256::elliptic_curve::scalar::IsHigh;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroize;

use crate::ProtocolError;

/// Length of a compressed SEC1 P-256 public key.
pub const PUBLIC_KEY_LEN: usize = 33;
/// Length of a fixed-size `r || s` ECDSA P-256 signature.
pub const SIGNATURE_LEN: usize = 64;
/// Length of a P-256 secret scalar.
pub const SECRET_KEY_LEN: usize = 32;
/// Length of an AES-128-GCM key.
pub const AEAD_KEY_LEN: usize = 16;
/// Length of an AES-GCM tag (appended to every ciphertext).
pub const TAG_LEN: usize = 16;

/// A P-256 public key, validated on construction; `to_bytes` gives the 33-byte compressed form.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(p256::PublicKey);

impl PublicKey {
    /// Parses a 33-byte compressed SEC1 point (tag `0x02` or `0x03`). Other forms (uncompressed, compact,
    /// identity) are refused: the wire form is fixed.
    pub fn from_bytes(bytes: &[u8]) -> Result<PublicKey, ProtocolError> {
        if bytes.len() != PUBLIC_KEY_LEN || !matches!(bytes[0], 0x02 | 0x03) {
            return Err(ProtocolError::InvalidPublicKey);
        }
        p256::PublicKey::from_sec1_bytes(bytes).map(PublicKey).map_err(|_| ProtocolError::InvalidPublicKey)
    }

    /// The 33-byte compressed SEC1 encoding.
    pub fn to_bytes(&self) -> [u8; PUBLIC_KEY_LEN] {
        let point = p256::CompressedPoint::from(&self.0);
        let mut out = [0u8; PUBLIC_KEY_LEN];
        out.copy_from_slice(point.as_slice());
        out
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PublicKey(")?;
        for b in self.to_bytes() {
            write!(f, "{b:02x}")?;
        }
        f.write_str(")")
    }
}

fn secret_scalar(bytes: &[u8; SECRET_KEY_LEN]) -> Result<p256::SecretKey, ProtocolError> {
    p256::SecretKey::from_slice(bytes).map_err(|_| ProtocolError::InvalidSecretKey)
}

/// An ECDSA P-256 signing key (the backend's key, or a software device key on desktop and in tests).
#[derive(Clone)]
pub struct SigningKey(p256::ecdsa::SigningKey);

impl SigningKey {
    /// Builds the key from a 32-byte big-endian scalar (caller-supplied randomness or stored key).
    pub fn from_bytes(bytes: &[u8; SECRET_KEY_LEN]) -> Result<SigningKey, ProtocolError> {
        Ok(SigningKey(p256::ecdsa::SigningKey::from(secret_scalar(bytes)?)))
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(p256::PublicKey::from(self.0.verifying_key()))
    }

    /// ECDSA-P256-SHA256 over the concatenation of `parts` (RFC 6979 deterministic, low-S, `r || s`).
    pub fn sign(&self, parts: &[&[u8]]) -> [u8; SIGNATURE_LEN] {
        self.sign_prehash(&sha256(parts))
    }

    /// ECDSA-P256 over an already computed SHA-256 digest (RFC 6979 deterministic, low-S, `r || s`).
    pub fn sign_prehash(&self, digest: &[u8; 32]) -> [u8; SIGNATURE_LEN] {
        let sig: p256::ecdsa::Signature = match self.0.sign_prehash(digest) {
            Ok(sig) => sig,
            // RFC 6979 signing of a 32-byte prehash with a valid key cannot fail; keep a total function anyway.
            Err(_) => return [0u8; SIGNATURE_LEN],
        };
        let sig = sig.normalize_s();
        let mut out = [0u8; SIGNATURE_LEN];
        out.copy_from_slice(sig.to_bytes().as_slice());
        out
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SigningKey").field(&self.public_key()).finish()
    }
}

/// Verifies an ECDSA-P256-SHA256 signature (`r || s`, low-S only) over the concatenation of `parts`.
pub fn verify(
    key: &PublicKey,
    parts: &[&[u8]],
    signature: &[u8; SIGNATURE_LEN],
) -> Result<(), ProtocolError> {
    verify_prehash(key, &sha256(parts), signature)
}

/// Verifies an ECDSA-P256 signature (`r || s`, low-S only) over a SHA-256 digest.
pub fn verify_prehash(
    key: &PublicKey,
    digest: &[u8; 32],
    signature: &[u8; SIGNATURE_LEN],
) -> Result<(), ProtocolError> {
    let sig = p256::ecdsa::Signature::from_slice(signature).map_err(|_| ProtocolError::BadSignature)?;
    if bool::from(sig.s().is_high()) {
        return Err(ProtocolError::BadSignature);
    }
    p256::ecdsa::VerifyingKey::from(&key.0)
        .verify_prehash(digest, &sig)
        .map_err(|_| ProtocolError::BadSignature)
}

/// A P-256 key for ECDH: the lock's static key, or the phone's ephemeral key.
///
/// The public key is computed once at construction, so a phone can build its ephemeral key before it
/// connects (precomputation) and spend only the ECDH itself during the unlock.
#[derive(Clone)]
pub struct DhSecret {
    secret: p256::SecretKey,
    public: PublicKey,
}

impl DhSecret {
    /// Builds the key from a 32-byte big-endian scalar (caller-supplied randomness or stored key).
    pub fn from_bytes(bytes: &[u8; SECRET_KEY_LEN]) -> Result<DhSecret, ProtocolError> {
        let secret = secret_scalar(bytes)?;
        let public = PublicKey(secret.public_key());
        Ok(DhSecret { secret, public })
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        self.public
    }

    /// ECDH with a peer's public key: the 32-byte x-coordinate of the shared point.
    pub fn agree(&self, peer: &PublicKey) -> SharedSecret {
        let shared = p256::ecdh::diffie_hellman(self.secret.to_nonzero_scalar(), peer.0.as_affine());
        let mut out = [0u8; 32];
        out.copy_from_slice(shared.raw_secret_bytes().as_slice());
        SharedSecret(out)
    }
}

impl fmt::Debug for DhSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DhSecret").field(&self.public).finish()
    }
}

/// An ECDH shared secret (x-coordinate). Zeroized on drop; `Debug` hides it.
pub struct SharedSecret([u8; 32]);

impl SharedSecret {
    /// The raw 32 bytes, to feed HKDF.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl Drop for SharedSecret {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for SharedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SharedSecret(..)")
    }
}

/// SHA-256 of the concatenation of `parts`.
pub fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// Domain-separated hash: SHA-256(`domain` || parts...). Every domain string is `latchkey/<purpose>/v1`,
/// and no domain is a prefix of another, so hashes for different purposes never collide by construction.
pub fn hash(domain: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(domain);
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// HMAC-SHA256 with `key` over the concatenation of `parts`.
pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC accepts keys of any length, so this never fails; the fallback keeps the function total.
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(key) else {
        return [0u8; 32];
    };
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

/// HKDF-SHA256 (RFC 5869): extract with `salt` and `ikm`, expand with the concatenation of `info` into `out`.
///
/// `out` must be at most 8160 bytes; the protocol asks for at most 96.
pub fn hkdf_sha256(salt: &[u8], ikm: &[u8], info: &[&[u8]], out: &mut [u8]) -> Result<(), ProtocolError> {
    Hkdf::<Sha256>::new(Some(salt), ikm)
        .expand_multi_info(info, out)
        .map_err(|_| ProtocolError::Malformed { what: "HKDF output length" })
}

/// Constant-time equality of two byte strings (length is not secret).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// Which way a sealed message travels; the first byte of its nonce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Phone to lock (`0x01`).
    PhoneToLock,
    /// Lock to phone (`0x02`).
    LockToPhone,
}

impl Direction {
    /// The nonce byte.
    pub fn byte(self) -> u8 {
        match self {
            Direction::PhoneToLock => 0x01,
            Direction::LockToPhone => 0x02,
        }
    }
}

/// The 12-byte AES-GCM nonce: `direction || 00 00 00 || counter (u64 big-endian)`.
pub fn nonce(direction: Direction, counter: u64) -> [u8; 12] {
    let mut n = [0u8; 12];
    n[0] = direction.byte();
    n[4..].copy_from_slice(&counter.to_be_bytes());
    n
}

/// An AES-128-GCM session key. Zeroized on drop; `Debug` hides it.
#[derive(Clone)]
pub struct AeadKey([u8; AEAD_KEY_LEN]);

impl AeadKey {
    /// Wraps 16 key bytes (from the key schedule).
    pub fn from_bytes(bytes: [u8; AEAD_KEY_LEN]) -> AeadKey {
        AeadKey(bytes)
    }

    /// The raw key bytes (for test vectors).
    pub fn as_bytes(&self) -> &[u8; AEAD_KEY_LEN] {
        &self.0
    }

    fn cipher(&self) -> Aes128Gcm {
        Aes128Gcm::new(&self.0.into())
    }

    /// Encrypts `plaintext` with `aad`; returns ciphertext || 16-byte tag.
    pub fn seal(
        &self,
        direction: Direction,
        counter: u64,
        aad: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, ProtocolError> {
        let n = nonce(direction, counter);
        self.cipher()
            .encrypt(&Nonce::from(n), Payload { msg: plaintext, aad })
            .map_err(|_| ProtocolError::Malformed { what: "AEAD plaintext length" })
    }

    /// Decrypts and authenticates ciphertext || tag with `aad`.
    pub fn open(
        &self,
        direction: Direction,
        counter: u64,
        aad: &[u8],
        ciphertext: &[u8],
    ) -> Result<Vec<u8>, ProtocolError> {
        if ciphertext.len() < TAG_LEN {
            return Err(ProtocolError::DecryptFailed);
        }
        let n = nonce(direction, counter);
        self.cipher()
            .decrypt(&Nonce::from(n), Payload { msg: ciphertext, aad })
            .map_err(|_| ProtocolError::DecryptFailed)
    }
}

impl Drop for AeadKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for AeadKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AeadKey(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> [u8; 32] {
        [byte; 32]
    }

    #[test]
    fn signatures_are_low_s_deterministic_and_verify() {
        let sk = SigningKey::from_bytes(&key(7)).expect("valid scalar");
        let pk = sk.public_key();
        let a = sk.sign(&[b"hello ", b"world"]);
        assert_eq!(a, sk.sign(&[b"hello world"]));
        verify(&pk, &[b"hello world"], &a).expect("verifies");
        assert_eq!(verify(&pk, &[b"hello worle"], &a), Err(ProtocolError::BadSignature));
        let other = SigningKey::from_bytes(&key(8)).expect("valid scalar").public_key();
        assert_eq!(verify(&other, &[b"hello world"], &a), Err(ProtocolError::BadSignature));
    }

    #[test]
    fn high_s_twin_is_rejected() {
        let sk = SigningKey::from_bytes(&key(9)).expect("valid scalar");
        let sig = sk.sign(&[b"m"]);
        let parsed = p256::ecdsa::Signature::from_slice(&sig).expect("parses");
        let (r, s) = parsed.split_scalars();
        let twin = p256::ecdsa::Signature::from_scalars(r.to_bytes(), (-*s).to_bytes()).expect("twin");
        let mut twin_bytes = [0u8; 64];
        twin_bytes.copy_from_slice(twin.to_bytes().as_slice());
        assert_ne!(twin_bytes, sig);
        assert_eq!(verify(&sk.public_key(), &[b"m"], &twin_bytes), Err(ProtocolError::BadSignature));
    }

    #[test]
    fn public_keys_round_trip_and_bad_points_are_refused() {
        let pk = DhSecret::from_bytes(&key(3)).expect("valid").public_key();
        let bytes = pk.to_bytes();
        assert!(bytes[0] == 2 || bytes[0] == 3);
        assert_eq!(PublicKey::from_bytes(&bytes), Ok(pk));
        assert_eq!(PublicKey::from_bytes(&bytes[..32]), Err(ProtocolError::InvalidPublicKey));
        let mut bad = bytes;
        bad[0] = 4;
        assert_eq!(PublicKey::from_bytes(&bad), Err(ProtocolError::InvalidPublicKey));
        assert_eq!(SigningKey::from_bytes(&[0u8; 32]).err(), Some(ProtocolError::InvalidSecretKey));
        assert_eq!(DhSecret::from_bytes(&[0xff; 32]).err(), Some(ProtocolError::InvalidSecretKey));
    }

    #[test]
    fn ecdh_agrees() {
        let a = DhSecret::from_bytes(&key(1)).expect("valid");
        let b = DhSecret::from_bytes(&key(2)).expect("valid");
        assert_eq!(a.agree(&b.public_key()).as_bytes(), b.agree(&a.public_key()).as_bytes());
    }

    #[test]
    fn aead_round_trips_and_detects_tampering() {
        let k = AeadKey::from_bytes([5u8; 16]);
        let ct = k.seal(Direction::PhoneToLock, 0, b"aad", b"secret").expect("seals");
        assert_eq!(ct.len(), 6 + TAG_LEN);
        assert_eq!(k.open(Direction::PhoneToLock, 0, b"aad", &ct).expect("opens"), b"secret");
        assert_eq!(k.open(Direction::LockToPhone, 0, b"aad", &ct), Err(ProtocolError::DecryptFailed));
        assert_eq!(k.open(Direction::PhoneToLock, 1, b"aad", &ct), Err(ProtocolError::DecryptFailed));
        assert_eq!(k.open(Direction::PhoneToLock, 0, b"aae", &ct), Err(ProtocolError::DecryptFailed));
        let mut t = ct.clone();
        t[0] ^= 1;
        assert_eq!(k.open(Direction::PhoneToLock, 0, b"aad", &t), Err(ProtocolError::DecryptFailed));
        assert_eq!(k.open(Direction::PhoneToLock, 0, b"aad", &ct[..3]), Err(ProtocolError::DecryptFailed));
        assert_eq!(alloc::format!("{k:?}"), "AeadKey(..)");
    }

    #[test]
    fn hkdf_matches_rfc5869_case_1() {
        let ikm = [0x0bu8; 22];
        let salt: [u8; 13] = core::array::from_fn(|i| i as u8);
        let info: [u8; 10] = core::array::from_fn(|i| 0xf0 + i as u8);
        let mut okm = [0u8; 42];
        hkdf_sha256(&salt, &ikm, &[&info[..4], &info[4..]], &mut okm).expect("length ok");
        let expected = "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865";
        assert_eq!(hex::encode(okm), expected);
    }

    #[test]
    fn domains_separate_hashes_and_ct_eq_works() {
        assert_ne!(hash(b"latchkey/a/v1", &[b"x"]), hash(b"latchkey/b/v1", &[b"x"]));
        assert_eq!(hash(b"d", &[b"x", b"y"]), sha256(&[b"dxy"]));
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
    }
}
