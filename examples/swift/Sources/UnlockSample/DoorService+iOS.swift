// The iOS parts of the sample's service: Core Bluetooth to reach the locks, the Secure Enclave for the
// device key (a software key on the iOS simulator, which has no Secure Enclave).

#if canImport(CoreBluetooth)
import Foundation
import Latchkey
import LatchkeyPlatform

extension DoorService {
    /// The service as an iPhone app creates it, once, at launch.
    public static func forThisPhone(backend: URL, clientID: String) -> DoorService {
        // A lock's connection may relaunch the app in the background: unlock right away if the user asked
        // for hands-free entry to that door (the app's own setting), here just logged.
        let transport = CoreBluetoothTransport(
            onRestore: { lockIDs in print("Core Bluetooth restored connections to \(lockIDs.count) lock(s)") },
            onConnected: { lockID in print("a lock came in range: \(lockID.map { String(format: "%02x", $0) }.joined())") }
        )
        return DoorService(
            backend: backend,
            clientID: clientID,
            transport: transport,
            makeSigner: { try SecureEnclaveSigner.isAvailable ? SecureEnclaveSigner() : softwareSigner() },
            forgetKey: { try? SecureEnclaveSigner().deleteKey() }
        )
    }
}
#endif
