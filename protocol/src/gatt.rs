//! The lock's GATT layout and advertisement (docs/protocol.md §25): the Latchkey service and its two
//! characteristics, and the manufacturer data a lock advertises so a phone can tell which door it is and
//! how its battery is doing without connecting.
//!
//! Constants and a pure codec only: no I/O. Phone-side transports (btleplug, the native Kotlin/Swift
//! ones) and the simulator's fake BlueZ use these, so they can never disagree on a UUID or a byte.

use crate::ProtocolError;

/// The Latchkey GATT service (primary). Also listed in the scan response, so scans can filter on it.
pub const SERVICE_UUID: &str = "4c4b0001-8f2e-4d6a-b1c3-7a5e9d0f2b61";
/// Phone → lock: each write carries one framed packet (§9). Flags `write`, `write-without-response`.
pub const WRITE_CHAR_UUID: &str = "4c4b0002-8f2e-4d6a-b1c3-7a5e9d0f2b61";
/// Lock → phone: each notification carries one framed packet (§9). Flag `notify`; the lock speaks first
/// (its Hello) as soon as the phone enables notifications.
pub const NOTIFY_CHAR_UUID: &str = "4c4b0003-8f2e-4d6a-b1c3-7a5e9d0f2b61";
/// The Client Characteristic Configuration Descriptor of the notify characteristic (Bluetooth SIG 0x2902).
pub const CCCD_UUID: &str = "00002902-0000-1000-8000-00805f9b34fb";

/// The Bluetooth SIG company identifier under which the advertisement's manufacturer data is filed.
/// 0xFFFF is the value the SIG reserves for tests and development; a production lock uses its vendor's
/// assigned identifier, and phones accept both (see [`ACCEPTED_COMPANY_IDS`]).
pub const COMPANY_ID: u16 = 0xFFFF;
/// Company identifiers a phone reads the Latchkey advertisement from.
pub const ACCEPTED_COMPANY_IDS: [u16; 1] = [COMPANY_ID];

/// The advertisement format this code writes.
pub const ADVERTISEMENT_VERSION: u8 = 1;
/// Bytes of the manufacturer data payload (after the 2-byte company id).
pub const ADVERTISEMENT_LEN: usize = 19;
/// Battery byte meaning "unknown".
pub const BATTERY_UNKNOWN: u8 = 0xFF;
/// Flag: the lock holds log entries the backend has not acknowledged (a sync would carry them).
pub const FLAG_LOGS_PENDING: u8 = 0x01;
/// Flag: the lock's clock is uncertain (it lost power or never got a time token).
pub const FLAG_TIME_UNCERTAIN: u8 = 0x02;

/// What a lock's advertisement says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LockAdvertisement {
    /// The lock id: its door uuid's 16 bytes.
    pub lock_id: [u8; 16],
    /// Battery level 0..=100, or `None` when the lock does not know.
    pub battery_percent: Option<u8>,
    /// [`FLAG_LOGS_PENDING`], [`FLAG_TIME_UNCERTAIN`]; unknown bits are kept as they are.
    pub flags: u8,
}

impl LockAdvertisement {
    /// The manufacturer data payload (after the company id):
    /// `version (1) || lock_id (16) || battery (1, 0xFF unknown) || flags (1)`.
    pub fn encode(&self) -> [u8; ADVERTISEMENT_LEN] {
        let mut out = [0u8; ADVERTISEMENT_LEN];
        out[0] = ADVERTISEMENT_VERSION;
        out[1..17].copy_from_slice(&self.lock_id);
        out[17] = self.battery_percent.map_or(BATTERY_UNKNOWN, |percent| percent.min(100));
        out[18] = self.flags;
        out
    }

    /// Parses a manufacturer data payload. Longer payloads of version 1 are accepted (later fields are
    /// ignored), so a lock can add fields without breaking older phones; a battery above 100 other than
    /// 0xFF is refused.
    pub fn decode(bytes: &[u8]) -> Result<LockAdvertisement, ProtocolError> {
        let version = *bytes.first().ok_or(ProtocolError::Malformed { what: "lock advertisement" })?;
        if version != ADVERTISEMENT_VERSION {
            return Err(ProtocolError::UnsupportedVersion(version));
        }
        if bytes.len() < ADVERTISEMENT_LEN {
            return Err(ProtocolError::Malformed { what: "lock advertisement" });
        }
        let mut lock_id = [0u8; 16];
        lock_id.copy_from_slice(&bytes[1..17]);
        let battery_percent = match bytes[17] {
            BATTERY_UNKNOWN => None,
            percent @ 0..=100 => Some(percent),
            _ => return Err(ProtocolError::Malformed { what: "lock advertisement battery" }),
        };
        Ok(LockAdvertisement { lock_id, battery_percent, flags: bytes[18] })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advertisement_round_trips_and_has_the_documented_layout() {
        let advertisement =
            LockAdvertisement { lock_id: [0x11; 16], battery_percent: Some(87), flags: FLAG_LOGS_PENDING };
        let bytes = advertisement.encode();
        assert_eq!(bytes[0], 1);
        assert_eq!(&bytes[1..17], &[0x11; 16]);
        assert_eq!(bytes[17], 87);
        assert_eq!(bytes[18], 1);
        assert_eq!(LockAdvertisement::decode(&bytes), Ok(advertisement));
        let unknown = LockAdvertisement { battery_percent: None, ..advertisement };
        assert_eq!(unknown.encode()[17], 0xFF);
        assert_eq!(LockAdvertisement::decode(&unknown.encode()), Ok(unknown));
    }

    #[test]
    fn bad_advertisements_are_refused() {
        assert!(LockAdvertisement::decode(&[]).is_err());
        assert_eq!(LockAdvertisement::decode(&[2; 19]), Err(ProtocolError::UnsupportedVersion(2)));
        assert!(LockAdvertisement::decode(&[1; 18]).is_err());
        let mut battery = [1u8; 19];
        battery[17] = 101;
        assert!(LockAdvertisement::decode(&battery).is_err());
        let mut longer = [0u8; 24];
        longer[..19].copy_from_slice(
            &LockAdvertisement { lock_id: [7; 16], battery_percent: Some(5), flags: 0 }.encode(),
        );
        assert_eq!(LockAdvertisement::decode(&longer).map(|a| a.lock_id), Ok([7; 16]));
    }

    #[test]
    fn uuids_are_lowercase_and_share_the_base() {
        for uuid in [SERVICE_UUID, WRITE_CHAR_UUID, NOTIFY_CHAR_UUID] {
            assert_eq!(uuid.len(), 36);
            assert!(uuid.ends_with("-8f2e-4d6a-b1c3-7a5e9d0f2b61"));
            assert_eq!(uuid, uuid.to_ascii_lowercase());
        }
    }
}
