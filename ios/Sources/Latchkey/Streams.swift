// The idiomatic Swift layer over the generated bindings (Generated/, never edited by hand): the SDK's
// listener callbacks as AsyncStreams. Each stream owns its Rust `Subscription` and cancels it when the
// stream terminates (the consuming task is canceled, the loop breaks, or the stream is dropped).

import Foundation

extension DoorClient {
    /// The user's locks: the cache at once, then the backend's answer; then the stream finishes. A failed
    /// refresh finishes the stream after the cache (the cache stays). If the listener cannot start at all
    /// (signed out, storage broken) the stream throws that `LatchkeyError`.
    ///
    /// Values are produced on an SDK background thread; hop to the main actor to update UI:
    ///
    ///     for try await locks in client.lockUpdates() { await MainActor.run { self.locks = locks } }
    public func lockUpdates() -> AsyncThrowingStream<[Lock], Error> {
        AsyncThrowingStream(bufferingPolicy: .unbounded) { continuation in
            let subscription = SubscriptionHolder()
            let listener = StreamLocksListener(continuation)
            let start = Task {
                do {
                    subscription.hold(try await self.listenForLocks(listener: listener))
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in
                start.cancel()
                subscription.cancel()
            }
        }
    }

    /// Unlock events of every unlock (explicit or proximity) from the moment this is called: `.started`,
    /// then `.success`, `.failed` or `.canceled`. The stream never finishes on its own; cancel the
    /// consuming task (or break out of the loop) to stop listening.
    ///
    /// The listener is registered before this returns, so an unlock started right after is not missed.
    public func unlockEvents() -> AsyncStream<UnlockEvent> {
        let (stream, continuation) = AsyncStream<UnlockEvent>.makeStream(bufferingPolicy: .unbounded)
        let subscription = listenForUnlockEvents(listener: StreamUnlockEventListener(continuation))
        continuation.onTermination = { _ in subscription.cancel() }
        return stream
    }
}

/// Forwards lock lists to a stream's continuation.
final class StreamLocksListener: LocksListener, @unchecked Sendable {
    private let continuation: AsyncThrowingStream<[Lock], Error>.Continuation

    init(_ continuation: AsyncThrowingStream<[Lock], Error>.Continuation) {
        self.continuation = continuation
    }

    func onLocks(locks: [Lock]) {
        continuation.yield(locks)
    }

    func onComplete() {
        continuation.finish()
    }
}

/// Forwards unlock events to a stream's continuation.
final class StreamUnlockEventListener: UnlockEventListener, @unchecked Sendable {
    private let continuation: AsyncStream<UnlockEvent>.Continuation

    init(_ continuation: AsyncStream<UnlockEvent>.Continuation) {
        self.continuation = continuation
    }

    func onEvent(event: UnlockEvent) {
        continuation.yield(event)
    }
}

/// A subscription that may arrive after its stream already terminated: whichever comes second (the
/// subscription or the termination) cancels it, so no listener outlives its stream.
final class SubscriptionHolder: @unchecked Sendable {
    private let lock = NSLock()
    private var subscription: Subscription?
    private var canceled = false

    func hold(_ new: Subscription) {
        lock.lock()
        let cancelNow = canceled
        if !cancelNow { subscription = new }
        lock.unlock()
        if cancelNow { new.cancel() }
    }

    func cancel() {
        lock.lock()
        canceled = true
        let held = subscription
        subscription = nil
        lock.unlock()
        held?.cancel()
    }
}
