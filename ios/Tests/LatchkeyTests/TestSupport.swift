// What the Swift tests share: a time limit for each step, reading a few events off a stream, and the
// transports, signer and log sink the tests plug into the SDK.

import Foundation
import XCTest

import Latchkey

/// A step took longer than its limit.
struct StepTimedOut: Error, CustomStringConvertible {
    let seconds: Double
    var description: String { "a step did not finish within \(seconds) s" }
}

/// `work`'s result, or `StepTimedOut` after `seconds` (`work` is then canceled).
func within<T: Sendable>(_ seconds: Double, _ work: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await work() }
        group.addTask {
            try await Task.sleep(nanoseconds: UInt64(seconds * 1_000_000_000))
            throw StepTimedOut(seconds: seconds)
        }
        defer { group.cancelAll() }
        guard let first = try await group.next() else { throw StepTimedOut(seconds: seconds) }
        return first
    }
}

/// A new address at example.com (lower case, as the backend stores addresses).
func uniqueEmail(_ prefix: String) -> String {
    "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())@example.com"
}

/// The first `count` events of `stream`.
func firstEvents(_ count: Int, of stream: AsyncStream<UnlockEvent>) async -> [UnlockEvent] {
    var seen: [UnlockEvent] = []
    for await event in stream {
        seen.append(event)
        if seen.count == count { break }
    }
    return seen
}

/// A one-shot signal any number of tasks can wait for.
final class Signal: @unchecked Sendable {
    private let lock = NSLock()
    private var signaled = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func signal() {
        lock.lock()
        signaled = true
        let waiting = waiters
        waiters = []
        lock.unlock()
        waiting.forEach { $0.resume() }
    }

    func wait() async {
        await withCheckedContinuation { continuation in
            lock.lock()
            if signaled {
                lock.unlock()
                continuation.resume()
            } else {
                waiters.append(continuation)
                lock.unlock()
            }
        }
    }
}

/// Holds every connection until `open` is signaled; `waiting` is signaled when the first one waits.
final class GatedTransport: BleTransport, @unchecked Sendable {
    let waiting = Signal()
    let open = Signal()
    private let inner: BleTransport

    init(_ inner: BleTransport) {
        self.inner = inner
    }

    func scan(timeoutMs: UInt64) async throws -> [LockAdvertisement] {
        try await inner.scan(timeoutMs: timeoutMs)
    }

    func connect(lockId: Data, timeoutMs: UInt64) async throws -> BleConnection {
        waiting.signal()
        await open.wait()
        return try await inner.connect(lockId: lockId, timeoutMs: timeoutMs)
    }
}

/// A radio that hears nothing.
final class OutOfRange: BleTransport {
    func scan(timeoutMs: UInt64) async throws -> [LockAdvertisement] {
        []
    }

    func connect(lockId: Data, timeoutMs: UInt64) async throws -> BleConnection {
        throw LatchkeyError.bluetooth(.notInRange, "the lock is not in range: move closer")
    }
}

/// A Swift signer (the foreign-trait path an app's keystore signer takes) over the SDK's software signer,
/// counting signatures.
final class CountingSigner: Signer, @unchecked Sendable {
    private let inner: Signer
    private let lock = NSLock()
    private var count = 0

    init(_ inner: Signer) {
        self.inner = inner
    }

    var signatures: Int {
        lock.lock()
        defer { lock.unlock() }
        return count
    }

    func publicKey() throws -> Data {
        try inner.publicKey()
    }

    func sign(message: Data) throws -> Data {
        lock.lock()
        count += 1
        lock.unlock()
        return try inner.sign(message: message)
    }
}

/// Keeps every log record it is given.
final class CollectingSink: LogSink, @unchecked Sendable {
    private let lock = NSLock()
    private var kept: [LogRecord] = []

    var records: [LogRecord] {
        lock.lock()
        defer { lock.unlock() }
        return kept
    }

    func log(record: LogRecord) {
        lock.lock()
        kept.append(record)
        lock.unlock()
    }
}
