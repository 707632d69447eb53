// The lock's GATT layout and advertisement as iOS sees them. The one normative source is
// `protocol/src/gatt.rs` (docs/protocol.md §25); these constants mirror it. The UUIDs as Core Bluetooth
// values are in `LatchkeyGATT+CoreBluetooth.swift` (Apple-only); everything here also compiles and is tested
// on Linux.

import Foundation
import Latchkey

/// The Latchkey GATT service, its characteristics and the advertisement a lock sends.
public enum LatchkeyGATT {
    /// Company identifiers under which a lock files its manufacturer data (0xFFFF: tests and development).
    public static let acceptedCompanyIDs: Set<UInt16> = [0xFFFF]
    /// The advertisement format this code reads.
    public static let advertisementVersion: UInt8 = 1
    /// Bytes of the manufacturer data payload after the company id:
    /// `version (1) || lock id (16) || battery (1) || flags (1)`.
    public static let advertisementLength = 19

    /// The smallest and largest ATT MTU the protocol's framing accepts.
    public static let mtuRange: ClosedRange<UInt16> = 23...517

    /// The ATT MTU of a connection from the longest values its peripheral writes without and with response
    /// (`maximumWriteValueLength(for:)`), clamped to `mtuRange`. A write without response carries ATT_MTU - 3
    /// bytes; a write with response reports the longest *long* write (512 on current iOS), which would make
    /// the SDK send packets the lock's framing refuses — so the smaller of the two counts.
    public static func attMTU(maximumWriteWithoutResponse: Int, withResponse: Int) -> UInt16 {
        let payload = min(maximumWriteWithoutResponse, withResponse)
        return UInt16(clamping: min(max(payload + 3, Int(mtuRange.lowerBound)), Int(mtuRange.upperBound)))
    }

    /// The 16-byte lock id in an advertisement's manufacturer data (`CBAdvertisementDataManufacturerDataKey`:
    /// the company id, little-endian, then the payload), or nil when it is not a Latchkey advertisement of a
    /// version this code reads. Longer version-1 payloads are accepted (later fields are ignored).
    public static func lockID(fromManufacturerData data: Data) -> Data? {
        let bytes = [UInt8](data)
        guard bytes.count >= 2 + advertisementLength else { return nil }
        let company = UInt16(bytes[0]) | (UInt16(bytes[1]) << 8)
        guard acceptedCompanyIDs.contains(company), bytes[2] == advertisementVersion else { return nil }
        return Data(bytes[3..<19])
    }

    /// An RSSI as Core Bluetooth reports it, in dBm; 127 means "not available" and counts as the quietest.
    public static func rssi(reported: Int) -> Int16 {
        reported == 127 ? Int16.min : Int16(clamping: reported)
    }

    /// What a scan heard — each lock's loudest advertisement — as the SDK wants it: loudest first.
    public static func loudestFirst(_ heard: [Data: Int16]) -> [LockAdvertisement] {
        heard.map { LockAdvertisement(lockId: $0.key, rssi: $0.value) }.sorted { $0.rssi > $1.rssi }
    }
}
