// The sample app's launch: the Core Bluetooth transport exists before `didFinishLaunching` returns, so when
// iOS relaunches the app in the background for a lock (state restoration, `UIBackgroundModes`
// `bluetooth-central`), `centralManager(_:willRestoreState:)` reaches it.

#if canImport(UIKit)
import UIKit

public final class SampleAppDelegate: UIResponder, UIApplicationDelegate {
    /// One service (and one Core Bluetooth central) for the app's lifetime.
    public private(set) var doors: DoorService?

    public func application(
        _ application: UIApplication,
        didFinishLaunchingWithOptions launchOptions: [UIApplication.LaunchOptionsKey: Any]? = nil
    ) -> Bool {
        let relaunchedForBluetooth = launchOptions?[.bluetoothCentrals] != nil
        let service = DoorService.forThisPhone(backend: URL(string: "https://api.example.com")!, clientID: "sample-partner-app")
        doors = service
        if relaunchedForBluetooth {
            // A lock connected while the app was not running: the transport's `onConnected` fires once
            // Core Bluetooth has restored its state; the session is restored from the app's keychain here
            // (not shown) before unlocking.
            print("relaunched in the background by Core Bluetooth")
        }
        return true
    }
}
#endif
