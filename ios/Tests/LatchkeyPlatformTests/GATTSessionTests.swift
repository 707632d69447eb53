// The portable part of the iOS transport on its own, against a fake peripheral: what `CoreBluetoothLink`
// relies on `GATTSession` for (steps acknowledged or timed out, notifications in order, the MTU, closing,
// cancellation), the advertisement and MTU rules of `LatchkeyGATT`, and state restoration's
// `PeripheralDirectory`. Run on Linux by `cargo xtask swift-check`.

import Foundation
import XCTest

import Latchkey
@testable import LatchkeyPlatform

/// A peripheral that answers as a lock would, on the session's queue, unless told to stay silent.
final class FakePeripheral: GATTPeripheralLink, @unchecked Sendable {
    weak var session: GATTSession?
    /// What discovery reports: the longest writes without and with response.
    var writeLengths = (withoutResponse: 182, withResponse: 512)
    var answersDiscovery = true
    var acknowledgesWrites = true
    /// Confined to the session's queue.
    private(set) var written: [Data] = []
    private(set) var subscriptions = 0
    private(set) var endings = 0

    func discoverLatchkeyService() {
        guard answersDiscovery, let session else { return }
        session.queue.async { session.didDiscover(.success(self.writeLengths)) }
    }

    func enableNotifications() {
        subscriptions += 1
        guard let session else { return }
        session.queue.async { session.didSubscribe(nil) }
    }

    func writeWithResponse(_ packet: Data) {
        written.append(packet)
        guard acknowledgesWrites, let session else { return }
        session.queue.async { session.didWrite(nil) }
    }

    func endConnection() {
        endings += 1
    }

    /// The lock notifies `packet`.
    func notify(_ packet: Data) {
        guard let session else { return }
        session.queue.async { session.didNotify(packet) }
    }
}

final class GATTSessionTests: XCTestCase {
    private var queue: DispatchQueue!
    private var fake: FakePeripheral!
    private var session: GATTSession!

    override func setUp() {
        queue = DispatchQueue(label: "test.gatt")
        fake = FakePeripheral()
        session = GATTSession(queue: queue, stepTimeoutMs: 200)
        session.peripheral = fake
        fake.session = session
    }

    private func onQueue<T>(_ work: () -> T) -> T {
        queue.sync(execute: work)
    }

    private func assertBluetoothError(
        _ kind: BluetoothErrorKind, file: StaticString = #filePath, line: UInt = #line, _ work: () async throws -> Void
    ) async {
        do {
            try await work()
            XCTFail("expected a Bluetooth \(kind) error", file: file, line: line)
        } catch let LatchkeyError.Bluetooth(actual, detail) {
            XCTAssertEqual(actual, kind, detail, file: file, line: line)
        } catch {
            XCTFail("expected a Bluetooth \(kind) error, got \(error)", file: file, line: line)
        }
    }

    func testAConnectionDiscoversSubscribesWritesAndReceivesInOrder() async throws {
        try await session.discover(Deadline(milliseconds: 1_000))
        XCTAssertEqual(session.mtu(), 185, "the ATT MTU is the write-without-response length + 3")
        try await session.subscribe()
        XCTAssertEqual(onQueue { fake.subscriptions }, 1)
        // Notifications that arrive before anyone receives queue up, in order.
        for byte: UInt8 in [1, 2, 3] { fake.notify(Data([byte])) }
        try await session.write(packet: Data(repeating: 7, count: 182))
        XCTAssertEqual(onQueue { fake.written }, [Data(repeating: 7, count: 182)])
        var received: [Data] = []
        for _ in 0..<3 { received.append(try await session.receive(timeoutMs: 1_000)) }
        XCTAssertEqual(received, [Data([1]), Data([2]), Data([3])])
        // A receive that waits is woken by the next notification.
        async let next = session.receive(timeoutMs: 2_000)
        try await Task.sleep(nanoseconds: 50_000_000)
        fake.notify(Data([4]))
        let fourth = try await next
        XCTAssertEqual(fourth, Data([4]))
    }

    func testAPacketLongerThanTheMTUAllowsIsRefusedBeforeItIsWritten() async throws {
        try await session.discover(Deadline(milliseconds: 1_000))
        await assertBluetoothError(.other) { try await self.session.write(packet: Data(count: 183)) }
        XCTAssertTrue(onQueue { fake.written }.isEmpty, "nothing may reach the radio")
    }

    func testAReceiveWithNothingNotifiedTimesOut() async throws {
        await assertBluetoothError(.timeout) { _ = try await self.session.receive(timeoutMs: 50) }
    }

    func testAWriteTheLockNeverAcknowledgesTimesOut() async throws {
        try await session.discover(Deadline(milliseconds: 1_000))
        fake.acknowledgesWrites = false
        await assertBluetoothError(.timeout) { try await self.session.write(packet: Data([1])) }
    }

    func testDiscoveryThatNeverAnswersEndsAtTheDeadline() async throws {
        fake.answersDiscovery = false
        await assertBluetoothError(.timeout) { try await self.session.discover(Deadline(milliseconds: 100)) }
    }

