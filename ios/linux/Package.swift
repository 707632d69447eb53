// swift-tools-version:5.9
// The Latchkey Swift package as `cargo xtask swift-check` builds and tests it on Linux, inside a Debian
// trixie root with Debian's `swiftlang` (docs/ios.md, "What is checked on Linux"). xtask stages it at
// `/latchkey/package` inside that root, beside `/latchkey/lib/liblatchkey_ffi.so` (built on the host):
//
// - `LatchkeyFFI`: the generated C header with a Linux module map (`LatchkeyFFI.modulemap`, no `Darwin`).
// - `Latchkey`: the generated Swift bindings plus `ios/Sources/Latchkey`, as on iOS.
// - `LatchkeyPlatform`: `ios/Sources/LatchkeyPlatform` without its Apple-only adapters (the Core Bluetooth
//   files compile to nothing here; `SecureEnclaveSigner.swift` is not staged): the GATT session, timeouts,
//   the advertisement and MTU rules, state restoration's bookkeeping.
// - `LatchkeyTesting`: `ios/Sources/LatchkeyTesting` (the simulator's radio as a `BleTransport`, its
//   manager API), as on iOS.
// - `UnlockSample`: `examples/swift/Sources/UnlockSample` (its iOS-only file compiles to nothing here).
// - `LatchkeyTests`: `ios/Tests/LatchkeyTests`, XCTest against a running simulator (`LATCHKEY_SIM_URL`).
// - `LatchkeyPlatformTests`: `ios/Tests/LatchkeyPlatformTests`, the GATT session against a fake peripheral.
//
// The iOS manifest is `ios/Package.swift`; this one only exists so the same sources compile and run here.
import PackageDescription

/// Where xtask puts the host-built library inside the root.
let libraryDirectory = "/latchkey/lib"

/// Extra compiler flags of the library targets: xtask replaces this line with `["-swift-version", "6"]` once
/// the compiler generates code in Swift 6 mode without crashing (docs/decisions.md, decision 84).
let libraryLanguageFlags: [String] = []

let package = Package(
    name: "LatchkeyLinux",
    targets: [
        .systemLibrary(name: "LatchkeyFFI", path: "Sources/LatchkeyFFI"),
        .target(
            name: "Latchkey",
            dependencies: ["LatchkeyFFI"],
            path: "Sources/Latchkey",
            swiftSettings: [.unsafeFlags(libraryLanguageFlags)],
            linkerSettings: [
                .unsafeFlags(["-L", libraryDirectory, "-Xlinker", "-rpath", "-Xlinker", libraryDirectory]),
            ]
        ),
        .target(
            name: "LatchkeyPlatform",
            dependencies: ["Latchkey"],
            path: "Sources/LatchkeyPlatform",
            swiftSettings: [.unsafeFlags(libraryLanguageFlags)]
        ),
        .target(
            name: "LatchkeyTesting",
            dependencies: ["Latchkey"],
            path: "Sources/LatchkeyTesting",
            swiftSettings: [.unsafeFlags(libraryLanguageFlags)]
        ),
        .target(
            name: "UnlockSample",
            dependencies: ["Latchkey"],
            path: "Sources/UnlockSample",
            swiftSettings: [.unsafeFlags(libraryLanguageFlags)]
        ),
        .testTarget(
            name: "LatchkeyTests",
            dependencies: ["Latchkey", "LatchkeyTesting"],
            path: "Tests/LatchkeyTests"
        ),
        .testTarget(
            name: "LatchkeyPlatformTests",
            dependencies: ["Latchkey", "LatchkeyPlatform"],
            path: "Tests/LatchkeyPlatformTests"
        ),
    ]
)
