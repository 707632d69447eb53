//! Wire types of the unlock exchange: their exact byte layouts, encoders and strict decoders.
//!
//! Every message starts with a type byte. Decoders refuse wrong lengths, unknown codes and trailing bytes.
//! No crypto happens here; see `keys` for the key schedule and `phone` / `lock` for who seals what.

use alloc::vec::Vec;

use crate::ProtocolError;
use crate::credential::{CREDENTIAL_LEN, Credential};
use crate::crypto::{PUBLIC_KEY_LEN, PublicKey, SIGNATURE_LEN, TAG_LEN};

/// Protocol version carried in `Hello`.
pub const VERSION: u8 = 1;

/// Type byte of `Hello` (lock → phone, plaintext).
pub const TYPE_HELLO: u8 = 0x01;
/// Type byte of the full `UnlockRequest` (phone → lock).
pub const TYPE_FULL_REQUEST: u8 = 0x02;
/// Type byte of the resume `UnlockRequest` (phone → lock).
pub const TYPE_RESUME_REQUEST: u8 = 0x03;
/// Type byte of `UnlockResult` (lock → phone, sealed).
pub const TYPE_RESULT: u8 = 0x04;
/// Type byte of `Abort` (lock → phone, plaintext and unauthenticated).
pub const TYPE_ABORT: u8 = 0x7f;

/// Length of an encoded `Hello`.
pub const HELLO_LEN: usize = 39;
/// Length of a resumption MAC on the wire (HMAC-SHA256 truncated).
pub const RESUME_MAC_LEN: usize = 16;
/// Length of a ticket id.
pub const TICKET_ID_LEN: usize = 16;

/// Whether the lock trusts its clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeStatus {
    /// Set from a backend-signed time token and running since (`0`).
    Synced,
    /// The lock lost power (or never synced); its time is a best effort that never runs backwards (`1`).
    Uncertain,
}

impl TimeStatus {
    /// The wire byte.
    pub fn byte(self) -> u8 {
        match self {
            TimeStatus::Synced => 0,
            TimeStatus::Uncertain => 1,
        }
    }

    fn from_byte(b: u8) -> Result<TimeStatus, ProtocolError> {
        match b {
            0 => Ok(TimeStatus::Synced),
            1 => Ok(TimeStatus::Uncertain),
            _ => Err(ProtocolError::Malformed { what: "time status" }),
        }
    }
}

/// The lock's first message on subscribe (39 bytes, plaintext).
///
/// `type 0x01 | version u8 | lock_id [16] | challenge [16] | lock_time u32 | time_status u8`
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hello {
    /// Protocol version ([`VERSION`]).
    pub version: u8,
    /// The lock's door id.
    pub lock_id: [u8; 16],
    /// Fresh random challenge for this connection (the caller's randomness).
    pub challenge: [u8; 16],
    /// The lock's clock, unix seconds.
    pub lock_time: u32,
    /// Whether that clock is trusted.
    pub time_status: TimeStatus,
}

impl Hello {
    /// The 39 wire bytes.
    pub fn encode(&self) -> [u8; HELLO_LEN] {
        let mut out = [0u8; HELLO_LEN];
        out[0] = TYPE_HELLO;
        out[1] = self.version;
        out[2..18].copy_from_slice(&self.lock_id);
        out[18..34].copy_from_slice(&self.challenge);
        out[34..38].copy_from_slice(&self.lock_time.to_be_bytes());
        out[38] = self.time_status.byte();
        out
    }

    /// Parses exactly 39 bytes. Any version byte is accepted here; the phone refuses versions it does not speak.
    pub fn decode(bytes: &[u8]) -> Result<Hello, ProtocolError> {
        if bytes.len() != HELLO_LEN || bytes[0] != TYPE_HELLO {
            return Err(ProtocolError::Malformed { what: "hello" });
        }
        Ok(Hello {
            version: bytes[1],
            lock_id: array(bytes, 2),
            challenge: array(bytes, 18),
            lock_time: u32::from_be_bytes(array(bytes, 34)),
            time_status: TimeStatus::from_byte(bytes[38])?,
        })
    }
}

/// What the phone asks the lock to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    /// Open the door (`0x01`, 1 byte). Any valid credential may.
    Unlock,
    /// Change a lock setting (`0x10 | key u8 | value u32`, 6 bytes). Privileged: needs the credential's
    /// privileged flag.
    SetConfig {
        /// Which setting.
        key: u8,
        /// Its new value.
        value: u32,
    },
}

/// Largest encoded command.
pub const MAX_COMMAND_LEN: usize = 6;

impl Command {
    /// Whether the command needs a privileged credential.
    pub fn is_privileged(self) -> bool {
        matches!(self, Command::SetConfig { .. })
    }

