// `SecureEnclaveSigner`: the device key (the generated `Signer` protocol) in the Secure Enclave — P-256, the
// private key never leaves the hardware. The contract (bindings/src/signer.rs): the public key as a 33-byte
// compressed SEC1 point; signatures are ECDSA over SHA-256 of the message, 64 bytes `r || s`, low-S.
// The Secure Enclave returns X9.62 DER with any S, so this file converts.

import Foundation
import LocalAuthentication
import Latchkey
import Security

/// The phone's device key in the Secure Enclave. Created on first use under `tag` and kept in the
/// keychain (this device only, never in backups). Thread-safe; the SDK calls it on its own threads.
public final class SecureEnclaveSigner: Signer, @unchecked Sendable {
    /// The keychain application tag used unless the app passes its own.
    public static let defaultTag = "com.latchkey.sdk.device-key"

    /// The keychain tag of the key.
    public let tag: String
    private let requireUserPresence: Bool
    private let lock = NSLock()
    private var cachedPublicKey: Data?

    /// - Parameters:
    ///   - tag: the keychain application tag of the key (one key per tag).
    ///   - requireUserPresence: ask for Face ID / Touch ID / the passcode at each unlock
    ///     (`.userPresence`). Off by default: a phone that must be unlocked to open a door is usually
    ///     enough, and background (proximity) unlock cannot show a prompt.
    public init(tag: String = SecureEnclaveSigner.defaultTag, requireUserPresence: Bool = false) {
        self.tag = tag
        self.requireUserPresence = requireUserPresence
    }

    /// Whether this device has a Secure Enclave (false in the iOS simulator: use `softwareSigner()` there).
    public static var isAvailable: Bool {
        #if targetEnvironment(simulator)
        return false
        #else
        return true
        #endif
    }

    // MARK: Signer

    /// The public key, 33-byte compressed SEC1 (`0x02`/`0x03` then x). Creates the key on first use.
    public func publicKey() throws -> Data {
        lock.lock()
        defer { lock.unlock() }
        if let cachedPublicKey { return cachedPublicKey }
        let key = try loadOrCreateKey()
        guard let publicKey = SecKeyCopyPublicKey(key) else {
            throw LatchkeyError.signer(.invalidKey, "the Secure Enclave key has no public key")
        }
        var error: Unmanaged<CFError>?
        guard let raw = SecKeyCopyExternalRepresentation(publicKey, &error) as Data? else {
            throw Self.mapped(error?.takeRetainedValue(), "reading the public key")
        }
        let compressed = try P256Encoding.compress(uncompressed: raw)
        cachedPublicKey = compressed
        return compressed
    }

    /// ECDSA-P256 over SHA-256(`message`) (the Secure Enclave hashes), as 64 bytes `r || s` with low S.
    public func sign(message: Data) throws -> Data {
        let key: SecKey
        lock.lock()
        do {
            key = try loadOrCreateKey()
            lock.unlock()
        } catch {
            lock.unlock()
            throw error
        }
        var error: Unmanaged<CFError>?
        guard let der = SecKeyCreateSignature(key, .ecdsaSignatureMessageX962SHA256, message as CFData, &error) as Data?
        else {
            throw Self.mapped(error?.takeRetainedValue(), "signing")
        }
        return try P256Encoding.rawLowS(der: der)
    }

    // MARK: Key management

    /// Deletes the key (sign-out, or a user who wants this phone forgotten). The next use creates a new
    /// one, which the SDK registers as a new device.
    public func deleteKey() throws {
        lock.lock()
        defer { lock.unlock() }
        cachedPublicKey = nil
        let status = SecItemDelete(query() as CFDictionary)
        guard status == errSecSuccess || status == errSecItemNotFound else {
            throw LatchkeyError.signer(.keystore, "deleting the device key failed (OSStatus \(status))")
        }
    }

    private func query() -> [String: Any] {
        [
            kSecClass as String: kSecClassKey,
            kSecAttrKeyType as String: kSecAttrKeyTypeECSECPrimeRandom,
            kSecAttrApplicationTag as String: Data(tag.utf8),
            kSecAttrTokenID as String: kSecAttrTokenIDSecureEnclave,
        ]
    }

    /// The key under `tag`, created in the Secure Enclave if there is none. Call with `lock` held.
    private func loadOrCreateKey() throws -> SecKey {
        var lookup = query()
        lookup[kSecReturnRef as String] = true
        var item: CFTypeRef?
        let status = SecItemCopyMatching(lookup as CFDictionary, &item)
        if status == errSecSuccess, let item {
            return (item as! SecKey) // swiftlint:disable:this force_cast — kSecReturnRef of kSecClassKey is a SecKey
        }
        guard status == errSecItemNotFound else {
            throw LatchkeyError.signer(.keystore, "reading the device key failed (OSStatus \(status))")
        }
        guard Self.isAvailable else {
            throw LatchkeyError.signer(
                .keystore,
                "this device has no Secure Enclave (the simulator?): use softwareSigner() for development"
            )
        }
        // Usable in the background after the first unlock since boot (proximity unlock, a relaunch by a
        // lock's connection), never restored to another device.
        var flags: SecAccessControlCreateFlags = [.privateKeyUsage]
        if requireUserPresence { flags.insert(.userPresence) }
        var error: Unmanaged<CFError>?
        guard let access = SecAccessControlCreateWithFlags(
            kCFAllocatorDefault, kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly, flags, &error
        ) else {
            throw Self.mapped(error?.takeRetainedValue(), "creating the key's access control")
        }
        let attributes: [String: Any] = [
            kSecAttrKeyType as String: kSecAttrKeyTypeECSECPrimeRandom,
            kSecAttrKeySizeInBits as String: 256,
            kSecAttrTokenID as String: kSecAttrTokenIDSecureEnclave,
            kSecPrivateKeyAttrs as String: [
                kSecAttrIsPermanent as String: true,
                kSecAttrApplicationTag as String: Data(tag.utf8),
                kSecAttrAccessControl as String: access,
            ] as [String: Any],
        ]
        guard let key = SecKeyCreateRandomKey(attributes as CFDictionary, &error) else {
            throw Self.mapped(error?.takeRetainedValue(), "creating the device key")
        }
        return key
    }

