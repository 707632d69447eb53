// A point in time by which a whole transport operation (scan, connect and discover) must finish.

import Dispatch

/// A point in time by which a whole operation must finish.
struct Deadline {
    let end: DispatchTime

    init(milliseconds: UInt64) {
        end = .now() + dispatchMilliseconds(milliseconds)
    }

    /// What is left (zero once passed: the step times out at once).
    var remaining: DispatchTimeInterval {
        let now = DispatchTime.now()
        guard end > now else { return .nanoseconds(0) }
        return .nanoseconds(Int(clamping: end.uptimeNanoseconds - now.uptimeNanoseconds))
    }
}
