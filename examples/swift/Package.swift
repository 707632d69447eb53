// swift-tools-version:5.9
// The Latchkey iOS sample: a UIKit-free, SwiftUI-free piece of an app that sets the SDK up, watches the
// user's locks and unlocks a door with CoreBluetoothTransport and SecureEnclaveSigner. Build it on macOS
// after `../../ios/build-xcframework.sh` (it depends on the local package in ../../ios). On Linux,
// `cargo xtask swift-check` compiles its portable part (`DoorService.swift`) with `ios/linux/Package.swift`.
import PackageDescription

let package = Package(
    name: "UnlockSample",
    platforms: [.iOS(.v15)],
    products: [.library(name: "UnlockSample", targets: ["UnlockSample"])],
    dependencies: [.package(name: "Latchkey", path: "../../ios")],
    targets: [
        .target(name: "UnlockSample", dependencies: [.product(name: "Latchkey", package: "Latchkey")]),
    ]
)