    /// A Security / LocalAuthentication error as the `LatchkeyError.Signer` kind the SDK acts on.
    private static func mapped(_ error: CFError?, _ what: String) -> LatchkeyError {
        guard let error else { return .signer(.keystore, "\(what) failed without a reason") }
        let nsError = error as Error as NSError
        let canceled = (nsError.domain == LAErrorDomain
            && [LAError.userCancel.rawValue, LAError.appCancel.rawValue, LAError.systemCancel.rawValue,
                LAError.userFallback.rawValue].contains(nsError.code))
            || (nsError.domain == NSOSStatusErrorDomain && nsError.code == Int(errSecUserCanceled))
        if canceled {
            return .signer(.userCanceled, "the user canceled the prompt while \(what): try again")
        }
        if nsError.domain == NSOSStatusErrorDomain && nsError.code == Int(errSecItemNotFound) {
            return .signer(.keyMissing, "the device key is gone: set the SDK up again to register a new one")
        }
        // The error's text comes from the Security framework and holds no key material.
        return .signer(.keystore, "\(what) failed: \(nsError.localizedDescription) (\(nsError.domain) \(nsError.code))")
    }
}

/// The byte encodings the Signer contract asks for, from what the Security framework returns.
enum P256Encoding {
    /// The order n of the P-256 group, big-endian.
    static let order: [UInt8] = [
        0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
    ]
    /// n / 2, big-endian: a signature's s must not exceed it.
    static let halfOrder: [UInt8] = [
        0x7f, 0xff, 0xff, 0xff, 0x80, 0x00, 0x00, 0x00, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xde, 0x73, 0x7d, 0x56, 0xd3, 0x8b, 0xcf, 0x42, 0x79, 0xdc, 0xe5, 0x61, 0x7e, 0x31, 0x92, 0xa8,
    ]

    /// An X9.63 uncompressed point (`0x04 || x || y`, 65 bytes) as compressed SEC1 (`0x02|0x03 || x`).
    static func compress(uncompressed raw: Data) throws -> Data {
        let bytes = [UInt8](raw)
        guard bytes.count == 65, bytes[0] == 0x04 else {
            throw LatchkeyError.signer(.invalidKey, "the public key is not an uncompressed P-256 point")
        }
        let prefix: UInt8 = (bytes[64] & 1) == 1 ? 0x03 : 0x02
        return Data([prefix] + bytes[1...32])
    }

    /// A DER ECDSA signature (`SEQUENCE { INTEGER r, INTEGER s }`) as 64 bytes `r || s`, replacing s by
    /// n - s when s > n/2.
    static func rawLowS(der: Data) throws -> Data {
        let bytes = [UInt8](der)
        var at = 0
        func fail() -> LatchkeyError {
            .signer(.invalidKey, "the Secure Enclave returned a malformed signature")
        }
        func length() throws -> Int {
            guard at < bytes.count else { throw fail() }
            let first = Int(bytes[at])
            at += 1
            if first < 0x80 { return first }
            let count = first & 0x7f
            guard count >= 1, count <= 2, at + count <= bytes.count else { throw fail() }
            var value = 0
            for _ in 0..<count {
                value = (value << 8) | Int(bytes[at])
                at += 1
            }
            return value
        }
        func integer() throws -> [UInt8] {
            guard at < bytes.count, bytes[at] == 0x02 else { throw fail() }
            at += 1
            let count = try length()
            guard count >= 1, at + count <= bytes.count else { throw fail() }
            var value = Array(bytes[at..<(at + count)])
            at += count
            while value.count > 1 && value[0] == 0 { value.removeFirst() } // DER sign padding
            guard value.count <= 32 else { throw fail() }
            return [UInt8](repeating: 0, count: 32 - value.count) + value
        }
        guard bytes.first == 0x30 else { throw fail() }
        at = 1
        let sequence = try length()
        guard at + sequence == bytes.count else { throw fail() }
        let r = try integer()
        var s = try integer()
        guard at == bytes.count else { throw fail() }
        if greater(s, than: halfOrder) {
            s = subtract(order, s)
        }
        return Data(r + s)
    }

    /// Whether big-endian `a` > `b` (same length).
    static func greater(_ a: [UInt8], than b: [UInt8]) -> Bool {
        for (x, y) in zip(a, b) where x != y {
            return x > y
        }
        return false
    }

    /// Big-endian `a - b` for `a >= b` (same length).
    static func subtract(_ a: [UInt8], _ b: [UInt8]) -> [UInt8] {
        var result = [UInt8](repeating: 0, count: a.count)
        var borrow = 0
        for index in stride(from: a.count - 1, through: 0, by: -1) {
            var difference = Int(a[index]) - Int(b[index]) - borrow
            borrow = difference < 0 ? 1 : 0
            if difference < 0 { difference += 256 }
            result[index] = UInt8(difference)
        }
        return result
    }
}
