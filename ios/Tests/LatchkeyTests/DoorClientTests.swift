// The Swift SDK against a running simulator, what the Kotlin suite (android/src/test) covers: a partner
// invites a user, the user's phone (a DoorClient with a Swift transport over the simulator's radio and a
// Swift signer) lists its locks as an AsyncStream, unlocks a virtual lock, watches unlock events, syncs,
// reads the access log and invites guests; each misuse gets the error an app can act on; a hundred calls
// from concurrent tasks; the log sink never sees a secret. Run on Linux by `cargo xtask swift-check` (part of
// `cargo xtask test`), which sets LATCHKEY_SIM_URL.

import Foundation
import XCTest

import Latchkey
import LatchkeyTesting

/// How long any one step may take before the test fails (a hang is a failure, not a wait).
let stepSeconds: Double = 20

final class DoorClientTests: XCTestCase {
    private var baseURL = ""
    private var sim: SimulatorControl!
    private var radio: SimulatorRadioTransport!
    private var partner: PartnerCredentials!
    private var partnerClient: PartnerClient!
    private var auth: AuthClient!
    private var door = ""
    private var stores: URL!

    override func setUp() async throws {
        guard let url = ProcessInfo.processInfo.environment["LATCHKEY_SIM_URL"] else {
            XCTFail("set LATCHKEY_SIM_URL to a running simulator (cargo xtask swift-check does)")
            throw SimulatorError(description: "LATCHKEY_SIM_URL is not set")
        }
        baseURL = url
        sim = SimulatorControl(baseURL: url)
        radio = SimulatorRadioTransport(baseURL: url)
        partner = try await sim.createPartner(name: "Swift Test Stays")
        let building = try await sim.createBuilding(name: "Linux House", timezone: "Europe/Paris")
        door = try await sim.createDoor(buildingUUID: building, name: "Front door")
        try await sim.activateDoor(door, serialNumber: "LK-SW-\(UUID().uuidString.prefix(8))")
        try await sim.grantDoorsToPartner(name: "Swift key", doorUUIDs: [door], partnerUUID: partner.uuid)
        partnerClient = try PartnerClient(baseUrl: url, clientId: partner.clientId, clientSecret: partner.clientSecret)
        auth = try AuthClient(baseUrl: url, clientId: partner.clientId, clientSecret: partner.clientSecret)
        stores = FileManager.default.temporaryDirectory.appendingPathComponent("latchkey-swift-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: stores, withIntermediateDirectories: true)
    }

    override func tearDown() async throws {
        if let stores {
            try? FileManager.default.removeItem(at: stores)
        }
    }

    private func invite(_ email: String) -> CreateUserRequest {
        CreateUserRequest(
            firstName: "Ada", lastName: "Lovelace", email: email, phone: nil,
            startTime: Date().addingTimeInterval(-60), endTime: nil, doorUuids: [door], shareable: true,
            passcodeType: .permanent, role: .nonResident, shouldNotify: true
        )
    }

    /// A partner invites a new user, who signs in with the emailed code; their phone is set up.
    private func phone(transport: BleTransport? = nil, signer: Signer? = nil) async throws -> (User, DoorClient) {
        let email = uniqueEmail("user")
        let user = try await partnerClient.createUser(request: invite(email))
        try await auth.passwordlessStart(email: email)
        let session = try await auth.exchangeOtp(email: email, otp: try await sim.latestOTP(email: email))
        let client = try await DoorClient.setup(
            baseURL: try XCTUnwrap(URL(string: baseURL)), clientID: partner.clientId, session: session,
            transport: transport ?? radio, signer: try signer ?? softwareSigner(), deviceName: "Linux test phone",
            storeURL: stores.appendingPathComponent("\(email).sqlite")
        )
        return (user, client)
    }

    func testTheUserListsLocksCacheFirstUnlocksThroughASwiftTransportAndSeesStartedThenSuccess() async throws {
        let signer = CountingSigner(try softwareSigner())
        let (_, client) = try await phone(signer: signer)
        let lists = try await within(stepSeconds) {
            var lists: [[Lock]] = []
            for try await locks in client.lockUpdates() { lists.append(locks) }
            return lists
        }
        XCTAssertEqual(lists.count, 2, "lockUpdates() must send the cache, then the backend's list: \(lists)")
        XCTAssertEqual(lists.first?.isEmpty, true, "a new phone's cache must be empty")
        let lock = try XCTUnwrap(lists.last?.first { $0.id == door }, "the backend's list must hold the door")
        XCTAssertTrue(lock.hasCredential, "a PERMANENT access on an activated door must bring a credential")
        XCTAssertEqual(try client.locks().map(\.id), [lock.id], "locks() must now serve the cache")

        // The listener is registered before unlockEvents() returns, so no event is missed.
        let events = client.unlockEvents()
        try await within(stepSeconds) { try await client.unlock(lock) }
        let seen = try await within(stepSeconds) { await firstEvents(2, of: events) }
        XCTAssertEqual(seen, [.started(lockId: door), .success(lockId: door)], "unlock events in order")
        XCTAssertGreaterThan(signer.signatures, 0, "the Swift signer must have signed the unlock")
    }

    func testASyncCarriesTheUnlockToTheBackendsAccessLog() async throws {
        let (user, client) = try await phone()
        _ = try await client.fetchLocks()
        try await within(stepSeconds) { try await client.unlock(lockId: self.door) }
        let summary = try await within(stepSeconds) { try await client.sync(lockId: self.door) }
        XCTAssertEqual(summary.logUploadsPending, 0, "the lock's log must reach the backend: \(summary)")
        let entries = try await within(stepSeconds) { try await client.accessLogs(lockId: self.door) }
        XCTAssertTrue(
            entries.contains { $0.method == .ble && $0.result == .granted && $0.userUuid == user.userUuid },
            "the access log must show this user's BLE unlock: \(entries)"
        )
    }

    func testInvitingAGuestGrantsTheDoorsTheUserMayShareAndSaysWhyNotForTheOthers() async throws {
        let (_, client) = try await phone()
        _ = try await client.fetchLocks()
        let guestEmail = uniqueEmail("guest")
        let notMine = UUID().uuidString.lowercased()
        let response = try await client.inviteGuests(request: InviteGuestRequest(
            firstName: "Grace", lastName: "Hopper", email: guestEmail, phone: nil, startTime: Date(),
            endTime: Date().addingTimeInterval(86_400), doorUuids: [door, notMine], passcodeType: .permanent
        ))
        XCTAssertEqual(response.results.map(\.doorUuid), [door, notMine], "one result per door: \(response)")
        XCTAssertEqual(response.results.map(\.granted), [true, false], "a partial success: \(response)")
        XCTAssertNotNil(response.results[1].message, "a refused door says why: \(response)")
        let guestUUID = try XCTUnwrap(response.guestUuid, "a guest was created for the granted door")
        let guests = try await client.guests()
        XCTAssertTrue(guests.contains { $0.email == guestEmail && $0.guestUuid == guestUUID }, "guests(): \(guests)")
    }

    func testABadRequestFailsBeforeSendingWithTheFieldToFix() async throws {
        do {
            _ = try await partnerClient.createUser(request: invite("not-an-email"))
            XCTFail("an invalid email must be refused")
        } catch let LatchkeyError.InvalidRequest(field, detail) {
            XCTAssertEqual(field, "email", "the error must name the field: \(detail)")
            XCTAssertTrue(detail.contains("email"), "the detail must say what to fix: \(detail)")
        }
    }

    func testAnUnknownLockIsUnknownLock() async throws {
        let (_, client) = try await phone()
        _ = try await client.fetchLocks()
        let unknown = UUID().uuidString.lowercased()
        do {
            try await client.unlock(lockId: unknown)
            XCTFail("unlocking a lock that is not the user's must fail")
        } catch let error as LatchkeyError {
            guard case let .UnknownLock(lockId, detail) = error else {
                return XCTFail("expected UnknownLock, got \(error)")
            }
            XCTAssertEqual(lockId, unknown)
            XCTAssertEqual(error.recovery, .refreshLocks, detail)
        }
    }

    func testASecondUnlockWhileOneRunsIsUnlockInProgress() async throws {
        let gate = GatedTransport(radio)
        let (_, client) = try await phone(transport: gate)
        _ = try await client.fetchLocks()
        let door = door
        let first = Task { try await client.unlock(lockId: door) }
        try await within(stepSeconds) { await gate.waiting.wait() }
        do {
            try await client.unlock(lockId: door)
            XCTFail("a second unlock while the first one runs must fail")
        } catch let error as LatchkeyError {
            guard case .UnlockInProgress = error else { return XCTFail("expected UnlockInProgress, got \(error)") }
            XCTAssertEqual(error.recovery, .waitForUnlock)
        }
        gate.open.signal()
        try await within(stepSeconds) { try await first.value }
    }

    func testCancelingTheTaskOfAnUnlockCancelsItInTheSDK() async throws {
        let gate = GatedTransport(radio)
        let (_, client) = try await phone(transport: gate)
        let locks = try await client.fetchLocks()
        let lock = try XCTUnwrap(locks.first { $0.id == door })
        let events = client.unlockEvents()
        let unlocking = Task { try await client.unlock(lock) }
        try await within(stepSeconds) { await gate.waiting.wait() }
        unlocking.cancel()
        // The gate stays shut: only the SDK's cancel can end this unlock.
        let outcome = try await within(stepSeconds) { () -> String in
            do {
                try await unlocking.value
                return "it succeeded"
            } catch is CancellationError {
                return "canceled"
            } catch {
                return "it failed with \(error)"
            }
        }
        XCTAssertEqual(outcome, "canceled", "a canceled task's unlock throws CancellationError")
        let seen = try await within(stepSeconds) { await firstEvents(2, of: events) }
        XCTAssertEqual(seen, [.started(lockId: door), .canceled(lockId: door)], "the SDK reports the cancel")
        // The client is free again: the next unlock opens the door.
        gate.open.signal()
        try await within(stepSeconds) { try await client.unlock(lock) }
    }

    func testAHundredConcurrentCallsFromTasksNeitherDeadlockNorFail() async throws {
        let (_, client) = try await phone()
        _ = try await client.fetchLocks()
        let door = door
        // One call of each kind in turn; unlocks may meet another one in flight, nothing else may fail.
        @Sendable func call(_ n: Int) async throws -> String {
            switch n % 6 {
            case 0: try await client.unlock(lockId: door); return "unlock"
            case 1: _ = try await client.sync(lockId: door); return "sync"
            case 2: _ = try await client.fetchLocks(); return "fetch"
            case 3: _ = try await client.accessLogs(lockId: door); return "access logs"
            case 4: _ = try await client.guests(); return "guests"
            default: _ = try client.locks(); return "locks"
            }
        }
        let outcomes = try await within(stepSeconds * 3) {
            await withTaskGroup(of: (Int, String?, Error?).self) { group in
                for n in 0..<100 {
                    group.addTask {
                        do { return (n, try await call(n), nil) } catch { return (n, nil, error) }
                    }
                }
                var outcomes: [(Int, String?, Error?)] = []
                for await outcome in group { outcomes.append(outcome) }
                return outcomes
            }
        }
        XCTAssertEqual(outcomes.count, 100, "every call must finish (no deadlock)")
        let undocumented = outcomes.filter { _, _, error in
            guard let error else { return false }
            if case .UnlockInProgress? = error as? LatchkeyError { return false }
            return true
        }
        XCTAssertTrue(undocumented.isEmpty, "only UnlockInProgress may fail a call: \(undocumented)")
        try await within(stepSeconds) { try await client.unlock(lockId: door) }
    }

    func testTheLogSinkGetsTheSDKsLinesAndNoneOfTheSecretsTheyHandled() async throws {
        let sink = CollectingSink()
        setLogSink(sink: sink, maxLevel: .trace)
        defer { setLogSink(sink: nil, maxLevel: .error) }
        let email = uniqueEmail("logs")
        let user = try await partnerClient.createUser(request: invite(email))
        let code = try XCTUnwrap(user.accesses.first?.doorcode.code?.reveal(), "a PERMANENT invite has a doorcode")
        XCTAssertTrue(code.count == 7 && code.allSatisfy(\.isNumber), "reveal() gives the code")
        XCTAssertFalse("\(user)".contains(code), "a printed user masks its doorcode")
        try await auth.passwordlessStart(email: email)
        let otp = try await sim.latestOTP(email: email)
        let session = try await auth.exchangeOtp(email: email, otp: otp)
        let client = try await DoorClient.setup(
            baseURL: try XCTUnwrap(URL(string: baseURL)), clientID: partner.clientId, session: session,
            transport: radio, signer: try softwareSigner(), deviceName: "Linux test phone",
            storeURL: stores.appendingPathComponent("\(email).sqlite")
        )
        _ = try await client.fetchLocks()
        try await within(stepSeconds) { try await client.unlock(lockId: self.door) }
        _ = try await within(stepSeconds) { try await client.sync(lockId: self.door) }
        let lines = sink.records
        XCTAssertTrue(lines.contains { $0.target.hasPrefix("latchkey") }, "the SDK's lines reach the sink")
        let secrets = [code, otp, partner.clientSecret]
        let leaks = lines.filter { line in secrets.contains { line.message.contains($0) || line.target.contains($0) } }
        XCTAssertTrue(leaks.isEmpty, "no doorcode, one-time code or client secret in \(leaks.count) log lines")
    }

    func testAFailingTransportIsABluetoothErrorWithTheTransportsKind() async throws {
        let (_, client) = try await phone(transport: OutOfRange())
        _ = try await client.fetchLocks()
        do {
            try await client.unlock(lockId: door)
            XCTFail("a lock out of range must fail the unlock")
        } catch let error as LatchkeyError {
            guard case let .Bluetooth(kind, detail) = error else { return XCTFail("expected Bluetooth, got \(error)") }
            XCTAssertEqual(kind, .notInRange, detail)
            XCTAssertEqual(error.recovery, .moveCloser)
        }
        XCTAssertFalse(client.proximityUnlockRunning())
    }
}
