// The Apple-only adapter of one connection: turns a `GATTSession`'s requests into Core Bluetooth calls on a
// `CBPeripheral` and the peripheral's delegate callbacks into the session's answers. Everything else a link
// does (steps, timeouts, the notification queue, the MTU, closing) is the portable `GATTSession`, tested on
// Linux against a fake peripheral. Every callback on the transport's serial queue.

#if canImport(CoreBluetooth)
import CoreBluetooth
import Foundation
import Latchkey

final class CoreBluetoothLink: NSObject, GATTPeripheralLink, @unchecked Sendable {
    let peripheral: CBPeripheral
    let lockID: Data
    /// The link the SDK uses (`BleConnection(link: session)`).
    let session: GATTSession
    private weak var transport: CoreBluetoothTransport?
    // Confined to the queue.
    private var writeCharacteristic: CBCharacteristic?
    private var notifyCharacteristic: CBCharacteristic?

    init(transport: CoreBluetoothTransport, peripheral: CBPeripheral, lockID: Data) {
        self.transport = transport
        self.peripheral = peripheral
        self.lockID = lockID
        session = GATTSession(queue: transport.queue, stepTimeoutMs: transport.stepTimeoutMs)
        super.init()
        session.peripheral = self
    }

    // MARK: GATTPeripheralLink (on the queue)

    func discoverLatchkeyService() {
        peripheral.discoverServices([LatchkeyGATT.service])
    }

    func enableNotifications() {
        guard let notify = notifyCharacteristic else {
            session.didSubscribe(LatchkeyError.bluetooth(.serviceMissing, "the lock has no notify characteristic"))
            return
        }
        peripheral.setNotifyValue(true, for: notify)
    }

    func writeWithResponse(_ packet: Data) {
        guard let write = writeCharacteristic else {
            session.didWrite(LatchkeyError.bluetooth(.serviceMissing, "the lock has no write characteristic"))
            return
        }
        peripheral.writeValue(packet, for: write, type: .withResponse)
    }

    func endConnection() {
        transport?.cancelConnection(of: self)
    }
}

// MARK: CBPeripheralDelegate (on the queue)

extension CoreBluetoothLink: CBPeripheralDelegate {
    func peripheral(_ peripheral: CBPeripheral, didDiscoverServices error: Error?) {
        if let error {
            session.didDiscover(.failure(CoreBluetoothTransport.mapped(error, timeoutDetail: "service discovery timed out")))
            return
        }
        guard let service = peripheral.services?.first(where: { $0.uuid == LatchkeyGATT.service }) else {
            session.didDiscover(.failure(LatchkeyError.bluetooth(.serviceMissing, "this device does not offer the Latchkey service")))
            return
        }
        peripheral.discoverCharacteristics(
            [LatchkeyGATT.writeCharacteristic, LatchkeyGATT.notifyCharacteristic],
            for: service
        )
    }

    func peripheral(_ peripheral: CBPeripheral, didDiscoverCharacteristicsFor service: CBService, error: Error?) {
        guard service.uuid == LatchkeyGATT.service else { return }
        if let error {
            session.didDiscover(.failure(CoreBluetoothTransport.mapped(error, timeoutDetail: "discovery timed out")))
            return
        }
        let characteristics = service.characteristics ?? []
        writeCharacteristic = characteristics.first { $0.uuid == LatchkeyGATT.writeCharacteristic }
        notifyCharacteristic = characteristics.first { $0.uuid == LatchkeyGATT.notifyCharacteristic }
        guard writeCharacteristic != nil, notifyCharacteristic != nil else {
            session.didDiscover(.failure(LatchkeyError.bluetooth(
                .serviceMissing,
                "the lock's Latchkey service lacks its write or notify characteristic"
            )))
            return
        }
        session.didDiscover(.success((
            withoutResponse: peripheral.maximumWriteValueLength(for: .withoutResponse),
            withResponse: peripheral.maximumWriteValueLength(for: .withResponse)
        )))
    }

    func peripheral(_ peripheral: CBPeripheral, didUpdateNotificationStateFor characteristic: CBCharacteristic, error: Error?) {
        guard characteristic.uuid == LatchkeyGATT.notifyCharacteristic else { return }
        if let error {
            session.didSubscribe(CoreBluetoothTransport.mapped(error, timeoutDetail: "subscribing timed out"))
        } else if !characteristic.isNotifying {
            session.didSubscribe(LatchkeyError.bluetooth(.other, "the lock did not turn notifications on"))
        } else {
            session.didSubscribe(nil)
        }
    }

    func peripheral(_ peripheral: CBPeripheral, didWriteValueFor characteristic: CBCharacteristic, error: Error?) {
        guard characteristic.uuid == LatchkeyGATT.writeCharacteristic else { return }
        session.didWrite(error.map { CoreBluetoothTransport.mapped($0, timeoutDetail: "a write timed out") })
    }

    func peripheral(_ peripheral: CBPeripheral, didUpdateValueFor characteristic: CBCharacteristic, error: Error?) {
        guard characteristic.uuid == LatchkeyGATT.notifyCharacteristic, error == nil,
              let packet = characteristic.value
        else { return }
        session.didNotify(packet)
    }

    func peripheral(_ peripheral: CBPeripheral, didModifyServices invalidatedServices: [CBService]) {
        if invalidatedServices.contains(where: { $0.uuid == LatchkeyGATT.service }) {
            session.close(LatchkeyError.bluetooth(.connectionLost, "the lock's service went away; connect again"))
        }
    }
}
#endif
