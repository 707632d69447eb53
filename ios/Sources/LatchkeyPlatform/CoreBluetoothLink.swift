// One connection to one lock (the generated `BleLink` protocol): discovery of the Latchkey service, the MTU,
// notifications queued in order until the SDK asks for them, writes with response, disconnection. Its
// peripheral's delegate; every callback and all state on the transport's serial queue.

import CoreBluetooth
import Foundation
import Latchkey

final class CoreBluetoothLink: NSObject, BleLink, @unchecked Sendable {
    let peripheral: CBPeripheral
    let lockID: Data
    private weak var transport: CoreBluetoothTransport?
    private let queue: DispatchQueue
    private let stepTimeoutMs: UInt64

    /// The negotiated ATT MTU, set once discovery finished (read from SDK threads under `mtuLock`).
    private let mtuLock = NSLock()
    private var negotiatedMTU: UInt16 = LatchkeyGATT.mtuRange.lowerBound

    // Confined to `queue`.
    var pendingConnect: Waiter<Void>?
    private var pendingDiscovery: Waiter<Void>?
    private var pendingSubscribe: Waiter<Void>?
    private var pendingWrite: Waiter<Void>?
    private var pendingReceive: Waiter<Data>?
    private var writeCharacteristic: CBCharacteristic?
    private var notifyCharacteristic: CBCharacteristic?
    private var inbox: [Data] = []
    private var closed: LatchkeyError?

    init(transport: CoreBluetoothTransport, peripheral: CBPeripheral, lockID: Data) {
        self.transport = transport
        self.peripheral = peripheral
        self.lockID = lockID
        self.queue = transport.queue
        self.stepTimeoutMs = transport.stepTimeoutMs
        super.init()
    }

    // MARK: BleLink

    func mtu() -> UInt16 {
        mtuLock.lock()
        defer { mtuLock.unlock() }
        return negotiatedMTU
    }

    func subscribe() async throws {
        try await step(
            timeoutDetail: "the lock did not confirm the subscription in time",
            park: { $0.pendingSubscribe = $1 }
        ) { link in
            guard let notify = link.notifyCharacteristic else {
                throw LatchkeyError.bluetooth(.serviceMissing, "the lock has no notify characteristic")
            }
            link.peripheral.setNotifyValue(true, for: notify)
        }
    }

    func write(packet: Data) async throws {
        let limit = Int(mtu()) - 3
        guard packet.count <= limit else {
            throw LatchkeyError.bluetooth(.other, "a packet of \(packet.count) bytes exceeds MTU - 3 = \(limit)")
        }
        try await step(
            timeoutDetail: "the lock did not acknowledge a write in time",
            park: { $0.pendingWrite = $1 }
        ) { link in
            guard let write = link.writeCharacteristic else {
                throw LatchkeyError.bluetooth(.serviceMissing, "the lock has no write characteristic")
            }
            link.peripheral.writeValue(packet, for: write, type: .withResponse)
        }
    }

    func receive(timeoutMs: UInt64) async throws -> Data {
        try await suspend(
            on: queue,
            timeout: dispatchMilliseconds(timeoutMs),
            onTimeout: { .failure(LatchkeyError.bluetooth(.timeout, "the lock sent nothing for \(timeoutMs) ms")) }
        ) { (waiter: Waiter<Data>) in
            if !self.inbox.isEmpty {
                waiter.finish(.success(self.inbox.removeFirst()))
            } else if let closed = self.closed {
                waiter.finish(.failure(closed))
            } else {
                self.pendingReceive = waiter
                waiter.onFinish = { [weak self] in self?.pendingReceive = nil }
            }
        }
    }

    func disconnect() async {
        queue.async {
            self.close(LatchkeyError.bluetooth(.connectionLost, "disconnected"))
        }
    }

    // MARK: Called by the transport (on `queue`)

    /// Discovers the Latchkey service and its characteristics and learns the MTU, by `deadline`.
    func discover(_ deadline: Deadline) async throws {
        try await suspend(
            on: queue,
            timeout: deadline.remaining,
            onTimeout: { .failure(LatchkeyError.bluetooth(.timeout, "discovering the lock's service took too long")) }
        ) { (waiter: Waiter<Void>) in
            if let closed = self.closed {
                waiter.finish(.failure(closed))
                return
            }
            self.pendingDiscovery = waiter
            self.peripheral.discoverServices([LatchkeyGATT.service])
        }
    }

    /// Ends the link with `error`: every pending step fails with it, later steps too; the connection is
    /// cancelled. Idempotent.
    func close(_ error: LatchkeyError) {
        dispatchPrecondition(condition: .onQueue(queue))
        guard closed == nil else { return }
        closed = error
        for waiter in [pendingConnect, pendingDiscovery, pendingSubscribe, pendingWrite] {
            waiter?.finish(.failure(error))
        }
        pendingReceive?.finish(.failure(error))
        pendingConnect = nil
        pendingDiscovery = nil
        pendingSubscribe = nil
        pendingWrite = nil
        transport?.cancelConnection(of: self)
    }

    // MARK: Steps

