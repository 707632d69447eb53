// The idiomatic Swift layer: what every `LatchkeyError` (the generated Swift `Error` enum) says, and what an
// app should do about it, as a Swift enum an app can switch over without knowing each case's fields.

import Foundation

/// What an app should do about a `LatchkeyError`.
public enum LatchkeyRecovery: Equatable, Sendable {
    /// Fix the request: `field` names the field at fault as the API spells it (`email`, `doorUuids`…).
    case fixRequest(field: String?)
    /// Sign the user in again (session missing, expired or revoked; the client was cleared).
    case signIn
    /// Refresh the lock list (`fetchLocks()`): the lock is unknown or this phone holds no credential.
    case refreshLocks
    /// Wait for the running unlock to finish.
    case waitForUnlock
    /// Tell the user the lock refused (expired, revoked); retrying will not help.
    case accessDenied
    /// Ask the user to switch Bluetooth on.
    case turnOnBluetooth
    /// Ask the user to allow Bluetooth for the app (Settings › Privacy › Bluetooth).
    case allowBluetooth
    /// Ask the user to move closer to the lock and try again.
    case moveCloser
    /// Try again later (network or a transient Bluetooth failure). Cached data keeps working.
    case retry
    /// The device key needs the user (canceled biometrics) or must be set up again.
    case checkDeviceKey
    /// A bug, a broken store or an incomplete set-up on the device (no root certificates): report it with the
    /// logs.
    case report
}

extension LatchkeyError {
    /// The sentence that says what happened and what to do (the text to show a user). Never holds a
    /// token, a code or a key.
    public var detail: String {
        switch self {
        case let .InvalidRequest(_, detail): return detail
        case let .NotSignedIn(detail): return detail
        case let .UnknownLock(_, detail): return detail
        case let .NoCredential(_, detail): return detail
        case let .UnlockInProgress(detail): return detail
        case let .Denied(detail): return detail
        case let .NotFound(detail): return detail
        case let .Backend(_, _, detail): return detail
        case let .Network(_, detail): return detail
        case let .TlsSetup(_, detail): return detail
        case let .Bluetooth(_, detail): return detail
        case let .Signer(_, detail): return detail
        case let .Storage(detail): return detail
        case let .Internal(detail): return detail
        }
    }

    /// What the app should do about this error.
    public var recovery: LatchkeyRecovery {
        switch self {
        case let .InvalidRequest(field, _): return .fixRequest(field: field)
        case .NotSignedIn: return .signIn
        case .UnknownLock, .NoCredential: return .refreshLocks
        case .UnlockInProgress: return .waitForUnlock
        case .Denied: return .accessDenied
        case .NotFound: return .refreshLocks
        case let .Backend(status, _, _): return status >= 500 ? .retry : .report
        case .Network: return .retry
        case let .Bluetooth(kind, _):
            switch kind {
            case .adapterOff: return .turnOnBluetooth
            case .permissionDenied: return .allowBluetooth
            case .notInRange, .connectionLost, .timeout: return .moveCloser
            case .serviceMissing, .`protocol`: return .report
            case .other: return .retry
            }
        case .Signer: return .checkDeviceKey
        case .TlsSetup, .Storage, .Internal: return .report
        }
    }
}

extension LatchkeyError {
    /// A Bluetooth failure, for transports: `throw LatchkeyError.bluetooth(.timeout, "the lock sent nothing")`.
    public static func bluetooth(_ kind: BluetoothErrorKind, _ detail: String) -> LatchkeyError {
        .Bluetooth(kind: kind, detail: detail)
    }

    /// A device-key failure, for signers: `throw LatchkeyError.signer(.userCanceled, "Face ID was canceled")`.
    public static func signer(_ kind: SignerErrorKind, _ detail: String) -> LatchkeyError {
        .Signer(kind: kind, detail: detail)
    }
}