    /// The wire bytes (1 or 6).
    pub fn encode(self) -> Vec<u8> {
        match self {
            Command::Unlock => alloc::vec![0x01],
            Command::SetConfig { key, value } => {
                let mut v = alloc::vec![0x10, key];
                v.extend_from_slice(&value.to_be_bytes());
                v
            }
        }
    }

    /// Parses one command that must fill `bytes` exactly.
    pub fn decode(bytes: &[u8]) -> Result<Command, ProtocolError> {
        match bytes {
            [0x01] => Ok(Command::Unlock),
            [0x10, key, a, b, c, d] => {
                Ok(Command::SetConfig { key: *key, value: u32::from_be_bytes([*a, *b, *c, *d]) })
            }
            _ => Err(ProtocolError::Malformed { what: "command" }),
        }
    }
}

/// The outcome a lock reports in an `UnlockResult`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ResultCode {
    /// The command was carried out (`0x00`).
    Granted,
    /// The credential's window has passed (`0x01`).
    Expired,
    /// The credential's window has not begun (`0x02`).
    NotYetValid,
    /// The credential is for another door (`0x03`).
    WrongLock,
    /// The credential or its user was revoked (`0x04`).
    Revoked,
    /// The backend's signature on the credential does not verify (`0x05`).
    BadCredentialSignature,
    /// The device signature does not verify against the credential's device key (`0x06`).
    BadDeviceSignature,
    /// The credential may not send this command (privileged command, unprivileged credential) (`0x07`).
    NotPermitted,
    /// The lock refuses attempts for now (`0x08`); reserved for the lock's own throttling.
    Throttled,
    /// The decrypted request was malformed (`0x09`).
    Malformed,
    /// The credential's version is not supported (`0x0a`).
    UnsupportedVersion,
}

impl ResultCode {
    /// The wire byte.
    pub fn byte(self) -> u8 {
        match self {
            ResultCode::Granted => 0x00,
            ResultCode::Expired => 0x01,
            ResultCode::NotYetValid => 0x02,
            ResultCode::WrongLock => 0x03,
            ResultCode::Revoked => 0x04,
            ResultCode::BadCredentialSignature => 0x05,
            ResultCode::BadDeviceSignature => 0x06,
            ResultCode::NotPermitted => 0x07,
            ResultCode::Throttled => 0x08,
            ResultCode::Malformed => 0x09,
            ResultCode::UnsupportedVersion => 0x0a,
        }
    }

    /// Parses the wire byte.
    pub fn from_byte(b: u8) -> Result<ResultCode, ProtocolError> {
        Ok(match b {
            0x00 => ResultCode::Granted,
            0x01 => ResultCode::Expired,
            0x02 => ResultCode::NotYetValid,
            0x03 => ResultCode::WrongLock,
            0x04 => ResultCode::Revoked,
            0x05 => ResultCode::BadCredentialSignature,
            0x06 => ResultCode::BadDeviceSignature,
            0x07 => ResultCode::NotPermitted,
            0x08 => ResultCode::Throttled,
            0x09 => ResultCode::Malformed,
            0x0a => ResultCode::UnsupportedVersion,
            _ => return Err(ProtocolError::Malformed { what: "result code" }),
        })
    }

    /// Maps a credential check failure to the code the lock reports.
    pub fn from_credential_error(e: ProtocolError) -> ResultCode {
        match e {
            ProtocolError::Expired => ResultCode::Expired,
            ProtocolError::NotYetValid => ResultCode::NotYetValid,
            ProtocolError::WrongLock => ResultCode::WrongLock,
            ProtocolError::BadSignature => ResultCode::BadCredentialSignature,
            ProtocolError::UnsupportedVersion(_) => ResultCode::UnsupportedVersion,
            _ => ResultCode::Malformed,
        }
    }
}

/// Why a lock aborted without a sealed result (plaintext, so unauthenticated: informational only).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AbortReason {
    /// The message did not parse (`0x01`).
    Malformed,
    /// The full request did not decrypt (`0x02`): tampered, replayed, or sealed for another lock key.
    DecryptFailed,
    /// The resume ticket is unknown or expired (`0x03`); a full request may follow on the same connection.
    UnknownTicket,
    /// The resume MAC did not verify (`0x04`); a full request may follow on the same connection.
    BadTicketMac,
    /// The message is not expected now (`0x05`).
    UnexpectedMessage,
    /// The request came later than [`super::CHALLENGE_VALIDITY_MS`] after the `Hello` (`0x06`): a slow relay,
    /// or a phone that stalled. Connect again for a fresh challenge.
    ChallengeExpired,
}

