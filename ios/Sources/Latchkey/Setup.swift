// The idiomatic Swift layer: setting up a `DoorClient` with Swift types (URL, a store in Application Support
// kept out of backups) and unlocking a `Lock` value. The generated `DoorClient.setup(config:…)` stays
// available for full control.

import Foundation

extension DoorClient {
    /// Sets up the SDK for a signed-in user: opens (or creates) the store at `storeURL` and registers the
    /// signer's public key with the backend once (later launches with the same key need no network).
    ///
    /// - Parameters:
    ///   - baseURL: the backend, such as `https://api.example.com` (or `http://127.0.0.1:8787` for the
    ///     simulator).
    ///   - clientID: the partner application's OAuth client id (no secret ever reaches the phone).
    ///   - session: the user's tokens, handed to the app by the partner's backend.
    ///   - transport: how to reach the locks (`CoreBluetoothTransport` on iOS).
    ///   - signer: the device key (`SecureEnclaveSigner` on iOS).
    ///   - deviceName: the name the backend shows for this phone, such as "Ana's iPhone".
    ///   - storeURL: the SQLite store; `nil` uses `DoorClient.defaultStoreURL()`.
    /// - Throws: `LatchkeyError` (`.InvalidRequest` with field `baseUrl` for a malformed URL, `.Network` if
    ///   the first registration cannot reach the backend, `.Storage` if the store cannot be opened).
    public static func setup(
        baseURL: URL,
        clientID: String,
        session: UserSession,
        transport: BleTransport,
        signer: Signer,
        deviceName: String,
        storeURL: URL? = nil
    ) async throws -> DoorClient {
        let store = try storeURL ?? defaultStoreURL()
        let config = DoorClientConfig(
            baseUrl: baseURL.absoluteString,
            clientId: clientID,
            storePath: store.path,
            deviceName: deviceName
        )
        return try await setup(config: config, session: session, transport: transport, signer: signer)
    }

    /// `Application Support/Latchkey/latchkey.sqlite`, its directory created if missing and excluded from
    /// iCloud and iTunes backups: the credentials in it are bound to this device's key (which never leaves
    /// the Secure Enclave), so a backup restored on another phone could not use them. The directory is
    /// protected `completeUntilFirstUserAuthentication`, so a background unlock works while the phone is
    /// locked after its first unlock.
    public static func defaultStoreURL() throws -> URL {
        let support = try FileManager.default.url(
            for: .applicationSupportDirectory, in: .userDomainMask, appropriateFor: nil, create: true
        )
        var directory = support.appendingPathComponent("Latchkey", isDirectory: true)
        try FileManager.default.createDirectory(
            at: directory,
            withIntermediateDirectories: true,
            attributes: [.protectionKey: FileProtectionType.completeUntilFirstUserAuthentication]
        )
        var values = URLResourceValues()
        values.isExcludedFromBackup = true
        try directory.setResourceValues(values)
        return directory.appendingPathComponent("latchkey.sqlite", isDirectory: false)
    }

    /// Unlocks `lock` with its cached credential: no network needed. One unlock at a time (a second call
    /// while one runs throws `.UnlockInProgress`). Unlock events report `.started`, then the outcome.
    ///
    /// Canceling the calling task cancels the unlock in the SDK (`cancelUnlock()`): it reports `.canceled`
    /// and this throws `CancellationError`. (The generated `unlock(lockId:)` cannot be canceled from Swift.)
    public func unlock(_ lock: Lock) async throws {
        try Task.checkCancellation()
        do {
            try await withTaskCancellationHandler {
                try await unlock(lockId: lock.id)
            } onCancel: {
                cancelUnlock()
            }
        } catch {
            if Task.isCancelled { throw CancellationError() }
            throw error
        }
    }

    /// Syncs `lock`: carries pending changes and a fresh time token to it, and its logs to the backend.
    public func sync(_ lock: Lock) async throws -> SyncSummary {
        try await sync(lockId: lock.id)
    }
}