    func testClosingFailsTheWaitingAndEveryLaterStepAndEndsTheConnectionOnce() async throws {
        try await session.discover(Deadline(milliseconds: 1_000))
        let waiting = Task { try await self.session.receive(timeoutMs: 5_000) }
        try await Task.sleep(nanoseconds: 50_000_000)
        queue.sync { session.close(LatchkeyError.bluetooth(.connectionLost, "the lock went away")) }
        await assertBluetoothError(.connectionLost) { _ = try await waiting.value }
        await assertBluetoothError(.connectionLost) { try await self.session.subscribe() }
        fake.notify(Data([9]))
        await assertBluetoothError(.connectionLost) { _ = try await self.session.receive(timeoutMs: 100) }
        await session.disconnect()
        XCTAssertEqual(onQueue { fake.endings }, 1, "closing is idempotent")
    }

    func testCancelingTheWaitingTaskEndsItsReceive() async throws {
        let waiting = Task { try await self.session.receive(timeoutMs: 10_000) }
        try await Task.sleep(nanoseconds: 50_000_000)
        waiting.cancel()
        do {
            _ = try await waiting.value
            XCTFail("a canceled receive must throw")
        } catch {
            XCTAssertTrue(error is CancellationError, "\(error)")
        }
        // The session still works afterwards.
        fake.notify(Data([5]))
        let packet = try await session.receive(timeoutMs: 1_000)
        XCTAssertEqual(packet, Data([5]))
    }
}

final class LatchkeyGATTTests: XCTestCase {
    func testTheMTUIsTheSmallerWriteLengthPlusThreeWithinTheProtocolsRange() {
        XCTAssertEqual(LatchkeyGATT.attMTU(maximumWriteWithoutResponse: 182, withResponse: 512), 185)
        XCTAssertEqual(LatchkeyGATT.attMTU(maximumWriteWithoutResponse: 512, withResponse: 244), 247)
        XCTAssertEqual(LatchkeyGATT.attMTU(maximumWriteWithoutResponse: 0, withResponse: 512), 23)
        XCTAssertEqual(LatchkeyGATT.attMTU(maximumWriteWithoutResponse: 1_000, withResponse: 1_000), 517)
    }

    func testOnlyALatchkeyAdvertisementOfAKnownVersionNamesALock() {
        let lockID = Data((1...16).map { UInt8($0) })
        let advertisement = Data([0xFF, 0xFF, 1]) + lockID + Data([80, 0])
        XCTAssertEqual(LatchkeyGATT.lockID(fromManufacturerData: advertisement), lockID)
        XCTAssertEqual(LatchkeyGATT.lockID(fromManufacturerData: advertisement + Data([1, 2])), lockID, "later fields ignored")
        XCTAssertNil(LatchkeyGATT.lockID(fromManufacturerData: Data([0x4C, 0x00, 1]) + lockID + Data([80, 0])), "another company")
        XCTAssertNil(LatchkeyGATT.lockID(fromManufacturerData: Data([0xFF, 0xFF, 2]) + lockID + Data([80, 0])), "another version")
        XCTAssertNil(LatchkeyGATT.lockID(fromManufacturerData: advertisement.prefix(20)), "too short")
    }
}

final class ScanResultTests: XCTestCase {
    func testAScanReportsEachLockOnceLoudestFirstWithAnUnavailableSignalLast() {
        let near = Data(repeating: 1, count: 16)
        let far = Data(repeating: 2, count: 16)
        let unknown = Data(repeating: 3, count: 16)
        XCTAssertEqual(LatchkeyGATT.rssi(reported: -60), -60)
        XCTAssertEqual(LatchkeyGATT.rssi(reported: 127), Int16.min, "127 is Core Bluetooth's 'not available'")
        let heard = [far: LatchkeyGATT.rssi(reported: -88), unknown: LatchkeyGATT.rssi(reported: 127), near: -47]
        XCTAssertEqual(LatchkeyGATT.loudestFirst(heard).map(\.lockId), [near, far, unknown])
    }
}

final class PeripheralDirectoryTests: XCTestCase {
    func testARelaunchedAppTellsWhichLockARestoredPeripheralIs() throws {
        let suite = "latchkey-test-\(UUID().uuidString)"
        let defaults = try XCTUnwrap(UserDefaults(suiteName: suite))
        defer { defaults.removePersistentDomain(forName: suite) }
        let front = Data(repeating: 1, count: 16)
        let back = Data(repeating: 2, count: 16)
        let first = UUID()
        let second = UUID()
        let directory = PeripheralDirectory(suite: "central", defaults: defaults)
        directory.remember(lockID: front, peripheral: first)
        directory.remember(lockID: back, peripheral: second)

        let relaunched = PeripheralDirectory(suite: "central", defaults: defaults)
        XCTAssertEqual(relaunched.lockID(for: first), front)
        XCTAssertEqual(relaunched.peripheral(for: back), second)

        // The lock heard again under a new peripheral identifier: the old one no longer names it.
        let third = UUID()
        relaunched.remember(lockID: front, peripheral: third)
        XCTAssertNil(relaunched.lockID(for: first))
        XCTAssertEqual(PeripheralDirectory(suite: "central", defaults: defaults).peripheral(for: front), third)
    }
}
