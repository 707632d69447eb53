// `CoreBluetoothTransport`: the SDK's BLE transport on iOS (the generated `BleTransport` protocol) over
// Core Bluetooth. It only moves bytes — scan for the Latchkey service, read the lock id from the
// advertisement, connect, discover, learn the MTU, subscribe, write with response, queue notifications —
// while framing, crypto and the protocol stay in the Rust core.
//
// Threading: every Core Bluetooth callback and every piece of mutable state lives on one private serial
// queue; the `async` methods the SDK calls (from its own threads) hop onto it. Nothing touches the main
// thread. State restoration (`CBCentralManagerOptionRestoreIdentifierKey`) lets iOS relaunch the app in the
// background for a pending connection to a lock (see `connectWhenInRange(lockID:)` and docs/ios.md).

#if canImport(CoreBluetooth)
import CoreBluetooth
import Foundation
import Latchkey

/// Reaches Latchkey locks over Core Bluetooth. Create one per app, early in
/// `application(_:didFinishLaunchingWithOptions:)` when state restoration is used, and keep it for the
/// app's lifetime. Creating it makes iOS ask for Bluetooth permission the first time
/// (`NSBluetoothAlwaysUsageDescription` must be in Info.plist).
public final class CoreBluetoothTransport: NSObject, BleTransport, @unchecked Sendable {
    /// The restoration identifier used unless the app passes its own.
    public static let defaultRestoreIdentifier = "com.latchkey.sdk.central"

    /// Called (on the transport's queue) when iOS relaunched the app and restored connections or pending
    /// connections to locks; the argument holds their 16-byte lock ids, as far as this phone has heard
    /// them advertise before.
    public typealias RestorationHandler = @Sendable (_ lockIDs: [Data]) -> Void
    /// Called (on the transport's queue) when a connection asked for with `connectWhenInRange(lockID:)`
    /// comes up — possibly after iOS relaunched the app in the background. Unlock or sync from here.
    public typealias ConnectionHandler = @Sendable (_ lockID: Data) -> Void

    /// How long a subscribe or a write may wait for the lock's acknowledgement.
    public var stepTimeoutMs: UInt64 = 10_000

    let queue = DispatchQueue(label: "com.latchkey.sdk.corebluetooth", qos: .userInitiated)
    private var central: CBCentralManager!
    private let restorationHandler: RestorationHandler?
    private let connectionHandler: ConnectionHandler?
    private let directory: PeripheralDirectory

    // Confined to `queue`.
    private var stateWaiters: [UUID: Waiter<Void>] = [:]
    private var scanObservers: [UUID: (CBPeripheral, Data, Int16) -> Void] = [:]
    private var scanFailures: [UUID: (LatchkeyError) -> Void] = [:]
    private var links: [UUID: CoreBluetoothLink] = [:]
    private var restored: [UUID: CBPeripheral] = [:]
    private var pendingBackground: [UUID: CBPeripheral] = [:]

    /// - Parameters:
    ///   - restoreIdentifier: the state restoration identifier (`nil` turns restoration off). Needs
    ///     `UIBackgroundModes` `bluetooth-central` in Info.plist.
    ///   - showPowerAlert: let iOS ask the user to switch Bluetooth on when it is off.
    ///   - onRestore: called after iOS restored the central's state on a background relaunch.
    ///   - onConnected: called when a connection asked for with `connectWhenInRange(lockID:)` comes up.
    public init(
        restoreIdentifier: String? = CoreBluetoothTransport.defaultRestoreIdentifier,
        showPowerAlert: Bool = true,
        onRestore: RestorationHandler? = nil,
        onConnected: ConnectionHandler? = nil
    ) {
        self.restorationHandler = onRestore
        self.connectionHandler = onConnected
        self.directory = PeripheralDirectory(suite: restoreIdentifier ?? CoreBluetoothTransport.defaultRestoreIdentifier)
        super.init()
        var options: [String: Any] = [CBCentralManagerOptionShowPowerAlertKey: showPowerAlert]
        if let restoreIdentifier {
            options[CBCentralManagerOptionRestoreIdentifierKey] = restoreIdentifier
        }
        central = CBCentralManager(delegate: self, queue: queue, options: options)
    }

    // MARK: BleTransport

