//! The backend-signed, time-bounded credential an offline lock verifies.
//!
//! This module owns the credential's fixed binary layout (big-endian, 156 bytes), its signing by the backend
//! and its verification by a lock: signature, door, time window with [`SKEW_SECS`] of allowed clock skew. It
//! does not decide revocation (the lock's state does) nor command permissions (the unlock machine does, from
//! [`Flags::privileged`]).
//!
//! ```text
//! off len field
//!   0   1 version          = 1
//!   1  16 credential_id
//!  17  16 lock_id          (the door's UUID bytes)
//!  33  16 user_id
//!  49   4 not_before       u32 unix seconds
//!  53   4 not_after        u32 unix seconds (inclusive)
//!  57   1 role             1 RESIDENT, 2 NON_RESIDENT
//!  58   1 flags            bit0 shareable, bit1 privileged, other bits 0
//!  59  33 device_pub       compressed SEC1 P-256
//!  92  64 signature        ECDSA-P256-SHA256(backend key, "latchkey/credential/v1" || bytes 0..92), r || s, low-S
//! ```

use crate::ProtocolError;
use crate::crypto::{self, PUBLIC_KEY_LEN, PublicKey, SIGNATURE_LEN, SigningKey};

/// The credential format version this implementation speaks.
pub const VERSION: u8 = 1;
/// Length of the signed part of an encoded credential.
pub const BODY_LEN: usize = 92;
/// Length of an encoded credential.
pub const CREDENTIAL_LEN: usize = BODY_LEN + SIGNATURE_LEN;
/// Clock skew a lock allows on both ends of a credential's window, in seconds.
pub const SKEW_SECS: u32 = 120;
/// Domain string prefixed to the signed bytes.
pub const DOMAIN: &[u8] = b"latchkey/credential/v1";

/// The holder's role at the door.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// A resident (`1`).
    Resident,
    /// A non-resident: guest, service provider (`2`).
    NonResident,
}

impl Role {
    /// The wire byte.
    pub fn byte(self) -> u8 {
        match self {
            Role::Resident => 1,
            Role::NonResident => 2,
        }
    }

    fn from_byte(b: u8) -> Result<Role, ProtocolError> {
        match b {
            1 => Ok(Role::Resident),
            2 => Ok(Role::NonResident),
            _ => Err(ProtocolError::Malformed { what: "credential role" }),
        }
    }
}

/// Credential flags: what the holder may do beyond unlocking.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Flags {
    /// The holder may share access (bit 0).
    pub shareable: bool,
    /// The holder may send privileged commands such as `SetConfig` (bit 1).
    pub privileged: bool,
}

impl Flags {
    /// The wire byte.
    pub fn byte(self) -> u8 {
        u8::from(self.shareable) | (u8::from(self.privileged) << 1)
    }

    fn from_byte(b: u8) -> Result<Flags, ProtocolError> {
        if b & !0b11 != 0 {
            return Err(ProtocolError::Malformed { what: "credential flags" });
        }
        Ok(Flags { shareable: b & 1 != 0, privileged: b & 2 != 0 })
    }
}

/// The fields the backend signs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CredentialBody {
    /// Unique id of this credential (revocations name it).
    pub credential_id: [u8; 16],
    /// The door (lock) it opens: the door UUID's 16 bytes.
    pub lock_id: [u8; 16],
    /// The user it belongs to (revocations may name the user).
    pub user_id: [u8; 16],
    /// First valid second (unix time).
    pub not_before: u32,
    /// Last valid second (unix time, inclusive).
    pub not_after: u32,
    /// Resident or not.
    pub role: Role,
    /// Shareable and privileged bits.
    pub flags: Flags,
    /// The phone's device key that must sign each unlock.
    pub device_pub: PublicKey,
}

