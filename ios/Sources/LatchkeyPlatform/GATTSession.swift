// One connection to one lock as the SDK sees it (the generated `BleLink` protocol), without Core Bluetooth:
// discovery with a deadline, the ATT MTU, subscribe and write steps each waiting for the lock's
// acknowledgement with a timeout, notifications queued in order until the SDK asks for them, cancellation,
// and closing (every pending and later step fails with the reason). All state lives on the transport's
// serial queue. The radio itself is a `GATTPeripheralLink`: `CoreBluetoothLink` on iOS, a fake peripheral in
// the tests that run on Linux (ios/Tests/LatchkeyPlatformTests).

import Foundation
import Latchkey

/// What a session asks of the peripheral. Called on the session's queue; the peripheral answers later,
/// on the same queue, through the session's `did…` methods.
protocol GATTPeripheralLink: AnyObject {
    /// Discover the Latchkey service and its two characteristics (answer: `didDiscover`).
    func discoverLatchkeyService()
    /// Turn notifications of the notify characteristic on (answer: `didSubscribe`).
    func enableNotifications()
    /// Write one packet to the write characteristic, with response (answer: `didWrite`).
    func writeWithResponse(_ packet: Data)
    /// End the connection (no answer expected).
    func endConnection()
}

/// The BLE link of one connection. Every method not from `BleLink` runs on `queue`.
final class GATTSession: BleLink, @unchecked Sendable {
    let queue: DispatchQueue
    /// The radio; the peripheral adapter owns this session, not the other way round.
    weak var peripheral: GATTPeripheralLink?
    private let stepTimeoutMs: UInt64

    /// The negotiated ATT MTU, set once discovery finished (read from SDK threads under `mtuLock`).
    private let mtuLock = NSLock()
    private var negotiatedMTU: UInt16 = LatchkeyGATT.mtuRange.lowerBound

    // Confined to `queue`.
    /// The transport's connect step, failed by `close`.
    var pendingConnect: Waiter<Void>?
    private var pendingDiscovery: Waiter<Void>?
    private var pendingSubscribe: Waiter<Void>?
    private var pendingWrite: Waiter<Void>?
    private var pendingReceive: Waiter<Data>?
    private var inbox: [Data] = []
    private(set) var closed: LatchkeyError?

    /// - Parameter stepTimeoutMs: how long a subscribe or a write waits for the lock's acknowledgement.
    init(queue: DispatchQueue, stepTimeoutMs: UInt64) {
        self.queue = queue
        self.stepTimeoutMs = stepTimeoutMs
    }

    // MARK: BleLink

    func mtu() -> UInt16 {
        mtuLock.lock()
        defer { mtuLock.unlock() }
        return negotiatedMTU
    }

    func subscribe() async throws {
        try await step(timeoutDetail: "the lock did not confirm the subscription in time", park: { $0.pendingSubscribe = $1 }) {
            $0.enableNotifications()
        }
    }

    func write(packet: Data) async throws {
        let limit = Int(mtu()) - 3
        guard packet.count <= limit else {
            throw LatchkeyError.bluetooth(.other, "a packet of \(packet.count) bytes exceeds MTU - 3 = \(limit)")
        }
        try await step(timeoutDetail: "the lock did not acknowledge a write in time", park: { $0.pendingWrite = $1 }) {
            $0.writeWithResponse(packet)
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
            guard let peripheral = self.usablePeripheral(failing: waiter) else { return }
            self.pendingDiscovery = waiter
            waiter.onFinish = { [weak self] in self?.pendingDiscovery = nil }
            peripheral.discoverLatchkeyService()
        }
    }

    /// Ends the session with `error`: every pending step fails with it, later steps too; the connection is
    /// ended. Idempotent.
    func close(_ error: LatchkeyError) {
        dispatchPrecondition(condition: .onQueue(queue))
        guard closed == nil else { return }
        closed = error
        inbox.removeAll()
        for waiter in [pendingConnect, pendingDiscovery, pendingSubscribe, pendingWrite] {
            waiter?.finish(.failure(error))
        }
        pendingReceive?.finish(.failure(error))
        pendingConnect = nil
        pendingDiscovery = nil
        pendingSubscribe = nil
        pendingWrite = nil
        peripheral?.endConnection()
    }

    // MARK: The peripheral's answers (on `queue`)

    /// Discovery finished: the largest values the peripheral writes without and with response, or why
    /// the lock cannot be used.
    func didDiscover(_ result: Result<(withoutResponse: Int, withResponse: Int), Error>) {
        dispatchPrecondition(condition: .onQueue(queue))
        guard let waiter = pendingDiscovery else { return }
        pendingDiscovery = nil
        switch result {
        case let .success(lengths):
            setMTU(LatchkeyGATT.attMTU(maximumWriteWithoutResponse: lengths.withoutResponse, withResponse: lengths.withResponse))
            waiter.finish(.success(Void()))
        case let .failure(error):
            waiter.finish(.failure(error))
        }
    }

    /// The subscription was confirmed (`nil`) or refused.
    func didSubscribe(_ error: Error?) {
        dispatchPrecondition(condition: .onQueue(queue))
        guard let waiter = pendingSubscribe else { return }
        pendingSubscribe = nil
        waiter.finish(error.map { .failure($0) } ?? .success(Void()))
    }

    /// A write was acknowledged (`nil`) or failed.
    func didWrite(_ error: Error?) {
        dispatchPrecondition(condition: .onQueue(queue))
        guard let waiter = pendingWrite else { return }
        pendingWrite = nil
        waiter.finish(error.map { .failure($0) } ?? .success(Void()))
    }

    /// The lock notified `packet`: in order, never dropped — a waiting `receive` takes it, otherwise it
    /// queues. Ignored once closed.
    func didNotify(_ packet: Data) {
        dispatchPrecondition(condition: .onQueue(queue))
        guard closed == nil else { return }
        if let waiter = pendingReceive {
            pendingReceive = nil
            waiter.finish(.success(packet))
        } else {
            inbox.append(packet)
        }
    }

    // MARK: Steps

    /// Asks the peripheral to start a step and waits for the answer that finishes the waiter `park`
    /// stored, or the step's timeout; fails at once if the session is closed.
    private func step(
        timeoutDetail: String,
        park: @escaping @Sendable (GATTSession, Waiter<Void>) -> Void,
        start: @escaping @Sendable (GATTPeripheralLink) -> Void
    ) async throws {
        try await suspend(
            on: queue,
            timeout: dispatchMilliseconds(stepTimeoutMs),
            onTimeout: { .failure(LatchkeyError.bluetooth(.timeout, timeoutDetail)) }
        ) { (waiter: Waiter<Void>) in
            guard let peripheral = self.usablePeripheral(failing: waiter) else { return }
            park(self, waiter)
            start(peripheral)
        }
    }

    /// The peripheral to start a step on, or nil after failing `waiter` with the reason there is none (the
    /// session closed, the connection gone).
    private func usablePeripheral<T>(failing waiter: Waiter<T>) -> GATTPeripheralLink? {
        if let closed {
            waiter.finish(.failure(closed))
            return nil
        }
        guard let peripheral else {
            waiter.finish(.failure(LatchkeyError.bluetooth(.connectionLost, "the connection is gone")))
            return nil
        }
        return peripheral
    }

    private func setMTU(_ value: UInt16) {
        mtuLock.lock()
        negotiatedMTU = value
        mtuLock.unlock()
    }
}
