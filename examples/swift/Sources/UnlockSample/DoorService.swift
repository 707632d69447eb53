// The sample's one service: what a partner app writes to open doors with Latchkey on iOS. It holds no
// Apple-only code (that is `DoorService+iOS.swift`: the Core Bluetooth transport and the Secure Enclave
// key), so `cargo xtask swift-check` compiles it on Linux.
//
// 1. At launch (`application(_:didFinishLaunchingWithOptions:)`), create the service and its transport so
//    Core Bluetooth can restore its state when iOS relaunched the app in the background for a lock
//    (`DoorService.forThisPhone`).
// 2. Once the partner's backend handed over the user's tokens, `signIn(...)` sets the SDK up.
// 3. `watchLocks()` shows the cache at once, then the backend's list.
// 4. `unlock(_:)` opens a door; `watchUnlockEvents()` reports what happened, whoever started the unlock.

import Foundation
import Latchkey

/// Owns the SDK for one signed-in user. Create one per app; call from any thread or task.
public final class DoorService: @unchecked Sendable {
    /// The partner application's OAuth client id (public; the client secret stays on the partner's backend).
    private let clientID: String
    private let backend: URL
    /// How the phone reaches locks: one Core Bluetooth central for the app's lifetime on iOS (state
    /// restoration needs it at launch).
    public let transport: BleTransport
    /// The device key: the Secure Enclave's on a phone.
    private let makeSigner: @Sendable () throws -> Signer
    /// Deletes the device key at sign-out.
    private let forgetKey: @Sendable () -> Void
    private var client: DoorClient?
    private let lock = NSLock()

    /// A service over `transport` with the key `makeSigner` returns (`forThisPhone` picks the iOS ones).
    public init(
        backend: URL,
        clientID: String,
        transport: BleTransport,
        makeSigner: @escaping @Sendable () throws -> Signer,
        forgetKey: @escaping @Sendable () -> Void
    ) {
        self.backend = backend
        self.clientID = clientID
        self.transport = transport
        self.makeSigner = makeSigner
        self.forgetKey = forgetKey
    }

    /// Sets the SDK up with the tokens the partner's backend returned after signing the user in.
    public func signIn(accessToken: String, refreshToken: String, expiresAt: Date) async throws {
        let session = UserSession(accessToken: accessToken, refreshToken: refreshToken, expiresAt: expiresAt)
        let signer = try makeSigner()
        let client = try await DoorClient.setup(
            baseURL: backend,
            clientID: clientID,
            session: session,
            transport: transport,
            signer: signer,
            deviceName: "Sample iPhone"
        )
        replaceClient(with: client)
    }

    /// Swaps the signed-in client (`NSLock` is for synchronous code: async functions call this).
    private func replaceClient(with new: DoorClient?) {
        lock.lock()
        client = new
        lock.unlock()
    }

    private func signedIn() throws -> DoorClient {
        lock.lock()
        defer { lock.unlock() }
        guard let client else {
            throw LatchkeyError.NotSignedIn(detail: "call signIn first")
        }
        return client
    }

    /// Prints the lock lists as they come: the cache, then the backend's answer.
    public func watchLocks() async throws {
        for try await locks in try signedIn().lockUpdates() {
            let lines = locks.map { "\($0.name) (\($0.buildingName))\($0.hasCredential ? "" : " — no credential yet")" }
            await MainActor.run { print("locks:\n  " + lines.joined(separator: "\n  ")) }
        }
    }

    /// Reports every unlock's progress until the calling task is canceled.
    public func watchUnlockEvents() async throws {
        for await event in try signedIn().unlockEvents() {
            switch event {
            case let .started(lockId): print("unlocking \(lockId)…")
            case let .success(lockId): print("\(lockId) is open")
            case let .failed(lockId, reason): print("\(lockId) did not open: \(reason)")
            case let .canceled(lockId): print("\(lockId): canceled")
            }
        }
    }

    /// Opens `lock`, telling the user what to do if it cannot.
    public func unlock(_ lock: Lock) async -> String {
        do {
            try await signedIn().unlock(lock)
            return "Welcome in."
        } catch let error as LatchkeyError {
            switch error.recovery {
            case .turnOnBluetooth: return "Switch Bluetooth on to open \(lock.name)."
            case .allowBluetooth: return "Allow Bluetooth for this app in Settings to open doors."
            case .moveCloser: return "Move closer to \(lock.name) and try again."
            case .signIn: return "Please sign in again."
            case .refreshLocks: return "Your access changed; pull to refresh."
            default: return error.detail
            }
        } catch {
            return "Something went wrong: \(error.localizedDescription)"
        }
    }

    /// Signs out: wipes the SDK's store and forgets the device key.
    public func signOut() throws {
        try signedIn().clear()
        forgetKey()
        replaceClient(with: nil)
    }
}
