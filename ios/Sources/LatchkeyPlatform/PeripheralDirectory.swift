// State restoration's bookkeeping: which peripheral identifier is which lock, so a relaunched app can tell
// which lock a restored connection belongs to.

import Foundation

/// Which peripheral identifier is which lock, learned from advertisements and kept in UserDefaults so a
/// relaunched app can tell which lock a restored connection belongs to. A lock has one peripheral (the
/// newest heard wins). Lock ids are not secrets (a lock broadcasts its id to every phone in range).
/// Thread-safe.
final class PeripheralDirectory: @unchecked Sendable {
    private let defaults: UserDefaults
    private let key: String
    private let lock = NSLock()
    private var byPeripheral: [UUID: Data]

    /// The directory kept under `<suite>.peripherals` in `defaults`.
    init(suite: String, defaults: UserDefaults = .standard) {
        self.defaults = defaults
        key = "\(suite).peripherals"
        let stored = defaults.dictionary(forKey: key) as? [String: Data] ?? [:]
        byPeripheral = Dictionary(uniqueKeysWithValues: stored.compactMap { entry in
            UUID(uuidString: entry.key).map { ($0, entry.value) }
        })
    }

    func remember(lockID: Data, peripheral: UUID) {
        lock.lock()
        defer { lock.unlock() }
        guard byPeripheral[peripheral] != lockID else { return }
        byPeripheral = byPeripheral.filter { $0.value != lockID }
        byPeripheral[peripheral] = lockID
        defaults.set(Dictionary(uniqueKeysWithValues: byPeripheral.map { ($0.key.uuidString, $0.value) }), forKey: key)
    }

    func lockID(for peripheral: UUID) -> Data? {
        lock.lock()
        defer { lock.unlock() }
        return byPeripheral[peripheral]
    }

    func peripheral(for lockID: Data) -> UUID? {
        lock.lock()
        defer { lock.unlock() }
        return byPeripheral.first { $0.value == lockID }?.key
    }
}
