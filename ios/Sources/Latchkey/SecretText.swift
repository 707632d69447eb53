// A doorcode as the app holds it: the generated bindings lift the code into this struct (bindings/uniffi.toml).

/// A secret, such as a doorcode. `description` and `debugDescription` show `*******`, so a struct holding it
/// (`Lock`, `Access`, `Guest`…) can be printed or logged without leaking the code; read the secret on purpose
/// with `reveal()` to show it to the user.
public struct SecretText: Hashable, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    private let value: String

    /// Wraps a secret (the generated bindings call this).
    public init(_ value: String) {
        self.value = value
    }

    /// The secret itself. Show it to the user; never log it.
    public func reveal() -> String {
        value
    }

    public var description: String { "*******" }

    public var debugDescription: String { "SecretText(*******)" }
}
