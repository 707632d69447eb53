// One pending Core Bluetooth step as an `async` call: a one-shot result confined to the transport's serial
// queue, finished by a delegate callback, by its timeout, or by the calling task's cancellation —
// whichever comes first; the others are ignored.

import Foundation

/// A one-shot result confined to `queue`. Every method except `init` must run on `queue`.
final class Waiter<T: Sendable>: @unchecked Sendable {
    private let queue: DispatchQueue
    private var continuation: CheckedContinuation<T, Error>?
    private var early: Result<T, Error>?
    private var timer: DispatchWorkItem?
    private(set) var isFinished = false
    /// Runs once on `queue` when the waiter finishes (removes observers, stops a scan).
    var onFinish: (() -> Void)?

    init(queue: DispatchQueue) {
        self.queue = queue
    }

    /// Finishes the waiter (the first call wins).
    func finish(_ result: Result<T, Error>) {
        dispatchPrecondition(condition: .onQueue(queue))
        guard !isFinished else { return }
        isFinished = true
        timer?.cancel()
        timer = nil
        let cleanup = onFinish
        onFinish = nil
        cleanup?()
        if let continuation {
            self.continuation = nil
            continuation.resume(with: result)
        } else {
            early = result
        }
    }

    fileprivate func arm(
        _ continuation: CheckedContinuation<T, Error>,
        timeout: DispatchTimeInterval,
        onTimeout: @escaping @Sendable () -> Result<T, Error>
    ) {
        dispatchPrecondition(condition: .onQueue(queue))
        if let early {
            self.early = nil
            continuation.resume(with: early)
            return
        }
        self.continuation = continuation
        let timer = DispatchWorkItem { [weak self] in self?.finish(onTimeout()) }
        self.timer = timer
        queue.asyncAfter(deadline: .now() + timeout, execute: timer)
    }
}

/// Suspends until `start`'s waiter is finished (by a delegate callback), `timeout` passes (`onTimeout`
/// decides the result) or the calling task is canceled (`CancellationError`). `start` runs on `queue`.
func suspend<T: Sendable>(
    on queue: DispatchQueue,
    timeout: DispatchTimeInterval,
    onTimeout: @escaping @Sendable () -> Result<T, Error>,
    start: @escaping @Sendable (Waiter<T>) -> Void
) async throws -> T {
    let waiter = Waiter<T>(queue: queue)
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, Error>) in
            queue.async {
                waiter.arm(continuation, timeout: timeout, onTimeout: onTimeout)
                if !waiter.isFinished { start(waiter) }
            }
        }
    } onCancel: {
        queue.async { waiter.finish(.failure(CancellationError())) }
    }
}

/// Milliseconds as a dispatch interval (saturating: a huge timeout waits "forever", never overflows).
func dispatchMilliseconds(_ value: UInt64) -> DispatchTimeInterval {
    .milliseconds(Int(clamping: value))
}
