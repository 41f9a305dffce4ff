import Crypto
import Foundation
public import SwitchboardCore

/// A freshly minted tenant API key: the secret `sb_live_<43 base64url chars>` shown once,
/// and what the store keeps instead of it (a SHA-256 hash and a display prefix).
public struct APIKeySecret: Sendable {
    public static let scheme = "sb_live_"

    public let secret: String
    public var stored: NewAPIKey

    /// Mints 256 random bits.
    public init(name: String) {
        let bytes = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }
        let body = bytes.base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        self.secret = Self.scheme + body
        self.stored = NewAPIKey(name: name, prefix: String(secret.prefix(Self.scheme.count + 4)), hash: Self.hash(secret))
    }

    /// SHA-256 of the whole key, as the store keeps it.
    public static func hash(_ secret: String) -> [UInt8] {
        Array(SHA256.hash(data: Data(secret.utf8)))
    }

    /// Whether a presented bearer token could be a key at all (cheap check before the database).
    public static func isWellFormed(_ token: String) -> Bool {
        token.hasPrefix(scheme) && token.utf8.count == scheme.utf8.count + 43
            && token.utf8.dropFirst(scheme.utf8.count).allSatisfy { byte in
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                    || byte == 0x2D || byte == 0x5F
            }
    }
}