    /// Scans for Latchkey locks for `timeoutMs` and returns each lock heard once (its loudest signal),
    /// loudest first.
    public func scan(timeoutMs: UInt64) async throws -> [LockAdvertisement] {
        let deadline = Deadline(milliseconds: timeoutMs)
        try await waitUntilPoweredOn(deadline)
        var heard: [Data: Int16] = [:] // Only touched on `queue`.
        let id = UUID()
        let heardAll: [Data: Int16] = try await suspend(
            on: queue,
            timeout: deadline.remaining,
            onTimeout: { .success(heard) }
        ) { (waiter: Waiter<[Data: Int16]>) in
            waiter.onFinish = { [weak self] in self?.removeScanObserver(id) }
            self.addScanObserver(
                id,
                onHeard: { _, lockID, rssi in heard[lockID] = max(heard[lockID] ?? rssi, rssi) },
                onFailure: { error in waiter.finish(.failure(error)) }
            )
        }
        return LatchkeyGATT.loudestFirst(heardAll)
    }

    /// Finds the lock advertising `lockId`, connects, discovers the Latchkey service and learns the MTU,
    /// all within `timeoutMs`. A lock already connected (restored by iOS, or by `connectWhenInRange`) is
    /// used without scanning.
    public func connect(lockId: Data, timeoutMs: UInt64) async throws -> BleConnection {
        guard lockId.count == 16 else {
            throw LatchkeyError.bluetooth(.other, "a lock id is 16 bytes; got \(lockId.count)")
        }
        let deadline = Deadline(milliseconds: timeoutMs)
        try await waitUntilPoweredOn(deadline)
        let peripheral: CBPeripheral
        if let known = queue.sync(execute: { knownPeripheral(for: lockId) }) {
            peripheral = known
        } else {
            peripheral = try await find(lockId, deadline)
        }
        let link = queue.sync { () -> CoreBluetoothLink in
            let link = CoreBluetoothLink(transport: self, peripheral: peripheral, lockID: lockId)
            links[peripheral.identifier]?.session.close(LatchkeyError.bluetooth(.connectionLost, "replaced by a new connection"))
            links[peripheral.identifier] = link
            pendingBackground[peripheral.identifier] = nil
            peripheral.delegate = link
            return link
        }
        do {
            if peripheral.state != .connected {
                try await connect(link, deadline)
            }
            try await link.session.discover(deadline)
        } catch {
            await link.session.disconnect()
            throw Self.mapped(error, timeoutDetail: "connecting to the lock took longer than \(timeoutMs) ms")
        }
        return BleConnection(link: link.session)
    }

    // MARK: Background connections

    /// Asks iOS to connect to `lockID` whenever it comes in range — a pending connection that never times
    /// out and survives the app being suspended or terminated by the system (state restoration relaunches
    /// the app in the background when it connects). `onConnected` is called then. The lock must have
    /// been heard advertising by this phone before (its peripheral identifier is remembered).
    /// - Returns: false if this phone has never heard the lock.
    @discardableResult
    public func connectWhenInRange(lockID: Data) -> Bool {
        queue.sync { () -> Bool in
            guard let identifier = directory.peripheral(for: lockID),
                  let peripheral = central.retrievePeripherals(withIdentifiers: [identifier]).first
            else { return false }
            pendingBackground[identifier] = peripheral
            central.connect(peripheral, options: [CBConnectPeripheralOptionNotifyOnConnectionKey: false])
            return true
        }
    }

    /// Cancels every pending connection asked for with `connectWhenInRange(lockID:)`.
    public func cancelConnectionsWhenInRange() {
        queue.sync {
            for peripheral in pendingBackground.values where links[peripheral.identifier] == nil {
                central.cancelPeripheralConnection(peripheral)
            }
            pendingBackground.removeAll()
        }
    }

    // MARK: Steps

    /// Waits until Bluetooth is powered on; throws `AdapterOff` / `PermissionDenied` at once when iOS says so.
    private func waitUntilPoweredOn(_ deadline: Deadline) async throws {
        let id = UUID()
        try await suspend(
            on: queue,
            timeout: deadline.remaining,
            onTimeout: { .failure(LatchkeyError.bluetooth(.timeout, "Bluetooth did not become ready in time")) }
        ) { (waiter: Waiter<Void>) in
            if self.central.state == .poweredOn {
                waiter.finish(.success(Void()))
            } else if let error = Self.stateError(self.central.state) {
                waiter.finish(.failure(error))
            } else {
                self.stateWaiters[id] = waiter
                waiter.onFinish = { [weak self] in self?.stateWaiters[id] = nil }
            }
        }
    }