impl CredentialBody {
    /// The 92 signed bytes (version included).
    pub fn encode(&self) -> [u8; BODY_LEN] {
        let mut out = [0u8; BODY_LEN];
        out[0] = VERSION;
        out[1..17].copy_from_slice(&self.credential_id);
        out[17..33].copy_from_slice(&self.lock_id);
        out[33..49].copy_from_slice(&self.user_id);
        out[49..53].copy_from_slice(&self.not_before.to_be_bytes());
        out[53..57].copy_from_slice(&self.not_after.to_be_bytes());
        out[57] = self.role.byte();
        out[58] = self.flags.byte();
        out[59..92].copy_from_slice(&self.device_pub.to_bytes());
        out
    }

    /// Signs the body with the backend key (RFC 6979, so the same inputs always give the same bytes).
    pub fn sign(self, backend: &SigningKey) -> Credential {
        let signature = backend.sign(&[DOMAIN, &self.encode()]);
        Credential { body: self, signature }
    }
}

/// A signed credential: body plus the backend's signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Credential {
    /// The signed fields.
    pub body: CredentialBody,
    /// ECDSA-P256-SHA256 by the backend over [`DOMAIN`] || body bytes.
    pub signature: [u8; SIGNATURE_LEN],
}

fn array<const N: usize>(bytes: &[u8], at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(&bytes[at..at + N]);
    out
}

impl Credential {
    /// The 156-byte wire form.
    pub fn encode(&self) -> [u8; CREDENTIAL_LEN] {
        let mut out = [0u8; CREDENTIAL_LEN];
        out[..BODY_LEN].copy_from_slice(&self.body.encode());
        out[BODY_LEN..].copy_from_slice(&self.signature);
        out
    }

    /// Parses exactly [`CREDENTIAL_LEN`] bytes. Checks the layout, version, role, flags and that the device key
    /// is a valid point; does *not* check the signature (see [`Credential::verify`]).
    pub fn decode(bytes: &[u8]) -> Result<Credential, ProtocolError> {
        if bytes.len() != CREDENTIAL_LEN {
            return Err(ProtocolError::Malformed { what: "credential length" });
        }
        if bytes[0] != VERSION {
            return Err(ProtocolError::UnsupportedVersion(bytes[0]));
        }
        let device_pub = PublicKey::from_bytes(&bytes[59..59 + PUBLIC_KEY_LEN])?;
        let body = CredentialBody {
            credential_id: array(bytes, 1),
            lock_id: array(bytes, 17),
            user_id: array(bytes, 33),
            not_before: u32::from_be_bytes(array(bytes, 49)),
            not_after: u32::from_be_bytes(array(bytes, 53)),
            role: Role::from_byte(bytes[57])?,
            flags: Flags::from_byte(bytes[58])?,
            device_pub,
        };
        Ok(Credential { body, signature: array(bytes, BODY_LEN) })
    }

    /// Checks the backend signature only.
    pub fn verify_signature(&self, backend: &PublicKey) -> Result<(), ProtocolError> {
        crypto::verify(backend, &[DOMAIN, &self.body.encode()], &self.signature)
    }

    /// What a lock checks, in this order: the backend signature ([`ProtocolError::BadSignature`]), the door
    /// ([`ProtocolError::WrongLock`]), then the window `not_before - skew <= now <= not_after + skew`
    /// ([`ProtocolError::NotYetValid`], [`ProtocolError::Expired`]). Only authentic credentials get the
    /// more specific answers. Revocation is the lock state's business.
    pub fn verify(
        &self,
        backend: &PublicKey,
        lock_id: &[u8; 16],
        now: u32,
        skew: u32,
    ) -> Result<(), ProtocolError> {
        self.verify_signature(backend)?;
        if !crypto::ct_eq(&self.body.lock_id, lock_id) {
            return Err(ProtocolError::WrongLock);
        }
        check_window(self.body.not_before, self.body.not_after, now, skew)
    }
}

