// The lock's GATT layout and advertisement as iOS sees them. The one normative source is
// `protocol/src/gatt.rs` (docs/protocol.md §25); these constants mirror it, and `cargo xtask swift-check`
// fails if a UUID here differs from the Rust constants.

import CoreBluetooth
import Foundation

/// The Latchkey GATT service, its characteristics and the advertisement a lock sends.
public enum LatchkeyGATT {
    /// The Latchkey GATT service (primary); also in the scan response, so scans filter on it.
    public static let service = CBUUID(string: "4c4b0001-8f2e-4d6a-b1c3-7a5e9d0f2b61")
    /// Phone → lock: each write carries one framed packet.
    public static let writeCharacteristic = CBUUID(string: "4c4b0002-8f2e-4d6a-b1c3-7a5e9d0f2b61")
    /// Lock → phone: each notification carries one framed packet; the lock speaks first after subscribing.
    public static let notifyCharacteristic = CBUUID(string: "4c4b0003-8f2e-4d6a-b1c3-7a5e9d0f2b61")

    /// Company identifiers under which a lock files its manufacturer data (0xFFFF: tests and development).
    public static let acceptedCompanyIDs: Set<UInt16> = [0xFFFF]
    /// The advertisement format this code reads.
    public static let advertisementVersion: UInt8 = 1
    /// Bytes of the manufacturer data payload after the company id:
    /// `version (1) || lock id (16) || battery (1) || flags (1)`.
    public static let advertisementLength = 19

    /// The smallest and largest ATT MTU the protocol's framing accepts.
    public static let mtuRange: ClosedRange<UInt16> = 23...517

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
}