impl AbortReason {
    /// The wire byte.
    pub fn byte(self) -> u8 {
        match self {
            AbortReason::Malformed => 0x01,
            AbortReason::DecryptFailed => 0x02,
            AbortReason::UnknownTicket => 0x03,
            AbortReason::BadTicketMac => 0x04,
            AbortReason::UnexpectedMessage => 0x05,
            AbortReason::ChallengeExpired => 0x06,
        }
    }

    /// Parses the wire byte.
    pub fn from_byte(b: u8) -> Result<AbortReason, ProtocolError> {
        Ok(match b {
            0x01 => AbortReason::Malformed,
            0x02 => AbortReason::DecryptFailed,
            0x03 => AbortReason::UnknownTicket,
            0x04 => AbortReason::BadTicketMac,
            0x05 => AbortReason::UnexpectedMessage,
            0x06 => AbortReason::ChallengeExpired,
            _ => return Err(ProtocolError::Malformed { what: "abort reason" }),
        })
    }

    /// `type 0x7f | reason u8`.
    pub fn encode(self) -> Vec<u8> {
        alloc::vec![TYPE_ABORT, self.byte()]
    }
}

/// A resumption ticket as the lock announces it inside a sealed result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TicketInfo {
    /// Opaque id the phone presents next time.
    pub ticket_id: [u8; TICKET_ID_LEN],
    /// Last second (lock time) the lock will accept it.
    pub expires_at: u32,
}

/// The plaintext inside `UnlockResult`.
///
/// `result u8 | lock_time u32 | time_status u8 | has_ticket u8 (0|1) | [ticket_id [16] | expires_at u32]`
/// — 7 bytes, or 27 with a ticket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResultBody {
    /// What happened.
    pub result: ResultCode,
    /// The lock's clock.
    pub lock_time: u32,
    /// Whether the lock trusts it.
    pub time_status: TimeStatus,
    /// A resumption ticket for the next visit.
    pub ticket: Option<TicketInfo>,
}

impl ResultBody {
    /// The plaintext bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(27);
        out.push(self.result.byte());
        out.extend_from_slice(&self.lock_time.to_be_bytes());
        out.push(self.time_status.byte());
        match self.ticket {
            None => out.push(0),
            Some(t) => {
                out.push(1);
                out.extend_from_slice(&t.ticket_id);
                out.extend_from_slice(&t.expires_at.to_be_bytes());
            }
        }
        out
    }

    /// Parses the plaintext bytes.
    pub fn decode(bytes: &[u8]) -> Result<ResultBody, ProtocolError> {
        let bad = ProtocolError::Malformed { what: "result" };
        if bytes.len() < 7 {
            return Err(bad);
        }
        let ticket = match (bytes[6], bytes.len()) {
            (0, 7) => None,
            (1, 27) => Some(TicketInfo {
                ticket_id: array(bytes, 7),
                expires_at: u32::from_be_bytes(array(bytes, 23)),
            }),
            _ => return Err(bad),
        };
        Ok(ResultBody {
            result: ResultCode::from_byte(bytes[0])?,
            lock_time: u32::from_be_bytes(array(bytes, 1)),
            time_status: TimeStatus::from_byte(bytes[5])?,
            ticket,
        })
    }
}

/// The plaintext inside a full `UnlockRequest`: `credential [156] | device_signature [64] | command [1..6]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestBody {
    /// The backend-signed credential.
    pub credential: Credential,
    /// ECDSA-P256-SHA256 by the device key over `"latchkey/unlock/v1" || hello || eph_pub || command`.
    pub device_signature: [u8; SIGNATURE_LEN],
    /// What to do.
    pub command: Command,
}

impl RequestBody {
    /// The plaintext bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(CREDENTIAL_LEN + SIGNATURE_LEN + MAX_COMMAND_LEN);
        out.extend_from_slice(&self.credential.encode());
        out.extend_from_slice(&self.device_signature);
        out.extend_from_slice(&self.command.encode());
        out
    }

    /// Parses the plaintext bytes (credential layout checked, signatures not).
    pub fn decode(bytes: &[u8]) -> Result<RequestBody, ProtocolError> {
        if bytes.len() < CREDENTIAL_LEN + SIGNATURE_LEN + 1 {
            return Err(ProtocolError::Malformed { what: "request body" });
        }
        Ok(RequestBody {
            credential: Credential::decode(&bytes[..CREDENTIAL_LEN])?,
            device_signature: array(bytes, CREDENTIAL_LEN),
            command: Command::decode(&bytes[CREDENTIAL_LEN + SIGNATURE_LEN..])?,
        })
    }
}

/// Smallest and largest full request on the wire.
pub const FULL_REQUEST_MIN: usize = 1 + PUBLIC_KEY_LEN + CREDENTIAL_LEN + SIGNATURE_LEN + 1 + TAG_LEN;
/// Largest full request on the wire.
pub const FULL_REQUEST_MAX: usize = FULL_REQUEST_MIN - 1 + MAX_COMMAND_LEN;