    /// Scans until `lockID` is heard; `NotInRange` when the deadline passes first.
    private func find(_ lockID: Data, _ deadline: Deadline) async throws -> CBPeripheral {
        let id = UUID()
        return try await suspend(
            on: queue,
            timeout: deadline.remaining,
            onTimeout: {
                .failure(LatchkeyError.bluetooth(.notInRange, "the lock was not heard: move closer and try again"))
            }
        ) { (waiter: Waiter<CBPeripheral>) in
            waiter.onFinish = { [weak self] in self?.removeScanObserver(id) }
            self.addScanObserver(
                id,
                onHeard: { peripheral, heardID, _ in
                    if heardID == lockID { waiter.finish(.success(peripheral)) }
                },
                onFailure: { error in waiter.finish(.failure(error)) }
            )
        }
    }

    private func connect(_ link: CoreBluetoothLink, _ deadline: Deadline) async throws {
        try await suspend(
            on: queue,
            timeout: deadline.remaining,
            onTimeout: { .failure(LatchkeyError.bluetooth(.timeout, "the lock did not accept the connection in time")) }
        ) { (waiter: Waiter<Void>) in
            link.session.pendingConnect = waiter
            if link.peripheral.state == .connected {
                waiter.finish(.success(Void()))
            } else if link.peripheral.state != .connecting {
                self.central.connect(link.peripheral, options: nil)
            }
        }
    }

    /// Ends a link's connection (called by the link on `queue`).
    func cancelConnection(of link: CoreBluetoothLink) {
        dispatchPrecondition(condition: .onQueue(queue))
        if links[link.peripheral.identifier] === link {
            links[link.peripheral.identifier] = nil
        }
        if link.peripheral.state == .connected || link.peripheral.state == .connecting {
            central.cancelPeripheralConnection(link.peripheral)
        }
    }

    // MARK: Scanning (one Core Bluetooth scan shared by every observer)

    private func addScanObserver(
        _ id: UUID,
        onHeard: @escaping (CBPeripheral, Data, Int16) -> Void,
        onFailure: @escaping (LatchkeyError) -> Void
    ) {
        dispatchPrecondition(condition: .onQueue(queue))
        let wasScanning = !scanObservers.isEmpty
        scanObservers[id] = onHeard
        scanFailures[id] = onFailure
        if !wasScanning {
            // Duplicates on: each advertisement updates the RSSI, and a lock heard before the scan began
            // is reported again. Filtering on the service is what iOS requires for background scans.
            central.scanForPeripherals(
                withServices: [LatchkeyGATT.service],
                options: [CBCentralManagerScanOptionAllowDuplicatesKey: true]
            )
        }
    }

    private func removeScanObserver(_ id: UUID) {
        dispatchPrecondition(condition: .onQueue(queue))
        scanObservers[id] = nil
        scanFailures[id] = nil
        if scanObservers.isEmpty && central.isScanning {
            central.stopScan()
        }
    }

    /// A peripheral already connected (or connecting) to `lockID`: restored by iOS, or asked for by
    /// `connectWhenInRange`.
    private func knownPeripheral(for lockID: Data) -> CBPeripheral? {
        dispatchPrecondition(condition: .onQueue(queue))
        guard let identifier = directory.peripheral(for: lockID) else { return nil }
        let candidates = [restored[identifier], pendingBackground[identifier]].compactMap { $0 }
            + central.retrieveConnectedPeripherals(withServices: [LatchkeyGATT.service])
        return candidates.first { $0.identifier == identifier && $0.state == .connected }
    }

    // MARK: Errors

    /// The error for a Core Bluetooth state that will not become `.poweredOn` by waiting, or nil.
    static func stateError(_ state: CBManagerState) -> LatchkeyError? {
        switch state {
        case .poweredOff:
            return .bluetooth(.adapterOff, "Bluetooth is off: switch it on in Control Center or Settings")
        case .unauthorized:
            return .bluetooth(
                .permissionDenied,
                "the app may not use Bluetooth: allow it in Settings › Privacy & Security › Bluetooth"
            )
        case .unsupported:
            return .bluetooth(.other, "this device does not support Bluetooth Low Energy")
        case .unknown, .resetting, .poweredOn:
            return nil
        @unknown default:
            return nil
        }
    }

