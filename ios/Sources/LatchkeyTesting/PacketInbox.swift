// The packets a connection was notified of, in order, until the SDK's `receive` takes them: a `receive`
// waits up to its timeout, is woken by the next packet, fails at once once the connection closed, and
// honours the calling task's cancellation.

import Foundation
import Latchkey

/// A FIFO of notified packets with one waiting receiver at a time. Thread-safe.
final class PacketInbox: @unchecked Sendable {
    private let lock = NSLock()
    private var packets: [Data] = []
    private var closed: Error?
    private var waiting: (id: UInt64, continuation: CheckedContinuation<Data, Error>)?
    private var nextID: UInt64 = 0

    /// Queues `packet`, or hands it to the waiting receiver.
    func push(_ packet: Data) {
        lock.lock()
        if closed != nil {
            lock.unlock()
            return
        }
        if let receiver = waiting {
            waiting = nil
            lock.unlock()
            receiver.continuation.resume(returning: packet)
        } else {
            packets.append(packet)
            lock.unlock()
        }
    }

    /// Ends the inbox: a waiting and every later `next` fail with `error` (queued packets are dropped).
    func close(_ error: Error) {
        lock.lock()
        closed = closed ?? error
        packets.removeAll()
        let receiver = waiting
        waiting = nil
        lock.unlock()
        receiver?.continuation.resume(throwing: error)
    }

    /// The next packet, waiting up to `timeoutMs` (then `.timeout`).
    func next(timeoutMs: UInt64) async throws -> Data {
        let id = newReceiverID()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Data, Error>) in
                lock.lock()
                if !packets.isEmpty {
                    let packet = packets.removeFirst()
                    lock.unlock()
                    continuation.resume(returning: packet)
                    return
                }
                if let closed {
                    lock.unlock()
                    continuation.resume(throwing: closed)
                    return
                }
                if Task.isCancelled {
                    lock.unlock()
                    continuation.resume(throwing: CancellationError())
                    return
                }
                if waiting != nil {
                    lock.unlock()
                    continuation.resume(throwing: LatchkeyError.bluetooth(.other, "two receives at once on one link"))
                    return
                }
                waiting = (id, continuation)
                lock.unlock()
                DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(Int(clamping: timeoutMs))) {
                    self.fail(id, LatchkeyError.bluetooth(.timeout, "the lock sent nothing for \(timeoutMs) ms"))
                }
            }
        } onCancel: {
            fail(id, CancellationError())
        }
    }

    private func newReceiverID() -> UInt64 {
        lock.lock()
        defer { lock.unlock() }
        nextID &+= 1
        return nextID
    }

    /// Fails the receiver `id` if it is still the one waiting.
    private func fail(_ id: UInt64, _ error: Error) {
        lock.lock()
        guard let receiver = waiting, receiver.id == id else {
            lock.unlock()
            return
        }
        waiting = nil
        lock.unlock()
        receiver.continuation.resume(throwing: error)
    }
}