/// A full request split into its clear parts: `type 0x02 | eph_pub [33] | ciphertext+tag`.
#[derive(Clone, Copy, Debug)]
pub struct FullRequest<'a> {
    /// The phone's ephemeral public key.
    pub eph_pub: PublicKey,
    /// The sealed [`RequestBody`].
    pub sealed: &'a [u8],
}

impl<'a> FullRequest<'a> {
    /// Splits and checks sizes and the ephemeral point.
    pub fn decode(bytes: &'a [u8]) -> Result<FullRequest<'a>, ProtocolError> {
        if !(FULL_REQUEST_MIN..=FULL_REQUEST_MAX).contains(&bytes.len()) || bytes[0] != TYPE_FULL_REQUEST {
            return Err(ProtocolError::Malformed { what: "full request" });
        }
        let eph_pub = PublicKey::from_bytes(&bytes[1..1 + PUBLIC_KEY_LEN])?;
        Ok(FullRequest { eph_pub, sealed: &bytes[1 + PUBLIC_KEY_LEN..] })
    }
}

/// A resume request: `type 0x03 | ticket_id [16] | command [1..6] | mac [16]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResumeRequest {
    /// The ticket from an earlier result.
    pub ticket_id: [u8; TICKET_ID_LEN],
    /// What to do.
    pub command: Command,
    /// HMAC-SHA256(mac_key, "latchkey/resume/v1" || hello || ticket_id || command), first 16 bytes.
    pub mac: [u8; RESUME_MAC_LEN],
}

impl ResumeRequest {
    /// The wire bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 + TICKET_ID_LEN + MAX_COMMAND_LEN + RESUME_MAC_LEN);
        out.push(TYPE_RESUME_REQUEST);
        out.extend_from_slice(&self.ticket_id);
        out.extend_from_slice(&self.command.encode());
        out.extend_from_slice(&self.mac);
        out
    }

    /// Parses the wire bytes.
    pub fn decode(bytes: &[u8]) -> Result<ResumeRequest, ProtocolError> {
        let min = 1 + TICKET_ID_LEN + 1 + RESUME_MAC_LEN;
        if !(min..=min - 1 + MAX_COMMAND_LEN).contains(&bytes.len()) || bytes[0] != TYPE_RESUME_REQUEST {
            return Err(ProtocolError::Malformed { what: "resume request" });
        }
        let mac_at = bytes.len() - RESUME_MAC_LEN;
        Ok(ResumeRequest {
            ticket_id: array(bytes, 1),
            command: Command::decode(&bytes[1 + TICKET_ID_LEN..mac_at])?,
            mac: array(bytes, mac_at),
        })
    }
}

pub(crate) fn array<const N: usize>(bytes: &[u8], at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(&bytes[at..at + N]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello_round_trips() {
        let h = Hello {
            version: 1,
            lock_id: [1; 16],
            challenge: [2; 16],
            lock_time: 0x0102_0304,
            time_status: TimeStatus::Uncertain,
        };
        let b = h.encode();
        assert_eq!(Hello::decode(&b), Ok(h));
        assert!(Hello::decode(&b[..38]).is_err());
        let mut bad = b;
        bad[38] = 2;
        assert!(Hello::decode(&bad).is_err());
    }

    #[test]
    fn commands_and_results_round_trip() {
        for c in [Command::Unlock, Command::SetConfig { key: 3, value: 77 }] {
            assert_eq!(Command::decode(&c.encode()), Ok(c));
        }
        assert!(Command::decode(&[0x01, 0]).is_err());
        assert!(Command::decode(&[]).is_err());
        for b in 0..=0x0a {
            assert_eq!(ResultCode::from_byte(b).map(ResultCode::byte), Ok(b));
        }
        for b in 1..=5 {
            assert_eq!(AbortReason::from_byte(b).map(AbortReason::byte), Ok(b));
        }
        let r = ResultBody {
            result: ResultCode::Granted,
            lock_time: 5,
            time_status: TimeStatus::Synced,
            ticket: Some(TicketInfo { ticket_id: [9; 16], expires_at: 6 }),
        };
        assert_eq!(ResultBody::decode(&r.encode()), Ok(r));
        let r2 = ResultBody { ticket: None, ..r };
        assert_eq!(r2.encode().len(), 7);
        assert_eq!(ResultBody::decode(&r2.encode()), Ok(r2));
        let rr = ResumeRequest {
            ticket_id: [4; 16],
            command: Command::SetConfig { key: 1, value: 2 },
            mac: [5; 16],
        };
        assert_eq!(ResumeRequest::decode(&rr.encode()), Ok(rr));
    }
}