    /// Any error as a `LatchkeyError` the core understands.
    static func mapped(_ error: Error, timeoutDetail: String) -> Error {
        switch error {
        case is LatchkeyError, is CancellationError:
            return error
        case let error as CBError:
            switch error.code {
            case .connectionTimeout:
                return LatchkeyError.bluetooth(.timeout, timeoutDetail)
            case .peripheralDisconnected, .connectionFailed, .notConnected, .connectionLimitReached:
                return LatchkeyError.bluetooth(.connectionLost, "the lock's connection dropped: \(error.localizedDescription)")
            default:
                return LatchkeyError.bluetooth(.other, "Core Bluetooth: \(error.localizedDescription)")
            }
        case let error as CBATTError:
            return LatchkeyError.bluetooth(.other, "the lock refused a GATT request: \(error.localizedDescription)")
        default:
            return LatchkeyError.bluetooth(.other, "Core Bluetooth: \(error.localizedDescription)")
        }
    }
}

// MARK: CBCentralManagerDelegate (on `queue`)

extension CoreBluetoothTransport: CBCentralManagerDelegate {
    public func centralManagerDidUpdateState(_ central: CBCentralManager) {
        if central.state == .poweredOn {
            for waiter in stateWaiters.values { waiter.finish(.success(Void())) }
            // Restored or pending connections go on by themselves; nothing to resume here.
            return
        }
        guard let error = Self.stateError(central.state)
            ?? (central.state == .resetting
                ? LatchkeyError.bluetooth(.connectionLost, "Bluetooth restarted; connect again") : nil)
        else { return }
        if central.state != .resetting {
            for waiter in stateWaiters.values { waiter.finish(.failure(error)) }
        }
        for fail in scanFailures.values { fail(error) }
        for link in links.values { link.session.close(error) }
        links.removeAll()
    }

    public func centralManager(_ central: CBCentralManager, willRestoreState dict: [String: Any]) {
        let peripherals = dict[CBCentralManagerRestoredStatePeripheralsKey] as? [CBPeripheral] ?? []
        for peripheral in peripherals {
            restored[peripheral.identifier] = peripheral
            if peripheral.state == .connecting {
                pendingBackground[peripheral.identifier] = peripheral
            }
        }
        let lockIDs = peripherals.compactMap { directory.lockID(for: $0.identifier) }
        restorationHandler?(lockIDs)
    }

    public func centralManager(
        _ central: CBCentralManager,
        didDiscover peripheral: CBPeripheral,
        advertisementData: [String: Any],
        rssi RSSI: NSNumber
    ) {
        guard let data = advertisementData[CBAdvertisementDataManufacturerDataKey] as? Data,
              let lockID = LatchkeyGATT.lockID(fromManufacturerData: data)
        else { return }
        directory.remember(lockID: lockID, peripheral: peripheral.identifier)
        let rssi = LatchkeyGATT.rssi(reported: RSSI.intValue)
        for observer in Array(scanObservers.values) { observer(peripheral, lockID, rssi) }
    }

    public func centralManager(_ central: CBCentralManager, didConnect peripheral: CBPeripheral) {
        if let link = links[peripheral.identifier] {
            link.session.pendingConnect?.finish(.success(Void()))
            link.session.pendingConnect = nil
        } else if pendingBackground[peripheral.identifier] != nil || restored[peripheral.identifier] != nil,
                  let lockID = directory.lockID(for: peripheral.identifier) {
            connectionHandler?(lockID)
        }
    }

    public func centralManager(_ central: CBCentralManager, didFailToConnect peripheral: CBPeripheral, error: Error?) {
        let failure = LatchkeyError.bluetooth(
            .connectionLost,
            "could not connect to the lock: \(error?.localizedDescription ?? "no reason given")"
        )
        links[peripheral.identifier]?.session.close(failure)
        links[peripheral.identifier] = nil
    }

    public func centralManager(
        _ central: CBCentralManager,
        didDisconnectPeripheral peripheral: CBPeripheral,
        error: Error?
    ) {
        restored[peripheral.identifier] = nil
        let lost = LatchkeyError.bluetooth(
            .connectionLost,
            "the lock disconnected\(error.map { ": \($0.localizedDescription)" } ?? "")"
        )
        links[peripheral.identifier]?.session.close(lost)
        links[peripheral.identifier] = nil
        // A pending background connection stays pending: ask iOS again.
        if let pending = pendingBackground[peripheral.identifier] {
            central.connect(pending, options: [CBConnectPeripheralOptionNotifyOnConnectionKey: false])
        }
    }
}
#endif
