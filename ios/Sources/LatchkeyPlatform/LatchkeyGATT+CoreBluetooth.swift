// The lock's GATT UUIDs as Core Bluetooth values (Apple-only). `cargo xtask swift-check` fails if a UUID here
// differs from `protocol/src/gatt.rs`.

#if canImport(CoreBluetooth)
import CoreBluetooth

extension LatchkeyGATT {
    /// The Latchkey GATT service (primary); also in the scan response, so scans filter on it.
    public static let service = CBUUID(string: "4c4b0001-8f2e-4d6a-b1c3-7a5e9d0f2b61")
    /// Phone → lock: each write carries one framed packet.
    public static let writeCharacteristic = CBUUID(string: "4c4b0002-8f2e-4d6a-b1c3-7a5e9d0f2b61")
    /// Lock → phone: each notification carries one framed packet; the lock speaks first after subscribing.
    public static let notifyCharacteristic = CBUUID(string: "4c4b0003-8f2e-4d6a-b1c3-7a5e9d0f2b61")
}
#endif
