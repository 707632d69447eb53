// JSON over HTTP to a running simulator's control endpoints (`/manager/v1/…`, `/sim/v1/…`) with its manager
// token, on Foundation's URLSession (FoundationNetworking on Linux). Not part of the SDK an app ships.

import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// An answer of the simulator: the status and the body.
public struct SimulatorAnswer: Sendable {
    public let status: Int
    public let body: Data

    /// The body decoded as `T`.
    public func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try JSONDecoder().decode(type, from: body)
    }

    /// The simulator's error message (`{"message": …}`), or the body as text.
    public var message: String {
        struct Failure: Decodable { let message: String }
        return (try? decode(Failure.self).message) ?? String(decoding: body, as: UTF8.self)
    }
}

/// The simulator answered something a test did not expect, or could not be reached.
public struct SimulatorError: Error, CustomStringConvertible {
    public let description: String

    public init(description: String) {
        self.description = description
    }
}

/// Calls the simulator at `baseURL` with its manager token. Thread-safe.
final class SimulatorHTTP: Sendable {
    private let baseURL: String
    /// A secret: never printed.
    private let managerToken: String

    init(baseURL: String, managerToken: String) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.managerToken = managerToken
    }

    /// `method` `path` without a body.
    func call(_ method: String, _ path: String) async throws -> SimulatorAnswer {
        try await send(method, path, body: nil)
    }

    /// `method` `path` with `body` as JSON.
    func call(_ method: String, _ path: String, json body: some Encodable) async throws -> SimulatorAnswer {
        try await send(method, path, body: try JSONEncoder().encode(body))
    }

    /// Like `call`, failing with the simulator's message unless the status is 2xx; the body decoded as `T`.
    func ok<T: Decodable>(_ method: String, _ path: String, json body: some Encodable, as type: T.Type) async throws -> T {
        try Self.expectOK(await call(method, path, json: body), "\(method) \(path)").decode(type)
    }

    /// Like `call` without a body, failing unless the status is 2xx.
    func ok<T: Decodable>(_ method: String, _ path: String, as type: T.Type) async throws -> T {
        try Self.expectOK(await call(method, path), "\(method) \(path)").decode(type)
    }

    static func expectOK(_ answer: SimulatorAnswer, _ what: String) throws -> SimulatorAnswer {
        guard (200..<300).contains(answer.status) else {
            throw SimulatorError(description: "\(what) answered \(answer.status): \(answer.message)")
        }
        return answer
    }

    private func send(_ method: String, _ path: String, body: Data?) async throws -> SimulatorAnswer {
        guard let url = URL(string: baseURL + path) else {
            throw SimulatorError(description: "not a URL: \(baseURL + path)")
        }
        var request = URLRequest(url: url)
        request.httpMethod = method
        request.timeoutInterval = 10
        request.setValue("Bearer \(managerToken)", forHTTPHeaderField: "Authorization")
        if let body {
            request.httpBody = body
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let finalRequest = request
        return try await withCheckedThrowingContinuation { continuation in
            URLSession.shared.dataTask(with: finalRequest) { data, response, error in
                if let error {
                    continuation.resume(throwing: error)
                    return
                }
                let status = (response as? HTTPURLResponse)?.statusCode ?? 0
                continuation.resume(returning: SimulatorAnswer(status: status, body: data ?? Data()))
            }.resume()
        }
    }
}
