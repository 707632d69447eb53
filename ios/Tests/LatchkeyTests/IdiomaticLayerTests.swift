// The idiomatic Swift layer on its own: what an app reads from an error (the sentence and the recovery) and
// what a printed doorcode shows. Run on Linux by `cargo xtask swift-check` (part of `cargo xtask test`).

import Foundation
import XCTest

@testable import Latchkey

final class IdiomaticLayerTests: XCTestCase {
    func testEveryErrorSaysWhatToDo() {
        let cases: [(LatchkeyError, LatchkeyRecovery)] = [
            (.InvalidRequest(field: "email", detail: "email: not an address"), .fixRequest(field: "email")),
            (.NotSignedIn(detail: "sign in"), .signIn),
            (.UnknownLock(lockId: "x", detail: "refresh"), .refreshLocks),
            (.UnlockInProgress(detail: "wait"), .waitForUnlock),
            (.bluetooth(.adapterOff, "off"), .turnOnBluetooth),
            (.bluetooth(.permissionDenied, "denied"), .allowBluetooth),
            (.bluetooth(.notInRange, "far"), .moveCloser),
            (.bluetooth(.timeout, "slow"), .moveCloser),
            (.bluetooth(.serviceMissing, "no service"), .report),
            (.signer(.userCanceled, "Face ID was canceled"), .checkDeviceKey),
            (.Backend(status: 503, code: nil, detail: "down"), .retry),
            (.Backend(status: 409, code: nil, detail: "conflict"), .report),
        ]
        for (error, recovery) in cases {
            XCTAssertEqual(error.recovery, recovery, "\(error)")
            XCTAssertFalse(error.detail.isEmpty, "\(error) must say what happened")
        }
        XCTAssertEqual(LatchkeyError.bluetooth(.timeout, "the lock sent nothing").detail, "the lock sent nothing")
    }

    func testASecretPrintsMaskedAndRevealsOnPurpose() {
        let code = SecretText("1234567")
        XCTAssertEqual(code.reveal(), "1234567")
        XCTAssertEqual("\(code)", "*******")
        XCTAssertEqual(String(reflecting: code), "SecretText(*******)")
        let holder = [code]
        XCTAssertFalse("\(holder)".contains("1234567"), "a collection holding a secret prints it masked")
    }
}
