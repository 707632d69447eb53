// A `BleTransport` over the simulator's radio (`/sim/v1/radio`): a Swift transport that reaches the
// simulator's virtual locks with real packets, for tests, samples and iOS-simulator builds of an app (the
// iOS simulator has no Bluetooth). The Swift twin of the Kotlin `SimulatorRadioTransport`.

import Foundation
import Latchkey

/// Reaches the virtual locks of a running simulator (`latchkey sim serve`) at `baseURL` over its HTTP radio,
/// guarded by the simulator's manager token. Connections ask for ATT MTU `mtu`.
///
/// It behaves like a radio: a lock the simulator does not know is `.notInRange`; a connection the lock
/// closed is `.connectionLost`; `receive` waits for a notification up to its timeout.
public final class SimulatorRadioTransport: BleTransport {
    private let http: SimulatorHTTP
    private let mtu: UInt16

    public init(baseURL: String, managerToken: String = "dev-manager-token", mtu: UInt16 = 185) {
        http = SimulatorHTTP(baseURL: baseURL, managerToken: managerToken)
        self.mtu = mtu
    }

    private struct Advertisements: Decodable {
        struct Advertisement: Decodable {
            let lockId: String
            let rssi: Int16
        }
        let advertisements: [Advertisement]
    }

    public func scan(timeoutMs: UInt64) async throws -> [LockAdvertisement] {
        let answer = try await radio { try await self.http.call("GET", "/sim/v1/radio/advertisements") }
        let heard = try Self.expectOK(answer, "scan").decode(Advertisements.self).advertisements
        return heard.compactMap { advertisement in
            hexBytes(advertisement.lockId).map { LockAdvertisement(lockId: $0, rssi: advertisement.rssi) }
        }.sorted { $0.rssi > $1.rssi }
    }

    private struct ConnectRequest: Encodable {
        let lockId: String
        let mtu: UInt16
    }

    private struct Connected: Decodable {
        let connectionId: String
        let mtu: UInt16
    }

    public func connect(lockId: Data, timeoutMs: UInt64) async throws -> BleConnection {
        let request = ConnectRequest(lockId: lockId.map { String(format: "%02x", $0) }.joined(), mtu: mtu)
        let answer = try await radio { try await self.http.call("POST", "/sim/v1/radio/connections", json: request) }
        if answer.status == 404 {
            throw LatchkeyError.bluetooth(.notInRange, "the lock is not in range: \(answer.message)")
        }
        let connected = try Self.expectOK(answer, "connect").decode(Connected.self)
        return BleConnection(link: RadioLink(http: http, id: connected.connectionId, mtu: connected.mtu))
    }

    /// Runs an HTTP call of the radio; an unreachable simulator is a Bluetooth failure.
    private func radio(_ call: () async throws -> SimulatorAnswer) async throws -> SimulatorAnswer {
        do {
            return try await call()
        } catch {
            throw LatchkeyError.bluetooth(.other, "the simulator's radio is unreachable: \(error)")
        }
    }

    /// A 2xx answer, or the Bluetooth failure a radio would report.
    static func expectOK(_ answer: SimulatorAnswer, _ what: String) throws -> SimulatorAnswer {
        switch answer.status {
        case 200..<300: return answer
        case 404, 409: throw LatchkeyError.bluetooth(.connectionLost, answer.message)
        default: throw LatchkeyError.bluetooth(.other, "radio \(what) answered \(answer.status): \(answer.message)")
        }
    }
}

/// One radio connection: notified packets queue in `inbox` until `receive` takes them.
final class RadioLink: BleLink {
    private let http: SimulatorHTTP
    private let id: String
    private let negotiatedMTU: UInt16
    private let inbox = PacketInbox()

    init(http: SimulatorHTTP, id: String, mtu: UInt16) {
        self.http = http
        self.id = id
        negotiatedMTU = mtu
    }

    private struct Packets: Decodable {
        let packets: [String]
    }

    private struct Write: Encodable {
        let packet: String
    }

    func mtu() -> UInt16 {
        negotiatedMTU
    }

    func subscribe() async throws {
        try deliver(await call { try await self.http.call("POST", "/sim/v1/radio/connections/\(self.id)/subscribe") })
    }

    func write(packet: Data) async throws {
        let body = Write(packet: packet.base64EncodedString())
        try deliver(await call {
            try await self.http.call("POST", "/sim/v1/radio/connections/\(self.id)/write", json: body)
        })
    }

    func receive(timeoutMs: UInt64) async throws -> Data {
        try await inbox.next(timeoutMs: timeoutMs)
    }

    func disconnect() async {
        _ = try? await http.call("DELETE", "/sim/v1/radio/connections/\(id)")
        inbox.close(LatchkeyError.bluetooth(.connectionLost, "disconnected"))
    }

    private func call(_ request: () async throws -> SimulatorAnswer) async throws -> SimulatorAnswer {
        let answer: SimulatorAnswer
        do {
            answer = try await request()
        } catch {
            throw LatchkeyError.bluetooth(.connectionLost, "the simulator's radio dropped: \(error)")
        }
        return try SimulatorRadioTransport.expectOK(answer, "connection \(id)")
    }

    private func deliver(_ answer: SimulatorAnswer) throws {
        for packet in try answer.decode(Packets.self).packets {
            guard let bytes = Data(base64Encoded: packet) else {
                throw LatchkeyError.bluetooth(.protocol, "the radio sent a packet that is not base64")
            }
            inbox.push(bytes)
        }
    }
}

/// The bytes of a hex string, or nil.
func hexBytes(_ text: String) -> Data? {
    guard text.count % 2 == 0 else { return nil }
    var bytes = Data(capacity: text.count / 2)
    var index = text.startIndex
    while index < text.endIndex {
        let next = text.index(index, offsetBy: 2)
        guard let byte = UInt8(text[index..<next], radix: 16) else { return nil }
        bytes.append(byte)
        index = next
    }
    return bytes
}
