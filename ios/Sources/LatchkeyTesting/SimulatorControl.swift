// The customer's side of the simulator (its manager API) from Swift: what a test or a sample needs before an
// app can sign in — a partner, a building, activated doors, an enabled key — and the outbox where one-time
// codes arrive. The Swift twin of the Kotlin `SimulatorControl`. Not part of the SDK an app ships.

import Foundation

/// A partner's credentials, as the customer hands them to the partner's backend. Prints without the secret.
public struct PartnerCredentials: Sendable, Decodable, CustomStringConvertible {
    public let uuid: String
    public let clientId: String
    public let clientSecret: String

    public var description: String { "PartnerCredentials(uuid: \(uuid), clientId: \(clientId), clientSecret: ***)" }
}

/// The manager API of a running simulator at `baseURL` (`latchkey sim serve`).
public final class SimulatorControl: Sendable {
    public let baseURL: String
    private let http: SimulatorHTTP

    public init(baseURL: String, managerToken: String = "dev-manager-token") {
        self.baseURL = baseURL
        http = SimulatorHTTP(baseURL: baseURL, managerToken: managerToken)
    }

    private struct Created: Decodable { let uuid: String }

    /// Registers a partner; returns its credentials (the secret is shown only here).
    public func createPartner(name: String) async throws -> PartnerCredentials {
        try await http.ok("POST", "/manager/v1/partners", json: ["name": name], as: PartnerCredentials.self)
    }

    /// Creates a building in the IANA time zone `timezone`; returns its uuid.
    public func createBuilding(name: String, timezone: String) async throws -> String {
        try await http.ok(
            "POST", "/manager/v1/buildings", json: ["name": name, "timezone": timezone], as: Created.self
        ).uuid
    }

    private struct NewDoor: Encodable {
        let buildingUuid: String
        let name: String
        let type = "DOOR"
        let accessibilityType: String
        let isConnected = false
    }

    /// Creates a door (communal unless `communal` is false); returns its uuid.
    public func createDoor(buildingUUID: String, name: String, communal: Bool = true) async throws -> String {
        let door = NewDoor(buildingUuid: buildingUUID, name: name, accessibilityType: communal ? "COMMUNAL" : "PRIVATE")
        return try await http.ok("POST", "/manager/v1/doors", json: door, as: Created.self).uuid
    }

    /// The installer's step: the door gets its (virtual) lock.
    public func activateDoor(_ doorUUID: String, serialNumber: String) async throws {
        _ = try SimulatorHTTP.expectOK(
            await http.call(
                "POST", "/manager/v1/doors/\(doorUUID)/activate",
                json: ["serialNumber": serialNumber, "deviceType": "M"]
            ),
            "activating door \(doorUUID)"
        )
    }

    private struct NewKey: Encodable {
        let name: String
        let doorUuids: [String]
    }

    /// Groups `doorUUIDs` in a key, assigns it to `partnerUUID` and enables it; returns the key's uuid.
    @discardableResult
    public func grantDoorsToPartner(name: String, doorUUIDs: [String], partnerUUID: String) async throws -> String {
        let key = try await http.ok(
            "POST", "/manager/v1/keys", json: NewKey(name: name, doorUuids: doorUUIDs), as: Created.self
        ).uuid
        _ = try SimulatorHTTP.expectOK(
            await http.call("PUT", "/manager/v1/keys/\(key)/partner", json: ["partnerUuid": partnerUUID]),
            "assigning key \(key)"
        )
        _ = try SimulatorHTTP.expectOK(
            await http.call("POST", "/manager/v1/keys/\(key)/enable"), "enabling key \(key)"
        )
        return key
    }

    private struct Outbox: Decodable {
        struct Message: Decodable {
            let kind: String
            let recipient: String
            let content: String
        }
        let messages: [Message]
    }

    /// The newest one-time sign-in code emailed to `email` (from the outbox that stands in for email).
    public func latestOTP(email: String) async throws -> String {
        let outbox = try await http.ok("GET", "/manager/v1/outbox", as: Outbox.self)
        guard let message = outbox.messages.last(where: { $0.kind == "OTP" && $0.recipient == email }) else {
            throw SimulatorError(description: "no one-time code was sent to \(email): call passwordlessStart first")
        }
        return String(message.content.filter(\.isNumber).prefix(6))
    }
}