/// The time-window rule shared by credentials and resumption tickets.
pub fn check_window(not_before: u32, not_after: u32, now: u32, skew: u32) -> Result<(), ProtocolError> {
    if now.saturating_add(skew) < not_before {
        return Err(ProtocolError::NotYetValid);
    }
    if now > not_after.saturating_add(skew) {
        return Err(ProtocolError::Expired);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::DhSecret;

    fn backend() -> SigningKey {
        SigningKey::from_bytes(&[0x42; 32]).expect("valid")
    }

    fn body() -> CredentialBody {
        CredentialBody {
            credential_id: [1; 16],
            lock_id: [2; 16],
            user_id: [3; 16],
            not_before: 1_000_000,
            not_after: 2_000_000,
            role: Role::NonResident,
            flags: Flags { shareable: true, privileged: false },
            device_pub: DhSecret::from_bytes(&[9; 32]).expect("valid").public_key(),
        }
    }

    #[test]
    fn round_trips_and_verifies() {
        let cred = body().sign(&backend());
        let bytes = cred.encode();
        assert_eq!(bytes.len(), 156);
        let back = Credential::decode(&bytes).expect("decodes");
        assert_eq!(back, cred);
        back.verify(&backend().public_key(), &[2; 16], 1_500_000, SKEW_SECS).expect("valid");
    }

    #[test]
    fn each_rule_has_its_error() {
        let pk = backend().public_key();
        let cred = body().sign(&backend());
        assert_eq!(cred.verify(&pk, &[9; 16], 1_500_000, SKEW_SECS), Err(ProtocolError::WrongLock));
        assert_eq!(cred.verify(&pk, &[2; 16], 1_000_000 - 121, SKEW_SECS), Err(ProtocolError::NotYetValid));
        assert!(cred.verify(&pk, &[2; 16], 1_000_000 - 120, SKEW_SECS).is_ok());
        assert!(cred.verify(&pk, &[2; 16], 2_000_000 + 120, SKEW_SECS).is_ok());
        assert_eq!(cred.verify(&pk, &[2; 16], 2_000_000 + 121, SKEW_SECS), Err(ProtocolError::Expired));
        let other = SigningKey::from_bytes(&[0x43; 32]).expect("valid").public_key();
        assert_eq!(cred.verify(&other, &[2; 16], 1_500_000, SKEW_SECS), Err(ProtocolError::BadSignature));
        let mut tampered = cred;
        tampered.body.flags.privileged = true;
        assert_eq!(tampered.verify(&pk, &[2; 16], 1_500_000, SKEW_SECS), Err(ProtocolError::BadSignature));
        // A forged credential for another door reports the signature, not the door.
        let mut forged = cred;
        forged.body.lock_id = [7; 16];
        assert_eq!(forged.verify(&pk, &[2; 16], 1_500_000, SKEW_SECS), Err(ProtocolError::BadSignature));
    }

    #[test]
    fn malformed_inputs_are_refused() {
        let bytes = body().sign(&backend()).encode();
        assert!(matches!(Credential::decode(&bytes[..155]), Err(ProtocolError::Malformed { .. })));
        let mut b = bytes;
        b[0] = 2;
        assert_eq!(Credential::decode(&b), Err(ProtocolError::UnsupportedVersion(2)));
        let mut b = bytes;
        b[57] = 3;
        assert!(matches!(Credential::decode(&b), Err(ProtocolError::Malformed { what: "credential role" })));
        let mut b = bytes;
        b[58] = 4;
        assert!(matches!(Credential::decode(&b), Err(ProtocolError::Malformed { what: "credential flags" })));
        let mut b = bytes;
        b[59] = 5;
        assert_eq!(Credential::decode(&b), Err(ProtocolError::InvalidPublicKey));
    }

    #[test]
    fn window_edges_saturate() {
        assert!(check_window(0, u32::MAX, u32::MAX, SKEW_SECS).is_ok());
        assert_eq!(check_window(u32::MAX, u32::MAX, 0, SKEW_SECS), Err(ProtocolError::NotYetValid));
    }
}