    /// Runs `start` on the queue and waits for the delegate callback that finishes the waiter `park`
    /// stored; fails at once if the link is closed or a step of the same kind is running.
    private func step(
        timeoutDetail: String,
        park: @escaping (CoreBluetoothLink, Waiter<Void>) -> Void,
        start: @escaping (CoreBluetoothLink) throws -> Void
    ) async throws {
        try await suspend(
            on: queue,
            timeout: dispatchMilliseconds(stepTimeoutMs),
            onTimeout: { .failure(LatchkeyError.bluetooth(.timeout, timeoutDetail)) }
        ) { (waiter: Waiter<Void>) in
            if let closed = self.closed {
                waiter.finish(.failure(closed))
                return
            }
            do {
                park(self, waiter)
                try start(self)
            } catch {
                waiter.finish(.failure(error))
            }
        }
    }

    private func setMTU(_ value: UInt16) {
        mtuLock.lock()
        negotiatedMTU = value
        mtuLock.unlock()
    }
}

// MARK: CBPeripheralDelegate (on `queue`)

extension CoreBluetoothLink: CBPeripheralDelegate {
    func peripheral(_ peripheral: CBPeripheral, didDiscoverServices error: Error?) {
        guard let waiter = pendingDiscovery else { return }
        if let error {
            waiter.finish(.failure(CoreBluetoothTransport.mapped(error, timeoutDetail: "service discovery timed out")))
            pendingDiscovery = nil
            return
        }
        guard let service = peripheral.services?.first(where: { $0.uuid == LatchkeyGATT.service }) else {
            waiter.finish(.failure(LatchkeyError.bluetooth(.serviceMissing, "this device does not offer the Latchkey service")))
            pendingDiscovery = nil
            return
        }
        peripheral.discoverCharacteristics(
            [LatchkeyGATT.writeCharacteristic, LatchkeyGATT.notifyCharacteristic],
            for: service
        )
    }

    func peripheral(_ peripheral: CBPeripheral, didDiscoverCharacteristicsFor service: CBService, error: Error?) {
        guard service.uuid == LatchkeyGATT.service, let waiter = pendingDiscovery else { return }
        pendingDiscovery = nil
        if let error {
            waiter.finish(.failure(CoreBluetoothTransport.mapped(error, timeoutDetail: "discovery timed out")))
            return
        }
        let characteristics = service.characteristics ?? []
        writeCharacteristic = characteristics.first { $0.uuid == LatchkeyGATT.writeCharacteristic }
        notifyCharacteristic = characteristics.first { $0.uuid == LatchkeyGATT.notifyCharacteristic }
        guard writeCharacteristic != nil, notifyCharacteristic != nil else {
            waiter.finish(.failure(LatchkeyError.bluetooth(
                .serviceMissing,
                "the lock's Latchkey service lacks its write or notify characteristic"
            )))
            return
        }
        // The ATT MTU is what fits in one ATT PDU: `.withoutResponse` reports ATT_MTU - 3. (`.withResponse`
        // reports the longest value a long write can carry — 512 on current iOS — which would make the SDK
        // send packets the lock's framing refuses.) Take the smaller of the two.
        let single = peripheral.maximumWriteValueLength(for: .withoutResponse)
        let withResponse = peripheral.maximumWriteValueLength(for: .withResponse)
        let payload = min(single, withResponse)
        let range = LatchkeyGATT.mtuRange
        setMTU(UInt16(clamping: min(max(payload + 3, Int(range.lowerBound)), Int(range.upperBound))))
        waiter.finish(.success(Void()))
    }

    func peripheral(_ peripheral: CBPeripheral, didUpdateNotificationStateFor characteristic: CBCharacteristic, error: Error?) {
        guard characteristic.uuid == LatchkeyGATT.notifyCharacteristic, let waiter = pendingSubscribe else { return }
        pendingSubscribe = nil
        if let error {
            waiter.finish(.failure(CoreBluetoothTransport.mapped(error, timeoutDetail: "subscribing timed out")))
        } else if !characteristic.isNotifying {
            waiter.finish(.failure(LatchkeyError.bluetooth(.other, "the lock did not turn notifications on")))
        } else {
            waiter.finish(.success(Void()))
        }
    }

    func peripheral(_ peripheral: CBPeripheral, didWriteValueFor characteristic: CBCharacteristic, error: Error?) {
        guard characteristic.uuid == LatchkeyGATT.writeCharacteristic, let waiter = pendingWrite else { return }
        pendingWrite = nil
        if let error {
            waiter.finish(.failure(CoreBluetoothTransport.mapped(error, timeoutDetail: "a write timed out")))
        } else {
            waiter.finish(.success(Void()))
        }
    }

    func peripheral(_ peripheral: CBPeripheral, didUpdateValueFor characteristic: CBCharacteristic, error: Error?) {
        guard characteristic.uuid == LatchkeyGATT.notifyCharacteristic, error == nil,
              let packet = characteristic.value, closed == nil
        else { return }
        // In order, never dropped: a waiting `receive` takes it, otherwise it queues.
        if let waiter = pendingReceive {
            pendingReceive = nil
            waiter.finish(.success(packet))
        } else {
            inbox.append(packet)
        }
    }

    func peripheral(_ peripheral: CBPeripheral, didModifyServices invalidatedServices: [CBService]) {
        if invalidatedServices.contains(where: { $0.uuid == LatchkeyGATT.service }) {
            close(LatchkeyError.bluetooth(.connectionLost, "the lock's service went away; connect again"))
        }
    }
}
